//! The SQLite side of subscriptions: their rows, their fetch state, and the keys that
//! recognise an upstream item on every later poll.

use chrono::{DateTime, Utc};
use sqlx::sqlite::SqlitePool;

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

pub async fn create(pool: &SqlitePool, new: &NewSubscription) -> Result<Subscription> {
    let now = now_micros();
    let id = sqlx::query(
        "INSERT INTO subscriptions (channel_id, url, host, original_url, title, site_url,
            interval_secs, next_fetch_at, created_at, full_content)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(new.channel_id)
    .bind(&new.url)
    .bind(new.host())
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
    rows.iter().map(mapping::subscription).collect()
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
    row.map(|r| mapping::subscription(&r)).transpose()
}

pub async fn delete(pool: &SqlitePool, id: i64) -> Result<bool> {
    let res = sqlx::query("DELETE FROM subscriptions WHERE id = ?")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(res.rows_affected() > 0)
}

/// Claims due subscriptions (see `Store::claim_due_subscriptions`) in one IMMEDIATE
/// transaction on the writer: SQLite's one writer makes the claim atomic across processes. It
/// is committed without an fsync (`synchronous=NORMAL`, set back to FULL after), as polls'
/// bookkeeping is: a power cut can only lose claims, which makes their feeds due again. An
/// fsync per claim (one claim per few finished polls) made a round wait on the disk.
pub async fn claim(
    pool: &SqlitePool,
    due_by: DateTime<Utc>,
    lease: &Lease<'_>,
    per_host: u32,
    limit: u32,
) -> Result<Vec<Subscription>> {
    let mut conn = pool.acquire().await?;
    sqlx::query("PRAGMA synchronous = NORMAL")
        .execute(&mut *conn)
        .await?;
    let claimed = async {
        sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
        match claim_due(&mut conn, due_by, lease, per_host, limit).await {
            Ok(claimed) => {
                sqlx::query("COMMIT").execute(&mut *conn).await?;
                Ok(claimed)
            }
            Err(e) => {
                let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
                Err(e)
            }
        }
    }
    .await;
    let restored = sqlx::query("PRAGMA synchronous = FULL")
        .execute(&mut *conn)
        .await;
    if claimed.is_err() || restored.is_err() {
        // As in `write_states`: never hand on a connection that may be inside a transaction
        // or not waiting for the disk.
        conn.close_on_drop();
    }
    claimed
}

async fn claim_due(
    conn: &mut sqlx::SqliteConnection,
    due_by: DateTime<Utc>,
    lease: &Lease<'_>,
    per_host: u32,
    limit: u32,
) -> Result<Vec<Subscription>> {
    // Live leases by host, whoever holds them; then the soonest due rows that are not claimed
    // (of hosts not at their limit already; `candidates` of them), ranked within their host,
    // taken while their rank keeps the host within its limit.
    let ids: Vec<i64> = sqlx::query_scalar(
        "WITH live AS (
            SELECT host, count(*) AS n FROM subscriptions WHERE claimed_until > ?6 GROUP BY host
         ), due AS (
            SELECT s.id, s.next_fetch_at, s.host FROM subscriptions s
            WHERE s.enabled = 1 AND s.next_fetch_at <= ?1
              AND (s.claimed_until IS NULL OR s.claimed_until <= ?6)
              AND s.host NOT IN (SELECT host FROM live WHERE n >= ?4)
            ORDER BY s.next_fetch_at, s.id LIMIT ?7
         ), ranked AS (
            SELECT id, next_fetch_at, host, row_number() OVER (
                PARTITION BY host ORDER BY next_fetch_at, id) AS rank
            FROM due
         )
         UPDATE subscriptions SET claimed_by = ?2, claimed_until = ?3
         WHERE id IN (
            SELECT r.id FROM ranked r LEFT JOIN live l ON l.host = r.host
            WHERE r.rank + coalesce(l.n, 0) <= ?4
            ORDER BY r.next_fetch_at, r.id LIMIT ?5)
         RETURNING id",
    )
    .bind(due_by.timestamp_micros())
    .bind(lease.owner)
    .bind(lease.until.timestamp_micros())
    .bind(i64::from(per_host))
    .bind(i64::from(limit))
    .bind(now_micros())
    .bind(candidates(limit))
    .fetch_all(&mut *conn)
    .await?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(select!(
        " WHERE s.id IN (SELECT value FROM json_each(?)) ORDER BY s.next_fetch_at, s.id"
    ))
    .bind(json_ids(&ids))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(mapping::subscription).collect()
}

/// Ids as a JSON array, for `json_each` (SQLite binds no arrays).
pub fn json_ids(ids: &[i64]) -> String {
    serde_json::to_string(ids).expect("integers serialize")
}

/// Extends the leases `lease.owner` holds among `ids` of `table`; returns how many.
pub async fn renew(
    pool: &SqlitePool,
    kind: ClaimKind,
    ids: &[i64],
    lease: &Lease<'_>,
) -> Result<u64> {
    let sql = match kind {
        ClaimKind::Polls => {
            "UPDATE subscriptions SET claimed_until = ?1
             WHERE claimed_by = ?2 AND id IN (SELECT value FROM json_each(?3))"
        }
        ClaimKind::Deliveries => {
            "UPDATE websub_subscriptions SET claimed_until = ?1
             WHERE claimed_by = ?2 AND id IN (SELECT value FROM json_each(?3))"
        }
    };
    let res = sqlx::query(sql)
        .bind(lease.until.timestamp_micros())
        .bind(lease.owner)
        .bind(json_ids(ids))
        .execute(pool)
        .await?;
    Ok(res.rows_affected())
}

/// A poll's bookkeeping (validators, schedule, errors) waiting to be written, the owner of its
/// claim when it ends one, and where to say whether it was written.
type PendingState = (
    Subscription,
    Option<String>,
    tokio::sync::oneshot::Sender<Result<bool>>,
);

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
                let done = write_states(&pool, batch.iter().map(|(s, owner, _)| (s, owner)))
                    .await
                    .map_err(std::sync::Arc::new);
                for (i, (_, _, reply)) in batch.drain(..).enumerate() {
                    let written = match &done {
                        Ok(written) => Ok(written[i]),
                        Err(e) => Err(StoreError::Shared(e.clone())),
                    };
                    let _ = reply.send(written);
                }
            }
        });
        StateWriter(tx)
    }

    /// Saves one subscription's state, and ends the claim `owner` holds on it (only while
    /// it holds it: false, and nothing written, when the claim was lost); returns once it is
    /// written.
    pub async fn save(&self, s: &Subscription, owner: Option<&str>) -> Result<bool> {
        let (reply, done) = tokio::sync::oneshot::channel();
        let gone = || StoreError::Corrupt("the state writer has stopped".into());
        self.0
            .send((s.clone(), owner.map(str::to_owned), reply))
            .map_err(|_| gone())?;
        done.await.map_err(|_| gone())?
    }
}

/// Writes the states in one transaction; says of each whether it was written.
async fn write_states<'a>(
    pool: &SqlitePool,
    states: impl Iterator<Item = (&'a Subscription, &'a Option<String>)>,
) -> Result<Vec<bool>> {
    let mut conn = pool.acquire().await?;
    sqlx::query("PRAGMA synchronous = NORMAL")
        .execute(&mut *conn)
        .await?;
    let written = async {
        sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
        let mut written = Vec::new();
        for (s, owner) in states {
            match update_state(&mut conn, s, owner.as_deref()).await {
                Ok(w) => written.push(w),
                Err(e) => {
                    let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
                    return Err(e);
                }
            }
        }
        sqlx::query("COMMIT").execute(&mut *conn).await?;
        Ok(written)
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

/// Writes one state; with an owner, ends its claim, and writes nothing (false) unless the
/// owner still holds it.
async fn update_state(
    conn: &mut sqlx::SqliteConnection,
    s: &Subscription,
    owner: Option<&str>,
) -> Result<bool> {
    let res = sqlx::query(
        "UPDATE subscriptions SET url = ?1, host = ?2, title = ?3, site_url = ?4, enabled = ?5,
            disabled_reason = ?6, etag = ?7, last_modified = ?8, body_hash = ?9,
            last_fetch_at = ?10, next_fetch_at = ?11, last_status = ?12, error_count = ?13,
            last_error = ?14,
            claimed_by = CASE WHEN ?16 IS NULL THEN claimed_by END,
            claimed_until = CASE WHEN ?16 IS NULL THEN claimed_until END
         WHERE id = ?15 AND (?16 IS NULL OR claimed_by = ?16)",
    )
    .bind(&s.url)
    .bind(s.host())
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
    .bind(owner)
    .execute(conn)
    .await?;
    Ok(res.rows_affected() > 0 || owner.is_none())
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
    /// `synchronous=FULL`, including the writer after a batch of poll bookkeeping and after a
    /// claim (both written with NORMAL, then set back).
    #[tokio::test]
    async fn every_connection_is_wal_with_synchronous_full() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("syndic.db").display());
        let store = SqliteStore::open(&url).await.unwrap();
        super::write_states(&store.writer, std::iter::empty::<(_, &Option<String>)>())
            .await
            .unwrap();
        let lease = crate::store::Lease {
            owner: "test",
            until: chrono::Utc::now(),
        };
        super::claim(&store.writer, chrono::Utc::now(), &lease, 1, 1)
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
