//! Download links and file names. A link is signed (HMAC-SHA256 with a key
//! derived from `SECRET_KEY`) and expires: only the API hands links out,
//! and only to the conversation's visitor and to agents, so a guessed id
//! is worth nothing. A name is metadata only (storage keys are ours); it is
//! cleaned before it is stored and quoted before it is sent.

use std::time::Duration;

use app::types::AttachmentView;

use crate::auth::{constant_time_eq, hex, hmac_sha256};
use crate::storage::attachments;

/// Links for the views the API hands out: signed by [`Signer`], valid for
/// the configured lifetime. Expiry times are rounded up to 5 minutes, so
/// the same file gets the same link for a while (browsers cache it).
#[derive(Clone)]
pub struct Links {
    signer: Signer,
    lifetime: Duration,
}

const ROUND_SECS: i64 = 300;

impl Links {
    pub fn new(secret: &[u8], lifetime: Duration) -> Self {
        Links {
            signer: Signer::new(secret),
            lifetime,
        }
    }

    /// Links for a store that shows no attachment (the benchmark seeder):
    /// under a random key, so nothing they sign works anywhere.
    pub fn unused() -> Self {
        Links::new(&rand::random::<[u8; 32]>(), Duration::from_secs(60))
    }

    pub fn signer(&self) -> &Signer {
        &self.signer
    }

    /// An attachment as the API shows it, with fresh links.
    pub fn view(&self, row: &attachments::Model) -> AttachmentView {
        let now = chrono::Utc::now().timestamp();
        let expires =
            (now + self.lifetime.as_secs() as i64).div_euclid(ROUND_SECS) * ROUND_SECS + ROUND_SECS;
        AttachmentView {
            id: row.id.clone(),
            name: row.name.clone(),
            size: row.size,
            content_type: row.content_type.clone(),
            url: self.signer.link(&row.id, Variant::File, expires),
            thumbnail_url: row
                .thumbnail_key
                .as_ref()
                .map(|_| self.signer.link(&row.id, Variant::Thumbnail, expires)),
            width: row.width,
            height: row.height,
        }
    }
}

/// Which file of an attachment a link fetches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    File,
    Thumbnail,
}

impl Variant {
    fn as_str(self) -> &'static str {
        match self {
            Variant::File => "file",
            Variant::Thumbnail => "thumbnail",
        }
    }
}

/// Signs and checks download links.
#[derive(Clone)]
pub struct Signer {
    key: [u8; 32],
}

impl Signer {
    /// A key for links only, derived from the server's secret (all
    /// instances share it, so a link from one works on every one).
    pub fn new(secret: &[u8]) -> Self {
        Signer {
            key: hmac_sha256(secret, &[b"defmis-chat attachment links v1"]),
        }
    }

    fn signature(&self, id: &str, variant: Variant, expires: i64) -> String {
        let message = format!("{id}\n{}\n{expires}", variant.as_str());
        hex(&hmac_sha256(&self.key, &[message.as_bytes()]))
    }

    /// The path and query of a link valid until `expires` (Unix seconds).
    pub fn link(&self, id: &str, variant: Variant, expires: i64) -> String {
        let sig = self.signature(id, variant, expires);
        let path = match variant {
            Variant::File => format!("/chat/api/attachments/{id}/"),
            Variant::Thumbnail => format!("/chat/api/attachments/{id}/thumbnail/"),
        };
        format!("{path}?expires={expires}&signature={sig}")
    }

    /// Whether `signature` is this server's for the link and `now` is
    /// before it expires.
    pub fn check(
        &self,
        id: &str,
        variant: Variant,
        expires: i64,
        signature: &str,
        now: i64,
    ) -> bool {
        constant_time_eq(&self.signature(id, variant, expires), signature) && now < expires
    }
}

/// The longest name kept, in characters.
pub const NAME_MAX: usize = 120;

/// A file name fit to show and to send: no directories, no control or
/// direction-changing characters, no leading dots, at most [`NAME_MAX`]
/// characters (the extension kept when it is cut), never empty.
pub fn clean_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let cleaned: String = base
        .chars()
        .filter(|c| {
            !c.is_control()
                && !matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
        })
        .map(|c| if matches!(c, '"' | ':' | '*' | '?' | '<' | '>' | '|') { '_' } else { c })
        .collect();
    let trimmed = cleaned.trim().trim_start_matches('.').trim();
    let name = if trimmed.chars().count() > NAME_MAX {
        let ext: String = match trimmed.rsplit_once('.') {
            Some((_, ext)) if ext.chars().count() <= 10 => format!(".{ext}"),
            _ => String::new(),
        };
        let keep = NAME_MAX - ext.chars().count();
        format!("{}{ext}", trimmed.chars().take(keep).collect::<String>())
    } else {
        trimmed.to_string()
    };
    if name.is_empty() {
        "file".into()
    } else {
        name
    }
}

/// `Content-Disposition` for a cleaned name: an ASCII fallback and the
/// UTF-8 name percent-encoded (RFC 6266).
pub fn content_disposition(inline: bool, name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '\\' && c != '"' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let kind = if inline { "inline" } else { "attachment" };
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_is_good_until_it_expires_and_only_as_signed() {
        let signer = Signer::new(b"a-secret-key-of-at-least-32-characters");
        let link = signer.link("abc", Variant::File, 1_000);
        assert!(link.starts_with("/chat/api/attachments/abc/?expires=1000&signature="));
        let sig = link.rsplit('=').next().unwrap_or_default();
        assert!(signer.check("abc", Variant::File, 1_000, sig, 999));
        assert!(
            !signer.check("abc", Variant::File, 1_000, sig, 1_000),
            "expired"
        );
        assert!(
            !signer.check("abc", Variant::File, 2_000, sig, 999),
            "expiry changed"
        );
        assert!(
            !signer.check("abd", Variant::File, 1_000, sig, 999),
            "other id"
        );
        assert!(
            !signer.check("abc", Variant::Thumbnail, 1_000, sig, 999),
            "other variant"
        );
        assert!(
            !signer.check("abc", Variant::File, 1_000, &sig[1..], 999),
            "cut"
        );
        assert!(!signer.check("abc", Variant::File, 1_000, "", 999));
        let other = Signer::new(b"another-secret-key-of-32-characters!!");
        assert!(
            !other.check("abc", Variant::File, 1_000, sig, 999),
            "other key"
        );
    }

    #[test]
    fn names_lose_paths_controls_and_length() {
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name("C:\\Users\\me\\report.pdf"), "report.pdf");
        assert_eq!(clean_name("a\r\nb\0c\u{7}.txt"), "abc.txt");
        assert_eq!(clean_name("evil\u{202e}gpj.exe"), "evilgpj.exe");
        assert_eq!(clean_name("..hidden"), "hidden");
        assert_eq!(clean_name("a\"b<c>.txt"), "a_b_c_.txt");
        assert_eq!(clean_name(""), "file");
        assert_eq!(clean_name("/"), "file");
        assert_eq!(clean_name(" . "), "file");
        let long = format!("{}.pdf", "é".repeat(300));
        let cut = clean_name(&long);
        assert_eq!(cut.chars().count(), NAME_MAX);
        assert!(cut.ends_with(".pdf"));
        assert_eq!(clean_name("informe año 2026.pdf"), "informe año 2026.pdf");
    }

    #[test]
    fn content_disposition_quotes_every_name_safely() {
        assert_eq!(
            content_disposition(false, "año 1.pdf"),
            "attachment; filename=\"a_o 1.pdf\"; filename*=UTF-8''a%C3%B1o%201.pdf"
        );
        assert!(content_disposition(true, "a.png").starts_with("inline; "));
        let header = content_disposition(false, &clean_name("x\"; filename=evil.html"));
        assert!(!header.contains("\"; filename=evil"));
        assert!(axum::http::HeaderValue::from_str(&header).is_ok());
    }
}
