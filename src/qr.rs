//! Finding the QR code in a photo or screenshot (PNG or JPEG).
//!
//! Bounded: the encoded image may not exceed `Limits::max_image_bytes`, and its declared
//! dimensions are checked against `Limits::max_image_pixels` *before* any pixel buffer is
//! allocated. Pixels are reduced to greyscale and handed to `rqrr`. Every grid found is tried;
//! the first one that decodes to text wins. This is CPU-heavy: async callers must run it on a
//! blocking thread.

use crate::hcert::error::DecodeError;
use crate::hcert::limits::Limits;

/// Returns the text of the first decodable QR code in the image.
pub fn decode_image(bytes: &[u8], limits: &Limits) -> Result<String, DecodeError> {
    if bytes.len() > limits.max_image_bytes {
        return Err(DecodeError::ImageTooLarge);
    }
    let (width, height, grey) = if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        decode_png(bytes, limits)?
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        decode_jpeg(bytes, limits)?
    } else {
        return Err(DecodeError::ImageInvalid);
    };
    find_qr(width, height, &grey)
}

fn check_dims(width: usize, height: usize, limits: &Limits) -> Result<(), DecodeError> {
    match width.checked_mul(height) {
        Some(px) if px <= limits.max_image_pixels && width > 0 && height > 0 => Ok(()),
        _ => Err(DecodeError::ImageTooLarge),
    }
}

fn decode_png(bytes: &[u8], limits: &Limits) -> Result<(usize, usize, Vec<u8>), DecodeError> {
    use png::{ColorType, Transformations};
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
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
    let line = frame.line_size;
    let mut grey = Vec::with_capacity(w * h);
    for y in 0..h {
        let row = buf
            .get(y * line..y * line + w * channels)
            .ok_or(DecodeError::ImageInvalid)?;
        for px in row.chunks_exact(channels) {
            grey.push(luma(px));
        }
    }
    Ok((w, h, grey))
}

/// The decoder's own limit (declared size over `max_image_pixels`) is "too large"; anything
/// else is an image that is not valid.
fn png_error(e: png::DecodingError) -> DecodeError {
    match e {
        png::DecodingError::LimitsExceeded => DecodeError::ImageTooLarge,
        _ => DecodeError::ImageInvalid,
    }
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

fn decode_jpeg(bytes: &[u8], limits: &Limits) -> Result<(usize, usize, Vec<u8>), DecodeError> {
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
    let grey = decoder.decode().map_err(|_| DecodeError::ImageInvalid)?;
    if grey.len() != w * h {
        return Err(DecodeError::ImageInvalid);
    }
    Ok((w, h, grey))
}

fn find_qr(width: usize, height: usize, grey: &[u8]) -> Result<String, DecodeError> {
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| {
        grey.get(y * width + x).copied().unwrap_or(255)
    });
    // rqrr is defensive but third-party; a panic inside it must not take the caller down.
    let found = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        img.detect_grids()
            .into_iter()
            .find_map(|grid| grid.decode().ok().map(|(_, text)| text))
    }));
    found.ok().flatten().ok_or(DecodeError::QrNotFound)
}
