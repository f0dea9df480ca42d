//! When each API token was last used (`auth_tokens.last_used_at`, `NULL`:
//! never): written at most once a minute per token, for the dashboard's
//! token list.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuthTokens {
    Table,
    LastUsedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(AuthTokens::Table)
                    .add_column(
                        ColumnDef::new(AuthTokens::LastUsedAt)
                            .timestamp_with_time_zone()
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
                    .table(AuthTokens::Table)
                    .drop_column(AuthTokens::LastUsedAt)
                    .to_owned(),
            )
            .await
    }
}
