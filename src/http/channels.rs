//! `/api/v1/channels`: create, list, show, patch and delete channels.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::error::ErrorBody;
use super::openapi::{Always, Authed};
use super::{ApiError, ApiJson, ApiPath, AppState};
use crate::model::{
    Channel, ChannelPatch, Dedupe, NewChannel, channel_field, channel_language, channel_link,
};
use crate::views::ApiChannel;

/// `POST /api/v1/channels`: a new channel.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateChannel {
    /// 1 to 64 lowercase letters, digits and inner hyphens: the channel's URL name.
    slug: String,
    title: String,
    #[serde(default)]
    description: String,
    /// The site the channel stands for (http or https).
    link: Option<String>,
    /// A language tag (`fr`, `en-GB`).
    language: Option<String>,
    /// `"off"`, `"url"` (default) or `"story"` (docs/dedupe.md).
    #[schema(value_type = Option<Dedupe>)]
    dedupe: Option<String>,
}

/// Every channel.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ChannelList<'a> {
    channels: Vec<ApiChannel<'a>>,
}

fn dedupe(s: &str) -> Result<Dedupe, ApiError> {
    Dedupe::parse(s).map_err(ApiError::BadRequest)
}

/// A channel with its feed URLs, as the API shows it.
fn view<'a>(state: &AppState, c: &'a Channel) -> ApiChannel<'a> {
    ApiChannel::new(c, &state.config.base_url)
}

fn clean(field: &str, s: String) -> Result<String, ApiError> {
    channel_field(field, s).map_err(ApiError::BadRequest)
}

fn clean_link(link: Option<String>) -> Result<Option<String>, ApiError> {
    channel_link(link).map_err(ApiError::BadRequest)
}

/// Creates a channel.
#[utoipa::path(
    post,
    path = "/channels",
    tag = "channels",
    security(("token" = [])),
    request_body = CreateChannel,
    responses(
        (status = 201, description = "The channel, with its feed URLs", body = ApiChannel),
        (status = 400, description = "A field is invalid or unknown, or the body is not JSON", body = ErrorBody),
        (status = 409, description = "The slug is taken", body = ErrorBody),
        (status = 413, description = "The body is over `SYNDIC_MAX_BODY`", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        Authed,
        Always,
    )
)]
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

/// Every channel, in slug order.
#[utoipa::path(
    get,
    path = "/channels",
    tag = "channels",
    security(("token" = [])),
    responses(
        (status = 200, description = "Every channel", body = ChannelList),
        Authed,
        Always,
    )
)]
pub async fn list(State(state): State<AppState>) -> Result<Response, ApiError> {
    let channels = state.store.channels().await?;
    let channels = channels.iter().map(|c| view(&state, c)).collect();
    Ok(Json(ChannelList { channels }).into_response())
}

/// One channel.
#[utoipa::path(
    get,
    path = "/channels/{slug}",
    tag = "channels",
    security(("token" = [])),
    params(("slug" = String, Path, description = "The channel's slug")),
    responses(
        (status = 200, description = "The channel", body = ApiChannel),
        (status = 404, description = "No such channel", body = ErrorBody),
        Authed,
        Always,
    )
)]
pub async fn show(
    State(state): State<AppState>,
    ApiPath(slug): ApiPath<String>,
) -> Result<Response, ApiError> {
    let channel = state.channel(&slug).await?;
    Ok(Json(view(&state, &channel)).into_response())
}

/// `PATCH /api/v1/channels/{slug}`: `null` clears an optional field; an absent field stays
/// as it is.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchChannel {
    #[schema(required = false)]
    title: Option<String>,
    #[schema(required = false)]
    description: Option<String>,
    /// The site the channel stands for (`null` clears it).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, required = false)]
    link: Option<Option<String>>,
    /// A language tag (`null` clears it).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, required = false)]
    language: Option<Option<String>>,
    /// Retention: at most this many articles (`null`: keep all).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u32>, required = false, minimum = 1)]
    retain_max_articles: Option<Option<u32>>,
    /// Retention: only articles newer than this many days (`null`: keep all).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u32>, required = false, minimum = 1)]
    retain_days: Option<Option<u32>>,
    /// `"off"`, `"url"` or `"story"`: applies to items imported from now on.
    #[schema(value_type = Option<Dedupe>, required = false)]
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

/// Changes a channel's fields; a new retention prunes at once.
#[utoipa::path(
    patch,
    path = "/channels/{slug}",
    tag = "channels",
    security(("token" = [])),
    params(("slug" = String, Path, description = "The channel's slug")),
    request_body = PatchChannel,
    responses(
        (status = 200, description = "The channel as it is now", body = ApiChannel),
        (status = 400, description = "A field is invalid or unknown, or the body is not JSON", body = ErrorBody),
        (status = 404, description = "No such channel", body = ErrorBody),
        (status = 413, description = "The body is over `SYNDIC_MAX_BODY`", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        Authed,
        Always,
    )
)]
pub async fn update(
    State(state): State<AppState>,
    ApiPath(slug): ApiPath<String>,
    ApiJson(body): ApiJson<PatchChannel>,
) -> Result<Response, ApiError> {
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
        return Ok(Json(view(&state, &channel)).into_response());
    }
    let updated = state
        .store
        .update_channel(&channel.slug, &patch)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no channel {slug:?}")))?;
    // A new retention applies at once, not at the next pruning round.
    crate::catalog::prune(&state.store, &updated, chrono::Utc::now()).await?;
    let updated = state.channel(&slug).await?;
    Ok(Json(view(&state, &updated)).into_response())
}

/// Deletes a channel.
#[utoipa::path(
    delete,
    path = "/channels/{slug}",
    tag = "channels",
    security(("token" = [])),
    params(("slug" = String, Path, description = "The channel's slug")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such channel", body = ErrorBody),
        Authed,
        Always,
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    ApiPath(slug): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let channel = state.channel(&slug).await?;
    state.store.delete_channel(&channel.slug).await?;
    state.feeds.forget(channel.id);
    Ok(StatusCode::NO_CONTENT)
}
