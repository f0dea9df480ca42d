//! The customer panel: what a start records about the visitor (page,
//! referrer, browser, time zone, verification), last seen when their
//! socket closes, and the same person's other conversations; through the
//! admin API and the dashboard's server function, on every store.

use app::types::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{identity_hash, next_of_type, spawn_on, Store, TestApp, Visitor};
use crate::on_every_store;

const FIREFOX: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";
const ROTATE: &str = "/chat/api/admin/widget-settings/identity-secret/";

async fn start(app: &TestApp, body: Value, user_agent: Option<&str>) -> (u16, Value) {
    let mut req = app
        .client
        .post(app.url("/chat/api/chat/start/"))
        .json(&body);
    if let Some(ua) = user_agent {
        req = req.header("user-agent", ua);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn visitor(started: &Value) -> Visitor {
    Visitor {
        customer_id: started["customer_id"].as_str().unwrap().into(),
        token: started["token"].as_str().unwrap().into(),
        session_id: started["session_id"].as_str().unwrap().into(),
    }
}

async fn conversation(app: &TestApp, token: &str, session_id: &str) -> Value {
    let path = format!("/chat/api/admin/session/{session_id}/");
    let resp = app.admin(Method::GET, &path, token, None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json().await.unwrap()
}

async fn a_start_records_what_the_page_reported(app: TestApp) {
    let admin = app.token_with_role("root", Role::Admin).await;
    let context = json!({
        "page_url": "https://shop.example/cart?step=2",
        "referrer": "https://www.google.com/",
        "time_zone": "Asia/Kolkata",
        "utc_offset": 330
    });
    let (status, started) = start(
        &app,
        json!({"name": "Ann", "email": "Ann@Example.com", "context": context}),
        Some(FIREFOX),
    )
    .await;
    assert_eq!(status, 200, "{started}");
    let v = visitor(&started);

    let shown = conversation(&app, &admin, &v.session_id).await;
    let panel = &shown["visitor"];
    assert_eq!(panel["page_url"], "https://shop.example/cart?step=2");
    assert_eq!(panel["referrer"], "https://www.google.com/");
    assert_eq!(panel["time_zone"], "Asia/Kolkata");
    assert_eq!(panel["utc_offset"], 330);
    assert_eq!(panel["user_agent"], FIREFOX);
    assert_eq!(panel["browser"], "Firefox 133 on Windows");
    assert_eq!(panel["verified"], false);
    let local = panel["local_time"].as_str().unwrap();
    assert!(local.ends_with("(UTC+05:30)"), "{local}");
    let first_seen = panel["last_seen"].as_str().unwrap().to_string();
    assert_eq!(shown["earlier"], json!([]));

    // The visitor moves to another page: the resume replaces the page
    // fields (the referrer is gone), and keeps the browser when the
    // request names none.
    let (status, _) = start(
        &app,
        json!({
            "customer_id": v.customer_id,
            "token": v.token,
            "context": {"page_url": "https://shop.example/checkout"}
        }),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let panel = conversation(&app, &admin, &v.session_id).await["visitor"].clone();
    assert_eq!(panel["page_url"], "https://shop.example/checkout");
    assert_eq!(panel["referrer"], Value::Null);
    assert_eq!(panel["utc_offset"], Value::Null);
    assert_eq!(panel["browser"], "Firefox 133 on Windows");
    assert!(panel["last_seen"].as_str().unwrap() >= first_seen.as_str());

    // An API client's resume without a context changes no page field.
    let (status, _) = start(
        &app,
        json!({"customer_id": v.customer_id, "token": v.token}),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let panel = conversation(&app, &admin, &v.session_id).await["visitor"].clone();
    assert_eq!(panel["page_url"], "https://shop.example/checkout");

    // The same through the dashboard's server function.
    let cookie = app.sign_in("root").await;
    let resp = app
        .call_fn(
            "/api/get_conversation",
            &cookie,
            vec![("session_id", v.session_id.clone())],
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let through_fn: Value = resp.json().await.unwrap();
    assert_eq!(
        through_fn["visitor"]["page_url"],
        "https://shop.example/checkout"
    );
}

async fn unusable_context_is_dropped_and_the_start_still_works(app: TestApp) {
    let admin = app.token_with_role("root", Role::Admin).await;
    let (status, started) = start(
        &app,
        json!({"context": {
            "page_url": "javascript:alert(document.cookie)",
            "referrer": {"nested": true},
            "time_zone": "</script><script>",
            "utc_offset": 99999
        }}),
        Some(&"x".repeat(3000)),
    )
    .await;
    assert_eq!(status, 200, "{started}");
    let v = visitor(&started);
    let panel = conversation(&app, &admin, &v.session_id).await["visitor"].clone();
    for field in [
        "page_url",
        "referrer",
        "time_zone",
        "utc_offset",
        "local_time",
        "browser",
    ] {
        assert_eq!(panel[field], Value::Null, "{field}: {panel}");
    }
    assert_eq!(panel["user_agent"].as_str().map(str::len), Some(512));

    // A context that is not an object is ignored, like a missing one.
    let (status, _) = start(&app, json!({"context": "https://x.example/"}), None).await;
    assert_eq!(status, 200);
    // A long address is kept, cut.
    let long = format!("https://shop.example/{}", "a".repeat(5000));
    let (status, started) = start(&app, json!({"context": {"page_url": long}}), None).await;
    assert_eq!(status, 200);
    let v = visitor(&started);
    let panel = conversation(&app, &admin, &v.session_id).await["visitor"].clone();
    assert_eq!(panel["page_url"].as_str().map(str::len), Some(2048));
}

async fn verification_last_seen_and_earlier_conversations(app: TestApp) {
    let admin = app.token_with_role("root", Role::Admin).await;
    let resp = app.admin(Method::POST, ROTATE, &admin, None).await;
    let secret = resp.json::<Value>().await.unwrap()["identity_secret"]
        .as_str()
        .unwrap()
        .to_string();

    // Two conversations of one person (two customer ids, one e-mail in
    // two cases), and someone else's.
    let (_, older) = start(&app, json!({"email": "bo@example.com"}), None).await;
    let (_, other) = start(&app, json!({"email": "someone@example.com"}), None).await;
    let (status, newer) = start(
        &app,
        json!({
            "customer_id": "user-7",
            "customer_hash": identity_hash(&secret, "user-7"),
            "email": "BO@example.com"
        }),
        None,
    )
    .await;
    assert_eq!(status, 200, "{newer}");
    let newer = visitor(&newer);
    let shown = conversation(&app, &admin, &newer.session_id).await;
    assert_eq!(shown["visitor"]["verified"], true);
    let earlier: Vec<&str> = shown["earlier"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(earlier, vec![older["session_id"].as_str().unwrap()]);
    assert_ne!(earlier[0], other["session_id"].as_str().unwrap());
    // And the other way round.
    let shown = conversation(&app, &admin, older["session_id"].as_str().unwrap()).await;
    assert_eq!(shown["earlier"][0]["id"], newer.session_id.as_str());
    assert_eq!(shown["visitor"]["verified"], false);

    // Last seen moves when the visitor's socket closes.
    let before = conversation(&app, &admin, &newer.session_id).await["visitor"]["last_seen"]
        .as_str()
        .unwrap()
        .to_string();
    let mut ws = app.visitor_ws_authed(&newer, None).await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let _ = futures_util::SinkExt::close(&mut ws).await;
    drop(ws);
    let mut after = before.clone();
    for _ in 0..100 {
        after = conversation(&app, &admin, &newer.session_id).await["visitor"]["last_seen"]
            .as_str()
            .unwrap()
            .to_string();
        if after > before {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(after > before, "{before} → {after}");

    // A conversation from before the panel (no row) shows none.
    let (_, plain) = start(&app, json!({}), None).await;
    let id = plain["session_id"].as_str().unwrap();
    app.sql(
        "DELETE FROM visitor_contexts WHERE session_id = ?",
        vec![id.into()],
    )
    .await;
    let shown = conversation(&app, &admin, id).await;
    assert_eq!(shown["visitor"], Value::Null);
}

async fn report_page(app: &TestApp, token: Option<&str>, body: Value) -> (u16, Value) {
    let mut req = app
        .client
        .post(app.url("/chat/api/chat/context/"))
        .header("user-agent", FIREFOX)
        .json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// A single-page site's visitor moves on: the loader reports the new
/// address, the stored page fields follow, and every agent socket hears
/// of it at once (the panel updates live). Bad reports are refused and
/// change nothing.
async fn a_single_page_site_reports_its_new_pages(app: TestApp) {
    let admin = app.token_with_role("root", Role::Admin).await;
    let context = json!({
        "page_url": "https://shop.example/",
        "referrer": "https://www.google.com/",
        "time_zone": "Europe/Madrid",
        "utc_offset": 60
    });
    let (_, started) = start(&app, json!({"context": context}), Some(FIREFOX)).await;
    let v = visitor(&started);
    let mut agent = app.agent_ws(&admin).await;

    let moved = json!({
        "page_url": "https://shop.example/cart#step-2",
        "referrer": "https://www.google.com/",
        "time_zone": "Europe/Madrid",
        "utc_offset": 60
    });
    let (status, body) = report_page(
        &app,
        Some(&v.token),
        json!({"customer_id": v.customer_id, "context": moved}),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    let frame = next_of_type(&mut agent, "visitor").await;
    assert_eq!(frame["session_id"], v.session_id.as_str());
    assert_eq!(
        frame["visitor"]["page_url"],
        "https://shop.example/cart#step-2"
    );
    assert_eq!(frame["visitor"]["browser"], "Firefox 133 on Windows");
    let shown = conversation(&app, &admin, &v.session_id).await;
    assert_eq!(
        shown["visitor"]["page_url"],
        "https://shop.example/cart#step-2"
    );
    assert_eq!(shown["visitor"]["referrer"], "https://www.google.com/");

    // A field left out is cleared; a script address is never stored.
    let (status, _) = report_page(
        &app,
        Some(&v.token),
        json!({"customer_id": v.customer_id, "context": {"page_url": "javascript:alert(1)"}}),
    )
    .await;
    assert_eq!(status, 204);
    let frame = next_of_type(&mut agent, "visitor").await;
    assert_eq!(frame["visitor"]["page_url"], Value::Null);
    let shown = conversation(&app, &admin, &v.session_id).await;
    assert_eq!(shown["visitor"]["page_url"], Value::Null);
    assert_eq!(shown["visitor"]["referrer"], Value::Null);

    // Refused, and nothing changes.
    let cart = json!({"page_url": "https://shop.example/cart"});
    for (token, body, want, code) in [
        (
            Some(v.token.as_str()),
            json!({"customer_id": v.customer_id}),
            422,
            "invalid_body",
        ),
        (
            Some(v.token.as_str()),
            json!({"customer_id": v.customer_id, "context": "https://shop.example/"}),
            422,
            "invalid_body",
        ),
        (
            Some("not-the-token"),
            json!({"customer_id": v.customer_id, "context": cart}),
            401,
            "invalid_token",
        ),
        (
            Some(v.token.as_str()),
            json!({"customer_id": "nobody-here", "context": cart}),
            404,
            "unknown_customer",
        ),
        (
            None,
            json!({"customer_id": v.customer_id, "context": cart}),
            401,
            "missing_token",
        ),
    ] {
        let (status, body) = report_page(&app, token, body.clone()).await;
        assert_eq!(status, want, "{body}");
        assert_eq!(body["error"]["code"], code, "{body}");
    }
    let resp = app
        .client
        .post(app.url("/chat/api/chat/context/"))
        .bearer_auth(&v.token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_client_error(), "{}", resp.status());
    let body: Value = resp.json().await.unwrap();
    assert!(body["error"]["code"].is_string(), "{body}");
    let shown = conversation(&app, &admin, &v.session_id).await;
    assert_eq!(shown["visitor"]["page_url"], Value::Null);
}

/// Page reports are limited per conversation (`LIMIT_PAGES_PER_MINUTE`);
/// `LIMITS=off` lifts it.
#[tokio::test]
async fn page_reports_are_limited_per_conversation() {
    for (limits, refused) in [("on", true), ("off", false)] {
        let app = spawn_on(
            Store::Sqlite,
            &[("LIMIT_PAGES_PER_MINUTE", "2"), ("LIMITS", limits)],
        )
        .await;
        let (_, started) = start(&app, json!({}), None).await;
        let v = visitor(&started);
        let mut last = 0;
        for i in 0..3 {
            let page = format!("https://shop.example/p/{i}");
            let (status, _) = report_page(
                &app,
                Some(&v.token),
                json!({"customer_id": v.customer_id, "context": {"page_url": page}}),
            )
            .await;
            last = status;
            if i < 2 {
                assert_eq!(status, 204);
            }
        }
        assert_eq!(last == 429, refused, "LIMITS={limits}: {last}");
    }
}

on_every_store!(
    a_start_records_what_the_page_reported,
    a_single_page_site_reports_its_new_pages,
    unusable_context_is_dropped_and_the_start_still_works,
    verification_last_seen_and_earlier_conversations,
);
