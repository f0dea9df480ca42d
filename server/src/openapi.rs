//! The OpenAPI 3.1 document of the HTTP API, generated from the handlers'
//! `#[utoipa::path]` attributes and the wire types' `ToSchema` derives,
//! served at `GET /chat/api/openapi.json` (and rendered by the dashboard's
//! `/dashboard/api`). A test fails when a route of the router is missing
//! from it.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// `GET /chat/api/openapi.json`, for any router state.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/chat/api/openapi.json", get(document))
}

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API token (admin API), made in the dashboard or with `defmis-chat create-api-token`"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                app::api::SESSION_COOKIE,
                "The dashboard's session (`__Host-defmis_session` over https); same-origin requests only",
            ))),
        );
        components.add_security_scheme(
            "visitor",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The conversation's token, from the start"))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "DEFMIS Chat API",
        description = "The widget API, the admin API and the sockets' handshakes. Frames, limits and error codes: docs/api.md.",
    ),
    paths(
        crate::chat::routes::widget_config,
        crate::chat::routes::start,
        crate::chat::routes::post_message,
        crate::chat::routes::read,
        crate::chat::routes::context,
        crate::chat::routes::offline,
        crate::chat::routes::history,
        crate::chat::socket::visitor_socket,
        crate::attachments::routes::visitor_upload,
        crate::attachments::routes::agent_upload,
        crate::attachments::routes::download,
        crate::attachments::routes::thumbnail,
        crate::dashboard::socket::agent_socket,
        crate::agents::routes::stats,
        crate::agents::routes::list_sessions,
        crate::agents::routes::session_detail,
        crate::agents::routes::delete_session,
        crate::agents::routes::update_status,
        crate::agents::routes::messages,
        crate::agents::routes::reply,
        crate::agents::routes::assign,
        crate::agents::routes::notes,
        crate::agents::routes::add_note,
        crate::agents::routes::list_agents,
        crate::agents::routes::add_agent,
        crate::agents::routes::change_agent,
        crate::agents::routes::list_tokens,
        crate::agents::routes::add_token,
        crate::agents::routes::remove_token,
        crate::agents::routes::list_api_tokens,
        crate::agents::routes::add_api_token,
        crate::agents::routes::remove_api_token,
        crate::canned::routes::list,
        crate::canned::routes::create,
        crate::canned::routes::update,
        crate::canned::routes::remove,
        crate::automation::routes::list,
        crate::automation::routes::create,
        crate::automation::routes::get_one,
        crate::automation::routes::update,
        crate::automation::routes::remove,
        crate::automation::routes::test,
        crate::automation::routes::logs,
        crate::automation::routes::get_hours,
        crate::automation::routes::put_hours,
        crate::settings::routes::show,
        crate::settings::routes::change,
        crate::settings::routes::rotate_secret,
        crate::settings::preview::page,
        crate::site::health,
        crate::site::ready,
        crate::demo::page,
        document,
    ),
    modifiers(&Security),
)]
pub struct ApiDoc;

/// The document as JSON, made once.
pub fn json() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        ApiDoc::openapi()
            .to_json()
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    })
}

/// `GET /chat/api/openapi.json`.
#[utoipa::path(get, path = "/chat/api/openapi.json", tag = "operations", responses((status = 200, description = "This document", content_type = "application/json")))]
pub async fn document() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        json(),
    )
}
