//! Automated responses: the rules (`auto_responses`), the log of every
//! firing and suppressed match (`auto_response_logs`), the replies waiting
//! for their delay (`auto_response_jobs`, so a restart loses none), and
//! the visitor's language on `visitor_contexts` (a rule's condition).
//!
//! A rule's trigger, conditions and action are JSON documents (their
//! shapes are the API's, checked by the server). `auto_response_logs.dedupe`
//! is unique where set: one bot reply per visitor message (`msg:<id>`) and
//! one per unanswered wait (`wait:<id>`), whichever instance sends it.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AutoResponses {
    Table,
    Id,
    Name,
    Priority,
    Enabled,
    Trigger,
    Conditions,
    Action,
    CooldownSeconds,
    MaxPerConversation,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum AutoResponseLogs {
    Table,
    Id,
    RuleId,
    RuleName,
    SessionId,
    TriggerMessageId,
    ReplyMessageId,
    Outcome,
    Reason,
    AskedEmail,
    Dedupe,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AutoResponseJobs {
    Table,
    Id,
    RuleId,
    SessionId,
    TriggerMessageId,
    TriggerSeq,
    DueAt,
    ClaimedUntil,
    Attempts,
    CreatedAt,
}

#[derive(DeriveIden)]
enum VisitorContexts {
    Table,
    Language,
}

#[derive(DeriveIden)]
enum ChatSessions {
    Table,
    Id,
}

fn id(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).string_len(36).not_null().to_owned()
}

fn at(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AutoResponses::Table)
                    .col(id(AutoResponses::Id).primary_key())
                    .col(
                        ColumnDef::new(AutoResponses::Name)
                            .string_len(100)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(AutoResponses::Priority).integer().not_null())
                    .col(ColumnDef::new(AutoResponses::Enabled).boolean().not_null())
                    .col(ColumnDef::new(AutoResponses::Trigger).text().not_null())
                    .col(ColumnDef::new(AutoResponses::Conditions).text().not_null())
                    .col(ColumnDef::new(AutoResponses::Action).text().not_null())
                    .col(
                        ColumnDef::new(AutoResponses::CooldownSeconds)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AutoResponses::MaxPerConversation)
                            .integer()
                            .not_null(),
                    )
                    .col(at(AutoResponses::CreatedAt))
                    .col(at(AutoResponses::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AutoResponseLogs::Table)
                    .col(id(AutoResponseLogs::Id).primary_key())
                    .col(
                        ColumnDef::new(AutoResponseLogs::RuleId)
                            .string_len(36)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(AutoResponseLogs::RuleName)
                            .string_len(100)
                            .not_null(),
                    )
                    .col(id(AutoResponseLogs::SessionId))
                    .col(
                        ColumnDef::new(AutoResponseLogs::TriggerMessageId)
                            .string_len(36)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(AutoResponseLogs::ReplyMessageId)
                            .string_len(36)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(AutoResponseLogs::Outcome)
                            .string_len(20)
                            .not_null(),
                    )
                    .col(ColumnDef::new(AutoResponseLogs::Reason).text().not_null())
                    .col(
                        ColumnDef::new(AutoResponseLogs::AskedEmail)
                            .boolean()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AutoResponseLogs::Dedupe)
                            .string_len(60)
                            .null()
                            .unique_key(),
                    )
                    .col(at(AutoResponseLogs::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(AutoResponseLogs::Table, AutoResponseLogs::RuleId)
                            .to(AutoResponses::Table, AutoResponses::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(AutoResponseLogs::Table, AutoResponseLogs::SessionId)
                            .to(ChatSessions::Table, ChatSessions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Cooldown and maximum: a rule's firings in one conversation.
        manager
            .create_index(
                Index::create()
                    .name("idx_auto_response_logs_session_rule")
                    .table(AutoResponseLogs::Table)
                    .col(AutoResponseLogs::SessionId)
                    .col(AutoResponseLogs::RuleId)
                    .to_owned(),
            )
            .await?;
        // The log page filtered by rule, newest first (ids are UUID v7).
        manager
            .create_index(
                Index::create()
                    .name("idx_auto_response_logs_rule_id")
                    .table(AutoResponseLogs::Table)
                    .col(AutoResponseLogs::RuleId)
                    .col(AutoResponseLogs::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_auto_response_logs_created_at")
                    .table(AutoResponseLogs::Table)
                    .col(AutoResponseLogs::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AutoResponseJobs::Table)
                    .col(id(AutoResponseJobs::Id).primary_key())
                    .col(id(AutoResponseJobs::RuleId))
                    .col(id(AutoResponseJobs::SessionId))
                    .col(id(AutoResponseJobs::TriggerMessageId))
                    .col(
                        ColumnDef::new(AutoResponseJobs::TriggerSeq)
                            .big_integer()
                            .not_null(),
                    )
                    .col(at(AutoResponseJobs::DueAt))
                    .col(
                        ColumnDef::new(AutoResponseJobs::ClaimedUntil)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(AutoResponseJobs::Attempts)
                            .integer()
                            .not_null(),
                    )
                    .col(at(AutoResponseJobs::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(AutoResponseJobs::Table, AutoResponseJobs::RuleId)
                            .to(AutoResponses::Table, AutoResponses::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(AutoResponseJobs::Table, AutoResponseJobs::SessionId)
                            .to(ChatSessions::Table, ChatSessions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_auto_response_jobs_due_at")
                    .table(AutoResponseJobs::Table)
                    .col(AutoResponseJobs::DueAt)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(VisitorContexts::Table)
                    .add_column(
                        ColumnDef::new(VisitorContexts::Language)
                            .string_len(35)
                            .null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(VisitorContexts::Table)
                    .drop_column(VisitorContexts::Language)
                    .to_owned(),
            )
            .await?;
        for table in [
            AutoResponseJobs::Table.into_iden(),
            AutoResponseLogs::Table.into_iden(),
            AutoResponses::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
