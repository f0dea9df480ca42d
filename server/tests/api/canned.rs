//! Canned responses through the admin API and the dashboard's server
//! functions: every agent reads, admins write; shortcuts are checked and
//! unique; on every store.

use app::types::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::on_every_store;

const CANNED: &str = "/chat/api/admin/canned-responses/";

async fn code(resp: reqwest::Response) -> (u16, String) {
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap();
    let code = body["error"]["code"].as_str().unwrap_or("").to_string();
    (status, code)
}

async fn list(app: &TestApp, token: &str) -> Vec<Value> {
    let resp = app.admin(Method::GET, CANNED, token, None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    body["canned_responses"].as_array().unwrap().clone()
}

async fn admins_write_and_everyone_reads(app: TestApp) {
    let admin = app.token_with_role("root", Role::Admin).await;
    let agent = app.token_with_role("ann", Role::Agent).await;
    assert!(list(&app, &agent).await.is_empty());

    let resp = app
        .admin(
            Method::POST,
            CANNED,
            &admin,
            Some(json!({"shortcut": "/Refund", "content": "Refunds take 3–5 days.\nSorry!"})),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let refund: Value = resp.json().await.unwrap();
    assert_eq!(refund["shortcut"], "refund");
    assert_eq!(refund["content"], "Refunds take 3–5 days.\nSorry!");
    let id = refund["id"].as_str().unwrap().to_string();
    app.admin(
        Method::POST,
        CANNED,
        &admin,
        Some(json!({"shortcut": "hello", "content": "Hi! How can I help?"})),
    )
    .await;
    let all = list(&app, &agent).await;
    let shortcuts: Vec<&str> = all
        .iter()
        .map(|c| c["shortcut"].as_str().unwrap())
        .collect();
    assert_eq!(shortcuts, ["hello", "refund"], "by shortcut");

    // Refusals: agents may not write; bad and taken shortcuts; bad text.
    let resp = app
        .admin(
            Method::POST,
            CANNED,
            &agent,
            Some(json!({"shortcut": "mine", "content": "x"})),
        )
        .await;
    assert_eq!(code(resp).await, (403, "forbidden".into()));
    for (body, expected) in [
        (
            json!({"shortcut": "two words", "content": "x"}),
            (422, "invalid_shortcut"),
        ),
        (
            json!({"shortcut": "", "content": "x"}),
            (422, "invalid_shortcut"),
        ),
        (
            json!({"shortcut": "REFUND", "content": "x"}),
            (409, "shortcut_taken"),
        ),
        (
            json!({"shortcut": "blank", "content": "  "}),
            (422, "empty_content"),
        ),
        (
            json!({"shortcut": "ctl", "content": "a\u{7}b"}),
            (422, "invalid_content"),
        ),
        (json!({"shortcut": "x"}), (422, "invalid_body")),
        (
            json!({"shortcut": "x", "content": "y", "extra": 1}),
            (422, "invalid_body"),
        ),
    ] {
        let resp = app
            .admin(Method::POST, CANNED, &admin, Some(body.clone()))
            .await;
        let (status, code) = code(resp).await;
        assert_eq!((status, code.as_str()), expected, "{body}");
    }

    // Change, then delete.
    let path = format!("{CANNED}{id}/");
    let resp = app
        .admin(
            Method::PATCH,
            &path,
            &agent,
            Some(json!({"content": "mine now"})),
        )
        .await;
    assert_eq!(code(resp).await, (403, "forbidden".into()));
    let resp = app
        .admin(
            Method::PATCH,
            &path,
            &admin,
            Some(json!({"shortcut": "hello"})),
        )
        .await;
    assert_eq!(code(resp).await, (409, "shortcut_taken".into()));
    let resp = app
        .admin(
            Method::PATCH,
            &path,
            &admin,
            Some(json!({"content": "Refunds take a week."})),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let changed: Value = resp.json().await.unwrap();
    assert_eq!(changed["shortcut"], "refund");
    assert_eq!(changed["content"], "Refunds take a week.");
    let resp = app.admin(Method::DELETE, &path, &agent, None).await;
    assert_eq!(code(resp).await, (403, "forbidden".into()));
    let resp = app.admin(Method::DELETE, &path, &admin, None).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let resp = app.admin(Method::DELETE, &path, &admin, None).await;
    assert_eq!(code(resp).await, (404, "unknown_canned_response".into()));
    let resp = app
        .admin(Method::PATCH, &path, &admin, Some(json!({"content": "x"})))
        .await;
    assert_eq!(code(resp).await, (404, "unknown_canned_response".into()));
    assert_eq!(list(&app, &agent).await.len(), 1);

    let resp = app.get(CANNED).await;
    assert_eq!(code(resp).await, (401, "unauthorized".into()));
}

async fn through_the_dashboard(app: TestApp) {
    app.create_with_role("root", Role::Admin).await;
    app.create_with_role("ann", Role::Agent).await;
    let admin = app.sign_in("root").await;
    let agent = app.sign_in("ann").await;
    let call = |path, cookie: &str, form| app.call_fn(path, cookie, form);
    let new = vec![
        ("shortcut", "thanks".to_string()),
        ("content", "Thank you!".to_string()),
    ];
    let resp = call("/api/save_canned_response", &agent, new.clone())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = call("/api/save_canned_response", &admin, new)
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let made: Value = resp.json().await.unwrap();
    let id = made["id"].as_str().unwrap().to_string();
    let edit = vec![
        ("id", id.clone()),
        ("shortcut", "ty".to_string()),
        ("content", "Thanks a lot!".to_string()),
    ];
    let resp = call("/api/save_canned_response", &admin, edit)
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let all: Value = call("/api/canned_responses", &agent, vec![])
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(all[0]["shortcut"], "ty");
    assert_eq!(all[0]["content"], "Thanks a lot!");
    let resp = call(
        "/api/delete_canned_response",
        &agent,
        vec![("id", id.clone())],
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = call("/api/delete_canned_response", &admin, vec![("id", id)])
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let all: Value = call("/api/canned_responses", &agent, vec![])
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(all, json!([]));
}

/// At most 500: admins saving at once at 499 make exactly one more.
async fn the_limit_holds_under_concurrent_saves(app: TestApp) {
    let admin = app.token_with_role("root", Role::Admin).await;
    let actor = app.state.agents.view_by_username("root").await.unwrap();
    for i in 0..499 {
        let new = server::canned::NewCanned {
            shortcut: format!("s{i}"),
            content: "text".into(),
        };
        app.state.canned.create(&actor, new).await.unwrap();
    }
    let saves = (0..8).map(|i| {
        app.admin(
            Method::POST,
            CANNED,
            &admin,
            Some(json!({"shortcut": format!("race{i}"), "content": "x"})),
        )
    });
    let mut outcomes: Vec<(u16, String)> = Vec::new();
    for resp in futures_util::future::join_all(saves).await {
        outcomes.push(code(resp).await);
    }
    let made = outcomes.iter().filter(|(s, _)| *s == 201).count();
    assert_eq!(made, 1, "{outcomes:?}");
    assert!(outcomes
        .iter()
        .all(|o| o.0 == 201 || *o == (409, "too_many".to_string())));
    let all: Value = app
        .admin(Method::GET, CANNED, &admin, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all["canned_responses"].as_array().map(Vec::len), Some(500));
}

on_every_store!(
    admins_write_and_everyone_reads,
    through_the_dashboard,
    the_limit_holds_under_concurrent_saves,
);
