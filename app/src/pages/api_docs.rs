//! `/dashboard/api`: the HTTP API's reference, rendered from the server's
//! OpenAPI document (`/chat/api/openapi.json`, generated from the
//! handlers): every operation by tag with its parameters, body and
//! answers, then every schema with its fields.
//!
//! Stable selectors: `.operation[data-method][data-path]`,
//! `.schema[data-name]`.

use leptos::prelude::*;
use serde_json::Value;

use super::error_box;
use crate::api::openapi_document;

#[component]
pub fn ApiDocsPage() -> impl IntoView {
    let doc = crate::json::resource(|| (), |_| openapi_document());
    view! {
            <div class="page-head">
                <h1>"API"</h1>
                <a href="/chat/api/openapi.json" class="muted">"openapi.json"</a>
            </div>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match doc.await {
                        Ok(text) => {
                            // Through the one JSON parser every page shares.
                            let doc: Value = crate::json::decode(text.as_bytes()).unwrap_or_default();
                            view! { <Reference doc /> }.into_any()
                        }
                        Err(error) => error_box(error).into_any(),
                    }
                })}
            </Suspense>
    }
}

/// `#/components/schemas/SessionView` → `SessionView`; an inline schema →
/// its type.
fn type_name(schema: &Value) -> String {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        return r.rsplit('/').next().unwrap_or(r).to_string();
    }
    if let Some(all) = schema
        .get("oneOf")
        .or_else(|| schema.get("allOf"))
        .and_then(Value::as_array)
    {
        let names: Vec<String> = all.iter().map(type_name).collect();
        return names.join(" | ");
    }
    let kind = match schema.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" | "),
        _ => "object".into(),
    };
    if kind.starts_with("array") {
        if let Some(items) = schema.get("items") {
            return format!("[{}]", type_name(items));
        }
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        let names: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        return names.join(" | ");
    }
    kind
}

/// The schema name of a request body or answer, if it has JSON.
fn content_type(content: Option<&Value>) -> Option<String> {
    let content = content?.as_object()?;
    let (media, body) = content.iter().next()?;
    Some(match body.get("schema") {
        Some(schema) => format!("{} ({media})", type_name(schema)),
        None => media.clone(),
    })
}

#[component]
fn Reference(doc: Value) -> impl IntoView {
    let mut operations: Vec<(String, String, String, Value)> = Vec::new();
    if let Some(paths) = doc["paths"].as_object() {
        for (path, item) in paths {
            for (method, op) in item.as_object().into_iter().flatten() {
                let tag = op["tags"][0].as_str().unwrap_or("other").to_string();
                operations.push((tag, path.clone(), method.to_ascii_uppercase(), op.clone()));
            }
        }
    }
    crate::sort::sort_by(&mut operations, |a, b| {
        (&a.0, &a.1, &a.2).cmp(&(&b.0, &b.1, &b.2))
    });
    let mut tags: Vec<String> = operations.iter().map(|o| o.0.clone()).collect();
    tags.dedup();
    let schemas: Vec<(String, Value)> = doc["components"]["schemas"]
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let title = doc["info"]["title"].as_str().unwrap_or("API").to_string();
    let version = doc["info"]["version"].as_str().unwrap_or("").to_string();
    let about = doc["info"]["description"]
        .as_str()
        .unwrap_or("")
        .to_string();
    view! {
        <p class="muted">{format!("{title} {version} — {about}")}</p>
        <nav class="api-tags">
            {tags
                .iter()
                .map(|t| view! { <a href=format!("#tag-{}", t.replace(' ', "-"))>{t.clone()}</a> })
                .collect_view()}
            <a href="#schemas">"schemas"</a>
        </nav>
        {tags
            .into_iter()
            .map(|tag| {
                let ops: Vec<_> = operations.iter().filter(|o| o.0 == tag).cloned().collect();
                view! {
                    <section class="api-tag" id=format!("tag-{}", tag.replace(' ', "-"))>
                        <h2>{tag.clone()}</h2>
                        {ops
                            .into_iter()
                            .map(|(_, path, method, op)| view! { <Operation path method op /> })
                            .collect_view()}
                    </section>
                }
            })
            .collect_view()}
        <section id="schemas">
            <h2>"Schemas"</h2>
            {schemas
                .into_iter()
                .map(|(name, schema)| view! { <Schema name schema /> })
                .collect_view()}
        </section>
    }
}

#[component]
fn Operation(path: String, method: String, op: Value) -> impl IntoView {
    // Handlers' doc comments, with their Markdown code marks dropped.
    let text = |v: &Value| v.as_str().unwrap_or("").replace('`', "");
    let summary = text(&op["summary"]);
    let description = text(&op["description"]);
    let auth: Vec<String> = op["security"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_object()?.keys().next().cloned())
        .collect();
    let params: Vec<(String, String, bool, String, String)> = op["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            (
                p["name"].as_str().unwrap_or("").to_string(),
                p["in"].as_str().unwrap_or("").to_string(),
                p["required"].as_bool().unwrap_or(false),
                type_name(&p["schema"]),
                p["description"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let body = content_type(op["requestBody"].get("content"));
    let answers: Vec<(String, String, Option<String>)> = op["responses"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(status, r)| {
            (
                status.clone(),
                r["description"].as_str().unwrap_or("").to_string(),
                content_type(r.get("content")),
            )
        })
        .collect();
    view! {
        <article class="card operation" data-method=method.clone() data-path=path.clone()>
            <h3>
                <span class=format!("method {}", method.to_ascii_lowercase())>{method.clone()}</span>
                " "
                <code>{path.clone()}</code>
            </h3>
            {(!summary.is_empty()).then(|| view! { <p>{summary}</p> })}
            {(!description.is_empty()).then(|| view! { <p class="muted">{description}</p> })}
            {(!auth.is_empty()).then(|| view! { <p class="muted">"Authentication: " {auth.join(" or ")}</p> })}
            {(!params.is_empty())
                .then(|| {
                    view! {
                        <table class="api-params">
                            <thead>
                                <tr>
                                    <th>"parameter"</th>
                                    <th>"in"</th>
                                    <th>"type"</th>
                                    <th></th>
                                </tr>
                            </thead>
                            <tbody>
                                {params
                                    .into_iter()
                                    .map(|(name, place, required, kind, about)| {
                                        view! {
                                            <tr>
                                                <td>
                                                    <code>{name}</code>
                                                    {required.then_some(" (required)")}
                                                </td>
                                                <td>{place}</td>
                                                <td>{kind}</td>
                                                <td>{about}</td>
                                            </tr>
                                        }
                                    })
                                    .collect_view()}
                            </tbody>
                        </table>
                    }
                })}
            {body.map(|b| view! { <p>"Body: " <code>{b}</code></p> })}
            <ul class="api-answers">
                {answers
                    .into_iter()
                    .map(|(status, about, kind)| {
                        view! {
                            <li>
                                <strong>{status}</strong>
                                " "
                                {about}
                                {kind.map(|k| view! { " → " <code>{k}</code> })}
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </article>
    }
}

#[component]
fn Schema(name: String, schema: Value) -> impl IntoView {
    let required: Vec<String> = schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r.as_str().map(str::to_string))
        .collect();
    let fields: Vec<(String, String, bool, String)> = schema["properties"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(field, s)| {
            (
                field.clone(),
                type_name(s),
                required.contains(field),
                s["description"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let about = schema["description"].as_str().unwrap_or("").to_string();
    let shape = if fields.is_empty() {
        type_name(&schema)
    } else {
        String::new()
    };
    view! {
        <article class="card schema" id=format!("schema-{name}") data-name=name.clone()>
            <h3><code>{name.clone()}</code> " " <span class="muted">{shape}</span></h3>
            {(!about.is_empty()).then(|| view! { <p class="muted">{about}</p> })}
            {(!fields.is_empty())
                .then(|| {
                    view! {
                        <table class="api-params">
                            <tbody>
                                {fields
                                    .into_iter()
                                    .map(|(field, kind, req, about)| {
                                        view! {
                                            <tr>
                                                <td>
                                                    <code>{field}</code>
                                                    {(!req).then_some(" (optional)")}
                                                </td>
                                                <td>{kind}</td>
                                                <td>{about}</td>
                                            </tr>
                                        }
                                    })
                                    .collect_view()}
                            </tbody>
                        </table>
                    }
                })}
        </article>
    }
}
