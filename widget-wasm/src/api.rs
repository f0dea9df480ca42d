//! The JS API behind `window.DEFMISChat`: the loader calls [`start`] once
//! the wasm is in, then forwards `open() close() toggle() identify({…})
//! shutdown()` (queued by the loader until then). Events go back through
//! the `emit(name, data)` function the loader passes.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::Function;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;
use web_sys::HtmlElement;

use crate::chat::{cat, Identity, Widget};
use crate::i18n;
use crate::js::{self, get};
use crate::state::Mode;

thread_local! {
    static WIDGET: RefCell<Option<Rc<Widget>>> = const { RefCell::new(None) };
}

fn with(f: impl FnOnce(&Rc<Widget>)) {
    // `try_with`, not `with`: no panic path (and no `core::fmt`) for a
    // thread-local accessed during teardown.
    if let Ok(Some(w)) = WIDGET.try_with(|w| w.borrow().clone()) {
        f(&w);
    }
}

/// A page-supplied text option: strings trimmed, numbers as their decimal
/// digits (`customerId: 42`), absent when empty; anything else is dropped
/// with a console warning that says so.
fn text(opts: &JsValue, key: &str) -> Option<String> {
    let v = get(opts, key);
    if v.is_undefined() || v.is_null() {
        return None;
    }
    let s = if let Some(s) = v.as_string() {
        s.trim().to_owned()
    } else if let Some(n) = v
        .as_f64()
        .filter(|n| *n >= 0.0 && n.fract() == 0.0 && *n < 9.0e15)
    {
        js::uint(n as u64)
    } else {
        js::warn(&cat(&[
            key,
            " ignored: expected a string or a whole number",
        ]));
        return None;
    };
    if key == "customerId" && s.chars().count() > 128 {
        js::warn("customerId ignored: longer than 128 characters");
        return None;
    }
    Some(s).filter(|s| !s.is_empty())
}

fn identity(opts: &JsValue) -> Identity {
    Identity {
        id: text(opts, "customerId"),
        name: text(opts, "customerName"),
        email: text(opts, "customerEmail"),
        hash: text(opts, "customerHash"),
    }
}

/// Starts the widget in the shadow root the loader made on `host`.
/// `api` is the server's base URL (no trailing slash); `opts` is
/// `window.DEFMISChat`; `emit(name, data)` reaches the page's `on()`
/// handlers, and `emit("context")` answers the page's facts for the
/// customer panel (`page_url`, `referrer`, `time_zone`, `utc_offset`).
#[wasm_bindgen]
pub fn start(host: HtmlElement, api: String, opts: JsValue, emit: Function) {
    if WIDGET.try_with(|w| w.borrow().is_some()).unwrap_or(true) {
        return;
    }
    let locale = text(&opts, "locale")
        .or_else(|| web_sys::window().and_then(|w| w.navigator().language()))
        .unwrap_or_default();
    let mode = Mode::parse(&text(&opts, "transport").unwrap_or_default());
    let w = Widget::start(
        host,
        api,
        identity(&opts),
        mode,
        i18n::pick(&locale),
        emit,
        &opts,
    );
    let _ = WIDGET.try_with(|cell| *cell.borrow_mut() = w);
}

#[wasm_bindgen]
pub fn open() {
    with(|w| w.set_open(true));
}

#[wasm_bindgen]
pub fn close() {
    with(|w| w.set_open(false));
}

#[wasm_bindgen]
pub fn toggle() {
    with(|w| w.toggle());
}

/// Switches identity at runtime, like a new page load with these values.
#[wasm_bindgen]
pub fn identify(who: JsValue) {
    with(|w| w.identify(identity(&who)));
}

/// Forgets the visitor (a site's logout).
#[wasm_bindgen]
pub fn shutdown() {
    with(|w| w.shutdown());
}
