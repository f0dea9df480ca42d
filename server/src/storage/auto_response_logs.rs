//! Every firing of an automated response, and every match suppressed.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "auto_response_logs")]
pub struct Model {
    /// UUID v7: newest last, the log's paging key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub rule_id: Option<String>,
    pub rule_name: String,
    pub session_id: String,
    pub trigger_message_id: Option<String>,
    pub reply_message_id: Option<String>,
    /// `fired`, `cooldown`, `max_reached`, `agent_replied`, `failed`.
    pub outcome: String,
    #[sea_orm(column_type = "Text")]
    pub reason: String,
    /// The reply asked the visitor for an e-mail address.
    pub asked_email: bool,
    /// Unique where set: `msg:<visitor message id>`, `wait:<id>`.
    pub dedupe: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
