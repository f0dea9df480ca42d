//! Attachments: uploads from visitors and agents (streamed, limited while
//! streaming, typed by their bytes), signed expiring downloads, metadata
//! stripped from images, idempotent resends; on every store.

use std::io::Cursor;
use std::time::Duration;

use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{close_of, next_of_type, spawn_on, Store, TestApp, Visitor};
use crate::on_every_store;

const UPLOAD: &str = "/chat/api/chat/attachment/";

/// A PNG of `w` × `h` pixels, with an `eXIf` chunk saying where it was
/// taken (inserted after IHDR, as cameras and phones write it).
fn png_with_location(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 200]));
    let mut out = Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    let mut png = out.into_inner();
    let data = b"MM\0*GPS 40.4168N 3.7038W";
    let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
    chunk.extend_from_slice(b"eXIf");
    chunk.extend_from_slice(data);
    chunk.extend_from_slice(&[0; 4]);
    png.splice(33..33, chunk);
    png
}

/// A JPEG with an EXIF segment (location) right after its start.
fn jpeg_with_location(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, 90, y as u8]));
    let mut out = Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .unwrap();
    let mut jpg = out.into_inner();
    let exif = b"Exif\0\0GPS 40.4168N 3.7038W";
    let mut app1 = vec![0xff, 0xe1];
    app1.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
    app1.extend_from_slice(exif);
    jpg.splice(2..2, app1);
    jpg
}

/// The inbox's first page, as the admin API answers it.
async fn inbox(app: &TestApp, token: &str) -> Value {
    app.admin(
        reqwest::Method::GET,
        "/chat/api/admin/sessions/",
        token,
        None,
    )
    .await
    .json()
    .await
    .unwrap()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn form(v: &Visitor, client_id: &str, name: &str, bytes: Vec<u8>) -> Form {
    Form::new()
        .text("customer_id", v.customer_id.clone())
        .text("client_id", client_id.to_string())
        .part("file", Part::bytes(bytes).file_name(name.to_string()))
}

async fn send(app: &TestApp, token: Option<&str>, form: Form) -> (StatusCode, Value) {
    let mut req = app.client.post(app.url(UPLOAD)).multipart(form);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn upload(app: &TestApp, v: &Visitor, name: &str, bytes: Vec<u8>) -> (StatusCode, Value) {
    let client_id = uuid::Uuid::new_v4().to_string();
    send(app, Some(&v.token), form(v, &client_id, name, bytes)).await
}

async fn fetch(app: &TestApp, url: &str) -> reqwest::Response {
    app.client.get(app.url(url)).send().await.unwrap()
}

/// Every file under the test's storage directory.
fn stored_files(app: &TestApp) -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&app.attachment_dir, &mut out);
    out
}

on_every_store!(
    an_image_reaches_the_agent_live_without_its_location,
    an_agent_sends_a_file_to_the_visitor,
    a_resend_with_the_same_client_id_is_stored_once,
    deleting_a_conversation_deletes_its_files,
    admins_narrow_what_may_be_attached,
);

/// The dashboard's Files settings: within what the environment allows,
/// applied at once to the widget config, conversations and uploads.
async fn admins_narrow_what_may_be_attached(app: TestApp) {
    const SETTINGS: &str = "/chat/api/admin/widget-settings/";
    let admin = app.api_token("alice").await;
    let agent = app.token_with_role("bob", app::types::Role::Agent).await;
    let v = app.start().await;
    let put = |token: &str, attachments: Value| {
        let body = json!({ "attachments": attachments });
        let token = token.to_string();
        let app = &app;
        async move {
            let resp = app
                .admin(reqwest::Method::PUT, SETTINGS, &token, Some(body))
                .await;
            let status = resp.status();
            (status, resp.json::<Value>().await.unwrap())
        }
    };
    let widget_config = || async {
        app.get("/chat/api/widget/config/")
            .await
            .json::<Value>()
            .await
            .unwrap()
    };

    // Until an admin chooses, the environment's limits apply.
    let shown: Value = app
        .admin(reqwest::Method::GET, SETTINGS, &admin, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown["attachments_allowed"]["max_bytes"], 10 << 20);
    assert_eq!(
        shown["attachments_allowed"]["types"]
            .as_array()
            .unwrap()
            .len(),
        10
    );
    assert_eq!(shown["attachments"], shown["attachments_allowed"]);

    // Admins only.
    let narrow = json!({"enabled": true, "max_bytes": 2048, "types": [" TXT", "txt"]});
    let (status, _) = put(&agent, narrow.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, saved) = put(&admin, narrow).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let expected = json!({"enabled": true, "max_bytes": 2048, "types": ["txt"]});
    assert_eq!(saved["attachments"], expected);
    assert_eq!(saved["attachments_allowed"]["max_bytes"], 10 << 20);
    // The widget, agents' conversations and uploads follow at once.
    assert_eq!(widget_config().await["attachments"], expected);
    let detail: Value = app
        .admin(
            reqwest::Method::GET,
            &format!("/chat/api/admin/session/{}/", v.session_id),
            &admin,
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(detail["attachments"], expected);
    let (status, body) = upload(&app, &v, "a.png", png_with_location(8, 8)).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");
    let (status, body) = upload(&app, &v, "big.txt", vec![b'a'; 3000]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["error"]["code"], "too_large");
    let (status, body) = upload(&app, &v, "small.txt", b"fits".to_vec()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // Past what the server allows, or nothing to accept: refused, and
    // what was saved stays.
    for bad in [
        json!({"enabled": true, "max_bytes": (10 << 20) + 1, "types": ["txt"]}),
        json!({"enabled": true, "max_bytes": 100, "types": ["txt"]}),
        json!({"enabled": true, "max_bytes": 2048, "types": ["svg"]}),
        json!({"enabled": true, "max_bytes": 2048, "types": []}),
    ] {
        let (status, body) = put(&admin, bad.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert_eq!(body["error"]["code"], "invalid_setting", "{bad}");
    }
    assert_eq!(widget_config().await["attachments"], expected);

    // Turned off: every upload is refused.
    let (status, _) = put(
        &admin,
        json!({"enabled": false, "max_bytes": 2048, "types": []}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(widget_config().await["attachments"]["enabled"], false);
    let (status, body) = upload(&app, &v, "small.txt", b"fits".to_vec()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "attachments_disabled");
}

async fn deleting_a_conversation_deletes_its_files(app: TestApp) {
    let admin = app.api_token("alice").await;
    let agent = app.token_with_role("bob", app::types::Role::Agent).await;
    let v = app.start().await;
    let keep = app.start_with(json!({"name": "Kept"})).await;
    app.say(&v, "hello").await;
    let (_, m) = upload(&app, &v, "a.png", png_with_location(40, 30)).await;
    let (_, kept) = upload(&app, &keep, "k.txt", b"kept".to_vec()).await;
    assert_eq!(stored_files(&app).len(), 3);
    let path = format!("/chat/api/admin/session/{}/", v.session_id);
    let mut watching = app.agent_ws(&admin).await;
    let mut visitor = app.visitor_ws_authed(&v, None).await;

    // Agents without the admin role may not.
    let resp = app
        .admin(reqwest::Method::DELETE, &path, &agent, None)
        .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(stored_files(&app).len(), 3);

    let resp = app
        .admin(reqwest::Method::DELETE, &path, &admin, None)
        .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    // Open dashboards hear of it; the visitor's socket closes with 4401,
    // after which the widget forgets the conversation.
    let frame = next_of_type(&mut watching, "deleted").await;
    assert_eq!(frame["session_id"], v.session_id.as_str());
    let (code, reason) = close_of(&mut visitor, Duration::from_secs(5)).await;
    assert_eq!(
        (code, reason.as_str()),
        (4401, "this conversation was deleted")
    );
    // Its file and thumbnail are gone, and the links with them; the other
    // conversation's file stays.
    assert_eq!(stored_files(&app).len(), 1, "{:?}", stored_files(&app));
    let resp = fetch(&app, m["attachment"]["url"].as_str().unwrap()).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unknown_attachment");
    let resp = fetch(&app, kept["attachment"]["url"].as_str().unwrap()).await;
    assert_eq!(resp.status(), StatusCode::OK);
    // The conversation is gone for agents and for its visitor.
    let resp = app.admin(reqwest::Method::GET, &path, &admin, None).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let resp = app.history(&v.customer_id, Some(&v.token), "").await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    // Twice, or an unknown id: 404.
    let resp = app
        .admin(reqwest::Method::DELETE, &path, &admin, None)
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unknown_session");
    assert_eq!(app.stored_messages(&keep).await.len(), 1);
}

async fn an_image_reaches_the_agent_live_without_its_location(app: TestApp) {
    let token = app.api_token("alice").await;
    let mut agent = app.agent_ws(&token).await;
    let v = app.start().await;
    let png = png_with_location(640, 480);
    let form =
        form(&v, "photo-1", "../../holi\u{202e}day.png", png.clone()).text("caption", "my receipt");
    let (status, message) = send(&app, Some(&v.token), form).await;
    assert_eq!(status, StatusCode::CREATED, "{message}");
    assert_eq!(message["sender"], "customer");
    assert_eq!(message["content"], "my receipt");
    assert_eq!(message["client_id"], "photo-1");
    let file = &message["attachment"];
    assert_eq!(file["name"], "holiday.png");
    assert_eq!(file["content_type"], "image/png");
    assert_eq!(
        (file["width"].as_i64(), file["height"].as_i64()),
        (Some(640), Some(480))
    );
    assert!(
        file["size"].as_i64().unwrap() < png.len() as i64,
        "the eXIf chunk is gone"
    );

    // The agent's socket gets the same message, attachment and all.
    let frame = next_of_type(&mut agent, "message").await;
    assert_eq!(frame["message"]["id"], message["id"]);
    assert_eq!(frame["message"]["attachment"]["id"], file["id"]);

    // The file: the picture without its location, shown inline, safely.
    let resp = fetch(&app, file["url"].as_str().unwrap()).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let h = resp.headers().clone();
    assert_eq!(h["content-type"], "image/png");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["content-security-policy"], "sandbox");
    assert!(h["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("inline; filename=\"holiday.png\""));
    let served = resp.bytes().await.unwrap();
    assert!(!contains(&served, b"GPS") && !contains(&served, b"eXIf"));
    let decoded = image::load_from_memory(&served).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (640, 480));

    // The thumbnail: re-encoded, small, no metadata.
    let resp = fetch(&app, file["thumbnail_url"].as_str().unwrap()).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "image/jpeg");
    let thumb = resp.bytes().await.unwrap();
    assert!(!contains(&thumb, b"GPS") && !contains(&thumb, b"Exif"));
    let small = image::load_from_memory(&thumb).unwrap();
    assert_eq!((small.width(), small.height()), (320, 240));

    // History and the inbox show it too.
    let history = app.stored_messages(&v).await;
    assert_eq!(history.last().unwrap()["attachment"]["id"], file["id"]);
    let sessions = inbox(&app, &token).await;
    assert_eq!(sessions["sessions"][0]["last_message"], "my receipt");
}

async fn an_agent_sends_a_file_to_the_visitor(app: TestApp) {
    let token = app.api_token("alice").await;
    let v = app.start().await;
    let mut visitor = app.visitor_ws_authed(&v, None).await;
    let pdf = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n".to_vec();
    let form = Form::new().text("client_id", "agent-file-1").part(
        "file",
        Part::bytes(pdf.clone()).file_name("Invoice 2026.pdf"),
    );
    let resp = app
        .client
        .post(app.url(&format!(
            "/chat/api/admin/session/{}/attachments/",
            v.session_id
        )))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let message: Value = resp.json().await.unwrap();
    assert_eq!(message["sender"], "agent");
    assert_eq!(message["content"], "");
    let file = &message["attachment"];
    assert_eq!(file["content_type"], "application/pdf");
    assert_eq!(file["thumbnail_url"], Value::Null);
    assert_eq!(file["width"], Value::Null);

    let frame = next_of_type(&mut visitor, "message").await;
    assert_eq!(frame["message"]["attachment"]["name"], "Invoice 2026.pdf");

    let resp = fetch(&app, file["url"].as_str().unwrap()).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "application/pdf");
    assert_eq!(
        resp.headers()["content-disposition"],
        "attachment; filename=\"Invoice 2026.pdf\"; filename*=UTF-8''Invoice%202026.pdf"
    );
    assert_eq!(resp.bytes().await.unwrap().to_vec(), pdf);

    // A file without a caption shows its name in the inbox.
    let sessions = inbox(&app, &token).await;
    assert_eq!(
        sessions["sessions"][0]["last_message"],
        "\u{1f4ce} Invoice 2026.pdf"
    );
}

async fn a_resend_with_the_same_client_id_is_stored_once(app: TestApp) {
    let v = app.start().await;
    let png = png_with_location(50, 40);
    let (s1, first) = send(
        &app,
        Some(&v.token),
        form(&v, "same-1", "a.png", png.clone()),
    )
    .await;
    let (s2, again) = send(&app, Some(&v.token), form(&v, "same-1", "b.png", png)).await;
    assert_eq!((s1, s2), (StatusCode::CREATED, StatusCode::CREATED));
    assert_eq!(first["id"], again["id"]);
    assert_eq!(again["attachment"]["name"], "a.png");
    assert_eq!(app.stored_messages(&v).await.len(), 1);
    // One file and its thumbnail, nothing from the resend.
    assert_eq!(stored_files(&app).len(), 2, "{:?}", stored_files(&app));
}

#[tokio::test]
async fn the_type_comes_from_the_bytes_never_the_name() {
    let app = spawn_on(Store::Sqlite, &[]).await;
    let v = app.start().await;
    // A PNG named .pdf is a PNG.
    let (status, m) = upload(&app, &v, "report.pdf", png_with_location(10, 10)).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(m["attachment"]["content_type"], "image/png");
    // Script and markup named as images are refused.
    for (name, body) in [
        ("cat.png", "<script>alert(document.cookie)</script>"),
        (
            "logo.png",
            "<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>",
        ),
        ("page.txt", "<!DOCTYPE html><html><script>alert(1)</script>"),
    ] {
        let (status, body) = upload(&app, &v, name, body.as_bytes().to_vec()).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{name}");
        assert_eq!(body["error"]["code"], "unsupported_type");
        assert_eq!(body["error"]["retryable"], false);
    }
    // A broken image (right magic number, no picture) is refused too.
    let (status, body) = upload(
        &app,
        &v,
        "x.png",
        b"\x89PNG\r\n\x1a\n garbage here".to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(body["error"]["code"], "unsupported_type");
    // Plain text is a download, csv by name.
    let (status, m) = upload(&app, &v, "data.csv", b"a,b\n1,2\n".to_vec()).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(m["attachment"]["content_type"], "text/csv; charset=utf-8");
    let resp = fetch(&app, m["attachment"]["url"].as_str().unwrap()).await;
    assert!(resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment;"));
    // Nothing refused left a file behind: two files, one thumbnail.
    assert_eq!(stored_files(&app).len(), 3, "{:?}", stored_files(&app));
}

#[tokio::test]
async fn types_outside_attachment_types_are_refused() {
    let app = spawn_on(
        Store::Sqlite,
        &[
            ("ATTACHMENT_TYPES", "txt, PDF,pdf"),
            ("ATTACHMENT_MAX_BYTES", "5000"),
        ],
    )
    .await;
    // The widget learns the limits from its config.
    let config: Value = app
        .get("/chat/api/widget/config/")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        config["attachments"],
        json!({"enabled": true, "max_bytes": 5000, "types": ["pdf", "txt"]})
    );
    let v = app.start().await;
    let (status, body) = upload(&app, &v, "a.png", png_with_location(8, 8)).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(body["error"]["code"], "unsupported_type");
    let (status, _) = upload(&app, &v, "a.txt", b"hello".to_vec()).await;
    assert_eq!(status, StatusCode::CREATED);
    // Agents (the dashboard) get the same limits with the conversation.
    let token = app.api_token("alice").await;
    let detail: Value = app
        .client
        .get(app.url(&format!("/chat/api/admin/session/{}/", v.session_id)))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(detail["attachments"], config["attachments"]);
}

#[tokio::test]
async fn a_jpeg_and_its_thumbnail_lose_their_exif() {
    let app = spawn_on(Store::Sqlite, &[]).await;
    let v = app.start().await;
    let jpg = jpeg_with_location(800, 600);
    assert!(contains(&jpg, b"GPS"));
    let (status, m) = upload(&app, &v, "IMG_0001.JPG", jpg).await;
    assert_eq!(status, StatusCode::CREATED, "{m}");
    for url in [&m["attachment"]["url"], &m["attachment"]["thumbnail_url"]] {
        let bytes = fetch(&app, url.as_str().unwrap())
            .await
            .bytes()
            .await
            .unwrap();
        assert!(
            !contains(&bytes, b"GPS") && !contains(&bytes, b"Exif"),
            "{url}"
        );
        image::load_from_memory(&bytes).unwrap();
    }
}

#[tokio::test]
async fn links_are_signed_expire_and_name_one_file() {
    let app = spawn_on(Store::Sqlite, &[]).await;
    let v = app.start().await;
    let (_, m) = upload(&app, &v, "a.txt", b"secret notes".to_vec()).await;
    let url = m["attachment"]["url"].as_str().unwrap().to_string();
    let id = m["attachment"]["id"].as_str().unwrap().to_string();
    assert_eq!(fetch(&app, &url).await.status(), StatusCode::OK);

    let (path, query) = url.split_once('?').unwrap();
    let expires: i64 = query
        .split('&')
        .find_map(|p| p.strip_prefix("expires="))
        .unwrap()
        .parse()
        .unwrap();
    let signature = query
        .split('&')
        .find_map(|p| p.strip_prefix("signature="))
        .unwrap();
    let mut flipped = signature.to_string();
    flipped.replace_range(0..1, if signature.starts_with('0') { "1" } else { "0" });
    let expired = app.state.attachments.links().signer().link(
        &id,
        server::attachments::link::Variant::File,
        chrono::Utc::now().timestamp() - 1,
    );
    for bad in [
        path.to_string(),
        format!("{path}?expires={expires}&signature={flipped}"),
        format!("{path}?expires={}&signature={signature}", expires + 3600),
        format!("{path}?expires=soon&signature={signature}"),
        format!("{path}thumbnail/?{query}"),
        expired,
    ] {
        let resp = fetch(&app, &bad).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{bad}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_link", "{bad}");
    }
    // Another id with this link's signature: refused too.
    let other = url.replace(&id, &uuid::Uuid::now_v7().to_string());
    assert_eq!(fetch(&app, &other).await.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_visitor_never_gets_another_conversations_file() {
    let app = spawn_on(Store::Sqlite, &[]).await;
    let ann = app.start().await;
    let bob = app.start_with(json!({"name": "Bob"})).await;
    let (_, m) = upload(&app, &ann, "ann.txt", b"ann's file".to_vec()).await;
    let ann_file = m["attachment"]["id"].as_str().unwrap();
    // Bob's history holds no link to it, and Bob's token cannot send into
    // Ann's conversation.
    let bob_history = serde_json::to_string(&app.stored_messages(&bob).await).unwrap();
    assert!(!bob_history.contains(ann_file));
    let (status, body) = send(
        &app,
        Some(&bob.token),
        form(&ann, "x-1", "b.txt", b"b".to_vec()),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "invalid_token");
    // The id alone opens nothing.
    let resp = fetch(&app, &format!("/chat/api/attachments/{ann_file}/")).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn bad_uploads_get_clear_errors_and_leave_nothing() {
    let app = spawn_on(Store::Sqlite, &[]).await;
    let v = app.start().await;
    // A name with a raw line break breaks the multipart headers: the body
    // cannot be read, and the answer says so.
    let broken = form(&v, "c-0", "a\r\nb.txt", b"x".to_vec());
    let (status, body) = send(&app, Some(&v.token), broken).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_body"))
    );
    // No token.
    let (status, body) = send(&app, None, form(&v, "c-1", "a.txt", b"x".to_vec())).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("missing_token"))
    );
    // The file before the customer_id.
    let first = Form::new()
        .part("file", Part::bytes(b"x".to_vec()).file_name("a.txt"))
        .text("customer_id", v.customer_id.clone())
        .text("client_id", "c-2");
    let (status, body) = send(&app, Some(&v.token), first).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body"))
    );
    // No file at all.
    let none = Form::new()
        .text("customer_id", v.customer_id.clone())
        .text("client_id", "c-3");
    let (status, body) = send(&app, Some(&v.token), none).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body"))
    );
    // An unknown field is skipped; a long one, or too many, refused.
    let extra = form(&v, "c-6", "a.txt", b"x".to_vec()).text("colour", "blue");
    assert_eq!(
        send(&app, Some(&v.token), extra).await.0,
        StatusCode::CREATED
    );
    let long = Form::new()
        .text("junk", "x".repeat(70_000))
        .text("client_id", "c-7");
    let (status, body) = send(&app, Some(&v.token), long).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body"))
    );
    let many = (0..20).fold(Form::new(), |f, i| f.text(format!("f{i}"), "x"));
    let (status, body) = send(&app, Some(&v.token), many).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body"))
    );
    // A bad client_id.
    let (status, body) = send(
        &app,
        Some(&v.token),
        form(&v, "no spaces", "a.txt", b"x".to_vec()),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_client_id"))
    );
    // An empty file is not a file of any type.
    let (status, body) = send(&app, Some(&v.token), form(&v, "c-4", "a.txt", Vec::new())).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("unsupported_type"))
    );
    // Not multipart.
    let resp = app
        .client
        .post(app.url(UPLOAD))
        .bearer_auth(&v.token)
        .json(&json!({"customer_id": v.customer_id}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unsupported_media_type");
    // A caption too long for a message.
    let long = form(&v, "c-5", "a.txt", b"x".to_vec()).text("caption", "é".repeat(5000));
    let (status, body) = send(&app, Some(&v.token), long).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("content_too_long"))
    );
    assert_eq!(
        app.stored_messages(&v).await.len(),
        1,
        "only the upload with an extra field"
    );
    assert_eq!(stored_files(&app).len(), 1, "{:?}", stored_files(&app));
}

#[tokio::test]
async fn turned_off_quota_and_rate_limit() {
    let off = spawn_on(Store::Sqlite, &[("ATTACHMENTS_ENABLED", "false")]).await;
    let v = off.start().await;
    let (status, body) = upload(&off, &v, "a.txt", b"x".to_vec()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("attachments_disabled"))
    );

    let app = spawn_on(
        Store::Sqlite,
        &[
            ("ATTACHMENT_MAX_BYTES", "2048"),
            ("ATTACHMENT_QUOTA_BYTES", "3000"),
            ("LIMITS", "on"),
            ("LIMIT_ATTACHMENTS_PER_MINUTE", "3"),
        ],
    )
    .await;
    let v = app.start().await;
    let (status, body) = upload(&app, &v, "big.txt", vec![b'a'; 2049]).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("too_large"))
    );
    let (status, _) = upload(&app, &v, "one.txt", vec![b'a'; 2000]).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = upload(&app, &v, "two.txt", vec![b'a'; 1001]).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("quota_exceeded"))
    );
    let (status, body) = upload(&app, &v, "three.txt", vec![b'a'; 10]).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited"))
    );
    assert_eq!(body["error"]["retryable"], true);
}

/// This process's resident memory, in bytes (the server runs in it).
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb * 1024
}

/// A 1 GiB upload against a 1 MiB limit: the server answers 413 once the
/// limit is passed and stops reading; memory stays flat and no file is
/// left. Over raw TCP, so the test sees exactly where the server stopped.
#[tokio::test]
async fn an_upload_over_the_limit_is_cut_off_mid_stream() {
    let app = spawn_on(Store::Sqlite, &[("ATTACHMENT_MAX_BYTES", "1048576")]).await;
    let v = app.start().await;
    let before = rss();
    let boundary = "XdefmisX";
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"customer_id\"\r\n\r\n{}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"client_id\"\r\n\r\nhuge-1\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"huge.txt\"\r\n\
         Content-Type: text/plain\r\n\r\n",
        v.customer_id
    );
    const GIB: u64 = 1 << 30;
    let total = head.len() as u64 + GIB + format!("\r\n--{boundary}--\r\n").len() as u64;
    let mut stream = tokio::net::TcpStream::connect(app.host.as_str())
        .await
        .unwrap();
    let request = format!(
        "POST {UPLOAD} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {total}\r\n\r\n{head}",
        app.host, v.token
    );
    let (mut read, mut write) = stream.split();
    let sender = async {
        write.write_all(request.as_bytes()).await.unwrap();
        let chunk = vec![b'a'; 64 * 1024];
        let mut sent: u64 = 0;
        while sent < GIB {
            if write.write_all(&chunk).await.is_err() {
                break;
            }
            sent += chunk.len() as u64;
        }
        sent
    };
    let reader = async {
        let mut answer = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(Ok(n)) =
            tokio::time::timeout(Duration::from_secs(30), read.read(&mut buf)).await
        {
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&buf[..n]);
            if answer.windows(4).any(|w| w == b"\r\n\r\n") && answer.ends_with(b"}") {
                break;
            }
        }
        answer
    };
    let (sent, answer) = tokio::time::timeout(Duration::from_secs(60), async {
        tokio::join!(sender, reader)
    })
    .await
    .expect("the server answers without reading the whole gigabyte");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("\"too_large\""), "{answer}");
    assert!(sent < GIB, "the server stopped reading (sent {sent} bytes)");
    let grown = rss().saturating_sub(before);
    assert!(grown < 64 << 20, "memory grew by {grown} bytes");
    drop(stream);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(stored_files(&app).is_empty(), "{:?}", stored_files(&app));
    assert!(app.stored_messages(&v).await.is_empty());
}

/// A real S3 API on a free loopback port: `moto_server` (PyPI
/// `moto[server]`, installed by `scripts/install-tools.sh --test`), killed
/// when dropped.
struct S3Server {
    _child: std::process::Child,
    url: String,
    client: reqwest::Client,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self._child.kill();
        let _ = self._child.wait();
    }
}

impl S3Server {
    async fn start() -> S3Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // moto from PyPI (scripts/install-tools.sh --test), or $MOTO_SERVER.
        let (program, mut args) = match std::env::var("MOTO_SERVER") {
            Ok(program) => (program, vec![]),
            Err(_) => ("python3".to_string(), vec!["-m", "moto.server"]),
        };
        let port_arg = port.to_string();
        args.extend(["-H", "127.0.0.1", "-p", &port_arg]);
        let child = std::process::Command::new(&program)
            .args(&args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("{program}: {e} (scripts/install-tools.sh --test installs moto)")
            });
        let server = S3Server {
            _child: child,
            url: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::new(),
        };
        // Up within 30 s, checked every 100 ms.
        for _ in 0..300 {
            if server.client.get(&server.url).send().await.is_ok() {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{program} did not answer on {} within 30 s", server.url);
    }

    async fn create_bucket(&self, bucket: &str) {
        let resp = self
            .client
            .put(format!("{}/{bucket}", self.url))
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{}", resp.status());
    }

    /// The keys under `prefix`, as the S3 API lists them.
    async fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let xml = self
            .client
            .get(format!("{}/{bucket}?list-type=2&prefix={prefix}", self.url))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        xml.split("<Key>")
            .skip(1)
            .filter_map(|rest| rest.split_once("</Key>").map(|(k, _)| k.to_string()))
            .collect()
    }
}

/// `ATTACHMENT_STORAGE=s3://bucket/prefix` against a real S3 API: images
/// (file and thumbnail) and a file large enough for a multipart upload are
/// stored under the prefix and served back, an over-limit upload is cut
/// off and leaves no object, and deleting the conversation deletes them.
#[tokio::test]
#[ignore = "needs moto (scripts/install-tools.sh --test); runs with --include-ignored"]
async fn files_live_in_s3_compatible_storage() {
    let s3 = S3Server::start().await;
    s3.create_bucket("defmis-test").await;
    let app = spawn_on(
        Store::Sqlite,
        &[
            ("ATTACHMENT_STORAGE", "s3://defmis-test/chat/files/"),
            ("AWS_ENDPOINT_URL", s3.url.as_str()),
            ("AWS_ACCESS_KEY_ID", "test-key"),
            ("AWS_SECRET_ACCESS_KEY", "test-secret"),
            ("AWS_REGION", "us-east-1"),
            ("ATTACHMENT_MAX_BYTES", "1048576"),
        ],
    )
    .await;
    let admin = app.api_token("alice").await;
    let v = app.start().await;

    let (status, image) = upload(&app, &v, "where.png", png_with_location(64, 48)).await;
    assert_eq!(status, StatusCode::CREATED, "{image}");
    let keys = s3.keys("defmis-test", "chat/files/").await;
    assert_eq!(keys.len(), 2, "the file and its thumbnail: {keys:?}");
    let served = fetch(&app, image["attachment"]["url"].as_str().unwrap()).await;
    assert_eq!(served.status(), StatusCode::OK);
    let bytes = served.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\x89PNG"));
    assert!(!contains(&bytes, b"GPS"), "served without its location");
    let thumb = fetch(&app, image["attachment"]["thumbnail_url"].as_str().unwrap()).await;
    assert_eq!(thumb.status(), StatusCode::OK);

    // Over 256 KiB: written as an S3 multipart upload, part by part.
    let text: Vec<u8> = (0..700_000u32)
        .map(|i| {
            if i % 64 == 63 {
                b'\n'
            } else {
                b'a' + (i % 26) as u8
            }
        })
        .collect();
    let (status, doc) = upload(&app, &v, "log.txt", text.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{doc}");
    let served = fetch(&app, doc["attachment"]["url"].as_str().unwrap()).await;
    assert_eq!(served.bytes().await.unwrap().to_vec(), text);
    assert_eq!(s3.keys("defmis-test", "chat/files/").await.len(), 3);

    // Over ATTACHMENT_MAX_BYTES: cut off, and no object is left behind.
    let (status, body) = upload(&app, &v, "big.txt", vec![b'x'; 2 << 20]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(s3.keys("defmis-test", "chat/files/").await.len(), 3);

    let resp = app
        .admin(
            reqwest::Method::DELETE,
            &format!("/chat/api/admin/session/{}/", v.session_id),
            &admin,
            None,
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        s3.keys("defmis-test", "chat/files/").await,
        Vec::<String>::new()
    );
    assert_eq!(
        fetch(&app, doc["attachment"]["url"].as_str().unwrap())
            .await
            .status(),
        StatusCode::NOT_FOUND
    );

    // A bucket that is not there: 503, retryable, so the client keeps the
    // file and tries again.
    let lost = spawn_on(
        Store::Sqlite,
        &[
            ("ATTACHMENT_STORAGE", "s3://no-such-bucket"),
            ("AWS_ENDPOINT_URL", s3.url.as_str()),
            ("AWS_ACCESS_KEY_ID", "test-key"),
            ("AWS_SECRET_ACCESS_KEY", "test-secret"),
        ],
    )
    .await;
    let v = lost.start().await;
    let (status, body) = upload(&lost, &v, "notes.txt", b"hello".to_vec()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "unavailable");
    assert_eq!(body["error"]["retryable"], true);
}
