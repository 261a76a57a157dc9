//! The poller against a real upstream server on 127.0.0.1: imports, conditional requests,
//! dedupe, redirects, errors and backoff, discovery, and the private-address guard.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Arg, TestApp, assert_error, spawn_app, spawn_app_with};
use crate::upstream::{UpstreamServer, rss_feed, spawn_upstream};

async fn subscribe(app: &TestApp, url: &str) -> Value {
    let r = app
        .api(Method::POST, "/subscriptions")
        .json(&json!({ "url": url, "channel": "planet" }))
        .send()
        .await
        .unwrap();
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

async fn poll(app: &TestApp, id: i64) -> Value {
    app.poll_now(id).await
}

async fn setup() -> (TestApp, UpstreamServer) {
    let app = spawn_app().await;
    app.create_channel("planet", json!({ "title": "Planet" }))
        .await;
    let up = spawn_upstream().await;
    up.set_feed(
        "news",
        "application/rss+xml",
        rss_feed(
            "Upstream News",
            &[
                ("n-3", "Third", "https://upstream.example/3"),
                ("n-2", "Second", "https://upstream.example/2"),
                ("n-1", "First", "https://upstream.example/1"),
            ],
        ),
    );
    (app, up)
}

fn sub_id(v: &Value) -> i64 {
    v["subscription"]["id"].as_i64().unwrap()
}

#[tokio::test]
async fn polls_import_once_then_ask_conditionally_and_write_nothing() {
    let (app, up) = setup().await;
    let sub = subscribe(&app, &up.url("/f/news")).await;
    assert_eq!(sub["subscription"]["title"], "Upstream News");
    let id = sub_id(&sub);

    let first = poll(&app, id).await;
    assert_eq!(first["poll"]["status"], "imported", "{first}");
    assert_eq!(first["poll"]["created"], 3);
    assert_eq!(first["subscription"]["items_imported"], 3);
    assert_eq!(first["subscription"]["error_count"], 0);
    let version = app.db_count("SELECT version FROM channels").await;

    let second = poll(&app, id).await;
    assert_eq!(second["poll"]["status"], "not_modified", "{second}");
    let requests = up.seen("/f/news");
    let last = requests.last().unwrap();
    assert!(
        last.if_none_match.is_some(),
        "the second poll is conditional"
    );
    assert!(last.if_modified_since.is_some());
    assert!(last.user_agent.as_deref().unwrap().starts_with("syndic/"));
    assert_eq!(
        app.db_count("SELECT version FROM channels").await,
        version,
        "a 304 writes nothing"
    );
    assert_eq!(app.db_count("SELECT count(*) FROM articles").await, 3);

    // What was imported is republished, sanitized, with its origin.
    let xml = app.feed_text("planet", "rss.xml").await;
    let channel = rss::Channel::read_from(xml.as_bytes()).unwrap();
    assert_eq!(channel.items.len(), 3);
    let it = &channel.items[0];
    assert_eq!(it.title.as_deref(), Some("Third"));
    let source = it.source.as_ref().unwrap();
    assert_eq!(source.url, up.url("/f/news"));
    assert_eq!(source.title.as_deref(), Some("Upstream News"));
    assert!(!xml.contains("alert(1)"), "upstream script is gone: {xml}");
    let json: Value = app.feed("planet", "feed.json").await.json().await.unwrap();
    assert_eq!(
        json["items"][0]["_syndic"]["source"]["url"],
        up.url("/f/news")
    );
}

/// An upstream that sends `Last-Modified` and no `ETag`: the next poll asks
/// `If-Modified-Since` with that date, the 304 writes nothing, and a change (a later
/// Last-Modified) is imported.
#[tokio::test]
async fn a_304_can_come_from_last_modified_alone() {
    let (app, up) = setup().await;
    let id = sub_id(&subscribe(&app, &up.url("/lm/news")).await);
    let first = poll(&app, id).await;
    assert_eq!(first["poll"]["status"], "imported", "{first}");
    assert_eq!(first["poll"]["created"], 3);
    let version = app.db_count("SELECT version FROM channels").await;

    let second = poll(&app, id).await;
    assert_eq!(second["poll"]["status"], "not_modified", "{second}");
    let last = up.seen("/lm/news").last().unwrap().clone();
    assert_eq!(last.if_none_match, None, "no ETag was ever sent");
    assert_eq!(
        last.if_modified_since.as_deref(),
        Some(up.last_modified("news").as_str())
    );
    assert_eq!(
        app.db_count("SELECT version FROM channels").await,
        version,
        "a 304 writes nothing"
    );

    up.set_feed(
        "news",
        "application/rss+xml",
        rss_feed(
            "Upstream News",
            &[
                ("n-4", "Fourth", "https://upstream.example/4"),
                ("n-3", "Third", "https://upstream.example/3"),
                ("n-2", "Second", "https://upstream.example/2"),
                ("n-1", "First", "https://upstream.example/1"),
            ],
        ),
    );
    let third = poll(&app, id).await;
    assert_eq!(third["poll"]["status"], "imported", "{third}");
    assert_eq!(third["poll"]["created"], 1, "{third}");
    assert_eq!(app.db_count("SELECT count(*) FROM articles").await, 4);
}

#[tokio::test]
async fn an_unchanged_body_without_validators_writes_nothing() {
    let (app, up) = setup().await;
    let id = sub_id(&subscribe(&app, &up.url("/plain/news")).await);
    assert_eq!(poll(&app, id).await["poll"]["status"], "imported");
    let version = app.db_count("SELECT version FROM channels").await;
    let again = poll(&app, id).await;
    assert_eq!(again["poll"]["status"], "unchanged", "{again}");
    assert_eq!(app.db_count("SELECT version FROM channels").await, version);
}

#[tokio::test]
async fn changed_items_update_and_nothing_duplicates_across_polls() {
    let (app, up) = setup().await;
    let id = sub_id(&subscribe(&app, &up.url("/f/news")).await);
    poll(&app, id).await;
    // The upstream edits one item and adds another.
    up.set_feed(
        "news",
        "application/rss+xml",
        rss_feed(
            "Upstream News",
            &[
                ("n-4", "Fourth", "https://upstream.example/4"),
                ("n-3", "Third, corrected", "https://upstream.example/3"),
                ("n-2", "Second", "https://upstream.example/2"),
                ("n-1", "First", "https://upstream.example/1"),
            ],
        ),
    );
    let r = poll(&app, id).await;
    assert_eq!(r["poll"]["status"], "imported", "{r}");
    assert_eq!(
        (r["poll"]["created"].as_u64(), r["poll"]["updated"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(app.db_count("SELECT count(*) FROM articles").await, 4);
    let titles: Vec<String> = app
        .all_articles("planet")
        .await
        .iter()
        .map(|a| a["title"].as_str().unwrap().to_owned())
        .collect();
    assert!(titles.contains(&"Third, corrected".to_owned()));

    // An article deleted in syndic stays deleted, however often the upstream repeats it.
    let a = app.article("planet", "https://upstream.example/1").await;
    assert_eq!(a.status(), StatusCode::OK);
    let path = format!(
        "/channels/planet/articles/{}",
        crate::helpers::encode("https://upstream.example/1")
    );
    app.api(Method::DELETE, &path).send().await.unwrap();
    up.set_feed(
        "news",
        "application/rss+xml",
        rss_feed(
            "Upstream News",
            &[("n-1", "First again", "https://upstream.example/1")],
        ),
    );
    let r = poll(&app, id).await;
    assert_eq!(r["poll"]["skipped_deleted"], 1, "{r}");
    assert_eq!(
        app.article("planet", "https://upstream.example/1")
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_guid_repeated_on_every_item_still_yields_every_item() {
    let (app, up) = setup().await;
    up.set_feed(
        "same-guid",
        "application/rss+xml",
        rss_feed(
            "Lazy",
            &[
                ("x", "One", "https://lazy.example/1"),
                ("x", "Two", "https://lazy.example/2"),
                ("x", "Three", "https://lazy.example/3"),
            ],
        ),
    );
    let id = sub_id(&subscribe(&app, &up.url("/f/same-guid")).await);
    assert_eq!(poll(&app, id).await["poll"]["created"], 3);
    up.set_feed(
        "same-guid",
        "application/rss+xml",
        rss_feed(
            "Lazy",
            &[
                ("x", "Zero", "https://lazy.example/0"),
                ("x", "One", "https://lazy.example/1"),
                ("x", "Two", "https://lazy.example/2"),
                ("x", "Three", "https://lazy.example/3"),
            ],
        ),
    );
    let r = poll(&app, id).await;
    assert_eq!(r["poll"]["created"], 1, "{r}");
    assert_eq!(app.db_count("SELECT count(*) FROM articles").await, 4);
}

#[tokio::test]
async fn permanent_redirects_move_the_subscription_and_temporary_ones_do_not() {
    let (app, up) = setup().await;
    let permanent = sub_id(&subscribe(&app, &up.url("/x/moved308")).await);
    let temporary = sub_id(&subscribe(&app, &up.url("/x/temp")).await);
    // Subscribing follows a permanent move at once.
    let s: Value = app
        .api(Method::GET, &format!("/subscriptions/{permanent}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(s["url"], up.url("/f/news"));
    assert_eq!(s["original_url"], up.url("/x/moved308"));
    let r = poll(&app, temporary).await;
    assert_eq!(r["poll"]["status"], "imported", "{r}");
    assert_eq!(
        r["subscription"]["url"],
        up.url("/x/temp"),
        "302 keeps the URL"
    );
    assert!(r["poll"]["moved_to"].is_null());
}

#[tokio::test]
async fn a_move_found_while_polling_is_stored() {
    let (app, up) = setup().await;
    let id = sub_id(&subscribe(&app, &up.url("/f/news")).await);
    // The stored URL now answers 301 (as if the feed moved after subscribing).
    let url = up.url("/x/moved");
    set_url(&app, id, &url).await;
    let r = poll(&app, id).await;
    assert_eq!(r["poll"]["moved_to"], up.url("/f/news"), "{r}");
    assert_eq!(r["subscription"]["url"], up.url("/f/news"));
}

/// Makes every subscription due and forgets its validators and body hash, so that each poll
/// fetches and reads the whole feed.
async fn set_all_due(app: &TestApp) {
    app.db_exec("UPDATE subscriptions SET next_fetch_at = 0, etag = NULL, last_modified = NULL, body_hash = NULL")
        .await;
}

/// Points a subscription at another URL, as a move would (its host too: the per-host limit
/// counts claims by the stored host).
async fn set_url(app: &TestApp, id: i64, url: &str) {
    let host = reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    app.db_exec_with(
        "UPDATE subscriptions SET url = $1, host = $2 WHERE id = $3",
        vec![Arg::Text(url.into()), Arg::Text(host), Arg::Int(id)],
    )
    .await;
}

/// Subscribes to a working feed, then points the subscription at a misbehaving path and polls.
async fn poll_misbehaving(app: &TestApp, up: &UpstreamServer, path: &str) -> Value {
    // A query string of its own makes each one a distinct subscription of the same feed.
    let id = sub_id(&subscribe(app, &up.url(&format!("/f/news?for={path}"))).await);
    set_url(app, id, &up.url(path)).await;
    poll(app, id).await
}

#[tokio::test]
async fn gone_disables_and_errors_back_off() {
    let (app, up) = setup().await;
    let r = poll_misbehaving(&app, &up, "/x/gone").await;
    assert_eq!(r["poll"]["status"], "gone");
    assert_eq!(r["subscription"]["enabled"], false);
    assert!(
        r["subscription"]["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("410")
    );
    let due: i64 = app
        .db_count("SELECT count(*) FROM subscriptions WHERE enabled")
        .await;
    assert_eq!(due, 0, "a gone feed is not polled again");

    let r = poll_misbehaving(&app, &up, "/x/limited").await;
    assert_eq!(r["poll"]["status"], "retry_later");
    let wait = seconds_until(&r["subscription"]["next_fetch_at"]);
    assert!(
        (100..=125).contains(&wait),
        "Retry-After 120 honoured: {wait}s"
    );
    let r = poll_misbehaving(&app, &up, "/x/unavailable").await;
    let wait = seconds_until(&r["subscription"]["next_fetch_at"]);
    assert!(
        (3500..=3605).contains(&wait),
        "Retry-After 3600 honoured: {wait}s"
    );

    let (app, up) = setup().await;
    let id = sub_id(&subscribe(&app, &up.url("/f/news")).await);
    set_url(&app, id, &up.url("/x/error")).await;
    let mut waits = Vec::new();
    for n in 1..=3 {
        let r = poll(&app, id).await;
        assert_eq!(r["subscription"]["error_count"], n);
        assert_eq!(r["subscription"]["last_error"], "HTTP 500");
        assert_eq!(r["subscription"]["last_status"], "500");
        waits.push(seconds_until(&r["subscription"]["next_fetch_at"]));
    }
    // 30 min, 60 min, 120 min, each ±20% (and a few seconds for the time the polls take:
    // `seconds_until` counts from now, and rounds down).
    for (n, (wait, base)) in waits.iter().zip([1800, 3600, 7200]).enumerate() {
        let (lo, hi) = (base * 8 / 10 - 5, base * 12 / 10);
        assert!(
            (lo..=hi).contains(wait),
            "wait {n}: {wait} s, not within {base} s ±20%: {waits:?}"
        );
    }
    // A success resets the count.
    set_url(&app, id, &up.url("/f/news")).await;
    let r = poll(&app, id).await;
    assert_eq!(r["subscription"]["error_count"], 0);
    assert!(r["subscription"]["last_error"].is_null());
}

fn seconds_until(v: &Value) -> i64 {
    let t = chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    (t.timestamp() - chrono::Utc::now().timestamp()).max(0)
}

#[tokio::test]
async fn misbehaving_upstreams_are_errors_not_hangs() {
    let (app, up) = setup().await;
    for (path, needle) in [
        ("/x/loop", "more than 5 redirects"),
        ("/x/slow", "timed out"),
        ("/x/endless", "larger than"),
        ("/x/bomb", "larger than"),
        ("/x/malformed", "unreadable feed"),
        ("/x/empty-page", "HTML page"),
        ("/x/nothing-here", "HTTP 404"),
    ] {
        let r = poll_misbehaving(&app, &up, path).await;
        assert_eq!(r["poll"]["status"], "error", "{path}: {r}");
        let err = r["subscription"]["last_error"].as_str().unwrap_or("");
        assert!(err.contains(needle), "{path}: {err:?} lacks {needle:?}");
        assert_eq!(r["subscription"]["error_count"], 1);
    }
}

#[tokio::test]
async fn a_page_url_subscribes_to_its_first_feed() {
    let (app, up) = setup().await;
    up.set_feed("atom", "application/atom+xml", r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><id>urn:a</id><updated>2025-09-16T00:00:00Z</updated></feed>"#);
    let s = subscribe(&app, &up.url("/x/page")).await;
    assert_eq!(s["subscription"]["url"], up.url("/f/news"));
    let found: Vec<&str> = s["discovered"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["url"].as_str().unwrap())
        .collect();
    assert_eq!(found, [up.url("/f/news"), up.url("/f/atom")]);
    let r = app
        .api(Method::POST, "/subscriptions")
        .json(&json!({ "url": up.url("/x/empty-page"), "channel": "planet" }))
        .send()
        .await
        .unwrap();
    let body = assert_error(r, StatusCode::BAD_GATEWAY, "upstream_failed").await;
    assert!(
        body["message"].as_str().unwrap().contains("no feed"),
        "{body}"
    );
    // The same feed twice in one channel is a conflict.
    let r = app
        .api(Method::POST, "/subscriptions")
        .json(&json!({ "url": up.url("/f/news"), "channel": "planet" }))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::CONFLICT, "conflict").await;
}

#[tokio::test]
async fn private_addresses_are_refused_without_the_setting() {
    let app = spawn_app_with(false).await;
    app.create_channel("planet", json!({})).await;
    let up = spawn_upstream().await;
    up.set_feed(
        "news",
        "application/rss+xml",
        rss_feed("N", &[("a", "A", "https://u.example/a")]),
    );
    for url in [
        up.url("/f/news"),
        up.url("/f/news").replace("127.0.0.1", "localhost"),
    ] {
        let r = app
            .api(Method::POST, "/subscriptions")
            .json(&json!({ "url": url, "channel": "planet" }))
            .send()
            .await
            .unwrap();
        let body = assert_error(r, StatusCode::BAD_GATEWAY, "upstream_failed").await;
        let msg = body["message"].as_str().unwrap();
        assert!(msg.contains("private or local"), "{url}: {msg}");
    }
    assert!(
        up.seen("/f/news").is_empty(),
        "no request reached the upstream"
    );
    for bad in ["file:///etc/passwd", "not a url"] {
        let r = app
            .api(Method::POST, "/subscriptions")
            .json(&json!({ "url": bad, "channel": "planet" }))
            .send()
            .await
            .unwrap();
        assert_error(r, StatusCode::BAD_REQUEST, "bad_request").await;
    }
}

#[tokio::test]
async fn subscriptions_list_show_delete() {
    let (app, up) = setup().await;
    let id = sub_id(&subscribe(&app, &up.url("/f/news")).await);
    let list: Value = app
        .api(Method::GET, "/subscriptions")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["subscriptions"][0]["id"], id);
    assert_eq!(list["subscriptions"][0]["channel"], "planet");
    assert_eq!(list["subscriptions"][0]["interval"], 1800);
    let r = app
        .api(Method::DELETE, &format!("/subscriptions/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = app
        .api(Method::GET, &format!("/subscriptions/{id}"))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
    let r = app
        .api(Method::POST, "/subscriptions")
        .json(&json!({ "url": up.url("/f/news"), "channel": "nope" }))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
    let r = app
        .api(Method::POST, "/subscriptions")
        .json(&json!({ "url": up.url("/f/news"), "channel": "planet", "every": "1m" }))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::BAD_REQUEST, "bad_request").await;
}

#[tokio::test]
async fn poll_due_polls_every_due_subscription_within_limits() {
    let (app, up) = setup().await;
    for i in 0..6 {
        up.set_feed(
            &format!("f{i}"),
            "application/rss+xml",
            rss_feed(
                &format!("Feed {i}"),
                &[(&format!("g{i}"), "T", &format!("https://u.example/{i}"))],
            ),
        );
        subscribe(&app, &up.url(&format!("/slow/f{i}"))).await;
    }
    use std::sync::atomic::Ordering::SeqCst;
    up.state.max_in_flight.store(0, SeqCst);
    let store = syndic::store::open(&app.database_url).await.unwrap();
    let config = syndic::config::Config {
        allow_private_upstreams: true,
        poll_per_host: 1,
        poll_concurrency: 2,
        ..Default::default()
    };
    let poller = syndic::poll::poller::Poller::new(store.clone(), &config).unwrap();
    let reports = poller.poll_due().await.unwrap();
    assert_eq!(reports.len(), 6);
    assert!(
        reports.iter().all(|r| r.status == "imported"),
        "{reports:?}"
    );
    let most = up.state.max_in_flight.load(SeqCst);
    assert_eq!(most, 1, "one host, one fetch at a time (per-host limit 1)");
    assert!(
        poller.poll_due().await.unwrap().is_empty(),
        "nothing is due right after"
    );
    let next = app
        .db_count("SELECT min(next_fetch_at) FROM subscriptions")
        .await;
    // With room for three per host, three go at once, never more.
    set_all_due(&app).await;
    let config = syndic::config::Config {
        poll_per_host: 3,
        poll_concurrency: 8,
        ..config
    };
    let poller = syndic::poll::poller::Poller::new(store.clone(), &config).unwrap();
    up.state.max_in_flight.store(0, SeqCst);
    assert_eq!(poller.poll_due().await.unwrap().len(), 6);
    assert_eq!(up.state.max_in_flight.load(SeqCst), 3);
    let ttl_60m = chrono::Utc::now().timestamp_micros() + 50 * 60 * 1_000_000;
    assert!(
        next > ttl_60m,
        "the upstream's ttl of 60 minutes stretched the 30 minute interval"
    );

    // Three hosts (127.0.0.1, .2 and .3, all loopback), two feeds each, room for two per
    // host: the per-host limits would let all six go at once, so the global limit of three
    // is the one that binds.
    let hosts = [
        up.base.clone(),
        up.also_on("127.0.0.2").await,
        up.also_on("127.0.0.3").await,
    ];
    let ids: Vec<i64> = {
        let list: Value = app
            .api(Method::GET, "/subscriptions")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        list["subscriptions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(ids.len(), 6);
    for (n, id) in ids.iter().enumerate() {
        set_url(&app, *id, &format!("{}/slow/f{n}", hosts[n % 3])).await;
    }
    set_all_due(&app).await;
    let config = syndic::config::Config {
        poll_per_host: 2,
        poll_concurrency: 3,
        ..config
    };
    let poller = syndic::poll::poller::Poller::new(store.clone(), &config).unwrap();
    up.state.max_in_flight.store(0, SeqCst);
    up.state.in_flight_by_host.lock().unwrap().clear();
    let reports = poller.poll_due().await.unwrap();
    assert_eq!(reports.len(), 6);
    assert!(
        reports.iter().all(|r| r.status == "imported"),
        "{reports:?}"
    );
    assert_eq!(
        up.state.max_in_flight.load(SeqCst),
        3,
        "three at once in all (global limit 3)"
    );
    let by_host = up.state.in_flight_by_host.lock().unwrap().clone();
    assert_eq!(by_host.len(), 3, "{by_host:?}");
    assert!(
        by_host.values().all(|(_, most)| *most <= 2),
        "never more than two per host: {by_host:?}"
    );
}

/// Feeds of every format and encoding, served over HTTP as an upstream would, come in with
/// their text decoded right.
#[tokio::test]
async fn every_format_and_encoding_is_imported_right() {
    let (app, up) = setup().await;
    let dir = crate::helpers::manifest_dir().join("tests/fixtures/upstream");
    let cases = [
        (
            "cp1252-entities.xml",
            "application/rss+xml",
            "Crème brûlée\u{a0}: la recette… l’originale",
        ),
        ("koi8r.xml", "application/rss+xml", "Привет, мир"),
        (
            "latin1-header-beats-prolog.xml",
            "application/rss+xml; charset=iso-8859-1",
            "Déjà vu",
        ),
        (
            "rss091-netscape.xml",
            "application/rss+xml",
            "Lété à Paris — 30°C",
        ),
        ("utf16le-bom-atom.xml", "application/atom+xml", "Grüße"),
        ("utf16be-nobom-rss.xml", "application/rss+xml", "Señor"),
        (
            "ebcdic-cp500-rss.xml",
            "application/rss+xml",
            "Prix de l'énergie: -3 % [révisé]",
        ),
        (
            "utf32le-bom-atom.xml",
            "application/atom+xml; charset=utf-8",
            "Grüße aus 東京 🎌",
        ),
        (
            "feedrs-rss1-rdf-debian.xml",
            "application/rdf+xml",
            "Updated Debian 11: 11.6 released",
        ),
        (
            "feedrs-jsonfeed-1.0.json",
            "application/json",
            "How Jeff Bezos’s iPhone X Was Hacked",
        ),
        ("atom03.xml", "application/atom+xml", ""),
    ];
    for (i, (file, ct, title)) in cases.iter().enumerate() {
        let body = std::fs::read(dir.join(file)).unwrap();
        up.set_feed(&format!("fixture{i}"), ct, body);
        let id = sub_id(&subscribe(&app, &up.url(&format!("/f/fixture{i}"))).await);
        let r = poll(&app, id).await;
        assert_eq!(r["poll"]["status"], "imported", "{file}: {r}");
        assert!(r["poll"]["created"].as_u64().unwrap() >= 1, "{file}: {r}");
        if !title.is_empty() {
            let titles: Vec<String> = app
                .all_articles("planet")
                .await
                .iter()
                .filter_map(|a| a["title"].as_str().map(str::to_owned))
                .collect();
            assert!(
                titles.iter().any(|t| t == title),
                "{file}: {title:?} not in {titles:?}"
            );
        }
    }
    // Every feed of the channel stays well-formed with all of that in it.
    crate::helpers::assert_well_formed(&app.feed_text("planet", "rss.xml").await);
    crate::helpers::assert_well_formed(&app.feed_text("planet", "atom.xml").await);
}

/// The API refuses a feed of the server itself, under any loopback name, through a redirect
/// or a page, with a 400 that names what to use instead; a subscription that comes to point
/// at this instance later (stored by an older version, or an upstream that now redirects
/// here) fails its polls and imports nothing. Another instance's feed stays allowed.
#[tokio::test]
async fn a_feed_of_this_instance_is_refused_and_never_polled() {
    let (app, up) = setup().await;
    let port = app.base.rsplit(':').next().unwrap().to_owned();
    let own = app.url("/feeds/planet/rss.xml");
    up.set_feed(
        "points-home",
        "text/html",
        format!(r#"<html><head><link rel="alternate" type="application/rss+xml" href="{own}"></head></html>"#),
    );
    for url in [
        own.clone(),
        format!("http://localhost:{port}/feeds/planet/atom.xml?tag=x"),
        up.url(&format!("/go?to={own}")),
        up.url("/f/points-home"),
    ] {
        let r = app
            .api(Method::POST, "/subscriptions")
            .json(&json!({ "url": url, "channel": "planet" }))
            .send()
            .await
            .unwrap();
        let body = assert_error(r, StatusCode::BAD_REQUEST, "bad_request").await;
        let message = body["message"].as_str().unwrap();
        assert!(
            message.contains("is a feed of this syndic instance") && message.contains("?tag="),
            "{url}: {body}"
        );
    }

    // Another instance (its own port) is just an upstream.
    let other = spawn_app().await;
    other
        .create_channel("elsewhere", json!({ "title": "Elsewhere" }))
        .await;
    subscribe(&app, &other.url("/feeds/elsewhere/rss.xml")).await;

    for target in [own.clone(), up.url(&format!("/go?to={own}"))] {
        let id = sub_id(&subscribe(&app, &up.url(&format!("/f/news?for={target}"))).await);
        set_url(&app, id, &target).await;
        let v = poll(&app, id).await;
        assert_eq!(v["poll"]["status"], "error", "{v}");
        assert!(
            v["poll"]["error"]
                .as_str()
                .unwrap()
                .contains("is a feed of this syndic instance"),
            "{v}"
        );
        assert_eq!(v["poll"]["created"], 0);
    }
    assert!(
        app.all_articles("planet").await.is_empty(),
        "nothing was imported"
    );
}

/// Claims, on the suite's backend, as several instances take them: exclusive, within the
/// per-host limit counted over every owner's live claims, renewed only by their owner, passed
/// on when their lease ends (the late owner's save is then refused), and ended by the save.
#[tokio::test]
async fn claims_are_exclusive_per_host_limited_and_pass_on_when_their_lease_ends() {
    use chrono::{Duration, Utc};
    use syndic::store::{ClaimKind, Lease};
    let (app, up) = setup().await;
    let other = up.also_on("127.0.0.2").await;
    for i in 0..8 {
        up.set_feed(&format!("c{i}"), "application/rss+xml", rss_feed("C", &[]));
        subscribe(&app, &up.url(&format!("/f/c{i}"))).await;
    }
    let ids: Vec<i64> = {
        let store = syndic::store::open(&app.database_url).await.unwrap();
        let ids = store.subscriptions().await.unwrap();
        store.close().await;
        ids.iter().map(|s| s.id).collect()
    };
    // Six on 127.0.0.1, two on 127.0.0.2.
    for id in &ids[6..] {
        let url = format!("{other}/f/c{id}");
        set_url(&app, *id, &url).await;
    }
    set_all_due(&app).await;
    let store = syndic::store::open(&app.database_url).await.unwrap();
    let now = Utc::now();
    let lease = |owner: &'static str| Lease {
        owner,
        until: Utc::now() + Duration::seconds(60),
    };
    let a = store
        .claim_due_subscriptions(now, &lease("a"), 2, 100)
        .await
        .unwrap();
    let mut by_host = std::collections::HashMap::<String, usize>::new();
    for s in &a {
        *by_host.entry(s.host()).or_default() += 1;
    }
    assert_eq!(a.len(), 4, "two per host: {by_host:?}");
    assert!(by_host.values().all(|n| *n == 2), "{by_host:?}");
    assert!(
        store
            .claim_due_subscriptions(now, &lease("b"), 2, 100)
            .await
            .unwrap()
            .is_empty(),
        "both hosts are at their limit, whoever holds the claims"
    );
    let b = store
        .claim_due_subscriptions(now, &lease("b"), 10, 100)
        .await
        .unwrap();
    assert_eq!(b.len(), 4, "the rest, none of a's");
    assert!(b.iter().all(|s| !a.iter().any(|x| x.id == s.id)));
    let a_ids: Vec<i64> = a.iter().map(|s| s.id).collect();
    assert_eq!(
        store
            .renew_claims(ClaimKind::Polls, &a_ids, &lease("a"))
            .await
            .unwrap(),
        4
    );
    assert_eq!(
        store
            .renew_claims(ClaimKind::Polls, &a_ids, &lease("b"))
            .await
            .unwrap(),
        0,
        "only the owner renews"
    );
    // a's leases end (as when its instance dies): c takes them.
    app.db_exec("UPDATE subscriptions SET claimed_until = 1 WHERE claimed_by = 'a'")
        .await;
    let c = store
        .claim_due_subscriptions(Utc::now(), &lease("c"), 10, 100)
        .await
        .unwrap();
    let mut c_ids: Vec<i64> = c.iter().map(|s| s.id).collect();
    c_ids.sort();
    let mut sorted = a_ids.clone();
    sorted.sort();
    assert_eq!(c_ids, sorted);
    // a's late save is refused and writes nothing; c's writes and ends the claim.
    let mut late = a[0].clone();
    late.last_error = Some("late <&> \"save\"".into());
    assert!(!store.release_subscription(&late, "a").await.unwrap());
    let stored = store.subscription(late.id).await.unwrap().unwrap();
    assert_eq!(stored.last_error, None);
    assert!(store.release_subscription(&late, "c").await.unwrap());
    let stored = store.subscription(late.id).await.unwrap().unwrap();
    assert_eq!(stored.last_error.as_deref(), Some("late <&> \"save\""));
    assert_eq!(
        app.db_count("SELECT count(*) FROM subscriptions WHERE claimed_by IS NOT NULL")
            .await,
        7
    );

    // A job runs under one owner's lease at a time (not `retention`: the test's server runs
    // that one, as `serve` does).
    let job = |owner: &'static str, secs: i64| Lease {
        owner,
        until: Utc::now() + Duration::seconds(secs),
    };
    assert!(
        store
            .take_job("a job", Utc::now(), &job("r1", 60))
            .await
            .unwrap()
    );
    assert!(
        !store
            .take_job("a job", Utc::now(), &job("r2", 60))
            .await
            .unwrap()
    );
    assert!(
        store
            .take_job("a job", Utc::now(), &job("r1", 60))
            .await
            .unwrap()
    );
    let later = Utc::now() + Duration::seconds(120);
    assert!(
        store
            .take_job("a job", later, &job("r2", 300))
            .await
            .unwrap()
    );
    assert!(
        !store
            .take_job("a job", later, &job("r1", 300))
            .await
            .unwrap()
    );
    store.close().await;
}

/// Two pollers on one database (two stores, as two processes would have) polling the same
/// due feeds at once: each feed is fetched once in all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_pollers_on_one_database_fetch_each_due_feed_once() {
    let (app, up) = setup().await;
    for i in 0..12 {
        up.set_feed(&format!("p{i}"), "application/rss+xml", rss_feed("P", &[]));
        subscribe(&app, &up.url(&format!("/slow/p{i}"))).await;
    }
    set_all_due(&app).await;
    let config = syndic::config::Config {
        allow_private_upstreams: true,
        poll_per_host: 4,
        ..Default::default()
    };
    let (s1, s2) = (
        syndic::store::open(&app.database_url).await.unwrap(),
        syndic::store::open(&app.database_url).await.unwrap(),
    );
    let p1 = syndic::poll::poller::Poller::new(s1.clone(), &config).unwrap();
    let p2 = syndic::poll::poller::Poller::new(s2.clone(), &config).unwrap();
    up.state.seen.lock().unwrap().clear();
    let (r1, r2) = tokio::join!(p1.poll_due(), p2.poll_due());
    let (r1, r2) = (r1.unwrap(), r2.unwrap());
    assert_eq!(r1.len() + r2.len(), 12, "{r1:?} {r2:?}");
    for i in 0..12 {
        assert_eq!(up.seen(&format!("/f/p{i}")).len(), 1, "p{i}");
    }
    assert!(
        up.state
            .in_flight_by_host
            .lock()
            .unwrap()
            .values()
            .all(|(_, most)| *most <= 4),
        "the per-host limit holds over both pollers"
    );
    assert_eq!(
        app.db_count("SELECT count(*) FROM subscriptions WHERE claimed_by IS NOT NULL")
            .await,
        0,
        "every claim ended with its save"
    );
    s1.close().await;
    s2.close().await;
}
