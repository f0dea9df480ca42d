//! Building the application from a [`Config`] and serving it: composes
//! the domains' routers, the middleware and the listener, nothing more.

use std::sync::Arc;

use anyhow::Context;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::middleware;
use axum::Router;
use leptos::config::LeptosOptions;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

/// The header carrying a request's id.
static REQUEST_ID: axum::http::HeaderName = axum::http::HeaderName::from_static("x-request-id");

use crate::agents::AgentService;
use crate::attachments::link::Links;
use crate::attachments::AttachmentService;
use crate::auth::TokenHasher;
use crate::automation::engine::Engine;
use crate::automation::AutomationService;
use crate::bus::{Bus, Hub};
use crate::canned::CannedService;
use crate::chat::identity::Identity;
use crate::chat::service::VisitorOptions;
use crate::chat::store::ChatStore;
use crate::chat::writer::Writer;
use crate::chat::ChatService;
use crate::config::Config;
use crate::limits::Limits;
use crate::mail::Mailer;
use crate::metrics::{self, Metrics};
use crate::presence::store::PresenceStore;
use crate::presence::Presence;
use crate::settings::SettingsService;
use crate::state::{AppState, Inner};
use crate::storage::Db;
use crate::{
    agents, attachments, automation, canned, chat, dashboard, openapi, serve, settings, site,
    storage,
};

/// A built server, bound to its port, not yet serving.
pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
    stop: watch::Sender<bool>,
    metrics_addr: Option<std::net::SocketAddr>,
    /// Answers visitors automatically while the application runs.
    _engine: Arc<Engine>,
}

impl Application {
    /// Connects to the database (running migrations) and the bus, and binds.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let db = storage::connect(&config)
            .await
            .context("DATABASE_URL: cannot connect")?;
        Self::build_with_db(config, db).await
    }

    /// Like [`Application::build`], on a database opened elsewhere (tests
    /// pick a fresh schema).
    pub async fn build_with_db(config: Config, db: Db) -> anyhow::Result<Self> {
        storage::migrate(&db).await.context("migrations failed")?;
        let hub = Arc::new(Hub::default());
        let metrics = Arc::new(Metrics::default());
        let bus = Arc::new(match &config.redis_url {
            Some(url) => Bus::redis(
                url.expose_secret(),
                &config.redis_channel,
                hub,
                metrics.clone(),
            )
            .await
            .context("REDIS_URL: cannot connect")?,
            None => Bus::local(hub),
        });
        let hasher = TokenHasher::new(config.secret_key.clone());
        let settings = SettingsService::start(db.clone(), &config, bus.clone())
            .await
            .context("cannot read the widget settings")?;
        let identity = Identity::new(settings.subscribe(), &config.secret_key);
        let mailer = match &config.smtp {
            Some(smtp) => Some(Mailer::start(smtp)?),
            None => None,
        };
        let limits = Arc::new(Limits::new(
            config.limits.clone(),
            config.trusted_proxies.clone(),
            metrics.clone(),
        ));
        let sweeper = limits.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
            loop {
                every.tick().await;
                sweeper.sweep();
            }
        });
        let links = Links::new(
            config.secret_key.expose_secret().as_bytes(),
            config.attachments.link_lifetime,
        );
        let attachments = Arc::new(AttachmentService::new(
            config.attachments.clone(),
            settings.subscribe(),
            db.clone(),
            links.clone(),
        )?);
        let store = Arc::new(ChatStore::new(db.clone(), links));
        // SQLite has one writer connection; PostgreSQL takes parallel
        // transactions (on disjoint conversations, locked in id order).
        let writers = if config.is_postgres() {
            (config.database_pool_size as usize / 4).clamp(1, 4)
        } else {
            1
        };
        let (committed, committed_rx) = tokio::sync::mpsc::channel(automation::engine::QUEUE);
        let writer = Writer::start(
            store.clone(),
            bus.clone(),
            metrics.clone(),
            config.write_batch_max,
            writers,
            Some(committed),
        );
        let chat = Arc::new(ChatService::new(
            store,
            writer,
            bus.clone(),
            hasher.clone(),
            config.max_message_chars,
            limits.clone(),
            VisitorOptions { identity, mailer },
        ));
        let presence = Presence::start(
            PresenceStore::new(db.clone()),
            format!("{:016x}", bus.origin().0),
        );
        let automation = AutomationService::start(
            db.clone(),
            bus.clone(),
            presence.clone(),
            config.max_message_chars,
        )
        .await?;
        let engine = Engine::start(
            automation.clone(),
            chat.clone(),
            metrics.clone(),
            committed_rx,
        );
        let canned = Arc::new(CannedService::new(db.clone(), config.max_message_chars));
        let agents = Arc::new(AgentService::new(
            db,
            hasher,
            config.session_ttl_hours,
            limits.clone(),
        ));
        let (stop, shutdown) = watch::channel(false);
        let leptos_options = leptos_options(&config);
        let listener = TcpListener::bind(config.bind)
            .await
            .with_context(|| format!("BIND_ADDR: cannot listen on {}", config.bind))?;
        let state = AppState(Arc::new(Inner {
            config,
            chat,
            attachments,
            agents,
            canned,
            automation,
            settings,
            bus,
            limits,
            metrics: metrics.clone(),
            presence,
            leptos_options,
            shutdown,
        }));
        let metrics_addr = match state.config.metrics_addr {
            Some(addr) => {
                let bus = state.bus.clone();
                let depth = Arc::new(move || bus.queue_depth());
                let bound = metrics::serve(addr, metrics, depth)
                    .await
                    .with_context(|| format!("METRICS_ADDR: cannot listen on {addr}"))?;
                Some(bound)
            }
            None => None,
        };
        Ok(Self {
            listener,
            router: router(state.clone()),
            state,
            stop,
            metrics_addr,
            _engine: engine,
        })
    }

    /// Where `/metrics` is served, when `METRICS_ADDR` is set.
    pub fn metrics_addr(&self) -> Option<std::net::SocketAddr> {
        self.metrics_addr
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The first-run link, while no agent exists.
    pub async fn setup_url(&self) -> anyhow::Result<Option<String>> {
        let token = self
            .state
            .agents
            .ensure_setup_token()
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(token.map(|t| format!("{}/dashboard/setup?token={t}", self.state.config.public_url)))
    }

    /// Serves until SIGINT or SIGTERM, then lets requests finish and closes
    /// sockets with 1012, within `SHUTDOWN_GRACE_SECONDS`.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `signal` completes.
    pub async fn run_until(
        self,
        signal: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let options = serve::Options {
            header_timeout: self.state.config.limits.header_timeout,
            grace: self.state.config.shutdown_grace,
        };
        let limits = self.state.limits.clone();
        serve::serve(
            self.listener,
            self.router,
            options,
            signal,
            self.stop,
            move || limits.open_sockets() == 0,
        )
        .await;
        Ok(())
    }
}

fn leptos_options(config: &Config) -> LeptosOptions {
    // cargo-leptos sets LEPTOS_* at build and run time; a plain `cargo`
    // build (tests, `cargo run`) gets the same values from here.
    let mut options: LeptosOptions = leptos::config::get_configuration(None)
        .map(|c| c.leptos_options)
        .unwrap_or_else(|_| LeptosOptions::builder().output_name("defmis-chat").build());
    if options.output_name.is_empty() {
        options.output_name = "defmis-chat".into();
    }
    options.site_root = config.site_root.to_string_lossy().as_ref().into();
    options.site_addr = config.bind;
    options
}

/// Every route of the server: each domain's router, then the middleware.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(site::router())
        .merge(chat::routes::router(&state))
        .merge(agents::routes::router())
        .merge(canned::routes::router())
        .merge(automation::routes::router())
        .merge(settings::routes::router())
        .merge(openapi::router())
        .merge(dashboard::router(&state))
        .layer(DefaultBodyLimit::max(64 * 1024))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            serve::body_in_time,
        ))
        // After those two layers: uploads stream, with limits of their own.
        .merge(attachments::routes::router(&state))
        // Compressed: the widget's wasm is 74 KB raw, 32 KB gzipped.
        .fallback_service(
            axum::routing::any(site::static_or_404)
                .layer(CompressionLayer::new())
                .with_state(state.clone()),
        )
        .layer(middleware::from_fn_with_state(
            state.clone(),
            site::check_host,
        ))
        // Every log line of a request carries its id (`X-Request-Id`: the
        // client's or a new UUID), which the answer echoes.
        .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let route = req
                .extensions()
                .get::<MatchedPath>()
                .map(MatchedPath::as_str)
                .unwrap_or("fallback");
            let id = req
                .headers()
                .get(&REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            tracing::info_span!("request", request_id = id, http.method = %req.method(), http.route = route)
        }))
        .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), MakeRequestUuid))
        .with_state(state)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
