//! Stored files: one row per attachment, in its conversation.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "attachments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub session_id: String,
    /// Where the file is in the attachment storage (made by the server).
    pub storage_key: String,
    /// Where its thumbnail is, for an image that decoded.
    pub thumbnail_key: Option<String>,
    /// The sender's file name, cleaned; shown, never used as a path.
    pub name: String,
    pub size: i64,
    /// Decided from the bytes.
    pub content_type: String,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
