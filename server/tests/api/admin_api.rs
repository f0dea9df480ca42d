use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::on_every_store;

async fn sessions_are_listed_newest_activity_first(app: TestApp) {
    let token = app.api_token("alice").await;
    let first = app.start_with(json!({"name": "First"})).await;
    let second = app.start_with(json!({"name": "Second"})).await;
    app.say(&first, "bump").await;
    let resp = app
        .admin(Method::GET, "/chat/api/admin/sessions/", &token, None)
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    let ids: Vec<&str> = body["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![first.session_id.as_str(), second.session_id.as_str()]
    );
    assert_eq!(body["sessions"][0]["last_message"], "bump");
    assert_eq!(body["sessions"][0]["last_seq"], 1);

    let resp = app
        .admin(
            Method::GET,
            "/chat/api/admin/sessions/?status=bogus",
            &token,
            None,
        )
        .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}

async fn a_session_in_detail_and_its_status(app: TestApp) {
    let token = app.api_token("alice").await;
    let v = app.start().await;
    app.say(&v, "hi").await;
    let path = format!("/chat/api/admin/session/{}/", v.session_id);
    let body: Value = app
        .admin(Method::GET, &path, &token, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["session"]["customer_id"], v.customer_id.as_str());
    assert_eq!(body["messages"][0]["content"], "hi");

    let status_path = format!("/chat/api/admin/session/{}/status/", v.session_id);
    let resp = app
        .admin(
            Method::PATCH,
            &status_path,
            &token,
            Some(json!({"status": "closed"})),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "closed");
    let resp = app
        .admin(
            Method::PATCH,
            &status_path,
            &token,
            Some(json!({"status": "archived"})),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // A visitor writing again reopens the conversation.
    app.say(&v, "one more thing").await;
    let body: Value = app
        .admin(Method::GET, &path, &token, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["session"]["status"], "open");

    let resp = app
        .admin(Method::GET, "/chat/api/admin/session/nope/", &token, None)
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

async fn the_admin_api_needs_an_agent(app: TestApp) {
    let resp = app.get("/chat/api/admin/sessions/").await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let resp = app
        .admin(
            Method::GET,
            "/chat/api/admin/sessions/",
            "not-a-token",
            None,
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    // A visitor's token is not an agent's.
    let v = app.start().await;
    let resp = app
        .admin(Method::GET, "/chat/api/admin/sessions/", &v.token, None)
        .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

async fn replies_over_http(app: TestApp) {
    let token = app.api_token("alice").await;
    let v = app.start().await;
    let path = format!("/chat/api/admin/session/{}/messages/", v.session_id);
    let resp = app
        .admin(
            Method::POST,
            &path,
            &token,
            Some(json!({"content": "Hello!", "client_id": "x1"})),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let resp = app
        .admin(Method::POST, &path, &token, Some(json!({"content": ""})))
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let stored = app.stored_messages(&v).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["sender"], "agent");
}

on_every_store!(
    sessions_are_listed_newest_activity_first,
    a_session_in_detail_and_its_status,
    the_admin_api_needs_an_agent,
    replies_over_http,
);
