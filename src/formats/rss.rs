//! RSS 2.0 with the `content`, `dc`, `atom` and `media` modules, written and read with the
//! `rss` crate. Where RSS has no element of its own, the FORMATS crosswalk's choice is used:
//! `dc:creator` for authors (RSS `author` demands an e-mail address), `media:content` for the
//! lead image and for attachments past the one `enclosure` RSS allows.

use std::collections::BTreeMap;

use rss::extension::atom::{AtomExtension, Link};
use rss::extension::dublincore::DublinCoreExtension;
use rss::extension::{Extension, ExtensionMap};
use rss::{Category, Channel, Enclosure, Guid, Item};

use super::media::{self, media_bridge};
use super::{FeedDoc, FeedFormat, GENERATOR, NS_ATOM, NS_MEDIA, ParseError, VERSION};
use crate::draft::{DateText, Draft};
use crate::model::{Article, Attachment, Person, Source, StoredArticle};
use crate::text::html_to_text;

media_bridge!(Extension, ExtensionMap, std::convert::identity);

fn escape_html(s: &str) -> String {
    html_escape::encode_text(s).into_owned()
}

/// `description` is HTML in every reader, so plain text is escaped to stay text. An item
/// needs a title or a description: without either, the full HTML stands in. With a title and
/// HTML content but no summary, a plain-text excerpt of the content does (the validator and
/// the RSS Best Practices Profile want a description before `content:encoded`; our reader
/// recognises the excerpt and does not take it for a summary).
fn description(a: &Article) -> Option<String> {
    a.summary
        .as_deref()
        .or(a.content_text.as_deref())
        .map(escape_html)
        .or_else(|| match (&a.title, &a.content_html) {
            (None, html) => html.clone(),
            (Some(_), Some(html)) => Some(escape_html(&super::excerpt(html))),
            (Some(_), None) => None,
        })
}

fn item(s: &StoredArticle, channel_language: Option<&str>) -> Item {
    let a = &s.article;
    let mut item = Item {
        title: a.title.clone(),
        link: a.url.clone(),
        guid: Some(Guid {
            value: a.id.clone(),
            permalink: a.url.as_deref() == Some(a.id.as_str()),
        }),
        pub_date: Some(s.published().to_rfc2822()),
        description: description(a),
        content: a.content_html.clone(),
        categories: a
            .tags
            .iter()
            .map(|t| Category {
                name: t.clone(),
                domain: None,
            })
            .collect(),
        source: a.source.as_ref().map(|src| rss::Source {
            url: src.url.clone(),
            title: Some(super::source_name(src).into_owned()),
        }),
        ..Default::default()
    };
    let names = |people: &[Person]| -> Vec<String> {
        people.iter().filter_map(|p| p.name.clone()).collect()
    };
    let language = a
        .language
        .as_deref()
        .and_then(super::language_tag)
        .filter(|l| Some(l.as_ref()) != channel_language);
    // RSS allows one `<source>` (the origin); every source the story came through is an
    // `atom:link rel="via"` (`dc:source` beside `<source>` draws the validator's warning).
    let via: Vec<Link> = super::listed_sources(a)
        .iter()
        .map(|v| Link {
            href: super::via_href(v).to_owned(),
            rel: "via".into(),
            mime_type: Some("text/html".into()),
            title: Some(super::via_name(v)),
            ..Default::default()
        })
        .collect();
    if !via.is_empty() {
        item.atom_ext = Some(AtomExtension { links: via });
    }
    item.dublin_core_ext = Some(DublinCoreExtension {
        creators: names(&a.authors),
        contributors: names(&a.contributors),
        languages: language.map(|l| l.into_owned()).into_iter().collect(),
        ..Default::default()
    });
    // RSS allows one enclosure, and its URL must be http or https: the first such attachment
    // is the enclosure, every other one a `media:content`.
    let enclosure = a
        .attachments
        .iter()
        .position(|att| att.url.starts_with("http://") || att.url.starts_with("https://"));
    item.enclosure = enclosure.map(|i| &a.attachments[i]).map(|att| Enclosure {
        url: att.url.clone(),
        length: att.size_in_bytes.unwrap_or(0).to_string(),
        mime_type: att.mime_type.clone(),
    });
    let mut els: Vec<media::El> = Vec::new();
    if let Some(image) = &a.image {
        els.push(media::lead_image(image, media::image_mime(&image.url)));
    }
    els.extend(
        a.attachments
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != enclosure)
            .map(|(_, att)| media::attachment(att)),
    );
    if let Some(banner) = &a.banner_image {
        els.push(media::thumbnail(banner));
    }
    push_ext(&mut item.extensions, els);
    if let Some(modified) = a.date_modified {
        let mut updated = Extension {
            name: "atom:updated".into(),
            ..Default::default()
        };
        updated.value = Some(super::date3339(modified));
        item.extensions
            .entry("atom".into())
            .or_default()
            .insert("updated".into(), vec![updated]);
    }
    item
}

pub fn render(doc: &FeedDoc<'_>) -> Vec<u8> {
    let c = doc.channel;
    let namespaces = BTreeMap::from([
        ("atom".to_owned(), NS_ATOM.to_owned()),
        ("media".to_owned(), NS_MEDIA.to_owned()),
    ]);
    let channel_language = c
        .language
        .as_deref()
        .and_then(super::language_tag)
        .map(|l| l.into_owned());
    let channel = Channel {
        title: c.title.clone(),
        link: doc.site_url(),
        description: c.description.clone(),
        language: channel_language.clone(),
        last_build_date: Some(c.updated_at.to_rfc2822()),
        generator: Some(format!("{GENERATOR} {VERSION}")),
        docs: Some("https://www.rssboard.org/rss-specification".into()),
        atom_ext: Some(AtomExtension {
            links: std::iter::once(Link {
                href: doc.self_url(FeedFormat::Rss),
                rel: "self".into(),
                mime_type: Some("application/rss+xml".into()),
                ..Default::default()
            })
            .chain(
                doc.paging(FeedFormat::Rss)
                    .into_iter()
                    .map(|(rel, href)| Link {
                        href,
                        rel: rel.into(),
                        // A hub is no feed: only the page links carry the feed's type.
                        mime_type: (rel != "hub").then(|| "application/rss+xml".into()),
                        ..Default::default()
                    }),
            )
            .collect(),
        }),
        items: doc
            .articles
            .iter()
            .map(|s| item(s, channel_language.as_deref()))
            .collect(),
        namespaces,
        ..Default::default()
    };
    let mut out = Vec::with_capacity(4096 + doc.articles.len() * 8192);
    channel
        .write_to(&mut out)
        .expect("writing to a Vec cannot fail");
    out
}

/// Reads an RSS 2.0 document (0.9x read too, as the crate allows) into drafts.
pub fn parse(body: &[u8]) -> Result<Vec<Draft>, ParseError> {
    let channel = Channel::read_from(body)
        .map_err(|e| ParseError::Malformed(format!("the body is not a readable RSS feed: {e}")))?;
    Ok(channel.items.into_iter().map(draft).collect())
}

fn draft(item: Item) -> Draft {
    let media = read_media(&item.extensions);
    let dc = item.dublin_core_ext.unwrap_or_default();
    let person = |name: String| Person {
        name: Some(name),
        ..Default::default()
    };
    let mut authors: Vec<Person> = dc.creators.into_iter().map(person).collect();
    if authors.is_empty() {
        // RSS `author` is "email (Name)"; keep the name when there is one.
        if let Some(a) = item.author {
            let name = match (a.find('('), a.rfind(')')) {
                (Some(i), Some(j)) if i < j => a[i + 1..j].trim().to_owned(),
                _ => a,
            };
            authors.push(person(name));
        }
    }
    // With `content:encoded` beside it, `description` is a summary, unless it is the excerpt
    // of the content that syndic writes when there is none; alone, it is the content.
    let (summary, content_html) = match (item.content, item.description) {
        (Some(content), desc) => {
            let summary = desc
                .map(|d| html_to_text(&d))
                .filter(|d| *d != super::excerpt(&content));
            (summary, Some(content))
        }
        (None, desc) => (None, desc),
    };
    let mut attachments: Vec<Attachment> = item
        .enclosure
        .map(|e| Attachment {
            url: e.url,
            mime_type: e.mime_type,
            title: None,
            size_in_bytes: e.length.parse().ok().filter(|n| *n > 0),
            duration_in_seconds: None,
        })
        .into_iter()
        .collect();
    attachments.extend(media.attachments);
    let date_published = item
        .pub_date
        .map(DateText::Rfc822)
        .or_else(|| dc.dates.into_iter().next().map(DateText::Rfc3339));
    Draft {
        id: item.guid.map(|g| g.value),
        url: item.link,
        title: item.title,
        summary,
        content_html,
        image: media.image,
        banner_image: media.thumbnail,
        date_published,
        authors,
        contributors: dc.contributors.into_iter().map(person).collect(),
        tags: item.categories.into_iter().map(|c| c.name).collect(),
        language: dc.languages.into_iter().next(),
        attachments,
        source: item.source.map(|s| Source {
            title: s.title,
            url: s.url,
        }),
        ..Default::default()
    }
}
