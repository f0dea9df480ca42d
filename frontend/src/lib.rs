//! The dashboard's browser entry: hydrates the server-rendered `app`.
//!
//! # Layout
//! Only [`hydrate`]; everything else lives in `app`.

use wasm_bindgen::JsValue;

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
    // Lets browser tests (and curious operators) know the page is live.
    if let Some(window) = web_sys::window() {
        let _ = js_sys::Reflect::set(
            &window,
            &JsValue::from_str("__defmisHydrated"),
            &JsValue::TRUE,
        );
    }
}
