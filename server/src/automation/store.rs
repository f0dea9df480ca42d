//! The queries of automated responses: rules, the log, delayed replies,
//! business hours (a `site_settings` row) and the conversations waiting
//! for a reply.

use app::automation::{AutoResponse, AutoResponseId, AutoResponseLog, LogOutcome};
use app::types::{SessionId, SessionStatus};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseTransaction,
    EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    SqlErr, Statement, TransactionTrait,
};

use crate::error::AppError;
use crate::storage::{
    auto_response_jobs, auto_response_logs, auto_responses, messages, rfc3339, site_settings, Db,
};

/// The `site_settings` row of business hours.
pub const HOURS_ROW: &str = "business_hours";
/// The PostgreSQL advisory lock rule creates take.
const CREATE_LOCK: i64 = 0x6175_746f_7265;
/// The first key of the per-conversation judging locks (the second is the
/// conversation's hash).
const JUDGE_LOCK: i32 = 0x6a75_6467;

pub fn view(row: auto_responses::Model) -> Result<AutoResponse, AppError> {
    let bad = |what: &str, e: serde_json::Error| {
        AppError::internal(
            "automation",
            format!("rule {}: unreadable {what}: {e}", row.id),
        )
    };
    Ok(AutoResponse {
        trigger: serde_json::from_str(&row.trigger).map_err(|e| bad("trigger", e))?,
        conditions: serde_json::from_str(&row.conditions).map_err(|e| bad("conditions", e))?,
        action: serde_json::from_str(&row.action).map_err(|e| bad("action", e))?,
        id: row.id.clone().into(),
        name: row.name,
        priority: row.priority,
        enabled: row.enabled,
        cooldown_seconds: u32::try_from(row.cooldown_seconds).unwrap_or(u32::MAX),
        max_per_conversation: u32::try_from(row.max_per_conversation).unwrap_or(1),
        created_at: rfc3339(row.created_at),
        updated_at: rfc3339(row.updated_at),
    })
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

pub fn model(
    r: &AutoResponse,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
) -> auto_responses::ActiveModel {
    auto_responses::ActiveModel {
        id: Set(r.id.to_string()),
        name: Set(r.name.clone()),
        priority: Set(r.priority),
        enabled: Set(r.enabled),
        trigger: Set(json(&r.trigger)),
        conditions: Set(json(&r.conditions)),
        action: Set(json(&r.action)),
        cooldown_seconds: Set(i64::from(r.cooldown_seconds)),
        max_per_conversation: Set(i32::try_from(r.max_per_conversation).unwrap_or(i32::MAX)),
        created_at: Set(created_at),
        updated_at: Set(updated_at),
    }
}

/// A name another rule has.
pub struct NameTaken;

#[derive(Clone)]
pub struct AutomationStore {
    db: Db,
}

/// One row of the log to write.
pub struct LogEntry<'a> {
    pub rule: &'a AutoResponse,
    pub session_id: &'a SessionId,
    pub trigger_message_id: Option<&'a str>,
    pub reply_message_id: Option<&'a str>,
    pub outcome: LogOutcome,
    pub reason: String,
    pub asked_email: bool,
    pub dedupe: Option<String>,
}

/// A rule's history in one conversation.
#[derive(Clone, Copy, Debug, Default)]
pub struct Fired {
    pub times: u64,
    pub last: Option<DateTime<Utc>>,
}

/// A conversation whose oldest unanswered visitor message is old enough.
#[derive(Clone, Debug, FromQueryResult)]
pub struct Waiting {
    pub session_id: String,
    pub message_id: String,
    pub seq: i64,
    pub created_at: DateTime<Utc>,
}

impl AutomationStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Holds a conversation for judging: on PostgreSQL a transaction with
    /// an advisory lock on the conversation, so instances judge one
    /// conversation's messages one at a time (a cooldown or maximum sees
    /// the other instance's firing); released when the guard is dropped
    /// (committed, or rolled back on a timeout). On SQLite (one process
    /// writes) nothing: the workers are sharded by conversation already.
    pub async fn hold(&self, session: &SessionId) -> Result<Option<DatabaseTransaction>, AppError> {
        if self.db.backend() != DatabaseBackend::Postgres {
            return Ok(None);
        }
        let txn = self.db.write.begin().await?;
        txn.execute_raw(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1, hashtext($2))",
            [JUDGE_LOCK.into(), session.as_str().into()],
        ))
        .await?;
        Ok(Some(txn))
    }

    pub async fn rules(&self, limit: u64) -> Result<Vec<AutoResponse>, AppError> {
        auto_responses::Entity::find()
            .order_by_desc(auto_responses::Column::Priority)
            .order_by_asc(auto_responses::Column::Name)
            .limit(limit)
            .all(&self.db.read)
            .await?
            .into_iter()
            .map(view)
            .collect()
    }

    pub async fn rule(&self, id: &AutoResponseId) -> Result<Option<AutoResponse>, AppError> {
        auto_responses::Entity::find_by_id(id.as_str())
            .one(&self.db.write)
            .await?
            .map(view)
            .transpose()
    }

    pub async fn rule_by_name(&self, name: &str) -> Result<Option<AutoResponse>, AppError> {
        auto_responses::Entity::find()
            .filter(auto_responses::Column::Name.eq(name))
            .one(&self.db.write)
            .await?
            .map(view)
            .transpose()
    }

    /// Inserts a rule unless `max` are kept already (counted and inserted
    /// in one transaction that concurrent inserts wait for). `Ok(None)`:
    /// full.
    pub async fn insert(
        &self,
        rule: &AutoResponse,
        at: DateTime<Utc>,
        max: u64,
    ) -> Result<Result<Option<()>, NameTaken>, AppError> {
        let txn = self.db.write.begin().await?;
        if txn.get_database_backend() == DatabaseBackend::Postgres {
            txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({CREATE_LOCK})"))
                .await?;
        }
        if auto_responses::Entity::find().count(&txn).await? >= max {
            return Ok(Ok(None));
        }
        match model(rule, at, at).insert(&txn).await {
            Ok(_) => {}
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                return Ok(Err(NameTaken));
            }
            Err(e) => return Err(e.into()),
        }
        txn.commit().await?;
        Ok(Ok(Some(())))
    }

    /// Replaces a rule's fields (all but its id and creation time).
    /// `Ok(false)`: no such rule.
    pub async fn update(
        &self,
        rule: &AutoResponse,
        at: DateTime<Utc>,
    ) -> Result<Result<bool, NameTaken>, AppError> {
        let mut active = model(rule, at, at);
        active.created_at = sea_orm::ActiveValue::NotSet;
        match active.update(&self.db.write).await {
            Ok(_) => Ok(Ok(true)),
            Err(sea_orm::DbErr::RecordNotUpdated) => Ok(Ok(false)),
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                Ok(Err(NameTaken))
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn delete(&self, id: &AutoResponseId) -> Result<bool, AppError> {
        let done = auto_responses::Entity::delete_many()
            .filter(auto_responses::Column::Id.eq(id.as_str()))
            .exec(&self.db.write)
            .await?;
        Ok(done.rows_affected > 0)
    }

    /// How often (and when last) a rule fired in a conversation.
    pub async fn fired(
        &self,
        rule: &AutoResponseId,
        session: &SessionId,
    ) -> Result<Fired, AppError> {
        let filter = || {
            auto_response_logs::Entity::find()
                .filter(auto_response_logs::Column::SessionId.eq(session.as_str()))
                .filter(auto_response_logs::Column::RuleId.eq(rule.as_str()))
                .filter(auto_response_logs::Column::Outcome.eq(LogOutcome::Fired.as_str()))
        };
        let times = filter().count(&self.db.write).await?;
        let last = if times == 0 {
            None
        } else {
            filter()
                .order_by_desc(auto_response_logs::Column::CreatedAt)
                .one(&self.db.write)
                .await?
                .map(|r| r.created_at)
        };
        Ok(Fired { times, last })
    }

    /// Whether a reply in this conversation asked for an e-mail address.
    pub async fn asked_email(&self, session: &SessionId) -> Result<bool, AppError> {
        Ok(auto_response_logs::Entity::find()
            .filter(auto_response_logs::Column::SessionId.eq(session.as_str()))
            .filter(auto_response_logs::Column::AskedEmail.eq(true))
            .count(&self.db.read)
            .await?
            > 0)
    }

    /// Writes a log row; `Ok(false)` when its `dedupe` key is taken (the
    /// firing was logged by another instance or an earlier attempt).
    pub async fn log(&self, e: LogEntry<'_>, at: DateTime<Utc>) -> Result<bool, AppError> {
        let row = auto_response_logs::ActiveModel {
            id: Set(uuid::Uuid::now_v7().to_string()),
            rule_id: Set(Some(e.rule.id.to_string())),
            rule_name: Set(e.rule.name.clone()),
            session_id: Set(e.session_id.to_string()),
            trigger_message_id: Set(e.trigger_message_id.map(str::to_string)),
            reply_message_id: Set(e.reply_message_id.map(str::to_string)),
            outcome: Set(e.outcome.as_str().to_string()),
            reason: Set(e.reason),
            asked_email: Set(e.asked_email),
            dedupe: Set(e.dedupe),
            created_at: Set(at),
        };
        let done = auto_response_logs::Entity::insert(row)
            .on_conflict(
                OnConflict::column(auto_response_logs::Column::Dedupe)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&self.db.write)
            .await?;
        Ok(done > 0)
    }

    /// A page of the log, newest first: `before` an id (the cursor), of
    /// one rule, within `[from, to)`.
    pub async fn logs(
        &self,
        rule: Option<&AutoResponseId>,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        before: Option<&str>,
        limit: u64,
    ) -> Result<Vec<AutoResponseLog>, AppError> {
        use auto_response_logs::Column as C;
        let mut q = auto_response_logs::Entity::find();
        if let Some(rule) = rule {
            q = q.filter(C::RuleId.eq(rule.as_str()));
        }
        if let Some(from) = from {
            q = q.filter(C::CreatedAt.gte(from));
        }
        if let Some(to) = to {
            q = q.filter(C::CreatedAt.lt(to));
        }
        if let Some(before) = before {
            q = q.filter(C::Id.lt(before));
        }
        Ok(q.order_by_desc(C::Id)
            .limit(limit)
            .all(&self.db.read)
            .await?
            .into_iter()
            .map(|r| AutoResponseLog {
                outcome: LogOutcome::parse(&r.outcome).unwrap_or(LogOutcome::Failed),
                id: r.id,
                rule_id: r.rule_id.map(AutoResponseId::from),
                rule_name: r.rule_name,
                session_id: r.session_id.into(),
                trigger_message_id: r.trigger_message_id,
                reply_message_id: r.reply_message_id,
                reason: r.reason,
                at: rfc3339(r.created_at),
            })
            .collect())
    }

    /// Saves a reply to send at `due`.
    pub async fn add_job(
        &self,
        rule: &AutoResponseId,
        session: &SessionId,
        message_id: &str,
        seq: i64,
        due: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<String, AppError> {
        let id = uuid::Uuid::now_v7().to_string();
        auto_response_jobs::ActiveModel {
            id: Set(id.clone()),
            rule_id: Set(rule.to_string()),
            session_id: Set(session.to_string()),
            trigger_message_id: Set(message_id.to_string()),
            trigger_seq: Set(seq),
            due_at: Set(due),
            claimed_until: Set(None),
            attempts: Set(0),
            created_at: Set(at),
        }
        .insert(&self.db.write)
        .await?;
        Ok(id)
    }

    /// Jobs due by `now` that nobody holds, oldest first.
    pub async fn due_jobs(
        &self,
        now: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<auto_response_jobs::Model>, AppError> {
        use auto_response_jobs::Column as C;
        Ok(auto_response_jobs::Entity::find()
            .filter(C::DueAt.lte(now))
            .filter(
                sea_orm::Condition::any()
                    .add(C::ClaimedUntil.is_null())
                    .add(C::ClaimedUntil.lt(now)),
            )
            .order_by_asc(C::DueAt)
            .limit(limit)
            .all(&self.db.read)
            .await?)
    }

    /// Takes a job until `until`, unless another instance holds it: one
    /// conditional update, so exactly one instance wins.
    pub async fn claim_job(
        &self,
        job: &auto_response_jobs::Model,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, AppError> {
        use auto_response_jobs::Column as C;
        let done = auto_response_jobs::Entity::update_many()
            .col_expr(C::ClaimedUntil, Expr::value(until))
            .col_expr(C::Attempts, Expr::col(C::Attempts).add(1))
            .filter(C::Id.eq(job.id.as_str()))
            .filter(
                sea_orm::Condition::any()
                    .add(C::ClaimedUntil.is_null())
                    .add(C::ClaimedUntil.lt(now)),
            )
            .exec(&self.db.write)
            .await?;
        Ok(done.rows_affected == 1)
    }

    pub async fn finish_job(&self, id: &str) -> Result<(), AppError> {
        auto_response_jobs::Entity::delete_by_id(id)
            .exec(&self.db.write)
            .await?;
        Ok(())
    }

    /// Whether a delayed reply of this rule waits in this conversation.
    pub async fn pending(
        &self,
        rule: &AutoResponseId,
        session: &SessionId,
    ) -> Result<bool, AppError> {
        use auto_response_jobs::Column as C;
        Ok(auto_response_jobs::Entity::find()
            .filter(C::RuleId.eq(rule.as_str()))
            .filter(C::SessionId.eq(session.as_str()))
            .count(&self.db.write)
            .await?
            > 0)
    }

    /// Open conversations whose oldest visitor message after the last
    /// agent reply was written between `since` and `by`, oldest first,
    /// that `rule` has not judged yet (no log row under its wait key,
    /// [`wait_key`]).
    pub async fn waiting(
        &self,
        rule: &AutoResponseId,
        since: DateTime<Utc>,
        by: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<Waiting>, AppError> {
        let backend = self.db.backend();
        let p = |n: usize| match backend {
            DatabaseBackend::Postgres => format!("${n}"),
            _ => "?".to_string(),
        };
        // The first visitor message after the last agent reply, per
        // conversation still waiting for one.
        let sql = format!(
            "SELECT m.session_id AS session_id, m.id AS message_id, m.seq AS seq, m.created_at AS created_at \
             FROM chat_sessions s JOIN messages m ON m.session_id = s.id \
             AND m.seq = (SELECT MIN(m2.seq) FROM messages m2 WHERE m2.session_id = s.id \
                          AND m2.sender = 'customer' AND m2.seq > s.last_agent_seq) \
             WHERE s.status = {} AND s.last_customer_seq > s.last_agent_seq \
             AND s.last_message_at >= {} AND m.created_at >= {} AND m.created_at <= {} \
             AND NOT EXISTS (SELECT 1 FROM auto_response_logs l \
                             WHERE l.dedupe = 'w:' || replace(m.id, '-', '') || ':' || {}) \
             ORDER BY m.created_at LIMIT {limit}",
            p(1),
            p(2),
            p(3),
            p(4),
            p(5)
        );
        let tail = wait_key("", rule.as_str());
        let tail = tail.trim_start_matches("w::").to_string();
        let statement = Statement::from_sql_and_values(
            backend,
            sql,
            [
                SessionStatus::Open.as_str().into(),
                since.into(),
                since.into(),
                by.into(),
                tail.into(),
            ],
        );
        Ok(Waiting::find_by_statement(statement)
            .all(&self.db.read)
            .await?)
    }

    /// The message with this id, when it is in that conversation.
    pub async fn message(
        &self,
        session: &SessionId,
        id: &str,
    ) -> Result<Option<messages::Model>, AppError> {
        Ok(messages::Entity::find_by_id(id)
            .filter(messages::Column::SessionId.eq(session.as_str()))
            .one(&self.db.read)
            .await?)
    }

    /// Whether the visitor wrote in this conversation before `seq`.
    pub async fn wrote_before(&self, session: &SessionId, seq: i64) -> Result<bool, AppError> {
        Ok(messages::Entity::find()
            .filter(messages::Column::SessionId.eq(session.as_str()))
            .filter(messages::Column::Sender.eq(app::types::Sender::Customer.as_str()))
            .filter(messages::Column::Seq.lt(seq))
            .count(&self.db.read)
            .await?
            > 0)
    }

    pub async fn hours(&self) -> Result<Option<String>, AppError> {
        Ok(site_settings::Entity::find_by_id(HOURS_ROW)
            .one(&self.db.read)
            .await?
            .map(|r| r.value))
    }

    pub async fn save_hours(
        &self,
        value: String,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<(), AppError> {
        use site_settings::Column as C;
        site_settings::Entity::insert(site_settings::ActiveModel {
            name: Set(HOURS_ROW.into()),
            value: Set(value),
            updated_at: Set(at),
            updated_by: Set(Some(by.to_string())),
        })
        .on_conflict(
            OnConflict::column(C::Name)
                .update_columns([C::Value, C::UpdatedAt, C::UpdatedBy])
                .to_owned(),
        )
        .exec_without_returning(&self.db.write)
        .await?;
        Ok(())
    }
}

/// `w:<message id, 32 hex>:<the rule id's last 12 hex>` (47 characters,
/// within a client_id's 64); the SQL of the `no_reply` scan builds the same.
pub fn wait_key(message_id: &str, rule_id: &str) -> String {
    let rule_tail: String = rule_id
        .chars()
        .rev()
        .take(12)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("w:{}:{rule_tail}", message_id.replace('-', ""))
}
