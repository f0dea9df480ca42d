//! The widget's decoder against the server's own frames: the golden file is
//! written by `app`'s test from the types the server sends
//! (`app::protocol`), so the two cannot drift apart unnoticed.

use defmis_widget::frame::{decode, Frame, Json};
use serde_json::{json, Value};

struct V(Value);

impl Json for V {
    fn field(&self, k: &str) -> Self {
        V(self.0.get(k).cloned().unwrap_or(Value::Null))
    }
    fn string(&self) -> Option<String> {
        self.0.as_str().map(str::to_string)
    }
    fn number(&self) -> Option<f64> {
        self.0.as_f64()
    }
    fn boolean(&self) -> Option<bool> {
        self.0.as_bool()
    }
    fn json(&self) -> String {
        if self.0.is_object() {
            self.0.to_string()
        } else {
            String::new()
        }
    }
}

fn describe(frame: Frame) -> Value {
    match frame {
        Frame::Message(m) => json!({
            "kind": "message",
            "seq": m.seq,
            "sender": m.sender,
            "content": m.content,
            "client_id": m.client_id,
            "agent_name": m.agent_name,
            "attachment_id": serde_json::from_str::<Value>(&m.attachment).ok().map(|a| a["id"].clone()),
        }),
        Frame::Error {
            client_id,
            message,
            code: _,
            retryable,
            retry_after_ms,
        } => {
            json!({"kind": "error", "client_id": client_id, "message": message, "retryable": retryable, "retry_after_ms": retry_after_ms})
        }
        Frame::Session { closed } => json!({"kind": "session", "closed": closed}),
        Frame::Typing { active, name } => json!({"kind": "typing", "active": active, "name": name}),
        Frame::Read { seq } => json!({"kind": "read", "seq": seq}),
        Frame::Availability { available } => {
            json!({"kind": "availability", "available": available})
        }
        Frame::Other => json!({"kind": "other"}),
    }
}

#[test]
fn the_widget_reads_what_the_server_sends() {
    let golden: Vec<Value> =
        serde_json::from_str(include_str!("golden/visitor_frames.json")).unwrap();
    assert!(golden.len() >= 8);
    for case in golden {
        let text = case["frame"].as_str().unwrap();
        let parsed: Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            describe(decode(&V(parsed))),
            case["decoded"],
            "{}",
            case["name"]
        );
    }
}

#[test]
fn unknown_and_broken_frames_are_ignored() {
    for text in [
        r#"{"type":"presence"}"#,
        r#"{"type":"read","by":"agent"}"#,
        r#"{"type":"availability"}"#,
        r#"{"type":"message","message":{"seq":0}}"#,
        "null",
    ] {
        let parsed: Value = serde_json::from_str(text).unwrap();
        assert_eq!(decode(&V(parsed)), Frame::Other, "{text}");
    }
}

#[test]
fn typing_read_and_availability_frames() {
    let cases = [
        (
            r#"{"type":"typing","by":"agent","name":"Ann","active":true}"#,
            Frame::Typing {
                active: true,
                name: Some("Ann".into()),
            },
        ),
        (
            r#"{"type":"typing","by":"agent","active":false}"#,
            Frame::Typing {
                active: false,
                name: None,
            },
        ),
        (
            r#"{"type":"read","by":"agent","seq":7}"#,
            Frame::Read { seq: 7 },
        ),
        (
            r#"{"type":"availability","available":false}"#,
            Frame::Availability { available: false },
        ),
    ];
    for (text, want) in cases {
        let parsed: Value = serde_json::from_str(text).unwrap();
        assert_eq!(decode(&V(parsed)), want, "{text}");
    }
}
