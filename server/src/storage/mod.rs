//! SeaORM storage: the connection, migrations, and one entity per table.

use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};
use secrecy::ExposeSecret;

use migrations::{Migrator, MigratorTrait};

pub mod agents;
pub mod auth_tokens;
pub mod chat_sessions;
pub mod messages;

/// Connects to `DATABASE_URL`; for SQLite, makes the file's folder first.
pub async fn connect(config: &crate::config::Config) -> Result<DatabaseConnection, DbErr> {
    connect_url(config.database_url.expose_secret(), None).await
}

/// Connects to a URL; `schema` picks a PostgreSQL schema (tests isolate
/// themselves that way).
pub async fn connect_url(url: &str, schema: Option<&str>) -> Result<DatabaseConnection, DbErr> {
    if let Some(path) = sqlite_path(url) {
        if let Some(dir) = std::path::Path::new(path).parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| DbErr::Custom(format!("cannot create {}: {e}", dir.display())))?;
            }
        }
    }
    let mut options = ConnectOptions::new(url.to_string());
    options.sqlx_logging(false);
    if url.starts_with("sqlite:") {
        // One writer at a time is SQLite's rule; a small pool keeps readers
        // concurrent without piling up writers waiting on the lock.
        options.max_connections(4).min_connections(1);
    } else {
        options.max_connections(20);
    }
    if let Some(schema) = schema {
        options.set_schema_search_path(schema.to_string());
    }
    Database::connect(options).await
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then_some(path)
}

/// The current time, as stored.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

/// RFC 3339 with microseconds and `Z`: sorts as text, the same on every
/// database.
pub fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}
