//! Building the application from a [`Config`] and serving it.

use std::ops::Deref;
use std::sync::Arc;

use anyhow::Context;
use app::api::BackendHandle;
use app::{shell, App as DashboardApp};
use axum::extract::{DefaultBodyLimit, FromRef, MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::Router;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use sea_orm::DatabaseConnection;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{Any, CorsLayer};
use tower_http::trace::TraceLayer;

use crate::agents::AgentService;
use crate::auth::TokenHasher;
use crate::bus::{redis::RedisBus, Bus, Hub, LocalBus};
use crate::chat::ChatService;
use crate::config::Config;
use crate::dashboard::DashboardBackend;
use crate::error::AppError;
use crate::{agents, chat, dashboard, demo, storage};

/// Everything a request handler may need. Cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub config: Config,
    pub db: DatabaseConnection,
    pub chat: ChatService,
    pub agents: AgentService,
    pub hub: Arc<Hub>,
    pub leptos_options: LeptosOptions,
    /// Turns `true` when the server is stopping; sockets close with 1001.
    pub shutdown: watch::Receiver<bool>,
}

impl Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// A built server, bound to its port, not yet serving.
pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
    stop: watch::Sender<bool>,
}

impl Application {
    /// Connects to the database (running migrations) and the bus, and binds.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let db = storage::connect(&config)
            .await
            .context("DATABASE_URL: cannot connect")?;
        Self::build_with_db(config, db).await
    }

    /// Like [`Application::build`], on a database connection made elsewhere
    /// (tests pick a fresh schema).
    pub async fn build_with_db(config: Config, db: DatabaseConnection) -> anyhow::Result<Self> {
        storage::migrate(&db).await.context("migrations failed")?;
        let hub = Arc::new(Hub::default());
        let bus: Arc<dyn Bus> = match &config.redis_url {
            Some(url) => Arc::new(
                RedisBus::connect(url.expose_secret(), &config.redis_channel, hub.clone())
                    .await
                    .context("REDIS_URL: cannot connect")?,
            ),
            None => Arc::new(LocalBus::new(hub.clone())),
        };
        let hasher = TokenHasher::new(config.secret_key.clone());
        let chat = ChatService::new(db.clone(), bus, hasher.clone(), config.max_message_chars);
        let agents = AgentService::new(db.clone(), hasher, config.session_ttl_hours);
        let (stop, shutdown) = watch::channel(false);
        let leptos_options = leptos_options(&config);
        let listener = TcpListener::bind(config.bind)
            .await
            .with_context(|| format!("BIND_ADDR: cannot listen on {}", config.bind))?;
        let state = AppState(Arc::new(Inner {
            config,
            db,
            chat,
            agents,
            hub,
            leptos_options,
            shutdown,
        }));
        Ok(Self {
            listener,
            router: router(state.clone()),
            state,
            stop,
        })
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
    /// sockets with 1001.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `signal` completes.
    pub async fn run_until(
        self,
        signal: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let stop = self.stop;
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(async move {
                signal.await;
                let _ = stop.send(true);
            })
            .await
    }
}

fn leptos_options(config: &Config) -> LeptosOptions {
    // cargo-leptos sets LEPTOS_* at build and run time; a plain `cargo`
    // build (tests, `cargo run`) gets the same values from here.
    let mut options = leptos::config::get_configuration(None)
        .map(|c| c.leptos_options)
        .unwrap_or_else(|_| LeptosOptions::builder().output_name("defmis-chat").build());
    if options.output_name.is_empty() {
        options.output_name = "defmis-chat".into();
    }
    options.site_root = config.site_root.to_string_lossy().as_ref().into();
    options.site_addr = config.bind;
    options
}

/// Every route of the server.
pub fn router(state: AppState) -> Router {
    let widget_cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION])
        .max_age(std::time::Duration::from_secs(3600));
    let widget_api = Router::new()
        .route("/chat/api/widget/config/", get(chat::routes::widget_config))
        .route("/chat/api/chat/start/", post(chat::routes::start))
        .route("/chat/api/chat/message/", post(chat::routes::post_message))
        .route(
            "/chat/api/chat/{customer_id}/history/",
            get(chat::routes::history),
        )
        .layer(widget_cors);
    let admin_api = Router::new()
        .route(
            "/chat/api/admin/sessions/",
            get(agents::routes::list_sessions),
        )
        .route(
            "/chat/api/admin/session/{id}/",
            get(agents::routes::session_detail),
        )
        .route(
            "/chat/api/admin/session/{id}/status/",
            patch(agents::routes::update_status),
        )
        .route(
            "/chat/api/admin/session/{id}/messages/",
            post(agents::routes::reply),
        );
    let sockets = Router::new()
        .route("/ws/chat/{customer_id}/", get(chat::socket::visitor_socket))
        .route("/ws/admin/dashboard/", get(dashboard::socket::agent_socket));

    let backend: BackendHandle = Arc::new(DashboardBackend(state.clone()));
    let routes = generate_route_list(DashboardApp);
    let options = state.leptos_options.clone();
    let dashboard = Router::new()
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(backend.clone()),
            move || shell(options.clone()),
        )
        .layer(middleware::from_fn_with_state(
            state.clone(),
            dashboard::guard,
        ));

    Router::new()
        .route("/", get(demo::page))
        .route("/healthz", get(health))
        .merge(widget_api)
        .merge(admin_api)
        .merge(dashboard)
        .layer(DefaultBodyLimit::max(64 * 1024))
        .merge(sockets)
        // Compressed: the widget's wasm is 74 KB raw, 32 KB gzipped.
        .fallback_service(
            axum::routing::any(static_or_404)
                .layer(CompressionLayer::new())
                .with_state(state.clone()),
        )
        .layer(middleware::from_fn_with_state(state.clone(), check_host))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let route = req
                .extensions()
                .get::<MatchedPath>()
                .map(MatchedPath::as_str)
                .unwrap_or("fallback");
            tracing::info_span!("request", http.method = %req.method(), http.route = route)
        }))
        .with_state(state)
}

async fn health(State(state): State<AppState>) -> Result<impl IntoResponse, AppError> {
    state.db.ping().await?;
    Ok(axum::Json(serde_json::json!({ "status": "ok" })))
}

/// Static files from the site root (the widget, the dashboard's wasm and
/// CSS), CORS-open so the widget loads on any site; otherwise a JSON 404 for
/// API paths or the dashboard's not-found page.
async fn static_or_404(State(state): State<AppState>, request: Request) -> Response {
    let path = request.uri().path().to_string();
    if path.starts_with("/chat/api/") || path.starts_with("/ws/") {
        return AppError::NotFound("not_found", format!("No endpoint at {path}.")).into_response();
    }
    let options = state.leptos_options.clone();
    let handler = leptos_axum::file_and_error_handler(shell);
    let uri = request.uri().clone();
    let mut response = handler(uri, State(options), request).await;
    if path.starts_with("/static/") || path.starts_with("/pkg/") {
        response.headers_mut().insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
    }
    response
}

/// Refuses `Host` names not in `ALLOWED_HOSTS` (DNS rebinding, cache
/// poisoning).
async fn check_host(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| request.uri().host());
    match host {
        Some(h) if state.config.allowed_hosts.allows(h) => next.run(request).await,
        _ => (
            StatusCode::BAD_REQUEST,
            axum::Json(serde_json::json!({"error": {"code": "invalid_host", "message": "This host name is not in ALLOWED_HOSTS."}})),
        )
            .into_response(),
    }
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
