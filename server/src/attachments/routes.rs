//! Uploads (`multipart/form-data`, streamed) and signed downloads.
//!
//! The text fields (`customer_id`, `client_id`, optional `caption`) come
//! before the `file` field, as browsers' `FormData` and most clients send
//! them in the order they were added: the sender is known, and a replayed
//! `client_id` answered, before a byte of the file is read.

use std::sync::Arc;

use app::types::{ErrorCode, MessageView, SessionId};
use axum::body::Body;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, FromRef, Multipart, Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use futures_util::{StreamExt, TryStreamExt};
use serde::Deserialize;

use super::kind::Kind;
use super::link::{content_disposition, Variant};
use super::AttachmentService;
use crate::agents::extract::{AgentAuth, CurrentAgent};
use crate::chat::domain::ClientId;
use crate::chat::routes::{check_origin, widget_cors, BearerToken};
use crate::chat::service::agent_author;
use crate::chat::store::Author;
use crate::chat::ChatService;
use crate::error::{AppError, Json};
use crate::limits::Limits;
use crate::settings::SettingsService;

/// What the file routes use of the server (taken from the router's state
/// through `FromRef`).
#[derive(Clone)]
pub struct FileState {
    pub attachments: Arc<AttachmentService>,
    pub chat: Arc<ChatService>,
    pub limits: Arc<Limits>,
}

/// The upload and download routes. Uploads stream: they are merged after
/// the layers that read whole bodies (size and time), and enforce their
/// own limits chunk by chunk.
pub fn router<S>(state: &S) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    FileState: FromRef<S>,
    AgentAuth: FromRef<S>,
    Arc<SettingsService>: FromRef<S>,
{
    let settings = Arc::<SettingsService>::from_ref(state);
    let origins = axum::middleware::from_fn_with_state(settings, check_origin);
    let visitor = Router::new()
        .route("/chat/api/chat/attachment/", post(visitor_upload))
        .layer(origins)
        .layer(widget_cors());
    Router::new()
        .merge(visitor)
        .route(
            "/chat/api/admin/session/{id}/attachments/",
            post(agent_upload),
        )
        .layer(DefaultBodyLimit::disable())
        .route("/chat/api/attachments/{id}/", get(download))
        .route("/chat/api/attachments/{id}/thumbnail/", get(thumbnail))
}

/// Longest text (or unknown) field read; a caption is checked against
/// `MAX_MESSAGE_LENGTH` after.
const FIELD_MAX: usize = 64 * 1024;
/// Most fields an upload may have (known and unknown together).
const FIELDS_MAX: usize = 16;

/// What the fields before the file said.
#[derive(Default)]
struct Fields {
    customer_id: Option<String>,
    client_id: Option<String>,
    caption: String,
}

fn invalid(message: &str) -> AppError {
    AppError::Invalid(ErrorCode::InvalidBody, message.into())
}

fn unreadable(e: axum::extract::multipart::MultipartError) -> AppError {
    AppError::BadRequest(
        ErrorCode::InvalidBody,
        format!("The multipart body could not be read: {}", e.body_text()),
    )
}

/// Reads a text field, at most [`FIELD_MAX`] bytes.
async fn text(field: axum::extract::multipart::Field<'_>) -> Result<String, AppError> {
    let bytes = field.bytes().await.map_err(unreadable)?;
    if bytes.len() > FIELD_MAX {
        return Err(invalid("A text field is too long."));
    }
    String::from_utf8(bytes.to_vec()).map_err(|_| invalid("A text field is not UTF-8."))
}

/// Who sends the file, checked once the fields before it are read.
enum Sender {
    Visitor { token: String },
    Agent(Author),
}

/// Reads the multipart body: text fields, then the file (streamed into
/// storage), then any caption after it. Answers the stored message.
async fn upload(
    state: &FileState,
    sender: Sender,
    session: Option<SessionId>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<MessageView>), AppError> {
    let attachments = &state.attachments;
    attachments.check_enabled()?;
    let mut multipart = multipart.map_err(|e| {
        AppError::UnsupportedMediaType(
            ErrorCode::UnsupportedMediaType,
            format!("Send the file as multipart/form-data: {}", e.body_text()),
        )
    })?;
    let mut fields = Fields::default();
    let mut stored = None;
    let mut session = session;
    let mut client_id = None;
    let mut count = 0;
    while let Some(mut field) = multipart.next_field().await.map_err(unreadable)? {
        count += 1;
        if count > FIELDS_MAX {
            return Err(invalid("Too many fields."));
        }
        match field.name().unwrap_or("") {
            "customer_id" => fields.customer_id = Some(text(field).await?),
            "client_id" => fields.client_id = Some(text(field).await?),
            "caption" => fields.caption = text(field).await?,
            "file" if stored.is_some() => return Err(invalid("Send one file per message.")),
            "file" => {
                let id = match &sender {
                    Sender::Visitor { token } => {
                        let customer_id = fields
                            .customer_id
                            .as_deref()
                            .ok_or_else(|| invalid("Send customer_id before the file."))?;
                        let conversation = state.chat.authenticate(customer_id, token).await?;
                        state.limits.attachment(&conversation.id)?;
                        conversation.id
                    }
                    Sender::Agent(_) => {
                        let id = session.clone().ok_or_else(|| invalid("No conversation."))?;
                        state.chat.conversation_row(&id).await?.id
                    }
                };
                let parsed = ClientId::parse(
                    fields
                        .client_id
                        .as_deref()
                        .ok_or_else(|| invalid("Send client_id before the file."))?,
                )?;
                // A resend of a stored message: its answer, file unread.
                if let Some(message) = state.chat.by_client_id(&id, &parsed).await? {
                    return Ok((StatusCode::CREATED, Json(message)));
                }
                stored = Some(attachments.receive(&id, &mut field).await?);
                session = Some(id);
                client_id = Some(parsed);
            }
            _ => {
                // Unknown fields are skipped, up to the size of a text field.
                let mut size = 0;
                while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
                    size += chunk.len();
                    if size > FIELD_MAX {
                        return Err(invalid("A field is too long."));
                    }
                }
            }
        }
    }
    let (Some(stored), Some(session), Some(client_id)) = (stored, session, client_id) else {
        return Err(invalid("Send a `file` field."));
    };
    let author = match sender {
        Sender::Visitor { .. } => Author::Customer,
        Sender::Agent(author) => author,
    };
    let row = stored.row.clone();
    match state
        .chat
        .post_attachment(session, author, &fields.caption, &client_id, row)
        .await
    {
        Ok(written) => {
            if written.replay {
                // Stored meanwhile by another request with this client_id.
                attachments.discard(stored).await;
            }
            Ok((StatusCode::CREATED, Json(written.message)))
        }
        Err(e) => {
            attachments.discard(stored).await;
            Err(e)
        }
    }
}

/// `POST /chat/api/chat/attachment/`: a visitor sends a file.
#[utoipa::path(post, path = "/chat/api/chat/attachment/", tag = "widget", request_body(content_type = "multipart/form-data", description = "`customer_id`, `client_id`, optional `caption`, then one `file` (docs/api.md)"), responses((status = 201, description = "Stored (committed) and sent; the message carries `attachment`", body = app::types::MessageView), (status = "4XX", description = "Refused; the error code says why (docs/api.md)", body = app::error::ErrorBody), (status = "5XX", description = "Unavailable or internal; retryable", body = app::error::ErrorBody)), security(("visitor" = [])))]
pub async fn visitor_upload(
    State(state): State<FileState>,
    BearerToken(token): BearerToken,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<impl IntoResponse, AppError> {
    upload(&state, Sender::Visitor { token }, None, multipart).await
}

/// `POST /chat/api/admin/session/{id}/attachments/`: an agent sends a file.
#[utoipa::path(post, path = "/chat/api/admin/session/{id}/attachments/", tag = "conversations", params(("id" = String, Path, description = "The conversation's id")), request_body(content_type = "multipart/form-data", description = "`client_id`, optional `caption`, then one `file` (docs/api.md)"), responses((status = 201, description = "Stored (committed) and sent; the message carries `attachment`", body = app::types::MessageView), (status = "4XX", description = "Refused; the error code says why (docs/api.md)", body = app::error::ErrorBody), (status = "5XX", description = "Unavailable or internal; retryable", body = app::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
pub async fn agent_upload(
    State(state): State<FileState>,
    CurrentAgent(agent): CurrentAgent,
    Path(id): Path<SessionId>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<impl IntoResponse, AppError> {
    let sender = Sender::Agent(agent_author(&agent));
    upload(&state, sender, Some(id), multipart).await
}

/// A download link's query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct LinkParams {
    /// Unix seconds.
    pub expires: i64,
    pub signature: String,
}

fn bad_link(e: axum::extract::rejection::QueryRejection) -> AppError {
    AppError::Forbidden(
        ErrorCode::InvalidLink,
        format!("This link is not valid: {}", e.body_text()),
    )
}

/// `GET /chat/api/attachments/{id}/?expires=&signature=`: the file.
#[utoipa::path(get, path = "/chat/api/attachments/{id}/", tag = "widget", params(("id" = String, Path, description = "The attachment's id"), LinkParams), responses((status = 200, description = "The file: inline for a raster image, a download otherwise"), (status = 403, description = "`invalid_link`: unsigned, tampered with or expired", body = app::error::ErrorBody), (status = 404, description = "`unknown_attachment`", body = app::error::ErrorBody)))]
pub async fn download(
    State(state): State<FileState>,
    Path(id): Path<String>,
    query: Result<Query<LinkParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, AppError> {
    let Query(link) = query.map_err(bad_link)?;
    serve(&state, &id, Variant::File, link).await
}

/// `GET /chat/api/attachments/{id}/thumbnail/?expires=&signature=`.
#[utoipa::path(get, path = "/chat/api/attachments/{id}/thumbnail/", tag = "widget", params(("id" = String, Path, description = "The attachment's id"), LinkParams), responses((status = 200, description = "The image's thumbnail (PNG or JPEG)"), (status = 403, description = "`invalid_link`: unsigned, tampered with or expired", body = app::error::ErrorBody), (status = 404, description = "`unknown_attachment`", body = app::error::ErrorBody)))]
pub async fn thumbnail(
    State(state): State<FileState>,
    Path(id): Path<String>,
    query: Result<Query<LinkParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, AppError> {
    let Query(link) = query.map_err(bad_link)?;
    serve(&state, &id, Variant::Thumbnail, link).await
}

async fn serve(
    state: &FileState,
    id: &str,
    variant: Variant,
    link: LinkParams,
) -> Result<Response, AppError> {
    let (row, kind, got) = state
        .attachments
        .open(id, variant, link.expires, &link.signature)
        .await?;
    let size = got.meta.size;
    let mut stream = got.into_stream().map_err(std::io::Error::other);
    // A thumbnail is a PNG or a JPEG; its first bytes say which.
    let first = stream
        .try_next()
        .await
        .map_err(|e| AppError::internal("attachment read", e))?;
    let kind = match (variant, &first) {
        (Variant::Thumbnail, Some(bytes)) if bytes.starts_with(b"\x89PNG") => Kind::Png,
        _ => kind,
    };
    let rest = futures_util::stream::iter(first.map(Ok)).chain(stream);
    let inline = kind.is_image();
    let mut response = Body::from_stream(rest).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(kind.content_type()),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox"),
    );
    // Private: the link is the key; shared caches must not keep it.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    headers.insert(
        "Cross-Origin-Resource-Policy",
        HeaderValue::from_static("cross-origin"),
    );
    if let Ok(value) = HeaderValue::from_str(&content_disposition(inline, &row.name)) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}
