//! The site around the APIs: the demo page, `/healthz`, static files (the
//! widget, the dashboard's wasm and CSS) and the `Host` check.

use app::shell;
use app::types::{ApiError, ErrorCode};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::AppError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(crate::demo::page))
        .route("/healthz", get(health))
        .route("/readyz", get(ready))
}

/// `/healthz` and `/readyz`: `{"status", "checks"?, "error"?}`.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok` or `unavailable`.
    pub status: String,
    /// `/readyz`: `{"database": "ok"|"down", "redis": "ok"|"down"|"not configured"}`.
    #[schema(value_type = Option<Object>)]
    pub checks: Option<serde_json::Value>,
    pub error: Option<ApiError>,
}

/// Alive: the process answers (it checks nothing else, so an orchestrator
/// does not restart a server whose database is briefly away).
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "The process answers: `{\"status\":\"ok\"}`", body = Health)))]
pub async fn health() -> impl IntoResponse {
    axum::Json(serde_json::json!({ "status": "ok" }))
}

/// Ready: the database answers within 2 s and, when configured, Redis is
/// connected. 503 names what is down.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses((status = 200, description = "The database (and Redis, when configured) answer", body = Health), (status = 503, description = "Something is down; `checks` names it", body = Health)))]
pub async fn ready(State(state): State<AppState>) -> Response {
    let database = matches!(
        tokio::time::timeout(std::time::Duration::from_secs(2), state.chat.ping()).await,
        Ok(Ok(()))
    );
    let redis = state.bus.redis_connected();
    let mut down = Vec::new();
    if !database {
        down.push("database");
    }
    if redis == Some(false) {
        down.push("redis");
    }
    let checks = serde_json::json!({
        "database": if database { "ok" } else { "down" },
        "redis": match redis { None => "not configured", Some(true) => "ok", Some(false) => "down" },
    });
    if down.is_empty() {
        return axum::Json(serde_json::json!({ "status": "ok", "checks": checks })).into_response();
    }
    let mut response = (
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        axum::Json(serde_json::json!({
            "status": "unavailable",
            "checks": checks,
            "error": ApiError::new(ErrorCode::Unavailable, format!("Not ready: {} down.", down.join(" and "))),
        })),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

/// Where an address the dashboard does not serve as written belongs: a
/// dashboard page with a trailing slash goes to the page without it (the
/// canonical form, permanently), and the seed's Django admin (`/admin/…`)
/// to the dashboard's administration (for now: it may move).
pub fn dashboard_redirect(path: &str, query: Option<&str>) -> Option<Redirect> {
    let with_query = |to: &str| match query {
        Some(q) => format!("{to}?{q}"),
        None => to.to_string(),
    };
    let is_dashboard = path == "/dashboard/" || path.starts_with("/dashboard/");
    if is_dashboard && path.len() > 1 && path.ends_with('/') {
        let to = path.trim_end_matches('/');
        return Some(Redirect::permanent(&with_query(to)));
    }
    if path == "/admin" || path.starts_with("/admin/") {
        return Some(Redirect::to(&with_query("/dashboard/admin")));
    }
    None
}

/// Static files from the site root, CORS-open so the widget loads on any
/// site; the dashboard's redirects ([`dashboard_redirect`]); otherwise a
/// JSON 404 for API paths or the dashboard's not-found page.
pub async fn static_or_404(State(state): State<AppState>, request: Request) -> Response {
    let path = request.uri().path().to_string();
    if path.starts_with("/chat/api/") || path.starts_with("/ws/") {
        return AppError::NotFound(ErrorCode::NotFound, format!("No endpoint at {path}."))
            .into_response();
    }
    let reads = matches!(*request.method(), Method::GET | Method::HEAD);
    if let Some(redirect) = reads
        .then(|| dashboard_redirect(&path, request.uri().query()))
        .flatten()
    {
        return redirect.into_response();
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
    if path.starts_with("/pkg/") {
        // The dashboard's main module and its per-page chunks must come
        // from one release: revalidate every time (304 when unchanged).
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
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

#[cfg(test)]
mod tests {
    use axum::response::IntoResponse;

    use super::dashboard_redirect;

    fn target(path: &str, query: Option<&str>) -> Option<(u16, String)> {
        let response = dashboard_redirect(path, query)?.into_response();
        let location = response.headers()["location"].to_str().unwrap().to_string();
        Some((response.status().as_u16(), location))
    }

    #[test]
    fn trailing_slashes_and_the_seeds_admin() {
        assert_eq!(
            target("/dashboard/", None),
            Some((308, "/dashboard".into()))
        );
        assert_eq!(
            target("/dashboard/conversations/", Some("q=a%20b")),
            Some((308, "/dashboard/conversations?q=a%20b".into()))
        );
        assert_eq!(
            target("/dashboard/login//", None),
            Some((308, "/dashboard/login".into()))
        );
        assert_eq!(
            target("/admin/", None),
            Some((303, "/dashboard/admin".into()))
        );
        assert_eq!(
            target("/admin", None),
            Some((303, "/dashboard/admin".into()))
        );
        assert_eq!(
            target("/admin/chat/chatsession/", None),
            Some((303, "/dashboard/admin".into()))
        );
        assert_eq!(target("/dashboard", None), None);
        assert_eq!(target("/dashboards/", None), None);
        assert_eq!(target("/administrator", None), None);
        assert_eq!(target("/", None), None);
    }
}
