//! Mapping: Atom 1.0 and 0.3 (renamed to 1.0 by the pre-pass), as `atom_syndication` reads
//! the repaired document, onto drafts.

use super::UpstreamFeed;
use super::fields::{abs, non_empty, plain, update_period};
use super::media::{guess_mime, is_image, read_media};
use super::repair::Prepared;
use crate::ingest::{DateText, Draft};
use crate::model::{Attachment, Image, Person, Source};

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

pub(super) fn from_atom(feed: atom_syndication::Feed, prepared: &Prepared) -> UpstreamFeed {
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::poll::parse::fixtures::{read, s, when};

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
