//! Full text for summary-only feeds (docs/full-text.md): a local upstream serves a
//! summary-only feed and the article pages it links to, with navigation, ads, share bars,
//! comments and hostile markup; syndic publishes the pages' main text as the content, keeps
//! the feed's text as the summary, fetches every page once, says why a page gave nothing, and
//! never fetches a page on a private address unless allowed.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Arg, TestApp, spawn_app, spawn_app_with};
use crate::upstream::{UpstreamServer, spawn_upstream};

/// An article page as news sites make them: the story inside navigation, an ad, a share bar,
/// a newsletter box, comments and a footer, with scripts and `javascript:` links around and
/// inside the story.
fn article_page(title: &str, lede: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} | The Riverside Gazette</title>
<script>window.tracker = "TRACKER-CODE";</script>
<style>.ad {{ color: red }}</style></head>
<body>
<header class="site-header"><a href="/">The Riverside Gazette</a>
<nav class="main-nav"><ul><li><a href="/news">NAVLINK News</a></li><li><a href="/sport">NAVLINK Sport</a></li>
<li><a href="/weather">NAVLINK Weather</a></li><li><a href="/subscribe">NAVLINK Subscribe</a></li></ul></nav></header>
<div class="ad ad-banner sponsored" id="top-ad"><a href="https://ads.example/click">ADVERT Buy the Widget 3000 today</a></div>
<main><article class="post">
<h1>{title}</h1>
<div class="share-bar social"><a href="https://share.example/fb">SHAREBAR Facebook</a> <a href="https://share.example/x">SHAREBAR X</a> <a href="javascript:share()">SHAREBAR Copy</a></div>
<p>{lede} The water rose by three metres overnight, the highest level recorded in the town since
the great flood of 1953, and the mayor ordered the lower streets cleared before dawn.</p>
<p>Volunteers filled sandbags in the market square while firefighters pumped water out of the
cellars along the quay; the primary school was opened as a shelter for the families of the
riverside streets, and the bakery handed out bread to everyone who came.</p>
<p onclick="alert('ONCLICK')">Forecasters expect the water to fall by the weekend, but warn that more rain is due on
Tuesday. <a href="../maps/flood.html">See the flood map</a> and <a href="javascript:alert('JSLINK')">this link</a>.</p>
<figure><img src="img/quay.jpg" alt="The flooded quay"><figcaption>The quay at dawn.</figcaption></figure>
<script>alert("INLINE-SCRIPT")</script>
<p>Residents said the river had never risen so fast, and several asked the council to rebuild the
old dyke that was taken down twenty years ago; the council meets on Thursday to discuss it.</p>
</article></main>
<aside class="newsletter sidebar"><p>NEWSLETTER Sign up for our daily email</p></aside>
<section class="comments" id="comments"><h2>Comments</h2>
<div class="comment"><p>COMMENT First!</p></div><div class="comment"><p>COMMENT Great piece, visit spam.example</p></div></section>
<footer class="site-footer"><p>FOOTER Copyright The Riverside Gazette</p><a href="/privacy">FOOTER Privacy</a></footer>
</body></html>"#
    )
}

/// An RSS feed of summaries: (guid, title, link, summary).
fn summary_feed(items: &[(&str, &str, &str, &str)]) -> String {
    let mut s = String::from(
        r#"<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Gazette</title><link>https://gazette.example/</link><description>d</description>"#,
    );
    for (i, (guid, title, link, summary)) in items.iter().enumerate() {
        s.push_str(&format!(
            "<item><guid isPermaLink=\"false\">{guid}</guid><title>{title}</title><link>{link}</link>\
             <pubDate>Tue, {:02} Sep 2025 10:00:00 +0000</pubDate><description>{summary}</description></item>",
            i + 1
        ));
    }
    s.push_str("</channel></rss>");
    s
}

async fn subscribe(app: &TestApp, url: &str, full_content: bool) -> Value {
    let r = app
        .api(Method::POST, "/subscriptions")
        .json(&json!({ "url": url, "channel": "planet", "full_content": full_content }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json::<Value>().await.unwrap()["subscription"].clone()
}

async fn poll(app: &TestApp, id: i64) -> Value {
    app.poll_now(id).await["poll"].clone()
}

/// The JSON Feed item with this title.
async fn item(app: &TestApp, title: &str) -> Value {
    let feed: Value = app.feed("planet", "feed.json").await.json().await.unwrap();
    feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["title"] == title)
        .unwrap_or_else(|| panic!("no item {title:?} in {feed:#}"))
        .clone()
}

fn page_requests(up: &UpstreamServer, name: &str) -> usize {
    up.seen(&format!("/plain/{name}")).len()
}

const CHROME: &[&str] = &[
    "NAVLINK",
    "ADVERT",
    "SHAREBAR",
    "NEWSLETTER",
    "COMMENT",
    "FOOTER",
    "TRACKER-CODE",
    "INLINE-SCRIPT",
    "JSLINK",
    "ONCLICK",
    "javascript:",
    "<script",
    "onclick",
];

#[tokio::test]
async fn pages_become_the_content_and_the_feed_text_the_summary() {
    let app = spawn_app().await;
    app.create_channel("planet", json!({})).await;
    let up = spawn_upstream().await;
    up.set_feed(
        "flood",
        "text/html; charset=utf-8",
        article_page("Rivers rise", "FLOOD-LEDE"),
    );
    up.set_feed(
        "dyke",
        "text/html",
        article_page(
            "The dyke & the council",
            "DYKE-LEDE <b>\"quoted\"</b> 'it' ]]> \u{1}\u{b}\u{fffe} &amp; <![CDATA[x]]>",
        ),
    );
    // Past the page cap (5 MiB, or the poller's own when smaller: 1 MiB in the tests).
    up.set_feed(
        "huge",
        "text/html",
        article_page("Huge", &"x".repeat(2 * 1024 * 1024)),
    );
    up.set_feed(
        "empty",
        "text/html",
        "<html><body><nav>menu</nav></body></html>",
    );
    let link = |name: &str| up.url(&format!("/plain/{name}"));
    up.set_feed(
        "gazette",
        "application/rss+xml",
        summary_feed(&[
            ("a", "Rivers rise", &link("flood"), "Short: the river rose."),
            (
                "b",
                "The dyke",
                &link("dyke"),
                "Short &amp; sweet: the dyke &amp;lt;again&amp;gt;.",
            ),
            ("c", "Gone page", &link("missing"), "Short: gone."),
            ("d", "Empty page", &link("empty"), "Short: empty."),
            ("e", "Script link", "javascript:alert(1)", "Short: script."),
            ("h", "Huge page", &link("huge"), "Short: huge."),
        ]),
    );
    let sub = subscribe(&app, &up.url("/f/gazette"), true).await;
    assert_eq!(sub["full_content"], true);
    let id = sub["id"].as_i64().unwrap();

    let report = poll(&app, id).await;
    assert_eq!(report["status"], "imported", "{report:#}");
    assert_eq!(report["created"], 6, "{report:#}");
    let full = &report["full_text"];
    assert_eq!(full["fetched"], 2, "{report:#}");
    let metrics = app.metrics_text().await;
    for outcome in ["fetched", "failed"] {
        // One registry per process, shared with the tests running beside this one: at least.
        let count = metrics
            .lines()
            .find_map(|l| {
                l.strip_prefix(&format!(
                    "syndic_full_text_pages_total{{outcome=\"{outcome}\"}} "
                ))
            })
            .unwrap_or_else(|| panic!("{outcome} in\n{metrics}"));
        assert!(count.parse::<f64>().unwrap() >= 2.0, "{outcome}: {count}");
    }
    assert_eq!(full["pending"], 0, "{report:#}");
    let failed = full["failed"].as_array().unwrap();
    let why = |url: &str| {
        failed
            .iter()
            .find(|f| f["url"] == url)
            .unwrap_or_else(|| panic!("{url} not reported in {report:#}"))["error"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(why(&link("missing")).contains("404"), "{report:#}");
    assert!(
        why(&link("empty")).contains("not look like an article"),
        "{report:#}"
    );
    assert!(
        why("javascript:alert(1)").contains("http and https"),
        "{report:#}"
    );
    assert!(why(&link("huge")).contains("larger than"), "{report:#}");
    assert_eq!(failed.len(), 4, "{report:#}");

    // The pages' text is the content, the feed's text the summary.
    let a = item(&app, "Rivers rise").await;
    let html = a["content_html"].as_str().unwrap();
    assert!(
        html.contains("FLOOD-LEDE") && html.contains("three metres overnight"),
        "{html}"
    );
    assert!(html.contains("the council meets on Thursday"), "{html}");
    assert_eq!(a["summary"], "Short: the river rose.");
    // Relative URLs are resolved against the page.
    assert!(
        html.contains(&format!("{}/maps/flood.html", up.base)),
        "{html}"
    );
    assert!(
        html.contains(&format!("{}/plain/img/quay.jpg", up.base)),
        "{html}"
    );
    let b = item(&app, "The dyke").await;
    let html = b["content_html"].as_str().unwrap();
    assert!(html.contains("DYKE-LEDE"), "{html}");
    assert_eq!(b["summary"], "Short & sweet: the dyke <again>.");
    // A page that failed or gave nothing keeps the feed's text.
    for (title, text) in [
        ("Huge page", "Short: huge."),
        ("Gone page", "Short: gone."),
        ("Empty page", "Short: empty."),
        ("Script link", "Short: script."),
    ] {
        let i = item(&app, title).await;
        assert_eq!(
            i["content_html"].as_str().map(str::trim),
            Some(text),
            "{i:#}"
        );
    }
    // Navigation, ads, share bars, comments and scripts reach no feed.
    for file in ["feed.json", "rss.xml", "atom.xml"] {
        let body = app.feed_text("planet", file).await;
        assert!(body.contains("three metres overnight"), "{file}: {body}");
        for chrome in CHROME {
            assert!(!body.contains(chrome), "{chrome} in {file}: {body}");
        }
        if file != "feed.json" {
            crate::helpers::assert_well_formed(&body);
            // The summary is published beside the full text.
            assert!(body.contains("Short: the river rose."), "{file}: {body}");
        }
    }
    let rss = app.feed_text("planet", "rss.xml").await;
    assert!(rss.contains("<content:encoded>"), "{rss}");
    let atom = app.feed_text("planet", "atom.xml").await;
    assert!(atom.contains("<summary"), "{atom}");

    // Next poll, the feed has changed (a new item, an updated one): the new page is fetched,
    // the others are not fetched again and keep their text.
    up.set_feed("later", "text/html", article_page("Later", "LATER-LEDE"));
    up.set_feed(
        "gazette",
        "application/rss+xml",
        summary_feed(&[
            ("f", "Later", &link("later"), "Short: later."),
            (
                "a",
                "Rivers rise (updated)",
                &link("flood"),
                "Short: updated.",
            ),
            (
                "b",
                "The dyke",
                &link("dyke"),
                "Short &amp; sweet: the dyke &amp;lt;again&amp;gt;.",
            ),
            ("c", "Gone page", &link("missing"), "Short: gone."),
            ("d", "Empty page", &link("empty"), "Short: empty."),
            ("e", "Script link", "javascript:alert(1)", "Short: script."),
            ("h", "Huge page", &link("huge"), "Short: huge."),
        ]),
    );
    let report = poll(&app, id).await;
    assert_eq!(report["created"], 1, "{report:#}");
    assert_eq!(report["full_text"]["fetched"], 1, "{report:#}");
    assert_eq!(report["full_text"]["failed"], json!([]), "{report:#}");
    for (page, times) in [
        ("huge", 1),
        ("flood", 1),
        ("dyke", 1),
        ("missing", 1),
        ("empty", 1),
        ("later", 1),
    ] {
        assert_eq!(page_requests(&up, page), times, "requests for {page}");
    }
    let a = item(&app, "Rivers rise (updated)").await;
    assert!(
        a["content_html"].as_str().unwrap().contains("FLOOD-LEDE"),
        "{a:#}"
    );
    assert_eq!(a["summary"], "Short: updated.");
    let f = item(&app, "Later").await;
    assert!(
        f["content_html"].as_str().unwrap().contains("LATER-LEDE"),
        "{f:#}"
    );
}

/// Without the option nothing is fetched; turning it on (PATCH) applies to new items only.
#[tokio::test]
async fn the_option_is_off_by_default_and_applies_to_new_items() {
    let app = spawn_app().await;
    app.create_channel("planet", json!({})).await;
    let up = spawn_upstream().await;
    let link = |name: &str| up.url(&format!("/plain/{name}"));
    up.set_feed("one", "text/html", article_page("One", "ONE-LEDE"));
    up.set_feed("two", "text/html", article_page("Two", "TWO-LEDE"));
    up.set_feed(
        "gazette",
        "application/rss+xml",
        summary_feed(&[("1", "One", &link("one"), "Short one.")]),
    );
    let sub = subscribe(&app, &up.url("/f/gazette"), false).await;
    assert_eq!(sub["full_content"], false);
    let id = sub["id"].as_i64().unwrap();
    let report = poll(&app, id).await;
    assert!(report.get("full_text").is_none(), "{report:#}");
    assert_eq!(page_requests(&up, "one"), 0);

    let r = app
        .api(Method::PATCH, &format!("/subscriptions/{id}"))
        .json(&json!({ "full_content": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["full_content"], true);
    let shown: Value = app
        .api(Method::GET, &format!("/subscriptions/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown["full_content"], true);
    up.set_feed(
        "gazette",
        "application/rss+xml",
        summary_feed(&[
            ("2", "Two", &link("two"), "Short two."),
            ("1", "One", &link("one"), "Short one."),
        ]),
    );
    let report = poll(&app, id).await;
    assert_eq!(report["full_text"]["fetched"], 1, "{report:#}");
    assert_eq!(page_requests(&up, "one"), 0, "imported before the option");
    assert_eq!(page_requests(&up, "two"), 1);
    let two = item(&app, "Two").await;
    assert!(two["content_html"].as_str().unwrap().contains("TWO-LEDE"));

    // Bad patches are refused, naming the problem.
    for (body, status) in [
        (json!({}), StatusCode::BAD_REQUEST),
        (
            json!({ "full_content": "yes" }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({ "full_content": true, "x": 1 }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let r = app
            .api(Method::PATCH, &format!("/subscriptions/{id}"))
            .json(&body)
            .send()
            .await
            .unwrap();
        let got = r.status();
        let text = r.text().await.unwrap();
        assert!(
            got == status || (got.is_client_error() && status.is_client_error()),
            "{body}: {got} {text}"
        );
        assert!(text.contains("message"), "{text}");
    }
    let r = app
        .api(Method::PATCH, "/subscriptions/9999")
        .json(&json!({ "full_content": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

/// With private addresses refused, a page on one is not fetched (here through a WebSub push,
/// the import that needs no feed fetch), the item keeps its summary, and why is kept.
#[tokio::test]
async fn pages_on_private_addresses_are_refused_without_the_setting() {
    let app = spawn_app_with(false).await;
    app.create_channel("planet", json!({})).await;
    let up = spawn_upstream().await;
    up.set_feed("secret", "text/html", article_page("Secret", "SECRET-LEDE"));
    app.db_exec(
        "INSERT INTO subscriptions (channel_id, url, original_url, interval_secs, next_fetch_at,
            created_at, websub_secret, websub_topic, full_content)
         SELECT id, 'https://feeds.example/f', 'https://feeds.example/f', 1800,
            9000000000000000, 0, 'right', 't', TRUE FROM channels WHERE slug = 'planet'",
    )
    .await;
    let id = app
        .db_value("SELECT max(id) FROM subscriptions")
        .await
        .unwrap();
    let page = up.url("/plain/secret");
    let feed = summary_feed(&[("s", "Secret", &page, "Short: secret.")]);
    let r = app.push(id, "right", &feed).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(app.db_count("SELECT count(*) FROM articles").await, 1);
    // The page is tried after the push is answered.
    app.db_wait(
        "SELECT count(*) FROM full_texts WHERE error LIKE '%private or local%'",
        1,
    )
    .await;
    assert_eq!(page_requests(&up, "secret"), 0, "nothing reached the page");
    let s = item(&app, "Secret").await;
    assert_eq!(
        s["content_html"].as_str().map(str::trim),
        Some("Short: secret.")
    );
    app.db_exec_with(
        "DELETE FROM full_texts WHERE subscription_id = $1 AND error NOT LIKE '%private or local%'",
        vec![Arg::Int(id)],
    )
    .await;
    assert_eq!(
        app.db_count("SELECT count(*) FROM full_texts WHERE content_html IS NULL")
            .await,
        1,
        "the refusal is kept, so the page is not tried again"
    );
}

/// What was kept of a page is forgotten 30 days after its fetch once its item has left the
/// feed; a page whose item is still in the feed is kept however old.
#[tokio::test]
async fn pages_of_items_gone_from_the_feed_are_forgotten_after_a_month() {
    let app = spawn_app().await;
    app.create_channel("planet", json!({})).await;
    let up = spawn_upstream().await;
    up.set_feed("stays", "text/html", article_page("Stays", "STAYS-LEDE"));
    up.set_feed("goes", "text/html", article_page("Goes", "GOES-LEDE"));
    let (stays, goes) = (up.url("/plain/stays"), up.url("/plain/goes"));
    up.set_feed(
        "gazette",
        "application/rss+xml",
        summary_feed(&[
            ("s", "Stays", &stays, "Short: stays."),
            ("g", "Goes", &goes, "Short: goes."),
        ]),
    );
    let id = subscribe(&app, &up.url("/f/gazette"), true).await["id"]
        .as_i64()
        .unwrap();
    assert_eq!(poll(&app, id).await["full_text"]["fetched"], 2);
    // Both fetched long ago; then "Goes" leaves the feed.
    app.db_exec("UPDATE full_texts SET fetched_at = 0").await;
    up.set_feed(
        "gazette",
        "application/rss+xml",
        summary_feed(&[("s", "Stays", &stays, "Short: stays.")]),
    );
    let polled = poll(&app, id).await;
    assert_eq!(polled["status"], "imported", "{polled:#}");
    assert_eq!(
        app.db_count("SELECT count(*) FROM full_texts WHERE url LIKE '%/goes'")
            .await,
        0
    );
    assert_eq!(
        app.db_count("SELECT count(*) FROM full_texts WHERE url LIKE '%/stays'")
            .await,
        1
    );
    assert_eq!(polled["full_text"]["fetched"], 0, "{polled:#}");
    assert!(
        item(&app, "Stays").await["content_html"]
            .as_str()
            .unwrap()
            .contains("STAYS-LEDE")
    );
}

/// A hub waits for its push to be answered: the pushed items are stored with the feed's text
/// and answered at once, and their pages are fetched afterwards (here the page is held until
/// the answer has come), then the items carry the pages' text.
#[tokio::test]
async fn a_push_is_answered_before_its_pages_are_fetched() {
    let app = spawn_app().await;
    app.create_channel("planet", json!({})).await;
    let up = spawn_upstream().await;
    up.set_feed("held", "text/html", article_page("Held", "HELD-LEDE"));
    let page = up.url("/gated/held");
    let feed = summary_feed(&[("h", "Held", &page, "Short: held.")]);
    up.set_feed("gazette", "application/rss+xml", &feed);
    let id = subscribe(&app, &up.url("/f/gazette"), true).await["id"]
        .as_i64()
        .unwrap();
    app.db_exec_with(
        "UPDATE subscriptions SET websub_secret = 'right', websub_topic = 't',
            etag = '\"v1\"', body_hash = 'h1' WHERE id = $1",
        vec![Arg::Int(id)],
    )
    .await;
    let r = app.push(id, "right", &feed).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    // Answered while the page is still held: the item has the feed's text, the page is
    // pending, and the next poll would read the whole feed.
    let held = item(&app, "Held").await;
    assert_eq!(
        held["content_html"].as_str().map(str::trim),
        Some("Short: held."),
        "{held:#}"
    );
    assert_eq!(
        app.db_count(
            "SELECT count(*) FROM full_texts WHERE done = FALSE AND error LIKE '%after the push%'"
        )
        .await,
        1
    );
    assert_eq!(
        app.db_count("SELECT count(*) FROM subscriptions WHERE etag IS NULL AND body_hash IS NULL")
            .await,
        1
    );
    up.open_gate();
    app.db_wait(
        "SELECT count(*) FROM full_texts WHERE done = TRUE AND content_html LIKE '%HELD-LEDE%'",
        1,
    )
    .await;
    app.db_wait(
        "SELECT count(*) FROM articles WHERE content_html LIKE '%HELD-LEDE%'",
        1,
    )
    .await;
    let held = item(&app, "Held").await;
    assert!(
        held["content_html"].as_str().unwrap().contains("HELD-LEDE"),
        "{held:#}"
    );
    assert_eq!(held["summary"].as_str(), Some("Short: held."), "{held:#}");
    assert_eq!(up.seen("/gated/held").len(), 1, "the page is fetched once");
    // The next poll reads the feed whole and fetches nothing again.
    let polled = poll(&app, id).await;
    assert_eq!(polled["full_text"]["fetched"], 0, "{polled:#}");
    assert_eq!(up.seen("/gated/held").len(), 1);
}

/// A first poll of a long feed fetches at most 20 pages; the next poll reads the feed again
/// (no 304, no "unchanged") and fetches the rest, each page once.
#[tokio::test]
async fn pages_over_the_per_poll_cap_are_fetched_by_the_next_poll() {
    let app = spawn_app().await;
    app.create_channel("planet", json!({})).await;
    let up = spawn_upstream().await;
    let names: Vec<String> = (0..23).map(|i| format!("p{i:02}")).collect();
    for n in &names {
        up.set_feed(n, "text/html", article_page(n, &format!("LEDE-{n}")));
    }
    let links: Vec<String> = names
        .iter()
        .map(|n| up.url(&format!("/plain/{n}")))
        .collect();
    let items: Vec<(&str, &str, &str, &str)> = names
        .iter()
        .zip(&links)
        .map(|(n, l)| (n.as_str(), n.as_str(), l.as_str(), "Short."))
        .collect();
    up.set_feed("gazette", "application/rss+xml", summary_feed(&items));
    let id = subscribe(&app, &up.url("/f/gazette"), true).await["id"]
        .as_i64()
        .unwrap();
    let first = poll(&app, id).await;
    assert_eq!(first["created"], 23, "{first:#}");
    assert_eq!(first["full_text"]["fetched"], 20, "{first:#}");
    assert_eq!(first["full_text"]["pending"], 3, "{first:#}");
    let second = poll(&app, id).await;
    assert_eq!(second["status"], "imported", "{second:#}");
    assert_eq!(second["full_text"]["fetched"], 3, "{second:#}");
    assert_eq!(second["full_text"]["pending"], 0, "{second:#}");
    assert_eq!(second["updated"], 3, "{second:#}");
    let third = poll(&app, id).await;
    assert_eq!(third["status"], "not_modified", "{third:#}");
    for n in &names {
        assert_eq!(page_requests(&up, n), 1, "requests for {n}");
        let i = item(&app, n).await;
        let html = i["content_html"].as_str().unwrap();
        assert!(html.contains(&format!("LEDE-{n}")), "{n}: {html}");
    }
}

/// `subscription add --full-content`, `subscription edit --full-content BOOL` and the poll
/// report, through the real binary on a database of its own.
#[tokio::test]
async fn the_command_line_sets_and_changes_the_option() {
    use std::process::Command;
    let up = spawn_upstream().await;
    up.set_feed("story", "text/html", article_page("Story", "CLI-LEDE"));
    let link = up.url("/plain/story");
    up.set_feed(
        "gazette",
        "application/rss+xml",
        summary_feed(&[("1", "Story", &link, "Short.")]),
    );
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_owned();
    let run = |args: Vec<String>| {
        let d = d.clone();
        tokio::task::spawn_blocking(move || {
            Command::new(crate::cli::BIN)
                .args(&args)
                .current_dir(&d)
                .env_remove("DATABASE_URL")
                .env("SYNDIC_ALLOW_PRIVATE_UPSTREAMS", "true")
                .output()
                .expect("run syndic")
        })
    };
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let json_of = |out: std::process::Output| -> Value {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    assert!(run(s(&["migrate"])).await.unwrap().status.success());
    json_of(
        run(s(&["--json", "channel", "add", "planet", "--title", "P"]))
            .await
            .unwrap(),
    );
    let feed = up.url("/f/gazette");
    let added = json_of(
        run(s(&[
            "--json",
            "subscription",
            "add",
            &feed,
            "--channel",
            "planet",
            "--full-content",
        ]))
        .await
        .unwrap(),
    );
    assert_eq!(added["subscription"]["full_content"], true, "{added:#}");
    let line = String::from_utf8(
        run(s(&["poll", "--subscription", "1"]))
            .await
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(
        line.contains("created 1, updated 0, full text fetched 1, failed 0, pending 0"),
        "the poll line says what full text did: {line}"
    );
    let table = String::from_utf8(run(s(&["subscription", "list"])).await.unwrap().stdout).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    let column = lines[0].find("FULL TEXT").expect("a FULL TEXT column");
    assert_eq!(
        lines[1][column..].split_whitespace().next(),
        Some("on"),
        "{table}"
    );
    let rendered = run(s(&["render", "planet", "--format", "json"]))
        .await
        .unwrap();
    let rendered = String::from_utf8(rendered.stdout).unwrap();
    assert!(rendered.contains("CLI-LEDE"), "{rendered}");
    let edited = json_of(
        run(s(&[
            "--json",
            "subscription",
            "edit",
            "1",
            "--full-content",
            "false",
        ]))
        .await
        .unwrap(),
    );
    assert_eq!(edited["full_content"], false, "{edited:#}");
    let out = run(s(&["subscription", "edit", "1"])).await.unwrap();
    assert_eq!(out.status.code(), Some(2), "nothing to change");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--full-content"));
    let out = run(s(&["subscription", "edit", "9", "--full-content", "true"]))
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "no such subscription");
    let out = run(s(&["subscription", "edit", "1", "--full-content", "maybe"]))
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "not a boolean");
}
