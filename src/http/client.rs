//! Who the client is: the address a request comes from, seen through the reverse proxies the
//! operator trusts (`SYNDIC_TRUSTED_PROXIES`). `X-Forwarded-For` is believed only when the
//! connection comes from such a proxy, and then read from the right: each trusted proxy
//! appends the address it saw, so the right-most address that is not a trusted proxy is the
//! client (anything left of it is whatever the client chose to send). The failed-auth limit
//! and the `/metrics` network list both key on this address.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use ipnet::IpNet;

/// The header proxies append the address they saw to.
const FORWARDED_FOR: &str = "x-forwarded-for";

/// The client address of a request, or `None` when the server did not record the peer
/// (only in handler tests that bypass `serve`).
pub fn client_ip(parts: &Parts, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_canonical())?;
    Some(resolve(peer, forwarded(parts), trusted))
}

/// Every `X-Forwarded-For` entry, left to right, across repeated headers.
fn forwarded(parts: &Parts) -> Vec<&str> {
    parts
        .headers
        .get_all(FORWARDED_FOR)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect()
}

/// The client behind `peer`: `peer` itself unless it is a trusted proxy; then the right-most
/// forwarded address that is not a trusted proxy. An entry that is not an address (`unknown`,
/// garbage) stops the walk: the last trusted hop is then the best that is known.
fn resolve(peer: IpAddr, forwarded: Vec<&str>, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    let mut client = peer;
    if !is_trusted(&client) {
        return client;
    }
    for entry in forwarded.iter().rev() {
        match parse_entry(entry) {
            Some(ip) => {
                client = ip;
                if !is_trusted(&ip) {
                    break;
                }
            }
            None => break,
        }
    }
    client
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:5678`,
/// `[2001:db8::1]:443`).
fn parse_entry(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    s.parse::<SocketAddr>().ok().map(|a| a.ip().to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_only_from_trusted_proxies() {
        let proxies = crate::config::parse_nets("127.0.0.1, 10.0.0.0/8").unwrap();
        // An untrusted peer is the client, whatever it claims.
        assert_eq!(
            resolve(ip("198.51.100.9"), vec!["203.0.113.1"], &proxies),
            ip("198.51.100.9")
        );
        // Through one trusted proxy: the address it saw.
        assert_eq!(
            resolve(ip("127.0.0.1"), vec!["203.0.113.1"], &proxies),
            ip("203.0.113.1")
        );
        // A client that forges a left-most entry does not get to choose.
        assert_eq!(
            resolve(
                ip("127.0.0.1"),
                vec!["192.0.2.66", "203.0.113.1", "10.1.1.1"],
                &proxies
            ),
            ip("203.0.113.1")
        );
        // Ports, and garbage that stops the walk.
        assert_eq!(
            resolve(ip("127.0.0.1"), vec!["[2001:db8::7]:443"], &proxies),
            ip("2001:db8::7")
        );
        assert_eq!(
            resolve(ip("127.0.0.1"), vec!["203.0.113.1", "unknown"], &proxies),
            ip("127.0.0.1")
        );
        // No proxies configured: the header means nothing.
        assert_eq!(
            resolve(ip("127.0.0.1"), vec!["203.0.113.1"], &[]),
            ip("127.0.0.1")
        );
    }
}
