//! Polite, bounded HTTP fetching of upstream feeds: one shared client (rustls, gzip, brotli,
//! deflate), a User-Agent naming syndic, connect and total timeouts, a cap on the decompressed
//! body, conditional GET, and redirects followed by hand (at most 5) so that every hop is
//! checked by the address guard (and refused when it leads to a feed of this very instance)
//! and a run of permanent redirects can move the stored URL.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::{
    CACHE_CONTROL, CONTENT_TYPE, ETAG, HeaderMap, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED,
    LOCATION, RETRY_AFTER,
};
use url::Url;

use super::guard::{Guard, Refused};
use super::own::OwnFeeds;

pub const MAX_REDIRECTS: usize = 5;

#[derive(Debug, Clone)]
pub struct FetchConfig {
    pub user_agent: String,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    /// Cap on the body after decompression, so a gzip bomb stops where a plain body would.
    pub max_body: usize,
    pub guard: Guard,
    /// This instance's feeds: never fetched, whatever URL or redirect leads to them.
    pub own: OwnFeeds,
    /// The `Accept` header of every GET: feed types ([`FEED_ACCEPT`]), or HTML for the item
    /// pages of full text.
    pub accept: &'static str,
}

/// What a feed fetch accepts.
pub const FEED_ACCEPT: &str = "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, text/html;q=0.5, */*;q=0.1";

/// The validators from the last successful fetch.
#[derive(Debug, Clone, Default)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

#[derive(Debug)]
pub struct Fetched {
    /// Where the body came from, after redirects.
    pub final_url: Url,
    /// Where the subscription should point from now on: the end of the unbroken run of
    /// permanent (301, 308) redirects from the start, when there was one.
    pub moved_to: Option<Url>,
    /// The upstream's own `Cache-Control: max-age`.
    pub max_age: Option<Duration>,
    pub kind: FetchedKind,
}

#[derive(Debug)]
pub enum FetchedKind {
    NotModified,
    Body {
        body: Bytes,
        content_type: Option<String>,
        validators: Validators,
    },
    /// 410: the feed is gone for good.
    Gone,
    /// 429 or 503, with the wait the upstream asked for.
    RetryLater {
        status: u16,
        retry_after: Option<Duration>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(transparent)]
    Refused(#[from] Refused),
    /// The URL, or a redirect, leads to a feed of this instance.
    #[error("{url} is a feed of this syndic instance ({base})")]
    OwnFeed { url: String, base: String },
    #[error("HTTP {0}")]
    Status(u16),
    #[error("more than {MAX_REDIRECTS} redirects")]
    TooManyRedirects,
    #[error("redirect without a usable Location")]
    BadRedirect,
    #[error("body larger than {0} bytes")]
    TooLarge(usize),
    #[error("{0}")]
    Transport(String),
}

impl From<reqwest::Error> for FetchError {
    fn from(e: reqwest::Error) -> FetchError {
        // The cause chain says what really happened (a refused address, a timeout, TLS).
        let mut msg = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            source = s.source();
        }
        FetchError::Transport(msg)
    }
}

#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    config: FetchConfig,
}

impl Fetcher {
    pub fn new(config: FetchConfig) -> Result<Fetcher, reqwest::Error> {
        let client = reqwest::Client::builder()
            .user_agent(&config.user_agent)
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(config.guard.resolver())
            .no_proxy()
            .pool_max_idle_per_host(2)
            .build()?;
        Ok(Fetcher { client, config })
    }

    pub fn guard(&self) -> Guard {
        self.config.guard
    }

    /// This instance's own feeds, which are never fetched.
    pub fn own(&self) -> &OwnFeeds {
        &self.config.own
    }

    /// GETs `url`, following redirects, with conditional headers from `validators`.
    pub async fn fetch(&self, url: &Url, validators: &Validators) -> Result<Fetched, FetchError> {
        let mut current = url.clone();
        let mut moved_to = None;
        let mut all_permanent = true;
        for _hop in 0..=MAX_REDIRECTS {
            // Own feeds first: on a loopback address the guard would refuse them too, with
            // advice (allow private upstreams) that would only lead to the loop.
            if self.config.own.contains(&current) {
                return Err(FetchError::OwnFeed {
                    url: current.to_string(),
                    base: self.config.own.base_url().to_owned(),
                });
            }
            self.config.guard.check_url(&current)?;
            let mut req = self
                .client
                .get(current.clone())
                .header(reqwest::header::ACCEPT, self.config.accept);
            if let Some(etag) = &validators.etag {
                req = req.header(IF_NONE_MATCH, etag);
            }
            if let Some(lm) = &validators.last_modified {
                req = req.header(IF_MODIFIED_SINCE, lm);
            }
            let resp = req.send().await?;
            let status = resp.status();
            if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
                let next = resp
                    .headers()
                    .get(LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .and_then(|l| current.join(l).ok())
                    .ok_or(FetchError::BadRedirect)?;
                let permanent = matches!(
                    status,
                    StatusCode::MOVED_PERMANENTLY | StatusCode::PERMANENT_REDIRECT
                );
                all_permanent &= permanent;
                if all_permanent {
                    moved_to = Some(next.clone());
                }
                current = next;
                continue;
            }
            let max_age = max_age(resp.headers());
            let kind = match status {
                StatusCode::NOT_MODIFIED => FetchedKind::NotModified,
                StatusCode::GONE => FetchedKind::Gone,
                StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => {
                    FetchedKind::RetryLater {
                        status: status.as_u16(),
                        retry_after: retry_after(resp.headers()),
                    }
                }
                s if s.is_success() => {
                    let headers = resp.headers().clone();
                    let body = self.read_capped(resp).await?;
                    FetchedKind::Body {
                        body,
                        content_type: header(&headers, CONTENT_TYPE),
                        validators: Validators {
                            etag: header(&headers, ETAG),
                            last_modified: header(&headers, LAST_MODIFIED),
                        },
                    }
                }
                s => return Err(FetchError::Status(s.as_u16())),
            };
            return Ok(Fetched {
                final_url: current,
                moved_to,
                max_age,
                kind,
            });
        }
        Err(FetchError::TooManyRedirects)
    }

    /// POSTs a form (a WebSub subscription request) and answers the status; the address
    /// guard applies as for fetches.
    pub async fn post_form(&self, url: &Url, form: &[(&str, &str)]) -> Result<u16, FetchError> {
        self.config.guard.check_url(url)?;
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let resp = self
            .client
            .post(url.clone())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await?;
        Ok(resp.status().as_u16())
    }

    async fn read_capped(&self, mut resp: reqwest::Response) -> Result<Bytes, FetchError> {
        let cap = self.config.max_body;
        if resp.content_length().is_some_and(|n| n as usize > cap) {
            return Err(FetchError::TooLarge(cap));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await? {
            if body.len() + chunk.len() > cap {
                return Err(FetchError::TooLarge(cap));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.into())
    }
}

fn header(h: &HeaderMap, name: reqwest::header::HeaderName) -> Option<String> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// `Cache-Control: max-age=N` (`s-maxage` is for shared caches, which syndic is not).
fn max_age(h: &HeaderMap) -> Option<Duration> {
    let cc = header(h, CACHE_CONTROL)?;
    cc.split(',').find_map(|d| {
        let (k, v) = d.trim().split_once('=')?;
        (k.trim().eq_ignore_ascii_case("max-age"))
            .then(|| v.trim().trim_matches('"').parse().ok())
            .flatten()
            .map(Duration::from_secs)
    })
}

/// `Retry-After` as seconds or as an HTTP date.
fn retry_after(h: &HeaderMap) -> Option<Duration> {
    let v = header(h, RETRY_AFTER)?;
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(&v).ok()?;
    Some(when.duration_since(SystemTime::now()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn reads_cache_hints() {
        let mut h = HeaderMap::new();
        h.insert(
            CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=600"),
        );
        h.insert(RETRY_AFTER, HeaderValue::from_static("120"));
        assert_eq!(max_age(&h), Some(Duration::from_secs(600)));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(120)));
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(3600));
        h.insert(RETRY_AFTER, HeaderValue::from_str(&later).unwrap());
        let wait = retry_after(&h).unwrap();
        assert!(wait > Duration::from_secs(3500) && wait <= Duration::from_secs(3600));
    }
}
