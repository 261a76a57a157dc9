//! Issue 19 (everything but the sanitizer): what an anonymous client can make syndic do is
//! bounded. The hub's verification reads a capped answer, runs a bounded number at once and
//! refuses subscriptions past its limits; failed authentications cannot lock out a valid
//! token; the subscriber confirms only its own pending requests; invented methods do not grow
//! the metrics; private callbacks need their own setting; idle and surplus connections are
//! closed; files are private; every response says nosniff; feeds carry a CSP and the feed
//! stylesheet links only http(s) URLs. Every server is real, on 127.0.0.1.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::helpers::{TestApp, assert_error, spawn_app, spawn_app_tuned};
use crate::websub::{eventually, hub_request, spawn_subscriber};

fn tuned(tune: impl FnOnce(&mut syndic::config::Config)) -> impl Future<Output = TestApp> {
    spawn_app_tuned(tempfile::tempdir().unwrap(), tune)
}

fn nets(s: &str) -> Vec<ipnet::IpNet> {
    syndic::config::parse_nets(s).unwrap()
}

async fn subscribe_to(app: &TestApp, topic: &str, callback: &str) -> reqwest::Response {
    hub_request(
        app,
        &[
            ("hub.mode", "subscribe"),
            ("hub.topic", topic),
            ("hub.callback", callback),
        ],
    )
    .await
}

/// Reads a request head from `stream` (bounded), discarding it.
async fn read_head(stream: &mut TcpStream) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
        let n = stream.read(&mut buf).await.unwrap();
        if n == 0 {
            return;
        }
        head.extend_from_slice(&buf[..n]);
    }
}

// ---------------------------------------------------------------------------------------
// High: the hub's verification

/// A callback that answers 1 GiB: syndic drops the connection after a few KiB. The server
/// counts what it managed to write before its writes failed (the kernel's socket buffers
/// take a few MiB at most); reading it all would let every write succeed.
#[tokio::test]
async fn hub_verification_reads_a_bounded_answer() {
    let app = spawn_app().await;
    app.create_channel("c", json!({})).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<(u64, bool)>();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        read_head(&mut s).await;
        let head = "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n";
        let chunk = vec![b'x'; 64 * 1024];
        let (mut written, mut failed) = (head.len() as u64, false);
        if s.write_all(head.as_bytes()).await.is_err() {
            failed = true;
        }
        while !failed && written < 1024 * 1024 * 1024 {
            match s.write_all(&chunk).await {
                Ok(()) => written += chunk.len() as u64,
                Err(_) => failed = true,
            }
        }
        let _ = tx.send((written, failed));
    });
    let r = subscribe_to(
        &app,
        &app.url("/feeds/c/rss.xml"),
        &format!("http://{addr}/cb"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let (written, dropped) = tokio::time::timeout(Duration::from_secs(120), rx)
        .await
        .expect("the callback server finished")
        .unwrap();
    assert!(dropped, "syndic read the whole GiB");
    assert!(written < 64 * 1024 * 1024, "syndic read {written} bytes");
    assert_eq!(
        app.db_count("SELECT count(*) FROM websub_subscriptions")
            .await,
        0
    );
}

/// With one verification allowed in flight, a second request while the first callback
/// hangs is answered 503 with a reason; once it is answered, requests are accepted again.
#[tokio::test]
async fn hub_verifications_in_flight_are_bounded() {
    let app = tuned(|c| c.hub_verifications = 1).await;
    app.create_channel("c", json!({})).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (asked_tx, asked) = tokio::sync::oneshot::channel::<()>();
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        read_head(&mut s).await;
        let _ = asked_tx.send(());
        let _ = released.await;
        let _ = s
            .write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
            .await;
    });
    let topic = app.url("/feeds/c/rss.xml");
    let r = subscribe_to(&app, &topic, &format!("http://{addr}/hang")).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    asked.await.unwrap();
    let cb = spawn_subscriber().await;
    let r = subscribe_to(&app, &topic, &cb.url).await;
    let body = assert_error(r, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    assert!(
        body["message"].as_str().unwrap().contains("verified"),
        "{body}"
    );
    release.send(()).unwrap();
    let mut accepted = false;
    for _ in 0..200 {
        if subscribe_to(&app, &topic, &cb.url).await.status() == StatusCode::ACCEPTED {
            accepted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(accepted, "the slot came back");
}

/// Past each limit (per topic, per callback host, in all) a new subscription is refused
/// with 429 naming the setting; a renewal passes, and existing subscribers still get
/// deliveries.
#[tokio::test]
async fn hub_limits_refuse_new_subscriptions() {
    let app = tuned(|c| {
        c.hub_max_per_topic = 2;
        c.hub_max_per_host = 2;
        c.hub_max_subscriptions = 3;
    })
    .await;
    app.create_channel("c", json!({})).await;
    app.create_channel("d", json!({})).await;
    let cb = spawn_subscriber().await;
    let on = |host: &str, n: u32| cb.url.replace("127.0.0.1", host) + &format!("?n={n}");
    let (c, d) = (app.url("/feeds/c/rss.xml"), app.url("/feeds/d/rss.xml"));
    let stored = |n: i64| {
        let app = &app;
        async move {
            app.db_wait("SELECT count(*) FROM websub_subscriptions", n)
                .await;
            assert_eq!(
                app.db_count("SELECT count(*) FROM websub_subscriptions")
                    .await,
                n
            );
        }
    };
    let limited = |r: reqwest::Response, setting: &'static str| async move {
        let body = assert_error(r, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;
        assert!(
            body["message"].as_str().unwrap().contains(setting),
            "{body}"
        );
    };
    let r = subscribe_to(&app, &c, &on("127.0.0.1", 1)).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    stored(1).await;
    let r = subscribe_to(&app, &c, &on("localhost", 2)).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    stored(2).await;
    limited(
        subscribe_to(&app, &c, &on("127.0.0.1", 3)).await,
        "SYNDIC_HUB_MAX_PER_TOPIC",
    )
    .await;
    let r = subscribe_to(&app, &d, &on("127.0.0.1", 4)).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    stored(3).await;
    limited(
        subscribe_to(&app, &d, &on("127.0.0.1", 5)).await,
        "SYNDIC_HUB_MAX_PER_CALLBACK_HOST",
    )
    .await;
    limited(
        subscribe_to(&app, &d, &on("localhost", 6)).await,
        "SYNDIC_HUB_MAX_SUBSCRIPTIONS",
    )
    .await;
    // A renewal of an existing subscription is not a new one.
    let r = subscribe_to(&app, &c, &on("127.0.0.1", 1)).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    // Existing subscribers keep getting what changes.
    app.ingest("c", &json!({ "id": "urn:x:1", "title": "News" }))
        .await;
    eventually("deliveries to both subscribers of c", || {
        cb.state.received.lock().unwrap().len() >= 2
    })
    .await;
    stored(3).await;
}

/// A burst of requests that all pass the first check (nothing is stored yet) still stores no
/// more than the limit: the last check and the write of each verified subscription run one at
/// a time.
#[tokio::test]
async fn hub_limits_hold_under_a_burst() {
    let app = tuned(|c| {
        c.hub_max_per_host = 3;
        c.hub_verifications = 32;
    })
    .await;
    app.create_channel("c", json!({})).await;
    let cb = spawn_subscriber().await;
    let topic = app.url("/feeds/c/rss.xml");
    let mut burst = tokio::task::JoinSet::new();
    for n in 0..12 {
        let (client, hub) = (app.client.clone(), app.url("/websub"));
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("hub.mode", "subscribe"),
                ("hub.topic", &topic),
                ("hub.callback", &format!("{}?burst={n}", cb.url)),
            ])
            .finish();
        burst.spawn(async move {
            let r = client
                .post(hub)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap();
            r.status()
        });
    }
    let mut accepted = 0;
    while let Some(status) = burst.join_next().await {
        if status.unwrap() == StatusCode::ACCEPTED {
            accepted += 1;
        }
    }
    assert!(accepted >= 3, "{accepted} accepted");
    eventually("every accepted callback verified", || {
        cb.state.verified.lock().unwrap().len() >= accepted
    })
    .await;
    app.db_wait("SELECT count(*) FROM websub_subscriptions", 3)
        .await;
    // The refused ones are refused right after their callback answered: give them the time.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        app.db_count("SELECT count(*) FROM websub_subscriptions")
            .await,
        3
    );
}

/// `SYNDIC_ALLOW_PRIVATE_UPSTREAMS` lets the poller fetch from loopback, and no longer lets
/// the public hub call back there: that takes `SYNDIC_ALLOW_PRIVATE_CALLBACKS`.
#[tokio::test]
async fn private_upstreams_do_not_open_the_hub_to_private_callbacks() {
    let app = tuned(|c| {
        c.allow_private_upstreams = true;
        c.allow_private_callbacks = false;
    })
    .await;
    app.create_channel("c", json!({})).await;
    let cb = spawn_subscriber().await;
    let r = subscribe_to(&app, &app.url("/feeds/c/rss.xml"), &cb.url).await;
    let body = assert_error(r, StatusCode::BAD_REQUEST, "bad_request").await;
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("SYNDIC_ALLOW_PRIVATE_CALLBACKS"),
        "{body}"
    );
    assert!(cb.state.verified.lock().unwrap().is_empty());
}

// ---------------------------------------------------------------------------------------
// Medium: failed authentications

async fn api_get(app: &TestApp, forwarded: &str, token: Option<&str>) -> StatusCode {
    let mut req = app
        .client
        .get(app.url("/api/v1/channels"))
        .header("x-forwarded-for", forwarded);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap().status()
}

/// Behind a trusted proxy, strangers' anonymous and bad requests lock out neither the valid
/// token nor another client; the bad client itself gets 429.
#[tokio::test]
async fn a_valid_token_works_after_strangers_fail_through_the_same_proxy() {
    let app = tuned(|c| c.trusted_proxies = nets("127.0.0.1")).await;
    let stranger = "198.51.100.7, 203.0.113.9";
    for _ in 0..25 {
        assert_eq!(
            api_get(&app, stranger, None).await,
            StatusCode::UNAUTHORIZED,
            "no credential counts for nothing"
        );
    }
    let mut limited = false;
    for i in 0..25 {
        match api_get(&app, stranger, Some(&format!("syndic_bad{i}"))).await {
            StatusCode::UNAUTHORIZED => {}
            StatusCode::TOO_MANY_REQUESTS => {
                limited = true;
                assert!(i >= 20, "limited after {i} failures");
                break;
            }
            other => panic!("{other}"),
        }
    }
    assert!(limited, "the stranger's address is limited");
    assert_eq!(
        api_get(&app, stranger, Some(&app.token)).await,
        StatusCode::OK,
        "a valid token works even from the limited address"
    );
    assert_eq!(
        api_get(&app, "203.0.113.10", Some("syndic_other")).await,
        StatusCode::UNAUTHORIZED,
        "another client behind the proxy is not limited"
    );
    // The same bad credential from ever new addresses is limited by itself.
    let mut limited = false;
    for i in 0..25 {
        let from = format!("192.0.2.{i}");
        if api_get(&app, &from, Some("syndic_same")).await == StatusCode::TOO_MANY_REQUESTS {
            limited = true;
            break;
        }
    }
    assert!(limited, "a credential that keeps failing is limited");
}

/// Without trusted proxies, `X-Forwarded-For` means nothing: the peer is the client.
#[tokio::test]
async fn forwarded_for_is_ignored_from_untrusted_peers() {
    let app = spawn_app().await;
    for i in 0..20 {
        let status = api_get(&app, &format!("192.0.2.{i}"), Some(&format!("syndic_x{i}"))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        api_get(&app, "192.0.2.200", Some("syndic_new")).await,
        StatusCode::TOO_MANY_REQUESTS,
        "the forged addresses all counted against the peer"
    );
    assert_eq!(
        api_get(&app, "192.0.2.200", Some(&app.token)).await,
        StatusCode::OK
    );
}

// ---------------------------------------------------------------------------------------
// Medium: the subscriber's leases

/// The subscription requests a hub got, as forms.
type Requests = Arc<Mutex<Vec<HashMap<String, String>>>>;

/// A hub on 127.0.0.1 that records the subscription requests it gets and answers 202.
async fn spawn_fake_hub() -> (String, Requests) {
    async fn take(
        State(seen): State<Requests>,
        axum::Form(form): axum::Form<HashMap<String, String>>,
    ) -> StatusCode {
        seen.lock().unwrap().push(form);
        StatusCode::ACCEPTED
    }
    let seen = Arc::new(Mutex::new(Vec::new()));
    let app = Router::new()
        .route("/hub", axum::routing::post(take))
        .with_state(seen.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hub"), seen)
}

/// A subscription to an upstream feed that advertises `hub`, polled once so that syndic
/// sends its request: the subscription id and the form the hub got.
async fn pending_request(
    app: &TestApp,
    up: &crate::upstream::UpstreamServer,
    name: &str,
    hub: &str,
    seen: &Mutex<Vec<HashMap<String, String>>>,
) -> (i64, HashMap<String, String>) {
    let topic = up.url(&format!("/f/{name}"));
    up.set_feed(
        name,
        "application/rss+xml",
        format!(
            r#"<?xml version="1.0"?><rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel><title>N</title><link>https://u.example/</link><description>d</description><atom:link rel="hub" href="{hub}"/><atom:link rel="self" href="{topic}"/><item><guid>{name}-1</guid><title>One</title><link>https://u.example/{name}/1</link></item></channel></rss>"#
        ),
    );
    let r = app
        .api(reqwest::Method::POST, "/subscriptions")
        .json(&json!({ "url": topic, "channel": "mirror" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r.json::<Value>().await.unwrap()["subscription"]["id"]
        .as_i64()
        .unwrap();
    let before = seen.lock().unwrap().len();
    let r = app
        .api(reqwest::Method::POST, &format!("/subscriptions/{id}/poll"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    eventually("the hub got the request", || {
        seen.lock().unwrap().len() > before
    })
    .await;
    let form = seen.lock().unwrap().last().cloned().unwrap();
    assert_eq!(form["hub.topic"], topic);
    (id, form)
}

async fn titles(app: &TestApp, slug: &str) -> Vec<String> {
    app.all_articles(slug)
        .await
        .iter()
        .map(|a| a["title"].as_str().unwrap_or("").to_owned())
        .collect()
}

fn verify_url(callback: &str, mode: &str, topic: &str, lease: &str) -> String {
    let mut url = url::Url::parse(callback).unwrap();
    url.query_pairs_mut()
        .append_pair("hub.mode", mode)
        .append_pair("hub.topic", topic)
        .append_pair("hub.challenge", "chal-123")
        .append_pair("hub.lease_seconds", lease);
    url.into()
}

async fn lease_of(app: &TestApp) -> Option<i64> {
    app.db_value("SELECT websub_expires_at FROM subscriptions ORDER BY id LIMIT 1")
        .await
}

/// Only the pending request is confirmed: at its tokened callback, for its topic, once. A
/// huge lease is bounded (no panic); a forged denial is refused; a denial of the pending
/// request is taken. An http hub gets no secret, and its pushes count only at the tokened
/// URL, read after the subscription is looked up.
#[tokio::test]
async fn the_subscriber_confirms_only_its_pending_requests() {
    let app = spawn_app().await;
    app.create_channel("mirror", json!({})).await;
    let up = crate::upstream::spawn_upstream().await;
    let (hub, seen) = spawn_fake_hub().await;
    let (id, form) = pending_request(&app, &up, "one", &hub, &seen).await;
    let callback = form["hub.callback"].clone();
    let topic = form["hub.topic"].clone();
    assert!(
        !form.contains_key("hub.secret"),
        "no secret to an http hub: {form:?}"
    );
    let token = callback.rsplit('/').next().unwrap().to_owned();
    assert!(token.len() >= 32, "an unguessable token: {callback}");
    assert!(callback.ends_with(&format!("/websub/callback/{id}/{token}")));
    let get = |u: String| {
        let client = app.client.clone();
        async move { client.get(u).send().await.unwrap() }
    };
    let huge = "9223372036854775807";
    // Forgeries: the old URL without a token, a wrong token, another topic.
    let legacy = app.url(&format!("/websub/callback/{id}"));
    for (cb, t) in [
        (legacy.as_str(), topic.as_str()),
        (&callback.replace(&token, "not-the-token"), topic.as_str()),
        (callback.as_str(), "https://elsewhere.example/feed"),
    ] {
        let r = get(verify_url(cb, "subscribe", t, huge)).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{cb} {t}");
        let r = get(verify_url(cb, "denied", t, "0")).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{cb} {t}");
    }
    assert_eq!(lease_of(&app).await, None);
    // The hub's own verification, with a lease past what chrono can add.
    let r = get(verify_url(&callback, "subscribe", &topic, huge)).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.unwrap(), "chal-123");
    let lease = lease_of(&app).await.expect("a lease");
    let max = chrono::Utc::now().timestamp_micros() + 31 * 24 * 3600 * 1_000_000;
    assert!(lease < max, "the lease is bounded to 30 days");
    // Not pending any more: a replay or a denial changes nothing.
    let r = get(verify_url(&callback, "subscribe", &topic, "60")).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = get(verify_url(&callback, "denied", &topic, "0")).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(lease_of(&app).await, Some(lease));

    // Pushes: unknown subscription or wrong token is 410 before the body is read (bigger
    // than any body limit); the tokened URL of an unsigned (http) hub imports.
    let big = vec![b'x'; 2 * 1024 * 1024];
    let post = |u: String, body: Vec<u8>| {
        let client = app.client.clone();
        async move {
            client
                .post(u)
                .header("content-type", "application/rss+xml")
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let wrong = callback.replace(&token, "not-the-token");
    assert_eq!(post(wrong, big.clone()).await, StatusCode::GONE);
    let unknown = app.url("/websub/callback/999/whatever");
    assert_eq!(post(unknown, big.clone()).await, StatusCode::GONE);
    let unknown = app.url("/websub/callback/999");
    assert_eq!(post(unknown, big.clone()).await, StatusCode::GONE);
    assert_eq!(
        post(callback.clone(), big).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "pushes are capped"
    );
    let pushed = crate::upstream::rss_feed("N", &[("p1", "Pushed", "https://u.example/p1")]);
    assert_eq!(
        post(legacy, pushed.clone().into_bytes()).await,
        StatusCode::ACCEPTED
    );
    assert!(
        !titles(&app, "mirror").await.contains(&"Pushed".to_owned()),
        "unsigned, untokened: ignored"
    );
    assert_eq!(
        post(callback.clone(), pushed.into_bytes()).await,
        StatusCode::ACCEPTED
    );
    assert!(titles(&app, "mirror").await.contains(&"Pushed".to_owned()));

    // A second subscription's pending request may be denied by its hub.
    let (id2, form2) = pending_request(&app, &up, "two", &hub, &seen).await;
    let r = get(verify_url(
        &form2["hub.callback"],
        "denied",
        &form2["hub.topic"],
        "0",
    ))
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = get(verify_url(
        &form2["hub.callback"],
        "subscribe",
        &form2["hub.topic"],
        "60",
    ))
    .await;
    assert_eq!(
        r.status(),
        StatusCode::NOT_FOUND,
        "denied: no longer pending"
    );
    assert_ne!(id, id2);
}

// ---------------------------------------------------------------------------------------
// Medium: metrics

/// Requests with invented methods add no series: their method is counted as `other`.
#[tokio::test]
async fn invented_methods_do_not_grow_the_metrics() {
    let app = spawn_app().await;
    let names: Vec<String> = (0..20)
        .map(|i| {
            let seed = rand::random::<u64>();
            format!("X{i}{seed:016X}").repeat(30)
        })
        .collect();
    for (i, name) in names.iter().enumerate() {
        let method = reqwest::Method::from_bytes(name.as_bytes()).unwrap();
        let path = if i % 2 == 0 { "/healthz" } else { "/nowhere" };
        let r = app
            .client
            .request(method, app.url(path))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_client_error(), "{}", r.status());
    }
    let metrics = app.metrics_text().await;
    for name in &names {
        assert!(!metrics.contains(name.as_str()), "{name} became a label");
    }
    assert!(metrics.contains("method=\"other\""), "{metrics}");
}

/// `/metrics` is served only to the networks `SYNDIC_METRICS_ALLOW` names (seen through the
/// trusted proxies).
#[tokio::test]
async fn metrics_are_served_only_to_allowed_networks() {
    let app = tuned(|c| {
        c.metrics_allow = nets("192.0.2.0/24");
        c.trusted_proxies = nets("127.0.0.1");
    })
    .await;
    let get = |from: Option<&'static str>| {
        let mut req = app.client.get(app.url("/metrics"));
        if let Some(f) = from {
            req = req.header("x-forwarded-for", f);
        }
        async move { req.send().await.unwrap() }
    };
    assert_error(get(None).await, StatusCode::FORBIDDEN, "forbidden").await;
    assert_error(
        get(Some("198.51.100.1")).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let r = get(Some("192.0.2.5")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("syndic_http_requests"));
    // The default, loopback only, lets the tests' own client in.
    let open = spawn_app().await;
    let r = open.client.get(open.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

// ---------------------------------------------------------------------------------------
// Low: connections

/// Reads until the server closes the connection (bounded): what it sent.
async fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(30), async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server kept the connection open");
    out
}

fn addr_of(app: &TestApp) -> SocketAddr {
    app.base.trim_start_matches("http://").parse().unwrap()
}

/// A connection that says nothing, and an h2c connection that stops after its preface, are
/// closed once idle.
#[tokio::test]
async fn idle_connections_are_closed() {
    let app = tuned(|c| c.idle_timeout = Duration::from_secs(1)).await;
    let mut silent = TcpStream::connect(addr_of(&app)).await.unwrap();
    assert!(read_to_close(&mut silent).await.is_empty());
    let mut h2 = TcpStream::connect(addr_of(&app)).await.unwrap();
    h2.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .await
        .unwrap();
    let sent = read_to_close(&mut h2).await;
    assert!(!sent.is_empty(), "the server spoke HTTP/2 first");
    // A keep-alive HTTP/1.1 connection after its answer.
    let mut h1 = TcpStream::connect(addr_of(&app)).await.unwrap();
    h1.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let answer = String::from_utf8_lossy(&read_to_close(&mut h1).await).into_owned();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

/// Past `SYNDIC_MAX_CONNECTIONS`, a new connection is answered 503 and closed; a slot that
/// frees serves again.
#[tokio::test]
async fn connections_are_capped() {
    let app = tuned(|c| c.max_connections = 2).await;
    let held = async || {
        let mut s = TcpStream::connect(addr_of(&app)).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = vec![0u8; 4096];
        let n = s.read(&mut buf).await.unwrap();
        (s, String::from_utf8_lossy(&buf[..n]).into_owned())
    };
    // The health check's pooled connection may hold a slot: ask until one is refused.
    let mut kept = Vec::new();
    let mut refused = None;
    for _ in 0..4 {
        let (s, answer) = held().await;
        if answer.starts_with("HTTP/1.1 503") {
            refused = Some(answer);
            break;
        }
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        kept.push(s);
    }
    let refused = refused.expect("a connection past the cap was refused");
    assert!(refused.contains("too many connections"), "{refused}");
    assert!(kept.len() <= 2, "{} connections served", kept.len());
    drop(kept);
    let mut served = false;
    for _ in 0..200 {
        let (_s, answer) = held().await;
        if answer.starts_with("HTTP/1.1 200") {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(served, "freed slots serve again");
}

// ---------------------------------------------------------------------------------------
// Low: headers, files

/// Every response says `nosniff`: pages, feeds, API errors, the hub, a challenge echo.
#[tokio::test]
async fn every_response_says_nosniff() {
    let app = spawn_app().await;
    app.create_channel("c", json!({})).await;
    for r in [
        app.client.get(app.url("/healthz")).send().await.unwrap(),
        app.client.get(app.url("/nowhere")).send().await.unwrap(),
        app.client.get(app.url("/")).send().await.unwrap(),
        app.feed("c", "rss.xml").await,
        app.client
            .get(app.url("/api/v1/channels"))
            .send()
            .await
            .unwrap(),
        app.client
            .get(app.url(
                "/websub/callback/999?hub.mode=unsubscribe&hub.topic=t&hub.challenge=%3Cscript%3E",
            ))
            .send()
            .await
            .unwrap(),
        hub_request(&app, &[("hub.mode", "subscribe")]).await,
    ] {
        assert_eq!(
            r.headers()
                .get("x-content-type-options")
                .map(|v| v.to_str().unwrap()),
            Some("nosniff"),
            "{} {}",
            r.url(),
            r.status()
        );
    }
}

/// The database, its WAL and shared-memory files, and a backup are readable by their owner
/// only; a directory syndic creates for the database is too.
#[cfg(unix)]
#[tokio::test]
async fn database_and_backup_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("new").join("state").join("syndic.db");
    let store = syndic::store::open(&format!("sqlite:{}", db.display()))
        .await
        .unwrap();
    let (_, hash) = syndic::token::generate();
    store.create_token("t", &hash).await.unwrap();
    for f in ["syndic.db", "syndic.db-wal", "syndic.db-shm"] {
        let p = db.with_file_name(f);
        assert_eq!(mode(&p), 0o600, "{f}");
    }
    assert_eq!(mode(db.parent().unwrap()), 0o700);
    let copy = dir.path().join("copy.db");
    store.backup(&copy).await.unwrap();
    assert_eq!(mode(&copy), 0o600);
    assert!(std::fs::metadata(&copy).unwrap().len() > 0);
}

// ---------------------------------------------------------------------------------------
// From the critical section, HTTP side: feeds in browsers

/// Feeds carry a Content-Security-Policy that runs no script (the stylesheet may load).
#[tokio::test]
async fn feeds_carry_a_content_security_policy() {
    let app = spawn_app().await;
    app.create_channel("c", json!({})).await;
    for file in ["rss.xml", "atom.xml", "feed.json"] {
        let r = app
            .get_with(
                &format!("/feeds/c/{file}"),
                &[("accept", "text/html,application/xhtml+xml")],
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let csp = r.headers()["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'none'"), "{csp}");
        let script = csp
            .split(';')
            .map(str::trim)
            .find(|d| d.starts_with("script-src"))
            .unwrap_or("");
        assert!(!script.contains("unsafe"), "{csp}");
    }
}

/// The feed stylesheet makes a link of a feed's URL only under a test that it starts with
/// http:// or https://; anything else (javascript:, data:) stays text.
#[tokio::test]
async fn the_feed_stylesheet_links_only_http_urls() {
    let app = spawn_app().await;
    let xsl = app
        .client
        .get(app.url(syndic::http::STYLESHEET_PATH))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let doc = roxmltree::Document::parse(&xsl).unwrap();
    const XSL: &str = "http://www.w3.org/1999/XSL/Transform";
    let mut computed = 0;
    for a in doc.descendants().filter(|n| n.has_tag_name("a")) {
        let href = a.attribute("href").expect("a link has an href");
        if !href.contains('{') {
            assert!(href.starts_with("https://"), "{href}");
            continue;
        }
        computed += 1;
        let guard = a
            .ancestors()
            .filter(|n| n.has_tag_name((XSL, "when")))
            .filter_map(|n| n.attribute("test"))
            .find(|t| t.contains("'http://'") && t.contains("'https://'"));
        assert!(
            guard.is_some(),
            "<a href=\"{href}\"> is made without an http(s) test"
        );
    }
    assert!(computed > 0, "the stylesheet links items");
}
