//! The admin API's canned responses: list (every agent), create, change
//! and delete (admins).

use app::types::CannedResponseId;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;

use super::{CannedChange, NewCanned};
use crate::agents::extract::CurrentAgent;
use crate::error::{AppError, Json};
use crate::state::AppState;

/// `GET /chat/api/admin/canned-responses/` → `{"canned_responses": […]}`.
pub async fn list(
    State(state): State<AppState>,
    CurrentAgent(_): CurrentAgent,
) -> Result<impl IntoResponse, AppError> {
    let all = state.canned.list().await?;
    Ok(Json(serde_json::json!({ "canned_responses": all })))
}

/// `POST /chat/api/admin/canned-responses/` `{"shortcut", "content"}` → 201.
pub async fn create(
    State(state): State<AppState>,
    CurrentAgent(actor): CurrentAgent,
    Json(body): Json<NewCanned>,
) -> Result<impl IntoResponse, AppError> {
    let made = state.canned.create(&actor, body).await?;
    Ok((StatusCode::CREATED, Json(made)))
}

/// `PATCH /chat/api/admin/canned-responses/{id}/` `{"shortcut"?, "content"?}`.
pub async fn update(
    State(state): State<AppState>,
    CurrentAgent(actor): CurrentAgent,
    Path(id): Path<CannedResponseId>,
    Json(body): Json<CannedChange>,
) -> Result<impl IntoResponse, AppError> {
    Ok(Json(state.canned.update(&actor, &id, body).await?))
}

/// `DELETE /chat/api/admin/canned-responses/{id}/` → 204.
pub async fn remove(
    State(state): State<AppState>,
    CurrentAgent(actor): CurrentAgent,
    Path(id): Path<CannedResponseId>,
) -> Result<impl IntoResponse, AppError> {
    state.canned.delete(&actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
