//! What calls for an agent's attention while they look elsewhere: the
//! number of unread conversations in the page title (`(3) DEFMIS Chat`),
//! and, while the tab is hidden, a sound and a browser notification (when
//! the agent allowed them) for a new conversation, or a visitor's message
//! in a conversation that is theirs or nobody's.
//!
//! The signed-in frame provides one [`Attention`]; the page's live socket
//! hands it every event ([`crate::live`]), so no second socket is opened.

use std::collections::HashMap;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{current_agent, unread_count};
use crate::live::{now_ms, LiveObserver, LiveSender, LiveState};
use crate::protocol::{AgentClientFrame, AgentServerFrame, PresenceStatus};
use crate::types::{AgentId, Sender, SessionId, SessionView};

/// How long after an event the unread count is read again (one read for
/// a burst of events).
const RECOUNT_AFTER: std::time::Duration = std::time::Duration::from_secs(1);
/// Conversations whose assignee is remembered, at most.
const REMEMBERED: usize = 2000;
/// The sound played with a notification (a file of the site).
pub const SOUND: &str = "/sounds/notify.wav";
/// Without input for this long, the agent is away.
pub const AWAY_AFTER_MS: f64 = 5.0 * 60.0 * 1000.0;
/// A socket not heard of for this long is gone (sockets announce
/// themselves every 30 s).
pub const PRESENCE_EXPIRES_MS: f64 = 75_000.0;

/// One agent socket, as its presence frames tell it.
#[derive(Clone, Debug, PartialEq)]
pub struct SocketPresence {
    pub agent_id: AgentId,
    pub name: String,
    pub status: PresenceStatus,
    pub viewing: Option<SessionId>,
    /// When it was last heard of (`now_ms`).
    pub heard_ms: f64,
}

/// Every agent socket known, by socket id.
pub type Board = HashMap<String, SocketPresence>;

/// An agent's status: online when any socket is, else away when any is.
pub fn agent_status(board: &Board, agent: &AgentId) -> PresenceStatus {
    let mut status = PresenceStatus::Offline;
    for s in board.values().filter(|s| &s.agent_id == agent) {
        match s.status {
            PresenceStatus::Online => return PresenceStatus::Online,
            PresenceStatus::Away => status = PresenceStatus::Away,
            PresenceStatus::Offline => {}
        }
    }
    status
}

/// The names of the other agents whose page shows `session`, sorted,
/// each once.
pub fn viewers(board: &Board, session: &SessionId, me: Option<&AgentId>) -> Vec<String> {
    let mut names: Vec<String> = board
        .values()
        .filter(|s| s.viewing.as_ref() == Some(session) && Some(&s.agent_id) != me)
        .filter(|s| s.status != PresenceStatus::Offline)
        .map(|s| s.name.clone())
        .collect();
    crate::sort::sort_by(&mut names, |a, b| a.cmp(b));
    names.dedup();
    names
}

/// Takes a presence frame into the board; drops what expired.
pub fn record(board: &mut Board, event: &AgentServerFrame, now: f64) {
    board.retain(|_, s| now - s.heard_ms < PRESENCE_EXPIRES_MS);
    if let AgentServerFrame::Presence {
        agent_id,
        name,
        socket,
        status,
        viewing,
    } = event
    {
        if *status == PresenceStatus::Offline {
            board.remove(socket);
        } else {
            board.insert(
                socket.clone(),
                SocketPresence {
                    agent_id: agent_id.clone(),
                    name: name.clone(),
                    status: *status,
                    viewing: viewing.clone(),
                    heard_ms: now,
                },
            );
        }
    }
}

/// Whether an event calls for a notification, and its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    pub title: String,
    pub body: String,
    pub session_id: SessionId,
}

/// Decides what an event calls for. `assignees` holds what the page has
/// learnt of who works on which conversation (a conversation not in it is
/// taken as nobody's).
pub fn alert_for(
    event: &AgentServerFrame,
    me: Option<&AgentId>,
    assignees: &HashMap<SessionId, Option<AgentId>>,
) -> Option<Alert> {
    match event {
        AgentServerFrame::Session { session }
            if session.last_seq <= 1 && !assignees.contains_key(&session.id) =>
        {
            let who = session
                .name
                .clone()
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| "A visitor".into());
            Some(Alert {
                title: "New conversation".into(),
                body: match &session.last_message {
                    Some(text) => format!("{who}: {}", crate::types::preview(text, 140)),
                    None => format!("{who} started a conversation"),
                },
                session_id: session.id.clone(),
            })
        }
        AgentServerFrame::Message {
            session_id,
            message,
            ..
        } if message.sender == Sender::Customer => {
            let theirs_or_nobodys = match assignees.get(session_id) {
                None | Some(None) => true,
                Some(Some(agent)) => Some(agent) == me,
            };
            theirs_or_nobodys.then(|| Alert {
                title: "New message".into(),
                body: crate::types::preview(&message.content, 140),
                session_id: session_id.clone(),
            })
        }
        _ => None,
    }
}

/// `(3) DEFMIS Chat`, or `DEFMIS Chat` with nothing unread.
pub fn title(unread: Option<i64>) -> String {
    match unread {
        Some(n) if n > 0 => format!("({n}) DEFMIS Chat"),
        _ => "DEFMIS Chat".to_string(),
    }
}

/// The signed-in pages' attention keeper.
#[derive(Clone, Copy)]
pub struct Attention {
    /// Conversations with unread visitor messages (`None`: not read yet).
    pub unread: RwSignal<Option<i64>>,
    /// Whether the browser lets us notify (`None`: not asked yet).
    pub permission: RwSignal<Option<bool>>,
    /// Who is there, and which conversation their pages show.
    pub board: RwSignal<Board>,
    /// This agent, once known.
    pub me: RwSignal<Option<AgentId>>,
    /// The last alert's conversation and time: a new conversation's first
    /// message does not alert twice.
    last_alert: StoredValue<Option<(SessionId, f64)>>,
    /// This agent is idle (no input for 5 minutes).
    away: RwSignal<bool>,
    #[cfg_attr(
        not(feature = "hydrate"),
        allow(dead_code, reason = "input is watched in the browser only")
    )]
    last_input_ms: StoredValue<f64>,
    assignees: StoredValue<HashMap<SessionId, Option<AgentId>>>,
    recount_pending: StoredValue<bool>,
}

impl Attention {
    /// Makes one, puts it in the context and, in the browser, reads the
    /// unread count and who is signed in.
    pub fn provide() -> Self {
        let this = Self {
            unread: RwSignal::new(None),
            permission: RwSignal::new(None),
            board: RwSignal::new(HashMap::new()),
            me: RwSignal::new(None),
            last_alert: StoredValue::new(None),
            away: RwSignal::new(false),
            last_input_ms: StoredValue::new(0.0),
            assignees: StoredValue::new(HashMap::new()),
            recount_pending: StoredValue::new(false),
        };
        provide_context(this);
        provide_context(LiveObserver {
            seen: Callback::new(move |event: AgentServerFrame| this.seen(&event)),
            attach: Callback::new(move |(state, sender)| this.attach(state, sender)),
        });
        // Effects run in the browser only, after hydration.
        Effect::new(move |_| {
            this.recount();
            this.permission.set(notify::permission());
            spawn_local(async move {
                if let Ok(Some(agent)) = current_agent().await {
                    this.me.try_set(Some(agent.id));
                }
            });
            this.watch_idle();
        });
        this
    }

    /// Marks the agent away after 5 minutes without input, and back on
    /// the next input; drops expired sockets from the board.
    fn watch_idle(self) {
        #[cfg(feature = "hydrate")]
        {
            self.last_input_ms.set_value(now_ms());
            let input = move || {
                self.last_input_ms.try_set_value(now_ms());
                if self.away.get_untracked() {
                    self.away.set(false);
                }
            };
            let handles = [
                window_event_listener(leptos::ev::keydown, move |_| input()),
                window_event_listener(leptos::ev::pointerdown, move |_| input()),
                window_event_listener(leptos::ev::pointermove, move |_| input()),
                window_event_listener(leptos::ev::focus, move |_| input()),
            ];
            let tick = set_interval_with_handle(
                move || {
                    let idle = self
                        .last_input_ms
                        .try_get_value()
                        .is_some_and(|at| now_ms() - at >= AWAY_AFTER_MS);
                    if idle && !self.away.get_untracked() {
                        self.away.set(true);
                    }
                    self.board
                        .update(|b| record(b, &AgentServerFrame::Pong, now_ms()));
                },
                std::time::Duration::from_secs(15),
            );
            on_cleanup(move || {
                for h in handles {
                    h.remove();
                }
                if let Ok(t) = tick {
                    t.clear();
                }
            });
        }
    }

    /// Tells the page's socket whether the agent is away, whenever it
    /// connects (again) or the agent comes and goes (a fresh socket starts
    /// online: telling it so changes nothing).
    pub fn attach(self, state: RwSignal<LiveState>, sender: LiveSender) {
        Effect::new(move |_| {
            let away = self.away.get();
            if state.get() == LiveState::Live {
                sender.send(&AgentClientFrame::Away { away });
            }
        });
    }

    /// Reads the unread count again.
    pub fn recount(self) {
        spawn_local(async move {
            if let Ok(n) = unread_count().await {
                self.unread.try_set(Some(n));
            }
        });
    }

    /// Learns who works on the conversations a page listed (so a message
    /// in another agent's conversation does not call for attention).
    pub fn learn(self, sessions: &[SessionView]) {
        self.assignees.update_value(|known| {
            if known.len() + sessions.len() > REMEMBERED {
                known.clear();
            }
            for s in sessions {
                known.insert(s.id.clone(), s.assignee_id.clone());
            }
        });
    }

    /// Takes in a live event: recounts soon, and notifies when it calls
    /// for it and the page is hidden.
    pub fn seen(self, event: &AgentServerFrame) {
        if matches!(
            event,
            AgentServerFrame::Message { .. }
                | AgentServerFrame::Session { .. }
                | AgentServerFrame::Read { .. }
                | AgentServerFrame::Deleted { .. }
        ) && !self.recount_pending.get_value()
        {
            self.recount_pending.set_value(true);
            set_timeout(
                move || {
                    if self.recount_pending.try_set_value(false).is_none() {
                        self.recount();
                    }
                },
                RECOUNT_AFTER,
            );
        }
        if matches!(event, AgentServerFrame::Presence { .. }) {
            self.board.update(|b| record(b, event, now_ms()));
            return;
        }
        let alert = self.me.with_untracked(|me| {
            self.assignees
                .with_value(|known| alert_for(event, me.as_ref(), known))
        });
        if let AgentServerFrame::Session { session } = event {
            self.assignees.update_value(|known| {
                if known.len() >= REMEMBERED {
                    known.clear();
                }
                known.insert(session.id.clone(), session.assignee_id.clone());
            });
        }
        let now = now_ms();
        let repeat = alert.as_ref().is_some_and(|a| {
            self.last_alert.with_value(|last| {
                last.as_ref()
                    .is_some_and(|(id, at)| *id == a.session_id && now - at < 3000.0)
            })
        });
        if let Some(alert) = alert.filter(|_| !repeat) {
            self.last_alert
                .set_value(Some((alert.session_id.clone(), now)));
            if !crate::live::page_visible() {
                notify::show(&alert, self.permission.get_untracked() == Some(true));
            }
        }
    }

    /// Asks the browser for permission to notify (after a click).
    pub fn ask_permission(self) {
        notify::ask(move |granted| self.permission.set(Some(granted)));
    }
}

/// The browser's side: sound and notifications.
mod notify {
    use super::Alert;

    /// `Some(true)` granted, `Some(false)` denied, `None` not asked yet
    /// (or on the server, or where notifications do not exist).
    pub fn permission() -> Option<bool> {
        #[cfg(feature = "hydrate")]
        {
            use web_sys::{Notification, NotificationPermission};
            if !supported() {
                return Some(false);
            }
            match Notification::permission() {
                NotificationPermission::Granted => Some(true),
                NotificationPermission::Denied => Some(false),
                _ => None,
            }
        }
        #[cfg(not(feature = "hydrate"))]
        None
    }

    /// Whether this browser has notifications at all.
    #[cfg(feature = "hydrate")]
    fn supported() -> bool {
        web_sys::window().is_some_and(|w| {
            js_sys::Reflect::has(&w, &wasm_bindgen::JsValue::from_str("Notification"))
                .unwrap_or(false)
        })
    }

    pub fn ask(done: impl FnOnce(bool) + 'static) {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::prelude::*;
            use wasm_bindgen::JsCast;
            if !supported() {
                return done(false);
            }
            let answered = Closure::once_into_js(move |answer: JsValue| {
                done(answer.as_string().is_some_and(|v| v == "granted"))
            });
            let _ = web_sys::Notification::request_permission_with_permission_callback(
                answered.unchecked_ref(),
            );
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = done;
    }

    /// Plays the sound and, when allowed, shows a notification that opens
    /// the conversation when clicked.
    pub fn show(alert: &Alert, notify: bool) {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::prelude::*;
            use wasm_bindgen::JsCast;
            if let Ok(audio) = web_sys::HtmlAudioElement::new_with_src(super::SOUND) {
                // Refused without a user gesture on the page: the
                // notification still shows.
                let _ = audio.play();
            }
            if !notify || !supported() {
                return;
            }
            let options = web_sys::NotificationOptions::new();
            options.set_body(&alert.body);
            options.set_tag(alert.session_id.as_str());
            if let Ok(n) = web_sys::Notification::new_with_options(&alert.title, &options) {
                let href = format!("/dashboard/conversations/{}", alert.session_id);
                let on_click = Closure::once_into_js(move || {
                    if let Some(window) = web_sys::window() {
                        let _ = window.focus();
                        let _ = window.location().set_href(&href);
                    }
                });
                n.set_onclick(Some(on_click.unchecked_ref()));
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (alert, notify);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{MessageView, SessionStatus, SessionView};

    fn session(id: &str, assignee: Option<&str>, last_seq: i64) -> SessionView {
        SessionView {
            id: id.into(),
            customer_id: "c".into(),
            name: Some("Ann".into()),
            email: None,
            status: SessionStatus::Open,
            created_at: "t".into(),
            updated_at: "t".into(),
            last_message: None,
            last_message_at: None,
            last_seq,
            customer_read_seq: 0,
            agent_read_seq: 0,
            offline: false,
            assignee_id: assignee.map(AgentId::from),
            assignee_name: None,
            unread: 0,
            waiting: false,
        }
    }

    fn from_visitor(id: &str) -> AgentServerFrame {
        AgentServerFrame::Message {
            session_id: id.into(),
            customer_id: "c".into(),
            message: MessageView {
                id: "m".into(),
                seq: 2,
                sender: Sender::Customer,
                content: "hello".into(),
                created_at: "t".into(),
                client_id: None,
                agent_name: None,
                attachment: None,
            },
        }
    }

    #[test]
    fn mine_and_nobodys_conversations_call_for_attention() {
        let me = AgentId::from("me");
        let mut known = HashMap::new();
        let new = AgentServerFrame::Session {
            session: session("s1", None, 0),
        };
        assert_eq!(
            alert_for(&new, Some(&me), &known).map(|a| a.title),
            Some("New conversation".into())
        );
        known.insert(SessionId::from("s1"), None);
        assert_eq!(alert_for(&new, Some(&me), &known), None, "told once");
        assert!(alert_for(&from_visitor("s1"), Some(&me), &known).is_some());
        assert!(alert_for(&from_visitor("unknown"), Some(&me), &known).is_some());
        known.insert(SessionId::from("s1"), Some(AgentId::from("other")));
        assert_eq!(alert_for(&from_visitor("s1"), Some(&me), &known), None);
        known.insert(SessionId::from("s1"), Some(me.clone()));
        assert!(alert_for(&from_visitor("s1"), Some(&me), &known).is_some());
    }

    #[test]
    fn the_title_counts_unread_conversations() {
        assert_eq!(title(None), "DEFMIS Chat");
        assert_eq!(title(Some(0)), "DEFMIS Chat");
        assert_eq!(title(Some(3)), "(3) DEFMIS Chat");
    }
}
