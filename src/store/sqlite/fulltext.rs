//! The SQLite side of full text for summary-only feeds: a subscription's option, the item
//! keys it has seen (read outside a write), and the page texts kept by page URL.

use std::collections::{HashMap, HashSet};

use sqlx::Row;
use sqlx::sqlite::SqlitePool;

use chrono::{DateTime, Utc};

use super::micros_to_utc;
use crate::model::{FullText, SubscriptionPatch};
use crate::store::Result;

pub async fn update(pool: &SqlitePool, id: i64, patch: &SubscriptionPatch) -> Result<bool> {
    let res = sqlx::query(
        "UPDATE subscriptions SET full_content = coalesce(?, full_content) WHERE id = ?",
    )
    .bind(patch.full_content)
    .bind(id)
    .execute(pool)
    .await?;
    Ok(res.rows_affected() > 0)
}

pub async fn seen_keys(pool: &SqlitePool, id: i64, keys: &[&str]) -> Result<HashSet<String>> {
    Ok(sqlx::query_scalar(
        "SELECT item_key FROM subscription_items
         WHERE subscription_id = ? AND item_key IN (SELECT value FROM json_each(?))",
    )
    .bind(id)
    .bind(serde_json::to_string(keys).expect("strings serialize"))
    .fetch_all(pool)
    .await?
    .into_iter()
    .collect())
}

pub async fn get(pool: &SqlitePool, id: i64, urls: &[&str]) -> Result<HashMap<String, FullText>> {
    let rows = sqlx::query(
        "SELECT url, content_html, error, attempts, done, fetched_at FROM full_texts
         WHERE subscription_id = ? AND url IN (SELECT value FROM json_each(?))",
    )
    .bind(id)
    .bind(serde_json::to_string(urls).expect("strings serialize"))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            let attempts: i64 = r.try_get("attempts")?;
            Ok((
                r.try_get("url")?,
                FullText {
                    content_html: r.try_get("content_html")?,
                    error: r.try_get("error")?,
                    attempts: attempts.clamp(0, u32::MAX as i64) as u32,
                    done: r.try_get("done")?,
                    fetched_at: micros_to_utc(r.try_get("fetched_at")?),
                },
            ))
        })
        .collect()
}

pub async fn forget(
    pool: &SqlitePool,
    id: i64,
    keep: &[&str],
    before: DateTime<Utc>,
) -> Result<u64> {
    Ok(sqlx::query(
        "DELETE FROM full_texts WHERE subscription_id = ? AND fetched_at < ?
            AND url NOT IN (SELECT value FROM json_each(?))",
    )
    .bind(id)
    .bind(before.timestamp_micros())
    .bind(serde_json::to_string(keep).expect("strings serialize"))
    .execute(pool)
    .await?
    .rows_affected())
}

pub async fn save(pool: &SqlitePool, id: i64, pages: &[(String, FullText)]) -> Result<()> {
    let mut tx = pool.begin().await?;
    for (url, t) in pages {
        sqlx::query(
            "INSERT INTO full_texts
                (subscription_id, url, content_html, error, attempts, done, fetched_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (subscription_id, url) DO UPDATE SET
                content_html = excluded.content_html, error = excluded.error,
                attempts = excluded.attempts, done = excluded.done,
                fetched_at = excluded.fetched_at",
        )
        .bind(id)
        .bind(url)
        .bind(&t.content_html)
        .bind(&t.error)
        .bind(t.attempts as i64)
        .bind(t.done)
        .bind(t.fetched_at.timestamp_micros())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
