//! Finding the QR code in a photo or screenshot (PNG, JPEG or WebP, sniffed from the content).
//!
//! Real pictures defeat a single scan: screenshots rescaled by a non-integer factor (blurred
//! module edges), codes drawn with one pixel per module, cropped quiet zones, low-quality JPEGs,
//! glare and shadows, inverted colours, other barcodes beside the certificate. So the decoder
//! runs a fixed sequence of *passes*, each a detector on a preparation of the same picture, and
//! stops at the first pass that yields a text starting with `HC1:`. The primary detector is
//! `rxing` (a ZXing port: hybrid binarizer, perspective grid sampling, inverted codes); `rqrr`
//! (a quirc port) with its own preparations catches what ZXing misses (very low contrast,
//! some 1–2 px/module codes):
//!
//! | pass       | preparation                                                       |
//! |------------|-------------------------------------------------------------------|
//! | `zxing`    | the picture as it is, ZXing try-harder, normal and inverted        |
//! | `zxing-enlarged` | small pictures enlarged 2–3× with a margin, ZXing           |
//! | `plain`    | rqrr from here on; margin added (lost quiet zone); quirc's own row threshold          |
//! | `otsu`     | global Otsu threshold (anti-aliased and low-contrast codes)        |
//! | `local`    | local-mean threshold over a window (glare, shadows, gradients)     |
//! | `enlarged` | small pictures enlarged 2–3× bilinearly (1–2 px/module)            |
//! | `enlarged-otsu` | the same, then Otsu                                          |
//! | `smoothed` | 3 × 3 box blur, then Otsu (JPEG ringing, sensor noise)             |
//! | `inverted` | light-on-dark codes                                               |
//! | `shrunk`   | large pictures halved (blurred photos of big codes)                |
//! | `turned`   | the picture turned by 180°                                        |
//!
//! Every pass adds a margin in the picture's own light level (its 95th-percentile grey), so a
//! code cropped to its modules regains a quiet zone without a third grey level.
//!
//! When a picture holds several codes, a code whose text starts with `HC1:` wins; otherwise
//! the first text found is returned (the caller reports `PREFIX_INVALID` for it). The
//! evaluation that chose this design over a ZXing port, with recall per distortion and CPU per
//! image, is in `load-tests/QR-RESULTS.md`.
//!
//! Bounded: the encoded image may not exceed `Limits::max_image_bytes`; its declared
//! dimensions are checked against `Limits::max_image_pixels` before any pixel buffer is
//! allocated ([`load`]); pictures wider or taller than [`WORK_SIDE`] are reduced first; and all
//! passes together scan at most [`PASS_BUDGET`] pixels, so the work per image has a fixed upper
//! bound whatever the content. This is CPU-heavy: async callers must run it on a blocking
//! thread.

pub mod filters;
pub mod load;

use crate::hcert::error::DecodeError;
use crate::hcert::limits::Limits;
use load::Grey;

/// Pictures are reduced (box average) until neither side exceeds this many pixels.
pub const WORK_SIDE: usize = 2048;
/// Most pixels scanned by all passes of one image together.
pub const PASS_BUDGET: usize = 24 * 1024 * 1024;

/// Returns the text of the QR code in the image (an `HC1:` code when there are several).
pub fn decode_image(bytes: &[u8], limits: &Limits) -> Result<String, DecodeError> {
    let img = load::load(bytes, limits)?;
    find(&img)
}

/// What one pass hands to the detector.
enum Prepared {
    /// Greyscale for the ZXing detector (hybrid binarizer, inverted too, every code).
    Zxing(Grey),
    /// Greyscale for rqrr: the detector applies its own adaptive row threshold.
    Grey(Grey),
    /// Already black (`true`) and white.
    Bits { w: usize, h: usize, bits: Vec<bool> },
}

impl Prepared {
    fn pixels(&self) -> usize {
        match self {
            Prepared::Grey(g) | Prepared::Zxing(g) => g.w * g.h,
            Prepared::Bits { w, h, .. } => w * h,
        }
    }
}

/// One preparation of the picture, or `None` when it does not apply.
type Pass = fn(&Grey) -> Option<Prepared>;

/// The passes, in order; each returns `None` when it does not apply to this picture. Each
/// adds its own margin after its transform, in the transformed picture's light level.
const PASSES: [(&str, Pass); 11] = [
    ("zxing", |g| Some(Prepared::Zxing(g.clone()))),
    ("zxing-enlarged", |g| {
        enlarge_factor(g).map(|f| Prepared::Zxing(filters::enlarge(&padded(g), f)))
    }),
    ("plain", |g| Some(Prepared::Grey(padded(g)))),
    ("otsu", |g| Some(otsu_bits(&padded(g)))),
    ("local", |g| {
        let g = padded(g);
        let radius = (g.w.min(g.h) / 24).clamp(6, 40);
        Some(Prepared::Bits {
            w: g.w,
            h: g.h,
            bits: filters::local_threshold(&g, radius, 6),
        })
    }),
    ("enlarged", |g| {
        enlarge_factor(g).map(|f| Prepared::Grey(filters::enlarge(&padded(g), f)))
    }),
    ("enlarged-otsu", |g| {
        enlarge_factor(g).map(|f| otsu_bits(&filters::enlarge(&padded(g), f)))
    }),
    ("smoothed", |g| {
        Some(otsu_bits(&filters::smooth(&padded(g))))
    }),
    ("inverted", |g| {
        Some(Prepared::Grey(padded(&filters::invert(g))))
    }),
    ("shrunk", |g| {
        (g.w.min(g.h) >= 600).then(|| Prepared::Grey(padded(&filters::shrink(g, 2))))
    }),
    ("turned", |g| {
        Some(Prepared::Grey(filters::rotate_half(&padded(g))))
    }),
];

/// Small pictures are enlarged 3× (up to 400 px) or 2× (up to 1 000 px).
fn enlarge_factor(g: &Grey) -> Option<usize> {
    match g.w.max(g.h) {
        0..=400 => Some(3),
        401..=1000 => Some(2),
        _ => None,
    }
}

fn padded(g: &Grey) -> Grey {
    filters::pad(g, (g.w.min(g.h) / 16).max(8))
}

fn otsu_bits(g: &Grey) -> Prepared {
    Prepared::Bits {
        w: g.w,
        h: g.h,
        bits: filters::threshold(g, filters::otsu(g)),
    }
}

/// Runs the passes over an upright greyscale picture.
pub fn find(img: &Grey) -> Result<String, DecodeError> {
    find_traced(img).0
}

/// [`find`], also naming the pass that succeeded (for the evaluation and the benchmark).
pub fn find_traced(img: &Grey) -> (Result<String, DecodeError>, Option<&'static str>) {
    let base = working_copy(img);
    let mut budget = PASS_BUDGET;
    let mut fallback = None;
    for (name, pass) in PASSES {
        let Some(prepared) = pass(&base) else {
            continue;
        };
        let Some(rest) = budget.checked_sub(prepared.pixels()) else {
            break;
        };
        budget = rest;
        let texts = scan(prepared);
        if let Some(hc1) = texts.iter().find(|t| t.starts_with("HC1:")) {
            return (Ok(hc1.clone()), Some(name));
        }
        if fallback.is_none() {
            fallback = texts.into_iter().next().map(|t| (t, name));
        }
    }
    match fallback {
        Some((text, name)) => (Ok(text), Some(name)),
        None => (Err(DecodeError::QrNotFound), None),
    }
}

/// The picture reduced to at most [`WORK_SIDE`] per side.
fn working_copy(img: &Grey) -> std::borrow::Cow<'_, Grey> {
    let side = img.w.max(img.h);
    if side > WORK_SIDE {
        std::borrow::Cow::Owned(filters::shrink(img, side.div_ceil(WORK_SIDE)))
    } else {
        std::borrow::Cow::Borrowed(img)
    }
}

/// Every text the detector decodes in one prepared picture.
fn scan(prepared: Prepared) -> Vec<String> {
    let mut img = match prepared {
        Prepared::Zxing(g) => return scan_zxing(g),
        Prepared::Grey(g) => {
            rqrr::PreparedImage::prepare_from_greyscale(g.w, g.h, |x, y| g.at(x, y))
        }
        Prepared::Bits { w, h, bits } => rqrr::PreparedImage::prepare_from_bitmap(w, h, |x, y| {
            bits.get(y * w + x).copied().unwrap_or(false)
        }),
    };
    // rqrr is defensive but third-party; a panic inside it must not take the caller down.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        img.detect_grids()
            .into_iter()
            .filter_map(|grid| {
                let mut bytes = Vec::new();
                grid.decode_to(&mut bytes).ok().map(|_| payload_text(bytes))
            })
            .collect()
    }))
    .unwrap_or_default()
}

/// The text of a QR payload: UTF-8 when it is, else one character per byte (ISO 8859-1, the
/// byte mode's default). A ZIP archive (a DIVOC code in byte mode) is always taken byte for
/// byte, even when its bytes happen to form UTF-8.
pub fn payload_text(bytes: Vec<u8>) -> String {
    let latin1 = |b: Vec<u8>| b.into_iter().map(char::from).collect();
    if bytes.starts_with(b"PK\x03\x04") {
        return latin1(bytes);
    }
    String::from_utf8(bytes).unwrap_or_else(|e| latin1(e.into_bytes()))
}

/// Every QR text the ZXing port finds (try-harder, inverted codes too).
fn scan_zxing(g: Grey) -> Vec<String> {
    let (Ok(w), Ok(h)) = (u32::try_from(g.w), u32::try_from(g.h)) else {
        return Vec::new();
    };
    std::panic::catch_unwind(move || {
        let mut hints = rxing::DecodeHints {
            TryHarder: Some(true),
            AlsoInverted: Some(true),
            PossibleFormats: Some([rxing::BarcodeFormat::QR_CODE].into_iter().collect()),
            ..rxing::DecodeHints::default()
        };
        rxing::helpers::detect_multiple_in_luma_with_hints(g.px, w, h, &mut hints)
            .map(|found| found.iter().map(|r| r.getText().to_owned()).collect())
            .unwrap_or_default()
    })
    .unwrap_or_default()
}
