//! SQLite's write transaction ([`WriteTx`]): the row operations that `catalog`'s rules are
//! written with. Batches go to SQLite in as few statements as possible (`json_each` for
//! lookups, multi-row INSERTs): each statement is a round trip to sqlx's SQLite thread.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use sqlx::{Sqlite, Transaction};

use super::{rfc3339, to_json};
use crate::model::Via;
use crate::store::{ArticleRow, ArticleStates, Result, StoredState, StoryTitle, WriteTx};

/// New articles per INSERT statement: 32 rows of 25 values stay far below SQLite's limit on
/// bound parameters, and cut the round trips to sqlx's SQLite thread 32-fold.
const INSERT_ROWS: usize = 32;

/// Commits a write transaction and counts it, whether or not the commit succeeded (a failed
/// COMMIT may still have changed what readers see).
pub(super) async fn commit(tx: Transaction<'static, Sqlite>, commits: &AtomicU64) -> Result<()> {
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

/// A JSON array of strings, for `json_each(?)`.
fn json_list(items: &[&str]) -> String {
    serde_json::to_string(items).expect("strings serialize")
}

pub(super) struct SqliteWriteTx {
    tx: Transaction<'static, Sqlite>,
    commits: Arc<AtomicU64>,
    changes: Arc<tokio::sync::watch::Sender<u64>>,
    /// A channel changed in this transaction.
    bumped: bool,
}

impl SqliteWriteTx {
    pub(super) fn new(
        tx: Transaction<'static, Sqlite>,
        commits: Arc<AtomicU64>,
        changes: Arc<tokio::sync::watch::Sender<u64>>,
    ) -> Self {
        SqliteWriteTx {
            tx,
            commits,
            changes,
            bumped: false,
        }
    }
}

#[async_trait]
impl WriteTx for SqliteWriteTx {
    async fn article_states(&mut self, channel_id: i64, guids: &[&str]) -> Result<ArticleStates> {
        let ids = json_list(guids);
        let tombstoned = sqlx::query_scalar(
            "SELECT guid FROM tombstones
             WHERE channel_id = ? AND guid IN (SELECT value FROM json_each(?))",
        )
        .bind(channel_id)
        .bind(&ids)
        .fetch_all(&mut *self.tx)
        .await?
        .into_iter()
        .collect();
        let stored = sqlx::query_as(
            "SELECT guid, id, content_hash, first_seen_at, sources FROM articles
             WHERE channel_id = ? AND guid IN (SELECT value FROM json_each(?))",
        )
        .bind(channel_id)
        .bind(&ids)
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
        let mut last = 0;
        for chunk in rows.chunks(INSERT_ROWS) {
            let mut q = sqlx::QueryBuilder::<Sqlite>::new(
                "INSERT INTO articles (url, external_url, title, summary, content_html,
                    content_text, image_url, image_caption, image_credit, banner_image,
                    date_published, date_modified, authors, contributors, tags, language,
                    attachments, source_title, source_url, updated_at, sort_at, content_hash,
                    channel_id, guid, first_seen_at, sources) ",
            );
            q.push_values(chunk, |mut b, r| {
                bind_article!(b, push_bind, r)
                    .push_bind(channel_id)
                    .push_bind(&r.article.id)
                    .push_bind(r.first_seen_at)
                    .push_bind(to_json(&r.article.sources));
            });
            last = q.build().execute(&mut *self.tx).await?.last_insert_rowid();
        }
        Ok(last)
    }

    async fn update_article(&mut self, row: i64, r: &ArticleRow<'_>) -> Result<()> {
        let q = sqlx::query(
            "UPDATE articles SET url=?, external_url=?, title=?, summary=?, content_html=?,
                content_text=?, image_url=?, image_caption=?, image_credit=?, banner_image=?,
                date_published=?, date_modified=?, authors=?, contributors=?, tags=?, language=?,
                attachments=?, source_title=?, source_url=?, updated_at=?, sort_at=?,
                content_hash=?
             WHERE id=?",
        );
        bind_article!(q, bind, r)
            .bind(row)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn delete_articles(&mut self, channel_id: i64, guids: &[&str]) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "DELETE FROM articles
             WHERE channel_id = ? AND guid IN (SELECT value FROM json_each(?))
             RETURNING guid",
        )
        .bind(channel_id)
        .bind(json_list(guids))
        .fetch_all(&mut *self.tx)
        .await?)
    }

    async fn guids_past(&mut self, channel_id: i64, keep: u32) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT guid FROM articles WHERE channel_id = ?
             ORDER BY sort_at DESC, id DESC LIMIT -1 OFFSET ?",
        )
        .bind(channel_id)
        .bind(keep)
        .fetch_all(&mut *self.tx)
        .await?)
    }

    async fn guids_sorted_before(&mut self, channel_id: i64, sort_at: i64) -> Result<Vec<String>> {
        Ok(
            sqlx::query_scalar("SELECT guid FROM articles WHERE channel_id = ? AND sort_at < ?")
                .bind(channel_id)
                .bind(sort_at)
                .fetch_all(&mut *self.tx)
                .await?,
        )
    }

    async fn add_tombstones(&mut self, channel_id: i64, guids: &[&str], at: i64) -> Result<()> {
        sqlx::query(
            "INSERT OR REPLACE INTO tombstones (channel_id, guid, deleted_at)
             SELECT ?, value, ? FROM json_each(?)",
        )
        .bind(channel_id)
        .bind(at)
        .bind(json_list(guids))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn remove_tombstones(&mut self, channel_id: i64, guids: &[&str]) -> Result<()> {
        sqlx::query(
            "DELETE FROM tombstones
             WHERE channel_id = ? AND guid IN (SELECT value FROM json_each(?))",
        )
        .bind(channel_id)
        .bind(json_list(guids))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn bump_channel(&mut self, channel_id: i64, at: i64) -> Result<()> {
        sqlx::query("UPDATE channels SET version = version + 1, updated_at = ? WHERE id = ?")
            .bind(at)
            .bind(channel_id)
            .execute(&mut *self.tx)
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
             WHERE subscription_id = ? AND item_key IN (SELECT value FROM json_each(?))",
        )
        .bind(subscription_id)
        .bind(json_list(keys))
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
        sqlx::query(
            "INSERT OR IGNORE INTO subscription_items (subscription_id, item_key, guid)
             SELECT ?, value ->> 0, value ->> 1 FROM json_each(?)",
        )
        .bind(subscription_id)
        .bind(serde_json::to_string(pairs).expect("strings serialize"))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn add_items_imported(&mut self, subscription_id: i64, n: i64) -> Result<()> {
        sqlx::query("UPDATE subscriptions SET items_imported = items_imported + ? WHERE id = ?")
            .bind(n)
            .bind(subscription_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn set_sources(&mut self, row: i64, sources: &[Via]) -> Result<()> {
        sqlx::query("UPDATE articles SET sources = ? WHERE id = ?")
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
        Ok(sqlx::query_as(
            "SELECT link, guid FROM story_links
             WHERE channel_id = ? AND link IN (SELECT value FROM json_each(?))",
        )
        .bind(channel_id)
        .bind(json_list(links))
        .fetch_all(&mut *self.tx)
        .await?
        .into_iter()
        .collect())
    }

    async fn record_story_links(&mut self, channel_id: i64, pairs: &[(&str, &str)]) -> Result<()> {
        sqlx::query(
            "INSERT OR IGNORE INTO story_links (channel_id, link, guid)
             SELECT ?, value ->> 0, value ->> 1 FROM json_each(?)",
        )
        .bind(channel_id)
        .bind(serde_json::to_string(pairs).expect("strings serialize"))
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
        Ok(sqlx::query_as(
            "SELECT guid, title, lead, at FROM story_titles
             WHERE channel_id = ? AND at BETWEEN ? AND ? ORDER BY at, guid",
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
            "INSERT OR IGNORE INTO story_titles (channel_id, guid, title, lead, at)
             VALUES (?, ?, ?, ?, ?)",
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
