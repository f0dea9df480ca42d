//! The inbox migrations on a database that already holds conversations:
//! each side's last message seq and first message time are filled from
//! the stored messages, the search indexes cover what was there before,
//! and the migrations go down and up again — on SQLite and on PostgreSQL.

use migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, DatabaseBackend, Statement, Value};
use server::storage::Db;

/// Migrations before the inbox's (initial … read receipts).
const BEFORE_INBOX: u32 = 4;

fn statement(db: &Db, sql: &str, values: Vec<Value>) -> Statement {
    let backend = db.backend();
    let sql = if backend == DatabaseBackend::Postgres {
        let mut n = 0;
        sql.chars()
            .map(|c| match c {
                '?' => {
                    n += 1;
                    format!("${n}")
                }
                c => c.to_string(),
            })
            .collect()
    } else {
        sql.to_string()
    };
    Statement::from_sql_and_values(backend, sql, values)
}

async fn exec(db: &Db, sql: &str, values: Vec<Value>) {
    db.write
        .execute_raw(statement(db, sql, values))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn count(db: &Db, sql: &str, values: Vec<Value>) -> i64 {
    let row = db
        .write
        .query_one_raw(statement(db, sql, values))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

/// Conversations whose messages match `word` (as a prefix).
async fn found(db: &Db, word: &str) -> i64 {
    match db.backend() {
        DatabaseBackend::Postgres => {
            count(
                db,
                "SELECT COUNT(DISTINCT session_id) FROM messages \
                 WHERE search @@ to_tsquery('simple', ?)",
                vec![format!("{word}:*").into()],
            )
            .await
        }
        _ => {
            count(
                db,
                "SELECT COUNT(DISTINCT session_id) FROM messages WHERE rowid IN \
                 (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)",
                vec![format!("\"{word}\"*").into()],
            )
            .await
        }
    }
}

async fn migrate_with_data(db: Db) {
    Migrator::up(&db.write, Some(BEFORE_INBOX)).await.unwrap();
    let at = chrono::DateTime::from_timestamp_micros(1_765_000_000_000_000).unwrap();
    exec(
        &db,
        "INSERT INTO agents (id, username, password_hash, role, active, created_at, display_name) \
         VALUES ('a1', 'ann', 'x', 'agent', ?, ?, '')",
        vec![true.into(), at.into()],
    )
    .await;
    for (session, name) in [("s1", "Old Customer"), ("s2", "Quiet One")] {
        exec(
            &db,
            "INSERT INTO chat_sessions (id, customer_id, token_hash, name, status, created_at, \
             updated_at, last_seq) VALUES (?, ?, 'h', ?, 'open', ?, ?, 0)",
            vec![
                session.into(),
                session.into(),
                name.into(),
                at.into(),
                at.into(),
            ],
        )
        .await;
    }
    // s1: customer, agent, customer, customer; s2: nothing.
    for (seq, sender, agent, content) in [
        (1_i64, "customer", None, "my parcel is late"),
        (2, "agent", Some("a1"), "checking"),
        (3, "customer", None, "still waiting"),
        (4, "customer", None, "hello?"),
    ] {
        exec(
            &db,
            "INSERT INTO messages (id, session_id, seq, sender, agent_id, content, client_id, \
             created_at) VALUES (?, 's1', ?, ?, ?, ?, ?, ?)",
            vec![
                format!("m{seq}").into(),
                seq.into(),
                sender.into(),
                agent.map(str::to_string).into(),
                content.into(),
                format!("c{seq}").into(),
                at.into(),
            ],
        )
        .await;
    }
    exec(
        &db,
        "UPDATE chat_sessions SET last_seq = 4 WHERE id = 's1'",
        vec![],
    )
    .await;

    Migrator::up(&db.write, None).await.unwrap();
    let seqs = |column: &'static str, session: &'static str| {
        let db = &db;
        async move {
            count(
                db,
                &format!("SELECT {column} FROM chat_sessions WHERE id = ?"),
                vec![session.into()],
            )
            .await
        }
    };
    assert_eq!(seqs("last_customer_seq", "s1").await, 4);
    assert_eq!(seqs("last_agent_seq", "s1").await, 2);
    assert_eq!(seqs("last_customer_seq", "s2").await, 0);
    assert_eq!(seqs("last_agent_seq", "s2").await, 0);
    // Messages stored before the search migration are found.
    assert_eq!(found(&db, "parcel").await, 1);
    assert_eq!(found(&db, "wait").await, 1);
    assert_eq!(found(&db, "nothing").await, 0);
    // When each side first wrote: s1 both, s2 neither.
    let both = "SELECT COUNT(*) FROM chat_sessions \
                WHERE first_customer_at = ? AND first_agent_at = ?";
    assert_eq!(count(&db, both, vec![at.into(), at.into()]).await, 1);
    let none = "SELECT COUNT(*) FROM chat_sessions \
                WHERE first_customer_at IS NULL AND first_agent_at IS NULL";
    assert_eq!(count(&db, none, vec![]).await, 1);

    // Down (every migration since the inbox's, the inbox's included) and
    // up again, data kept.
    let since_inbox = Migrator::migrations().len() as u32 - BEFORE_INBOX;
    Migrator::down(&db.write, Some(since_inbox)).await.unwrap();
    exec(
        &db,
        "INSERT INTO messages (id, session_id, seq, sender, content, client_id, created_at) \
         VALUES ('m5', 's1', 5, 'agent', 'a reply while down', 'c5', ?)",
        vec![at.into()],
    )
    .await;
    Migrator::up(&db.write, None).await.unwrap();
    assert_eq!(seqs("last_agent_seq", "s1").await, 5);
    assert_eq!(found(&db, "reply").await, 1);
    assert_eq!(found(&db, "parcel").await, 1);
}

#[tokio::test]
async fn the_inbox_migrations_fill_from_stored_data_sqlite() {
    let file = std::env::temp_dir().join(format!(
        "defmis-migrate-{}.db",
        uuid::Uuid::new_v4().simple()
    ));
    let url = format!("sqlite://{}?mode=rwc", file.display());
    let db = server::storage::open(&url, None, Default::default())
        .await
        .unwrap();
    migrate_with_data(db).await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
    }
}

#[tokio::test]
#[ignore = "needs TEST_DATABASE_URL (PostgreSQL); scripts/test.sh runs it when set"]
async fn the_inbox_migrations_fill_from_stored_data_postgres() {
    let crate::helpers::Store::Postgres { url, schema, .. } =
        crate::helpers::postgres_store().await
    else {
        unreachable!()
    };
    let db = server::storage::open(&url, Some(&schema), Default::default())
        .await
        .unwrap();
    migrate_with_data(db).await;
}
