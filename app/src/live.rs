//! The dashboard's live connection: one WebSocket to `/ws/admin/dashboard/`
//! that reconnects by itself. Only the browser opens it; on the server
//! [`use_live`] does nothing, so the rendered HTML and the hydrated page
//! agree.

use leptos::prelude::*;

use crate::protocol::AgentServerFrame;

/// Connection state shown to the agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LiveState {
    Connecting,
    Live,
    Reconnecting,
}

impl LiveState {
    pub fn label(self) -> &'static str {
        match self {
            LiveState::Connecting => "Connecting…",
            LiveState::Live => "Live",
            LiveState::Reconnecting => "Reconnecting…",
        }
    }
}

/// Opens the live connection for the current component: `on_event` gets
/// every `message` and `session` frame; `on_reopen` runs after a reconnect
/// and on a `resync` frame, so the caller can refetch what it may have
/// missed.
pub fn use_live(
    on_event: impl Fn(AgentServerFrame) + 'static,
    on_reopen: impl Fn() + 'static,
) -> RwSignal<LiveState> {
    let state = RwSignal::new(LiveState::Connecting);
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
        let socket = send_wrapper::SendWrapper::new(socket);
        on_cleanup(move || socket.close());
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (on_event, on_reopen);
    }
    state
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

    use crate::protocol::AgentServerFrame;

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
                    match serde_json::from_str::<AgentServerFrame>(&text) {
                        Ok(AgentServerFrame::Resync) => (inner.on_reopen)(),
                        Ok(
                            frame @ (AgentServerFrame::Message { .. }
                            | AgentServerFrame::Session { .. }),
                        ) => (inner.on_event)(frame),
                        Ok(_) | Err(_) => {}
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
