//! JSON as the dashboard reads it: text → [`serde_json::Value`] → the type.
//!
//! serde_json's streaming decoder is generic over the type it fills, so
//! reading each type straight from text puts a copy of the parser (its
//! whitespace, string, number and error handling, inlined) into the wasm
//! for every type: about 3–7 KB per struct before `wasm-opt`, for some 50
//! types. Reading the text into a `Value` first needs the parser once;
//! what remains per type is a walk over the tree. The wire format is the
//! same JSON either way, and the server writes it as before.
//!
//! - [`decode`]: bytes to a type, for the socket's frames and the upload
//!   endpoint's answers.
//! - [`Json`]: the same as an encoding for server functions' results
//!   (`output = JsonOutput`) and errors, and as the codec of the pages'
//!   resources ([`resource`]), whose values the server writes into the page
//!   and the browser reads back when it hydrates.

use std::future::Future;

use leptos::prelude::Resource;
use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;

/// Reads `bytes` as JSON into a `T`.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, serde_json::Error> {
    T::deserialize(tree(bytes)?)
}

/// The one instance of the streaming parser.
#[inline(never)]
fn tree(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    serde_json::from_slice(bytes)
}

/// JSON, written by `serde_json` and read through [`decode`].
pub struct Json;

/// The output encoding of the dashboard's server functions: JSON in the
/// body of a `POST`'s answer, like server_fn's own `Json`.
pub type JsonOutput = server_fn::codec::Post<Json>;

impl server_fn::ContentType for Json {
    const CONTENT_TYPE: &'static str = "application/json";
}

impl server_fn::FormatType for Json {
    const FORMAT_TYPE: server_fn::Format = server_fn::Format::Text;
}

impl<T: Serialize> server_fn::Encodes<T> for Json {
    type Error = serde_json::Error;

    fn encode(value: &T) -> Result<server_fn::Bytes, Self::Error> {
        serde_json::to_vec(value).map(server_fn::Bytes::from)
    }
}

impl<T: DeserializeOwned> server_fn::Decodes<T> for Json {
    type Error = serde_json::Error;

    fn decode(bytes: server_fn::Bytes) -> Result<T, Self::Error> {
        decode(&bytes)
    }
}

impl<T: Serialize> codee::Encoder<T> for Json {
    type Error = serde_json::Error;
    type Encoded = String;

    fn encode(value: &T) -> Result<String, Self::Error> {
        serde_json::to_string(value)
    }
}

impl<T: DeserializeOwned> codee::Decoder<T> for Json {
    type Error = serde_json::Error;
    type Encoded = str;

    fn decode(text: &str) -> Result<T, Self::Error> {
        decode(text.as_bytes())
    }
}

/// A page's resource (see [`Resource::new`]) whose value travels from the
/// server-rendered page to the browser as [`Json`].
#[track_caller]
pub fn resource<S, T, Fut>(
    source: impl Fn() -> S + Send + Sync + 'static,
    fetcher: impl Fn(S) -> Fut + Send + Sync + 'static,
) -> Resource<T, Json>
where
    S: PartialEq + Clone + Send + Sync + 'static,
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    Resource::new_with_options(source, fetcher, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ApiError, ErrorCode};
    use crate::protocol::AgentServerFrame;
    use crate::types::{ConversationView, SessionView};

    /// Through the tree or straight from text: the same value, or an error
    /// for both.
    fn same<T>(json: &str)
    where
        T: DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        let direct = serde_json::from_str::<T>(json);
        let through = decode::<T>(json.as_bytes());
        match (direct, through) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{json}"),
            (Err(_), Err(_)) => {}
            (a, b) => panic!("{json}: direct {a:?}, through the tree {b:?}"),
        }
    }

    const SESSION: &str = r#"{"id":"s1","customer_id":"c1","name":"Ann","email":null,
        "status":"open","created_at":"2026-12-01T10:00:00Z","updated_at":"2026-12-01T10:00:00Z",
        "last_seq":3,"customer_read_seq":1,"agent_read_seq":2,"unread":1,
        "assignee_id":null,"assignee_name":null,"last_message":"hi","waiting":true}"#;

    #[test]
    fn reads_what_the_streaming_decoder_reads() {
        same::<SessionView>(SESSION);
        same::<Vec<SessionView>>(&format!("[{SESSION},{SESSION}]"));
        same::<Option<i64>>("null");
        same::<Option<i64>>("7");
        same::<Result<i64, ApiError>>(r#"{"Ok":5}"#);
        same::<Result<i64, ApiError>>(
            r#"{"Err":{"code":"not_found","message":"No such conversation."}}"#,
        );
        same::<ApiError>(r#"{"code":"rate_limited","message":"Slow down.","retryable":true}"#);
        same::<String>(r#""line\nbreak \u00e9""#);
    }

    #[test]
    fn refuses_what_the_streaming_decoder_refuses() {
        for bad in [
            "",
            "{",
            "[1,2",
            r#"{"code":"no_such_code","message":"x"}"#,
            r#"{"code":"not_found"}"#,
            r#"{"code":"not_found","message":7}"#,
            "{} trailing",
        ] {
            assert!(decode::<ApiError>(bad.as_bytes()).is_err(), "{bad}");
            same::<ApiError>(bad);
        }
        same::<SessionView>(&SESSION.replace(r#""open""#, r#""shut""#));
        same::<ConversationView>("{}");
    }

    #[test]
    fn socket_frames_read_the_same_through_the_tree() {
        for frame in [
            r#"{"type":"resync"}"#.to_string(),
            r#"{"type":"deleted","session_id":"s1"}"#.to_string(),
            format!(r#"{{"type":"session","session":{SESSION}}}"#),
        ] {
            let through = AgentServerFrame::decode(frame.as_bytes());
            assert!(through.is_some(), "{frame}");
            assert_eq!(
                through,
                serde_json::from_str::<AgentServerFrame>(&frame).ok()
            );
        }
        let code: ErrorCode = decode(br#""invalid\u005fjson""#).unwrap();
        assert_eq!(code, ErrorCode::InvalidJson);
    }
}
