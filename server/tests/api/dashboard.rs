use app::types::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

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
    assert!(
        resp_cache_control(&app, "/static/widget/defmis_widget_bg.wasm")
            .await
            .is_none()
    );

    // The dashboard's split wasm: main module and chunks revalidated on
    // every load, so they always come from one release.
    std::fs::create_dir_all(site.join("pkg")).unwrap();
    std::fs::write(site.join("pkg/chunk_1.wasm"), &wasm).unwrap();
    assert_eq!(
        resp_cache_control(&app, "/pkg/chunk_1.wasm")
            .await
            .as_deref(),
        Some("no-cache")
    );
    let _ = std::fs::remove_dir_all(site);
}

async fn resp_cache_control(app: &crate::helpers::TestApp, path: &str) -> Option<String> {
    let resp = app.get(path).await;
    assert_eq!(resp.status(), StatusCode::OK, "{path}");
    resp.headers()
        .get("cache-control")
        .map(|v| v.to_str().unwrap_or_default().to_string())
}

/// The seed's addresses: `/dashboard/` (and every dashboard page with a
/// trailing slash) goes to its canonical form, `/admin/…` to the team page.
async fn the_seeds_addresses(app: TestApp) {
    for (path, status, to) in [
        ("/dashboard/", 308, "/dashboard"),
        ("/dashboard/conversations/", 308, "/dashboard/conversations"),
        ("/dashboard/login/", 308, "/dashboard/login"),
        (
            "/dashboard/conversations/?status=open",
            308,
            "/dashboard/conversations?status=open",
        ),
        ("/admin/", 303, "/dashboard/admin"),
        ("/admin", 303, "/dashboard/admin"),
        ("/admin/chat/chatsession/", 303, "/dashboard/admin"),
    ] {
        let resp = app.get(path).await;
        assert_eq!(resp.status().as_u16(), status, "{path}");
        assert_eq!(resp.headers()["location"], to, "{path}");
    }
    // Signed out, the canonical pages ask to sign in first.
    for path in ["/dashboard/admin", "/dashboard/conversations"] {
        let resp = app.get(path).await;
        assert!(resp.status().is_redirection(), "{path}");
        assert_eq!(resp.headers()["location"], "/dashboard/login");
    }
    // A POST is never redirected (a form would lose its body).
    let resp = app
        .client
        .post(app.url("/admin/"))
        .header("origin", &app.address)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);

    app.create_with_role("root", Role::Admin).await;
    let cookie = app.sign_in("root").await;
    let page = |path: &'static str| {
        let app = &app;
        let cookie = cookie.clone();
        async move {
            let resp = app
                .client
                .get(app.url(path))
                .header("cookie", cookie)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::OK, "{path}");
            resp.text().await.unwrap()
        }
    };
    assert!(page("/dashboard").await.contains("Conversations per day"));
    assert!(page("/dashboard/conversations?status=open&assigned=me")
        .await
        .contains("inbox-filters"));
    assert!(page("/dashboard/admin")
        .await
        .contains("data-username=\"root\""));
}

/// The team's server functions: every agent may list the active team (to
/// assign); only admins list every account, create and deactivate. A
/// deactivated agent's session ends.
async fn only_admins_manage_the_team(app: TestApp) {
    app.create_with_role("root", Role::Admin).await;
    app.create_with_role("ann", Role::Agent).await;
    let admin = app.sign_in("root").await;
    let agent = app.sign_in("ann").await;
    let call = |path, cookie: &str, form| app.call_fn(path, cookie, form);

    let team: Value = call("/api/team", &agent, vec![])
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(team.as_array().unwrap().len(), 2);
    for path in [
        "/api/list_accounts",
        "/api/create_account",
        "/api/set_account_active",
    ] {
        let form = vec![
            ("username", "sneaky".to_string()),
            ("display_name", "S".to_string()),
            ("password", PASSWORD.to_string()),
            ("role", "admin".to_string()),
            ("agent_id", "x".to_string()),
            ("active", "false".to_string()),
        ];
        let resp = call(path, &agent, form).await.unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{path}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["code"], "forbidden", "{path}: {body}");
    }
    // The page says so too.
    let html = app
        .client
        .get(app.url("/dashboard/admin"))
        .header("cookie", &agent)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Only admins may do this."));

    let form = vec![
        ("username", " temp ".to_string()),
        ("display_name", "Temp Person".to_string()),
        ("password", PASSWORD.to_string()),
        ("role", "agent".to_string()),
    ];
    let resp = call("/api/create_account", &admin, form.clone())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let made: Value = resp.json().await.unwrap();
    assert_eq!(made["username"], "temp");
    assert_eq!(made["role"], "agent");
    assert_eq!(made["active"], true);
    let resp = call("/api/create_account", &admin, form).await.unwrap();
    assert_eq!(resp.status(), StatusCode::CONFLICT, "the name is taken");
    let short = vec![
        ("username", "short".to_string()),
        ("display_name", String::new()),
        ("password", "2short".to_string()),
        ("role", "agent".to_string()),
    ];
    let resp = call("/api/create_account", &admin, short).await.unwrap();
    assert_eq!(resp.status().as_u16(), 422);

    let temp = app.sign_in("temp").await;
    let id = made["id"].as_str().unwrap().to_string();
    let off = vec![("agent_id", id.clone()), ("active", "false".to_string())];
    let resp = call("/api/set_account_active", &admin, off).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let changed: Value = resp.json().await.unwrap();
    assert_eq!(changed["active"], false);
    let me: Value = call("/api/current_agent", &temp, vec![])
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me, Value::Null, "a deactivated agent is signed out");
    let team: Value = call("/api/team", &admin, vec![])
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(team
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["id"] != id.as_str()));
    let all: Value = call("/api/list_accounts", &admin, vec![])
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(all.as_array().unwrap().len(), 3);
}

on_every_store!(
    the_seeds_addresses,
    only_admins_manage_the_team,
    signed_out_agents_are_sent_to_sign_in,
    sign_in_and_see_conversations,
    first_run_setup_link,
    weak_passwords_and_taken_names_are_refused,
    demo_page_embeds_the_widget,
);
