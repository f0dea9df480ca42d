//! The conversation's domain values: input parsed once at the edge (if you
//! hold one, it is valid), and [`Conversation`], a stored conversation.

use app::types::{AgentId, CustomerId, ErrorCode, SessionId, SessionStatus, SessionView};
use chrono::{DateTime, Utc};

use crate::error::AppError;
use crate::storage::rfc3339;

/// A stored conversation, as the domain sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conversation {
    pub id: SessionId,
    pub customer_id: CustomerId,
    /// The keyed hash of the visitor's token.
    pub token_hash: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub status: SessionStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_message: Option<String>,
    pub last_message_at: Option<DateTime<Utc>>,
    /// The highest message seq handed out.
    pub last_seq: i64,
    /// The highest seq the visitor has read.
    pub customer_read_seq: i64,
    /// The highest seq an agent has read.
    pub agent_read_seq: i64,
    /// Began as an offline message.
    pub offline: bool,
    /// The agent working on it.
    pub assignee_id: Option<AgentId>,
    /// The seq of the newest visitor message (0: none).
    pub last_customer_seq: i64,
    /// The seq of the newest agent message (0: none).
    pub last_agent_seq: i64,
    /// When the first visitor message was stored.
    pub first_customer_at: Option<DateTime<Utc>>,
    /// When the first agent message was stored.
    pub first_agent_at: Option<DateTime<Utc>>,
}

impl Conversation {
    /// What agents see of it, with what the row alone does not hold: the
    /// assignee's name and the unread count (the store looks them up:
    /// [`super::store::ChatStore::session_views`]).
    pub fn view(&self, assignee_name: Option<String>, unread: i64) -> SessionView {
        SessionView {
            id: self.id.clone(),
            customer_id: self.customer_id.clone(),
            name: self.name.clone(),
            email: self.email.clone(),
            status: self.status,
            created_at: rfc3339(self.created_at),
            updated_at: rfc3339(self.updated_at),
            last_message: self.last_message.clone(),
            last_message_at: self.last_message_at.map(rfc3339),
            last_seq: self.last_seq,
            customer_read_seq: self.customer_read_seq,
            agent_read_seq: self.agent_read_seq,
            offline: self.offline,
            assignee_id: self.assignee_id.clone(),
            assignee_name,
            unread,
            waiting: self.waiting(),
        }
    }

    /// Waiting for a reply: the newest visitor message has no agent
    /// message after it.
    pub fn waiting(&self) -> bool {
        self.last_customer_seq > self.last_agent_seq
    }

    /// Whether some visitor message is above the agents' read seq (the
    /// unread count is then above 0).
    pub fn has_unread(&self) -> bool {
        self.last_customer_seq > self.agent_read_seq
    }
}

/// The most characters a customer_id may have.
pub const CUSTOMER_ID_MAX: usize = 128;

/// A visitor's public id, as sites pass their own user ids (`42`,
/// `ann@example.com`, a UUID, `user/7`): trimmed, 1–128 characters, no
/// control characters.
pub fn parse_customer_id(raw: &str) -> Result<CustomerId, AppError> {
    let id = raw.trim();
    if id.is_empty() || id.chars().count() > CUSTOMER_ID_MAX || id.chars().any(char::is_control) {
        return Err(AppError::Invalid(
            ErrorCode::InvalidCustomerId,
            "customer_id must be 1–128 characters, not blank, without control characters.".into(),
        ));
    }
    Ok(CustomerId::from(id))
}

/// A `customer_id` from a JSON body: a string, or an integer (`42` →
/// `"42"`). `null` means none; any other type is `invalid_customer_id`.
pub fn customer_id_text(value: &serde_json::Value) -> Result<Option<String>, AppError> {
    match value {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::String(s) => Ok(Some(s.clone())),
        serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => Ok(Some(n.to_string())),
        _ => Err(AppError::Invalid(
            ErrorCode::InvalidCustomerId,
            "customer_id must be a string or a whole number.".into(),
        )),
    }
}

/// A fresh random public id.
pub fn new_customer_id() -> CustomerId {
    CustomerId::from(uuid::Uuid::new_v4().simple().to_string())
}

/// A message's text: not blank, at most the configured number of characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageText(String);

impl MessageText {
    pub fn parse(raw: &str, max_chars: usize) -> Result<Self, AppError> {
        let text = raw.trim_end();
        let text = text.trim_start_matches(['\n', '\r']);
        if text.trim().is_empty() {
            return Err(AppError::Invalid(
                ErrorCode::EmptyContent,
                "The message is empty.".into(),
            ));
        }
        let chars = text.chars().count();
        if chars > max_chars {
            return Err(AppError::Invalid(
                ErrorCode::ContentTooLong,
                format!("The message has {chars} characters; the limit is {max_chars}."),
            ));
        }
        if text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
        {
            return Err(AppError::Invalid(
                ErrorCode::InvalidContent,
                "The message contains control characters.".into(),
            ));
        }
        Ok(Self(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A sender's idempotency key: 1–64 characters of `[A-Za-z0-9_.:-]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientId(String);

impl ClientId {
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        if raw.is_empty()
            || raw.len() > 64
            || !raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
        {
            return Err(AppError::Invalid(
                ErrorCode::InvalidClientId,
                "client_id must be 1–64 characters of letters, digits, '-', '_', '.', ':'.".into(),
            ));
        }
        Ok(Self(raw.to_string()))
    }

    /// A fresh one, for senders that did not give one.
    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A visitor's display name: trimmed, at most 200 characters; blank means none.
pub fn parse_name(raw: Option<&str>) -> Result<Option<String>, AppError> {
    let Some(name) = raw.map(str::trim).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    if name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(AppError::Invalid(
            ErrorCode::InvalidName,
            "name must be at most 200 characters, without control characters.".into(),
        ));
    }
    Ok(Some(name.to_string()))
}

/// A visitor's email: trimmed, `local@domain.tld`, at most 254 characters;
/// blank means none.
pub fn parse_email(raw: Option<&str>) -> Result<Option<String>, AppError> {
    let Some(email) = raw.map(str::trim).filter(|e| !e.is_empty()) else {
        return Ok(None);
    };
    let valid = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if !valid {
        return Err(AppError::Invalid(
            ErrorCode::InvalidEmail,
            "email must look like name@example.com.".into(),
        ));
    }
    Ok(Some(email.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_text_rejects_blank_and_long() {
        assert_eq!(
            MessageText::parse("  \n ", 10).unwrap_err().code(),
            ErrorCode::EmptyContent
        );
        assert_eq!(
            MessageText::parse("abcdefghijk", 10).unwrap_err().code(),
            ErrorCode::ContentTooLong
        );
        assert_eq!(
            MessageText::parse("a\u{0}b", 10).unwrap_err().code(),
            ErrorCode::InvalidContent
        );
        assert_eq!(
            MessageText::parse("héllo wörld", 11).unwrap().as_str(),
            "héllo wörld"
        );
        assert_eq!(
            MessageText::parse("  indented\nline \n", 100)
                .unwrap()
                .as_str(),
            "  indented\nline"
        );
    }

    #[test]
    fn client_ids() {
        assert!(ClientId::parse("6f1c-aa_1.x:2").is_ok());
        assert!(ClientId::parse("").is_err());
        assert!(ClientId::parse(&"a".repeat(65)).is_err());
        assert!(ClientId::parse("has space").is_err());
        assert_eq!(ClientId::generate().as_str().len(), 36);
    }

    #[test]
    fn customer_ids() {
        for good in [
            "42",
            "ann@example.com",
            "user/7",
            "abcdefgh",
            "Ann Smith",
            "ü",
        ] {
            assert_eq!(parse_customer_id(good).unwrap().as_str(), good);
        }
        assert_eq!(parse_customer_id("  42 ").unwrap().as_str(), "42");
        assert!(parse_customer_id(&"x".repeat(128)).is_ok());
        assert!(parse_customer_id(&"é".repeat(128)).is_ok());
        for bad in ["", "   ", "a\u{0}b", "tab\there", "new\nline"] {
            assert_eq!(
                parse_customer_id(bad).unwrap_err().code(),
                ErrorCode::InvalidCustomerId,
                "{bad:?}"
            );
        }
        assert!(parse_customer_id(&"x".repeat(129)).is_err());
        assert_eq!(new_customer_id().as_str().len(), 32);
    }

    #[test]
    fn customer_ids_from_json() {
        use serde_json::json;
        assert_eq!(customer_id_text(&json!(42)).unwrap().as_deref(), Some("42"));
        assert_eq!(customer_id_text(&json!(-7)).unwrap().as_deref(), Some("-7"));
        assert_eq!(
            customer_id_text(&json!("a@b.co")).unwrap().as_deref(),
            Some("a@b.co")
        );
        assert_eq!(customer_id_text(&json!(null)).unwrap(), None);
        for bad in [json!(1.5), json!(true), json!([1]), json!({"a": 1})] {
            assert_eq!(
                customer_id_text(&bad).unwrap_err().code(),
                ErrorCode::InvalidCustomerId
            );
        }
    }

    #[test]
    fn names_and_emails() {
        assert_eq!(parse_name(Some("  Ann ")).unwrap().as_deref(), Some("Ann"));
        assert_eq!(parse_name(Some("   ")).unwrap(), None);
        assert!(parse_name(Some(&"x".repeat(201))).is_err());
        assert_eq!(
            parse_email(Some("a@b.co")).unwrap().as_deref(),
            Some("a@b.co")
        );
        assert_eq!(parse_email(None).unwrap(), None);
        for bad in ["a", "a@b", "@b.co", "a@@b.co", "a b@c.de", "a@.co"] {
            assert!(parse_email(Some(bad)).is_err(), "{bad}");
        }
    }
}
