//! Bearer-token authentication for `/api/v1`. The presented token is hashed and looked up by
//! its hash, so the comparison never touches a stored secret (and a timing difference could
//! only reveal a prefix of a SHA-256, which is of no use).
//!
//! Failed attempts are limited per presented credential and per client address (through the
//! trusted proxies, see [`super::client`]). A valid token always works, even from an address
//! that is over its limit: many users share one address behind a proxy or a NAT, and a
//! stranger's failures must not lock them out. A request with no credential at all counts
//! for nothing. Tokens are 256 random bits, so the limit is not what stops guessing; it
//! turns a flood of bad tokens into cheap 429s (a credential that failed too often is not
//! even looked up) and makes it visible.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;

use super::{ApiError, AppState};
use crate::token;

/// Failed attempts allowed per credential and per client address within [`WINDOW`].
const MAX_FAILURES: u32 = 20;
const WINDOW: Duration = Duration::from_secs(60);
/// Entries kept at most; past it, new failures are not recorded until windows end (memory
/// stays bounded whatever a client sends).
const MAX_ENTRIES: usize = 100_000;

/// What failures are counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    /// The SHA-256 of a presented token.
    Credential(String),
    /// A client address; IPv6 by its /64, which one host usually has to itself.
    Client(IpAddr),
}

impl Key {
    fn client(ip: IpAddr) -> Key {
        Key::Client(match ip {
            IpAddr::V6(v6) => {
                let s = v6.segments();
                IpAddr::from([s[0], s[1], s[2], s[3], 0, 0, 0, 0])
            }
            v4 => v4,
        })
    }
}

/// Failed authentications by credential and by client address, in fixed windows.
#[derive(Default)]
pub struct AuthLimiter {
    failures: Mutex<HashMap<Key, (u32, Instant)>>,
}

impl AuthLimiter {
    /// How long the first of `keys` that failed too often must wait.
    fn blocked(&self, keys: &[Key]) -> Option<Duration> {
        let map = self.failures.lock().expect("lock");
        keys.iter().find_map(|k| {
            let (n, since) = map.get(k)?;
            let left = WINDOW.checked_sub(since.elapsed())?;
            (*n >= MAX_FAILURES).then_some(left)
        })
    }

    fn failed(&self, keys: &[Key]) {
        let mut map = self.failures.lock().expect("lock");
        if map.len() >= MAX_ENTRIES / 2 {
            // Forget finished windows rather than grow without bound.
            map.retain(|_, (_, since)| since.elapsed() < WINDOW);
        }
        for key in keys {
            if map.len() >= MAX_ENTRIES && !map.contains_key(key) {
                continue;
            }
            let entry = map.entry(key.clone()).or_insert((0, Instant::now()));
            if entry.1.elapsed() >= WINDOW {
                *entry = (0, Instant::now());
            }
            entry.0 = entry.0.saturating_add(1);
        }
    }
}

pub async fn require_token(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let presented = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|t| !t.is_empty());
    // No credential: nothing to guess with, nothing to count.
    let Some(presented) = presented else {
        return Err(ApiError::Unauthorized);
    };
    let hash = token::hash(presented);
    let (parts, body) = req.into_parts();
    let client = super::client::client_ip(&parts, &state.config.trusted_proxies);
    let credential = Key::Credential(hash.clone());
    // A credential that failed too often is not looked up again: a valid token never fails.
    if let Some(wait) = state
        .auth_limiter
        .blocked(std::slice::from_ref(&credential))
    {
        return Err(ApiError::TooManyRequests(wait.as_secs().max(1)));
    }
    if state.store.token_valid(&hash).await? {
        return Ok(next.run(Request::from_parts(parts, body)).await);
    }
    let keys: Vec<Key> = std::iter::once(credential)
        .chain(client.map(Key::client))
        .collect();
    if let Some(wait) = state.auth_limiter.blocked(&keys) {
        return Err(ApiError::TooManyRequests(wait.as_secs().max(1)));
    }
    state.auth_limiter.failed(&keys);
    Err(ApiError::Unauthorized)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        let a = Key::client("2001:db8:1:2::1".parse().unwrap());
        let b = Key::client("2001:db8:1:2:ffff::9".parse().unwrap());
        assert_eq!(a, b);
        assert_ne!(a, Key::client("2001:db8:1:3::1".parse().unwrap()));
    }

    #[test]
    fn a_blocked_key_waits_out_its_window() {
        let l = AuthLimiter::default();
        let keys = [Key::client("192.0.2.1".parse().unwrap())];
        for _ in 0..MAX_FAILURES {
            assert!(l.blocked(&keys).is_none());
            l.failed(&keys);
        }
        assert!(l.blocked(&keys).is_some_and(|d| d <= WINDOW));
        assert!(
            l.blocked(&[Key::client("192.0.2.2".parse().unwrap())])
                .is_none()
        );
    }
}
