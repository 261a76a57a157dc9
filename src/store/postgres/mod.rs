//! The PostgreSQL backend: one pool of connections (`SYNDIC_DB_POOL`) shared by reads and
//! writes, the same rows as SQLite (times as BIGINT microseconds, lists as jsonb), migrated
//! under sqlx's advisory lock so that instances started together migrate once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Connection};

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
mod listen;
mod rows;
mod rules;
mod subs;
mod websub;
mod write;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// How long a request waits for a connection before it is answered "unavailable": a server
/// that is down must not make requests hang.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a statement waits for a lock another session holds before it fails as
/// unavailable (55P03): as long as SQLite's busy timeout. Not set on the migrating
/// connection, which may wait as long as another instance migrates.
const LOCK_TIMEOUT: &str = "10s";

/// The columns of an article, with its jsonb lists read as text (`mapping::article`).
macro_rules! article_select {
    ($tail:literal) => {
        concat!(
            "SELECT id, guid, url, external_url, title, summary, content_html, content_text,
                image_url, image_caption, image_credit, banner_image, date_published,
                date_modified, authors::text AS authors, contributors::text AS contributors,
                tags::text AS tags, language, attachments::text AS attachments, source_title,
                source_url, first_seen_at, sort_at, sources::text AS sources FROM articles ",
            $tail
        )
    };
}

pub struct PostgresStore {
    pool: PgPool,
    /// Write transactions committed by this process (see [`Store::commits`]).
    commits: Arc<AtomicU64>,
    /// The connection settings and the URL's password, for `pg_dump`.
    options: PgConnectOptions,
    password: Option<String>,
    /// Channel changes committed or heard (see [`Store::channel_changes`]).
    changes: Arc<tokio::sync::watch::Sender<u64>>,
}

impl PostgresStore {
    /// Connects to the database at `url` and migrates it. With `create`, a database that does
    /// not exist is created first (as `serve` and `migrate` create a SQLite file); without
    /// it, a missing database is [`StoreError::MissingDatabase`].
    pub async fn open(url: &str, pool_size: u32, create: bool) -> Result<PostgresStore> {
        use sqlx::migrate::MigrateDatabase;
        let options: PgConnectOptions = url.parse()?;
        let database = options
            .get_database()
            .unwrap_or(options.get_username())
            .to_owned();
        let mut conn = match options.connect().await {
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("3D000") => {
                if !create {
                    return Err(StoreError::MissingDatabase(database));
                }
                // Another instance may create it at the same moment: 42P04 (duplicate
                // database) means it exists now, which is all that is wanted; so does 23505
                // (a unique violation on pg_database's names), which is what the loser of two
                // CREATE DATABASE running at the same moment gets instead.
                match sqlx::Postgres::create_database(url).await {
                    Err(sqlx::Error::Database(e))
                        if matches!(e.code().as_deref(), Some("42P04" | "23505")) => {}
                    other => other?,
                }
                options.connect().await?
            }
            other => other?,
        };
        // sqlx's migrator holds `pg_advisory_lock` (keyed on the database name) on this
        // connection while it migrates, so instances started together migrate one after the
        // other and the later ones find nothing to do. The connection is not a pooled one:
        // if a migration fails, closing it releases the session lock.
        let migrated = MIGRATOR.run(&mut conn).await;
        let _ = conn.close().await;
        migrated?;
        let pool = PgPoolOptions::new()
            .max_connections(pool_size.max(1))
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options.clone().options([("lock_timeout", LOCK_TIMEOUT)]))
            .await?;
        Ok(PostgresStore {
            pool,
            commits: Default::default(),
            changes: Arc::new(tokio::sync::watch::Sender::new(0)),
            options,
            password: url_password(url),
        })
    }

    fn counted(&self) {
        self.commits.fetch_add(1, Ordering::Release);
    }
}

/// The password in a database URL, percent-decoded.
fn url_password(url: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    let p = url.password()?;
    Some(
        url::form_urlencoded::parse(format!("p={}", p.replace('+', "%2B")).as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default(),
    )
}

/// A count or limit as PostgreSQL's BIGINT (it has no unsigned types).
fn big(n: u32) -> i64 {
    i64::from(n)
}

#[async_trait]
impl Store for PostgresStore {
    async fn begin_write(&self) -> Result<Box<dyn WriteTx>> {
        Ok(Box::new(write::PgWriteTx::new(
            self.pool.begin().await?,
            self.commits.clone(),
            self.changes.clone(),
        )))
    }

    async fn create_channel(&self, new: &NewChannel) -> Result<Channel> {
        let now = now_micros();
        let res = sqlx::query(
            "INSERT INTO channels (slug, title, description, link, language, created_at, updated_at,
                dedupe)
             VALUES ($1, $2, $3, $4, $5, $6, $6, $7) RETURNING *",
        )
        .bind(new.slug.as_str())
        .bind(&new.title)
        .bind(&new.description)
        .bind(&new.link)
        .bind(&new.language)
        .bind(now)
        .bind(new.dedupe.as_str())
        .fetch_one(&self.pool)
        .await;
        self.counted();
        match res {
            Ok(row) => mapping::channel(&row),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(StoreError::SlugTaken(new.slug.clone()))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn channels(&self) -> Result<Vec<Channel>> {
        let rows = sqlx::query("SELECT * FROM channels ORDER BY slug")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(mapping::channel).collect()
    }

    async fn channel(&self, slug: &Slug) -> Result<Option<Channel>> {
        let row = sqlx::query("SELECT * FROM channels WHERE slug = $1")
            .bind(slug.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| mapping::channel(&r)).transpose()
    }

    async fn channel_by_id(&self, id: i64) -> Result<Option<Channel>> {
        let row = sqlx::query("SELECT * FROM channels WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| mapping::channel(&r)).transpose()
    }

    async fn update_channel(&self, slug: &Slug, patch: &ChannelPatch) -> Result<Option<Channel>> {
        // Each bound pair is (whether to set, new value), so one statement serves any patch.
        let row = sqlx::query(
            "UPDATE channels SET
                title = CASE WHEN $1 THEN $2 ELSE title END,
                description = CASE WHEN $3 THEN $4 ELSE description END,
                link = CASE WHEN $5 THEN $6 ELSE link END,
                language = CASE WHEN $7 THEN $8 ELSE language END,
                retain_max_articles = CASE WHEN $9 THEN $10 ELSE retain_max_articles END,
                retain_days = CASE WHEN $11 THEN $12 ELSE retain_days END,
                dedupe = CASE WHEN $13 THEN $14 ELSE dedupe END,
                version = version + 1, updated_at = $15
             WHERE slug = $16 RETURNING *, pg_notify('syndic_channels', id::text)::text AS notified",
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
        .bind(patch.retain_max_articles.flatten().map(big))
        .bind(patch.retain_days.is_some())
        .bind(patch.retain_days.flatten().map(big))
        .bind(patch.dedupe.is_some())
        .bind(patch.dedupe.map(Dedupe::as_str))
        .bind(now_micros())
        .bind(slug.as_str())
        .fetch_optional(&self.pool)
        .await;
        self.counted();
        if matches!(row, Ok(Some(_))) {
            super::changed(&self.changes);
        }
        row?.map(|r| mapping::channel(&r)).transpose()
    }

    async fn delete_channel(&self, slug: &Slug) -> Result<bool> {
        // The notification goes out with the deletion's commit (one statement, one
        // transaction), so other instances stop serving the channel's feeds at once.
        let res: std::result::Result<Option<i64>, sqlx::Error> = sqlx::query_scalar(
            "WITH d AS (DELETE FROM channels WHERE slug = $1 RETURNING id)
             SELECT count(pg_notify('syndic_channels', id::text)) FROM d",
        )
        .bind(slug.as_str())
        .fetch_one(&self.pool)
        .await;
        self.counted();
        let deleted = res?.unwrap_or(0) > 0;
        if deleted {
            super::changed(&self.changes);
        }
        Ok(deleted)
    }

    async fn article(&self, channel: &Channel, guid: &str) -> Result<Option<StoredArticle>> {
        let row = sqlx::query(article_select!("WHERE channel_id = $1 AND guid = $2"))
            .bind(channel.id)
            .bind(guid)
            .fetch_optional(&self.pool)
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
        let rows = sqlx::query(article_select!(
            "WHERE channel_id = $1 AND (sort_at < $2 OR (sort_at = $2 AND id < $3))
               AND ($4::text IS NULL OR tags @> jsonb_build_array($4::text))
             ORDER BY sort_at DESC, id DESC LIMIT $5"
        ))
        .bind(channel.id)
        .bind(before.sort_at)
        .bind(before.row)
        .bind(&page.tag)
        .bind(big(page.limit))
        .fetch_all(&self.pool)
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
             WHERE channel_id = $1 AND (sort_at > $2 OR (sort_at = $2 AND id >= $3))
               AND ($4::text IS NULL OR tags @> jsonb_build_array($4::text))
             ORDER BY sort_at ASC, id ASC LIMIT $5",
        )
        .bind(channel.id)
        .bind(from.sort_at)
        .bind(from.row)
        .bind(tag)
        .bind(big(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(sort_at, row)| Cursor { sort_at, row })
            .collect())
    }

    async fn create_token(&self, name: &str, token_hash: &str) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO api_tokens (name, token_hash, created_at) VALUES ($1, $2, $3)
             RETURNING id",
        )
        .bind(name)
        .bind(token_hash)
        .bind(now_micros())
        .fetch_one(&self.pool)
        .await?)
    }

    async fn tokens(&self) -> Result<Vec<TokenInfo>> {
        let rows: Vec<(i64, String, i64, Option<i64>)> =
            sqlx::query_as("SELECT id, name, created_at, revoked_at FROM api_tokens ORDER BY id")
                .fetch_all(&self.pool)
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
        let res = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(now_micros())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(res.rows_affected() > 0)
    }

    async fn backup(&self, path: &std::path::Path) -> Result<()> {
        super::pg_dump::dump(&self.options, self.password.as_deref(), path).await
    }

    async fn token_valid(&self, token_hash: &str) -> Result<bool> {
        let id: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(id.is_some())
    }

    async fn rules(&self, owner: super::RulesOwner) -> Result<Option<Option<String>>> {
        rules::get(&self.pool, owner).await
    }

    async fn set_rules(&self, owner: super::RulesOwner, json: Option<&str>) -> Result<bool> {
        rules::set(&self.pool, owner, json).await
    }

    async fn dropped_items(
        &self,
        subscription_id: i64,
        keys: &[&str],
    ) -> Result<std::collections::HashMap<String, super::DroppedItem>> {
        rules::dropped(&self.pool, subscription_id, keys).await
    }

    async fn remember_dropped(
        &self,
        subscription_id: i64,
        entries: &[(&str, &str)],
        rules_hash: &str,
        at: i64,
    ) -> Result<()> {
        rules::remember_dropped(&self.pool, subscription_id, entries, rules_hash, at).await
    }

    async fn subscription_item_keys(&self, subscription_id: i64) -> Result<Vec<(String, String)>> {
        rules::item_keys(&self.pool, subscription_id).await
    }

    fn commits(&self) -> u64 {
        self.commits.load(Ordering::Acquire)
    }

    fn channel_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.subscribe()
    }

    async fn listen(
        &self,
        stop: tokio::sync::watch::Receiver<bool>,
        heard: &(dyn Fn(u64) + Send + Sync),
    ) {
        tokio::select! {
            _ = super::stopped(stop) => {}
            _ = listen::run(&self.options, &self.commits, &self.changes, heard) => {}
        }
    }

    async fn rows(&self, write: bool) -> Result<Box<dyn super::rows::RowTx>> {
        let mut tx = self.pool.begin().await?;
        if !write {
            // One snapshot for every read of the copy.
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut *tx)
                .await?;
        }
        Ok(Box::new(rows::PgRows {
            tx,
            commits: self.commits.clone(),
        }))
    }

    async fn ping(&self) -> Result<()> {
        let applied: Vec<i64> = sqlx::query_scalar(
            "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version",
        )
        .fetch_all(&self.pool)
        .await?;
        super::check_schema(&MIGRATOR, &applied)
    }

    async fn create_subscription(&self, new: &NewSubscription) -> Result<Subscription> {
        subs::create(&self.pool, new).await
    }

    async fn subscriptions(&self) -> Result<Vec<Subscription>> {
        subs::list(&self.pool, None).await
    }

    async fn subscription(&self, id: i64) -> Result<Option<Subscription>> {
        Ok(subs::list(&self.pool, Some(id)).await?.pop())
    }

    async fn find_subscription(
        &self,
        channel: &Channel,
        url: &str,
    ) -> Result<Option<Subscription>> {
        subs::find(&self.pool, channel.id, url).await
    }

    async fn delete_subscription(&self, id: i64) -> Result<bool> {
        subs::delete(&self.pool, id).await
    }

    async fn claim_due_subscriptions(
        &self,
        due_by: DateTime<Utc>,
        lease: &Lease<'_>,
        per_host: u32,
        limit: u32,
    ) -> Result<Vec<Subscription>> {
        subs::claim_due(&self.pool, due_by, lease, per_host, limit).await
    }

    async fn renew_claims(&self, kind: ClaimKind, ids: &[i64], lease: &Lease<'_>) -> Result<u64> {
        subs::renew(&self.pool, kind, ids, lease).await
    }

    async fn release_subscription(&self, s: &Subscription, owner: &str) -> Result<bool> {
        subs::save_state(&self.pool, s, Some(owner)).await
    }

    async fn websub_requested(&self, id: i64, request: &WebsubRequest<'_>) -> Result<()> {
        subs::websub_requested(&self.pool, id, request).await
    }

    async fn websub_lease(&self, id: i64, until: Option<DateTime<Utc>>) -> Result<()> {
        subs::websub_lease(&self.pool, id, until).await
    }

    async fn save_subscription_state(&self, s: &Subscription) -> Result<()> {
        subs::save_state(&self.pool, s, None).await.map(drop)
    }

    async fn forget_validators(&self, id: i64) -> Result<()> {
        sqlx::query(
            "UPDATE subscriptions SET body_hash = NULL, etag = NULL, last_modified = NULL
             WHERE id = $1",
        )
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn update_subscription(
        &self,
        id: i64,
        patch: &SubscriptionPatch,
    ) -> Result<Option<Subscription>> {
        if !fulltext::update(&self.pool, id, patch).await? {
            return Ok(None);
        }
        Ok(subs::list(&self.pool, Some(id)).await?.pop())
    }

    async fn seen_item_keys(&self, subscription_id: i64, keys: &[&str]) -> Result<HashSet<String>> {
        fulltext::seen_keys(&self.pool, subscription_id, keys).await
    }

    async fn full_texts(
        &self,
        subscription_id: i64,
        urls: &[&str],
    ) -> Result<HashMap<String, FullText>> {
        fulltext::get(&self.pool, subscription_id, urls).await
    }

    async fn save_full_texts(
        &self,
        subscription_id: i64,
        pages: &[(String, FullText)],
    ) -> Result<()> {
        fulltext::save(&self.pool, subscription_id, pages).await
    }

    async fn forget_full_texts(
        &self,
        subscription_id: i64,
        keep: &[&str],
        before: DateTime<Utc>,
    ) -> Result<u64> {
        fulltext::forget(&self.pool, subscription_id, keep, before).await
    }

    async fn forget_story_titles(&self, before: DateTime<Utc>) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM story_titles WHERE at < $1")
            .bind(before.timestamp_micros())
            .execute(&self.pool)
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
            &self.pool,
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
        websub::counts(&self.pool, topic, callback).await
    }

    async fn hub_unsubscribe(&self, topic: &str, callback: &str) -> Result<bool> {
        websub::unsubscribe(&self.pool, topic, callback).await
    }

    async fn hub_subscriptions(&self) -> Result<Vec<HubSubscription>> {
        websub::list(&self.pool).await
    }

    async fn hub_topic_counts(&self) -> Result<Vec<(String, String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT c.slug, w.format, count(*) FROM websub_subscriptions w
             JOIN channels c ON c.id = w.channel_id
             WHERE w.expires_at > $1 GROUP BY c.slug, w.format ORDER BY c.slug, w.format",
        )
        .bind(now_micros())
        .fetch_all(&self.pool)
        .await?)
    }

    async fn hub_claim_due(
        &self,
        now: DateTime<Utc>,
        lease: &Lease<'_>,
        limit: u32,
    ) -> Result<Vec<HubSubscription>> {
        websub::claim_due(&self.pool, now, lease, big(limit)).await
    }

    async fn hub_delivered(&self, id: i64, version: i64) -> Result<()> {
        websub::delivered(&self.pool, id, version, "").await
    }

    async fn hub_failed(&self, id: i64, error: &str, retry_at: DateTime<Utc>) -> Result<()> {
        websub::failed(&self.pool, id, error, retry_at, "").await
    }

    async fn hub_remove(&self, id: i64) -> Result<()> {
        websub::remove(&self.pool, id).await
    }

    async fn hub_record(&self, owner: &str, outcomes: &[HubOutcome]) -> Result<()> {
        // One transaction, one commit, for a whole batch of deliveries.
        let mut tx = self.pool.begin().await?;
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
        write::commit(tx, &self.commits).await
    }

    async fn take_job(&self, name: &str, now: DateTime<Utc>, lease: &Lease<'_>) -> Result<bool> {
        websub::take_job(&self.pool, name, now, lease).await
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
