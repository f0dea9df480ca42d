//! The message writer (group commit): a writer task takes the messages that
//! arrived while its previous transaction committed and stores them in one
//! transaction, then answers each sender. An answer means "committed and
//! durable"; nothing is acknowledged before.
//!
//! SQLite has one writer task (it has one writer connection); PostgreSQL
//! several, each owning the conversations whose id hashes to it, so one
//! conversation's messages stay in one queue, in order.
//!
//! Announcing what was stored (the bus) happens after the answers, on this
//! task, without waiting: local sockets at once, other instances through the
//! bus's own queue. Then a visitor's new message goes to the automated
//! responses ([`crate::automation`]) on this instance, the one that
//! committed it, through a bounded queue that never makes the writer wait.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::{timeout, Instant};

use super::store::{ChatStore, NewMessage, Written};
use crate::bus::{Audience, Bus, Change};
use crate::error::AppError;
use crate::metrics::Metrics;
use crate::storage::now;

/// Messages waiting for the writer; a sender waits (briefly) beyond this.
const QUEUE: usize = 16 * 1024;
/// How long a sender waits for room in the queue.
const ENQUEUE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a sender waits for its commit before it is told to retry (the
/// retry, with the same client_id, is stored once either way).
const COMMIT_TIMEOUT: Duration = Duration::from_secs(30);
/// How many times a failed batch is tried again before its senders get the
/// error (a unique-key race between instances, a dropped connection).
const BATCH_ATTEMPTS: u32 = 3;

type Answer = oneshot::Sender<Result<Written, AppError>>;

#[derive(Clone)]
pub struct Writer {
    queues: Vec<mpsc::Sender<(NewMessage, Answer, Instant)>>,
}

impl Writer {
    /// Starts `tasks` writer tasks (at least one).
    /// `committed`: where a visitor's new messages go once stored.
    pub fn start(
        store: Arc<ChatStore>,
        bus: Arc<Bus>,
        metrics: Arc<Metrics>,
        max_batch: usize,
        tasks: usize,
        committed: Option<mpsc::Sender<Written>>,
    ) -> Self {
        let tasks = tasks.max(1);
        let queues = (0..tasks)
            .map(|_| {
                let (tx, rx) = mpsc::channel(QUEUE / tasks);
                tokio::spawn(run(
                    store.clone(),
                    bus.clone(),
                    metrics.clone(),
                    rx,
                    max_batch.max(1),
                    committed.clone(),
                ));
                tx
            })
            .collect();
        Self { queues }
    }

    /// Stores a message; answers once it is committed.
    pub async fn write(&self, message: NewMessage) -> Result<Written, AppError> {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        message.session_id.hash(&mut hasher);
        let queue = &self.queues[(hasher.finish() % self.queues.len() as u64) as usize];
        let (answer, answered) = oneshot::channel();
        queue
            .send_timeout((message, answer, Instant::now()), ENQUEUE_TIMEOUT)
            .await
            .map_err(|_| busy())?;
        match timeout(COMMIT_TIMEOUT, answered).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(AppError::internal("writer", "the writer task stopped")),
            Err(_) => Err(busy()),
        }
    }
}

fn busy() -> AppError {
    AppError::Unavailable("The server is busy; the message was not stored. Retry.".into())
}

async fn run(
    store: Arc<ChatStore>,
    bus: Arc<Bus>,
    metrics: Arc<Metrics>,
    mut rx: mpsc::Receiver<(NewMessage, Answer, Instant)>,
    max_batch: usize,
    committed: Option<mpsc::Sender<Written>>,
) {
    let mut batch: Vec<NewMessage> = Vec::with_capacity(max_batch);
    let mut answers: Vec<Answer> = Vec::with_capacity(max_batch);
    loop {
        let Some((first, answer, queued_at)) = rx.recv().await else {
            return;
        };
        batch.push(first);
        answers.push(answer);
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok((message, answer, _)) => {
                    batch.push(message);
                    answers.push(answer);
                }
                Err(_) => break,
            }
        }
        let started = Instant::now();
        let waited = started.duration_since(queued_at);
        let results = write_with_retries(&store, &batch).await;
        let took = started.elapsed();
        let stored = results.iter().any(Result::is_ok);
        let mut announce = Vec::with_capacity(results.len());
        for (result, answer) in results.into_iter().zip(answers.drain(..)) {
            if let Ok(written) = &result {
                if !written.replay {
                    announce.push(written.clone());
                }
            }
            let _ = answer.send(result);
        }
        if stored {
            metrics.batch_written(batch.len(), announce.len(), waited, took);
        }
        batch.clear();
        for written in announce {
            let visitor = written.message.sender == app::types::Sender::Customer;
            let follow = committed
                .as_ref()
                .filter(|_| visitor)
                .map(|c| (c, written.clone()));
            announce_written(&store, &bus, written).await;
            if let Some((queue, written)) = follow {
                if queue.try_send(written).is_err() {
                    metrics.automation_dropped();
                    tracing::warn!(
                        "automated responses are behind; a visitor message was not checked"
                    );
                }
            }
        }
    }
}

async fn write_with_retries(
    store: &ChatStore,
    batch: &[NewMessage],
) -> Vec<Result<Written, AppError>> {
    let mut attempt = 1;
    loop {
        match store.write_batch(batch, now()).await {
            Ok(results) => return results,
            Err(e) if attempt < BATCH_ATTEMPTS => {
                tracing::warn!(error.cause = %e, batch.size = batch.len(), attempt, "batch write failed; retrying");
                tokio::time::sleep(Duration::from_millis(20 * u64::from(attempt))).await;
                attempt += 1;
            }
            Err(e) => {
                tracing::error!(error.cause = %e, batch.size = batch.len(), "batch write failed");
                return batch
                    .iter()
                    .map(|_| {
                        Err(match &e {
                            AppError::Unavailable(m) => AppError::Unavailable(m.clone()),
                            _ => AppError::Unavailable(
                                "The message could not be stored; retry.".into(),
                            ),
                        })
                    })
                    .collect();
            }
        }
    }
}

/// Announces a stored message (and a reopened conversation: its view is
/// read first — rare, a visitor writing to a closed conversation).
async fn announce_written(store: &ChatStore, bus: &Bus, written: Written) {
    let session_id = written.conversation.id.clone();
    if written.reopened {
        match store.session_view(&written.conversation).await {
            Ok(session) => bus.publish(
                Audience::AgentsAndVisitors(session_id.clone()),
                Change::ConversationChanged { session },
            ),
            // Agents still get the message; their list shows it closed
            // until they reload.
            Err(e) => {
                tracing::warn!(error.cause = %e, session.id = %session_id, "reopened conversation not announced")
            }
        }
    }
    bus.publish(
        Audience::AgentsAndVisitors(session_id.clone()),
        Change::MessageStored {
            session_id,
            customer_id: written.conversation.customer_id,
            message: written.message,
        },
    );
}
