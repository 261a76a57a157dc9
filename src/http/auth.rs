//! Bearer-token authentication for `/api/v1`. The presented token is hashed and looked up by
//! its hash, so the comparison never touches a stored secret (and a timing difference could
//! only reveal a prefix of a SHA-256, which is of no use). Failed attempts are limited per
//! client address, so tokens cannot be guessed at speed.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;

use super::{ApiError, AppState};
use crate::token;

/// Failed attempts allowed per client address within [`WINDOW`].
const MAX_FAILURES: u32 = 20;
const WINDOW: Duration = Duration::from_secs(60);

/// Failed authentications by client address, in fixed windows.
#[derive(Default)]
pub struct AuthLimiter {
    failures: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

impl AuthLimiter {
    /// How long the address must wait, when it has failed too often.
    fn blocked(&self, ip: IpAddr) -> Option<Duration> {
        let map = self.failures.lock().expect("lock");
        let (n, since) = map.get(&ip)?;
        let left = WINDOW.checked_sub(since.elapsed())?;
        (*n >= MAX_FAILURES).then_some(left)
    }

    fn failed(&self, ip: IpAddr) {
        let mut map = self.failures.lock().expect("lock");
        if map.len() > 10_000 {
            // Forget finished windows rather than grow without bound.
            map.retain(|_, (_, since)| since.elapsed() < WINDOW);
        }
        let entry = map.entry(ip).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= WINDOW {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }
}

pub async fn require_token(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(wait) = ip.and_then(|ip| state.auth_limiter.blocked(ip)) {
        return Err(ApiError::TooManyRequests(wait.as_secs().max(1)));
    }
    let fail = || {
        if let Some(ip) = ip {
            state.auth_limiter.failed(ip);
        }
        ApiError::Unauthorized
    };
    let presented = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|t| !t.is_empty())
        .ok_or_else(fail)?;
    if !state.store.token_valid(&token::hash(presented)).await? {
        return Err(fail());
    }
    Ok(next.run(req).await)
}
