//! The W3C Feed Validation Service's own checks (`validate-feed`, in the project notes'
//! `tools/`) on the RSS and Atom feeds the test app serves: the seed article, an article with
//! every field of the model filled, hostile articles (`& < > " ' ]]>` in every field and URL),
//! paged and tag feeds, and a sample of real-world feeds polled from a local upstream and
//! republished. Each must draw no error and no warning. The validator fetches the feeds over
//! HTTP from 127.0.0.1, so its HTTP checks (Content-Type, charset) and the self-link check
//! (`SelfDoesntMatchLocation`, which a file cannot pass) run too.
//!
//! The validator is Python: outside CI these tests skip when it cannot run (no python3 venv
//! module, no PyPI), under CI they fail (helpers' one skip rule).

use std::sync::OnceLock;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, manifest_dir, skip_missing, spawn_app};
use crate::seed::seed_item;
use crate::upstream::spawn_upstream;

#[path = "../support/validator.rs"]
mod tool;

/// Makes the validator's venv once per test binary (two tests making it at once would race),
/// and says whether it can run.
pub(crate) async fn validator_ready() -> bool {
    static READY: OnceLock<Result<(), String>> = OnceLock::new();
    let ready = tokio::task::spawn_blocking(|| {
        READY
            .get_or_init(|| tool::ensure_validator().map_err(|e| e.to_string()))
            .clone()
    })
    .await
    .unwrap();
    match ready {
        Ok(()) => true,
        Err(why) => {
            skip_missing(&format!("validate-feed ({why})"), tool::INSTALL);
            false
        }
    }
}

/// Runs `validate-feed` on `urls` (one Python process) and fails with every message, each
/// shown with the part of the feed it points at.
pub(crate) async fn assert_valid(app: &TestApp, urls: &[String]) {
    let out = tokio::process::Command::new(tool::validate_feed())
        .args(urls)
        .output()
        .await
        .expect("validate-feed runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "validate-feed failed ({}): {stderr}",
        out.status
    );
    if out.status.success() && stdout.trim().is_empty() {
        return;
    }
    let mut report = String::new();
    for line in stdout.lines() {
        report.push_str(line);
        report.push('\n');
        report.push_str(&context(app, line).await);
    }
    panic!(
        "the validator found {} message(s):\n{report}",
        stdout.lines().count()
    );
}

/// The text around the place a message `URL: line L, column C: …` points at.
async fn context(app: &TestApp, message: &str) -> String {
    let Some((url, rest)) = message.split_once(": line ") else {
        return String::new();
    };
    let mut nums = rest
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|n| n.parse::<usize>().unwrap_or(0));
    let (line, column) = (nums.next().unwrap_or(1), nums.next().unwrap_or(0));
    let body = app
        .client
        .get(url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let text: Vec<char> = body
        .lines()
        .nth(line.saturating_sub(1))
        .unwrap_or("")
        .chars()
        .collect();
    let from = column.saturating_sub(200).min(text.len());
    let to = (column + 200).min(text.len());
    format!("    …{}…\n", text[from..to].iter().collect::<String>())
}

/// The text every hostile field carries: what breaks writers, with ordinary words between.
const HOSTILE: &str = "Tom & Jerry < 3 > 2 \"quoted\" 'single' ]]> end";

/// An article with every field of the model filled, the language differing from the
/// channel's so that RSS writes `dc:language`.
fn full_item() -> Value {
    json!({
        "id": "https://news.example.fr/2025/11/20/article-complet",
        "url": "https://news.example.fr/2025/11/20/article-complet",
        "external_url": "https://source.example/original/story",
        "title": "An article with every field filled",
        "summary": "Every field of the article model, so that every element of every format is written.",
        "content_html": "<p>The <a href=\"/dossiers/complet\">full</a> text, with a figure.</p><figure><img src=\"https://news.example.fr/images/full.jpg\" alt=\"A picture\"><figcaption>A picture</figcaption></figure>",
        "content_text": "The full text, with a figure.",
        "image": "https://news.example.fr/images/full.jpg",
        "banner_image": "https://news.example.fr/images/banner.png",
        "date_published": "2025-11-20T08:00:00+01:00",
        "date_modified": "2025-11-21T09:30:00+01:00",
        "authors": [
            { "name": "Jeanne Martin", "url": "https://news.example.fr/auteurs/jeanne-martin", "avatar": "https://news.example.fr/avatars/jeanne.png" },
            { "name": "Paul Durand", "url": "https://news.example.fr/auteurs/paul-durand" }
        ],
        "tags": ["technology", "United Kingdom", "Économie"],
        "language": "en-GB",
        "attachments": [
            { "url": "https://news.example.fr/audio/full.mp3", "mime_type": "audio/mpeg", "title": "Listen to the article", "size_in_bytes": 4_812_345, "duration_in_seconds": 301 },
            { "url": "https://news.example.fr/docs/full.pdf", "mime_type": "application/pdf", "title": "The report", "size_in_bytes": 123_456 }
        ],
        "_syndic": {
            "image_caption": "A caption for the lead image.",
            "image_credit": "Photographer/Agency",
            "contributors": [{ "name": "AFP", "url": "https://www.afp.com/" }],
            "source": { "title": "The source feed", "url": "https://source.example/feed.xml" }
        }
    })
}

/// Hostile articles: every text field and URL full of `& < > " ' ]]>`, and the shapes that
/// need a writer's fallback (no title, no summary, nothing but a title and a link).
fn hostile_items() -> Value {
    let url = |path: &str| format!("https://x.example/{path}?a=1&b=<2>\"3\"'4'&c=]]>");
    json!([
        {
            "id": format!("hostile-1 {HOSTILE}"),
            "url": url("story"),
            "external_url": url("elsewhere"),
            "title": HOSTILE,
            "summary": HOSTILE,
            "content_html": format!("<p>{}</p><p><a href=\"{}\">link</a></p>", html_escape::encode_text(HOSTILE), html_escape::encode_double_quoted_attribute(&url("in-html"))),
            "content_text": HOSTILE,
            "image": "https://x.example/a.jpg?w=1&h=2",
            "banner_image": url("banner.png"),
            "date_published": "2025-11-19T10:00:00Z",
            "date_modified": "2025-11-19T11:00:00-05:00",
            "authors": [{ "name": HOSTILE, "url": url("author") }],
            "tags": [HOSTILE, "]]>", "&"],
            "language": "& < > \" ' ]]>",
            "attachments": [{ "url": url("a.mp3"), "mime_type": "audio/mpeg", "title": HOSTILE, "size_in_bytes": 10 }],
            "_syndic": {
                "image_caption": HOSTILE,
                "image_credit": HOSTILE,
                "contributors": [{ "name": HOSTILE, "url": url("contributor") }],
                "source": { "title": HOSTILE, "url": url("feed.xml") }
            }
        },
        {
            "id": url("untitled"),
            "url": url("untitled"),
            "content_html": format!("<p>No title and no summary: {}</p>", html_escape::encode_text(HOSTILE)),
            "date_published": "2025-11-18T10:00:00Z"
        },
        {
            "id": "hostile-3",
            "url": url("title-only"),
            "title": format!("A title and a link, nothing else: {HOSTILE}"),
            "date_published": "2025-11-17T10:00:00Z",
            "_syndic": { "source": { "url": url("untitled-feed.xml") } }
        }
    ])
}

/// The seed, the full article and the hostile ones, in a French channel and in a channel whose
/// own texts are hostile, served as RSS and Atom, whole, paged and by tag.
#[tokio::test]
async fn seed_full_and_hostile_articles_are_valid_rss_and_atom() {
    if !validator_ready().await {
        return;
    }
    let app = spawn_app().await;
    app.create_channel(
        "monde",
        json!({ "title": "Le monde", "description": "Toute l’actualité", "language": "fr", "link": "https://news.example.fr/" }),
    )
    .await;
    app.create_channel(
        "hostile",
        json!({ "title": HOSTILE, "description": HOSTILE, "link": "https://x.example/?a=1&b=2" }),
    )
    .await;
    for slug in ["monde", "hostile"] {
        app.ingest(slug, &seed_item()).await;
        app.ingest(slug, &full_item()).await;
        app.ingest(slug, &hostile_items()).await;
    }
    let mut urls = Vec::new();
    for slug in ["monde", "hostile"] {
        for file in ["rss.xml", "atom.xml"] {
            urls.push(app.url(&format!("/feeds/{slug}/{file}")));
            urls.push(app.url(&format!("/feeds/{slug}/{file}?tag=technology")));
            // A first page with paging links, and the page its `next` link leads to.
            let first = app.url(&format!("/feeds/{slug}/{file}?limit=2"));
            let body = app
                .client
                .get(&first)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            let next = next_link(&body).expect("a first page of two links to the next");
            assert!(next.contains("before="), "{next}");
            urls.push(first);
            urls.push(next);
        }
    }
    assert_valid(&app, &urls).await;
}

/// The `rel="next"` link of a feed page (Atom `link`, RSS `atom:link`).
fn next_link(xml: &str) -> Option<String> {
    let doc = roxmltree::Document::parse(xml).ok()?;
    doc.descendants()
        .find(|n| n.tag_name().name() == "link" && n.attribute("rel") == Some("next"))
        .and_then(|n| n.attribute("href"))
        .map(str::to_owned)
}

/// Real-world feeds (tests/fixtures/upstream, from feedparser's, feed-rs's and syndic's own
/// fixtures), each polled into a channel of its own from an upstream on 127.0.0.1 and served
/// again: what syndic republishes is valid even where the upstream was not. Left out: the
/// fixtures that name a WebSub hub (the poller would try to reach it), `rss2-dates.xml` (two
/// items at the same instant written in two forms, which the validator rightly flags as
/// duplicate `atom:updated`) and the page that is not a feed.
#[tokio::test]
async fn republished_real_world_feeds_are_valid_rss_and_atom() {
    if !validator_ready().await {
        return;
    }
    let app = spawn_app().await;
    let up = spawn_upstream().await;
    let dir = manifest_dir().join("tests/fixtures/upstream");
    let fixtures = [
        ("atom03.xml", "application/atom+xml"),
        ("cp1252-entities.xml", "application/rss+xml"),
        ("ebcdic-cp500-rss.xml", "application/rss+xml"),
        ("utf32le-bom-atom.xml", "application/atom+xml"),
        ("feedparser-demoronize.xml", "application/rss+xml"),
        ("feedparser-euc-kr.xml", "application/atom+xml"),
        ("feedparser-lang-underscore.xml", "application/atom+xml"),
        ("feedparser-rss090.xml", "application/rdf+xml"),
        ("feedparser-unclosed-root.xml", "application/rss+xml"),
        ("feedparser-untitled-image.xml", "application/rss+xml"),
        (
            "feedparser-untitled-markup-text.xml",
            "application/atom+xml",
        ),
        ("feedrs-atom-content-xml-base.xml", "application/atom+xml"),
        ("feedrs-atom-entry-bad-uuid.xml", "application/atom+xml"),
        ("feedrs-atom-media-group.xml", "application/atom+xml"),
        ("feedrs-jsonfeed-1.0.json", "application/json"),
        ("feedrs-rss1-rdf-debian.xml", "application/rdf+xml"),
        ("feedrs-rss2-dbengines.xml", "application/rss+xml"),
        ("koi8r.xml", "application/rss+xml"),
        (
            "latin1-header-beats-prolog.xml",
            "application/rss+xml; charset=iso-8859-1",
        ),
        ("rss091-netscape.xml", "application/rss+xml"),
        ("rss2-broken-markup.xml", "application/rss+xml"),
        ("utf16be-nobom-rss.xml", "application/rss+xml"),
        ("utf16le-bom-atom.xml", "application/atom+xml"),
    ];
    let mut urls = Vec::new();
    for (i, (file, content_type)) in fixtures.iter().enumerate() {
        let slug = format!("fixture-{i}");
        app.create_channel(&slug, json!({ "title": format!("Republished {file}") }))
            .await;
        let body = std::fs::read(dir.join(file)).unwrap();
        up.set_feed(file, content_type, body);
        let r = app
            .api(Method::POST, "/subscriptions")
            .json(&json!({ "url": up.url(&format!("/f/{file}")), "channel": slug }))
            .send()
            .await
            .unwrap();
        let sub: Value = r.json().await.unwrap();
        let id = sub["subscription"]["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("{file}: {sub}"));
        let polled: Value = app
            .api(Method::POST, &format!("/subscriptions/{id}/poll"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(polled["poll"]["status"], "imported", "{file}: {polled}");
        for feed in ["rss.xml", "atom.xml"] {
            urls.push(app.url(&format!("/feeds/{slug}/{feed}")));
        }
    }
    assert_valid(&app, &urls).await;
}
