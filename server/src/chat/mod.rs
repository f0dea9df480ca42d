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
//! - `routes`: the public widget HTTP API (thin handlers) and its router.
//! - `socket`: the visitor WebSocket (a [`crate::ws::Handler`]).
//! - `seed`: the inbox benchmark's data (`defmis-chat seed-benchmark`).

use std::sync::Arc;

use tokio::sync::watch;

use crate::attachments::AttachmentService;
use crate::limits::Limits;
use crate::settings::SettingsService;
use crate::ws::Sockets;

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

/// What the widget API and the visitor socket use of the server (taken
/// from the router's state through `FromRef`).
#[derive(Clone)]
pub struct WidgetState {
    pub chat: Arc<ChatService>,
    /// The widget's settings in force, its allowed origins among them.
    pub settings: Arc<SettingsService>,
    /// What a visitor may attach.
    pub attachments: Arc<AttachmentService>,
    /// Whether an agent is available now (presence and business hours).
    pub available: watch::Receiver<bool>,
    pub limits: Arc<Limits>,
    pub sockets: Sockets,
    /// The longest message, in characters (a socket frame's size limit).
    pub max_message_chars: usize,
}
