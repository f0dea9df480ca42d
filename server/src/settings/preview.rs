//! `/dashboard/widget-preview?draft=…&available=…`: a page that runs the
//! real widget with unsaved settings, for the settings screen's preview
//! (an iframe of the dashboard; admins only). The draft is checked like a
//! save, and reaches the page as JSON inside a script, escaped so that no
//! text in it can end the script.

use std::sync::Arc;

use app::types::{ErrorCode, WidgetSettingsChange};
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use serde::Deserialize;

use super::SettingsService;
use crate::agents::extract::CurrentAgent;
use crate::error::{AppError, Query};

#[derive(Deserialize, utoipa::IntoParams)]
pub struct PreviewQuery {
    /// A [`WidgetSettingsChange`] as JSON; absent: the saved settings.
    #[serde(default)]
    draft: Option<String>,
    /// Show the widget as with an agent online (default) or none.
    #[serde(default)]
    available: Option<bool>,
}

#[utoipa::path(get, path = "/dashboard/widget-preview", tag = "widget settings", params(PreviewQuery), responses((status = 200, description = "A page running the real widget with the draft settings", content_type = "text/html"), (status = "4XX", description = "Refused; the error code says why (docs/api.md)", body = app::error::ErrorBody), (status = "5XX", description = "Unavailable or internal; retryable", body = app::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
pub async fn page(
    State(settings): State<Arc<SettingsService>>,
    CurrentAgent(actor): CurrentAgent,
    Query(q): Query<PreviewQuery>,
) -> Result<impl IntoResponse, AppError> {
    let change: WidgetSettingsChange = match q.draft.as_deref() {
        None | Some("") => WidgetSettingsChange::default(),
        Some(raw) => serde_json::from_str(raw)
            .map_err(|e| AppError::BadRequest(ErrorCode::InvalidQuery, format!("draft: {e}")))?,
    };
    let widget = settings.preview(&actor, change).await?;
    let mut settings = serde_json::to_value(&widget).map_err(|e| {
        tracing::error!(error = %e, "preview: cannot serialise");
        AppError::Internal
    })?;
    if let Some(o) = settings.as_object_mut() {
        o.insert("available".into(), q.available.unwrap_or(true).into());
    }
    let nonce = &crate::auth::random_token()[..32];
    let csp = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
         frame-ancestors 'self'; object-src 'none'; base-uri 'none'; form-action 'none'"
    );
    let page = PAGE
        .replace("{nonce}", nonce)
        .replace("{settings}", &script_json(&settings.to_string()));
    Ok((
        [
            (header::CONTENT_SECURITY_POLICY, csp),
            (header::X_FRAME_OPTIONS, "SAMEORIGIN".to_string()),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        Html(page),
    ))
}

/// JSON made safe inside `<script>`: no `<` (so no `</script>`), and no
/// line or paragraph separators.
fn script_json(json: &str) -> String {
    json.replace('<', "\\u003c")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

const PAGE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Widget preview</title>
<link rel="icon" href="data:,">
<style>
  body { margin: 0; min-height: 100vh; font: 14px/1.5 system-ui, sans-serif; color: #9ca3af; background: #f3f4f6; }
  .site { max-width: 40rem; margin: 0 auto; padding: 24px; }
  .bar { height: 12px; margin: 12px 0; border-radius: 6px; background: #e5e7eb; }
  .bar.short { width: 55%; } .bar.head { height: 28px; width: 40%; margin-bottom: 24px; }
</style>
</head>
<body>
<div class="site" aria-hidden="true">
  <div class="bar head"></div><div class="bar"></div><div class="bar"></div><div class="bar short"></div>
  <div class="bar"></div><div class="bar short"></div>
</div>
<script nonce="{nonce}">
  window.DEFMISChat = { apiUrl: window.location.origin, preview: {settings} };
</script>
<script nonce="{nonce}" src="/static/js/chat-widget.js"></script>
<script nonce="{nonce}">window.DEFMISChat.open();</script>
</body>
</html>
"#;

#[cfg(test)]
mod tests {
    #[test]
    fn script_json_cannot_end_the_script() {
        let out = super::script_json(r#"{"title":"</script><script>alert(1)</script>"}"#);
        assert!(!out.contains('<'));
        assert!(out.contains("\\u003c/script>"));
    }
}
