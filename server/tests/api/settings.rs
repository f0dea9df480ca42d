//! Widget settings saved in the dashboard: the admin API, the server
//! functions and the preview page; applied at once (the widget config,
//! allowed origins, identity verification); admins only; on every store.

use app::types::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::helpers::{identity_hash, TestApp};
use crate::on_every_store;

const SETTINGS: &str = "/chat/api/admin/widget-settings/";
const ROTATE: &str = "/chat/api/admin/widget-settings/identity-secret/";
const CONFIG: &str = "/chat/api/widget/config/";

async fn status_code(resp: reqwest::Response) -> (u16, String) {
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap();
    (status, body["error"]["code"].as_str().unwrap_or("").into())
}

async fn config(app: &TestApp) -> Value {
    app.get(CONFIG).await.json().await.unwrap()
}

async fn saved_settings_apply_at_once(app: TestApp) {
    let admin = app.token_with_role("root", Role::Admin).await;
    let agent = app.token_with_role("ann", Role::Agent).await;

    // The environment's values until a save.
    let before = config(&app).await;
    assert_eq!(before["title"], "Chat with us");
    assert_eq!(before["position"], "bottom-right");
    let resp = app.admin(Method::GET, SETTINGS, &admin, None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let shown: Value = resp.json().await.unwrap();
    assert_eq!(shown["updated_at"], Value::Null);
    assert_eq!(shown["identity_secret_source"], "none");
    assert_eq!(shown["allowed_origins"], json!([]));
    assert_eq!(shown["max_message_length"], 4000);
    assert!(shown["public_url"].as_str().unwrap().starts_with("http://"));

    let resp = app
        .admin(
            Method::PUT,
            SETTINGS,
            &admin,
            Some(json!({
                "title": "  Talk to Acme  ",
                "welcome_message": "Hello!\nWe answer within minutes.",
                "primary_color": "#FF0000",
                "position": "bottom-left",
                "offline_mode": "async",
                "reply_time": "a few hours",
            })),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let saved: Value = resp.json().await.unwrap();
    assert_eq!(saved["title"], "Talk to Acme");
    assert_eq!(saved["primary_color"], "#ff0000");
    assert_eq!(saved["text_color"], "#ffffff", "left out: kept");
    assert!(saved["updated_at"].is_string());
    assert!(saved["updated_by"].is_string());

    // No restart: the widget's config says so at once.
    let now = config(&app).await;
    assert_eq!(now["title"], "Talk to Acme");
    assert_eq!(now["welcome_message"], "Hello!\nWe answer within minutes.");
    assert_eq!(now["primary_color"], "#ff0000");
    assert_eq!(now["position"], "bottom-left");
    assert_eq!(now["offline_mode"], "async");
    assert_eq!(now["reply_time"], "a few hours");
    assert_eq!(now["max_message_length"], 4000);
    assert!(now.get("allowed_origins").is_none(), "not public");
    assert!(now.get("identity_secret").is_none(), "never public");

    // A second change keeps the first's other fields.
    app.admin(
        Method::PUT,
        SETTINGS,
        &admin,
        Some(json!({"title": "Acme help"})),
    )
    .await;
    let now = config(&app).await;
    assert_eq!(now["title"], "Acme help");
    assert_eq!(now["position"], "bottom-left");

    // Refusals change nothing.
    for (body, expected) in [
        (json!({"primary_color": "red"}), (422, "invalid_setting")),
        (json!({"title": "   "}), (422, "invalid_setting")),
        (json!({"title": "x".repeat(81)}), (422, "invalid_setting")),
        (json!({"reply_time": "soon\u{7}"}), (422, "invalid_setting")),
        (
            json!({"allowed_origins": ["shop.example.com/path"]}),
            (422, "invalid_setting"),
        ),
        (
            json!({"identity_secret": "short"}),
            (422, "invalid_setting"),
        ),
        (json!({"identity_required": true}), (422, "invalid_setting")),
        (json!({"position": "top"}), (422, "invalid_body")),
        (json!({"colour": "#000"}), (422, "invalid_body")),
    ] {
        let resp = app
            .admin(Method::PUT, SETTINGS, &admin, Some(body.clone()))
            .await;
        let (status, code) = status_code(resp).await;
        assert_eq!((status, code.as_str()), expected, "{body}");
    }
    let resp = app
        .client
        .put(app.url(SETTINGS))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(status_code(resp).await, (400, "invalid_json".into()));
    assert_eq!(config(&app).await["title"], "Acme help");

    // Agents and strangers may not see or change them.
    for (method, path, body) in [
        (Method::GET, SETTINGS, None),
        (Method::PUT, SETTINGS, Some(json!({"title": "mine"}))),
        (Method::POST, ROTATE, None),
    ] {
        let resp = app.admin(method.clone(), path, &agent, body.clone()).await;
        assert_eq!(status_code(resp).await, (403, "forbidden".into()), "{path}");
        let resp = app.admin(method, path, "not-a-token", body).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    assert_eq!(config(&app).await["title"], "Acme help");
}

async fn allowed_origins_are_enforced(app: TestApp) {
    let admin = app.token_with_role("root", Role::Admin).await;
    let resp = app
        .admin(
            Method::PUT,
            SETTINGS,
            &admin,
            Some(json!({"allowed_origins": ["https://Shop.example.com/", "https://shop.example.com"]})),
        )
        .await;
    let saved: Value = resp.json().await.unwrap();
    assert_eq!(
        saved["allowed_origins"],
        json!(["https://shop.example.com"])
    );

    let start = |origin: Option<&str>| {
        let mut req = app
            .client
            .post(app.url("/chat/api/chat/start/"))
            .json(&json!({"name": "Ann"}));
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        req.send()
    };
    let resp = start(Some("https://evil.example.com")).await.unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(
        resp.headers().contains_key("access-control-allow-origin"),
        "the widget can read why"
    );
    assert_eq!(status_code(resp).await.1, "origin_not_allowed");
    let resp = app
        .client
        .get(app.url(CONFIG))
        .header("origin", "https://evil.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(status_code(resp).await, (403, "origin_not_allowed".into()));

    let listed = start(Some("https://shop.example.com")).await.unwrap();
    assert_eq!(listed.status(), StatusCode::OK);
    let v: Value = listed.json().await.unwrap();
    let own = start(Some(&app.address)).await.unwrap();
    assert_eq!(own.status(), StatusCode::OK, "this server's own pages");
    let no_origin = start(None).await.unwrap();
    assert_eq!(no_origin.status(), StatusCode::OK, "servers and tools");

    // The visitor socket's handshake too.
    let socket = |origin: &'static str| {
        let mut request = format!(
            "ws://{}/ws/chat/{}/",
            app.host,
            v["customer_id"].as_str().unwrap()
        )
        .into_client_request()
        .unwrap();
        request
            .headers_mut()
            .insert("origin", HeaderValue::from_static(origin));
        tokio_tungstenite::connect_async(request)
    };
    match socket("https://evil.example.com").await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status().as_u16(), 403)
        }
        other => panic!("expected 403, got {:?}", other.map(|_| ())),
    }
    assert!(socket("https://shop.example.com").await.is_ok());

    // An empty list opens it to every site again.
    app.admin(
        Method::PUT,
        SETTINGS,
        &admin,
        Some(json!({"allowed_origins": []})),
    )
    .await;
    let resp = start(Some("https://evil.example.com")).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}

async fn identity_secret_rotates_and_required_applies(app: TestApp) {
    let admin = app.token_with_role("root", Role::Admin).await;
    let resp = app.admin(Method::POST, ROTATE, &admin, None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let made: Value = resp.json().await.unwrap();
    let secret = made["identity_secret"].as_str().unwrap().to_string();
    assert_eq!(secret.len(), 64);
    assert_eq!(made["identity_secret_source"], "dashboard");

    let verified = app
        .start_chat(json!({"customer_id": "u-1", "customer_hash": identity_hash(&secret, "u-1")}))
        .await;
    assert_eq!(verified.status(), StatusCode::OK);
    let wrong = app
        .start_chat(
            json!({"customer_id": "u-2", "customer_hash": identity_hash("another-secret-123", "u-2")}),
        )
        .await;
    assert_eq!(status_code(wrong).await, (401, "invalid_identity".into()));

    // Required, from now on.
    let resp = app
        .admin(
            Method::PUT,
            SETTINGS,
            &admin,
            Some(json!({"identity_required": true})),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(config(&app).await["identity_required"], true);
    let bare = app.start_chat(json!({"customer_id": "u-3"})).await;
    assert_eq!(status_code(bare).await, (401, "identity_required".into()));
    let guest = app.start_chat(json!({"name": "guest"})).await;
    assert_eq!(guest.status(), StatusCode::OK, "guests need no identity");

    // A new secret: hashes made with the old one stop matching.
    let again: Value = app
        .admin(Method::POST, ROTATE, &admin, None)
        .await
        .json()
        .await
        .unwrap();
    let newer = again["identity_secret"].as_str().unwrap().to_string();
    assert_ne!(newer, secret);
    let old = app
        .start_chat(json!({"customer_id": "u-4", "customer_hash": identity_hash(&secret, "u-4")}))
        .await;
    assert_eq!(status_code(old).await, (401, "invalid_identity".into()));
    let new = app
        .start_chat(json!({"customer_id": "u-4", "customer_hash": identity_hash(&newer, "u-4")}))
        .await;
    assert_eq!(new.status(), StatusCode::OK);

    // A secret the site already uses can be set.
    let own = "the-site-s-own-secret-0123";
    let set: Value = app
        .admin(
            Method::PUT,
            SETTINGS,
            &admin,
            Some(json!({"identity_secret": own})),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(set["identity_secret"], own);
    let resp = app
        .start_chat(json!({"customer_id": "u-5", "customer_hash": identity_hash(own, "u-5")}))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
}

async fn server_functions_and_the_preview(app: TestApp) {
    app.create_with_role("root", Role::Admin).await;
    let admin = app.sign_in("root").await;
    app.create_with_role("ann", Role::Agent).await;
    let agent = app.sign_in("ann").await;
    let call = |path, cookie: &str, form| app.call_fn(path, cookie, form);
    let save = |cookie: &str, change: Value| {
        app.server_fn("/api/save_widget_settings")
            .header("cookie", cookie.to_string())
            .json(&json!({ "change": change }))
            .send()
    };

    for path in ["/api/widget_settings", "/api/rotate_identity_secret"] {
        let resp = call(path, &agent, vec![]).await.unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let resp = save(&agent, json!({"title": "mine"})).await.unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    assert_eq!(status, StatusCode::FORBIDDEN, "{text}");

    let shown: Value = call("/api/widget_settings", &admin, vec![])
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown["title"], "Chat with us");
    let resp = save(
        &admin,
        json!({"title": "From the dashboard", "allowed_origins": []}),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(config(&app).await["title"], "From the dashboard");
    let resp = save(&admin, json!({"primary_color": "blue"}))
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 422);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "invalid_setting", "{body}");
    let rotated: Value = call("/api/rotate_identity_secret", &admin, vec![])
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rotated["identity_secret"].as_str().unwrap().len(), 64);

    // The preview: the real widget with unsaved values, escaped.
    let draft = json!({"title": "</script><script>alert(1)</script>", "primary_color": "#00ff00"});
    let preview = |cookie: &str, query: String| {
        app.client
            .get(app.url(&format!("/dashboard/widget-preview?{query}")))
            .header("cookie", cookie.to_string())
            .send()
    };
    let query = format!(
        "available=false&draft={}",
        app::types::query_escape(&draft.to_string())
    );
    let resp = preview(&admin, query.clone()).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let csp = resp.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("frame-ancestors 'self'"), "{csp}");
    let page = resp.text().await.unwrap();
    assert!(page.contains("/static/js/chat-widget.js"));
    assert!(page.contains("\\u003c/script>\\u003cscript>alert(1)\\u003c/script>"));
    assert!(!page.contains("<script>alert(1)"));
    assert!(page.contains("\"primary_color\":\"#00ff00\""));
    assert!(page.contains("\"available\":false"));
    assert_eq!(config(&app).await["title"], "From the dashboard", "unsaved");

    let resp = preview(&agent, query).await.unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = preview(&admin, "draft=%7Bnot".into()).await.unwrap();
    assert_eq!(status_code(resp).await, (400, "invalid_query".into()));
    let bad = format!(
        "draft={}",
        app::types::query_escape(&json!({"primary_color": "red"}).to_string())
    );
    let resp = preview(&admin, bad).await.unwrap();
    assert_eq!(status_code(resp).await, (422, "invalid_setting".into()));
    let resp = app
        .client
        .get(app.url("/dashboard/widget-preview"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "signed out");
}

on_every_store!(
    saved_settings_apply_at_once,
    allowed_origins_are_enforced,
    identity_secret_rotates_and_required_applies,
    server_functions_and_the_preview,
);
