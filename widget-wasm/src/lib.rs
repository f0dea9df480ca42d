//! The embeddable DEFMIS Chat widget.
//!
//! A website adds one `<script src="…/static/js/chat-widget.js">`; that
//! loader imports the wasm-bindgen glue from `/static/widget/` and calls
//! [`start`]. The widget then draws a launcher bubble and a chat panel inside
//! an open shadow root on `<div id="defmis-chat-root">`, talks to the server's
//! public widget API (`/chat/api/…`) and visitor socket (`/ws/chat/{id}/`),
//! and keeps `{customer_id, token}` in localStorage so a reload resumes the
//! same conversation.
//!
//! Every byte here is downloaded by every visitor of every customer site, so
//! the crate uses raw `web-sys` (WebSocket, fetch) and `js_sys::JSON` /
//! `Reflect` instead of gloo-net and serde, and avoids `core::fmt`. Built with
//! `scripts/build-widget.sh`, which prints the sizes.
//!
//! # Layout
//!
//! - `lib.rs`: the one export, [`start`].
//! - `chat.rs`: the conversation — session start/resume, socket with
//!   backoff and resume-from-seq, the outbox of unacknowledged messages
//!   (re-sent by `client_id`, which the server treats idempotently), unread
//!   count.
//! - `ui.rs`: the shadow-root template and CSS, and the DOM operations
//!   (bubbles in seq order, pending/failed states, badge, status).
//! - `frame.rs`: decoding server frames, over a small JSON trait (tested
//!   natively against the server's own golden frames in `tests/golden/`).
//! - `js.rs`: small browser helpers — JSON through `Reflect`, fetch,
//!   localStorage that tolerates being disabled, UUIDs, integer formatting.
//!
//! Stable selectors inside the shadow root, for browser tests:
//! `button.dc-launcher`, `.dc-panel` (`hidden` / class `open`),
//! `.dc-messages`, `.dc-msg[data-sender][data-seq][data-client-id]` with its
//! text in `.dc-text` (class `pending` until acknowledged, `failed` if
//! rejected), `textarea.dc-input`, `button.dc-send`, `.dc-badge`,
//! `.dc-status`, `.dc-welcome`, `.dc-note` (conversation closed).

mod chat;
pub mod frame;
mod js;
mod ui;

use wasm_bindgen::prelude::wasm_bindgen;

/// Starts the widget once per page. Every argument is optional (`undefined`
/// or empty means absent): `api_url` defaults to the page's origin;
/// `customer_id` is offered as the public id of a new conversation; name and
/// email are passed to the server when a conversation starts.
#[wasm_bindgen]
pub fn start(
    api_url: Option<String>,
    customer_id: Option<String>,
    customer_name: Option<String>,
    customer_email: Option<String>,
) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let Some(doc) = window.document() else { return };
    if doc.get_element_by_id(ui::HOST_ID).is_some() {
        return;
    }
    let given = |s: Option<String>| s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let mut api = given(api_url)
        .or_else(|| window.location().origin().ok())
        .unwrap_or_default();
    while api.ends_with('/') {
        api.pop();
    }
    chat::Widget::start(
        api,
        given(customer_id),
        given(customer_name),
        given(customer_email),
    );
}
