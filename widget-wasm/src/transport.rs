//! The wire: the visitor socket, HTTP POST for messages and receipts, and
//! long polling, arranged as a ladder by the state machine (`state`).
//!
//! A socket can look open while its frames go nowhere, so nothing is
//! trusted until it answers: the auth frame goes out with a ping, and the
//! first frame back makes the socket `Live`. Every sent message then waits
//! for its acknowledgement (the echoed message with its seq); when one is
//! overdue the socket is pinged and, without a pong within 3 s, dropped —
//! the outbox goes out again on the next transport with the same
//! `client_id`s, which the server stores once.

use std::rc::Rc;

use js_sys::{Object, Promise};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{CloseEvent, Event, MessageEvent, WebSocket};

use crate::chat::{backoff, cat, online, spawn, Widget, CREDS_REFUSED};
use crate::frame::{self, Frame};
use crate::js::{self, get, set, set_opt};
use crate::state::Conn;

/// Close code for refused credentials (unknown customer_id or wrong
/// token): the only one after which the conversation is forgotten. Every
/// other close (4408 auth timeout, 4429 too many sockets, 1012 restart,
/// 1013 overloaded, 1011, network loss) reconnects with the same
/// credentials, with backoff.
const CREDENTIALS_REFUSED: u16 = 4401;
/// How often a socket is tried again while on HTTP.
const PROBE_EVERY_MS: f64 = 60000.0;
/// The long poll's `wait`, and the fetch timeout around it.
const POLL_WAIT: &str = "25";
const POLL_TIMEOUT_MS: i32 = 35000;

/// `wss://host` for `https://host/…`, `ws://host` for `http://host/…`.
pub fn ws_base(api: &str) -> String {
    let (scheme, rest) = if let Some(rest) = api.strip_prefix("https://") {
        ("wss://", rest)
    } else if let Some(rest) = api.strip_prefix("http://") {
        ("ws://", rest)
    } else {
        let loc = web_sys::window().map(|w| w.location());
        let secure = loc.as_ref().and_then(|l| l.protocol().ok()).as_deref() == Some("https:");
        let host = loc.and_then(|l| l.host().ok()).unwrap_or_default();
        return cat(&[if secure { "wss://" } else { "ws://" }, &host]);
    };
    cat(&[scheme, rest.split('/').next().unwrap_or_default()])
}

/// Resolves after `ms` milliseconds.
pub async fn sleep(ms: f64) {
    let p = Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms as i32);
        }
    });
    let _ = JsFuture::from(p).await;
}

fn typed(kind: &str) -> Object {
    let o = Object::new();
    set_opt(&o, "type", Some(kind));
    o
}

impl Widget {
    /// `{api}/chat/api/chat/{id}/history/?{query}` and the token.
    fn history(&self, query: &[&str]) -> Option<(String, String)> {
        let st = self.st.borrow();
        let c = st.creds.as_ref()?;
        let id = String::from(js_sys::encode_uri_component(&c.id));
        let mut url = cat(&[&self.api, "/chat/api/chat/", &id, "/history/?"]);
        url.push_str(&cat(query));
        Some((url, c.token.clone()))
    }

    pub fn connect(self: &Rc<Self>) {
        let url = {
            let st = self.st.borrow();
            let Some(c) = &st.creds else { return };
            let id = String::from(js_sys::encode_uri_component(&c.id));
            cat(&[&ws_base(&self.api), "/ws/chat/", &id, "/"])
        };
        let Ok(ws) = WebSocket::new(&url) else {
            self.socket_died(None);
            return;
        };
        if let Some(cb) = &*self.cb.borrow() {
            ws.set_onopen(Some(&cb.open));
            ws.set_onmessage(Some(&cb.message));
            ws.set_onclose(Some(&cb.close));
        }
        let mut st = self.st.borrow_mut();
        st.ws = Some(ws);
        st.ws_at = js::now();
        st.ws_live = false;
        st.ping_at = 0.0;
    }

    /// Closes the current socket without reacting to its close event.
    pub fn drop_socket(&self) {
        let ws = {
            let mut st = self.st.borrow_mut();
            st.ws_live = false;
            st.ping_at = 0.0;
            st.ws.take()
        };
        if let Some(ws) = ws {
            ws.set_onopen(None);
            ws.set_onmessage(None);
            ws.set_onclose(None);
            let _ = ws.close();
        }
    }

    /// The socket an event belongs to, if it is still the current one.
    fn current(&self, e: &Event) -> Option<WebSocket> {
        let ws = self.st.borrow().ws.clone()?;
        (e.target().map(JsValue::from) == Some(JsValue::from(ws.clone()))).then_some(ws)
    }

    fn send(&self, frame: &Object) -> bool {
        let ws = {
            let st = self.st.borrow();
            if !st.ws_live {
                return false;
            }
            st.ws.clone()
        };
        ws.is_some_and(|ws| ws.send_with_str(&js::stringify(frame)).is_ok())
    }

    pub fn on_open(self: &Rc<Self>, e: &Event) {
        let Some(ws) = self.current(e) else { return };
        let auth = typed("auth");
        {
            let mut st = self.st.borrow_mut();
            let Some(c) = &st.creds else { return };
            set_opt(&auth, "token", Some(&c.token));
            set(&auth, "after", &JsValue::from_f64(st.last_seq() as f64));
            st.m.opened();
            st.ping_at = js::now();
        }
        let _ = ws.send_with_str(&js::stringify(&auth));
        // The pong (or anything) proves the socket carries frames both ways.
        let _ = ws.send_with_str(&js::stringify(&typed("ping")));
        self.update_status();
    }

    pub fn on_message(self: &Rc<Self>, e: &Event) {
        if self.current(e).is_none() {
            return;
        }
        let Some(text) = e.unchecked_ref::<MessageEvent>().data().as_string() else {
            return;
        };
        let went_live = {
            let mut st = self.st.borrow_mut();
            st.ping_at = 0.0;
            if st.ws_live {
                false
            } else {
                st.ws_live = true;
                st.ever_live = true;
                st.m.answered();
                st.attempts = 0;
                st.generation = st.generation.wrapping_add(1);
                true
            }
        };
        if went_live {
            self.update_status();
            self.flush();
            let pending = {
                let mut st = self.st.borrow_mut();
                std::mem::take(&mut st.read_pending).then_some(st.read_seq)
            };
            if let Some(seq) = pending {
                self.send_read(seq);
            }
        }
        match frame::decode(&js::parse(&text)) {
            Frame::Message(m) => {
                self.show_message(m, true);
                self.after_messages();
            }
            Frame::Error {
                client_id: Some(cid),
                retryable: true,
                retry_after_ms,
                ..
            } => self.resend_later(&cid, retry_after_ms.unwrap_or(0) as f64),
            Frame::Error {
                client_id: Some(cid),
                code,
                message,
                ..
            } => self.fail(&cid, code.as_deref().unwrap_or_default(), message),
            Frame::Session { closed } => self.ui.show(&self.ui.note, closed),
            Frame::Typing { active, name } => self.agent_typing(active, name),
            Frame::Read { seq } => self.agent_read(seq),
            Frame::Availability { available } => self.set_available(available),
            Frame::Error { .. } | Frame::Other => {}
        }
    }

    pub fn on_close(self: &Rc<Self>, e: &Event) {
        if self.current(e).is_none() {
            return;
        }
        self.socket_died(Some(e.unchecked_ref::<CloseEvent>().code()));
    }

    /// The socket closed, never opened or stayed silent: the ladder decides
    /// what next; the outbox goes out again on the next transport.
    pub fn socket_died(self: &Rc<Self>, code: Option<u16>) {
        self.drop_socket();
        if code == Some(CREDENTIALS_REFUSED) {
            // The token no longer opens this conversation: start afresh.
            self.forget_conversation();
        }
        {
            let mut st = self.st.borrow_mut();
            let now = js::now();
            let was = st.m.conn;
            let conn = if online() {
                st.m.died()
            } else {
                st.m.offline()
            };
            st.retry_at = now + backoff(st.attempts);
            st.attempts = st.attempts.saturating_add(1);
            st.outbox.resend_all();
            if conn == Conn::FallbackHttp {
                st.probe_at = now + PROBE_EVERY_MS;
                if was != Conn::FallbackHttp {
                    st.generation = st.generation.wrapping_add(1);
                }
            }
        }
        self.update_status();
        self.tick();
    }

    /// Asks a live socket to prove itself.
    pub fn ping(&self) {
        if self.send(&typed("ping")) {
            self.st.borrow_mut().ping_at = js::now();
        }
    }

    /// Sends what the outbox holds that this transport has not carried
    /// yet: over a live socket, or by HTTP POST while on HTTP.
    pub fn flush(self: &Rc<Self>) {
        let now = js::now();
        let (due, socket, generation) = {
            let st = self.st.borrow();
            if !st.ready {
                return;
            }
            let socket = st.ws_live;
            if !socket && st.m.conn != Conn::FallbackHttp {
                return;
            }
            (st.outbox.due(st.generation, now), socket, st.generation)
        };
        for (cid, content) in due {
            if socket {
                let f = typed("message");
                set_opt(&f, "content", Some(&content));
                set_opt(&f, "client_id", Some(&cid));
                if !self.send(&f) {
                    return;
                }
            } else {
                spawn(self.clone().post(cid.clone(), content));
            }
            self.st.borrow_mut().outbox.sent(&cid, generation, now);
        }
    }

    /// `POST /chat/api/chat/message/` for one message; its 201 is the
    /// acknowledgement.
    async fn post(self: Rc<Self>, client_id: String, content: String) {
        let Some((id, token)) = self
            .st
            .borrow()
            .creds
            .as_ref()
            .map(|c| (c.id.clone(), c.token.clone()))
        else {
            return;
        };
        let body = Object::new();
        set_opt(&body, "customer_id", Some(&id));
        set_opt(&body, "content", Some(&content));
        set_opt(&body, "client_id", Some(&client_id));
        let reply = js::request(
            "POST",
            &self.url("/chat/api/chat/message/"),
            Some(&token),
            Some(&body),
            15000,
        )
        .await;
        match reply {
            Ok(r) if r.status == 200 || r.status == 201 => {
                if let Some(m) = frame::message(&r.body) {
                    self.show_message(m, false);
                    self.after_messages();
                }
            }
            Ok(r) if r.retryable() => self.resend_later(&client_id, r.retry_after_ms()),
            Ok(r) if r.status == 401 && CREDS_REFUSED.contains(&r.code().as_str()) => {
                // Only if the token is still the one we used.
                let current = self
                    .st
                    .borrow()
                    .creds
                    .as_ref()
                    .is_some_and(|c| c.token == token);
                if current {
                    self.forget_conversation();
                    self.tick();
                }
            }
            Ok(r) => self.fail(&client_id, &r.code(), r.error_message()),
            Err(_) => {
                self.resend_later(&client_id, 0.0);
                if !online() {
                    self.st.borrow_mut().m.offline();
                    self.update_status();
                }
            }
        }
    }

    /// Receives by long polling while on HTTP: `history?after=SEQ&wait=25`
    /// in a loop, backing off on errors.
    pub async fn poll_loop(self: Rc<Self>) {
        self.st.borrow_mut().polling = true;
        let mut errors = 0u32;
        loop {
            let go = {
                let st = self.st.borrow();
                st.ready && st.m.conn == Conn::FallbackHttp
            };
            if !go {
                break;
            }
            let after = js::uint(self.st.borrow().last_seq());
            let Some((url, token)) = self.history(&["after=", &after, "&wait=", POLL_WAIT]) else {
                break;
            };
            let began = js::now();
            let reply = js::request("GET", &url, Some(&token), None, POLL_TIMEOUT_MS).await;
            match reply {
                Ok(r) if r.status == 200 => {
                    errors = 0;
                    self.add_messages(&get(&r.body, "messages"), true);
                    // A server that does not hold requests must not be
                    // hammered.
                    if js::now() - began < 1000.0 {
                        sleep(2000.0).await;
                    }
                }
                Ok(r) if r.status == 401 && CREDS_REFUSED.contains(&r.code().as_str()) => {
                    self.forget_conversation();
                    break;
                }
                other => {
                    let wait = other.as_ref().map_or(0.0, |r| r.retry_after_ms());
                    sleep(backoff(errors).max(wait)).await;
                    errors = errors.saturating_add(1);
                }
            }
        }
        self.st.borrow_mut().polling = false;
        self.tick();
    }

    /// The previous page of history (`before` = the first seq shown), when
    /// the list is scrolled to its top; the scroll position stays put.
    pub fn load_older(self: &Rc<Self>) {
        let first = {
            let mut st = self.st.borrow_mut();
            if !st.ready || !st.has_more || st.loading_older {
                return;
            }
            st.loading_older = true;
            js::uint(st.seqs.first().map_or(0, |s| s.0))
        };
        let w = self.clone();
        spawn(async move {
            if let Some((url, token)) = w.history(&["before=", &first, "&limit=50"]) {
                if let Ok(r) = js::request("GET", &url, Some(&token), None, 15000).await {
                    if r.status == 200 {
                        let list = &w.ui.list;
                        let (height, top) = (list.scroll_height(), list.scroll_top());
                        w.st.borrow_mut().has_more =
                            get(&r.body, "has_more").as_bool().unwrap_or(false);
                        w.add_messages(&get(&r.body, "messages"), false);
                        list.set_scroll_top(top + list.scroll_height() - height);
                    }
                }
            }
            w.st.borrow_mut().loading_older = false;
        });
    }

    /// `{"type":"typing","active":…}`, on a live socket only (typing is
    /// not worth an HTTP request).
    pub fn send_typing(&self, active: bool) {
        let f = typed("typing");
        set(&f, "active", &JsValue::from_bool(active));
        if self.send(&f) || !active {
            let mut st = self.st.borrow_mut();
            st.typing_active = active;
            st.typing_sent_at = js::now();
        }
    }

    /// The read receipt: a `read` frame on a live socket,
    /// `POST /chat/api/chat/read/` while on HTTP, else when the socket goes
    /// live.
    pub fn send_read(&self, seq: u64) {
        let f = typed("read");
        set(&f, "seq", &JsValue::from_f64(seq as f64));
        if self.send(&f) {
            return;
        }
        if self.st.borrow().m.conn != Conn::FallbackHttp {
            self.st.borrow_mut().read_pending = true;
            return;
        }
        let Some((id, token)) = self
            .st
            .borrow()
            .creds
            .as_ref()
            .map(|c| (c.id.clone(), c.token.clone()))
        else {
            return;
        };
        let body = Object::new();
        set_opt(&body, "customer_id", Some(&id));
        set(&body, "seq", &JsValue::from_f64(seq as f64));
        let url = self.url("/chat/api/chat/read/");
        spawn(async move {
            let _ = js::request("POST", &url, Some(&token), Some(&body), 15000).await;
        });
    }
}
