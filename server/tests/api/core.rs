//! The core: the batch writer under concurrency, paged reads, the resync
//! frame, catch-up after lag, and local delivery while Redis is away.

use std::collections::HashSet;
use std::time::Duration;

use app::types::{MessageView, Sender, SessionStatus, SessionView};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use server::bus::{Audience, Change};

use crate::helpers::{
    next_json, next_of_type, send_json, spawn_on, tcp_proxy, Store, TestApp, Visitor,
};
use crate::on_every_store;

/// Posts `content` with `client_id`; answers the stored message.
async fn post(app: &TestApp, v: &Visitor, content: &str, client_id: &str) -> Value {
    let resp = app
        .post_message(
            Some(&v.token),
            json!({"customer_id": v.customer_id, "content": content, "client_id": client_id}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    resp.json().await.unwrap()
}

async fn page(app: &TestApp, v: &Visitor, query: &str) -> (Vec<i64>, bool) {
    let resp = app.history(&v.customer_id, Some(&v.token), query).await;
    assert_eq!(resp.status(), StatusCode::OK, "{query}");
    let body: Value = resp.json().await.unwrap();
    let seqs = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect();
    (seqs, body["has_more"].as_bool().unwrap())
}

async fn concurrent_posts_into_one_conversation_are_gapless_and_stored_once(app: TestApp) {
    let v = app.start().await;
    let app = std::sync::Arc::new(app);
    let mut tasks = Vec::new();
    // Every client_id is sent twice at once, as a retry racing its original.
    for round in 0..2 {
        for i in 0..40 {
            let (app, v) = (app.clone(), v.clone());
            tasks.push(tokio::spawn(async move {
                let m = post(&app, &v, &format!("m{i}"), &format!("c{i}")).await;
                let seq = m["seq"].as_i64().unwrap();
                // Acknowledged means committed: a fresh read sees it.
                let (seen, _) = page(&app, &v, &format!("?after={}&limit=1", seq - 1)).await;
                assert_eq!(seen, vec![seq], "round {round}: ack before commit?");
                (format!("c{i}"), m["id"].as_str().unwrap().to_string(), seq)
            }));
        }
    }
    let mut by_client = std::collections::HashMap::new();
    for t in tasks {
        let (client_id, id, seq) = t.await.unwrap();
        if let Some((first_id, first_seq)) = by_client.insert(client_id, (id.clone(), seq)) {
            assert_eq!(
                (first_id, first_seq),
                (id, seq),
                "a retry answers the first store"
            );
        }
    }
    let stored = app.stored_messages(&v).await;
    assert_eq!(stored.len(), 40, "each client_id stored once");
    let seqs: Vec<i64> = stored.iter().map(|m| m["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=40).collect::<Vec<_>>());
    let ids: HashSet<&str> = stored
        .iter()
        .map(|m| m["client_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 40);
}

async fn concurrent_posts_into_many_conversations_are_gapless(app: TestApp) {
    let app = std::sync::Arc::new(app);
    let mut visitors = Vec::new();
    for _ in 0..12 {
        visitors.push(app.start().await);
    }
    let mut tasks = Vec::new();
    for (n, v) in visitors.iter().enumerate() {
        for i in 0..8 {
            let (app, v) = (app.clone(), v.clone());
            tasks.push(tokio::spawn(async move {
                post(&app, &v, &format!("{n}-{i}"), &format!("k{n}-{i}")).await
            }));
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    for v in &visitors {
        let seqs: Vec<i64> = app
            .stored_messages(v)
            .await
            .iter()
            .map(|m| m["seq"].as_i64().unwrap())
            .collect();
        assert_eq!(seqs, (1..=8).collect::<Vec<_>>());
    }
}

async fn history_pages_both_ways(app: TestApp) {
    let v = app.start().await;
    for i in 1..=120 {
        post(&app, &v, &format!("m{i}"), &format!("h{i}")).await;
    }
    let (seqs, more) = page(&app, &v, "").await;
    assert_eq!(
        (seqs.len(), seqs[0], more),
        (100, 1, true),
        "default: oldest 100"
    );
    let (seqs, more) = page(&app, &v, "?after=100").await;
    assert_eq!((seqs, more), ((101..=120).collect(), false));
    let (seqs, more) = page(&app, &v, "?before=21&limit=10").await;
    assert_eq!(
        (seqs, more),
        ((11..=20).collect(), true),
        "before: latest below"
    );
    let (seqs, more) = page(&app, &v, "?before=5&limit=10").await;
    assert_eq!((seqs, more), ((1..=4).collect(), false));
    let (seqs, more) = page(&app, &v, "?after=5&before=9").await;
    assert_eq!((seqs, more), (vec![6, 7, 8], false));
    let (seqs, _) = page(&app, &v, "?limit=500").await;
    assert_eq!(seqs.len(), 120);
    for bad in ["?limit=0", "?limit=501", "?before=-1", "?after=x"] {
        let resp = app.history(&v.customer_id, Some(&v.token), bad).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{bad}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_query", "{bad}");
        assert_eq!(body["error"]["retryable"], false);
    }

    // Resuming answers the latest 50 and says older ones exist.
    let resumed: Value = app
        .start_chat(json!({"customer_id": v.customer_id, "token": v.token}))
        .await
        .json()
        .await
        .unwrap();
    let seqs: Vec<i64> = resumed["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, (71..=120).collect::<Vec<_>>());
    assert_eq!(resumed["has_more"], true);

    // The admin API pages the same way.
    let token = app.api_token("alice").await;
    let path = format!(
        "/chat/api/admin/session/{}/messages/?after=110",
        v.session_id
    );
    let body: Value = app
        .admin(Method::GET, &path, &token, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["messages"].as_array().unwrap().len(), 10);
    assert_eq!(body["has_more"], false);
    let path = format!("/chat/api/admin/session/{}/", v.session_id);
    let detail: Value = app
        .admin(Method::GET, &path, &token, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(detail["messages"].as_array().unwrap().len(), 50);
    assert_eq!(detail["messages"][0]["seq"], 71);
    assert_eq!(detail["has_more"], true);
}

async fn the_admin_list_pages_by_keyset_cursor(app: TestApp) {
    let token = app.api_token("alice").await;
    let mut started = Vec::new();
    for _ in 0..7 {
        started.push(app.start().await.session_id);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..5 {
        let mut path = "/chat/api/admin/sessions/?limit=3".to_string();
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let resp = app.admin(Method::GET, &path, &token, None).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let body: Value = resp.json().await.unwrap();
        let sessions = body["sessions"].as_array().unwrap();
        assert!(sessions.len() <= 3);
        seen.extend(
            sessions
                .iter()
                .map(|s| s["id"].as_str().unwrap().to_string()),
        );
        cursor = body["next_cursor"].as_str().map(str::to_string);
        if cursor.is_none() {
            break;
        }
    }
    assert!(cursor.is_none(), "the last page has no next_cursor");
    started.reverse();
    assert_eq!(seen, started, "newest first, each once");

    let resp = app
        .admin(
            Method::GET,
            "/chat/api/admin/sessions/?cursor=nonsense",
            &token,
            None,
        )
        .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_cursor");
    let resp = app
        .admin(
            Method::GET,
            "/chat/api/admin/sessions/?limit=1000",
            &token,
            None,
        )
        .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}

fn fake_session(id: &str) -> SessionView {
    SessionView {
        id: id.into(),
        customer_id: "c".into(),
        name: None,
        email: None,
        status: SessionStatus::Open,
        created_at: "t".into(),
        updated_at: "t".into(),
        last_message: None,
        last_message_at: None,
        last_seq: 0,
        customer_read_seq: 0,
        agent_read_seq: 0,
        offline: false,
        assignee_id: None,
        assignee_name: None,
        unread: 0,
        waiting: false,
    }
}

/// More events than the agent channel holds, published without yielding:
/// the socket's task cannot read them in time.
async fn an_agent_socket_that_falls_behind_gets_resync(app: TestApp) {
    let token = app.api_token("alice").await;
    let mut agent = app.agent_ws(&token).await;
    for _ in 0..(server::bus::AGENT_BACKLOG * 3) {
        app.state.bus.publish(
            Audience::Agents,
            Change::ConversationChanged {
                session: fake_session("s"),
            },
        );
    }
    let mut saw_resync = false;
    for _ in 0..(server::bus::AGENT_BACKLOG * 3) {
        if next_json(&mut agent).await["type"] == "resync" {
            saw_resync = true;
            break;
        }
    }
    assert!(saw_resync, "a lagging agent socket is told to resync");
    // …and stays open.
    send_json(&mut agent, json!({"type": "ping"})).await;
    assert_eq!(next_of_type(&mut agent, "pong").await["type"], "pong");
}

/// A visitor socket that falls behind is caught up from storage: it never
/// sees an event that is not stored, nor a seq twice.
async fn a_visitor_socket_that_falls_behind_catches_up_from_storage(app: TestApp) {
    let v = app.start().await;
    let mut ws = app.visitor_ws_authed(&v, Some(0)).await;
    for i in 1..=3 {
        post(&app, &v, &format!("real {i}"), &format!("r{i}")).await;
        assert_eq!(next_of_type(&mut ws, "message").await["message"]["seq"], i);
    }
    for seq in 4..200 {
        app.state.bus.publish(
            Audience::Visitors(v.session_id.as_str().into()),
            Change::MessageStored {
                session_id: v.session_id.as_str().into(),
                customer_id: v.customer_id.as_str().into(),
                message: MessageView {
                    id: "fake".into(),
                    seq,
                    sender: Sender::Customer,
                    content: "not stored".into(),
                    created_at: "t".into(),
                    client_id: None,
                    agent_name: None,
                    attachment: None,
                },
            },
        );
    }
    post(&app, &v, "real 4", "r4").await;
    let got = next_of_type(&mut ws, "message").await;
    assert_eq!(got["message"]["seq"], 4);
    assert_eq!(got["message"]["content"], "real 4");
}

on_every_store!(
    concurrent_posts_into_one_conversation_are_gapless_and_stored_once,
    concurrent_posts_into_many_conversations_are_gapless,
    history_pages_both_ways,
    the_admin_list_pages_by_keyset_cursor,
    an_agent_socket_that_falls_behind_gets_resync,
    a_visitor_socket_that_falls_behind_catches_up_from_storage,
);

/// With Redis cut off, messages are still acknowledged and reach this
/// instance's sockets (local delivery first).
#[tokio::test]
#[ignore = "needs TEST_REDIS_URL; scripts/test.sh runs it when set"]
async fn local_delivery_goes_on_while_redis_is_unreachable() {
    let redis = std::env::var("TEST_REDIS_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .expect("TEST_REDIS_URL is unset: this test needs Redis");
    let target = redis.trim_start_matches("redis://").trim_end_matches('/');
    let proxy = tcp_proxy(target).await;
    let url = format!("redis://{}", proxy.addr);
    let channel = format!("defmis-test-{}", uuid::Uuid::new_v4().simple());
    let app = spawn_on(
        Store::Sqlite,
        &[
            ("REDIS_URL", url.as_str()),
            ("REDIS_CHANNEL", channel.as_str()),
        ],
    )
    .await;
    let token = app.api_token("alice").await;
    let mut agent = app.agent_ws(&token).await;
    let v = app.start().await;
    let mut visitor = app.visitor_ws_authed(&v, Some(0)).await;
    post(&app, &v, "before the cut", "b1").await;
    assert_eq!(
        next_of_type(&mut agent, "message").await["message"]["seq"],
        1
    );

    proxy.cut();
    for i in 2..=6 {
        let sent = tokio::time::timeout(
            Duration::from_secs(10),
            post(&app, &v, &format!("during the cut {i}"), &format!("d{i}")),
        )
        .await
        .expect("acknowledged without Redis");
        assert_eq!(sent["seq"], i);
        let got = next_of_type(&mut agent, "message").await;
        assert_eq!(got["message"]["seq"], i, "delivered locally");
    }
    for i in 1..=6 {
        assert_eq!(
            next_of_type(&mut visitor, "message").await["message"]["seq"],
            i
        );
    }
}

/// When this instance's Redis subscription comes back after an outage, its
/// agent sockets are told to resync (they may have missed other instances'
/// events), and stay open.
#[tokio::test]
#[ignore = "needs TEST_REDIS_URL; scripts/test.sh runs it when set"]
async fn agents_resync_after_the_redis_link_comes_back() {
    let redis = std::env::var("TEST_REDIS_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .expect("TEST_REDIS_URL is unset: this test needs Redis");
    let target = redis.trim_start_matches("redis://").trim_end_matches('/');
    let proxy = tcp_proxy(target).await;
    let url = format!("redis://{}", proxy.addr);
    let channel = format!("defmis-test-{}", uuid::Uuid::new_v4().simple());
    let app = spawn_on(
        Store::Sqlite,
        &[
            ("REDIS_URL", url.as_str()),
            ("REDIS_CHANNEL", channel.as_str()),
        ],
    )
    .await;
    let token = app.api_token("alice").await;
    let mut agent = app.agent_ws(&token).await;
    proxy.cut();
    tokio::time::sleep(Duration::from_millis(500)).await;
    proxy.restore();
    let resync = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let frame = next_json(&mut agent).await;
            if frame["type"] == "resync" {
                return frame;
            }
        }
    })
    .await
    .expect("a resync after the Redis link came back");
    assert_eq!(resync, json!({"type": "resync"}));
    send_json(&mut agent, json!({"type": "ping"})).await;
    assert_eq!(next_of_type(&mut agent, "pong").await["type"], "pong");
}
