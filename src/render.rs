//! Rendered feeds, kept in memory. A feed is rendered once per change of its channel, keyed
//! on the channel's version, and then served as bytes: a request for an unchanged feed costs
//! one indexed read of the channel row. Its gzip and brotli forms are made on first demand and
//! kept beside it.
//!
//! The cache has a byte budget (`SYNDIC_RENDER_CACHE_BYTES`) over bodies and compressed forms
//! together: past it the least recently served renders go first. The recency list is
//! hashlink's `LinkedHashMap` (already in the build through sqlx), not a bounded-entry LRU
//! crate: a render grows after it is cached, when a client first asks for gzip or brotli, so
//! its weight is charged again then, which caches that weigh an entry once on insert
//! (`lru`, `quick_cache`, `moka`) would need a remove and re-insert for.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use hashlink::LinkedHashMap;
use sha2::{Digest, Sha256};

use crate::formats::{self, FeedDoc, FeedFormat};
use crate::metrics::{METRICS, Metrics};
use crate::model::{Channel, Cursor, Page, StoredArticle};
use crate::store::{DynStore, StoreError};

pub use crate::model::{DEFAULT_LIMIT, MAX_LIMIT};
/// Renders kept per channel (formats times `?limit=` values); past it the oldest goes, so
/// cycling through limits cannot grow the cache.
const PER_CHANNEL: usize = 8;

/// A content coding the feeds are served in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Brotli,
    Gzip,
    Identity,
}

/// Which of a render's compressed forms to fill.
type Cell = fn(&Rendered) -> &OnceLock<Bytes>;

pub struct Rendered {
    /// Where the render lives in the cache.
    key: Key,
    pub version: i64,
    pub body: Bytes,
    /// A weak validator: the encodings are the same feed.
    pub etag: String,
    /// Seconds since the epoch of the channel's last change.
    pub modified: i64,
    gzip: OnceLock<Bytes>,
    brotli: OnceLock<Bytes>,
}

impl Rendered {
    /// The bytes this render holds now, compressed forms included, plus a fixed allowance for
    /// its key, validators and the cache's bookkeeping.
    pub fn bytes(&self) -> usize {
        const BOOKKEEPING: usize = 256;
        BOOKKEEPING
            + self.key.2.tag.as_ref().map_or(0, String::len)
            + self.etag.len()
            + self.body.len()
            + self.gzip.get().map_or(0, Bytes::len)
            + self.brotli.get().map_or(0, Bytes::len)
    }

    /// The body in the given coding if it is made already (the identity body always is);
    /// the bytes are shared, not copied.
    pub fn encoded_now(&self, encoding: Encoding) -> Option<Bytes> {
        match encoding {
            Encoding::Identity => Some(self.body.clone()),
            Encoding::Gzip => self.gzip.get().cloned(),
            Encoding::Brotli => self.brotli.get().cloned(),
        }
    }

    /// The body in the given coding, compressing it (once, off the async threads) if needed.
    pub async fn encoded(self: &Arc<Self>, encoding: Encoding) -> Bytes {
        let (cell, compress): (Cell, fn(&[u8]) -> Bytes) = match encoding {
            Encoding::Identity => return self.body.clone(),
            Encoding::Gzip => (|r| &r.gzip, gzip),
            Encoding::Brotli => (|r| &r.brotli, brotli),
        };
        if let Some(done) = cell(self).get() {
            return done.clone();
        }
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            cell(&this).get_or_init(|| compress(&this.body)).clone()
        })
        .await
        .expect("compression task panicked")
    }
}

/// Bytes that hold no spare capacity: a `Vec` grown by doubling would otherwise keep up to
/// twice its length alive in the cache, unseen by the budget.
fn exact(v: Vec<u8>) -> Bytes {
    Bytes::from(v.into_boxed_slice())
}

fn gzip(data: &[u8]) -> Bytes {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(data).expect("in-memory write");
    exact(enc.finish().expect("in-memory write"))
}

fn brotli(data: &[u8]) -> Bytes {
    let mut out = Vec::new();
    // A window no larger than the body compresses it the same as the 4 MiB one (22) and
    // allocates a fraction of its ring buffer; the size hint sizes the hash tables likewise.
    // Those buffers are what an allocator keeps after thousands of compressions.
    let lgwin = (usize::BITS - data.len().leading_zeros()).clamp(16, 22) as i32;
    let params = brotli::enc::BrotliEncoderParams {
        quality: 9,
        lgwin,
        size_hint: data.len(),
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &data[..], &mut out, &params).expect("in-memory write");
    exact(out)
}

/// A render's key: channel, format, and the page (limit, cursor, tag).
type Key = (i64, FeedFormat, Page);

/// A cached render and what the cache knows of it.
struct Entry {
    rendered: Arc<Rendered>,
    /// When it was made (a sequence number): the per-channel cap drops the oldest.
    made: u64,
    /// The bytes counted for it in [`Inner::bytes`].
    charged: usize,
}

#[derive(Default)]
struct Inner {
    /// Every render, least recently served first.
    recency: LinkedHashMap<Key, Entry>,
    /// The keys of each channel's renders (at most [`PER_CHANNEL`]).
    by_channel: HashMap<i64, Vec<Key>>,
    /// The sum of the entries' `charged`.
    bytes: usize,
    made: u64,
}

impl Inner {
    fn remove(&mut self, key: &Key) -> Option<Entry> {
        let entry = self.recency.remove(key)?;
        self.bytes -= entry.charged;
        if let Some(keys) = self.by_channel.get_mut(&key.0) {
            keys.retain(|k| k != key);
            if keys.is_empty() {
                self.by_channel.remove(&key.0);
            }
        }
        Some(entry)
    }

    /// Drops the least recently served renders until the total is within `budget`.
    fn evict(&mut self, budget: usize) {
        while self.bytes > budget {
            let Some(key) = self.recency.front().map(|(k, _)| k.clone()) else {
                break;
            };
            self.remove(&key);
            METRICS.render_cache_evictions.inc();
        }
        METRICS.render_cache_bytes.set(self.bytes as i64);
    }
}

/// The renders, under a byte budget.
pub struct FeedCache {
    inner: Mutex<Inner>,
    budget: usize,
}

impl Default for FeedCache {
    fn default() -> FeedCache {
        FeedCache::new(crate::config::DEFAULT_RENDER_CACHE_BYTES)
    }
}

impl FeedCache {
    /// A cache that holds at most `budget` bytes of renders.
    pub fn new(budget: usize) -> FeedCache {
        FeedCache {
            inner: Mutex::default(),
            budget,
        }
    }

    /// The bytes held now.
    pub fn bytes(&self) -> usize {
        self.inner.lock().expect("lock").bytes
    }

    /// The feed as it is now, rendered only when the channel changed since the last render.
    pub async fn get(
        &self,
        store: &DynStore,
        channel: &Channel,
        format: FeedFormat,
        page: &Page,
        base_url: &str,
    ) -> Result<Arc<Rendered>, StoreError> {
        let key = (channel.id, format, page.clone());
        if let Some(hit) = self
            .lookup(&key)
            .filter(|hit| hit.version == channel.version)
        {
            return Ok(hit);
        }
        let paged = load_page(store, channel, page).await?;
        let channel = channel.clone();
        let base_url = base_url.to_owned();
        let for_render = key.clone();
        let rendered = tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            let page = &for_render.2;
            let body = formats::render(format, &paged.doc(&channel, page, &base_url));
            Metrics::observe(
                &METRICS.render_seconds,
                Metrics::format(format.file_name()),
                started.elapsed(),
            );
            let digest = Sha256::digest(&body);
            Rendered {
                key: for_render,
                version: channel.version,
                etag: format!("W/\"{}\"", hex::encode(&digest[..12])),
                modified: channel.updated_at.timestamp(),
                body: exact(body),
                gzip: OnceLock::new(),
                brotli: OnceLock::new(),
            }
        })
        .await
        .expect("render task panicked");
        let rendered = Arc::new(rendered);
        self.insert(key, rendered.clone());
        Ok(rendered)
    }

    /// The feed as [`FeedCache::get`] would give it, if that needs no reading and no
    /// rendering: the render of this version of the channel is cached.
    pub fn cached(
        &self,
        channel: &Channel,
        format: FeedFormat,
        page: &Page,
    ) -> Option<Arc<Rendered>> {
        self.lookup(&(channel.id, format, page.clone()))
            .filter(|hit| hit.version == channel.version)
    }

    /// The render under `key`, if any, marked as the most recently served.
    fn lookup(&self, key: &Key) -> Option<Arc<Rendered>> {
        self.inner
            .lock()
            .expect("lock")
            .recency
            .to_back(key)
            .map(|e| e.rendered.clone())
    }

    fn insert(&self, key: Key, rendered: Arc<Rendered>) {
        let mut inner = self.inner.lock().expect("lock");
        // Renders of older versions of this channel will never be served again.
        let stale: Vec<Key> = inner
            .by_channel
            .get(&key.0)
            .into_iter()
            .flatten()
            .filter(|k| {
                inner
                    .recency
                    .get(*k)
                    .is_some_and(|e| e.rendered.version < rendered.version)
            })
            .cloned()
            .collect();
        for k in &stale {
            inner.remove(k);
        }
        // A slower render of an older version must not replace a newer one.
        if inner
            .recency
            .get(&key)
            .is_some_and(|e| e.rendered.version > rendered.version)
        {
            return;
        }
        inner.remove(&key);
        let others = inner.by_channel.get(&key.0).map_or(0, Vec::len);
        if others >= PER_CHANNEL {
            let oldest = inner.by_channel[&key.0]
                .iter()
                .min_by_key(|k| inner.recency.get(*k).map_or(0, |e| e.made))
                .cloned();
            if let Some(oldest) = oldest {
                inner.remove(&oldest);
            }
        }
        inner.made += 1;
        let charged = rendered.bytes();
        let made = inner.made;
        inner.bytes += charged;
        inner.by_channel.entry(key.0).or_default().push(key.clone());
        inner.recency.insert(
            key,
            Entry {
                rendered,
                made,
                charged,
            },
        );
        inner.evict(self.budget);
    }

    /// The render's body in the given coding (see [`Rendered::encoded`]); a compressed form
    /// made now is charged to the budget.
    pub async fn encoded(&self, rendered: &Arc<Rendered>, encoding: Encoding) -> Bytes {
        let before = rendered.bytes();
        let body = rendered.encoded(encoding).await;
        if rendered.bytes() != before {
            let mut inner = self.inner.lock().expect("lock");
            let inner = &mut *inner;
            if let Some(e) = inner.recency.get_mut(&rendered.key)
                && Arc::ptr_eq(&e.rendered, rendered)
            {
                let now = rendered.bytes();
                inner.bytes = inner.bytes - e.charged + now;
                e.charged = now;
                inner.evict(self.budget);
            }
        }
        body
    }

    /// Drops every render of a channel (it was deleted).
    pub fn forget(&self, channel_id: i64) {
        let mut inner = self.inner.lock().expect("lock");
        for k in inner
            .by_channel
            .get(&channel_id)
            .cloned()
            .unwrap_or_default()
        {
            inner.remove(&k);
        }
        METRICS.render_cache_bytes.set(inner.bytes as i64);
    }
}

/// One page of a channel's articles, with where its neighbours start.
pub struct LoadedPage {
    pub articles: Vec<StoredArticle>,
    pub next: Option<Cursor>,
    pub previous: Option<Option<Cursor>>,
}

impl LoadedPage {
    pub fn doc<'a>(
        &'a self,
        channel: &'a Channel,
        page: &'a Page,
        base_url: &'a str,
    ) -> FeedDoc<'a> {
        FeedDoc {
            channel,
            articles: &self.articles,
            base_url,
            page,
            next: self.next,
            previous: self.previous,
        }
    }
}

/// Reads one page and works out its neighbours. Pages are keyset ranges, so a page's URL
/// always shows the same articles: `next` starts after this page's last article, and
/// `previous` is the page whose `next` is this one.
pub async fn load_page(
    store: &DynStore,
    channel: &Channel,
    page: &Page,
) -> Result<LoadedPage, StoreError> {
    let one_more = Page {
        limit: page.limit + 1,
        ..page.clone()
    };
    let mut articles = store.page(channel, &one_more).await?;
    let next = if articles.len() > page.limit as usize {
        articles.truncate(page.limit as usize);
        articles.last().map(|a| a.cursor)
    } else {
        None
    };
    let previous = match page.before {
        None => None,
        Some(from) => {
            let newer = store
                .newer(channel, from, page.limit + 1, page.tag.as_deref())
                .await?;
            Some(newer.get(page.limit as usize).copied())
        }
    };
    Ok(LoadedPage {
        articles,
        next,
        previous,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(channel: i64, format: FeedFormat) -> Key {
        let page = Page {
            limit: DEFAULT_LIMIT,
            before: None,
            tag: None,
        };
        (channel, format, page)
    }

    fn rendered(key: &Key, version: i64, size: usize) -> Arc<Rendered> {
        Arc::new(Rendered {
            key: key.clone(),
            version,
            body: Bytes::from(vec![b'x'; size]),
            etag: "W/\"0\"".into(),
            modified: 0,
            gzip: OnceLock::new(),
            brotli: OnceLock::new(),
        })
    }

    #[test]
    fn past_the_budget_the_least_recently_served_render_goes_first() {
        let (a, b, c, d) = (
            key(1, FeedFormat::Rss),
            key(2, FeedFormat::Rss),
            key(3, FeedFormat::Atom),
            key(4, FeedFormat::Json),
        );
        let one = rendered(&a, 1, 1000).bytes();
        let cache = FeedCache::new(3 * one);
        for k in [&a, &b, &c] {
            cache.insert(k.clone(), rendered(k, 1, 1000));
        }
        assert_eq!(cache.bytes(), 3 * one);
        assert!(cache.lookup(&a).is_some(), "a is now the most recent");
        cache.insert(d.clone(), rendered(&d, 1, 1000));
        assert!(
            cache.lookup(&b).is_none(),
            "b was the least recently served"
        );
        for k in [&a, &c, &d] {
            assert!(cache.lookup(k).is_some());
        }
        assert_eq!(cache.bytes(), 3 * one);
    }

    #[test]
    fn a_newer_version_replaces_every_render_of_its_channel() {
        let (rss, atom) = (key(1, FeedFormat::Rss), key(1, FeedFormat::Atom));
        let cache = FeedCache::new(usize::MAX);
        cache.insert(rss.clone(), rendered(&rss, 1, 10));
        cache.insert(atom.clone(), rendered(&atom, 1, 10));
        let newer = rendered(&rss, 2, 10);
        cache.insert(rss.clone(), newer.clone());
        assert!(
            cache.lookup(&atom).is_none(),
            "version 1 is never served again"
        );
        // A slow render of version 1 arriving late does not replace version 2.
        cache.insert(rss.clone(), rendered(&rss, 1, 10));
        assert_eq!(cache.lookup(&rss).unwrap().version, 2);
        assert_eq!(cache.bytes(), newer.bytes());
        cache.forget(1);
        assert_eq!(cache.bytes(), 0);
    }

    #[tokio::test]
    async fn a_compressed_form_is_charged_when_it_is_made() {
        let k = key(1, FeedFormat::Rss);
        let r = rendered(&k, 1, 100_000);
        let cache = FeedCache::new(usize::MAX);
        cache.insert(k.clone(), r.clone());
        let before = cache.bytes();
        let gz = cache.encoded(&r, Encoding::Gzip).await;
        let br = cache.encoded(&r, Encoding::Brotli).await;
        assert_eq!(cache.bytes(), before + gz.len() + br.len());
        // And a budget that cannot hold it any more drops it.
        let small = FeedCache::new(before);
        let r = rendered(&k, 1, 100_000);
        small.insert(k.clone(), r.clone());
        small.encoded(&r, Encoding::Gzip).await;
        assert!(small.lookup(&k).is_none());
        assert_eq!(small.bytes(), 0);
    }
}
