//! The admin API's widget settings (admins only).

use app::types::WidgetSettingsChange;
use axum::extract::State;
use axum::response::IntoResponse;

use crate::agents::extract::CurrentAgent;
use crate::error::{AppError, Json};
use crate::state::AppState;

/// `GET /chat/api/admin/widget-settings/`.
pub async fn show(
    State(state): State<AppState>,
    CurrentAgent(actor): CurrentAgent,
) -> Result<impl IntoResponse, AppError> {
    Ok(Json(state.settings.view(&actor)?))
}

/// `PUT /chat/api/admin/widget-settings/`: the fields to change.
pub async fn change(
    State(state): State<AppState>,
    CurrentAgent(actor): CurrentAgent,
    Json(body): Json<WidgetSettingsChange>,
) -> Result<impl IntoResponse, AppError> {
    Ok(Json(state.settings.change(&actor, body).await?))
}

/// `POST /chat/api/admin/widget-settings/identity-secret/`: a new secret.
pub async fn rotate_secret(
    State(state): State<AppState>,
    CurrentAgent(actor): CurrentAgent,
) -> Result<impl IntoResponse, AppError> {
    Ok(Json(state.settings.rotate_secret(&actor).await?))
}
