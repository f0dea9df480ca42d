//! `/dashboard/conversations/{id}`: one conversation, live, with a reply box.
//!
//! Stable selectors (the browser tests use them):
//! - `.typing-indicator`: "Visitor is typing…", present while a customer
//!   `typing` frame with `active: true` arrived in the last 6 s (until a
//!   stop, or the visitor's next message);
//! - `.seen-marker`: "Seen", under the last agent message whose seq is at
//!   most the visitor's read seq (`customer_read_seq`);
//! - `.msg[data-sender][data-seq]`: each message; the latest 50 come
//!   first, and earlier ones load (`.load-earlier` while there are more)
//!   when the agent scrolls up to the top of the page, keeping the
//!   message they were at in its place on screen.
//!
//! While the agent types, `{"type":"typing","session_id","active":true}`
//! goes out at most every 2 s, and `active: false` after 5 s idle or on
//! send. While the page is visible, the newest shown message is reported
//! read (`{"type":"read","session_id","seq"}`).
//!
//! Private notes sit in the thread among the messages, by time
//! (`.note[data-note-id]`), and are written in `form.note-form`; they
//! reach agents only. `.assignment` shows who works on the conversation
//! (`.assignee-name`) with "Assign to me", "Unassign" and a choice of
//! agent (`select[name=assignee]`).
//!
//! Admins see `button.delete-conversation`, which deletes the conversation
//! for good (after a confirmation) and returns to the inbox. When anyone
//! deletes it, every page showing it says so (`.deleted-notice`) and
//! stops sending.

use futures_util::future::join4;
use leptos::either::Either;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_params_map;

use super::customer_panel::CustomerPanel;
use super::keys::{self, shortcut_help, Shortcut};
use super::{error_box, live_badge, status_line};
use crate::api::{
    add_note, assign_session, canned_responses, current_agent, delete_session, earlier_messages,
    get_conversation, send_reply, set_session_status, team,
};
use crate::live::{new_client_id, now_ms, page_visible, use_live_socket, LiveState};
use crate::protocol::{AgentClientFrame, AgentServerFrame, Party};
use crate::types::{
    canned_matches, short_time, AgentAccount, AgentId, AgentView, AttachmentView, CannedResponse,
    ConversationView, MessageView, NoteView, Role, Sender, SessionId, SessionStatus, SessionView,
};
use crate::upload::{self, human_size, Upload, UploadState};

/// One entry of the thread: a message, or a private note.
#[derive(Clone, Debug, PartialEq)]
enum Entry {
    Message(MessageView),
    Note(NoteView),
}

impl Entry {
    fn key(&self) -> String {
        match self {
            Entry::Message(m) => format!("m{}", m.seq),
            Entry::Note(n) => format!("n{}", n.id),
        }
    }
}

/// Messages (in seq order) and notes, interleaved by time; a note goes
/// after the messages of its instant.
fn thread(messages: &[MessageView], notes: &[NoteView]) -> Vec<Entry> {
    let mut notes: Vec<&NoteView> = notes.iter().collect();
    crate::sort::sort_by(&mut notes, |a, b| {
        (&a.created_at, &a.id).cmp(&(&b.created_at, &b.id))
    });
    let mut out = Vec::with_capacity(messages.len() + notes.len());
    let mut pending = notes.into_iter().peekable();
    for m in messages {
        while let Some(n) = pending.next_if(|n| n.created_at < m.created_at) {
            out.push(Entry::Note(n.clone()));
        }
        out.push(Entry::Message(m.clone()));
    }
    out.extend(pending.map(|n| Entry::Note(n.clone())));
    out
}

/// How long "Visitor is typing…" shows after the last typing frame.
const VISITOR_TYPING_FOR: std::time::Duration = std::time::Duration::from_secs(6);
/// The shortest time between two `active: true` typing frames we send.
const TYPING_EVERY_MS: f64 = 2000.0;
/// After this long without input, we send `active: false`.
const TYPING_IDLE: std::time::Duration = std::time::Duration::from_secs(5);

/// Raises one side's read seq (never lowers it).
fn apply_read(session: &mut SessionView, by: Party, seq: i64) {
    let read = match by {
        Party::Customer => &mut session.customer_read_seq,
        Party::Agent => &mut session.agent_read_seq,
    };
    *read = (*read).max(seq);
}

/// The seq of the last agent message the visitor has read: where "Seen"
/// goes.
fn seen_seq(messages: &[MessageView], customer_read_seq: i64) -> Option<i64> {
    messages
        .iter()
        .rev()
        .find(|m| m.sender == Sender::Agent && m.seq <= customer_read_seq)
        .map(|m| m.seq)
}

#[component]
pub fn ConversationPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || SessionId::from(params.read().get("id").unwrap_or_default());
    // One resource for the page's four reads, fetched together.
    let page = crate::json::resource(id, |id| {
        join4(
            get_conversation(id),
            current_agent(),
            team(),
            canned_responses(),
        )
    });
    view! {
            <p>
                <a href=super::sessions::INBOX>"← All conversations"</a>
            </p>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let (conversation, me, team, canned) = page.await;
                    let me = me.ok().flatten();
                    let team = team.unwrap_or_default();
                    let canned = canned.unwrap_or_default();
                    let ready = conversation.and_then(|initial| {
                        me.map(|me| (initial, me))
                            .ok_or_else(crate::types::ApiError::unauthorized)
                    });
                    match ready {
                        Ok((initial, me)) => {
                            Either::Left(view! { <Conversation initial me team canned /> })
                        }
                        Err(error) => Either::Right(error_box(error)),
                    }
                })}
            </Suspense>
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

// The file handlers exist in the browser only: on the server `on_pick` is
// `Copy`, in the browser it is not, and the view clones it for both.
#[cfg_attr(feature = "ssr", allow(clippy::clone_on_copy))]
#[component]
fn Conversation(
    initial: ConversationView,
    me: AgentView,
    team: Vec<AgentAccount>,
    canned: Vec<CannedResponse>,
) -> impl IntoView {
    let session_id = initial.session.id.clone();
    let session = RwSignal::new(initial.session);
    let messages = RwSignal::new(initial.messages);
    let notes = RwSignal::new(initial.notes);
    let add_notes = move |incoming: Vec<NoteView>| {
        notes.update(|list| {
            for n in incoming {
                if !list.iter().any(|have| have.id == n.id) {
                    list.push(n);
                }
            }
        })
    };
    let has_earlier = RwSignal::new(initial.has_more);
    // Files: what may be attached here, and the uploads on screen.
    let limits = StoredValue::new(initial.attachments.filter(|l| l.enabled));
    let uploads = RwSignal::new(Vec::<Upload>::new());
    let dragging = RwSignal::new(false);
    let (visitor, earlier_conversations) = (RwSignal::new(initial.visitor), initial.earlier);
    // The client_id of the draft being sent: a resend after a failure
    // reuses it, so the reply is stored once.
    let pending = RwSignal::new(None::<(String, String)>);
    let draft = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let sending = RwSignal::new(false);
    // Deleted (by an admin, here or elsewhere): nothing more can be sent.
    let deleted = RwSignal::new(false);
    let is_admin = me.role == Role::Admin;

    let sid = StoredValue::new(session_id.clone());
    // Collision: another agent typing here ("Bob is typing…", 6 s after
    // their last typing frame), and who else has this conversation open.
    let me_id_for_typing = me.id.clone();
    let agent_typing = RwSignal::new(None::<String>);
    let agent_typing_window = StoredValue::new(0u64);
    let show_agent_typing = move |name: String, active: bool| {
        agent_typing_window.update_value(|w| *w += 1);
        agent_typing.set(active.then_some(name));
        if active {
            let window = agent_typing_window.get_value();
            set_timeout(
                move || {
                    if agent_typing_window.try_get_value() == Some(window) {
                        agent_typing.try_set(None);
                    }
                },
                VISITOR_TYPING_FOR,
            );
        }
    };
    let attention = use_context::<crate::attention::Attention>();
    // "Also viewing: …", or nothing.
    let viewing = {
        let session_id = session_id.clone();
        let me_id = me.id.clone();
        Memo::new(move |_| {
            let names = attention
                .map(|a| {
                    a.board
                        .with(|b| crate::attention::viewers(b, &session_id, Some(&me_id)))
                })
                .unwrap_or_default();
            if names.is_empty() {
                String::new()
            } else {
                format!("Also viewing: {}", names.join(", "))
            }
        })
    };
    // "Visitor is typing…": each active frame starts a new 6 s window.
    let visitor_typing = RwSignal::new(false);
    let typing_window = StoredValue::new(0u64);
    let show_visitor_typing = move |active: bool| {
        typing_window.update_value(|w| *w += 1);
        visitor_typing.set(active);
        if active {
            let window = typing_window.get_value();
            set_timeout(
                move || {
                    if typing_window.try_get_value() == Some(window) {
                        visitor_typing.try_set(false);
                    }
                },
                VISITOR_TYPING_FOR,
            );
        }
    };

    let (live, sender) = use_live_socket(
        {
            let session_id = session_id.clone();
            move |event| match event {
                AgentServerFrame::Message {
                    session_id: sid,
                    message,
                    ..
                } if sid == session_id => {
                    if message.sender == Sender::Customer {
                        show_visitor_typing(false);
                    }
                    messages.update(|l| merge(l, [message]))
                }
                AgentServerFrame::Session { session: s } if s.id == session_id => session.set(s),
                AgentServerFrame::Note { note } if note.session_id == session_id => {
                    add_notes(vec![note])
                }
                AgentServerFrame::Typing {
                    session_id: sid,
                    by: Party::Customer,
                    active,
                    ..
                } if sid == session_id => show_visitor_typing(active),
                AgentServerFrame::Typing {
                    session_id: sid,
                    by: Party::Agent,
                    active,
                    agent_id: Some(agent),
                    name,
                } if sid == session_id && agent != me_id_for_typing => {
                    show_agent_typing(name.unwrap_or_default(), active)
                }
                AgentServerFrame::Read {
                    session_id: sid,
                    by,
                    seq,
                } if sid == session_id => session.update(|s| apply_read(s, by, seq)),
                AgentServerFrame::Visitor {
                    session_id: sid,
                    visitor: v,
                } if sid == session_id => visitor.set(Some(v)),
                AgentServerFrame::Deleted { session_id: sid } if sid == session_id => {
                    deleted.set(true)
                }
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
                        visitor.set(fresh.visitor);
                        messages.update(|l| merge(l, fresh.messages));
                        add_notes(fresh.notes);
                    }
                })
            }
        },
    );

    // Our typing: `active: true` at most every 2 s while input comes, and
    // `active: false` after 5 s idle or on send.
    let typing_sent_at = StoredValue::new(None::<f64>);
    let input_count = StoredValue::new(0u64);
    let stop_typing = move || {
        if typing_sent_at.try_get_value().flatten().is_some() {
            typing_sent_at.set_value(None);
            sender.send(&AgentClientFrame::Typing {
                session_id: sid.get_value(),
                active: false,
            });
        }
    };
    let on_input = move |ev: leptos::ev::Event| {
        draft.set(event_target_value(&ev));
        let now = now_ms();
        let due = typing_sent_at
            .get_value()
            .is_none_or(|at| now - at >= TYPING_EVERY_MS);
        if due
            && sender.send(&AgentClientFrame::Typing {
                session_id: sid.get_value(),
                active: true,
            })
        {
            typing_sent_at.set_value(Some(now));
        }
        input_count.update_value(|n| *n += 1);
        let count = input_count.get_value();
        set_timeout(
            move || {
                if input_count.try_get_value() == Some(count) {
                    stop_typing();
                }
            },
            TYPING_IDLE,
        );
    };

    // Read receipts: the newest shown message, while the page is visible
    // and the socket is up (again after a reconnect, or when the tab is
    // shown again).
    let read_sent = StoredValue::new(session.with_untracked(|s| s.agent_read_seq));
    let send_read = move || {
        if !page_visible() {
            return;
        }
        let newest = messages.with_untracked(|l| l.last().map_or(0, |m| m.seq));
        if newest > read_sent.get_value()
            && sender.send(&AgentClientFrame::Read {
                session_id: sid.get_value(),
                seq: newest,
            })
        {
            read_sent.set_value(newest);
        }
    };
    Effect::new(move |_| {
        messages.track();
        if live.get() == LiveState::Live {
            send_read();
        }
    });
    // This page shows this conversation: other agents see it.
    Effect::new(move |_| {
        if live.get() == LiveState::Live {
            sender.send(&AgentClientFrame::Viewing {
                session_id: Some(sid.get_value()),
            });
        }
    });
    #[cfg(feature = "hydrate")]
    {
        let shown = window_event_listener(leptos::ev::visibilitychange, move |_| send_read());
        on_cleanup(move || shown.remove());
    }
    let seen = Memo::new(move |_| {
        let read = session.with(|s| s.customer_read_seq);
        messages.with(|l| seen_seq(l, read))
    });

    let send = {
        let session_id = session_id.clone();
        move || {
            let content = draft.get_untracked();
            if content.trim().is_empty() || sending.get_untracked() {
                return;
            }
            stop_typing();
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
    // Attaching: the button's file picker, files dropped on the thread or
    // the reply box, and files pasted into the reply box.
    #[cfg(feature = "hydrate")]
    let attach = {
        let session_id = session_id.clone();
        move |files: Option<web_sys::FileList>| {
            let (Some(files), Some(limits)) = (files, limits.get_value()) else {
                return;
            };
            upload::send_files(&session_id, files, &limits, uploads, move |m| {
                messages.update(|l| merge(l, [m]))
            });
        }
    };
    let on_pick = {
        #[cfg(feature = "hydrate")]
        let attach = attach.clone();
        move |ev: leptos::ev::Event| {
            #[cfg(feature = "hydrate")]
            {
                use wasm_bindgen::JsCast;
                if let Some(input) = ev
                    .target()
                    .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
                {
                    attach(input.files());
                    input.set_value("");
                }
            }
            #[cfg(not(feature = "hydrate"))]
            let _ = ev;
        }
    };
    let on_paste = {
        #[cfg(feature = "hydrate")]
        let attach = attach.clone();
        move |ev: leptos::ev::ClipboardEvent| {
            #[cfg(feature = "hydrate")]
            {
                let files = ev.clipboard_data().and_then(|d| d.files());
                if limits.with_value(Option::is_some)
                    && files.as_ref().is_some_and(|f| f.length() > 0)
                {
                    ev.prevent_default();
                    attach(files);
                }
            }
            #[cfg(not(feature = "hydrate"))]
            let _ = ev;
        }
    };
    let has_files = move |ev: &leptos::ev::DragEvent| -> bool {
        #[cfg(feature = "hydrate")]
        {
            limits.with_value(Option::is_some)
                && ev
                    .data_transfer()
                    .is_some_and(|d| d.types().includes(&"Files".into(), 0))
        }
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = ev;
            false
        }
    };
    let on_dragover = move |ev: leptos::ev::DragEvent| {
        if has_files(&ev) {
            ev.prevent_default();
            dragging.set(true);
        }
    };
    let on_dragleave = move |ev: leptos::ev::DragEvent| {
        // Leaving for a child of the drop area is not leaving it.
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let inside = match (
                ev.current_target()
                    .and_then(|t| t.dyn_into::<web_sys::Node>().ok()),
                ev.related_target()
                    .and_then(|t| t.dyn_into::<web_sys::Node>().ok()),
            ) {
                (Some(area), Some(to)) => area.contains(Some(&to)),
                _ => false,
            };
            if !inside {
                dragging.set(false);
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };
    let on_drop = {
        #[cfg(feature = "hydrate")]
        let attach = attach.clone();
        move |ev: leptos::ev::DragEvent| {
            dragging.set(false);
            if !has_files(&ev) {
                return;
            }
            ev.prevent_default();
            #[cfg(feature = "hydrate")]
            attach(ev.data_transfer().and_then(|d| d.files()));
        }
    };

    // Canned responses: a draft that is a lone `/word` offers the
    // matches; Tab or Enter (or a click) puts the first one's text in.
    let canned = StoredValue::new(canned);
    let suggestions = Memo::new(move |_| {
        draft.with(|d| {
            canned.with_value(|all| {
                canned_matches(d, all)
                    .into_iter()
                    .take(5)
                    .cloned()
                    .collect::<Vec<CannedResponse>>()
            })
        })
    });
    // Whether these lists show (they stay in the page, hidden when empty).
    let offering = Memo::new(move |_| suggestions.with(|s| !s.is_empty()));
    let sending_files = Memo::new(move |_| uploads.with(|u| !u.is_empty()));
    let expand = move |text: String| {
        draft.set(text);
        keys::focus("form.reply textarea");
    };
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        let first = suggestions.with_untracked(|s| s.first().map(|c| c.content.clone()));
        match (ev.key().as_str(), first) {
            ("Tab", Some(text)) => {
                ev.prevent_default();
                expand(text);
            }
            ("Enter", Some(text)) if !ev.shift_key() => {
                ev.prevent_default();
                expand(text);
            }
            ("Enter", None) if !ev.shift_key() => {
                ev.prevent_default();
                send();
            }
            _ => {}
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

    // Keyboard: e closes, ? lists the shortcuts.
    let help = RwSignal::new(false);
    {
        let session_id = session_id.clone();
        keys::on_shortcut(move |key| match key {
            Shortcut::Close if session.with_untracked(|s| s.status) == SessionStatus::Open => {
                let session_id = session_id.clone();
                spawn_local(async move {
                    match set_session_status(session_id, SessionStatus::Closed).await {
                        Ok(s) => session.set(s),
                        Err(e) => error.set(Some(e.message)),
                    }
                });
            }
            Shortcut::Help => help.update(|open| *open = !*open),
            Shortcut::Dismiss => help.set(false),
            _ => {}
        });
    }

    // Earlier messages: on scrolling up to the top of the page (and with
    // the button); the message that was first stays where it was on screen.
    let loading_earlier = StoredValue::new(false);
    let fetch_earlier = move || {
        let before = messages.with_untracked(|l| l.first().map(|m| m.seq).unwrap_or(0));
        if before <= 1 {
            has_earlier.set(false);
            return;
        }
        if loading_earlier.get_value() {
            return;
        }
        loading_earlier.set_value(true);
        let anchor = screen_top(before);
        spawn_local(async move {
            match earlier_messages(sid.get_value(), before).await {
                Ok(page) => {
                    messages.update(|l| merge(l, page.messages));
                    has_earlier.set(page.has_more);
                    keep_on_screen(before, anchor);
                }
                Err(e) => error.set(Some(e.message)),
            }
            loading_earlier.set_value(false);
        });
    };
    let load_earlier = move |_| fetch_earlier();
    #[cfg(feature = "hydrate")]
    {
        let scrolled = window_event_listener(leptos::ev::scroll, move |_| {
            let near_top = web_sys::window()
                .and_then(|w| w.scroll_y().ok())
                .is_some_and(|y| y < EARLIER_WITHIN_PX);
            if near_top && has_earlier.get_untracked() {
                fetch_earlier();
            }
        });
        on_cleanup(move || scrolled.remove());
    }
    // Private notes.
    let note_draft = RwSignal::new(String::new());
    let note_sending = RwSignal::new(false);
    // As for replies: a resend of the same draft reuses its client_id.
    let note_pending = StoredValue::new(None::<(String, String)>);
    let on_note = {
        let session_id = session_id.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let content = note_draft.get_untracked();
            if content.trim().is_empty() || note_sending.get_untracked() {
                return;
            }
            note_sending.set(true);
            let session_id = session_id.clone();
            let client_id = match note_pending.get_value() {
                Some((text, id)) if text == content => id,
                _ => new_client_id(),
            };
            note_pending.set_value(Some((content.clone(), client_id.clone())));
            spawn_local(async move {
                match add_note(session_id, content, Some(client_id)).await {
                    Ok(note) => {
                        add_notes(vec![note]);
                        note_draft.set(String::new());
                        note_pending.set_value(None);
                        error.set(None);
                    }
                    Err(e) => error.set(Some(e.message)),
                }
                note_sending.set(false);
            });
        }
    };

    // Assignment.
    let me_id = me.id.clone();
    let assign = {
        let session_id = session_id.clone();
        move |to: Option<AgentId>| {
            let session_id = session_id.clone();
            spawn_local(async move {
                match assign_session(session_id, to).await {
                    Ok(s) => {
                        session.set(s);
                        error.set(None);
                    }
                    Err(e) => error.set(Some(e.message)),
                }
            });
        }
    };
    let assignee = move || session.with(|s| s.assignee_id.clone());
    let mine = {
        let me_id = me_id.clone();
        move || assignee().as_ref() == Some(&me_id)
    };
    let take = {
        let assign = assign.clone();
        let me_id = me_id.clone();
        move |_| assign(Some(me_id.clone()))
    };
    let release = {
        let assign = assign.clone();
        move |_| assign(None)
    };
    let choose = {
        let assign = assign.clone();
        move |ev: leptos::ev::Event| {
            let value = event_target_value(&ev);
            assign((!value.is_empty()).then(|| AgentId::from(value)))
        }
    };
    let remove = {
        let session_id = session_id.clone();
        let navigate = leptos_router::hooks::use_navigate();
        move |_| {
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
            let session_id = session_id.clone();
            let navigate = navigate.clone();
            spawn_local(async move {
                match delete_session(session_id).await {
                    Ok(()) => {
                        deleted.set(true);
                        navigate("/dashboard/conversations", Default::default());
                    }
                    Err(e) => error.set(Some(e.message)),
                }
            });
        }
    };
    let team = StoredValue::new(team);
    let entries = Memo::new(move |_| messages.with(|m| notes.with(|n| thread(m, n))));

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
                {live_badge(live)}
                <button type="button" class="secondary" on:click=toggle_status>
                    {move || match session.with(|s| s.status) {
                        SessionStatus::Open => "Close conversation",
                        SessionStatus::Closed => "Reopen",
                    }}
                </button>
                {is_admin
                    .then(|| {
                        view! {
                            <button type="button" class="danger delete-conversation" on:click=remove>
                                "Delete"
                            </button>
                        }
                    })}
            </div>
            <p class="deleted-notice" role="alert" hidden=move || !deleted.get()>
                "This conversation was deleted, with its messages, notes and files. "
                <a href="/dashboard/conversations">"Back to the inbox"</a>
            </p>
            <p class="muted">
                {move || session.with(|s| s.email.clone().unwrap_or_default())}
            </p>
            {shortcut_help(help)}
            <p class="collision" aria-live="polite">
                <span class="viewers" hidden=move || viewing.with(String::is_empty)>{viewing}</span>
                <span class="agent-typing" hidden=move || agent_typing.with(Option::is_none)>
                    {move || agent_typing.get().map(|name| format!("{name} is typing…"))}
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
                <button type="button" class="secondary assign-me" hidden=mine on:click=take>
                    "Assign to me"
                </button>
                <button
                    type="button"
                    class="secondary unassign"
                    hidden=move || assignee().is_none()
                    on:click=release
                >
                    "Unassign"
                </button>
                <label>
                    "Assign to "
                    <select name="assignee" on:change=choose>
                        <option value="" selected=move || assignee().is_none()>
                            "Nobody"
                        </option>
                        {team
                            .get_value()
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
            <CustomerPanel session visitor earlier=earlier_conversations />
            <button
                type="button"
                class="secondary load-earlier"
                hidden=move || !has_earlier.get()
                on:click=load_earlier
            >
                "Load earlier messages"
            </button>
            <div
                class="thread"
                class:dragging=move || dragging.get()
                on:dragenter=on_dragover
                on:dragover=on_dragover
                on:dragleave=on_dragleave
                on:drop=on_drop
            >
            <p class="drop-hint" aria-hidden="true">"Drop files to send them"</p>
            <ol class="messages" role="log" aria-live="polite">
                <For each=move || entries.get() key=Entry::key let:entry>
                    {match entry {
                        Entry::Note(note) => Either::Left(note_item(note)),
                        Entry::Message(message) => Either::Right(view! {
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
                        {message.attachment.clone().map(|a| attachment_item(*a))}
                        <div class="text">{message.content.clone()}</div>
                        {move || {
                            (seen.get() == Some(message.seq))
                                .then(|| view! { <span class="seen-marker">"Seen"</span> })
                        }}
                    </li>
                        }),
                    }}
                </For>
            </ol>
            <div class="typing-status" role="status" aria-live="polite">
                <p class="typing-indicator muted" hidden=move || !visitor_typing.get()>
                    "Visitor is typing…"
                </p>
            </div>
            <ul class="canned-suggestions" aria-label="Canned responses" hidden=move || !offering.get()>
                    <For each=move || suggestions.get() key=|c| c.id.clone() let:c>
                        <li>
                            <button
                                type="button"
                                class="canned-suggestion"
                                on:click={
                                    let text = c.content.clone();
                                    move |_| expand(text.clone())
                                }
                            >
                                <code>{format!("/{}", c.shortcut)}</code>
                                " "
                                <span class="muted">{crate::types::preview(&c.content, 80)}</span>
                            </button>
                        </li>
                    </For>
                </ul>
            <ul class="uploads" aria-label="Files being sent" hidden=move || !sending_files.get()>
                <For each=move || uploads.get() key=|u| (u.client_id.clone(), u.state.key()) let:u>
                    {upload_item(u)}
                </For>
            </ul>
            <form class="reply" on:submit=on_submit>
                <textarea
                    name="content"
                    placeholder="Write a reply… (Enter sends, Shift+Enter for a new line)"
                    prop:value=move || draft.get()
                    on:input=on_input
                    on:keydown=on_keydown
                    on:paste=on_paste
                ></textarea>
                <div class="reply-actions">
                    {limits.with_value(Option::is_some).then(|| view! {
                        <label class="attach-button secondary" title="Attach files (or drop or paste them here)">
                            "Attach"
                            <input type="file" class="attach-input" multiple on:change=on_pick.clone() />
                        </label>
                    })}
                    <button
                        type="submit"
                        class="primary"
                        disabled=move || sending.get() || deleted.get()
                    >
                        "Send"
                    </button>
                </div>
            </form>
            </div>
            <form class="note-form" on:submit=on_note>
                <textarea
                    name="note"
                    placeholder="A private note for the team (the visitor never sees it)"
                    prop:value=move || note_draft.get()
                    on:input=move |ev| note_draft.set(event_target_value(&ev))
                ></textarea>
                <button type="submit" class="secondary" disabled=move || note_sending.get()>
                    "Add note"
                </button>
            </form>
    {status_line("error", error)}
        }
}

/// How near the top of the page scrolling up loads earlier messages.
#[cfg(feature = "hydrate")]
const EARLIER_WITHIN_PX: f64 = 240.0;

/// Where message `seq` is on screen (its top, in CSS pixels).
fn screen_top(seq: i64) -> Option<f64> {
    #[cfg(feature = "hydrate")]
    {
        let selector = format!("li.msg[data-seq=\"{seq}\"]");
        let el = document().query_selector(&selector).ok()??;
        Some(el.get_bounding_client_rect().top())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = seq;
        None
    }
}

/// After earlier messages went in above it, scrolls so that message
/// `seq` is back at `was` on screen (once they are drawn).
fn keep_on_screen(seq: i64, was: Option<f64>) {
    #[cfg(feature = "hydrate")]
    if let Some(was) = was {
        request_animation_frame(move || {
            if let (Some(now), Some(w)) = (screen_top(seq), web_sys::window()) {
                w.scroll_by_with_x_and_y(0.0, now - was);
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (seq, was);
}

// The three below are plain functions, not components, as `live_badge`
// (in `pages`): a component's view would be erased into its own `AnyView`.

/// A message's file: a thumbnail that opens the full image, or a card
/// with the name, size and a download link. The links are signed and
/// expire (an hour by default); reloading the page signs new ones.
fn attachment_item(a: AttachmentView) -> impl IntoView {
    let label = format!("{} ({})", a.name, human_size(a.size.max(0) as u64));
    match a.thumbnail_url.clone() {
        Some(thumb) => {
            // Shown at most 240 px a side, the original's proportions.
            let (w, h) = match (a.width, a.height) {
                (Some(w), Some(h)) if w > 0 && h > 0 => {
                    let k = (240.0 / w as f64).min(240.0 / h as f64).min(1.0);
                    (
                        Some(((w as f64 * k).round() as i32).max(1)),
                        Some(((h as f64 * k).round() as i32).max(1)),
                    )
                }
                _ => (None, None),
            };
            Either::Left(view! {
                <a class="attachment attachment-image" href=a.url target="_blank" rel="noopener noreferrer" title=label>
                    <img class="attachment-thumb" src=thumb alt=a.name width=w height=h loading="lazy" />
                </a>
            })
        }
        None => {
            let ext = a
                .name
                .rsplit_once('.')
                .map(|(_, e)| e.chars().take(5).collect::<String>())
                .unwrap_or_else(|| "file".into());
            Either::Right(view! {
                <a class="attachment attachment-card" href=a.url download=a.name.clone() rel="noopener noreferrer" title=label>
                    <span class="attachment-ext">{ext}</span>
                    <span class="attachment-name">{a.name.clone()}</span>
                    <span class="attachment-size muted">{human_size(a.size.max(0) as u64)}</span>
                </a>
            })
        }
    }
}

/// A file on its way: progress and cancel, or why it failed.
fn upload_item(u: Upload) -> impl IntoView {
    let id = u.client_id.clone();
    let cancel = {
        let id = id.clone();
        move |_| upload::cancel(&id)
    };
    let label = format!("{} ({})", u.name, human_size(u.size));
    match u.state {
        UploadState::Sending(done) => Either::Left(view! {
            <li class="upload" data-state="sending" data-client-id=id>
                <span class="upload-name">{label.clone()}</span>
                <progress
                    max="1000"
                    value={(done.clamp(0.0, 1.0) * 1000.0).round() as u32}
                    aria-label=format!("Sending {label}")
                ></progress>
                <button type="button" class="secondary upload-cancel" on:click=cancel>"Cancel"</button>
            </li>
        }),
        UploadState::Failed { reason, retry } => {
            let again = {
                let id = id.clone();
                move |_| upload::retry(&id)
            };
            Either::Right(view! {
                <li class="upload failed" data-state="failed" data-client-id=id>
                    <span class="upload-name">{label}</span>
                    <span class="error upload-error">{reason}</span>
                    {retry.then(|| view! { <button type="button" class="secondary upload-retry" on:click=again>"Retry"</button> })}
                    <button type="button" class="secondary upload-cancel" on:click=cancel>"Dismiss"</button>
                </li>
            })
        }
    }
}

/// A private note in the thread.
fn note_item(note: NoteView) -> impl IntoView {
    let author = note
        .author_name
        .clone()
        .unwrap_or_else(|| "A former agent".into());
    view! {
        <li class="note" data-note-id=note.id.to_string()>
            <span class="who">{format!("Note by {author}")}</span>
            <time>{short_time(&note.created_at)}</time>
            <div class="text">{note.content.clone()}</div>
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(seq: i64) -> MessageView {
        from(seq, Sender::Customer)
    }

    fn from(seq: i64, sender: Sender) -> MessageView {
        MessageView {
            id: format!("m{seq}").into(),
            seq,
            sender,
            content: "x".into(),
            created_at: "t".into(),
            client_id: None,
            agent_name: None,
            attachment: None,
        }
    }

    #[test]
    fn merge_keeps_order_and_drops_duplicates() {
        let mut list = vec![msg(1), msg(3)];
        merge(&mut list, [msg(2), msg(3), msg(4), msg(1)]);
        let seqs: Vec<i64> = list.iter().map(|m| m.seq).collect();
        assert_eq!(seqs, vec![1, 2, 3, 4]);
    }

    #[test]
    fn seen_goes_under_the_last_agent_message_read() {
        let list = vec![
            from(1, Sender::Customer),
            from(2, Sender::Agent),
            from(3, Sender::Agent),
            from(4, Sender::Customer),
            from(5, Sender::Agent),
        ];
        assert_eq!(seen_seq(&list, 0), None);
        assert_eq!(seen_seq(&list, 2), Some(2));
        assert_eq!(seen_seq(&list, 4), Some(3));
        assert_eq!(seen_seq(&list, 9), Some(5));
    }
}
