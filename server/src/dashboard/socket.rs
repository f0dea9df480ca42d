//! The agent socket, `/ws/admin/dashboard/`: every event of every
//! conversation, and replies sent as frames.
//!
//! Authenticated before the upgrade — an API token in `Authorization`, or
//! the dashboard's session cookie from a page of this site (Origin must be
//! our own host) — so a refusal is a plain HTTP error. A socket that falls
//! behind gets `{"type":"resync"}` and stays open.

use std::sync::Arc;

use app::api::{cookie_value, session_cookie_name};
use app::protocol::{AgentClientFrame, AgentServerFrame, Party};
use app::types::{AgentView, ApiError, ErrorCode};
use axum::extract::ws::{Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};

use crate::agents::extract::{same_origin, CurrentAgent};
use crate::agents::TokenKind;
use crate::auth::bearer_token;
use crate::bus::event::encode;
use crate::bus::Published;
use crate::error::AppError;
use crate::limits::ClientAddr;
use crate::state::AppState;
use crate::ws::{close, close_with, drive, limit, Feed, Handler, Reply, TypingThrottle};

pub async fn agent_socket(
    State(state): State<AppState>,
    headers: HeaderMap,
    from: ClientAddr,
    agent: Result<CurrentAgent, AppError>,
    ws: WebSocketUpgrade,
) -> Response {
    // Without any credentials the answer is 401, whatever the Origin.
    let uses_cookie = !headers.contains_key(header::AUTHORIZATION)
        && cookie_value(&headers, session_cookie_name(state.config.secure_cookies())).is_some();
    if uses_cookie && !same_origin(&headers) {
        return AppError::Forbidden(
            ErrorCode::BadOrigin,
            "The agent socket accepts the dashboard's own pages only (Origin must match Host)."
                .into(),
        )
        .into_response();
    }
    let agent = match agent {
        Ok(CurrentAgent(agent)) => agent,
        Err(e) => return e.into_response(),
    };
    // What the socket was opened with, checked again every few seconds.
    let credential = match bearer_token(&headers) {
        Some(token) => (token, TokenKind::Api),
        None => match cookie_value(&headers, session_cookie_name(state.config.secure_cookies())) {
            Some(token) => (token, TokenKind::Session),
            None => return AppError::Internal.into_response(),
        },
    };
    limit(ws, state.config.max_message_chars)
        .on_upgrade(move |socket| run(state, agent, credential, from, socket))
}

async fn run(
    state: AppState,
    agent: AgentView,
    credential: (String, TokenKind),
    from: ClientAddr,
    mut socket: WebSocket,
) {
    let Ok(_slot) = state.limits.socket_from(from) else {
        let reason = "too many sockets from your address";
        close_with(&mut socket, close::TOO_MANY_SOCKETS, reason).await;
        return;
    };
    // Counted in while the socket is open: visitors see an agent available.
    let _present = state.presence.connected(&agent.id);
    let hub = state.bus.hub().clone();
    let feed = Feed::Agent {
        all: hub.subscribe_agents(),
        own: hub.subscribe_agent(&agent.id),
    };
    let handler = AgentSocket {
        state: state.clone(),
        agent,
        credential,
        typing: TypingThrottle::default(),
    };
    drive(&state, socket, handler, feed, Reply::Nothing).await;
}

struct AgentSocket {
    state: AppState,
    agent: AgentView,
    credential: (String, TokenKind),
    typing: TypingThrottle,
}

impl Handler for AgentSocket {
    type In = AgentClientFrame;

    /// `{"type":"reply","session_id","content","client_id"}` stores a reply;
    /// it comes back to every agent socket as a `message` frame.
    /// `{"type":"typing","session_id","active"}` reaches the visitor
    /// (throttled, dropped silently); `{"type":"read","session_id","seq"}`
    /// stores this side's read seq.
    async fn on_frame(&mut self, frame: AgentClientFrame) -> Reply {
        let (session_id, content, client_id) = match frame {
            AgentClientFrame::Reply {
                session_id,
                content,
                client_id,
            } => (session_id, content, client_id),
            AgentClientFrame::Typing { session_id, active } => {
                if self.typing.pass(active, tokio::time::Instant::now()) {
                    self.state
                        .chat
                        .typing(&session_id, Some(&self.agent), active);
                }
                return Reply::Nothing;
            }
            AgentClientFrame::Read { session_id, seq } => {
                if seq < 0 {
                    let error = ApiError::new(ErrorCode::InvalidFrame, "seq must be 0 or more.");
                    return Reply::Send(self.error_frame(error, None));
                }
                let marked = self
                    .state
                    .chat
                    .mark_read(&session_id, Party::Agent, seq)
                    .await;
                return match marked {
                    Ok(()) => Reply::Nothing,
                    Err(e) => Reply::Send(self.error_frame(e.to_api(), None)),
                };
            }
            AgentClientFrame::Ping => return Reply::Nothing,
        };
        let result = self
            .state
            .chat
            .reply(&self.agent, &session_id, &content, client_id.as_deref())
            .await;
        match result {
            Ok(_) => Reply::Nothing,
            Err(e) => Reply::Send(self.error_frame(e.to_api(), client_id)),
        }
    }

    async fn on_event(&mut self, published: Arc<Published>) -> Reply {
        if let Some(at) = published.visitor_message_at {
            let waited = chrono::Utc::now() - at;
            let seconds = waited.num_microseconds().unwrap_or(0) as f64 / 1e6;
            self.state.metrics.delivered_after(seconds);
        }
        match &published.agent_frame {
            Some(frame) => Reply::Send(frame.clone()),
            None => Reply::Nothing,
        }
    }

    async fn on_lag(&mut self) -> Reply {
        Reply::Send(encode(&AgentServerFrame::Resync))
    }

    fn error_frame(&self, error: ApiError, client_id: Option<String>) -> Utf8Bytes {
        encode(&AgentServerFrame::Error { error, client_id })
    }

    /// Signed out, password changed, deactivated, token revoked: closes
    /// with 4401. A database that cannot answer closes nothing.
    async fn recheck(&mut self) -> Reply {
        let (token, kind) = &self.credential;
        match self.state.agents.agent_for_token(token, *kind).await {
            Ok(None) => Reply::Close(close::CREDENTIALS_REFUSED, "signed out or access revoked"),
            Ok(Some(agent)) => {
                self.agent = agent;
                Reply::Nothing
            }
            Err(_) => Reply::Nothing,
        }
    }
}
