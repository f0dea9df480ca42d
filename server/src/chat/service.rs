//! [`ChatService`]: the conversation rules — who may open which
//! conversation, what a message must be, paging bounds, and what is
//! announced after each change.

use std::sync::Arc;

use app::protocol::Party;
use app::types::{
    AgentId, AgentView, ConversationView, CustomerId, ErrorCode, InboxParams, MessagePage,
    MessageView, NotePage, NoteView, Role, SessionId, SessionPage, SessionStatus, SessionView,
    Stats, VisitorView,
};
use serde::{Deserialize, Serialize};

use super::domain::{
    customer_id_text, new_customer_id, parse_customer_id, parse_email, parse_name, ClientId,
    Conversation, MessageText,
};
use super::identity::{Identity, Verdict};
use super::inbox::{InboxQuery, NoteCursor};
use super::store::VisitorRecord;
use super::store::{Author, ChatStore, NewMessage, Range, Written};
use super::visitor::{browser, local_time, Visit};
use super::writer::Writer;
use crate::auth::{random_token, TokenHasher};
use crate::bus::{Audience, Bus, Change};
use crate::error::AppError;
use crate::limits::{ClientAddr, Limits};
use crate::mail::{Mailer, OfflineNotice};
use crate::storage::now;

/// How many messages `start` and a conversation view carry.
pub const LATEST: u64 = 50;
/// History pages: the default size and the most one may ask for.
pub const PAGE_DEFAULT: u64 = 100;
pub const PAGE_MAX: u64 = 500;
/// How many notes a conversation view carries (the newest).
pub const NOTES_LATEST: u64 = 200;
/// Note pages: the default size and the most one may ask for.
pub const NOTES_PAGE_DEFAULT: u32 = 50;
pub const NOTES_PAGE_MAX: u32 = 200;
/// The customer panel lists at most this many of a person's other
/// conversations.
const EARLIER_MAX: u64 = 10;
/// How many times an assignment is tried again when another changed the
/// assignee in between.
const ASSIGN_ATTEMPTS: usize = 3;

/// `POST /chat/api/chat/start/` body.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct StartRequest {
    pub name: Option<String>,
    pub email: Option<String>,
    /// A string, or an integer (`42` → `"42"`).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub customer_id: serde_json::Value,
    pub token: Option<String>,
    /// hex HMAC-SHA256(`IDENTITY_SECRET`, customer_id).
    pub customer_hash: Option<String>,
    /// What the page knows of the visitor, for the customer panel:
    /// `page_url`, `referrer`, `time_zone`, `utc_offset` (minutes east of
    /// UTC). Advisory: unusable values are dropped, never refused.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub context: Option<serde_json::Value>,
}

/// `POST /chat/api/chat/offline/` body: a message left while no agent was
/// available.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct OfflineRequest {
    pub name: Option<String>,
    pub email: Option<String>,
    pub message: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub customer_id: serde_json::Value,
    pub token: Option<String>,
    pub customer_hash: Option<String>,
    /// Makes a resent form safe once the conversation exists (with its
    /// token or hash): the message is stored once.
    pub client_id: Option<String>,
    /// As in a start.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub context: Option<serde_json::Value>,
}

/// The most a long poll (`wait`) may hold a history request.
pub const WAIT_MAX_SECS: u64 = 30;
/// How many times one long poll may read storage again.
const WAIT_MAX_READS: usize = 64;

/// Who is asking to open a conversation, and how they prove it.
struct Credentials<'a> {
    customer_id: &'a serde_json::Value,
    token: Option<&'a str>,
    customer_hash: Option<&'a str>,
    /// What the browser reported, recorded once the conversation opens.
    visit: Visit,
}

/// `POST /chat/api/chat/start/` answer.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
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

/// How visitors prove who they are, and where offline messages are
/// e-mailed.
pub struct VisitorOptions {
    pub identity: Identity,
    pub mailer: Option<Mailer>,
}

/// A conversation about to be stored.
struct NewConversation {
    customer_id: CustomerId,
    name: Option<String>,
    email: Option<String>,
    offline: bool,
    /// Hand out the identity's derived token instead of a random one.
    derived_token: bool,
}

/// The conversation domain. Cheap to share: hold it in an `Arc`.
pub struct ChatService {
    store: Arc<ChatStore>,
    writer: Writer,
    bus: Arc<Bus>,
    hasher: TokenHasher,
    max_chars: usize,
    limits: Arc<Limits>,
    identity: Identity,
    mailer: Option<Mailer>,
}

fn invalid_token() -> AppError {
    AppError::Unauthorized(
        ErrorCode::InvalidToken,
        "The token does not open this conversation.".into(),
    )
}

fn identity_required() -> AppError {
    AppError::Unauthorized(
        ErrorCode::IdentityRequired,
        "This site requires a customer_hash (or the conversation's token) with a customer_id."
            .into(),
    )
}

fn customer_id_taken() -> AppError {
    AppError::Conflict(
        ErrorCode::CustomerIdTaken,
        "That customer_id is in use; resuming it needs its token.".into(),
    )
}

fn unknown_session() -> AppError {
    AppError::NotFound(ErrorCode::UnknownSession, "No such conversation.".into())
}

/// Who may assign what: admins anything; an agent may take a conversation
/// nobody has (or keep their own), and let go of their own.
fn may_assign(actor: &AgentView, current: Option<&AgentId>, new: Option<&AgentId>) -> bool {
    let own_or_nobody = |a: Option<&AgentId>| a.is_none_or(|a| a == &actor.id);
    actor.role == Role::Admin || (own_or_nobody(current) && own_or_nobody(new))
}

impl ChatService {
    pub fn new(
        store: Arc<ChatStore>,
        writer: Writer,
        bus: Arc<Bus>,
        hasher: TokenHasher,
        max_chars: usize,
        limits: Arc<Limits>,
        visitors: VisitorOptions,
    ) -> Self {
        let VisitorOptions { identity, mailer } = visitors;
        Self {
            store,
            writer,
            bus,
            hasher,
            max_chars,
            limits,
            identity,
            mailer,
        }
    }

    pub fn bus(&self) -> &Arc<Bus> {
        &self.bus
    }

    pub fn max_chars(&self) -> usize {
        self.max_chars
    }

    /// Starts a conversation, or resumes one when its customer_id and token
    /// (or a valid `customer_hash`) match. A customer_id alone grants
    /// nothing.
    /// `user_agent`: the request's headers, for the customer panel.
    pub async fn start(
        &self,
        req: StartRequest,
        from: ClientAddr,
        user_agent: crate::chat::visitor::Headers<'_>,
    ) -> Result<StartResponse, AppError> {
        let name = parse_name(req.name.as_deref())?;
        let email = parse_email(req.email.as_deref())?;
        let credentials = Credentials {
            customer_id: &req.customer_id,
            token: req.token.as_deref(),
            customer_hash: req.customer_hash.as_deref(),
            visit: Visit::parse(req.context.as_ref(), user_agent),
        };
        let (conversation, token, created) =
            self.open(credentials, name, email, false, from).await?;
        let (messages, has_more) = if created {
            (Vec::new(), false)
        } else {
            self.latest(&conversation.id, LATEST).await?
        };
        Ok(StartResponse {
            customer_id: conversation.customer_id,
            token,
            session_id: conversation.id,
            status: conversation.status,
            messages,
            has_more,
            read_seq: conversation.customer_read_seq,
            agent_read_seq: conversation.agent_read_seq,
        })
    }

    /// A message left while no agent was available: creates (or, with
    /// valid credentials, reuses) a conversation, marks it offline, stores
    /// the message as the visitor's, and e-mails the team when SMTP is set.
    pub async fn offline(
        &self,
        req: OfflineRequest,
        from: ClientAddr,
        user_agent: crate::chat::visitor::Headers<'_>,
    ) -> Result<StartResponse, AppError> {
        let name = parse_name(req.name.as_deref())?;
        let email = parse_email(req.email.as_deref())?.ok_or_else(|| {
            AppError::Invalid(
                ErrorCode::InvalidEmail,
                "email is required, so the team can answer.".into(),
            )
        })?;
        let text = MessageText::parse(req.message.as_deref().unwrap_or(""), self.max_chars)?;
        let credentials = Credentials {
            customer_id: &req.customer_id,
            token: req.token.as_deref(),
            customer_hash: req.customer_hash.as_deref(),
            visit: Visit::parse(req.context.as_ref(), user_agent),
        };
        let (conversation, token, _) = self
            .open(credentials, name.clone(), Some(email.clone()), true, from)
            .await?;
        if !conversation.offline {
            let marked = self
                .store
                .mark_offline(&conversation.id)
                .await?
                .ok_or_else(unknown_session)?;
            self.announce(&marked).await?;
        }
        let written = self
            .post_as_visitor(&conversation, text.as_str(), req.client_id.as_deref())
            .await?;
        if written.replay {
            // A resent form: stored and announced the first time.
        } else if let Some(mailer) = &self.mailer {
            mailer.notify(OfflineNotice {
                name,
                email,
                message: text.as_str().to_string(),
                customer_id: conversation.customer_id.to_string(),
                session_id: conversation.id.to_string(),
            });
        }
        let status = written.conversation.status;
        Ok(StartResponse {
            customer_id: conversation.customer_id,
            token,
            session_id: conversation.id,
            status,
            has_more: written.message.seq > 1,
            read_seq: written.conversation.customer_read_seq,
            agent_read_seq: written.conversation.agent_read_seq,
            messages: vec![written.message],
        })
    }

    /// The conversation the credentials open, resumed or created, with the
    /// token to hand back and whether it was created.
    ///
    /// - no customer_id: a new conversation with a random one;
    /// - customer_id + valid hash: that customer's conversation (created if
    ///   need be), with the derived token, the same on every device;
    /// - customer_id + its token: that conversation;
    /// - a customer_id not in use: a new conversation with it, unless
    ///   `IDENTITY_REQUIRED`.
    async fn open(
        &self,
        credentials: Credentials<'_>,
        name: Option<String>,
        email: Option<String>,
        offline: bool,
        from: ClientAddr,
    ) -> Result<(Conversation, String, bool), AppError> {
        let supplied = customer_id_text(credentials.customer_id)?.filter(|c| !c.is_empty());
        let customer_id = match &supplied {
            Some(raw) => parse_customer_id(raw)?,
            None => new_customer_id(),
        };
        let verdict = match supplied {
            Some(_) => self
                .identity
                .check(customer_id.as_str(), credentials.customer_hash),
            None => Verdict::Unchecked,
        };
        if verdict == Verdict::Wrong {
            return Err(AppError::Unauthorized(
                ErrorCode::InvalidIdentity,
                "customer_hash does not match this customer_id.".into(),
            ));
        }
        let verified = verdict == Verdict::Verified;
        let token = credentials.token.filter(|t| !t.is_empty());
        // Two tries: two devices of a verified customer may create the
        // conversation at once; the second then resumes it.
        for _ in 0..2 {
            if let Some(found) = self.store.by_customer(&customer_id).await? {
                let (found, token) = if verified {
                    (self.adopt_derived_token(found).await?, None)
                } else {
                    match token {
                        Some(t) if self.hasher.matches(t, &found.token_hash) => (found, Some(t)),
                        _ if self.identity.required() => return Err(identity_required()),
                        Some(_) => return Err(invalid_token()),
                        None => {
                            return Err(AppError::Unauthorized(
                                ErrorCode::MissingToken,
                                "This conversation exists; resuming it needs its token.".into(),
                            ))
                        }
                    }
                };
                let token = match token {
                    Some(t) => t.to_string(),
                    None => self.identity.token_for(found.id.as_str()),
                };
                let conversation = self.update_contact(found, name, email).await?;
                self.record_visit(&conversation.id, verified, &credentials.visit)
                    .await;
                return Ok((conversation, token, false));
            }
            if supplied.is_some() && !verified && self.identity.required() {
                return Err(identity_required());
            }
            // Only new conversations count; resuming one is free.
            self.limits.start(from)?;
            let new = NewConversation {
                customer_id: customer_id.clone(),
                name: name.clone(),
                email: email.clone(),
                offline,
                derived_token: verified,
            };
            match self.create(new).await? {
                Some((conversation, token)) => {
                    self.record_visit(&conversation.id, verified, &credentials.visit)
                        .await;
                    return Ok((conversation, token, true));
                }
                None if verified => continue,
                None => return Err(customer_id_taken()),
            }
        }
        Err(customer_id_taken())
    }

    /// Stores what the browser reported; a failure costs the panel its
    /// facts, never the visitor their start.
    async fn record_visit(&self, id: &SessionId, verified: bool, visit: &Visit) {
        if let Err(e) = self.store.record_visit(id, verified, visit, now()).await {
            tracing::warn!(session = %id, error = %e, "visitor context not stored");
        }
    }

    /// The visitor's browser moved to another page of a single-page site
    /// (the loader reports it): the customer panel's page fields change
    /// and agents hear of it. A body without a `context` object is
    /// refused; limited per conversation.
    pub async fn visitor_moved(
        &self,
        customer_id: &str,
        token: &str,
        context: Option<&serde_json::Value>,
        user_agent: crate::chat::visitor::Headers<'_>,
    ) -> Result<(), AppError> {
        let conversation = self.authenticate(customer_id, token).await?;
        let visit = Visit::parse(context, user_agent);
        if !visit.has_context {
            return Err(AppError::Invalid(
                ErrorCode::InvalidBody,
                "context must be an object (page_url, referrer, time_zone, utc_offset).".into(),
            ));
        }
        self.limits.page(&conversation.id)?;
        let Some(record) = self
            .store
            .visitor_moved(&conversation.id, &visit, now())
            .await?
        else {
            return Ok(());
        };
        self.bus.publish(
            Audience::Agents,
            Change::VisitorChanged {
                session_id: conversation.id,
                visitor: visitor_view(record),
            },
        );
        Ok(())
    }

    /// The visitor's socket closed: they were last seen now. Best effort,
    /// as above.
    pub async fn visitor_left(&self, id: &SessionId) {
        if let Err(e) = self.store.visitor_seen(id, now()).await {
            tracing::warn!(session = %id, error = %e, "last seen not stored");
        }
    }

    /// A verified customer's conversation answers the derived token; one
    /// made earlier without identity gets it now (its old token stops
    /// working).
    async fn adopt_derived_token(&self, found: Conversation) -> Result<Conversation, AppError> {
        let derived = self.identity.token_for(found.id.as_str());
        if self.hasher.matches(&derived, &found.token_hash) {
            return Ok(found);
        }
        self.store
            .set_token_hash(&found.id, &self.hasher.hash(&derived))
            .await?
            .ok_or_else(unknown_session)
    }

    /// Stores a new conversation; `None` when its customer_id is taken.
    async fn create(
        &self,
        new: NewConversation,
    ) -> Result<Option<(Conversation, String)>, AppError> {
        let id = SessionId::from(uuid::Uuid::new_v4().to_string());
        let token = if new.derived_token {
            self.identity.token_for(id.as_str())
        } else {
            random_token()
        };
        let at = now();
        let conversation = Conversation {
            id,
            customer_id: new.customer_id,
            token_hash: self.hasher.hash(&token),
            name: new.name,
            email: new.email,
            status: SessionStatus::Open,
            created_at: at,
            updated_at: at,
            last_message: None,
            last_message_at: None,
            last_seq: 0,
            customer_read_seq: 0,
            agent_read_seq: 0,
            offline: new.offline,
            assignee_id: None,
            last_customer_seq: 0,
            last_agent_seq: 0,
            first_customer_at: None,
            first_agent_at: None,
        };
        if self.store.create(&conversation).await?.is_err() {
            return Ok(None);
        }
        self.announce(&conversation).await?;
        Ok(Some((conversation, token)))
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
        self.announce(&updated).await?;
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
        Ok(self
            .post(session_id.clone(), agent_author(agent), content, client_id)
            .await?
            .message)
    }

    /// A message carrying a stored file (its row written already), from a
    /// visitor or an agent; `caption` may be empty. Answers once it is
    /// committed; a replayed client_id answers the message stored first
    /// (`replay`), whose file is its own.
    pub async fn post_attachment(
        &self,
        session_id: SessionId,
        author: Author,
        caption: &str,
        client_id: &ClientId,
        file: crate::storage::attachments::Model,
    ) -> Result<Written, AppError> {
        let content = if caption.trim().is_empty() {
            String::new()
        } else {
            MessageText::parse(caption, self.max_chars)?
                .as_str()
                .to_string()
        };
        self.writer
            .write(NewMessage {
                session_id,
                author,
                content,
                client_id: client_id.as_str().to_string(),
                attachment: Some(file),
            })
            .await
    }

    /// An automated response's message (`sender: "bot"`); answers once it
    /// is committed. `client_id` makes it once-only: the same one again
    /// (another instance, a retry) answers the message stored first.
    pub async fn post_as_bot(
        &self,
        session_id: SessionId,
        content: &str,
        client_id: &ClientId,
    ) -> Result<Written, AppError> {
        let text = MessageText::parse(content, self.max_chars)?;
        self.writer
            .write(NewMessage {
                session_id,
                author: Author::Bot,
                content: text.as_str().to_string(),
                client_id: client_id.as_str().to_string(),
                attachment: None,
            })
            .await
    }

    /// Saves an e-mail address the visitor gave in a message, when the
    /// conversation has none yet; agents hear of it. Answers whether it
    /// was saved.
    pub async fn save_email_if_none(
        &self,
        session_id: &SessionId,
        email: &str,
    ) -> Result<bool, AppError> {
        let Ok(Some(email)) = parse_email(Some(email)) else {
            return Ok(false);
        };
        let current = self.conversation_row(session_id).await?;
        if current.email.is_some() {
            return Ok(false);
        }
        let Some(updated) = self
            .store
            .update_contact(session_id, None, Some(email))
            .await?
        else {
            return Ok(false);
        };
        self.announce(&updated).await?;
        Ok(true)
    }

    /// The store, for the domains that read conversations alongside
    /// (automated responses).
    pub fn store(&self) -> &Arc<ChatStore> {
        &self.store
    }

    /// The message a conversation already holds under `client_id`.
    pub async fn by_client_id(
        &self,
        session_id: &SessionId,
        client_id: &ClientId,
    ) -> Result<Option<MessageView>, AppError> {
        self.store
            .by_client_id(session_id, client_id.as_str())
            .await
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
                attachment: None,
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
        // An agent's typing reaches the visitor and the other agents
        // (collision: who else is answering).
        let (audience, by) = match agent {
            None => (Audience::Agents, Party::Customer),
            Some(_) => (
                Audience::AgentsAndVisitors(session_id.clone()),
                Party::Agent,
            ),
        };
        let name = agent.map(|a| app::types::shown_agent_name(&a.display_name));
        self.bus.publish(
            audience,
            Change::Typing {
                session_id: session_id.clone(),
                by,
                name,
                active,
                agent_id: agent.map(|a| a.id.clone()),
                staff_name: agent.map(|a| app::types::staff_name(&a.display_name, &a.username)),
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

    /// A long poll: like [`Self::history`], but when nothing is stored
    /// after `after` yet, waits up to `wait` for a message of this
    /// conversation (stored on any instance: the bus brings other
    /// instances' events into the local hub), then answers; empty at the
    /// timeout. Holds no database connection while waiting, and one of the
    /// address's socket places (`429` when they are all taken).
    pub async fn history_wait(
        &self,
        session_id: &SessionId,
        query: HistoryQuery,
        wait: std::time::Duration,
        from: ClientAddr,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Result<MessagePage, AppError> {
        let range = query.range()?;
        if wait.is_zero() {
            let (messages, has_more) = self.store.messages(session_id, range).await?;
            return Ok(MessagePage { messages, has_more });
        }
        if query.before.is_some() {
            return Err(AppError::BadRequest(
                ErrorCode::InvalidQuery,
                "wait goes with after, not before.".into(),
            ));
        }
        let _slot = self.limits.socket_from(from).map_err(|_| {
            AppError::RateLimited(
                "Too many open connections from your address; try again later.".into(),
                std::time::Duration::from_secs(1),
            )
        })?;
        let after = range.after.unwrap_or(0);
        // Subscribe before reading, so a message stored in between wakes us.
        let mut room = self.bus.hub().subscribe_session(session_id);
        let deadline = tokio::time::Instant::now() + wait;
        let empty = MessagePage {
            messages: Vec::new(),
            has_more: false,
        };
        for _ in 0..WAIT_MAX_READS {
            let (messages, has_more) = self.store.messages(session_id, range).await?;
            if !messages.is_empty() {
                return Ok(MessagePage { messages, has_more });
            }
            // Wait for something worth reading again.
            loop {
                let next = tokio::select! {
                    next = tokio::time::timeout_at(deadline, room.rx.recv()) => next,
                    _ = shutdown.wait_for(|stop| *stop) => return Ok(empty),
                };
                match next {
                    Err(_) | Ok(Err(tokio::sync::broadcast::error::RecvError::Closed)) => {
                        return Ok(empty)
                    }
                    Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => break,
                    Ok(Ok(published)) => {
                        if published.event.is_resync() || published.seq().is_some_and(|s| s > after)
                        {
                            break;
                        }
                    }
                }
            }
        }
        Ok(empty)
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

    /// Conversations with a visitor message no agent has read (the page
    /// title's count).
    pub async fn unread_conversations(&self) -> Result<i64, AppError> {
        self.store.unread_conversations().await
    }

    /// The dashboard home's figures, as of now.
    pub async fn stats(&self) -> Result<Stats, AppError> {
        self.store.stats(now()).await
    }

    /// The inbox: conversations matching the filters and search, newest
    /// activity first, a page at a time. The one path for the admin API
    /// and the dashboard; `assigned=me` means `actor`.
    pub async fn inbox(
        &self,
        actor: &AgentView,
        params: &InboxParams,
    ) -> Result<SessionPage, AppError> {
        let query = InboxQuery::parse(params, &actor.id)?;
        let (rows, next) = self.store.inbox(&query).await?;
        Ok(SessionPage {
            sessions: self.store.session_views(&rows).await?,
            next_cursor: next.map(|c| c.encode()),
        })
    }

    /// A conversation with its latest messages and its newest notes.
    pub async fn conversation(&self, session_id: &SessionId) -> Result<ConversationView, AppError> {
        let conversation = self.conversation_row(session_id).await?;
        let (messages, has_more) = self.latest(&conversation.id, LATEST).await?;
        let (notes, next) = self
            .store
            .notes(&conversation.id, None, NOTES_LATEST)
            .await?;
        let visitor = self.store.visitor(&conversation.id).await?;
        let earlier = match &conversation.email {
            Some(email) => {
                let rows = self
                    .store
                    .same_email(email, &conversation.id, EARLIER_MAX)
                    .await?;
                self.store.session_views(&rows).await?
            }
            None => Vec::new(),
        };
        Ok(ConversationView {
            attachments: None,
            session: self.store.session_view(&conversation).await?,
            messages,
            has_more,
            notes,
            notes_next_cursor: next.map(|c| c.encode()),
            visitor: visitor.map(visitor_view),
            earlier,
        })
    }

    /// Deletes a conversation with everything stored in it (its files are
    /// the caller's: see `AttachmentService`); `404 unknown_session` when
    /// there is none. Open dashboards drop it; its visitor's sockets close.
    pub async fn delete_conversation(&self, session_id: &SessionId) -> Result<(), AppError> {
        if self.store.delete(session_id).await? {
            self.bus.publish(
                Audience::AgentsAndVisitors(session_id.clone()),
                Change::ConversationDeleted {
                    session_id: session_id.clone(),
                },
            );
            Ok(())
        } else {
            Err(unknown_session())
        }
    }

    pub async fn set_status(
        &self,
        session_id: &SessionId,
        status: SessionStatus,
    ) -> Result<SessionView, AppError> {
        let current = self.conversation_row(session_id).await?;
        if current.status == status {
            return self.store.session_view(&current).await;
        }
        let updated = self
            .store
            .set_status(session_id, status)
            .await?
            .ok_or_else(unknown_session)?;
        self.announce(&updated).await
    }

    /// Assigns a conversation to an active agent, or to nobody (`None`).
    /// Admins may assign anyone; an agent may take one nobody has and let
    /// go of their own (`403 forbidden` otherwise). Agents hear of it as a
    /// `session` event; the conversation keeps its place in the list.
    /// The one path for the admin API and the dashboard.
    pub async fn assign(
        &self,
        actor: &AgentView,
        session_id: &SessionId,
        agent_id: Option<&AgentId>,
    ) -> Result<SessionView, AppError> {
        if let Some(id) = agent_id {
            self.store.active_agent(id).await?.ok_or_else(|| {
                AppError::NotFound(
                    ErrorCode::UnknownAgent,
                    "No active agent has that id.".into(),
                )
            })?;
        }
        for _ in 0..ASSIGN_ATTEMPTS {
            let current = self.conversation_row(session_id).await?;
            if !may_assign(actor, current.assignee_id.as_ref(), agent_id) {
                return Err(AppError::Forbidden(
                    ErrorCode::Forbidden,
                    "Agents may take a conversation nobody has, or let go of their own; \
                     anything else is for admins."
                        .into(),
                ));
            }
            if current.assignee_id.as_ref() == agent_id {
                return self.store.session_view(&current).await;
            }
            let updated = self
                .store
                .set_assignee(session_id, current.assignee_id.as_ref(), agent_id)
                .await?;
            if let Some(updated) = updated {
                let view = self.store.session_view(&updated).await?;
                self.bus.publish(
                    Audience::Agents,
                    Change::ConversationChanged {
                        session: view.clone(),
                    },
                );
                return Ok(view);
            }
            // Someone else changed the assignee meanwhile: judge again.
        }
        Err(AppError::Conflict(
            ErrorCode::AssignmentConflict,
            "The assignee kept changing; reload and try again.".into(),
        ))
    }

    /// Leaves a private note on a conversation: stored in its own table
    /// (never a message: no seq, never in a visitor's history), announced
    /// to agents only. Same length and character rules as a message; a
    /// `client_id` makes a resend safe (the note is stored and announced
    /// once; the resend answers it again).
    pub async fn add_note(
        &self,
        actor: &AgentView,
        session_id: &SessionId,
        content: &str,
        client_id: Option<&str>,
    ) -> Result<NoteView, AppError> {
        let text = MessageText::parse(content, self.max_chars)?;
        let client_id = client_id.map(ClientId::parse).transpose()?;
        let (note, replay) = self
            .store
            .insert_note(
                session_id,
                actor,
                text.as_str(),
                client_id.as_ref().map(ClientId::as_str),
                now(),
            )
            .await?
            .map_err(|_| unknown_session())?;
        if !replay {
            self.bus
                .publish(Audience::Agents, Change::NoteAdded { note: note.clone() });
        }
        Ok(note)
    }

    /// A page of a conversation's notes, newest first.
    pub async fn notes(
        &self,
        session_id: &SessionId,
        cursor: Option<&str>,
        limit: Option<u32>,
    ) -> Result<NotePage, AppError> {
        let limit = limit.unwrap_or(NOTES_PAGE_DEFAULT);
        if limit == 0 || limit > NOTES_PAGE_MAX {
            return Err(AppError::BadRequest(
                ErrorCode::InvalidQuery,
                format!("limit must be between 1 and {NOTES_PAGE_MAX}."),
            ));
        }
        let cursor = NoteCursor::parse(cursor)?;
        let conversation = self.conversation_row(session_id).await?;
        let (notes, next) = self
            .store
            .notes(&conversation.id, cursor.as_ref(), u64::from(limit))
            .await?;
        Ok(NotePage {
            notes,
            next_cursor: next.map(|c| c.encode()),
        })
    }

    /// Tells agents and the conversation's visitors that it changed;
    /// answers the view agents were sent.
    async fn announce(&self, conversation: &Conversation) -> Result<SessionView, AppError> {
        let view = self.store.session_view(conversation).await?;
        self.bus.publish(
            Audience::AgentsAndVisitors(conversation.id.clone()),
            Change::ConversationChanged {
                session: view.clone(),
            },
        );
        Ok(view)
    }

    pub async fn ping(&self) -> Result<(), AppError> {
        self.store.ping().await
    }
}

/// The panel's view of a visitor: the stored facts, the browser named and
/// their wall-clock time now.
fn visitor_view(v: VisitorRecord) -> VisitorView {
    VisitorView {
        verified: v.verified,
        last_seen: crate::storage::rfc3339(v.last_seen_at),
        browser: v.user_agent.as_deref().and_then(browser),
        local_time: v.utc_offset.and_then(|m| local_time(now(), m)),
        page_url: v.page_url,
        referrer: v.referrer,
        user_agent: v.user_agent,
        time_zone: v.time_zone,
        utc_offset: v.utc_offset,
    }
}

/// How an agent's messages are signed.
pub fn agent_author(agent: &AgentView) -> Author {
    Author::Agent {
        id: agent.id.clone(),
        name: app::types::shown_agent_name(&agent.display_name),
    }
}
