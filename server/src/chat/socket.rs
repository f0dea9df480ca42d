//! The visitor socket, `/ws/chat/{customer_id}/`.
//!
//! The first frame authenticates (`{"type":"auth","token":…,"after"?:SEQ}`);
//! the token never travels in the URL. Right after it, and whenever it
//! changes, `{"type":"availability","available":bool}` says whether an
//! agent is available ([`crate::presence`]). Then every message of the
//! conversation is pushed in seq order — the ones after `after` first — and
//! the visitor sends `{"type":"message","content":…,"client_id":…}`, which is
//! acknowledged by the stored message coming back. A socket that falls
//! behind is caught up from storage by seq, never dropped.

use std::sync::Arc;

use app::protocol::{Party, VisitorClientFrame, VisitorServerFrame};
use app::types::{ApiError, ErrorCode, MessageView};
use axum::extract::ws::{Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::response::Response;

use super::domain::Conversation;
use super::WidgetState;
use crate::bus::event::encode;
use crate::bus::Published;
use crate::error::AppError;
use crate::limits::ClientAddr;
use crate::ws::{
    close, close_with, drive, drive_watching, first_frame, limit, Feed, Handler, Reply,
    TypingThrottle, AUTH_TIMEOUT,
};

/// Most messages one catch-up sends (in pages of [`CATCH_UP_PAGE`]); a
/// client further behind reconnects with its last seq, or reads history.
const CATCH_UP_MAX_PAGES: usize = 20;
const CATCH_UP_PAGE: u64 = 500;

#[utoipa::path(get, path = "/ws/chat/{customer_id}/", tag = "sockets", params(("customer_id" = String, Path, description = "The conversation's public id")), responses((status = 101, description = "The visitor socket: its first frame must be `{\"type\":\"auth\",\"token\"}` (docs/api.md, Visitor socket)"), (status = "4XX", description = "Refused (origin, limits)", body = app::error::ErrorBody)))]
pub async fn visitor_socket(
    State(state): State<WidgetState>,
    Path(customer_id): Path<String>,
    from: ClientAddr,
    ws: WebSocketUpgrade,
) -> Response {
    limit(ws, state.max_message_chars)
        .on_upgrade(move |socket| run(state, customer_id, from, socket))
}

const AUTH_FRAME: &str = "{\"type\":\"auth\",\"token\":\"…\"}";

async fn run(state: WidgetState, customer_id: String, from: ClientAddr, mut socket: WebSocket) {
    let Ok(_from_slot) = state.limits.socket_from(from) else {
        let reason = "too many sockets from your address";
        close_with(&mut socket, close::TOO_MANY_SOCKETS, reason).await;
        return;
    };
    let Some(first) =
        first_frame::<VisitorClientFrame>(&mut socket, AUTH_TIMEOUT, AUTH_FRAME).await
    else {
        return;
    };
    let VisitorClientFrame::Auth { token, after } = first else {
        let reason = format!("the first frame must be {AUTH_FRAME}");
        close_with(&mut socket, close::POLICY_VIOLATION, &reason).await;
        return;
    };
    // Boxed, like every database call here: the socket's task keeps only
    // the idle state's size.
    let conversation = match Box::pin(state.chat.authenticate(&customer_id, &token)).await {
        Ok(c) => c,
        // Unknown customer_id or wrong token: the only refusal after which
        // the widget forgets its credentials.
        Err(e @ (AppError::NotFound(..) | AppError::Unauthorized(..))) => {
            close_with(&mut socket, close::CREDENTIALS_REFUSED, &e.to_string()).await;
            return;
        }
        Err(e) => {
            let _ = e;
            close_with(&mut socket, close::INTERNAL, "internal error; retry").await;
            return;
        }
    };
    let Ok(_conversation_slot) = state.limits.socket_in(&conversation.id) else {
        let reason = "too many sockets for this conversation";
        close_with(&mut socket, close::TOO_MANY_SOCKETS, reason).await;
        return;
    };
    // Subscribe before reading history, so nothing falls in between.
    let feed = Feed::Visitor(state.chat.bus().hub().subscribe_session(&conversation.id));
    let after = after.filter(|a| *a >= 0);
    let mut visitor = Visitor {
        last_sent: after.unwrap_or(conversation.last_seq),
        state: state.clone(),
        conversation,
        typing: TypingThrottle::default(),
    };
    // Availability first, then what was missed.
    let mut availability = state.available.clone();
    let mut first = vec![availability_frame(*availability.borrow_and_update())];
    if after.is_some() {
        match Box::pin(visitor.catch_up()).await {
            Reply::SendAll(frames) => first.extend(frames),
            Reply::Send(frame) => first.push(frame),
            close @ Reply::Close(..) => {
                Box::pin(drive(&state.sockets, socket, visitor, feed, close)).await;
                return;
            }
            Reply::Nothing => {}
        }
    }
    let first = Reply::SendAll(first);
    let id = visitor.conversation.id.clone();
    Box::pin(drive_watching(
        &state.sockets,
        socket,
        visitor,
        feed,
        first,
        Some(availability),
    ))
    .await;
    // For the customer panel's "last seen"; bounded like every write here.
    let left = state.chat.visitor_left(&id);
    let _ = tokio::time::timeout(LAST_SEEN_TIMEOUT, Box::pin(left)).await;
}

/// How long recording a visitor's departure may take.
const LAST_SEEN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

struct Visitor {
    state: WidgetState,
    conversation: Conversation,
    /// The highest seq this socket has been sent.
    last_sent: i64,
    typing: TypingThrottle,
}

fn availability_frame(available: bool) -> Utf8Bytes {
    encode(&VisitorServerFrame::Availability { available })
}

fn message_frame(message: MessageView) -> Utf8Bytes {
    encode(&VisitorServerFrame::Message { message })
}

impl Visitor {
    /// Sends what is stored after `last_sent`, in order.
    async fn catch_up(&mut self) -> Reply {
        let mut frames = Vec::new();
        for _ in 0..CATCH_UP_MAX_PAGES {
            let page = self
                .state
                .chat
                .after(&self.conversation.id, self.last_sent, CATCH_UP_PAGE)
                .await;
            let Ok((messages, has_more)) = page else {
                return Reply::Close(close::INTERNAL, "internal error; reconnect");
            };
            for message in messages {
                self.last_sent = message.seq;
                frames.push(message_frame(message));
            }
            if !has_more {
                break;
            }
        }
        Reply::SendAll(frames)
    }
}

impl Visitor {
    /// `{"type":"read","seq":N}`: a negative seq is refused
    /// (`invalid_frame`); one above the last seq is capped.
    async fn read(&mut self, seq: i64) -> Reply {
        if seq < 0 {
            let error = ApiError::new(ErrorCode::InvalidFrame, "seq must be 0 or more.");
            return Reply::Send(self.error_frame(error, None));
        }
        let marked = self
            .state
            .chat
            .mark_read(&self.conversation.id, Party::Customer, seq)
            .await;
        match marked {
            Ok(()) => Reply::Nothing,
            Err(e) => Reply::Send(self.error_frame(e.to_api(), None)),
        }
    }
}

impl Handler for Visitor {
    type In = VisitorClientFrame;

    async fn on_frame(&mut self, frame: VisitorClientFrame) -> Reply {
        let (content, client_id) = match frame {
            VisitorClientFrame::Message { content, client_id } => (content, client_id),
            VisitorClientFrame::Auth { .. } => {
                let error = ApiError::new(ErrorCode::InvalidFrame, "Already authenticated.");
                return Reply::Send(self.error_frame(error, None));
            }
            VisitorClientFrame::Typing { active } => {
                if self.typing.pass(active, tokio::time::Instant::now()) {
                    self.state.chat.typing(&self.conversation.id, None, active);
                }
                return Reply::Nothing;
            }
            VisitorClientFrame::Read { seq } => return self.read(seq).await,
            VisitorClientFrame::Ping => return Reply::Nothing,
        };
        let written = self
            .state
            .chat
            .post_as_visitor(&self.conversation, &content, client_id.as_deref())
            .await;
        match written {
            // New: the bus brings it back in seq order; that is the ack.
            Ok(w) if !w.replay => Reply::Nothing,
            // A resend of something this socket was already sent: answer it
            // again, the bus will not.
            Ok(w) if w.message.seq <= self.last_sent => Reply::Send(message_frame(w.message)),
            Ok(_) => self.catch_up().await,
            Err(e) => Reply::Send(self.error_frame(e.to_api(), client_id)),
        }
    }

    async fn on_event(&mut self, published: Arc<Published>) -> Reply {
        if published.event.is_resync() {
            return self.catch_up().await;
        }
        if published.event.is_deletion() {
            return Reply::Close(close::CREDENTIALS_REFUSED, "this conversation was deleted");
        }
        let Some(frame) = published.visitor_frame.clone() else {
            return Reply::Nothing;
        };
        match published.seq() {
            None => Reply::Send(frame),
            Some(seq) if seq <= self.last_sent => Reply::Nothing,
            // Missed or out of order: fill the gap from storage.
            Some(seq) if seq > self.last_sent + 1 => self.catch_up().await,
            Some(seq) => {
                self.last_sent = seq;
                Reply::Send(frame)
            }
        }
    }

    async fn on_lag(&mut self) -> Reply {
        self.catch_up().await
    }

    /// `{"type":"availability","available":bool}` whenever it changes.
    fn on_watched(&mut self, available: bool) -> Reply {
        Reply::Send(availability_frame(available))
    }

    fn error_frame(&self, error: ApiError, client_id: Option<String>) -> Utf8Bytes {
        encode(&VisitorServerFrame::Error { error, client_id })
    }
}
