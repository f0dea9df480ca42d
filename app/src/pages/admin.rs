//! `/dashboard/admin`: the team, for admins (the seed's `/admin/` comes
//! here). Every account with its role and state; a form to create one;
//! deactivate and reactivate; set a new password for someone who forgot
//! theirs (their sessions end). The server functions check the role: an
//! agent sees the refusal, not the list.
//!
//! Stable selectors: `.account-row[data-username][data-active]`,
//! `form.new-account`, `form.reset-password`.

use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::list::{key, keyed, Row};
use super::{error_box, status_line, PasswordField};
use crate::api::{create_account, list_accounts, reset_account_password, set_account_active};
use crate::pages::events::handle;
use crate::types::{AgentAccount, AgentId, Role};

#[component]
pub fn AdminPage() -> impl IntoView {
    let accounts = crate::json::resource(|| (), |_| list_accounts());
    view! {
            <div class="page-head">
                <h1>"Team"</h1>
            </div>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match accounts.await {
                        Ok(initial) => view! { <Team initial /> }.into_any(),
                        Err(error) => error_box(error).into_any(),
                    }
                })}
            </Suspense>
    }
}

#[component]
fn Team(initial: Vec<AgentAccount>) -> impl IntoView {
    let accounts = RwSignal::new(initial);
    let error = RwSignal::new(None::<String>);
    // The new account's form. Its fields are signals read on submit, not
    // an `ActionForm`: that would put a form decoder into the wasm.
    let username = RwSignal::new(String::new());
    let display_name = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let role = RwSignal::new(Role::Agent);
    let creating = RwSignal::new(false);
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if creating.get_untracked() {
            return;
        }
        creating.set(true);
        let (name, shown, secret, role_now) = (
            username.get_untracked(),
            display_name.get_untracked(),
            password.get_untracked(),
            role.get_untracked(),
        );
        spawn_local(async move {
            match create_account(name, shown, secret, role_now).await {
                Ok(made) => {
                    error.set(None);
                    accounts.update(|list| {
                        list.retain(|a| a.id != made.id);
                        list.push(made);
                    });
                    username.set(String::new());
                    display_name.set(String::new());
                    password.set(String::new());
                }
                Err(e) => error.set(Some(e.message)),
            }
            creating.set(false);
        });
    };
    let resetting = RwSignal::new(None::<AgentId>);
    let new_password = RwSignal::new(String::new());
    let notice = RwSignal::new(None::<String>);
    let reset = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(id) = resetting.get_untracked() else {
            return;
        };
        let password = new_password.get_untracked();
        spawn_local(async move {
            match reset_account_password(id, password).await {
                Ok(account) => {
                    error.set(None);
                    resetting.set(None);
                    new_password.set(String::new());
                    notice.set(Some(format!(
                        "{} has a new password; their sessions ended.",
                        account.username
                    )));
                }
                Err(e) => error.set(Some(e.message)),
            }
        });
    };
    let toggle = move |account: AgentAccount| {
        spawn_local(async move {
            match set_account_active(account.id.clone(), !account.active).await {
                Ok(changed) => {
                    error.set(None);
                    accounts.update(|list| {
                        if let Some(a) = list.iter_mut().find(|a| a.id == changed.id) {
                            *a = changed;
                        }
                    });
                }
                Err(e) => error.set(Some(e.message)),
            }
        });
    };
    view! {
        <table class="accounts">
            <thead>
                <tr>
                    <th>"Username"</th>
                    <th>"Shown to visitors as"</th>
                    <th>"Role"</th>
                    <th>"State"</th>
                    <th></th>
                </tr>
            </thead>
            <tbody>
                {keyed(move || {
                    accounts.get()
                        .into_iter()
                        .map(|account| Row::new(key([account.id.as_str(), if account.active { "on" } else { "off" }, account.role.as_str(), &account.display_name]), move || view! {
                            <tr
                                class="account-row"
                                data-username=account.username.clone()
                                data-active=account.active.to_string()
                            >
                                <td>{account.username.clone()}</td>
                                <td>{account.display_name.clone()}</td>
                                <td>{account.role.as_str()}</td>
                                <td>{if account.active { "active" } else { "deactivated" }}</td>
                                <td>
                                    <button
                                        type="button"
                                        class="secondary"
                                        on:click={handle(ev::click, {
                                            let account = account.clone();
                                            move |_| toggle(account.clone())
                                        })}
                                    >
                                        {if account.active { "Deactivate" } else { "Reactivate" }}
                                    </button>
                                    " "
                                    <button
                                        type="button"
                                        class="link"
                                        on:click={handle(ev::click, {
                                            let id = account.id.clone();
                                            move |_| {
                                                notice.set(None);
                                                new_password.set(String::new());
                                                resetting.set(Some(id.clone()));
                                            }
                                        })}
                                    >
                                        "Reset password"
                                    </button>
                                </td>
                            </tr>
                        }))
                        .collect()
                })}
            </tbody>
        </table>
        {move || {
            resetting
                .get()
                .map(|id| {
                    let who = accounts
                        .with_untracked(|l| {
                            l.iter().find(|a| a.id == id).map(|a| a.username.clone())
                        })
                        .unwrap_or_default();
                    view! {
                        <form class="card stack reset-password" on:submit={handle(ev::submit, reset)}>
                            <PasswordField
                                label=format!("New password for {who} (at least 10 characters)")
                                name="password"
                                value=new_password
                                new=true
                            />
                            <div class="actions">
                                <button type="submit" class="primary">"Set password"</button>
                                <button type="button" class="link" on:click={handle(ev::click, move |_| resetting.set(None))}>
                                    "Cancel"
                                </button>
                            </div>
                        </form>
                    }
                })
        }}
        {status_line("notice", notice)}
        {status_line("error", error)}
        <h2>"Add someone"</h2>
        <form class="stack new-account" on:submit={handle(ev::submit, create)}>
            <label>
                "Username"
                <input
                    type="text"
                    name="username"
                    required
                    autocomplete="off"
                    prop:value=move || username.get()
                    on:input={handle(ev::input, move |ev| username.set(event_target_value(&ev)))}
                />
            </label>
            <label>
                "Shown to visitors as"
                <input
                    type="text"
                    name="display_name"
                    prop:value=move || display_name.get()
                    on:input={handle(ev::input, move |ev| display_name.set(event_target_value(&ev)))}
                />
            </label>
            <PasswordField
                label="Password (at least 10 characters)"
                name="password"
                value=password
                new=true
            />
            <label>
                "Role"
                <select
                    name="role"
                    on:change={handle(ev::change, move |ev| {
                        let admin = event_target_value(&ev) == Role::Admin.as_str();
                        role.set(if admin { Role::Admin } else { Role::Agent });
                    })}
                >
                    <option value=Role::Agent.as_str() selected=move || role.get() == Role::Agent>
                        "Agent"
                    </option>
                    <option value=Role::Admin.as_str() selected=move || role.get() == Role::Admin>
                        "Admin"
                    </option>
                </select>
            </label>
            <button type="submit" class="primary" disabled=move || creating.get()>
                "Create account"
            </button>
        </form>
    }
}
