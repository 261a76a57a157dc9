//! Subscription requests: parsing, checking, limits, and verification of intent. The hub is
//! open to anyone (as WebSub intends), so what one request can cost is bounded: at most
//! `SYNDIC_HUB_VERIFICATIONS` verifications run at once, each reads at most
//! [`MAX_CHALLENGE_ANSWER`] bytes of the callback's answer, and subscriptions are limited
//! per topic, per callback host and in all (renewals of existing ones always pass).

use std::sync::Arc;
use std::time::Duration;

use rand::RngExt as _;
use tokio::sync::Semaphore;
use url::Url;

use super::{DEFAULT_LEASE_SECS, MAX_LEASE_SECS, MIN_LEASE_SECS};
use crate::config::Config;
use crate::formats::FeedFormat;
use crate::model::{Channel, Slug};
use crate::poll::guard::Guard;
use crate::store::{DynStore, HubCallback};

/// The most of a callback's answer to a verification that is read: the challenge is 32
/// characters, so anything longer is not an echo of it.
pub const MAX_CHALLENGE_ANSWER: usize = 4 * 1024;
/// How long a callback has to answer a verification.
const VERIFY_TIMEOUT: Duration = Duration::from_secs(10);

/// A subscription request, as the form fields name it (`hub.mode`, `hub.topic`…).
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
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
    /// A subscription limit is reached (429).
    #[error("{0}")]
    Limit(String),
    /// Too many verifications in flight (503).
    #[error("{0}")]
    Busy(String),
}

/// The hub's limits, from the settings.
#[derive(Debug, Clone, Copy)]
pub struct HubLimits {
    pub per_topic: u64,
    pub per_host: u64,
    pub total: u64,
}

/// A checked request, ready for verification.
#[derive(Debug, Clone)]
struct Checked {
    subscribe: bool,
    topic: String,
    format: FeedFormat,
    channel: Channel,
    callback: Url,
    /// The callback's host name, as limits count it.
    host: String,
    secret: Option<String>,
    lease: i64,
}

impl Checked {
    fn callback(&self) -> HubCallback<'_> {
        HubCallback {
            url: self.callback.as_str(),
            host: &self.host,
        }
    }
}

pub struct Hub {
    pub(super) store: DynStore,
    pub(super) client: reqwest::Client,
    pub(super) guard: Guard,
    pub(super) base_url: String,
    /// How long a claimed delivery stays claimed unless renewed (`SYNDIC_POLL_LEASE`).
    pub(super) lease: Duration,
    limits: HubLimits,
    /// Verifications in flight hold a permit.
    verifying: Arc<Semaphore>,
    /// Held from the last limit check of a verified subscription to its write, so that
    /// verifications ending together cannot each see the room for one more and all be stored
    /// (with several instances, each may still store one past a limit at the same moment).
    admitting: tokio::sync::Mutex<()>,
}

impl Hub {
    pub fn new(store: DynStore, config: &Config) -> Result<Arc<Hub>, reqwest::Error> {
        let guard = Guard::callbacks(config.allow_private_callbacks);
        let client = reqwest::Client::builder()
            .user_agent(format!(
                "syndic/{} (WebSub hub; +{})",
                env!("CARGO_PKG_VERSION"),
                config.base_url
            ))
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30).max(VERIFY_TIMEOUT))
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(guard.resolver())
            .no_proxy()
            .build()?;
        Ok(Arc::new(Hub {
            store,
            client,
            guard,
            base_url: config.base_url.clone(),
            lease: config.poll_lease,
            limits: HubLimits {
                per_topic: config.hub_max_per_topic as u64,
                per_host: config.hub_max_per_host as u64,
                total: config.hub_max_subscriptions as u64,
            },
            verifying: Arc::new(Semaphore::new(config.hub_verifications)),
            admitting: tokio::sync::Mutex::new(()),
        }))
    }

    pub fn hub_url(&self) -> String {
        format!("{}{}", self.base_url, super::HUB_PATH)
    }

    /// Checks a request; on success the caller answers 202 and verification runs in the
    /// background (`verify`).
    pub async fn accept(self: &Arc<Self>, req: HubRequest) -> Result<(), HubError> {
        let checked = self.check(req).await?;
        if checked.subscribe {
            self.within_limits(&checked).await?;
        }
        let permit = self.verifying.clone().try_acquire_owned().map_err(|_| {
            HubError::Busy(
                "too many subscription requests are being verified; retry in a minute".into(),
            )
        })?;
        let hub = self.clone();
        tokio::spawn(async move {
            let _permit = permit;
            hub.verify(checked).await
        });
        Ok(())
    }

    /// Refuses a new subscription past a limit; a renewal (the same topic and callback)
    /// always passes.
    async fn within_limits(&self, c: &Checked) -> Result<(), HubError> {
        let n = self
            .store
            .hub_counts(&c.topic, &c.callback())
            .await
            .map_err(|e| HubError::Busy(format!("the hub cannot count subscriptions now: {e}")))?;
        if n.exists {
            return Ok(());
        }
        let refuse = |what: &str, limit: u64, setting: &str| {
            Err(HubError::Limit(format!(
                "{what} has {limit} subscriptions already, the most this hub accepts ({setting})"
            )))
        };
        if n.topic >= self.limits.per_topic {
            return refuse(
                "this topic",
                self.limits.per_topic,
                "SYNDIC_HUB_MAX_PER_TOPIC",
            );
        }
        if n.host >= self.limits.per_host {
            return refuse(
                &format!("callback host {}", c.host),
                self.limits.per_host,
                "SYNDIC_HUB_MAX_PER_CALLBACK_HOST",
            );
        }
        if n.total >= self.limits.total {
            return refuse(
                "this hub",
                self.limits.total,
                "SYNDIC_HUB_MAX_SUBSCRIPTIONS",
            );
        }
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
        let host = callback
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| HubError::Bad("hub.callback has no host".into()))?
            .to_ascii_lowercase();
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
            host,
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
        let answer = tokio::time::timeout(VERIFY_TIMEOUT, self.answer(url)).await;
        let confirmed =
            matches!(answer, Ok(Some(body)) if body.trim_ascii() == challenge.as_bytes());
        if !confirmed {
            tracing::info!(callback = %c.callback, topic = %c.topic, "websub intent not verified");
            return;
        }
        // Other verifications may have filled a limit meanwhile: checked again, and stored,
        // one at a time.
        let _admitting = if c.subscribe {
            Some(self.admitting.lock().await)
        } else {
            None
        };
        if c.subscribe
            && let Err(e) = self.within_limits(&c).await
        {
            tracing::info!(callback = %c.callback, topic = %c.topic, reason = %e, "websub subscription refused");
            return;
        }
        let result = if c.subscribe {
            self.store
                .hub_subscribe(
                    &c.channel,
                    &c.topic,
                    c.format.file_name(),
                    &c.callback(),
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

    /// The body of a 2xx answer to a verification GET, when it is at most
    /// [`MAX_CHALLENGE_ANSWER`] bytes; the connection is dropped as soon as it says or sends
    /// more.
    async fn answer(&self, url: Url) -> Option<Vec<u8>> {
        let mut r = self.client.get(url).send().await.ok()?;
        if !r.status().is_success()
            || r.content_length()
                .is_some_and(|n| n > MAX_CHALLENGE_ANSWER as u64)
        {
            return None;
        }
        let mut body = Vec::new();
        while let Some(chunk) = r.chunk().await.ok()? {
            if body.len() + chunk.len() > MAX_CHALLENGE_ANSWER {
                return None;
            }
            body.extend_from_slice(&chunk);
        }
        Some(body)
    }
}
