//! Wire types shared by the server's JSON API, its sockets and the dashboard.
//!
//! They are the single definition of every payload: the server serialises
//! them, the dashboard deserialises them, and docs/api.md describes them.

use std::fmt;

use serde::{Deserialize, Serialize};

pub use crate::error::{ApiError, ErrorCode};

/// Declares a string id newtype: serialised as a bare string, compared and
/// hashed as one, never confused with another kind of id.
macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_string())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }
    };
}

id_type!(
    /// A conversation's internal id (UUID v4); agents and the admin API use it.
    SessionId
);
id_type!(
    /// A conversation's public id, held by the visitor's browser. Knowing it
    /// grants nothing without the conversation's token.
    CustomerId
);
id_type!(
    /// A support agent's id (UUID v4).
    AgentId
);
id_type!(
    /// A stored message's id (UUID v4).
    MessageId
);

/// One stored message, as visitors and agents see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageView {
    pub id: MessageId,
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
    pub id: SessionId,
    pub customer_id: CustomerId,
    pub name: Option<String>,
    pub email: Option<String>,
    pub status: SessionStatus,
    pub created_at: String,
    pub updated_at: String,
    /// A preview of the newest message (full text; the UI shortens it).
    pub last_message: Option<String>,
    pub last_message_at: Option<String>,
    pub last_seq: i64,
    /// The highest seq the visitor has read (0: none).
    #[serde(default)]
    pub customer_read_seq: i64,
    /// The highest seq an agent has read (0: none).
    #[serde(default)]
    pub agent_read_seq: i64,
    /// The conversation began as an offline message (the widget's form,
    /// sent while no agent was available).
    #[serde(default)]
    pub offline: bool,
}

/// One conversation with its whole history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationView {
    pub session: SessionView,
    /// The latest messages, in seq order.
    pub messages: Vec<MessageView>,
    /// Whether older messages exist than the first one here.
    pub has_more: bool,
}

/// One page of the conversation list; `next_cursor` fetches the next.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionPage {
    pub sessions: Vec<SessionView>,
    pub next_cursor: Option<String>,
}

/// A run of messages in seq order; `has_more` says whether more exist past
/// the end it was read towards.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessagePage {
    pub messages: Vec<MessageView>,
    pub has_more: bool,
}

/// The signed-in support agent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentView {
    pub id: AgentId,
    pub username: String,
    pub role: Role,
    /// What visitors see beside this agent's replies.
    pub display_name: String,
}

/// An account, as the admin API lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentAccount {
    pub id: AgentId,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub active: bool,
}

/// An API token, as listed (its value is shown once, when made).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiTokenView {
    pub id: String,
    pub agent_id: AgentId,
    pub name: Option<String>,
    pub created_at: String,
}

/// The name visitors see for an agent whose display name is not set.
pub const DEFAULT_AGENT_NAME: &str = "Support";

/// What visitors see for an agent: the display name, or
/// [`DEFAULT_AGENT_NAME`] — never the login username.
pub fn shown_agent_name(display_name: &str) -> String {
    let name = display_name.trim();
    if name.is_empty() {
        DEFAULT_AGENT_NAME.to_string()
    } else {
        name.to_string()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Agent,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Agent => "agent",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Role::Admin),
            "agent" => Some(Role::Agent),
            _ => None,
        }
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
}
