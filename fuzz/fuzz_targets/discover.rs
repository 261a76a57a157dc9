//! `poll::discover::discover` on a fetched page (lossy UTF-8, as a page body may be anything):
//! any input, no panic.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use syndic::poll::discover::discover;
use url::Url;

static PAGE_URL: LazyLock<Url> =
    LazyLock::new(|| Url::parse("https://blog.example/posts/index.html").unwrap());

fuzz_target!(|data: &[u8]| {
    let _ = discover(&String::from_utf8_lossy(data), &PAGE_URL);
});
