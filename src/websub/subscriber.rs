//! WebSub, subscriber side: what syndic accepts at `/websub/callback/{id}/{token}` from the
//! hubs of the feeds it polls. The subscription request itself is sent by the poller
//! (`poll::poller`), which gives each subscription a random token in its callback URL and
//! marks the request pending. A verification is confirmed only for that pending request
//! (the token and the topic syndic asked for), its lease is bounded, and a push is read only
//! once it is known to come from the hub: signed with the secret syndic gave (sha256, sha384
//! or sha512), or, for a hub on plain http that got no secret, sent to the tokened URL.

use std::collections::HashSet;
use std::sync::{LazyLock, Mutex};

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Sha256, Sha384, Sha512};

use super::{DEFAULT_LEASE_SECS, MAX_LEASE_SECS};
use crate::model::Subscription;
use crate::store::{DynStore, StoreError};

/// The query a hub verifies intent with (WebSub §5.3).
#[derive(Debug, Clone, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Verification {
    #[serde(rename = "hub.mode")]
    pub mode: String,
    #[serde(rename = "hub.topic")]
    pub topic: String,
    #[serde(rename = "hub.challenge")]
    pub challenge: Option<String>,
    #[serde(rename = "hub.lease_seconds")]
    pub lease_seconds: Option<String>,
}

/// What to answer a verification.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// 200 with the challenge: confirmed.
    Echo(String),
    /// 200, empty: a denial taken note of.
    Noted,
    /// 404: not a request of ours.
    Refuse(String),
}

/// True when `presented` is the subscription's callback token (compared in constant time).
fn token_matches(sub: &Subscription, presented: Option<&str>) -> bool {
    match (sub.websub_token.as_deref(), presented) {
        (Some(ours), Some(theirs)) if ours.len() == theirs.len() => {
            ours.bytes()
                .zip(theirs.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
        }
        _ => false,
    }
}

/// The lease a hub grants, in seconds, kept between 0 and [`MAX_LEASE_SECS`] (a hub may
/// say anything, up to `i64::MAX` and beyond).
fn bounded_lease(given: Option<&str>) -> i64 {
    match given.map(str::trim) {
        None | Some("") => DEFAULT_LEASE_SECS,
        Some(s) => match s.parse::<i128>() {
            Ok(n) => n.clamp(0, MAX_LEASE_SECS as i128) as i64,
            Err(_) => DEFAULT_LEASE_SECS,
        },
    }
}

/// Answers a hub's verification GET for subscription `id`, reached with `token` (`None` on
/// the old callback URL without one).
pub async fn verify(
    store: &DynStore,
    id: i64,
    token: Option<&str>,
    v: Verification,
) -> Result<Answer, StoreError> {
    let sub = store.subscription(id).await?;
    let ours = sub.as_ref().filter(|s| token_matches(s, token));
    let pending = ours.is_some_and(|s| s.websub_pending);
    let wanted_topic = sub
        .as_ref()
        .is_some_and(|s| s.websub_topic.as_deref() == Some(v.topic.as_str()));
    let refuse = || {
        Answer::Refuse(format!(
            "subscription #{id} has no pending request to {} {:?}",
            v.mode, v.topic
        ))
    };
    Ok(match v.mode.as_str() {
        "subscribe" if pending && wanted_topic => {
            let lease = bounded_lease(v.lease_seconds.as_deref());
            let until = chrono::Utc::now() + chrono::Duration::seconds(lease);
            store.websub_lease(id, Some(until)).await?;
            tracing::info!(subscription = id, lease, "websub lease granted");
            Answer::Echo(v.challenge.unwrap_or_default())
        }
        // syndic never asks to unsubscribe from a topic it still wants; anything else it is
        // glad to confirm.
        "unsubscribe" if !(ours.is_some() && wanted_topic) => {
            Answer::Echo(v.challenge.unwrap_or_default())
        }
        "denied" if pending && wanted_topic => {
            store.websub_lease(id, None).await?;
            tracing::warn!(subscription = id, topic = %v.topic, "websub hub denied the subscription");
            Answer::Noted
        }
        _ => refuse(),
    })
}

/// Subscriptions already warned about a sha1-only hub (once each per process).
static SHA1_WARNED: LazyLock<Mutex<HashSet<i64>>> = LazyLock::new(Mutex::default);

/// How a push is authenticated, decided before its body is read.
#[derive(Debug)]
pub enum PushCheck {
    /// Not ours (no such subscription, or the wrong token): 410, so the hub stops.
    Gone,
    /// Acknowledged and ignored (WebSub §8): no usable signature.
    Ignore(&'static str),
    /// Read the body and check it against this signature.
    Signed(Signature),
    /// A hub without a secret (plain http), reached at the tokened URL: read it.
    Unsigned,
}

/// An `X-Hub-Signature` with an algorithm syndic checks.
#[derive(Debug)]
pub struct Signature {
    algorithm: Algorithm,
    digest: Vec<u8>,
}

#[derive(Debug, Clone, Copy)]
enum Algorithm {
    Sha256,
    Sha384,
    Sha512,
}

/// What to do with a push to subscription `sub` (`None`: no such subscription) reached with
/// `token`, carrying `signature` (the `X-Hub-Signature` header).
pub fn check_push(
    sub: Option<&Subscription>,
    token: Option<&str>,
    signature: Option<&str>,
) -> PushCheck {
    let Some(sub) = sub else {
        return PushCheck::Gone;
    };
    if token.is_some() && !token_matches(sub, token) {
        return PushCheck::Gone;
    }
    if sub.websub_secret.is_none() {
        return if token.is_some() {
            PushCheck::Unsigned
        } else {
            PushCheck::Ignore("no secret and no token")
        };
    }
    let Some((method, hex_sig)) = signature.and_then(|s| s.trim().split_once('=')) else {
        return PushCheck::Ignore("no signature");
    };
    let algorithm = match method.to_ascii_lowercase().as_str() {
        "sha256" => Algorithm::Sha256,
        "sha384" => Algorithm::Sha384,
        "sha512" => Algorithm::Sha512,
        "sha1" => {
            if SHA1_WARNED.lock().expect("lock").insert(sub.id) {
                tracing::warn!(
                    subscription = sub.id,
                    hub = sub.websub_hub.as_deref().unwrap_or(""),
                    "websub hub signs with sha1 only: its pushes are ignored, polling goes on"
                );
            }
            return PushCheck::Ignore("sha1 signature");
        }
        _ => return PushCheck::Ignore("unknown signature method"),
    };
    match hex::decode(hex_sig) {
        Ok(digest) => PushCheck::Signed(Signature { algorithm, digest }),
        Err(_) => PushCheck::Ignore("signature is not hex"),
    }
}

impl Signature {
    /// True when `body` was signed with `secret`.
    pub fn verify(&self, secret: &str, body: &[u8]) -> bool {
        fn check<M: Mac + KeyInit>(secret: &str, body: &[u8], digest: &[u8]) -> bool {
            let Ok(mut mac) = <M as KeyInit>::new_from_slice(secret.as_bytes()) else {
                return false;
            };
            mac.update(body);
            mac.verify_slice(digest).is_ok()
        }
        match self.algorithm {
            Algorithm::Sha256 => check::<Hmac<Sha256>>(secret, body, &self.digest),
            Algorithm::Sha384 => check::<Hmac<Sha384>>(secret, body, &self.digest),
            Algorithm::Sha512 => check::<Hmac<Sha512>>(secret, body, &self.digest),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_are_bounded_whatever_the_hub_says() {
        assert_eq!(bounded_lease(Some("9223372036854775807")), MAX_LEASE_SECS);
        assert_eq!(
            bounded_lease(Some("99999999999999999999999")),
            MAX_LEASE_SECS
        );
        assert_eq!(bounded_lease(Some("soon")), DEFAULT_LEASE_SECS);
        assert_eq!(bounded_lease(Some("-5")), 0);
        assert_eq!(bounded_lease(Some("3600")), 3600);
        assert_eq!(bounded_lease(None), DEFAULT_LEASE_SECS);
    }
}
