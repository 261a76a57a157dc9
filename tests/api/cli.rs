//! The real `syndic` binary: every command, its output and its exit code.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::seed::{SEED_URL, seed_item};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_syndic");

/// Runs `syndic` in `dir` with only the settings given, so a developer's .env cannot leak in.
pub(crate) fn syndic(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("SYNDIC_BIND")
        .env_remove("SYNDIC_BASE_URL")
        .env("SYNDIC_BASE_URL", "https://feeds.example.org")
        .output()
        .expect("run syndic")
}

pub(crate) fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn fails(out: &Output, needle: &str) {
    assert!(
        !out.status.success(),
        "expected failure, got {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(needle), "stderr lacks {needle:?}: {err}");
}

#[test]
fn commands_work_end_to_end_on_the_default_database() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&syndic(d, &["migrate"]));
    assert!(
        d.join("syndic.db").exists(),
        "the default database is syndic.db in the working directory"
    );

    let out = ok(&syndic(
        d,
        &[
            "channel",
            "add",
            "monde",
            "--title",
            "Le monde",
            "--language",
            "fr",
        ],
    ));
    assert!(
        out.contains("https://feeds.example.org/feeds/monde/rss.xml"),
        "{out}"
    );
    fails(
        &syndic(d, &["channel", "add", "monde", "--title", "Again"]),
        "already exists",
    );
    fails(
        &syndic(d, &["channel", "add", "Bad Slug", "--title", "x"]),
        "invalid slug",
    );
    assert!(ok(&syndic(d, &["channel", "list"])).starts_with("monde\tLe monde\t"));

    let token = ok(&syndic(d, &["token", "create", "--name", "ci"]));
    let lines: Vec<&str> = token.lines().collect();
    assert_eq!(lines.len(), 1, "only the token on stdout");
    assert!(lines[0].starts_with("syndic_") && lines[0].len() > 40);
    let db = std::fs::read(d.join("syndic.db")).unwrap();
    assert!(
        !db.windows(lines[0].len()).any(|w| w == lines[0].as_bytes()),
        "never stored in clear"
    );

    std::fs::write(d.join("seed.json"), seed_item().to_string()).unwrap();
    let out = ok(&syndic(d, &["ingest", "monde", "seed.json"]));
    assert!(out.contains("created 1"), "{out}");
    let out = ok(&syndic(d, &["ingest", "monde", "seed.json"]));
    assert!(out.contains("created 0, updated 0, unchanged 1"), "{out}");

    // One bad file among good ones: nothing is written, the message names file, item, field.
    std::fs::write(d.join("good.json"), r#"{"id":"good","title":"Good"}"#).unwrap();
    std::fs::write(
        d.join("bad.json"),
        r#"[{"id":"x","title":"x"},{"id":"y","title":"y","date_published":"2025-01-01 10:00"}]"#,
    )
    .unwrap();
    fails(
        &syndic(d, &["ingest", "monde", "good.json", "bad.json"]),
        "bad.json: item 1: date_published",
    );
    fails(
        &syndic(d, &["ingest", "monde", "missing.json"]),
        "missing.json",
    );
    fails(
        &syndic(d, &["ingest", "nope", "good.json"]),
        "no channel \"nope\"",
    );

    let json = ok(&syndic(d, &["render", "monde", "--format", "json"]));
    assert!(json.ends_with('\n'), "a final newline");
    let feed: Value = serde_json::from_str(&json).unwrap();
    let items = feed["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "good.json was not written");
    assert_eq!(items[0]["id"], SEED_URL);
    assert_eq!(
        feed["feed_url"],
        "https://feeds.example.org/feeds/monde/feed.json"
    );
    let rss = ok(&syndic(d, &["render", "monde", "--format", "rss"]));
    assert!(rss.ends_with(">\n"), "a final newline");
    let channel = rss::Channel::read_from(rss.as_bytes()).unwrap();
    assert_eq!(channel.title, "Le monde");
    assert_eq!(channel.language.as_deref(), Some("fr"));
    let guids: Vec<&str> = channel
        .items
        .iter()
        .map(|i| i.guid.as_ref().unwrap().value.as_str())
        .collect();
    assert_eq!(guids, [SEED_URL], "{rss}");
    let atom = ok(&syndic(
        d,
        &["render", "monde", "--format", "atom", "--limit", "1"],
    ));
    let feed = atom_syndication::Feed::read_from(atom.as_bytes()).unwrap();
    assert_eq!(feed.title.as_str(), "Le monde");
    let ids: Vec<&str> = feed.entries.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, [SEED_URL], "{atom}");
    // A reader that goes away (`syndic render … | head -c 0`) is no error: the pipe is
    // closed before syndic writes, and it exits 0 without a message.
    let mut child = Command::new(BIN)
        .args(["render", "monde", "--format", "rss"])
        .current_dir(d)
        .env_remove("DATABASE_URL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    fails(&syndic(d, &["render", "monde", "--limit", "0"]), "--limit");
    fails(&syndic(d, &["render", "monde", "--format", "pdf"]), "pdf");
}

#[test]
fn ingest_reads_standard_input() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&syndic(d, &["migrate"]));
    ok(&syndic(d, &["channel", "add", "news", "--title", "News"]));
    let mut child = Command::new(BIN)
        .args(["ingest", "news", "-"])
        .current_dir(d)
        .env_remove("DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let rss = r#"<rss version="2.0"><channel><title>t</title><link>https://x.example/</link><description/>
<item><title>From stdin</title><link>https://x.example/1</link></item></channel></rss>"#;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(rss.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(ok(&out).contains("created 1"));
}

#[test]
fn every_command_has_help() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["migrate", "--help"],
        vec!["channel", "add", "--help"],
        vec!["channel", "list", "--help"],
        vec!["token", "create", "--help"],
        vec!["ingest", "--help"],
        vec!["render", "--help"],
    ] {
        let out = ok(&syndic(dir.path(), &args));
        assert!(out.contains("Usage"), "{args:?}: {out}");
    }
    let out = syndic(dir.path(), &["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
}

/// `syndic serve` on an ephemeral port: it creates and migrates its database, answers, and
/// stops cleanly on SIGTERM.
#[test]
fn serve_runs_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (serving, addr) = start_serve(dir.path(), &[]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let status = rt.block_on(async {
        let mut status = None;
        for _ in 0..50 {
            if let Ok(r) = reqwest::get(format!("http://{addr}/healthz")).await {
                status = Some(r.status());
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        status
    });
    assert_eq!(status, Some(reqwest::StatusCode::OK));
    assert!(dir.path().join("syndic.db").exists());
    stop(serving);
}

/// The poller's commands against a real upstream on loopback: subscribe, list, poll once,
/// OPML in and out, unsubscribe.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscription_commands_end_to_end() {
    let up = crate::upstream::spawn_upstream().await;
    up.set_feed(
        "news",
        "application/rss+xml",
        crate::upstream::rss_feed("Upstream News", &[("a", "Alpha", "https://u.example/a")]),
    );
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_owned();
    let run = |args: Vec<String>| {
        let d = d.clone();
        tokio::task::spawn_blocking(move || {
            Command::new(BIN)
                .args(&args)
                .current_dir(&d)
                .env_remove("DATABASE_URL")
                .env("SYNDIC_ALLOW_PRIVATE_UPSTREAMS", "true")
                .output()
                .expect("run syndic")
        })
    };
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    ok(&run(s(&["migrate"])).await.unwrap());
    ok(&run(s(&["channel", "add", "planet", "--title", "Planet"]))
        .await
        .unwrap());
    let out = ok(
        &run(s(&["subscribe", &up.url("/x/page"), "--channel", "planet"]))
            .await
            .unwrap(),
    );
    assert!(
        out.contains(&format!("subscribed #1 planet to {}", up.url("/f/news"))),
        "{out}"
    );
    assert!(
        out.contains(&up.url("/f/atom")),
        "the other advertised feeds are listed: {out}"
    );
    fails(
        &run(s(&["subscribe", &up.url("/f/news"), "--channel", "planet"]))
            .await
            .unwrap(),
        "already has subscription #1",
    );
    fails(
        &run(s(&["subscribe", "ftp://x", "--channel", "planet"]))
            .await
            .unwrap(),
        "\"ftp://x\": only http and https feeds can be polled",
    );
    fails(
        &run(s(&[
            "subscribe",
            &up.url("/f/news"),
            "--channel",
            "planet",
            "--every",
            "10s",
        ]))
        .await
        .unwrap(),
        "5m",
    );

    let out = ok(&run(s(&["poll", "--once"])).await.unwrap());
    assert!(out.contains("imported: created 1"), "{out}");
    assert!(out.contains("polled 1, failed 0"), "{out}");
    let out = ok(&run(s(&["poll", "--once"])).await.unwrap());
    assert!(out.contains("polled 0"), "nothing is due: {out}");

    let table = ok(&run(s(&["subscriptions"])).await.unwrap());
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("ID")
            && lines[0].contains("NEXT FETCH")
            && lines[0].contains("LAST ERROR")
    );
    assert!(
        lines[1].contains(&up.url("/f/news")) && lines[1].contains("200"),
        "{table}"
    );

    let opml = format!(
        r#"<?xml version="1.0"?><opml version="2.0"><head><title>t</title></head><body>
<outline text="Tech"><outline text="Deep"><outline type="rss" text="Nested" xmlUrl="{}"/></outline></outline>
<outline type="rss" text="Again" xmlUrl="{}"/></body></opml>"#,
        up.url("/f/other"),
        up.url("/f/news")
    );
    std::fs::write(d.join("in.opml"), opml).unwrap();
    let out = ok(&run(s(&["import-opml", "in.opml", "--channel", "planet"]))
        .await
        .unwrap());
    assert!(out.contains("1 new feeds (1 already subscribed)"), "{out}");
    let exported = ok(&run(s(&["export-opml"])).await.unwrap());
    let doc = roxmltree::Document::parse(&exported).unwrap();
    let urls: Vec<&str> = doc
        .descendants()
        .filter_map(|n| n.attribute("xmlUrl"))
        .collect();
    assert!(
        urls.contains(&up.url("/f/news").as_str()) && urls.contains(&up.url("/f/other").as_str()),
        "{exported}"
    );
    assert!(
        urls.iter().any(|u| u.ends_with("/feeds/planet/rss.xml")),
        "published channels are listed"
    );

    ok(&run(s(&["unsubscribe", "1"])).await.unwrap());
    fails(
        &run(s(&["unsubscribe", "1"])).await.unwrap(),
        "no subscription #1",
    );
    let json = ok(&run(s(&["render", "planet", "--format", "json"]))
        .await
        .unwrap());
    assert!(
        json.contains("Alpha"),
        "imported articles stay after unsubscribing"
    );
}

/// Token management and backups run against the database of a live server. On SQLite
/// whatever the tests' backend: it checks the copy as a SQLite file (`VACUUM INTO`);
/// `postgres_backup_runs_pg_dump` is its PostgreSQL side.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_and_backup_work_while_the_server_runs() {
    let app = crate::helpers::spawn_sqlite_app().await;
    app.create_channel("news", serde_json::json!({})).await;
    app.ingest("news", &seed_item()).await;
    let db = format!("sqlite:{}", app.db_path.display());
    let dir = tempfile::tempdir().unwrap();
    let run = |args: Vec<String>| {
        let (db, d) = (db.clone(), dir.path().to_owned());
        tokio::task::spawn_blocking(move || {
            Command::new(BIN)
                .args(&args)
                .current_dir(&d)
                .env("DATABASE_URL", &db)
                .env("SYNDIC_LOG_FORMAT", "json")
                .output()
                .expect("run syndic")
        })
    };
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();

    let list = ok(&run(s(&["token", "list"])).await.unwrap());
    assert!(
        list.starts_with("1\ttests\tcreated ") && list.contains("active"),
        "{list}"
    );
    assert!(!list.contains(&app.token), "tokens are never shown again");

    let backup = dir.path().join("copy.db");
    let out = ok(&run(s(&["backup", backup.to_str().unwrap()])).await.unwrap());
    assert!(out.contains("backed up"), "{out}");
    fails(
        &run(s(&["backup", backup.to_str().unwrap()])).await.unwrap(),
        "exists already",
    );
    let copy = format!("sqlite:{}", backup.display());
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&copy)
        .await
        .unwrap();
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM articles")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(n, 1);
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(check, "ok");

    let r = app
        .api(reqwest::Method::GET, "/channels")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    ok(&run(s(&["token", "revoke", "1"])).await.unwrap());
    fails(
        &run(s(&["token", "revoke", "1"])).await.unwrap(),
        "no active token #1",
    );
    let r = app
        .api(reqwest::Method::GET, "/channels")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        reqwest::StatusCode::UNAUTHORIZED,
        "a revoked token is refused"
    );
    let list = ok(&run(s(&["token", "list"])).await.unwrap());
    assert!(list.contains("revoked "), "{list}");
}

/// With `SYNDIC_LOG_FORMAT=json`, every line `serve` logs, from start to SIGTERM, is a JSON
/// object with a level and a message; an unknown format is refused before anything runs.
#[test]
fn serve_logs_json_lines_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .arg("serve")
        .current_dir(dir.path())
        .env_remove("DATABASE_URL")
        .env_remove("SYNDIC_BASE_URL")
        .env("SYNDIC_BIND", "127.0.0.1:0")
        .env("RUST_LOG", "syndic=info")
        .env("SYNDIC_LOG_FORMAT", "json")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let serving = Serving(child);
    let mut lines = stderr.lines();
    let mut logged: Vec<Value> = Vec::new();
    // The log up to the address it listens on (bounded: a start logs a few lines).
    let addr = loop {
        assert!(logged.len() < 50, "no address in {logged:#?}");
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("serve ended: {logged:#?}"))
            .unwrap();
        let v: Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON: {e}: {line}"));
        logged.push(v.clone());
        if let Some(addr) = v["fields"]["addr"].as_str() {
            break addr.to_owned();
        }
    };
    let listening = logged.last().unwrap().clone();
    assert_eq!(
        listening["fields"]["message"],
        format!("listening on http://{addr}"),
        "{listening}"
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let status = rt.block_on(async { reqwest::get(format!("http://{addr}/healthz")).await });
    assert!(status.is_ok_and(|r| r.status().is_success()));
    stop(serving);
    // Whatever followed, to the end of the stream (the process has exited).
    for line in lines {
        let line = line.unwrap();
        logged
            .push(serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON: {e}: {line}")));
    }
    for v in &logged {
        assert!(
            v["level"].is_string() && v["fields"]["message"].is_string(),
            "{v}"
        );
    }
    let messages: Vec<&str> = logged
        .iter()
        .filter_map(|v| v["fields"]["message"].as_str())
        .collect();
    assert!(messages.contains(&"stopped"), "{messages:?}");

    let bad = Command::new(BIN)
        .arg("migrate")
        .current_dir(dir.path())
        .env_remove("DATABASE_URL")
        .env("SYNDIC_LOG_FORMAT", "xml")
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert_eq!(
        String::from_utf8_lossy(&bad.stderr).trim(),
        "error: SYNDIC_LOG_FORMAT \"xml\" must be text or json"
    );
}

/// A `syndic serve` process on an ephemeral port in `dir`: the child and its address. Its
/// stderr is drained in a thread once the address is known.
/// A running `syndic serve`, killed if a test fails before it stops it.
pub(crate) struct Serving(pub(crate) std::process::Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn start_serve(dir: &Path, envs: &[(&str, &str)]) -> (Serving, String) {
    let mut cmd = Command::new(BIN);
    cmd.arg("serve")
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("SYNDIC_BASE_URL")
        .env("SYNDIC_BIND", "127.0.0.1:0")
        .env("RUST_LOG", "syndic=info")
        .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut serving = Serving(cmd.spawn().unwrap());
    let mut stderr = BufReader::new(serving.0.stderr.take().unwrap());
    let mut line = String::new();
    for _ in 0..50 {
        line.clear();
        if stderr.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if let Some(rest) = line.split("listening on http://").nth(1) {
            let addr = rest.split_whitespace().next().unwrap().to_owned();
            std::thread::spawn(move || {
                let mut sink = String::new();
                while stderr.read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
                    sink.clear();
                }
            });
            return (serving, addr);
        }
    }
    panic!("serve did not log its address");
}

/// Whether process `pid` catches SIGTERM (bit 15 of `SigCgt` in `/proc/PID/status`).
fn catches_sigterm(pid: u32) -> bool {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigCgt:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (15 - 1)) != 0)
}

/// Stops a server with SIGTERM, as systemd would, and checks it exits cleanly.
///
/// `serve` registers for SIGTERM before it logs its address (a SIGTERM in between would kill
/// it with the default action), so by the time a test has the address the handler is there.
pub(crate) fn stop(mut serving: Serving) {
    let child = &mut serving.0;
    let pid = child.id();
    assert!(
        catches_sigterm(pid),
        "serve logged its address before handling SIGTERM"
    );
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    for _ in 0..100 {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{status:?}");
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("serve did not stop on SIGTERM");
}

/// The WebSub round trip between two syndic processes: B subscribes to A's channel, A's hub
/// verifies B, and an article ingested into A (with the CLI, while A serves) reaches B's
/// channel by a signed push, without B polling.
#[test]
fn websub_round_trip_between_two_processes() {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // B polls A (an upstream) and A's hub verifies and pushes to B (a callback): both on
    // loopback, so both settings.
    let private = [
        ("SYNDIC_ALLOW_PRIVATE_UPSTREAMS", "true"),
        ("SYNDIC_ALLOW_PRIVATE_CALLBACKS", "true"),
    ];
    ok(&syndic(da.path(), &["migrate"]));
    ok(&syndic(db.path(), &["migrate"]));
    ok(&syndic(
        da.path(),
        &["channel", "add", "source", "--title", "Source"],
    ));
    ok(&syndic(
        db.path(),
        &["channel", "add", "mirror", "--title", "Mirror"],
    ));
    let token_b = ok(&syndic(db.path(), &["token", "create"]))
        .trim()
        .to_owned();
    std::fs::write(
        da.path().join("first.json"),
        r#"{"id":"https://a.example/1","title":"First"}"#,
    )
    .unwrap();
    ok(&syndic(da.path(), &["ingest", "source", "first.json"]));
    let (a, addr_a) = start_serve(da.path(), &private);
    let (b, addr_b) = start_serve(db.path(), &private);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = reqwest::Client::new();
        let api = |m: reqwest::Method, p: &str| {
            client
                .request(m, format!("http://{addr_b}/api/v1{p}"))
                .bearer_auth(&token_b)
        };
        let r = api(reqwest::Method::POST, "/subscriptions")
            .json(&serde_json::json!({ "url": format!("http://{addr_a}/feeds/source/atom.xml"), "channel": "mirror" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::CREATED);
        let id = r.json::<Value>().await.unwrap()["subscription"]["id"].as_i64().unwrap();
        // B's first import: by poll (here by hand, rather than waiting for its round).
        api(reqwest::Method::POST, &format!("/subscriptions/{id}/poll")).send().await.unwrap();
        let mut leased = false;
        for _ in 0..100 {
            let s: Value = api(reqwest::Method::GET, &format!("/subscriptions/{id}")).send().await.unwrap().json().await.unwrap();
            if !s["websub_expires_at"].is_null() {
                leased = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(leased, "A's hub verified B and B holds a lease");
        let polled: Value = api(reqwest::Method::GET, &format!("/subscriptions/{id}")).send().await.unwrap().json().await.unwrap();

        std::fs::write(da.path().join("second.json"), r#"{"id":"https://a.example/2","title":"Pushed across processes"}"#).unwrap();
        ok(&syndic(da.path(), &["ingest", "source", "second.json"]));
        let mut arrived = false;
        for _ in 0..200 {
            let feed = client.get(format!("http://{addr_b}/feeds/mirror/rss.xml")).send().await.unwrap().text().await.unwrap();
            if feed.contains("Pushed across processes") {
                arrived = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(arrived, "the push reached B");
        let after: Value = api(reqwest::Method::GET, &format!("/subscriptions/{id}")).send().await.unwrap().json().await.unwrap();
        assert_eq!(after["last_fetch_at"], polled["last_fetch_at"], "B did not poll");
    });
    stop(a);
    stop(b);
}

#[test]
fn retention_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&syndic(d, &["migrate"]));
    ok(&syndic(d, &["channel", "add", "news", "--title", "News"]));
    std::fs::write(
        d.join("three.json"),
        r#"[{"id":"1","title":"One","date_published":"2025-01-01T00:00:00Z"},{"id":"2","title":"Two","date_published":"2025-01-02T00:00:00Z"},{"id":"3","title":"Three","date_published":"2025-01-03T00:00:00Z"}]"#,
    )
    .unwrap();
    ok(&syndic(d, &["ingest", "news", "three.json"]));
    let out = ok(&syndic(
        d,
        &["channel", "retention", "news", "--max-articles", "2"],
    ));
    assert!(
        out.contains("keep 2 articles, all days; pruned 1 now"),
        "{out}"
    );
    assert!(ok(&syndic(d, &["prune"])).contains("pruned 0 articles"));
    let json = ok(&syndic(d, &["render", "news", "--format", "json"]));
    assert!(json.contains("Three") && json.contains("Two") && !json.contains("\"One\""));
    fails(
        &syndic(d, &["channel", "retention", "news"]),
        "--max-articles",
    );
    let zero = syndic(d, &["channel", "retention", "news", "--days", "0"]);
    assert_eq!(zero.status.code(), Some(2), "a usage error");
    fails(&zero, "invalid value '0' for '--days <DAYS>'");
    let out = ok(&syndic(d, &["channel", "retention", "news", "--keep-all"]));
    assert!(out.contains("keep all articles, all days"), "{out}");
}

/// The exit code, for a process that was not killed.
fn code(out: &Output) -> i32 {
    out.status.code().expect("exited")
}

/// Standard output parsed as one JSON document, after a success.
fn json_out(out: &Output) -> Value {
    let text = ok(out);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON: {e}: {text}"))
}

/// Only `serve` and `migrate` create a database. Every other command, run where there is
/// none, fails with the path it looked for and how to point at the right one, and creates
/// nothing; a `.env` it read is named.
#[test]
fn a_missing_database_is_an_error_not_a_new_empty_one() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for args in [
        &["channel", "list"][..],
        &["backup", "b.db"],
        &["token", "create"],
        &["subscriptions"],
        &["article", "list", "x"],
        &["poll", "--once"],
    ] {
        let out = syndic(d, args);
        assert_eq!(code(&out), 1, "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        let path = d.canonicalize().unwrap().join("syndic.db");
        for needle in [
            format!("there is no database at {}", path.display()),
            "DATABASE_URL is sqlite:syndic.db (the default".into(),
            "no .env file was found".into(),
            "syndic migrate".into(),
        ] {
            assert!(err.contains(&needle), "{args:?}: {needle:?} not in {err}");
        }
        assert!(!d.join("syndic.db").exists(), "{args:?} created a database");
        assert!(!d.join("b.db").exists());
    }
    // A .env naming another database: the message names both.
    std::fs::write(d.join(".env"), "DATABASE_URL=sqlite:data/feeds.db\n").unwrap();
    let out = syndic(d, &["channel", "list"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("data/feeds.db") && err.contains(".env"),
        "{err}"
    );
    assert!(!err.contains("the default"), "{err}");
    assert!(!d.join("data").exists());

    // migrate creates it; then the commands work.
    std::fs::remove_file(d.join(".env")).unwrap();
    ok(&syndic(d, &["migrate"]));
    assert_eq!(ok(&syndic(d, &["channel", "list"])), "");

    // A database without channels is most likely the wrong one: backup says so.
    let out = syndic(d, &["backup", "empty.db"]);
    assert_eq!(code(&out), 2);
    fails(&out, "has no channel");
    assert!(!d.join("empty.db").exists());
    let v = json_out(&syndic(
        d,
        &["backup", "empty.db", "--allow-empty", "--json"],
    ));
    assert_eq!(v["backup"], "empty.db");
    assert!(d.join("empty.db").exists());
}

/// `channel add|list|show|edit|delete`, tables by default and the API's JSON with --json.
#[test]
fn channel_commands_with_tables_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&syndic(d, &["migrate"]));
    let added = json_out(&syndic(
        d,
        &[
            "channel",
            "add",
            "world",
            "--title",
            "Le monde",
            "--link",
            "https://news.example.fr/",
            "--language",
            "fr",
            "--json",
        ],
    ));
    assert_eq!(added["slug"], "world");
    assert_eq!(
        added["feeds"]["atom"],
        "https://feeds.example.org/feeds/world/atom.xml"
    );
    ok(&syndic(d, &["channel", "add", "sport", "--title", "Sport"]));
    let list = json_out(&syndic(d, &["--json", "channel", "list"]));
    let slugs: Vec<&str> = list["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["sport", "world"]);

    let table = ok(&syndic(d, &["channel", "show", "world"]));
    assert!(table.starts_with("FIELD"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("language") && l.ends_with("fr")),
        "{table}"
    );

    let edited = json_out(&syndic(
        d,
        &[
            "channel",
            "edit",
            "world",
            "--title",
            "The world",
            "--link",
            "",
            "--json",
        ],
    ));
    assert_eq!(edited["title"], "The world");
    assert_eq!(edited["link"], Value::Null, "an empty --link clears it");
    assert_eq!(edited["language"], "fr", "what is not given stays");
    let shown = json_out(&syndic(d, &["channel", "show", "world", "--json"]));
    assert_eq!(shown["title"], "The world");
    let out = syndic(d, &["channel", "edit", "world"]);
    assert_eq!(code(&out), 2);
    fails(&out, "--title");
    fails(
        &syndic(d, &["channel", "edit", "world", "--link", "relative/path"]),
        "absolute",
    );
    let out = syndic(d, &["channel", "edit", "nope", "--title", "x"]);
    assert_eq!(code(&out), 3, "not found");

    // Delete asks for --yes, and deletes nothing without it.
    let out = syndic(d, &["channel", "delete", "sport"]);
    assert_eq!(code(&out), 2);
    fails(&out, "--yes");
    assert!(ok(&syndic(d, &["channel", "list"])).contains("sport"));
    let v = json_out(&syndic(
        d,
        &["channel", "delete", "sport", "--yes", "--json"],
    ));
    assert_eq!(v["deleted"], "sport");
    assert!(!ok(&syndic(d, &["channel", "list"])).contains("sport"));
    let out = syndic(d, &["channel", "show", "sport"]);
    assert_eq!(code(&out), 3);
    fails(&out, "no channel \"sport\"");

    let v = json_out(&syndic(
        d,
        &[
            "channel",
            "retention",
            "world",
            "--max-articles",
            "5",
            "--json",
        ],
    ));
    assert_eq!(v["retain_max_articles"], 5);
    assert_eq!(v["pruned"], 0);
}

/// `article list|show|delete|restore`: pages that walk the whole channel, the API's shapes
/// with --json, a tombstone that ingest respects and restore lifts.
#[test]
fn article_commands_page_show_delete_and_restore() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&syndic(d, &["migrate"]));
    ok(&syndic(d, &["channel", "add", "news", "--title", "News"]));
    std::fs::write(
        d.join("three.json"),
        r#"[{"id":"1","title":"One","date_published":"2025-01-01T00:00:00Z"},{"id":"2","title":"Two","date_published":"2025-01-02T00:00:00Z"},{"id":"3","title":"Three","date_published":"2025-01-03T00:00:00Z"}]"#,
    )
    .unwrap();
    let report = json_out(&syndic(d, &["ingest", "news", "three.json", "--json"]));
    assert_eq!(report["created"], 3);

    let page = json_out(&syndic(
        d,
        &["article", "list", "news", "--limit", "2", "--json"],
    ));
    let ids = |p: &Value| -> Vec<String> {
        p["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(&page), ["3", "2"]);
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let rest = json_out(&syndic(
        d,
        &[
            "article", "list", "news", "--limit", "2", "--before", &cursor, "--json",
        ],
    ));
    assert_eq!(ids(&rest), ["1"]);
    assert_eq!(rest["next_cursor"], Value::Null);

    let out = syndic(d, &["article", "list", "news", "--limit", "2"]);
    let table = ok(&out);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("PUBLISHED") && lines[0].contains("TITLE"));
    assert!(lines[1].starts_with("2025-01-03") && lines[1].ends_with("Three"));
    assert_eq!(lines.len(), 3);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!("--before {cursor}")),
        "the next page's command goes to stderr"
    );
    let out = syndic(d, &["article", "list", "news", "--before", "nonsense"]);
    assert_eq!(code(&out), 2);
    fails(&out, "not a cursor");

    let shown = json_out(&syndic(d, &["article", "show", "news", "2", "--json"]));
    assert_eq!(shown["title"], "Two");
    assert!(shown["_syndic_first_seen_at"].is_string());
    let table = ok(&syndic(d, &["article", "show", "news", "2"]));
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("title") && l.ends_with("Two"))
    );

    let v = json_out(&syndic(d, &["article", "delete", "news", "2", "--json"]));
    assert_eq!(v["deleted"], "2");
    assert_eq!(code(&syndic(d, &["article", "show", "news", "2"])), 3);
    assert_eq!(code(&syndic(d, &["article", "delete", "news", "2"])), 3);
    let again = json_out(&syndic(d, &["ingest", "news", "three.json", "--json"]));
    assert_eq!(again["skipped_deleted"], 1, "the tombstone keeps it out");

    std::fs::write(
        d.join("two.json"),
        r#"{"title":"Two, again","date_published":"2025-01-02T00:00:00Z"}"#,
    )
    .unwrap();
    let out = syndic(d, &["article", "restore", "news", "two.json"]);
    assert_eq!(code(&out), 2, "no id in the item nor on the line");
    let restored = json_out(&syndic(
        d,
        &[
            "article", "restore", "news", "two.json", "--id", "2", "--json",
        ],
    ));
    assert_eq!(restored["id"], "2");
    assert_eq!(restored["title"], "Two, again");
    let out = ok(&syndic(
        d,
        &["article", "restore", "news", "two.json", "--id", "2"],
    ));
    assert_eq!(out.trim(), "unchanged 2 in news");
    fails(
        &syndic(
            d,
            &["article", "restore", "news", "three.json", "--id", "1"],
        ),
        "exactly one",
    );
    let all = json_out(&syndic(d, &["article", "list", "news", "--json"]));
    assert_eq!(ids(&all), ["3", "2", "1"]);
}

/// Tokens with --json: the token once, the list without it, a revoke of nothing is "not
/// found".
#[test]
fn token_commands_with_json() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&syndic(d, &["migrate"]));
    let created = json_out(&syndic(d, &["token", "create", "--name", "ci", "--json"]));
    let token = created["token"].as_str().unwrap();
    assert!(token.starts_with("syndic_"));
    assert_eq!(created["name"], "ci");
    let list = json_out(&syndic(d, &["token", "list", "--json"]));
    let tokens = list["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0]["id"], created["id"]);
    assert!(!list.to_string().contains(token), "never shown again");
    let id = created["id"].to_string();
    let v = json_out(&syndic(d, &["token", "revoke", &id, "--json"]));
    assert_eq!(v["revoked"], created["id"]);
    let out = syndic(d, &["token", "revoke", &id]);
    assert_eq!(code(&out), 3);
    fails(&out, "no active token");
}

/// `subscription add|list|show|poll|remove` and `poll --subscription`: one poll now,
/// whatever the schedule, its report printed once (stdout, not also an INFO log), a failed
/// poll a failed command; `poll --once` prints each report once too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscription_group_and_polling_one_now() {
    let up = crate::upstream::spawn_upstream().await;
    up.set_feed(
        "news",
        "application/rss+xml",
        crate::upstream::rss_feed("Upstream News", &[("a", "Alpha", "https://u.example/a")]),
    );
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_owned();
    let run = |args: Vec<String>| {
        let d = d.clone();
        tokio::task::spawn_blocking(move || {
            Command::new(BIN)
                .args(&args)
                .current_dir(&d)
                .env_remove("DATABASE_URL")
                .env_remove("RUST_LOG")
                .env_remove("SYNDIC_LOG_FORMAT")
                .env("SYNDIC_ALLOW_PRIVATE_UPSTREAMS", "true")
                .output()
                .expect("run syndic")
        })
    };
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    ok(&run(s(&["migrate"])).await.unwrap());
    ok(&run(s(&["channel", "add", "planet", "--title", "Planet"]))
        .await
        .unwrap());
    let out = run(s(&[
        "subscription",
        "add",
        &up.url("/f/news"),
        "--channel",
        "planet",
        "--json",
    ]))
    .await
    .unwrap();
    let added = json_out(&out);
    assert_eq!(added["subscription"]["id"], 1);
    assert_eq!(added["subscription"]["url"], up.url("/f/news"));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("127.0.0.1 is a private or local address"),
        "the CLI says the server must allow it too: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A URL that is no feed is refused, and nothing is subscribed.
    let out = run(s(&[
        "subscription",
        "add",
        &up.url("/x/gone"),
        "--channel",
        "planet",
    ]))
    .await
    .unwrap();
    assert_eq!(code(&out), 1);
    fails(&out, "410 Gone");
    // #2 by OPML, which does not fetch: an upstream that answers 500.
    std::fs::write(
        d.join("bad.opml"),
        format!(
            r#"<opml version="2.0"><body><outline type="rss" text="Bad" xmlUrl="{}"/></body></opml>"#,
            up.url("/x/error")
        ),
    )
    .unwrap();
    ok(&run(s(&["import-opml", "bad.opml", "--channel", "planet"]))
        .await
        .unwrap());

    // Poll #1 now: one report line on stdout, no per-poll log on stderr.
    let out = run(s(&["poll", "--subscription", "1"])).await.unwrap();
    let stdout = ok(&out);
    assert_eq!(
        stdout.matches("#1 ").count(),
        1,
        "the report is printed once: {stdout}"
    );
    assert!(stdout.contains("imported: created 1"), "{stdout}");
    assert!(stdout.contains("next fetch: "), "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("polled"), "not logged as well: {stderr}");
    // Not due any more, yet polled again: unchanged this time.
    let v = json_out(
        &run(s(&["subscription", "poll", "1", "--json"]))
            .await
            .unwrap(),
    );
    assert_eq!(v["poll"]["status"], "not_modified");
    assert_eq!(v["subscription"]["id"], 1);
    assert!(v["subscription"]["next_fetch_at"].is_string());

    // #2 answers 500: the poll fails, and so does the command, after its report.
    let out = run(s(&["poll", "--subscription", "2"])).await.unwrap();
    assert_eq!(code(&out), 1);
    assert!(String::from_utf8_lossy(&out.stdout).contains("#2 "));
    fails(&out, "the poll of subscription #2 failed");
    let list = json_out(&run(s(&["subscription", "list", "--json"])).await.unwrap());
    let subs = list["subscriptions"].as_array().unwrap();
    assert_eq!(subs.len(), 2);
    assert!(subs[1]["last_error"].as_str().unwrap().contains("500"));
    assert!(subs[1]["next_fetch_at"].is_string());
    let table = ok(&run(s(&["subscription", "show", "2"])).await.unwrap());
    assert!(
        table.contains("NEXT FETCH") && table.contains("HTTP 500"),
        "{table}"
    );
    assert_eq!(
        code(&run(s(&["poll", "--subscription", "9"])).await.unwrap()),
        3
    );

    let out = run(s(&["poll", "--subscription", "2", "--json"]))
        .await
        .unwrap();
    assert_eq!(code(&out), 1);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["poll"]["error"], "HTTP 500");
    assert_eq!(v["subscription"]["error_count"], 2);

    // poll --once: only what is due (#3, new; #1 and #2 were just polled), each report once.
    std::fs::write(
        d.join("more.opml"),
        format!(
            r#"<opml version="2.0"><body><outline type="rss" text="LM" xmlUrl="{}"/></body></opml>"#,
            up.url("/lm/news")
        ),
    )
    .unwrap();
    ok(
        &run(s(&["import-opml", "more.opml", "--channel", "planet"]))
            .await
            .unwrap(),
    );
    let out = run(s(&["poll", "--once"])).await.unwrap();
    let stdout = ok(&out);
    assert_eq!(stdout.matches("#3 ").count(), 1, "{stdout}");
    assert!(
        !stdout.contains("#1 ") && !stdout.contains("#2 "),
        "{stdout}"
    );
    assert!(stdout.contains("polled 1, failed 0"), "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("polled"), "not logged as well: {stderr}");

    let v = json_out(
        &run(s(&["subscription", "remove", "2", "--json"]))
            .await
            .unwrap(),
    );
    assert_eq!(v["removed"], 2);
    assert_eq!(
        code(&run(s(&["subscription", "remove", "2"])).await.unwrap()),
        3
    );
}

/// A channel cannot be subscribed to a feed of its own instance, however the URL reaches
/// it: directly under another loopback name, through a redirect, through a page's
/// autodiscovery. OPML import (of the instance's own export, say) skips such feeds and says
/// so. Another instance's feed (another port) stays allowed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_subscription_to_a_feed_of_this_instance() {
    let up = crate::upstream::spawn_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_owned();
    // This instance: bound to 127.0.0.1:18080 (nothing needs to listen: its own feeds are
    // refused before any request), published as https://feeds.example.org.
    let run = |args: Vec<String>| {
        let d = d.clone();
        tokio::task::spawn_blocking(move || {
            Command::new(BIN)
                .args(&args)
                .current_dir(&d)
                .env_remove("DATABASE_URL")
                .env("SYNDIC_BIND", "127.0.0.1:18080")
                .env("SYNDIC_BASE_URL", "https://feeds.example.org")
                .env("SYNDIC_ALLOW_PRIVATE_UPSTREAMS", "true")
                .output()
                .expect("run syndic")
        })
    };
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    ok(&run(s(&["migrate"])).await.unwrap());
    ok(&run(s(&["channel", "add", "planet", "--title", "Planet"]))
        .await
        .unwrap());
    up.set_feed(
        "selfpage",
        "text/html",
        r#"<html><head><link rel="alternate" type="application/atom+xml" href="http://localhost:18080/feeds/planet/atom.xml"></head></html>"#,
    );
    for url in [
        "https://feeds.example.org/feeds/planet/rss.xml".to_owned(),
        "https://FEEDS.example.org:443/feeds/other/feed.json?tag=x".to_owned(),
        "http://localhost:18080/feeds/planet/atom.xml".to_owned(),
        "http://[::1]:18080/feeds/planet/rss.xml".to_owned(),
        up.url("/go?to=http://127.0.0.1:18080/feeds/planet/rss.xml"),
        up.url("/f/selfpage"),
    ] {
        let out = run(s(&["subscribe", &url, "--channel", "planet"]))
            .await
            .unwrap();
        assert_eq!(code(&out), 1, "{url}");
        fails(&out, "is a feed of this syndic instance");
        fails(&out, "?tag=");
    }
    // Without private upstreams allowed, a loopback URL of this instance is still named as
    // its own feed (not as a private address, whose advice would lead to the loop).
    let d2 = d.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args([
                "subscribe",
                "http://127.0.0.1:18080/feeds/planet/atom.xml",
                "--channel",
                "planet",
            ])
            .current_dir(&d2)
            .env_remove("DATABASE_URL")
            .env("SYNDIC_BIND", "127.0.0.1:18080")
            .env("SYNDIC_BASE_URL", "https://feeds.example.org")
            .env("SYNDIC_ALLOW_PRIVATE_UPSTREAMS", "false")
            .output()
            .expect("run syndic")
    })
    .await
    .unwrap();
    assert_eq!(code(&out), 1);
    fails(&out, "is a feed of this syndic instance");
    let list = json_out(&run(s(&["subscriptions", "--json"])).await.unwrap());
    assert_eq!(list["subscriptions"], serde_json::json!([]));
    assert!(
        up.seen("/f/selfpage").len() == 1 && up.seen("/go").len() == 1,
        "the upstreams were asked; this instance never was"
    );

    // Another syndic instance, on another port, is an upstream like any other.
    up.set_feed(
        "news",
        "application/rss+xml",
        crate::upstream::rss_feed("News", &[("a", "Alpha", "https://u.example/a")]),
    );
    ok(
        &run(s(&["subscribe", &up.url("/f/news"), "--channel", "planet"]))
            .await
            .unwrap(),
    );

    // OPML: the instance's own export lists its channels; importing it skips them.
    let exported = ok(&run(s(&["export-opml"])).await.unwrap());
    assert!(exported.ends_with("</opml>\n"), "a final newline");
    std::fs::write(d.join("mine.opml"), &exported).unwrap();
    let out = run(s(&["import-opml", "mine.opml", "--channel", "planet"]))
        .await
        .unwrap();
    let stdout = ok(&out);
    assert!(
        stdout.contains("0 new feeds (1 already subscribed); skipped 1 feeds of this instance"),
        "{stdout}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("skipped https://feeds.example.org/feeds/planet/rss.xml"),
        "{stderr}"
    );
    let list = json_out(&run(s(&["subscriptions", "--json"])).await.unwrap());
    assert_eq!(list["subscriptions"].as_array().unwrap().len(), 1);
}
