//! What the fuzz targets check beyond "no panic": every article syndic accepts from a fuzzed
//! input renders in all three formats without failing, each rendering is read back by syndic's
//! own strict readers and accepted again, and what comes back is what went in (title, link,
//! publication date, and the stored HTML, which the sanitizer must leave as it is: a fixed
//! point). Shared by the targets through `#[path]`; each uses one of its two entry points.
#![allow(dead_code)]

use std::sync::Once;

use syndic::formats::{self, FeedDoc, FeedFormat, InputKind};
use syndic::ingest::{self, Draft};
use syndic::model::{Article, Channel, Cursor, Page, Slug, Source, StoredArticle};

/// libfuzzer-sys aborts on every panic, even one that `syndic::boundary::contain` would catch.
/// The panics syndic knows of (reported upstream, `boundary::KNOWN`) are let through to the
/// boundary instead, so that a target crashes only on what nobody knows yet. Called first in
/// every target.
pub fn tolerate_known_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let abort = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_default();
            let known = syndic::boundary::KNOWN
                .iter()
                .any(|(_, fragment)| message.contains(fragment));
            if !known {
                abort(info);
            }
        }));
    });
}

fn channel() -> Channel {
    let now = chrono::DateTime::from_timestamp(1_758_000_000, 0).unwrap();
    Channel {
        id: 1,
        slug: Slug::parse("fuzz").unwrap(),
        title: "Fuzz & <co>".into(),
        description: String::new(),
        link: Some("https://news.example/section/".into()),
        language: None,
        created_at: now,
        updated_at: now,
        version: 1,
        retain_max_articles: None,
        retain_days: None,
        dedupe: Default::default(),
    }
}

fn render(channel: &Channel, article: &Article, format: FeedFormat) -> Vec<u8> {
    let stored = [StoredArticle {
        article: article.clone(),
        first_seen_at: channel.updated_at,
        cursor: Cursor { sort_at: 1, row: 1 },
    }];
    let page = Page {
        limit: 50,
        before: None,
        tag: None,
    };
    formats::render(
        format,
        &FeedDoc {
            channel,
            articles: &stored,
            base_url: "http://127.0.0.1:8080",
            page: &page,
            next: None,
            previous: None,
        },
    )
}

/// Renders each article in every format and reads it back: accepted, and equal where the
/// formats carry the field.
fn round_trip(channel: &Channel, articles: &[Article]) {
    for a in articles {
        for (format, kind) in [
            (FeedFormat::Rss, InputKind::Rss),
            (FeedFormat::Atom, InputKind::Atom),
            (FeedFormat::Json, InputKind::Json),
        ] {
            let body = render(channel, a, format);
            let drafts = formats::parse(kind, &body).unwrap_or_else(|e| {
                panic!("{format:?} of an accepted article does not read back: {e}")
            });
            let back = ingest::prepare(drafts, channel)
                .unwrap_or_else(|e| panic!("{format:?} read back is refused: {e}"));
            assert_eq!(back.len(), 1, "{format:?}");
            let b = &back[0];
            if a.title.is_some() {
                assert_eq!(b.title, a.title, "{format:?} title");
            }
            assert_eq!(b.url, a.url, "{format:?} url");
            let published = a
                .date_published
                .unwrap_or_else(|| channel.updated_at.fixed_offset());
            assert_eq!(b.date_published, Some(published), "{format:?} date");
            if a.content_html.is_some() {
                assert_eq!(b.content_html, a.content_html, "{format:?} content_html");
            }
        }
    }
}

/// A publisher's body (API, CLI): parsed strictly; when accepted, it must round-trip.
pub fn publisher(kind: InputKind, data: &[u8]) {
    let channel = channel();
    if let Ok(drafts) = formats::parse(kind, data) {
        if let Ok(articles) = ingest::prepare(drafts, &channel) {
            round_trip(&channel, &articles);
        }
    }
}

/// Drafts from an upstream feed: every item that is kept must round-trip.
pub fn upstream(drafts: Vec<Draft>) {
    let channel = channel();
    let source = Source {
        title: Some("Upstream".into()),
        url: "https://upstream.example/feed.xml".into(),
    };
    let prepared = ingest::prepare_upstream(drafts, &channel, &source);
    let articles: Vec<Article> = prepared.articles.into_iter().map(|(_, a)| a).collect();
    round_trip(&channel, &articles);
}
