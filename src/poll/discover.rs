//! Feed autodiscovery. People paste the address of a site rather than of its feed; when what
//! comes back is an HTML page, the feeds it advertises with `<link rel="alternate">` are found
//! here so that one of them can be followed instead.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashSet;

use encoding_rs::{Encoding, UTF_8};
use lol_html::{RewriteStrSettings, element, rewrite_str};
use url::Url;

use crate::boundary::{ParserPanic, contain};
use crate::formats::InputKind;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedKind {
    /// RSS 2.0, and RSS 1.0 (RDF).
    Rss,
    Atom,
    Json,
}

/// A feed a page advertises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovered {
    pub url: String,
    pub title: Option<String>,
    pub kind: FeedKind,
}

/// A feed link as written, before `<base>` is known: it may come after the links it governs.
struct Found {
    href: String,
    title: Option<String>,
    kind: FeedKind,
}

/// Feeds a page advertises with `<link rel="alternate" type=...>`, in document order, URLs
/// absolute (honouring `<base href>`), duplicates removed. Links in `<body>` count too: some
/// pages put them there. An error when the HTML parser fails on the page (it runs behind the
/// parser boundary).
pub fn discover(html: &str, page_url: &Url) -> Result<Vec<Discovered>, ParserPanic> {
    let base = RefCell::new(None::<String>);
    let found = RefCell::new(Vec::new());
    let settings = RewriteStrSettings::new()
        .append_element_content_handler(element!("base[href]", |el| {
            // Only the first <base> with an href counts, as in browsers.
            let mut base = base.borrow_mut();
            if base.is_none() {
                *base = el
                    .get_attribute("href")
                    .map(|h| decode(&h).trim().to_owned());
            }
            Ok(())
        }))
        .append_element_content_handler(element!("link[href][type]", |el| {
            let attr = |name: &str| el.get_attribute(name).map(|v| decode(&v).trim().to_owned());
            if let Some(f) = feed_link(attr("rel"), attr("type"), attr("href"), attr("title")) {
                found.borrow_mut().push(f);
            }
            Ok(())
        }));
    // lol_html fails only on its memory limits; the links read before that still stand. A
    // panic refuses the page.
    let _ = contain("HTML parser", || rewrite_str(html, settings))?;

    let base = base
        .into_inner()
        .and_then(|b| page_url.join(&b).ok())
        .unwrap_or_else(|| page_url.clone());
    let mut seen = HashSet::new();
    Ok(found
        .into_inner()
        .into_iter()
        .filter_map(|f| {
            let url = base.join(&f.href).ok()?;
            // Nothing but HTTP can be polled; a `javascript:` or `data:` link is no feed.
            if !matches!(url.scheme(), "http" | "https") || !seen.insert(url.clone()) {
                return None;
            }
            Some(Discovered {
                url: url.into(),
                title: f.title,
                kind: f.kind,
            })
        })
        .collect())
}

/// `get_attribute` gives values as written, entities and all.
fn decode(raw: &str) -> Cow<'_, str> {
    html_escape::decode_html_entities(raw)
}

fn feed_link(
    rel: Option<String>,
    mime: Option<String>,
    href: Option<String>,
    title: Option<String>,
) -> Option<Found> {
    let rel = rel?.to_ascii_lowercase();
    let alternate = rel.split_ascii_whitespace().any(|t| t == "alternate");
    // HTML also defines rel="feed"; it is rare, but means the same.
    if !alternate && !rel.split_ascii_whitespace().any(|t| t == "feed") {
        return None;
    }
    let href = href.filter(|h| !h.is_empty())?;
    let title = title.filter(|t| !t.is_empty());
    let kind = match essence(&mime?).as_str() {
        "application/rss+xml" | "application/rdf+xml" => FeedKind::Rss,
        "application/atom+xml" => FeedKind::Atom,
        "application/feed+json" => FeedKind::Json,
        "application/json" if alternate && looks_like_feed(&href, title.as_deref()) => {
            FeedKind::Json
        }
        _ => return None,
    };
    Some(Found { href, title, kind })
}

/// A MIME type without its parameters, lowercased.
fn essence(mime: &str) -> String {
    mime.split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// `application/json` is also what WordPress advertises its REST API with on every page
/// (`/wp-json/wp/v2/pages/2`), so a JSON link counts only when its address or title says feed.
fn looks_like_feed(href: &str, title: Option<&str>) -> bool {
    let path = href
        .split(['?', '#'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    if path.contains("/wp-json/") {
        return false;
    }
    // The last two segments, so that both `/feed.json` and `/feed/json` count.
    let in_path = path
        .rsplit('/')
        .filter(|s| !s.is_empty())
        .take(2)
        .any(|s| s.contains("feed"));
    in_path || title.is_some_and(|t| t.to_lowercase().contains("feed"))
}

/// True when a fetched body is an HTML page rather than a feed: by Content-Type, then by
/// sniffing the start of the body.
pub fn is_html(body: &[u8], content_type: Option<&str>) -> bool {
    match content_type.map(essence).as_deref() {
        // Feeds served as text/html are common enough that the label alone is not believed.
        Some("text/html" | "application/xhtml+xml") => InputKind::sniff(body).is_none(),
        Some(
            "application/rss+xml"
            | "application/atom+xml"
            | "application/feed+json"
            | "application/rdf+xml",
        ) => false,
        // Missing, generic (text/xml, application/octet-stream, text/plain) or anything else.
        _ => sniffs_as_html(body),
    }
}

/// The elements the WHATWG MIME sniffing algorithm takes to start an HTML document, plus
/// `meta` and `link`, which head-first pages without a doctype open with.
const HTML_STARTS: &[&str] = &[
    "html", "head", "body", "script", "iframe", "h1", "div", "font", "table", "a", "style",
    "title", "b", "br", "p", "meta", "link",
];

/// Looks at the first thing in the body that is not a BOM, whitespace, a comment or a
/// processing instruction (XHTML starts with an XML declaration).
fn sniffs_as_html(body: &[u8]) -> bool {
    let (encoding, bom) = Encoding::for_bom(body).unwrap_or((UTF_8, 0));
    let head = &body[bom..body.len().min(bom + 4096)];
    let (text, _) = encoding.decode_without_bom_handling(head);
    let mut rest = text.trim_start();
    loop {
        let skipped = if let Some(r) = rest.strip_prefix("<!--") {
            r.split_once("-->")
        } else if let Some(r) = rest.strip_prefix("<?") {
            r.split_once("?>")
        } else {
            break;
        };
        match skipped {
            Some((_, after)) => rest = after.trim_start(),
            None => return false,
        }
    }
    let Some(tag) = rest.strip_prefix('<') else {
        return false;
    };
    let name: String = tag
        .chars()
        .take_while(|c| !c.is_whitespace() && !matches!(c, '>' | '/'))
        .collect::<String>()
        .to_ascii_lowercase();
    if name == "!doctype" {
        let doctype = &tag[name.len()..];
        return doctype
            .trim_start()
            .to_ascii_lowercase()
            .starts_with("html");
    }
    HTML_STARTS.contains(&name.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(url: &str) -> Url {
        Url::parse(url).unwrap()
    }

    fn discover_ok(html: &str, page_url: &Url) -> Vec<Discovered> {
        discover(html, page_url).expect("the HTML parser reads this page")
    }

    /// A page found by fuzzing on which lol_html 3.0.3 panics ("Tag should be a start tag at
    /// this point"): the page is refused, and nothing else happens.
    #[test]
    fn a_page_the_html_parser_panics_on_is_refused() {
        for name in [
            "discover-lol_html-panic.bin",
            "discover-lol_html-panic.min.bin",
        ] {
            let path = format!(
                "{}/tests/fixtures/fuzz-regressions/{name}",
                env!("CARGO_MANIFEST_DIR")
            );
            let page_bytes = std::fs::read(&path).unwrap();
            let html = String::from_utf8_lossy(&page_bytes);
            let e = discover(&html, &page("https://blog.example/")).unwrap_err();
            assert_eq!(e.parser, "HTML parser", "{name}");
            assert!(e.message.contains("start tag"), "{name}: {}", e.message);
        }
    }

    fn found(url: &str, title: Option<&str>, kind: FeedKind) -> Discovered {
        Discovered {
            url: url.into(),
            title: title.map(str::to_owned),
            kind,
        }
    }

    #[test]
    fn wordpress_head() {
        let html = include_str!("../../tests/fixtures/discover/wordpress.html");
        let got = discover_ok(html, &page("https://blog.example.org/2025/09/hello-world/"));
        assert_eq!(
            got,
            vec![
                found(
                    "https://blog.example.org/feed/",
                    Some("Example Blog » Feed"),
                    FeedKind::Rss
                ),
                found(
                    "https://blog.example.org/comments/feed/",
                    Some("Example Blog » Comments Feed"),
                    FeedKind::Rss
                ),
                found(
                    "https://blog.example.org/2025/09/hello-world/feed/",
                    Some("Example Blog » Hello world! Comments Feed"),
                    FeedKind::Rss
                ),
                found(
                    "https://blog.example.org/feed/json/",
                    Some("Example Blog » JSON Feed"),
                    FeedKind::Json
                ),
            ]
        );
    }

    #[test]
    fn ghost_page_with_atom_in_body() {
        let html = include_str!("../../tests/fixtures/discover/ghost.html");
        let got = discover_ok(html, &page("https://notes.example.com/"));
        assert_eq!(
            got,
            vec![
                found(
                    "https://notes.example.com/atom/",
                    Some("Field Notes"),
                    FeedKind::Atom
                ),
                found("https://notes.example.com/feed.json", None, FeedKind::Json),
                found(
                    "https://notes.example.com/tag/rust/rss/",
                    Some("Field Notes — Rust"),
                    FeedKind::Rss
                ),
            ]
        );
    }

    #[test]
    fn relative_hrefs_with_base() {
        let html = r#"<!doctype html><html><head>
<link rel="alternate" type="application/rss+xml" href="feed.xml" title="before base">
<base href="/blog/2025/">
<base href="https://ignored.example/">
<link rel="alternate" type="application/atom+xml" href="../atom.xml">
<link rel="alternate" type="application/rdf+xml" href="//cdn.example.net/index.rdf">
<link rel="alternate" type="application/feed+json" href="/feed.json?v=1&amp;lang=en">
<link rel="alternate" type="application/rss+xml" href="https://elsewhere.example/rss">
</head><body></body></html>"#;
        let got = discover_ok(html, &page("https://www.example.com/p/123?utm=x"));
        let urls: Vec<&str> = got.iter().map(|d| d.url.as_str()).collect();
        assert_eq!(
            urls,
            vec![
                "https://www.example.com/blog/2025/feed.xml",
                "https://www.example.com/blog/atom.xml",
                "https://cdn.example.net/index.rdf",
                "https://www.example.com/feed.json?v=1&lang=en",
                "https://elsewhere.example/rss",
            ]
        );
        assert_eq!(got[2].kind, FeedKind::Rss);
    }

    #[test]
    fn uppercase_attributes_and_quote_styles() {
        let html = r#"<HTML><HEAD>
<LINK REL="Alternate" TYPE="Application/RSS+XML; charset=UTF-8" HREF='/rss?a=1&amp;b=2' TITLE=News>
<Link Rel='ALTERNATE FEED' Type='application/atom+xml' Href=/atom Title='Caf&eacute; &amp; Co'>
<link rel="feed" type="application/atom+xml" href="/only-feed-rel.xml">
<link rel=alternate type=application/json href=/wp-json/wp/v2/pages/2>
<link rel="alternate" type="application/json" title="JSON Feed" href="/everything.json">
</HEAD></HTML>"#;
        let got = discover_ok(html, &page("http://example.com/index.html"));
        assert_eq!(
            got,
            vec![
                found(
                    "http://example.com/rss?a=1&b=2",
                    Some("News"),
                    FeedKind::Rss
                ),
                found("http://example.com/atom", Some("Café & Co"), FeedKind::Atom),
                found("http://example.com/only-feed-rel.xml", None, FeedKind::Atom),
                found(
                    "http://example.com/everything.json",
                    Some("JSON Feed"),
                    FeedKind::Json
                ),
            ]
        );
    }

    #[test]
    fn duplicates_removed_first_wins() {
        let html = r#"<head>
<link rel="alternate" type="application/rss+xml" title="First" href="https://Example.com/rss">
<link rel="alternate" type="application/rss+xml" title="Again" href="/rss">
<link rel="alternate" type="application/atom+xml" title="Same URL, other type" href="https://example.com:443/rss">
<link rel="alternate" type="application/atom+xml" title="Atom" href="/atom">
</head><body><link rel="alternate" type="application/atom+xml" href="/atom"></body>"#;
        let got = discover_ok(html, &page("https://example.com/"));
        assert_eq!(
            got,
            vec![
                found("https://example.com/rss", Some("First"), FeedKind::Rss),
                found("https://example.com/atom", Some("Atom"), FeedKind::Atom),
            ]
        );
    }

    #[test]
    fn no_feeds() {
        let html = r#"<!DOCTYPE html><html lang="en"><head>
<meta charset="utf-8"><title>Plain page</title>
<link rel="stylesheet" href="/style.css" type="text/css">
<link rel="alternate stylesheet" href="/dark.css" type="text/css" title="Dark">
<link rel="alternate" hreflang="fr" type="text/html" href="https://example.com/fr/">
<link rel="alternate" hreflang="de" href="https://example.com/de/">
<link rel="alternate" type="application/json+oembed" href="/oembed?url=x">
<link rel="alternate" type="application/rss+xml" href="">
<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
<link rel="icon" type="image/png" href="/favicon.png">
<link type="application/rss+xml" href="/no-rel.xml">
</head><body><a href="/feed.xml" type="application/rss+xml" rel="alternate">RSS</a></body></html>"#;
        assert_eq!(discover_ok(html, &page("https://example.com/")), vec![]);
        assert_eq!(discover_ok("", &page("https://example.com/")), vec![]);
    }

    #[test]
    fn is_html_by_content_type_and_sniffing() {
        let html = b"<!DOCTYPE html>\n<html><head><title>x</title></head></html>";
        let bom_comment = b"\xEF\xBB\xBF\n<!-- generated -->\n<html lang=\"en\">";
        let xhtml = br#"<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">
<html xmlns="http://www.w3.org/1999/xhtml"><head><title>x</title></head></html>"#;
        let fragment = b"  <head><meta charset=utf-8><title>No doctype</title>";
        let rss = br#"<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel/></rss>"#;
        let atom =
            br#"<?xml version="1.0"?><!-- hi --><feed xmlns="http://www.w3.org/2005/Atom"/>"#;
        let json = br#"{"version":"https://jsonfeed.org/version/1.1","title":"x","items":[]}"#;

        for (body, ct, want) in [
            (&html[..], Some("text/html; charset=UTF-8"), true),
            (&html[..], None, true),
            (&html[..], Some("application/octet-stream"), true),
            (&bom_comment[..], None, true),
            (&xhtml[..], None, true),
            (&xhtml[..], Some("application/xhtml+xml"), true),
            (&fragment[..], Some("text/plain"), true),
            (&rss[..], Some("application/rss+xml"), false),
            (&rss[..], None, false),
            (&rss[..], Some("text/xml"), false),
            // Mislabelled feeds are still feeds.
            (&rss[..], Some("TEXT/HTML"), false),
            (&atom[..], None, false),
            (&atom[..], Some("text/html"), false),
            (&json[..], Some("application/feed+json"), false),
            (&json[..], Some("application/json"), false),
            (&json[..], None, false),
            (&json[..], Some("text/html"), false),
            (&b"just some text"[..], None, false),
            (&b""[..], None, false),
        ] {
            assert_eq!(
                is_html(body, ct),
                want,
                "{ct:?} {:?}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
