//! The dashboard's inbox: who a conversation is assigned to, what each side
//! said last (so "waiting for a reply" and "unread" are column comparisons,
//! not scans), and agents' private notes.
//!
//! - `chat_sessions.assignee_id`: the agent working on it (`NULL`: nobody).
//!   No foreign key: SQLite cannot drop a column that has one (so `down`
//!   could not run), agents are deactivated and never deleted, and the
//!   service checks the agent when assigning.
//! - `chat_sessions.last_customer_seq` / `last_agent_seq`: the seq of the
//!   newest visitor / agent message (0: none), raised with `last_seq` by
//!   the writer; filled from the stored messages here.
//! - `idx_chat_sessions_activity (updated_at, id)`: the inbox's order and
//!   keyset, replacing the index on `updated_at` alone.
//! - `session_notes`: notes agents leave on a conversation. Their own
//!   table, never `messages`: visitors never read them, and message seqs
//!   stay gapless.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ChatSessions {
    Table,
    Id,
    UpdatedAt,
    AssigneeId,
    LastCustomerSeq,
    LastAgentSeq,
}

#[derive(DeriveIden)]
enum Agents {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum SessionNotes {
    Table,
    Id,
    SessionId,
    AuthorId,
    Content,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ChatSessions::Table)
                    .add_column(
                        ColumnDef::new(ChatSessions::AssigneeId)
                            .string_len(36)
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        // One column per statement: SQLite alters one thing at a time.
        for column in [ChatSessions::LastCustomerSeq, ChatSessions::LastAgentSeq] {
            manager
                .alter_table(
                    Table::alter()
                        .table(ChatSessions::Table)
                        .add_column(ColumnDef::new(column).big_integer().not_null().default(0))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE chat_sessions SET \
             last_customer_seq = COALESCE((SELECT MAX(m.seq) FROM messages m \
               WHERE m.session_id = chat_sessions.id AND m.sender = 'customer'), 0), \
             last_agent_seq = COALESCE((SELECT MAX(m.seq) FROM messages m \
               WHERE m.session_id = chat_sessions.id AND m.sender = 'agent'), 0)",
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_chat_sessions_assignee")
                    .table(ChatSessions::Table)
                    .col(ChatSessions::AssigneeId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_chat_sessions_activity")
                    .table(ChatSessions::Table)
                    .col(ChatSessions::UpdatedAt)
                    .col(ChatSessions::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_chat_sessions_updated_at")
                    .table(ChatSessions::Table)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SessionNotes::Table)
                    .col(
                        ColumnDef::new(SessionNotes::Id)
                            .string_len(36)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(SessionNotes::SessionId)
                            .string_len(36)
                            .not_null(),
                    )
                    .col(ColumnDef::new(SessionNotes::AuthorId).string_len(36).null())
                    .col(ColumnDef::new(SessionNotes::Content).text().not_null())
                    .col(
                        ColumnDef::new(SessionNotes::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(SessionNotes::Table, SessionNotes::SessionId)
                            .to(ChatSessions::Table, ChatSessions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(SessionNotes::Table, SessionNotes::AuthorId)
                            .to(Agents::Table, Agents::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_session_notes_session_created")
                    .table(SessionNotes::Table)
                    .col(SessionNotes::SessionId)
                    .col(SessionNotes::CreatedAt)
                    .col(SessionNotes::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SessionNotes::Table).to_owned())
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_chat_sessions_updated_at")
                    .table(ChatSessions::Table)
                    .col(ChatSessions::UpdatedAt)
                    .to_owned(),
            )
            .await?;
        for index in ["idx_chat_sessions_activity", "idx_chat_sessions_assignee"] {
            manager
                .drop_index(
                    Index::drop()
                        .name(index)
                        .table(ChatSessions::Table)
                        .to_owned(),
                )
                .await?;
        }
        for column in [
            ChatSessions::LastAgentSeq,
            ChatSessions::LastCustomerSeq,
            ChatSessions::AssigneeId,
        ] {
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
