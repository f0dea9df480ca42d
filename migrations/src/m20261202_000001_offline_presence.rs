//! Offline conversations and agent presence.
//!
//! - `chat_sessions.offline`: the conversation began as an offline message
//!   (the widget's form, sent while no agent was available).
//! - `agent_presence`: one row per agent with a socket open on an instance,
//!   refreshed by that instance while the socket lasts; a row past
//!   `expires_at` (its instance crashed) no longer counts.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ChatSessions {
    Table,
    Offline,
}

#[derive(DeriveIden)]
enum AgentPresence {
    Table,
    InstanceId,
    AgentId,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ChatSessions::Table)
                    .add_column(
                        ColumnDef::new(ChatSessions::Offline)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AgentPresence::Table)
                    .col(
                        ColumnDef::new(AgentPresence::InstanceId)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AgentPresence::AgentId)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AgentPresence::ExpiresAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(AgentPresence::InstanceId)
                            .col(AgentPresence::AgentId),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("agent_presence_expires_at")
                    .table(AgentPresence::Table)
                    .col(AgentPresence::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AgentPresence::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ChatSessions::Table)
                    .drop_column(ChatSessions::Offline)
                    .to_owned(),
            )
            .await
    }
}
