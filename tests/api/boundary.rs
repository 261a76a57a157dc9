//! The parser boundary end to end: a page on which lol_html 3.0.3 panics (found by fuzzing
//! `discover`) is offered to a real `syndic serve` through the API and the CLI. Both answer a
//! clear error, and the same process goes on serving feeds and polling.

use std::process::Command;

use reqwest::StatusCode;
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
    let client = reqwest::Client::new();
    let api = |path: &str| format!("http://{addr}/api/v1{path}");

    // The API: a clear error naming what failed, nothing subscribed.
    let r = client
        .post(api("/subscriptions"))
        .bearer_auth(&token)
        .json(&json!({ "url": up.url("/f/crash"), "channel": "planet" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    let body: Value = r.json().await.unwrap();
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
    let subs: Value = client
        .get(api("/subscriptions"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        subs["subscriptions"],
        json!([]),
        "nothing subscribed: {subs}"
    );

    // The same process still subscribes, polls and serves.
    let r = client
        .post(api("/subscriptions"))
        .bearer_auth(&token)
        .json(&json!({ "url": up.url("/f/news"), "channel": "planet" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r.json::<Value>().await.unwrap()["subscription"]["id"]
        .as_i64()
        .unwrap();
    let polled: Value = client
        .post(api(&format!("/subscriptions/{id}/poll")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(polled["poll"]["status"], "imported", "{polled}");
    let rss = client
        .get(format!("http://{addr}/feeds/planet/rss.xml"))
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
