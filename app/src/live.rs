//! The dashboard's live connection: one WebSocket to `/ws/admin/dashboard/`
//! that reconnects by itself. Only the browser opens it; on the server
//! [`use_live`] does nothing, so the rendered HTML and the hydrated page
//! agree.

use leptos::prelude::*;

use crate::protocol::{AgentClientFrame, AgentServerFrame};

/// Connection state shown to the agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LiveState {
    Connecting,
    Live,
    Reconnecting,
}

impl LiveState {
    /// The state's name in the page (`.live-badge[data-state]`).
    pub fn as_str(self) -> &'static str {
        match self {
            LiveState::Connecting => "connecting",
            LiveState::Live => "live",
            LiveState::Reconnecting => "reconnecting",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            LiveState::Connecting => "Connecting…",
            LiveState::Live => "Live",
            LiveState::Reconnecting => "Reconnecting…",
        }
    }
}

/// Who else hears every frame of every live socket on the page, and gets
/// each socket's state and sender: the signed-in frame's attention keeper
/// (unread count, notifications, away), provided as context.
#[derive(Clone)]
pub struct LiveObserver {
    pub seen: Callback<AgentServerFrame>,
    pub attach: Callback<(RwSignal<LiveState>, LiveSender)>,
}

/// Opens the live connection for the current component: `on_event` gets
/// every `message`, `session`, `typing` and `read` frame; `on_reopen` runs
/// after a reconnect and on a `resync` frame, so the caller can refetch
/// what it may have missed.
pub fn use_live(
    on_event: impl Fn(AgentServerFrame) + 'static,
    on_reopen: impl Fn() + 'static,
) -> RwSignal<LiveState> {
    use_live_socket(on_event, on_reopen).0
}

/// [`use_live`], and a way to send frames (typing, read) on the socket.
pub fn use_live_socket(
    on_event: impl Fn(AgentServerFrame) + 'static,
    on_reopen: impl Fn() + 'static,
) -> (RwSignal<LiveState>, LiveSender) {
    let state = RwSignal::new(LiveState::Connecting);
    // The page's observer (the attention keeper) sees every event too.
    let observer = use_context::<LiveObserver>();
    let seen = observer.as_ref().map(|o| o.seen);
    let on_event = move |event: AgentServerFrame| {
        if let Some(seen) = seen {
            seen.run(event.clone());
        }
        on_event(event)
    };
    #[cfg(feature = "hydrate")]
    {
        let socket = socket::LiveSocket::connect(
            Box::new(on_event),
            Box::new(move |up| {
                state.set(if up {
                    LiveState::Live
                } else {
                    LiveState::Reconnecting
                })
            }),
            Box::new(on_reopen),
        );
        let sender = LiveSender {
            socket: StoredValue::new_local(Some(socket.clone())),
        };
        if let Some(observer) = &observer {
            observer.attach.run((state, sender));
        }
        let socket = send_wrapper::SendWrapper::new(socket);
        on_cleanup(move || socket.close());
        (state, sender)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (on_event, on_reopen);
        (state, LiveSender {})
    }
}

/// Sends frames on the page's live socket (nothing on the server).
#[derive(Clone, Copy)]
pub struct LiveSender {
    #[cfg(feature = "hydrate")]
    socket: StoredValue<Option<socket::LiveSocket>, LocalStorage>,
}

impl LiveSender {
    /// Sends a frame now; `false` when the socket is not open (the frame
    /// is dropped: typing and read frames are sent again later anyway).
    pub fn send(&self, frame: &AgentClientFrame) -> bool {
        #[cfg(feature = "hydrate")]
        {
            self.socket
                .try_with_value(|s| s.as_ref().is_some_and(|s| s.send(frame)))
                .unwrap_or(false)
        }
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = frame;
            false
        }
    }
}

/// Milliseconds since the epoch in the browser (0 on the server: never
/// rendered, only compared in event handlers).
pub fn now_ms() -> f64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        0.0
    }
}

/// Whether the page is shown (`document.visibilityState` is `visible`).
pub fn page_visible() -> bool {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window()
            .and_then(|w| w.document())
            .is_some_and(|d| d.visibility_state() == web_sys::VisibilityState::Visible)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        false
    }
}

/// A random id for a message this page sends, so a retry is stored once.
pub fn new_client_id() -> String {
    #[cfg(feature = "hydrate")]
    {
        if let Some(crypto) = web_sys::window().and_then(|w| w.crypto().ok()) {
            return crypto.random_uuid();
        }
        format!(
            "{:x}{:x}",
            js_sys::Date::now() as u64,
            (js_sys::Math::random() * 1e15) as u64
        )
    }
    #[cfg(not(feature = "hydrate"))]
    {
        String::new()
    }
}

#[cfg(feature = "hydrate")]
mod socket {
    use std::cell::{Cell, RefCell};
    use std::rc::{Rc, Weak};

    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;
    use web_sys::{CloseEvent, MessageEvent, WebSocket};

    /// The server ended this agent's access (see docs/api.md).
    const CREDENTIALS_REFUSED: u16 = 4401;

    use crate::protocol::{AgentClientFrame, AgentServerFrame};

    type Handler = Closure<dyn FnMut(JsValue)>;

    struct Inner {
        ws: RefCell<Option<WebSocket>>,
        handlers: RefCell<Vec<Handler>>,
        stopped: Cell<bool>,
        attempts: Cell<u32>,
        ever_opened: Cell<bool>,
        on_event: Box<dyn Fn(AgentServerFrame)>,
        on_status: Box<dyn Fn(bool)>,
        on_reopen: Box<dyn Fn()>,
    }

    #[derive(Clone)]
    pub struct LiveSocket(Rc<Inner>);

    impl LiveSocket {
        pub fn connect(
            on_event: Box<dyn Fn(AgentServerFrame)>,
            on_status: Box<dyn Fn(bool)>,
            on_reopen: Box<dyn Fn()>,
        ) -> Self {
            let inner = Rc::new(Inner {
                ws: RefCell::new(None),
                handlers: RefCell::new(Vec::new()),
                stopped: Cell::new(false),
                attempts: Cell::new(0),
                ever_opened: Cell::new(false),
                on_event,
                on_status,
                on_reopen,
            });
            open(&inner);
            LiveSocket(inner)
        }

        /// Sends a frame if the socket is open.
        pub fn send(&self, frame: &AgentClientFrame) -> bool {
            let Ok(text) = serde_json::to_string(frame) else {
                return false;
            };
            match self.0.ws.borrow().as_ref() {
                Some(ws) if ws.ready_state() == WebSocket::OPEN => ws.send_with_str(&text).is_ok(),
                _ => false,
            }
        }

        pub fn close(&self) {
            self.0.stopped.set(true);
            detach(&self.0);
        }
    }

    fn url() -> Option<String> {
        let location = web_sys::window()?.location();
        let scheme = if location.protocol().ok()? == "https:" {
            "wss"
        } else {
            "ws"
        };
        Some(format!(
            "{scheme}://{}/ws/admin/dashboard/",
            location.host().ok()?
        ))
    }

    /// Closes the current socket and unhooks its handlers before they drop.
    fn detach(inner: &Inner) {
        if let Some(ws) = inner.ws.borrow_mut().take() {
            ws.set_onmessage(None);
            ws.set_onopen(None);
            ws.set_onclose(None);
            let _ = ws.close();
        }
        inner.handlers.borrow_mut().clear();
    }

    fn open(inner: &Rc<Inner>) {
        if inner.stopped.get() {
            return;
        }
        detach(inner);
        let Some(ws) = url().and_then(|u| WebSocket::new(&u).ok()) else {
            retry(inner);
            return;
        };
        let weak = Rc::downgrade(inner);
        let on_message: Handler = Closure::new({
            let weak = weak.clone();
            move |ev: JsValue| {
                let (Some(inner), Ok(ev)) = (weak.upgrade(), ev.dyn_into::<MessageEvent>()) else {
                    return;
                };
                if let Some(text) = ev.data().as_string() {
                    match AgentServerFrame::decode(text.as_bytes()) {
                        Some(AgentServerFrame::Resync) => (inner.on_reopen)(),
                        Some(
                            frame @ (AgentServerFrame::Message { .. }
                            | AgentServerFrame::Session { .. }
                            | AgentServerFrame::Note { .. }
                            | AgentServerFrame::Visitor { .. }
                            | AgentServerFrame::Typing { .. }
                            | AgentServerFrame::Presence { .. }
                            | AgentServerFrame::Read { .. }
                            | AgentServerFrame::Deleted { .. }),
                        ) => (inner.on_event)(frame),
                        Some(_) | None => {}
                    }
                }
            }
        });
        let on_open: Handler = Closure::new({
            let weak = weak.clone();
            move |_| {
                if let Some(inner) = weak.upgrade() {
                    inner.attempts.set(0);
                    (inner.on_status)(true);
                    if inner.ever_opened.replace(true) {
                        (inner.on_reopen)();
                    }
                }
            }
        });
        let on_close: Handler = Closure::new(move |ev: JsValue| {
            let Some(inner) = weak.upgrade() else { return };
            (inner.on_status)(false);
            let code = ev.dyn_ref::<CloseEvent>().map(CloseEvent::code);
            if code == Some(CREDENTIALS_REFUSED) {
                // Signed out, password changed, deactivated: sign in again.
                inner.stopped.set(true);
                if let Some(window) = web_sys::window() {
                    let _ = window.location().set_href("/dashboard/login");
                }
                return;
            }
            // 1012 (restart), 1013, 4429, network loss: back off and retry.
            retry(&inner);
        });
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        *inner.ws.borrow_mut() = Some(ws);
        *inner.handlers.borrow_mut() = vec![on_message, on_open, on_close];
    }

    /// Tries again after 1 s, 2 s, 4 s … at most 30 s, with some jitter.
    fn retry(inner: &Rc<Inner>) {
        if inner.stopped.get() {
            return;
        }
        let n = inner.attempts.get();
        inner.attempts.set(n + 1);
        let base = 1000.0 * 2f64.powi(n.min(5) as i32);
        let delay = base.min(30_000.0) * (0.75 + js_sys::Math::random() * 0.5);
        let weak: Weak<Inner> = Rc::downgrade(inner);
        let callback = Closure::once_into_js(move || {
            if let Some(inner) = weak.upgrade() {
                open(&inner);
            }
        });
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(
                callback.unchecked_ref(),
                delay as i32,
            );
        }
    }
}
