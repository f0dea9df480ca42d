//! Conversation queries: the only place the chat domain meets SeaORM.
//! Rows come out as domain values ([`Conversation`], [`MessageView`]).
//!
//! # Layout
//! - this file: conversations, messages (the group-commit batch), read
//!   seqs.
//! - `inbox`: the agents' list (filters, search, keyset pages), session
//!   views, assignment.
//! - `notes`: agents' private notes.
//! - `visitor`: the customer panel's facts and a person's other
//!   conversations.

use std::collections::{HashMap, HashSet};

use app::protocol::Party;
use app::types::{
    AgentId, AttachmentView, CustomerId, MessageView, Sender, SessionId, SessionStatus,
};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, SqlErr, Statement, TransactionTrait, Value,
};

use super::domain::Conversation;

mod fts5;
mod inbox;
mod notes;
mod stats;
mod visitor;
use crate::attachments::link::Links;
use crate::error::AppError;
use crate::storage::{agents, attachments, chat_sessions, messages, rfc3339, Db};
pub use visitor::VisitorRecord;

/// Who wrote a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Author {
    Customer,
    Agent {
        id: AgentId,
        name: String,
    },
    /// An automated response: neither a visitor's message nor an agent's
    /// reply (a conversation still waits for its first human answer).
    Bot,
}

/// A message to store.
#[derive(Clone, Debug)]
pub struct NewMessage {
    pub session_id: SessionId,
    pub author: Author,
    pub content: String,
    pub client_id: String,
    /// The stored file this message carries (its row is written first).
    pub attachment: Option<attachments::Model>,
}

impl NewMessage {
    /// What the inbox shows as the conversation's last message: the text,
    /// or the file's name for a file sent without a caption.
    fn preview(&self) -> String {
        match &self.attachment {
            Some(file) if self.content.is_empty() => format!("\u{1f4ce} {}", file.name),
            _ => self.content.clone(),
        }
    }
}

/// What storing one message did.
#[derive(Clone, Debug)]
pub struct Written {
    pub message: MessageView,
    /// The conversation after this batch.
    pub conversation: Conversation,
    /// The client_id was stored before: nothing new was written.
    pub replay: bool,
    /// This message reopened a closed conversation.
    pub reopened: bool,
}

/// Which messages of a conversation to read.
#[derive(Clone, Copy, Debug)]
pub struct Range {
    /// Only seqs above this.
    pub after: Option<i64>,
    /// Only seqs below this.
    pub before: Option<i64>,
    pub limit: u64,
    /// Read from the newest end (the latest `limit`) instead of the oldest.
    pub newest: bool,
}

/// Creating a conversation failed because its customer_id is taken.
pub struct CustomerIdTaken;

pub struct ChatStore {
    db: Db,
    links: Links,
    probe: SearchProbe,
}

/// How far SQLite's search reads conversations in inbox order before the
/// index collects every match instead (see `inbox.rs`). The defaults suit
/// every size; tests shrink them to walk every path on little data.
#[derive(Clone, Copy, Debug)]
pub struct SearchProbe {
    /// Conversations read per step.
    pub step: u64,
    /// Messages read per search at most.
    pub messages: i64,
    /// A search found in fewer messages is rare: the index answers it.
    pub rare: u64,
}

impl Default for SearchProbe {
    fn default() -> Self {
        Self {
            step: 200,
            messages: 20_000,
            rare: 2_000,
        }
    }
}

fn conversation(row: chat_sessions::Model) -> Conversation {
    Conversation {
        id: row.id.into(),
        customer_id: row.customer_id.into(),
        token_hash: row.token_hash,
        name: row.name,
        email: row.email,
        status: SessionStatus::parse(&row.status).unwrap_or(SessionStatus::Open),
        created_at: row.created_at,
        updated_at: row.updated_at,
        last_message: row.last_message,
        last_message_at: row.last_message_at,
        last_seq: row.last_seq,
        customer_read_seq: row.customer_read_seq,
        agent_read_seq: row.agent_read_seq,
        offline: row.offline,
        assignee_id: row.assignee_id.map(AgentId::from),
        last_customer_seq: row.last_customer_seq,
        last_agent_seq: row.last_agent_seq,
        first_customer_at: row.first_customer_at,
        first_agent_at: row.first_agent_at,
    }
}

fn message_view(
    m: messages::Model,
    agent_name: Option<String>,
    attachment: Option<AttachmentView>,
) -> MessageView {
    MessageView {
        id: m.id.into(),
        seq: m.seq,
        sender: Sender::parse(&m.sender).unwrap_or(Sender::Bot),
        content: m.content,
        created_at: rfc3339(m.created_at),
        client_id: m.client_id,
        agent_name,
        attachment: attachment.map(Box::new),
    }
}

impl ChatStore {
    pub fn new(db: Db, links: Links) -> Self {
        Self {
            db,
            links,
            probe: SearchProbe::default(),
        }
    }

    /// This store with other search limits.
    pub fn with_search_probe(self, probe: SearchProbe) -> Self {
        Self { probe, ..self }
    }

    pub async fn by_customer(
        &self,
        customer_id: &CustomerId,
    ) -> Result<Option<Conversation>, AppError> {
        Ok(chat_sessions::Entity::find()
            .filter(chat_sessions::Column::CustomerId.eq(customer_id.as_str()))
            .one(&self.db.read)
            .await?
            .map(conversation))
    }

    pub async fn by_id(&self, id: &SessionId) -> Result<Option<Conversation>, AppError> {
        Ok(chat_sessions::Entity::find_by_id(id.as_str())
            .one(&self.db.read)
            .await?
            .map(conversation))
    }

    pub async fn create(&self, c: &Conversation) -> Result<Result<(), CustomerIdTaken>, AppError> {
        let inserted = new_row(c).insert(&self.db.write).await;
        match inserted {
            Ok(_) => Ok(Ok(())),
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                Ok(Err(CustomerIdTaken))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Closes many conversations (the benchmark's seeding), 1,000 per
    /// statement.
    pub async fn close_many(&self, ids: &[SessionId]) -> Result<(), AppError> {
        for chunk in ids.chunks(1_000) {
            chat_sessions::Entity::update_many()
                .col_expr(
                    chat_sessions::Column::Status,
                    sea_orm::sea_query::Expr::value(SessionStatus::Closed.as_str()),
                )
                .filter(chat_sessions::Column::Id.is_in(chunk.iter().map(|id| id.as_str())))
                .exec(&self.db.write)
                .await?;
        }
        Ok(())
    }

    /// Stores many new conversations in one transaction (the benchmark's
    /// seeding; a taken customer_id fails the whole call).
    pub async fn create_many(&self, all: &[Conversation]) -> Result<(), AppError> {
        if all.is_empty() {
            return Ok(());
        }
        let txn = self.db.write.begin().await?;
        chat_sessions::Entity::insert_many(all.iter().map(new_row))
            .exec_without_returning(&txn)
            .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Sets name and email (only the given ones); answers the stored row.
    pub async fn update_contact(
        &self,
        id: &SessionId,
        name: Option<String>,
        email: Option<String>,
    ) -> Result<Option<Conversation>, AppError> {
        let mut update = chat_sessions::Entity::update_many()
            .filter(chat_sessions::Column::Id.eq(id.as_str()))
            .col_expr(
                chat_sessions::Column::UpdatedAt,
                Expr::value(crate::storage::now()),
            );
        if let Some(name) = name {
            update = update.col_expr(chat_sessions::Column::Name, Expr::value(name));
        }
        if let Some(email) = email {
            update = update.col_expr(chat_sessions::Column::Email, Expr::value(email));
        }
        update.exec(&self.db.write).await?;
        self.by_id_on_writer(id).await
    }

    /// Replaces the token hash (a verified identity's derived token);
    /// answers the stored row.
    pub async fn set_token_hash(
        &self,
        id: &SessionId,
        token_hash: &str,
    ) -> Result<Option<Conversation>, AppError> {
        chat_sessions::Entity::update_many()
            .filter(chat_sessions::Column::Id.eq(id.as_str()))
            .col_expr(chat_sessions::Column::TokenHash, Expr::value(token_hash))
            .exec(&self.db.write)
            .await?;
        self.by_id_on_writer(id).await
    }

    /// Marks a conversation as begun offline; answers the stored row.
    pub async fn mark_offline(&self, id: &SessionId) -> Result<Option<Conversation>, AppError> {
        chat_sessions::Entity::update_many()
            .filter(chat_sessions::Column::Id.eq(id.as_str()))
            .col_expr(chat_sessions::Column::Offline, Expr::value(true))
            .col_expr(
                chat_sessions::Column::UpdatedAt,
                Expr::value(crate::storage::now()),
            )
            .exec(&self.db.write)
            .await?;
        self.by_id_on_writer(id).await
    }

    /// Sets the status; answers the stored row.
    pub async fn set_status(
        &self,
        id: &SessionId,
        status: SessionStatus,
    ) -> Result<Option<Conversation>, AppError> {
        chat_sessions::Entity::update_many()
            .filter(chat_sessions::Column::Id.eq(id.as_str()))
            .col_expr(chat_sessions::Column::Status, Expr::value(status.as_str()))
            .col_expr(
                chat_sessions::Column::UpdatedAt,
                Expr::value(crate::storage::now()),
            )
            .exec(&self.db.write)
            .await?;
        self.by_id_on_writer(id).await
    }

    /// Reads a row through the writer, so it sees what was just written.
    async fn by_id_on_writer(&self, id: &SessionId) -> Result<Option<Conversation>, AppError> {
        Ok(chat_sessions::Entity::find_by_id(id.as_str())
            .one(&self.db.write)
            .await?
            .map(conversation))
    }

    /// Messages of a conversation in seq order, and whether more exist
    /// beyond the end read towards.
    pub async fn messages(
        &self,
        id: &SessionId,
        range: Range,
    ) -> Result<(Vec<MessageView>, bool), AppError> {
        let mut query =
            messages::Entity::find().filter(messages::Column::SessionId.eq(id.as_str()));
        if let Some(after) = range.after {
            query = query.filter(messages::Column::Seq.gt(after));
        }
        if let Some(before) = range.before {
            query = query.filter(messages::Column::Seq.lt(before));
        }
        query = if range.newest {
            query.order_by_desc(messages::Column::Seq)
        } else {
            query.order_by_asc(messages::Column::Seq)
        };
        let mut rows = query.limit(range.limit + 1).all(&self.db.read).await?;
        let has_more = rows.len() as u64 > range.limit;
        rows.truncate(range.limit as usize);
        if range.newest {
            rows.reverse();
        }
        Ok((self.views(rows).await?, has_more))
    }

    /// Deletes a conversation and, through the foreign keys, its messages,
    /// notes, visitor facts and attachment rows. Answers whether it existed.
    pub async fn delete(&self, id: &SessionId) -> Result<bool, AppError> {
        let done = chat_sessions::Entity::delete_by_id(id.as_str())
            .exec(&self.db.write)
            .await?;
        Ok(done.rows_affected > 0)
    }

    /// The message `session` holds under `client_id`, if any.
    pub async fn by_client_id(
        &self,
        session: &SessionId,
        client_id: &str,
    ) -> Result<Option<MessageView>, AppError> {
        let row = messages::Entity::find()
            .filter(messages::Column::SessionId.eq(session.as_str()))
            .filter(messages::Column::ClientId.eq(client_id))
            .one(&self.db.read)
            .await?;
        Ok(match row {
            Some(row) => self.views(vec![row]).await?.pop(),
            None => None,
        })
    }

    /// Message rows to views, with agents' names looked up in one query.
    async fn views(&self, rows: Vec<messages::Model>) -> Result<Vec<MessageView>, AppError> {
        let ids: HashSet<String> = rows.iter().filter_map(|m| m.agent_id.clone()).collect();
        let names: HashMap<String, String> = if ids.is_empty() {
            HashMap::new()
        } else {
            agents::Entity::find()
                .filter(agents::Column::Id.is_in(ids))
                .all(&self.db.read)
                .await?
                .into_iter()
                .map(|a| (a.id, app::types::shown_agent_name(&a.display_name)))
                .collect()
        };
        let mut files = self.attachments_of(&rows).await?;
        Ok(rows
            .into_iter()
            .map(|m| {
                let name = m.agent_id.as_ref().and_then(|id| names.get(id).cloned());
                let file = m.attachment_id.as_ref().and_then(|id| files.remove(id));
                message_view(m, name, file)
            })
            .collect())
    }

    /// The attachments `rows` carry, by id, with fresh links (one query,
    /// none when no row has one).
    async fn attachments_of(
        &self,
        rows: &[messages::Model],
    ) -> Result<HashMap<String, AttachmentView>, AppError> {
        let ids: HashSet<&str> = rows
            .iter()
            .filter_map(|m| m.attachment_id.as_deref())
            .collect();
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        Ok(attachments::Entity::find()
            .filter(attachments::Column::Id.is_in(ids))
            .all(&self.db.read)
            .await?
            .iter()
            .map(|a| (a.id.clone(), self.links.view(a)))
            .collect())
    }

    /// Stores a batch of messages in one transaction (group commit): one
    /// read of the conversations (locked, in id order, on PostgreSQL), one
    /// read of client_ids already stored, one multi-row update of the
    /// conversations, one multi-row insert. Seqs are handed out in batch
    /// order, gapless per conversation; a client_id stored before (or twice
    /// in the batch) answers the message stored first.
    pub async fn write_batch(
        &self,
        batch: &[NewMessage],
        at: DateTime<Utc>,
    ) -> Result<Vec<Result<Written, AppError>>, AppError> {
        let backend = self.db.backend();
        let txn = self.db.write.begin().await?;

        let mut ids: Vec<&str> = batch.iter().map(|m| m.session_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut lock = chat_sessions::Entity::find()
            .filter(chat_sessions::Column::Id.is_in(ids.iter().copied()))
            .order_by_asc(chat_sessions::Column::Id);
        if backend == DatabaseBackend::Postgres {
            lock = lock.lock_exclusive();
        }
        let mut sessions: HashMap<SessionId, Conversation> = lock
            .all(&txn)
            .await?
            .into_iter()
            .map(|row| (SessionId::from(row.id.clone()), conversation(row)))
            .collect();

        // `(session_id, client_id) IN (VALUES …)`: one index probe per pair
        // (two separate IN lists would probe every combination).
        let existing_query = messages::Entity::find().from_raw_sql(pairs_statement(backend, batch));
        let mut existing: HashMap<(String, String), messages::Model> = existing_query
            .all(&txn)
            .await?
            .into_iter()
            .filter_map(|m| {
                let key = (m.session_id.clone(), m.client_id.clone()?);
                Some((key, m))
            })
            .collect();

        enum Slot {
            Missing,
            Replay(messages::Model),
            New(usize),
        }
        let mut slots = Vec::with_capacity(batch.len());
        let mut rows: Vec<messages::Model> = Vec::new();
        let mut agent_names: HashMap<String, String> = HashMap::new();
        let mut reopened: HashSet<SessionId> = HashSet::new();
        let mut touched: Vec<SessionId> = Vec::new();
        for item in batch {
            let Some(session) = sessions.get_mut(&item.session_id) else {
                slots.push(Slot::Missing);
                continue;
            };
            let key = (item.session_id.to_string(), item.client_id.clone());
            if let Some(first) = existing.get(&key) {
                slots.push(Slot::Replay(first.clone()));
                continue;
            }
            session.last_seq += 1;
            session.last_message = Some(item.preview());
            session.last_message_at = Some(at);
            session.updated_at = at;
            if item.author == Author::Customer && session.status != SessionStatus::Open {
                session.status = SessionStatus::Open;
                reopened.insert(session.id.clone());
            }
            if !touched.contains(&session.id) {
                touched.push(session.id.clone());
            }
            let (sender, agent_id) = match &item.author {
                Author::Customer => {
                    session.last_customer_seq = session.last_seq;
                    session.first_customer_at.get_or_insert(at);
                    (Sender::Customer, None)
                }
                Author::Agent { id, name } => {
                    session.last_agent_seq = session.last_seq;
                    session.first_agent_at.get_or_insert(at);
                    agent_names.insert(id.to_string(), name.clone());
                    (Sender::Agent, Some(id.to_string()))
                }
                Author::Bot => (Sender::Bot, None),
            };
            let row = messages::Model {
                // Time-ordered (v7): new rows append to the primary-key
                // index instead of landing on a random page of it.
                id: uuid::Uuid::now_v7().to_string(),
                session_id: item.session_id.to_string(),
                seq: session.last_seq,
                sender: sender.as_str().to_string(),
                agent_id,
                content: item.content.clone(),
                client_id: Some(item.client_id.clone()),
                created_at: at,
                attachment_id: item.attachment.as_ref().map(|a| a.id.clone()),
            };
            existing.insert(key, row.clone());
            slots.push(Slot::New(rows.len()));
            rows.push(row);
        }

        if !rows.is_empty() {
            let update = bump_statement(backend, &touched, &sessions, &reopened, at);
            txn.execute_raw(update).await?;
            let models = rows
                .iter()
                .cloned()
                .map(|r| messages::ActiveModel::from(r).reset_all());
            messages::Entity::insert_many(models)
                .exec_without_returning(&txn)
                .await?;
        }
        txn.commit().await?;

        // Names of agents whose earlier messages are replayed.
        let missing_names: HashSet<String> = slots
            .iter()
            .filter_map(|s| match s {
                Slot::Replay(m) => m.agent_id.clone(),
                _ => None,
            })
            .filter(|id| !agent_names.contains_key(id))
            .collect();
        if !missing_names.is_empty() {
            for a in agents::Entity::find()
                .filter(agents::Column::Id.is_in(missing_names))
                .all(&self.db.read)
                .await?
            {
                agent_names.insert(a.id, app::types::shown_agent_name(&a.display_name));
            }
        }
        // Files of replayed messages (a new message's file is in its item).
        let replayed: Vec<messages::Model> = slots
            .iter()
            .filter_map(|s| match s {
                Slot::Replay(m) if m.attachment_id.is_some() => Some(m.clone()),
                _ => None,
            })
            .collect();
        let replayed_files = self.attachments_of(&replayed).await?;
        let named = |m: messages::Model, item: &NewMessage| {
            let name = m
                .agent_id
                .as_ref()
                .and_then(|id| agent_names.get(id).cloned());
            let file = match (&m.attachment_id, &item.attachment) {
                (Some(id), Some(new)) if *id == new.id => Some(self.links.view(new)),
                (Some(id), _) => replayed_files.get(id).cloned(),
                (None, _) => None,
            };
            message_view(m, name, file)
        };
        Ok(batch
            .iter()
            .zip(slots)
            .map(|(item, slot)| {
                let conversation = sessions.get(&item.session_id).cloned();
                match (slot, conversation) {
                    (Slot::New(i), Some(conversation)) => {
                        let row = rows[i].clone();
                        let reopened = reopened.contains(&item.session_id)
                            && row.seq == first_seq_of(&rows, &item.session_id);
                        Ok(Written {
                            message: named(row, item),
                            conversation,
                            replay: false,
                            reopened,
                        })
                    }
                    (Slot::Replay(row), Some(conversation)) => Ok(Written {
                        message: named(row, item),
                        conversation,
                        replay: true,
                        reopened: false,
                    }),
                    _ => Err(AppError::NotFound(
                        app::types::ErrorCode::UnknownSession,
                        "No such conversation.".into(),
                    )),
                }
            })
            .collect())
    }

    /// Raises one side's read seq to `seq` (capped at the conversation's
    /// `last_seq`) in one statement, so concurrent reads never lower it.
    /// Answers the new value when it grew, `None` when it did not (or no
    /// such conversation).
    pub async fn mark_read(
        &self,
        id: &SessionId,
        by: Party,
        seq: i64,
    ) -> Result<Option<i64>, AppError> {
        let statement = read_statement(self.db.backend(), id, by, seq);
        let Some(row) = self.db.write.query_one_raw(statement).await? else {
            return Ok(None);
        };
        Ok(Some(row.try_get::<i64>("", "read_seq")?))
    }

    /// Answers whether the database can be reached.
    pub async fn ping(&self) -> Result<(), AppError> {
        self.db.read.ping().await?;
        Ok(())
    }
}

/// `UPDATE … SET <side>_read_seq = min(seq, last_seq) WHERE` it grows,
/// `RETURNING` the new value (SQLite ≥ 3.35 and PostgreSQL alike).
fn read_statement(backend: DatabaseBackend, id: &SessionId, by: Party, seq: i64) -> Statement {
    // The column comes from a fixed enum, never from input.
    let column = match by {
        Party::Customer => "customer_read_seq",
        Party::Agent => "agent_read_seq",
    };
    let p = |n: usize| match backend {
        DatabaseBackend::Postgres => format!("${n}"),
        _ => "?".to_string(),
    };
    let (a, b, c, d) = (p(1), p(2), p(3), p(4));
    let sql = format!(
        "UPDATE chat_sessions SET {column} = CASE WHEN {a} < last_seq THEN {b} ELSE last_seq END \
         WHERE id = {c} AND {column} < last_seq AND {column} < {d} \
         RETURNING {column} AS read_seq"
    );
    let values: Vec<Value> = vec![seq.into(), seq.into(), id.to_string().into(), seq.into()];
    Statement::from_sql_and_values(backend, sql, values)
}

/// The lowest seq written in this batch for a conversation.
fn first_seq_of(rows: &[messages::Model], session: &SessionId) -> i64 {
    rows.iter()
        .filter(|r| session == r.session_id.as_str())
        .map(|r| r.seq)
        .min()
        .unwrap_or(0)
}

/// The stored messages whose `(session_id, client_id)` a batch names.
fn pairs_statement(backend: DatabaseBackend, batch: &[NewMessage]) -> Statement {
    let mut sql = String::from(
        "SELECT id, session_id, seq, sender, agent_id, content, client_id, created_at \
         FROM messages WHERE (session_id, client_id) IN (VALUES ",
    );
    let mut values: Vec<Value> = Vec::with_capacity(batch.len() * 2);
    for (i, item) in batch.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        match backend {
            DatabaseBackend::Postgres => sql.push_str(&format!("(${}, ${})", 2 * i + 1, 2 * i + 2)),
            _ => sql.push_str("(?, ?)"),
        }
        values.push(item.session_id.to_string().into());
        values.push(item.client_id.clone().into());
    }
    sql.push(')');
    Statement::from_sql_and_values(backend, sql, values)
}

/// One `UPDATE … FROM (VALUES …)` for every conversation a batch touched:
/// its new last_seq (and each side's), preview, times and status, as
/// computed under the lock.
fn bump_statement(
    backend: DatabaseBackend,
    touched: &[SessionId],
    sessions: &HashMap<SessionId, Conversation>,
    reopened: &HashSet<SessionId>,
    at: DateTime<Utc>,
) -> Statement {
    const COLUMNS: usize = 9;
    let mut sql = String::from(
        "WITH v(id, last_seq, last_message, at, reopen, customer_seq, agent_seq, \
         first_customer, first_agent) AS (VALUES ",
    );
    let mut values: Vec<Value> = Vec::with_capacity(touched.len() * COLUMNS);
    let mut n = 0;
    let mut param = |sql: &mut String| {
        n += 1;
        match backend {
            DatabaseBackend::Postgres => sql.push_str(&format!("${n}")),
            _ => sql.push('?'),
        }
    };
    for (i, id) in touched.iter().enumerate() {
        let Some(s) = sessions.get(id) else { continue };
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for j in 0..COLUMNS {
            if j > 0 {
                sql.push_str(", ");
            }
            param(&mut sql);
        }
        sql.push(')');
        values.push(id.to_string().into());
        values.push(s.last_seq.into());
        values.push(s.last_message.clone().into());
        values.push(at.into());
        values.push(i32::from(reopened.contains(id)).into());
        values.push(s.last_customer_seq.into());
        values.push(s.last_agent_seq.into());
        values.push(s.first_customer_at.into());
        values.push(s.first_agent_at.into());
    }
    sql.push_str(
        ") UPDATE chat_sessions SET last_seq = v.last_seq, last_message = v.last_message, \
         last_message_at = v.at, updated_at = v.at, \
         last_customer_seq = v.customer_seq, last_agent_seq = v.agent_seq, \
         first_customer_at = v.first_customer, first_agent_at = v.first_agent, \
         status = CASE WHEN v.reopen = 1 THEN 'open' ELSE chat_sessions.status END \
         FROM v WHERE chat_sessions.id = v.id",
    );
    Statement::from_sql_and_values(backend, sql, values)
}

/// A new conversation's row.
fn new_row(c: &Conversation) -> chat_sessions::ActiveModel {
    chat_sessions::ActiveModel {
        id: Set(c.id.to_string()),
        customer_id: Set(c.customer_id.to_string()),
        token_hash: Set(c.token_hash.clone()),
        name: Set(c.name.clone()),
        email: Set(c.email.clone()),
        status: Set(c.status.as_str().to_string()),
        created_at: Set(c.created_at),
        updated_at: Set(c.updated_at),
        last_message: Set(None),
        last_message_at: Set(None),
        last_seq: Set(0),
        customer_read_seq: Set(0),
        agent_read_seq: Set(0),
        offline: Set(c.offline),
        assignee_id: Set(c.assignee_id.as_ref().map(ToString::to_string)),
        last_customer_seq: Set(0),
        last_agent_seq: Set(0),
        first_customer_at: Set(None),
        first_agent_at: Set(None),
    }
}
