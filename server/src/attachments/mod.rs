//! Attachments: files and images in conversations, safe by construction.
//!
//! An upload streams through [`AttachmentService::receive`]: every chunk is
//! counted against the file limit and the conversation's quota (cut off
//! at the first byte past them: `413`), the type is decided from the bytes
//! against the allowlist (`415`), images lose their metadata and get a
//! re-encoded thumbnail, and the file lands in the storage under a key the
//! server makes. Then a message carrying it goes through the same writer
//! as every message (same seq, same idempotency by `client_id`). Files are
//! fetched only through signed, expiring links ([`link`]).
//!
//! # Layout
//! - this file: [`AttachmentService`] (upload, download, deletion).
//! - [`routes`]: the visitor's and the agent's upload, and the download.
//! - [`kind`]: what a file is, from its bytes.
//! - [`strip`]: an image's metadata (EXIF, XMP, comments) removed from
//!   what is served, without re-encoding it.
//! - [`thumb`]: thumbnails, decoded within limits and re-encoded.
//! - [`link`]: signed, expiring download links and clean file names.

use std::sync::Arc;
use std::time::Duration;

use app::types::{ErrorCode, SessionId};
use axum::body::Bytes;
use axum::extract::multipart::Field;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use tokio::sync::Semaphore;

use crate::config::AttachmentSettings;
use crate::error::AppError;
use crate::state::AppState;
use crate::storage::{attachments, Db};
use kind::{Kind, Sniffer};
use link::{Links, Variant};

pub mod kind;
pub mod link;
pub mod routes;
pub mod strip;
pub mod thumb;

/// The largest image kept in memory to strip and thumbnail; a larger
/// image is refused (`413 too_large`) even under `ATTACHMENT_MAX_BYTES`.
pub const IMAGE_MAX_BYTES: u64 = 32 * 1024 * 1024;
/// Bytes a file is written to storage in (memory per upload stays near
/// this, whatever the file's size).
const PART: usize = 256 * 1024;
/// How long one chunk of an upload may take to arrive.
const CHUNK_TIMEOUT: Duration = Duration::from_secs(30);
/// Images decoded at once (CPU and memory bound).
const DECODERS: usize = 2;

pub struct AttachmentService {
    settings: AttachmentSettings,
    files: Arc<dyn ObjectStore>,
    db: Db,
    links: Links,
    decoders: Arc<Semaphore>,
}

/// A file stored and its row written; not yet in a message.
pub struct Stored {
    pub row: attachments::Model,
}

impl AttachmentService {
    /// Opens (creating it if needed) the storage directory.
    pub fn new(settings: AttachmentSettings, db: Db, links: Links) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&settings.storage).map_err(|e| {
            anyhow::anyhow!(
                "ATTACHMENT_STORAGE: cannot create {}: {e}",
                settings.storage.display()
            )
        })?;
        let files = LocalFileSystem::new_with_prefix(&settings.storage).map_err(|e| {
            anyhow::anyhow!(
                "ATTACHMENT_STORAGE: cannot use {}: {e}",
                settings.storage.display()
            )
        })?;
        Ok(Self {
            settings,
            files: Arc::new(files),
            db,
            links,
            decoders: Arc::new(Semaphore::new(DECODERS)),
        })
    }

    pub fn settings(&self) -> &AttachmentSettings {
        &self.settings
    }

    pub fn links(&self) -> &Links {
        &self.links
    }

    /// Refuses every upload while attachments are turned off.
    pub fn check_enabled(&self) -> Result<(), AppError> {
        if self.settings.enabled {
            Ok(())
        } else {
            Err(AppError::Forbidden(
                ErrorCode::AttachmentsDisabled,
                "Attachments are turned off on this server.".into(),
            ))
        }
    }

    /// Bytes a conversation's files take together.
    async fn used(&self, session: &SessionId) -> Result<u64, AppError> {
        let sizes: Vec<i64> = attachments::Entity::find()
            .select_only()
            .column(attachments::Column::Size)
            .filter(attachments::Column::SessionId.eq(session.as_str()))
            .into_tuple()
            .all(&self.db.read)
            .await?;
        Ok(sizes.into_iter().map(|s| s.max(0) as u64).sum())
    }

    /// Streams one file field into storage and writes its row. Nothing is
    /// kept when it fails: a cut-off or refused upload leaves no file.
    pub async fn receive(
        &self,
        session: &SessionId,
        field: &mut Field<'_>,
    ) -> Result<Stored, AppError> {
        let name = link::clean_name(field.file_name().unwrap_or(""));
        let room = self
            .settings
            .quota_bytes
            .saturating_sub(self.used(session).await?);
        let (limit, over) = if room < self.settings.max_bytes {
            let over = AppError::TooLarge(
                ErrorCode::QuotaExceeded,
                format!(
                    "This conversation's files would pass {} bytes together (ATTACHMENT_QUOTA_BYTES).",
                    self.settings.quota_bytes
                ),
            );
            (room, over)
        } else {
            let over = AppError::TooLarge(
                ErrorCode::TooLarge,
                format!(
                    "The file is larger than {} bytes (ATTACHMENT_MAX_BYTES).",
                    self.settings.max_bytes
                ),
            );
            (self.settings.max_bytes, over)
        };
        let id = uuid::Uuid::now_v7().to_string();
        let key = Path::from(format!("{session}/{id}"));
        let mut upload = Upload::new(self.files.clone(), key.clone());
        let outcome =
            self.stream(field, &mut upload, limit, over)
                .await
                .and_then(|(sniffer, size)| {
                    let kind = sniffer
                        .finish(&name)
                        .filter(|k| self.settings.types.contains(k))
                        .ok_or_else(unsupported)?;
                    Ok((kind, size))
                });
        let (kind, size) = match outcome {
            Ok(found) => found,
            Err(e) => {
                upload.abort().await;
                return Err(e);
            }
        };
        let (width, height, thumbnail_key, size) = match upload.finish(kind).await {
            Ok(Finished::Image(bytes)) => match self.store_image(&key, kind, bytes).await {
                Ok(done) => done,
                Err(e) => {
                    self.delete_files(&key, None).await;
                    return Err(e);
                }
            },
            Ok(Finished::File) => (None, None, None, size),
            Err(e) => return Err(e),
        };
        let row = attachments::Model {
            id,
            session_id: session.to_string(),
            storage_key: key.to_string(),
            thumbnail_key,
            name,
            size: size as i64,
            content_type: kind.content_type().to_string(),
            width,
            height,
            created_at: crate::storage::now(),
        };
        let insert = attachments::ActiveModel::from(row.clone())
            .reset_all()
            .insert(&self.db.write)
            .await;
        if let Err(e) = insert {
            self.delete_files(&key, row.thumbnail_key.as_deref()).await;
            return Err(e.into());
        }
        Ok(Stored { row })
    }

    /// Reads the field chunk by chunk into `upload`, stopping at the first
    /// byte past `limit`.
    async fn stream(
        &self,
        field: &mut Field<'_>,
        upload: &mut Upload,
        limit: u64,
        over: AppError,
    ) -> Result<(Sniffer, u64), AppError> {
        let mut sniffer = Sniffer::new();
        let mut size: u64 = 0;
        loop {
            let chunk = match tokio::time::timeout(CHUNK_TIMEOUT, field.chunk()).await {
                Err(_) => {
                    return Err(AppError::RequestTimeout(
                        "The file stopped arriving.".into(),
                    ))
                }
                Ok(Err(e)) => {
                    return Err(AppError::BadRequest(
                        ErrorCode::InvalidBody,
                        format!("The upload could not be read: {e}"),
                    ))
                }
                Ok(Ok(None)) => return Ok((sniffer, size)),
                Ok(Ok(Some(chunk))) => chunk,
            };
            size += chunk.len() as u64;
            if size > limit {
                return Err(over);
            }
            sniffer.feed(&chunk);
            upload.write(sniffer.early(), chunk, size).await?;
        }
    }

    /// Strips an image's metadata, stores it, and stores its thumbnail
    /// when it decodes: `(width, height, thumbnail key, bytes stored)`.
    async fn store_image(
        &self,
        key: &Path,
        kind: Kind,
        bytes: Vec<u8>,
    ) -> Result<(Option<i32>, Option<i32>, Option<String>, u64), AppError> {
        let _turn = self
            .decoders
            .acquire()
            .await
            .map_err(|e| AppError::internal("image decoders closed", e))?;
        let (clean, thumbnail) = tokio::task::spawn_blocking(move || {
            let clean = strip::strip(kind, &bytes)?;
            let thumbnail = thumb::thumbnail(kind, &clean);
            Some((clean, thumbnail))
        })
        .await
        .map_err(|e| AppError::internal("thumbnail task", e))?
        .ok_or_else(|| {
            AppError::UnsupportedMediaType(
                ErrorCode::UnsupportedType,
                format!(
                    "The file starts as a {} image but is not a valid one.",
                    kind.as_str()
                ),
            )
        })?;
        let size = clean.len() as u64;
        self.files
            .put(key, PutPayload::from(clean))
            .await
            .map_err(|e| AppError::internal("attachment storage: put", e))?;
        let Some(t) = thumbnail else {
            return Ok((None, None, None, size));
        };
        let thumb_key = Path::from(format!("{key}.thumb"));
        self.files
            .put(&thumb_key, PutPayload::from(t.bytes))
            .await
            .map_err(|e| AppError::internal("attachment storage: put thumbnail", e))?;
        let side = |n: u32| i32::try_from(n).ok();
        Ok((
            side(t.width),
            side(t.height),
            Some(thumb_key.to_string()),
            size,
        ))
    }

    async fn delete_files(&self, key: &Path, thumbnail: Option<&str>) {
        if let Err(e) = self.files.delete(key).await {
            if !matches!(e, object_store::Error::NotFound { .. }) {
                tracing::warn!(error = %e, key = %key, "attachment storage: delete");
            }
        }
        if let Some(thumbnail) = thumbnail {
            let _ = self.files.delete(&Path::from(thumbnail)).await;
        }
    }

    /// Removes a stored file that no message carries (its upload was a
    /// replay of a stored message, or the message could not be stored).
    pub async fn discard(&self, stored: Stored) {
        let row = stored.row;
        if let Err(e) = attachments::Entity::delete_by_id(row.id.clone())
            .exec(&self.db.write)
            .await
        {
            tracing::warn!(error = %e, "attachment row: delete");
        }
        self.delete_files(&Path::from(row.storage_key), row.thumbnail_key.as_deref())
            .await;
    }

    /// A file (or thumbnail) for a signed link: its row and its bytes, as
    /// a stream.
    pub async fn open(
        &self,
        id: &str,
        variant: Variant,
        expires: i64,
        signature: &str,
    ) -> Result<(attachments::Model, Kind, object_store::GetResult), AppError> {
        let now = chrono::Utc::now().timestamp();
        if !self
            .links
            .signer()
            .check(id, variant, expires, signature, now)
        {
            return Err(AppError::Forbidden(
                ErrorCode::InvalidLink,
                "This link is not valid or has expired; fetch the message again for a fresh one."
                    .into(),
            ));
        }
        let gone =
            || AppError::NotFound(ErrorCode::UnknownAttachment, "No such attachment.".into());
        let row = attachments::Entity::find_by_id(id)
            .one(&self.db.read)
            .await?
            .ok_or_else(gone)?;
        let (key, kind) = match variant {
            Variant::File => (
                row.storage_key.clone(),
                Kind::from_content_type(&row.content_type).ok_or_else(gone)?,
            ),
            Variant::Thumbnail => {
                let key = row.thumbnail_key.clone().ok_or_else(gone)?;
                // A thumbnail is a PNG or a JPEG: its first bytes say which.
                (key, Kind::Jpeg)
            }
        };
        let got = self
            .files
            .get(&Path::from(key))
            .await
            .map_err(|e| match e {
                object_store::Error::NotFound { .. } => gone(),
                e => AppError::internal("attachment storage: get", e),
            })?;
        Ok((row, kind, got))
    }

    /// The files of a conversation, read before its rows are deleted.
    pub async fn files_of(&self, session: &SessionId) -> Result<Vec<attachments::Model>, AppError> {
        Ok(attachments::Entity::find()
            .filter(attachments::Column::SessionId.eq(session.as_str()))
            .all(&self.db.read)
            .await?)
    }

    /// Deletes the stored files of `rows` (after their rows went with
    /// their conversation: a failure leaves an unreachable file, never a
    /// message whose file is gone).
    pub async fn delete_stored(&self, rows: Vec<attachments::Model>) {
        for row in rows {
            self.delete_files(&Path::from(row.storage_key), row.thumbnail_key.as_deref())
                .await;
        }
    }
}

/// The upload and download routes. Uploads stream: they are merged after
/// the layers that read whole bodies (size and time), and enforce their
/// own limits chunk by chunk.
pub fn router(state: &AppState) -> Router<AppState> {
    let origins =
        axum::middleware::from_fn_with_state(state.clone(), crate::chat::routes::check_origin);
    let visitor = Router::new()
        .route("/chat/api/chat/attachment/", post(routes::visitor_upload))
        .layer(origins)
        .layer(crate::chat::widget_cors());
    Router::new()
        .merge(visitor)
        .route(
            "/chat/api/admin/session/{id}/attachments/",
            post(routes::agent_upload),
        )
        .layer(DefaultBodyLimit::disable())
        .route("/chat/api/attachments/{id}/", get(routes::download))
        .route(
            "/chat/api/attachments/{id}/thumbnail/",
            get(routes::thumbnail),
        )
}

fn unsupported() -> AppError {
    AppError::UnsupportedMediaType(
        ErrorCode::UnsupportedType,
        "This type of file is not accepted (ATTACHMENT_TYPES); the type is read from the file's \
         contents, not its name."
            .into(),
    )
}

/// Where an upload's bytes go while they arrive: an image is held (to be
/// stripped and thumbnailed), any other file is written to storage part
/// by part. Which one is decided by the first bytes.
struct Upload {
    files: Arc<dyn ObjectStore>,
    key: Path,
    state: State,
}

enum State {
    /// Too few bytes yet to tell.
    Undecided(Vec<u8>),
    Image(Vec<u8>),
    Streaming(WriteMultipart),
    Done,
}

enum Finished {
    Image(Vec<u8>),
    File,
}

/// Bytes enough to tell an image from the rest.
const DECIDE_AT: usize = 16;

impl Upload {
    fn new(files: Arc<dyn ObjectStore>, key: Path) -> Self {
        Upload {
            files,
            key,
            state: State::Undecided(Vec::new()),
        }
    }

    async fn write(
        &mut self,
        early: Option<Kind>,
        chunk: Bytes,
        size: u64,
    ) -> Result<(), AppError> {
        if let State::Undecided(head) = &mut self.state {
            head.extend_from_slice(&chunk);
            if head.len() < DECIDE_AT {
                return Ok(());
            }
            let head = std::mem::take(head);
            self.state = if early.is_some_and(Kind::is_image) {
                State::Image(head)
            } else {
                State::Streaming(start(self.files.clone(), self.key.clone(), head).await?)
            };
            return Ok(());
        }
        match &mut self.state {
            State::Image(bytes) => {
                if size > IMAGE_MAX_BYTES {
                    return Err(AppError::TooLarge(
                        ErrorCode::TooLarge,
                        format!("Images may be at most {IMAGE_MAX_BYTES} bytes."),
                    ));
                }
                bytes.extend_from_slice(&chunk);
            }
            State::Streaming(writer) => {
                writer.put(chunk);
                writer
                    .wait_for_capacity(2)
                    .await
                    .map_err(|e| AppError::internal("attachment storage: write", e))?;
            }
            State::Undecided(_) | State::Done => {}
        }
        Ok(())
    }

    /// The held image, or the streamed file completed in storage.
    async fn finish(&mut self, kind: Kind) -> Result<Finished, AppError> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Undecided(head) if kind.is_image() => Ok(Finished::Image(head)),
            State::Image(bytes) => Ok(Finished::Image(bytes)),
            State::Undecided(head) => {
                self.files
                    .put(&self.key, PutPayload::from(head))
                    .await
                    .map_err(|e| AppError::internal("attachment storage: put", e))?;
                Ok(Finished::File)
            }
            State::Streaming(writer) => {
                writer
                    .finish()
                    .await
                    .map_err(|e| AppError::internal("attachment storage: finish", e))?;
                Ok(Finished::File)
            }
            State::Done => Ok(Finished::File),
        }
    }

    /// Drops whatever was written.
    async fn abort(&mut self) {
        if let State::Streaming(writer) = std::mem::replace(&mut self.state, State::Done) {
            if let Err(e) = writer.abort().await {
                tracing::warn!(error = %e, "attachment storage: abort");
            }
        }
    }
}

/// Opens a streamed write of `key`, starting with `head`.
async fn start(
    files: Arc<dyn ObjectStore>,
    key: Path,
    head: Vec<u8>,
) -> Result<WriteMultipart, AppError> {
    let upload = files
        .put_multipart(&key)
        .await
        .map_err(|e| AppError::internal("attachment storage: start", e))?;
    let mut writer = WriteMultipart::new_with_chunk_size(upload, PART);
    writer.write(&head);
    Ok(writer)
}
