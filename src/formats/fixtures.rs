//! Test helpers: read the real-world feeds in `tests/fixtures/upstream/` through
//! [`parse_feed`], and look at what came out.

use url::Url;

use super::{UpstreamFeed, parse_feed};
use crate::draft::DateText;

pub(super) fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/upstream/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub(super) fn read_ct(name: &str, content_type: Option<&str>) -> UpstreamFeed {
    let url = Url::parse("https://feeds.example/dir/feed.xml").unwrap();
    parse_feed(&fixture(name), content_type, &url).unwrap_or_else(|e| panic!("{name}: {e}"))
}

pub(super) fn read(name: &str) -> UpstreamFeed {
    read_ct(name, None)
}

pub(super) fn when(d: &Option<DateText>) -> Option<String> {
    match d {
        Some(DateText::Parsed(d)) => Some(d.to_rfc3339()),
        Some(other) => panic!("dates must come parsed: {other:?}"),
        None => None,
    }
}

pub(super) fn s(v: &Option<String>) -> Option<&str> {
    v.as_deref()
}
