//! One visitor socket: sends what the scheduler hands it, matches
//! acknowledgements by client_id, retries retryable errors, and reconnects
//! (resuming after the highest seq seen) when the server asks it to.

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use serde::Deserialize;
use tokio::sync::{mpsc, watch};
use tokio::time::{sleep_until, timeout, Instant};
use tokio_tungstenite::tungstenite::Message;

use crate::args::Target;
use crate::net::{self, Ws};
use crate::shared::{lock, Conv, Shared, LATE_US};
use crate::verify::{client_id, parse_client_id};

/// A message to send: its number for this visitor, and when it was due.
#[derive(Clone, Copy, Debug)]
pub struct Cmd {
    pub n: u32,
    pub sched_ns: u64,
}

/// Retries of one message after retryable errors.
const MAX_ATTEMPTS: u32 = 5;
/// Reconnects of one visitor over the whole run.
const MAX_RECONNECTS: u32 = 10;

struct Pending {
    sched_ns: u64,
    attempts: u32,
    written: bool,
}

#[derive(Deserialize)]
struct Frame<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    message: Option<MsgRef<'a>>,
    #[serde(default, borrow)]
    error: Option<ErrRef<'a>>,
    #[serde(default, borrow)]
    client_id: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct MsgRef<'a> {
    #[serde(default)]
    seq: i64,
    #[serde(default, borrow)]
    client_id: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ErrRef<'a> {
    #[serde(default, borrow)]
    code: Option<Cow<'a, str>>,
    #[serde(default)]
    retryable: Option<bool>,
}

/// Whether an error frame means "send the same client_id again later".
pub fn retryable(code: &str, flag: Option<bool>) -> bool {
    flag.unwrap_or(false) || matches!(code, "rate_limited" | "internal" | "unavailable")
}

/// Close codes after which the visitor reconnects with the same credentials.
pub fn reconnectable(code: u16) -> bool {
    !matches!(code, 1002 | 1003 | 1007 | 1008 | 1009 | 1010)
}

/// The frame sent for message `n`: content embeds the scheduled instant.
pub fn message_frame(visitor: u32, n: u32, sched_ns: u64) -> String {
    let cid = client_id(visitor, n);
    format!(r#"{{"type":"message","content":"load t={sched_ns} id={cid}","client_id":"{cid}"}}"#)
}

/// The scheduled instant embedded by [`message_frame`].
pub fn parse_sched_ns(content: &str) -> Option<u64> {
    content
        .strip_prefix("load t=")?
        .split(' ')
        .next()?
        .parse()
        .ok()
}

pub struct Visitor {
    pub idx: u32,
    pub conv: Conv,
    pub target: Target,
    pub shared: Arc<Shared>,
}

enum Next {
    Continue,
    Reconnect(Option<u16>),
    Dead(String),
}

impl Visitor {
    fn path(&self) -> String {
        format!("/ws/chat/{}/", self.conv.customer_id)
    }

    /// Opens and authenticates the socket (the pong proves auth passed).
    pub async fn open(&self, after: Option<i64>) -> anyhow::Result<(Ws, Vec<String>)> {
        let mut ws = net::connect(&self.target, &self.path(), None, None, false).await?;
        net::visitor_auth(&mut ws, &self.conv.token, after).await?;
        let early = net::confirm(&mut ws, Duration::from_secs(10)).await?;
        Ok((ws, early))
    }

    pub async fn run(
        self,
        mut ws: Ws,
        mut rx: mpsc::UnboundedReceiver<Cmd>,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut pending: HashMap<u32, Pending> = HashMap::new();
        let mut retry: BinaryHeap<Reverse<(Instant, u32)>> = BinaryHeap::new();
        let mut max_seq: i64 = 0;
        let mut reconnects = 0u32;
        let mut input_open = true;
        let far = Instant::now() + Duration::from_secs(365 * 24 * 3600);
        loop {
            let next_retry = retry.peek().map(|r| r.0 .0);
            let step = tokio::select! {
                biased;
                _ = stop.changed() => break,
                frame = ws.next() => match frame {
                    Some(Ok(Message::Text(t))) => {
                        self.handle(t.as_str(), &mut pending, &mut retry, &mut max_seq);
                        Next::Continue
                    }
                    Some(Ok(Message::Close(f))) => {
                        let code = f.map(|f| u16::from(f.code));
                        match code {
                            Some(c) if !reconnectable(c) => Next::Dead(format!("closed by the server with {c}")),
                            c => Next::Reconnect(c),
                        }
                    }
                    Some(Ok(_)) => Next::Continue,
                    Some(Err(_)) | None => Next::Reconnect(None),
                },
                cmd = rx.recv(), if input_open => match cmd {
                    Some(cmd) => {
                        pending.insert(cmd.n, Pending { sched_ns: cmd.sched_ns, attempts: 0, written: false });
                        self.write(&mut ws, cmd.n, &mut pending).await
                    }
                    None => {
                        input_open = false;
                        Next::Continue
                    }
                },
                _ = sleep_until(next_retry.unwrap_or(far)), if next_retry.is_some() => {
                    let mut step = Next::Continue;
                    let now = Instant::now();
                    while let Some(Reverse((due, n))) = retry.peek().copied() {
                        if due > now {
                            break;
                        }
                        retry.pop();
                        if pending.contains_key(&n) {
                            step = self.write(&mut ws, n, &mut pending).await;
                            if !matches!(step, Next::Continue) {
                                break;
                            }
                        }
                    }
                    step
                }
            };
            match step {
                Next::Continue => {}
                Next::Reconnect(code) => {
                    if let Some(c) = code {
                        *lock(&self.shared.visitors)
                            .close_codes
                            .entry(c)
                            .or_default() += 1;
                    }
                    match self
                        .reconnect(
                            &mut reconnects,
                            &mut pending,
                            &mut retry,
                            &mut max_seq,
                            &mut stop,
                        )
                        .await
                    {
                        Some(new_ws) => ws = new_ws,
                        None => {
                            if *stop.borrow() {
                                break;
                            }
                            self.die(&mut pending, &mut rx, "could not reconnect");
                            return;
                        }
                    }
                }
                Next::Dead(why) => {
                    self.die(&mut pending, &mut rx, &why);
                    return;
                }
            }
        }
        let _ = timeout(Duration::from_secs(2), ws.close(None)).await;
    }

    /// Writes message `n`; a failed write means reconnect (it stays pending).
    async fn write(&self, ws: &mut Ws, n: u32, pending: &mut HashMap<u32, Pending>) -> Next {
        let Some(p) = pending.get_mut(&n) else {
            return Next::Continue;
        };
        let frame = message_frame(self.idx, n, p.sched_ns);
        let first = !p.written;
        p.written = true;
        let sched_ns = p.sched_ns;
        // A write that cannot finish means the server stopped reading: reconnect.
        let result = net::send_text(ws, frame).await;
        if first {
            let now = self.shared.now_ns();
            let lag_us = now.saturating_sub(sched_ns) / 1000;
            let in_window = self.shared.in_window(now);
            let measured = self.shared.measured(sched_ns);
            let mut v = lock(&self.shared.visitors);
            v.sent += 1;
            if measured {
                v.sent_measured += 1;
                v.last_measured_write_ns = v.last_measured_write_ns.max(now);
            }
            v.first_send_ns.get_or_insert(now);
            if in_window {
                v.sent_in_window += 1;
            }
            if lag_us > LATE_US {
                v.late_sends += 1;
            }
            v.max_send_lag_us = v.max_send_lag_us.max(lag_us);
        }
        match result {
            Ok(()) => Next::Continue,
            Err(_) => Next::Reconnect(None),
        }
    }

    fn handle(
        &self,
        text: &str,
        pending: &mut HashMap<u32, Pending>,
        retry: &mut BinaryHeap<Reverse<(Instant, u32)>>,
        max_seq: &mut i64,
    ) {
        let Ok(frame) = serde_json::from_str::<Frame>(text) else {
            return;
        };
        match frame.kind.as_ref() {
            "message" => {
                let Some(m) = frame.message else { return };
                *max_seq = (*max_seq).max(m.seq);
                let Some((v, n)) = m.client_id.as_deref().and_then(parse_client_id) else {
                    return;
                };
                if v != self.idx {
                    return;
                }
                let now = self.shared.now_ns();
                let mut s = lock(&self.shared.visitors);
                match pending.remove(&n) {
                    Some(p) => {
                        let measured = self.shared.measured(p.sched_ns);
                        s.acked += 1;
                        if measured {
                            s.acked_measured += 1;
                            let us = now.saturating_sub(p.sched_ns) / 1000;
                            s.ack_us.push(us.min(u32::MAX as u64) as u32);
                        }
                        if self.shared.in_window(now) {
                            s.acked_in_window += 1;
                        }
                        s.last_ack_ns = s.last_ack_ns.max(now);
                        let seq = u32::try_from(m.seq).unwrap_or(0);
                        s.acked_by_conv[self.idx as usize].push((n, seq));
                    }
                    None => s.duplicate_acks += 1,
                }
            }
            "error" => {
                let (code, flag) = match &frame.error {
                    Some(e) => (
                        e.code.as_deref().unwrap_or("unknown").to_string(),
                        e.retryable,
                    ),
                    None => ("unknown".to_string(), None),
                };
                let mut s = lock(&self.shared.visitors);
                *s.errors.entry(code.clone()).or_default() += 1;
                let Some((v, n)) = frame.client_id.as_deref().and_then(parse_client_id) else {
                    return;
                };
                if v != self.idx {
                    return;
                }
                let Some(p) = pending.get_mut(&n) else { return };
                if retryable(&code, flag) && p.attempts + 1 < MAX_ATTEMPTS {
                    let backoff = Duration::from_millis((50u64 << p.attempts).min(1000));
                    p.attempts += 1;
                    s.retries += 1;
                    retry.push(Reverse((Instant::now() + backoff, n)));
                } else {
                    let measured = self.shared.measured(p.sched_ns);
                    pending.remove(&n);
                    s.failed += 1;
                    if measured {
                        s.failed_measured += 1;
                    }
                }
            }
            _ => {}
        }
    }

    /// Reconnects with `after` = highest seq seen, then resends everything
    /// unacknowledged with its client_id. None if it gave up or must stop.
    async fn reconnect(
        &self,
        reconnects: &mut u32,
        pending: &mut HashMap<u32, Pending>,
        retry: &mut BinaryHeap<Reverse<(Instant, u32)>>,
        max_seq: &mut i64,
        stop: &mut watch::Receiver<bool>,
    ) -> Option<Ws> {
        let mut attempt = 0u32;
        while *reconnects < MAX_RECONNECTS {
            *reconnects += 1;
            let backoff = Duration::from_millis((100u64 << attempt.min(5)).min(2000));
            attempt += 1;
            tokio::select! {
                _ = stop.changed() => return None,
                _ = tokio::time::sleep(backoff) => {}
            }
            lock(&self.shared.visitors).reconnects += 1;
            let Ok((mut ws, early)) = self.open(Some(*max_seq)).await else {
                continue;
            };
            for text in &early {
                self.handle(text, pending, retry, max_seq);
            }
            let mut ns: Vec<u32> = pending.keys().copied().collect();
            ns.sort_unstable();
            retry.clear();
            let mut ok = true;
            for n in &ns {
                if !matches!(self.write(&mut ws, *n, pending).await, Next::Continue) {
                    ok = false;
                    break;
                }
            }
            lock(&self.shared.visitors).resent_after_reconnect += ns.len() as u64;
            if ok {
                return Some(ws);
            }
        }
        None
    }

    /// Gives up: everything pending, and everything still to come, failed.
    fn die(
        &self,
        pending: &mut HashMap<u32, Pending>,
        rx: &mut mpsc::UnboundedReceiver<Cmd>,
        why: &str,
    ) {
        rx.close();
        let mut s = lock(&self.shared.visitors);
        s.dead_visitors += 1;
        let mut lost: Vec<u64> = pending.drain().map(|(_, p)| p.sched_ns).collect();
        while let Ok(cmd) = rx.try_recv() {
            lost.push(cmd.sched_ns);
        }
        for sched in lost {
            s.failed += 1;
            if self.shared.measured(sched) {
                s.failed_measured += 1;
            }
        }
        drop(s);
        self.shared
            .note(format!("visitor {} gave up: {why}", self.idx));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_and_contents() {
        let f = message_frame(7, 3, 123_456_789);
        let v: serde_json::Value = serde_json::from_str(&f).unwrap();
        assert_eq!(v["type"], "message");
        assert_eq!(v["client_id"], "l-7-3");
        assert_eq!(v["content"], "load t=123456789 id=l-7-3");
        assert_eq!(
            parse_sched_ns(v["content"].as_str().unwrap()),
            Some(123_456_789)
        );
        assert_eq!(parse_sched_ns("hello"), None);
        assert_eq!(parse_sched_ns("load t=x id=1"), None);
    }

    #[test]
    fn retry_and_reconnect_rules() {
        assert!(retryable("rate_limited", None));
        assert!(retryable("internal", None));
        assert!(retryable("unavailable", Some(false)));
        assert!(retryable("busy", Some(true)));
        assert!(!retryable("content_too_long", None));
        assert!(!retryable("invalid_client_id", Some(false)));
        for c in [1001, 1006, 1011, 1012, 1013] {
            assert!(reconnectable(c), "{c}");
        }
        for c in [1008, 1003, 1009] {
            assert!(!reconnectable(c), "{c}");
        }
    }

    #[test]
    fn parses_server_frames() {
        let ack = r#"{"type":"message","message":{"id":"x","seq":4,"sender":"customer","content":"load t=1 id=l-0-0","created_at":"t","client_id":"l-0-0","agent_name":null}}"#;
        let f: Frame = serde_json::from_str(ack).unwrap();
        assert_eq!(f.kind, "message");
        let m = f.message.unwrap();
        assert_eq!((m.seq, m.client_id.as_deref()), (4, Some("l-0-0")));
        let err = r#"{"type":"error","error":{"code":"rate_limited","message":"slow down","retryable":true},"client_id":"l-0-1"}"#;
        let f: Frame = serde_json::from_str(err).unwrap();
        let e = f.error.unwrap();
        assert_eq!(
            (e.code.as_deref(), e.retryable),
            (Some("rate_limited"), Some(true))
        );
        assert_eq!(f.client_id.as_deref(), Some("l-0-1"));
        let f: Frame = serde_json::from_str(r#"{"type":"session","session":{}}"#).unwrap();
        assert_eq!(f.kind, "session");
    }
}
