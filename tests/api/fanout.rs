//! The hub's fan-out: one change reaches a thousand subscribers, each exactly once and signed
//! with its own secret, and a subscriber that never answers delays none of the others.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::json;

use crate::helpers::spawn_app_tuned;
use crate::websub::{check_signature, eventually, hub_request};

const SUBSCRIBERS: usize = 1000;
/// The subscriber that never answers a delivery.
const HANGS: usize = 0;

#[derive(Default)]
struct Callbacks {
    /// Deliveries per subscriber: (count, every signature valid).
    got: Mutex<HashMap<usize, (usize, bool)>>,
    /// The hanging subscriber's delivery arrived, and (later) its connection was closed.
    hang_started: AtomicBool,
    hang_closed: AtomicBool,
}

/// Sets `hang_closed` when the hub gives up on the hanging delivery (its future is dropped).
struct OnClose(Arc<Callbacks>);

impl Drop for OnClose {
    fn drop(&mut self) {
        self.0.hang_closed.store(true, Ordering::SeqCst);
    }
}

async fn spawn_callbacks() -> (String, Arc<Callbacks>) {
    async fn verify(Query(q): Query<HashMap<String, String>>) -> String {
        q.get("hub.challenge").cloned().unwrap_or_default()
    }
    async fn receive(
        State(s): State<Arc<Callbacks>>,
        Path(n): Path<usize>,
        headers: HeaderMap,
        body: Bytes,
    ) -> StatusCode {
        if n == HANGS {
            s.hang_started.store(true, Ordering::SeqCst);
            let _guard = OnClose(s.clone());
            std::future::pending::<()>().await;
        }
        let sig = headers
            .get("x-hub-signature")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let ok = check_signature(&format!("secret-{n}"), &String::from_utf8_lossy(&body), sig);
        let mut got = s.got.lock().unwrap();
        let e = got.entry(n).or_insert((0, true));
        e.0 += 1;
        e.1 &= ok;
        StatusCode::NO_CONTENT
    }
    let state = Arc::new(Callbacks::default());
    let app = Router::new()
        .route("/cb/{n}", axum::routing::get(verify).post(receive))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/cb"), state)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_subscribers_get_one_signed_delivery_each_and_a_hang_delays_none() {
    let app = spawn_app_tuned(tempfile::tempdir().unwrap(), |c| {
        c.hub_max_per_topic = 2 * SUBSCRIBERS;
        c.hub_max_per_host = 2 * SUBSCRIBERS;
    })
    .await;
    app.create_channel("news", json!({ "title": "News" })).await;
    let (base, callbacks) = spawn_callbacks().await;
    let topic = app.url("/feeds/news/atom.xml");
    for n in 0..SUBSCRIBERS {
        let callback = format!("{base}/{n}");
        let secret = format!("secret-{n}");
        let form = [
            ("hub.mode", "subscribe"),
            ("hub.topic", topic.as_str()),
            ("hub.callback", callback.as_str()),
            ("hub.secret", secret.as_str()),
        ];
        // Verifications in flight are bounded: past the bound the hub answers 503, retry.
        let mut accepted = false;
        for _ in 0..200 {
            let status = hub_request(&app, &form).await.status();
            if status == StatusCode::ACCEPTED {
                accepted = true;
                break;
            }
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "subscriber {n}");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(accepted, "subscriber {n} never accepted");
    }
    app.db_wait(
        "SELECT count(*) FROM websub_subscriptions",
        SUBSCRIBERS as i64,
    )
    .await;

    app.ingest(
        "news",
        &json!({ "id": "https://n.example/1", "url": "https://n.example/1", "title": "One change" }),
    )
    .await;
    let others = SUBSCRIBERS - 1;
    // A delivery per subscriber, each signed with its own secret, while the hanging one is
    // still held open: it delayed nobody.
    for _ in 0..600 {
        if callbacks.got.lock().unwrap().len() == others {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        callbacks.hang_started.load(Ordering::SeqCst),
        "the hanging subscriber was sent the change too"
    );
    assert!(
        !callbacks.hang_closed.load(Ordering::SeqCst),
        "every other subscriber was served while the hanging one was still open"
    );
    assert_eq!(callbacks.got.lock().unwrap().len(), others);
    // Once every outcome is recorded, nothing more is sent: exactly one delivery each.
    app.db_wait(
        "SELECT count(*) FROM websub_subscriptions s JOIN channels c ON c.id = s.channel_id
         WHERE s.delivered_version = c.version",
        others as i64,
    )
    .await;
    {
        let got = callbacks.got.lock().unwrap();
        for n in 1..SUBSCRIBERS {
            assert_eq!(got.get(&n), Some(&(1, true)), "subscriber {n}");
        }
    }
    eventually("the hanging delivery to time out", || {
        callbacks.hang_closed.load(Ordering::SeqCst)
    })
    .await;
}
