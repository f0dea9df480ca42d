//! Decoding what the server sends: stored messages and visitor socket
//! frames. Written over [`Json`], a read-only view of a parsed JSON value,
//! so the same code runs on the browser's `JSON.parse` result in the widget
//! and on `serde_json` values in tests, which feed it the server's own
//! encoded frames (`tests/golden/`, generated from `app::protocol`).

use wasm_bindgen::JsValue;

/// Read access to a parsed JSON value.
pub trait Json {
    /// `self[k]`, or a null-like value.
    fn field(&self, k: &str) -> Self;
    fn string(&self) -> Option<String>;
    fn number(&self) -> Option<f64>;
    fn boolean(&self) -> Option<bool>;
    /// An object as JSON text (empty for anything else).
    fn json(&self) -> String;
}

impl Json for JsValue {
    fn field(&self, k: &str) -> Self {
        crate::js::get(self, k)
    }
    fn string(&self) -> Option<String> {
        self.as_string()
    }
    fn number(&self) -> Option<f64> {
        self.as_f64()
    }
    fn boolean(&self) -> Option<bool> {
        self.as_bool()
    }
    fn json(&self) -> String {
        if self.is_object() {
            crate::js::stringify(self)
        } else {
            String::new()
        }
    }
}

/// A stored message as the server sends it.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub seq: u64,
    /// `customer`, `agent` or `bot` (anything unknown shows as `bot`).
    pub sender: &'static str,
    pub content: String,
    pub client_id: Option<String>,
    pub agent_name: Option<String>,
    /// The `attachment` object as JSON text, for the attachment module
    /// (`/static/js/chat-attach.js`) to draw (empty: none); the wasm
    /// never reads it.
    pub attachment: String,
}

/// A visitor socket frame.
#[derive(Clone, Debug, PartialEq)]
pub enum Frame {
    Message(Message),
    /// The server refused a message; `retryable` ones are sent again.
    Error {
        client_id: Option<String>,
        /// The error code (`content_too_long`, `rate_limited`, …).
        code: Option<String>,
        message: Option<String>,
        retryable: bool,
        /// With `rate_limited`: wait at least this long before resending.
        retry_after_ms: Option<u64>,
    },
    Session {
        closed: bool,
    },
    /// An agent started or stopped typing; `name` is their shown name.
    Typing {
        active: bool,
        name: Option<String>,
    },
    /// The agents have read up to `seq`.
    Read {
        seq: u64,
    },
    /// Whether an agent is available now.
    Availability {
        available: bool,
    },
    /// `pong`, or a type this widget does not know (newer servers).
    Other,
}

fn uint<J: Json>(v: &J) -> Option<u64> {
    let n = v.number()?;
    (n >= 0.0 && n.fract() == 0.0).then_some(n as u64)
}

/// A message object; `None` without a positive seq.
pub fn message<J: Json>(v: &J) -> Option<Message> {
    let seq = uint(&v.field("seq")).filter(|s| *s > 0)?;
    let sender = match v.field("sender").string().as_deref() {
        Some("customer") => "customer",
        Some("agent") => "agent",
        _ => "bot",
    };
    Some(Message {
        seq,
        sender,
        content: v.field("content").string().unwrap_or_default(),
        client_id: v.field("client_id").string(),
        agent_name: v.field("agent_name").string(),
        attachment: v.field("attachment").json(),
    })
}

/// One socket frame.
pub fn decode<J: Json>(frame: &J) -> Frame {
    match frame.field("type").string().as_deref() {
        Some("message") => match message(&frame.field("message")) {
            Some(m) => Frame::Message(m),
            None => Frame::Other,
        },
        Some("error") => {
            let error = frame.field("error");
            Frame::Error {
                client_id: frame.field("client_id").string(),
                code: error.field("code").string(),
                message: error.field("message").string(),
                retryable: error.field("retryable").boolean().unwrap_or(false),
                retry_after_ms: uint(&error.field("retry_after_ms")),
            }
        }
        Some("session") => Frame::Session {
            closed: frame.field("session").field("status").string().as_deref() == Some("closed"),
        },
        Some("typing") => Frame::Typing {
            active: frame.field("active").boolean().unwrap_or(false),
            name: frame.field("name").string(),
        },
        Some("read") => match uint(&frame.field("seq")) {
            Some(seq) => Frame::Read { seq },
            None => Frame::Other,
        },
        Some("availability") => match frame.field("available").boolean() {
            Some(available) => Frame::Availability { available },
            None => Frame::Other,
        },
        _ => Frame::Other,
    }
}
