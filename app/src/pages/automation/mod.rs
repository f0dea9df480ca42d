//! Automated responses in the dashboard: `/dashboard/automation` (the
//! rules: enable toggles, drag or ↑/↓ to rank, the editor, the "try it"
//! box), `/dashboard/automation/hours` (business hours with a week view)
//! and `/dashboard/automation/log` (what fired, and what was held back).
//! Every agent reads them and may try; admins change them.
//!
//! Stable selectors: `.rule-row[data-name]` (`input.rule-enabled`,
//! `button.rule-up`, `.rule-edit`, `.rule-delete`), `form.rule-form`
//! (named fields), `form.try-it` (`textarea[name=try]`), `.try-result`
//! (`.try-rule`, `.try-reply`, `.try-reasons li`), `form.hours-form`,
//! `.week-view`, `.log-row[data-outcome]`.

mod editor;
mod hours;
mod log;
mod try_it;

use futures_util::future::join;
use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;

use super::list::{key, keyed, Row};
use super::{error_box, status_line};
use crate::api::{
    auto_responses, change_auto_response, current_agent, delete_auto_response,
    reorder_auto_responses, save_auto_response,
};
use crate::automation::{AutoResponse, AutoResponseChange, AutoResponseId, KeywordMatch, Trigger};
use crate::pages::events::handle;
use crate::types::Role;
use editor::{Form, RuleForm};
use try_it::TryIt;

pub use hours::HoursPage;
pub use log::LogPage;

/// The three pages' links.
#[component]
fn Tabs() -> impl IntoView {
    view! {
        <nav class="tabs">
            <A href="/dashboard/automation" exact=true>
                "Rules"
            </A>
            <A href="/dashboard/automation/hours">"Business hours"</A>
            <A href="/dashboard/automation/log">"Log"</A>
        </nav>
    }
}

fn is_admin(me: Result<Option<crate::types::AgentView>, crate::types::ApiError>) -> bool {
    me.ok().flatten().is_some_and(|a| a.role == Role::Admin)
}

#[component]
pub fn AutomationPage() -> impl IntoView {
    let page = crate::json::resource(|| (), |_| join(auto_responses(), current_agent()));
    view! {
            <div class="page-head">
                <h1>"Automated responses"</h1>
            </div>
            <Tabs />
            <p class="muted">
                "Rules answer a visitor's message with a bot message. The first rule that matches \
                 (highest first) answers, once per message; a rule in its cooldown or at its \
                 maximum in a conversation lets the next one answer."
            </p>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let (rules, me) = page.await;
                    let admin = is_admin(me);
                    match rules {
                        Ok(initial) => view! { <Rules initial admin /> }.into_any(),
                        Err(error) => error_box(error).into_any(),
                    }
                })}
            </Suspense>
    }
}

/// A rule's trigger in a few words.
fn describe(trigger: &Trigger) -> String {
    match trigger {
        Trigger::Keyword { matching, keywords } => {
            let how = match matching {
                KeywordMatch::Any => "any of",
                KeywordMatch::All => "all of",
                KeywordMatch::Phrase => "exactly",
                KeywordMatch::Regex => "pattern",
            };
            format!("Keywords ({how}): {}", keywords.join(", "))
        }
        Trigger::Greeting => "A greeting".into(),
        Trigger::FirstMessage => "The visitor's first message".into(),
        Trigger::OutsideBusinessHours => "Outside business hours".into(),
        Trigger::NoAgentOnline => "No agent online".into(),
        Trigger::NoReply { minutes } => format!("No reply within {minutes} min"),
    }
}

fn sort(list: &mut Vec<AutoResponse>) {
    crate::sort::sort_by(list, |a, b| {
        b.priority
            .cmp(&a.priority)
            .then_with(|| a.name.cmp(&b.name))
    });
}

#[component]
fn Rules(initial: Vec<AutoResponse>, admin: bool) -> impl IntoView {
    let list = RwSignal::new(initial);
    let error = RwSignal::new(None::<String>);
    let form = Form::new();
    let saving = RwSignal::new(false);
    let dragging = RwSignal::new(None::<usize>);
    let fail = move |e: crate::types::ApiError| error.set(Some(e.message));

    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if saving.get_untracked() {
            return;
        }
        let rule = match form.rule() {
            Ok(rule) => rule,
            Err(e) => return error.set(Some(e)),
        };
        saving.set(true);
        let id = form.editing.get_untracked();
        spawn_local(async move {
            match save_auto_response(id, rule).await {
                Ok(saved) => {
                    list.update(|l| {
                        l.retain(|r| r.id != saved.id);
                        l.push(saved);
                        sort(l);
                    });
                    form.reset();
                    error.set(None);
                }
                Err(e) => fail(e),
            }
            saving.set(false);
        });
    };
    let toggle = move |id: AutoResponseId, enabled: bool| {
        spawn_local(async move {
            let change = AutoResponseChange {
                enabled: Some(enabled),
                ..AutoResponseChange::default()
            };
            match change_auto_response(id, change).await {
                Ok(saved) => list.update(|l| {
                    if let Some(r) = l.iter_mut().find(|r| r.id == saved.id) {
                        *r = saved;
                    }
                }),
                Err(e) => fail(e),
            }
        });
    };
    // Moves rule `from` to position `to` and saves the ranking.
    let rank = move |from: usize, to: usize| {
        let mut ids: Vec<AutoResponseId> =
            list.with_untracked(|l| l.iter().map(|r| r.id.clone()).collect());
        if from >= ids.len() || to >= ids.len() || from == to {
            return;
        }
        let moved = ids.remove(from);
        ids.insert(to, moved);
        list.update(|l| {
            let moved = l.remove(from);
            l.insert(to, moved);
        });
        spawn_local(async move {
            match reorder_auto_responses(ids).await {
                Ok(all) => list.set(all),
                Err(e) => fail(e),
            }
        });
    };
    let remove = move |id: AutoResponseId| {
        spawn_local(async move {
            match delete_auto_response(id.clone()).await {
                Ok(()) => {
                    list.update(|l| l.retain(|r| r.id != id));
                    if form.editing.get_untracked() == Some(id) {
                        form.reset();
                    }
                }
                Err(e) => fail(e),
            }
        });
    };

    view! {
        <p class="empty" hidden=move || list.with(|l| !l.is_empty())>
            "No rules yet. Add one below, or install the defaults with "
            <code>"defmis-chat create-default-responses"</code> "."
        </p>
        <ol class="rule-list" hidden=move || list.with(Vec::is_empty)>
                {keyed(move || {
                    list.get()
                        .into_iter()
                        .enumerate()
                        .map(|(i, rule)| {
                            Row::new(key([&i.to_string(), rule.id.as_str(), &rule.updated_at]), move || {
                                let id = rule.id.clone();
                                let (for_toggle, for_edit, for_delete) = (id.clone(), rule.clone(), id.clone());
                                view! {
                                    <li
                                        class="rule-row"
                                        class:off=!rule.enabled
                                        data-name=rule.name.clone()
                                        draggable=admin.then_some("true")
                                        on:dragstart={handle(ev::dragstart, move |_| dragging.set(Some(i)))}
                                        on:dragover={handle(ev::dragover, move |ev| ev.prevent_default())}
                                        on:drop={handle(ev::drop, move |ev| {
                                            ev.prevent_default();
                                            if let Some(from) = dragging.get_untracked() {
                                                rank(from, i);
                                            }
                                            dragging.set(None);
                                        })}
                                    >
                                        <label class="toggle" title="Enabled">
                                            <input
                                                type="checkbox"
                                                class="rule-enabled"
                                                checked=rule.enabled
                                                disabled=!admin
                                                on:change={handle(ev::change, move |ev| toggle(for_toggle.clone(), event_target_checked(&ev)))}
                                            />
                                        </label>
                                        <div class="rule-main">
                                            <strong class="rule-name">{rule.name.clone()}</strong>
                                            <span class="muted">{describe(&rule.trigger)}</span>
                                            <div class="rule-message">{rule.action.message.clone()}</div>
                                        </div>
                                        <span class="priority" title="Priority">{rule.priority}</span>
                                        {admin
                                            .then(|| {
                                                view! {
                                                    <span class="actions">
                                                        <button type="button" class="link rule-up" title="Move up" on:click={handle(ev::click, move |_| rank(i, i.saturating_sub(1)))}>"↑"</button>
                                                        <button type="button" class="link rule-down" title="Move down" on:click={handle(ev::click, move |_| rank(i, i + 1))}>"↓"</button>
                                                        <button type="button" class="link rule-edit" on:click={handle(ev::click, move |_| form.load(&for_edit))}>"Edit"</button>
                                                        <button type="button" class="link danger rule-delete" on:click={handle(ev::click, move |_| remove(for_delete.clone()))}>"Delete"</button>
                                                    </span>
                                                }
                                            })}
                                    </li>
                                }
                            })
                        })
                        .collect()
                })}
        </ol>
        {status_line("error", error)}
        {admin.then(|| view! { <RuleForm form save saving /> })}
        <TryIt />
    }
}
