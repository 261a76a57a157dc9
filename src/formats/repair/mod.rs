//! The XML pre-pass: one streaming pass over `quick-xml` that reads leniently and writes a
//! document the strict `rss` and `atom_syndication` readers accept and that says the same
//! thing: UTF-8 without a declaration, references resolved, tags balanced, names and
//! namespaces normalized, dates rewritten as RFC 3339, URLs absolute against `xml:base`.
//! What each vocabulary is lives in `namespaces`; start and end tags in `tags`; text and
//! the elements whose text is rewritten in `text`.

use std::collections::HashMap;

use quick_xml::NsReader;
use quick_xml::escape::escape;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{Namespace, ResolveResult};
use url::Url;

use super::entities::decode_refs;
use crate::formats::ParseError;

mod clean;
mod namespaces;
mod tags;
mod text;

pub(super) use clean::{Clean, clean};

use namespaces::{EXT_NAMESPACES, NS_ATOM, NS_RSS1, Ns, ns_of_prefix, ns_of_uri};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Doc {
    Rss,
    Rdf,
    Atom,
}

/// What the pre-pass hands on: the repaired document, and the channel's syndication hints,
/// which the `rss` crate only keeps when written exactly (`hourly`, not ` Hourly`).
pub(super) struct Prepared {
    pub(super) xml: String,
    pub(super) doc: Doc,
    pub(super) update_period: Option<String>,
    pub(super) update_frequency: Option<String>,
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
    /// The xml:base the element itself sets; else the one in force, which cannot change
    /// while it is captured (nothing opens or closes inside it).
    base: Option<Url>,
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
    /// Indices in `stack` of the open elements that set an xml:base, innermost last, so the
    /// base in force is found in constant time (a walk of the stack made documents of many
    /// unclosed elements quadratic).
    based: Vec<usize>,
    /// How many elements of each raw name `stack` holds, so that an end tag that closes
    /// nothing is known without a walk of the stack.
    open_names: HashMap<String, usize>,
    capture: Option<Captured>,
    feed_url: &'u Url,
    saw_channel: bool,
    item_depth: usize,
    update_period: Option<String>,
    update_frequency: Option<String>,
}

/// Runs the pre-pass over decoded text.
pub(super) fn normalize(text: &str, feed_url: &Url) -> Result<Prepared, ParseError> {
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
        based: Vec::new(),
        open_names: HashMap::new(),
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
    let b = name.as_bytes();
    // The usual ASCII name, without a walk by char (the same answer as below).
    if b.first().is_some_and(u8::is_ascii_alphabetic)
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.' | b':'))
    {
        return true;
    }
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

impl Normalizer<'_> {
    fn base(&self) -> &Url {
        self.based
            .last()
            .and_then(|&i| self.stack.get(i))
            .and_then(|o| o.base.as_ref())
            .unwrap_or(self.feed_url)
    }

    fn push_open(&mut self, open: Open) {
        if open.base.is_some() {
            self.based.push(self.stack.len());
        }
        match self.open_names.get_mut(open.raw.as_str()) {
            Some(n) => *n += 1,
            None => {
                self.open_names.insert(open.raw.clone(), 1);
            }
        }
        self.stack.push(open);
    }

    fn pop_open(&mut self) -> Option<Open> {
        let open = self.stack.pop()?;
        if let Some(n) = self.open_names.get_mut(open.raw.as_str()) {
            *n -= 1;
        }
        if self.based.last() == Some(&self.stack.len()) {
            self.based.pop();
        }
        Some(open)
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
        self.push_open(Open {
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

    /// Closes whatever the document left open: a truncated feed keeps its complete items.
    fn finish(&mut self) {
        self.flush_capture();
        while !self.stack.is_empty() {
            self.close_top();
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::formats::fixtures::{read, s};

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
}
