//! Serving feeds: content types, validators and 304s, compression, limits, order, and the
//! render cache following every change.

use std::io::Read;

use reqwest::StatusCode;
use reqwest::header::{CONTENT_ENCODING, CONTENT_TYPE, ETAG, LAST_MODIFIED};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, assert_well_formed, spawn_app};

fn item(n: u32) -> Value {
    json!({
        "id": format!("urn:example:{n}"),
        "url": format!("https://example.org/a/{n}"),
        "title": format!("Article {n}"),
        "content_html": format!("<p>Body {n}</p>"),
        "date_published": format!("2025-01-{:02}T10:00:00Z", n),
    })
}

async fn app_with_items(n: u32) -> TestApp {
    let app = spawn_app().await;
    app.create_channel("news", json!({})).await;
    let items: Vec<Value> = (1..=n).map(item).collect();
    app.ingest("news", &Value::Array(items)).await;
    app
}

#[tokio::test]
async fn feeds_have_their_content_types_and_validators() {
    let app = app_with_items(3).await;
    for (file, ct) in [
        ("rss.xml", "application/rss+xml; charset=utf-8"),
        ("atom.xml", "application/atom+xml; charset=utf-8"),
        ("feed.json", "application/feed+json; charset=utf-8"),
    ] {
        let r = app.feed("news", file).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()[CONTENT_TYPE], ct);
        assert!(r.headers()[ETAG].to_str().unwrap().starts_with("W/\""));
        assert!(r.headers().contains_key(LAST_MODIFIED));
        let body = r.text().await.unwrap();
        if file.ends_with(".xml") {
            assert!(body.starts_with(r#"<?xml version="1.0" encoding="utf-8"?>"#));
            assert_eq!(body.matches("<?xml ").count(), 1, "one XML declaration");
            let pi = format!(
                "<?xml-stylesheet type=\"text/xsl\" href=\"{}\"?>",
                app.url("/feeds/style.xsl")
            );
            assert!(body.contains(&pi), "browsers get a stylesheet: {body}");
            assert_well_formed(&body);
        } else {
            serde_json::from_str::<Value>(&body).unwrap();
        }
    }
}

#[tokio::test]
async fn conditional_requests_get_304_until_the_channel_changes() {
    let app = app_with_items(2).await;
    let path = "/feeds/news/rss.xml";
    let first = app.get_with(path, &[]).await;
    let etag = first.headers()[ETAG].clone();
    let last_modified = first.headers()[LAST_MODIFIED].clone();

    let r = app
        .get_with(path, &[("if-none-match", etag.to_str().unwrap())])
        .await;
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(r.headers()[ETAG], etag);
    assert!(r.bytes().await.unwrap().is_empty());

    // A strong form of the same tag, and a list, match too.
    let strong = etag.to_str().unwrap().trim_start_matches("W/").to_owned();
    let r = app
        .get_with(path, &[("if-none-match", &format!("\"zzz\", {strong}"))])
        .await;
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);

    let r = app
        .get_with(
            path,
            &[("if-modified-since", last_modified.to_str().unwrap())],
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    let r = app.get_with(path, &[("if-none-match", "\"other\"")]).await;
    assert_eq!(r.status(), StatusCode::OK);

    // A change renders a new feed with a new tag; the old one no longer matches.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    app.ingest("news", &item(9)).await;
    let r = app
        .get_with(path, &[("if-none-match", etag.to_str().unwrap())])
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_ne!(r.headers()[ETAG], etag);
    assert!(r.text().await.unwrap().contains("Article 9"));
    let r = app
        .get_with(
            path,
            &[("if-modified-since", last_modified.to_str().unwrap())],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK, "Last-Modified moved on");
}

#[tokio::test]
async fn gzip_and_brotli_carry_the_same_feed() {
    let app = app_with_items(5).await;
    let path = "/feeds/news/atom.xml";
    let plain = app.get_with(path, &[]).await;
    assert!(plain.headers().get(CONTENT_ENCODING).is_none());
    let plain = plain.bytes().await.unwrap();

    let r = app.get_with(path, &[("accept-encoding", "gzip")]).await;
    assert_eq!(r.headers()[CONTENT_ENCODING], "gzip");
    let mut gunzipped = Vec::new();
    flate2::read::GzDecoder::new(&r.bytes().await.unwrap()[..])
        .read_to_end(&mut gunzipped)
        .unwrap();
    assert_eq!(gunzipped, plain);

    let r = app.get_with(path, &[("accept-encoding", "gzip, br")]).await;
    assert_eq!(r.headers()[CONTENT_ENCODING], "br");
    let mut unbrotli = Vec::new();
    brotli::BrotliDecompress(&mut &r.bytes().await.unwrap()[..], &mut unbrotli).unwrap();
    assert_eq!(unbrotli, plain);

    let r = app
        .get_with(path, &[("accept-encoding", "br;q=0, gzip;q=0")])
        .await;
    assert!(r.headers().get(CONTENT_ENCODING).is_none());
    let r = app
        .get_with(path, &[("accept-encoding", "gzip;q=1, br;q=0.5")])
        .await;
    assert_eq!(
        r.headers()[CONTENT_ENCODING],
        "gzip",
        "the client's preference wins"
    );
    let r = app.get_with(path, &[("accept-encoding", "*")]).await;
    assert_eq!(r.headers()[CONTENT_ENCODING], "br");
    let r = app.get_with(path, &[("accept-encoding", "identity")]).await;
    assert!(r.headers().get(CONTENT_ENCODING).is_none());
}

#[tokio::test]
async fn newest_first_with_a_limit() {
    let app = app_with_items(7).await;
    let feed: Value = app.feed("news", "feed.json").await.json().await.unwrap();
    let ids: Vec<&str> = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "urn:example:7",
            "urn:example:6",
            "urn:example:5",
            "urn:example:4",
            "urn:example:3",
            "urn:example:2",
            "urn:example:1"
        ]
    );
    let r = app
        .client
        .get(app.url("/feeds/news/feed.json?limit=2"))
        .send()
        .await
        .unwrap();
    let feed: Value = r.json().await.unwrap();
    assert_eq!(feed["items"].as_array().unwrap().len(), 2);
    assert_eq!(feed["items"][0]["id"], "urn:example:7");
    let xml = app
        .client
        .get(app.url("/feeds/news/rss.xml?limit=3"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        rss::Channel::read_from(xml.as_bytes()).unwrap().items.len(),
        3
    );
    for bad in ["0", "501", "x"] {
        let r = app
            .client
            .get(app.url(&format!("/feeds/news/rss.xml?limit={bad}")))
            .send()
            .await
            .unwrap();
        assert_error(r, StatusCode::BAD_REQUEST, "bad_request").await;
    }
}

#[tokio::test]
async fn unknown_channel_or_feed_name_is_a_json_404() {
    let app = app_with_items(1).await;
    assert_error(
        app.feed("nope", "rss.xml").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        app.feed("news", "rss2.xml").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        app.feed("NOT A SLUG", "rss.xml").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn channel_edits_show_in_the_feeds_at_once() {
    let app = app_with_items(1).await;
    let before = app.feed_text("news", "rss.xml").await;
    assert!(before.contains("<title>Channel news</title>"));
    let r = app
        .api(reqwest::Method::PATCH, "/channels/news")
        .json(&json!({ "title": "Les nouvelles", "language": "fr" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let after = app.feed_text("news", "rss.xml").await;
    assert!(after.contains("<title>Les nouvelles</title>"), "{after}");
    assert!(after.contains("<language>fr</language>"));
    let atom = app.feed_text("news", "atom.xml").await;
    assert!(atom.contains("xml:lang=\"fr\""));
}

/// Without a date of its own, an article shows the time it was first seen: the same on every
/// render and after every update, never "now".
#[tokio::test]
async fn undated_articles_keep_their_first_seen_date() {
    let app = spawn_app().await;
    app.create_channel("news", json!({})).await;
    let undated = json!({ "id": "undated-1", "title": "No date" });
    app.ingest("news", &undated).await;
    let date_of = |feed: &Value| {
        feed["items"][0]["date_published"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let first: Value = app.feed("news", "feed.json").await.json().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    app.ingest(
        "news",
        &json!({ "id": "undated-1", "title": "No date, edited" }),
    )
    .await;
    let second: Value = app.feed("news", "feed.json").await.json().await.unwrap();
    assert_eq!(second["items"][0]["title"], "No date, edited");
    assert_eq!(date_of(&first), date_of(&second));
    let xml = app.feed_text("news", "rss.xml").await;
    let pub_date = rss::Channel::read_from(xml.as_bytes()).unwrap().items[0]
        .pub_date
        .clone()
        .unwrap();
    let parsed = chrono::DateTime::parse_from_rfc2822(&pub_date).unwrap();
    let json_date = chrono::DateTime::parse_from_rfc3339(&date_of(&second)).unwrap();
    assert_eq!(parsed.timestamp(), json_date.timestamp());
}

/// RSS wants a title or a description on every item; Atom wants content or an alternate
/// link on every entry, and an author for each: sparse articles still get them.
#[tokio::test]
async fn sparse_articles_still_make_valid_items() {
    let app = spawn_app().await;
    app.create_channel("sparse", json!({})).await;
    app.ingest(
        "sparse",
        &json!([
            { "id": "only-html", "content_html": "<p>Only HTML</p>" },
            { "id": "only-title", "title": "Only a title" },
        ]),
    )
    .await;
    let xml = app.feed_text("sparse", "rss.xml").await;
    let channel = rss::Channel::read_from(xml.as_bytes()).unwrap();
    for it in &channel.items {
        assert!(it.title.is_some() || it.description.is_some(), "{it:?}");
    }
    let html_item = channel
        .items
        .iter()
        .find(|i| i.guid.as_ref().unwrap().value == "only-html")
        .unwrap();
    assert_eq!(html_item.description.as_deref(), Some("<p>Only HTML</p>"));

    let xml = app.feed_text("sparse", "atom.xml").await;
    let feed = atom_syndication::Feed::read_from(xml.as_bytes()).unwrap();
    for e in &feed.entries {
        assert!(
            e.content.is_some() || e.links.iter().any(|l| l.rel == "alternate"),
            "{e:?}"
        );
    }
    let untitled = feed.entries.iter().find(|e| e.title.value == "Only HTML");
    assert!(
        untitled.is_some(),
        "an untitled entry is titled from its text"
    );
    let titled = feed
        .entries
        .iter()
        .find(|e| e.title.value == "Only a title")
        .unwrap();
    assert_eq!(
        titled.content.as_ref().unwrap().value.as_deref(),
        Some("Only a title")
    );
    assert_eq!(feed.authors.len(), 1);
    assert_eq!(feed.authors[0].name, "Channel sparse");
    // Undated articles of one batch: distinct dates, in the order they came (first = newest).
    assert_ne!(feed.entries[0].updated, feed.entries[1].updated);
    let json: Value = app.feed("sparse", "feed.json").await.json().await.unwrap();
    assert_eq!(json["items"][0]["id"], "only-html");
    assert_eq!(
        json["items"][1]["content_text"], "",
        "JSON Feed items always carry content"
    );
}

/// RFC 5005 paging: every page links the next (older) and previous (newer) ones, walking
/// the links visits every article once, and a page's URL always shows the same articles.
#[tokio::test]
async fn paged_feeds_walk_the_whole_history() {
    let app = app_with_items(7).await;
    let links = |xml: &str| -> Vec<(String, String)> {
        let doc = roxmltree::Document::parse(xml).unwrap();
        doc.descendants()
            .filter(|n| n.tag_name().name() == "link" && n.attribute("rel").is_some())
            .filter(|n| {
                n.parent()
                    .is_some_and(|p| matches!(p.tag_name().name(), "channel" | "feed"))
            })
            .map(|n| {
                (
                    n.attribute("rel").unwrap().to_owned(),
                    n.attribute("href").unwrap().to_owned(),
                )
            })
            .collect()
    };
    let rel =
        |ls: &[(String, String)], r: &str| ls.iter().find(|(k, _)| k == r).map(|(_, v)| v.clone());
    let mut archived = Vec::new();
    for (file, tag) in [("rss.xml", "item"), ("atom.xml", "entry")] {
        let mut url = app.url(&format!("/feeds/news/{file}?limit=3"));
        let mut seen = Vec::new();
        let mut pages = Vec::new();
        for _ in 0..10 {
            let xml = app
                .client
                .get(&url)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            let ls = links(&xml);
            assert_eq!(
                rel(&ls, "self").as_deref(),
                Some(url.as_str()),
                "self is the URL fetched"
            );
            let doc = roxmltree::Document::parse(&xml).unwrap();
            for item in doc.descendants().filter(|n| n.tag_name().name() == tag) {
                let title = item
                    .children()
                    .find(|c| c.tag_name().name() == "title")
                    .unwrap();
                seen.push(title.text().unwrap().to_owned());
            }
            pages.push((url.clone(), ls.clone()));
            match rel(&ls, "next") {
                Some(next) => url = next,
                None => break,
            }
        }
        let want: Vec<String> = (1..=7).rev().map(|n| format!("Article {n}")).collect();
        assert_eq!(seen, want, "{file}: every article once, newest first");
        assert_eq!(pages.len(), 3);
        // Each page's previous link leads to the page whose next link led here.
        for w in pages.windows(2) {
            assert_eq!(
                rel(&w[1].1, "previous").as_deref(),
                Some(w[0].0.as_str()),
                "{file}"
            );
            assert_eq!(rel(&w[1].1, "first").as_deref(), Some(pages[0].0.as_str()));
        }
        assert!(rel(&pages[0].1, "previous").is_none());
        archived.push(pages[1].0.clone());
    }
    // New articles do not move an archived page.
    for url in &archived {
        let before = app
            .client
            .get(url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        app.ingest("news", &item(20)).await;
        let after = app
            .client
            .get(url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let titles = |x: &str| x.matches("<title>Article").count();
        assert_eq!(titles(&before), titles(&after));
        assert!(!after.contains("Article 20"));
    }
    let json: Value = app
        .client
        .get(app.url("/feeds/news/feed.json?limit=2"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let next = json["next_url"].as_str().unwrap();
    assert!(
        next.starts_with(&app.url("/feeds/news/feed.json?limit=2&before=")),
        "{next}"
    );
    let r = app
        .client
        .get(app.url("/feeds/news/rss.xml?before=nonsense"))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::BAD_REQUEST, "bad_request").await;
}

#[tokio::test]
async fn per_tag_feeds_hold_only_that_tag() {
    let app = spawn_app().await;
    app.create_channel("news", json!({})).await;
    let items: Vec<Value> = (1..=6)
        .map(|n| {
            let mut v = item(n);
            v["tags"] = if n % 2 == 0 {
                json!(["Économie", "all"])
            } else {
                json!(["all"])
            };
            v
        })
        .collect();
    app.ingest("news", &Value::Array(items)).await;
    for file in ["rss.xml", "atom.xml", "feed.json"] {
        let url = app.url(&format!("/feeds/news/{file}?tag=%C3%89conomie"));
        let body = app
            .client
            .get(&url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        for n in 1..=6 {
            let present = body.contains(&format!("Article {n}<"))
                || body.contains(&format!("\"Article {n}\""));
            assert_eq!(present, n % 2 == 0, "{file}: Article {n}");
        }
        let self_link = if file == "feed.json" {
            format!("\"feed_url\":\"{url}\"")
        } else {
            format!("href=\"{url}\" rel=\"self\"")
        };
        assert!(
            body.contains(&self_link),
            "{file}: self link keeps the tag: {body}"
        );
    }
    let none = app
        .client
        .get(app.url("/feeds/news/feed.json?tag=nothing"))
        .send()
        .await
        .unwrap();
    let v: Value = none.json().await.unwrap();
    assert_eq!(v["items"].as_array().unwrap().len(), 0);
}

/// A person's browser (it asks for HTML and names no feed type) gets a readable page of the
/// feed: what a feed is, the address to copy, ways to subscribe, the articles. Browsers are
/// removing XSLT. A feed reader gets the feed in its own type, whatever else it accepts.
#[tokio::test]
async fn browsers_get_a_page_and_readers_the_feed() {
    let app = app_with_items(1).await;
    let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    let reader = "application/atom+xml,application/rss+xml,application/xml;q=0.9,*/*;q=0.1";
    for (file, own, name) in [
        ("rss.xml", "application/rss+xml", "RSS"),
        ("atom.xml", "application/atom+xml", "Atom"),
        ("feed.json", "application/feed+json", "JSON Feed"),
    ] {
        let path = format!("/feeds/news/{file}");
        let r = app.get_with(&path, &[("accept", browser)]).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()[CONTENT_TYPE], "text/html; charset=utf-8");
        assert_eq!(r.headers()["vary"], "Accept, Accept-Encoding");
        let html = r.text().await.unwrap();
        assert!(
            html.contains(&format!("This is a web feed</strong> ({name})")),
            "{html}"
        );
        assert!(
            html.contains(&format!("value=\"{}\"", app.url(&path))),
            "the address to copy: {html}"
        );
        assert!(
            html.contains("<a href=\"https://example.org/a/1\">Article 1</a>"),
            "the articles: {html}"
        );
        let r = app.get_with(&path, &[("accept", reader)]).await;
        assert_eq!(
            r.headers()[CONTENT_TYPE],
            format!("{own}; charset=utf-8").as_str()
        );
        assert_eq!(r.headers()["vary"], "Accept, Accept-Encoding");
        let r = app.get_with(&path, &[("accept", own)]).await;
        assert_eq!(
            r.headers()[CONTENT_TYPE],
            format!("{own}; charset=utf-8").as_str()
        );
    }
}

/// The value of the sample `name` (with its labels) in a Prometheus text page; 0 when absent.
fn sample(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

/// `GET /metrics` speaks Prometheus text and counts what happened: each counter read before
/// and after this test's requests grew by at least what they did (the registry is
/// process-wide and shared by parallel tests, so by at least, not exactly).
#[tokio::test]
async fn metrics_count_requests_renders_and_ingests() {
    const FEED_200: &str =
        "syndic_http_requests_total{method=\"GET\",route=\"/feeds/{slug}/{file}\",status=\"200\"}";
    const INGEST_201: &str = "syndic_http_requests_total{method=\"POST\",route=\"/api/v1/channels/{slug}/articles\",status=\"201\"}";
    const CREATED: &str = "syndic_articles_ingested_total{outcome=\"created\"}";
    const BYTES: &str = "syndic_feed_bytes_served_total{format=\"rss.xml\"}";
    const NOT_MODIFIED: &str = "syndic_feed_not_modified_total{format=\"rss.xml\"}";
    const RENDERS: &str = "syndic_feed_render_seconds_count{format=\"rss.xml\"}";
    let app = spawn_app().await;
    app.create_channel("news", json!({})).await;
    let before = app.metrics_text().await;

    app.ingest("news", &Value::Array((1..=2).map(item).collect()))
        .await;
    let r = app.feed("news", "rss.xml").await;
    let etag = r.headers()[ETAG].to_str().unwrap().to_owned();
    let served = r.bytes().await.unwrap().len() as f64;
    let r = app
        .get_with("/feeds/news/rss.xml", &[("if-none-match", &etag)])
        .await;
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);

    let after = app.metrics_text().await;
    assert!(
        after.contains("syndic_http_request_duration_seconds_bucket{"),
        "{after}"
    );
    for (name, at_least) in [
        (FEED_200, 1.0),
        (INGEST_201, 1.0),
        (CREATED, 2.0),
        (BYTES, served),
        (NOT_MODIFIED, 1.0),
        // The channel changed since any earlier render: this test's GET rendered it.
        (RENDERS, 1.0),
    ] {
        let (was, is) = (sample(&before, name), sample(&after, name));
        assert!(
            is - was >= at_least,
            "{name}: {was} before, {is} after; it should have grown by {at_least}:\n{after}"
        );
    }
}

/// Feeds served from memory see another process's writes once their cached copy of the
/// channel expires, and this process's own writes on the very next request. The copy is kept
/// for a second (`FEED_CHANNEL_TTL`); the test waits up to 4 s for the write to show, so it
/// checks that it shows, not how soon.
#[tokio::test]
async fn writes_by_another_process_show_in_feeds_once_the_cached_channel_expires() {
    let app = spawn_app().await;
    app.create_channel("news", json!({ "title": "Before" }))
        .await;
    app.ingest("news", &json!({ "id": "a", "title": "A" }))
        .await;
    assert!(
        app.feed_text("news", "rss.xml")
            .await
            .contains("<title>Before</title>")
    );
    // Another process (here: a plain connection) renames the channel.
    app.db_exec("UPDATE channels SET title = 'After', version = version + 1")
        .await;
    let mut seen = false;
    for _ in 0..40 {
        if app
            .feed_text("news", "rss.xml")
            .await
            .contains("<title>After</title>")
        {
            seen = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(seen, "another process's write never showed");
    // A write through this process shows on the very next request.
    app.ingest("news", &json!({ "id": "b", "title": "Bravo" }))
        .await;
    assert!(app.feed_text("news", "rss.xml").await.contains("Bravo"));
}

/// Status, headers (all but `Date`) and body of a response, to compare two answers.
async fn answer_of(r: reqwest::Response) -> (StatusCode, Vec<(String, String)>, Vec<u8>) {
    let status = r.status();
    let mut headers: Vec<(String, String)> = r
        .headers()
        .iter()
        .filter(|(k, _)| *k != reqwest::header::DATE)
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_owned()))
        .collect();
    headers.sort();
    (status, headers, r.bytes().await.unwrap().to_vec())
}

/// A feed that memory can answer (its channel read and its render made, the second request
/// on) is answered without the router: it must carry the very status, headers and bytes the
/// routed answer gives. `?limit=50` (the default) always goes through the router and names
/// the same page, so each answer is compared with it: identity, gzip, brotli, 304s by ETag
/// and by date, a browser's Accept, a `%`-encoded slug, and HEAD. A channel whose title
/// holds markup and quotes checks that nothing is escaped differently.
#[tokio::test]
async fn feeds_answered_from_memory_are_the_routed_answers() {
    let app = spawn_app().await;
    app.create_channel(
        "news",
        json!({ "title": "Hostile & <b>\"quoted\"</b> ' ]]> title" }),
    )
    .await;
    let items: Vec<Value> = (1..=3).map(item).collect();
    app.ingest("news", &Value::Array(items)).await;
    for file in ["rss.xml", "atom.xml", "feed.json"] {
        let path = format!("/feeds/news/{file}");
        let routed = format!("{path}?limit=50");
        let first = app.feed("news", file).await;
        let etag = first.headers()[ETAG].to_str().unwrap().to_owned();
        let date = first.headers()[LAST_MODIFIED].to_str().unwrap().to_owned();
        let cases: [&[(&str, &str)]; 8] = [
            &[],
            &[("accept-encoding", "gzip")],
            &[("accept-encoding", "br, gzip")],
            &[("accept-encoding", "gzip;q=0, br;q=0")],
            &[("if-none-match", &etag)],
            &[
                ("if-none-match", "W/\"other\""),
                ("accept-encoding", "gzip"),
            ],
            &[("if-modified-since", &date)],
            &[("accept", "text/html")],
        ];
        for headers in cases {
            // Twice: the first may compress the body, the second is served from memory.
            for _ in 0..2 {
                let ours = answer_of(app.get_with(&path, headers).await).await;
                let theirs = answer_of(app.get_with(&routed, headers).await).await;
                assert_eq!(ours.0, theirs.0, "{file} with {headers:?}");
                assert_eq!(ours.1, theirs.1, "{file} with {headers:?}");
                assert!(ours.2 == theirs.2, "{file} with {headers:?}: bodies differ");
            }
        }
        let encoded = answer_of(app.get_with(&format!("/feeds/%6Eews/{file}"), &[]).await).await;
        assert_eq!(encoded, answer_of(app.feed("news", file).await).await);
        let head = app.client.head(app.url(&path)).send().await.unwrap();
        let (status, headers, body) = answer_of(head).await;
        let (get_status, get_headers, _) = answer_of(app.feed("news", file).await).await;
        assert_eq!(
            (status, &headers),
            (get_status, &get_headers),
            "HEAD {file}"
        );
        assert!(body.is_empty());
    }
    let r = app.feed("news", "rss.xml").await;
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert!(
        r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("default-src 'none'")
    );
    let r = app.feed("nobody", "rss.xml").await;
    assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
}
