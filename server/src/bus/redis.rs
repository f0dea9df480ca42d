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
use std::sync::{Arc, OnceLock};
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
    /// The connections, once made (Redis may be away at start).
    clients: Arc<OnceLock<(Client, SubscriberClient)>>,
    _task: tokio::task::JoinHandle<()>,
}

fn bus_err(e: impl std::fmt::Display) -> BusError {
    BusError(e.to_string())
}

/// Both connections, subscribed, with their event receivers.
struct Connected {
    publisher: Client,
    subscriber: SubscriberClient,
    messages: tokio::sync::broadcast::Receiver<fred::types::Message>,
    reconnects: tokio::sync::broadcast::Receiver<fred::types::config::Server>,
}

/// How long one attempt to reach Redis may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

impl RedisLink {
    /// Connects, subscribes, and starts the publishing and delivering
    /// tasks. Redis being unreachable does not stop the server: events are
    /// delivered locally, and a task keeps trying (backoff up to 5 s); once
    /// connected, this instance's sockets and its peers resync. Only a bad
    /// URL is an error.
    pub async fn connect(
        url: &str,
        channel: &str,
        origin: InstanceId,
        hub: Arc<Hub>,
        metrics: Arc<Metrics>,
    ) -> Result<Self, BusError> {
        let config = RedisConfig::from_url(url).map_err(bus_err)?;
        let (queue, rx) = mpsc::channel(QUEUE);
        let lost = Arc::new(AtomicBool::new(false));
        let clients = Arc::new(OnceLock::new());
        // A healthy start is connected and subscribed before serving.
        let first = match establish(&config, channel).await {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(error.cause = %e, "Redis unreachable at start; serving locally and retrying");
                None
            }
        };
        let task = tokio::spawn(run(
            config,
            channel.to_string(),
            origin,
            hub,
            metrics,
            rx,
            lost.clone(),
            clients.clone(),
            first,
        ));
        Ok(Self {
            queue,
            lost,
            clients,
            _task: task,
        })
    }

    /// Events queued, not yet published.
    pub fn queue_depth(&self) -> usize {
        QUEUE - self.queue.capacity()
    }

    /// Whether both Redis connections are up.
    pub fn connected(&self) -> bool {
        self.clients
            .get()
            .is_some_and(|(p, s)| p.is_connected() && s.is_connected())
    }

    /// Queues an event for the other instances; never waits. A full queue
    /// drops it and marks peers for a resync.
    pub fn enqueue(&self, event: Event) {
        if self.queue.try_send(event).is_err() && !self.lost.swap(true, Ordering::Relaxed) {
            tracing::warn!("bus queue full; peers will resync");
        }
    }
}

/// Builds both clients, connects them and subscribes, within
/// [`CONNECT_TIMEOUT`] each.
async fn establish(config: &RedisConfig, channel: &str) -> Result<Connected, BusError> {
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
    let subscriber = build(config.clone())
        .build_subscriber_client()
        .map_err(bus_err)?;
    let connected = async {
        timeout(CONNECT_TIMEOUT, publisher.init())
            .await
            .map_err(|_| bus_err("connect timed out"))?
            .map_err(bus_err)?;
        timeout(CONNECT_TIMEOUT, subscriber.init())
            .await
            .map_err(|_| bus_err("connect timed out"))?
            .map_err(bus_err)?;
        let messages = subscriber.message_rx();
        let reconnects = subscriber.reconnect_rx();
        timeout(CONNECT_TIMEOUT, subscriber.subscribe(channel.to_string()))
            .await
            .map_err(|_| bus_err("subscribe timed out"))?
            .map_err(bus_err)?;
        Ok::<_, BusError>((messages, reconnects))
    }
    .await;
    match connected {
        Ok((messages, reconnects)) => Ok(Connected {
            publisher,
            subscriber,
            messages,
            reconnects,
        }),
        Err(e) => {
            // Stop their reconnect loops before dropping them.
            let _ = timeout(COMMAND_TIMEOUT, publisher.quit()).await;
            let _ = timeout(COMMAND_TIMEOUT, subscriber.quit()).await;
            Err(e)
        }
    }
}

/// Connects (if the first attempt failed), then delivers what peers
/// publish, resubscribes after reconnects, and publishes what is queued.
#[allow(clippy::too_many_arguments)]
async fn run(
    config: RedisConfig,
    channel: String,
    origin: InstanceId,
    hub: Arc<Hub>,
    metrics: Arc<Metrics>,
    rx: mpsc::Receiver<Event>,
    lost: Arc<AtomicBool>,
    clients: Arc<OnceLock<(Client, SubscriberClient)>>,
    first: Option<Connected>,
) {
    let connected = match first {
        Some(c) => c,
        None => {
            let mut backoff = Duration::from_millis(100);
            let c = loop {
                tokio::time::sleep(backoff).await;
                match establish(&config, &channel).await {
                    Ok(c) => break c,
                    Err(e) => tracing::debug!(error.cause = %e, "Redis still unreachable"),
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            };
            tracing::info!("Redis reached; resyncing sockets");
            // Peers may have missed what was published here meanwhile, and
            // this instance what they published.
            lost.store(true, Ordering::Relaxed);
            hub.resync_all(origin);
            c
        }
    };
    let Connected {
        publisher,
        subscriber,
        mut messages,
        mut reconnects,
    } = connected;
    let _ = clients.set((publisher.clone(), subscriber.clone()));

    let delivering_hub = hub.clone();
    tokio::spawn(async move {
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
    tokio::spawn(async move {
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

    publish_loop(publisher, channel, origin, rx, lost, metrics).await;
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
