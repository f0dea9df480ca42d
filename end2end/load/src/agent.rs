//! One agent (dashboard) socket: records which (conversation, seq) arrived,
//! how often, and how long after the visitor's scheduled send.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures_util::StreamExt;
use serde::Deserialize;
use tokio::sync::watch;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;

use crate::args::Target;
use crate::net::{self, Ws};
use crate::shared::{lock, Shared};
use crate::visitor::parse_sched_ns;

pub const PATH: &str = "/ws/admin/dashboard/";
const MAX_RECONNECTS: u32 = 10;

/// session_id → conversation index, set once the conversations exist.
pub type Sessions = Arc<OnceLock<HashMap<String, u32>>>;

#[derive(Deserialize)]
struct Frame<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    session_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    message: Option<MsgRef<'a>>,
}

#[derive(Deserialize)]
struct MsgRef<'a> {
    #[serde(default)]
    seq: i64,
    #[serde(default, borrow)]
    content: Cow<'a, str>,
}

pub struct Agent {
    pub idx: usize,
    pub target: Target,
    pub token: String,
    pub shared: Arc<Shared>,
    pub sessions: Sessions,
}

impl Agent {
    pub async fn open(&self) -> anyhow::Result<Ws> {
        net::connect(&self.target, PATH, None, Some(&self.token), false).await
    }

    pub async fn run(self, mut ws: Ws, mut stop: watch::Receiver<bool>) {
        lock(&self.shared.agents[self.idx]).connected = true;
        let mut reconnects = 0u32;
        loop {
            let lost = tokio::select! {
                biased;
                _ = stop.changed() => break,
                frame = ws.next() => match frame {
                    Some(Ok(Message::Text(t))) => {
                        self.handle(t.as_str());
                        None
                    }
                    Some(Ok(Message::Close(f))) => Some(f.map(|f| u16::from(f.code)).unwrap_or(1005)),
                    Some(Ok(_)) => None,
                    Some(Err(_)) | None => Some(1006),
                },
            };
            let Some(code) = lost else { continue };
            {
                // The server dropped us: whatever it sent meanwhile is lost to
                // this socket, so this counts like a resync.
                let mut a = lock(&self.shared.agents[self.idx]);
                a.resyncs += 1;
                *a.close_codes.entry(code).or_default() += 1;
            }
            match self.reconnect(&mut reconnects, &mut stop).await {
                Some(new_ws) => ws = new_ws,
                None => {
                    if !*stop.borrow() {
                        lock(&self.shared.agents[self.idx]).dead = true;
                        self.shared
                            .note(format!("agent socket {} gave up reconnecting", self.idx));
                    }
                    return;
                }
            }
        }
        let _ = timeout(Duration::from_secs(2), ws.close(None)).await;
    }

    async fn reconnect(
        &self,
        reconnects: &mut u32,
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
            lock(&self.shared.agents[self.idx]).reconnects += 1;
            if let Ok(ws) = self.open().await {
                return Some(ws);
            }
        }
        None
    }

    fn handle(&self, text: &str) {
        let Ok(frame) = serde_json::from_str::<Frame>(text) else {
            return;
        };
        match frame.kind.as_ref() {
            "message" => {
                let now = self.shared.now_ns();
                let (Some(sid), Some(m)) = (frame.session_id, frame.message) else {
                    return;
                };
                let conv = self
                    .sessions
                    .get()
                    .and_then(|s| s.get(sid.as_ref()))
                    .copied();
                let mut a = lock(&self.shared.agents[self.idx]);
                let Some(conv) = conv else {
                    a.foreign += 1;
                    return;
                };
                a.frames += 1;
                let seq = u32::try_from(m.seq).unwrap_or(0);
                if !a.received.insert(conv, seq) {
                    a.duplicates += 1;
                    return;
                }
                if self.shared.in_window(now) {
                    a.received_in_window += 1;
                }
                if let Some(sched) = parse_sched_ns(&m.content) {
                    if self.shared.measured(sched) {
                        let us = now.saturating_sub(sched) / 1000;
                        a.lat_us.push(us.min(u32::MAX as u64) as u32);
                    }
                }
            }
            "resync" => lock(&self.shared.agents[self.idx]).resyncs += 1,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_agent_frames() {
        let t = r#"{"type":"message","session_id":"s-1","customer_id":"c","message":{"id":"x","seq":9,"sender":"customer","content":"load t=5 id=l-1-2","created_at":"t","client_id":"l-1-2","agent_name":null}}"#;
        let f: Frame = serde_json::from_str(t).unwrap();
        assert_eq!(f.kind, "message");
        assert_eq!(f.session_id.as_deref(), Some("s-1"));
        let m = f.message.unwrap();
        assert_eq!(m.seq, 9);
        assert_eq!(parse_sched_ns(&m.content), Some(5));
        let f: Frame = serde_json::from_str(r#"{"type":"resync"}"#).unwrap();
        assert_eq!(f.kind, "resync");
        // Escaped content cannot be borrowed; Cow still parses it.
        let t = r#"{"type":"message","session_id":"s","message":{"seq":1,"content":"a\"b"}}"#;
        let f: Frame = serde_json::from_str(t).unwrap();
        assert_eq!(f.message.unwrap().content, "a\"b");
    }
}
