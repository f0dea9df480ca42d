//! Messages, numbered 1, 2, 3… within their conversation.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "messages")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub session_id: String,
    pub seq: i64,
    /// `customer`, `agent` or `bot`.
    pub sender: String,
    pub agent_id: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub content: String,
    /// The sender's idempotency key, unique within the conversation.
    pub client_id: Option<String>,
    pub created_at: DateTimeUtc,
    /// The file this message carries (`attachments.id`).
    pub attachment_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
