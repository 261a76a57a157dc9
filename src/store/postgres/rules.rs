//! The PostgreSQL side of import rules: the JSON stored on subscriptions and channels, and the
//! items rules dropped (what they mean is decided in `rules` and `ingest`).

use std::collections::HashMap;

use sqlx::postgres::PgPool;

use crate::store::{DroppedItem, Result, RulesOwner};

pub async fn get(pool: &PgPool, owner: RulesOwner) -> Result<Option<Option<String>>> {
    let rows: Vec<(Option<String>,)> = match owner {
        RulesOwner::Subscription(id) => {
            sqlx::query_as("SELECT rules FROM subscriptions WHERE id = $1")
                .bind(id)
                .fetch_all(pool)
                .await?
        }
        RulesOwner::Channel(id) => {
            sqlx::query_as("SELECT rules FROM channels WHERE id = $1")
                .bind(id)
                .fetch_all(pool)
                .await?
        }
    };
    Ok(rows.into_iter().next().map(|(r,)| r))
}

/// Stores the rules and forgets the validators and body hash of the subscriptions they apply
/// to, so that the next poll fetches and imports the feed under them even if it did not
/// change.
pub async fn set(pool: &PgPool, owner: RulesOwner, json: Option<&str>) -> Result<bool> {
    let mut tx = pool.begin().await?;
    let found = match owner {
        RulesOwner::Subscription(id) => {
            sqlx::query("UPDATE subscriptions SET rules = $1, body_hash = NULL, etag = NULL, last_modified = NULL WHERE id = $2")
                .bind(json)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
        }
        RulesOwner::Channel(id) => {
            let n = sqlx::query("UPDATE channels SET rules = $1 WHERE id = $2")
                .bind(json)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            sqlx::query("UPDATE subscriptions SET body_hash = NULL, etag = NULL, last_modified = NULL WHERE channel_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            n
        }
    };
    tx.commit().await?;
    Ok(found > 0)
}

pub async fn dropped(
    pool: &PgPool,
    subscription_id: i64,
    keys: &[&str],
) -> Result<HashMap<String, DroppedItem>> {
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT item_key, rules_hash, rule FROM dropped_items
         WHERE subscription_id = $1 AND item_key = ANY($2)",
    )
    .bind(subscription_id)
    .bind(keys)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(k, rules_hash, rule)| (k, DroppedItem { rules_hash, rule }))
        .collect())
}

pub async fn remember_dropped(
    pool: &PgPool,
    subscription_id: i64,
    entries: &[(&str, &str)],
    rules_hash: &str,
    at: i64,
) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let keys: Vec<&str> = entries.iter().map(|(k, _)| *k).collect();
    let rules: Vec<&str> = entries.iter().map(|(_, r)| *r).collect();
    sqlx::query(
        "INSERT INTO dropped_items (subscription_id, item_key, rules_hash, rule, dropped_at)
         SELECT DISTINCT ON (k) $1::bigint, k, $2, r, $3::bigint
         FROM unnest($4::text[], $5::text[]) AS t(k, r)
         ON CONFLICT (subscription_id, item_key) DO UPDATE
         SET rules_hash = excluded.rules_hash, rule = excluded.rule, dropped_at = excluded.dropped_at",
    )
    .bind(subscription_id)
    .bind(rules_hash)
    .bind(at)
    .bind(&keys)
    .bind(&rules)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn item_keys(pool: &PgPool, subscription_id: i64) -> Result<Vec<(String, String)>> {
    Ok(sqlx::query_as(
        "SELECT item_key, guid FROM subscription_items WHERE subscription_id = $1 ORDER BY guid, item_key",
    )
    .bind(subscription_id)
    .fetch_all(pool)
    .await?)
}
