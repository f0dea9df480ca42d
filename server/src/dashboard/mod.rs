//! The dashboard's side of the server: the Leptos app and its server
//! functions, the sign-in guard, and the agent socket.
//!
//! # Layout
//! - this file: [`router`] and [`guard`].
//! - `backend`: [`backend::DashboardBackend`], what server functions call.
//! - `socket`: `/ws/admin/dashboard/` (a [`crate::ws::Handler`]).

use std::sync::Arc;

use app::api::{cookie_value, BackendHandle, SESSION_COOKIE};
use app::{shell, App as DashboardApp};
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};

use crate::agents::TokenKind;
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

/// Sends a signed-out visitor of a dashboard page to the sign-in page (the
/// server functions check again: they are public endpoints).
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let protected = path == "/dashboard"
        || path == "/dashboard/"
        || path.starts_with("/dashboard/conversations/");
    if !protected || request.method() != axum::http::Method::GET {
        return next.run(request).await;
    }
    let signed_in = match cookie_value(request.headers(), SESSION_COOKIE) {
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
