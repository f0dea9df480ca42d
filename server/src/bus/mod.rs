//! The event stream: how a change stored by one instance reaches every
//! socket on every instance.
//!
//! [`Bus::publish`] takes an [`Event`] (what changed, and its [`Audience`]),
//! delivers it at once to this instance's sockets through the [`Hub`] —
//! no round trip through Redis — and, with `REDIS_URL` set, queues it for
//! the other instances ([`redis`]). The queue is bounded and publishing
//! happens on its own task with a timeout, never on the acknowledgement
//! path. Each instance ignores its own events coming back from Redis.
//!
//! Nothing is ever silently missed: a visitor socket that falls behind
//! catches up from storage by seq; an agent socket that falls behind, or any
//! socket on an instance whose link to Redis was interrupted, gets a
//! [`Change::Resync`] (agents: `{"type":"resync"}`, and the dashboard
//! refetches).
//!
//! # Layout
//! - this file: [`Bus`] and [`Hub`].
//! - `event`: [`Event`], [`Audience`], [`Change`], [`Published`].
//! - `redis`: the Redis pub/sub link (fred).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};

use app::types::{AgentId, SessionId};
use tokio::sync::broadcast;

pub mod event;
pub mod redis;

pub use event::{Audience, Change, Event, InstanceId, Published};

/// How many events the agent channel holds before a slow agent socket must
/// resync.
pub const AGENT_BACKLOG: usize = 1024;
/// How many events one conversation's (or one agent's) channel holds before
/// a slow socket catches up from storage. Small: every idle visitor socket's
/// conversation has one, and a caught-up socket reads the rest from storage.
pub const ROOM_BACKLOG: usize = 16;

#[derive(Debug, thiserror::Error)]
#[error("bus: {0}")]
pub struct BusError(pub String);

/// The sending side of the event stream.
pub struct Bus {
    hub: Arc<Hub>,
    origin: InstanceId,
    remote: Option<redis::RedisLink>,
}

impl Bus {
    /// One instance, no Redis.
    pub fn local(hub: Arc<Hub>) -> Self {
        Self {
            hub,
            origin: InstanceId::random(),
            remote: None,
        }
    }

    /// Several instances over Redis pub/sub on `channel`.
    pub async fn redis(
        url: &str,
        channel: &str,
        hub: Arc<Hub>,
        metrics: Arc<crate::metrics::Metrics>,
    ) -> Result<Self, BusError> {
        let origin = InstanceId::random();
        let remote = redis::RedisLink::connect(url, channel, origin, hub.clone(), metrics).await?;
        Ok(Self {
            hub,
            origin,
            remote: Some(remote),
        })
    }

    /// Delivers to this instance's sockets now, and queues for the others.
    /// Never waits.
    pub fn publish(&self, audience: Audience, change: Change) {
        let event = Event {
            origin: self.origin,
            audience,
            change,
        };
        if let Some(remote) = &self.remote {
            remote.enqueue(event.clone());
        }
        self.hub.deliver(Arc::new(Published::new(event)));
    }

    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    /// Events waiting to be published to Redis (0 without Redis).
    pub fn queue_depth(&self) -> usize {
        self.remote
            .as_ref()
            .map_or(0, redis::RedisLink::queue_depth)
    }

    /// `None` without Redis; else whether Redis is connected.
    pub fn redis_connected(&self) -> Option<bool> {
        self.remote.as_ref().map(redis::RedisLink::connected)
    }

    pub fn origin(&self) -> InstanceId {
        self.origin
    }
}

/// A map of channels, one per key (a conversation, an agent), each dropped
/// with its last subscriber.
struct Rooms<K> {
    map: Mutex<HashMap<K, broadcast::Sender<Arc<Published>>>>,
}

impl<K: Eq + Hash + Clone> Rooms<K> {
    fn new() -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<K, broadcast::Sender<Arc<Published>>>> {
        // A panic while holding this lock cannot leave the map half-changed.
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn send(&self, key: &K, published: &Arc<Published>) {
        if let Some(tx) = self.lock().get(key) {
            let _ = tx.send(published.clone());
        }
    }

    fn send_all(&self, published: &Arc<Published>) {
        for tx in self.lock().values() {
            let _ = tx.send(published.clone());
        }
    }

    fn subscribe(self: &Arc<Self>, key: &K) -> Subscription<K> {
        let rx = self
            .lock()
            .entry(key.clone())
            .or_insert_with(|| broadcast::channel(ROOM_BACKLOG).0)
            .subscribe();
        Subscription {
            rooms: self.clone(),
            key: key.clone(),
            rx,
        }
    }
}

/// One socket's feed of a room; unregisters itself when dropped.
pub struct Subscription<K: Eq + Hash + Clone> {
    rooms: Arc<Rooms<K>>,
    key: K,
    pub rx: broadcast::Receiver<Arc<Published>>,
}

impl<K: Eq + Hash + Clone> Drop for Subscription<K> {
    fn drop(&mut self) {
        let mut map = self.rooms.lock();
        if let Some(tx) = map.get(&self.key) {
            // Our own receiver still counts until this drop finishes.
            if tx.receiver_count() <= 1 {
                map.remove(&self.key);
            }
        }
    }
}

/// Local fan-out of events to the sockets of this instance.
pub struct Hub {
    agents: broadcast::Sender<Arc<Published>>,
    sessions: Arc<Rooms<SessionId>>,
    agent_rooms: Arc<Rooms<AgentId>>,
}

impl Default for Hub {
    fn default() -> Self {
        Self {
            agents: broadcast::channel(AGENT_BACKLOG).0,
            sessions: Arc::new(Rooms::new()),
            agent_rooms: Arc::new(Rooms::new()),
        }
    }
}

impl Hub {
    /// Hands an event to the local sockets of its audience.
    pub fn deliver(&self, published: Arc<Published>) {
        match &published.event.audience {
            Audience::AgentsAndVisitors(session) => {
                let _ = self.agents.send(published.clone());
                self.sessions.send(session, &published);
            }
            Audience::Agents => {
                let _ = self.agents.send(published);
            }
            Audience::Visitors(session) => self.sessions.send(session, &published),
            Audience::Agent(agent) => self.agent_rooms.send(agent, &published),
            Audience::Everyone => {
                let _ = self.agents.send(published.clone());
                self.sessions.send_all(&published);
            }
        }
    }

    /// Tells every local socket it may have missed events.
    pub fn resync_all(&self, origin: InstanceId) {
        self.deliver(Arc::new(Published::new(Event {
            origin,
            audience: Audience::Everyone,
            change: Change::Resync,
        })));
    }

    /// Events for every agent.
    pub fn subscribe_agents(&self) -> broadcast::Receiver<Arc<Published>> {
        self.agents.subscribe()
    }

    /// Events for one agent.
    pub fn subscribe_agent(&self, agent: &AgentId) -> Subscription<AgentId> {
        self.agent_rooms.subscribe(agent)
    }

    /// The events of one conversation, for a visitor socket.
    pub fn subscribe_session(&self, session: &SessionId) -> Subscription<SessionId> {
        self.sessions.subscribe(session)
    }

    /// How many conversations have a visitor socket here.
    pub fn watched_sessions(&self) -> usize {
        self.sessions.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use app::types::{MessageView, Sender};

    use super::*;

    fn message(session: &str, seq: i64) -> Change {
        Change::MessageStored {
            session_id: session.into(),
            customer_id: "c".into(),
            message: MessageView {
                id: "m".into(),
                seq,
                sender: Sender::Customer,
                content: "hi".into(),
                created_at: "t".into(),
                client_id: None,
                agent_name: None,
                attachment: None,
            },
        }
    }

    #[tokio::test]
    async fn sessions_only_get_their_own_events() {
        let hub = Arc::new(Hub::default());
        let bus = Bus::local(hub.clone());
        let mut a = hub.subscribe_session(&"a".into());
        let mut b = hub.subscribe_session(&"b".into());
        let mut agents = hub.subscribe_agents();
        bus.publish(Audience::AgentsAndVisitors("a".into()), message("a", 1));
        assert_eq!(a.rx.recv().await.unwrap().seq(), Some(1));
        assert!(b.rx.try_recv().is_err());
        assert_eq!(agents.recv().await.unwrap().seq(), Some(1));
    }

    #[tokio::test]
    async fn one_agent_and_everyone() {
        let hub = Arc::new(Hub::default());
        let bus = Bus::local(hub.clone());
        let mut ann = hub.subscribe_agent(&"ann".into());
        let mut bob = hub.subscribe_agent(&"bob".into());
        let mut visitor = hub.subscribe_session(&"s".into());
        let mut agents = hub.subscribe_agents();
        bus.publish(Audience::Agent("ann".into()), Change::Resync);
        assert!(ann.rx.recv().await.unwrap().event.is_resync());
        assert!(bob.rx.try_recv().is_err());
        assert!(agents.try_recv().is_err());
        hub.resync_all(bus.origin());
        assert!(visitor.rx.recv().await.unwrap().event.is_resync());
        let p = agents.recv().await.unwrap();
        assert_eq!(
            p.agent_frame.as_ref().unwrap().as_str(),
            r#"{"type":"resync"}"#
        );
    }

    #[tokio::test]
    async fn channels_go_with_their_last_subscriber() {
        let hub = Arc::new(Hub::default());
        let first = hub.subscribe_session(&"a".into());
        let second = hub.subscribe_session(&"a".into());
        assert_eq!(hub.watched_sessions(), 1);
        drop(first);
        assert_eq!(hub.watched_sessions(), 1);
        drop(second);
        assert_eq!(hub.watched_sessions(), 0);
    }

    #[test]
    fn frames_have_the_documented_shape() {
        let p = Published::new(Event {
            origin: InstanceId(1),
            audience: Audience::AgentsAndVisitors("s".into()),
            change: message("s", 7),
        });
        let v: serde_json::Value =
            serde_json::from_str(p.visitor_frame.as_ref().unwrap().as_str()).unwrap();
        assert_eq!(v["type"], "message");
        assert_eq!(v["message"]["seq"], 7);
        let a: serde_json::Value =
            serde_json::from_str(p.agent_frame.as_ref().unwrap().as_str()).unwrap();
        assert_eq!(a["type"], "message");
        assert_eq!(a["session_id"], "s");
        assert_eq!(a["customer_id"], "c");
    }
}
