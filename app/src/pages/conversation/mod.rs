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
//!
//! # Parts
//! The page is one component, [`Conversation`], made of plain functions
//! (a component of its own would be erased into an `AnyView` of its own
//! in the wasm) that share [`Shared`]:
//! - `head`: title, status, close/reopen, delete, who else is here,
//!   assignment;
//! - `thread`: the messages and notes, earlier pages, "Seen", read
//!   receipts;
//! - `reply`: the reply box (typing frames, canned responses, files) and
//!   the note form.

use futures_util::future::join4;
use leptos::either::Either;
use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_params_map;

use super::customer_panel::customer_panel;
use super::{error_box, status_line};
use crate::api::{canned_responses, current_agent, get_conversation, team};
use crate::live::use_live_socket;
use crate::pages::events::handle;
use crate::protocol::{AgentServerFrame, Party};
use crate::types::{
    AgentAccount, AgentId, AgentView, ApiError, CannedResponse, ConversationView, MessageView,
    NoteView, Sender, SessionId, SessionView, VisitorView,
};

mod head;
mod reply;
mod thread;

use thread::{apply_read, merge};

/// How long "… is typing" shows after the last typing frame.
const TYPING_SHOWS_FOR: std::time::Duration = std::time::Duration::from_secs(6);

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
                            .ok_or_else(ApiError::unauthorized)
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

/// What every part of the page reads and changes: the conversation, its
/// thread, and the page's one error line. `Copy`, as signals are.
#[derive(Clone, Copy)]
struct Shared {
    id: StoredValue<SessionId>,
    session: RwSignal<SessionView>,
    messages: RwSignal<Vec<MessageView>>,
    notes: RwSignal<Vec<NoteView>>,
    /// The last failure of something the agent did (sent, assigned, …).
    error: RwSignal<Option<String>>,
    /// Deleted (by an admin, here or elsewhere): nothing more can be sent.
    deleted: RwSignal<bool>,
}

impl Shared {
    fn id(self) -> SessionId {
        self.id.get_value()
    }

    fn is(self, id: &SessionId) -> bool {
        self.id.with_value(|mine| mine == id)
    }

    /// Adds messages not yet shown, in seq order.
    fn add_messages(self, incoming: impl IntoIterator<Item = MessageView>) {
        self.messages.update(|l| merge(l, incoming))
    }

    /// Adds notes not yet shown.
    fn add_notes(self, incoming: Vec<NoteView>) {
        self.notes.update(|list| {
            for n in incoming {
                if !list.iter().any(|have| have.id == n.id) {
                    list.push(n);
                }
            }
        })
    }

    /// The conversation as the server answered an assignment (the error
    /// line cleared), or why it failed.
    fn changed(self, answer: Result<SessionView, ApiError>) {
        match answer {
            Ok(s) => {
                self.session.set(s);
                self.error.set(None);
            }
            Err(e) => self.error.set(Some(e.message)),
        }
    }
}

/// "Someone is typing": `Some(who)` from a typing frame until their stop,
/// or for 6 s after their last frame (each frame starts a new window).
#[derive(Clone, Copy)]
struct Typing {
    who: RwSignal<Option<String>>,
    window: StoredValue<u64>,
}

impl Typing {
    fn new() -> Self {
        Self {
            who: RwSignal::new(None),
            window: StoredValue::new(0),
        }
    }

    fn show(self, who: Option<String>) {
        self.window.update_value(|w| *w += 1);
        let active = who.is_some();
        self.who.set(who);
        if active {
            let window = self.window.get_value();
            set_timeout(
                move || {
                    if self.window.try_get_value() == Some(window) {
                        self.who.try_set(None);
                    }
                },
                TYPING_SHOWS_FOR,
            );
        }
    }

    fn hidden(self) -> bool {
        self.who.with(Option::is_none)
    }
}

/// A live frame about this conversation, applied to the page.
fn on_frame(
    shared: Shared,
    visitor: RwSignal<Option<VisitorView>>,
    visitor_typing: Typing,
    agent_typing: Typing,
    me: &AgentId,
    event: AgentServerFrame,
) {
    match event {
        AgentServerFrame::Message {
            session_id,
            message,
            ..
        } if shared.is(&session_id) => {
            if message.sender == Sender::Customer {
                visitor_typing.show(None);
            }
            shared.add_messages([message])
        }
        AgentServerFrame::Session { session } if shared.is(&session.id) => {
            shared.session.set(session)
        }
        AgentServerFrame::Note { note } if shared.is(&note.session_id) => {
            shared.add_notes(vec![note])
        }
        AgentServerFrame::Typing {
            session_id,
            by: Party::Customer,
            active,
            ..
        } if shared.is(&session_id) => visitor_typing.show(active.then(String::new)),
        AgentServerFrame::Typing {
            session_id,
            by: Party::Agent,
            active,
            agent_id: Some(agent),
            name,
        } if shared.is(&session_id) && agent != *me => {
            agent_typing.show(active.then(|| name.unwrap_or_default()))
        }
        AgentServerFrame::Read {
            session_id,
            by,
            seq,
        } if shared.is(&session_id) => shared.session.update(|s| apply_read(s, by, seq)),
        AgentServerFrame::Visitor {
            session_id,
            visitor: v,
        } if shared.is(&session_id) => visitor.set(Some(v)),
        AgentServerFrame::Deleted { session_id } if shared.is(&session_id) => {
            shared.deleted.set(true)
        }
        _ => {}
    }
}

#[component]
fn Conversation(
    initial: ConversationView,
    me: AgentView,
    team: Vec<AgentAccount>,
    canned: Vec<CannedResponse>,
) -> impl IntoView {
    let shared = Shared {
        id: StoredValue::new(initial.session.id.clone()),
        session: RwSignal::new(initial.session),
        messages: RwSignal::new(initial.messages),
        notes: RwSignal::new(initial.notes),
        error: RwSignal::new(None),
        deleted: RwSignal::new(false),
    };
    let visitor = RwSignal::new(initial.visitor);
    let visitor_typing = Typing::new();
    // Collision: another agent typing here ("Bob is typing…").
    let agent_typing = Typing::new();

    let (live, sender) = use_live_socket(
        {
            let me = me.id.clone();
            move |event| on_frame(shared, visitor, visitor_typing, agent_typing, &me, event)
        },
        // After a reconnect: what may have been missed.
        move || {
            let id = shared.id();
            spawn_local(async move {
                if let Ok(fresh) = get_conversation(id).await {
                    shared.session.set(fresh.session);
                    visitor.set(fresh.visitor);
                    shared.add_messages(fresh.messages);
                    shared.add_notes(fresh.notes);
                }
            })
        },
    );
    thread::send_read_receipts(shared, live, sender);
    let files = reply::Files::new(shared, initial.attachments.filter(|l| l.enabled));
    let earlier = thread::Earlier::new(shared, initial.has_more);

    view! {
        {head::head(shared, &me, live, sender, agent_typing, team)}
        {customer_panel(shared.session, visitor, initial.earlier)}
        {earlier.button()}
        <div
            class="thread"
            class:dragging=move || files.dragging.get()
            on:dragenter={handle(ev::dragenter, move |ev| files.on_dragover(ev))}
            on:dragover={handle(ev::dragover, move |ev| files.on_dragover(ev))}
            on:dragleave={handle(ev::dragleave, move |ev| files.on_dragleave(ev))}
            on:drop={handle(ev::drop, move |ev| files.on_drop(ev))}
        >
            <p class="drop-hint" aria-hidden="true">"Drop files to send them"</p>
            {thread::messages(shared)}
            <div class="typing-status" role="status" aria-live="polite">
                <p class="typing-indicator muted" hidden=move || visitor_typing.hidden()>
                    "Visitor is typing…"
                </p>
            </div>
            {reply::reply(shared, sender, files, canned)}
        </div>
        {reply::note_form(shared)}
        {status_line("error", shared.error)}
    }
}
