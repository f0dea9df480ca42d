//! The dashboard home's figures: `GET /chat/api/admin/stats/` and the
//! `stats` server function, on every store.

use chrono::{DateTime, Duration, NaiveTime, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{TestApp, Visitor};
use crate::on_every_store;

const STATS: &str = "/chat/api/admin/stats/";

async fn stats(app: &TestApp, token: &str) -> Value {
    let resp = app.admin(Method::GET, STATS, token, None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json().await.unwrap()
}

async fn reply(app: &TestApp, token: &str, v: &Visitor, content: &str) {
    let path = format!("/chat/api/admin/session/{}/messages/", v.session_id);
    let resp = app
        .admin(
            Method::POST,
            &path,
            token,
            Some(json!({"content": content})),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
}

fn today_start() -> DateTime<Utc> {
    Utc::now().date_naive().and_time(NaiveTime::MIN).and_utc()
}

fn day(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d").to_string()
}

/// Sets when each side first wrote in a conversation.
async fn firsts(
    app: &TestApp,
    v: &Visitor,
    customer: Option<DateTime<Utc>>,
    agent: Option<DateTime<Utc>>,
) {
    let changed = app
        .sql(
            "UPDATE chat_sessions SET first_customer_at = ?, first_agent_at = ? WHERE id = ?",
            vec![customer.into(), agent.into(), v.session_id.clone().into()],
        )
        .await;
    assert_eq!(changed, 1);
}

async fn every_figure(app: TestApp) {
    let token = app.api_token("alice").await;

    let empty = stats(&app, &token).await;
    assert_eq!(empty["conversations"], 0);
    assert_eq!(empty["open"], 0);
    assert_eq!(empty["unread"], 0);
    assert_eq!(empty["waiting_first_reply"], 0);
    assert_eq!(empty["median_first_response_secs"], Value::Null);
    assert_eq!(empty["first_responses_today"], 0);
    let days = empty["per_day"].as_array().unwrap();
    assert_eq!(days.len(), 14);
    assert_eq!(days[13]["date"], day(Utc::now()));
    assert_eq!(days[0]["date"], day(Utc::now() - Duration::days(13)));
    assert!(days.iter().all(|d| d["conversations"] == 0));

    // Waiting for a first reply, unread.
    let waiting = app.start_with(json!({"name": "Waiting"})).await;
    app.say(&waiting, "hello?").await;
    // Answered: the writer records both firsts.
    let answered = app.start_with(json!({"name": "Answered"})).await;
    app.say(&answered, "a question").await;
    reply(&app, &token, &answered, "an answer").await;
    // Closed, and never wrote.
    let closed = app.start().await;
    let path = format!("/chat/api/admin/session/{}/status/", closed.session_id);
    let resp = app
        .admin(
            Method::PATCH,
            &path,
            &token,
            Some(json!({"status": "closed"})),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);

    let now = stats(&app, &token).await;
    assert_eq!(now["conversations"], 3);
    assert_eq!(now["open"], 2);
    // Both conversations the visitor wrote in are unread: replying is not
    // reading.
    assert_eq!(now["unread"], 2);
    assert_eq!(now["waiting_first_reply"], 1);
    assert_eq!(now["first_responses_today"], 1);
    let median = now["median_first_response_secs"].as_f64().unwrap();
    assert!((0.0..60.0).contains(&median), "{median}");
    assert_eq!(now["per_day"][13]["conversations"], 3);

    // The median over today's first replies: 60 s and 120 s; a reply
    // before any visitor message, and one from yesterday, do not count.
    let start = today_start();
    firsts(
        &app,
        &answered,
        Some(start - Duration::seconds(59)),
        Some(start + Duration::seconds(1)),
    )
    .await;
    let more = app.start().await;
    firsts(
        &app,
        &more,
        Some(start - Duration::seconds(119)),
        Some(start + Duration::seconds(1)),
    )
    .await;
    let agent_first = app.start().await;
    firsts(&app, &agent_first, None, Some(start + Duration::seconds(1))).await;
    let yesterday = app.start().await;
    firsts(
        &app,
        &yesterday,
        Some(start - Duration::seconds(500)),
        Some(start - Duration::seconds(1)),
    )
    .await;
    // One conversation started three days ago.
    let three_days_ago = Utc::now() - Duration::days(3);
    app.sql(
        "UPDATE chat_sessions SET created_at = ? WHERE id = ?",
        vec![three_days_ago.into(), yesterday.session_id.clone().into()],
    )
    .await;

    let later = stats(&app, &token).await;
    assert_eq!(later["first_responses_today"], 2);
    assert_eq!(later["median_first_response_secs"].as_f64(), Some(90.0));
    assert_eq!(later["conversations"], 6);
    assert_eq!(later["per_day"][13]["conversations"], 5);
    assert_eq!(later["per_day"][10]["date"], day(three_days_ago));
    assert_eq!(later["per_day"][10]["conversations"], 1);
    let total: i64 = later["per_day"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["conversations"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 6);
}

async fn signed_in_agents_only(app: TestApp) {
    let resp = app.get(STATS).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");

    // The dashboard's server function answers the same figures.
    let cookie = app.session_cookie("bob").await;
    let visitor = app.start().await;
    app.say(&visitor, "hi").await;
    let resp = app
        .server_fn("/api/stats")
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let figures: Value = resp.json().await.unwrap();
    assert_eq!(figures["conversations"], 1);
    assert_eq!(figures["waiting_first_reply"], 1);

    let resp = app.server_fn("/api/stats").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

on_every_store!(every_figure, signed_in_agents_only);
