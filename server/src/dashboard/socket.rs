//! The agent socket, `/ws/admin/dashboard/`: every event of every
//! conversation, and replies sent as frames.
//!
//! Authenticated before the upgrade — an API token in `Authorization`, or
//! the dashboard's session cookie from a page of this site (Origin must be
//! our own host) — so a refusal is a plain HTTP error.

use app::types::AgentView;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::{interval, Instant};

use crate::agents::extract::{same_origin, CurrentAgent};
use crate::chat::Author;
use crate::error::AppError;
use crate::startup::AppState;
use crate::ws::{
    close, close_with, error_frame, limit, parse_frame, read_error_close, IDLE_LIMIT, PING_EVERY,
};

pub async fn agent_socket(
    State(state): State<AppState>,
    headers: HeaderMap,
    agent: Result<CurrentAgent, AppError>,
    ws: WebSocketUpgrade,
) -> Response {
    let uses_cookie = !headers.contains_key(header::AUTHORIZATION);
    if uses_cookie && !same_origin(&headers) {
        return AppError::Forbidden(
            "bad_origin",
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

#[derive(Deserialize)]
struct ReplyFrame {
    session_id: String,
    content: String,
    client_id: Option<String>,
}

async fn run(state: AppState, agent: AgentView, mut socket: WebSocket) {
    let mut feed = state.hub.subscribe_agents();
    let mut shutdown = state.shutdown.clone();
    let mut ping = interval(PING_EVERY);
    let mut last_heard = Instant::now();
    loop {
        tokio::select! {
            incoming = socket.recv() => {
                last_heard = Instant::now();
                match incoming {
                    None | Some(Ok(Message::Close(_))) => break,
                    Some(Err(e)) => {
                        if let Some((code, reason)) = read_error_close(&e) {
                            close_with(&mut socket, code, reason).await;
                        }
                        break;
                    }
                    Some(Ok(Message::Binary(_))) => {
                        close_with(&mut socket, close::UNSUPPORTED_DATA, "binary frames are not supported").await;
                        break;
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Ok(Message::Text(text))) => {
                        if let Some(frame) = handle_frame(&state, &agent, text.as_str()).await {
                            if socket.send(Message::Text(frame)).await.is_err() {
                                break;
                            }
                        }
                    }
                }
            }
            event = feed.recv() => match event {
                Ok(published) => {
                    if socket.send(Message::Text(published.agent_frame.clone())).await.is_err() {
                        break;
                    }
                }
                Err(RecvError::Lagged(_)) => {
                    close_with(&mut socket, close::TRY_AGAIN_LATER, "fell behind; reconnect and reload").await;
                    break;
                }
                Err(RecvError::Closed) => break,
            },
            _ = ping.tick() => {
                if last_heard.elapsed() > IDLE_LIMIT {
                    close_with(&mut socket, close::GOING_AWAY, "idle").await;
                    break;
                }
                if socket.send(Message::Ping(Default::default())).await.is_err() {
                    break;
                }
            }
            _ = shutdown.changed() => {
                close_with(&mut socket, close::GOING_AWAY, "server shutting down").await;
                break;
            }
        }
    }
}

/// `{"type":"reply","session_id","content","client_id"}` stores a reply;
/// it comes back to every agent socket as a `message` event.
async fn handle_frame(
    state: &AppState,
    agent: &AgentView,
    text: &str,
) -> Option<axum::extract::ws::Utf8Bytes> {
    let frame: ReplyFrame = match parse_frame(text, "reply") {
        Ok(f) => f,
        Err(answer) => return Some(answer),
    };
    let result = async {
        let session = state.chat.session(&frame.session_id).await?;
        state
            .chat
            .post(
                &session,
                Author::Agent(agent),
                &frame.content,
                frame.client_id.as_deref(),
            )
            .await
    }
    .await;
    match result {
        Ok(_) => None,
        Err(e) => Some(error_frame(
            e.code(),
            &e.to_string(),
            frame.client_id.as_deref(),
        )),
    }
}
