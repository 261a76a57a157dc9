//! Full text for summary-only feeds (docs/full-text.md). For a subscription with
//! `full_content`, each new item's page is fetched through the poller's fetcher (address guard,
//! own-feed check, timeouts, redirects checked hop by hop) within the poller's per-host and
//! global limits, its main text is extracted (dom_smoothie, chosen on a corpus: see the doc)
//! off the async runtime and inside the parser boundary, and sanitized by the one policy
//! (`normalize::safe_html`), relative URLs resolved against the page. The item then carries that
//! text as its content and the upstream's text as its summary. Every page is fetched once: what
//! came of it (the text, or why there is none) is kept by the store, by subscription and page
//! URL, and applied again each time the item is imported (an update upstream does not fetch
//! the page again). A page that fails or yields nothing leaves the item as the feed gave it,
//! and the poll report says why.

use std::sync::Arc;

use chrono::Utc;
use serde::Serialize;
use tokio::sync::Semaphore;
use url::Url;

use super::discover;
use super::fetch::{FetchConfig, FetchError, FetchedKind, Fetcher, Validators};
use crate::boundary::{ParserPanic, contain};
use crate::draft::Draft;
use crate::ingest::nesting::bound_nesting;
use crate::ingest::normalize::{self, HtmlOrigin};
use crate::metrics::{METRICS, Metrics};
use crate::model::{FullText, Subscription};
use crate::store::{DynStore, StoreError};

/// The largest page read (after decompression), or the poller's own cap when smaller: article
/// pages are rarely past 2 MiB, and the extraction's time and memory grow with the page.
pub const MAX_PAGE_BYTES: usize = 5 * 1024 * 1024;
/// Pages fetched at most in one poll of one subscription; the others are fetched by the next
/// polls (the feed is read again until none is left), so that a first poll of a long feed
/// does not hold a poll (or the request that asked for it) for minutes.
pub const MAX_PAGES_PER_POLL: usize = 20;
/// Fetches tried for a page whose failure may pass (a timeout, a 429 or 503, a reset).
pub const MAX_ATTEMPTS: u32 = 3;
/// What was kept of a page whose item has left the feed is forgotten this long after the
/// page was fetched (an item still in the feed keeps its page's text however old).
pub const FORGET_AFTER_DAYS: i64 = 30;
/// The text a page that fails Readability's "is this an article" test must still give to be
/// taken (Readability.js's own `charThreshold`).
pub const MIN_TEXT_CHARS: usize = 500;
/// What a page fetch asks for.
pub const PAGE_ACCEPT: &str = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1";

/// The fetch settings for item pages: the poller's, with the page cap and an HTML `Accept`.
pub fn page_fetch_config(feeds: FetchConfig) -> FetchConfig {
    FetchConfig {
        max_body: feeds.max_body.min(MAX_PAGE_BYTES),
        accept: PAGE_ACCEPT,
        ..feeds
    }
}

/// Why a page gave no text.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// 410, 429 or 503 (the fetcher answers these rather than failing).
    #[error("HTTP {0}")]
    Status(u16),
    #[error("not an HTML page ({0})")]
    NotHtml(String),
    #[error(transparent)]
    Parser(#[from] ParserPanic),
    #[error("no article text found on the page")]
    Empty,
    #[error("the page does not look like an article (too little text)")]
    NotArticle,
    #[error("the page has too many elements to extract from ({0})")]
    TooBig(String),
}

impl PageError {
    /// True when trying again later may succeed.
    fn passes(&self) -> bool {
        match self {
            PageError::Fetch(FetchError::Transport(_)) => true,
            PageError::Fetch(FetchError::Status(s)) | PageError::Status(s) => {
                matches!(s, 408 | 425 | 429 | 500 | 502 | 503 | 504)
            }
            _ => false,
        }
    }
}

/// What full text did in one poll of one subscription.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct FullTextReport {
    /// Pages fetched whose text is now the content of their item.
    pub fetched: usize,
    /// Pages fetched in this poll that gave no text, with why: their items keep the feed's text.
    pub failed: Vec<PageFailure>,
    /// Pages left for the next polls (over [`MAX_PAGES_PER_POLL`], or a failure that may pass).
    pub pending: usize,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PageFailure {
    pub url: String,
    pub error: String,
}

/// Extracts the main text of an article page as sanitized HTML with absolute URLs. CPU work
/// on untrusted input: call it off the async runtime.
pub fn extract(
    body: &[u8],
    content_type: Option<&str>,
    page_url: &Url,
) -> Result<String, PageError> {
    if !discover::is_html(body, content_type) {
        return Err(PageError::NotHtml(
            content_type.unwrap_or("no content type").to_owned(),
        ));
    }
    let page = decode(body, content_type);
    // Deep nesting makes tree builders quadratic: flattened first, in linear time.
    let page = contain("HTML tokenizer", || bound_nesting(&page).html.into_owned())?;
    let article = contain("article extractor", || {
        let mut r = dom_smoothie::Readability::new(page, Some(page_url.as_str()), None)?;
        // Readability.js's own test of a page worth extracting (enough long paragraphs), or
        // at least its 500 characters of text: without either, a page of links and menus
        // would give them as the "article" (docs/full-text.md has the measurements).
        let readable = r.is_probably_readable();
        let a = r.parse()?;
        let chars: usize = a
            .text_content
            .split_whitespace()
            .map(|w| w.chars().count() + 1)
            .sum();
        Ok((readable || chars >= MIN_TEXT_CHARS).then(|| a.content.to_string()))
    })?;
    let html = match article {
        Ok(Some(html)) => html,
        Ok(None) => return Err(PageError::NotArticle),
        Err(dom_smoothie::ReadabilityError::TooManyElements(found, max)) => {
            return Err(PageError::TooBig(format!("{found}, at most {max}")));
        }
        Err(_) => return Err(PageError::Empty),
    };
    let clean = normalize::safe_html(&html, Some(page_url), HtmlOrigin::Upstream)?
        .ok_or(PageError::Empty)?;
    if normalize::html_to_text(&clean).trim().is_empty() {
        return Err(PageError::Empty);
    }
    Ok(clean)
}

/// A page's bytes as text: the charset of a byte order mark, else of the Content-Type, else of
/// a `<meta charset>` (or `http-equiv`) in the first 1024 bytes, else UTF-8 (invalid bytes
/// replaced).
fn decode(body: &[u8], content_type: Option<&str>) -> String {
    if let Some((enc, skip)) = encoding_rs::Encoding::for_bom(body) {
        return enc
            .decode_without_bom_handling(&body[skip..])
            .0
            .into_owned();
    }
    let label = content_type
        .and_then(charset_in)
        .or_else(|| charset_in(&String::from_utf8_lossy(&body[..body.len().min(1024)])));
    let enc = label
        .and_then(|l| encoding_rs::Encoding::for_label(l.as_bytes()))
        .unwrap_or(encoding_rs::UTF_8);
    enc.decode_without_bom_handling(body).0.into_owned()
}

/// The value after the first `charset=` in `s` (a Content-Type, or the start of a page).
fn charset_in(s: &str) -> Option<String> {
    let lower = s.to_ascii_lowercase();
    let at = lower.find("charset=")? + "charset=".len();
    let value: String = lower[at..]
        .trim_start_matches(['"', '\''])
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'))
        .collect();
    (!value.is_empty()).then_some(value)
}

/// The per-host limit of a URL.
pub type HostLimit = Box<dyn Fn(&Url) -> Arc<Semaphore> + Send + Sync>;

/// What the poller lends full text: its page fetcher and its limits.
pub struct Limits {
    pub fetcher: Fetcher,
    pub global: Arc<Semaphore>,
    pub host: HostLimit,
    /// Pages fetched by this call at most ([`MAX_PAGES_PER_POLL`] for a poll; none while a
    /// hub waits for its push to be answered): the rest are kept as pending.
    pub max_pages: usize,
}

/// Gives the items of a `full_content` subscription their page's text: new items' pages are
/// fetched (at most [`MAX_PAGES_PER_POLL`]), what was kept of earlier ones is applied again.
pub async fn complete(
    store: &DynStore,
    limits: &Limits,
    sub: &Subscription,
    mut items: Vec<(Vec<String>, Draft)>,
) -> Result<(Vec<(Vec<String>, Draft)>, FullTextReport), StoreError> {
    let mut report = FullTextReport::default();
    let links: Vec<Option<String>> = items
        .iter()
        .map(|(_, d)| {
            d.url
                .as_deref()
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .map(str::to_owned)
        })
        .collect();
    let urls: Vec<&str> = links.iter().flatten().map(String::as_str).collect();
    if urls.is_empty() {
        return Ok((items, report));
    }
    let mut kept = store.full_texts(sub.id, &urls).await?;
    let keys: Vec<&str> = items
        .iter()
        .flat_map(|(k, _)| k.iter().map(String::as_str))
        .collect();
    let seen = store.seen_item_keys(sub.id, &keys).await?;
    // New items (no key seen before: an item imported before the option was set keeps what
    // it has), and pages whose fetch is still to be done or tried again.
    let mut wanted: Vec<String> = Vec::new();
    for ((item_keys, _), link) in items.iter().zip(&links) {
        let Some(link) = link else { continue };
        let want = match kept.get(link) {
            Some(t) => !t.done,
            None => !item_keys.iter().any(|k| seen.contains(k)),
        };
        if want && !wanted.contains(link) {
            wanted.push(link.clone());
        }
    }
    let later = wanted.split_off(wanted.len().min(limits.max_pages));
    let now = Utc::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (i, link) in wanted.iter().enumerate() {
        let url = Url::parse(link);
        let fetcher = limits.fetcher.clone();
        let global = limits.global.clone();
        let host = url.as_ref().ok().map(|u| (limits.host)(u));
        tasks.spawn(async move {
            let result = match url {
                Ok(url) => page(&fetcher, &url, host, global).await,
                Err(e) => Err(PageError::Fetch(FetchError::Transport(format!(
                    "bad URL: {e}"
                )))),
            };
            (i, result)
        });
    }
    let mut results: Vec<Option<Result<String, PageError>>> =
        (0..wanted.len()).map(|_| None).collect();
    while let Some(done) = tasks.join_next().await {
        let (i, result) = done.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        results[i] = Some(result);
    }
    let mut rows = Vec::with_capacity(wanted.len() + later.len());
    for (link, result) in wanted.into_iter().zip(results) {
        let attempts = kept.get(&link).map_or(0, |t| t.attempts) + 1;
        let row = match result.expect("every task answered") {
            Ok(html) => {
                report.fetched += 1;
                FullText {
                    content_html: Some(html),
                    error: None,
                    attempts,
                    done: true,
                    fetched_at: now,
                }
            }
            Err(e) => {
                let done = !e.passes() || attempts >= MAX_ATTEMPTS;
                if !done {
                    report.pending += 1;
                }
                tracing::info!(subscription = sub.id, url = %link, error = %e, "no full text");
                report.failed.push(PageFailure {
                    url: link.clone(),
                    error: e.to_string(),
                });
                FullText {
                    content_html: None,
                    error: Some(e.to_string()),
                    attempts,
                    done,
                    fetched_at: now,
                }
            }
        };
        rows.push((link, row));
    }
    for link in later {
        report.pending += 1;
        let attempts = kept.get(&link).map_or(0, |t| t.attempts);
        rows.push((
            link,
            FullText {
                content_html: None,
                error: Some(if limits.max_pages == 0 {
                    "not fetched yet: pages of pushed items are fetched after the push is answered"
                        .to_owned()
                } else {
                    format!(
                        "not fetched yet: at most {MAX_PAGES_PER_POLL} pages are fetched per poll"
                    )
                }),
                attempts,
                done: false,
                fetched_at: now,
            },
        ));
    }
    if !rows.is_empty() {
        store.save_full_texts(sub.id, &rows).await?;
    }
    store
        .forget_full_texts(
            sub.id,
            &urls,
            now - chrono::Duration::days(FORGET_AFTER_DAYS),
        )
        .await?;
    let pages = &METRICS.full_text_pages;
    Metrics::count(pages, "fetched", report.fetched as u64);
    Metrics::count(pages, "failed", report.failed.len() as u64);
    Metrics::count(pages, "pending", report.pending as u64);
    kept.extend(rows);
    for ((_, d), link) in items.iter_mut().zip(&links) {
        if let Some(html) = link
            .as_ref()
            .and_then(|l| kept.get(l))
            .and_then(|t| t.content_html.clone())
        {
            with_text(d, html);
        }
    }
    Ok((items, report))
}

/// Fetches one page within the limits and extracts its text off the runtime.
async fn page(
    fetcher: &Fetcher,
    url: &Url,
    host: Option<Arc<Semaphore>>,
    global: Arc<Semaphore>,
) -> Result<String, PageError> {
    let fetched = {
        // Host first, then global, as the poller does; held for the fetch alone.
        let _host = match host {
            Some(h) => Some(h.acquire_owned().await.expect("semaphore open")),
            None => None,
        };
        let _slot = global.acquire_owned().await.expect("semaphore open");
        fetcher.fetch(url, &Validators::default()).await?
    };
    match fetched.kind {
        FetchedKind::Body {
            body, content_type, ..
        } => {
            let base = fetched.final_url;
            tokio::task::spawn_blocking(move || extract(&body, content_type.as_deref(), &base))
                .await
                .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
        }
        FetchedKind::NotModified => Err(PageError::Status(304)),
        FetchedKind::Gone => Err(PageError::Status(410)),
        FetchedKind::RetryLater { status, .. } => Err(PageError::Status(status)),
    }
}

/// Makes the page's text the item's content; the feed's own text becomes its summary (as
/// text), unless the feed gave a summary of its own.
fn with_text(d: &mut Draft, html: String) {
    let upstream = d.content_html.take();
    let text = d.content_text.take();
    if d.summary.as_deref().is_none_or(|s| s.trim().is_empty()) {
        d.summary = upstream
            .map(|h| normalize::html_to_text(&h))
            .filter(|t| !t.trim().is_empty())
            .or(text);
    }
    d.content_html = Some(html);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> Url {
        Url::parse("https://news.example/2026/story.html").unwrap()
    }

    const PAGE: &str = r#"<!doctype html><html><head><title>Story</title></head><body>
<nav class="menu"><a href="/">Home</a> <a href="/world">World</a> <a href="/sport">Sport</a></nav>
<div class="ad sponsor">Buy the Widget 3000 now</div>
<article><h1>Rivers rise</h1>
<p>The river rose by three metres overnight, the highest level recorded in the town since the
great flood of 1953, and the mayor ordered the lower streets cleared before dawn.</p>
<p>Volunteers filled sandbags in the square while firefighters pumped water from cellars; the
school was opened as a shelter for the families of the riverside streets.</p>
<p>Forecasters expect the water to fall by the weekend. <a href="/map.html">See the map</a>
<img src="img/river.jpg" alt="The river"> <a href="javascript:alert(1)">click</a></p>
<script>alert("x")</script></article>
<div class="comments" id="comments"><p>First!</p><p>Great article, visit my-spam.example</p></div>
</body></html>"#;

    #[test]
    fn extracts_the_article_sanitized_with_absolute_urls() {
        let html = extract(PAGE.as_bytes(), Some("text/html; charset=utf-8"), &url()).unwrap();
        assert!(html.contains("three metres overnight"), "{html}");
        assert!(html.contains("Forecasters expect"), "{html}");
        for gone in [
            "Widget 3000",
            "First!",
            "Sport",
            "javascript:",
            "<script",
            "alert",
        ] {
            assert!(!html.contains(gone), "{gone} in {html}");
        }
        assert!(html.contains("https://news.example/map.html"), "{html}");
        assert!(
            html.contains("https://news.example/2026/img/river.jpg"),
            "{html}"
        );
    }

    #[test]
    fn refuses_what_is_not_an_article_page() {
        let e = extract(b"{\"a\": 1}", Some("application/json"), &url()).unwrap_err();
        assert!(matches!(e, PageError::NotHtml(_)), "{e}");
        let e = extract(b"<html><body></body></html>", Some("text/html"), &url()).unwrap_err();
        assert!(matches!(e, PageError::Empty), "{e}");
        let menu = b"<html><body><nav><a href=/a>Home</a> <a href=/b>News</a></nav><p>Hello</p></body></html>";
        let e = extract(menu, Some("text/html"), &url()).unwrap_err();
        assert!(matches!(e, PageError::NotArticle), "{e}");
    }

    #[test]
    fn decodes_the_declared_charset() {
        let page = PAGE.replace("three metres", "trois m\u{e8}tres");
        let (latin1, _, _) = encoding_rs::WINDOWS_1252.encode(&page);
        let html = extract(&latin1, Some("text/html; charset=ISO-8859-1"), &url()).unwrap();
        assert!(html.contains("trois m\u{e8}tres"), "{html}");
        assert_eq!(
            charset_in("text/html; charset=\"UTF-8\""),
            Some("utf-8".into())
        );
        assert_eq!(
            charset_in("<meta charset=windows-1252>"),
            Some("windows-1252".into())
        );
    }

    #[test]
    fn the_feed_text_becomes_the_summary() {
        let mut d = Draft {
            content_html: Some("<p>Short &amp; sweet</p>".into()),
            ..Default::default()
        };
        with_text(&mut d, "<p>Full</p>".into());
        assert_eq!(d.content_html.as_deref(), Some("<p>Full</p>"));
        assert_eq!(d.summary.as_deref().map(str::trim), Some("Short & sweet"));
    }
}
