//! Every frame of both sockets, in one place: what clients send and what
//! the server sends, on the visitor socket (`/ws/chat/{customer_id}/`) and
//! the agent socket (`/ws/admin/dashboard/`). The server serialises these,
//! the dashboard deserialises them, the widget's decoder is tested against
//! golden files made from them, and docs/api.md describes them.

use serde::{Deserialize, Serialize};

use crate::types::{
    AgentId, ApiError, CustomerId, MessageView, NoteView, SessionId, SessionStatus, SessionView,
    VisitorView,
};

/// A frame a client sends; `TYPES` lists the `type` values it accepts, so an
/// unknown one is told apart from a malformed one.
pub trait ClientFrame: serde::de::DeserializeOwned {
    const TYPES: &'static [&'static str];
    /// `{"type":"ping"}`, answered `{"type":"pong"}` by the server.
    fn is_ping(&self) -> bool;
}

/// Visitor → server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum VisitorClientFrame {
    /// The first frame: the conversation's token, and optionally the highest
    /// seq the client has, to receive what it missed.
    Auth {
        token: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<i64>,
    },
    /// A message to store; `client_id` makes resending it safe.
    Message {
        content: String,
        #[serde(default)]
        client_id: Option<String>,
    },
    /// The visitor is typing (`true`) or stopped (`false`). Not stored;
    /// the server drops frames that come faster than one a second.
    Typing {
        active: bool,
    },
    /// The visitor has seen every message up to `seq` (stored, monotonic,
    /// capped at the conversation's last seq).
    Read {
        seq: i64,
    },
    Ping,
}

impl ClientFrame for VisitorClientFrame {
    const TYPES: &'static [&'static str] = &["auth", "message", "typing", "read", "ping"];
    fn is_ping(&self) -> bool {
        matches!(self, Self::Ping)
    }
}

/// Which side of a conversation typed or read: the visitor (`customer`) or
/// an agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    Customer,
    Agent,
}

/// What a visitor is told about its conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitorSession {
    pub status: SessionStatus,
    pub customer_id: CustomerId,
}

/// Server → visitor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum VisitorServerFrame {
    /// A stored message of this conversation (the visitor's own included:
    /// that echo is its acknowledgement), in seq order, each seq once.
    Message {
        message: MessageView,
    },
    /// The conversation changed (closed, reopened).
    Session {
        session: VisitorSession,
    },
    /// A frame was refused; nothing was stored. `client_id` names the
    /// message it was about.
    Error {
        error: ApiError,
        client_id: Option<String>,
    },
    /// An agent is typing (or stopped); `name` is the agent's shown name.
    Typing {
        by: Party,
        name: String,
        active: bool,
    },
    /// The agents have seen every message up to `seq`.
    Read {
        by: Party,
        seq: i64,
    },
    Pong,
    /// Whether an agent is available (a socket of theirs is open on any
    /// instance): sent right after auth, and whenever it changes.
    Availability {
        available: bool,
    },
}

/// Agent → server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AgentClientFrame {
    /// A reply to a conversation; it comes back as a `message` frame.
    Reply {
        session_id: SessionId,
        content: String,
        #[serde(default)]
        client_id: Option<String>,
    },
    /// This agent is typing in a conversation (or stopped); the visitor
    /// hears of it with the agent's shown name. Throttled like the
    /// visitor's.
    Typing {
        session_id: SessionId,
        active: bool,
    },
    /// This agent has seen a conversation up to `seq`.
    Read {
        session_id: SessionId,
        seq: i64,
    },
    /// This page shows a conversation (`null`: none); other agents see
    /// who else is viewing it.
    Viewing {
        #[serde(default)]
        session_id: Option<SessionId>,
    },
    /// The agent went idle (`true`, after 5 minutes without input) or
    /// came back. Away agents do not make the widget available.
    Away {
        away: bool,
    },
    Ping,
}

impl ClientFrame for AgentClientFrame {
    const TYPES: &'static [&'static str] = &["reply", "typing", "read", "viewing", "away", "ping"];
    fn is_ping(&self) -> bool {
        matches!(self, Self::Ping)
    }
}

/// Whether an agent (one socket of theirs) is there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PresenceStatus {
    Online,
    Away,
    Offline,
}

/// Server → agent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AgentServerFrame {
    /// A message was stored in some conversation.
    Message {
        session_id: SessionId,
        customer_id: CustomerId,
        message: MessageView,
    },
    /// A conversation was created or changed (status, name, last message,
    /// assignee).
    Session {
        session: SessionView,
    },
    /// An agent left a private note on a conversation. Agents only: no
    /// visitor frame carries notes.
    Note {
        note: NoteView,
    },
    /// This socket may have missed events (it fell behind, or this server
    /// lost its link to the others for a moment): refetch what is shown.
    Resync,
    /// One side of a conversation is typing (or stopped): the visitor,
    /// or an agent (then with their id and the name agents know them by).
    Typing {
        session_id: SessionId,
        by: Party,
        active: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        agent_id: Option<AgentId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// One agent socket's presence: sent when it opens, changes (away,
    /// viewing) or closes (`offline`), and again every 30 s while open.
    /// An agent is online when any of their sockets is, else away when
    /// any is; a socket not heard of for 75 s is gone.
    Presence {
        agent_id: AgentId,
        name: String,
        /// Tells one agent's sockets (tabs, devices) apart.
        socket: String,
        status: PresenceStatus,
        /// The conversation that socket's page shows.
        #[serde(default)]
        viewing: Option<SessionId>,
    },
    /// One side of a conversation has seen it up to `seq` (the visitor, or
    /// an agent: other agents' unread counts).
    Read {
        session_id: SessionId,
        by: Party,
        seq: i64,
    },
    /// What the customer panel shows of a conversation's visitor changed
    /// (their browser reported another page of a single-page site).
    Visitor {
        session_id: SessionId,
        visitor: VisitorView,
    },
    /// An admin deleted a conversation for good: lists drop it, a page
    /// showing it says so. (Its visitor's socket closes with `4401`.)
    Deleted {
        session_id: SessionId,
    },
    /// A frame was refused; nothing was stored.
    Error {
        error: ApiError,
        client_id: Option<String>,
    },
    Pong,
}

impl AgentServerFrame {
    /// Reads a frame as the dashboard does: the JSON into a flat set of
    /// optional fields, then the variant its `type` names.
    /// The same result as the derived `Deserialize` (a test holds them
    /// equal), without the internally tagged enum's buffering of every
    /// field into serde's `Content`, which gave each payload type (message,
    /// conversation, note, visitor) a second decoder in the dashboard's
    /// wasm. `None` for an unknown `type`, a missing field or bad JSON.
    /// The JSON is read as every response is ([`crate::json::decode`]).
    pub fn decode(json: &[u8]) -> Option<Self> {
        let f: FrameFields = crate::json::decode(json).ok()?;
        Some(match f.kind {
            FrameType::Message => Self::Message {
                session_id: f.session_id?,
                customer_id: f.customer_id?,
                message: f.message?,
            },
            FrameType::Session => Self::Session {
                session: f.session?,
            },
            FrameType::Note => Self::Note { note: f.note? },
            FrameType::Resync => Self::Resync,
            FrameType::Typing => Self::Typing {
                session_id: f.session_id?,
                by: f.by?,
                active: f.active?,
                agent_id: f.agent_id,
                name: f.name,
            },
            FrameType::Presence => Self::Presence {
                agent_id: f.agent_id?,
                name: f.name?,
                socket: f.socket?,
                status: f.status?,
                viewing: f.viewing,
            },
            FrameType::Read => Self::Read {
                session_id: f.session_id?,
                by: f.by?,
                seq: f.seq?,
            },
            FrameType::Visitor => Self::Visitor {
                session_id: f.session_id?,
                visitor: f.visitor?,
            },
            FrameType::Deleted => Self::Deleted {
                session_id: f.session_id?,
            },
            FrameType::Error => Self::Error {
                error: f.error?,
                client_id: f.client_id,
            },
            FrameType::Pong => Self::Pong,
            FrameType::Other => return None,
        })
    }
}

/// The `type` of an [`AgentServerFrame`], for [`AgentServerFrame::decode`].
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum FrameType {
    Message,
    Session,
    Note,
    Resync,
    Typing,
    Presence,
    Read,
    Visitor,
    Deleted,
    Error,
    Pong,
    #[serde(other)]
    Other,
}

/// Every field any [`AgentServerFrame`] has (serde reads a missing
/// `Option` as `None`).
#[derive(Deserialize)]
struct FrameFields {
    #[serde(rename = "type")]
    kind: FrameType,
    session_id: Option<SessionId>,
    customer_id: Option<CustomerId>,
    message: Option<MessageView>,
    session: Option<SessionView>,
    note: Option<NoteView>,
    by: Option<Party>,
    active: Option<bool>,
    agent_id: Option<AgentId>,
    name: Option<String>,
    socket: Option<String>,
    status: Option<PresenceStatus>,
    viewing: Option<SessionId>,
    seq: Option<i64>,
    visitor: Option<VisitorView>,
    error: Option<ApiError>,
    client_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ErrorCode;

    #[test]
    fn frames_have_the_documented_shape() {
        let auth: VisitorClientFrame =
            serde_json::from_str(r#"{"type":"auth","token":"t","after":3}"#).unwrap();
        assert_eq!(
            auth,
            VisitorClientFrame::Auth {
                token: "t".into(),
                after: Some(3)
            }
        );
        let msg: VisitorClientFrame =
            serde_json::from_str(r#"{"type":"message","content":"hi","extra":1}"#).unwrap();
        assert!(matches!(
            msg,
            VisitorClientFrame::Message {
                client_id: None,
                ..
            }
        ));
        let resync = serde_json::to_value(AgentServerFrame::Resync).unwrap();
        assert_eq!(resync, serde_json::json!({"type": "resync"}));
        let error = serde_json::to_value(VisitorServerFrame::Error {
            error: ApiError::new(ErrorCode::EmptyContent, "The message is empty."),
            client_id: Some("c1".into()),
        })
        .unwrap();
        assert_eq!(error["error"]["code"], "empty_content");
        assert_eq!(error["error"]["retryable"], false);
        assert_eq!(error["client_id"], "c1");

        let typing: VisitorClientFrame =
            serde_json::from_str(r#"{"type":"typing","active":true}"#).unwrap();
        assert_eq!(typing, VisitorClientFrame::Typing { active: true });
        let read: AgentClientFrame =
            serde_json::from_str(r#"{"type":"read","session_id":"s","seq":4}"#).unwrap();
        assert_eq!(
            read,
            AgentClientFrame::Read {
                session_id: "s".into(),
                seq: 4
            }
        );
        let to_agents = serde_json::to_value(AgentServerFrame::Typing {
            session_id: "s".into(),
            by: Party::Customer,
            active: false,
            agent_id: None,
            name: None,
        })
        .unwrap();
        assert_eq!(
            to_agents,
            serde_json::json!({"type": "typing", "session_id": "s", "by": "customer", "active": false})
        );
        let to_visitor = serde_json::to_value(VisitorServerFrame::Read {
            by: Party::Agent,
            seq: 9,
        })
        .unwrap();
        assert_eq!(
            to_visitor,
            serde_json::json!({"type": "read", "by": "agent", "seq": 9})
        );

        let note = serde_json::to_value(AgentServerFrame::Note {
            note: crate::types::NoteView {
                id: "n1".into(),
                session_id: "s".into(),
                author_id: Some("a1".into()),
                author_name: Some("Ann".into()),
                content: "private".into(),
                created_at: "2026-12-10T09:00:00.000000Z".into(),
                client_id: Some("c-1".into()),
            },
        })
        .unwrap();
        assert_eq!(
            note,
            serde_json::json!({"type": "note", "note": {
                "id": "n1", "session_id": "s", "author_id": "a1", "author_name": "Ann",
                "content": "private", "created_at": "2026-12-10T09:00:00.000000Z",
                "client_id": "c-1"
            }})
        );
    }
}

/// [`AgentServerFrame::decode`] reads every frame the server writes as the
/// derived `Deserialize` does, and refuses what it refuses.
#[cfg(test)]
mod decode {
    use super::*;
    use crate::types::{ErrorCode, Sender};

    fn frames() -> Vec<AgentServerFrame> {
        let message = MessageView {
            id: "m1".into(),
            seq: 3,
            sender: Sender::Customer,
            content: "hi \"there\"\n".into(),
            created_at: "2026-12-01T18:00:00.123456Z".into(),
            client_id: Some("c1".into()),
            agent_name: None,
            attachment: None,
        };
        let session: SessionView = serde_json::from_value(serde_json::json!({
            "id": "s1", "customer_id": "c1", "name": "Vera", "email": null,
            "status": "open", "created_at": "2026-12-01T18:00:00Z",
            "updated_at": "2026-12-01T18:00:01Z", "last_message": "hi",
            "last_message_at": "2026-12-01T18:00:01Z", "last_seq": 3,
            "unread": 1, "waiting": true, "assignee_id": "a1"
        }))
        .unwrap();
        let visitor: VisitorView = serde_json::from_value(serde_json::json!({
            "verified": true, "last_seen": "2026-12-01T18:00:00Z",
            "page_url": "https://shop.example/cart", "referrer": null,
            "user_agent": null, "browser": "Firefox 133 on Windows",
            "time_zone": "Europe/Paris", "utc_offset": 60, "local_time": "19:00"
        }))
        .unwrap();
        vec![
            AgentServerFrame::Message {
                session_id: "s1".into(),
                customer_id: "c1".into(),
                message,
            },
            AgentServerFrame::Session { session },
            AgentServerFrame::Note {
                note: NoteView {
                    id: "n1".into(),
                    session_id: "s1".into(),
                    author_id: None,
                    author_name: Some("Ann".into()),
                    content: "private".into(),
                    created_at: "2026-12-01T18:00:00Z".into(),
                    client_id: None,
                },
            },
            AgentServerFrame::Resync,
            AgentServerFrame::Typing {
                session_id: "s1".into(),
                by: Party::Agent,
                active: true,
                agent_id: Some("a1".into()),
                name: Some("Ann".into()),
            },
            AgentServerFrame::Typing {
                session_id: "s1".into(),
                by: Party::Customer,
                active: false,
                agent_id: None,
                name: None,
            },
            AgentServerFrame::Presence {
                agent_id: "a1".into(),
                name: "Ann".into(),
                socket: "k1".into(),
                status: PresenceStatus::Away,
                viewing: Some("s1".into()),
            },
            AgentServerFrame::Read {
                session_id: "s1".into(),
                by: Party::Customer,
                seq: 7,
            },
            AgentServerFrame::Visitor {
                session_id: "s1".into(),
                visitor,
            },
            AgentServerFrame::Deleted {
                session_id: "s1".into(),
            },
            AgentServerFrame::Error {
                error: ApiError::rate_limited("Too fast.", 1500),
                client_id: Some("c9".into()),
            },
            AgentServerFrame::Error {
                error: ApiError::new(ErrorCode::EmptyContent, "Empty."),
                client_id: None,
            },
            AgentServerFrame::Pong,
        ]
    }

    #[test]
    fn decode_equals_the_derived_deserialize() {
        for frame in frames() {
            let json = serde_json::to_string(&frame).unwrap();
            let derived: AgentServerFrame = serde_json::from_str(&json).unwrap();
            assert_eq!(derived, frame, "{json}");
            assert_eq!(
                AgentServerFrame::decode(json.as_bytes()),
                Some(frame),
                "{json}"
            );
        }
    }

    #[test]
    fn decode_refuses_what_serde_refuses() {
        for json in [
            r#"{"type":"shout","session_id":"s1"}"#,
            r#"{"type":"deleted"}"#,
            r#"{"type":"read","session_id":"s1","by":"customer"}"#,
            r#"{"type":"read","session_id":"s1","by":"robot","seq":1}"#,
            r#"{"type":"message","session_id":"s1","customer_id":"c1","message":{"seq":1}}"#,
            r#"{"session_id":"s1"}"#,
            r#"["deleted"]"#,
            "not json",
        ] {
            assert!(
                serde_json::from_str::<AgentServerFrame>(json).is_err(),
                "serde reads {json}"
            );
            assert_eq!(AgentServerFrame::decode(json.as_bytes()), None, "{json}");
        }
        // Fields no frame has are ignored, as by serde. (Unlike serde, a
        // field of another frame with the wrong type is refused: the server
        // never writes one.)
        let extra = r#"{"type":"deleted","session_id":"s1","new":{"a":[1]}}"#;
        assert_eq!(
            AgentServerFrame::decode(extra.as_bytes()),
            serde_json::from_str(extra).ok()
        );
    }
}

/// The golden frames the widget's decoder is tested against
/// (`widget-wasm/tests/golden/visitor_frames.json`): each server → visitor
/// frame as the server encodes it, beside what the widget must read from
/// it. `UPDATE_GOLDEN=1 cargo test -p app --features ssr golden` rewrites
/// the file after a deliberate change.
#[cfg(test)]
mod golden {
    use serde_json::{json, Value};

    use super::*;
    use crate::types::{AttachmentView, ErrorCode, MessageView, Sender};

    fn message(
        seq: i64,
        sender: Sender,
        agent: Option<&str>,
        client_id: Option<&str>,
    ) -> MessageView {
        MessageView {
            id: format!("5b0b6a8e-4f7e-4d59-9a53-3f0e0c7f8a{seq:02}").into(),
            seq,
            sender,
            content: format!("Hello <b>{seq}</b> \"quoted\" — ünïcode\nsecond line"),
            created_at: "2026-12-01T18:00:00.123456Z".into(),
            client_id: client_id.map(Into::into),
            agent_name: agent.map(Into::into),
            attachment: None,
        }
    }

    fn decoded_message(m: &MessageView) -> Value {
        json!({
            "kind": "message",
            "seq": m.seq,
            "sender": m.sender.as_str(),
            "content": m.content,
            "client_id": m.client_id,
            "agent_name": m.agent_name,
            "attachment_id": m.attachment.as_ref().map(|a| a.id.clone()),
        })
    }

    fn cases() -> Vec<(&'static str, VisitorServerFrame, Value)> {
        let mine = message(1, Sender::Customer, None, Some("c0ffee-1"));
        let agent = message(2, Sender::Agent, Some("ann"), Some("r-7"));
        let bot = message(3, Sender::Bot, None, None);
        let mut file = message(4, Sender::Customer, None, Some("c0ffee-3"));
        file.content = String::new();
        file.attachment = Some(Box::new(AttachmentView {
            id: "8c1d2e3f-0000-4000-8000-00000000a001".into(),
            name: "photo <1>.png".into(),
            size: 2048,
            content_type: "image/png".into(),
            url: "/chat/api/attachments/8c1d2e3f-0000-4000-8000-00000000a001/?expires=1&signature=s".into(),
            thumbnail_url: Some("/chat/api/attachments/8c1d2e3f-0000-4000-8000-00000000a001/thumbnail/?expires=1&signature=s".into()),
            width: Some(640),
            height: Some(480),
        }));
        let mut cases = Vec::new();
        for (name, m) in [
            ("message_customer", mine),
            ("message_agent", agent),
            ("message_bot", bot),
            ("message_attachment", file),
        ] {
            let decoded = decoded_message(&m);
            cases.push((name, VisitorServerFrame::Message { message: m }, decoded));
        }
        for (name, status, closed) in [
            ("session_closed", SessionStatus::Closed, true),
            ("session_open", SessionStatus::Open, false),
        ] {
            cases.push((
                name,
                VisitorServerFrame::Session {
                    session: VisitorSession {
                        status,
                        customer_id: "2f1e0c7f8a11".into(),
                    },
                },
                json!({"kind": "session", "closed": closed}),
            ));
        }
        for (name, error) in [
            (
                "error_final",
                ApiError::new(ErrorCode::ContentTooLong, "The message was not stored."),
            ),
            (
                "error_retryable",
                ApiError::new(ErrorCode::Unavailable, "The message was not stored."),
            ),
            (
                "error_rate_limited",
                ApiError::rate_limited("Too fast; not stored.", 1500),
            ),
        ] {
            cases.push((
                name,
                VisitorServerFrame::Error {
                    error: error.clone(),
                    client_id: Some("c0ffee-2".into()),
                },
                json!({
                    "kind": "error",
                    "client_id": "c0ffee-2",
                    "message": error.message,
                    "retryable": error.retryable,
                    "retry_after_ms": error.retry_after_ms,
                }),
            ));
        }
        for (name, active) in [("typing_started", true), ("typing_stopped", false)] {
            cases.push((
                name,
                VisitorServerFrame::Typing {
                    by: Party::Agent,
                    name: "Ann <b>\"O'Neil\"</b>".into(),
                    active,
                },
                json!({"kind": "typing", "active": active, "name": "Ann <b>\"O'Neil\"</b>"}),
            ));
        }
        cases.push((
            "read_by_agent",
            VisitorServerFrame::Read {
                by: Party::Agent,
                seq: 42,
            },
            json!({"kind": "read", "seq": 42}),
        ));
        cases.push(("pong", VisitorServerFrame::Pong, json!({"kind": "other"})));
        cases.push((
            "availability",
            VisitorServerFrame::Availability { available: true },
            json!({"kind": "availability", "available": true}),
        ));
        cases
    }

    #[test]
    fn golden_frames_for_the_widget() {
        let cases: Vec<Value> = cases()
            .into_iter()
            .map(|(name, frame, decoded)| {
                json!({
                    "name": name,
                    "frame": serde_json::to_string(&frame).unwrap(),
                    "decoded": decoded,
                })
            })
            .collect();
        let text = serde_json::to_string_pretty(&cases).unwrap() + "\n";
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../widget-wasm/tests/golden/visitor_frames.json"
        );
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(path, &text).unwrap();
        }
        let stored = std::fs::read_to_string(path).unwrap_or_default();
        assert_eq!(
            stored, text,
            "the server's frames changed: run UPDATE_GOLDEN=1 cargo test -p app --features ssr golden, then cargo test -p widget-wasm"
        );
    }
}
