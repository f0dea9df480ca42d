//! Support agents: accounts, passwords, dashboard sessions, API tokens and
//! the first-run setup; and the admin HTTP API.
//!
//! # Layout
//! - this file: [`AgentService`] (the rules) and [`AdminState`] (what the
//!   admin API's handlers use).
//! - `store`: the queries (the only SeaORM in this domain).
//! - `extract`: the [`extract::CurrentAgent`] extractor (cookie or API token).
//! - `routes`: the admin HTTP API (thin handlers) and its router.

use std::sync::{Arc, Mutex};

use app::types::{AgentAccount, AgentId, AgentView, ApiTokenView, ErrorCode, Role};
use chrono::Duration;

use crate::attachments::AttachmentService;
use crate::auth::{
    constant_time_eq, hash_password, random_token, require_admin, verify_password, TokenHasher,
};
use crate::chat::ChatService;
use crate::error::AppError;
use crate::limits::{ClientAddr, Limits};
use crate::storage::{now, Db};

pub mod extract;
pub mod routes;
pub mod store;

use store::{Agent, AgentStore};

/// What the admin API's handlers use: the agents, the conversations and
/// their files.
#[derive(Clone)]
pub struct AdminState {
    pub agents: Arc<AgentService>,
    pub chat: Arc<ChatService>,
    pub attachments: Arc<AttachmentService>,
}

impl AdminState {
    /// Deletes a conversation with its messages, notes and files (admins):
    /// the one path for the admin API and the dashboard. The files are
    /// listed before the rows go and deleted after, so a failure on the
    /// way leaves either everything or orphan files, never messages
    /// pointing at missing files.
    pub async fn delete_conversation(
        &self,
        actor: &AgentView,
        id: &app::types::SessionId,
    ) -> Result<(), AppError> {
        require_admin(actor)?;
        let files = self.attachments.files_of(id).await?;
        self.chat.delete_conversation(id).await?;
        self.attachments.delete_stored(files).await;
        tracing::info!(session_id = %id, by = %actor.username, "conversation deleted");
        Ok(())
    }
}

/// How often an API token's last use is written, at most.
pub const LAST_USED_EVERY_SECS: i64 = 60;

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
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Session => "session",
            TokenKind::Api => "api",
        }
    }
}

pub struct AgentService {
    store: AgentStore,
    hasher: TokenHasher,
    session_ttl: Duration,
    /// The one-time first-run token, while no agent exists.
    setup_token: Mutex<Option<String>>,
    /// A real argon2 hash to verify against when the username is unknown,
    /// so timing does not tell which usernames exist.
    dummy_hash: String,
    limits: Arc<Limits>,
}

/// Most accounts or tokens one listing returns.
pub const LIST_MAX: u64 = 1000;

impl AgentService {
    pub fn new(db: Db, hasher: TokenHasher, session_ttl_hours: i64, limits: Arc<Limits>) -> Self {
        Self {
            store: AgentStore::new(db),
            hasher,
            session_ttl: Duration::hours(session_ttl_hours),
            setup_token: Mutex::new(None),
            // argon2 with the default parameters cannot fail on a fixed
            // input; should it, no username would ever verify.
            dummy_hash: hash_password("not a real password").unwrap_or_default(),
            limits,
        }
    }

    pub async fn count(&self) -> Result<u64, AppError> {
        self.store.count().await
    }

    /// When no agent exists, makes (or returns) the one-time setup token.
    pub async fn ensure_setup_token(&self) -> Result<Option<String>, AppError> {
        if self.count().await? > 0 {
            *self.setup_slot() = None;
            return Ok(None);
        }
        let mut slot = self.setup_slot();
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
        let refused = || {
            AppError::Forbidden(
                ErrorCode::InvalidSetupToken,
                "This setup link is not valid (any more). Use the link the server printed, or `defmis-chat create-admin`.".into(),
            )
        };
        // Taken out under the lock: of two completions at once, one finds
        // the slot empty, so exactly one admin is made.
        let taken = {
            let mut slot = self.setup_slot();
            match slot.as_deref() {
                Some(expected) if constant_time_eq(expected, token) => slot.take(),
                _ => None,
            }
        };
        let Some(taken) = taken else {
            return Err(refused());
        };
        let made = match self.setup_needed().await {
            Ok(true) => self.create(username, password, Role::Admin).await,
            Ok(false) => Err(refused()),
            Err(e) => Err(e),
        };
        if made.is_err() && self.setup_needed().await.unwrap_or(false) {
            // A weak password or a database error: the link still works.
            *self.setup_slot() = Some(taken);
        }
        made
    }

    /// Creates an agent account.
    pub async fn create(
        &self,
        username: &str,
        password: &str,
        role: Role,
    ) -> Result<AgentView, AppError> {
        self.create_named(username, "", password, role).await
    }

    /// Creates an account with the name visitors see.
    pub async fn create_named(
        &self,
        username: &str,
        display_name: &str,
        password: &str,
        role: Role,
    ) -> Result<AgentView, AppError> {
        let username = parse_username(username)?;
        let display_name = parse_display_name(display_name)?;
        check_password(password)?;
        let hash = self.hash(password).await?;
        let agent = Agent {
            id: AgentId::from(uuid::Uuid::new_v4().to_string()),
            username,
            password_hash: hash,
            role,
            active: true,
            display_name,
        };
        match self.store.insert(&agent, now()).await? {
            Ok(()) => Ok(view(&agent)),
            Err(_) => Err(AppError::Conflict(
                ErrorCode::UsernameTaken,
                "That username is taken.".into(),
            )),
        }
    }

    /// Hashes a new password, at most one argon2 per CPU at a time.
    async fn hash(&self, password: &str) -> Result<String, AppError> {
        let _turn = self.limits.hashing_turn().await?;
        let password = password.to_string();
        tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(|e| AppError::internal("hashing task failed", e))?
            .map_err(|e| AppError::internal("hashing failed", e))
    }

    /// Checks a username and password; answers the same error whichever is
    /// wrong.
    pub async fn verify(&self, username: &str, password: &str) -> Result<AgentView, AppError> {
        let agent = self.store.by_username(username).await?;
        let hash = agent
            .as_ref()
            .filter(|a| a.active)
            .map(|a| a.password_hash.clone())
            .unwrap_or_else(|| self.dummy_hash.clone());
        let password = password.to_string();
        let turn = self.limits.hashing_turn().await?;
        let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
            .await
            .map_err(|e| AppError::internal("verify task failed", e))?;
        drop(turn);
        match agent {
            Some(a) if ok && a.active => Ok(view(&a)),
            _ => Err(AppError::Unauthorized(
                ErrorCode::InvalidCredentials,
                "Wrong username or password.".into(),
            )),
        }
    }

    /// Signs in from `from`: a new dashboard session token. Refused
    /// sign-ins are throttled per username and per address, and logged at
    /// info (they are the client's mistake, not ours).
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        from: ClientAddr,
    ) -> Result<String, AppError> {
        if let Err(e) = self.limits.login_allowed(username, from) {
            tracing::info!(username, address = %from, "sign-in throttled");
            return Err(e);
        }
        let agent = match self.verify(username, password).await {
            Ok(agent) => agent,
            Err(e @ AppError::Unauthorized(..)) => {
                self.limits.login_failed(username, from);
                tracing::info!(username, address = %from, "sign-in refused");
                return Err(e);
            }
            Err(e) => return Err(e),
        };
        tracing::info!(username, address = %from, "signed in");
        self.issue(&agent.id, TokenKind::Session, None).await
    }

    /// Every account (at most [`LIST_MAX`]).
    pub async fn list(&self) -> Result<Vec<AgentAccount>, AppError> {
        Ok(self
            .store
            .list(LIST_MAX)
            .await?
            .iter()
            .map(account)
            .collect())
    }

    // The admin API: each checks the caller's role here, not in a page.

    /// Every account; admins only.
    pub async fn accounts(&self, actor: &AgentView) -> Result<Vec<AgentAccount>, AppError> {
        require_admin(actor)?;
        self.list().await
    }

    /// A new account; admins only.
    pub async fn add_account(
        &self,
        actor: &AgentView,
        new: NewAccount,
    ) -> Result<AgentAccount, AppError> {
        require_admin(actor)?;
        let made = self
            .create_named(&new.username, &new.display_name, &new.password, new.role)
            .await?;
        tracing::info!(by = %actor.username, username = %made.username, role = made.role.as_str(), "account created");
        self.account_by_id(&made.id).await
    }

    /// Changes an account's role, display name or active state. Admins
    /// may change anyone; an agent only their own display name. The last
    /// active admin cannot be demoted or deactivated.
    pub async fn change_account(
        &self,
        actor: &AgentView,
        id: &AgentId,
        change: AccountChange,
    ) -> Result<AgentAccount, AppError> {
        let only_own_name = change.role.is_none()
            && change.active.is_none()
            && change.password.is_none()
            && &actor.id == id;
        if !only_own_name {
            require_admin(actor)?;
        }
        let target = self.store.by_id(id).await?.ok_or_else(unknown_agent)?;
        let demotes = change.role.is_some_and(|r| r != Role::Admin) || change.active == Some(false);
        if demotes
            && target.role == Role::Admin
            && target.active
            && self.store.active_admins().await? <= 1
        {
            return Err(AppError::Conflict(
                ErrorCode::LastAdmin,
                "This is the last active admin; make another admin first.".into(),
            ));
        }
        let display_name = change
            .display_name
            .as_deref()
            .map(parse_display_name)
            .transpose()?;
        if let Some(password) = &change.password {
            check_password(password)?;
        }
        self.store.update(id, change.role, display_name).await?;
        if let Some(active) = change.active {
            self.store.set_active(id, active).await?;
        }
        if let Some(password) = &change.password {
            return self.reset_account_password(actor, id, password).await;
        }
        self.account_by_id(id).await
    }

    async fn account_by_id(&self, id: &AgentId) -> Result<AgentAccount, AppError> {
        let agent = self.store.by_id(id).await?.ok_or_else(unknown_agent)?;
        Ok(account(&agent))
    }

    /// API tokens; admins only.
    pub async fn tokens(&self, actor: &AgentView) -> Result<Vec<ApiTokenView>, AppError> {
        require_admin(actor)?;
        Ok(self
            .api_tokens()
            .await?
            .into_iter()
            .map(token_view)
            .collect())
    }

    /// A new API token for the agent named `username`; admins only. The
    /// token's value is in the answer, and nowhere else, ever.
    pub async fn add_token(
        &self,
        actor: &AgentView,
        username: &str,
        name: Option<String>,
    ) -> Result<(ApiTokenView, String), AppError> {
        require_admin(actor)?;
        let name = name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
        if name.as_ref().is_some_and(|n| n.chars().count() > 100) {
            return Err(AppError::Invalid(
                ErrorCode::InvalidName,
                "Token names have at most 100 characters.".into(),
            ));
        }
        let agent = self.by_username(username).await?;
        let (id, token, at) = self
            .issue_with_id(&agent.id, TokenKind::Api, name.clone())
            .await?;
        let view = token_view(store::ApiTokenRow {
            id,
            agent_id: agent.id,
            name,
            created_at: at,
            last_used_at: None,
        });
        Ok((view, token))
    }

    /// Revokes an API token; admins only.
    pub async fn remove_token(&self, actor: &AgentView, id: &str) -> Result<(), AppError> {
        require_admin(actor)?;
        self.revoke_api_token(id).await
    }

    async fn by_username(&self, username: &str) -> Result<Agent, AppError> {
        self.store.by_username(username).await?.ok_or_else(|| {
            AppError::NotFound(
                ErrorCode::UnknownAgent,
                format!("No agent named {username:?}."),
            )
        })
    }

    /// The account named `username`.
    pub async fn view_by_username(&self, username: &str) -> Result<AgentView, AppError> {
        Ok(view(&self.by_username(username).await?))
    }

    /// Turns an account off: it cannot sign in, and its open sockets close
    /// (4401) at their next check. Its tokens stay, inert, so turning it
    /// back on restores them.
    pub async fn set_active(&self, username: &str, active: bool) -> Result<(), AppError> {
        let agent = self.by_username(username).await?;
        self.store.set_active(&agent.id, active).await?;
        Ok(())
    }

    /// Sets a new password and ends every dashboard session of the agent
    /// (API tokens stay).
    pub async fn reset_password(&self, username: &str, password: &str) -> Result<(), AppError> {
        let agent = self.by_username(username).await?;
        check_password(password)?;
        let hash = self.hash(password).await?;
        self.store.set_password(&agent.id, hash, None).await
    }

    /// An admin sets another account's password (a forgotten one): that
    /// agent's dashboard sessions end and their sockets close within 5 s;
    /// API tokens stay.
    pub async fn reset_account_password(
        &self,
        actor: &AgentView,
        id: &AgentId,
        password: &str,
    ) -> Result<AgentAccount, AppError> {
        require_admin(actor)?;
        check_password(password)?;
        let target = self.store.by_id(id).await?.ok_or_else(unknown_agent)?;
        let hash = self.hash(password).await?;
        self.store.set_password(&target.id, hash, None).await?;
        tracing::info!(by = %actor.username, username = %target.username, "password reset");
        self.account_by_id(id).await
    }

    /// An agent changes their own password, proving the current one; their
    /// other dashboard sessions end, the one of `session` (its token)
    /// stays. Throttled like sign-ins.
    pub async fn change_own_password(
        &self,
        actor: &AgentView,
        session: Option<&str>,
        current: &str,
        password: &str,
        from: ClientAddr,
    ) -> Result<(), AppError> {
        self.limits.login_allowed(&actor.username, from)?;
        check_password(password)?;
        if let Err(e) = self.verify(&actor.username, current).await {
            if matches!(e, AppError::Unauthorized(..)) {
                self.limits.login_failed(&actor.username, from);
                return Err(AppError::Forbidden(
                    ErrorCode::InvalidCredentials,
                    "The current password is wrong.".into(),
                ));
            }
            return Err(e);
        }
        let hash = self.hash(password).await?;
        let keep = session.map(|t| self.hasher.hash(t));
        self.store
            .set_password(&actor.id, hash, keep.as_deref())
            .await?;
        tracing::info!(username = %actor.username, "password changed");
        Ok(())
    }

    /// Ends every dashboard session of the agent, this one included (API
    /// tokens stay); their sockets close within 5 s.
    pub async fn sign_out_everywhere(&self, actor: &AgentView) -> Result<u64, AppError> {
        let ended = self.store.end_sessions(&actor.id).await?;
        tracing::info!(username = %actor.username, sessions = ended, "signed out everywhere");
        Ok(ended)
    }

    /// API tokens, newest first (at most [`LIST_MAX`]); never their values.
    pub async fn api_tokens(&self) -> Result<Vec<store::ApiTokenRow>, AppError> {
        self.store.api_tokens(LIST_MAX).await
    }

    /// Revokes an API token; sockets opened with it close within seconds.
    pub async fn revoke_api_token(&self, id: &str) -> Result<(), AppError> {
        if self.store.delete_api_token(id).await? {
            Ok(())
        } else {
            Err(AppError::NotFound(
                ErrorCode::InvalidToken,
                format!("No API token has the id {id:?}."),
            ))
        }
    }

    /// Issues a token of `kind` for an agent; returns it (shown only once).
    pub async fn issue(
        &self,
        agent_id: &AgentId,
        kind: TokenKind,
        name: Option<String>,
    ) -> Result<String, AppError> {
        Ok(self.issue_with_id(agent_id, kind, name).await?.1)
    }

    /// [`Self::issue`], with the token's id and creation time.
    async fn issue_with_id(
        &self,
        agent_id: &AgentId,
        kind: TokenKind,
        name: Option<String>,
    ) -> Result<(String, String, chrono::DateTime<chrono::Utc>), AppError> {
        let token = random_token();
        let at = now();
        let expires = (kind == TokenKind::Session).then(|| at + self.session_ttl);
        let id = self
            .store
            .insert_token(agent_id, self.hasher.hash(&token), kind, name, at, expires)
            .await?;
        Ok((id, token, at))
    }

    /// An API token for the agent named `username`.
    pub async fn create_api_token(
        &self,
        username: &str,
        name: Option<String>,
    ) -> Result<String, AppError> {
        let agent = self.store.by_username(username).await?.ok_or_else(|| {
            AppError::NotFound(
                ErrorCode::UnknownAgent,
                format!("No agent named {username:?}."),
            )
        })?;
        self.issue(&agent.id, TokenKind::Api, name).await
    }

    /// The active agent a token of `kind` belongs to, if it is valid.
    pub async fn agent_for_token(
        &self,
        token: &str,
        kind: TokenKind,
    ) -> Result<Option<AgentView>, AppError> {
        let Some(found) = self.store.token(&self.hasher.hash(token), kind).await? else {
            return Ok(None);
        };
        let at = now();
        if found.expires_at.is_some_and(|e| e < at) {
            return Ok(None);
        }
        let agent = self.store.by_id(&found.agent_id).await?;
        let agent = agent.filter(|a| a.active);
        // An API token's last use, at most once a minute (never on the
        // visitors' acknowledgement path: only agents' calls check tokens).
        let since = at - chrono::Duration::seconds(LAST_USED_EVERY_SECS);
        if kind == TokenKind::Api && agent.is_some() && found.last_used_at.is_none_or(|t| t < since)
        {
            self.store.touch_token(&found.id, at, since).await?;
        }
        Ok(agent.as_ref().map(view))
    }

    /// Ends a dashboard session.
    pub async fn logout(&self, token: &str) -> Result<(), AppError> {
        self.store
            .delete_token(&self.hasher.hash(token), TokenKind::Session)
            .await
    }

    fn setup_slot(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.setup_token.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn session_ttl_secs(&self) -> i64 {
        self.session_ttl.num_seconds()
    }
}

/// A new account, from the admin API.
#[derive(Clone, Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct NewAccount {
    pub username: String,
    pub password: String,
    #[serde(default = "agent_role")]
    pub role: Role,
    #[serde(default)]
    pub display_name: String,
}

fn agent_role() -> Role {
    Role::Agent
}

/// What `PATCH …/agents/{id}/` may change.
#[derive(Clone, Debug, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct AccountChange {
    pub role: Option<Role>,
    pub display_name: Option<String>,
    pub active: Option<bool>,
    /// A new password (admins; ends the agent's dashboard sessions).
    #[serde(default)]
    pub password: Option<String>,
}

fn unknown_agent() -> AppError {
    AppError::NotFound(ErrorCode::UnknownAgent, "No such agent.".into())
}

fn account(a: &Agent) -> AgentAccount {
    AgentAccount {
        id: a.id.clone(),
        username: a.username.clone(),
        display_name: a.display_name.clone(),
        role: a.role,
        active: a.active,
    }
}

fn token_view(t: store::ApiTokenRow) -> ApiTokenView {
    ApiTokenView {
        id: t.id,
        agent_id: t.agent_id,
        name: t.name,
        created_at: t
            .created_at
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        last_used_at: t.last_used_at.map(crate::storage::rfc3339),
    }
}

/// What visitors see: up to 100 characters, no control characters;
/// blank means not set.
pub fn parse_display_name(raw: &str) -> Result<String, AppError> {
    let name = raw.trim();
    if name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(AppError::Invalid(
            ErrorCode::InvalidName,
            "Display names have at most 100 characters and no control characters.".into(),
        ));
    }
    Ok(name.to_string())
}

fn check_password(password: &str) -> Result<(), AppError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AppError::Invalid(
            ErrorCode::WeakPassword,
            format!("The password needs at least {MIN_PASSWORD_CHARS} characters."),
        ));
    }
    Ok(())
}

fn view(a: &Agent) -> AgentView {
    AgentView {
        id: a.id.clone(),
        username: a.username.clone(),
        role: a.role,
        display_name: a.display_name.clone(),
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
            ErrorCode::InvalidUsername,
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
