//! The one article model that every input format is parsed into and every output format is
//! rendered from, plus the small validated types (`Slug`) that the edges parse into so that the
//! inner code never re-checks them.

use std::fmt;

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};

/// A channel's URL name: lowercase ASCII letters, digits and inner hyphens, 1 to 64 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct Slug(String);

impl Slug {
    pub fn parse(s: &str) -> Result<Slug, String> {
        let ok_len = (1..=64).contains(&s.len());
        let ok_chars = s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ok_len || !ok_chars || s.starts_with('-') || s.ends_with('-') {
            return Err(format!(
                "invalid slug {s:?}: use 1 to 64 lowercase letters, digits and inner hyphens"
            ));
        }
        Ok(Slug(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A published channel: one set of articles, served as three feeds.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Channel {
    #[serde(skip)]
    pub id: i64,
    pub slug: Slug,
    pub title: String,
    pub description: String,
    pub link: Option<String>,
    pub language: Option<String>,
    pub created_at: DateTime<Utc>,
    /// When anything the feeds show last changed; the feeds' `Last-Modified`.
    pub updated_at: DateTime<Utc>,
    /// Bumped on every change of the channel or its articles; the render cache keys on it.
    #[serde(skip)]
    pub version: i64,
    /// Retention: keep at most this many articles (none: all).
    pub retain_max_articles: Option<u32>,
    /// Retention: keep only articles newer than this many days (none: all).
    pub retain_days: Option<u32>,
    /// How items of different subscriptions that are one story become one article.
    pub dedupe: Dedupe,
}

/// How a channel recognises one story arriving through several subscriptions
/// (docs/dedupe.md).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Dedupe {
    /// Every item is an article of its own.
    Off,
    /// Items with the same canonical link are one article.
    #[default]
    Url,
    /// Also items with near-identical titles (and first paragraphs) within 48 hours.
    Story,
}

impl Dedupe {
    pub fn as_str(self) -> &'static str {
        match self {
            Dedupe::Off => "off",
            Dedupe::Url => "url",
            Dedupe::Story => "story",
        }
    }

    pub fn parse(s: &str) -> Result<Dedupe, String> {
        match s {
            "off" => Ok(Dedupe::Off),
            "url" => Ok(Dedupe::Url),
            "story" => Ok(Dedupe::Story),
            _ => Err(format!(
                "dedupe must be \"off\", \"url\" or \"story\", not {s:?}"
            )),
        }
    }
}

impl fmt::Display for Dedupe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The fields a new channel is created with.
#[derive(Debug, Clone)]
pub struct NewChannel {
    pub slug: Slug,
    pub title: String,
    pub description: String,
    pub link: Option<String>,
    pub language: Option<String>,
    pub dedupe: Dedupe,
}

impl NewChannel {
    /// Checks and cleans the fields a channel is created with (API and CLI alike).
    pub fn validate(
        slug: &str,
        title: String,
        description: String,
        link: Option<String>,
        language: Option<String>,
    ) -> Result<NewChannel, String> {
        Ok(NewChannel {
            slug: Slug::parse(slug)?,
            title: channel_field("title", title)?,
            description: channel_field("description", description)?,
            link: channel_link(link)?,
            language: channel_language(language)?,
            dedupe: Dedupe::default(),
        })
    }
}

/// A channel's text field without XML-forbidden characters; a title must not be blank.
pub fn channel_field(field: &str, mut s: String) -> Result<String, String> {
    crate::text::xml_clean(&mut s);
    if field == "title" && s.trim().is_empty() {
        return Err("title must not be empty".into());
    }
    Ok(s)
}

/// A channel's language code, or none when blank.
pub fn channel_language(language: Option<String>) -> Result<Option<String>, String> {
    let Some(l) = language else { return Ok(None) };
    let l = channel_field("language", l)?.trim().to_owned();
    Ok((!l.is_empty()).then_some(l))
}

/// A channel's site link: absolute, or none.
pub fn channel_link(link: Option<String>) -> Result<Option<String>, String> {
    let link = link.map(|l| channel_field("link", l)).transpose()?;
    match link.map(|l| l.trim().to_owned()).filter(|l| !l.is_empty()) {
        Some(l) if url::Url::parse(&l).is_ok() => Ok(Some(l)),
        Some(l) => Err(format!("link {l:?} must be an absolute URL")),
        None => Ok(None),
    }
}

/// A partial update of a channel: `None` leaves a field as it is; `Some(None)` clears an
/// optional one.
#[derive(Debug, Clone, Default)]
pub struct ChannelPatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub link: Option<Option<String>>,
    pub language: Option<Option<String>>,
    pub retain_max_articles: Option<Option<u32>>,
    pub retain_days: Option<Option<u32>>,
    pub dedupe: Option<Dedupe>,
}

impl ChannelPatch {
    pub fn is_empty(&self) -> bool {
        self.title.is_none()
            && self.description.is_none()
            && self.link.is_none()
            && self.language.is_none()
            && self.retain_max_articles.is_none()
            && self.retain_days.is_none()
            && self.dedupe.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
pub struct Person {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Attachment {
    pub url: String,
    pub mime_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_in_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_in_seconds: Option<u64>,
}

/// The lead image of an article, with what a print caption would say of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    pub url: String,
    pub caption: Option<String>,
    pub credit: Option<String>,
}

/// Where an imported article came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Source {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub url: String,
}

/// One subscription an imported article came through: several when one story arrived from
/// several feeds (docs/dedupe.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Via {
    /// The subscription's feed: its title and URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub feed_url: String,
    /// The item's own link in that feed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The subscription's id (kept, not published).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription: Option<i64>,
    /// A digest of the item as that feed last carried it (kept, not published): a change
    /// is an update from that source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_hash: Option<String>,
}

/// An article as the ingest pipeline hands it to the store: normalized, every URL absolute,
/// no character that XML 1.0 forbids.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Article {
    /// The guid: never changes once published.
    pub id: String,
    pub url: Option<String>,
    pub external_url: Option<String>,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub content_html: Option<String>,
    pub content_text: Option<String>,
    pub image: Option<Image>,
    pub banner_image: Option<String>,
    pub date_published: Option<DateTime<FixedOffset>>,
    pub date_modified: Option<DateTime<FixedOffset>>,
    pub authors: Vec<Person>,
    pub contributors: Vec<Person>,
    pub tags: Vec<String>,
    pub language: Option<String>,
    pub attachments: Vec<Attachment>,
    /// The item's origin: its own `<source>` when it is syndicated from elsewhere, else the
    /// feed it was imported from.
    pub source: Option<Source>,
    /// The subscriptions it came through, first first (imported articles only). Not in the
    /// article's digest (`catalog::content_hash`): a new source is not a new version.
    #[serde(skip)]
    pub sources: Vec<Via>,
}

/// An article as the store holds it: with the dates syndic itself keeps.
#[derive(Debug, Clone)]
pub struct StoredArticle {
    pub article: Article,
    /// When syndic first saw the article; stands in for a missing `date_published`, forever.
    pub first_seen_at: DateTime<Utc>,
    /// Position in the channel's newest-first order (keyset cursor).
    pub cursor: Cursor,
}

impl StoredArticle {
    /// The publication date every feed shows: the article's own, or when it was first seen.
    pub fn published(&self) -> DateTime<FixedOffset> {
        self.article
            .date_published
            .unwrap_or_else(|| self.first_seen_at.fixed_offset())
    }

    /// The last-change date every feed shows: modified, else published.
    pub fn updated(&self) -> DateTime<FixedOffset> {
        self.article
            .date_modified
            .unwrap_or_else(|| self.published())
    }
}

/// An upstream feed polled into a channel, with its fetch state.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Subscription {
    pub id: i64,
    #[serde(skip)]
    pub channel_id: i64,
    pub channel: Slug,
    pub url: String,
    pub original_url: String,
    pub title: Option<String>,
    pub site_url: Option<String>,
    /// Seconds between polls.
    #[serde(serialize_with = "secs")]
    #[schema(value_type = u64)]
    pub interval: std::time::Duration,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    #[serde(skip)]
    pub etag: Option<String>,
    #[serde(skip)]
    pub last_modified: Option<String>,
    #[serde(skip)]
    pub body_hash: Option<String>,
    pub last_fetch_at: Option<DateTime<Utc>>,
    pub next_fetch_at: DateTime<Utc>,
    pub last_status: Option<String>,
    pub error_count: u32,
    pub last_error: Option<String>,
    pub items_imported: i64,
    pub created_at: DateTime<Utc>,
    /// The WebSub hub the upstream advertises, when syndic subscribed through it.
    pub websub_hub: Option<String>,
    #[serde(skip)]
    pub websub_topic: Option<String>,
    #[serde(skip)]
    pub websub_secret: Option<String>,
    #[serde(skip)]
    pub websub_requested_at: Option<DateTime<Utc>>,
    /// The random token in the callback URL syndic gave the hub: a verification or push
    /// without it is not for a request of ours.
    #[serde(skip)]
    pub websub_token: Option<String>,
    /// A subscription request went out and the hub has not verified or denied it yet.
    #[serde(skip)]
    pub websub_pending: bool,
    /// When the hub's lease ends (pushes arrive until then); none before it is verified.
    pub websub_expires_at: Option<DateTime<Utc>>,
    /// Each new item's page is fetched and its main text published as the content, the
    /// upstream's text becoming the summary (docs/full-text.md).
    pub full_content: bool,
}

impl Subscription {
    /// The host of the URL it is fetched from (lowercase, without user info or port; empty
    /// for a URL without one): what the per-host limit counts, across instances.
    pub fn host(&self) -> String {
        url_host(&self.url)
    }

    /// True while a verified WebSub lease is running.
    pub fn pushed(&self, now: DateTime<Utc>) -> bool {
        self.websub_expires_at.is_some_and(|t| t > now)
    }
}

fn secs<S: serde::Serializer>(d: &std::time::Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_secs())
}

/// A new subscription: it is due at once.
#[derive(Debug, Clone)]
pub struct NewSubscription {
    pub channel_id: i64,
    /// Where to fetch.
    pub url: String,
    /// What the person gave (a page, or a URL that has moved since).
    pub original_url: String,
    pub title: Option<String>,
    pub site_url: Option<String>,
    pub interval: std::time::Duration,
    /// See [`Subscription::full_content`].
    pub full_content: bool,
}

/// A change to a subscription's options: `None` leaves one as it is.
#[derive(Debug, Clone, Default)]
pub struct SubscriptionPatch {
    pub full_content: Option<bool>,
}

impl SubscriptionPatch {
    pub fn is_empty(&self) -> bool {
        self.full_content.is_none()
    }
}

/// What syndic kept of one item page of a `full_content` subscription: its main text, or why
/// there is none, and whether to try again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FullText {
    /// The page's main text, sanitized, every URL absolute.
    pub content_html: Option<String>,
    /// Why there is no text (or why the page is not fetched yet).
    pub error: Option<String>,
    /// Fetches tried so far.
    pub attempts: u32,
    /// No more fetches: the text is there, or the failure is for good.
    pub done: bool,
    pub fetched_at: DateTime<Utc>,
}

impl NewSubscription {
    /// The host of its URL, as [`Subscription::host`].
    pub fn host(&self) -> String {
        url_host(&self.url)
    }
}

/// A URL's host, lowercase, without user info or port; empty when it has none.
fn url_host(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .unwrap_or_default()
}

/// A WebSub subscriber to one of syndic's feeds (syndic is the hub).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HubSubscription {
    pub id: i64,
    #[serde(skip)]
    pub channel_id: i64,
    pub topic: String,
    pub format: String,
    pub callback: String,
    #[serde(skip)]
    pub secret: Option<String>,
    pub lease_seconds: i64,
    pub expires_at: DateTime<Utc>,
    pub delivered_version: i64,
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
}

/// An imported article with the keys that identify its upstream item across polls, most
/// reliable first.
#[derive(Debug, Clone)]
pub struct KeyedArticle {
    pub keys: Vec<String>,
    pub article: Article,
}

/// A position in a channel's newest-first order: the sort time (microseconds since the epoch)
/// and the row id as tie-breaker, so that pages never skip nor repeat an article.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cursor {
    pub sort_at: i64,
    pub row: i64,
}

/// Articles in a feed page unless `?limit=` says otherwise.
pub const DEFAULT_LIMIT: u32 = 50;
/// The most articles one feed page shows.
pub const MAX_LIMIT: u32 = 500;

/// Which of a channel's articles a feed page shows: newest first, at most `limit`, older than
/// `before` when given, with the tag `tag` when given.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Page {
    pub limit: u32,
    pub before: Option<Cursor>,
    pub tag: Option<String>,
}

impl Cursor {
    pub fn encode(&self) -> String {
        format!("{}.{}", self.sort_at, self.row)
    }

    pub fn decode(s: &str) -> Option<Cursor> {
        let (a, b) = s.split_once('.')?;
        Some(Cursor {
            sort_at: a.parse().ok()?,
            row: b.parse().ok()?,
        })
    }
}
