//! The public feeds: `/feeds/{slug}/rss.xml`, `atom.xml` and `feed.json`, served from the
//! render cache with validators (ETag, Last-Modified), 304s and pre-compressed bodies.

use axum::extract::State;
use axum::http::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG,
    IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, VARY,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Deserialize;

use super::error::ErrorBody;
use super::{ApiError, ApiPath, ApiQuery, AppState};
use crate::formats::{FORMATS, FeedFormat};
use crate::metrics::{FormatLabel, METRICS, Metrics};
use crate::model::{Channel, Cursor, Page};
use crate::render::{DEFAULT_LIMIT, Encoding, MAX_LIMIT, Rendered};
use axum::body::Body;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use std::sync::OnceLock;

/// A feed opened in a browser runs no script, as the HTML pages do not: only the feed
/// stylesheet may load (browsers fetch XSLT under `script-src`; `style-src` names it too, for
/// browsers that count it as a style sheet), with its inline style. Readers ignore the
/// header.
pub const FEED_CSP: &str = "default-src 'none'; script-src 'self'; \
                            style-src 'self' 'unsafe-inline'; img-src http: https: data:; \
                            base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// Articles in the feed: 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    /// Only the articles with this tag.
    tag: Option<String>,
    /// An older page (RFC 5005 paging): the cursor a `next` link carries.
    before: Option<String>,
}

/// The coding to answer in: the client's highest `q` among br and gzip (`*` standing for
/// both), brotli on a tie; identity when it refuses both or names neither.
fn negotiate(headers: &HeaderMap) -> Encoding {
    let (mut br, mut gz, mut star) = (None::<f32>, None::<f32>, None::<f32>);
    for part in headers
        .get_all(ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
    {
        let mut it = part.split(';');
        let coding = it.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = it
            .find_map(|p| p.trim().strip_prefix("q="))
            .and_then(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        match coding.as_str() {
            "br" => br = Some(q),
            "gzip" | "x-gzip" => gz = Some(q),
            "*" => star = Some(q),
            _ => {}
        }
    }
    let br = br.or(star).unwrap_or(0.0);
    let gz = gz.or(star).unwrap_or(0.0);
    if br <= 0.0 && gz <= 0.0 {
        Encoding::Identity
    } else if br >= gz {
        Encoding::Brotli
    } else {
        Encoding::Gzip
    }
}

/// True for a person's browser: it asks for HTML and names no feed type. Feed readers name
/// theirs, or ask for XML or anything.
fn wants_html(headers: &HeaderMap) -> bool {
    let accept = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    accept.contains("text/html")
        && !accept.contains("rss+xml")
        && !accept.contains("atom+xml")
        && !accept.contains("feed+json")
}

/// RFC 9110: If-None-Match wins over If-Modified-Since; tags compare weakly.
fn not_modified(headers: &HeaderMap, r: &Rendered) -> bool {
    let bare = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    if let Some(inm) = headers.get(IF_NONE_MATCH).and_then(|v| v.to_str().ok()) {
        let ours = bare(&r.etag);
        return inm.split(',').any(|t| t.trim() == "*" || bare(t) == ours);
    }
    headers
        .get(IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok())
        .and_then(|since| since.duration_since(std::time::UNIX_EPOCH).ok())
        .is_some_and(|since| r.modified <= since.as_secs() as i64)
}

/// A channel's feed. A browser (asking for `text/html` and no feed type) gets a readable
/// HTML page of it instead; readers get the feed (`Vary: Accept`). Validators (`ETag`,
/// `Last-Modified`) allow conditional requests; `br` and `gzip` bodies are served.
#[utoipa::path(
    get,
    path = "/feeds/{slug}/{file}",
    tag = "feeds",
    params(
        ("slug" = String, Path, description = "The channel's slug"),
        ("file" = String, Path, description = "`rss.xml`, `atom.xml` or `feed.json`"),
        FeedQuery,
    ),
    responses(
        (status = 200, description = "The feed (or, for a browser, an HTML page of it)",
            content(
                (String = "application/rss+xml"),
                (String = "application/atom+xml"),
                (Object = "application/feed+json"),
                (String = "text/html"),
            )
        ),
        (status = 304, description = "Not modified since the validators the request names"),
        (status = 400, description = "`limit` out of range or `before` not a cursor", body = ErrorBody),
        (status = 404, description = "No such channel or feed file", body = ErrorBody),
        super::openapi::Always,
    )
)]
pub async fn feed(
    State(state): State<AppState>,
    ApiPath((slug, file)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<FeedQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let format = FeedFormat::from_file_name(&file).ok_or_else(|| {
        ApiError::NotFound(format!(
            "no feed {file:?}: channels have rss.xml, atom.xml and feed.json"
        ))
    })?;
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        )));
    }
    let before = match q.before.as_deref() {
        Some(c) => Some(
            Cursor::decode(c)
                .ok_or_else(|| ApiError::BadRequest(format!("before: {c:?} is not a cursor")))?,
        ),
        None => None,
    };
    let page = Page {
        limit,
        before,
        tag: q.tag.filter(|t| !t.trim().is_empty()),
    };
    let channel = state.feed_channel(&slug).await?;
    if wants_html(&headers) {
        let address = format!(
            "{}/feeds/{}/{}",
            state.config.base_url,
            channel.slug,
            format.file_name()
        );
        let mut page = super::pages::feed_page(&state, &channel, format, &address, &page)
            .await
            .into_response();
        page.headers_mut()
            .insert(VARY, HeaderValue::from_static("Accept, Accept-Encoding"));
        return Ok(page);
    }
    let rendered = state
        .feeds
        .get(
            &state.store,
            &channel,
            format,
            &page,
            &state.config.base_url,
        )
        .await?;
    Ok(
        match answer(&state, &channel, format, &page, &headers, &rendered) {
            Answer::NotModified(resp) => resp,
            Answer::Body(h, encoding) => {
                let body = state.feeds.encoded(&rendered, encoding).await;
                with_body(h, format, body)
            }
        },
    )
}

/// What a feed request gets once its render is in hand: a 304, or the headers of a 200 and
/// the coding its body is to be sent in.
enum Answer {
    NotModified(Response),
    Body(HeaderMap, Encoding),
}

/// The validators, caching and discovery headers of a feed, and the 304 when the client's
/// copy is current. Both ways a feed is served (the route, and [`from_memory`]) answer
/// through it, so they send the same headers.
fn answer(
    state: &AppState,
    channel: &Channel,
    format: FeedFormat,
    page: &Page,
    headers: &HeaderMap,
    rendered: &Rendered,
) -> Answer {
    let mut h = HeaderMap::new();
    h.insert(
        ETAG,
        HeaderValue::from_str(&rendered.etag).expect("hex etag"),
    );
    let modified =
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(rendered.modified.max(0) as u64);
    h.insert(
        LAST_MODIFIED,
        HeaderValue::from_str(&httpdate::fmt_http_date(modified)).expect("http date"),
    );
    h.insert(VARY, HeaderValue::from_static("Accept, Accept-Encoding"));
    // WebSub discovery (§4) by HTTP header too: the hub, and the topic to subscribe to (the
    // feed itself; its tag and archive pages are not topics).
    let topic = format!(
        "{}/feeds/{}/{}",
        state.config.base_url,
        channel.slug,
        format.file_name()
    );
    let is_topic = page.before.is_none() && page.tag.is_none() && page.limit == DEFAULT_LIMIT;
    if let Ok(link) = HeaderValue::from_str(&format!(
        "<{}>; rel=\"hub\", <{topic}>; rel=\"self\"",
        state.hub.hub_url()
    )) && is_topic
    {
        h.insert(axum::http::header::LINK, link);
    }
    h.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    h.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(FEED_CSP));
    if not_modified(headers, rendered) {
        format_counter(&NOT_MODIFIED, &METRICS.not_modified, format).inc();
        return Answer::NotModified(response(StatusCode::NOT_MODIFIED, h, Body::empty()));
    }
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    let encoding = negotiate(headers);
    match encoding {
        Encoding::Brotli => h.insert(CONTENT_ENCODING, HeaderValue::from_static("br")),
        Encoding::Gzip => h.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip")),
        Encoding::Identity => None,
    };
    Answer::Body(h, encoding)
}

/// The 200 of a feed, its bytes counted.
fn with_body(h: HeaderMap, format: FeedFormat, body: Bytes) -> Response {
    format_counter(&FEED_BYTES, &METRICS.feed_bytes, format).inc_by(body.len() as u64);
    response(StatusCode::OK, h, Body::from(body))
}

/// A response with exactly these headers (what `(status, headers, body).into_response()`
/// gives, without building a second header map to copy these into).
fn response(status: StatusCode, h: HeaderMap, body: Body) -> Response {
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    *resp.headers_mut() = h;
    resp
}

/// Handles on a per-format counter's series, by format, kept after first use.
type FormatCounters = [OnceLock<Counter>; FORMATS.len()];

static NOT_MODIFIED: FormatCounters = [const { OnceLock::new() }; FORMATS.len()];
static FEED_BYTES: FormatCounters = [const { OnceLock::new() }; FORMATS.len()];

/// The series of `family` for `format` (the same one `get_or_create` gives).
fn format_counter<'a>(
    cells: &'a FormatCounters,
    family: &Family<FormatLabel, Counter>,
    format: FeedFormat,
) -> &'a Counter {
    let i = FORMATS
        .iter()
        .position(|f| f.format == format)
        .expect("every format is in FORMATS");
    cells[i].get_or_init(|| {
        family
            .get_or_create(&Metrics::format(format.file_name()))
            .clone()
    })
}

/// The answer to `GET /feeds/{slug}/{file}` when everything it needs is in memory (the
/// channel read less than [`super::FEED_CHANNEL_TTL`] ago with nothing written since, its
/// render, and the render in the coding asked for), made without the router or an await:
/// the same response [`feed`] would give. `None` sends the request the ordinary way: any
/// query, a path the router would decode (`%`), a browser asking for HTML, a head over the
/// limits, a cache miss, a coding not compressed yet, or any method but GET.
pub(super) fn from_memory<B>(state: &AppState, req: &axum::http::Request<B>) -> Option<Response> {
    if req.method() != axum::http::Method::GET || req.uri().scheme().is_some() {
        return None;
    }
    let target = req.uri().path_and_query()?;
    if target.query().is_some() || !super::head_within_limits(target.as_str().len(), req) {
        return None;
    }
    let (slug, file) = target.path().strip_prefix("/feeds/")?.split_once('/')?;
    if slug.is_empty() || slug.contains('%') {
        return None;
    }
    let format = FeedFormat::from_file_name(file)?;
    let headers = req.headers();
    if wants_html(headers) {
        return None;
    }
    let channel = state.feed_channel_in_memory(slug)?;
    let page = Page {
        limit: DEFAULT_LIMIT,
        before: None,
        tag: None,
    };
    let rendered = state.feeds.cached(&channel, format, &page)?;
    match answer(state, &channel, format, &page, headers, &rendered) {
        Answer::NotModified(resp) => Some(resp),
        Answer::Body(h, encoding) => {
            let body = rendered.encoded_now(encoding)?;
            Some(with_body(h, format, body))
        }
    }
}
