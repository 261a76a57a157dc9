//! Field helpers the pre-pass and every mapping share: URLs resolved or checked absolute,
//! plain text, dates, and the `sy:` update interval.

use std::time::Duration;

use url::Url;

use super::dates::parse_date;
use crate::ingest::DateText;
use crate::ingest::normalize::html_to_text;

/// Resolves a URL against a base, leaving an absolute one exactly as written.
pub(super) fn resolve_url(value: &str, base: &Url) -> Option<String> {
    let v = value.trim();
    if v.is_empty() {
        return None;
    }
    if Url::parse(v).is_ok() {
        return Some(v.to_owned());
    }
    base.join(v).ok().map(String::from)
}

/// An absolute URL, or nothing: the ingest pipeline refuses a relative one it cannot resolve,
/// and one unresolvable link must not cost the item.
pub(super) fn abs(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty() && Url::parse(s).is_ok()).then(|| s.to_owned())
}

/// Text for a plain-text field: tags stripped and entities decoded when it holds HTML, white
/// space collapsed.
pub(super) fn plain(s: &str, html: bool) -> Option<String> {
    let text = if html { html_to_text(s) } else { s.to_owned() };
    // Only ASCII white space: a no-break space is there on purpose.
    let collapsed = text
        .split(|c: char| c.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    (!collapsed.is_empty()).then_some(collapsed)
}

pub(super) fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// `sy:updatePeriod` / `sy:updateFrequency` as one interval: the period divided by the number
/// of updates in it (default 1); a frequency alone means daily, as the module says.
pub(super) fn update_period(period: Option<&str>, frequency: Option<&str>) -> Option<Duration> {
    if period.is_none() && frequency.is_none() {
        return None;
    }
    let secs: u64 = match period
        .unwrap_or("daily")
        .trim()
        .to_ascii_lowercase()
        .as_str()
    {
        "hourly" => 3600,
        "daily" => 86_400,
        "weekly" => 7 * 86_400,
        "monthly" => 30 * 86_400,
        "yearly" => 365 * 86_400,
        _ => return None,
    };
    let freq = frequency
        .and_then(|f| f.trim().parse::<u64>().ok())
        .filter(|f| *f > 0)
        .unwrap_or(1);
    Some(Duration::from_secs(secs / freq))
}

pub(super) fn date(s: Option<&str>) -> Option<DateText> {
    s.and_then(parse_date).map(DateText::Parsed)
}
