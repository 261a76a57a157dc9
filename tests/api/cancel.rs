//! Requests that run out of time or lose their client: the 408 answers the JSON error body,
//! and the work stops instead of running on in the background, writing nothing.

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::cli::{ok, start_serve, syndic};
use crate::helpers::{assert_error, spawn_app_tuned};
use crate::seed::{seed_item, seed_series_item};

/// Another connection holds the write lock (SQLite's database lock; on PostgreSQL the
/// channel's row, which every write to it locks first), so the ingest waits for it (up to the
/// store's 10 s lock timeout) past a request timeout of 1 s: the client gets the 408 as JSON,
/// and the abandoned write never lands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_past_the_timeout_gets_the_json_error_and_writes_nothing() {
    use sqlx::Connection;
    let app = spawn_app_tuned(tempfile::tempdir().unwrap(), |c| {
        c.request_timeout = Duration::from_secs(1);
    })
    .await;
    app.create_channel("news", json!({})).await;
    let timed_out = async {
        let r = app.post_json("news", &seed_item()).await;
        let body = assert_error(r, StatusCode::REQUEST_TIMEOUT, "request_timeout").await;
        let message = body["message"].as_str().unwrap().to_owned();
        assert!(
            message.contains("longer than 1 s") && message.contains("SYNDIC_REQUEST_TIMEOUT"),
            "{body}"
        );
    };
    if app.on_postgres() {
        let mut locker = sqlx::PgConnection::connect(&app.database_url)
            .await
            .unwrap();
        sqlx::query("BEGIN").execute(&mut locker).await.unwrap();
        sqlx::query("SELECT 1 FROM channels WHERE slug = 'news' FOR UPDATE")
            .execute(&mut locker)
            .await
            .unwrap();
        timed_out.await;
        sqlx::query("ROLLBACK").execute(&mut locker).await.unwrap();
    } else {
        let mut locker = sqlx::SqliteConnection::connect(&app.database_url)
            .await
            .unwrap();
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut locker)
            .await
            .unwrap();
        timed_out.await;
        sqlx::query("ROLLBACK").execute(&mut locker).await.unwrap();
    }
    // Writes to one channel take the same lock in turn: once a later ingest is in, the
    // abandoned one is settled.
    let later = seed_series_item(&seed_item(), 1);
    app.ingest("news", &later).await;
    assert_eq!(app.db_count("SELECT count(*) FROM articles").await, 1);
    let first = app
        .article("news", seed_item()["id"].as_str().unwrap())
        .await;
    assert_eq!(first.status(), StatusCode::NOT_FOUND, "the timed-out item");
}

/// One sample of a `syndic serve` process's metrics.
async fn metric(client: &reqwest::Client, addr: &str, name: &str) -> f64 {
    let text = client
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {name} in {text}"))
        .trim()
        .parse()
        .unwrap()
}

/// Polls a metric until it reads `want` (about a minute at most, for a loaded machine).
async fn wait_metric(client: &reqwest::Client, addr: &str, name: &str, want: f64) {
    for _ in 0..3000 {
        if metric(client, addr, name).await == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{name} never read {want}");
}

/// A client sends a batch of nearly 10 MiB and disconnects while the server prepares it: the
/// blocking work sees the request's future dropped, stops (counted in
/// `syndic_ingests_cancelled_total`) and nothing of the batch is written. Its own `syndic serve`
/// process, so that no other test's ingests move the counters.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_disconnects_mid_ingest_stops_the_work_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let (_serving, addr) = start_serve(dir.path(), &[]);
    let token = ok(&syndic(dir.path(), &["token", "create"]))
        .trim()
        .to_owned();
    let client = reqwest::Client::new();
    let r = client
        .post(format!("http://{addr}/api/v1/channels"))
        .bearer_auth(&token)
        .json(&json!({ "slug": "news", "title": "News" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);

    // Seed-sized items, as many as fit under the default 10 MiB body limit: seconds of
    // sanitizing, so the disconnect lands in the middle of it.
    let base = seed_item();
    let one = seed_series_item(&base, 0).to_string().len();
    let items: Vec<Value> = (0..(10 * 1024 * 1024 - 4096) / (one + 64))
        .map(|n| seed_series_item(&base, n))
        .collect();
    let body = serde_json::to_vec(&items).unwrap();
    assert!(body.len() < 10 * 1024 * 1024, "{}", body.len());

    let stream = TcpStream::connect(&addr).unwrap();
    let head = format!(
        "POST /api/v1/channels/news/articles HTTP/1.1\r\nHost: {addr}\r\n\
         Authorization: Bearer {token}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    let writer = {
        let mut stream = stream.try_clone().unwrap();
        std::thread::spawn(move || {
            stream.write_all(head.as_bytes()).unwrap();
            stream.write_all(&body).unwrap();
        })
    };
    // The server read the whole body and is preparing the items.
    wait_metric(&client, &addr, "syndic_ingests_in_progress", 1.0).await;
    writer.join().unwrap();
    stream.shutdown(std::net::Shutdown::Both).unwrap();
    drop(stream);

    wait_metric(&client, &addr, "syndic_ingests_cancelled_total", 1.0).await;
    wait_metric(&client, &addr, "syndic_ingests_in_progress", 0.0).await;
    let page: Value = client
        .get(format!("http://{addr}/api/v1/channels/news/articles"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"], json!([]), "nothing of the batch was written");
}
