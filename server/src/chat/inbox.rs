//! The inbox as agents ask for it, parsed once at the edge: which
//! conversations ([`InboxQuery`]: status, assignee, unread, waiting,
//! offline, search words), from where ([`ListCursor`]) and how many. The
//! admin API's query string and the dashboard's `list_sessions` both give
//! an [`InboxParams`]; [`InboxQuery::parse`] is the one reading of it.

use app::types::{AgentId, ErrorCode, InboxParams, NoteId, SessionId, SessionStatus};
use chrono::{DateTime, Utc};

use crate::error::AppError;

/// Inbox pages: the default size and the most one may ask for.
pub const LIST_DEFAULT: u32 = 50;
pub const LIST_MAX: u32 = 100;
/// The longest search (`q`), in characters, and the most words in it.
pub const SEARCH_MAX_CHARS: usize = 200;
pub const SEARCH_MAX_WORDS: usize = 8;

fn bad(message: impl Into<String>) -> AppError {
    AppError::BadRequest(ErrorCode::InvalidQuery, message.into())
}

fn bad_cursor() -> AppError {
    AppError::BadRequest(
        ErrorCode::InvalidCursor,
        "cursor is not one this server gave out.".into(),
    )
}

/// Whose conversations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Assigned {
    /// Everyone's and nobody's.
    All,
    /// Only those assigned to nobody.
    Nobody,
    /// Only those assigned to this agent (`me` is the asking agent).
    Agent(AgentId),
}

/// One page of the inbox: what to show, after which row, how many.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboxQuery {
    pub status: Option<SessionStatus>,
    pub assigned: Assigned,
    /// `Some(true)`: only with unread visitor messages; `Some(false)`:
    /// only without.
    pub unread: Option<bool>,
    /// `Some(true)`: only those waiting for a reply; `Some(false)`: only
    /// those not.
    pub waiting: Option<bool>,
    pub offline: Option<bool>,
    pub search: Option<SearchTerms>,
    pub after: Option<ListCursor>,
    pub limit: u64,
}

impl InboxQuery {
    /// Reads the parameters as `me` asks them (`assigned=me`).
    pub fn parse(params: &InboxParams, me: &AgentId) -> Result<Self, AppError> {
        let status = match params.status.as_deref().map(str::trim) {
            None | Some("" | "all") => None,
            Some(raw) => Some(
                SessionStatus::parse(raw)
                    .ok_or_else(|| bad("status must be open, closed or all."))?,
            ),
        };
        let assigned = match params.assigned.as_deref().map(str::trim) {
            None | Some("" | "all") => Assigned::All,
            Some("none") => Assigned::Nobody,
            Some("me") => Assigned::Agent(me.clone()),
            Some(id) if id.len() <= 64 && !id.chars().any(char::is_control) => {
                Assigned::Agent(AgentId::from(id))
            }
            Some(_) => return Err(bad("assigned must be me, none, all or an agent's id.")),
        };
        let limit = params.limit.unwrap_or(LIST_DEFAULT);
        if limit == 0 || limit > LIST_MAX {
            return Err(bad(format!("limit must be between 1 and {LIST_MAX}.")));
        }
        let after = match params.cursor.as_deref().filter(|c| !c.is_empty()) {
            Some(raw) => Some(ListCursor::decode(raw).ok_or_else(bad_cursor)?),
            None => None,
        };
        let search = match params.q.as_deref() {
            Some(q) => SearchTerms::parse(q)?,
            None => None,
        };
        Ok(Self {
            status,
            assigned,
            unread: params.unread,
            waiting: params.waiting,
            offline: params.offline,
            search,
            after,
            limit: u64::from(limit),
        })
    }
}

/// The words of a search: runs of letters and digits (anything else
/// separates them, as both databases' indexes split text), at most
/// [`SEARCH_MAX_WORDS`]. Holding only letters and digits, a word can never
/// be read as query syntax by FTS5 or `to_tsquery`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchTerms(Vec<String>);

impl SearchTerms {
    /// `None` when `raw` has no word at all (blank, or only punctuation):
    /// the list is then not searched.
    pub fn parse(raw: &str) -> Result<Option<Self>, AppError> {
        if raw.chars().count() > SEARCH_MAX_CHARS {
            return Err(bad(format!(
                "q has more than {SEARCH_MAX_CHARS} characters."
            )));
        }
        let words: Vec<String> = raw
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect();
        if words.len() > SEARCH_MAX_WORDS {
            return Err(bad(format!("q has more than {SEARCH_MAX_WORDS} words.")));
        }
        Ok((!words.is_empty()).then_some(Self(words)))
    }

    pub fn words(&self) -> &[String] {
        &self.0
    }

    /// An FTS5 query: every word, each as a prefix (`"ord"*` finds
    /// "order"). The quotes make each a plain string whatever it holds.
    pub fn fts5(&self) -> String {
        let quoted: Vec<String> = self.0.iter().map(|w| format!("\"{w}\"*")).collect();
        quoted.join(" ")
    }

    /// A `to_tsquery` text: every word, each as a prefix.
    pub fn tsquery(&self) -> String {
        let prefixed: Vec<String> = self.0.iter().map(|w| format!("{w}:*")).collect();
        prefixed.join(" & ")
    }
}

/// Where a page of the conversation list starts: after this row, in the
/// order `(updated_at, id)` descending.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListCursor {
    pub updated_at: DateTime<Utc>,
    pub id: SessionId,
}

impl ListCursor {
    pub fn encode(&self) -> String {
        encode(self.updated_at, self.id.as_str())
    }

    pub fn decode(raw: &str) -> Option<Self> {
        let (updated_at, id) = decode(raw)?;
        Some(Self {
            updated_at,
            id: SessionId::from(id),
        })
    }
}

/// Where a page of a conversation's notes starts: after this note, in the
/// order `(created_at, id)` descending.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteCursor {
    pub created_at: DateTime<Utc>,
    pub id: NoteId,
}

impl NoteCursor {
    pub fn encode(&self) -> String {
        encode(self.created_at, self.id.as_str())
    }

    pub fn decode(raw: &str) -> Option<Self> {
        let (created_at, id) = decode(raw)?;
        Some(Self {
            created_at,
            id: NoteId::from(id),
        })
    }

    /// A `cursor` parameter: none when absent or empty.
    pub fn parse(raw: Option<&str>) -> Result<Option<Self>, AppError> {
        match raw.filter(|c| !c.is_empty()) {
            Some(raw) => Self::decode(raw).map(Some).ok_or_else(bad_cursor),
            None => Ok(None),
        }
    }
}

/// `<microseconds since the epoch>_<id>`.
fn encode(at: DateTime<Utc>, id: &str) -> String {
    format!("{}_{id}", at.timestamp_micros())
}

fn decode(raw: &str) -> Option<(DateTime<Utc>, &str)> {
    let (micros, id) = raw.split_once('_')?;
    let at = DateTime::from_timestamp_micros(micros.parse().ok()?)?;
    (!id.is_empty() && id.len() <= 64 && !id.chars().any(char::is_control)).then_some((at, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn me() -> AgentId {
        AgentId::from("agent-1")
    }

    fn parse(params: InboxParams) -> Result<InboxQuery, ErrorCode> {
        InboxQuery::parse(&params, &me()).map_err(|e| e.code())
    }

    #[test]
    fn cursors_round_trip() {
        let c = ListCursor {
            updated_at: DateTime::from_timestamp_micros(1_764_000_000_123_456).unwrap(),
            id: "9d7c-1".into(),
        };
        assert_eq!(ListCursor::decode(&c.encode()), Some(c));
        assert_eq!(ListCursor::decode("garbage"), None);
        assert_eq!(ListCursor::decode("12_"), None);
        assert_eq!(ListCursor::decode("x_abc"), None);
        assert_eq!(ListCursor::decode(&format!("12_{}", "a".repeat(65))), None);
        let n = NoteCursor {
            created_at: DateTime::from_timestamp_micros(1).unwrap(),
            id: "n_1".into(),
        };
        assert_eq!(NoteCursor::decode(&n.encode()), Some(n));
        assert_eq!(
            NoteCursor::parse(Some("nope")).unwrap_err().code(),
            ErrorCode::InvalidCursor
        );
        assert_eq!(NoteCursor::parse(Some("")).unwrap(), None);
    }

    #[test]
    fn defaults_show_everything() {
        let q = parse(InboxParams::default()).unwrap();
        assert_eq!(q.status, None);
        assert_eq!(q.assigned, Assigned::All);
        assert_eq!(q.limit, 50);
        assert_eq!((q.unread, q.waiting, q.offline), (None, None, None));
        assert_eq!(q.search, None);
        assert_eq!(q.after, None);
    }

    #[test]
    fn filters_are_read() {
        let q = parse(InboxParams {
            status: Some("closed".into()),
            assigned: Some("me".into()),
            unread: Some(true),
            waiting: Some(false),
            offline: Some(true),
            limit: Some(100),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(q.status, Some(SessionStatus::Closed));
        assert_eq!(q.assigned, Assigned::Agent(me()));
        assert_eq!(
            (q.unread, q.waiting, q.offline),
            (Some(true), Some(false), Some(true))
        );
        assert_eq!(q.limit, 100);
        let assigned = |a: &str| {
            parse(InboxParams {
                assigned: Some(a.into()),
                ..Default::default()
            })
        };
        assert_eq!(assigned("none").unwrap().assigned, Assigned::Nobody);
        assert_eq!(assigned("all").unwrap().assigned, Assigned::All);
        assert_eq!(
            assigned("4f1c").unwrap().assigned,
            Assigned::Agent("4f1c".into())
        );
        assert_eq!(
            assigned(&"x".repeat(65)).unwrap_err(),
            ErrorCode::InvalidQuery
        );
    }

    #[test]
    fn bad_values_are_400s() {
        for params in [
            InboxParams {
                status: Some("archived".into()),
                ..Default::default()
            },
            InboxParams {
                limit: Some(0),
                ..Default::default()
            },
            InboxParams {
                limit: Some(101),
                ..Default::default()
            },
            InboxParams {
                q: Some("a ".repeat(9)),
                ..Default::default()
            },
            InboxParams {
                q: Some("x".repeat(201)),
                ..Default::default()
            },
        ] {
            assert_eq!(
                parse(params.clone()).unwrap_err(),
                ErrorCode::InvalidQuery,
                "{params:?}"
            );
        }
        let cursor = parse(InboxParams {
            cursor: Some("nonsense".into()),
            ..Default::default()
        });
        assert_eq!(cursor.unwrap_err(), ErrorCode::InvalidCursor);
    }

    #[test]
    fn search_words_are_letters_and_digits_only() {
        let words = |q: &str| SearchTerms::parse(q).unwrap().map(|t| t.words().to_vec());
        assert_eq!(
            words("  ann@example.com  "),
            Some(vec!["ann".into(), "example".into(), "com".into()])
        );
        assert_eq!(
            words("\"order*\" AND (refund"),
            Some(vec!["order".into(), "AND".into(), "refund".into()])
        );
        assert_eq!(
            words("Grüße, Köln! 東京"),
            Some(vec!["Grüße".into(), "Köln".into(), "東京".into()])
        );
        for nothing in ["", "   ", "\"", "*", "(", "-\"*()^:'", "\u{0}"] {
            assert_eq!(words(nothing), None, "{nothing:?}");
        }
        let terms = SearchTerms::parse("ord 42").unwrap().unwrap();
        assert_eq!(terms.fts5(), "\"ord\"* \"42\"*");
        assert_eq!(terms.tsquery(), "ord:* & 42:*");
    }
}
