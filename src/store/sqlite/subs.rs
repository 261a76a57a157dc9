//! The SQLite side of subscriptions: their rows, their fetch state, and the keys that
//! recognise an upstream item on every later poll.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::{SqlitePool, SqliteRow};

use super::{micros_to_utc, now_micros};
use crate::model::{NewSubscription, Slug, Subscription};
use crate::store::{Result, StoreError, WebsubRequest};

/// A subscription query: the row and its channel's slug, then `$tail` (static SQL for sqlx).
macro_rules! select {
    ($tail:literal) => {
        concat!(
            "SELECT s.*, c.slug FROM subscriptions s JOIN channels c ON c.id = s.channel_id",
            $tail
        )
    };
}

fn from_row(row: &SqliteRow) -> Result<Subscription> {
    let slug: String = row.try_get("slug")?;
    let last_fetch: Option<i64> = row.try_get("last_fetch_at")?;
    let interval: i64 = row.try_get("interval_secs")?;
    let errors: i64 = row.try_get("error_count")?;
    Ok(Subscription {
        id: row.try_get("id")?,
        channel_id: row.try_get("channel_id")?,
        channel: Slug::parse(&slug).map_err(StoreError::Corrupt)?,
        url: row.try_get("url")?,
        original_url: row.try_get("original_url")?,
        title: row.try_get("title")?,
        site_url: row.try_get("site_url")?,
        interval: Duration::from_secs(interval.max(0) as u64),
        enabled: row.try_get("enabled")?,
        disabled_reason: row.try_get("disabled_reason")?,
        etag: row.try_get("etag")?,
        last_modified: row.try_get("last_modified")?,
        body_hash: row.try_get("body_hash")?,
        last_fetch_at: last_fetch.map(micros_to_utc),
        next_fetch_at: micros_to_utc(row.try_get("next_fetch_at")?),
        last_status: row.try_get("last_status")?,
        error_count: errors.clamp(0, u32::MAX as i64) as u32,
        last_error: row.try_get("last_error")?,
        items_imported: row.try_get("items_imported")?,
        created_at: micros_to_utc(row.try_get("created_at")?),
        websub_hub: row.try_get("websub_hub")?,
        websub_topic: row.try_get("websub_topic")?,
        websub_secret: row.try_get("websub_secret")?,
        websub_requested_at: row
            .try_get::<Option<i64>, _>("websub_requested_at")?
            .map(micros_to_utc),
        websub_token: row.try_get("websub_token")?,
        websub_pending: row.try_get("websub_pending")?,
        websub_expires_at: row
            .try_get::<Option<i64>, _>("websub_expires_at")?
            .map(micros_to_utc),
        full_content: row.try_get("full_content")?,
    })
}

pub async fn create(pool: &SqlitePool, new: &NewSubscription) -> Result<Subscription> {
    let now = now_micros();
    let id = sqlx::query(
        "INSERT INTO subscriptions (channel_id, url, original_url, title, site_url,
            interval_secs, next_fetch_at, created_at, full_content)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(new.channel_id)
    .bind(&new.url)
    .bind(&new.original_url)
    .bind(&new.title)
    .bind(&new.site_url)
    .bind(new.interval.as_secs() as i64)
    .bind(now)
    .bind(now)
    .bind(new.full_content)
    .execute(pool)
    .await?
    .last_insert_rowid();
    list(pool, Some(id))
        .await?
        .pop()
        .ok_or_else(|| StoreError::Corrupt("subscription vanished on insert".into()))
}

pub async fn list(pool: &SqlitePool, id: Option<i64>) -> Result<Vec<Subscription>> {
    let rows = match id {
        Some(id) => {
            sqlx::query(select!(" WHERE s.id = ?"))
                .bind(id)
                .fetch_all(pool)
                .await?
        }
        None => {
            sqlx::query(select!(" ORDER BY s.id"))
                .fetch_all(pool)
                .await?
        }
    };
    rows.iter().map(from_row).collect()
}

pub async fn find(pool: &SqlitePool, channel_id: i64, url: &str) -> Result<Option<Subscription>> {
    let row = sqlx::query(select!(
        " WHERE s.channel_id = ? AND (s.url = ? OR s.original_url = ?) LIMIT 1"
    ))
    .bind(channel_id)
    .bind(url)
    .bind(url)
    .fetch_optional(pool)
    .await?;
    row.map(|r| from_row(&r)).transpose()
}

pub async fn delete(pool: &SqlitePool, id: i64) -> Result<bool> {
    let res = sqlx::query("DELETE FROM subscriptions WHERE id = ?")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(res.rows_affected() > 0)
}

pub async fn due(pool: &SqlitePool, now: DateTime<Utc>, limit: u32) -> Result<Vec<Subscription>> {
    let rows = sqlx::query(select!(
        " WHERE s.enabled = 1 AND s.next_fetch_at <= ? ORDER BY s.next_fetch_at LIMIT ?"
    ))
    .bind(now.timestamp_micros())
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter().map(from_row).collect()
}

/// A poll's bookkeeping (validators, schedule, errors) waiting to be written, with where to
/// say it was.
type PendingState = (Subscription, tokio::sync::oneshot::Sender<Result<()>>);

/// Writes polls' bookkeeping in batches: whatever is waiting goes in one transaction, without
/// an fsync (`synchronous=NORMAL` on the writer connection, held for the batch and set back to
/// FULL). A crash of the process loses nothing acknowledged; a power cut can only lose the last
/// schedules, which makes those feeds be polled again (dedupe keys, committed with FULL, keep
/// their items from coming twice). A transaction and an fsync per poll made a round of 10,000
/// unchanged feeds wait on the writer 10,000 times.
#[derive(Clone)]
pub struct StateWriter(tokio::sync::mpsc::UnboundedSender<PendingState>);

impl StateWriter {
    /// Starts the batching task on the current runtime; it ends when the last sender goes.
    pub fn spawn(pool: SqlitePool) -> StateWriter {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<PendingState>();
        tokio::spawn(async move {
            let mut batch = Vec::new();
            while rx.recv_many(&mut batch, 1024).await > 0 {
                let done = write_states(&pool, batch.iter().map(|(s, _)| s))
                    .await
                    .map_err(std::sync::Arc::new);
                for (_, reply) in batch.drain(..) {
                    let _ = reply.send(done.clone().map_err(StoreError::Shared));
                }
            }
        });
        StateWriter(tx)
    }

    /// Saves one subscription's state; returns once it is written.
    pub async fn save(&self, s: &Subscription) -> Result<()> {
        let (reply, done) = tokio::sync::oneshot::channel();
        let gone = || StoreError::Corrupt("the state writer has stopped".into());
        self.0.send((s.clone(), reply)).map_err(|_| gone())?;
        done.await.map_err(|_| gone())?
    }
}

async fn write_states(
    pool: &SqlitePool,
    states: impl Iterator<Item = &Subscription>,
) -> Result<()> {
    let mut conn = pool.acquire().await?;
    sqlx::query("PRAGMA synchronous = NORMAL")
        .execute(&mut *conn)
        .await?;
    let written = async {
        sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
        for s in states {
            if let Err(e) = update_state(&mut conn, s).await {
                let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
                return Err(e);
            }
        }
        sqlx::query("COMMIT").execute(&mut *conn).await?;
        Ok(())
    }
    .await;
    let restored = sqlx::query("PRAGMA synchronous = FULL")
        .execute(&mut *conn)
        .await;
    if written.is_err() || restored.is_err() {
        // Never hand a connection that may be inside a transaction or not waiting for the disk
        // to the next writer.
        conn.close_on_drop();
    }
    written
}

async fn update_state(conn: &mut sqlx::SqliteConnection, s: &Subscription) -> Result<()> {
    sqlx::query(
        "UPDATE subscriptions SET url = ?, title = ?, site_url = ?, enabled = ?,
            disabled_reason = ?, etag = ?, last_modified = ?, body_hash = ?, last_fetch_at = ?,
            next_fetch_at = ?, last_status = ?, error_count = ?, last_error = ?
         WHERE id = ?",
    )
    .bind(&s.url)
    .bind(&s.title)
    .bind(&s.site_url)
    .bind(s.enabled)
    .bind(&s.disabled_reason)
    .bind(&s.etag)
    .bind(&s.last_modified)
    .bind(&s.body_hash)
    .bind(s.last_fetch_at.map(|t| t.timestamp_micros()))
    .bind(s.next_fetch_at.timestamp_micros())
    .bind(&s.last_status)
    .bind(s.error_count as i64)
    .bind(&s.last_error)
    .bind(s.id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records a subscription request sent to a hub (before it is sent: the hub may verify at
/// once); it is pending until the hub answers. The lease starts only when the hub verifies.
pub async fn websub_requested(pool: &SqlitePool, id: i64, req: &WebsubRequest<'_>) -> Result<()> {
    sqlx::query(
        "UPDATE subscriptions SET websub_hub = ?, websub_topic = ?, websub_secret = ?,
            websub_token = ?, websub_pending = 1, websub_requested_at = ? WHERE id = ?",
    )
    .bind(req.hub)
    .bind(req.topic)
    .bind(req.secret)
    .bind(req.token)
    .bind(now_micros())
    .bind(id)
    .execute(pool)
    .await?;
    Ok(())
}

/// Records the hub's answer to the pending request: the lease it granted, or `None` when it
/// denied it (or the lease ended).
pub async fn websub_lease(pool: &SqlitePool, id: i64, until: Option<DateTime<Utc>>) -> Result<()> {
    sqlx::query("UPDATE subscriptions SET websub_expires_at = ?, websub_pending = 0 WHERE id = ?")
        .bind(until.map(|t| t.timestamp_micros()))
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::SqliteStore;

    /// What makes a commit survive a power cut, which no process kill can show: every
    /// connection the store hands out, the writer and each reader, is in WAL mode with
    /// `synchronous=FULL`, including the writer after a batch of poll bookkeeping (written
    /// with NORMAL, then set back).
    #[tokio::test]
    async fn every_connection_is_wal_with_synchronous_full() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("syndic.db").display());
        let store = SqliteStore::open(&url).await.unwrap();
        super::write_states(&store.writer, std::iter::empty())
            .await
            .unwrap();
        let mut conns = vec![store.writer.acquire().await.unwrap()];
        // All the readers at once, so that the pool opens every one of them.
        for _ in 0..store.reader.options().get_max_connections() {
            conns.push(store.reader.acquire().await.unwrap());
        }
        assert_eq!(conns.len(), 9, "one writer and eight readers");
        for (i, conn) in conns.iter_mut().enumerate() {
            let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
                .fetch_one(&mut **conn)
                .await
                .unwrap();
            let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(&mut **conn)
                .await
                .unwrap();
            // 2 is FULL (0 OFF, 1 NORMAL, 3 EXTRA).
            assert_eq!((mode.as_str(), synchronous), ("wal", 2), "connection {i}");
        }
    }
}
