//! What only PostgreSQL has: a server whose databases syndic creates, migrations raced by
//! instances started together, `pg_dump` backups, and the real binary on a `postgres://` URL.
//! These need `SYNDIC_TEST_DATABASE` (`.ci/run` sets it for its PostgreSQL pass and leaves
//! this module out of the SQLite pass); without it they skip, and under CI they fail.

use std::process::Command;

/// Several instances on one database: changes reach every instance by notification.
mod notify;

use reqwest::StatusCode;
use serde_json::json;

use crate::cli::{BIN, ok, start_serve, stop};
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

/// The number of migrations this binary has for PostgreSQL.
fn migration_files() -> i64 {
    std::fs::read_dir(crate::helpers::manifest_dir().join("migrations/postgres"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".sql")
        })
        .count() as i64
}

async fn count(url: &str, sql: &'static str) -> i64 {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
}

/// Instances started together on an empty database migrate once: sqlx's migrator holds an
/// advisory lock while it migrates, and the later ones find nothing left to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_started_together_on_an_empty_database_migrate_once() {
    if server().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(dir.path()).await;
    // Joined in one task rather than spawned: the future of sqlx's migrator is not `Send` for
    // every lifetime (its `Acquire` bound), so tokio::spawn refuses `store::open`. The opens
    // still interleave at every round trip to the server.
    let open = || syndic::store::open(&url);
    let opened = tokio::join!(open(), open(), open(), open(), open(), open());
    let stores: Vec<_> = [opened.0, opened.1, opened.2, opened.3, opened.4, opened.5]
        .into_iter()
        .map(|o| o.expect("every instance opens the database"))
        .collect();
    for store in &stores {
        store.ping().await.expect("the schema is this binary's");
    }
    assert_eq!(
        count(&url, "SELECT count(*) FROM _sqlx_migrations WHERE success").await,
        migration_files(),
        "each migration applied once"
    );
    for store in stores {
        store.close().await;
    }
}

/// `serve` and `migrate` create a database that does not exist (as they create a SQLite
/// file); every other command refuses it, naming it.
#[tokio::test]
async fn a_missing_database_is_created_only_by_serve_and_migrate() {
    let Some(base) = server() else { return };
    let mut url = url::Url::parse(&base).unwrap();
    let name = format!("test_missing_{:016x}", rand::random::<u64>());
    url.set_path(&format!("/{name}"));
    let url = String::from(url);
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Command::new(BIN)
            .args(args)
            .current_dir(dir.path())
            .env("DATABASE_URL", &url)
            .output()
            .unwrap()
    };
    let out = run(&["channel", "list"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&name) && err.contains("syndic migrate"),
        "{err}"
    );
    let out = ok(&run(&["migrate"]));
    assert!(out.contains("is up to date"), "{out}");
    ok(&run(&["channel", "add", "news", "--title", "News"]));
    assert!(ok(&run(&["channel", "list"])).starts_with("news\t"));
}

/// `syndic backup` on PostgreSQL runs `pg_dump`: a private file in its custom format.
#[tokio::test]
async fn backup_runs_pg_dump() {
    if server().is_none() {
        return;
    }
    if Command::new("pg_dump").arg("--version").output().is_err() {
        skip_missing("pg_dump", "apt-get install postgresql-client");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(dir.path()).await;
    let store = syndic::store::open(&url).await.unwrap();
    let (_, hash) = syndic::token::generate();
    store.create_token("t", &hash).await.unwrap();
    let copy = dir.path().join("copy.dump");
    store.backup(&copy).await.expect("pg_dump writes the copy");
    let bytes = std::fs::read(&copy).unwrap();
    assert!(bytes.starts_with(b"PGDMP"), "pg_dump's custom format");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    store.close().await;
}

/// The real binary on a `postgres://` URL: `serve` answers ready, takes an article through
/// the API and serves it in its feeds, and the CLI sees the same database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_from_postgres() {
    if server().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(dir.path()).await;
    let env = [("DATABASE_URL", url.as_str()), ("SYNDIC_DB_POOL", "4")];
    let cli = |args: &[&str]| {
        let mut cmd = Command::new(BIN);
        cmd.args(args).current_dir(dir.path());
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    ok(&cli(&["migrate"]));
    ok(&cli(&["channel", "add", "news", "--title", "News"]));
    let token = ok(&cli(&["token", "create", "--name", "pg"]));
    let (serving, addr) = start_serve(dir.path(), &env);
    let client = reqwest::Client::new();
    let r = client
        .get(format!("http://{addr}/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = client
        .post(format!("http://{addr}/api/v1/channels/news/articles"))
        .bearer_auth(token.trim())
        .json(&json!({ "id": "pg-1", "title": "Stored in PostgreSQL", "tags": ["pg"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let feed = client
        .get(format!("http://{addr}/feeds/news/atom.xml"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(feed.contains("Stored in PostgreSQL"), "{feed}");
    let listed = ok(&cli(&["article", "list", "news"]));
    assert!(listed.contains("pg-1"), "{listed}");
    stop(serving);
}
