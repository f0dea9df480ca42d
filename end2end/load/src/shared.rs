//! The state every task writes into, so that a report can be made at any
//! moment — also when the hard deadline cuts the run short.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use serde::Serialize;

use crate::procfs::FdLimit;
use crate::stats::SeqBits;
use crate::verify::{Check, Endpoint};

/// A conversation started over HTTP.
#[derive(Clone, Debug)]
pub struct Conv {
    pub customer_id: String,
    pub token: String,
    pub session_id: String,
}

/// A send later than this after its scheduled instant is a "late send".
pub const LATE_US: u64 = 5_000;

pub struct Shared {
    /// The one clock: every `*_ns` is nanoseconds since this instant.
    pub t0: Instant,
    /// Messages scheduled at or after this are measured (end of warmup).
    pub measure_from_ns: AtomicU64,
    /// The end of the send window.
    pub measure_to_ns: AtomicU64,
    pub visitors: Mutex<VisitorStats>,
    pub agents: Vec<Mutex<AgentStats>>,
    pub idle_dropped: AtomicU64,
    pub results: Mutex<Results>,
}

impl Shared {
    pub fn new(visitors: usize, agents: usize) -> Self {
        Shared {
            t0: Instant::now(),
            measure_from_ns: AtomicU64::new(u64::MAX),
            measure_to_ns: AtomicU64::new(u64::MAX),
            visitors: Mutex::new(VisitorStats::new(visitors)),
            agents: (0..agents)
                .map(|_| Mutex::new(AgentStats::new(visitors)))
                .collect(),
            idle_dropped: AtomicU64::new(0),
            results: Mutex::new(Results::default()),
        }
    }

    pub fn now_ns(&self) -> u64 {
        self.t0.elapsed().as_nanos() as u64
    }

    /// Whether a message scheduled at `sched_ns` counts (not warmup).
    pub fn measured(&self, sched_ns: u64) -> bool {
        sched_ns >= self.measure_from_ns.load(Ordering::Relaxed)
    }

    /// Whether `ns` falls inside the measured send window.
    pub fn in_window(&self, ns: u64) -> bool {
        ns >= self.measure_from_ns.load(Ordering::Relaxed)
            && ns < self.measure_to_ns.load(Ordering::Relaxed)
    }

    pub fn note(&self, text: impl Into<String>) {
        let text = text.into();
        eprintln!("defmis-load: {text}");
        lock(&self.results).notes.push(text);
    }

    pub fn phase(&self, phase: &str) {
        eprintln!("defmis-load: {phase}");
        lock(&self.results).phase = phase.to_string();
    }
}

/// Locks, ignoring poisoning (a panicked task must not hide the report).
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[derive(Debug, Default)]
pub struct VisitorStats {
    /// Handed to visitor tasks by the scheduler (all, warmup included).
    pub dispatched: u64,
    /// Of those, scheduled in the measured window.
    pub dispatched_measured: u64,
    /// Written to a socket at least once.
    pub sent: u64,
    /// First written inside the measured window.
    pub sent_in_window: u64,
    /// Messages due in the window that were written, and the last such write.
    pub sent_measured: u64,
    pub last_measured_write_ns: u64,
    pub acked: u64,
    pub acked_measured: u64,
    /// Acknowledgements that arrived inside the measured window.
    pub acked_in_window: u64,
    pub first_send_ns: Option<u64>,
    pub last_ack_ns: u64,
    /// Given up on: a non-retryable error, too many retries, or a dead socket.
    pub failed: u64,
    pub failed_measured: u64,
    pub errors: BTreeMap<String, u64>,
    pub retries: u64,
    pub resent_after_reconnect: u64,
    pub reconnects: u64,
    pub dead_visitors: u64,
    pub duplicate_acks: u64,
    pub late_sends: u64,
    pub max_send_lag_us: u64,
    /// Ack latency of measured messages, microseconds.
    pub ack_us: Vec<u32>,
    /// Per conversation: (n, seq) of every acknowledged message.
    pub acked_by_conv: Vec<Vec<(u32, u32)>>,
    /// Per conversation: how many message numbers were handed out.
    pub dispatched_by_conv: Vec<u32>,
    pub close_codes: BTreeMap<u16, u64>,
}

impl VisitorStats {
    pub fn new(visitors: usize) -> Self {
        VisitorStats {
            acked_by_conv: vec![Vec::new(); visitors],
            dispatched_by_conv: vec![0; visitors],
            ..Default::default()
        }
    }
}

#[derive(Debug, Default)]
pub struct AgentStats {
    pub connected: bool,
    pub received: SeqBits,
    /// Message events of this run's conversations, duplicates included.
    pub frames: u64,
    /// First receipts that arrived inside the measured window.
    pub received_in_window: u64,
    pub duplicates: u64,
    /// `{"type":"resync"}` frames, plus closes by the server (events may be lost).
    pub resyncs: u64,
    pub reconnects: u64,
    pub dead: bool,
    /// Message events of conversations this run did not start.
    pub foreign: u64,
    /// Delivery latency of measured messages, microseconds.
    pub lat_us: Vec<u32>,
    pub close_codes: BTreeMap<u16, u64>,
}

impl AgentStats {
    pub fn new(conversations: usize) -> Self {
        AgentStats {
            received: SeqBits::new(conversations),
            ..Default::default()
        }
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Cpu {
    pub ticks: u64,
    pub clk_tck: u64,
    pub ms: f64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Idle {
    pub requested: u32,
    pub conversations: u32,
    pub open: u32,
    pub failed: u32,
    pub first_error: Option<String>,
    pub source_addresses: Vec<String>,
    pub rss_before: Option<u64>,
    pub rss_after: Option<u64>,
    pub bytes_each: Option<f64>,
    pub open_seconds: f64,
}

#[derive(Debug, Default)]
pub struct Results {
    pub phase: String,
    pub conversations_wanted: u32,
    pub conversations_started: u32,
    pub agents_connected: u32,
    pub visitors_connected: u32,
    pub send_start_ns: Option<u64>,
    pub send_end_ns: Option<u64>,
    pub server_pid: Option<(u32, &'static str)>,
    pub cpu: Option<Cpu>,
    pub idle: Option<Idle>,
    pub verification: Option<(Check, Endpoint, Option<String>)>,
    pub fd: FdLimit,
    pub notes: Vec<String>,
    pub drain_timed_out: bool,
    pub delivery_timed_out: bool,
    pub fatal: Option<String>,
}
