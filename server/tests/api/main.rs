//! Integration tests: the real server, real SQLite (and PostgreSQL + Redis
//! when `TEST_DATABASE_URL` / `TEST_REDIS_URL` are set), real sockets.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "integration tests: a panic is a failed test"
)]

mod helpers;

mod account;
mod admin_api;
mod agent_socket;
mod attachments;
mod automation;
mod canned;
mod core;
mod customer_panel;
mod dashboard;
mod hardening;
mod inbox;
mod live;
mod migrate;
mod openapi;
mod presence;
mod process;
mod seed;
mod settings;
mod stats;
mod tokens;
mod two_instances;
mod visitor_socket;
mod widget_api;
mod widget_features;
