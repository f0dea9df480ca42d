//! How the inbox asks a database for the conversations that match a
//! search: a conversation matches when its visitor's name or e-mail holds
//! every word, or one of its messages does (each word as a prefix).
//!
//! Two forms of the same condition:
//! - a probe, cheap for one conversation at a time: the inbox walks
//!   conversations in its own order and stops at a full page, which is
//!   what a word found in most conversations needs;
//! - a collecting form: every match at once, then sort and cut, which is
//!   what a rare word needs (a walk would probe every conversation).
//!
//! The inbox probes a bounded window first and collects only when the
//! window holds less than a page ([`super::ChatStore::inbox`]).

use sea_orm::sea_query::Expr;
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, Statement};

use crate::chat::inbox::SearchTerms;

/// What a search is, for one database.
pub(super) enum Plan {
    /// No conversation can match: a word is in neither index.
    Nothing,
    /// Probe the next `window` conversations in inbox order; collect when
    /// they hold less than a page.
    Windowed {
        probe: Expr,
        collect: Expr,
        window: u64,
    },
    /// Collect every match (SQLite, a word standing for too many words).
    Collect(Expr),
}

/// How many conversations, in inbox order, a PostgreSQL search probes one
/// by one before it collects every match. Small: a word in most
/// conversations fills a page within a few dozen, and a rare word pays
/// for these probes (≈ 10 µs each) before the fallback.
const POSTGRES_WINDOW: u64 = 300;

/// The same for SQLite, whose probes are seeks in an FTS5 word list:
/// 10–50 µs each at a million messages, depending on how many segments
/// the index holds between FTS5's automatic merges (measured: a rare word's
/// 1,000 probes took 50 ms, 11 ms after an `optimize`). A word in a
/// quarter of the conversations fills a page of 50 within these.
const SQLITE_WINDOW: u64 = 200;

/// A word of a search stands for at most this many words of an SQLite
/// index (`"re"` for `refund`, `return`, …); past it, the search uses FTS5
/// prefix queries, which read every listed word's entries whole.
const TERMS_PER_WORD: usize = 16;

/// SQLite: bits of a `message_words` rowid that hold the seq (see the
/// migration `m20261230_000001_message_words`).
const SEQ_BITS: u32 = 24;

pub(super) async fn plan(db: &DatabaseConnection, terms: &SearchTerms) -> Result<Plan, DbErr> {
    match db.get_database_backend() {
        DatabaseBackend::Postgres => Ok(Plan::Windowed {
            probe: postgres_probe(terms),
            collect: postgres_collect(terms),
            window: POSTGRES_WINDOW,
        }),
        _ => sqlite_plan(db, terms).await,
    }
}

/// PostgreSQL's collecting form: the `IN` becomes one hashed set of every
/// matching message.
fn postgres_collect(terms: &SearchTerms) -> Expr {
    Expr::cust_with_values(
        "(chat_sessions.search @@ to_tsquery('simple', $1) \
         OR chat_sessions.id IN (SELECT m.session_id FROM messages m \
         WHERE m.search @@ to_tsquery('simple', $1)))",
        [terms.tsquery()],
    )
}

/// PostgreSQL's probe: the conversation's own row, then its messages by
/// `session_id`. `OFFSET 0` keeps the planner from turning the `EXISTS`
/// into one hashed set of every matching message.
fn postgres_probe(terms: &SearchTerms) -> Expr {
    Expr::cust_with_values(
        "(chat_sessions.search @@ to_tsquery('simple', $1) \
         OR EXISTS (SELECT 1 FROM messages m WHERE m.session_id = chat_sessions.id \
         AND m.search @@ to_tsquery('simple', $1) OFFSET 0))",
        [terms.tsquery()],
    )
}

/// SQLite: each word is turned into the index's words it is a prefix of
/// (by `fts5vocab`), and the search asks for those exactly. An FTS5 prefix
/// query merges every listed word's whole entry list before it can answer
/// anything, even for one conversation; an exact word is a list FTS5 can
/// seek in. A word with more than [`TERMS_PER_WORD`] continuations, or
/// with a letter outside ASCII (whose case and accent folding is the
/// tokenizer's to decide), keeps the prefix query.
async fn sqlite_plan(db: &DatabaseConnection, terms: &SearchTerms) -> Result<Plan, DbErr> {
    let names = Words::expand(db, "chat_sessions_terms", terms).await?;
    let messages = Words::expand(db, "message_terms", terms).await?;
    let (Some(names), Some(messages)) = (names, messages) else {
        let prefix = terms.fts5();
        return Ok(Plan::Collect(sqlite_collect(Some(&prefix), Some(&prefix))));
    };
    if names.is_none() && messages.is_none() {
        return Ok(Plan::Nothing);
    }
    let (names_query, messages_query) = (
        names.as_ref().map(Words::query),
        messages.as_ref().map(Words::query),
    );
    Ok(Plan::Windowed {
        probe: sqlite_probe(names_query.as_deref(), messages.as_ref()),
        collect: sqlite_collect(names_query.as_deref(), messages_query.as_deref()),
        window: SQLITE_WINDOW,
    })
}

/// A search's words as words of one SQLite index: for each word of the
/// search, the index words it is a prefix of (every group must match, any
/// word of a group).
#[derive(Debug, PartialEq, Eq)]
struct Words(Vec<Vec<String>>);

impl Words {
    /// `terms` in the index behind `vocab`: `Some(None)` when a word has
    /// no continuation there (nothing in that index matches), `None` when
    /// a word cannot be expanded (too many continuations, or not ASCII).
    async fn expand(
        db: &DatabaseConnection,
        vocab: &str,
        terms: &SearchTerms,
    ) -> Result<Option<Option<Self>>, DbErr> {
        let mut groups = Vec::with_capacity(terms.words().len());
        for word in terms.words() {
            if !word.is_ascii() {
                return Ok(None);
            }
            let Some(words) = continuations(db, vocab, &word.to_ascii_lowercase()).await? else {
                return Ok(None);
            };
            if words.is_empty() {
                return Ok(Some(None));
            }
            groups.push(words);
        }
        Ok(Some(Some(Self(groups))))
    }

    /// The FTS5 query: `("a1" OR "a2") AND ("b1")`.
    fn query(&self) -> String {
        let groups: Vec<String> = self
            .0
            .iter()
            .map(|group| {
                let quoted: Vec<String> = group.iter().map(|w| quoted(w)).collect();
                format!("({})", quoted.join(" OR "))
            })
            .collect();
        groups.join(" AND ")
    }
}

/// An FTS5 string: the word itself, whatever it holds.
fn quoted(word: &str) -> String {
    format!("\"{}\"", word.replace('"', "\"\""))
}

/// The words of the index behind `vocab` that start with `prefix`, in
/// order, at most [`TERMS_PER_WORD`]; `None` when there are more. One
/// seek each: `term >= previous || char(1)` starts past the previous word
/// (a `>` would walk through every occurrence of it).
async fn continuations(
    db: &DatabaseConnection,
    vocab: &str,
    prefix: &str,
) -> Result<Option<Vec<String>>, DbErr> {
    let upper = format!("{prefix}\u{10FFFF}");
    let sql = format!(
        "WITH RECURSIVE t(term, n) AS (\
         SELECT (SELECT term FROM {vocab} WHERE term >= ? AND term < ? LIMIT 1), 1 \
         UNION ALL \
         SELECT (SELECT term FROM {vocab} WHERE term >= t.term || char(1) AND term < ? LIMIT 1), \
         n + 1 FROM t WHERE t.term IS NOT NULL AND n <= {TERMS_PER_WORD}) \
         SELECT term FROM t WHERE term IS NOT NULL"
    );
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            DatabaseBackend::Sqlite,
            sql,
            [prefix.into(), upper.clone().into(), upper.into()],
        ))
        .await?;
    let words = rows
        .iter()
        .map(|row| row.try_get_by_index::<String>(0))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((words.len() <= TERMS_PER_WORD).then_some(words))
}

/// One conversation's `message_words` entries hold the FTS5 query `?`.
fn in_conversation() -> String {
    format!(
        "EXISTS (SELECT 1 FROM message_words WHERE message_words MATCH ? \
         AND rowid BETWEEN chat_sessions.rowid << {SEQ_BITS} \
         AND (chat_sessions.rowid << {SEQ_BITS}) + {})",
        (1_i64 << SEQ_BITS) - 1
    )
}

/// SQLite's probe: seeks in each word's list, by rowid. A one-word search
/// asks each of its index words on its own (`EXISTS … OR EXISTS …`): the
/// first that holds ends the probe, where an FTS5 `OR` seeks in every
/// list.
fn sqlite_probe(names: Option<&str>, messages: Option<&Words>) -> Expr {
    let mut parts = Vec::new();
    let mut values = Vec::new();
    if let Some(q) = names {
        parts.push(
            "EXISTS (SELECT 1 FROM chat_sessions_fts WHERE chat_sessions_fts MATCH ? \
             AND rowid = chat_sessions.rowid)"
                .to_string(),
        );
        values.push(q.to_string());
    }
    match messages {
        Some(Words(groups)) if groups.len() == 1 => {
            for word in &groups[0] {
                parts.push(in_conversation());
                values.push(quoted(word));
            }
        }
        Some(words) => {
            parts.push(in_conversation());
            values.push(words.query());
        }
        None => {}
    }
    Expr::cust_with_values(format!("({})", parts.join(" OR ")), values)
}

/// SQLite's collecting form: the matching conversations' rowids.
fn sqlite_collect(names: Option<&str>, messages: Option<&str>) -> Expr {
    let mut parts = Vec::new();
    let mut values = Vec::new();
    if let Some(q) = names {
        parts.push(
            "chat_sessions.rowid IN (SELECT rowid FROM chat_sessions_fts \
             WHERE chat_sessions_fts MATCH ?)"
                .to_string(),
        );
        values.push(q.to_string());
    }
    if let Some(q) = messages {
        parts.push(format!(
            "chat_sessions.rowid IN (SELECT rowid >> {SEQ_BITS} FROM message_words \
             WHERE message_words MATCH ?)"
        ));
        values.push(q.to_string());
    }
    Expr::cust_with_values(format!("({})", parts.join(" OR ")), values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_make_an_fts5_query_of_exact_words() {
        let words = Words(vec![
            vec!["refund".into(), "refunds".into()],
            vec!["order".into()],
        ]);
        assert_eq!(words.query(), r#"("refund" OR "refunds") AND ("order")"#);
        assert_eq!(quoted("a\"b"), r#""a""b""#);
    }
}
