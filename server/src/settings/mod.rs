//! Settings admins change in the dashboard, applied without a restart: the
//! widget's look, its offline behaviour, the sites allowed to run it, and
//! identity verification.
//!
//! The environment's `WIDGET_…` and `IDENTITY_…` values are the defaults;
//! once an admin saves, the saved document applies (the identity secret:
//! the environment's until one is made or set here). A save publishes
//! [`Change::SettingsChanged`] so every instance reloads from the database
//! at once; each also reloads every [`RELOAD_EVERY`], should an event be
//! lost.
//!
//! # Layout
//! - this file: [`SettingsService`] (the rules: validation,
//!   admins only, reloading), [`Live`] (what is in force, read by the
//!   widget config, identity checks and the origin check).
//! - `store`: the queries (one table, one row per group).
//! - `routes`: the admin API's handlers and their router.

use std::sync::Arc;
use std::time::Duration;

use app::types::{
    AgentId, AgentView, ErrorCode, SecretSource, WidgetSettingsChange, WidgetSettingsView,
};
use app::types::{OfflineMode, WidgetPosition};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, watch};

use crate::attachments::limits::FileLimits;
use crate::auth::require_admin;
use crate::bus::{Audience, Bus, Change};
use crate::config::{is_hex_colour, parse_origin, Config, WidgetSettings};
use crate::error::AppError;
use crate::storage::Db;

pub mod preview;
pub mod routes;
mod store;

/// How often each instance reloads the settings, events or not.
pub const RELOAD_EVERY: Duration = Duration::from_secs(60);
/// The most sites the widget may be limited to.
pub const MAX_ORIGINS: usize = 100;
const TITLE_MAX: usize = 80;
const WELCOME_MAX: usize = 1000;
const REPLY_TIME_MAX: usize = 100;
const SECRET_MIN: usize = 16;
const SECRET_MAX: usize = 256;

/// The widget's settings as stored (the `widget` row's JSON).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Stored {
    title: String,
    welcome_message: String,
    primary_color: String,
    text_color: String,
    position: WidgetPosition,
    offline_mode: OfflineMode,
    reply_time: String,
    #[serde(default)]
    allowed_origins: Vec<String>,
    #[serde(default)]
    identity_required: bool,
    /// `None`: the environment's `IDENTITY_SECRET`, if any.
    #[serde(default)]
    identity_secret: Option<String>,
    /// What may be attached; `None`: the environment's limits.
    #[serde(default)]
    attachments: Option<app::types::AttachmentLimits>,
}

/// The settings in force on this instance.
#[derive(Clone, Debug)]
pub struct Live {
    /// What `GET /chat/api/widget/config/` answers (with `available`).
    pub widget: WidgetSettings,
    /// Normalised origins; empty: every site.
    pub allowed_origins: Vec<String>,
    pub identity_secret: Option<SecretString>,
    pub secret_source: SecretSource,
    /// What visitors and agents may attach.
    pub attachments: FileLimits,
    pub updated_at: Option<String>,
    pub updated_by: Option<AgentId>,
}

impl Live {
    /// Whether a page at `origin` (an `Origin` header) may run the widget.
    /// `host` is the request's `Host`: the server's own pages (the demo,
    /// the dashboard's preview) are always allowed.
    pub fn allows_origin(&self, origin: &str, host: Option<&str>) -> bool {
        if self.allowed_origins.is_empty() {
            return true;
        }
        let Ok(origin) = parse_origin(origin) else {
            return false;
        };
        let same_site = host.is_some_and(|h| {
            origin
                .split_once("://")
                .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(h))
        });
        same_site || self.allowed_origins.contains(&origin)
    }
}

/// The environment's values: the defaults.
#[derive(Clone)]
struct Defaults {
    public_url: String,
    widget: WidgetSettings,
    allowed_origins: Vec<String>,
    identity_secret: Option<SecretString>,
    /// The most this server allows.
    attachments: FileLimits,
}

pub struct SettingsService {
    db: Db,
    defaults: Defaults,
    live: watch::Sender<Arc<Live>>,
    bus: Arc<Bus>,
}

fn invalid(message: impl Into<String>) -> AppError {
    AppError::Invalid(ErrorCode::InvalidSetting, message.into())
}

/// Trims and checks a one-line text: at most `max` characters, no control
/// characters (`multiline`: line breaks and tabs are allowed).
fn text(field: &str, raw: &str, max: usize, multiline: bool) -> Result<String, AppError> {
    let value = raw.trim();
    if value.chars().count() > max {
        return Err(invalid(format!("{field} is at most {max} characters.")));
    }
    if value
        .chars()
        .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\t')))
    {
        return Err(invalid(format!(
            "{field} must not contain control characters."
        )));
    }
    Ok(value.to_string())
}

fn colour(field: &str, raw: &str) -> Result<String, AppError> {
    let value = raw.trim().to_ascii_lowercase();
    if !is_hex_colour(&value) {
        return Err(invalid(format!(
            "{field} must be a colour like #2563eb (#rgb or #rrggbb)."
        )));
    }
    Ok(value)
}

fn secret(raw: &str) -> Result<String, AppError> {
    let value = raw.trim();
    if value.len() < SECRET_MIN
        || value.len() > SECRET_MAX
        || value.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(invalid(format!(
            "identity_secret is {SECRET_MIN}–{SECRET_MAX} bytes without spaces."
        )));
    }
    Ok(value.to_string())
}

impl Stored {
    fn from_defaults(d: &Defaults) -> Self {
        let w = &d.widget;
        Stored {
            title: w.title.clone(),
            welcome_message: w.welcome_message.clone(),
            primary_color: w.primary_color.clone(),
            text_color: w.text_color.clone(),
            position: w.position,
            offline_mode: w.offline_mode,
            reply_time: w.reply_time.clone(),
            allowed_origins: d.allowed_origins.clone(),
            identity_required: w.identity_required,
            identity_secret: None,
            attachments: None,
        }
    }

    /// Applies a change, checking every field it carries and the whole.
    fn apply(mut self, change: WidgetSettingsChange, env_secret: bool) -> Result<Self, AppError> {
        if let Some(t) = change.title {
            self.title = text("title", &t, TITLE_MAX, false)?;
            if self.title.is_empty() {
                return Err(invalid("title must not be empty."));
            }
        }
        if let Some(t) = change.welcome_message {
            self.welcome_message = text("welcome_message", &t, WELCOME_MAX, true)?;
        }
        if let Some(c) = change.primary_color {
            self.primary_color = colour("primary_color", &c)?;
        }
        if let Some(c) = change.text_color {
            self.text_color = colour("text_color", &c)?;
        }
        if let Some(p) = change.position {
            self.position = p;
        }
        if let Some(m) = change.offline_mode {
            self.offline_mode = m;
        }
        if let Some(t) = change.reply_time {
            self.reply_time = text("reply_time", &t, REPLY_TIME_MAX, false)?;
        }
        if let Some(list) = change.allowed_origins {
            let mut origins = Vec::new();
            for raw in list.iter().map(|o| o.trim()).filter(|o| !o.is_empty()) {
                let origin =
                    parse_origin(raw).map_err(|e| invalid(format!("allowed_origins: {e}.")))?;
                if !origins.contains(&origin) {
                    origins.push(origin);
                }
            }
            if origins.len() > MAX_ORIGINS {
                return Err(invalid(format!(
                    "allowed_origins lists at most {MAX_ORIGINS} sites."
                )));
            }
            self.allowed_origins = origins;
        }
        if let Some(s) = change.identity_secret {
            self.identity_secret = Some(secret(&s)?);
        }
        if let Some(r) = change.identity_required {
            self.identity_required = r;
        }
        if self.identity_required && self.identity_secret.is_none() && !env_secret {
            return Err(invalid(
                "identity_required needs an identity secret: make one first.",
            ));
        }
        Ok(self)
    }
}

impl SettingsService {
    /// Loads what is saved (or the environment's defaults) and starts the
    /// task that reloads on every instance's save.
    pub async fn start(db: Db, config: &Config, bus: Arc<Bus>) -> anyhow::Result<Arc<Self>> {
        let defaults = Defaults {
            public_url: config.public_url.trim_end_matches('/').to_string(),
            widget: config.widget.clone(),
            allowed_origins: config.widget_allowed_origins.clone(),
            identity_secret: config.identity_secret.clone(),
            attachments: FileLimits::of(&config.attachments),
        };
        let first = live_from(&defaults, None);
        let service = Arc::new(Self {
            db,
            defaults,
            live: watch::channel(Arc::new(first)).0,
            bus,
        });
        service.reload().await?;
        let events = service.bus.hub().subscribe_agents();
        tokio::spawn(reload_loop(Arc::downgrade(&service), events));
        Ok(service)
    }

    /// The settings in force.
    pub fn current(&self) -> Arc<Live> {
        self.live.borrow().clone()
    }

    /// A receiver that always sees the settings in force.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Live>> {
        self.live.subscribe()
    }

    /// Reads the saved settings again.
    pub async fn reload(&self) -> Result<(), AppError> {
        let row = store::get(&self.db).await?;
        let saved = row.and_then(|row| match serde_json::from_str::<Stored>(&row.value) {
            Ok(stored) => Some((stored, row.updated_at, row.updated_by)),
            Err(e) => {
                tracing::error!(error = %e, "saved widget settings are unreadable; using the environment's");
                None
            }
        });
        let live = live_from(&self.defaults, saved);
        self.live.send_replace(Arc::new(live));
        Ok(())
    }

    /// What is saved, or the environment's defaults.
    async fn saved(&self) -> Result<Stored, AppError> {
        Ok(match store::get(&self.db).await? {
            Some(row) => serde_json::from_str::<Stored>(&row.value)
                .unwrap_or_else(|_| Stored::from_defaults(&self.defaults)),
            None => Stored::from_defaults(&self.defaults),
        })
    }

    /// The settings as admins see them; admins only.
    pub fn view(&self, actor: &AgentView) -> Result<WidgetSettingsView, AppError> {
        require_admin(actor)?;
        Ok(view(&self.current(), &self.defaults))
    }

    /// Saves a change and applies it on every instance; admins only.
    pub async fn change(
        &self,
        actor: &AgentView,
        change: WidgetSettingsChange,
    ) -> Result<WidgetSettingsView, AppError> {
        let next = self.applied(actor, change).await?;
        let value = serde_json::to_string(&next).map_err(|e| {
            tracing::error!(error = %e, "widget settings: cannot serialise");
            AppError::Internal
        })?;
        store::put(&self.db, &value, &actor.id).await?;
        self.reload().await?;
        self.bus.publish(Audience::Agents, Change::SettingsChanged);
        tracing::info!(agent = %actor.id, "widget settings saved");
        Ok(view(&self.current(), &self.defaults))
    }

    /// The saved settings with `change` applied and checked; admins only.
    async fn applied(
        &self,
        actor: &AgentView,
        change: WidgetSettingsChange,
    ) -> Result<Stored, AppError> {
        require_admin(actor)?;
        let mut change = change;
        let files = change.attachments.take();
        let base = self.saved().await?;
        let mut next = base.apply(change, self.defaults.identity_secret.is_some())?;
        if let Some(wanted) = files {
            let checked = FileLimits::checked(&wanted, &self.defaults.attachments)
                .map_err(|refused| invalid(refused.0))?;
            next.attachments = Some(checked.view());
        }
        Ok(next)
    }

    /// What the widget would show with `change` applied, without saving
    /// it (the dashboard's live preview); admins only.
    pub async fn preview(
        &self,
        actor: &AgentView,
        change: WidgetSettingsChange,
    ) -> Result<WidgetSettings, AppError> {
        let next = self.applied(actor, change).await?;
        Ok(live_from(&self.defaults, Some((next, crate::storage::now(), None))).widget)
    }

    /// Makes a new identity secret (32 random bytes, hex); hashes made
    /// with the old one stop matching at once. Admins only.
    pub async fn rotate_secret(&self, actor: &AgentView) -> Result<WidgetSettingsView, AppError> {
        let change = WidgetSettingsChange {
            identity_secret: Some(crate::auth::random_token()),
            ..WidgetSettingsChange::default()
        };
        self.change(actor, change).await
    }
}

/// Reloads on another instance's save (or a lost event) and every
/// [`RELOAD_EVERY`]; ends with the service.
async fn reload_loop(
    service: std::sync::Weak<SettingsService>,
    mut events: broadcast::Receiver<Arc<crate::bus::Published>>,
) {
    let mut every = tokio::time::interval(RELOAD_EVERY);
    every.tick().await;
    loop {
        let due = tokio::select! {
            _ = every.tick() => true,
            event = events.recv() => match event {
                Ok(p) => matches!(p.event.change, Change::SettingsChanged | Change::Resync),
                Err(broadcast::error::RecvError::Lagged(_)) => true,
                Err(broadcast::error::RecvError::Closed) => return,
            },
        };
        if !due {
            continue;
        }
        let Some(service) = service.upgrade() else {
            return;
        };
        let reload = tokio::time::timeout(Duration::from_secs(10), service.reload());
        match reload.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "widget settings: reload failed"),
            Err(_) => tracing::warn!("widget settings: reload timed out"),
        }
    }
}

fn live_from(
    defaults: &Defaults,
    saved: Option<(Stored, chrono::DateTime<chrono::Utc>, Option<String>)>,
) -> Live {
    let Some((s, at, by)) = saved else {
        return Live {
            widget: defaults.widget.clone(),
            allowed_origins: defaults.allowed_origins.clone(),
            identity_secret: defaults.identity_secret.clone(),
            secret_source: if defaults.identity_secret.is_some() {
                SecretSource::Environment
            } else {
                SecretSource::None
            },
            attachments: defaults.attachments.clone(),
            updated_at: None,
            updated_by: None,
        };
    };
    let (identity_secret, secret_source) = match s.identity_secret {
        Some(own) => (Some(SecretString::from(own)), SecretSource::Dashboard),
        None => match &defaults.identity_secret {
            Some(env) => (Some(env.clone()), SecretSource::Environment),
            None => (None, SecretSource::None),
        },
    };
    Live {
        widget: WidgetSettings {
            title: s.title,
            welcome_message: s.welcome_message,
            primary_color: s.primary_color,
            text_color: s.text_color,
            position: s.position,
            max_message_length: defaults.widget.max_message_length,
            offline_mode: s.offline_mode,
            reply_time: s.reply_time,
            identity_required: s.identity_required && identity_secret.is_some(),
        },
        allowed_origins: s.allowed_origins,
        identity_secret,
        secret_source,
        attachments: match &s.attachments {
            Some(saved) => FileLimits::within(saved, &defaults.attachments),
            None => defaults.attachments.clone(),
        },
        updated_at: Some(crate::storage::rfc3339(at)),
        updated_by: by.map(AgentId::from),
    }
}

fn view(live: &Live, defaults: &Defaults) -> WidgetSettingsView {
    let w = &live.widget;
    WidgetSettingsView {
        title: w.title.clone(),
        welcome_message: w.welcome_message.clone(),
        primary_color: w.primary_color.clone(),
        text_color: w.text_color.clone(),
        position: w.position,
        offline_mode: w.offline_mode,
        reply_time: w.reply_time.clone(),
        allowed_origins: live.allowed_origins.clone(),
        identity_required: w.identity_required,
        identity_secret: live
            .identity_secret
            .as_ref()
            .map(|s| s.expose_secret().to_string()),
        identity_secret_source: live.secret_source,
        max_message_length: w.max_message_length,
        public_url: defaults.public_url.clone(),
        attachments: live.attachments.view(),
        attachments_allowed: defaults.attachments.view(),
        updated_at: live.updated_at.clone(),
        updated_by: live.updated_by.clone(),
    }
}

/// Fixed settings for unit tests elsewhere (identity checks).
#[cfg(test)]
pub(crate) fn test_settings(secret: Option<&str>, required: bool) -> watch::Receiver<Arc<Live>> {
    let mut live = tests::live(&[]);
    live.identity_secret = secret.map(|s| SecretString::from(s.to_string()));
    live.widget.identity_required = required;
    watch::channel(Arc::new(live)).1
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn live(origins: &[&str]) -> Live {
        Live {
            widget: WidgetSettings {
                title: "t".into(),
                welcome_message: String::new(),
                primary_color: "#000".into(),
                text_color: "#fff".into(),
                position: WidgetPosition::BottomRight,
                max_message_length: 10,
                offline_mode: OfflineMode::Form,
                reply_time: String::new(),
                identity_required: false,
            },
            allowed_origins: origins.iter().map(|o| o.to_string()).collect(),
            identity_secret: None,
            secret_source: SecretSource::None,
            attachments: FileLimits {
                enabled: true,
                max_bytes: 1 << 20,
                types: crate::attachments::kind::Kind::ALL.to_vec(),
            },
            updated_at: None,
            updated_by: None,
        }
    }

    #[test]
    fn origins_are_checked_exactly_and_own_pages_pass() {
        let open = live(&[]);
        assert!(open.allows_origin("https://anything.example", None));
        let shop = live(&["https://shop.example.com"]);
        assert!(shop.allows_origin("https://shop.example.com", None));
        assert!(shop.allows_origin("HTTPS://SHOP.example.com:443", None));
        assert!(!shop.allows_origin("http://shop.example.com", None));
        assert!(!shop.allows_origin("https://evil.example.com", None));
        assert!(!shop.allows_origin("https://shop.example.com.evil.io", None));
        assert!(!shop.allows_origin("null", None));
        assert!(shop.allows_origin("http://127.0.0.1:8000", Some("127.0.0.1:8000")));
        assert!(!shop.allows_origin("http://127.0.0.1:8001", Some("127.0.0.1:8000")));
    }

    #[test]
    fn changes_are_checked_field_by_field() {
        let d = Defaults {
            public_url: String::new(),
            widget: live(&[]).widget,
            allowed_origins: vec![],
            identity_secret: None,
            attachments: live(&[]).attachments,
        };
        let base = Stored::from_defaults(&d);
        let ok = base
            .clone()
            .apply(
                WidgetSettingsChange {
                    title: Some("  Help  ".into()),
                    primary_color: Some("#ABCDEF".into()),
                    allowed_origins: Some(vec![
                        "https://Shop.example.com/".into(),
                        "https://shop.example.com".into(),
                        " ".into(),
                    ]),
                    ..Default::default()
                },
                false,
            )
            .unwrap();
        assert_eq!(ok.title, "Help");
        assert_eq!(ok.primary_color, "#abcdef");
        assert_eq!(ok.allowed_origins, ["https://shop.example.com"]);
        let bad = |change: WidgetSettingsChange| base.clone().apply(change, false).is_err();
        assert!(bad(WidgetSettingsChange {
            title: Some(" ".into()),
            ..Default::default()
        }));
        assert!(bad(WidgetSettingsChange {
            primary_color: Some("red".into()),
            ..Default::default()
        }));
        assert!(bad(WidgetSettingsChange {
            allowed_origins: Some(vec!["shop.example.com/path".into()]),
            ..Default::default()
        }));
        assert!(bad(WidgetSettingsChange {
            reply_time: Some("a\u{7}b".into()),
            ..Default::default()
        }));
        assert!(bad(WidgetSettingsChange {
            identity_secret: Some("short".into()),
            ..Default::default()
        }));
        assert!(bad(WidgetSettingsChange {
            identity_required: Some(true),
            ..Default::default()
        }));
        assert!(base
            .clone()
            .apply(
                WidgetSettingsChange {
                    identity_required: Some(true),
                    ..Default::default()
                },
                true,
            )
            .is_ok());
        assert!(base
            .apply(
                WidgetSettingsChange {
                    welcome_message: Some("Hi!\nWe answer fast.".into()),
                    ..Default::default()
                },
                false,
            )
            .is_ok());
    }
}
