//! The public widget API (CORS-open; visitors authenticate with their
//! conversation token as `Authorization: Bearer …`). Thin handlers: parse,
//! call [`super::ChatService`], answer.

use app::protocol::Party;
use app::types::ErrorCode;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use serde::Deserialize;

use super::{HistoryQuery, StartRequest};
use crate::error::{AppError, Json, Query};
use crate::limits::ClientAddr;
use crate::state::AppState;

/// The `Authorization: Bearer <token>` of a request.
pub struct BearerToken(pub String);

impl<S: Send + Sync> FromRequestParts<S> for BearerToken {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        bearer(parts).map(BearerToken).ok_or_else(|| {
            AppError::Unauthorized(
                ErrorCode::MissingToken,
                "Send the conversation token as `Authorization: Bearer <token>`.".into(),
            )
        })
    }
}

fn bearer(parts: &Parts) -> Option<String> {
    crate::auth::bearer_token(&parts.headers)
}

pub async fn widget_config(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, "public, max-age=60")],
        Json(state.config.widget.clone()),
    )
}

/// An empty body starts a fresh conversation with no name or email.
pub async fn start(
    State(state): State<AppState>,
    from: ClientAddr,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<impl IntoResponse, AppError> {
    let body = body.map_err(|_| AppError::TooLarge("The body is too large.".into()))?;
    let req: StartRequest = if body.iter().all(u8::is_ascii_whitespace) {
        StartRequest::default()
    } else {
        crate::error::parse_json(&body)?
    };
    Ok(Json(state.chat.start(req, from).await?))
}

#[derive(Debug, Deserialize)]
pub struct PostMessage {
    pub customer_id: String,
    pub content: String,
    pub client_id: Option<String>,
}

pub async fn post_message(
    State(state): State<AppState>,
    BearerToken(token): BearerToken,
    Json(body): Json<PostMessage>,
) -> Result<impl IntoResponse, AppError> {
    let conversation = state.chat.authenticate(&body.customer_id, &token).await?;
    let written = state
        .chat
        .post_as_visitor(&conversation, &body.content, body.client_id.as_deref())
        .await?;
    Ok((StatusCode::CREATED, Json(written.message)))
}

#[derive(Debug, Deserialize)]
pub struct ReadBody {
    pub customer_id: String,
    pub seq: i64,
}

/// The visitor has read up to `seq` (the HTTP transport's read frame):
/// 204, stored the same way.
pub async fn read(
    State(state): State<AppState>,
    BearerToken(token): BearerToken,
    Json(body): Json<ReadBody>,
) -> Result<impl IntoResponse, AppError> {
    let conversation = state.chat.authenticate(&body.customer_id, &token).await?;
    state
        .chat
        .mark_read(&conversation.id, Party::Customer, body.seq)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `?after=&before=&limit=`, shared by the widget and admin history.
#[derive(Debug, Deserialize)]
pub struct HistoryParams {
    pub after: Option<i64>,
    pub before: Option<i64>,
    pub limit: Option<u64>,
}

impl From<HistoryParams> for HistoryQuery {
    fn from(p: HistoryParams) -> Self {
        HistoryQuery {
            after: p.after,
            before: p.before,
            limit: p.limit,
        }
    }
}

pub async fn history(
    State(state): State<AppState>,
    Path(customer_id): Path<String>,
    BearerToken(token): BearerToken,
    Query(params): Query<HistoryParams>,
) -> Result<impl IntoResponse, AppError> {
    let conversation = state.chat.authenticate(&customer_id, &token).await?;
    Ok(Json(
        state.chat.history(&conversation.id, params.into()).await?,
    ))
}
