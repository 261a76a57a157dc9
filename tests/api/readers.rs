//! Real feed readers read what syndic renders. The same five articles (the seed, a podcast
//! episode with tags and two audio attachments, a text-only brief, a title full of `&`, `<`,
//! quotes and an emoji, and a date in a +09:00 zone) are served by a real server and read by:
//!
//! - Python's `feedparser` 6.0.14 (PyPI), through `tests/readers/feedparser_dump.py`: RSS and
//!   Atom, every field compared with what was ingested.
//! - The JSON Feed 1.1 rules, checked by the same script with Python's `json` module:
//!   feedparser does not read JSON Feed at all, so it is not asked to.
//! - `newsboat` (Debian), subscribed non-interactively (`-x reload`) to the RSS and then the
//!   Atom URL, with its SQLite cache read back.
//!
//! A reader that is not installed skips its test with a `SKIPPED:` line on stderr, except
//! under CI (`helpers::in_ci`), where it fails: `.ci/run` installs both.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use chrono::{DateTime, FixedOffset};
use serde_json::{Value, json};
use sqlx::{Connection, Row, SqliteConnection};
use tokio::process::Command;

use crate::helpers::{TestApp, in_ci, manifest_dir, skip_missing, spawn_app};
use crate::seed::seed_item;

const FEEDPARSER: &str = "6.0.14";
const INSTALL_FEEDPARSER: &str = "python3 -m pip install feedparser==6.0.14 (.ci/run does)";
const INSTALL_NEWSBOAT: &str = "apt-get install newsboat (.ci/run does)";
const CHANNEL_TITLE: &str = "Le monde & co <3 « brèves »";
const CHANNEL_LINK: &str = "https://news.example.fr/";
const CHANNEL_LANGUAGE: &str = "fr";
/// How long one reader run may take before the test gives up on it.
const READER_TIMEOUT: Duration = Duration::from_secs(60);

/// The articles every reader gets, as JSON Feed items. Newest first.
fn articles() -> Vec<Value> {
    vec![
        seed_item(),
        json!({
            "id": "https://podcast.example.org/episodes/42",
            "url": "https://podcast.example.org/episodes/42",
            "title": "Episode 42: chips and cables",
            "summary": "Two encodings of one episode.",
            "content_html": "<p>Show notes, with <a href=\"https://podcast.example.org/links\">links</a>.</p>",
            "date_published": "2025-09-15T07:00:00Z",
            "authors": [{ "name": "Alice Dupont" }, { "name": "Bob Martin" }],
            "tags": ["podcast", "audio", "Économie"],
            "language": "en",
            "attachments": [
                {
                    "url": "https://podcast.example.org/media/ep42.mp3",
                    "mime_type": "audio/mpeg",
                    "title": "MP3",
                    "size_in_bytes": 31_457_280,
                    "duration_in_seconds": 1800
                },
                {
                    "url": "https://podcast.example.org/media/ep42.ogg",
                    "mime_type": "audio/ogg",
                    "size_in_bytes": 24_117_248
                }
            ]
        }),
        json!({
            // Not an IRI: Atom publishes it as a urn:uuid.
            "id": "breve-1",
            "url": "https://news.example.fr/breves/1",
            "title": "Brève en texte seul",
            "content_text": "Première ligne.\nDeuxième ligne, avec <pas une balise> & une esperluette.",
            "date_published": "2025-09-14T12:00:00Z",
            "authors": [{ "name": "Agence" }]
        }),
        json!({
            "id": "https://news.example.fr/q-and-a",
            "url": "https://news.example.fr/q-and-a",
            "title": "Q&A: x < y & \"AT&T\" l'été 🎉",
            "content_html": "<p>R&amp;D &lt;3 — “guillemets” 🎉</p>",
            "date_published": "2025-09-13T10:00:00Z",
            "authors": [{ "name": "Zoé « Z » O'Hara" }]
        }),
        json!({
            "id": "https://news.example.fr/tokyo",
            "url": "https://news.example.fr/tokyo",
            "title": "Heure de Tokyo",
            "content_html": "<p>Publié à Tokyo, à 23 h 30.</p>",
            "date_published": "2025-09-12T23:30:00+09:00",
            "authors": [{ "name": "Kenji Sato" }]
        }),
    ]
}

async fn app_with_articles() -> (TestApp, Vec<Value>) {
    let app = spawn_app().await;
    app.create_channel(
        "monde",
        json!({ "title": CHANNEL_TITLE, "language": CHANNEL_LANGUAGE, "link": CHANNEL_LINK }),
    )
    .await;
    let items = articles();
    let report = app.ingest("monde", &Value::Array(items.clone())).await;
    assert_eq!(report["created"], items.len(), "{report}");
    (app, items)
}

/// One article as the readers should show it, taken from the item that was ingested.
struct Want {
    guid: String,
    url: String,
    title: String,
    date: DateTime<FixedOffset>,
    authors: Vec<String>,
    summary: Option<String>,
    html: Option<String>,
    text: Option<String>,
    tags: Vec<String>,
    /// (url, MIME type, size in bytes)
    attachments: Vec<(String, String, u64)>,
    image: Option<String>,
    credit: Option<String>,
    language: String,
}

impl Want {
    fn from(item: &Value) -> Want {
        let s = |k: &str| item[k].as_str().map(str::to_owned);
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .into_iter()
                .flatten()
                .map(|x| x.as_str().unwrap().to_owned())
                .collect()
        };
        Want {
            guid: s("id").unwrap(),
            url: s("url").unwrap(),
            title: s("title").unwrap(),
            date: DateTime::parse_from_rfc3339(&s("date_published").unwrap()).unwrap(),
            authors: item["authors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["name"].as_str().unwrap().to_owned())
                .collect(),
            summary: s("summary"),
            html: s("content_html"),
            text: s("content_text"),
            tags: strings(&item["tags"]),
            attachments: item["attachments"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|a| {
                    (
                        a["url"].as_str().unwrap().to_owned(),
                        a["mime_type"].as_str().unwrap().to_owned(),
                        a["size_in_bytes"].as_u64().unwrap(),
                    )
                })
                .collect(),
            image: s("image"),
            credit: item["_syndic"]["image_credit"].as_str().map(str::to_owned),
            language: s("language").unwrap_or_else(|| CHANNEL_LANGUAGE.to_owned()),
        }
    }

    /// The id the format publishes: RSS keeps the guid, Atom needs an IRI.
    fn id_in(&self, format: Format) -> String {
        match format {
            Format::Rss => self.guid.clone(),
            Format::Atom => syndic::formats::atom::entry_id(&self.guid),
        }
    }

    fn utc(&self) -> String {
        self.date.to_utc().format("%Y-%m-%dT%H:%M:%SZ").to_string()
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Format {
    Rss,
    Atom,
}

impl Format {
    fn file(self) -> &'static str {
        match self {
            Format::Rss => "rss.xml",
            Format::Atom => "atom.xml",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Which readers are installed

/// Runs a command to completion, killing it after [`READER_TIMEOUT`]. Async, so that the
/// server, which runs on this test's runtime, keeps answering the reader.
async fn run(cmd: &mut Command) -> Output {
    cmd.kill_on_drop(true).stdin(std::process::Stdio::null());
    let what = format!("{cmd:?}");
    let child = cmd.output();
    match tokio::time::timeout(READER_TIMEOUT, child).await {
        Ok(out) => out.unwrap_or_else(|e| panic!("{what}: {e}")),
        Err(_) => panic!("{what}: still running after {READER_TIMEOUT:?}"),
    }
}

/// Whether `python3` can `import feedparser`, at the pinned version.
pub(crate) async fn have_feedparser() -> bool {
    let probe = Command::new("python3")
        .args(["-c", "import feedparser; print(feedparser.__version__)"])
        .output()
        .await;
    let version = match probe {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_owned(),
        _ => {
            skip_missing("python3 with feedparser", INSTALL_FEEDPARSER);
            return false;
        }
    };
    if version != FEEDPARSER {
        assert!(
            !in_ci(),
            "feedparser {version} is installed, the tests pin {FEEDPARSER}: {INSTALL_FEEDPARSER}"
        );
        eprintln!("note: feedparser {version}, not the pinned {FEEDPARSER}; testing it anyway");
    }
    true
}

async fn have_python() -> bool {
    let probe = Command::new("python3").arg("--version").output().await;
    let found = probe.is_ok_and(|o| o.status.success());
    if !found {
        skip_missing("python3", "apt-get install python3");
    }
    found
}

async fn have_newsboat() -> bool {
    let probe = Command::new("newsboat").arg("--version").output().await;
    let found = probe.is_ok_and(|o| o.status.success());
    if !found {
        skip_missing("newsboat", INSTALL_NEWSBOAT);
    }
    found
}

// ---------------------------------------------------------------------------------------------
// feedparser

/// `feedparser_dump.py ARGS...`: its JSON output.
pub(crate) async fn dump(args: &[&str]) -> Value {
    let script = manifest_dir().join("tests/readers/feedparser_dump.py");
    let out = run(Command::new("python3").arg(&script).args(args)).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "feedparser_dump.py {args:?}: {stderr}"
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "feedparser_dump.py {args:?} printed no JSON ({e}): {}{stderr}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn str_at<'a>(v: &'a Value, what: &str) -> &'a str {
    v.as_str()
        .unwrap_or_else(|| panic!("{what}: not a string: {v}"))
}

fn decode(html: &str) -> String {
    html_escape::decode_html_entities(html).into_owned()
}

/// HTML as tokens: each tag with its attributes sorted, and the text between tags with its
/// entities decoded, so that two serializations of the same markup compare equal
/// (feedparser's sanitizer sorts attributes and writes `<img ... />`).
fn markup(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = html;
    while !rest.is_empty() {
        let text_end = rest.find('<').unwrap_or(rest.len());
        if text_end > 0 {
            out.push(format!("text {:?}", decode(&rest[..text_end])));
        }
        rest = &rest[text_end..];
        if rest.is_empty() {
            break;
        }
        let tag_end = rest.find('>').expect("unclosed tag") + 1;
        let inner = rest[1..tag_end - 1].trim_end_matches('/').trim();
        rest = &rest[tag_end..];
        let (name, mut attrs) = inner.split_once(char::is_whitespace).unwrap_or((inner, ""));
        let mut pairs = Vec::new();
        loop {
            attrs = attrs.trim_start();
            if attrs.is_empty() {
                break;
            }
            let name_end = attrs.find(['=', ' ']).unwrap_or(attrs.len());
            let key = &attrs[..name_end];
            attrs = &attrs[name_end..];
            let value = if let Some(after) = attrs.strip_prefix('=') {
                let quote = after.chars().next().unwrap();
                let body = &after[1..];
                let close = body.find(quote).expect("unclosed attribute");
                attrs = &body[close + 1..];
                decode(&body[..close])
            } else {
                String::new()
            };
            pairs.push(format!("{key}={value:?}"));
        }
        pairs.sort();
        out.push(format!(
            "<{} {}>",
            name.to_ascii_lowercase(),
            pairs.join(" ")
        ));
    }
    out
}

#[test]
fn markup_ignores_only_serialization() {
    assert_eq!(
        markup(r#"<p class="a" id="b">R&amp;D <img src="x.jpg" alt="&quot;1&quot;"></p>"#),
        markup(r#"<p id="b" class="a">R&#38;D <img alt='"1"' src="x.jpg" /></p>"#),
    );
    assert_ne!(markup("<p>a</p>"), markup("<p>b</p>"));
    assert_ne!(markup("<p>a</p>"), markup("<div>a</div>"));
    assert_ne!(
        markup(r#"<img src="x.jpg">"#),
        markup(r#"<img src="x.jpg" alt="">"#)
    );
    assert_eq!(markup("a &lt;b&gt;"), ["text \"a <b>\""]);
    assert_ne!(markup("a <b>"), markup("a &lt;b&gt;"));
}

/// Checks one feedparser entry against the article that went in.
fn check_entry(format: Format, w: &Want, e: &Value, raw: &Value) {
    let at = format!("{format:?} {}", w.guid);
    let get = |k: &str| str_at(&e[k], &format!("{at}: {k}"));
    assert_eq!(get("id"), w.id_in(format), "{at}: id");
    assert_eq!(get("title"), w.title, "{at}: title");
    assert_eq!(e["title_detail"]["type"], "text/plain", "{at}");
    assert_eq!(get("link"), w.url, "{at}: link");

    // feedparser's *_parsed dates are UTC; the text it keeps has the article's own zone.
    assert_eq!(get("published_parsed"), w.utc(), "{at}: published");
    let published = match format {
        Format::Rss => DateTime::parse_from_rfc2822(get("published")),
        Format::Atom => DateTime::parse_from_rfc3339(get("published")),
    }
    .unwrap();
    assert_eq!(published, w.date, "{at}");
    assert_eq!(
        published.offset(),
        w.date.offset(),
        "{at}: the zone is kept"
    );

    let authors: Vec<&str> = e["authors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| str_at(&a["name"], "author name"))
        .collect();
    assert_eq!(authors, w.authors, "{at}: authors");
    // `author` is one of them (RSS: the last dc:creator; Atom: the last author).
    assert!(w.authors.iter().any(|a| a == get("author")), "{at}: author");

    let tags: Vec<&str> = e["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| str_at(&t["term"], "tag"))
        .collect();
    assert_eq!(tags, w.tags, "{at}: tags");

    // Summary and content.
    if let Some(summary) = &w.summary {
        match format {
            // An RSS description is HTML.
            Format::Rss => assert_eq!(decode(get("summary")), *summary, "{at}: summary"),
            Format::Atom => assert_eq!(get("summary"), summary, "{at}: summary"),
        }
    }
    if let Some(html) = &w.html {
        let content = &e["content"][0];
        assert_eq!(content["type"], "text/html", "{at}: content type");
        // Byte for byte as the feed carried it...
        assert_eq!(raw["content"][0], **html, "{at}: content");
        // ...and, after feedparser's sanitizer, the same markup.
        assert_eq!(
            markup(str_at(&content["value"], "content")),
            markup(html),
            "{at}: sanitized content"
        );
    }
    if let Some(text) = &w.text {
        match format {
            // RSS has no plain-text content: the description carries the text, HTML-escaped.
            Format::Rss => {
                assert!(e.get("content").is_none(), "{at}: {e}");
                assert_eq!(e["summary_detail"]["type"], "text/html", "{at}");
                assert_eq!(decode(get("summary")), *text, "{at}: text as description");
            }
            // Atom text content goes out as escaped HTML (newsboat renders any content as
            // HTML): feedparser reports HTML whose text is the text.
            Format::Atom => {
                assert_eq!(e["content"][0]["type"], "text/html", "{at}");
                let value = str_at(&e["content"][0]["value"], "content");
                assert_eq!(decode(value), *text, "{at}: text content");
            }
        }
    }

    // Enclosures: (href, type, length); an unknown length is absent.
    let enclosures: Vec<(String, String, Option<String>)> = e["enclosures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                str_at(&x["href"], "href").to_owned(),
                str_at(&x["type"], "type").to_owned(),
                x["length"].as_str().map(str::to_owned),
            )
        })
        .collect();
    let attachment =
        |(url, ty, size): &(String, String, u64)| (url.clone(), ty.clone(), Some(size.to_string()));
    let media: Vec<&Value> = e["media_content"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    match format {
        // RSS has one enclosure: the first attachment. Each further one is a media:content.
        Format::Rss => {
            let want: Vec<_> = w.attachments.iter().take(1).map(attachment).collect();
            assert_eq!(enclosures, want, "{at}: enclosures");
            for (url, ty, size) in w.attachments.iter().skip(1) {
                let m = media
                    .iter()
                    .find(|m| m["url"] == **url)
                    .unwrap_or_else(|| panic!("{at}: no media:content for {url}: {e}"));
                assert_eq!(m["type"], **ty, "{at}");
                assert_eq!(m["filesize"], size.to_string(), "{at}");
            }
        }
        // Atom: the lead image, then every attachment.
        Format::Atom => {
            let mut want: Vec<_> = w
                .image
                .iter()
                .map(|i| (i.clone(), "image/jpeg".to_owned(), None))
                .collect();
            want.extend(w.attachments.iter().map(attachment));
            assert_eq!(enclosures, want, "{at}: enclosures");
        }
    }

    // The lead image: a media:content with its credit. feedparser has no field for
    // media:description: it reads it as one more description, which overwrites
    // `summary_detail` (not `summary`) with the caption.
    match &w.image {
        Some(image) => {
            let m = media
                .iter()
                .find(|m| m["url"] == **image)
                .unwrap_or_else(|| panic!("{at}: no media:content for the image: {e}"));
            assert_eq!(m["medium"], "image", "{at}");
            assert_eq!(m["type"], "image/jpeg", "{at}");
            let credit = w.credit.as_deref().unwrap();
            assert_eq!(e["media_credit"][0]["content"], credit, "{at}: credit");
            assert_eq!(e["credit"], credit, "{at}: credit");
            assert!(e.get("media_description").is_none(), "{at}");
        }
        None => assert!(
            media.iter().all(|m| m["medium"] != "image"),
            "{at}: no image: {e}"
        ),
    }

    // Language: RSS says it per item only when it differs from the channel's (dc:language);
    // Atom puts xml:lang on the entry's title, summary and content, or inherits the feed's.
    let language = match format {
        Format::Rss => e["language"].as_str().unwrap_or(CHANNEL_LANGUAGE),
        Format::Atom => {
            if let Some(content) = e["content"].get(0) {
                assert_eq!(content["language"], *w.language, "{at}: content language");
            }
            str_at(&e["title_detail"]["language"], "language")
        }
    };
    assert_eq!(language, w.language, "{at}: language");
}

#[tokio::test]
async fn feedparser_reads_rss_and_atom_as_ingested() {
    if !have_feedparser().await {
        return;
    }
    let (app, items) = app_with_articles().await;
    let wants: Vec<Want> = items.iter().map(Want::from).collect();
    for format in [Format::Rss, Format::Atom] {
        let url = app.url(&format!("/feeds/monde/{}", format.file()));
        let d = dump(&[&url]).await;
        assert_eq!(d["bozo"], false, "{format:?}: {}", d["bozo_exception"]);
        let version = match format {
            Format::Rss => "rss20",
            Format::Atom => "atom10",
        };
        assert_eq!(d["version"], version);
        assert_eq!(d["encoding"], "utf-8");
        let feed = &d["feed"];
        assert_eq!(feed["title"], CHANNEL_TITLE, "{format:?}: feed title");
        assert_eq!(feed["link"], CHANNEL_LINK, "{format:?}: feed link");
        assert_eq!(feed["language"], CHANNEL_LANGUAGE, "{format:?}: language");
        let self_link = feed["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == "self")
            .unwrap_or_else(|| panic!("{format:?}: no self link: {feed}"));
        assert_eq!(self_link["href"], url);

        let entries = d["entries"].as_array().unwrap();
        let ids: Vec<&str> = entries.iter().map(|e| str_at(&e["id"], "id")).collect();
        let want_ids: Vec<String> = wants.iter().map(|w| w.id_in(format)).collect();
        assert_eq!(ids, want_ids, "{format:?}: every article, newest first");
        for (i, (w, e)) in wants.iter().zip(entries).enumerate() {
            check_entry(format, w, e, &d["raw_entries"][i]);
        }
    }
}

/// feedparser does not read JSON Feed (6.0.x knows RSS, RDF, CDF and Atom only), so feed.json
/// is loaded with Python's `json` module, checked against the JSON Feed 1.1 rules a reader
/// relies on (version, title, items[].id, content_html or content_text, dates, attachments),
/// and compared field by field with what was ingested.
#[tokio::test]
async fn json_feed_loads_in_python_and_keeps_the_1_1_rules() {
    if !have_python().await {
        return;
    }
    let (app, items) = app_with_articles().await;
    let url = app.url("/feeds/monde/feed.json");
    let d = dump(&["--jsonfeed", &url]).await;
    assert!(d.get("json_error").is_none(), "{d}");
    assert_eq!(d["errors"], json!([]), "JSON Feed 1.1 rules");
    assert!(
        str_at(&d["content_type"], "content type").starts_with("application/feed+json"),
        "{}",
        d["content_type"]
    );
    let feed = &d["feed"];
    assert_eq!(feed["version"], "https://jsonfeed.org/version/1.1");
    assert_eq!(feed["title"], CHANNEL_TITLE);
    assert_eq!(feed["home_page_url"], CHANNEL_LINK);
    assert_eq!(feed["feed_url"], url);
    assert_eq!(feed["language"], CHANNEL_LANGUAGE);
    let out = feed["items"].as_array().unwrap();
    assert_eq!(out.len(), items.len());
    for (item, got) in items.iter().zip(out) {
        for (k, v) in item.as_object().unwrap() {
            assert_eq!(&got[k], v, "{}: field {k}", item["id"]);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// newsboat

/// One row of newsboat's `rss_item` table.
#[derive(Debug)]
struct NewsboatItem {
    guid: String,
    title: String,
    author: String,
    url: String,
    feedurl: String,
    pub_date: i64,
    content: String,
    enclosure_url: Option<String>,
    enclosure_type: Option<String>,
    unread: i64,
    deleted: i64,
}

/// Subscribes a fresh newsboat to one URL and reloads it once, without its interface. HOME,
/// the XDG folders, the cache, the URL file and the config all live in `dir`, and the
/// environment is cleared (no proxy), so nothing of the developer's is read or touched.
async fn newsboat_reload(dir: &Path, url: &str) -> Output {
    let urls = dir.join("urls");
    let config = dir.join("config");
    std::fs::write(&urls, format!("{url}\n")).unwrap();
    std::fs::write(
        &config,
        "reload-threads 1\ndownload-retries 1\ndownload-timeout 30\nshow-read-feeds yes\n",
    )
    .unwrap();
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".to_owned());
    let out = run(Command::new("newsboat")
        .env_clear()
        .env("PATH", path)
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join("config.d"))
        .env("XDG_DATA_HOME", dir.join("data.d"))
        .env("XDG_CACHE_HOME", dir.join("cache.d"))
        .env("LANG", "C.UTF-8")
        .env("TERM", "dumb")
        .arg("-u")
        .arg(&urls)
        .arg("-c")
        .arg(dir.join("cache.db"))
        .arg("-C")
        .arg(&config)
        .args(["-x", "reload"]))
    .await;
    assert!(
        out.status.success(),
        "newsboat -x reload {url}: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The feed row and the item rows of newsboat's cache.
async fn newsboat_cache(db: &Path) -> (Vec<(String, String, String)>, Vec<NewsboatItem>) {
    let url = format!("sqlite:{}?mode=ro", db.display());
    let mut conn = SqliteConnection::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("newsboat's cache {}: {e}", db.display()));
    let feeds = sqlx::query("SELECT rssurl, url, title FROM rss_feed")
        .fetch_all(&mut conn)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let items = sqlx::query(
        "SELECT guid, title, author, url, feedurl, pubDate, content, enclosure_url, \
         enclosure_type, unread, deleted FROM rss_item ORDER BY pubDate DESC",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap()
    .iter()
    .map(|r| NewsboatItem {
        guid: r.get("guid"),
        title: r.get("title"),
        author: r.get("author"),
        url: r.get("url"),
        feedurl: r.get("feedurl"),
        pub_date: r.get("pubDate"),
        content: r.get("content"),
        enclosure_url: r.get("enclosure_url"),
        enclosure_type: r.get("enclosure_type"),
        unread: r.get("unread"),
        deleted: r.get("deleted"),
    })
    .collect();
    conn.close().await.unwrap();
    (feeds, items)
}

fn check_newsboat_item(format: Format, url: &str, w: &Want, got: &NewsboatItem) {
    let at = format!("newsboat {format:?} {}", w.guid);
    assert_eq!(got.title, w.title, "{at}: title");
    assert_eq!(got.url, w.url, "{at}: link");
    assert_eq!(got.feedurl, url, "{at}");
    assert_eq!(got.pub_date, w.date.timestamp(), "{at}: date");
    assert_eq!((got.unread, got.deleted), (1, 0), "{at}");
    match (format, w.authors.len()) {
        (_, 1) | (Format::Atom, _) => assert_eq!(got.author, w.authors.join(", "), "{at}: author"),
        // newsboat keeps one dc:creator of an RSS item: the last.
        (Format::Rss, _) => assert_eq!(
            Some(&got.author),
            w.authors.last(),
            "{at}: author (the last dc:creator)"
        ),
    }
    let content = match (&w.html, &w.text, format) {
        (Some(html), _, _) => html.clone(),
        (None, Some(text), _) => html_escape::encode_text(text).into_owned(),
        (None, None, _) => unreachable!(),
    };
    assert_eq!(got.content, content, "{at}: content");
    // newsboat keeps one enclosure per item, the last audio or video one it meets: the RSS
    // media:content or the Atom second enclosure link. The lead image is not one.
    let enclosure = (
        got.enclosure_url.as_deref().unwrap_or(""),
        got.enclosure_type.as_deref().unwrap_or(""),
    );
    match w.attachments.last() {
        Some((url, ty, _)) => assert_eq!(enclosure, (url.as_str(), ty.as_str()), "{at}"),
        None => assert_eq!(enclosure, ("", ""), "{at}"),
    }
}

#[tokio::test]
async fn newsboat_subscribes_to_rss_and_atom() {
    if !have_newsboat().await {
        return;
    }
    let (app, items) = app_with_articles().await;
    let wants: Vec<Want> = items.iter().map(Want::from).collect();
    // One newsboat per feed, as a person subscribes to one of them: newsboat's cache keys items
    // by guid across all feeds, so the same article from two feeds is stored once.
    for format in [Format::Rss, Format::Atom] {
        let dir = tempfile::tempdir().unwrap();
        let url = app.url(&format!("/feeds/monde/{}", format.file()));
        newsboat_reload(dir.path(), &url).await;
        let (feeds, got) = newsboat_cache(&dir.path().join("cache.db")).await;
        assert_eq!(
            feeds,
            [(
                url.clone(),
                CHANNEL_LINK.to_owned(),
                CHANNEL_TITLE.to_owned()
            )],
            "newsboat {format:?}: the feed"
        );
        let guids: Vec<&str> = got.iter().map(|i| i.guid.as_str()).collect();
        let want_guids: Vec<String> = wants.iter().map(|w| w.id_in(format)).collect();
        assert_eq!(guids, want_guids, "newsboat {format:?}: every article");
        for (w, item) in wants.iter().zip(&got) {
            check_newsboat_item(format, &url, w, item);
        }
        assert!(
            !dir.path().join(".newsboat/cache.db").exists(),
            "the cache named with -c is used"
        );
    }
}

/// newsboat 2.21 shows every item's content as HTML, and its cache keeps no content type: an
/// Atom `content type="text"` would be shown as if it were HTML, and `<pas une balise> &` in
/// the text-only brief would vanish from the article view. syndic writes text-only content
/// as `type="html"` with the text escaped (RFC 4287 allows both), as RSS carries it in its
/// description: read as HTML, as newsboat reads it, both formats give the text itself.
#[tokio::test]
async fn newsboat_shows_atom_text_content_as_text() {
    if !have_newsboat().await {
        return;
    }
    let (app, items) = app_with_articles().await;
    let brief = Want::from(&items[2]);
    let text = brief.text.as_deref().unwrap();
    for format in [Format::Rss, Format::Atom] {
        let dir = tempfile::tempdir().unwrap();
        let url = app.url(&format!("/feeds/monde/{}", format.file()));
        newsboat_reload(dir.path(), &url).await;
        let (_, got) = newsboat_cache(&dir.path().join("cache.db")).await;
        let item = got
            .iter()
            .find(|i| i.guid == brief.id_in(format))
            .unwrap_or_else(|| panic!("newsboat {format:?}: no {}", brief.guid));
        // Read as HTML, as newsboat reads it, the content is the text and nothing else.
        assert_eq!(
            markup(&item.content),
            [format!("text {text:?}")],
            "newsboat {format:?}: {:?}",
            item.content
        );
    }
}
