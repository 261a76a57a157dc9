//! `spawn_app()` and the `TestApp` helpers every test uses.

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use syndic::config::Config;
use syndic::store;
use tempfile::TempDir;

pub struct TestApp {
    pub base: String,
    pub client: Client,
    pub token: String,
    /// The database the server uses: `sqlite:{db_path}`, or a PostgreSQL database of this
    /// test's own (see [`test_database`]).
    pub database_url: String,
    /// The SQLite file (unused on PostgreSQL).
    pub db_path: PathBuf,
    /// Stops (HTTP drains, workers end) when the test's app is dropped.
    _server: syndic::server::Server,
    _dir: TempDir,
}

/// The PostgreSQL server the tests run against, as a URL to a database the tests may connect
/// to and create databases from (`SYNDIC_TEST_DATABASE=postgres://postgres@127.0.0.1:5432/postgres`),
/// or `None` to run on SQLite. `.ci/run` runs the suite once each way.
pub fn test_database() -> Option<String> {
    std::env::var("SYNDIC_TEST_DATABASE")
        .ok()
        .filter(|v| !v.trim().is_empty())
}

/// A fresh database for one test: a new SQLite file in `dir`, or, when the tests run on
/// PostgreSQL, a new database `test_<random>` on that server (left for the test cluster's
/// teardown to drop).
pub async fn fresh_database_url(dir: &Path) -> String {
    match test_database() {
        None => format!("sqlite:{}", dir.join("syndic.db").display()),
        Some(base) => {
            use sqlx::Connection;
            let name = format!("test_{:016x}", rand::random::<u64>());
            let mut conn = sqlx::PgConnection::connect(&base)
                .await
                .unwrap_or_else(|e| panic!("SYNDIC_TEST_DATABASE {base}: {e}"));
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut conn)
                .await
                .expect("create the test database");
            let _ = conn.close().await;
            let mut url = url::Url::parse(&base).expect("SYNDIC_TEST_DATABASE is a URL");
            url.set_path(&format!("/{name}"));
            url.into()
        }
    }
}

/// A value bound to a test's own SQL statement.
pub enum Arg {
    Int(i64),
    Text(String),
}

pub const MAX_BODY: usize = 256 * 1024;

/// The cap on upstream bodies in tests (after decompression).
pub const FETCH_MAX_BODY: usize = 1024 * 1024;

/// A fresh database, a real server on 127.0.0.1:0, and a token for the API. Upstreams on
/// loopback are allowed, since the tests' upstream servers live there.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(true).await
}

/// As [`spawn_app`], choosing whether private upstream addresses are allowed.
pub async fn spawn_app_with(allow_private_upstreams: bool) -> TestApp {
    spawn_app_tuned(tempfile::tempdir().expect("temp dir"), |c| {
        c.allow_private_upstreams = allow_private_upstreams;
        c.allow_private_callbacks = allow_private_upstreams;
    })
    .await
}

/// The same, with a SQLite database in `dir` (a file system the test prepared), whatever
/// backend the other tests run on. Private addresses are allowed (or not) for upstreams and
/// hub callbacks alike.
pub async fn spawn_app_in(dir: TempDir, allow_private_upstreams: bool) -> TestApp {
    let url = format!("sqlite:{}", dir.path().join("syndic.db").display());
    spawn_app_on(dir, url, |c| {
        c.allow_private_upstreams = allow_private_upstreams;
        c.allow_private_callbacks = allow_private_upstreams;
    })
    .await
}

/// A fresh app on SQLite, whatever backend the other tests run on: for tests of what only
/// SQLite has (its files, their modes, `VACUUM INTO` backups).
pub async fn spawn_sqlite_app() -> TestApp {
    spawn_app_in(tempfile::tempdir().expect("temp dir"), true).await
}

/// A fresh app whose settings `tune` changes from the tests' defaults (which allow private
/// upstreams and callbacks), on the tests' backend.
pub async fn spawn_app_tuned(dir: TempDir, tune: impl FnOnce(&mut Config)) -> TestApp {
    let url = fresh_database_url(dir.path()).await;
    spawn_app_on(dir, url, tune).await
}

async fn spawn_app_on(
    dir: TempDir,
    database_url: String,
    tune: impl FnOnce(&mut Config),
) -> TestApp {
    let db_path = dir.path().join("syndic.db");
    // A small pool: the tests run many servers at once against one PostgreSQL.
    let store = store::open_pooled(&database_url, 4)
        .await
        .expect("open store");
    let (token, hash) = syndic::token::generate();
    store.create_token("tests", &hash).await.expect("token");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().unwrap();
    let mut config = Config {
        database_url: database_url.clone(),
        bind: addr,
        base_url: format!("http://{addr}"),
        base_url_from_bind: false,
        max_body: MAX_BODY,
        allow_private_upstreams: true,
        allow_private_callbacks: true,
        fetch_timeout: std::time::Duration::from_secs(2),
        fetch_max_body: FETCH_MAX_BODY,
        poller: false,
        ..Config::default()
    };
    tune(&mut config);
    // The very composition `syndic serve` runs (HTTP, deliveries, retention, the PostgreSQL
    // listener), with the background poller as the test asks: off by default
    // (`SYNDIC_POLLER=off`), so that the tests that poll count their own polls.
    let server = syndic::server::Server::start(store.clone(), config, listener)
        .await
        .expect("start the server");
    let app = TestApp {
        base: format!("http://{addr}"),
        // Raw bodies: the tests check content coding themselves.
        client: Client::builder()
            .no_gzip()
            .no_brotli()
            .no_deflate()
            .build()
            .unwrap(),
        token,
        database_url,
        db_path,
        _server: server,
        _dir: dir,
    };
    app.wait_healthy().await;
    app
}

impl TestApp {
    /// Polls subscription `id` now through the API (`POST /api/v1/subscriptions/{id}/poll`),
    /// which must answer 200: the whole answer (the report is under `poll`).
    pub async fn poll_now(&self, id: i64) -> Value {
        let r = self
            .api(reqwest::Method::POST, &format!("/subscriptions/{id}/poll"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        r.json().await.unwrap()
    }

    async fn wait_healthy(&self) {
        for _ in 0..100 {
            let r = self.client.get(self.url("/healthz")).send().await;
            if r.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("server did not become healthy");
    }

    /// `GET /metrics` as Prometheus text (checked to be served as such).
    pub async fn metrics_text(&self) -> String {
        let r = self.client.get(self.url("/metrics")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(
            r.headers()[CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/plain; version=0.0.4")
        );
        r.text().await.unwrap()
    }

    /// Pushes an RSS `body` to subscription `id`'s WebSub callback as a hub does, signed
    /// with `secret`.
    pub async fn push(&self, id: i64, secret: &str, body: &str) -> Response {
        self.client
            .post(self.url(&format!("/websub/callback/{id}")))
            .header(CONTENT_TYPE, "application/rss+xml")
            .header("x-hub-signature", hub_signature(secret, body))
            .body(body.to_owned())
            .send()
            .await
            .unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn api(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(&format!("/api/v1{path}")))
            .header(AUTHORIZATION, format!("Bearer {}", self.token))
    }

    /// Creates a channel; `extra` adds fields such as link and language.
    pub async fn create_channel(&self, slug: &str, extra: Value) -> Value {
        let mut body = json!({ "slug": slug, "title": format!("Channel {slug}") });
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        let r = self
            .api(reqwest::Method::POST, "/channels")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::CREATED,
            "{}",
            r.text().await.unwrap()
        );
        r.json().await.unwrap()
    }

    pub async fn post_raw(
        &self,
        slug: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Response {
        self.api(reqwest::Method::POST, &format!("/channels/{slug}/articles"))
            .header(CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_json(&self, slug: &str, body: &Value) -> Response {
        self.post_raw(slug, "application/json", body.to_string())
            .await
    }

    /// Posts and expects success; returns the ingest report.
    pub async fn ingest(&self, slug: &str, body: &Value) -> Value {
        let r = self.post_json(slug, body).await;
        let status = r.status();
        let report: Value = r.json().await.unwrap();
        assert!(status.is_success(), "{status}: {report}");
        report
    }

    pub async fn feed(&self, slug: &str, file: &str) -> Response {
        self.client
            .get(self.url(&format!("/feeds/{slug}/{file}")))
            .send()
            .await
            .unwrap()
    }

    /// A GET of a path with extra request headers.
    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        let mut req = self.client.get(self.url(path));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send().await.unwrap()
    }

    pub async fn feed_text(&self, slug: &str, file: &str) -> String {
        let r = self.feed(slug, file).await;
        assert_eq!(r.status(), StatusCode::OK);
        r.text().await.unwrap()
    }

    pub async fn article(&self, slug: &str, id: &str) -> Response {
        self.api(
            reqwest::Method::GET,
            &format!("/channels/{slug}/articles/{}", encode(id)),
        )
        .send()
        .await
        .unwrap()
    }

    /// Every article of a channel, walking the API's pages.
    pub async fn all_articles(&self, slug: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut before: Option<String> = None;
        for _ in 0..1000 {
            let mut path = format!("/channels/{slug}/articles?limit=2");
            if let Some(b) = &before {
                path.push_str(&format!("&before={b}"));
            }
            let page: Value = self
                .api(reqwest::Method::GET, &path)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            out.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_str() {
                Some(c) => before = Some(c.to_owned()),
                None => return out,
            }
        }
        panic!("pagination did not end");
    }
}

impl TestApp {
    /// Waits (at most about 5 s) until a query gives `want`, for what a background task
    /// writes; the caller asserts on the value afterwards.
    pub async fn db_wait(&self, sql: &'static str, want: i64) {
        for _ in 0..250 {
            if self.db_count(sql).await == want {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// True when this app's database is PostgreSQL.
    pub fn on_postgres(&self) -> bool {
        !self.database_url.starts_with("sqlite:")
    }

    /// A count straight from the database, bypassing the server.
    pub async fn db_count(&self, sql: &'static str) -> i64 {
        self.db_value(sql)
            .await
            .unwrap_or_else(|| panic!("{sql} gave NULL"))
    }

    /// One integer (or NULL) straight from the database, bypassing the server.
    pub async fn db_value(&self, sql: &'static str) -> Option<i64> {
        use sqlx::Connection;
        if self.on_postgres() {
            let mut conn = sqlx::PgConnection::connect(&self.database_url)
                .await
                .unwrap();
            sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
        } else {
            let mut conn = sqlx::SqliteConnection::connect(&self.database_url)
                .await
                .unwrap();
            sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
        }
    }

    /// Runs a statement straight on the database, as an operator's tool would.
    pub async fn db_exec(&self, sql: &'static str) {
        self.db_exec_with(sql, Vec::new()).await
    }

    /// Runs a statement with arguments (`$1`, `$2`…: both SQLite and PostgreSQL take them)
    /// straight on the database.
    pub async fn db_exec_with(&self, sql: &'static str, args: Vec<Arg>) {
        use sqlx::Connection;
        macro_rules! run {
            ($conn:expr) => {{
                let mut q = sqlx::query(sql);
                for a in args {
                    q = match a {
                        Arg::Int(n) => q.bind(n),
                        Arg::Text(t) => q.bind(t),
                    };
                }
                q.execute(&mut $conn).await.unwrap();
            }};
        }
        if self.on_postgres() {
            let mut conn = sqlx::PgConnection::connect(&self.database_url)
                .await
                .unwrap();
            run!(conn)
        } else {
            let mut conn = sqlx::SqliteConnection::connect(&self.database_url)
                .await
                .unwrap();
            run!(conn)
        }
    }
}

/// Percent-encodes a path segment (guids are often URLs).
/// A WebSub `X-Hub-Signature` of `body` with `secret` (HMAC-SHA256).
pub fn hub_signature(secret: &str, body: &str) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Asserts an error answer: the status and a JSON body whose `error` is `code`.
pub async fn assert_error(r: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(r.status(), status);
    let ct = r.headers()[CONTENT_TYPE].to_str().unwrap().to_owned();
    assert!(ct.starts_with("application/json"), "{ct}");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    body
}

/// Fails unless `xml` is a well-formed XML document (roxmltree is strict about characters).
pub fn assert_well_formed(xml: &str) {
    if let Err(e) = roxmltree::Document::parse(xml) {
        panic!("not well-formed XML: {e}\n{xml}");
    }
}

pub fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// True under CI: `CI` set to anything but "", "false" or "0". The one rule for every test
/// that needs an outside program or privilege: outside CI it may skip, under CI it must run.
/// `.ci/run` sets `CI=true` whatever the caller had.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// A tool or privilege the test needs is missing. In CI the test fails, saying what to
/// install; elsewhere it prints `SKIPPED: <test>: <what> is not available (<install>)` and the
/// caller returns. The line goes straight to the process's stderr, past libtest's capture, so
/// that `cargo test` shows it and `.ci/run` counts the test as skipped rather than passed.
pub fn skip_missing(what: &str, install: &str) {
    assert!(
        !in_ci(),
        "{what} is not available, and under CI this test must run, not skip: {install}"
    );
    // libtest runs each test on a thread named after it.
    let current = std::thread::current();
    let test = current.name().unwrap_or("unnamed test");
    let line = format!("SKIPPED: {test}: {what} is not available ({install})\n");
    use std::io::Write;
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}
