//! Several `syndic serve` processes on one PostgreSQL database: a write on one reaches the
//! feeds of the others by notification (`LISTEN`/`NOTIFY`), not only by the feed routes'
//! 1-second re-check. Needs `SYNDIC_TEST_DATABASE`; skips without it (fails under CI).

use std::process::Command;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::cli::{BIN, ok, start_serve, stop};
use crate::helpers::{fresh_database_url, skip_missing, test_database};

/// The value of a counter in Prometheus text, 0 when absent.
fn counter(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_article_posted_to_one_instance_is_served_by_another() {
    if test_database().is_none() {
        skip_missing(
            "a PostgreSQL server (SYNDIC_TEST_DATABASE)",
            "set SYNDIC_TEST_DATABASE=postgres://USER@HOST:PORT/postgres, or run .ci/run",
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(dir.path()).await;
    let run = |args: &[&str]| {
        Command::new(BIN)
            .args(args)
            .current_dir(dir.path())
            .env("DATABASE_URL", &url)
            .env("SYNDIC_BASE_URL", "https://feeds.example.org")
            .output()
            .unwrap()
    };
    ok(&run(&["migrate"]));
    ok(&run(&["channel", "add", "world", "--title", "World"]));
    let token = ok(&run(&["token", "create", "--name", "a"]))
        .trim()
        .to_owned();
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("SYNDIC_BASE_URL", "https://feeds.example.org"),
    ];
    let (a, addr_a) = start_serve(dir.path(), &env);
    let (b, addr_b) = start_serve(dir.path(), &env);
    let client = reqwest::Client::new();
    let feed = |addr: &str| {
        let client = client.clone();
        let url = format!("http://{addr}/feeds/world/feed.json");
        async move {
            let r = client.get(url).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            r.text().await.unwrap()
        }
    };
    // B has the channel in memory before the write.
    assert!(!feed(&addr_b).await.contains("posted-to-a"));
    let metrics_b = || {
        let client = client.clone();
        let url = format!("http://{addr_b}/metrics");
        async move { client.get(url).send().await.unwrap().text().await.unwrap() }
    };
    let heard_before = counter(
        &metrics_b().await,
        "syndic_channel_change_notifications_total",
    );
    let r = client
        .post(format!("http://{addr_a}/api/v1/channels/world/articles"))
        .bearer_auth(&token)
        .json(&json!({ "id": "posted-to-a", "title": "Posted to A & <b>" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let mut served = false;
    for _ in 0..100 {
        if feed(&addr_b).await.contains("posted-to-a") {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(served, "B never served the article posted to A");
    // The change arrived by notification (possibly a moment after B re-read by the 1-second
    // floor): wait for the counter, bounded.
    let mut heard = heard_before;
    for _ in 0..100 {
        heard = counter(
            &metrics_b().await,
            "syndic_channel_change_notifications_total",
        );
        if heard > heard_before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        heard > heard_before,
        "B heard no notification ({heard_before} -> {heard})"
    );
    stop(a);
    stop(b);
}
