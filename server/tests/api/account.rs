//! My account (display name, password change, sign out everywhere) and an
//! admin's password reset, through the server functions and the admin
//! API; on every store.

use std::time::Duration;

use app::types::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{close_of, TestApp, PASSWORD};
use crate::on_every_store;

const NEW_PASSWORD: &str = "a brand new passphrase";

async fn body(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn own_name_password_and_sessions(app: TestApp) {
    app.create_with_role("ann", Role::Agent).await;
    let here = app.sign_in("ann").await;
    let elsewhere = app.sign_in("ann").await;
    let call = |path, cookie: &str, form| app.call_fn(path, cookie, form);
    let me = |cookie: String| async move {
        body(call("/api/current_agent", &cookie, vec![]).await.unwrap())
            .await
            .1
    };

    // The name visitors see.
    let (status, account) = body(
        call(
            "/api/set_display_name",
            &here,
            vec![("display_name", "  Ann from Support ".into())],
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(account["display_name"], "Ann from Support");
    let (status, err) = body(
        call(
            "/api/set_display_name",
            &here,
            vec![("display_name", "x".repeat(101))],
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!((status, err["code"].as_str()), (422, Some("invalid_name")));

    // A new password: the current one is proven, both new ones agree.
    let change = |current: &str, new: &str, again: &str| {
        vec![
            ("current", current.to_string()),
            ("password", new.to_string()),
            ("password_confirm", again.to_string()),
        ]
    };
    for (form, expected) in [
        (
            change("wrong password!", NEW_PASSWORD, NEW_PASSWORD),
            (401, "invalid_credentials"),
        ),
        (
            change(PASSWORD, NEW_PASSWORD, "something else entirely"),
            (422, "password_mismatch"),
        ),
        (change(PASSWORD, "short", "short"), (422, "weak_password")),
    ] {
        let (status, err) = body(call("/api/change_password", &here, form).await.unwrap()).await;
        assert_eq!((status, err["code"].as_str().unwrap()), expected);
    }
    let resp = call(
        "/api/change_password",
        &here,
        change(PASSWORD, NEW_PASSWORD, NEW_PASSWORD),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        me(here.clone()).await["username"],
        "ann",
        "this session stays"
    );
    assert_eq!(me(elsewhere).await, Value::Null, "the others end");
    assert_eq!(app.login("ann", PASSWORD).await.status(), 401);
    assert_eq!(app.login("ann", NEW_PASSWORD).await.status(), 200);

    // Sign out everywhere: every session, and their sockets; API tokens stay.
    let other = {
        let resp = app.login("ann", NEW_PASSWORD).await;
        resp.headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("defmis_session="))
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string()
    };
    let token = app
        .state
        .agents
        .create_api_token("ann", None)
        .await
        .unwrap();
    let origin = format!("http://{}", app.host);
    let mut ws = app
        .agent_ws_with(&[("cookie", &other), ("origin", &origin)])
        .await
        .expect("agent socket");
    let resp = call("/api/sign_out_everywhere", &here, vec![])
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let cleared = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|c| c.starts_with("defmis_session=;") && c.contains("Max-Age=0"));
    assert!(cleared, "the cookie is cleared");
    assert_eq!(me(here).await, Value::Null);
    assert_eq!(me(other).await, Value::Null);
    assert_eq!(close_of(&mut ws, Duration::from_secs(6)).await.0, 4401);
    let resp = app
        .admin(Method::GET, "/chat/api/admin/stats/", &token, None)
        .await;
    assert_eq!(resp.status(), StatusCode::OK, "API tokens stay");
}

async fn admins_reset_passwords(app: TestApp) {
    app.create_with_role("root", Role::Admin).await;
    let ann = app.create_with_role("ann", Role::Agent).await;
    let bob = app.create_with_role("bob", Role::Agent).await;
    let admin = app.sign_in("root").await;
    let ann_session = app.sign_in("ann").await;
    let call = |path, cookie: &str, form| app.call_fn(path, cookie, form);

    // An agent may not reset anyone's, not even their own, this way.
    let (status, err) = body(
        call(
            "/api/reset_account_password",
            &ann_session,
            vec![
                ("agent_id", bob.id.to_string()),
                ("password", NEW_PASSWORD.into()),
            ],
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!((status, err["code"].as_str()), (403, Some("forbidden")));

    let (status, err) = body(
        call(
            "/api/reset_account_password",
            &admin,
            vec![
                ("agent_id", ann.id.to_string()),
                ("password", "short".into()),
            ],
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!((status, err["code"].as_str()), (422, Some("weak_password")));
    let (status, account) = body(
        call(
            "/api/reset_account_password",
            &admin,
            vec![
                ("agent_id", ann.id.to_string()),
                ("password", NEW_PASSWORD.into()),
            ],
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(account["username"], "ann");
    let me = body(
        call("/api/current_agent", &ann_session, vec![])
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(me.1, Value::Null, "ann's sessions ended");
    assert_eq!(app.login("ann", NEW_PASSWORD).await.status(), 200);
    let (status, err) = body(
        call(
            "/api/reset_account_password",
            &admin,
            vec![
                ("agent_id", "nobody".into()),
                ("password", NEW_PASSWORD.into()),
            ],
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!((status, err["code"].as_str()), (404, Some("unknown_agent")));

    // The admin API: PATCH …/agents/{id}/ with a password (admins).
    let root_token = app
        .state
        .agents
        .create_api_token("root", None)
        .await
        .unwrap();
    let bob_token = app
        .state
        .agents
        .create_api_token("bob", None)
        .await
        .unwrap();
    let path = format!("/chat/api/admin/agents/{}/", bob.id);
    let resp = app
        .admin(
            Method::PATCH,
            &path,
            &bob_token,
            Some(json!({"password": NEW_PASSWORD})),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN, "not even one's own");
    let resp = app
        .admin(
            Method::PATCH,
            &path,
            &root_token,
            Some(json!({"password": "short"})),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 422);
    let resp = app
        .admin(
            Method::PATCH,
            &path,
            &root_token,
            Some(json!({"password": NEW_PASSWORD})),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(app.login("bob", NEW_PASSWORD).await.status(), 200);
    assert_eq!(app.login("bob", PASSWORD).await.status(), 401);
}

/// The path for API tokens, beside `/chat/api/admin/tokens/`.
async fn api_tokens_under_both_paths(app: TestApp) {
    let root = app.api_token("root").await;
    let resp = app
        .admin(
            Method::POST,
            "/chat/api/admin/api-tokens/",
            &root,
            Some(json!({"username": "root", "name": "zapier"})),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let made: Value = resp.json().await.unwrap();
    let id = made["id"].as_str().unwrap().to_string();
    let listed: Value = app
        .admin(Method::GET, "/chat/api/admin/api-tokens/", &root, None)
        .await
        .json()
        .await
        .unwrap();
    assert!(listed["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["id"] == id.as_str()));
    let resp = app
        .admin(
            Method::DELETE,
            &format!("/chat/api/admin/api-tokens/{id}/"),
            &root,
            None,
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
}

on_every_store!(
    own_name_password_and_sessions,
    admins_reset_passwords,
    api_tokens_under_both_paths,
);
