//! Canned responses: replies the team saves once and types as `/shortcut`.
//! A shortcut is unique (stored in lower case); the text follows the
//! message rules.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CannedResponses {
    Table,
    Id,
    Shortcut,
    Content,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Agents {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CannedResponses::Table)
                    .col(
                        ColumnDef::new(CannedResponses::Id)
                            .string_len(36)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(CannedResponses::Shortcut)
                            .string_len(32)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(CannedResponses::Content).text().not_null())
                    .col(
                        ColumnDef::new(CannedResponses::CreatedBy)
                            .string_len(36)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(CannedResponses::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CannedResponses::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(CannedResponses::Table, CannedResponses::CreatedBy)
                            .to(Agents::Table, Agents::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CannedResponses::Table).to_owned())
            .await
    }
}
