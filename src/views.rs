//! The JSON shapes of channels and articles, as the API answers with them and as the CLI
//! prints them with `--json`: one definition for both edges, so a script reads the same
//! document from either.

use serde_json::{Value, json};

use crate::formats::jsonfeed::OutItem;
use crate::formats::{FORMATS, feed_url};
use crate::model::{Channel, StoredArticle};

/// A channel with its feed URLs, built from the instance's base URL.
pub fn channel(c: &Channel, base_url: &str) -> Value {
    let mut v = serde_json::to_value(c).expect("channel serializes");
    v["feeds"] = FORMATS
        .iter()
        .map(|f| {
            (
                f.key.to_owned(),
                json!(feed_url(base_url, c.slug.as_str(), f.format)),
            )
        })
        .collect::<serde_json::Map<_, _>>()
        .into();
    v
}

/// An article: the JSON Feed item, plus when syndic first saw it.
pub fn article(s: &StoredArticle) -> Value {
    let mut v = serde_json::to_value(OutItem::new(s)).expect("item serializes");
    v["_syndic_first_seen_at"] = json!(s.first_seen_at.to_rfc3339());
    v
}

/// One page of a channel's articles, and the cursor of the next when the page is full.
pub fn article_page(articles: &[StoredArticle], limit: u32) -> Value {
    let next = (articles.len() == limit as usize)
        .then(|| articles.last().map(|a| a.cursor.encode()))
        .flatten();
    json!({
        "items": articles.iter().map(article).collect::<Vec<_>>(),
        "next_cursor": next,
    })
}
