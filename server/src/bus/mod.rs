//! The message bus: how an event stored by one instance reaches every socket
//! on every instance.
//!
//! [`Bus::publish`] sends an event; each instance's [`Hub`] fans it out
//! locally — to every agent socket, and to the visitor sockets of that one
//! conversation. Two transports: [`LocalBus`] (in-process, the default) and
//! [`redis::RedisBus`] (Redis pub/sub through fred, when `REDIS_URL` is set).
//!
//! Events carry the full payload and the message's per-conversation `seq`,
//! so a client never re-fetches to learn what changed and can resume after
//! the last number it saw. Each event is serialised once per instance and
//! the bytes are shared by every socket.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use app::types::DashboardEvent;
use axum::extract::ws::Utf8Bytes;
use serde_json::json;
use tokio::sync::broadcast;

pub mod redis;

/// How many events a slow socket may fall behind before it must resync.
const SOCKET_BACKLOG: usize = 256;

/// One event, serialised once for each audience.
#[derive(Debug)]
pub struct Published {
    pub event: DashboardEvent,
    /// What agent sockets are sent.
    pub agent_frame: Utf8Bytes,
    /// What the conversation's visitor sockets are sent.
    pub visitor_frame: Utf8Bytes,
}

impl Published {
    pub fn new(event: DashboardEvent) -> Self {
        let agent_frame = serde_json::to_string(&event).expect("events serialise");
        let visitor_frame = match &event {
            DashboardEvent::Message { message, .. } => {
                json!({ "type": "message", "message": message })
            }
            DashboardEvent::Session { session } => json!({
                "type": "session",
                "session": { "status": session.status, "customer_id": session.customer_id },
            }),
        }
        .to_string();
        Self {
            event,
            agent_frame: agent_frame.into(),
            visitor_frame: visitor_frame.into(),
        }
    }

    pub fn session_id(&self) -> &str {
        match &self.event {
            DashboardEvent::Message { session_id, .. } => session_id,
            DashboardEvent::Session { session } => &session.id,
        }
    }

    /// The message's seq, for events that carry one.
    pub fn seq(&self) -> Option<i64> {
        match &self.event {
            DashboardEvent::Message { message, .. } => Some(message.seq),
            DashboardEvent::Session { .. } => None,
        }
    }
}

/// A transport for events between instances.
#[async_trait::async_trait]
pub trait Bus: Send + Sync + 'static {
    /// Sends an event to every instance, this one included.
    async fn publish(&self, event: DashboardEvent) -> Result<(), BusError>;
    /// This instance's local fan-out.
    fn hub(&self) -> &Hub;
}

#[derive(Debug, thiserror::Error)]
#[error("bus: {0}")]
pub struct BusError(pub String);

/// Local fan-out of events to the sockets of this instance.
pub struct Hub {
    agents: broadcast::Sender<Arc<Published>>,
    sessions: Mutex<HashMap<String, broadcast::Sender<Arc<Published>>>>,
}

impl Default for Hub {
    fn default() -> Self {
        Self {
            agents: broadcast::channel(SOCKET_BACKLOG * 4).0,
            sessions: Mutex::new(HashMap::new()),
        }
    }
}

impl Hub {
    /// Hands an event to the local sockets that want it.
    pub fn deliver(&self, published: Published) {
        let published = Arc::new(published);
        let _ = self.agents.send(published.clone());
        let sessions = self.sessions.lock().expect("hub lock");
        if let Some(tx) = sessions.get(published.session_id()) {
            let _ = tx.send(published);
        }
    }

    /// Every event, for an agent socket.
    pub fn subscribe_agents(&self) -> broadcast::Receiver<Arc<Published>> {
        self.agents.subscribe()
    }

    /// The events of one conversation, for a visitor socket. The channel is
    /// dropped with its last subscriber.
    pub fn subscribe_session(self: &Arc<Self>, session_id: &str) -> SessionSubscription {
        let mut sessions = self.sessions.lock().expect("hub lock");
        let rx = sessions
            .entry(session_id.to_string())
            .or_insert_with(|| broadcast::channel(SOCKET_BACKLOG).0)
            .subscribe();
        SessionSubscription {
            hub: self.clone(),
            session_id: session_id.to_string(),
            rx,
        }
    }

    /// How many conversations have a visitor socket here (for tests and
    /// metrics).
    pub fn watched_sessions(&self) -> usize {
        self.sessions.lock().expect("hub lock").len()
    }
}

/// A visitor socket's feed; unregisters itself when dropped.
pub struct SessionSubscription {
    hub: Arc<Hub>,
    session_id: String,
    pub rx: broadcast::Receiver<Arc<Published>>,
}

impl Drop for SessionSubscription {
    fn drop(&mut self) {
        let mut sessions = self.hub.sessions.lock().expect("hub lock");
        if let Some(tx) = sessions.get(&self.session_id) {
            // Our own receiver still counts until this drop finishes.
            if tx.receiver_count() <= 1 {
                sessions.remove(&self.session_id);
            }
        }
    }
}

/// The in-process transport: one instance, no Redis.
pub struct LocalBus {
    hub: Arc<Hub>,
}

impl LocalBus {
    pub fn new(hub: Arc<Hub>) -> Self {
        Self { hub }
    }
}

#[async_trait::async_trait]
impl Bus for LocalBus {
    async fn publish(&self, event: DashboardEvent) -> Result<(), BusError> {
        self.hub.deliver(Published::new(event));
        Ok(())
    }

    fn hub(&self) -> &Hub {
        &self.hub
    }
}

#[cfg(test)]
mod tests {
    use app::types::{MessageView, Sender};

    use super::*;

    fn message_event(session_id: &str, seq: i64) -> DashboardEvent {
        DashboardEvent::Message {
            session_id: session_id.into(),
            customer_id: "c".into(),
            message: MessageView {
                id: "m".into(),
                seq,
                sender: Sender::Customer,
                content: "hi".into(),
                created_at: "t".into(),
                client_id: None,
                agent_name: None,
            },
        }
    }

    #[tokio::test]
    async fn sessions_only_get_their_own_events() {
        let hub = Arc::new(Hub::default());
        let bus = LocalBus::new(hub.clone());
        let mut a = hub.subscribe_session("a");
        let mut b = hub.subscribe_session("b");
        let mut agents = hub.subscribe_agents();
        bus.publish(message_event("a", 1)).await.unwrap();
        assert_eq!(a.rx.recv().await.unwrap().seq(), Some(1));
        assert!(b.rx.try_recv().is_err());
        assert_eq!(agents.recv().await.unwrap().session_id(), "a");
    }

    #[tokio::test]
    async fn channels_go_with_their_last_subscriber() {
        let hub = Arc::new(Hub::default());
        let first = hub.subscribe_session("a");
        let second = hub.subscribe_session("a");
        assert_eq!(hub.watched_sessions(), 1);
        drop(first);
        assert_eq!(hub.watched_sessions(), 1);
        drop(second);
        assert_eq!(hub.watched_sessions(), 0);
    }

    #[test]
    fn visitor_frames_have_the_documented_shape() {
        let p = Published::new(message_event("s", 7));
        let v: serde_json::Value = serde_json::from_str(p.visitor_frame.as_str()).unwrap();
        assert_eq!(v["type"], "message");
        assert_eq!(v["message"]["seq"], 7);
        let a: serde_json::Value = serde_json::from_str(p.agent_frame.as_str()).unwrap();
        assert_eq!(a["type"], "message");
        assert_eq!(a["session_id"], "s");
        assert_eq!(a["customer_id"], "c");
    }
}
