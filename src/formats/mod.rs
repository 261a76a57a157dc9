//! Wire formats, one file each, both directions where it makes sense: each reader turns a body
//! into [`Draft`]s, each writer renders a channel's articles. Nothing here touches the store
//! or the network.
//!
//! There is one reader per format, used by the API, the CLI and the poller alike ([`read`]),
//! with a [`Strictness`]: strict for publishers (the body goes to the crates as it is, and a
//! bad field reaches ingest as written, to be refused by name), lenient for upstreams, which
//! are read as they really are: RSS 0.90 to 2.0 (RDF included), Atom 1.0 and 0.3, JSON Feed
//! 1.0 and 1.1, in any common charset, with HTML entities, broken dates, relative URLs and the
//! odd unclosed tag; no single bad field may make a whole import fail.
//!
//! Why the lenient read is built this way (numbers and reasoning in docs/parser-eval.md): the
//! `rss` and `atom_syndication` crates keep every field, every extension element and each
//! date's own offset, but on their own they reject much of what is out there: charsets other
//! than UTF-8, HTML entities, Atom 0.3, `type="text/html"` titles, a bad date. `feed-rs`
//! rejects fewer, but drops fields the articles need (the enclosure beside a `media:content`,
//! `medium="image"`, RSS `source`, `dc:contributor`) and every date's offset. So XML first
//! goes through one streaming pass over `quick-xml` ([`prepare_xml`]) that decodes once,
//! repairs and normalizes what those crates would trip on, and only then to them.
//!
//! The files follow a document through: `decode` (bytes to UTF-8, the one charset detection,
//! OPML's too), then for XML the pre-pass in `repair` (with `entities` and `dates`), then each
//! format's one mapping (`rss`, `atom`, `jsonfeed`), with `fields` (how each field is taken
//! under the strictness) and `media` (the one Media RSS reader) shared by them.

pub mod atom;
#[cfg(test)]
mod clean_equivalence;
mod dates;
mod decode;
mod entities;
mod fields;
#[cfg(test)]
mod fixtures;
pub mod jsonfeed;
pub mod media;
pub mod opml;
mod repair;
pub mod rss;

use std::time::Duration;

use chrono::{DateTime, FixedOffset, SecondsFormat};
use url::Url;

use crate::draft::{Draft, ItemError};
use crate::model::{Channel, Cursor, Page, StoredArticle};
use fields::Fields;
use repair::{Doc, clean, normalize};

/// The feeds every channel is published as. What each edge needs to know of a format (its
/// file, its key in the API's `feeds` object, its name for people, its media type) is in one
/// table, [`FORMATS`], that the CLI, the API, the HTML pages and the templates all read: a
/// new format is a variant, a row and a writer ([`render`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum FeedFormat {
    Rss,
    Atom,
    Json,
}

/// One output format, as every edge shows it.
#[derive(Debug, serde::Serialize)]
pub struct FormatInfo {
    #[serde(skip)]
    pub format: FeedFormat,
    /// The key of its URL in the API's and the CLI's `feeds` object, and the CLI's
    /// `--format` value.
    pub key: &'static str,
    /// The file name in `/feeds/{channel}/`.
    pub file_name: &'static str,
    /// What people call it (page titles, link texts).
    pub name: &'static str,
    /// What a link's text says after the name and before the channel's title, for screen
    /// readers ("RSS feed of …", but "JSON Feed of …").
    pub of: &'static str,
    /// Its media type, without parameters (links' `type`).
    pub media_type: &'static str,
    /// The `Content-Type` it is served with.
    #[serde(skip)]
    pub content_type: &'static str,
}

/// The output formats, in the order every list shows them.
pub const FORMATS: [FormatInfo; 3] = [
    FormatInfo {
        format: FeedFormat::Rss,
        key: "rss",
        file_name: "rss.xml",
        name: "RSS",
        of: "feed of",
        media_type: "application/rss+xml",
        content_type: "application/rss+xml; charset=utf-8",
    },
    FormatInfo {
        format: FeedFormat::Atom,
        key: "atom",
        file_name: "atom.xml",
        name: "Atom",
        of: "feed of",
        media_type: "application/atom+xml",
        content_type: "application/atom+xml; charset=utf-8",
    },
    FormatInfo {
        format: FeedFormat::Json,
        key: "json",
        file_name: "feed.json",
        name: "JSON Feed",
        of: "of",
        media_type: "application/feed+json",
        content_type: "application/feed+json; charset=utf-8",
    },
];

impl FeedFormat {
    /// Every output format, in [`FORMATS`] order.
    pub fn all() -> impl Iterator<Item = FeedFormat> {
        FORMATS.iter().map(|f| f.format)
    }

    pub fn info(self) -> &'static FormatInfo {
        FORMATS
            .iter()
            .find(|f| f.format == self)
            .expect("every format has its row in FORMATS")
    }

    pub fn file_name(self) -> &'static str {
        self.info().file_name
    }

    pub fn name(self) -> &'static str {
        self.info().name
    }

    pub fn from_file_name(name: &str) -> Option<FeedFormat> {
        FORMATS
            .iter()
            .find(|f| f.file_name == name)
            .map(|f| f.format)
    }

    /// The `Content-Type` it is served with.
    pub fn content_type(self) -> &'static str {
        self.info().content_type
    }
}

/// A channel's feed URL in one format.
pub fn feed_url(base_url: &str, slug: &str, format: FeedFormat) -> String {
    format!("{base_url}/feeds/{slug}/{}", format.file_name())
}

/// What a feed is rendered from: the channel, one page of its articles, the public base URL
/// that links are built from, and where the neighbouring pages are (RFC 5005 paging).
pub struct FeedDoc<'a> {
    pub channel: &'a Channel,
    pub articles: &'a [StoredArticle],
    pub base_url: &'a str,
    pub page: &'a Page,
    /// The next (older) page starts after this position, when there is one.
    pub next: Option<Cursor>,
    /// The previous (newer) page: `Some(None)` is the first page; `None` means this is it.
    pub previous: Option<Option<Cursor>>,
}

/// The path of the WebSub hub endpoint, which every feed names as its hub.
pub const HUB_PATH: &str = "/websub";

/// The path of the stylesheet that makes RSS and Atom readable in a browser.
pub const STYLESHEET_PATH: &str = "/feeds/style.xsl";

impl FeedDoc<'_> {
    /// A page's URL in one format; the query names the tag, a non-default limit and the
    /// cursor, always in that order, so that each page has exactly one URL.
    fn page_url(&self, format: FeedFormat, before: Option<Cursor>) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if let Some(tag) = &self.page.tag {
            query.append_pair("tag", tag);
        }
        if self.page.limit != crate::model::DEFAULT_LIMIT {
            query.append_pair("limit", &self.page.limit.to_string());
        }
        if let Some(c) = before {
            query.append_pair("before", &c.encode());
        }
        let query = query.finish();
        format!(
            "{}/feeds/{}/{}{}{}",
            self.base_url,
            self.channel.slug,
            format.file_name(),
            if query.is_empty() { "" } else { "?" },
            query
        )
    }

    /// This document's own URL (a self link must be the URL the reader fetched).
    pub fn self_url(&self, format: FeedFormat) -> String {
        self.page_url(format, self.page.before)
    }

    /// The first page's URL: what every page of one feed has in common (the Atom feed id).
    pub fn first_url(&self, format: FeedFormat) -> String {
        self.page_url(format, None)
    }

    /// The hub link (WebSub) and paging links (RFC 5005) as (rel, URL): hub, then first,
    /// previous and next where they exist.
    pub fn paging(&self, format: FeedFormat) -> Vec<(&'static str, String)> {
        let mut links = vec![("hub", self.hub_url())];
        if self.previous.is_some() || self.next.is_some() {
            links.push(("first", self.page_url(format, None)));
        }
        if let Some(prev) = self.previous {
            links.push(("previous", self.page_url(format, prev)));
        }
        if let Some(next) = self.next {
            links.push(("next", self.page_url(format, Some(next))));
        }
        links
    }

    /// The WebSub hub for this feed: syndic itself.
    pub fn hub_url(&self) -> String {
        format!("{}{}", self.base_url, HUB_PATH)
    }

    pub fn stylesheet_url(&self) -> String {
        format!("{}{STYLESHEET_PATH}", self.base_url)
    }

    /// The site a feed belongs to: the channel's link, else its page on this server.
    pub fn site_url(&self) -> String {
        self.channel
            .link
            .clone()
            .unwrap_or_else(|| format!("{}/channels/{}", self.base_url, self.channel.slug))
    }
}

pub fn render(format: FeedFormat, doc: &FeedDoc<'_>) -> Vec<u8> {
    match format {
        FeedFormat::Rss => with_stylesheet(rss::render(doc), doc),
        FeedFormat::Atom => with_stylesheet(atom::render(doc), doc),
        FeedFormat::Json => jsonfeed::render(doc),
    }
}

/// Adds the `xml-stylesheet` processing instruction right after the XML declaration, so a
/// browser shows a readable page; feed readers ignore it.
fn with_stylesheet(xml: Vec<u8>, doc: &FeedDoc<'_>) -> Vec<u8> {
    let Some(end) = xml.windows(2).position(|w| w == b"?>").map(|p| p + 2) else {
        return xml;
    };
    let pi = format!(
        "\n<?xml-stylesheet type=\"text/xsl\" href=\"{}\"?>",
        html_escape::encode_double_quoted_attribute(&doc.stylesheet_url())
    );
    let mut out = Vec::with_capacity(xml.len() + pi.len());
    out.extend_from_slice(&xml[..end]);
    out.extend_from_slice(pi.as_bytes());
    out.extend_from_slice(&xml[end..]);
    out
}

/// The formats syndic reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    Json,
    Rss,
    Atom,
    /// Generic XML: which feed format it is gets sniffed from the root element.
    Xml,
}

impl InputKind {
    /// The input kind a `Content-Type` names, or `None` when syndic does not read it.
    pub fn from_content_type(ct: &str) -> Option<InputKind> {
        let essence = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        Some(match essence.as_str() {
            "application/json" | "application/feed+json" => InputKind::Json,
            "application/rss+xml" => InputKind::Rss,
            "application/atom+xml" => InputKind::Atom,
            "application/xml" | "text/xml" | "application/rdf+xml" => InputKind::Xml,
            _ => return None,
        })
    }

    /// Guesses from the content itself, for files and for generic XML.
    pub fn sniff(body: &[u8]) -> Option<InputKind> {
        let text = String::from_utf8_lossy(&body[..body.len().min(4096)]);
        let t = text.trim_start_matches('\u{feff}').trim_start();
        if t.starts_with('{') || t.starts_with('[') {
            return Some(InputKind::Json);
        }
        // The first element that is not the prolog, a comment, a doctype or a processing
        // instruction (a comment may itself hold a `<`, so it is skipped whole).
        let mut rest = t;
        while let Some(pos) = rest.find('<') {
            rest = &rest[pos + 1..];
            if let Some(comment) = rest.strip_prefix("!--") {
                rest = comment.split_once("-->").map_or("", |(_, after)| after);
                continue;
            }
            if rest.starts_with('?') || rest.starts_with('!') {
                continue;
            }
            let name: String = rest
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '>' && *c != '/')
                .collect();
            let local = name.rsplit(':').next().unwrap_or("");
            return match local {
                "rss" | "RDF" => Some(InputKind::Rss),
                "feed" => Some(InputKind::Atom),
                _ => None,
            };
        }
        None
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// The body as a whole cannot be read.
    #[error("{0}")]
    Malformed(String),
    /// The body is fine but one of its items is not.
    #[error(transparent)]
    Item(#[from] ItemError),
}

/// How a reader treats what it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strictness {
    /// Publishers (API, CLI): the document must be well-formed as its format says, and every
    /// field goes to ingest as written, so that a bad one is refused with a 422 naming the
    /// item and the field.
    Strict,
    /// Upstreams (the poller, WebSub pushes): charsets detected, the document repaired,
    /// dates guessed, URLs resolved, what cannot be read dropped field by field.
    Lenient,
}

/// A feed as read: what a subscriber needs of the channel (a strict read fills only the
/// items), and its items.
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

/// What a body is and how to read it.
#[derive(Debug, Clone, Copy)]
pub struct ReadOptions<'a> {
    pub strictness: Strictness,
    /// The format, when the caller knows it (a strict read needs it; a lenient one sniffs).
    pub kind: Option<InputKind>,
    /// The HTTP Content-Type, whose charset a lenient read believes first.
    pub content_type: Option<&'a str>,
    /// The URL the body came from (after redirects): the base of relative URLs.
    pub base: Option<&'a Url>,
}

/// Reads a body: the one entry point of every reader. Fails (`ParseError::Malformed`) when
/// the body is not a feed of its kind at all; read strictly, also when one item is wrong
/// (`ParseError::Item`), naming it. Every reader runs behind the parser boundary: a panic of
/// quick-xml, lol_html, the feed crates or serde_json refuses this body and nothing else.
pub fn read(body: &[u8], opts: ReadOptions<'_>) -> Result<UpstreamFeed, ParseError> {
    crate::boundary::contain("feed reader", || match opts.strictness {
        Strictness::Strict => read_strict(body, opts),
        Strictness::Lenient => read_lenient(body, opts, Pass::WhenNeeded),
    })
    .unwrap_or_else(|e| Err(ParseError::Malformed(e.to_string())))
}

/// Reads every item of a publisher's body of the given kind, strictly.
pub fn parse(kind: InputKind, body: &[u8]) -> Result<Vec<Draft>, ParseError> {
    let opts = ReadOptions {
        strictness: Strictness::Strict,
        kind: Some(kind),
        content_type: None,
        base: None,
    };
    read(body, opts).map(|f| f.items)
}

/// Reads an upstream feed, leniently. `content_type` is the HTTP Content-Type header value if
/// any; `feed_url` is the URL the body came from (after redirects), the base of relative URLs.
///
/// Fails (`ParseError::Malformed`) only when the body is not a feed at all: an HTML page, an
/// empty body, JSON that is not a JSON Feed. Anything wrong inside a feed costs that field only.
pub fn parse_feed(
    body: &[u8],
    content_type: Option<&str>,
    feed_url: &Url,
) -> Result<UpstreamFeed, ParseError> {
    read(body, upstream_options(content_type, feed_url))
}

/// How an upstream's feed is read: leniently, its kind sniffed, relative URLs against the URL
/// it came from.
fn upstream_options<'a>(content_type: Option<&'a str>, feed_url: &'a Url) -> ReadOptions<'a> {
    ReadOptions {
        strictness: Strictness::Lenient,
        kind: None,
        content_type,
        base: Some(feed_url),
    }
}

fn read_strict(body: &[u8], opts: ReadOptions<'_>) -> Result<UpstreamFeed, ParseError> {
    let f = Fields::STRICT;
    let kind = opts.kind.or_else(|| InputKind::sniff(body));
    if kind != Some(InputKind::Json) && declares_entities(body) {
        return Err(ParseError::Malformed(
            "the document declares entities in its DOCTYPE; declared entities are never \
             expanded, so such documents are refused"
                .into(),
        ));
    }
    let rss = |body: &[u8]| {
        ::rss::Channel::read_from(body)
            .map(|c| rss::read(c, f, None))
            .map_err(|e| ParseError::Malformed(format!("the body is not a readable RSS feed: {e}")))
    };
    let atom = |body: &[u8]| {
        atom_syndication::Feed::read_from(body)
            .map(|feed| atom::read(feed, f, None))
            .map_err(|e| {
                ParseError::Malformed(format!("the body is not a readable Atom feed: {e}"))
            })
    };
    match kind {
        Some(InputKind::Json) => {
            let text = std::str::from_utf8(body).map_err(|e| {
                ParseError::Malformed(format!("the JSON body is not valid UTF-8 ({e})"))
            })?;
            jsonfeed::read(text, f, opts.base)
        }
        Some(InputKind::Rss) => rss(body),
        Some(InputKind::Atom) => atom(body),
        Some(InputKind::Xml) | None => match InputKind::sniff(body) {
            Some(InputKind::Rss) => rss(body),
            Some(InputKind::Atom) => atom(body),
            _ => Err(ParseError::Malformed(
                "the XML body is neither an RSS nor an Atom feed".into(),
            )),
        },
    }
}

/// Whether a lenient read runs the repair pass on a document it finds clean.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// Skipped when [`repair::clean`] finds nothing it would change: the crates read the
    /// decoded document as it came (most real feeds: a third of the time).
    WhenNeeded,
    /// Always run: what the short cut is held equal to.
    Always,
}

/// [`parse_feed`] with the repair pass run on every document, even one the short cut would
/// read as it came. For the test and the evaluation that hold both ways equal; not meant for
/// anything else.
#[doc(hidden)]
pub fn parse_feed_repaired(
    body: &[u8],
    content_type: Option<&str>,
    feed_url: &Url,
) -> Result<UpstreamFeed, ParseError> {
    let opts = upstream_options(content_type, feed_url);
    crate::boundary::contain("feed reader", || read_lenient(body, opts, Pass::Always))
        .unwrap_or_else(|e| Err(ParseError::Malformed(e.to_string())))
}

/// The Content-Type a feedparser test file says its HTTP response carried (a `Header:
/// Content-Type: …` line in its leading comment), as that corpus's harness passes it. For the
/// corpus evaluations and the equivalence test; not meant for anything else.
#[doc(hidden)]
pub fn corpus_content_type(body: &[u8]) -> Option<String> {
    let head = String::from_utf8_lossy(&body[..body.len().min(2048)]);
    head.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("Header:")?.trim();
        let (name, value) = rest.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("content-type")
            .then(|| value.trim().to_owned())
    })
}

/// Reads a document [`repair::clean`] found clean with the crates directly; `None` when a
/// crate refuses it: the pass decides then.
fn read_clean(c: &repair::Clean<'_>, base: &Url) -> Option<UpstreamFeed> {
    let f = Fields::LENIENT;
    let update = fields::update_period(c.update_period.as_deref(), c.update_frequency.as_deref());
    let mut feed = match c.doc {
        Doc::Rss => rss::read(::rss::Channel::read_from(c.xml.as_bytes()).ok()?, f, update),
        Doc::Atom => atom::read(
            atom_syndication::Feed::read_from(c.xml.as_bytes()).ok()?,
            f,
            update,
        ),
        Doc::Rdf => return None,
    };
    // The pass makes relative URLs inside HTML absolute, as the last thing it does to a
    // text (its base is the feed's: a clean document has no xml:base). Only the content
    // keeps its markup; a summary or a title is read as text, whatever its links said.
    for d in &mut feed.items {
        if let Some(html) = &mut d.content_html
            && html.contains('<')
        {
            *html = crate::text::absolutize_html(html, base);
        }
    }
    link_only_titles(&mut feed);
    Some(feed)
}

fn read_lenient(
    body: &[u8],
    opts: ReadOptions<'_>,
    pass: Pass,
) -> Result<UpstreamFeed, ParseError> {
    let f = Fields::LENIENT;
    let fallback;
    let base = match opts.base {
        Some(b) => b,
        None => {
            fallback = Url::parse("about:blank").expect("a URL");
            &fallback
        }
    };
    let text = decode::decode(body, opts.content_type)?;
    let start = text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
    if start.starts_with(['{', '[']) {
        return jsonfeed::read(start, f, opts.base).map(|mut feed| {
            link_only_titles(&mut feed);
            feed
        });
    }
    if pass == Pass::WhenNeeded
        && let Some(feed) = clean(&text).and_then(|c| read_clean(&c, base))
    {
        return Ok(feed);
    }
    let prepared = normalize(&text, base)?;
    let update = fields::update_period(
        prepared.update_period.as_deref(),
        prepared.update_frequency.as_deref(),
    );
    let read = match prepared.doc {
        Doc::Rss | Doc::Rdf => ::rss::Channel::read_from(prepared.xml.as_bytes())
            .map(|c| rss::read(c, f, update))
            .map_err(|e| e.to_string()),
        Doc::Atom => atom_syndication::Feed::read_from(prepared.xml.as_bytes())
            .map(|feed| atom::read(feed, f, update))
            .map_err(|e| e.to_string()),
    };
    let mut feed = read.map_err(|e| {
        ParseError::Malformed(format!("the feed cannot be read even after repair: {e}"))
    })?;
    link_only_titles(&mut feed);
    Ok(feed)
}

/// An upstream item with nothing to show but its link (or a guid that is its permalink) is
/// imported with the link as its title, as Miniflux does: a reader shows it that way too.
/// An item without even that is left for ingest to leave out and report.
fn link_only_titles(feed: &mut UpstreamFeed) {
    for d in &mut feed.items {
        if d.title.is_none()
            && d.content_html.is_none()
            && d.content_text.is_none()
            && d.summary.is_none()
        {
            d.title = d.url.clone();
        }
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
    normalize(&decode::decode(body, content_type)?, feed_url).map(|p| p.xml)
}

/// True when the document's DOCTYPE declares entities in an internal subset. The readers
/// never expand them (no "billion laughs", no external file read), but a body that relies on
/// them cannot be read as its author meant, so it is refused rather than stored with
/// `&name;` left in the text.
fn declares_entities(body: &[u8]) -> bool {
    let Some(start) = find(body, b"<!DOCTYPE") else {
        return false;
    };
    let rest = &body[start..];
    let open = rest.iter().position(|&b| b == b'[');
    let close = rest.iter().position(|&b| b == b'>');
    let Some(open) = open.filter(|&o| close.is_none_or(|c| o < c)) else {
        return false;
    };
    // The internal subset runs from `[` to the `]` that the DOCTYPE's `>` follows.
    let subset = &rest[open..];
    let end = (0..subset.len())
        .find(|&i| {
            subset[i] == b']'
                && subset[i + 1..]
                    .iter()
                    .find(|b| !b.is_ascii_whitespace())
                    .is_some_and(|&b| b == b'>')
        })
        .unwrap_or(subset.len());
    find(&subset[..end], b"<!ENTITY").is_some()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// True when a validator would take this plain text for undeclared HTML: an end tag (`</b>`),
/// or an `&` before `#`, before a word with a digit or `_` in it, or before an entity name
/// (the W3C validator's own test, made a little broader). Atom writes such text as
/// `type="html"`, escaped, so that it reads as the same text; other text, `<ok>` and `a & b`
/// included, stays `type="text"`.
pub fn looks_like_markup(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().any(|(i, &b)| match b {
        b'<' if bytes.get(i + 1) == Some(&b'/') => {
            let name = bytes[i + 2..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric())
                .count();
            name > 0 && bytes.get(i + 2 + name) == Some(&b'>')
        }
        b'&' => {
            let word: String = text[i + 1..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '#')
                .collect();
            !word.is_empty()
                && (word.starts_with('#')
                    || !word.chars().all(char::is_alphabetic)
                    || html_escape::decode_html_entities(&format!("&{word};"))
                        != format!("&{word};"))
        }
        _ => false,
    })
}

/// The longest excerpt [`excerpt`] makes, in characters (before its `…`).
pub const EXCERPT_CHARS: usize = 300;

/// A plain-text excerpt of an HTML fragment: its text, [`clip`]ped to [`EXCERPT_CHARS`]. RSS
/// puts it in `description` when an item has `content:encoded` but no summary (the RSS Best
/// Practices Profile, and the validator, want a description before the content).
pub fn excerpt(html: &str) -> String {
    clip(&crate::text::html_to_text(html), EXCERPT_CHARS)
}

/// Text with its white space collapsed, cut after the last whole word that fits in `max`
/// characters (inside the word when the first one is longer), with `…` when something was cut.
pub fn clip(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut chars = 0;
    for word in text.split_whitespace() {
        let n = word.chars().count();
        if chars + n + usize::from(!out.is_empty()) > max {
            if out.is_empty() {
                out.extend(word.chars().take(max));
            }
            out.push('…');
            return out;
        }
        if !out.is_empty() {
            out.push(' ');
            chars += 1;
        }
        out.push_str(word);
        chars += n;
    }
    out
}

/// A language as `xml:lang`, RSS `language` and `dc:language` want it: a primary subtag of two
/// or three letters, then subtags of one to eight letters or digits, with `_` read as `-`
/// (`en_US` is written `en-US`). `None` for anything else, which the XML formats leave out
/// rather than publish an invalid language (JSON Feed keeps the value as stored).
pub fn language_tag(language: &str) -> Option<std::borrow::Cow<'_, str>> {
    let tag: std::borrow::Cow<'_, str> = if language.contains('_') {
        language.replace('_', "-").into()
    } else {
        language.into()
    };
    let mut parts = tag.split('-');
    let primary = parts.next()?;
    let ok = (2..=3).contains(&primary.len())
        && primary.bytes().all(|b| b.is_ascii_alphabetic())
        && parts
            .all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()));
    ok.then_some(tag)
}

/// The subscriptions an RSS or Atom item lists beside its one `<source>` (a
/// `link rel="via"`, RSS's in the Atom namespace): all of them when it came through several, or when its `<source>`
/// is its own origin rather than the feed it was imported from; none otherwise (the
/// `<source>` says it all). JSON Feed lists every one in `_syndic.sources`.
pub fn listed_sources(a: &crate::model::Article) -> &[crate::model::Via] {
    let own_origin = match (&a.source, a.sources.first()) {
        (Some(origin), Some(first)) => origin.url != first.feed_url,
        _ => false,
    };
    if a.sources.len() > 1 || own_origin {
        &a.sources
    } else {
        &[]
    }
}

/// Where a source had the item: its link there, else the source's feed.
pub fn via_href(v: &crate::model::Via) -> &str {
    v.url.as_deref().unwrap_or(&v.feed_url)
}

/// The name a source goes by: its feed's title, else its feed's host.
pub fn via_name(v: &crate::model::Via) -> String {
    source_name(&crate::model::Source {
        title: v.title.clone(),
        url: v.feed_url.clone(),
    })
    .into_owned()
}

/// The name an imported article's origin goes by: the upstream feed's title, else the host
/// of its URL (RSS `source` must name the channel, and a blank Atom `source` title draws a
/// warning), else the URL itself.
pub fn source_name(source: &crate::model::Source) -> std::borrow::Cow<'_, str> {
    match &source.title {
        Some(t) => t.as_str().into(),
        None => url::Url::parse(&source.url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .map_or_else(|| source.url.as_str().into(), Into::into),
    }
}

/// RFC 3339 as Atom and JSON Feed want it, keeping the article's own zone.
pub fn date3339(d: DateTime<FixedOffset>) -> String {
    d.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The XML declaration both XML formats start with, saying the charset the HTTP header says.
pub const XML_DECL: &str = r#"<?xml version="1.0" encoding="utf-8"?>"#;

pub const NS_MEDIA: &str = "http://search.yahoo.com/mrss/";
pub const NS_ATOM: &str = "http://www.w3.org/2005/Atom";
pub const NS_DC: &str = "http://purl.org/dc/elements/1.1/";
pub const NS_CONTENT: &str = "http://purl.org/rss/1.0/modules/content/";

/// The generator name both XML formats carry.
pub const GENERATOR: &str = "syndic";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[cfg(test)]
mod tests {
    use super::{InputKind, declares_entities};

    #[test]
    fn entity_declarations_are_found_in_the_internal_subset_only() {
        assert!(declares_entities(
            b"<?xml version=\"1.0\"?><!DOCTYPE rss [ <!ENTITY a \"b\"> ] ><rss/>"
        ));
        assert!(declares_entities(
            b"<!DOCTYPE feed [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><feed/>"
        ));
        assert!(!declares_entities(b"<!DOCTYPE rss><rss/>"));
        assert!(!declares_entities(
            b"<!DOCTYPE rss PUBLIC \"-//Netscape//DTD RSS 0.91//EN\" \"x\"><rss><![CDATA[<!ENTITY]]></rss>"
        ));
    }

    #[test]
    fn markup_is_what_validators_call_html() {
        use super::looks_like_markup as m;
        for yes in [
            "Example <b>Atom</b>",
            "&amp; co",
            "a &#x26; b",
            "R&D2",
            "&eacute;t&eacute;",
        ] {
            assert!(m(yes), "{yes}");
        }
        for no in [
            "Café & co <ok>",
            "History of the <blink> tag",
            "AT&T",
            "a < b > c",
            "</ >",
            "",
        ] {
            assert!(!m(no), "{no}");
        }
    }

    #[test]
    fn excerpts_cut_after_a_word() {
        assert_eq!(super::clip("  a  b\n c ", 10), "a b c");
        assert_eq!(super::clip("one two three", 8), "one two…");
        assert_eq!(super::clip("abcdefghij", 4), "abcd…");
        assert_eq!(super::excerpt("<p>Hello <b>world</b></p>"), "Hello world");
    }

    #[test]
    fn languages_are_tags_or_nothing() {
        use super::language_tag as l;
        assert_eq!(l("fr").as_deref(), Some("fr"));
        assert_eq!(l("en_US").as_deref(), Some("en-US"));
        assert_eq!(l("zh-Hant-TW").as_deref(), Some("zh-Hant-TW"));
        for bad in [
            "",
            "f",
            "english",
            "& < >",
            "en-",
            "fr-toolongsubtag",
            "x-klingon",
        ] {
            assert_eq!(l(bad), None, "{bad}");
        }
    }

    #[test]
    fn sniffing_skips_prolog_comments_and_doctype() {
        let rss = b"<?xml version=\"1.0\"?>\n<!-- a <comment> with <rss> in it -->\n<!DOCTYPE rss>\n<rss version=\"2.0\"/>";
        assert_eq!(InputKind::sniff(rss), Some(InputKind::Rss));
        let atom = b"\xef\xbb\xbf<!-- <rss> --><feed xmlns=\"http://www.w3.org/2005/Atom\"/>";
        assert_eq!(InputKind::sniff(atom), Some(InputKind::Atom));
        assert_eq!(
            InputKind::sniff(b"  [ {\"id\": 1} ]"),
            Some(InputKind::Json)
        );
        assert_eq!(InputKind::sniff(b"<html><body/></html>"), None);
        assert_eq!(InputKind::sniff(b"<!-- unterminated <rss>"), None);
    }

    mod lenient {
        use url::Url;

        use crate::formats::dates::parse_date;
        use crate::formats::fixtures::fixture;
        use crate::formats::{ParseError, Pass, ReadOptions, Strictness, parse_feed, read_lenient};

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
                    let opts = ReadOptions {
                        strictness: Strictness::Lenient,
                        kind: None,
                        content_type: None,
                        base: Some(&url),
                    };
                    let _ = read_lenient(&body[..end], opts, Pass::WhenNeeded);
                    let _ = read_lenient(&body[..end], opts, Pass::Always);
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

        fn feed(doc: &str) -> crate::formats::UpstreamFeed {
            let url = Url::parse("https://feeds.example/dir/feed.xml").unwrap();
            parse_feed(doc.as_bytes(), None, &url).unwrap()
        }

        const ATOM: &str = r#"<feed xmlns="http://www.w3.org/2005/Atom"><id>urn:f</id><title>f</title><updated>2025-01-01T00:00:00Z</updated>"#;

        #[test]
        fn link_only_and_permalink_only_items_have_their_link_as_title() {
            let f = feed(
                "<rss version=\"2.0\"><channel><title>c</title>\
                 <item><link>/posts/1</link></item>\
                 <item><guid>https://blog.example/2</guid></item>\
                 <item><guid isPermaLink=\"false\">https://blog.example/3</guid></item>\
                 <item><guid>tag:blog.example,4</guid></item>\
                 </channel></rss>",
            );
            let titles: Vec<_> = f.items.iter().map(|i| i.title.as_deref()).collect();
            assert_eq!(
                titles,
                [
                    Some("https://feeds.example/posts/1"),
                    Some("https://blog.example/2"),
                    None,
                    None
                ]
            );
            assert_eq!(f.items[1].url.as_deref(), Some("https://blog.example/2"));
            // Not a permalink: no URL, so nothing to show (ingest leaves it out, reported).
            assert_eq!(f.items[2].url, None);
            let f = feed(&format!(
                "{ATOM}<entry><id>https://blog.example/e/1</id><updated>2025-01-01T00:00:00Z</updated></entry>\
                 <entry><id>urn:uuid:6f1c2a4e-93d5-4b7e-8a61-0c2f5d9eb347</id><updated>2025-01-01T00:00:00Z</updated></entry></feed>"
            ));
            assert_eq!(
                f.items[0].title.as_deref(),
                Some("https://blog.example/e/1")
            );
            assert_eq!(f.items[0].url.as_deref(), Some("https://blog.example/e/1"));
            assert_eq!(f.items[1].title, None);
        }

        #[test]
        fn atom_0_3_base64_titles_and_content_are_decoded() {
            use base64::Engine;
            let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
            let doc = format!(
                "<feed version=\"0.3\" xmlns=\"http://purl.org/atom/ns#\"><title>f</title>\
                 <entry><id>urn:e</id><issued>2004-01-01T00:00:00Z</issued>\
                 <title type=\"text/html\" mode=\"base64\">{}</title>\
                 <content type=\"text/html\" mode=\"base64\">{}</content></entry></feed>",
                b64("<b>Bold</b> &amp; &lt;blink&gt;"),
                b64("<p>Hello <b>world</b></p>")
            );
            let f = feed(&doc);
            assert_eq!(f.items[0].title.as_deref(), Some("Bold & <blink>"));
            assert_eq!(
                f.items[0].content_html.as_deref(),
                Some("<p>Hello <b>world</b></p>")
            );
            // Atom 1.0: a title of a media type that is neither text nor XML is base64.
            let f = feed(&format!(
                "{ATOM}<entry><id>urn:e</id><updated>2025-01-01T00:00:00Z</updated>\
                 <title type=\"application/octet-stream\">\n  {}\n</title></entry></feed>",
                b64("Example <b>Atom</b>")
            ));
            assert_eq!(f.items[0].title.as_deref(), Some("Example Atom"));
        }

        #[test]
        fn escaped_markup_in_titles_is_kept_as_text() {
            let blink = Some("History of the <blink> tag");
            let f = feed(&format!(
                "{ATOM}<entry><id>urn:e1</id><updated>2025-01-01T00:00:00Z</updated>\
                 <title type=\"xhtml\"><div xmlns=\"http://www.w3.org/1999/xhtml\">History of the &lt;blink&gt; tag</div></title></entry>\
                 <entry><id>urn:e2</id><updated>2025-01-01T00:00:00Z</updated>\
                 <title type=\"html\">History of the &amp;lt;blink&amp;gt; tag</title></entry>\
                 <entry><id>urn:e3</id><updated>2025-01-01T00:00:00Z</updated>\
                 <title type=\"html\">&lt;b&gt;Really&lt;/b&gt; bold</title></entry>\
                 <entry><id>urn:e4</id><updated>2025-01-01T00:00:00Z</updated>\
                 <title type=\"xhtml\"><div xmlns=\"http://www.w3.org/1999/xhtml\"><b>Really</b> bold</div></title></entry>\
                 <entry><id>urn:e5</id><updated>2025-01-01T00:00:00Z</updated>\
                 <title>History of the &lt;blink&gt; tag</title></entry></feed>"
            ));
            let titles: Vec<_> = f.items.iter().map(|i| i.title.as_deref()).collect();
            assert_eq!(
                titles,
                [
                    blink,
                    blink,
                    Some("Really bold"),
                    Some("Really bold"),
                    blink
                ]
            );
            let f = feed(
                "<rss version=\"2.0\"><channel><title>c</title>\
                 <item><title><![CDATA[History of the &lt;blink&gt; tag]]></title></item>\
                 <item><title><![CDATA[<b>Really</b> bold]]></title></item>\
                 <item><title>History of the &amp;lt;blink&amp;gt; tag</title></item>\
                 </channel></rss>",
            );
            let titles: Vec<_> = f.items.iter().map(|i| i.title.as_deref()).collect();
            assert_eq!(titles, [blink, Some("Really bold"), blink]);
        }
    }
}
