//! The seed article (../shared/seeds/) must come out of every feed format exactly as it went
//! in: built here into a JSON Feed item with every part, ingested, then read back with the
//! `rss` and `atom_syndication` crates and serde.

use chrono::DateTime;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

#[path = "../support/seed_article.rs"]
mod seed_article;
pub use seed_article::*;

async fn app_with_seed() -> (TestApp, Value) {
    let app = spawn_app().await;
    app.create_channel(
        "monde",
        json!({ "language": "fr", "link": "https://news.example.fr/" }),
    )
    .await;
    let item = seed_item();
    let report = app.ingest("monde", &item).await;
    assert_eq!(report["created"], 1);
    (app, item)
}

#[test]
fn seed_reads_as_expected() {
    let s = seed();
    assert!(
        s.title
            .starts_with("Le Royaume-Uni et les États-Unis signent")
    );
    assert!(s.caption.contains("Stansted"));
    assert_eq!(s.credit, "PAUL ELLIS/AFP via Getty Images");
    assert_eq!(s.contributor, "Guy Birchall");
    assert!(s.paragraphs.len() > 15);
    assert!(s.paragraphs.iter().any(|p| p.contains("23.000")));
    assert!(
        s.paragraphs
            .iter()
            .any(|p| p.contains('«') && p.contains('»'))
    );
}

#[tokio::test]
async fn seed_round_trips_through_rss() {
    let (app, item) = app_with_seed().await;
    let s = seed();
    let xml = app.feed_text("monde", "rss.xml").await;
    crate::helpers::assert_well_formed(&xml);
    let channel = rss::Channel::read_from(xml.as_bytes()).unwrap();
    assert_eq!(channel.items.len(), 1);
    let it = &channel.items[0];
    assert_eq!(it.title.as_deref(), Some(s.title.as_str()));
    assert_eq!(it.link.as_deref(), Some(SEED_URL));
    let guid = it.guid.as_ref().unwrap();
    assert_eq!(guid.value, SEED_URL);
    assert!(guid.permalink, "the guid is the article URL");
    let date = DateTime::parse_from_rfc2822(it.pub_date.as_deref().unwrap()).unwrap();
    assert_eq!(date, DateTime::parse_from_rfc3339(SEED_DATE).unwrap());
    assert_eq!(
        it.pub_date.as_deref(),
        Some("Tue, 16 Sep 2025 18:42:00 +0200")
    );
    assert_eq!(it.description.as_deref(), Some(s.lead.as_str()));
    assert_eq!(it.content.as_deref(), item["content_html"].as_str());
    let dc = it.dublin_core_ext.as_ref().unwrap();
    assert_eq!(dc.creators, vec![SEED_AUTHOR]);
    assert_eq!(dc.contributors, vec![s.contributor.clone()]);
    assert!(dc.languages.is_empty(), "same language as the channel");
    let tags: Vec<&str> = it.categories.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(tags, seed_tags());
    let media = &it.extensions["media"]["content"][0];
    assert_eq!(media.attrs["url"], SEED_IMAGE);
    assert_eq!(media.attrs["medium"], "image");
    assert_eq!(media.attrs["type"], "image/jpeg");
    let child = |n: &str| media.children[n][0].value.clone().unwrap();
    assert_eq!(child("description"), s.caption);
    assert_eq!(child("credit"), s.credit);
    assert_eq!(channel.language.as_deref(), Some("fr"));
    let self_link = &channel.atom_ext.as_ref().unwrap().links[0];
    assert_eq!(self_link.rel, "self");
    assert_eq!(self_link.href, app.url("/feeds/monde/rss.xml"));
}

#[tokio::test]
async fn seed_round_trips_through_atom() {
    let (app, item) = app_with_seed().await;
    let s = seed();
    let xml = app.feed_text("monde", "atom.xml").await;
    crate::helpers::assert_well_formed(&xml);
    let feed = atom_syndication::Feed::read_from(xml.as_bytes()).unwrap();
    assert_eq!(feed.entries.len(), 1);
    let e = &feed.entries[0];
    assert_eq!(e.id, SEED_URL);
    assert_eq!(e.title.value, s.title);
    assert_eq!(e.title.lang.as_deref(), Some("fr"));
    let published = DateTime::parse_from_rfc3339(SEED_DATE).unwrap();
    assert_eq!(e.published, Some(published));
    assert_eq!(e.updated, published, "never modified: updated is published");
    assert_eq!(e.authors.len(), 1);
    assert_eq!(e.authors[0].name, SEED_AUTHOR);
    assert_eq!(
        e.authors[0].uri.as_deref(),
        Some("https://news.example.fr/auteurs/redaction")
    );
    assert_eq!(e.contributors[0].name, s.contributor);
    assert_eq!(e.summary.as_ref().unwrap().value, s.lead);
    let content = e.content.as_ref().unwrap();
    assert_eq!(content.content_type.as_deref(), Some("html"));
    assert_eq!(content.value.as_deref(), item["content_html"].as_str());
    let tags: Vec<&str> = e.categories.iter().map(|c| c.term.as_str()).collect();
    assert_eq!(tags, seed_tags());
    let alt = e.links.iter().find(|l| l.rel == "alternate").unwrap();
    assert_eq!(alt.href, SEED_URL);
    let enc = e.links.iter().find(|l| l.rel == "enclosure").unwrap();
    assert_eq!(enc.href, SEED_IMAGE);
    let media = &e.extensions["media"]["content"][0];
    assert_eq!(media.attrs["url"], SEED_IMAGE);
    assert_eq!(
        media.children["description"][0].value.as_deref(),
        Some(s.caption.as_str())
    );
    assert_eq!(
        media.children["credit"][0].value.as_deref(),
        Some(s.credit.as_str())
    );
    assert_eq!(feed.lang.as_deref(), Some("fr"));
    assert!(feed.authors.is_empty(), "every entry has its own author");
    let self_link = feed.links.iter().find(|l| l.rel == "self").unwrap();
    assert_eq!(self_link.href, app.url("/feeds/monde/atom.xml"));
    assert_eq!(feed.id, self_link.href);
}

#[tokio::test]
async fn seed_round_trips_through_json_feed() {
    let (app, item) = app_with_seed().await;
    let r = app.feed("monde", "feed.json").await;
    assert_eq!(r.status(), StatusCode::OK);
    let feed: Value = r.json().await.unwrap();
    assert_eq!(feed["version"], "https://jsonfeed.org/version/1.1");
    assert_eq!(feed["feed_url"], app.url("/feeds/monde/feed.json"));
    assert_eq!(feed["home_page_url"], "https://news.example.fr/");
    let out = &feed["items"][0];
    // Every field that went in comes out, byte for byte.
    for (k, v) in item.as_object().unwrap() {
        assert_eq!(&out[k], v, "field {k}");
    }
    assert_eq!(
        out["author"], item["authors"][0],
        "JSON Feed 1.0 readers get `author`"
    );
}

/// What a feed says, read back through syndic's own RSS and Atom readers, is the article
/// that went in: the formats lose nothing that the crosswalk maps.
#[tokio::test]
async fn seed_survives_reingesting_our_own_feeds() {
    let (app, item) = app_with_seed().await;
    for (slug, file, ct) in [
        ("via-rss", "rss.xml", "application/rss+xml"),
        ("via-atom", "atom.xml", "application/atom+xml"),
        ("via-xml", "atom.xml", "application/xml"),
    ] {
        app.create_channel(slug, json!({ "language": "fr" })).await;
        let xml = app.feed_text("monde", file).await;
        let r = app.post_raw(slug, ct, xml).await;
        assert_eq!(
            r.status(),
            StatusCode::CREATED,
            "{slug}: {}",
            r.text().await.unwrap()
        );
        let got: Value = app.article(slug, SEED_URL).await.json().await.unwrap();
        for (k, v) in item.as_object().unwrap() {
            if file == "rss.xml" && k == "language" {
                // RSS says an item's language only where it differs from the channel's.
                continue;
            }
            if file == "rss.xml" && k == "authors" {
                // dc:creator carries names only.
                assert_eq!(got[k][0]["name"], v[0]["name"]);
                continue;
            }
            assert_eq!(&got[k], v, "{slug}: field {k}");
        }
    }
}
