//! Full-text search over message text and the visitor's name and e-mail,
//! kept in sync by the database itself, whoever writes.
//!
//! - SQLite: two external-content FTS5 tables (`messages_fts` over
//!   `messages.content`, `chat_sessions_fts` over `chat_sessions.name` and
//!   `email`), keyed by the tables' rowids and kept in sync by triggers;
//!   `unicode61` tokens with diacritics folded. Filled from the stored rows
//!   here (`rebuild`). The rowids of these tables have no `INTEGER PRIMARY
//!   KEY` alias, and the SQLite documentation allows `VACUUM` to renumber
//!   such rowids: after a `VACUUM`, rebuild both indexes with
//!   `INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')` (and the
//!   same for `chat_sessions_fts`). The server never runs `VACUUM`.
//! - PostgreSQL: a stored generated `tsvector` column `search` on both
//!   tables (the `simple` configuration: no stemming, no stop words, any
//!   language), each with a GIN index. Adding a stored column rewrites the
//!   table under an exclusive lock: on a large `messages` table, run this
//!   migration in a quiet hour.
//!
//! Both index text with ASCII punctuation read as spaces, so an address
//! like `ann@example.com` is the words `ann`, `example`, `com` on both
//! databases (the server splits a query the same way).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Every ASCII punctuation character, and as many spaces: `translate`
/// turns the one into the other.
const PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

/// `text` with ASCII punctuation replaced by spaces, as SQL.
fn spaced(text: &str) -> String {
    let from = PUNCTUATION.replace('\'', "''");
    let to = " ".repeat(PUNCTUATION.len());
    format!("translate({text}, '{from}', '{to}')")
}

fn sqlite_up() -> Vec<String> {
    let mut statements = Vec::new();
    for (table, columns) in [
        ("messages", &["content"][..]),
        ("chat_sessions", &["name", "email"][..]),
    ] {
        let fts = format!("{table}_fts");
        let list = columns.join(", ");
        let new: Vec<String> = columns.iter().map(|c| format!("new.{c}")).collect();
        let old: Vec<String> = columns.iter().map(|c| format!("old.{c}")).collect();
        let (new, old) = (new.join(", "), old.join(", "));
        statements.push(format!(
            "CREATE VIRTUAL TABLE {fts} USING fts5({list}, content='{table}', \
             tokenize='unicode61 remove_diacritics 2')"
        ));
        statements.push(format!(
            "CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN \
             INSERT INTO {fts} (rowid, {list}) VALUES (new.rowid, {new}); END"
        ));
        statements.push(format!(
            "CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN \
             INSERT INTO {fts} ({fts}, rowid, {list}) VALUES ('delete', old.rowid, {old}); END"
        ));
        statements.push(format!(
            "CREATE TRIGGER {fts}_update AFTER UPDATE OF {list} ON {table} BEGIN \
             INSERT INTO {fts} ({fts}, rowid, {list}) VALUES ('delete', old.rowid, {old}); \
             INSERT INTO {fts} (rowid, {list}) VALUES (new.rowid, {new}); END"
        ));
        statements.push(format!("INSERT INTO {fts} ({fts}) VALUES ('rebuild')"));
    }
    statements
}

fn sqlite_down() -> Vec<String> {
    let mut statements = Vec::new();
    for table in ["messages", "chat_sessions"] {
        for trigger in ["insert", "delete", "update"] {
            statements.push(format!("DROP TRIGGER IF EXISTS {table}_fts_{trigger}"));
        }
        statements.push(format!("DROP TABLE IF EXISTS {table}_fts"));
    }
    statements
}

fn postgres_up() -> Vec<String> {
    let messages = spaced("content");
    let contact = spaced("coalesce(name, '') || ' ' || coalesce(email, '')");
    vec![
        format!(
            "ALTER TABLE messages ADD COLUMN search tsvector \
             GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, {messages})) STORED"
        ),
        "CREATE INDEX idx_messages_search ON messages USING GIN (search)".into(),
        format!(
            "ALTER TABLE chat_sessions ADD COLUMN search tsvector \
             GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, {contact})) STORED"
        ),
        "CREATE INDEX idx_chat_sessions_search ON chat_sessions USING GIN (search)".into(),
    ]
}

fn postgres_down() -> Vec<String> {
    // Dropping the columns drops their indexes.
    vec![
        "ALTER TABLE chat_sessions DROP COLUMN search".into(),
        "ALTER TABLE messages DROP COLUMN search".into(),
    ]
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
        let statements = match manager.get_database_backend() {
            DatabaseBackend::Postgres => postgres_up(),
            DatabaseBackend::Sqlite => sqlite_up(),
            other => return Err(DbErr::Migration(format!("no search on {other:?}"))),
        };
        run(manager, statements).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let statements = match manager.get_database_backend() {
            DatabaseBackend::Postgres => postgres_down(),
            DatabaseBackend::Sqlite => sqlite_down(),
            other => return Err(DbErr::Migration(format!("no search on {other:?}"))),
        };
        run(manager, statements).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn punctuation_becomes_spaces_in_valid_sql() {
        assert_eq!(PUNCTUATION.len(), 32);
        let sql = spaced("content");
        // The one quote is doubled; the replacement is as long as the set.
        assert!(sql.contains("''"));
        assert!(sql.ends_with(&format!("'{}')", " ".repeat(32))));
    }
}
