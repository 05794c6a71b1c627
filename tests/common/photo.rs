//! A generated corpus of QR pictures as phones and screenshots produce them: every distortion
//! the image path must survive, rendered from the caller's (freshly signed) certificate texts.
//!
//! Shared by the recall test (`tests/core/photos.rs`), the image benchmark and the decoder
//! evaluation (`load-tests/qr_corpus.rs`). Everything is deterministic: the same texts give
//! the same bytes. A picture is rendered by inverse mapping: each output pixel is traced back
//! through a camera homography (in-plane rotation, tilt about two axes, pinhole projection)
//! onto the code plane and sampled 3 × 3 times (anti-aliasing); blur, noise, glare and contrast
//! are applied to the picture, which is then encoded as PNG, JPEG (any quality, optional EXIF
//! orientation) or lossless WebP.

#![allow(dead_code, reason = "each user of the corpus takes the parts it needs")]

use qrcode::{EcLevel, QrCode};

/// One generated picture.
pub struct Photo {
    /// The distortion class, e.g. `"perspective"`.
    pub class: &'static str,
    /// The variant within the class, e.g. `"tilt 35° about x"`.
    pub variant: String,
    /// The encoded image.
    pub bytes: Vec<u8>,
    /// The text the picture must decode to.
    pub text: String,
}

/// A picture in progress: grey levels 0.0 (black) … 255.0 (white).
#[derive(Clone)]
pub struct Canvas {
    pub w: usize,
    pub h: usize,
    pub px: Vec<f32>,
}

impl Canvas {
    pub fn new(w: usize, h: usize, level: f32) -> Self {
        Canvas {
            w,
            h,
            px: vec![level; w * h],
        }
    }

    pub fn to_u8(&self) -> Vec<u8> {
        self.px
            .iter()
            .map(|p| p.round().clamp(0.0, 255.0) as u8)
            .collect()
    }
}

/// The modules of a QR code for `text` (byte mode picks alphanumeric for HC1 texts).
pub struct Modules {
    pub n: usize,
    dark: Vec<bool>,
}

impl Modules {
    /// The modules of a QR code of `data` (text, or bytes for a byte-mode payload).
    pub fn new(data: impl AsRef<[u8]>, ec: EcLevel) -> Self {
        Modules::of(&QrCode::with_error_correction_level(data.as_ref(), ec).unwrap())
    }

    fn of(code: &QrCode) -> Self {
        let dark = code
            .to_colors()
            .into_iter()
            .map(|c| c == qrcode::Color::Dark)
            .collect();
        Modules {
            n: code.width(),
            dark,
        }
    }

    /// The modules of a QR code holding `data` as one byte-mode segment, as binary payloads
    /// are written (the default encoder may choose Kanji mode for byte pairs that happen to be
    /// Shift JIS, and decoders give those back as characters).
    pub fn bytes(data: &[u8], ec: EcLevel) -> Self {
        let code = (1..=40)
            .find_map(|v| {
                let mut bits = qrcode::bits::Bits::new(qrcode::Version::Normal(v));
                bits.push_byte_data(data).ok()?;
                bits.push_terminator(ec).ok()?;
                QrCode::with_bits(bits, ec).ok()
            })
            .unwrap();
        Modules::of(&code)
    }

    pub fn version(&self) -> usize {
        (self.n - 17) / 4
    }

    fn dark_at(&self, u: f64, v: f64) -> bool {
        if u < 0.0 || v < 0.0 {
            return false;
        }
        let (x, y) = (u as usize, v as usize);
        x < self.n && y < self.n && self.dark[y * self.n + x]
    }
}

/// Where the code lands in the picture.
#[derive(Clone, Copy)]
pub struct Pose {
    /// Centre of the code, in picture pixels.
    pub cx: f64,
    pub cy: f64,
    /// Width of the code (modules only, no quiet zone) seen head-on, in pixels.
    pub size: f64,
    /// In-plane rotation, degrees.
    pub rotate: f64,
    /// Tilt of the code plane about the horizontal and vertical axes, degrees.
    pub tilt_x: f64,
    pub tilt_y: f64,
}

impl Pose {
    pub fn flat(cx: f64, cy: f64, size: f64) -> Self {
        Pose {
            cx,
            cy,
            size,
            rotate: 0.0,
            tilt_x: 0.0,
            tilt_y: 0.0,
        }
    }

    /// The picture positions of the code's four corners (module space (0,0), (n,0), (n,n),
    /// (0,n)).
    fn corners(&self) -> [(f64, f64); 4] {
        let s = self.size / 2.0;
        let f = self.size * 2.5; // focal length: a phone held close
        let (r, tx, ty) = (
            self.rotate.to_radians(),
            self.tilt_x.to_radians(),
            self.tilt_y.to_radians(),
        );
        [(-s, -s), (s, -s), (s, s), (-s, s)].map(|(x, y)| {
            let (x, y) = (x * r.cos() - y * r.sin(), x * r.sin() + y * r.cos());
            // about the horizontal axis: y and z mix
            let (y, z) = (y * tx.cos(), y * tx.sin());
            // about the vertical axis: x and z mix
            let (x, z) = (x * ty.cos() - z * ty.sin(), x * ty.sin() + z * ty.cos());
            (self.cx + f * x / (f + z), self.cy + f * y / (f + z))
        })
    }
}

/// Solves the homography mapping `from[i]` to `to[i]` (8 unknowns, Gaussian elimination).
fn homography(from: [(f64, f64); 4], to: [(f64, f64); 4]) -> [f64; 9] {
    let mut a = [[0f64; 9]; 8];
    for i in 0..4 {
        let ((x, y), (u, v)) = (from[i], to[i]);
        a[2 * i] = [x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y, u];
        a[2 * i + 1] = [0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y, v];
    }
    for col in 0..8 {
        let pivot = (col..8)
            .max_by(|&p, &q| a[p][col].abs().total_cmp(&a[q][col].abs()))
            .unwrap();
        a.swap(col, pivot);
        let pivot_row = a[col];
        for (r, row) in a.iter_mut().enumerate() {
            if r != col {
                let k = row[col] / pivot_row[col];
                for (v, p) in row.iter_mut().zip(pivot_row).skip(col) {
                    *v -= k * p;
                }
            }
        }
    }
    let h: Vec<f64> = (0..8).map(|i| a[i][8] / a[i][i]).collect();
    [h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], 1.0]
}

/// Draws the code (light `paper` around it for `quiet` modules, `ink` modules) onto `canvas`.
pub fn draw(canvas: &mut Canvas, m: &Modules, pose: Pose, quiet: f64, ink: f32, paper: f32) {
    let n = m.n as f64;
    let corners = pose.corners();
    let module_space = [(0.0, 0.0), (n, 0.0), (n, n), (0.0, n)];
    let h = homography(corners, module_space);
    let map = |x: f64, y: f64| {
        let d = h[6] * x + h[7] * y + h[8];
        (
            (h[0] * x + h[1] * y + h[2]) / d,
            (h[3] * x + h[4] * y + h[5]) / d,
        )
    };
    const SUB: [f64; 3] = [-1.0 / 3.0, 0.0, 1.0 / 3.0];
    for y in 0..canvas.h {
        for x in 0..canvas.w {
            let mut inside = 0;
            let mut dark = 0;
            for dy in SUB {
                for dx in SUB {
                    let (u, v) = map(x as f64 + 0.5 + dx, y as f64 + 0.5 + dy);
                    if u >= -quiet && v >= -quiet && u < n + quiet && v < n + quiet {
                        inside += 1;
                        if m.dark_at(u, v) {
                            dark += 1;
                        }
                    }
                }
            }
            if inside > 0 {
                let p = &mut canvas.px[y * canvas.w + x];
                let code = (dark as f32 * ink + (inside - dark) as f32 * paper) / inside as f32;
                *p = (code * inside as f32 + *p * (9 - inside) as f32) / 9.0;
            }
        }
    }
}

/// Box blur of the given radius, applied twice (close to a Gaussian).
pub fn blur(c: &mut Canvas, radius: usize) {
    for _ in 0..2 {
        let src = c.clone();
        for y in 0..c.h {
            for x in 0..c.w {
                let (mut sum, mut n) = (0f32, 0f32);
                for yy in y.saturating_sub(radius)..=(y + radius).min(c.h - 1) {
                    for xx in x.saturating_sub(radius)..=(x + radius).min(c.w - 1) {
                        sum += src.px[yy * c.w + xx];
                        n += 1.0;
                    }
                }
                c.px[y * c.w + x] = sum / n;
            }
        }
    }
}

/// Deterministic uniform noise of ± `amp` grey levels.
pub fn noise(c: &mut Canvas, amp: f32, seed: u64) {
    let mut s = seed | 1;
    for p in &mut c.px {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        let r = (s % 2001) as f32 / 1000.0 - 1.0;
        *p += r * amp;
    }
}

/// A bright reflection centred at (x, y): blends towards white with the given strength.
pub fn glare(c: &mut Canvas, x: f64, y: f64, radius: f64, strength: f32) {
    for py in 0..c.h {
        for px in 0..c.w {
            let d2 = (px as f64 - x).powi(2) + (py as f64 - y).powi(2);
            let k = strength * (-d2 / (radius * radius)).exp() as f32;
            let p = &mut c.px[py * c.w + px];
            *p += (255.0 - *p) * k;
        }
    }
}

/// A shading gradient from left (`left`× brightness) to right (`right`×).
pub fn shade(c: &mut Canvas, left: f32, right: f32) {
    for y in 0..c.h {
        for x in 0..c.w {
            let k = left + (right - left) * x as f32 / c.w as f32;
            c.px[y * c.w + x] *= k;
        }
    }
}

pub fn png(c: &Canvas) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, c.w as u32, c.h as u32);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    enc.write_header()
        .unwrap()
        .write_image_data(&c.to_u8())
        .unwrap();
    out
}

/// RGB PNG with the code in `ink` colour on `paper` colour (colour screenshots).
pub fn png_rgb(c: &Canvas, tint: [f32; 3]) -> Vec<u8> {
    let rgb: Vec<u8> = c
        .to_u8()
        .into_iter()
        .flat_map(|g| tint.map(|t| (f32::from(g) * t).round().clamp(0.0, 255.0) as u8))
        .collect();
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, c.w as u32, c.h as u32);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.write_header().unwrap().write_image_data(&rgb).unwrap();
    out
}

pub fn jpeg(c: &Canvas, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, quality)
        .encode(
            &c.to_u8(),
            c.w as u16,
            c.h as u16,
            jpeg_encoder::ColorType::Luma,
        )
        .unwrap();
    out
}

pub fn webp(c: &Canvas) -> Vec<u8> {
    let mut out = Vec::new();
    image_webp::WebPEncoder::new(&mut out)
        .encode(
            &c.to_u8(),
            c.w as u32,
            c.h as u32,
            image_webp::ColorType::L8,
        )
        .unwrap();
    out
}

/// The picture as a camera stores it for EXIF `orientation` (the inverse of what a viewer
/// applies), so that a reader honouring the tag sees `c` upright.
pub fn stored_for(c: &Canvas, orientation: u16) -> Canvas {
    let (w, h) = (c.w, c.h);
    let (sw, sh) = if orientation >= 5 { (h, w) } else { (w, h) };
    let mut out = Canvas::new(sw, sh, 255.0);
    // For each upright pixel (x, y), where it sits in the stored picture.
    for y in 0..h {
        for x in 0..w {
            let (sx, sy) = match orientation {
                2 => (w - 1 - x, y),
                3 => (w - 1 - x, h - 1 - y),
                4 => (x, h - 1 - y),
                5 => (y, x),
                6 => (y, w - 1 - x),
                7 => (h - 1 - y, w - 1 - x),
                8 => (h - 1 - y, x),
                _ => (x, y),
            };
            out.px[sy * sw + sx] = c.px[y * w + x];
        }
    }
    out
}

/// A JPEG with an EXIF APP1 block (big-endian TIFF, IFD0 holding only the orientation).
pub fn jpeg_with_orientation(c: &Canvas, orientation: u16, quality: u8) -> Vec<u8> {
    let plain = jpeg(&stored_for(c, orientation), quality);
    let mut app1 = b"Exif\0\0MM\0\x2a\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01".to_vec();
    app1.extend_from_slice(&orientation.to_be_bytes());
    app1.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    let mut out = plain[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&plain[2..]);
    out
}

/// A flat code on white: `ppm` pixels per module, `quiet` modules of margin.
pub fn flat(m: &Modules, ppm: f64, quiet: f64) -> Canvas {
    let size = m.n as f64 * ppm;
    let side = (size + 2.0 * quiet * ppm).ceil() as usize;
    let mut c = Canvas::new(side, side, 255.0);
    let half = side as f64 / 2.0;
    draw(&mut c, m, Pose::flat(half, half, size), quiet, 0.0, 255.0);
    c
}

/// A photo-like scene: grey-ish background, the code on paper at `pose`.
pub fn scene(m: &Modules, w: usize, h: usize, pose: Pose) -> Canvas {
    let mut c = Canvas::new(w, h, 150.0);
    draw(&mut c, m, pose, 4.0, 25.0, 235.0);
    c
}

/// Every class of the corpus for every text: (class, variant, picture).
pub fn corpus(texts: &[String]) -> Vec<Photo> {
    let mut out = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        let seed = i as u64 * 7919 + 17;
        let m = Modules::new(text, EcLevel::Q);
        let push = |out: &mut Vec<Photo>, class, variant: String, bytes| {
            out.push(Photo {
                class,
                variant,
                bytes,
                text: text.clone(),
            });
        };
        push(
            &mut out,
            "clean",
            "4 px/module PNG".into(),
            png(&flat(&m, 4.0, 4.0)),
        );
        for ppm in [1.0, 1.5] {
            push(
                &mut out,
                "small",
                format!("{ppm} px/module, 4 modules quiet zone"),
                png(&flat(&m, ppm, 4.0)),
            );
        }
        // A version-10 code is 57 modules: 150 px wide is 2.6 px per module. The certificate
        // itself when it fits version 10 at ECC L, else its first 390 characters.
        let short = &text[..text.len().min(390)];
        let v10 = Modules::new(short, EcLevel::L);
        out.push(Photo {
            class: "small",
            variant: format!("version {} code 150 px wide", v10.version()),
            bytes: png(&flat(&v10, 150.0 / v10.n as f64, 2.0)),
            text: short.to_owned(),
        });
        for ppm in [1.7, 2.4, 3.3, 4.6] {
            // Rescaled screenshot: non-integer scale, anti-aliased edges, quiet zone cropped.
            push(
                &mut out,
                "rescaled",
                format!("{ppm} px/module, no quiet zone"),
                png(&flat(&m, ppm, 0.0)),
            );
        }
        for angle in [15.0, 37.0, 90.0, 133.0, 180.0, 241.0, 312.0] {
            let size = m.n as f64 * 4.0;
            let side = (size * 1.6) as usize;
            let mut c = Canvas::new(side, side, 255.0);
            let half = side as f64 / 2.0;
            draw(
                &mut c,
                &m,
                Pose {
                    rotate: angle,
                    ..Pose::flat(half, half, size)
                },
                4.0,
                0.0,
                255.0,
            );
            push(&mut out, "rotated", format!("{angle}°"), png(&c));
        }
        for (tx, ty, r) in [
            (20.0, 0.0, 5.0),
            (0.0, 28.0, 0.0),
            (35.0, 0.0, 10.0),
            (0.0, -35.0, 30.0),
            (25.0, 25.0, 60.0),
        ] {
            let size = m.n as f64 * 5.0;
            let mut c = scene(
                &m,
                (size * 1.7) as usize,
                (size * 1.7) as usize,
                Pose {
                    rotate: r,
                    tilt_x: tx,
                    tilt_y: ty,
                    ..Pose::flat(size * 0.85, size * 0.85, size)
                },
            );
            noise(&mut c, 6.0, seed);
            push(
                &mut out,
                "perspective",
                format!("tilt {tx}°/{ty}°, turned {r}°"),
                png(&c),
            );
        }
        for radius in [1, 2] {
            let mut c = flat(&m, 6.0, 4.0);
            blur(&mut c, radius);
            push(
                &mut out,
                "blur",
                format!("box radius {radius} ×2 at 6 px/module"),
                png(&c),
            );
        }
        for (ink, paper) in [(90.0, 150.0), (120.0, 165.0), (30.0, 75.0)] {
            let mut c = Canvas::new(1, 1, 0.0);
            let base = flat(&m, 4.0, 4.0);
            c.w = base.w;
            c.h = base.h;
            c.px = base
                .px
                .iter()
                .map(|p| ink + (paper - ink) * p / 255.0)
                .collect();
            noise(&mut c, 4.0, seed + 1);
            push(
                &mut out,
                "low_contrast",
                format!("ink {ink} on paper {paper}"),
                png(&c),
            );
        }
        for (where_x, strength) in [(0.3, 0.7), (0.6, 0.85)] {
            let size = m.n as f64 * 5.0;
            let side = (size * 1.5) as usize;
            let mut c = scene(
                &m,
                side,
                side,
                Pose {
                    tilt_x: 10.0,
                    ..Pose::flat(side as f64 / 2.0, side as f64 / 2.0, size)
                },
            );
            shade(&mut c, 0.75, 1.05);
            glare(
                &mut c,
                side as f64 * where_x,
                side as f64 * 0.45,
                size * 0.22,
                strength,
            );
            noise(&mut c, 5.0, seed + 2);
            push(
                &mut out,
                "glare",
                format!("reflection at {where_x} of the width, strength {strength}"),
                png(&c),
            );
        }
        for ppm in [3.0, 4.0] {
            let size = m.n as f64 * ppm;
            let side = (size * 1.4) as usize;
            let mut c = scene(
                &m,
                side,
                side,
                Pose {
                    rotate: 4.0,
                    tilt_x: 12.0,
                    ..Pose::flat(side as f64 / 2.0, side as f64 / 2.0, size)
                },
            );
            noise(&mut c, 8.0, seed + 3);
            push(
                &mut out,
                "jpeg_q30",
                format!("{ppm} px/module photo, JPEG quality 30"),
                jpeg(&c, 30),
            );
        }
        {
            let c = flat(&m, 4.0, 4.0);
            let inv = Canvas {
                px: c.px.iter().map(|p| 255.0 - p).collect(),
                ..c.clone()
            };
            push(
                &mut out,
                "inverted",
                "white modules on black, PNG".into(),
                png(&inv),
            );
            let mut photo = scene(
                &m,
                c.w + 80,
                c.h + 80,
                Pose::flat(
                    (c.w + 80) as f64 / 2.0,
                    (c.h + 80) as f64 / 2.0,
                    m.n as f64 * 4.0,
                ),
            );
            photo.px.iter_mut().for_each(|p| *p = 255.0 - *p);
            push(
                &mut out,
                "inverted",
                "light-on-dark photo, JPEG quality 80".into(),
                jpeg(&photo, 80),
            );
        }
        for orientation in [2, 5, 6, 8] {
            let size = m.n as f64 * 4.0;
            let mut c = scene(
                &m,
                (size * 1.6) as usize,
                (size * 1.3) as usize,
                Pose::flat(size * 0.8, size * 0.65, size),
            );
            noise(&mut c, 4.0, seed + 4);
            push(
                &mut out,
                "exif",
                format!("stored with EXIF orientation {orientation}, JPEG"),
                jpeg_with_orientation(&c, orientation, 85),
            );
        }
        {
            // Another barcode beside the certificate, to its left (found first by a scan).
            let other = Modules::new("https://example.org/boarding-pass/ABC123", EcLevel::M);
            let size = m.n as f64 * 4.0;
            let (w, h) = ((size * 2.6) as usize, (size * 1.4) as usize);
            let mut c = Canvas::new(w, h, 255.0);
            draw(
                &mut c,
                &other,
                Pose::flat(size * 0.55, h as f64 / 2.0, other.n as f64 * 5.0),
                4.0,
                0.0,
                255.0,
            );
            draw(
                &mut c,
                &m,
                Pose::flat(size * 1.85, h as f64 / 2.0, size),
                4.0,
                0.0,
                255.0,
            );
            push(
                &mut out,
                "other_barcodes",
                "a URL code beside the certificate".into(),
                png(&c),
            );
        }
        {
            let c = flat(&m, 3.0, 4.0);
            push(
                &mut out,
                "webp",
                "lossless WebP, 3 px/module".into(),
                webp(&c),
            );
            push(
                &mut out,
                "colour",
                "dark blue on cream RGB PNG".into(),
                png_rgb(&c, [0.93, 0.9, 0.8]),
            );
        }
        {
            // A 2 Mpx phone photo: tilted, turned, shaded, noisy, JPEG quality 70.
            let size = 560.0;
            let mut c = scene(
                &m,
                1600,
                1200,
                Pose {
                    rotate: 8.0,
                    tilt_x: 15.0,
                    tilt_y: -10.0,
                    ..Pose::flat(820.0, 590.0, size)
                },
            );
            shade(&mut c, 0.8, 1.05);
            blur(&mut c, 1);
            noise(&mut c, 6.0, seed + 5);
            push(
                &mut out,
                "photo_2mpx",
                "1600 × 1200 photo, JPEG quality 70".into(),
                jpeg(&c, 70),
            );
        }
    }
    out
}
