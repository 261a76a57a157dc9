//! PostgreSQL's write transaction ([`WriteTx`]): the row operations that `catalog`'s rules
//! are written with. Lists of ids go in as one `text[]` parameter (`= ANY($n)`, `unnest`),
//! new articles in multi-row INSERTs.
//!
//! SQLite runs one write transaction at a time; PostgreSQL runs them side by side, and two
//! batches writing one new article id to one channel would both see it missing and the
//! second would fail on the unique key. So the first operation on a channel locks its row
//! (`FOR NO KEY UPDATE`, which foreign-key checks of other writers do not wait on): writes to
//! one channel queue, as they do on SQLite, across every instance on the database.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use sqlx::{Postgres, Transaction};

use super::{rfc3339, to_json};
use crate::model::Via;
use crate::store::{ArticleRow, ArticleStates, Result, StoredState, StoryTitle, WriteTx};

/// New articles per INSERT statement: 256 rows of 25 values stay far below PostgreSQL's
/// 65,535 bound parameters.
const INSERT_ROWS: usize = 256;

/// Commits a write transaction and counts it, whether or not the commit succeeded.
pub(super) async fn commit(tx: Transaction<'static, Postgres>, commits: &AtomicU64) -> Result<()> {
    let done = tx.commit().await;
    commits.fetch_add(1, Ordering::Release);
    Ok(done?)
}

/// Binds an [`ArticleRow`]'s values in the order of the columns `url` … `content_hash` that
/// both the INSERT and the UPDATE write, with `$bind` (`Query::bind` or `Separated::push_bind`).
macro_rules! bind_article {
    ($q:expr, $bind:ident, $r:expr) => {{
        let r: &ArticleRow<'_> = $r;
        let a = r.article;
        let image = a.image.as_ref();
        let source = a.source.as_ref();
        $q.$bind(&a.url)
            .$bind(&a.external_url)
            .$bind(&a.title)
            .$bind(&a.summary)
            .$bind(&a.content_html)
            .$bind(&a.content_text)
            .$bind(image.map(|i| &i.url))
            .$bind(image.and_then(|i| i.caption.as_ref()))
            .$bind(image.and_then(|i| i.credit.as_ref()))
            .$bind(&a.banner_image)
            .$bind(rfc3339(&a.date_published))
            .$bind(rfc3339(&a.date_modified))
            .$bind(to_json(&a.authors))
            .$bind(to_json(&a.contributors))
            .$bind(to_json(&a.tags))
            .$bind(&a.language)
            .$bind(to_json(&a.attachments))
            .$bind(source.and_then(|s| s.title.as_ref()))
            .$bind(source.map(|s| &s.url))
            .$bind(r.updated_at)
            .$bind(r.sort_at)
            .$bind(&r.content_hash)
    }};
}

/// The columns an INSERT of articles writes, in the order [`bind_article!`] binds them, then
/// the channel, the id and when it was first seen.
macro_rules! article_columns {
    () => {
        "url, external_url, title, summary, content_html, content_text, image_url,
         image_caption, image_credit, banner_image, date_published, date_modified, authors,
         contributors, tags, language, attachments, source_title, source_url, updated_at,
         sort_at, content_hash, channel_id, guid, first_seen_at, sources"
    };
}

pub(super) struct PgWriteTx {
    tx: Transaction<'static, Postgres>,
    commits: Arc<AtomicU64>,
    changes: Arc<tokio::sync::watch::Sender<u64>>,
    /// A channel changed in this transaction (and a notification goes out at its commit).
    bumped: bool,
    /// Channels whose row this transaction has locked.
    locked: HashSet<i64>,
}

impl PgWriteTx {
    pub(super) fn new(
        tx: Transaction<'static, Postgres>,
        commits: Arc<AtomicU64>,
        changes: Arc<tokio::sync::watch::Sender<u64>>,
    ) -> Self {
        PgWriteTx {
            tx,
            commits,
            changes,
            bumped: false,
            locked: HashSet::new(),
        }
    }

    /// Locks the channel's row for the rest of the transaction (once).
    async fn lock_channel(&mut self, channel_id: i64) -> Result<()> {
        if self.locked.insert(channel_id) {
            sqlx::query("SELECT 1 FROM channels WHERE id = $1 FOR NO KEY UPDATE")
                .bind(channel_id)
                .fetch_optional(&mut *self.tx)
                .await?;
        }
        Ok(())
    }
}

#[async_trait]
impl WriteTx for PgWriteTx {
    async fn article_states(&mut self, channel_id: i64, guids: &[&str]) -> Result<ArticleStates> {
        self.lock_channel(channel_id).await?;
        let tombstoned = sqlx::query_scalar(
            "SELECT guid FROM tombstones WHERE channel_id = $1 AND guid = ANY($2)",
        )
        .bind(channel_id)
        .bind(guids)
        .fetch_all(&mut *self.tx)
        .await?
        .into_iter()
        .collect();
        let stored = sqlx::query_as(
            "SELECT guid, id, content_hash, first_seen_at, sources::text FROM articles
             WHERE channel_id = $1 AND guid = ANY($2)",
        )
        .bind(channel_id)
        .bind(guids)
        .fetch_all(&mut *self.tx)
        .await?
        .into_iter()
        .map(
            |(guid, row, content_hash, first_seen_at, sources): (
                String,
                i64,
                String,
                i64,
                String,
            )| {
                let state = StoredState {
                    row,
                    content_hash,
                    first_seen_at,
                    sources: super::parse_json(&sources)?,
                };
                Ok((guid, state))
            },
        )
        .collect::<Result<_>>()?;
        Ok(ArticleStates { stored, tombstoned })
    }

    async fn insert_articles(&mut self, channel_id: i64, rows: &[ArticleRow<'_>]) -> Result<i64> {
        self.lock_channel(channel_id).await?;
        let mut last = 0;
        for chunk in rows.chunks(INSERT_ROWS) {
            // The jsonb columns are bound as text, which an INSERT's VALUES would refuse for
            // them: the rows come from a VALUES list that a SELECT casts.
            let mut q = sqlx::QueryBuilder::<Postgres>::new(concat!(
                "INSERT INTO articles (",
                article_columns!(),
                ") SELECT url, external_url, title, summary, content_html, content_text,
                    image_url, image_caption, image_credit, banner_image, date_published,
                    date_modified, authors::jsonb, contributors::jsonb, tags::jsonb, language,
                    attachments::jsonb, source_title, source_url, updated_at, sort_at,
                    content_hash, channel_id, guid, first_seen_at, sources::jsonb FROM ("
            ));
            q.push_values(chunk, |mut b, r| {
                bind_article!(b, push_bind, r)
                    .push_bind(channel_id)
                    .push_bind(&r.article.id)
                    .push_bind(r.first_seen_at)
                    .push_bind(to_json(&r.article.sources));
            });
            q.push(concat!(") AS v(", article_columns!(), ")"));
            q.push(" RETURNING id");
            let ids: Vec<i64> = q.build_query_scalar().fetch_all(&mut *self.tx).await?;
            last = ids.into_iter().max().unwrap_or(last);
        }
        Ok(last)
    }

    async fn update_article(&mut self, row: i64, r: &ArticleRow<'_>) -> Result<()> {
        let q = sqlx::query(
            "UPDATE articles SET url=$1, external_url=$2, title=$3, summary=$4, content_html=$5,
                content_text=$6, image_url=$7, image_caption=$8, image_credit=$9,
                banner_image=$10, date_published=$11, date_modified=$12, authors=$13::jsonb,
                contributors=$14::jsonb, tags=$15::jsonb, language=$16, attachments=$17::jsonb,
                source_title=$18, source_url=$19, updated_at=$20, sort_at=$21, content_hash=$22
             WHERE id=$23",
        );
        bind_article!(q, bind, r)
            .bind(row)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn delete_articles(&mut self, channel_id: i64, guids: &[&str]) -> Result<Vec<String>> {
        self.lock_channel(channel_id).await?;
        Ok(sqlx::query_scalar(
            "DELETE FROM articles WHERE channel_id = $1 AND guid = ANY($2) RETURNING guid",
        )
        .bind(channel_id)
        .bind(guids)
        .fetch_all(&mut *self.tx)
        .await?)
    }

    async fn guids_past(&mut self, channel_id: i64, keep: u32) -> Result<Vec<String>> {
        self.lock_channel(channel_id).await?;
        Ok(sqlx::query_scalar(
            "SELECT guid FROM articles WHERE channel_id = $1
             ORDER BY sort_at DESC, id DESC OFFSET $2",
        )
        .bind(channel_id)
        .bind(i64::from(keep))
        .fetch_all(&mut *self.tx)
        .await?)
    }

    async fn guids_sorted_before(&mut self, channel_id: i64, sort_at: i64) -> Result<Vec<String>> {
        self.lock_channel(channel_id).await?;
        Ok(
            sqlx::query_scalar("SELECT guid FROM articles WHERE channel_id = $1 AND sort_at < $2")
                .bind(channel_id)
                .bind(sort_at)
                .fetch_all(&mut *self.tx)
                .await?,
        )
    }

    async fn add_tombstones(&mut self, channel_id: i64, guids: &[&str], at: i64) -> Result<()> {
        self.lock_channel(channel_id).await?;
        // DISTINCT: ON CONFLICT DO UPDATE may not touch one row twice in a statement.
        sqlx::query(
            "INSERT INTO tombstones (channel_id, guid, deleted_at)
             SELECT DISTINCT $1::bigint, g, $2::bigint FROM unnest($3::text[]) AS g
             ON CONFLICT (channel_id, guid) DO UPDATE SET deleted_at = excluded.deleted_at",
        )
        .bind(channel_id)
        .bind(at)
        .bind(guids)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn remove_tombstones(&mut self, channel_id: i64, guids: &[&str]) -> Result<()> {
        self.lock_channel(channel_id).await?;
        sqlx::query("DELETE FROM tombstones WHERE channel_id = $1 AND guid = ANY($2)")
            .bind(channel_id)
            .bind(guids)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn bump_channel(&mut self, channel_id: i64, at: i64) -> Result<()> {
        // NOTIFY in the transaction: PostgreSQL delivers it to every listening instance at
        // commit, and never if the transaction rolls back.
        sqlx::query(
            "WITH u AS (UPDATE channels SET version = version + 1, updated_at = $1
                        WHERE id = $2 RETURNING id)
             SELECT count(pg_notify('syndic_channels', id::text)) FROM u",
        )
        .bind(at)
        .bind(channel_id)
        .fetch_one(&mut *self.tx)
        .await?;
        self.bumped = true;
        Ok(())
    }

    async fn item_keys(
        &mut self,
        subscription_id: i64,
        keys: &[&str],
    ) -> Result<HashMap<String, String>> {
        Ok(sqlx::query_as(
            "SELECT item_key, guid FROM subscription_items
             WHERE subscription_id = $1 AND item_key = ANY($2)",
        )
        .bind(subscription_id)
        .bind(keys)
        .fetch_all(&mut *self.tx)
        .await?
        .into_iter()
        .collect())
    }

    async fn record_item_keys(
        &mut self,
        subscription_id: i64,
        pairs: &[(&str, &str)],
    ) -> Result<()> {
        let keys: Vec<&str> = pairs.iter().map(|(k, _)| *k).collect();
        let guids: Vec<&str> = pairs.iter().map(|(_, g)| *g).collect();
        sqlx::query(
            "INSERT INTO subscription_items (subscription_id, item_key, guid)
             SELECT $1::bigint, k, g FROM unnest($2::text[], $3::text[]) AS t(k, g)
             ON CONFLICT DO NOTHING",
        )
        .bind(subscription_id)
        .bind(&keys)
        .bind(&guids)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn add_items_imported(&mut self, subscription_id: i64, n: i64) -> Result<()> {
        sqlx::query("UPDATE subscriptions SET items_imported = items_imported + $1 WHERE id = $2")
            .bind(n)
            .bind(subscription_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn set_sources(&mut self, row: i64, sources: &[Via]) -> Result<()> {
        sqlx::query("UPDATE articles SET sources = $1::jsonb WHERE id = $2")
            .bind(to_json(&sources))
            .bind(row)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn story_links(
        &mut self,
        channel_id: i64,
        links: &[&str],
    ) -> Result<HashMap<String, String>> {
        self.lock_channel(channel_id).await?;
        Ok(sqlx::query_as(
            "SELECT link, guid FROM story_links WHERE channel_id = $1 AND link = ANY($2)",
        )
        .bind(channel_id)
        .bind(links)
        .fetch_all(&mut *self.tx)
        .await?
        .into_iter()
        .collect())
    }

    async fn record_story_links(&mut self, channel_id: i64, pairs: &[(&str, &str)]) -> Result<()> {
        let links: Vec<&str> = pairs.iter().map(|(k, _)| *k).collect();
        let guids: Vec<&str> = pairs.iter().map(|(_, g)| *g).collect();
        sqlx::query(
            "INSERT INTO story_links (channel_id, link, guid)
             SELECT $1::bigint, k, g FROM unnest($2::text[], $3::text[]) AS t(k, g)
             ON CONFLICT DO NOTHING",
        )
        .bind(channel_id)
        .bind(&links)
        .bind(&guids)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn story_titles(
        &mut self,
        channel_id: i64,
        from: i64,
        to: i64,
    ) -> Result<Vec<StoryTitle>> {
        self.lock_channel(channel_id).await?;
        Ok(sqlx::query_as(
            "SELECT guid, title, lead, at FROM story_titles
             WHERE channel_id = $1 AND at BETWEEN $2 AND $3 ORDER BY at, guid",
        )
        .bind(channel_id)
        .bind(from)
        .bind(to)
        .fetch_all(&mut *self.tx)
        .await?
        .into_iter()
        .map(
            |(guid, title, lead, at): (String, String, Option<String>, i64)| StoryTitle {
                guid,
                title,
                lead,
                at,
            },
        )
        .collect())
    }

    async fn record_story_title(&mut self, channel_id: i64, t: &StoryTitle) -> Result<()> {
        sqlx::query(
            "INSERT INTO story_titles (channel_id, guid, title, lead, at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(channel_id)
        .bind(&t.guid)
        .bind(&t.title)
        .bind(&t.lead)
        .bind(t.at)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        let done = commit(self.tx, &self.commits).await;
        if self.bumped && done.is_ok() {
            crate::store::changed(&self.changes);
        }
        done
    }
}
