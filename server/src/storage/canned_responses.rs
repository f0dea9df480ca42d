//! Saved replies agents type as `/shortcut`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "canned_responses")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Lower case, unique: `refund` for `/refund`.
    #[sea_orm(unique)]
    pub shortcut: String,
    #[sea_orm(column_type = "Text")]
    pub content: String,
    /// Who saved it first; `None` if their account is gone.
    pub created_by: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
