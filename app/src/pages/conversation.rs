//! `/dashboard/conversations/{id}`: one conversation, live, with a reply box.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_params_map;

use super::{ErrorBox, Frame, LiveBadge};
use crate::api::{earlier_messages, get_conversation, send_reply, set_session_status};
use crate::live::{new_client_id, use_live};
use crate::protocol::AgentServerFrame;
use crate::types::{short_time, ConversationView, MessageView, SessionId, SessionStatus};

#[component]
pub fn ConversationPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || SessionId::from(params.read().get("id").unwrap_or_default());
    let conversation = Resource::new(id, get_conversation);
    view! {
        <Frame>
            <p>
                <a href="/dashboard">"← All conversations"</a>
            </p>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match conversation.await {
                        Ok(initial) => view! { <Conversation initial /> }.into_any(),
                        Err(error) => view! { <ErrorBox error /> }.into_any(),
                    }
                })}
            </Suspense>
        </Frame>
    }
}

/// Adds messages not yet shown, keeping seq order; a seq is shown once.
fn merge(list: &mut Vec<MessageView>, incoming: impl IntoIterator<Item = MessageView>) {
    for message in incoming {
        if let Err(pos) = list.binary_search_by_key(&message.seq, |m| m.seq) {
            list.insert(pos, message);
        }
    }
}

#[component]
fn Conversation(initial: ConversationView) -> impl IntoView {
    let session_id = initial.session.id.clone();
    let session = RwSignal::new(initial.session);
    let messages = RwSignal::new(initial.messages);
    let has_earlier = RwSignal::new(initial.has_more);
    // The client_id of the draft being sent: a resend after a failure
    // reuses it, so the reply is stored once.
    let pending = RwSignal::new(None::<(String, String)>);
    let draft = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let sending = RwSignal::new(false);

    let live = use_live(
        {
            let session_id = session_id.clone();
            move |event| match event {
                AgentServerFrame::Message {
                    session_id: sid,
                    message,
                    ..
                } if sid == session_id => messages.update(|l| merge(l, [message])),
                AgentServerFrame::Session { session: s } if s.id == session_id => session.set(s),
                _ => {}
            }
        },
        {
            let session_id = session_id.clone();
            move || {
                let session_id = session_id.clone();
                spawn_local(async move {
                    if let Ok(fresh) = get_conversation(session_id).await {
                        session.set(fresh.session);
                        messages.update(|l| merge(l, fresh.messages));
                    }
                })
            }
        },
    );

    let send = {
        let session_id = session_id.clone();
        move || {
            let content = draft.get_untracked();
            if content.trim().is_empty() || sending.get_untracked() {
                return;
            }
            sending.set(true);
            let session_id = session_id.clone();
            let client_id = match pending.get_untracked() {
                Some((text, id)) if text == content => id,
                _ => new_client_id(),
            };
            pending.set(Some((content.clone(), client_id.clone())));
            spawn_local(async move {
                match send_reply(session_id, content, client_id).await {
                    Ok(message) => {
                        messages.update(|l| merge(l, [message]));
                        draft.set(String::new());
                        pending.set(None);
                        error.set(None);
                    }
                    Err(e) => error.set(Some(e.message)),
                }
                sending.set(false);
            });
        }
    };
    let on_submit = {
        let send = send.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            send();
        }
    };
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Enter" && !ev.shift_key() {
            ev.prevent_default();
            send();
        }
    };
    let toggle_status = {
        let session_id = session_id.clone();
        move |_| {
            let next = match session.get_untracked().status {
                SessionStatus::Open => SessionStatus::Closed,
                SessionStatus::Closed => SessionStatus::Open,
            };
            let session_id = session_id.clone();
            spawn_local(async move {
                match set_session_status(session_id, next).await {
                    Ok(s) => session.set(s),
                    Err(e) => error.set(Some(e.message)),
                }
            });
        }
    };

    let load_earlier = {
        let session_id = session_id.clone();
        move |_| {
            let before = messages.with_untracked(|l| l.first().map(|m| m.seq).unwrap_or(0));
            if before <= 1 {
                has_earlier.set(false);
                return;
            }
            let session_id = session_id.clone();
            spawn_local(async move {
                match earlier_messages(session_id, before).await {
                    Ok(page) => {
                        messages.update(|l| merge(l, page.messages));
                        has_earlier.set(page.has_more);
                    }
                    Err(e) => error.set(Some(e.message)),
                }
            });
        }
    };
    let title = move || {
        session.with(|s| {
            s.name.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| {
                format!(
                    "Visitor {}",
                    crate::types::preview(s.customer_id.as_str(), 8)
                )
            })
        })
    };
    view! {
        <div class="page-head">
            <h1 class="conversation-title">{title}</h1>
            <span class="status" data-status=move || session.with(|s| s.status.as_str())>
                {move || session.with(|s| s.status.as_str())}
            </span>
            <LiveBadge state=live />
            <button type="button" class="secondary" on:click=toggle_status>
                {move || match session.with(|s| s.status) {
                    SessionStatus::Open => "Close conversation",
                    SessionStatus::Closed => "Reopen",
                }}
            </button>
        </div>
        <p class="muted">
            {move || session.with(|s| s.email.clone().unwrap_or_default())}
        </p>
        <Show when=move || has_earlier.get()>
            <button type="button" class="secondary load-earlier" on:click=load_earlier.clone()>
                "Load earlier messages"
            </button>
        </Show>
        <ol class="messages" role="log" aria-live="polite">
            <For each=move || messages.get() key=|m| m.seq let:message>
                <li
                    class="msg"
                    data-sender=message.sender.as_str()
                    data-seq=message.seq
                >
                    <span class="who">
                        {match message.sender {
                            crate::types::Sender::Customer => "Visitor".to_string(),
                            crate::types::Sender::Bot => "Bot".to_string(),
                            crate::types::Sender::Agent => {
                                message.agent_name.clone().unwrap_or_else(|| "Agent".into())
                            }
                        }}
                    </span>
                    <time>{short_time(&message.created_at)}</time>
                    <div class="text">{message.content.clone()}</div>
                </li>
            </For>
        </ol>
        <form class="reply" on:submit=on_submit>
            <textarea
                name="content"
                placeholder="Write a reply… (Enter sends, Shift+Enter for a new line)"
                prop:value=move || draft.get()
                on:input=move |ev| draft.set(event_target_value(&ev))
                on:keydown=on_keydown
            ></textarea>
            <button type="submit" class="primary" disabled=move || sending.get()>
                "Send"
            </button>
        </form>
        {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Sender;

    fn msg(seq: i64) -> MessageView {
        MessageView {
            id: format!("m{seq}").into(),
            seq,
            sender: Sender::Customer,
            content: "x".into(),
            created_at: "t".into(),
            client_id: None,
            agent_name: None,
        }
    }

    #[test]
    fn merge_keeps_order_and_drops_duplicates() {
        let mut list = vec![msg(1), msg(3)];
        merge(&mut list, [msg(2), msg(3), msg(4), msg(1)]);
        let seqs: Vec<i64> = list.iter().map(|m| m.seq).collect();
        assert_eq!(seqs, vec![1, 2, 3, 4]);
    }
}
