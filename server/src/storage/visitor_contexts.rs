//! What the customer panel shows about a conversation's visitor: one row
//! per conversation, written on every start or resume.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "visitor_contexts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub session_id: String,
    /// Identity verification vouched for the visitor at their last start.
    pub verified: bool,
    /// Their last start, or when their socket last closed.
    pub last_seen_at: DateTimeUtc,
    #[sea_orm(column_type = "Text", nullable)]
    pub page_url: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub referrer: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub user_agent: Option<String>,
    /// An IANA name as the browser reports it (`Europe/Paris`).
    pub time_zone: Option<String>,
    /// Minutes east of UTC (`120` in Paris in summer).
    pub utc_offset: Option<i32>,
    /// The visitor's language (a BCP 47 tag: `es`, `fr-CA`).
    pub language: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
