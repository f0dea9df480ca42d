//! `/dashboard/tokens`: API tokens, for admins. Create one for an
//! account (its value is shown once, here, and never again), see when
//! each was last used, revoke (sockets opened with it close within 5 s).
//!
//! Stable selectors: `.token-row[data-name]` (`.last-used`),
//! `form.new-token`, `.new-token-value`.

use futures_util::future::join;
use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::list::{key, keyed, Row};
use super::{error_box, status_line};
use crate::api::{create_api_token, list_api_tokens, revoke_api_token, team};
use crate::pages::events::handle;
use crate::types::{short_time, staff_name, AgentAccount, ApiTokenView};

#[component]
pub fn TokensPage() -> impl IntoView {
    let page = crate::json::resource(|| (), |_| join(list_api_tokens(), team()));
    view! {
            <div class="page-head">
                <h1>"API tokens"</h1>
            </div>
            <p class="muted">
                "Programs use a token as " <code>"Authorization: Bearer …"</code>
                " on the admin API and the agent socket, acting as the account it belongs to."
            </p>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let (tokens, people) = page.await;
                    let people = people.unwrap_or_default();
                    match tokens {
                        Ok(initial) => view! { <Tokens initial people /> }.into_any(),
                        Err(error) => error_box(error).into_any(),
                    }
                })}
            </Suspense>
    }
}

#[component]
fn Tokens(initial: Vec<ApiTokenView>, people: Vec<AgentAccount>) -> impl IntoView {
    let tokens = RwSignal::new(initial);
    let error = RwSignal::new(None::<String>);
    let shown = RwSignal::new(None::<String>);
    let name = RwSignal::new(String::new());
    let first = people
        .first()
        .map(|a| a.username.clone())
        .unwrap_or_default();
    let username = RwSignal::new(first);
    let names = StoredValue::new(
        people
            .iter()
            .map(|a| (a.id.clone(), staff_name(&a.display_name, &a.username)))
            .collect::<Vec<_>>(),
    );
    let owner = move |t: &ApiTokenView| {
        names.with_value(|n| {
            n.iter()
                .find(|(id, _)| *id == t.agent_id)
                .map(|(_, name)| name.clone())
                .unwrap_or_else(|| "a deactivated account".into())
        })
    };
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (who, label) = (username.get_untracked(), name.get_untracked());
        let label = (!label.trim().is_empty()).then_some(label);
        spawn_local(async move {
            match create_api_token(who, label).await {
                Ok(made) => {
                    shown.set(Some(made.token));
                    tokens.update(|l| l.insert(0, made.view));
                    name.set(String::new());
                    error.set(None);
                }
                Err(e) => error.set(Some(e.message)),
            }
        });
    };
    let revoke = move |id: String| {
        spawn_local(async move {
            match revoke_api_token(id.clone()).await {
                Ok(()) => tokens.update(|l| l.retain(|t| t.id != id)),
                Err(e) => error.set(Some(e.message)),
            }
        });
    };
    view! {
        <div class="card new-token" role="status" hidden=move || shown.with(Option::is_none)>
            <p>"Copy the new token now: it is not shown again."</p>
            <code class="new-token-value">{move || shown.get()}</code>
        </div>
        <p class="empty" hidden=move || tokens.with(|l| !l.is_empty())>"No API tokens."</p>
        <table class="accounts tokens" hidden=move || tokens.with(Vec::is_empty)>
                <thead>
                    <tr>
                        <th>"Name"</th>
                        <th>"Acts as"</th>
                        <th>"Created"</th>
                        <th>"Last used"</th>
                        <th></th>
                    </tr>
                </thead>
                <tbody>
                    {keyed(move || {
                        tokens.get()
                            .into_iter()
                            .map(|token| Row::new(key([&token.id, token.last_used_at.as_deref().unwrap_or_default()]), move || view! {
                                <tr class="token-row" data-name=token.name.clone().unwrap_or_default()>
                                    <td>{token.name.clone().unwrap_or_else(|| "(no name)".into())}</td>
                                    <td>{owner(&token)}</td>
                                    <td>{short_time(&token.created_at)}</td>
                                    <td class="last-used">
                                        {token.last_used_at.as_deref().map(short_time).unwrap_or_else(|| "never".into())}
                                    </td>
                                    <td>
                                        <button
                                            type="button"
                                            class="link danger"
                                            on:click={handle(ev::click, {
                                                let id = token.id.clone();
                                                move |_| revoke(id.clone())
                                            })}
                                        >
                                            "Revoke"
                                        </button>
                                    </td>
                                </tr>
                            }))
                            .collect()
                    })}
                </tbody>
        </table>
        {status_line("error", error)}
        <h2>"New token"</h2>
        <form class="stack new-token" on:submit={handle(ev::submit, create)}>
            <label>
                "Name (what uses it)"
                <input
                    type="text"
                    name="name"
                    maxlength="100"
                    prop:value=move || name.get()
                    on:input={handle(ev::input, move |ev| name.set(event_target_value(&ev)))}
                />
            </label>
            <label>
                "Acts as"
                <select name="username" on:change={handle(ev::change, move |ev| username.set(event_target_value(&ev)))}>
                    {people
                        .iter()
                        .map(|a| {
                            view! {
                                <option value=a.username.clone()>
                                    {staff_name(&a.display_name, &a.username)}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </label>
            <span>
                <button type="submit" class="primary">
                    "Create token"
                </button>
            </span>
        </form>
    }
}
