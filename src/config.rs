//! Typed settings from the environment (and a `.env` file, loaded by `main` first). Each has
//! the default `.env.example` documents.

use std::net::SocketAddr;

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
    pub max_body: usize,
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
        Ok(Config {
            database_url,
            bind,
            base_url,
            max_body,
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
