//! Rendered feeds, kept in memory. A feed is rendered (and compressed with gzip and brotli)
//! once per change of its channel, keyed on the channel's version, and then served as bytes:
//! a request for an unchanged feed costs one indexed read of the channel row.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::formats::{self, FeedDoc, FeedFormat};
use crate::model::Channel;
use crate::store::{DynStore, StoreError};

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 500;
/// Past this many cached renders the cache starts afresh.
const MAX_ENTRIES: usize = 512;

pub struct Rendered {
    pub version: i64,
    pub body: Bytes,
    pub gzip: Bytes,
    pub brotli: Bytes,
    /// A weak validator: the three encodings are the same feed.
    pub etag: String,
    /// Seconds since the epoch of the channel's last change.
    pub modified: i64,
}

type Key = (i64, FeedFormat, u32);

#[derive(Default)]
pub struct FeedCache {
    entries: Mutex<HashMap<Key, Arc<Rendered>>>,
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

impl FeedCache {
    /// The feed as it is now, rendered only when the channel changed since the last render.
    pub async fn get(
        &self,
        store: &DynStore,
        channel: &Channel,
        format: FeedFormat,
        limit: u32,
        base_url: &str,
    ) -> Result<Arc<Rendered>, StoreError> {
        let key = (channel.id, format, limit);
        let cached = self.entries.lock().expect("lock").get(&key).cloned();
        if let Some(hit) = cached.filter(|hit| hit.version == channel.version) {
            return Ok(hit);
        }
        let articles = store.articles(channel, limit, None).await?;
        let channel = channel.clone();
        let base_url = base_url.to_owned();
        let rendered = tokio::task::spawn_blocking(move || {
            let doc = FeedDoc {
                channel: &channel,
                articles: &articles,
                base_url: &base_url,
            };
            let body = formats::render(format, &doc);
            let digest = Sha256::digest(&body);
            Rendered {
                version: channel.version,
                etag: format!("W/\"{}\"", hex::encode(&digest[..12])),
                modified: channel.updated_at.timestamp(),
                gzip: gzip(&body),
                brotli: brotli(&body),
                body: body.into(),
            }
        })
        .await
        .expect("render task panicked");
        let rendered = Arc::new(rendered);
        let mut entries = self.entries.lock().expect("lock");
        // Renders of older versions of this channel will never be served again.
        entries.retain(|k, r| k.0 != key.0 || r.version >= rendered.version);
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        // A slower render of an older version must not replace a newer one.
        let newer = entries
            .get(&key)
            .is_some_and(|r| r.version > rendered.version);
        if !newer {
            entries.insert(key, rendered.clone());
        }
        Ok(rendered)
    }
}
