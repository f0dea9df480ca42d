//! What agents see about a conversation's visitor in the customer panel:
//! one row per conversation in `visitor_contexts`, written when the
//! visitor starts or resumes it (the page they are on, where they came
//! from, their browser and time zone, whether identity verification
//! vouched for them) and when their socket closes (last seen). Kept out of
//! `chat_sessions`, whose row every message updates.
//!
//! Also an index on `lower(chat_sessions.email)`, for the panel's "earlier
//! conversations" of the same person.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum VisitorContexts {
    Table,
    SessionId,
    Verified,
    LastSeenAt,
    PageUrl,
    Referrer,
    UserAgent,
    TimeZone,
    UtcOffset,
}

#[derive(DeriveIden)]
enum ChatSessions {
    Table,
    Id,
}

const EMAIL_INDEX: &str = "idx_chat_sessions_email_lower";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(VisitorContexts::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(VisitorContexts::SessionId)
                            .string_len(36)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(VisitorContexts::Verified)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(
                        ColumnDef::new(VisitorContexts::LastSeenAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(VisitorContexts::PageUrl).text().null())
                    .col(ColumnDef::new(VisitorContexts::Referrer).text().null())
                    .col(ColumnDef::new(VisitorContexts::UserAgent).text().null())
                    .col(
                        ColumnDef::new(VisitorContexts::TimeZone)
                            .string_len(64)
                            .null(),
                    )
                    .col(ColumnDef::new(VisitorContexts::UtcOffset).integer().null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(VisitorContexts::Table, VisitorContexts::SessionId)
                            .to(ChatSessions::Table, ChatSessions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // An expression index: the same statement on SQLite and PostgreSQL.
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "CREATE INDEX IF NOT EXISTS {EMAIL_INDEX} ON chat_sessions (lower(email))"
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(&format!("DROP INDEX IF EXISTS {EMAIL_INDEX}"))
            .await?;
        manager
            .drop_table(Table::drop().table(VisitorContexts::Table).to_owned())
            .await
    }
}
