//! SeaORM storage: the connections, migrations, and one entity per table.
//! Only this module and the domains' `store` modules touch SeaORM.
//!
//! SQLite runs in WAL mode with `synchronous=FULL` (an acknowledged message
//! survives power loss), a busy timeout, one writer connection and a pool of
//! readers. Checkpoints (copying the WAL back into the database file) run
//! on a connection of their own every [`CHECKPOINT_EVERY`], so a commit
//! never waits for one; the writer checkpoints itself only past
//! [`WRITER_CHECKPOINT_PAGES`], should that task fall behind. PostgreSQL
//! uses one pool for both.

use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseBackend, DatabaseConnection, DbErr};
use secrecy::ExposeSecret;

use migrations::{Migrator, MigratorTrait};

pub mod agent_presence;
pub mod agents;
pub mod attachments;
pub mod auth_tokens;
pub mod auto_response_jobs;
pub mod auto_response_logs;
pub mod auto_responses;
pub mod canned_responses;
pub mod chat_sessions;
pub mod messages;
pub mod session_notes;
pub mod site_settings;
pub mod visitor_contexts;

/// How often SQLite's WAL is checkpointed, off the writer connection.
pub const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);
/// The WAL size (pages) past which the writer checkpoints on commit itself
/// (SQLite's own default is 1,000): a backstop, normally never reached.
const WRITER_CHECKPOINT_PAGES: &str = "20000";
/// The most one background checkpoint may take before it is abandoned
/// (the next one goes on from where it stopped).
const CHECKPOINT_TIMEOUT: Duration = Duration::from_secs(10);

/// The database: where reads go and where writes go (the same pool on
/// PostgreSQL; SQLite's one writer connection and its readers).
#[derive(Clone, Debug)]
pub struct Db {
    pub read: DatabaseConnection,
    pub write: DatabaseConnection,
    /// SQLite: ends the checkpoint task when the last clone is dropped.
    _checkpoints: Option<std::sync::Arc<tokio::sync::watch::Sender<()>>>,
}

impl Db {
    pub fn backend(&self) -> DatabaseBackend {
        self.write.get_database_backend()
    }
}

/// How many connections to open.
#[derive(Clone, Copy, Debug)]
pub struct PoolSize {
    /// PostgreSQL pool size (`DATABASE_POOL_SIZE`), or SQLite readers.
    pub connections: u32,
}

impl Default for PoolSize {
    fn default() -> Self {
        Self { connections: 16 }
    }
}

/// Connects to `DATABASE_URL`; for SQLite, makes the file's folder first.
pub async fn connect(config: &crate::config::Config) -> Result<Db, DbErr> {
    open(
        config.database_url.expose_secret(),
        None,
        PoolSize {
            connections: config.database_pool_size,
        },
    )
    .await
}

/// Opens the database at `url`; `schema` picks a PostgreSQL schema (tests
/// isolate themselves that way).
pub async fn open(url: &str, schema: Option<&str>, size: PoolSize) -> Result<Db, DbErr> {
    if url.starts_with("sqlite:") {
        // The writer first: it creates the file and switches it to WAL.
        let write = connect_pool_with(url, None, 1, Some(WRITER_CHECKPOINT_PAGES)).await?;
        let read = connect_pool(url, None, size.connections.clamp(1, 8)).await?;
        let checkpointer = connect_pool(url, None, 1).await?;
        let (stop, stopped) = tokio::sync::watch::channel(());
        tokio::spawn(checkpoints(checkpointer, stopped));
        Ok(Db {
            read,
            write,
            _checkpoints: Some(std::sync::Arc::new(stop)),
        })
    } else {
        let pool = connect_pool(url, schema, size.connections.max(2)).await?;
        Ok(Db {
            read: pool.clone(),
            write: pool,
            _checkpoints: None,
        })
    }
}

/// Checkpoints the WAL (PASSIVE: never blocks the writer or readers) every
/// [`CHECKPOINT_EVERY`] until `stopped`'s sender is gone.
async fn checkpoints(db: DatabaseConnection, mut stopped: tokio::sync::watch::Receiver<()>) {
    use sea_orm::ConnectionTrait;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(CHECKPOINT_EVERY) => {}
            changed = stopped.changed() => if changed.is_err() { break },
        }
        let run = db.execute_unprepared("PRAGMA wal_checkpoint(PASSIVE)");
        match tokio::time::timeout(CHECKPOINT_TIMEOUT, run).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error.cause = %e, "WAL checkpoint failed"),
            Err(_) => tracing::warn!("WAL checkpoint timed out"),
        }
    }
    let _ = db.close().await;
}

/// One pool; for SQLite with WAL, `synchronous=FULL` and a busy timeout.
pub async fn connect_pool(
    url: &str,
    schema: Option<&str>,
    max: u32,
) -> Result<DatabaseConnection, DbErr> {
    connect_pool_with(url, schema, max, None).await
}

/// [`connect_pool`]; `autocheckpoint` sets SQLite's `wal_autocheckpoint`.
async fn connect_pool_with(
    url: &str,
    schema: Option<&str>,
    max: u32,
    autocheckpoint: Option<&'static str>,
) -> Result<DatabaseConnection, DbErr> {
    if let Some(path) = sqlite_path(url) {
        if let Some(dir) = std::path::Path::new(path).parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| DbErr::Custom(format!("cannot create {}: {e}", dir.display())))?;
            }
        }
    }
    let mut options = ConnectOptions::new(url.to_string());
    options
        .sqlx_logging(false)
        .max_connections(max)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(5))
        .connect_timeout(Duration::from_secs(5));
    if url.starts_with("sqlite:") {
        options.map_sqlx_sqlite_opts(move |o| {
            let o = match autocheckpoint {
                Some(pages) => o.pragma("wal_autocheckpoint", pages),
                None => o,
            };
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true)
                // 32 MiB of page cache per connection (the default is 2 MiB):
                // the hot end of the message indexes stays in memory.
                .pragma("cache_size", "-32768")
                .pragma("temp_store", "memory")
        });
    }
    if let Some(schema) = schema {
        options.set_schema_search_path(schema.to_string());
    }
    Database::connect(options).await
}

/// Database errors at the domain edge: unreachable is `unavailable`
/// (retryable), anything else `internal` (logged here, once).
impl From<DbErr> for crate::error::AppError {
    fn from(e: sea_orm::DbErr) -> Self {
        match e {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => {
                tracing::warn!(error.cause = %e, "database unreachable");
                crate::error::AppError::Unavailable(
                    "The database cannot be reached; retry shortly.".into(),
                )
            }
            // A connection that died under a query (sqlx's I/O errors) is
            // the same outage, seen one step later.
            e if is_connection_loss(&e.to_string()) => {
                tracing::warn!(error.cause = %e, "database connection lost");
                crate::error::AppError::Unavailable(
                    "The database cannot be reached; retry shortly.".into(),
                )
            }
            e => crate::error::AppError::internal("database error", e),
        }
    }
}

/// Whether a database error's text is sqlx's for a lost connection.
fn is_connection_loss(text: &str) -> bool {
    const MARKS: [&str; 6] = [
        "error communicating with database",
        "pool timed out",
        "attempted to acquire a connection on a closed pool",
        "Connection reset",
        "Broken pipe",
        "unexpected end of file",
    ];
    MARKS.iter().any(|m| text.contains(m))
}

/// Applies every pending migration.
pub async fn migrate(db: &Db) -> Result<(), DbErr> {
    Migrator::up(&db.write, None).await
}

fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then_some(path)
}

/// The current time, as stored: whole microseconds, which both databases
/// keep exactly (so a paging cursor made from it matches equal rows).
pub fn now() -> chrono::DateTime<chrono::Utc> {
    let t = chrono::Utc::now();
    chrono::DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

/// RFC 3339 with microseconds and `Z`: sorts as text, the same on every
/// database.
pub fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

#[cfg(test)]
mod tests {
    use sea_orm::{ConnectionTrait, Statement};

    use super::*;

    /// Rows in the main database file alone (`immutable=1` ignores the
    /// WAL): what has been checkpointed (0 before the table is).
    async fn checkpointed_rows(path: &std::path::Path) -> i64 {
        let url = format!("sqlite://{}?mode=ro&immutable=1", path.display());
        let db = Database::connect(url).await.unwrap();
        let n = db
            .query_one_raw(Statement::from_string(
                DatabaseBackend::Sqlite,
                "SELECT count(*) AS n FROM t",
            ))
            .await
            .ok()
            .flatten()
            .and_then(|row| row.try_get::<i64>("", "n").ok())
            .unwrap_or(0);
        db.close().await.unwrap();
        n
    }

    #[tokio::test]
    async fn the_wal_is_checkpointed_off_the_writer() {
        let dir = std::env::temp_dir().join(format!("defmis-ckpt-{}", uuid::Uuid::new_v4()));
        let path = dir.join("db.sqlite");
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let db = open(&url, None, PoolSize { connections: 2 }).await.unwrap();
        let pages = db
            .write
            .query_one_raw(Statement::from_string(
                DatabaseBackend::Sqlite,
                "PRAGMA wal_autocheckpoint",
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get_by_index::<i64>(0)
            .unwrap();
        assert_eq!(pages.to_string(), WRITER_CHECKPOINT_PAGES);
        db.write
            .execute_unprepared("CREATE TABLE t (x INTEGER)")
            .await
            .unwrap();
        // Far fewer pages than the writer's own threshold: only the
        // background task can move these rows into the main file.
        for i in 0..20 {
            db.write
                .execute_unprepared(&format!("INSERT INTO t VALUES ({i})"))
                .await
                .unwrap();
        }
        let mut seen = 0;
        for _ in 0..40 {
            tokio::time::sleep(CHECKPOINT_EVERY / 2).await;
            seen = checkpointed_rows(&path).await;
            if seen == 20 {
                break;
            }
        }
        assert_eq!(seen, 20, "the WAL was not checkpointed into the file");
        drop(db);
        let _ = std::fs::remove_dir_all(dir);
    }
}
