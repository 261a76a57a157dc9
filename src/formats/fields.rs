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
    if parses_as_url(v) {
        return Some(v.to_owned());
    }
    base.join(v).ok().map(String::from)
}

/// An absolute URL, or nothing: the ingest pipeline refuses a relative one it cannot resolve,
/// and one unresolvable link must not cost the item.
pub(super) fn abs(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty() && parses_as_url(s)).then(|| s.to_owned())
}

/// Whether `Url::parse(s)` succeeds; the readers keep a URL as written, so only that counts.
/// Most feed URLs are plain `http(s)://host/...`, which [`plainly_http`] proves parse
/// without running the parser (its normalising and allocating cost most of the mapping).
fn parses_as_url(s: &str) -> bool {
    plainly_http(s) || Url::parse(s).is_ok()
}

/// True only for a URL that WHATWG's parser (the `url` crate) surely accepts: `http://` or
/// `https://` written in lower case, then a host of ASCII letters, digits, `-` and `.` in
/// non-empty labels, the last starting with a letter (so it is a domain, never read as an
/// IPv4 address) and none starting with `xn--` (punycode, which IDNA may refuse), an
/// optional port of at most five digits up to 65535, then the end or a `/`, `?`, `#` or `\`,
/// after which the parser percent-encodes what it must and refuses nothing. Anything else
/// answers false and goes to the parser: this is a short cut, never a judge.
fn plainly_http(s: &str) -> bool {
    let Some(rest) = s
        .strip_prefix("http://")
        .or_else(|| s.strip_prefix("https://"))
    else {
        return false;
    };
    let end = rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let (host, port) = match authority.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    if let Some(p) = port
        && !(p.len() <= 5
            && p.bytes().all(|b| b.is_ascii_digit())
            && p.parse::<u32>().is_ok_and(|n| n <= 65_535))
    {
        return false;
    }
    let mut labels = host.split('.').peekable();
    while let Some(label) = labels.next() {
        let ok = !label.is_empty()
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label
                .get(..4)
                .is_some_and(|p| p.eq_ignore_ascii_case("xn--"));
        if !ok {
            return false;
        }
        if labels.peek().is_none() && !label.starts_with(|c: char| c.is_ascii_alphabetic()) {
            return false;
        }
    }
    true
}

/// Text for a plain-text field: tags stripped and entities decoded when it holds HTML, white
/// space collapsed.
pub(super) fn plain(s: &str, html: bool) -> Option<String> {
    if html {
        collapse(html_to_text(s))
    } else {
        collapse_str(s)
    }
}

/// Runs of ASCII white space as one space, none at either end (only ASCII: a no-break space
/// is there on purpose); `None` when nothing is left. A text that is already so (most titles)
/// is kept without a copy.
fn collapse(text: String) -> Option<String> {
    if is_collapsed(&text) {
        return (!text.is_empty()).then_some(text);
    }
    collapse_str(&text)
}

fn collapse_str(text: &str) -> Option<String> {
    if is_collapsed(text) {
        return (!text.is_empty()).then(|| text.to_owned());
    }
    let mut out = String::with_capacity(text.len());
    for word in text
        .split(|c: char| c.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    (!out.is_empty()).then_some(out)
}

/// No ASCII white space but single spaces between words (one pass over the bytes).
fn is_collapsed(text: &str) -> bool {
    // Starting as if after a space refuses a leading one.
    let mut after_space = true;
    for &c in text.as_bytes() {
        if c <= b' ' {
            if c == b' ' {
                if after_space {
                    return false;
                }
                after_space = true;
                continue;
            }
            if c.is_ascii_whitespace() {
                return false;
            }
        }
        after_space = false;
    }
    text.is_empty() || !after_space
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use url::Url;

    use super::{abs, plain, plainly_http, resolve_url};

    /// What `abs` and `plain` were before their short cuts: the reference they are held to.
    fn abs_by_parser(s: &str) -> Option<String> {
        let s = s.trim();
        (!s.is_empty() && Url::parse(s).is_ok()).then(|| s.to_owned())
    }

    fn plain_by_words(s: &str, html: bool) -> Option<String> {
        let text = if html {
            crate::text::html_to_text(s)
        } else {
            s.to_owned()
        };
        let collapsed = text
            .split(|c: char| c.is_ascii_whitespace())
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        (!collapsed.is_empty()).then_some(collapsed)
    }

    #[test]
    fn the_url_short_cut_takes_plain_http_urls_and_leaves_the_rest_to_the_parser() {
        for ok in [
            "http://a.example",
            "https://a.example/",
            "https://A.Example:8080/p/../q?x=1&y=%zz#f g",
            "https://a-b.c0.example:65535",
            "http://1.2.example/é<>\"'`{}|^",
            "http://a.example\\path",
            "https://x.example?q",
            "https://x.example#f",
        ] {
            assert!(plainly_http(ok), "{ok}");
            assert_eq!(abs(ok), abs_by_parser(ok), "{ok}");
        }
        for other in [
            // Some parse, some do not: the parser says which.
            "HTTP://a.example/",
            "ftp://a.example/",
            "http://",
            "http:///a",
            "http://a..example/",
            "http://a.example./",
            "http://1.2.3.4/",
            "http://999.1.1.1/",
            "http://a.0x1f/",
            "http://a.123/",
            "http://xn--a.example/",
            "http://XN--abc/",
            "http://a.example:/",
            "http://a.example:65536/",
            "http://a.example:123456/",
            "http://user:pw@a.example/",
            "http://[::1]/",
            "http://exa mple.com/",
            "http://exa\tmple.com/",
            "http://é.example/",
            "http://a.example%41/",
            "http://a_b.example/",
            "",
            "/relative",
        ] {
            assert!(!plainly_http(other), "{other}");
            assert_eq!(abs(other), abs_by_parser(other), "{other}");
        }
        let base = Url::parse("https://up.example/dir/feed.xml").unwrap();
        assert_eq!(
            resolve_url(" https://a.example/x ", &base).as_deref(),
            Some("https://a.example/x")
        );
        assert_eq!(
            resolve_url("x/../y", &base).as_deref(),
            Some("https://up.example/dir/y")
        );
    }

    #[test]
    fn plain_text_collapses_white_space_as_before() {
        for (s, html) in [
            ("", false),
            ("   ", false),
            ("a", false),
            (" a  b\t\nc ", false),
            ("a\u{a0} b", false),
            ("a b c", false),
            ("<p> a &amp; <b>b</b></p>\n", true),
            ("a &lt; b", true),
            ("\u{3000}a\u{2003}", false),
        ] {
            assert_eq!(plain(s, html), plain_by_words(s, html), "{s:?}");
        }
    }

    proptest! {
        /// Every URL the short cut accepts is one the parser accepts, so `abs` and
        /// `resolve_url` answer exactly as with the parser alone, whatever the input.
        #[test]
        fn the_url_short_cut_never_accepts_what_the_parser_refuses(
            s in prop_oneof![
                "https?://[a-zA-Z0-9.\\-]{0,12}(:[0-9]{0,6})?([/?#\\\\].{0,20})?",
                "https?://([a-z0-9\\-]{0,4}\\.){0,3}[a-z0-9\\-]{0,5}(:[0-9]{0,6})?(/.{0,10})?",
                "(https?|HTTP|ftp):/{0,3}.{0,24}",
                ".{0,30}",
            ]
        ) {
            if plainly_http(&s) {
                prop_assert!(Url::parse(&s).is_ok(), "{s:?}");
            }
            prop_assert_eq!(abs(&s), abs_by_parser(&s));
            let base = Url::parse("https://up.example/dir/feed.xml").unwrap();
            let by_parser = {
                let v = s.trim();
                if v.is_empty() {
                    None
                } else if Url::parse(v).is_ok() {
                    Some(v.to_owned())
                } else {
                    base.join(v).ok().map(String::from)
                }
            };
            prop_assert_eq!(resolve_url(&s, &base), by_parser);
        }

        #[test]
        fn plain_text_is_what_splitting_into_words_gave(
            s in "[ a\\t\\n\\r\u{a0}b<&;>p/]{0,24}",
            html in any::<bool>(),
        ) {
            prop_assert_eq!(plain(&s, html), plain_by_words(&s, html));
        }
    }
}
