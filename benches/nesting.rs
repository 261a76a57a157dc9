//! Linear time on hostile markup: each shape of tests/support/hostile_markup.rs at 1x and 8x
//! the size, through `safe_html` (publisher and upstream, what an API ingest and a poll run on
//! every item's HTML) and through the poller's whole reading of a feed carrying it
//! (`parse_feed` and `prepare_upstream`). Prints the time per byte at both sizes and their
//! ratio, which stays near 1 when the cost is linear (a quadratic pass gives about 8), and
//! the same as one JSON object per line on standard error.
//!
//! Then the same for hostile feed markup itself (not HTML inside a description): end tags that
//! close nothing, after one open element or after many, through `parse_feed`'s XML repair.
//!
//! ```text
//! cargo bench --bench nesting                 # 1x = 1 MiB
//! cargo bench --bench nesting -- --size 128K  # a quicker run
//! cargo bench --bench nesting -- --only nested,tables
//! ```
//!
//! Timing belongs here, not in the tests, which assert the behaviour (flattened to a bounded
//! depth) instead.

use std::time::{Duration, Instant};

use syndic::ingest::normalize::{HtmlOrigin, safe_html};
use syndic::model::{Channel, Slug, Source};
use url::Url;

#[path = "../tests/support/hostile_markup.rs"]
mod hostile_markup;

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

/// The median of `runs` timings of `f`.
fn time(runs: usize, mut f: impl FnMut()) -> Duration {
    median(
        (0..runs)
            .map(|_| {
                let start = Instant::now();
                f();
                start.elapsed()
            })
            .collect(),
    )
}

/// One path's timing of one input.
type Timed<'a> = Box<dyn Fn(&str) -> Duration + 'a>;

fn rss_with(html: &str) -> String {
    let escaped = html_escape::encode_text(html);
    format!(
        "<rss version=\"2.0\"><channel><title>t</title><link>https://up.example/</link>\
         <item><guid>g-1</guid><title>one</title><description>{escaped}</description></item>\
         <item><guid>g-2</guid><title>two</title><description>&lt;p&gt;fine&lt;/p&gt;</description></item>\
         </channel></rss>"
    )
}

/// Feed markup whose end tags close nothing: the repair looks each one up among the open
/// elements. `open` elements are left open inside the item first.
fn feed_unmatched_ends(bytes: usize, open: bool) -> String {
    let head = "<rss version=\"2.0\"><channel><title>t</title><link>https://up.example/</link>\
                <item><guid>g-1</guid><title>one</title>";
    let tail = "</item><item><guid>g-2</guid><title>two</title></item></channel></rss>";
    let n = if open { bytes / 7 } else { bytes / 4 };
    let opened = if open { "<x>".repeat(n) } else { String::new() };
    format!("{head}{opened}{}{tail}", "</y>".repeat(n))
}

/// Shapes of feed markup, by name: 1 open element then only unmatched end tags, and many
/// open elements then as many unmatched end tags.
const FEED_SHAPES: &[(&str, hostile_markup::Generator)] = &[
    ("feed-unmatched-ends", |b| feed_unmatched_ends(b, false)),
    ("feed-open-unmatched", |b| feed_unmatched_ends(b, true)),
];

fn poll_read(doc: &str, channel: &Channel, source: &Source) -> usize {
    let url = Url::parse("https://up.example/feed.xml").unwrap();
    let feed = syndic::formats::parse_feed(doc.as_bytes(), None, &url).expect("a feed");
    syndic::ingest::prepare_upstream(feed.items, channel, source)
        .articles
        .len()
}

fn parse_size(s: &str) -> usize {
    let (n, mult) = match s.strip_suffix(['K', 'k']) {
        Some(n) => (n, 1024),
        None => match s.strip_suffix(['M', 'm']) {
            Some(n) => (n, 1024 * 1024),
            None => (s, 1),
        },
    };
    n.parse::<usize>().expect("a size such as 128K or 1M") * mult
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let size = args
        .iter()
        .position(|a| a == "--size")
        .and_then(|i| args.get(i + 1))
        .map(|s| parse_size(s))
        .unwrap_or(1 << 20);
    let only: Option<Vec<String>> = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .map(|s| s.split(',').map(str::to_owned).collect());
    let runs = 5;
    let channel = Channel {
        id: 1,
        slug: Slug::parse("bench").unwrap(),
        title: "bench".into(),
        description: String::new(),
        link: Some("https://news.example/".into()),
        language: None,
        created_at: chrono::Utc::now(),
        updated_at: chrono::Utc::now(),
        version: 1,
        retain_max_articles: None,
        retain_days: None,
        dedupe: Default::default(),
    };
    let source = Source {
        title: Some("up".into()),
        url: "https://up.example/feed.xml".into(),
    };
    let base = Url::parse("https://news.example/a").unwrap();
    println!(
        "{:<22} {:<10} {:>12} {:>12} {:>7}",
        "shape", "path", "1x ns/byte", "8x ns/byte", "ratio"
    );
    for (shape, make) in hostile_markup::SHAPES {
        if only.as_ref().is_some_and(|o| !o.iter().any(|x| x == shape)) {
            continue;
        }
        let small = make(size);
        let large = make(size * 8);
        let paths: [(&str, Timed); 3] = [
            (
                "publisher",
                Box::new(|h: &str| {
                    time(runs, || {
                        let _ = safe_html(h, Some(&base), HtmlOrigin::Publisher);
                    })
                }),
            ),
            (
                "upstream",
                Box::new(|h: &str| {
                    time(runs, || {
                        let _ = safe_html(h, Some(&base), HtmlOrigin::Upstream);
                    })
                }),
            ),
            (
                "poll",
                Box::new(|h: &str| {
                    let doc = rss_with(h);
                    time(runs, || {
                        assert_eq!(poll_read(&doc, &channel, &source), 2);
                    })
                }),
            ),
        ];
        for (path, run) in paths {
            let t1 = run(&small).as_nanos() as f64 / small.len() as f64;
            let t8 = run(&large).as_nanos() as f64 / large.len() as f64;
            let ratio = t8 / t1;
            println!("{shape:<22} {path:<10} {t1:>12.1} {t8:>12.1} {ratio:>7.2}");
            eprintln!(
                "{}",
                serde_json::json!({
                    "shape": shape, "path": path, "bytes_1x": small.len(),
                    "bytes_8x": large.len(), "ns_per_byte_1x": t1, "ns_per_byte_8x": t8,
                    "ratio": ratio,
                })
            );
        }
    }
    for (shape, make) in FEED_SHAPES {
        if only.as_ref().is_some_and(|o| !o.iter().any(|x| x == shape)) {
            continue;
        }
        let (small, large) = (make(size), make(size * 8));
        let url = Url::parse("https://up.example/feed.xml").unwrap();
        let run = |doc: &str| {
            time(runs, || {
                let feed = syndic::formats::parse_feed(doc.as_bytes(), None, &url).expect("a feed");
                // With thousands of elements left open in the first item, the `rss` crate may
                // not read the second: the repair's cost is what is measured.
                assert!(!feed.items.is_empty());
            })
        };
        let t1 = run(&small).as_nanos() as f64 / small.len() as f64;
        let t8 = run(&large).as_nanos() as f64 / large.len() as f64;
        let ratio = t8 / t1;
        println!(
            "{shape:<22} {:<10} {t1:>12.1} {t8:>12.1} {ratio:>7.2}",
            "parse"
        );
        eprintln!(
            "{}",
            serde_json::json!({
                "shape": shape, "path": "parse", "bytes_1x": small.len(),
                "bytes_8x": large.len(), "ns_per_byte_1x": t1, "ns_per_byte_8x": t8,
                "ratio": ratio,
            })
        );
    }
}
