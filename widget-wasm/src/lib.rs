//! The embeddable DEFMIS Chat widget.
//!
//! A website adds one `<script src="…/static/js/chat-widget.js">`. That
//! loader (≤ 3 KB gzipped) draws the launcher at once inside an open shadow
//! root on `<div id="defmis-chat-root">`, defines `window.DEFMISChat`'s API
//! (queueing calls), and imports this module's glue from `/static/widget/`
//! when the browser is idle, on the first interaction with the launcher, or
//! at once for a returning visitor. The widget then adds the chat panel to
//! the same shadow root, talks to the server's public widget API
//! (`/chat/api/…`) and visitor socket (`/ws/chat/{id}/`), and keeps
//! `{customer_id, token, site}` and its outbox in localStorage (written only
//! once the visitor opened the chat or the page identified them).
//!
//! Every byte here is downloaded by every visitor of every customer site, so
//! the crate uses raw `web-sys` (WebSocket, fetch) and `js_sys::JSON` /
//! `Reflect` instead of gloo-net and serde, and avoids `core::fmt`. Built with
//! `scripts/build-widget.sh`, which prints the sizes and enforces the budget
//! (wasm + glue ≤ 40 KB gzipped, loader ≤ 3 KB gzipped).
//!
//! # Size (issue 8: 55.2 KB → 40.6 KB gzipped wasm + glue)
//!
//! Measured one technique at a time with `scripts/build-widget.sh`
//! (gzipped wasm + glue):
//!
//! - lol_alloc's free-list allocator instead of std's dlmalloc (below): −3.0 KB.
//! - No `str` slicing by index (`links` uses `get`): the slice-error panic
//!   formats the string with `Debug`, which pulled in Unicode printability
//!   tables and escaping: −4.3 KB. Keep using `get` for slices.
//! - `js::uint` without `String::from_utf8`, `js::parse_uint` instead of
//!   `str::parse::<u64>`, `cat` without the generic `concat`: −0.8 KB.
//! - Every `spawn_local` through one boxed future type (`chat::spawn`): one
//!   copy of the executor's task code instead of one per async fn: −0.34 KB.
//! - Event handlers as `fn` pointers (no boxed closures, vtables): −0.23 KB;
//!   every JS callback through `Widget::bind`, one closure type: −0.11 KB.
//! - Build (`scripts/minify-widget-imports.mjs`): short import names in the
//!   wasm and the glue (wasm-bindgen's carry an incompressible hash each, in
//!   both files), short names for the exports only the glue reads, the
//!   glue's comments and indentation dropped: −5.3 KB.
//! - wasm-opt `--flatten --rereloop -Oz --gufa -Oz --converge` and the
//!   strip flags: −0.5 KB. `opt-level = "s"` was measured larger than "z".
//! - terser (npm) over the glue after that: local names, dead branches:
//!   −0.9 KB (issue 11, which needed the room for attachments).
//!   wasm-bindgen `--omit-default-module-path` (the loader passes the wasm
//!   URL): −36 B. lol_alloc's `AssumeSingleThreaded` saved only 61 B more
//!   than the locked wrapper, not worth an `unsafe`, so not used.
//!
//! What remains of `core::fmt` (≈ 3.5 KB raw: `fmt::write`, `pad`,
//! `u32` Display) is std's default panic hook, reachable from any panic;
//! stable Rust cannot drop it without `no_std`.
//!
//! # Layout
//!
//! - `api.rs`: the exports the loader calls — [`api::start`], `open`,
//!   `close`, `toggle`, `identify`, `shutdown` — and reading the snippet's
//!   options (ids given as numbers or strings, console warnings for what is
//!   dropped).
//! - `state.rs`: the connection as one state machine (`Connecting`,
//!   `Authenticating`, `Live`, `FallbackHttp`, `Offline`, `Closed`) and the
//!   transport ladder's rules; pure, tested natively.
//! - `transport.rs`: the socket (auth + ping, acknowledgement timeouts,
//!   close codes), HTTP POST, long polling, history paging, typing and read
//!   frames.
//! - `outbox.rs`: unacknowledged messages keyed by `client_id` (sending /
//!   failed; sent ones carry their seq on screen); pure, tested natively.
//! - `chat.rs`: the conversation — start/resume with identity, persistence,
//!   showing messages in seq order, unread count and receipts, typing,
//!   availability and the offline form, the 1 s heartbeat.
//! - `ui.rs`: the panel's template and CSS (dark mode, phone full screen,
//!   reduced motion) and the DOM operations.
//! - `i18n.rs`: every visible string and aria label in en, es, fr, de.
//! - `links.rs`: finding http(s) links in message text (made into `<a>`
//!   elements by hand, never through HTML parsing).
//! - `frame.rs`: decoding server frames, over a small JSON trait (tested
//!   natively against the server's own golden frames in `tests/golden/`).
//! - `js.rs`: small browser helpers — JSON through `Reflect`, fetch with a
//!   timeout, localStorage that tolerates being disabled, UUIDs, integer
//!   formatting, console warnings.
//!
//! # Attachments
//!
//! Files live outside this crate, in `public/static/js/chat-attach.js`,
//! which the loader imports when the panel first opens (so the first
//! download does not grow): the attach button, drag and drop onto the
//! panel, paste into the input, uploads with progress, cancel and retry by
//! `client_id`, and drawing files. This crate's part is one attribute: a
//! message with a file gets its `attachment` object as JSON in `data-att`
//! (set as an attribute, never parsed as HTML), and an upload's bubble
//! (`.dc-msg[data-upload][data-client-id]`, no `data-seq`) is removed like
//! any pending one when the stored message is shown.
//!
//! `part` names the host page may style with `#defmis-chat-root::part(…)`:
//! `launcher`, `panel`, `header`, `messages`, `composer`, `input`, `send`,
//! `attach`.
//!
//! Stable selectors inside the shadow root, for browser tests:
//! `button.dc-launcher` (drawn by the loader), `.dc-badge` (unread count),
//! `.dc-panel` (`role=dialog`; `hidden` / class `open`), `.dc-status` (text
//! matches /connected/i when live in English; `data-state` = `connecting`,
//! `authenticating`, `live`, `http`, `offline`, `closed` or `refused`),
//! `.dc-messages` (`role=log`), `.dc-msg[data-sender][data-seq]
//! [data-client-id]` with its text in `.dc-text` (links as `a[href]`) and,
//! for the visitor's own, `data-state` = `sending` | `sent` | `failed`
//! (classes `pending` while sending, `failed` when refused, with the reason
//! in `.dc-err` and a `.dc-retry` button), `.dc-seen` (under the visitor's
//! last message the agents read), `.dc-typing` ("Ann is typing…"),
//! `.dc-reply` (expected reply time), `textarea.dc-input`, `button.dc-send`,
//! `.dc-welcome`, `.dc-note` (conversation closed), `form.dc-offline-form`
//! with `.dc-f-name`, `.dc-f-email`, `.dc-f-msg`, `.dc-f-send`; from the
//! attachment module: `button.dc-attach`, `.dc-dropzone` (shown while a
//! file is dragged over the panel), a file in `.dc-msg[data-att]` as
//! `a.dc-file > img.dc-thumb` (an image) or `a.dc-file.dc-card` (name and
//! size), and uploads as `.dc-msg[data-upload]` with `data-state` =
//! `sending` (a `progress` and `.dc-cancel`) | `sent` | `failed` (`.dc-err`,
//! and `.dc-up-retry` when sending again can help).

/// lol_alloc's free list (sorted, coalescing) instead of std's dlmalloc:
/// about 8 KB less raw code (−3 KB gzipped); the widget allocates little and
/// briefly. The locked wrapper is safe code (no `unsafe` needed).
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: lol_alloc::LockedAllocator<lol_alloc::FreeListAllocator> =
    lol_alloc::LockedAllocator::new(lol_alloc::FreeListAllocator::new());

pub mod api;
mod chat;
pub mod frame;
pub mod i18n;
mod js;
pub mod links;
pub mod outbox;
pub mod state;
mod transport;
mod ui;
