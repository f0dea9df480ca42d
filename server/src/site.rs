//! The site around the APIs: the demo page, `/healthz`, static files (the
//! widget, the dashboard's wasm and CSS) and the `Host` check.

use app::shell;
use app::types::ErrorCode;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::error::AppError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(crate::demo::page))
        .route("/healthz", get(health))
}

async fn health(State(state): State<AppState>) -> Result<impl IntoResponse, AppError> {
    state.chat.ping().await?;
    Ok(axum::Json(serde_json::json!({ "status": "ok" })))
}

/// Static files from the site root, CORS-open so the widget loads on any
/// site; otherwise a JSON 404 for API paths or the dashboard's not-found
/// page.
pub async fn static_or_404(State(state): State<AppState>, request: Request) -> Response {
    let path = request.uri().path().to_string();
    if path.starts_with("/chat/api/") || path.starts_with("/ws/") {
        return AppError::NotFound(ErrorCode::NotFound, format!("No endpoint at {path}."))
            .into_response();
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
pub async fn check_host(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| request.uri().host());
    match host {
        Some(h) if state.config.allowed_hosts.allows(h) => next.run(request).await,
        _ => AppError::BadRequest(
            ErrorCode::InvalidHost,
            "This host name is not in ALLOWED_HOSTS.".into(),
        )
        .into_response(),
    }
}
