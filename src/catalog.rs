//! The rules of what syndic keeps of a channel's articles, above every storage backend: an
//! article's identity and content hash, what a write does to it (created, updated, unchanged,
//! kept out by a tombstone), its place in the newest-first order, retention, deletion and the
//! keys that recognise an upstream item seen before. Backends store and fetch rows inside a
//! transaction ([`WriteTx`]) and decide none of this, so every backend runs the same rules,
//! tested once.

use std::collections::HashSet;

use sha2::{Digest, Sha256};

use crate::model::{Article, Channel, KeyedArticle, Subscription};
use crate::store::{ArticleRow, DynStore, Result, StoredState, WriteTx};

/// What happened to each article of a write, in input order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Created,
    Updated,
    Unchanged,
    /// Deleted earlier: its tombstone kept it out.
    SkippedDeleted,
}

/// How a write treats articles that were deleted before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tombstones {
    /// Leave them deleted (bulk ingest, imports).
    Respect,
    /// Bring them back (an explicit PUT of that one article).
    Restore,
}

/// A digest of everything an article shows, so that re-posting it unchanged writes nothing.
pub fn content_hash(article: &Article) -> String {
    hex::encode(Sha256::digest(
        serde_json::to_vec(article).expect("model types serialize"),
    ))
}

/// Where an article sorts in the newest-first order: its publication date, else when syndic
/// first saw it (microseconds).
fn sort_at(article: &Article, first_seen_at: i64) -> i64 {
    article
        .date_published
        .map_or(first_seen_at, |d| d.timestamp_micros())
}

fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// Writes every article in one transaction, all or nothing.
pub async fn upsert(
    store: &DynStore,
    channel: &Channel,
    articles: &[Article],
    tombstones: Tombstones,
) -> Result<Vec<Outcome>> {
    let mut tx = store.begin_write().await?;
    let outcomes = upsert_in(tx.as_mut(), channel.id, articles, tombstones).await?;
    tx.commit().await?;
    Ok(outcomes)
}

/// Upserts articles inside a transaction and bumps the channel when anything changed.
async fn upsert_in(
    tx: &mut dyn WriteTx,
    channel_id: i64,
    articles: &[Article],
    tombstones: Tombstones,
) -> Result<Vec<Outcome>> {
    let now = now_micros();
    let ids: Vec<&str> = articles.iter().map(|a| a.id.as_str()).collect();
    let mut states = tx.article_states(channel_id, &ids).await?;
    // New articles go to the backend together. When one id comes twice in a batch, the later
    // item must see the earlier one, so such a batch is written row by row.
    let mut seen = HashSet::with_capacity(articles.len());
    let batched = ids.iter().all(|id| seen.insert(*id));
    let mut inserts: Vec<ArticleRow<'_>> = Vec::new();
    let mut restored: Vec<&str> = Vec::new();
    let mut outcomes = Vec::with_capacity(articles.len());
    for (i, a) in articles.iter().enumerate() {
        // Articles of one batch are first seen a microsecond apart, in feed order (the
        // first is the newest), so undated ones keep a stable order and distinct dates.
        let now = now + (articles.len() - 1 - i) as i64;
        if states.tombstoned.contains(&a.id) {
            if tombstones == Tombstones::Respect {
                outcomes.push(Outcome::SkippedDeleted);
                continue;
            }
            states.tombstoned.remove(&a.id);
            restored.push(&a.id);
        }
        let hash = content_hash(a);
        let old = states.stored.get(&a.id);
        let outcome = match old {
            Some(old) if old.content_hash == hash => Outcome::Unchanged,
            Some(_) => Outcome::Updated,
            None => Outcome::Created,
        };
        let first_seen_at = old.map_or(now, |o| o.first_seen_at);
        let row = ArticleRow {
            article: a,
            sort_at: sort_at(a, first_seen_at),
            content_hash: hash,
            first_seen_at,
            updated_at: now,
        };
        match (outcome, old.map(|o| o.row)) {
            (Outcome::Created, _) if batched => inserts.push(row),
            (Outcome::Created, _) => {
                let id = tx
                    .insert_articles(channel_id, std::slice::from_ref(&row))
                    .await?;
                states.stored.insert(a.id.clone(), row.state(id));
            }
            (Outcome::Updated, Some(id)) => {
                tx.update_article(id, &row).await?;
                states.stored.insert(a.id.clone(), row.state(id));
            }
            _ => {}
        }
        outcomes.push(outcome);
    }
    if !restored.is_empty() {
        tx.remove_tombstones(channel_id, &restored).await?;
    }
    if !inserts.is_empty() {
        tx.insert_articles(channel_id, &inserts).await?;
    }
    if outcomes
        .iter()
        .any(|o| matches!(o, Outcome::Created | Outcome::Updated))
    {
        tx.bump_channel(channel_id, now_micros()).await?;
    }
    Ok(outcomes)
}

impl ArticleRow<'_> {
    fn state(&self, row: i64) -> StoredState {
        StoredState {
            row,
            content_hash: self.content_hash.clone(),
            first_seen_at: self.first_seen_at,
        }
    }
}

/// Imports one fetch of an upstream's items in one transaction. An item one of whose keys
/// (guid, link, content digest: see `poll`) was seen before from this subscription is the
/// article made of it then, whatever id the upstream gives it now; the others are created.
/// Tombstones are respected. Every key is remembered.
pub async fn import(
    store: &DynStore,
    subscription: &Subscription,
    channel: &Channel,
    mut items: Vec<KeyedArticle>,
) -> Result<Vec<(String, Outcome)>> {
    let mut tx = store.begin_write().await?;
    let keys: Vec<&str> = items
        .iter()
        .flat_map(|i| i.keys.iter().map(String::as_str))
        .collect();
    let known = tx.item_keys(subscription.id, &keys).await?;
    for item in &mut items {
        if let Some(guid) = item.keys.iter().find_map(|k| known.get(k)) {
            item.article.id = guid.clone();
        }
    }
    let articles: Vec<Article> = items.iter().map(|k| k.article.clone()).collect();
    let outcomes = upsert_in(tx.as_mut(), channel.id, &articles, Tombstones::Respect).await?;
    let pairs: Vec<(&str, &str)> = items
        .iter()
        .flat_map(|i| i.keys.iter().map(|k| (k.as_str(), i.article.id.as_str())))
        .collect();
    tx.record_item_keys(subscription.id, &pairs).await?;
    let created = outcomes.iter().filter(|o| **o == Outcome::Created).count();
    tx.add_items_imported(subscription.id, created as i64)
        .await?;
    tx.commit().await?;
    Ok(articles.into_iter().map(|a| a.id).zip(outcomes).collect())
}

/// Applies the channel's retention (at most N articles, none older than D days); pruned
/// articles leave tombstones, so no poll brings them back. Returns how many went.
pub async fn prune(
    store: &DynStore,
    channel: &Channel,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<u64> {
    if channel.retain_max_articles.is_none() && channel.retain_days.is_none() {
        return Ok(0);
    }
    let mut tx = store.begin_write().await?;
    let mut gone: Vec<String> = Vec::new();
    if let Some(max) = channel.retain_max_articles {
        gone.extend(tx.guids_past(channel.id, max).await?);
    }
    if let Some(days) = channel.retain_days {
        let cutoff = (now - chrono::Duration::days(days as i64)).timestamp_micros();
        gone.extend(tx.guids_sorted_before(channel.id, cutoff).await?);
    }
    gone.sort_unstable();
    gone.dedup();
    let guids: Vec<&str> = gone.iter().map(String::as_str).collect();
    bury(tx.as_mut(), channel.id, &guids).await?;
    tx.commit().await?;
    Ok(gone.len() as u64)
}

/// Deletes an article and leaves a tombstone; false when there was no such article.
pub async fn delete(store: &DynStore, channel: &Channel, guid: &str) -> Result<bool> {
    let mut tx = store.begin_write().await?;
    let deleted = bury(tx.as_mut(), channel.id, &[guid]).await? > 0;
    tx.commit().await?;
    Ok(deleted)
}

/// Deletes articles in one transaction and leaves tombstones (import rules' reapply);
/// returns how many were there.
pub async fn delete_many(store: &DynStore, channel: &Channel, guids: &[&str]) -> Result<u64> {
    let mut tx = store.begin_write().await?;
    let n = bury(tx.as_mut(), channel.id, guids).await?;
    tx.commit().await?;
    Ok(n)
}

/// Deletes articles, leaves a tombstone for each one that was there, and bumps the channel.
async fn bury(tx: &mut dyn WriteTx, channel_id: i64, guids: &[&str]) -> Result<u64> {
    if guids.is_empty() {
        return Ok(0);
    }
    let deleted = tx.delete_articles(channel_id, guids).await?;
    if deleted.is_empty() {
        return Ok(0);
    }
    let deleted: Vec<&str> = deleted.iter().map(String::as_str).collect();
    tx.add_tombstones(channel_id, &deleted, now_micros())
        .await?;
    tx.bump_channel(channel_id, now_micros()).await?;
    Ok(deleted.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_follows_what_the_article_shows() {
        let mut a = Article {
            id: "x".into(),
            title: Some("t".into()),
            ..Default::default()
        };
        let h1 = content_hash(&a);
        assert_eq!(h1, content_hash(&a.clone()));
        a.title = Some("u".into());
        assert_ne!(h1, content_hash(&a));
    }
}
