//! SQLite: search messages by conversation, cheaply.
//!
//! The first search index (`messages_fts`, keyed by the messages' own
//! rowids) answered "which messages hold this word", so a word found in
//! most conversations made the inbox collect every one of its messages
//! and look each up in `messages` before it could sort a page (≈ 1 s at a
//! million messages). Its replacement, `message_words`, is keyed by the
//! conversation: a message's entry has the rowid
//! `(chat_sessions.rowid << 24) | seq`, so
//!
//! - the entries of one conversation are one rowid range, and "does
//!   conversation X hold word W" is a seek in W's list (microseconds), which
//!   lets the inbox walk conversations in its own order and stop at a full
//!   page;
//! - a conversation's rowid is the entry's rowid `>> 24`, with no lookup.
//!
//! It is contentless (`content=''`: the text stays in `messages` only) with
//! `contentless_delete=1` (SQLite 3.43 or later; the server's SQLite is
//! bundled), so entries are deleted by rowid. `message_terms` (an
//! `fts5vocab` table) lists the index's words, to turn a prefix into the
//! words it stands for; `chat_sessions_terms` does the same for the names
//! and e-mails in `chat_sessions_fts`.
//!
//! Kept in sync by triggers: a message's insert and delete, an edit of its
//! text, and a conversation's delete (before its messages go with it).
//! Only seqs below 2^24 are indexed (16,777,216 messages in one
//! conversation).
//!
//! `VACUUM` may renumber `chat_sessions`'s rowids (it has no `INTEGER
//! PRIMARY KEY`): the server never runs it; after one, rebuild with
//! `DELETE FROM message_words` and the `INSERT … SELECT` of [`FILL`] (and
//! `chat_sessions_fts`'s `'rebuild'`, see the search migration).
//!
//! PostgreSQL has nothing to do here (its `tsvector` columns stay).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Bits of an entry's rowid that hold the message's seq.
const SEQ_BITS: u32 = 24;

/// Every stored message into `message_words`.
pub const FILL: &str = "INSERT INTO message_words (rowid, content) \
     SELECT (s.rowid << 24) | m.seq, m.content FROM messages m \
     JOIN chat_sessions s ON s.id = m.session_id WHERE m.seq < 16777216";

fn sqlite_up() -> Vec<String> {
    let limit = 1_i64 << SEQ_BITS;
    let entry = |session: &str, seq: &str| format!("(({session}) << {SEQ_BITS}) | {seq}");
    let of = |message: &str| {
        format!(
            "(SELECT {} FROM chat_sessions s WHERE s.id = {message}.session_id)",
            entry("s.rowid", &format!("{message}.seq"))
        )
    };
    vec![
        // The first index and its triggers.
        "DROP TRIGGER IF EXISTS messages_fts_insert".into(),
        "DROP TRIGGER IF EXISTS messages_fts_delete".into(),
        "DROP TRIGGER IF EXISTS messages_fts_update".into(),
        "DROP TABLE IF EXISTS messages_fts".into(),
        "CREATE VIRTUAL TABLE message_words USING fts5(content, content='', \
         contentless_delete=1, tokenize='unicode61 remove_diacritics 2')"
            .into(),
        "CREATE VIRTUAL TABLE message_terms USING fts5vocab(message_words, instance)".into(),
        "CREATE VIRTUAL TABLE chat_sessions_terms USING fts5vocab(chat_sessions_fts, instance)"
            .into(),
        format!(
            "CREATE TRIGGER message_words_insert AFTER INSERT ON messages \
             WHEN new.seq < {limit} BEGIN \
             INSERT INTO message_words (rowid, content) \
             SELECT {}, new.content FROM chat_sessions s WHERE s.id = new.session_id; END",
            entry("s.rowid", "new.seq")
        ),
        format!(
            "CREATE TRIGGER message_words_delete AFTER DELETE ON messages \
             WHEN old.seq < {limit} BEGIN \
             DELETE FROM message_words WHERE rowid = {}; END",
            of("old")
        ),
        format!(
            "CREATE TRIGGER message_words_update AFTER UPDATE OF content ON messages \
             WHEN new.seq < {limit} BEGIN \
             DELETE FROM message_words WHERE rowid = {old}; \
             INSERT INTO message_words (rowid, content) VALUES ({new}, new.content); END",
            old = of("old"),
            new = of("new"),
        ),
        // Before the conversation's row goes (its messages follow by the
        // foreign key's cascade, when the lookup above finds nothing).
        format!(
            "CREATE TRIGGER message_words_session_delete BEFORE DELETE ON chat_sessions BEGIN \
             DELETE FROM message_words WHERE rowid BETWEEN {} AND {}; END",
            entry("old.rowid", "0"),
            entry("old.rowid", &(limit - 1).to_string()),
        ),
        FILL.into(),
        "INSERT INTO message_words (message_words) VALUES ('optimize')".into(),
    ]
}

fn sqlite_down() -> Vec<String> {
    [
        "DROP TRIGGER IF EXISTS message_words_insert",
        "DROP TRIGGER IF EXISTS message_words_delete",
        "DROP TRIGGER IF EXISTS message_words_update",
        "DROP TRIGGER IF EXISTS message_words_session_delete",
        "DROP TABLE IF EXISTS chat_sessions_terms",
        "DROP TABLE IF EXISTS message_terms",
        "DROP TABLE IF EXISTS message_words",
        "CREATE VIRTUAL TABLE messages_fts USING fts5(content, content='messages', \
         tokenize='unicode61 remove_diacritics 2')",
        "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN \
         INSERT INTO messages_fts (rowid, content) VALUES (new.rowid, new.content); END",
        "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN \
         INSERT INTO messages_fts (messages_fts, rowid, content) \
         VALUES ('delete', old.rowid, old.content); END",
        "CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN \
         INSERT INTO messages_fts (messages_fts, rowid, content) \
         VALUES ('delete', old.rowid, old.content); \
         INSERT INTO messages_fts (rowid, content) VALUES (new.rowid, new.content); END",
        "INSERT INTO messages_fts (messages_fts) VALUES ('rebuild')",
    ]
    .map(str::to_string)
    .to_vec()
}

async fn run(manager: &SchemaManager<'_>, statements: Vec<String>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    for statement in statements {
        db.execute_unprepared(&statement).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        match manager.get_database_backend() {
            DatabaseBackend::Sqlite => run(manager, sqlite_up()).await,
            _ => Ok(()),
        }
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        match manager.get_database_backend() {
            DatabaseBackend::Sqlite => run(manager, sqlite_down()).await,
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_keyed_by_conversation_then_seq() {
        let up = sqlite_up().join(";\n");
        assert!(up.contains("((s.rowid) << 24) | new.seq"), "{up}");
        assert!(up.contains("BETWEEN ((old.rowid) << 24) | 0 AND ((old.rowid) << 24) | 16777215"));
        assert!(FILL.contains("(s.rowid << 24) | m.seq"));
    }
}
