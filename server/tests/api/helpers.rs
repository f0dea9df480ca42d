//! `spawn_app()` and one helper per endpoint: every test talks to a real
//! server on port 0, over real TCP and WebSockets, with its own database.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{json, Value};
use server::config::Config;
use server::startup::Application;
use server::state::AppState;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub const SECRET: &str = "test-secret-key-that-is-long-enough-0123456789";
pub const PASSWORD: &str = "correct horse battery";

/// Which database (and bus) a test runs on.
#[derive(Clone, Debug)]
pub enum Store {
    /// A fresh SQLite file; in-process bus.
    Sqlite,
    /// This SQLite file, kept when the server stops (a restart's test
    /// starts the next server on it and removes it).
    SqliteAt(PathBuf),
    /// A fresh schema in `TEST_DATABASE_URL`; Redis bus when `TEST_REDIS_URL` is set.
    Postgres {
        url: String,
        schema: String,
        redis: Option<(String, String)>,
    },
}

pub struct TestApp {
    pub address: String,
    pub host: String,
    pub client: reqwest::Client,
    pub state: AppState,
    /// Where `/metrics` is served, when the test set `METRICS_ADDR`.
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// The server's database, for tests that arrange rows no endpoint
    /// makes (equal timestamps, deleted conversations).
    pub db: server::storage::Db,
    /// `ATTACHMENT_STORAGE`: a directory of this test's own.
    pub attachment_dir: PathBuf,
    sqlite_file: Option<PathBuf>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = std::fs::remove_dir_all(&self.attachment_dir);
        if let Some(file) = &self.sqlite_file {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
            }
        }
    }
}

fn unique(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

/// A server on SQLite with the in-process bus.
pub async fn spawn_app() -> TestApp {
    spawn_on(Store::Sqlite, &[]).await
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|u| !u.is_empty())
}

/// The PostgreSQL (+ Redis, when `TEST_REDIS_URL` is set) store for a new
/// test. Tests that call this are `#[ignore]`d, so a plain `cargo test`
/// reports them as skipped; `scripts/test.sh` runs them with
/// `--include-ignored` when `TEST_DATABASE_URL` is set, and one that runs
/// without it fails here instead of passing silently.
pub async fn postgres_store() -> Store {
    let url = env("TEST_DATABASE_URL")
        .expect("TEST_DATABASE_URL is unset: this test needs PostgreSQL (see README, Tests)");
    let schema = unique("t");
    let admin = server::storage::connect_pool(&url, None, 1)
        .await
        .expect("connect TEST_DATABASE_URL");
    use sea_orm::ConnectionTrait;
    admin
        .execute_unprepared(&format!("CREATE SCHEMA \"{schema}\""))
        .await
        .expect("create schema");
    let redis = env("TEST_REDIS_URL").map(|u| (u, unique("defmis-test")));
    Store::Postgres { url, schema, redis }
}

/// A server on a fresh PostgreSQL schema reached through a [`TcpProxy`]
/// of the test's own (no Redis), to cut the database off.
pub async fn postgres_behind_proxy(direct: &str) -> (TcpProxy, TestApp) {
    let Store::Postgres { url, schema, .. } = postgres_store().await else {
        unreachable!()
    };
    assert_eq!(url, direct);
    let (scheme, rest) = url.split_once("://").unwrap();
    let (userinfo, hostpath) = match rest.rsplit_once('@') {
        Some((u, h)) => (format!("{u}@"), h),
        None => (String::new(), rest),
    };
    let (hostport, path) = hostpath.split_once('/').unwrap_or((hostpath, ""));
    let target = if hostport.contains(':') {
        hostport.to_string()
    } else {
        format!("{hostport}:5432")
    };
    let proxy = tcp_proxy(&target).await;
    let proxied = format!("{scheme}://{userinfo}{}/{path}", proxy.addr);
    let store = Store::Postgres {
        url: proxied,
        schema,
        redis: None,
    };
    (proxy, spawn_on(store, &[]).await)
}

/// Like [`postgres_store`], and Redis is required too.
pub async fn postgres_and_redis_store() -> Store {
    env("TEST_REDIS_URL")
        .expect("TEST_REDIS_URL is unset: this test needs Redis (see README, Tests)");
    postgres_store().await
}

/// A server on `store`, with extra configuration variables.
pub async fn spawn_on(store: Store, extra: &[(&str, &str)]) -> TestApp {
    let mut vars: HashMap<String, String> = HashMap::from([
        ("BIND_ADDR".into(), "127.0.0.1:0".into()),
        ("SECRET_KEY".into(), SECRET.into()),
        ("ALLOWED_HOSTS".into(), "127.0.0.1,localhost".into()),
        // Tests of the limits turn them on (`LIMITS=on`).
        ("LIMITS".into(), "off".into()),
    ]);
    let attachment_dir = std::env::temp_dir().join(unique("defmis-files"));
    vars.insert(
        "ATTACHMENT_STORAGE".into(),
        attachment_dir.display().to_string(),
    );
    let mut sqlite_file = None;
    let db = match &store {
        Store::Sqlite => {
            let file = std::env::temp_dir().join(format!("{}.db", unique("defmis-test")));
            let url = format!("sqlite://{}?mode=rwc", file.display());
            vars.insert("DATABASE_URL".into(), url.clone());
            sqlite_file = Some(file);
            server::storage::open(&url, None, Default::default())
                .await
                .expect("sqlite")
        }
        Store::SqliteAt(file) => {
            let url = format!("sqlite://{}?mode=rwc", file.display());
            vars.insert("DATABASE_URL".into(), url.clone());
            server::storage::open(&url, None, Default::default())
                .await
                .expect("sqlite")
        }
        Store::Postgres { url, schema, redis } => {
            vars.insert("DATABASE_URL".into(), url.clone());
            if let Some((redis_url, channel)) = redis {
                vars.insert("REDIS_URL".into(), redis_url.clone());
                vars.insert("REDIS_CHANNEL".into(), channel.clone());
            }
            server::storage::open(url, Some(schema), Default::default())
                .await
                .expect("postgres")
        }
    };
    for (k, v) in extra {
        vars.insert(k.to_string(), v.to_string());
    }
    let config = Config::from_lookup(|k| vars.get(k).cloned()).expect("test config");
    let app = Application::build_with_db(config, db.clone())
        .await
        .expect("build app");
    let port = app.port();
    let state = app.state().clone();
    let metrics_addr = app.metrics_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel();
    tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        host: format!("127.0.0.1:{port}"),
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        state,
        metrics_addr,
        db,
        attachment_dir: vars
            .get("ATTACHMENT_STORAGE")
            .map(PathBuf::from)
            .unwrap_or(attachment_dir),
        sqlite_file,
        stop: Some(stop),
    }
}

/// What `POST /chat/api/chat/start/` answered.
#[derive(Clone, Debug)]
pub struct Visitor {
    pub customer_id: String,
    pub token: String,
    pub session_id: String,
}

impl TestApp {
    /// Stops the server as SIGTERM would.
    pub fn stop_now(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Runs one statement on the server's database (`?` placeholders are
    /// turned into `$n` on PostgreSQL); answers the rows it changed.
    pub async fn sql(&self, sql: &str, values: Vec<sea_orm::Value>) -> u64 {
        use sea_orm::ConnectionTrait;
        let backend = self.db.backend();
        let sql = if backend == sea_orm::DatabaseBackend::Postgres {
            let mut n = 0;
            sql.chars()
                .map(|c| match c {
                    '?' => {
                        n += 1;
                        format!("${n}")
                    }
                    c => c.to_string(),
                })
                .collect()
        } else {
            sql.to_string()
        };
        let statement = sea_orm::Statement::from_sql_and_values(backend, sql, values);
        self.db
            .write
            .execute_raw(statement)
            .await
            .expect("test SQL")
            .rows_affected()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn start_chat(&self, body: Value) -> reqwest::Response {
        self.client
            .post(self.url("/chat/api/chat/start/"))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn start(&self) -> Visitor {
        self.start_with(json!({"name": "Ann"})).await
    }

    pub async fn start_with(&self, body: Value) -> Visitor {
        let resp = self.start_chat(body).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let v: Value = resp.json().await.unwrap();
        Visitor {
            customer_id: v["customer_id"].as_str().unwrap().into(),
            token: v["token"].as_str().unwrap().into(),
            session_id: v["session_id"].as_str().unwrap().into(),
        }
    }

    pub async fn post_message(&self, token: Option<&str>, body: Value) -> reqwest::Response {
        let mut req = self
            .client
            .post(self.url("/chat/api/chat/message/"))
            .json(&body);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req.send().await.unwrap()
    }

    /// Posts a visitor message and returns the stored message.
    pub async fn say(&self, v: &Visitor, content: &str) -> Value {
        let resp = self
            .post_message(
                Some(&v.token),
                json!({"customer_id": v.customer_id, "content": content, "client_id": uuid::Uuid::new_v4().to_string()}),
            )
            .await;
        assert_eq!(resp.status(), StatusCode::CREATED);
        resp.json().await.unwrap()
    }

    pub async fn history(
        &self,
        customer_id: &str,
        token: Option<&str>,
        query: &str,
    ) -> reqwest::Response {
        let mut req = self
            .client
            .get(self.url(&format!("/chat/api/chat/{customer_id}/history/{query}")));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req.send().await.unwrap()
    }

    pub async fn stored_messages(&self, v: &Visitor) -> Vec<Value> {
        let resp = self.history(&v.customer_id, Some(&v.token), "").await;
        assert_eq!(resp.status(), StatusCode::OK);
        let body: Value = resp.json().await.unwrap();
        body["messages"].as_array().unwrap().clone()
    }

    /// Creates an admin account directly through the service; "alice" is
    /// shown to visitors as "Alice Liddell", others as their username in
    /// capitals.
    pub async fn create_agent(&self, username: &str) -> app::types::AgentView {
        self.create_with_role(username, app::types::Role::Admin)
            .await
    }

    pub async fn create_with_role(
        &self,
        username: &str,
        role: app::types::Role,
    ) -> app::types::AgentView {
        let shown = match username {
            "alice" => "Alice Liddell".to_string(),
            other => other.to_uppercase(),
        };
        self.state
            .agents
            .create_named(username, &shown, PASSWORD, role)
            .await
            .expect("create agent")
    }

    pub async fn api_token(&self, username: &str) -> String {
        self.create_agent(username).await;
        self.state
            .agents
            .create_api_token(username, Some("tests".into()))
            .await
            .unwrap()
    }

    /// A new account with this role, and an API token of theirs.
    pub async fn token_with_role(&self, username: &str, role: app::types::Role) -> String {
        self.create_with_role(username, role).await;
        self.state
            .agents
            .create_api_token(username, None)
            .await
            .unwrap()
    }

    /// Signs in through the dashboard's server function; returns the cookie.
    pub async fn login(&self, username: &str, password: &str) -> reqwest::Response {
        self.server_fn("/api/login")
            .form(&[("username", username), ("password", password)])
            .send()
            .await
            .unwrap()
    }

    /// A POST to a server function, from one of the dashboard's own pages
    /// (same-origin `Origin`, as a browser sends it).
    pub fn server_fn(&self, path: &str) -> reqwest::RequestBuilder {
        self.client
            .post(self.url(path))
            .header("origin", &self.address)
    }

    /// Calls a server function (form-encoded arguments) as the signed-in
    /// agent of `cookie`, from one of the dashboard's pages.
    pub fn call_fn(
        &self,
        path: &str,
        cookie: &str,
        form: Vec<(&'static str, String)>,
    ) -> impl std::future::Future<Output = reqwest::Result<reqwest::Response>> {
        self.server_fn(path)
            .header("cookie", cookie.to_string())
            .form(&form)
            .send()
    }

    pub async fn session_cookie(&self, username: &str) -> String {
        self.create_agent(username).await;
        self.sign_in(username).await
    }

    /// Signs an existing account in; returns its session cookie.
    pub async fn sign_in(&self, username: &str) -> String {
        let resp = self.login(username, PASSWORD).await;
        let cookie = resp
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("defmis_session="))
            .expect("login sets the session cookie")
            .to_string();
        cookie.split(';').next().unwrap().to_string()
    }

    /// The agents' view of a visitor's conversation (`session` of
    /// `GET /chat/api/admin/session/{id}/`).
    pub async fn session_view(&self, token: &str, v: &Visitor) -> Value {
        let path = format!("/chat/api/admin/session/{}/", v.session_id);
        let resp = self.admin(reqwest::Method::GET, &path, token, None).await;
        assert_eq!(resp.status(), reqwest::StatusCode::OK);
        resp.json::<Value>().await.unwrap()["session"].clone()
    }

    pub async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut req = self
            .client
            .request(method, self.url(path))
            .bearer_auth(token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        req.send().await.unwrap()
    }

    pub async fn visitor_ws(&self, customer_id: &str) -> Ws {
        let (ws, _) =
            tokio_tungstenite::connect_async(format!("ws://{}/ws/chat/{customer_id}/", self.host))
                .await
                .expect("visitor socket");
        ws
    }

    /// A visitor socket that has authenticated.
    pub async fn visitor_ws_authed(&self, v: &Visitor, after: Option<i64>) -> Ws {
        let mut ws = self.visitor_ws(&v.customer_id).await;
        let mut frame = json!({"type": "auth", "token": v.token});
        if let Some(after) = after {
            frame["after"] = json!(after);
        }
        send_json(&mut ws, frame).await;
        // Right after auth: whether an agent is available.
        let first = next_json(&mut ws).await;
        assert_eq!(first["type"], "availability", "{first}");
        ws
    }

    /// Opens the agent socket with the given headers; the handshake's
    /// status on refusal.
    pub async fn agent_ws_with(&self, headers: &[(&str, &str)]) -> Result<Ws, u16> {
        let mut request = format!("ws://{}/ws/admin/dashboard/", self.host)
            .into_client_request()
            .unwrap();
        for (k, v) in headers {
            request.headers_mut().insert(
                tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok((ws, _)) => Ok(ws),
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => Err(resp.status().as_u16()),
            Err(e) => panic!("agent socket: {e}"),
        }
    }

    pub async fn agent_ws(&self, api_token: &str) -> Ws {
        self.agent_ws_with(&[("authorization", &format!("Bearer {api_token}"))])
            .await
            .expect("agent socket")
    }
}

pub async fn send_json(ws: &mut Ws, value: Value) {
    ws.send(Message::Text(value.to_string().into()))
        .await
        .unwrap();
}

/// The next JSON text frame (pings and agents' `presence` frames
/// skipped: [`next_presence`] reads those), within [`FRAME_WAIT`].
pub async fn next_json(ws: &mut Ws) -> Value {
    loop {
        let v = next_frame(ws).await;
        if v["type"] != "presence" {
            return v;
        }
    }
}

/// The next `presence` frame, within [`FRAME_WAIT`].
pub async fn next_presence(ws: &mut Ws) -> Value {
    loop {
        let v = next_frame(ws).await;
        if v["type"] == "presence" {
            return v;
        }
    }
}

/// How long a test waits for a frame it expects: a bound against a hang,
/// not a speed check. Generous, because `a_reconnect_storm_catches_everyone_up`
/// opens 1,000 sockets at once in a debug build while other tests run on
/// the same 2 cores: with 5 s, some first frames came too late on a busy
/// machine (2026-12-08).
const FRAME_WAIT: Duration = Duration::from_secs(30);

/// The next JSON text frame of any type (pings skipped), within
/// [`FRAME_WAIT`].
async fn next_frame(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(FRAME_WAIT, ws.next())
            .await
            .expect("a frame in time")
            .expect("socket open")
            .expect("frame ok");
        match msg {
            Message::Text(t) => return serde_json::from_str(t.as_str()).expect("JSON frame"),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

/// The next frame of `type`, skipping others (e.g. session events).
pub async fn next_of_type(ws: &mut Ws, kind: &str) -> Value {
    loop {
        let v = next_json(ws).await;
        if v["type"] == kind {
            return v;
        }
    }
}

/// Waits for the close frame; returns its code and reason.
pub async fn close_of(ws: &mut Ws, within: Duration) -> (u16, String) {
    loop {
        let msg = tokio::time::timeout(within, ws.next())
            .await
            .expect("closed in time");
        match msg {
            Some(Ok(Message::Close(Some(frame)))) => {
                return (u16::from(frame.code), frame.reason.to_string())
            }
            Some(Ok(Message::Close(None))) => return (u16::from(CloseCode::Status), String::new()),
            Some(Ok(_)) => continue,
            Some(Err(e)) => panic!("socket error before close: {e}"),
            None => panic!("socket ended without a close frame"),
        }
    }
}

/// Asserts no frame (but agents' `presence` frames) arrives for a short
/// while.
pub async fn assert_quiet(ws: &mut Ws) {
    let until = tokio::time::Instant::now() + Duration::from_millis(300);
    while let Ok(Some(Ok(Message::Text(t)))) = tokio::time::timeout_at(until, ws.next()).await {
        let presence =
            serde_json::from_str::<Value>(t.as_str()).is_ok_and(|v| v["type"] == "presence");
        if !presence {
            panic!("unexpected frame {t}");
        }
    }
}

/// Runs a test body on SQLite, and on PostgreSQL (+ Redis) when configured.
#[macro_export]
macro_rules! on_every_store {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn sqlite() {
                    super::$name($crate::helpers::spawn_app().await).await;
                }

                #[tokio::test]
                #[ignore = "needs TEST_DATABASE_URL (PostgreSQL); scripts/test.sh runs it when set"]
                async fn postgres() {
                    let store = $crate::helpers::postgres_store().await;
                    super::$name($crate::helpers::spawn_on(store, &[]).await).await
                }
            }
        )*
    };
}

/// A TCP proxy of our own in front of a real service, to cut it off.
pub struct TcpProxy {
    pub addr: std::net::SocketAddr,
    cut: tokio::sync::watch::Sender<bool>,
}

impl TcpProxy {
    /// Drops every connection and refuses new ones until [`Self::restore`].
    pub fn cut(&self) {
        let _ = self.cut.send(true);
    }

    /// Lets connections through again.
    pub fn restore(&self) {
        let _ = self.cut.send(false);
    }
}

/// Forwards 127.0.0.1:(random port) to `target` (host:port).
pub async fn tcp_proxy(target: &str) -> TcpProxy {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (cut, cut_rx) = tokio::sync::watch::channel(false);
    let target = target.to_string();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            if *cut_rx.borrow() {
                drop(inbound);
                continue;
            }
            let target = target.clone();
            let mut conn_cut = cut_rx.clone();
            tokio::spawn(async move {
                let Ok(mut outbound) = TcpStream::connect(&target).await else {
                    return;
                };
                tokio::select! {
                    _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                    _ = conn_cut.wait_for(|cut| *cut) => {}
                }
            });
        }
    });
    TcpProxy { addr, cut }
}

/// The `customer_hash` a site's server computes: hex HMAC-SHA256(secret,
/// customer_id).
pub fn identity_hash(secret: &str, customer_id: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(customer_id.as_bytes());
    server::auth::hex(&mac.finalize().into_bytes())
}
