//! Storage behind one narrow interface. All SQL lives below this module; the rest of syndic
//! sees only [`Store`]. SQLite is the embedded default; PostgreSQL is the second
//! implementation, chosen from the database URL's scheme in [`open`].

mod mapping;
mod pg_dump;
mod postgres;
pub mod rows;
mod sql_errors;
mod sqlite;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;

use crate::model::{
    Article, Channel, ChannelPatch, Cursor, FullText, HubSubscription, NewChannel, NewSubscription,
    Page, Slug, StoredArticle, Subscription, SubscriptionPatch, Via,
};

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// Connections a PostgreSQL store opens at most, unless `SYNDIC_DB_POOL` says otherwise.
pub const DEFAULT_POOL_SIZE: u32 = 16;

/// A driver's error, kept for the log: callers decide on the [`StoreError`] kind alone.
pub type DriverError = Box<dyn std::error::Error + Send + Sync>;

/// Why a store operation failed. Each backend maps its driver's errors to these kinds
/// ([`sql_errors`]); the layers above see kinds, never a driver's error type.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("channel {0} already exists")]
    SlugTaken(Slug),
    #[error(
        "database URL {0:?} is not supported: use sqlite:PATH (SQLite) or \
         postgres://USER@HOST/DATABASE (PostgreSQL; postgresql:// too)"
    )]
    UnsupportedUrl(String),
    /// [`open_existing`] found no database file.
    #[error("there is no database at {}", .0.display())]
    Missing(std::path::PathBuf),
    /// [`open_existing`] found no such database on the PostgreSQL server.
    #[error("the PostgreSQL server has no database {0:?} (`syndic migrate` creates it)")]
    MissingDatabase(String),
    /// An outside program the operation needs is missing or failed (`pg_dump`).
    #[error("{0}")]
    Tool(String),
    /// The database's environment failed, not the request: a full disk, a read-only file, an
    /// I/O error, a lock held too long, a server that does not answer. It passes: retry later.
    #[error("the database is unavailable: {0}")]
    Unavailable(#[source] DriverError),
    /// Any other failure of the database: a bug or a broken invariant.
    #[error("database error: {0}")]
    Failed(#[source] DriverError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("the database schema does not match this binary: {0}")]
    Schema(String),
    #[error("cannot create {path}: {source}")]
    Create {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// One failure shared by every write of a batch.
    #[error(transparent)]
    Shared(std::sync::Arc<StoreError>),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl StoreError {
    /// True for failures of the database's environment rather than of the request.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Unavailable(_) => true,
            StoreError::Shared(e) => e.is_unavailable(),
            _ => false,
        }
    }
}

/// What became of one WebSub delivery, as the hub records it.
#[derive(Debug, Clone)]
pub enum HubOutcome {
    /// The subscriber took this version of the channel.
    Delivered { id: i64, version: i64 },
    /// It failed; the next attempt is due at `retry_at`.
    Failed {
        id: i64,
        error: String,
        retry_at: chrono::DateTime<chrono::Utc>,
    },
    /// The subscription ends (410 Gone, a channel gone, a callback no longer allowed).
    Remove { id: i64 },
}

/// An article as a backend writes it: the article, and what the layer above decided about it.
#[derive(Debug)]
pub struct ArticleRow<'a> {
    pub article: &'a Article,
    pub content_hash: String,
    /// Position in the newest-first order (microseconds).
    pub sort_at: i64,
    pub first_seen_at: i64,
    pub updated_at: i64,
}

/// What a channel holds of an article id.
#[derive(Debug, Clone)]
pub struct StoredState {
    pub row: i64,
    pub content_hash: String,
    pub first_seen_at: i64,
    /// The subscriptions the article came through (see [`Via`]).
    pub sources: Vec<Via>,
}

/// What story mode compares of an article, as a backend keeps it (see `story`).
#[derive(Debug, Clone, PartialEq)]
pub struct StoryTitle {
    pub guid: String,
    /// The normalized title and first paragraph.
    pub title: String,
    pub lead: Option<String>,
    /// When the story is dated (microseconds): published, else first seen.
    pub at: i64,
}

/// What a channel holds of some article ids: the stored articles, and the ids a tombstone
/// keeps out.
#[derive(Debug, Default)]
pub struct ArticleStates {
    pub stored: HashMap<String, StoredState>,
    pub tombstoned: HashSet<String>,
}

/// One write transaction of a backend: rows in, rows out, nothing decided (the rules are in
/// `catalog`). Nothing is written unless [`WriteTx::commit`] succeeds; dropping it rolls back.
#[async_trait]
pub trait WriteTx: Send {
    /// The stored articles and tombstones of these ids in the channel.
    async fn article_states(&mut self, channel_id: i64, guids: &[&str]) -> Result<ArticleStates>;
    /// Inserts new articles; returns the row id of the last one.
    async fn insert_articles(&mut self, channel_id: i64, rows: &[ArticleRow<'_>]) -> Result<i64>;
    /// Rewrites a stored article (its first_seen_at stays).
    async fn update_article(&mut self, row: i64, article: &ArticleRow<'_>) -> Result<()>;
    /// Deletes articles; returns the ids that were there.
    async fn delete_articles(&mut self, channel_id: i64, guids: &[&str]) -> Result<Vec<String>>;
    /// The ids of the channel's articles after the first `keep` in newest-first order.
    async fn guids_past(&mut self, channel_id: i64, keep: u32) -> Result<Vec<String>>;
    /// The ids of the channel's articles that sort before `sort_at`.
    async fn guids_sorted_before(&mut self, channel_id: i64, sort_at: i64) -> Result<Vec<String>>;
    async fn add_tombstones(&mut self, channel_id: i64, guids: &[&str], at: i64) -> Result<()>;
    async fn remove_tombstones(&mut self, channel_id: i64, guids: &[&str]) -> Result<()>;
    /// Marks the channel changed: its version goes up, `updated_at` becomes `at`.
    async fn bump_channel(&mut self, channel_id: i64, at: i64) -> Result<()>;
    /// The article ids recorded for these item keys of a subscription.
    async fn item_keys(
        &mut self,
        subscription_id: i64,
        keys: &[&str],
    ) -> Result<HashMap<String, String>>;
    /// Records (key, article id) pairs of a subscription; a key recorded before keeps its id.
    async fn record_item_keys(
        &mut self,
        subscription_id: i64,
        pairs: &[(&str, &str)],
    ) -> Result<()>;
    async fn add_items_imported(&mut self, subscription_id: i64, n: i64) -> Result<()>;
    /// Replaces the list of subscriptions an article came through.
    async fn set_sources(&mut self, row: i64, sources: &[Via]) -> Result<()>;
    /// The article ids recorded for these canonical links in the channel.
    async fn story_links(
        &mut self,
        channel_id: i64,
        links: &[&str],
    ) -> Result<HashMap<String, String>>;
    /// Records (canonical link, article id) pairs; a link recorded before keeps its id.
    async fn record_story_links(&mut self, channel_id: i64, pairs: &[(&str, &str)]) -> Result<()>;
    /// The story titles of the channel dated from `from` to `to` (included).
    async fn story_titles(
        &mut self,
        channel_id: i64,
        from: i64,
        to: i64,
    ) -> Result<Vec<StoryTitle>>;
    /// Records an article's story title; one recorded before for that id stays.
    async fn record_story_title(&mut self, channel_id: i64, title: &StoryTitle) -> Result<()>;
    async fn commit(self: Box<Self>) -> Result<()>;
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    async fn create_channel(&self, new: &NewChannel) -> Result<Channel>;
    async fn channels(&self) -> Result<Vec<Channel>>;
    async fn channel(&self, slug: &Slug) -> Result<Option<Channel>>;
    async fn channel_by_id(&self, id: i64) -> Result<Option<Channel>>;
    async fn update_channel(&self, slug: &Slug, patch: &ChannelPatch) -> Result<Option<Channel>>;
    async fn delete_channel(&self, slug: &Slug) -> Result<bool>;

    /// Begins a write transaction (see `catalog` for what is written through it).
    async fn begin_write(&self) -> Result<Box<dyn WriteTx>>;
    async fn article(&self, channel: &Channel, guid: &str) -> Result<Option<StoredArticle>>;
    /// Newest first, strictly after `before` in that order.
    async fn articles(
        &self,
        channel: &Channel,
        limit: u32,
        before: Option<Cursor>,
    ) -> Result<Vec<StoredArticle>>;
    /// One page of a channel's articles (see [`Page`]).
    async fn page(&self, channel: &Channel, page: &Page) -> Result<Vec<StoredArticle>>;
    /// The positions of up to `limit` articles from `from` (included) towards the newest,
    /// oldest first, within `tag` when given: what a "previous page" link needs.
    async fn newer(
        &self,
        channel: &Channel,
        from: Cursor,
        limit: u32,
        tag: Option<&str>,
    ) -> Result<Vec<Cursor>>;

    async fn create_token(&self, name: &str, token_hash: &str) -> Result<i64>;
    async fn tokens(&self) -> Result<Vec<TokenInfo>>;
    /// Revokes a token; false when there is no such unrevoked token.
    async fn revoke_token(&self, id: i64) -> Result<bool>;
    /// Writes a consistent copy of the whole database to `path` while it is in use.
    async fn backup(&self, path: &std::path::Path) -> Result<()>;
    /// True when an unrevoked token has this hash.
    async fn token_valid(&self, token_hash: &str) -> Result<bool>;

    async fn create_subscription(&self, new: &NewSubscription) -> Result<Subscription>;
    async fn subscriptions(&self) -> Result<Vec<Subscription>>;
    async fn subscription(&self, id: i64) -> Result<Option<Subscription>>;
    /// The subscription of a channel to a URL (current or original), if any.
    async fn find_subscription(&self, channel: &Channel, url: &str)
    -> Result<Option<Subscription>>;
    async fn delete_subscription(&self, id: i64) -> Result<bool>;
    /// Claims up to `limit` enabled subscriptions whose next fetch is due by `due_by` and
    /// that no live lease holds (leases are live until their end, by this process's clock),
    /// soonest first, for `lease`, atomically: two callers, in one process or in two, never
    /// get the same subscription. None is taken whose host would then have more than
    /// `per_host` live leases, whoever holds them.
    async fn claim_due_subscriptions(
        &self,
        due_by: chrono::DateTime<chrono::Utc>,
        lease: &Lease<'_>,
        per_host: u32,
        limit: u32,
    ) -> Result<Vec<Subscription>>;
    /// Extends the leases `lease.owner` still holds among these rows to `lease.until`;
    /// returns how many it still holds.
    async fn renew_claims(&self, kind: ClaimKind, ids: &[i64], lease: &Lease<'_>) -> Result<u64>;
    /// Writes a claimed subscription's fetch state (as [`Store::save_subscription_state`]) and
    /// ends the claim, only while `owner` holds it; false when the claim was lost (its lease
    /// ended and another instance took it) and nothing was written.
    async fn release_subscription(&self, s: &Subscription, owner: &str) -> Result<bool>;
    /// Records a WebSub subscription request about to be sent; it is pending until the hub
    /// answers.
    async fn websub_requested(&self, id: i64, request: &WebsubRequest<'_>) -> Result<()>;
    /// Records the hub's answer: the lease it granted (`None` when denied or ended); the
    /// request is no longer pending.
    async fn websub_lease(
        &self,
        id: i64,
        until: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<()>;
    /// Writes a subscription's fetch state (URL, validators, schedule, status, errors).
    async fn save_subscription_state(&self, s: &Subscription) -> Result<()>;
    /// Forgets a subscription's validators and body hash, so its next poll reads the whole
    /// feed (no 304, no "unchanged").
    async fn forget_validators(&self, id: i64) -> Result<()>;
    /// Changes a subscription's options; `None` when there is no such subscription.
    async fn update_subscription(
        &self,
        id: i64,
        patch: &SubscriptionPatch,
    ) -> Result<Option<Subscription>>;
    /// Which of these item keys the subscription has recorded (outside a write transaction).
    async fn seen_item_keys(&self, subscription_id: i64, keys: &[&str]) -> Result<HashSet<String>>;
    /// What is kept of these item pages of a subscription, by page URL.
    async fn full_texts(
        &self,
        subscription_id: i64,
        urls: &[&str],
    ) -> Result<HashMap<String, FullText>>;
    /// Keeps (or replaces) what was made of item pages of a subscription, by page URL.
    async fn save_full_texts(
        &self,
        subscription_id: i64,
        pages: &[(String, FullText)],
    ) -> Result<()>;
    /// Removes what was kept of a subscription's item pages fetched before `before`, except
    /// the pages in `keep`; returns how many went.
    async fn forget_full_texts(
        &self,
        subscription_id: i64,
        keep: &[&str],
        before: chrono::DateTime<chrono::Utc>,
    ) -> Result<u64>;
    /// Removes the story titles (story mode's keys) of every channel dated before `before`;
    /// returns how many went.
    async fn forget_story_titles(&self, before: chrono::DateTime<chrono::Utc>) -> Result<u64>;

    /// Stores a verified WebSub subscription (a renewal replaces the old lease); nothing is
    /// due for it until the channel changes.
    async fn hub_subscribe(
        &self,
        channel: &Channel,
        topic: &str,
        format: &str,
        callback: &HubCallback<'_>,
        secret: Option<&str>,
        lease_seconds: i64,
    ) -> Result<HubSubscription>;
    /// What the hub's limits are measured against, for a subscription request.
    async fn hub_counts(&self, topic: &str, callback: &HubCallback<'_>) -> Result<HubCounts>;
    async fn hub_unsubscribe(&self, topic: &str, callback: &str) -> Result<bool>;
    /// Every hub subscription, by id: what an operator sees and may remove.
    async fn hub_subscriptions(&self) -> Result<Vec<HubSubscription>>;
    /// Hub subscriptions whose lease runs, per topic: (channel slug, format, count), only
    /// topics that have some.
    async fn hub_topic_counts(&self) -> Result<Vec<(String, String, i64)>>;
    /// Claims up to `limit` subscriptions whose channel changed since their last delivery,
    /// whose next attempt is due and that no live lease holds, for `lease` (atomically, as
    /// [`Store::claim_due_subscriptions`]); expired hub leases are removed first.
    async fn hub_claim_due(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        lease: &Lease<'_>,
        limit: u32,
    ) -> Result<Vec<HubSubscription>>;
    /// Records a delivery: success (the version delivered) or failure (when to retry).
    async fn hub_delivered(&self, id: i64, version: i64) -> Result<()>;
    async fn hub_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: chrono::DateTime<chrono::Utc>,
    ) -> Result<()>;
    async fn hub_remove(&self, id: i64) -> Result<()>;
    /// Records many delivery outcomes at once, in one transaction, and ends the claims
    /// `owner` holds on them.
    async fn hub_record(&self, owner: &str, outcomes: &[HubOutcome]) -> Result<()>;

    /// Takes or renews the lease of a job that runs on one instance at a time: true when
    /// `lease.owner` holds it until `lease.until` now, false while another owner's lease
    /// runs past `now`.
    async fn take_job(
        &self,
        name: &str,
        now: chrono::DateTime<chrono::Utc>,
        lease: &Lease<'_>,
    ) -> Result<bool>;

    /// The import rules stored on a subscription or channel (JSON): `None` when there is no
    /// such subscription or channel, `Some(None)` when it has no rules.
    async fn rules(&self, owner: RulesOwner) -> Result<Option<Option<String>>>;
    /// Stores (or with `None` removes) the rules of a subscription or channel and forgets
    /// the validators and body hash of the subscriptions they apply to (the next poll
    /// imports under the new rules); false when there is no such owner.
    async fn set_rules(&self, owner: RulesOwner, json: Option<&str>) -> Result<bool>;
    /// The items of a subscription that rules dropped, among these item keys.
    async fn dropped_items(
        &self,
        subscription_id: i64,
        keys: &[&str],
    ) -> Result<HashMap<String, DroppedItem>>;
    /// Remembers (item key, rule) pairs as dropped under the rules with this fingerprint.
    async fn remember_dropped(
        &self,
        subscription_id: i64,
        entries: &[(&str, &str)],
        rules_hash: &str,
        at: i64,
    ) -> Result<()>;
    /// Every (item key, article id) pair recorded for a subscription.
    async fn subscription_item_keys(&self, subscription_id: i64) -> Result<Vec<(String, String)>>;

    /// Channel changes (new article versions, edits, deletions): the value counts them. It
    /// moves when this process commits one and, on PostgreSQL while [`Store::listen`] runs,
    /// when any instance on the database does; waiting on it (`changed()`) wakes at once.
    fn channel_changes(&self) -> tokio::sync::watch::Receiver<u64>;

    /// Hears the channel changes of other processes until `stop` turns true: on PostgreSQL a
    /// `LISTEN` on the channel that every write transaction changing a channel notifies at
    /// commit, reconnecting when the server goes away; each notification (and each
    /// reconnection, after which some may have been missed) moves [`Store::commits`] and
    /// [`Store::channel_changes`], and `heard` is told how many arrived. On SQLite there is
    /// nothing to hear: it returns when `stop` turns true.
    async fn listen(
        &self,
        stop: tokio::sync::watch::Receiver<bool>,
        heard: &(dyn Fn(u64) + Send + Sync),
    );

    /// How many write transactions this process has committed: a read made while the count
    /// stayed the same cannot have missed a write of this process (writes by other processes
    /// are not counted).
    fn commits(&self) -> u64;

    /// Row-level access to every table, for `copy-db`: a consistent read-only snapshot, or
    /// (`write`) one write transaction that keeps nothing unless committed.
    async fn rows(&self, write: bool) -> Result<Box<dyn rows::RowTx>>;

    /// Cheap readiness probe: the database answers and its schema is the one this binary
    /// migrates to (no migration missing, none unknown).
    async fn ping(&self) -> Result<()>;

    /// Closes every connection, so that the database is left checkpointed and tidy.
    async fn close(&self);
}

pub type DynStore = Arc<dyn Store>;

/// Whose import rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RulesOwner {
    Subscription(i64),
    /// A channel, by row id.
    Channel(i64),
}

/// An item rules dropped: under which rules (their fingerprint) and by which rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DroppedItem {
    pub rules_hash: String,
    pub rule: String,
}

/// A claim on work, as several instances on one database share it: who holds it and until
/// when. Past `until`, any instance may take the work.
#[derive(Debug, Clone, Copy)]
pub struct Lease<'a> {
    pub owner: &'a str,
    pub until: chrono::DateTime<chrono::Utc>,
}

/// The rows claims are taken on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimKind {
    /// Subscriptions being polled.
    Polls,
    /// WebSub deliveries in flight.
    Deliveries,
}

/// A name for this process among the instances sharing a database (host name, process id and
/// a random part, so a restarted process on the same host is another owner); each
/// [`Lease`] owner is built from it.
pub fn instance_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    format!(
        "{host}:{}:{:08x}",
        std::process::id(),
        rand::random::<u32>()
    )
}

/// A WebSub subscription request syndic sends to an upstream's hub.
#[derive(Debug, Clone, Copy)]
pub struct WebsubRequest<'a> {
    pub hub: &'a str,
    pub topic: &'a str,
    /// None when the hub is not on https (secrets go only over TLS).
    pub secret: Option<&'a str>,
    /// The token in the callback URL.
    pub token: &'a str,
}

/// A subscriber's callback, as the hub stores it: the URL and its host (what per-host
/// limits count).
#[derive(Debug, Clone, Copy)]
pub struct HubCallback<'a> {
    pub url: &'a str,
    pub host: &'a str,
}

/// Hub subscriptions as the limits count them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HubCounts {
    pub topic: u64,
    pub host: u64,
    pub total: u64,
    /// This topic and callback already have a subscription (a renewal).
    pub exists: bool,
}

/// An API token as listed (never the token itself: only its hash is stored).
#[derive(Debug, Clone, serde::Serialize)]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The backends a database URL can name.
enum Backend {
    Sqlite,
    Postgres,
}

fn backend(database_url: &str) -> Result<Backend> {
    if database_url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
        Ok(Backend::Postgres)
    } else {
        Err(StoreError::UnsupportedUrl(display_url(database_url)))
    }
}

/// Opens the store the URL names, creating and migrating it as needed; a PostgreSQL pool
/// has [`DEFAULT_POOL_SIZE`] connections.
pub async fn open(database_url: &str) -> Result<DynStore> {
    open_pooled(database_url, DEFAULT_POOL_SIZE).await
}

/// As [`open`], with at most `pool_size` connections to PostgreSQL (SQLite's pools are
/// fixed: one writer, eight readers).
pub async fn open_pooled(database_url: &str, pool_size: u32) -> Result<DynStore> {
    Ok(match backend(database_url)? {
        Backend::Sqlite => Arc::new(SqliteStore::open(database_url).await?),
        Backend::Postgres => Arc::new(PostgresStore::open(database_url, pool_size, true).await?),
    })
}

/// Opens the store the URL names only if it exists already (migrating it as needed): every
/// command but `serve` and `migrate` opens this way, so a mistyped or relative path cannot
/// silently start an empty database.
pub async fn open_existing(database_url: &str, pool_size: u32) -> Result<DynStore> {
    Ok(match backend(database_url)? {
        Backend::Sqlite => Arc::new(SqliteStore::open_existing(database_url).await?),
        Backend::Postgres => Arc::new(PostgresStore::open(database_url, pool_size, false).await?),
    })
}

/// A database URL fit to print: a password in it is replaced by `***`.
pub fn display_url(database_url: &str) -> String {
    match url::Url::parse(database_url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.into()
        }
        _ => database_url.to_owned(),
    }
}

/// Compares the migrations a database has applied with the ones this binary has: what
/// `ping` reports on every backend.
fn check_schema(migrator: &sqlx::migrate::Migrator, applied: &[i64]) -> Result<()> {
    let known: Vec<i64> = migrator
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .map(|m| m.version)
        .collect();
    if let Some(missing) = known.iter().find(|v| !applied.contains(v)) {
        return Err(StoreError::Schema(format!(
            "migration {missing} is not applied (run `syndic migrate`)"
        )));
    }
    if let Some(unknown) = applied.iter().find(|v| !known.contains(v)) {
        return Err(StoreError::Schema(format!(
            "migration {unknown} was applied by a newer syndic"
        )));
    }
    Ok(())
}

/// How many due subscriptions a claim of `limit` ranks at most, soonest first: enough for the
/// per-host ranking to find `limit` on several hosts, without sorting every due row on each
/// claim. Hosts at their limit are left out before these are chosen, so each host among them
/// has a free slot and a claim never comes back empty while something is claimable.
pub(crate) fn candidates(limit: u32) -> i64 {
    (i64::from(limit) * 8).max(256)
}

/// The PostgreSQL notification channel of channel changes (payload: the channel's id).
pub(crate) const CHANGES_CHANNEL: &str = "syndic_channels";

/// Counts a channel change committed by this process.
pub(crate) fn changed(changes: &tokio::sync::watch::Sender<u64>) {
    changes.send_modify(|n| *n = n.wrapping_add(1));
}

/// Waits until `stop` turns true (or its sender is gone).
pub(crate) async fn stopped(mut stop: tokio::sync::watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// The current time in the store's unit: microseconds since the Unix epoch.
pub(crate) fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_not_printed() {
        assert_eq!(
            display_url("postgres://syndic:s3cret@db.example:5432/feeds"),
            "postgres://syndic:***@db.example:5432/feeds"
        );
        assert_eq!(
            display_url("postgres://syndic@db/feeds"),
            "postgres://syndic@db/feeds"
        );
        assert_eq!(display_url("sqlite:syndic.db"), "sqlite:syndic.db");
    }

    #[tokio::test]
    async fn other_schemes_are_refused_naming_both_backends() {
        for url in [
            "mysql://localhost/syndic",
            "syndic.db",
            "postgres:/x",
            "file:syndic.db",
        ] {
            let Err(e) = open(url).await else {
                panic!("{url} was accepted")
            };
            assert!(matches!(e, StoreError::UnsupportedUrl(_)), "{url}: {e:?}");
            let message = e.to_string();
            assert!(
                message.contains("sqlite:")
                    && message.contains("postgres://")
                    && !message.contains("s3cret"),
                "{message}"
            );
        }
    }
}
