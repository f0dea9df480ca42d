//! API tokens: when each was last used (written at most once a minute),
//! and the dashboard's token server functions by role; on every store.

use app::types::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::on_every_store;

const TOKENS: &str = "/chat/api/admin/tokens/";

async fn list(app: &TestApp, token: &str) -> Vec<Value> {
    let resp = app.admin(Method::GET, TOKENS, token, None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    body["tokens"].as_array().unwrap().clone()
}

fn named<'a>(tokens: &'a [Value], name: &str) -> &'a Value {
    tokens
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no token named {name}"))
}

async fn last_use_is_recorded(app: TestApp) {
    app.create_with_role("root", Role::Admin).await;
    app.create_with_role("bob", Role::Agent).await;
    let admin = app
        .state
        .agents
        .create_api_token("root", Some("admin".into()))
        .await
        .unwrap();
    // The admin's own call is a use.
    let tokens = list(&app, &admin).await;
    assert!(named(&tokens, "admin")["last_used_at"].is_string());

    let resp = app
        .admin(
            Method::POST,
            TOKENS,
            &admin,
            Some(json!({"username": "bob", "name": "ci"})),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let made: Value = resp.json().await.unwrap();
    let value = made["token"].as_str().unwrap().to_string();
    assert_eq!(made["name"], "ci");
    assert_eq!(made["last_used_at"], Value::Null);
    assert_eq!(
        named(&list(&app, &admin).await, "ci")["last_used_at"],
        Value::Null
    );

    let resp = app
        .admin(Method::GET, "/chat/api/admin/sessions/", &value, None)
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let first = named(&list(&app, &admin).await, "ci")["last_used_at"].clone();
    assert!(first.is_string());
    // Used again at once: not written again (at most once a minute).
    app.admin(Method::GET, "/chat/api/admin/sessions/", &value, None)
        .await;
    assert_eq!(
        named(&list(&app, &admin).await, "ci")["last_used_at"],
        first
    );
}

async fn token_server_functions_by_role(app: TestApp) {
    app.create_with_role("root", Role::Admin).await;
    app.create_with_role("ann", Role::Agent).await;
    let admin = app.sign_in("root").await;
    let agent = app.sign_in("ann").await;
    let call = |path, cookie: &str, form| app.call_fn(path, cookie, form);
    let new = vec![
        ("username", "ann".to_string()),
        ("name", "zapier".to_string()),
    ];
    for (path, form) in [
        ("/api/list_api_tokens", vec![]),
        ("/api/create_api_token", new.clone()),
        ("/api/revoke_api_token", vec![("id", "x".to_string())]),
    ] {
        let resp = call(path, &agent, form).await.unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let resp = call("/api/create_api_token", &admin, new).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let made: Value = resp.json().await.unwrap();
    assert_eq!(made["name"], "zapier");
    let value = made["token"].as_str().unwrap().to_string();
    let id = made["id"].as_str().unwrap().to_string();
    let listed: Value = call("/api/list_api_tokens", &admin, vec![])
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let row = &listed.as_array().unwrap()[0];
    assert_eq!(row["id"], id.as_str());
    assert!(row.get("token").is_none(), "values are never listed");

    let resp = app
        .admin(Method::GET, "/chat/api/admin/sessions/", &value, None)
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = call("/api/revoke_api_token", &admin, vec![("id", id)])
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = app
        .admin(Method::GET, "/chat/api/admin/sessions/", &value, None)
        .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

on_every_store!(last_use_is_recorded, token_server_functions_by_role);
