//! One event-listener type per event for the whole dashboard.
//!
//! A closure given to `on:click` makes an `On<click, F>` for the closure's
//! own type `F`, and each such type puts its own copy of the listener code
//! into the wasm: attaching and hydrating it, and the functions of the
//! erased attribute it becomes (`--cfg erase_components`). Through
//! [`handle`] every click handler is an `On<click, Box<dyn FnMut(_)>>`,
//! so that code is in the wasm once per event, and each handler adds only
//! its closure: −0.5 to −2.9 KB gzipped on each page's first load
//! (`scripts/dashboard-sizes.py`, 2026-12-08). The listeners are the same
//! as before: one per element and event.
//!
//! Written `on:click={handle(ev::click, move |ev| …)}`: the event named
//! first gives the closure its argument's type (here a `MouseEvent`).

use leptos::ev::EventDescriptor;

/// `f` as the dashboard's one handler type for `event`.
pub(crate) fn handle<E: EventDescriptor>(
    _event: E,
    f: impl FnMut(E::EventType) + 'static,
) -> Box<dyn FnMut(E::EventType)> {
    Box::new(f)
}
