//! The OpenAPI document: served, valid JSON, and complete — every route
//! the server's source registers (read from `server/src`) is in it with
//! each of its methods, and it documents nothing the server lacks.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::helpers::spawn_app;

/// Every `.route("path", get(..).post(..))` in the server's source, as
/// `(METHOD, path)`; `/metrics` lives on its own listener.
fn registered_routes() -> BTreeSet<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let mut sources = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut sources,
    );
    let mut routes = BTreeSet::new();
    for source in &sources {
        for (start, _) in source.match_indices(".route(") {
            // The call's text, up to its closing parenthesis.
            let rest = &source[start + ".route(".len()..];
            let mut depth = 1;
            let end = rest
                .char_indices()
                .find(|&(_, c)| {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    depth == 0
                })
                .map(|(i, _)| i)
                .expect("a closed .route(");
            let call = &rest[..end];
            let Some(path) = call.split('"').nth(1) else {
                continue;
            };
            if path == "/metrics" {
                continue;
            }
            for method in ["get", "post", "put", "patch", "delete"] {
                let used = call.match_indices(&format!("{method}(")).any(|(i, _)| {
                    i == 0
                        || !call.as_bytes()[i - 1].is_ascii_alphanumeric()
                            && call.as_bytes()[i - 1] != b'_'
                });
                if used {
                    routes.insert((method.to_uppercase(), path.to_string()));
                }
            }
        }
    }
    routes
}

#[tokio::test]
async fn the_document_lists_every_route() {
    let app = spawn_app().await;
    let resp = app.get("/chat/api/openapi.json").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let doc: Value = resp.json().await.unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let registered = registered_routes();
    assert!(registered.len() > 30, "found only {registered:?}");
    let missing: Vec<_> = registered.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "routes missing from the OpenAPI document: {missing:?}"
    );
    let stale: Vec<_> = documented.difference(&registered).collect();
    assert!(stale.is_empty(), "documented but not routed: {stale:?}");

    // Bodies and answers name their schemas; every refusal is ErrorBody.
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in [
        "ErrorBody",
        "ApiError",
        "ErrorCode",
        "SessionView",
        "MessageView",
        "WidgetSettingsView",
        "StartResponse",
    ] {
        assert!(schemas.contains_key(name), "schema {name} missing");
    }
    let codes = schemas["ErrorCode"]["enum"].as_array().unwrap();
    assert_eq!(codes.len(), app::types::ErrorCode::ALL.len());
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    for name in ["bearer", "cookie", "visitor"] {
        assert!(schemes.contains_key(name), "security scheme {name}");
    }

    // The dashboard's reference page reads it through a server function,
    // signed in.
    let cookie = app.session_cookie("ann").await;
    let resp = app
        .call_fn("/api/openapi_document", &cookie, vec![])
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let text: String = resp.json().await.unwrap();
    let same: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(same, doc);
    let resp = app
        .call_fn("/api/openapi_document", "defmis_session=nope", vec![])
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}
