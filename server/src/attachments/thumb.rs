//! Thumbnails: an image is decoded (within limits, so a small file that
//! claims a huge picture is refused rather than eating memory), scaled to
//! fit a box, and re-encoded — a new file that carries none of the
//! original's metadata.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, ImageReader, Limits};

use super::kind::Kind;

/// The box a thumbnail fits in, in pixels.
pub const BOX: u32 = 320;
/// The largest picture decoded, each side.
const MAX_SIDE: u32 = 12_000;
/// The most memory a decode may take.
const MAX_ALLOC: u64 = 256 * 1024 * 1024;

/// A thumbnail and what it was made from.
#[derive(Debug)]
pub struct Thumbnail {
    pub bytes: Vec<u8>,
    pub kind: Kind,
    /// The original's size in pixels.
    pub width: u32,
    pub height: u32,
}

/// The thumbnail of an image, or `None` when it does not decode within the
/// limits (the file is then kept and offered as a download only). PNG when
/// the image has transparency, JPEG otherwise. CPU-bound: call it off the
/// async threads.
pub fn thumbnail(kind: Kind, bytes: &[u8]) -> Option<Thumbnail> {
    let format = match kind {
        Kind::Png => ImageFormat::Png,
        Kind::Jpeg => ImageFormat::Jpeg,
        Kind::Gif => ImageFormat::Gif,
        Kind::Webp => ImageFormat::WebP,
        _ => return None,
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let image = reader.decode().ok()?;
    let (width, height) = (image.width(), image.height());
    let small = if width > BOX || height > BOX {
        image.thumbnail(BOX, BOX)
    } else {
        image
    };
    let mut out = Cursor::new(Vec::new());
    let kind = if small.color().has_alpha() {
        DynamicImage::ImageRgba8(small.to_rgba8())
            .write_to(&mut out, ImageFormat::Png)
            .ok()?;
        Kind::Png
    } else {
        let rgb = DynamicImage::ImageRgb8(small.to_rgb8());
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
            .encode_image(&rgb)
            .ok()?;
        Kind::Jpeg
    };
    Some(Thumbnail {
        bytes: out.into_inner(),
        kind,
        width,
        height,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, format).unwrap_or_default();
        out.into_inner()
    }

    #[test]
    fn a_big_photo_becomes_a_small_jpeg_and_keeps_its_size() {
        let photo = DynamicImage::ImageRgb8(image::RgbImage::from_fn(1000, 500, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
        }));
        let mut jpg = encode(&photo, ImageFormat::Jpeg);
        // Where the camera put its location: an EXIF segment after SOI.
        let exif = b"Exif\0\0GPS 40.4168 N 3.7038 W";
        let mut app1 = vec![0xff, 0xe1];
        app1.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
        app1.extend_from_slice(exif);
        jpg.splice(2..2, app1);
        let t = thumbnail(Kind::Jpeg, &jpg).expect("decodes");
        assert!(
            !t.bytes.windows(3).any(|w| w == b"GPS") && !t.bytes.windows(4).any(|w| w == b"Exif")
        );
        assert_eq!((t.width, t.height), (1000, 500));
        assert_eq!(t.kind, Kind::Jpeg);
        let back = image::load_from_memory(&t.bytes).expect("a real JPEG");
        assert_eq!((back.width(), back.height()), (BOX, BOX / 2));
    }

    #[test]
    fn transparency_gives_a_png_and_small_images_keep_their_size() {
        let icon = DynamicImage::ImageRgba8(image::RgbaImage::from_pixel(
            40,
            30,
            image::Rgba([1, 2, 3, 100]),
        ));
        let t = thumbnail(Kind::Png, &encode(&icon, ImageFormat::Png)).expect("decodes");
        assert_eq!(t.kind, Kind::Png);
        let back = image::load_from_memory(&t.bytes).expect("a real PNG");
        assert_eq!((back.width(), back.height()), (40, 30));
    }

    #[test]
    fn broken_or_oversized_images_give_no_thumbnail() {
        assert!(thumbnail(Kind::Png, b"\x89PNG\r\n\x1a\nnot really").is_none());
        assert!(thumbnail(Kind::Pdf, b"%PDF-1.4").is_none());
        // A tiny PNG whose header claims 20,000 × 20,000 pixels.
        let wide = DynamicImage::ImageLuma8(image::GrayImage::new(1, 1));
        let mut png = encode(&wide, ImageFormat::Png);
        png[16..20].copy_from_slice(&20_000u32.to_be_bytes());
        png[20..24].copy_from_slice(&20_000u32.to_be_bytes());
        assert!(thumbnail(Kind::Png, &png).is_none());
    }
}
