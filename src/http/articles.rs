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
use serde_json::Value;

use super::{ApiError, ApiPath, ApiQuery, AppState};
use crate::catalog::{self, Outcome, Tombstones};
use crate::formats::{self, InputKind};
use crate::ingest::{self, ItemError, Report};
use crate::model::{Cursor, StoredArticle};

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

/// An article as the API shows it: the JSON Feed item, plus when syndic first saw it.
fn view(s: &StoredArticle) -> Value {
    crate::views::article(s)
}

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

#[derive(Deserialize)]
pub struct ListQuery {
    limit: Option<u32>,
    before: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Value>, ApiError> {
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
    Ok(Json(crate::views::article_page(&articles, limit)))
}

pub async fn show(
    State(state): State<AppState>,
    ApiPath((slug, id)): ApiPath<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let channel = state.channel(&slug).await?;
    let article = state
        .store
        .article(&channel, &id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no article {id:?} in channel {slug:?}")))?;
    Ok(Json(view(&article)))
}

/// Creates or replaces the one article the path names (bringing it back if it was deleted).
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
    Ok((status, Json(view(&article))).into_response())
}

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
