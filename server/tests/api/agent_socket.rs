use serde_json::json;

use crate::helpers::{next_json, next_of_type, send_json, TestApp};
use crate::on_every_store;

async fn agents_see_sessions_and_messages_live(app: TestApp) {
    let token = app.api_token("alice").await;
    let mut agent = app.agent_ws(&token).await;
    let v = app.start_with(json!({"name": "Bob"})).await;
    let created = next_of_type(&mut agent, "session").await;
    assert_eq!(created["session"]["customer_id"], v.customer_id.as_str());
    assert_eq!(created["session"]["name"], "Bob");
    assert_eq!(created["session"]["status"], "open");
    app.say(&v, "help me").await;
    let ev = next_of_type(&mut agent, "message").await;
    assert_eq!(ev["session_id"], v.session_id.as_str());
    assert_eq!(ev["customer_id"], v.customer_id.as_str());
    assert_eq!(ev["message"]["content"], "help me");
    assert_eq!(ev["message"]["seq"], 1);
}

async fn replies_sent_as_frames_reach_the_visitor(app: TestApp) {
    let token = app.api_token("alice").await;
    let v = app.start().await;
    let mut visitor = app.visitor_ws_authed(&v, Some(0)).await;
    let mut agent = app.agent_ws(&token).await;
    send_json(
        &mut agent,
        json!({"type": "reply", "session_id": v.session_id, "content": "On it", "client_id": "r1"}),
    )
    .await;
    let ev = next_of_type(&mut agent, "message").await;
    assert_eq!(ev["message"]["sender"], "agent");
    let got = next_of_type(&mut visitor, "message").await;
    assert_eq!(got["message"]["content"], "On it");
    // The display name, never the login username.
    assert_eq!(got["message"]["agent_name"], "Alice Liddell");

    send_json(
        &mut agent,
        json!({"type": "reply", "session_id": "nope", "content": "x", "client_id": "r2"}),
    )
    .await;
    let e = next_of_type(&mut agent, "error").await;
    assert_eq!(e["error"]["code"], "unknown_session");
    assert_eq!(e["client_id"], "r2");
    send_json(&mut agent, json!({"type": "wave"})).await;
    assert_eq!(next_json(&mut agent).await["error"]["code"], "unknown_type");
}

async fn the_agent_socket_needs_credentials(app: TestApp) {
    assert_eq!(
        app.agent_ws_with(&[]).await.err(),
        Some(401),
        "no Origin, no token"
    );
    let origin = format!("http://{}", app.host);
    assert_eq!(
        app.agent_ws_with(&[("origin", &origin)]).await.err(),
        Some(401)
    );
    assert_eq!(
        app.agent_ws_with(&[("authorization", "Bearer nope")])
            .await
            .err(),
        Some(401)
    );
}

async fn cookies_work_from_our_own_pages_only(app: TestApp) {
    let cookie = app.session_cookie("carol").await;
    let origin = format!("http://{}", app.host);
    let mut ws = app
        .agent_ws_with(&[("cookie", &cookie), ("origin", &origin)])
        .await
        .expect("same-origin cookie accepted");
    let v = app.start().await;
    assert_eq!(
        next_of_type(&mut ws, "session").await["session"]["id"],
        v.session_id.as_str()
    );
    assert_eq!(
        app.agent_ws_with(&[("cookie", &cookie), ("origin", "https://evil.example")])
            .await
            .err(),
        Some(403)
    );
    assert_eq!(
        app.agent_ws_with(&[("cookie", &cookie)]).await.err(),
        Some(403)
    );
}

on_every_store!(
    agents_see_sessions_and_messages_live,
    replies_sent_as_frames_reach_the_visitor,
    the_agent_socket_needs_credentials,
    cookies_work_from_our_own_pages_only,
);
