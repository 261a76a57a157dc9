//! `/api/v1/channels`: create, list, show, patch and delete channels.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, ApiJson, ApiPath, AppState};
use crate::model::{
    Channel, ChannelPatch, Dedupe, NewChannel, channel_field, channel_language, channel_link,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateChannel {
    slug: String,
    title: String,
    #[serde(default)]
    description: String,
    link: Option<String>,
    language: Option<String>,
    /// `"off"`, `"url"` (default) or `"story"` (docs/dedupe.md).
    dedupe: Option<String>,
}

fn dedupe(s: &str) -> Result<Dedupe, ApiError> {
    Dedupe::parse(s).map_err(ApiError::BadRequest)
}

/// A channel with its feed URLs, as the API shows it.
fn view(state: &AppState, c: &Channel) -> Value {
    crate::views::channel(c, &state.config.base_url)
}

fn clean(field: &str, s: String) -> Result<String, ApiError> {
    channel_field(field, s).map_err(ApiError::BadRequest)
}

fn clean_link(link: Option<String>) -> Result<Option<String>, ApiError> {
    channel_link(link).map_err(ApiError::BadRequest)
}

pub async fn create(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CreateChannel>,
) -> Result<Response, ApiError> {
    let new = NewChannel::validate(
        &body.slug,
        body.title,
        body.description,
        body.link,
        body.language,
    )
    .map_err(ApiError::BadRequest)?;
    let new = NewChannel {
        dedupe: body
            .dedupe
            .as_deref()
            .map(dedupe)
            .transpose()?
            .unwrap_or_default(),
        ..new
    };
    let channel = state.store.create_channel(&new).await?;
    Ok((StatusCode::CREATED, Json(view(&state, &channel))).into_response())
}

pub async fn list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let channels = state.store.channels().await?;
    let items: Vec<Value> = channels.iter().map(|c| view(&state, c)).collect();
    Ok(Json(json!({ "channels": items })))
}

pub async fn show(
    State(state): State<AppState>,
    ApiPath(slug): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let channel = state.channel(&slug).await?;
    Ok(Json(view(&state, &channel)))
}

/// `null` clears an optional field; an absent field stays as it is.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchChannel {
    title: Option<String>,
    description: Option<String>,
    #[serde(default, deserialize_with = "present")]
    link: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    language: Option<Option<String>>,
    /// Retention: at most this many articles (`null`: keep all).
    #[serde(default, deserialize_with = "present")]
    retain_max_articles: Option<Option<u32>>,
    /// Retention: only articles newer than this many days (`null`: keep all).
    #[serde(default, deserialize_with = "present")]
    retain_days: Option<Option<u32>>,
    /// `"off"`, `"url"` or `"story"`: applies to items imported from now on.
    dedupe: Option<String>,
}

/// Marks a field that is present, even as `null`, as `Some`.
fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

pub async fn update(
    State(state): State<AppState>,
    ApiPath(slug): ApiPath<String>,
    ApiJson(body): ApiJson<PatchChannel>,
) -> Result<Json<Value>, ApiError> {
    let channel = state.channel(&slug).await?;
    let patch = ChannelPatch {
        title: body.title.map(|t| clean("title", t)).transpose()?,
        description: body
            .description
            .map(|d| clean("description", d))
            .transpose()?,
        link: body.link.map(clean_link).transpose()?,
        language: body
            .language
            .map(|l| channel_language(l).map_err(ApiError::BadRequest))
            .transpose()?,
        retain_max_articles: body.retain_max_articles,
        retain_days: body.retain_days,
        dedupe: body.dedupe.as_deref().map(dedupe).transpose()?,
    };
    if patch.retain_max_articles == Some(Some(0)) || patch.retain_days == Some(Some(0)) {
        return Err(ApiError::BadRequest(
            "retention must keep at least 1 article and 1 day (null keeps all)".into(),
        ));
    }
    if patch.is_empty() {
        return Ok(Json(view(&state, &channel)));
    }
    let updated = state
        .store
        .update_channel(&channel.slug, &patch)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no channel {slug:?}")))?;
    // A new retention applies at once, not at the next pruning round.
    crate::catalog::prune(&state.store, &updated, chrono::Utc::now()).await?;
    let updated = state.channel(&slug).await?;
    Ok(Json(view(&state, &updated)))
}

pub async fn delete(
    State(state): State<AppState>,
    ApiPath(slug): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let channel = state.channel(&slug).await?;
    state.store.delete_channel(&channel.slug).await?;
    state.feeds.forget(channel.id);
    Ok(StatusCode::NO_CONTENT)
}
