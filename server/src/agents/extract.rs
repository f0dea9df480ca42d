//! Who is calling the admin API or opening the agent socket.

use std::sync::Arc;

use app::api::{cookie_value, session_cookie_name};
use app::types::{AgentView, ErrorCode};
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};

use super::{AgentService, TokenKind};
use crate::auth::bearer_token;
use crate::error::AppError;

/// The signed-in agent: an API token (`Authorization: Bearer …`), or the
/// dashboard's session cookie from a page of this very site (Origin, when
/// the browser sends one, must be our own host).
pub struct CurrentAgent(pub AgentView);

/// What telling the caller needs, taken from any router state: the agents,
/// and whether cookies are `Secure` (which names the session cookie).
#[derive(Clone)]
pub struct AgentAuth {
    pub agents: Arc<AgentService>,
    pub secure_cookies: bool,
}

impl<S> FromRequestParts<S> for CurrentAgent
where
    S: Send + Sync,
    AgentAuth: FromRef<S>,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AgentAuth::from_ref(state);
        if let Some(token) = bearer_token(&parts.headers) {
            return state
                .agents
                .agent_for_token(&token, TokenKind::Api)
                .await?
                .map(CurrentAgent)
                .ok_or_else(|| {
                    AppError::Unauthorized(
                        ErrorCode::InvalidToken,
                        "Unknown or revoked API token.".into(),
                    )
                });
        }
        let name = session_cookie_name(state.secure_cookies);
        let Some(token) = cookie_value(&parts.headers, name) else {
            return Err(AppError::Unauthorized(
                ErrorCode::Unauthorized,
                "Sign in to the dashboard, or send an API token as `Authorization: Bearer …`."
                    .into(),
            ));
        };
        if parts.headers.contains_key(header::ORIGIN) && !same_origin(&parts.headers) {
            return Err(AppError::Forbidden(
                ErrorCode::BadOrigin,
                "Cross-site requests are refused.".into(),
            ));
        }
        state
            .agents
            .agent_for_token(&token, TokenKind::Session)
            .await?
            .map(CurrentAgent)
            .ok_or_else(|| {
                AppError::Unauthorized(
                    ErrorCode::Unauthorized,
                    "Your session has ended; sign in again.".into(),
                )
            })
    }
}

/// Whether the `Origin` header names the host the request was sent to.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match (origin, host) {
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_some_and(|(_, rest)| rest.trim_end_matches('/').eq_ignore_ascii_case(host)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(origin: &str, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ORIGIN, HeaderValue::from_str(origin).unwrap());
        h.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        h
    }

    #[test]
    fn origin_must_match_host() {
        assert!(same_origin(&headers(
            "http://127.0.0.1:8000",
            "127.0.0.1:8000"
        )));
        assert!(same_origin(&headers(
            "https://chat.example.com",
            "chat.example.com"
        )));
        assert!(!same_origin(&headers(
            "https://evil.com",
            "chat.example.com"
        )));
        assert!(!same_origin(&headers(
            "http://127.0.0.1:8001",
            "127.0.0.1:8000"
        )));
        assert!(!same_origin(&headers("null", "127.0.0.1:8000")));
    }
}
