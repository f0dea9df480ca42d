//! Keyboard shortcuts: `j`/`k` move in the inbox (Enter opens), `e`
//! closes (the selected conversation in the inbox, the open one in a
//! conversation), `/` focuses the search, `?` shows the list, Esc hides
//! it. Keys typed into a field, or with Ctrl, Alt or Meta, are left alone.

use leptos::ev;
use leptos::prelude::*;

use crate::pages::events::handle;

/// What a key asks for.
#[cfg_attr(
    not(feature = "hydrate"),
    allow(dead_code, reason = "keys are read in the browser only")
)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shortcut {
    Next,
    Previous,
    Close,
    Search,
    Help,
    Dismiss,
}

#[cfg_attr(
    not(feature = "hydrate"),
    allow(dead_code, reason = "keys are read in the browser only")
)]
impl Shortcut {
    /// The shortcut for a `key` value, if any.
    pub fn from_key(key: &str) -> Option<Self> {
        match key {
            "j" => Some(Self::Next),
            "k" => Some(Self::Previous),
            "e" => Some(Self::Close),
            "/" => Some(Self::Search),
            "?" => Some(Self::Help),
            "Escape" => Some(Self::Dismiss),
            _ => None,
        }
    }
}

/// Every shortcut with what it does, as the help lists them.
pub const HELP: [(&str, &str); 6] = [
    ("j", "next conversation"),
    ("k", "previous conversation"),
    ("Enter", "open it"),
    ("e", "close the conversation"),
    ("/", "search"),
    ("?", "show or hide this list"),
];

/// Calls `on` with each shortcut typed on the page (outside fields) while
/// the calling component lives. Nothing on the server.
pub fn on_shortcut(on: impl Fn(Shortcut) + 'static) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let handle = window_event_listener(leptos::ev::keydown, move |ev| {
            if ev.ctrl_key() || ev.alt_key() || ev.meta_key() || ev.default_prevented() {
                return;
            }
            let in_field = ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                .is_some_and(|el| {
                    matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
                        || el.has_attribute("contenteditable")
                });
            let Some(shortcut) = Shortcut::from_key(&ev.key()) else {
                return;
            };
            if in_field && shortcut != Shortcut::Dismiss {
                return;
            }
            ev.prevent_default();
            on(shortcut);
        });
        on_cleanup(move || handle.remove());
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = on;
}

/// Focuses the first element matching `selector` (nothing on the server).
pub fn focus(selector: &str) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        if let Some(el) = document()
            .query_selector(selector)
            .ok()
            .flatten()
            .and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = el.focus();
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = selector;
}

/// The list of shortcuts, shown while `open` (a plain function, not a
/// component, so that its view is not erased into an `AnyView` of its own).
pub fn shortcut_help(open: RwSignal<bool>) -> impl IntoView {
    view! {
        <div class="shortcut-help" role="dialog" aria-label="Keyboard shortcuts" hidden=move || !open.get()>
            <h2>"Keyboard shortcuts"</h2>
            <dl>
                {HELP
                    .iter()
                    .map(|(key, what)| view! {
                        <dt>
                            <kbd>{*key}</kbd>
                        </dt>
                        <dd>{*what}</dd>
                    })
                    .collect_view()}
            </dl>
            <button type="button" class="secondary" on:click={handle(ev::click, move |_| open.set(false))}>
                "Close"
            </button>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_map_to_shortcuts() {
        assert_eq!(Shortcut::from_key("j"), Some(Shortcut::Next));
        assert_eq!(Shortcut::from_key("?"), Some(Shortcut::Help));
        assert_eq!(Shortcut::from_key("J"), None);
        assert_eq!(Shortcut::from_key("Enter"), None);
    }
}
