//! The one socket driver both sockets run on: limits, the first-frame
//! authentication step, frame parsing, ping/pong and the idle timeout, the
//! bounded feed of events, a send timeout, and close codes. The visitor and
//! agent sockets only say what they do with a frame ([`Handler`]).
//!
//! # Layout
//! - this file: [`drive`], [`Handler`], [`Feed`], [`first_frame`].
//! - `close`: the close codes.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use app::protocol::ClientFrame;
use app::types::{AgentId, ApiError, ErrorCode, SessionId};
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use futures_util::SinkExt;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::{broadcast, watch};
use tokio::time::{interval, timeout, Instant, MissedTickBehavior};

use crate::bus::{Published, Subscription};
use crate::metrics::{Metrics, SocketKind};

/// Close codes we send (RFC 6455 §7.4.1 and the 4000 range).
pub mod close {
    /// The peer was idle, or the event feed ended.
    pub const GOING_AWAY: u16 = 1001;
    /// Binary frames.
    pub const UNSUPPORTED_DATA: u16 = 1003;
    /// The first frame was not an auth frame, or credentials were refused.
    pub const POLICY_VIOLATION: u16 = 1008;
    /// A frame larger than the limit.
    pub const TOO_BIG: u16 = 1009;
    /// Our fault (database down during authentication); retry.
    pub const INTERNAL: u16 = 1011;
    /// The server is restarting (SIGTERM); reconnect with backoff.
    pub const SERVICE_RESTART: u16 = 1012;
    /// The peer could not keep up (a send took longer than the timeout),
    /// or the server is overloaded; reconnect and catch up by seq.
    pub const TRY_AGAIN_LATER: u16 = 1013;
    /// Credentials refused, or (agents) the sign-in or token ended: the
    /// only code after which a client should forget its credentials.
    pub const CREDENTIALS_REFUSED: u16 = 4401;
    /// No auth frame within [`super::AUTH_TIMEOUT`]; reconnect with the same
    /// credentials.
    pub const AUTH_TIMEOUT: u16 = 4408;
    /// Too many sockets for this conversation or this address.
    pub const TOO_MANY_SOCKETS: u16 = 4429;
}

/// How long a visitor socket may take to send its auth frame.
pub const AUTH_TIMEOUT: Duration = Duration::from_secs(5);
/// How often we ping an idle peer.
pub const PING_EVERY: Duration = Duration::from_secs(30);
/// A peer silent for this long is gone.
pub const IDLE_LIMIT: Duration = Duration::from_secs(75);
/// A send that takes longer than this closes the socket with 1013.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a socket's credentials are checked again (revocation reaches
/// an open socket within this, plus a query).
pub const RECHECK_EVERY: Duration = Duration::from_secs(3);
/// Events already queued for a socket are sent together, up to this many,
/// with one write.
const BURST: usize = 64;

/// Applies explicit limits instead of axum's defaults (128 KiB read buffer,
/// 64 MiB messages): a frame may carry one maximal message, JSON-escaped.
/// Small buffers keep an idle socket cheap; they grow for a large frame.
/// Frames are written as they are queued (`write_buffer_size(0)`): holding
/// them for one larger write measured slower delivery (p50 6.4 ms against
/// 2.1 ms at 2,000 msg/s to 10 agents).
pub fn limit(ws: WebSocketUpgrade, max_message_chars: usize) -> WebSocketUpgrade {
    let max_frame = max_message_chars * 6 + 1024;
    ws.max_message_size(max_frame)
        .max_frame_size(max_frame)
        .read_buffer_size(1024)
        .write_buffer_size(0)
        .max_write_buffer_size(1024 * 1024)
}

/// The shortest time between two typing frames a socket passes on.
pub const TYPING_EVERY: Duration = Duration::from_secs(1);

/// A socket's typing throttle: passes at most one typing frame per
/// [`TYPING_EVERY`], and drops the rest without an error frame. One
/// exception, so an indicator never sticks: a stop (`active: false`) right
/// after a passed start also passes (so at most two frames a second).
#[derive(Debug, Default)]
pub struct TypingThrottle {
    last: Option<(Instant, bool)>,
}

impl TypingThrottle {
    /// Whether to pass on a typing frame arriving `now`.
    pub fn pass(&mut self, active: bool, now: Instant) -> bool {
        let pass = match self.last {
            None => true,
            Some((at, last_active)) => {
                now.duration_since(at) >= TYPING_EVERY || (last_active && !active)
            }
        };
        if pass {
            self.last = Some((now, active));
        }
        pass
    }
}

/// What the driver does next.
pub enum Reply {
    Nothing,
    Send(Utf8Bytes),
    SendAll(Vec<Utf8Bytes>),
    /// Closes the socket with a code and reason.
    Close(u16, &'static str),
}

/// What a socket does with its frames and events.
pub trait Handler: Send {
    type In: ClientFrame + Send;

    /// A client frame (pings are answered by the driver).
    fn on_frame(&mut self, frame: Self::In) -> impl Future<Output = Reply> + Send;
    /// An event from the feed.
    fn on_event(&mut self, event: Arc<Published>) -> impl Future<Output = Reply> + Send;
    /// The feed dropped events this socket did not read in time.
    fn on_lag(&mut self) -> impl Future<Output = Reply> + Send;
    /// An error frame for a refused client frame.
    fn error_frame(&self, error: ApiError, client_id: Option<String>) -> Utf8Bytes;
    /// Called every [`RECHECK_EVERY`]: whether the credentials the socket
    /// opened with still hold (`Reply::Close` when they do not).
    fn recheck(&mut self) -> impl Future<Output = Reply> + Send {
        std::future::ready(Reply::Nothing)
    }
    /// A new value of the watched flag given to [`drive_watching`] (the
    /// visitor socket: agent availability).
    fn on_watched(&mut self, _value: bool) -> Reply {
        Reply::Nothing
    }
}

/// The next value of a watched flag; never, once there is none (or its
/// sender is gone).
async fn next_watched(watched: &mut Option<watch::Receiver<bool>>) -> Option<bool> {
    match watched {
        Some(rx) => match rx.changed().await {
            Ok(()) => Some(*rx.borrow_and_update()),
            Err(_) => None,
        },
        None => std::future::pending().await,
    }
}

/// A socket's bounded feed of events.
pub enum Feed {
    /// One conversation's events.
    Visitor(Subscription<SessionId>),
    /// Every agent's events, and this agent's own.
    Agent {
        all: broadcast::Receiver<Arc<Published>>,
        own: Subscription<AgentId>,
    },
}

fn ready<T>(r: Result<T, TryRecvError>) -> Option<Result<T, RecvError>> {
    match r {
        Ok(v) => Some(Ok(v)),
        Err(TryRecvError::Lagged(n)) => Some(Err(RecvError::Lagged(n))),
        Err(TryRecvError::Empty | TryRecvError::Closed) => None,
    }
}

impl Feed {
    /// An event already queued, if any.
    fn try_recv(&mut self) -> Option<Result<Arc<Published>, RecvError>> {
        match self {
            Feed::Visitor(sub) => ready(sub.rx.try_recv()),
            Feed::Agent { all, own } => ready(all.try_recv()).or_else(|| ready(own.rx.try_recv())),
        }
    }

    async fn recv(&mut self) -> Result<Arc<Published>, RecvError> {
        match self {
            Feed::Visitor(sub) => sub.rx.recv().await,
            Feed::Agent { all, own } => tokio::select! {
                r = all.recv() => r,
                r = own.rx.recv() => r,
            },
        }
    }
}

/// Sends a close frame with a reason (truncated to the 123 bytes allowed).
pub async fn close_with(socket: &mut WebSocket, code: u16, reason: &str) {
    let mut reason = reason.to_string();
    while reason.len() > 123 {
        reason.pop();
    }
    let frame = Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }));
    let _ = timeout(SEND_TIMEOUT, socket.send(frame)).await;
}

/// Queues a text frame (written once the buffer fills, or on [`flush`])
/// within [`SEND_TIMEOUT`]; `false` when the socket is gone or too slow (it
/// has then been closed with 1013).
async fn feed(socket: &mut WebSocket, text: Utf8Bytes) -> bool {
    let sent = timeout(SEND_TIMEOUT, socket.feed(Message::Text(text))).await;
    settle(socket, sent).await
}

/// Writes what is queued, within [`SEND_TIMEOUT`].
async fn flush(socket: &mut WebSocket) -> bool {
    let sent = timeout(SEND_TIMEOUT, socket.flush()).await;
    settle(socket, sent).await
}

async fn settle(
    socket: &mut WebSocket,
    sent: Result<Result<(), axum::Error>, tokio::time::error::Elapsed>,
) -> bool {
    match sent {
        Ok(Ok(())) => true,
        Ok(Err(_)) => false,
        Err(_) => {
            let reason = "too slow to keep up; reconnect";
            close_with(socket, close::TRY_AGAIN_LATER, reason).await;
            false
        }
    }
}

/// What a read error means for the peer.
fn read_error_close(e: &axum::Error) -> Option<(u16, &'static str)> {
    let text = e.to_string();
    if text.contains("too long") || text.contains("too big") || text.contains("Space limit") {
        Some((close::TOO_BIG, "frame too large"))
    } else {
        None
    }
}

/// A client frame that could not be read, with the `client_id` it named.
#[derive(Debug)]
pub struct Refused {
    pub error: ApiError,
    pub client_id: Option<String>,
}

/// Reads a client text frame. A malformed one is `invalid_frame`, one of a
/// type this socket does not take is `unknown_type`; both carry the frame's
/// `client_id` when it has one.
pub fn parse_frame<F: ClientFrame>(text: &str) -> Result<F, Refused> {
    let parse_error = match serde_json::from_str::<F>(text) {
        Ok(frame) => return Ok(frame),
        Err(e) => e,
    };
    let value = serde_json::from_str::<serde_json::Value>(text).ok();
    let client_id = value
        .as_ref()
        .and_then(|v| v.get("client_id"))
        .and_then(|c| c.as_str())
        .map(str::to_string);
    let refuse = |code, message: String| Refused {
        error: ApiError::new(code, message),
        client_id: client_id.clone(),
    };
    let Some(object) = value.as_ref().and_then(|v| v.as_object()) else {
        return Err(refuse(
            ErrorCode::InvalidFrame,
            "Frames must be JSON objects.".into(),
        ));
    };
    match object.get("type").and_then(|t| t.as_str()) {
        None => Err(refuse(
            ErrorCode::InvalidFrame,
            "Frames need a string \"type\".".into(),
        )),
        Some(t) if !F::TYPES.contains(&t) => Err(refuse(
            ErrorCode::UnknownType,
            format!(
                "Unknown frame type {t:?}; this socket takes {:?}.",
                F::TYPES
            ),
        )),
        Some(_) => Err(refuse(ErrorCode::InvalidFrame, parse_error.to_string())),
    }
}

/// Waits up to `within` for the first frame, which must parse as `F`; on
/// anything else closes the socket with a reason and answers `None`.
pub async fn first_frame<F: ClientFrame>(
    socket: &mut WebSocket,
    within: Duration,
    expect: &str,
) -> Option<F> {
    let text = match timeout(within, socket.recv()).await {
        Err(_) => {
            let reason = format!("authentication timeout: send {expect} first");
            close_with(socket, close::AUTH_TIMEOUT, &reason).await;
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
            let reason = format!("the first frame must be {expect}");
            close_with(socket, close::POLICY_VIOLATION, &reason).await;
            return None;
        }
    };
    match parse_frame::<F>(text.as_str()) {
        Ok(frame) => Some(frame),
        Err(_) => {
            let reason = format!("the first frame must be {expect}");
            close_with(socket, close::POLICY_VIOLATION, &reason).await;
            None
        }
    }
}

/// What the driver needs of the server, for either socket: the socket
/// gauges, and the signal that the server is stopping.
#[derive(Clone)]
pub struct Sockets {
    pub metrics: Arc<Metrics>,
    /// Turns `true` when the server is stopping; sockets close with 1012.
    pub shutdown: watch::Receiver<bool>,
}

/// Runs a socket until either side ends it: frames go to the handler,
/// events from the feed go to the handler, pings keep it alive, the
/// handler rechecks its credentials, shutdown closes it with 1012.
pub async fn drive<H: Handler>(
    sockets: &Sockets,
    socket: WebSocket,
    handler: H,
    events: Feed,
    first: Reply,
) {
    drive_watching(sockets, socket, handler, events, first, None).await
}

/// [`drive`], and each change of `watched` goes to
/// [`Handler::on_watched`].
pub async fn drive_watching<H: Handler>(
    sockets: &Sockets,
    mut socket: WebSocket,
    mut handler: H,
    mut events: Feed,
    first: Reply,
    mut watched: Option<watch::Receiver<bool>>,
) {
    let kind = match events {
        Feed::Visitor(_) => SocketKind::Visitor,
        Feed::Agent { .. } => SocketKind::Agent,
    };
    let _open = sockets.metrics.socket_opened(kind);
    if !apply(&mut socket, vec![first]).await {
        return;
    }
    let mut shutdown = sockets.shutdown.clone();
    let mut ping = interval(PING_EVERY);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    ping.reset();
    let mut recheck = interval(RECHECK_EVERY);
    recheck.set_missed_tick_behavior(MissedTickBehavior::Delay);
    recheck.reset();
    let mut last_heard = Instant::now();
    if *shutdown.borrow() {
        close_with(&mut socket, close::SERVICE_RESTART, "server restarting").await;
        return;
    }
    loop {
        let mut replies = Vec::with_capacity(1);
        let reply = tokio::select! {
            incoming = socket.recv() => {
                last_heard = Instant::now();
                match incoming {
                    None | Some(Ok(Message::Close(_))) => break,
                    Some(Err(e)) => match read_error_close(&e) {
                        Some((code, reason)) => Reply::Close(code, reason),
                        None => break,
                    },
                    Some(Ok(Message::Binary(_))) => {
                        Reply::Close(close::UNSUPPORTED_DATA, "binary frames are not supported")
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => Reply::Nothing,
                    Some(Ok(Message::Text(text))) => match parse_frame::<H::In>(text.as_str()) {
                        Ok(frame) if frame.is_ping() => Reply::Send(Utf8Bytes::from_static(r#"{"type":"pong"}"#)),
                        // Boxed: the work's state lives on the heap only
                        // while it runs, so an idle socket's task stays small.
                        Ok(frame) => Box::pin(handler.on_frame(frame)).await,
                        Err(refused) => Reply::Send(handler.error_frame(refused.error, refused.client_id)),
                    },
                }
            }
            event = events.recv() => {
                let mut event = Some(event);
                let mut taken = 0;
                while let Some(next) = event.take() {
                    let reply = match next {
                        Ok(published) => Box::pin(handler.on_event(published)).await,
                        Err(RecvError::Lagged(_)) => Box::pin(handler.on_lag()).await,
                        Err(RecvError::Closed) => Reply::Close(close::GOING_AWAY, "server shutting down"),
                    };
                    replies.push(reply);
                    taken += 1;
                    if taken < BURST {
                        event = events.try_recv();
                    }
                }
                Reply::Nothing
            }
            _ = ping.tick() => {
                if last_heard.elapsed() > IDLE_LIMIT {
                    Reply::Close(close::GOING_AWAY, "idle")
                } else {
                    match timeout(SEND_TIMEOUT, socket.send(Message::Ping(Default::default()))).await {
                        Ok(Ok(())) => Reply::Nothing,
                        _ => break,
                    }
                }
            }
            _ = recheck.tick() => Box::pin(handler.recheck()).await,
            value = next_watched(&mut watched) => match value {
                Some(value) => handler.on_watched(value),
                None => {
                    watched = None;
                    Reply::Nothing
                }
            },
            _ = shutdown.changed() => Reply::Close(close::SERVICE_RESTART, "server restarting"),
        };
        replies.push(reply);
        if !apply(&mut socket, replies).await {
            break;
        }
    }
}

/// Carries out [`Reply`]s in order, with one write at the end; `false`
/// when the socket is done.
async fn apply(socket: &mut WebSocket, replies: Vec<Reply>) -> bool {
    let mut queued = false;
    for reply in replies {
        match reply {
            Reply::Nothing => {}
            Reply::Send(text) => {
                if !feed(socket, text).await {
                    return false;
                }
                queued = true;
            }
            Reply::SendAll(texts) => {
                for text in texts {
                    if !feed(socket, text).await {
                        return false;
                    }
                    queued = true;
                }
            }
            Reply::Close(code, reason) => {
                if queued {
                    let _ = flush(socket).await;
                }
                close_with(socket, code, reason).await;
                return false;
            }
        }
    }
    !queued || flush(socket).await
}

#[cfg(test)]
mod tests {
    use app::protocol::VisitorClientFrame;

    use super::*;

    fn code(text: &str) -> (ErrorCode, Option<String>) {
        let r = parse_frame::<VisitorClientFrame>(text).err().unwrap();
        (r.error.code, r.client_id)
    }

    #[test]
    fn frames_are_told_apart() {
        assert_eq!(code("nope").0, ErrorCode::InvalidFrame);
        assert_eq!(code("[1]").0, ErrorCode::InvalidFrame);
        assert_eq!(code(r#"{"content":"x"}"#).0, ErrorCode::InvalidFrame);
        assert_eq!(
            code(r#"{"type":"shout","client_id":"c"}"#),
            (ErrorCode::UnknownType, Some("c".into()))
        );
        assert_eq!(
            code(r#"{"type":"message","content":5,"client_id":"c"}"#),
            (ErrorCode::InvalidFrame, Some("c".into()))
        );
        assert!(parse_frame::<VisitorClientFrame>(r#"{"type":"ping"}"#)
            .unwrap()
            .is_ping());
    }

    #[test]
    fn typing_passes_once_a_second_and_always_stops() {
        let t0 = Instant::now();
        let mut t = TypingThrottle::default();
        assert!(t.pass(true, t0));
        assert!(!t.pass(true, t0 + Duration::from_millis(300)));
        // A stop right after a start passes; a start right after it not.
        assert!(t.pass(false, t0 + Duration::from_millis(400)));
        assert!(!t.pass(true, t0 + Duration::from_millis(500)));
        assert!(!t.pass(false, t0 + Duration::from_millis(600)));
        assert!(t.pass(true, t0 + Duration::from_millis(1400)));
        let passed = (0..10)
            .filter(|i| t.pass(i % 2 == 0, t0 + Duration::from_millis(2500 + i * 10)))
            .count();
        assert_eq!(passed, 2);
    }
}
