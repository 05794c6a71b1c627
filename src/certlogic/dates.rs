//! CertLogic date-times: the formats `plusTime` accepts, the "beneficial" reading of partial
//! dates (`dccDateOfBirth`), and offsetting with JavaScript `Date.setUTC…` semantics (a day
//! that does not exist in the target month overflows into the next one: 2020-02-29 + 1 year
//! = 2021-03-01, 2021-01-31 + 1 month = 2021-03-03). Every result is UTC, truncated to the
//! millisecond.

use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// A time unit of `plusTime`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Year,
    Month,
    Day,
    Hour,
}

impl Unit {
    pub fn parse(s: &str) -> Option<Unit> {
        Some(match s {
            "year" => Unit::Year,
            "month" => Unit::Month,
            "day" => Unit::Day,
            "hour" => Unit::Hour,
            _ => return None,
        })
    }
}

fn digits(s: &str, n: usize) -> Option<(u32, &str)> {
    let (head, rest) = (s.get(..n)?, s.get(n..)?);
    if !head.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((head.parse().ok()?, rest))
}

fn lit(s: &str, c: u8) -> Option<&str> {
    s.strip_prefix(char::from(c))
}

fn last_day(year: i32, month: Month) -> u8 {
    time::util::days_in_month(month, year)
}

/// `YYYY`, `YYYY-MM` or `YYYY-MM-DD` as the last day they can mean, at midnight UTC.
pub fn date_of_birth(s: &str) -> Option<OffsetDateTime> {
    let (year, rest) = digits(s, 4)?;
    let year = i32::try_from(year).ok()?;
    if rest.is_empty() {
        return midnight(year, Month::December, 31);
    }
    let (month, rest) = digits(lit(rest, b'-')?, 2)?;
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    if rest.is_empty() {
        return midnight(year, month, last_day(year, month));
    }
    let (day, rest) = digits(lit(rest, b'-')?, 2)?;
    if !rest.is_empty() {
        return None;
    }
    midnight(year, month, u8::try_from(day).ok()?)
}

fn midnight(year: i32, month: Month, day: u8) -> Option<OffsetDateTime> {
    Some(
        Date::from_calendar_date(year, month, day)
            .ok()?
            .midnight()
            .assume_utc(),
    )
}

/// Parses one of the date(-time) formats of the specification (partial dates as
/// [`date_of_birth`] reads them; no offset means `Z`; sub-second digits beyond the third are
/// dropped).
pub fn parse(s: &str) -> Option<OffsetDateTime> {
    let Some(t) = s.find('T') else {
        return date_of_birth(s);
    };
    let (date, rest) = (&s[..t], &s[t + 1..]);
    let day = date_of_birth(date).filter(|_| date.len() == 10)?;
    let (hour, rest) = digits(rest, 2)?;
    let (minute, rest) = digits(lit(rest, b':')?, 2)?;
    let (second, mut rest) = digits(lit(rest, b':')?, 2)?;
    let mut millis = 0u32;
    if let Some(frac) = lit(rest, b'.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        let kept = &frac[..n.min(3)];
        millis = kept.parse::<u32>().ok()? * 10u32.pow(3 - kept.len() as u32);
        rest = &frac[n..];
    }
    let offset = parse_offset(rest)?;
    let time = Time::from_hms_milli(
        u8::try_from(hour).ok()?,
        u8::try_from(minute).ok()?,
        u8::try_from(second).ok()?,
        u16::try_from(millis).ok()?,
    )
    .ok()?;
    Some(
        PrimitiveDateTime::new(day.date(), time)
            .assume_offset(offset)
            .to_offset(UtcOffset::UTC),
    )
}

/// `""`, `Z`, or `[+-]h`, `hh`, `hmm`, `hhmm`, `h:mm`, `hh:mm`.
fn parse_offset(s: &str) -> Option<UtcOffset> {
    if s.is_empty() || s == "Z" {
        return Some(UtcOffset::UTC);
    }
    let (sign, body): (i32, &str) = if let Some(b) = s.strip_prefix('+') {
        (1, b)
    } else if let Some(b) = s.strip_prefix('-') {
        (-1, b)
    } else {
        return None;
    };
    if !body.bytes().all(|b| b.is_ascii_digit() || b == b':') {
        return None;
    }
    let (h, m) = match body.split_once(':') {
        Some((h, m)) if (1..=2).contains(&h.len()) && m.len() == 2 => (h, m),
        Some(_) => return None,
        None => match body.len() {
            1 | 2 => (body, "0"),
            3 => (&body[..1], &body[1..]),
            4 => (&body[..2], &body[2..]),
            _ => return None,
        },
    };
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    if h > 23 || m > 59 {
        return None;
    }
    UtcOffset::from_whole_seconds(sign * (h * 3600 + m * 60)).ok()
}

/// `at` offset by `amount` `unit`s, as JavaScript's `setUTC<unit>(getUTC<unit>() + amount)`.
pub fn plus(at: OffsetDateTime, amount: i64, unit: Unit) -> Option<OffsetDateTime> {
    match unit {
        Unit::Hour => at.checked_add(Duration::hours(amount)),
        Unit::Day => at.checked_add(Duration::days(amount)),
        Unit::Month | Unit::Year => {
            let months = if unit == Unit::Year {
                amount.checked_mul(12)?
            } else {
                amount
            };
            let index = i64::from(at.year()) * 12 + i64::from(u8::from(at.month())) - 1 + months;
            let year = i32::try_from(index.div_euclid(12)).ok()?;
            let month = Month::try_from(u8::try_from(index.rem_euclid(12) + 1).ok()?).ok()?;
            // Day overflow as JavaScript does: day 31 of a 30-day month is the 1st of the next.
            let first = Date::from_calendar_date(year, month, 1).ok()?;
            let date = first.checked_add(Duration::days(i64::from(at.day()) - 1))?;
            Some(PrimitiveDateTime::new(date, at.time()).assume_utc())
        }
    }
}

/// ISO 8601 with milliseconds and `Z`, as JavaScript's `toISOString`.
pub fn format(at: OffsetDateTime) -> String {
    let at = at.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> String {
        parse(s).map(format).unwrap_or_else(|| "none".into())
    }

    #[test]
    fn every_format_of_the_specification_parses() {
        assert_eq!(p("2021"), "2021-12-31T00:00:00.000Z");
        assert_eq!(p("2020-02"), "2020-02-29T00:00:00.000Z");
        assert_eq!(p("2021-06-01"), "2021-06-01T00:00:00.000Z");
        assert_eq!(p("2021-06-01T10:11:12"), "2021-06-01T10:11:12.000Z");
        assert_eq!(p("2021-06-01T10:11:12Z"), "2021-06-01T10:11:12.000Z");
        assert_eq!(p("2021-06-01T10:11:12+2"), "2021-06-01T08:11:12.000Z");
        assert_eq!(p("2021-06-01T10:11:12-02"), "2021-06-01T12:11:12.000Z");
        assert_eq!(p("2021-06-01T10:11:12+230"), "2021-06-01T07:41:12.000Z");
        assert_eq!(p("2021-06-01T10:11:12+0230"), "2021-06-01T07:41:12.000Z");
        assert_eq!(p("2021-06-01T10:11:12+2:30"), "2021-06-01T07:41:12.000Z");
        assert_eq!(p("2021-06-01T10:11:12+02:30"), "2021-06-01T07:41:12.000Z");
        assert_eq!(p("2021-06-01T10:11:12.5"), "2021-06-01T10:11:12.500Z");
        assert_eq!(p("2021-06-01T10:11:12.123456Z"), "2021-06-01T10:11:12.123Z");
        assert_eq!(
            p("2021-06-01T10:11:12.9999+01:00"),
            "2021-06-01T09:11:12.999Z"
        );
        for bad in [
            "",
            "21",
            "2021-6",
            "2021-06-01T10:11",
            "2021-06-01T10:11:12+",
            "x",
        ] {
            assert_eq!(p(bad), "none", "{bad}");
        }
    }

    #[test]
    fn offsets_follow_javascript_date_semantics() {
        let at = |s| parse(s).unwrap();
        let f = |s, n, u| format(plus(at(s), n, u).unwrap());
        assert_eq!(f("2020-02-29", 1, Unit::Day), "2020-03-01T00:00:00.000Z");
        assert_eq!(f("2020-02-29", 1, Unit::Month), "2020-03-29T00:00:00.000Z");
        assert_eq!(f("2020-02-29", 1, Unit::Year), "2021-03-01T00:00:00.000Z");
        assert_eq!(f("2021-01-31", 1, Unit::Month), "2021-03-03T00:00:00.000Z");
        assert_eq!(f("2021-03-31", -1, Unit::Month), "2021-03-03T00:00:00.000Z");
        assert_eq!(
            f("2021-01-15T10:00:00Z", -13, Unit::Month),
            "2019-12-15T10:00:00.000Z"
        );
        assert_eq!(
            f("2021-01-01T00:00:00Z", -1, Unit::Hour),
            "2020-12-31T23:00:00.000Z"
        );
    }
}
