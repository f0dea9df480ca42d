//! What the dashboard's home counts without scanning messages:
//!
//! - `chat_sessions.first_customer_at` / `first_agent_at`: when the first
//!   visitor message and the first agent message were stored (`NULL`:
//!   none yet). Set once by the writer, under the conversation's lock;
//!   filled from the stored messages here. Their difference is the
//!   conversation's first-response time.
//! - `idx_chat_sessions_first_agent (first_agent_at)`: the first responses
//!   of a day, for the median.
//! - `idx_chat_sessions_created (created_at)`: conversations per day.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ChatSessions {
    Table,
    CreatedAt,
    FirstCustomerAt,
    FirstAgentAt,
}

const INDEXES: [(&str, ChatSessions); 2] = [
    ("idx_chat_sessions_first_agent", ChatSessions::FirstAgentAt),
    ("idx_chat_sessions_created", ChatSessions::CreatedAt),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one thing at a time.
        for column in [ChatSessions::FirstCustomerAt, ChatSessions::FirstAgentAt] {
            manager
                .alter_table(
                    Table::alter()
                        .table(ChatSessions::Table)
                        .add_column(ColumnDef::new(column).timestamp_with_time_zone().null())
                        .to_owned(),
                )
                .await?;
        }
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE chat_sessions SET \
             first_customer_at = (SELECT MIN(m.created_at) FROM messages m \
               WHERE m.session_id = chat_sessions.id AND m.sender = 'customer'), \
             first_agent_at = (SELECT MIN(m.created_at) FROM messages m \
               WHERE m.session_id = chat_sessions.id AND m.sender = 'agent')",
            )
            .await?;
        for (name, column) in INDEXES {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(ChatSessions::Table)
                        .col(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, _) in INDEXES {
            manager
                .drop_index(
                    Index::drop()
                        .name(name)
                        .table(ChatSessions::Table)
                        .to_owned(),
                )
                .await?;
        }
        for column in [ChatSessions::FirstAgentAt, ChatSessions::FirstCustomerAt] {
            manager
                .alter_table(
                    Table::alter()
                        .table(ChatSessions::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
