//! The admin API's canned responses: list (every agent), create, change
//! and delete (admins).

use std::sync::Arc;

use app::types::CannedResponseId;
use axum::extract::{FromRef, Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, patch};
use axum::Router;

use super::{CannedChange, CannedService, NewCanned};
use crate::agents::extract::{AgentAuth, CurrentAgent};
use crate::error::{AppError, Json};

/// The admin API's canned-response routes, for any router state that
/// holds the service and tells who is calling.
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Arc<CannedService>: FromRef<S>,
    AgentAuth: FromRef<S>,
{
    Router::new()
        .route("/chat/api/admin/canned-responses/", get(list).post(create))
        .route(
            "/chat/api/admin/canned-responses/{id}/",
            patch(update).delete(remove),
        )
}

/// `{"canned_responses": [...]}`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct CannedList {
    pub canned_responses: Vec<app::types::CannedResponse>,
}

/// `GET /chat/api/admin/canned-responses/` → `{"canned_responses": […]}`.
#[utoipa::path(get, path = "/chat/api/admin/canned-responses/", tag = "canned responses", responses((status = 200, description = "Every canned response, by shortcut", body = CannedList), (status = "4XX", description = "Refused; the error code says why (docs/api.md)", body = app::error::ErrorBody), (status = "5XX", description = "Unavailable or internal; retryable", body = app::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
pub async fn list(
    State(canned): State<Arc<CannedService>>,
    CurrentAgent(_): CurrentAgent,
) -> Result<impl IntoResponse, AppError> {
    let canned_responses = canned.list().await?;
    Ok(Json(CannedList { canned_responses }))
}

/// `POST /chat/api/admin/canned-responses/` `{"shortcut", "content"}` → 201.
#[utoipa::path(post, path = "/chat/api/admin/canned-responses/", tag = "canned responses", request_body = super::NewCanned, responses((status = 201, description = "Saved (admins)", body = app::types::CannedResponse), (status = "4XX", description = "Refused; the error code says why (docs/api.md)", body = app::error::ErrorBody), (status = "5XX", description = "Unavailable or internal; retryable", body = app::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
pub async fn create(
    State(canned): State<Arc<CannedService>>,
    CurrentAgent(actor): CurrentAgent,
    Json(body): Json<NewCanned>,
) -> Result<impl IntoResponse, AppError> {
    let made = canned.create(&actor, body).await?;
    Ok((StatusCode::CREATED, Json(made)))
}

/// `PATCH /chat/api/admin/canned-responses/{id}/` `{"shortcut"?, "content"?}`.
#[utoipa::path(patch, path = "/chat/api/admin/canned-responses/{id}/", tag = "canned responses", params(("id" = String, Path, description = "The canned response's id")), request_body = super::CannedChange, responses((status = 200, description = "Changed (admins)", body = app::types::CannedResponse), (status = "4XX", description = "Refused; the error code says why (docs/api.md)", body = app::error::ErrorBody), (status = "5XX", description = "Unavailable or internal; retryable", body = app::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
pub async fn update(
    State(canned): State<Arc<CannedService>>,
    CurrentAgent(actor): CurrentAgent,
    Path(id): Path<CannedResponseId>,
    Json(body): Json<CannedChange>,
) -> Result<impl IntoResponse, AppError> {
    Ok(Json(canned.update(&actor, &id, body).await?))
}

/// `DELETE /chat/api/admin/canned-responses/{id}/` → 204.
#[utoipa::path(delete, path = "/chat/api/admin/canned-responses/{id}/", tag = "canned responses", params(("id" = String, Path, description = "The canned response's id")), responses((status = 204, description = "Deleted (admins)"), (status = "4XX", description = "Refused; the error code says why (docs/api.md)", body = app::error::ErrorBody), (status = "5XX", description = "Unavailable or internal; retryable", body = app::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
pub async fn remove(
    State(canned): State<Arc<CannedService>>,
    CurrentAgent(actor): CurrentAgent,
    Path(id): Path<CannedResponseId>,
) -> Result<impl IntoResponse, AppError> {
    canned.delete(&actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
