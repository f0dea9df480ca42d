//! Wire types of automated responses: rules, business hours, the dry run
//! and the response log (`/chat/api/admin/auto-responses/…`,
//! `/chat/api/admin/business-hours/`). docs/api.md describes them.

use serde::{Deserialize, Serialize};

use crate::types::SessionStatus;

crate::types::id_type!(
    /// An automated-response rule's id (UUID v7).
    AutoResponseId
);

/// How a keyword trigger compares its keywords with a message. Words are
/// whole words; case and accents are ignored (except in `regex`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum KeywordMatch {
    /// Any one of the keywords (each a word or a few words in that order).
    #[default]
    Any,
    /// Every keyword, anywhere in the message.
    All,
    /// The whole message is one of the keywords (case, accents and
    /// punctuation aside): "Refund?" is the phrase "refund", "I want a
    /// refund" is not.
    Phrase,
    /// One of the keywords is a regular expression (the regex crate's
    /// syntax, case-insensitive) that finds a match.
    Regex,
}

/// What makes a rule fire. Read through [`TriggerFields`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Trigger {
    /// The visitor's message holds the keywords.
    Keyword {
        #[serde(rename = "match", default)]
        matching: KeywordMatch,
        keywords: Vec<String>,
    },
    /// The visitor's message is a greeting (hi, hello, hola, bonjour,
    /// hallo, …) and little else.
    Greeting,
    /// The first message a visitor writes in a conversation.
    FirstMessage,
    /// A visitor writes while business hours are closed.
    OutsideBusinessHours,
    /// A visitor writes while no agent is online.
    NoAgentOnline,
    /// No agent has answered a visitor's message within `minutes`.
    NoReply { minutes: u32 },
}

/// The kinds of [`Trigger`], as its `type` names them.
#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum TriggerKind {
    Keyword,
    Greeting,
    FirstMessage,
    OutsideBusinessHours,
    NoAgentOnline,
    NoReply,
}

/// A [`Trigger`] as it is read: its `type` and the fields of every kind,
/// in one flat object. The same JSON as the tagged enum it becomes, with
/// the same errors ("unknown variant", "missing field `keywords`"); but
/// serde's own reader of internally tagged enums first copies the object
/// into its generic `Content` tree, code the dashboard's wasm can do
/// without.
#[derive(Deserialize)]
struct TriggerFields {
    #[serde(rename = "type")]
    kind: TriggerKind,
    #[serde(rename = "match", default)]
    matching: KeywordMatch,
    keywords: Option<Vec<String>>,
    minutes: Option<u32>,
}

impl<'de> Deserialize<'de> for Trigger {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let fields = TriggerFields::deserialize(deserializer)?;
        Ok(match fields.kind {
            TriggerKind::Keyword => Trigger::Keyword {
                matching: fields.matching,
                keywords: fields
                    .keywords
                    .ok_or_else(|| D::Error::missing_field("keywords"))?,
            },
            TriggerKind::Greeting => Trigger::Greeting,
            TriggerKind::FirstMessage => Trigger::FirstMessage,
            TriggerKind::OutsideBusinessHours => Trigger::OutsideBusinessHours,
            TriggerKind::NoAgentOnline => Trigger::NoAgentOnline,
            TriggerKind::NoReply => Trigger::NoReply {
                minutes: fields
                    .minutes
                    .ok_or_else(|| D::Error::missing_field("minutes"))?,
            },
        })
    }
}

impl Trigger {
    /// The trigger's wire name.
    pub fn kind(&self) -> &'static str {
        match self {
            Trigger::Keyword { .. } => "keyword",
            Trigger::Greeting => "greeting",
            Trigger::FirstMessage => "first_message",
            Trigger::OutsideBusinessHours => "outside_business_hours",
            Trigger::NoAgentOnline => "no_agent_online",
            Trigger::NoReply { .. } => "no_reply",
        }
    }
}

/// Who the visitor is, for a rule's condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum VisitorKind {
    /// Vouched for by identity verification, or gave a name or an e-mail.
    Identified,
    /// Neither.
    Anonymous,
}

/// When a rule may fire at all; every condition given must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Conditions {
    /// The visitor's page URL matches this pattern (`*` is any text;
    /// without a `*` the URL must contain it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_url: Option<String>,
    /// The visitor's language is one of these (`es` matches `es-MX`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub languages: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visitor: Option<VisitorKind>,
    /// The conversation's status when the message arrived (a visitor's
    /// message reopens a closed one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<SessionStatus>,
}

/// What a rule does when it fires.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Action {
    /// The bot message; `{customer_name}`, `{agent_name}` and
    /// `{next_open}` are filled in.
    pub message: String,
    /// The message in other languages, by language (`es`, `fr`, `de`):
    /// a visitor whose language is one of them reads it instead.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub translations: std::collections::BTreeMap<String, String>,
    /// Seconds to wait before sending (0–3600); an agent's reply in the
    /// meantime cancels it.
    pub delay_seconds: u32,
    /// Close the conversation after the message.
    pub close: bool,
    /// Ask for an e-mail address when the conversation has none (a
    /// sentence in the visitor's language after the message); an address
    /// in the visitor's next message is saved as the conversation's.
    pub ask_email: bool,
}

/// A rule, as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AutoResponse {
    pub id: AutoResponseId,
    pub name: String,
    /// Higher wins when several rules match one message.
    pub priority: i32,
    pub enabled: bool,
    pub trigger: Trigger,
    pub conditions: Conditions,
    pub action: Action,
    /// The least time between two firings in one conversation.
    pub cooldown_seconds: u32,
    /// The most firings in one conversation.
    pub max_per_conversation: u32,
    pub created_at: String,
    pub updated_at: String,
}

/// A new rule: `name`, `trigger` and `action.message` are required.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewAutoResponse {
    pub name: String,
    #[serde(default)]
    pub priority: i32,
    #[serde(default = "yes")]
    pub enabled: bool,
    pub trigger: Trigger,
    #[serde(default)]
    pub conditions: Conditions,
    pub action: Action,
    #[serde(default = "default_cooldown")]
    pub cooldown_seconds: u32,
    #[serde(default = "default_max")]
    pub max_per_conversation: u32,
}

fn yes() -> bool {
    true
}

/// Ten minutes between two firings in one conversation, unless the rule
/// says otherwise.
pub const DEFAULT_COOLDOWN_SECONDS: u32 = 600;
/// Once per conversation, unless the rule says otherwise.
pub const DEFAULT_MAX_PER_CONVERSATION: u32 = 1;

fn default_cooldown() -> u32 {
    DEFAULT_COOLDOWN_SECONDS
}

fn default_max() -> u32 {
    DEFAULT_MAX_PER_CONVERSATION
}

/// A change to a rule: each field optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AutoResponseChange {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trigger: Option<Trigger>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Conditions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cooldown_seconds: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_per_conversation: Option<u32>,
}

/// A whole rule as a change of every field.
impl From<NewAutoResponse> for AutoResponseChange {
    fn from(rule: NewAutoResponse) -> Self {
        Self {
            name: Some(rule.name),
            priority: Some(rule.priority),
            enabled: Some(rule.enabled),
            trigger: Some(rule.trigger),
            conditions: Some(rule.conditions),
            action: Some(rule.action),
            cooldown_seconds: Some(rule.cooldown_seconds),
            max_per_conversation: Some(rule.max_per_conversation),
        }
    }
}

/// `{"auto_responses": [...]}`: every rule, highest priority first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AutoResponseList {
    pub auto_responses: Vec<AutoResponse>,
}

/// The dry run's question: which rule would answer this message?
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AutoResponseTest {
    pub content: String,
    /// When (RFC 3339); now when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// The visitor's language (`fr`, `es-MX`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Whether it is the conversation's first visitor message (true when
    /// absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_message: Option<bool>,
    /// Whether an agent is online (as now when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agents_online: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_url: Option<String>,
    /// Whether the visitor is identified (no when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identified: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_name: Option<String>,
    /// The visitor's IANA time zone, for `{next_open}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

/// The dry run's answer: the rule that would fire (if any), its reply as
/// the visitor would read it, and why each rule did or did not fire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AutoResponseVerdict {
    pub rule: Option<AutoResponse>,
    pub reply: Option<String>,
    pub reasons: Vec<String>,
}

/// What became of a rule that matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LogOutcome {
    /// The bot message was sent.
    Fired,
    /// Suppressed: the rule fired in this conversation too recently.
    Cooldown,
    /// Suppressed: the rule fired its most times in this conversation.
    MaxReached,
    /// A delayed reply was cancelled: an agent answered first.
    AgentReplied,
    /// The reply could not be stored.
    Failed,
}

impl LogOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            LogOutcome::Fired => "fired",
            LogOutcome::Cooldown => "cooldown",
            LogOutcome::MaxReached => "max_reached",
            LogOutcome::AgentReplied => "agent_replied",
            LogOutcome::Failed => "failed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "fired" => LogOutcome::Fired,
            "cooldown" => LogOutcome::Cooldown,
            "max_reached" => LogOutcome::MaxReached,
            "agent_replied" => LogOutcome::AgentReplied,
            "failed" => LogOutcome::Failed,
            _ => return None,
        })
    }
}

/// One entry of the response log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AutoResponseLog {
    pub id: String,
    /// None once the rule is deleted (`rule_name` stays).
    pub rule_id: Option<AutoResponseId>,
    pub rule_name: String,
    pub session_id: crate::types::SessionId,
    /// The visitor message that triggered it.
    pub trigger_message_id: Option<String>,
    /// The bot message sent (`fired` only).
    pub reply_message_id: Option<String>,
    pub outcome: LogOutcome,
    pub reason: String,
    pub at: String,
}

/// A page of the response log, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AutoResponseLogPage {
    pub logs: Vec<AutoResponseLog>,
    pub next_cursor: Option<String>,
}

/// One opening interval of a day, local time: `"09:00"` to `"17:30"`
/// (`"24:00"` is the end of the day).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Interval {
    pub open: String,
    pub close: String,
}

/// The weekly schedule: each day's intervals (none: closed that day).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Week {
    pub monday: Vec<Interval>,
    pub tuesday: Vec<Interval>,
    pub wednesday: Vec<Interval>,
    pub thursday: Vec<Interval>,
    pub friday: Vec<Interval>,
    pub saturday: Vec<Interval>,
    pub sunday: Vec<Interval>,
}

impl Week {
    /// The days, Monday first.
    pub fn days(&self) -> [&Vec<Interval>; 7] {
        [
            &self.monday,
            &self.tuesday,
            &self.wednesday,
            &self.thursday,
            &self.friday,
            &self.saturday,
            &self.sunday,
        ]
    }

    pub fn days_mut(&mut self) -> [&mut Vec<Interval>; 7] {
        [
            &mut self.monday,
            &mut self.tuesday,
            &mut self.wednesday,
            &mut self.thursday,
            &mut self.friday,
            &mut self.saturday,
            &mut self.sunday,
        ]
    }
}

/// A date whose hours differ from the week's: these intervals that day
/// (none: closed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DateHours {
    /// `YYYY-MM-DD`.
    pub date: String,
    #[serde(default)]
    pub intervals: Vec<Interval>,
}

/// When the team answers. Disabled: always open. Fields it does not know
/// are ignored, so what `GET` answers may be changed and sent back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BusinessHours {
    pub enabled: bool,
    /// An IANA time zone (`Europe/Madrid`).
    pub time_zone: String,
    #[serde(default)]
    pub week: Week,
    /// Dates closed all day (`YYYY-MM-DD`).
    #[serde(default)]
    pub holidays: Vec<String>,
    /// Dates with other hours.
    #[serde(default)]
    pub exceptions: Vec<DateHours>,
}

impl Default for BusinessHours {
    fn default() -> Self {
        Self {
            enabled: false,
            time_zone: "UTC".into(),
            week: Week::default(),
            holidays: Vec::new(),
            exceptions: Vec::new(),
        }
    }
}

/// `GET /chat/api/admin/business-hours/`: the schedule, and whether it is
/// open now and when it next opens (RFC 3339; null while open or with
/// business hours off).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BusinessHoursView {
    #[serde(flatten)]
    pub hours: BusinessHours,
    pub open_now: bool,
    pub next_open: Option<String>,
}

/// Read as an object whose two own fields are taken out and the rest read
/// as [`BusinessHours`]: serde's `flatten` would first copy the object
/// into its generic `Content` tree (as for [`Trigger`]).
impl<'de> Deserialize<'de> for BusinessHoursView {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        use serde_json::Value;
        let mut fields = serde_json::Map::<String, Value>::deserialize(deserializer)?;
        let open_now = match fields.remove("open_now") {
            Some(Value::Bool(open)) => open,
            Some(_) => return Err(D::Error::custom("`open_now` must be true or false")),
            None => return Err(D::Error::missing_field("open_now")),
        };
        let next_open = match fields.remove("next_open") {
            Some(Value::String(at)) => Some(at),
            Some(Value::Null) => None,
            Some(_) => return Err(D::Error::custom("`next_open` must be a time or null")),
            None => return Err(D::Error::missing_field("next_open")),
        };
        let hours = crate::json::from_value(Value::Object(fields)).map_err(D::Error::custom)?;
        Ok(Self {
            hours,
            open_now,
            next_open,
        })
    }
}

/// The response log's filters and paging (every field optional).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LogQuery {
    /// Only this rule's entries.
    pub rule: Option<AutoResponseId>,
    /// At or after (RFC 3339).
    pub from: Option<String>,
    /// Before (RFC 3339).
    pub to: Option<String>,
    /// The `next_cursor` of the page before.
    pub cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Read as the server reads it (serde_json from text) and as the
    /// dashboard does (`crate::json`): the same value, or an error both.
    fn read<T: serde::de::DeserializeOwned + PartialEq + std::fmt::Debug>(
        json: &str,
    ) -> Result<T, String> {
        let server = serde_json::from_str::<T>(json).map_err(|e| e.to_string());
        let dashboard = crate::json::decode::<T>(json.as_bytes()).map_err(|e| e.to_string());
        assert_eq!(
            server.is_ok(),
            dashboard.is_ok(),
            "{json}: {server:?} / {dashboard:?}"
        );
        if let (Ok(a), Ok(b)) = (&server, &dashboard) {
            assert_eq!(a, b, "{json}");
        }
        server
    }

    #[test]
    fn every_trigger_reads_back_as_written() {
        let triggers = [
            Trigger::Keyword {
                matching: KeywordMatch::Phrase,
                keywords: vec!["refund".into(), "money back".into()],
            },
            Trigger::Greeting,
            Trigger::FirstMessage,
            Trigger::OutsideBusinessHours,
            Trigger::NoAgentOnline,
            Trigger::NoReply { minutes: 15 },
        ];
        for trigger in triggers {
            let json = serde_json::to_string(&trigger).unwrap_or_default();
            assert_eq!(read::<Trigger>(&json), Ok(trigger), "{json}");
        }
    }

    #[test]
    fn triggers_read_as_the_tagged_enum_did() {
        // `match` defaults to any; fields of other kinds are ignored.
        assert_eq!(
            read::<Trigger>(r#"{"type":"keyword","keywords":["price"],"minutes":3}"#),
            Ok(Trigger::Keyword {
                matching: KeywordMatch::Any,
                keywords: vec!["price".into()],
            })
        );
        assert_eq!(
            read::<Trigger>(r#"{"keywords":["x"],"type":"greeting"}"#),
            Ok(Trigger::Greeting)
        );
        let refused = |json: &str, says: &str| {
            let error = read::<Trigger>(json).expect_err(json);
            assert!(error.contains(says), "{json}: {error}");
        };
        refused(r#"{"type":"keyword"}"#, "missing field `keywords`");
        refused(r#"{"type":"no_reply"}"#, "missing field `minutes`");
        refused(r#"{"type":"no_reply","minutes":-1}"#, "invalid value");
        refused(r#"{"type":"whenever"}"#, "unknown variant `whenever`");
        refused(r#"{"keywords":["x"]}"#, "missing field `type`");
        assert!(read::<Trigger>(r#"["keyword"]"#).is_err());
    }

    #[test]
    fn business_hours_view_reads_back_as_written() {
        let mut hours = BusinessHours {
            enabled: true,
            time_zone: "Europe/Madrid".into(),
            ..BusinessHours::default()
        };
        hours.week.monday = vec![Interval {
            open: "09:00".into(),
            close: "17:30".into(),
        }];
        hours.holidays = vec!["2026-12-25".into()];
        for next_open in [None, Some("2026-12-08T09:00:00+01:00".to_string())] {
            let view = BusinessHoursView {
                hours: hours.clone(),
                open_now: next_open.is_none(),
                next_open,
            };
            let json = serde_json::to_string(&view).unwrap_or_default();
            assert_eq!(read::<BusinessHoursView>(&json), Ok(view), "{json}");
        }
        // Missing schedule fields take their defaults, as before.
        let json = r#"{"enabled":false,"time_zone":"UTC","open_now":true,"next_open":null}"#;
        assert_eq!(
            read::<BusinessHoursView>(json),
            Ok(BusinessHoursView {
                hours: BusinessHours::default(),
                open_now: true,
                next_open: None,
            })
        );
        for wrong in [
            r#"{"enabled":false,"time_zone":"UTC","next_open":null}"#,
            r#"{"enabled":false,"time_zone":"UTC","open_now":"yes","next_open":null}"#,
            r#"{"enabled":false,"time_zone":"UTC","open_now":true,"next_open":7}"#,
            r#"{"enabled":false,"open_now":true,"next_open":null}"#,
            r#"[]"#,
        ] {
            assert!(read::<BusinessHoursView>(wrong).is_err(), "{wrong}");
        }
    }
}
