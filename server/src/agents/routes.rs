//! The admin HTTP API, for programs (API token) and the dashboard (cookie).
//! Thin handlers: parse, call the service, answer.

use app::types::{AgentId, ErrorCode, InboxParams, NewApiToken, SessionId, SessionStatus};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Deserializer};

use super::extract::CurrentAgent;
use super::{AccountChange, NewAccount};
use crate::chat::routes::HistoryParams;
use crate::error::{AppError, Json, Query};
use crate::state::AppState;

/// `GET /chat/api/admin/sessions/?status=&q=&assigned=&unread=&waiting=&offline=&cursor=&limit=`:
/// the inbox.
pub async fn list_sessions(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    Query(params): Query<InboxParams>,
) -> Result<impl IntoResponse, AppError> {
    Ok(Json(state.chat.inbox(&agent, &params).await?))
}

/// `GET /chat/api/admin/stats/`: the dashboard home's figures.
pub async fn stats(
    State(state): State<AppState>,
    CurrentAgent(_): CurrentAgent,
) -> Result<impl IntoResponse, AppError> {
    Ok(Json(state.chat.stats().await?))
}

pub async fn session_detail(
    State(state): State<AppState>,
    CurrentAgent(_): CurrentAgent,
    Path(id): Path<SessionId>,
) -> Result<impl IntoResponse, AppError> {
    Ok(Json(state.chat.conversation(&id).await?))
}

/// `GET …/session/{id}/messages/?after=&before=&limit=`: a page of history.
pub async fn messages(
    State(state): State<AppState>,
    CurrentAgent(_): CurrentAgent,
    Path(id): Path<SessionId>,
    Query(params): Query<HistoryParams>,
) -> Result<impl IntoResponse, AppError> {
    let conversation = state.chat.conversation_row(&id).await?;
    Ok(Json(
        state.chat.history(&conversation.id, params.into()).await?,
    ))
}

#[derive(Debug, Deserialize)]
pub struct StatusBody {
    pub status: SessionStatus,
}

pub async fn update_status(
    State(state): State<AppState>,
    CurrentAgent(_): CurrentAgent,
    Path(id): Path<SessionId>,
    Json(body): Json<StatusBody>,
) -> Result<impl IntoResponse, AppError> {
    Ok(Json(state.chat.set_status(&id, body.status).await?))
}

/// `PUT …/session/{id}/assignee/` body: `{"agent_id": "…"}`, or
/// `{"agent_id": null}` to unassign. The key is required, so an empty body
/// never unassigns by accident.
#[derive(Debug, Deserialize)]
pub struct AssigneeBody {
    #[serde(default, deserialize_with = "present")]
    pub agent_id: Option<Option<AgentId>>,
}

/// A field that is there: `Some(value)`, `Some(None)` for `null`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<AgentId>>, D::Error> {
    Option::<AgentId>::deserialize(d).map(Some)
}

pub async fn assign(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    Path(id): Path<SessionId>,
    Json(body): Json<AssigneeBody>,
) -> Result<impl IntoResponse, AppError> {
    let target = body.agent_id.ok_or_else(|| {
        AppError::Invalid(
            ErrorCode::InvalidBody,
            "agent_id is required (null to unassign).".into(),
        )
    })?;
    Ok(Json(state.chat.assign(&agent, &id, target.as_ref()).await?))
}

#[derive(Debug, Deserialize)]
pub struct NoteBody {
    pub content: String,
}

/// `POST …/session/{id}/notes/`: a private note, `201`.
pub async fn add_note(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    Path(id): Path<SessionId>,
    Json(body): Json<NoteBody>,
) -> Result<impl IntoResponse, AppError> {
    let note = state.chat.add_note(&agent, &id, &body.content).await?;
    Ok((StatusCode::CREATED, Json(note)))
}

#[derive(Debug, Deserialize)]
pub struct NotesQuery {
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// `GET …/session/{id}/notes/?cursor=&limit=`: a page of notes, newest
/// first.
pub async fn notes(
    State(state): State<AppState>,
    CurrentAgent(_): CurrentAgent,
    Path(id): Path<SessionId>,
    Query(query): Query<NotesQuery>,
) -> Result<impl IntoResponse, AppError> {
    Ok(Json(
        state
            .chat
            .notes(&id, query.cursor.as_deref(), query.limit)
            .await?,
    ))
}

#[derive(Debug, Deserialize)]
pub struct ReplyBody {
    pub content: String,
    pub client_id: Option<String>,
}

pub async fn reply(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    Path(id): Path<SessionId>,
    Json(body): Json<ReplyBody>,
) -> Result<impl IntoResponse, AppError> {
    let message = state
        .chat
        .reply(&agent, &id, &body.content, body.client_id.as_deref())
        .await?;
    Ok((StatusCode::CREATED, Json(message)))
}

/// `GET /chat/api/admin/agents/` (admins).
pub async fn list_agents(
    State(state): State<AppState>,
    CurrentAgent(actor): CurrentAgent,
) -> Result<impl IntoResponse, AppError> {
    let agents = state.agents.accounts(&actor).await?;
    Ok(Json(serde_json::json!({ "agents": agents })))
}

/// `POST /chat/api/admin/agents/` (admins).
pub async fn add_agent(
    State(state): State<AppState>,
    CurrentAgent(actor): CurrentAgent,
    Json(body): Json<NewAccount>,
) -> Result<impl IntoResponse, AppError> {
    let made = state.agents.add_account(&actor, body).await?;
    Ok((StatusCode::CREATED, Json(made)))
}

/// `PATCH /chat/api/admin/agents/{id}/` (admins; an agent: their own
/// display name).
pub async fn change_agent(
    State(state): State<AppState>,
    CurrentAgent(actor): CurrentAgent,
    Path(id): Path<AgentId>,
    Json(body): Json<AccountChange>,
) -> Result<impl IntoResponse, AppError> {
    Ok(Json(state.agents.change_account(&actor, &id, body).await?))
}

/// `GET /chat/api/admin/tokens/` (admins).
pub async fn list_tokens(
    State(state): State<AppState>,
    CurrentAgent(actor): CurrentAgent,
) -> Result<impl IntoResponse, AppError> {
    let tokens = state.agents.tokens(&actor).await?;
    Ok(Json(serde_json::json!({ "tokens": tokens })))
}

#[derive(Debug, Deserialize)]
pub struct NewToken {
    pub username: String,
    pub name: Option<String>,
}

/// `POST /chat/api/admin/tokens/` (admins): the value, once.
pub async fn add_token(
    State(state): State<AppState>,
    CurrentAgent(actor): CurrentAgent,
    Json(body): Json<NewToken>,
) -> Result<impl IntoResponse, AppError> {
    let (view, token) = state
        .agents
        .add_token(&actor, &body.username, body.name)
        .await?;
    Ok((StatusCode::CREATED, Json(NewApiToken { view, token })))
}

/// `DELETE /chat/api/admin/tokens/{id}/` (admins).
pub async fn remove_token(
    State(state): State<AppState>,
    CurrentAgent(actor): CurrentAgent,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, AppError> {
    state.agents.remove_token(&actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
