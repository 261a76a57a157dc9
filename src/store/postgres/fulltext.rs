//! The PostgreSQL side of full text for summary-only feeds: a subscription's option, the item
//! keys it has seen (read outside a write), and the page texts kept by page URL.

use std::collections::{HashMap, HashSet};

use sqlx::Row;
use sqlx::postgres::PgPool;

use chrono::{DateTime, Utc};

use super::micros_to_utc;
use crate::model::{FullText, SubscriptionPatch};
use crate::store::Result;

pub async fn update(pool: &PgPool, id: i64, patch: &SubscriptionPatch) -> Result<bool> {
    let res = sqlx::query(
        "UPDATE subscriptions SET full_content = coalesce($1, full_content) WHERE id = $2",
    )
    .bind(patch.full_content)
    .bind(id)
    .execute(pool)
    .await?;
    Ok(res.rows_affected() > 0)
}

pub async fn seen_keys(pool: &PgPool, id: i64, keys: &[&str]) -> Result<HashSet<String>> {
    Ok(sqlx::query_scalar(
        "SELECT item_key FROM subscription_items
         WHERE subscription_id = $1 AND item_key = ANY($2)",
    )
    .bind(id)
    .bind(keys)
    .fetch_all(pool)
    .await?
    .into_iter()
    .collect())
}

pub async fn get(pool: &PgPool, id: i64, urls: &[&str]) -> Result<HashMap<String, FullText>> {
    let rows = sqlx::query(
        "SELECT url, content_html, error, attempts, done, fetched_at FROM full_texts
         WHERE subscription_id = $1 AND url = ANY($2)",
    )
    .bind(id)
    .bind(urls)
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

pub async fn forget(pool: &PgPool, id: i64, keep: &[&str], before: DateTime<Utc>) -> Result<u64> {
    Ok(sqlx::query(
        "DELETE FROM full_texts WHERE subscription_id = $1 AND fetched_at < $2
            AND NOT (url = ANY($3))",
    )
    .bind(id)
    .bind(before.timestamp_micros())
    .bind(keep)
    .execute(pool)
    .await?
    .rows_affected())
}

pub async fn save(pool: &PgPool, id: i64, pages: &[(String, FullText)]) -> Result<()> {
    let mut tx = pool.begin().await?;
    for (url, t) in pages {
        sqlx::query(
            "INSERT INTO full_texts
                (subscription_id, url, content_html, error, attempts, done, fetched_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (subscription_id, url) DO UPDATE SET
                content_html = EXCLUDED.content_html, error = EXCLUDED.error,
                attempts = EXCLUDED.attempts, done = EXCLUDED.done,
                fetched_at = EXCLUDED.fetched_at",
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
