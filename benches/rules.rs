//! What import rules cost on a poll, against a peer measured in the same run: the sanitizer
//! that every upstream item's HTML already goes through (`safe_html`, upstream origin). Two
//! cases:
//!
//! - a feed of 100 realistic items (a few KiB of HTML each, with links), through the issue's
//!   five-rule example plus a content replace and a content condition;
//! - one hostile item (a long run of text and links) at 1x and 8x the size, through a rule
//!   set made of patterns that backtracking engines choke on: the time per byte at both sizes
//!   and their ratio, which stays near 1 when the cost is linear.
//!
//! ```text
//! cargo bench --bench rules
//! ```
//!
//! Prints medians of 9 runs, and one JSON object per case on standard error.

use std::time::{Duration, Instant};

use syndic::draft::Draft;
use syndic::ingest::normalize::{HtmlOrigin, safe_html};
use syndic::model::Person;
use syndic::rules::{self, Rules};

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

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

fn rules_of(json: &str) -> Rules {
    Rules {
        subscription: rules::parse(json.as_bytes()).expect("valid rules"),
        channel: None,
    }
}

const ISSUE_PLUS: &str = r#"[
  {"name": "no sponsored posts", "if": {"title": "(?i)sponsored|advert"}, "then": "drop"},
  {"name": "only AI", "if": {"any": "(?i)\\b(AI|machine learning)\\b"}, "then": "keep"},
  {"if": {"author": "^AFP$", "tag": "(?i)sport"}, "then": {"add_tag": "wire-sport"}},
  {"then": {"replace": {"field": "title", "pattern": "^\\[[^]]*\\]\\s*", "with": ""}}},
  {"if": {"content": "(?i)paid partnership"}, "then": "drop"},
  {"then": {"replace": {"field": "content", "pattern": "(?i)\\bclick here\\b", "with": "read more"}}},
  {"then": "strip_tracking"}
]"#;

const HOSTILE: &str = r#"[
  {"if": {"content": "(a|aa)*b$"}, "then": "drop"},
  {"if": {"any": "(\\w+\\s?)*[0-9]{3}$"}, "then": "drop"},
  {"then": {"replace": {"field": "content", "pattern": "(x+x+)+y", "with": "z"}}},
  {"then": "strip_tracking"}
]"#;

fn item(i: usize) -> Draft {
    let mut html = String::new();
    for p in 0..12 {
        html.push_str(&format!(
            "<p>Paragraph {p} of story {i} about AI and the economy, with <a href=\"https://news.example/{i}/{p}?utm_source=rss&amp;utm_medium=feed&amp;id={p}\">a link</a>, <b>bold</b> words and &amp; entities. Click here for more. Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.</p>"
        ));
    }
    Draft {
        id: Some(format!("https://news.example/{i}?utm_source=rss")),
        url: Some(format!("https://news.example/{i}?utm_source=rss")),
        title: Some(format!("[Wire] Story {i} on machine learning")),
        content_html: Some(html),
        authors: vec![Person {
            name: Some("AFP".into()),
            ..Default::default()
        }],
        tags: vec!["Sport".into(), "Economy".into()],
        ..Default::default()
    }
}

fn apply_all(rules: &Rules, drafts: &[Draft]) -> usize {
    drafts
        .iter()
        .map(|d| {
            let mut d = d.clone();
            rules.apply(&mut d).changes.len()
        })
        .sum()
}

fn sanitize_all(drafts: &[Draft]) -> usize {
    drafts
        .iter()
        .map(|d| {
            safe_html(
                d.content_html.as_deref().unwrap(),
                None,
                HtmlOrigin::Upstream,
            )
            .unwrap()
            .map_or(0, |h| h.len())
        })
        .sum()
}

fn main() {
    let runs = 9;
    let drafts: Vec<Draft> = (0..100).map(item).collect();
    let bytes: usize = drafts
        .iter()
        .map(|d| d.content_html.as_ref().unwrap().len())
        .sum();
    let rules = rules_of(ISSUE_PLUS);
    assert!(apply_all(&rules, &drafts) > 0, "the rules do something");
    let clone_only = time(runs, || {
        std::hint::black_box(drafts.clone());
    });
    let t_rules = time(runs, || {
        std::hint::black_box(apply_all(&rules, &drafts));
    });
    let t_sanitize = time(runs, || {
        std::hint::black_box(sanitize_all(&drafts));
    });
    println!(
        "feed of 100 items ({} KiB of HTML), 7 rules: rules {:.2} ms (of which cloning the drafts {:.2} ms), sanitizer (peer) {:.2} ms, rules / sanitizer = {:.2}",
        bytes / 1024,
        t_rules.as_secs_f64() * 1e3,
        clone_only.as_secs_f64() * 1e3,
        t_sanitize.as_secs_f64() * 1e3,
        t_rules.as_secs_f64() / t_sanitize.as_secs_f64()
    );
    eprintln!(
        "{{\"case\":\"feed-100\",\"bytes\":{bytes},\"rules_ms\":{:.3},\"sanitize_ms\":{:.3},\"ratio\":{:.3}}}",
        t_rules.as_secs_f64() * 1e3,
        t_sanitize.as_secs_f64() * 1e3,
        t_rules.as_secs_f64() / t_sanitize.as_secs_f64()
    );

    let hostile = rules_of(HOSTILE);
    let mut per_byte = Vec::new();
    for scale in [1usize, 8] {
        let unit = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa xxxxxxxxxxxxxxxxxxxxxxxxxxxx <a href=\"/p?fbclid=1&amp;q=2\">l</a> ";
        let n = scale * (128 * 1024) / unit.len();
        let html = format!("<p>{}</p>", unit.repeat(n));
        let d = Draft {
            title: Some("t".repeat(1000)),
            content_html: Some(html.clone()),
            ..Default::default()
        };
        let t_rules = time(runs, || {
            let mut d = d.clone();
            std::hint::black_box(hostile.apply(&mut d));
        });
        let t_sanitize = time(runs, || {
            std::hint::black_box(safe_html(&html, None, HtmlOrigin::Upstream).unwrap());
        });
        let ns = t_rules.as_secs_f64() * 1e9 / html.len() as f64;
        per_byte.push(ns);
        println!(
            "hostile item {} KiB: rules {:.2} ms ({ns:.1} ns/byte), sanitizer (peer) {:.2} ms, rules / sanitizer = {:.2}",
            html.len() / 1024,
            t_rules.as_secs_f64() * 1e3,
            t_sanitize.as_secs_f64() * 1e3,
            t_rules.as_secs_f64() / t_sanitize.as_secs_f64()
        );
        eprintln!(
            "{{\"case\":\"hostile-{scale}x\",\"bytes\":{},\"rules_ms\":{:.3},\"sanitize_ms\":{:.3}}}",
            html.len(),
            t_rules.as_secs_f64() * 1e3,
            t_sanitize.as_secs_f64() * 1e3
        );
    }
    println!(
        "hostile item: time per byte at 8x / at 1x = {:.2} (1 is linear)",
        per_byte[1] / per_byte[0]
    );
}
