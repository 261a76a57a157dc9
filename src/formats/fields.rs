//! Field readers every format's mapping shares, under the strictness the caller chose
//! ([`Strictness`]): the one place where a strict read (API, CLI: a value goes to ingest as
//! written, so that a bad one is refused by name) and a lenient read (upstreams: repaired,
//! guessed or dropped, so that one bad field never costs the feed) differ field by field.
//! Also the `sy:` update interval.

use std::time::Duration;

use url::Url;

use super::Strictness;
use super::dates::parse_date;
use crate::draft::DateText;
use crate::text::html_to_text;

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

/// Which grammar a date was written in, for a strict read (a lenient one reads any).
#[derive(Clone, Copy)]
pub(super) enum DateKind {
    Rfc822,
    Rfc3339,
}

/// How one reading treats its fields: the mapping of each format is written once, against
/// these methods.
#[derive(Clone, Copy, Debug)]
pub(super) struct Fields {
    pub(super) strictness: Strictness,
}

impl Fields {
    pub(super) const STRICT: Fields = Fields {
        strictness: Strictness::Strict,
    };
    pub(super) const LENIENT: Fields = Fields {
        strictness: Strictness::Lenient,
    };

    pub(super) fn lenient(self) -> bool {
        self.strictness == Strictness::Lenient
    }

    /// A URL field: as written (strict: ingest resolves it and refuses a bad one by name), or
    /// absolute or nothing (lenient: the pre-pass already resolved it against its base).
    pub(super) fn url(self, s: &str) -> Option<String> {
        if self.lenient() {
            abs(s)
        } else {
            Some(s.to_owned())
        }
    }

    /// An owned URL field, the same way.
    pub(super) fn url_owned(self, s: String) -> Option<String> {
        if self.lenient() { abs(&s) } else { Some(s) }
    }

    /// A plain-text field that may hold HTML (`html`): as written when strict, its text with
    /// white space collapsed when lenient.
    pub(super) fn text(self, s: &str, html: bool) -> Option<String> {
        if self.lenient() {
            plain(s, html)
        } else {
            Some(s.to_owned())
        }
    }

    /// A field of HTML or text kept as it is: trimmed and absent when blank when lenient.
    pub(super) fn body(self, s: Option<String>) -> Option<String> {
        if self.lenient() { non_empty(s) } else { s }
    }

    /// An id: trimmed and absent when blank when lenient.
    pub(super) fn id(self, s: String) -> Option<String> {
        if self.lenient() {
            non_empty(Some(s))
        } else {
            Some(s)
        }
    }

    /// A date: its text for ingest to parse strictly (and refuse by name), or read with every
    /// repair there is and dropped when it is no date.
    pub(super) fn date(self, s: Option<&str>, kind: DateKind) -> Option<DateText> {
        let s = s?;
        if self.lenient() {
            return parse_date(s).map(DateText::Parsed);
        }
        Some(match kind {
            DateKind::Rfc822 => DateText::Rfc822(s.to_owned()),
            DateKind::Rfc3339 => DateText::Rfc3339(s.to_owned()),
        })
    }

    /// A number such as a size or a duration in seconds: lenient reads `12.0` and ` 12 `.
    pub(super) fn count(self, s: Option<&str>) -> Option<u64> {
        let s = s?;
        if self.lenient() {
            s.trim()
                .parse::<f64>()
                .ok()
                .filter(|d| d.is_finite() && *d >= 0.0)
                .map(|d| d.round() as u64)
        } else {
            s.parse().ok()
        }
    }
}
