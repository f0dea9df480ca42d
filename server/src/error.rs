//! The one error type of the server. Every failure answers
//! `{"error": {"code", "message", "retryable"}}` with the status below, or
//! becomes a socket error frame or a server function error with the same
//! [`ErrorCode`].

use app::error::ErrorBody;
use app::types::{ApiError, ErrorCode};
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400: the request could not be read (malformed JSON, bad query).
    #[error("{1}")]
    BadRequest(ErrorCode, String),
    /// 401: no credentials, or wrong ones.
    #[error("{1}")]
    Unauthorized(ErrorCode, String),
    /// 403: credentials are fine but do not allow this.
    #[error("{1}")]
    Forbidden(ErrorCode, String),
    /// 404: no such thing (or not visible to the caller).
    #[error("{1}")]
    NotFound(ErrorCode, String),
    /// 409: conflicts with what is stored (a taken username).
    #[error("{1}")]
    Conflict(ErrorCode, String),
    /// 413: the body (or a file, or a conversation's files) is larger
    /// than allowed.
    #[error("{1}")]
    TooLarge(ErrorCode, String),
    /// 415: the body is not JSON, or a file is not an allowed type.
    #[error("{1}")]
    UnsupportedMediaType(ErrorCode, String),
    /// 422: well-formed, but a value is invalid (empty message, bad email).
    #[error("{1}")]
    Invalid(ErrorCode, String),
    /// 429: a limit was reached; retry after the duration (`Retry-After`).
    #[error("{0}")]
    RateLimited(String, std::time::Duration),
    /// 408: the request's body did not arrive within the body timeout.
    #[error("{0}")]
    RequestTimeout(String),
    /// 503: overloaded, or the database cannot be reached; retry.
    #[error("{0}")]
    Unavailable(String),
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
            AppError::RateLimited(..) => StatusCode::TOO_MANY_REQUESTS,
            AppError::RequestTimeout(..) => StatusCode::REQUEST_TIMEOUT,
            AppError::Unavailable(..) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            AppError::BadRequest(c, _)
            | AppError::Unauthorized(c, _)
            | AppError::Forbidden(c, _)
            | AppError::NotFound(c, _)
            | AppError::Conflict(c, _)
            | AppError::TooLarge(c, _)
            | AppError::UnsupportedMediaType(c, _)
            | AppError::Invalid(c, _) => *c,
            AppError::RateLimited(..) => ErrorCode::RateLimited,
            AppError::RequestTimeout(_) => ErrorCode::RequestTimeout,
            AppError::Unavailable(_) => ErrorCode::Unavailable,
            AppError::Internal => ErrorCode::Internal,
        }
    }

    /// Logs an internal cause once and hides it from the client.
    pub fn internal(context: &str, cause: impl std::fmt::Display) -> Self {
        tracing::error!(error.cause = %cause, "{context}");
        AppError::Internal
    }

    /// The `{"code", "message", "retryable"}` object, for JSON bodies and
    /// socket frames.
    pub fn to_api(&self) -> ApiError {
        match self {
            AppError::RateLimited(message, wait) => {
                ApiError::rate_limited(message.clone(), retry_ms(*wait))
            }
            _ => ApiError::new(self.code(), self.to_string()),
        }
    }

    /// The whole seconds a client should wait (`Retry-After`), if any.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            AppError::RateLimited(_, wait) => Some(retry_ms(*wait).div_ceil(1000).max(1)),
            AppError::Unavailable(_) => Some(1),
            _ => None,
        }
    }
}

/// A wait in milliseconds, at least 1.
fn retry_ms(wait: std::time::Duration) -> u64 {
    (wait.as_millis() as u64).max(1)
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        e.to_api()
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let retry_after = self.retry_after_secs();
        let mut response = (
            status,
            axum::Json(ErrorBody {
                error: self.to_api(),
            }),
        )
            .into_response();
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        response
    }
}

impl From<JsonRejection> for AppError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::JsonSyntaxError(e) => AppError::BadRequest(
                ErrorCode::InvalidJson,
                format!("The body is not valid JSON: {}", e.body_text()),
            ),
            JsonRejection::JsonDataError(e) => {
                AppError::Invalid(ErrorCode::InvalidBody, e.body_text())
            }
            JsonRejection::MissingJsonContentType(_) => AppError::UnsupportedMediaType(
                ErrorCode::UnsupportedMediaType,
                "Send the body as JSON with `Content-Type: application/json`.".into(),
            ),
            JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                AppError::TooLarge(ErrorCode::TooLarge, "The body is too large.".into())
            }
            other => AppError::BadRequest(ErrorCode::InvalidBody, other.body_text()),
        }
    }
}

impl From<QueryRejection> for AppError {
    fn from(r: QueryRejection) -> Self {
        AppError::BadRequest(ErrorCode::InvalidQuery, r.body_text())
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
        serde_json::error::Category::Data => {
            AppError::Invalid(ErrorCode::InvalidBody, e.to_string())
        }
        _ => AppError::BadRequest(
            ErrorCode::InvalidJson,
            format!("The body is not valid JSON: {e}"),
        ),
    })
}
