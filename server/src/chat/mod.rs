//! Conversations: starting and resuming them, storing messages exactly once
//! in order (group commit), reading history a page at a time, and
//! announcing every change on the bus.
//!
//! # Layout
//! - `service`: [`ChatService`], the rules.
//! - `store`: the queries (the only SeaORM in this domain), batch writes;
//!   `store/inbox.rs` the inbox, session views and assignment,
//!   `store/notes.rs` agents' private notes, `store/visitor.rs` the
//!   customer panel's rows.
//! - `writer`: the group-commit task in front of the store.
//! - `domain`: parsed input values and [`domain::Conversation`].
//! - `inbox`: the agents' list query (filters, search words, cursors),
//!   parsed once.
//! - `identity`: `customer_hash` checks and derived tokens.
//! - `visitor`: the customer panel's facts (page, referrer, browser,
//!   local time), read leniently from a start.
//! - `routes`: the public widget HTTP API (thin handlers).
//! - `socket`: the visitor WebSocket (a [`crate::ws::Handler`]).
//! - `seed`: the inbox benchmark's data (`defmis-chat seed-benchmark`).

use axum::routing::{get, post};
use axum::Router;
use tower_http::cors::{Any, CorsLayer};

use crate::state::AppState;

pub mod domain;
pub mod identity;
pub mod inbox;
pub mod routes;
pub mod seed;
pub mod service;
pub mod socket;
pub mod store;
pub mod visitor;
pub mod writer;

pub use service::{ChatService, HistoryQuery, OfflineRequest, StartRequest, StartResponse};

/// CORS for the widget API: any site may call it (the allowed origins
/// are checked by `routes::check_origin`).
pub fn widget_cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([axum::http::Method::GET, axum::http::Method::POST])
        .allow_headers([
            axum::http::header::CONTENT_TYPE,
            axum::http::header::AUTHORIZATION,
        ])
        .max_age(std::time::Duration::from_secs(3600))
}

/// The widget API (CORS-open: it runs on customers' sites) and the visitor
/// socket; both refuse pages whose site is not in the widget settings'
/// allowed origins (when there are any).
pub fn router(state: &AppState) -> Router<AppState> {
    let origins = axum::middleware::from_fn_with_state(state.clone(), routes::check_origin);
    let cors = widget_cors();
    let api = Router::new()
        .route("/chat/api/widget/config/", get(routes::widget_config))
        .route("/chat/api/chat/start/", post(routes::start))
        .route("/chat/api/chat/message/", post(routes::post_message))
        .route("/chat/api/chat/read/", post(routes::read))
        .route("/chat/api/chat/context/", post(routes::context))
        .route("/chat/api/chat/offline/", post(routes::offline))
        .route(
            "/chat/api/chat/{customer_id}/history/",
            get(routes::history),
        )
        .layer(origins.clone())
        .layer(cors);
    Router::new().merge(api).route(
        "/ws/chat/{customer_id}/",
        get(socket::visitor_socket).layer(origins),
    )
}
