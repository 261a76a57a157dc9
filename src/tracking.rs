//! Which URL query parameters only track a click (utm_*, fbclid, gclid…) and say nothing of
//! the page: the one list that canonical links (`story`) and link rewriting leave out.

/// Exact parameter names (compared case-insensitively) that track a visit.
const NAMES: &[&str] = &[
    "fbclid",      // Facebook
    "gclid",       // Google Ads
    "gclsrc",      // Google Ads
    "dclid",       // Google Display
    "gbraid",      // Google Ads (iOS)
    "wbraid",      // Google Ads (iOS)
    "msclkid",     // Microsoft Ads
    "yclid",       // Yandex
    "twclid",      // Twitter/X Ads
    "ttclid",      // TikTok
    "li_fat_id",   // LinkedIn
    "mc_cid",      // Mailchimp campaign
    "mc_eid",      // Mailchimp subscriber
    "igshid",      // Instagram share
    "igsh",        // Instagram share (newer)
    "_ga",         // Google Analytics cross-domain
    "_gl",         // Google Analytics linker
    "_hsenc",      // HubSpot
    "_hsmi",       // HubSpot
    "mkt_tok",     // Marketo
    "oly_anon_id", // Omeda
    "oly_enc_id",  // Omeda
    "vero_id",     // Vero
    "rb_clickid",  // Rakuten
    "s_cid",       // Adobe
    "ncid",        // Yahoo/AOL syndication
    "sr_share",    // Simple Reach
    "at_medium",   // AT Internet
    "at_campaign", // AT Internet
    "xtor",        // AT Internet (Xiti)
    "cmpid",       // campaign ids of many news sites
    "ocid",        // Microsoft syndication
    "smid",        // New York Times share
    "soc_src",     // share-button source
    "soc_trk",     // share-button tracking
];

/// Parameter-name prefixes (compared case-insensitively) that track a visit.
const PREFIXES: &[&str] = &["utm_", "pk_", "mtm_", "hsa_", "__hs"];

/// True when a query parameter of this name only tracks the visit.
pub fn is_tracking_param(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    NAMES.contains(&lower.as_str()) || PREFIXES.iter().any(|p| lower.starts_with(p))
}

/// The URL without its tracking parameters; the other parameters keep their order and
/// spelling. A query left empty goes away with its `?`.
pub fn strip(url: &mut url::Url) {
    if url.query().is_none() {
        return;
    }
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| !is_tracking_param(k))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let before = url.query_pairs().count();
    if kept.len() == before {
        return;
    }
    if kept.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(kept);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracking_parameters_go_and_the_others_stay() {
        let mut u = url::Url::parse(
            "https://example.com/a?utm_source=x&id=7&UTM_Medium=y&fbclid=z&q=a+b&mc_eid=1",
        )
        .unwrap();
        strip(&mut u);
        assert_eq!(u.as_str(), "https://example.com/a?id=7&q=a+b");
        let mut u = url::Url::parse("https://example.com/a?gclid=1&igshid=2#top").unwrap();
        strip(&mut u);
        assert_eq!(u.as_str(), "https://example.com/a#top");
        let mut u = url::Url::parse("https://example.com/a?utmost=1").unwrap();
        strip(&mut u);
        assert_eq!(u.as_str(), "https://example.com/a?utmost=1");
    }
}
