//! The SQLite side of import rules: the JSON stored on subscriptions and channels, and the
//! items rules dropped (what they mean is decided in `rules` and `ingest`).

use std::collections::HashMap;

use sqlx::sqlite::SqlitePool;

use crate::store::{DroppedItem, Result, RulesOwner};

pub async fn get(pool: &SqlitePool, owner: RulesOwner) -> Result<Option<Option<String>>> {
    // fetch_all, not fetch_optional: see the stale-read pitfall in docs/developer.md.
    let rows: Vec<(Option<String>,)> = match owner {
        RulesOwner::Subscription(id) => {
            sqlx::query_as("SELECT rules FROM subscriptions WHERE id = ?")
                .bind(id)
                .fetch_all(pool)
                .await?
        }
        RulesOwner::Channel(id) => {
            sqlx::query_as("SELECT rules FROM channels WHERE id = ?")
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
pub async fn set(pool: &SqlitePool, owner: RulesOwner, json: Option<&str>) -> Result<bool> {
    let mut tx = pool.begin().await?;
    let found = match owner {
        RulesOwner::Subscription(id) => {
            sqlx::query("UPDATE subscriptions SET rules = ?, body_hash = NULL, etag = NULL, last_modified = NULL WHERE id = ?")
                .bind(json)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
        }
        RulesOwner::Channel(id) => {
            let n = sqlx::query("UPDATE channels SET rules = ? WHERE id = ?")
                .bind(json)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            sqlx::query("UPDATE subscriptions SET body_hash = NULL, etag = NULL, last_modified = NULL WHERE channel_id = ?")
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
    pool: &SqlitePool,
    subscription_id: i64,
    keys: &[&str],
) -> Result<HashMap<String, DroppedItem>> {
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT item_key, rules_hash, rule FROM dropped_items
         WHERE subscription_id = ? AND item_key IN (SELECT value FROM json_each(?))",
    )
    .bind(subscription_id)
    .bind(serde_json::to_string(keys).expect("strings serialize"))
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(k, rules_hash, rule)| (k, DroppedItem { rules_hash, rule }))
        .collect())
}

pub async fn remember_dropped(
    pool: &SqlitePool,
    subscription_id: i64,
    entries: &[(&str, &str)],
    rules_hash: &str,
    at: i64,
) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO dropped_items (subscription_id, item_key, rules_hash, rule, dropped_at)
         SELECT ?, value ->> 0, ?, value ->> 1, ? FROM json_each(?) WHERE true
         ON CONFLICT (subscription_id, item_key) DO UPDATE
         SET rules_hash = excluded.rules_hash, rule = excluded.rule, dropped_at = excluded.dropped_at",
    )
    .bind(subscription_id)
    .bind(rules_hash)
    .bind(at)
    .bind(serde_json::to_string(entries).expect("strings serialize"))
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn item_keys(pool: &SqlitePool, subscription_id: i64) -> Result<Vec<(String, String)>> {
    Ok(sqlx::query_as(
        "SELECT item_key, guid FROM subscription_items WHERE subscription_id = ? ORDER BY guid, item_key",
    )
    .bind(subscription_id)
    .fetch_all(pool)
    .await?)
}
