//! Wire types shared by the server's JSON API, its sockets and the dashboard.
//!
//! They are the single definition of every payload: the server serialises
//! them, the dashboard deserialises them, and docs/api.md describes them.

use serde::{Deserialize, Serialize};

pub use crate::error::{ApiError, ErrorCode};

/// Declares a string id newtype: serialised as a bare string, compared and
/// hashed as one, never confused with another kind of id.
macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
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

pub(crate) use id_type;

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
id_type!(
    /// An agent's private note's id (UUID v7).
    NoteId
);
id_type!(
    /// A canned response's id (UUID v7).
    CannedResponseId
);

/// One stored message, as visitors and agents see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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
    /// The file this message carries (its `content` is then the caption,
    /// possibly empty). Left out of the JSON when there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<Box<AttachmentView>>,
}

/// A file sent in a conversation. `url` and `thumbnail_url` are signed
/// and expire (an hour by default): fetch the message again for fresh
/// ones. Images (png, jpeg, gif, webp) have a thumbnail and their size in
/// pixels; other files have neither.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AttachmentView {
    pub id: String,
    /// The sender's file name, cleaned (no path, no control characters).
    pub name: String,
    /// Bytes.
    pub size: i64,
    /// Decided from the file's bytes, not its name.
    pub content_type: String,
    pub url: String,
    pub thumbnail_url: Option<String>,
    pub width: Option<i32>,
    pub height: Option<i32>,
}

/// What may be attached: in the widget config (visitors) and in a
/// conversation (agents), so clients refuse early with a clear message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AttachmentLimits {
    pub enabled: bool,
    /// Largest file, in bytes.
    pub max_bytes: u64,
    /// Accepted types: `png`, `jpeg`, `gif`, `webp`, `pdf`, `txt`, `csv`,
    /// `docx`, `xlsx`, `zip` (decided from a file's bytes).
    pub types: Vec<String>,
}

/// Who wrote a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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
    /// The agent working on it (`None`: nobody).
    #[serde(default)]
    pub assignee_id: Option<AgentId>,
    /// That agent's name as agents see it: the display name, or the
    /// username when none is set.
    #[serde(default)]
    pub assignee_name: Option<String>,
    /// How many visitor messages have a seq above `agent_read_seq`.
    #[serde(default)]
    pub unread: i64,
    /// The visitor wrote last: a visitor message with no agent message
    /// after it.
    #[serde(default)]
    pub waiting: bool,
}

/// One conversation with its latest messages and notes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ConversationView {
    /// What an agent may attach here (the server checks every upload
    /// anyway); absent from servers that predate attachments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachments: Option<AttachmentLimits>,
    pub session: SessionView,
    /// The latest messages, in seq order.
    pub messages: Vec<MessageView>,
    /// Whether older messages exist than the first one here.
    pub has_more: bool,
    /// Agents' private notes, newest first (the newest page of them).
    #[serde(default)]
    pub notes: Vec<NoteView>,
    /// Fetches the older notes, when there are any.
    #[serde(default)]
    pub notes_next_cursor: Option<String>,
    /// What the visitor's browser reported at their last start (`None`:
    /// nothing yet, e.g. a conversation from before the customer panel).
    #[serde(default)]
    pub visitor: Option<VisitorView>,
    /// The same person's other conversations (same e-mail, any case),
    /// newest first, at most 10.
    #[serde(default)]
    pub earlier: Vec<SessionView>,
}

/// The customer panel's facts about a visitor, from their last start (the
/// widget's `context` and the `User-Agent` header). Text to show as text:
/// a visitor controls every field.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct VisitorView {
    /// Identity verification vouched for them at their last start.
    pub verified: bool,
    /// Their last start, or when their socket last closed (RFC 3339, UTC).
    pub last_seen: String,
    /// The page they were on (http or https only).
    pub page_url: Option<String>,
    /// The page that sent them to it.
    pub referrer: Option<String>,
    pub user_agent: Option<String>,
    /// The browser and system, named from `user_agent` ("Firefox 133 on
    /// Windows").
    pub browser: Option<String>,
    /// An IANA name as the browser reports it (`Europe/Paris`).
    pub time_zone: Option<String>,
    /// Minutes east of UTC.
    pub utc_offset: Option<i32>,
    /// Their wall-clock time when this was read ("14:05 (UTC+02:00)").
    pub local_time: Option<String>,
}

/// A private note an agent left on a conversation. Agents only: never in
/// a visitor's history or on a visitor's socket, and never given a seq.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NoteView {
    pub id: NoteId,
    pub session_id: SessionId,
    /// `None` if the author's account is gone.
    pub author_id: Option<AgentId>,
    /// The author's name as agents see it (display name, else username).
    pub author_name: Option<String>,
    pub content: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// The id its sender gave it (a resend with it stores the note once).
    #[serde(default)]
    pub client_id: Option<String>,
}

/// One page of a conversation's notes, newest first; `next_cursor` fetches
/// the older ones.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NotePage {
    pub notes: Vec<NoteView>,
    pub next_cursor: Option<String>,
}

/// The inbox's filters and page, as the admin API's query string and the
/// dashboard's `list_sessions` take them; every field is optional (see
/// docs/api.md). Parsed and checked by the server.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "ssr", into_params(parameter_in = Query))]
pub struct InboxParams {
    /// `open`, `closed` or `all` (the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Words to find in messages, the visitor's name or e-mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// `me`, `none`, `all` (the default) or an agent's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned: Option<String>,
    /// `true`: only those with unread visitor messages; `false`: only those
    /// without.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unread: Option<bool>,
    /// `true`: only those waiting for a reply; `false`: only those not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting: Option<bool>,
    /// `true`: only those begun offline; `false`: only those not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline: Option<bool>,
    /// Where the page starts: a `next_cursor` this server gave out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// 1–100 (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// One page of the conversation list; `next_cursor` fetches the next.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SessionPage {
    pub sessions: Vec<SessionView>,
    pub next_cursor: Option<String>,
}

/// A run of messages in seq order; `has_more` says whether more exist past
/// the end it was read towards.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MessagePage {
    pub messages: Vec<MessageView>,
    pub has_more: bool,
}

/// A reply the team saved, typed as `/shortcut` in a conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CannedResponse {
    pub id: CannedResponseId,
    /// Lower case, without the `/`: `refund` for `/refund`.
    pub shortcut: String,
    pub content: String,
    /// Who saved it; `None` if their account is gone.
    pub created_by: Option<AgentId>,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub updated_at: String,
}

/// The canned responses whose shortcut starts with what follows the `/`
/// a draft begins with (`/ref` → `/refund`, `/refer`), best first: an
/// exact match, then by shortcut. Empty when the draft is not a lone
/// `/word`. Shortcuts are ASCII (`a-z`, `0-9`, `-`, `_`), so an ASCII
/// lower-casing is enough (and keeps Unicode's case tables out of the wasm).
pub fn canned_matches<'a>(draft: &str, all: &'a [CannedResponse]) -> Vec<&'a CannedResponse> {
    let Some(word) = draft.strip_prefix('/') else {
        return Vec::new();
    };
    if word.chars().any(char::is_whitespace) {
        return Vec::new();
    }
    let word = word.to_ascii_lowercase();
    let mut found: Vec<&CannedResponse> = all
        .iter()
        .filter(|c| c.shortcut.starts_with(&word))
        .collect();
    crate::sort::sort_by(&mut found, |a, b| {
        (a.shortcut != word, &a.shortcut).cmp(&(b.shortcut != word, &b.shortcut))
    });
    found
}

/// The dashboard home's figures (`GET /chat/api/admin/stats/`). Days are
/// UTC days.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Stats {
    /// Every conversation ever started.
    pub conversations: i64,
    /// Conversations open now.
    pub open: i64,
    /// Conversations with a visitor message no agent has read.
    pub unread: i64,
    /// Open conversations where the visitor wrote and no agent has
    /// answered yet.
    pub waiting_first_reply: i64,
    /// The median time from a conversation's first visitor message to its
    /// first agent reply, over the first replies given today (`None`: no
    /// first reply today).
    pub median_first_response_secs: Option<f64>,
    /// How many first replies that median is over.
    pub first_responses_today: i64,
    /// Conversations started on each of the last 14 days, oldest first;
    /// the last one is today.
    pub per_day: Vec<DayCount>,
    /// When these figures were read (RFC 3339, UTC).
    pub generated_at: String,
}

/// Conversations started on one UTC day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DayCount {
    /// `YYYY-MM-DD`.
    pub date: String,
    pub conversations: i64,
}

/// The signed-in support agent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AgentView {
    pub id: AgentId,
    pub username: String,
    pub role: Role,
    /// What visitors see beside this agent's replies.
    pub display_name: String,
}

/// An account, as the admin API lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AgentAccount {
    pub id: AgentId,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub active: bool,
}

/// An API token, as listed (its value is shown once, when made).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ApiTokenView {
    pub id: String,
    pub agent_id: AgentId,
    pub name: Option<String>,
    pub created_at: String,
    /// When it was last used (RFC 3339; written at most once a minute;
    /// `None`: never).
    #[serde(default)]
    pub last_used_at: Option<String>,
}

/// A new API token: its listing, and its value, shown this once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NewApiToken {
    #[serde(flatten)]
    pub view: ApiTokenView,
    pub token: String,
}

/// Where the widget's launcher sits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum WidgetPosition {
    #[default]
    BottomRight,
    BottomLeft,
}

impl WidgetPosition {
    pub fn as_str(self) -> &'static str {
        match self {
            WidgetPosition::BottomRight => "bottom-right",
            WidgetPosition::BottomLeft => "bottom-left",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "bottom-right" => Some(WidgetPosition::BottomRight),
            "bottom-left" => Some(WidgetPosition::BottomLeft),
            _ => None,
        }
    }
}

/// What the widget shows when no agent is available.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OfflineMode {
    /// A form: name, email, message (`POST /chat/api/chat/offline/`).
    #[default]
    Form,
    /// Chat as usual, with the expected reply time.
    Async,
    /// No launcher.
    Hide,
}

impl OfflineMode {
    pub fn as_str(self) -> &'static str {
        match self {
            OfflineMode::Form => "form",
            OfflineMode::Async => "async",
            OfflineMode::Hide => "hide",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "form" => Some(OfflineMode::Form),
            "async" => Some(OfflineMode::Async),
            "hide" => Some(OfflineMode::Hide),
            _ => None,
        }
    }
}

/// Where the identity secret in force comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SecretSource {
    /// None is set: `customer_hash` is ignored.
    None,
    /// `IDENTITY_SECRET` in the environment (until one is made here).
    Environment,
    /// Made or set in the dashboard (stored in the database).
    Dashboard,
}

impl SecretSource {
    /// The name in the JSON API and in the page (`data-source`).
    pub fn as_str(self) -> &'static str {
        match self {
            SecretSource::None => "none",
            SecretSource::Environment => "environment",
            SecretSource::Dashboard => "dashboard",
        }
    }
}

/// The widget's settings as admins see and change them
/// (`GET /chat/api/admin/widget-settings/`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WidgetSettingsView {
    pub title: String,
    pub welcome_message: String,
    /// `#rgb` or `#rrggbb`.
    pub primary_color: String,
    /// Text on the primary colour.
    pub text_color: String,
    pub position: WidgetPosition,
    pub offline_mode: OfflineMode,
    /// Free text shown with no agent online, e.g. "a few hours".
    pub reply_time: String,
    /// Sites (`https://shop.example.com`) whose pages may run the widget;
    /// empty: every site.
    pub allowed_origins: Vec<String>,
    /// A site-supplied customer_id needs its token or a valid hash.
    pub identity_required: bool,
    /// The key of `customer_hash`, for the site's server (admins only).
    pub identity_secret: Option<String>,
    pub identity_secret_source: SecretSource,
    /// `MAX_MESSAGE_LENGTH` (set in the environment; read-only here).
    pub max_message_length: usize,
    /// `PUBLIC_URL`: where sites load the widget from (the snippet).
    pub public_url: String,
    /// What visitors and agents may attach, in force.
    pub attachments: AttachmentLimits,
    /// The most this server allows (`ATTACHMENTS_ENABLED`,
    /// `ATTACHMENT_MAX_BYTES`, `ATTACHMENT_TYPES`): `attachments` stays
    /// within it.
    pub attachments_allowed: AttachmentLimits,
    /// When they were last saved here; `None`: never (the environment's).
    pub updated_at: Option<String>,
    pub updated_by: Option<AgentId>,
}

/// A change to the widget's settings: each field optional; what is left
/// out keeps its value (`PUT /chat/api/admin/widget-settings/`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WidgetSettingsChange {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub welcome_message: Option<String>,
    #[serde(default)]
    pub primary_color: Option<String>,
    #[serde(default)]
    pub text_color: Option<String>,
    #[serde(default)]
    pub position: Option<WidgetPosition>,
    #[serde(default)]
    pub offline_mode: Option<OfflineMode>,
    #[serde(default)]
    pub reply_time: Option<String>,
    #[serde(default)]
    pub allowed_origins: Option<Vec<String>>,
    #[serde(default)]
    pub identity_required: Option<bool>,
    /// Sets the identity secret (at least 16 bytes), e.g. the one the
    /// site already uses; `POST …/identity-secret/` makes a new one.
    #[serde(default)]
    pub identity_secret: Option<String>,
    /// What visitors and agents may attach: within `attachments_allowed`
    /// (`422 invalid_setting` otherwise).
    #[serde(default)]
    pub attachments: Option<AttachmentLimits>,
}

/// `a b&c` → `a%20b%26c`: a URL query value (every byte but the
/// unreserved ones escaped), the same on the server and in the browser.
pub fn query_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
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

/// An agent's name as other agents see it: the display name, or the
/// username when none is set (visitors never see usernames; agents know
/// each other's).
pub fn staff_name(display_name: &str, username: &str) -> String {
    match display_name.trim() {
        "" => username.to_string(),
        name => name.to_string(),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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

/// `value` rounded to `places` decimals (at most 9), written without
/// the float formatter: `decimal(12.345, 1)` is `"12.3"`. `{:.1}` and
/// `{}` of a float would put core's float printing, with its tables, into
/// the dashboard's wasm.
pub fn decimal(value: f64, places: u32) -> String {
    let scale = 10u64.pow(places.min(9));
    let scaled = (value * scale as f64).round() as i64;
    let sign = if scaled < 0 { "-" } else { "" };
    let n = scaled.unsigned_abs();
    if scale == 1 {
        format!("{sign}{n}")
    } else {
        let width = places.min(9) as usize;
        format!("{sign}{}.{:0width$}", n / scale, n % scale)
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
    fn decimals_are_written_without_the_float_formatter() {
        assert_eq!(decimal(12.345, 1), "12.3");
        assert_eq!(decimal(12.35, 1), "12.4");
        assert_eq!(decimal(0.0, 1), "0.0");
        assert_eq!(decimal(7.0, 2), "7.00");
        assert_eq!(decimal(6.94, 2), "6.94");
        assert_eq!(decimal(-3.25, 1), "-3.3");
        assert_eq!(decimal(-0.01, 1), "0.0");
        assert_eq!(decimal(158.0, 0), "158");
        for v in [0.05, 1.5, 99.99, 123.456, 560.0 / 14.0] {
            assert_eq!(decimal(v, 2), format!("{v:.2}"), "{v}");
        }
    }

    #[test]
    fn secret_sources_are_named_as_in_json() {
        for source in [
            SecretSource::None,
            SecretSource::Environment,
            SecretSource::Dashboard,
        ] {
            assert_eq!(
                serde_json::to_value(source).unwrap(),
                serde_json::Value::from(source.as_str())
            );
        }
    }

    #[test]
    fn preview_cuts_on_char_boundary() {
        assert_eq!(preview("héllo wörld", 5), "héllo…");
        assert_eq!(preview("short", 10), "short");
    }

    #[test]
    fn canned_shortcuts_match_by_prefix_exact_first() {
        let canned = |s: &str| CannedResponse {
            id: s.into(),
            shortcut: s.into(),
            content: format!("text of {s}"),
            created_by: None,
            created_at: String::new(),
            updated_at: String::new(),
        };
        let all = vec![
            canned("refund"),
            canned("ref"),
            canned("hello"),
            canned("referral"),
        ];
        let found = |draft: &str| -> Vec<String> {
            canned_matches(draft, &all)
                .into_iter()
                .map(|c| c.shortcut.clone())
                .collect()
        };
        assert_eq!(found("/ref"), ["ref", "referral", "refund"]);
        assert_eq!(found("/REFU"), ["refund"]);
        assert_eq!(found("/"), ["hello", "ref", "referral", "refund"]);
        assert!(found("/ref please").is_empty());
        assert!(found("ref").is_empty());
        assert!(found("/zzz").is_empty());
    }

    #[test]
    fn query_values_are_escaped() {
        assert_eq!(query_escape("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
        assert_eq!(query_escape("Az09-_.~"), "Az09-_.~");
    }

    #[test]
    fn short_time_is_stable() {
        assert_eq!(short_time("2026-11-23T22:29:26.123Z"), "2026-11-23 22:29");
        assert_eq!(short_time("bad"), "bad");
    }
}
