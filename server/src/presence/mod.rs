//! Agent availability: "available" means at least one agent socket
//! (dashboard or API) that is not away is open on any instance.
//!
//! Each instance counts its own agent sockets, keeps one `agent_presence`
//! row per present agent (refreshed every [`REFRESH_EVERY`], expiring after
//! [`EXPIRES_AFTER`], so a crashed instance's rows stop counting), and
//! recomputes availability every [`RECOMPUTE_EVERY`] and at once when a
//! local socket opens or the last one of an agent closes. The current value
//! lives in a [`watch`] channel: the widget config reads it, visitor sockets
//! wait on it.
//!
//! # Layout
//! - this file: [`Presence`], [`PresenceGuard`], the refresh task.
//! - `store`: the queries.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use app::protocol::AgentServerFrame;
use app::types::AgentId;
use tokio::sync::{watch, Notify};
use tokio::time::{timeout, Instant};

pub mod store;

use store::PresenceStore;

/// How often this instance's rows are refreshed.
pub const REFRESH_EVERY: Duration = Duration::from_secs(15);
/// How long a row counts without a refresh.
pub const EXPIRES_AFTER: Duration = Duration::from_secs(45);
/// How often availability is recomputed from every instance's rows.
pub const RECOMPUTE_EVERY: Duration = Duration::from_secs(5);
/// The most one presence query may take.
const QUERY_TIMEOUT: Duration = Duration::from_secs(3);

/// One agent's sockets on this instance: how many, and how many of them
/// are away.
#[derive(Clone, Copy, Debug, Default)]
struct Sockets {
    open: usize,
    away: usize,
}

/// This instance's agent sockets, and the current availability.
pub struct Presence {
    local: Mutex<HashMap<AgentId, Sockets>>,
    /// The last `presence` frame of each of this instance's agent sockets,
    /// by socket id: what a new socket is told at once.
    board: Mutex<HashMap<String, AgentServerFrame>>,
    changed: Notify,
    tx: watch::Sender<bool>,
}

/// Held by an open agent socket; its drop counts the socket out.
pub struct PresenceGuard {
    presence: Arc<Presence>,
    agent: AgentId,
    away: bool,
}

impl PresenceGuard {
    /// Marks this socket away (its agent idle) or back.
    pub fn set_away(&mut self, away: bool) {
        if self.away == away {
            return;
        }
        self.away = away;
        let changed = {
            let mut local = self.presence.lock();
            let Some(s) = local.get_mut(&self.agent) else {
                return;
            };
            let before = s.open > s.away;
            if away {
                s.away += 1;
            } else {
                s.away = s.away.saturating_sub(1);
            }
            before != (s.open > s.away)
        };
        if changed {
            if !away {
                // Known at once here; other instances learn it from the row.
                self.presence
                    .tx
                    .send_if_modified(|v| !std::mem::replace(v, true));
            }
            self.presence.changed.notify_one();
        }
    }

    pub fn away(&self) -> bool {
        self.away
    }
}

impl Drop for PresenceGuard {
    fn drop(&mut self) {
        let changed = {
            let mut local = self.presence.lock();
            match local.get_mut(&self.agent) {
                Some(s) if s.open > 1 => {
                    let before = s.open > s.away;
                    s.open -= 1;
                    if self.away {
                        s.away = s.away.saturating_sub(1);
                    }
                    before != (s.open > s.away)
                }
                Some(_) => {
                    local.remove(&self.agent);
                    true
                }
                None => false,
            }
        };
        if changed {
            self.presence.changed.notify_one();
        }
    }
}

impl Presence {
    /// Starts the refresh task for instance `instance` (it ends when the
    /// returned value is dropped).
    pub fn start(store: PresenceStore, instance: String) -> Arc<Self> {
        let presence = Arc::new(Self {
            local: Mutex::new(HashMap::new()),
            board: Mutex::new(HashMap::new()),
            changed: Notify::new(),
            tx: watch::channel(false).0,
        });
        tokio::spawn(refresh(Arc::downgrade(&presence), store, instance));
        presence
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<AgentId, Sockets>> {
        // Counting cannot leave the map half-changed on a panic.
        self.local.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts an agent socket in until the guard is dropped.
    pub fn connected(self: &Arc<Self>, agent: &AgentId) -> PresenceGuard {
        let first = {
            let mut local = self.lock();
            let s = local.entry(agent.clone()).or_default();
            s.open += 1;
            s.open - s.away == 1
        };
        // Known at once here; other instances learn it from the row.
        self.tx.send_if_modified(|v| !std::mem::replace(v, true));
        if first {
            self.changed.notify_one();
        }
        PresenceGuard {
            presence: self.clone(),
            agent: agent.clone(),
            away: false,
        }
    }

    /// Records what a local socket announced (`None`: it closed).
    pub fn announced(&self, socket: &str, frame: Option<AgentServerFrame>) {
        let mut board = self.board.lock().unwrap_or_else(|e| e.into_inner());
        match frame {
            Some(frame) => board.insert(socket.to_string(), frame),
            None => board.remove(socket),
        };
    }

    /// The last `presence` frame of every local socket.
    pub fn local_board(&self) -> Vec<AgentServerFrame> {
        let board = self.board.lock().unwrap_or_else(|e| e.into_inner());
        board.values().cloned().collect()
    }

    /// Whether an agent is available now.
    pub fn available(&self) -> bool {
        *self.tx.borrow()
    }

    /// Availability, as it changes.
    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.tx.subscribe()
    }

    /// The agents with a socket here that is not away.
    fn local_agents(&self) -> HashSet<AgentId> {
        self.lock()
            .iter()
            .filter(|(_, s)| s.open > s.away)
            .map(|(agent, _)| agent.clone())
            .collect()
    }
}

/// Keeps this instance's rows fresh and the availability current, until
/// the [`Presence`] is dropped.
async fn refresh(presence: Weak<Presence>, store: PresenceStore, instance: String) {
    let mut written: HashSet<AgentId> = HashSet::new();
    let mut refreshed_at: Option<Instant> = None;
    while let Some(p) = presence.upgrade() {
        let local = p.local_agents();
        let due = refreshed_at.is_none_or(|at| at.elapsed() >= REFRESH_EVERY);
        if due || local != written {
            let expires = crate::storage::now()
                + chrono::Duration::from_std(EXPIRES_AFTER).unwrap_or_default();
            match timeout(QUERY_TIMEOUT, store.refresh(&instance, &local, expires)).await {
                Ok(Ok(())) => {
                    written = local.clone();
                    refreshed_at = Some(Instant::now());
                }
                Ok(Err(_)) | Err(_) => {
                    tracing::warn!("agent presence: could not refresh this instance's rows")
                }
            }
        }
        let anywhere = match timeout(QUERY_TIMEOUT, store.anyone_present()).await {
            Ok(Ok(present)) => present,
            // Storage unreachable: keep what we knew, and what we see.
            _ => *p.tx.borrow(),
        };
        let available = anywhere || !local.is_empty();
        p.tx.send_if_modified(|v| std::mem::replace(v, available) != available);
        tokio::select! {
            _ = p.changed.notified() => {}
            _ = tokio::time::sleep(RECOMPUTE_EVERY) => {}
        }
    }
}
