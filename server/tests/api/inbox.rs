//! The dashboard's inbox: filters, the session view's new fields,
//! full-text search, keyset paging at its edges, assignment and private
//! notes — through the admin API and the dashboard's server functions, on
//! every store.

use app::protocol::Party;
use app::types::{Role, SessionId};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_quiet, next_of_type, send_json, TestApp, Visitor, Ws};
use crate::on_every_store;

const SESSIONS: &str = "/chat/api/admin/sessions/";

/// An admin's API token and their id.
async fn admin(app: &TestApp, username: &str) -> (String, String) {
    let made = app.create_with_role(username, Role::Admin).await;
    let token = app
        .state
        .agents
        .create_api_token(username, None)
        .await
        .unwrap();
    (token, made.id.to_string())
}

/// An agent's (not an admin's) API token and their id.
async fn agent(app: &TestApp, username: &str) -> (String, String) {
    let made = app.create_with_role(username, Role::Agent).await;
    let token = app
        .state
        .agents
        .create_api_token(username, None)
        .await
        .unwrap();
    (token, made.id.to_string())
}

async fn list_raw(app: &TestApp, token: &str, query: &[(&str, &str)]) -> reqwest::Response {
    app.client
        .get(app.url(SESSIONS))
        .query(query)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// One page of the inbox.
async fn list(app: &TestApp, token: &str, query: &[(&str, &str)]) -> Value {
    let resp = list_raw(app, token, query).await;
    assert_eq!(resp.status(), StatusCode::OK, "{query:?}");
    resp.json().await.unwrap()
}

fn ids(page: &Value) -> Vec<String> {
    page["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect()
}

/// The ids of the first page, as a sorted list (filters, not order).
async fn matching(app: &TestApp, token: &str, query: &[(&str, &str)]) -> Vec<String> {
    let mut found = ids(&list(app, token, query).await);
    found.sort();
    found
}

fn sorted(visitors: &[&Visitor]) -> Vec<String> {
    let mut ids: Vec<String> = visitors.iter().map(|v| v.session_id.clone()).collect();
    ids.sort();
    ids
}

/// Every page, following `next_cursor`; each page's size checked.
async fn all_pages(
    app: &TestApp,
    token: &str,
    query: &[(&str, &str)],
    limit: usize,
) -> Vec<String> {
    let limit_text = limit.to_string();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..50 {
        let mut q: Vec<(&str, &str)> = query.to_vec();
        q.push(("limit", &limit_text));
        if let Some(c) = &cursor {
            q.push(("cursor", c));
        }
        let page = list(app, token, &q).await;
        let page_ids = ids(&page);
        assert!(page_ids.len() <= limit);
        cursor = page["next_cursor"].as_str().map(str::to_string);
        if cursor.is_some() {
            assert_eq!(page_ids.len(), limit, "only the last page is short");
        }
        seen.extend(page_ids);
        if cursor.is_none() {
            return seen;
        }
    }
    panic!("paging did not end");
}

fn view_of<'a>(page: &'a Value, v: &Visitor) -> &'a Value {
    page["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == v.session_id.as_str())
        .unwrap_or_else(|| panic!("{} not listed", v.session_id))
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

async fn agent_read(app: &TestApp, v: &Visitor, seq: i64) {
    let id = SessionId::from(v.session_id.as_str());
    app.state
        .chat
        .mark_read(&id, Party::Agent, seq)
        .await
        .unwrap();
}

async fn set_status(app: &TestApp, token: &str, v: &Visitor, status: &str) {
    let path = format!("/chat/api/admin/session/{}/status/", v.session_id);
    let resp = app
        .admin(Method::PATCH, &path, token, Some(json!({"status": status})))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
}

async fn assign_raw(
    app: &TestApp,
    token: &str,
    session_id: &str,
    body: Value,
) -> reqwest::Response {
    let path = format!("/chat/api/admin/session/{session_id}/assignee/");
    app.admin(Method::PUT, &path, token, Some(body)).await
}

async fn error_code(resp: reqwest::Response) -> (u16, String) {
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap();
    (
        status,
        body["error"]["code"].as_str().unwrap_or("").to_string(),
    )
}

async fn note_raw(
    app: &TestApp,
    token: &str,
    session_id: &str,
    content: &str,
) -> reqwest::Response {
    let path = format!("/chat/api/admin/session/{session_id}/notes/");
    app.admin(
        Method::POST,
        &path,
        token,
        Some(json!({"content": content})),
    )
    .await
}

/// Waits until a socket's loop runs (its feed is subscribed).
async fn ready(ws: &mut Ws) {
    send_json(ws, json!({"type": "ping"})).await;
    next_of_type(ws, "pong").await;
}

async fn every_filter_and_the_new_fields(app: TestApp) {
    let (token, me) = admin(&app, "alice").await;
    let (_, bob) = agent(&app, "bob").await;

    let quiet = app.start_with(json!({"name": "Quiet"})).await;
    let waiting = app.start_with(json!({"name": "Waiting"})).await;
    app.say(&waiting, "first").await;
    app.say(&waiting, "second").await;
    let answered = app.start_with(json!({"name": "Answered"})).await;
    app.say(&answered, "a question").await;
    reply(&app, &token, &answered, "an answer").await;
    agent_read(&app, &answered, 2).await;
    let again = app.start_with(json!({"name": "Again"})).await;
    app.say(&again, "one").await;
    reply(&app, &token, &again, "two").await;
    agent_read(&app, &again, 2).await;
    app.say(&again, "three").await;
    let closed = app.start_with(json!({"name": "Closed"})).await;
    app.say(&closed, "bye").await;
    set_status(&app, &token, &closed, "closed").await;
    let resp = app
        .client
        .post(app.url("/chat/api/chat/offline/"))
        .json(&json!({"name": "Offline", "email": "off@example.com", "message": "call me"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let body: Value = resp.json().await.unwrap();
    let offline = Visitor {
        customer_id: body["customer_id"].as_str().unwrap().into(),
        token: body["token"].as_str().unwrap().into(),
        session_id: body["session_id"].as_str().unwrap().into(),
    };
    let mine = app.start_with(json!({"name": "Mine"})).await;
    let bobs = app.start_with(json!({"name": "Bob's"})).await;
    for (v, who) in [(&mine, &me), (&bobs, &bob)] {
        let resp = assign_raw(&app, &token, &v.session_id, json!({"agent_id": who})).await;
        assert_eq!(resp.status(), StatusCode::OK);
    }
    let everyone = [
        &quiet, &waiting, &answered, &again, &closed, &offline, &mine, &bobs,
    ];

    // The new fields.
    let page = list(&app, &token, &[]).await;
    assert_eq!(ids(&page).len(), everyone.len());
    let fields = |v: &Visitor| {
        let s = view_of(&page, v);
        (
            s["unread"].as_i64().unwrap(),
            s["waiting"].as_bool().unwrap(),
        )
    };
    assert_eq!(fields(&quiet), (0, false));
    assert_eq!(fields(&waiting), (2, true));
    assert_eq!(fields(&answered), (0, false));
    assert_eq!(fields(&again), (1, true));
    assert_eq!(fields(&closed), (1, true));
    assert_eq!(fields(&offline), (1, true));
    assert_eq!(view_of(&page, &again)["agent_read_seq"], 2);
    assert_eq!(view_of(&page, &bobs)["assignee_id"], bob.as_str());
    assert_eq!(view_of(&page, &bobs)["assignee_name"], "BOB");
    assert_eq!(view_of(&page, &mine)["assignee_name"], "Alice Liddell");
    assert_eq!(view_of(&page, &quiet)["assignee_id"], Value::Null);
    assert_eq!(view_of(&page, &quiet)["assignee_name"], Value::Null);
    // The conversation view has them too.
    let path = format!("/chat/api/admin/session/{}/", waiting.session_id);
    let detail: Value = app
        .admin(Method::GET, &path, &token, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(detail["session"]["unread"], 2);
    assert_eq!(detail["session"]["waiting"], true);

    // Each filter.
    let all = sorted(&everyone);
    assert_eq!(matching(&app, &token, &[("status", "all")]).await, all);
    assert_eq!(matching(&app, &token, &[("assigned", "all")]).await, all);
    assert_eq!(
        matching(&app, &token, &[("status", "closed")]).await,
        sorted(&[&closed])
    );
    let open: Vec<&Visitor> = everyone
        .iter()
        .copied()
        .filter(|v| v.session_id != closed.session_id)
        .collect();
    assert_eq!(
        matching(&app, &token, &[("status", "open")]).await,
        sorted(&open)
    );
    let unread = sorted(&[&waiting, &again, &closed, &offline]);
    assert_eq!(matching(&app, &token, &[("unread", "true")]).await, unread);
    assert_eq!(
        matching(&app, &token, &[("unread", "false")]).await,
        sorted(&[&quiet, &answered, &mine, &bobs])
    );
    assert_eq!(matching(&app, &token, &[("waiting", "true")]).await, unread);
    assert_eq!(
        matching(&app, &token, &[("waiting", "false")]).await,
        sorted(&[&quiet, &answered, &mine, &bobs])
    );
    assert_eq!(
        matching(&app, &token, &[("offline", "true")]).await,
        sorted(&[&offline])
    );
    assert_eq!(
        matching(&app, &token, &[("offline", "false")]).await.len(),
        everyone.len() - 1
    );
    assert_eq!(
        matching(&app, &token, &[("assigned", "me")]).await,
        sorted(&[&mine])
    );
    assert_eq!(
        matching(&app, &token, &[("assigned", bob.as_str())]).await,
        sorted(&[&bobs])
    );
    assert_eq!(
        matching(&app, &token, &[("assigned", "none")]).await.len(),
        everyone.len() - 2
    );
    assert!(matching(&app, &token, &[("assigned", "no-such-agent")])
        .await
        .is_empty());
    // Together: the unanswered open conversations nobody has.
    assert_eq!(
        matching(
            &app,
            &token,
            &[
                ("status", "open"),
                ("waiting", "true"),
                ("assigned", "none")
            ]
        )
        .await,
        sorted(&[&waiting, &again, &offline])
    );
    // An agent reply ends waiting; reading ends unread.
    reply(&app, &token, &waiting, "here").await;
    agent_read(&app, &waiting, 3).await;
    let page = list(&app, &token, &[("waiting", "true")]).await;
    assert!(!ids(&page).contains(&waiting.session_id));
    let page = list(&app, &token, &[]).await;
    assert_eq!(view_of(&page, &waiting)["unread"], 0);
    assert_eq!(view_of(&page, &waiting)["waiting"], false);

    // Refused parameters: 400 and a code.
    for (query, code) in [
        (vec![("status", "archived")], "invalid_query"),
        (vec![("assigned", "x\u{1}y")], "invalid_query"),
        (vec![("unread", "maybe")], "invalid_query"),
        (vec![("limit", "0")], "invalid_query"),
        (vec![("limit", "101")], "invalid_query"),
        (vec![("limit", "1000")], "invalid_query"),
        (vec![("limit", "-1")], "invalid_query"),
        (vec![("cursor", "nonsense")], "invalid_cursor"),
    ] {
        let resp = list_raw(&app, &token, &query).await;
        assert_eq!(error_code(resp).await, (400, code.to_string()), "{query:?}");
    }
    let resp = list_raw(&app, &token, &[("limit", "101")]).await;
    let body: Value = resp.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("100"));
    assert_eq!(
        list(&app, &token, &[("limit", "100")]).await["next_cursor"],
        Value::Null
    );
}

async fn full_text_search(app: TestApp) {
    let (token, _) = admin(&app, "alice").await;
    let ann = app
        .start_with(json!({"name": "Ann Smith", "email": "ann@example.com"}))
        .await;
    app.say(&ann, "Where is my order 1234?").await;
    let bob = app.start_with(json!({"name": "Bob"})).await;
    app.say(&bob, "I want a refund").await;
    app.say(&bob, "bread AND butter").await;
    let zoe = app
        .start_with(json!({"name": "Zoë", "email": "zoe@shop.test"}))
        .await;
    app.say(&zoe, "Grüße aus Köln, 東京").await;

    let search = |q: &'static str| {
        let app = &app;
        let token = &token;
        async move { matching(app, token, &[("q", q)]).await }
    };
    // Name, e-mail (whole or in part), message words, prefixes.
    assert_eq!(search("ann").await, sorted(&[&ann]));
    assert_eq!(search("SMITH").await, sorted(&[&ann]));
    assert_eq!(search("ann@example.com").await, sorted(&[&ann]));
    assert_eq!(search("example").await, sorted(&[&ann]));
    assert_eq!(search("shop.test").await, sorted(&[&zoe]));
    assert_eq!(search("order").await, sorted(&[&ann]));
    assert_eq!(search("ord").await, sorted(&[&ann]));
    assert_eq!(search("1234").await, sorted(&[&ann]));
    assert_eq!(search("refund").await, sorted(&[&bob]));
    // Every word, in one message or one field, in any order.
    assert_eq!(search("want refund").await, sorted(&[&bob]));
    assert!(search("order refund").await.is_empty());
    assert!(search("nothing-like-this").await.is_empty());
    // Unicode.
    assert_eq!(search("köln").await, sorted(&[&zoe]));
    assert_eq!(search("Grüße").await, sorted(&[&zoe]));
    assert_eq!(search("東京").await, sorted(&[&zoe]));
    assert_eq!(search("Zoë").await, sorted(&[&zoe]));
    assert_eq!(search("zoe").await, sorted(&[&zoe]));
    assert_eq!(search("grü").await, sorted(&[&zoe]));

    // A short prefix of many words, and words of one conversation.
    let many = app.start_with(json!({"name": "Pat"})).await;
    let words: Vec<String> = (0..20).map(|i| format!("pa{i:02}x")).collect();
    app.say(&many, &words.join(" ")).await;
    let pancake = app.start_with(json!({"name": "Cook"})).await;
    app.say(&pancake, "PANCAKES please").await;
    assert_eq!(search("pa").await, sorted(&[&many, &pancake]));
    assert_eq!(search("pa1").await, sorted(&[&many]));
    assert_eq!(search("pa19X").await, sorted(&[&many]));
    assert_eq!(search("Pancake").await, sorted(&[&pancake]));
    assert_eq!(search("pa please").await, sorted(&[&pancake]));
    assert_eq!(search("pat").await, sorted(&[&many]));
    assert!(search("pa cook").await.is_empty());
    let everyone = sorted(&[&ann, &bob, &zoe, &many, &pancake]);

    // Query syntax of either database is plain text here: never a 500.
    for q in [
        "\"",
        "*",
        "(",
        ")",
        "AND",
        "OR",
        "NOT",
        "NEAR(",
        "a\"b",
        "\"unterminated",
        "col:order",
        "order*",
        "-refund",
        "^x",
        "'",
        "\\",
        "%",
        "_",
        "{}",
        "ann AND",
        "😀",
        "&",
        "|",
        "!",
        ":*",
        "'ann'",
        "ann & | !",
        "(((",
        "\"\"\"",
        "ann\u{0}",
    ] {
        let resp = list_raw(&app, &token, &[("q", q)]).await;
        assert_eq!(resp.status(), StatusCode::OK, "q={q:?}");
    }
    // …and means what its words mean.
    assert_eq!(search("AND").await, sorted(&[&bob]));
    assert_eq!(search("order*").await, sorted(&[&ann]));
    assert_eq!(search("-refund").await, sorted(&[&bob]));
    assert_eq!(search("'ann'").await, sorted(&[&ann]));
    assert!(search("col:order").await.is_empty());
    // No word at all: not a search.
    assert_eq!(search("\"").await, everyone);
    assert_eq!(search("(").await, everyone);
    assert_eq!(search("😀").await, everyone);
    let resp = list_raw(&app, &token, &[("q", &"x".repeat(201))]).await;
    assert_eq!(error_code(resp).await, (400, "invalid_query".to_string()));

    // With other filters.
    set_status(&app, &token, &bob, "closed").await;
    assert!(
        matching(&app, &token, &[("q", "refund"), ("status", "open")])
            .await
            .is_empty()
    );
    assert_eq!(
        matching(&app, &token, &[("q", "refund"), ("status", "closed")]).await,
        sorted(&[&bob])
    );

    // A changed name is found, the old one no longer (the index follows).
    let resp = app
        .start_chat(
            json!({"customer_id": ann.customer_id, "token": ann.token, "name": "Annabel Jones"}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(search("jones").await, sorted(&[&ann]));
    assert!(search("smith").await.is_empty());

    // Search results page by keyset like the rest, newest first.
    let mut invoices = Vec::new();
    for i in 0..5 {
        let v = app.start_with(json!({"name": format!("Payer {i}")})).await;
        app.say(&v, &format!("invoice number {i}")).await;
        invoices.push(v.session_id);
    }
    invoices.reverse();
    assert_eq!(
        all_pages(&app, &token, &[("q", "invoice")], 2).await,
        invoices
    );
}

async fn keyset_paging_at_its_edges(app: TestApp) {
    let (token, _) = admin(&app, "alice").await;
    let mut visitors = Vec::new();
    for i in 0..7 {
        let v = app.start_with(json!({"name": format!("V{i}")})).await;
        app.say(&v, &format!("message {i}")).await;
        visitors.push(v);
    }
    // Every row at the same instant: the order is the id's, and pages cut
    // through the tie without losing or repeating a row.
    let instant = chrono::DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap();
    let changed = app
        .sql(
            "UPDATE chat_sessions SET updated_at = ?",
            vec![instant.into()],
        )
        .await;
    assert_eq!(changed, 7);
    let mut expected: Vec<String> = visitors.iter().map(|v| v.session_id.clone()).collect();
    expected.sort();
    expected.reverse();
    for limit in [1, 2, 3, 7, 100] {
        assert_eq!(
            all_pages(&app, &token, &[], limit).await,
            expected,
            "limit {limit}"
        );
    }
    // A page that ends exactly at the last row has no next cursor.
    let page = list(&app, &token, &[("limit", "7")]).await;
    assert_eq!(page["next_cursor"], Value::Null);
    let page = list(&app, &token, &[("limit", "6")]).await;
    assert!(page["next_cursor"].is_string());

    // Rows move while a client pages through `status=open`.
    let first = list(&app, &token, &[("status", "open"), ("limit", "3")]).await;
    let seen = ids(&first);
    assert_eq!(seen, expected[..3]);
    let cursor = first["next_cursor"].as_str().unwrap().to_string();
    let by_id = |id: &str| visitors.iter().find(|v| v.session_id == id).unwrap();
    // One already seen is closed (it moves to the top, out of the filter).
    set_status(&app, &token, by_id(&expected[0]), "closed").await;
    // One not seen yet is closed: the next pages no longer hold it.
    set_status(&app, &token, by_id(&expected[4]), "closed").await;
    // One not seen yet gets a message: it moves above the cursor (the live
    // socket brings it; paging does not repeat it).
    app.say(by_id(&expected[5]), "moving up").await;
    // The cursor's own row is deleted: the cursor still holds its place.
    let gone = app
        .sql(
            "DELETE FROM chat_sessions WHERE id = ?",
            vec![expected[2].clone().into()],
        )
        .await;
    assert_eq!(gone, 1);
    let mut rest = Vec::new();
    let mut next = Some(cursor);
    while let Some(c) = next {
        let page = list(
            &app,
            &token,
            &[("status", "open"), ("limit", "3"), ("cursor", &c)],
        )
        .await;
        rest.extend(ids(&page));
        next = page["next_cursor"].as_str().map(str::to_string);
    }
    assert_eq!(rest, vec![expected[3].clone(), expected[6].clone()]);
    // A fresh first page shows the moved row on top, never the deleted one.
    let fresh = ids(&list(&app, &token, &[("status", "open")]).await);
    assert_eq!(fresh[0], expected[5]);
    assert!(!fresh.contains(&expected[2]));
    // The deletion reached the search index (SQLite: the triggers kept the
    // FTS5 tables consistent).
    assert!(matching(&app, &token, &[("q", "message")]).await.len() == 6);
    if app.db.backend() == sea_orm::DatabaseBackend::Sqlite {
        for table in ["messages_fts", "chat_sessions_fts"] {
            app.sql(
                &format!("INSERT INTO {table} ({table}, rank) VALUES ('integrity-check', 1)"),
                vec![],
            )
            .await;
        }
    }
}

async fn assignment(app: TestApp) {
    let (admin_token, ada) = admin(&app, "ada").await;
    let (bob_token, bob) = agent(&app, "bob").await;
    let (carol_token, carol) = agent(&app, "carol").await;
    let v = app.start().await;
    let sid = v.session_id.as_str();
    let mut agents_ws = app.agent_ws(&admin_token).await;
    let mut visitor = app.visitor_ws_authed(&v, Some(0)).await;
    ready(&mut agents_ws).await;
    ready(&mut visitor).await;

    // An admin assigns anyone; agents hear of it; the visitor does not.
    let resp = assign_raw(&app, &admin_token, sid, json!({"agent_id": bob})).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let view: Value = resp.json().await.unwrap();
    assert_eq!(view["id"], sid);
    assert_eq!(view["assignee_id"], bob.as_str());
    assert_eq!(view["assignee_name"], "BOB");
    let event = next_of_type(&mut agents_ws, "session").await;
    assert_eq!(event["session"]["assignee_id"], bob.as_str());
    assert_eq!(event["session"]["assignee_name"], "BOB");
    assert_quiet(&mut visitor).await;
    let path = format!("/chat/api/admin/session/{sid}/");
    let detail: Value = app
        .admin(Method::GET, &path, &carol_token, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(detail["session"]["assignee_id"], bob.as_str());
    // The same again changes nothing and announces nothing.
    let resp = assign_raw(&app, &admin_token, sid, json!({"agent_id": bob})).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_quiet(&mut agents_ws).await;

    // Agents: not someone else's, neither taking nor letting go.
    for body in [json!({"agent_id": carol}), json!({"agent_id": null})] {
        let resp = assign_raw(&app, &carol_token, sid, body).await;
        assert_eq!(error_code(resp).await, (403, "forbidden".to_string()));
    }
    // Their own: let go, take.
    let resp = assign_raw(&app, &bob_token, sid, json!({"agent_id": null})).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let view: Value = resp.json().await.unwrap();
    assert_eq!(view["assignee_id"], Value::Null);
    assert_eq!(view["assignee_name"], Value::Null);
    let event = next_of_type(&mut agents_ws, "session").await;
    assert_eq!(event["session"]["assignee_id"], Value::Null);
    // Nobody has it: an agent may take it, not give it to another.
    let resp = assign_raw(&app, &carol_token, sid, json!({"agent_id": bob})).await;
    assert_eq!(error_code(resp).await, (403, "forbidden".to_string()));
    let resp = assign_raw(&app, &carol_token, sid, json!({"agent_id": carol})).await;
    assert_eq!(resp.status(), StatusCode::OK);
    // An admin may reassign and unassign anyone's.
    let resp = assign_raw(&app, &admin_token, sid, json!({"agent_id": ada})).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = assign_raw(&app, &admin_token, sid, json!({"agent_id": null})).await;
    assert_eq!(resp.status(), StatusCode::OK);

    // Unknown or inactive agents, unknown conversations, bad bodies.
    let resp = assign_raw(
        &app,
        &admin_token,
        sid,
        json!({"agent_id": "no-such-agent"}),
    )
    .await;
    assert_eq!(error_code(resp).await, (404, "unknown_agent".to_string()));
    app.state.agents.set_active("carol", false).await.unwrap();
    let resp = assign_raw(&app, &admin_token, sid, json!({"agent_id": carol})).await;
    assert_eq!(error_code(resp).await, (404, "unknown_agent".to_string()));
    let resp = assign_raw(
        &app,
        &admin_token,
        "no-such-session",
        json!({"agent_id": bob}),
    )
    .await;
    assert_eq!(error_code(resp).await, (404, "unknown_session".to_string()));
    let resp = assign_raw(
        &app,
        &admin_token,
        "no-such-session",
        json!({"agent_id": null}),
    )
    .await;
    assert_eq!(error_code(resp).await, (404, "unknown_session".to_string()));
    for body in [json!({}), json!({"agent_id": 5}), json!({"agent": bob})] {
        let resp = assign_raw(&app, &admin_token, sid, body.clone()).await;
        assert_eq!(
            error_code(resp).await,
            (422, "invalid_body".to_string()),
            "{body}"
        );
    }
    let resp = app
        .client
        .put(app.url(&format!("/chat/api/admin/session/{sid}/assignee/")))
        .json(&json!({"agent_id": bob}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    // Assigning does not move the conversation in the list.
    let other = app.start().await;
    let before = ids(&list(&app, &admin_token, &[]).await);
    assert_eq!(before[0], other.session_id);
    let resp = assign_raw(&app, &admin_token, sid, json!({"agent_id": bob})).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(ids(&list(&app, &admin_token, &[]).await), before);

    // The dashboard's server function: the same rules, the same answer.
    let cookie = app.sign_in("bob").await;
    let call = |args: Vec<(&'static str, String)>| {
        let app = &app;
        let cookie = cookie.clone();
        async move {
            app.server_fn("/api/assign_session")
                .header("cookie", cookie)
                .form(&args)
                .send()
                .await
                .unwrap()
        }
    };
    let resp = call(vec![
        ("session_id", other.session_id.clone()),
        ("agent_id", bob.clone()),
    ])
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let view: Value = resp.json().await.unwrap();
    assert_eq!(view["assignee_id"], bob.as_str());
    let resp = call(vec![("session_id", other.session_id.clone())]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let view: Value = resp.json().await.unwrap();
    assert_eq!(view["assignee_id"], Value::Null);
    let resp = call(vec![
        ("session_id", other.session_id.clone()),
        ("agent_id", ada.clone()),
    ])
    .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "forbidden");
}

async fn notes_are_for_agents_only(app: TestApp) {
    let (token, _) = admin(&app, "alice").await;
    let v = app.start().await;
    let sid = v.session_id.as_str();
    let mut agents_ws = app.agent_ws(&token).await;
    let mut visitor = app.visitor_ws_authed(&v, Some(0)).await;
    ready(&mut agents_ws).await;
    ready(&mut visitor).await;
    app.say(&v, "hello").await;
    assert_eq!(
        next_of_type(&mut visitor, "message").await["message"]["seq"],
        1
    );

    let resp = note_raw(&app, &token, sid, "VIP customer, secret note").await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let note: Value = resp.json().await.unwrap();
    assert_eq!(note["session_id"], sid);
    assert_eq!(note["content"], "VIP customer, secret note");
    assert_eq!(note["author_name"], "Alice Liddell");
    assert!(note["author_id"].is_string());
    assert!(note["id"].is_string());
    assert!(note["created_at"].as_str().unwrap().ends_with('Z'));
    let event = next_of_type(&mut agents_ws, "note").await;
    assert_eq!(event["note"], note);
    // The visitor's socket hears nothing of it…
    assert_quiet(&mut visitor).await;
    // …and the next message takes the next seq (no gap).
    app.say(&v, "still there?").await;
    let got = next_of_type(&mut visitor, "message").await;
    assert_eq!(got["message"]["seq"], 2);
    // Not in the history, the start answer, nor a catch-up by seq.
    let history = app
        .history(&v.customer_id, Some(&v.token), "?after=0")
        .await;
    let text = history.text().await.unwrap();
    assert!(!text.contains("secret"), "{text}");
    let seqs: Vec<i64> = app
        .stored_messages(&v)
        .await
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, vec![1, 2]);
    let resumed = app
        .start_chat(json!({"customer_id": v.customer_id, "token": v.token}))
        .await
        .text()
        .await
        .unwrap();
    assert!(!resumed.contains("secret"), "{resumed}");
    drop(visitor);
    let mut again = app.visitor_ws_authed(&v, Some(0)).await;
    assert_eq!(
        next_of_type(&mut again, "message").await["message"]["seq"],
        1
    );
    assert_eq!(
        next_of_type(&mut again, "message").await["message"]["seq"],
        2
    );
    assert_quiet(&mut again).await;

    // Agents see notes in the conversation, newest first.
    let resp = note_raw(&app, &token, sid, "second note").await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let path = format!("/chat/api/admin/session/{sid}/");
    let detail: Value = app
        .admin(Method::GET, &path, &token, None)
        .await
        .json()
        .await
        .unwrap();
    let notes = detail["notes"].as_array().unwrap();
    assert_eq!(notes.len(), 2);
    assert_eq!(notes[0]["content"], "second note");
    assert_eq!(notes[1], note);
    assert_eq!(detail["notes_next_cursor"], Value::Null);
    assert_eq!(detail["messages"].as_array().unwrap().len(), 2);

    // The rules of a message's text.
    for (content, code) in [
        ("   ".to_string(), "empty_content"),
        ("x".repeat(4001), "content_too_long"),
        ("a\u{1}b".to_string(), "invalid_content"),
    ] {
        let resp = note_raw(&app, &token, sid, &content).await;
        assert_eq!(error_code(resp).await, (422, code.to_string()));
    }
    let resp = note_raw(&app, &token, sid, &"x".repeat(4000)).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let resp = note_raw(&app, &token, "no-such-session", "hello").await;
    assert_eq!(error_code(resp).await, (404, "unknown_session".to_string()));
    let resp = app
        .client
        .post(app.url(&format!("/chat/api/admin/session/{sid}/notes/")))
        .json(&json!({"content": "anonymous"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    // Notes page by keyset, newest first.
    let notes_path = format!("/chat/api/admin/session/{sid}/notes/");
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("{notes_path}?limit=2");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let resp = app.admin(Method::GET, &path, &token, None).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let page: Value = resp.json().await.unwrap();
        for n in page["notes"].as_array().unwrap() {
            seen.push(
                n["content"]
                    .as_str()
                    .unwrap()
                    .chars()
                    .take(20)
                    .collect::<String>(),
            );
        }
        cursor = page["next_cursor"].as_str().map(str::to_string);
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(
        seen,
        vec![
            "x".repeat(20),
            "second note".into(),
            "VIP customer, secret".into()
        ]
    );
    for (query, code) in [
        ("?limit=0", "invalid_query"),
        ("?limit=201", "invalid_query"),
        ("?cursor=nonsense", "invalid_cursor"),
    ] {
        let resp = app
            .admin(Method::GET, &format!("{notes_path}{query}"), &token, None)
            .await;
        assert_eq!(error_code(resp).await, (400, code.to_string()), "{query}");
    }
    let resp = app
        .admin(
            Method::GET,
            "/chat/api/admin/session/nope/notes/",
            &token,
            None,
        )
        .await;
    assert_eq!(error_code(resp).await, (404, "unknown_session".to_string()));

    // The dashboard's server functions.
    let cookie = app.sign_in("alice").await;
    let resp = app
        .server_fn("/api/add_note")
        .header("cookie", &cookie)
        .form(&[("session_id", sid), ("content", "from the dashboard")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let made: Value = resp.json().await.unwrap();
    assert_eq!(made["content"], "from the dashboard");
    // (After the notes made over HTTP since.)
    while next_of_type(&mut agents_ws, "note").await["note"]["id"] != made["id"] {}
    let resp = app
        .server_fn("/api/add_note")
        .header("cookie", &cookie)
        .form(&[("session_id", sid), ("content", " ")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 422);
    assert_quiet(&mut again).await;
}

/// A search paged by cursor returns every match once, in inbox order,
/// whether a page comes from probing conversations one by one (PostgreSQL,
/// when the next ones hold a full page), from collecting every match, or
/// from both across pages; filters apply in either way.
async fn search_pages_in_inbox_order(app: TestApp) {
    let (token, _) = admin(&app, "alice").await;
    let mut matching = Vec::new();
    for i in 0..9 {
        let v = app
            .start_with(json!({"name": format!("Visitor {i}")}))
            .await;
        // Two of three mention a refund, one in an earlier message.
        match i % 3 {
            0 => app.say(&v, "Where is my parcel?").await,
            1 => app.say(&v, "I would like a refund").await,
            _ => {
                app.say(&v, "refund please").await;
                app.say(&v, "thanks").await
            }
        };
        if i % 3 != 0 {
            matching.push(v.session_id.clone());
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    // Newest activity first.
    matching.reverse();
    for limit in ["1", "2", "4", "50"] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut query = vec![("q", "refund"), ("limit", limit)];
            if let Some(c) = &cursor {
                query.push(("cursor", c.as_str()));
            }
            let page = list(&app, &token, &query).await;
            seen.extend(ids(&page));
            cursor = page["next_cursor"].as_str().map(str::to_string);
            if cursor.is_none() {
                break;
            }
        }
        assert_eq!(seen, matching, "limit {limit}");
    }
    // With a filter: the unread ones (all) that mention it, closed ones out.
    let closed = &matching[0];
    let path = format!("/chat/api/admin/session/{closed}/status/");
    let resp = app
        .admin(
            Method::PATCH,
            &path,
            &token,
            Some(json!({"status": "closed"})),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let page = list(
        &app,
        &token,
        &[("q", "refund"), ("status", "open"), ("limit", "2")],
    )
    .await;
    assert!(!ids(&page).contains(closed));
    assert_eq!(ids(&page).len(), 2);
}

/// A note resent with its client_id (a lost answer, a retry) is stored
/// and announced once, and the resend answers the stored note; through
/// the admin API and the server function.
async fn a_resent_note_is_stored_once(app: TestApp) {
    let (token, _) = admin(&app, "alice").await;
    let v = app.start().await;
    let sid = v.session_id.as_str();
    let mut agents_ws = app.agent_ws(&token).await;
    let path = format!("/chat/api/admin/session/{sid}/notes/");
    let body = json!({"content": "called back, no answer", "client_id": "note-1"});
    let first = app
        .admin(Method::POST, &path, &token, Some(body.clone()))
        .await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["client_id"], "note-1");
    let again = app.admin(Method::POST, &path, &token, Some(body)).await;
    assert_eq!(again.status(), StatusCode::CREATED);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again, first);
    // The same client_id on another conversation is another note.
    let other = app.start().await;
    let other_path = format!("/chat/api/admin/session/{}/notes/", other.session_id);
    let body = json!({"content": "elsewhere", "client_id": "note-1"});
    let resp = app
        .admin(Method::POST, &other_path, &token, Some(body))
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    // Through the dashboard, a resend too.
    let cookie = app.sign_in("alice").await;
    let form = [
        ("session_id", sid),
        ("content", "from the dashboard"),
        ("client_id", "note-2"),
    ];
    let mut made = Vec::new();
    for _ in 0..2 {
        let resp = app
            .server_fn("/api/add_note")
            .header("cookie", &cookie)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        made.push(resp.json::<Value>().await.unwrap());
    }
    assert_eq!(made[0], made[1]);
    let bad = json!({"content": "x", "client_id": "has space"});
    let resp = app.admin(Method::POST, &path, &token, Some(bad)).await;
    assert_eq!(
        error_code(resp).await,
        (422, "invalid_client_id".to_string())
    );

    // Stored once each; one `note` frame each.
    let page: Value = app
        .admin(Method::GET, &path, &token, None)
        .await
        .json()
        .await
        .unwrap();
    let contents: Vec<&str> = page["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["content"].as_str().unwrap())
        .collect();
    assert_eq!(
        contents,
        vec!["from the dashboard", "called back, no answer"]
    );
    for want in ["called back, no answer", "elsewhere", "from the dashboard"] {
        assert_eq!(
            next_of_type(&mut agents_ws, "note").await["note"]["content"],
            want
        );
    }
    assert_quiet(&mut agents_ws).await;
}

/// Enough notes that a conversation view holds only the newest 200.
async fn a_conversation_view_holds_the_newest_200_notes(app: TestApp) {
    let (token, _) = admin(&app, "alice").await;
    let v = app.start().await;
    let sid = v.session_id.as_str();
    for i in 0..205 {
        let resp = note_raw(&app, &token, sid, &format!("note {i}")).await;
        assert_eq!(resp.status(), StatusCode::CREATED);
    }
    let path = format!("/chat/api/admin/session/{sid}/");
    let detail: Value = app
        .admin(Method::GET, &path, &token, None)
        .await
        .json()
        .await
        .unwrap();
    let notes = detail["notes"].as_array().unwrap();
    assert_eq!(notes.len(), 200);
    assert_eq!(notes[0]["content"], "note 204");
    assert_eq!(notes[199]["content"], "note 5");
    let cursor = detail["notes_next_cursor"].as_str().unwrap();
    let cookie = app.sign_in("alice").await;
    let resp = app
        .server_fn("/api/earlier_notes")
        .header("cookie", &cookie)
        .form(&[("session_id", sid), ("cursor", cursor)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let page: Value = resp.json().await.unwrap();
    let older: Vec<&str> = page["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["content"].as_str().unwrap())
        .collect();
    assert_eq!(
        older,
        vec!["note 4", "note 3", "note 2", "note 1", "note 0"]
    );
    assert_eq!(page["next_cursor"], Value::Null);
}

/// The dashboard's `list_sessions` takes the admin API's filters, through
/// the same service method.
async fn the_dashboard_list_takes_the_same_filters(app: TestApp) {
    let (token, _) = admin(&app, "alice").await;
    let cookie = app.sign_in("alice").await;
    let refund = app.start_with(json!({"name": "Refund"})).await;
    app.say(&refund, "I want a refund").await;
    let other = app.start_with(json!({"name": "Other"})).await;
    app.say(&other, "hello").await;
    reply(&app, &token, &other, "hi").await;
    let call = |args: Vec<(&'static str, &'static str)>| {
        let app = &app;
        let cookie = cookie.clone();
        async move {
            let resp = app
                .server_fn("/api/list_sessions")
                .header("cookie", cookie)
                .form(&args)
                .send()
                .await
                .unwrap();
            let status = resp.status();
            (status, resp.json::<Value>().await.unwrap())
        }
    };
    let (status, page) = call(vec![]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        ids(&page),
        vec![other.session_id.clone(), refund.session_id.clone()]
    );
    let (_, page) = call(vec![("filter[q]", "refund")]).await;
    assert_eq!(ids(&page), vec![refund.session_id.clone()]);
    let (_, page) = call(vec![
        ("filter[waiting]", "true"),
        ("filter[status]", "open"),
    ])
    .await;
    assert_eq!(ids(&page), vec![refund.session_id.clone()]);
    assert_eq!(page["sessions"][0]["unread"], 1);
    let (_, page) = call(vec![("filter[limit]", "1")]).await;
    assert_eq!(ids(&page), vec![other.session_id.clone()]);
    let cursor = page["next_cursor"].as_str().unwrap().to_string();
    let resp = app
        .server_fn("/api/list_sessions")
        .header("cookie", &cookie)
        .form(&[("filter[limit]", "1"), ("filter[cursor]", cursor.as_str())])
        .send()
        .await
        .unwrap();
    let page: Value = resp.json().await.unwrap();
    assert_eq!(ids(&page), vec![refund.session_id.clone()]);
    assert_eq!(page["next_cursor"], Value::Null);
    let (status, body) = call(vec![("filter[limit]", "101")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "invalid_query");
    let (status, body) = call(vec![("filter[assigned]", "me"), ("filter[q]", "\"*(")]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(ids(&body).is_empty());
}

/// A backlog longer than the unread window counts as the window (each
/// count reads a bounded range of the index); below it, exactly.
async fn unread_counts_are_bounded(app: TestApp) {
    let (token, _) = admin(&app, "alice").await;
    let v = app.start().await;
    let at = chrono::DateTime::from_timestamp_micros(1_765_000_000_000_000).unwrap();
    let total: i64 = 1002;
    let mut sql = String::from(
        "INSERT INTO messages (id, session_id, seq, sender, content, client_id, created_at) VALUES ",
    );
    let mut values: Vec<sea_orm::Value> = Vec::new();
    for seq in 1..=total {
        if seq > 1 {
            sql.push_str(", ");
        }
        sql.push_str("(?, ?, ?, 'customer', 'backlog', ?, ?)");
        values.push(uuid::Uuid::new_v4().to_string().into());
        values.push(v.session_id.clone().into());
        values.push(seq.into());
        values.push(format!("b{seq}").into());
        values.push(at.into());
    }
    assert_eq!(app.sql(&sql, values).await, total as u64);
    app.sql(
        "UPDATE chat_sessions SET last_seq = ?, last_customer_seq = ? WHERE id = ?",
        vec![total.into(), total.into(), v.session_id.clone().into()],
    )
    .await;
    let unread = |page: Value| view_of(&page, &v)["unread"].as_i64().unwrap();
    assert_eq!(unread(list(&app, &token, &[]).await), 1000);
    agent_read(&app, &v, 2).await;
    assert_eq!(unread(list(&app, &token, &[]).await), 1000);
    agent_read(&app, &v, 5).await;
    assert_eq!(unread(list(&app, &token, &[]).await), 997);
    agent_read(&app, &v, total).await;
    assert_eq!(unread(list(&app, &token, &[]).await), 0);
}

on_every_store!(
    every_filter_and_the_new_fields,
    unread_counts_are_bounded,
    full_text_search,
    keyset_paging_at_its_edges,
    assignment,
    notes_are_for_agents_only,
    a_conversation_view_holds_the_newest_200_notes,
    a_resent_note_is_stored_once,
    search_pages_in_inbox_order,
    the_dashboard_list_takes_the_same_filters,
);
