//! Idle visitor sockets: authenticated, then only answering pings, to
//! measure what one open socket costs the server.

use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;

use crate::args::Target;
use crate::net::{self, source_address};
use crate::shared::{Conv, Shared};

/// Sockets per client source address (the ephemeral port range holds ~28k).
pub const PER_SOURCE: u32 = 20_000;
/// Idle sockets being opened at once.
const OPENING: usize = 64;

/// The source address for idle socket `i`, or None on IPv6 (only ::1 exists).
pub fn source_for(target: &Target, i: u32) -> Option<IpAddr> {
    target
        .addr
        .is_ipv4()
        .then(|| source_address(i / PER_SOURCE))
}

/// How many source addresses `n` idle sockets use.
pub fn sources_needed(n: u32) -> u32 {
    n.div_ceil(PER_SOURCE)
}

/// Opens `n` idle sockets spread over `convs` (socket i uses conversation
/// i / per_conv). Returns the holders (which end on `stop`), how many
/// opened, and the first error.
pub async fn open_all(
    target: &Target,
    convs: &[Conv],
    per_conv: u32,
    n: u32,
    shared: &Arc<Shared>,
    stop: &watch::Receiver<bool>,
    budget: Duration,
) -> (Vec<JoinHandle<()>>, u32, u32, Option<String>) {
    let mut holders = Vec::with_capacity(n as usize);
    let mut opened = 0u32;
    let mut failed = 0u32;
    let mut first_error: Option<String> = None;
    let opens = futures_util::stream::iter(0..n)
        .map(|i| {
            let conv = &convs[(i / per_conv) as usize];
            let source = source_for(target, i);
            async move {
                let path = format!("/ws/chat/{}/", conv.customer_id);
                let mut ws = net::connect(target, &path, source, None, true).await?;
                net::visitor_auth(&mut ws, &conv.token, None).await?;
                net::confirm(&mut ws, Duration::from_secs(10)).await?;
                anyhow::Ok(ws)
            }
        })
        .buffer_unordered(OPENING);
    tokio::pin!(opens);
    let deadline = tokio::time::Instant::now() + budget;
    let mut reported = 0u32;
    loop {
        match tokio::time::timeout_at(deadline, opens.next()).await {
            Ok(Some(Ok(ws))) => {
                opened += 1;
                let shared = shared.clone();
                let stop = stop.clone();
                holders.push(tokio::spawn(hold(ws, shared, stop)));
            }
            Ok(Some(Err(e))) => {
                failed += 1;
                first_error.get_or_insert(format!("{e:#}"));
            }
            Ok(None) => break,
            Err(_) => {
                let left = n - opened - failed;
                failed += left;
                first_error.get_or_insert(format!("opening ran out of time with {left} left"));
                break;
            }
        }
        let done = opened + failed;
        if done >= reported + 5000 {
            reported = done;
            eprintln!("defmis-load: idle sockets {opened} open, {failed} failed of {n}");
        }
    }
    (holders, opened, failed, first_error)
}

/// Keeps one idle socket: reads (so pings get answered) until told to stop.
async fn hold(mut ws: net::Ws, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            biased;
            _ = stop.changed() => break,
            frame = ws.next() => match frame {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => {
                    shared.idle_dropped.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Some(Ok(_)) => {}
            },
        }
    }
    let _ = timeout(Duration::from_secs(2), ws.close(None)).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::target;

    #[test]
    fn spreads_over_sources() {
        let v4 = target("http://127.0.0.1:8000").unwrap();
        assert_eq!(source_for(&v4, 0).unwrap().to_string(), "127.0.0.2");
        assert_eq!(source_for(&v4, 19_999).unwrap().to_string(), "127.0.0.2");
        assert_eq!(source_for(&v4, 20_000).unwrap().to_string(), "127.0.0.3");
        let v6 = target("http://[::1]:8000").unwrap();
        assert_eq!(source_for(&v6, 5), None);
        assert_eq!(sources_needed(0), 0);
        assert_eq!(sources_needed(1), 1);
        assert_eq!(sources_needed(20_000), 1);
        assert_eq!(sources_needed(20_001), 2);
    }
}
