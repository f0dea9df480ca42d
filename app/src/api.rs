//! Server functions of the dashboard. Each one is a public HTTP endpoint, so
//! each authenticates for itself; the work is done by the server's
//! [`Backend`], which the host puts into the Leptos context. Results come
//! back as JSON read through [`crate::json`] (`output = JsonOutput`).

use leptos::prelude::*;

use crate::automation::{
    AutoResponse, AutoResponseChange, AutoResponseId, AutoResponseLogPage, AutoResponseTest,
    AutoResponseVerdict, BusinessHours, BusinessHoursView, LogQuery, NewAutoResponse,
};
use crate::json::JsonOutput;
use crate::types::{
    AgentAccount, AgentId, AgentView, ApiError, ApiTokenView, CannedResponse, CannedResponseId,
    ConversationView, InboxParams, MessageView, NewApiToken, NotePage, NoteView, Role, SessionId,
    SessionPage, SessionStatus, SessionView, Stats, WidgetSettingsChange, WidgetSettingsView,
};

/// Name of the dashboard's session cookie over plain HTTP.
pub const SESSION_COOKIE: &str = "defmis_session";
/// Its name when the public URL is https: the `__Host-` prefix makes
/// browsers refuse it unless it is `Secure`, for `Path=/` and set by this
/// very host (no subdomain can plant one).
pub const SECURE_SESSION_COOKIE: &str = "__Host-defmis_session";

/// The session cookie's name for this server.
pub fn session_cookie_name(secure: bool) -> &'static str {
    if secure {
        SECURE_SESSION_COOKIE
    } else {
        SESSION_COOKIE
    }
}

#[cfg(feature = "ssr")]
pub use backend::*;

#[cfg(feature = "ssr")]
mod backend {
    use std::sync::Arc;

    use super::*;

    /// What the dashboard needs from the server. Implemented in `server`, so
    /// nothing server-only (database, Redis) is compiled into `app`.
    #[async_trait::async_trait]
    pub trait Backend: Send + Sync + 'static {
        /// The agent owning a dashboard session token, if it is valid.
        async fn agent_for_session(&self, token: &str) -> Result<Option<AgentView>, ApiError>;
        /// Checks a password and opens a dashboard session; returns its token.
        async fn login(&self, username: &str, password: &str) -> Result<String, ApiError>;
        async fn logout(&self, token: &str) -> Result<(), ApiError>;
        /// Whether no agent exists yet (the first admin must be created).
        async fn setup_needed(&self) -> Result<bool, ApiError>;
        /// Creates the first admin with the one-time setup token; returns a
        /// dashboard session token for them.
        async fn complete_setup(
            &self,
            setup_token: &str,
            username: &str,
            password: &str,
        ) -> Result<String, ApiError>;
        /// The home's figures.
        async fn stats(&self) -> Result<Stats, ApiError>;
        /// How many conversations have unread visitor messages.
        async fn unread_conversations(&self) -> Result<i64, ApiError>;
        /// Every API token (never their values); admins only.
        async fn api_tokens(&self, agent: &AgentView) -> Result<Vec<ApiTokenView>, ApiError>;
        /// A new API token for the agent named `username`; admins only.
        async fn add_api_token(
            &self,
            agent: &AgentView,
            username: &str,
            name: Option<String>,
        ) -> Result<NewApiToken, ApiError>;
        /// Revokes an API token; admins only.
        async fn revoke_api_token(&self, agent: &AgentView, id: &str) -> Result<(), ApiError>;
        /// Sets another account's password; admins only.
        async fn reset_account_password(
            &self,
            agent: &AgentView,
            id: &AgentId,
            password: &str,
        ) -> Result<AgentAccount, ApiError>;
        /// Changes the agent's own display name.
        async fn set_display_name(
            &self,
            agent: &AgentView,
            display_name: &str,
        ) -> Result<AgentAccount, ApiError>;
        /// Changes the agent's own password (proving the current one); ends
        /// their other dashboard sessions.
        async fn change_password(
            &self,
            agent: &AgentView,
            session: Option<&str>,
            current: &str,
            password: &str,
        ) -> Result<(), ApiError>;
        /// The OpenAPI document (JSON).
        fn openapi(&self) -> &'static str;
        /// Ends every dashboard session of the agent.
        async fn sign_out_everywhere(&self, agent: &AgentView) -> Result<(), ApiError>;
        /// The widget's settings in force; admins only.
        async fn widget_settings(&self, agent: &AgentView) -> Result<WidgetSettingsView, ApiError>;
        /// Saves a change to the widget's settings; admins only.
        async fn save_widget_settings(
            &self,
            agent: &AgentView,
            change: WidgetSettingsChange,
        ) -> Result<WidgetSettingsView, ApiError>;
        /// Makes a new identity secret; admins only.
        async fn rotate_identity_secret(
            &self,
            agent: &AgentView,
        ) -> Result<WidgetSettingsView, ApiError>;
        /// Every canned response (every agent).
        async fn canned_responses(&self) -> Result<Vec<CannedResponse>, ApiError>;
        /// Saves a canned response: a new one without `id`; admins only.
        async fn save_canned_response(
            &self,
            agent: &AgentView,
            id: Option<&CannedResponseId>,
            shortcut: &str,
            content: &str,
        ) -> Result<CannedResponse, ApiError>;
        /// Deletes a canned response; admins only.
        async fn delete_canned_response(
            &self,
            agent: &AgentView,
            id: &CannedResponseId,
        ) -> Result<(), ApiError>;
        /// Every automated response, highest priority first (every agent).
        async fn auto_responses(&self) -> Result<Vec<AutoResponse>, ApiError>;
        /// Saves an automated response: a new one without `id`, else the
        /// whole rule replaced; admins only.
        async fn save_auto_response(
            &self,
            agent: &AgentView,
            id: Option<&AutoResponseId>,
            rule: NewAutoResponse,
        ) -> Result<AutoResponse, ApiError>;
        /// Changes some fields of an automated response; admins only.
        async fn change_auto_response(
            &self,
            agent: &AgentView,
            id: &AutoResponseId,
            change: AutoResponseChange,
        ) -> Result<AutoResponse, ApiError>;
        async fn delete_auto_response(
            &self,
            agent: &AgentView,
            id: &AutoResponseId,
        ) -> Result<(), ApiError>;
        /// Sets priorities so the rules rank in this order (first
        /// highest); admins only. Answers every rule.
        async fn reorder_auto_responses(
            &self,
            agent: &AgentView,
            ids: &[AutoResponseId],
        ) -> Result<Vec<AutoResponse>, ApiError>;
        /// The dry run (every agent).
        async fn test_auto_response(
            &self,
            test: AutoResponseTest,
        ) -> Result<AutoResponseVerdict, ApiError>;
        /// A page of the response log, newest first (every agent).
        async fn auto_response_logs(
            &self,
            query: &LogQuery,
        ) -> Result<AutoResponseLogPage, ApiError>;
        async fn business_hours(&self) -> Result<BusinessHoursView, ApiError>;
        /// Saves business hours; admins only.
        async fn save_business_hours(
            &self,
            agent: &AgentView,
            hours: BusinessHours,
        ) -> Result<BusinessHoursView, ApiError>;
        /// The active accounts, for assigning conversations (every agent).
        async fn team(&self) -> Result<Vec<AgentAccount>, ApiError>;
        /// Every account; admins only.
        async fn accounts(&self, agent: &AgentView) -> Result<Vec<AgentAccount>, ApiError>;
        /// A new account; admins only.
        async fn add_account(
            &self,
            agent: &AgentView,
            username: &str,
            display_name: &str,
            password: &str,
            role: Role,
        ) -> Result<AgentAccount, ApiError>;
        /// (De)activates an account; admins only. A deactivated agent's
        /// sessions and sockets end.
        async fn set_account_active(
            &self,
            agent: &AgentView,
            id: &AgentId,
            active: bool,
        ) -> Result<AgentAccount, ApiError>;
        /// One page of the inbox, newest activity first, as `agent` asks
        /// for it (`assigned=me`).
        async fn list_sessions(
            &self,
            agent: &AgentView,
            filter: &InboxParams,
        ) -> Result<SessionPage, ApiError>;
        /// A conversation with its latest messages and notes.
        async fn conversation(&self, session_id: &SessionId) -> Result<ConversationView, ApiError>;
        /// Assigns a conversation to an agent, or to nobody.
        async fn assign(
            &self,
            agent: &AgentView,
            session_id: &SessionId,
            assignee: Option<&AgentId>,
        ) -> Result<SessionView, ApiError>;
        /// Leaves a private note on a conversation.
        async fn add_note(
            &self,
            agent: &AgentView,
            session_id: &SessionId,
            content: &str,
            client_id: Option<&str>,
        ) -> Result<NoteView, ApiError>;
        /// Older notes of a conversation, from a `next_cursor`.
        async fn notes(&self, session_id: &SessionId, cursor: &str) -> Result<NotePage, ApiError>;
        /// Messages before `before` (the latest `limit` of them), in seq order.
        async fn earlier_messages(
            &self,
            session_id: &SessionId,
            before: i64,
        ) -> Result<crate::types::MessagePage, ApiError>;
        async fn reply(
            &self,
            agent: &AgentView,
            session_id: &SessionId,
            content: &str,
            client_id: &str,
        ) -> Result<MessageView, ApiError>;
        async fn set_status(
            &self,
            agent: &AgentView,
            session_id: &SessionId,
            status: SessionStatus,
        ) -> Result<SessionView, ApiError>;
        /// Deletes a conversation for good, with its files (admins).
        async fn delete_conversation(
            &self,
            agent: &AgentView,
            session_id: &SessionId,
        ) -> Result<(), ApiError>;
        /// Whether cookies must carry `Secure` (the public URL is https).
        fn secure_cookies(&self) -> bool;
        /// How long a dashboard session lasts, in seconds.
        fn session_ttl_secs(&self) -> i64;
    }

    pub type BackendHandle = Arc<dyn Backend>;

    pub fn backend() -> Result<BackendHandle, ApiError> {
        use_context::<BackendHandle>().ok_or_else(|| {
            ApiError::new(
                crate::types::ErrorCode::Internal,
                "dashboard backend missing",
            )
        })
    }

    /// The dashboard session token from the request's cookie.
    pub async fn session_token() -> Option<String> {
        let parts: http::request::Parts = leptos_axum::extract().await.ok()?;
        let secure = backend().ok()?.secure_cookies();
        cookie_value(&parts.headers, session_cookie_name(secure))
    }

    pub fn cookie_value(headers: &http::HeaderMap, name: &str) -> Option<String> {
        headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }

    /// The signed-in agent, or `unauthorized`.
    pub async fn require_agent() -> Result<(BackendHandle, AgentView), ApiError> {
        let backend = backend()?;
        let token = session_token().await.ok_or_else(ApiError::unauthorized)?;
        let agent = backend
            .agent_for_session(&token)
            .await?
            .ok_or_else(ApiError::unauthorized)?;
        Ok((backend, agent))
    }

    /// Gives a refused server function its HTTP status (401, 429, 503…)
    /// and, when rate limited, `Retry-After`, instead of a bare 500.
    pub fn answer<T>(result: Result<T, ApiError>) -> Result<T, ApiError> {
        if let Err(e) = &result {
            if let Some(options) = use_context::<leptos_axum::ResponseOptions>() {
                if let Ok(status) = http::StatusCode::from_u16(e.code.http_status()) {
                    options.set_status(status);
                }
                if let Some(ms) = e.retry_after_ms {
                    options
                        .insert_header(http::header::RETRY_AFTER, ms.div_ceil(1000).max(1).into());
                }
            }
        }
        result
    }

    pub fn set_session_cookie(token: &str, max_age: i64, secure: bool) {
        let name = session_cookie_name(secure);
        let flag = if secure { "; Secure" } else { "" };
        let cookie =
            format!("{name}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{flag}");
        if let Ok(value) = http::HeaderValue::from_str(&cookie) {
            expect_context::<leptos_axum::ResponseOptions>()
                .append_header(http::header::SET_COOKIE, value);
        }
    }
}

/// The signed-in agent, or `None`.
#[server(endpoint = "current_agent", output = JsonOutput)]
pub async fn current_agent() -> Result<Option<AgentView>, ApiError> {
    answer(
        async move {
            match require_agent().await {
                Ok((_, agent)) => Ok(Some(agent)),
                Err(e) if e.is_unauthorized() => Ok(None),
                Err(e) => Err(e),
            }
        }
        .await,
    )
}

#[server(endpoint = "login", output = JsonOutput)]
pub async fn login(username: String, password: String) -> Result<(), ApiError> {
    answer(
        async move {
            let backend = backend()?;
            let token = backend.login(username.trim(), &password).await?;
            set_session_cookie(&token, backend.session_ttl_secs(), backend.secure_cookies());
            leptos_axum::redirect("/dashboard");
            Ok(())
        }
        .await,
    )
}

#[server(endpoint = "logout", output = JsonOutput)]
pub async fn logout() -> Result<(), ApiError> {
    answer(
        async move {
            let backend = backend()?;
            if let Some(token) = session_token().await {
                backend.logout(&token).await?;
            }
            set_session_cookie("", 0, backend.secure_cookies());
            leptos_axum::redirect("/dashboard/login");
            Ok(())
        }
        .await,
    )
}

#[server(endpoint = "setup_needed", output = JsonOutput)]
pub async fn setup_needed() -> Result<bool, ApiError> {
    answer(async move { backend()?.setup_needed().await }.await)
}

#[server(endpoint = "complete_setup", output = JsonOutput)]
pub async fn complete_setup(
    token: String,
    username: String,
    password: String,
    password_confirm: String,
) -> Result<(), ApiError> {
    answer(
        async move {
            if password != password_confirm {
                return Err(ApiError::new(
                    crate::types::ErrorCode::PasswordMismatch,
                    "The two passwords differ.",
                ));
            }
            let backend = backend()?;
            let session = backend
                .complete_setup(&token, username.trim(), &password)
                .await?;
            set_session_cookie(
                &session,
                backend.session_ttl_secs(),
                backend.secure_cookies(),
            );
            leptos_axum::redirect("/dashboard");
            Ok(())
        }
        .await,
    )
}

/// How many conversations have unread visitor messages (the page
/// title's count; the home's `unread` without the rest).
#[server(endpoint = "unread_count", output = JsonOutput)]
pub async fn unread_count() -> Result<i64, ApiError> {
    answer(
        async move {
            let (backend, _) = require_agent().await?;
            backend.unread_conversations().await
        }
        .await,
    )
}

/// The home's figures (the admin API's `GET /chat/api/admin/stats/`).
#[server(endpoint = "stats", output = JsonOutput)]
pub async fn get_stats() -> Result<Stats, ApiError> {
    answer(
        async move {
            let (backend, _) = require_agent().await?;
            backend.stats().await
        }
        .await,
    )
}

/// A page of the inbox: the admin API's filters (`filter[status]=open`,
/// `filter[q]=…`, `filter[cursor]=…`; all optional).
#[server(endpoint = "list_sessions", output = JsonOutput)]
pub async fn list_sessions(
    #[server(default)] filter: InboxParams,
) -> Result<SessionPage, ApiError> {
    answer(
        async move {
            let (backend, agent) = require_agent().await?;
            backend.list_sessions(&agent, &filter).await
        }
        .await,
    )
}

/// Assigns a conversation to `agent_id`; without it, to nobody.
#[server(endpoint = "assign_session", output = JsonOutput)]
pub async fn assign_session(
    session_id: SessionId,
    agent_id: Option<AgentId>,
) -> Result<SessionView, ApiError> {
    answer(
        async move {
            let (backend, agent) = require_agent().await?;
            backend.assign(&agent, &session_id, agent_id.as_ref()).await
        }
        .await,
    )
}

/// A private note; a resend with the same `client_id` stores it once.
#[server(endpoint = "add_note", output = JsonOutput)]
pub async fn add_note(
    session_id: SessionId,
    content: String,
    client_id: Option<String>,
) -> Result<NoteView, ApiError> {
    answer(
        async move {
            let (backend, agent) = require_agent().await?;
            backend
                .add_note(&agent, &session_id, &content, client_id.as_deref())
                .await
        }
        .await,
    )
}

/// Older notes of a conversation, from the `notes_next_cursor` of its view.
#[server(endpoint = "earlier_notes", output = JsonOutput)]
pub async fn earlier_notes(session_id: SessionId, cursor: String) -> Result<NotePage, ApiError> {
    answer(
        async move {
            let (backend, _) = require_agent().await?;
            backend.notes(&session_id, &cursor).await
        }
        .await,
    )
}

#[server(endpoint = "get_conversation", output = JsonOutput)]
pub async fn get_conversation(session_id: SessionId) -> Result<ConversationView, ApiError> {
    answer(
        async move {
            let (backend, _) = require_agent().await?;
            backend.conversation(&session_id).await
        }
        .await,
    )
}

#[server(endpoint = "earlier_messages", output = JsonOutput)]
pub async fn earlier_messages(
    session_id: SessionId,
    before: i64,
) -> Result<crate::types::MessagePage, ApiError> {
    answer(
        async move {
            let (backend, _) = require_agent().await?;
            backend.earlier_messages(&session_id, before).await
        }
        .await,
    )
}

#[server(endpoint = "send_reply", output = JsonOutput)]
pub async fn send_reply(
    session_id: SessionId,
    content: String,
    client_id: String,
) -> Result<MessageView, ApiError> {
    answer(
        async move {
            let (backend, agent) = require_agent().await?;
            backend
                .reply(&agent, &session_id, &content, &client_id)
                .await
        }
        .await,
    )
}

#[server(endpoint = "set_session_status", output = JsonOutput)]
pub async fn set_session_status(
    session_id: SessionId,
    status: SessionStatus,
) -> Result<SessionView, ApiError> {
    answer(
        async move {
            let (backend, agent) = require_agent().await?;
            backend.set_status(&agent, &session_id, status).await
        }
        .await,
    )
}

/// Deletes a conversation with its messages, notes and files, for good
/// (admins only: 403 `forbidden` for agents).
#[server(endpoint = "delete_session", output = JsonOutput)]
pub async fn delete_session(session_id: SessionId) -> Result<(), ApiError> {
    answer(
        async move {
            let (backend, agent) = require_agent().await?;
            backend.delete_conversation(&agent, &session_id).await
        }
        .await,
    )
}

/// The active accounts, for assigning a conversation.
#[server(endpoint = "team", output = JsonOutput)]
pub async fn team() -> Result<Vec<AgentAccount>, ApiError> {
    answer(
        async move {
            let (backend, _) = require_agent().await?;
            backend.team().await
        }
        .await,
    )
}

/// Every account (admins only: 403 `forbidden` for agents).
#[server(endpoint = "list_accounts", output = JsonOutput)]
pub async fn list_accounts() -> Result<Vec<AgentAccount>, ApiError> {
    answer(
        async move {
            let (backend, agent) = require_agent().await?;
            backend.accounts(&agent).await
        }
        .await,
    )
}

/// A new account (admins only).
#[server(endpoint = "create_account", output = JsonOutput)]
pub async fn create_account(
    username: String,
    display_name: String,
    password: String,
    role: Role,
) -> Result<AgentAccount, ApiError> {
    answer(
        async move {
            let (backend, agent) = require_agent().await?;
            backend
                .add_account(&agent, username.trim(), &display_name, &password, role)
                .await
        }
        .await,
    )
}

/// Deactivates (or reactivates) an account (admins only).
#[server(endpoint = "set_account_active", output = JsonOutput)]
pub async fn set_account_active(agent_id: AgentId, active: bool) -> Result<AgentAccount, ApiError> {
    answer(
        async move {
            let (backend, agent) = require_agent().await?;
            backend.set_account_active(&agent, &agent_id, active).await
        }
        .await,
    )
}

/// Every canned response, by shortcut.
#[server(endpoint = "canned_responses", output = JsonOutput)]
pub async fn canned_responses() -> Result<Vec<CannedResponse>, ApiError> {
    answer(
        async move {
            let (backend, _) = require_agent().await?;
            backend.canned_responses().await
        }
        .await,
    )
}

/// Saves a canned response (a new one without `id`; admins only).
#[server(endpoint = "save_canned_response", output = JsonOutput)]
pub async fn save_canned_response(
    #[server(default)] id: Option<CannedResponseId>,
    shortcut: String,
    content: String,
) -> Result<CannedResponse, ApiError> {
    answer(
        async move {
            let (backend, agent) = require_agent().await?;
            backend
                .save_canned_response(&agent, id.as_ref(), &shortcut, &content)
                .await
        }
        .await,
    )
}

/// Deletes a canned response (admins only).
#[server(endpoint = "delete_canned_response", output = JsonOutput)]
pub async fn delete_canned_response(id: CannedResponseId) -> Result<(), ApiError> {
    answer(
        async move {
            let (backend, agent) = require_agent().await?;
            backend.delete_canned_response(&agent, &id).await
        }
        .await,
    )
}

/// Every automated response, highest priority first.
#[server(endpoint = "auto_responses", output = JsonOutput)]
pub async fn auto_responses() -> Result<Vec<AutoResponse>, ApiError> {
    answer(
        async move {
            let (backend, _) = require_agent().await?;
            backend.auto_responses().await
        }
        .await,
    )
}

/// Saves an automated response: a new one without `id`, else the whole
/// rule is replaced (admins only). JSON in: rules are nested.
#[server(endpoint = "save_auto_response", input = server_fn::codec::Json, output = JsonOutput)]
pub async fn save_auto_response(
    #[server(default)] id: Option<AutoResponseId>,
    rule: NewAutoResponse,
) -> Result<AutoResponse, ApiError> {
    answer(
        async move {
            let (backend, agent) = require_agent().await?;
            backend.save_auto_response(&agent, id.as_ref(), rule).await
        }
        .await,
    )
}

/// Changes some fields of an automated response, such as `enabled`
/// (admins only).
#[server(endpoint = "change_auto_response", input = server_fn::codec::Json, output = JsonOutput)]
pub async fn change_auto_response(
    id: AutoResponseId,
    change: AutoResponseChange,
) -> Result<AutoResponse, ApiError> {
    answer(
        async move {
            let (backend, agent) = require_agent().await?;
            backend.change_auto_response(&agent, &id, change).await
        }
        .await,
    )
}

/// Deletes an automated response (admins only).
#[server(endpoint = "delete_auto_response", output = JsonOutput)]
pub async fn delete_auto_response(id: AutoResponseId) -> Result<(), ApiError> {
    answer(
        async move {
            let (backend, agent) = require_agent().await?;
            backend.delete_auto_response(&agent, &id).await
        }
        .await,
    )
}

/// Ranks the rules in this order, first highest (admins only).
#[server(endpoint = "reorder_auto_responses", input = server_fn::codec::Json, output = JsonOutput)]
pub async fn reorder_auto_responses(
    ids: Vec<AutoResponseId>,
) -> Result<Vec<AutoResponse>, ApiError> {
    answer(
        async move {
            let (backend, agent) = require_agent().await?;
            backend.reorder_auto_responses(&agent, &ids).await
        }
        .await,
    )
}

/// Which rule would answer a message, its reply and why; nothing is sent.
#[server(endpoint = "test_auto_response", input = server_fn::codec::Json, output = JsonOutput)]
pub async fn test_auto_response(test: AutoResponseTest) -> Result<AutoResponseVerdict, ApiError> {
    answer(
        async move {
            let (backend, _) = require_agent().await?;
            backend.test_auto_response(test).await
        }
        .await,
    )
}

/// A page of the response log, newest first.
#[server(endpoint = "auto_response_logs", output = JsonOutput)]
pub async fn auto_response_logs(
    #[server(default)] query: LogQuery,
) -> Result<AutoResponseLogPage, ApiError> {
    answer(
        async move {
            let (backend, _) = require_agent().await?;
            backend.auto_response_logs(&query).await
        }
        .await,
    )
}

/// The business hours, whether open now and when next open.
#[server(endpoint = "business_hours", output = JsonOutput)]
pub async fn get_business_hours() -> Result<BusinessHoursView, ApiError> {
    answer(
        async move {
            let (backend, _) = require_agent().await?;
            backend.business_hours().await
        }
        .await,
    )
}

/// Saves the business hours; every instance applies them at once
/// (admins only).
#[server(endpoint = "save_business_hours", input = server_fn::codec::Json, output = JsonOutput)]
pub async fn save_business_hours(hours: BusinessHours) -> Result<BusinessHoursView, ApiError> {
    answer(
        async move {
            let (backend, agent) = require_agent().await?;
            backend.save_business_hours(&agent, hours).await
        }
        .await,
    )
}

/// Every API token, newest first (admins only).
#[server(endpoint = "list_api_tokens", output = JsonOutput)]
pub async fn list_api_tokens() -> Result<Vec<ApiTokenView>, ApiError> {
    answer(
        async move {
            let (backend, agent) = require_agent().await?;
            backend.api_tokens(&agent).await
        }
        .await,
    )
}

/// A new API token acting as `username`; its value is in this answer only
/// (admins only).
#[server(endpoint = "create_api_token", output = JsonOutput)]
pub async fn create_api_token(
    username: String,
    #[server(default)] name: Option<String>,
) -> Result<NewApiToken, ApiError> {
    answer(
        async move {
            let (backend, agent) = require_agent().await?;
            backend.add_api_token(&agent, username.trim(), name).await
        }
        .await,
    )
}

/// Revokes an API token (admins only); sockets opened with it close.
#[server(endpoint = "revoke_api_token", output = JsonOutput)]
pub async fn revoke_api_token(id: String) -> Result<(), ApiError> {
    answer(
        async move {
            let (backend, agent) = require_agent().await?;
            backend.revoke_api_token(&agent, &id).await
        }
        .await,
    )
}

/// The widget's settings in force (admins only).
#[server(endpoint = "widget_settings", output = JsonOutput)]
pub async fn widget_settings() -> Result<WidgetSettingsView, ApiError> {
    answer(
        async move {
            let (backend, agent) = require_agent().await?;
            backend.widget_settings(&agent).await
        }
        .await,
    )
}

/// Saves the widget's settings; every instance applies them at once
/// (admins only). JSON in: a form encoding cannot tell an empty list of
/// allowed origins from a missing one.
#[server(endpoint = "save_widget_settings", input = server_fn::codec::Json, output = JsonOutput)]
pub async fn save_widget_settings(
    change: WidgetSettingsChange,
) -> Result<WidgetSettingsView, ApiError> {
    answer(
        async move {
            let (backend, agent) = require_agent().await?;
            backend.save_widget_settings(&agent, change).await
        }
        .await,
    )
}

/// A new identity secret; hashes made with the old one stop matching
/// (admins only).
#[server(endpoint = "rotate_identity_secret", output = JsonOutput)]
pub async fn rotate_identity_secret() -> Result<WidgetSettingsView, ApiError> {
    answer(
        async move {
            let (backend, agent) = require_agent().await?;
            backend.rotate_identity_secret(&agent).await
        }
        .await,
    )
}

/// Sets another account's password (admins only); their dashboard
/// sessions end.
#[server(endpoint = "reset_account_password", output = JsonOutput)]
pub async fn reset_account_password(
    agent_id: AgentId,
    password: String,
) -> Result<AgentAccount, ApiError> {
    answer(
        async move {
            let (backend, agent) = require_agent().await?;
            backend
                .reset_account_password(&agent, &agent_id, &password)
                .await
        }
        .await,
    )
}

/// The signed-in agent's display name (what visitors see).
#[server(endpoint = "set_display_name", output = JsonOutput)]
pub async fn set_display_name(display_name: String) -> Result<AgentAccount, ApiError> {
    answer(
        async move {
            let (backend, agent) = require_agent().await?;
            backend.set_display_name(&agent, &display_name).await
        }
        .await,
    )
}

/// The signed-in agent's new password; their other sessions end.
#[server(endpoint = "change_password", output = JsonOutput)]
pub async fn change_password(
    current: String,
    password: String,
    password_confirm: String,
) -> Result<(), ApiError> {
    answer(
        async move {
            let (backend, agent) = require_agent().await?;
            if password != password_confirm {
                return Err(ApiError::new(
                    crate::types::ErrorCode::PasswordMismatch,
                    "The two new passwords differ.",
                ));
            }
            let session = session_token().await;
            backend
                .change_password(&agent, session.as_deref(), &current, &password)
                .await
        }
        .await,
    )
}

/// Ends every dashboard session of the signed-in agent, this one too.
#[server(endpoint = "sign_out_everywhere", output = JsonOutput)]
pub async fn sign_out_everywhere() -> Result<(), ApiError> {
    answer(
        async move {
            let (backend, agent) = require_agent().await?;
            backend.sign_out_everywhere(&agent).await?;
            set_session_cookie("", 0, backend.secure_cookies());
            Ok(())
        }
        .await,
    )
}

/// The HTTP API's OpenAPI document, as JSON text (every signed-in agent).
#[server(endpoint = "openapi_document", output = JsonOutput)]
pub async fn openapi_document() -> Result<String, ApiError> {
    answer(
        async move {
            let (backend, _) = require_agent().await?;
            Ok(backend.openapi().to_string())
        }
        .await,
    )
}
