//! The visitor socket, `/ws/chat/{customer_id}/`.
//!
//! The first frame authenticates (`{"type":"auth","token":…,"after"?:SEQ}`);
//! the token never travels in the URL. Then every message of the
//! conversation is pushed in seq order — the ones after `after` first — and
//! the visitor sends `{"type":"message","content":…,"client_id":…}`, which is
//! acknowledged by the stored message coming back.

use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::{interval, timeout, Instant};

use super::Author;
use crate::error::AppError;
use crate::startup::AppState;
use crate::storage::chat_sessions;
use crate::ws::{
    close, close_with, error_frame, frame_type, limit, parse_frame, read_error_close, AUTH_TIMEOUT,
    IDLE_LIMIT, PING_EVERY,
};

pub async fn visitor_socket(
    State(state): State<AppState>,
    Path(customer_id): Path<String>,
    ws: WebSocketUpgrade,
) -> Response {
    limit(ws, state.config.max_message_chars)
        .on_upgrade(move |socket| run(state, customer_id, socket))
}

#[derive(Deserialize)]
struct AuthFrame {
    token: String,
    after: Option<i64>,
}

#[derive(Deserialize)]
struct MessageFrame {
    content: String,
    client_id: Option<String>,
}

/// Waits for the auth frame; on failure closes with a reason.
async fn authenticate(
    state: &AppState,
    customer_id: &str,
    socket: &mut WebSocket,
) -> Option<(chat_sessions::Model, Option<i64>)> {
    let first = match timeout(AUTH_TIMEOUT, socket.recv()).await {
        Err(_) => {
            close_with(
                socket,
                close::POLICY_VIOLATION,
                "authentication timeout: send {\"type\":\"auth\",\"token\":…} first",
            )
            .await;
            return None;
        }
        Ok(None) | Ok(Some(Ok(Message::Close(_)))) => return None,
        Ok(Some(Err(e))) => {
            if let Some((code, reason)) = read_error_close(&e) {
                close_with(socket, code, reason).await;
            }
            return None;
        }
        Ok(Some(Ok(Message::Text(text)))) => text,
        Ok(Some(Ok(_))) => {
            close_with(
                socket,
                close::POLICY_VIOLATION,
                "the first frame must be a JSON auth frame",
            )
            .await;
            return None;
        }
    };
    let value: serde_json::Value = serde_json::from_str(first.as_str()).unwrap_or_default();
    let auth = match frame_type(&value) {
        Some("auth") => serde_json::from_value::<AuthFrame>(value).ok(),
        _ => None,
    };
    let Some(auth) = auth else {
        close_with(
            socket,
            close::POLICY_VIOLATION,
            "the first frame must be {\"type\":\"auth\",\"token\":\"…\"}",
        )
        .await;
        return None;
    };
    match state.chat.authenticate(customer_id, &auth.token).await {
        Ok(session) => Some((session, auth.after.filter(|a| *a >= 0))),
        Err(AppError::Internal) => {
            close_with(socket, close::INTERNAL, "internal error; retry").await;
            None
        }
        Err(e) => {
            close_with(socket, close::POLICY_VIOLATION, &e.to_string()).await;
            None
        }
    }
}

/// Sends stored messages after `last_sent`, advancing it.
async fn catch_up(
    state: &AppState,
    session_id: &str,
    last_sent: &mut i64,
    socket: &mut WebSocket,
) -> bool {
    let Ok(missed) = state.chat.history(session_id, *last_sent).await else {
        close_with(socket, close::INTERNAL, "internal error; retry").await;
        return false;
    };
    for message in missed {
        *last_sent = message.seq;
        let frame = serde_json::json!({ "type": "message", "message": message }).to_string();
        if socket.send(Message::Text(frame.into())).await.is_err() {
            return false;
        }
    }
    true
}

async fn run(state: AppState, customer_id: String, mut socket: WebSocket) {
    let Some((session, after)) = authenticate(&state, &customer_id, &mut socket).await else {
        return;
    };
    // Subscribe before reading history, so nothing falls in between.
    let hub: Arc<crate::bus::Hub> = state.hub.clone();
    let mut feed = hub.subscribe_session(&session.id);
    let mut last_sent = after.unwrap_or(session.last_seq);
    if after.is_some() && !catch_up(&state, &session.id, &mut last_sent, &mut socket).await {
        return;
    }
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
                        let reply = handle_frame(&state, &session, text.as_str(), last_sent).await;
                        if let Some(frame) = reply {
                            if socket.send(Message::Text(frame)).await.is_err() {
                                break;
                            }
                        }
                    }
                }
            }
            event = feed.rx.recv() => match event {
                Ok(published) => match published.seq() {
                    Some(seq) if seq <= last_sent => {}
                    Some(seq) if seq > last_sent + 1 => {
                        // Published out of order or missed: fill the gap from storage.
                        if !catch_up(&state, &session.id, &mut last_sent, &mut socket).await {
                            break;
                        }
                    }
                    seq => {
                        if let Some(seq) = seq {
                            last_sent = seq;
                        }
                        if socket.send(Message::Text(published.visitor_frame.clone())).await.is_err() {
                            break;
                        }
                    }
                },
                Err(RecvError::Lagged(_)) => {
                    if !catch_up(&state, &session.id, &mut last_sent, &mut socket).await {
                        break;
                    }
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

/// Handles one text frame after auth; returns a frame to send back, if any.
async fn handle_frame(
    state: &AppState,
    session: &chat_sessions::Model,
    text: &str,
    last_sent: i64,
) -> Option<axum::extract::ws::Utf8Bytes> {
    let frame: MessageFrame = match parse_frame(text, "message") {
        Ok(f) => f,
        Err(answer) => return Some(answer),
    };
    match state
        .chat
        .post(
            session,
            Author::Customer,
            &frame.content,
            frame.client_id.as_deref(),
        )
        .await
    {
        // A replay of something already sent: acknowledge it here, the bus
        // will not announce it again.
        Ok(message) if message.seq <= last_sent => Some(
            serde_json::json!({ "type": "message", "message": message })
                .to_string()
                .into(),
        ),
        Ok(_) => None,
        Err(e) => Some(error_frame(
            e.code(),
            &e.to_string(),
            frame.client_id.as_deref(),
        )),
    }
}
