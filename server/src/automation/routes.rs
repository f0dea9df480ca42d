//! The admin API of automated responses and business hours: every agent
//! reads them and may try the dry run; admins change them.

use std::sync::Arc;

use app::automation::{
    AutoResponseChange, AutoResponseId, AutoResponseList, AutoResponseTest, BusinessHours,
    NewAutoResponse,
};
use axum::extract::{FromRef, Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::AutomationService;
use crate::agents::extract::{AgentAuth, CurrentAgent};
use crate::error::{AppError, Json};

pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Arc<AutomationService>: FromRef<S>,
    AgentAuth: FromRef<S>,
{
    Router::new()
        .route("/chat/api/admin/auto-responses/", get(list).post(create))
        .route("/chat/api/admin/auto-responses/test/", post(test))
        .route("/chat/api/admin/auto-responses/logs/", get(logs))
        .route(
            "/chat/api/admin/auto-responses/{id}/",
            get(get_one).patch(update).delete(remove),
        )
        .route(
            "/chat/api/admin/business-hours/",
            get(get_hours).put(put_hours),
        )
}

/// `GET /chat/api/admin/auto-responses/` → `{"auto_responses": […]}`.
#[utoipa::path(get, path = "/chat/api/admin/auto-responses/", tag = "automated responses", responses((status = 200, description = "Every rule, highest priority first", body = AutoResponseList), (status = "4XX", description = "Refused; the error code says why (docs/api.md)", body = app::error::ErrorBody), (status = "5XX", description = "Unavailable or internal; retryable", body = app::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
pub async fn list(
    State(automation): State<Arc<AutomationService>>,
    CurrentAgent(_): CurrentAgent,
) -> Result<impl IntoResponse, AppError> {
    let auto_responses = automation.list().await?;
    Ok(Json(AutoResponseList { auto_responses }))
}

/// `POST /chat/api/admin/auto-responses/` → 201 and the rule.
#[utoipa::path(post, path = "/chat/api/admin/auto-responses/", tag = "automated responses", request_body = NewAutoResponse, responses((status = 201, description = "Saved (admins)", body = app::automation::AutoResponse), (status = "4XX", description = "Refused; the error code says why (docs/api.md)", body = app::error::ErrorBody), (status = "5XX", description = "Unavailable or internal; retryable", body = app::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
pub async fn create(
    State(automation): State<Arc<AutomationService>>,
    CurrentAgent(actor): CurrentAgent,
    Json(body): Json<NewAutoResponse>,
) -> Result<impl IntoResponse, AppError> {
    let made = automation.create(&actor, body).await?;
    Ok((StatusCode::CREATED, Json(made)))
}

/// `GET /chat/api/admin/auto-responses/{id}/`.
#[utoipa::path(get, path = "/chat/api/admin/auto-responses/{id}/", tag = "automated responses", params(("id" = String, Path, description = "The rule's id")), responses((status = 200, description = "The rule", body = app::automation::AutoResponse), (status = "4XX", description = "Refused; the error code says why (docs/api.md)", body = app::error::ErrorBody), (status = "5XX", description = "Unavailable or internal; retryable", body = app::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
pub async fn get_one(
    State(automation): State<Arc<AutomationService>>,
    CurrentAgent(_): CurrentAgent,
    Path(id): Path<AutoResponseId>,
) -> Result<impl IntoResponse, AppError> {
    Ok(Json(automation.get(&id).await?))
}

/// `PATCH /chat/api/admin/auto-responses/{id}/` with any of the fields.
#[utoipa::path(patch, path = "/chat/api/admin/auto-responses/{id}/", tag = "automated responses", params(("id" = String, Path, description = "The rule's id")), request_body = AutoResponseChange, responses((status = 200, description = "Changed (admins)", body = app::automation::AutoResponse), (status = "4XX", description = "Refused; the error code says why (docs/api.md)", body = app::error::ErrorBody), (status = "5XX", description = "Unavailable or internal; retryable", body = app::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
pub async fn update(
    State(automation): State<Arc<AutomationService>>,
    CurrentAgent(actor): CurrentAgent,
    Path(id): Path<AutoResponseId>,
    Json(body): Json<AutoResponseChange>,
) -> Result<impl IntoResponse, AppError> {
    Ok(Json(automation.update(&actor, &id, body).await?))
}

/// `DELETE /chat/api/admin/auto-responses/{id}/` → 204.
#[utoipa::path(delete, path = "/chat/api/admin/auto-responses/{id}/", tag = "automated responses", params(("id" = String, Path, description = "The rule's id")), responses((status = 204, description = "Deleted (admins); its log entries stay"), (status = "4XX", description = "Refused; the error code says why (docs/api.md)", body = app::error::ErrorBody), (status = "5XX", description = "Unavailable or internal; retryable", body = app::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
pub async fn remove(
    State(automation): State<Arc<AutomationService>>,
    CurrentAgent(actor): CurrentAgent,
    Path(id): Path<AutoResponseId>,
) -> Result<impl IntoResponse, AppError> {
    automation.delete(&actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /chat/api/admin/auto-responses/test/` `{"content", "at"?,
/// "language"?, …}` → `{"rule", "reply", "reasons"}`; nothing is sent.
#[utoipa::path(post, path = "/chat/api/admin/auto-responses/test/", tag = "automated responses", request_body = AutoResponseTest, responses((status = 200, description = "Which rule would answer, its reply, and why each rule did or did not fire", body = app::automation::AutoResponseVerdict), (status = "4XX", description = "Refused; the error code says why (docs/api.md)", body = app::error::ErrorBody), (status = "5XX", description = "Unavailable or internal; retryable", body = app::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
pub async fn test(
    State(automation): State<Arc<AutomationService>>,
    CurrentAgent(_): CurrentAgent,
    Json(body): Json<AutoResponseTest>,
) -> Result<impl IntoResponse, AppError> {
    Ok(Json(automation.test(body).await?))
}

/// The log's filters and paging.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogParams {
    /// Only this rule's entries.
    pub rule: Option<AutoResponseId>,
    /// Entries at or after this time (RFC 3339).
    pub from: Option<String>,
    /// Entries before this time (RFC 3339).
    pub to: Option<String>,
    /// The `next_cursor` of the page before.
    pub cursor: Option<String>,
    /// 1–100 (50 when absent).
    pub limit: Option<u64>,
}

/// `GET /chat/api/admin/auto-responses/logs/?rule=&from=&to=&cursor=&limit=`.
#[utoipa::path(get, path = "/chat/api/admin/auto-responses/logs/", tag = "automated responses", params(LogParams), responses((status = 200, description = "A page of the log, newest first", body = app::automation::AutoResponseLogPage), (status = "4XX", description = "Refused; the error code says why (docs/api.md)", body = app::error::ErrorBody), (status = "5XX", description = "Unavailable or internal; retryable", body = app::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
pub async fn logs(
    State(automation): State<Arc<AutomationService>>,
    CurrentAgent(_): CurrentAgent,
    Query(q): Query<LogParams>,
) -> Result<impl IntoResponse, AppError> {
    let page = automation
        .logs(
            q.rule.as_ref().filter(|r| !r.as_str().is_empty()),
            q.from.as_deref().filter(|s| !s.is_empty()),
            q.to.as_deref().filter(|s| !s.is_empty()),
            q.cursor.as_deref().filter(|s| !s.is_empty()),
            q.limit,
        )
        .await?;
    Ok(Json(page))
}

/// `GET /chat/api/admin/business-hours/`.
#[utoipa::path(get, path = "/chat/api/admin/business-hours/", tag = "automated responses", responses((status = 200, description = "The schedule, whether it is open now, and when it next opens", body = app::automation::BusinessHoursView), (status = "4XX", description = "Refused; the error code says why (docs/api.md)", body = app::error::ErrorBody), (status = "5XX", description = "Unavailable or internal; retryable", body = app::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
pub async fn get_hours(
    State(automation): State<Arc<AutomationService>>,
    CurrentAgent(_): CurrentAgent,
) -> Result<impl IntoResponse, AppError> {
    Ok(Json(automation.hours_view()))
}

/// `PUT /chat/api/admin/business-hours/` with the whole schedule.
#[utoipa::path(put, path = "/chat/api/admin/business-hours/", tag = "automated responses", request_body = BusinessHours, responses((status = 200, description = "Saved (admins) and applied on every instance", body = app::automation::BusinessHoursView), (status = "4XX", description = "Refused; the error code says why (docs/api.md)", body = app::error::ErrorBody), (status = "5XX", description = "Unavailable or internal; retryable", body = app::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
pub async fn put_hours(
    State(automation): State<Arc<AutomationService>>,
    CurrentAgent(actor): CurrentAgent,
    Json(body): Json<BusinessHours>,
) -> Result<impl IntoResponse, AppError> {
    Ok(Json(automation.set_hours(&actor, body).await?))
}
