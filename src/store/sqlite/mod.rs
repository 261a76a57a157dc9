//! The SQLite backend: one file in WAL mode, one writer connection (so concurrent writers
//! queue instead of failing with SQLITE_BUSY) and a small pool of readers that never wait on it.

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};

use super::mapping::{self, micros_to_utc, parse_json, rfc3339, to_json};
use super::{
    ClaimKind, HubCallback, HubCounts, HubOutcome, Lease, Result, Store, StoreError, TokenInfo,
    WebsubRequest, WriteTx, now_micros,
};
use crate::model::{
    Channel, ChannelPatch, Cursor, Dedupe, HubSubscription, NewChannel, NewSubscription, Page,
    Slug, StoredArticle, Subscription,
};
use crate::model::{FullText, SubscriptionPatch};
use std::collections::{HashMap, HashSet};

mod fulltext;
mod rows;
mod rules;
mod subs;
mod websub;
mod write;

/// Write transactions begin IMMEDIATE: they take the write lock first, so a writer in
/// another process (the CLI while `serve` runs) makes them wait out the busy timeout instead
/// of failing at once on a read-to-write upgrade.
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    /// Write transactions committed by this process (see [`Store::commits`]).
    commits: Arc<AtomicU64>,
    /// Polls' bookkeeping, written in batches.
    states: subs::StateWriter,
    /// Channel changes committed (see [`Store::channel_changes`]).
    changes: Arc<tokio::sync::watch::Sender<u64>>,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

impl SqliteStore {
    /// Opens (creating if missing) and migrates the database at `url` (`sqlite:PATH`).
    pub async fn open(url: &str) -> Result<SqliteStore> {
        let options = SqliteConnectOptions::from_str(url)?;
        create_private(options.get_filename())?;
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a commit is on disk before the client hears of it, even across power loss.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        // The writer checkpoints the WAL into the database when a commit leaves it past this
        // many pages (SQLite's default is 1,000, about 4 MB): every batch of 500 articles
        // took a checkpoint, its writes and two more fsyncs, on the ingest's critical path.
        // 8,192 pages (32 MB) take one every eight batches or so; readers see no difference.
        // Its page cache holds 16 MiB (SQLite's default is 2 MiB): a batch's pages no longer
        // overflow it and get written to the WAL before the commit, some of them twice.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(
                options
                    .clone()
                    .pragma("wal_autocheckpoint", "8192")
                    .pragma("cache_size", "-16384"),
            )
            .await?;
        MIGRATOR.run(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options.read_only(true))
            .await?;
        Ok(SqliteStore {
            states: subs::StateWriter::spawn(writer.clone()),
            writer,
            reader,
            commits: Default::default(),
            changes: Arc::new(tokio::sync::watch::Sender::new(0)),
        })
    }

    /// Opens and migrates the database at `url` only if its file exists already.
    pub async fn open_existing(url: &str) -> Result<SqliteStore> {
        let options = SqliteConnectOptions::from_str(url)?;
        let path = options.get_filename();
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if !in_memory && !path.exists() {
            return Err(StoreError::Missing(path.to_owned()));
        }
        SqliteStore::open(url).await
    }

    /// Begins a write transaction on the one writer connection, taking the write lock at
    /// once. A COMMIT or ROLLBACK that failed (disk full, I/O error) leaves sqlx counting a
    /// transaction that SQLite has already rolled back, and every later BEGIN on that
    /// connection would fail: such a connection is closed and a fresh one opened.
    async fn begin(&self) -> Result<Transaction<'static, Sqlite>> {
        for _ in 0..3 {
            match self.writer.begin_with("BEGIN IMMEDIATE").await {
                Err(sqlx::Error::InvalidSavePointStatement) => {
                    tracing::warn!(
                        "the database connection lost a failed transaction; reopening it"
                    );
                    let mut conn = self.writer.acquire().await?;
                    conn.close_on_drop();
                }
                tx => return Ok(tx?),
            }
        }
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// Commits a write transaction and counts it, whether or not the commit succeeded.
    async fn commit(&self, tx: Transaction<'static, Sqlite>) -> Result<()> {
        write::commit(tx, &self.commits).await
    }

    async fn channel_by_id(tx: &mut Transaction<'_, Sqlite>, id: i64) -> Result<Option<Channel>> {
        let row = sqlx::query("SELECT * FROM channels WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
        row.map(|r| mapping::channel(&r)).transpose()
    }
}

/// Creates the database file for its owner only (0600), and its directory (0700) when that is
/// missing too: the file holds WebSub secrets and token hashes. SQLite gives the `-wal` and
/// `-shm` files it creates beside it the database file's mode. An existing file is left as
/// it is (an operator may have chosen its mode); in-memory databases have no file.
fn create_private(path: &std::path::Path) -> Result<()> {
    let name = path.to_string_lossy();
    if name.is_empty() || name == ":memory:" || path.exists() {
        return Ok(());
    }
    let fail = |source| StoreError::Create {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty() && !d.exists())
    {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).map_err(fail)?;
    }
    match private_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(fail(e)),
        _ => Ok(()),
    }
}

/// Creates an empty file readable and writable by its owner only; fails if it exists.
pub(super) fn private_file(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

#[async_trait]
impl Store for SqliteStore {
    async fn begin_write(&self) -> Result<Box<dyn WriteTx>> {
        Ok(Box::new(write::SqliteWriteTx::new(
            self.begin().await?,
            self.commits.clone(),
            self.changes.clone(),
        )))
    }

    async fn create_channel(&self, new: &NewChannel) -> Result<Channel> {
        let now = now_micros();
        let mut tx = self.begin().await?;
        let res = sqlx::query(
            "INSERT INTO channels (slug, title, description, link, language, created_at, updated_at,
                dedupe)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(new.slug.as_str())
        .bind(&new.title)
        .bind(&new.description)
        .bind(&new.link)
        .bind(&new.language)
        .bind(now)
        .bind(now)
        .bind(new.dedupe.as_str())
        .execute(&mut *tx)
        .await;
        let id = match res {
            Ok(r) => r.last_insert_rowid(),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(StoreError::SlugTaken(new.slug.clone()));
            }
            Err(e) => return Err(e.into()),
        };
        let channel = Self::channel_by_id(&mut tx, id).await?;
        self.commit(tx).await?;
        channel.ok_or_else(|| StoreError::Corrupt("channel vanished on insert".into()))
    }

    async fn channels(&self) -> Result<Vec<Channel>> {
        let rows = sqlx::query("SELECT * FROM channels ORDER BY slug")
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(mapping::channel).collect()
    }

    async fn channel(&self, slug: &Slug) -> Result<Option<Channel>> {
        let row = sqlx::query("SELECT * FROM channels WHERE slug = ?")
            .bind(slug.as_str())
            .fetch_optional(&self.reader)
            .await?;
        row.map(|r| mapping::channel(&r)).transpose()
    }

    async fn channel_by_id(&self, id: i64) -> Result<Option<Channel>> {
        let row = sqlx::query("SELECT * FROM channels WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        row.map(|r| mapping::channel(&r)).transpose()
    }

    async fn update_channel(&self, slug: &Slug, patch: &ChannelPatch) -> Result<Option<Channel>> {
        let mut tx = self.begin().await?;
        let Some(id) = sqlx::query_scalar::<_, i64>("SELECT id FROM channels WHERE slug = ?")
            .bind(slug.as_str())
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(None);
        };
        // Each bound pair is (whether to set, new value), so one statement serves any patch.
        sqlx::query(
            "UPDATE channels SET
                title = CASE WHEN ? THEN ? ELSE title END,
                description = CASE WHEN ? THEN ? ELSE description END,
                link = CASE WHEN ? THEN ? ELSE link END,
                language = CASE WHEN ? THEN ? ELSE language END,
                retain_max_articles = CASE WHEN ? THEN ? ELSE retain_max_articles END,
                retain_days = CASE WHEN ? THEN ? ELSE retain_days END,
                dedupe = CASE WHEN ? THEN ? ELSE dedupe END,
                version = version + 1, updated_at = ?
             WHERE id = ?",
        )
        .bind(patch.title.is_some())
        .bind(&patch.title)
        .bind(patch.description.is_some())
        .bind(&patch.description)
        .bind(patch.link.is_some())
        .bind(patch.link.clone().flatten())
        .bind(patch.language.is_some())
        .bind(patch.language.clone().flatten())
        .bind(patch.retain_max_articles.is_some())
        .bind(patch.retain_max_articles.flatten())
        .bind(patch.retain_days.is_some())
        .bind(patch.retain_days.flatten())
        .bind(patch.dedupe.is_some())
        .bind(patch.dedupe.map(Dedupe::as_str))
        .bind(now_micros())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let channel = Self::channel_by_id(&mut tx, id).await?;
        self.commit(tx).await?;
        super::changed(&self.changes);
        Ok(channel)
    }

    async fn delete_channel(&self, slug: &Slug) -> Result<bool> {
        let res = sqlx::query("DELETE FROM channels WHERE slug = ?")
            .bind(slug.as_str())
            .execute(&self.writer)
            .await?;
        self.commits
            .fetch_add(1, std::sync::atomic::Ordering::Release);
        Ok(res.rows_affected() > 0)
    }

    async fn article(&self, channel: &Channel, guid: &str) -> Result<Option<StoredArticle>> {
        let row = sqlx::query("SELECT * FROM articles WHERE channel_id = ? AND guid = ?")
            .bind(channel.id)
            .bind(guid)
            .fetch_optional(&self.reader)
            .await?;
        row.map(|r| mapping::article(&r)).transpose()
    }

    async fn articles(
        &self,
        channel: &Channel,
        limit: u32,
        before: Option<Cursor>,
    ) -> Result<Vec<StoredArticle>> {
        let page = Page {
            limit,
            before,
            tag: None,
        };
        self.page(channel, &page).await
    }

    async fn page(&self, channel: &Channel, page: &Page) -> Result<Vec<StoredArticle>> {
        let before = page.before.unwrap_or(Cursor {
            sort_at: i64::MAX,
            row: i64::MAX,
        });
        let rows = sqlx::query(
            "SELECT * FROM articles
             WHERE channel_id = ? AND (sort_at < ? OR (sort_at = ? AND id < ?))
               AND (? IS NULL OR EXISTS (SELECT 1 FROM json_each(articles.tags) t WHERE t.value = ?))
             ORDER BY sort_at DESC, id DESC LIMIT ?",
        )
        .bind(channel.id)
        .bind(before.sort_at)
        .bind(before.sort_at)
        .bind(before.row)
        .bind(&page.tag)
        .bind(&page.tag)
        .bind(page.limit)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(mapping::article).collect()
    }

    async fn newer(
        &self,
        channel: &Channel,
        from: Cursor,
        limit: u32,
        tag: Option<&str>,
    ) -> Result<Vec<Cursor>> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT sort_at, id FROM articles
             WHERE channel_id = ? AND (sort_at > ? OR (sort_at = ? AND id >= ?))
               AND (? IS NULL OR EXISTS (SELECT 1 FROM json_each(articles.tags) t WHERE t.value = ?))
             ORDER BY sort_at ASC, id ASC LIMIT ?",
        )
        .bind(channel.id)
        .bind(from.sort_at)
        .bind(from.sort_at)
        .bind(from.row)
        .bind(tag)
        .bind(tag)
        .bind(limit)
        .fetch_all(&self.reader)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(sort_at, row)| Cursor { sort_at, row })
            .collect())
    }

    async fn create_token(&self, name: &str, token_hash: &str) -> Result<i64> {
        let res =
            sqlx::query("INSERT INTO api_tokens (name, token_hash, created_at) VALUES (?, ?, ?)")
                .bind(name)
                .bind(token_hash)
                .bind(now_micros())
                .execute(&self.writer)
                .await?;
        Ok(res.last_insert_rowid())
    }

    async fn tokens(&self) -> Result<Vec<TokenInfo>> {
        let rows: Vec<(i64, String, i64, Option<i64>)> =
            sqlx::query_as("SELECT id, name, created_at, revoked_at FROM api_tokens ORDER BY id")
                .fetch_all(&self.reader)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(id, name, created, revoked)| TokenInfo {
                id,
                name,
                created_at: micros_to_utc(created),
                revoked_at: revoked.map(micros_to_utc),
            })
            .collect())
    }

    async fn revoke_token(&self, id: i64) -> Result<bool> {
        let res =
            sqlx::query("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
                .bind(now_micros())
                .bind(id)
                .execute(&self.writer)
                .await?;
        Ok(res.rows_affected() > 0)
    }

    async fn backup(&self, path: &std::path::Path) -> Result<()> {
        // The copy holds what the database holds: it is created for its owner only (VACUUM
        // INTO writes into an empty file, and fails on one that is not).
        match private_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                return Err(StoreError::Create {
                    path: path.to_owned(),
                    source: e,
                });
            }
            _ => {}
        }
        // VACUUM INTO reads one snapshot, so the copy is consistent while writes go on; it
        // runs on a reader, so it does not hold up the writer.
        sqlx::query("VACUUM INTO ?")
            .bind(path.to_string_lossy().into_owned())
            .execute(&self.reader)
            .await?;
        Ok(())
    }

    async fn token_valid(&self, token_hash: &str) -> Result<bool> {
        let id: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL",
        )
        .bind(token_hash)
        .fetch_optional(&self.reader)
        .await?;
        Ok(id.is_some())
    }

    async fn rules(&self, owner: super::RulesOwner) -> Result<Option<Option<String>>> {
        rules::get(&self.reader, owner).await
    }

    async fn set_rules(&self, owner: super::RulesOwner, json: Option<&str>) -> Result<bool> {
        rules::set(&self.writer, owner, json).await
    }

    async fn dropped_items(
        &self,
        subscription_id: i64,
        keys: &[&str],
    ) -> Result<std::collections::HashMap<String, super::DroppedItem>> {
        rules::dropped(&self.reader, subscription_id, keys).await
    }

    async fn remember_dropped(
        &self,
        subscription_id: i64,
        entries: &[(&str, &str)],
        rules_hash: &str,
        at: i64,
    ) -> Result<()> {
        rules::remember_dropped(&self.writer, subscription_id, entries, rules_hash, at).await
    }

    async fn subscription_item_keys(&self, subscription_id: i64) -> Result<Vec<(String, String)>> {
        rules::item_keys(&self.reader, subscription_id).await
    }

    fn commits(&self) -> u64 {
        self.commits.load(std::sync::atomic::Ordering::Acquire)
    }

    fn channel_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.subscribe()
    }

    async fn listen(
        &self,
        stop: tokio::sync::watch::Receiver<bool>,
        _heard: &(dyn Fn(u64) + Send + Sync),
    ) {
        // One file, one process writing at a time: nothing to hear. Writes by another
        // process (the CLI beside `serve`) show within the feed routes' 1-second re-check.
        super::stopped(stop).await
    }

    async fn rows(&self, write: bool) -> Result<Box<dyn super::rows::RowTx>> {
        let tx = if write {
            self.begin().await?
        } else {
            // A deferred transaction on a reader: its first read fixes the snapshot (WAL).
            self.reader.begin().await?
        };
        Ok(Box::new(rows::SqliteRows {
            tx,
            commits: self.commits.clone(),
        }))
    }

    async fn ping(&self) -> Result<()> {
        let applied: Vec<i64> = sqlx::query_scalar(
            "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version",
        )
        .fetch_all(&self.reader)
        .await?;
        super::check_schema(&MIGRATOR, &applied)
    }

    async fn create_subscription(&self, new: &NewSubscription) -> Result<Subscription> {
        subs::create(&self.writer, new).await
    }

    async fn subscriptions(&self) -> Result<Vec<Subscription>> {
        subs::list(&self.reader, None).await
    }

    async fn subscription(&self, id: i64) -> Result<Option<Subscription>> {
        Ok(subs::list(&self.reader, Some(id)).await?.pop())
    }

    async fn find_subscription(
        &self,
        channel: &Channel,
        url: &str,
    ) -> Result<Option<Subscription>> {
        subs::find(&self.reader, channel.id, url).await
    }

    async fn delete_subscription(&self, id: i64) -> Result<bool> {
        subs::delete(&self.writer, id).await
    }

    async fn claim_due_subscriptions(
        &self,
        due_by: DateTime<Utc>,
        lease: &Lease<'_>,
        per_host: u32,
        limit: u32,
    ) -> Result<Vec<Subscription>> {
        subs::claim(&self.writer, due_by, lease, per_host, limit).await
    }

    async fn renew_claims(&self, kind: ClaimKind, ids: &[i64], lease: &Lease<'_>) -> Result<u64> {
        subs::renew(&self.writer, kind, ids, lease).await
    }

    async fn release_subscription(&self, s: &Subscription, owner: &str) -> Result<bool> {
        self.states.save(s, Some(owner)).await
    }

    async fn websub_requested(&self, id: i64, request: &WebsubRequest<'_>) -> Result<()> {
        subs::websub_requested(&self.writer, id, request).await
    }

    async fn websub_lease(&self, id: i64, until: Option<DateTime<Utc>>) -> Result<()> {
        subs::websub_lease(&self.writer, id, until).await
    }

    async fn save_subscription_state(&self, s: &Subscription) -> Result<()> {
        self.states.save(s, None).await.map(drop)
    }

    async fn forget_validators(&self, id: i64) -> Result<()> {
        sqlx::query(
            "UPDATE subscriptions SET body_hash = NULL, etag = NULL, last_modified = NULL
             WHERE id = ?",
        )
        .bind(id)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn update_subscription(
        &self,
        id: i64,
        patch: &SubscriptionPatch,
    ) -> Result<Option<Subscription>> {
        if !fulltext::update(&self.writer, id, patch).await? {
            return Ok(None);
        }
        Ok(subs::list(&self.writer, Some(id)).await?.pop())
    }

    async fn seen_item_keys(&self, subscription_id: i64, keys: &[&str]) -> Result<HashSet<String>> {
        fulltext::seen_keys(&self.reader, subscription_id, keys).await
    }

    async fn full_texts(
        &self,
        subscription_id: i64,
        urls: &[&str],
    ) -> Result<HashMap<String, FullText>> {
        fulltext::get(&self.reader, subscription_id, urls).await
    }

    async fn save_full_texts(
        &self,
        subscription_id: i64,
        pages: &[(String, FullText)],
    ) -> Result<()> {
        fulltext::save(&self.writer, subscription_id, pages).await
    }

    async fn forget_full_texts(
        &self,
        subscription_id: i64,
        keep: &[&str],
        before: DateTime<Utc>,
    ) -> Result<u64> {
        fulltext::forget(&self.writer, subscription_id, keep, before).await
    }

    async fn forget_story_titles(&self, before: DateTime<Utc>) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM story_titles WHERE at < ?")
            .bind(before.timestamp_micros())
            .execute(&self.writer)
            .await?
            .rows_affected())
    }

    async fn hub_subscribe(
        &self,
        channel: &Channel,
        topic: &str,
        format: &str,
        callback: &HubCallback<'_>,
        secret: Option<&str>,
        lease_seconds: i64,
    ) -> Result<HubSubscription> {
        websub::subscribe(
            &self.writer,
            channel,
            topic,
            format,
            callback,
            secret,
            lease_seconds,
        )
        .await
    }

    async fn hub_counts(&self, topic: &str, callback: &HubCallback<'_>) -> Result<HubCounts> {
        websub::counts(&self.reader, topic, callback).await
    }

    async fn hub_unsubscribe(&self, topic: &str, callback: &str) -> Result<bool> {
        websub::unsubscribe(&self.writer, topic, callback).await
    }

    async fn hub_subscriptions(&self) -> Result<Vec<HubSubscription>> {
        websub::list(&self.reader).await
    }

    async fn hub_topic_counts(&self) -> Result<Vec<(String, String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT c.slug, w.format, count(*) FROM websub_subscriptions w
             JOIN channels c ON c.id = w.channel_id
             WHERE w.expires_at > ? GROUP BY c.slug, w.format ORDER BY c.slug, w.format",
        )
        .bind(now_micros())
        .fetch_all(&self.reader)
        .await?)
    }

    async fn hub_claim_due(
        &self,
        now: DateTime<Utc>,
        lease: &Lease<'_>,
        limit: u32,
    ) -> Result<Vec<HubSubscription>> {
        let mut tx = self.begin().await?;
        let claimed = websub::claim_due(&mut tx, now, lease, limit).await?;
        self.commit(tx).await?;
        Ok(claimed)
    }

    async fn hub_delivered(&self, id: i64, version: i64) -> Result<()> {
        websub::delivered(&self.writer, id, version, "").await
    }

    async fn hub_failed(&self, id: i64, error: &str, retry_at: DateTime<Utc>) -> Result<()> {
        websub::failed(&self.writer, id, error, retry_at, "").await
    }

    async fn hub_remove(&self, id: i64) -> Result<()> {
        websub::remove(&self.writer, id).await
    }

    async fn hub_record(&self, owner: &str, outcomes: &[HubOutcome]) -> Result<()> {
        // One transaction, one fsync, for a whole batch of deliveries.
        let mut tx = self.begin().await?;
        for o in outcomes {
            match o {
                HubOutcome::Delivered { id, version } => {
                    websub::delivered(&mut *tx, *id, *version, owner).await?
                }
                HubOutcome::Failed {
                    id,
                    error,
                    retry_at,
                } => websub::failed(&mut *tx, *id, error, *retry_at, owner).await?,
                HubOutcome::Remove { id } => websub::remove(&mut *tx, *id).await?,
            }
        }
        self.commit(tx).await
    }

    async fn take_job(&self, name: &str, now: DateTime<Utc>, lease: &Lease<'_>) -> Result<bool> {
        websub::take_job(&self.writer, name, now, lease).await
    }

    async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::SqliteStore;

    /// The writer checkpoints the WAL every 8,192 pages rather than SQLite's 1,000, so that an
    /// ingest of a few MB does not pay for a checkpoint at each commit; its data is in the WAL
    /// until then, and readers read it from there.
    #[tokio::test]
    async fn the_writer_checkpoints_every_8192_pages() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("syndic.db").display());
        let store = SqliteStore::open(&url).await.unwrap();
        let mut writer = store.writer.acquire().await.unwrap();
        let pages: i64 = sqlx::query_scalar("PRAGMA wal_autocheckpoint")
            .fetch_one(&mut *writer)
            .await
            .unwrap();
        assert_eq!(pages, 8192);
        let cache: i64 = sqlx::query_scalar("PRAGMA cache_size")
            .fetch_one(&mut *writer)
            .await
            .unwrap();
        assert_eq!(cache, -16384, "16 MiB");
        sqlx::query(
            "INSERT INTO channels (slug, title, created_at, updated_at) VALUES ('c', 'C', 0, 0)",
        )
        .execute(&mut *writer)
        .await
        .unwrap();
        drop(writer);
        let titles: Vec<String> = sqlx::query_scalar("SELECT title FROM channels")
            .fetch_all(&store.reader)
            .await
            .unwrap();
        assert_eq!(titles, ["C"]);
    }
}
