//! Several real `syndic serve` processes on one PostgreSQL database (issue 11): due feeds are
//! claimed, so each is fetched once per due time in all and the per-host limit holds across
//! instances; an instance killed with SIGKILL mid-round loses nothing (its claims pass to the
//! others when their lease ends); one WebSub delivery per change; instances started together
//! on an empty database migrate once; and PostgreSQL stopped and started under them gives
//! quick 503s, then works again without a restart of syndic.
//!
//! PostgreSQL only: these need `SYNDIC_TEST_DATABASE` (the restart test starts a cluster of
//! its own with initdb and pg_ctl, never the shared one); without it they skip, and under CI
//! they fail.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use reqwest::Client;
use serde_json::json;
use sqlx::Connection;

use crate::cli::{BIN, Serving, ok, start_serve, stop};
use crate::helpers::{fresh_database_url, skip_missing, test_database};

/// The PostgreSQL server of the tests, or `None` after saying why the test skips.
fn server() -> Option<String> {
    let base = test_database();
    if base.is_none() {
        skip_missing(
            "a PostgreSQL server (SYNDIC_TEST_DATABASE)",
            "set SYNDIC_TEST_DATABASE=postgres://USER@HOST:PORT/postgres, or run .ci/run",
        );
    }
    base
}

/// A CLI command on the database at `url`.
fn cli(dir: &Path, url: &str, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env("DATABASE_URL", url)
        .env("SYNDIC_DB_POOL", "2")
        .env_remove("SYNDIC_BASE_URL")
        .output()
        .expect("run syndic")
}

/// Runs `f` (bounded: about 60 s) until it returns `Some`.
async fn eventually<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    mut f: impl FnMut() -> F,
) -> T {
    for _ in 0..600 {
        if let Some(v) = f().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn db(url: &str) -> sqlx::PgConnection {
    sqlx::PgConnection::connect(url).await.unwrap()
}

async fn scalar(url: &str, sql: &'static str) -> i64 {
    let mut conn = db(url).await;
    let n: i64 = sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap();
    let _ = conn.close().await;
    n
}

async fn exec(url: &str, sql: &'static str) {
    let mut conn = db(url).await;
    sqlx::query(sql).execute(&mut conn).await.unwrap();
    let _ = conn.close().await;
}

/// A local upstream that counts the requests for each feed, and in flight per `Host` (now,
/// most at once). While `hold` is set, requests wait (a slow upstream) until it is cleared.
#[derive(Default)]
struct Counting {
    requests: Mutex<HashMap<String, usize>>,
    by_host: Mutex<HashMap<String, (usize, usize)>>,
    in_flight: AtomicUsize,
    /// Milliseconds each answer takes.
    delay_ms: AtomicUsize,
    hold: Mutex<bool>,
    released: tokio::sync::Notify,
}

/// Counts a request out of the in-flight figures when its handler ends, however it ends (a
/// killed client drops it).
struct InFlight(Arc<Counting>, String);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, SeqCst);
        if let Some(h) = self.0.by_host.lock().unwrap().get_mut(&self.1) {
            h.0 -= 1;
        }
    }
}

async fn counted_feed(
    State(st): State<Arc<Counting>>,
    UrlPath(name): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    *st.requests.lock().unwrap().entry(name.clone()).or_default() += 1;
    st.in_flight.fetch_add(1, SeqCst);
    {
        let mut by_host = st.by_host.lock().unwrap();
        let (now, most) = by_host.entry(host.clone()).or_default();
        *now += 1;
        *most = (*most).max(*now);
    }
    let _guard = InFlight(st.clone(), host);
    loop {
        let released = st.released.notified();
        if !*st.hold.lock().unwrap() {
            break;
        }
        released.await;
    }
    let delay = st.delay_ms.load(SeqCst) as u64;
    tokio::time::sleep(Duration::from_millis(delay)).await;
    let body = format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Feed {name}</title><link>https://upstream.example/{name}</link><description>d</description><item><guid isPermaLink="false">item-{name}</guid><title>Item of {name} &amp; co</title><link>https://upstream.example/{name}/1</link><pubDate>Tue, 16 Sep 2025 10:00:00 +0000</pubDate><description>Body of {name}</description></item></channel></rss>"#
    );
    drop(_guard);
    ([(header::CONTENT_TYPE, "application/rss+xml")], body).into_response()
}

impl Counting {
    fn set_hold(&self, on: bool) {
        *self.hold.lock().unwrap() = on;
        if !on {
            self.released.notify_waiters();
        }
    }

    fn counts(&self) -> HashMap<String, usize> {
        self.requests.lock().unwrap().clone()
    }

    fn most_per_host(&self) -> HashMap<String, usize> {
        self.by_host
            .lock()
            .unwrap()
            .iter()
            .map(|(h, (_, most))| (h.clone(), *most))
            .collect()
    }
}

/// Starts the counting upstream on each loopback address of `ips` (each a host of its own
/// to the poller); returns its state and the base URL on each.
async fn spawn_counting(ips: &[&str]) -> (Arc<Counting>, Vec<String>) {
    let state = Arc::new(Counting::default());
    let mut bases = Vec::new();
    for ip in ips {
        let app = Router::new()
            .route("/feed/{name}", axum::routing::get(counted_feed))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind((*ip, 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        bases.push(format!("http://{addr}"));
    }
    (state, bases)
}

/// A database with channel `news` subscribed to `urls` (due at once), made with the CLI.
fn prepare(dir: &Path, url: &str, urls: &[String]) {
    ok(&cli(dir, url, &["migrate"]));
    ok(&cli(
        dir,
        url,
        &["channel", "add", "news", "--title", "News"],
    ));
    let outlines: String = urls
        .iter()
        .enumerate()
        .map(|(i, u)| format!(r#"<outline type="rss" text="f{i}" xmlUrl="{u}"/>"#))
        .collect();
    let opml = dir.join("feeds.opml");
    std::fs::write(
        &opml,
        format!(
            r#"<?xml version="1.0"?><opml version="2.0"><head><title>t</title></head><body>{outlines}</body></opml>"#
        ),
    )
    .unwrap();
    ok(&cli(
        dir,
        url,
        &["import-opml", opml.to_str().unwrap(), "--channel", "news"],
    ));
}

/// Starts `n` instances on `url` with `extra` settings, all at once (one thread each).
fn start_instances(
    dir: &Path,
    url: &str,
    n: usize,
    extra: &[(&str, &str)],
) -> Vec<(Serving, String)> {
    let mut env: Vec<(String, String)> = vec![
        ("DATABASE_URL".into(), url.into()),
        ("SYNDIC_DB_POOL".into(), "4".into()),
        ("SYNDIC_ALLOW_PRIVATE_UPSTREAMS".into(), "true".into()),
    ];
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|_| {
                let env = &env;
                s.spawn(move || {
                    let env: Vec<(&str, &str)> =
                        env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                    start_serve(dir, &env)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// Sends SIGKILL: no shutdown, no release of claims.
fn kill_9(mut serving: Serving) {
    serving.0.kill().unwrap();
    serving.0.wait().unwrap();
}

/// Three instances, 40 feeds on four hosts, a per-host limit of 3: every due feed is fetched
/// once per round in all, in two rounds; no host ever has more than 3 fetches at once,
/// though each instance alone would allow 3.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_due_feed_is_fetched_once_per_round_across_three_instances() {
    let Some(_) = server() else { return };
    let (up, bases) = spawn_counting(&["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"]).await;
    up.delay_ms.store(100, SeqCst);
    let urls: Vec<String> = (0..40)
        .map(|i| format!("{}/feed/f{i}", bases[i % bases.len()]))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(dir.path()).await;
    prepare(dir.path(), &url, &urls);
    // All due now: the three instances start together and race for them.
    let instances = start_instances(
        dir.path(),
        &url,
        3,
        &[("SYNDIC_POLL_PER_HOST", "3"), ("SYNDIC_POLL_LEASE", "10")],
    );
    let (db_url, st) = (&url, &up);
    let settled = move || async move {
        let fetched = scalar(
            db_url,
            "SELECT count(*) FROM subscriptions WHERE last_status = '200' AND next_fetch_at > 0",
        )
        .await;
        let claimed = scalar(
            db_url,
            "SELECT count(*) FROM subscriptions WHERE claimed_by IS NOT NULL",
        )
        .await;
        (fetched == 40 && claimed == 0 && st.in_flight.load(SeqCst) == 0).then_some(())
    };
    eventually("the first round on three instances", settled).await;
    let counts = up.counts();
    assert_eq!(counts.len(), 40, "{counts:?}");
    assert!(
        counts.values().all(|n| *n == 1),
        "fetched twice: {counts:?}"
    );
    assert_eq!(
        scalar(&url, "SELECT count(*) FROM articles").await,
        40,
        "each feed's item imported once"
    );
    let most = up.most_per_host();
    assert_eq!(most.len(), 4, "{most:?}");
    assert!(
        most.values().all(|n| *n <= 3),
        "the per-host limit holds over all instances: {most:?}"
    );

    // A second round: everything due again, while the instances are between rounds (each
    // wakes on its own schedule).
    exec(&url, "UPDATE subscriptions SET next_fetch_at = 0").await;
    eventually("the second round", settled).await;
    let counts = up.counts();
    assert!(
        counts.values().all(|n| *n == 2),
        "once per round: {counts:?}"
    );
    assert!(up.most_per_host().values().all(|n| *n <= 3));
    for (serving, _) in instances {
        stop(serving);
    }
}

/// Instance A claims every due feed and its fetches hang on a slow upstream for longer than
/// the lease: its renewals keep B and C off them. Then A is killed with SIGKILL mid-round:
/// once its leases end, B and C fetch its feeds (once each) and import them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_instance_loses_no_feed() {
    let Some(_) = server() else { return };
    let (up, bases) = spawn_counting(&["127.0.0.1"]).await;
    let urls: Vec<String> = (0..12).map(|i| format!("{}/feed/k{i}", bases[0])).collect();
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(dir.path()).await;
    prepare(dir.path(), &url, &urls);
    up.set_hold(true);
    let settings = [("SYNDIC_POLL_PER_HOST", "20"), ("SYNDIC_POLL_LEASE", "2")];
    let (a, _) = start_instances(dir.path(), &url, 1, &settings)
        .pop()
        .unwrap();
    eventually("A to fetch every feed", || async {
        (up.in_flight.load(SeqCst) == 12).then_some(())
    })
    .await;
    // Past A's first lease before B and C start (their first round runs at start): only
    // A's renewals keep its claims.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let others = start_instances(dir.path(), &url, 2, &settings);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let counts = up.counts();
    assert!(
        counts.len() == 12 && counts.values().all(|n| *n == 1),
        "a slow fetch keeps its claim: {counts:?}"
    );
    let a_owner = format!(":{}:", a.0.id());
    let mut conn = db(&url).await;
    let owners: Vec<String> =
        sqlx::query_scalar("SELECT claimed_by FROM subscriptions WHERE claimed_by IS NOT NULL")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    let _ = conn.close().await;
    assert_eq!(owners.len(), 12);
    assert!(owners.iter().all(|o| o.contains(&a_owner)), "{owners:?}");

    kill_9(a);
    up.set_hold(false);
    eventually("B and C to finish A's feeds", || async {
        let done = scalar(
            &url,
            "SELECT count(*) FROM subscriptions
             WHERE last_status = '200' AND claimed_by IS NULL AND next_fetch_at > 0",
        )
        .await;
        (done == 12 && up.in_flight.load(SeqCst) == 0).then_some(())
    })
    .await;
    let counts = up.counts();
    assert!(
        counts.values().all(|n| *n == 2),
        "A's fetch, then one by B or C: {counts:?}"
    );
    assert_eq!(scalar(&url, "SELECT count(*) FROM articles").await, 12);
    for (serving, _) in others {
        stop(serving);
    }
}

/// A hub subscription made through one instance is served by all three, and each change is
/// delivered once: the three delivery engines claim the same due deliveries.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_websub_delivery_per_change_across_three_instances() {
    let Some(_) = server() else { return };
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(dir.path()).await;
    ok(&cli(dir.path(), &url, &["migrate"]));
    ok(&cli(
        dir.path(),
        &url,
        &["channel", "add", "news", "--title", "News"],
    ));
    let token = ok(&cli(dir.path(), &url, &["token", "create", "--name", "t"]));
    let token = token.trim();
    // One public URL for all instances, as behind a reverse proxy.
    let base = "https://feeds.example.org";
    let instances = start_instances(
        dir.path(),
        &url,
        3,
        &[
            ("SYNDIC_BASE_URL", base),
            ("SYNDIC_ALLOW_PRIVATE_CALLBACKS", "true"),
            ("SYNDIC_POLL_LEASE", "5"),
        ],
    );
    let cb = crate::websub::spawn_subscriber().await;
    let client = Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let topic = format!("{base}/feeds/news/atom.xml");
    let form = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("hub.mode", "subscribe"),
            ("hub.topic", topic.as_str()),
            ("hub.callback", cb.url.as_str()),
        ])
        .finish();
    let r = client
        .post(format!("http://{}/websub", instances[0].1))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    eventually("the subscription to be verified", || async {
        (scalar(&url, "SELECT count(*) FROM websub_subscriptions").await == 1).then_some(())
    })
    .await;
    for k in 1..=6usize {
        let (_, addr) = &instances[k % 3];
        let r = client
            .post(format!("http://{addr}/api/v1/channels/news/articles"))
            .bearer_auth(token)
            .json(&json!({ "id": format!("a{k}"), "title": format!("Change {k} <&>") }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        eventually("the change to be delivered and recorded", || async {
            let pending = scalar(
                &url,
                "SELECT count(*) FROM websub_subscriptions s JOIN channels c
                 ON c.id = s.channel_id
                 WHERE s.claimed_by IS NOT NULL OR s.delivered_version < c.version",
            )
            .await;
            (pending == 0).then_some(())
        })
        .await;
        let received = cb.state.received.lock().unwrap().len();
        assert_eq!(received, k, "one delivery per change");
    }
    let bodies = cb.state.received.lock().unwrap().clone();
    assert!(bodies.last().unwrap().0.contains("Change 6 &lt;&amp;&gt;"));
    for (serving, _) in instances {
        stop(serving);
    }
}

/// Three instances started together on a database that does not exist yet: it is created,
/// each migration is applied once, and all three serve.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_instances_started_together_on_an_empty_database() {
    let Some(base) = server() else { return };
    let mut url = url::Url::parse(&base).unwrap();
    url.set_path(&format!("/test_empty_{:016x}", rand::random::<u64>()));
    let url = String::from(url);
    let dir = tempfile::tempdir().unwrap();
    let instances = start_instances(dir.path(), &url, 3, &[]);
    let client = Client::new();
    for (_, addr) in &instances {
        let r = client
            .get(format!("http://{addr}/readyz"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    let files = std::fs::read_dir(crate::helpers::manifest_dir().join("migrations/postgres"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension() == Some("sql".as_ref()))
        .count() as i64;
    assert_eq!(
        scalar(&url, "SELECT count(*) FROM _sqlx_migrations WHERE success").await,
        files
    );
    for (serving, _) in instances {
        stop(serving);
    }
}

/// A PostgreSQL cluster of the test's own (initdb, pg_ctl), in a temporary directory: the
/// test stops and starts it. Run as the `postgres` user when the test runs as root (initdb
/// refuses root), as `.ci/run` does. Stopped when dropped.
struct Cluster {
    dir: tempfile::TempDir,
    port: u16,
    as_postgres: bool,
}

impl Cluster {
    /// A new cluster, started; `None` (after saying why) when initdb is missing.
    fn start() -> Option<Cluster> {
        if Command::new("initdb").arg("--version").output().is_err() {
            skip_missing("initdb and pg_ctl", "apt-get install postgresql");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let as_postgres = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        if as_postgres {
            let status = Command::new("chown")
                .args(["postgres:", dir.path().to_str().unwrap()])
                .status()
                .unwrap();
            assert!(
                status.success(),
                "chown the cluster's directory to postgres"
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cluster = Cluster {
            dir,
            port,
            as_postgres,
        };
        let data = cluster.dir.path().join("data");
        let out = cluster.pg(&[
            "initdb",
            "-D",
            data.to_str().unwrap(),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
        ]);
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        cluster.ctl_start();
        Some(cluster)
    }

    fn pg(&self, args: &[&str]) -> Output {
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).args(args);
            c
        } else {
            let mut c = Command::new(args[0]);
            c.args(&args[1..]);
            c
        };
        cmd.output().unwrap()
    }

    fn ctl_start(&self) {
        let dir = self.dir.path();
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off",
            self.port,
            dir.display()
        );
        let out = self.pg(&[
            "pg_ctl",
            "-D",
            dir.join("data").to_str().unwrap(),
            "-l",
            dir.join("server.log").to_str().unwrap(),
            "-w",
            "-t",
            "60",
            "start",
            "-o",
            &options,
        ]);
        assert!(
            out.status.success(),
            "pg_ctl start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn ctl_stop(&self) {
        let data = self.dir.path().join("data");
        let out = self.pg(&[
            "pg_ctl",
            "-D",
            data.to_str().unwrap(),
            "-m",
            "fast",
            "-w",
            "stop",
        ]);
        assert!(
            out.status.success(),
            "pg_ctl stop: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/syndic", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = self.pg(&[
            "pg_ctl",
            "-D",
            data.to_str().unwrap(),
            "-m",
            "immediate",
            "stop",
        ]);
    }
}

/// PostgreSQL stopped under two instances: requests answer 503 (never hang: the client gives
/// up after 30 s, which fails the test) and `/readyz` says not ready; once it is back, both
/// instances take writes and serve them again, without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_stopped_and_started_under_two_instances() {
    let Some(_) = server() else { return };
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let url = cluster.url();
    let dir = tempfile::tempdir().unwrap();
    ok(&cli(dir.path(), &url, &["migrate"]));
    ok(&cli(
        dir.path(),
        &url,
        &["channel", "add", "news", "--title", "News"],
    ));
    let token = ok(&cli(dir.path(), &url, &["token", "create", "--name", "t"]));
    let token = token.trim();
    let instances = start_instances(dir.path(), &url, 2, &[]);
    let client = Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let ingest = |addr: &str, id: &str| {
        client
            .post(format!("http://{addr}/api/v1/channels/news/articles"))
            .bearer_auth(token)
            .json(&json!({ "id": id, "title": format!("Article {id}") }))
            .send()
    };
    for (i, (_, addr)) in instances.iter().enumerate() {
        let r = ingest(addr, &format!("before-{i}")).await.unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
    }

    cluster.ctl_stop();
    for (i, (_, addr)) in instances.iter().enumerate() {
        let r = ingest(addr, &format!("down-{i}"))
            .await
            .expect("an answer, not a hang");
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        let r = client
            .get(format!("http://{addr}/readyz"))
            .send()
            .await
            .expect("an answer, not a hang");
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        // A feed comes from memory or says retry later; never a hang or a 500.
        let r = client
            .get(format!("http://{addr}/feeds/news/feed.json"))
            .send()
            .await
            .expect("an answer, not a hang");
        assert!(
            matches!(r.status(), StatusCode::OK | StatusCode::SERVICE_UNAVAILABLE),
            "{}",
            r.status()
        );
    }

    cluster.ctl_start();
    for (i, (_, addr)) in instances.iter().enumerate() {
        eventually("the instance to be ready again", || async {
            let r = client.get(format!("http://{addr}/readyz")).send().await;
            r.is_ok_and(|r| r.status() == StatusCode::OK).then_some(())
        })
        .await;
        let r = ingest(addr, &format!("after-{i}")).await.unwrap();
        assert_eq!(r.status(), StatusCode::CREATED, "writes work again");
    }
    for (_, addr) in &instances {
        let body = eventually("every write in the feed", || async {
            let body = client
                .get(format!("http://{addr}/feeds/news/feed.json"))
                .send()
                .await
                .ok()?
                .text()
                .await
                .ok()?;
            ["before-0", "before-1", "after-0", "after-1"]
                .iter()
                .all(|id| body.contains(id))
                .then_some(body)
        })
        .await;
        assert!(!body.contains("down-"), "a refused write was not stored");
    }
    for (serving, _) in instances {
        stop(serving);
    }
}
