//! Thin helpers over the browser: JSON objects through `Reflect`, fetch,
//! localStorage, random ids and number formatting — each written so that it
//! pulls in neither serde nor `core::fmt`, which would dominate the binary.

use js_sys::{Function, Object, Reflect, JSON};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, RequestInit, Response, Storage};

/// `v[k]`, or `undefined` when `v` is not an object.
pub fn get(v: &JsValue, k: &str) -> JsValue {
    Reflect::get(v, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED)
}

/// `v[k]` if it is a string.
pub fn get_str(v: &JsValue, k: &str) -> Option<String> {
    get(v, k).as_string()
}

/// `v[k]` if it is a non-negative integer-valued number (seq, lengths).
pub fn get_uint(v: &JsValue, k: &str) -> Option<u64> {
    let n = get(v, k).as_f64()?;
    (n >= 0.0 && n.fract() == 0.0).then_some(n as u64)
}

/// `o[k] = v`.
pub fn set(o: &Object, k: &str, v: &JsValue) {
    let _ = Reflect::set(o, &JsValue::from_str(k), v);
}

/// `o[k] = s` when `s` is present; absent fields are left out of the JSON.
pub fn set_opt(o: &Object, k: &str, s: Option<&str>) {
    if let Some(s) = s {
        set(o, k, &JsValue::from_str(s));
    }
}

/// `JSON.parse`, with `null` for anything unparsable.
pub fn parse(s: &str) -> JsValue {
    JSON::parse(s).unwrap_or(JsValue::NULL)
}

/// `JSON.stringify`.
pub fn stringify(v: &JsValue) -> String {
    JSON::stringify(v).map(String::from).unwrap_or_default()
}

/// Decimal digits of `n` without `core::fmt` (and without a UTF-8 check:
/// the digits are pushed as chars).
pub fn uint(mut n: u64) -> String {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        if let Some(d) = digits.get_mut(at) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || at == 0 {
            break;
        }
    }
    digits
        .get(at..)
        .unwrap_or_default()
        .iter()
        .map(|&d| char::from(d))
        .collect()
}

/// `s.parse::<u64>().ok()` (an optional `+`, then decimal digits, no
/// overflow) without `core::num`'s parser and error type.
pub fn parse_uint(s: &str) -> Option<u64> {
    let digits = s.strip_prefix('+').unwrap_or(s);
    if digits.is_empty() {
        return None;
    }
    digits.bytes().try_fold(0u64, |n, b| {
        let d = b.wrapping_sub(b'0');
        (d < 10)
            .then_some(())
            .and_then(|()| n.checked_mul(10)?.checked_add(u64::from(d)))
    })
}

/// A random UUID v4 from `crypto.getRandomValues` (Math.random if the page
/// has no Web Crypto); used as the idempotency key of a sent message.
pub fn uuid() -> String {
    let mut b = [0u8; 16];
    let filled = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .is_some_and(|c| c.get_random_values_with_u8_array(&mut b).is_ok());
    if !filled {
        for x in &mut b {
            *x = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(36);
    for (i, x) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push(HEX[usize::from(x >> 4)] as char);
        s.push(HEX[usize::from(x & 15)] as char);
    }
    s
}

/// localStorage, or `None` where it is missing or throws (private modes,
/// sandboxed iframes, storage disabled).
fn storage() -> Option<Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// The parsed JSON stored under `key`, `null` if none.
pub fn load(key: &str) -> JsValue {
    match storage().and_then(|s| s.get_item(key).ok().flatten()) {
        Some(text) => parse(&text),
        None => JsValue::NULL,
    }
}

/// Stores `v` as JSON under `key`, or removes the key when `v` is `None`;
/// a full or disabled storage only loses persistence, never the chat.
pub fn store(key: &str, v: Option<&JsValue>) {
    if let Some(s) = storage() {
        let _ = match v {
            Some(v) => s.set_item(key, &stringify(v)),
            None => s.remove_item(key),
        };
    }
}

/// An HTTP answer: its status and its JSON body (`null` if not JSON).
pub struct Reply {
    pub status: u16,
    pub body: JsValue,
}

impl Reply {
    /// The contract's `{"error": {"message": …}}`, if the body carries one.
    pub fn error_message(&self) -> Option<String> {
        get_str(&get(&self.body, "error"), "message")
    }

    /// The error's `code`, or "".
    pub fn code(&self) -> String {
        get_str(&get(&self.body, "error"), "code").unwrap_or_default()
    }

    /// Whether the same request may succeed later (5xx, 408, 429, or the
    /// body says `retryable`).
    pub fn retryable(&self) -> bool {
        self.status >= 500
            || self.status == 408
            || self.status == 429
            || get(&get(&self.body, "error"), "retryable").as_bool() == Some(true)
    }

    /// `retry_after_ms` of a rate limit, or 0.
    pub fn retry_after_ms(&self) -> f64 {
        get(&get(&self.body, "error"), "retry_after_ms")
            .as_f64()
            .unwrap_or(0.0)
    }
}

/// Milliseconds since the epoch.
pub fn now() -> f64 {
    js_sys::Date::now()
}

/// `console.warn("DEFMIS Chat: " + why)`: the page supplied something we
/// cannot use, and its author should know.
pub fn warn(why: &str) {
    let mut s = String::from("DEFMIS Chat: ");
    s.push_str(why);
    web_sys::console::warn_1(&JsValue::from_str(&s));
}

/// One JSON request. `Err` means no HTTP answer at all (offline, DNS, CORS).
///
/// The request is aborted after `timeout_ms` (a socket-less proxy or a
/// half-dead connection must not hang a send or a long poll forever).
pub async fn request(
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<&Object>,
    timeout_ms: i32,
) -> Result<Reply, JsValue> {
    let init = RequestInit::new();
    init.set_method(method);
    let ctrl = AbortController::new()?;
    init.set_signal(Some(&ctrl.signal()));
    let window = web_sys::window().ok_or(JsValue::NULL)?;
    // `ctrl.abort.bind(ctrl)`: no Rust closure to keep alive.
    let abort = get(&ctrl, "abort")
        .unchecked_into::<Function>()
        .bind0(&ctrl);
    let timer = window
        .set_timeout_with_callback_and_timeout_and_arguments_0(&abort, timeout_ms)
        .ok();
    let headers = Object::new();
    if let Some(body) = body {
        set(
            &headers,
            "Content-Type",
            &JsValue::from_str("application/json"),
        );
        init.set_body(&JsValue::from_str(&stringify(body)));
    }
    if let Some(token) = token {
        let mut auth = String::from("Bearer ");
        auth.push_str(token);
        set(&headers, "Authorization", &JsValue::from_str(&auth));
    }
    init.set_headers(&headers);
    let result = async {
        let response: Response = JsFuture::from(window.fetch_with_str_and_init(url, &init))
            .await?
            .dyn_into()?;
        let body = match response.json() {
            Ok(p) => JsFuture::from(p).await.unwrap_or(JsValue::NULL),
            Err(_) => JsValue::NULL,
        };
        Ok::<_, JsValue>((response, body))
    }
    .await;
    if let Some(t) = timer {
        window.clear_timeout_with_handle(t);
    }
    let (response, body) = result?;
    Ok(Reply {
        status: response.status(),
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::{parse_uint, uint};

    #[test]
    fn formats_integers() {
        assert_eq!(uint(0), "0");
        assert_eq!(uint(7), "7");
        assert_eq!(uint(4000), "4000");
        assert_eq!(uint(18_446_744_073_709_551_615), "18446744073709551615");
        for t in [
            "0",
            "7",
            "+12",
            "",
            "+",
            "-1",
            "1a",
            " 1",
            "18446744073709551615",
            "18446744073709551616",
            "99999999999999999999",
        ] {
            assert_eq!(parse_uint(t), t.parse::<u64>().ok(), "{t}");
        }
    }
}
