//! Shared by the conformance suite and the API tests: finding dgc-testdata vectors and
//! reading their clocks.

use std::path::{Path, PathBuf};

use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset, macros::format_description};

/// VALIDATIONCLOCK comes in many ISO-8601 shapes: with or without `Z`, `+02:00`, `+0000`, no
/// zone at all (UTC, as upstream assumes), 0–9 fractional digits (dropped).
pub fn parse_clock(s: &str) -> Option<OffsetDateTime> {
    let base = s.get(..19)?;
    let dt = PrimitiveDateTime::parse(
        base,
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"),
    )
    .ok()?;
    let mut rest = s.get(19..)?;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        rest = frac.get(digits..)?;
    }
    let offset = match rest {
        "" | "Z" | "z" => UtcOffset::UTC,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let digits: String = rest
                .get(1..)?
                .chars()
                .filter(char::is_ascii_digit)
                .collect();
            let h: i8 = digits.get(..2)?.parse().ok()?;
            let m: i8 = digits.get(2..4).unwrap_or("00").parse().ok()?;
            UtcOffset::from_hms(sign * h, sign * m, 0).ok()?
        }
    };
    Some(dt.assume_offset(offset))
}

pub fn vectors(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "json")
                && p.to_string_lossy().contains("2DCode/raw")
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}
