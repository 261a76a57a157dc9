//! JSON Feed 1.0 and 1.1: maps one to one onto drafts, read straight from `serde_json`
//! values so that no single mistake in a feed costs more than its field.

use serde_json::Value;
use url::Url;

use super::UpstreamFeed;
use super::fields::{date, non_empty, plain, resolve_url};
use super::media::guess_mime;
use crate::formats::ParseError;
use crate::ingest::Draft;
use crate::ingest::normalize::absolutize_html;
use crate::model::{Attachment, Image, Person, Source};

pub(super) fn json_feed(text: &str, feed_url: &Url) -> Result<UpstreamFeed, ParseError> {
    // Lone surrogate escapes are legal JSON that no Rust string can hold: drop them first.
    let text = crate::formats::jsonfeed::drop_lone_surrogates(text);
    let value: Value = serde_json::from_str(&text).map_err(|e| {
        ParseError::Malformed(format!("the document is not a feed: invalid JSON ({e})"))
    })?;
    let is_feed = value
        .get("version")
        .and_then(Value::as_str)
        .is_some_and(|v| v.contains("jsonfeed.org/version/"))
        || value.get("items").is_some_and(Value::is_array);
    if !is_feed {
        return Err(ParseError::Malformed(
            "the document is not a feed: JSON without a JSON Feed version or items".into(),
        ));
    }
    let url_at = |v: &Value, key: &str| str_at(v, key).and_then(|u| resolve_url(&u, feed_url));
    let feed_authors = json_authors(&value, feed_url);
    let feed_language = str_at(&value, "language");
    let items = value
        .get("items")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .filter(|i| i.is_object())
        .map(|i| json_item(i, feed_url, &feed_authors, feed_language.as_deref()))
        .collect();
    Ok(UpstreamFeed {
        title: str_at(&value, "title").and_then(|t| plain(&t, false)),
        site_url: url_at(&value, "home_page_url"),
        hub: value
            .get("hubs")
            .and_then(Value::as_array)
            .and_then(|hubs| hubs.iter().find_map(|h| url_at(h, "url"))),
        self_url: url_at(&value, "feed_url"),
        ttl: None,
        update_period: None,
        items,
    })
}

/// A string member, whatever the feed's mistakes: numbers are read as their text (JSON Feed
/// 1.0 feeds use numeric ids), anything else is absent.
fn str_at(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) => non_empty(Some(s.clone())),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn json_person(v: &Value, feed_url: &Url) -> Option<Person> {
    let p = Person {
        name: str_at(v, "name").and_then(|n| plain(&n, false)),
        url: str_at(v, "url").and_then(|u| resolve_url(&u, feed_url)),
        avatar: str_at(v, "avatar").and_then(|u| resolve_url(&u, feed_url)),
    };
    (p != Person::default()).then_some(p)
}

/// 1.1's `authors`, else 1.0's `author`.
fn json_authors(v: &Value, feed_url: &Url) -> Vec<Person> {
    match v.get("authors").and_then(Value::as_array) {
        Some(list) if !list.is_empty() => list
            .iter()
            .filter_map(|p| json_person(p, feed_url))
            .collect(),
        _ => v
            .get("author")
            .and_then(|p| json_person(p, feed_url))
            .into_iter()
            .collect(),
    }
}

fn json_item(
    v: &Value,
    feed_url: &Url,
    feed_authors: &[Person],
    feed_language: Option<&str>,
) -> Draft {
    let url_at = |key: &str| str_at(v, key).and_then(|u| resolve_url(&u, feed_url));
    // syndic's own extension, for feeds that another syndic publishes.
    let ext = v.get("_syndic");
    let ext_str = |key: &str| ext.and_then(|e| str_at(e, key));
    let mut authors = json_authors(v, feed_url);
    if authors.is_empty() {
        authors = feed_authors.to_vec();
    }
    let attachments = v
        .get("attachments")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .filter_map(|a| {
            let url = str_at(a, "url").and_then(|u| resolve_url(&u, feed_url))?;
            Some(Attachment {
                mime_type: str_at(a, "mime_type").unwrap_or_else(|| guess_mime(&url)),
                title: str_at(a, "title"),
                size_in_bytes: a.get("size_in_bytes").and_then(Value::as_u64),
                duration_in_seconds: a
                    .get("duration_in_seconds")
                    .and_then(Value::as_f64)
                    .filter(|d| d.is_finite() && *d >= 0.0)
                    .map(|d| d.round() as u64),
                url,
            })
        })
        .collect();
    Draft {
        id: str_at(v, "id"),
        url: url_at("url"),
        external_url: url_at("external_url"),
        title: str_at(v, "title").and_then(|t| plain(&t, true)),
        summary: str_at(v, "summary").and_then(|t| plain(&t, true)),
        content_html: str_at(v, "content_html").map(|h| absolutize_html(&h, feed_url)),
        content_text: str_at(v, "content_text"),
        image: url_at("image").map(|url| Image {
            url,
            caption: ext_str("image_caption"),
            credit: ext_str("image_credit"),
        }),
        banner_image: url_at("banner_image"),
        date_published: date(str_at(v, "date_published").as_deref()),
        date_modified: date(str_at(v, "date_modified").as_deref()),
        authors,
        contributors: ext
            .and_then(|e| e.get("contributors"))
            .and_then(Value::as_array)
            .map(|l| l.iter().filter_map(|p| json_person(p, feed_url)).collect())
            .unwrap_or_default(),
        tags: v
            .get("tags")
            .and_then(Value::as_array)
            .map(|t| {
                t.iter()
                    .filter_map(Value::as_str)
                    .filter_map(|t| plain(t, false))
                    .collect()
            })
            .unwrap_or_default(),
        language: str_at(v, "language").or_else(|| feed_language.map(str::to_owned)),
        attachments,
        source: ext.and_then(|e| e.get("source")).and_then(|s| {
            Some(Source {
                url: str_at(s, "url").and_then(|u| resolve_url(&u, feed_url))?,
                title: str_at(s, "title"),
            })
        }),
    }
}

#[cfg(test)]
mod tests {
    use crate::poll::parse::fixtures::{read, s, when};

    #[test]
    fn json_feed_1_0_and_1_1() {
        let f = read("feedrs-jsonfeed-1.0.json");
        assert_eq!(s(&f.title), Some("Daring Fireball"));
        assert_eq!(f.items.len(), 2);
        let i = &f.items[0];
        assert_eq!(
            s(&i.external_url),
            Some("https://www.nytimes.com/2020/01/22/technology/jeff-bezos-hack-iphone.html")
        );
        assert_eq!(i.authors[0].name.as_deref(), Some("John Gruber"));
        assert_eq!(
            when(&i.date_published).as_deref(),
            Some("2020-01-24T23:46:57+00:00")
        );

        let f = read("jsonfeed-1.1.json");
        assert_eq!(s(&f.hub), Some("https://hub.example/"));
        let i = &f.items[0];
        assert_eq!(s(&i.id), Some("42"));
        assert_eq!(s(&i.url), Some("https://feeds.example/notes/42"));
        assert_eq!(
            s(&i.content_html),
            Some(r#"<p>Voir <a href="https://feeds.example/notes/41">la 41</a></p>"#)
        );
        assert_eq!(
            i.image.as_ref().map(|i| i.url.as_str()),
            Some("https://feeds.example/dir/img/42.png")
        );
        assert_eq!(when(&i.date_modified), None);
        assert_eq!(i.tags, ["sens", "vie"]);
        assert_eq!(
            i.authors[0].url.as_deref(),
            Some("https://feeds.example/lea")
        );
        assert_eq!(i.attachments[0].duration_in_seconds, Some(62));
        assert_eq!(i.attachments[1].mime_type, "application/pdf");
        assert_eq!(s(&f.items[1].language), Some("fr"));
        assert_eq!(f.items[1].authors[0].name.as_deref(), Some("Max"));
    }
}
