//! The ingest pipeline through the API: upserts, tombstones, cleaning, URL resolution,
//! pagination, and every format in.

use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};

use crate::helpers::{assert_well_formed, encode, spawn_app};

#[tokio::test]
async fn reposting_updates_and_never_duplicates() {
    let app = spawn_app().await;
    app.create_channel("news", json!({})).await;
    let v1 = json!({ "id": "a", "title": "First", "content_text": "one" });
    let r = app.post_json("news", &v1).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let report: Value = r.json().await.unwrap();
    assert_eq!(
        report["items"][0],
        json!({ "id": "a", "outcome": "created" })
    );

    let r = app.post_json("news", &v1).await;
    assert_eq!(r.status(), StatusCode::OK);
    let report: Value = r.json().await.unwrap();
    assert_eq!(
        (report["created"].as_u64(), report["unchanged"].as_u64()),
        (Some(0), Some(1))
    );

    let v2 = json!({ "id": "a", "title": "Second", "content_text": "two" });
    let r = app
        .post_json("news", &json!([v2, { "id": "b", "title": "B" }]))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED, "b is new");
    let report: Value = r.json().await.unwrap();
    assert_eq!(report["updated"], 1);
    assert_eq!(report["created"], 1);

    let articles = app.all_articles("news").await;
    assert_eq!(articles.len(), 2);
    let a: Value = app.article("news", "a").await.json().await.unwrap();
    assert_eq!(a["title"], "Second");
    assert_eq!(a["content_text"], "two");
    let xml = app.feed_text("news", "atom.xml").await;
    assert_eq!(xml.matches("<entry>").count(), 2);
}

#[tokio::test]
async fn an_item_without_id_takes_its_url() {
    let app = spawn_app().await;
    app.create_channel("news", json!({})).await;
    let url = "https://example.org/2025/09/story";
    app.ingest("news", &json!({ "url": url, "title": "T" }))
        .await;
    app.ingest("news", &json!({ "url": url, "title": "T2" }))
        .await;
    let a: Value = app.article("news", url).await.json().await.unwrap();
    assert_eq!(a["id"], url);
    assert_eq!(a["title"], "T2");
    assert_eq!(app.all_articles("news").await.len(), 1);
}

#[tokio::test]
async fn deleted_articles_stay_deleted_until_put_back() {
    let app = spawn_app().await;
    app.create_channel("news", json!({})).await;
    let item = json!({ "id": "https://example.org/gone", "title": "Gone soon" });
    app.ingest("news", &item).await;
    let path = format!(
        "/channels/news/articles/{}",
        encode("https://example.org/gone")
    );
    let r = app
        .api(reqwest::Method::DELETE, &path)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.article("news", "https://example.org/gone")
            .await
            .status(),
        StatusCode::NOT_FOUND
    );

    // A re-import says what it skipped, and does not bring it back.
    let r = app
        .post_json("news", &json!([item, { "id": "other", "title": "Other" }]))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let report: Value = r.json().await.unwrap();
    assert_eq!(report["skipped_deleted"], 1);
    assert_eq!(report["items"][0]["outcome"], "skipped_deleted");
    assert!(!app.feed_text("news", "rss.xml").await.contains("Gone soon"));

    // An explicit PUT of that one article restores it.
    let r = app
        .api(reqwest::Method::PUT, &path)
        .json(&json!({ "title": "Back" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let a: Value = r.json().await.unwrap();
    assert_eq!(a["id"], "https://example.org/gone");
    assert!(
        app.feed_text("news", "rss.xml")
            .await
            .contains("<title>Back</title>")
    );
    let r = app
        .api(reqwest::Method::PUT, &path)
        .json(&json!({ "title": "Back again" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

/// Characters XML 1.0 forbids are removed at ingest, so every feed stays well-formed.
#[tokio::test]
async fn forbidden_characters_never_reach_a_feed() {
    let app = spawn_app().await;
    app.create_channel("news", json!({})).await;
    // Raw JSON text, so the escapes (a lone surrogate among them) reach the server as written.
    let body = r#"[{"id":"ctl\u0001","title":"Bell\u0007 tab\t ok\u000b\u000c\ufffe\uffff\ud800 end","summary":"a\u0000b","content_html":"<p>x\u001by ]]> z</p>","tags":["t\u0002ag"],"authors":[{"name":"N\u0008ame"}]}]"#;
    let r = app.post_raw("news", "application/json", body).await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap()
    );
    for file in ["rss.xml", "atom.xml"] {
        let xml = app.feed_text("news", file).await;
        assert_well_formed(&xml);
        assert!(xml.contains("Bell tab\t ok end"), "{xml}");
    }
    let rss_xml = app.feed_text("news", "rss.xml").await;
    let channel = rss::Channel::read_from(rss_xml.as_bytes()).unwrap();
    assert_eq!(
        channel.items[0].content.as_deref(),
        Some("<p>xy ]]> z</p>"),
        "]]> survives CDATA"
    );
    let a: Value = app.article("news", "ctl").await.json().await.unwrap();
    assert_eq!(a["summary"], "ab");
    assert_eq!(a["tags"], json!(["tag"]));
    assert_eq!(a["authors"][0]["name"], "Name");
}

#[tokio::test]
async fn relative_urls_are_resolved_against_the_article() {
    let app = spawn_app().await;
    app.create_channel("news", json!({ "link": "https://example.org/site/" }))
        .await;
    let item = json!({
        "id": "rel",
        "url": "2025/story.html",
        "title": "Relative",
        "image": "../img/lead.jpg",
        "banner_image": "//cdn.example.org/banner.png",
        "content_html": "<p><a href=\"other.html#x\">o</a> <img src=\"/pic.png\" srcset=\"a.png 1x, b.png 2x\"></p>",
        "attachments": [{ "url": "audio.mp3", "mime_type": "audio/mpeg", "size_in_bytes": 1234 }],
        "authors": [{ "name": "A", "url": "/people/a" }],
    });
    app.ingest("news", &item).await;
    let a: Value = app.article("news", "rel").await.json().await.unwrap();
    assert_eq!(a["url"], "https://example.org/site/2025/story.html");
    assert_eq!(a["image"], "https://example.org/site/img/lead.jpg");
    assert_eq!(a["banner_image"], "https://cdn.example.org/banner.png");
    assert_eq!(
        a["attachments"][0]["url"],
        "https://example.org/site/2025/audio.mp3"
    );
    assert_eq!(a["authors"][0]["url"], "https://example.org/people/a");
    assert_eq!(
        a["content_html"],
        "<p><a href=\"https://example.org/site/2025/other.html#x\">o</a> <img src=\"https://example.org/pic.png\" srcset=\"https://example.org/site/2025/a.png 1x, https://example.org/site/2025/b.png 2x\"></p>"
    );
    let rss_xml = app.feed_text("news", "rss.xml").await;
    let it = &rss::Channel::read_from(rss_xml.as_bytes()).unwrap().items[0];
    let enc = it.enclosure.as_ref().unwrap();
    assert_eq!(enc.url, "https://example.org/site/2025/audio.mp3");
    assert_eq!(enc.length, "1234");
    assert_eq!(
        it.extensions["media"]["thumbnail"][0].attrs["url"],
        "https://cdn.example.org/banner.png"
    );
}

#[tokio::test]
async fn attachments_go_out_in_every_format() {
    let app = spawn_app().await;
    app.create_channel("pod", json!({})).await;
    let item = json!({
        "id": "ep1",
        "url": "https://example.org/ep1",
        "title": "Episode 1",
        "content_text": "Notes < & >",
        "external_url": "https://elsewhere.example/ref",
        "date_published": "2025-03-01T08:00:00-05:00",
        "date_modified": "2025-03-02T09:30:00-05:00",
        "attachments": [
            { "url": "https://example.org/ep1.mp3", "mime_type": "audio/mpeg", "size_in_bytes": 5000, "duration_in_seconds": 600, "title": "MP3" },
            { "url": "https://example.org/ep1.ogg", "mime_type": "audio/ogg", "size_in_bytes": 4000 }
        ],
        "language": "en",
    });
    app.ingest("pod", &item).await;
    let rss_xml = app.feed_text("pod", "rss.xml").await;
    assert_well_formed(&rss_xml);
    let it = &rss::Channel::read_from(rss_xml.as_bytes()).unwrap().items[0];
    assert_eq!(
        it.enclosure.as_ref().unwrap().url,
        "https://example.org/ep1.mp3"
    );
    let extra = &it.extensions["media"]["content"][0];
    assert_eq!(extra.attrs["url"], "https://example.org/ep1.ogg");
    assert_eq!(extra.attrs["fileSize"], "4000");
    assert_eq!(
        it.description.as_deref(),
        Some("Notes &lt; &amp; &gt;"),
        "text is escaped to stay text"
    );
    assert_eq!(it.dublin_core_ext.as_ref().unwrap().languages, vec!["en"]);
    assert!(!it.guid.as_ref().unwrap().permalink);
    assert!(rss_xml.contains("<atom:updated>2025-03-02T09:30:00-05:00</atom:updated>"));

    let atom_xml = app.feed_text("pod", "atom.xml").await;
    let e = &atom_syndication::Feed::read_from(atom_xml.as_bytes())
        .unwrap()
        .entries[0];
    let enclosures: Vec<_> = e.links.iter().filter(|l| l.rel == "enclosure").collect();
    assert_eq!(enclosures.len(), 2);
    assert_eq!(enclosures[0].length.as_deref(), Some("5000"));
    assert_eq!(enclosures[0].title.as_deref(), Some("MP3"));
    assert_eq!(
        e.links.iter().find(|l| l.rel == "related").unwrap().href,
        "https://elsewhere.example/ref"
    );
    assert_eq!(e.updated.to_rfc3339(), "2025-03-02T09:30:00-05:00");
    assert!(
        e.id.starts_with("urn:uuid:"),
        "a non-IRI guid becomes a urn:uuid: {}",
        e.id
    );
    let content = e.content.as_ref().unwrap();
    // Text goes out as escaped HTML, which every reader shows as the same text.
    assert_eq!(content.content_type.as_deref(), Some("html"));
    assert_eq!(content.value.as_deref(), Some("Notes &lt; &amp; &gt;"));
    let atom = atom_syndication::Feed::read_from(atom_xml.as_bytes()).unwrap();
    assert_eq!(
        atom.authors.len(),
        1,
        "entries without an author get the feed's"
    );

    let feed: Value = app.feed("pod", "feed.json").await.json().await.unwrap();
    let out = &feed["items"][0];
    for (k, v) in item.as_object().unwrap() {
        assert_eq!(&out[k], v, "field {k}");
    }
}

#[tokio::test]
async fn pages_walk_the_whole_channel_newest_first() {
    let app = spawn_app().await;
    app.create_channel("news", json!({})).await;
    // Two share a date: the cursor's tie-breaker keeps both.
    let items: Vec<Value> = [
        ("a", "2025-01-01T00:00:00Z"),
        ("b", "2025-01-03T00:00:00Z"),
        ("c", "2025-01-02T00:00:00Z"),
        ("d", "2025-01-02T00:00:00Z"),
        ("e", "2025-01-05T00:00:00+09:00"),
    ]
    .iter()
    .map(|(id, d)| json!({ "id": id, "title": id, "date_published": d }))
    .collect();
    app.ingest("news", &Value::Array(items)).await;
    let ids: Vec<String> = app
        .all_articles("news")
        .await
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, ["e", "b", "d", "c", "a"]);
    let r = app
        .api(
            reqwest::Method::GET,
            "/channels/news/articles?before=garbage",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = app
        .api(reqwest::Method::GET, "/channels/news/articles?limit=501")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn rss_and_atom_documents_are_ingested_item_by_item() {
    let app = spawn_app().await;
    app.create_channel("news", json!({})).await;
    let rss = r#"<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>Up</title><link>https://up.example/</link><description>d</description>
<item><title>One</title><link>https://up.example/1</link><guid isPermaLink="false">up-1</guid>
<pubDate>Mon, 15 Sep 2025 08:00:00 GMT</pubDate><description>&lt;b&gt;Short&lt;/b&gt; &amp; sweet</description>
<content:encoded><![CDATA[<p>Full <a href="/x">text</a></p>]]></content:encoded><dc:creator>Ann</dc:creator>
<category>tech</category><enclosure url="https://up.example/1.mp3" length="10" type="audio/mpeg"/></item>
<item><title>Two</title><link>https://up.example/2</link><author>bob@up.example (Bob)</author>
<description>&lt;p&gt;Only a description&lt;/p&gt;</description></item>
</channel></rss>"#;
    let r = app.post_raw("news", "application/rss+xml", rss).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let one: Value = app.article("news", "up-1").await.json().await.unwrap();
    assert_eq!(one["summary"], "Short & sweet");
    assert_eq!(
        one["content_html"],
        "<p>Full <a href=\"https://up.example/x\">text</a></p>"
    );
    assert_eq!(one["date_published"], "2025-09-15T08:00:00Z");
    assert_eq!(one["authors"][0]["name"], "Ann");
    assert_eq!(one["tags"], json!(["tech"]));
    assert_eq!(one["attachments"][0]["size_in_bytes"], 10);
    let two: Value = app
        .article("news", "https://up.example/2")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(two["content_html"], "<p>Only a description</p>");
    assert_eq!(two["authors"][0]["name"], "Bob");

    let atom = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><id>urn:a</id><updated>2025-09-16T00:00:00Z</updated>
<entry><title>Atom one</title><id>tag:a.example,2025:1</id><updated>2025-09-16T10:00:00+02:00</updated>
<published>2025-09-15T10:00:00+02:00</published><link href="https://a.example/1"/><author><name>Cy</name></author>
<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>XHTML body</p></div></content></entry>
</feed>"#;
    let r = app.post_raw("news", "text/xml; charset=utf-8", atom).await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap()
    );
    let a: Value = app
        .article("news", "tag:a.example,2025:1")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(a["url"], "https://a.example/1");
    assert_eq!(a["date_published"], "2025-09-15T10:00:00+02:00");
    assert_eq!(a["date_modified"], "2025-09-16T10:00:00+02:00");
    assert!(
        a["content_html"]
            .as_str()
            .unwrap()
            .contains("<p>XHTML body</p>")
    );

    // An RSS date without a zone is refused, not replaced by "now".
    let bad = rss.replace("Mon, 15 Sep 2025 08:00:00 GMT", "15/09/2025");
    let r = app
        .api(reqwest::Method::POST, "/channels/news/articles")
        .header(CONTENT_TYPE, "application/rss+xml")
        .body(bad)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let err: Value = r.json().await.unwrap();
    assert_eq!(err["field"], "date_published");
}

/// One id twice in a batch: the later item updates the earlier, as if posted one after the
/// other (such batches are written row by row; others many rows to a statement).
#[tokio::test]
async fn an_id_repeated_in_one_batch_ends_as_its_last_item() {
    let app = spawn_app().await;
    app.create_channel("news", json!({})).await;
    let items: Vec<_> = (0..40)
        .map(|i| json!({ "id": format!("n{i}"), "title": format!("N{i}") }))
        .chain([json!({ "id": "n3", "title": "Last word" })])
        .collect();
    let report = app.ingest("news", &json!(items)).await;
    assert_eq!(report["created"], 40, "{report}");
    assert_eq!(report["updated"], 1, "{report}");
    let all = app.all_articles("news").await;
    assert_eq!(all.len(), 40);
    let n3 = all.iter().find(|a| a["id"] == "n3").unwrap();
    assert_eq!(n3["title"], "Last word");
}

/// Batches posted at once that bring the same new article all succeed: one creates it, the
/// others find it (unchanged). SQLite runs one write at a time; PostgreSQL runs them side by
/// side, where writes to one channel must queue for this to hold.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_batches_with_one_new_article_all_succeed() {
    let app = std::sync::Arc::new(spawn_app().await);
    app.create_channel("news", json!({})).await;
    let mut posts = tokio::task::JoinSet::new();
    for i in 0..8 {
        let app = app.clone();
        posts.spawn(async move {
            let body = json!([
                { "id": "shared", "title": "Shared" },
                { "id": format!("own-{i}"), "title": format!("Own {i}") },
            ]);
            let r = app.post_json("news", &body).await;
            let status = r.status();
            (status, r.json::<Value>().await.unwrap())
        });
    }
    let mut created = 0;
    while let Some(done) = posts.join_next().await {
        let (status, report) = done.unwrap();
        assert!(status.is_success(), "{status}: {report}");
        created += report["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["id"] == "shared" && i["outcome"] == "created")
            .count();
    }
    assert_eq!(created, 1, "one batch created it, the others found it");
    assert_eq!(app.db_count("SELECT count(*) FROM articles").await, 9);
}
