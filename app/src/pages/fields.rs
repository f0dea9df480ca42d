//! Form controls bound to a signal: what a form of many fields is made of.

use leptos::ev;
use leptos::prelude::*;

use crate::pages::events::handle;

/// A `<select>` bound to a text signal.
#[component]
pub(super) fn Choice(
    label: &'static str,
    name: &'static str,
    value: RwSignal<String>,
    options: &'static [(&'static str, &'static str)],
) -> impl IntoView {
    view! {
        <label>
            {label}
            <select name=name on:change={handle(ev::change, move |ev| value.set(event_target_value(&ev)))} prop:value=move || value.get()>
                {options
                    .iter()
                    .map(|(v, text)| view! { <option value=*v selected=move || value.get() == *v>{*text}</option> })
                    .collect_view()}
            </select>
        </label>
    }
}

/// A text input bound to a signal.
#[component]
pub(super) fn Field(
    label: &'static str,
    name: &'static str,
    value: RwSignal<String>,
    #[prop(optional)] kind: Option<&'static str>,
    #[prop(optional)] placeholder: Option<&'static str>,
) -> impl IntoView {
    view! {
        <label>
            {label}
            <input
                type=kind.unwrap_or("text")
                name=name
                placeholder=placeholder
                prop:value=move || value.get()
                on:input={handle(ev::input, move |ev| value.set(event_target_value(&ev)))}
            />
        </label>
    }
}

/// A checkbox bound to a signal.
#[component]
pub(super) fn Check(
    label: &'static str,
    name: &'static str,
    value: RwSignal<bool>,
) -> impl IntoView {
    view! {
        <label class="check">
            <input
                type="checkbox"
                name=name
                prop:checked=move || value.get()
                on:change={handle(ev::change, move |ev| value.set(event_target_checked(&ev)))}
            />
            {label}
        </label>
    }
}

/// A textarea bound to a signal.
#[component]
pub(super) fn Text(
    label: &'static str,
    name: &'static str,
    value: RwSignal<String>,
    #[prop(optional)] placeholder: Option<&'static str>,
) -> impl IntoView {
    view! {
        <label>
            {label}
            <textarea
                name=name
                placeholder=placeholder
                prop:value=move || value.get()
                on:input={handle(ev::input, move |ev| value.set(event_target_value(&ev)))}
            ></textarea>
        </label>
    }
}

/// A form's Save button (off while it saves) and, while an existing item
/// is being edited, Cancel, which puts the form back to a new item. A
/// plain function, not a component: a component's view would be erased
/// into an `AnyView` of its own.
pub(super) fn save_or_cancel(
    saving: RwSignal<bool>,
    editing: impl Fn() -> bool + Send + 'static,
    cancel: impl Fn() + 'static,
) -> impl IntoView {
    view! {
        <span>
            <button type="submit" class="primary" disabled=move || saving.get()>
                "Save"
            </button>
            <button type="button" class="link" hidden=move || !editing() on:click={handle(ev::click, move |_| cancel())}>
                " Cancel"
            </button>
        </span>
    }
}
