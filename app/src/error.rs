//! The one set of error codes: HTTP bodies, socket error frames and server
//! functions all carry an [`ErrorCode`], documented in docs/api.md (a test
//! fails when one is missing there).

use serde::{Deserialize, Serialize};
use server_fn::error::{FromServerFnError, ServerFnErrorErr};

/// Declares [`ErrorCode`] with its wire names and the list of all codes.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $text:literal,)*) => {
        /// Why a request, frame or server function was refused.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
        #[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every code, for documentation checks.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The wire name (`snake_case`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $text,)*
                }
            }
        }
    };
}

/// Read by name through [`ErrorCode::ALL`]: serde's derived reader is one
/// string comparison per code, some 8 KB of the dashboard's wasm.
impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Name;
        impl serde::de::Visitor<'_> for Name {
            type Value = ErrorCode;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an error code")
            }

            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<ErrorCode, E> {
                ErrorCode::ALL
                    .iter()
                    .copied()
                    .find(|code| code.as_str() == name)
                    .ok_or_else(|| E::invalid_value(serde::de::Unexpected::Str(name), &self))
            }
        }
        deserializer.deserialize_str(Name)
    }
}

error_codes! {
    /// The body is not JSON.
    InvalidJson = "invalid_json",
    /// The body is JSON but not the expected shape.
    InvalidBody = "invalid_body",
    /// A query parameter is malformed.
    InvalidQuery = "invalid_query",
    /// A paging cursor is malformed.
    InvalidCursor = "invalid_cursor",
    /// `Host` is not in `ALLOWED_HOSTS`.
    InvalidHost = "invalid_host",
    /// No token where one is needed.
    MissingToken = "missing_token",
    /// A token that opens nothing.
    InvalidToken = "invalid_token",
    /// A site-supplied customer_id without its token or a valid
    /// `customer_hash`, while `IDENTITY_REQUIRED` is on.
    IdentityRequired = "identity_required",
    /// A `customer_hash` that does not match the customer_id.
    InvalidIdentity = "invalid_identity",
    /// Wrong username or password.
    InvalidCredentials = "invalid_credentials",
    /// Not signed in, or the session ended.
    Unauthorized = "unauthorized",
    /// A cookie-authenticated request from another site.
    BadOrigin = "bad_origin",
    /// The first-run setup link is not valid (any more).
    InvalidSetupToken = "invalid_setup_token",
    /// The two passwords of a form differ.
    PasswordMismatch = "password_mismatch",
    /// No conversation has that customer_id.
    UnknownCustomer = "unknown_customer",
    /// No conversation has that id.
    UnknownSession = "unknown_session",
    /// No agent has that username.
    UnknownAgent = "unknown_agent",
    /// No such endpoint.
    NotFound = "not_found",
    /// The customer_id is in use by another conversation.
    CustomerIdTaken = "customer_id_taken",
    /// The username is taken.
    UsernameTaken = "username_taken",
    /// The change would leave no active admin.
    LastAdmin = "last_admin",
    /// Another canned response has that shortcut.
    ShortcutTaken = "shortcut_taken",
    /// A list is full (canned responses: at most 500).
    TooMany = "too_many",
    /// No canned response has that id.
    UnknownCannedResponse = "unknown_canned_response",
    /// A widget setting is malformed; the message names it.
    InvalidSetting = "invalid_setting",
    /// The widget runs on a page whose site is not in the widget settings'
    /// allowed origins.
    OriginNotAllowed = "origin_not_allowed",
    /// A malformed canned-response shortcut.
    InvalidShortcut = "invalid_shortcut",
    /// An automated-response rule that does not hold together; the
    /// message names the field.
    InvalidRule = "invalid_rule",
    /// No automated-response rule has that id.
    UnknownRule = "unknown_rule",
    /// Another automated-response rule has that name.
    RuleNameTaken = "rule_name_taken",
    /// A business-hours schedule that does not hold together; the message
    /// names the field.
    InvalidBusinessHours = "invalid_business_hours",
    /// Others kept changing a conversation's assignee while this change
    /// was tried; reload and try again.
    AssignmentConflict = "assignment_conflict",
    /// The body is larger than the endpoint accepts.
    TooLarge = "too_large",
    /// The body was not sent as JSON.
    UnsupportedMediaType = "unsupported_media_type",
    /// A file whose bytes are not one of `ATTACHMENT_TYPES` (whatever its
    /// name says), or an image that does not parse.
    UnsupportedType = "unsupported_type",
    /// The conversation's files together would pass
    /// `ATTACHMENT_QUOTA_BYTES`.
    QuotaExceeded = "quota_exceeded",
    /// Attachments are turned off (`ATTACHMENTS_ENABLED=false`).
    AttachmentsDisabled = "attachments_disabled",
    /// A download link that is unsigned, tampered with or expired; ask
    /// the API for the message again for a fresh one.
    InvalidLink = "invalid_link",
    /// No such attachment (it was deleted with its conversation).
    UnknownAttachment = "unknown_attachment",
    /// A blank message.
    EmptyContent = "empty_content",
    /// A message over `MAX_MESSAGE_LENGTH`.
    ContentTooLong = "content_too_long",
    /// A message with control characters.
    InvalidContent = "invalid_content",
    /// A malformed client_id.
    InvalidClientId = "invalid_client_id",
    /// A malformed customer_id.
    InvalidCustomerId = "invalid_customer_id",
    /// A malformed email address.
    InvalidEmail = "invalid_email",
    /// A malformed name.
    InvalidName = "invalid_name",
    /// A password too short.
    WeakPassword = "weak_password",
    /// A malformed username.
    InvalidUsername = "invalid_username",
    /// A socket frame that is not a JSON object of the right shape.
    InvalidFrame = "invalid_frame",
    /// A socket frame of a type this socket does not take.
    UnknownType = "unknown_type",
    /// The dashboard could not reach the server function.
    RequestFailed = "request_failed",
    /// Too many requests or messages; `retry_after_ms` says when to retry.
    RateLimited = "rate_limited",
    /// Signed in, but the role does not allow this.
    Forbidden = "forbidden",
    /// The request's body did not arrive in time.
    RequestTimeout = "request_timeout",
    /// The server is overloaded or the database is unreachable; retry.
    Unavailable = "unavailable",
    /// Our fault; logged on the server.
    Internal = "internal",
}

impl ErrorCode {
    /// Whether the same request may succeed later: clients keep what the
    /// person typed and retry these with backoff.
    pub fn retryable(self) -> bool {
        matches!(
            self,
            ErrorCode::Unavailable
                | ErrorCode::Internal
                | ErrorCode::RequestFailed
                | ErrorCode::RateLimited
                | ErrorCode::RequestTimeout
        )
    }
}

impl ErrorCode {
    /// The HTTP status a server function answers with this code (the
    /// admin API's statuses come from the server's error type).
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::InvalidCredentials
            | ErrorCode::Unauthorized
            | ErrorCode::MissingToken
            | ErrorCode::InvalidToken
            | ErrorCode::IdentityRequired
            | ErrorCode::InvalidIdentity => 401,
            ErrorCode::BadOrigin
            | ErrorCode::Forbidden
            | ErrorCode::InvalidSetupToken
            | ErrorCode::OriginNotAllowed
            | ErrorCode::AttachmentsDisabled
            | ErrorCode::InvalidLink => 403,
            ErrorCode::UnknownCustomer
            | ErrorCode::UnknownSession
            | ErrorCode::UnknownAgent
            | ErrorCode::UnknownCannedResponse
            | ErrorCode::UnknownRule
            | ErrorCode::UnknownAttachment
            | ErrorCode::NotFound => 404,
            ErrorCode::RequestTimeout => 408,
            ErrorCode::CustomerIdTaken
            | ErrorCode::UsernameTaken
            | ErrorCode::LastAdmin
            | ErrorCode::ShortcutTaken
            | ErrorCode::RuleNameTaken
            | ErrorCode::TooMany
            | ErrorCode::AssignmentConflict => 409,
            ErrorCode::TooLarge | ErrorCode::QuotaExceeded => 413,
            ErrorCode::UnsupportedMediaType | ErrorCode::UnsupportedType => 415,
            ErrorCode::RateLimited => 429,
            ErrorCode::Unavailable => 503,
            ErrorCode::Internal | ErrorCode::RequestFailed => 500,
            ErrorCode::InvalidJson
            | ErrorCode::InvalidBody
            | ErrorCode::InvalidQuery
            | ErrorCode::InvalidCursor
            | ErrorCode::InvalidHost
            | ErrorCode::InvalidFrame
            | ErrorCode::UnknownType => 400,
            ErrorCode::PasswordMismatch
            | ErrorCode::EmptyContent
            | ErrorCode::ContentTooLong
            | ErrorCode::InvalidContent
            | ErrorCode::InvalidClientId
            | ErrorCode::InvalidCustomerId
            | ErrorCode::InvalidEmail
            | ErrorCode::InvalidName
            | ErrorCode::WeakPassword
            | ErrorCode::InvalidShortcut
            | ErrorCode::InvalidRule
            | ErrorCode::InvalidBusinessHours
            | ErrorCode::InvalidSetting
            | ErrorCode::InvalidUsername => 422,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `{"code", "message", "retryable"}`: the body of every error, over HTTP,
/// on sockets and from server functions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[error("{message}")]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    #[serde(default)]
    pub retryable: bool,
    /// With `rate_limited`: how long to wait before retrying.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

/// `{"error": {"code", "message", "retryable", "retry_after_ms"?}}`: every
/// refusal over HTTP, from the server's JSON API and its upload endpoint
/// alike.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: ApiError,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retryable: code.retryable(),
            retry_after_ms: None,
        }
    }

    /// `rate_limited`, retry after `ms`.
    pub fn rate_limited(message: impl Into<String>, ms: u64) -> Self {
        Self {
            retry_after_ms: Some(ms),
            ..Self::new(ErrorCode::RateLimited, message)
        }
    }

    pub fn unauthorized() -> Self {
        Self::new(ErrorCode::Unauthorized, "Please sign in.")
    }

    pub fn is_unauthorized(&self) -> bool {
        self.code == ErrorCode::Unauthorized
    }
}

impl FromServerFnError for ApiError {
    type Encoder = crate::json::JsonCodec;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // On the server: the request's arguments could not be read.
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::Deserialization(_)
                if cfg!(feature = "ssr") =>
            {
                #[cfg(feature = "ssr")]
                if let Some(options) =
                    leptos::prelude::use_context::<leptos_axum::ResponseOptions>()
                {
                    options.set_status(http::StatusCode::BAD_REQUEST);
                }
                ApiError::new(ErrorCode::InvalidBody, value.to_string())
            }
            other => ApiError::new(ErrorCode::RequestFailed, other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_match_serde() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            let back: ErrorCode = serde_json::from_str(&json).unwrap();
            assert_eq!(back, *code);
            let value: ErrorCode = serde_json::from_value(code.as_str().into()).unwrap();
            assert_eq!(value, *code);
        }
        // An escaped name is the same name.
        let escaped: ErrorCode = serde_json::from_slice(br#""invalid\u005fjson""#).unwrap();
        assert_eq!(escaped, ErrorCode::InvalidJson);
        for refused in [
            r#""no_such_code""#,
            r#""Invalid_Json""#,
            "3",
            "null",
            r#"["invalid_json"]"#,
        ] {
            let error = serde_json::from_str::<ErrorCode>(refused).unwrap_err();
            assert!(
                error.to_string().contains("expected an error code"),
                "{refused}: {error}"
            );
        }
    }

    #[test]
    fn errors_say_whether_to_retry() {
        let e = serde_json::to_value(ApiError::new(ErrorCode::Unavailable, "busy")).unwrap();
        assert_eq!(e["code"], "unavailable");
        assert_eq!(e["retryable"], true);
        assert!(!ApiError::new(ErrorCode::EmptyContent, "x").retryable);
    }
}

#[cfg(test)]
mod docs {
    use super::ErrorCode;

    #[test]
    fn every_code_is_documented() {
        let doc = include_str!("../../docs/api.md");
        let missing: Vec<&str> = ErrorCode::ALL
            .iter()
            .map(|c| c.as_str())
            .filter(|c| !doc.contains(&format!("`{c}`")))
            .collect();
        assert!(missing.is_empty(), "missing from docs/api.md: {missing:?}");
    }
}
