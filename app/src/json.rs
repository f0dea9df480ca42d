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
//! The walk is [`Tree`], ours rather than `serde_json::Value`'s own
//! deserializer: that one also reads a struct from an array (`[1, "a"]`
//! for `{"seq": 1, "text": "a"}`), which puts each struct's sequence
//! reader into the wasm beside its map reader; no answer of ours is
//! written that way, so `Tree` reads structs from objects only.
//!
//! - [`decode`]: bytes to a type, for the socket's frames and the upload
//!   endpoint's answers.
//! - [`JsonCodec`]: the same as an encoding for server functions' results
//!   (`output = JsonOutput`) and errors, and as the codec of the pages'
//!   resources ([`resource`]), whose values the server writes into the page
//!   and the browser reads back when it hydrates.

use std::future::Future;

use leptos::prelude::Resource;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Error as _, IntoDeserializer, Unexpected, Visitor,
};
use serde::Serialize;
use serde_json::{Error, Map, Value};

/// Reads `bytes` as JSON into a `T`.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    T::deserialize(Tree(tree(bytes)?))
}

/// Reads a parsed JSON value into a `T`, as [`decode`] reads text.
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, Error> {
    T::deserialize(Tree(value))
}

/// The one instance of the streaming parser.
#[inline(never)]
fn tree(bytes: &[u8]) -> Result<Value, Error> {
    serde_json::from_slice(bytes)
}

/// A parsed JSON value read into a type: what `Value`'s own deserializer
/// does, except that a struct (or a struct variant) is read from an
/// object only.
struct Tree(Value);

/// What a value is, for "invalid type: …, expected …" errors.
fn unexpected(value: &Value) -> Unexpected<'_> {
    match value {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => Unexpected::Unsigned(u),
            (_, Some(i)) => Unexpected::Signed(i),
            _ => Unexpected::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

fn visit_array<'de, V: Visitor<'de>>(items: Vec<Value>, visitor: V) -> Result<V::Value, Error> {
    let len = items.len();
    let mut seq = Items(items.into_iter());
    let value = visitor.visit_seq(&mut seq)?;
    match seq.0.len() {
        0 => Ok(value),
        _ => Err(Error::invalid_length(len, &"fewer elements in array")),
    }
}

fn visit_object<'de, V: Visitor<'de>>(
    entries: Map<String, Value>,
    visitor: V,
) -> Result<V::Value, Error> {
    visitor.visit_map(&mut Entries {
        entries: entries.into_iter(),
        value: None,
    })
}

impl<'de> de::Deserializer<'de> for Tree {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(b),
            Value::Number(n) => match (n.as_u64(), n.as_i64()) {
                (Some(u), _) => visitor.visit_u64(u),
                (_, Some(i)) => visitor.visit_i64(i),
                _ => visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) => visitor.visit_string(s),
            Value::Array(items) => visit_array(items, visitor),
            Value::Object(entries) => visit_object(entries, visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            other => Err(Error::invalid_type(unexpected(&other), &visitor)),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Array(items) => visit_array(items, visitor),
            other => Err(Error::invalid_type(unexpected(&other), &visitor)),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Object(entries) => visit_object(entries, visitor),
            other => Err(Error::invalid_type(unexpected(&other), &visitor)),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let (variant, value) = match self.0 {
            Value::String(variant) => (variant, None),
            Value::Object(entries) => {
                let mut entries = entries.into_iter();
                match (entries.next(), entries.next()) {
                    (Some((variant, value)), None) => (variant, Some(value)),
                    _ => {
                        return Err(Error::invalid_value(
                            Unexpected::Map,
                            &"map with a single key",
                        ))
                    }
                }
            }
            other => return Err(Error::invalid_type(unexpected(&other), &"string or map")),
        };
        visitor.visit_enum(Variant { variant, value })
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf identifier
    }
}

/// An array's items, in order.
struct Items(std::vec::IntoIter<Value>);

impl<'de> de::SeqAccess<'de> for Items {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        self.0.next().map(|v| seed.deserialize(Tree(v))).transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

/// An object's entries, in order: each key, then its value.
struct Entries {
    entries: serde_json::map::IntoIter,
    value: Option<Value>,
}

impl<'de> de::MapAccess<'de> for Entries {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        match self.entries.next() {
            Some((key, value)) => {
                self.value = Some(value);
                seed.deserialize(key.into_deserializer()).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, Error> {
        match self.value.take() {
            Some(value) => seed.deserialize(Tree(value)),
            None => Err(Error::custom("value is missing")),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// An enum's variant: its name, and its content unless a unit variant
/// written as a bare string.
struct Variant {
    variant: String,
    value: Option<Value>,
}

impl<'de> de::EnumAccess<'de> for Variant {
    type Error = Error;
    type Variant = Content;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Content), Error> {
        let variant = seed.deserialize(self.variant.into_deserializer())?;
        Ok((variant, Content(self.value)))
    }
}

/// What follows a variant's name.
struct Content(Option<Value>);

impl<'de> de::VariantAccess<'de> for Content {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        match self.0 {
            None | Some(Value::Null) => Ok(()),
            Some(other) => Err(Error::invalid_type(unexpected(&other), &"unit variant")),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        match self.0 {
            Some(value) => seed.deserialize(Tree(value)),
            None => Err(Error::invalid_type(
                Unexpected::UnitVariant,
                &"newtype variant",
            )),
        }
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Some(Value::Array(items)) => visit_array(items, visitor),
            Some(other) => Err(Error::invalid_type(unexpected(&other), &"tuple variant")),
            None => Err(Error::invalid_type(
                Unexpected::UnitVariant,
                &"tuple variant",
            )),
        }
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            Some(Value::Object(entries)) => visit_object(entries, visitor),
            Some(other) => Err(Error::invalid_type(unexpected(&other), &"struct variant")),
            None => Err(Error::invalid_type(
                Unexpected::UnitVariant,
                &"struct variant",
            )),
        }
    }
}

/// JSON, written by `serde_json` and read through [`decode`].
pub struct JsonCodec;

/// The output encoding of the dashboard's server functions: JSON in the
/// body of a `POST`'s answer, like server_fn's own `Json`.
pub type JsonOutput = server_fn::codec::Post<JsonCodec>;

impl server_fn::ContentType for JsonCodec {
    const CONTENT_TYPE: &'static str = "application/json";
}

impl server_fn::FormatType for JsonCodec {
    const FORMAT_TYPE: server_fn::Format = server_fn::Format::Text;
}

impl<T: Serialize> server_fn::Encodes<T> for JsonCodec {
    type Error = Error;

    fn encode(value: &T) -> Result<server_fn::Bytes, Self::Error> {
        serde_json::to_vec(value).map(server_fn::Bytes::from)
    }
}

impl<T: DeserializeOwned> server_fn::Decodes<T> for JsonCodec {
    type Error = Error;

    fn decode(bytes: server_fn::Bytes) -> Result<T, Self::Error> {
        decode(&bytes)
    }
}

impl<T: Serialize> codee::Encoder<T> for JsonCodec {
    type Error = Error;
    type Encoded = String;

    fn encode(value: &T) -> Result<String, Self::Error> {
        serde_json::to_string(value)
    }
}

impl<T: DeserializeOwned> codee::Decoder<T> for JsonCodec {
    type Error = Error;
    type Encoded = str;

    fn decode(text: &str) -> Result<T, Self::Error> {
        decode(text.as_bytes())
    }
}

/// A page's resource (see [`Resource::new`]) whose value travels from the
/// server-rendered page to the browser as [`JsonCodec`].
#[track_caller]
pub fn resource<S, T, Fut>(
    source: impl Fn() -> S + Send + Sync + 'static,
    fetcher: impl Fn(S) -> Fut + Send + Sync + 'static,
) -> Resource<T, JsonCodec>
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
    fn reads_enums_maps_and_values_as_the_streaming_decoder_does() {
        use crate::automation::{Action, Trigger};
        use crate::types::SessionStatus;
        for trigger in [
            r#"{"type":"keyword","match":"all","keywords":["refund","money"]}"#,
            r#"{"type":"keyword","keywords":["x"]}"#,
            r#"{"type":"greeting"}"#,
            r#"{"type":"no_reply","minutes":5}"#,
            r#"{"type":"no_reply","minutes":-5}"#,
            r#"{"type":"no_reply"}"#,
            r#"{"type":"shout"}"#,
            r#"{"keywords":["x"]}"#,
            r#""greeting""#,
        ] {
            same::<Trigger>(trigger);
        }
        same::<Action>(
            r#"{"message":"Hi","translations":{"es":"Hola","fr":"Salut"},"close":true}"#,
        );
        same::<Action>(r#"{"message":"Hi","delay_seconds":1.5}"#);
        same::<Action>(r#"{"message":"Hi","delay_seconds":4294967296}"#);
        same::<SessionStatus>(r#""closed""#);
        same::<SessionStatus>(r#"{"closed":null}"#);
        same::<SessionStatus>(r#"{"closed":1}"#);
        same::<SessionStatus>(r#"{"open":null,"closed":null}"#);
        same::<SessionStatus>("3");
        same::<Value>(r#"{"a":[1,-2,3.5,true,null,"x",{"b":{}}]}"#);
        same::<(i64, String)>(r#"[1,"a"]"#);
        same::<(i64, String)>(r#"[1,"a",2]"#);
        same::<(i64, String)>(r#"[1]"#);
        same::<Vec<Option<u8>>>("[1,null,255]");
        same::<Vec<Option<u8>>>("[256]");
        same::<Option<()>>("null");
        same::<char>(r#""é""#);
        same::<f64>("-0.25");
        same::<i64>("-9223372036854775808");
        same::<u64>("18446744073709551615");
    }

    #[test]
    fn reads_structs_from_objects_only() {
        // The streaming decoder also takes a struct's fields in order, as
        // an array; nothing we read is written that way, and the tree
        // refuses it (so no struct's sequence reader is in the wasm).
        let as_array = r#"["not_found","No such conversation.",false]"#;
        assert!(serde_json::from_str::<ApiError>(as_array).is_ok());
        let refused = decode::<ApiError>(as_array.as_bytes()).unwrap_err();
        assert!(
            refused.to_string().contains("invalid type: sequence"),
            "{refused}"
        );
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
