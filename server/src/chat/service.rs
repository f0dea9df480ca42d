//! [`ChatService`]: the conversation rules — who may open which
//! conversation, what a message must be, paging bounds, and what is
//! announced after each change.

use std::sync::Arc;

use app::protocol::Party;
use app::types::{
    AgentView, ConversationView, CustomerId, ErrorCode, MessagePage, MessageView, SessionId,
    SessionPage, SessionStatus, SessionView,
};
use serde::{Deserialize, Serialize};

use super::domain::{
    new_customer_id, parse_customer_id, parse_email, parse_name, ClientId, Conversation,
    MessageText,
};
use super::store::{Author, ChatStore, ListCursor, NewMessage, Range, Written};
use super::writer::Writer;
use crate::auth::{random_token, TokenHasher};
use crate::bus::{Audience, Bus, Change};
use crate::error::AppError;
use crate::limits::{ClientAddr, Limits};
use crate::storage::now;

/// How many messages `start` and a conversation view carry.
pub const LATEST: u64 = 50;
/// History pages: the default size and the most one may ask for.
pub const PAGE_DEFAULT: u64 = 100;
pub const PAGE_MAX: u64 = 500;
/// Conversation list pages.
pub const LIST_DEFAULT: u64 = 50;
pub const LIST_MAX: u64 = 200;

/// `POST /chat/api/chat/start/` body.
#[derive(Debug, Default, Deserialize)]
pub struct StartRequest {
    pub name: Option<String>,
    pub email: Option<String>,
    pub customer_id: Option<String>,
    pub token: Option<String>,
}

/// `POST /chat/api/chat/start/` answer.
#[derive(Debug, Serialize, Deserialize)]
pub struct StartResponse {
    pub customer_id: CustomerId,
    pub token: String,
    pub session_id: SessionId,
    pub status: SessionStatus,
    /// The latest messages, in seq order.
    pub messages: Vec<MessageView>,
    /// Whether older messages exist.
    pub has_more: bool,
    /// The highest seq the visitor has read (its own receipt, for the
    /// unread badge).
    pub read_seq: i64,
    /// The highest seq an agent has read ("Seen" in the widget).
    pub agent_read_seq: i64,
}

/// A history request, as parsed from the query.
#[derive(Clone, Copy, Debug, Default)]
pub struct HistoryQuery {
    pub after: Option<i64>,
    pub before: Option<i64>,
    pub limit: Option<u64>,
}

impl HistoryQuery {
    /// Checks bounds: seqs ≥ 0, limit 1..=500 (default 100). With only
    /// `before`, the page is the latest messages below it.
    fn range(self) -> Result<Range, AppError> {
        let bad = |m: &str| AppError::BadRequest(ErrorCode::InvalidQuery, m.into());
        if self.after.is_some_and(|a| a < 0) || self.before.is_some_and(|b| b < 0) {
            return Err(bad("after and before must be 0 or more."));
        }
        let limit = self.limit.unwrap_or(PAGE_DEFAULT);
        if limit == 0 || limit > PAGE_MAX {
            return Err(bad("limit must be between 1 and 500."));
        }
        Ok(Range {
            after: Some(self.after.unwrap_or(0)),
            before: self.before,
            limit,
            newest: self.after.is_none() && self.before.is_some(),
        })
    }
}

/// The conversation domain. Cheap to share: hold it in an `Arc`.
pub struct ChatService {
    store: Arc<ChatStore>,
    writer: Writer,
    bus: Arc<Bus>,
    hasher: TokenHasher,
    max_chars: usize,
    limits: Arc<Limits>,
}

fn invalid_token() -> AppError {
    AppError::Unauthorized(
        ErrorCode::InvalidToken,
        "The token does not open this conversation.".into(),
    )
}

fn unknown_session() -> AppError {
    AppError::NotFound(ErrorCode::UnknownSession, "No such conversation.".into())
}

impl ChatService {
    pub fn new(
        store: Arc<ChatStore>,
        writer: Writer,
        bus: Arc<Bus>,
        hasher: TokenHasher,
        max_chars: usize,
        limits: Arc<Limits>,
    ) -> Self {
        Self {
            store,
            writer,
            bus,
            hasher,
            max_chars,
            limits,
        }
    }

    pub fn bus(&self) -> &Arc<Bus> {
        &self.bus
    }

    pub fn max_chars(&self) -> usize {
        self.max_chars
    }

    /// Starts a conversation, or resumes one when its customer_id and token
    /// match. A customer_id alone grants nothing.
    pub async fn start(
        &self,
        req: StartRequest,
        from: ClientAddr,
    ) -> Result<StartResponse, AppError> {
        let name = parse_name(req.name.as_deref())?;
        let email = parse_email(req.email.as_deref())?;
        let customer_id = match req.customer_id.as_deref().filter(|c| !c.is_empty()) {
            Some(raw) => parse_customer_id(raw)?,
            None => new_customer_id(),
        };
        if let Some(found) = self.store.by_customer(&customer_id).await? {
            let token = req
                .token
                .as_deref()
                .filter(|t| !t.is_empty())
                .ok_or_else(|| {
                    AppError::Unauthorized(
                        ErrorCode::MissingToken,
                        "This conversation exists; resuming it needs its token.".into(),
                    )
                })?;
            if !self.hasher.matches(token, &found.token_hash) {
                return Err(invalid_token());
            }
            let conversation = self.update_contact(found, name, email).await?;
            let (messages, has_more) = self.latest(&conversation.id, LATEST).await?;
            return Ok(StartResponse {
                customer_id: conversation.customer_id,
                token: token.to_string(),
                session_id: conversation.id,
                status: conversation.status,
                messages,
                has_more,
                read_seq: conversation.customer_read_seq,
                agent_read_seq: conversation.agent_read_seq,
            });
        }
        // Only new conversations count; resuming one is free.
        self.limits.start(from)?;
        self.create(customer_id, name, email).await
    }

    async fn create(
        &self,
        customer_id: CustomerId,
        name: Option<String>,
        email: Option<String>,
    ) -> Result<StartResponse, AppError> {
        let token = random_token();
        let at = now();
        let conversation = Conversation {
            id: SessionId::from(uuid::Uuid::new_v4().to_string()),
            customer_id,
            token_hash: self.hasher.hash(&token),
            name,
            email,
            status: SessionStatus::Open,
            created_at: at,
            updated_at: at,
            last_message: None,
            last_message_at: None,
            last_seq: 0,
            customer_read_seq: 0,
            agent_read_seq: 0,
        };
        if self.store.create(&conversation).await?.is_err() {
            return Err(AppError::Conflict(
                ErrorCode::CustomerIdTaken,
                "That customer_id is in use; resuming it needs its token.".into(),
            ));
        }
        self.announce(&conversation);
        Ok(StartResponse {
            customer_id: conversation.customer_id,
            token,
            session_id: conversation.id,
            status: conversation.status,
            messages: Vec::new(),
            has_more: false,
            read_seq: 0,
            agent_read_seq: 0,
        })
    }

    async fn update_contact(
        &self,
        conversation: Conversation,
        name: Option<String>,
        email: Option<String>,
    ) -> Result<Conversation, AppError> {
        let name = name.filter(|n| Some(n) != conversation.name.as_ref());
        let email = email.filter(|e| Some(e) != conversation.email.as_ref());
        if name.is_none() && email.is_none() {
            return Ok(conversation);
        }
        let updated = self
            .store
            .update_contact(&conversation.id, name, email)
            .await?
            .ok_or_else(unknown_session)?;
        self.announce(&updated);
        Ok(updated)
    }

    /// The conversation a visitor's customer_id and token open.
    pub async fn authenticate(
        &self,
        customer_id: &str,
        token: &str,
    ) -> Result<Conversation, AppError> {
        let unknown = || {
            AppError::NotFound(
                ErrorCode::UnknownCustomer,
                "No conversation has that customer_id.".into(),
            )
        };
        let customer_id = parse_customer_id(customer_id).map_err(|_| unknown())?;
        let found = self
            .store
            .by_customer(&customer_id)
            .await?
            .ok_or_else(unknown)?;
        if !self.hasher.matches(token, &found.token_hash) {
            return Err(invalid_token());
        }
        Ok(found)
    }

    pub async fn conversation_row(&self, id: &SessionId) -> Result<Conversation, AppError> {
        self.store.by_id(id).await?.ok_or_else(unknown_session)
    }

    /// A visitor's message; answers once it is committed.
    pub async fn post_as_visitor(
        &self,
        conversation: &Conversation,
        content: &str,
        client_id: Option<&str>,
    ) -> Result<Written, AppError> {
        self.limits.message(&conversation.id)?;
        self.post(
            conversation.id.clone(),
            Author::Customer,
            content,
            client_id,
        )
        .await
    }

    /// The one path for an agent's reply (server function, agent socket and
    /// admin API alike); answers once it is committed.
    pub async fn reply(
        &self,
        agent: &AgentView,
        session_id: &SessionId,
        content: &str,
        client_id: Option<&str>,
    ) -> Result<MessageView, AppError> {
        let author = Author::Agent {
            id: agent.id.clone(),
            name: app::types::shown_agent_name(&agent.display_name),
        };
        Ok(self
            .post(session_id.clone(), author, content, client_id)
            .await?
            .message)
    }

    async fn post(
        &self,
        session_id: SessionId,
        author: Author,
        content: &str,
        client_id: Option<&str>,
    ) -> Result<Written, AppError> {
        let text = MessageText::parse(content, self.max_chars)?;
        let client_id = match client_id.filter(|c| !c.is_empty()) {
            Some(raw) => ClientId::parse(raw)?,
            None => ClientId::generate(),
        };
        self.writer
            .write(NewMessage {
                session_id,
                author,
                content: text.as_str().to_string(),
                client_id: client_id.as_str().to_string(),
            })
            .await
    }

    /// One side has read a conversation up to `seq`: stores it (never
    /// lowering it, capped at the last seq) and, when it grew, tells the
    /// agents and — for an agent's read — the conversation's visitors.
    /// The one path for the visitor's socket frame, its HTTP endpoint and
    /// the agent's socket frame.
    pub async fn mark_read(
        &self,
        session_id: &SessionId,
        by: Party,
        seq: i64,
    ) -> Result<(), AppError> {
        if seq < 0 {
            return Err(AppError::Invalid(
                ErrorCode::InvalidBody,
                "seq must be 0 or more.".into(),
            ));
        }
        let Some(seq) = self.store.mark_read(session_id, by, seq).await? else {
            // Not grown; or no such conversation, which only an agent can
            // name (a visitor's is authenticated).
            if by == Party::Agent && self.store.by_id(session_id).await?.is_none() {
                return Err(unknown_session());
            }
            return Ok(());
        };
        let audience = match by {
            Party::Customer => Audience::Agents,
            Party::Agent => Audience::AgentsAndVisitors(session_id.clone()),
        };
        let session_id = session_id.clone();
        self.bus.publish(
            audience,
            Change::Read {
                session_id,
                by,
                seq,
            },
        );
        Ok(())
    }

    /// One side is typing (or stopped): the visitor's typing (`agent`
    /// `None`) reaches the agents, an agent's the conversation's visitors
    /// with the agent's shown name. Not stored; the sockets throttle.
    pub fn typing(&self, session_id: &SessionId, agent: Option<&AgentView>, active: bool) {
        let (audience, by) = match agent {
            None => (Audience::Agents, Party::Customer),
            Some(_) => (Audience::Visitors(session_id.clone()), Party::Agent),
        };
        let name = agent.map(|a| app::types::shown_agent_name(&a.display_name));
        self.bus.publish(
            audience,
            Change::Typing {
                session_id: session_id.clone(),
                by,
                name,
                active,
            },
        );
    }

    /// A page of a conversation's messages.
    pub async fn history(
        &self,
        session_id: &SessionId,
        query: HistoryQuery,
    ) -> Result<MessagePage, AppError> {
        let (messages, has_more) = self.store.messages(session_id, query.range()?).await?;
        Ok(MessagePage { messages, has_more })
    }

    /// Every message after `after`, up to `limit`, in seq order (socket
    /// catch-up).
    pub async fn after(
        &self,
        session_id: &SessionId,
        after: i64,
        limit: u64,
    ) -> Result<(Vec<MessageView>, bool), AppError> {
        self.store
            .messages(
                session_id,
                Range {
                    after: Some(after),
                    before: None,
                    limit,
                    newest: false,
                },
            )
            .await
    }

    /// The latest `limit` messages, in seq order, and whether older exist.
    pub async fn latest(
        &self,
        session_id: &SessionId,
        limit: u64,
    ) -> Result<(Vec<MessageView>, bool), AppError> {
        self.store
            .messages(
                session_id,
                Range {
                    after: None,
                    before: None,
                    limit,
                    newest: true,
                },
            )
            .await
    }

    /// Conversations, newest activity first, a page at a time.
    pub async fn list(
        &self,
        status: Option<SessionStatus>,
        cursor: Option<&str>,
        limit: Option<u64>,
    ) -> Result<SessionPage, AppError> {
        let limit = limit.unwrap_or(LIST_DEFAULT);
        if limit == 0 || limit > LIST_MAX {
            return Err(AppError::BadRequest(
                ErrorCode::InvalidQuery,
                format!("limit must be between 1 and {LIST_MAX}."),
            ));
        }
        let cursor = match cursor.filter(|c| !c.is_empty()) {
            Some(raw) => Some(ListCursor::decode(raw).ok_or_else(|| {
                AppError::BadRequest(
                    ErrorCode::InvalidCursor,
                    "cursor is not one this server gave out.".into(),
                )
            })?),
            None => None,
        };
        let (sessions, next) = self.store.list(status, cursor.as_ref(), limit).await?;
        Ok(SessionPage {
            sessions,
            next_cursor: next.map(|c| c.encode()),
        })
    }

    /// A conversation with its latest messages.
    pub async fn conversation(&self, session_id: &SessionId) -> Result<ConversationView, AppError> {
        let conversation = self.conversation_row(session_id).await?;
        let (messages, has_more) = self.latest(&conversation.id, LATEST).await?;
        Ok(ConversationView {
            session: conversation.view(),
            messages,
            has_more,
        })
    }

    pub async fn set_status(
        &self,
        session_id: &SessionId,
        status: SessionStatus,
    ) -> Result<SessionView, AppError> {
        let current = self.conversation_row(session_id).await?;
        if current.status == status {
            return Ok(current.view());
        }
        let updated = self
            .store
            .set_status(session_id, status)
            .await?
            .ok_or_else(unknown_session)?;
        self.announce(&updated);
        Ok(updated.view())
    }

    /// Tells agents and the conversation's visitors that it changed.
    fn announce(&self, conversation: &Conversation) {
        self.bus.publish(
            Audience::AgentsAndVisitors(conversation.id.clone()),
            Change::ConversationChanged {
                session: conversation.view(),
            },
        );
    }

    pub async fn ping(&self) -> Result<(), AppError> {
        self.store.ping().await
    }
}
