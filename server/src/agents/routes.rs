//! The admin HTTP API, for programs (API token) and the dashboard (cookie).
//! Thin handlers: parse, call the service, answer.

use app::types::{AgentId, ErrorCode, InboxParams, NewApiToken, SessionId, SessionStatus};
use axum::extract::{FromRef, Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get, patch, put};
use axum::Router;
use serde::{Deserialize, Deserializer};

use super::extract::{AgentAuth, CurrentAgent};
use super::{AccountChange, AdminState, NewAccount};
use crate::chat::routes::HistoryParams;
use crate::error::{AppError, Json, Query};

/// The admin API, for programs (API token) and the dashboard (cookie).
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    AdminState: FromRef<S>,
    AgentAuth: FromRef<S>,
{
    Router::new()
        .route("/chat/api/admin/stats/", get(stats))
        .route("/chat/api/admin/sessions/", get(list_sessions))
        .route(
            "/chat/api/admin/session/{id}/",
            get(session_detail).delete(delete_session),
        )
        .route("/chat/api/admin/session/{id}/status/", patch(update_status))
        .route(
            "/chat/api/admin/session/{id}/messages/",
            get(messages).post(reply),
        )
        .route("/chat/api/admin/session/{id}/assignee/", put(assign))
        .route(
            "/chat/api/admin/session/{id}/notes/",
            get(notes).post(add_note),
        )
        .route("/chat/api/admin/agents/", get(list_agents).post(add_agent))
        .route("/chat/api/admin/agents/{id}/", patch(change_agent))
        .route("/chat/api/admin/tokens/", get(list_tokens).post(add_token))
        .route("/chat/api/admin/tokens/{id}/", delete(remove_token))
        // The names for the same resource.
        .route(
            "/chat/api/admin/api-tokens/",
            get(list_api_tokens).post(add_api_token),
        )
        .route("/chat/api/admin/api-tokens/{id}/", delete(remove_api_token))
}

/// `{"agents": [...]}`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AgentList {
    pub agents: Vec<app::types::AgentAccount>,
}

/// `{"tokens": [...]}`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct TokenList {
    pub tokens: Vec<app::types::ApiTokenView>,
}

/// `GET /chat/api/admin/sessions/?status=&q=&assigned=&unread=&waiting=&offline=&cursor=&limit=`:
/// the inbox.
#[utoipa::path(get, path = "/chat/api/admin/sessions/", tag = "conversations", params(app::types::InboxParams), responses((status = 200, description = "A page of the inbox (keyset)", body = app::types::SessionPage), (status = "4XX", description = "Refused; the error code says why (docs/api.md)", body = app::error::ErrorBody), (status = "5XX", description = "Unavailable or internal; retryable", body = app::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
pub async fn list_sessions(
    State(state): State<AdminState>,
    CurrentAgent(agent): CurrentAgent,
    Query(params): Query<InboxParams>,
) -> Result<impl IntoResponse, AppError> {
    Ok(Json(state.chat.inbox(&agent, &params).await?))
}

/// `GET /chat/api/admin/stats/`: the dashboard home's figures.
#[utoipa::path(get, path = "/chat/api/admin/stats/", tag = "conversations", responses((status = 200, description = "The home's figures", body = app::types::Stats), (status = "4XX", description = "Refused; the error code says why (docs/api.md)", body = app::error::ErrorBody), (status = "5XX", description = "Unavailable or internal; retryable", body = app::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
pub async fn stats(
    State(state): State<AdminState>,
    CurrentAgent(_): CurrentAgent,
) -> Result<impl IntoResponse, AppError> {
    Ok(Json(state.chat.stats().await?))
}

#[utoipa::path(get, path = "/chat/api/admin/session/{id}/", tag = "conversations", params(("id" = String, Path, description = "The conversation's id")), responses((status = 200, description = "The conversation, its latest 50 messages and newest 200 notes", body = app::types::ConversationView), (status = "4XX", description = "Refused; the error code says why (docs/api.md)", body = app::error::ErrorBody), (status = "5XX", description = "Unavailable or internal; retryable", body = app::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
pub async fn session_detail(
    State(state): State<AdminState>,
    CurrentAgent(_): CurrentAgent,
    Path(id): Path<SessionId>,
) -> Result<impl IntoResponse, AppError> {
    let mut view = state.chat.conversation(&id).await?;
    view.attachments = Some(state.attachments.limits());
    Ok(Json(view))
}

/// `DELETE /chat/api/admin/session/{id}/` (admins): the conversation,
/// its messages, notes and files, for good.
#[utoipa::path(delete, path = "/chat/api/admin/session/{id}/", tag = "conversations", params(("id" = String, Path, description = "The conversation's id")), responses((status = 204, description = "Deleted, with its messages, notes and files"), (status = "4XX", description = "Refused; the error code says why (docs/api.md)", body = app::error::ErrorBody), (status = "5XX", description = "Unavailable or internal; retryable", body = app::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
pub async fn delete_session(
    State(state): State<AdminState>,
    CurrentAgent(actor): CurrentAgent,
    Path(id): Path<SessionId>,
) -> Result<impl IntoResponse, AppError> {
    state.delete_conversation(&actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET …/session/{id}/messages/?after=&before=&limit=`: a page of history.
#[utoipa::path(get, path = "/chat/api/admin/session/{id}/messages/", tag = "conversations", params(("id" = String, Path, description = "The conversation's id"), crate::chat::routes::HistoryParams), responses((status = 200, description = "A page of messages", body = app::types::MessagePage), (status = "4XX", description = "Refused; the error code says why (docs/api.md)", body = app::error::ErrorBody), (status = "5XX", description = "Unavailable or internal; retryable", body = app::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
pub async fn messages(
    State(state): State<AdminState>,
    CurrentAgent(_): CurrentAgent,
    Path(id): Path<SessionId>,
    Query(params): Query<HistoryParams>,
) -> Result<impl IntoResponse, AppError> {
    let conversation = state.chat.conversation_row(&id).await?;
    Ok(Json(
        state.chat.history(&conversation.id, params.into()).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct StatusBody {
    pub status: SessionStatus,
}

#[utoipa::path(patch, path = "/chat/api/admin/session/{id}/status/", tag = "conversations", params(("id" = String, Path, description = "The conversation's id")), request_body = StatusBody, responses((status = 200, description = "Changed", body = app::types::SessionView), (status = "4XX", description = "Refused; the error code says why (docs/api.md)", body = app::error::ErrorBody), (status = "5XX", description = "Unavailable or internal; retryable", body = app::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
pub async fn update_status(
    State(state): State<AdminState>,
    CurrentAgent(_): CurrentAgent,
    Path(id): Path<SessionId>,
    Json(body): Json<StatusBody>,
) -> Result<impl IntoResponse, AppError> {
    Ok(Json(state.chat.set_status(&id, body.status).await?))
}

/// `PUT …/session/{id}/assignee/` body: `{"agent_id": "…"}`, or
/// `{"agent_id": null}` to unassign. The key is required, so an empty body
/// never unassigns by accident.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct AssigneeBody {
    /// An agent's id, or `null` to unassign (required).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, required)]
    pub agent_id: Option<Option<AgentId>>,
}

/// A field that is there: `Some(value)`, `Some(None)` for `null`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<AgentId>>, D::Error> {
    Option::<AgentId>::deserialize(d).map(Some)
}

#[utoipa::path(put, path = "/chat/api/admin/session/{id}/assignee/", tag = "conversations", params(("id" = String, Path, description = "The conversation's id")), request_body = AssigneeBody, responses((status = 200, description = "Assigned (or unassigned)", body = app::types::SessionView), (status = "4XX", description = "Refused; the error code says why (docs/api.md)", body = app::error::ErrorBody), (status = "5XX", description = "Unavailable or internal; retryable", body = app::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
pub async fn assign(
    State(state): State<AdminState>,
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

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NoteBody {
    pub content: String,
    /// The client's id for the note: a resend stores it once (and answers
    /// `201` with the stored note again).
    #[serde(default)]
    pub client_id: Option<String>,
}

/// `POST …/session/{id}/notes/`: a private note, `201`.
#[utoipa::path(post, path = "/chat/api/admin/session/{id}/notes/", tag = "conversations", params(("id" = String, Path, description = "The conversation's id")), request_body = NoteBody, responses((status = 201, description = "A private note (agents only)", body = app::types::NoteView), (status = "4XX", description = "Refused; the error code says why (docs/api.md)", body = app::error::ErrorBody), (status = "5XX", description = "Unavailable or internal; retryable", body = app::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
pub async fn add_note(
    State(state): State<AdminState>,
    CurrentAgent(agent): CurrentAgent,
    Path(id): Path<SessionId>,
    Json(body): Json<NoteBody>,
) -> Result<impl IntoResponse, AppError> {
    let note = state
        .chat
        .add_note(&agent, &id, &body.content, body.client_id.as_deref())
        .await?;
    Ok((StatusCode::CREATED, Json(note)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct NotesQuery {
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// `GET …/session/{id}/notes/?cursor=&limit=`: a page of notes, newest
/// first.
#[utoipa::path(get, path = "/chat/api/admin/session/{id}/notes/", tag = "conversations", params(("id" = String, Path, description = "The conversation's id"), NotesQuery), responses((status = 200, description = "Notes, newest first", body = app::types::NotePage), (status = "4XX", description = "Refused; the error code says why (docs/api.md)", body = app::error::ErrorBody), (status = "5XX", description = "Unavailable or internal; retryable", body = app::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
pub async fn notes(
    State(state): State<AdminState>,
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

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ReplyBody {
    pub content: String,
    pub client_id: Option<String>,
}

#[utoipa::path(post, path = "/chat/api/admin/session/{id}/messages/", tag = "conversations", params(("id" = String, Path, description = "The conversation's id")), request_body = ReplyBody, responses((status = 201, description = "Stored (committed) and sent", body = app::types::MessageView), (status = "4XX", description = "Refused; the error code says why (docs/api.md)", body = app::error::ErrorBody), (status = "5XX", description = "Unavailable or internal; retryable", body = app::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
pub async fn reply(
    State(state): State<AdminState>,
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
#[utoipa::path(get, path = "/chat/api/admin/agents/", tag = "agents", responses((status = 200, description = "Every account (admins)", body = AgentList), (status = "4XX", description = "Refused; the error code says why (docs/api.md)", body = app::error::ErrorBody), (status = "5XX", description = "Unavailable or internal; retryable", body = app::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
pub async fn list_agents(
    State(state): State<AdminState>,
    CurrentAgent(actor): CurrentAgent,
) -> Result<impl IntoResponse, AppError> {
    let agents = state.agents.accounts(&actor).await?;
    Ok(Json(AgentList { agents }))
}

/// `POST /chat/api/admin/agents/` (admins).
#[utoipa::path(post, path = "/chat/api/admin/agents/", tag = "agents", request_body = super::NewAccount, responses((status = 201, description = "Created (admins)", body = app::types::AgentAccount), (status = "4XX", description = "Refused; the error code says why (docs/api.md)", body = app::error::ErrorBody), (status = "5XX", description = "Unavailable or internal; retryable", body = app::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
pub async fn add_agent(
    State(state): State<AdminState>,
    CurrentAgent(actor): CurrentAgent,
    Json(body): Json<NewAccount>,
) -> Result<impl IntoResponse, AppError> {
    let made = state.agents.add_account(&actor, body).await?;
    Ok((StatusCode::CREATED, Json(made)))
}

/// `PATCH /chat/api/admin/agents/{id}/` (admins; an agent: their own
/// display name).
#[utoipa::path(patch, path = "/chat/api/admin/agents/{id}/", tag = "agents", params(("id" = String, Path, description = "The agent's id")), request_body = super::AccountChange, responses((status = 200, description = "Changed", body = app::types::AgentAccount), (status = "4XX", description = "Refused; the error code says why (docs/api.md)", body = app::error::ErrorBody), (status = "5XX", description = "Unavailable or internal; retryable", body = app::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
pub async fn change_agent(
    State(state): State<AdminState>,
    CurrentAgent(actor): CurrentAgent,
    Path(id): Path<AgentId>,
    Json(body): Json<AccountChange>,
) -> Result<impl IntoResponse, AppError> {
    Ok(Json(state.agents.change_account(&actor, &id, body).await?))
}

/// `GET /chat/api/admin/tokens/` (admins).
#[utoipa::path(get, path = "/chat/api/admin/tokens/", tag = "agents", responses((status = 200, description = "API tokens, never their values (admins)", body = TokenList), (status = "4XX", description = "Refused; the error code says why (docs/api.md)", body = app::error::ErrorBody), (status = "5XX", description = "Unavailable or internal; retryable", body = app::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
pub async fn list_tokens(
    State(state): State<AdminState>,
    CurrentAgent(actor): CurrentAgent,
) -> Result<impl IntoResponse, AppError> {
    let tokens = state.agents.tokens(&actor).await?;
    Ok(Json(TokenList { tokens }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewToken {
    pub username: String,
    pub name: Option<String>,
}

/// `POST /chat/api/admin/tokens/` (admins): the value, once.
#[utoipa::path(post, path = "/chat/api/admin/tokens/", tag = "agents", request_body = NewToken, responses((status = 201, description = "The new token; its value shown this once (admins)", body = app::types::NewApiToken), (status = "4XX", description = "Refused; the error code says why (docs/api.md)", body = app::error::ErrorBody), (status = "5XX", description = "Unavailable or internal; retryable", body = app::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
pub async fn add_token(
    State(state): State<AdminState>,
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
#[utoipa::path(delete, path = "/chat/api/admin/tokens/{id}/", tag = "agents", params(("id" = String, Path, description = "The token's id")), responses((status = 204, description = "Revoked (admins)"), (status = "4XX", description = "Refused; the error code says why (docs/api.md)", body = app::error::ErrorBody), (status = "5XX", description = "Unavailable or internal; retryable", body = app::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
pub async fn remove_token(
    State(state): State<AdminState>,
    CurrentAgent(actor): CurrentAgent,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, AppError> {
    state.agents.remove_token(&actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The same three under the name, `/chat/api/admin/api-tokens/`.
#[utoipa::path(get, path = "/chat/api/admin/api-tokens/", tag = "agents", responses((status = 200, description = "As GET /chat/api/admin/tokens/", body = TokenList), (status = "4XX", description = "Refused; the error code says why (docs/api.md)", body = app::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
pub async fn list_api_tokens(
    state: State<AdminState>,
    actor: CurrentAgent,
) -> Result<impl IntoResponse, AppError> {
    list_tokens(state, actor).await
}

#[utoipa::path(post, path = "/chat/api/admin/api-tokens/", tag = "agents", request_body = NewToken, responses((status = 201, description = "As POST /chat/api/admin/tokens/", body = app::types::NewApiToken), (status = "4XX", description = "Refused; the error code says why (docs/api.md)", body = app::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
pub async fn add_api_token(
    state: State<AdminState>,
    actor: CurrentAgent,
    body: Json<NewToken>,
) -> Result<impl IntoResponse, AppError> {
    add_token(state, actor, body).await
}

#[utoipa::path(delete, path = "/chat/api/admin/api-tokens/{id}/", tag = "agents", params(("id" = String, Path, description = "The token's id")), responses((status = 204, description = "As DELETE /chat/api/admin/tokens/{id}/"), (status = "4XX", description = "Refused; the error code says why (docs/api.md)", body = app::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
pub async fn remove_api_token(
    state: State<AdminState>,
    actor: CurrentAgent,
    id: Path<String>,
) -> Result<impl IntoResponse, AppError> {
    remove_token(state, actor, id).await
}
