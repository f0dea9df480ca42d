//! Two servers sharing PostgreSQL and Redis serve one site.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{next_of_type, postgres_and_redis_store, send_json, spawn_on};

#[tokio::test]
#[ignore = "needs TEST_DATABASE_URL and TEST_REDIS_URL; scripts/test.sh runs it when set"]
async fn a_message_on_one_instance_reaches_sockets_on_the_other() {
    let store = postgres_and_redis_store().await;
    let a = spawn_on(store.clone(), &[]).await;
    let b = spawn_on(store, &[]).await;

    let token = b.api_token("alice").await;
    let mut agent_on_b = b.agent_ws(&token).await;
    let v = a.start().await;
    let mut visitor_on_a = a.visitor_ws_authed(&v, Some(0)).await;

    send_json(
        &mut visitor_on_a,
        json!({"type": "message", "content": "from A", "client_id": "x"}),
    )
    .await;
    let ev = next_of_type(&mut agent_on_b, "message").await;
    assert_eq!(ev["message"]["content"], "from A");
    assert_eq!(ev["customer_id"], v.customer_id.as_str());

    let resp = b
        .admin(
            Method::POST,
            &format!("/chat/api/admin/session/{}/messages/", v.session_id),
            &token,
            Some(json!({"content": "reply from B"})),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let got = loop {
        let f = next_of_type(&mut visitor_on_a, "message").await;
        if f["message"]["sender"] == "agent" {
            break f;
        }
    };
    assert_eq!(got["message"]["content"], "reply from B");
    assert_eq!(got["message"]["seq"], 2);
}

/// Both instances write into one conversation at once: the batches lock
/// the conversation row, so seqs stay gapless and each client_id is stored
/// once, whichever instance took it.
#[tokio::test]
#[ignore = "needs TEST_DATABASE_URL and TEST_REDIS_URL; scripts/test.sh runs it when set"]
async fn two_instances_writing_into_one_conversation_stay_gapless() {
    let store = postgres_and_redis_store().await;
    let a = std::sync::Arc::new(spawn_on(store.clone(), &[]).await);
    let b = std::sync::Arc::new(spawn_on(store, &[]).await);
    let v = a.start().await;
    let mut tasks = Vec::new();
    for i in 0..30 {
        for app in [a.clone(), b.clone()] {
            let v = v.clone();
            tasks.push(tokio::spawn(async move {
                let resp = app
                    .post_message(
                        Some(&v.token),
                        json!({"customer_id": v.customer_id, "content": format!("m{i}"), "client_id": format!("both-{i}")}),
                    )
                    .await;
                assert_eq!(resp.status(), reqwest::StatusCode::CREATED);
            }));
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    let stored = a.stored_messages(&v).await;
    let seqs: Vec<i64> = stored.iter().map(|m| m["seq"].as_i64().unwrap()).collect();
    assert_eq!(
        seqs,
        (1..=30).collect::<Vec<_>>(),
        "30 client_ids, each once, gapless"
    );
}

/// A note and an assignment made on one instance reach the agents on the
/// other through Redis, and the visitor on either hears of neither.
#[tokio::test]
#[ignore = "needs TEST_DATABASE_URL and TEST_REDIS_URL; scripts/test.sh runs it when set"]
async fn notes_and_assignments_cross_instances_to_agents_only() {
    let store = postgres_and_redis_store().await;
    let a = spawn_on(store.clone(), &[]).await;
    let b = spawn_on(store, &[]).await;
    let admin = a.create_agent("alice").await;
    let token = a
        .state
        .agents
        .create_api_token("alice", None)
        .await
        .unwrap();
    let mut agent_on_b = b.agent_ws(&token).await;
    let v = b.start().await;
    let mut visitor_on_b = b.visitor_ws_authed(&v, Some(0)).await;
    // Both sockets' loops run (their feeds are subscribed).
    for ws in [&mut agent_on_b, &mut visitor_on_b] {
        send_json(ws, json!({"type": "ping"})).await;
        next_of_type(ws, "pong").await;
    }

    let resp = a
        .admin(
            Method::POST,
            &format!("/chat/api/admin/session/{}/notes/", v.session_id),
            &token,
            Some(json!({"content": "made on A"})),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let note = next_of_type(&mut agent_on_b, "note").await;
    assert_eq!(note["note"]["content"], "made on A");
    assert_eq!(note["note"]["author_name"], "Alice Liddell");

    let resp = a
        .admin(
            Method::PUT,
            &format!("/chat/api/admin/session/{}/assignee/", v.session_id),
            &token,
            Some(json!({"agent_id": admin.id})),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let session = next_of_type(&mut agent_on_b, "session").await;
    assert_eq!(session["session"]["assignee_id"], admin.id.as_str());
    crate::helpers::assert_quiet(&mut visitor_on_b).await;
}

/// An agent socket on one instance hears of the agents on the other: the
/// ones already there (they answer its query) and what they do next.
#[tokio::test]
#[ignore = "needs TEST_DATABASE_URL and TEST_REDIS_URL; scripts/test.sh runs it when set"]
async fn presence_crosses_instances() {
    use crate::helpers::next_presence;
    let store = postgres_and_redis_store().await;
    let a = spawn_on(store.clone(), &[]).await;
    let b = spawn_on(store, &[]).await;
    let ann = a.api_token("ann").await;
    let bob = b.api_token("bob").await;
    let v = a.start().await;

    let mut ann_on_a = a.agent_ws(&ann).await;
    let mut bob_on_b = b.agent_ws(&bob).await;
    // Bob's socket hears Ann's, which answered its query.
    let until = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        assert!(
            tokio::time::Instant::now() < until,
            "Bob never heard of Ann"
        );
        let p = next_presence(&mut bob_on_b).await;
        if p["name"] == "ANN" && p["status"] == "online" {
            break;
        }
    }
    send_json(
        &mut bob_on_b,
        json!({"type": "viewing", "session_id": v.session_id}),
    )
    .await;
    let until = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        assert!(
            tokio::time::Instant::now() < until,
            "Ann never saw Bob viewing"
        );
        let p = next_presence(&mut ann_on_a).await;
        if p["name"] == "BOB" && p["viewing"] == v.session_id.as_str() {
            break;
        }
    }
}

/// Widget settings saved on one instance apply on the other at once (it
/// reloads them on the save's event), without a restart.
#[tokio::test]
#[ignore = "needs TEST_DATABASE_URL and TEST_REDIS_URL; scripts/test.sh runs it when set"]
async fn widget_settings_saved_on_one_instance_apply_on_the_other() {
    let store = postgres_and_redis_store().await;
    let a = spawn_on(store.clone(), &[]).await;
    let b = spawn_on(store, &[]).await;
    let token = a.api_token("root").await;
    let resp = a
        .admin(
            Method::PUT,
            "/chat/api/admin/widget-settings/",
            &token,
            Some(json!({"title": "Saved on A", "allowed_origins": ["https://shop.example.com"]})),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let config: serde_json::Value = b
            .get("/chat/api/widget/config/")
            .await
            .json()
            .await
            .unwrap();
        if config["title"] == "Saved on A" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "B still shows {}",
            config["title"]
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let resp = b
        .client
        .post(b.url("/chat/api/chat/start/"))
        .header("origin", "https://evil.example.com")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403, "B enforces A's allowed origins");
}
