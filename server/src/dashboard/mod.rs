//! The dashboard's side of the server: the [`app::api::Backend`] the Leptos
//! server functions call, the agent socket, and the sign-in guard.
//!
//! # Layout
//! - this file: [`DashboardBackend`] and [`guard`].
//! - `socket`: `/ws/admin/dashboard/`.

use app::api::{cookie_value, Backend, SESSION_COOKIE};
use app::types::{AgentView, ApiError, ConversationView, MessageView, SessionStatus, SessionView};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use crate::agents::TokenKind;
use crate::chat::Author;
use crate::startup::AppState;

pub mod socket;

/// Server functions' access to the domain services.
pub struct DashboardBackend(pub AppState);

#[async_trait::async_trait]
impl Backend for DashboardBackend {
    async fn agent_for_session(&self, token: &str) -> Result<Option<AgentView>, ApiError> {
        Ok(self
            .0
            .agents
            .agent_for_token(token, TokenKind::Session)
            .await?)
    }

    async fn login(&self, username: &str, password: &str) -> Result<String, ApiError> {
        Ok(self.0.agents.login(username, password).await?)
    }

    async fn logout(&self, token: &str) -> Result<(), ApiError> {
        Ok(self.0.agents.logout(token).await?)
    }

    async fn setup_needed(&self) -> Result<bool, ApiError> {
        Ok(self.0.agents.setup_needed().await?)
    }

    async fn complete_setup(
        &self,
        setup_token: &str,
        username: &str,
        password: &str,
    ) -> Result<String, ApiError> {
        let agent = self
            .0
            .agents
            .complete_setup(setup_token, username, password)
            .await?;
        Ok(self
            .0
            .agents
            .issue(&agent.id, TokenKind::Session, None)
            .await?)
    }

    async fn list_sessions(&self) -> Result<Vec<SessionView>, ApiError> {
        Ok(self.0.chat.list_sessions(None).await?)
    }

    async fn conversation(&self, session_id: &str) -> Result<ConversationView, ApiError> {
        Ok(self.0.chat.conversation(session_id).await?)
    }

    async fn reply(
        &self,
        agent: &AgentView,
        session_id: &str,
        content: &str,
        client_id: &str,
    ) -> Result<MessageView, ApiError> {
        let session = self.0.chat.session(session_id).await?;
        let client_id = Some(client_id).filter(|c| !c.is_empty());
        Ok(self
            .0
            .chat
            .post(&session, Author::Agent(agent), content, client_id)
            .await?)
    }

    async fn set_status(
        &self,
        _agent: &AgentView,
        session_id: &str,
        status: SessionStatus,
    ) -> Result<SessionView, ApiError> {
        Ok(self.0.chat.set_status(session_id, status).await?)
    }

    fn secure_cookies(&self) -> bool {
        self.0.config.secure_cookies()
    }

    fn session_ttl_secs(&self) -> i64 {
        self.0.agents.session_ttl_secs()
    }
}

/// Sends a signed-out visitor of a dashboard page to the sign-in page (the
/// server functions check again: they are public endpoints).
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let protected = path == "/dashboard"
        || path == "/dashboard/"
        || path.starts_with("/dashboard/conversations/");
    if !protected || request.method() != axum::http::Method::GET {
        return next.run(request).await;
    }
    let signed_in = match cookie_value(request.headers(), SESSION_COOKIE) {
        Some(token) => matches!(
            state
                .agents
                .agent_for_token(&token, TokenKind::Session)
                .await,
            Ok(Some(_))
        ),
        None => false,
    };
    if signed_in {
        next.run(request).await
    } else {
        Redirect::to("/dashboard/login").into_response()
    }
}
