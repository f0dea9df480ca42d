//! The DEFMIS Chat server: an axum host for the widget API, the agent
//! dashboard (Leptos), the real-time sockets and the command-line tools.
//!
//! # Layout
//! - [`config`]: the typed configuration, from the environment.
//! - [`startup`]: [`startup::Application`] (build, bind, serve) and the router.
//! - [`chat`]: conversations and messages — service, widget API, visitor socket.
//! - [`agents`]: accounts, sign-in, API tokens, admin API.
//! - [`dashboard`]: what the Leptos dashboard calls, and the agent socket.
//! - [`bus`]: event fan-out, in-process or over Redis.
//! - [`storage`]: SeaORM connection and entities (`migrations` has the schema).
//! - [`auth`], [`error`], [`ws`]: secrets, the HTTP error type, socket helpers.
//! - [`cli`]: `serve`, `migrate`, `create-admin`, `create-api-token`.

pub mod agents;
pub mod auth;
pub mod bus;
pub mod chat;
pub mod cli;
pub mod config;
pub mod dashboard;
pub mod demo;
pub mod error;
pub mod startup;
pub mod storage;
pub mod telemetry;
pub mod ws;
