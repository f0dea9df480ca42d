//! The agents' side of conversations: the inbox (filters, full-text search,
//! keyset pages), session views with what the row alone does not hold
//! (assignee's name, unread count), and assignment.

use std::collections::{HashMap, HashSet};

use app::types::{AgentId, Sender, SessionId, SessionView};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Statement,
};

use futures_util::TryStreamExt;

use super::fts5::{Matcher, Words};
use super::{conversation, ChatStore};
use crate::chat::domain::Conversation;
use crate::chat::inbox::{Assigned, InboxQuery, ListCursor, SearchTerms};
use crate::error::AppError;
use crate::storage::{agents, chat_sessions, messages};

/// How many messages after the agents' read seq an unread count looks
/// at: a longer backlog counts as at most this many.
pub const UNREAD_WINDOW: i64 = 1000;

pub use app::types::staff_name;

/// A conversation matches a search when its visitor's name or e-mail does,
/// or any one of its messages does (every word in that one field or
/// message, each as a prefix).
fn search_condition(backend: DatabaseBackend, terms: &SearchTerms) -> Expr {
    match backend {
        DatabaseBackend::Postgres => {
            let q = terms.tsquery();
            Expr::cust_with_values(
                "(chat_sessions.search @@ to_tsquery('simple', $1) \
                 OR chat_sessions.id IN (SELECT m.session_id FROM messages m \
                 WHERE m.search @@ to_tsquery('simple', $1)))",
                [q],
            )
        }
        _ => {
            let q = terms.fts5();
            Expr::cust_with_values(
                "(chat_sessions.rowid IN (SELECT rowid FROM chat_sessions_fts \
                 WHERE chat_sessions_fts MATCH ?) \
                 OR chat_sessions.id IN (SELECT session_id FROM messages WHERE rowid IN \
                 (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)))",
                [q.clone(), q],
            )
        }
    }
}

/// PostgreSQL's per-conversation form of [`search_condition`]: the
/// conversation's own row, then its messages by `session_id`. `OFFSET 0`
/// keeps the planner from turning the `EXISTS` into one hashed set of
/// every matching message (which a frequent word makes large): walking
/// the inbox in order, a frequent word fills a page after a few probes.
fn per_conversation_search(terms: &SearchTerms) -> Expr {
    Expr::cust_with_values(
        "(chat_sessions.search @@ to_tsquery('simple', $1) \
         OR EXISTS (SELECT 1 FROM messages m WHERE m.session_id = chat_sessions.id \
         AND m.search @@ to_tsquery('simple', $1) OFFSET 0))",
        [terms.tsquery()],
    )
}

/// How many conversations, in inbox order, a PostgreSQL search probes one
/// by one before it falls back to collecting every match. Small: a word in
/// most conversations fills a page within a few dozen, and a rare word
/// pays for these probes (≈ 10 µs each) before the fallback.
const SEARCH_WINDOW: u64 = 300;

/// A page of the inbox and where the next one starts.
type Page = (Vec<Conversation>, Option<ListCursor>);

/// `Some(true)`: `left > right`; `Some(false)`: `left <= right`.
fn compared(
    flag: Option<bool>,
    left: chat_sessions::Column,
    right: chat_sessions::Column,
) -> Option<Expr> {
    let (left, right) = (Expr::col(left), Expr::col(right));
    flag.map(|yes| if yes { left.gt(right) } else { left.lte(right) })
}

impl ChatStore {
    /// A page of the inbox, newest activity first: keyset paging on
    /// `(updated_at, id)` descending, filters and search applied before
    /// the limit. Answers the rows and, when more follow, where the next
    /// page starts.
    ///
    /// A search on PostgreSQL first probes the next [`SEARCH_WINDOW`]
    /// conversations one by one, in inbox order ([`per_conversation_search`],
    /// stopping at a full page); when they hold a full page, or are all
    /// that is left, that is the answer (no match beyond them comes before
    /// them). Otherwise — a rare word — it collects every match
    /// ([`search_condition`]). A search on SQLite walks the inbox in order
    /// too, matching messages in Rust ([`Self::probe_sqlite`]), and
    /// collects every match when that would cost more.
    pub async fn inbox(&self, query: &InboxQuery) -> Result<Page, AppError> {
        use chat_sessions::Column as C;
        let backend = self.db.backend();
        if let (Some(terms), DatabaseBackend::Sqlite) = (&query.search, backend) {
            if let Some(page) = self.probe_sqlite(query, terms).await? {
                return Ok(page);
            }
        }
        if let (Some(terms), DatabaseBackend::Postgres) = (&query.search, backend) {
            // Where the window ends: the SEARCH_WINDOW-th candidate.
            let edge: Option<(DateTime<Utc>, String)> = Self::filtered(query, query.after.as_ref())
                .select_only()
                .column(C::UpdatedAt)
                .column(C::Id)
                .order_by_desc(C::UpdatedAt)
                .order_by_desc(C::Id)
                .offset(SEARCH_WINDOW - 1)
                .limit(1)
                .into_tuple()
                .one(&self.db.read)
                .await?;
            let mut probed =
                Self::filtered(query, query.after.as_ref()).filter(per_conversation_search(terms));
            if let Some((at, id)) = &edge {
                // The plain `>=` is what PostgreSQL can bound its index
                // scan with (it reads the `OR` row by row, to the end).
                probed = probed.filter(C::UpdatedAt.gte(*at)).filter(
                    Condition::any().add(C::UpdatedAt.gt(*at)).add(
                        Condition::all()
                            .add(C::UpdatedAt.eq(*at))
                            .add(C::Id.gte(id.as_str())),
                    ),
                );
            }
            let (rows, next) = self.page(probed, query.limit).await?;
            // A full page, or every candidate probed (no edge: fewer than
            // the window are left): that is the answer.
            if next.is_some() || edge.is_none() {
                return Ok((rows, next));
            }
        }
        let mut select = Self::filtered(query, query.after.as_ref());
        if let Some(terms) = &query.search {
            select = select.filter(search_condition(backend, terms));
        }
        self.page(select, query.limit).await
    }

    /// SQLite's search, for a word in many conversations: walks the
    /// inbox in order, `SearchProbe::step` conversations at a time,
    /// reads their messages and asks of each what `MATCH` would answer
    /// ([`Matcher`], SQLite's own tokenizer), and stops at a full page.
    /// (FTS5 cannot answer "does this conversation hold the word" cheaply:
    /// a prefix query reads every matching word's whole list.)
    ///
    /// `None` — the index answers instead, collecting every match — when
    /// the first step found less than a quarter of a page and the word is
    /// rare (fewer than `SearchProbe::rare` messages hold it), or when the next
    /// conversation's messages would pass `SearchProbe::messages` read.
    async fn probe_sqlite(
        &self,
        query: &InboxQuery,
        terms: &SearchTerms,
    ) -> Result<Option<Page>, AppError> {
        use chat_sessions::Column as C;
        let matcher = Matcher::new(terms);
        let mut words = Words::default();
        let mut found: Vec<Conversation> = Vec::new();
        let mut after = query.after.clone();
        let probe = self.probe;
        let mut budget = probe.messages;
        for step in 0.. {
            // Asking the index how rare the search is reads its prefix
            // lists: worth it only when the first step found few.
            let few = (found.len() as u64).saturating_mul(4) <= query.limit;
            if step == 1 && few && self.rare_on_sqlite(terms).await? {
                return Ok(None);
            }
            let rows: Vec<chat_sessions::Model> = Self::filtered(query, after.as_ref())
                .order_by_desc(C::UpdatedAt)
                .order_by_desc(C::Id)
                .limit(probe.step)
                .all(&self.db.read)
                .await?;
            let last_step = (rows.len() as u64) < probe.step;
            let mut fits = 0;
            for row in &rows {
                if row.last_seq > budget {
                    break;
                }
                budget -= row.last_seq;
                fits += 1;
            }
            let probed = &rows[..fits];
            let by_contact: Vec<bool> = probed
                .iter()
                .map(|r| matcher.columns(&mut words, &[r.name.as_deref(), r.email.as_deref()]))
                .collect();
            let ask: Vec<&str> = probed
                .iter()
                .zip(&by_contact)
                .filter(|(_, by_contact)| !**by_contact)
                .map(|(r, _)| r.id.as_str())
                .collect();
            let mut held: HashSet<String> = HashSet::new();
            if !ask.is_empty() {
                // One row at a time: a step holds one message in memory.
                let mut texts = messages::Entity::find()
                    .select_only()
                    .column(messages::Column::SessionId)
                    .column(messages::Column::Content)
                    .filter(messages::Column::SessionId.is_in(ask))
                    .into_tuple::<(String, String)>()
                    .stream(&self.db.read)
                    .await?;
                while let Some((session, text)) = texts.try_next().await? {
                    if !held.contains(&session) && matcher.text(&mut words, &text) {
                        held.insert(session);
                    }
                }
            }
            for (row, by_contact) in probed.iter().zip(by_contact) {
                if by_contact || held.contains(&row.id) {
                    found.push(conversation(row.clone()));
                }
            }
            if found.len() as u64 > query.limit {
                break;
            }
            if fits < rows.len() {
                return Ok(None);
            }
            if last_step {
                break;
            }
            after = probed.last().map(|r| ListCursor {
                updated_at: r.updated_at,
                id: r.id.clone().into(),
            });
        }
        let more = found.len() as u64 > query.limit;
        found.truncate(query.limit as usize);
        let next = more.then(|| found.last()).flatten().map(|last| ListCursor {
            updated_at: last.updated_at,
            id: last.id.clone(),
        });
        Ok(Some((found, next)))
    }

    /// Whether fewer than `SearchProbe::rare` messages match (the index
    /// stops counting there).
    async fn rare_on_sqlite(&self, terms: &SearchTerms) -> Result<bool, AppError> {
        let row = self
            .db
            .read
            .query_one_raw(Statement::from_sql_and_values(
                DatabaseBackend::Sqlite,
                "SELECT count(*) FROM (SELECT 1 FROM messages_fts WHERE messages_fts MATCH ? LIMIT ?)",
                [terms.fts5().into(), self.probe.rare.into()],
            ))
            .await?;
        let matches: i64 = match row {
            Some(row) => row.try_get_by_index(0)?,
            None => 0,
        };
        Ok((matches as u64) < self.probe.rare)
    }

    /// The inbox's filters and the cursor `after`, without the search.
    fn filtered(
        query: &InboxQuery,
        after: Option<&ListCursor>,
    ) -> sea_orm::Select<chat_sessions::Entity> {
        use chat_sessions::Column as C;
        let mut select = chat_sessions::Entity::find();
        if let Some(status) = query.status {
            select = select.filter(C::Status.eq(status.as_str()));
        }
        select = match &query.assigned {
            Assigned::All => select,
            Assigned::Nobody => select.filter(C::AssigneeId.is_null()),
            Assigned::Agent(id) => select.filter(C::AssigneeId.eq(id.as_str())),
        };
        if let Some(unread) = compared(query.unread, C::LastCustomerSeq, C::AgentReadSeq) {
            select = select.filter(unread);
        }
        if let Some(waiting) = compared(query.waiting, C::LastCustomerSeq, C::LastAgentSeq) {
            select = select.filter(waiting);
        }
        if let Some(offline) = query.offline {
            select = select.filter(C::Offline.eq(offline));
        }
        if let Some(c) = after {
            // The plain `<=` bounds PostgreSQL's index scan (the `OR`
            // alone is read row by row from the top).
            select = select.filter(C::UpdatedAt.lte(c.updated_at)).filter(
                Condition::any().add(C::UpdatedAt.lt(c.updated_at)).add(
                    Condition::all()
                        .add(C::UpdatedAt.eq(c.updated_at))
                        .add(C::Id.lt(c.id.as_str())),
                ),
            );
        }
        select
    }

    /// The first `limit` rows of `select` in inbox order, and the cursor of
    /// the next page when there is more.
    async fn page(
        &self,
        select: sea_orm::Select<chat_sessions::Entity>,
        limit: u64,
    ) -> Result<Page, AppError> {
        use chat_sessions::Column as C;
        let mut rows: Vec<Conversation> = select
            .order_by_desc(C::UpdatedAt)
            .order_by_desc(C::Id)
            .limit(limit + 1)
            .all(&self.db.read)
            .await?
            .into_iter()
            .map(conversation)
            .collect();
        let more = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        let next = more.then(|| rows.last()).flatten().map(|last| ListCursor {
            updated_at: last.updated_at,
            id: last.id.clone(),
        });
        Ok((rows, next))
    }

    /// Views of conversations as agents see them, in the same order: two
    /// queries at most, whatever the number (the assignees' names; the
    /// unread counts of those with any).
    pub async fn session_views(&self, rows: &[Conversation]) -> Result<Vec<SessionView>, AppError> {
        let assignees: Vec<&str> = rows
            .iter()
            .filter_map(|c| c.assignee_id.as_ref().map(AgentId::as_str))
            .collect();
        let names = self.staff_names(&assignees).await?;
        let unread = self.unread_counts(rows).await?;
        Ok(rows
            .iter()
            .map(|c| {
                let name = c
                    .assignee_id
                    .as_ref()
                    .and_then(|id| names.get(id.as_str()).cloned());
                c.view(name, unread.get(c.id.as_str()).copied().unwrap_or(0))
            })
            .collect())
    }

    /// [`Self::session_views`] of one conversation.
    pub async fn session_view(&self, row: &Conversation) -> Result<SessionView, AppError> {
        let mut views = self.session_views(std::slice::from_ref(row)).await?;
        views
            .pop()
            .ok_or_else(|| AppError::internal("session view", "no view for a row"))
    }

    /// Agents' names (as agents see them) by id.
    pub(super) async fn staff_names(
        &self,
        ids: &[&str],
    ) -> Result<HashMap<String, String>, AppError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        Ok(agents::Entity::find()
            .filter(agents::Column::Id.is_in(ids.iter().copied()))
            .all(&self.db.read)
            .await?
            .into_iter()
            .map(|a| {
                let name = staff_name(&a.display_name, &a.username);
                (a.id, name)
            })
            .collect())
    }

    /// Visitor messages above the agents' read seq, per conversation (only
    /// those that have any are counted; one grouped query). Each count
    /// reads at most the [`UNREAD_WINDOW`] messages after the read seq, so
    /// a page costs at most that many index entries per conversation.
    async fn unread_counts(&self, rows: &[Conversation]) -> Result<HashMap<String, i64>, AppError> {
        let mut any = Condition::any();
        let mut counted = 0;
        for c in rows.iter().filter(|c| c.has_unread()) {
            any = any.add(
                Condition::all()
                    .add(messages::Column::SessionId.eq(c.id.as_str()))
                    .add(messages::Column::Seq.gt(c.agent_read_seq))
                    .add(messages::Column::Seq.lte(c.agent_read_seq.saturating_add(UNREAD_WINDOW))),
            );
            counted += 1;
        }
        if counted == 0 {
            return Ok(HashMap::new());
        }
        let counts: Vec<(String, i64)> = messages::Entity::find()
            .select_only()
            .column(messages::Column::SessionId)
            .column_as(messages::Column::Id.count(), "unread")
            .filter(messages::Column::Sender.eq(Sender::Customer.as_str()))
            .filter(any)
            .group_by(messages::Column::SessionId)
            .into_tuple()
            .all(&self.db.read)
            .await?;
        Ok(counts.into_iter().collect())
    }

    /// The active agent with this id, with their name as agents see it.
    pub async fn active_agent(&self, id: &AgentId) -> Result<Option<(AgentId, String)>, AppError> {
        Ok(agents::Entity::find_by_id(id.as_str())
            .filter(agents::Column::Active.eq(true))
            .one(&self.db.read)
            .await?
            .map(|a| {
                let name = staff_name(&a.display_name, &a.username);
                (AgentId::from(a.id), name)
            }))
    }

    /// Sets the assignee only if it is still `expected` (compare and set,
    /// so two agents taking one conversation at once cannot both win).
    /// Answers the stored row, or `None` when the assignee had changed (or
    /// the conversation is gone).
    pub async fn set_assignee(
        &self,
        id: &SessionId,
        expected: Option<&AgentId>,
        assignee: Option<&AgentId>,
    ) -> Result<Option<Conversation>, AppError> {
        use chat_sessions::Column as C;
        let current = match expected {
            Some(agent) => C::AssigneeId.eq(agent.as_str()),
            None => C::AssigneeId.is_null(),
        };
        let done = chat_sessions::Entity::update_many()
            .filter(C::Id.eq(id.as_str()))
            .filter(current)
            .col_expr(
                C::AssigneeId,
                Expr::value(assignee.map(ToString::to_string)),
            )
            .exec(&self.db.write)
            .await?;
        if done.rows_affected == 0 {
            return Ok(None);
        }
        self.by_id_on_writer(id).await
    }
}
