//! The admin API's widget settings (admins only).

use app::types::WidgetSettingsChange;
use axum::extract::State;
use axum::response::IntoResponse;

use crate::agents::extract::CurrentAgent;
use crate::error::{AppError, Json};
use crate::state::AppState;

/// `GET /chat/api/admin/widget-settings/`.
#[utoipa::path(get, path = "/chat/api/admin/widget-settings/", tag = "widget settings", responses((status = 200, description = "The widget settings in force (admins)", body = app::types::WidgetSettingsView), (status = "4XX", description = "Refused; the error code says why (docs/api.md)", body = crate::openapi::ErrorBody), (status = "5XX", description = "Unavailable or internal; retryable", body = crate::openapi::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
pub async fn show(
    State(state): State<AppState>,
    CurrentAgent(actor): CurrentAgent,
) -> Result<impl IntoResponse, AppError> {
    Ok(Json(state.settings.view(&actor)?))
}

/// `PUT /chat/api/admin/widget-settings/`: the fields to change.
#[utoipa::path(put, path = "/chat/api/admin/widget-settings/", tag = "widget settings", request_body = app::types::WidgetSettingsChange, responses((status = 200, description = "Saved and applied on every instance (admins)", body = app::types::WidgetSettingsView), (status = "4XX", description = "Refused; the error code says why (docs/api.md)", body = crate::openapi::ErrorBody), (status = "5XX", description = "Unavailable or internal; retryable", body = crate::openapi::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
pub async fn change(
    State(state): State<AppState>,
    CurrentAgent(actor): CurrentAgent,
    Json(body): Json<WidgetSettingsChange>,
) -> Result<impl IntoResponse, AppError> {
    Ok(Json(state.settings.change(&actor, body).await?))
}

/// `POST /chat/api/admin/widget-settings/identity-secret/`: a new secret.
#[utoipa::path(post, path = "/chat/api/admin/widget-settings/identity-secret/", tag = "widget settings", responses((status = 200, description = "A new identity secret (admins)", body = app::types::WidgetSettingsView), (status = "4XX", description = "Refused; the error code says why (docs/api.md)", body = crate::openapi::ErrorBody), (status = "5XX", description = "Unavailable or internal; retryable", body = crate::openapi::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    CurrentAgent(actor): CurrentAgent,
) -> Result<impl IntoResponse, AppError> {
    Ok(Json(state.settings.rotate_secret(&actor).await?))
}
