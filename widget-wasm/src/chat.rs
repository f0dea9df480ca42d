//! The conversation: session start/resume over HTTP, the visitor socket with
//! reconnect and resume-from-seq, the outbox of unacknowledged messages, and
//! the unread count.
//!
//! Everything runs on the page's one thread; the state sits in a `RefCell`
//! whose borrows never span an `await` or a call back into the DOM that
//! could re-enter us.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::{Array, Function, Object};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::spawn_local;
use web_sys::{CloseEvent, Event, EventTarget, KeyboardEvent, MessageEvent, WebSocket};

use crate::frame::{self, Frame, Message};
use crate::js::{self, get, get_str, get_uint, set, set_opt};
use crate::ui::Ui;

/// Close code for refused credentials (unknown customer_id or wrong
/// token): the only one after which the conversation is forgotten. Every
/// other close (4408 auth timeout, 4429 too many sockets, 1012 restart,
/// 1013 overloaded, 1011, network loss) reconnects with the same
/// credentials, with backoff.
const CREDENTIALS_REFUSED: u16 = 4401;
/// Reconnect delays double from this…
const BACKOFF_MIN_MS: f64 = 1000.0;
/// …up to this.
const BACKOFF_MAX_MS: f64 = 30000.0;

/// A conversation's public id and the token that opens it.
struct Creds {
    id: String,
    token: String,
}

/// A message the server has not acknowledged yet.
struct Outgoing {
    client_id: String,
    content: String,
    /// The socket generation it was last sent on (0: none), so a reconnect
    /// re-sends it exactly once.
    sent_on: u32,
    /// An HTTP POST for it is in flight.
    posting: bool,
}

#[derive(Default)]
struct State {
    creds: Option<Creds>,
    /// `customerId` from the page: offered as the public id of a new
    /// conversation until the server refuses it.
    preset_id: Option<String>,
    name: Option<String>,
    email: Option<String>,
    /// The start call succeeded for `creds`; history is shown.
    ready: bool,
    starting: bool,
    /// The visitor has shown interest (opened the panel, has stored
    /// credentials or unsent messages): worth a session.
    wanted: bool,
    ws: Option<WebSocket>,
    /// The current socket is open and authenticated.
    live: bool,
    generation: u32,
    attempts: u32,
    timer: Option<i32>,
    /// Seqs on screen, sorted: never show one twice.
    seqs: Vec<u64>,
    /// Highest seq the visitor has had on screen with the panel open.
    seen: u64,
    unread: u64,
    outbox: Vec<Outgoing>,
    open: bool,
}

impl State {
    fn last_seq(&self) -> u64 {
        self.seqs.last().copied().unwrap_or(0)
    }
}

/// JS callbacks made once and reused for every socket and timer, so a
/// reconnect allocates no closures and a stale socket's events are told
/// apart by their target.
struct Callbacks {
    open: Function,
    message: Function,
    close: Function,
    timer: Function,
}

pub struct Widget {
    api: String,
    ws_base: String,
    creds_key: String,
    state_key: String,
    ui: Ui,
    st: RefCell<State>,
    /// `max_message_length` from the config, in characters.
    max_len: Cell<u32>,
    cb: RefCell<Option<Callbacks>>,
}

/// Makes a JS function from a Rust closure that lives as long as the page.
fn callback<F: FnMut(Event) + 'static>(f: F) -> Function {
    Closure::<dyn FnMut(Event)>::new(f)
        .into_js_value()
        .unchecked_into()
}

fn listen(target: &EventTarget, kind: &str, f: &Function) {
    let _ = target.add_event_listener_with_callback(kind, f);
}

/// `wss://host` for `https://host/…`, `ws://host` for `http://host/…`.
fn ws_base(api: &str) -> String {
    let (scheme, rest) = if let Some(rest) = api.strip_prefix("https://") {
        ("wss://", rest)
    } else if let Some(rest) = api.strip_prefix("http://") {
        ("ws://", rest)
    } else {
        let loc = web_sys::window().map(|w| w.location());
        let secure = loc.as_ref().and_then(|l| l.protocol().ok()).as_deref() == Some("https:");
        let host = loc.and_then(|l| l.host().ok()).unwrap_or_default();
        let mut s = String::from(if secure { "wss://" } else { "ws://" });
        s.push_str(&host);
        return s;
    };
    let host = rest.split('/').next().unwrap_or_default();
    let mut s = String::from(scheme);
    s.push_str(host);
    s
}

fn cat(parts: &[&str]) -> String {
    parts.concat()
}

impl Widget {
    /// Mounts the widget and starts it; `None` if the page has no body.
    pub fn start(
        api: String,
        preset_id: Option<String>,
        name: Option<String>,
        email: Option<String>,
    ) -> Option<Rc<Widget>> {
        let doc = web_sys::window()?.document()?;
        let ui = Ui::mount(doc)?;
        let w = Rc::new(Widget {
            ws_base: ws_base(&api),
            creds_key: cat(&["defmis-chat:", &api]),
            state_key: cat(&["defmis-chat-state:", &api]),
            api,
            ui,
            st: RefCell::new(State {
                preset_id,
                name,
                email,
                ..State::default()
            }),
            max_len: Cell::new(4000),
            cb: RefCell::new(None),
        });
        w.wire();
        w.restore();
        spawn_local(w.clone().load_config());
        w.tick();
        Some(w)
    }

    fn url(&self, path: &str) -> String {
        cat(&[&self.api, path])
    }

    fn wire(self: &Rc<Self>) {
        let ui = &self.ui;
        let w = self.clone();
        listen(
            ui.launcher.as_ref(),
            "click",
            &callback(move |_| {
                let open = w.st.borrow().open;
                w.set_open(!open);
            }),
        );
        let w = self.clone();
        listen(
            ui.close.as_ref(),
            "click",
            &callback(move |_| w.set_open(false)),
        );
        let w = self.clone();
        listen(
            ui.send.as_ref(),
            "click",
            &callback(move |_| w.send_input()),
        );
        let w = self.clone();
        listen(
            ui.input.as_ref(),
            "input",
            &callback(move |_| w.ui.fit_input()),
        );
        let w = self.clone();
        listen(
            ui.host.as_ref(),
            "keydown",
            &callback(move |e| {
                let k: &KeyboardEvent = e.unchecked_ref();
                let key = k.key();
                if key == "Escape" && w.st.borrow().open {
                    w.set_open(false);
                } else if key == "Enter" && !k.shift_key() && !k.is_composing() {
                    // Events from inside the shadow root are retargeted to
                    // the host; the composed path tells where it came from.
                    let path = e.composed_path();
                    if path.length() > 0 && path.get(0) == JsValue::from(w.ui.input.clone()) {
                        e.prevent_default();
                        w.send_input();
                    }
                }
            }),
        );
        if let Some(window) = web_sys::window() {
            let w = self.clone();
            listen(
                window.as_ref(),
                "online",
                &callback(move |_| {
                    w.st.borrow_mut().attempts = 0;
                    w.retry_now();
                }),
            );
        }
        let w = self.clone();
        let open = callback(move |e| w.on_open(&e));
        let w = self.clone();
        let message = callback(move |e| w.on_message(&e));
        let w = self.clone();
        let close = callback(move |e| w.on_close(&e));
        let w = self.clone();
        let timer = callback(move |_| w.on_timer());
        *self.cb.borrow_mut() = Some(Callbacks {
            open,
            message,
            close,
            timer,
        });
    }

    /// Loads stored credentials, the seen mark and the outbox; pending
    /// messages show at once and stored credentials mean "connect now".
    fn restore(&self) {
        let creds = js::load(&self.creds_key);
        let saved = js::load(&self.state_key);
        let mut st = self.st.borrow_mut();
        if let (Some(id), Some(token)) = (get_str(&creds, "customer_id"), get_str(&creds, "token"))
        {
            st.creds = Some(Creds { id, token });
            st.wanted = true;
        }
        st.seen = get_uint(&saved, "seen").unwrap_or(0);
        let outbox = get(&saved, "outbox");
        if let Some(items) = outbox.dyn_ref::<Array>() {
            for item in items.iter() {
                if let (Some(client_id), Some(content)) =
                    (get_str(&item, "client_id"), get_str(&item, "content"))
                {
                    if let Some(el) = self.ui.bubble("customer", &content, Some(&client_id), None) {
                        el.class_list().add_1("pending").ok();
                        let _ = self.ui.list.append_child(&el);
                    }
                    st.outbox.push(Outgoing {
                        client_id,
                        content,
                        sent_on: 0,
                        posting: false,
                    });
                    st.wanted = true;
                }
            }
        }
    }

    fn save_state(&self) {
        let st = self.st.borrow();
        let o = Object::new();
        set(&o, "seen", &JsValue::from_f64(st.seen as f64));
        let items = Array::new();
        for m in &st.outbox {
            let item = Object::new();
            set_opt(&item, "client_id", Some(&m.client_id));
            set_opt(&item, "content", Some(&m.content));
            items.push(&item);
        }
        set(&o, "outbox", &items);
        js::store(&self.state_key, Some(&o));
    }

    fn save_creds(&self) {
        let st = self.st.borrow();
        match &st.creds {
            Some(c) => {
                let o = Object::new();
                set_opt(&o, "customer_id", Some(&c.id));
                set_opt(&o, "token", Some(&c.token));
                js::store(&self.creds_key, Some(&o));
            }
            None => js::store(&self.creds_key, None),
        }
    }

    async fn load_config(self: Rc<Self>) {
        let Ok(reply) = js::request("GET", &self.url("/chat/api/widget/config/"), None, None).await
        else {
            return;
        };
        if reply.status != 200 {
            return;
        }
        let cfg = &reply.body;
        let ui = &self.ui;
        if let Some(title) = get_str(cfg, "title").filter(|t| !t.is_empty()) {
            ui.title.set_text_content(Some(&title));
            let _ = ui.panel.set_attribute("aria-label", &title);
        }
        if let Some(text) = get_str(cfg, "welcome_message").filter(|t| !t.is_empty()) {
            ui.welcome.set_text_content(Some(&text));
            ui.welcome.remove_attribute("hidden").ok();
        }
        let style = ui.host.style();
        if let Some(c) = get_str(cfg, "primary_color") {
            let _ = style.set_property("--dc-p", &c);
        }
        if let Some(c) = get_str(cfg, "text_color") {
            let _ = style.set_property("--dc-t", &c);
        }
        if let Some(p) = get_str(cfg, "position") {
            let _ = ui.host.set_attribute("data-position", &p);
        }
        if let Some(n) = get_uint(cfg, "max_message_length").filter(|n| *n > 0) {
            let n = n.min(u64::from(u32::MAX)) as u32;
            self.max_len.set(n);
            let _ = ui.input.set_attribute("maxlength", &js::uint(n.into()));
        }
    }

    fn set_open(self: &Rc<Self>, open: bool) {
        {
            let mut st = self.st.borrow_mut();
            if st.open == open {
                return;
            }
            st.open = open;
            if open {
                st.wanted = true;
            }
        }
        self.ui.show_panel(open);
        if open {
            self.mark_seen();
            self.tick();
        } else {
            let _ = self.ui.launcher.focus();
        }
    }

    /// The panel is open: everything on screen has been seen.
    fn mark_seen(&self) {
        let changed = {
            let mut st = self.st.borrow_mut();
            let last = st.last_seq();
            let changed = st.seen != last || st.unread != 0;
            st.seen = last;
            st.unread = 0;
            changed
        };
        if changed {
            self.ui.set_unread(0);
            self.save_state();
        }
    }

    /// Moves towards "session started and socket open", whichever step is
    /// missing; called on open, send, timers and reconnects.
    fn tick(self: &Rc<Self>) {
        let (ready, start) = {
            let st = self.st.borrow();
            (st.ready, !st.ready && !st.starting && st.wanted)
        };
        if start {
            spawn_local(self.clone().start_session());
        } else if ready && self.st.borrow().ws.is_none() {
            self.connect();
        }
    }

    /// `POST /chat/api/chat/start/`, resuming stored credentials if any and
    /// falling back step by step when the server refuses what we offer.
    async fn start_session(self: Rc<Self>) {
        self.st.borrow_mut().starting = true;
        self.ui.set_status("Connecting…");
        loop {
            let body = Object::new();
            {
                let st = self.st.borrow();
                set_opt(&body, "name", st.name.as_deref());
                set_opt(&body, "email", st.email.as_deref());
                match &st.creds {
                    Some(c) => {
                        set_opt(&body, "customer_id", Some(&c.id));
                        set_opt(&body, "token", Some(&c.token));
                    }
                    None => set_opt(&body, "customer_id", st.preset_id.as_deref()),
                }
            }
            let reply = js::request(
                "POST",
                &self.url("/chat/api/chat/start/"),
                None,
                Some(&body),
            )
            .await;
            match reply {
                Ok(r) if r.status == 200 && self.started(&r.body) => break,
                Ok(r) if (400..500).contains(&r.status) && r.status != 408 && r.status != 429 => {
                    if !self.drop_offer(r.status) {
                        // Nothing left to drop: the server refuses a bare
                        // start. Keep trying, slowly.
                        self.ui.set_status("Chat unavailable");
                        self.st.borrow_mut().starting = false;
                        self.schedule_retry();
                        return;
                    }
                }
                _ => {
                    self.ui.set_status("Offline");
                    self.st.borrow_mut().starting = false;
                    self.schedule_retry();
                    return;
                }
            }
        }
        self.st.borrow_mut().starting = false;
        self.tick();
    }

    /// After a 4xx from start: forgets what the server most likely refused.
    /// Auth failures point at the stored credentials, then the page's
    /// customerId; validation failures at name/email first. `false` when
    /// there is nothing left to drop.
    fn drop_offer(&self, status: u16) -> bool {
        let auth = matches!(status, 401 | 403 | 404);
        let mut st = self.st.borrow_mut();
        let profile = st.name.is_some() || st.email.is_some();
        if !auth && profile {
            st.name = None;
            st.email = None;
        } else if st.creds.is_some() {
            drop(st);
            self.forget_conversation();
        } else if st.preset_id.is_some() {
            st.preset_id = None;
        } else if profile {
            st.name = None;
            st.email = None;
        } else {
            return false;
        }
        true
    }

    /// Takes a start response: credentials, history, closed state.
    fn started(&self, body: &JsValue) -> bool {
        let (Some(id), Some(token)) = (get_str(body, "customer_id"), get_str(body, "token")) else {
            return false;
        };
        let same = self.st.borrow().creds.as_ref().is_some_and(|c| c.id == id);
        if !same {
            self.forget_conversation();
        }
        {
            let mut st = self.st.borrow_mut();
            st.creds = Some(Creds { id, token });
            st.ready = true;
            st.attempts = 0;
        }
        self.save_creds();
        self.show_closed(get_str(body, "status").as_deref() == Some("closed"));
        if let Some(messages) = get(body, "messages").dyn_ref::<Array>() {
            for m in messages.iter() {
                self.add_message(&m);
            }
        }
        self.ui.scroll_to_end();
        true
    }

    /// Drops the current conversation (credentials refused): clears the
    /// stored credentials and the shown history; unsent messages stay in
    /// the outbox and go to the next conversation.
    fn forget_conversation(&self) {
        let ws = {
            let mut st = self.st.borrow_mut();
            st.creds = None;
            st.ready = false;
            st.live = false;
            st.seqs.clear();
            st.seen = 0;
            st.unread = 0;
            for m in &mut st.outbox {
                m.sent_on = 0;
            }
            st.ws.take()
        };
        if let Some(ws) = ws {
            let _ = ws.close();
        }
        js::store(&self.creds_key, None);
        self.ui.set_unread(0);
        // Keep the unsent bubbles, drop the stored ones.
        let mut cur = self.ui.list.last_element_child();
        while let Some(c) = cur {
            cur = c.previous_element_sibling();
            if c.has_attribute("data-seq") {
                c.remove();
            }
        }
        self.show_closed(false);
        self.save_state();
    }

    fn show_closed(&self, closed: bool) {
        let _ = self.ui.note.toggle_attribute_with_force("hidden", !closed);
    }

    fn connect(self: &Rc<Self>) {
        let url = {
            let st = self.st.borrow();
            let Some(c) = &st.creds else { return };
            let id = String::from(js_sys::encode_uri_component(&c.id));
            cat(&[&self.ws_base, "/ws/chat/", &id, "/"])
        };
        let Ok(ws) = WebSocket::new(&url) else {
            self.schedule_retry();
            return;
        };
        if let Some(cb) = &*self.cb.borrow() {
            ws.set_onopen(Some(&cb.open));
            ws.set_onmessage(Some(&cb.message));
            ws.set_onclose(Some(&cb.close));
        }
        let mut st = self.st.borrow_mut();
        st.ws = Some(ws);
        st.live = false;
        st.generation = st.generation.wrapping_add(1).max(1);
    }

    /// The socket an event belongs to, if it is still the current one.
    fn current(&self, e: &Event) -> Option<WebSocket> {
        let ws = self.st.borrow().ws.clone()?;
        (e.target().map(JsValue::from) == Some(JsValue::from(ws.clone()))).then_some(ws)
    }

    fn on_open(self: &Rc<Self>, e: &Event) {
        let Some(ws) = self.current(e) else { return };
        let auth = Object::new();
        {
            let mut st = self.st.borrow_mut();
            let Some(c) = &st.creds else { return };
            set_opt(&auth, "type", Some("auth"));
            set_opt(&auth, "token", Some(&c.token));
            set(&auth, "after", &JsValue::from_f64(st.last_seq() as f64));
            st.live = true;
            st.attempts = 0;
        }
        let _ = ws.send_with_str(&js::stringify(&auth));
        self.ui.set_status("Connected");
        self.flush();
    }

    fn on_message(self: &Rc<Self>, e: &Event) {
        if self.current(e).is_none() {
            return;
        }
        let Some(text) = e.unchecked_ref::<MessageEvent>().data().as_string() else {
            return;
        };
        match frame::decode(&js::parse(&text)) {
            Frame::Message(m) => self.show_message(m),
            Frame::Error {
                client_id: Some(cid),
                retryable: true,
                retry_after_ms,
                ..
            } => self.resend_later(&cid, retry_after_ms.unwrap_or(0)),
            Frame::Error {
                client_id: Some(cid),
                message,
                ..
            } => self.fail(&cid, message),
            Frame::Session { closed } => self.show_closed(closed),
            // Typing and receipts: shown by the widget's rewrite (issue 8).
            Frame::Error { .. } | Frame::Typing { .. } | Frame::Read { .. } | Frame::Other => {}
        }
    }

    fn on_close(self: &Rc<Self>, e: &Event) {
        if self.current(e).is_none() {
            return;
        }
        {
            let mut st = self.st.borrow_mut();
            st.ws = None;
            st.live = false;
        }
        if e.unchecked_ref::<CloseEvent>().code() == CREDENTIALS_REFUSED {
            // The token no longer opens this conversation: start afresh.
            self.forget_conversation();
        } else {
            self.ui.set_status("Reconnecting…");
            self.flush();
        }
        self.schedule_retry();
    }

    /// Arms the backoff timer: 1 s, 2 s, 4 s … 30 s, each ±25 % so that a
    /// restarted server is not hit by every visitor at once.
    fn schedule_retry(&self) {
        self.schedule_retry_after(0.0);
    }

    /// [`Self::schedule_retry`], waiting at least `at_least_ms`.
    fn schedule_retry_after(&self, at_least_ms: f64) {
        let delay = {
            let mut st = self.st.borrow_mut();
            if st.timer.is_some() {
                return;
            }
            let base = (BACKOFF_MIN_MS * f64::from(1u32 << st.attempts.min(5))).min(BACKOFF_MAX_MS);
            st.attempts = st.attempts.saturating_add(1);
            (base * (0.75 + js_sys::Math::random() * 0.5))
                .min(BACKOFF_MAX_MS)
                .max(at_least_ms)
        };
        let (Some(window), Some(cb)) = (web_sys::window(), &*self.cb.borrow()) else {
            return;
        };
        if let Ok(id) =
            window.set_timeout_with_callback_and_timeout_and_arguments_0(&cb.timer, delay as i32)
        {
            self.st.borrow_mut().timer = Some(id);
        }
    }

    /// Cancels a pending backoff and retries at once (the browser is back
    /// online).
    fn retry_now(self: &Rc<Self>) {
        if let (Some(id), Some(window)) = (self.st.borrow_mut().timer.take(), web_sys::window()) {
            window.clear_timeout_with_handle(id);
        }
        self.on_timer();
    }

    fn on_timer(self: &Rc<Self>) {
        let poll = {
            let mut st = self.st.borrow_mut();
            st.timer = None;
            st.ready && !st.live && st.attempts >= 2
        };
        if poll {
            // The socket keeps failing (a proxy may block it): fetch missed
            // replies over HTTP meanwhile.
            spawn_local(self.clone().poll_history());
        }
        self.flush();
        self.tick();
    }

    async fn poll_history(self: Rc<Self>) {
        let (url, token) = {
            let st = self.st.borrow();
            let Some(c) = &st.creds else { return };
            let id = String::from(js_sys::encode_uri_component(&c.id));
            let after = js::uint(st.last_seq());
            (
                cat(&[
                    &self.api,
                    "/chat/api/chat/",
                    &id,
                    "/history/?after=",
                    &after,
                ]),
                c.token.clone(),
            )
        };
        if let Ok(r) = js::request("GET", &url, Some(&token), None).await {
            if r.status == 200 {
                if let Some(messages) = get(&r.body, "messages").dyn_ref::<Array>() {
                    for m in messages.iter() {
                        self.add_message(&m);
                    }
                }
            }
        }
    }

    /// Sends what the outbox holds: over the socket when it is live (once
    /// per socket), else by HTTP POST (one request per message at a time).
    fn flush(self: &Rc<Self>) {
        let mut posts = Vec::new();
        {
            let mut st = self.st.borrow_mut();
            if !st.ready {
                return;
            }
            let generation = st.generation;
            let ws = if st.live { st.ws.clone() } else { None };
            for m in &mut st.outbox {
                match &ws {
                    Some(ws) if m.sent_on != generation => {
                        let frame = Object::new();
                        set_opt(&frame, "type", Some("message"));
                        set_opt(&frame, "content", Some(&m.content));
                        set_opt(&frame, "client_id", Some(&m.client_id));
                        if ws.send_with_str(&js::stringify(&frame)).is_ok() {
                            m.sent_on = generation;
                        }
                    }
                    None if !m.posting => {
                        m.posting = true;
                        posts.push((m.client_id.clone(), m.content.clone()));
                    }
                    _ => {}
                }
            }
        }
        for (cid, content) in posts {
            spawn_local(self.clone().post(cid, content));
        }
    }

    /// The HTTP fallback for one message.
    async fn post(self: Rc<Self>, client_id: String, content: String) {
        let Some(token) = self.st.borrow().creds.as_ref().map(|c| c.token.clone()) else {
            return;
        };
        let body = Object::new();
        {
            let st = self.st.borrow();
            set_opt(
                &body,
                "customer_id",
                st.creds.as_ref().map(|c| c.id.as_str()),
            );
        }
        set_opt(&body, "content", Some(&content));
        set_opt(&body, "client_id", Some(&client_id));
        let reply = js::request(
            "POST",
            &self.url("/chat/api/chat/message/"),
            Some(&token),
            Some(&body),
        )
        .await;
        for m in &mut self.st.borrow_mut().outbox {
            if m.client_id == client_id {
                m.posting = false;
            }
        }
        match reply {
            Ok(r) if r.status == 200 || r.status == 201 => self.add_message(&r.body),
            Ok(r) if r.status == 401 || r.status == 403 => {
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
            Ok(r) if (400..500).contains(&r.status) && r.status != 408 && r.status != 429 => {
                self.fail(&client_id, r.error_message());
            }
            _ => self.schedule_retry(),
        }
    }

    /// Sends the textarea's content.
    fn send_input(self: &Rc<Self>) {
        let content = self.ui.input.value();
        if content.trim().is_empty() {
            return;
        }
        if content.chars().count() > self.max_len.get() as usize {
            return;
        }
        self.ui.input.set_value("");
        self.ui.fit_input();
        let client_id = js::uuid();
        if let Some(el) = self.ui.bubble("customer", &content, Some(&client_id), None) {
            el.class_list().add_1("pending").ok();
            let _ = self.ui.list.append_child(&el);
            self.ui.scroll_to_end();
        }
        {
            let mut st = self.st.borrow_mut();
            st.outbox.push(Outgoing {
                client_id,
                content,
                sent_on: 0,
                posting: false,
            });
            st.wanted = true;
        }
        self.save_state();
        self.flush();
        self.tick();
    }

    /// Shows a stored message (from start, the socket, history or a POST
    /// answer) unless its seq is already on screen; replaces the pending
    /// bubble with the same client_id.
    fn add_message(&self, v: &JsValue) {
        if let Some(m) = frame::message(v) {
            self.show_message(m);
        }
    }

    /// A transient refusal (the server is busy or restarting): keep the
    /// message and send it again after the backoff.
    /// Keeps a refused-but-retryable message and resends it after the
    /// backoff, or after `at_least_ms` when the server said so.
    fn resend_later(&self, client_id: &str, at_least_ms: u64) {
        for m in &mut self.st.borrow_mut().outbox {
            if m.client_id == client_id {
                m.sent_on = 0;
            }
        }
        self.schedule_retry_after(at_least_ms as f64);
    }

    fn show_message(&self, m: Message) {
        let (dirty, unread) = {
            let mut st = self.st.borrow_mut();
            let Err(at) = st.seqs.binary_search(&m.seq) else {
                return;
            };
            st.seqs.insert(at, m.seq);
            let before = st.outbox.len();
            if let Some(cid) = &m.client_id {
                st.outbox.retain(|o| &o.client_id != cid);
            }
            let mut dirty = st.outbox.len() != before;
            let mut unread = None;
            if m.sender != "customer" && m.seq > st.seen {
                if st.open {
                    st.seen = m.seq;
                    dirty = true;
                } else {
                    st.unread += 1;
                    unread = Some(st.unread);
                }
            }
            (dirty, unread)
        };
        if let Some(old) = m.client_id.as_deref().and_then(|cid| self.ui.pending(cid)) {
            old.remove();
        }
        let follow = m.sender == "customer" || self.ui.at_end();
        let name = if m.sender == "agent" {
            m.agent_name.as_deref()
        } else {
            None
        };
        if let Some(el) = self
            .ui
            .bubble(m.sender, &m.content, m.client_id.as_deref(), name)
        {
            let _ = el.set_attribute("data-seq", &js::uint(m.seq));
            self.ui.insert_ordered(&el, m.seq);
        }
        if follow {
            self.ui.scroll_to_end();
        }
        if let Some(n) = unread {
            self.ui.set_unread(n);
        }
        if dirty {
            self.save_state();
        }
    }

    /// The server rejected a message: mark its bubble failed, never retry it.
    fn fail(&self, client_id: &str, reason: Option<String>) {
        self.st
            .borrow_mut()
            .outbox
            .retain(|o| o.client_id != client_id);
        self.save_state();
        let Some(el) = self.ui.pending(client_id) else {
            return;
        };
        let classes = el.class_list();
        let _ = classes.remove_1("pending");
        let _ = classes.add_1("failed");
        if let Ok(err) = self.ui.doc.create_element("div") {
            err.set_class_name("dc-err");
            err.set_text_content(Some(reason.as_deref().unwrap_or("Not sent")));
            let _ = el.append_child(&err);
        }
    }
}
