//! Atom 1.0 (RFC 4287), written and read with the `atom_syndication` crate. Entry ids must be
//! absolute IRIs: a guid that is not one is published as a `urn:uuid:` derived from it
//! (UUID v5, so the same guid always gives the same id).

use std::collections::BTreeMap;

use chrono::SubsecRound;

use atom_syndication::extension::{Extension, ExtensionMap};
use atom_syndication::{
    Category, Content, Entry, Feed, Generator, Link, Person as AtomPerson, Source as AtomSource,
    Text, WriteConfig,
};

use std::time::Duration;

use super::fields::{Fields, abs, plain};
use super::media::{self, guess_mime_or_binary, is_image, media_bridge, read_media};
use super::{FeedDoc, FeedFormat, GENERATOR, NS_MEDIA, UpstreamFeed, VERSION, XML_DECL};
use crate::draft::{DateText, Draft};
use crate::model::{Article, Attachment, Image, Person, Source, StoredArticle};
use crate::text::html_to_text;

media_bridge!(Extension, ExtensionMap, media::escape_attribute);

/// The namespace syndic derives `urn:uuid:` entry ids in (a fixed, random UUID).
const ID_NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x6f1c_2a4e_93d5_4b7e_8a61_0c2f_5d9e_b347);

/// The ASCII characters an IRI may hold outside its host (RFC 3987; the W3C validator's own
/// list, plus the brackets of an IPv6 host). Anything else (`"`, `<`, `>`, `\`, `^`, `` ` ``,
/// `{`, `|`, `}`, controls, spaces) makes a guid no IRI.
fn iri_char(c: char) -> bool {
    !c.is_ascii() || c.is_ascii_alphanumeric() || ";/?:@&=+$.-_!~*'()%,#[]".contains(c)
}

/// The Atom id for a guid: the guid itself when it is an absolute IRI, else a stable URN. A
/// `urn:uuid:` guid must hold a UUID in its standard form to be kept.
pub fn entry_id(guid: &str) -> String {
    let scheme_ok = guid
        .split_once(':')
        .map(|(scheme, rest)| {
            !rest.is_empty()
                && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        })
        .unwrap_or(false);
    let uuid_ok = match guid.get(..9) {
        Some(prefix) if prefix.eq_ignore_ascii_case("urn:uuid:") => {
            let rest = &guid[9..];
            rest.len() == 36 && uuid::Uuid::try_parse(rest).is_ok()
        }
        _ => true,
    };
    if scheme_ok && uuid_ok && guid.chars().all(iri_char) {
        guid.to_owned()
    } else {
        format!(
            "urn:uuid:{}",
            uuid::Uuid::new_v5(&ID_NAMESPACE, guid.as_bytes())
        )
    }
}

fn person(p: &Person) -> Option<AtomPerson> {
    Some(AtomPerson {
        name: p.name.clone()?,
        uri: p.url.clone(),
        ..Default::default()
    })
}

/// A text construct for plain text: `type="text"`, or `type="html"` with the text escaped
/// when it looks like markup (`History of the <blink> tag`), which readers then show as the
/// same text and validators do not take for undeclared HTML.
fn text(value: &str, lang: Option<&str>) -> Text {
    let mut t = if super::looks_like_markup(value) {
        Text::html(html_escape::encode_text(value))
    } else {
        Text::plain(value)
    };
    t.lang = lang.map(str::to_owned);
    t
}

/// The plain text a text construct holds: `type="html"` read as HTML (entities decoded
/// exactly when it holds no tag, as [`text`] writes it), anything else as it is.
fn text_value(t: Text) -> String {
    match t.r#type {
        atom_syndication::TextType::Html if !t.value.contains('<') => {
            html_escape::decode_html_entities(&t.value).into_owned()
        }
        atom_syndication::TextType::Html => html_to_text(&t.value),
        _ => t.value,
    }
}

fn link(rel: &str, href: &str, mime: Option<&str>) -> Link {
    Link {
        href: href.to_owned(),
        rel: rel.to_owned(),
        mime_type: mime.map(str::to_owned),
        ..Default::default()
    }
}

/// Atom wants a title that is not blank (RFC 4287 allows it, the validator warns and readers
/// show nothing): an untitled article gets the start of its text, else its URL, else
/// "Untitled".
fn entry_title(a: &Article) -> String {
    if let Some(t) = &a.title {
        return t.clone();
    }
    let text = match (&a.summary, &a.content_text, &a.content_html) {
        (Some(s), _, _) | (None, Some(s), _) => s.clone(),
        (None, None, Some(h)) => html_to_text(h),
        (None, None, None) => String::new(),
    };
    let title = super::clip(&text, 80);
    if !title.is_empty() {
        return title;
    }
    a.url.clone().unwrap_or_else(|| "Untitled".to_owned())
}

fn entry(s: &StoredArticle) -> Entry {
    let a = &s.article;
    // The crate has no xml:lang on <entry>; the article's language goes on its texts instead.
    let lang = a.language.as_deref().and_then(super::language_tag);
    let lang = lang.as_deref();
    let mut links = Vec::new();
    if let Some(url) = &a.url {
        links.push(link("alternate", url, Some("text/html")));
    }
    if let Some(url) = &a.external_url {
        links.push(link("related", url, None));
    }
    if let Some(image) = &a.image {
        links.push(link("enclosure", &image.url, media::image_mime(&image.url)));
    }
    for att in &a.attachments {
        links.push(Link {
            title: att.title.clone(),
            length: att.size_in_bytes.map(|n| n.to_string()),
            ..link("enclosure", &att.url, Some(&att.mime_type))
        });
    }
    // The one `source` is the origin; every source the story came through is a `via` link.
    for v in super::listed_sources(a) {
        links.push(Link {
            title: Some(super::via_name(v)),
            ..link("via", super::via_href(v), Some("text/html"))
        });
    }
    let content = match (&a.content_html, &a.content_text) {
        (Some(html), _) => Some(Content {
            value: Some(html.clone()),
            content_type: Some("html".into()),
            lang: lang.map(str::to_owned),
            ..Default::default()
        }),
        // Plain text goes out as escaped HTML: RFC 4287 allows both, and readers such as
        // newsboat render every content as HTML, losing `<…>` and `&` from type="text".
        (None, Some(txt)) => Some(Content {
            value: Some(html_escape::encode_text(txt).into_owned()),
            content_type: Some("html".into()),
            lang: lang.map(str::to_owned),
            ..Default::default()
        }),
        // RFC 4287: an entry with no content needs an alternate link; without a URL either,
        // its summary or title stands in as text content.
        (None, None) if a.url.is_none() => Some(Content {
            value: a
                .summary
                .as_deref()
                .or(a.title.as_deref())
                .map(|t| html_escape::encode_text(t).into_owned()),
            content_type: Some("html".into()),
            lang: lang.map(str::to_owned),
            ..Default::default()
        }),
        (None, None) => None,
    };
    let mut extensions = ExtensionMap::new();
    let mut els = Vec::new();
    if let Some(image) = &a.image {
        els.push(media::lead_image(image, media::image_mime(&image.url)));
    }
    if let Some(banner) = &a.banner_image {
        els.push(media::thumbnail(banner));
    }
    push_ext(&mut extensions, els);
    Entry {
        id: entry_id(&a.id),
        title: text(&entry_title(a), lang),
        updated: s.updated(),
        published: Some(s.published()),
        authors: a.authors.iter().filter_map(person).collect(),
        contributors: a.contributors.iter().filter_map(person).collect(),
        categories: a
            .tags
            .iter()
            .map(|t| Category {
                term: t.clone(),
                ..Default::default()
            })
            .collect(),
        links,
        // Without content or summary an entry has no textual content: its title stands in as
        // the summary (the validator warns; our reader drops a summary equal to the title).
        summary: a
            .summary
            .as_deref()
            .or_else(|| content.is_none().then_some(a.title.as_deref()).flatten())
            .map(|v| text(v, lang)),
        content,
        source: a.source.as_ref().map(|src| AtomSource {
            title: text(&super::source_name(src), None),
            id: src.url.clone(),
            updated: s.updated(),
            links: vec![link("self", &src.url, None)],
            ..Default::default()
        }),
        extensions,
        ..Default::default()
    }
}

pub fn render(doc: &FeedDoc<'_>) -> Vec<u8> {
    let c = doc.channel;
    let self_url = doc.self_url(FeedFormat::Atom);
    let entries: Vec<Entry> = doc.articles.iter().map(entry).collect();
    // RFC 4287: every entry needs an author, its own or the feed's.
    let authors = if entries.iter().any(|e| e.authors.is_empty()) {
        vec![AtomPerson {
            name: c.title.clone(),
            uri: c.link.clone(),
            ..Default::default()
        }]
    } else {
        Vec::new()
    };
    let feed = Feed {
        title: text(&c.title, None),
        // Every page of a paged feed is the same feed: one id for all (RFC 5005).
        id: doc.first_url(FeedFormat::Atom),
        updated: c.updated_at.trunc_subsecs(0).fixed_offset(),
        authors,
        generator: Some(Generator {
            value: GENERATOR.into(),
            uri: None,
            version: Some(VERSION.into()),
        }),
        links: [
            link("self", &self_url, Some("application/atom+xml")),
            link("alternate", &doc.site_url(), Some("text/html")),
        ]
        .into_iter()
        .chain(doc.paging(FeedFormat::Atom).iter().map(|(rel, href)| {
            // A hub is no feed: only the page links carry the feed's type.
            link(rel, href, (*rel != "hub").then_some("application/atom+xml"))
        }))
        .collect(),
        subtitle: (!c.description.is_empty()).then(|| text(&c.description, None)),
        entries,
        namespaces: BTreeMap::from([("media".to_owned(), NS_MEDIA.to_owned())]),
        lang: c
            .language
            .as_deref()
            .and_then(super::language_tag)
            .map(|l| l.into_owned()),
        ..Default::default()
    };
    let mut out = Vec::with_capacity(4096 + doc.articles.len() * 8192);
    out.extend_from_slice(XML_DECL.as_bytes());
    out.push(b'\n');
    let config = WriteConfig {
        write_document_declaration: false,
        indent_size: None,
    };
    feed.write_with_config(&mut out, config)
        .expect("writing to a Vec cannot fail");
    out
}

fn atom_person(p: &AtomPerson, f: Fields) -> Option<Person> {
    let p = Person {
        name: f.text(&p.name, false),
        url: p.uri.as_deref().and_then(|u| f.url(u)),
        avatar: None,
    };
    (p != Person::default()).then_some(p)
}

/// A text construct's plain text: strictly, as [`text_value`] reads what syndic writes;
/// leniently, markup stripped from `html` and `xhtml` and white space collapsed.
fn text_of(t: &Text, f: Fields) -> Option<String> {
    if f.lenient() {
        plain(&t.value, t.r#type != atom_syndication::TextType::Text)
    } else {
        Some(text_value(t.clone()))
    }
}

/// The link a reader follows: `alternate` (the default rel), HTML preferred.
fn alternate(links: &[Link], f: Fields) -> Option<String> {
    let alts = || {
        links
            .iter()
            .filter(|l| l.rel.is_empty() || l.rel == "alternate")
    };
    alts()
        .find(|l| l.mime_type.as_deref().is_none_or(|t| t.contains("html")))
        .or_else(|| alts().next())
        .and_then(|l| f.url(&l.href))
}

/// Reads an Atom document (1.0, or 0.3 as the repair pass renames it) that the
/// `atom_syndication` crate has read: the feed's hints for the poller, and one draft per
/// entry. The one mapping of Atom, for strict and lenient reads alike.
pub(super) fn read(feed: Feed, f: Fields, update: Option<Duration>) -> UpstreamFeed {
    let link_rel = |rel: &str| {
        feed.links
            .iter()
            .find(|l| l.rel == rel)
            .and_then(|l| abs(&l.href))
    };
    let feed_authors: Vec<Person> = feed
        .authors
        .iter()
        .filter_map(|p| atom_person(p, f))
        .collect();
    UpstreamFeed {
        title: plain(
            &feed.title.value,
            feed.title.r#type != atom_syndication::TextType::Text,
        ),
        site_url: alternate(&feed.links, Fields::LENIENT),
        hub: link_rel("hub"),
        self_url: link_rel("self"),
        ttl: None,
        update_period: update,
        items: feed
            .entries
            .iter()
            .map(|e| draft(e, f, &feed_authors))
            .collect(),
    }
}

fn draft(e: &Entry, f: Fields, feed_authors: &[Person]) -> Draft {
    let media = read_media(&e.extensions, f);
    let mut image = media.image;
    let image_url = image.as_ref().map(|i| i.url.clone());
    let mut attachments = Vec::new();
    for l in e.links.iter().filter(|l| l.rel == "enclosure") {
        let Some(url) = f.url(&l.href) else { continue };
        let mime = l
            .mime_type
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty());
        // Upstreams give their lead image as an enclosure; syndic writes its own lead image
        // both as an enclosure and as `media:content`, and image attachments as enclosures.
        if f.lenient() && is_image(mime, None, &url) {
            if image.is_none() {
                image = Some(Image {
                    url,
                    caption: None,
                    credit: None,
                });
            }
            continue;
        }
        if Some(&url) == image_url.as_ref() {
            continue;
        }
        attachments.push(Attachment {
            mime_type: mime.map_or_else(|| guess_mime_or_binary(&url), str::to_owned),
            title: l.title.as_deref().and_then(|t| f.text(t, false)),
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
    if image.is_none() && f.lenient() {
        image = media.thumbnail.clone().map(|url| Image {
            url,
            caption: None,
            credit: None,
        });
    }
    // RFC 4287: absent type means text; html and xhtml are markup; content elsewhere (`src`)
    // or of another media type is not shown. A client of the API who leaves the type out
    // means HTML (and gets it sanitized): a strict read takes it so.
    let untyped = if f.lenient() { "text" } else { "html" };
    let (content_html, content_text, content_lang) = match &e.content {
        Some(c) if c.src.is_none() => {
            let value = f.body(c.value.clone());
            match c.content_type.as_deref().unwrap_or(untyped) {
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
    let mut authors: Vec<Person> = e.authors.iter().filter_map(|p| atom_person(p, f)).collect();
    if authors.is_empty()
        && let Some(s) = &e.source
    {
        authors.extend(s.authors.iter().filter_map(|p| atom_person(p, f)));
    }
    if authors.is_empty() {
        // RFC 4287 4.2.1: an entry without an author has the feed's.
        authors = feed_authors.to_vec();
    }
    let title = text_of(&e.title, f);
    // A summary that repeats the title of an entry without content is the stand-in the
    // writer puts there, not the article's own.
    let summary =
        e.summary.as_ref().and_then(|s| text_of(s, f)).filter(|s| {
            content_html.is_some() || content_text.is_some() || Some(s) != title.as_ref()
        });
    // An upstream entry without a link whose id is an http(s) URL is at that URL.
    let url = alternate(&e.links, f).or_else(|| {
        let id = e.id.trim();
        (f.lenient() && (id.starts_with("http://") || id.starts_with("https://")))
            .then(|| abs(id))
            .flatten()
    });
    Draft {
        id: f.id(e.id.clone()),
        url,
        external_url: e
            .links
            .iter()
            .find(|l| l.rel == "related")
            .and_then(|l| f.url(&l.href)),
        title,
        summary,
        content_html,
        content_text,
        image,
        banner_image: media.thumbnail,
        date_published: published.map(DateText::Parsed),
        date_modified: modified.map(DateText::Parsed),
        authors,
        contributors: e
            .contributors
            .iter()
            .filter_map(|p| atom_person(p, f))
            .collect(),
        tags: e
            .categories
            .iter()
            .filter_map(|c| f.text(&c.term, false))
            .collect(),
        language: content_lang
            .or_else(|| e.title.lang.clone())
            .and_then(|l| f.text(&l, false)),
        attachments,
        source: e.source.as_ref().and_then(|s| {
            let url = s
                .links
                .iter()
                .find(|l| l.rel == "self")
                .and_then(|l| f.url(&l.href))
                .or_else(|| alternate(&s.links, f))
                .or_else(|| f.url(&s.id))?;
            Some(Source {
                title: text_of(&s.title, f).filter(|t| !t.is_empty()),
                url,
            })
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::entry_id;

    #[test]
    fn ids_are_iris() {
        assert_eq!(entry_id("https://example.org/a"), "https://example.org/a");
        assert_eq!(entry_id("tag:example.org,2025:1"), "tag:example.org,2025:1");
        let id = entry_id("12345");
        assert!(id.starts_with("urn:uuid:"), "{id}");
        assert_eq!(id, entry_id("12345"));
        assert_ne!(id, entry_id("12346"));
        // Not an IRI after all: a broken UUID URN, characters no IRI holds.
        for guid in [
            "urn:uuid:988EF5C55CDEA24EDE1251744888912",
            "https://x.example/a|b",
            "https://x.example/\"q\"<>",
        ] {
            assert!(entry_id(guid).starts_with("urn:uuid:"), "{guid}");
            assert_ne!(entry_id(guid), guid);
        }
        let uuid = "urn:uuid:6f1c2a4e-93d5-4b7e-8a61-0c2f5d9eb347";
        assert_eq!(entry_id(uuid), uuid);
    }

    #[test]
    fn text_that_looks_like_html_is_declared_html_and_reads_back_the_same() {
        for value in ["Example <b>Atom</b> &amp; co", "Café & co <ok>"] {
            let t = super::text(value, None);
            let html = value.contains("</b>");
            assert_eq!(
                t.r#type == atom_syndication::TextType::Html,
                html,
                "{value}"
            );
            assert_eq!(super::text_value(t), value);
        }
    }

    mod lenient {
        use std::time::Duration;

        use crate::formats::fixtures::{read, s, when};

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
    }
}
