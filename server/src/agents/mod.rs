//! Support agents: accounts, passwords, dashboard sessions, API tokens and
//! the first-run setup.
//!
//! # Layout
//! - this file: [`AgentService`].
//! - `extract`: the [`extract::CurrentAgent`] extractor (cookie or API token).
//! - `routes`: the admin HTTP API.

use std::sync::Mutex;

use app::types::{AgentRole, AgentView};
use chrono::Duration;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    Set, SqlErr,
};

use crate::auth::{constant_time_eq, hash_password, random_token, verify_password, TokenHasher};
use crate::error::AppError;
use crate::storage::{agents, auth_tokens, now};

pub mod extract;
pub mod routes;

/// The shortest password we accept.
pub const MIN_PASSWORD_CHARS: usize = 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// A dashboard sign-in, carried by the session cookie; expires.
    Session,
    /// A program's token, carried as `Authorization: Bearer …`; until revoked.
    Api,
}

impl TokenKind {
    fn as_str(self) -> &'static str {
        match self {
            TokenKind::Session => "session",
            TokenKind::Api => "api",
        }
    }
}

pub struct AgentService {
    db: DatabaseConnection,
    hasher: TokenHasher,
    session_ttl: Duration,
    /// The one-time first-run token, while no agent exists.
    setup_token: Mutex<Option<String>>,
    /// A real argon2 hash to verify against when the username is unknown,
    /// so timing does not tell which usernames exist.
    dummy_hash: String,
}

impl AgentService {
    pub fn new(db: DatabaseConnection, hasher: TokenHasher, session_ttl_hours: i64) -> Self {
        Self {
            db,
            hasher,
            session_ttl: Duration::hours(session_ttl_hours),
            setup_token: Mutex::new(None),
            dummy_hash: hash_password("not a real password").expect("argon2 hashes"),
        }
    }

    pub async fn count(&self) -> Result<u64, AppError> {
        Ok(agents::Entity::find().count(&self.db).await?)
    }

    /// When no agent exists, makes (or returns) the one-time setup token.
    pub async fn ensure_setup_token(&self) -> Result<Option<String>, AppError> {
        if self.count().await? > 0 {
            *self.setup_token.lock().expect("setup lock") = None;
            return Ok(None);
        }
        let mut slot = self.setup_token.lock().expect("setup lock");
        Ok(Some(slot.get_or_insert_with(random_token).clone()))
    }

    pub async fn setup_needed(&self) -> Result<bool, AppError> {
        Ok(self.count().await? == 0)
    }

    /// Creates the first admin, if `token` is this instance's setup token
    /// and still no agent exists.
    pub async fn complete_setup(
        &self,
        token: &str,
        username: &str,
        password: &str,
    ) -> Result<AgentView, AppError> {
        let expected = self.setup_token.lock().expect("setup lock").clone();
        let valid = expected.is_some_and(|e| constant_time_eq(&e, token));
        if !valid || !self.setup_needed().await? {
            return Err(AppError::Forbidden(
                "invalid_setup_token",
                "This setup link is not valid (any more). Use the link the server printed, or `defmis-chat create-admin`.".into(),
            ));
        }
        let agent = self.create(username, password, AgentRole::Admin).await?;
        *self.setup_token.lock().expect("setup lock") = None;
        Ok(agent)
    }

    /// Creates an agent account.
    pub async fn create(
        &self,
        username: &str,
        password: &str,
        role: AgentRole,
    ) -> Result<AgentView, AppError> {
        let username = parse_username(username)?;
        if password.chars().count() < MIN_PASSWORD_CHARS {
            return Err(AppError::Invalid(
                "weak_password",
                format!("The password needs at least {MIN_PASSWORD_CHARS} characters."),
            ));
        }
        let password = password.to_string();
        let hash = tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(|e| AppError::internal("hashing task failed", e))?
            .map_err(|e| AppError::internal("hashing failed", e))?;
        let inserted = agents::ActiveModel {
            id: Set(uuid::Uuid::new_v4().to_string()),
            username: Set(username),
            password_hash: Set(hash),
            role: Set(role.as_str().to_string()),
            active: Set(true),
            created_at: Set(now()),
        }
        .insert(&self.db)
        .await;
        match inserted {
            Ok(a) => Ok(view(&a)),
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => Err(
                AppError::Conflict("username_taken", "That username is taken.".into()),
            ),
            Err(e) => Err(e.into()),
        }
    }

    /// Checks a username and password; answers the same error whichever is
    /// wrong.
    pub async fn verify(&self, username: &str, password: &str) -> Result<AgentView, AppError> {
        let agent = agents::Entity::find()
            .filter(agents::Column::Username.eq(username))
            .one(&self.db)
            .await?;
        let hash = agent
            .as_ref()
            .filter(|a| a.active)
            .map(|a| a.password_hash.clone())
            .unwrap_or_else(|| self.dummy_hash.clone());
        let password = password.to_string();
        let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
            .await
            .map_err(|e| AppError::internal("verify task failed", e))?;
        match agent {
            Some(a) if ok && a.active => Ok(view(&a)),
            _ => Err(AppError::Unauthorized(
                "invalid_credentials",
                "Wrong username or password.".into(),
            )),
        }
    }

    /// Signs in: a new dashboard session token.
    pub async fn login(&self, username: &str, password: &str) -> Result<String, AppError> {
        let agent = self.verify(username, password).await?;
        self.issue(&agent.id, TokenKind::Session, None).await
    }

    /// Issues a token of `kind` for an agent; returns it (shown only once).
    pub async fn issue(
        &self,
        agent_id: &str,
        kind: TokenKind,
        name: Option<String>,
    ) -> Result<String, AppError> {
        let token = random_token();
        let at = now();
        auth_tokens::ActiveModel {
            id: Set(uuid::Uuid::new_v4().to_string()),
            agent_id: Set(agent_id.to_string()),
            token_hash: Set(self.hasher.hash(&token)),
            kind: Set(kind.as_str().to_string()),
            name: Set(name),
            created_at: Set(at),
            expires_at: Set((kind == TokenKind::Session).then(|| at + self.session_ttl)),
        }
        .insert(&self.db)
        .await?;
        Ok(token)
    }

    /// An API token for the agent named `username`.
    pub async fn create_api_token(
        &self,
        username: &str,
        name: Option<String>,
    ) -> Result<String, AppError> {
        let agent = agents::Entity::find()
            .filter(agents::Column::Username.eq(username))
            .one(&self.db)
            .await?
            .ok_or_else(|| {
                AppError::NotFound("unknown_agent", format!("No agent named {username:?}."))
            })?;
        self.issue(&agent.id, TokenKind::Api, name).await
    }

    /// The active agent a token of `kind` belongs to, if it is valid.
    pub async fn agent_for_token(
        &self,
        token: &str,
        kind: TokenKind,
    ) -> Result<Option<AgentView>, AppError> {
        let found = auth_tokens::Entity::find()
            .filter(auth_tokens::Column::TokenHash.eq(self.hasher.hash(token)))
            .filter(auth_tokens::Column::Kind.eq(kind.as_str()))
            .one(&self.db)
            .await?;
        let Some(found) = found else { return Ok(None) };
        if found.expires_at.is_some_and(|e| e < now()) {
            return Ok(None);
        }
        let agent = agents::Entity::find_by_id(found.agent_id)
            .one(&self.db)
            .await?;
        Ok(agent.filter(|a| a.active).as_ref().map(view))
    }

    /// Ends a dashboard session.
    pub async fn logout(&self, token: &str) -> Result<(), AppError> {
        auth_tokens::Entity::delete_many()
            .filter(auth_tokens::Column::TokenHash.eq(self.hasher.hash(token)))
            .filter(auth_tokens::Column::Kind.eq(TokenKind::Session.as_str()))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    pub fn session_ttl_secs(&self) -> i64 {
        self.session_ttl.num_seconds()
    }
}

fn view(a: &agents::Model) -> AgentView {
    AgentView {
        id: a.id.clone(),
        username: a.username.clone(),
        role: AgentRole::parse(&a.role).unwrap_or(AgentRole::Agent),
    }
}

/// 1–150 characters of letters, digits and `@.+-_` (Django's rule).
pub fn parse_username(raw: &str) -> Result<String, AppError> {
    let name = raw.trim();
    if name.is_empty()
        || name.chars().count() > 150
        || !name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '@' | '.' | '+' | '-' | '_'))
    {
        return Err(AppError::Invalid(
            "invalid_username",
            "Usernames are 1–150 letters, digits and @ . + - _".into(),
        ));
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert_eq!(parse_username(" ann.lee@x ").unwrap(), "ann.lee@x");
        assert!(parse_username("").is_err());
        assert!(parse_username("has space").is_err());
        assert!(parse_username(&"a".repeat(151)).is_err());
    }
}
