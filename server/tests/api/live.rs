//! Typing indicators and read receipts, both ways, on both sockets, and
//! the visitor's HTTP read endpoint.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{
    assert_quiet, next_json, next_of_type, postgres_and_redis_store, send_json, spawn_on, TestApp,
    Visitor, Ws,
};
use crate::on_every_store;

/// The next frame of `type` whose `by` is `by`, skipping others.
async fn next_by(ws: &mut Ws, kind: &str, by: &str) -> Value {
    loop {
        let v = next_of_type(ws, kind).await;
        if v["by"] == by {
            return v;
        }
    }
}

/// Waits until the socket's loop runs (its feed is subscribed): a ping
/// answered.
async fn ready(ws: &mut Ws) {
    send_json(ws, json!({"type": "ping"})).await;
    next_of_type(ws, "pong").await;
}

async fn start_answer(app: &TestApp, v: &Visitor) -> Value {
    let resp = app
        .start_chat(json!({"customer_id": v.customer_id, "token": v.token}))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json().await.unwrap()
}

async fn read_over_http(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.client
        .post(app.url("/chat/api/chat/read/"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn typing_reaches_the_other_side(app: TestApp) {
    let token = app.api_token("alice").await;
    let v = app.start().await;
    let mut agent = app.agent_ws(&token).await;
    let mut visitor = app.visitor_ws_authed(&v, Some(0)).await;
    ready(&mut agent).await;
    ready(&mut visitor).await;

    send_json(&mut visitor, json!({"type": "typing", "active": true})).await;
    let got = next_of_type(&mut agent, "typing").await;
    assert_eq!(
        got,
        json!({"type": "typing", "session_id": v.session_id, "by": "customer", "active": true})
    );

    send_json(
        &mut agent,
        json!({"type": "typing", "session_id": v.session_id, "active": true}),
    )
    .await;
    let got = next_of_type(&mut visitor, "typing").await;
    // The display name, never the login username.
    assert_eq!(
        got,
        json!({"type": "typing", "by": "agent", "name": "Alice Liddell", "active": true})
    );
    // Agents hear of it too (collision), with who it is.
    let own = next_of_type(&mut agent, "typing").await;
    assert_eq!(own["by"], "agent");
    assert_eq!(own["session_id"], v.session_id.as_str());
    assert_eq!(own["name"], "Alice Liddell");
    assert!(own["agent_id"].is_string());
    // A stop right after a start is passed on (the indicator never sticks).
    send_json(
        &mut agent,
        json!({"type": "typing", "session_id": v.session_id, "active": false}),
    )
    .await;
    assert_eq!(next_of_type(&mut visitor, "typing").await["active"], false);
    let own = next_of_type(&mut agent, "typing").await;
    assert_eq!(
        (own["by"].clone(), own["active"].clone()),
        (json!("agent"), json!(false))
    );
    // The visitor never hears of its own typing.
    send_json(&mut visitor, json!({"type": "typing", "active": false})).await;
    assert_eq!(
        next_of_type(&mut agent, "typing").await,
        json!({"type": "typing", "session_id": v.session_id, "by": "customer", "active": false})
    );
    assert_quiet(&mut visitor).await;
}

async fn typing_spam_is_throttled(app: TestApp) {
    let token = app.api_token("alice").await;
    let v = app.start().await;
    let mut agent = app.agent_ws(&token).await;
    let mut visitor = app.visitor_ws_authed(&v, Some(0)).await;
    ready(&mut agent).await;
    ready(&mut visitor).await;
    for i in 0..10 {
        send_json(
            &mut visitor,
            json!({"type": "typing", "active": i % 2 == 0}),
        )
        .await;
    }
    let mut typing = 0;
    let until = tokio::time::Instant::now() + Duration::from_millis(900);
    while let Ok(frame) = tokio::time::timeout_at(until, next_json(&mut agent)).await {
        if frame["type"] == "typing" {
            typing += 1;
        }
    }
    assert!(
        (1..=2).contains(&typing),
        "{typing} typing frames passed in a second"
    );
    // No error frames for the dropped ones.
    assert_quiet(&mut visitor).await;
}

async fn reads_reach_the_other_side_and_are_stored(app: TestApp) {
    let token = app.api_token("alice").await;
    let v = app.start().await;
    for text in ["one", "two", "three"] {
        app.say(&v, text).await;
    }
    let mut agent = app.agent_ws(&token).await;
    let mut visitor = app.visitor_ws_authed(&v, None).await;
    ready(&mut agent).await;
    ready(&mut visitor).await;

    send_json(&mut visitor, json!({"type": "read", "seq": 2})).await;
    let got = next_by(&mut agent, "read", "customer").await;
    assert_eq!(
        got,
        json!({"type": "read", "session_id": v.session_id, "by": "customer", "seq": 2})
    );
    // Lower, equal: nothing changes and nothing is announced.
    send_json(&mut visitor, json!({"type": "read", "seq": 1})).await;
    send_json(&mut visitor, json!({"type": "read", "seq": 2})).await;
    // Above the last seq: capped at it.
    send_json(&mut visitor, json!({"type": "read", "seq": 99})).await;
    assert_eq!(next_by(&mut agent, "read", "customer").await["seq"], 3);
    // Negative: refused.
    send_json(&mut visitor, json!({"type": "read", "seq": -1})).await;
    let e = next_of_type(&mut visitor, "error").await;
    assert_eq!(e["error"]["code"], "invalid_frame");

    send_json(
        &mut agent,
        json!({"type": "read", "session_id": v.session_id, "seq": 3}),
    )
    .await;
    assert_eq!(
        next_of_type(&mut visitor, "read").await,
        json!({"type": "read", "by": "agent", "seq": 3})
    );
    // Other agents hear of it too (their unread counts).
    assert_eq!(next_by(&mut agent, "read", "agent").await["seq"], 3);
    send_json(
        &mut agent,
        json!({"type": "read", "session_id": v.session_id, "seq": 1}),
    )
    .await;
    send_json(
        &mut agent,
        json!({"type": "read", "session_id": "nope", "seq": 1}),
    )
    .await;
    assert_eq!(
        next_of_type(&mut agent, "error").await["error"]["code"],
        "unknown_session"
    );
    send_json(
        &mut agent,
        json!({"type": "read", "session_id": v.session_id, "seq": -5}),
    )
    .await;
    assert_eq!(
        next_of_type(&mut agent, "error").await["error"]["code"],
        "invalid_frame"
    );
    assert_quiet(&mut visitor).await;

    // Stored: after a reconnect, in start's answer and the SessionView.
    drop(visitor);
    let answer = start_answer(&app, &v).await;
    assert_eq!(answer["read_seq"], 3);
    assert_eq!(answer["agent_read_seq"], 3);
    let session = app.session_view(&token, &v).await;
    assert_eq!(session["customer_read_seq"], 3);
    assert_eq!(session["agent_read_seq"], 3);
    assert_eq!(session["last_seq"], 3);
}

async fn a_new_conversation_has_read_nothing(app: TestApp) {
    let resp = app.start_chat(json!({})).await;
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(answer["read_seq"], 0);
    assert_eq!(answer["agent_read_seq"], 0);
}

async fn reads_over_http(app: TestApp) {
    let token = app.api_token("alice").await;
    let v = app.start().await;
    app.say(&v, "one").await;
    app.say(&v, "two").await;
    let mut agent = app.agent_ws(&token).await;
    ready(&mut agent).await;

    let body = json!({"customer_id": v.customer_id, "seq": 1});
    let resp = read_over_http(&app, &v.token, body.clone()).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(next_by(&mut agent, "read", "customer").await["seq"], 1);

    let resp = read_over_http(&app, "wrong-token", body).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let resp = read_over_http(
        &app,
        &v.token,
        json!({"customer_id": v.customer_id, "seq": -1}),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let resp = read_over_http(
        &app,
        &v.token,
        json!({"customer_id": v.customer_id, "seq": "two"}),
    )
    .await;
    assert!(
        [StatusCode::BAD_REQUEST, StatusCode::UNPROCESSABLE_ENTITY].contains(&resp.status()),
        "{}",
        resp.status()
    );
    let resp = app
        .client
        .post(app.url("/chat/api/chat/read/"))
        .json(&json!({"customer_id": v.customer_id, "seq": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    let resp = read_over_http(
        &app,
        &v.token,
        json!({"customer_id": v.customer_id, "seq": 50}),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(next_by(&mut agent, "read", "customer").await["seq"], 2);
    assert_eq!(start_answer(&app, &v).await["read_seq"], 2);
}

on_every_store!(
    typing_reaches_the_other_side,
    typing_spam_is_throttled,
    reads_reach_the_other_side_and_are_stored,
    a_new_conversation_has_read_nothing,
    reads_over_http,
);

/// Typing and receipts cross instances through Redis.
#[tokio::test]
#[ignore = "needs TEST_DATABASE_URL and TEST_REDIS_URL; scripts/test.sh runs it when set"]
async fn typing_and_reads_cross_instances() {
    let store = postgres_and_redis_store().await;
    let a = spawn_on(store.clone(), &[]).await;
    let b = spawn_on(store, &[]).await;
    let token = b.api_token("alice").await;
    let mut agent_on_b = b.agent_ws(&token).await;
    let v = a.start().await;
    a.say(&v, "hello").await;
    let mut visitor_on_a = a.visitor_ws_authed(&v, None).await;
    ready(&mut agent_on_b).await;
    ready(&mut visitor_on_a).await;

    send_json(&mut visitor_on_a, json!({"type": "typing", "active": true})).await;
    assert_eq!(
        next_of_type(&mut agent_on_b, "typing").await["by"],
        "customer"
    );
    send_json(
        &mut agent_on_b,
        json!({"type": "typing", "session_id": v.session_id, "active": true}),
    )
    .await;
    assert_eq!(
        next_of_type(&mut visitor_on_a, "typing").await["name"],
        "Alice Liddell"
    );
    send_json(&mut visitor_on_a, json!({"type": "read", "seq": 1})).await;
    assert_eq!(next_by(&mut agent_on_b, "read", "customer").await["seq"], 1);
    send_json(
        &mut agent_on_b,
        json!({"type": "read", "session_id": v.session_id, "seq": 1}),
    )
    .await;
    assert_eq!(next_of_type(&mut visitor_on_a, "read").await["seq"], 1);
}
