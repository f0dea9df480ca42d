//! Property tests over every decoder of untrusted input: socket frames of
//! both sockets, message text and the other visitor fields, JSON bodies,
//! query strings, paging cursors and `X-Forwarded-For`. Whatever the input,
//! none panics, and a refusal carries one of the codes docs/api.md lists
//! for that input.

#![allow(clippy::unwrap_used, reason = "tests")]

use app::protocol::{AgentClientFrame, VisitorClientFrame};
use app::types::ErrorCode;
use axum::http::{HeaderMap, HeaderValue, Uri};
use proptest::prelude::*;

use crate::chat::domain::{parse_customer_id, parse_email, parse_name, ClientId, MessageText};
use crate::chat::inbox::{InboxQuery, ListCursor, SearchTerms};
use crate::chat::routes::{HistoryParams, PostMessage};
use crate::chat::StartRequest;
use crate::error::{parse_json, AppError};
use crate::ws::parse_frame;

fn code(e: AppError) -> ErrorCode {
    e.code()
}

/// JSON-ish text: objects with known and unknown types and odd values,
/// and plain noise.
fn frame_text() -> impl Strategy<Value = String> {
    let value = prop_oneof![
        Just("null".to_string()),
        Just("true".to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|n| format!("{n:?}")),
        ".{0,40}".prop_map(|s| serde_json::to_string(&s).unwrap()),
        Just("[1,{\"a\":[]}]".to_string()),
        Just("{\"nested\":{\"type\":\"auth\"}}".to_string()),
    ];
    let key = prop_oneof![
        Just("type"),
        Just("token"),
        Just("after"),
        Just("content"),
        Just("client_id"),
        Just("session_id"),
        Just("x"),
    ];
    let kind = prop_oneof![
        Just("auth"),
        Just("message"),
        Just("ping"),
        Just("reply"),
        Just("pong"),
        Just("AUTH"),
        Just(""),
    ];
    let object =
        (kind, proptest::collection::vec((key, value), 0..5)).prop_map(|(kind, fields)| {
            let mut parts = vec![format!("\"type\":\"{kind}\"")];
            parts.extend(fields.into_iter().map(|(k, v)| format!("\"{k}\":{v}")));
            format!("{{{}}}", parts.join(","))
        });
    prop_oneof![
        object,
        ".{0,200}",
        proptest::collection::vec(any::<u8>(), 0..200)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned())
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn visitor_frames(text in frame_text()) {
        if let Err(r) = parse_frame::<VisitorClientFrame>(&text) {
            prop_assert!(matches!(r.error.code, ErrorCode::InvalidFrame | ErrorCode::UnknownType));
            prop_assert!(!r.error.message.is_empty());
        }
    }

    #[test]
    fn agent_frames(text in frame_text()) {
        if let Err(r) = parse_frame::<AgentClientFrame>(&text) {
            prop_assert!(matches!(r.error.code, ErrorCode::InvalidFrame | ErrorCode::UnknownType));
        }
    }

    #[test]
    fn message_text(raw in "(?s).{0,300}", max in 1usize..200) {
        match MessageText::parse(&raw, max) {
            Ok(text) => prop_assert!(text.as_str().chars().count() <= max),
            Err(e) => prop_assert!(matches!(
                code(e),
                ErrorCode::EmptyContent | ErrorCode::ContentTooLong | ErrorCode::InvalidContent
            )),
        }
    }

    #[test]
    fn visitor_fields(raw in "(?s).{0,300}") {
        if let Err(e) = parse_customer_id(&raw) {
            prop_assert_eq!(code(e), ErrorCode::InvalidCustomerId);
        }
        if let Err(e) = ClientId::parse(&raw) {
            prop_assert_eq!(code(e), ErrorCode::InvalidClientId);
        }
        if let Err(e) = parse_name(Some(&raw)) {
            prop_assert_eq!(code(e), ErrorCode::InvalidName);
        }
        if let Err(e) = parse_email(Some(&raw)) {
            prop_assert_eq!(code(e), ErrorCode::InvalidEmail);
        }
        if let Err(e) = crate::agents::parse_username(&raw) {
            prop_assert_eq!(code(e), ErrorCode::InvalidUsername);
        }
        let _ = ListCursor::decode(&raw);
        if let Err(e) = SearchTerms::parse(&raw) {
            prop_assert_eq!(code(e), ErrorCode::InvalidQuery);
        }
    }

    #[test]
    fn json_bodies(body in prop_oneof![
        frame_text(),
        proptest::collection::vec(any::<u8>(), 0..300).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        Just("{\"name\": 5}".to_string()),
        Just("{\"customer_id\": \"a\", \"content\": [], \"client_id\": null}".to_string()),
    ]) {
        for result in [
            parse_json::<StartRequest>(body.as_bytes()).err(),
            parse_json::<PostMessage>(body.as_bytes()).err(),
        ]
        .into_iter()
        .flatten()
        {
            prop_assert!(matches!(code(result), ErrorCode::InvalidJson | ErrorCode::InvalidBody));
        }
    }

    #[test]
    fn query_strings(query in "[a-z=&%0-9+._-]{0,60}") {
        let Ok(uri) = format!("/h/?{query}").parse::<Uri>() else { return Ok(()) };
        if let Err(rejection) = axum::extract::Query::<HistoryParams>::try_from_uri(&uri) {
            prop_assert_eq!(code(AppError::from(rejection)), ErrorCode::InvalidQuery);
        }
        match axum::extract::Query::<app::types::InboxParams>::try_from_uri(&uri) {
            Err(rejection) => {
                prop_assert_eq!(code(AppError::from(rejection)), ErrorCode::InvalidQuery);
            }
            Ok(params) => {
                if let Err(e) = InboxQuery::parse(&params.0, &"me".into()) {
                    prop_assert!(matches!(code(e), ErrorCode::InvalidQuery | ErrorCode::InvalidCursor));
                }
            }
        }
    }

    #[test]
    fn forwarded_for(header in "[0-9a-f.:, \\[\\]x]{0,80}", peer in any::<[u8; 4]>()) {
        let limits = crate::limits::Limits::new(
            crate::config::Config::from_lookup(|k| (k == "SECRET_KEY").then(|| "k".repeat(40)))
                .unwrap()
                .limits,
            vec!["0.0.0.0/0".parse().unwrap()],
            Default::default(),
        );
        let mut headers = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(&header) {
            headers.insert("x-forwarded-for", v);
        }
        let _ = limits.client_addr(std::net::IpAddr::from(peer), &headers);
    }
}
