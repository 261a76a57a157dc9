//! The channels resource.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::spawn_app;

#[tokio::test]
async fn create_show_patch_list_delete() {
    let app = spawn_app().await;
    let c = app
        .create_channel("monde", json!({ "description": "Actualités", "link": "https://news.example.fr/", "language": "fr" }))
        .await;
    assert_eq!(c["slug"], "monde");
    assert_eq!(c["feeds"]["rss"], app.url("/feeds/monde/rss.xml"));
    let shown: Value = app
        .api(reqwest::Method::GET, "/channels/monde")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown["description"], "Actualités");

    let r = app
        .api(reqwest::Method::PATCH, "/channels/monde")
        .json(&json!({ "link": null, "description": "Nouvelles" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let patched: Value = r.json().await.unwrap();
    assert_eq!(patched["link"], Value::Null, "null clears");
    assert_eq!(patched["language"], "fr", "absent stays");
    assert_eq!(patched["description"], "Nouvelles");
    let patch = |body: Value| {
        app.api(reqwest::Method::PATCH, "/channels/monde")
            .json(&body)
            .send()
    };
    let patched: Value = patch(json!({ "language": "" }))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(patched["language"], Value::Null, "a blank language is none");
    let before = app.feed("monde", "atom.xml").await.headers()["etag"].clone();
    assert_eq!(patch(json!({})).await.unwrap().status(), StatusCode::OK);
    let after = app.feed("monde", "atom.xml").await.headers()["etag"].clone();
    assert_eq!(after, before, "an empty patch changes nothing");

    app.create_channel("autre", json!({})).await;
    let list: Value = app
        .api(reqwest::Method::GET, "/channels")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let slugs: Vec<&str> = list["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["autre", "monde"]);

    app.ingest("monde", &json!({ "id": "x", "title": "x" }))
        .await;
    let r = app
        .api(reqwest::Method::DELETE, "/channels/monde")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.feed("monde", "rss.xml").await.status(),
        StatusCode::NOT_FOUND
    );
    // The slug is free again, and the new channel starts empty: in its feeds too.
    app.create_channel("monde", json!({})).await;
    assert!(app.all_articles("monde").await.is_empty());
    let rss = app.feed_text("monde", "rss.xml").await;
    assert!(rss.contains("<title>Channel monde</title>"), "{rss}");
    assert!(!rss.contains("<item>"));
}

/// Retention: a channel keeps at most N articles (newest first) and/or only recent ones;
/// pruned articles leave tombstones, so a re-import does not bring them back.
#[tokio::test]
async fn retention_prunes_and_pruned_articles_stay_gone() {
    let app = spawn_app().await;
    app.create_channel("news", json!({})).await;
    let items: Vec<Value> = (1..=6)
        .map(|n| json!({ "id": format!("a{n}"), "title": format!("A{n}"), "date_published": format!("2025-01-0{n}T00:00:00Z") }))
        .collect();
    app.ingest("news", &Value::Array(items.clone())).await;
    let patch = |body: Value| {
        app.api(reqwest::Method::PATCH, "/channels/news")
            .json(&body)
            .send()
    };
    let r = patch(json!({ "retain_max_articles": 3 })).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let c: Value = r.json().await.unwrap();
    assert_eq!(c["retain_max_articles"], 3);
    let ids: Vec<String> = app
        .all_articles("news")
        .await
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, ["a6", "a5", "a4"], "the newest three stay");
    let report = app.ingest("news", &Value::Array(items)).await;
    assert_eq!(
        report["skipped_deleted"], 3,
        "pruned articles are not re-imported"
    );
    // By age: everything is older than a day here.
    patch(json!({ "retain_max_articles": null, "retain_days": 1 }))
        .await
        .unwrap();
    assert!(app.all_articles("news").await.is_empty());
    let r = patch(json!({ "retain_days": 0 })).await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let c: Value = patch(json!({ "retain_days": null }))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(c["retain_days"].is_null() && c["retain_max_articles"].is_null());
}
