//! The picture transforms the QR passes are made of. Each is linear in the pixels it produces
//! and allocates exactly one output buffer.

use super::load::Grey;

/// Box-averaged reduction by an integer `factor` (≥ 1).
pub fn shrink(img: &Grey, factor: usize) -> Grey {
    let f = factor.max(1);
    let (w, h) = ((img.w / f).max(1), (img.h / f).max(1));
    let area = u32::try_from(f * f).unwrap_or(u32::MAX);
    let mut px = Vec::with_capacity(w * h);
    for y in 0..h {
        for x in 0..w {
            let mut sum = 0u32;
            for dy in 0..f {
                for dx in 0..f {
                    sum += u32::from(img.at(x * f + dx, y * f + dy));
                }
            }
            px.push(u8::try_from(sum / area).unwrap_or(u8::MAX));
        }
    }
    Grey { w, h, px }
}

/// Bilinear enlargement by an integer `factor` (≥ 1): a code drawn with one or a fractional
/// number of pixels per module gets enough pixels for the finder-pattern scan.
pub fn enlarge(img: &Grey, factor: usize) -> Grey {
    let f = factor.max(1);
    let (w, h) = (img.w * f, img.h * f);
    let mut px = Vec::with_capacity(w * h);
    let scale = 1.0 / f as f32;
    for y in 0..h {
        let sy = ((y as f32 + 0.5) * scale - 0.5).max(0.0);
        let y0 = sy as usize;
        let ty = sy - y0 as f32;
        for x in 0..w {
            let sx = ((x as f32 + 0.5) * scale - 0.5).max(0.0);
            let x0 = sx as usize;
            let tx = sx - x0 as f32;
            let (x1, y1) = ((x0 + 1).min(img.w - 1), (y0 + 1).min(img.h - 1));
            let top = f32::from(img.at(x0, y0)) * (1.0 - tx) + f32::from(img.at(x1, y0)) * tx;
            let bottom = f32::from(img.at(x0, y1)) * (1.0 - tx) + f32::from(img.at(x1, y1)) * tx;
            px.push((top * (1.0 - ty) + bottom * ty).round().clamp(0.0, 255.0) as u8);
        }
    }
    Grey { w, h, px }
}

/// A margin of `border` pixels on every side (cropped screenshots lose their quiet zone), in
/// the picture's own light level ([`light_level`]): plain white would be a third grey level
/// that breaks a global threshold on a low-contrast photo.
pub fn pad(img: &Grey, border: usize) -> Grey {
    let w = img.w + 2 * border;
    let mut px = vec![light_level(img); w * (img.h + 2 * border)];
    for y in 0..img.h {
        let row = img.px.get(y * img.w..(y + 1) * img.w).unwrap_or_default();
        let at = (y + border) * w + border;
        if let Some(dst) = px.get_mut(at..at + row.len()) {
            dst.copy_from_slice(row);
        }
    }
    Grey {
        w,
        h: img.h + 2 * border,
        px,
    }
}

/// The grey level that 95 % of the pixels do not exceed: the paper of the code.
pub fn light_level(img: &Grey) -> u8 {
    let mut hist = [0usize; 256];
    for p in &img.px {
        if let Some(h) = hist.get_mut(usize::from(*p)) {
            *h += 1;
        }
    }
    let target = img.px.len() - img.px.len() / 20;
    let mut seen = 0;
    for (level, count) in hist.iter().enumerate() {
        seen += count;
        if seen >= target {
            return u8::try_from(level).unwrap_or(u8::MAX);
        }
    }
    u8::MAX
}

/// Dark on light becomes light on dark and back.
pub fn invert(img: &Grey) -> Grey {
    Grey {
        w: img.w,
        h: img.h,
        px: img.px.iter().map(|p| 255 - p).collect(),
    }
}

/// The picture turned by 180°.
pub fn rotate_half(img: &Grey) -> Grey {
    let mut px = img.px.clone();
    px.reverse();
    Grey {
        w: img.w,
        h: img.h,
        px,
    }
}

/// 3 × 3 box blur: removes JPEG ringing and sensor noise before a global threshold.
pub fn smooth(img: &Grey) -> Grey {
    let mut px = Vec::with_capacity(img.w * img.h);
    for y in 0..img.h {
        for x in 0..img.w {
            let mut sum = 0u32;
            let mut n = 0u32;
            for yy in y.saturating_sub(1)..=(y + 1).min(img.h - 1) {
                for xx in x.saturating_sub(1)..=(x + 1).min(img.w - 1) {
                    sum += u32::from(img.at(xx, yy));
                    n += 1;
                }
            }
            px.push(u8::try_from(sum / n.max(1)).unwrap_or(u8::MAX));
        }
    }
    Grey {
        w: img.w,
        h: img.h,
        px,
    }
}

/// Otsu's threshold: the grey level that best separates the histogram into two classes.
pub fn otsu(img: &Grey) -> u8 {
    let mut hist = [0u64; 256];
    for p in &img.px {
        if let Some(h) = hist.get_mut(usize::from(*p)) {
            *h += 1;
        }
    }
    let total: u64 = hist.iter().sum();
    let sum_all: f64 = hist
        .iter()
        .enumerate()
        .map(|(i, c)| i as f64 * *c as f64)
        .sum();
    let (mut weight_b, mut sum_b, mut best, mut best_var) = (0u64, 0f64, 127u8, -1f64);
    for (t, count) in hist.iter().enumerate() {
        weight_b += count;
        if weight_b == 0 {
            continue;
        }
        let weight_f = total - weight_b;
        if weight_f == 0 {
            break;
        }
        sum_b += t as f64 * *count as f64;
        let mean_b = sum_b / weight_b as f64;
        let mean_f = (sum_all - sum_b) / weight_f as f64;
        let var = weight_b as f64 * weight_f as f64 * (mean_b - mean_f).powi(2);
        if var > best_var {
            best_var = var;
            best = u8::try_from(t).unwrap_or(127);
        }
    }
    best
}

/// Black where the pixel is at or below `t`.
pub fn threshold(img: &Grey, t: u8) -> Vec<bool> {
    img.px.iter().map(|p| *p <= t).collect()
}

/// Local-mean threshold over a square window of `2 * radius + 1` pixels (integral image):
/// black where the pixel is darker than its neighbourhood's mean by more than `bias`, and the
/// neighbourhood has contrast at all. Copes with glare, shadows and low contrast.
pub fn local_threshold(img: &Grey, radius: usize, bias: u32) -> Vec<bool> {
    let (w, h) = (img.w, img.h);
    let stride = w + 1;
    let mut integral = vec![0u64; stride * (h + 1)];
    for y in 0..h {
        let mut row = 0u64;
        for x in 0..w {
            row += u64::from(img.at(x, y));
            let above = integral.get(y * stride + x + 1).copied().unwrap_or(0);
            if let Some(cell) = integral.get_mut((y + 1) * stride + x + 1) {
                *cell = above + row;
            }
        }
    }
    let get = |x: usize, y: usize| integral.get(y * stride + x).copied().unwrap_or(0);
    let mut out = Vec::with_capacity(w * h);
    for y in 0..h {
        let (y0, y1) = (y.saturating_sub(radius), (y + radius + 1).min(h));
        for x in 0..w {
            let (x0, x1) = (x.saturating_sub(radius), (x + radius + 1).min(w));
            let n = ((x1 - x0) * (y1 - y0)) as u64;
            let sum = get(x1, y1) + get(x0, y0) - get(x0, y1) - get(x1, y0);
            let p = u64::from(img.at(x, y)) * n;
            out.push(p + u64::from(bias) * n < sum);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grey(w: usize, h: usize, px: Vec<u8>) -> Grey {
        Grey { w, h, px }
    }

    #[test]
    fn shrink_and_enlarge_keep_flat_areas_flat() {
        let img = grey(4, 2, vec![0, 0, 255, 255, 0, 0, 255, 255]);
        assert_eq!(shrink(&img, 2).px, [0, 255]);
        let big = enlarge(&img, 3);
        assert_eq!((big.w, big.h), (12, 6));
        assert_eq!(big.px.first(), Some(&0));
        assert_eq!(big.px.last(), Some(&255));
    }

    #[test]
    fn pad_invert_rotate() {
        let img = grey(2, 1, vec![0, 100]);
        let p = pad(&img, 1);
        assert_eq!((p.w, p.h), (4, 3));
        assert_eq!(
            p.px,
            [100, 100, 100, 100, 100, 0, 100, 100, 100, 100, 100, 100]
        );
        assert_eq!(invert(&img).px, [255, 155]);
        assert_eq!(rotate_half(&grey(2, 2, vec![1, 2, 3, 4])).px, [4, 3, 2, 1]);
    }

    #[test]
    fn otsu_splits_two_populations() {
        let mut px = vec![40u8; 500];
        px.extend(vec![200u8; 500]);
        let t = otsu(&grey(1000, 1, px));
        assert!((40..200).contains(&t), "{t}");
    }

    #[test]
    fn local_threshold_survives_a_brightness_gradient() {
        // Dark dots on a background that brightens from 60 to 250: no single threshold works.
        let (w, h) = (64, 8);
        let mut px = Vec::new();
        for _y in 0..h {
            for x in 0..w {
                let bg = 60 + x * 3;
                px.push(u8::try_from(if x % 8 == 4 { bg - 50 } else { bg }).unwrap_or(0));
            }
        }
        let img = grey(w, h, px);
        let bits = local_threshold(&img, 4, 10);
        for x in 0..w {
            assert_eq!(bits.get(3 * w + x), Some(&(x % 8 == 4)), "x = {x}");
        }
    }
}
