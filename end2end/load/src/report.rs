//! The human table and the JSON report, built from whatever the run got to.

use std::sync::atomic::Ordering;

use serde_json::{json, Value};

use crate::args::Args;
use crate::shared::{lock, Shared};
use crate::stats::{mib, Latency, SeqBits};

/// Acknowledged (conversation, seq) pairs that `received` lacks.
pub fn missing(received: &SeqBits, acked: &[Vec<(u32, u32)>]) -> u64 {
    acked
        .iter()
        .enumerate()
        .map(|(conv, pairs)| {
            pairs
                .iter()
                .filter(|(_, seq)| !received.contains(conv as u32, *seq))
                .count() as u64
        })
        .sum()
}

/// How many of `received` were acknowledged (the rest: stored, ack lost).
fn acked_received(received: &SeqBits, acked: &[Vec<(u32, u32)>]) -> u64 {
    acked
        .iter()
        .enumerate()
        .map(|(conv, pairs)| {
            pairs
                .iter()
                .filter(|(_, seq)| received.contains(conv as u32, *seq))
                .count() as u64
        })
        .sum()
}

fn rate(n: u64, secs: f64) -> f64 {
    if secs > 0.0 {
        n as f64 / secs
    } else {
        0.0
    }
}

fn round(v: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (v * f).round() / f
}

/// (JSON, table, exit code).
pub fn build(a: &Args, shared: &Shared, deadline_hit: bool) -> (Value, String, i32) {
    let r = lock(&shared.results);
    let v = lock(&shared.visitors);
    let window = a.duration as f64;
    let mut reasons: Vec<String> = Vec::new();
    if deadline_hit {
        reasons.push("the hard deadline was reached".into());
    }
    if let Some(f) = &r.fatal {
        reasons.push(format!("the run failed: {f}"));
    }

    // Sending and acknowledgements.
    // Messages due in the window ÷ the time it took to write them (at
    // least the window): falls below the offered rate when the client lags.
    let window_start = shared.measure_from_ns.load(Ordering::Relaxed);
    let write_span = if v.last_measured_write_ns > window_start {
        (v.last_measured_write_ns - window_start) as f64 / 1e9
    } else {
        0.0
    };
    let achieved = rate(v.sent_measured, write_span.max(window));
    let persisted_window = rate(v.acked_in_window, window);
    let overall_secs = match r.send_start_ns {
        Some(s) if v.last_ack_ns > s => (v.last_ack_ns - s) as f64 / 1e9,
        _ => 0.0,
    };
    let persisted_overall = rate(v.acked, overall_secs);
    let mut ack_samples = v.ack_us.clone();
    let ack_lat = Latency::of(&mut ack_samples);
    let errors_total: u64 = v.errors.values().sum();
    let unacked = v.dispatched.saturating_sub(v.acked);
    if v.dispatched == 0 {
        reasons.push("nothing was sent".into());
    } else if unacked > 0 {
        reasons.push(format!(
            "{unacked} of {} messages not acknowledged",
            v.dispatched
        ));
    }

    // Delivery to agents.
    let mut per_agent = Vec::new();
    let mut agents_window = 0u64;
    let mut all_lat: Vec<u32> = Vec::new();
    let (mut missing_total, mut dup_total, mut resync_total) = (0u64, 0u64, 0u64);
    for (i, m) in shared.agents.iter().enumerate() {
        let ag = lock(m);
        let miss = missing(&ag.received, &v.acked_by_conv);
        let delivered = acked_received(&ag.received, &v.acked_by_conv);
        missing_total += miss;
        dup_total += ag.duplicates;
        resync_total += ag.resyncs;
        all_lat.extend_from_slice(&ag.lat_us);
        agents_window = agents_window.max(ag.received_in_window);
        if ag.dead {
            reasons.push(format!("agent socket {i} died"));
        }
        per_agent.push(json!({
            "agent": i,
            "delivered": delivered,
            "received_in_window": ag.received_in_window,
            "missing": miss,
            "duplicates": ag.duplicates,
            "resyncs": ag.resyncs,
            "reconnects": ag.reconnects,
            "unacknowledged_receipts": ag.received.len().saturating_sub(delivered),
            "foreign_events": ag.foreign,
            "close_codes": ag.close_codes,
            "dead": ag.dead,
        }));
    }
    let receipts = all_lat.len();
    let delivery_lat = Latency::of(&mut all_lat);
    if missing_total > 0 {
        reasons.push(format!("{missing_total} deliveries to agents missing"));
    }
    if dup_total > 0 {
        reasons.push(format!("{dup_total} duplicate deliveries to agents"));
    }
    if resync_total > 0 {
        reasons.push(format!(
            "{resync_total} agent resyncs (events may have been missed)"
        ));
    }

    // Read-back.
    let verification = match &r.verification {
        Some((c, endpoint, err)) => {
            if !c.exactly_once() {
                reasons.push("the read-back did not find every message stored exactly once".into());
            }
            json!({
                "exactly_once": c.exactly_once(),
                "endpoint": endpoint,
                "check": c,
                "first_error": err,
            })
        }
        None => {
            reasons.push("no read-back was made".into());
            Value::Null
        }
    };

    // Server CPU and idle sockets.
    // Stored during the window: acknowledged then, or (when acks lag)
    // delivered to an agent then — the server publishes only what it stored.
    let stored_in_window = v.acked_in_window.max(agents_window);
    let agents_rate = rate(agents_window, window);
    let cpu_per_msg = r
        .cpu
        .as_ref()
        .filter(|_| stored_in_window > 0)
        .map(|c| c.ms / stored_in_window as f64);
    let idle_dropped = shared.idle_dropped.load(Ordering::Relaxed);
    if let Some(idle) = &r.idle {
        if idle.failed > 0 {
            reasons.push(format!("{} idle sockets failed to open", idle.failed));
        }
        if idle_dropped > 0 {
            reasons.push(format!("{idle_dropped} idle sockets were dropped"));
        }
    }

    let ok = reasons.is_empty();
    let code = if ok { 0 } else { 1 };
    let lat_json = |l: &Latency| json!({ "p50_ms": l.p50_ms, "p99_ms": l.p99_ms, "max_ms": l.max_ms, "samples": l.count });
    let json = json!({
        "ok": ok,
        "exit_code": code,
        "failures": reasons,
        "deadline_hit": deadline_hit,
        "phase": r.phase,
        "config": {
            "url": a.url.http_base,
            "agent_url": a.agent_url.http_base,
            "visitors": a.visitors,
            "agents": a.agents,
            "rate": a.rate,
            "duration_s": a.duration,
            "warmup_s": a.warmup,
            "idle_sockets": a.idle_sockets,
            "sockets_per_conversation": a.sockets_per_conversation,
        },
        "conversations": { "wanted": r.conversations_wanted, "started": r.conversations_started },
        "sockets": { "agents": r.agents_connected, "visitors": r.visitors_connected },
        "rate": {
            "offered": a.rate,
            "achieved": round(achieved, 1),
            "written_in_window": v.sent_in_window,
            "late_sends": v.late_sends,
            "late_threshold_ms": crate::shared::LATE_US as f64 / 1000.0,
            "max_send_lag_ms": round(v.max_send_lag_us as f64 / 1000.0, 3),
        },
        "messages": {
            "measured": { "sent": v.dispatched_measured, "acknowledged": v.acked_measured, "failed": v.failed_measured },
            "all": { "sent": v.dispatched, "written": v.sent, "acknowledged": v.acked, "failed": v.failed },
            "errors": v.errors,
            "errors_total": errors_total,
            "retries": v.retries,
            "reconnects": v.reconnects,
            "resent_after_reconnect": v.resent_after_reconnect,
            "duplicate_acks": v.duplicate_acks,
            "dead_visitors": v.dead_visitors,
            "close_codes": v.close_codes,
        },
        "persisted_per_s": {
            "window": round(persisted_window, 1),
            "overall": round(persisted_overall, 1),
            "delivered_to_agents_in_window": round(agents_rate, 1),
        },
        "stored_in_window": stored_in_window,
        "ack_latency": lat_json(&ack_lat),
        "delivery": {
            "latency": lat_json(&delivery_lat),
            "receipts": receipts,
            "missing": missing_total,
            "duplicates": dup_total,
            "resyncs": resync_total,
            "per_agent": per_agent,
            "timed_out": r.delivery_timed_out,
        },
        "verification": verification,
        "server": {
            "pid": r.server_pid.map(|p| p.0),
            "pid_source": r.server_pid.map(|p| p.1),
            "cpu": r.cpu,
            "cpu_ms_per_message": cpu_per_msg.map(|c| round(c, 4)),
        },
        "idle": r.idle.as_ref().map(|i| {
            let mut j = serde_json::to_value(i).unwrap_or(Value::Null);
            j["dropped"] = idle_dropped.into();
            j
        }),
        "fd_limit": r.fd,
        "notes": r.notes,
        "elapsed_s": round(shared.t0.elapsed().as_secs_f64(), 1),
    });

    // The table.
    let mut rows: Vec<(String, String)> = Vec::new();
    let mut row = |k: &str, val: String| rows.push((k.to_string(), val));
    row(
        "conversations / agents",
        format!("{} / {}", r.conversations_started, r.agents_connected),
    );
    row(
        "rate offered / achieved",
        format!(
            "{} / {:.1} msg/s ({} late sends > {} ms, max lag {:.1} ms)",
            a.rate,
            achieved,
            v.late_sends,
            crate::shared::LATE_US / 1000,
            v.max_send_lag_us as f64 / 1000.0
        ),
    );
    let errs = if v.errors.is_empty() {
        format!("{errors_total} errors")
    } else {
        let by: Vec<String> = v.errors.iter().map(|(k, n)| format!("{k} {n}")).collect();
        format!("{errors_total} errors: {}", by.join(", "))
    };
    row(
        "acknowledged",
        format!("{} / {} ({errs})", v.acked_measured, v.dispatched_measured),
    );
    row(
        "all incl. warmup",
        format!(
            "{} acknowledged / {} sent, {} failed, {} retries, {} reconnects",
            v.acked, v.dispatched, v.failed, v.retries, v.reconnects
        ),
    );
    row(
        "persisted msg/s (window)",
        if a.agents > 0 {
            format!(
                "{persisted_window:.1} (overall {persisted_overall:.1}; agents got {agents_rate:.1} msg/s in the window)"
            )
        } else {
            format!("{persisted_window:.1} (overall {persisted_overall:.1})")
        },
    );
    row("ack latency p50/p99/max", ack_lat.text());
    row(
        "delivery p50/p99/max",
        format!(
            "{} ({receipts} receipts, {missing_total} missing, {dup_total} duplicate, {resync_total} resync)",
            delivery_lat.text()
        ),
    );
    if !per_agent.is_empty() {
        let counts: Vec<String> = per_agent
            .iter()
            .map(|p| format!("{}/{}", p["delivered"], p["missing"]))
            .collect();
        let text = if counts.len() <= 10 {
            counts.join(" ")
        } else {
            let d: Vec<u64> = per_agent
                .iter()
                .filter_map(|p| p["delivered"].as_u64())
                .collect();
            format!(
                "min {} max {} delivered over {} sockets",
                d.iter().min().unwrap_or(&0),
                d.iter().max().unwrap_or(&0),
                d.len()
            )
        };
        row("per agent delivered/missing", text);
    }
    let stored = match &r.verification {
        Some((c, endpoint, _)) => format!(
            "{} ({} messages in {} conversations, {}{} gaps, {} duplicate, {} missing, {} extra, {} unacknowledged; via {:?})",
            if c.exactly_once() { "yes" } else { "NO" },
            c.ours,
            c.conversations,
            if c.fetch_errors > 0 {
                format!("{} unreadable, ", c.fetch_errors)
            } else {
                String::new()
            },
            c.gaps + c.duplicate_seqs,
            c.duplicate_client_ids,
            c.missing_acknowledged + c.seq_mismatches,
            c.extra,
            c.stored_unacknowledged,
            endpoint,
        ),
        None => "not checked".into(),
    };
    row("stored exactly once", stored);
    let cpu = match (&r.cpu, cpu_per_msg) {
        (Some(c), Some(per)) => format!(
            "{per:.3} ms ({:.0} ms CPU over the window, {stored_in_window} messages stored in it)",
            c.ms
        ),
        _ => "n/a (no server pid)".into(),
    };
    row("server CPU per message", cpu);
    if let Some(i) = &r.idle {
        let each = match (i.bytes_each, i.rss_before, i.rss_after) {
            (Some(b), Some(before), Some(after)) => format!(
                ", {:.1} KiB each (RSS {} → {} MiB)",
                b / 1024.0,
                mib(before),
                mib(after)
            ),
            _ => " (RSS n/a: no server pid)".into(),
        };
        let n = i.source_addresses.len();
        let mut text = format!(
            "{} open{each}, {n} source address{}",
            i.open,
            if n == 1 { "" } else { "es" }
        );
        if i.failed > 0 || idle_dropped > 0 {
            text.push_str(&format!(", {} failed, {idle_dropped} dropped", i.failed));
        }
        row("idle sockets", text);
    }
    let fd = &r.fd;
    row(
        "open-file limit",
        if fd.raised {
            format!("soft {} → {} (hard {})", fd.soft_before, fd.soft, fd.hard)
        } else {
            format!(
                "soft {} (hard {}){}",
                fd.soft,
                fd.hard,
                fd.error
                    .as_deref()
                    .map(|e| format!(", {e}"))
                    .unwrap_or_default()
            )
        },
    );
    row(
        "result",
        if ok {
            "ZERO LOSS".to_string()
        } else {
            format!(
                "FAILED: {}",
                json["failures"]
                    .as_array()
                    .map(|f| f
                        .iter()
                        .filter_map(|x| x.as_str())
                        .collect::<Vec<_>>()
                        .join("; "))
                    .unwrap_or_default()
            )
        },
    );
    let mut table = format!("{:<29}{}\n", "what", "value");
    for (k, val) in rows {
        table.push_str(&format!("{k:<29}{val}\n"));
    }
    (json, table.trim_end().to_string(), code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_received() {
        let mut bits = SeqBits::new(2);
        bits.insert(0, 1);
        bits.insert(0, 2);
        bits.insert(1, 1);
        bits.insert(1, 7); // stored, ack never came
        let acked = vec![vec![(0, 1), (1, 2), (2, 3)], vec![(0, 1)]];
        assert_eq!(missing(&bits, &acked), 1);
        assert_eq!(acked_received(&bits, &acked), 3);
    }
}
