//! One conversation with one visitor.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "chat_sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The visitor-facing id; knowing it grants nothing without the token.
    #[sea_orm(unique)]
    pub customer_id: String,
    pub token_hash: String,
    pub name: Option<String>,
    pub email: Option<String>,
    /// `open` or `closed`.
    pub status: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_message: Option<String>,
    pub last_message_at: Option<DateTimeUtc>,
    /// The highest message seq handed out; the next message gets one more.
    pub last_seq: i64,
    /// The highest seq the visitor has read; never lowered.
    pub customer_read_seq: i64,
    /// The highest seq an agent has read; never lowered.
    pub agent_read_seq: i64,
    /// Began as an offline message (no agent was available).
    pub offline: bool,
    /// The agent working on it; `None`: nobody.
    pub assignee_id: Option<String>,
    /// The seq of the newest visitor message (0: none).
    pub last_customer_seq: i64,
    /// The seq of the newest agent message (0: none).
    pub last_agent_seq: i64,
    /// When the first visitor message was stored.
    pub first_customer_at: Option<DateTimeUtc>,
    /// When the first agent message was stored (the first response).
    pub first_agent_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
