//! `session_notes.client_id`: the id the dashboard gives a note before it
//! sends it, so a resend (a lost answer, a retry) stores the note once.
//! Unique per conversation; notes from before have none (`NULL`s never
//! collide).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SessionNotes {
    Table,
    SessionId,
    ClientId,
}

const INDEX: &str = "idx_session_notes_client_id";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(SessionNotes::Table)
                    .add_column(ColumnDef::new(SessionNotes::ClientId).string_len(64).null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(SessionNotes::Table)
                    .col(SessionNotes::SessionId)
                    .col(SessionNotes::ClientId)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(INDEX)
                    .table(SessionNotes::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(SessionNotes::Table)
                    .drop_column(SessionNotes::ClientId)
                    .to_owned(),
            )
            .await
    }
}
