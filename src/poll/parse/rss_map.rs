//! Mapping: RSS 0.9x, 1.0 and 2.0, as the `rss` crate reads the repaired document, onto
//! drafts.

use std::time::Duration;

use super::UpstreamFeed;
use super::fields::{abs, date, non_empty, plain, update_period};
use super::media::{ext_text, guess_mime, is_image, read_media};
use super::repair::Prepared;
use crate::ingest::Draft;
use crate::model::{Attachment, Image, Person, Source};

pub(super) fn from_rss(channel: rss::Channel, prepared: &Prepared) -> UpstreamFeed {
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
        update_period: update_period(
            prepared.update_period.as_deref(),
            prepared.update_frequency.as_deref(),
        ),
        items: channel.items.into_iter().map(rss_item).collect(),
    }
}

fn rss_item(item: rss::Item) -> Draft {
    let media = read_media(&item.extensions);
    let dc = item.dublin_core_ext.unwrap_or_default();
    let person = |name: &str| {
        plain(name, true).map(|name| Person {
            name: Some(name),
            ..Default::default()
        })
    };
    let mut authors: Vec<Person> = dc.creators.iter().filter_map(|c| person(c)).collect();
    if authors.is_empty() {
        // RSS `author` is "email (Name)": the name is what a reader shows.
        if let Some(a) = &item.author {
            let name = match (a.find('('), a.rfind(')')) {
                (Some(i), Some(j)) if i < j => &a[i + 1..j],
                _ => a.as_str(),
            };
            authors.extend(person(name));
        }
    }
    let guid = item.guid.as_ref().map(|g| g.value.trim().to_owned());
    // A permalink guid is the item's URL when the item gives no link.
    let url = item.link.as_deref().and_then(abs).or_else(|| {
        item.guid
            .as_ref()
            .filter(|g| g.permalink && g.value.trim().starts_with("http"))
            .and_then(|g| abs(&g.value))
    });
    let (summary, content_html) = match (non_empty(item.content), non_empty(item.description)) {
        (Some(content), desc) => (desc.and_then(|d| plain(&d, true)), Some(content)),
        (None, desc) => (None, desc),
    };
    let mut image = media.image;
    let mut attachments = Vec::new();
    if let Some(e) = &item.enclosure
        && let Some(url) = abs(&e.url)
    {
        let mime = Some(e.mime_type.trim()).filter(|t| !t.is_empty());
        if image.is_none() && is_image(mime, None, &url) {
            image = Some(Image {
                url,
                caption: None,
                credit: None,
            });
        } else {
            attachments.push(Attachment {
                mime_type: mime.map_or_else(|| guess_mime(&url), str::to_owned),
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
    if image.is_none() {
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
    let modified = ext_text(&item.extensions, "atom", "updated")
        .or_else(|| ext_text(&item.extensions, "dcterms", "modified"));
    Draft {
        id: guid.filter(|g| !g.is_empty()),
        url,
        external_url: atom_links
            .iter()
            .find(|l| l.rel == "related")
            .and_then(|l| abs(&l.href)),
        title: item.title.as_deref().and_then(|t| plain(t, true)),
        summary,
        content_html,
        content_text: None,
        image,
        banner_image: media.thumbnail,
        date_published: date(item.pub_date.as_deref())
            .or_else(|| date(dc.dates.first().map(String::as_str))),
        date_modified: date(modified),
        authors,
        contributors: dc.contributors.iter().filter_map(|c| person(c)).collect(),
        tags: item
            .categories
            .iter()
            .filter_map(|c| plain(&c.name, false))
            .collect(),
        language: dc.languages.first().and_then(|l| plain(l, false)),
        attachments,
        source: item.source.and_then(|s| {
            Some(Source {
                url: abs(&s.url)?,
                title: s.title.as_deref().and_then(|t| plain(t, true)),
            })
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::model::{Attachment, Image, Source};
    use crate::poll::parse::fixtures::{read, s, when};

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
