//! Every frame of both sockets, in one place: what clients send and what
//! the server sends, on the visitor socket (`/ws/chat/{customer_id}/`) and
//! the agent socket (`/ws/admin/dashboard/`). The server serialises these,
//! the dashboard deserialises them, the widget's decoder is tested against
//! golden files made from them, and docs/api.md describes them.

use serde::{Deserialize, Serialize};

use crate::types::{ApiError, CustomerId, MessageView, SessionId, SessionStatus, SessionView};

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
    Ping,
}

impl ClientFrame for VisitorClientFrame {
    const TYPES: &'static [&'static str] = &["auth", "message", "ping"];
    fn is_ping(&self) -> bool {
        matches!(self, Self::Ping)
    }
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
    Message { message: MessageView },
    /// The conversation changed (closed, reopened).
    Session { session: VisitorSession },
    /// A frame was refused; nothing was stored. `client_id` names the
    /// message it was about.
    Error {
        error: ApiError,
        client_id: Option<String>,
    },
    Pong,
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
    Ping,
}

impl ClientFrame for AgentClientFrame {
    const TYPES: &'static [&'static str] = &["reply", "ping"];
    fn is_ping(&self) -> bool {
        matches!(self, Self::Ping)
    }
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
    /// A conversation was created or changed (status, name, last message).
    Session { session: SessionView },
    /// This socket may have missed events (it fell behind, or this server
    /// lost its link to the others for a moment): refetch what is shown.
    Resync,
    /// A frame was refused; nothing was stored.
    Error {
        error: ApiError,
        client_id: Option<String>,
    },
    Pong,
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
        assert!(matches!(msg, VisitorClientFrame::Message { client_id: None, .. }));
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
    }
}
