//! The one ingest pipeline. Every input (HTTP API, CLI, and later the poller and WebSub) is
//! parsed by `formats` into [`Draft`]s, which come here to be validated and normalized into
//! [`Article`]s and written to the store in one transaction: a batch is all or nothing.

pub mod cancel;
pub mod caps;
pub mod nesting;
pub mod normalize;
pub mod screen;

use serde::Serialize;
use url::Url;

use self::cancel::{Cancel, Cancelled};
use crate::catalog::{self, Outcome, Tombstones};
pub use crate::draft::{DateText, Draft, ItemError};
use crate::formats::{self, InputKind, ParseError};
use crate::model::{Article, Attachment, Channel, Image, Person, Source};
use crate::store::{DynStore, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error(transparent)]
    Invalid(#[from] ItemError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The request went away (timed out, or its client disconnected) before the work was
    /// done; nothing was written. Nobody is there to read this error: it ends the blocking
    /// work early.
    #[error(transparent)]
    Cancelled(#[from] Cancelled),
}

/// What an ingest did, item by item.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Report {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Items whose article was deleted before: the tombstone keeps them out.
    pub skipped_deleted: usize,
    pub items: Vec<ReportItem>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReportItem {
    pub id: String,
    pub outcome: Outcome,
}

impl Report {
    /// Counts the outcomes in the process's metrics.
    pub fn record(&self) {
        use crate::metrics::{METRICS, Metrics};
        let m = &METRICS.articles_ingested;
        for (name, n) in [
            ("created", self.created),
            ("updated", self.updated),
            ("unchanged", self.unchanged),
            ("skipped_deleted", self.skipped_deleted),
        ] {
            if n > 0 {
                Metrics::count(m, name, n as u64);
            }
        }
    }

    pub fn new(articles: &[Article], outcomes: Vec<Outcome>) -> Report {
        let mut r = Report::default();
        for (a, outcome) in articles.iter().zip(outcomes) {
            match outcome {
                Outcome::Created => r.created += 1,
                Outcome::Updated => r.updated += 1,
                Outcome::Unchanged => r.unchanged += 1,
                Outcome::SkippedDeleted => r.skipped_deleted += 1,
            }
            r.items.push(ReportItem {
                id: a.id.clone(),
                outcome,
            });
        }
        r.record();
        r
    }
}

/// Items prepared per part of a batch: the next part is prepared (on the blocking pool, on
/// both cores) while this one is written, so writing no longer waits for the whole batch to
/// be prepared, nor preparing for the write.
const PART: usize = 64;

/// What the preparing side hands the writing side: the batch's size once it is parsed, then
/// its articles part by part.
enum Prepared {
    Total(usize),
    /// Articles with their content hashes, computed on the preparing side too.
    Part(Vec<Article>, Vec<String>),
}

/// Parses a request or file body and ingests every item in it, all or nothing. Items are
/// prepared in parts of [`PART`], each written (in the batch's one transaction) while the next
/// is prepared; an invalid item drops the transaction, so nothing is written. When the future
/// is dropped unfinished (the request timed out, the client went away), the parsing and
/// preparing on the blocking thread stop at the next item (see [`cancel`]) and nothing is
/// written.
pub async fn ingest_body(
    store: &DynStore,
    channel: &Channel,
    kind: InputKind,
    body: impl Into<bytes::Bytes>,
) -> Result<Report, IngestError> {
    // Parsing and preparing are CPU work: off the async workers, so that a big batch does
    // not hold up the requests that share a worker with it. The body is moved there, not
    // copied (a request's `Bytes` as it came, a file's `Vec` as it was read).
    let body: bytes::Bytes = body.into();
    let for_prepare = channel.clone();
    let cancel = Cancel::default();
    let guard = cancel.on_drop();
    let (parts, mut ready) = tokio::sync::mpsc::channel(1);
    let preparing = tokio::task::spawn_blocking(move || {
        prepare_body(kind, &body, &for_prepare, &cancel, |p| {
            parts.blocking_send(p).is_ok()
        })
    });
    let written = write_parts(store, channel, &mut ready).await;
    // The preparing side's error (a parse error, an invalid item) comes first: it is why the
    // parts stopped coming. Dropping the receiver first stops it if the writing failed.
    drop(ready);
    let prepared = preparing
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    guard.disarm();
    prepared?;
    let (articles, outcomes, batch) = written?;
    if let Some(batch) = batch {
        batch.commit().await?;
    }
    Ok(Report::new(&articles, outcomes))
}

/// The writing side of [`ingest_body`]: each part upserted as it comes, in one transaction
/// opened with the first, left uncommitted.
async fn write_parts(
    store: &DynStore,
    channel: &Channel,
    ready: &mut tokio::sync::mpsc::Receiver<Prepared>,
) -> Result<(Vec<Article>, Vec<Outcome>, Option<catalog::BatchWrite>), IngestError> {
    let (mut articles, mut outcomes, mut batch) = (Vec::new(), Vec::new(), None);
    let mut total = 0;
    while let Some(p) = ready.recv().await {
        match p {
            Prepared::Total(n) => {
                total = n;
                articles.reserve(n);
            }
            Prepared::Part(part, hashes) => {
                let open = match batch.take() {
                    Some(b) => b,
                    None => {
                        catalog::BatchWrite::begin(store, channel, total, Tombstones::Respect)
                            .await?
                    }
                };
                let open = batch.insert(open);
                outcomes.extend(open.write(&part, hashes).await?);
                articles.extend(part);
            }
        }
    }
    Ok((articles, outcomes, batch))
}

/// The blocking part of [`ingest_body`]: parse, then prepare part by part, handing each to
/// `hand` (false when nobody takes it any more), looking at `cancel` between the two and
/// before each item. A stop is counted (`syndic_ingests_cancelled_total`) and logged, since
/// no response will say it.
fn prepare_body(
    kind: InputKind,
    body: &[u8],
    channel: &Channel,
    cancel: &Cancel,
    mut hand: impl FnMut(Prepared) -> bool,
) -> Result<(), IngestError> {
    use crate::metrics::METRICS;
    METRICS.ingests_in_progress.inc();
    // Decremented however this ends, a panic included.
    struct Done;
    impl Drop for Done {
        fn drop(&mut self) {
            METRICS.ingests_in_progress.dec();
        }
    }
    let _done = Done;
    let mut run = || -> Result<(), IngestError> {
        cancel.check()?;
        let drafts = formats::parse(kind, body)?;
        cancel.check()?;
        // A refused hand-over means the writing side stopped: on a store error, which it
        // reports, or because the request went away, which `cancel` says.
        if !hand(Prepared::Total(drafts.len())) {
            return cancel.check().map_err(Into::into);
        }
        let mut drafts = drafts.into_iter();
        let mut first = 0;
        loop {
            let part: Vec<Draft> = drafts.by_ref().take(PART).collect();
            if part.is_empty() {
                return Ok(());
            }
            let n = part.len();
            let articles = prepare_until(part, channel, cancel)?.map_err(|mut e| {
                e.index += first;
                e
            })?;
            first += n;
            let hashes = {
                use rayon::prelude::*;
                articles.par_iter().map(catalog::content_hash).collect()
            };
            if !hand(Prepared::Part(articles, hashes)) {
                return cancel.check().map_err(Into::into);
            }
        }
    };
    let result = run();
    if let Err(IngestError::Cancelled(_)) = &result {
        METRICS.ingests_cancelled.inc();
        tracing::info!(
            channel = %channel.slug,
            bytes = body.len(),
            "ingest stopped: its request timed out or its client went away; nothing written"
        );
    }
    result
}

async fn write(
    store: &DynStore,
    channel: &Channel,
    articles: Vec<Article>,
    tombstones: Tombstones,
) -> Result<Report, IngestError> {
    let outcomes = catalog::upsert(store, channel, &articles, tombstones).await?;
    Ok(Report::new(&articles, outcomes))
}

/// Validates and normalizes drafts, then writes them in one transaction.
pub async fn ingest_drafts(
    store: &DynStore,
    channel: &Channel,
    drafts: Vec<Draft>,
    tombstones: Tombstones,
) -> Result<Report, IngestError> {
    let articles = prepare(drafts, channel)?;
    write(store, channel, articles, tombstones).await
}

/// Turns every draft into an article, or names the first item and field that is wrong.
/// Items are prepared in parallel (sanitizing HTML is most of an ingest's CPU time); the error
/// reported is still the first in input order.
pub fn prepare(drafts: Vec<Draft>, channel: &Channel) -> Result<Vec<Article>, ItemError> {
    prepare_until(drafts, channel, &Cancel::never())
        .unwrap_or_else(|Cancelled| unreachable!("a flag that is never raised cancelled the work"))
}

/// [`prepare`], stopping before the next item once `cancel` is raised: the items already
/// started finish, the others are not looked at.
fn prepare_until(
    drafts: Vec<Draft>,
    channel: &Channel,
    cancel: &Cancel,
) -> Result<Result<Vec<Article>, ItemError>, Cancelled> {
    use rayon::prelude::*;
    let channel_base = channel.link.as_deref().and_then(|l| Url::parse(l).ok());
    let one = |index: usize, d: Draft| -> Result<Result<Article, ItemError>, Cancelled> {
        cancel.check()?;
        Ok(
            article_from_draft(d, channel_base.as_ref(), Origin::Publisher)
                .map(|(article, _)| article)
                .map_err(|(field, message)| ItemError {
                    index,
                    field: field.to_owned(),
                    message,
                }),
        )
    };
    let prepared: Vec<Result<Result<Article, ItemError>, Cancelled>> = if drafts.len() < 8 {
        drafts
            .into_iter()
            .enumerate()
            .map(|(i, d)| one(i, d))
            .collect()
    } else {
        drafts
            .into_par_iter()
            .enumerate()
            .map(|(i, d)| one(i, d))
            .collect()
    };
    let prepared: Vec<Result<Article, ItemError>> =
        prepared.into_iter().collect::<Result<_, _>>()?;
    Ok(prepared.into_iter().collect())
}

/// An upstream feed's items, prepared.
#[derive(Debug, Default)]
pub struct Upstream {
    /// The articles, each with its index in the feed.
    pub articles: Vec<(usize, Article)>,
    /// Items left out: nothing in them could be published.
    pub invalid: Vec<ItemError>,
    /// Fields dropped from items that were kept (a URL with a scheme we do not publish, one
    /// that cannot be parsed).
    pub dropped: Vec<ItemError>,
}

/// Prepares the items of an upstream feed one by one: an invalid item is left out (and
/// reported) instead of refusing the feed, a field that cannot be stored is dropped (and
/// reported) instead of refusing its item, and every article records where it came from: the
/// item's own `<source>` when it is syndicated from elsewhere, else `source` (the feed it was
/// fetched from, which `catalog::import` also lists among the article's sources).
pub fn prepare_upstream(drafts: Vec<Draft>, channel: &Channel, source: &Source) -> Upstream {
    let channel_base = channel.link.as_deref().and_then(|l| Url::parse(l).ok());
    let mut out = Upstream {
        articles: Vec::with_capacity(drafts.len()),
        ..Default::default()
    };
    for (index, mut d) in drafts.into_iter().enumerate() {
        if d.source.as_ref().is_none_or(|s| s.url.trim().is_empty()) {
            d.source = Some(source.clone());
        }
        let as_error = |(field, message): FieldError| ItemError {
            index,
            field: field.to_owned(),
            message,
        };
        match article_from_draft(d, channel_base.as_ref(), Origin::Upstream) {
            Ok((a, dropped)) => {
                out.articles.push((index, a));
                out.dropped.extend(dropped.into_iter().map(as_error));
            }
            Err(e) => out.invalid.push(as_error(e)),
        }
    }
    out
}

type FieldError = (&'static str, String);

/// A text field as stored: XML-safe, without the leading and trailing white space that no
/// reader shows (and the `rss` crate's reader drops), and absent when empty.
fn opt(s: Option<String>) -> Option<String> {
    let mut s = s?;
    normalize::xml_clean(&mut s);
    let trimmed = s.trim_matches(normalize::edge);
    if trimmed.is_empty() {
        None
    } else if trimmed.len() == s.len() {
        Some(s)
    } else {
        Some(trimmed.to_owned())
    }
}

/// Where a draft came from, which decides what a field that cannot be stored costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// API or CLI: the whole batch is refused, naming the item and field, so the client can
    /// fix it.
    Publisher,
    /// An upstream feed: the field is dropped and reported; nobody is there to fix it.
    Upstream,
}

/// Turns one draft into an article, with the fields dropped on the way (upstream only).
fn article_from_draft(
    d: Draft,
    channel_base: Option<&Url>,
    origin: Origin,
) -> Result<(Article, Vec<FieldError>), FieldError> {
    let dropped = std::cell::RefCell::new(Vec::new());
    // A URL field: resolved, normalized and scheme-checked; refused or dropped when it cannot
    // be stored.
    let url_field = |field: &'static str,
                     s: Option<String>,
                     base: Option<&Url>|
     -> Result<Option<String>, FieldError> {
        let Some(s) = opt(s) else { return Ok(None) };
        match normalize::resolve(&s, base) {
            Ok(u) => match caps::url(&u) {
                Ok(()) => Ok(Some(u)),
                Err(e) if origin == Origin::Upstream => {
                    dropped.borrow_mut().push((field, format!("dropped: {e}")));
                    Ok(None)
                }
                Err(e) => Err((field, e.to_string())),
            },
            Err(e) if origin == Origin::Upstream => {
                dropped.borrow_mut().push((field, format!("dropped: {e}")));
                Ok(None)
            }
            Err(e) => Err((field, e.to_string())),
        }
    };
    // The item's own URL is the base for every other relative reference in it.
    let url = url_field("url", d.url, channel_base)?;
    let base_owned = url.as_deref().and_then(|u| Url::parse(u).ok());
    let base = base_owned.as_ref().or(channel_base);
    let link = |field: &'static str, s: Option<String>| url_field(field, s, base);
    let person = |field: &'static str, p: Person| -> Result<Option<Person>, FieldError> {
        let p = Person {
            name: opt(p.name),
            url: link(field, p.url)?,
            avatar: link(field, p.avatar)?,
        };
        Ok((p != Person::default()).then_some(p))
    };
    let date = |field: &'static str, d: Option<DateText>| {
        d.map(|d| {
            match d {
                DateText::Rfc3339(s) => normalize::rfc3339(&s),
                DateText::Rfc822(s) => normalize::rfc822(&s),
                DateText::Parsed(d) => Ok(d),
            }
            .and_then(normalize::representable)
        })
        .transpose()
        .map_err(|e| (field, e))
    };

    let id = opt(d.id).or_else(|| url.clone()).ok_or((
        "id",
        "an item needs an id, or a url to derive it from".to_owned(),
    ))?;
    // A text over its cap: refused from a publisher, cut to the cap from an upstream.
    let capped_text = |field: &'static str,
                       text: Option<String>,
                       limit: usize|
     -> Result<Option<String>, FieldError> {
        let Some(mut text) = text else {
            return Ok(None);
        };
        if let Err(e) = caps::chars(&text, limit) {
            if origin == Origin::Publisher {
                return Err((field, e.to_string()));
            }
            caps::truncate_chars(&mut text, limit);
            dropped.borrow_mut().push((
                field,
                format!("cut to its first {limit} characters: it had {e}"),
            ));
        }
        Ok(Some(text))
    };
    // A list over its cap: refused from a publisher, its first `limit` entries kept from an
    // upstream. Returns how many to keep.
    let capped_len = |field: &'static str, len: usize, limit: usize| {
        if len <= limit {
            return Ok(len);
        }
        let e = caps::OverCap::Count {
            what: field,
            count: len,
            limit,
        };
        if origin == Origin::Publisher {
            return Err((field, e.to_string()));
        }
        dropped
            .borrow_mut()
            .push((field, format!("kept the first {limit}: the item had {e}")));
        Ok(limit)
    };
    let title = capped_text("title", opt(d.title), caps::MAX_TITLE_CHARS)?;
    let html_origin = match origin {
        Origin::Publisher => normalize::HtmlOrigin::Publisher,
        Origin::Upstream => normalize::HtmlOrigin::Upstream,
    };
    let content_html = match d.content_html {
        Some(h) => match normalize::safe_html_flattened(&h, base, html_origin) {
            Ok((h, flattened)) => {
                if let (Some(why), Origin::Upstream) = (flattened, origin) {
                    dropped
                        .borrow_mut()
                        .push(("content_html", format!("flattened: {why}")));
                }
                h
            }
            Err(e) if origin == Origin::Upstream => {
                dropped
                    .borrow_mut()
                    .push(("content_html", format!("dropped: {e}")));
                None
            }
            Err(e) => return Err(("content_html", e.to_string())),
        },
        None => None,
    };
    let content_text = capped_text(
        "content_text",
        opt(d.content_text),
        caps::MAX_CONTENT_TEXT_CHARS,
    )?;
    if title.is_none() && content_html.is_none() && content_text.is_none() {
        return Err((
            "title",
            "an item needs a title, content_html or content_text".to_owned(),
        ));
    }
    let image = match d.image {
        Some(i) => link("image", Some(i.url))?.map(|url| Image {
            url,
            caption: opt(i.caption),
            credit: opt(i.credit),
        }),
        None => None,
    };
    let mut attachments = Vec::with_capacity(d.attachments.len().min(caps::MAX_ATTACHMENTS));
    for a in d.attachments {
        let Some(url) = link("attachments", Some(a.url))? else {
            if origin == Origin::Upstream {
                continue;
            }
            return Err(("attachments", "an attachment needs a url".to_owned()));
        };
        let Some(mime_type) = opt(Some(a.mime_type)) else {
            let message = format!("attachment {url} needs a mime_type");
            if origin == Origin::Upstream {
                dropped.borrow_mut().push(("attachments", message));
                continue;
            }
            return Err(("attachments", message));
        };
        attachments.push(Attachment {
            url,
            mime_type,
            title: opt(a.title),
            size_in_bytes: a.size_in_bytes,
            duration_in_seconds: a.duration_in_seconds,
        });
    }
    let mut authors = Vec::new();
    for p in d.authors {
        authors.extend(person("authors", p)?);
    }
    let mut contributors = Vec::new();
    for p in d.contributors {
        contributors.extend(person("contributors", p)?);
    }
    let mut tags: Vec<String> = d.tags.into_iter().filter_map(|t| opt(Some(t))).collect();
    tags.truncate(capped_len("tags", tags.len(), caps::MAX_TAGS)?);
    // One tag over its length: refused from a publisher (naming the tag), cut from an
    // upstream (the cuts reported once for the item).
    let mut cut = 0;
    for (i, tag) in tags.iter_mut().enumerate() {
        if let Err(e) = caps::chars(tag, caps::MAX_TAG_CHARS) {
            if origin == Origin::Publisher {
                return Err(("tags", format!("tag {i}: {e}")));
            }
            caps::truncate_chars(tag, caps::MAX_TAG_CHARS);
            cut += 1;
        }
    }
    if cut > 0 {
        dropped.borrow_mut().push((
            "tags",
            format!(
                "{cut} longer than {max} characters, cut to their first {max}",
                max = caps::MAX_TAG_CHARS
            ),
        ));
    }
    authors.truncate(capped_len("authors", authors.len(), caps::MAX_AUTHORS)?);
    contributors.truncate(capped_len(
        "contributors",
        contributors.len(),
        caps::MAX_CONTRIBUTORS,
    )?);
    attachments.truncate(capped_len(
        "attachments",
        attachments.len(),
        caps::MAX_ATTACHMENTS,
    )?);
    let summary = capped_text("summary", opt(d.summary), caps::MAX_SUMMARY_CHARS)?;
    let source = match d.source {
        Some(s) => link("source", Some(s.url))?.map(|url| Source {
            title: opt(s.title),
            url,
        }),
        None => None,
    };
    let article = Article {
        id,
        external_url: link("external_url", d.external_url)?,
        title,
        summary,
        content_html,
        content_text,
        image,
        banner_image: link("banner_image", d.banner_image)?,
        date_published: date("date_published", d.date_published)?,
        date_modified: date("date_modified", d.date_modified)?,
        authors,
        contributors,
        tags,
        language: opt(d.language),
        attachments,
        source,
        sources: Vec::new(),
        url,
    };
    Ok((article, dropped.into_inner()))
}
