//! The dashboard's browser entry: hydrates the server-rendered `app`.
//!
//! # Layout
//! Only [`hydrate`]; everything else lives in `app`.

use wasm_bindgen::JsValue;

/// Hydrates the page once its lazy route's chunk has loaded (every page is
/// a lazy route; see `app::App`), then sets `window.__defmisHydrated`,
/// which lets browser tests (and curious operators) know the page is live.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // What `leptos::mount::hydrate_lazy` does, with the flag at the end.
    // An error means the executor was already set up: nothing to do.
    let _ = any_spawner::Executor::init_wasm_bindgen();
    leptos::task::spawn_local(async {
        let body = leptos::tachys::dom::body();
        leptos::mount::hydrate_from_async(body, app::App)
            .await
            .forget();
        if let Some(window) = web_sys::window() {
            let _ = js_sys::Reflect::set(
                &window,
                &JsValue::from_str("__defmisHydrated"),
                &JsValue::TRUE,
            );
        }
    });
}
