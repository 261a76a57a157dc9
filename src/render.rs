//! Rendered feeds, kept in memory. A feed is rendered once per change of its channel, keyed
//! on the channel's version, and then served as bytes: a request for an unchanged feed costs
//! one indexed read of the channel row. Its gzip and brotli forms are made on first demand and
//! kept beside it.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
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

fn gzip(data: &[u8]) -> Bytes {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(data).expect("in-memory write");
    enc.finish().expect("in-memory write").into()
}

fn brotli(data: &[u8]) -> Bytes {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 9,
        lgwin: 22,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &data[..], &mut out, &params).expect("in-memory write");
    out.into()
}

/// A render's key: channel, format, and the page (limit, cursor, tag).
type Key = (i64, FeedFormat, Page);

#[derive(Default)]
pub struct FeedCache {
    /// Each render with the order it was made in, for eviction.
    entries: Mutex<HashMap<Key, (Arc<Rendered>, u64)>>,
    made: std::sync::atomic::AtomicU64,
}

impl FeedCache {
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
        let cached = self.entries.lock().expect("lock").get(&key).cloned();
        if let Some((hit, _)) = cached.filter(|(hit, _)| hit.version == channel.version) {
            return Ok(hit);
        }
        let paged = load_page(store, channel, page).await?;
        let channel = channel.clone();
        let base_url = base_url.to_owned();
        let page = page.clone();
        let rendered = tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            let body = formats::render(format, &paged.doc(&channel, &page, &base_url));
            Metrics::observe(
                &METRICS.render_seconds,
                Metrics::format(format.file_name()),
                started.elapsed(),
            );
            let digest = Sha256::digest(&body);
            Rendered {
                version: channel.version,
                etag: format!("W/\"{}\"", hex::encode(&digest[..12])),
                modified: channel.updated_at.timestamp(),
                body: body.into(),
                gzip: OnceLock::new(),
                brotli: OnceLock::new(),
            }
        })
        .await
        .expect("render task panicked");
        let rendered = Arc::new(rendered);
        let seq = self.made.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut entries = self.entries.lock().expect("lock");
        // Renders of older versions of this channel will never be served again.
        entries.retain(|k, (r, _)| k.0 != key.0 || r.version >= rendered.version);
        // A slower render of an older version must not replace a newer one.
        if entries
            .get(&key)
            .is_some_and(|(r, _)| r.version > rendered.version)
        {
            return Ok(rendered);
        }
        let mine: Vec<(Key, u64)> = entries
            .iter()
            .filter(|(k, _)| k.0 == key.0 && **k != key)
            .map(|(k, (_, s))| (k.clone(), *s))
            .collect();
        if let Some((oldest, _)) = mine
            .iter()
            .min_by_key(|(_, s)| *s)
            .filter(|_| mine.len() >= PER_CHANNEL)
        {
            entries.remove(oldest);
        }
        entries.insert(key, (rendered.clone(), seq));
        Ok(rendered)
    }

    /// Drops every render of a channel (it was deleted).
    pub fn forget(&self, channel_id: i64) {
        self.entries
            .lock()
            .expect("lock")
            .retain(|k, _| k.0 != channel_id);
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
