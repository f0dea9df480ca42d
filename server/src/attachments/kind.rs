//! What a file is, decided from its bytes (magic numbers), never from its
//! name or the client's `Content-Type`: the allowlist is a set of
//! [`Kind`]s, and anything the bytes do not prove is refused.

use std::fmt;
use std::str::FromStr;

/// The file types an attachment may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Png,
    Jpeg,
    Gif,
    Webp,
    Pdf,
    Txt,
    Csv,
    Docx,
    Xlsx,
    Zip,
}

impl Kind {
    pub const ALL: [Kind; 10] = [
        Kind::Png,
        Kind::Jpeg,
        Kind::Gif,
        Kind::Webp,
        Kind::Pdf,
        Kind::Txt,
        Kind::Csv,
        Kind::Docx,
        Kind::Xlsx,
        Kind::Zip,
    ];

    /// The name in `ATTACHMENT_TYPES` and in the widget's config.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Png => "png",
            Kind::Jpeg => "jpeg",
            Kind::Gif => "gif",
            Kind::Webp => "webp",
            Kind::Pdf => "pdf",
            Kind::Txt => "txt",
            Kind::Csv => "csv",
            Kind::Docx => "docx",
            Kind::Xlsx => "xlsx",
            Kind::Zip => "zip",
        }
    }

    /// What the file is served as.
    pub fn content_type(self) -> &'static str {
        match self {
            Kind::Png => "image/png",
            Kind::Jpeg => "image/jpeg",
            Kind::Gif => "image/gif",
            Kind::Webp => "image/webp",
            Kind::Pdf => "application/pdf",
            Kind::Txt => "text/plain; charset=utf-8",
            Kind::Csv => "text/csv; charset=utf-8",
            Kind::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            Kind::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Kind::Zip => "application/zip",
        }
    }

    /// Raster images: shown inline (thumbnail, full size) and re-encoded
    /// for their thumbnail. Never SVG.
    pub fn is_image(self) -> bool {
        matches!(self, Kind::Png | Kind::Jpeg | Kind::Gif | Kind::Webp)
    }

    /// The kind a stored content type names (for rows written earlier).
    pub fn from_content_type(content_type: &str) -> Option<Kind> {
        Kind::ALL
            .into_iter()
            .find(|k| k.content_type() == content_type)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_lowercase();
        let s = if s == "jpg" { "jpeg".to_string() } else { s };
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Kind::ALL.iter().map(|k| k.as_str()).collect();
                format!("unknown type {s:?} (known: {})", names.join(", "))
            })
    }
}

/// How many leading bytes [`Sniffer`] looks at before it decides (the
/// local headers of an Office file's first entries are within them).
pub const HEAD: usize = 64 * 1024;

/// Decides a file's [`Kind`] while it streams: [`Sniffer::feed`] each
/// chunk, then [`Sniffer::finish`]. Binary formats are decided by their
/// first bytes; text is decided by every byte (valid UTF-8 without
/// control characters, and not markup a browser would run).
#[derive(Default)]
pub struct Sniffer {
    head: Vec<u8>,
    /// Every byte so far was text (checked chunk by chunk).
    text: bool,
    started: bool,
    /// A UTF-8 sequence cut by a chunk boundary.
    carry: Vec<u8>,
}

impl Sniffer {
    pub fn new() -> Self {
        Sniffer {
            text: true,
            ..Default::default()
        }
    }

    pub fn feed(&mut self, chunk: &[u8]) {
        if chunk.is_empty() {
            return;
        }
        self.started = true;
        if self.head.len() < HEAD {
            let take = (HEAD - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
        }
        if self.text {
            self.carry.extend_from_slice(chunk);
            let valid = match std::str::from_utf8(&self.carry) {
                Ok(s) => s.len(),
                Err(e) if e.error_len().is_none() => e.valid_up_to(),
                Err(_) => {
                    self.text = false;
                    self.carry.clear();
                    return;
                }
            };
            let (done, rest) = self.carry.split_at(valid);
            if done.iter().any(|&b| is_control(b)) {
                self.text = false;
                self.carry.clear();
                return;
            }
            self.carry = rest.to_vec();
        }
    }

    /// The first bytes seen so far: enough to refuse a binary file early.
    pub fn early(&self) -> Option<Kind> {
        binary(&self.head)
    }

    /// The file's kind, once every byte was fed; `name` only chooses
    /// between two kinds the bytes allow alike (a text file is `csv` when
    /// named so), never makes a file what its bytes are not.
    pub fn finish(self, name: &str) -> Option<Kind> {
        if let Some(kind) = binary(&self.head) {
            return Some(kind);
        }
        let text = self.text && self.carry.is_empty() && self.started;
        if !text || looks_like_markup(&self.head) {
            return None;
        }
        let csv = name.to_ascii_lowercase().ends_with(".csv");
        Some(if csv { Kind::Csv } else { Kind::Txt })
    }
}

/// A control character a text file does not hold (tab, line feed, form
/// feed and carriage return are text).
fn is_control(b: u8) -> bool {
    (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r')) || b == 0x7f
}

fn binary(head: &[u8]) -> Option<Kind> {
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(Kind::Png)
    } else if head.starts_with(&[0xff, 0xd8, 0xff]) {
        Some(Kind::Jpeg)
    } else if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        Some(Kind::Gif)
    } else if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        Some(Kind::Webp)
    } else if head.starts_with(b"%PDF-") {
        Some(Kind::Pdf)
    } else if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        Some(office(head))
    } else {
        None
    }
}

/// A zip is an Office file when its entries say so: `word/…` (docx) or
/// `xl/…` (xlsx) beside `[Content_Types].xml`, within the first bytes.
fn office(head: &[u8]) -> Kind {
    let mut at = 0;
    let (mut types, mut word, mut xl) = (false, false, false);
    // Local file headers: signature, 26 bytes, the name, the extra field,
    // then the data (its size is in the header unless a data descriptor
    // follows, in which case the walk stops).
    while at + 30 <= head.len() && head[at..].starts_with(b"PK\x03\x04") {
        let u16_at = |i: usize| u16::from_le_bytes([head[at + i], head[at + i + 1]]) as usize;
        let u32_at = |i: usize| {
            u32::from_le_bytes([
                head[at + i],
                head[at + i + 1],
                head[at + i + 2],
                head[at + i + 3],
            ]) as usize
        };
        let flags = u16_at(6);
        let compressed = u32_at(18);
        let name_len = u16_at(26);
        let extra_len = u16_at(28);
        let name_end = at + 30 + name_len;
        if name_end > head.len() {
            break;
        }
        let name = &head[at + 30..name_end];
        types |= name == b"[Content_Types].xml";
        word |= name.starts_with(b"word/");
        xl |= name.starts_with(b"xl/");
        if flags & 0x8 != 0 {
            break;
        }
        at = name_end + extra_len + compressed;
    }
    match (types, word, xl) {
        (true, true, false) => Kind::Docx,
        (true, false, true) => Kind::Xlsx,
        _ => Kind::Zip,
    }
}

/// Text a browser would treat as a page or an image with script: HTML,
/// SVG, XML. Never stored as text (and never served inline anyway).
fn looks_like_markup(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&head[..head.len().min(1024)]);
    let start = text
        .trim_start_matches('\u{feff}')
        .trim_start()
        .to_ascii_lowercase();
    [
        "<!doctype",
        "<html",
        "<svg",
        "<?xml",
        "<script",
        "<head",
        "<body",
        "<iframe",
        "<!--",
    ]
    .iter()
    .any(|tag| start.starts_with(tag))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sniff(bytes: &[u8], name: &str) -> Option<Kind> {
        let mut s = Sniffer::new();
        // Odd chunk sizes: a UTF-8 sequence is cut between chunks.
        for chunk in bytes.chunks(3) {
            s.feed(chunk);
        }
        s.finish(name)
    }

    /// A zip holding the named empty entries, as an Office program writes
    /// one (entries stored, sizes in the local headers).
    fn zip(names: &[&str]) -> Vec<u8> {
        let mut out = Vec::new();
        for name in names {
            out.extend_from_slice(b"PK\x03\x04");
            out.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            out.extend_from_slice(&[0; 4]); // crc
            out.extend_from_slice(&2u32.to_le_bytes()); // compressed
            out.extend_from_slice(&2u32.to_le_bytes()); // size
            out.extend_from_slice(&(name.len() as u16).to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes());
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"{}");
        }
        out.extend_from_slice(b"PK\x05\x06");
        out
    }

    #[test]
    fn binary_kinds_come_from_their_first_bytes_whatever_the_name() {
        assert_eq!(
            sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "report.pdf"),
            Some(Kind::Png)
        );
        assert_eq!(
            sniff(&[0xff, 0xd8, 0xff, 0xe0, 0, 16], "a.png"),
            Some(Kind::Jpeg)
        );
        assert_eq!(sniff(b"GIF89a\x01\0\x01\0", "x"), Some(Kind::Gif));
        assert_eq!(sniff(b"RIFF\x10\0\0\0WEBPVP8 ", "x.txt"), Some(Kind::Webp));
        assert_eq!(sniff(b"%PDF-1.7\n%\xe2\xe3", "x.png"), Some(Kind::Pdf));
    }

    #[test]
    fn office_files_are_told_from_other_zips_by_their_entries() {
        let docx = zip(&["[Content_Types].xml", "_rels/.rels", "word/document.xml"]);
        let xlsx = zip(&["[Content_Types].xml", "_rels/.rels", "xl/workbook.xml"]);
        let plain = zip(&["notes.txt", "word/but-no-content-types.xml"]);
        assert_eq!(sniff(&docx, "a.zip"), Some(Kind::Docx));
        assert_eq!(sniff(&xlsx, "a.docx"), Some(Kind::Xlsx));
        assert_eq!(sniff(&plain, "a.docx"), Some(Kind::Zip));
        assert_eq!(sniff(b"PK\x05\x06", "empty.zip"), Some(Kind::Zip));
        // A header that claims more than the bytes hold stops the walk.
        let mut cut = zip(&["[Content_Types].xml"]);
        cut.truncate(40);
        assert_eq!(sniff(&cut, "a"), Some(Kind::Zip));
    }

    #[test]
    fn text_is_utf8_without_control_characters_and_csv_by_name() {
        assert_eq!(
            sniff("héllo\tworld\r\n€ ✓".as_bytes(), "a.txt"),
            Some(Kind::Txt)
        );
        assert_eq!(sniff(b"a,b\n1,2\n", "Export.CSV"), Some(Kind::Csv));
        assert_eq!(sniff(b"a,b\n1,2\n", "export.png"), Some(Kind::Txt));
        assert_eq!(sniff(b"bad \xff byte", "a.txt"), None);
        assert_eq!(sniff(b"nul \0 byte", "a.txt"), None);
        assert_eq!(sniff(b"escape \x1b[31m", "a.txt"), None);
        // A multi-byte character cut off at the end is not text.
        assert_eq!(sniff(&"é".as_bytes()[..1], "a.txt"), None);
        assert_eq!(sniff(b"", "empty.txt"), None);
        let mut s = Sniffer::new();
        s.feed(b"");
        assert_eq!(s.finish("empty.txt"), None, "an empty chunk is no content");
    }

    #[test]
    fn markup_is_never_text() {
        for page in [
            "<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
            "\u{feff}  <!DOCTYPE html><p>hi",
            "<?xml version='1.0'?><svg/>",
            "\n<html><body onload=alert(1)>",
            "<script>alert(1)</script>",
        ] {
            assert_eq!(sniff(page.as_bytes(), "image.png"), None, "{page}");
        }
        assert_eq!(
            sniff(b"1 < 2 <html> is fine mid-text", "a.txt"),
            Some(Kind::Txt)
        );
    }

    #[test]
    fn type_names_parse_and_print() {
        assert_eq!("JPG".parse::<Kind>(), Ok(Kind::Jpeg));
        assert_eq!(" docx ".parse::<Kind>(), Ok(Kind::Docx));
        assert!("svg".parse::<Kind>().is_err());
        for kind in Kind::ALL {
            assert_eq!(kind.as_str().parse::<Kind>(), Ok(kind));
            assert_eq!(Kind::from_content_type(kind.content_type()), Some(kind));
        }
    }
}
