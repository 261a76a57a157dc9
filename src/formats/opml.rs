//! OPML, the format feed readers exchange subscription lists in, both directions: [`parse`]
//! reads the feeds of an OPML 1.0 or 2.0 document for import, whatever its encoding and
//! however deeply its folders nest; [`write()`] exports what syndic follows, grouped by the
//! channel each subscription feeds, and the feeds syndic publishes itself.
//! Spec: <http://opml.org/spec2.opml>.

use std::collections::{HashMap, HashSet};
use std::io;

use chrono::{DateTime, Utc};
use quick_xml::XmlVersion;
use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesDecl, BytesStart, BytesText, Event};
use quick_xml::reader::Reader;
use quick_xml::writer::Writer;
use url::Url;

use super::ParseError;
use crate::text::xml_clean;

/// Deeper nesting than this is no subscription list a person made; it is refused before the
/// folder stack grows without bound.
pub const MAX_DEPTH: usize = 64;
/// More outlines than this is refused rather than worked through.
pub const MAX_OUTLINES: usize = 100_000;

const SPEC_URL: &str = "http://opml.org/spec2.opml";

/// One feed found in an OPML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpmlFeed {
    /// Absolute, as written in the document.
    pub xml_url: String,
    /// The outline's `title`, else its `text`.
    pub title: Option<String>,
    pub html_url: Option<String>,
    /// Titles of the enclosing outlines, outermost first.
    pub folders: Vec<String>,
}

/// Reads every feed of an OPML document, in document order, each `xmlUrl` once.
pub fn parse(body: &[u8]) -> Result<Vec<OpmlFeed>, ParseError> {
    // quick-xml runs behind the parser boundary: a panic refuses this document only.
    crate::boundary::contain("OPML reader", || {
        parse_limited(body, MAX_DEPTH, MAX_OUTLINES)
    })
    .unwrap_or_else(|e| Err(ParseError::Malformed(e.to_string())))
}

fn parse_limited(
    body: &[u8],
    max_depth: usize,
    max_outlines: usize,
) -> Result<Vec<OpmlFeed>, ParseError> {
    // The one charset detection of every XML reader (BOM, UTF-16 without one, the
    // declaration, else UTF-8, else windows-1252).
    let text = super::decode::decode(body, None)?;
    let mut reader = Reader::from_str(&text);
    // Open elements, and how deep <body> sits once inside it.
    let mut depth = 0usize;
    let mut body_depth: Option<usize> = None;
    let mut root_seen = false;
    let mut body_seen = false;
    // One entry per open element inside <body>: the folder title it adds, if it is a folder.
    let mut folders: Vec<Option<String>> = Vec::new();
    let mut outlines = 0usize;
    let mut seen = HashSet::new();
    let mut feeds = Vec::new();
    loop {
        let event = reader.read_event().map_err(|e| {
            ParseError::Malformed(format!(
                "the OPML document is not well-formed XML (at offset {}): {e}",
                reader.error_position()
            ))
        })?;
        let (start, open) = match &event {
            Event::Start(e) => (e, true),
            Event::Empty(e) => (e, false),
            Event::End(_) => {
                if body_depth == Some(depth) {
                    body_depth = None;
                } else if body_depth.is_some() {
                    folders.pop();
                }
                depth = depth.saturating_sub(1);
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let name = start.local_name();
        let name = name.as_ref();
        if !root_seen {
            root_seen = true;
            if !name.eq_ignore_ascii_case("opml") {
                return Err(not_opml(&format!(
                    "its root element is <{name}>, not <opml>"
                )));
            }
        }
        let parent_depth = depth;
        if open {
            depth += 1;
            if depth > max_depth {
                return Err(ParseError::Malformed(format!(
                    "the OPML document nests more than {max_depth} elements deep"
                )));
            }
        }
        if body_depth.is_some() {
            let mut folder = None;
            if name.eq_ignore_ascii_case("outline") {
                outlines += 1;
                if outlines > max_outlines {
                    return Err(ParseError::Malformed(format!(
                        "the OPML document has more than {max_outlines} outlines"
                    )));
                }
                match Outline::read(start) {
                    Outline::Feed(mut feed) => {
                        if seen.insert(dedupe_key(&feed.xml_url)) {
                            feed.folders = folders.iter().flatten().cloned().collect();
                            feeds.push(feed);
                        }
                    }
                    Outline::Folder(title) => folder = title,
                    Outline::Other => {}
                }
            }
            if open {
                folders.push(folder);
            }
        } else if parent_depth == 1 && name.eq_ignore_ascii_case("body") {
            body_seen = true;
            if open {
                body_depth = Some(depth);
            }
        }
    }
    if !root_seen {
        return Err(not_opml("it has no <opml> root element"));
    }
    if depth != 0 {
        return Err(ParseError::Malformed(
            "the OPML document ends before its elements are closed".into(),
        ));
    }
    if !body_seen {
        return Err(ParseError::Malformed(
            "the OPML document has no <body>, so it lists no feeds".into(),
        ));
    }
    Ok(feeds)
}

fn not_opml(why: &str) -> ParseError {
    ParseError::Malformed(format!("the document is not OPML: {why}"))
}

/// The same feed written twice rarely differs by more than the case of its host or a
/// default port, which URL parsing evens out.
fn dedupe_key(xml_url: &str) -> String {
    Url::parse(xml_url).map_or_else(|_| xml_url.to_owned(), String::from)
}

/// What an `<outline>` is to an importer.
enum Outline {
    Feed(OpmlFeed),
    /// An outline without `xmlUrl` groups the ones inside it, under this title.
    Folder(Option<String>),
    /// An outline of another type (`link`, `include`, ...), or a feed at a relative or
    /// non-HTTP address that there is nothing to poll at.
    Other,
}

impl Outline {
    fn read(start: &BytesStart<'_>) -> Outline {
        let (mut xml_url, mut title, mut text, mut html_url, mut kind) =
            (None, None, None, None, None);
        // HTML-style attribute parsing, and no duplicate check: hand-edited lists are sloppy,
        // and one bad attribute should not cost the whole import.
        let mut attrs = start.html_attributes();
        attrs.with_checks(false);
        for attr in attrs.flatten() {
            let slot = match attr.key.local_name().as_ref().to_ascii_lowercase().as_str() {
                "xmlurl" => &mut xml_url,
                "title" => &mut title,
                "text" => &mut text,
                "htmlurl" => &mut html_url,
                "type" => &mut kind,
                _ => continue,
            };
            if slot.is_none() {
                *slot = non_empty(attr_value(&attr));
            }
        }
        let title = title.or(text);
        let Some(xml_url) = xml_url else {
            return Outline::Folder(title);
        };
        // OPML says type="rss" for every feed, but exporters also write "atom" (or other
        // feed names) for Atom feeds; an xmlUrl is what makes an outline a feed. Only the
        // types OPML uses for non-feeds are left out.
        let is_rss = kind.as_deref().is_none_or(|k| {
            !["link", "include", "html", "text"]
                .iter()
                .any(|other| k.eq_ignore_ascii_case(other))
        });
        if !is_rss || !is_http(&xml_url) {
            return Outline::Other;
        }
        Outline::Feed(OpmlFeed {
            // Exporters put the address in `text` when they have no title; it says nothing.
            title: title.filter(|t| *t != xml_url),
            xml_url,
            html_url,
            folders: Vec::new(),
        })
    }
}

/// An attribute's value with XML's entities resolved; when it holds HTML entities or a bare
/// `&`, which XML refuses but exporters write, those are read the way a browser would.
fn attr_value(attr: &Attribute<'_>) -> String {
    match attr.normalized_value(XmlVersion::Implicit1_0) {
        Ok(v) => v.into_owned(),
        Err(_) => html_escape::decode_html_entities(&attr.value).into_owned(),
    }
}

fn non_empty(s: String) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

fn is_http(s: &str) -> bool {
    Url::parse(s).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
}

/// What an export lists.
pub struct OpmlExport<'a> {
    pub title: &'a str,
    pub date_created: DateTime<Utc>,
    /// Grouped by channel in the output, channels in order of first appearance.
    pub subscriptions: Vec<OpmlSubscription<'a>>,
    /// The feeds syndic publishes.
    pub channels: Vec<OpmlChannel<'a>>,
}

/// A feed syndic follows, and the channel it feeds.
pub struct OpmlSubscription<'a> {
    pub title: Option<&'a str>,
    pub xml_url: &'a str,
    pub html_url: Option<&'a str>,
    pub channel: &'a str,
}

/// A feed syndic publishes.
pub struct OpmlChannel<'a> {
    pub title: &'a str,
    pub xml_url: &'a str,
    pub html_url: Option<&'a str>,
    pub description: &'a str,
}

/// The title of the outline holding the subscriptions, one folder per channel.
pub const SUBSCRIPTIONS_FOLDER: &str = "Subscriptions";
/// The title of the outline listing the feeds syndic publishes.
pub const PUBLISHED_FOLDER: &str = "Published by syndic";

/// Renders an OPML 2.0 document. Empty groups are left out.
pub fn write(export: &OpmlExport<'_>) -> String {
    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
    write_document(&mut writer, export).expect("writing to a Vec cannot fail");
    String::from_utf8(writer.into_inner()).expect("the writer only writes the UTF-8 it is given")
}

type W = Writer<Vec<u8>>;

fn write_document(w: &mut W, x: &OpmlExport<'_>) -> io::Result<()> {
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)))?;
    w.create_element("opml")
        .with_attribute(("version", "2.0"))
        .write_inner_content(|w| {
            w.create_element("head").write_inner_content(|w| {
                w.create_element("title")
                    .write_text_content(BytesText::new(&clean(x.title)))?;
                w.create_element("dateCreated")
                    .write_text_content(BytesText::new(&x.date_created.to_rfc2822()))?;
                w.create_element("docs")
                    .write_text_content(BytesText::new(SPEC_URL))?;
                Ok(())
            })?;
            w.create_element("body").write_inner_content(|w| {
                if !x.subscriptions.is_empty() {
                    folder(w, SUBSCRIPTIONS_FOLDER, |w| {
                        for (channel, subs) in by_channel(&x.subscriptions) {
                            folder(w, channel, |w| {
                                for s in subs {
                                    feed(w, s.title, s.xml_url, s.html_url, None)?;
                                }
                                Ok(())
                            })?;
                        }
                        Ok(())
                    })?;
                }
                if !x.channels.is_empty() {
                    folder(w, PUBLISHED_FOLDER, |w| {
                        for c in &x.channels {
                            let description = Some(c.description).filter(|d| !d.is_empty());
                            feed(w, Some(c.title), c.xml_url, c.html_url, description)?;
                        }
                        Ok(())
                    })?;
                }
                Ok(())
            })?;
            Ok(())
        })?;
    Ok(())
}

/// Subscriptions grouped by channel, each group in the order given.
fn by_channel<'s, 'a>(
    subs: &'s [OpmlSubscription<'a>],
) -> Vec<(&'a str, Vec<&'s OpmlSubscription<'a>>)> {
    let mut groups: Vec<(&str, Vec<_>)> = Vec::new();
    let mut index = HashMap::new();
    for s in subs {
        let i = *index.entry(s.channel).or_insert_with(|| {
            groups.push((s.channel, Vec::new()));
            groups.len() - 1
        });
        groups[i].1.push(s);
    }
    groups
}

fn folder(w: &mut W, title: &str, inner: impl FnOnce(&mut W) -> io::Result<()>) -> io::Result<()> {
    let title = clean(title);
    w.create_element("outline")
        .with_attributes([("text", title.as_str()), ("title", title.as_str())])
        .write_inner_content(inner)?;
    Ok(())
}

fn feed(
    w: &mut W,
    title: Option<&str>,
    xml_url: &str,
    html_url: Option<&str>,
    description: Option<&str>,
) -> io::Result<()> {
    // `text` is required on every outline; the address stands in for a missing title.
    let text = clean(title.unwrap_or(xml_url));
    let mut attrs = vec![("type", "rss".to_owned()), ("text", text.clone())];
    if title.is_some() {
        attrs.push(("title", text));
    }
    attrs.push(("xmlUrl", clean(xml_url)));
    if let Some(html_url) = html_url {
        attrs.push(("htmlUrl", clean(html_url)));
    }
    if let Some(description) = description {
        attrs.push(("description", clean(description)));
    }
    w.create_element("outline")
        .with_attributes(attrs.iter().map(|(k, v)| (*k, v.as_str())))
        .write_empty()?;
    Ok(())
}

/// Escaping cannot make a control character legal in XML 1.0; it has to go.
fn clean(s: &str) -> String {
    let mut s = s.to_owned();
    xml_clean(&mut s);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn malformed(body: &[u8]) -> String {
        match parse(body) {
            Err(ParseError::Malformed(m)) => m,
            other => panic!("expected Malformed, got {other:?}"),
        }
    }

    fn urls(feeds: &[OpmlFeed]) -> Vec<&str> {
        feeds.iter().map(|f| f.xml_url.as_str()).collect()
    }

    #[test]
    fn round_trip() {
        let date = DateTime::parse_from_rfc3339("2025-09-16T18:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let export = OpmlExport {
            title: "syndic <export> & co",
            date_created: date,
            subscriptions: vec![
                OpmlSubscription {
                    title: Some("Tom & Jerry's \"news\"\u{1}"),
                    xml_url: "https://a.example/feed?x=1&y=<2>",
                    html_url: Some("https://a.example/"),
                    channel: "Café",
                },
                OpmlSubscription {
                    title: None,
                    xml_url: "https://b.example/atom.xml",
                    html_url: None,
                    channel: "Tech",
                },
                OpmlSubscription {
                    title: Some("C\twith\nbreaks"),
                    xml_url: "https://c.example/rss",
                    html_url: None,
                    channel: "Café",
                },
            ],
            channels: vec![OpmlChannel {
                title: "Digest",
                xml_url: "https://syndic.example/feeds/digest/rss.xml",
                html_url: Some("https://syndic.example/channels/digest"),
                description: "Best of ‘everything’",
            }],
        };
        let out = write(&export);
        assert!(out.starts_with(r#"<?xml version="1.0" encoding="utf-8"?>"#));

        let doc = roxmltree::Document::parse(&out).expect("well-formed");
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "opml");
        assert_eq!(root.attribute("version"), Some("2.0"));
        let head_text = |name: &str| {
            doc.descendants()
                .find(|n| n.has_tag_name(name))
                .and_then(|n| n.text())
                .map(str::to_owned)
        };
        assert_eq!(head_text("title").as_deref(), Some("syndic <export> & co"));
        let created = head_text("dateCreated").unwrap();
        assert_eq!(DateTime::parse_from_rfc2822(&created).unwrap(), date);

        let feeds = parse(out.as_bytes()).unwrap();
        let expected = vec![
            OpmlFeed {
                xml_url: "https://a.example/feed?x=1&y=<2>".into(),
                title: Some("Tom & Jerry's \"news\"".into()),
                html_url: Some("https://a.example/".into()),
                folders: vec!["Subscriptions".into(), "Café".into()],
            },
            OpmlFeed {
                xml_url: "https://c.example/rss".into(),
                // Written as character references, tab and newline survive normalisation.
                title: Some("C\twith\nbreaks".into()),
                html_url: None,
                folders: vec!["Subscriptions".into(), "Café".into()],
            },
            OpmlFeed {
                xml_url: "https://b.example/atom.xml".into(),
                title: None,
                html_url: None,
                folders: vec!["Subscriptions".into(), "Tech".into()],
            },
            OpmlFeed {
                xml_url: "https://syndic.example/feeds/digest/rss.xml".into(),
                title: Some("Digest".into()),
                html_url: Some("https://syndic.example/channels/digest".into()),
                folders: vec!["Published by syndic".into()],
            },
        ];
        assert_eq!(feeds, expected);
        let digest = doc
            .descendants()
            .find(|n| n.attribute("title") == Some("Digest"))
            .unwrap();
        assert_eq!(
            digest.attribute("description"),
            Some("Best of ‘everything’")
        );
        assert_eq!(digest.attribute("type"), Some("rss"));
    }

    #[test]
    fn empty_export_is_still_opml() {
        let out = write(&OpmlExport {
            title: "nothing",
            date_created: Utc::now(),
            subscriptions: vec![],
            channels: vec![],
        });
        assert!(roxmltree::Document::parse(&out).is_ok());
        assert_eq!(parse(out.as_bytes()).unwrap(), vec![]);
    }

    #[test]
    fn nested_folders() {
        let doc = br#"<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>mine</title></head>
  <body>
    <outline type="rss" text="Top" xmlUrl="https://top.example/rss"/>
    <outline text="News">
      <outline title="World" text="ignored, title wins">
        <outline text="Deep">
          <outline text="Le Monde" type="rss" xmlUrl="https://lemonde.example/rss.xml" htmlUrl="https://lemonde.example/"/>
        </outline>
        <outline text="BBC" xmlUrl="https://bbc.example/rss"/>
      </outline>
      <outline>
        <outline text="Untitled folder" xmlUrl="https://untitled.example/rss"/>
      </outline>
    </outline>
    <outline text="After" type="RSS" xmlUrl="https://after.example/rss"/>
  </body>
</opml>"#;
        let feeds = parse(doc).unwrap();
        let got: Vec<(&str, Vec<&str>)> = feeds
            .iter()
            .map(|f| {
                (
                    f.xml_url.as_str(),
                    f.folders.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("https://top.example/rss", vec![]),
                (
                    "https://lemonde.example/rss.xml",
                    vec!["News", "World", "Deep"]
                ),
                ("https://bbc.example/rss", vec!["News", "World"]),
                ("https://untitled.example/rss", vec!["News"]),
                ("https://after.example/rss", vec![]),
            ]
        );
        assert_eq!(feeds[1].title.as_deref(), Some("Le Monde"));
        assert_eq!(
            feeds[1].html_url.as_deref(),
            Some("https://lemonde.example/")
        );
    }

    #[test]
    fn opml_1_0_sample() {
        let feeds = parse(include_bytes!("../../tests/fixtures/opml/opml-1.0.opml")).unwrap();
        assert_eq!(
            urls(&feeds),
            vec![
                "http://www.scripting.example/rss.xml",
                "http://www.nytimes.example/services/xml/rss/nyt/HomePage.xml",
                "http://slashdot.example/index.rss",
            ]
        );
        assert_eq!(feeds[0].title.as_deref(), Some("Scripting News"));
        assert_eq!(feeds[1].folders, vec!["News".to_owned()]);
        assert_eq!(feeds[2].title.as_deref(), Some("Slashdot: News for nerds"));
    }

    #[test]
    fn latin1_declared_file() {
        let body = include_bytes!("../../tests/fixtures/opml/latin1.opml");
        assert!(body.contains(&0xE9), "the fixture is Latin-1");
        let feeds = parse(body).unwrap();
        assert_eq!(feeds.len(), 1);
        assert_eq!(feeds[0].title.as_deref(), Some("Café « crème »"));
        assert_eq!(feeds[0].folders, vec!["Général".to_owned()]);
    }

    #[test]
    fn byte_order_marks() {
        let doc = r#"<?xml version="1.0" encoding="iso-8859-1"?><opml version="2.0"><body><outline text="Ünïcode" xmlUrl="https://u.example/rss"/></body></opml>"#;
        // The BOM overrides the declaration.
        let mut utf8 = b"\xEF\xBB\xBF".to_vec();
        utf8.extend_from_slice(doc.as_bytes());
        let mut utf16 = vec![0xFF, 0xFE];
        utf16.extend(doc.encode_utf16().flat_map(u16::to_le_bytes));
        for body in [utf8, utf16] {
            let feeds = parse(&body).unwrap();
            assert_eq!(feeds[0].title.as_deref(), Some("Ünïcode"));
        }
    }

    #[test]
    fn entities_in_attributes() {
        let doc = br#"<opml version="2.0"><body>
<outline text="A &amp; B &#233;t&#xE9; &lt;3" xmlUrl="https://e.example/feed?a=1&amp;b=2"/>
<outline text="Caf&eacute;&nbsp;bar" xmlUrl="https://e.example/feed?c=1&d=2"/>
</body></opml>"#;
        let feeds = parse(doc).unwrap();
        assert_eq!(feeds[0].title.as_deref(), Some("A & B été <3"));
        assert_eq!(feeds[0].xml_url, "https://e.example/feed?a=1&b=2");
        assert_eq!(feeds[1].title.as_deref(), Some("Café\u{a0}bar"));
        assert_eq!(feeds[1].xml_url, "https://e.example/feed?c=1&d=2");
    }

    #[test]
    fn missing_body() {
        let m = malformed(
            br#"<?xml version="1.0"?><opml version="2.0"><head><title>t</title></head></opml>"#,
        );
        assert!(m.contains("no <body>"), "{m}");
        // A <body> that is not the root's child does not count.
        let m = malformed(
            br#"<opml><head><body><outline xmlUrl="https://x.example/"/></body></head></opml>"#,
        );
        assert!(m.contains("no <body>"), "{m}");
        // An empty one is a valid, empty list.
        assert_eq!(
            parse(b"<opml version=\"2.0\"><head/><body/></opml>").unwrap(),
            vec![]
        );
    }

    #[test]
    fn not_opml() {
        let m = malformed(
            br#"<?xml version="1.0"?><rss version="2.0"><channel><title>x</title></channel></rss>"#,
        );
        assert!(m.contains("not OPML") && m.contains("<rss>"), "{m}");
        let m = malformed(b"  \n");
        assert!(m.contains("not OPML"), "{m}");
    }

    #[test]
    fn malformed_xml() {
        let m = malformed(br#"<opml><body><outline text="a"></body></opml>"#);
        assert!(m.contains("not well-formed"), "{m}");
        let m = malformed(br#"<opml><body><outline text="a" xmlUrl="https://x.example/rss">"#);
        assert!(m.contains("ends before"), "{m}");
    }

    #[test]
    fn depth_cap() {
        let nested = |n: usize| {
            let mut s = String::from("<opml><body>");
            s.push_str(&"<outline text=\"f\">".repeat(n));
            s.push_str(r#"<outline text="leaf" xmlUrl="https://deep.example/rss"/>"#);
            s.push_str(&"</outline>".repeat(n));
            s.push_str("</body></opml>");
            s
        };
        // <opml> and <body> take two of the levels.
        let ok = parse(nested(MAX_DEPTH - 2).as_bytes()).unwrap();
        assert_eq!(ok[0].folders.len(), MAX_DEPTH - 2);
        let m = malformed(nested(MAX_DEPTH - 1).as_bytes());
        assert!(m.contains("more than 64"), "{m}");
        let m = malformed(nested(100_000).as_bytes());
        assert!(m.contains("more than 64"), "{m}");
    }

    #[test]
    fn outline_cap() {
        let doc = format!(
            "<opml><body>{}</body></opml>",
            "<outline text=\"x\"/>".repeat(11)
        );
        assert!(parse_limited(doc.as_bytes(), MAX_DEPTH, 11).is_ok());
        match parse_limited(doc.as_bytes(), MAX_DEPTH, 10) {
            Err(ParseError::Malformed(m)) => assert!(m.contains("more than 10 outlines"), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn relative_and_unpollable_urls_are_skipped() {
        let doc = br#"<opml version="2.0"><body>
<outline text="rel" xmlUrl="/feed.xml"/>
<outline text="bare" xmlUrl="feed.xml"/>
<outline text="js" xmlUrl="javascript:alert(1)"/>
<outline text="file" xmlUrl="file:///etc/passwd"/>
<outline text="blank" xmlUrl="  "/>
<outline text="link" type="link" xmlUrl="https://link.example/rss"/>
<outline text="ok" xmlUrl=" https://ok.example/rss "/>
</body></opml>"#;
        let feeds = parse(doc).unwrap();
        assert_eq!(urls(&feeds), vec!["https://ok.example/rss"]);
        assert!(feeds[0].folders.is_empty());
    }

    #[test]
    fn duplicate_xml_url_first_wins() {
        let doc = br#"<opml version="2.0"><body>
<outline text="One"><outline text="First" xmlUrl="https://dup.example/rss"/></outline>
<outline text="Two"><outline text="Second" xmlUrl="https://DUP.example:443/rss"/></outline>
<outline text="Other" xmlUrl="https://other.example/rss"/>
<outline text="Third" xmlUrl="https://dup.example/rss"/>
</body></opml>"#;
        let feeds = parse(doc).unwrap();
        assert_eq!(
            urls(&feeds),
            vec!["https://dup.example/rss", "https://other.example/rss"]
        );
        assert_eq!(feeds[0].title.as_deref(), Some("First"));
        assert_eq!(feeds[0].folders, vec!["One".to_owned()]);
    }
}
