//! `poll::discover::discover` on a fetched page (lossy UTF-8, as a page body may be anything):
//! any input, no panic; every feed it finds is an absolute http(s) URL. lol_html's known panic
//! (see src/boundary.rs) is contained and refuses the page; any other panic crashes the target.
#![no_main]

#[path = "../oracle/mod.rs"]
mod oracle;

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use syndic::poll::discover::discover;
use url::Url;

static PAGE_URL: LazyLock<Url> =
    LazyLock::new(|| Url::parse("https://blog.example/posts/index.html").unwrap());

fuzz_target!(|data: &[u8]| {
    oracle::tolerate_known_panics();
    if let Ok(found) = discover(&String::from_utf8_lossy(data), &PAGE_URL) {
        for f in found {
            let url = Url::parse(&f.url).expect("discovered URLs are absolute");
            assert!(matches!(url.scheme(), "http" | "https"), "{}", f.url);
        }
    }
});
