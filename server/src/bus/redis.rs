//! Redis pub/sub transport (fred): every instance publishes to one channel
//! and delivers what it receives — its own events included — to its hub.

use std::sync::Arc;

use app::types::DashboardEvent;
use fred::clients::SubscriberClient;
use fred::prelude::*;
use fred::types::config::Config as RedisConfig;

use super::{Bus, BusError, Hub, Published};

pub struct RedisBus {
    hub: Arc<Hub>,
    publisher: Client,
    channel: String,
    _subscriber: SubscriberClient,
    _resubscriber: tokio::task::JoinHandle<()>,
}

impl RedisBus {
    /// Connects, subscribes, and starts delivering to `hub`.
    pub async fn connect(url: &str, channel: &str, hub: Arc<Hub>) -> Result<Self, BusError> {
        let config = RedisConfig::from_url(url).map_err(|e| BusError(e.to_string()))?;
        // Without a policy fred never reconnects (and never resubscribes).
        let policy = ReconnectPolicy::new_exponential(0, 100, 30_000, 2);
        let publisher = Builder::from_config(config.clone())
            .set_policy(policy.clone())
            .build()
            .map_err(|e| BusError(e.to_string()))?;
        publisher
            .init()
            .await
            .map_err(|e| BusError(e.to_string()))?;
        let subscriber = Builder::from_config(config)
            .set_policy(policy)
            .build_subscriber_client()
            .map_err(|e| BusError(e.to_string()))?;
        subscriber
            .init()
            .await
            .map_err(|e| BusError(e.to_string()))?;
        // Re-subscribes after a reconnect.
        let resubscriber = subscriber.manage_subscriptions();
        let mut rx = subscriber.message_rx();
        subscriber
            .subscribe(channel.to_string())
            .await
            .map_err(|e| BusError(e.to_string()))?;
        let delivering = hub.clone();
        tokio::spawn(async move {
            loop {
                match rx.recv().await {
                    Ok(message) => {
                        let Some(text) = message.value.as_str() else {
                            continue;
                        };
                        match serde_json::from_str::<DashboardEvent>(&text) {
                            Ok(event) => delivering.deliver(Published::new(event)),
                            Err(e) => tracing::warn!(error.cause = %e, "unreadable bus event"),
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(bus.skipped = n, "bus receiver lagged");
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                }
            }
        });
        Ok(Self {
            hub,
            publisher,
            channel: channel.to_string(),
            _subscriber: subscriber,
            _resubscriber: resubscriber,
        })
    }
}

#[async_trait::async_trait]
impl Bus for RedisBus {
    async fn publish(&self, event: DashboardEvent) -> Result<(), BusError> {
        let payload = serde_json::to_string(&event).map_err(|e| BusError(e.to_string()))?;
        self.publisher
            .publish::<(), _, _>(self.channel.as_str(), payload)
            .await
            .map_err(|e| BusError(e.to_string()))
    }

    fn hub(&self) -> &Hub {
        &self.hub
    }
}
