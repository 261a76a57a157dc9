//! Typed settings from the environment (and a `.env` file, loaded by `main` first). Each has
//! the default `.env.example` documents.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use ipnet::IpNet;

pub const DEFAULT_DATABASE_URL: &str = "sqlite:syndic.db";
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_MAX_BODY: usize = 10 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: String,
    /// Connections to PostgreSQL at most (`SYNDIC_DB_POOL`); SQLite's pools are fixed.
    pub db_pool: u32,
    pub bind: SocketAddr,
    /// Public URL of this server, no trailing slash: self links are built from it.
    pub base_url: String,
    /// True when `base_url` was derived from `bind` (no SYNDIC_BASE_URL): `serve` then
    /// derives it again from the address actually bound (port 0 picks one).
    pub base_url_from_bind: bool,
    pub max_body: usize,
    /// Fetch from loopback and private addresses too (tests, intranets).
    pub allow_private_upstreams: bool,
    /// `serve` polls due subscriptions in the background (`SYNDIC_POLLER=on`, the default);
    /// off, it only serves (front-only replicas), and polls happen when asked (API, CLI).
    pub poller: bool,
    /// Fetches in flight at once, in all, and per upstream host.
    pub poll_concurrency: usize,
    pub poll_per_host: usize,
    /// How long a claim on a due subscription lasts unless renewed (`SYNDIC_POLL_LEASE`,
    /// seconds): an instance that dies holding it loses it this long after its last renewal.
    pub poll_lease: Duration,
    pub fetch_timeout: Duration,
    pub fetch_max_body: usize,
    /// Let the WebSub hub verify and deliver to callbacks on loopback and private addresses
    /// (a separate switch from upstreams: the hub endpoint is open to anyone).
    pub allow_private_callbacks: bool,
    /// Reverse proxies whose `X-Forwarded-For` is believed (empty: the peer is the client).
    pub trusted_proxies: Vec<IpNet>,
    /// Client networks that may read `/metrics`.
    pub metrics_allow: Vec<IpNet>,
    /// Hub limits: subscriptions per topic, per callback host and in all, and verifications
    /// of intent in flight at once.
    pub hub_max_per_topic: usize,
    pub hub_max_per_host: usize,
    pub hub_max_subscriptions: usize,
    pub hub_verifications: usize,
    /// A connection with nothing in flight and no bytes either way for this long is closed.
    pub idle_timeout: Duration,
    /// Connections served at once; past it new ones get a 503 and are closed.
    pub max_connections: usize,
    /// How long a whole request may take (408 past it, and its work is stopped).
    pub request_timeout: Duration,
    /// Bytes the render cache may hold, bodies and compressed forms together; the least
    /// recently used renders go first past it.
    pub render_cache_bytes: usize,
}

/// The render cache's budget when `SYNDIC_RENDER_CACHE_BYTES` is unset.
pub const DEFAULT_RENDER_CACHE_BYTES: usize = 64 * 1024 * 1024;

/// The default lease of a claimed poll (and of a WebSub delivery in flight): renewed every
/// third of it while the work runs.
pub const DEFAULT_POLL_LEASE: Duration = Duration::from_secs(60);

/// Who may read `/metrics` by default: loopback only (a scraper on the same host, or a
/// tunnel to it).
pub const DEFAULT_METRICS_ALLOW: &str = "127.0.0.0/8,::1";

impl Default for Config {
    fn default() -> Config {
        let bind: SocketAddr = DEFAULT_BIND.parse().expect("default bind");
        Config {
            database_url: DEFAULT_DATABASE_URL.into(),
            db_pool: crate::store::DEFAULT_POOL_SIZE,
            bind,
            base_url: base_url_for(bind),
            base_url_from_bind: true,
            max_body: DEFAULT_MAX_BODY,
            allow_private_upstreams: false,
            poller: true,
            poll_concurrency: 32,
            poll_per_host: 2,
            poll_lease: DEFAULT_POLL_LEASE,
            fetch_timeout: Duration::from_secs(30),
            fetch_max_body: DEFAULT_MAX_BODY,
            allow_private_callbacks: false,
            trusted_proxies: Vec::new(),
            metrics_allow: parse_nets(DEFAULT_METRICS_ALLOW).expect("default network list"),
            hub_max_per_topic: 1000,
            hub_max_per_host: 100,
            hub_max_subscriptions: 10_000,
            hub_verifications: 16,
            idle_timeout: Duration::from_secs(30),
            max_connections: 1024,
            request_timeout: Duration::from_secs(60),
            render_cache_bytes: DEFAULT_RENDER_CACHE_BYTES,
        }
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Config {
    pub fn from_env() -> Result<Config> {
        let database_url = var("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
        let bind: SocketAddr = var("SYNDIC_BIND")
            .as_deref()
            .unwrap_or(DEFAULT_BIND)
            .parse()
            .context("SYNDIC_BIND must be an address and port, such as 127.0.0.1:8080")?;
        let base_url = match var("SYNDIC_BASE_URL") {
            Some(u) => {
                let parsed = url::Url::parse(&u)
                    .with_context(|| format!("SYNDIC_BASE_URL {u:?} is not a URL"))?;
                if !matches!(parsed.scheme(), "http" | "https") {
                    bail!("SYNDIC_BASE_URL must be an http or https URL");
                }
                u.trim_end_matches('/').to_owned()
            }
            None => base_url_for(bind),
        };
        let max_body = match var("SYNDIC_MAX_BODY") {
            Some(v) => parse_size(&v)
                .with_context(|| format!("SYNDIC_MAX_BODY {v:?}: use bytes, or KiB/MiB"))?,
            None => DEFAULT_MAX_BODY,
        };
        let d = Config::default();
        let count = |name: &str, default: usize| -> Result<usize> {
            match var(name) {
                Some(v) => v
                    .trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n > 0)
                    .with_context(|| format!("{name} {v:?} must be a positive number")),
                None => Ok(default),
            }
        };
        Ok(Config {
            database_url,
            db_pool: u32::try_from(count("SYNDIC_DB_POOL", d.db_pool as usize)?)
                .context("SYNDIC_DB_POOL is too large")?,
            bind,
            base_url_from_bind: var("SYNDIC_BASE_URL").is_none(),
            base_url,
            max_body,
            allow_private_upstreams: flag("SYNDIC_ALLOW_PRIVATE_UPSTREAMS")?,
            poller: switch("SYNDIC_POLLER", d.poller)?,
            allow_private_callbacks: flag("SYNDIC_ALLOW_PRIVATE_CALLBACKS")?,
            trusted_proxies: nets("SYNDIC_TRUSTED_PROXIES", "")?,
            metrics_allow: nets("SYNDIC_METRICS_ALLOW", DEFAULT_METRICS_ALLOW)?,
            hub_max_per_topic: count("SYNDIC_HUB_MAX_PER_TOPIC", d.hub_max_per_topic)?,
            hub_max_per_host: count("SYNDIC_HUB_MAX_PER_CALLBACK_HOST", d.hub_max_per_host)?,
            hub_max_subscriptions: count("SYNDIC_HUB_MAX_SUBSCRIPTIONS", d.hub_max_subscriptions)?,
            hub_verifications: count("SYNDIC_HUB_VERIFICATIONS", d.hub_verifications)?,
            idle_timeout: Duration::from_secs(count(
                "SYNDIC_IDLE_TIMEOUT",
                d.idle_timeout.as_secs() as usize,
            )? as u64),
            max_connections: count("SYNDIC_MAX_CONNECTIONS", d.max_connections)?,
            request_timeout: Duration::from_secs(count(
                "SYNDIC_REQUEST_TIMEOUT",
                d.request_timeout.as_secs() as usize,
            )? as u64),
            render_cache_bytes: match var("SYNDIC_RENDER_CACHE_BYTES") {
                Some(v) => parse_size(&v).with_context(|| {
                    format!("SYNDIC_RENDER_CACHE_BYTES {v:?}: use bytes, or KiB/MiB")
                })?,
                None => d.render_cache_bytes,
            },
            poll_concurrency: count("SYNDIC_POLL_CONCURRENCY", d.poll_concurrency)?,
            poll_per_host: count("SYNDIC_POLL_PER_HOST", d.poll_per_host)?,
            poll_lease: Duration::from_secs(count(
                "SYNDIC_POLL_LEASE",
                d.poll_lease.as_secs() as usize,
            )? as u64),
            fetch_timeout: Duration::from_secs(count(
                "SYNDIC_FETCH_TIMEOUT",
                d.fetch_timeout.as_secs() as usize,
            )? as u64),
            fetch_max_body: match var("SYNDIC_FETCH_MAX_BODY") {
                Some(v) => parse_size(&v).with_context(|| {
                    format!("SYNDIC_FETCH_MAX_BODY {v:?}: use bytes, or KiB/MiB")
                })?,
                None => d.fetch_max_body,
            },
        })
    }
}

/// A boolean setting: true/1/yes or false/0/no, false when unset.
fn flag(name: &str) -> Result<bool> {
    match var(name).as_deref().map(str::trim) {
        None | Some("false" | "0" | "no") => Ok(false),
        Some("true" | "1" | "yes") => Ok(true),
        Some(v) => bail!("{name} {v:?} must be true or false"),
    }
}

/// An on/off setting, or its default when unset.
fn switch(name: &str, default: bool) -> Result<bool> {
    match var(name).as_deref().map(str::trim) {
        None => Ok(default),
        Some("on" | "true" | "1" | "yes") => Ok(true),
        Some("off" | "false" | "0" | "no") => Ok(false),
        Some(v) => bail!("{name} {v:?} must be on or off"),
    }
}

/// A network-list setting, or its default when unset.
fn nets(name: &str, default: &str) -> Result<Vec<IpNet>> {
    let v = var(name);
    parse_nets(v.as_deref().unwrap_or(default))
        .with_context(|| format!("{name}: give IP addresses or CIDR networks, separated by commas"))
}

/// "127.0.0.1, 10.0.0.0/8 ::1": addresses (one-host networks) and CIDR networks, separated
/// by commas or white space.
pub fn parse_nets(s: &str) -> Result<Vec<IpNet>> {
    s.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse::<IpNet>()
                .or_else(|_| p.parse::<std::net::IpAddr>().map(IpNet::from))
                .with_context(|| format!("{p:?} is not an IP address or network"))
        })
        .collect()
}

/// The base URL a bind address implies (an unspecified address is reached on loopback).
pub fn base_url_for(bind: SocketAddr) -> String {
    let ip = if bind.ip().is_unspecified() {
        std::net::IpAddr::from([127, 0, 0, 1])
    } else {
        bind.ip()
    };
    format!("http://{}", SocketAddr::new(ip, bind.port()))
}

/// "1048576", "512KiB", "10MiB", "1GiB" (also K, M, G, KB, MB, GB as binary units).
fn parse_size(s: &str) -> Option<usize> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: usize = n.parse().ok()?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "m" | "mb" | "mib" => 1024 * 1024,
        "g" | "gb" | "gib" => 1024 * 1024 * 1024,
        _ => return None,
    };
    n.checked_mul(mult)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("10MiB"), Some(10 * 1024 * 1024));
        assert_eq!(parse_size("512 KiB"), Some(512 * 1024));
        assert_eq!(parse_size("100"), Some(100));
        assert_eq!(parse_size("ten"), None);
    }

    #[test]
    fn network_lists() {
        let nets = parse_nets("127.0.0.1, 10.0.0.0/8 ::1").unwrap();
        assert_eq!(nets.len(), 3);
        assert!(nets[0].contains(&"127.0.0.1".parse::<std::net::IpAddr>().unwrap()));
        assert!(nets[1].contains(&"10.9.8.7".parse::<std::net::IpAddr>().unwrap()));
        assert!(parse_nets("").unwrap().is_empty());
        assert!(parse_nets("10.0.0.0/33").is_err());
        assert!(parse_nets("proxy.local").is_err());
    }

    #[test]
    fn base_from_bind() {
        assert_eq!(
            base_url_for("0.0.0.0:9000".parse().unwrap()),
            "http://127.0.0.1:9000"
        );
    }
}
