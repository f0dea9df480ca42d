//! The conversation: session start/resume (with identity), the outbox of
//! unacknowledged messages and its persistence, showing messages in seq
//! order, unread count and read receipts, typing, availability and the
//! offline form. The wire (socket, POST, long polling) is in `transport`,
//! the connection's state machine in `state`.
//!
//! Everything runs on the page's one thread; the state sits in a `RefCell`
//! whose borrows never span an `await` or a call back into the DOM that
//! could re-enter us. A one-second heartbeat ([`Widget::tick`]) drives every
//! timeout (acknowledgements, pings, backoff, typing, socket probes), so no
//! timer handles need tracking.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::{Array, Function, Object};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Event, EventTarget, HtmlElement, KeyboardEvent, WebSocket};

use crate::frame::{self, Message};
use crate::i18n::Key;
use crate::js::{self, get, get_str, get_uint, set, set_opt};
use crate::outbox::{Outbox, State as Sending};
use crate::state::{Conn, Machine, Mode};
use crate::ui::Ui;

/// Error codes that mean "these credentials no longer open a
/// conversation": the only HTTP answers (besides socket close 4401) after
/// which the stored credentials are forgotten.
pub const CREDS_REFUSED: [&str; 2] = ["invalid_token", "unknown_customer"];
/// Codes after which resending the same content cannot succeed: no retry
/// button.
const CONTENT_REFUSED: [&str; 3] = ["empty_content", "content_too_long", "invalid_content"];

/// A conversation's public id and the token that opens it.
pub struct Creds {
    pub id: String,
    pub token: String,
}

/// What the page says about the visitor (snippet or `identify()`).
#[derive(Default, Clone)]
pub struct Identity {
    pub id: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub hash: Option<String>,
}

#[derive(Default)]
pub struct State {
    pub creds: Option<Creds>,
    pub who: Identity,
    /// Bumped by `identify()`/`shutdown()`: answers to older requests are
    /// dropped.
    pub epoch: u32,
    /// The start call succeeded for `creds`; history is shown.
    pub ready: bool,
    pub starting: bool,
    /// The visitor has shown interest (opened the panel, has stored
    /// credentials or unsent messages): worth a session.
    pub wanted: bool,
    pub config_done: bool,
    pub m: Machine,
    pub ws: Option<WebSocket>,
    /// When the current socket was created.
    pub ws_at: f64,
    /// The current socket answered (the machine is or was `Live` on it).
    pub ws_live: bool,
    /// A ping is out since then (0: none).
    pub ping_at: f64,
    /// Transport generation: bumped per socket and per switch to HTTP, so
    /// each outbox item goes out once per transport.
    pub generation: u32,
    pub retry_at: f64,
    pub attempts: u32,
    /// Next socket probe while on HTTP.
    pub probe_at: f64,
    pub polling: bool,
    pub ever_live: bool,
    /// Seqs on screen, sorted, with "sent by the visitor": never show one
    /// twice, count unread, find the first seq for paging.
    pub seqs: Vec<(u64, bool)>,
    pub has_more: bool,
    pub loading_older: bool,
    /// The visitor's own last read seq (server-side).
    pub read_seq: u64,
    pub agent_read: u64,
    /// A read receipt waits for the socket to go live.
    pub read_pending: bool,
    pub unread: u64,
    pub outbox: Outbox,
    pub open: bool,
    pub typing_active: bool,
    pub typing_sent_at: f64,
    pub last_input: f64,
    pub agent_typing_until: f64,
    pub available: bool,
    pub offline_mode: String,
    pub reply_time: String,
    /// The offline form is shown instead of the composer.
    pub form: bool,
    pub hide_launcher: bool,
    pub own_color: bool,
    pub own_position: bool,
}

impl State {
    pub fn last_seq(&self) -> u64 {
        self.seqs.last().map_or(0, |s| s.0)
    }
}

/// JS callbacks made once and reused for every socket, so a reconnect
/// allocates no closures and a stale socket's events are told apart by
/// their target.
pub struct Callbacks {
    pub open: Function,
    pub message: Function,
    pub close: Function,
}

pub struct Widget {
    pub api: String,
    creds_key: String,
    outbox_key: String,
    pub ui: Ui,
    pub st: RefCell<State>,
    /// `max_message_length` from the config, in characters.
    max_len: Cell<u32>,
    pub cb: RefCell<Option<Callbacks>>,
    emit: Function,
    /// `DEFMISChat.preview`: settings the dashboard's preview shows
    /// instead of the server's (an object), else undefined. A preview
    /// never starts a conversation.
    preview: JsValue,
}

/// Makes a JS function from a Rust closure that lives as long as the page.
pub fn callback<F: FnMut(Event) + 'static>(f: F) -> Function {
    Closure::<dyn FnMut(Event)>::new(f)
        .into_js_value()
        .unchecked_into()
}

fn listen(target: &EventTarget, kind: &str, f: &Function) {
    let _ = target.add_event_listener_with_callback(kind, f);
}

/// An event handler: a plain function pointer (the handlers capture
/// nothing), so all listeners share one closure type and no vtables.
type Handler = fn(&Rc<Widget>, Event);

/// Makes a closure a [`Handler`] (a non-capturing closure coerces).
fn handler(f: Handler) -> Handler {
    f
}

/// `spawn_local` through one boxed future type: one copy of the executor's
/// task code instead of one per async fn.
pub fn spawn(f: impl core::future::Future<Output = ()> + 'static) {
    spawn_boxed(Box::pin(f));
}

fn spawn_boxed(f: core::pin::Pin<Box<dyn core::future::Future<Output = ()>>>) {
    wasm_bindgen_futures::spawn_local(f);
}

/// `parts.concat()`, without the generic join (one loop, one allocation).
pub fn cat(parts: &[&str]) -> String {
    let mut s = String::with_capacity(parts.iter().map(|p| p.len()).fold(0, usize::wrapping_add));
    for p in parts {
        s.push_str(p);
    }
    s
}

/// Reconnect delay for the `attempts`-th retry: 1 s, 2 s, 4 s … 30 s, each
/// ±25 % so a restarted server is not hit by every visitor at once.
pub fn backoff(attempts: u32) -> f64 {
    let base = (1000.0 * f64::from(1u32 << attempts.min(5))).min(30000.0);
    base * (0.75 + js_sys::Math::random() * 0.5)
}

/// Whether the browser believes it is online.
pub fn online() -> bool {
    web_sys::window().is_none_or(|w| w.navigator().on_line())
}

fn page_visible() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .is_none_or(|d| d.visibility_state() == web_sys::VisibilityState::Visible)
}

impl Widget {
    /// Mounts the panel into the loader's shadow root and starts.
    pub fn start(
        host: HtmlElement,
        api: String,
        who: Identity,
        mode: Mode,
        lang: crate::i18n::Lang,
        emit: Function,
        opts: &JsValue,
    ) -> Option<Rc<Widget>> {
        let ui = Ui::mount(host, lang)?;
        // The dashboard's preview keeps nothing of a real visitor's.
        let preview = get(opts, "preview");
        let key = if preview.is_object() {
            cat(&[&api, "#preview"])
        } else {
            api.clone()
        };
        let w = Rc::new(Widget {
            creds_key: cat(&["defmis-chat:", &key]),
            outbox_key: cat(&["defmis-chat-outbox:", &key]),
            api,
            ui,
            st: RefCell::new(State {
                who,
                m: Machine::new(mode),
                available: true,
                hide_launcher: get(opts, "hideLauncher").is_truthy(),
                own_color: get(opts, "primaryColor").is_truthy(),
                own_position: get(opts, "position").is_truthy(),
                ..State::default()
            }),
            max_len: Cell::new(4000),
            cb: RefCell::new(None),
            emit,
            preview,
        });
        w.wire();
        w.restore();
        spawn(w.clone().load_config());
        if let Some(window) = web_sys::window() {
            let _ = window.set_interval_with_callback_and_timeout_and_arguments_0(
                &w.bind(handler(|w, _| w.tick())),
                1000,
            );
        }
        w.update_status();
        w.tick();
        w.emit("ready", &JsValue::UNDEFINED);
        Some(w)
    }

    pub fn url(&self, path: &str) -> String {
        cat(&[&self.api, path])
    }

    pub fn emit(&self, event: &str, data: &JsValue) {
        let _ = self
            .emit
            .call2(&JsValue::NULL, &JsValue::from_str(event), data);
    }

    /// A JS function calling `f` with this widget: every callback the
    /// widget hands to the browser is this one closure type.
    fn bind(self: &Rc<Self>, f: Handler) -> Function {
        let w = self.clone();
        callback(move |e| f(&w, e))
    }

    fn wire(self: &Rc<Self>) {
        let ui = &self.ui;
        let on = |target: &EventTarget, kind: &str, f: Handler| {
            listen(target, kind, &self.bind(f));
        };
        on(ui.launcher.as_ref(), "click", handler(|w, _| w.toggle()));
        on(
            ui.close.as_ref(),
            "click",
            handler(|w, _| w.set_open(false)),
        );
        on(ui.send.as_ref(), "click", handler(|w, _| w.send_input()));
        on(ui.input.as_ref(), "input", handler(|w, _| w.typed()));
        on(
            ui.form.as_ref(),
            "submit",
            handler(|w, e| {
                e.prevent_default();
                spawn(w.clone().submit_form());
            }),
        );
        on(
            ui.list.as_ref(),
            "click",
            handler(|w, e| {
                let Some(t) = e
                    .target()
                    .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                else {
                    return;
                };
                if t.class_list().contains("dc-retry") {
                    if let Some(cid) = t
                        .closest(".dc-msg")
                        .ok()
                        .flatten()
                        .and_then(|m| m.get_attribute("data-client-id"))
                    {
                        w.retry(&cid);
                    }
                }
            }),
        );
        on(
            ui.list.as_ref(),
            "scroll",
            handler(|w, _| {
                if w.ui.list.scroll_top() < 40 {
                    w.load_older();
                }
            }),
        );
        on(
            ui.host.as_ref(),
            "keydown",
            handler(|w, e| {
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
            on(window.as_ref(), "online", handler(|w, _| w.went_online()));
            on(window.as_ref(), "offline", handler(|w, _| w.went_offline()));
            if let Some(doc) = window.document() {
                on(
                    doc.as_ref(),
                    "visibilitychange",
                    handler(|w, _| {
                        if page_visible() {
                            w.check();
                            w.mark_read();
                        }
                    }),
                );
            }
        }
        let open = self.bind(handler(|w, e| w.on_open(&e)));
        let message = self.bind(handler(|w, e| w.on_message(&e)));
        let close = self.bind(handler(|w, e| w.on_close(&e)));
        *self.cb.borrow_mut() = Some(Callbacks {
            open,
            message,
            close,
        });
    }

    /// Loads the stored credentials and outbox, if they belong to the page's
    /// visitor (the same `customerId`, or none on both sides): on a shared
    /// computer the previous visitor's conversation is not shown.
    fn restore(&self) {
        let creds = js::load(&self.creds_key);
        let outbox = js::load(&self.outbox_key);
        let mut st = self.st.borrow_mut();
        let site = st.who.id.clone();
        if get_str(&creds, "site") == site {
            if let (Some(id), Some(token)) =
                (get_str(&creds, "customer_id"), get_str(&creds, "token"))
            {
                st.creds = Some(Creds { id, token });
                st.wanted = true;
            }
        }
        if get_str(&outbox, "site") != site {
            return;
        }
        if let Some(items) = get(&outbox, "items").dyn_ref::<Array>() {
            for item in items.iter() {
                if let (Some(client_id), Some(content)) =
                    (get_str(&item, "client_id"), get_str(&item, "content"))
                {
                    let failed = get(&item, "failed").is_truthy();
                    self.pending_bubble(&client_id, &content, failed);
                    st.outbox.push(client_id.clone(), content);
                    if failed {
                        st.outbox.fail(&client_id);
                    }
                    st.wanted = true;
                }
            }
        }
    }

    fn pending_bubble(&self, client_id: &str, content: &str, failed: bool) {
        if let Some(el) = self.ui.bubble("customer", content, Some(client_id), None) {
            if failed {
                self.ui.set_state(&el, "failed", None, true);
            } else {
                self.ui.set_state(&el, "sending", None, false);
            }
            let _ = self.ui.list.append_child(&el);
        }
    }

    /// Persists the outbox, keyed by `client_id`, with the page's
    /// `customerId` beside it.
    pub fn save_outbox(&self) {
        let st = self.st.borrow();
        if st.outbox.items.is_empty() {
            js::store(&self.outbox_key, None);
            return;
        }
        let o = Object::new();
        set_opt(&o, "site", st.who.id.as_deref());
        let items = Array::new();
        for m in &st.outbox.items {
            let item = Object::new();
            set_opt(&item, "client_id", Some(&m.client_id));
            set_opt(&item, "content", Some(&m.content));
            if m.state == Sending::Failed {
                set(&item, "failed", &JsValue::TRUE);
            }
            items.push(&item);
        }
        set(&o, "items", &items);
        js::store(&self.outbox_key, Some(&o));
    }

    fn save_creds(&self) {
        let st = self.st.borrow();
        match &st.creds {
            Some(c) => {
                let o = Object::new();
                set_opt(&o, "customer_id", Some(&c.id));
                set_opt(&o, "token", Some(&c.token));
                set_opt(&o, "site", st.who.id.as_deref());
                js::store(&self.creds_key, Some(&o));
            }
            None => js::store(&self.creds_key, None),
        }
    }

    async fn load_config(self: Rc<Self>) {
        let cfg = if self.preview.is_object() {
            Some(self.preview.clone())
        } else {
            let url = self.url("/chat/api/widget/config/");
            let reply = js::request("GET", &url, None, None, 15000).await;
            reply.ok().filter(|r| r.status == 200).map(|r| r.body)
        };
        if let Some(cfg) = cfg.as_ref() {
            let ui = &self.ui;
            if let Some(title) = get_str(cfg, "title").filter(|t| !t.is_empty()) {
                ui.title.set_text_content(Some(&title));
                let _ = ui.panel.set_attribute("aria-label", &title);
            }
            if let Some(text) = get_str(cfg, "welcome_message").filter(|t| !t.is_empty()) {
                ui.welcome.set_text_content(Some(&text));
                ui.show(&ui.welcome, true);
            }
            let style = ui.host.style();
            let (own_color, own_position) = {
                let st = self.st.borrow();
                (st.own_color, st.own_position)
            };
            if let Some(c) = get_str(cfg, "primary_color").filter(|_| !own_color) {
                let _ = style.set_property("--dc-p", &c);
            }
            if let Some(c) = get_str(cfg, "text_color").filter(|_| !own_color) {
                let _ = style.set_property("--dc-t", &c);
            }
            if let Some(p) = get_str(cfg, "position").filter(|_| !own_position) {
                let _ = ui.host.set_attribute("data-position", &p);
            }
            if let Some(n) = get_uint(cfg, "max_message_length").filter(|n| *n > 0) {
                let n = n.min(u64::from(u32::MAX)) as u32;
                self.max_len.set(n);
                let _ = ui.input.set_attribute("maxlength", &js::uint(n.into()));
                let _ = ui.form_msg.set_attribute("maxlength", &js::uint(n.into()));
            }
            let mut st = self.st.borrow_mut();
            st.available = get(cfg, "available").as_bool().unwrap_or(true);
            st.offline_mode = get_str(cfg, "offline_mode").unwrap_or_default();
            st.reply_time = get_str(cfg, "reply_time").unwrap_or_default();
        }
        self.st.borrow_mut().config_done = true;
        self.apply_availability();
        self.tick();
    }

    /// Shows what the site chose for "no agent available": the offline
    /// form (only before a conversation exists), the expected reply time,
    /// or no launcher.
    pub fn apply_availability(&self) {
        let (form, reply, hide) = {
            let mut st = self.st.borrow_mut();
            let away = !st.available;
            let has_conv = st.creds.is_some() || !st.outbox.items.is_empty();
            let mode = st.offline_mode.clone();
            st.form = away && (mode == "form" || mode.is_empty()) && !has_conv;
            let reply = (away && mode == "async" && !st.reply_time.is_empty())
                .then(|| cat(&[self.ui.t(Key::ReplyWithin), &st.reply_time]));
            let hide = st.hide_launcher || (away && mode == "hide" && !st.open && !has_conv);
            (st.form, reply, hide)
        };
        let ui = &self.ui;
        ui.show(&ui.form, form);
        ui.show(&ui.compose, !form);
        ui.show(&ui.reply, reply.is_some());
        ui.reply.set_text_content(reply.as_deref());
        ui.show(&ui.launcher, !hide);
    }

    pub fn toggle(self: &Rc<Self>) {
        let open = self.st.borrow().open;
        self.set_open(!open);
    }

    pub fn set_open(self: &Rc<Self>, open: bool) {
        {
            let mut st = self.st.borrow_mut();
            if st.open == open || st.m.conn == Conn::Closed {
                return;
            }
            st.open = open;
            if open {
                st.wanted = true;
            }
        }
        self.ui.show_panel(open);
        self.emit(if open { "open" } else { "close" }, &JsValue::UNDEFINED);
        if open {
            self.mark_read();
            self.tick();
        }
    }

    /// The status line for the connection state.
    pub fn update_status(&self) {
        let (key, name) = {
            let st = self.st.borrow();
            let key = match st.m.conn {
                Conn::Connecting | Conn::Authenticating if st.ever_live => Key::Reconnecting,
                Conn::Connecting | Conn::Authenticating => Key::Connecting,
                Conn::Live | Conn::FallbackHttp => Key::Connected,
                Conn::Offline => Key::Offline,
                Conn::Closed => Key::Unavailable,
            };
            (key, st.m.name())
        };
        self.ui.set_status(key, name);
    }

    /// The 1 s heartbeat, also called after every event: moves towards
    /// "session started, transport working, outbox empty".
    pub fn tick(self: &Rc<Self>) {
        let now = js::now();
        let (start, kill, ping, connect, poll, back, stop_typing, hide_typing) = {
            let mut st = self.st.borrow_mut();
            let conn = st.m.conn;
            if conn == Conn::Closed {
                return;
            }
            let stop_typing = st.typing_active && now - st.last_input > 5000.0;
            let hide_typing = st.agent_typing_until > 0.0 && now > st.agent_typing_until;
            if hide_typing {
                st.agent_typing_until = 0.0;
            }
            let back = conn == Conn::Offline && now >= st.retry_at && online();
            let start = !st.ready
                && st.wanted
                && st.config_done
                && !st.starting
                && !st.form
                && !self.preview.is_object()
                && conn != Conn::Offline
                && now >= st.retry_at;
            let (mut kill, mut ping, mut connect) = (false, false, false);
            if st.ready {
                if st.ws.is_some() {
                    if !st.ws_live {
                        kill = now - st.ws_at > 10000.0;
                    } else if st.ping_at > 0.0 {
                        kill = now - st.ping_at > 3000.0;
                    } else {
                        ping = st.outbox.overdue(now);
                    }
                } else if st.m.may_open_socket() {
                    let due = if conn == Conn::FallbackHttp {
                        st.probe_at
                    } else {
                        st.retry_at
                    };
                    connect = now >= due;
                }
            }
            let poll = st.ready && conn == Conn::FallbackHttp && !st.polling;
            (
                start,
                kill,
                ping,
                connect,
                poll,
                back,
                stop_typing,
                hide_typing,
            )
        };
        if back {
            self.went_online();
            return;
        }
        if start {
            spawn(self.clone().start_session());
        }
        if kill {
            self.socket_died(None);
        }
        if ping {
            self.ping();
        }
        if connect {
            self.connect();
        }
        if poll {
            spawn(self.clone().poll_loop());
        }
        self.flush();
        if stop_typing {
            self.send_typing(false);
        }
        if hide_typing {
            self.ui.show(&self.ui.typing, false);
        }
    }

    /// The transport may be silently dead (page visible again, network
    /// back): ping a live socket, retry everything else now.
    pub fn check(self: &Rc<Self>) {
        let live = {
            let mut st = self.st.borrow_mut();
            st.retry_at = 0.0;
            st.attempts = 0;
            st.ws_live
        };
        if live {
            self.ping();
        }
        self.tick();
    }

    fn went_online(self: &Rc<Self>) {
        {
            let mut st = self.st.borrow_mut();
            st.m.online();
            st.attempts = 0;
            // Jittered, so a network coming back for a whole office does
            // not reconnect every widget in the same millisecond.
            st.retry_at = js::now() + js_sys::Math::random() * 1000.0;
            st.probe_at = st.retry_at;
            st.outbox.resend_all();
        }
        self.update_status();
        self.tick();
    }

    fn went_offline(self: &Rc<Self>) {
        self.drop_socket();
        self.st.borrow_mut().m.offline();
        self.update_status();
    }

    /// `POST /chat/api/chat/start/`, resuming stored credentials or the
    /// page's identity, and stepping back (with a console warning) when the
    /// server refuses what the page supplied.
    /// `body.context`: the page's address, referrer and time zone, for
    /// the agents' customer panel, read now (the page may have changed).
    /// The loader's `emit("context")` answers them (no page handler sees
    /// it).
    fn add_context(&self, body: &Object) {
        if let Ok(ctx) = self
            .emit
            .call2(&JsValue::NULL, &JsValue::from_str("context"), body)
        {
            set(body, "context", &ctx);
        }
    }

    async fn start_session(self: Rc<Self>) {
        let epoch = {
            let mut st = self.st.borrow_mut();
            st.starting = true;
            st.epoch
        };
        self.update_status();
        loop {
            let body = Object::new();
            {
                let st = self.st.borrow();
                set_opt(&body, "name", st.who.name.as_deref());
                set_opt(&body, "email", st.who.email.as_deref());
                match &st.creds {
                    Some(c) => {
                        set_opt(&body, "customer_id", Some(&c.id));
                        set_opt(&body, "token", Some(&c.token));
                    }
                    None => set_opt(&body, "customer_id", st.who.id.as_deref()),
                }
                if st.who.id.is_some() {
                    set_opt(&body, "customer_hash", st.who.hash.as_deref());
                }
            }
            self.add_context(&body);
            let reply = js::request(
                "POST",
                &self.url("/chat/api/chat/start/"),
                None,
                Some(&body),
                15000,
            )
            .await;
            if self.st.borrow().epoch != epoch {
                return;
            }
            match reply {
                Ok(r) if (r.status == 200 || r.status == 201) && self.started(&r.body) => break,
                Ok(r) if !r.retryable() && (400..500).contains(&r.status) => {
                    if !self.step_back(&r.code()) {
                        let mut st = self.st.borrow_mut();
                        st.starting = false;
                        st.retry_at = js::now() + 60000.0;
                        drop(st);
                        self.ui.set_status(Key::Unavailable, "refused");
                        return;
                    }
                }
                other => {
                    let mut st = self.st.borrow_mut();
                    st.starting = false;
                    let wait = match &other {
                        Ok(r) => r.retry_after_ms(),
                        Err(_) => 0.0,
                    };
                    st.retry_at = js::now() + backoff(st.attempts).max(wait);
                    st.attempts = st.attempts.saturating_add(1);
                    if other.is_err() && !online() {
                        st.m.offline();
                    }
                    drop(st);
                    self.update_status();
                    return;
                }
            }
        }
        self.st.borrow_mut().starting = false;
        self.update_status();
        self.tick();
    }

    /// After a final 4xx from start: drops what the server refused, saying
    /// so on the console. `false` when there is nothing left to drop.
    fn step_back(&self, code: &str) -> bool {
        let mut st = self.st.borrow_mut();
        if st.creds.is_some() && CREDS_REFUSED.contains(&code) {
            drop(st);
            self.forget_conversation();
            return true;
        }
        if st.who.id.is_some()
            && matches!(
                code,
                "invalid_identity" | "identity_required" | "invalid_customer_id"
            )
        {
            js::warn(&cat(&[
                "the server refused customerId/customerHash (",
                code,
                "); starting an anonymous conversation instead",
            ]));
            st.who.id = None;
            st.who.hash = None;
            st.creds = None;
            return true;
        }
        if st.who.name.is_some() || st.who.email.is_some() {
            js::warn(&cat(&[
                "the server refused customerName/customerEmail (",
                code,
                "); starting without them",
            ]));
            st.who.name = None;
            st.who.email = None;
            return true;
        }
        if st.creds.is_some() {
            drop(st);
            self.forget_conversation();
            return true;
        }
        false
    }

    /// Takes a start (or offline form) answer: credentials, the latest page
    /// of history, read marks, closed state.
    pub fn started(&self, body: &JsValue) -> bool {
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
            st.retry_at = 0.0;
            st.has_more = get(body, "has_more").as_bool().unwrap_or(false);
            st.read_seq = st.read_seq.max(get_uint(body, "read_seq").unwrap_or(0));
            st.agent_read = st
                .agent_read
                .max(get_uint(body, "agent_read_seq").unwrap_or(0));
        }
        self.save_creds();
        self.show_closed(get_str(body, "status").as_deref() == Some("closed"));
        self.add_messages(&get(body, "messages"), false);
        self.ui.scroll_to_end();
        self.apply_availability();
        true
    }

    /// Drops the current conversation (credentials refused, or a new
    /// identity): the stored credentials and the shown history go; unsent
    /// messages stay in the outbox and go to the next conversation.
    pub fn forget_conversation(&self) {
        self.drop_socket();
        {
            let mut st = self.st.borrow_mut();
            st.creds = None;
            st.ready = false;
            st.seqs.clear();
            st.has_more = false;
            st.read_seq = 0;
            st.agent_read = 0;
            st.unread = 0;
            st.outbox.resend_all();
            st.m.restart();
        }
        js::store(&self.creds_key, None);
        self.ui.clear(true);
        self.ui.set_unread(0);
        self.show_closed(false);
    }

    fn show_closed(&self, closed: bool) {
        self.ui.show(&self.ui.note, closed);
    }

    /// `identify()` at runtime: like a new page load with these values.
    pub fn identify(self: &Rc<Self>, who: Identity) {
        self.drop_socket();
        {
            let mut st = self.st.borrow_mut();
            st.epoch = st.epoch.wrapping_add(1);
            st.who = who;
            st.creds = None;
            st.ready = false;
            st.starting = false;
            st.seqs.clear();
            st.read_seq = 0;
            st.agent_read = 0;
            st.unread = 0;
            st.outbox = Outbox::default();
            st.wanted = st.open;
            let mode = st.m.mode;
            st.m = Machine::new(mode);
            st.retry_at = 0.0;
        }
        self.ui.clear(false);
        self.ui.set_unread(0);
        self.ui.show(&self.ui.host, true);
        self.show_closed(false);
        self.restore();
        self.apply_availability();
        self.update_status();
        self.tick();
    }

    /// `shutdown()`, for a site's logout: forgets the visitor (stored
    /// credentials and outbox) and removes the widget from view until the
    /// next `identify()`.
    pub fn shutdown(self: &Rc<Self>) {
        self.set_open(false);
        self.drop_socket();
        {
            let mut st = self.st.borrow_mut();
            st.epoch = st.epoch.wrapping_add(1);
            st.creds = None;
            st.ready = false;
            st.who = Identity::default();
            st.outbox = Outbox::default();
            st.seqs.clear();
            st.m.close();
        }
        js::store(&self.creds_key, None);
        js::store(&self.outbox_key, None);
        self.ui.clear(false);
        self.ui.set_unread(0);
        self.ui.show(&self.ui.host, false);
    }

    fn typed(self: &Rc<Self>) {
        self.ui.fit_input();
        let now = js::now();
        let send = {
            let mut st = self.st.borrow_mut();
            st.last_input = now;
            !st.typing_active || now - st.typing_sent_at > 2000.0
        };
        if send && !self.ui.input.value().is_empty() {
            self.send_typing(true);
        }
    }

    /// Sends the textarea's content.
    fn send_input(self: &Rc<Self>) {
        let content = self.ui.input.value();
        if content.trim().is_empty() || content.chars().count() > self.max_len.get() as usize {
            return;
        }
        self.ui.input.set_value("");
        self.ui.fit_input();
        if self.st.borrow().typing_active {
            self.send_typing(false);
        }
        let client_id = js::uuid();
        self.pending_bubble(&client_id, &content, false);
        self.ui.scroll_to_end();
        {
            let mut st = self.st.borrow_mut();
            st.outbox.push(client_id, content);
            st.wanted = true;
        }
        self.save_outbox();
        self.tick();
    }

    /// The retry button of a failed message.
    fn retry(self: &Rc<Self>, client_id: &str) {
        if !self.st.borrow_mut().outbox.retry(client_id) {
            return;
        }
        if let Some(el) = self.ui.pending(client_id) {
            self.ui.set_state(&el, "sending", None, false);
        }
        self.save_outbox();
        self.tick();
    }

    /// A transient refusal: keep the message, send it again after a pause
    /// (at least `retry_after_ms` when the server gave one).
    pub fn resend_later(&self, client_id: &str, at_least_ms: f64) {
        let mut st = self.st.borrow_mut();
        let wait = backoff(st.attempts.min(3)).max(at_least_ms);
        st.outbox.later(client_id, js::now() + wait);
    }

    /// A final refusal: the bubble shows why, with a retry button unless the
    /// content itself was refused.
    pub fn fail(&self, client_id: &str, code: &str, reason: Option<String>) {
        let content_refused = CONTENT_REFUSED.contains(&code);
        {
            let mut st = self.st.borrow_mut();
            if content_refused {
                st.outbox.remove(client_id);
            } else {
                st.outbox.fail(client_id);
            }
        }
        self.save_outbox();
        if let Some(el) = self.ui.pending(client_id) {
            self.ui
                .set_state(&el, "failed", reason.as_deref(), !content_refused);
        }
    }

    /// Shows every message of a JSON array.
    pub fn add_messages(&self, list: &JsValue, fresh: bool) {
        if let Some(messages) = list.dyn_ref::<Array>() {
            for m in messages.iter() {
                if let Some(m) = frame::message(&m) {
                    self.show_message(m, fresh);
                }
            }
        }
        self.after_messages();
    }

    /// Unread count, read receipt and "Seen" after new messages.
    pub fn after_messages(&self) {
        self.mark_read();
        let agent_read = self.st.borrow().agent_read;
        self.ui.place_seen(agent_read);
    }

    /// Shows a stored message (from start, the socket, history or a POST
    /// answer) unless its seq is already on screen; its acknowledgement
    /// takes the same client_id out of the outbox. `fresh`: it just arrived
    /// (the page hears a `message` event).
    pub fn show_message(&self, m: Message, fresh: bool) {
        let mine = m.sender == "customer";
        let acked = {
            let mut st = self.st.borrow_mut();
            let Err(at) = st.seqs.binary_search_by_key(&m.seq, |s| s.0) else {
                return;
            };
            st.seqs.insert(at, (m.seq, mine));
            if m.sender == "agent" {
                st.agent_typing_until = 0.0;
            }
            m.client_id.as_deref().is_some_and(|c| st.outbox.ack(c))
        };
        if acked {
            self.save_outbox();
        }
        if let Some(old) = m.client_id.as_deref().and_then(|cid| self.ui.pending(cid)) {
            old.remove();
        }
        if m.sender == "agent" {
            self.ui.show(&self.ui.typing, false);
        }
        // An older page keeps the reader where they are.
        let follow = !self.st.borrow().loading_older && (mine || self.ui.at_end());
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
            if mine {
                self.ui.set_state(&el, "sent", None, false);
            }
            if !m.attachment.is_empty() {
                // Drawn by the attachment module (`/static/js/chat-attach.js`),
                // which the loader fetches when the panel first opens: not
                // part of the widget's first download.
                let _ = el.set_attribute("data-att", &m.attachment);
            }
            self.ui.insert_ordered(&el, m.seq);
        }
        if follow {
            self.ui.scroll_to_end();
        }
        if fresh {
            let o = Object::new();
            set(&o, "seq", &JsValue::from_f64(m.seq as f64));
            set_opt(&o, "sender", Some(m.sender));
            set_opt(&o, "content", Some(&m.content));
            self.emit("message", &o);
        }
    }

    /// With the panel open on a visible page, everything shown is read:
    /// tells the server (receipt) and clears the badge; otherwise counts
    /// agent and bot messages after the visitor's read seq.
    pub fn mark_read(&self) {
        let (send, unread, changed) = {
            let mut st = self.st.borrow_mut();
            let last_other = st.seqs.iter().rev().find(|s| !s.1).map_or(0, |s| s.0);
            let mut send = None;
            if st.open && st.ready && page_visible() && last_other > st.read_seq {
                st.read_seq = last_other;
                send = Some(last_other);
            }
            let read = st.read_seq;
            let unread = st.seqs.iter().filter(|s| !s.1 && s.0 > read).count() as u64;
            let changed = unread != st.unread;
            st.unread = unread;
            (send, unread, changed)
        };
        if let Some(seq) = send {
            self.send_read(seq);
        }
        if changed {
            self.ui.set_unread(unread);
            self.emit("unread", &JsValue::from_f64(unread as f64));
        }
    }

    /// An agent typing frame: "Ann is typing…" for up to 6 s.
    pub fn agent_typing(&self, active: bool, name: Option<String>) {
        let until = if active { js::now() + 6000.0 } else { 0.0 };
        self.st.borrow_mut().agent_typing_until = until;
        if active {
            let name = name.filter(|n| !n.is_empty()).unwrap_or_default();
            self.ui
                .typing
                .set_text_content(Some(&cat(&[&name, self.ui.t(Key::IsTyping)])));
        }
        self.ui.show(&self.ui.typing, active);
    }

    pub fn agent_read(&self, seq: u64) {
        let upto = {
            let mut st = self.st.borrow_mut();
            st.agent_read = st.agent_read.max(seq);
            st.agent_read
        };
        self.ui.place_seen(upto);
    }

    pub fn set_available(&self, available: bool) {
        self.st.borrow_mut().available = available;
        self.apply_availability();
    }

    /// The offline form: `POST /chat/api/chat/offline/`; its 201 is a start
    /// answer, and the conversation continues from there.
    async fn submit_form(self: Rc<Self>) {
        let ui = &self.ui;
        let email = ui.form_email.value();
        let message = ui.form_msg.value();
        if email.trim().is_empty() || message.trim().is_empty() {
            ui.form_err.set_text_content(Some(ui.t(Key::NotSent)));
            ui.show(&ui.form_err, true);
            return;
        }
        let body = Object::new();
        let name = ui.form_name.value();
        set_opt(&body, "name", Some(name.trim()).filter(|n| !n.is_empty()));
        set_opt(&body, "email", Some(email.trim()));
        set_opt(&body, "message", Some(&message));
        {
            let mut st = self.st.borrow_mut();
            set_opt(&body, "customer_id", st.who.id.as_deref());
            if st.who.id.is_some() {
                set_opt(&body, "customer_hash", st.who.hash.as_deref());
            }
            st.wanted = true;
        }
        self.add_context(&body);
        let reply = js::request(
            "POST",
            &self.url("/chat/api/chat/offline/"),
            None,
            Some(&body),
            15000,
        )
        .await;
        match reply {
            Ok(r) if (r.status == 200 || r.status == 201) && self.started(&r.body) => {
                ui.form_msg.set_value("");
                ui.show(&ui.form_err, false);
                let _ = ui.input.focus();
                self.tick();
            }
            other => {
                let why = other.ok().and_then(|r| r.error_message());
                ui.form_err
                    .set_text_content(Some(why.as_deref().unwrap_or(ui.t(Key::NotSent))));
                ui.show(&ui.form_err, true);
            }
        }
    }
}
