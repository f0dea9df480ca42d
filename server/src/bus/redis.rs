//! The Redis pub/sub link (fred): events queued by [`RedisLink::enqueue`]
//! are published in batches (one JSON array per `PUBLISH`) by a task of
//! their own, each command with a timeout; what other instances publish is
//! delivered to this instance's [`Hub`], this instance's own echo skipped.
//!
//! When events may have been lost — the queue overflowed, a publish failed,
//! the subscription dropped or lagged — the affected sockets get a
//! [`Change::Resync`]: peers through the next successful publish, this
//! instance's own sockets right after it resubscribes.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fred::clients::SubscriberClient;
use fred::prelude::*;
use fred::types::config::Config as RedisConfig;
use tokio::sync::mpsc;
use tokio::time::timeout;

use super::{Audience, BusError, Change, Event, Hub, InstanceId, Published};
use crate::metrics::Metrics;

/// Events waiting to be published; beyond this, peers are told to resync.
const QUEUE: usize = 16 * 1024;
/// Most events in one `PUBLISH`.
const BATCH: usize = 256;
/// How long one Redis command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);

pub struct RedisLink {
    queue: mpsc::Sender<Event>,
    /// Set when peers may have missed events; cleared by the resync sent
    /// to them.
    lost: Arc<AtomicBool>,
    _tasks: Vec<tokio::task::JoinHandle<()>>,
    _clients: (Client, SubscriberClient),
}

fn bus_err(e: impl std::fmt::Display) -> BusError {
    BusError(e.to_string())
}

impl RedisLink {
    /// Connects, subscribes, and starts the publishing and delivering tasks.
    pub async fn connect(
        url: &str,
        channel: &str,
        origin: InstanceId,
        hub: Arc<Hub>,
        metrics: Arc<Metrics>,
    ) -> Result<Self, BusError> {
        let config = RedisConfig::from_url(url).map_err(bus_err)?;
        // Without a policy fred never reconnects (and never resubscribes).
        let policy = ReconnectPolicy::new_exponential(0, 100, 5_000, 2);
        let build = |config: RedisConfig| {
            let mut builder = Builder::from_config(config);
            builder
                .set_policy(policy.clone())
                .with_performance_config(|p| p.default_command_timeout = COMMAND_TIMEOUT)
                .with_connection_config(|c| {
                    c.connection_timeout = COMMAND_TIMEOUT;
                    c.internal_command_timeout = COMMAND_TIMEOUT;
                    c.max_command_attempts = 1;
                });
            builder
        };
        let publisher = build(config.clone()).build().map_err(bus_err)?;
        let subscriber = build(config).build_subscriber_client().map_err(bus_err)?;
        timeout(Duration::from_secs(5), publisher.init())
            .await
            .map_err(|_| bus_err("connect timed out"))?
            .map_err(bus_err)?;
        timeout(Duration::from_secs(5), subscriber.init())
            .await
            .map_err(|_| bus_err("connect timed out"))?
            .map_err(bus_err)?;
        let mut messages = subscriber.message_rx();
        let mut reconnects = subscriber.reconnect_rx();
        subscriber
            .subscribe(channel.to_string())
            .await
            .map_err(bus_err)?;

        let (queue, rx) = mpsc::channel(QUEUE);
        let lost = Arc::new(AtomicBool::new(false));
        let publishing = tokio::spawn(publish_loop(
            publisher.clone(),
            channel.to_string(),
            origin,
            rx,
            lost.clone(),
            metrics,
        ));

        let delivering_hub = hub.clone();
        let delivering = tokio::spawn(async move {
            use tokio::sync::broadcast::error::RecvError;
            loop {
                match messages.recv().await {
                    Ok(message) => {
                        let Some(text) = message.value.as_str() else {
                            continue;
                        };
                        match serde_json::from_str::<Vec<Event>>(&text) {
                            Ok(events) => {
                                for event in events.into_iter().filter(|e| e.origin != origin) {
                                    delivering_hub.deliver(Arc::new(Published::new(event)));
                                }
                            }
                            Err(e) => tracing::warn!(error.cause = %e, "unreadable bus event"),
                        }
                    }
                    Err(RecvError::Lagged(n)) => {
                        tracing::warn!(bus.skipped = n, "bus receiver lagged; resyncing sockets");
                        delivering_hub.resync_all(origin);
                    }
                    Err(RecvError::Closed) => break,
                }
            }
        });

        let resubscriber = subscriber.clone();
        let resubscribing = tokio::spawn(async move {
            while reconnects.recv().await.is_ok() {
                match timeout(COMMAND_TIMEOUT, resubscriber.resubscribe_all()).await {
                    Ok(Ok(())) => tracing::info!("bus resubscribed"),
                    Ok(Err(e)) => tracing::warn!(error.cause = %e, "bus resubscribe failed"),
                    Err(_) => tracing::warn!("bus resubscribe timed out"),
                }
                // Whatever peers published while we were away is gone.
                hub.resync_all(origin);
            }
        });

        Ok(Self {
            queue,
            lost,
            _tasks: vec![publishing, delivering, resubscribing],
            _clients: (publisher, subscriber),
        })
    }

    /// Events queued, not yet published.
    pub fn queue_depth(&self) -> usize {
        QUEUE - self.queue.capacity()
    }

    /// Whether both Redis connections are up.
    pub fn connected(&self) -> bool {
        self._clients.0.is_connected() && self._clients.1.is_connected()
    }

    /// Queues an event for the other instances; never waits. A full queue
    /// drops it and marks peers for a resync.
    pub fn enqueue(&self, event: Event) {
        if self.queue.try_send(event).is_err() && !self.lost.swap(true, Ordering::Relaxed) {
            tracing::warn!("bus queue full; peers will resync");
        }
    }
}

async fn publish_loop(
    publisher: Client,
    channel: String,
    origin: InstanceId,
    mut rx: mpsc::Receiver<Event>,
    lost: Arc<AtomicBool>,
    metrics: Arc<Metrics>,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        let mut batch = Vec::new();
        tokio::select! {
            first = rx.recv() => match first {
                Some(event) => batch.push(event),
                None => break,
            },
            _ = tick.tick() => {}
        }
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(event) => batch.push(event),
                Err(_) => break,
            }
        }
        let resync = lost.swap(false, Ordering::Relaxed);
        if resync {
            batch.push(Event {
                origin,
                audience: Audience::Everyone,
                change: Change::Resync,
            });
        }
        if batch.is_empty() {
            continue;
        }
        let payload = match serde_json::to_string(&batch) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error.cause = %e, "bus event did not serialise");
                continue;
            }
        };
        let sent = timeout(
            COMMAND_TIMEOUT,
            publisher.publish::<(), _, _>(channel.as_str(), payload),
        )
        .await;
        match sent {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(error.cause = %e, bus.events = batch.len(), "bus publish failed; peers will resync");
                metrics.publish_failed();
                lost.store(true, Ordering::Relaxed);
            }
            Err(_) => {
                tracing::warn!(
                    bus.events = batch.len(),
                    "bus publish timed out; peers will resync"
                );
                metrics.publish_failed();
                lost.store(true, Ordering::Relaxed);
            }
        }
    }
}
