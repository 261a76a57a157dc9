//! Content distribution (WebSub §7): the worker that POSTs a channel's new feed to each of its
//! subscribers, signed when they gave a secret, retrying failures with backoff.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{Notify, Semaphore, mpsc};

use chrono::Utc;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::Hub;
use crate::formats::{self, FeedFormat};
use crate::metrics::{METRICS, Metrics};
use crate::model::{Channel, HubSubscription, Page};
use crate::render::{DEFAULT_LIMIT, load_page};
use crate::store::{ClaimKind, HubOutcome, Lease, StoreError};

/// Deliveries in flight at once, in all.
const PARALLEL: usize = 64;
/// Deliveries in flight at once to one callback host: a host with many subscribers is not
/// flooded, and cannot take every slot.
const PER_HOST: usize = 8;
/// Due deliveries are claimed in batches of at most this many (twice what runs at once: other
/// instances on the same database claim the rest).
const PAGE: u32 = 2 * PARALLEL as u32;
/// One delivery may take this long in all; a slow subscriber holds one slot, no longer.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
/// Outcomes are recorded in batches of at most this many (one transaction each).
const RECORD_BATCH: usize = 256;

/// `sha256=` and the hex HMAC of `body` under `secret` (WebSub §8).
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The wait before retrying after `attempts` failures: 15 s doubling, at most an hour.
fn retry_after(attempts: u32) -> Duration {
    let secs = 15u64.saturating_mul(1 << attempts.min(8));
    Duration::from_secs(secs.min(3600)).mul_f64(0.8 + 0.4 * rand::random::<f64>())
}

/// A channel's feed as delivered: rendered once per channel, format and version, and shared by
/// every subscriber of that change.
struct Body {
    version: i64,
    bytes: Bytes,
}

/// The delivery engine: claims due subscriptions, sends each change to each subscriber
/// concurrently (bounded in all and per callback host), and records outcomes in batches. A
/// subscription stays "in flight" from the moment it is sent until its outcome is recorded, so
/// it is never sent twice for one change; its claim (renewed while in flight, ended when its
/// outcome is recorded) keeps every other instance on the same database from sending it too,
/// and passes to another instance when this one dies.
struct Engine {
    hub: Arc<Hub>,
    /// The owner of this engine's claims.
    owner: String,
    global: Arc<Semaphore>,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
    in_flight: Mutex<HashSet<i64>>,
    /// Outcomes recorded so far, by batch: the batch count, and the batch each subscription
    /// was last recorded in. A due list read while a batch was being recorded may still show
    /// that batch's subscriptions as due; they are not sent again on its word.
    recorded_batches: Mutex<(u64, HashMap<i64, u64>)>,
    bodies: Mutex<HashMap<(i64, &'static str), Arc<Body>>>,
    outcomes: mpsc::UnboundedSender<HubOutcome>,
    /// Told each time a batch of outcomes is recorded: slots and subscriptions are free again.
    recorded: Notify,
}

impl Engine {
    fn host_limit(&self, host: &str) -> Arc<Semaphore> {
        let mut hosts = self.hosts.lock().expect("hosts lock");
        hosts
            .entry(host.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(PER_HOST)))
            .clone()
    }

    /// The body of a channel's current feed in a format, rendered once per version.
    async fn body(&self, channel: &Channel, format: FeedFormat) -> Result<Arc<Body>, StoreError> {
        let key = (channel.id, format.file_name());
        if let Some(b) = self.bodies.lock().expect("bodies lock").get(&key)
            && b.version == channel.version
        {
            return Ok(b.clone());
        }
        let page = Page {
            limit: DEFAULT_LIMIT,
            before: None,
            tag: None,
        };
        let loaded = load_page(&self.hub.store, channel, &page).await?;
        let bytes = formats::render(format, &loaded.doc(channel, &page, &self.hub.base_url));
        let body = Arc::new(Body {
            version: channel.version,
            bytes: Bytes::from(bytes),
        });
        self.bodies
            .lock()
            .expect("bodies lock")
            .insert(key, body.clone());
        Ok(body)
    }

    /// Starts a delivery for every due subscription not in flight yet; returns how many.
    async fn start_due(self: &Arc<Self>) -> Result<usize, StoreError> {
        let since = {
            let mut recorded = self.recorded_batches.lock().expect("recorded lock");
            let since = recorded.0;
            // Entries from before this read cannot make it stale.
            recorded.1.retain(|_, batch| *batch >= since);
            since
        };
        let lease = Lease {
            owner: &self.owner,
            until: Utc::now() + chrono::Duration::from_std(self.hub.lease).unwrap_or_default(),
        };
        let due = self
            .hub
            .store
            .hub_claim_due(Utc::now(), &lease, PAGE)
            .await?;
        let stale: HashSet<i64> = {
            let recorded = self.recorded_batches.lock().expect("recorded lock");
            recorded
                .1
                .iter()
                .filter(|(_, batch)| **batch >= since)
                .map(|(id, _)| *id)
                .collect()
        };
        let mut channels: HashMap<i64, Option<Channel>> = HashMap::new();
        let mut started = 0;
        let mut skipped = Vec::new();
        for sub in due {
            if stale.contains(&sub.id) {
                skipped.push(sub.id);
                continue;
            }
            if !self
                .in_flight
                .lock()
                .expect("in-flight lock")
                .insert(sub.id)
            {
                continue;
            }
            let channel = match channels.get(&sub.channel_id) {
                Some(c) => c.clone(),
                None => {
                    let c = self.hub.store.channel_by_id(sub.channel_id).await?;
                    channels.insert(sub.channel_id, c.clone());
                    c
                }
            };
            let Some(channel) = channel else {
                let _ = self.outcomes.send(HubOutcome::Remove { id: sub.id });
                continue;
            };
            let format = FeedFormat::from_file_name(&sub.format).unwrap_or(FeedFormat::Atom);
            let body = self.body(&channel, format).await?;
            let engine = self.clone();
            started += 1;
            tokio::spawn(async move {
                let outcome = engine.deliver(sub, format, body).await;
                let _ = engine.outcomes.send(outcome);
            });
        }
        if !skipped.is_empty() {
            // Claimed but not sent: the claims end now, so the next round takes them again
            // instead of waiting out their lease.
            let now = Lease {
                owner: &self.owner,
                until: Utc::now(),
            };
            self.hub
                .store
                .renew_claims(ClaimKind::Deliveries, &skipped, &now)
                .await?;
        }
        Ok(started)
    }

    async fn deliver(
        &self,
        sub: HubSubscription,
        format: FeedFormat,
        body: Arc<Body>,
    ) -> HubOutcome {
        let url = match reqwest::Url::parse(&sub.callback) {
            Ok(url) if self.hub.guard.check_url(&url).is_ok() => url,
            // The callback was acceptable when it subscribed; an address rule changed since.
            _ => return HubOutcome::Remove { id: sub.id },
        };
        let host = self.host_limit(url.host_str().unwrap_or(""));
        let _host = host.acquire_owned().await.expect("never closed");
        let _slot = self
            .global
            .clone()
            .acquire_owned()
            .await
            .expect("never closed");
        let hub = &self.hub;
        let mut req = hub
            .client
            .post(url)
            .timeout(DELIVERY_TIMEOUT)
            .header(reqwest::header::CONTENT_TYPE, format.content_type())
            .header(
                reqwest::header::LINK,
                format!(
                    "<{}>; rel=\"hub\", <{}>; rel=\"self\"",
                    hub.hub_url(),
                    sub.topic
                ),
            );
        if let Some(secret) = &sub.secret {
            req = req.header("X-Hub-Signature", signature(secret, &body.bytes));
        }
        match req.body(body.bytes.clone()).send().await {
            Ok(r) if r.status().is_success() => {
                tracing::debug!(callback = %sub.callback, version = body.version, "websub delivered");
                Metrics::count(&METRICS.websub_deliveries, "delivered", 1);
                HubOutcome::Delivered {
                    id: sub.id,
                    version: body.version,
                }
            }
            Ok(r) if r.status() == reqwest::StatusCode::GONE => {
                tracing::info!(callback = %sub.callback, "websub subscriber gone (410): removed");
                Metrics::count(&METRICS.websub_deliveries, "gone", 1);
                HubOutcome::Remove { id: sub.id }
            }
            other => {
                let error = match other {
                    Ok(r) => format!("HTTP {}", r.status().as_u16()),
                    Err(e) => e.to_string(),
                };
                Metrics::count(&METRICS.websub_deliveries, "failed", 1);
                let wait = retry_after(sub.attempts);
                tracing::warn!(callback = %sub.callback, %error, retry_in_s = wait.as_secs(), "websub delivery failed");
                HubOutcome::Failed {
                    id: sub.id,
                    error,
                    retry_at: Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default(),
                }
            }
        }
    }

    /// Renews the claims of the deliveries in flight, every third of a lease.
    async fn renew(self: Arc<Self>) {
        let mut every = tokio::time::interval(self.hub.lease / 3);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        every.tick().await;
        loop {
            every.tick().await;
            let ids: Vec<i64> = self
                .in_flight
                .lock()
                .expect("in-flight lock")
                .iter()
                .copied()
                .collect();
            if ids.is_empty() {
                continue;
            }
            let lease = Lease {
                owner: &self.owner,
                until: Utc::now() + chrono::Duration::from_std(self.hub.lease).unwrap_or_default(),
            };
            if let Err(e) = self
                .hub
                .store
                .renew_claims(ClaimKind::Deliveries, &ids, &lease)
                .await
            {
                tracing::warn!(error = %e, "websub delivery claims not renewed");
            }
        }
    }

    /// Records outcomes as they come, in batches, then frees their subscriptions.
    async fn record(self: Arc<Self>, mut rx: mpsc::UnboundedReceiver<HubOutcome>) {
        let mut batch = Vec::with_capacity(RECORD_BATCH);
        while rx.recv_many(&mut batch, RECORD_BATCH).await > 0 {
            // A failed write is retried: until an outcome is recorded, its subscription
            // stays in flight and is not sent again.
            while let Err(e) = self.hub.store.hub_record(&self.owner, &batch).await {
                tracing::error!(error = %e, "websub deliveries not recorded; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            let mut recorded = self.recorded_batches.lock().expect("recorded lock");
            let this_batch = recorded.0;
            recorded.0 += 1;
            let mut in_flight = self.in_flight.lock().expect("in-flight lock");
            for o in batch.drain(..) {
                let (HubOutcome::Delivered { id, .. }
                | HubOutcome::Failed { id, .. }
                | HubOutcome::Remove { id }) = o;
                recorded.1.insert(id, this_batch);
                in_flight.remove(&id);
            }
            drop((in_flight, recorded));
            self.recorded.notify_waiters();
        }
    }
}

/// Delivers until `shutdown` says stop: a round starts the deliveries that are due, then waits
/// for outcomes to be recorded, a channel to change (a write of this process, or on
/// PostgreSQL of any instance: [`crate::store::Store::channel_changes`]), or at most a second
/// (retries coming due), before looking again.
pub async fn run_deliveries(hub: Arc<Hub>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let engine = Arc::new(Engine {
        owner: crate::store::instance_name(),
        hub,
        global: Arc::new(Semaphore::new(PARALLEL)),
        hosts: Mutex::new(HashMap::new()),
        in_flight: Mutex::new(HashSet::new()),
        recorded_batches: Mutex::new((0, HashMap::new())),
        bodies: Mutex::new(HashMap::new()),
        outcomes: tx,
        recorded: Notify::new(),
    });
    let recorder = tokio::spawn(engine.clone().record(rx));
    let renewer = tokio::spawn(engine.clone().renew());
    let mut changes = engine.hub.store.channel_changes();
    loop {
        if *shutdown.borrow() {
            break;
        }
        // Seen from here: a change committed during the round wakes the next one.
        changes.borrow_and_update();
        let recorded = engine.recorded.notified();
        let round = tokio::select! {
            r = engine.start_due() => r,
            _ = shutdown.changed() => break,
        };
        if let Err(e) = round {
            tracing::error!(error = %e, "websub delivery round failed");
        }
        tokio::select! {
            _ = recorded => {}
            _ = async {
                if changes.changed().await.is_err() {
                    std::future::pending::<()>().await
                }
            } => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = shutdown.changed() => break,
        }
    }
    // Deliveries in flight finish on their own (each has a timeout); what they record after
    // this is lost with the process, and they are sent again after a restart.
    recorder.abort();
    renewer.abort();
}

#[cfg(test)]
mod tests {
    #[test]
    fn signature_is_hmac_sha256() {
        // RFC 4231 test case 2.
        let sig = super::signature("Jefe", b"what do ya want for nothing?");
        assert_eq!(
            sig,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
