//! Rendering cold: a channel's page of 50 or 500 seed-sized articles into each format, from
//! articles already read from SQLite (what a cache miss costs once the page is loaded).
//! `cargo bench --bench render`; benches/run puts the figures beside hugo's and npm `feed`'s.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use syndic::formats::{self, FeedFormat, InputKind};
use syndic::model::{NewChannel, Page};

#[path = "../tests/support/seed_article.rs"]
mod seed_article;

fn render(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("bench.db").display());
    let (store, channel) = rt.block_on(async {
        let store = syndic::store::open(&url).await.unwrap();
        let new = NewChannel::validate(
            "monde",
            "Monde".into(),
            String::new(),
            Some("https://news.example.fr/".into()),
            Some("fr".into()),
        )
        .unwrap();
        let channel = store.create_channel(&new).await.unwrap();
        let base = seed_article::seed_item();
        let items: Vec<_> = (0..500)
            .map(|n| seed_article::seed_series_item(&base, n))
            .collect();
        let body = serde_json::to_vec(&items).unwrap();
        syndic::ingest::ingest_body(&store, &channel, InputKind::Json, body)
            .await
            .unwrap();
        (store, channel)
    });
    let mut group = c.benchmark_group("render");
    for items in [50u32, 500] {
        let page = Page {
            limit: items,
            before: None,
            tag: None,
        };
        let loaded = rt
            .block_on(syndic::render::load_page(&store, &channel, &page))
            .unwrap();
        assert_eq!(loaded.articles.len(), items as usize);
        let doc = loaded.doc(&channel, &page, "http://127.0.0.1:8080");
        for format in [FeedFormat::Rss, FeedFormat::Atom, FeedFormat::Json] {
            let bytes = formats::render(format, &doc).len();
            group.throughput(Throughput::Bytes(bytes as u64));
            group.bench_with_input(
                BenchmarkId::new(format.file_name(), items),
                &doc,
                |b, doc| b.iter(|| formats::render(format, black_box(doc))),
            );
        }
    }
    group.finish();
}

criterion_group!(benches, render);
criterion_main!(benches);
