//! Removes what an image says about where and when it was taken (EXIF,
//! XMP, IPTC, comments, text chunks) without re-encoding its pixels: the
//! image served full size is the visitor's picture, minus its metadata.
//! The container is walked chunk by chunk; one that does not parse is
//! refused (it is not the image its first bytes claim).

use super::kind::Kind;

/// The image without its metadata, or `None` when it does not parse.
pub fn strip(kind: Kind, bytes: &[u8]) -> Option<Vec<u8>> {
    match kind {
        Kind::Jpeg => jpeg(bytes),
        Kind::Png => png(bytes),
        Kind::Webp => webp(bytes),
        Kind::Gif => gif(bytes),
        _ => None,
    }
}

/// JPEG: every segment before the scan is copied but APP1 (EXIF, XMP),
/// APP13 (IPTC) and COM; from the scan on, the bytes are copied as they are.
fn jpeg(b: &[u8]) -> Option<Vec<u8>> {
    if !b.starts_with(&[0xff, 0xd8]) {
        return None;
    }
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(&b[..2]);
    let mut at = 2;
    loop {
        // Markers may be padded with fill bytes.
        while b.get(at) == Some(&0xff) && b.get(at + 1) == Some(&0xff) {
            at += 1;
        }
        if *b.get(at)? != 0xff {
            return None;
        }
        let marker = *b.get(at + 1)?;
        match marker {
            // Standalone markers: no length.
            0x01 | 0xd0..=0xd7 => {
                out.extend_from_slice(&b[at..at + 2]);
                at += 2;
                continue;
            }
            0xd9 => {
                out.extend_from_slice(&b[at..at + 2]);
                return Some(out);
            }
            _ => {}
        }
        let len = u16::from_be_bytes([*b.get(at + 2)?, *b.get(at + 3)?]) as usize;
        if len < 2 {
            return None;
        }
        let end = at + 2 + len;
        let segment = b.get(at..end)?;
        if marker == 0xda {
            // Start of scan: the rest is image data (and later markers).
            out.extend_from_slice(&b[at..]);
            return Some(out);
        }
        if !matches!(marker, 0xe1 | 0xed | 0xfe) {
            out.extend_from_slice(segment);
        }
        at = end;
    }
}

/// PNG: every chunk but `eXIf`, the text chunks and `tIME`.
fn png(b: &[u8]) -> Option<Vec<u8>> {
    const SIG: &[u8] = b"\x89PNG\r\n\x1a\n";
    if !b.starts_with(SIG) {
        return None;
    }
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(SIG);
    let mut at = SIG.len();
    loop {
        let len = u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?) as usize;
        let kind = b.get(at + 4..at + 8)?;
        let end = at.checked_add(12)?.checked_add(len)?;
        let chunk = b.get(at..end)?;
        if !matches!(kind, b"eXIf" | b"tEXt" | b"zTXt" | b"iTXt" | b"tIME") {
            out.extend_from_slice(chunk);
        }
        if kind == b"IEND" {
            return Some(out);
        }
        at = end;
    }
}

/// WebP: every RIFF chunk but `EXIF` and `XMP `, with the extended
/// header's flags for them cleared and the RIFF size recomputed.
fn webp(b: &[u8]) -> Option<Vec<u8>> {
    if b.len() < 12 || &b[..4] != b"RIFF" || &b[8..12] != b"WEBP" {
        return None;
    }
    let riff_end = (8 + u32::from_le_bytes(b[4..8].try_into().ok()?) as usize).min(b.len());
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(b"RIFF\0\0\0\0WEBP");
    let mut at = 12;
    while at + 8 <= riff_end {
        let fourcc = &b[at..at + 4];
        let len = u32::from_le_bytes(b[at + 4..at + 8].try_into().ok()?) as usize;
        let end = at + 8 + len + (len & 1);
        let chunk = b.get(at..end.min(riff_end))?;
        if chunk.len() < 8 + len {
            return None;
        }
        match fourcc {
            b"EXIF" | b"XMP " => {}
            b"VP8X" => {
                let start = out.len();
                out.extend_from_slice(chunk);
                if let Some(flags) = out.get_mut(start + 8) {
                    *flags &= !(0x08 | 0x04);
                }
            }
            _ => out.extend_from_slice(chunk),
        }
        at = end;
    }
    let size = u32::try_from(out.len() - 8).ok()?;
    out[4..8].copy_from_slice(&size.to_le_bytes());
    Some(out)
}

/// GIF: every block but comments and application extensions other than
/// the animation loop (`NETSCAPE2.0`, `ANIMEXTS1.0`), where XMP lives.
fn gif(b: &[u8]) -> Option<Vec<u8>> {
    if b.len() < 13 || !(b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a")) {
        return None;
    }
    let table = |flags: u8| {
        if flags & 0x80 != 0 {
            3usize << ((flags & 7) + 1)
        } else {
            0
        }
    };
    let mut at = 13 + table(b[10]);
    let mut out = b.get(..at)?.to_vec();
    // Data sub-blocks: a length byte, that many bytes, until a zero.
    let blocks = |mut at: usize| -> Option<usize> {
        loop {
            let n = *b.get(at)? as usize;
            at += 1 + n;
            if n == 0 {
                return Some(at);
            }
        }
    };
    loop {
        match *b.get(at)? {
            0x3b => {
                out.push(0x3b);
                return Some(out);
            }
            0x2c => {
                let flags = *b.get(at + 9)?;
                // Descriptor, local colour table, LZW code size, data.
                let data = at + 10 + table(flags) + 1;
                let end = blocks(data)?;
                out.extend_from_slice(b.get(at..end)?);
                at = end;
            }
            0x21 => {
                let label = *b.get(at + 1)?;
                let end = blocks(at + 2)?;
                let keep = match label {
                    0xfe => false,
                    0xff => {
                        let id = b.get(at + 3..at + 14)?;
                        id == b"NETSCAPE2.0" || id == b"ANIMEXTS1.0"
                    }
                    _ => true,
                };
                if keep {
                    out.extend_from_slice(b.get(at..end)?);
                }
                at = end;
            }
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn jpeg_loses_exif_xmp_and_comments_and_keeps_the_rest() {
        let exif = b"Exif\0\0GPS 40.4168 N 3.7038 W";
        let mut jpg = vec![0xff, 0xd8];
        jpg.extend_from_slice(&[0xff, 0xe0, 0, 6, b'J', b'F', b'I', b'F']); // APP0
        jpg.extend_from_slice(&[0xff, 0xe1]);
        jpg.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
        jpg.extend_from_slice(exif);
        jpg.extend_from_slice(&[0xff, 0xfe, 0, 6, b'c', b'o', b'm', b'm']); // COM
        jpg.extend_from_slice(&[0xff, 0xdb, 0, 4, 1, 2]); // DQT
        jpg.extend_from_slice(&[0xff, 0xda, 0, 4, 9, 9, 0x12, 0x34, 0xff, 0x00, 0xff, 0xd9]);
        let out = strip(Kind::Jpeg, &jpg).expect("parses");
        assert!(!contains(&out, b"GPS"));
        assert!(!contains(&out, b"comm"));
        assert!(contains(&out, b"JFIF"));
        assert!(out.ends_with(&[0xff, 0xda, 0, 4, 9, 9, 0x12, 0x34, 0xff, 0x00, 0xff, 0xd9]));
        assert_eq!(out.len(), jpg.len() - (exif.len() + 4) - 8);
        // Cut short, or not a JPEG: refused.
        assert_eq!(strip(Kind::Jpeg, &jpg[..20]), None);
        assert_eq!(strip(Kind::Jpeg, b"\xff\xd8\x00"), None);
    }

    fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut c = (data.len() as u32).to_be_bytes().to_vec();
        c.extend_from_slice(kind);
        c.extend_from_slice(data);
        c.extend_from_slice(&[0; 4]);
        c
    }

    #[test]
    fn png_loses_exif_and_text_chunks() {
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend(png_chunk(b"IHDR", &[0; 13]));
        png.extend(png_chunk(b"eXIf", b"GPS here"));
        png.extend(png_chunk(b"tEXt", b"Author\0me"));
        png.extend(png_chunk(b"IDAT", b"pixels"));
        png.extend(png_chunk(b"IEND", b""));
        let out = strip(Kind::Png, &png).expect("parses");
        assert!(!contains(&out, b"GPS") && !contains(&out, b"Author"));
        assert!(
            contains(&out, b"IHDR")
                && contains(&out, b"pixels")
                && out.ends_with(&png_chunk(b"IEND", b""))
        );
        assert_eq!(strip(Kind::Png, &png[..30]), None);
        // A length that overflows is refused, not a panic.
        let mut huge = b"\x89PNG\r\n\x1a\n".to_vec();
        huge.extend_from_slice(&[0xff; 8]);
        assert_eq!(strip(Kind::Png, &huge), None);
    }

    #[test]
    fn webp_loses_exif_and_xmp_and_their_flags() {
        let chunk = |fourcc: &[u8; 4], data: &[u8]| {
            let mut c = fourcc.to_vec();
            c.extend_from_slice(&(data.len() as u32).to_le_bytes());
            c.extend_from_slice(data);
            if data.len() % 2 == 1 {
                c.push(0);
            }
            c
        };
        let mut body = b"WEBP".to_vec();
        body.extend(chunk(b"VP8X", &[0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
        body.extend(chunk(b"VP8 ", b"frame"));
        body.extend(chunk(b"EXIF", b"GPS 1"));
        body.extend(chunk(b"XMP ", b"<x:xmpmeta/>"));
        let mut webp = b"RIFF".to_vec();
        webp.extend_from_slice(&(body.len() as u32).to_le_bytes());
        webp.extend(body);
        let out = strip(Kind::Webp, &webp).expect("parses");
        assert!(!contains(&out, b"GPS") && !contains(&out, b"xmpmeta"));
        assert!(contains(&out, b"frame"));
        assert_eq!(
            out[20] & 0x0c,
            0,
            "the VP8X flags no longer claim EXIF or XMP"
        );
        assert_eq!(
            u32::from_le_bytes(out[4..8].try_into().unwrap_or_default()) as usize,
            out.len() - 8
        );
    }

    #[test]
    fn gif_loses_comments_and_xmp_and_keeps_frames_and_looping() {
        let mut gif = b"GIF89a\x01\0\x01\0\x80\0\0".to_vec();
        gif.extend_from_slice(&[0, 0, 0, 255, 255, 255]); // global table, 2 colours
        gif.extend_from_slice(b"\x21\xff\x0bNETSCAPE2.0\x03\x01\0\0\0");
        gif.extend_from_slice(b"\x21\xff\x0bXMP DataXMP\x05GPS 1\0");
        gif.extend_from_slice(b"\x21\xfe\x07comment\0");
        gif.extend_from_slice(b"\x21\xf9\x04\0\0\0\0\0"); // graphic control
        gif.extend_from_slice(b"\x2c\0\0\0\0\x01\0\x01\0\0\x02\x02\x44\x01\0");
        gif.push(0x3b);
        let out = strip(Kind::Gif, &gif).expect("parses");
        assert!(!contains(&out, b"GPS") && !contains(&out, b"comment"));
        assert!(contains(&out, b"NETSCAPE2.0") && contains(&out, b"\x02\x02\x44\x01\0"));
        assert_eq!(out.last(), Some(&0x3b));
        assert_eq!(strip(Kind::Gif, &gif[..gif.len() - 4]), None);
    }
}
