//! RSS 2.0 with the `content`, `dc`, `atom` and `media` modules, written and read with the
//! `rss` crate. Where RSS has no element of its own, the FORMATS crosswalk's choice is used:
//! `dc:creator` for authors (RSS `author` demands an e-mail address), `media:content` for the
//! lead image and for attachments past the one `enclosure` RSS allows.

use std::collections::BTreeMap;

use rss::extension::atom::{AtomExtension, Link};
use rss::extension::dublincore::DublinCoreExtension;
use rss::extension::{Extension, ExtensionMap};
use rss::{Category, Channel, Enclosure, Guid, Item};

use std::time::Duration;

use super::fields::{DateKind, Fields, abs, plain};
use super::media::{self, ext_date, guess_mime_or_binary, is_image, media_bridge, read_media};
use super::{FeedDoc, FeedFormat, GENERATOR, NS_ATOM, NS_MEDIA, UpstreamFeed, VERSION};
use crate::draft::Draft;
use crate::model::{Article, Attachment, Image, Person, Source, StoredArticle};
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

/// Reads an RSS document (2.0, 0.9x, 1.0 as the repair pass renames it) that the `rss` crate
/// has read: the channel's hints for the poller, and one draft per item. The one mapping of
/// RSS, for strict and lenient reads alike: [`Fields`] says how each field is taken.
pub(super) fn read(channel: Channel, f: Fields, update: Option<Duration>) -> UpstreamFeed {
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
        update_period: update,
        items: channel.items.into_iter().map(|i| draft(i, f)).collect(),
    }
}

fn draft(item: Item, f: Fields) -> Draft {
    let media = read_media(&item.extensions, f);
    let dc = item.dublin_core_ext.unwrap_or_default();
    let person = |name: &str| {
        f.text(name, true).map(|name| Person {
            name: Some(name),
            ..Default::default()
        })
    };
    let mut authors: Vec<Person> = dc.creators.iter().filter_map(|c| person(c)).collect();
    if authors.is_empty() {
        // RSS `author` is "email (Name)": the name is what a reader shows.
        if let Some(a) = &item.author {
            let name = match (a.find('('), a.rfind(')')) {
                (Some(i), Some(j)) if i < j => a[i + 1..j].trim(),
                _ => a.as_str(),
            };
            authors.extend(person(name));
        }
    }
    // A guid is the item's URL by the RSS spec unless `isPermaLink="false"`: it stands in
    // when the item gives no link.
    let url = item.link.and_then(|l| f.url_owned(l)).or_else(|| {
        item.guid
            .as_ref()
            .filter(|g| g.permalink && g.value.trim().starts_with("http"))
            .and_then(|g| abs(&g.value))
    });
    // With `content:encoded` beside it, `description` is a summary, unless (read strictly:
    // syndic's own feeds) it is the excerpt of the content that syndic writes when there is
    // none; alone, it is the content.
    let (summary, content_html) = match (f.body(item.content), f.body(item.description)) {
        (Some(content), desc) => {
            let summary = match desc {
                Some(d) if f.lenient() => plain(&d, true),
                Some(d) => Some(html_to_text(&d)).filter(|d| *d != super::excerpt(&content)),
                None => None,
            };
            (summary, Some(content))
        }
        (None, desc) => (None, desc),
    };
    let mut image = media.image;
    let mut attachments = Vec::new();
    if let Some(e) = item.enclosure
        && let Some(url) = f.url(&e.url)
    {
        let mime = Some(e.mime_type.trim()).filter(|t| !t.is_empty());
        // Upstreams give their lead image as an enclosure; syndic's own image attachments
        // are enclosures too, and stay attachments when read strictly.
        if f.lenient() && image.is_none() && is_image(mime, None, &url) {
            image = Some(Image {
                url,
                caption: None,
                credit: None,
            });
        } else {
            attachments.push(Attachment {
                mime_type: match mime {
                    Some(m) => m.to_owned(),
                    None if f.lenient() => guess_mime_or_binary(&url),
                    None => e.mime_type,
                },
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
    if image.is_none() && f.lenient() {
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
    Draft {
        id: item.guid.and_then(|g| f.id(g.value)),
        url,
        external_url: atom_links
            .iter()
            .find(|l| l.rel == "related")
            .and_then(|l| f.url(&l.href)),
        title: item.title.as_deref().and_then(|t| f.text(t, true)),
        summary,
        content_html,
        content_text: None,
        image,
        banner_image: media.thumbnail,
        date_published: f
            .date(item.pub_date.as_deref(), DateKind::Rfc822)
            .or_else(|| f.date(dc.dates.first().map(String::as_str), DateKind::Rfc3339)),
        date_modified: ext_date(
            &item.extensions,
            f,
            &[("atom", "updated"), ("dcterms", "modified")],
        ),
        authors,
        contributors: dc.contributors.iter().filter_map(|c| person(c)).collect(),
        tags: item
            .categories
            .iter()
            .filter_map(|c| f.text(&c.name, false))
            .collect(),
        language: dc.languages.first().and_then(|l| f.text(l, false)),
        attachments,
        source: item.source.and_then(|s| {
            Some(Source {
                url: f.url_owned(s.url)?,
                title: s.title.as_deref().and_then(|t| f.text(t, true)),
            })
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::formats::fixtures::{read, s, when};
    use crate::model::{Attachment, Image, Source};

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
}
