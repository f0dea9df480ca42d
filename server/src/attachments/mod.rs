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
//! - [`routes`]: the visitor's and the agent's upload, and the download,
//!   and their router.
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
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use secrecy::ExposeSecret;
use tokio::sync::Semaphore;

use crate::config::{AttachmentSettings, Storage};
use crate::error::AppError;
use crate::settings::Live;
use crate::storage::{attachments, Db};
use kind::{Kind, Sniffer};
use limits::FileLimits;
use link::{Links, Variant};

pub mod kind;
pub mod limits;
pub mod link;
pub mod routes;
pub mod strip;
pub mod thumb;

/// The largest image kept in memory to strip and thumbnail; a larger
/// image is refused (`413 too_large`) even under `ATTACHMENT_MAX_BYTES`.
pub const IMAGE_MAX_BYTES: u64 = 32 * 1024 * 1024;
/// Bytes a file is written to a directory in (memory per upload stays
/// near this, whatever the file's size).
const PART: usize = 256 * 1024;
/// Bytes a file is written to S3 in: S3 refuses smaller parts (but the
/// last), so an upload to S3 holds up to three of these at once.
const S3_PART: usize = 5 * 1024 * 1024;
/// How long one chunk of an upload may take to arrive.
const CHUNK_TIMEOUT: Duration = Duration::from_secs(30);
/// Images decoded at once (CPU and memory bound).
const DECODERS: usize = 2;

pub struct AttachmentService {
    settings: AttachmentSettings,
    /// The settings in force: which files may be sent (the environment's
    /// limits, or an admin's narrower choice).
    live: tokio::sync::watch::Receiver<Arc<Live>>,
    files: Arc<dyn ObjectStore>,
    /// Bytes a streamed file is written in.
    part: usize,
    db: Db,
    links: Links,
    decoders: Arc<Semaphore>,
}

/// The object store `ATTACHMENT_STORAGE` names.
fn open_storage(storage: &Storage) -> anyhow::Result<Arc<dyn ObjectStore>> {
    match storage {
        Storage::Dir(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| {
                anyhow::anyhow!("ATTACHMENT_STORAGE: cannot create {}: {e}", dir.display())
            })?;
            let files = LocalFileSystem::new_with_prefix(dir).map_err(|e| {
                anyhow::anyhow!("ATTACHMENT_STORAGE: cannot use {}: {e}", dir.display())
            })?;
            Ok(Arc::new(files))
        }
        Storage::S3(s3) => {
            // object_store's client has its own timeouts (5 s to connect,
            // 30 s a request) and retries with backoff.
            let mut b = AmazonS3Builder::new()
                .with_bucket_name(&s3.bucket)
                .with_region(&s3.region);
            if let Some(endpoint) = &s3.endpoint {
                b = b
                    .with_endpoint(endpoint)
                    .with_allow_http(endpoint.starts_with("http://"));
            }
            if let (Some(id), Some(secret)) = (&s3.access_key_id, &s3.secret_access_key) {
                b = b
                    .with_access_key_id(id)
                    .with_secret_access_key(secret.expose_secret());
            }
            if let Some(token) = &s3.session_token {
                b = b.with_token(token.expose_secret());
            }
            let store = b
                .build()
                .map_err(|e| anyhow::anyhow!("ATTACHMENT_STORAGE: {e}"))?;
            Ok(if s3.prefix.is_empty() {
                Arc::new(store)
            } else {
                Arc::new(PrefixStore::new(store, s3.prefix.as_str()))
            })
        }
    }
}

/// A file stored and its row written; not yet in a message.
pub struct Stored {
    pub row: attachments::Model,
}

impl AttachmentService {
    /// Opens the storage: the directory (created if needed), or the S3
    /// bucket (checked at the first upload: a bucket that is not there
    /// answers `503 unavailable`, retryable, and the server logs why).
    pub fn new(
        settings: AttachmentSettings,
        live: tokio::sync::watch::Receiver<Arc<Live>>,
        db: Db,
        links: Links,
    ) -> anyhow::Result<Self> {
        let files = open_storage(&settings.storage)?;
        let part = match settings.storage {
            Storage::Dir(_) => PART,
            Storage::S3(_) => S3_PART,
        };
        Ok(Self {
            settings,
            live,
            files,
            part,
            db,
            links,
            decoders: Arc::new(Semaphore::new(DECODERS)),
        })
    }

    pub fn settings(&self) -> &AttachmentSettings {
        &self.settings
    }

    /// The limits in force (they change when an admin saves them).
    fn in_force(&self) -> FileLimits {
        self.live.borrow().attachments.clone()
    }

    /// What a client may send, for it to refuse early.
    pub fn limits(&self) -> app::types::AttachmentLimits {
        self.in_force().view()
    }

    pub fn links(&self) -> &Links {
        &self.links
    }

    /// Refuses every upload while attachments are turned off.
    pub fn check_enabled(&self) -> Result<(), AppError> {
        if self.in_force().enabled {
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
        let limits = self.in_force();
        let room = self
            .settings
            .quota_bytes
            .saturating_sub(self.used(session).await?);
        let (limit, over) = if room < limits.max_bytes {
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
                format!("The file is larger than {} bytes.", limits.max_bytes),
            );
            (limits.max_bytes, over)
        };
        let id = uuid::Uuid::now_v7().to_string();
        let key = Path::from(format!("{session}/{id}"));
        let mut upload = Upload::new(self.files.clone(), key.clone(), self.part);
        let outcome =
            self.stream(field, &mut upload, limit, over)
                .await
                .and_then(|(sniffer, size)| {
                    let kind = sniffer
                        .finish(&name)
                        .filter(|k| limits.types.contains(k))
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
            .map_err(|e| storage_error("attachment storage: put", e))?;
        let Some(t) = thumbnail else {
            return Ok((None, None, None, size));
        };
        let thumb_key = Path::from(format!("{key}.thumb"));
        self.files
            .put(&thumb_key, PutPayload::from(t.bytes))
            .await
            .map_err(|e| storage_error("attachment storage: put thumbnail", e))?;
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
                e => storage_error("attachment storage: get", e),
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
    part: usize,
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
    fn new(files: Arc<dyn ObjectStore>, key: Path, part: usize) -> Self {
        Upload {
            files,
            key,
            part,
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
                State::Streaming(
                    start(self.files.clone(), self.key.clone(), self.part, head).await?,
                )
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
                    .map_err(|e| storage_error("attachment storage: write", e))?;
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
                    .map_err(|e| storage_error("attachment storage: put", e))?;
                Ok(Finished::File)
            }
            State::Streaming(writer) => {
                writer
                    .finish()
                    .await
                    .map_err(|e| storage_error("attachment storage: finish", e))?;
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

/// A storage failure: logged, and `503 unavailable` (retryable) to the
/// client, whose file is kept to send again.
fn storage_error(context: &str, cause: impl std::fmt::Display) -> AppError {
    tracing::error!(error.cause = %cause, "{context}");
    AppError::Unavailable("File storage is unavailable; try again shortly.".into())
}

/// Opens a streamed write of `key`, starting with `head`.
async fn start(
    files: Arc<dyn ObjectStore>,
    key: Path,
    part: usize,
    head: Vec<u8>,
) -> Result<WriteMultipart, AppError> {
    let upload = files
        .put_multipart(&key)
        .await
        .map_err(|e| storage_error("attachment storage: start", e))?;
    let mut writer = WriteMultipart::new_with_chunk_size(upload, part);
    writer.write(&head);
    Ok(writer)
}
