//! The benchmark suite's helpers (run by `benches/run`, see docs/benchmarks.md):
//!
//! ```text
//! bench_tool articles --count N --batch B --out DIR      # seed-like articles, B per JSON file
//! bench_tool upstream --hosts H --feeds F --port P       # serves F feeds on 127.0.0.1..H
//! bench_tool urls --hosts H --feeds F --port P           # their URLs, one per line
//! bench_tool sqlite-limit --dir DIR --db PATH            # SQLite alone inserting the same rows
//! bench_tool fanout --base URL --token T --channel C -n N # WebSub: one change to N subscribers
//! bench_tool callback-limit -n N                         # the callback server alone
//! ```
//!
//! Every article is the seed of ../shared/seeds (about 6 KB of French HTML with an image,
//! caption, credit, author, contributor and tags) with its own id, URL, title and date.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use clap::{Parser, Subcommand};
use serde_json::{Value, json};

#[path = "../tests/support/seed_article.rs"]
mod seed_article;
#[path = "support/websub_fanout.rs"]
mod websub_fanout;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Writes COUNT seed-like JSON Feed items as arrays of BATCH, one file per batch.
    Articles {
        #[arg(long)]
        count: usize,
        #[arg(long, default_value_t = 500)]
        batch: usize,
        #[arg(long)]
        out: PathBuf,
    },
    /// Serves FEEDS RSS feeds of ITEMS items on 127.0.0.1..127.0.0.HOSTS, port PORT, until
    /// killed. `POST /bump` adds two new items to every feed; `GET /stats` counts answers (and
    /// the feeds answered once and more than once since `POST /reset`).
    Upstream {
        #[arg(long, default_value_t = 20)]
        hosts: u8,
        #[arg(long, default_value_t = 10_000)]
        feeds: usize,
        #[arg(long, default_value_t = 10)]
        items: usize,
        #[arg(long)]
        port: u16,
        /// One feed in SLOW_EVERY answers after SLOW_MS (49: prime to the host count, so
        /// the slow ones spread over every host).
        #[arg(long, default_value_t = 49)]
        slow_every: usize,
        #[arg(long, default_value_t = 300)]
        slow_ms: u64,
    },
    /// The URLs of the upstream's feeds, spread evenly over its hosts.
    Urls {
        #[arg(long, default_value_t = 20)]
        hosts: u8,
        #[arg(long, default_value_t = 10_000)]
        feeds: usize,
        #[arg(long)]
        port: u16,
    },
    /// Inserts the articles of DIR into syndic's `articles` table of a fresh database at DB in
    /// one transaction with one prepared statement: what SQLite alone can do.
    SqliteLimit {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        db: PathBuf,
    },
    /// Subscribes N local callbacks to CHANNEL through the hub of the syndic at BASE, ingests
    /// one article and times the deliveries.
    Fanout {
        #[arg(long)]
        base: String,
        #[arg(long)]
        token: String,
        #[arg(long)]
        channel: String,
        #[arg(short, default_value_t = 3000)]
        n: usize,
    },
    /// The callback server alone, fed N feed-sized POSTs at the hub's concurrency.
    CallbackLimit {
        #[arg(short, default_value_t = 3000)]
        n: usize,
        #[arg(long, default_value_t = 64)]
        parallel: usize,
        #[arg(long, default_value_t = 8192)]
        body_bytes: usize,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Articles { count, batch, out } => articles(count, batch, &out),
        Command::Upstream {
            hosts,
            feeds,
            items,
            port,
            slow_every,
            slow_ms,
        } => {
            upstream(
                hosts,
                Feeds {
                    count: feeds,
                    items,
                    slow_every,
                    slow: Duration::from_millis(slow_ms),
                    generation: AtomicU64::new(0),
                    ok: AtomicU64::new(0),
                    not_modified: AtomicU64::new(0),
                    hits: (0..feeds).map(|_| 0.into()).collect(),
                },
                port,
            )
            .await
        }
        Command::Urls { hosts, feeds, port } => {
            for i in 0..feeds {
                println!("{}", feed_url(hosts, port, i));
            }
            Ok(())
        }
        Command::SqliteLimit { dir, db } => sqlite_limit(&dir, &db).await,
        Command::Fanout {
            base,
            token,
            channel,
            n,
        } => websub_fanout::fanout(&base, &token, &channel, n).await,
        Command::CallbackLimit {
            n,
            parallel,
            body_bytes,
        } => websub_fanout::callback_limit(n, parallel, body_bytes).await,
    }
}

// ---------------------------------------------------------------------------------------------
// Articles

fn articles(count: usize, batch: usize, out: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(out)?;
    let base = seed_article::seed_item();
    let mut n = 0;
    let mut file = 0;
    while n < count {
        let items: Vec<Value> = (n..(n + batch).min(count))
            .map(|i| seed_article::seed_series_item(&base, i))
            .collect();
        n += items.len();
        std::fs::write(
            out.join(format!("batch-{file:05}.json")),
            serde_json::to_vec(&items)?,
        )?;
        file += 1;
    }
    eprintln!("{count} articles in {file} files in {}", out.display());
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Upstream

struct Feeds {
    count: usize,
    items: usize,
    slow_every: usize,
    slow: Duration,
    generation: AtomicU64,
    ok: AtomicU64,
    not_modified: AtomicU64,
    /// Answers per feed since the last `POST /reset`: how many feeds were fetched twice.
    hits: Vec<std::sync::atomic::AtomicU32>,
}

fn feed_url(hosts: u8, port: u16, i: usize) -> String {
    format!("http://127.0.0.{}:{port}/f/{i}.xml", 1 + i % hosts as usize)
}

/// Feed `i` at generation `g`: ITEMS items, the newest two new at each generation, each with
/// a paragraph of text (about 1 KB a item).
fn feed_body(f: &Feeds, i: usize, g: u64) -> String {
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel>\
         <title>Feed {i}</title><link>https://feed{i}.example/</link>\
         <description>Benchmark feed {i}</description>\n"
    );
    let newest = g as usize * 2 + f.items;
    for k in (newest - f.items..newest).rev() {
        let minutes = k as i64;
        let date = chrono::DateTime::parse_from_rfc3339("2025-09-16T10:00:00+00:00").unwrap()
            + chrono::Duration::minutes(minutes);
        s.push_str(&format!(
            "<item><guid isPermaLink=\"false\">feed{i}-item{k}</guid>\
             <title>Item {k} of feed {i}</title><link>https://feed{i}.example/{k}</link>\
             <pubDate>{}</pubDate><description>&lt;p&gt;{}&lt;/p&gt;</description></item>\n",
            date.to_rfc2822(),
            "Le Royaume-Uni et les États-Unis ont scellé un pacte technologique. ".repeat(14)
        ));
    }
    s.push_str("</channel></rss>\n");
    s
}

async fn serve_feed(
    State(f): State<Arc<Feeds>>,
    UrlPath(name): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    let Some(i) = name
        .strip_suffix(".xml")
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|&i| i < f.count)
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if f.slow_every > 0 && i % f.slow_every == 0 {
        tokio::time::sleep(f.slow).await;
    }
    f.hits[i].fetch_add(1, Ordering::Relaxed);
    let g = f.generation.load(Ordering::Relaxed);
    let etag = format!("\"{i}-{g}\"");
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        f.not_modified.fetch_add(1, Ordering::Relaxed);
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    f.ok.fetch_add(1, Ordering::Relaxed);
    (
        [
            (
                header::CONTENT_TYPE,
                "application/rss+xml; charset=utf-8".to_owned(),
            ),
            (header::ETAG, etag),
        ],
        feed_body(&f, i, g),
    )
        .into_response()
}

async fn upstream(hosts: u8, feeds: Feeds, port: u16) -> anyhow::Result<()> {
    let feeds = Arc::new(feeds);
    let app = axum::Router::new()
        .route("/f/{name}", get(serve_feed))
        .route(
            "/bump",
            post(|State(f): State<Arc<Feeds>>| async move {
                let g = f.generation.fetch_add(1, Ordering::Relaxed) + 1;
                g.to_string()
            }),
        )
        .route(
            "/stats",
            get(|State(f): State<Arc<Feeds>>| async move {
                let hits = |min: u32| {
                    f.hits
                        .iter()
                        .filter(|h| h.load(Ordering::Relaxed) >= min)
                        .count()
                };
                axum::Json(json!({
                    "ok": f.ok.load(Ordering::Relaxed),
                    "not_modified": f.not_modified.load(Ordering::Relaxed),
                    "generation": f.generation.load(Ordering::Relaxed),
                    "feeds_answered": hits(1),
                    "feeds_answered_twice": hits(2),
                }))
            }),
        )
        .route(
            "/reset",
            post(|State(f): State<Arc<Feeds>>| async move {
                for h in &f.hits {
                    h.store(0, Ordering::Relaxed);
                }
                "reset"
            }),
        )
        .with_state(feeds);
    let mut servers = tokio::task::JoinSet::new();
    for h in 1..=hosts {
        let listener =
            tokio::net::TcpListener::bind(("127.0.0.".to_owned() + &h.to_string(), port)).await?;
        servers.spawn(axum::serve(listener, app.clone()).into_future());
    }
    println!("ready");
    while let Some(r) = servers.join_next().await {
        r??;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// SQLite alone

async fn sqlite_limit(dir: &Path, db: &Path) -> anyhow::Result<()> {
    use sqlx::Connection;
    let url = format!("sqlite:{}", db.display());
    // The same schema and settings as syndic's (WAL, synchronous FULL).
    let store = syndic::store::open(&url).await?;
    store.close().await;
    let mut conn = sqlx::SqliteConnection::connect_with(
        &url.parse::<sqlx::sqlite::SqliteConnectOptions>()?
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .synchronous(sqlx::sqlite::SqliteSynchronous::Full),
    )
    .await?;
    sqlx::query("INSERT INTO channels (slug, title, created_at, updated_at) VALUES ('limit', 'limit', 0, 0)")
        .execute(&mut conn)
        .await?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.sort();
    let mut items = Vec::new();
    for f in files {
        let batch: Vec<Value> = serde_json::from_slice(&std::fs::read(f)?)?;
        items.extend(batch);
    }
    let text = |v: &Value| v.as_str().map(str::to_owned);
    let start = Instant::now();
    let mut tx = conn.begin().await?;
    for (n, item) in items.iter().enumerate() {
        sqlx::query(
            "INSERT INTO articles (channel_id, guid, url, title, summary, content_html, \
             image_url, image_caption, image_credit, date_published, authors, contributors, \
             tags, language, first_seen_at, updated_at, sort_at, content_hash) \
             VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(text(&item["id"]))
        .bind(text(&item["url"]))
        .bind(text(&item["title"]))
        .bind(text(&item["summary"]))
        .bind(text(&item["content_html"]))
        .bind(text(&item["image"]))
        .bind(text(&item["_syndic"]["image_caption"]))
        .bind(text(&item["_syndic"]["image_credit"]))
        .bind(text(&item["date_published"]))
        .bind(item["authors"].to_string())
        .bind(item["_syndic"]["contributors"].to_string())
        .bind(item["tags"].to_string())
        .bind(text(&item["language"]))
        .bind(n as i64)
        .bind(n as i64)
        .bind(n as i64)
        .bind(format!("{n:064x}"))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{}",
        json!({ "tool": "sqlite", "version": sqlite_version(&mut conn).await?,
                "rows": items.len(), "seconds": secs, "rows_per_s": items.len() as f64 / secs })
    );
    Ok(())
}

async fn sqlite_version(conn: &mut sqlx::SqliteConnection) -> anyhow::Result<String> {
    Ok(sqlx::query_scalar("SELECT sqlite_version()")
        .fetch_one(conn)
        .await?)
}
