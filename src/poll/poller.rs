//! The poller: picks the subscriptions that are due, fetches each within a global and a
//! per-host limit, imports what changed through the ingest pipeline, and stores when to come
//! back. One round is `poll_due`; `run` repeats rounds until shutdown.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use url::Url;

use super::fetch::{FetchConfig, FetchError, Fetched, FetchedKind, Fetcher, Validators};
use super::fulltext::{self, FullTextReport};
use super::guard::Guard;
use super::{discover, schedule};
use crate::catalog::{self, Outcome};
use crate::config::Config;
use crate::formats::{UpstreamFeed, parse_feed};
use crate::ingest::screen::{self, ItemVerdict};
use crate::ingest::{self, Draft};
use crate::model::{KeyedArticle, Source, Subscription};
use crate::rules::Rules;
use crate::store::{ClaimKind, DynStore, Lease, StoreError, WebsubRequest};

/// A round claims more subscriptions once at least this share of the concurrency is free
/// (or nothing runs): claims come in batches, not one per finished poll.
const CLAIM_WHEN_FREE: usize = 8;

/// What one poll of one subscription did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PollReport {
    pub subscription: i64,
    pub url: String,
    /// `imported`, `not_modified`, `unchanged`, `gone`, `retry_later` or `error`.
    pub status: &'static str,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub skipped_deleted: usize,
    /// Items left out because they were invalid, with why.
    pub invalid: Vec<String>,
    /// Fields dropped from imported items (a URL that cannot be published), with why.
    pub dropped: Vec<String>,
    /// Items import rules dropped (not errors; remembered, so they stay out), and items
    /// they changed.
    pub rules_dropped: usize,
    pub rules_changed: usize,
    pub error: Option<String>,
    pub moved_to: Option<String>,
    pub next_fetch_at: DateTime<Utc>,
    /// What full text did (subscriptions with `full_content` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_text: Option<FullTextReport>,
}

impl PollReport {
    /// A report of nothing done yet, with `status`.
    fn empty(sub: &Subscription, status: &'static str) -> PollReport {
        PollReport {
            subscription: sub.id,
            url: sub.url.clone(),
            status,
            created: 0,
            updated: 0,
            unchanged: 0,
            skipped_deleted: 0,
            invalid: Vec::new(),
            dropped: Vec::new(),
            rules_dropped: 0,
            rules_changed: 0,
            error: None,
            moved_to: None,
            next_fetch_at: sub.next_fetch_at,
            full_text: None,
        }
    }
}

pub struct Poller {
    store: DynStore,
    /// This server's public URL: WebSub callbacks are built from it.
    base_url: String,
    fetcher: Fetcher,
    global: Arc<Semaphore>,
    concurrency: usize,
    per_host: usize,
    hosts: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
    /// Item pages of `full_content` subscriptions: fetched as feeds are, within the same limits.
    pages: Fetcher,
    /// The owner of this poller's claims (see [`crate::store::Lease`]).
    owner: String,
    lease: Duration,
    /// The subscriptions this poller holds claims on: their leases are renewed until their
    /// polls are saved.
    held: Mutex<HashSet<i64>>,
    /// Log each poll at INFO (the service); off, at DEBUG (a command that prints its polls).
    log_each: std::sync::atomic::AtomicBool,
    /// Subscriptions whose pushed items' pages are being fetched after the push was answered
    /// (one such task per subscription at a time).
    pushed_pages: Mutex<HashSet<i64>>,
}

impl Poller {
    pub fn new(store: DynStore, config: &Config) -> Result<Arc<Poller>, reqwest::Error> {
        let fetcher = Fetcher::new(fetch_config(config))?;
        let pages = Fetcher::new(fulltext::page_fetch_config(fetch_config(config)))?;
        Ok(Arc::new(Poller {
            store,
            base_url: config.base_url.clone(),
            fetcher,
            global: Arc::new(Semaphore::new(config.poll_concurrency)),
            concurrency: config.poll_concurrency,
            per_host: config.poll_per_host,
            hosts: Arc::new(Mutex::new(HashMap::new())),
            pages,
            owner: crate::store::instance_name(),
            lease: config.poll_lease,
            held: Mutex::new(HashSet::new()),
            log_each: true.into(),
            pushed_pages: Mutex::new(HashSet::new()),
        }))
    }

    /// Whether each poll is logged at INFO (the default) or only at DEBUG: a command that
    /// prints every poll's report would otherwise show it twice.
    pub fn log_each_poll(&self, on: bool) {
        self.log_each
            .store(on, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn fetcher(&self) -> &Fetcher {
        &self.fetcher
    }

    fn host_limit(&self, url: &str) -> Arc<Semaphore> {
        let host = Url::parse(url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        host_semaphore(&self.hosts, self.per_host, host)
    }

    /// What full text fetches item pages with: the page fetcher and the same limits as feeds.
    fn page_limits(&self, max_pages: usize) -> fulltext::Limits {
        let (hosts, per_host) = (self.hosts.clone(), self.per_host);
        fulltext::Limits {
            fetcher: self.pages.clone(),
            global: self.global.clone(),
            host: Box::new(move |url: &Url| {
                host_semaphore(
                    &hosts,
                    per_host,
                    url.host_str().unwrap_or_default().to_owned(),
                )
            }),
            max_pages,
        }
    }

    /// Polls every subscription that is due now, then returns what each poll did. Due
    /// subscriptions are claimed, a batch at a time as polls finish (so that the per-host
    /// limit, counted over every instance's claims, lets each host's next feed go as soon as
    /// one of its polls ends): another instance on the same database polls the others, and
    /// a subscription is polled once per due time in all. Claims are renewed while their
    /// polls run and end when their state is saved; the claims of a round abandoned (or of
    /// an instance killed) end with their lease, and the subscriptions are due again then.
    pub async fn poll_due(self: &Arc<Self>) -> Result<Vec<PollReport>, StoreError> {
        let started = Utc::now();
        let mut reports = Vec::new();
        let mut seen = HashSet::new();
        let mut tasks = tokio::task::JoinSet::new();
        let _renewing = AbortOnDrop(tokio::spawn(self.clone().renew_claims()));
        let per_host = u32::try_from(self.per_host).unwrap_or(u32::MAX);
        loop {
            let free = self.concurrency.saturating_sub(tasks.len());
            if tasks.is_empty() || free >= self.concurrency.div_ceil(CLAIM_WHEN_FREE) {
                let lease = Lease {
                    owner: &self.owner,
                    until: Utc::now() + chrono_dur(self.lease),
                };
                let limit = u32::try_from(free).unwrap_or(u32::MAX);
                let claimed = self
                    .store
                    .claim_due_subscriptions(started, &lease, per_host, limit)
                    .await?;
                // Nothing to claim and nothing running: whatever is still due is another
                // instance's to poll (or its host is at its limit), and this round is done.
                if claimed.is_empty() && tasks.is_empty() {
                    return Ok(reports);
                }
                for sub in claimed {
                    // Polled this round already and due again (its state could not be
                    // saved): it waits for a later round, its claim ending with its lease
                    // (released at once, the next claim of this round would return it).
                    if !seen.insert(sub.id) {
                        continue;
                    }
                    self.held.lock().expect("held lock").insert(sub.id);
                    let this = self.clone();
                    tasks.spawn(async move {
                        let id = sub.id;
                        let report = this.poll_as(sub, true).await;
                        this.held.lock().expect("held lock").remove(&id);
                        report
                    });
                }
            }
            match tasks.join_next().await {
                Some(Ok(Ok(report))) => reports.push(report),
                Some(Ok(Err(e))) => tracing::error!(error = %e, "poll could not be recorded"),
                Some(Err(e)) => tracing::error!(error = %e, "poll task failed"),
                None => {}
            }
        }
    }

    /// Renews the leases of the claims this poller holds, every third of a lease, so a slow
    /// upstream does not lose its claim to another instance.
    async fn renew_claims(self: Arc<Self>) {
        let mut every = tokio::time::interval(self.lease / 3);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        every.tick().await;
        loop {
            every.tick().await;
            let ids: Vec<i64> = self
                .held
                .lock()
                .expect("held lock")
                .iter()
                .copied()
                .collect();
            if ids.is_empty() {
                continue;
            }
            let lease = Lease {
                owner: &self.owner,
                until: Utc::now() + chrono_dur(self.lease),
            };
            match self
                .store
                .renew_claims(ClaimKind::Polls, &ids, &lease)
                .await
            {
                Ok(n) if n < ids.len() as u64 => tracing::warn!(
                    held = ids.len(),
                    renewed = n,
                    "poll claims lost (their lease ended): another instance may poll them too"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "poll claims not renewed"),
            }
        }
    }

    /// Polls rounds until `shutdown` says stop. A round in progress is abandoned then: each
    /// poll's writes are one transaction, so an interrupted poll leaves nothing half-done and
    /// its subscription is simply still due.
    pub async fn run(self: Arc<Self>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            let round = tokio::select! {
                r = self.poll_due() => r,
                _ = shutdown.changed() => return,
            };
            match round {
                Ok(reports) if !reports.is_empty() => {
                    tracing::info!(polled = reports.len(), "poll round done")
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "poll round failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(15)) => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    /// Fetches and imports one subscription now, whether or not it is due (and whether or
    /// not another instance has claimed it).
    pub async fn poll(&self, sub: Subscription) -> Result<PollReport, StoreError> {
        self.poll_as(sub, false).await
    }

    /// Polls one subscription; `claimed`: this poller holds its claim, which saving its state
    /// ends.
    async fn poll_as(
        &self,
        mut sub: Subscription,
        claimed: bool,
    ) -> Result<PollReport, StoreError> {
        let host = self.host_limit(&sub.url);
        // Host first, then global: a task waiting for a busy host holds no global slot.
        let host_permit = host.acquire_owned().await.expect("semaphore open");
        let slot = self
            .global
            .clone()
            .acquire_owned()
            .await
            .expect("semaphore open");
        let started = std::time::Instant::now();
        let now = Utc::now();
        let mut report = PollReport::empty(&sub, "error");
        report.next_fetch_at = now;
        let validators = Validators {
            etag: sub.etag.clone(),
            last_modified: sub.last_modified.clone(),
        };
        let result = match Url::parse(&sub.url) {
            Ok(url) => self.fetcher.fetch(&url, &validators).await,
            Err(e) => Err(FetchError::Transport(format!("bad URL {:?}: {e}", sub.url))),
        };
        // The limits are on fetches: released before the import, whose full-text page
        // fetches take them again (held across, two polls could wait on each other).
        drop((host_permit, slot));
        sub.last_fetch_at = Some(now);
        let next_ok = match result {
            Err(e) => {
                sub.last_status = Some(match &e {
                    FetchError::Status(code) => code.to_string(),
                    _ => "error".into(),
                });
                Err((e.to_string(), None))
            }
            Ok(fetched) => self.handle(&mut sub, fetched, &mut report).await?,
        };
        match next_ok {
            Ok(interval) => {
                // While a hub pushes new items, polling is only a safety net.
                let interval = if sub.pushed(now) {
                    (interval * 8).min(schedule::MAX_INTERVAL)
                } else {
                    interval
                };
                sub.error_count = 0;
                sub.last_error = None;
                // A feed that answered 410 and works again (polled by hand) is back.
                sub.enabled = true;
                sub.disabled_reason = None;
                report.next_fetch_at = now + chrono_dur(schedule::spread(interval, rand::random()));
            }
            Err((message, retry_after)) => {
                sub.error_count = sub.error_count.saturating_add(1);
                // Retry-After is honoured, though never as a tight loop.
                let wait = retry_after
                    .map(|d| d.max(Duration::from_secs(60)))
                    .unwrap_or_else(|| {
                        schedule::backoff(sub.interval, sub.error_count, rand::random())
                    });
                report.next_fetch_at = now + chrono_dur(wait.min(schedule::MAX_INTERVAL));
                sub.last_error = Some(message.clone());
                report.error = Some(message);
            }
        }
        sub.next_fetch_at = report.next_fetch_at;
        if !claimed {
            self.store.save_subscription_state(&sub).await?;
        } else if !self.store.release_subscription(&sub, &self.owner).await? {
            // Its lease ended (this process stalled longer than a lease) and another
            // instance took it: that instance's poll writes the state.
            tracing::warn!(
                subscription = sub.id,
                "poll claim lost before its state was saved; state left to the other poll"
            );
        }
        use crate::metrics::{METRICS, Metrics};
        Metrics::count(&METRICS.polls, report.status, 1);
        for (name, n) in [("created", report.created), ("updated", report.updated)] {
            if n > 0 {
                Metrics::count(&METRICS.articles_ingested, name, n as u64);
            }
        }
        macro_rules! polled {
            ($level:ident) => {
                tracing::$level!(
                    subscription = sub.id,
                    url = %sub.url,
                    status = report.status,
                    created = report.created,
                    updated = report.updated,
                    error = report.error.as_deref().unwrap_or(""),
                    ms = started.elapsed().as_millis() as u64,
                    "polled"
                )
            };
        }
        if self.log_each.load(std::sync::atomic::Ordering::Relaxed) {
            polled!(info);
        } else {
            polled!(debug);
        }
        Ok(report)
    }

    /// Acts on a fetch; `Ok(interval)` on success, `Err((why, retry_after))` on failure.
    async fn handle(
        &self,
        sub: &mut Subscription,
        fetched: Fetched,
        report: &mut PollReport,
    ) -> Result<Result<Duration, (String, Option<Duration>)>, StoreError> {
        if let Some(moved) = fetched.moved_to.as_ref().filter(|m| m.as_str() != sub.url) {
            sub.url = moved.to_string();
            report.moved_to = Some(sub.url.clone());
        }
        let base = sub.interval;
        // max-age says how long a response stays fresh, not how often to come back: it may
        // stretch the interval, never shorten it (ttl and sy:updatePeriod may do both).
        let max_age = fetched.max_age.filter(|m| *m > base);
        Ok(match fetched.kind {
            FetchedKind::NotModified => {
                sub.last_status = Some("304".into());
                report.status = "not_modified";
                Ok(schedule::next_interval(base, &[max_age]))
            }
            FetchedKind::Gone => {
                sub.enabled = false;
                sub.disabled_reason = Some(format!(
                    "410 Gone on {}: the upstream says the feed is gone for good",
                    Utc::now().format("%Y-%m-%d")
                ));
                sub.last_status = Some("410".into());
                report.status = "gone";
                Err(("HTTP 410 Gone: subscription disabled".into(), None))
            }
            FetchedKind::RetryLater {
                status,
                retry_after,
            } => {
                sub.last_status = Some(status.to_string());
                report.status = "retry_later";
                let msg = match retry_after {
                    Some(d) => format!("HTTP {status}, Retry-After {}s", d.as_secs()),
                    None => format!("HTTP {status}"),
                };
                Err((msg, retry_after))
            }
            FetchedKind::Body {
                body,
                content_type,
                validators,
            } => {
                let hash = hex::encode(Sha256::digest(&body));
                sub.etag = validators.etag;
                sub.last_modified = validators.last_modified;
                sub.last_status = Some("200".into());
                if sub.body_hash.as_deref() == Some(hash.as_str()) {
                    report.status = "unchanged";
                    return Ok(Ok(schedule::next_interval(base, &[max_age])));
                }
                if discover::is_html(&body, content_type.as_deref()) {
                    return Ok(Err((
                        "not a feed: the URL serves an HTML page".into(),
                        None,
                    )));
                }
                let read = read_feed(body, content_type, fetched.final_url.clone());
                let feed = match read.await {
                    Ok(feed) => feed,
                    Err(e) => return Ok(Err((format!("unreadable feed: {e}"), None))),
                };
                let hints = [feed.ttl, feed.update_period, max_age];
                let hub = feed.hub.clone().zip(Some(
                    feed.self_url.clone().unwrap_or_else(|| sub.url.clone()),
                ));
                self.import(sub, feed, report, fulltext::MAX_PAGES_PER_POLL)
                    .await?;
                if let Some((hub, topic)) = hub {
                    self.websub_subscribe(sub, &hub, &topic).await?;
                }
                // Pages left for later: the next poll must read the feed again, not get a
                // 304 or an unchanged body, so that it fetches them.
                if report.full_text.as_ref().is_some_and(|f| f.pending > 0) {
                    sub.etag = None;
                    sub.last_modified = None;
                    sub.body_hash = None;
                } else {
                    sub.body_hash = Some(hash);
                }
                report.status = "imported";
                Ok(schedule::next_interval(base, &hints))
            }
        })
    }

    /// Imports a feed's items for a subscription; `max_pages` bounds the item pages fetched
    /// for full text now (see [`fulltext::Limits::max_pages`]).
    async fn import(
        &self,
        sub: &mut Subscription,
        feed: UpstreamFeed,
        report: &mut PollReport,
        max_pages: usize,
    ) -> Result<(), StoreError> {
        if feed.title.is_some() {
            sub.title = feed.title.clone();
        }
        if feed.site_url.is_some() {
            sub.site_url = feed.site_url.clone();
        }
        let Some(channel) = self.store.channel(&sub.channel).await? else {
            return Ok(());
        };
        let source = Source {
            title: sub.title.clone(),
            url: sub.url.clone(),
        };
        let mut keyed = identify(&sub.original_url, feed.items);
        if sub.full_content {
            let (items, full) =
                fulltext::complete(&self.store, &self.page_limits(max_pages), sub, keyed).await?;
            keyed = items;
            report.full_text = Some(full);
        }
        // Rules run on what would be published: after full text, before preparing.
        let rules = screen::load_rules(&self.store, sub).await?;
        let screened = screen::screen(&self.store, sub.id, &rules, keyed).await?;
        (report.rules_dropped, report.rules_changed) = screen::counts(&screened);
        let (keys, drafts): (Vec<Vec<String>>, Vec<Draft>) = screened
            .iter()
            .filter(|s| s.verdict.dropped.is_none())
            .map(|s| (s.keys.clone(), s.draft.clone()))
            .unzip();
        // Sanitizing is CPU work that grows with the feed: off the async workers.
        let prepared = {
            let channel = channel.clone();
            tokio::task::spawn_blocking(move || ingest::prepare_upstream(drafts, &channel, &source))
                .await
                .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
        };
        report.invalid = prepared.invalid.iter().map(ToString::to_string).collect();
        report.dropped = prepared.dropped.iter().map(ToString::to_string).collect();
        let items: Vec<KeyedArticle> = prepared
            .articles
            .into_iter()
            .map(|(i, article)| KeyedArticle {
                keys: keys[i].clone(),
                article,
            })
            .collect();
        let outcomes = catalog::import(&self.store, sub, &channel, items).await?;
        for (_, o) in outcomes {
            match o {
                Outcome::Created => report.created += 1,
                Outcome::Updated => report.updated += 1,
                Outcome::Unchanged => report.unchanged += 1,
                Outcome::SkippedDeleted => report.skipped_deleted += 1,
            }
        }
        sub.items_imported += report.created as i64;
        screen::remember(&self.store, sub.id, &rules, &screened).await?;
        Ok(())
    }

    /// Fetches a subscription's feed now (the same fetcher and private-address guard, no
    /// conditional request) and says what `rules` would do to each item, writing nothing:
    /// no validators, no schedule, no dropped items remembered. Items remembered as dropped
    /// under these very rules show as dropped, as the next poll would leave them.
    pub async fn preview(
        &self,
        sub: &Subscription,
        rules: &Rules,
    ) -> Result<Vec<ItemVerdict>, PreviewError> {
        let url = Url::parse(&sub.url)
            .map_err(|e| PreviewError::Upstream(format!("bad URL {:?}: {e}", sub.url)))?;
        let fetched = self
            .fetcher
            .fetch(&url, &Validators::default())
            .await
            .map_err(|e| PreviewError::Upstream(e.to_string()))?;
        let (body, content_type) = match fetched.kind {
            FetchedKind::Body {
                body, content_type, ..
            } => (body, content_type),
            FetchedKind::Gone => return Err(PreviewError::Upstream("HTTP 410 Gone".into())),
            FetchedKind::RetryLater { status, .. } => {
                return Err(PreviewError::Upstream(format!("HTTP {status}; try later")));
            }
            FetchedKind::NotModified => {
                return Err(PreviewError::Upstream("unexpected 304".into()));
            }
        };
        if discover::is_html(&body, content_type.as_deref()) {
            return Err(PreviewError::Upstream(
                "not a feed: the URL serves an HTML page".into(),
            ));
        }
        let feed = read_feed(body, content_type, fetched.final_url.clone())
            .await
            .map_err(|e| PreviewError::Upstream(format!("unreadable feed: {e}")))?;
        let keyed = identify(&sub.original_url, feed.items);
        let titles: Vec<Option<String>> = keyed.iter().map(|(_, d)| d.title.clone()).collect();
        let screened = screen::screen(&self.store, sub.id, rules, keyed).await?;
        // The id an item is imported under (the rules may strip tracking from it), and the
        // title it came with, for the person to know it again.
        Ok(titles
            .into_iter()
            .zip(&screened)
            .map(|(title, s)| ItemVerdict::new(s.draft.id.clone().unwrap_or_default(), title, s))
            .collect())
    }
}

/// Why a preview could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    #[error("cannot preview: {0}")]
    Upstream(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Poller {
    /// Subscribes through the hub an upstream advertises (WebSub §5.1), unless a lease is
    /// running for more than a day or a request went out in the last ten minutes. The
    /// request, its secret and its callback token are stored first (the hub may verify
    /// before it answers); the verification is accepted only for this pending request. The
    /// token is kept across renewals to the same hub and topic, so the callback URL stays
    /// the same. A secret goes only to https hubs (WebSub §5.1): an http hub is subscribed
    /// to without one, and its pushes are authenticated by the tokened URL alone.
    async fn websub_subscribe(
        &self,
        sub: &mut Subscription,
        hub: &str,
        topic: &str,
    ) -> Result<(), StoreError> {
        let now = Utc::now();
        let leased = sub
            .websub_expires_at
            .is_some_and(|t| t > now + chrono::Duration::days(1));
        let same =
            sub.websub_hub.as_deref() == Some(hub) && sub.websub_topic.as_deref() == Some(topic);
        let recent = sub
            .websub_requested_at
            .is_some_and(|t| t > now - chrono::Duration::minutes(10));
        let tokened = sub.websub_token.is_some();
        if same && tokened && (leased || recent) {
            return Ok(());
        }
        let Ok(hub_url) = Url::parse(hub) else {
            return Ok(());
        };
        let token = match &sub.websub_token {
            Some(t) if same => t.clone(),
            _ => URL_SAFE_NO_PAD.encode(rand::random::<[u8; 24]>()),
        };
        let secret = (hub_url.scheme() == "https").then(|| hex::encode(rand::random::<[u8; 24]>()));
        if secret.is_none() && !(same && tokened) {
            tracing::warn!(
                subscription = sub.id,
                %hub,
                "websub hub is not on https: subscribing without hub.secret, so its pushes are trusted by their callback URL alone"
            );
        }
        self.store
            .websub_requested(
                sub.id,
                &WebsubRequest {
                    hub,
                    topic,
                    secret: secret.as_deref(),
                    token: &token,
                },
            )
            .await?;
        sub.websub_hub = Some(hub.to_owned());
        sub.websub_topic = Some(topic.to_owned());
        sub.websub_secret = secret.clone();
        sub.websub_token = Some(token.clone());
        sub.websub_pending = true;
        sub.websub_requested_at = Some(now);
        let callback = format!(
            "{}{}/{}/{token}",
            self.base_url,
            crate::websub::CALLBACK_PATH,
            sub.id
        );
        let lease = crate::websub::DEFAULT_LEASE_SECS.to_string();
        let mut form = vec![
            ("hub.mode", "subscribe"),
            ("hub.topic", topic),
            ("hub.callback", callback.as_str()),
            ("hub.lease_seconds", lease.as_str()),
        ];
        if let Some(secret) = &secret {
            form.push(("hub.secret", secret.as_str()));
        }
        match self.fetcher.post_form(&hub_url, &form).await {
            Ok(status) if (200..300).contains(&status) => {
                tracing::info!(subscription = sub.id, %hub, "websub subscription requested")
            }
            Ok(status) => tracing::warn!(subscription = sub.id, %hub, status, "websub hub refused"),
            Err(e) => {
                tracing::warn!(subscription = sub.id, %hub, error = %e, "websub hub unreachable")
            }
        }
        Ok(())
    }

    /// Imports what a hub pushed for a subscription: the same parsing, dedupe and ingest as a
    /// poll (WebSub §7). The hub waits for the answer, so pages of `full_content` items are not
    /// fetched before it: the items are stored with the feed's text, and a task started here
    /// fetches their pages within the poller's limits and imports the push again with them. If
    /// the process stops first, the pages are pending and the next poll reads the whole feed
    /// and fetches them.
    pub async fn import_pushed(
        self: &Arc<Self>,
        mut sub: Subscription,
        body: bytes::Bytes,
        content_type: Option<String>,
    ) -> Result<PollReport, StoreError> {
        let mut report = PollReport::empty(&sub, "pushed");
        let base = Url::parse(&sub.url).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        match read_feed(body, content_type, base).await {
            Ok(feed) => {
                self.import(&mut sub, feed.clone(), &mut report, 0).await?;
                if report.full_text.as_ref().is_some_and(|f| f.pending > 0) {
                    self.store.forget_validators(sub.id).await?;
                    self.fetch_pushed_pages(sub.clone(), feed);
                }
            }
            Err(e) => {
                report.status = "error";
                report.error = Some(format!("unreadable push: {e}"));
            }
        }
        tracing::info!(
            subscription = sub.id,
            created = report.created,
            updated = report.updated,
            "websub push imported"
        );
        Ok(report)
    }
}

impl Poller {
    /// Fetches the pages a push left pending and imports the pushed items again with them,
    /// in a task of its own (one per subscription at a time; a push arriving meanwhile leaves
    /// its pages to the next poll).
    fn fetch_pushed_pages(self: &Arc<Self>, mut sub: Subscription, feed: UpstreamFeed) {
        if !self
            .pushed_pages
            .lock()
            .expect("not poisoned")
            .insert(sub.id)
        {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            let mut report = PollReport::empty(&sub, "pushed");
            let done = this
                .import(&mut sub, feed, &mut report, fulltext::MAX_PAGES_PER_POLL)
                .await;
            this.pushed_pages
                .lock()
                .expect("not poisoned")
                .remove(&sub.id);
            match done {
                Ok(()) => tracing::info!(
                    subscription = sub.id,
                    updated = report.updated,
                    full_text = ?report.full_text,
                    "pages of pushed items fetched"
                ),
                Err(e) => tracing::warn!(
                    subscription = sub.id,
                    error = %e,
                    "pages of pushed items not fetched; the next poll fetches them"
                ),
            }
        });
    }
}

/// Reads an upstream feed off the async workers: parsing (decoding, repair, mapping) is CPU
/// work that grows with the body, up to seconds for 8 MB of hostile markup, and would hold a
/// worker that serves other clients meanwhile.
async fn read_feed(
    body: bytes::Bytes,
    content_type: Option<String>,
    url: Url,
) -> Result<UpstreamFeed, crate::formats::ParseError> {
    tokio::task::spawn_blocking(move || parse_feed(&body, content_type.as_deref(), &url))
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}

/// Gives every item its identity keys (guid, then link, then a hash of title and content)
/// and the id its article gets if it is new. A guid that repeats within one document is no
/// identity at all (some feeds put the same one on every item), so it is not used there.
/// `original_url` is the subscription's URL as given, which derived ids hang on. Public so
/// that `examples/republish_eval` republishes items with the ids a poll gives them.
pub fn identify(original_url: &str, items: Vec<Draft>) -> Vec<(Vec<String>, Draft)> {
    let mut guid_count: HashMap<String, usize> = HashMap::new();
    for d in &items {
        if let Some(g) = d.id.as_deref().map(str::trim).filter(|g| !g.is_empty()) {
            *guid_count.entry(g.to_owned()).or_default() += 1;
        }
    }
    items
        .into_iter()
        .map(|mut d| {
            let guid =
                d.id.as_deref()
                    .map(str::trim)
                    .filter(|g| !g.is_empty() && guid_count.get(*g) == Some(&1))
                    .map(str::to_owned);
            let link = d
                .url
                .as_deref()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned);
            let mut hasher = Sha256::new();
            for part in [&d.title, &d.summary, &d.content_html, &d.content_text] {
                hasher.update(part.as_deref().unwrap_or("").as_bytes());
                hasher.update([0]);
            }
            let hash = hex::encode(&hasher.finalize()[..16]);
            let mut keys = Vec::with_capacity(3);
            if let Some(g) = &guid {
                keys.push(format!("guid:{g}"));
            }
            if let Some(l) = &link {
                keys.push(format!("link:{l}"));
            }
            keys.push(format!("hash:{hash}"));
            // A new article's id: a guid that is already a global IRI in a scheme ids are
            // registered in (not YouTube's `yt:video:…`, which validators flag), else the
            // link, else an id derived from the subscription and the item's first key (stable
            // forever).
            d.id = Some(match (&guid, &link) {
                (Some(g), _) if crate::formats::atom::entry_id(g) == *g && registered_scheme(g) => {
                    g.clone()
                }
                // Not a link in a scheme ids are not written in (`javascript:`…): the
                // pipeline drops such a link, and it must not come back as the id.
                (_, Some(l)) if registered_scheme(l) => l.clone(),
                _ => format!(
                    "urn:uuid:{}",
                    uuid::Uuid::new_v5(
                        &uuid::Uuid::NAMESPACE_URL,
                        format!("{}#{}", original_url, keys[0]).as_bytes()
                    )
                ),
            });
            (keys, d)
        })
        .collect()
}

/// True for the IRI schemes that ids are written in and that IANA registers (the W3C
/// validator warns on any other in an Atom id).
fn registered_scheme(iri: &str) -> bool {
    let scheme = iri.split(':').next().unwrap_or("").to_ascii_lowercase();
    matches!(
        scheme.as_str(),
        "http" | "https" | "urn" | "tag" | "info" | "ftp" | "mailto" | "news" | "nntp"
    )
}

/// The semaphore that limits fetches to `host`, made on first use.
fn host_semaphore(
    hosts: &Mutex<HashMap<String, Arc<Semaphore>>>,
    per_host: usize,
    host: String,
) -> Arc<Semaphore> {
    let mut hosts = hosts.lock().expect("lock");
    hosts
        .entry(host)
        .or_insert_with(|| Arc::new(Semaphore::new(per_host)))
        .clone()
}

/// Aborts a task when dropped: the renewal of a round's claims ends with the round.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn chrono_dur(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::days(1))
}

/// The fetch settings a [`Config`] implies.
pub fn fetch_config(config: &Config) -> FetchConfig {
    FetchConfig {
        user_agent: format!(
            "syndic/{} (feed poller; +{})",
            env!("CARGO_PKG_VERSION"),
            config.base_url
        ),
        connect_timeout: Duration::from_secs(10).min(config.fetch_timeout),
        timeout: config.fetch_timeout,
        max_body: config.fetch_max_body,
        guard: Guard::upstreams(config.allow_private_upstreams),
        own: super::own::OwnFeeds::new(config),
        accept: super::fetch::FEED_ACCEPT,
    }
}
