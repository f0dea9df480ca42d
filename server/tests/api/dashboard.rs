use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, PASSWORD};
use crate::on_every_store;

async fn signed_out_agents_are_sent_to_sign_in(app: TestApp) {
    for path in ["/dashboard", "/dashboard/conversations/anything"] {
        let resp = app.get(path).await;
        assert!(resp.status().is_redirection(), "{path}: {}", resp.status());
        assert_eq!(resp.headers()["location"], "/dashboard/login");
    }
    let resp = app.get("/dashboard/login").await;
    assert_eq!(resp.status(), StatusCode::OK);
    let html = resp.text().await.unwrap();
    assert!(html.contains("name=\"password\""));
}

async fn sign_in_and_see_conversations(app: TestApp) {
    app.create_agent("dana").await;
    let resp = app.login("dana", "wrong password").await;
    assert!(resp.headers().get("set-cookie").is_none());
    let resp = app.login("nobody", PASSWORD).await;
    assert!(resp.headers().get("set-cookie").is_none());

    let resp = app.login("dana", PASSWORD).await;
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.contains("HttpOnly"));
    assert!(cookie.contains("SameSite=Lax"));
    let cookie = cookie.split(';').next().unwrap().to_string();

    let v = app
        .start_with(json!({"name": "Eve <script>alert(1)</script>"}))
        .await;
    app.say(&v, "<img src=x onerror=alert(1)>").await;
    let html = app
        .client
        .get(app.url("/dashboard"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Conversations"));
    assert!(html.contains("Eve &lt;script&gt;"), "names are escaped");
    assert!(!html.contains("<script>alert(1)</script>"));
    assert!(!html.contains("<img src=x"));

    let page = app
        .client
        .get(app.url(&format!("/dashboard/conversations/{}", v.session_id)))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));

    // Sign out ends the session server-side.
    let resp = app
        .server_fn("/api/logout")
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success() || resp.status().is_redirection());
    let resp = app
        .client
        .get(app.url("/dashboard"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_redirection());
}

async fn first_run_setup_link(app: TestApp) {
    let token = app
        .state
        .agents
        .ensure_setup_token()
        .await
        .unwrap()
        .expect("no agents yet");
    let bad = app
        .server_fn("/api/complete_setup")
        .form(&[
            ("token", "guess"),
            ("username", "root"),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert!(bad.headers().get("set-cookie").is_none());
    assert!(app.state.agents.setup_needed().await.unwrap());

    let ok = app
        .server_fn("/api/complete_setup")
        .form(&[
            ("token", token.as_str()),
            ("username", "root"),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert!(ok.headers().get("set-cookie").is_some());
    assert!(!app.state.agents.setup_needed().await.unwrap());
    // The link works once.
    let again = app
        .server_fn("/api/complete_setup")
        .form(&[
            ("token", token.as_str()),
            ("username", "root2"),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert!(again.headers().get("set-cookie").is_none());
    assert_eq!(app.state.agents.count().await.unwrap(), 1);
}

async fn weak_passwords_and_taken_names_are_refused(app: TestApp) {
    let e = app
        .state
        .agents
        .create("frank", "short", app::types::Role::Agent)
        .await
        .unwrap_err();
    assert_eq!(e.code().as_str(), "weak_password");
    app.create_agent("frank").await;
    let e = app
        .state
        .agents
        .create("frank", PASSWORD, app::types::Role::Agent)
        .await
        .unwrap_err();
    assert_eq!(e.code().as_str(), "username_taken");
}

async fn demo_page_embeds_the_widget(app: TestApp) {
    let html = app.get("/").await.text().await.unwrap();
    assert!(html.contains("window.DEFMISChat"));
    assert!(html.contains("/static/js/chat-widget.js"));
    let resp = app.get("/healthz").await;
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn static_files_are_compressed_and_cors_open() {
    let site = std::env::temp_dir().join(format!("defmis-site-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(site.join("static/widget")).unwrap();
    let wasm = "wasm bytes that compress well ".repeat(200);
    std::fs::write(site.join("static/widget/defmis_widget_bg.wasm"), &wasm).unwrap();
    let root = site.to_string_lossy().to_string();
    let app = crate::helpers::spawn_on(
        crate::helpers::Store::Sqlite,
        &[("LEPTOS_SITE_ROOT", &root)],
    )
    .await;
    let resp = app
        .client
        .get(app.url("/static/widget/defmis_widget_bg.wasm"))
        .header("accept-encoding", "gzip")
        .header("origin", "https://shop.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-encoding"], "gzip");
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");
    let body = resp.bytes().await.unwrap();
    assert!(
        body.len() < wasm.len() / 10,
        "compressed to {} bytes",
        body.len()
    );
    let missing = app.get("/static/widget/nope.js").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let _ = std::fs::remove_dir_all(site);
}

on_every_store!(
    signed_out_agents_are_sent_to_sign_in,
    sign_in_and_see_conversations,
    first_run_setup_link,
    weak_passwords_and_taken_names_are_refused,
    demo_page_embeds_the_widget,
);
