//! The agent socket, `/ws/admin/dashboard/`: every event of every
//! conversation, and replies sent as frames.
//!
//! Authenticated before the upgrade — an API token in `Authorization`, or
//! the dashboard's session cookie from a page of this site (Origin must be
//! our own host) — so a refusal is a plain HTTP error. A socket that falls
//! behind gets `{"type":"resync"}` and stays open.

use std::sync::Arc;

use app::protocol::{AgentClientFrame, AgentServerFrame};
use app::types::{AgentView, ApiError, ErrorCode};
use axum::extract::ws::{Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};

use crate::agents::extract::{same_origin, CurrentAgent};
use crate::bus::event::encode;
use crate::bus::Published;
use crate::error::AppError;
use crate::state::AppState;
use crate::ws::{drive, limit, Feed, Handler, Reply};

pub async fn agent_socket(
    State(state): State<AppState>,
    headers: HeaderMap,
    agent: Result<CurrentAgent, AppError>,
    ws: WebSocketUpgrade,
) -> Response {
    let uses_cookie = !headers.contains_key(header::AUTHORIZATION);
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
    limit(ws, state.config.max_message_chars).on_upgrade(move |socket| run(state, agent, socket))
}

async fn run(state: AppState, agent: AgentView, socket: WebSocket) {
    let hub = state.bus.hub().clone();
    let feed = Feed::Agent {
        all: hub.subscribe_agents(),
        own: hub.subscribe_agent(&agent.id),
    };
    let handler = AgentSocket {
        state: state.clone(),
        agent,
    };
    drive(&state, socket, handler, feed, Reply::Nothing).await;
}

struct AgentSocket {
    state: AppState,
    agent: AgentView,
}

impl Handler for AgentSocket {
    type In = AgentClientFrame;

    /// `{"type":"reply","session_id","content","client_id"}` stores a reply;
    /// it comes back to every agent socket as a `message` frame.
    async fn on_frame(&mut self, frame: AgentClientFrame) -> Reply {
        let AgentClientFrame::Reply {
            session_id,
            content,
            client_id,
        } = frame
        else {
            return Reply::Nothing;
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
}
