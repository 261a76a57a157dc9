//! The browser side: the HTML pages (status, content type, autodiscovery, escaping, the
//! article's parts, HTML 404s), the OPML list and the feed stylesheet, over HTTP; `browser`
//! renders the pages and styled feeds in headless Chromium.

mod browser;
mod chromium;

use std::collections::BTreeMap;

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use serde_json::{Value, json};
use syndic::http::STYLESHEET_PATH;

use crate::helpers::{TestApp, assert_error, encode, spawn_app};
use crate::seed::{SEED_IMAGE, SEED_URL, seed, seed_item};

const HTML: &str = "text/html; charset=utf-8";

/// A GET of a page: its status, headers and body, after checking that it is HTML.
async fn page(app: &TestApp, path: &str) -> (StatusCode, HeaderMap, String) {
    let r = app.client.get(app.url(path)).send().await.unwrap();
    let (status, headers) = (r.status(), r.headers().clone());
    assert_eq!(headers[CONTENT_TYPE], HTML, "{path}");
    let body = r.text().await.unwrap();
    assert!(body.starts_with("<!doctype html>"), "{path}: {body}");
    (status, headers, body)
}

/// A page that must answer 200.
async fn ok_page(app: &TestApp, path: &str) -> String {
    let (status, _, body) = page(app, path).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

/// The attributes of every `<name ...>` tag, entities decoded. The templates quote every
/// attribute with `"`, which is all this reads.
fn tags(html: &str, name: &str) -> Vec<BTreeMap<String, String>> {
    let open = format!("<{name} ");
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find(&open) {
        let tag = &rest[at + open.len()..];
        let end = tag.find('>').expect("tag ends");
        let mut attrs = BTreeMap::new();
        let mut s = &tag[..end];
        while let Some(eq) = s.find("=\"") {
            let key = s[..eq].trim().to_owned();
            let value_end = s[eq + 2..].find('"').expect("attribute ends");
            let value = &s[eq + 2..eq + 2 + value_end];
            attrs.insert(key, html_escape::decode_html_entities(value).into_owned());
            s = &s[eq + 2 + value_end + 1..];
        }
        out.push(attrs);
        rest = &tag[end..];
    }
    out
}

/// The feed autodiscovery links of a page, as (type, href, title).
fn alternates(html: &str) -> Vec<(String, String, String)> {
    tags(html, "link")
        .into_iter()
        .filter(|a| a.get("rel").map(String::as_str) == Some("alternate"))
        .map(|a| (a["type"].clone(), a["href"].clone(), a["title"].clone()))
        .collect()
}

/// The three autodiscovery links a channel must have.
fn discovery_of(app: &TestApp, slug: &str, title: &str) -> Vec<(String, String, String)> {
    [
        ("application/rss+xml", "rss.xml", "RSS"),
        ("application/atom+xml", "atom.xml", "Atom"),
        ("application/feed+json", "feed.json", "JSON Feed"),
    ]
    .into_iter()
    .map(|(ty, file, name)| {
        (
            ty.to_owned(),
            app.url(&format!("/feeds/{slug}/{file}")),
            format!("{title} ({name})"),
        )
    })
    .collect()
}

fn item(id: &str, title: &str, date: &str) -> Value {
    json!({
        "id": id,
        "url": id,
        "title": title,
        "summary": format!("Summary of {title}."),
        "content_html": format!("<p>Body of {title}.</p>"),
        "date_published": date,
        "authors": [{ "name": "Ann Author" }],
    })
}

/// `n` articles, a day apart in January 2025, "Note 1" the oldest.
fn notes(n: u32) -> Value {
    (1..=n)
        .map(|i| {
            let date = chrono::DateTime::parse_from_rfc3339("2025-01-01T09:00:00Z").unwrap()
                + chrono::Duration::days(i64::from(i));
            item(
                &format!("https://notes.example/{i}"),
                &format!("Note {i}"),
                &date.to_rfc3339(),
            )
        })
        .collect()
}

#[tokio::test]
async fn index_lists_every_channel_with_its_feeds_and_latest_articles() {
    let app = spawn_app().await;
    app.create_channel(
        "monde",
        json!({ "title": "Le monde", "description": "Actualité internationale", "language": "fr" }),
    )
    .await;
    app.create_channel("notes", json!({ "title": "Field notes" }))
        .await;
    app.ingest("notes", &notes(7)).await;

    let html = ok_page(&app, "/").await;
    assert!(html.contains("<html lang=\"en\">"), "{html}");
    assert!(
        html.contains(r#"<meta name="viewport" content="width=device-width, initial-scale=1">"#)
    );
    assert!(html.contains("<main id=\"main\""));
    assert!(!html.contains("<script"), "no JavaScript");
    // Pasting the site's address into a reader finds every channel's three feeds.
    let mut want = discovery_of(&app, "monde", "Le monde");
    want.extend(discovery_of(&app, "notes", "Field notes"));
    assert_eq!(alternates(&html), want);

    assert!(html.contains("Actualité internationale"));
    assert!(html.contains(
        r#"<h2 id="channel-monde" lang="fr"><a href="/channels/monde">Le monde</a></h2>"#
    ));
    // The five newest, newest first; the two oldest are a click away.
    let at = |t: &str| html.find(&format!(">{t}</a>"));
    let shown: Vec<usize> = (3..=7)
        .rev()
        .map(|i| at(&format!("Note {i}")).unwrap())
        .collect();
    assert!(shown.is_sorted(), "newest first");
    assert_eq!(at("Note 2"), None);
    assert_eq!(at("Note 1"), None);
    assert!(html.contains(r#"<time datetime="2025-01-08T09:00:00+00:00">2025-01-08</time>"#));
    let href = format!("/channels/notes/{}", encode("https://notes.example/7"));
    assert!(
        html.contains(&format!("<a href=\"{href}\">Note 7</a>")),
        "{html}"
    );
    ok_page(&app, &href).await;
    let feed_links: Vec<_> = tags(&html, "a")
        .into_iter()
        .filter(|a| {
            a.get("type")
                .is_some_and(|t| t.contains("rss") || t.contains("atom") || t.contains("json"))
        })
        .map(|a| a["href"].clone())
        .collect();
    assert_eq!(
        feed_links,
        want.iter().map(|w| w.1.clone()).collect::<Vec<_>>(),
        "each channel links its three feeds"
    );
    for (_, feed, _) in &want {
        let r = app.client.get(feed).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{feed}");
    }
}

#[tokio::test]
async fn channel_page_shows_fifty_articles_then_links_to_older_ones() {
    let app = spawn_app().await;
    app.create_channel(
        "notes",
        json!({ "title": "Field notes", "link": "https://notes.example/" }),
    )
    .await;
    app.create_channel("other", json!({})).await;
    app.ingest("notes", &notes(55)).await;

    let (status, headers, html) = page(&app, "/channels/notes").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("default-src 'none'")
    );
    assert_eq!(
        alternates(&html),
        discovery_of(&app, "notes", "Field notes")
    );
    assert!(html.contains("<h1>Field notes</h1>"));
    assert!(html.contains(r#"<a href="https://notes.example/">Visit the website</a>"#));
    assert_eq!(html.matches("<article ").count(), 50);
    let first = html.find(">Note 55</a>").unwrap();
    assert!(first < html.find(">Note 6</a>").unwrap(), "newest first");
    assert!(!html.contains(">Note 5</a>"));
    assert!(html.contains("· Ann Author</p>"), "author");
    assert!(html.contains("<p>Summary of Note 55.</p>"), "summary");

    let older = tags(&html, "a")
        .into_iter()
        .find(|a| a.get("rel").map(String::as_str) == Some("next"))
        .expect("a link to older articles")["href"]
        .clone();
    assert!(older.starts_with("/channels/notes?before="), "{older}");
    let html = ok_page(&app, &older).await;
    assert_eq!(html.matches("<article ").count(), 5);
    assert!(html.contains(">Note 5</a>") && html.contains(">Note 1</a>"));
    assert!(
        !html.contains(">Note 6</a>"),
        "pages never repeat an article"
    );
    assert!(!html.contains("rel=\"next\""), "the last page");
    assert!(html.contains(r#"<a href="/channels/notes">← Newest articles</a>"#));

    let (status, _, html) = page(&app, "/channels/notes?before=yesterday").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("is not a position in this channel"), "{html}");
    let html = ok_page(&app, "/channels/other").await;
    assert!(html.contains("No articles yet."));
}

#[tokio::test]
async fn text_is_escaped_and_content_html_is_not() {
    let app = spawn_app().await;
    let title = r#"<script>alert("x")</script> & Co"#;
    app.create_channel("x", json!({ "title": title, "description": "<i>d</i>" }))
        .await;
    let mut a = item("urn:x:1", "Tom <b>&</b> Jerry", "2025-09-16T18:42:00+02:00");
    // An id may be any URN; a link must be one a reader can follow.
    a["url"] = json!("https://x.example/1");
    a["content_html"] = json!("<p>Hello <em>world</em> &amp; all</p>");
    a["authors"] = json!([{ "name": "O'Hara \"Z\"" }]);
    app.ingest("x", &a).await;

    let escaped_title = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co";
    let href = format!("/channels/x/{}", encode("urn:x:1"));
    for path in ["/", "/channels/x", href.as_str()] {
        let html = ok_page(&app, path).await;
        assert!(!html.contains("<script"), "{path}: {html}");
        assert!(html.contains(escaped_title), "{path}: {html}");
        // The attribute holds the title as text, whatever it contains.
        assert_eq!(alternates(&html)[0].2, format!("{title} (RSS)"), "{path}");
        assert!(
            html.contains("Tom &lt;b&gt;&amp;&lt;/b&gt; Jerry"),
            "{path}: {html}"
        );
    }
    let html = ok_page(&app, "/channels/x").await;
    assert!(html.contains("&lt;i&gt;d&lt;/i&gt;"));
    let html = ok_page(&app, &href).await;
    // Sanitized when it was ingested, the content is the article's own markup.
    assert!(
        html.contains("<p>Hello <em>world</em> &amp; all</p>"),
        "{html}"
    );
    assert!(html.contains("By O&#x27;Hara &quot;Z&quot;</p>"), "{html}");
}

#[tokio::test]
async fn article_page_shows_every_part_of_the_article() {
    let app = spawn_app().await;
    app.create_channel(
        "podcast",
        json!({ "title": "The Syndication Hour", "language": "en" }),
    )
    .await;
    let id = "https://podcast.example/episodes?n=12&lang=en";
    app.ingest(
        "podcast",
        &json!({
            "id": id,
            "url": "https://podcast.example/episodes/12",
            "title": "Episode 12: Twenty-five years of RSS",
            "content_html": "<p>Show notes.</p>",
            "date_published": "2025-09-16T18:42:00+02:00",
            "date_modified": "2025-09-17T08:00:00+02:00",
            "image": "https://podcast.example/art/12.jpg",
            "authors": [{ "name": "Ann Host", "url": "https://podcast.example/ann" }],
            "tags": ["history", "rss"],
            "language": "fr",
            "attachments": [{
                "url": "https://podcast.example/media/12.mp3",
                "mime_type": "audio/mpeg",
                "title": "Episode 12 (MP3)",
                "size_in_bytes": 23_400_000,
                "duration_in_seconds": 3725
            }],
            "_syndic": {
                "image_caption": "The studio, <before> the show.",
                "image_credit": "Photo: Jane Roe",
                "contributors": [{ "name": "Bob Guest" }]
            }
        }),
    )
    .await;
    let html = ok_page(&app, &format!("/channels/podcast/{}", encode(id))).await;
    assert_eq!(
        alternates(&html),
        discovery_of(&app, "podcast", "The Syndication Hour")
    );
    assert!(
        html.contains(r#"<h1 id="title" lang="fr">Episode 12: Twenty-five years of RSS</h1>"#),
        "{html}"
    );
    assert!(html.contains(
        r#"<time datetime="2025-09-16T18:42:00+02:00">2025-09-16 18:42 (UTC+02:00)</time>"#
    ));
    assert!(html.contains(r#"updated <time datetime="2025-09-17T08:00:00+02:00">"#));
    assert!(html.contains(r#"By <a href="https://podcast.example/ann">Ann Host</a></p>"#));
    assert!(html.contains("With Bob Guest</p>"));
    let img = &tags(&html, "img")[0];
    assert_eq!(img["src"], "https://podcast.example/art/12.jpg");
    assert_eq!(img["alt"], "The studio, <before> the show.");
    let figcaption = between(&html, "<figcaption>", "</figcaption>");
    assert!(
        figcaption.contains("The studio, &lt;before&gt; the show."),
        "{figcaption}"
    );
    assert!(
        figcaption.contains(r#"<small class="credit">Credit: Photo: Jane Roe</small>"#),
        "{figcaption}"
    );
    assert!(html.contains("<p>Show notes.</p>"));
    assert!(html.contains("<li>history</li>") && html.contains("<li>rss</li>"));
    assert!(html.contains(
        r#"<a href="https://podcast.example/media/12.mp3" type="audio/mpeg">Episode 12 (MP3)</a> <span class="meta">(audio/mpeg, 23.4 MB, 1:02:05)</span>"#
    ), "{html}");
    assert!(html.contains(
        r#"<a href="https://podcast.example/episodes/12">Read it on the original site</a>"#
    ));
}

/// The seed's content opens with its own figure of the lead image: the page shows it once,
/// with the caption and credit, and the whole content as it was sent.
#[tokio::test]
async fn seed_article_page_shows_its_figure_once() {
    let app = spawn_app().await;
    app.create_channel("monde", json!({ "title": "Le monde", "language": "fr" }))
        .await;
    let item = seed_item();
    app.ingest("monde", &item).await;
    let html = ok_page(&app, &format!("/channels/monde/{}", encode(SEED_URL))).await;
    assert!(html.contains(item["content_html"].as_str().unwrap()));
    // The page's chrome is English; the article says it is French, as its channel is.
    assert!(
        html.contains(r#"<div class="content" lang="fr">"#),
        "{html}"
    );
    let s = seed();
    let escaped = |t: &str| html_escape::encode_quoted_attribute(t).into_owned();
    assert!(html.contains(&escaped(&s.caption)) || html.contains(&s.caption));
    assert!(html.contains(&s.credit));
    let images = tags(&html, "img");
    assert_eq!(images.len(), 1, "the lead image once");
    assert_eq!(images[0]["src"], SEED_IMAGE);
    assert!(html.contains(&escaped(&s.title)) || html.contains(&s.title));
}

fn between<'a>(s: &'a str, from: &str, to: &str) -> &'a str {
    let start = s.find(from).unwrap_or_else(|| panic!("no {from} in {s}")) + from.len();
    &s[start..start + s[start..].find(to).unwrap()]
}

#[tokio::test]
async fn unknown_pages_are_html_404s_and_the_api_keeps_json() {
    let app = spawn_app().await;
    app.create_channel("monde", json!({})).await;
    for path in [
        "/channels/nope",
        "/channels/NOT%20A%20SLUG",
        "/channels/monde/nope",
        "/channels/nope/https%3A%2F%2Fa.example%2F",
    ] {
        let (status, headers, html) = page(&app, path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(html.contains("<h1>Page not found</h1>"), "{path}: {html}");
        assert!(html.contains("<html lang=\"en\">"));
        assert!(headers.contains_key("content-security-policy"));
    }
    let r = app.article("monde", "nope").await;
    assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
    let r = app
        .client
        .get(app.url("/no/such/route"))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn opml_lists_every_published_channel() {
    let app = spawn_app().await;
    app.create_channel(
        "monde",
        json!({ "title": "Le monde", "link": "https://news.example.fr/", "description": "Infos" }),
    )
    .await;
    app.create_channel("notes", json!({ "title": "Notes & <more>" }))
        .await;
    let r = app.client.get(app.url("/opml.xml")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[CONTENT_TYPE], "text/x-opml; charset=utf-8");
    let xml = r.text().await.unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "opml");
    assert_eq!(root.attribute("version"), Some("2.0"));
    let feeds: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("outline") && n.attribute("xmlUrl").is_some())
        .map(|n| {
            (
                n.attribute("title").unwrap().to_owned(),
                n.attribute("xmlUrl").unwrap().to_owned(),
                n.attribute("htmlUrl").unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        feeds,
        [
            (
                "Le monde".to_owned(),
                app.url("/feeds/monde/rss.xml"),
                "https://news.example.fr/".to_owned()
            ),
            (
                "Notes & <more>".to_owned(),
                app.url("/feeds/notes/rss.xml"),
                app.url("/channels/notes")
            ),
        ]
    );
    // What a reader imports from it is what syndic's own OPML reader finds.
    let read = syndic::formats::opml::parse(xml.as_bytes()).unwrap();
    assert_eq!(read.len(), 2);
    // The page a channel without a site stands for is there.
    ok_page(&app, "/channels/notes").await;
}

#[tokio::test]
async fn stylesheet_is_xslt_1_served_as_xsl() {
    assert_eq!(STYLESHEET_PATH, "/feeds/style.xsl");
    let app = spawn_app().await;
    let r = app
        .client
        .get(app.url(STYLESHEET_PATH))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[CONTENT_TYPE], "text/xsl; charset=utf-8");
    let xsl = r.text().await.unwrap();
    let doc = roxmltree::Document::parse(&xsl).unwrap_or_else(|e| panic!("{e}"));
    let root = doc.root_element();
    let xslt = "http://www.w3.org/1999/XSL/Transform";
    assert_eq!(root.tag_name().namespace(), Some(xslt));
    assert_eq!(root.tag_name().name(), "stylesheet");
    assert_eq!(root.attribute("version"), Some("1.0"));
    let matches: Vec<_> = root
        .children()
        .filter(|n| n.has_tag_name((xslt, "template")))
        .filter_map(|n| n.attribute("match"))
        .collect();
    assert_eq!(matches, ["/", "item", "atom:entry"], "RSS and Atom both");
}
