//! JSON Feed 1.1 (<https://jsonfeed.org/version/1.1>), both directions. What JSON Feed has no
//! field for (the lead image's caption and credit, contributors, an imported item's origin)
//! travels in the `_syndic` extension object, as the spec's extension rules ask.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{FeedDoc, FeedFormat, ParseError, date3339};
use crate::draft::{DateText, Draft, ItemError};
use crate::model::{Attachment, Image, Person, Source};

pub const VERSION: &str = "https://jsonfeed.org/version/1.1";

#[derive(Debug, Default, Serialize, Deserialize)]
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
#[derive(Debug, Serialize)]
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

/// Reads one item, an array of items, or a whole JSON Feed document.
pub fn parse(body: &[u8]) -> Result<Vec<Draft>, ParseError> {
    let text = std::str::from_utf8(body)
        .map_err(|e| ParseError::Malformed(format!("the JSON body is not valid UTF-8 ({e})")))?;
    let text = drop_lone_surrogates(text);
    let value: Value = serde_json::from_str(&text)
        .map_err(|e| ParseError::Malformed(format!("the body is not valid JSON: {e}")))?;
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
        obj @ Value::Object(_) => vec![obj],
        _ => {
            return Err(ParseError::Malformed(
                "expected a JSON Feed item, an array of items, or a JSON Feed document".into(),
            ));
        }
    };
    items
        .into_iter()
        .enumerate()
        .map(|(index, v)| item_draft(index, v))
        .collect()
}

fn item_draft(index: usize, v: Value) -> Result<Draft, ParseError> {
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
    let id = match item.id {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        // JSON Feed 1.0 feeds in the wild use numbers; the spec says to read them as strings.
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(_) => return Err(item_err("id".into(), "id must be a string".into())),
    };
    let ext = item.syndic.unwrap_or_default();
    let mut authors = item.authors.unwrap_or_default();
    if authors.is_empty() {
        authors.extend(item.author);
    }
    Ok(Draft {
        id,
        url: item.url,
        external_url: item.external_url,
        title: item.title,
        summary: item.summary,
        content_html: item.content_html,
        content_text: item.content_text,
        image: item.image.map(|url| Image {
            url,
            caption: ext.image_caption,
            credit: ext.image_credit,
        }),
        banner_image: item.banner_image,
        date_published: item.date_published.map(DateText::Rfc3339),
        date_modified: item.date_modified.map(DateText::Rfc3339),
        authors,
        contributors: ext.contributors,
        tags: item.tags.unwrap_or_default(),
        language: item.language,
        attachments: item.attachments.unwrap_or_default(),
        source: ext.source,
    })
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
#[derive(Serialize)]
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
        assert_eq!(parse(br#"{"id":"1","title":"t"}"#).unwrap().len(), 1);
        assert_eq!(
            parse(br#"[{"id":"1"},{"id":2}]"#).unwrap()[1].id.as_deref(),
            Some("2")
        );
        let doc =
            br#"{"version":"https://jsonfeed.org/version/1.1","title":"x","items":[{"id":"a"}]}"#;
        assert_eq!(parse(doc).unwrap().len(), 1);
        match parse(br#"[{"id":"1"},{"id":"2","authors":[{"name":5}]}]"#) {
            Err(ParseError::Item(e)) => {
                assert_eq!(e.index, 1);
                assert_eq!(e.field, "authors[0].name");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(parse(b"{nope"), Err(ParseError::Malformed(_))));
    }
}
