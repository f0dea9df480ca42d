//! One keyed list for every list of the dashboard (conversations, the
//! thread, rules, tokens, …).
//!
//! A `<For>` is generic over its items, its key and its two closures, so
//! each `<For>` in the source put its own copy of the keyed-list code (the
//! diff, building, hydrating, the row owners) into the wasm: about 8–10 KB
//! before optimisation each. Here every list goes through [`keyed`], whose
//! one `<For>` has one set of types: a list gives [`Row`]s (a text key
//! and a boxed function that draws the row), and the keyed-list code is in
//! the wasm once. The DOM and the keyed updates are those of `<For>`: a
//! row is drawn again only when its key changes.

use std::sync::Arc;

use leptos::prelude::*;

/// A row of a [`keyed`] list: its key, unique in the list and different
/// whenever the row must be drawn again, and how to draw it.
pub(crate) struct Row {
    key: String,
    view: Box<dyn FnOnce() -> AnyView + Send>,
}

impl Row {
    pub(crate) fn new<V>(key: String, view: impl FnOnce() -> V + Send + 'static) -> Self
    where
        V: IntoView + 'static,
    {
        Self {
            key,
            view: Box::new(move || view().into_view().into_any()),
        }
    }
}

/// A key made of several parts (an id and what changes the row).
pub(crate) fn key<const N: usize>(parts: [&str; N]) -> String {
    parts.join("\u{1f}")
}

/// The rows `rows` gives, kept by key, as `<For>` keeps them.
pub(crate) fn keyed(rows: impl Fn() -> Vec<Row> + Send + Sync + 'static) -> impl IntoView {
    erased(Arc::new(rows))
}

fn erased(rows: Arc<dyn Fn() -> Vec<Row> + Send + Sync>) -> impl IntoView {
    view! { <For each=move || rows() key=|row: &Row| row.key.clone() children=|row: Row| (row.view)() /> }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_several_parts_do_not_run_together() {
        assert_ne!(key(["ab", "c"]), key(["a", "bc"]));
        assert_eq!(key(["id"]), "id");
    }
}
