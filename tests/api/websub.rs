//! syndic as a WebSub hub for its own feeds, against a real subscriber on loopback that
//! answers the challenge and checks every delivery's signature itself.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, assert_error, hub_signature, spawn_app};

/// One delivery as the subscriber got it: body, signature header, Link header.
type Delivery = (String, Option<String>, Option<String>);

#[derive(Default)]
pub(crate) struct Subscriber {
    /// What verification GETs asked: (mode, topic, lease).
    pub(crate) verified: Mutex<Vec<(String, String, Option<String>)>>,
    /// Deliveries: (body, signature header, link header).
    pub(crate) received: Mutex<Vec<Delivery>>,
    /// When set, the callback answers deliveries with this status.
    answer: Mutex<Option<StatusCode>>,
}

pub(crate) struct Callback {
    pub(crate) url: String,
    pub(crate) state: Arc<Subscriber>,
}

pub(crate) async fn spawn_subscriber() -> Callback {
    async fn verify(
        State(s): State<Arc<Subscriber>>,
        Query(q): Query<std::collections::HashMap<String, String>>,
    ) -> (StatusCode, String) {
        s.verified.lock().unwrap().push((
            q.get("hub.mode").cloned().unwrap_or_default(),
            q.get("hub.topic").cloned().unwrap_or_default(),
            q.get("hub.lease_seconds").cloned(),
        ));
        let challenge = q.get("hub.challenge").cloned().unwrap_or_default();
        // A callback URL with `refuse` in its query echoes a wrong challenge.
        if q.contains_key("refuse") {
            return (StatusCode::OK, "not the challenge".into());
        }
        (StatusCode::OK, challenge)
    }
    async fn receive(
        State(s): State<Arc<Subscriber>>,
        headers: HeaderMap,
        body: Bytes,
    ) -> StatusCode {
        let h = |n: &str| {
            headers
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        s.received.lock().unwrap().push((
            String::from_utf8_lossy(&body).into_owned(),
            h("x-hub-signature"),
            h("link"),
        ));
        s.answer.lock().unwrap().unwrap_or(StatusCode::NO_CONTENT)
    }
    let state = Arc::new(Subscriber::default());
    let app = Router::new()
        .route("/cb", axum::routing::get(verify).post(receive))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Callback {
        url: format!("http://{addr}/cb"),
        state,
    }
}

pub(crate) async fn hub_request(app: &TestApp, form: &[(&str, &str)]) -> reqwest::Response {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    app.client
        .post(app.url("/websub"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
}

/// Waits (bounded) until `f` holds.
pub(crate) async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..200 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

pub(crate) fn check_signature(secret: &str, body: &str, header: &str) -> bool {
    header == hub_signature(secret, body)
}

#[tokio::test]
async fn feeds_advertise_the_hub() {
    let app = spawn_app().await;
    app.create_channel("news", json!({})).await;
    let r = app.feed("news", "atom.xml").await;
    let link = r.headers()["link"].to_str().unwrap().to_owned();
    assert_eq!(
        link,
        format!(
            "<{}>; rel=\"hub\", <{}>; rel=\"self\"",
            app.url("/websub"),
            app.url("/feeds/news/atom.xml")
        )
    );
    let atom = r.text().await.unwrap();
    assert!(
        atom.contains(&format!(
            "<link href=\"{}\" rel=\"hub\"/>",
            app.url("/websub")
        )),
        "{atom}"
    );
    let rss = app.feed_text("news", "rss.xml").await;
    assert!(
        rss.contains(&format!(
            "<atom:link href=\"{}\" rel=\"hub\"/>",
            app.url("/websub")
        )),
        "{rss}"
    );
    let json: serde_json::Value = app.feed("news", "feed.json").await.json().await.unwrap();
    assert_eq!(
        json["hubs"][0],
        json!({ "type": "WebSub", "url": app.url("/websub") })
    );
}

#[tokio::test]
async fn subscribe_verify_deliver_signed_then_unsubscribe() {
    let app = spawn_app().await;
    app.create_channel("news", json!({})).await;
    let cb = spawn_subscriber().await;
    let topic = app.url("/feeds/news/atom.xml");
    let r = hub_request(
        &app,
        &[
            ("hub.mode", "subscribe"),
            ("hub.topic", &topic),
            ("hub.callback", &cb.url),
            ("hub.secret", "s3cret"),
            ("hub.lease_seconds", "7200"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    eventually("the subscription to be stored", || {
        !cb.state.verified.lock().unwrap().is_empty()
    })
    .await;
    let (mode, got_topic, lease) = cb.state.verified.lock().unwrap()[0].clone();
    assert_eq!(
        (mode.as_str(), got_topic.as_str(), lease.as_deref()),
        ("subscribe", topic.as_str(), Some("7200"))
    );
    // The subscription exists once verified; nothing is delivered before a change.
    app.db_wait("SELECT count(*) FROM websub_subscriptions", 1)
        .await;
    assert_eq!(
        app.db_count("SELECT count(*) FROM websub_subscriptions")
            .await,
        1
    );
    // The delivery worker has had its chance: a change to another channel reached that
    // channel's subscriber, in a round that found nothing due for this one.
    app.create_channel("other", json!({})).await;
    let other = spawn_subscriber().await;
    let r = hub_request(
        &app,
        &[
            ("hub.mode", "subscribe"),
            ("hub.topic", &app.url("/feeds/other/atom.xml")),
            ("hub.callback", &other.url),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    app.db_wait("SELECT count(*) FROM websub_subscriptions", 2)
        .await;
    // /metrics counts subscriptions per topic (channel and format).
    let metrics = app.metrics_text().await;
    for channel in ["news", "other"] {
        let series = format!(
            "syndic_websub_hub_subscriptions{{channel=\"{channel}\",format=\"atom.xml\"}} 1\n"
        );
        assert!(metrics.contains(&series), "{series} in {metrics}");
    }
    app.ingest("other", &json!({ "id": "o1", "title": "Elsewhere" }))
        .await;
    eventually("the other channel's delivery", || {
        !other.state.received.lock().unwrap().is_empty()
    })
    .await;
    assert!(cb.state.received.lock().unwrap().is_empty());

    app.ingest(
        "news",
        &json!({ "id": "w1", "title": "Pushed at once", "content_html": "<p>x</p>" }),
    )
    .await;
    eventually("a delivery", || {
        !cb.state.received.lock().unwrap().is_empty()
    })
    .await;
    let (body, sig, link) = cb.state.received.lock().unwrap()[0].clone();
    assert!(body.contains("Pushed at once"), "{body}");
    assert!(
        check_signature("s3cret", &body, sig.as_deref().unwrap()),
        "signature checks out"
    );
    assert!(!check_signature("other", &body, sig.as_deref().unwrap()));
    assert!(link.unwrap().contains("rel=\"hub\""));
    atom_syndication::Feed::read_from(body.as_bytes()).expect("the delivery is the Atom feed");

    // Unsubscribing is verified too, and stops deliveries.
    let r = hub_request(
        &app,
        &[
            ("hub.mode", "unsubscribe"),
            ("hub.topic", &topic),
            ("hub.callback", &cb.url),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    const NEWS: &str =
        "SELECT count(*) FROM websub_subscriptions WHERE topic LIKE '%/feeds/news/%'";
    app.db_wait(NEWS, 0).await;
    assert_eq!(app.db_count(NEWS).await, 0);
    assert_eq!(
        app.db_count("SELECT count(*) FROM websub_subscriptions")
            .await,
        1,
        "the other channel's subscriber stays"
    );
}

#[tokio::test]
async fn failed_deliveries_retry_and_410_drops_the_subscriber() {
    let app = spawn_app().await;
    app.create_channel("news", json!({})).await;
    let cb = spawn_subscriber().await;
    *cb.state.answer.lock().unwrap() = Some(StatusCode::INTERNAL_SERVER_ERROR);
    let topic = app.url("/feeds/news/rss.xml");
    hub_request(
        &app,
        &[
            ("hub.mode", "subscribe"),
            ("hub.topic", &topic),
            ("hub.callback", &cb.url),
        ],
    )
    .await;
    app.db_wait("SELECT count(*) FROM websub_subscriptions", 1)
        .await;
    app.ingest("news", &json!({ "id": "a", "title": "A" }))
        .await;
    eventually("a first attempt", || {
        !cb.state.received.lock().unwrap().is_empty()
    })
    .await;
    app.db_wait("SELECT attempts FROM websub_subscriptions", 1)
        .await;
    assert_eq!(
        app.db_count("SELECT attempts FROM websub_subscriptions")
            .await,
        1,
        "the failure is recorded for a retry"
    );
    let retry_at = app
        .db_count("SELECT next_attempt_at FROM websub_subscriptions")
        .await;
    assert!(
        retry_at > chrono::Utc::now().timestamp_micros() + 5_000_000,
        "the retry backs off"
    );
    // Make it due now; the subscriber now says it is gone.
    *cb.state.answer.lock().unwrap() = Some(StatusCode::GONE);
    app.db_exec("UPDATE websub_subscriptions SET next_attempt_at = 0")
        .await;
    app.db_wait("SELECT count(*) FROM websub_subscriptions", 0)
        .await;
    assert_eq!(
        app.db_count("SELECT count(*) FROM websub_subscriptions")
            .await,
        0,
        "410 drops it"
    );
}

#[tokio::test]
async fn bad_requests_and_unverified_intents_store_nothing() {
    let app = spawn_app().await;
    app.create_channel("news", json!({})).await;
    let cb = spawn_subscriber().await;
    let topic = app.url("/feeds/news/atom.xml");
    for form in [
        vec![
            ("hub.topic", topic.as_str()),
            ("hub.callback", cb.url.as_str()),
        ],
        vec![("hub.mode", "subscribe"), ("hub.callback", cb.url.as_str())],
        vec![("hub.mode", "subscribe"), ("hub.topic", topic.as_str())],
        vec![
            ("hub.mode", "watch"),
            ("hub.topic", topic.as_str()),
            ("hub.callback", cb.url.as_str()),
        ],
        vec![
            ("hub.mode", "subscribe"),
            ("hub.topic", topic.as_str()),
            ("hub.callback", "not a url"),
        ],
        vec![
            ("hub.mode", "subscribe"),
            ("hub.topic", topic.as_str()),
            ("hub.callback", "ftp://x/"),
        ],
    ] {
        assert_error(
            hub_request(&app, &form).await,
            StatusCode::BAD_REQUEST,
            "bad_request",
        )
        .await;
    }
    let r = hub_request(
        &app,
        &[
            ("hub.mode", "subscribe"),
            ("hub.topic", "https://elsewhere.example/feed"),
            ("hub.callback", &cb.url),
        ],
    )
    .await;
    assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
    let r = app
        .client
        .post(app.url("/websub"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_error(
        r,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    // A callback that does not echo the challenge is not subscribed. Once its verification
    // GET was answered, a callback that does echo subscribes, and is stored: a store the
    // refused one would have had time for too.
    let refused = format!("{}?refuse=1", cb.url);
    let r = hub_request(
        &app,
        &[
            ("hub.mode", "subscribe"),
            ("hub.topic", &topic),
            ("hub.callback", &refused),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    eventually("the verification GET", || {
        !cb.state.verified.lock().unwrap().is_empty()
    })
    .await;
    let r = hub_request(
        &app,
        &[
            ("hub.mode", "subscribe"),
            ("hub.topic", &topic),
            ("hub.callback", &cb.url),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    app.db_wait("SELECT count(*) FROM websub_subscriptions", 1)
        .await;
    assert_eq!(
        app.db_count("SELECT count(*) FROM websub_subscriptions WHERE callback LIKE '%refuse%'")
            .await,
        0,
        "the callback that did not echo the challenge is not subscribed"
    );
    assert_eq!(
        app.db_count("SELECT count(*) FROM websub_subscriptions")
            .await,
        1
    );
}

#[tokio::test]
async fn private_callbacks_are_refused_without_the_setting() {
    let app = crate::helpers::spawn_app_with(false).await;
    app.create_channel("news", json!({})).await;
    let topic = app.url("/feeds/news/atom.xml");
    let r = hub_request(
        &app,
        &[
            ("hub.mode", "subscribe"),
            ("hub.topic", &topic),
            ("hub.callback", "http://127.0.0.1:9/cb"),
        ],
    )
    .await;
    let body = assert_error(r, StatusCode::BAD_REQUEST, "bad_request").await;
    assert!(
        body["message"].as_str().unwrap().contains("private"),
        "{body}"
    );
}

/// Two syndic instances: B subscribes to a channel of A. A advertises itself as hub, B
/// subscribes through it on its first poll, A verifies B, and an article ingested into A
/// reaches B's channel by a signed push, without B polling again.
#[tokio::test]
async fn two_instances_round_trip_through_the_hub() {
    let a = spawn_app().await;
    let b = spawn_app().await;
    a.create_channel("source", json!({ "title": "Source" }))
        .await;
    a.ingest(
        "source",
        &json!({ "id": "https://a.example/1", "url": "https://a.example/1", "title": "Before" }),
    )
    .await;
    b.create_channel("mirror", json!({})).await;
    let r = b
        .api(reqwest::Method::POST, "/subscriptions")
        .json(&json!({ "url": a.url("/feeds/source/atom.xml"), "channel": "mirror" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r.json::<serde_json::Value>().await.unwrap()["subscription"]["id"]
        .as_i64()
        .unwrap();
    let first = b
        .api(reqwest::Method::POST, &format!("/subscriptions/{id}/poll"))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    // A verifies B's intent; B records the lease.
    b.db_wait(
        "SELECT count(*) FROM subscriptions WHERE websub_expires_at IS NOT NULL",
        1,
    )
    .await;
    assert_eq!(
        b.db_count("SELECT count(*) FROM subscriptions WHERE websub_expires_at IS NOT NULL")
            .await,
        1,
        "B holds a lease from A"
    );
    // A stores B's subscription once B has answered the challenge, so after B's lease.
    a.db_wait("SELECT count(*) FROM websub_subscriptions", 1)
        .await;
    assert_eq!(
        a.db_count("SELECT count(*) FROM websub_subscriptions")
            .await,
        1,
        "A knows B"
    );
    let sub: serde_json::Value = b
        .api(reqwest::Method::GET, &format!("/subscriptions/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sub["websub_hub"], a.url("/websub"));
    let polls_before = b.db_count("SELECT last_fetch_at FROM subscriptions").await;

    a.ingest("source", &json!({ "id": "https://a.example/2", "url": "https://a.example/2", "title": "Pushed to B" })).await;
    let mut found = false;
    for _ in 0..200 {
        if b.feed_text("mirror", "rss.xml")
            .await
            .contains("Pushed to B")
        {
            found = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(found, "the article reached B by push");
    assert_eq!(
        b.db_count("SELECT last_fetch_at FROM subscriptions").await,
        polls_before,
        "B did not poll"
    );
    assert_eq!(b.db_count("SELECT count(*) FROM articles").await, 2);
    // With a lease running, the next polls are only a safety net: far apart.
    let again: serde_json::Value = b
        .api(reqwest::Method::POST, &format!("/subscriptions/{id}/poll"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let next_poll = b.db_count("SELECT next_fetch_at FROM subscriptions").await;
    let three_hours = chrono::Utc::now().timestamp_micros() + 3 * 3600 * 1_000_000;
    // 30 minutes × 8 (±5%), instead of 30 minutes.
    assert!(
        next_poll > three_hours,
        "polling stretched while pushed: {again}"
    );
}

/// A push with a wrong signature is acknowledged and ignored; one for a subscription that
/// no longer exists gets 410.
#[tokio::test]
async fn pushes_must_be_signed_with_our_secret() {
    let b = spawn_app().await;
    b.create_channel("mirror", json!({})).await;
    let up = crate::upstream::spawn_upstream().await;
    up.set_feed(
        "news",
        "application/rss+xml",
        crate::upstream::rss_feed("N", &[("a", "A", "https://u.example/a")]),
    );
    let r = b
        .api(reqwest::Method::POST, "/subscriptions")
        .json(&json!({ "url": up.url("/f/news"), "channel": "mirror" }))
        .send()
        .await
        .unwrap();
    let id = r.json::<serde_json::Value>().await.unwrap()["subscription"]["id"]
        .as_i64()
        .unwrap();
    b.db_exec_with(
        "UPDATE subscriptions SET websub_secret = 'right', websub_topic = 't' WHERE id = $1",
        vec![crate::helpers::Arg::Int(id)],
    )
    .await;
    let feed = crate::upstream::rss_feed("N", &[("evil", "Forged", "https://u.example/evil")]);
    let push = |sig: String, path: String| {
        let client = b.client.clone();
        let body = feed.clone();
        async move {
            client
                .post(path)
                .header("content-type", "application/rss+xml")
                .header("x-hub-signature", sig)
                .body(body)
                .send()
                .await
                .unwrap()
        }
    };
    let url = b.url(&format!("/websub/callback/{id}"));
    let r = push(hub_signature("wrong", &feed), url.clone()).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(
        b.db_count("SELECT count(*) FROM articles").await,
        0,
        "ignored"
    );
    let r = push(hub_signature("right", &feed), url.clone()).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(
        b.db_count("SELECT count(*) FROM articles").await,
        1,
        "imported"
    );
    let r = push(hub_signature("right", &feed), b.url("/websub/callback/999")).await;
    assert_eq!(r.status(), StatusCode::GONE);
    // Verification: nothing is confirmed on a callback URL without its token (see
    // security.rs for the pending request that is), and syndic does not let anyone
    // unsubscribe it from what it still wants.
    let q = |mode: &str, topic: &str| {
        format!("{url}?hub.mode={mode}&hub.topic={topic}&hub.challenge=xyz&hub.lease_seconds=60")
    };
    let r = b.client.get(q("subscribe", "t")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = b.client.get(q("subscribe", "other")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = b
        .client
        .get(q("unsubscribe", "other"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "a topic syndic does not want");
}

/// The operator sees the hub's subscribers (never their secrets) and removes one, through the
/// API and through the CLI on the same database.
#[tokio::test]
async fn the_operator_lists_and_removes_hub_subscriptions() {
    let app = spawn_app().await;
    app.create_channel("news", json!({})).await;
    let sub = spawn_subscriber().await;
    let topic = app.url("/feeds/news/atom.xml");
    let r = hub_request(
        &app,
        &[
            ("hub.mode", "subscribe"),
            ("hub.topic", &topic),
            ("hub.callback", &sub.url),
            ("hub.secret", "not-to-be-shown"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    app.db_wait("SELECT count(*) FROM websub_subscriptions", 1)
        .await;
    let listed: serde_json::Value = app
        .api(reqwest::Method::GET, "/hub/subscriptions")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let subs = listed["hub_subscriptions"].as_array().unwrap();
    assert_eq!(subs.len(), 1, "{listed}");
    assert_eq!(subs[0]["callback"], sub.url.as_str());
    assert_eq!(subs[0]["topic"], topic.as_str());
    assert!(!listed.to_string().contains("not-to-be-shown"), "{listed}");
    let id = subs[0]["id"].as_i64().unwrap();

    // The CLI sees the same subscriber and removes it.
    let db = app.database_url.clone();
    let cli = |args: &[&str]| {
        std::process::Command::new(crate::cli::BIN)
            .args(args)
            .env("DATABASE_URL", &db)
            .output()
            .unwrap()
    };
    let out = cli(&["hub", "list", "--json"]);
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["hub_subscriptions"][0]["id"], id);
    let out = cli(&["hub", "remove", &id.to_string()]);
    assert!(out.status.success(), "{out:?}");
    let out = cli(&["hub", "remove", &id.to_string()]);
    assert_eq!(out.status.code(), Some(3), "not found: {out:?}");
    let r = app
        .api(reqwest::Method::DELETE, &format!("/hub/subscriptions/{id}"))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(
        app.db_count("SELECT count(*) FROM websub_subscriptions")
            .await,
        0
    );
}
