//! `syndic copy-db` with the real binary: a round trip of every table SQLite → the tests'
//! backend (PostgreSQL when `SYNDIC_TEST_DATABASE` is set, else another SQLite file) →
//! SQLite, compared column by column from the databases' own catalogs, so that a table or
//! column a later migration adds fails the test until the copy carries it (or
//! `syndic::copydb::NOT_COPIED` says why not); and what a user sees after a copy: the same
//! feed bytes, a token that still works, a next poll that is conditional.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Connection;

use crate::cli::{BIN, ok, start_serve, stop};
use crate::helpers::{TestApp, fresh_database_url, spawn_sqlite_app};
use crate::upstream::{rss_feed, spawn_upstream};

/// Runs `syndic copy-db` with only the settings given.
fn copy_db(dir: &Path, from: &str, to: &str) -> Output {
    Command::new(BIN)
        .args(["--json", "copy-db", "--from", from, "--to", to])
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("SYNDIC_BASE_URL")
        .output()
        .expect("run syndic")
}

/// A table as the test reads it from the catalog: its column names (sorted) and its rows
/// (values as text, in that column order, sorted).
type Dump = BTreeMap<String, (Vec<String>, Vec<Vec<Option<String>>>)>;

/// JSON text in one canonical form (keys sorted, no spacing): PostgreSQL's jsonb keeps
/// neither; anything that is not a JSON array, object or string stays as it is.
fn normalize(v: Option<String>) -> Option<String> {
    fn sort(v: Value) -> Value {
        match v {
            Value::Object(m) => {
                let sorted: BTreeMap<String, Value> =
                    m.into_iter().map(|(k, v)| (k, sort(v))).collect();
                Value::Object(sorted.into_iter().collect())
            }
            Value::Array(a) => Value::Array(a.into_iter().map(sort).collect()),
            other => other,
        }
    }
    v.map(|s| {
        let t = s.trim_start();
        if (t.starts_with('[') || t.starts_with('{') || t.starts_with('"'))
            && let Ok(j) = serde_json::from_str::<Value>(&s)
        {
            return sort(j).to_string();
        }
        s
    })
}

fn kept(table: &str, column: Option<&str>) -> bool {
    !syndic::copydb::not_copied(table, column)
}

/// Every table and stored column of a SQLite database, from its catalog.
async fn dump_sqlite(url: &str) -> Dump {
    let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
    // Virtual and shadow tables (a full-text index) are the database's own: not listed.
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table'
         AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let mut out = Dump::new();
    for t in tables.into_iter().filter(|t| kept(t, None)) {
        // hidden 2 and 3: generated columns, which the database computes.
        let mut cols: Vec<String> =
            sqlx::query_scalar("SELECT name FROM pragma_table_xinfo(?) WHERE hidden = 0")
                .bind(&t)
                .fetch_all(&mut conn)
                .await
                .unwrap();
        cols.retain(|c| kept(&t, Some(c)));
        cols.sort();
        let select: Vec<String> = cols
            .iter()
            .map(|c| format!("CAST(\"{c}\" AS TEXT)"))
            .collect();
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {} FROM \"{t}\"",
            select.join(", ")
        )))
        .fetch_all(&mut conn)
        .await
        .unwrap();
        out.insert(t, (cols, text_rows(rows)));
    }
    out
}

/// Every table and stored column of a PostgreSQL database, from its catalog; booleans as
/// SQLite's 0 and 1.
async fn dump_postgres(url: &str) -> Dump {
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let mut out = Dump::new();
    for t in tables.into_iter().filter(|t| kept(t, None)) {
        let mut cols: Vec<(String, String)> = sqlx::query_as(
            "SELECT column_name::text, udt_name::text FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = $1 AND is_generated = 'NEVER'",
        )
        .bind(&t)
        .fetch_all(&mut conn)
        .await
        .unwrap();
        cols.retain(|c| kept(&t, Some(&c.0)));
        cols.sort();
        let select: Vec<String> = cols
            .iter()
            .map(|(c, ty)| match ty.as_str() {
                "bool" => format!("\"{c}\"::int::text"),
                _ => format!("\"{c}\"::text"),
            })
            .collect();
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {} FROM \"{t}\"",
            select.join(", ")
        )))
        .fetch_all(&mut conn)
        .await
        .unwrap();
        out.insert(
            t,
            (cols.into_iter().map(|c| c.0).collect(), text_rows(rows)),
        );
    }
    out
}

fn text_rows<R: sqlx::Row>(rows: Vec<R>) -> Vec<Vec<Option<String>>>
where
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    usize: sqlx::ColumnIndex<R>,
{
    let mut out: Vec<Vec<Option<String>>> = rows
        .iter()
        .map(|r| {
            (0..r.len())
                .map(|i| normalize(r.try_get::<Option<String>, _>(i).unwrap()))
                .collect()
        })
        .collect();
    out.sort();
    out
}

async fn dump(url: &str) -> Dump {
    if url.starts_with("sqlite:") {
        dump_sqlite(url).await
    } else {
        dump_postgres(url).await
    }
}

/// Asserts that two dumps hold the same tables, columns and rows, naming the first
/// difference.
fn assert_same(a: &Dump, b: &Dump, what: &str) {
    let names = |d: &Dump| d.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(a), names(b), "{what}: the tables differ");
    for (t, (cols, rows)) in a {
        let (cols_b, rows_b) = &b[t];
        assert_eq!(cols, cols_b, "{what}: the columns of {t} differ");
        assert_eq!(
            rows.len(),
            rows_b.len(),
            "{what}: the row counts of {t} differ"
        );
        for (ra, rb) in rows.iter().zip(rows_b) {
            if ra != rb {
                let diff: Vec<String> = cols
                    .iter()
                    .zip(ra.iter().zip(rb))
                    .filter(|(_, (x, y))| x != y)
                    .map(|(c, (x, y))| format!("{t}.{c}: {x:?} != {y:?}"))
                    .collect();
                panic!("{what}: rows of {t} differ: {}", diff.join("; "));
            }
        }
    }
}

/// A SQLite database with rows in every table, most of them written the way users write
/// them (the API, a poll of a real upstream, the store's hub calls), the rest filled below.
async fn populated() -> (TestApp, crate::upstream::UpstreamServer, i64) {
    let app = spawn_sqlite_app().await;
    let hostile = "& < > \" ' ]]> é 東京";
    app.create_channel(
        "world",
        json!({ "title": format!("Le monde {hostile}"), "description": hostile,
                "link": "https://news.example.fr/", "language": "fr" }),
    )
    .await;
    app.create_channel("planet", json!({ "title": "Planet" }))
        .await;
    // A channel made and deleted: its id must never be handed out again, after a copy too.
    app.create_channel("gone", json!({})).await;
    let r = app
        .api(Method::DELETE, "/channels/gone")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let r = app
        .api(Method::PATCH, "/channels/world")
        .json(&json!({ "retain_max_articles": 500, "retain_days": 3650 }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let items: Vec<Value> = (1..=5)
        .map(|n| {
            json!({
                "id": format!("https://news.example.fr/{n}?a=1&b=<2>"),
                "url": format!("https://news.example.fr/{n}"),
                "external_url": "https://elsewhere.example/x",
                "title": format!("Article {n} {hostile}"),
                "summary": hostile,
                "content_html": format!("<p>Body {n} &amp; <b>bold</b> {hostile}</p>"),
                "image": "/images/lead.jpg",
                "banner_image": "/images/banner.jpg",
                "date_published": format!("2025-09-1{n}T18:30:00+02:00"),
                "date_modified": format!("2025-09-1{n}T19:00:00+02:00"),
                "authors": [{ "name": format!("Jeanne {hostile}"), "url": "/auteurs/jeanne" }],
                "tags": ["technologie", hostile],
                "language": "fr",
                "attachments": [{ "url": "https://news.example.fr/a.mp3", "mime_type": "audio/mpeg", "size_in_bytes": 1234 }],
                "_syndic": {
                    "image_caption": format!("Légende {hostile}"),
                    "image_credit": "AFP",
                    "contributors": [{ "name": "AFP" }]
                }
            })
        })
        .collect();
    app.ingest("world", &Value::Array(items)).await;
    let r = app
        .api(
            Method::DELETE,
            &format!(
                "/channels/world/articles/{}",
                crate::helpers::encode("https://news.example.fr/5?a=1&b=<2>")
            ),
        )
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());

    // A subscription polled from a real upstream: validators, schedule, item keys; into a
    // channel in story mode (story links and titles), with full text asked for (the item
    // pages 404: kept as failures) and a rule that drops one item (remembered as dropped).
    let up = spawn_upstream().await;
    let page = |n: u32| up.url(&format!("/pages/{n}"));
    up.set_feed(
        "news",
        "application/rss+xml",
        rss_feed(
            "Upstream & <News>",
            &[
                ("n-3", "Sponsored: buy", &page(3)),
                ("n-2", "Second", &page(2)),
                ("n-1", "First", &page(1)),
            ],
        ),
    );
    let r = app
        .api(Method::PATCH, "/channels/planet")
        .json(&json!({ "dedupe": "story" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .api(Method::POST, "/subscriptions")
        .json(&json!({ "url": up.url("/f/news"), "channel": "planet", "full_content": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let sub: Value = r.json().await.unwrap();
    let sub_id = sub["subscription"]["id"].as_i64().unwrap();
    let r = app
        .api(Method::PUT, &format!("/subscriptions/{sub_id}/rules"))
        .json(&json!([{ "name": "no sponsored & <ads>", "if": { "title": "(?i)sponsored" }, "then": "drop" }]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    let r = app
        .api(Method::POST, &format!("/subscriptions/{sub_id}/poll"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    app.db_wait(
        "SELECT count(*) FROM subscriptions WHERE etag IS NOT NULL AND last_modified IS NOT NULL",
        1,
    )
    .await;

    // Tokens (one revoked, one named with a control character) and both sides of WebSub,
    // through the store as the server's own code writes them.
    let store = syndic::store::open(&app.database_url).await.unwrap();
    let (_, hash) = syndic::token::generate();
    let revoked = store
        .create_token(&format!("old \u{1} {hostile}"), &hash)
        .await
        .unwrap();
    assert!(store.revoke_token(revoked).await.unwrap());
    let world = store
        .channel(&syndic::model::Slug::parse("world").unwrap())
        .await
        .unwrap()
        .unwrap();
    store
        .hub_subscribe(
            &world,
            &app.url("/feeds/world/atom.xml"),
            "atom",
            &syndic::store::HubCallback {
                url: "https://reader.example/cb?x=1&y=<2>",
                host: "reader.example",
            },
            Some("s3cret & <"),
            86_400,
        )
        .await
        .unwrap();
    store
        .websub_requested(
            sub_id,
            &syndic::store::WebsubRequest {
                hub: "https://hub.example/",
                topic: &up.url("/f/news"),
                secret: Some("hub secret"),
                token: "callback-token",
            },
        )
        .await
        .unwrap();
    store
        .websub_lease(sub_id, Some(chrono::Utc::now() + chrono::Duration::days(5)))
        .await
        .unwrap();
    store.close().await;
    (app, up, sub_id)
}

/// Gives every column that is NULL in every row a value in one row, so that the round trip
/// proves it is carried (an integer 1, which reads as a boolean too; text that is also a JSON
/// string, with the characters that break markup), and checks every table has a row.
async fn fill_every_column(url: &str) {
    let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
    let d = dump_sqlite(url).await;
    for (t, (cols, rows)) in &d {
        assert!(
            !rows.is_empty(),
            "the fixture has no row in table {t}: add one to `populated` so that the copy \
             of this table is tested"
        );
        for (i, c) in cols.iter().enumerate() {
            if rows.iter().any(|r| r[i].is_some()) {
                continue;
            }
            let declared: String =
                sqlx::query_scalar("SELECT type FROM pragma_table_xinfo(?) WHERE name = ?")
                    .bind(t)
                    .bind(c)
                    .fetch_one(&mut conn)
                    .await
                    .unwrap();
            let sql = format!(
                "UPDATE \"{t}\" SET \"{c}\" = ? WHERE rowid = (SELECT min(rowid) FROM \"{t}\")"
            );
            let q = sqlx::query(sqlx::AssertSqlSafe(sql));
            let q = if declared.to_ascii_uppercase().contains("INT") {
                q.bind(1i64)
            } else {
                q.bind(r#""& < > \" ' ]]> \u0001 filled""#)
            };
            q.execute(&mut conn).await.unwrap();
        }
    }
    let d = dump_sqlite(url).await;
    for (t, (cols, rows)) in &d {
        for (i, c) in cols.iter().enumerate() {
            assert!(
                rows.iter().any(|r| r[i].is_some()),
                "{t}.{c} is NULL in every row of the fixture"
            );
        }
    }
}

fn copied_counts(out: &Output) -> BTreeMap<String, (u64, u64)> {
    let v: Value = serde_json::from_str(&ok(out)).expect("copy-db --json prints JSON");
    v["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["table"].as_str().unwrap().to_owned(),
                (
                    t["copied"].as_u64().unwrap(),
                    t["verified"].as_u64().unwrap(),
                ),
            )
        })
        .collect()
}

async fn sqlite_sequence(url: &str) -> Vec<(String, i64)> {
    let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
    sqlx::query_as("SELECT name, seq FROM sqlite_sequence ORDER BY name")
        .fetch_all(&mut conn)
        .await
        .unwrap()
}

/// SQLite → the tests' backend → SQLite: every table and column of both schemas holds the
/// same data, the counts printed are the tables' counts, and ids are never reused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_table_and_column_survives_a_round_trip() {
    let (app, _up, _) = populated().await;
    fill_every_column(&app.database_url).await;
    let source = dump(&app.database_url).await;

    let dir = tempfile::tempdir().unwrap();
    let middle = fresh_database_url(dir.path()).await;
    let middle = if middle == app.database_url {
        format!("sqlite:{}", dir.path().join("middle.db").display())
    } else {
        middle
    };
    let back = format!("sqlite:{}", dir.path().join("back.db").display());

    let counts = copied_counts(&copy_db(dir.path(), &app.database_url, &middle));
    for (t, (_, rows)) in &source {
        assert_eq!(
            counts.get(t),
            Some(&(rows.len() as u64, rows.len() as u64)),
            "copy-db's count for {t}"
        );
    }
    assert_eq!(counts.len(), source.len(), "{counts:?}");
    assert_same(&source, &dump(&middle).await, "source and copy");

    let counts_back = copied_counts(&copy_db(dir.path(), &middle, &back));
    assert_eq!(counts_back, counts);
    assert_same(
        &source,
        &dump(&back).await,
        "source and the copy of its copy",
    );

    // The deleted channel's id stays used: AUTOINCREMENT counters (SQLite) and identity
    // sequences (PostgreSQL) come across.
    let seq = sqlite_sequence(&app.database_url).await;
    assert!(
        seq.iter().any(|(t, n)| t == "channels" && *n == 3),
        "{seq:?}"
    );
    assert_eq!(sqlite_sequence(&back).await, seq);
    if !middle.starts_with("sqlite:") {
        let mut conn = sqlx::PgConnection::connect(&middle).await.unwrap();
        let last: Option<i64> = sqlx::query_scalar(
            "SELECT pg_sequence_last_value(pg_get_serial_sequence('channels', 'id')::regclass)",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        assert_eq!(last, Some(3));
    }

    // A target that holds anything is refused, naming what it holds, and left as it was.
    let again = copy_db(dir.path(), &app.database_url, &middle);
    assert!(!again.status.success());
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(
        err.contains("not empty") && err.contains("channels: 2 rows"),
        "{err}"
    );
    assert_same(
        &source,
        &dump(&middle).await,
        "a refused copy changes nothing",
    );
}

/// After a copy: the target serves the same feed bytes, the source's token works on it, and
/// the next poll of a subscription sends the validators the source had stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_copy_feeds_tokens_and_conditional_polls_carry_on() {
    let (app, up, sub_id) = populated().await;
    let dir = tempfile::tempdir().unwrap();
    let target = fresh_database_url(dir.path()).await;
    let target = if target == app.database_url {
        format!("sqlite:{}", dir.path().join("target.db").display())
    } else {
        target
    };
    copied_counts(&copy_db(dir.path(), &app.database_url, &target));

    let (serving, addr) = start_serve(
        dir.path(),
        &[
            ("DATABASE_URL", &target),
            ("SYNDIC_BASE_URL", &app.base),
            ("SYNDIC_ALLOW_PRIVATE_UPSTREAMS", "true"),
        ],
    );
    let client = reqwest::Client::builder()
        .no_gzip()
        .no_brotli()
        .no_deflate()
        .build()
        .unwrap();
    let other = format!("http://{addr}");
    for slug in ["world", "planet"] {
        for file in ["rss.xml", "atom.xml", "feed.json"] {
            let a = app.feed(slug, file).await.bytes().await.unwrap();
            let r = client
                .get(format!("{other}/feeds/{slug}/{file}"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            let b = r.bytes().await.unwrap();
            assert!(a == b, "{slug}/{file} differs after the copy");
        }
    }
    let post = |token: String| {
        client
            .post(format!("{other}/api/v1/channels/world/articles"))
            .header("Authorization", format!("Bearer {token}"))
            .json(&json!({ "id": "after-copy", "title": "After" }))
            .send()
    };
    let r = post("wrong".into()).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = post(app.token.clone()).await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "the token works");
    stop(serving);

    let before = up.seen("/f/news").len();
    let out = Command::new(BIN)
        .args(["poll", "--subscription", &sub_id.to_string()])
        .current_dir(dir.path())
        .env("DATABASE_URL", &target)
        .env("SYNDIC_ALLOW_PRIVATE_UPSTREAMS", "true")
        .output()
        .unwrap();
    ok(&out);
    let seen = up.seen("/f/news");
    assert_eq!(seen.len(), before + 1, "one request");
    let last = seen.last().unwrap();
    assert!(last.if_none_match.is_some(), "{last:?}");
    assert_eq!(
        last.if_modified_since.as_deref(),
        Some(up.last_modified("news").as_str())
    );
}
