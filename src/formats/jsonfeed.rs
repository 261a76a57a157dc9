//! JSON Feed 1.1 (<https://jsonfeed.org/version/1.1>), both directions. What JSON Feed has no
//! field for (the lead image's caption and credit, contributors, an imported item's origin)
//! travels in the `_syndic` extension object, as the spec's extension rules ask.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use url::Url;

use super::fields::{DateKind, Fields, abs, non_empty, plain, resolve_url};
use super::media::guess_mime_or_binary;
use super::{FeedDoc, FeedFormat, ParseError, UpstreamFeed, date3339};
use crate::draft::{Draft, ItemError};
use crate::model::{Attachment, Image, Person, Source};

pub const VERSION: &str = "https://jsonfeed.org/version/1.1";

#[derive(Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
struct SyndicExt {
    #[serde(skip_serializing_if = "Option::is_none")]
    image_caption: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image_credit: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    contributors: Vec<Person>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<Source>,
    /// Every subscription an imported story came through, first first (output only).
    #[serde(skip_serializing_if = "Vec::is_empty", skip_deserializing)]
    sources: Vec<SourceOut>,
}

/// One source of an imported story as `_syndic.sources` lists it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct SourceOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    feed_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
}

impl SyndicExt {
    fn is_empty(&self) -> bool {
        self.image_caption.is_none()
            && self.image_credit.is_none()
            && self.contributors.is_empty()
            && self.source.is_none()
            && self.sources.is_empty()
    }
}

/// A JSON Feed item as it comes in (1.1, with 1.0's `author` understood).
#[derive(Debug, Deserialize)]
struct InItem {
    #[serde(default)]
    id: Option<Value>,
    url: Option<String>,
    external_url: Option<String>,
    title: Option<String>,
    summary: Option<String>,
    content_html: Option<String>,
    content_text: Option<String>,
    image: Option<String>,
    banner_image: Option<String>,
    date_published: Option<String>,
    date_modified: Option<String>,
    #[serde(default)]
    authors: Option<Vec<Person>>,
    #[serde(default)]
    author: Option<Person>,
    #[serde(default)]
    tags: Option<Vec<String>>,
    language: Option<String>,
    #[serde(default)]
    attachments: Option<Vec<Attachment>>,
    #[serde(rename = "_syndic", default)]
    syndic: Option<SyndicExt>,
}

/// Drops `\uD800`-style escapes of lone surrogates, which JSON allows and no Rust string (nor
/// XML document) can hold; a paired escape is kept.
pub(crate) fn drop_lone_surrogates(text: &str) -> std::borrow::Cow<'_, str> {
    fn escape_at(b: &[u8], i: usize) -> Option<u16> {
        let hex = b.get(i..i + 6)?;
        if hex[0] != b'\\' || hex[1] != b'u' {
            return None;
        }
        u16::from_str_radix(std::str::from_utf8(&hex[2..]).ok()?, 16).ok()
    }
    let b = text.as_bytes();
    if !text.contains("\\u") {
        return text.into();
    }
    let mut out = String::with_capacity(text.len());
    let (mut i, mut start) = (0, 0);
    while i < b.len() {
        if b[i] != b'\\' {
            i += 1;
            continue;
        }
        match escape_at(b, i) {
            Some(0xD800..=0xDBFF) => match escape_at(b, i + 6) {
                Some(0xDC00..=0xDFFF) => i += 12,
                _ => {
                    out.push_str(&text[start..i]);
                    i += 6;
                    start = i;
                }
            },
            Some(0xDC00..=0xDFFF) => {
                out.push_str(&text[start..i]);
                i += 6;
                start = i;
            }
            // Any other escape, `\\` included, is two or six bytes that stay as they are.
            Some(_) => i += 6,
            None => i += 2,
        }
    }
    out.push_str(&text[start..]);
    out.into()
}

/// Reads JSON: strictly, one item, an array of items, or a whole JSON Feed document, where an
/// item's badly typed field refuses the batch naming the item and the field; leniently, a JSON
/// Feed (1.0 or 1.1) whose badly typed fields are left out ([`coerce`]), URLs resolved against
/// `base`. Then one mapping ([`draft`]) for both.
pub(super) fn read(text: &str, f: Fields, base: Option<&Url>) -> Result<UpstreamFeed, ParseError> {
    // Lone surrogate escapes are legal JSON that no Rust string can hold: drop them first.
    let text = drop_lone_surrogates(text);
    let value: Value = serde_json::from_str(&text).map_err(|e| {
        ParseError::Malformed(if f.lenient() {
            format!("the document is not a feed: invalid JSON ({e})")
        } else {
            format!("the body is not valid JSON: {e}")
        })
    })?;
    if f.lenient() {
        return read_feed(value, f, base);
    }
    let items = match value {
        Value::Array(items) => items,
        Value::Object(mut obj) if obj.contains_key("items") && obj.contains_key("version") => {
            match obj.remove("items") {
                Some(Value::Array(items)) => items,
                _ => {
                    return Err(ParseError::Malformed(
                        "a JSON Feed's \"items\" must be an array".into(),
                    ));
                }
            }
        }
        // No item has an array of items: this is a document that forgot its version, and
        // reading it as one item would answer "item 0 needs an id", which helps nobody.
        Value::Object(obj) if obj.get("items").is_some_and(Value::is_array) => {
            return Err(ParseError::Malformed(format!(
                "an object with \"items\" is a JSON Feed document, which needs \"version\": \
                 \"{VERSION}\"; to send items alone, send them as an array"
            )));
        }
        obj @ Value::Object(_) => vec![obj],
        _ => {
            return Err(ParseError::Malformed(
                "expected a JSON Feed item, an array of items, or a JSON Feed document".into(),
            ));
        }
    };
    let items = items
        .into_iter()
        .enumerate()
        .map(|(index, v)| {
            let item = typed_item(index, v)?;
            Ok(draft(item, f, base, &[], None))
        })
        .collect::<Result<_, ParseError>>()?;
    Ok(UpstreamFeed {
        items,
        ..Default::default()
    })
}

/// A whole JSON Feed from an upstream, every member read leniently.
fn read_feed(mut value: Value, f: Fields, base: Option<&Url>) -> Result<UpstreamFeed, ParseError> {
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
    let url_at = |v: &Value, key: &str| {
        str_at(v, key).and_then(|u| match base {
            Some(b) => resolve_url(&u, b),
            None => abs(&u),
        })
    };
    let feed_authors: Vec<Person> = coerce_people(&value)
        .into_iter()
        .filter_map(|p| person(p, f, base))
        .collect();
    let feed_language = str_at(&value, "language");
    let items = match value.get_mut("items").map(Value::take) {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    };
    let items = items
        .into_iter()
        .filter(Value::is_object)
        .map(|i| draft(coerce(i), f, base, &feed_authors, feed_language.as_deref()))
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

/// An item read strictly: any member of the wrong type refuses it, by name.
fn typed_item(index: usize, v: Value) -> Result<InItem, ParseError> {
    let item_err = |field: String, message: String| {
        ParseError::Item(ItemError {
            index,
            field,
            message,
        })
    };
    if !v.is_object() {
        return Err(item_err("".into(), "an item must be a JSON object".into()));
    }
    let item: InItem = serde_path_to_error::deserialize(v).map_err(|e| {
        let field = e.path().to_string();
        item_err(field, e.into_inner().to_string())
    })?;
    match &item.id {
        None | Some(Value::Null | Value::String(_) | Value::Number(_)) => Ok(item),
        Some(_) => Err(item_err("id".into(), "id must be a string".into())),
    }
}

fn coerce_person(v: &Value) -> Option<Person> {
    let p = Person {
        name: str_at(v, "name"),
        url: str_at(v, "url"),
        avatar: str_at(v, "avatar"),
    };
    (p != Person::default()).then_some(p)
}

/// 1.1's `authors`, else 1.0's `author`, with what is no person left out.
fn coerce_people(v: &Value) -> Vec<Person> {
    match v.get("authors").and_then(Value::as_array) {
        Some(list) if !list.is_empty() => list.iter().filter_map(coerce_person).collect(),
        _ => v
            .get("author")
            .and_then(coerce_person)
            .into_iter()
            .collect(),
    }
}

/// An upstream's item as [`InItem`], every member of the wrong type left out instead of
/// refusing the item: nobody is there to fix it.
fn coerce(v: Value) -> InItem {
    let s = |key: &str| str_at(&v, key);
    let ext = v.get("_syndic");
    let ext_str = |key: &str| ext.and_then(|e| str_at(e, key));
    let attachments = v
        .get("attachments")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .filter_map(|a| {
            let url = str_at(a, "url")?;
            Some(Attachment {
                mime_type: str_at(a, "mime_type").unwrap_or_else(|| guess_mime_or_binary(&url)),
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
    InItem {
        id: s("id").map(Value::String),
        url: s("url"),
        external_url: s("external_url"),
        title: s("title"),
        summary: s("summary"),
        content_html: s("content_html"),
        content_text: s("content_text"),
        image: s("image"),
        banner_image: s("banner_image"),
        date_published: s("date_published"),
        date_modified: s("date_modified"),
        authors: Some(coerce_people(&v)),
        author: None,
        tags: v.get("tags").and_then(Value::as_array).map(|t| {
            t.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        }),
        language: s("language"),
        attachments: Some(attachments),
        syndic: Some(SyndicExt {
            image_caption: ext_str("image_caption"),
            image_credit: ext_str("image_credit"),
            contributors: ext
                .and_then(|e| e.get("contributors"))
                .and_then(Value::as_array)
                .map(|l| l.iter().filter_map(coerce_person).collect())
                .unwrap_or_default(),
            source: ext.and_then(|e| e.get("source")).and_then(|s| {
                Some(Source {
                    url: str_at(s, "url")?,
                    title: str_at(s, "title"),
                })
            }),
            // Output only: a story's sources are what this instance saw, never read from input.
            sources: Vec::new(),
        }),
    }
}

/// A person as read: strictly as written; leniently with a plain name and resolved URLs, and
/// nothing when nothing is left.
fn person(p: Person, f: Fields, base: Option<&Url>) -> Option<Person> {
    if !f.lenient() {
        return Some(p);
    }
    let url = |u: Option<String>| u.and_then(|u| resolve(&u, base));
    let p = Person {
        name: p.name.and_then(|n| plain(&n, false)),
        url: url(p.url),
        avatar: url(p.avatar),
    };
    (p != Person::default()).then_some(p)
}

/// A URL against the feed's own: kept as written when strict (ingest resolves it), resolved
/// or dropped when lenient.
fn resolve(u: &str, base: Option<&Url>) -> Option<String> {
    match base {
        Some(b) => resolve_url(u, b),
        None => abs(u),
    }
}

/// The one mapping of a JSON Feed item onto a draft. An upstream's item without authors or
/// language has its feed's.
fn draft(
    item: InItem,
    f: Fields,
    base: Option<&Url>,
    feed_authors: &[Person],
    feed_language: Option<&str>,
) -> Draft {
    let url = |u: Option<String>| -> Option<String> {
        let u = u?;
        if f.lenient() {
            resolve(&u, base)
        } else {
            Some(u)
        }
    };
    let id = match item.id {
        Some(Value::String(s)) => f.id(s),
        // JSON Feed 1.0 feeds in the wild use numbers; the spec says to read them as strings.
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let ext = item.syndic.unwrap_or_default();
    let mut authors: Vec<Person> = item
        .authors
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| person(p, f, base))
        .collect();
    if authors.is_empty() {
        authors.extend(item.author.and_then(|p| person(p, f, base)));
    }
    if authors.is_empty() {
        authors = feed_authors.to_vec();
    }
    let attachments = item
        .attachments
        .unwrap_or_default()
        .into_iter()
        .filter_map(|a| {
            Some(Attachment {
                url: url(Some(a.url))?,
                ..a
            })
        })
        .collect();
    let content_html = match (item.content_html, base) {
        (Some(h), Some(b)) if f.lenient() => Some(crate::text::absolutize_html(&h, b)),
        (h, _) => h,
    };
    Draft {
        id,
        url: url(item.url),
        external_url: url(item.external_url),
        title: item.title.and_then(|t| f.text(&t, true)),
        summary: item.summary.and_then(|t| f.text(&t, true)),
        content_html,
        content_text: item.content_text,
        image: url(item.image).map(|url| Image {
            url,
            caption: ext.image_caption,
            credit: ext.image_credit,
        }),
        banner_image: url(item.banner_image),
        date_published: f.date(item.date_published.as_deref(), DateKind::Rfc3339),
        date_modified: f.date(item.date_modified.as_deref(), DateKind::Rfc3339),
        authors,
        contributors: ext
            .contributors
            .into_iter()
            .filter_map(|p| person(p, f, base))
            .collect(),
        tags: item
            .tags
            .unwrap_or_default()
            .into_iter()
            .filter_map(|t| f.text(&t, false))
            .collect(),
        language: item.language.or_else(|| feed_language.map(str::to_owned)),
        attachments,
        source: ext.source.and_then(|s| {
            Some(Source {
                url: url(Some(s.url))?,
                title: s.title,
            })
        }),
    }
}

#[derive(Serialize)]
struct OutFeed<'a> {
    version: &'static str,
    title: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    home_page_url: Option<&'a str>,
    feed_url: String,
    #[serde(skip_serializing_if = "str::is_empty")]
    description: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    language: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_url: Option<String>,
    hubs: Vec<serde_json::Value>,
    items: Vec<OutItem<'a>>,
}

/// An item as syndic publishes it; the API shows articles in this same shape.
#[derive(Serialize, utoipa::ToSchema)]
pub struct OutItem<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_html: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    banner_image: Option<&'a str>,
    date_published: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    date_modified: Option<String>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    authors: &'a [Person],
    /// JSON Feed 1.0's single author, for readers that predate 1.1.
    #[serde(skip_serializing_if = "Option::is_none")]
    author: Option<&'a Person>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    tags: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    language: Option<&'a str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    attachments: &'a [Attachment],
    #[serde(rename = "_syndic", skip_serializing_if = "SyndicExt::is_empty")]
    syndic: SyndicExt,
}

impl<'a> OutItem<'a> {
    pub fn new(s: &'a crate::model::StoredArticle) -> OutItem<'a> {
        let a = &s.article;
        OutItem {
            id: &a.id,
            url: a.url.as_deref(),
            external_url: a.external_url.as_deref(),
            title: a.title.as_deref(),
            summary: a.summary.as_deref(),
            content_html: a.content_html.as_deref(),
            content_text: a.content_text.as_deref(),
            image: a.image.as_ref().map(|i| i.url.as_str()),
            banner_image: a.banner_image.as_deref(),
            date_published: date3339(s.published()),
            date_modified: a.date_modified.map(date3339),
            authors: &a.authors,
            author: a.authors.first(),
            tags: &a.tags,
            language: a.language.as_deref(),
            attachments: &a.attachments,
            syndic: SyndicExt {
                image_caption: a.image.as_ref().and_then(|i| i.caption.clone()),
                image_credit: a.image.as_ref().and_then(|i| i.credit.clone()),
                contributors: a.contributors.clone(),
                source: a.source.clone(),
                sources: a
                    .sources
                    .iter()
                    .map(|v| SourceOut {
                        title: v.title.clone(),
                        feed_url: v.feed_url.clone(),
                        url: v.url.clone(),
                    })
                    .collect(),
            },
        }
    }
}

pub fn render(doc: &FeedDoc<'_>) -> Vec<u8> {
    let feed = OutFeed {
        version: VERSION,
        title: &doc.channel.title,
        home_page_url: doc.channel.link.as_deref(),
        // The feed's identity: the first page's URL, whichever page this is.
        feed_url: doc.first_url(FeedFormat::Json),
        description: &doc.channel.description,
        language: doc.channel.language.as_deref(),
        hubs: vec![serde_json::json!({ "type": "WebSub", "url": doc.hub_url() })],
        next_url: doc
            .paging(FeedFormat::Json)
            .into_iter()
            .find(|(rel, _)| *rel == "next")
            .map(|(_, url)| url),
        items: doc
            .articles
            .iter()
            .map(|s| {
                let mut item = OutItem::new(s);
                // JSON Feed 1.1 requires content_html or content_text on every item.
                if item.content_html.is_none() && item.content_text.is_none() {
                    item.content_text = Some(item.summary.unwrap_or(""));
                }
                item
            })
            .collect(),
    };
    serde_json::to_vec(&feed).expect("feed serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lone_surrogate_escapes_are_dropped() {
        assert_eq!(drop_lone_surrogates(r#""a\ud800b""#), r#""ab""#);
        assert_eq!(drop_lone_surrogates(r#""a\udc00""#), r#""a""#);
        assert_eq!(
            drop_lone_surrogates(r#""\ud83d\ude00""#),
            r#""\ud83d\ude00""#
        );
        assert_eq!(drop_lone_surrogates(r#""\\ud800""#), r#""\\ud800""#);
        assert_eq!(drop_lone_surrogates(r#""é\u00e9""#), r#""é\u00e9""#);
    }

    #[test]
    fn shapes_and_item_errors() {
        let parse = |b: &[u8]| crate::formats::parse(crate::formats::InputKind::Json, b);
        assert_eq!(parse(br#"{"id":"1","title":"t"}"#).unwrap().len(), 1);
        assert_eq!(
            parse(br#"[{"id":"1"},{"id":2}]"#).unwrap()[1].id.as_deref(),
            Some("2")
        );
        let doc =
            br#"{"version":"https://jsonfeed.org/version/1.1","title":"x","items":[{"id":"a"}]}"#;
        assert_eq!(parse(doc).unwrap().len(), 1);
        // A document without its version is named as such, not read as one item without id.
        match parse(br#"{"title":"x","items":[{"id":"a"}]}"#) {
            Err(ParseError::Malformed(m)) => {
                assert!(m.contains("\"version\"") && m.contains("array"), "{m}")
            }
            other => panic!("{other:?}"),
        }
        // An item may still carry a field called `items` that is not an array.
        assert_eq!(parse(br#"{"id":"1","items":"x"}"#).unwrap().len(), 1);
        match parse(br#"[{"id":"1"},{"id":"2","authors":[{"name":5}]}]"#) {
            Err(ParseError::Item(e)) => {
                assert_eq!(e.index, 1);
                assert_eq!(e.field, "authors[0].name");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(parse(b"{nope"), Err(ParseError::Malformed(_))));
    }

    mod lenient {
        use crate::formats::fixtures::{read, s, when};

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
}
