//! The first schema: enough for the whole visitor → agent → visitor path.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Agents {
    Table,
    Id,
    Username,
    PasswordHash,
    Role,
    Active,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AuthTokens {
    Table,
    Id,
    AgentId,
    TokenHash,
    Kind,
    Name,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum ChatSessions {
    Table,
    Id,
    CustomerId,
    TokenHash,
    Name,
    Email,
    Status,
    CreatedAt,
    UpdatedAt,
    LastMessage,
    LastMessageAt,
    LastSeq,
}

#[derive(DeriveIden)]
enum Messages {
    Table,
    Id,
    SessionId,
    Seq,
    Sender,
    AgentId,
    Content,
    ClientId,
    CreatedAt,
}

fn id_col<T: IntoIden>(name: T) -> ColumnDef {
    let mut col = ColumnDef::new(name);
    col.string_len(36).not_null().primary_key();
    col
}

fn ts<T: IntoIden>(name: T) -> ColumnDef {
    let mut col = ColumnDef::new(name);
    col.timestamp_with_time_zone().not_null();
    col
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Agents::Table)
                    .col(id_col(Agents::Id))
                    .col(
                        ColumnDef::new(Agents::Username)
                            .string_len(150)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(Agents::PasswordHash).string().not_null())
                    .col(ColumnDef::new(Agents::Role).string_len(16).not_null())
                    .col(ColumnDef::new(Agents::Active).boolean().not_null())
                    .col(ts(Agents::CreatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AuthTokens::Table)
                    .col(id_col(AuthTokens::Id))
                    .col(
                        ColumnDef::new(AuthTokens::AgentId)
                            .string_len(36)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AuthTokens::TokenHash)
                            .string_len(64)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(AuthTokens::Kind).string_len(16).not_null())
                    .col(ColumnDef::new(AuthTokens::Name).string().null())
                    .col(ts(AuthTokens::CreatedAt))
                    .col(
                        ColumnDef::new(AuthTokens::ExpiresAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(AuthTokens::Table, AuthTokens::AgentId)
                            .to(Agents::Table, Agents::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ChatSessions::Table)
                    .col(id_col(ChatSessions::Id))
                    .col(
                        ColumnDef::new(ChatSessions::CustomerId)
                            .string_len(64)
                            .not_null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(ChatSessions::TokenHash)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(ColumnDef::new(ChatSessions::Name).string_len(200).null())
                    .col(ColumnDef::new(ChatSessions::Email).string_len(254).null())
                    .col(
                        ColumnDef::new(ChatSessions::Status)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(ts(ChatSessions::CreatedAt))
                    .col(ts(ChatSessions::UpdatedAt))
                    .col(ColumnDef::new(ChatSessions::LastMessage).text().null())
                    .col(
                        ColumnDef::new(ChatSessions::LastMessageAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(ChatSessions::LastSeq)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .to_owned(),
            )
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

        manager
            .create_table(
                Table::create()
                    .table(Messages::Table)
                    .col(id_col(Messages::Id))
                    .col(
                        ColumnDef::new(Messages::SessionId)
                            .string_len(36)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Messages::Seq).big_integer().not_null())
                    .col(ColumnDef::new(Messages::Sender).string_len(16).not_null())
                    .col(ColumnDef::new(Messages::AgentId).string_len(36).null())
                    .col(ColumnDef::new(Messages::Content).text().not_null())
                    .col(ColumnDef::new(Messages::ClientId).string_len(64).null())
                    .col(ts(Messages::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Messages::Table, Messages::SessionId)
                            .to(ChatSessions::Table, ChatSessions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Messages::Table, Messages::AgentId)
                            .to(Agents::Table, Agents::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("idx_messages_session_seq")
                    .table(Messages::Table)
                    .col(Messages::SessionId)
                    .col(Messages::Seq)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("idx_messages_session_client_id")
                    .table(Messages::Table)
                    .col(Messages::SessionId)
                    .col(Messages::ClientId)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Messages::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(ChatSessions::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(AuthTokens::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Agents::Table).to_owned())
            .await
    }
}
