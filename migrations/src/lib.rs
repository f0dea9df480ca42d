//! Database schema of DEFMIS Chat, as SeaORM migrations that run the same on
//! SQLite (the embedded default) and PostgreSQL (production).
//!
//! # Layout
//! - `m20261123_000001_initial`: agents, their login/API tokens, chat
//!   sessions (one conversation with one visitor) and messages.
//! - `m20261201_000001_agent_display_name`: the name visitors see.
//! - `m20261202_000001_offline_presence`: offline conversations, and which
//!   agents have a socket open on which instance.
//! - `m20261202_000002_read_receipts`: each side's last read seq.
//! - `m20261210_000001_inbox`: assignment, each side's last message seq
//!   (waiting / unread), the inbox's keyset index, agents' private notes.
//! - `m20261210_000002_search`: full-text search (SQLite FTS5 with
//!   triggers; PostgreSQL generated `tsvector` columns with GIN indexes).
//! - `m20261215_000001_first_reply`: when each side first wrote (the
//!   home's first-response times), and per-day counts' index.
//! - `m20261215_000002_canned_responses`: saved replies (`/shortcut`).
//! - `m20261215_000003_token_last_used`: when each API token was last used.
//! - `m20261220_000001_site_settings`: settings saved in the dashboard
//!   (the widget's), applied without a restart.
//! - `m20261225_000001_visitor_context`, `m20261225_000002_note_client_id`:
//!   the customer panel's visitor facts; notes stored once per client_id.
//! - `m20261230_000001_attachments`: stored files, and the one a message
//!   carries.
//!
//! The server runs [`Migrator::up`] at start-up and through its `migrate`
//! subcommand.

pub use sea_orm_migration::prelude::*;

mod m20261123_000001_initial;
mod m20261201_000001_agent_display_name;
mod m20261202_000001_offline_presence;
mod m20261202_000002_read_receipts;
mod m20261210_000001_inbox;
mod m20261210_000002_search;
mod m20261215_000001_first_reply;
mod m20261215_000002_canned_responses;
mod m20261215_000003_token_last_used;
mod m20261220_000001_site_settings;
mod m20261225_000001_visitor_context;
mod m20261225_000002_note_client_id;
mod m20261230_000001_attachments;
mod m20270105_000001_auto_responses;

/// Every migration, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_initial::Migration),
            Box::new(m20261201_000001_agent_display_name::Migration),
            Box::new(m20261202_000001_offline_presence::Migration),
            Box::new(m20261202_000002_read_receipts::Migration),
            Box::new(m20261210_000001_inbox::Migration),
            Box::new(m20261210_000002_search::Migration),
            Box::new(m20261215_000001_first_reply::Migration),
            Box::new(m20261215_000002_canned_responses::Migration),
            Box::new(m20261215_000003_token_last_used::Migration),
            Box::new(m20261220_000001_site_settings::Migration),
            Box::new(m20261225_000001_visitor_context::Migration),
            Box::new(m20261225_000002_note_client_id::Migration),
            Box::new(m20261230_000001_attachments::Migration),
            Box::new(m20270105_000001_auto_responses::Migration),
        ]
    }
}
