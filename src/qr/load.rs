//! Image bytes to greyscale pixels: PNG, JPEG (with its EXIF orientation) and WebP, told apart by
//! their content (magic bytes), never by a file name or a declared content type.
//!
//! Every decoder's declared dimensions are checked against `Limits::max_image_pixels` *before*
//! a pixel buffer is allocated.

use crate::hcert::error::DecodeError;
use crate::hcert::limits::Limits;

/// A greyscale picture, row-major, one byte per pixel (0 black, 255 white).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grey {
    pub w: usize,
    pub h: usize,
    pub px: Vec<u8>,
}

impl Grey {
    /// The pixel at (x, y); white outside the picture.
    #[inline]
    pub fn at(&self, x: usize, y: usize) -> u8 {
        if x < self.w {
            self.px.get(y * self.w + x).copied().unwrap_or(255)
        } else {
            255
        }
    }
}

/// The container formats recognised by their first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Png,
    Jpeg,
    Webp,
}

/// The format of `bytes`, from its magic number.
pub fn sniff(bytes: &[u8]) -> Option<Kind> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(Kind::Png)
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(Kind::Jpeg)
    } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        Some(Kind::Webp)
    } else {
        None
    }
}

/// Decodes `bytes` to greyscale, upright (EXIF orientation applied).
pub fn load(bytes: &[u8], limits: &Limits) -> Result<Grey, DecodeError> {
    if bytes.len() > limits.max_image_bytes {
        return Err(DecodeError::ImageTooLarge);
    }
    match sniff(bytes).ok_or(DecodeError::ImageInvalid)? {
        Kind::Png => decode_png(bytes, limits),
        Kind::Jpeg => {
            let img = decode_jpeg(bytes, limits)?;
            Ok(orient(img, exif_orientation(bytes)))
        }
        Kind::Webp => decode_webp(bytes, limits),
    }
}

fn check_dims(w: usize, h: usize, limits: &Limits) -> Result<(), DecodeError> {
    match w.checked_mul(h) {
        Some(px) if px <= limits.max_image_pixels && w > 0 && h > 0 => Ok(()),
        _ => Err(DecodeError::ImageTooLarge),
    }
}

fn decode_png(bytes: &[u8], limits: &Limits) -> Result<Grey, DecodeError> {
    use png::{ColorType, Transformations};
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    // EXPAND turns palettes into RGB(A) and low bit depths into 8 bits.
    decoder.set_transformations(Transformations::EXPAND | Transformations::STRIP_16);
    decoder.set_limits(png::Limits {
        bytes: limits.max_image_pixels.saturating_mul(4),
    });
    let mut reader = decoder.read_info().map_err(png_error)?;
    let (w, h) = {
        let info = reader.info();
        (info.width as usize, info.height as usize)
    };
    check_dims(w, h, limits)?;
    let size = reader
        .output_buffer_size()
        .ok_or(DecodeError::ImageTooLarge)?;
    let mut buf = vec![0u8; size];
    let frame = reader.next_frame(&mut buf).map_err(png_error)?;
    let channels = match frame.color_type {
        ColorType::Grayscale => 1,
        ColorType::GrayscaleAlpha => 2,
        ColorType::Rgb => 3,
        ColorType::Rgba => 4,
        ColorType::Indexed => return Err(DecodeError::ImageInvalid),
    };
    to_grey(&buf, w, h, frame.line_size, channels)
}

/// The decoder's own limit (declared size over `max_image_pixels`) is "too large"; anything
/// else is an image that is not valid.
fn png_error(e: png::DecodingError) -> DecodeError {
    match e {
        png::DecodingError::LimitsExceeded => DecodeError::ImageTooLarge,
        _ => DecodeError::ImageInvalid,
    }
}

fn to_grey(
    buf: &[u8],
    w: usize,
    h: usize,
    line: usize,
    channels: usize,
) -> Result<Grey, DecodeError> {
    let mut px = Vec::with_capacity(w * h);
    for y in 0..h {
        let row = buf
            .get(y * line..y * line + w * channels)
            .ok_or(DecodeError::ImageInvalid)?;
        px.extend(row.chunks_exact(channels).map(luma));
    }
    Ok(Grey { w, h, px })
}

/// Greyscale from 1–4 channels; transparent pixels count as white (screenshots on white).
fn luma(px: &[u8]) -> u8 {
    let (l, alpha) = match *px {
        [g] => (u32::from(g), 255),
        [g, a] => (u32::from(g), u32::from(a)),
        [r, g, b] => (
            (u32::from(r) * 299 + u32::from(g) * 587 + u32::from(b) * 114) / 1000,
            255,
        ),
        [r, g, b, a] => (
            (u32::from(r) * 299 + u32::from(g) * 587 + u32::from(b) * 114) / 1000,
            u32::from(a),
        ),
        _ => (255, 255),
    };
    let blended = (l * alpha + 255 * (255 - alpha)) / 255;
    u8::try_from(blended).unwrap_or(u8::MAX)
}

fn decode_jpeg(bytes: &[u8], limits: &Limits) -> Result<Grey, DecodeError> {
    use zune_core::bytestream::ZCursor;
    use zune_core::colorspace::ColorSpace;
    use zune_core::options::DecoderOptions;
    let side = limits.max_image_pixels.min(1 << 16);
    let options = DecoderOptions::default()
        .jpeg_set_out_colorspace(ColorSpace::Luma)
        .set_max_width(side)
        .set_max_height(side);
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    decoder
        .decode_headers()
        .map_err(|_| DecodeError::ImageInvalid)?;
    let info = decoder.info().ok_or(DecodeError::ImageInvalid)?;
    let (w, h) = (usize::from(info.width), usize::from(info.height));
    check_dims(w, h, limits)?;
    let px = decoder.decode().map_err(|_| DecodeError::ImageInvalid)?;
    if px.len() != w * h {
        return Err(DecodeError::ImageInvalid);
    }
    Ok(Grey { w, h, px })
}

fn decode_webp(bytes: &[u8], limits: &Limits) -> Result<Grey, DecodeError> {
    let mut decoder = image_webp::WebPDecoder::new(std::io::Cursor::new(bytes))
        .map_err(|_| DecodeError::ImageInvalid)?;
    let (w, h) = decoder.dimensions();
    let (w, h) = (w as usize, h as usize);
    check_dims(w, h, limits)?;
    let channels = if decoder.has_alpha() { 4 } else { 3 };
    let size = decoder
        .output_buffer_size()
        .filter(|s| *s == w * h * channels)
        .ok_or(DecodeError::ImageInvalid)?;
    let mut buf = vec![0u8; size];
    decoder
        .read_image(&mut buf)
        .map_err(|_| DecodeError::ImageInvalid)?;
    to_grey(&buf, w, h, w * channels, channels)
}

/// Most JPEG segments read while looking for the EXIF block (it comes first in practice).
const MAX_SEGMENTS: usize = 32;

/// The EXIF orientation (1–8) of a JPEG, 1 when absent or malformed.
pub fn exif_orientation(jpeg: &[u8]) -> u16 {
    exif_orientation_checked(jpeg).unwrap_or(1)
}

fn exif_orientation_checked(jpeg: &[u8]) -> Option<u16> {
    let mut pos = 2; // after SOI
    for _ in 0..MAX_SEGMENTS {
        let marker = *jpeg.get(pos + 1)?;
        if *jpeg.get(pos)? != 0xFF || marker == 0xDA || marker == 0xD9 {
            return None; // start of scan or end of image: no EXIF before the pixels
        }
        let len = usize::from(u16::from_be_bytes([
            *jpeg.get(pos + 2)?,
            *jpeg.get(pos + 3)?,
        ]));
        let body = jpeg.get(pos + 4..pos + 2 + len)?;
        if marker == 0xE1
            && let Some(tiff) = body.strip_prefix(b"Exif\0\0")
        {
            return tiff_orientation(tiff);
        }
        pos += 2 + len;
    }
    None
}

fn tiff_orientation(tiff: &[u8]) -> Option<u16> {
    let big = match tiff.get(0..2)? {
        b"MM" => true,
        b"II" => false,
        _ => return None,
    };
    let u16_at = |o: usize| -> Option<u16> {
        let b = [*tiff.get(o)?, *tiff.get(o + 1)?];
        Some(if big {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    };
    let u32_at = |o: usize| -> Option<u32> {
        let b = [
            *tiff.get(o)?,
            *tiff.get(o + 1)?,
            *tiff.get(o + 2)?,
            *tiff.get(o + 3)?,
        ];
        Some(if big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    let ifd = usize::try_from(u32_at(4)?).ok()?;
    let count = usize::from(u16_at(ifd)?).min(256);
    (0..count).find_map(|i| {
        let entry = ifd + 2 + i * 12;
        (u16_at(entry)? == 0x0112)
            .then(|| u16_at(entry + 8))
            .flatten()
            .filter(|o| (1..=8).contains(o))
    })
}

/// Turns a picture stored with EXIF `orientation` upright (TIFF 6.0 / EXIF 2.3 tag 0x0112).
pub fn orient(img: Grey, orientation: u16) -> Grey {
    let (w, h) = (img.w, img.h);
    // For each output pixel, the source pixel: (output width, height, map).
    let (ow, oh): (usize, usize) = if orientation >= 5 { (h, w) } else { (w, h) };
    let src = |x: usize, y: usize| -> (usize, usize) {
        match orientation {
            2 => (w - 1 - x, y),
            3 => (w - 1 - x, h - 1 - y),
            4 => (x, h - 1 - y),
            5 => (y, x),
            6 => (y, h - 1 - x),
            7 => (w - 1 - y, h - 1 - x),
            8 => (w - 1 - y, x),
            _ => (x, y),
        }
    };
    if !(2..=8).contains(&orientation) {
        return img;
    }
    let mut px = Vec::with_capacity(ow * oh);
    for y in 0..oh {
        for x in 0..ow {
            let (sx, sy) = src(x, y);
            px.push(img.at(sx, sy));
        }
    }
    Grey { w: ow, h: oh, px }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Grey {
        // 3 × 2:  0 1 2 / 3 4 5
        Grey {
            w: 3,
            h: 2,
            px: vec![0, 1, 2, 3, 4, 5],
        }
    }

    #[test]
    fn orientations_turn_the_picture_upright() {
        assert_eq!(orient(sample(), 1).px, [0, 1, 2, 3, 4, 5]);
        assert_eq!(orient(sample(), 2).px, [2, 1, 0, 5, 4, 3]);
        assert_eq!(orient(sample(), 3).px, [5, 4, 3, 2, 1, 0]);
        assert_eq!(orient(sample(), 4).px, [3, 4, 5, 0, 1, 2]);
        // Stored rotated 90° counter-clockwise (6 = rotate 90° CW to view): 2 × 3 upright.
        let six = orient(sample(), 6);
        assert_eq!((six.w, six.h), (2, 3));
        assert_eq!(six.px, [3, 0, 4, 1, 5, 2]);
        let eight = orient(sample(), 8);
        assert_eq!(eight.px, [2, 5, 1, 4, 0, 3]);
        assert_eq!(orient(sample(), 5).px, [0, 3, 1, 4, 2, 5]);
        assert_eq!(orient(sample(), 7).px, [5, 2, 4, 1, 3, 0]);
    }

    fn jpeg_with_exif(orientation: u16, big_endian: bool) -> Vec<u8> {
        let mut tiff = Vec::new();
        type Encoders = (fn(u16) -> [u8; 2], fn(u32) -> [u8; 4]);
        let (u16b, u32b): Encoders = if big_endian {
            tiff.extend_from_slice(b"MM");
            (u16::to_be_bytes, u32::to_be_bytes)
        } else {
            tiff.extend_from_slice(b"II");
            (u16::to_le_bytes, u32::to_le_bytes)
        };
        tiff.extend_from_slice(&u16b(42));
        tiff.extend_from_slice(&u32b(8));
        tiff.extend_from_slice(&u16b(1));
        tiff.extend_from_slice(&u16b(0x0112));
        tiff.extend_from_slice(&u16b(3));
        tiff.extend_from_slice(&u32b(1));
        tiff.extend_from_slice(&u16b(orientation));
        tiff.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        let mut body = b"Exif\0\0".to_vec();
        body.extend_from_slice(&tiff);
        let mut out = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 0, 0]; // SOI, empty APP0
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&u16::try_from(body.len() + 2).unwrap_or(0).to_be_bytes());
        out.extend_from_slice(&body);
        out.extend_from_slice(&[0xFF, 0xDA]);
        out
    }

    #[test]
    fn exif_orientation_in_both_byte_orders() {
        assert_eq!(exif_orientation(&jpeg_with_exif(6, true)), 6);
        assert_eq!(exif_orientation(&jpeg_with_exif(8, false)), 8);
        assert_eq!(exif_orientation(&jpeg_with_exif(9, false)), 1);
        assert_eq!(exif_orientation(&[0xFF, 0xD8, 0xFF, 0xDA]), 1);
        // Truncated in the middle of the block: no panic, no orientation.
        let full = jpeg_with_exif(3, true);
        for cut in 0..full.len() {
            let o = exif_orientation(full.get(..cut).unwrap_or_default());
            assert!(o == 1 || o == 3);
        }
    }

    #[test]
    fn formats_are_sniffed_from_content() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest"), Some(Kind::Png));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some(Kind::Jpeg));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(Kind::Webp));
        assert_eq!(sniff(b"RIFF\0\0\0\0WAVE"), None);
        assert_eq!(sniff(b"GIF89a"), None);
    }
}
