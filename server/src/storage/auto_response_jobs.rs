//! Automated replies waiting for their delay; claimed by one instance.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "auto_response_jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub rule_id: String,
    pub session_id: String,
    pub trigger_message_id: String,
    pub trigger_seq: i64,
    pub due_at: DateTimeUtc,
    /// Set while an instance sends it; a crashed instance's claim lapses.
    pub claimed_until: Option<DateTimeUtc>,
    pub attempts: i32,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
