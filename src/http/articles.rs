//! `/api/v1/channels/{slug}/articles`: ingest (any supported format, all or nothing), list
//! newest first with a keyset cursor, and get, put or delete one article by its id (guid).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::error::ErrorBody;
use super::openapi::{Always, Authed};
use super::{ApiError, ApiPath, ApiQuery, AppState};
use crate::catalog::{self, Outcome, Tombstones};
use crate::formats::{self, InputKind};
use crate::ingest::{self, ItemError, Report};
use crate::model::Cursor;
use crate::views::{ApiArticle, ArticlePage};

const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 500;

fn body_kind(headers: &HeaderMap) -> Result<InputKind, ApiError> {
    let ct = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            ApiError::UnsupportedMediaType(
                "a Content-Type is required: application/json, application/rss+xml or application/atom+xml".into(),
            )
        })?;
    InputKind::from_content_type(ct).ok_or_else(|| {
        ApiError::UnsupportedMediaType(format!(
            "{ct:?} is not supported: send application/json (JSON Feed items), application/rss+xml or application/atom+xml"
        ))
    })
}

fn report_response(report: &Report) -> Response {
    let status = if report.created > 0 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (status, Json(report)).into_response()
}

/// A JSON ingest body (docs/formats.md, ingest rules): an array of JSON Feed items, or one
/// object: a JSON Feed document (its `items` are taken) or one item.
#[derive(utoipa::ToSchema)]
#[serde(untagged)]
#[allow(dead_code)] // Describes the body; `formats::parse` reads it.
pub enum JsonItems {
    Items(Vec<serde_json::Map<String, serde_json::Value>>),
    One(serde_json::Map<String, serde_json::Value>),
}

/// Ingests articles: all or nothing. Each item is created, updated, left unchanged, or
/// skipped when it was deleted before.
#[utoipa::path(
    post,
    path = "/channels/{slug}/articles",
    tag = "articles",
    security(("token" = [])),
    params(("slug" = String, Path, description = "The channel's slug")),
    request_body(
        description = "JSON Feed items (one item, an array of items, or a JSON Feed document), \
                       an RSS 2.0 (or RSS 1.0) document or an Atom 1.0 document; generic XML types are sniffed",
        content(
            (JsonItems = "application/json"),
            (JsonItems = "application/feed+json"),
            (String = "application/rss+xml"),
            (String = "application/atom+xml"),
            (String = "application/xml"),
            (String = "text/xml"),
            (String = "application/rdf+xml"),
        )
    ),
    responses(
        (status = 201, description = "At least one article was created", body = Report),
        (status = 200, description = "Nothing was created (updated, unchanged or skipped)", body = Report),
        (status = 400, description = "The body cannot be parsed", body = ErrorBody),
        (status = 404, description = "No such channel", body = ErrorBody),
        (status = 413, description = "The body is over `SYNDIC_MAX_BODY`", body = ErrorBody),
        (status = 415, description = "No Content-Type, or one that is not taken", body = ErrorBody),
        (status = 422, description = "An item is invalid: `index` and `field` say which; nothing was written", body = ErrorBody),
        Authed,
        Always,
    )
)]
pub async fn ingest(
    State(state): State<AppState>,
    ApiPath(slug): ApiPath<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let channel = state.channel(&slug).await?;
    let kind = body_kind(&headers)?;
    let body = body.map_err(|r| ApiError::body(r, state.config.max_body))?;
    let report = ingest::ingest_body(&state.store, &channel, kind, body).await?;
    tracing::info!(
        channel = %channel.slug,
        created = report.created,
        updated = report.updated,
        unchanged = report.unchanged,
        skipped = report.skipped_deleted,
        "ingested"
    );
    Ok(report_response(&report))
}

/// Paging of the article list.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Articles per page: 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    before: Option<String>,
}

/// A channel's articles, newest first, a page at a time.
#[utoipa::path(
    get,
    path = "/channels/{slug}/articles",
    tag = "articles",
    security(("token" = [])),
    params(("slug" = String, Path, description = "The channel's slug"), ListQuery),
    responses(
        (status = 200, description = "A page of articles", body = ArticlePage),
        (status = 400, description = "`limit` out of range or `before` not a cursor", body = ErrorBody),
        (status = 404, description = "No such channel", body = ErrorBody),
        Authed,
        Always,
    )
)]
pub async fn list(
    State(state): State<AppState>,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Response, ApiError> {
    let channel = state.channel(&slug).await?;
    let limit = q.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit must be between 1 and {MAX_PAGE}"
        )));
    }
    let before = match q.before.as_deref() {
        Some(c) => Some(
            Cursor::decode(c)
                .ok_or_else(|| ApiError::BadRequest(format!("before: {c:?} is not a cursor")))?,
        ),
        None => None,
    };
    let articles = state.store.articles(&channel, limit, before).await?;
    Ok(Json(ArticlePage::new(&articles, limit)).into_response())
}

/// One article.
#[utoipa::path(
    get,
    path = "/channels/{slug}/articles/{id}",
    tag = "articles",
    security(("token" = [])),
    params(
        ("slug" = String, Path, description = "The channel's slug"),
        ("id" = String, Path, description = "The article's id (its guid)"),
    ),
    responses(
        (status = 200, description = "The article: its JSON Feed item", body = ApiArticle),
        (status = 404, description = "No such channel or article", body = ErrorBody),
        Authed,
        Always,
    )
)]
pub async fn show(
    State(state): State<AppState>,
    ApiPath((slug, id)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    let channel = state.channel(&slug).await?;
    let article = state
        .store
        .article(&channel, &id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no article {id:?} in channel {slug:?}")))?;
    Ok(Json(ApiArticle::new(&article)).into_response())
}

/// Creates or replaces the one article the path names (bringing it back if it was deleted).
#[utoipa::path(
    put,
    path = "/channels/{slug}/articles/{id}",
    tag = "articles",
    security(("token" = [])),
    params(
        ("slug" = String, Path, description = "The channel's slug"),
        ("id" = String, Path, description = "The article's id (its guid)"),
    ),
    request_body(
        description = "One JSON Feed item; its `id`, when given, is the path's",
        content((Object = "application/json"), (Object = "application/feed+json"))
    ),
    responses(
        (status = 201, description = "Created (or brought back)", body = ApiArticle),
        (status = 200, description = "Replaced, or unchanged", body = ApiArticle),
        (status = 400, description = "The body is not one JSON Feed item", body = ErrorBody),
        (status = 404, description = "No such channel, or no id", body = ErrorBody),
        (status = 413, description = "The body is over `SYNDIC_MAX_BODY`", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        (status = 422, description = "The item is invalid, or its id is not the path's", body = ErrorBody),
        Authed,
        Always,
    )
)]
pub async fn put(
    State(state): State<AppState>,
    ApiPath((slug, id)): ApiPath<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let channel = state.channel(&slug).await?;
    let id = id.trim().to_owned();
    if id.is_empty() {
        return Err(ApiError::NotFound("an article id is needed".into()));
    }
    if body_kind(&headers)? != InputKind::Json {
        return Err(ApiError::UnsupportedMediaType(
            "PUT takes one JSON Feed item as application/json".into(),
        ));
    }
    let body = body.map_err(|r| ApiError::body(r, state.config.max_body))?;
    let mut drafts = formats::parse(InputKind::Json, &body)?;
    if drafts.len() != 1 {
        return Err(ApiError::BadRequest("PUT takes exactly one item".into()));
    }
    let draft = &mut drafts[0];
    match draft.id.as_deref().map(str::trim).filter(|g| !g.is_empty()) {
        None => draft.id = Some(id.clone()),
        Some(given) if given != id => {
            return Err(ApiError::InvalidItem(ItemError {
                index: 0,
                field: "id".into(),
                message: format!("the item's id {given:?} differs from the URL's {id:?}"),
            }));
        }
        Some(_) => {}
    }
    let report = ingest::ingest_drafts(&state.store, &channel, drafts, Tombstones::Restore).await?;
    let article = state
        .store
        .article(&channel, &id)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("article vanished after PUT")))?;
    let status = match report.items.first().map(|i| i.outcome) {
        Some(Outcome::Created) => StatusCode::CREATED,
        _ => StatusCode::OK,
    };
    Ok((status, Json(ApiArticle::new(&article))).into_response())
}

/// Deletes an article; a tombstone keeps later imports of it out (PUT brings it back).
#[utoipa::path(
    delete,
    path = "/channels/{slug}/articles/{id}",
    tag = "articles",
    security(("token" = [])),
    params(
        ("slug" = String, Path, description = "The channel's slug"),
        ("id" = String, Path, description = "The article's id (its guid)"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such channel or article", body = ErrorBody),
        Authed,
        Always,
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    ApiPath((slug, id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let channel = state.channel(&slug).await?;
    if catalog::delete(&state.store, &channel, &id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!(
            "no article {id:?} in channel {slug:?}"
        )))
    }
}
