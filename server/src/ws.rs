//! What both sockets share: limits, close codes, heartbeat.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};

/// Close codes we send (RFC 6455 §7.4.1).
pub mod close {
    /// The server is going away (shutdown); reconnect later.
    pub const GOING_AWAY: u16 = 1001;
    /// Binary frames, or a frame that is not a JSON object.
    pub const UNSUPPORTED_DATA: u16 = 1003;
    /// Authentication failed, or none came within 5 s.
    pub const POLICY_VIOLATION: u16 = 1008;
    /// A frame larger than the limit.
    pub const TOO_BIG: u16 = 1009;
    /// Our fault (database down).
    pub const INTERNAL: u16 = 1011;
    /// The socket fell too far behind; reconnect and resume.
    pub const TRY_AGAIN_LATER: u16 = 1013;
}

/// How long a visitor socket may take to send its auth frame.
pub const AUTH_TIMEOUT: Duration = Duration::from_secs(5);
/// How often we ping an idle peer.
pub const PING_EVERY: Duration = Duration::from_secs(30);
/// A peer silent for this long is gone.
pub const IDLE_LIMIT: Duration = Duration::from_secs(75);

/// Applies explicit limits instead of axum's defaults (128 KiB read buffer,
/// 64 MiB messages): a frame may carry one maximal message, JSON-escaped.
pub fn limit(ws: WebSocketUpgrade, max_message_chars: usize) -> WebSocketUpgrade {
    let max_frame = max_message_chars * 6 + 1024;
    ws.max_message_size(max_frame)
        .max_frame_size(max_frame)
        .read_buffer_size(8 * 1024)
        .write_buffer_size(8 * 1024)
        .max_write_buffer_size(1024 * 1024)
}

/// Sends a close frame with a reason (truncated to the 123 bytes allowed).
pub async fn close_with(socket: &mut WebSocket, code: u16, reason: &str) {
    let mut reason = reason.to_string();
    while reason.len() > 123 {
        reason.pop();
    }
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        })))
        .await;
}

/// What a read error means for the peer.
pub fn read_error_close(e: &axum::Error) -> Option<(u16, &'static str)> {
    let text = e.to_string();
    if text.contains("too long") || text.contains("too big") || text.contains("Space limit") {
        Some((close::TOO_BIG, "frame too large"))
    } else {
        None
    }
}

/// `{"type":"error","error":{"code","message"},"client_id":…}`.
pub fn error_frame(code: &str, message: &str, client_id: Option<&str>) -> Utf8Bytes {
    serde_json::json!({
        "type": "error",
        "error": { "code": code, "message": message },
        "client_id": client_id,
    })
    .to_string()
    .into()
}

/// Reads a client's text frame of type `expected` into `T`. Anything else
/// becomes the frame to answer with: `{"type":"pong"}` for a ping, or an
/// `invalid_frame` / `unknown_type` error carrying the frame's `client_id`.
pub fn parse_frame<T: serde::de::DeserializeOwned>(
    text: &str,
    expected: &str,
) -> Result<T, Utf8Bytes> {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
        return Err(error_frame(
            "invalid_frame",
            "Frames must be JSON objects.",
            None,
        ));
    };
    let client_id = value
        .get("client_id")
        .and_then(|c| c.as_str())
        .map(str::to_string);
    let client_id = client_id.as_deref();
    match frame_type(&value) {
        Some(t) if t == expected => {}
        Some("ping") => return Err(r#"{"type":"pong"}"#.into()),
        Some(other) => {
            let message = format!("Unknown frame type {other:?}; expected {expected:?}.");
            return Err(error_frame("unknown_type", &message, client_id));
        }
        None => {
            return Err(error_frame(
                "invalid_frame",
                "Frames need a string \"type\".",
                client_id,
            ))
        }
    }
    serde_json::from_value(value)
        .map_err(|e| error_frame("invalid_frame", &e.to_string(), client_id))
}

/// The `type` of a JSON object frame, or `None` if it is not one.
pub fn frame_type(value: &serde_json::Value) -> Option<&str> {
    value.as_object()?.get("type")?.as_str()
}
