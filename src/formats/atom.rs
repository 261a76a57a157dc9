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

use super::media::{self, media_bridge};
use super::{FeedDoc, FeedFormat, GENERATOR, NS_MEDIA, ParseError, VERSION, XML_DECL};
use crate::draft::{DateText, Draft};
use crate::model::{Article, Attachment, Person, Source, StoredArticle};
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

/// Reads an Atom 1.0 document into drafts.
pub fn parse(body: &[u8]) -> Result<Vec<Draft>, ParseError> {
    let feed = Feed::read_from(body)
        .map_err(|e| ParseError::Malformed(format!("the body is not a readable Atom feed: {e}")))?;
    Ok(feed.entries.into_iter().map(draft).collect())
}

fn draft(e: Entry) -> Draft {
    let media = read_media(&e.extensions);
    let find = |rel: &str| {
        e.links
            .iter()
            .find(|l| l.rel == rel)
            .map(|l| l.href.clone())
    };
    let image_url = media.image.as_ref().map(|i| i.url.clone());
    let mut attachments: Vec<Attachment> = e
        .links
        .iter()
        .filter(|l| l.rel == "enclosure" && Some(&l.href) != image_url.as_ref())
        .map(|l| Attachment {
            url: l.href.clone(),
            mime_type: l
                .mime_type
                .clone()
                .unwrap_or_else(|| "application/octet-stream".into()),
            title: l.title.clone(),
            size_in_bytes: l.length.as_deref().and_then(|n| n.parse().ok()),
            duration_in_seconds: None,
        })
        .collect();
    attachments.extend(media.attachments);
    let person = |p: AtomPerson| Person {
        name: Some(p.name),
        url: p.uri,
        avatar: None,
    };
    let (content_html, content_text, content_lang) = match e.content {
        Some(c) => {
            let lang = c.lang.clone();
            match c.content_type.as_deref() {
                Some("text") => (None, c.value, lang),
                _ => (c.value, None, lang),
            }
        }
        None => (None, None, None),
    };
    let published = e.published;
    let modified = Some(e.updated).filter(|u| Some(*u) != published);
    let title_lang = e.title.lang.clone();
    let title = text_value(e.title);
    // A summary that repeats the title of an entry without content is the stand-in the writer
    // puts there, not the article's own.
    let summary = e
        .summary
        .map(text_value)
        .filter(|s| content_html.is_some() || content_text.is_some() || *s != title);
    Draft {
        id: Some(e.id),
        url: find("alternate"),
        external_url: find("related"),
        title: Some(title),
        summary,
        content_html,
        content_text,
        image: media.image,
        banner_image: media.thumbnail,
        date_published: published.map(|d| DateText::Rfc3339(super::date3339(d))),
        date_modified: modified.map(|d| DateText::Rfc3339(super::date3339(d))),
        authors: e.authors.into_iter().map(person).collect(),
        contributors: e.contributors.into_iter().map(person).collect(),
        tags: e.categories.into_iter().map(|c| c.term).collect(),
        language: content_lang.or(title_lang),
        attachments,
        source: e.source.map(|s| Source {
            title: Some(text_value(s.title)).filter(|t| !t.is_empty()),
            url: s
                .links
                .iter()
                .find(|l| l.rel == "self")
                .map(|l| l.href.clone())
                .unwrap_or(s.id),
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
}
