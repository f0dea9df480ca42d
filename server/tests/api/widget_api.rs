use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::on_every_store;

async fn error_code(resp: reqwest::Response) -> String {
    let body: Value = resp.json().await.expect("JSON error body");
    assert!(body["error"]["message"].is_string(), "{body}");
    body["error"]["code"]
        .as_str()
        .expect("error.code")
        .to_string()
}

async fn config_has_widget_settings(app: TestApp) {
    let resp = app.get("/chat/api/widget/config/").await;
    assert_eq!(resp.status(), StatusCode::OK);
    let v: Value = resp.json().await.unwrap();
    for key in [
        "title",
        "welcome_message",
        "primary_color",
        "text_color",
        "position",
    ] {
        assert!(v[key].is_string(), "{key} in {v}");
    }
    assert_eq!(v["max_message_length"], 4000);
}

async fn start_gives_unguessable_credentials(app: TestApp) {
    let resp = app
        .start_chat(json!({"name": "Ann", "email": "ann@example.com"}))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["token"].as_str().unwrap().len(), 64);
    assert!(v["customer_id"].as_str().unwrap().len() >= 32);
    assert_eq!(v["messages"], json!([]));
    assert_eq!(v["status"], "open");
    let other = app.start().await;
    assert_ne!(other.customer_id, v["customer_id"].as_str().unwrap());
    // An empty body is a fresh anonymous conversation.
    let resp = app
        .client
        .post(app.url("/chat/api/chat/start/"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}

async fn resume_needs_the_token(app: TestApp) {
    let v = app.start().await;
    app.say(&v, "first").await;
    let resp = app
        .start_chat(json!({"customer_id": v.customer_id, "token": v.token}))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["customer_id"], v.customer_id.as_str());
    assert_eq!(body["messages"][0]["content"], "first");

    let resp = app.start_chat(json!({"customer_id": v.customer_id})).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(resp).await, "missing_token");
    let resp = app
        .start_chat(json!({"customer_id": v.customer_id, "token": "0".repeat(64)}))
        .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(resp).await, "invalid_token");
}

async fn a_chosen_customer_id_is_kept(app: TestApp) {
    let v = app
        .start_with(json!({"customer_id": "shop-user-0042"}))
        .await;
    assert_eq!(v.customer_id, "shop-user-0042");
    let resp = app.start_chat(json!({"customer_id": "bad\u{7}id"})).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(resp).await, "invalid_customer_id");
}

async fn start_rejects_bad_input(app: TestApp) {
    let resp = app.start_chat(json!({"email": "not-an-email"})).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(resp).await, "invalid_email");
    let resp = app.start_chat(json!({"name": 42})).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(resp).await, "invalid_body");
    let resp = app
        .client
        .post(app.url("/chat/api/chat/start/"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(resp).await, "invalid_json");
}

async fn messages_are_stored_once_per_client_id(app: TestApp) {
    let v = app.start().await;
    let body =
        json!({"customer_id": v.customer_id, "content": "Hello <b>there</b>", "client_id": "c-1"});
    let first = app.post_message(Some(&v.token), body.clone()).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["seq"], 1);
    assert_eq!(first["sender"], "customer");
    assert_eq!(first["content"], "Hello <b>there</b>");
    assert_eq!(first["client_id"], "c-1");
    assert!(first["id"].as_str().unwrap().len() >= 32);
    assert!(first["created_at"].as_str().unwrap().ends_with('Z'));
    let again = app.post_message(Some(&v.token), body).await;
    assert_eq!(again.status(), StatusCode::CREATED);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    let second = app.say(&v, "second").await;
    assert_eq!(second["seq"], 2);
    assert_eq!(app.stored_messages(&v).await.len(), 2);
}

async fn concurrent_retries_store_once(app: TestApp) {
    let v = app.start().await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let client = app.client.clone();
        let url = app.url("/chat/api/chat/message/");
        let v = v.clone();
        tasks.push(tokio::spawn(async move {
            let client_id = if i % 2 == 0 { "same".to_string() } else { format!("other-{i}") };
            client
                .post(url)
                .bearer_auth(&v.token)
                .json(&json!({"customer_id": v.customer_id, "content": format!("m{i}"), "client_id": client_id}))
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::CREATED);
    }
    let stored = app.stored_messages(&v).await;
    assert_eq!(stored.len(), 5, "one 'same' and four others");
    let seqs: Vec<i64> = stored.iter().map(|m| m["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, vec![1, 2, 3, 4, 5]);
}

async fn message_input_is_checked(app: TestApp) {
    let v = app.start().await;
    let ok = |content: Value| json!({"customer_id": v.customer_id, "content": content, "client_id": uuid::Uuid::new_v4().to_string()});

    let resp = app.post_message(None, ok(json!("hi"))).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(resp).await, "missing_token");
    let resp = app.post_message(Some("wrong"), ok(json!("hi"))).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(resp).await, "invalid_token");
    let resp = app
        .post_message(
            Some(&v.token),
            json!({"customer_id": "nobody-12345", "content": "hi"}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(resp).await, "unknown_customer");
    let resp = app.post_message(Some(&v.token), ok(json!("   "))).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(resp).await, "empty_content");
    let resp = app
        .post_message(Some(&v.token), ok(json!("x".repeat(4001))))
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(resp).await, "content_too_long");
    let resp = app.post_message(Some(&v.token), ok(json!(17))).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(resp).await, "invalid_body");
    let resp = app
        .post_message(
            Some(&v.token),
            json!({"customer_id": v.customer_id, "content": "hi", "client_id": "bad id"}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(resp).await, "invalid_client_id");
    let resp = app
        .client
        .post(app.url("/chat/api/chat/message/"))
        .bearer_auth(&v.token)
        .header("content-type", "application/json")
        .body("{\"customer_id\":")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(resp).await, "invalid_json");
    let resp = app
        .client
        .post(app.url("/chat/api/chat/message/"))
        .bearer_auth(&v.token)
        .body("content=hi")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(error_code(resp).await, "unsupported_media_type");
    let resp = app
        .client
        .post(app.url("/chat/api/chat/message/"))
        .bearer_auth(&v.token)
        .header("content-type", "application/json")
        .body(vec![b' '; 100 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_code(resp).await, "too_large");

    // Nothing of that was stored; the limit itself is accepted.
    assert!(app.stored_messages(&v).await.is_empty());
    let resp = app
        .post_message(Some(&v.token), ok(json!("é".repeat(4000))))
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
}

async fn history_after_a_seq(app: TestApp) {
    let v = app.start().await;
    for text in ["one", "two", "three"] {
        app.say(&v, text).await;
    }
    let resp = app
        .history(&v.customer_id, Some(&v.token), "?after=1")
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    let contents: Vec<&str> = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(contents, vec!["two", "three"]);

    let resp = app
        .history(&v.customer_id, Some(&v.token), "?after=abc")
        .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(resp).await, "invalid_query");
    let resp = app
        .history(&v.customer_id, Some(&v.token), "?after=-1")
        .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let resp = app.history(&v.customer_id, None, "").await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let other = app.start().await;
    let resp = app.history(&v.customer_id, Some(&other.token), "").await;
    assert_eq!(
        resp.status(),
        StatusCode::UNAUTHORIZED,
        "another visitor's token opens nothing"
    );
}

async fn widget_api_is_cors_open(app: TestApp) {
    let resp = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/chat/api/chat/message/"))
        .header("origin", "https://shop.example.com")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type",
        )
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");
}

async fn unknown_hosts_and_paths(app: TestApp) {
    let resp = app
        .client
        .get(app.url("/chat/api/widget/config/"))
        .header("host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(resp).await, "invalid_host");
    let resp = app.get("/chat/api/nope/").await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(resp).await, "not_found");
}

on_every_store!(
    config_has_widget_settings,
    start_gives_unguessable_credentials,
    resume_needs_the_token,
    a_chosen_customer_id_is_kept,
    start_rejects_bad_input,
    messages_are_stored_once_per_client_id,
    concurrent_retries_store_once,
    message_input_is_checked,
    history_after_a_seq,
    widget_api_is_cors_open,
    unknown_hosts_and_paths,
);
