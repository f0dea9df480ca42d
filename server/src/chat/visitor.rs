//! What the customer panel tells agents about a visitor: the page they are
//! on, where they came from, their browser and their local time.
//!
//! The widget sends a `context` object with each start (the loader reads
//! `location.href`, `document.referrer` and the browser's time zone); the
//! browser comes from the `User-Agent` header. All of it is advisory: a
//! value of the wrong type, out of range or not an http(s) address is
//! dropped, never a reason to refuse a start (a visitor must be able to
//! write whatever their browser reports), and long values are cut.

use chrono::{DateTime, FixedOffset, Utc};

/// Longest page URL or referrer kept, in characters.
pub const MAX_URL_CHARS: usize = 2048;
/// Longest User-Agent kept, in characters.
pub const MAX_AGENT_CHARS: usize = 512;
/// Longest time-zone name kept (IANA names are far shorter).
const MAX_ZONE_CHARS: usize = 64;
/// UTC-14:00 to UTC+14:00 cover every zone in use.
const MAX_OFFSET_MINUTES: i64 = 14 * 60;

/// Longest language tag kept (BCP 47 tags in use are far shorter).
const MAX_LANGUAGE_CHARS: usize = 35;

/// What a request's headers tell about the browser.
#[derive(Clone, Copy, Debug, Default)]
pub struct Headers<'a> {
    pub user_agent: Option<&'a str>,
    pub accept_language: Option<&'a str>,
}

/// One start's facts about the visitor, checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Visit {
    /// The request carried a `context` object: its page fields replace
    /// the stored ones (a missing field clears one). Without it (an API
    /// client) the stored page, referrer and zone stay.
    pub has_context: bool,
    pub page_url: Option<String>,
    pub referrer: Option<String>,
    pub time_zone: Option<String>,
    /// Minutes east of UTC.
    pub utc_offset: Option<i32>,
    pub user_agent: Option<String>,
    /// The context's `language`, else the browser's first
    /// `Accept-Language`; lower case (`es`, `fr-ca`).
    pub language: Option<String>,
}

impl Visit {
    /// Reads the start request's `context` (any JSON) and the request's
    /// `User-Agent` and `Accept-Language`; never fails.
    pub fn parse(context: Option<&serde_json::Value>, headers: Headers<'_>) -> Self {
        let user_agent = headers
            .user_agent
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| cut(s, MAX_AGENT_CHARS));
        let from_header = headers
            .accept_language
            .and_then(|h| h.split(',').next())
            .and_then(|first| first.split(';').next())
            .and_then(language_tag);
        let Some(serde_json::Value::Object(ctx)) = context else {
            return Self {
                user_agent,
                language: from_header,
                ..Self::default()
            };
        };
        let text = |key: &str| ctx.get(key).and_then(serde_json::Value::as_str);
        Self {
            language: text("language").and_then(language_tag).or(from_header),
            has_context: true,
            page_url: text("page_url").and_then(web_address),
            referrer: text("referrer").and_then(web_address),
            time_zone: text("time_zone").and_then(zone_name),
            utc_offset: ctx
                .get("utc_offset")
                .and_then(serde_json::Value::as_i64)
                .filter(|m| m.abs() <= MAX_OFFSET_MINUTES)
                .and_then(|m| i32::try_from(m).ok()),
            user_agent,
        }
    }
}

/// The first `max` characters of `s`.
fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => s[..at].to_string(),
        None => s.to_string(),
    }
}

/// An http(s) address, cut to [`MAX_URL_CHARS`]; anything else (empty,
/// `javascript:`, `data:`, a relative path) is dropped, so the dashboard
/// only ever links to web pages.
fn web_address(s: &str) -> Option<String> {
    let s = s.trim();
    let scheme_end = s.find("://")?;
    let scheme = &s[..scheme_end];
    let web = scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https");
    let has_host = s.len() > scheme_end + 3;
    let clean = !s.chars().any(char::is_control);
    (web && has_host && clean).then(|| cut(s, MAX_URL_CHARS))
}

/// A language tag such as `es`, `fr-CA` or `zh-Hant-TW`, in lower case;
/// `*` and anything else are dropped.
fn language_tag(s: &str) -> Option<String> {
    let s = s.trim();
    let ok = !s.is_empty()
        && s.len() <= MAX_LANGUAGE_CHARS
        && s.split(['-', '_'])
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric()))
        && s.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
    ok.then(|| s.replace('_', "-").to_ascii_lowercase())
}

/// An IANA zone name such as `America/Argentina/Buenos_Aires` or
/// `Etc/GMT+5`.
fn zone_name(s: &str) -> Option<String> {
    let s = s.trim();
    let ok = !s.is_empty()
        && s.len() <= MAX_ZONE_CHARS
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-' | '+'));
    ok.then(|| s.to_string())
}

/// A short name for the browser in a User-Agent: "Firefox 133 on
/// Windows", "Safari 18 on iOS"; `None` when nothing is recognised.
pub fn browser(user_agent: &str) -> Option<String> {
    // Order matters: Edge and Opera also say "Chrome/", Chrome also says
    // "Safari/".
    const BROWSERS: [(&str, &str); 9] = [
        ("Edg/", "Edge"),
        ("EdgA/", "Edge"),
        ("OPR/", "Opera"),
        ("SamsungBrowser/", "Samsung Internet"),
        ("Firefox/", "Firefox"),
        ("FxiOS/", "Firefox"),
        ("CriOS/", "Chrome"),
        ("Chromium/", "Chromium"),
        ("Chrome/", "Chrome"),
    ];
    let version_after = |token: &str| {
        let at = user_agent.find(token)? + token.len();
        let major: String = user_agent[at..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        (!major.is_empty()).then_some(major)
    };
    let name = BROWSERS
        .iter()
        .find(|(token, _)| user_agent.contains(token))
        .map(|(token, name)| (*name, version_after(token)))
        .or_else(|| {
            (user_agent.contains("Safari/") && user_agent.contains("Version/"))
                .then(|| ("Safari", version_after("Version/")))
        });
    let os = [
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Android", "Android"),
        ("Windows", "Windows"),
        ("CrOS", "ChromeOS"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(token, _)| user_agent.contains(token))
    .map(|(_, os)| *os);
    match (name, os) {
        (Some((name, Some(v))), Some(os)) => Some(format!("{name} {v} on {os}")),
        (Some((name, None)), Some(os)) => Some(format!("{name} on {os}")),
        (Some((name, Some(v))), None) => Some(format!("{name} {v}")),
        (Some((name, None)), None) => Some(name.to_string()),
        (None, Some(os)) => Some(os.to_string()),
        (None, None) => None,
    }
}

/// The visitor's wall-clock time at `now`: "14:05 (UTC+02:00)".
pub fn local_time(now: DateTime<Utc>, utc_offset_minutes: i32) -> Option<String> {
    let zone = FixedOffset::east_opt(utc_offset_minutes.checked_mul(60)?)?;
    let local = now.with_timezone(&zone);
    Some(format!(
        "{} (UTC{})",
        local.format("%H:%M"),
        local.format("%:z")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_context_is_read_and_checked() {
        let ctx = json!({
            "page_url": "https://shop.example/cart?x=1",
            "referrer": "https://www.google.com/",
            "time_zone": "Europe/Paris",
            "utc_offset": 60
        });
        let v = Visit::parse(
            Some(&ctx),
            Headers {
                user_agent: Some(" Mozilla/5.0 "),
                accept_language: Some("fr-CA,fr;q=0.9,en;q=0.5"),
            },
        );
        assert_eq!(v.language.as_deref(), Some("fr-ca"));
        assert!(v.has_context);
        assert_eq!(v.page_url.as_deref(), Some("https://shop.example/cart?x=1"));
        assert_eq!(v.referrer.as_deref(), Some("https://www.google.com/"));
        assert_eq!(v.time_zone.as_deref(), Some("Europe/Paris"));
        assert_eq!(v.utc_offset, Some(60));
        assert_eq!(v.user_agent.as_deref(), Some("Mozilla/5.0"));
    }

    #[test]
    fn unusable_values_are_dropped_not_refused() {
        let ctx = json!({
            "page_url": "javascript:alert(1)",
            "referrer": 42,
            "time_zone": "<script>",
            "utc_offset": 100000
        });
        let v = Visit::parse(Some(&ctx), Headers::default());
        assert!(v.has_context);
        assert_eq!(
            v,
            Visit {
                has_context: true,
                ..Visit::default()
            }
        );
        for bad in [
            "",
            "/relative",
            "https://",
            "data:text/html,x",
            "http://a\nb",
        ] {
            assert_eq!(web_address(bad), None, "{bad:?}");
        }
        assert_eq!(
            web_address("HTTP://Example.com"),
            Some("HTTP://Example.com".into())
        );
        // Not an object: as if there were none.
        assert!(!Visit::parse(Some(&json!("x")), Headers::default()).has_context);
        assert!(!Visit::parse(None, Headers::default()).has_context);
        // The context's language wins over the header's; junk is dropped.
        let headers = Headers {
            user_agent: None,
            accept_language: Some("de-DE,de;q=0.9"),
        };
        let v = Visit::parse(Some(&json!({"language": "es_MX"})), headers);
        assert_eq!(v.language.as_deref(), Some("es-mx"));
        let v = Visit::parse(Some(&json!({"language": "<b>"})), headers);
        assert_eq!(v.language.as_deref(), Some("de-de"));
        let star = Headers {
            user_agent: None,
            accept_language: Some("*"),
        };
        assert_eq!(Visit::parse(None, star).language, None);
    }

    #[test]
    fn long_values_are_cut_on_a_character_boundary() {
        let long = format!("https://example.com/{}", "é".repeat(5000));
        let kept = web_address(&long).unwrap_or_default();
        assert_eq!(kept.chars().count(), MAX_URL_CHARS);
        let agent = "a".repeat(2000);
        let v = Visit::parse(
            None,
            Headers {
                user_agent: Some(&agent),
                accept_language: None,
            },
        );
        assert_eq!(v.user_agent.map(|s| s.len()), Some(MAX_AGENT_CHARS));
    }

    #[test]
    fn browsers_are_named() {
        let cases = [
            ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.8078.73 Safari/537.36", "Chrome 156 on Linux"),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86", "Edge 131 on Windows"),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox 133 on Windows"),
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", "Safari 18 on iOS"),
            ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15", "Safari 17 on macOS"),
            ("Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36", "Samsung Internet 26 on Android"),
            ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36", "Chrome 156 on Linux"),
        ];
        for (ua, want) in cases {
            assert_eq!(browser(ua).as_deref(), Some(want), "{ua}");
        }
        assert_eq!(browser("curl/8.5.0"), None);
    }

    #[test]
    fn local_time_applies_the_offset() {
        let now = DateTime::parse_from_rfc3339("2026-12-03T12:30:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        assert_eq!(local_time(now, 120).as_deref(), Some("14:30 (UTC+02:00)"));
        assert_eq!(local_time(now, -330).as_deref(), Some("07:00 (UTC-05:30)"));
        assert_eq!(local_time(now, 0).as_deref(), Some("12:30 (UTC+00:00)"));
    }
}
