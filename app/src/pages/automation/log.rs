//! `/dashboard/automation/log`: what fired, and what was held back.

use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;

use super::super::fields::Field;
use super::super::list::{keyed, Row};
use super::super::{error_box, status_line};
use super::Tabs;
use crate::api::{auto_response_logs, auto_responses};
use crate::automation::{AutoResponseId, AutoResponseLog, LogQuery};
use crate::pages::events::handle;
use crate::types::short_time;

#[component]
pub fn LogPage() -> impl IntoView {
    let rules = crate::json::resource(|| (), |_| auto_responses());
    let rule = RwSignal::new(String::new());
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let query = move || {
        let day = |s: &str, end: bool| {
            (!s.is_empty()).then(|| {
                if end {
                    format!("{s}T23:59:59.999999Z")
                } else {
                    format!("{s}T00:00:00Z")
                }
            })
        };
        LogQuery {
            rule: Some(rule.get())
                .filter(|r| !r.is_empty())
                .map(AutoResponseId::from),
            from: day(&from.get(), false),
            to: day(&to.get(), true),
            cursor: None,
        }
    };
    let first = crate::json::resource(query, auto_response_logs);
    view! {
            <div class="page-head">
                <h1>"Response log"</h1>
            </div>
            <Tabs />
            <form class="row log-filters" on:submit={handle(ev::submit, |ev| ev.prevent_default())}>
                <label>
                    "Rule"
                    <select name="rule" on:change={handle(ev::change, move |ev| rule.set(event_target_value(&ev)))}>
                        <option value="">"Every rule"</option>
                        <Suspense>
                            {move || Suspend::new(async move {
                                rules
                                    .await
                                    .unwrap_or_default()
                                    .into_iter()
                                    .map(|r| view! { <option value=r.id.to_string()>{r.name}</option> })
                                    .collect_view()
                            })}
                        </Suspense>
                    </select>
                </label>
                <Field label="From" name="from" value=from kind="date" />
                <Field label="To" name="to" value=to kind="date" />
            </form>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match first.await {
                        Ok(page) => view! { <LogList page filter=query() /> }.into_any(),
                        Err(error) => error_box(error).into_any(),
                    }
                })}
            </Suspense>
    }
}

fn outcome_label(l: &AutoResponseLog) -> &'static str {
    use crate::automation::LogOutcome::*;
    match l.outcome {
        Fired => "Sent",
        Cooldown => "Held back: cooldown",
        MaxReached => "Held back: most times",
        AgentReplied => "Not sent: an agent replied",
        Failed => "Failed",
    }
}

#[component]
fn LogList(page: crate::automation::AutoResponseLogPage, filter: LogQuery) -> impl IntoView {
    let logs = RwSignal::new(page.logs);
    let cursor = RwSignal::new(page.next_cursor);
    let error = RwSignal::new(None::<String>);
    let filter = StoredValue::new(filter);
    let more = move |_| {
        let Some(c) = cursor.get_untracked() else {
            return;
        };
        let q = LogQuery {
            cursor: Some(c),
            ..filter.get_value()
        };
        spawn_local(async move {
            match auto_response_logs(q).await {
                Ok(next) => {
                    logs.update(|l| l.extend(next.logs));
                    cursor.set(next.next_cursor);
                }
                Err(e) => error.set(Some(e.message)),
            }
        });
    };
    view! {
        <p class="empty" hidden=move || logs.with(|l| !l.is_empty())>"Nothing logged yet."</p>
        <table class="log" hidden=move || logs.with(Vec::is_empty)>
                <thead>
                    <tr>
                        <th>"When"</th>
                        <th>"Rule"</th>
                        <th>"What"</th>
                        <th>"Why"</th>
                        <th>"Conversation"</th>
                    </tr>
                </thead>
                <tbody>
                    {keyed(move || {
                        logs.get()
                            .into_iter()
                            .map(|l| Row::new(l.id.clone(), move || view! {
                                <tr class="log-row" data-outcome=l.outcome.as_str()>
                                    <td>{short_time(&l.at)}</td>
                                    <td>{l.rule_name.clone()}</td>
                                    <td>{outcome_label(&l)}</td>
                                    <td class="reason">{l.reason.clone()}</td>
                                    <td>
                                        <A href=format!("/dashboard/conversations/{}", l.session_id)>"Open"</A>
                                    </td>
                                </tr>
                            }))
                            .collect()
                    })}
                </tbody>
        </table>
        <button type="button" class="link" hidden=move || cursor.with(Option::is_none) on:click={handle(ev::click, more)}>
            "Load more"
        </button>
        {status_line("error", error)}
    }
}
