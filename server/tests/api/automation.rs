//! Automated responses: rules through the admin API, replies after the
//! visitor's message (once, by priority, within cooldown and maximum),
//! the dry run against what really fires, business hours and
//! availability, delays, `no_reply` across a restart and with two
//! instances, and the `create-default-responses` command.

use std::time::Duration;

use app::types::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{next_of_type, postgres_and_redis_store, spawn_on, Store, TestApp, Visitor};
use crate::on_every_store;

const RULES: &str = "/chat/api/admin/auto-responses/";
const HOURS: &str = "/chat/api/admin/business-hours/";

async fn error_of(resp: reqwest::Response) -> (u16, String) {
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap();
    (
        status,
        body["error"]["code"].as_str().unwrap_or("").to_string(),
    )
}

async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    let resp = app.admin(Method::POST, RULES, token, Some(body)).await;
    assert_eq!(
        resp.status(),
        StatusCode::CREATED,
        "{:?}",
        resp.text().await
    );
    resp.json().await.unwrap()
}

fn keyword_rule(name: &str, priority: i32, words: &[&str], message: &str) -> Value {
    json!({
        "name": name,
        "priority": priority,
        "trigger": {"type": "keyword", "match": "any", "keywords": words},
        "action": {"message": message},
        "cooldown_seconds": 0,
        "max_per_conversation": 5
    })
}

async fn messages(app: &TestApp, v: &Visitor) -> Vec<Value> {
    app.stored_messages(v).await
}

async fn bots(app: &TestApp, v: &Visitor) -> Vec<Value> {
    messages(app, v)
        .await
        .into_iter()
        .filter(|m| m["sender"] == "bot")
        .collect()
}

/// Waits (up to 15 s) until the conversation holds `n` bot messages.
async fn wait_for_bots(app: &TestApp, v: &Visitor, n: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let found = bots(app, v).await;
        if found.len() >= n {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "expected {n} bot messages, found {found:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn logs(app: &TestApp, token: &str, query: &str) -> Value {
    let resp = app
        .admin(Method::GET, &format!("{RULES}logs/{query}"), token, None)
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json().await.unwrap()
}

/// Waits (up to 15 s) for a log entry with this outcome.
async fn wait_for_log(app: &TestApp, token: &str, outcome: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let page = logs(app, token, "").await;
        if let Some(entry) = page["logs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["outcome"] == outcome)
        {
            return entry.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {outcome} entry in {page}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits (up to 10 s) until the agents' view of the visitor's
/// conversation satisfies `done`; `what` names the wait in a failure.
async fn wait_for_session(
    app: &TestApp,
    token: &str,
    v: &Visitor,
    what: &str,
    done: impl Fn(&Value) -> bool,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let session = app.session_view(token, v).await;
        if done(&session) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never {what}: {session}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The visitor writes and the bot stays quiet (for as long as a reply
/// takes when there is one).
async fn quiet_after(app: &TestApp, v: &Visitor, before: usize) {
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(bots(app, v).await.len(), before, "no new bot reply");
}

async fn admins_manage_rules(app: TestApp) {
    let admin = app.token_with_role("root", Role::Admin).await;
    let agent = app.token_with_role("ann", Role::Agent).await;
    let body = keyword_rule("Pricing", 10, &["price"], "See our pricing page.");
    let resp = app
        .admin(Method::POST, RULES, &agent, Some(body.clone()))
        .await;
    assert_eq!(error_of(resp).await, (403, "forbidden".into()));
    let pricing = create(&app, &admin, body.clone()).await;
    assert_eq!(pricing["enabled"], true);
    assert_eq!(pricing["trigger"]["match"], "any");
    let id = pricing["id"].as_str().unwrap().to_string();
    create(
        &app,
        &admin,
        json!({"name": "Hello", "priority": 50, "trigger": {"type": "greeting"},
               "action": {"message": "Hi {customer_name}!"}}),
    )
    .await;
    // Everyone reads, highest priority first; defaults fill what is left out.
    let resp = app.admin(Method::GET, RULES, &agent, None).await;
    let list: Value = resp.json().await.unwrap();
    let names: Vec<&str> = list["auto_responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Hello", "Pricing"]);
    let hello = &list["auto_responses"][0];
    assert_eq!(hello["cooldown_seconds"], 600);
    assert_eq!(hello["max_per_conversation"], 1);

    // Refusals, each naming its field.
    let resp = app
        .admin(Method::POST, RULES, &admin, Some(body.clone()))
        .await;
    assert_eq!(error_of(resp).await, (409, "rule_name_taken".into()));
    for bad in [
        json!({"name": "", "trigger": {"type": "greeting"}, "action": {"message": "x"}}),
        json!({"name": "a", "trigger": {"type": "keyword", "keywords": []}, "action": {"message": "x"}}),
        json!({"name": "b", "trigger": {"type": "keyword", "match": "regex", "keywords": ["(a"]}, "action": {"message": "x"}}),
        json!({"name": "c", "trigger": {"type": "no_reply", "minutes": 0}, "action": {"message": "x"}}),
        json!({"name": "d", "trigger": {"type": "greeting"}, "action": {"message": "Hi {nme}"}}),
        json!({"name": "e", "trigger": {"type": "greeting"}, "action": {"message": "x", "delay_seconds": 99999}}),
        json!({"name": "f", "trigger": {"type": "greeting"}, "action": {"message": "x"}, "max_per_conversation": 0}),
        json!({"name": "g", "trigger": {"type": "greeting"}, "action": {"message": "x"}, "conditions": {"languages": ["<b>"]}}),
    ] {
        let resp = app
            .admin(Method::POST, RULES, &admin, Some(bad.clone()))
            .await;
        assert_eq!(error_of(resp).await, (422, "invalid_rule".into()), "{bad}");
    }
    for bad in [
        json!({"name": "h", "trigger": {"type": "sometimes"}, "action": {"message": "x"}}),
        json!({"name": "i", "trigger": {"type": "greeting"}, "action": {"message": "x"}, "colour": 1}),
    ] {
        let resp = app
            .admin(Method::POST, RULES, &admin, Some(bad.clone()))
            .await;
        assert_eq!(resp.status().as_u16(), 422, "{bad}");
    }

    // Change, read back, refuse a taken name, delete.
    let path = format!("{RULES}{id}/");
    let resp = app
        .admin(
            Method::PATCH,
            &path,
            &admin,
            Some(json!({"enabled": false, "priority": 60})),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = app.admin(Method::GET, &path, &agent, None).await;
    let got: Value = resp.json().await.unwrap();
    assert_eq!(
        (got["enabled"].clone(), got["priority"].clone()),
        (json!(false), json!(60))
    );
    assert_eq!(got["action"]["message"], "See our pricing page.");
    let resp = app
        .admin(Method::PATCH, &path, &admin, Some(json!({"name": "Hello"})))
        .await;
    assert_eq!(error_of(resp).await, (409, "rule_name_taken".into()));
    let resp = app
        .admin(Method::PATCH, &path, &agent, Some(json!({"enabled": true})))
        .await;
    assert_eq!(error_of(resp).await, (403, "forbidden".into()));
    let resp = app.admin(Method::DELETE, &path, &admin, None).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let resp = app.admin(Method::GET, &path, &admin, None).await;
    assert_eq!(error_of(resp).await, (404, "unknown_rule".into()));
    let resp = app.admin(Method::DELETE, &path, &admin, None).await;
    assert_eq!(error_of(resp).await, (404, "unknown_rule".into()));
    // The log's query is checked.
    let resp = app
        .admin(
            Method::GET,
            &format!("{RULES}logs/?cursor=nope"),
            &admin,
            None,
        )
        .await;
    assert_eq!(error_of(resp).await, (400, "invalid_cursor".into()));
    let resp = app
        .admin(
            Method::GET,
            &format!("{RULES}logs/?from=yesterday"),
            &admin,
            None,
        )
        .await;
    assert_eq!(error_of(resp).await, (400, "invalid_query".into()));
}

async fn replies_come_after_the_message_once(app: TestApp) {
    let admin = app.token_with_role("root", Role::Admin).await;
    let pricing = create(
        &app,
        &admin,
        json!({
            "name": "Pricing", "priority": 10,
            "trigger": {"type": "keyword", "match": "any", "keywords": ["price", "how much"]},
            "action": {"message": "Hi {customer_name}, prices are on /pricing."},
            "cooldown_seconds": 0, "max_per_conversation": 2
        }),
    )
    .await;
    create(
        &app,
        &admin,
        json!({
            "name": "Refund word", "priority": 5,
            "trigger": {"type": "keyword", "keywords": ["price"]},
            "action": {"message": "lower priority"}, "cooldown_seconds": 0, "max_per_conversation": 9
        }),
    )
    .await;
    create(
        &app,
        &admin,
        json!({"name": "Hello", "priority": 1, "trigger": {"type": "greeting"},
               "action": {"message": "Hello there!"}}),
    )
    .await;
    let v = app.start_with(json!({"name": "Ann"})).await;
    let asked = app.say(&v, "What's the PRICE?").await;
    let got = wait_for_bots(&app, &v, 1).await;
    assert_eq!(got[0]["content"], "Hi Ann, prices are on /pricing.");
    assert_eq!(
        got[0]["seq"],
        asked["seq"].as_i64().unwrap() + 1,
        "right after it"
    );
    assert!(got[0]["agent_name"].is_null());
    // The log says what fired and why.
    let entry = wait_for_log(&app, &admin, "fired").await;
    assert_eq!(entry["rule_name"], "Pricing");
    assert_eq!(entry["rule_id"], pricing["id"]);
    assert_eq!(entry["session_id"], v.session_id.as_str());
    assert_eq!(entry["trigger_message_id"], asked["id"]);
    assert_eq!(entry["reply_message_id"], got[0]["id"]);
    assert!(
        entry["reason"].as_str().unwrap().contains("\"price\""),
        "{entry}"
    );

    // The same client_id again: stored once, answered once.
    let replay = json!({"customer_id": v.customer_id, "content": "price?", "client_id": "same-1"});
    app.post_message(Some(&v.token), replay.clone()).await;
    wait_for_bots(&app, &v, 2).await;
    let resp = app.post_message(Some(&v.token), replay).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    quiet_after(&app, &v, 2).await;
    // The maximum (2) is reached: the next match falls to the lower rule.
    app.say(&v, "how much again").await;
    quiet_after(&app, &v, 2).await;
    app.say(&v, "the price, please").await;
    let got = wait_for_bots(&app, &v, 3).await;
    assert_eq!(got[2]["content"], "lower priority");
    let held = wait_for_log(&app, &admin, "max_reached").await;
    assert_eq!(held["rule_name"], "Pricing");
    assert!(held["reason"].as_str().unwrap().starts_with("Held back"));
    // Agents' messages never trigger a rule.
    let agent = app.api_token("alice").await;
    let resp = app
        .admin(
            Method::POST,
            &format!("/chat/api/admin/session/{}/messages/", v.session_id),
            &agent,
            Some(json!({"content": "hello, what price?"})),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    quiet_after(&app, &v, 3).await;
    // The log pages and filters by rule.
    let page = logs(&app, &admin, "?limit=1").await;
    assert_eq!(page["logs"].as_array().unwrap().len(), 1);
    let cursor = page["next_cursor"].as_str().unwrap();
    let next = logs(&app, &admin, &format!("?limit=10&cursor={cursor}")).await;
    assert!(!next["logs"].as_array().unwrap().is_empty());
    assert_ne!(next["logs"][0]["id"], page["logs"][0]["id"]);
    let id = pricing["id"].as_str().unwrap();
    let only = logs(&app, &admin, &format!("?rule={id}")).await;
    assert!(only["logs"]
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l["rule_id"] == id));
    assert_eq!(
        only["logs"].as_array().unwrap().len(),
        4,
        "2 fired, 2 held back"
    );
}

async fn cooldown_delay_close_and_email(app: TestApp) {
    let admin = app.token_with_role("root", Role::Admin).await;
    create(
        &app,
        &admin,
        json!({
            "name": "Refund", "priority": 10,
            "trigger": {"type": "keyword", "keywords": ["refund"]},
            "action": {"message": "We will look into it.", "ask_email": true},
            "cooldown_seconds": 3600, "max_per_conversation": 5
        }),
    )
    .await;
    create(
        &app,
        &admin,
        json!({
            "name": "Bye", "priority": 10,
            "trigger": {"type": "keyword", "match": "phrase", "keywords": ["bye"]},
            "action": {"message": "Goodbye!", "close": true, "delay_seconds": 1}
        }),
    )
    .await;
    create(
        &app,
        &admin,
        json!({
            "name": "Later", "priority": 10,
            "trigger": {"type": "keyword", "keywords": ["later"]},
            "action": {"message": "Never sent", "delay_seconds": 2}
        }),
    )
    .await;
    let v = app.start_with(json!({"name": "Bo"})).await;
    app.say(&v, "I want a refund").await;
    let got = wait_for_bots(&app, &v, 1).await;
    let text = got[0]["content"].as_str().unwrap();
    assert!(text.starts_with("We will look into it.\n\n"), "{text}");
    assert!(text.contains("e-mail"), "asks for an address: {text}");
    // In its cooldown: held back and logged.
    app.say(&v, "refund?").await;
    let held = wait_for_log(&app, &admin, "cooldown").await;
    assert!(held["reason"].as_str().unwrap().contains("cooldown"));
    assert_eq!(bots(&app, &v).await.len(), 1);
    // The address the visitor gives after being asked is saved.
    app.say(&v, "sure: bo@example.org").await;
    let agent = app.api_token("alice").await;
    wait_for_session(&app, &agent, &v, "the e-mail saved", |s| {
        s["email"] == "bo@example.org"
    })
    .await;
    // A delayed reply that closes the conversation.
    app.say(&v, "Bye!").await;
    quiet_after(&app, &v, 1).await;
    let got = wait_for_bots(&app, &v, 2).await;
    assert_eq!(got[1]["content"], "Goodbye!");
    wait_for_session(&app, &agent, &v, "closed", |s| s["status"] == "closed").await;
    // No loop: a reply holding its own keyword answers nothing (bot
    // messages never trigger rules), whatever the cooldown and maximum.
    create(
        &app,
        &admin,
        json!({
            "name": "Echo", "priority": 99,
            "trigger": {"type": "keyword", "keywords": ["echo"]},
            "action": {"message": "echo echo echo"}, "cooldown_seconds": 0, "max_per_conversation": 100
        }),
    )
    .await;
    let e = app.start_with(json!({"name": "Eli"})).await;
    app.say(&e, "echo?").await;
    wait_for_bots(&app, &e, 1).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(bots(&app, &e).await.len(), 1, "one reply, no loop");
    // A delayed reply an agent answers first is not sent.
    let w = app.start_with(json!({"name": "Cy"})).await;
    app.say(&w, "talk later").await;
    let resp = app
        .admin(
            Method::POST,
            &format!("/chat/api/admin/session/{}/messages/", w.session_id),
            &agent,
            Some(json!({"content": "I'm here"})),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let entry = wait_for_log(&app, &admin, "agent_replied").await;
    assert_eq!(entry["rule_name"], "Later");
    assert!(bots(&app, &w).await.is_empty());
}

/// What the dry run says is what fires, reply for reply.
async fn the_dry_run_is_what_fires(app: TestApp) {
    let admin = app.token_with_role("root", Role::Admin).await;
    for rule in [
        keyword_rule(
            "Pricing",
            20,
            &["price", "cost"],
            "{customer_name}, prices: /pricing",
        ),
        json!({"name": "All", "priority": 30,
               "trigger": {"type": "keyword", "match": "all", "keywords": ["reset", "password"]},
               "action": {"message": "Reset it at /forgot, {customer_name}."}}),
        json!({"name": "Order", "priority": 40,
               "trigger": {"type": "keyword", "match": "regex", "keywords": [r"order\s*#?\d{4,}"]},
               "action": {"message": "Looking up your order."}}),
        json!({"name": "Greeting", "priority": 10, "trigger": {"type": "greeting"},
               "action": {"message": "Hola {customer_name}!", "translations": {"fr": "Salut {customer_name} !"}}}),
        json!({"name": "First", "priority": 5, "trigger": {"type": "first_message"},
               "action": {"message": "Thanks for writing, {agent_name} will answer."}}),
        json!({"name": "Closed", "priority": 1, "enabled": false, "trigger": {"type": "first_message"},
               "action": {"message": "off"}}),
    ] {
        create(&app, &admin, rule).await;
    }
    for content in [
        "hello!",
        "how much does it cost?",
        "please reset my password",
        "where is order #12345",
        "nothing special here",
    ] {
        let resp = app
            .admin(
                Method::POST,
                &format!("{RULES}test/"),
                &admin,
                Some(json!({"content": content, "customer_name": "Dee", "identified": true})),
            )
            .await;
        assert_eq!(resp.status(), StatusCode::OK);
        let verdict: Value = resp.json().await.unwrap();
        assert!(!verdict["reasons"].as_array().unwrap().is_empty());
        let v = app.start_with(json!({"name": "Dee"})).await;
        app.say(&v, content).await;
        let expected = verdict["reply"].as_str().expect("a rule answers each");
        let got = wait_for_bots(&app, &v, 1).await;
        assert_eq!(got[0]["content"], expected, "{content}: {verdict}");
    }
    // Not a first message, nothing else matches: the dry run says so.
    let resp = app
        .admin(
            Method::POST,
            &format!("{RULES}test/"),
            &admin,
            Some(json!({"content": "ok", "first_message": false})),
        )
        .await;
    let verdict: Value = resp.json().await.unwrap();
    assert!(
        verdict["rule"].is_null() && verdict["reply"].is_null(),
        "{verdict}"
    );
    assert!(verdict["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r.as_str().unwrap().contains("\"Closed\" is turned off")));
    // A translation for the visitor's language.
    let resp = app
        .admin(
            Method::POST,
            &format!("{RULES}test/"),
            &admin,
            Some(json!({"content": "bonjour", "language": "fr-CA", "customer_name": "Eve"})),
        )
        .await;
    let verdict: Value = resp.json().await.unwrap();
    assert_eq!(verdict["reply"], "Salut Eve !");
    assert_eq!(verdict["rule"]["name"], "Greeting");
    // The real one, with the browser's language.
    let resp = app
        .client
        .post(app.url("/chat/api/chat/start/"))
        .header("accept-language", "fr-CA,fr;q=0.9")
        .json(&json!({"name": "Eve"}))
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    let v = Visitor {
        customer_id: body["customer_id"].as_str().unwrap().into(),
        token: body["token"].as_str().unwrap().into(),
        session_id: body["session_id"].as_str().unwrap().into(),
    };
    app.say(&v, "bonjour").await;
    let got = wait_for_bots(&app, &v, 1).await;
    assert_eq!(got[0]["content"], "Salut Eve !");
    // A malformed dry run.
    let resp = app
        .admin(
            Method::POST,
            &format!("{RULES}test/"),
            &admin,
            Some(json!({"content": "x", "at": "noon"})),
        )
        .await;
    assert_eq!(error_of(resp).await, (422, "invalid_body".into()));
}

async fn config_available(app: &TestApp) -> bool {
    let body: Value = app
        .get("/chat/api/widget/config/")
        .await
        .json()
        .await
        .unwrap();
    body["available"].as_bool().unwrap()
}

async fn wait_available(app: &TestApp, want: bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while config_available(app).await != want {
        assert!(
            tokio::time::Instant::now() < deadline,
            "available never became {want}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn business_hours_drive_availability(app: TestApp) {
    let admin = app.token_with_role("root", Role::Admin).await;
    let agent = app.token_with_role("ann", Role::Agent).await;
    let resp = app.admin(Method::GET, HOURS, &agent, None).await;
    let view: Value = resp.json().await.unwrap();
    assert_eq!(
        (view["enabled"].clone(), view["open_now"].clone()),
        (json!(false), json!(true))
    );
    let _online = app.agent_ws(&agent).await;
    wait_available(&app, true).await;
    let v = app.start().await;
    // (Its first frame, availability, is read by the helper.)
    let mut socket = app.visitor_ws_authed(&v, Some(0)).await;

    // Bad schedules and agents are refused.
    for bad in [
        json!({"enabled": true, "time_zone": "Mars/Base"}),
        json!({"enabled": true, "time_zone": "UTC", "week": {"monday": [{"open": "10:00", "close": "09:00"}]}}),
        json!({"enabled": true, "time_zone": "UTC", "holidays": ["2026-13-01"]}),
    ] {
        let resp = app
            .admin(Method::PUT, HOURS, &admin, Some(bad.clone()))
            .await;
        assert_eq!(
            error_of(resp).await,
            (422, "invalid_business_hours".into()),
            "{bad}"
        );
    }
    let closed = json!({"enabled": true, "time_zone": "Europe/Madrid"});
    let resp = app
        .admin(Method::PUT, HOURS, &agent, Some(closed.clone()))
        .await;
    assert_eq!(error_of(resp).await, (403, "forbidden".into()));

    // Closed all week (an agent is online): not available, at once, on
    // the config and on the open socket.
    let resp = app.admin(Method::PUT, HOURS, &admin, Some(closed)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let view: Value = resp.json().await.unwrap();
    assert_eq!(view["open_now"], false);
    assert!(view["next_open"].is_null(), "never opens: {view}");
    assert!(!config_available(&app).await);
    let frame = next_of_type(&mut socket, "availability").await;
    assert_eq!(frame["available"], false);

    // Open one date next week, 09:00–10:00 in Madrid: {next_open} says so.
    let date = (chrono::Utc::now() + chrono::Duration::days(3))
        .format("%Y-%m-%d")
        .to_string();
    let hours = json!({"enabled": true, "time_zone": "Europe/Madrid",
                       "exceptions": [{"date": date, "intervals": [{"open": "9:00", "close": "10:00"}]}]});
    let resp = app.admin(Method::PUT, HOURS, &admin, Some(hours)).await;
    let view: Value = resp.json().await.unwrap();
    assert_eq!(
        view["exceptions"][0]["intervals"][0]["open"], "09:00",
        "normalised"
    );
    let next_open = view["next_open"].as_str().expect("opens");
    assert!(next_open.starts_with(&date[..7]), "{next_open}");
    create(
        &app,
        &admin,
        json!({"name": "Closed", "trigger": {"type": "outside_business_hours"},
               "action": {"message": "We are closed; back {next_open}."}}),
    )
    .await;
    let w = app.start().await;
    app.say(&w, "anyone?").await;
    let got = wait_for_bots(&app, &w, 1).await;
    let text = got[0]["content"].as_str().unwrap();
    assert!(text.starts_with("We are closed; back "), "{text}");
    assert!(
        text.ends_with(" 09:00 (Europe/Madrid)."),
        "the team's zone, named: {text}"
    );

    // Open every day all day: available again.
    let day = json!([{"open": "00:00", "close": "24:00"}]);
    let always = json!({"enabled": true, "time_zone": "America/New_York",
        "week": {"monday": day, "tuesday": day, "wednesday": day, "thursday": day,
                 "friday": day, "saturday": day, "sunday": day}});
    let resp = app.admin(Method::PUT, HOURS, &admin, Some(always)).await;
    let view: Value = resp.json().await.unwrap();
    assert_eq!(view["open_now"], true);
    assert!(config_available(&app).await);
    let frame = next_of_type(&mut socket, "availability").await;
    assert_eq!(frame["available"], true);
    let resp = app.admin(Method::GET, HOURS, &agent, None).await;
    let view: Value = resp.json().await.unwrap();
    assert_eq!(view["time_zone"], "America/New_York");
    assert_eq!(view["week"]["sunday"][0]["close"], "24:00");
}

/// The dashboard's server functions: the same rules and roles as the API.
async fn dashboard_functions_follow_the_roles(app: TestApp) {
    app.create_with_role("root", Role::Admin).await;
    app.create_with_role("ann", Role::Agent).await;
    let admin = app.sign_in("root").await;
    let agent = app.sign_in("ann").await;
    let json_fn = |path: &'static str, cookie: &str, body: Value| {
        app.server_fn(path)
            .header("cookie", cookie.to_string())
            .json(&body)
            .send()
    };
    let rule = |name: &str| json!({"rule": {"name": name, "trigger": {"type": "greeting"}, "action": {"message": "Hi!"}}});
    let resp = json_fn("/api/save_auto_response", &agent, rule("a"))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let a: Value = json_fn("/api/save_auto_response", &admin, rule("a"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let b: Value = json_fn("/api/save_auto_response", &admin, rule("b"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let resp = json_fn("/api/save_auto_response", &admin, rule("a"))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CONFLICT, "the name is taken");
    // Saving with an id replaces the rule.
    let mut edit = rule("a2");
    edit["id"] = a["id"].clone();
    let a2: Value = json_fn("/api/save_auto_response", &admin, edit)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (a2["id"].clone(), a2["name"].clone()),
        (a["id"].clone(), json!("a2"))
    );
    // Ranked b first, a second.
    let ids = json!({"ids": [b["id"], a["id"]]});
    let resp = json_fn("/api/reorder_auto_responses", &agent, ids.clone())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let all: Value = json_fn("/api/reorder_auto_responses", &admin, ids)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ranked: Vec<(&str, i64)> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["name"].as_str().unwrap(), r["priority"].as_i64().unwrap()))
        .collect();
    assert_eq!(ranked, [("b", 20), ("a2", 10)]);
    let change = json!({"id": b["id"], "change": {"enabled": false}});
    let off: Value = json_fn("/api/change_auto_response", &admin, change)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(off["enabled"], false);
    // Every agent reads and tries.
    let resp = app
        .call_fn("/api/auto_responses", &agent, vec![])
        .await
        .unwrap();
    let list: Value = resp.json().await.unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2);
    let verdict: Value = json_fn(
        "/api/test_auto_response",
        &agent,
        json!({"test": {"content": "hello"}}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(verdict["rule"]["name"], "a2", "b is off");
    let resp = app
        .call_fn("/api/auto_response_logs", &agent, vec![])
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let page: Value = resp.json().await.unwrap();
    assert!(page["logs"].as_array().unwrap().is_empty());
    // Hours: agents read, admins write.
    let resp = app
        .call_fn("/api/business_hours", &agent, vec![])
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let hours = json!({"hours": {"enabled": true, "time_zone": "Asia/Tokyo"}});
    let resp = json_fn("/api/save_business_hours", &agent, hours.clone())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let saved: Value = json_fn("/api/save_business_hours", &admin, hours)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(saved["time_zone"], "Asia/Tokyo");
    assert_eq!(saved["open_now"], false);
    // Deleting.
    let id = || vec![("id", a["id"].as_str().unwrap().to_string())];
    let resp = app
        .call_fn("/api/delete_auto_response", &agent, id())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = app
        .call_fn("/api/delete_auto_response", &admin, id())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = app
        .call_fn("/api/delete_auto_response", &admin, id())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

on_every_store!(
    dashboard_functions_follow_the_roles,
    admins_manage_rules,
    replies_come_after_the_message_once,
    cooldown_delay_close_and_email,
    the_dry_run_is_what_fires,
    business_hours_drive_availability,
);

/// Backdates a conversation's messages by `minutes`.
async fn backdate(app: &TestApp, session_id: &str, minutes: i64) {
    let at = chrono::Utc::now() - chrono::Duration::minutes(minutes);
    app.sql(
        "UPDATE messages SET created_at = ? WHERE session_id = ?",
        vec![at.into(), session_id.into()],
    )
    .await;
}

fn no_reply_rule() -> Value {
    json!({"name": "Waiting", "trigger": {"type": "no_reply", "minutes": 1},
           "action": {"message": "Sorry for the wait, {customer_name}!"}, "cooldown_seconds": 0})
}

/// A `no_reply` reminder is decided from what is stored: a server that
/// starts after the minute passed sends it, once.
#[tokio::test]
async fn no_reply_fires_once_across_a_restart() {
    let file = std::env::temp_dir().join(format!("defmis-restart-{}.db", uuid::Uuid::new_v4()));
    let first = spawn_on(Store::SqliteAt(file.clone()), &[]).await;
    let admin = first.token_with_role("root", Role::Admin).await;
    create(&first, &admin, no_reply_rule()).await;
    let v = first.start_with(json!({"name": "Flo"})).await;
    first.say(&v, "is anyone there?").await;
    let answered = first.start_with(json!({"name": "Gus"})).await;
    first.say(&answered, "hi").await;
    let agent = first.api_token("alice").await;
    first
        .admin(
            Method::POST,
            &format!("/chat/api/admin/session/{}/messages/", answered.session_id),
            &agent,
            Some(json!({"content": "Hello!"})),
        )
        .await;
    drop(first);
    tokio::time::sleep(Duration::from_millis(300)).await;

    let second = spawn_on(Store::SqliteAt(file.clone()), &[]).await;
    backdate(&second, &v.session_id, 2).await;
    backdate(&second, &answered.session_id, 2).await;
    let got = wait_for_bots(&second, &v, 1).await;
    assert_eq!(got[0]["content"], "Sorry for the wait, Flo!");
    // Another scan (every 10 s) sends nothing more; the answered one never.
    tokio::time::sleep(Duration::from_secs(11)).await;
    assert_eq!(bots(&second, &v).await.len(), 1);
    assert!(bots(&second, &answered).await.is_empty());
    let page = logs(&second, &admin, "").await;
    let fired: Vec<&Value> = page["logs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["outcome"] == "fired")
        .collect();
    assert_eq!(fired.len(), 1);
    drop(second);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
    }
}

/// Two instances on PostgreSQL + Redis: the instance that committed a
/// message answers it; a `no_reply` reminder is sent once between them.
#[tokio::test]
#[ignore = "needs TEST_DATABASE_URL and TEST_REDIS_URL; scripts/test.sh runs it when set"]
async fn two_instances_answer_once() {
    let store = postgres_and_redis_store().await;
    let a = spawn_on(store.clone(), &[]).await;
    let b = spawn_on(store, &[]).await;
    let admin = a.token_with_role("root", Role::Admin).await;
    let mut pricing = keyword_rule("Pricing", 10, &["price"], "Prices: /pricing");
    pricing["max_per_conversation"] = json!(1);
    create(&a, &admin, pricing).await;
    create(
        &a,
        &admin,
        json!({"name": "Hello", "priority": 5, "trigger": {"type": "greeting"},
               "action": {"message": "Hi!"}}),
    )
    .await;
    create(&a, &admin, no_reply_rule()).await;
    // B hears of the new rules through the bus.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while b.state.automation.rules().len() < 3 {
        assert!(tokio::time::Instant::now() < deadline, "B never reloaded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let on_a = a.start_with(json!({"name": "Hal"})).await;
    let on_b = b.start_with(json!({"name": "Ivy"})).await;
    for (app, v) in [(&a, &on_a), (&b, &on_b), (&a, &on_b), (&b, &on_a)] {
        app.say(v, "hello").await;
        app.say(v, "what price?").await;
    }
    for v in [&on_a, &on_b] {
        let got = wait_for_bots(&a, v, 2).await;
        let texts: Vec<&str> = got.iter().map(|m| m["content"].as_str().unwrap()).collect();
        assert_eq!(texts, ["Hi!", "Prices: /pricing"]);
    }
    // No agent answered: both instances scan, one reminder each.
    backdate(&a, &on_a.session_id, 2).await;
    backdate(&a, &on_b.session_id, 2).await;
    for v in [&on_a, &on_b] {
        wait_for_bots(&a, v, 3).await;
    }
    tokio::time::sleep(Duration::from_secs(11)).await;
    for v in [&on_a, &on_b] {
        let got = bots(&b, v).await;
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(got[2]["content"]
            .as_str()
            .unwrap()
            .starts_with("Sorry for the wait"));
    }
    let page = logs(&b, &admin, "?limit=100").await;
    let fired = page["logs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["outcome"] == "fired")
        .count();
    assert_eq!(fired, 6);
}

/// `defmis-chat create-default-responses`: twice changes nothing; a
/// changed default is restored by `--force`.
#[tokio::test]
async fn the_default_responses_command_is_idempotent() {
    let file = std::env::temp_dir().join(format!("defmis-defaults-{}.db", uuid::Uuid::new_v4()));
    let url = format!("sqlite://{}?mode=rwc", file.display());
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_defmis-chat"))
            .arg("create-default-responses")
            .args(args)
            .env("DATABASE_URL", &url)
            .env("SECRET_KEY", crate::helpers::SECRET)
            .env("RUST_LOG", "warn")
            .env_remove("REDIS_URL")
            .output()
            .expect("run the binary");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let first = run(&[]);
    assert!(first.contains("7 added, 0 restored, 0 kept"), "{first}");
    let second = run(&[]);
    assert!(second.contains("0 added, 0 restored, 7 kept"), "{second}");

    let app = spawn_on(Store::SqliteAt(file.clone()), &[]).await;
    let admin = app.token_with_role("root", Role::Admin).await;
    let resp = app.admin(Method::GET, RULES, &admin, None).await;
    let list: Value = resp.json().await.unwrap();
    let all = list["auto_responses"].as_array().unwrap();
    let names: Vec<&str> = all.iter().map(|r| r["name"].as_str().unwrap()).collect();
    for expected in [
        "Greeting",
        "Outside business hours",
        "No agent online",
        "No reply within 5 minutes",
        "Pricing",
        "Refund",
        "Password",
    ] {
        assert!(names.contains(&expected), "{names:?}");
    }
    let greeting = all.iter().find(|r| r["name"] == "Greeting").unwrap();
    assert_eq!(
        greeting["action"]["translations"]["es"],
        "¡Hola, {customer_name}! ¿En qué podemos ayudarte?"
    );
    let id = greeting["id"].as_str().unwrap();
    let resp = app
        .admin(
            Method::PATCH,
            &format!("{RULES}{id}/"),
            &admin,
            Some(json!({"action": {"message": "Yo"}, "enabled": false})),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let again = run(&[]);
    assert!(again.contains("0 added, 0 restored, 7 kept"), "{again}");
    let forced = run(&["--force"]);
    assert!(forced.contains("0 added, 1 restored, 6 kept"), "{forced}");
    let resp = app
        .admin(Method::GET, &format!("{RULES}{id}/"), &admin, None)
        .await;
    let restored: Value = resp.json().await.unwrap();
    assert_eq!(restored["enabled"], true);
    assert_eq!(
        restored["action"]["message"],
        "Hi {customer_name}! How can we help you today?"
    );
    drop(app);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
    }
}
