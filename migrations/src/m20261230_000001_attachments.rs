//! Attachments: one row per stored file (and its thumbnail), in the
//! conversation it was sent in, and `messages.attachment_id` naming the
//! file a message carries. Files live in the attachment storage (local
//! disk or S3) under keys the server makes; the row holds the shown name,
//! the type decided from the bytes and an image's size in pixels.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Attachments {
    Table,
    Id,
    SessionId,
    StorageKey,
    ThumbnailKey,
    Name,
    Size,
    ContentType,
    Width,
    Height,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Messages {
    Table,
    AttachmentId,
}

#[derive(DeriveIden)]
enum ChatSessions {
    Table,
    Id,
}

const SESSION_INDEX: &str = "idx_attachments_session_id";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Attachments::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(Attachments::Id)
                            .string_len(36)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(Attachments::SessionId)
                            .string_len(36)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Attachments::StorageKey)
                            .string_len(200)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Attachments::ThumbnailKey)
                            .string_len(200)
                            .null(),
                    )
                    .col(ColumnDef::new(Attachments::Name).string_len(255).not_null())
                    .col(ColumnDef::new(Attachments::Size).big_integer().not_null())
                    .col(
                        ColumnDef::new(Attachments::ContentType)
                            .string_len(100)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Attachments::Width).integer().null())
                    .col(ColumnDef::new(Attachments::Height).integer().null())
                    .col(
                        ColumnDef::new(Attachments::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Attachments::Table, Attachments::SessionId)
                            .to(ChatSessions::Table, ChatSessions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(SESSION_INDEX)
                    .table(Attachments::Table)
                    .col(Attachments::SessionId)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Messages::Table)
                    .add_column(ColumnDef::new(Messages::AttachmentId).string_len(36).null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Messages::Table)
                    .drop_column(Messages::AttachmentId)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(Attachments::Table).to_owned())
            .await
    }
}
