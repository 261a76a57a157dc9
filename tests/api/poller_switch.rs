//! `SYNDIC_POLLER=off`: `serve` only serves (front-only replicas); subscriptions are polled
//! when asked, never in the background. A value other than on/off is refused.

use std::process::Command;

use reqwest::StatusCode;
use serde_json::Value;

use crate::cli::{BIN, ok, start_serve, stop};
use crate::upstream::{rss_feed, spawn_upstream};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_poller_off_serve_polls_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("syndic.db").display());
    let run = |args: &[&str], envs: &[(&str, &str)]| {
        let mut c = Command::new(BIN);
        c.args(args)
            .current_dir(dir.path())
            .env_remove("SYNDIC_BASE_URL")
            .env("DATABASE_URL", &url)
            .env("SYNDIC_ALLOW_PRIVATE_UPSTREAMS", "true");
        for (k, v) in envs {
            c.env(k, v);
        }
        c.output().unwrap()
    };
    let bad = run(&["serve"], &[("SYNDIC_POLLER", "sometimes")]);
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("SYNDIC_POLLER") && err.contains("on or off"),
        "{err}"
    );

    ok(&run(&["migrate"], &[]));
    ok(&run(
        &["channel", "add", "planet", "--title", "Planet"],
        &[],
    ));
    let token = ok(&run(&["token", "create", "--name", "t"], &[]))
        .trim()
        .to_owned();
    let up = spawn_upstream().await;
    up.set_feed(
        "news",
        "application/rss+xml",
        rss_feed("News", &[("n-1", "First", "https://upstream.example/1")]),
    );
    // A subscription due now, before serve starts: a background poller's first round, at
    // start, would fetch it.
    let out = ok(&run(
        &[
            "--json",
            "subscribe",
            &up.url("/f/news"),
            "--channel",
            "planet",
        ],
        &[],
    ));
    let id = serde_json::from_str::<Value>(&out).unwrap()["subscription"]["id"]
        .as_i64()
        .unwrap();
    {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query("UPDATE subscriptions SET next_fetch_at = 0")
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let before = up.seen("/f/news").len();
    let (serving, addr) = start_serve(
        dir.path(),
        &[
            ("DATABASE_URL", &url),
            ("SYNDIC_POLLER", "off"),
            ("SYNDIC_ALLOW_PRIVATE_UPSTREAMS", "true"),
        ],
    );
    let client = reqwest::Client::new();
    let api = |path: &str| format!("http://{addr}/api/v1{path}");
    let r = client
        .post(api(&format!("/subscriptions/{id}/poll")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        up.seen("/f/news").len(),
        before + 1,
        "the poll asked for, and no background one"
    );
    stop(serving);
}
