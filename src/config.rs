//! Typed settings from the environment (and a `.env` file, loaded by `main` first). Each has
//! the default `.env.example` documents.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result, bail};

pub const DEFAULT_DATABASE_URL: &str = "sqlite:syndic.db";
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_MAX_BODY: usize = 10 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: String,
    pub bind: SocketAddr,
    /// Public URL of this server, no trailing slash: self links are built from it.
    pub base_url: String,
    /// True when `base_url` was derived from `bind` (no SYNDIC_BASE_URL): `serve` then
    /// derives it again from the address actually bound (port 0 picks one).
    pub base_url_from_bind: bool,
    pub max_body: usize,
    /// Fetch from loopback and private addresses too (tests, intranets).
    pub allow_private_upstreams: bool,
    /// Fetches in flight at once, in all, and per upstream host.
    pub poll_concurrency: usize,
    pub poll_per_host: usize,
    pub fetch_timeout: Duration,
    pub fetch_max_body: usize,
}

impl Default for Config {
    fn default() -> Config {
        let bind: SocketAddr = DEFAULT_BIND.parse().expect("default bind");
        Config {
            database_url: DEFAULT_DATABASE_URL.into(),
            bind,
            base_url: base_url_for(bind),
            base_url_from_bind: true,
            max_body: DEFAULT_MAX_BODY,
            allow_private_upstreams: false,
            poll_concurrency: 32,
            poll_per_host: 2,
            fetch_timeout: Duration::from_secs(30),
            fetch_max_body: DEFAULT_MAX_BODY,
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
            bind,
            base_url_from_bind: var("SYNDIC_BASE_URL").is_none(),
            base_url,
            max_body,
            allow_private_upstreams: match var("SYNDIC_ALLOW_PRIVATE_UPSTREAMS").as_deref() {
                None | Some("false" | "0" | "no") => false,
                Some("true" | "1" | "yes") => true,
                Some(v) => bail!("SYNDIC_ALLOW_PRIVATE_UPSTREAMS {v:?} must be true or false"),
            },
            poll_concurrency: count("SYNDIC_POLL_CONCURRENCY", d.poll_concurrency)?,
            poll_per_host: count("SYNDIC_POLL_PER_HOST", d.poll_per_host)?,
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

/// The base URL a bind address implies (an unspecified address is reached on loopback).
pub fn base_url_for(bind: SocketAddr) -> String {
    let ip = if bind.ip().is_unspecified() {
        std::net::IpAddr::from([127, 0, 0, 1])
    } else {
        bind.ip()
    };
    format!("http://{}", SocketAddr::new(ip, bind.port()))
}

/// "1048576", "512KiB", "10MiB" (also K, M, KB, MB as binary units).
fn parse_size(s: &str) -> Option<usize> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: usize = n.parse().ok()?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "m" | "mb" | "mib" => 1024 * 1024,
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
    fn base_from_bind() {
        assert_eq!(
            base_url_for("0.0.0.0:9000".parse().unwrap()),
            "http://127.0.0.1:9000"
        );
    }
}
