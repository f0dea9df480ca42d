//! Conversations: starting and resuming them, storing messages exactly once
//! in order, reading history, and announcing every change on the bus.
//!
//! # Layout
//! - this file: [`ChatService`], the domain logic.
//! - `domain`: parsed input values.
//! - `routes`: the public widget HTTP API.
//! - `socket`: the visitor WebSocket.

use std::collections::HashMap;
use std::sync::Arc;

use app::types::{
    AgentView, ConversationView, DashboardEvent, MessageView, Sender, SessionStatus, SessionView,
};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, SqlErr, TransactionTrait,
};
use serde::{Deserialize, Serialize};

use crate::auth::{random_token, TokenHasher};
use crate::bus::{Bus, Published};
use crate::error::AppError;
use crate::storage::{agents, chat_sessions, messages, now, rfc3339};

pub mod domain;
pub mod routes;
pub mod socket;

use domain::{parse_email, parse_name, ClientId, CustomerId, MessageText};

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
    pub customer_id: String,
    pub token: String,
    pub session_id: String,
    pub status: SessionStatus,
    pub messages: Vec<MessageView>,
}

/// Who is writing a message.
#[derive(Clone, Copy, Debug)]
pub enum Author<'a> {
    Customer,
    Agent(&'a AgentView),
}

/// The conversation domain. Cheap to share: hold it in an `Arc`.
pub struct ChatService {
    db: DatabaseConnection,
    bus: Arc<dyn Bus>,
    hasher: TokenHasher,
    max_chars: usize,
}

/// How many conversations the dashboard list shows at most.
const LIST_LIMIT: u64 = 500;

impl ChatService {
    pub fn new(
        db: DatabaseConnection,
        bus: Arc<dyn Bus>,
        hasher: TokenHasher,
        max_chars: usize,
    ) -> Self {
        Self {
            db,
            bus,
            hasher,
            max_chars,
        }
    }

    pub fn bus(&self) -> &Arc<dyn Bus> {
        &self.bus
    }

    pub fn max_chars(&self) -> usize {
        self.max_chars
    }

    /// Starts a conversation, or resumes one when its customer_id and token
    /// match. A customer_id alone grants nothing.
    pub async fn start(&self, req: StartRequest) -> Result<StartResponse, AppError> {
        let name = parse_name(req.name.as_deref())?;
        let email = parse_email(req.email.as_deref())?;
        let customer_id = match req.customer_id.as_deref().filter(|c| !c.is_empty()) {
            Some(raw) => CustomerId::parse(raw)?,
            None => CustomerId::generate(),
        };
        if let Some(session) = self.find_by_customer(customer_id.as_str()).await? {
            let token = req
                .token
                .as_deref()
                .filter(|t| !t.is_empty())
                .ok_or_else(|| {
                    AppError::Unauthorized(
                        "missing_token",
                        "This conversation exists; resuming it needs its token.".into(),
                    )
                })?;
            if !self.hasher.matches(token, &session.token_hash) {
                return Err(invalid_token());
            }
            let session = self.update_contact(session, name, email).await?;
            let messages = self.history(&session.id, 0).await?;
            return Ok(StartResponse {
                customer_id: session.customer_id,
                token: token.to_string(),
                session_id: session.id,
                status: parse_status(&session.status),
                messages,
            });
        }
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
        let inserted = chat_sessions::ActiveModel {
            id: Set(uuid::Uuid::new_v4().to_string()),
            customer_id: Set(customer_id.as_str().to_string()),
            token_hash: Set(self.hasher.hash(&token)),
            name: Set(name),
            email: Set(email),
            status: Set(SessionStatus::Open.as_str().to_string()),
            created_at: Set(at),
            updated_at: Set(at),
            last_message: Set(None),
            last_message_at: Set(None),
            last_seq: Set(0),
        }
        .insert(&self.db)
        .await;
        let session = match inserted {
            Ok(s) => s,
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                return Err(AppError::Conflict(
                    "customer_id_taken",
                    "That customer_id is in use; resuming it needs its token.".into(),
                ))
            }
            Err(e) => return Err(e.into()),
        };
        let view = session_view(&session);
        self.publish(DashboardEvent::Session {
            session: view.clone(),
        })
        .await;
        Ok(StartResponse {
            customer_id: session.customer_id,
            token,
            session_id: session.id,
            status: view.status,
            messages: Vec::new(),
        })
    }

    async fn update_contact(
        &self,
        session: chat_sessions::Model,
        name: Option<String>,
        email: Option<String>,
    ) -> Result<chat_sessions::Model, AppError> {
        let name_changed = name.is_some() && name != session.name;
        let email_changed = email.is_some() && email != session.email;
        if !name_changed && !email_changed {
            return Ok(session);
        }
        let mut active: chat_sessions::ActiveModel = session.into();
        if name_changed {
            active.name = Set(name);
        }
        if email_changed {
            active.email = Set(email);
        }
        let session = active.update(&self.db).await?;
        self.publish(DashboardEvent::Session {
            session: session_view(&session),
        })
        .await;
        Ok(session)
    }

    pub async fn find_by_customer(
        &self,
        customer_id: &str,
    ) -> Result<Option<chat_sessions::Model>, AppError> {
        Ok(chat_sessions::Entity::find()
            .filter(chat_sessions::Column::CustomerId.eq(customer_id))
            .one(&self.db)
            .await?)
    }

    /// The conversation a visitor's customer_id and token open.
    pub async fn authenticate(
        &self,
        customer_id: &str,
        token: &str,
    ) -> Result<chat_sessions::Model, AppError> {
        let session = self.find_by_customer(customer_id).await?.ok_or_else(|| {
            AppError::NotFound(
                "unknown_customer",
                "No conversation has that customer_id.".into(),
            )
        })?;
        if !self.hasher.matches(token, &session.token_hash) {
            return Err(invalid_token());
        }
        Ok(session)
    }

    pub async fn session(&self, session_id: &str) -> Result<chat_sessions::Model, AppError> {
        chat_sessions::Entity::find_by_id(session_id.to_string())
            .one(&self.db)
            .await?
            .ok_or_else(|| AppError::NotFound("unknown_session", "No such conversation.".into()))
    }

    /// Stores a message once: the same `client_id` again answers the message
    /// already stored. Seqs are handed out under the conversation row's
    /// write lock, so they are gapless and strictly increasing.
    pub async fn post(
        &self,
        session: &chat_sessions::Model,
        author: Author<'_>,
        content: &str,
        client_id: Option<&str>,
    ) -> Result<MessageView, AppError> {
        let text = MessageText::parse(content, self.max_chars)?;
        let client_id = match client_id {
            Some(raw) => ClientId::parse(raw)?,
            None => ClientId::generate(),
        };
        if let Some(existing) = self
            .find_by_client_id(&self.db, &session.id, &client_id)
            .await?
        {
            return self.view_one(existing).await;
        }
        let at = now();
        let reopen =
            matches!(author, Author::Customer) && session.status != SessionStatus::Open.as_str();
        let txn = self.db.begin().await?;
        let mut bump = chat_sessions::Entity::update_many()
            .col_expr(
                chat_sessions::Column::LastSeq,
                Expr::col(chat_sessions::Column::LastSeq).add(1),
            )
            .col_expr(chat_sessions::Column::UpdatedAt, Expr::value(at))
            .col_expr(chat_sessions::Column::LastMessageAt, Expr::value(at))
            .col_expr(
                chat_sessions::Column::LastMessage,
                Expr::value(text.as_str().to_string()),
            );
        if reopen {
            bump = bump.col_expr(
                chat_sessions::Column::Status,
                Expr::value(SessionStatus::Open.as_str()),
            );
        }
        bump.filter(chat_sessions::Column::Id.eq(session.id.as_str()))
            .exec(&txn)
            .await?;
        // Under the lock now: a concurrent retry of the same client_id that
        // committed first is seen here.
        if let Some(existing) = self
            .find_by_client_id(&txn, &session.id, &client_id)
            .await?
        {
            txn.rollback().await?;
            return self.view_one(existing).await;
        }
        let fresh = chat_sessions::Entity::find_by_id(session.id.clone())
            .one(&txn)
            .await?
            .ok_or_else(|| AppError::NotFound("unknown_session", "No such conversation.".into()))?;
        let (sender, agent_id, agent_name) = match author {
            Author::Customer => (Sender::Customer, None, None),
            Author::Agent(agent) => (
                Sender::Agent,
                Some(agent.id.clone()),
                Some(agent.username.clone()),
            ),
        };
        let stored = messages::ActiveModel {
            id: Set(uuid::Uuid::new_v4().to_string()),
            session_id: Set(session.id.clone()),
            seq: Set(fresh.last_seq),
            sender: Set(sender.as_str().to_string()),
            agent_id: Set(agent_id),
            content: Set(text.as_str().to_string()),
            client_id: Set(Some(client_id.as_str().to_string())),
            created_at: Set(at),
        }
        .insert(&txn)
        .await?;
        txn.commit().await?;

        let view = message_view(stored, agent_name);
        self.publish(DashboardEvent::Message {
            session_id: fresh.id.clone(),
            customer_id: fresh.customer_id.clone(),
            message: view.clone(),
        })
        .await;
        if reopen {
            self.publish(DashboardEvent::Session {
                session: session_view(&fresh),
            })
            .await;
        }
        Ok(view)
    }

    async fn find_by_client_id(
        &self,
        conn: &impl sea_orm::ConnectionTrait,
        session_id: &str,
        client_id: &ClientId,
    ) -> Result<Option<messages::Model>, AppError> {
        Ok(messages::Entity::find()
            .filter(messages::Column::SessionId.eq(session_id))
            .filter(messages::Column::ClientId.eq(client_id.as_str()))
            .one(conn)
            .await?)
    }

    /// Messages with seq greater than `after`, in seq order.
    pub async fn history(
        &self,
        session_id: &str,
        after: i64,
    ) -> Result<Vec<MessageView>, AppError> {
        let rows = messages::Entity::find()
            .filter(messages::Column::SessionId.eq(session_id))
            .filter(messages::Column::Seq.gt(after))
            .order_by_asc(messages::Column::Seq)
            .all(&self.db)
            .await?;
        self.views(rows).await
    }

    async fn view_one(&self, row: messages::Model) -> Result<MessageView, AppError> {
        Ok(self.views(vec![row]).await?.remove(0))
    }

    /// Message rows to views, with agents' names looked up in one query.
    async fn views(&self, rows: Vec<messages::Model>) -> Result<Vec<MessageView>, AppError> {
        let mut ids: Vec<String> = rows.iter().filter_map(|m| m.agent_id.clone()).collect();
        ids.sort();
        ids.dedup();
        let names: HashMap<String, String> = if ids.is_empty() {
            HashMap::new()
        } else {
            agents::Entity::find()
                .filter(agents::Column::Id.is_in(ids))
                .all(&self.db)
                .await?
                .into_iter()
                .map(|a| (a.id, a.username))
                .collect()
        };
        Ok(rows
            .into_iter()
            .map(|m| {
                let name = m.agent_id.as_ref().and_then(|id| names.get(id).cloned());
                message_view(m, name)
            })
            .collect())
    }

    /// Conversations, newest activity first.
    pub async fn list_sessions(
        &self,
        status: Option<SessionStatus>,
    ) -> Result<Vec<SessionView>, AppError> {
        let mut query = chat_sessions::Entity::find();
        if let Some(status) = status {
            query = query.filter(chat_sessions::Column::Status.eq(status.as_str()));
        }
        Ok(query
            .order_by_desc(chat_sessions::Column::UpdatedAt)
            .limit(LIST_LIMIT)
            .all(&self.db)
            .await?
            .iter()
            .map(session_view)
            .collect())
    }

    pub async fn conversation(&self, session_id: &str) -> Result<ConversationView, AppError> {
        let session = self.session(session_id).await?;
        let messages = self.history(&session.id, 0).await?;
        Ok(ConversationView {
            session: session_view(&session),
            messages,
        })
    }

    pub async fn set_status(
        &self,
        session_id: &str,
        status: SessionStatus,
    ) -> Result<SessionView, AppError> {
        let session = self.session(session_id).await?;
        if session.status == status.as_str() {
            return Ok(session_view(&session));
        }
        let mut active: chat_sessions::ActiveModel = session.into();
        active.status = Set(status.as_str().to_string());
        active.updated_at = Set(now());
        let session = active.update(&self.db).await?;
        let view = session_view(&session);
        self.publish(DashboardEvent::Session {
            session: view.clone(),
        })
        .await;
        Ok(view)
    }

    /// Announces an event. What is stored is never lost: if the bus fails,
    /// this instance's sockets still get it, and other instances' clients
    /// catch up by seq when they resume.
    async fn publish(&self, event: DashboardEvent) {
        if let Err(e) = self.bus.publish(event.clone()).await {
            tracing::warn!(error.cause = %e, "bus publish failed; delivering locally");
            self.bus.hub().deliver(Published::new(event));
        }
    }
}

fn invalid_token() -> AppError {
    AppError::Unauthorized(
        "invalid_token",
        "The token does not open this conversation.".into(),
    )
}

fn parse_status(raw: &str) -> SessionStatus {
    SessionStatus::parse(raw).unwrap_or(SessionStatus::Open)
}

pub fn session_view(s: &chat_sessions::Model) -> SessionView {
    SessionView {
        id: s.id.clone(),
        customer_id: s.customer_id.clone(),
        name: s.name.clone(),
        email: s.email.clone(),
        status: parse_status(&s.status),
        created_at: rfc3339(s.created_at),
        updated_at: rfc3339(s.updated_at),
        last_message: s.last_message.clone(),
        last_message_at: s.last_message_at.map(rfc3339),
        last_seq: s.last_seq,
    }
}

fn message_view(m: messages::Model, agent_name: Option<String>) -> MessageView {
    MessageView {
        id: m.id,
        seq: m.seq,
        sender: Sender::parse(&m.sender).unwrap_or(Sender::Bot),
        content: m.content,
        created_at: rfc3339(m.created_at),
        client_id: m.client_id,
        agent_name,
    }
}
