//! Wire types shared by the server's JSON API, its sockets and the dashboard.
//!
//! They are the single definition of every payload: the server serialises
//! them, the dashboard deserialises them, and docs/api.md describes them.

use serde::{Deserialize, Serialize};
use server_fn::codec::JsonEncoding;
use server_fn::error::{FromServerFnError, ServerFnErrorErr};

/// One stored message, as visitors and agents see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageView {
    pub id: String,
    /// Position in its conversation: 1, 2, 3… without gaps. Clients resume
    /// from the highest one they have seen.
    pub seq: i64,
    pub sender: Sender,
    pub content: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub client_id: Option<String>,
    pub agent_name: Option<String>,
}

/// Who wrote a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sender {
    Customer,
    Agent,
    Bot,
}

impl Sender {
    pub fn as_str(self) -> &'static str {
        match self {
            Sender::Customer => "customer",
            Sender::Agent => "agent",
            Sender::Bot => "bot",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "customer" => Some(Sender::Customer),
            "agent" => Some(Sender::Agent),
            "bot" => Some(Sender::Bot),
            _ => None,
        }
    }
}

/// Whether a conversation is still being worked on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    Open,
    Closed,
}

impl SessionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStatus::Open => "open",
            SessionStatus::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "open" => Some(SessionStatus::Open),
            "closed" => Some(SessionStatus::Closed),
            _ => None,
        }
    }
}

/// One conversation with one visitor, as agents see it in lists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    pub id: String,
    pub customer_id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub status: SessionStatus,
    pub created_at: String,
    pub updated_at: String,
    /// A preview of the newest message (full text; the UI shortens it).
    pub last_message: Option<String>,
    pub last_message_at: Option<String>,
    pub last_seq: i64,
}

/// One conversation with its whole history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationView {
    pub session: SessionView,
    pub messages: Vec<MessageView>,
}

/// The signed-in support agent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentView {
    pub id: String,
    pub username: String,
    pub role: AgentRole,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentRole {
    Admin,
    Agent,
}

impl AgentRole {
    pub fn as_str(self) -> &'static str {
        match self {
            AgentRole::Admin => "admin",
            AgentRole::Agent => "agent",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(AgentRole::Admin),
            "agent" => Some(AgentRole::Agent),
            _ => None,
        }
    }
}

/// What the agent socket (`/ws/admin/dashboard/`) pushes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DashboardEvent {
    /// A message was stored in some conversation.
    Message {
        session_id: String,
        customer_id: String,
        message: MessageView,
    },
    /// A conversation was created or changed (status, name, last message).
    Session { session: SessionView },
}

/// The error every server function returns; mirrors the HTTP API's
/// `{"error": {"code", "message"}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub code: String,
    pub message: String,
}

impl ApiError {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
        }
    }

    pub fn unauthorized() -> Self {
        Self::new("unauthorized", "Please sign in.")
    }

    pub fn is_unauthorized(&self) -> bool {
        self.code == "unauthorized"
    }
}

impl FromServerFnError for ApiError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        ApiError::new("request_failed", value.to_string())
    }
}

/// Shortens a conversation preview to `max` characters, on a char boundary.
pub fn preview(text: &str, max: usize) -> String {
    let mut out: String = text.chars().take(max).collect();
    if text.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

/// `2026-11-23T22:29:26.123Z` → `2026-11-23 22:29` (UTC). Deterministic, so the
/// server's render and the browser's hydration agree.
pub fn short_time(rfc3339: &str) -> String {
    let date = rfc3339.get(0..10).unwrap_or(rfc3339);
    let time = rfc3339.get(11..16).unwrap_or("");
    format!("{date} {time}").trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preview_cuts_on_char_boundary() {
        assert_eq!(preview("héllo wörld", 5), "héllo…");
        assert_eq!(preview("short", 10), "short");
    }

    #[test]
    fn short_time_is_stable() {
        assert_eq!(short_time("2026-11-23T22:29:26.123Z"), "2026-11-23 22:29");
        assert_eq!(short_time("bad"), "bad");
    }

    #[test]
    fn events_have_the_documented_shape() {
        let ev = DashboardEvent::Session {
            session: SessionView {
                id: "s".into(),
                customer_id: "c".into(),
                name: None,
                email: None,
                status: SessionStatus::Open,
                created_at: "t".into(),
                updated_at: "t".into(),
                last_message: None,
                last_message_at: None,
                last_seq: 0,
            },
        };
        let json = serde_json::to_value(&ev).unwrap();
        assert_eq!(json["type"], "session");
        assert_eq!(json["session"]["status"], "open");
    }
}
