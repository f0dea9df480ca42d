//! Issue 8, the server's HTTP side: site-supplied customer ids, identity
//! verification, long polling, availability, the offline form and its
//! e-mail.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::helpers::{
    next_json, next_of_type, postgres_and_redis_store, postgres_store, send_json, spawn_on, Store,
    TestApp, Visitor,
};
use crate::on_every_store;

const IDENTITY_SECRET: &str = "test-identity-secret";

/// Runs a test body on SQLite and (ignored unless configured) PostgreSQL,
/// with extra configuration.
macro_rules! on_every_store_with {
    ($vars:expr => $($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn sqlite() {
                    let app = $crate::helpers::spawn_on($crate::helpers::Store::Sqlite, $vars).await;
                    super::$name(app).await;
                }

                #[tokio::test]
                #[ignore = "needs TEST_DATABASE_URL (PostgreSQL); scripts/test.sh runs it when set"]
                async fn postgres() {
                    let store = $crate::helpers::postgres_store().await;
                    super::$name($crate::helpers::spawn_on(store, $vars).await).await
                }
            }
        )*
    };
}

async fn error_code(resp: reqwest::Response) -> String {
    let body: Value = resp.json().await.expect("JSON error body");
    body["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn customer_hash(customer_id: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(IDENTITY_SECRET.as_bytes()).unwrap();
    mac.update(customer_id.as_bytes());
    server::auth::hex(&mac.finalize().into_bytes())
}

fn path_part(customer_id: &str) -> String {
    customer_id
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn started(resp: reqwest::Response) -> Value {
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json().await.unwrap()
}

fn visitor(body: &Value) -> Visitor {
    Visitor {
        customer_id: body["customer_id"].as_str().unwrap().into(),
        token: body["token"].as_str().unwrap().into(),
        session_id: body["session_id"].as_str().unwrap().into(),
    }
}

// ---------------------------------------------------------------- ids

/// `42` (a JSON number), an e-mail and `user/7` work through start, the
/// history path (percent-encoded) and the visitor socket.
async fn site_customer_ids_work_everywhere(app: TestApp) {
    let body = started(app.start_chat(json!({"customer_id": 42})).await).await;
    assert_eq!(body["customer_id"], "42");
    let resumed = started(
        app.start_chat(json!({"customer_id": "42", "token": body["token"]}))
            .await,
    )
    .await;
    assert_eq!(resumed["session_id"], body["session_id"]);

    for id in ["42", "ann@example.com", "user/7"] {
        let v = if id == "42" {
            visitor(&body)
        } else {
            let b = started(
                app.start_chat(json!({"customer_id": format!(" {id} ")}))
                    .await,
            )
            .await;
            assert_eq!(b["customer_id"], id, "trimmed");
            visitor(&b)
        };
        let mut ws = app.visitor_ws(&path_part(id)).await;
        send_json(&mut ws, json!({"type": "auth", "token": v.token})).await;
        assert_eq!(next_json(&mut ws).await["type"], "availability");
        send_json(
            &mut ws,
            json!({"type": "message", "content": format!("hello from {id}"), "client_id": "c-1"}),
        )
        .await;
        let echo = next_of_type(&mut ws, "message").await;
        assert_eq!(echo["message"]["content"], format!("hello from {id}"));
        let resp = app
            .history(&path_part(id), Some(&v.token), "?after=0")
            .await;
        assert_eq!(resp.status(), StatusCode::OK, "{id}");
        let page: Value = resp.json().await.unwrap();
        assert_eq!(page["messages"][0]["content"], format!("hello from {id}"));
    }

    for bad in [
        json!(1.5),
        json!(true),
        json!("   "),
        json!("x".repeat(129)),
        json!("a\u{1}b"),
    ] {
        let resp = app.start_chat(json!({"customer_id": bad})).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert_eq!(error_code(resp).await, "invalid_customer_id");
    }
}

on_every_store!(site_customer_ids_work_everywhere);

// ----------------------------------------------------------- identity

/// A valid hash resumes the customer's conversation on a second device
/// without its token, with the same (derived) token; a wrong one is 401.
async fn identity_resumes_on_a_second_device(app: TestApp) {
    let hash = customer_hash("42");
    // The value docs/identity.md's Python example prints.
    assert_eq!(
        hash,
        "3af477e48c56f09fa4c49c81735244847b37a9c701fc5fb41841d754c9efc7a3"
    );
    let first = started(
        app.start_chat(json!({"customer_id": 42, "customer_hash": hash, "name": "Ann"}))
            .await,
    )
    .await;
    let v = visitor(&first);
    app.say(&v, "from the laptop").await;

    let second = started(
        app.start_chat(json!({"customer_id": "42", "customer_hash": hash.to_uppercase()}))
            .await,
    )
    .await;
    assert_eq!(second["token"], first["token"]);
    assert_eq!(second["session_id"], first["session_id"]);
    assert_eq!(second["messages"][0]["content"], "from the laptop");

    let resp = app
        .start_chat(json!({"customer_id": "42", "customer_hash": customer_hash("43")}))
        .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(resp).await, "invalid_identity");

    // A conversation made without identity takes the derived token; its
    // old token stops working.
    let legacy = started(app.start_chat(json!({"customer_id": "legacy-7"})).await).await;
    let verified = started(
        app.start_chat(
            json!({"customer_id": "legacy-7", "customer_hash": customer_hash("legacy-7")}),
        )
        .await,
    )
    .await;
    assert_eq!(verified["session_id"], legacy["session_id"]);
    assert_ne!(verified["token"], legacy["token"]);
    let old = visitor(&legacy);
    let resp = app.history(&old.customer_id, Some(&old.token), "").await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let new = visitor(&verified);
    let resp = app.history(&new.customer_id, Some(&new.token), "").await;
    assert_eq!(resp.status(), StatusCode::OK);
}

on_every_store_with!(&[("IDENTITY_SECRET", super::IDENTITY_SECRET)] => identity_resumes_on_a_second_device);

/// `IDENTITY_REQUIRED`: a site id without hash is refused; anonymous
/// visitors and token resumes still work.
async fn identity_required_refuses_bare_site_ids(app: TestApp) {
    let resp = app.start_chat(json!({"customer_id": "43"})).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(resp).await, "identity_required");

    let anonymous = started(app.start_chat(json!({})).await).await;
    let resumed = started(
        app.start_chat(
            json!({"customer_id": anonymous["customer_id"], "token": anonymous["token"]}),
        )
        .await,
    )
    .await;
    assert_eq!(resumed["session_id"], anonymous["session_id"]);

    let verified = started(
        app.start_chat(json!({"customer_id": "43", "customer_hash": customer_hash("43")}))
            .await,
    )
    .await;
    let by_token = started(
        app.start_chat(json!({"customer_id": "43", "token": verified["token"]}))
            .await,
    )
    .await;
    assert_eq!(by_token["session_id"], verified["session_id"]);
    let resp = app
        .start_chat(json!({"customer_id": "43", "token": "0".repeat(64)}))
        .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(resp).await, "identity_required");

    let config: Value = app
        .get("/chat/api/widget/config/")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(config["identity_required"], true);
}

on_every_store_with!(
    &[("IDENTITY_SECRET", super::IDENTITY_SECRET), ("IDENTITY_REQUIRED", "true")]
        => identity_required_refuses_bare_site_ids
);

// -------------------------------------------------------- long polling

async fn poll(app: &TestApp, v: &Visitor, query: &str) -> (StatusCode, Value, Duration) {
    let at = Instant::now();
    let resp = app.history(&v.customer_id, Some(&v.token), query).await;
    let status = resp.status();
    (status, resp.json().await.unwrap(), at.elapsed())
}

/// Answers at once when messages exist, as soon as one is stored while
/// waiting, and empty at the timeout; a bad `wait` is 400.
async fn long_poll(app: TestApp) {
    let v = app.start().await;
    app.say(&v, "already here").await;
    let (status, page, took) = poll(&app, &v, "?after=0&wait=10").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["messages"][0]["content"], "already here");
    assert!(took < Duration::from_secs(2), "{took:?}");

    let (_, page, took) = poll(&app, &v, "?after=1&wait=1").await;
    assert_eq!(page, json!({"messages": [], "has_more": false}));
    assert!(took >= Duration::from_millis(900), "{took:?}");

    let client = app.client.clone();
    let url = app.url("/chat/api/chat/message/");
    let (token, customer_id) = (v.token.clone(), v.customer_id.clone());
    let writer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(700)).await;
        client
            .post(url)
            .bearer_auth(token)
            .json(&json!({"customer_id": customer_id, "content": "mid-wait", "client_id": "mw"}))
            .send()
            .await
            .unwrap()
            .status()
    });
    let (status, page, took) = poll(&app, &v, "?after=1&wait=20").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["messages"][0]["content"], "mid-wait");
    assert_eq!(page["messages"][0]["seq"], 2);
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert_eq!(writer.await.unwrap(), StatusCode::CREATED);

    for bad in [
        "?wait=31",
        "?wait=abc",
        "?wait=-1",
        "?wait=1.5",
        "?before=5&wait=2",
    ] {
        let resp = app.history(&v.customer_id, Some(&v.token), bad).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(error_code(resp).await, "invalid_query", "{bad}");
    }
}

on_every_store!(long_poll);

/// Held polls count against the sockets-per-address limit.
#[tokio::test]
async fn held_polls_count_as_sockets() {
    let app = std::sync::Arc::new(
        spawn_on(
            Store::Sqlite,
            &[("LIMITS", "on"), ("LIMIT_SOCKETS_PER_ADDRESS", "1")],
        )
        .await,
    );
    let v = app.start().await;
    let held = {
        let (app, v) = (app.clone(), v.clone());
        tokio::spawn(async move { poll(&app, &v, "?after=0&wait=3").await.0 })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let resp = app
        .history(&v.customer_id, Some(&v.token), "?after=0&wait=3")
        .await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(held.await.unwrap(), StatusCode::OK);
    let resp = app
        .history(&v.customer_id, Some(&v.token), "?after=0")
        .await;
    assert_eq!(resp.status(), StatusCode::OK, "plain reads are not held");
}

/// A message stored on one instance ends a poll held on the other.
#[tokio::test]
#[ignore = "needs TEST_DATABASE_URL and TEST_REDIS_URL; scripts/test.sh runs it when set"]
async fn long_poll_across_instances() {
    let store = postgres_and_redis_store().await;
    let a = spawn_on(store.clone(), &[]).await;
    let b = std::sync::Arc::new(spawn_on(store, &[]).await);
    let v = a.start().await;
    let held = {
        let (b, v) = (b.clone(), v.clone());
        tokio::spawn(async move { poll(&b, &v, "?after=0&wait=20").await })
    };
    tokio::time::sleep(Duration::from_millis(700)).await;
    a.say(&v, "via A").await;
    let (status, page, took) = held.await.unwrap();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["messages"][0]["content"], "via A");
    assert!(took < Duration::from_secs(5), "{took:?}");
}

// -------------------------------------------------------- availability

async fn available(app: &TestApp) -> bool {
    let resp = app.get("/chat/api/widget/config/").await;
    assert_eq!(resp.headers()["cache-control"], "no-cache");
    let config: Value = resp.json().await.unwrap();
    config["available"].as_bool().unwrap()
}

async fn wait_available(app: &TestApp, want: bool, within: Duration) {
    let until = Instant::now() + within;
    while available(app).await != want {
        assert!(Instant::now() < until, "available never became {want}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Config says whether an agent socket is open; the visitor socket hears
/// each change.
async fn availability_follows_agent_sockets(app: TestApp) {
    let config: Value = app
        .get("/chat/api/widget/config/")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(config["offline_mode"], "form");
    assert_eq!(config["reply_time"], "");
    assert_eq!(config["identity_required"], false);
    assert!(!available(&app).await);

    let v = app.start().await;
    let mut ws = app.visitor_ws(&v.customer_id).await;
    send_json(&mut ws, json!({"type": "auth", "token": v.token})).await;
    assert_eq!(
        next_json(&mut ws).await,
        json!({"type": "availability", "available": false})
    );

    let token = app.api_token("alice").await;
    let mut agent = app.agent_ws(&token).await;
    assert_eq!(
        next_of_type(&mut ws, "availability").await["available"],
        true
    );
    wait_available(&app, true, Duration::from_secs(2)).await;

    agent.close(None).await.unwrap();
    while agent.next().await.is_some() {}
    assert_eq!(
        next_of_type(&mut ws, "availability").await["available"],
        false
    );
    wait_available(&app, false, Duration::from_secs(2)).await;
}

on_every_store!(availability_follows_agent_sockets);

/// An agent on one instance makes visitors of another see "available".
#[tokio::test]
#[ignore = "needs TEST_DATABASE_URL (PostgreSQL); scripts/test.sh runs it when set"]
async fn availability_across_instances() {
    let store = postgres_store().await;
    let a = spawn_on(store.clone(), &[]).await;
    let b = spawn_on(store, &[]).await;
    assert!(!available(&b).await);
    let token = a.api_token("alice").await;
    let agent = a.agent_ws(&token).await;
    // Other instances recompute every 5 s.
    wait_available(&b, true, Duration::from_secs(8)).await;
    drop(agent);
    wait_available(&b, false, Duration::from_secs(8)).await;
}

#[tokio::test]
async fn widget_settings_from_the_environment() {
    let app = spawn_on(
        Store::Sqlite,
        &[
            ("WIDGET_OFFLINE_MODE", "async"),
            ("WIDGET_REPLY_TIME", "a few hours"),
        ],
    )
    .await;
    let config: Value = app
        .get("/chat/api/widget/config/")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(config["offline_mode"], "async");
    assert_eq!(config["reply_time"], "a few hours");
}

// ------------------------------------------------------------- offline

/// `POST /chat/api/chat/offline/`: 201 with the start body, a conversation
/// marked offline holding the message; email and message are required.
async fn offline_form(app: TestApp) {
    let url = app.url("/chat/api/chat/offline/");
    let post = |body: Value| app.client.post(&url).json(&body).send();
    let resp = post(json!({"message": "hello"})).await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(resp).await, "invalid_email");
    let resp = post(json!({"email": "nope", "message": "hello"}))
        .await
        .unwrap();
    assert_eq!(error_code(resp).await, "invalid_email");
    let resp = post(json!({"email": "ann@example.com", "message": "  "}))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(resp).await, "empty_content");
    let resp = post(json!({"email": "ann@example.com"})).await.unwrap();
    assert_eq!(error_code(resp).await, "empty_content");

    let resp = post(json!({"name": "Ann", "email": "ann@example.com", "message": "Call me back"}))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "open");
    assert_eq!(body["messages"][0]["content"], "Call me back");
    assert_eq!(body["messages"][0]["sender"], "customer");
    assert_eq!(body["has_more"], false);
    let v = visitor(&body);
    assert_eq!(app.stored_messages(&v).await.len(), 1, "the token works");

    let api = app.api_token("alice").await;
    let resp = app
        .admin(
            Method::GET,
            &format!("/chat/api/admin/session/{}/", v.session_id),
            &api,
            None,
        )
        .await;
    let view: Value = resp.json().await.unwrap();
    assert_eq!(view["session"]["offline"], true);
    assert_eq!(view["session"]["email"], "ann@example.com");

    // With its credentials, the same conversation is reused.
    let again = post(
        json!({"email": "ann@example.com", "message": "Still there?",
        "customer_id": v.customer_id, "token": v.token}),
    )
    .await
    .unwrap();
    assert_eq!(again.status(), StatusCode::CREATED);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["session_id"], v.session_id.as_str());
    assert_eq!(again["messages"][0]["seq"], 2);
    assert_eq!(again["has_more"], true);

    // A resent form with the same client_id is stored once.
    for _ in 0..2 {
        let resent = post(json!({"email": "ann@example.com", "message": "Once only",
            "customer_id": v.customer_id, "token": v.token, "client_id": "form-1"}))
        .await
        .unwrap();
        assert_eq!(resent.status(), StatusCode::CREATED);
        let resent: Value = resent.json().await.unwrap();
        assert_eq!(resent["messages"][0]["seq"], 3);
    }
    assert_eq!(app.stored_messages(&v).await.len(), 3);

    // An ordinary conversation is not offline.
    let plain = app.start().await;
    let resp = app
        .admin(
            Method::GET,
            &format!("/chat/api/admin/session/{}/", plain.session_id),
            &api,
            None,
        )
        .await;
    let view: Value = resp.json().await.unwrap();
    assert_eq!(view["session"]["offline"], false);
}

on_every_store!(offline_form);

/// What the SMTP sink received: each message's DATA.
type Mailbox = std::sync::Arc<tokio::sync::Mutex<Vec<String>>>;

/// A tiny SMTP server: enough of the protocol for lettre to deliver.
async fn smtp_sink() -> (std::net::SocketAddr, Mailbox) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let inbox: Mailbox = Default::default();
    let received = inbox.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let received = received.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 sink ready\r\n").await.unwrap();
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(body) = data.as_mut() {
                        if line == "." {
                            received.lock().await.push(data.take().unwrap_or_default());
                            write.write_all(b"250 queued\r\n").await.unwrap();
                        } else {
                            body.push_str(&line);
                            body.push('\n');
                        }
                        continue;
                    }
                    let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                    let answer: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 sink\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 go ahead\r\n"
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            break;
                        }
                        _ => b"250 ok\r\n",
                    };
                    write.write_all(answer).await.unwrap();
                }
            });
        }
    });
    (addr, inbox)
}

/// With `SMTP_URL`, the team gets an e-mail with the visitor's text and
/// address.
#[tokio::test]
async fn offline_message_is_emailed() {
    let (addr, inbox) = smtp_sink().await;
    let url = format!("smtp://{addr}");
    let app = spawn_on(
        Store::Sqlite,
        &[
            ("SMTP_URL", &url),
            ("SMTP_FROM", "chat@example.com"),
            ("SMTP_TO", "team@example.com, boss@example.com"),
        ],
    )
    .await;
    let resp = app
        .client
        .post(app.url("/chat/api/chat/offline/"))
        .json(&json!({"name": "Ann", "email": "ann@example.com", "message": "Please call me back"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let until = Instant::now() + Duration::from_secs(10);
    let mail = loop {
        if let Some(mail) = inbox.lock().await.first().cloned() {
            break mail;
        }
        assert!(Instant::now() < until, "no e-mail within 10 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(mail.contains("Please call me back"), "{mail}");
    assert!(mail.contains("ann@example.com"), "{mail}");
    assert!(
        mail.contains("To: team@example.com, boss@example.com"),
        "{mail}"
    );
    assert!(mail.contains("Reply-To: ann@example.com"), "{mail}");
}
