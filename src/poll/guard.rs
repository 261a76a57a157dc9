//! Which upstream addresses syndic may fetch from. By default nothing on loopback, private,
//! link-local, unique-local, shared (CGNAT), multicast or cloud-metadata addresses, in IPv4,
//! IPv6 and IPv4-mapped/NAT64 forms, so that a subscription cannot reach into the operator's
//! network. The check runs in the DNS resolver on the very addresses the connection will use
//! (so a rebinding name cannot slip through), and on literal IP hosts, which skip DNS, before
//! every request and redirect hop. The WebSub hub uses the same guard for callbacks, with its
//! own switch.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// True when `ip` is a public unicast address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // 169.254.0.0/16, where cloud metadata services live
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // 100.64.0.0/10, shared address space
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // 192.0.0.0/24, protocol assignments
        || (a == 198 && (18..20).contains(&b)) // 198.18.0.0/15, benchmarking
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let seg = ip.segments();
    // Transition mechanisms that tunnel to an IPv4 address syndic cannot see the policy of:
    // local-use NAT64 (64:ff9b:1::/48, RFC 8215), 6to4 (2002::/16) and Teredo (2001::/32).
    // All refused, whatever IPv4 they embed; no feed needs them.
    if (seg[0] == 0x64 && seg[1] == 0xff9b && seg[2] == 1)
        || seg[0] == 0x2002
        || (seg[0] == 0x2001 && seg[1] == 0)
    {
        return false;
    }
    // NAT64 (64:ff9b::/96) and IPv4-compatible (::a.b.c.d) addresses carry an IPv4 inside.
    if (seg[0] == 0x64 && seg[1] == 0xff9b && seg[2..6] == [0; 4]) || seg[0..6] == [0; 6] {
        let v4 = Ipv4Addr::new(
            (seg[6] >> 8) as u8,
            seg[6] as u8,
            (seg[7] >> 8) as u8,
            seg[7] as u8,
        );
        if seg[0..6] == [0; 6] && (ip.is_loopback() || ip.is_unspecified()) {
            return false;
        }
        return is_public_v4(v4);
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (seg[0] & 0xfe00) == 0xfc00 // fc00::/7 unique local (AWS metadata fd00:ec2::254)
        || (seg[0] & 0xffc0) == 0xfe80 // fe80::/10 link-local
        || (seg[0] & 0xffc0) == 0xfec0 // fec0::/10 old site-local
        || (seg[0] == 0x2001 && seg[1] == 0x0db8)) // documentation
}

/// Why a URL may not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("only http and https URLs can be fetched, not {0}:")]
    Scheme(String),
    #[error("{0} is a private or local address; set {1}=true to allow it")]
    Private(IpAddr, &'static str),
    #[error("{0} resolves only to private or local addresses; set {1}=true to allow it")]
    PrivateName(String, &'static str),
}

/// The address policy, shared by the resolver and the fetcher.
#[derive(Debug, Clone, Copy)]
pub struct Guard {
    pub allow_private: bool,
    /// The setting that lifts the guard, named in refusals.
    pub setting: &'static str,
}

impl Guard {
    /// The poller's guard (`SYNDIC_ALLOW_PRIVATE_UPSTREAMS`).
    pub fn upstreams(allow_private: bool) -> Guard {
        Guard {
            allow_private,
            setting: "SYNDIC_ALLOW_PRIVATE_UPSTREAMS",
        }
    }

    /// The hub's guard for subscribers' callbacks (`SYNDIC_ALLOW_PRIVATE_CALLBACKS`).
    pub fn callbacks(allow_private: bool) -> Guard {
        Guard {
            allow_private,
            setting: "SYNDIC_ALLOW_PRIVATE_CALLBACKS",
        }
    }

    /// Checks what can be checked before DNS: the scheme, and a literal IP host.
    pub fn check_url(&self, url: &Url) -> Result<(), Refused> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Refused::Scheme(url.scheme().to_owned()));
        }
        if self.allow_private {
            return Ok(());
        }
        let ip = match url.host() {
            Some(Host::Ipv4(v4)) => IpAddr::V4(v4),
            Some(Host::Ipv6(v6)) => IpAddr::V6(v6),
            _ => return Ok(()),
        };
        if is_public(ip) {
            Ok(())
        } else {
            Err(Refused::Private(ip, self.setting))
        }
    }

    /// A reqwest resolver that drops the addresses this guard refuses.
    pub fn resolver(self) -> Arc<GuardedResolver> {
        Arc::new(GuardedResolver { guard: self })
    }
}

pub struct GuardedResolver {
    guard: Guard,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.guard;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = addrs
                .into_iter()
                .filter(|a| guard.allow_private || is_public(a.ip()))
                .collect();
            if allowed.is_empty() {
                return Err(Box::new(Refused::PrivateName(host, guard.setting)) as _);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(s: &str) -> bool {
        is_public(s.parse().unwrap())
    }

    #[test]
    fn refuses_local_and_private_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "::127.0.0.1",
            "ff02::1",
            "64:ff9b:1::a00:1",
            "64:ff9b:1:abcd::808:808",
            "2002:7f00:1::1",
            "2002:808:808::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
        ] {
            assert!(!public(ip), "{ip} must be refused");
        }
        for ip in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700::1111",
            "2001:4860:4860::8888",
            "64:ff9b::808:808",
            "::ffff:8.8.8.8",
        ] {
            assert!(public(ip), "{ip} must be allowed");
        }
    }

    #[test]
    fn checks_literal_hosts_and_schemes() {
        let guard = Guard::upstreams(false);
        let check = |u: &str| guard.check_url(&Url::parse(u).unwrap());
        assert!(check("http://127.0.0.1:8080/feed").is_err());
        assert!(check("http://[::1]/feed").is_err());
        assert!(check("http://[::ffff:192.168.0.1]/").is_err());
        assert!(check("file:///etc/passwd").is_err());
        assert!(check("https://example.org/feed").is_ok());
        let refusal = check("http://10.0.0.1/").unwrap_err().to_string();
        assert!(
            refusal.contains("SYNDIC_ALLOW_PRIVATE_UPSTREAMS"),
            "{refusal}"
        );
        let open = Guard::callbacks(true);
        assert!(
            open.check_url(&Url::parse("http://127.0.0.1/").unwrap())
                .is_ok()
        );
    }
}
