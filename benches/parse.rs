//! Parsing upstream feeds: syndic's `formats::parse_feed` (decode, repair, then the `rss`
//! and `atom_syndication` crates) and `feed-rs` on the same corpus, all files per iteration.
//! The corpus is `SYNDIC_BENCH_CORPUS` (benches/run gathers real-world feeds there) or else
//! tests/fixtures/upstream. Items each parser got are written to
//! `$SYNDIC_BENCH_OUT/parse-items.json` when that is set, for items per second.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn corpus() -> Vec<(PathBuf, Vec<u8>)> {
    let dir = std::env::var("SYNDIC_BENCH_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/upstream")
        });
    let mut files: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .is_some_and(|e| e == "xml" || e == "json" || e == "rss" || e == "atom")
        })
        .map(|p| {
            let body = std::fs::read(&p).unwrap();
            (p, body)
        })
        .collect();
    files.sort();
    files
}

fn syndic_items(files: &[(PathBuf, Vec<u8>)], url: &url::Url) -> usize {
    files
        .iter()
        .filter_map(|(_, body)| syndic::formats::parse_feed(body, None, url).ok())
        .map(|f| f.items.len())
        .sum()
}

fn feed_rs_items(files: &[(PathBuf, Vec<u8>)]) -> usize {
    files
        .iter()
        .filter_map(|(_, body)| {
            std::panic::catch_unwind(|| feed_rs::parser::parse(&body[..]).ok())
                .ok()
                .flatten()
        })
        .map(|f| f.entries.len())
        .sum()
}

fn parse(c: &mut Criterion) {
    let files = corpus();
    let bytes: usize = files.iter().map(|(_, b)| b.len()).sum();
    let url = url::Url::parse("http://127.0.0.1/feed").unwrap();
    let counts = serde_json::json!({
        "files": files.len(),
        "bytes": bytes,
        "syndic_items": syndic_items(&files, &url),
        "feed_rs_items": feed_rs_items(&files),
    });
    eprintln!("corpus: {counts}");
    if let Ok(out) = std::env::var("SYNDIC_BENCH_OUT") {
        std::fs::write(
            PathBuf::from(out).join("parse-items.json"),
            counts.to_string(),
        )
        .unwrap();
    }
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("syndic", |b| {
        b.iter(|| syndic_items(black_box(&files), &url))
    });
    group.bench_function("feed-rs", |b| b.iter(|| feed_rs_items(black_box(&files))));
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
