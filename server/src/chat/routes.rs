//! The public widget API (CORS-open; visitors authenticate with their
//! conversation token as `Authorization: Bearer …`). Thin handlers: parse,
//! call [`super::ChatService`], answer. [`router`] puts them together with
//! the visitor socket.

use std::sync::Arc;

use app::protocol::Party;
use app::types::ErrorCode;
use axum::extract::{FromRef, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use serde::{Deserialize, Serialize};
use tower_http::cors::{Any, CorsLayer};

use super::service::WAIT_MAX_SECS;
use super::{socket, HistoryQuery, OfflineRequest, StartRequest, WidgetState};
use crate::config::WidgetSettings;
use crate::error::{AppError, Json, Query};
use crate::limits::{ClientAddr, Limits};
use crate::settings::SettingsService;

/// CORS for the widget API: any site may call it (the allowed origins
/// are checked by [`check_origin`]).
pub fn widget_cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([axum::http::Method::GET, axum::http::Method::POST])
        .allow_headers([
            axum::http::header::CONTENT_TYPE,
            axum::http::header::AUTHORIZATION,
        ])
        .max_age(std::time::Duration::from_secs(3600))
}

/// The widget API (CORS-open: it runs on customers' sites) and the visitor
/// socket; both refuse pages whose site is not in the widget settings'
/// allowed origins (when there are any).
pub fn router<S>(state: &S) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    WidgetState: FromRef<S>,
    Arc<Limits>: FromRef<S>,
{
    let settings = WidgetState::from_ref(state).settings;
    let origins = axum::middleware::from_fn_with_state(settings, check_origin);
    let api = Router::new()
        .route("/chat/api/widget/config/", get(widget_config))
        .route("/chat/api/chat/start/", post(start))
        .route("/chat/api/chat/message/", post(post_message))
        .route("/chat/api/chat/read/", post(read))
        .route("/chat/api/chat/context/", post(context))
        .route("/chat/api/chat/offline/", post(offline))
        .route("/chat/api/chat/{customer_id}/history/", get(history))
        .layer(origins.clone())
        .layer(widget_cors());
    Router::new().merge(api).route(
        "/ws/chat/{customer_id}/",
        get(socket::visitor_socket).layer(origins),
    )
}

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

/// `GET /chat/api/widget/config/`: the settings, and whether an agent is
/// available now.
#[derive(Serialize, utoipa::ToSchema)]
pub struct WidgetConfig {
    #[serde(flatten)]
    pub settings: WidgetSettings,
    pub available: bool,
    /// What a visitor may attach, so the widget refuses early with a clear
    /// message (the server checks every upload anyway).
    pub attachments: app::types::AttachmentLimits,
}

/// Not cached: availability and settings change.
#[utoipa::path(get, path = "/chat/api/widget/config/", tag = "widget", responses((status = 200, description = "The widget settings in force and whether an agent is available", body = WidgetConfig), (status = "4XX", description = "Refused; the error code says why (docs/api.md)", body = app::error::ErrorBody), (status = "5XX", description = "Unavailable or internal; retryable", body = app::error::ErrorBody)))]
pub async fn widget_config(State(state): State<WidgetState>) -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, "no-cache")],
        Json(WidgetConfig {
            settings: state.settings.current().widget.clone(),
            available: *state.available.borrow(),
            attachments: state.attachments.limits(),
        }),
    )
}

/// Refuses a browser page (an `Origin` header) whose site may not run the
/// widget: 403 `origin_not_allowed`. Requests without `Origin` (servers,
/// tools) pass; a site's own server may always call the API.
pub async fn check_origin(
    State(settings): State<Arc<SettingsService>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Result<axum::response::Response, AppError> {
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok());
        let allowed = origin
            .to_str()
            .is_ok_and(|o| settings.current().allows_origin(o, host));
        if !allowed {
            return Err(AppError::Forbidden(
                ErrorCode::OriginNotAllowed,
                "This site may not run the chat widget (widget settings: allowed origins).".into(),
            ));
        }
    }
    Ok(next.run(req).await)
}

/// An empty body starts a fresh conversation with no name or email.
#[utoipa::path(post, path = "/chat/api/chat/start/", tag = "widget", request_body = Option<crate::chat::StartRequest>, responses((status = 200, description = "The conversation started or resumed, with its token", body = crate::chat::StartResponse), (status = "4XX", description = "Refused; the error code says why (docs/api.md)", body = app::error::ErrorBody), (status = "5XX", description = "Unavailable or internal; retryable", body = app::error::ErrorBody)))]
pub async fn start(
    State(state): State<WidgetState>,
    from: ClientAddr,
    headers: HeaderMap,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<impl IntoResponse, AppError> {
    let body =
        body.map_err(|_| AppError::TooLarge(ErrorCode::TooLarge, "The body is too large.".into()))?;
    let req: StartRequest = if body.iter().all(u8::is_ascii_whitespace) {
        StartRequest::default()
    } else {
        crate::error::parse_json(&body)?
    };
    Ok(Json(
        state.chat.start(req, from, user_agent(&headers)).await?,
    ))
}

/// A message left while no agent is available → `201`, the same body as a
/// start.
#[utoipa::path(post, path = "/chat/api/chat/offline/", tag = "widget", request_body = crate::chat::OfflineRequest, responses((status = 201, description = "Stored; the same answer as a start", body = crate::chat::StartResponse), (status = "4XX", description = "Refused; the error code says why (docs/api.md)", body = app::error::ErrorBody), (status = "5XX", description = "Unavailable or internal; retryable", body = app::error::ErrorBody)))]
pub async fn offline(
    State(state): State<WidgetState>,
    from: ClientAddr,
    headers: HeaderMap,
    Json(body): Json<OfflineRequest>,
) -> Result<impl IntoResponse, AppError> {
    let answer = state.chat.offline(body, from, user_agent(&headers)).await?;
    Ok((StatusCode::CREATED, Json(answer)))
}

/// The request's `User-Agent` and `Accept-Language`, when they are text.
fn user_agent(headers: &HeaderMap) -> super::visitor::Headers<'_> {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &header::HeaderValue| v.to_str().ok())
    };
    super::visitor::Headers {
        user_agent: text(header::USER_AGENT),
        accept_language: text(header::ACCEPT_LANGUAGE),
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PostMessage {
    pub customer_id: String,
    pub content: String,
    pub client_id: Option<String>,
}

#[utoipa::path(post, path = "/chat/api/chat/message/", tag = "widget", request_body = PostMessage, responses((status = 201, description = "Stored (committed)", body = app::types::MessageView), (status = "4XX", description = "Refused; the error code says why (docs/api.md)", body = app::error::ErrorBody), (status = "5XX", description = "Unavailable or internal; retryable", body = app::error::ErrorBody)), security(("visitor" = [])))]
pub async fn post_message(
    State(state): State<WidgetState>,
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

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ReadBody {
    pub customer_id: String,
    pub seq: i64,
}

/// The visitor has read up to `seq` (the HTTP transport's read frame):
/// 204, stored the same way.
#[utoipa::path(post, path = "/chat/api/chat/read/", tag = "widget", request_body = ReadBody, responses((status = 204, description = "Stored"), (status = "4XX", description = "Refused; the error code says why (docs/api.md)", body = app::error::ErrorBody), (status = "5XX", description = "Unavailable or internal; retryable", body = app::error::ErrorBody)), security(("visitor" = [])))]
pub async fn read(
    State(state): State<WidgetState>,
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

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ContextBody {
    pub customer_id: String,
    /// As in a start: `page_url`, `referrer`, `time_zone`, `utc_offset`.
    #[schema(value_type = Object)]
    pub context: Option<serde_json::Value>,
}

/// The visitor's browser is on another page of a single-page site (the
/// loader reports `pushState`, `popstate` and `hashchange`): 204, the
/// customer panel's page fields replaced and agents told.
#[utoipa::path(post, path = "/chat/api/chat/context/", tag = "widget", request_body = ContextBody, responses((status = 204, description = "Stored"), (status = "4XX", description = "Refused; the error code says why (docs/api.md)", body = app::error::ErrorBody), (status = "5XX", description = "Unavailable or internal; retryable", body = app::error::ErrorBody)), security(("visitor" = [])))]
pub async fn context(
    State(state): State<WidgetState>,
    BearerToken(token): BearerToken,
    headers: HeaderMap,
    Json(body): Json<ContextBody>,
) -> Result<impl IntoResponse, AppError> {
    state
        .chat
        .visitor_moved(
            &body.customer_id,
            &token,
            body.context.as_ref(),
            user_agent(&headers),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `?after=&before=&limit=`, shared by the widget and admin history.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct HistoryParams {
    pub after: Option<i64>,
    pub before: Option<i64>,
    pub limit: Option<u64>,
}

/// The widget's history adds `wait` (long polling), whole seconds 0–30.
/// (Not `#[serde(flatten)]`: query strings lose their numbers through it.)
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct VisitorHistoryParams {
    pub after: Option<i64>,
    pub before: Option<i64>,
    pub limit: Option<u64>,
    pub wait: Option<String>,
}

impl VisitorHistoryParams {
    fn wait(&self) -> Result<std::time::Duration, AppError> {
        let Some(raw) = self.wait.as_deref() else {
            return Ok(std::time::Duration::ZERO);
        };
        match raw.parse::<u64>() {
            Ok(secs) if secs <= WAIT_MAX_SECS => Ok(std::time::Duration::from_secs(secs)),
            _ => Err(AppError::BadRequest(
                ErrorCode::InvalidQuery,
                format!("wait must be whole seconds from 0 to {WAIT_MAX_SECS}."),
            )),
        }
    }
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

#[utoipa::path(get, path = "/chat/api/chat/{customer_id}/history/", tag = "widget", params(("customer_id" = String, Path, description = "The conversation's public id"), VisitorHistoryParams), responses((status = 200, description = "A page of messages", body = app::types::MessagePage), (status = "4XX", description = "Refused; the error code says why (docs/api.md)", body = app::error::ErrorBody), (status = "5XX", description = "Unavailable or internal; retryable", body = app::error::ErrorBody)), security(("visitor" = [])))]
pub async fn history(
    State(state): State<WidgetState>,
    Path(customer_id): Path<String>,
    BearerToken(token): BearerToken,
    from: ClientAddr,
    Query(params): Query<VisitorHistoryParams>,
) -> Result<impl IntoResponse, AppError> {
    let wait = params.wait()?;
    let conversation = state.chat.authenticate(&customer_id, &token).await?;
    let page = state
        .chat
        .history_wait(
            &conversation.id,
            HistoryQuery {
                after: params.after,
                before: params.before,
                limit: params.limit,
            },
            wait,
            from,
            state.sockets.shutdown.clone(),
        )
        .await?;
    Ok(Json(page))
}
