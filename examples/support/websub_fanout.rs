//! The WebSub fan-out workload of the benchmark suite: a callback server on 127.0.0.1 that
//! answers verifications and counts deliveries, N subscriptions made through a running
//! syndic's hub, one article ingested, and the time until every subscriber has it. Beside it,
//! the same callback server fed by a plain client at the same concurrency: what the callback
//! side alone can take on this machine, the ceiling syndic is measured against.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde_json::json;

#[derive(Default)]
struct Seen {
    verified: Mutex<usize>,
    /// When each delivery arrived.
    delivered: Mutex<Vec<Instant>>,
}

async fn callback_server() -> anyhow::Result<(String, Arc<Seen>)> {
    async fn verify(
        State(s): State<Arc<Seen>>,
        Query(q): Query<std::collections::HashMap<String, String>>,
    ) -> String {
        *s.verified.lock().unwrap() += 1;
        q.get("hub.challenge").cloned().unwrap_or_default()
    }
    async fn receive(State(s): State<Arc<Seen>>) -> StatusCode {
        s.delivered.lock().unwrap().push(Instant::now());
        StatusCode::NO_CONTENT
    }
    let seen = Arc::new(Seen::default());
    let app = Router::new()
        .route("/cb/{n}", axum::routing::get(verify).post(receive))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((format!("http://{addr}/cb"), seen))
}

/// Waits (bounded) until `f` holds.
async fn until(what: &str, limit: Duration, f: impl Fn() -> bool) -> anyhow::Result<()> {
    let end = Instant::now() + limit;
    while !f() {
        anyhow::ensure!(Instant::now() < end, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Subscribes `n` callbacks to `channel` of the syndic at `base`, ingests one article, and
/// prints JSON: seconds until the last delivery, deliveries per second, p50 and p99 delay.
pub async fn fanout(base: &str, token: &str, channel: &str, n: usize) -> anyhow::Result<()> {
    let (cb, seen) = callback_server().await?;
    let client = reqwest::Client::new();
    let topic = format!("{base}/feeds/{channel}/atom.xml");
    for i in 0..n {
        let form = [
            ("hub.mode", "subscribe".to_owned()),
            ("hub.topic", topic.clone()),
            ("hub.callback", format!("{cb}/{i}")),
            ("hub.secret", format!("secret-{i}")),
        ];
        // Verifications in flight are bounded: 503 past the bound, so retry.
        for attempt in 0.. {
            let body = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&form)
                .finish();
            let r = client
                .post(format!("{base}/websub"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await?;
            if r.status() == StatusCode::ACCEPTED {
                break;
            }
            anyhow::ensure!(attempt < 500, "subscription {i}: {}", r.status());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    until("verifications", Duration::from_secs(120), || {
        *seen.verified.lock().unwrap() >= n
    })
    .await?;
    // The hub stores a subscription right after its verification answers.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let item = json!({ "id": "urn:bench:fanout", "title": "One change", "content_text": "x" });
    let start = Instant::now();
    let r = client
        .post(format!("{base}/api/v1/channels/{channel}/articles"))
        .bearer_auth(token)
        .json(&item)
        .send()
        .await?;
    anyhow::ensure!(r.status().is_success(), "ingest: {}", r.status());
    until("deliveries", Duration::from_secs(300), || {
        seen.delivered.lock().unwrap().len() >= n
    })
    .await?;
    let mut delays: Vec<f64> = seen
        .delivered
        .lock()
        .unwrap()
        .iter()
        .map(|t| t.duration_since(start).as_secs_f64())
        .collect();
    delays.sort_by(f64::total_cmp);
    let last = *delays.last().unwrap_or(&0.0);
    println!(
        "{}",
        json!({
            "subscribers": n,
            "seconds": last,
            "deliveries_per_s": n as f64 / last.max(1e-9),
            "p50_s": percentile(&delays, 0.5),
            "p99_s": percentile(&delays, 0.99),
        })
    );
    Ok(())
}

/// The callback server alone: `n` POSTs of a feed-sized body from one client, `parallel` at a
/// time; prints JSON with deliveries per second.
pub async fn callback_limit(n: usize, parallel: usize, body_bytes: usize) -> anyhow::Result<()> {
    let (cb, seen) = callback_server().await?;
    let client = reqwest::Client::new();
    let body = bytes::Bytes::from(vec![b'x'; body_bytes]);
    let permits = Arc::new(tokio::sync::Semaphore::new(parallel));
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let permit = permits.clone().acquire_owned().await?;
        let (client, url, body) = (client.clone(), format!("{cb}/{i}"), body.clone());
        tasks.spawn(async move {
            let _permit = permit;
            client.post(url).body(body).send().await.map(|_| ())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    let seconds = start.elapsed().as_secs_f64();
    anyhow::ensure!(seen.delivered.lock().unwrap().len() == n, "lost POSTs");
    println!(
        "{}",
        json!({ "posts": n, "seconds": seconds, "deliveries_per_s": n as f64 / seconds })
    );
    Ok(())
}
