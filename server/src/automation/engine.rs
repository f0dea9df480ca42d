//! Answering: the workers that read each committed visitor message, and
//! the scheduler that sends delayed replies and `no_reply` reminders.
//!
//! Messages come from the writer of this instance (the one that committed
//! them) through a bounded queue, and are spread over [`WORKERS`] workers
//! by conversation, so one conversation's messages are judged in order
//! (a cooldown sees the firing before it). Every step has a timeout.
//!
//! Once-only: a reply's `client_id` is `auto:<message id>` (one reply per
//! visitor message, whatever rule) or `w:<message>:<rule>` for `no_reply`;
//! the writer stores a `client_id` once, so a retry, a replayed message or
//! a second instance's scheduler makes no second message, and only the
//! one that stored it logs it.

use std::hash::{Hash, Hasher};
use std::sync::{Arc, Weak};
use std::time::Duration;

use app::automation::LogOutcome;
use app::types::{SessionId, SessionStatus};
use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use super::rules::{self, Fill, Message, Rule, Visitor};
use super::store::{wait_key, LogEntry};
use super::{compose, text, AutomationService, Reader};
use crate::chat::domain::{ClientId, Conversation};
use crate::chat::store::Written;
use crate::chat::ChatService;
use crate::error::AppError;
use crate::metrics::Metrics;
use crate::storage::{auto_response_jobs, now};

/// Workers judging messages (by conversation).
pub const WORKERS: usize = 4;
/// Messages waiting for one worker.
const WORKER_QUEUE: usize = 1024;
/// The queue from the writers.
pub const QUEUE: usize = 4096;
/// The most one message's judging and reply may take.
const MESSAGE_TIMEOUT: Duration = Duration::from_secs(30);
/// How often due delayed replies are looked for.
const JOBS_EVERY: Duration = Duration::from_secs(1);
/// How often conversations waiting for a reply are looked for.
const NO_REPLY_EVERY: Duration = Duration::from_secs(10);
/// A `no_reply` wait older than its minutes plus this is left alone (after
/// a long outage, nobody is reminded of yesterday).
const NO_REPLY_WINDOW: chrono::Duration = chrono::Duration::hours(24);
/// How long a claimed delayed reply is held before another instance may
/// take it over.
const CLAIM_FOR: chrono::Duration = chrono::Duration::seconds(60);
/// A delayed reply tried this often is dropped (logged as failed).
const JOB_ATTEMPTS: i32 = 5;
/// The most delayed replies and waits handled per round.
const BATCH: u64 = 100;

pub struct Engine {
    service: Arc<AutomationService>,
    chat: Arc<ChatService>,
    metrics: Arc<Metrics>,
}

impl Engine {
    /// Starts the workers (reading `committed`) and the scheduler; they end
    /// when the queue closes or the engine is dropped.
    pub fn start(
        service: Arc<AutomationService>,
        chat: Arc<ChatService>,
        metrics: Arc<Metrics>,
        committed: mpsc::Receiver<Written>,
    ) -> Arc<Self> {
        let engine = Arc::new(Self {
            service,
            chat,
            metrics,
        });
        let workers: Vec<mpsc::Sender<Written>> = (0..WORKERS)
            .map(|_| {
                let (tx, rx) = mpsc::channel(WORKER_QUEUE);
                tokio::spawn(worker(Arc::downgrade(&engine), rx));
                tx
            })
            .collect();
        tokio::spawn(dispatch(committed, workers, engine.metrics.clone()));
        tokio::spawn(scheduler(Arc::downgrade(&engine)));
        engine
    }

    /// Judges one committed visitor message and answers it, holding the
    /// conversation against other instances meanwhile.
    pub async fn on_message(&self, written: &Written) -> Result<(), AppError> {
        let rules = self.service.rules();
        let judging = rules.iter().any(|r| r.view.enabled && r.on_message());
        let judged = self.judge(written, &rules);
        self.holding(&written.conversation.id, judging, judged)
            .await?
    }

    /// Runs `work` with the conversation held against other instances
    /// when `hold` is true ([`AutomationStore::hold`]), and lets it go
    /// after, whatever `work` returned.
    ///
    /// [`AutomationStore::hold`]: super::store::AutomationStore::hold
    async fn holding<T>(
        &self,
        session: &SessionId,
        hold: bool,
        work: impl std::future::Future<Output = T>,
    ) -> Result<T, AppError> {
        let txn = if hold {
            self.service.store().hold(session).await?
        } else {
            None
        };
        let out = work.await;
        if let Some(txn) = txn {
            txn.commit().await?;
        }
        Ok(out)
    }

    async fn judge(&self, written: &Written, rules: &[Rule]) -> Result<(), AppError> {
        let session = &written.conversation.id;
        let content = written.message.content.as_str();
        if written.conversation.email.is_none() {
            if let Some(email) = text::find_email(content) {
                if self.service.store().asked_email(session).await?
                    && self.chat.save_email_if_none(session, &email).await?
                {
                    tracing::info!(session.id = %session, "automated responses: saved the e-mail address the visitor gave");
                }
            }
        }
        if !rules.iter().any(|r| r.view.enabled && r.on_message()) {
            return Ok(());
        }
        let seq = written.message.seq;
        let first_message = if rules
            .iter()
            .any(|r| r.view.enabled && r.view.trigger == app::automation::Trigger::FirstMessage)
        {
            !self.service.store().wrote_before(session, seq).await?
        } else {
            false
        };
        // The visitor's stored facts only when a condition reads them.
        let needs_visitor = rules.iter().any(|r| {
            let c = &r.view.conditions;
            r.view.enabled
                && r.on_message()
                && (c.page_url.is_some() || !c.languages.is_empty() || c.visitor.is_some())
        });
        let record = if needs_visitor {
            self.chat.store().visitor(session).await?
        } else {
            None
        };
        let identified = record.as_ref().is_some_and(|r| r.verified)
            || written.conversation.name.is_some()
            || written.conversation.email.is_some();
        let at = now();
        let hours = self.service.hours();
        let message = Message {
            content,
            words: text::words(content),
            first_message,
            agents_online: self.service.presence().available(),
            open: hours.schedule.is_open(at),
            visitor: Visitor {
                language: record.as_ref().and_then(|r| r.language.as_deref()),
                page_url: record.as_ref().and_then(|r| r.page_url.as_deref()),
                identified,
                status: if written.reopened {
                    SessionStatus::Closed
                } else {
                    written.conversation.status
                },
            },
            at,
        };
        let verdict = rules::evaluate(rules, &message);
        let trigger_id = written.message.id.to_string();
        for rules::Matched { rule, reason: why } in verdict.matched {
            if let Some(held) = self.held_back(rule, session, at).await? {
                self.log(LogEntry {
                    rule: &rule.view,
                    session_id: session,
                    trigger_message_id: Some(&trigger_id),
                    reply_message_id: None,
                    outcome: held.0,
                    reason: format!("{} {why}", held.1),
                    asked_email: false,
                    dedupe: None,
                })
                .await;
                continue;
            }
            let delay = rule.view.action.delay_seconds;
            if delay > 0 {
                let due = at + chrono::Duration::seconds(i64::from(delay));
                self.service
                    .store()
                    .add_job(&rule.view.id, session, &trigger_id, seq, due, at)
                    .await?;
                return Ok(());
            }
            self.reply(rule, session, &trigger_id, Key::Message, why)
                .await?;
            return Ok(());
        }
        Ok(())
    }

    /// Why a rule may not fire again in this conversation now: its
    /// maximum, its cooldown, or a delayed reply of it already waiting.
    async fn held_back(
        &self,
        rule: &Rule,
        session: &SessionId,
        at: DateTime<Utc>,
    ) -> Result<Option<(LogOutcome, String)>, AppError> {
        let fired = self.service.store().fired(&rule.view.id, session).await?;
        let max = u64::from(rule.view.max_per_conversation);
        if fired.times >= max {
            return Ok(Some((
                LogOutcome::MaxReached,
                format!(
                    "Held back: it fired {} of its {max} times in this conversation.",
                    fired.times
                ),
            )));
        }
        let cooldown = chrono::Duration::seconds(i64::from(rule.view.cooldown_seconds));
        if let Some(last) = fired.last {
            if at < last + cooldown {
                let left = (last + cooldown - at).num_seconds().max(1);
                return Ok(Some((
                    LogOutcome::Cooldown,
                    format!("Held back: in its cooldown ({left} s left)."),
                )));
            }
        }
        if self.service.store().pending(&rule.view.id, session).await? {
            return Ok(Some((
                LogOutcome::Cooldown,
                "Held back: a delayed reply of it is waiting to be sent.".into(),
            )));
        }
        Ok(None)
    }

    /// Sends a rule's reply to the message `trigger_id` and logs it;
    /// nothing when another instance or an earlier attempt sent it.
    async fn reply(
        &self,
        rule: &Rule,
        session: &SessionId,
        trigger_id: &str,
        key: Key,
        why: String,
    ) -> Result<(), AppError> {
        let conversation = self.chat.conversation_row(session).await?;
        let record = self.chat.store().visitor(session).await?;
        let language = record.as_ref().and_then(|r| r.language.as_deref());
        let zone = record
            .as_ref()
            .and_then(|r| r.time_zone.as_deref())
            .and_then(super::hours::time_zone);
        let agent_name = match &conversation.assignee_id {
            Some(id) => self.chat.store().active_agent(id).await?.map(|(_, n)| n),
            None => None,
        };
        let at = now();
        let content = compose(
            rule,
            &self.service.hours().schedule,
            Reader {
                language,
                zone,
                has_email: conversation.email.is_some(),
            },
            Fill {
                customer_name: conversation.name.as_deref(),
                agent_name: agent_name.as_deref(),
                next_open: None,
                language: rules::widget_language(language),
            },
            at,
            self.service.max_chars(),
        );
        let client_id = key.client_id(trigger_id, &rule.view.id)?;
        let written = match self
            .chat
            .post_as_bot(session.clone(), &content, &client_id)
            .await
        {
            Ok(w) => w,
            Err(e) => {
                self.log(LogEntry {
                    rule: &rule.view,
                    session_id: session,
                    trigger_message_id: Some(trigger_id),
                    reply_message_id: None,
                    outcome: LogOutcome::Failed,
                    reason: format!("The reply could not be stored: {e}. {why}"),
                    asked_email: false,
                    dedupe: None,
                })
                .await;
                return Err(e);
            }
        };
        if written.replay {
            return Ok(());
        }
        let asked_email = rule.view.action.ask_email && conversation.email.is_none();
        self.log(LogEntry {
            rule: &rule.view,
            session_id: session,
            trigger_message_id: Some(trigger_id),
            reply_message_id: Some(written.message.id.as_str()),
            outcome: LogOutcome::Fired,
            reason: why,
            asked_email,
            dedupe: Some(key.dedupe(trigger_id, &rule.view.id)),
        })
        .await;
        if rule.view.action.close && conversation.status == SessionStatus::Open {
            self.chat.set_status(session, SessionStatus::Closed).await?;
        }
        Ok(())
    }

    /// Writes a log row (a failure to log is itself logged, never fatal).
    async fn log(&self, entry: LogEntry<'_>) {
        let outcome = entry.outcome;
        match self.service.store().log(entry, now()).await {
            Ok(true) => self.metrics.auto_response(outcome),
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "automated responses: could not log"),
        }
    }

    /// Sends the delayed replies that are due (one instance each).
    async fn run_jobs(&self) -> Result<(), AppError> {
        let store = self.service.store();
        let at = now();
        for job in store.due_jobs(at, BATCH).await? {
            if !store.claim_job(&job, at, at + CLAIM_FOR).await? {
                continue;
            }
            let session = SessionId::from(job.session_id.clone());
            let rules = self.service.rules();
            let Some(rule) = rules.iter().find(|r| r.view.id.as_str() == job.rule_id) else {
                store.finish_job(&job.id).await?;
                continue;
            };
            self.holding(&session, true, self.send_job(rule, &job, &session))
                .await??;
        }
        Ok(())
    }

    /// A delayed reply that is due: sent, or logged as not sent when an
    /// agent answered meanwhile; the job ends once it is settled (or has
    /// run out of attempts).
    async fn send_job(
        &self,
        rule: &Rule,
        job: &auto_response_jobs::Model,
        session: &SessionId,
    ) -> Result<(), AppError> {
        let done = match self.chat.conversation_row(session).await {
            Ok(c) if c.last_agent_seq > job.trigger_seq => {
                self.log(LogEntry {
                    rule: &rule.view,
                    session_id: session,
                    trigger_message_id: Some(&job.trigger_message_id),
                    reply_message_id: None,
                    outcome: LogOutcome::AgentReplied,
                    reason: "Not sent: an agent answered during the delay.".into(),
                    asked_email: false,
                    dedupe: None,
                })
                .await;
                true
            }
            Ok(_) => {
                let why = format!(
                    "\"{}\" fires after its delay of {} s.",
                    rule.view.name, rule.view.action.delay_seconds
                );
                self.reply(rule, session, &job.trigger_message_id, Key::Message, why)
                    .await
                    .is_ok()
                    || job.attempts + 1 >= JOB_ATTEMPTS
            }
            Err(AppError::NotFound(..)) => true,
            Err(_) => job.attempts + 1 >= JOB_ATTEMPTS,
        };
        if done {
            self.service.store().finish_job(&job.id).await?;
        }
        Ok(())
    }

    /// Reminds conversations nobody has answered within a `no_reply`
    /// rule's minutes: once per rule and wait, on one instance.
    async fn run_no_reply(&self) -> Result<(), AppError> {
        let rules = self.service.rules();
        let at = now();
        for rule in rules.iter().filter(|r| r.view.enabled) {
            let Some(minutes) = rule.no_reply_minutes() else {
                continue;
            };
            let by = at - chrono::Duration::minutes(i64::from(minutes));
            let waiting = self
                .service
                .store()
                .waiting(&rule.view.id, by - NO_REPLY_WINDOW, by, BATCH)
                .await?;
            for w in waiting {
                let session = SessionId::from(w.session_id.clone());
                self.holding(&session, true, self.remind(rule, minutes, &w, at))
                    .await??;
            }
        }
        Ok(())
    }

    /// One `no_reply` reminder: checked (conditions, cooldown, maximum)
    /// and sent, or logged as held back.
    async fn remind(
        &self,
        rule: &Rule,
        minutes: u32,
        w: &super::store::Waiting,
        at: DateTime<Utc>,
    ) -> Result<(), AppError> {
        let session = SessionId::from(w.session_id.clone());
        let conversation = match self.chat.conversation_row(&session).await {
            Ok(c) => c,
            Err(_) => return Ok(()),
        };
        if !self.no_reply_conditions(rule, &conversation).await? {
            return Ok(());
        }
        let why = format!(
            "\"{}\" fires: no agent has answered the visitor's message of {} within {minutes} min.",
            rule.view.name,
            crate::storage::rfc3339(w.created_at)
        );
        if let Some((outcome, held)) = self.held_back(rule, &session, at).await? {
            self.log(LogEntry {
                rule: &rule.view,
                session_id: &session,
                trigger_message_id: Some(&w.message_id),
                reply_message_id: None,
                outcome,
                reason: format!("{held} {why}"),
                asked_email: false,
                dedupe: Some(Key::Wait.dedupe(&w.message_id, &rule.view.id)),
            })
            .await;
            return Ok(());
        }
        if let Err(e) = self
            .reply(rule, &session, &w.message_id, Key::Wait, why)
            .await
        {
            tracing::warn!(error = %e, session.id = %session, "automated responses: no_reply failed; tried again next round");
        }
        Ok(())
    }

    /// A `no_reply` rule's conditions, read from the conversation now.
    async fn no_reply_conditions(
        &self,
        rule: &Rule,
        conversation: &Conversation,
    ) -> Result<bool, AppError> {
        let record = self.chat.store().visitor(&conversation.id).await?;
        let visitor = Visitor {
            language: record.as_ref().and_then(|r| r.language.as_deref()),
            page_url: record.as_ref().and_then(|r| r.page_url.as_deref()),
            identified: record.as_ref().is_some_and(|r| r.verified)
                || conversation.name.is_some()
                || conversation.email.is_some(),
            status: conversation.status,
        };
        Ok(rule.conditions_hold(&visitor).is_ok())
    }
}

/// Which once-only key a reply carries.
#[derive(Clone, Copy, Debug)]
enum Key {
    /// One reply per visitor message, whatever rule.
    Message,
    /// One `no_reply` reminder per rule and unanswered message.
    Wait,
}

impl Key {
    fn client_id(
        self,
        message_id: &str,
        rule: &app::automation::AutoResponseId,
    ) -> Result<ClientId, AppError> {
        ClientId::parse(&match self {
            Key::Message => format!("auto:{message_id}"),
            Key::Wait => wait_key(message_id, rule.as_str()),
        })
    }

    fn dedupe(self, message_id: &str, rule: &app::automation::AutoResponseId) -> String {
        match self {
            Key::Message => format!("msg:{message_id}"),
            Key::Wait => wait_key(message_id, rule.as_str()),
        }
    }
}

/// Spreads committed messages over the workers by conversation; a full
/// worker queue drops the message (counted) rather than hold the others.
async fn dispatch(
    mut committed: mpsc::Receiver<Written>,
    workers: Vec<mpsc::Sender<Written>>,
    metrics: Arc<Metrics>,
) {
    while let Some(written) = committed.recv().await {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        written.conversation.id.hash(&mut hasher);
        let worker = &workers[(hasher.finish() % workers.len() as u64) as usize];
        if worker.try_send(written).is_err() {
            metrics.automation_dropped();
            tracing::warn!(
                "automated responses: a worker is behind; a visitor message was not checked"
            );
        }
    }
}

async fn worker(engine: Weak<Engine>, mut rx: mpsc::Receiver<Written>) {
    while let Some(written) = rx.recv().await {
        let Some(engine) = engine.upgrade() else {
            return;
        };
        match tokio::time::timeout(MESSAGE_TIMEOUT, engine.on_message(&written)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, session.id = %written.conversation.id, "automated responses: a message was not answered")
            }
            Err(_) => {
                tracing::warn!(session.id = %written.conversation.id, "automated responses: timed out on a message")
            }
        }
    }
}

/// Delayed replies every [`JOBS_EVERY`], `no_reply` every
/// [`NO_REPLY_EVERY`]; ends with the engine.
async fn scheduler(engine: Weak<Engine>) {
    let mut last_scan: Option<tokio::time::Instant> = None;
    loop {
        tokio::time::sleep(JOBS_EVERY).await;
        let Some(engine) = engine.upgrade() else {
            return;
        };
        match tokio::time::timeout(MESSAGE_TIMEOUT, engine.run_jobs()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "automated responses: delayed replies failed"),
            Err(_) => tracing::warn!("automated responses: delayed replies timed out"),
        }
        if last_scan.is_none_or(|t| t.elapsed() >= NO_REPLY_EVERY) {
            last_scan = Some(tokio::time::Instant::now());
            match tokio::time::timeout(MESSAGE_TIMEOUT, engine.run_no_reply()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "automated responses: no_reply scan failed")
                }
                Err(_) => tracing::warn!("automated responses: no_reply scan timed out"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_only_keys_fit_a_client_id() {
        let m = "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
        let r = "0193a1b2-aaaa-7bbb-8ccc-123456789abc";
        let k = wait_key(m, r);
        assert_eq!(k, "w:0193a1b2c3d47e5f8a9b0c1d2e3f4a5b:123456789abc");
        assert!(ClientId::parse(&k).is_ok());
        assert!(Key::Message.client_id(m, &r.into()).is_ok());
    }
}
