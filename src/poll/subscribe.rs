//! Creating subscriptions: from a URL a person pasted (a feed, or a page whose feeds are
//! discovered), from an OPML file, and exporting them all back as OPML. The CLI and the API
//! share these, so both behave the same.

use std::time::Duration;

use serde::Serialize;
use url::Url;

use super::discover::{self, Discovered};
use super::fetch::{FetchError, FetchedKind, Validators};
use super::own::OwnFeeds;
use super::poller::Poller;
use crate::formats::opml;
use crate::formats::parse_feed;
use crate::model::{Channel, NewSubscription, Subscription};
use crate::store::{DynStore, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum SubscribeError {
    #[error("{0}")]
    BadUrl(String),
    #[error("channel {channel} already has subscription #{id} to {url}")]
    Exists {
        id: i64,
        url: String,
        channel: String,
    },
    #[error("cannot subscribe to {url}: {reason}")]
    Upstream { url: String, reason: String },
    /// The URL, a redirect or the feed a page advertises is a feed of this very instance.
    #[error(
        "cannot subscribe to {url}: {reached} is a feed of this syndic instance ({base}), and a \
         channel fed from its own instance would import its articles back and loop. To publish \
         part of a channel, use its tag feed (/feeds/SLUG/rss.xml?tag=TAG); to have articles in \
         two channels, ingest them into both"
    )]
    OwnFeed {
        url: String,
        reached: String,
        base: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A new subscription, and what discovery found on the way.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Subscribed {
    pub subscription: Subscription,
    /// Feeds an HTML page advertised (the subscription is to the first); empty for a feed URL.
    pub discovered: Vec<DiscoveredFeed>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DiscoveredFeed {
    pub url: String,
    pub title: Option<String>,
}

impl From<Discovered> for DiscoveredFeed {
    fn from(d: Discovered) -> Self {
        DiscoveredFeed {
            url: d.url,
            title: d.title,
        }
    }
}

pub fn parse_url(s: &str) -> Result<Url, SubscribeError> {
    let url = Url::parse(s.trim())
        .map_err(|e| SubscribeError::BadUrl(format!("{s:?} is not an absolute URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(SubscribeError::BadUrl(format!(
            "{s:?}: only http and https feeds can be polled"
        )));
    }
    Ok(url)
}

/// What a URL turned out to be.
enum Probe {
    Feed {
        url: Url,
        title: Option<String>,
        site: Option<String>,
    },
    Page(Vec<Discovered>),
}

/// Fetches `url` and tells whether it is a readable feed or an HTML page (with the feeds it
/// advertises). `asked` is the URL the person gave, for messages.
async fn probe(poller: &Poller, url: &Url, asked: &Url) -> Result<Probe, SubscribeError> {
    let upstream = |reason: String| SubscribeError::Upstream {
        url: url.to_string(),
        reason,
    };
    let fetched = match poller.fetcher().fetch(url, &Validators::default()).await {
        Ok(f) => f,
        Err(FetchError::OwnFeed { url: reached, base }) => {
            return Err(SubscribeError::OwnFeed {
                url: asked.to_string(),
                reached,
                base,
            });
        }
        Err(e) => return Err(upstream(e.to_string())),
    };
    let (body, ct) = match fetched.kind {
        FetchedKind::Body {
            body, content_type, ..
        } => (body, content_type),
        FetchedKind::Gone => return Err(upstream("the upstream answers 410 Gone".into())),
        FetchedKind::RetryLater { status, .. } => {
            return Err(upstream(format!(
                "the upstream answers {status}; try again later"
            )));
        }
        FetchedKind::NotModified => return Err(upstream("unexpected 304".into())),
    };
    if discover::is_html(&body, ct.as_deref()) {
        let page = String::from_utf8_lossy(&body);
        let found = discover::discover(&page, &fetched.final_url)
            .map_err(|e| upstream(format!("the page cannot be read: {e}")))?;
        return Ok(Probe::Page(found));
    }
    let feed = parse_feed(&body, ct.as_deref(), &fetched.final_url)
        .map_err(|e| upstream(format!("not a readable feed: {e}")))?;
    Ok(Probe::Feed {
        // A permanent move is followed at once; a temporary one is not.
        url: fetched.moved_to.unwrap_or_else(|| url.clone()),
        title: feed.title,
        site: feed.site_url,
    })
}

/// Subscribes `channel` to the feed at `url`, or to the first feed the page at `url`
/// advertises. The upstream is fetched to check it is a feed; the first import follows on the
/// next poll round.
pub async fn subscribe(
    store: &DynStore,
    poller: &Poller,
    channel: &Channel,
    url: &str,
    interval: Duration,
    full_content: bool,
) -> Result<Subscribed, SubscribeError> {
    let url = parse_url(url)?;
    let upstream = |url: &Url, reason: String| SubscribeError::Upstream {
        url: url.to_string(),
        reason,
    };
    let mut discovered = Vec::new();
    let (feed_url, title, site) = match probe(poller, &url, &url).await? {
        Probe::Feed { url, title, site } => (url, title, site),
        Probe::Page(found) => {
            let Some(first) = found.first() else {
                return Err(upstream(
                    &url,
                    "the page advertises no feed (no <link rel=\"alternate\"> of a feed type)"
                        .into(),
                ));
            };
            let first_url = parse_url(&first.url)?;
            let probed = probe(poller, &first_url, &url).await?;
            let Probe::Feed { url, title, site } = probed else {
                return Err(upstream(
                    &first_url,
                    "the advertised feed is an HTML page".into(),
                ));
            };
            let title = title.or(first.title.clone());
            discovered = found.into_iter().map(DiscoveredFeed::from).collect();
            (url, title, site)
        }
    };
    if let Some(existing) = store.find_subscription(channel, feed_url.as_str()).await? {
        return Err(SubscribeError::Exists {
            id: existing.id,
            url: existing.url,
            channel: channel.slug.to_string(),
        });
    }
    let subscription = store
        .create_subscription(&NewSubscription {
            channel_id: channel.id,
            url: feed_url.to_string(),
            original_url: url.to_string(),
            title,
            site_url: site,
            interval,
            full_content,
        })
        .await?;
    Ok(Subscribed {
        subscription,
        discovered,
    })
}

/// What an OPML import did.
#[derive(Debug, Default, Serialize)]
pub struct OpmlImport {
    pub created: usize,
    pub existing: usize,
    pub subscriptions: Vec<i64>,
    /// Feeds of this very instance, left out: subscribing to them would loop.
    pub skipped_own: Vec<String>,
}

/// Subscribes `channel` to every feed of an OPML document (nested folders included), except
/// the feeds of this instance (`own`; an export lists them). Feeds are not fetched here: they
/// are due at once and the next poll round reads them (and refuses a redirect to this
/// instance).
pub async fn import_opml(
    store: &DynStore,
    own: &OwnFeeds,
    channel: &Channel,
    body: &[u8],
    interval: Duration,
) -> Result<OpmlImport, SubscribeError> {
    let feeds = opml::parse(body).map_err(|e| SubscribeError::BadUrl(e.to_string()))?;
    let mut report = OpmlImport::default();
    for f in feeds {
        let Ok(url) = parse_url(&f.xml_url) else {
            continue;
        };
        if own.contains(&url) {
            report.skipped_own.push(url.to_string());
            continue;
        }
        if let Some(existing) = store.find_subscription(channel, url.as_str()).await? {
            report.existing += 1;
            report.subscriptions.push(existing.id);
            continue;
        }
        let s = store
            .create_subscription(&NewSubscription {
                channel_id: channel.id,
                url: url.to_string(),
                original_url: url.to_string(),
                title: f.title,
                site_url: f.html_url,
                interval,
                full_content: false,
            })
            .await?;
        report.created += 1;
        report.subscriptions.push(s.id);
    }
    Ok(report)
}

/// Every subscription, grouped by channel, and every channel syndic publishes, as OPML 2.0.
pub async fn export_opml(store: &DynStore, base_url: &str) -> Result<String, StoreError> {
    let subs = store.subscriptions().await?;
    let channels = store.channels().await?;
    let feed_urls: Vec<String> = channels
        .iter()
        .map(|c| format!("{base_url}/feeds/{}/rss.xml", c.slug))
        .collect();
    let export = opml::OpmlExport {
        title: "syndic subscriptions and channels",
        date_created: chrono::Utc::now(),
        subscriptions: subs
            .iter()
            .map(|s| opml::OpmlSubscription {
                title: s.title.as_deref(),
                xml_url: &s.url,
                html_url: s.site_url.as_deref(),
                channel: s.channel.as_str(),
            })
            .collect(),
        channels: channels
            .iter()
            .zip(&feed_urls)
            .map(|(c, url)| opml::OpmlChannel {
                title: &c.title,
                xml_url: url,
                html_url: c.link.as_deref(),
                description: &c.description,
            })
            .collect(),
    };
    Ok(opml::write(&export))
}
