//! Finding `http://` and `https://` links in message text, so they can be
//! made clickable without ever parsing the text as HTML: the text is cut
//! into pieces that become text nodes or `<a>` elements built with
//! `createElement` + `textContent`.

/// Splits `text` into `(is_link, piece)` runs, in order; concatenated they
/// give back `text`. Only http(s) URLs are links; trailing punctuation
/// (`.`, `,`, `)`, …) stays text.
pub fn split(text: &str) -> Vec<(bool, &str)> {
    let mut out = Vec::new();
    let mut rest = text;
    let mut plain = 0;
    // `get` instead of indexing: every offset is an ASCII boundary, and no
    // slicing panic path (which drags in `core::fmt`) is compiled in.
    while let Some(at) = find_scheme(sub(rest, plain, rest.len())) {
        let start = plain + at;
        let url_len = url_end(sub(rest, start, rest.len()));
        let scheme_len = if rest.as_bytes().get(start + 4) == Some(&b's') {
            8
        } else {
            7
        };
        if url_len <= scheme_len {
            plain = start + scheme_len;
            continue;
        }
        if start > 0 {
            out.push((false, sub(rest, 0, start)));
        }
        out.push((true, sub(rest, start, start + url_len)));
        rest = sub(rest, start + url_len, rest.len());
        plain = 0;
    }
    if !rest.is_empty() {
        out.push((false, rest));
    }
    out
}

/// `&s[a..b]` without a panic path (empty if out of range, which the
/// callers never ask for).
fn sub(s: &str, a: usize, b: usize) -> &str {
    s.get(a..b).unwrap_or_default()
}

/// Byte offset of the next `http://` or `https://` (any case) that starts a
/// word.
fn find_scheme(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut prev = 0u8;
    for (i, &c) in b.iter().enumerate() {
        let boundary = !prev.is_ascii_alphanumeric();
        prev = c;
        let tail = b.get(i..).unwrap_or_default();
        if tail.len() < 7 {
            break;
        }
        if boundary
            && tail
                .get(..4)
                .is_some_and(|h| h.eq_ignore_ascii_case(b"http"))
            && (tail.get(4..7) == Some(b"://")
                || tail
                    .get(4..8)
                    .is_some_and(|t| t.eq_ignore_ascii_case(b"s://")))
        {
            return Some(i);
        }
    }
    None
}

/// Length of the URL at the start of `s`: up to whitespace or a character
/// that cannot be part of one, minus trailing punctuation.
fn url_end(s: &str) -> usize {
    let end = s
        .char_indices()
        .find(|(_, c)| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | '`'))
        .map_or(s.len(), |(i, _)| i);
    let url = s.as_bytes().get(..end).unwrap_or_default();
    url.iter()
        .rposition(|b| {
            !matches!(
                b,
                b'.' | b',' | b';' | b':' | b'!' | b'?' | b')' | b']' | b'}' | b'\''
            )
        })
        .map_or(0, |i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn finds_links_and_keeps_the_rest_as_text() {
        assert_eq!(
            split("see https://example.com/a?b=1. ok"),
            vec![
                (false, "see "),
                (true, "https://example.com/a?b=1"),
                (false, ". ok")
            ]
        );
        assert_eq!(
            split("(http://x.io)"),
            vec![(false, "("), (true, "http://x.io"), (false, ")")]
        );
        assert_eq!(split("HTTPS://A.B"), vec![(true, "HTTPS://A.B")]);
        assert_eq!(split("no links here"), vec![(false, "no links here")]);
        assert_eq!(split(""), Vec::<(bool, &str)>::new());
    }

    #[test]
    fn only_http_and_https_are_links() {
        for s in [
            "javascript:alert(1)",
            "data:text/html,<b>x</b>",
            "xhttp://a.b",
            "http://",
            "ftp://a.b",
            "<a href=javascript:alert(1)>x</a>",
        ] {
            assert!(split(s).iter().all(|(link, _)| !link), "{s}");
        }
        assert_eq!(
            split("<img src=x onerror=alert(1)>https://a.b\"onclick=x"),
            vec![
                (false, "<img src=x onerror=alert(1)>"),
                (true, "https://a.b"),
                (false, "\"onclick=x")
            ]
        );
    }

    #[test]
    fn pieces_give_back_the_text() {
        let s = "a http://b.c/d, e https://ü.de/ä f http:// g";
        let joined: String = split(s).iter().map(|(_, p)| *p).collect();
        assert_eq!(joined, s);
    }
}
