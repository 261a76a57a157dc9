//! The SQLite side of the WebSub hub: subscribers to syndic's feeds and their delivery state.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::{SqliteExecutor, SqlitePool};

use super::{mapping, now_micros};
use crate::model::{Channel, HubSubscription};
use crate::store::{HubCallback, HubCounts, Lease, Result, StoreError};

pub async fn subscribe(
    pool: &SqlitePool,
    channel: &Channel,
    topic: &str,
    format: &str,
    callback: &HubCallback<'_>,
    secret: Option<&str>,
    lease_seconds: i64,
) -> Result<HubSubscription> {
    let now = now_micros();
    let expires = now.saturating_add(lease_seconds.saturating_mul(1_000_000));
    let row = sqlx::query(
        "INSERT INTO websub_subscriptions (channel_id, topic, format, callback, callback_host,
            secret, lease_seconds, expires_at, delivered_version, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, (SELECT version FROM channels WHERE id = ?), ?)
         ON CONFLICT (topic, callback) DO UPDATE SET secret = excluded.secret,
            lease_seconds = excluded.lease_seconds, expires_at = excluded.expires_at
         RETURNING *",
    )
    .bind(channel.id)
    .bind(topic)
    .bind(format)
    .bind(callback.url)
    .bind(callback.host)
    .bind(secret)
    .bind(lease_seconds)
    .bind(expires)
    .bind(channel.id)
    .bind(now)
    .fetch_optional(pool)
    .await?;
    row.map(|r| mapping::hub_subscription(&r))
        .transpose()?
        .ok_or_else(|| StoreError::Corrupt("hub subscription not stored".into()))
}

pub async fn counts(
    pool: &SqlitePool,
    topic: &str,
    callback: &HubCallback<'_>,
) -> Result<HubCounts> {
    let row = sqlx::query(
        "SELECT (SELECT count(*) FROM websub_subscriptions WHERE topic = ?) AS by_topic,
            (SELECT count(*) FROM websub_subscriptions WHERE callback_host = ?) AS by_host,
            (SELECT count(*) FROM websub_subscriptions) AS total,
            EXISTS (SELECT 1 FROM websub_subscriptions WHERE topic = ? AND callback = ?)
                AS present",
    )
    .bind(topic)
    .bind(callback.host)
    .bind(topic)
    .bind(callback.url)
    // fetch_all, not fetch_one: a statement fetch_one leaves unfinished keeps its pooled
    // reader on an old snapshot (the stale-read pitfall in docs/developer.md), and the hub's
    // limits must count the subscriptions just stored.
    .fetch_all(pool)
    .await?
    .into_iter()
    .next()
    .ok_or_else(|| StoreError::Corrupt("hub counts returned no row".into()))?;
    let n = |c: &str| -> Result<u64> { Ok(row.try_get::<i64, _>(c)?.max(0) as u64) };
    Ok(HubCounts {
        topic: n("by_topic")?,
        host: n("by_host")?,
        total: n("total")?,
        exists: row.try_get("present")?,
    })
}

pub async fn unsubscribe(pool: &SqlitePool, topic: &str, callback: &str) -> Result<bool> {
    let res = sqlx::query("DELETE FROM websub_subscriptions WHERE topic = ? AND callback = ?")
        .bind(topic)
        .bind(callback)
        .execute(pool)
        .await?;
    Ok(res.rows_affected() > 0)
}

/// Claims due deliveries (see `Store::hub_claim_due`), inside the caller's write
/// transaction; hub subscriptions whose lease ended are removed first.
pub async fn claim_due(
    conn: &mut sqlx::SqliteConnection,
    now: DateTime<Utc>,
    lease: &Lease<'_>,
    limit: u32,
) -> Result<Vec<HubSubscription>> {
    let now = now.timestamp_micros();
    // A lease that ended ends the subscription (WebSub §5.1.5).
    sqlx::query("DELETE FROM websub_subscriptions WHERE expires_at < ?")
        .bind(now)
        .execute(&mut *conn)
        .await?;
    // On the writer, not a reader: a pooled reader may still hold a snapshot from before the
    // last recorded deliveries (sqlx resets a finished statement only when it is used again,
    // and until then SQLite keeps its read transaction), and a stale due list sends a change
    // twice. The writer sees every commit.
    let rows = sqlx::query(
        "UPDATE websub_subscriptions SET claimed_by = ?1, claimed_until = ?2
         WHERE id IN (
            SELECT s.id FROM websub_subscriptions s JOIN channels c ON c.id = s.channel_id
            WHERE c.version > s.delivered_version AND s.next_attempt_at <= ?3
              AND (s.claimed_until IS NULL OR s.claimed_until <= ?3)
            ORDER BY s.next_attempt_at, s.id LIMIT ?4)
         RETURNING *",
    )
    .bind(lease.owner)
    .bind(lease.until.timestamp_micros())
    .bind(now)
    .bind(i64::from(limit))
    .fetch_all(&mut *conn)
    .await?;
    let mut subs = rows
        .iter()
        .map(mapping::hub_subscription)
        .collect::<Result<Vec<_>>>()?;
    subs.sort_by_key(|s| (s.next_attempt_at, s.id));
    Ok(subs)
}

pub async fn list(reader: &SqlitePool) -> Result<Vec<HubSubscription>> {
    let rows = sqlx::query("SELECT * FROM websub_subscriptions ORDER BY id")
        .fetch_all(reader)
        .await?;
    rows.iter().map(mapping::hub_subscription).collect()
}

/// Records a delivery; ends `owner`'s claim on it (`""` for none).
pub async fn delivered(
    pool: impl SqliteExecutor<'_>,
    id: i64,
    version: i64,
    owner: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE websub_subscriptions SET delivered_version = MAX(delivered_version, ?1),
            attempts = 0, next_attempt_at = 0, last_error = NULL,
            claimed_by = CASE WHEN claimed_by = ?3 THEN NULL ELSE claimed_by END,
            claimed_until = CASE WHEN claimed_by = ?3 THEN NULL ELSE claimed_until END
         WHERE id = ?2",
    )
    .bind(version)
    .bind(id)
    .bind(owner)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn failed(
    pool: impl SqliteExecutor<'_>,
    id: i64,
    error: &str,
    retry_at: DateTime<Utc>,
    owner: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE websub_subscriptions SET attempts = attempts + 1, last_error = ?1,
            next_attempt_at = ?2,
            claimed_by = CASE WHEN claimed_by = ?4 THEN NULL ELSE claimed_by END,
            claimed_until = CASE WHEN claimed_by = ?4 THEN NULL ELSE claimed_until END
         WHERE id = ?3",
    )
    .bind(error)
    .bind(retry_at.timestamp_micros())
    .bind(id)
    .bind(owner)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn remove(pool: impl SqliteExecutor<'_>, id: i64) -> Result<()> {
    sqlx::query("DELETE FROM websub_subscriptions WHERE id = ?")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

/// Takes or renews a job's lease (see `Store::take_job`).
pub async fn take_job(
    pool: &SqlitePool,
    name: &str,
    now: DateTime<Utc>,
    lease: &Lease<'_>,
) -> Result<bool> {
    let row = sqlx::query(
        "INSERT INTO jobs (name, owner, until) VALUES (?1, ?2, ?3)
         ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until
            WHERE jobs.owner = excluded.owner OR jobs.until <= ?4
         RETURNING name",
    )
    .bind(name)
    .bind(lease.owner)
    .bind(lease.until.timestamp_micros())
    .bind(now.timestamp_micros())
    .fetch_optional(pool)
    .await?;
    Ok(row.is_some())
}
