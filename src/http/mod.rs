//! The HTTP surface: public feeds, the health probe, and the token-protected `/api/v1`.
//! Handlers stay thin: they parse the edge into types, call ingest, the store or the render
//! cache, and map every failure through [`ApiError`].

mod articles;
mod auth;
mod channels;
mod client;
mod conn;
pub mod error;
mod feeds;
mod openapi;
mod pages;
mod rules;
mod serve;
mod subscriptions;
mod websub;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, State};
use axum::{Json, Router};
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::OpenApi;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::config::Config;
use crate::model::{Channel, Slug};
use crate::poll::poller::Poller;
use crate::render::FeedCache;
use crate::store::DynStore;
use crate::websub::Hub;
pub use error::ApiError;
pub use pages::STYLESHEET_PATH;
pub use serve::serve;

#[derive(Clone)]
pub struct AppState {
    pub store: DynStore,
    pub config: Arc<Config>,
    pub feeds: Arc<FeedCache>,
    pub poller: Arc<Poller>,
    pub hub: Arc<Hub>,
    pub auth_limiter: Arc<auth::AuthLimiter>,
    /// Channels as the feed routes last read them, by slug, with the store's commit count
    /// before the read and when it was made.
    feed_channels: Arc<std::sync::Mutex<HashMap<String, FeedChannel>>>,
}

/// A channel as a feed route read it: the channel, the store's commit count before the
/// read, and when.
type FeedChannel = (Arc<Channel>, u64, Instant);

/// How long the feed routes may serve a channel without reading it again, when this process
/// has written nothing since: the bound on how late a write by another process (`syndic
/// ingest` beside `serve`) shows in feeds. Writes of this process show at once.
const FEED_CHANNEL_TTL: Duration = Duration::from_secs(1);

impl AppState {
    pub fn new(store: DynStore, config: Config, poller: Arc<Poller>, hub: Arc<Hub>) -> AppState {
        AppState {
            store,
            feeds: Arc::new(FeedCache::new(config.render_cache_bytes)),
            config: Arc::new(config),
            poller,
            hub,
            auth_limiter: Arc::default(),
            feed_channels: Arc::default(),
        }
    }

    /// The channel for a feed request: from memory when this process committed nothing
    /// since it was read and the read is under [`FEED_CHANNEL_TTL`] old, so a feed served
    /// from the render cache costs no database round trip.
    async fn feed_channel(&self, slug: &str) -> Result<Arc<Channel>, ApiError> {
        let commits = self.store.commits();
        if let Some(c) = self.feed_channel_since(slug, commits) {
            return Ok(c);
        }
        let channel = Arc::new(self.channel(slug).await?);
        self.feed_channels
            .lock()
            .expect("lock")
            .insert(slug.to_owned(), (channel.clone(), commits, Instant::now()));
        Ok(channel)
    }

    /// The channel for a feed request if [`AppState::feed_channel`] would take it from
    /// memory.
    fn feed_channel_in_memory(&self, slug: &str) -> Option<Arc<Channel>> {
        self.feed_channel_since(slug, self.store.commits())
    }

    fn feed_channel_since(&self, slug: &str, commits: u64) -> Option<Arc<Channel>> {
        match self.feed_channels.lock().expect("lock").get(slug) {
            Some((c, seen, at)) if *seen == commits && at.elapsed() < FEED_CHANNEL_TTL => {
                Some(c.clone())
            }
            _ => None,
        }
    }

    /// The channel a path names, or a 404 naming it.
    async fn channel(&self, slug: &str) -> Result<Channel, ApiError> {
        let not_found = || ApiError::NotFound(format!("no channel {slug:?}"));
        let slug = Slug::parse(slug).map_err(|_| not_found())?;
        self.store.channel(&slug).await?.ok_or_else(not_found)
    }
}

/// `Path` whose rejection is an [`ApiError`].
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// `Query` whose rejection is an [`ApiError`].
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// `Json` whose rejection is an [`ApiError`].
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// Every route, registered with its OpenAPI description in one step (`routes!`), so that
/// the document served at `/api/v1/openapi.json` lists exactly what is routed. A route added
/// with a plain `.route` would be missing from it: tests/api/openapi.rs checks there is none.
pub fn router(state: AppState) -> Router {
    let api = OpenApiRouter::new()
        .routes(routes!(channels::list, channels::create))
        .routes(routes!(channels::show, channels::update, channels::delete))
        .routes(routes!(articles::list, articles::ingest))
        .routes(routes!(articles::show, articles::put, articles::delete))
        .routes(routes!(subscriptions::list, subscriptions::create))
        .routes(routes!(
            subscriptions::show,
            subscriptions::patch,
            subscriptions::delete
        ))
        .routes(routes!(subscriptions::poll_now))
        .routes(routes!(rules::show_subscription, rules::put_subscription))
        .routes(routes!(rules::preview))
        .routes(routes!(rules::reapply))
        .routes(routes!(rules::show_channel, rules::put_channel))
        .routes(routes!(subscriptions::hub_list))
        .routes(routes!(subscriptions::hub_remove))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ));
    let (router, doc) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
        .routes(routes!(feeds::feed))
        .routes(routes!(websub::hub).layer(DefaultBodyLimit::max(websub::MAX_HUB_BODY)))
        .routes(routes!(websub::callback_verify, websub::callback_push))
        // Callbacks handed out before they carried a token: pushes signed with the secret
        // still arrive there until the lease is renewed; nothing is verified there.
        .routes(routes!(
            websub::legacy_callback_verify,
            websub::legacy_callback_push
        ))
        .routes(routes!(pages::index))
        .routes(routes!(pages::channel_page))
        .routes(routes!(pages::article_page))
        .routes(routes!(pages::opml))
        .routes(routes!(pages::stylesheet))
        .routes(routes!(openapi::openapi_json))
        .nest("/api/v1", api)
        .split_for_parts();
    router
        .layer(axum::Extension(openapi::Document::new(&doc)))
        .fallback(|| async { ApiError::NotFound("no such route".into()) })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(axum::middleware::from_fn(limit_head))
        // Inside `track`, so that requests that time out are counted (as 408).
        .layer(axum::middleware::from_fn_with_state(
            state.config.request_timeout,
            deadline,
        ))
        .layer(axum::middleware::from_fn(track))
        .layer(DefaultBodyLimit::max(state.config.max_body))
        // Requests are traced around the router, by `serve` (see `Front`).
        .layer(axum::middleware::from_fn(busy))
        // No response is ever to be read as another type than it says (a challenge echoed
        // as text/plain stays text).
        .layer(SetResponseHeaderLayer::overriding(
            axum::http::header::X_CONTENT_TYPE_OPTIONS,
            axum::http::HeaderValue::from_static("nosniff"),
        ))
        .with_state(state)
}

/// What `/healthz` and `/readyz` answer.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct Status {
    /// `ok` (alive) or `ready` (the database answers).
    status: &'static str,
}

/// Alive: the process answers (nothing else is checked).
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "service",
    responses((status = 200, description = "Alive", body = Status), openapi::Limits)
)]
async fn healthz() -> Json<Status> {
    Json(Status { status: "ok" })
}

/// Prometheus text format, for the clients `SYNDIC_METRICS_ALLOW` lets in.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "service",
    responses(
        (status = 200, description = "The metrics, in the Prometheus text format", body = String, content_type = "text/plain"),
        (status = 403, description = "This client's address is not in `SYNDIC_METRICS_ALLOW`", body = error::ErrorBody),
        openapi::Limits,
    )
)]
async fn metrics(
    State(state): State<AppState>,
    parts: axum::http::request::Parts,
) -> Result<impl axum::response::IntoResponse, ApiError> {
    let client = client::client_ip(&parts, &state.config.trusted_proxies);
    if !client.is_some_and(|ip| state.config.metrics_allow.iter().any(|n| n.contains(&ip))) {
        return Err(ApiError::Forbidden(
            "metrics are not served to this address (SYNDIC_METRICS_ALLOW)".into(),
        ));
    }
    // A database that does not answer leaves the gauge as it was; the other metrics are
    // still served.
    let counts = state.store.hub_topic_counts().await;
    if let Err(e) = &counts {
        tracing::warn!(error = %e, "hub subscriptions not counted for /metrics");
    }
    // The gauge is set from this store and rendered in one step, so that two stores in one
    // process (the tests') never mix their counts in one scrape.
    static SCRAPE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let text = {
        let _one = SCRAPE.lock().unwrap_or_else(|e| e.into_inner());
        if let Ok(counts) = &counts {
            crate::metrics::METRICS.set_hub_topics(counts);
        }
        crate::metrics::METRICS.render()
    };
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    ))
}

/// The method as a metric label: the standard methods by name, anything else as `other`, so
/// that invented methods cannot add series.
fn method_label(m: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *m {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "other",
    }
}

/// Longest request target accepted (414 past it).
const MAX_URI_BYTES: usize = 8 * 1024;

/// Refuses oversized request targets (414) and header sections (431) with a JSON body, before
/// any handler sees them.
async fn limit_head(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Result<axum::response::Response, ApiError> {
    let uri = req.uri().to_string().len();
    if uri > MAX_URI_BYTES {
        return Err(ApiError::HeadTooLarge(
            axum::http::StatusCode::URI_TOO_LONG,
            format!("the request target is {uri} bytes; at most {MAX_URI_BYTES} are accepted"),
        ));
    }
    let head = header_bytes(req.headers());
    if head > MAX_HEAD_BYTES {
        return Err(ApiError::HeadTooLarge(
            axum::http::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            format!("the headers are {head} bytes; at most {MAX_HEAD_BYTES} are accepted"),
        ));
    }
    Ok(next.run(req).await)
}

/// The size of a header section as [`limit_head`] counts it.
fn header_bytes(headers: &axum::http::HeaderMap) -> usize {
    headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum()
}

/// True when [`limit_head`] lets a request through whose target is `uri` bytes long.
fn head_within_limits<B>(uri: usize, req: &axum::http::Request<B>) -> bool {
    uri <= MAX_URI_BYTES && header_bytes(req.headers()) <= MAX_HEAD_BYTES
}

/// Gives a request `SYNDIC_REQUEST_TIMEOUT` in all (reading its body included), then answers
/// 408 with the JSON error body. The handler's future is dropped, which stops its work: an
/// ingest's blocking part sees its cancellation flag (`ingest::cancel`), and a transaction
/// not committed is rolled back.
async fn deadline(
    State(limit): State<Duration>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(resp) => resp,
        Err(_elapsed) => ApiError::Timeout(limit).into_response(),
    }
}

/// Counts every request by route template (not the raw path, which would make a series per
/// article) and method, status and duration.
async fn track(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let method = method_label(req.method());
    let started = std::time::Instant::now();
    let resp = next.run(req).await;
    count(method, route, resp.status(), started);
    resp
}

/// Records a request as [`track`] does: by method, route template and status, and its
/// duration by route.
fn count(method: &str, route: String, status: axum::http::StatusCode, started: Instant) {
    let m = &crate::metrics::METRICS;
    m.requests
        .get_or_create(&crate::metrics::RouteLabels {
            method: method.to_owned(),
            route: route.clone(),
            status: status.as_u16(),
        })
        .inc();
    m.request_seconds
        .get_or_create(&crate::metrics::RouteOnly { route })
        .observe(started.elapsed().as_secs_f64());
}

/// Ready to serve: the database answers (it was migrated when it was opened).
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "service",
    responses(
        (status = 200, description = "Ready", body = Status),
        (status = 503, description = "The database does not answer, or its schema is not this version's", body = error::ErrorBody),
        openapi::Limits,
    )
)]
async fn readyz(State(state): State<AppState>) -> Result<Json<Status>, ApiError> {
    state.store.ping().await.map_err(|e| {
        tracing::warn!(error = %e, "database not ready");
        ApiError::Unavailable(match e {
            crate::store::StoreError::Schema(_) => e.to_string(),
            _ => "the database does not answer".into(),
        })
    })?;
    Ok(Json(Status { status: "ready" }))
}

/// Cap on a request's line and headers together (hyper answers 431 past it).
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Marks a request in flight on its connection (see [`conn`]) until its response is ready.
async fn busy(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let _busy = req
        .extensions()
        .get::<Arc<conn::Activity>>()
        .map(conn::Activity::begin);
    next.run(req).await
}
