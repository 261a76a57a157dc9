//! The command line: every command and flag, with help text, and what each one does.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Parser, Subcommand};

use crate::catalog::{self, Tombstones};
use crate::config::Config;
use crate::formats::{self, FeedFormat, InputKind};
use crate::http::{self, AppState};
use crate::ingest::{self, Report};
use crate::model::{NewChannel, Page, Slug, Subscription};
use crate::poll::poller::Poller;
use crate::poll::{schedule, subscribe};
use crate::render::{self, DEFAULT_LIMIT, MAX_LIMIT};
use crate::store::{self, DynStore};
use crate::token;
use crate::websub::{self, Hub};

/// syndic: publish articles as RSS 2.0, Atom 1.0 and JSON Feed 1.1.
///
/// Settings come from the environment and a .env file: DATABASE_URL, SYNDIC_BIND,
/// SYNDIC_BASE_URL, SYNDIC_MAX_BODY, RUST_LOG, the poller's, the hub's and the security
/// settings (SYNDIC_TRUSTED_PROXIES, SYNDIC_METRICS_ALLOW, SYNDIC_ALLOW_PRIVATE_CALLBACKS…):
/// see .env.example and the README.
#[derive(Parser, Debug)]
#[command(name = "syndic", version, about, long_about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run pending migrations, then serve HTTP (feeds and the API) until SIGINT or SIGTERM.
    Serve,
    /// Create the database if needed and apply pending migrations.
    Migrate,
    /// Manage channels.
    #[command(subcommand)]
    Channel(ChannelCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Ingest files (JSON Feed items or documents, RSS, Atom) into a channel, all or nothing.
    Ingest {
        /// The channel's slug.
        slug: String,
        /// Files to read; `-` reads standard input.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Subscribe a channel to an upstream feed (or to the first feed an HTML page advertises).
    Subscribe {
        /// The feed's URL, or a page that links to its feeds.
        url: String,
        /// The channel the feed's items are imported into.
        #[arg(long)]
        channel: String,
        /// How often to poll: 5m to 24h (the upstream's ttl and cache hints may adjust it).
        #[arg(long, default_value = "30m", value_parser = parse_every)]
        every: Duration,
    },
    /// List every subscription with its fetch state.
    Subscriptions,
    /// Remove a subscription (the articles it imported stay).
    Unsubscribe {
        /// The subscription's id, as `syndic subscriptions` shows it.
        id: i64,
    },
    /// Poll upstream feeds in the foreground: every due subscription, on and on.
    Poll {
        /// Poll what is due once, print what happened, and exit (for cron and tests).
        #[arg(long)]
        once: bool,
    },
    /// Subscribe a channel to every feed of an OPML file (nested folders included).
    ImportOpml {
        /// The OPML file; `-` reads standard input.
        file: PathBuf,
        #[arg(long)]
        channel: String,
        /// How often to poll each feed.
        #[arg(long, default_value = "30m", value_parser = parse_every)]
        every: Duration,
    },
    /// Write every subscription and every published channel as OPML 2.0 to standard output.
    ExportOpml,
    /// Apply every channel's retention now (the server does it every ten minutes).
    Prune,
    /// Write a consistent copy of the database to FILE while the service runs (VACUUM INTO).
    Backup {
        /// Where to write the copy; it must not exist yet.
        file: PathBuf,
    },
    /// Write a channel's feed to standard output.
    Render {
        /// The channel's slug.
        slug: String,
        /// Which feed to write.
        #[arg(long, value_enum, default_value = "rss")]
        format: FeedFormat,
        /// How many of the newest articles (1 to 500).
        #[arg(long, default_value_t = DEFAULT_LIMIT)]
        limit: u32,
    },
}

#[derive(Subcommand, Debug)]
pub enum ChannelCommand {
    /// Create a channel.
    Add {
        /// URL name: lowercase letters, digits and hyphens.
        slug: String,
        #[arg(long)]
        title: String,
        #[arg(long, default_value = "")]
        description: String,
        /// The site the channel belongs to (absolute URL).
        #[arg(long)]
        link: Option<String>,
        /// Language code, such as fr or en-GB.
        #[arg(long)]
        language: Option<String>,
    },
    /// List channels with their feed URLs.
    List,
    /// Set how much of a channel to keep; the server prunes every ten minutes (and `syndic
    /// prune` now). Pruned articles are not re-imported by polls.
    Retention {
        slug: String,
        /// Keep at most this many articles.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        max_articles: Option<u32>,
        /// Keep only articles newer than this many days.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        days: Option<u32>,
        /// Keep everything (clears both limits).
        #[arg(long, conflicts_with_all = ["max_articles", "days"])]
        keep_all: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Create an API token and print it (only it) on standard output. It is stored hashed:
    /// this is the only time it is shown.
    Create {
        /// A label to recognise the token by.
        #[arg(long, default_value = "")]
        name: String,
    },
    /// List tokens: id, name, created, revoked (never the tokens themselves).
    List,
    /// Revoke a token: requests bearing it are refused from now on.
    Revoke {
        /// The token's id, as `syndic token list` shows it.
        id: i64,
    },
}

fn parse_every(s: &str) -> Result<Duration, String> {
    schedule::parse_interval(s)
}

pub async fn run(cli: Cli) -> Result<()> {
    let config = Config::from_env()?;
    let store = store::open(&config.database_url)
        .await
        .with_context(|| format!("cannot open the database {}", config.database_url))?;
    let result = dispatch(cli.command, &store, config).await;
    store.close().await;
    result
}

async fn dispatch(command: Command, store: &DynStore, config: Config) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match command {
        Command::Serve => serve(store.clone(), config).await?,
        Command::Migrate => writeln!(out, "database {} is up to date", config.database_url)?,
        Command::Channel(ChannelCommand::Add {
            slug,
            title,
            description,
            link,
            language,
        }) => {
            let new = NewChannel::validate(&slug, title, description, link, language)
                .map_err(|e| anyhow!(e))?;
            let c = store.create_channel(&new).await?;
            writeln!(out, "created channel {}", c.slug)?;
            for f in [FeedFormat::Rss, FeedFormat::Atom, FeedFormat::Json] {
                writeln!(
                    out,
                    "  {}/feeds/{}/{}",
                    config.base_url,
                    c.slug,
                    f.file_name()
                )?;
            }
        }
        Command::Channel(ChannelCommand::List) => {
            for c in store.channels().await? {
                writeln!(
                    out,
                    "{}\t{}\t{}/feeds/{}/rss.xml",
                    c.slug, c.title, config.base_url, c.slug
                )?;
            }
        }
        Command::Token(TokenCommand::Create { name }) => {
            let (token, hash) = token::generate();
            store.create_token(&name, &hash).await?;
            writeln!(out, "{token}")?;
        }
        Command::Token(TokenCommand::List) => {
            for t in store.tokens().await? {
                let revoked = t
                    .revoked_at
                    .map(|r| format!("revoked {}", r.format("%Y-%m-%d %H:%M:%S")))
                    .unwrap_or_else(|| "active".into());
                writeln!(
                    out,
                    "{}\t{}\tcreated {}\t{revoked}",
                    t.id,
                    if t.name.is_empty() { "-" } else { &t.name },
                    t.created_at.format("%Y-%m-%d %H:%M:%S")
                )?;
            }
        }
        Command::Token(TokenCommand::Revoke { id }) => {
            if !store.revoke_token(id).await? {
                bail!("no active token #{id}");
            }
            writeln!(out, "revoked token #{id}")?;
        }
        Command::Backup { file } => {
            if file.exists() {
                bail!("{} exists already; choose a new file", file.display());
            }
            store
                .backup(&file)
                .await
                .with_context(|| format!("cannot write the backup to {}", file.display()))?;
            writeln!(
                out,
                "backed up {} to {}",
                config.database_url,
                file.display()
            )?;
        }
        Command::Ingest { slug, files } => {
            let report = ingest_files(store, &slug, &files).await?;
            writeln!(
                out,
                "created {}, updated {}, unchanged {}, skipped {} (deleted before)",
                report.created, report.updated, report.unchanged, report.skipped_deleted
            )?;
        }
        Command::Subscribe {
            url,
            channel,
            every,
        } => {
            let channel = find_channel(store, &channel).await?;
            let poller = Poller::new(store.clone(), &config)?;
            let done = subscribe::subscribe(store, &poller, &channel, &url, every).await?;
            let s = &done.subscription;
            writeln!(
                out,
                "subscribed #{} {} to {} ({})",
                s.id,
                s.channel,
                s.url,
                s.title.as_deref().unwrap_or("untitled")
            )?;
            if done.discovered.len() > 1 {
                writeln!(out, "the page also advertises:")?;
                for d in &done.discovered[1..] {
                    writeln!(out, "  {} ({})", d.url, d.title.as_deref().unwrap_or(""))?;
                }
            }
            writeln!(
                out,
                "it is due now: `syndic serve` or `syndic poll --once` imports it"
            )?;
        }
        Command::Channel(ChannelCommand::Retention {
            slug,
            max_articles,
            days,
            keep_all,
        }) => {
            let channel = find_channel(store, &slug).await?;
            let patch = crate::model::ChannelPatch {
                retain_max_articles: (keep_all || max_articles.is_some()).then_some(max_articles),
                retain_days: (keep_all || days.is_some()).then_some(days),
                ..Default::default()
            };
            if patch.is_empty() {
                bail!("give --max-articles, --days or --keep-all");
            }
            let c = store
                .update_channel(&channel.slug, &patch)
                .await?
                .ok_or_else(|| anyhow!("no channel {slug:?}"))?;
            let pruned = catalog::prune(store, &c, chrono::Utc::now()).await?;
            let show = |v: Option<u32>| v.map_or("all".to_owned(), |n| n.to_string());
            writeln!(
                out,
                "{}: keep {} articles, {} days; pruned {pruned} now",
                c.slug,
                show(c.retain_max_articles),
                show(c.retain_days)
            )?;
        }
        Command::Prune => {
            let n = crate::retention::prune_all(store).await?;
            writeln!(out, "pruned {n} articles")?;
        }
        Command::Subscriptions => {
            write_subscriptions(&mut out, &store.subscriptions().await?)?;
        }
        Command::Unsubscribe { id } => {
            if !store.delete_subscription(id).await? {
                bail!("no subscription #{id}");
            }
            writeln!(out, "unsubscribed #{id}")?;
        }
        Command::Poll { once } => {
            let poller = Poller::new(store.clone(), &config)?;
            if once {
                let reports = poller.poll_due().await?;
                let failed = reports.iter().filter(|r| r.error.is_some()).count();
                for r in &reports {
                    writeln!(
                        out,
                        "#{} {} {}: created {}, updated {}{}",
                        r.subscription,
                        r.url,
                        r.status,
                        r.created,
                        r.updated,
                        r.error
                            .as_deref()
                            .map(|e| format!(" ({e})"))
                            .unwrap_or_default()
                    )?;
                }
                writeln!(out, "polled {}, failed {failed}", reports.len())?;
            } else {
                let (tx, rx) = tokio::sync::watch::channel(false);
                let signal = shutdown_signal()?;
                let task = tokio::spawn(poller.run(rx));
                signal.await;
                let _ = tx.send(true);
                let _ = task.await;
            }
        }
        Command::ImportOpml {
            file,
            channel,
            every,
        } => {
            let channel = find_channel(store, &channel).await?;
            let body = read_input(&file)?;
            let r = subscribe::import_opml(store, &channel, &body, every)
                .await
                .map_err(|e| anyhow!("{}: {e}", file.display()))?;
            writeln!(
                out,
                "subscribed {} to {} new feeds ({} already subscribed)",
                channel.slug, r.created, r.existing
            )?;
        }
        Command::ExportOpml => {
            out.write_all(
                subscribe::export_opml(store, &config.base_url)
                    .await?
                    .as_bytes(),
            )?;
        }
        Command::Render {
            slug,
            format,
            limit,
        } => {
            if !(1..=MAX_LIMIT).contains(&limit) {
                bail!("--limit must be between 1 and {MAX_LIMIT}");
            }
            let channel = find_channel(store, &slug).await?;
            let page = Page {
                limit,
                before: None,
                tag: None,
            };
            let loaded = render::load_page(store, &channel, &page).await?;
            let doc = loaded.doc(&channel, &page, &config.base_url);
            out.write_all(&formats::render(format, &doc))?;
        }
    }
    out.flush()?;
    Ok(())
}

fn write_subscriptions(out: &mut impl Write, subs: &[Subscription]) -> Result<()> {
    let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_else(|| "-".into())
    };
    let mut rows = vec![
        [
            "ID",
            "CHANNEL",
            "URL",
            "LAST FETCH",
            "NEXT FETCH",
            "STATUS",
            "ERRORS",
            "ITEMS",
            "LAST ERROR",
        ]
        .map(String::from),
    ];
    for s in subs {
        let status = match (&s.last_status, s.enabled) {
            (_, false) => "disabled".to_owned(),
            (Some(st), true) => st.clone(),
            (None, true) => "new".to_owned(),
        };
        rows.push([
            s.id.to_string(),
            s.channel.to_string(),
            s.url.clone(),
            when(s.last_fetch_at),
            if s.enabled {
                when(Some(s.next_fetch_at))
            } else {
                "-".into()
            },
            status,
            s.error_count.to_string(),
            s.items_imported.to_string(),
            s.last_error
                .clone()
                .or_else(|| s.disabled_reason.clone())
                .unwrap_or_default(),
        ]);
    }
    let widths: Vec<usize> = (0..9)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    for r in &rows {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        writeln!(out, "{}", line.join("  ").trim_end())?;
    }
    Ok(())
}

async fn find_channel(store: &DynStore, slug: &str) -> Result<crate::model::Channel> {
    let parsed = Slug::parse(slug).map_err(|e| anyhow!(e))?;
    store
        .channel(&parsed)
        .await?
        .ok_or_else(|| anyhow!("no channel {slug:?} (create it with `syndic channel add`)"))
}

fn read_input(path: &Path) -> Result<Vec<u8>> {
    if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::stdin().read_to_end(&mut buf)?;
        Ok(buf)
    } else {
        std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
    }
}

/// Reads, parses and validates every file first; writes them all in one transaction only if
/// every item of every file is valid.
async fn ingest_files(store: &DynStore, slug: &str, files: &[PathBuf]) -> Result<Report> {
    let channel = find_channel(store, slug).await?;
    let mut articles = Vec::new();
    for path in files {
        let name = path.display();
        let body = read_input(path)?;
        let kind = InputKind::sniff(&body)
            .ok_or_else(|| anyhow!("{name}: neither JSON nor an RSS or Atom document"))?;
        let drafts = formats::parse(kind, &body).map_err(|e| anyhow!("{name}: {e}"))?;
        articles.extend(ingest::prepare(drafts, &channel).map_err(|e| anyhow!("{name}: {e}"))?);
    }
    let outcomes = catalog::upsert(store, &channel, &articles, Tombstones::Respect).await?;
    Ok(Report::new(&articles, outcomes))
}

async fn serve(store: DynStore, mut config: Config) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("cannot listen on {}", config.bind))?;
    let addr = listener.local_addr()?;
    if config.base_url_from_bind {
        config.base_url = crate::config::base_url_for(addr);
    }
    let shutdown = shutdown_signal()?;
    tracing::info!(%addr, base_url = %config.base_url, "listening on http://{addr}");
    let poller = Poller::new(store.clone(), &config)?;
    // One signal stops both: HTTP finishes its requests in flight, the poller its round.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let polling = tokio::spawn(poller.clone().run(stopped.clone()));
    let hub = Hub::new(store.clone(), &config)?;
    let delivering = tokio::spawn(websub::run_deliveries(hub.clone(), stopped.clone()));
    let pruning = tokio::spawn(crate::retention::run(store.clone(), stopped));
    let signal = async move {
        shutdown.await;
        let _ = stop.send(true);
    };
    http::serve(listener, AppState::new(store, config, poller, hub), signal).await?;
    let _ = polling.await;
    let _ = delivering.await;
    let _ = pruning.await;
    tracing::info!("stopped");
    Ok(())
}

/// Registers for SIGTERM and SIGINT at once and resolves on the first of them. Registering
/// before the server says it listens matters: a SIGTERM sent right after would otherwise meet
/// the default action and kill the process without the graceful stop.
#[cfg(unix)]
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
        tracing::info!("shutting down");
    })
}

#[cfg(not(unix))]
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    })
}
