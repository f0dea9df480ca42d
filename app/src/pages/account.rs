//! `/dashboard/account`: the signed-in agent's own account. The name
//! visitors see, a new password (proving the current one; the other
//! sessions end, this one stays), and "sign out everywhere" (every
//! session, this one too; live sockets close within 5 s).
//!
//! Stable selectors: `form.display-name`, `form.change-password`,
//! `button.sign-out-everywhere`.

use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::{error_box, status_line, PasswordField};
use crate::api::{change_password, current_agent, set_display_name, sign_out_everywhere};
use crate::pages::events::handle;
use crate::types::AgentView;

#[component]
pub fn AccountPage() -> impl IntoView {
    let me = crate::json::resource(|| (), |_| current_agent());
    view! {
            <div class="page-head">
                <h1>"My account"</h1>
            </div>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match me.await {
                        Ok(Some(agent)) => view! { <Account agent /> }.into_any(),
                        Ok(None) => {
                            error_box(crate::types::ApiError::unauthorized())
                                .into_any()
                        }
                        Err(error) => error_box(error).into_any(),
                    }
                })}
            </Suspense>
    }
}

#[component]
fn Account(agent: AgentView) -> impl IntoView {
    let name = RwSignal::new(agent.display_name.clone());
    let notice = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<String>);
    let current = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());

    let save_name = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let value = name.get_untracked();
        spawn_local(async move {
            match set_display_name(value).await {
                Ok(account) => {
                    name.set(account.display_name);
                    error.set(None);
                    notice.set(Some(
                        "Saved: visitors see this name beside your replies.".into(),
                    ));
                }
                Err(e) => error.set(Some(e.message)),
            }
        });
    };
    let save_password = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (c, p, k) = (
            current.get_untracked(),
            password.get_untracked(),
            confirm.get_untracked(),
        );
        spawn_local(async move {
            match change_password(c, p, k).await {
                Ok(()) => {
                    for field in [current, password, confirm] {
                        field.set(String::new());
                    }
                    error.set(None);
                    notice.set(Some(
                        "Password changed. Your other sessions have ended; this one stays.".into(),
                    ));
                }
                Err(e) => error.set(Some(e.message)),
            }
        });
    };
    let everywhere = move |_| {
        spawn_local(async move {
            match sign_out_everywhere().await {
                Ok(()) =>
                {
                    #[cfg(feature = "hydrate")]
                    if let Some(w) = web_sys::window() {
                        let _ = w.location().set_href("/dashboard/login");
                    }
                }
                Err(e) => error.set(Some(e.message)),
            }
        });
    };
    let input =
        |signal: RwSignal<String>| move |ev: leptos::ev::Event| signal.set(event_target_value(&ev));

    view! {
        <p class="muted">
            "Signed in as " <strong>{agent.username.clone()}</strong> " (" {agent.role.as_str()} ")."
        </p>
        {status_line("notice", notice)}
        {status_line("error", error)}
        <form class="card stack display-name" on:submit={handle(ev::submit, save_name)}>
            <h2>"Your name"</h2>
            <label>
                "Shown to visitors beside your replies (empty: “Support”)"
                <input
                    type="text"
                    name="display_name"
                    maxlength="100"
                    prop:value=move || name.get()
                    on:input={handle(ev::input, input(name))}
                />
            </label>
            <div>
                <button type="submit" class="primary">"Save name"</button>
            </div>
        </form>
        <form class="card stack change-password" on:submit={handle(ev::submit, save_password)}>
            <h2>"Password"</h2>
            <PasswordField label="Current password" name="current" value=current />
            <PasswordField
                label="New password (at least 10 characters)"
                name="password"
                value=password
                new=true
            />
            <PasswordField label="New password again" name="password_confirm" value=confirm new=true />
            <div>
                <button type="submit" class="primary">"Change password"</button>
            </div>
        </form>
        <div class="card stack">
            <h2>"Sessions"</h2>
            <p class="muted">
                "Signed in on a shared or lost device? End every session of yours, this one too. API tokens stay."
            </p>
            <div>
                <button type="button" class="danger sign-out-everywhere" on:click={handle(ev::click, everywhere)}>
                    "Sign out everywhere"
                </button>
            </div>
        </div>
    }
}
