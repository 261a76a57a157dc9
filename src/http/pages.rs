//! The browser side: server-rendered HTML pages (the channel list, one channel, one article),
//! the OPML list of every published feed, and the XSL stylesheet that makes an RSS or Atom
//! feed opened in a browser readable. Pages carry feed autodiscovery links, so pasting the
//! site's address into a reader finds the feeds. Templates are embedded at compile time; they
//! are HTML-escaped by their `.html` names, and only `content_html`, which ingest sanitized,
//! is written as is. The pages answer errors in HTML; the API keeps its JSON errors.

use std::sync::LazyLock;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequestParts, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::http::{HeaderName, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use chrono::Utc;
use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value, context, escape_formatter};
use serde::Deserialize;

use super::AppState;
use crate::formats::{FeedFormat, opml};
use crate::model::{Channel, Cursor, Slug};
use crate::store::StoreError;
use views::{ArticleItem, ArticleView, ChannelView};

mod views;

/// Where the feed stylesheet is served: the path the feeds' `<?xml-stylesheet?>` names,
/// defined once, beside the writers.
pub const STYLESHEET_PATH: &str = crate::formats::STYLESHEET_PATH;

/// Articles on a channel page; older ones are a keyset cursor away.
const PAGE_SIZE: u32 = 50;
/// Articles under each channel on the index.
const LATEST: u32 = 5;

const STYLESHEET: &str = include_str!("../../assets/feed.xsl");

/// The templates, by name; the `.html` suffix is what turns HTML escaping on.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    ("macros.html", include_str!("../../templates/macros.html")),
    ("index.html", include_str!("../../templates/index.html")),
    ("channel.html", include_str!("../../templates/channel.html")),
    ("article.html", include_str!("../../templates/article.html")),
    ("feed.html", include_str!("../../templates/feed.html")),
    ("error.html", include_str!("../../templates/error.html")),
];

/// No script runs on these pages: a script that slipped into an article would not either.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src http: https: data:; \
                   media-src http: https:; base-uri 'none'; form-action 'none'; \
                   frame-ancestors 'none'";

static TEMPLATE_ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    // A misspelt variable is an error, not an empty string; `{% if %}` may still test one.
    env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
    // minijinja's own HTML escaping also writes `/` as `&#x2f;`, which HTML does not need and
    // which makes every URL in the source unreadable; `& < > " '` are what matter.
    env.set_formatter(|out, state, value| {
        if let (AutoEscape::Html, false, Some(s)) =
            (state.auto_escape(), value.is_safe(), value.as_str())
        {
            return Ok(out.write_str(&html_escape::encode_quoted_attribute(s))?);
        }
        escape_formatter(out, state, value)
    });
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .unwrap_or_else(|e| panic!("template {name}: {e:#}"));
    }
    env
});

/// A failed page, answered as an HTML page.
#[derive(Debug)]
pub enum PageError {
    NotFound(String),
    BadRequest(String),
    Internal(anyhow::Error),
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, heading, message) = match self {
            PageError::NotFound(m) => (StatusCode::NOT_FOUND, "Page not found", m),
            PageError::BadRequest(m) => (StatusCode::BAD_REQUEST, "Bad request", m),
            PageError::Internal(cause) => {
                tracing::error!(error = ?cause, "page failed");
                let m = "Something went wrong on our side. Please try again later.".to_owned();
                (StatusCode::INTERNAL_SERVER_ERROR, "Server error", m)
            }
        };
        let ctx = context! { heading, message, discover => Vec::<()>::new() };
        match render("error.html", ctx) {
            Ok(html) => (status, page(html)).into_response(),
            // The error page itself failed: say so plainly rather than loop.
            Err(_) => (
                status,
                Html(format!("<!doctype html><title>{heading}</title>")),
            )
                .into_response(),
        }
    }
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> PageError {
        PageError::Internal(e.into())
    }
}

impl From<PathRejection> for PageError {
    fn from(r: PathRejection) -> PageError {
        PageError::BadRequest(r.body_text())
    }
}

impl From<QueryRejection> for PageError {
    fn from(r: QueryRejection) -> PageError {
        PageError::BadRequest(r.body_text())
    }
}

/// `Path` whose rejection is an HTML page.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(PageError))]
pub struct PagePath<T>(T);

/// `Query` whose rejection is an HTML page.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(PageError))]
pub struct PageQuery<T>(T);

fn render(name: &str, ctx: Value) -> Result<Html<String>, PageError> {
    let html = TEMPLATE_ENV
        .get_template(name)
        .and_then(|t| t.render(ctx))
        .map_err(|e| PageError::Internal(anyhow::anyhow!("template {name}: {e:#}")))?;
    Ok(Html(html))
}

/// A rendered page with the headers every page carries.
fn page(html: Html<String>) -> Response {
    (
        [
            (CONTENT_SECURITY_POLICY, CSP),
            (HeaderName::from_static("referrer-policy"), "same-origin"),
        ],
        html,
    )
        .into_response()
}

/// The channel a path names, or a 404 page.
async fn channel(state: &AppState, slug: &str) -> Result<Channel, PageError> {
    let not_found = || PageError::NotFound(format!("There is no channel “{slug}” here."));
    let slug = Slug::parse(slug).map_err(|_| not_found())?;
    state.store.channel(&slug).await?.ok_or_else(not_found)
}

/// The instance's front page: every channel and its latest articles.
#[utoipa::path(
    get,
    path = "/",
    tag = "feeds",
    responses(
        (status = 200, description = "An HTML page", body = String, content_type = "text/html"),
        (status = 500, description = "A failure on the server (an HTML page)", body = String, content_type = "text/html"),
        super::openapi::Limits,
    )
)]
pub async fn index(State(state): State<AppState>) -> Result<Response, PageError> {
    let channels = state.store.channels().await?;
    let mut items = Vec::with_capacity(channels.len());
    for c in &channels {
        let latest = state.store.articles(c, LATEST, None).await?;
        items.push(context! {
            channel => Serde(ChannelView::new(&state.config.base_url, c)),
            articles => Serde(latest.iter().map(|a| ArticleItem::new(c, a)).collect::<Vec<_>>()),
        });
    }
    let discover: Vec<_> = channels
        .iter()
        .map(|c| ChannelView::new(&state.config.base_url, c))
        .collect();
    render(
        "index.html",
        context! { channels => items, discover => Serde(discover) },
    )
    .map(page)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChannelQuery {
    /// An older page: the cursor of the page's "older" link.
    before: Option<String>,
}

/// A channel's page: its articles, newest first, and its feeds.
#[utoipa::path(
    get,
    path = "/channels/{slug}",
    tag = "feeds",
    params(("slug" = String, Path, description = "The channel's slug"), ChannelQuery),
    responses(
        (status = 200, description = "An HTML page", body = String, content_type = "text/html"),
        (status = 400, description = "`before` is not a cursor (an HTML page)", body = String, content_type = "text/html"),
        (status = 404, description = "No such channel (an HTML page)", body = String, content_type = "text/html"),
        (status = 500, description = "A failure on the server (an HTML page)", body = String, content_type = "text/html"),
        super::openapi::Limits,
    )
)]
pub async fn channel_page(
    State(state): State<AppState>,
    PagePath(slug): PagePath<String>,
    PageQuery(q): PageQuery<ChannelQuery>,
) -> Result<Response, PageError> {
    let c = channel(&state, &slug).await?;
    let before = match q.before.as_deref() {
        Some(s) => Some(Cursor::decode(s).ok_or_else(|| {
            PageError::BadRequest(format!("“{s}” is not a position in this channel."))
        })?),
        None => None,
    };
    let articles = state.store.articles(&c, PAGE_SIZE, before).await?;
    let view = ChannelView::new(&state.config.base_url, &c);
    // A full page may have older articles after it; the last one's cursor leads there.
    let older = (articles.len() == PAGE_SIZE as usize)
        .then(|| articles.last())
        .flatten()
        .map(|a| format!("{}?before={}", view.href, a.cursor.encode()));
    let newer = before.is_some().then(|| view.href.clone());
    let items: Vec<_> = articles.iter().map(|a| ArticleItem::new(&c, a)).collect();
    render(
        "channel.html",
        context! {
            discover => Serde([&view]),
            c => Serde(&view),
            articles => Serde(items),
            older,
            newer,
        },
    )
    .map(page)
}

/// An article's page.
#[utoipa::path(
    get,
    path = "/channels/{slug}/{article}",
    tag = "feeds",
    params(
        ("slug" = String, Path, description = "The channel's slug"),
        ("article" = String, Path, description = "The article's id"),
    ),
    responses(
        (status = 200, description = "An HTML page", body = String, content_type = "text/html"),
        (status = 404, description = "No such channel or article (an HTML page)", body = String, content_type = "text/html"),
        (status = 500, description = "A failure on the server (an HTML page)", body = String, content_type = "text/html"),
        super::openapi::Limits,
    )
)]
pub async fn article_page(
    State(state): State<AppState>,
    PagePath((slug, id)): PagePath<(String, String)>,
) -> Result<Response, PageError> {
    let c = channel(&state, &slug).await?;
    let stored = state
        .store
        .article(&c, &id)
        .await?
        .ok_or_else(|| PageError::NotFound(format!("“{}” has no article “{id}”.", c.title)))?;
    let view = ChannelView::new(&state.config.base_url, &c);
    render(
        "article.html",
        context! {
            discover => Serde([&view]),
            c => Serde(&view),
            a => Serde(ArticleView::new(&c, &stored)),
        },
    )
    .map(page)
}

/// A feed opened in a browser (it asks for HTML and names no feed type): a page saying what a
/// feed is, with its address to copy, ways to subscribe, and the articles of that page of the
/// feed. Browsers are removing XSLT, so the styled XML (still served to whoever asks for XML)
/// can no longer be what a person sees.
pub async fn feed_page(
    state: &AppState,
    c: &Channel,
    format: FeedFormat,
    address: &str,
    feed_page: &crate::model::Page,
) -> Result<Response, PageError> {
    let articles = state.store.page(c, feed_page).await?;
    let view = ChannelView::new(&state.config.base_url, c);
    let items: Vec<_> = articles.iter().map(|a| ArticleItem::new(c, a)).collect();
    let format = format.name();
    render(
        "feed.html",
        context! {
            discover => Serde([&view]),
            c => Serde(&view),
            articles => Serde(items),
            format,
            address,
        },
    )
    .map(page)
}

/// Every published channel as OPML 2.0, for readers that import a list of feeds.
/// Every channel's RSS feed as an OPML 2.0 outline, for a reader to import.
#[utoipa::path(
    get,
    path = "/opml.xml",
    tag = "feeds",
    responses(
        (status = 200, description = "An OPML document", body = String, content_type = "text/x-opml"),
        (status = 500, description = "A failure on the server (an HTML page)", body = String, content_type = "text/html"),
        super::openapi::Limits,
    )
)]
pub async fn opml(State(state): State<AppState>) -> Result<Response, PageError> {
    let base = &state.config.base_url;
    let channels = state.store.channels().await?;
    let urls: Vec<(String, String)> = channels
        .iter()
        .map(|c| {
            let feed = format!("{base}/feeds/{}/rss.xml", c.slug);
            let site = c
                .link
                .clone()
                .unwrap_or_else(|| format!("{base}/channels/{}", c.slug));
            (feed, site)
        })
        .collect();
    let title = format!("Channels published at {base}");
    let export = opml::OpmlExport {
        title: &title,
        date_created: Utc::now(),
        subscriptions: Vec::new(),
        channels: channels
            .iter()
            .zip(&urls)
            .map(|(c, (feed, site))| opml::OpmlChannel {
                title: &c.title,
                xml_url: feed,
                html_url: Some(site),
                description: &c.description,
            })
            .collect(),
    };
    Ok((
        [(CONTENT_TYPE, "text/x-opml; charset=utf-8")],
        opml::write(&export),
    )
        .into_response())
}

/// The XSL stylesheet the feeds point browsers to.
/// The XSLT stylesheet the XML feeds name, for the tools that apply it.
#[utoipa::path(
    get,
    path = "/feeds/style.xsl",
    tag = "feeds",
    responses(
        (status = 200, description = "An XSLT stylesheet", body = String, content_type = "text/xsl"),
        super::openapi::Limits,
    )
)]
pub async fn stylesheet() -> Response {
    (
        [
            (CONTENT_TYPE, "text/xsl; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_compiles() {
        for (name, _) in TEMPLATES {
            TEMPLATE_ENV.get_template(name).unwrap();
        }
    }

    #[test]
    fn html_templates_escape() {
        let out = render(
            "error.html",
            context! { heading => "<b>", message => "a & \"b\"", discover => Vec::<()>::new() },
        )
        .unwrap()
        .0;
        assert!(out.contains("<h1>&lt;b&gt;</h1>"), "{out}");
        assert!(out.contains("a &amp; &quot;b&quot;"), "{out}");
    }
}
