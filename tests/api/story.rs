//! One article per story (docs/dedupe.md): real upstream feeds on 127.0.0.1 carrying the
//! same story through several subscriptions of one channel, read back in every format (with
//! feedparser and the W3C validator where they are installed).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, encode, spawn_app};
use crate::upstream::{UpstreamServer, spawn_upstream};

/// One item of a test feed.
struct It<'a> {
    guid: &'a str,
    title: &'a str,
    link: &'a str,
    body: &'a str,
    /// Hours after 16 Sep 2025 10:00 UTC.
    hour: u32,
    /// The item's own `<source>` (url, title).
    source: Option<(&'a str, &'a str)>,
}

fn it<'a>(guid: &'a str, title: &'a str, link: &'a str) -> It<'a> {
    It {
        guid,
        title,
        link,
        body: "The first paragraph of the story.",
        hour: 0,
        source: None,
    }
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// An RSS 2.0 feed of these items.
fn feed(title: &str, items: &[It<'_>]) -> String {
    let mut s = format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>{}</title><link>https://outlet.example/</link><description>d</description>"#,
        xml(title)
    );
    for i in items {
        let source = i.source.map_or(String::new(), |(url, t)| {
            format!(r#"<source url="{}">{}</source>"#, xml(url), xml(t))
        });
        s.push_str(&format!(
            "<item><guid isPermaLink=\"false\">{}</guid><title>{}</title><link>{}</link>\
             <pubDate>Tue, 16 Sep 2025 {:02}:00:00 +0000</pubDate>\
             <description>{}</description>{source}</item>",
            xml(i.guid),
            xml(i.title),
            xml(i.link),
            10 + i.hour,
            xml(&format!("<p>{}</p><p>More.</p>", i.body)),
        ));
    }
    s.push_str("</channel></rss>");
    s
}

async fn setup(dedupe: Option<&str>) -> (TestApp, UpstreamServer) {
    let app = spawn_app().await;
    let extra = match dedupe {
        Some(d) => json!({ "title": "Planet", "dedupe": d }),
        None => json!({ "title": "Planet" }),
    };
    let c = app.create_channel("planet", extra).await;
    assert_eq!(c["dedupe"], dedupe.unwrap_or("url"), "{c}");
    (app, spawn_upstream().await)
}

/// Subscribes the channel to `/f/{name}` and polls it once; returns the subscription id.
async fn subscribe_and_poll(app: &TestApp, up: &UpstreamServer, name: &str) -> i64 {
    let r = app
        .api(Method::POST, "/subscriptions")
        .json(&json!({ "url": up.url(&format!("/f/{name}")), "channel": "planet" }))
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    let id = body["subscription"]["id"].as_i64().expect("subscribed");
    poll(app, id).await;
    id
}

async fn poll(app: &TestApp, id: i64) -> Value {
    let v = app.poll_now(id).await;
    assert!(
        v["poll"]["status"] == "imported" || v["poll"]["status"] == "not_modified",
        "{v}"
    );
    v
}

async fn json_items(app: &TestApp) -> Vec<Value> {
    let v: Value = app.feed("planet", "feed.json").await.json().await.unwrap();
    v["items"].as_array().unwrap().clone()
}

const QUAKE: &str = "Magnitude 6.8 earthquake strikes off coast of Japan";

/// Three outlets carry one story: one plainly, one with `?utm_source=x`, one on an `amp.`
/// host; each also has a story of its own.
fn three_outlets(up: &UpstreamServer) {
    let q = "https://news.example/world/quake-japan";
    up.set_feed(
        "a",
        "application/rss+xml",
        feed(
            "Wire A",
            &[
                it("a-1", QUAKE, q),
                It {
                    hour: 1,
                    ..it("a-2", "Only in A", "https://a.example/2")
                },
            ],
        ),
    );
    up.set_feed(
        "b",
        "application/rss+xml",
        feed(
            "Paper B & Co",
            &[
                It {
                    body: "Paper B's own words about the quake.",
                    ..it(
                        "b-1",
                        "Quake hits Japan",
                        &format!("{q}/?utm_source=x&utm_medium=rss"),
                    )
                },
                It {
                    hour: 2,
                    ..it("b-2", "Only in B", "https://b.example/2")
                },
            ],
        ),
    );
    up.set_feed(
        "c",
        "application/rss+xml",
        feed(
            "Mobile C",
            &[
                it(
                    "c-1",
                    "Japan quake",
                    "https://amp.news.example/world/quake-japan#top",
                ),
                It {
                    hour: 3,
                    ..it("c-2", "Only in C", "https://c.example/2")
                },
            ],
        ),
    );
}

#[tokio::test]
async fn three_sources_of_one_story_make_one_article_in_every_format() {
    let (app, up) = setup(None).await;
    three_outlets(&up);
    for name in ["a", "b", "c"] {
        subscribe_and_poll(&app, &up, name).await;
    }
    let items = json_items(&app).await;
    assert_eq!(items.len(), 4, "{items:#?}");
    let story: Vec<&Value> = items
        .iter()
        .filter(|i| i["_syndic"]["sources"].as_array().map(Vec::len) == Some(3))
        .collect();
    assert_eq!(
        story.len(),
        1,
        "one article lists three sources: {items:#?}"
    );
    let story = story[0];
    // The first source's content (and id: the poller's, from its link) is kept.
    assert_eq!(story["id"], "https://news.example/world/quake-japan");
    assert_eq!(story["title"], QUAKE);
    assert_eq!(story["url"], "https://news.example/world/quake-japan");
    let sources = story["_syndic"]["sources"].as_array().unwrap();
    let feeds: Vec<&str> = sources
        .iter()
        .map(|s| s["feed_url"].as_str().unwrap())
        .collect();
    assert_eq!(
        feeds,
        [up.url("/f/a"), up.url("/f/b"), up.url("/f/c")],
        "first first"
    );
    assert_eq!(sources[1]["title"], "Paper B & Co");
    assert_eq!(
        sources[2]["url"],
        "https://amp.news.example/world/quake-japan#top"
    );
    assert!(sources.iter().all(|s| s.get("item_hash").is_none()));
    assert_eq!(story["_syndic"]["source"]["url"], up.url("/f/a"));
    for own in ["Only in A", "Only in B", "Only in C"] {
        let one: Vec<&Value> = items.iter().filter(|i| i["title"] == own).collect();
        assert_eq!(one.len(), 1, "{own}");
        assert_eq!(one[0]["_syndic"]["sources"].as_array().unwrap().len(), 1);
    }

    // RSS: one <source> (the first source's feed), every source as an atom:link rel="via".
    let rss_text = app.feed_text("planet", "rss.xml").await;
    let channel = rss::Channel::read_from(rss_text.as_bytes()).unwrap();
    assert_eq!(channel.items.len(), 4);
    let item = channel
        .items
        .iter()
        .find(|i| i.title.as_deref() == Some(QUAKE))
        .unwrap();
    assert_eq!(item.source.as_ref().unwrap().url, up.url("/f/a"));
    let via = &item.atom_ext.as_ref().expect("via links").links;
    assert_eq!(via.len(), 3, "{rss_text}");
    assert!(via.iter().all(|l| l.rel == "via"));
    assert!(via[1].href.contains("utm_source=x"), "{via:?}");
    assert_eq!(via[1].title.as_deref(), Some("Paper B & Co"));
    let single = channel
        .items
        .iter()
        .find(|i| i.title.as_deref() == Some("Only in A"))
        .unwrap();
    assert!(single.atom_ext.as_ref().is_none_or(|x| x.links.is_empty()));

    // Atom: one <source>, every source as a rel="via" link.
    let atom_text = app.feed_text("planet", "atom.xml").await;
    let atom = atom_syndication::Feed::read_from(atom_text.as_bytes()).unwrap();
    assert_eq!(atom.entries.len(), 4);
    let entry = atom
        .entries
        .iter()
        .find(|e| e.title.value == QUAKE)
        .unwrap();
    let via: Vec<&str> = entry
        .links
        .iter()
        .filter(|l| l.rel == "via")
        .map(|l| l.href.as_str())
        .collect();
    assert_eq!(via.len(), 3, "{atom_text}");
    assert_eq!(entry.source.as_ref().unwrap().id, up.url("/f/a"));

    // What a reader sees: feedparser reads one entry for the story in RSS and Atom.
    if crate::readers::have_feedparser().await {
        for file in ["rss.xml", "atom.xml"] {
            let d = crate::readers::dump(&[&app.url(&format!("/feeds/planet/{file}"))]).await;
            assert_eq!(d["bozo"], false, "{file}: {}", d["bozo_exception"]);
            let entries = d["entries"].as_array().unwrap();
            assert_eq!(entries.len(), 4, "{file}");
            let quakes: Vec<&Value> = entries.iter().filter(|e| e["title"] == QUAKE).collect();
            assert_eq!(quakes.len(), 1, "{file}");
            assert!(quakes[0]["source"].is_object(), "{file}: {}", quakes[0]);
        }
        let j = crate::readers::dump(&["--jsonfeed", &app.url("/feeds/planet/feed.json")]).await;
        assert_eq!(j["errors"], json!([]), "{j}");
    }
    // Every merged feed passes the W3C validator.
    if crate::validator::validator_ready().await {
        crate::validator::assert_valid(
            &app,
            &[
                app.url("/feeds/planet/rss.xml"),
                app.url("/feeds/planet/atom.xml"),
            ],
        )
        .await;
    }
}

#[tokio::test]
async fn polling_again_changes_nothing_and_an_update_from_any_source_updates_the_story() {
    let (app, up) = setup(None).await;
    three_outlets(&up);
    let a = subscribe_and_poll(&app, &up, "a").await;
    let b = subscribe_and_poll(&app, &up, "b").await;
    let version = app.db_count("SELECT version FROM channels").await;
    // The same items again (an unconditional fetch: a body of the same bytes) write nothing.
    let same_items = feed(
        "Wire A",
        &[
            it("a-1", QUAKE, "https://news.example/world/quake-japan"),
            It {
                hour: 1,
                ..it("a-2", "Only in A", "https://a.example/2")
            },
        ],
    )
    .replace(
        "<description>d</description>",
        "<description>d2</description>",
    );
    up.set_feed("a", "application/rss+xml", same_items);
    let again = poll(&app, a).await;
    assert_eq!(again["poll"]["unchanged"], 2, "{again}");
    assert_eq!(app.db_count("SELECT version FROM channels").await, version);

    // B corrects its item: the story takes B's new version, and keeps its id and sources.
    up.set_feed(
        "b",
        "application/rss+xml",
        feed(
            "Paper B",
            &[It {
                body: "Corrected: the quake was offshore.",
                ..it(
                    "b-1",
                    "Quake hits Japan (corrected)",
                    "https://news.example/world/quake-japan?utm_source=x",
                )
            }],
        ),
    );
    let r = poll(&app, b).await;
    assert_eq!(r["poll"]["updated"], 1, "{r}");
    let items = json_items(&app).await;
    let story = items
        .iter()
        .find(|i| i["id"] == "https://news.example/world/quake-japan")
        .unwrap();
    assert_eq!(story["title"], "Quake hits Japan (corrected)");
    assert!(
        story["content_html"]
            .as_str()
            .unwrap()
            .contains("Corrected: the quake was offshore."),
        "{story}"
    );
    assert_eq!(story["_syndic"]["sources"].as_array().unwrap().len(), 2);
    assert_eq!(items.len(), 3, "{items:#?}");
}

#[tokio::test]
async fn a_deleted_story_comes_back_from_no_source() {
    let (app, up) = setup(None).await;
    three_outlets(&up);
    subscribe_and_poll(&app, &up, "a").await;
    let b = subscribe_and_poll(&app, &up, "b").await;
    let id = json_items(&app)
        .await
        .into_iter()
        .find(|i| i["title"] == QUAKE)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .api(
            Method::DELETE,
            &format!("/channels/planet/articles/{}", encode(&id)),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    // B changes its copy, a new outlet C carries the story: neither brings it back.
    up.set_feed(
        "b",
        "application/rss+xml",
        feed(
            "Paper B",
            &[it(
                "b-1",
                "Quake hits Japan, updated",
                "https://news.example/world/quake-japan?utm_source=x",
            )],
        ),
    );
    let r = poll(&app, b).await;
    assert_eq!(r["poll"]["skipped_deleted"], 1, "{r}");
    subscribe_and_poll(&app, &up, "c").await;
    let titles: Vec<Value> = json_items(&app)
        .await
        .into_iter()
        .map(|i| i["title"].clone())
        .collect();
    assert_eq!(titles.len(), 3, "only the stories of their own: {titles:?}");
    assert!(
        titles
            .iter()
            .all(|t| t.as_str().unwrap().starts_with("Only in"))
    );
}

#[tokio::test]
async fn dedupe_off_keeps_the_sources_apart_and_the_setting_is_checked() {
    let (app, up) = setup(Some("off")).await;
    three_outlets(&up);
    for name in ["a", "b", "c"] {
        subscribe_and_poll(&app, &up, name).await;
    }
    assert_eq!(json_items(&app).await.len(), 6);

    // The setting: shown, changed, refused when unknown.
    let r = app
        .api(Method::PATCH, "/channels/planet")
        .json(&json!({ "dedupe": "story" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["dedupe"], "story");
    for bad in [
        json!("STORY"),
        json!(""),
        json!("url "),
        json!(1),
        json!("<&>"),
    ] {
        let r = app
            .api(Method::PATCH, "/channels/planet")
            .json(&json!({ "dedupe": bad }))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_client_error(), "{bad}: {}", r.status());
    }
    let r = app
        .api(Method::POST, "/channels")
        .json(&json!({ "slug": "other", "title": "O", "dedupe": "titles" }))
        .send()
        .await
        .unwrap();
    let body = assert_error(r, StatusCode::BAD_REQUEST, "bad_request").await;
    assert!(body.to_string().contains("dedupe"), "{body}");
    let v: Value = app
        .api(Method::GET, "/channels/planet")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["dedupe"], "story");
}

#[tokio::test]
async fn story_mode_joins_near_identical_titles_and_keeps_similar_stories_apart() {
    let (app, up) = setup(Some("story")).await;
    let jersey = "Storm Ciarán: Red weather warning issued for Jersey";
    up.set_feed(
        "a",
        "application/rss+xml",
        feed("A", &[it("a-1", jersey, "https://a.example/ciaran")]),
    );
    up.set_feed(
        "b",
        "application/rss+xml",
        feed(
            "B",
            &[
                // The same story, titled a little differently, 5 hours later: joins.
                It {
                    hour: 5,
                    ..it(
                        "b-1",
                        "Storm Ciaran: red weather warning issued for Jersey - B News",
                        "https://b.example/ciaran",
                    )
                },
                // Another storm with nearly the same words: stays apart.
                it(
                    "b-2",
                    "Storm Debi: Red weather warning issued for Jersey",
                    "https://b.example/debi",
                ),
            ],
        ),
    );
    subscribe_and_poll(&app, &up, "a").await;
    subscribe_and_poll(&app, &up, "b").await;
    let items = json_items(&app).await;
    assert_eq!(items.len(), 2, "{items:#?}");
    let ciaran = items.iter().find(|i| i["title"] == jersey).unwrap();
    assert_eq!(ciaran["_syndic"]["sources"].as_array().unwrap().len(), 2);
    let debi = items
        .iter()
        .find(|i| i["url"] == "https://b.example/debi")
        .unwrap();
    assert_eq!(debi["_syndic"]["sources"].as_array().unwrap().len(), 1);

    // C: the same title three days later, and Debi's title over another first paragraph:
    // two more stories.
    let c = feed(
        "C",
        &[
            It {
                hour: 1,
                ..it("c-1", jersey, "https://c.example/ciaran")
            },
            It {
                body: "Jersey's ferries are cancelled for a week.",
                ..it(
                    "c-2",
                    "Storm Debi: Red weather warning issued for Jersey",
                    "https://c.example/debi",
                )
            },
        ],
    )
    .replacen("16 Sep 2025 11:00", "19 Sep 2025 11:00", 1);
    assert!(c.contains("19 Sep 2025"));
    up.set_feed("c", "application/rss+xml", c);
    subscribe_and_poll(&app, &up, "c").await;
    let items = json_items(&app).await;
    assert_eq!(items.len(), 4, "{items:#?}");
    assert!(
        items
            .iter()
            .all(|i| i["_syndic"]["sources"].as_array().unwrap().len() == 1
                || i["url"] == "https://a.example/ciaran")
    );

    // Story titles serve within days of their date: the retention job (here `syndic prune`)
    // forgets those dated over 30 days ago (these stories are of September 2025).
    assert_eq!(app.db_count("SELECT count(*) FROM story_titles").await, 4);
    let out = std::process::Command::new(crate::cli::BIN)
        .arg("prune")
        .env("DATABASE_URL", &app.database_url)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(app.db_count("SELECT count(*) FROM story_titles").await, 0);
    assert_eq!(json_items(&app).await.len(), 4, "the articles stay");
}

#[tokio::test]
async fn an_items_own_source_is_kept_and_its_subscription_recorded_beside_it() {
    let (app, up) = setup(None).await;
    up.set_feed(
        "a",
        "application/rss+xml",
        feed(
            "Aggregator",
            &[It {
                source: Some(("https://origin.example/feed.xml", "The Origin")),
                ..it("a-1", "Syndicated", "https://origin.example/post")
            }],
        ),
    );
    subscribe_and_poll(&app, &up, "a").await;
    let items = json_items(&app).await;
    assert_eq!(
        items[0]["_syndic"]["source"]["url"],
        "https://origin.example/feed.xml"
    );
    assert_eq!(items[0]["_syndic"]["source"]["title"], "The Origin");
    assert_eq!(
        items[0]["_syndic"]["sources"][0]["feed_url"],
        up.url("/f/a")
    );
    assert_eq!(items[0]["_syndic"]["sources"][0]["title"], "Aggregator");
    let rss_text = app.feed_text("planet", "rss.xml").await;
    let channel = rss::Channel::read_from(rss_text.as_bytes()).unwrap();
    let item = &channel.items[0];
    assert_eq!(
        item.source.as_ref().unwrap().url,
        "https://origin.example/feed.xml"
    );
    let via = &item.atom_ext.as_ref().expect("via link").links;
    assert_eq!(via.len(), 1);
    assert_eq!(via[0].href, "https://origin.example/post");
    assert_eq!(via[0].title.as_deref(), Some("Aggregator"));
    if crate::validator::validator_ready().await {
        crate::validator::assert_valid(
            &app,
            &[
                app.url("/feeds/planet/rss.xml"),
                app.url("/feeds/planet/atom.xml"),
            ],
        )
        .await;
    }
}

/// `syndic channel add|edit --dedupe`, shown by `channel show`.
#[test]
fn the_cli_sets_and_shows_the_dedupe_mode() {
    use crate::cli::{ok, syndic};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&syndic(d, &["migrate"]));
    let json = |args: &[&str]| -> Value { serde_json::from_str(&ok(&syndic(d, args))).unwrap() };
    let added = json(&[
        "channel", "add", "planet", "--title", "P", "--dedupe", "story", "--json",
    ]);
    assert_eq!(added["dedupe"], "story");
    let plain = json(&["channel", "add", "other", "--title", "O", "--json"]);
    assert_eq!(plain["dedupe"], "url", "the default");
    let edited = json(&["channel", "edit", "planet", "--dedupe", "off", "--json"]);
    assert_eq!(edited["dedupe"], "off");
    assert_eq!(edited["title"], "P", "what is not given stays");
    let table = ok(&syndic(d, &["channel", "show", "planet"]));
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("dedupe") && l.ends_with("off")),
        "{table}"
    );
    let out = syndic(d, &["channel", "edit", "planet", "--dedupe", "titles"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("off") && err.contains("story"), "{err}");
}
