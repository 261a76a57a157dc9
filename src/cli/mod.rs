//! The command line: every command and flag, with help text, and what each one does. The
//! commands are grouped by concern, one file each (channels, articles, subscriptions, tokens,
//! the service); this file holds the top-level parser, how the database is opened, and the
//! exit codes.

mod articles;
mod channels;
mod copydb;
mod hub;
mod output;
mod rules;
mod service;
mod subscriptions;
mod tokens;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::{Parser, Subcommand};

use crate::config::{Config, DEFAULT_DATABASE_URL};
use crate::formats::FeedFormat;
use crate::poll::schedule;
use crate::render::DEFAULT_LIMIT;
use crate::store::{self, DynStore, StoreError};

pub use articles::ArticleCommand;
pub use channels::ChannelCommand;
pub use subscriptions::SubscriptionCommand;
pub use tokens::TokenCommand;

/// Success.
pub const EXIT_OK: u8 = 0;
/// Any failure that is not one of the others (a database that cannot be opened, an invalid
/// value, an upstream that cannot be fetched…).
pub const EXIT_ERROR: u8 = 1;
/// The command line is wrong: clap's own usage errors, and a missing `--yes`.
pub const EXIT_USAGE: u8 = 2;
/// The channel, article, subscription or token named does not exist.
pub const EXIT_NOT_FOUND: u8 = 3;

/// syndic: publish articles as RSS 2.0, Atom 1.0 and JSON Feed 1.1.
///
/// Settings come from the environment and a .env file (docs/running.md says what each does;
/// .env.example lists them with their defaults). Every command reads the same settings as
/// `syndic serve`, so run it with the same environment and .env:
///
/// database: DATABASE_URL, SYNDIC_DB_POOL;
/// serving: SYNDIC_BIND, SYNDIC_BASE_URL, SYNDIC_MAX_BODY, SYNDIC_REQUEST_TIMEOUT,
/// SYNDIC_IDLE_TIMEOUT, SYNDIC_MAX_CONNECTIONS, SYNDIC_RENDER_CACHE_BYTES;
/// security: SYNDIC_TRUSTED_PROXIES, SYNDIC_METRICS_ALLOW, SYNDIC_ALLOW_PRIVATE_UPSTREAMS,
/// SYNDIC_ALLOW_PRIVATE_CALLBACKS;
/// polling: SYNDIC_POLLER, SYNDIC_POLL_CONCURRENCY, SYNDIC_POLL_PER_HOST, SYNDIC_POLL_LEASE,
/// SYNDIC_FETCH_TIMEOUT, SYNDIC_FETCH_MAX_BODY;
/// WebSub hub: SYNDIC_HUB_MAX_PER_TOPIC, SYNDIC_HUB_MAX_PER_CALLBACK_HOST,
/// SYNDIC_HUB_MAX_SUBSCRIPTIONS, SYNDIC_HUB_VERIFICATIONS;
/// logs: SYNDIC_LOG_FORMAT, RUST_LOG.
///
/// Exit codes: 0 success, 1 error, 2 usage error, 3 not found.
#[derive(Parser, Debug)]
#[command(name = "syndic", version, about, long_about)]
pub struct Cli {
    /// Print the result as one JSON document (the API's shape where the API has the same
    /// operation) instead of a table or a sentence.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
    /// The .env file `main` loaded, if any (for messages).
    #[arg(skip)]
    pub env_file: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run pending migrations (creating the database if missing), then serve HTTP (feeds and
    /// the API) until SIGINT or SIGTERM.
    Serve,
    /// Create the database if missing and apply pending migrations.
    Migrate,
    /// Manage channels.
    #[command(subcommand)]
    Channel(ChannelCommand),
    /// Read and manage a channel's articles.
    #[command(subcommand)]
    Article(ArticleCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage subscriptions to upstream feeds.
    #[command(subcommand)]
    Subscription(SubscriptionCommand),
    /// See and remove the subscribers of this instance's WebSub hub.
    #[command(subcommand)]
    Hub(hub::HubCommand),
    /// Import rules of a subscription or channel: show, set, preview, reapply.
    #[command(subcommand)]
    Rules(rules::RulesCommand),
    /// Ingest files (JSON Feed items or documents, RSS, Atom) into a channel, all or nothing.
    Ingest {
        /// The channel's slug.
        slug: String,
        /// Files to read; `-` reads standard input.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Subscribe a channel to an upstream feed (or to the first feed an HTML page advertises);
    /// the same as `subscription add`.
    Subscribe(subscriptions::AddArgs),
    /// List every subscription with its fetch state; the same as `subscription list`.
    Subscriptions,
    /// Remove a subscription (the articles it imported stay); the same as `subscription
    /// remove`.
    Unsubscribe {
        /// The subscription's id, as `syndic subscriptions` shows it.
        id: i64,
    },
    /// Poll upstream feeds in the foreground: every due subscription, on and on.
    Poll {
        /// Poll what is due once, print what happened, and exit (for cron and tests).
        #[arg(long, conflicts_with = "subscription")]
        once: bool,
        /// Poll this one subscription now, due or not (a disabled one too), print what
        /// happened, and exit.
        #[arg(long, value_name = "ID")]
        subscription: Option<i64>,
    },
    /// Subscribe a channel to every feed of an OPML file (nested folders included). Feeds of
    /// this very instance are skipped.
    ImportOpml {
        /// The OPML file; `-` reads standard input.
        file: PathBuf,
        /// The channel the feeds' items are imported into.
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
        /// Back up a database that has no channel (by default that is taken for a wrong
        /// DATABASE_URL and refused).
        #[arg(long)]
        allow_empty: bool,
    },
    /// Copy the whole database into an empty one, SQLite or PostgreSQL either way (moving
    /// to PostgreSQL for several instances, or back), then verify the copy. DATABASE_URL is
    /// not used: both databases are named here. Stop `syndic serve` first, or changes it
    /// makes during the copy stay behind. See docs/copy-db.md.
    CopyDb {
        /// The database to copy: sqlite:PATH or postgres://USER@HOST/DATABASE.
        #[arg(long, value_name = "URL")]
        from: String,
        /// The database to copy into: created when missing; it must hold no row.
        #[arg(long, value_name = "URL")]
        to: String,
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

fn parse_every(s: &str) -> Result<Duration, String> {
    schedule::parse_interval(s)
}

/// Failures the exit code tells apart.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The thing named does not exist (exit 3).
    #[error("{0}")]
    NotFound(String),
    /// The command needs another flag or value (exit 2).
    #[error("{0}")]
    Usage(String),
    /// Every command but `serve` and `migrate` needs an existing database (exit 1).
    #[error(
        "there is no database at {path}\n  DATABASE_URL is {url}{default}\n  {env}\n  \
         Set DATABASE_URL (in the environment, or in a .env file in this directory or a \
         parent) to the database `syndic serve` uses, or run `syndic migrate` to create a new \
         one here.",
        path = path.display(),
        default = if *defaulted { " (the default: a relative path is taken from the working directory)" } else { "" },
        env = match env_file {
            Some(f) => format!("settings were read from the environment and {}", f.display()),
            None => "no .env file was found in the working directory or its parents".to_owned(),
        }
    )]
    NoDatabase {
        path: PathBuf,
        url: String,
        defaulted: bool,
        env_file: Option<PathBuf>,
    },
}

/// The exit code for an error `run` returned.
pub fn exit_code(e: &anyhow::Error) -> u8 {
    match e.downcast_ref::<CliError>() {
        Some(CliError::NotFound(_)) => EXIT_NOT_FOUND,
        Some(CliError::Usage(_)) => EXIT_USAGE,
        _ => EXIT_ERROR,
    }
}

/// What every command gets: the store, the settings, and whether to print JSON.
pub(crate) struct Ctx {
    pub store: DynStore,
    pub config: Config,
    pub json: bool,
}

pub async fn run(cli: Cli) -> Result<()> {
    let config = Config::from_env()?;
    if let Command::CopyDb { from, to } = &cli.command {
        return copydb::run(from, to, config.db_pool, cli.json).await;
    }
    // Only the commands that set a database up may create one: any other command run in the
    // wrong directory, or with the wrong DATABASE_URL, would otherwise work on a new empty
    // database and seem to succeed.
    let creates = matches!(cli.command, Command::Serve | Command::Migrate);
    let opened = if creates {
        store::open_pooled(&config.database_url, config.db_pool).await
    } else {
        store::open_existing(&config.database_url, config.db_pool).await
    };
    let store = match opened {
        Ok(s) => s,
        Err(StoreError::Missing(path)) => {
            return Err(CliError::NoDatabase {
                path: std::path::absolute(&path).unwrap_or(path),
                url: config.database_url.clone(),
                defaulted: config.database_url == DEFAULT_DATABASE_URL,
                env_file: cli.env_file,
            }
            .into());
        }
        Err(e) => {
            return Err(anyhow::Error::new(e).context(format!(
                "cannot open the database {}",
                store::display_url(&config.database_url)
            )));
        }
    };
    let ctx = Ctx {
        store: store.clone(),
        config,
        json: cli.json,
    };
    let result = dispatch(cli.command, ctx).await;
    store.close().await;
    result
}

async fn dispatch(command: Command, ctx: Ctx) -> Result<()> {
    match command {
        Command::Serve => service::serve(ctx).await,
        Command::Migrate => service::migrate(&ctx).await,
        Command::Backup { file, allow_empty } => service::backup(&ctx, &file, allow_empty).await,
        Command::Prune => service::prune(&ctx).await,
        Command::Channel(c) => channels::run(&ctx, c).await,
        Command::Article(c) => articles::run(&ctx, c).await,
        Command::Ingest { slug, files } => articles::ingest(&ctx, &slug, &files).await,
        Command::Render {
            slug,
            format,
            limit,
        } => articles::render(&ctx, &slug, format, limit).await,
        Command::Token(c) => tokens::run(&ctx, c).await,
        Command::Hub(c) => hub::run(&ctx, c).await,
        Command::Rules(c) => rules::run(&ctx, c).await,
        Command::Subscription(c) => subscriptions::run(&ctx, c).await,
        Command::Subscribe(args) => subscriptions::add(&ctx, args).await,
        Command::Subscriptions => subscriptions::list(&ctx).await,
        Command::Unsubscribe { id } => subscriptions::remove(&ctx, id).await,
        Command::Poll {
            once: _,
            subscription: Some(id),
        } => subscriptions::poll_one(&ctx, id).await,
        Command::Poll {
            once: true,
            subscription: None,
        } => subscriptions::poll_due(&ctx).await,
        Command::Poll {
            once: false,
            subscription: None,
        } => subscriptions::poll_forever(&ctx).await,
        Command::ImportOpml {
            file,
            channel,
            every,
        } => subscriptions::import_opml(&ctx, &file, &channel, every).await,
        Command::ExportOpml => subscriptions::export_opml(&ctx).await,
        Command::CopyDb { .. } => anyhow::bail!("copy-db opens its own databases"),
    }
}

/// The channel a slug names, or a not-found error that says how to make one.
pub(crate) async fn find_channel(store: &DynStore, slug: &str) -> Result<crate::model::Channel> {
    let parsed = crate::model::Slug::parse(slug).map_err(|e| anyhow::anyhow!(e))?;
    store.channel(&parsed).await?.ok_or_else(|| {
        CliError::NotFound(format!(
            "no channel {slug:?} (`syndic channel list` shows them; `syndic channel add` makes one)"
        ))
        .into()
    })
}

/// The bytes of a file, or of standard input for `-`.
pub(crate) fn read_input(path: &std::path::Path) -> Result<Vec<u8>> {
    use anyhow::Context;
    use std::io::Read;
    if path == std::path::Path::new("-") {
        let mut buf = Vec::new();
        std::io::stdin().read_to_end(&mut buf)?;
        Ok(buf)
    } else {
        std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
    }
}

#[cfg(test)]
mod help_tests {
    use clap::CommandFactory;

    /// Every setting the code reads, as config.rs names it.
    fn settings() -> Vec<String> {
        let src = include_str!("../config.rs");
        let mut names: Vec<String> = src
            .split('"')
            .filter(|s| {
                (s.starts_with("SYNDIC_") || *s == "DATABASE_URL")
                    && s.chars().all(|c| c.is_ascii_uppercase() || c == '_')
            })
            .map(str::to_owned)
            .collect();
        names.sort();
        names.dedup();
        names.push("RUST_LOG".into());
        names
    }

    #[test]
    fn help_env_example_and_docs_name_every_setting() {
        let help = super::Cli::command().render_long_help().to_string();
        let env = include_str!("../../.env.example");
        let docs = include_str!("../../docs/running.md");
        let names = settings();
        assert!(names.len() > 20, "settings read from config.rs: {names:?}");
        for name in names {
            assert!(help.contains(&name), "syndic --help does not name {name}");
            assert!(env.contains(&name), ".env.example does not name {name}");
            assert!(docs.contains(&name), "docs/running.md does not name {name}");
        }
    }
}
