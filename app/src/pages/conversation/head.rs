//! The head of a conversation: who the visitor is, its status with
//! close/reopen (and `e`), delete (admins), who else has it open or is
//! typing in it, and who it is assigned to.

use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::super::keys::{self, shortcut_help, Shortcut};
use super::super::live_badge;
use super::{Shared, Typing};
use crate::api::{assign_session, delete_session, set_session_status};
use crate::live::{LiveSender, LiveState};
use crate::pages::events::handle;
use crate::protocol::AgentClientFrame;
use crate::types::{AgentAccount, AgentId, AgentView, Role, SessionStatus};

/// The conversation's title: the visitor's name, or "Visitor" and the
/// start of their id.
fn title(shared: Shared) -> String {
    shared.session.with(|s| {
        s.name.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| {
            format!(
                "Visitor {}",
                crate::types::preview(s.customer_id.as_str(), 8)
            )
        })
    })
}

/// Sets the conversation's status (open or closed). An earlier error
/// (a reply that did not go) stays on screen.
fn set_status(shared: Shared, status: SessionStatus) {
    let id = shared.id();
    spawn_local(async move {
        match set_session_status(id, status).await {
            Ok(s) => shared.session.set(s),
            Err(e) => shared.error.set(Some(e.message)),
        }
    });
}

/// Assigns the conversation to an agent, or to nobody.
fn assign(shared: Shared, to: Option<AgentId>) {
    let id = shared.id();
    spawn_local(async move { shared.changed(assign_session(id, to).await) });
}

/// Deletes the conversation for good, once the agent confirmed it, and
/// goes back to the inbox.
fn delete(shared: Shared, navigate: impl Fn(&str, leptos_router::NavigateOptions) + 'static) {
    #[cfg(feature = "hydrate")]
    {
        let sure = web_sys::window()
            .and_then(|w| {
                w.confirm_with_message(
                    "Delete this conversation with its messages, notes and files? This cannot be undone.",
                )
                .ok()
            })
            .unwrap_or(false);
        if !sure {
            return;
        }
    }
    let id = shared.id();
    spawn_local(async move {
        match delete_session(id).await {
            Ok(()) => {
                shared.deleted.set(true);
                navigate("/dashboard/conversations", Default::default());
            }
            Err(e) => shared.error.set(Some(e.message)),
        }
    });
}

/// While the socket is up, tells the other agents this page shows the
/// conversation.
fn announce_viewing(shared: Shared, live: RwSignal<LiveState>, sender: LiveSender) {
    Effect::new(move |_| {
        if live.get() == LiveState::Live {
            sender.send(&AgentClientFrame::Viewing {
                session_id: Some(shared.id()),
            });
        }
    });
}

/// "Also viewing: …" (the other agents with this conversation open), or
/// nothing.
fn viewers(shared: Shared, me: AgentId) -> Memo<String> {
    let attention = use_context::<crate::attention::Attention>();
    Memo::new(move |_| {
        let names = attention
            .map(|a| {
                a.board.with(|b| {
                    shared
                        .id
                        .with_value(|id| crate::attention::viewers(b, id, Some(&me)))
                })
            })
            .unwrap_or_default();
        if names.is_empty() {
            String::new()
        } else {
            format!("Also viewing: {}", names.join(", "))
        }
    })
}

pub(super) fn head(
    shared: Shared,
    me: &AgentView,
    live: RwSignal<LiveState>,
    sender: LiveSender,
    agent_typing: Typing,
    team: Vec<AgentAccount>,
) -> impl IntoView {
    let session = shared.session;
    announce_viewing(shared, live, sender);
    let viewing = viewers(shared, me.id.clone());
    let is_admin = me.role == Role::Admin;
    let status = move || session.with(|s| s.status);
    let toggle_status = move |_| {
        set_status(
            shared,
            match session.with_untracked(|s| s.status) {
                SessionStatus::Open => SessionStatus::Closed,
                SessionStatus::Closed => SessionStatus::Open,
            },
        )
    };
    // Keyboard: e closes, ? lists the shortcuts.
    let help = RwSignal::new(false);
    keys::on_shortcut(move |key| match key {
        Shortcut::Close if session.with_untracked(|s| s.status) == SessionStatus::Open => {
            set_status(shared, SessionStatus::Closed)
        }
        Shortcut::Help => help.update(|open| *open = !*open),
        Shortcut::Dismiss => help.set(false),
        _ => {}
    });
    let remove = {
        let navigate = leptos_router::hooks::use_navigate();
        move |_| delete(shared, navigate.clone())
    };
    let assignee = move || session.with(|s| s.assignee_id.clone());
    let me_id = StoredValue::new(me.id.clone());
    view! {
        <div class="page-head">
            <h1 class="conversation-title">{move || title(shared)}</h1>
            <span class="status" data-status=move || status().as_str()>
                {move || status().as_str()}
            </span>
            {live_badge(live)}
            <button type="button" class="secondary" on:click={handle(ev::click, toggle_status)}>
                {move || match status() {
                    SessionStatus::Open => "Close conversation",
                    SessionStatus::Closed => "Reopen",
                }}
            </button>
            {is_admin
                .then(|| {
                    view! {
                        <button type="button" class="danger delete-conversation" on:click={handle(ev::click, remove)}>
                            "Delete"
                        </button>
                    }
                })}
        </div>
        <p class="deleted-notice" role="alert" hidden=move || !shared.deleted.get()>
            "This conversation was deleted, with its messages, notes and files. "
            <a href="/dashboard/conversations">"Back to the inbox"</a>
        </p>
        <p class="muted">
            {move || session.with(|s| s.email.clone().unwrap_or_default())}
        </p>
        {shortcut_help(help)}
        <p class="collision" aria-live="polite">
            <span class="viewers" hidden=move || viewing.with(String::is_empty)>{viewing}</span>
            <span class="agent-typing" hidden=move || agent_typing.hidden()>
                {move || agent_typing.who.get().map(|name| format!("{name} is typing…"))}
            </span>
        </p>
        <div class="assignment">
            <span>
                "Assigned to: "
                <strong class="assignee-name">
                    {move || {
                        session.with(|s| s.assignee_name.clone().unwrap_or_else(|| "nobody".into()))
                    }}
                </strong>
            </span>
            <button
                type="button"
                class="secondary assign-me"
                hidden=move || me_id.with_value(|me| assignee().as_ref() == Some(me))
                on:click={handle(ev::click, move |_| assign(shared, Some(me_id.get_value())))}
            >
                "Assign to me"
            </button>
            <button
                type="button"
                class="secondary unassign"
                hidden=move || assignee().is_none()
                on:click={handle(ev::click, move |_| assign(shared, None))}
            >
                "Unassign"
            </button>
            <label>
                "Assign to "
                <select
                    name="assignee"
                    on:change={handle(ev::change, move |ev| {
                        let value = event_target_value(&ev);
                        assign(shared, (!value.is_empty()).then(|| AgentId::from(value)))
                    })}
                >
                    <option value="" selected=move || assignee().is_none()>
                        "Nobody"
                    </option>
                    {team
                        .into_iter()
                        .map(|a| {
                            let id = a.id.clone();
                            let name = crate::types::staff_name(&a.display_name, &a.username);
                            view! {
                                <option
                                    value=a.id.to_string()
                                    selected=move || assignee().as_ref() == Some(&id)
                                >
                                    {name}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </label>
        </div>
    }
}
