//! Agents' presence and collision: every agent socket hears who is online
//! or away and which conversation their page shows; away agents do not
//! make the widget available; on every store (and across two instances
//! in `two_instances`).

use std::time::Duration;

use serde_json::{json, Value};
use tokio::time::Instant;

use crate::helpers::{next_presence, send_json, TestApp, Ws};
use crate::on_every_store;

/// The next presence frame about `name` that `pick` accepts.
async fn presence_of(ws: &mut Ws, name: &str, pick: impl Fn(&Value) -> bool) -> Value {
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        assert!(Instant::now() < until, "no such presence frame for {name}");
        let p = next_presence(ws).await;
        if p["name"] == name && pick(&p) {
            return p;
        }
    }
}

async fn available(app: &TestApp) -> bool {
    let config: Value = app
        .get("/chat/api/widget/config/")
        .await
        .json()
        .await
        .unwrap();
    config["available"].as_bool().unwrap()
}

async fn wait_available(app: &TestApp, want: bool) {
    let until = Instant::now() + Duration::from_secs(5);
    while available(app).await != want {
        assert!(Instant::now() < until, "available never became {want}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn who_is_there_and_where(app: TestApp) {
    let ann_token = app.api_token("ann").await;
    let bob_token = app.api_token("bob").await;
    let v = app.start().await;

    let mut ann = app.agent_ws(&ann_token).await;
    let own = presence_of(&mut ann, "ANN", |p| p["status"] == "online").await;
    assert_eq!(own["viewing"], Value::Null);
    assert!(own["socket"].is_string() && own["agent_id"].is_string());

    // A new socket is heard of, and hears of the ones already open.
    let mut bob = app.agent_ws(&bob_token).await;
    presence_of(&mut ann, "BOB", |p| p["status"] == "online").await;
    presence_of(&mut bob, "ANN", |p| p["status"] == "online").await;

    // Viewing a conversation.
    send_json(
        &mut bob,
        json!({"type": "viewing", "session_id": v.session_id}),
    )
    .await;
    presence_of(&mut ann, "BOB", |p| p["viewing"] == v.session_id.as_str()).await;
    send_json(&mut bob, json!({"type": "viewing", "session_id": null})).await;
    presence_of(&mut ann, "BOB", |p| p["viewing"].is_null()).await;

    // Away, and back.
    send_json(&mut bob, json!({"type": "away", "away": true})).await;
    presence_of(&mut ann, "BOB", |p| p["status"] == "away").await;

    // Ann leaves: Bob hears it; Bob is away, so nobody is available.
    ann.close(None).await.unwrap();
    presence_of(&mut bob, "ANN", |p| p["status"] == "offline").await;
    wait_available(&app, false).await;
    send_json(&mut bob, json!({"type": "away", "away": false})).await;
    wait_available(&app, true).await;

    // A frame of the wrong shape is refused like any other.
    send_json(&mut bob, json!({"type": "away", "away": "yes"})).await;
    let error = crate::helpers::next_of_type(&mut bob, "error").await;
    assert_eq!(error["error"]["code"], "invalid_frame");
}

on_every_store!(who_is_there_and_where);
