//! `defmis-chat seed-benchmark`'s data is the server's own: conversations
//! page through the inbox by cursor without gaps or repeats, messages have
//! gapless seqs and are found by search; on every store.

use std::collections::HashSet;

use reqwest::Method;
use serde_json::Value;

use crate::helpers::TestApp;
use crate::on_every_store;

async fn seeded_data_pages_and_searches(app: TestApp) {
    let token = app.api_token("root").await;
    let root = app.state.agents.view_by_username("root").await.unwrap();
    let hasher =
        server::auth::TokenHasher::new("test-secret-key-0123456789abcdef0123".to_string().into());
    let done = server::chat::seed::run(
        app.db.clone(),
        &hasher,
        Some((root.id.clone(), "Root".into())),
        120,
        1_000,
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!((done.conversations, done.messages), (120, 1_000));

    // Every conversation once, by cursor, 7 pages of at most 20.
    let mut seen = HashSet::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let path = match &cursor {
            Some(c) => format!("/chat/api/admin/sessions/?limit=20&cursor={c}"),
            None => "/chat/api/admin/sessions/?limit=20".to_string(),
        };
        let page: Value = app
            .admin(Method::GET, &path, &token, None)
            .await
            .json()
            .await
            .unwrap();
        for s in page["sessions"].as_array().unwrap() {
            assert!(
                seen.insert(s["id"].as_str().unwrap().to_string()),
                "a repeat"
            );
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 120, "ties on time page without gaps");
    let open: Value = app
        .admin(
            Method::GET,
            "/chat/api/admin/sessions/?status=closed&limit=100",
            &token,
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        open["sessions"].as_array().unwrap().len(),
        40,
        "a third closed"
    );

    // Seqs gapless, agent replies in turn.
    let id = seen.iter().next().unwrap();
    let page: Value = app
        .admin(
            Method::GET,
            &format!("/chat/api/admin/session/{id}/messages/?limit=500"),
            &token,
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let messages = page["messages"].as_array().unwrap();
    assert!(messages.len() >= 8, "{}", messages.len());
    for (i, m) in messages.iter().enumerate() {
        assert_eq!(m["seq"], i as i64 + 1);
        let sender = if i % 2 == 0 { "customer" } else { "agent" };
        assert_eq!(m["sender"], sender);
    }
    let found: Value = app
        .admin(
            Method::GET,
            "/chat/api/admin/sessions/?q=refund&limit=100",
            &token,
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(
        !found["sessions"].as_array().unwrap().is_empty(),
        "full-text indexed"
    );
}

/// More conversations than PostgreSQL's search probes one by one (300):
/// a frequent word's pages come from probing, a rare word's from
/// collecting every match; either way, paged by cursor, every matching
/// conversation comes once, newest activity first. The seed writes a
/// thousand conversations per transaction with one time, so the pages
/// also cross long runs of equal times (the cursor's tie-break on id).
async fn searches_past_the_probe_window(app: TestApp) {
    use sea_orm::{ConnectionTrait, Statement};
    let token = app.api_token("root").await;
    let hasher =
        server::auth::TokenHasher::new("test-secret-key-0123456789abcdef0123".to_string().into());
    server::chat::seed::run(app.db.clone(), &hasher, None, 2_100, 4_200, |_| {})
        .await
        .unwrap();
    for word in ["refund", "zebra"] {
        let sql = format!(
            "SELECT DISTINCT session_id FROM messages WHERE lower(content) LIKE '%{word}%'"
        );
        let backend = app.db.read.get_database_backend();
        let want: HashSet<String> = app
            .db
            .read
            .query_all_raw(Statement::from_string(backend, sql))
            .await
            .unwrap()
            .iter()
            .map(|r| r.try_get::<String>("", "session_id").unwrap())
            .collect();
        assert!(!want.is_empty(), "{word}");
        let mut got = Vec::new();
        let mut times = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..100 {
            let mut path = format!("/chat/api/admin/sessions/?q={word}&limit=50");
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let page: Value = app
                .admin(Method::GET, &path, &token, None)
                .await
                .json()
                .await
                .unwrap();
            for s in page["sessions"].as_array().unwrap() {
                got.push(s["id"].as_str().unwrap().to_string());
                times.push(s["updated_at"].as_str().unwrap().to_string());
            }
            cursor = page["next_cursor"].as_str().map(str::to_string);
            if cursor.is_none() {
                break;
            }
        }
        assert_eq!(got.len(), want.len(), "{word}: each match once");
        assert_eq!(got.iter().cloned().collect::<HashSet<_>>(), want, "{word}");
        assert!(
            times.windows(2).all(|w| w[0] >= w[1]),
            "{word}: newest first"
        );
    }
}

on_every_store!(
    seeded_data_pages_and_searches,
    searches_past_the_probe_window
);

/// SQLite's search reads conversations in inbox order and matches their
/// messages in Rust, and lets the index collect every match when a word is
/// rare or the reading would cost too much. With limits shrunk to a few
/// conversations, every page of every kind of search takes those paths in
/// turn (a full page from reading, a rare word, a reading cut short by its
/// budget, the end of the list): paged by cursor, the pages are what the
/// index finds, in inbox order, each once.
#[tokio::test]
async fn small_search_steps_page_as_the_index_does() {
    use sea_orm::{ConnectionTrait, Statement};
    use server::chat::inbox::InboxQuery;
    use server::chat::store::{ChatStore, SearchProbe};

    let app = crate::helpers::spawn_app().await;
    let hasher =
        server::auth::TokenHasher::new("test-secret-key-0123456789abcdef0123".to_string().into());
    server::chat::seed::run(app.db.clone(), &hasher, None, 600, 3_000, |_| {})
        .await
        .unwrap();
    let me = app::types::AgentId::from("an-agent");
    let probe = SearchProbe {
        step: 7,
        messages: 60,
        rare: 40,
    };
    let store = ChatStore::new(app.db.clone(), server::attachments::link::Links::unused())
        .with_search_probe(probe);
    let words = [
        "refund",
        "zebra",
        "refund please",
        "customer1",
        "customer",
        "pa",
        "tomorrow week order",
        "bench example",
    ];
    for q in words {
        let terms = server::chat::inbox::SearchTerms::parse(q).unwrap().unwrap();
        let fts = terms.fts5();
        let want: Vec<String> = app
            .db
            .read
            .query_all_raw(Statement::from_sql_and_values(
                app.db.read.get_database_backend(),
                "SELECT id FROM chat_sessions WHERE rowid IN \
                 (SELECT rowid FROM chat_sessions_fts WHERE chat_sessions_fts MATCH ?) \
                 OR id IN (SELECT session_id FROM messages WHERE rowid IN \
                 (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)) \
                 ORDER BY updated_at DESC, id DESC",
                [fts.clone().into(), fts.into()],
            ))
            .await
            .unwrap()
            .iter()
            .map(|r| r.try_get::<String>("", "id").unwrap())
            .collect();
        assert!(!want.is_empty(), "{q}");
        for limit in [1, 5, 30] {
            let mut got: Vec<String> = Vec::new();
            let mut cursor: Option<String> = None;
            for _ in 0..700 {
                let params = app::types::InboxParams {
                    q: Some(q.to_string()),
                    limit: Some(limit),
                    cursor: cursor.clone(),
                    ..Default::default()
                };
                let query = InboxQuery::parse(&params, &me).unwrap();
                let (rows, next) = store.inbox(&query).await.unwrap();
                got.extend(rows.into_iter().map(|c| c.id.to_string()));
                cursor = next.map(|c| c.encode());
                if cursor.is_none() {
                    break;
                }
            }
            assert_eq!(got, want, "q = {q:?}, limit = {limit}");
        }
    }
}
