//! Canned responses: replies the team saves once and types as `/shortcut`
//! in a conversation. Every agent reads them; admins write them.
//!
//! # Layout
//! - this file: [`CannedService`] (the rules), [`Shortcut`].
//! - `routes`: the admin API's handlers and their router.
//! - the queries: [`CannedService`]'s private helpers (one table, a few
//!   statements).

use app::types::{AgentId, AgentView, CannedResponse, CannedResponseId, ErrorCode};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, SqlErr, TransactionTrait,
};

use crate::auth::require_admin;
use crate::chat::domain::MessageText;
use crate::error::AppError;
use crate::storage::{canned_responses, now, rfc3339, Db};

pub mod routes;

/// The most canned responses a team keeps (the list is read whole).
pub const MAX_CANNED: u64 = 500;
/// The PostgreSQL advisory lock creates take (any fixed number no other
/// part of the server uses).
const CREATE_LOCK: i64 = 0x6361_6e6e_6564;
/// The longest shortcut, in characters.
pub const SHORTCUT_MAX: usize = 32;

/// A shortcut as stored: 1–32 characters of `a-z`, `0-9`, `-` and `_`,
/// lower case, without the `/` typed before it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shortcut(String);

impl Shortcut {
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        let text = raw.trim();
        let text = text.strip_prefix('/').unwrap_or(text).to_lowercase();
        let valid = !text.is_empty()
            && text.chars().count() <= SHORTCUT_MAX
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            return Err(AppError::Invalid(
                ErrorCode::InvalidShortcut,
                format!(
                    "A shortcut is 1–{SHORTCUT_MAX} letters, digits, '-' or '_' (like /refund)."
                ),
            ));
        }
        Ok(Self(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A change to a canned response: each field optional.
#[derive(Clone, Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CannedChange {
    pub shortcut: Option<String>,
    pub content: Option<String>,
}

/// A new canned response.
#[derive(Clone, Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCanned {
    pub shortcut: String,
    pub content: String,
}

pub struct CannedService {
    db: Db,
    max_chars: usize,
}

fn view(row: canned_responses::Model) -> CannedResponse {
    CannedResponse {
        id: row.id.into(),
        shortcut: row.shortcut,
        content: row.content,
        created_by: row.created_by.map(AgentId::from),
        created_at: rfc3339(row.created_at),
        updated_at: rfc3339(row.updated_at),
    }
}

fn taken(shortcut: &Shortcut) -> AppError {
    AppError::Conflict(
        ErrorCode::ShortcutTaken,
        format!(
            "/{} is taken by another canned response.",
            shortcut.as_str()
        ),
    )
}

fn unknown() -> AppError {
    AppError::NotFound(
        ErrorCode::UnknownCannedResponse,
        "No such canned response.".into(),
    )
}

impl CannedService {
    /// `max_chars`: the longest text, as for messages (`MAX_MESSAGE_LENGTH`).
    pub fn new(db: Db, max_chars: usize) -> Self {
        Self { db, max_chars }
    }

    /// Every canned response, by shortcut (at most [`MAX_CANNED`]).
    pub async fn list(&self) -> Result<Vec<CannedResponse>, AppError> {
        let rows = canned_responses::Entity::find()
            .order_by_asc(canned_responses::Column::Shortcut)
            .limit(MAX_CANNED)
            .all(&self.db.read)
            .await?;
        Ok(rows.into_iter().map(view).collect())
    }

    /// Saves a new one; admins only.
    pub async fn create(
        &self,
        actor: &AgentView,
        new: NewCanned,
    ) -> Result<CannedResponse, AppError> {
        require_admin(actor)?;
        let shortcut = Shortcut::parse(&new.shortcut)?;
        let content = MessageText::parse(&new.content, self.max_chars)?;
        // Count and insert in one transaction that concurrent creates wait
        // for (SQLite: its one writer; PostgreSQL: an advisory lock), so
        // two admins at 499 cannot make 501.
        let txn = self.db.write.begin().await?;
        if txn.get_database_backend() == DatabaseBackend::Postgres {
            txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({CREATE_LOCK})"))
                .await?;
        }
        if canned_responses::Entity::find().count(&txn).await? >= MAX_CANNED {
            return Err(AppError::Conflict(
                ErrorCode::TooMany,
                format!("A team keeps at most {MAX_CANNED} canned responses; delete one first."),
            ));
        }
        let at = now();
        let row = canned_responses::ActiveModel {
            id: Set(uuid::Uuid::now_v7().to_string()),
            shortcut: Set(shortcut.as_str().to_string()),
            content: Set(content.as_str().to_string()),
            created_by: Set(Some(actor.id.to_string())),
            created_at: Set(at),
            updated_at: Set(at),
        };
        let row = match row.insert(&txn).await {
            Ok(row) => row,
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                return Err(taken(&shortcut));
            }
            Err(e) => return Err(e.into()),
        };
        txn.commit().await?;
        Ok(view(row))
    }

    /// Changes the shortcut or the text; admins only.
    pub async fn update(
        &self,
        actor: &AgentView,
        id: &CannedResponseId,
        change: CannedChange,
    ) -> Result<CannedResponse, AppError> {
        require_admin(actor)?;
        let shortcut = change
            .shortcut
            .as_deref()
            .map(Shortcut::parse)
            .transpose()?;
        let content = change
            .content
            .as_deref()
            .map(|c| MessageText::parse(c, self.max_chars))
            .transpose()?;
        let row = canned_responses::Entity::find_by_id(id.as_str())
            .one(&self.db.write)
            .await?
            .ok_or_else(unknown)?;
        let mut active: canned_responses::ActiveModel = row.into();
        if let Some(s) = &shortcut {
            active.shortcut = Set(s.as_str().to_string());
        }
        if let Some(c) = &content {
            active.content = Set(c.as_str().to_string());
        }
        active.updated_at = Set(now());
        match active.update(&self.db.write).await {
            Ok(row) => Ok(view(row)),
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                Err(match &shortcut {
                    Some(s) => taken(s),
                    None => e.into(),
                })
            }
            Err(sea_orm::DbErr::RecordNotUpdated) => Err(unknown()),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes one; admins only.
    pub async fn delete(&self, actor: &AgentView, id: &CannedResponseId) -> Result<(), AppError> {
        require_admin(actor)?;
        let done = canned_responses::Entity::delete_many()
            .filter(canned_responses::Column::Id.eq(id.as_str()))
            .exec(&self.db.write)
            .await?;
        if done.rows_affected == 0 {
            return Err(unknown());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortcuts_are_short_plain_and_lower_case() {
        assert_eq!(Shortcut::parse("/Refund").unwrap().as_str(), "refund");
        assert_eq!(
            Shortcut::parse(" hello_2-u ").unwrap().as_str(),
            "hello_2-u"
        );
        for bad in ["", "/", "two words", "émoji", "a/b", &"x".repeat(33)] {
            let e = Shortcut::parse(bad).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidShortcut, "{bad:?}");
        }
    }
}
