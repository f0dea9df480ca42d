use std::time::Duration;

use futures_util::SinkExt;
use reqwest::Method;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{assert_quiet, close_of, next_json, next_of_type, send_json, TestApp};
use crate::on_every_store;

async fn own_messages_come_back_as_acknowledgement(app: TestApp) {
    let v = app.start().await;
    let mut ws = app.visitor_ws_authed(&v, None).await;
    send_json(
        &mut ws,
        json!({"type": "message", "content": "hello", "client_id": "a1"}),
    )
    .await;
    let frame = next_of_type(&mut ws, "message").await;
    assert_eq!(frame["message"]["content"], "hello");
    assert_eq!(frame["message"]["client_id"], "a1");
    assert_eq!(frame["message"]["seq"], 1);
    assert_eq!(frame["message"]["sender"], "customer");
    assert_eq!(app.stored_messages(&v).await.len(), 1);
}

async fn agent_replies_arrive_live(app: TestApp) {
    let token = app.api_token("alice").await;
    let v = app.start().await;
    // `after: 0` makes the server send anything stored since, so the test
    // does not race the authentication.
    let mut ws = app.visitor_ws_authed(&v, Some(0)).await;
    let resp = app
        .admin(
            Method::POST,
            &format!("/chat/api/admin/session/{}/messages/", v.session_id),
            &token,
            Some(json!({"content": "How can I help?"})),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let frame = next_of_type(&mut ws, "message").await;
    assert_eq!(frame["message"]["sender"], "agent");
    assert_eq!(frame["message"]["agent_name"], "Alice Liddell");
    assert!(!frame.to_string().contains("\"alice\""), "{frame}");
    assert_eq!(frame["message"]["content"], "How can I help?");
}

async fn resume_sends_what_was_missed(app: TestApp) {
    let v = app.start().await;
    for text in ["one", "two", "three"] {
        app.say(&v, text).await;
    }
    let mut ws = app.visitor_ws_authed(&v, Some(1)).await;
    assert_eq!(next_json(&mut ws).await["message"]["content"], "two");
    assert_eq!(next_json(&mut ws).await["message"]["content"], "three");
    assert_quiet(&mut ws).await;
    // Then live ones continue in order.
    app.say(&v, "four").await;
    assert_eq!(next_json(&mut ws).await["message"]["seq"], 4);
}

async fn a_resent_message_is_stored_once_and_acknowledged(app: TestApp) {
    let v = app.start().await;
    let mut ws = app.visitor_ws_authed(&v, Some(0)).await;
    let frame = json!({"type": "message", "content": "once", "client_id": "dup-1"});
    send_json(&mut ws, frame.clone()).await;
    let first = next_of_type(&mut ws, "message").await;
    send_json(&mut ws, frame).await;
    let second = next_of_type(&mut ws, "message").await;
    assert_eq!(first["message"]["id"], second["message"]["id"]);
    assert_eq!(app.stored_messages(&v).await.len(), 1);
}

/// Refused credentials close with 4401 (the widget forgets them); a first
/// frame that is not an auth frame is a protocol error (1008).
async fn bad_auth_closes_with_4401(app: TestApp) {
    let v = app.start().await;
    let mut ws = app.visitor_ws(&v.customer_id).await;
    send_json(&mut ws, json!({"type": "auth", "token": "wrong"})).await;
    let (code, reason) = close_of(&mut ws, Duration::from_secs(5)).await;
    assert_eq!(code, 4401);
    assert!(!reason.is_empty());

    let mut ws = app.visitor_ws("nobody-123456").await;
    send_json(&mut ws, json!({"type": "auth", "token": v.token})).await;
    assert_eq!(close_of(&mut ws, Duration::from_secs(5)).await.0, 4401);

    let mut ws = app.visitor_ws("bad%00id").await;
    send_json(&mut ws, json!({"type": "auth", "token": v.token})).await;
    assert_eq!(close_of(&mut ws, Duration::from_secs(5)).await.0, 4401);

    let mut ws = app.visitor_ws(&v.customer_id).await;
    send_json(&mut ws, json!({"type": "message", "content": "sneaky"})).await;
    assert_eq!(close_of(&mut ws, Duration::from_secs(5)).await.0, 1008);

    let mut ws = app.visitor_ws(&v.customer_id).await;
    ws.send(Message::Text("not json".into())).await.unwrap();
    assert_eq!(close_of(&mut ws, Duration::from_secs(5)).await.0, 1008);
    assert!(app.stored_messages(&v).await.is_empty());
}

/// 4408: the widget reconnects with the same credentials.
async fn silence_closes_after_five_seconds(app: TestApp) {
    let v = app.start().await;
    let mut ws = app.visitor_ws(&v.customer_id).await;
    let (code, reason) = close_of(&mut ws, Duration::from_secs(8)).await;
    assert_eq!(code, 4408);
    assert!(reason.contains("timeout"), "{reason}");
}

async fn bad_frames_get_clear_answers(app: TestApp) {
    let v = app.start().await;
    let mut ws = app.visitor_ws_authed(&v, Some(0)).await;
    send_json(&mut ws, json!({"type": "dance"})).await;
    let e = next_json(&mut ws).await;
    assert_eq!(e["type"], "error");
    assert_eq!(e["error"]["code"], "unknown_type");
    ws.send(Message::Text("{oops".into())).await.unwrap();
    assert_eq!(next_json(&mut ws).await["error"]["code"], "invalid_frame");
    send_json(
        &mut ws,
        json!({"type": "message", "content": "  ", "client_id": "e1"}),
    )
    .await;
    let e = next_json(&mut ws).await;
    assert_eq!(e["error"]["code"], "empty_content");
    assert_eq!(e["client_id"], "e1");
    send_json(
        &mut ws,
        json!({"type": "message", "content": "x".repeat(4001), "client_id": "e2"}),
    )
    .await;
    assert_eq!(
        next_json(&mut ws).await["error"]["code"],
        "content_too_long"
    );
    send_json(&mut ws, json!({"type": "message", "content": 5})).await;
    assert_eq!(next_json(&mut ws).await["error"]["code"], "invalid_frame");
    // The socket still works, and nothing bad was stored.
    send_json(
        &mut ws,
        json!({"type": "message", "content": "fine", "client_id": "ok"}),
    )
    .await;
    assert_eq!(next_json(&mut ws).await["message"]["content"], "fine");
    assert_eq!(app.stored_messages(&v).await.len(), 1);
}

async fn binary_frames_close_with_1003(app: TestApp) {
    let v = app.start().await;
    let mut ws = app.visitor_ws_authed(&v, Some(0)).await;
    ws.send(Message::Binary(vec![1, 2, 3].into()))
        .await
        .unwrap();
    assert_eq!(close_of(&mut ws, Duration::from_secs(5)).await.0, 1003);
}

async fn oversize_frames_close_with_1009(app: TestApp) {
    let v = app.start().await;
    let mut ws = app.visitor_ws_authed(&v, Some(0)).await;
    let huge = json!({"type": "message", "content": "x".repeat(200_000), "client_id": "big"});
    let _ = ws.send(Message::Text(huge.to_string().into())).await;
    assert_eq!(close_of(&mut ws, Duration::from_secs(5)).await.0, 1009);
    assert!(app.stored_messages(&v).await.is_empty());
    // Everyone else is still served.
    let other = app.start().await;
    let mut ws = app.visitor_ws_authed(&other, None).await;
    send_json(
        &mut ws,
        json!({"type": "message", "content": "still here", "client_id": "s"}),
    )
    .await;
    assert_eq!(next_json(&mut ws).await["message"]["content"], "still here");
}

async fn visitors_only_see_their_own_conversation(app: TestApp) {
    let a = app.start().await;
    let b = app.start().await;
    let mut ws_a = app.visitor_ws_authed(&a, Some(0)).await;
    let mut ws_b = app.visitor_ws_authed(&b, Some(0)).await;
    send_json(
        &mut ws_b,
        json!({"type": "message", "content": "b's secret", "client_id": "b1"}),
    )
    .await;
    assert_eq!(
        next_json(&mut ws_b).await["message"]["content"],
        "b's secret"
    );
    assert_quiet(&mut ws_a).await;
}

on_every_store!(
    own_messages_come_back_as_acknowledgement,
    agent_replies_arrive_live,
    resume_sends_what_was_missed,
    a_resent_message_is_stored_once_and_acknowledged,
    bad_auth_closes_with_4401,
    silence_closes_after_five_seconds,
    bad_frames_get_clear_answers,
    binary_frames_close_with_1003,
    oversize_frames_close_with_1009,
    visitors_only_see_their_own_conversation,
);
