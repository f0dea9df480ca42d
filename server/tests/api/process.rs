//! The real binary, as a child process: killed with SIGKILL under load it
//! loses nothing it acknowledged, and stores nothing twice; stopped with
//! SIGTERM it closes sockets with 1012 and exits within its grace period.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::close_of;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start(db: &str, port: u16) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_defmis-chat"))
        .env("DATABASE_URL", db)
        .env("SECRET_KEY", crate::helpers::SECRET)
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env("LIMITS", "off")
        .env("SHUTDOWN_GRACE_SECONDS", "3")
        .env("RUST_LOG", "warn")
        .env_remove("REDIS_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the server binary");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = client.get(format!("{base}/healthz")).send().await {
            if r.status() == 200 {
                break;
            }
        }
        assert!(Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Server { child, base }
}

struct Conversation {
    customer_id: String,
    token: String,
}

async fn start_conversation(client: &reqwest::Client, base: &str) -> Conversation {
    let v: Value = client
        .post(format!("{base}/chat/api/chat/start/"))
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    Conversation {
        customer_id: v["customer_id"].as_str().unwrap().into(),
        token: v["token"].as_str().unwrap().into(),
    }
}

async fn post(
    client: &reqwest::Client,
    base: &str,
    c: &Conversation,
    client_id: &str,
) -> Option<u16> {
    client
        .post(format!("{base}/chat/api/chat/message/"))
        .bearer_auth(&c.token)
        .json(&json!({"customer_id": c.customer_id, "content": client_id, "client_id": client_id}))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .ok()
        .map(|r| r.status().as_u16())
}

async fn stored(client: &reqwest::Client, base: &str, c: &Conversation) -> Vec<Value> {
    let v: Value = client
        .get(format!(
            "{base}/chat/api/chat/{}/history/?limit=500",
            c.customer_id
        ))
        .bearer_auth(&c.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["messages"].as_array().unwrap().clone()
}

#[tokio::test]
async fn sigkill_under_load_loses_nothing_acknowledged() {
    let file = std::env::temp_dir().join(format!("defmis-kill-{}.db", uuid::Uuid::new_v4()));
    let db = format!("sqlite://{}?mode=rwc", file.display());
    let port = free_port();
    let mut server = start(&db, port).await;
    let client = reqwest::Client::new();
    let mut conversations = Vec::new();
    for _ in 0..20 {
        conversations.push(Arc::new(start_conversation(&client, &server.base).await));
    }
    // 20 senders post as fast as they are answered; the server is killed
    // while they do.
    let acked: Arc<Mutex<HashMap<usize, Vec<String>>>> = Arc::default();
    let sent: Arc<Mutex<HashMap<usize, Vec<String>>>> = Arc::default();
    let mut senders = Vec::new();
    for (i, c) in conversations.iter().enumerate() {
        let (c, acked, sent, client, base) = (
            c.clone(),
            acked.clone(),
            sent.clone(),
            client.clone(),
            server.base.clone(),
        );
        senders.push(tokio::spawn(async move {
            for n in 0..10_000 {
                let id = format!("k{i}-{n}");
                sent.lock().unwrap().entry(i).or_default().push(id.clone());
                match post(&client, &base, &c, &id).await {
                    Some(201) => acked.lock().unwrap().entry(i).or_default().push(id),
                    _ => return,
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    for s in senders {
        s.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    let total: usize = acked.values().map(Vec::len).sum();
    assert!(total > 20, "too few messages before the kill: {total}");

    let server = start(&db, port).await;
    for (i, c) in conversations.iter().enumerate() {
        let messages = stored(&client, &server.base, c).await;
        let ids: Vec<String> = messages
            .iter()
            .map(|m| m["client_id"].as_str().unwrap().to_string())
            .collect();
        for id in acked.get(&i).into_iter().flatten() {
            assert_eq!(
                ids.iter().filter(|s| *s == id).count(),
                1,
                "acknowledged {id} stored once"
            );
        }
        let seqs: Vec<i64> = messages
            .iter()
            .map(|m| m["seq"].as_i64().unwrap())
            .collect();
        assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>(), "gapless");
        // Resending everything (what the widget's outbox does) stores
        // nothing twice.
        let sent_here = sent.lock().unwrap().get(&i).cloned().unwrap_or_default();
        for id in &sent_here {
            assert_eq!(post(&client, &server.base, c, id).await, Some(201));
        }
        let again = stored(&client, &server.base, c).await;
        let sent_here = sent_here.len();
        assert_eq!(
            again.len(),
            sent_here,
            "each sent message stored exactly once"
        );
    }
    eprintln!("acknowledged before SIGKILL: {total}, all stored once after restart");
    drop(server);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
    }
}

#[tokio::test]
async fn sigterm_closes_sockets_with_1012_and_exits_in_time() {
    let file = std::env::temp_dir().join(format!("defmis-term-{}.db", uuid::Uuid::new_v4()));
    let db = format!("sqlite://{}?mode=rwc", file.display());
    let port = free_port();
    let mut server = start(&db, port).await;
    let client = reqwest::Client::new();
    let c = start_conversation(&client, &server.base).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!(
        "ws://127.0.0.1:{port}/ws/chat/{}/",
        c.customer_id
    ))
    .await
    .unwrap();
    crate::helpers::send_json(&mut ws, json!({"type": "auth", "token": c.token})).await;
    crate::helpers::send_json(
        &mut ws,
        json!({"type": "message", "content": "last words", "client_id": "t-1"}),
    )
    .await;
    crate::helpers::next_of_type(&mut ws, "message").await;
    let stopping = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(close_of(&mut ws, Duration::from_secs(5)).await.0, 1012);
    let exited = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            stopping.elapsed() < Duration::from_secs(8),
            "not stopped within the grace period (3 s) and a margin"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(exited.success(), "{exited:?}");
    eprintln!("SIGTERM to exit: {:?}", stopping.elapsed());
    let server = start(&db, port).await;
    assert_eq!(stored(&client, &server.base, &c).await.len(), 1);
    drop(server);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
    }
}
