//! `formats::parse_feed` on an upstream body without a Content-Type: any input, no panic.
//! Oracle (oracle/mod.rs): every item kept renders in every format and reads back equal.
#![no_main]

#[path = "../oracle/mod.rs"]
mod oracle;

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use syndic::formats::parse_feed;
use url::Url;

static FEED_URL: LazyLock<Url> =
    LazyLock::new(|| Url::parse("https://upstream.example/blog/feed.xml").unwrap());

fuzz_target!(|data: &[u8]| {
    oracle::tolerate_known_panics();
    if let Ok(feed) = parse_feed(data, None, &FEED_URL) {
        oracle::upstream(feed.items);
    }
});
