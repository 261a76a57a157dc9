//! Rows to model values and model values to column values, once for both backends. The two
//! schemas store the same things the same way (times as microseconds since the epoch in a
//! 64-bit integer, dates as RFC 3339 text, lists as JSON text), so a backend only says how to
//! read a text, an integer or a flag from its row type (`Fields`) and every mapping here serves
//! both. The SQL itself (placeholders, list binding, locking) stays in each backend.

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use std::time::Duration;

use super::{Result, StoreError};
use crate::model::{
    Article, Channel, Cursor, Dedupe, HubSubscription, Image, Slug, Source, StoredArticle,
    Subscription,
};

/// What a backend's row type offers the mappings: a column read as one of the three kinds of
/// value the schemas use, NULL as `None`.
pub(crate) trait Fields {
    fn text(&self, column: &str) -> Result<Option<String>>;
    fn int(&self, column: &str) -> Result<Option<i64>>;
    fn flag(&self, column: &str) -> Result<Option<bool>>;

    /// A column as the type the mapping asks for; a NULL where a value is required is a
    /// corrupt row, named.
    fn get<T: Column>(&self, column: &str) -> Result<T>
    where
        Self: Sized,
    {
        T::read(self, column)
    }
}

/// A Rust type a column can be read as (see `Fields::get`).
pub(crate) trait Column: Sized {
    fn read(row: &impl Fields, column: &str) -> Result<Self>;
}

fn required<T>(value: Option<T>, column: &str) -> Result<T> {
    value.ok_or_else(|| StoreError::Corrupt(format!("column {column} is NULL")))
}

impl Column for Option<String> {
    fn read(row: &impl Fields, column: &str) -> Result<Self> {
        row.text(column)
    }
}

impl Column for String {
    fn read(row: &impl Fields, column: &str) -> Result<Self> {
        required(row.text(column)?, column)
    }
}

impl Column for Option<i64> {
    fn read(row: &impl Fields, column: &str) -> Result<Self> {
        row.int(column)
    }
}

impl Column for i64 {
    fn read(row: &impl Fields, column: &str) -> Result<Self> {
        required(row.int(column)?, column)
    }
}

impl Column for bool {
    fn read(row: &impl Fields, column: &str) -> Result<Self> {
        required(row.flag(column)?, column)
    }
}

/// Implements `Fields` for a sqlx row type through `Row::try_get`.
macro_rules! fields_of {
    ($row:ty) => {
        impl $crate::store::mapping::Fields for $row {
            fn text(&self, column: &str) -> $crate::store::Result<Option<String>> {
                Ok(sqlx::Row::try_get(self, column)?)
            }
            fn int(&self, column: &str) -> $crate::store::Result<Option<i64>> {
                Ok(sqlx::Row::try_get(self, column)?)
            }
            fn flag(&self, column: &str) -> $crate::store::Result<Option<bool>> {
                Ok(sqlx::Row::try_get(self, column)?)
            }
        }
    };
}

fields_of!(sqlx::sqlite::SqliteRow);
fields_of!(sqlx::postgres::PgRow);

/// A stored time (microseconds since the epoch) as a date; out of range reads as the epoch.
pub(crate) fn micros_to_utc(us: i64) -> DateTime<Utc> {
    Utc.timestamp_micros(us).single().unwrap_or_default()
}

/// A count stored as a signed integer, clamped into `u32`.
fn count(n: i64) -> u32 {
    n.clamp(0, u32::MAX as i64) as u32
}

fn parse_date(s: Option<String>) -> Result<Option<DateTime<FixedOffset>>> {
    s.map(|s| {
        DateTime::parse_from_rfc3339(&s)
            .map_err(|e| StoreError::Corrupt(format!("date {s:?}: {e}")))
    })
    .transpose()
}

/// A JSON list or object column read back into its model type.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("JSON column: {e}")))
}

/// A model list or object as the JSON text its column holds.
pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("model types serialize")
}

/// A date as the RFC 3339 text its column holds (the offset the article gave is kept).
pub(crate) fn rfc3339(d: &Option<DateTime<FixedOffset>>) -> Option<String> {
    d.map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
}

pub(crate) fn channel(row: &impl Fields) -> Result<Channel> {
    let slug: String = row.get("slug")?;
    Ok(Channel {
        id: row.get("id")?,
        slug: Slug::parse(&slug).map_err(StoreError::Corrupt)?,
        title: row.get("title")?,
        description: row.get("description")?,
        link: row.get("link")?,
        language: row.get("language")?,
        created_at: micros_to_utc(row.get("created_at")?),
        updated_at: micros_to_utc(row.get("updated_at")?),
        version: row.get("version")?,
        retain_max_articles: row.get::<Option<i64>>("retain_max_articles")?.map(count),
        retain_days: row.get::<Option<i64>>("retain_days")?.map(count),
        dedupe: Dedupe::parse(&row.get::<String>("dedupe")?).map_err(StoreError::Corrupt)?,
    })
}

pub(crate) fn article(row: &impl Fields) -> Result<StoredArticle> {
    let image_url: Option<String> = row.get("image_url")?;
    let source_url: Option<String> = row.get("source_url")?;
    let article = Article {
        id: row.get("guid")?,
        url: row.get("url")?,
        external_url: row.get("external_url")?,
        title: row.get("title")?,
        summary: row.get("summary")?,
        content_html: row.get("content_html")?,
        content_text: row.get("content_text")?,
        image: match image_url {
            Some(url) => Some(Image {
                url,
                caption: row.get("image_caption")?,
                credit: row.get("image_credit")?,
            }),
            None => None,
        },
        banner_image: row.get("banner_image")?,
        date_published: parse_date(row.get("date_published")?)?,
        date_modified: parse_date(row.get("date_modified")?)?,
        authors: parse_json(&row.get::<String>("authors")?)?,
        contributors: parse_json(&row.get::<String>("contributors")?)?,
        tags: parse_json(&row.get::<String>("tags")?)?,
        language: row.get("language")?,
        attachments: parse_json(&row.get::<String>("attachments")?)?,
        source: match source_url {
            Some(url) => Some(Source {
                title: row.get("source_title")?,
                url,
            }),
            None => None,
        },
        sources: parse_json(&row.get::<String>("sources")?)?,
    };
    Ok(StoredArticle {
        article,
        first_seen_at: micros_to_utc(row.get("first_seen_at")?),
        cursor: Cursor {
            sort_at: row.get("sort_at")?,
            row: row.get("id")?,
        },
    })
}

/// A subscription row joined with its channel's slug (column `slug`).
pub(crate) fn subscription(row: &impl Fields) -> Result<Subscription> {
    let slug: String = row.get("slug")?;
    let interval: i64 = row.get("interval_secs")?;
    Ok(Subscription {
        id: row.get("id")?,
        channel_id: row.get("channel_id")?,
        channel: Slug::parse(&slug).map_err(StoreError::Corrupt)?,
        url: row.get("url")?,
        original_url: row.get("original_url")?,
        title: row.get("title")?,
        site_url: row.get("site_url")?,
        interval: Duration::from_secs(interval.max(0) as u64),
        enabled: row.get("enabled")?,
        disabled_reason: row.get("disabled_reason")?,
        etag: row.get("etag")?,
        last_modified: row.get("last_modified")?,
        body_hash: row.get("body_hash")?,
        last_fetch_at: row.get::<Option<i64>>("last_fetch_at")?.map(micros_to_utc),
        next_fetch_at: micros_to_utc(row.get("next_fetch_at")?),
        last_status: row.get("last_status")?,
        error_count: count(row.get("error_count")?),
        last_error: row.get("last_error")?,
        items_imported: row.get("items_imported")?,
        created_at: micros_to_utc(row.get("created_at")?),
        websub_hub: row.get("websub_hub")?,
        websub_topic: row.get("websub_topic")?,
        websub_secret: row.get("websub_secret")?,
        websub_requested_at: row
            .get::<Option<i64>>("websub_requested_at")?
            .map(micros_to_utc),
        websub_token: row.get("websub_token")?,
        websub_pending: row.get("websub_pending")?,
        websub_expires_at: row
            .get::<Option<i64>>("websub_expires_at")?
            .map(micros_to_utc),
        full_content: row.get("full_content")?,
    })
}

pub(crate) fn hub_subscription(row: &impl Fields) -> Result<HubSubscription> {
    Ok(HubSubscription {
        id: row.get("id")?,
        channel_id: row.get("channel_id")?,
        topic: row.get("topic")?,
        format: row.get("format")?,
        callback: row.get("callback")?,
        secret: row.get("secret")?,
        lease_seconds: row.get("lease_seconds")?,
        expires_at: micros_to_utc(row.get("expires_at")?),
        delivered_version: row.get("delivered_version")?,
        attempts: count(row.get("attempts")?),
        next_attempt_at: micros_to_utc(row.get("next_attempt_at")?),
        last_error: row.get("last_error")?,
    })
}
