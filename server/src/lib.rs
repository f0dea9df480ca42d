//! The DEFMIS Chat server: an axum host for the widget API, the agent
//! dashboard (Leptos), the real-time sockets and the command-line tools.
//!
//! # Layout
//! - [`config`]: the typed configuration, from the environment.
//! - [`state`]: [`state::AppState`], what the server holds; each domain's
//!   router takes only its part of it (`FromRef`), so no domain imports
//!   the state (nor, through it, every other domain). Only what sits above
//!   the domains (the dashboard, the site, startup) names `AppState`.
//! - [`startup`]: [`startup::Application`] (build, bind, serve); composes
//!   the domains' routers.
//! - Domains, each with a service (rules), a store (queries: the only
//!   SeaORM) and thin handlers with their router in `routes.rs` (so the
//!   service never imports its handlers):
//!   - [`chat`]: conversations and messages — widget API, visitor socket,
//!     the group-commit writer.
//!   - [`agents`]: accounts, sign-in, API tokens, admin API.
//!   - [`attachments`]: files and images in conversations — streamed
//!     uploads with limits, types from the bytes, metadata-free images and
//!     thumbnails, signed expiring downloads.
//!   - [`canned`]: canned responses (`/shortcut` replies).
//!   - [`settings`]: the widget's settings saved in the dashboard (look,
//!     offline mode, allowed origins, identity verification), applied on
//!     every instance without a restart.
//!   - [`dashboard`]: the Leptos app's server functions and the agent socket.
//! - [`presence`]: whether an agent is available (a socket open on any
//!   instance); [`mail`]: offline messages e-mailed to the team.
//! - [`bus`]: the event stream — local delivery first, Redis between
//!   instances.
//! - [`ws`]: the one socket driver both sockets run on.
//! - [`storage`]: connections (SQLite writer + readers, or a PostgreSQL
//!   pool) and entities (`migrations` has the schema).
//! - [`site`]: demo page, health, static files, the Host check.
//! - [`auth`], [`error`]: secrets and the admin-role check, and the one
//!   error type.
//! - [`limits`]: rate and count limits, the client address; [`serve`]: the
//!   listener (header and body timeouts, graceful stop); [`metrics`]:
//!   Prometheus metrics on `METRICS_ADDR`.
//! - [`openapi`]: the OpenAPI document (`/chat/api/openapi.json`),
//!   generated from the handlers' attributes.
//! - [`cli`]: `serve`, `migrate`, `create-admin`, `create-api-token`.
//!
//! A visitor's message travels: `chat::socket` (or `chat::routes`) →
//! `chat::service::ChatService::post_as_visitor` → `chat::writer` (batched)
//! → `chat::store::ChatStore::write_batch` (one transaction) → the sender's
//! acknowledgement → `bus::Bus::publish` → `bus::Hub` → every agent socket
//! (`dashboard::socket`) and the conversation's visitor sockets, and over
//! `bus::redis` to the other instances' hubs.

pub mod agents;
pub mod attachments;
pub mod auth;
pub mod automation;
pub mod bus;
pub mod canned;
pub mod chat;
pub mod cli;
pub mod config;
pub mod dashboard;
pub mod demo;
pub mod error;
pub mod limits;
pub mod mail;
pub mod metrics;
pub mod openapi;
pub mod presence;
pub mod serve;
pub mod settings;
pub mod site;
pub mod startup;
pub mod state;
pub mod storage;
pub mod telemetry;
pub mod ws;

#[cfg(test)]
mod decoders;
