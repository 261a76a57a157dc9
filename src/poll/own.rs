//! This instance's own feeds, recognised in any URL that reaches them: a channel subscribed
//! to a feed of the same syndic would import its own articles back, overwrite their origin
//! and loop. The instance is reached at its base URL (`SYNDIC_BASE_URL`, or the one derived
//! from the bind address) and, directly, at the address it binds; loopback names and
//! addresses (`localhost`, `127.0.0.1`, `[::1]`, and `0.0.0.0` for an unspecified bind) are
//! one and the same host. Another syndic instance (another host, or another port) is not
//! this one, and its feeds stay allowed.

use std::net::{IpAddr, SocketAddr};

use url::{Host, Url};

use crate::config::Config;

/// Where this instance serves its feeds.
#[derive(Debug, Clone, Default)]
pub struct OwnFeeds {
    /// The base URL, as configured (for messages).
    base_url: String,
    origins: Vec<Origin>,
}

/// One way of reaching the instance: scheme, host, port, and the path its feeds live under.
#[derive(Debug, Clone)]
struct Origin {
    scheme: String,
    host: HostKey,
    port: u16,
    /// Ends with `/feeds/`.
    feeds: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostKey {
    /// This machine: loopback names and addresses, and the unspecified address.
    Local,
    Ip(IpAddr),
    Name(String),
}

impl HostKey {
    fn of(host: Host<&str>) -> HostKey {
        match host {
            Host::Domain(d) => {
                let d = d.trim_end_matches('.').to_ascii_lowercase();
                if d == "localhost" || d.ends_with(".localhost") {
                    HostKey::Local
                } else {
                    HostKey::Name(d)
                }
            }
            Host::Ipv4(ip) => HostKey::ip(IpAddr::V4(ip)),
            Host::Ipv6(ip) => HostKey::ip(IpAddr::V6(ip)),
        }
    }

    fn ip(ip: IpAddr) -> HostKey {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        if ip.is_loopback() || ip.is_unspecified() {
            HostKey::Local
        } else {
            HostKey::Ip(ip)
        }
    }
}

impl Origin {
    fn of(url: &Url) -> Option<Origin> {
        Some(Origin {
            scheme: url.scheme().to_owned(),
            host: HostKey::of(url.host()?),
            port: url.port_or_known_default()?,
            feeds: format!("{}/feeds/", url.path().trim_end_matches('/')),
        })
    }

    fn bind(addr: SocketAddr) -> Option<Origin> {
        (addr.port() != 0).then(|| Origin {
            scheme: "http".into(),
            host: HostKey::ip(addr.ip()),
            port: addr.port(),
            feeds: "/feeds/".into(),
        })
    }

    fn reaches(&self, url: &Url) -> bool {
        Origin::of(url).is_some_and(|o| {
            o.scheme == self.scheme
                && o.host == self.host
                && o.port == self.port
                && url.path().starts_with(&self.feeds)
        })
    }
}

impl OwnFeeds {
    pub fn new(config: &Config) -> OwnFeeds {
        let base = Url::parse(&config.base_url).ok();
        OwnFeeds {
            base_url: config.base_url.clone(),
            origins: base
                .as_ref()
                .and_then(Origin::of)
                .into_iter()
                .chain(Origin::bind(config.bind))
                .collect(),
        }
    }

    /// True when `url` names a feed of this instance (any channel, any format, any query).
    pub fn contains(&self, url: &Url) -> bool {
        self.origins.iter().any(|o| o.reaches(url))
    }

    /// This instance's base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own(base: Option<&str>, bind: &str) -> OwnFeeds {
        let bind: SocketAddr = bind.parse().unwrap();
        OwnFeeds::new(&Config {
            bind,
            base_url: base.map_or_else(|| crate::config::base_url_for(bind), str::to_owned),
            base_url_from_bind: base.is_none(),
            ..Config::default()
        })
    }

    fn has(o: &OwnFeeds, url: &str) -> bool {
        o.contains(&Url::parse(url).unwrap())
    }

    #[test]
    fn the_base_url_with_any_channel_format_and_query() {
        let o = own(Some("https://feeds.example.org/news"), "127.0.0.1:8080");
        assert!(has(
            &o,
            "https://feeds.example.org/news/feeds/world/rss.xml"
        ));
        assert!(has(
            &o,
            "https://FEEDS.example.org:443/news/feeds/x/feed.json?tag=a"
        ));
        assert!(has(&o, "https://feeds.example.org./news/feeds/x/atom.xml"));
        assert!(has(
            &o,
            "https://feeds.example.org/news/other/../feeds/x/atom.xml"
        ));
        // Not feeds, or not this instance.
        assert!(!has(&o, "https://feeds.example.org/news/channels/x"));
        assert!(!has(&o, "https://feeds.example.org/feeds/x/rss.xml"));
        assert!(!has(&o, "http://feeds.example.org/news/feeds/x/rss.xml"));
        assert!(!has(
            &o,
            "https://feeds.example.org:8443/news/feeds/x/rss.xml"
        ));
        assert!(!has(&o, "https://other.example.org/news/feeds/x/rss.xml"));
        // Reached directly at the bind address.
        assert!(has(&o, "http://localhost:8080/feeds/x/rss.xml"));
        assert!(!has(&o, "http://localhost:8081/feeds/x/rss.xml"));
    }

    #[test]
    fn loopback_names_are_one_host() {
        let o = own(None, "0.0.0.0:8080");
        for u in [
            "http://127.0.0.1:8080/feeds/a/rss.xml",
            "http://localhost:8080/feeds/a/rss.xml",
            "http://LOCALHOST.:8080/feeds/a/rss.xml",
            "http://[::1]:8080/feeds/a/rss.xml",
            "http://[::ffff:127.0.0.1]:8080/feeds/a/rss.xml",
            "http://127.1.2.3:8080/feeds/a/rss.xml",
            "http://0.0.0.0:8080/feeds/a/rss.xml",
        ] {
            assert!(has(&o, u), "{u}");
        }
        assert!(!has(&o, "http://127.0.0.1:9090/feeds/a/rss.xml"));
        assert!(!has(&o, "https://127.0.0.1:8080/feeds/a/rss.xml"));
    }

    #[test]
    fn another_instance_is_not_this_one() {
        let o = own(None, "192.0.2.10:8080");
        assert!(has(&o, "http://192.0.2.10:8080/feeds/a/rss.xml"));
        assert!(!has(&o, "http://192.0.2.11:8080/feeds/a/rss.xml"));
        assert!(!has(&o, "http://localhost:8080/feeds/a/rss.xml"));
        // A port not yet bound (0) is no address at all.
        let o = own(Some("https://a.example"), "127.0.0.1:0");
        assert!(!has(&o, "http://127.0.0.1:0/feeds/a/rss.xml"));
        assert!(has(&o, "https://a.example/feeds/a/rss.xml"));
    }
}
