//! The dashboard's side of the server: the Leptos app and its server
//! functions, the sign-in guard, and the agent socket.
//!
//! # Layout
//! - this file: [`router`] and [`guard`].
//! - `backend`: [`backend::DashboardBackend`], what server functions call.
//! - `socket`: `/ws/admin/dashboard/` (a [`crate::ws::Handler`]).

use std::sync::Arc;

use app::api::{cookie_value, session_cookie_name, BackendHandle};
use app::types::ErrorCode;
use app::{shell, App as DashboardApp};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};

use crate::agents::extract::same_origin;
use crate::agents::TokenKind;
use crate::error::AppError;
use crate::state::AppState;

pub mod backend;
pub mod socket;

/// The dashboard pages, its server functions (`/api/…`) and the agent
/// socket. Takes the state because the server functions' context is built
/// from it once.
pub fn router(state: &AppState) -> Router<AppState> {
    let handle: BackendHandle = Arc::new(backend::DashboardBackend(state.clone()));
    let routes = generate_route_list(DashboardApp);
    let options = state.leptos_options.clone();
    Router::new()
        .leptos_routes_with_context(
            state,
            routes,
            move || provide_context(handle.clone()),
            move || shell(options.clone()),
        )
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .route("/ws/admin/dashboard/", get(socket::agent_socket))
}

/// Refuses server-function calls from other sites (CSRF: a same-origin
/// `Origin`, or `Sec-Fetch-Site: same-origin`, is required), sends a
/// signed-out visitor of a dashboard page to the sign-in page (the server
/// functions check again: they are public endpoints), and adds the
/// security headers to every dashboard response.
pub async fn guard(state: State<AppState>, request: Request, next: Next) -> Response {
    if request.method() == axum::http::Method::POST && !from_our_pages(request.headers()) {
        return AppError::Forbidden(
            ErrorCode::BadOrigin,
            "Dashboard calls are accepted from the dashboard's own pages only.".into(),
        )
        .into_response();
    }
    let mut response = sign_in_first(state, request, next).await;
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        // A page's own policy (with its script nonce) is stricter: kept.
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    response
}

/// On every dashboard page and server-function answer (pages set a
/// stricter Content-Security-Policy of their own, with a script nonce).
const SECURITY_HEADERS: [(HeaderName, &str); 4] = [
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "same-origin"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (
        header::CONTENT_SECURITY_POLICY,
        "frame-ancestors 'none'; object-src 'none'; base-uri 'self'; form-action 'self'",
    ),
];

/// Whether a request comes from a page of this very site.
fn from_our_pages(headers: &HeaderMap) -> bool {
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    match fetch_site {
        Some(site) => site == "same-origin",
        None => same_origin(headers),
    }
}

async fn sign_in_first(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let public = matches!(path, "/dashboard/login" | "/dashboard/setup");
    let protected = !public && (path == "/dashboard" || path.starts_with("/dashboard/"));
    if !protected || request.method() != axum::http::Method::GET {
        return next.run(request).await;
    }
    let name = session_cookie_name(state.config.secure_cookies());
    let signed_in = match cookie_value(request.headers(), name) {
        Some(token) => matches!(
            state
                .agents
                .agent_for_token(&token, TokenKind::Session)
                .await,
            Ok(Some(_))
        ),
        None => false,
    };
    if signed_in {
        next.run(request).await
    } else {
        Redirect::to("/dashboard/login").into_response()
    }
}
