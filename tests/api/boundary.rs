//! The parser boundary end to end: a page on which lol_html 3.0.3 panics (found by fuzzing
//! `discover`) is offered to a real `syndic serve` through the API and the CLI. Both answer a
//! clear error, and the same process goes on serving feeds and polling.

use std::process::Command;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::cli::{BIN, ok, start_serve, stop, syndic};
use crate::helpers::manifest_dir;
use crate::upstream::{rss_feed, spawn_upstream};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_the_html_parser_panics_on_is_refused_and_serve_goes_on() {
    let page = std::fs::read(
        manifest_dir().join("tests/fixtures/fuzz-regressions/discover-lol_html-panic.bin"),
    )
    .unwrap();
    let up = spawn_upstream().await;
    up.set_feed("crash", "text/html; charset=utf-8", page);
    up.set_feed(
        "news",
        "application/rss+xml",
        rss_feed("Upstream News", &[("a", "Alpha", "https://u.example/a")]),
    );
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&syndic(d, &["migrate"]));
    ok(&syndic(
        d,
        &["channel", "add", "planet", "--title", "Planet"],
    ));
    let token = ok(&syndic(d, &["token", "create"])).trim().to_owned();
    let private = ("SYNDIC_ALLOW_PRIVATE_UPSTREAMS", "true");
    let (serving, addr) = start_serve(d, &[private]);
    let api = Api {
        client: reqwest::Client::new(),
        base: format!("http://{addr}"),
        token,
    };

    // The API: a clear error naming what failed, nothing subscribed.
    let crash = json!({ "url": up.url("/f/crash"), "channel": "planet" });
    let (status, body) = api.call(Method::POST, "/subscriptions", Some(crash)).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("the page cannot be read: the HTML parser failed on this input"),
        "{body}"
    );

    // The CLI: the same message and a non-zero exit.
    let crash_url = up.url("/f/crash");
    let out = tokio::task::spawn_blocking({
        let d = d.to_owned();
        move || {
            Command::new(BIN)
                .args(["subscribe", &crash_url, "--channel", "planet"])
                .current_dir(&d)
                .env_remove("DATABASE_URL")
                .env("SYNDIC_ALLOW_PRIVATE_UPSTREAMS", "true")
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the page cannot be read: the HTML parser failed on this input"),
        "{stderr}"
    );
    let (_, subs) = api.call(Method::GET, "/subscriptions", None).await;
    assert_eq!(
        subs["subscriptions"],
        json!([]),
        "nothing subscribed: {subs}"
    );

    // The same process still subscribes, polls and serves.
    let news = json!({ "url": up.url("/f/news"), "channel": "planet" });
    let (status, sub) = api.call(Method::POST, "/subscriptions", Some(news)).await;
    assert_eq!(status, StatusCode::CREATED, "{sub}");
    let id = sub["subscription"]["id"].as_i64().unwrap();
    let poll = format!("/subscriptions/{id}/poll");
    let (_, polled) = api.call(Method::POST, &poll, None).await;
    assert_eq!(polled["poll"]["status"], "imported", "{polled}");
    let rss = api
        .client
        .get(format!("{}/feeds/planet/rss.xml", api.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(rss.contains("<title>Alpha</title>"), "{rss}");
    tokio::task::spawn_blocking(move || stop(serving))
        .await
        .unwrap();
}

/// The API of a `syndic serve` process, with its token.
struct Api {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self
            .client
            .request(method, format!("{}/api/v1{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        (response.status(), response.json().await.unwrap())
    }
}
