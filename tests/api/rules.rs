//! Import rules against real upstreams on 127.0.0.1: drop, keep, tag, rewrite and strip
//! through a poll and through a WebSub push; the preview writes nothing and says what the
//! next poll imports; invalid rule sets are refused with the rule, field and position; a
//! dropped item stays out; reapply; hostile rules and items. On both backends.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Arg, TestApp, assert_error, assert_well_formed, spawn_app};
use crate::upstream::{UpstreamServer, spawn_upstream};

/// The issue's example rule set, verbatim.
const ISSUE_RULES: &str = r#"[
  {"name": "no sponsored posts", "if": {"title": "(?i)sponsored|advert"}, "then": "drop"},
  {"name": "only AI", "if": {"any": "(?i)\\b(AI|machine learning)\\b"}, "then": "keep"},
  {"if": {"author": "^AFP$", "tag": "(?i)sport"}, "then": {"add_tag": "wire-sport"}},
  {"then": {"replace": {"field": "title", "pattern": "^\\[[^]]*\\]\\s*", "with": ""}}},
  {"then": "strip_tracking"}
]"#;

/// One upstream item: guid, title, link, author, category, HTML content.
type Item<'a> = (&'a str, &'a str, &'a str, &'a str, &'a str, &'a str);

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn feed(items: &[Item<'_>]) -> String {
    let mut s = String::from(
        r#"<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Wire</title><link>https://up.example/</link><description>d</description>"#,
    );
    for (i, (guid, title, link, author, tag, html)) in items.iter().enumerate() {
        s.push_str(&format!(
            "<item><guid isPermaLink=\"false\">{}</guid><title>{}</title><link>{}</link><dc:creator>{}</dc:creator><category>{}</category><pubDate>Tue, {:02} Sep 2025 10:00:00 +0000</pubDate><description>{}</description></item>",
            xml_escape(guid),
            xml_escape(title),
            xml_escape(link),
            xml_escape(author),
            xml_escape(tag),
            20 - i,
            xml_escape(html)
        ));
    }
    s.push_str("</channel></rss>");
    s
}

const WIRE: Item<'static> = (
    "w",
    "[Wire] Robots learn to walk",
    "https://up.example/w?utm_source=rss&id=1",
    "AFP",
    "Sport",
    r#"<p>An AI story. <a href="https://ext.example/x?fbclid=Z&amp;k=v">more</a></p>"#,
);
const SPONSORED: Item<'static> = (
    "s",
    "Sponsored: our AI gadget",
    "https://up.example/s",
    "Ads",
    "Shop",
    "<p>Buy AI now.</p>",
);
const GARDEN: Item<'static> = (
    "g",
    "Gardening tips",
    "https://up.example/g",
    "Jane",
    "Home",
    "<p>Plant tomatoes in May.</p>",
);
const ML: Item<'static> = (
    "m",
    "Machine learning on the farm",
    "https://up.example/m",
    "Jane",
    "Tech",
    "<p>Tractors that learn.</p>",
);

async fn setup(items: &[Item<'_>]) -> (TestApp, UpstreamServer, i64) {
    let app = spawn_app().await;
    app.create_channel("planet", json!({})).await;
    let up = spawn_upstream().await;
    up.set_feed("wire", "application/rss+xml", feed(items));
    let r = app
        .api(Method::POST, "/subscriptions")
        .json(&json!({ "url": up.url("/f/wire"), "channel": "planet" }))
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    let id = body["subscription"]["id"].as_i64().unwrap();
    (app, up, id)
}

async fn put_rules(app: &TestApp, path: &str, rules: &str) -> reqwest::Response {
    app.api(Method::PUT, path)
        .header("content-type", "application/json")
        .body(rules.to_owned())
        .send()
        .await
        .unwrap()
}

async fn put_ok(app: &TestApp, path: &str, rules: &str) {
    let r = put_rules(app, path, rules).await;
    let status = r.status();
    let body = r.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn poll(app: &TestApp, id: i64) -> Value {
    app.poll_now(id).await["poll"].clone()
}

async fn post(app: &TestApp, path: &str, body: Option<&str>) -> reqwest::Response {
    let mut req = app.api(Method::POST, path);
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_owned());
    }
    req.send().await.unwrap()
}

fn by_title<'a>(articles: &'a [Value], title: &str) -> Option<&'a Value> {
    articles.iter().find(|a| a["title"] == title)
}

fn titles(articles: &[Value]) -> Vec<String> {
    let mut t: Vec<String> = articles
        .iter()
        .map(|a| a["title"].as_str().unwrap_or("").to_owned())
        .collect();
    t.sort();
    t
}

/// What the issue's rules must have made of the four items.
async fn assert_issue_rules_applied(app: &TestApp) {
    let articles = app.all_articles("planet").await;
    assert_eq!(
        titles(&articles),
        ["Machine learning on the farm", "Robots learn to walk"],
        "sponsored dropped by name, gardening by the keep rule"
    );
    let wire = by_title(&articles, "Robots learn to walk").unwrap();
    assert_eq!(wire["tags"], json!(["Sport", "wire-sport"]), "{wire}");
    assert_eq!(wire["url"], "https://up.example/w?id=1", "{wire}");
    let html = wire["content_html"].as_str().unwrap();
    assert!(
        html.contains("https://ext.example/x?k=v") && !html.contains("fbclid"),
        "{html}"
    );
    let ml = by_title(&articles, "Machine learning on the farm").unwrap();
    assert_eq!(ml["tags"], json!(["Tech"]));
    for file in ["rss.xml", "atom.xml"] {
        let xml = app.feed_text("planet", file).await;
        assert_well_formed(&xml);
        assert!(!xml.contains("Sponsored") && !xml.contains("Gardening"));
        assert!(xml.contains("wire-sport"));
        // Links carry no tracking (an id stored before the rules keeps its text: see reapply).
        assert!(
            !xml.contains("id=1</link>") || xml.contains("<link>https://up.example/w?id=1</link>"),
            "{xml}"
        );
        assert!(!xml.contains("href=\"https://up.example/w?utm"), "{xml}");
        assert!(!xml.contains("fbclid"), "{xml}");
    }
}

#[tokio::test]
async fn drop_keep_tag_rewrite_and_strip_through_a_poll() {
    let (app, _up, id) = setup(&[WIRE, SPONSORED, GARDEN, ML]).await;
    put_ok(&app, &format!("/subscriptions/{id}/rules"), ISSUE_RULES).await;
    let report = poll(&app, id).await;
    assert_eq!(report["status"], "imported", "{report}");
    assert_eq!(report["created"], 2, "{report}");
    assert_eq!(report["rules_dropped"], 2, "{report}");
    assert_eq!(report["rules_changed"], 1, "{report}");
    assert_eq!(report["invalid"], json!([]), "dropped items are no errors");
    assert_eq!(report["error"], Value::Null);
    assert_issue_rules_applied(&app).await;

    // GET gives back the set as stored.
    let got: Value = app
        .api(Method::GET, &format!("/subscriptions/{id}/rules"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got, serde_json::from_str::<Value>(ISSUE_RULES).unwrap());

    // The metrics count per rule: by name, or by index when the rule has none.
    let metrics = app.metrics_text().await;
    for line in [
        r#"rule="no sponsored posts",outcome="dropped""#,
        r#"rule="(no keep rule matched)",outcome="dropped""#,
        r##"rule="#2",outcome="changed""##,
    ] {
        assert!(
            metrics
                .lines()
                .any(|l| l.starts_with("syndic_rule_items_total") && l.contains(line)),
            "{line} in\n{metrics}"
        );
    }
}

#[tokio::test]
async fn the_same_rules_apply_to_a_websub_push() {
    let (app, _up, id) = setup(&[]).await;
    // The subscription and channel rules split the issue's set: the channel's run after.
    let all: Vec<Value> = serde_json::from_str(ISSUE_RULES).unwrap();
    put_ok(
        &app,
        &format!("/subscriptions/{id}/rules"),
        &Value::from(all[..2].to_vec()).to_string(),
    )
    .await;
    put_ok(
        &app,
        "/channels/planet/rules",
        &Value::from(all[2..].to_vec()).to_string(),
    )
    .await;
    app.db_exec_with(
        "UPDATE subscriptions SET websub_secret = 'right', websub_topic = 't' WHERE id = $1",
        vec![Arg::Int(id)],
    )
    .await;
    let body = feed(&[WIRE, SPONSORED, GARDEN, ML]);
    let r = app.push(id, "right", &body).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_issue_rules_applied(&app).await;
    assert_eq!(
        app.db_count("SELECT count(*) FROM dropped_items").await,
        // Sponsored and gardening, each by guid, link and content hash.
        6
    );
}

#[tokio::test]
async fn preview_writes_nothing_and_matches_the_next_poll() {
    let (app, up, id) = setup(&[WIRE, SPONSORED, GARDEN, ML]).await;
    put_ok(&app, &format!("/subscriptions/{id}/rules"), ISSUE_RULES).await;
    let sub_before: Value = app
        .api(Method::GET, &format!("/subscriptions/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let fetches = up.seen("/f/wire").len();

    let r = post(&app, &format!("/subscriptions/{id}/rules/preview"), None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let preview: Value = r.json().await.unwrap();
    assert_eq!(
        (&preview["kept"], &preview["changed"], &preview["dropped"]),
        (&json!(1), &json!(1), &json!(2)),
        "{preview}"
    );
    let items = preview["items"].as_array().unwrap();
    let item = |guid_title: &str| {
        items
            .iter()
            .find(|i| i["title"] == guid_title)
            .unwrap_or_else(|| panic!("{guid_title} in {preview}"))
            .clone()
    };
    let sponsored = item("Sponsored: our AI gadget");
    assert_eq!(sponsored["outcome"], "dropped");
    assert_eq!(
        sponsored["rule"],
        json!({"scope": "subscription", "index": 0, "name": "no sponsored posts"})
    );
    let garden = item("Gardening tips");
    assert_eq!(garden["rule"]["index"], Value::Null, "no keep rule matched");
    let wire = item("[Wire] Robots learn to walk");
    assert_eq!(wire["outcome"], "changed");
    let actions: Vec<&str> = wire["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["add_tag", "replace", "strip_tracking"], "{wire}");
    assert_eq!(item("Machine learning on the farm")["outcome"], "kept");

    // It fetched, unconditionally, and wrote nothing.
    let seen = up.seen("/f/wire");
    assert_eq!(seen.len(), fetches + 1);
    assert!(seen.last().unwrap().if_none_match.is_none());
    assert_eq!(app.db_count("SELECT count(*) FROM articles").await, 0);
    assert_eq!(app.db_count("SELECT count(*) FROM dropped_items").await, 0);
    assert_eq!(
        app.db_count("SELECT count(*) FROM subscription_items")
            .await,
        0
    );
    let sub_after: Value = app
        .api(Method::GET, &format!("/subscriptions/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sub_before, sub_after, "no validators, no schedule change");

    // A rule set in the body is previewed instead, and not stored.
    let r = post(
        &app,
        &format!("/subscriptions/{id}/rules/preview"),
        Some(r#"[{"if":{"title":"Garden"},"then":"drop"}]"#),
    )
    .await;
    let other: Value = r.json().await.unwrap();
    assert_eq!(
        (&other["kept"], &other["dropped"]),
        (&json!(3), &json!(1)),
        "{other}"
    );
    let stored: Value = app
        .api(Method::GET, &format!("/subscriptions/{id}/rules"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stored.as_array().unwrap().len(), 5);

    // The next poll imports what the preview said, as it said.
    poll(&app, id).await;
    let articles = app.all_articles("planet").await;
    let mut imported: Vec<&str> = articles.iter().map(|a| a["id"].as_str().unwrap()).collect();
    imported.sort();
    let mut previewed: Vec<&str> = items
        .iter()
        .filter(|i| i["outcome"] != "dropped")
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    previewed.sort();
    assert_eq!(imported, previewed);
    let changes = wire["changes"].as_array().unwrap();
    let title_change = changes.iter().find(|c| c["field"] == "title").unwrap();
    assert_eq!(title_change["detail"], "now \"Robots learn to walk\"");

    // Dropped items are now remembered: a preview of the same rules says so.
    let again: Value = post(&app, &format!("/subscriptions/{id}/rules/preview"), None)
        .await
        .json()
        .await
        .unwrap();
    let remembered: Vec<&Value> = again["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["remembered"] == true)
        .collect();
    assert_eq!(remembered.len(), 2, "{again}");
}

#[tokio::test]
async fn invalid_rule_sets_get_422_naming_rule_field_and_position() {
    let (app, _up, id) = setup(&[WIRE]).await;
    let sub_path = format!("/subscriptions/{id}/rules");
    put_ok(&app, &sub_path, r#"[{"then":"strip_tracking"}]"#).await;
    let bad = r#"[{"then":"keep"},{"name":"broken","if":{"title":"ab[c"},"then":"drop"}]"#;
    for path in [sub_path.as_str(), "/channels/planet/rules"] {
        let body = assert_error(
            put_rules(&app, path, bad).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_rules",
        )
        .await;
        assert_eq!(
            body["rule"],
            json!({"index": 1, "name": "broken"}),
            "{body}"
        );
        assert_eq!(body["field"], "if.title");
        assert_eq!(body["position"], 2);
        let message = body["message"].as_str().unwrap();
        assert!(
            message.starts_with("rule 1 (\"broken\"): if.title: invalid regex at position 2"),
            "{message}"
        );
    }
    // The preview refuses it the same way.
    let r = post(
        &app,
        &format!("/subscriptions/{id}/rules/preview"),
        Some(bad),
    )
    .await;
    assert_error(r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_rules").await;
    // Nothing was stored: the previous set stands.
    let stored: Value = app
        .api(Method::GET, &sub_path)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stored, json!([{"then": "strip_tracking"}]));
    let channel: Value = app
        .api(Method::GET, "/channels/planet/rules")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(channel, json!([]));

    // Other shapes, each named.
    for (rules, field) in [
        (r#"{"then":"drop"}"#, ""),
        (r#"[{"then":"vanish"}]"#, "then"),
        (r#"[{"if":{"colour":"red"},"then":"drop"}]"#, "if.colour"),
        (
            r#"[{"then":{"replace":{"field":"title","pattern":"(\\w{100}){100}"}}}]"#,
            "then.replace.pattern",
        ),
        ("not json", ""),
    ] {
        let body = assert_error(
            put_rules(&app, &sub_path, rules).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_rules",
        )
        .await;
        assert_eq!(body["field"], field, "{rules}: {body}");
    }
    let r = put_rules(&app, "/subscriptions/999999/rules", "[]").await;
    assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
    let r = put_rules(&app, "/channels/nope/rules", "[]").await;
    assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
    // Rules are behind the token like the rest of the API.
    let r = app
        .client
        .get(app.url(&format!("/api/v1{sub_path}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_dropped_item_stays_out_until_the_rules_change() {
    let (app, up, id) = setup(&[SPONSORED, ML]).await;
    let sub_path = format!("/subscriptions/{id}/rules");
    let rules = r#"[{"name":"no sponsored posts","if":{"title":"(?i)sponsored"},"then":"drop"}]"#;
    put_ok(&app, &sub_path, rules).await;
    let report = poll(&app, id).await;
    assert_eq!(
        (report["created"].clone(), report["rules_dropped"].clone()),
        (json!(1), json!(1))
    );

    // The upstream edits the dropped item so that it no longer matches: still out.
    let edited = (
        "s",
        "Our AI gadget",
        SPONSORED.2,
        SPONSORED.3,
        SPONSORED.4,
        "<p>Now cheaper.</p>",
    );
    up.set_feed("wire", "application/rss+xml", feed(&[edited, ML]));
    let report = poll(&app, id).await;
    assert_eq!(report["status"], "imported", "{report}");
    assert_eq!(report["created"], 0, "{report}");
    assert_eq!(report["rules_dropped"], 1, "{report}");
    assert_eq!(report["error_count"], Value::Null);
    assert_eq!(
        titles(&app.all_articles("planet").await),
        ["Machine learning on the farm"]
    );
    let sub: Value = app
        .api(Method::GET, &format!("/subscriptions/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sub["error_count"], 0, "a dropped item is no error: {sub}");

    // Other rules look at it again, on the next poll, though the feed did not change.
    put_ok(
        &app,
        &sub_path,
        r#"[{"if":{"title":"(?i)casino"},"then":"drop"}]"#,
    )
    .await;
    let report = poll(&app, id).await;
    assert_eq!(report["status"], "imported", "{report}");
    assert_eq!(report["created"], 1, "{report}");
    assert_eq!(
        titles(&app.all_articles("planet").await),
        ["Machine learning on the farm", "Our AI gadget"]
    );
}

#[tokio::test]
async fn reapply_runs_the_rules_on_stored_articles() {
    let (app, _up, id) = setup(&[WIRE, SPONSORED, GARDEN, ML]).await;
    let report = poll(&app, id).await;
    assert_eq!(report["created"], 4, "no rules yet: {report}");
    put_ok(&app, &format!("/subscriptions/{id}/rules"), ISSUE_RULES).await;
    assert_eq!(
        app.all_articles("planet").await.len(),
        4,
        "new rules apply to what is imported after"
    );
    let r = post(&app, &format!("/subscriptions/{id}/rules/reapply"), None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let done: Value = r.json().await.unwrap();
    assert_eq!(
        (
            &done["examined"],
            &done["kept"],
            &done["changed"],
            &done["dropped"]
        ),
        (&json!(4), &json!(1), &json!(1), &json!(2)),
        "{done}"
    );
    assert_issue_rules_applied(&app).await;
    // The next poll brings back neither the dropped items nor the old versions.
    let report = poll(&app, id).await;
    assert_eq!(report["created"], 0, "{report}");
    assert_eq!(report["updated"], 0, "{report}");
    assert_issue_rules_applied(&app).await;
    // Reapplying again changes nothing.
    let again: Value = post(&app, &format!("/subscriptions/{id}/rules/reapply"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            &again["examined"],
            &again["kept"],
            &again["changed"],
            &again["dropped"]
        ),
        (&json!(2), &json!(2), &json!(0), &json!(0)),
        "{again}"
    );
}

#[tokio::test]
async fn hostile_rules_and_items_stay_text_and_feeds_stay_valid() {
    let hostile = "& < > \" ' ]]> \u{7}";
    let title = format!("Sponsored {hostile}");
    let nasty: Item<'_> = (
        "h",
        &title,
        "https://up.example/h?utm_source=%3Cx%3E&a=%22",
        "<script>",
        "]]>",
        r#"<p onclick="x()">AI &amp; <b>&lt;tag&gt;</b> ]]&gt; <script>alert(1)</script><a href="javascript:alert(1)?utm_source=1">j</a></p>"#,
    );
    let (app, _up, id) = setup(&[nasty, ML]).await;
    let rules = json!([
        {"name": "a \"quoted\" \\ name ]]> <b>", "if": {"title": "^Sponsored "}, "then": {"replace": {"field": "title", "pattern": "^Sponsored ", "with": "<i>&amp;</i> $$ "}}},
        {"if": {"content": "AI & <tag>"}, "then": {"add_tag": "x ]]> & \" <"}},
        {"then": {"set_author": "O'Brien & <Co>"}},
        {"then": {"replace": {"field": "content", "pattern": "AI", "with": "<script>alert(2)</script>"}}},
        {"then": "strip_tracking"}
    ]);
    put_ok(
        &app,
        &format!("/subscriptions/{id}/rules"),
        &rules.to_string(),
    )
    .await;
    let report = poll(&app, id).await;
    assert_eq!(report["created"], 2, "{report}");
    let articles = app.all_articles("planet").await;
    let h = articles
        .iter()
        .find(|a| a["id"] == "https://up.example/h?a=%22")
        .unwrap_or_else(|| panic!("{articles:?}"));
    assert!(
        h["title"]
            .as_str()
            .unwrap()
            .starts_with("<i>&amp;</i> $ & < > \" ' ]]>"),
        "the title is text: {h}"
    );
    assert_eq!(h["authors"], json!([{"name": "O'Brien & <Co>"}]));
    assert!(
        h["tags"]
            .as_array()
            .unwrap()
            .contains(&json!("x ]]> & \" <"))
    );
    let html = h["content_html"].as_str().unwrap();
    assert!(
        !html.contains("<script") && !html.contains("onclick") && !html.contains("javascript:"),
        "sanitized after the rules: {html}"
    );
    assert!(
        html.contains("&lt;script&gt;alert(2)"),
        "a replacement is text: {html}"
    );
    for file in ["rss.xml", "atom.xml"] {
        assert_well_formed(&app.feed_text("planet", file).await);
    }
    let json: Value = app.feed("planet", "feed.json").await.json().await.unwrap();
    assert_eq!(json["items"].as_array().unwrap().len(), 2);

    // Values no feed can carry, and sets too big to run, are refused.
    let path = format!("/subscriptions/{id}/rules");
    for (rules, field) in [
        (json!([{"then": {"add_tag": "bell \u{7}"}}]), "then.add_tag"),
        (json!([{"name": "x".repeat(201), "then": "keep"}]), "name"),
        (
            json!([{"then": {"replace": {"field": "content", "pattern": "a", "with": "b".repeat(1001)}}}]),
            "then.replace.with",
        ),
        (
            json!([{"if": {"title": "a".repeat(1001)}, "then": "drop"}]),
            "if.title",
        ),
        (Value::from(vec![json!({"then": "keep"}); 65]), ""),
    ] {
        let body = assert_error(
            put_rules(&app, &path, &rules.to_string()).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_rules",
        )
        .await;
        assert_eq!(body["field"], field, "{body}");
    }
    // Huge and empty bodies.
    let r = put_rules(&app, &path, "").await;
    assert_error(r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_rules").await;
    let r = put_rules(&app, &path, "null").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap(), json!([]));
}

/// `syndic rules` on the same database as the server: set from stdin, show, preview and
/// reapply, with the CLI's exit codes. Multi-threaded: the upstream answers the preview's
/// fetch while the test waits for the process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_shows_sets_previews_and_reapplies() {
    let (app, _up, id) = setup(&[WIRE, SPONSORED, GARDEN, ML]).await;
    let db = app.database_url.clone();
    let cli = |args: &[&str], stdin: Option<&str>| {
        use std::io::Write;
        let mut child = std::process::Command::new(crate::cli::BIN)
            .args(args)
            .env("DATABASE_URL", &db)
            .env("SYNDIC_ALLOW_PRIVATE_UPSTREAMS", "true")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
        drop(input);
        child.wait_with_output().unwrap()
    };
    let sid = id.to_string();
    let out = cli(
        &["rules", "set", "--subscription", &sid, "-"],
        Some(ISSUE_RULES),
    );
    assert!(out.status.success(), "{out:?}");
    let out = cli(&["rules", "show", "--subscription", &sid], None);
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.starts_with("#  NAME"), "{table}");
    assert!(table.contains("no sponsored posts"), "{table}");
    let out = cli(&["rules", "show", "--subscription", &sid, "--json"], None);
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown, serde_json::from_str::<Value>(ISSUE_RULES).unwrap());
    // The API sees what the CLI stored.
    let api: Value = app
        .api(Method::GET, &format!("/subscriptions/{id}/rules"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(api, shown);

    let out = cli(&["rules", "preview", "--subscription", &sid], None);
    assert!(out.status.success(), "{out:?}");
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.starts_with("OUTCOME"), "{table}");
    assert!(
        table.contains("dropped") && table.contains("subscription rule 0 \"no sponsored posts\""),
        "{table}"
    );
    assert_eq!(app.db_count("SELECT count(*) FROM articles").await, 0);

    // Invalid: refused, named, nothing stored.
    let out = cli(
        &["rules", "set", "--channel", "planet", "-"],
        Some(r#"[{"if":{"title":"(x"},"then":"drop"}]"#),
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("rule 0: if.title: invalid regex at position 0"),
        "{err}"
    );
    let out = cli(&["rules", "show", "--channel", "planet", "--json"], None);
    assert_eq!(
        serde_json::from_slice::<Value>(&out.stdout).unwrap(),
        json!([])
    );
    // Unknown subscription: 3; both owners at once: a usage error, 2.
    let out = cli(&["rules", "show", "--subscription", "999999"], None);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let out = cli(
        &[
            "rules",
            "show",
            "--subscription",
            &sid,
            "--channel",
            "planet",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");

    // Reapply after a poll without rules.
    let out = cli(&["rules", "set", "--subscription", &sid, "-"], Some("[]"));
    assert!(out.status.success(), "{out:?}");
    assert_eq!(poll(&app, id).await["created"], 4);
    let out = cli(
        &["rules", "set", "--subscription", &sid, "-"],
        Some(ISSUE_RULES),
    );
    assert!(out.status.success(), "{out:?}");
    let out = cli(
        &["rules", "reapply", "--subscription", &sid, "--json"],
        None,
    );
    assert!(out.status.success(), "{out:?}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["dropped"], 2, "{report}");
    assert_issue_rules_applied(&app).await;

    // The poll line says what the rules did.
    let out = cli(&["poll", "--subscription", &sid], None);
    let line = String::from_utf8(out.stdout).unwrap();
    assert!(line.contains(", rules dropped 2, rules changed "), "{line}");
}
