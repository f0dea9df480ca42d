//! Agent and token queries: the only place the agents domain meets SeaORM.

use app::types::{AgentId, Role};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set, SqlErr,
};

use super::TokenKind;
use crate::error::AppError;
use crate::storage::{agents, auth_tokens, Db};

/// A stored agent account.
#[derive(Clone, Debug)]
pub struct Agent {
    pub id: AgentId,
    pub username: String,
    pub password_hash: String,
    pub role: Role,
    pub active: bool,
    pub display_name: String,
}

/// A stored token: whose, and until when.
#[derive(Clone, Debug)]
pub struct Token {
    pub id: String,
    pub agent_id: AgentId,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// The username is taken.
pub struct UsernameTaken;

fn agent(row: agents::Model) -> Agent {
    Agent {
        id: row.id.into(),
        username: row.username,
        password_hash: row.password_hash,
        role: Role::parse(&row.role).unwrap_or(Role::Agent),
        active: row.active,
        display_name: row.display_name,
    }
}

pub struct AgentStore {
    db: Db,
}

impl AgentStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub async fn count(&self) -> Result<u64, AppError> {
        Ok(agents::Entity::find().count(&self.db.read).await?)
    }

    pub async fn insert(
        &self,
        a: &Agent,
        at: DateTime<Utc>,
    ) -> Result<Result<(), UsernameTaken>, AppError> {
        let inserted = agents::ActiveModel {
            id: Set(a.id.to_string()),
            username: Set(a.username.clone()),
            password_hash: Set(a.password_hash.clone()),
            role: Set(a.role.as_str().to_string()),
            active: Set(a.active),
            created_at: Set(at),
            display_name: Set(a.display_name.clone()),
        }
        .insert(&self.db.write)
        .await;
        match inserted {
            Ok(_) => Ok(Ok(())),
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                Ok(Err(UsernameTaken))
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn by_username(&self, username: &str) -> Result<Option<Agent>, AppError> {
        Ok(agents::Entity::find()
            .filter(agents::Column::Username.eq(username))
            .one(&self.db.read)
            .await?
            .map(agent))
    }

    pub async fn by_id(&self, id: &AgentId) -> Result<Option<Agent>, AppError> {
        Ok(agents::Entity::find_by_id(id.as_str())
            .one(&self.db.read)
            .await?
            .map(agent))
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn insert_token(
        &self,
        agent_id: &AgentId,
        token_hash: String,
        kind: TokenKind,
        name: Option<String>,
        at: DateTime<Utc>,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<String, AppError> {
        let id = uuid::Uuid::new_v4().to_string();
        auth_tokens::ActiveModel {
            id: Set(id.clone()),
            agent_id: Set(agent_id.to_string()),
            token_hash: Set(token_hash),
            kind: Set(kind.as_str().to_string()),
            name: Set(name),
            created_at: Set(at),
            expires_at: Set(expires_at),
            last_used_at: Set(None),
        }
        .insert(&self.db.write)
        .await?;
        Ok(id)
    }

    pub async fn token(
        &self,
        token_hash: &str,
        kind: TokenKind,
    ) -> Result<Option<Token>, AppError> {
        Ok(auth_tokens::Entity::find()
            .filter(auth_tokens::Column::TokenHash.eq(token_hash))
            .filter(auth_tokens::Column::Kind.eq(kind.as_str()))
            .one(&self.db.read)
            .await?
            .map(|t| Token {
                id: t.id,
                agent_id: t.agent_id.into(),
                expires_at: t.expires_at,
                last_used_at: t.last_used_at,
            }))
    }

    /// Records that a token was used at `at`, unless that was already
    /// recorded after `since` (a write at most once per interval).
    pub async fn touch_token(
        &self,
        id: &str,
        at: DateTime<Utc>,
        since: DateTime<Utc>,
    ) -> Result<(), AppError> {
        auth_tokens::Entity::update_many()
            .col_expr(
                auth_tokens::Column::LastUsedAt,
                sea_orm::sea_query::Expr::value(at),
            )
            .filter(auth_tokens::Column::Id.eq(id))
            .filter(
                sea_orm::Condition::any()
                    .add(auth_tokens::Column::LastUsedAt.is_null())
                    .add(auth_tokens::Column::LastUsedAt.lt(since)),
            )
            .exec(&self.db.write)
            .await?;
        Ok(())
    }

    pub async fn delete_token(&self, token_hash: &str, kind: TokenKind) -> Result<(), AppError> {
        auth_tokens::Entity::delete_many()
            .filter(auth_tokens::Column::TokenHash.eq(token_hash))
            .filter(auth_tokens::Column::Kind.eq(kind.as_str()))
            .exec(&self.db.write)
            .await?;
        Ok(())
    }

    /// Every agent, by username (accounts are few; at most `limit`).
    pub async fn list(&self, limit: u64) -> Result<Vec<Agent>, AppError> {
        use sea_orm::{QueryOrder, QuerySelect};
        Ok(agents::Entity::find()
            .order_by_asc(agents::Column::Username)
            .limit(limit)
            .all(&self.db.read)
            .await?
            .into_iter()
            .map(agent)
            .collect())
    }

    /// Active admins.
    pub async fn active_admins(&self) -> Result<u64, AppError> {
        Ok(agents::Entity::find()
            .filter(agents::Column::Role.eq(Role::Admin.as_str()))
            .filter(agents::Column::Active.eq(true))
            .count(&self.db.read)
            .await?)
    }

    /// Changes what is `Some`; `false` when no agent has that id.
    pub async fn update(
        &self,
        id: &AgentId,
        role: Option<Role>,
        display_name: Option<String>,
    ) -> Result<bool, AppError> {
        use sea_orm::sea_query::Expr;
        if role.is_none() && display_name.is_none() {
            return Ok(self.by_id(id).await?.is_some());
        }
        let mut update = agents::Entity::update_many().filter(agents::Column::Id.eq(id.as_str()));
        if let Some(role) = role {
            update = update.col_expr(agents::Column::Role, Expr::value(role.as_str()));
        }
        if let Some(name) = display_name {
            update = update.col_expr(agents::Column::DisplayName, Expr::value(name));
        }
        Ok(update.exec(&self.db.write).await?.rows_affected > 0)
    }

    /// Turns an account on or off; `false` when no agent has that id.
    pub async fn set_active(&self, id: &AgentId, active: bool) -> Result<bool, AppError> {
        let done = agents::Entity::update_many()
            .col_expr(
                agents::Column::Active,
                sea_orm::sea_query::Expr::value(active),
            )
            .filter(agents::Column::Id.eq(id.as_str()))
            .exec(&self.db.write)
            .await?;
        Ok(done.rows_affected > 0)
    }

    /// Replaces the password hash and ends every dashboard session of the
    /// agent, in one transaction.
    /// Sets a password hash and ends the agent's dashboard sessions, all
    /// but the one whose hash is `keep` (the session that changed it).
    pub async fn set_password(
        &self,
        id: &AgentId,
        hash: String,
        keep: Option<&str>,
    ) -> Result<(), AppError> {
        use sea_orm::TransactionTrait;
        let txn = self.db.write.begin().await?;
        agents::Entity::update_many()
            .col_expr(
                agents::Column::PasswordHash,
                sea_orm::sea_query::Expr::value(hash),
            )
            .filter(agents::Column::Id.eq(id.as_str()))
            .exec(&txn)
            .await?;
        let mut sessions = auth_tokens::Entity::delete_many()
            .filter(auth_tokens::Column::AgentId.eq(id.as_str()))
            .filter(auth_tokens::Column::Kind.eq(TokenKind::Session.as_str()));
        if let Some(keep) = keep {
            sessions = sessions.filter(auth_tokens::Column::TokenHash.ne(keep));
        }
        sessions.exec(&txn).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Ends every dashboard session of an agent; how many there were.
    pub async fn end_sessions(&self, id: &AgentId) -> Result<u64, AppError> {
        let done = auth_tokens::Entity::delete_many()
            .filter(auth_tokens::Column::AgentId.eq(id.as_str()))
            .filter(auth_tokens::Column::Kind.eq(TokenKind::Session.as_str()))
            .exec(&self.db.write)
            .await?;
        Ok(done.rows_affected)
    }

    /// API tokens (never their values), newest first, at most `limit`.
    pub async fn api_tokens(&self, limit: u64) -> Result<Vec<ApiTokenRow>, AppError> {
        use sea_orm::{QueryOrder, QuerySelect};
        let rows = auth_tokens::Entity::find()
            .filter(auth_tokens::Column::Kind.eq(TokenKind::Api.as_str()))
            .order_by_desc(auth_tokens::Column::CreatedAt)
            .limit(limit)
            .all(&self.db.read)
            .await?;
        Ok(rows
            .into_iter()
            .map(|t| ApiTokenRow {
                id: t.id,
                agent_id: t.agent_id.into(),
                name: t.name,
                created_at: t.created_at,
                last_used_at: t.last_used_at,
            })
            .collect())
    }

    /// Deletes an API token by its id; `false` when there was none.
    pub async fn delete_api_token(&self, id: &str) -> Result<bool, AppError> {
        let done = auth_tokens::Entity::delete_many()
            .filter(auth_tokens::Column::Id.eq(id))
            .filter(auth_tokens::Column::Kind.eq(TokenKind::Api.as_str()))
            .exec(&self.db.write)
            .await?;
        Ok(done.rows_affected > 0)
    }
}

/// An API token as listed (its value is never stored).
#[derive(Clone, Debug)]
pub struct ApiTokenRow {
    pub id: String,
    pub agent_id: AgentId,
    pub name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}
