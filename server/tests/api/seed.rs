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

on_every_store!(seeded_data_pages_and_searches);
