//! Reads upstream feeds as they really are: RSS 0.90 to 2.0 (RDF included), Atom 1.0 and 0.3,
//! JSON Feed 1.0 and 1.1, in any common charset, with HTML entities, broken dates, relative URLs
//! and the odd unclosed tag. The poller imports what comes out through the one ingest pipeline,
//! so every item is a [`Draft`] whose URLs are absolute and whose dates are already parsed
//! (`DateText::Parsed`): no single bad field may make a whole import fail.
//!
//! Why it is built this way (numbers and reasoning in docs/parser-eval.md): the `rss` and
//! `atom_syndication` crates, which syndic's own readers use, keep every field, every extension
//! element and each date's own offset, but on their own they reject much of what is out there:
//! charsets other than UTF-8, HTML entities, Atom 0.3, `type="text/html"` titles, a bad date.
//! `feed-rs` rejects fewer, but drops fields the articles need (the enclosure beside a
//! `media:content`, `medium="image"`, RSS `source`, `dc:contributor`) and every date's offset.
//! So XML first goes through one streaming pass over `quick-xml` ([`prepare_xml`]) that decodes
//! once, repairs and normalizes what those crates would trip on, and only then to them; JSON
//! Feed maps one to one onto a draft and is read straight from `serde_json` values.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, TimeZone};
use encoding_rs::Encoding;
use quick_xml::NsReader;
use quick_xml::escape::escape;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{Namespace, ResolveResult};
use serde_json::Value;
use url::Url;

use crate::formats::ParseError;
use crate::ingest::normalize::{absolutize_html, html_to_text};
use crate::ingest::{DateText, Draft};
use crate::model::{Attachment, Image, Person, Source};

/// An upstream feed as read: what the poller needs of the channel, and its items.
#[derive(Debug, Clone, Default)]
pub struct UpstreamFeed {
    pub title: Option<String>,
    /// The feed's alternate (HTML) link, absolute.
    pub site_url: Option<String>,
    /// The WebSub hub (`<link rel="hub">`, `atom:link` in RSS too), absolute.
    pub hub: Option<String>,
    /// `rel="self"`, absolute.
    pub self_url: Option<String>,
    /// RSS `<ttl>` (minutes).
    pub ttl: Option<Duration>,
    /// `sy:updatePeriod` divided by `sy:updateFrequency`.
    pub update_period: Option<Duration>,
    pub items: Vec<Draft>,
}

/// Reads an upstream feed. `content_type` is the HTTP Content-Type header value if any;
/// `feed_url` is the URL the body came from (after redirects), the base of relative URLs.
///
/// Fails (`ParseError::Malformed`) only when the body is not a feed at all: an HTML page, an
/// empty body, JSON that is not a JSON Feed. Anything wrong inside a feed costs that field only.
pub fn parse_feed(
    body: &[u8],
    content_type: Option<&str>,
    feed_url: &Url,
) -> Result<UpstreamFeed, ParseError> {
    let text = decode(body, content_type)?;
    let start = text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
    if start.starts_with(['{', '[']) {
        return json_feed(start, feed_url);
    }
    let prepared = normalize(&text, feed_url)?;
    // A panic inside a third-party reader must cost this one feed, not the poller.
    let read = std::panic::catch_unwind(|| match prepared.doc {
        Doc::Rss | Doc::Rdf => rss::Channel::read_from(prepared.xml.as_bytes())
            .map(|c| from_rss(c, &prepared))
            .map_err(|e| e.to_string()),
        Doc::Atom => atom_syndication::Feed::read_from(prepared.xml.as_bytes())
            .map(|f| from_atom(f, &prepared))
            .map_err(|e| e.to_string()),
    });
    match read {
        Ok(Ok(feed)) => Ok(feed),
        Ok(Err(e)) => Err(ParseError::Malformed(format!(
            "the feed cannot be read even after repair: {e}"
        ))),
        Err(_) => Err(ParseError::Malformed(
            "the feed reader failed on this document".into(),
        )),
    }
}

/// The XML that [`parse_feed`] hands to the `rss` and `atom_syndication` readers: decoded to
/// UTF-8 without a declaration, entities resolved, tags balanced, names and dates normalized,
/// URLs absolute. Public so that `examples/parser_eval.rs` can measure other readers on the
/// same input; not meant for anything else.
#[doc(hidden)]
pub fn prepare_xml(
    body: &[u8],
    content_type: Option<&str>,
    feed_url: &Url,
) -> Result<String, ParseError> {
    normalize(&decode(body, content_type)?, feed_url).map(|p| p.xml)
}

// ---------------------------------------------------------------------------------------------
// Decoding

/// Decodes the body once, to UTF-8. The charset is chosen by precedence: a byte order mark, then
/// the `charset` of the HTTP Content-Type, then the XML declaration's `encoding`, then UTF-8.
/// That is RFC 7303's order: when the header and the prolog disagree (common: servers default
/// to ISO-8859-1 or UTF-8 whatever the file says), the header wins, as in every browser.
/// Exceptions, each because the bytes themselves prove the label wrong: UTF-16 without a BOM
/// is recognised by its zero bytes around `<?`; a UTF-16 label on a body without either is
/// ignored; and a body with no label anywhere that is not UTF-8 at all (no valid multi-byte
/// sequence) is read as windows-1252, as legacy feeds without a declaration mostly are.
/// Invalid bytes become U+FFFD. Labels are WHATWG's, so ISO-8859-1 reads as its superset
/// windows-1252. The declaration itself is dropped by the pre-pass, so nothing decodes twice.
fn decode(body: &[u8], content_type: Option<&str>) -> Result<String, ParseError> {
    // Neither is in the WHATWG set that encoding_rs implements, and feeds are not written in
    // them in practice: say so rather than read NUL-riddled nonsense.
    match body {
        [0, 0, 0xFE, 0xFF, ..]
        | [0xFF, 0xFE, 0, 0, ..]
        | [0, 0, 0, b'<', ..]
        | [b'<', 0, 0, 0, ..] => {
            return Err(ParseError::Malformed(
                "the document is in UTF-32, which is not supported".into(),
            ));
        }
        [0x4C, 0x6F, 0xA7, 0x94, ..] => {
            return Err(ParseError::Malformed(
                "the document is in EBCDIC, which is not supported".into(),
            ));
        }
        _ => {}
    }
    let (encoding, skip) = choose_encoding(body, content_type);
    let bytes = &body[skip..];
    let text = match encoding {
        Some(enc) => enc.decode_without_bom_handling(bytes).0,
        None => match std::str::from_utf8(bytes) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => {
                // Mostly UTF-8 with a stray bad byte stays UTF-8; no UTF-8 at all is legacy.
                let lossy = String::from_utf8_lossy(bytes);
                if lossy.chars().any(|c| !c.is_ascii() && c != '\u{fffd}') {
                    lossy
                } else {
                    encoding_rs::WINDOWS_1252
                        .decode_without_bom_handling(bytes)
                        .0
                }
            }
        },
    };
    // A second BOM (a UTF-8 one that was transcoded along) means nothing either.
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_owned(),
        None => text.into_owned(),
    })
}

/// The encoding to decode with (`None`: UTF-8 by default, nothing said) and the BOM's length.
fn choose_encoding(body: &[u8], content_type: Option<&str>) -> (Option<&'static Encoding>, usize) {
    if let Some((enc, len)) = Encoding::for_bom(body) {
        return (Some(enc), len);
    }
    match body {
        [b'<', 0, b'?', 0, ..] => return (Some(encoding_rs::UTF_16LE), 0),
        [0, b'<', 0, b'?', ..] => return (Some(encoding_rs::UTF_16BE), 0),
        _ => {}
    }
    let not_utf16 = |enc: &'static Encoding| {
        if enc == encoding_rs::UTF_16LE || enc == encoding_rs::UTF_16BE {
            None
        } else {
            Some(enc)
        }
    };
    let header = content_type
        .and_then(charset_param)
        .and_then(|l| Encoding::for_label(l.as_bytes()))
        .and_then(not_utf16);
    if header.is_some() {
        return (header, 0);
    }
    let declared = declared_encoding(body)
        .and_then(|l| Encoding::for_label(l.as_bytes()))
        .and_then(not_utf16);
    (declared, 0)
}

/// The `charset` parameter of a Content-Type value.
fn charset_param(ct: &str) -> Option<&str> {
    ct.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches(['"', '\'']).trim())
            .filter(|v| !v.is_empty())
    })
}

/// The `encoding` of an XML declaration at the start of an ASCII-compatible body.
fn declared_encoding(body: &[u8]) -> Option<String> {
    let head = &body[..body.len().min(512)];
    let start = head.iter().position(|b| !b.is_ascii_whitespace())?;
    let head = &head[start..];
    if !head.starts_with(b"<?xml") {
        return None;
    }
    let end = head.windows(2).position(|w| w == b"?>")?;
    let decl = std::str::from_utf8(&head[..end]).ok()?;
    let after = &decl[decl.find("encoding")? + "encoding".len()..];
    let after = after.trim_start().strip_prefix('=')?.trim_start();
    let quote = after.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &after[1..];
    Some(value[..value.find(quote)?].trim().to_owned())
}

// ---------------------------------------------------------------------------------------------
// References

/// Windows-1252's characters for 0x80..=0x9F, which feeds write as `&#146;` and mean `’`
/// (HTML5 maps them the same way); 0 where windows-1252 has no character.
const CP1252_C1: [u32; 32] = [
    0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039,
    0x0152, 0, 0x017D, 0, 0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC,
    0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
];

/// True for the characters XML 1.0 allows.
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// What the reference `&name;` stands for: XML's five, a character reference, or any HTML5
/// named entity (feeds are written by HTML tools and use `&nbsp;`, `&eacute;`, `&hellip;`
/// freely). `None` for a name nobody defines. A character reference to something XML forbids
/// stands for nothing.
fn resolve_ref(name: &str) -> Option<Cow<'static, str>> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok(),
            None => num.parse::<u32>().ok(),
        };
        let code = match code {
            Some(c @ 0x80..=0x9F) => Some(CP1252_C1[(c - 0x80) as usize]).filter(|c| *c != 0),
            other => other,
        };
        let c = code.and_then(char::from_u32).filter(|c| xml_char(*c));
        return Some(c.map_or(Cow::Borrowed(""), |c| Cow::Owned(c.to_string())));
    }
    let predefined = match name {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        _ => "",
    };
    if !predefined.is_empty() {
        return Some(Cow::Borrowed(predefined));
    }
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let reference = format!("&{name};");
    let decoded = html_escape::decode_html_entities(&reference);
    // html-escape also decodes legacy prefixes (`&notit;` as `¬it;`): only a whole match counts.
    (decoded != reference && !decoded.contains(';') && decoded.chars().count() <= 2)
        .then(|| Cow::Owned(decoded.into_owned()))
}

/// Resolves every reference in raw XML text (an attribute value) as [`resolve_ref`] does; an
/// unknown reference or a bare `&` stays as written.
fn decode_refs(raw: &str) -> Cow<'_, str> {
    if !raw.contains('&') {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let name_end = rest[1..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '#'))
            .map(|j| j + 1);
        match name_end {
            Some(j) if rest[j..].starts_with(';') => match resolve_ref(&rest[1..j]) {
                Some(s) => {
                    out.push_str(&s);
                    rest = &rest[j + 1..];
                }
                None => {
                    out.push('&');
                    rest = &rest[1..];
                }
            },
            _ => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

// ---------------------------------------------------------------------------------------------
// Dates

/// Parses a date as feeds write them: RFC 3339 and ISO 8601 (`T` or space, with or without
/// seconds, fraction, colon in the offset, or zone; a date alone is midnight), and RFC 822
/// with what goes wrong in it (no or wrong weekday, one-digit day, two-digit year, no
/// seconds, zone names such as EST, CEST or UT, month before day). A date without a zone is
/// UTC. The offset written is kept. `None` when it is not a date.
fn parse_date(s: &str) -> Option<DateTime<FixedOffset>> {
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

// ---------------------------------------------------------------------------------------------
// The XML pre-pass

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Doc {
    Rss,
    Rdf,
    Atom,
}

/// What the pre-pass hands on: the repaired document, and the channel's syndication hints,
/// which the `rss` crate only keeps when written exactly (`hourly`, not ` Hourly`).
struct Prepared {
    xml: String,
    doc: Doc,
    update_period: Option<String>,
    update_frequency: Option<String>,
}

/// Which vocabulary an element belongs to, which decides the name it is written under.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ns {
    /// No namespace, or one of RSS's own.
    Core,
    Atom,
    Atom03,
    Xhtml,
    /// A module the readers know by prefix: `dc`, `content`, `media`, ...
    Ext(&'static str),
    Foreign,
}

const NS_ATOM: &str = "http://www.w3.org/2005/Atom";
const NS_ATOM03: &str = "http://purl.org/atom/ns#";
const NS_RDF: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";
const NS_RSS1: &str = "http://purl.org/rss/1.0/";

/// The modules the `rss` and `atom_syndication` crates (and the mapping below) find by prefix,
/// so every document gets them under these prefixes, whatever it called them.
const EXT_NAMESPACES: &[(&str, &str)] = &[
    ("dc", "http://purl.org/dc/elements/1.1/"),
    ("dcterms", "http://purl.org/dc/terms/"),
    ("content", "http://purl.org/rss/1.0/modules/content/"),
    ("media", "http://search.yahoo.com/mrss/"),
    ("sy", "http://purl.org/rss/1.0/modules/syndication/"),
    ("rdf", NS_RDF),
    ("itunes", "http://www.itunes.com/dtds/podcast-1.0.dtd"),
];

const RSS_NAMESPACES: &[&str] = &[
    NS_RSS1,
    "http://my.netscape.com/rdf/simple/0.9/",
    "http://backend.userland.com/rss2",
    "http://blogs.law.harvard.edu/tech/rss",
];

fn ns_of_uri(uri: &str) -> Ns {
    let u = uri.trim().trim_end_matches('/');
    let same = |n: &str| n.trim_end_matches('/') == u;
    if same(NS_ATOM) {
        Ns::Atom
    } else if same(NS_ATOM03) {
        Ns::Atom03
    } else if same("http://www.w3.org/1999/xhtml") {
        Ns::Xhtml
    } else if RSS_NAMESPACES.iter().any(|n| same(n)) {
        Ns::Core
    } else if let Some((p, _)) = EXT_NAMESPACES.iter().find(|(_, n)| same(n)) {
        Ns::Ext(p)
    } else {
        Ns::Foreign
    }
}

/// A prefix nobody declared: the usual ones are taken to mean what they always mean.
fn ns_of_prefix(prefix: &str) -> Ns {
    match prefix {
        "atom" => Ns::Atom,
        "xhtml" => Ns::Xhtml,
        p => EXT_NAMESPACES
            .iter()
            .find(|(q, _)| *q == p)
            .map_or(Ns::Foreign, |(q, _)| Ns::Ext(q)),
    }
}

/// How a captured element's text is rewritten before it is written out.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Capture {
    /// Re-written as RFC 3339 with its own offset, or dropped when it is not a date.
    Date,
    /// Resolved against the base in effect.
    Url,
    /// Text that may be HTML: nested markup is kept as text; relative URLs in it are resolved
    /// when `absolutize`.
    Html {
        absolutize: bool,
    },
    /// Atom 0.3's `mode="base64"`: decoded.
    Base64,
    /// `sy:updatePeriod` / `sy:updateFrequency`, kept aside too.
    Period,
    Frequency,
}

struct Captured {
    raw: String,
    out: String,
    attrs: String,
    kind: Capture,
    /// Open elements of the same raw name inside it, so that its own end tag is found.
    depth: usize,
    buf: String,
    base: Url,
}

struct Open {
    raw: String,
    out: String,
    /// The xml:base this element sets, absolute.
    base: Option<Url>,
    /// Inside XHTML content: names and attributes pass as written.
    xhtml: bool,
    item: bool,
}

/// The streaming repair: reads events leniently and writes a document that the strict
/// readers accept and that says the same thing.
struct Normalizer<'u> {
    out: String,
    doc: Doc,
    atom03: bool,
    stack: Vec<Open>,
    capture: Option<Captured>,
    feed_url: &'u Url,
    saw_channel: bool,
    item_depth: usize,
    update_period: Option<String>,
    update_frequency: Option<String>,
}

/// Runs the pre-pass over decoded text.
fn normalize(text: &str, feed_url: &Url) -> Result<Prepared, ParseError> {
    let mut reader = NsReader::from_str(text);
    let config = reader.config_mut();
    config.expand_empty_elements = true;
    config.check_end_names = false;
    config.allow_unmatched_ends = true;
    config.allow_dangling_amp = true;
    config.trim_text(false);
    let mut n = Normalizer {
        out: String::with_capacity(text.len() + 1024),
        doc: Doc::Rss,
        atom03: false,
        stack: Vec::new(),
        capture: None,
        feed_url,
        saw_channel: false,
        item_depth: 0,
        update_period: None,
        update_frequency: None,
    };
    let mut root_seen = false;
    let (mut errors, mut last_error_at) = (0, None);
    loop {
        let (ns, event) = match reader.read_resolved_event() {
            Ok((resolved, event)) => {
                let ns = match resolved {
                    ResolveResult::Bound(Namespace(uri)) => ns_of_uri(uri),
                    ResolveResult::Unbound => Ns::Core,
                    ResolveResult::Unknown(prefix) => ns_of_prefix(&prefix),
                };
                (ns, event)
            }
            Err(e) => {
                if !root_seen {
                    return Err(ParseError::Malformed(format!(
                        "the document is not a feed: it is not readable as XML ({e})"
                    )));
                }
                // Keep what was read: a truncated or broken tail costs the items in it only.
                let at = reader.buffer_position();
                errors += 1;
                if errors > 100 || last_error_at == Some(at) {
                    break;
                }
                last_error_at = Some(at);
                continue;
            }
        };
        match event {
            Event::Start(e) if !root_seen => {
                n.root(ns, &e)?;
                root_seen = true;
            }
            Event::Start(e) => n.start(ns, &e),
            Event::End(e) if n.end(e.name().as_ref()) => break,
            Event::Text(t) if root_seen => n.text(&t),
            Event::CData(t) if root_seen => n.cdata(&t),
            Event::GeneralRef(r) if root_seen => n.reference(&r),
            Event::Eof => break,
            // The declaration goes: the text is UTF-8 now and nothing may decode it again.
            // Comments, processing instructions and the DOCTYPE say nothing a reader needs.
            _ => {}
        }
    }
    if !root_seen {
        return Err(ParseError::Malformed(
            "the document is not a feed: it has no XML element".into(),
        ));
    }
    n.finish();
    Ok(Prepared {
        xml: n.out,
        doc: n.doc,
        update_period: n.update_period,
        update_frequency: n.update_frequency,
    })
}

/// True for a name the strict readers accept. A broken tag (`<chann"el>`, `<title="">`)
/// reads as an element with such a name; it is dropped, and what it held is kept.
fn xml_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '-' | '.' | ':'))
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ':') || !c.is_ascii())
}

/// Writes one attribute, escaped.
fn push_attr(out: &mut String, key: &str, value: &str) {
    out.push(' ');
    out.push_str(key);
    out.push_str("=\"");
    out.push_str(&escape(value));
    out.push('"');
}

/// Resolves a URL against a base, leaving an absolute one exactly as written.
fn resolve_url(value: &str, base: &Url) -> Option<String> {
    let v = value.trim();
    if v.is_empty() {
        return None;
    }
    if Url::parse(v).is_ok() {
        return Some(v.to_owned());
    }
    base.join(v).ok().map(String::from)
}

impl Normalizer<'_> {
    fn base(&self) -> &Url {
        self.stack
            .iter()
            .rev()
            .find_map(|o| o.base.as_ref())
            .unwrap_or(self.feed_url)
    }

    fn root(&mut self, ns: Ns, e: &BytesStart) -> Result<(), ParseError> {
        let raw = e.name().0.to_owned();
        let local = e.local_name().as_ref().to_ascii_lowercase();
        self.doc = match local.as_str() {
            "rss" => Doc::Rss,
            "rdf" => Doc::Rdf,
            "feed" | "entry" => Doc::Atom,
            _ => {
                return Err(ParseError::Malformed(format!(
                    "the document is not a feed: its root element is <{raw}>, not <rss>, <rdf:RDF> or <feed>"
                )));
            }
        };
        let mut kept = String::new();
        let mut base = None;
        let mut version = None;
        for a in e.html_attributes().with_checks(false).flatten() {
            let key = a.key.as_ref();
            if !xml_name(key) {
                continue;
            }
            let value = decode_refs(&a.value);
            match key {
                "xml:base" => base = self.feed_url.join(value.trim()).ok(),
                "version" => version = Some(value.into_owned()),
                k if (k == "xmlns" || k.starts_with("xmlns:"))
                    && ns_of_uri(&value) != Ns::Foreign => {}
                k => push_attr(&mut kept, k, &value),
            }
        }
        self.atom03 = self.doc == Doc::Atom
            && (ns == Ns::Atom03
                || (ns != Ns::Atom && version.is_some_and(|v| v.trim().starts_with("0."))));
        let (name, mut decls) = match self.doc {
            Doc::Rss => ("rss", String::from(r#" version="2.0""#)),
            Doc::Rdf => ("rdf:RDF", format!(r#" xmlns="{NS_RSS1}""#)),
            Doc::Atom => ("feed", format!(r#" xmlns="{NS_ATOM}""#)),
        };
        if self.doc != Doc::Atom {
            push_attr(&mut decls, "xmlns:atom", NS_ATOM);
        }
        for (prefix, uri) in EXT_NAMESPACES {
            push_attr(&mut decls, &format!("xmlns:{prefix}"), uri);
        }
        self.out.push('<');
        self.out.push_str(name);
        self.out.push_str(&decls);
        let standalone_entry = local == "entry";
        if !standalone_entry {
            self.out.push_str(&kept);
        }
        self.out.push('>');
        self.stack.push(Open {
            raw: if standalone_entry { String::new() } else { raw },
            out: name.to_owned(),
            base: if standalone_entry { None } else { base },
            xhtml: false,
            item: false,
        });
        if standalone_entry {
            // A lone Atom entry (RFC 4287 allows it as a document) is read as a feed of one.
            self.start(ns, e);
        }
        Ok(())
    }

    /// The name an element is written under: the readers match core elements by bare local
    /// name and modules by their usual prefix.
    fn out_name(&self, ns: Ns, local: &str, raw: &str) -> String {
        match ns {
            Ns::Core => local.to_owned(),
            Ns::Atom | Ns::Atom03 if self.doc == Doc::Atom => local.to_owned(),
            Ns::Atom | Ns::Atom03 => format!("atom:{local}"),
            Ns::Ext(p) => format!("{p}:{local}"),
            Ns::Xhtml | Ns::Foreign => raw.to_owned(),
        }
    }

    fn start(&mut self, ns: Ns, e: &BytesStart) {
        let raw = e.name().0;
        if let Some(c) = &mut self.capture {
            if raw == c.raw {
                c.depth += 1;
            }
            if matches!(c.kind, Capture::Html { .. }) {
                c.buf.push('<');
                // Markup inside text is HTML, whose references are XML's and more: as written.
                c.buf.push_str(e);
                c.buf.push('>');
            }
            return;
        }
        if !xml_name(raw) {
            return;
        }
        let parent_xhtml = self.stack.last().is_some_and(|o| o.xhtml);
        if parent_xhtml || ns == Ns::Xhtml {
            self.start_xhtml(e);
            return;
        }
        let local = e.local_name().as_ref().to_owned();
        let core = match ns {
            Ns::Core => true,
            Ns::Atom | Ns::Atom03 => self.doc == Doc::Atom,
            // A default namespace nobody knows still holds the feed's own elements.
            Ns::Foreign => !raw.contains(':'),
            _ => false,
        };
        let mut local = local;
        if core && self.atom03 {
            let renamed = match local.as_str() {
                "issued" => "published",
                "modified" => "updated",
                "tagline" => "subtitle",
                "copyright" => "rights",
                "url" => "uri",
                _ => "",
            };
            if !renamed.is_empty() {
                local = renamed.to_owned();
            }
        }
        let out = if core {
            local.clone()
        } else {
            self.out_name(ns, &local, raw)
        };

        let mut attrs: Vec<(String, String)> = Vec::new();
        let mut new_base = None;
        let mut text_type = None;
        let mut has_src = false;
        let mut base64 = false;
        for a in e.html_attributes().with_checks(false).flatten() {
            let key = a.key.as_ref();
            if !xml_name(key) {
                continue;
            }
            let value = decode_refs(&a.value);
            match key {
                "xml:base" => new_base = self.base().join(value.trim()).ok(),
                k if (k == "xmlns" || k.starts_with("xmlns:"))
                    && ns_of_uri(&value) != Ns::Foreign => {}
                "mode" if core && self.doc == Doc::Atom => {
                    base64 = value.trim().eq_ignore_ascii_case("base64");
                }
                "type" if core && self.doc == Doc::Atom => text_type = Some(value.into_owned()),
                // A repeated attribute would make the strict readers refuse the document.
                k if attrs.iter().any(|(seen, _)| seen == k) => {}
                k => {
                    has_src |= k == "src";
                    attrs.push((k.to_owned(), value.into_owned()));
                }
            }
        }
        let base = new_base.as_ref().unwrap_or_else(|| self.base());
        for (k, v) in attrs.iter_mut() {
            if matches!(k.as_str(), "href" | "url" | "src")
                && let Some(abs) = resolve_url(v, base)
            {
                *v = abs;
            }
        }

        // What to do with the element's content.
        let mut capture = None;
        let mut xhtml = false;
        if self.doc == Doc::Atom && core {
            let text_construct = matches!(
                out.as_str(),
                "title" | "subtitle" | "summary" | "content" | "rights"
            );
            if text_construct {
                let t = text_type.as_deref().map(str::trim).unwrap_or("");
                let normalized = match t.to_ascii_lowercase().as_str() {
                    "" => None,
                    "text" | "text/plain" => Some("text".to_owned()),
                    "html" | "text/html" => Some("html".to_owned()),
                    "xhtml" | "application/xhtml+xml" => Some("xhtml".to_owned()),
                    // Any other media type is only allowed on content; elsewhere it is text.
                    _ if out == "content" => Some(t.to_owned()),
                    _ => Some("text".to_owned()),
                };
                if let Some(ty) = &normalized {
                    attrs.push(("type".into(), ty.clone()));
                }
                match normalized.as_deref() {
                    _ if has_src => {}
                    _ if base64 => capture = Some(Capture::Base64),
                    Some("xhtml") => xhtml = true,
                    ty => {
                        capture = Some(Capture::Html {
                            absolutize: ty == Some("html") && out != "title",
                        })
                    }
                }
            } else if let Some(t) = text_type {
                attrs.push(("type".into(), t));
            }
            capture = capture.or(match out.as_str() {
                "updated" | "published" => Some(Capture::Date),
                "uri" | "icon" | "logo" => Some(Capture::Url),
                _ => None,
            });
        } else if let Some(t) = text_type {
            attrs.push(("type".into(), t));
        }
        if self.doc != Doc::Atom && core {
            capture = match out.as_str() {
                "pubDate" | "lastBuildDate" => Some(Capture::Date),
                "link" | "comments" | "docs" => Some(Capture::Url),
                "title" => Some(Capture::Html { absolutize: false }),
                "description" => Some(Capture::Html { absolutize: true }),
                _ => None,
            };
        }
        capture = capture.or(match out.as_str() {
            "dc:date" | "dcterms:modified" | "dcterms:created" | "dcterms:issued" => {
                Some(Capture::Date)
            }
            "atom:updated" | "atom:published" => Some(Capture::Date),
            "content:encoded" => Some(Capture::Html { absolutize: true }),
            "sy:updatePeriod" if self.item_depth == 0 => Some(Capture::Period),
            "sy:updateFrequency" if self.item_depth == 0 => Some(Capture::Frequency),
            _ => None,
        });

        let mut attr_text = String::new();
        for (k, v) in &attrs {
            push_attr(&mut attr_text, k, v);
        }
        if let Some(kind) = capture {
            self.capture = Some(Captured {
                raw: raw.to_owned(),
                out,
                attrs: attr_text,
                kind,
                depth: 0,
                buf: String::new(),
                base: new_base.unwrap_or_else(|| self.base().clone()),
            });
            return;
        }
        let item = core && matches!(out.as_str(), "item" | "entry");
        // An RDF item's identity is its rdf:about, which the `rss` crate does not read: it
        // goes in as a guid (a real guid, written later, still wins).
        let rdf_about = (item && self.doc == Doc::Rdf)
            .then(|| {
                attrs
                    .iter()
                    .find(|(k, _)| k.ends_with(":about") || k == "about")
            })
            .flatten()
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty());
        if item {
            self.item_depth += 1;
        }
        if core && out == "channel" {
            self.saw_channel = true;
        }
        self.out.push('<');
        self.out.push_str(&out);
        self.out.push_str(&attr_text);
        self.out.push('>');
        if let Some(about) = rdf_about {
            self.out.push_str(r#"<guid isPermaLink="false">"#);
            self.out.push_str(&escape(about.as_str()));
            self.out.push_str("</guid>");
        }
        self.stack.push(Open {
            raw: raw.to_owned(),
            out,
            base: new_base,
            xhtml,
            item,
        });
    }

    /// An element of XHTML content: written as it came, its links resolved.
    fn start_xhtml(&mut self, e: &BytesStart) {
        let raw = e.name().0;
        let mut new_base = None;
        let mut attrs = Vec::new();
        for a in e.html_attributes().with_checks(false).flatten() {
            let key = a.key.as_ref();
            if !xml_name(key) {
                continue;
            }
            let value = decode_refs(&a.value);
            if key == "xml:base" {
                new_base = self.base().join(value.trim()).ok();
            } else {
                attrs.push((key.to_owned(), value.into_owned()));
            }
        }
        let base = new_base.as_ref().unwrap_or(self.base());
        let mut attr_text = String::new();
        for (k, v) in &attrs {
            let local = k.rsplit(':').next().unwrap_or(k);
            let resolved = matches!(local, "href" | "src" | "poster" | "cite")
                .then(|| resolve_url(v, base))
                .flatten();
            push_attr(&mut attr_text, k, resolved.as_deref().unwrap_or(v));
        }
        self.out.push('<');
        self.out.push_str(raw);
        self.out.push_str(&attr_text);
        self.out.push('>');
        self.stack.push(Open {
            raw: raw.to_owned(),
            out: raw.to_owned(),
            base: new_base,
            xhtml: true,
            item: false,
        });
    }

    /// Handles an end tag; true once the root is closed. An end tag that closes nothing open
    /// is dropped; one that closes an outer element closes what was left open inside it.
    fn end(&mut self, raw: &str) -> bool {
        if let Some(c) = &mut self.capture {
            if raw == c.raw {
                if c.depth == 0 {
                    self.flush_capture();
                    return false;
                }
                c.depth -= 1;
            }
            if matches!(c.kind, Capture::Html { .. }) {
                c.buf.push_str("</");
                c.buf.push_str(raw);
                c.buf.push('>');
            }
            return false;
        }
        let Some(i) = self.stack.iter().rposition(|o| o.raw == raw) else {
            return false;
        };
        while self.stack.len() > i {
            self.close_top();
        }
        self.stack.is_empty()
    }

    fn close_top(&mut self) {
        let Some(o) = self.stack.pop() else { return };
        if o.item {
            self.item_depth -= 1;
        }
        if self.stack.is_empty() && self.doc != Doc::Atom && !self.saw_channel {
            // The `rss` crate wants a channel; a feed without one is simply empty.
            self.out.push_str("<channel></channel>");
        }
        self.out.push_str("</");
        self.out.push_str(&o.out);
        self.out.push('>');
    }

    fn text(&mut self, t: &str) {
        match &mut self.capture {
            Some(c) => c.buf.push_str(t),
            // References come as their own events, so any `&` left here is a bare one.
            None => self
                .out
                .push_str(&t.replace('&', "&amp;").replace('<', "&lt;")),
        }
    }

    fn cdata(&mut self, t: &str) {
        match &mut self.capture {
            Some(c) => c.buf.push_str(t),
            None => {
                self.out.push_str("<![CDATA[");
                self.out.push_str(t);
                self.out.push_str("]]>");
            }
        }
    }

    fn reference(&mut self, name: &str) {
        let resolved = resolve_ref(name);
        match (&mut self.capture, resolved) {
            (Some(c), Some(s)) => c.buf.push_str(&s),
            (Some(c), None) => {
                c.buf.push('&');
                c.buf.push_str(name);
                c.buf.push(';');
            }
            (None, Some(s)) => self.out.push_str(&escape(s.as_ref())),
            (None, None) => {
                self.out.push_str("&amp;");
                self.out.push_str(name);
                self.out.push(';');
            }
        }
    }

    fn flush_capture(&mut self) {
        let Some(c) = self.capture.take() else { return };
        let value = match c.kind {
            Capture::Date => match parse_date(&c.buf) {
                Some(d) => d.to_rfc3339(),
                // Dropped rather than passed on: `atom_syndication` rejects the whole feed
                // for one date it cannot read.
                None => return,
            },
            Capture::Url => resolve_url(&c.buf, &c.base).unwrap_or_else(|| c.buf.trim().to_owned()),
            Capture::Html { absolutize } => {
                if absolutize && c.buf.contains('<') {
                    absolutize_html(&c.buf, &c.base)
                } else {
                    c.buf
                }
            }
            Capture::Base64 => {
                use base64::Engine;
                let compact: String = c.buf.split_ascii_whitespace().collect();
                match base64::engine::general_purpose::STANDARD.decode(compact) {
                    Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                    Err(_) => c.buf,
                }
            }
            Capture::Period => {
                self.update_period = Some(c.buf.trim().to_owned());
                c.buf
            }
            Capture::Frequency => {
                self.update_frequency = Some(c.buf.trim().to_owned());
                c.buf
            }
        };
        self.out.push('<');
        self.out.push_str(&c.out);
        self.out.push_str(&c.attrs);
        self.out.push('>');
        self.out.push_str(&escape(value.as_str()));
        self.out.push_str("</");
        self.out.push_str(&c.out);
        self.out.push('>');
    }

    /// Closes whatever the document left open: a truncated feed keeps its complete items.
    fn finish(&mut self) {
        self.flush_capture();
        while !self.stack.is_empty() {
            self.close_top();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Mapping: shared helpers

/// An absolute URL, or nothing: the ingest pipeline refuses a relative one it cannot resolve,
/// and one unresolvable link must not cost the item.
fn abs(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty() && Url::parse(s).is_ok()).then(|| s.to_owned())
}

/// Text for a plain-text field: tags stripped and entities decoded when it holds HTML, white
/// space collapsed.
fn plain(s: &str, html: bool) -> Option<String> {
    let text = if html { html_to_text(s) } else { s.to_owned() };
    // Only ASCII white space: a no-break space is there on purpose.
    let collapsed = text
        .split(|c: char| c.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    (!collapsed.is_empty()).then_some(collapsed)
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// A MIME type for an attachment that came without one, from its file name (the ingest
/// pipeline wants one on every attachment).
fn guess_mime(url: &str) -> String {
    let path = url
        .split(['?', '#'])
        .next()
        .unwrap_or(url)
        .to_ascii_lowercase();
    let ext = path.rsplit_once('.').map_or("", |(_, e)| e);
    match ext {
        "mp3" => "audio/mpeg",
        "m4a" | "aac" => "audio/mp4",
        "ogg" | "oga" | "opus" => "audio/ogg",
        "wav" => "audio/wav",
        "mp4" | "m4v" => "video/mp4",
        "webm" => "video/webm",
        "mov" => "video/quicktime",
        "pdf" => "application/pdf",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "svg" => "image/svg+xml",
        _ => "application/octet-stream",
    }
    .to_owned()
}

fn is_image(mime: Option<&str>, medium: Option<&str>, url: &str) -> bool {
    match (medium, mime) {
        (Some(m), _) => m.eq_ignore_ascii_case("image"),
        (None, Some(t)) if !t.trim().is_empty() => t.trim().starts_with("image/"),
        _ => guess_mime(url).starts_with("image/"),
    }
}

/// `sy:updatePeriod` / `sy:updateFrequency` as one interval: the period divided by the number
/// of updates in it (default 1); a frequency alone means daily, as the module says.
fn update_period(period: Option<&str>, frequency: Option<&str>) -> Option<Duration> {
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

fn date(s: Option<&str>) -> Option<DateText> {
    s.and_then(parse_date).map(DateText::Parsed)
}

/// The extension elements of the `rss` and `atom_syndication` crates, which have the same
/// shape in two types: read through one interface.
trait ExtEl: Sized {
    fn attr(&self, key: &str) -> Option<&str>;
    fn text(&self) -> Option<&str>;
    fn kids(&self, local: &str) -> &[Self];
}

macro_rules! ext_el {
    ($t:ty) => {
        impl ExtEl for $t {
            fn attr(&self, key: &str) -> Option<&str> {
                self.attrs.get(key).map(String::as_str)
            }
            fn text(&self) -> Option<&str> {
                self.value.as_deref()
            }
            fn kids(&self, local: &str) -> &[Self] {
                self.children
                    .get(local)
                    .or_else(|| self.children.get(&format!("media:{local}")))
                    .map_or(&[], Vec::as_slice)
            }
        }
    };
}
ext_el!(rss::extension::Extension);
ext_el!(atom_syndication::extension::Extension);

type ExtMap<E> = BTreeMap<String, BTreeMap<String, Vec<E>>>;

fn ext_text<'a, E: ExtEl>(map: &'a ExtMap<E>, prefix: &str, local: &str) -> Option<&'a str> {
    map.get(prefix)?.get(local)?.first()?.text()
}

/// What the `media:` elements of an item say.
#[derive(Default)]
struct Media {
    image: Option<Image>,
    thumbnail: Option<String>,
    attachments: Vec<Attachment>,
}

fn read_media<E: ExtEl>(map: &ExtMap<E>) -> Media {
    let mut m = Media::default();
    let Some(media) = map.get("media") else {
        return m;
    };
    let empty = Vec::new();
    let get = |k: &str| media.get(k).unwrap_or(&empty);
    let first_text = |els: &[E]| {
        els.first()
            .and_then(|e| e.text())
            .and_then(|t| plain(t, true))
    };
    let groups = get("group");
    let mut contents: Vec<&E> = get("content").iter().collect();
    let mut thumbs: Vec<&E> = get("thumbnail").iter().collect();
    let mut caption = first_text(get("description"));
    let mut credit = first_text(get("credit"));
    for g in groups {
        contents.extend(g.kids("content"));
        thumbs.extend(g.kids("thumbnail"));
        caption = caption.or_else(|| first_text(g.kids("description")));
        credit = credit.or_else(|| first_text(g.kids("credit")));
    }
    for c in &contents {
        thumbs.extend(c.kids("thumbnail"));
    }
    m.thumbnail = thumbs.iter().find_map(|t| t.attr("url").and_then(abs));
    for c in contents {
        let Some(url) = c.attr("url").and_then(abs) else {
            continue;
        };
        let mime = c.attr("type").map(str::trim).filter(|t| !t.is_empty());
        if is_image(mime, c.attr("medium"), &url) {
            if m.image.is_none() {
                m.image = Some(Image {
                    url,
                    caption: first_text(c.kids("description")).or_else(|| caption.clone()),
                    credit: first_text(c.kids("credit")).or_else(|| credit.clone()),
                });
            }
        } else if !m.attachments.iter().any(|a| a.url == url) {
            m.attachments.push(Attachment {
                mime_type: mime.map_or_else(|| guess_mime(&url), str::to_owned),
                title: first_text(c.kids("title")),
                size_in_bytes: c.attr("fileSize").and_then(|s| s.trim().parse().ok()),
                duration_in_seconds: c
                    .attr("duration")
                    .and_then(|s| s.trim().parse::<f64>().ok())
                    .filter(|d| d.is_finite() && *d >= 0.0)
                    .map(|d| d.round() as u64),
                url,
            });
        }
    }
    m
}

// ---------------------------------------------------------------------------------------------
// Mapping: RSS 0.9x, 1.0 and 2.0

fn from_rss(channel: rss::Channel, prepared: &Prepared) -> UpstreamFeed {
    let links = channel
        .atom_ext
        .as_ref()
        .map(|a| a.links.as_slice())
        .unwrap_or(&[]);
    let link_rel = |rel: &str| {
        links
            .iter()
            .find(|l| l.rel == rel)
            .and_then(|l| abs(&l.href))
    };
    UpstreamFeed {
        title: plain(&channel.title, true),
        site_url: abs(&channel.link).or_else(|| link_rel("alternate")),
        hub: link_rel("hub"),
        self_url: link_rel("self"),
        ttl: channel
            .ttl
            .as_deref()
            .and_then(|t| t.trim().parse::<u64>().ok())
            .filter(|m| *m > 0)
            .map(|m| Duration::from_secs(m * 60)),
        update_period: update_period(
            prepared.update_period.as_deref(),
            prepared.update_frequency.as_deref(),
        ),
        items: channel.items.into_iter().map(rss_item).collect(),
    }
}

fn rss_item(item: rss::Item) -> Draft {
    let media = read_media(&item.extensions);
    let dc = item.dublin_core_ext.unwrap_or_default();
    let person = |name: &str| {
        plain(name, true).map(|name| Person {
            name: Some(name),
            ..Default::default()
        })
    };
    let mut authors: Vec<Person> = dc.creators.iter().filter_map(|c| person(c)).collect();
    if authors.is_empty() {
        // RSS `author` is "email (Name)": the name is what a reader shows.
        if let Some(a) = &item.author {
            let name = match (a.find('('), a.rfind(')')) {
                (Some(i), Some(j)) if i < j => &a[i + 1..j],
                _ => a.as_str(),
            };
            authors.extend(person(name));
        }
    }
    let guid = item.guid.as_ref().map(|g| g.value.trim().to_owned());
    // A permalink guid is the item's URL when the item gives no link.
    let url = item.link.as_deref().and_then(abs).or_else(|| {
        item.guid
            .as_ref()
            .filter(|g| g.permalink && g.value.trim().starts_with("http"))
            .and_then(|g| abs(&g.value))
    });
    let (summary, content_html) = match (non_empty(item.content), non_empty(item.description)) {
        (Some(content), desc) => (desc.and_then(|d| plain(&d, true)), Some(content)),
        (None, desc) => (None, desc),
    };
    let mut image = media.image;
    let mut attachments = Vec::new();
    if let Some(e) = &item.enclosure
        && let Some(url) = abs(&e.url)
    {
        let mime = Some(e.mime_type.trim()).filter(|t| !t.is_empty());
        if image.is_none() && is_image(mime, None, &url) {
            image = Some(Image {
                url,
                caption: None,
                credit: None,
            });
        } else {
            attachments.push(Attachment {
                mime_type: mime.map_or_else(|| guess_mime(&url), str::to_owned),
                size_in_bytes: e.length.trim().parse().ok().filter(|n| *n > 0),
                title: None,
                duration_in_seconds: None,
                url,
            });
        }
    }
    for a in media.attachments {
        if !attachments.iter().any(|b| b.url == a.url) {
            attachments.push(a);
        }
    }
    if image.is_none() {
        image = media.thumbnail.clone().map(|url| Image {
            url,
            caption: None,
            credit: None,
        });
    }
    let atom_links = item
        .atom_ext
        .as_ref()
        .map(|a| a.links.as_slice())
        .unwrap_or(&[]);
    let modified = ext_text(&item.extensions, "atom", "updated")
        .or_else(|| ext_text(&item.extensions, "dcterms", "modified"));
    Draft {
        id: guid.filter(|g| !g.is_empty()),
        url,
        external_url: atom_links
            .iter()
            .find(|l| l.rel == "related")
            .and_then(|l| abs(&l.href)),
        title: item.title.as_deref().and_then(|t| plain(t, true)),
        summary,
        content_html,
        content_text: None,
        image,
        banner_image: media.thumbnail,
        date_published: date(item.pub_date.as_deref())
            .or_else(|| date(dc.dates.first().map(String::as_str))),
        date_modified: date(modified),
        authors,
        contributors: dc.contributors.iter().filter_map(|c| person(c)).collect(),
        tags: item
            .categories
            .iter()
            .filter_map(|c| plain(&c.name, false))
            .collect(),
        language: dc.languages.first().and_then(|l| plain(l, false)),
        attachments,
        source: item.source.and_then(|s| {
            Some(Source {
                url: abs(&s.url)?,
                title: s.title.as_deref().and_then(|t| plain(t, true)),
            })
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// Mapping: Atom 1.0 and 0.3

fn text_of(t: &atom_syndication::Text) -> Option<String> {
    plain(&t.value, t.r#type != atom_syndication::TextType::Text)
}

fn atom_person(p: &atom_syndication::Person) -> Option<Person> {
    let p = Person {
        name: plain(&p.name, false),
        url: p.uri.as_deref().and_then(abs),
        avatar: None,
    };
    (p != Person::default()).then_some(p)
}

/// The link a reader follows: `alternate` (the default rel), HTML preferred.
fn alternate(links: &[atom_syndication::Link]) -> Option<String> {
    let alts = || {
        links
            .iter()
            .filter(|l| l.rel.is_empty() || l.rel == "alternate")
    };
    alts()
        .find(|l| l.mime_type.as_deref().is_none_or(|t| t.contains("html")))
        .or_else(|| alts().next())
        .and_then(|l| abs(&l.href))
}

fn from_atom(feed: atom_syndication::Feed, prepared: &Prepared) -> UpstreamFeed {
    let link_rel = |rel: &str| {
        feed.links
            .iter()
            .find(|l| l.rel == rel)
            .and_then(|l| abs(&l.href))
    };
    let feed_authors: Vec<Person> = feed.authors.iter().filter_map(atom_person).collect();
    UpstreamFeed {
        title: text_of(&feed.title),
        site_url: alternate(&feed.links),
        hub: link_rel("hub"),
        self_url: link_rel("self"),
        ttl: None,
        update_period: update_period(
            prepared.update_period.as_deref(),
            prepared.update_frequency.as_deref(),
        ),
        items: feed
            .entries
            .iter()
            .map(|e| atom_entry(e, &feed_authors))
            .collect(),
    }
}

fn atom_entry(e: &atom_syndication::Entry, feed_authors: &[Person]) -> Draft {
    let media = read_media(&e.extensions);
    let mut image = media.image;
    let mut attachments = Vec::new();
    for l in e.links.iter().filter(|l| l.rel == "enclosure") {
        let Some(url) = abs(&l.href) else { continue };
        let mime = l
            .mime_type
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty());
        if is_image(mime, None, &url) {
            if image.is_none() {
                image = Some(Image {
                    url,
                    caption: None,
                    credit: None,
                });
            }
            continue;
        }
        attachments.push(Attachment {
            mime_type: mime.map_or_else(|| guess_mime(&url), str::to_owned),
            title: l.title.as_deref().and_then(|t| plain(t, false)),
            size_in_bytes: l.length.as_deref().and_then(|n| n.trim().parse().ok()),
            duration_in_seconds: None,
            url,
        });
    }
    for a in media.attachments {
        if !attachments.iter().any(|b| b.url == a.url) {
            attachments.push(a);
        }
    }
    if image.is_none() {
        image = media.thumbnail.clone().map(|url| Image {
            url,
            caption: None,
            credit: None,
        });
    }
    // RFC 4287: absent type means text; html and xhtml are markup.
    let (content_html, content_text, content_lang) = match &e.content {
        Some(c) if c.src.is_none() => {
            let value = non_empty(c.value.clone());
            match c.content_type.as_deref().unwrap_or("text") {
                "html" | "xhtml" => (value, None, c.lang.clone()),
                t if t == "text" || t.starts_with("text/") => (None, value, c.lang.clone()),
                _ => (None, None, c.lang.clone()),
            }
        }
        _ => (None, None, None),
    };
    // `updated` is required and atom_syndication fills in the epoch when it is missing.
    let updated = Some(e.updated).filter(|d| d.timestamp() != 0);
    let (published, modified) = match e.published {
        Some(p) => (Some(p), updated.filter(|u| *u != p)),
        // Many feeds only say `updated`: it is the best publication date there is.
        None => (updated, None),
    };
    let mut authors: Vec<Person> = e.authors.iter().filter_map(atom_person).collect();
    if authors.is_empty()
        && let Some(s) = &e.source
    {
        authors.extend(s.authors.iter().filter_map(atom_person));
    }
    if authors.is_empty() {
        // RFC 4287 4.2.1: an entry without an author has the feed's.
        authors = feed_authors.to_vec();
    }
    Draft {
        id: non_empty(Some(e.id.clone())),
        url: alternate(&e.links),
        external_url: e
            .links
            .iter()
            .find(|l| l.rel == "related")
            .and_then(|l| abs(&l.href)),
        title: text_of(&e.title),
        summary: e.summary.as_ref().and_then(text_of),
        content_html,
        content_text,
        image,
        banner_image: media.thumbnail,
        date_published: published.map(DateText::Parsed),
        date_modified: modified.map(DateText::Parsed),
        authors,
        contributors: e.contributors.iter().filter_map(atom_person).collect(),
        tags: e
            .categories
            .iter()
            .filter_map(|c| plain(&c.term, false))
            .collect(),
        language: content_lang
            .or_else(|| e.title.lang.clone())
            .and_then(|l| plain(&l, false)),
        attachments,
        source: e.source.as_ref().and_then(|s| {
            let url = s
                .links
                .iter()
                .find(|l| l.rel == "self")
                .and_then(|l| abs(&l.href))
                .or_else(|| alternate(&s.links))
                .or_else(|| abs(&s.id))?;
            Some(Source {
                title: text_of(&s.title),
                url,
            })
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// JSON Feed 1.0 and 1.1

fn json_feed(text: &str, feed_url: &Url) -> Result<UpstreamFeed, ParseError> {
    // Lone surrogate escapes are legal JSON that no Rust string can hold: drop them first.
    let text = crate::formats::jsonfeed::drop_lone_surrogates(text);
    let value: Value = serde_json::from_str(&text).map_err(|e| {
        ParseError::Malformed(format!("the document is not a feed: invalid JSON ({e})"))
    })?;
    let is_feed = value
        .get("version")
        .and_then(Value::as_str)
        .is_some_and(|v| v.contains("jsonfeed.org/version/"))
        || value.get("items").is_some_and(Value::is_array);
    if !is_feed {
        return Err(ParseError::Malformed(
            "the document is not a feed: JSON without a JSON Feed version or items".into(),
        ));
    }
    let url_at = |v: &Value, key: &str| str_at(v, key).and_then(|u| resolve_url(&u, feed_url));
    let feed_authors = json_authors(&value, feed_url);
    let feed_language = str_at(&value, "language");
    let items = value
        .get("items")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .filter(|i| i.is_object())
        .map(|i| json_item(i, feed_url, &feed_authors, feed_language.as_deref()))
        .collect();
    Ok(UpstreamFeed {
        title: str_at(&value, "title").and_then(|t| plain(&t, false)),
        site_url: url_at(&value, "home_page_url"),
        hub: value
            .get("hubs")
            .and_then(Value::as_array)
            .and_then(|hubs| hubs.iter().find_map(|h| url_at(h, "url"))),
        self_url: url_at(&value, "feed_url"),
        ttl: None,
        update_period: None,
        items,
    })
}

/// A string member, whatever the feed's mistakes: numbers are read as their text (JSON Feed
/// 1.0 feeds use numeric ids), anything else is absent.
fn str_at(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) => non_empty(Some(s.clone())),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn json_person(v: &Value, feed_url: &Url) -> Option<Person> {
    let p = Person {
        name: str_at(v, "name").and_then(|n| plain(&n, false)),
        url: str_at(v, "url").and_then(|u| resolve_url(&u, feed_url)),
        avatar: str_at(v, "avatar").and_then(|u| resolve_url(&u, feed_url)),
    };
    (p != Person::default()).then_some(p)
}

/// 1.1's `authors`, else 1.0's `author`.
fn json_authors(v: &Value, feed_url: &Url) -> Vec<Person> {
    match v.get("authors").and_then(Value::as_array) {
        Some(list) if !list.is_empty() => list
            .iter()
            .filter_map(|p| json_person(p, feed_url))
            .collect(),
        _ => v
            .get("author")
            .and_then(|p| json_person(p, feed_url))
            .into_iter()
            .collect(),
    }
}

fn json_item(
    v: &Value,
    feed_url: &Url,
    feed_authors: &[Person],
    feed_language: Option<&str>,
) -> Draft {
    let url_at = |key: &str| str_at(v, key).and_then(|u| resolve_url(&u, feed_url));
    // syndic's own extension, for feeds that another syndic publishes.
    let ext = v.get("_syndic");
    let ext_str = |key: &str| ext.and_then(|e| str_at(e, key));
    let mut authors = json_authors(v, feed_url);
    if authors.is_empty() {
        authors = feed_authors.to_vec();
    }
    let attachments = v
        .get("attachments")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .filter_map(|a| {
            let url = str_at(a, "url").and_then(|u| resolve_url(&u, feed_url))?;
            Some(Attachment {
                mime_type: str_at(a, "mime_type").unwrap_or_else(|| guess_mime(&url)),
                title: str_at(a, "title"),
                size_in_bytes: a.get("size_in_bytes").and_then(Value::as_u64),
                duration_in_seconds: a
                    .get("duration_in_seconds")
                    .and_then(Value::as_f64)
                    .filter(|d| d.is_finite() && *d >= 0.0)
                    .map(|d| d.round() as u64),
                url,
            })
        })
        .collect();
    Draft {
        id: str_at(v, "id"),
        url: url_at("url"),
        external_url: url_at("external_url"),
        title: str_at(v, "title").and_then(|t| plain(&t, true)),
        summary: str_at(v, "summary").and_then(|t| plain(&t, true)),
        content_html: str_at(v, "content_html").map(|h| absolutize_html(&h, feed_url)),
        content_text: str_at(v, "content_text"),
        image: url_at("image").map(|url| Image {
            url,
            caption: ext_str("image_caption"),
            credit: ext_str("image_credit"),
        }),
        banner_image: url_at("banner_image"),
        date_published: date(str_at(v, "date_published").as_deref()),
        date_modified: date(str_at(v, "date_modified").as_deref()),
        authors,
        contributors: ext
            .and_then(|e| e.get("contributors"))
            .and_then(Value::as_array)
            .map(|l| l.iter().filter_map(|p| json_person(p, feed_url)).collect())
            .unwrap_or_default(),
        tags: v
            .get("tags")
            .and_then(Value::as_array)
            .map(|t| {
                t.iter()
                    .filter_map(Value::as_str)
                    .filter_map(|t| plain(t, false))
                    .collect()
            })
            .unwrap_or_default(),
        language: str_at(v, "language").or_else(|| feed_language.map(str::to_owned)),
        attachments,
        source: ext.and_then(|e| e.get("source")).and_then(|s| {
            Some(Source {
                url: str_at(s, "url").and_then(|u| resolve_url(&u, feed_url))?,
                title: str_at(s, "title"),
            })
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/tests/fixtures/upstream/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn read_ct(name: &str, content_type: Option<&str>) -> UpstreamFeed {
        let url = Url::parse("https://feeds.example/dir/feed.xml").unwrap();
        parse_feed(&fixture(name), content_type, &url).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    fn read(name: &str) -> UpstreamFeed {
        read_ct(name, None)
    }

    fn when(d: &Option<DateText>) -> Option<String> {
        match d {
            Some(DateText::Parsed(d)) => Some(d.to_rfc3339()),
            Some(other) => panic!("dates must come parsed: {other:?}"),
            None => None,
        }
    }

    fn s(v: &Option<String>) -> Option<&str> {
        v.as_deref()
    }

    #[test]
    fn windows_1252_with_html_entities() {
        let f = read("cp1252-entities.xml");
        assert_eq!(s(&f.title), Some("Café crème & co"));
        let item = &f.items[0];
        // &nbsp; &hellip; and the windows-1252 reference &#146; all understood.
        assert_eq!(
            s(&item.title),
            Some("Crème brûlée\u{a0}: la recette… l’originale")
        );
        assert_eq!(s(&item.summary), Some("Le résumé élégant"));
        // Inside CDATA the entity is HTML's business: left as written, and the relative link
        // resolved against the feed URL.
        assert_eq!(
            s(&item.content_html),
            Some(
                r#"<p>Sucre&nbsp;&amp; crème, voir <a href="https://feeds.example/recettes/1">la fiche</a></p>"#
            )
        );
        assert_eq!(
            when(&item.date_published).as_deref(),
            Some("2025-09-16T18:30:00+02:00")
        );
    }

    #[test]
    fn koi8_r_from_the_declaration() {
        let f = read("koi8r.xml");
        assert_eq!(s(&f.title), Some("Новости"));
        assert_eq!(s(&f.items[0].title), Some("Привет, мир"));
        assert_eq!(
            when(&f.items[0].date_published).as_deref(),
            Some("2025-03-03T09:05:00+03:00")
        );
    }

    #[test]
    fn utf16_with_and_without_bom() {
        let f = read("utf16le-bom-atom.xml");
        assert_eq!(s(&f.title), Some("Über Ärger – 日本"));
        assert_eq!(s(&f.items[0].title), Some("Grüße"));
        assert_eq!(s(&f.items[0].summary), Some("Schön"));
        let f = read("utf16be-nobom-rss.xml");
        assert_eq!(s(&f.title), Some("Mañana"));
        assert_eq!(s(&f.items[0].title), Some("Señor"));
    }

    #[test]
    fn http_charset_beats_the_prolog() {
        let f = read_ct(
            "latin1-header-beats-prolog.xml",
            Some("application/rss+xml; charset=ISO-8859-1"),
        );
        assert_eq!(s(&f.title), Some("Français"));
        assert_eq!(s(&f.items[0].title), Some("Déjà vu"));
        // Without the header the prolog's UTF-8 is believed, and bad bytes are replaced.
        let f = read("latin1-header-beats-prolog.xml");
        assert_eq!(s(&f.title), Some("Fran\u{fffd}ais"));
    }

    #[test]
    fn euc_kr_and_netscape_entities() {
        let f = read("feedparser-euc-kr.xml");
        assert_eq!(s(&f.items[0].content_html), Some(r#"<img alt="년" />"#));
        let f = read("rss091-netscape.xml");
        assert_eq!(s(&f.items[0].title), Some("Lété à Paris — 30°C"));
        assert_eq!(
            s(&f.items[0].content_html),
            Some("Il fait très chaud\u{a0}!")
        );
    }

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

    #[test]
    fn rss_hub_self_ttl_period_media_and_xml_base() {
        let f = read("rss2-websub-media-base.xml");
        assert_eq!(s(&f.title), Some("Radio & News"));
        assert_eq!(s(&f.site_url), Some("https://radio.example/shows/"));
        assert_eq!(s(&f.hub), Some("https://hub.example/"));
        assert_eq!(s(&f.self_url), Some("https://radio.example/shows/feed.xml"));
        assert_eq!(f.ttl, Some(Duration::from_secs(45 * 60)));
        // " Hourly " under an unusual prefix, four times: every 15 minutes.
        assert_eq!(f.update_period, Some(Duration::from_secs(900)));
        let item = &f.items[0];
        assert_eq!(s(&item.id), Some("ep-7"));
        assert_eq!(
            s(&item.url),
            Some("https://radio.example/episodes/7/index.html")
        );
        assert_eq!(s(&item.title), Some("Episode <7>"));
        assert_eq!(s(&item.summary), Some("Show notes"));
        assert_eq!(
            s(&item.content_html),
            Some(
                r#"<p>Listen <a href="https://radio.example/episodes/7/ep7.mp3">here</a> <img src="https://radio.example/episodes/8/cover.jpg"></p>"#
            )
        );
        assert_eq!(
            item.image,
            Some(Image {
                url: "https://radio.example/episodes/7/cover.jpg".into(),
                caption: Some("The band on stage".into()),
                credit: Some("Photo: C. Doe".into()),
            })
        );
        assert_eq!(
            s(&item.banner_image),
            Some("https://radio.example/episodes/7/thumb.jpg")
        );
        assert_eq!(
            item.attachments,
            vec![Attachment {
                url: "https://radio.example/episodes/7/ep7.mp3".into(),
                mime_type: "audio/mpeg".into(),
                title: None,
                size_in_bytes: Some(12_345_678),
                duration_in_seconds: None,
            }]
        );
        assert_eq!(item.authors[0].name.as_deref(), Some("Ana Pérez"));
        assert_eq!(item.contributors[0].name.as_deref(), Some("Bo Li"));
        assert_eq!(item.tags, ["Music", "Talk"]);
        assert_eq!(s(&item.language), Some("es"));
        assert_eq!(
            item.source,
            Some(Source {
                title: Some("Origin Radio".into()),
                url: "https://origin.example/rss".into(),
            })
        );
        // A description alone is the content, its links resolved against the channel's base.
        let only = &f.items[1];
        assert_eq!(s(&only.summary), None);
        assert_eq!(
            s(&only.content_html),
            Some(r#"<p>See <a href="https://radio.example/shows/notes/8">notes</a></p>"#)
        );
    }

    #[test]
    fn atom_xml_base_everywhere() {
        let f = read("atom10-xml-base.xml");
        assert_eq!(s(&f.title), Some("Le blog d'Anne"));
        assert_eq!(s(&f.site_url), Some("https://blog.example/"));
        assert_eq!(s(&f.self_url), Some("https://blog.example/atom.xml"));
        assert_eq!(s(&f.hub), Some("https://pubsubhubbub.example/"));
        assert_eq!(f.update_period, Some(Duration::from_secs(7 * 86_400)));
        let e = &f.items[0];
        assert_eq!(s(&e.url), Some("https://blog.example/2025/09/post.html"));
        assert_eq!(s(&e.external_url), Some("https://elsewhere.example/story"));
        assert_eq!(s(&e.summary), Some("A short one"));
        assert_eq!(
            s(&e.content_html),
            Some(
                r#"<p><img src="https://blog.example/2025/09/media/photo.jpg"> <a href="https://blog.example/other">other</a></p>"#
            )
        );
        assert_eq!(
            e.image.as_ref().map(|i| i.url.as_str()),
            Some("https://blog.example/2025/09/lead.png")
        );
        assert_eq!(
            e.attachments[0].url,
            "https://blog.example/2025/09/talk.ogg"
        );
        assert_eq!(e.attachments[0].size_in_bytes, Some(4000));
        assert_eq!(
            when(&e.date_modified).as_deref(),
            Some("2025-09-17T08:00:00+02:00")
        );
        // The feed's author stands in, with its URL resolved against the feed's base.
        assert_eq!(
            e.authors[0].url.as_deref(),
            Some("https://blog.example/about")
        );
        let x = &f.items[1];
        assert_eq!(s(&x.title), Some("XHTML title"));
        assert!(
            x.content_html
                .as_deref()
                .unwrap()
                .contains(r#"<a href="https://blog.example/three.html">three</a>"#),
            "{:?}",
            x.content_html
        );
        // Only `updated`: it is the publication date.
        assert_eq!(
            when(&x.date_published).as_deref(),
            Some("2025-09-18T10:00:00+00:00")
        );
        let f = read("feedrs-atom-content-xml-base.xml");
        assert_eq!(
            s(&f.items[0].content_html),
            Some(r#"<p><img src="https://numi.st/post/2022/travel-uke/IMG_1232.jpeg" /></p>"#)
        );
    }

    #[test]
    fn atom_0_3() {
        let f = read("atom03.xml");
        assert_eq!(s(&f.title), Some("Old & Atom"));
        assert_eq!(s(&f.site_url), Some("https://old.example/"));
        let e = &f.items[0];
        assert_eq!(s(&e.id), Some("tag:old.example,2004:1"));
        assert_eq!(s(&e.title), Some("First post"));
        assert_eq!(s(&e.content_html), Some("<p>Hello <b>world</b></p>"));
        assert_eq!(
            when(&e.date_published).as_deref(),
            Some("2004-01-01T12:00:00-05:00")
        );
        assert_eq!(
            when(&e.date_modified).as_deref(),
            Some("2004-01-02T12:00:00-05:00")
        );
        assert_eq!(
            e.authors[0].url.as_deref(),
            Some("https://old.example/mark")
        );
    }

    #[test]
    fn rdf_and_rss_0_90() {
        let f = read("feedrs-rss1-rdf-debian.xml");
        assert_eq!(s(&f.title), Some("Debian News"));
        assert_eq!(f.items.len(), 1);
        let i = &f.items[0];
        // rdf:about is the item's id.
        assert_eq!(s(&i.id), Some("https://www.debian.org/News/2022/20221217"));
        assert_eq!(s(&i.title), Some("Updated Debian 11: 11.6 released"));
        assert_eq!(
            when(&i.date_published).as_deref(),
            Some("2022-12-17T00:00:00+00:00")
        );
        let f = read("feedparser-rss090.xml");
        assert_eq!(s(&f.title), Some("Example title"));
        assert_eq!(s(&f.items[0].title), Some("Item title"));
    }

    #[test]
    fn json_feed_1_0_and_1_1() {
        let f = read("feedrs-jsonfeed-1.0.json");
        assert_eq!(s(&f.title), Some("Daring Fireball"));
        assert_eq!(f.items.len(), 2);
        let i = &f.items[0];
        assert_eq!(
            s(&i.external_url),
            Some("https://www.nytimes.com/2020/01/22/technology/jeff-bezos-hack-iphone.html")
        );
        assert_eq!(i.authors[0].name.as_deref(), Some("John Gruber"));
        assert_eq!(
            when(&i.date_published).as_deref(),
            Some("2020-01-24T23:46:57+00:00")
        );

        let f = read("jsonfeed-1.1.json");
        assert_eq!(s(&f.hub), Some("https://hub.example/"));
        let i = &f.items[0];
        assert_eq!(s(&i.id), Some("42"));
        assert_eq!(s(&i.url), Some("https://feeds.example/notes/42"));
        assert_eq!(
            s(&i.content_html),
            Some(r#"<p>Voir <a href="https://feeds.example/notes/41">la 41</a></p>"#)
        );
        assert_eq!(
            i.image.as_ref().map(|i| i.url.as_str()),
            Some("https://feeds.example/dir/img/42.png")
        );
        assert_eq!(when(&i.date_modified), None);
        assert_eq!(i.tags, ["sens", "vie"]);
        assert_eq!(
            i.authors[0].url.as_deref(),
            Some("https://feeds.example/lea")
        );
        assert_eq!(i.attachments[0].duration_in_seconds, Some(62));
        assert_eq!(i.attachments[1].mime_type, "application/pdf");
        assert_eq!(s(&f.items[1].language), Some("fr"));
        assert_eq!(f.items[1].authors[0].name.as_deref(), Some("Max"));
    }

    #[test]
    fn broken_markup_is_repaired_and_truncation_keeps_the_items() {
        let f = read("rss2-broken-markup.xml");
        let ids: Vec<_> = f.items.iter().filter_map(|i| i.id.as_deref()).collect();
        assert_eq!(ids, ["b1", "b2", "b3"]);
        assert_eq!(
            s(&f.items[0].content_html),
            Some("<p>One<br>two © AT&T</p>")
        );
        assert_eq!(s(&f.items[1].title), Some("Unclosed guid"));
        let f = read("feedparser-unclosed-root.xml");
        assert_eq!(s(&f.items[0].url), Some("http://link/get?a=1&b=2"));
    }

    #[test]
    fn media_group_thumbnail_and_attachment() {
        let f = read("feedrs-atom-media-group.xml");
        let e = &f.items[0];
        assert_eq!(
            s(&e.banner_image),
            Some("https://i1.ytimg.com/vi/0A1ouV7iD8o/hqdefault.jpg")
        );
        assert_eq!(e.attachments[0].mime_type, "application/x-shockwave-flash");
    }

    #[test]
    fn not_a_feed() {
        let url = Url::parse("https://feeds.example/").unwrap();
        for body in [
            &fixture("not-a-feed.html")[..],
            b"",
            b"{\"a\": 1}",
            b"hello",
        ] {
            match parse_feed(body, Some("text/html"), &url) {
                Err(ParseError::Malformed(m)) => assert!(m.contains("not a feed"), "{m}"),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn never_panics_on_a_truncated_or_odd_input() {
        let url = Url::parse("https://feeds.example/").unwrap();
        let dir = format!("{}/tests/fixtures/upstream", env!("CARGO_MANIFEST_DIR"));
        for entry in std::fs::read_dir(dir).unwrap() {
            let body = std::fs::read(entry.unwrap().path()).unwrap();
            for end in (0..body.len()).step_by(13) {
                let _ = parse_feed(&body[..end], None, &url);
            }
        }
        for odd in [
            "2025-09-1é",
            "Tue, 16 Sep 2025 18:30 +1é1",
            "é",
            "+",
            "::",
            "2025-13-45",
        ] {
            assert_eq!(parse_date(odd), None, "{odd}");
        }
    }

    #[test]
    fn references() {
        assert_eq!(resolve_ref("eacute").as_deref(), Some("é"));
        assert_eq!(resolve_ref("#146").as_deref(), Some("’"));
        assert_eq!(resolve_ref("#x0").as_deref(), Some(""));
        assert_eq!(resolve_ref("notit"), None);
        assert_eq!(
            decode_refs("a &amp; b &shy;&bogus; & c"),
            "a & b \u{ad}&bogus; & c"
        );
    }
}
