//! The pages and styled feeds as a browser shows them: headless Chromium renders the index,
//! an article, and syndic's own RSS and Atom URLs (which carry the `<?xml-stylesheet?>`
//! instruction and answer a browser's Accept with `application/xml`, so that it runs the
//! stylesheet), and the tests read the resulting DOM. Screenshots go to `artifacts/`
//! (git-ignored).

use serde_json::{Value, json};

use super::chromium::Chromium;
use super::item;
use crate::helpers::{TestApp, encode, manifest_dir, spawn_app};
use crate::seed::{SEED_URL, seed, seed_item};

/// A summary with the characters HTML escapes.
const ETAGS_SUMMARY: &str = "Validators & 304s: a reader that sends If-None-Match <i>and</i> \"If-Modified-Since\" pays for one indexed read.";

/// Three channels as a real instance would have them: the seed article, an engineering
/// blog, a podcast.
async fn realistic(app: &TestApp) {
    app.create_channel(
        "monde",
        json!({
            "title": "Le monde",
            "description": "L’actualité internationale, chaque jour.",
            "link": "https://news.example.fr/",
            "language": "fr",
        }),
    )
    .await;
    app.ingest("monde", &seed_item()).await;
    app.create_channel(
        "notes",
        json!({
            "title": "Field notes",
            "description": "Engineering notes from the team that runs the feeds.",
            "language": "en",
        }),
    )
    .await;
    let notes = [
        (
            "keyset",
            "Keyset pagination, explained",
            "2025-09-15T10:00:00Z",
        ),
        (
            "guids",
            "Why every feed needs a stable guid",
            "2025-09-10T10:00:00Z",
        ),
        (
            "etags",
            "Serving feeds with ETags and 304s",
            "2025-09-02T10:00:00Z",
        ),
    ];
    let mut notes: Vec<Value> = notes
        .iter()
        .map(|(id, title, date)| item(&format!("https://notes.example/{id}"), title, date))
        .collect();
    notes[2]["summary"] = json!(ETAGS_SUMMARY);
    app.ingest("notes", &Value::Array(notes)).await;
    app.create_channel(
        "podcast",
        json!({
            "title": "The Syndication Hour",
            "description": "A weekly conversation about the open web.",
            "language": "en",
        }),
    )
    .await;
    let episodes: Vec<Value> = [
        (
            12,
            "Episode 12: Twenty-five years of RSS",
            "2025-09-14T07:00:00Z",
        ),
        (
            11,
            "Episode 11: Feeds in the fediverse",
            "2025-09-07T07:00:00Z",
        ),
    ]
    .iter()
    .map(|(n, title, date)| {
        let mut e = item(
            &format!("https://podcast.example/episodes/{n}"),
            title,
            date,
        );
        e["attachments"] = json!([{
            "url": format!("https://podcast.example/media/{n}.mp3"),
            "mime_type": "audio/mpeg",
            "size_in_bytes": 48_000_000,
            "duration_in_seconds": 3300
        }]);
        e
    })
    .collect();
    app.ingest("podcast", &Value::Array(episodes)).await;
}

/// The pages and a feed opened in the browser, as Chromium renders them. Screenshots go to `artifacts/`;
/// with `SYNDIC_UPDATE_DOCS` set, the index's also replaces `docs/index.png`.
#[tokio::test]
async fn chromium_renders_the_pages_and_the_styled_feeds() {
    let Some(browser) = Chromium::find() else {
        return;
    };
    let artifacts = manifest_dir().join("artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let app = spawn_app().await;
    realistic(&app).await;
    let s = seed();

    let dom = browser.dump_dom(&app.url("/")).await;
    for text in [
        "Le monde",
        s.title.as_str(),
        "Field notes",
        "Keyset pagination, explained",
        "The Syndication Hour",
        "Episode 12: Twenty-five years of RSS",
    ] {
        assert!(dom.contains(text), "the index shows {text:?}:\n{dom}");
    }
    let index_png = artifacts.join("index.png");
    browser
        .screenshot(&app.url("/"), &index_png, (1280, 900))
        .await;
    browser
        .screenshot(
            &app.url("/"),
            &artifacts.join("index-phone.png"),
            (390, 844),
        )
        .await;
    if std::env::var_os("SYNDIC_UPDATE_DOCS").is_some() {
        std::fs::copy(&index_png, manifest_dir().join("docs/index.png")).unwrap();
    }

    let article = app.url(&format!("/channels/monde/{}", encode(SEED_URL)));
    let dom = browser.dump_dom(&article).await;
    assert!(dom.contains(&s.caption) && dom.contains(&s.credit), "{dom}");
    assert!(dom.contains(&s.lead), "{dom}");
    browser
        .screenshot(&article, &artifacts.join("article.png"), (1280, 900))
        .await;

    for (file, format) in [("rss.xml", "RSS"), ("atom.xml", "Atom")] {
        let url = app.url(&format!("/feeds/monde/{file}"));
        let dom = browser.dump_dom(&url).await;
        // A browser asks for HTML: the feed's page, not the XML (browsers are removing XSLT).
        assert!(
            dom.contains("This is a web feed"),
            "{file}: not the feed's page:\n{dom}"
        );
        assert!(dom.contains(&format!("({format})")), "{file}:\n{dom}");
        assert!(dom.contains("To subscribe"), "{file}:\n{dom}");
        assert!(
            dom.contains(&app.url(&format!("/feeds/monde/{file}"))),
            "the address to copy:\n{dom}"
        );
        assert!(dom.contains("Le monde"), "{file}:\n{dom}");
        assert!(
            dom.contains(&format!("<a href=\"{SEED_URL}\">{}</a>", s.title)),
            "{file}:\n{dom}"
        );
        browser
            .screenshot(
                &url,
                &artifacts.join(format!("feed-{}.png", &file[..file.len() - 4])),
                (1280, 900),
            )
            .await;
    }
    // An RSS description is HTML: the page shows its text, entities decoded.
    let dom = browser.dump_dom(&app.url("/feeds/notes/rss.xml")).await;
    assert!(dom.contains("This is a web feed"), "{dom}");
    assert!(dom.contains(ETAGS_SUMMARY), "{dom}");
}
