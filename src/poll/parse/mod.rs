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
//!
//! The files follow a document through: `decode` (bytes to UTF-8), then for XML the pre-pass
//! in `repair` (with `entities` and `dates`) and the mapping of what the readers return
//! (`rss_map`, `atom_map`); JSON Feed goes straight to `json_map`. `fields` and `media` hold
//! what the mappings share.

use std::time::Duration;

use url::Url;

use crate::formats::ParseError;
use crate::ingest::Draft;

mod atom_map;
mod dates;
mod decode;
mod entities;
mod fields;
#[cfg(test)]
mod fixtures;
mod json_map;
mod media;
mod repair;
mod rss_map;

use atom_map::from_atom;
use decode::decode;
use json_map::json_feed;
use repair::{Doc, normalize};
use rss_map::from_rss;

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
    // The whole reading (quick-xml's pre-pass, lol_html on HTML fields, the rss and
    // atom_syndication readers, serde_json) runs behind the parser boundary: a panic costs
    // this one feed, not the poll round.
    crate::boundary::contain("feed reader", || read_feed(body, content_type, feed_url))
        .unwrap_or_else(|e| Err(ParseError::Malformed(e.to_string())))
}

fn read_feed(
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
    let read = match prepared.doc {
        Doc::Rss | Doc::Rdf => rss::Channel::read_from(prepared.xml.as_bytes())
            .map(|c| from_rss(c, &prepared))
            .map_err(|e| e.to_string()),
        Doc::Atom => atom_syndication::Feed::read_from(prepared.xml.as_bytes())
            .map(|f| from_atom(f, &prepared))
            .map_err(|e| e.to_string()),
    };
    read.map_err(|e| {
        ParseError::Malformed(format!("the feed cannot be read even after repair: {e}"))
    })
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

#[cfg(test)]
mod tests {
    use super::dates::parse_date;
    use super::fixtures::fixture;
    use super::*;

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
                // Behind the boundary a panic would be an Err: read without it, so that
                // this test sees a panic of quick-xml or the feed crates.
                let _ = read_feed(&body[..end], None, &url);
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
}
