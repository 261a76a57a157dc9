//! Dates as feeds write them: RFC 3339, ISO 8601 and RFC 822 with everything that goes wrong
//! in them. The offset written is kept; what is not a date is `None`, never an error.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, TimeZone};

/// Parses a date as feeds write them: RFC 3339 and ISO 8601 (`T` or space, with or without
/// seconds, fraction, colon in the offset, or zone; a date alone is midnight), and RFC 822
/// with what goes wrong in it (no or wrong weekday, one-digit day, two-digit year, no
/// seconds, zone names such as EST, CEST or UT, month before day). A date without a zone is
/// UTC. The offset written is kept. `None` when it is not a date.
pub(super) fn parse_date(s: &str) -> Option<DateTime<FixedOffset>> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    parse_iso(s).or_else(|| parse_rfc822(s))
}

fn digits(s: &str) -> Option<u32> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

fn parse_iso(s: &str) -> Option<DateTime<FixedOffset>> {
    let b = s.as_bytes();
    let (date, rest) = if b.len() >= 10 && b[4] == b'-' && b[7] == b'-' {
        let d = NaiveDate::from_ymd_opt(
            digits(&s[0..4])? as i32,
            digits(&s[5..7])?,
            digits(s.get(8..10)?)?,
        )?;
        (d, &s[10..])
    } else if b.len() >= 8 && b[..8].iter().all(u8::is_ascii_digit) && b.get(8) != Some(&b':') {
        let d = NaiveDate::from_ymd_opt(
            digits(&s[0..4])? as i32,
            digits(&s[4..6])?,
            digits(&s[6..8])?,
        )?;
        (d, &s[8..])
    } else if b.len() == 7 && b[4] == b'-' {
        (
            NaiveDate::from_ymd_opt(digits(&s[0..4])? as i32, digits(&s[5..7])?, 1)?,
            "",
        )
    } else if b.len() == 4 {
        (NaiveDate::from_ymd_opt(digits(s)? as i32, 1, 1)?, "")
    } else {
        return None;
    };
    if rest.is_empty() {
        return Some(at(date, NaiveTime::MIN, utc()));
    }
    let rest = rest.strip_prefix(['T', 't', ' '])?.trim_start();
    let time_end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == ':' || c == '.' || c == ','))
        .unwrap_or(rest.len());
    let time = parse_time(&rest[..time_end])?;
    let offset = zone(rest[time_end..].trim())?;
    Some(at(date, time, offset))
}

/// `HH:MM`, `HH:MM:SS`, `HH:MM:SS.fff`, `HHMMSS`; a leap second is read as :59.
fn parse_time(t: &str) -> Option<NaiveTime> {
    let t = t.split(['.', ',']).next()?;
    let parts: Vec<&str> = if t.contains(':') {
        t.split(':').collect()
    } else if t.len() == 6 || t.len() == 4 {
        vec![&t[0..2], &t[2..4], t.get(4..6).unwrap_or("0")]
    } else {
        return None;
    };
    let h = digits(parts.first()?)?;
    let m = digits(parts.get(1)?)?;
    let sec = parts.get(2).map_or(Some(0), |s| digits(s))?.min(59);
    if parts.len() > 3 || parts[0].len() > 2 || parts[1].len() != 2 {
        return None;
    }
    NaiveTime::from_hms_opt(h, m, sec)
}

fn utc() -> FixedOffset {
    FixedOffset::east_opt(0).expect("zero offset")
}

fn at(date: NaiveDate, time: NaiveTime, offset: FixedOffset) -> DateTime<FixedOffset> {
    offset
        .from_local_datetime(&date.and_time(time))
        .single()
        .expect("a fixed offset has no gaps")
}

/// The offset a zone says: empty (none given: UTC), `Z`, `+HH:MM`, `+HHMM`, `+HH`, `GMT+2`,
/// or a name. An unknown name is taken as UTC: the date is still better than none.
fn zone(z: &str) -> Option<FixedOffset> {
    let z = z.trim();
    let upper = z.to_ascii_uppercase();
    let numeric = upper
        .strip_prefix("GMT")
        .or_else(|| upper.strip_prefix("UTC"))
        .filter(|r| r.starts_with(['+', '-']))
        .unwrap_or(&upper);
    if let Some(sign) = numeric.chars().next().filter(|c| *c == '+' || *c == '-') {
        let n = numeric[1..].replace(':', "");
        if !n.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let (h, m) = match n.len() {
            1 | 2 => (digits(&n)?, 0),
            3 => (digits(&n[..1])?, digits(&n[1..])?),
            4 => (digits(&n[..2])?, digits(&n[2..])?),
            _ => return None,
        };
        if h > 23 || m > 59 {
            return None;
        }
        let secs = (h * 3600 + m * 60) as i32;
        return FixedOffset::east_opt(if sign == '-' { -secs } else { secs });
    }
    let hours = match upper.as_str() {
        "" | "Z" | "UT" | "UTC" | "GMT" | "WET" => 0.0,
        "EST" => -5.0,
        "EDT" => -4.0,
        "CST" => -6.0,
        "CDT" => -5.0,
        "MST" => -7.0,
        "MDT" => -6.0,
        "PST" => -8.0,
        "PDT" => -7.0,
        "AKST" => -9.0,
        "AKDT" => -8.0,
        "HST" => -10.0,
        "AST" => -4.0,
        "ADT" => -3.0,
        "NST" => -3.5,
        "NDT" => -2.5,
        "BST" | "CET" | "MET" | "WEST" => 1.0,
        "CEST" | "MEST" | "EET" | "SAST" => 2.0,
        "EEST" | "MSK" => 3.0,
        "IST" => 5.5,
        "JST" | "KST" => 9.0,
        "AEST" => 10.0,
        "AEDT" => 11.0,
        "NZST" => 12.0,
        "NZDT" => 13.0,
        z if z.bytes().all(|b| b.is_ascii_alphabetic()) && z.len() <= 5 => 0.0,
        _ => return None,
    };
    FixedOffset::east_opt((hours * 3600.0) as i32)
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn month_of(token: &str) -> Option<u32> {
    let t = token.to_ascii_lowercase();
    let t = t.trim_end_matches('.');
    if t.len() < 3 || !t.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    MONTHS
        .iter()
        .position(|m| t.starts_with(m))
        .map(|i| i as u32 + 1)
}

fn parse_rfc822(s: &str) -> Option<DateTime<FixedOffset>> {
    let (mut day, mut month, mut year, mut time, mut offset) = (None, None, None, None, None);
    for token in s.split([' ', ',', '\t']).filter(|t| !t.is_empty()) {
        let lower = token.to_ascii_lowercase();
        if month.is_none() && month_of(token).is_some() {
            month = month_of(token);
        } else if time.is_none() && token.contains(':') {
            // `10:00:00+0200` and `10:00Z` come as one token.
            let end = token
                .find(|c: char| !(c.is_ascii_digit() || c == ':' || c == '.'))
                .unwrap_or(token.len());
            time = Some(parse_time(&token[..end])?);
            if end < token.len() {
                offset = Some(zone(&token[end..])?);
            }
        } else if let Some(n) = digits(token.trim_end_matches(['s', 't', 'n', 'd', 'r', 'h'])) {
            let is_year = token.len() == 4 || day.is_some();
            if is_year && year.is_none() {
                year = Some(match (token.len(), n) {
                    (2, n) if n < 50 => 2000 + n,
                    (2, n) => 1900 + n,
                    (_, n) => n,
                } as i32);
            } else if day.is_none() {
                day = Some(n);
            } else {
                return None;
            }
        } else if WEEKDAYS.iter().any(|w| lower.starts_with(w)) {
            // The weekday says nothing the date does not, and is often wrong.
        } else if offset.is_none() {
            offset = Some(zone(token)?);
        } else {
            return None;
        }
    }
    let date = NaiveDate::from_ymd_opt(year?, month?, day?)?;
    Some(at(
        date,
        time.unwrap_or(NaiveTime::MIN),
        offset.unwrap_or_else(utc),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::fixtures::{read, when};

    #[test]
    fn dates_in_the_wild() {
        let f = read("rss2-dates.xml");
        let got: Vec<(String, Option<String>)> = f
            .items
            .iter()
            .map(|i| (i.title.clone().unwrap(), when(&i.date_published)))
            .collect();
        let want = [
            ("rfc822", Some("2025-09-16T18:30:00+02:00")),
            ("no-weekday", Some("2025-09-16T18:30:00+00:00")),
            ("wrong-weekday", Some("2025-09-16T18:30:00-05:00")),
            ("one-digit-day", Some("2025-09-03T07:08:09-07:00")),
            ("two-digit-year", Some("2025-01-05T10:00:00+02:00")),
            ("no-seconds", Some("2025-09-05T10:00:00+00:00")),
            ("zone-z", Some("2025-09-05T10:00:00+00:00")),
            ("iso-offset", Some("2025-09-16T18:30:00+02:00")),
            ("iso-no-zone", Some("2025-09-16T18:30:00+00:00")),
            ("iso-date-only", Some("2025-09-16T00:00:00+00:00")),
            ("long-month", Some("2025-09-16T06:30:00+02:00")),
            // A bad date costs the date, not the item.
            ("bad", None),
        ];
        assert_eq!(got.len(), want.len());
        for ((title, date), (want_title, want_date)) in got.iter().zip(want) {
            assert_eq!(title, want_title);
            assert_eq!(date.as_deref(), want_date, "{title}");
        }
    }

    #[test]
    fn date_parser_edge_cases() {
        let p = |s: &str| parse_date(s).map(|d| d.to_rfc3339());
        assert_eq!(
            p("2025-09-16T18:30:00.123-0700").as_deref(),
            Some("2025-09-16T18:30:00-07:00")
        );
        assert_eq!(
            p("Sat, 06 Sep 2025 20:00:00 GMT+2").as_deref(),
            Some("2025-09-06T20:00:00+02:00")
        );
        assert_eq!(
            p("Sep 6 2025 20:00").as_deref(),
            Some("2025-09-06T20:00:00+00:00")
        );
        assert_eq!(p("31 Feb 2025 10:00:00 GMT"), None);
        assert_eq!(p(""), None);
        assert_eq!(p("12"), None);
    }
}
