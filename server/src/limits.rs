//! What one client may do: conversation starts and messages per minute
//! (GCRA rate limiters from the `governor` crate), open sockets per address
//! and per conversation (counts held by the sockets themselves), failed
//! sign-ins per username and per address, and the argon2 semaphore. Also
//! the client's address, read from `X-Forwarded-For` only when the peer is a
//! trusted proxy.
//!
//! With `LIMITS=off` nothing here refuses anything (the semaphore stays:
//! it bounds memory, not clients).
//!
//! # Layout
//! - [`Limits`]: every limit of one instance, built from [`LimitSettings`].
//! - [`ClientAddr`]: the extractor for the client's address.
//! - [`Slot`]: a socket's place in an open-socket count; freed on drop.
//! - `FailureLog`: recent failures per key (sign-ins).

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::types::SessionId;
use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use ipnet::IpNet;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::config::LimitSettings;
use crate::error::AppError;
use crate::metrics::Metrics;

/// Most distinct keys a failure log keeps; the oldest are dropped first.
const FAILURE_KEYS_MAX: usize = 100_000;

/// Which limit refused something (metrics, logs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Limit {
    Starts,
    Messages,
    Pages,
    Attachments,
    SocketsPerAddress,
    SocketsPerConversation,
    LoginUsername,
    LoginAddress,
}

impl Limit {
    pub const ALL: [Limit; 8] = [
        Limit::Starts,
        Limit::Messages,
        Limit::Pages,
        Limit::Attachments,
        Limit::SocketsPerAddress,
        Limit::SocketsPerConversation,
        Limit::LoginUsername,
        Limit::LoginAddress,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Limit::Starts => "starts",
            Limit::Messages => "messages",
            Limit::Pages => "pages",
            Limit::Attachments => "attachments",
            Limit::SocketsPerAddress => "sockets_per_address",
            Limit::SocketsPerConversation => "sockets_per_conversation",
            Limit::LoginUsername => "login_username",
            Limit::LoginAddress => "login_address",
        }
    }
}

/// An address as limits see it: IPv6 clients by their /64 (one home or
/// host usually owns a whole /64).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AddrKey(IpAddr);

impl From<IpAddr> for AddrKey {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => AddrKey(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => AddrKey(IpAddr::V4(v4)),
                None => {
                    let s = v6.segments();
                    AddrKey(IpAddr::V6(Ipv6Addr::new(
                        s[0], s[1], s[2], s[3], 0, 0, 0, 0,
                    )))
                }
            },
        }
    }
}

pub struct Limits {
    settings: LimitSettings,
    trusted: Vec<IpNet>,
    starts: DefaultKeyedRateLimiter<AddrKey>,
    messages: DefaultKeyedRateLimiter<SessionId>,
    pages: DefaultKeyedRateLimiter<SessionId>,
    attachments: DefaultKeyedRateLimiter<SessionId>,
    login_users: FailureLog<String>,
    login_addrs: FailureLog<AddrKey>,
    sockets_by_addr: Arc<Counts<AddrKey>>,
    sockets_by_conversation: Arc<Counts<SessionId>>,
    hashing: Arc<Semaphore>,
    metrics: Arc<Metrics>,
}

fn nonzero(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

impl Limits {
    pub fn new(settings: LimitSettings, trusted: Vec<IpNet>, metrics: Arc<Metrics>) -> Self {
        // Every limit's counter exists from the start, at 0, so a dashboard
        // tells "never refused" from "not reported".
        for limit in Limit::ALL {
            metrics.declare_rate_limit(limit.as_str());
        }
        let starts = Quota::per_minute(nonzero(settings.starts_per_minute));
        let messages = Quota::per_minute(nonzero(settings.messages_per_minute))
            .allow_burst(nonzero(settings.message_burst));
        let pages = Quota::per_minute(nonzero(settings.pages_per_minute));
        let attachments = Quota::per_minute(nonzero(settings.attachments_per_minute));
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            login_users: FailureLog::new(
                settings.login_failures_per_username,
                settings.login_window,
            ),
            login_addrs: FailureLog::new(
                settings.login_failures_per_address,
                settings.login_window,
            ),
            starts: RateLimiter::keyed(starts),
            messages: RateLimiter::keyed(messages),
            pages: RateLimiter::keyed(pages),
            attachments: RateLimiter::keyed(attachments),
            sockets_by_addr: Arc::new(Counts::new(settings.sockets_per_address)),
            sockets_by_conversation: Arc::new(Counts::new(settings.sockets_per_conversation)),
            hashing: Arc::new(Semaphore::new(cpus)),
            metrics,
            settings,
            trusted,
        }
    }

    pub fn enabled(&self) -> bool {
        self.settings.enabled
    }

    pub fn settings(&self) -> &LimitSettings {
        &self.settings
    }

    fn refuse(&self, limit: Limit, message: String, wait: Duration) -> AppError {
        self.metrics.rate_limited(limit.as_str());
        tracing::info!(limit = limit.as_str(), "rate limited");
        AppError::RateLimited(message, wait)
    }

    fn check<K: Hash + Eq + Clone>(
        &self,
        limiter: &DefaultKeyedRateLimiter<K>,
        key: &K,
        limit: Limit,
        message: &str,
    ) -> Result<(), AppError> {
        if !self.settings.enabled {
            return Ok(());
        }
        limiter.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            self.refuse(limit, message.to_string(), wait)
        })
    }

    /// One conversation start from `addr`.
    pub fn start(&self, addr: ClientAddr) -> Result<(), AppError> {
        self.check(
            &self.starts,
            &addr.key(),
            Limit::Starts,
            "Too many new conversations from your address; try again later.",
        )
    }

    /// One visitor message into `conversation` (socket and HTTP share it).
    pub fn message(&self, conversation: &SessionId) -> Result<(), AppError> {
        self.check(
            &self.messages,
            conversation,
            Limit::Messages,
            "You are sending messages too fast; this one was not stored.",
        )
    }

    /// One page change a visitor's browser reports for `conversation`.
    pub fn page(&self, conversation: &SessionId) -> Result<(), AppError> {
        self.check(
            &self.pages,
            conversation,
            Limit::Pages,
            "Too many page changes reported; this one was not stored.",
        )
    }

    /// One file a visitor uploads into `conversation`.
    pub fn attachment(&self, conversation: &SessionId) -> Result<(), AppError> {
        self.check(
            &self.attachments,
            conversation,
            Limit::Attachments,
            "You are sending files too fast; this one was not stored.",
        )
    }

    /// A place for one more socket from `addr`, or the limit that is full.
    pub fn socket_from(&self, addr: ClientAddr) -> Result<Slot, Limit> {
        Counts::enter(&self.sockets_by_addr, addr.key(), self.settings.enabled)
            .ok_or_else(|| self.count_refusal(Limit::SocketsPerAddress))
    }

    /// A place for one more visitor socket in `conversation`.
    pub fn socket_in(&self, conversation: &SessionId) -> Result<Slot, Limit> {
        Counts::enter(
            &self.sockets_by_conversation,
            conversation.clone(),
            self.settings.enabled,
        )
        .ok_or_else(|| self.count_refusal(Limit::SocketsPerConversation))
    }

    fn count_refusal(&self, limit: Limit) -> Limit {
        self.metrics.rate_limited(limit.as_str());
        limit
    }

    /// Refuses a sign-in attempt while `username` or `addr` has too many
    /// recent failures.
    pub fn login_allowed(&self, username: &str, addr: ClientAddr) -> Result<(), AppError> {
        if !self.settings.enabled {
            return Ok(());
        }
        let message = "Too many failed sign-ins; wait before trying again.";
        if let Some(wait) = self.login_users.blocked(&username.to_lowercase()) {
            return Err(self.refuse(Limit::LoginUsername, message.into(), wait));
        }
        if let Some(wait) = self.login_addrs.blocked(&addr.key()) {
            return Err(self.refuse(Limit::LoginAddress, message.into(), wait));
        }
        Ok(())
    }

    /// Records a failed sign-in.
    pub fn login_failed(&self, username: &str, addr: ClientAddr) {
        self.metrics.login_failed();
        self.login_users.record(username.to_lowercase());
        self.login_addrs.record(addr.key());
    }

    /// A turn at argon2: at most one hash per CPU at a time, so a flood of
    /// sign-ins queues instead of taking every thread and 19 MiB each.
    pub async fn hashing_turn(&self) -> Result<OwnedSemaphorePermit, AppError> {
        self.hashing
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| AppError::Unavailable("The server is stopping.".into()))
    }

    /// Forgets idle limiter state (called every minute).
    pub fn sweep(&self) {
        self.starts.retain_recent();
        self.starts.shrink_to_fit();
        self.messages.retain_recent();
        self.messages.shrink_to_fit();
        self.pages.retain_recent();
        self.pages.shrink_to_fit();
        self.attachments.retain_recent();
        self.attachments.shrink_to_fit();
        self.login_users.sweep();
        self.login_addrs.sweep();
    }

    /// Open sockets counted (all addresses).
    pub fn open_sockets(&self) -> u64 {
        self.sockets_by_addr.total()
    }

    /// The client address of a request: the peer, or — when the peer is a
    /// trusted proxy — the right-most `X-Forwarded-For` address that is not
    /// itself a trusted proxy.
    pub fn client_addr(&self, peer: IpAddr, headers: &HeaderMap) -> ClientAddr {
        if !self.trusted.iter().any(|n| n.contains(&peer)) {
            return ClientAddr(peer);
        }
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        for hop in forwarded.iter().rev() {
            let Ok(ip) = hop.parse::<IpAddr>() else {
                // A malformed hop: trust nothing further left.
                return ClientAddr(peer);
            };
            if !self.trusted.iter().any(|n| n.contains(&ip)) {
                return ClientAddr(ip);
            }
        }
        ClientAddr(peer)
    }
}

/// The address a request or socket comes from (see [`Limits::client_addr`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    fn key(self) -> AddrKey {
        AddrKey::from(self.0)
    }
}

impl std::fmt::Display for ClientAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The client address, for any router state the limits come from.
impl<S> FromRequestParts<S> for ClientAddr
where
    S: Send + Sync,
    Arc<Limits>: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Ok(client_addr(parts, &Arc::<Limits>::from_ref(state)))
    }
}

/// The client address of a request (the peer's when the connection info is
/// missing, which only in-process tests do).
pub fn client_addr(parts: &Parts, limits: &Limits) -> ClientAddr {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::V6(Ipv6Addr::LOCALHOST));
    limits.client_addr(peer, &parts.headers)
}

/// Counts of open things per key, each at most `max` while enforced.
struct Counts<K> {
    max: u32,
    open: Mutex<HashMap<K, u32>>,
}

impl<K: Hash + Eq + Clone + Send + Sync + 'static> Counts<K> {
    fn new(max: u32) -> Self {
        Self {
            max,
            open: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, u32>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn enter(counts: &Arc<Self>, key: K, enforce: bool) -> Option<Slot> {
        let mut open = counts.lock();
        let n = open.entry(key.clone()).or_insert(0);
        if enforce && *n >= counts.max {
            return None;
        }
        *n += 1;
        Some(Slot(Box::new(Entered {
            counts: counts.clone(),
            key: Some(key),
        })))
    }

    fn leave(&self, key: &K) {
        let mut open = self.lock();
        if let Some(n) = open.get_mut(key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(key);
            }
        }
    }

    fn total(&self) -> u64 {
        self.lock().values().map(|n| u64::from(*n)).sum()
    }
}

struct Entered<K: Hash + Eq + Clone + Send + Sync + 'static> {
    counts: Arc<Counts<K>>,
    key: Option<K>,
}

impl<K: Hash + Eq + Clone + Send + Sync + 'static> Drop for Entered<K> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.counts.leave(&key);
        }
    }
}

/// A socket's place in an open-socket count, given back when dropped.
pub struct Slot(#[allow(dead_code, reason = "held for its Drop")] Box<dyn Send + Sync>);

/// Recent failures per key, within a sliding window: at `max` failures the
/// key is blocked until the oldest leaves the window. (A rate limiter
/// cannot count only failures: it consumes a cell before it knows the
/// outcome, so this small log does.)
struct FailureLog<K> {
    max: usize,
    window: Duration,
    log: Mutex<HashMap<K, VecDeque<Instant>>>,
}

impl<K: Hash + Eq + Clone> FailureLog<K> {
    fn new(max: u32, window: Duration) -> Self {
        Self {
            max: max.max(1) as usize,
            window,
            log: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, VecDeque<Instant>>> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How long `key` stays blocked, if it is.
    fn blocked(&self, key: &K) -> Option<Duration> {
        let now = Instant::now();
        let mut log = self.lock();
        let times = log.get_mut(key)?;
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            times.pop_front();
        }
        if times.len() < self.max {
            return None;
        }
        let oldest = *times.front()?;
        Some((oldest + self.window).saturating_duration_since(now))
    }

    fn record(&self, key: K) {
        let now = Instant::now();
        let mut log = self.lock();
        if log.len() >= FAILURE_KEYS_MAX && !log.contains_key(&key) {
            // Bounded: under a flood of distinct keys, forget the stalest.
            let stalest = log
                .iter()
                .min_by_key(|(_, t)| t.back().copied())
                .map(|(k, _)| k.clone());
            if let Some(k) = stalest {
                log.remove(&k);
            }
        }
        let times = log.entry(key).or_default();
        times.push_back(now);
        while times.len() > self.max {
            times.pop_front();
        }
    }

    fn sweep(&self) {
        let now = Instant::now();
        self.lock().retain(|_, times| {
            times
                .back()
                .is_some_and(|t| now.duration_since(*t) < self.window)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::types::ErrorCode;

    fn settings() -> LimitSettings {
        crate::config::Config::from_lookup(|k| (k == "SECRET_KEY").then(|| "k".repeat(40)))
            .unwrap()
            .limits
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_only_from_trusted_proxies() {
        let limits = Limits::new(
            settings(),
            vec!["10.0.0.0/8".parse().unwrap()],
            Default::default(),
        );
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            "6.6.6.6, 203.0.113.7, 10.1.1.1".parse().unwrap(),
        );
        // An untrusted peer's header is ignored.
        assert_eq!(
            limits.client_addr(ip("198.51.100.1"), &h).0,
            ip("198.51.100.1")
        );
        // From a proxy: the right-most address that is not a proxy.
        assert_eq!(limits.client_addr(ip("10.0.0.2"), &h).0, ip("203.0.113.7"));
        h.insert("x-forwarded-for", "garbage".parse().unwrap());
        assert_eq!(limits.client_addr(ip("10.0.0.2"), &h).0, ip("10.0.0.2"));
        assert_eq!(
            limits.client_addr(ip("10.0.0.2"), &HeaderMap::new()).0,
            ip("10.0.0.2")
        );
    }

    #[test]
    fn ipv6_clients_share_their_64() {
        assert_eq!(
            AddrKey::from(ip("2001:db8:1:2:aaaa::1")),
            AddrKey::from(ip("2001:db8:1:2:bbbb::9"))
        );
        assert_ne!(
            AddrKey::from(ip("2001:db8:1:2::1")),
            AddrKey::from(ip("2001:db8:1:3::1"))
        );
        assert_eq!(
            AddrKey::from(ip("::ffff:1.2.3.4")),
            AddrKey::from(ip("1.2.3.4"))
        );
    }

    #[test]
    fn starts_are_limited_per_address_and_lifted_by_limits_off() {
        let limits = Limits::new(settings(), vec![], Default::default());
        let a = ClientAddr(ip("192.0.2.1"));
        for _ in 0..10 {
            limits.start(a).unwrap();
        }
        let e = limits.start(a).unwrap_err();
        assert_eq!(e.code(), ErrorCode::RateLimited);
        assert!(e.retry_after_secs().unwrap() >= 1);
        limits.start(ClientAddr(ip("192.0.2.2"))).unwrap();
        let mut off = settings();
        off.enabled = false;
        let limits = Limits::new(off, vec![], Default::default());
        for _ in 0..100 {
            limits.start(a).unwrap();
        }
    }

    #[test]
    fn socket_counts_are_given_back() {
        let mut s = settings();
        s.sockets_per_conversation = 2;
        s.sockets_per_address = 3;
        let limits = Limits::new(s, vec![], Default::default());
        let a = ClientAddr(ip("192.0.2.1"));
        let c = SessionId::from("c".to_string());
        let one = limits.socket_in(&c).unwrap();
        let _two = limits.socket_in(&c).unwrap();
        assert_eq!(
            limits.socket_in(&c).err(),
            Some(Limit::SocketsPerConversation)
        );
        let slots: Vec<_> = (0..3).map(|_| limits.socket_from(a).unwrap()).collect();
        assert_eq!(limits.socket_from(a).err(), Some(Limit::SocketsPerAddress));
        assert!(limits.socket_from(ClientAddr(ip("192.0.2.9"))).is_ok());
        drop(one);
        limits.socket_in(&c).unwrap();
        drop(slots);
        assert_eq!(limits.open_sockets(), 0);
    }

    /// A flood of sign-ins queues for argon2 instead of hashing on every
    /// blocking thread at once.
    #[tokio::test]
    async fn password_hashing_runs_at_most_once_per_cpu() {
        let limits = Limits::new(settings(), vec![], Default::default());
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        let mut turns = Vec::new();
        for _ in 0..cpus {
            turns.push(limits.hashing_turn().await.unwrap());
        }
        let waited = tokio::time::timeout(Duration::from_millis(100), limits.hashing_turn()).await;
        assert!(waited.is_err(), "a turn beyond the CPU count was granted");
        turns.pop();
        let next = tokio::time::timeout(Duration::from_millis(100), limits.hashing_turn()).await;
        assert!(next.is_ok());
    }

    #[test]
    fn failures_block_until_the_window_passes() {
        let log = FailureLog::new(3, Duration::from_secs(60));
        for _ in 0..2 {
            log.record("ann".to_string());
        }
        assert!(log.blocked(&"ann".to_string()).is_none());
        log.record("ann".to_string());
        let wait = log.blocked(&"ann".to_string()).unwrap();
        assert!(wait > Duration::from_secs(50) && wait <= Duration::from_secs(60));
        assert!(log.blocked(&"bob".to_string()).is_none());
    }
}
