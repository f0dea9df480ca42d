//! The admin API's widget settings (admins only).

use std::sync::Arc;

use app::types::WidgetSettingsChange;
use axum::extract::{FromRef, State};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;

use super::SettingsService;
use crate::agents::extract::{AgentAuth, CurrentAgent};
use crate::error::{AppError, Json};

pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Arc<SettingsService>: FromRef<S>,
    AgentAuth: FromRef<S>,
{
    Router::new()
        .route("/chat/api/admin/widget-settings/", get(show).put(change))
        .route(
            "/chat/api/admin/widget-settings/identity-secret/",
            post(rotate_secret),
        )
        .route("/dashboard/widget-preview", get(super::preview::page))
}

/// `GET /chat/api/admin/widget-settings/`.
#[utoipa::path(get, path = "/chat/api/admin/widget-settings/", tag = "widget settings", responses((status = 200, description = "The widget settings in force (admins)", body = app::types::WidgetSettingsView), (status = "4XX", description = "Refused; the error code says why (docs/api.md)", body = app::error::ErrorBody), (status = "5XX", description = "Unavailable or internal; retryable", body = app::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
pub async fn show(
    State(settings): State<Arc<SettingsService>>,
    CurrentAgent(actor): CurrentAgent,
) -> Result<impl IntoResponse, AppError> {
    Ok(Json(settings.view(&actor)?))
}

/// `PUT /chat/api/admin/widget-settings/`: the fields to change.
#[utoipa::path(put, path = "/chat/api/admin/widget-settings/", tag = "widget settings", request_body = app::types::WidgetSettingsChange, responses((status = 200, description = "Saved and applied on every instance (admins)", body = app::types::WidgetSettingsView), (status = "4XX", description = "Refused; the error code says why (docs/api.md)", body = app::error::ErrorBody), (status = "5XX", description = "Unavailable or internal; retryable", body = app::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
pub async fn change(
    State(settings): State<Arc<SettingsService>>,
    CurrentAgent(actor): CurrentAgent,
    Json(body): Json<WidgetSettingsChange>,
) -> Result<impl IntoResponse, AppError> {
    Ok(Json(settings.change(&actor, body).await?))
}

/// `POST /chat/api/admin/widget-settings/identity-secret/`: a new secret.
#[utoipa::path(post, path = "/chat/api/admin/widget-settings/identity-secret/", tag = "widget settings", responses((status = 200, description = "A new identity secret (admins)", body = app::types::WidgetSettingsView), (status = "4XX", description = "Refused; the error code says why (docs/api.md)", body = app::error::ErrorBody), (status = "5XX", description = "Unavailable or internal; retryable", body = app::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
pub async fn rotate_secret(
    State(settings): State<Arc<SettingsService>>,
    CurrentAgent(actor): CurrentAgent,
) -> Result<impl IntoResponse, AppError> {
    Ok(Json(settings.rotate_secret(&actor).await?))
}
