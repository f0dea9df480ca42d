//! "Try it": which rule would answer a message, and how.

use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::super::fields::{Check, Choice, Field, Text};
use super::super::status_line;
use crate::api::test_auto_response;
use crate::automation::{AutoResponseTest, AutoResponseVerdict};
use crate::pages::events::handle;

/// `datetime-local`'s value (the browser's time) as RFC 3339.
fn local_time_to_rfc3339(value: &str) -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(value));
        (!date.get_time().is_nan()).then(|| String::from(date.to_iso_string()))
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = value;
        None
    }
}

/// The browser's IANA time zone.
fn browser_zone() -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        let options =
            js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new())
                .resolved_options();
        js_sys::Reflect::get(&options, &wasm_bindgen::JsValue::from_str("timeZone"))
            .ok()
            .and_then(|z| z.as_string())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        None
    }
}

/// Type a message (and a time), see which rule fires and its reply.
#[component]
pub(super) fn TryIt() -> impl IntoView {
    let content = RwSignal::new(String::new());
    let at = RwSignal::new(String::new());
    let language = RwSignal::new(String::new());
    let first = RwSignal::new(true);
    let online = RwSignal::new(String::new());
    let verdict = RwSignal::new(None::<AutoResponseVerdict>);
    let error = RwSignal::new(None::<String>);
    let run = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let text = |s: RwSignal<String>| Some(s.get_untracked()).filter(|v| !v.trim().is_empty());
        let test = AutoResponseTest {
            content: content.get_untracked(),
            at: text(at).and_then(|v| local_time_to_rfc3339(&v)),
            language: text(language),
            first_message: Some(first.get_untracked()),
            agents_online: match online.get_untracked().as_str() {
                "yes" => Some(true),
                "no" => Some(false),
                _ => None,
            },
            time_zone: browser_zone(),
            ..AutoResponseTest::default()
        };
        spawn_local(async move {
            match test_auto_response(test).await {
                Ok(v) => {
                    verdict.set(Some(v));
                    error.set(None);
                }
                Err(e) => error.set(Some(e.message)),
            }
        });
    };
    view! {
        <h2>"Try it"</h2>
        <form class="stack try-it" on:submit={handle(ev::submit, run)}>
            <Text label="A visitor writes" name="try" value=content placeholder="Hello! How much is it?" />
            <div class="row">
                <Field label="At (empty: now)" name="try_at" value=at kind="datetime-local" />
                <Choice
                    label="Language"
                    name="try_language"
                    value=language
                    options=&[("", "Unknown"), ("en", "English"), ("es", "Español"), ("fr", "Français"), ("de", "Deutsch")]
                />
                <Choice
                    label="Agents"
                    name="try_online"
                    value=online
                    options=&[("", "As now"), ("yes", "One online"), ("no", "None online")]
                />
                <Check label="First message" name="try_first" value=first />
            </div>
            <span>
                <button type="submit" class="primary">"Try"</button>
            </span>
        </form>
        {status_line("error", error)}
        {move || {
            verdict
                .get()
                .map(|v| {
                    view! {
                        <div class="try-result" aria-live="polite">
                            <p>
                                {match &v.rule {
                                    Some(r) => view! { "Fires: " <strong class="try-rule">{r.name.clone()}</strong> }.into_any(),
                                    None => view! { <strong class="try-rule none">"No rule fires."</strong> }.into_any(),
                                }}
                            </p>
                            {v.reply.clone().map(|reply| view! { <div class="try-reply bubble bot">{reply}</div> })}
                            <ul class="try-reasons">
                                {v.reasons.iter().map(|r| view! { <li>{r.clone()}</li> }).collect_view()}
                            </ul>
                        </div>
                    }
                })
        }}
    }
}
