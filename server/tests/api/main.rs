//! Integration tests: the real server, real SQLite (and PostgreSQL + Redis
//! when `TEST_DATABASE_URL` / `TEST_REDIS_URL` are set), real sockets.

mod helpers;

mod admin_api;
mod core;
mod agent_socket;
mod dashboard;
mod two_instances;
mod visitor_socket;
mod widget_api;
