//! `defmis-chat seed-benchmark`: fills a database with many conversations
//! and messages for the inbox benchmark (`defmis-load --inbox-bench`).
//! Conversations are stored many per transaction; messages go through the
//! same batch write as live ones (seqs, previews, counters and the
//! full-text index stay exactly as the server keeps them). Timestamps
//! spread over the last 90 days; a third are closed; a few words are rare
//! so that searches have something specific to find.

use std::time::{Duration, Instant};

use app::types::{AgentId, CustomerId, SessionId, SessionStatus};

use super::domain::Conversation;
use super::store::{Author, ChatStore, NewMessage};
use crate::auth::{random_token, TokenHasher};
use crate::error::AppError;
use crate::storage::Db;

/// The most a run may add (bounds time and disk).
pub const MAX_CONVERSATIONS: u64 = 1_000_000;
pub const MAX_MESSAGES: u64 = 20_000_000;
/// Conversations per transaction, and messages per batch write.
const CONVERSATIONS_PER_TXN: u64 = 1_000;
const MESSAGES_PER_BATCH: u64 = 2_000;
/// The span the timestamps cover.
const SPAN_DAYS: i64 = 90;

const WORDS: &[&str] = &[
    "order",
    "delivery",
    "refund",
    "invoice",
    "account",
    "password",
    "shipping",
    "parcel",
    "return",
    "payment",
    "card",
    "discount",
    "coupon",
    "size",
    "colour",
    "warranty",
    "broken",
    "late",
    "address",
    "tracking",
    "subscription",
    "cancel",
    "upgrade",
    "login",
    "email",
    "thanks",
    "hello",
    "please",
    "help",
    "question",
    "today",
    "tomorrow",
    "week",
    "price",
];
/// One message in 500 carries one of these.
const RARE: &[&str] = &["zebra", "aurora", "quokka", "saffron"];

/// What a seeding run did.
#[derive(Debug)]
pub struct Seeded {
    pub conversations: u64,
    pub messages: u64,
    pub took: Duration,
}

/// A small deterministic generator (xorshift): the same data every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[(self.next() % from.len() as u64) as usize]
    }
}

/// Adds `conversations` conversations holding `messages` messages in all
/// (visitor and agent in turn), reporting progress through `progress`.
pub async fn run(
    db: Db,
    hasher: &TokenHasher,
    agent: Option<(AgentId, String)>,
    conversations: u64,
    messages: u64,
    mut progress: impl FnMut(&str),
) -> Result<Seeded, AppError> {
    let started = Instant::now();
    let store = ChatStore::new(db, crate::attachments::link::Links::unused());
    let span = chrono::Duration::days(SPAN_DAYS);
    // Microseconds, as the server stores every time (the inbox's cursors
    // compare them exactly).
    let now = crate::storage::now();
    let begin = now - span;
    // Whole microseconds too: a step with nanoseconds made times that no
    // cursor could name (SQLite keeps them), and paging skipped the rest
    // of a run of equal times.
    let step = chrono::Duration::microseconds(
        (span / i32::try_from(conversations.max(1)).unwrap_or(i32::MAX))
            .num_microseconds()
            .unwrap_or(1),
    );
    let run_id = &random_token()[..8];
    // Every conversation shares one token hash: the benchmark never resumes
    // them as visitors.
    let token_hash = hasher.hash(&random_token());
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut ids = Vec::with_capacity(conversations as usize);
    let mut made = 0;
    while made < conversations {
        let n = CONVERSATIONS_PER_TXN.min(conversations - made);
        let chunk: Vec<Conversation> = (made..made + n)
            .map(|i| {
                let at = begin + step * i32::try_from(i).unwrap_or(i32::MAX);
                Conversation {
                    id: SessionId::from(uuid::Uuid::new_v4().to_string()),
                    customer_id: CustomerId::from(format!("bench-{run_id}-{i}")),
                    token_hash: token_hash.clone(),
                    name: Some(format!("Customer {i}")),
                    email: Some(format!("customer{i}@bench.example.com")),
                    status: SessionStatus::Open,
                    created_at: at,
                    updated_at: at,
                    last_message: None,
                    last_message_at: None,
                    last_seq: 0,
                    customer_read_seq: 0,
                    agent_read_seq: 0,
                    offline: i.is_multiple_of(10),
                    assignee_id: None,
                    last_customer_seq: 0,
                    last_agent_seq: 0,
                    first_customer_at: None,
                    first_agent_at: None,
                }
            })
            .collect();
        store.create_many(&chunk).await?;
        ids.extend(chunk.into_iter().map(|c| (c.id, c.created_at)));
        made += n;
        if made.is_multiple_of(10_000) || made == conversations {
            progress(&format!("{made} conversations"));
        }
    }
    if ids.is_empty() {
        return Ok(Seeded {
            conversations: 0,
            messages: 0,
            took: started.elapsed(),
        });
    }
    // Messages: conversation by conversation in creation order, so each
    // batch's time moves forward with the conversations it touches.
    let per = messages / ids.len() as u64;
    let extra = messages % ids.len() as u64;
    let mut written = 0u64;
    let mut batch: Vec<NewMessage> = Vec::with_capacity(MESSAGES_PER_BATCH as usize);
    let mut batch_at = ids[0].1;
    for (i, (id, created)) in ids.iter().enumerate() {
        let count = per + u64::from((i as u64) < extra);
        for k in 0..count {
            let rare = rng.next().is_multiple_of(500);
            let mut words: Vec<&str> = (0..6 + rng.next() % 10).map(|_| rng.pick(WORDS)).collect();
            if rare {
                words.push(rng.pick(RARE));
            }
            let author = match (&agent, k % 2) {
                (Some((id, name)), 1) => Author::Agent {
                    id: id.clone(),
                    name: name.clone(),
                },
                _ => Author::Customer,
            };
            batch.push(NewMessage {
                session_id: id.clone(),
                author,
                content: words.join(" "),
                client_id: format!("seed-{written}"),
                attachment: None,
            });
            written += 1;
            batch_at = *created;
            if batch.len() as u64 >= MESSAGES_PER_BATCH {
                store.write_batch(&batch, batch_at).await?;
                batch.clear();
                if written % 100_000 < MESSAGES_PER_BATCH {
                    progress(&format!("{written} messages"));
                }
            }
        }
    }
    if !batch.is_empty() {
        store.write_batch(&batch, batch_at).await?;
    }
    progress(&format!("{written} messages"));
    // A visitor's message reopens a conversation: close a third after.
    let closing: Vec<SessionId> = ids
        .iter()
        .enumerate()
        .filter(|(i, _)| i.is_multiple_of(3))
        .map(|(_, (id, _))| id.clone())
        .collect();
    store.close_many(&closing).await?;
    progress(&format!("{} closed", closing.len()));
    Ok(Seeded {
        conversations,
        messages: written,
        took: started.elapsed(),
    })
}
