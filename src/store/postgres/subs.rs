//! The PostgreSQL side of subscriptions: their rows, their fetch state, and the WebSub
//! requests syndic makes for them. (The keys that recognise an upstream item are written in
//! the write transaction, `write.rs`.)

use chrono::{DateTime, Utc};
use sqlx::postgres::PgPool;

use super::{mapping, now_micros};
use crate::model::{NewSubscription, Subscription};
use crate::store::{ClaimKind, Lease, Result, StoreError, WebsubRequest, candidates};

/// A subscription query: the row and its channel's slug, then `$tail` (static SQL for sqlx).
macro_rules! select {
    ($tail:literal) => {
        concat!(
            "SELECT s.*, c.slug FROM subscriptions s JOIN channels c ON c.id = s.channel_id",
            $tail
        )
    };
}

pub async fn create(pool: &PgPool, new: &NewSubscription) -> Result<Subscription> {
    let now = now_micros();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO subscriptions (channel_id, url, original_url, title, site_url,
            interval_secs, next_fetch_at, created_at, full_content, host)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9) RETURNING id",
    )
    .bind(new.channel_id)
    .bind(&new.url)
    .bind(&new.original_url)
    .bind(&new.title)
    .bind(&new.site_url)
    .bind(new.interval.as_secs() as i64)
    .bind(now)
    .bind(new.full_content)
    .bind(new.host())
    .fetch_one(pool)
    .await?;
    list(pool, Some(id))
        .await?
        .pop()
        .ok_or_else(|| StoreError::Corrupt("subscription vanished on insert".into()))
}

pub async fn list(pool: &PgPool, id: Option<i64>) -> Result<Vec<Subscription>> {
    let rows = match id {
        Some(id) => {
            sqlx::query(select!(" WHERE s.id = $1"))
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
    rows.iter().map(mapping::subscription).collect()
}

pub async fn find(pool: &PgPool, channel_id: i64, url: &str) -> Result<Option<Subscription>> {
    let row = sqlx::query(select!(
        " WHERE s.channel_id = $1 AND (s.url = $2 OR s.original_url = $2) ORDER BY s.id LIMIT 1"
    ))
    .bind(channel_id)
    .bind(url)
    .fetch_optional(pool)
    .await?;
    row.map(|r| mapping::subscription(&r)).transpose()
}

pub async fn delete(pool: &PgPool, id: i64) -> Result<bool> {
    let res = sqlx::query("DELETE FROM subscriptions WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(res.rows_affected() > 0)
}

/// The advisory lock claims of polls are taken under (one transaction at a time, across
/// instances), so that the count of live leases per host a claim reads cannot change before
/// it commits: row locks alone (`SKIP LOCKED`) keep two instances off one row, not two
/// instances from each taking a host's last free slot.
const POLL_CLAIM_LOCK: i64 = 0x73796e6469635f70; // "syndic_p"

/// Claims due subscriptions (see `Store::claim_due_subscriptions`).
pub async fn claim_due(
    pool: &PgPool,
    due_by: DateTime<Utc>,
    lease: &Lease<'_>,
    per_host: u32,
    limit: u32,
) -> Result<Vec<Subscription>> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(POLL_CLAIM_LOCK)
        .execute(&mut *tx)
        .await?;
    // Live leases by host, whoever holds them; then the soonest due rows that are not claimed
    // (of hosts not at their limit already; `candidates` of them), ranked within their host,
    // taken while their rank keeps the host within its limit; rows another transaction is
    // writing (a poll's state being saved) are skipped, not waited for.
    let rows = sqlx::query(
        "WITH live AS (
            SELECT host, count(*) AS n FROM subscriptions WHERE claimed_until > $6 GROUP BY host
         ), due AS (
            SELECT s.id, s.next_fetch_at, s.host FROM subscriptions s
            WHERE s.enabled AND s.next_fetch_at <= $1
              AND (s.claimed_until IS NULL OR s.claimed_until <= $6)
              AND s.host NOT IN (SELECT host FROM live WHERE n >= $4)
            ORDER BY s.next_fetch_at, s.id LIMIT $7
         ), ranked AS (
            SELECT id, next_fetch_at, host, row_number() OVER (
                PARTITION BY host ORDER BY next_fetch_at, id) AS rank
            FROM due
         ), picked AS (
            SELECT s.id FROM subscriptions s
            WHERE s.id IN (
                SELECT r.id FROM ranked r LEFT JOIN live l ON l.host = r.host
                WHERE r.rank + coalesce(l.n, 0) <= $4
                ORDER BY r.next_fetch_at, r.id LIMIT $5)
            FOR UPDATE SKIP LOCKED
         )
         UPDATE subscriptions s SET claimed_by = $2, claimed_until = $3
         FROM picked WHERE s.id = picked.id
         RETURNING s.*, (SELECT slug FROM channels c WHERE c.id = s.channel_id) AS slug",
    )
    .bind(due_by.timestamp_micros())
    .bind(lease.owner)
    .bind(lease.until.timestamp_micros())
    .bind(i64::from(per_host))
    .bind(i64::from(limit))
    .bind(now_micros())
    .bind(candidates(limit))
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut subs = rows
        .iter()
        .map(mapping::subscription)
        .collect::<Result<Vec<_>>>()?;
    subs.sort_by_key(|s| (s.next_fetch_at, s.id));
    Ok(subs)
}

/// Extends the leases `lease.owner` holds among `ids`; returns how many.
pub async fn renew(pool: &PgPool, kind: ClaimKind, ids: &[i64], lease: &Lease<'_>) -> Result<u64> {
    let sql = match kind {
        ClaimKind::Polls => {
            "UPDATE subscriptions SET claimed_until = $1 WHERE claimed_by = $2 AND id = ANY($3)"
        }
        ClaimKind::Deliveries => {
            "UPDATE websub_subscriptions SET claimed_until = $1
             WHERE claimed_by = $2 AND id = ANY($3)"
        }
    };
    let res = sqlx::query(sql)
        .bind(lease.until.timestamp_micros())
        .bind(lease.owner)
        .bind(ids)
        .execute(pool)
        .await?;
    Ok(res.rows_affected())
}

/// Writes a poll's bookkeeping (validators, schedule, errors). PostgreSQL commits concurrent
/// transactions together (group commit), so unlike SQLite this needs no batching of its own.
pub async fn save_state(pool: &PgPool, s: &Subscription, owner: Option<&str>) -> Result<bool> {
    // With an owner, the claim ends, and nothing is written unless the owner still holds it.
    let res = sqlx::query(
        "UPDATE subscriptions SET url = $1, title = $2, site_url = $3, enabled = $4,
            disabled_reason = $5, etag = $6, last_modified = $7, body_hash = $8,
            last_fetch_at = $9, next_fetch_at = $10, last_status = $11, error_count = $12,
            last_error = $13, host = $15,
            claimed_by = CASE WHEN $16::text IS NULL THEN claimed_by END,
            claimed_until = CASE WHEN $16::text IS NULL THEN claimed_until END
         WHERE id = $14 AND ($16::text IS NULL OR claimed_by = $16)",
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
    .bind(s.host())
    .bind(owner)
    .execute(pool)
    .await?;
    Ok(res.rows_affected() > 0 || owner.is_none())
}

/// Records a subscription request sent to a hub (before it is sent: the hub may verify at
/// once); it is pending until the hub answers. The lease starts only when the hub verifies.
pub async fn websub_requested(pool: &PgPool, id: i64, req: &WebsubRequest<'_>) -> Result<()> {
    sqlx::query(
        "UPDATE subscriptions SET websub_hub = $1, websub_topic = $2, websub_secret = $3,
            websub_token = $4, websub_pending = TRUE, websub_requested_at = $5 WHERE id = $6",
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
pub async fn websub_lease(pool: &PgPool, id: i64, until: Option<DateTime<Utc>>) -> Result<()> {
    sqlx::query(
        "UPDATE subscriptions SET websub_expires_at = $1, websub_pending = FALSE WHERE id = $2",
    )
    .bind(until.map(|t| t.timestamp_micros()))
    .bind(id)
    .execute(pool)
    .await?;
    Ok(())
}
