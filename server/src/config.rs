//! Configuration, read once from the environment (and `.env`).
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `BIND_ADDR` | `127.0.0.1:8000` | address and port to listen on (`PORT` alone overrides the port; cargo-leptos's `LEPTOS_SITE_ADDR` is the fallback) |
//! | `PUBLIC_URL` | `http://{BIND_ADDR}` | the URL people use to reach this server; `https://…` makes cookies `Secure` |
//! | `DATABASE_URL` | `sqlite://./data/defmis.db?mode=rwc` | SQLite file, or `postgres://user:pass@host/db` |
//! | `DATABASE_POOL_SIZE` | `16` | PostgreSQL connections per instance (SQLite: readers, at most 8, beside its one writer) |
//! | `WRITE_BATCH_MAX` | `512` | most messages stored in one transaction (group commit) |
//! | `REDIS_URL` | unset | unset: in-process bus; set: Redis pub/sub, so several instances serve one site |
//! | `REDIS_CHANNEL` | `defmis-chat:events` | the pub/sub channel the instances share |
//! | `SECRET_KEY` | generated into `./data/secret_key` | key for hashing tokens; required with PostgreSQL (all instances share it) |
//! | `ALLOWED_HOSTS` | `localhost,127.0.0.1,[::1]` | comma-separated `Host` names accepted; `*` accepts any |
//! | `DEBUG` | `false` | more verbose logs |
//! | `LOG_FORMAT` | `text` | `json` for one JSON object per line |
//! | `MAX_MESSAGE_LENGTH` | `4000` | longest message, in characters |
//! | `DASHBOARD_SESSION_HOURS` | `168` | how long an agent stays signed in |
//! | `WIDGET_TITLE` | `Chat with us` | widget header (every `WIDGET_…` and `IDENTITY_…` value is a default: once an admin saves the widget settings in the dashboard, the saved ones apply) |
//! | `WIDGET_WELCOME_MESSAGE` | `Hi! How can we help?` | shown atop an empty conversation |
//! | `WIDGET_PRIMARY_COLOR` | `#2563eb` | launcher and header colour (`#rgb` or `#rrggbb`) |
//! | `WIDGET_TEXT_COLOR` | `#ffffff` | text on the primary colour |
//! | `WIDGET_POSITION` | `bottom-right` | or `bottom-left` |
//! | `WIDGET_OFFLINE_MODE` | `form` | with no agent online the widget shows: `form` (an offline form), `async` (chat as usual), `hide` (no launcher) |
//! | `WIDGET_REPLY_TIME` | empty | free text shown with no agent online, e.g. `a few hours` |
//! | `WIDGET_ALLOWED_ORIGINS` | empty | comma list of sites (`https://shop.example.com`) whose pages may run the widget; empty: every site |
//! | `IDENTITY_SECRET` | unset | at least 16 bytes: key of `customer_hash` = hex HMAC-SHA256(secret, customer_id) (docs/identity.md) |
//! | `IDENTITY_REQUIRED` | `false` | `true`: a start with a customer_id needs its token or a valid `customer_hash` (needs `IDENTITY_SECRET`) |
//! | `SMTP_URL` | unset | `smtp://host:port` or `smtps://user:pass@host`: offline messages are e-mailed to the team |
//! | `SMTP_FROM` / `SMTP_TO` | unset | with `SMTP_URL`: the sender address, and a comma list of recipients |
//! | `LEPTOS_SITE_ROOT` | `target/site` | where the built dashboard and static files are |
//! | `LIMITS` | `on` | `off` lifts every rate and count limit (load tests); never size and time limits |
//! | `TRUSTED_PROXIES` | empty | CIDRs whose `X-Forwarded-For` names the client address |
//! | `LIMIT_STARTS_PER_MINUTE` | `10` | conversation starts per client address per minute |
//! | `LIMIT_SOCKETS_PER_ADDRESS` | `200` | open sockets per client address |
//! | `LIMIT_SOCKETS_PER_CONVERSATION` | `5` | open visitor sockets per conversation |
//! | `LIMIT_MESSAGES_PER_MINUTE` / `LIMIT_MESSAGE_BURST` | `30` / `10` | visitor messages per conversation (socket and HTTP together) |
//! | `LIMIT_PAGES_PER_MINUTE` | `30` | page changes a visitor's browser reports per conversation (`POST /chat/api/chat/context/`, single-page sites) |
//! | `LIMIT_LOGIN_FAILURES_PER_USERNAME` / `…_PER_ADDRESS` | `5` / `30` | failed sign-ins per `LIMIT_LOGIN_WINDOW_MINUTES` (`15`) |
//! | `LIMIT_HEADER_TIMEOUT_SECONDS` / `LIMIT_BODY_TIMEOUT_SECONDS` | `10` / `30` | time to send request headers / a request body |
//! | `SHUTDOWN_GRACE_SECONDS` | `10` | on SIGTERM, how long in-flight work may take before exit |
//! | `ATTACHMENTS_ENABLED` | `true` | visitors and agents may send files and images |
//! | `ATTACHMENT_MAX_BYTES` | `10485760` (10 MiB) | largest file; an upload is cut off there (`413 too_large`) |
//! | `ATTACHMENT_TYPES` | `png,jpeg,gif,webp,pdf,txt,csv,docx,xlsx,zip` | the types accepted, decided from the file's bytes (`415 unsupported_type` otherwise) |
//! | `ATTACHMENT_STORAGE` | `./data/attachments` | a directory for the files, or `s3://bucket/prefix` for S3-compatible storage with the usual `AWS_*` variables ([`S3Settings`]) |
//! | `ATTACHMENT_QUOTA_BYTES` | `104857600` (100 MiB) | all the files of one conversation together (`413 quota_exceeded`) |
//! | `ATTACHMENT_LINK_SECONDS` | `3600` | how long a download link works |
//! | `LIMIT_ATTACHMENTS_PER_MINUTE` | `10` | uploads per conversation per minute (visitors) |
//! | `METRICS_ADDR` | unset | address for Prometheus metrics (`/metrics`), never the public port |

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

/// Everything the server needs to start; see the module docs for variables.
#[derive(Clone)]
pub struct Config {
    pub bind: SocketAddr,
    pub public_url: String,
    pub database_url: SecretString,
    pub database_pool_size: u32,
    pub write_batch_max: usize,
    pub redis_url: Option<SecretString>,
    pub redis_channel: String,
    pub secret_key: SecretString,
    pub allowed_hosts: AllowedHosts,
    pub debug: bool,
    pub json_logs: bool,
    pub max_message_chars: usize,
    pub session_ttl_hours: i64,
    /// The widget's settings from the environment: the defaults until an
    /// admin saves settings in the dashboard.
    pub widget: WidgetSettings,
    /// `WIDGET_ALLOWED_ORIGINS` (normalised; empty: every site).
    pub widget_allowed_origins: Vec<String>,
    pub site_root: PathBuf,
    pub limits: LimitSettings,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// How long a stop may take (SIGTERM to exit).
    pub shutdown_grace: Duration,
    /// Where Prometheus metrics are served, if anywhere.
    pub metrics_addr: Option<SocketAddr>,
    /// The key of `customer_hash` (identity verification), if set.
    pub identity_secret: Option<SecretString>,
    /// A site-supplied customer_id needs its token or a valid hash.
    pub identity_required: bool,
    /// Where offline messages are e-mailed, if anywhere.
    pub smtp: Option<SmtpSettings>,
    pub attachments: AttachmentSettings,
}

/// `ATTACHMENT…` variables.
#[derive(Clone, Debug)]
pub struct AttachmentSettings {
    pub enabled: bool,
    pub max_bytes: u64,
    /// Sorted, without repeats.
    pub types: Vec<crate::attachments::kind::Kind>,
    /// Where files are kept.
    pub storage: Storage,
    pub quota_bytes: u64,
    pub link_lifetime: Duration,
}

/// `ATTACHMENT_STORAGE`: a directory, or an S3-compatible bucket.
#[derive(Clone, Debug, PartialEq)]
pub enum Storage {
    Dir(PathBuf),
    S3(S3Settings),
}

/// `ATTACHMENT_STORAGE=s3://bucket/prefix` with the usual AWS variables:
/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
/// `AWS_REGION` (or `AWS_DEFAULT_REGION`; default `us-east-1`), and
/// `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT`) for a store other than AWS
/// (MinIO, Ceph, R2, …; plain `http://` is allowed when the endpoint says
/// so). Paths are always path-style (`endpoint/bucket/key`), which every
/// S3-compatible store accepts.
#[derive(Clone)]
pub struct S3Settings {
    pub bucket: String,
    /// Without leading or trailing slashes; may be empty.
    pub prefix: String,
    pub region: String,
    pub endpoint: Option<String>,
    pub access_key_id: Option<String>,
    /// Secret: printed nowhere, exposed only to the S3 client.
    pub secret_access_key: Option<SecretString>,
    pub session_token: Option<SecretString>,
}

/// Equal settings: the secrets compared as they are (for configuration
/// tests; secrecy's types have no `==`).
impl PartialEq for S3Settings {
    fn eq(&self, other: &Self) -> bool {
        let secret = |s: &Option<SecretString>| s.as_ref().map(|s| s.expose_secret().to_owned());
        self.bucket == other.bucket
            && self.prefix == other.prefix
            && self.region == other.region
            && self.endpoint == other.endpoint
            && self.access_key_id == other.access_key_id
            && secret(&self.secret_access_key) == secret(&other.secret_access_key)
            && secret(&self.session_token) == secret(&other.session_token)
    }
}

impl std::fmt::Debug for S3Settings {
    /// Never prints the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl Storage {
    fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let raw = get("ATTACHMENT_STORAGE").unwrap_or_else(|| "./data/attachments".into());
        let raw = raw.trim();
        let Some((scheme, rest)) = raw.split_once("://") else {
            if raw.is_empty() {
                return Err(err("ATTACHMENT_STORAGE", "is empty"));
            }
            return Ok(Storage::Dir(raw.into()));
        };
        if !scheme.eq_ignore_ascii_case("s3") {
            return Err(err(
                "ATTACHMENT_STORAGE",
                "must be a directory or s3://bucket/prefix",
            ));
        }
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let valid_bucket = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !valid_bucket {
            return Err(err(
                "ATTACHMENT_STORAGE",
                "s3:// needs a bucket name (3 to 63 lowercase letters, digits, dots or hyphens)",
            ));
        }
        let prefix = prefix.trim_matches('/');
        if prefix.split('/').any(|p| p == "." || p == "..") || prefix.contains("//") {
            return Err(err(
                "ATTACHMENT_STORAGE",
                "the prefix after the bucket may not have empty, . or .. parts",
            ));
        }
        let nonempty = |k: &str| {
            get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let endpoint = nonempty("AWS_ENDPOINT_URL").or_else(|| nonempty("AWS_ENDPOINT"));
        if let Some(e) = &endpoint {
            if !(e.starts_with("http://") || e.starts_with("https://")) {
                return Err(err(
                    "AWS_ENDPOINT_URL",
                    "must start with http:// or https://",
                ));
            }
        }
        let access_key_id = nonempty("AWS_ACCESS_KEY_ID");
        let secret_access_key = nonempty("AWS_SECRET_ACCESS_KEY");
        if access_key_id.is_some() != secret_access_key.is_some() {
            return Err(err(
                "AWS_SECRET_ACCESS_KEY",
                "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY go together",
            ));
        }
        Ok(Storage::S3(S3Settings {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
            region: nonempty("AWS_REGION")
                .or_else(|| nonempty("AWS_DEFAULT_REGION"))
                .unwrap_or_else(|| "us-east-1".into()),
            endpoint,
            access_key_id,
            secret_access_key: secret_access_key.map(SecretString::from),
            session_token: nonempty("AWS_SESSION_TOKEN").map(SecretString::from),
        }))
    }
}

impl AttachmentSettings {
    fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        use crate::attachments::kind::Kind;
        const GIB: usize = 1 << 30;
        let enabled = parse_bool(get("ATTACHMENTS_ENABLED"), true)
            .map_err(|e| err("ATTACHMENTS_ENABLED", e))?;
        let max_bytes = parse_num(get("ATTACHMENT_MAX_BYTES"), 10 << 20, 1024, 4 * GIB)
            .map_err(|e| err("ATTACHMENT_MAX_BYTES", e))? as u64;
        let mut types = match get("ATTACHMENT_TYPES") {
            None => Kind::ALL.to_vec(),
            Some(raw) => raw
                .split(',')
                .filter(|t| !t.trim().is_empty())
                .map(str::parse)
                .collect::<Result<Vec<Kind>, _>>()
                .map_err(|e| err("ATTACHMENT_TYPES", e))?,
        };
        types.sort_unstable();
        types.dedup();
        if types.is_empty() {
            return Err(err(
                "ATTACHMENT_TYPES",
                "lists no type (to refuse every file, set ATTACHMENTS_ENABLED=false)",
            ));
        }
        let storage = Storage::from_lookup(get)?;
        let quota_bytes = parse_num(get("ATTACHMENT_QUOTA_BYTES"), 100 << 20, 1024, 1 << 40)
            .map_err(|e| err("ATTACHMENT_QUOTA_BYTES", e))? as u64;
        let link_seconds = parse_num(get("ATTACHMENT_LINK_SECONDS"), 3600, 60, 7 * 24 * 3600)
            .map_err(|e| err("ATTACHMENT_LINK_SECONDS", e))?;
        Ok(Self {
            enabled,
            max_bytes,
            types,
            storage,
            quota_bytes,
            link_lifetime: Duration::from_secs(link_seconds as u64),
        })
    }
}

/// `SMTP_URL`, `SMTP_FROM`, `SMTP_TO`.
#[derive(Clone)]
pub struct SmtpSettings {
    /// `smtp://…` or `smtps://…`, possibly with a password.
    pub url: SecretString,
    pub from: String,
    pub to: Vec<String>,
}

pub use app::types::{OfflineMode, WidgetPosition};

/// Rate, count, and time limits (`LIMIT_…`). With `LIMITS=off`, `enabled`
/// is false: rates and counts are not checked; times always are.
#[derive(Clone, Debug)]
pub struct LimitSettings {
    pub enabled: bool,
    pub starts_per_minute: u32,
    pub sockets_per_address: u32,
    pub sockets_per_conversation: u32,
    pub messages_per_minute: u32,
    pub message_burst: u32,
    pub pages_per_minute: u32,
    pub attachments_per_minute: u32,
    pub login_failures_per_username: u32,
    pub login_failures_per_address: u32,
    pub login_window: Duration,
    pub header_timeout: Duration,
    pub body_timeout: Duration,
}

impl LimitSettings {
    fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let num = |var: &'static str, default: usize, max: usize| {
            parse_num(get(var), default, 1, max)
                .map(|n| n as u32)
                .map_err(|e| err(var, e))
        };
        let secs = |var: &'static str, default: usize| {
            parse_num(get(var), default, 1, 3600)
                .map(|n| Duration::from_secs(n as u64))
                .map_err(|e| err(var, e))
        };
        let enabled = match get("LIMITS").map(|v| v.to_ascii_lowercase()).as_deref() {
            None | Some("on") => true,
            Some("off") => false,
            Some(other) => return Err(err("LIMITS", format!("must be on or off, not {other:?}"))),
        };
        Ok(Self {
            enabled,
            starts_per_minute: num("LIMIT_STARTS_PER_MINUTE", 10, 1_000_000)?,
            sockets_per_address: num("LIMIT_SOCKETS_PER_ADDRESS", 200, 1_000_000)?,
            sockets_per_conversation: num("LIMIT_SOCKETS_PER_CONVERSATION", 5, 10_000)?,
            messages_per_minute: num("LIMIT_MESSAGES_PER_MINUTE", 30, 1_000_000)?,
            message_burst: num("LIMIT_MESSAGE_BURST", 10, 1_000_000)?,
            pages_per_minute: num("LIMIT_PAGES_PER_MINUTE", 30, 1_000_000)?,
            attachments_per_minute: num("LIMIT_ATTACHMENTS_PER_MINUTE", 10, 1_000_000)?,
            login_failures_per_username: num("LIMIT_LOGIN_FAILURES_PER_USERNAME", 5, 1_000_000)?,
            login_failures_per_address: num("LIMIT_LOGIN_FAILURES_PER_ADDRESS", 30, 1_000_000)?,
            login_window: Duration::from_secs(
                60 * num("LIMIT_LOGIN_WINDOW_MINUTES", 15, 24 * 60)? as u64,
            ),
            header_timeout: secs("LIMIT_HEADER_TIMEOUT_SECONDS", 10)?,
            body_timeout: secs("LIMIT_BODY_TIMEOUT_SECONDS", 30)?,
        })
    }
}

/// `HTTPS://Shop.Example.com:443/` → `https://shop.example.com`: a web
/// origin as browsers send it in `Origin` (scheme, host, port unless the
/// scheme's default; no path).
pub fn parse_origin(raw: &str) -> Result<String, String> {
    let bad = || format!("not a web origin like https://shop.example.com: {raw:?}");
    let url = url::Url::parse(raw.trim()).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https")
        || url.host_str().is_none()
        || !url.username().is_empty()
        || url.password().is_some()
        || url.query().is_some()
        || url.fragment().is_some()
        || url.path() != "/"
    {
        return Err(bad());
    }
    Ok(url.origin().ascii_serialization())
}

/// `10.0.0.0/8, 127.0.0.1` → networks (a bare address is a /32 or /128).
fn parse_cidrs(raw: &str) -> Result<Vec<IpNet>, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| format!("not an address or CIDR: {s:?}"))
        })
        .collect()
}

/// What the widget asks for at `GET /chat/api/widget/config/`.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct WidgetSettings {
    pub title: String,
    pub welcome_message: String,
    pub primary_color: String,
    pub text_color: String,
    pub position: WidgetPosition,
    pub max_message_length: usize,
    pub offline_mode: OfflineMode,
    /// Free text, e.g. "a few hours"; empty when not set.
    pub reply_time: String,
    /// Whether a site-supplied customer_id needs a `customer_hash`.
    pub identity_required: bool,
}

/// The `Host` names this server answers to.
#[derive(Clone, Debug)]
pub enum AllowedHosts {
    Any,
    List(Vec<String>),
}

impl AllowedHosts {
    fn parse(raw: &str) -> Result<Self, String> {
        let names: Vec<String> = raw
            .split(',')
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect();
        if names.is_empty() {
            return Err("must list at least one host name, or *".into());
        }
        if names.iter().any(|h| h == "*") {
            return Ok(AllowedHosts::Any);
        }
        Ok(AllowedHosts::List(names))
    }

    /// Whether a `Host` header value (with or without port) is accepted.
    pub fn allows(&self, host_header: &str) -> bool {
        match self {
            AllowedHosts::Any => true,
            AllowedHosts::List(names) => {
                let host = strip_port(host_header).to_ascii_lowercase();
                names.iter().any(|n| {
                    n == &host
                        || n.strip_prefix('.').is_some_and(|suffix| {
                            host.ends_with(&format!(".{suffix}")) || host == suffix
                        })
                })
            }
        }
    }
}

/// `example.com:8000` → `example.com`; `[::1]:8000` → `[::1]`.
pub fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.split_inclusive(']').next().unwrap_or(host);
    }
    host.split(':').next().unwrap_or(host)
}

/// A configuration value that stops start-up; names its variable.
#[derive(Debug, thiserror::Error)]
#[error("{var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

fn err(var: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        message: message.into(),
    }
}

impl Config {
    /// Reads `.env` (if present) and the environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        let _ = dotenvy::dotenv();
        Self::from_lookup(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
    }

    /// Builds the configuration from any variable source (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        // cargo-leptos (watch, serve, end-to-end) passes LEPTOS_SITE_ADDR.
        let mut bind: SocketAddr = get("BIND_ADDR")
            .or_else(|| get("LEPTOS_SITE_ADDR"))
            .unwrap_or_else(|| "127.0.0.1:8000".into())
            .parse()
            .map_err(|e| {
                err(
                    "BIND_ADDR",
                    format!("not an address like 127.0.0.1:8000 ({e})"),
                )
            })?;
        if let Some(port) = get("PORT") {
            bind.set_port(
                port.parse()
                    .map_err(|_| err("PORT", format!("not a port number: {port:?}")))?,
            );
        }
        let public_url = match get("PUBLIC_URL") {
            Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
                url.trim_end_matches('/').to_string()
            }
            Some(url) => {
                return Err(err(
                    "PUBLIC_URL",
                    format!("must start with http:// or https://: {url:?}"),
                ))
            }
            None => format!("http://{bind}"),
        };
        let database_url =
            get("DATABASE_URL").unwrap_or_else(|| "sqlite://./data/defmis.db?mode=rwc".into());
        let is_postgres =
            database_url.starts_with("postgres://") || database_url.starts_with("postgresql://");
        if !is_postgres && !database_url.starts_with("sqlite:") {
            return Err(err(
                "DATABASE_URL",
                "must start with sqlite: or postgres://",
            ));
        }
        let database_pool_size = parse_num(get("DATABASE_POOL_SIZE"), 16, 1, 1000)
            .map_err(|e| err("DATABASE_POOL_SIZE", e))? as u32;
        let write_batch_max = parse_num(get("WRITE_BATCH_MAX"), 512, 1, 4096)
            .map_err(|e| err("WRITE_BATCH_MAX", e))?;
        let redis_url = get("REDIS_URL");
        if let Some(url) = &redis_url {
            if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                return Err(err("REDIS_URL", "must start with redis:// or rediss://"));
            }
        }
        let secret_key = match get("SECRET_KEY") {
            Some(k) if k.len() >= 32 => k,
            Some(_) => return Err(err("SECRET_KEY", "must be at least 32 characters")),
            None if is_postgres => {
                return Err(err(
                    "SECRET_KEY",
                    "required with PostgreSQL, the same on every instance (e.g. `openssl rand -hex 32`)",
                ))
            }
            None => local_secret_key().map_err(|e| err("SECRET_KEY", e))?,
        };
        let allowed_hosts = AllowedHosts::parse(
            &get("ALLOWED_HOSTS").unwrap_or_else(|| "localhost,127.0.0.1,[::1]".into()),
        )
        .map_err(|e| err("ALLOWED_HOSTS", e))?;
        let debug = parse_bool(get("DEBUG"), false).map_err(|e| err("DEBUG", e))?;
        let json_logs = match get("LOG_FORMAT").as_deref() {
            None | Some("text") => false,
            Some("json") => true,
            Some(other) => {
                return Err(err(
                    "LOG_FORMAT",
                    format!("must be text or json, not {other:?}"),
                ))
            }
        };
        let max_message_chars = parse_num(get("MAX_MESSAGE_LENGTH"), 4000, 1, 100_000)
            .map_err(|e| err("MAX_MESSAGE_LENGTH", e))?;
        let session_ttl_hours = parse_num(get("DASHBOARD_SESSION_HOURS"), 168, 1, 24 * 365)
            .map_err(|e| err("DASHBOARD_SESSION_HOURS", e))? as i64;
        let primary_color = get("WIDGET_PRIMARY_COLOR").unwrap_or_else(|| "#2563eb".into());
        if !is_hex_colour(&primary_color) {
            return Err(err("WIDGET_PRIMARY_COLOR", "must be #rgb or #rrggbb"));
        }
        let text_color = get("WIDGET_TEXT_COLOR").unwrap_or_else(|| "#ffffff".into());
        if !is_hex_colour(&text_color) {
            return Err(err("WIDGET_TEXT_COLOR", "must be #rgb or #rrggbb"));
        }
        let position = match get("WIDGET_POSITION") {
            None => WidgetPosition::BottomRight,
            Some(p) => WidgetPosition::parse(&p)
                .ok_or_else(|| err("WIDGET_POSITION", "must be bottom-right or bottom-left"))?,
        };
        let offline_mode = match get("WIDGET_OFFLINE_MODE") {
            None => OfflineMode::Form,
            Some(m) => OfflineMode::parse(&m).ok_or_else(|| {
                err(
                    "WIDGET_OFFLINE_MODE",
                    format!("must be form, async or hide, not {m:?}"),
                )
            })?,
        };
        let widget_allowed_origins = get("WIDGET_ALLOWED_ORIGINS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(parse_origin)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| err("WIDGET_ALLOWED_ORIGINS", e))?;
        let reply_time = get("WIDGET_REPLY_TIME").unwrap_or_default();
        if reply_time.chars().count() > 100 || reply_time.chars().any(char::is_control) {
            return Err(err(
                "WIDGET_REPLY_TIME",
                "must be at most 100 characters, without control characters",
            ));
        }
        let identity_secret = match get("IDENTITY_SECRET") {
            Some(s) if s.len() >= 16 => Some(SecretString::from(s)),
            Some(_) => return Err(err("IDENTITY_SECRET", "must be at least 16 bytes")),
            None => None,
        };
        let identity_required =
            parse_bool(get("IDENTITY_REQUIRED"), false).map_err(|e| err("IDENTITY_REQUIRED", e))?;
        if identity_required && identity_secret.is_none() {
            return Err(err(
                "IDENTITY_REQUIRED",
                "true needs IDENTITY_SECRET (the key sites compute customer_hash with)",
            ));
        }
        let smtp = smtp_settings(&get)?;
        let attachments = AttachmentSettings::from_lookup(&get)?;
        Ok(Config {
            bind,
            public_url,
            database_url: database_url.into(),
            database_pool_size,
            write_batch_max,
            redis_url: redis_url.map(Into::into),
            redis_channel: get("REDIS_CHANNEL").unwrap_or_else(|| "defmis-chat:events".into()),
            secret_key: secret_key.into(),
            allowed_hosts,
            debug,
            json_logs,
            max_message_chars,
            session_ttl_hours,
            widget: WidgetSettings {
                title: get("WIDGET_TITLE").unwrap_or_else(|| "Chat with us".into()),
                welcome_message: get("WIDGET_WELCOME_MESSAGE")
                    .unwrap_or_else(|| "Hi! How can we help?".into()),
                primary_color,
                text_color,
                position,
                max_message_length: max_message_chars,
                offline_mode,
                reply_time,
                identity_required,
            },
            widget_allowed_origins,
            site_root: get("LEPTOS_SITE_ROOT")
                .unwrap_or_else(|| "target/site".into())
                .into(),
            limits: LimitSettings::from_lookup(&get)?,
            trusted_proxies: parse_cidrs(&get("TRUSTED_PROXIES").unwrap_or_default())
                .map_err(|e| err("TRUSTED_PROXIES", e))?,
            shutdown_grace: Duration::from_secs(
                parse_num(get("SHUTDOWN_GRACE_SECONDS"), 10, 1, 3600)
                    .map_err(|e| err("SHUTDOWN_GRACE_SECONDS", e))? as u64,
            ),
            metrics_addr: get("METRICS_ADDR")
                .map(|a| {
                    a.parse().map_err(|e| {
                        err(
                            "METRICS_ADDR",
                            format!("not an address like 127.0.0.1:9100 ({e})"),
                        )
                    })
                })
                .transpose()?,
            identity_secret,
            identity_required,
            smtp,
            attachments,
        })
    }

    pub fn is_postgres(&self) -> bool {
        let url = self.database_url.expose_secret();
        url.starts_with("postgres://") || url.starts_with("postgresql://")
    }

    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("bind", &self.bind)
            .field("public_url", &self.public_url)
            .field(
                "database_url",
                &redact_url(self.database_url.expose_secret()),
            )
            .field(
                "redis_url",
                &self
                    .redis_url
                    .as_ref()
                    .map(|u| redact_url(u.expose_secret())),
            )
            .field("allowed_hosts", &self.allowed_hosts)
            .field("debug", &self.debug)
            .field("max_message_chars", &self.max_message_chars)
            .finish_non_exhaustive()
    }
}

/// Hides the password in `scheme://user:password@host/…`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// `SMTP_URL` with its `SMTP_FROM` and `SMTP_TO`; all or nothing.
fn smtp_settings(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Option<SmtpSettings>, ConfigError> {
    let Some(url) = get("SMTP_URL") else {
        if get("SMTP_TO").is_some() {
            return Err(err(
                "SMTP_TO",
                "is set, but SMTP_URL (where to send) is not",
            ));
        }
        return Ok(None);
    };
    if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
        return Err(err("SMTP_URL", "must start with smtp:// or smtps://"));
    }
    let looks_like_address = |a: &str| {
        a.split_once('@').is_some_and(|(l, d)| {
            !l.is_empty() && !d.is_empty() && !a.contains(char::is_whitespace)
        })
    };
    let from = get("SMTP_FROM").ok_or_else(|| err("SMTP_FROM", "required with SMTP_URL"))?;
    if !looks_like_address(from.trim()) {
        return Err(err("SMTP_FROM", format!("not an e-mail address: {from:?}")));
    }
    let to: Vec<String> = get("SMTP_TO")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .collect();
    if to.is_empty() {
        return Err(err(
            "SMTP_TO",
            "required with SMTP_URL: a comma list of addresses",
        ));
    }
    if let Some(bad) = to.iter().find(|a| !looks_like_address(a)) {
        return Err(err("SMTP_TO", format!("not an e-mail address: {bad:?}")));
    }
    Ok(Some(SmtpSettings {
        url: url.into(),
        from: from.trim().to_string(),
        to,
    }))
}

fn parse_bool(raw: Option<String>, default: bool) -> Result<bool, String> {
    match raw.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None => Ok(default),
        Some("1" | "true" | "yes" | "on") => Ok(true),
        Some("0" | "false" | "no" | "off") => Ok(false),
        Some(other) => Err(format!("must be true or false, not {other:?}")),
    }
}

fn parse_num(raw: Option<String>, default: usize, min: usize, max: usize) -> Result<usize, String> {
    let Some(raw) = raw else { return Ok(default) };
    match raw.parse::<usize>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!(
            "must be a whole number from {min} to {max}, not {raw:?}"
        )),
    }
}

pub(crate) fn is_hex_colour(s: &str) -> bool {
    let Some(hex) = s.strip_prefix('#') else {
        return false;
    };
    (hex.len() == 3 || hex.len() == 6) && hex.chars().all(|c| c.is_ascii_hexdigit())
}

/// The embedded default's key: made once, kept in `./data/secret_key`.
fn local_secret_key() -> Result<String, String> {
    let path = std::path::Path::new("data/secret_key");
    if let Ok(existing) = std::fs::read_to_string(path) {
        let existing = existing.trim().to_string();
        if existing.len() >= 32 {
            return Ok(existing);
        }
    }
    std::fs::create_dir_all("data").map_err(|e| format!("cannot create ./data: {e}"))?;
    let key = crate::auth::random_token();
    write_private(path, &key).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(key)
}

fn write_private(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(contents.as_bytes())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut map = map;
        map.entry("SECRET_KEY".into())
            .or_insert_with(|| "x".repeat(40));
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_are_embedded() {
        let c = config(&[]).unwrap();
        assert_eq!(c.bind.to_string(), "127.0.0.1:8000");
        assert!(!c.is_postgres());
        assert!(c.redis_url.is_none());
        assert_eq!(c.max_message_chars, 4000);
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (var, value) in [
            ("BIND_ADDR", "nope"),
            ("PORT", "99999"),
            ("DATABASE_URL", "mysql://x"),
            ("REDIS_URL", "http://x"),
            ("SECRET_KEY", "short"),
            ("DEBUG", "maybe"),
            ("MAX_MESSAGE_LENGTH", "0"),
            ("WIDGET_PRIMARY_COLOR", "blue"),
            ("WIDGET_POSITION", "top"),
            ("LOG_FORMAT", "xml"),
            ("PUBLIC_URL", "example.com"),
            ("LIMITS", "maybe"),
            ("LIMIT_STARTS_PER_MINUTE", "0"),
            ("LIMIT_HEADER_TIMEOUT_SECONDS", "x"),
            ("TRUSTED_PROXIES", "10.0.0.0/99"),
            ("SHUTDOWN_GRACE_SECONDS", "-1"),
            ("METRICS_ADDR", "nowhere"),
            ("WIDGET_OFFLINE_MODE", "maybe"),
            ("IDENTITY_SECRET", "short"),
            ("IDENTITY_REQUIRED", "yes please"),
            ("SMTP_URL", "http://mail"),
            ("SMTP_TO", "team@example.com"),
            ("ATTACHMENTS_ENABLED", "sometimes"),
            ("ATTACHMENT_MAX_BYTES", "10"),
            ("ATTACHMENT_TYPES", "png,svg"),
            ("ATTACHMENT_TYPES", " , "),
            ("ATTACHMENT_STORAGE", "ftp://bucket/prefix"),
            ("ATTACHMENT_STORAGE", "s3://"),
            ("ATTACHMENT_STORAGE", "s3://Bad_Bucket/x"),
            ("ATTACHMENT_STORAGE", "s3://bucket/a/../b"),
            ("ATTACHMENT_QUOTA_BYTES", "lots"),
            ("ATTACHMENT_LINK_SECONDS", "5"),
            ("LIMIT_ATTACHMENTS_PER_MINUTE", "0"),
        ] {
            let e = config(&[(var, value)]).unwrap_err();
            assert_eq!(e.var, var, "{e}");
            assert!(e.to_string().starts_with(var));
        }
    }

    #[test]
    fn attachments_go_to_s3_with_the_usual_aws_variables() {
        let c = config(&[
            ("ATTACHMENT_STORAGE", "s3://chat-files/prod/files/"),
            ("AWS_ACCESS_KEY_ID", "AKIA0"),
            ("AWS_SECRET_ACCESS_KEY", "very-secret"),
            ("AWS_DEFAULT_REGION", "eu-west-3"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9000"),
        ])
        .unwrap();
        let Storage::S3(s3) = &c.attachments.storage else {
            panic!("not S3");
        };
        assert_eq!(s3.bucket, "chat-files");
        assert_eq!(s3.prefix, "prod/files");
        assert_eq!(s3.region, "eu-west-3");
        assert_eq!(s3.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert!(!format!("{s3:?}").contains("very-secret"));
        let kept = s3.secret_access_key.as_ref().map(|s| s.expose_secret());
        assert_eq!(kept, Some("very-secret"));
        let c = config(&[("ATTACHMENT_STORAGE", "s3://chat-files")]).unwrap();
        let Storage::S3(s3) = &c.attachments.storage else {
            panic!("not S3");
        };
        assert_eq!((s3.prefix.as_str(), s3.region.as_str()), ("", "us-east-1"));
        assert_eq!(s3.access_key_id, None);
        for (var, value) in [
            ("AWS_ENDPOINT_URL", "127.0.0.1:9000"),
            ("AWS_SECRET_ACCESS_KEY", "only the secret"),
        ] {
            let e = config(&[("ATTACHMENT_STORAGE", "s3://chat-files"), (var, value)]).unwrap_err();
            assert_eq!(e.var, var, "{e}");
        }
    }

    #[test]
    fn attachments_have_defaults() {
        let c = config(&[]).unwrap();
        let a = &c.attachments;
        assert!(a.enabled);
        assert_eq!(a.max_bytes, 10 * 1024 * 1024);
        assert_eq!(a.types.len(), 10);
        assert_eq!(a.storage, Storage::Dir("./data/attachments".into()));
        assert_eq!(a.quota_bytes, 100 * 1024 * 1024);
        assert_eq!(a.link_lifetime, Duration::from_secs(3600));
        assert_eq!(c.limits.attachments_per_minute, 10);
        let c = config(&[("ATTACHMENT_TYPES", "jpg, PNG,png")]).unwrap();
        use crate::attachments::kind::Kind;
        assert_eq!(c.attachments.types, vec![Kind::Png, Kind::Jpeg]);
    }

    #[test]
    fn limits_have_defaults_and_can_be_lifted() {
        let c = config(&[("TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8")]).unwrap();
        assert!(c.limits.enabled);
        assert_eq!(c.limits.starts_per_minute, 10);
        assert_eq!(c.limits.login_window, Duration::from_secs(900));
        assert_eq!(c.trusted_proxies.len(), 2);
        assert!(c.trusted_proxies[0].contains(&"127.0.0.1".parse::<std::net::IpAddr>().unwrap()));
        assert!(!config(&[("LIMITS", "off")]).unwrap().limits.enabled);
    }

    #[test]
    fn identity_and_offline_settings() {
        let c = config(&[]).unwrap();
        assert_eq!(c.widget.offline_mode, OfflineMode::Form);
        assert!(!c.identity_required && c.identity_secret.is_none() && c.smtp.is_none());
        let e = config(&[("IDENTITY_REQUIRED", "true")]).unwrap_err();
        assert_eq!(e.var, "IDENTITY_REQUIRED");
        let c = config(&[
            ("IDENTITY_SECRET", "0123456789abcdef"),
            ("IDENTITY_REQUIRED", "true"),
            ("WIDGET_OFFLINE_MODE", "Hide"),
            ("WIDGET_REPLY_TIME", "a few hours"),
        ])
        .unwrap();
        assert!(c.identity_required && c.widget.identity_required);
        assert_eq!(c.widget.offline_mode, OfflineMode::Hide);
        assert_eq!(c.widget.reply_time, "a few hours");
        let e = config(&[("SMTP_URL", "smtp://127.0.0.1:25")]).unwrap_err();
        assert_eq!(e.var, "SMTP_FROM");
        let e = config(&[("SMTP_URL", "smtp://h"), ("SMTP_FROM", "a@b.c")]).unwrap_err();
        assert_eq!(e.var, "SMTP_TO");
        let c = config(&[
            ("SMTP_URL", "smtp://h:2525"),
            ("SMTP_FROM", "chat@example.com"),
            ("SMTP_TO", "a@example.com, b@example.com"),
        ])
        .unwrap();
        assert_eq!(c.smtp.unwrap().to, ["a@example.com", "b@example.com"]);
    }

    #[test]
    fn postgres_needs_a_secret_key() {
        let e = Config::from_lookup(|k| (k == "DATABASE_URL").then(|| "postgres://h/db".into()))
            .unwrap_err();
        assert_eq!(e.var, "SECRET_KEY");
    }

    #[test]
    fn hosts_are_checked_without_port() {
        let hosts = AllowedHosts::parse("example.com, .example.org,[::1]").unwrap();
        assert!(hosts.allows("example.com:8000"));
        assert!(hosts.allows("EXAMPLE.com"));
        assert!(hosts.allows("chat.example.org"));
        assert!(hosts.allows("[::1]:8000"));
        assert!(!hosts.allows("evil.com"));
        assert!(!hosts.allows("notexample.org"));
        assert!(AllowedHosts::parse("*").unwrap().allows("anything"));
    }

    #[test]
    fn urls_are_redacted() {
        assert_eq!(
            redact_url("postgres://user:hunter2@db:5432/chat"),
            "postgres://user:***@db:5432/chat"
        );
        assert_eq!(redact_url("sqlite://./data/x.db"), "sqlite://./data/x.db");
    }
}
