//! Prometheus metrics (the `prometheus-client` crate), served in the text
//! format at `/metrics` on `METRICS_ADDR` only — never on the public port.
//!
//! | metric | type | what |
//! |---|---|---|
//! | `defmis_sockets_open{kind}` | gauge | open sockets, `visitor` or `agent` |
//! | `defmis_messages_stored_total` | counter | messages committed (replays not counted) |
//! | `defmis_write_batch_size` | histogram | messages per group-commit transaction |
//! | `defmis_delivery_seconds` | histogram | visitor message stored → written to an agent socket |
//! | `defmis_bus_publish_failures_total` | counter | Redis publishes that failed or timed out |
//! | `defmis_bus_queue_depth` | gauge | events waiting to be published to Redis |
//! | `defmis_rate_limited_total{limit}` | counter | requests, messages and sockets refused by a limit |
//! | `defmis_login_failures_total` | counter | refused sign-ins |

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;

type Labels = Vec<(&'static str, &'static str)>;

/// Which socket a gauge counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SocketKind {
    Visitor,
    Agent,
}

impl SocketKind {
    fn as_str(self) -> &'static str {
        match self {
            SocketKind::Visitor => "visitor",
            SocketKind::Agent => "agent",
        }
    }
}

pub struct Metrics {
    registry: Registry,
    sockets_open: Family<Labels, Gauge>,
    messages_stored: Counter,
    batch_size: Histogram,
    commit: Histogram,
    writer_wait: Histogram,
    delivery: Histogram,
    bus_publish_failures: Counter,
    bus_queue_depth: Gauge,
    rate_limited: Family<Labels, Counter>,
    login_failures: Counter,
    auto_responses: Family<Labels, Counter>,
    automation_dropped: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("defmis");
        let sockets_open = Family::<Labels, Gauge>::default();
        registry.register("sockets_open", "Open sockets by kind", sockets_open.clone());
        let messages_stored = Counter::default();
        registry.register(
            "messages_stored",
            "Messages committed (replays not counted)",
            messages_stored.clone(),
        );
        let batch_size = Histogram::new(exponential_buckets(1.0, 2.0, 13));
        registry.register(
            "write_batch_size",
            "Messages per group-commit transaction",
            batch_size.clone(),
        );
        // 0.25 ms … 8 s.
        let commit = Histogram::new(exponential_buckets(0.000_25, 2.0, 16));
        registry.register(
            "write_batch_seconds",
            "One group-commit transaction, begin to durable commit",
            commit.clone(),
        );
        let writer_wait = Histogram::new(exponential_buckets(0.000_25, 2.0, 16));
        registry.register(
            "writer_wait_seconds",
            "How long a batch's oldest message waited for the writer",
            writer_wait.clone(),
        );
        let delivery = Histogram::new(exponential_buckets(0.000_25, 2.0, 16));
        registry.register(
            "delivery_seconds",
            "Visitor message stored to written on an agent socket",
            delivery.clone(),
        );
        let bus_publish_failures = Counter::default();
        registry.register(
            "bus_publish_failures",
            "Redis publishes that failed or timed out",
            bus_publish_failures.clone(),
        );
        let bus_queue_depth = Gauge::default();
        registry.register(
            "bus_queue_depth",
            "Events waiting to be published to Redis",
            bus_queue_depth.clone(),
        );
        let rate_limited = Family::<Labels, Counter>::default();
        registry.register(
            "rate_limited",
            "Requests, messages and sockets refused by a limit",
            rate_limited.clone(),
        );
        let login_failures = Counter::default();
        registry.register("login_failures", "Refused sign-ins", login_failures.clone());
        let auto_responses = Family::<Labels, Counter>::default();
        registry.register(
            "auto_responses",
            "Automated responses by outcome (fired, cooldown, max_reached, agent_replied, failed)",
            auto_responses.clone(),
        );
        let automation_dropped = Counter::default();
        registry.register(
            "automation_dropped",
            "Visitor messages not checked by automated responses: their queue was full",
            automation_dropped.clone(),
        );
        Self {
            registry,
            sockets_open,
            messages_stored,
            batch_size,
            commit,
            writer_wait,
            delivery,
            bus_publish_failures,
            bus_queue_depth,
            rate_limited,
            login_failures,
            auto_responses,
            automation_dropped,
        }
    }
}

/// Counts a socket as open until dropped.
pub struct OpenSocket {
    gauge: Gauge,
}

impl Drop for OpenSocket {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}

impl Metrics {
    pub fn socket_opened(&self, kind: SocketKind) -> OpenSocket {
        let gauge = self
            .sockets_open
            .get_or_create(&vec![("kind", kind.as_str())])
            .clone();
        gauge.inc();
        OpenSocket { gauge }
    }

    /// A committed batch of `size` messages, `new` of them not replays,
    /// whose oldest message waited `waited` for the writer and whose
    /// transaction took `took`.
    pub fn batch_written(&self, size: usize, new: usize, waited: Duration, took: Duration) {
        self.batch_size.observe(size as f64);
        self.writer_wait.observe(waited.as_secs_f64());
        self.commit.observe(took.as_secs_f64());
        self.messages_stored.inc_by(new as u64);
    }

    pub fn delivered_after(&self, seconds: f64) {
        self.delivery.observe(seconds.max(0.0));
    }

    pub fn auto_response(&self, outcome: app::automation::LogOutcome) {
        self.auto_responses
            .get_or_create(&vec![("outcome", outcome.as_str())])
            .inc();
    }

    pub fn automation_dropped(&self) {
        self.automation_dropped.inc();
    }

    pub fn publish_failed(&self) {
        self.bus_publish_failures.inc();
    }

    /// Creates a limit's counter at 0.
    pub fn declare_rate_limit(&self, limit: &'static str) {
        let _ = self.rate_limited.get_or_create(&vec![("limit", limit)]);
    }

    pub fn rate_limited(&self, limit: &'static str) {
        self.rate_limited
            .get_or_create(&vec![("limit", limit)])
            .inc();
    }

    pub fn login_failed(&self) {
        self.login_failures.inc();
    }

    /// The text exposition, with `queue_depth` as the bus queue's depth now.
    pub fn render(&self, queue_depth: usize) -> String {
        self.bus_queue_depth.set(queue_depth as i64);
        let mut text = String::new();
        if encode(&mut text, &self.registry).is_err() {
            text.clear();
        }
        text
    }
}

/// What the metrics endpoint reads.
#[derive(Clone)]
struct Scrape {
    metrics: Arc<Metrics>,
    queue_depth: Arc<dyn Fn() -> usize + Send + Sync>,
}

async fn scrape(State(s): State<Scrape>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.metrics.render((s.queue_depth)()),
    )
}

/// Binds `addr` and serves `/metrics` there until the process ends.
pub async fn serve(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    queue_depth: Arc<dyn Fn() -> usize + Send + Sync>,
) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = Router::new()
        .route("/metrics", get(scrape))
        .with_state(Scrape {
            metrics,
            queue_depth,
        });
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error.cause = %e, "metrics endpoint stopped");
        }
    });
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_metric() {
        let m = Metrics::default();
        let open = m.socket_opened(SocketKind::Visitor);
        m.batch_written(3, 2, Duration::from_millis(1), Duration::from_millis(2));
        m.delivered_after(0.002);
        m.rate_limited("starts");
        m.login_failed();
        let text = m.render(7);
        for line in [
            "defmis_sockets_open{kind=\"visitor\"} 1",
            "defmis_messages_stored_total 2",
            "defmis_write_batch_size_count 1",
            "defmis_delivery_seconds_count 1",
            "defmis_bus_queue_depth 7",
            "defmis_rate_limited_total{limit=\"starts\"} 1",
            "defmis_login_failures_total 1",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
        drop(open);
        assert!(m
            .render(0)
            .contains("defmis_sockets_open{kind=\"visitor\"} 0"));
    }
}
