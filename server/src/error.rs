//! The one error type at the HTTP boundary. Every failure answers
//! `{"error": {"code": "…", "message": "…"}}` with the status below.

use app::types::ApiError;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400: the request could not be read (malformed JSON, bad query).
    #[error("{1}")]
    BadRequest(&'static str, String),
    /// 401: no credentials, or wrong ones.
    #[error("{1}")]
    Unauthorized(&'static str, String),
    /// 403: credentials are fine but do not allow this.
    #[error("{1}")]
    Forbidden(&'static str, String),
    /// 404: no such thing (or not visible to the caller).
    #[error("{1}")]
    NotFound(&'static str, String),
    /// 409: conflicts with what is stored (a taken username).
    #[error("{1}")]
    Conflict(&'static str, String),
    /// 413: the body is larger than this endpoint accepts.
    #[error("{0}")]
    TooLarge(String),
    /// 415: the body is not JSON.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 422: well-formed, but a value is invalid (empty message, bad email).
    #[error("{1}")]
    Invalid(&'static str, String),
    /// 500: our fault (database, Redis). The cause is logged once where it
    /// happened; the client gets an opaque message.
    #[error("internal error")]
    Internal,
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(..) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized(..) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(..) => StatusCode::FORBIDDEN,
            AppError::NotFound(..) => StatusCode::NOT_FOUND,
            AppError::Conflict(..) => StatusCode::CONFLICT,
            AppError::TooLarge(..) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType(..) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Invalid(..) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadRequest(c, _)
            | AppError::Unauthorized(c, _)
            | AppError::Forbidden(c, _)
            | AppError::NotFound(c, _)
            | AppError::Conflict(c, _)
            | AppError::Invalid(c, _) => c,
            AppError::TooLarge(_) => "too_large",
            AppError::UnsupportedMediaType(_) => "unsupported_media_type",
            AppError::Internal => "internal",
        }
    }

    /// Logs an internal cause once and hides it from the client.
    pub fn internal(context: &str, cause: impl std::fmt::Display) -> Self {
        tracing::error!(error.cause = %cause, "{context}");
        AppError::Internal
    }

    /// The `{"code", "message"}` pair, for JSON bodies and socket frames.
    pub fn to_api(&self) -> ApiError {
        ApiError::new(self.code(), self.to_string())
    }
}

impl From<sea_orm::DbErr> for AppError {
    fn from(e: sea_orm::DbErr) -> Self {
        AppError::internal("database error", e)
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        e.to_api()
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "code": self.code(), "message": self.to_string() } });
        (self.status(), axum::Json(body)).into_response()
    }
}

impl From<JsonRejection> for AppError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::JsonSyntaxError(e) => AppError::BadRequest(
                "invalid_json",
                format!("The body is not valid JSON: {}", e.body_text()),
            ),
            JsonRejection::JsonDataError(e) => AppError::Invalid("invalid_body", e.body_text()),
            JsonRejection::MissingJsonContentType(_) => AppError::UnsupportedMediaType(
                "Send the body as JSON with `Content-Type: application/json`.".into(),
            ),
            JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                AppError::TooLarge("The body is too large.".into())
            }
            other => AppError::BadRequest("invalid_body", other.body_text()),
        }
    }
}

impl From<QueryRejection> for AppError {
    fn from(r: QueryRejection) -> Self {
        AppError::BadRequest("invalid_query", r.body_text())
    }
}

/// `axum::Json`, with rejections answered in our error format.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct Json<T>(pub T);

impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `axum::extract::Query`, with rejections answered in our error format.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct Query<T>(pub T);

/// Parses a JSON body read by hand, with the same errors as [`Json`].
pub fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    serde_json::from_slice(bytes).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => AppError::Invalid("invalid_body", e.to_string()),
        _ => AppError::BadRequest("invalid_json", format!("The body is not valid JSON: {e}")),
    })
}
