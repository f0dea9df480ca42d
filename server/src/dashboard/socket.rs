//! The agent socket, `/ws/admin/dashboard/`: every event of every
//! conversation, and replies sent as frames.
//!
//! Authenticated before the upgrade — an API token in `Authorization`, or
//! the dashboard's session cookie from a page of this site (Origin must be
//! our own host) — so a refusal is a plain HTTP error. A socket that falls
//! behind gets `{"type":"resync"}` and stays open.
//!
//! Presence: each socket announces itself (`presence` frames to every
//! agent socket) when it opens, when its agent goes away or comes back,
//! when its page shows another conversation (`viewing`; at most once a
//! second, the last state after [`RECHECK_EVERY`](crate::ws::RECHECK_EVERY)
//! at most), every [`ANNOUNCE_EVERY`] while open, and as `offline` when it
//! closes. A new socket is told this instance's sockets at once (no event);
//! other instances' sockets hear a `PresenceQuery` and announce themselves
//! (at most once every 2 s each): opening a socket costs one event per
//! instance, not one per socket.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use app::api::{cookie_value, session_cookie_name};
use app::protocol::{AgentClientFrame, AgentServerFrame, Party, PresenceStatus};
use app::types::{staff_name, AgentView, ApiError, ErrorCode, SessionId};
use axum::extract::ws::{Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRef, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};

use crate::agents::extract::{same_origin, CurrentAgent};
use crate::agents::TokenKind;
use crate::auth::bearer_token;
use crate::bus::event::encode;
use crate::bus::{Audience, Change, Published};
use crate::error::AppError;
use crate::limits::ClientAddr;
use crate::presence::PresenceGuard;
use crate::state::AppState;
use crate::ws::{close, close_with, drive, limit, Feed, Handler, Reply, Sockets, TypingThrottle};

/// How often an open socket announces its presence again (clients drop a
/// socket not heard of for 75 s).
pub const ANNOUNCE_EVERY: Duration = Duration::from_secs(30);
/// The shortest time between two announcements of one socket when its
/// state changes; later changes wait for the next recheck.
const CHANGES_EVERY: Duration = Duration::from_secs(1);
/// The shortest time between two answers of one socket to other
/// instances' queries.
const ANSWERS_EVERY: Duration = Duration::from_secs(2);

/// Numbers this instance's agent sockets.
static SOCKETS: AtomicU64 = AtomicU64::new(1);

#[utoipa::path(get, path = "/ws/admin/dashboard/", tag = "sockets", responses((status = 101, description = "The agent socket: every event of every conversation (docs/api.md, Agent socket)"), (status = "4XX", description = "Refused (credentials, origin)", body = app::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
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
    // Counted in while the socket is open (and not away): visitors see an
    // agent available.
    let present = state.presence.connected(&agent.id);
    let hub = state.bus.hub().clone();
    let feed = Feed::Agent {
        all: hub.subscribe_agents(),
        own: hub.subscribe_agent(&agent.id),
    };
    let id = format!(
        "{:016x}-{}",
        state.bus.origin().0,
        SOCKETS.fetch_add(1, Ordering::Relaxed)
    );
    // Who is here already: this instance's sockets at once; the other
    // instances' answer the query.
    let here: Vec<Utf8Bytes> = state.presence.local_board().iter().map(encode).collect();
    let mut handler = AgentSocket {
        state: state.clone(),
        agent,
        credential,
        typing: TypingThrottle::default(),
        present,
        id,
        viewing: None,
        announced: tokio::time::Instant::now(),
        dirty: false,
    };
    handler.announce(PresenceStatus::Online);
    if state.bus.redis_connected().is_some() {
        state.bus.publish(Audience::Agents, Change::PresenceQuery);
    }
    drive(
        &Sockets::from_ref(&state),
        socket,
        handler,
        feed,
        Reply::SendAll(here),
    )
    .await;
}

struct AgentSocket {
    state: AppState,
    agent: AgentView,
    credential: (String, TokenKind),
    typing: TypingThrottle,
    present: PresenceGuard,
    /// This socket's id in presence frames.
    id: String,
    /// The conversation its page shows.
    viewing: Option<SessionId>,
    announced: tokio::time::Instant,
    /// A change (or a query) waits to be announced at the next recheck.
    dirty: bool,
}

impl AgentSocket {
    /// Tells every agent socket where this one is.
    fn announce(&mut self, status: PresenceStatus) {
        self.announced = tokio::time::Instant::now();
        self.dirty = false;
        let agent_id = self.agent.id.clone();
        let name = staff_name(&self.agent.display_name, &self.agent.username);
        let frame = (status != PresenceStatus::Offline).then(|| AgentServerFrame::Presence {
            agent_id: agent_id.clone(),
            name: name.clone(),
            socket: self.id.clone(),
            status,
            viewing: self.viewing.clone(),
        });
        self.state.presence.announced(&self.id, frame);
        self.state.bus.publish(
            Audience::Agents,
            Change::Presence {
                agent_id,
                name,
                socket: self.id.clone(),
                status,
                viewing: self.viewing.clone(),
            },
        );
    }

    /// Announces a change now, or at the next recheck when the last
    /// announcement is more recent than `every`.
    fn announce_within(&mut self, every: Duration) {
        if self.announced.elapsed() >= every {
            self.announce(self.status());
        } else {
            self.dirty = true;
        }
    }

    fn status(&self) -> PresenceStatus {
        if self.present.away() {
            PresenceStatus::Away
        } else {
            PresenceStatus::Online
        }
    }
}

/// However the socket ends, the others hear it went.
impl Drop for AgentSocket {
    fn drop(&mut self) {
        self.announce(PresenceStatus::Offline);
    }
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
            AgentClientFrame::Viewing { session_id } => {
                if self.viewing != session_id {
                    self.viewing = session_id;
                    self.announce_within(CHANGES_EVERY);
                }
                return Reply::Nothing;
            }
            AgentClientFrame::Away { away } => {
                if self.present.away() != away {
                    self.present.set_away(away);
                    self.announce_within(CHANGES_EVERY);
                }
                return Reply::Nothing;
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
        if matches!(published.event.change, Change::PresenceQuery) {
            // This instance's own new sockets were told at once.
            if published.event.origin != self.state.bus.origin() {
                self.announce_within(ANSWERS_EVERY);
            }
            return Reply::Nothing;
        }
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
        if self.dirty || self.announced.elapsed() >= ANNOUNCE_EVERY {
            self.announce(self.status());
        }
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
