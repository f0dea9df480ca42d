//! `/dashboard`: every conversation, newest activity first, kept current by
//! the live socket.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::{ErrorBox, Frame, LiveBadge};
use crate::api::list_sessions;
use crate::live::use_live;
use crate::protocol::{AgentServerFrame, Party};
use crate::types::{preview, short_time, InboxParams, SessionPage, SessionStatus, SessionView};

#[component]
pub fn SessionsPage() -> impl IntoView {
    let sessions = Resource::new(|| (), |_| list_sessions(InboxParams::default()));
    view! {
        <Frame>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match sessions.await {
                        Ok(list) => view! { <SessionList initial=list /> }.into_any(),
                        Err(error) => view! { <ErrorBox error /> }.into_any(),
                    }
                })}
            </Suspense>
        </Frame>
    }
}

/// Applies one live event to the list, newest activity first.
fn apply(list: &mut Vec<SessionView>, event: AgentServerFrame) {
    match event {
        AgentServerFrame::Session { session } => match list.iter_mut().find(|s| s.id == session.id)
        {
            Some(existing) if existing.last_seq <= session.last_seq => *existing = session,
            Some(_) => {}
            None => list.push(session),
        },
        AgentServerFrame::Message {
            session_id,
            message,
            ..
        } => {
            if let Some(s) = list.iter_mut().find(|s| s.id == session_id) {
                if message.seq > s.last_seq {
                    s.last_seq = message.seq;
                    s.last_message = Some(message.content);
                    s.last_message_at = Some(message.created_at.clone());
                    s.updated_at = message.created_at;
                }
            }
        }
        AgentServerFrame::Read {
            session_id,
            by,
            seq,
        } => {
            if let Some(s) = list.iter_mut().find(|s| s.id == session_id) {
                let read = match by {
                    Party::Customer => &mut s.customer_read_seq,
                    Party::Agent => &mut s.agent_read_seq,
                };
                *read = (*read).max(seq);
            }
        }
        AgentServerFrame::Typing { .. }
        | AgentServerFrame::Note { .. }
        | AgentServerFrame::Resync
        | AgentServerFrame::Error { .. }
        | AgentServerFrame::Pong => {}
    }
    list.sort_by(|a, b| b.updated_at.cmp(&a.updated_at));
}

#[component]
fn SessionList(initial: SessionPage) -> impl IntoView {
    let sessions = RwSignal::new(initial.sessions);
    let next_cursor = RwSignal::new(initial.next_cursor);
    let live = use_live(
        move |event| sessions.update(|list| apply(list, event)),
        move || {
            spawn_local(async move {
                if let Ok(page) = list_sessions(InboxParams::default()).await {
                    sessions.set(page.sessions);
                    next_cursor.set(page.next_cursor);
                }
            })
        },
    );
    let load_more = move |_| {
        let Some(cursor) = next_cursor.get_untracked() else {
            return;
        };
        spawn_local(async move {
            let filter = InboxParams {
                cursor: Some(cursor),
                ..InboxParams::default()
            };
            if let Ok(page) = list_sessions(filter).await {
                sessions.update(|list| {
                    for s in page.sessions {
                        if !list.iter().any(|have| have.id == s.id) {
                            list.push(s);
                        }
                    }
                });
                next_cursor.set(page.next_cursor);
            }
        });
    };
    let open_count =
        move || sessions.with(|l| l.iter().filter(|s| s.status == SessionStatus::Open).count());
    view! {
        <div class="page-head">
            <h1>"Conversations"</h1>
            <span class="muted">{move || format!("{} open", open_count())}</span>
            <LiveBadge state=live />
        </div>
        <Show
            when=move || sessions.with(|l| !l.is_empty())
            fallback=|| view! { <p class="empty">"No conversations yet. They appear here the moment a visitor writes."</p> }
        >
            <ul class="session-list">
                <For
                    each=move || sessions.get()
                    key=|s| (s.id.clone(), s.last_seq, s.status, s.name.clone())
                    let:session
                >
                    <SessionRow session />
                </For>
            </ul>
        </Show>
        <Show when=move || next_cursor.with(Option::is_some)>
            <button class="load-more" on:click=load_more>
                "Load older conversations"
            </button>
        </Show>
    }
}

#[component]
fn SessionRow(session: SessionView) -> impl IntoView {
    let href = format!("/dashboard/conversations/{}", session.id);
    let who = session
        .name
        .clone()
        .filter(|n| !n.is_empty())
        .or(session.email.clone())
        .unwrap_or_else(|| format!("Visitor {}", preview(session.customer_id.as_str(), 8)));
    let last = session
        .last_message
        .as_deref()
        .map(|m| preview(m, 120))
        .unwrap_or_default();
    view! {
        <li class="session-row" data-session-id=session.id.to_string() data-status=session.status.as_str()>
            <a href=href>
                <span class="who">{who}</span>
                <span class="status">{session.status.as_str()}</span>
                <time>{short_time(&session.updated_at)}</time>
                <span class="last">{last}</span>
            </a>
        </li>
    }
}
