//! After the run: read every conversation back through the admin API and
//! check that what was acknowledged is stored exactly once, without gaps.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

/// A stored message as the admin API returns it (only what is checked).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct StoredMsg {
    #[serde(default)]
    pub seq: i64,
    #[serde(default)]
    pub client_id: Option<String>,
}

/// The client_id of visitor `v`'s message number `n`.
pub fn client_id(visitor: u32, n: u32) -> String {
    format!("l-{visitor}-{n}")
}

/// `l-{visitor}-{n}` back to its numbers.
pub fn parse_client_id(raw: &str) -> Option<(u32, u32)> {
    let rest = raw.strip_prefix("l-")?;
    let (v, n) = rest.split_once('-')?;
    Some((v.parse().ok()?, n.parse().ok()?))
}

/// What the read-back found, summed over conversations.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Check {
    pub conversations: u64,
    /// Messages stored in those conversations.
    pub stored: u64,
    /// Of those, sent by this run (client_id `l-{visitor}-{n}` with n < sent).
    pub ours: u64,
    /// Seqs missing from 1..=max, plus seqs below 1.
    pub gaps: u64,
    /// Seqs that appear more than once (beyond the first).
    pub duplicate_seqs: u64,
    /// client_ids of ours stored more than once (beyond the first).
    pub duplicate_client_ids: u64,
    /// Acknowledged messages whose client_id is not stored.
    pub missing_acknowledged: u64,
    /// Acknowledged with one seq, stored with another.
    pub seq_mismatches: u64,
    /// Stored messages this run did not send.
    pub extra: u64,
    /// Stored messages of ours whose acknowledgement never came.
    pub stored_unacknowledged: u64,
    /// Conversations that could not be read.
    pub fetch_errors: u64,
}

impl Check {
    pub fn add(&mut self, o: &Check) {
        self.conversations += o.conversations;
        self.stored += o.stored;
        self.ours += o.ours;
        self.gaps += o.gaps;
        self.duplicate_seqs += o.duplicate_seqs;
        self.duplicate_client_ids += o.duplicate_client_ids;
        self.missing_acknowledged += o.missing_acknowledged;
        self.seq_mismatches += o.seq_mismatches;
        self.extra += o.extra;
        self.stored_unacknowledged += o.stored_unacknowledged;
        self.fetch_errors += o.fetch_errors;
    }

    /// Every acknowledged message stored exactly once, seqs 1..n, nothing foreign.
    pub fn exactly_once(&self) -> bool {
        self.conversations > 0
            && self.gaps == 0
            && self.duplicate_seqs == 0
            && self.duplicate_client_ids == 0
            && self.missing_acknowledged == 0
            && self.seq_mismatches == 0
            && self.extra == 0
            && self.fetch_errors == 0
    }
}

/// Checks one conversation: `stored` as read back, `acked` as (n, seq) pairs
/// the visitor got acknowledged, `sent` how many distinct messages it sent.
pub fn check_conversation(
    visitor: u32,
    stored: &[StoredMsg],
    acked: &[(u32, u32)],
    sent: u32,
) -> Check {
    let mut c = Check {
        conversations: 1,
        stored: stored.len() as u64,
        ..Check::default()
    };
    let mut seqs: Vec<i64> = stored.iter().map(|m| m.seq).collect();
    seqs.sort_unstable();
    let before = seqs.len();
    seqs.dedup();
    c.duplicate_seqs = (before - seqs.len()) as u64;
    let below = seqs.iter().take_while(|s| **s < 1).count();
    let valid = &seqs[below..];
    let max = valid.last().copied().unwrap_or(0);
    c.gaps = below as u64 + (max as u64 - valid.len() as u64);

    // n -> (times stored, first seq)
    let mut ours: Vec<(u32, i64)> = vec![(0, 0); sent as usize];
    for m in stored {
        match m.client_id.as_deref().and_then(parse_client_id) {
            Some((v, n)) if v == visitor && n < sent => {
                let slot = &mut ours[n as usize];
                if slot.0 == 0 {
                    slot.1 = m.seq;
                } else {
                    c.duplicate_client_ids += 1;
                }
                slot.0 += 1;
                c.ours += 1;
            }
            _ => c.extra += 1,
        }
    }
    let mut acked_found = 0u64;
    for &(n, seq) in acked {
        match ours.get(n as usize) {
            Some(&(count, stored_seq)) if count > 0 => {
                acked_found += 1;
                if stored_seq != seq as i64 {
                    c.seq_mismatches += 1;
                }
            }
            _ => c.missing_acknowledged += 1,
        }
    }
    let distinct_ours = ours.iter().filter(|(count, _)| *count > 0).count() as u64;
    c.stored_unacknowledged = distinct_ours.saturating_sub(acked_found);
    c
}

/// Which endpoint the read-back used.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// `GET /chat/api/admin/session/{id}/messages/?after=&limit=`, paged.
    Messages,
    /// `GET /chat/api/admin/session/{id}/` (older servers).
    Session,
}

/// Reads conversations back with the agent API token.
pub struct Fetcher {
    pub client: reqwest::Client,
    pub base: String,
    pub token: String,
    fallback: AtomicBool,
}

#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    messages: Vec<StoredMsg>,
    #[serde(default)]
    has_more: Option<bool>,
}

const PAGE: usize = 500;

impl Fetcher {
    pub fn new(client: reqwest::Client, base: String, token: String) -> Self {
        Fetcher {
            client,
            base,
            token,
            fallback: AtomicBool::new(false),
        }
    }

    pub fn endpoint(&self) -> Endpoint {
        if self.fallback.load(Ordering::Relaxed) {
            Endpoint::Session
        } else {
            Endpoint::Messages
        }
    }

    /// Every stored message of a conversation, in seq order.
    pub async fn fetch(&self, session_id: &str, expected: usize) -> Result<Vec<StoredMsg>, String> {
        if self.fallback.load(Ordering::Relaxed) {
            return self.fetch_whole(session_id).await;
        }
        let mut all: Vec<StoredMsg> = Vec::new();
        let mut after: i64 = 0;
        let max_pages = expected / PAGE + 5;
        for page_no in 0..max_pages {
            let url = format!(
                "{}/chat/api/admin/session/{session_id}/messages/?after={after}&limit={PAGE}",
                self.base
            );
            let resp = self
                .client
                .get(&url)
                .bearer_auth(&self.token)
                .send()
                .await
                .map_err(|e| format!("GET {url}: {e}"))?;
            let status = resp.status().as_u16();
            if page_no == 0 && (status == 404 || status == 405) {
                let whole = self.fetch_whole(session_id).await?;
                self.fallback.store(true, Ordering::Relaxed);
                return Ok(whole);
            }
            if status != 200 {
                return Err(format!("GET {url}: HTTP {status}"));
            }
            let page: Page = resp
                .json()
                .await
                .map_err(|e| format!("GET {url}: bad JSON ({e})"))?;
            let n = page.messages.len();
            let Some(last) = page.messages.last().map(|m| m.seq) else {
                return Ok(all);
            };
            if last <= after {
                return Err(format!("GET {url}: seqs do not advance past {after}"));
            }
            after = last;
            all.extend(page.messages);
            let more = page.has_more.unwrap_or(n >= PAGE);
            if !more {
                return Ok(all);
            }
        }
        Err(format!(
            "{session_id}: more than {max_pages} pages for about {expected} messages"
        ))
    }

    async fn fetch_whole(&self, session_id: &str) -> Result<Vec<StoredMsg>, String> {
        let url = format!("{}/chat/api/admin/session/{session_id}/", self.base);
        let resp = self
            .client
            .get(&url)
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        let status = resp.status().as_u16();
        if status != 200 {
            return Err(format!("GET {url}: HTTP {status}"));
        }
        let page: Page = resp
            .json()
            .await
            .map_err(|e| format!("GET {url}: bad JSON ({e})"))?;
        Ok(page.messages)
    }
}

/// One conversation to check.
pub struct Job {
    pub visitor: u32,
    pub session_id: String,
    pub acked: Vec<(u32, u32)>,
    pub sent: u32,
}

/// Checks all jobs, 16 at a time, within `budget`. Conversations not read
/// in time count as fetch errors.
pub async fn verify_all(
    fetcher: &Fetcher,
    jobs: Vec<Job>,
    budget: Duration,
) -> (Check, Option<String>) {
    let total = jobs.len() as u64;
    let mut sum = Check::default();
    let mut first_error: Option<String> = None;
    let mut done = 0u64;
    let work = futures_util::stream::iter(jobs)
        .map(|job| async move {
            let result = fetcher
                .fetch(&job.session_id, job.sent as usize + 8)
                .await
                .map(|stored| check_conversation(job.visitor, &stored, &job.acked, job.sent));
            (job.session_id, result)
        })
        .buffer_unordered(16);
    tokio::pin!(work);
    let deadline = tokio::time::Instant::now() + budget;
    loop {
        match tokio::time::timeout_at(deadline, work.next()).await {
            Ok(Some((_, Ok(check)))) => {
                sum.add(&check);
                done += 1;
            }
            Ok(Some((id, Err(e)))) => {
                sum.fetch_errors += 1;
                sum.conversations += 1;
                done += 1;
                first_error.get_or_insert(format!("{id}: {e}"));
            }
            Ok(None) => break,
            Err(_) => {
                let left = total - done;
                sum.fetch_errors += left;
                sum.conversations += left;
                first_error.get_or_insert(format!("verification budget ran out, {left} unread"));
                break;
            }
        }
    }
    (sum, first_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(seq: i64, cid: Option<&str>) -> StoredMsg {
        StoredMsg {
            seq,
            client_id: cid.map(str::to_string),
        }
    }

    #[test]
    fn client_ids_round_trip() {
        assert_eq!(client_id(12, 345), "l-12-345");
        assert_eq!(parse_client_id("l-12-345"), Some((12, 345)));
        assert_eq!(parse_client_id("l-12"), None);
        assert_eq!(parse_client_id("x-1-2"), None);
        assert_eq!(parse_client_id("l-a-2"), None);
    }

    #[test]
    fn clean_conversation() {
        let stored = vec![
            m(1, Some("l-3-0")),
            m(2, Some("l-3-1")),
            m(3, Some("l-3-2")),
        ];
        let c = check_conversation(3, &stored, &[(0, 1), (1, 2), (2, 3)], 3);
        assert!(c.exactly_once(), "{c:?}");
        assert_eq!((c.stored, c.ours, c.stored_unacknowledged), (3, 3, 0));
    }

    #[test]
    fn stored_but_unacknowledged_is_not_a_failure_of_storage() {
        let stored = vec![m(1, Some("l-3-0")), m(2, Some("l-3-1"))];
        let c = check_conversation(3, &stored, &[(0, 1)], 2);
        assert!(c.exactly_once());
        assert_eq!(c.stored_unacknowledged, 1);
    }

    #[test]
    fn finds_every_kind_of_fault() {
        // seq 3 missing (gap), l-0-1 stored twice, l-0-2 acked but absent,
        // a foreign message, l-0-0 acked with the wrong seq, seq 5 twice.
        let stored = vec![
            m(1, Some("l-0-0")),
            m(2, Some("l-0-1")),
            m(4, Some("l-0-1")),
            m(5, Some("agent-reply")),
            m(5, None),
        ];
        let c = check_conversation(0, &stored, &[(0, 9), (2, 3)], 3);
        assert!(!c.exactly_once());
        assert_eq!(c.gaps, 1);
        assert_eq!(c.duplicate_seqs, 1);
        assert_eq!(c.duplicate_client_ids, 1);
        assert_eq!(c.missing_acknowledged, 1);
        assert_eq!(c.seq_mismatches, 1);
        assert_eq!(c.extra, 2);
        assert_eq!(c.ours, 3);
    }

    #[test]
    fn another_visitors_id_or_out_of_range_is_extra() {
        let stored = vec![
            m(1, Some("l-1-0")),
            m(2, Some("l-0-7")),
            m(0, Some("l-0-0")),
        ];
        let c = check_conversation(0, &stored, &[(0, 0)], 1);
        assert_eq!(c.extra, 2);
        assert_eq!(c.gaps, 1, "seq 0 is invalid; 1..=2 are present");
        assert!(!c.exactly_once());
    }

    #[test]
    fn sums_and_empty() {
        let mut total = Check::default();
        assert!(!total.exactly_once(), "nothing checked is not a success");
        total.add(&check_conversation(0, &[], &[], 0));
        assert!(total.exactly_once());
        total.add(&check_conversation(1, &[m(2, Some("l-1-0"))], &[(0, 2)], 1));
        assert_eq!(total.conversations, 2);
        assert_eq!(total.gaps, 1);
    }
}
