//! A real upstream server on 127.0.0.1 for the poller's tests: it serves fixture feeds and
//! misbehaves on purpose (slow, endless, gzip bomb, errors, redirects), and logs what each
//! request asked, so tests can check the conditional headers syndic sent. It answers
//! `If-None-Match` and `If-Modified-Since` as RFC 9110 says, and each `set_feed` moves the
//! feed's `Last-Modified` on. It can listen on more loopback addresses (127.0.0.2, …), which
//! the poller counts as other hosts.

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// One request as the upstream saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub if_none_match: Option<String>,
    pub if_modified_since: Option<String>,
    pub user_agent: Option<String>,
}

/// A served feed: content type, body, and when it last changed.
type Feed = (String, Vec<u8>, SystemTime);

#[derive(Default)]
pub struct Upstream {
    /// Feed bodies by name, with their content type and when they last changed; tests change
    /// them to simulate new content.
    pub feeds: Mutex<HashMap<String, Feed>>,
    /// How many times `set_feed` ran: each change is a minute after the one before.
    edits: AtomicU64,
    pub seen: Mutex<Vec<Seen>>,
    /// Requests to `/slow/…` in flight now, and the most there ever were at once.
    pub in_flight: std::sync::atomic::AtomicUsize,
    pub max_in_flight: std::sync::atomic::AtomicUsize,
    /// The same per `Host` header: (in flight now, most at once).
    pub in_flight_by_host: Mutex<HashMap<String, (usize, usize)>>,
    /// Opened by `open_gate`: requests to `/gated/…` wait for it (30 s at most).
    gate: tokio::sync::Notify,
    gate_open: std::sync::atomic::AtomicBool,
}

pub struct UpstreamServer {
    pub base: String,
    pub state: Arc<Upstream>,
}

impl UpstreamServer {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Serves `body` at `/f/{name}` (ETag = hash of the body, and Last-Modified), `/lm/{name}`
    /// (Last-Modified only), `/plain/{name}` (no validator) and `/slow/{name}`, with the given
    /// content type. Last-Modified is a minute later than the previous `set_feed`'s, so a
    /// change is always newer than what a client has, without waiting for the clock.
    pub fn set_feed(&self, name: &str, content_type: &str, body: impl AsRef<[u8]>) {
        use std::sync::atomic::Ordering::SeqCst;
        let edits = self.state.edits.fetch_add(1, SeqCst) + 1;
        // Tue, 16 Sep 2025 10:00:00 GMT, then a minute per change.
        let modified = SystemTime::UNIX_EPOCH + Duration::from_secs(1_758_016_800 + 60 * edits);
        self.state.feeds.lock().unwrap().insert(
            name.to_owned(),
            (content_type.to_owned(), body.as_ref().to_vec(), modified),
        );
    }

    /// The `Last-Modified` the upstream sends for feed `name`.
    pub fn last_modified(&self, name: &str) -> String {
        let feeds = self.state.feeds.lock().unwrap();
        httpdate::fmt_http_date(feeds[name].2)
    }

    /// Listens on another loopback address too (`127.0.0.2`, …: all of 127/8 is loopback on
    /// Linux), with the same feeds and logs; returns its base URL.
    pub async fn also_on(&self, ip: &str) -> String {
        let listener = tokio::net::TcpListener::bind((ip, 0))
            .await
            .unwrap_or_else(|e| panic!("bind {ip}: {e}"));
        let addr = listener.local_addr().unwrap();
        let app = router(self.state.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}")
    }

    /// Lets the requests to `/gated/{name}` waiting now, and every later one, through.
    pub fn open_gate(&self) {
        self.state
            .gate_open
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.state.gate.notify_waiters();
    }

    pub fn seen(&self, path: &str) -> Vec<Seen> {
        self.state
            .seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.path == path)
            .cloned()
            .collect()
    }
}

fn log(state: &Upstream, path: &str, headers: &HeaderMap) {
    let h = |n: header::HeaderName| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    state.seen.lock().unwrap().push(Seen {
        path: path.to_owned(),
        if_none_match: h(header::IF_NONE_MATCH),
        if_modified_since: h(header::IF_MODIFIED_SINCE),
        user_agent: h(header::USER_AGENT),
    });
}

/// Fixture feeds with both validators.
async fn feed(
    State(st): State<Arc<Upstream>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    log(&st, &format!("/f/{name}"), &headers);
    conditional(&st, &name, &headers, true)
}

/// Fixture feeds with `Last-Modified` and no `ETag`: only `If-Modified-Since` can get a 304.
async fn last_modified_only(
    State(st): State<Arc<Upstream>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    log(&st, &format!("/lm/{name}"), &headers);
    conditional(&st, &name, &headers, false)
}

/// Feed `name`, or 304 when the client has it (RFC 9110 §13.2.2): `If-None-Match` decides
/// when the request has one, else `If-Modified-Since` (a date not before Last-Modified).
fn conditional(st: &Upstream, name: &str, headers: &HeaderMap, with_etag: bool) -> Response {
    let Some((ct, body, modified)) = st.feeds.lock().unwrap().get(name).cloned() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let last_modified = httpdate::fmt_http_date(modified);
    let etag = format!(
        "\"{:x}\"",
        body.len() * 31 + body.iter().map(|b| *b as usize).sum::<usize>()
    );
    let get = |n: header::HeaderName| headers.get(n).and_then(|v| v.to_str().ok());
    let fresh = match get(header::IF_NONE_MATCH) {
        Some(inm) => with_etag && inm == etag,
        None => get(header::IF_MODIFIED_SINCE)
            .and_then(|d| httpdate::parse_http_date(d).ok())
            .is_some_and(|since| since >= modified),
    };
    let mut validators = vec![(header::LAST_MODIFIED, last_modified)];
    if with_etag {
        validators.push((header::ETAG, etag));
    }
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, ct)], body).into_response()
    };
    for (name, value) in validators {
        response
            .headers_mut()
            .insert(name, HeaderValue::from_str(&value).unwrap());
    }
    response
}

/// The same fixtures without any validator: only the body hash can tell it is unchanged.
async fn plain(
    State(st): State<Arc<Upstream>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    log(&st, &format!("/plain/{name}"), &headers);
    body_only(&st, &name)
}

/// Feed `name`'s body and content type, without validators.
fn body_only(st: &Upstream, name: &str) -> Response {
    match st.feeds.lock().unwrap().get(name).cloned() {
        Some((ct, body, _)) => ([(header::CONTENT_TYPE, ct)], body).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `/plain/{name}` once the test has opened the gate (or 30 s have passed, so that nothing
/// waits for ever): a request still in flight is one the test can see waiting.
async fn gated(
    State(st): State<Arc<Upstream>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    log(&st, &format!("/gated/{name}"), &headers);
    let opened = st.gate.notified();
    if !st.gate_open.load(std::sync::atomic::Ordering::SeqCst) {
        let _ = tokio::time::timeout(Duration::from_secs(30), opened).await;
    }
    body_only(&st, &name)
}

/// A feed that takes 200 ms to answer, counting how many requests overlap, in all and per
/// `Host`.
async fn slow_feed(
    State(st): State<Arc<Upstream>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    use std::sync::atomic::Ordering::SeqCst;
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    {
        let mut by_host = st.in_flight_by_host.lock().unwrap();
        let (now, most) = by_host.entry(host.clone()).or_default();
        *now += 1;
        *most = (*most).max(*now);
    }
    let now = st.in_flight.fetch_add(1, SeqCst) + 1;
    st.max_in_flight.fetch_max(now, SeqCst);
    tokio::time::sleep(Duration::from_millis(200)).await;
    st.in_flight.fetch_sub(1, SeqCst);
    st.in_flight_by_host
        .lock()
        .unwrap()
        .get_mut(&host)
        .unwrap()
        .0 -= 1;
    feed(State(st), Path(name), headers).await
}

async fn misbehave(
    State(st): State<Arc<Upstream>>,
    Path(what): Path<String>,
    headers: HeaderMap,
) -> Response {
    log(&st, &format!("/x/{what}"), &headers);
    let redirect = |status: StatusCode, to: &str| {
        (
            status,
            [(header::LOCATION, HeaderValue::from_str(to).unwrap())],
        )
            .into_response()
    };
    match what.as_str() {
        "moved" => redirect(StatusCode::MOVED_PERMANENTLY, "/f/news"),
        "moved308" => redirect(StatusCode::PERMANENT_REDIRECT, "/x/moved"),
        "temp" => redirect(StatusCode::FOUND, "/f/news"),
        "loop" => redirect(StatusCode::FOUND, "/x/loop"),
        "gone" => StatusCode::GONE.into_response(),
        "limited" => (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "120")],
        )
            .into_response(),
        "unavailable" => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "3600")],
        )
            .into_response(),
        "error" => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        "slow" => {
            tokio::time::sleep(Duration::from_secs(10)).await;
            StatusCode::OK.into_response()
        }
        "endless" => {
            // Far past any cap, but finite: the loop stops by itself if nobody stops reading.
            let chunk = bytes::Bytes::from(vec![b' '; 64 * 1024]);
            let stream = Repeat { chunk, left: 2048 };
            (
                [(header::CONTENT_TYPE, "application/rss+xml")],
                Body::from_stream(stream),
            )
                .into_response()
        }
        "bomb" => {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            let zeros = vec![b' '; 1024 * 1024];
            for _ in 0..32 {
                enc.write_all(&zeros).unwrap();
            }
            let gz = enc.finish().unwrap();
            (
                [
                    (header::CONTENT_TYPE, "application/rss+xml"),
                    (header::CONTENT_ENCODING, "gzip"),
                ],
                gz,
            )
                .into_response()
        }
        "malformed" => (
            [(header::CONTENT_TYPE, "application/rss+xml")],
            "This is no feed at all, whatever its Content-Type says.",
        )
            .into_response(),
        "page" => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            r#"<!doctype html><html><head><title>Site</title>
<link rel="alternate" type="application/rss+xml" title="Main feed" href="/f/news">
<link rel="alternate" type="application/atom+xml" title="Atom" href="/f/atom">
</head><body><p>Hello</p></body></html>"#,
        )
            .into_response(),
        "empty-page" => (
            [(header::CONTENT_TYPE, "text/html")],
            "<!doctype html><html><head><title>No feeds</title></head><body></body></html>",
        )
            .into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `/go?to=URL`: a permanent redirect to any URL (another server's, say).
async fn go(
    State(st): State<Arc<Upstream>>,
    axum::extract::Query(q): axum::extract::Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    log(&st, "/go", &headers);
    let to = q.get("to").map(String::as_str).unwrap_or("/");
    (
        StatusCode::MOVED_PERMANENTLY,
        [(header::LOCATION, HeaderValue::from_str(to).unwrap())],
    )
        .into_response()
}

/// A finite stream of one chunk repeated: "endless" for any sane cap, yet it ends by itself.
struct Repeat {
    chunk: bytes::Bytes,
    left: usize,
}

impl futures_core::Stream for Repeat {
    type Item = Result<bytes::Bytes, std::io::Error>;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        if self.left == 0 {
            return std::task::Poll::Ready(None);
        }
        self.left -= 1;
        std::task::Poll::Ready(Some(Ok(self.chunk.clone())))
    }
}

fn router(state: Arc<Upstream>) -> Router {
    Router::new()
        .route("/f/{name}", axum::routing::get(feed))
        .route("/lm/{name}", axum::routing::get(last_modified_only))
        .route("/plain/{name}", axum::routing::get(plain))
        .route("/slow/{name}", axum::routing::get(slow_feed))
        .route("/gated/{name}", axum::routing::get(gated))
        .route("/x/{what}", axum::routing::get(misbehave))
        .route("/go", axum::routing::get(go))
        .with_state(state)
}

pub async fn spawn_upstream() -> UpstreamServer {
    let state = Arc::new(Upstream::default());
    let app = router(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    UpstreamServer {
        base: format!("http://{addr}"),
        state,
    }
}

/// An RSS 2.0 feed of `items` (guid, title, link), newest first.
pub fn rss_feed(title: &str, items: &[(&str, &str, &str)]) -> String {
    let mut s = format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>{title}</title><link>https://upstream.example/</link><description>d</description><ttl>60</ttl>"#
    );
    for (guid, t, link) in items {
        // A date of the item's own, so that adding an item leaves the others unchanged.
        let day = guid.bytes().map(|b| b as usize).sum::<usize>() % 28 + 1;
        s.push_str(&format!(
            "<item><guid isPermaLink=\"false\">{guid}</guid><title>{t}</title><link>{link}</link><pubDate>Tue, {:02} Sep 2025 10:00:00 +0000</pubDate><description>&lt;p&gt;Body of {t}&lt;/p&gt;&lt;script&gt;alert(1)&lt;/script&gt;</description></item>",
            day
        ));
    }
    s.push_str("</channel></rss>");
    s
}
