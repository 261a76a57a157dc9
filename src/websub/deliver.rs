//! Content distribution (WebSub §7): the worker that POSTs a channel's new feed to each of its
//! subscribers, signed when they gave a secret, retrying failures with backoff.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::Hub;
use crate::formats::{self, FeedFormat};
use crate::metrics::{METRICS, Metrics};
use crate::model::{HubSubscription, Page};
use crate::render::{DEFAULT_LIMIT, load_page};
use crate::store::StoreError;

/// Deliveries in flight at once.
const PARALLEL: u32 = 16;

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

/// Delivers to every subscriber that is due; returns how many deliveries were tried.
pub async fn deliver_due(hub: &Arc<Hub>) -> Result<usize, StoreError> {
    let due = hub.store.hub_due(Utc::now(), PARALLEL).await?;
    let n = due.len();
    let mut tasks = tokio::task::JoinSet::new();
    for sub in due {
        let hub = hub.clone();
        tasks.spawn(async move { deliver(&hub, sub).await });
    }
    while let Some(done) = tasks.join_next().await {
        if let Ok(Err(e)) = done {
            tracing::error!(error = %e, "websub delivery not recorded");
        }
    }
    Ok(n)
}

async fn deliver(hub: &Hub, sub: HubSubscription) -> Result<(), StoreError> {
    let Some(channel) = hub.store.channel_by_id(sub.channel_id).await? else {
        return hub.store.hub_remove(sub.id).await;
    };
    let format = FeedFormat::from_file_name(&sub.format).unwrap_or(FeedFormat::Atom);
    let page = Page {
        limit: DEFAULT_LIMIT,
        before: None,
        tag: None,
    };
    let loaded = load_page(&hub.store, &channel, &page).await?;
    let body = formats::render(format, &loaded.doc(&channel, &page, &hub.base_url));
    let mut req = hub
        .client
        .post(&sub.callback)
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
        req = req.header("X-Hub-Signature", signature(secret, &body));
    }
    let outcome = match reqwest::Url::parse(&sub.callback) {
        Ok(url) if hub.guard.check_url(&url).is_ok() => req.body(body).send().await,
        _ => {
            // The callback was acceptable when it subscribed; an address rule changed since.
            return hub.store.hub_remove(sub.id).await;
        }
    };
    match outcome {
        Ok(r) if r.status().is_success() => {
            tracing::info!(callback = %sub.callback, version = channel.version, "websub delivered");
            Metrics::count(&METRICS.websub_deliveries, "delivered", 1);
            hub.store.hub_delivered(sub.id, channel.version).await
        }
        Ok(r) if r.status() == reqwest::StatusCode::GONE => {
            tracing::info!(callback = %sub.callback, "websub subscriber gone (410): removed");
            Metrics::count(&METRICS.websub_deliveries, "gone", 1);
            hub.store.hub_remove(sub.id).await
        }
        other => {
            let error = match other {
                Ok(r) => format!("HTTP {}", r.status().as_u16()),
                Err(e) => e.to_string(),
            };
            Metrics::count(&METRICS.websub_deliveries, "failed", 1);
            let wait = retry_after(sub.attempts);
            tracing::warn!(callback = %sub.callback, %error, retry_in_s = wait.as_secs(), "websub delivery failed");
            let at = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
            hub.store.hub_failed(sub.id, &error, at).await
        }
    }
}

/// Delivers until `shutdown` says stop, looking for changes every second.
pub async fn run_deliveries(hub: Arc<Hub>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    loop {
        if *shutdown.borrow() {
            return;
        }
        let round = tokio::select! {
            r = deliver_due(&hub) => r,
            _ = shutdown.changed() => return,
        };
        if let Err(e) = round {
            tracing::error!(error = %e, "websub delivery round failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = shutdown.changed() => return,
        }
    }
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
