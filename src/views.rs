//! The JSON shapes of channels and articles, as the API answers with them and as the CLI
//! prints them with `--json`: one definition for both edges, so a script reads the same
//! document from either. The types are the wire types, so they carry their OpenAPI schema
//! (`ToSchema`) too.

use serde::Serialize;
use serde_json::Value;

use crate::formats::jsonfeed::OutItem;
use crate::formats::{FORMATS, FeedFormat, feed_url};
use crate::model::{Channel, StoredArticle};

/// A channel with its feed URLs, built from the instance's base URL.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ApiChannel<'a> {
    #[serde(flatten)]
    pub channel: &'a Channel,
    pub feeds: FeedUrls,
}

/// The absolute URLs of a channel's three feeds.
#[derive(Serialize, utoipa::ToSchema)]
pub struct FeedUrls {
    pub rss: String,
    pub atom: String,
    pub json: String,
}

impl<'a> ApiChannel<'a> {
    pub fn new(c: &'a Channel, base_url: &str) -> ApiChannel<'a> {
        let mut feeds = FeedUrls {
            rss: String::new(),
            atom: String::new(),
            json: String::new(),
        };
        for f in &FORMATS {
            let url = feed_url(base_url, c.slug.as_str(), f.format);
            match f.format {
                FeedFormat::Rss => feeds.rss = url,
                FeedFormat::Atom => feeds.atom = url,
                FeedFormat::Json => feeds.json = url,
            }
        }
        ApiChannel { channel: c, feeds }
    }
}

/// An article: the JSON Feed item, plus when syndic first saw it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ApiArticle<'a> {
    #[serde(flatten)]
    pub item: OutItem<'a>,
    /// When syndic first stored the article (RFC 3339).
    #[serde(rename = "_syndic_first_seen_at")]
    pub first_seen_at: String,
}

impl<'a> ApiArticle<'a> {
    pub fn new(s: &'a StoredArticle) -> ApiArticle<'a> {
        ApiArticle {
            item: OutItem::new(s),
            first_seen_at: s.first_seen_at.to_rfc3339(),
        }
    }
}

/// One page of a channel's articles, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ArticlePage<'a> {
    pub items: Vec<ApiArticle<'a>>,
    /// The `before` cursor of the next page when this one is full; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl<'a> ArticlePage<'a> {
    pub fn new(articles: &'a [StoredArticle], limit: u32) -> ArticlePage<'a> {
        let next = (articles.len() == limit as usize)
            .then(|| articles.last().map(|a| a.cursor.encode()))
            .flatten();
        ArticlePage {
            items: articles.iter().map(ApiArticle::new).collect(),
            next_cursor: next,
        }
    }
}

/// A channel with its feed URLs, as a JSON value (the CLI's `--json`).
pub fn channel(c: &Channel, base_url: &str) -> Value {
    serde_json::to_value(ApiChannel::new(c, base_url)).expect("channel serializes")
}

/// An article, as a JSON value.
pub fn article(s: &StoredArticle) -> Value {
    serde_json::to_value(ApiArticle::new(s)).expect("item serializes")
}

/// One page of a channel's articles, as a JSON value.
pub fn article_page(articles: &[StoredArticle], limit: u32) -> Value {
    serde_json::to_value(ArticlePage::new(articles, limit)).expect("page serializes")
}
