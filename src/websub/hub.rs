//! Subscription requests: parsing, checking, and verification of intent.

use std::sync::Arc;
use std::time::Duration;

use rand::RngExt as _;
use url::Url;

use super::{DEFAULT_LEASE_SECS, MAX_LEASE_SECS, MIN_LEASE_SECS};
use crate::config::Config;
use crate::formats::FeedFormat;
use crate::model::{Channel, Slug};
use crate::poll::guard::Guard;
use crate::store::DynStore;

/// A subscription request, as the form fields name it (`hub.mode`, `hub.topic`…).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct HubRequest {
    #[serde(rename = "hub.mode")]
    pub mode: Option<String>,
    #[serde(rename = "hub.topic")]
    pub topic: Option<String>,
    #[serde(rename = "hub.callback")]
    pub callback: Option<String>,
    #[serde(rename = "hub.lease_seconds")]
    pub lease_seconds: Option<String>,
    #[serde(rename = "hub.secret")]
    pub secret: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error("{0}")]
    Bad(String),
    #[error("{0}")]
    UnknownTopic(String),
}

/// A checked request, ready for verification.
#[derive(Debug, Clone)]
struct Checked {
    subscribe: bool,
    topic: String,
    format: FeedFormat,
    channel: Channel,
    callback: Url,
    secret: Option<String>,
    lease: i64,
}

pub struct Hub {
    pub(super) store: DynStore,
    pub(super) client: reqwest::Client,
    pub(super) guard: Guard,
    pub(super) base_url: String,
}

impl Hub {
    pub fn new(store: DynStore, config: &Config) -> Result<Arc<Hub>, reqwest::Error> {
        let guard = Guard {
            allow_private: config.allow_private_upstreams,
        };
        let client = reqwest::Client::builder()
            .user_agent(format!(
                "syndic/{} (WebSub hub; +{})",
                env!("CARGO_PKG_VERSION"),
                config.base_url
            ))
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(guard.resolver())
            .no_proxy()
            .build()?;
        Ok(Arc::new(Hub {
            store,
            client,
            guard,
            base_url: config.base_url.clone(),
        }))
    }

    pub fn hub_url(&self) -> String {
        format!("{}{}", self.base_url, super::HUB_PATH)
    }

    /// Checks a request; on success the caller answers 202 and verification runs in the
    /// background (`verify`).
    pub async fn accept(self: &Arc<Self>, req: HubRequest) -> Result<(), HubError> {
        let checked = self.check(req).await?;
        let hub = self.clone();
        tokio::spawn(async move { hub.verify(checked).await });
        Ok(())
    }

    async fn check(&self, req: HubRequest) -> Result<Checked, HubError> {
        let need = |v: Option<String>, name: &str| {
            v.filter(|s| !s.trim().is_empty())
                .ok_or_else(|| HubError::Bad(format!("{name} is required")))
        };
        let subscribe = match need(req.mode, "hub.mode")?.as_str() {
            "subscribe" => true,
            "unsubscribe" => false,
            other => {
                return Err(HubError::Bad(format!(
                    "hub.mode {other:?}: use subscribe or unsubscribe"
                )));
            }
        };
        let topic = need(req.topic, "hub.topic")?;
        let (channel, format) = self.topic(&topic).await?;
        let callback = Url::parse(&need(req.callback, "hub.callback")?)
            .map_err(|e| HubError::Bad(format!("hub.callback is not an absolute URL: {e}")))?;
        self.guard
            .check_url(&callback)
            .map_err(|e| HubError::Bad(format!("hub.callback: {e}")))?;
        let lease = match req.lease_seconds.as_deref().map(str::trim) {
            None | Some("") => DEFAULT_LEASE_SECS,
            Some(s) => s
                .parse::<i64>()
                .map_err(|_| HubError::Bad("hub.lease_seconds must be a number".into()))?
                .clamp(MIN_LEASE_SECS, MAX_LEASE_SECS),
        };
        let secret = req.secret.filter(|s| !s.is_empty());
        if secret.as_ref().is_some_and(|s| s.len() >= 200) {
            return Err(HubError::Bad(
                "hub.secret must be shorter than 200 bytes".into(),
            ));
        }
        Ok(Checked {
            subscribe,
            topic,
            format,
            channel,
            callback,
            secret,
            lease,
        })
    }

    /// The channel and format a topic URL names: one of this server's feeds, exactly.
    async fn topic(&self, topic: &str) -> Result<(Channel, FeedFormat), HubError> {
        let unknown = || {
            HubError::UnknownTopic(format!(
                "hub.topic {topic:?} is not a feed of this server ({}/feeds/SLUG/rss.xml, atom.xml or feed.json)",
                self.base_url
            ))
        };
        let path = topic
            .strip_prefix(&self.base_url)
            .and_then(|p| p.strip_prefix("/feeds/"))
            .ok_or_else(unknown)?;
        let (slug, file) = path.split_once('/').ok_or_else(unknown)?;
        let format = FeedFormat::from_file_name(file).ok_or_else(unknown)?;
        let slug = Slug::parse(slug).map_err(|_| unknown())?;
        let channel = self
            .store
            .channel(&slug)
            .await
            .map_err(|e| HubError::Bad(e.to_string()))?
            .ok_or_else(unknown)?;
        Ok((channel, format))
    }

    /// Verification of intent (WebSub §5.3): a GET to the callback must echo the challenge.
    async fn verify(&self, c: Checked) {
        let challenge: String = {
            let mut rng = rand::rng();
            (0..32)
                .map(|_| {
                    char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[rng.random_range(0..36)])
                })
                .collect()
        };
        let mut url = c.callback.clone();
        url.query_pairs_mut()
            .append_pair(
                "hub.mode",
                if c.subscribe {
                    "subscribe"
                } else {
                    "unsubscribe"
                },
            )
            .append_pair("hub.topic", &c.topic)
            .append_pair("hub.challenge", &challenge);
        if c.subscribe {
            url.query_pairs_mut()
                .append_pair("hub.lease_seconds", &c.lease.to_string());
        }
        let confirmed = match self.client.get(url).send().await {
            Ok(r) if r.status().is_success() => {
                r.text().await.is_ok_and(|body| body.trim() == challenge)
            }
            _ => false,
        };
        if !confirmed {
            tracing::info!(callback = %c.callback, topic = %c.topic, "websub intent not verified");
            return;
        }
        let result = if c.subscribe {
            self.store
                .hub_subscribe(
                    &c.channel,
                    &c.topic,
                    c.format.file_name(),
                    c.callback.as_str(),
                    c.secret.as_deref(),
                    c.lease,
                )
                .await
                .map(drop)
        } else {
            self.store
                .hub_unsubscribe(&c.topic, c.callback.as_str())
                .await
                .map(drop)
        };
        match result {
            Ok(()) => tracing::info!(
                callback = %c.callback,
                topic = %c.topic,
                subscribe = c.subscribe,
                "websub intent verified"
            ),
            Err(e) => tracing::error!(error = %e, "websub subscription not stored"),
        }
    }
}
