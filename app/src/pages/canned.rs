//! `/dashboard/canned`: the team's canned responses. Everyone sees them
//! (and types them as `/shortcut` in a conversation); admins add, edit
//! and delete them here.
//!
//! Stable selectors: `.canned-row[data-shortcut]`, `form.canned-form`
//! (`input[name=shortcut]`, `textarea[name=content]`).

use futures_util::future::join;
use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::fields::save_or_cancel;
use super::list::{key, keyed, Row};
use super::{error_box, status_line};
use crate::api::{canned_responses, current_agent, delete_canned_response, save_canned_response};
use crate::pages::events::handle;
use crate::types::{CannedResponse, CannedResponseId, Role};

#[component]
pub fn CannedPage() -> impl IntoView {
    let page = crate::json::resource(|| (), |_| join(canned_responses(), current_agent()));
    view! {
            <div class="page-head">
                <h1>"Canned responses"</h1>
            </div>
            <p class="muted">
                "Type " <kbd>"/"</kbd> " and a shortcut in a reply to use one; Tab or Enter puts its text in."
            </p>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let (all, me) = page.await;
                    let admin = me.ok().flatten().is_some_and(|a| a.role == Role::Admin);
                    match all {
                        Ok(initial) => view! { <CannedList initial admin /> }.into_any(),
                        Err(error) => error_box(error).into_any(),
                    }
                })}
            </Suspense>
    }
}

#[component]
fn CannedList(initial: Vec<CannedResponse>, admin: bool) -> impl IntoView {
    let list = RwSignal::new(initial);
    let error = RwSignal::new(None::<String>);
    // The form: a new one, or the one being edited.
    let editing = RwSignal::new(None::<CannedResponseId>);
    let shortcut = RwSignal::new(String::new());
    let content = RwSignal::new(String::new());
    let saving = RwSignal::new(false);
    // Whether there is any: the list or the empty notice shows.
    let any = Memo::new(move |_| list.with(|l| !l.is_empty()));
    let reset = move || {
        editing.set(None);
        shortcut.set(String::new());
        content.set(String::new());
    };
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if saving.get_untracked() {
            return;
        }
        saving.set(true);
        let (id, s, c) = (
            editing.get_untracked(),
            shortcut.get_untracked(),
            content.get_untracked(),
        );
        spawn_local(async move {
            match save_canned_response(id, s, c).await {
                Ok(saved) => {
                    list.update(|l| {
                        l.retain(|c| c.id != saved.id);
                        l.push(saved);
                        crate::sort::sort_by(l, |a, b| a.shortcut.cmp(&b.shortcut));
                    });
                    reset();
                    error.set(None);
                }
                Err(e) => error.set(Some(e.message)),
            }
            saving.set(false);
        });
    };
    let edit = move |c: CannedResponse| {
        editing.set(Some(c.id));
        shortcut.set(c.shortcut);
        content.set(c.content);
    };
    let remove = move |id: CannedResponseId| {
        spawn_local(async move {
            match delete_canned_response(id.clone()).await {
                Ok(()) => {
                    list.update(|l| l.retain(|c| c.id != id));
                    if editing.get_untracked() == Some(id) {
                        reset();
                    }
                }
                Err(e) => error.set(Some(e.message)),
            }
        });
    };
    view! {
        <p class="empty" hidden=any>"No canned responses yet."</p>
        <ul class="canned-list" hidden=move || !any.get()>
                {keyed(move || {
                    list.get()
                        .into_iter()
                        .map(|canned| Row::new(key([canned.id.as_str(), &canned.updated_at]), move || view! {
                                <li class="canned-row" data-shortcut=canned.shortcut.clone()>
                                    <code class="shortcut">{format!("/{}", canned.shortcut)}</code>
                                    <div class="text">{canned.content.clone()}</div>
                                    {admin
                                        .then(|| {
                                            let for_edit = canned.clone();
                                            let id = canned.id.clone();
                                            view! {
                                                <span class="actions">
                                                    <button
                                                        type="button"
                                                        class="link"
                                                        on:click={handle(ev::click, move |_| edit(for_edit.clone()))}
                                                    >
                                                        "Edit"
                                                    </button>
                                                    <button
                                                        type="button"
                                                        class="link danger"
                                                        on:click={handle(ev::click, move |_| remove(id.clone()))}
                                                    >
                                                        "Delete"
                                                    </button>
                                                </span>
                                            }
                                        })}
                                </li>
                        }))
                        .collect()
                })}
        </ul>
        {status_line("error", error)}
        {admin
            .then(|| {
                view! {
                    <h2>
                        {move || {
                            if editing.with(Option::is_some) { "Edit" } else { "Add a canned response" }
                        }}
                    </h2>
                    <form class="stack canned-form" on:submit={handle(ev::submit, save)}>
                        <label>
                            "Shortcut (letters, digits, - and _)"
                            <input
                                type="text"
                                name="shortcut"
                                required
                                maxlength="33"
                                placeholder="refund"
                                prop:value=move || shortcut.get()
                                on:input={handle(ev::input, move |ev| shortcut.set(event_target_value(&ev)))}
                            />
                        </label>
                        <label>
                            "Text"
                            <textarea
                                name="content"
                                required
                                prop:value=move || content.get()
                                on:input={handle(ev::input, move |ev| content.set(event_target_value(&ev)))}
                            ></textarea>
                        </label>
                        {save_or_cancel(saving, move || editing.with(Option::is_some), reset)}
                    </form>
                }
            })}
    }
}
