//! The admin HTTP API, for programs (API token) and the dashboard (cookie).

use app::types::SessionStatus;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;

use super::extract::CurrentAgent;
use crate::chat::Author;
use crate::error::{AppError, Json, Query};
use crate::startup::AppState;

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    pub status: Option<String>,
}

pub async fn list_sessions(
    State(state): State<AppState>,
    CurrentAgent(_): CurrentAgent,
    Query(query): Query<ListQuery>,
) -> Result<impl IntoResponse, AppError> {
    let status = match query.status.as_deref() {
        None | Some("" | "all") => None,
        Some(raw) => Some(SessionStatus::parse(raw).ok_or_else(|| {
            AppError::BadRequest(
                "invalid_query",
                "status must be open, closed or all.".into(),
            )
        })?),
    };
    let sessions = state.chat.list_sessions(status).await?;
    Ok(Json(serde_json::json!({ "sessions": sessions })))
}

pub async fn session_detail(
    State(state): State<AppState>,
    CurrentAgent(_): CurrentAgent,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, AppError> {
    Ok(Json(state.chat.conversation(&id).await?))
}

#[derive(Debug, Deserialize)]
pub struct StatusBody {
    pub status: SessionStatus,
}

pub async fn update_status(
    State(state): State<AppState>,
    CurrentAgent(_): CurrentAgent,
    Path(id): Path<String>,
    Json(body): Json<StatusBody>,
) -> Result<impl IntoResponse, AppError> {
    Ok(Json(state.chat.set_status(&id, body.status).await?))
}

#[derive(Debug, Deserialize)]
pub struct ReplyBody {
    pub content: String,
    pub client_id: Option<String>,
}

pub async fn reply(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    Path(id): Path<String>,
    Json(body): Json<ReplyBody>,
) -> Result<impl IntoResponse, AppError> {
    let session = state.chat.session(&id).await?;
    let message = state
        .chat
        .post(
            &session,
            Author::Agent(&agent),
            &body.content,
            body.client_id.as_deref(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(message)))
}
