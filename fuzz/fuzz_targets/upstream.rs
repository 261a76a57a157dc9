//! `poll::parse::parse_feed` on an upstream body without a Content-Type: any input, no panic.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use syndic::poll::parse::parse_feed;
use url::Url;

static FEED_URL: LazyLock<Url> =
    LazyLock::new(|| Url::parse("https://upstream.example/blog/feed.xml").unwrap());

fuzz_target!(|data: &[u8]| {
    let _ = parse_feed(data, None, &FEED_URL);
});
