//! [`Event`]: what changed, and who should hear of it.

use app::protocol::{AgentServerFrame, Party, PresenceStatus, VisitorServerFrame, VisitorSession};
use app::types::{
    AgentId, CustomerId, MessageView, NoteView, Sender, SessionId, SessionView, VisitorView,
};
use axum::extract::ws::Utf8Bytes;
use serde::{Deserialize, Serialize};

/// Which server process an event came from, so an instance ignores its own
/// events coming back from Redis.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct InstanceId(pub u64);

impl InstanceId {
    pub fn random() -> Self {
        Self(rand::random())
    }
}

/// Who receives an event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "to", content = "id", rename_all = "snake_case")]
pub enum Audience {
    /// Every agent socket, and the visitor sockets of one conversation.
    AgentsAndVisitors(SessionId),
    /// Every agent socket.
    Agents,
    /// The visitor sockets of one conversation.
    Visitors(SessionId),
    /// The sockets of one agent.
    Agent(AgentId),
    /// Every socket (used for [`Change::Resync`]).
    Everyone,
}

/// What changed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// A message was stored (committed).
    MessageStored {
        session_id: SessionId,
        customer_id: CustomerId,
        message: MessageView,
    },
    /// A conversation was created or changed.
    ConversationChanged { session: SessionView },
    /// An agent left a private note. Published to [`Audience::Agents`]
    /// only, and it has no visitor frame: a visitor never hears of a note
    /// whatever its audience.
    NoteAdded { note: NoteView },
    /// One side of a conversation is typing (or stopped). Not stored.
    /// `name` is the agent's shown name (`None` for the visitor); other
    /// agents see `agent_id` and `staff_name`.
    Typing {
        session_id: SessionId,
        by: Party,
        name: Option<String>,
        active: bool,
        #[serde(default)]
        agent_id: Option<AgentId>,
        #[serde(default)]
        staff_name: Option<String>,
    },
    /// One agent socket's presence (to [`Audience::Agents`]).
    Presence {
        agent_id: AgentId,
        name: String,
        socket: String,
        status: PresenceStatus,
        viewing: Option<SessionId>,
    },
    /// A socket opened: every agent socket announces its presence again
    /// (to [`Audience::Agents`]; nothing is sent to clients).
    PresenceQuery,
    /// One side's stored read seq of a conversation grew to `seq`.
    Read {
        session_id: SessionId,
        by: Party,
        seq: i64,
    },
    /// A visitor's browser reported another page: the customer panel's
    /// facts (to [`Audience::Agents`]; visitors never hear of it).
    VisitorChanged {
        session_id: SessionId,
        visitor: VisitorView,
    },
    /// An admin deleted a conversation with everything in it: agents drop
    /// it; its visitor sockets close with `4401` (their credentials are
    /// gone), so the widget forgets it and starts afresh.
    ConversationDeleted { session_id: SessionId },
    /// An admin saved settings: every instance reloads them (to
    /// [`Audience::Agents`]; nothing is sent to clients).
    SettingsChanged,
    /// An admin changed automated responses or business hours: every
    /// instance reloads them (to [`Audience::Agents`]; nothing is sent to
    /// clients).
    AutomationChanged,
    /// Events may have been lost on the way between instances: agent sockets
    /// are told to refetch, visitor sockets catch up from storage.
    Resync,
}

/// One event on the bus.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub origin: InstanceId,
    pub audience: Audience,
    pub change: Change,
}

impl Event {
    /// The conversation whose visitors hear of it, if any.
    pub fn visitor_session(&self) -> Option<&SessionId> {
        match &self.audience {
            Audience::AgentsAndVisitors(id) | Audience::Visitors(id) => Some(id),
            _ => None,
        }
    }

    pub fn reaches_agents(&self) -> bool {
        matches!(
            self.audience,
            Audience::AgentsAndVisitors(_) | Audience::Agents | Audience::Everyone
        )
    }

    /// The message's seq, for events that carry one.
    pub fn seq(&self) -> Option<i64> {
        match &self.change {
            Change::MessageStored { message, .. } => Some(message.seq),
            _ => None,
        }
    }

    pub fn is_resync(&self) -> bool {
        matches!(self.change, Change::Resync)
    }

    pub fn is_deletion(&self) -> bool {
        matches!(self.change, Change::ConversationDeleted { .. })
    }

    fn agent_frame(&self) -> Option<AgentServerFrame> {
        Some(match &self.change {
            Change::MessageStored {
                session_id,
                customer_id,
                message,
            } => AgentServerFrame::Message {
                session_id: session_id.clone(),
                customer_id: customer_id.clone(),
                message: message.clone(),
            },
            Change::ConversationChanged { session } => AgentServerFrame::Session {
                session: session.clone(),
            },
            Change::NoteAdded { note } => AgentServerFrame::Note { note: note.clone() },
            Change::Typing {
                session_id,
                by,
                active,
                agent_id,
                staff_name,
                ..
            } => AgentServerFrame::Typing {
                session_id: session_id.clone(),
                by: *by,
                active: *active,
                agent_id: agent_id.clone(),
                name: staff_name.clone(),
            },
            Change::Presence {
                agent_id,
                name,
                socket,
                status,
                viewing,
            } => AgentServerFrame::Presence {
                agent_id: agent_id.clone(),
                name: name.clone(),
                socket: socket.clone(),
                status: *status,
                viewing: viewing.clone(),
            },
            Change::PresenceQuery | Change::SettingsChanged | Change::AutomationChanged => {
                return None
            }
            Change::Read {
                session_id,
                by,
                seq,
            } => AgentServerFrame::Read {
                session_id: session_id.clone(),
                by: *by,
                seq: *seq,
            },
            Change::VisitorChanged {
                session_id,
                visitor,
            } => AgentServerFrame::Visitor {
                session_id: session_id.clone(),
                visitor: visitor.clone(),
            },
            Change::ConversationDeleted { session_id } => AgentServerFrame::Deleted {
                session_id: session_id.clone(),
            },
            Change::Resync => AgentServerFrame::Resync,
        })
    }

    fn visitor_frame(&self) -> Option<VisitorServerFrame> {
        match &self.change {
            Change::MessageStored { message, .. } => Some(VisitorServerFrame::Message {
                message: message.clone(),
            }),
            Change::ConversationChanged { session } => Some(VisitorServerFrame::Session {
                session: VisitorSession {
                    status: session.status,
                    customer_id: session.customer_id.clone(),
                },
            }),
            // A visitor hears of the agents' side only, never its own.
            Change::Typing {
                by: Party::Agent,
                name,
                active,
                ..
            } => Some(VisitorServerFrame::Typing {
                by: Party::Agent,
                name: name
                    .clone()
                    .unwrap_or_else(|| app::types::shown_agent_name("")),
                active: *active,
            }),
            Change::Read {
                by: Party::Agent,
                seq,
                ..
            } => Some(VisitorServerFrame::Read {
                by: Party::Agent,
                seq: *seq,
            }),
            // Notes are for agents only. A deletion closes the visitor's
            // socket instead (see `chat::socket`).
            Change::NoteAdded { .. }
            | Change::VisitorChanged { .. }
            | Change::ConversationDeleted { .. } => None,
            Change::Typing { .. }
            | Change::Read { .. }
            | Change::Resync
            | Change::Presence { .. }
            | Change::PresenceQuery
            | Change::SettingsChanged
            | Change::AutomationChanged => None,
        }
    }
}

/// An event with its frames, serialised once per instance and shared by
/// every socket that sends it.
#[derive(Debug)]
pub struct Published {
    pub event: Event,
    /// What agent sockets are sent (when the event reaches agents).
    pub agent_frame: Option<Utf8Bytes>,
    /// What visitor sockets are sent (when the event reaches visitors).
    pub visitor_frame: Option<Utf8Bytes>,
    /// When a visitor's message was stored (delivery-latency metric).
    pub visitor_message_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl Published {
    pub fn new(event: Event) -> Self {
        let agents = event.reaches_agents() || matches!(event.audience, Audience::Agent(_));
        let agent_frame = agents
            .then(|| event.agent_frame())
            .flatten()
            .map(|f| encode(&f));
        let visitor_frame = event
            .visitor_session()
            .and_then(|_| event.visitor_frame())
            .map(|f| encode(&f));
        let visitor_message_at = match &event.change {
            Change::MessageStored { message, .. } if message.sender == Sender::Customer => {
                chrono::DateTime::parse_from_rfc3339(&message.created_at)
                    .ok()
                    .map(|t| t.with_timezone(&chrono::Utc))
            }
            _ => None,
        };
        Self {
            event,
            agent_frame,
            visitor_frame,
            visitor_message_at,
        }
    }

    pub fn seq(&self) -> Option<i64> {
        self.event.seq()
    }
}

/// A frame as socket text. Our frames always serialise; should one ever
/// not, the socket gets an `internal` error frame instead of a panic.
pub fn encode<T: Serialize>(frame: &T) -> Utf8Bytes {
    match serde_json::to_string(frame) {
        Ok(text) => text.into(),
        Err(e) => {
            tracing::error!(error.cause = %e, "frame did not serialise");
            r#"{"type":"error","error":{"code":"internal","message":"internal error","retryable":true},"client_id":null}"#.into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A note has no visitor frame, whatever audience it is published to:
    /// a mistaken audience still cannot leak it to a visitor.
    #[test]
    fn notes_never_make_a_visitor_frame() {
        let note = NoteView {
            id: "n1".into(),
            session_id: "s1".into(),
            author_id: Some("a1".into()),
            author_name: Some("Ann".into()),
            content: "private".into(),
            created_at: "2026-12-10T09:00:00.000000Z".into(),
            client_id: None,
        };
        for audience in [
            Audience::Agents,
            Audience::AgentsAndVisitors("s1".into()),
            Audience::Visitors("s1".into()),
            Audience::Everyone,
        ] {
            let published = Published::new(Event {
                origin: InstanceId(1),
                audience: audience.clone(),
                change: Change::NoteAdded { note: note.clone() },
            });
            assert!(published.visitor_frame.is_none(), "{audience:?}");
        }
        let published = Published::new(Event {
            origin: InstanceId(1),
            audience: Audience::Agents,
            change: Change::NoteAdded { note },
        });
        let frame = published.agent_frame.expect("agents get notes");
        assert!(frame.as_str().starts_with(r#"{"type":"note","note":{"#));
    }
}
