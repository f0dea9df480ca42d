//! Read receipts: the highest message seq each side of a conversation has
//! read, so they survive reloads and reach devices that were away. Updated
//! monotonically (a lower seq never lowers them), capped at `last_seq`.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ChatSessions {
    Table,
    CustomerReadSeq,
    AgentReadSeq,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one thing at a time.
        for column in [ChatSessions::CustomerReadSeq, ChatSessions::AgentReadSeq] {
            manager
                .alter_table(
                    Table::alter()
                        .table(ChatSessions::Table)
                        .add_column(ColumnDef::new(column).big_integer().not_null().default(0))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [ChatSessions::AgentReadSeq, ChatSessions::CustomerReadSeq] {
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
