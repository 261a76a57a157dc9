//! The rules of what syndic keeps of a channel's articles, above every storage backend: an
//! article's identity and content hash, what a write does to it (created, updated, unchanged,
//! kept out by a tombstone), its place in the newest-first order, retention, deletion and the
//! keys that recognise an upstream item seen before. Backends store and fetch rows inside a
//! transaction ([`WriteTx`]) and decide none of this, so every backend runs the same rules,
//! tested once.

use std::collections::HashSet;

use sha2::{Digest, Sha256};

use crate::model::{Article, Channel, Dedupe, KeyedArticle, Subscription, Via};
use crate::store::{ArticleRow, DynStore, Result, StoredState, StoryTitle, WriteTx};
use crate::story::{self, StoryText};

/// What happened to each article of a write, in input order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
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
/// The sources it came through are not in it (`import` keeps them apart).
/// The JSON is fed to the digest as it is written, never held whole in memory.
pub fn content_hash(article: &Article) -> String {
    struct Digesting(Sha256);
    impl std::io::Write for Digesting {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.update(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut digest = Digesting(Sha256::new());
    serde_json::to_writer(&mut digest, article).expect("model types serialize");
    hex::encode(digest.0.finalize())
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

/// One batch written in parts as they are ready, in one transaction: the ingest pipeline
/// prepares the next part while this one is written. The outcome is the same as [`upsert`] of
/// the whole batch (the same first-seen order, one channel bump); dropped before
/// [`BatchWrite::commit`], nothing of it is written.
pub struct BatchWrite {
    tx: Box<dyn WriteTx>,
    channel_id: i64,
    tombstones: Tombstones,
    now: i64,
    total: usize,
    written: usize,
    changed: bool,
}

impl BatchWrite {
    /// Opens the transaction for a batch of `total` articles.
    pub async fn begin(
        store: &DynStore,
        channel: &Channel,
        total: usize,
        tombstones: Tombstones,
    ) -> Result<BatchWrite> {
        Ok(BatchWrite {
            tx: store.begin_write().await?,
            channel_id: channel.id,
            tombstones,
            now: now_micros(),
            total,
            written: 0,
            changed: false,
        })
    }

    /// Upserts the next articles of the batch, in input order, with their
    /// [`content_hash`]es (computed by the caller, which prepares the articles on every core
    /// while this writes).
    pub async fn write(
        &mut self,
        articles: &[Article],
        hashes: Vec<String>,
    ) -> Result<Vec<Outcome>> {
        let outcomes = upsert_part(
            self.tx.as_mut(),
            self.channel_id,
            articles,
            hashes,
            self.tombstones,
            Clock {
                now: self.now,
                first: self.written,
                total: self.total.max(self.written + articles.len()),
            },
        )
        .await?;
        self.written += articles.len();
        self.changed |= changed(&outcomes);
        Ok(outcomes)
    }

    /// Bumps the channel when anything changed, and commits.
    pub async fn commit(mut self) -> Result<()> {
        if self.changed {
            self.tx.bump_channel(self.channel_id, now_micros()).await?;
        }
        self.tx.commit().await
    }
}

fn changed(outcomes: &[Outcome]) -> bool {
    outcomes
        .iter()
        .any(|o| matches!(o, Outcome::Created | Outcome::Updated))
}

/// When a batch is written and where a part of it stands in the batch: articles are first
/// seen a microsecond apart in batch order.
#[derive(Clone, Copy)]
struct Clock {
    now: i64,
    /// The index in the batch of the part's first article.
    first: usize,
    total: usize,
}

/// Upserts articles inside a transaction and bumps the channel when anything changed.
async fn upsert_in(
    tx: &mut dyn WriteTx,
    channel_id: i64,
    articles: &[Article],
    tombstones: Tombstones,
) -> Result<Vec<Outcome>> {
    let clock = Clock {
        now: now_micros(),
        first: 0,
        total: articles.len(),
    };
    let hashes = articles.iter().map(content_hash).collect();
    let outcomes = upsert_part(tx, channel_id, articles, hashes, tombstones, clock).await?;
    if changed(&outcomes) {
        tx.bump_channel(channel_id, now_micros()).await?;
    }
    Ok(outcomes)
}

/// Upserts a part of a batch inside a transaction; `hashes` are the articles'
/// [`content_hash`]es, in the same order.
async fn upsert_part(
    tx: &mut dyn WriteTx,
    channel_id: i64,
    articles: &[Article],
    hashes: Vec<String>,
    tombstones: Tombstones,
    clock: Clock,
) -> Result<Vec<Outcome>> {
    let ids: Vec<&str> = articles.iter().map(|a| a.id.as_str()).collect();
    let mut states = tx.article_states(channel_id, &ids).await?;
    // New articles go to the backend together. When one id comes twice in a batch, the later
    // item must see the earlier one, so such a batch is written row by row.
    let mut seen = HashSet::with_capacity(articles.len());
    let batched = ids.iter().all(|id| seen.insert(*id));
    let mut inserts: Vec<ArticleRow<'_>> = Vec::new();
    let mut restored: Vec<&str> = Vec::new();
    let mut outcomes = Vec::with_capacity(articles.len());
    debug_assert_eq!(articles.len(), hashes.len());
    for ((i, a), hash) in articles.iter().enumerate().zip(hashes) {
        // Articles of one batch are first seen a microsecond apart, in feed order (the
        // first is the newest), so undated ones keep a stable order and distinct dates.
        let now = clock.now + (clock.total - 1 - (clock.first + i)) as i64;
        if states.tombstoned.contains(&a.id) {
            if tombstones == Tombstones::Respect {
                outcomes.push(Outcome::SkippedDeleted);
                continue;
            }
            states.tombstoned.remove(&a.id);
            restored.push(&a.id);
        }
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
    Ok(outcomes)
}

impl ArticleRow<'_> {
    fn state(&self, row: i64) -> StoredState {
        StoredState {
            row,
            content_hash: self.content_hash.clone(),
            first_seen_at: self.first_seen_at,
            sources: self.article.sources.clone(),
        }
    }
}

/// Imports one fetch of an upstream's items in one transaction. An item one of whose keys
/// (guid, link, content digest: see `poll`) was seen before from this subscription is the
/// article made of it then, whatever id the upstream gives it now. Unless the channel's
/// dedupe is off, an item new to this subscription that is a story the channel has already
/// (same canonical link; in story mode also a near-identical title within 48 hours: see
/// `story`) joins that article as one more source, its content left as the first source
/// gave it; a later change of the item in any of its sources updates the article. The
/// others are created. Tombstones are respected, whichever source brings a deleted story
/// again. Every key is remembered.
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
    let mut seen_before = vec![false; items.len()];
    for (item, seen) in items.iter_mut().zip(&mut seen_before) {
        if let Some(guid) = item.keys.iter().find_map(|k| known.get(k)) {
            item.article.id = guid.clone();
            *seen = true;
        }
    }
    let now = now_micros();
    let outcomes = if channel.dedupe == Dedupe::Off {
        let articles: Vec<Article> = items
            .iter()
            .map(|k| {
                let mut a = k.article.clone();
                a.sources = vec![via(subscription, &a, None)];
                a
            })
            .collect();
        upsert_in(tx.as_mut(), channel.id, &articles, Tombstones::Respect).await?
    } else {
        let stories = join_stories(tx.as_mut(), channel, &mut items, &seen_before, now).await?;
        let outcomes = import_joined(tx.as_mut(), subscription, channel, &mut items, now).await?;
        record_stories(tx.as_mut(), channel, &items, &outcomes, &stories).await?;
        outcomes
    };
    let pairs: Vec<(&str, &str)> = items
        .iter()
        .flat_map(|i| i.keys.iter().map(|k| (k.as_str(), i.article.id.as_str())))
        .collect();
    tx.record_item_keys(subscription.id, &pairs).await?;
    let created = outcomes.iter().filter(|o| **o == Outcome::Created).count();
    tx.add_items_imported(subscription.id, created as i64)
        .await?;
    tx.commit().await?;
    Ok(items
        .into_iter()
        .map(|i| i.article.id)
        .zip(outcomes)
        .collect())
}

/// One subscription as a source of an article.
fn via(subscription: &Subscription, article: &Article, item_hash: Option<String>) -> Via {
    Via {
        title: subscription.title.clone(),
        feed_url: subscription.url.clone(),
        url: article.url.clone(),
        subscription: Some(subscription.id),
        item_hash,
    }
}

/// What recognises an item as a story: its canonical link, and in story mode its title.
struct StoryKeys {
    link: Option<String>,
    title: Option<StoryTitle>,
}

/// Points every item new to this subscription at the stored story it is, if any, and
/// returns each item's story keys. An item stays itself when the story already came
/// through this subscription (another item of the same feed is not the same story).
async fn join_stories(
    tx: &mut dyn WriteTx,
    channel: &Channel,
    items: &mut [KeyedArticle],
    seen_before: &[bool],
    now: i64,
) -> Result<Vec<StoryKeys>> {
    let stories: Vec<StoryKeys> = items
        .iter()
        .map(|k| {
            let a = &k.article;
            let title = (channel.dedupe == Dedupe::Story)
                .then(|| StoryText::of(a))
                .flatten()
                .map(|t| StoryTitle {
                    guid: a.id.clone(),
                    title: t.title,
                    lead: t.lead,
                    at: a.date_published.map_or(now, |d| d.timestamp_micros()),
                });
            StoryKeys {
                link: a.url.as_deref().and_then(story::canonical_link),
                title,
            }
        })
        .collect();
    let links: Vec<&str> = stories
        .iter()
        .zip(seen_before)
        .filter(|(_, seen)| !**seen)
        .filter_map(|(s, _)| s.link.as_deref())
        .collect();
    let by_link = if links.is_empty() {
        Default::default()
    } else {
        tx.story_links(channel.id, &links).await?
    };
    let new_titles = || {
        stories
            .iter()
            .zip(seen_before)
            .filter(|(_, seen)| !**seen)
            .filter_map(|(s, _)| s.title.as_ref().map(|t| t.at))
    };
    let titles = match (new_titles().min(), new_titles().max()) {
        (Some(from), Some(to)) => {
            tx.story_titles(
                channel.id,
                from.saturating_sub(story::WINDOW_MICROS),
                to.saturating_add(story::WINDOW_MICROS),
            )
            .await?
        }
        _ => Vec::new(),
    };
    for ((item, s), seen) in items.iter_mut().zip(&stories).zip(seen_before) {
        if *seen {
            continue;
        }
        let by_title = || {
            let t = s.title.as_ref()?;
            let text = StoryText {
                title: t.title.clone(),
                lead: t.lead.clone(),
            };
            titles
                .iter()
                .filter(|c| c.guid != item.article.id)
                .filter(|c| (c.at - t.at).abs() <= story::WINDOW_MICROS)
                .find(|c| {
                    story::same_story(
                        &text,
                        &StoryText {
                            title: c.title.clone(),
                            lead: c.lead.clone(),
                        },
                    )
                })
                .map(|c| c.guid.clone())
        };
        let hit = s
            .link
            .as_ref()
            .and_then(|l| by_link.get(l).cloned())
            .or_else(by_title);
        if let Some(guid) = hit {
            item.keys.push(format!("story:{}", item.article.id));
            item.article.id = guid;
        }
    }
    Ok(stories)
}

/// Writes the items of one fetch (ids decided by [`join_stories`]): a new story is created
/// with this subscription as its first source; a story this subscription brings for the
/// first time gains it as a source and keeps its content; an item changed since this
/// subscription last brought it updates the story.
async fn import_joined(
    tx: &mut dyn WriteTx,
    subscription: &Subscription,
    channel: &Channel,
    items: &mut [KeyedArticle],
    now: i64,
) -> Result<Vec<Outcome>> {
    // The ids an item may end with: the story's, or (when that story already came through
    // this subscription) its own, kept in its `story:` key.
    let own = |k: &KeyedArticle| {
        k.keys
            .iter()
            .rev()
            .find_map(|key| key.strip_prefix("story:"))
            .map(str::to_owned)
    };
    let mut ids: Vec<&str> = items.iter().map(|i| i.article.id.as_str()).collect();
    let mut owns: Vec<Option<String>> = items.iter().map(own).collect();
    ids.extend(owns.iter().flatten().map(String::as_str));
    let mut states = tx.article_states(channel.id, &ids).await?;
    let mut outcomes = Vec::with_capacity(items.len());
    let mut changed = false;
    let count = items.len();
    // New stories go to the backend together at the end (or when an id comes again, so
    // that the later item sees the earlier one).
    let mut pending = Pending::default();
    for i in 0..count {
        // As in `upsert_in`: one batch's new articles are first seen a microsecond apart.
        let now = now + (count - 1 - i) as i64;
        let item = &mut items[i];
        // Whether the item joins a story it is not yet a source of.
        let mut joined = false;
        if let Some(own_id) = owns[i].take() {
            let already = states.stored.get(&item.article.id).is_some_and(|s| {
                s.sources
                    .iter()
                    .any(|v| v.subscription == Some(subscription.id))
            });
            if already {
                item.article.id = own_id;
            } else {
                joined = true;
            }
        }
        item.keys.retain(|k| !k.starts_with("story:"));
        if pending.ids.contains(&item.article.id) {
            pending
                .flush(tx, channel.id, items, Some(&mut states))
                .await?;
        }
        let a = &mut items[i].article;
        if states.tombstoned.contains(&a.id) {
            outcomes.push(Outcome::SkippedDeleted);
            continue;
        }
        a.sources.clear();
        let hash = content_hash(a);
        let this = via(subscription, a, Some(hash.clone()));
        let outcome = match states.stored.get_mut(&a.id) {
            None => {
                a.sources = vec![this];
                pending.ids.insert(a.id.clone());
                pending.rows.push((i, now, hash));
                Outcome::Created
            }
            Some(st) => {
                let at = st
                    .sources
                    .iter()
                    .position(|v| v.subscription == Some(subscription.id));
                let update = match at {
                    // Imported from this subscription before sources were kept: it
                    // becomes the first source, and a change is an update.
                    None if st.sources.is_empty() && !joined => {
                        st.sources.push(this);
                        st.content_hash != hash
                    }
                    None => {
                        st.sources.push(this);
                        false
                    }
                    Some(p) if st.sources[p].item_hash.as_deref() == Some(&hash) => {
                        outcomes.push(Outcome::Unchanged);
                        continue;
                    }
                    Some(p) => {
                        st.sources[p] = this;
                        true
                    }
                };
                if update {
                    let row = ArticleRow {
                        article: a,
                        sort_at: sort_at(a, st.first_seen_at),
                        content_hash: hash.clone(),
                        first_seen_at: st.first_seen_at,
                        updated_at: now,
                    };
                    tx.update_article(st.row, &row).await?;
                    st.content_hash = hash;
                }
                tx.set_sources(st.row, &st.sources).await?;
                Outcome::Updated
            }
        };
        changed = true;
        outcomes.push(outcome);
    }
    pending.flush(tx, channel.id, items, None).await?;
    if changed {
        tx.bump_channel(channel.id, now_micros()).await?;
    }
    Ok(outcomes)
}

/// New stories of one import, not written yet: (item index, first seen, digest).
#[derive(Default)]
struct Pending {
    ids: HashSet<String>,
    rows: Vec<(usize, i64, String)>,
}

impl Pending {
    /// Inserts the pending stories in one go; `states` learns their rows when given.
    async fn flush(
        &mut self,
        tx: &mut dyn WriteTx,
        channel_id: i64,
        items: &[KeyedArticle],
        states: Option<&mut crate::store::ArticleStates>,
    ) -> Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let rows: Vec<ArticleRow<'_>> = self
            .rows
            .iter()
            .map(|(i, at, hash)| {
                let a = &items[*i].article;
                ArticleRow {
                    article: a,
                    sort_at: sort_at(a, *at),
                    content_hash: hash.clone(),
                    first_seen_at: *at,
                    updated_at: *at,
                }
            })
            .collect();
        tx.insert_articles(channel_id, &rows).await?;
        if let Some(states) = states {
            let ids: Vec<&str> = self.ids.iter().map(String::as_str).collect();
            states
                .stored
                .extend(tx.article_states(channel_id, &ids).await?.stored);
        }
        self.rows.clear();
        self.ids.clear();
        Ok(())
    }
}

/// Remembers the story keys of what was imported: the canonical link of every item that
/// was written (so that any of its links finds the story again, after its deletion too),
/// and in story mode the title of every story created.
async fn record_stories(
    tx: &mut dyn WriteTx,
    channel: &Channel,
    items: &[KeyedArticle],
    outcomes: &[Outcome],
    stories: &[StoryKeys],
) -> Result<()> {
    let mut links: Vec<(&str, &str)> = Vec::new();
    for ((item, outcome), s) in items.iter().zip(outcomes).zip(stories) {
        if *outcome == Outcome::SkippedDeleted {
            continue;
        }
        if let Some(link) = &s.link {
            links.push((link, &item.article.id));
        }
        if let (Outcome::Created, Some(t)) = (outcome, &s.title) {
            let t = StoryTitle {
                guid: item.article.id.clone(),
                ..t.clone()
            };
            tx.record_story_title(channel.id, &t).await?;
        }
    }
    if !links.is_empty() {
        tx.record_story_links(channel.id, &links).await?;
    }
    Ok(())
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

    /// The digest fed as the JSON is written is the digest of the whole JSON, which is what
    /// every stored row was hashed with: an article ingested again is still unchanged. Pinned
    /// too, for an article with every field and hostile text.
    #[test]
    fn the_streamed_hash_is_the_hash_of_the_whole_json() {
        use crate::model::{Attachment, Image, Person, Source};
        let hostile = "& < > \" ' ]]> \u{1} \u{a0} é 😀 \\ /";
        let when = chrono::DateTime::parse_from_rfc3339("2025-09-16T18:30:00+02:00").unwrap();
        let person = Person {
            name: Some(hostile.into()),
            url: Some("https://e.org/p?a=1&b=2".into()),
            avatar: None,
        };
        let a = Article {
            id: hostile.into(),
            url: Some("https://e.org/a".into()),
            external_url: Some("https://e.org/x".into()),
            title: Some(hostile.into()),
            summary: Some(String::new()),
            content_html: Some(format!("<p>{}</p>", "x\u{a0}".repeat(5000))),
            content_text: Some(hostile.repeat(100)),
            image: Some(Image {
                url: "https://e.org/i.jpg".into(),
                caption: Some(hostile.into()),
                credit: None,
            }),
            banner_image: None,
            date_published: Some(when),
            date_modified: Some(when),
            authors: vec![person.clone(), Person::default()],
            contributors: vec![person],
            tags: vec![hostile.into(), String::new()],
            language: Some("fr".into()),
            attachments: vec![Attachment {
                url: "https://e.org/a.mp3".into(),
                mime_type: "audio/mpeg".into(),
                title: Some(hostile.into()),
                size_in_bytes: Some(u64::MAX),
                duration_in_seconds: Some(90),
            }],
            source: Some(Source {
                title: Some(hostile.into()),
                url: "https://e.org/feed".into(),
            }),
            sources: Vec::new(),
        };
        for a in [a, Article::default()] {
            let whole = hex::encode(Sha256::digest(serde_json::to_vec(&a).unwrap()));
            assert_eq!(content_hash(&a), whole);
        }
        assert_eq!(
            content_hash(&Article::default()),
            "a025911b843569ebdcfc542fd7825f4a7cf1d1433cfbd383ea594cf41c932e48"
        );
    }
}
