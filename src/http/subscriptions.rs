//! `/api/v1/subscriptions`: subscribe a channel to an upstream feed, list, show, remove, and
//! poll one now. `/api/v1/hub/subscriptions`: the other way round, who subscribes to syndic's
//! feeds through its hub, for the operator to see and remove.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, ApiJson, ApiPath, AppState};
use crate::model::Subscription;
use crate::poll::{schedule, subscribe};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateSubscription {
    url: String,
    channel: String,
    /// "30m", "2h"…; the default is 30 minutes.
    every: Option<String>,
    /// Fetch each new item's page and publish its main text (docs/full-text.md).
    #[serde(default)]
    full_content: bool,
}

/// `PATCH /api/v1/subscriptions/{id}`: the options that may change.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchSubscription {
    full_content: Option<bool>,
}

pub async fn create(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CreateSubscription>,
) -> Result<Response, ApiError> {
    let channel = state.channel(&body.channel).await?;
    let every = match body.every.as_deref() {
        Some(e) => schedule::parse_interval(e).map_err(ApiError::BadRequest)?,
        None => schedule::DEFAULT_INTERVAL,
    };
    let done = subscribe::subscribe(
        &state.store,
        &state.poller,
        &channel,
        &body.url,
        every,
        body.full_content,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(done)).into_response())
}

pub async fn list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let subs = state.store.subscriptions().await?;
    Ok(Json(json!({ "subscriptions": subs })))
}

async fn find(state: &AppState, id: i64) -> Result<Subscription, ApiError> {
    state
        .store
        .subscription(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no subscription #{id}")))
}

pub async fn show(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Subscription>, ApiError> {
    Ok(Json(find(&state, id).await?))
}

/// Changes a subscription's options and answers with the subscription.
pub async fn patch(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<PatchSubscription>,
) -> Result<Json<Subscription>, ApiError> {
    let patch = crate::model::SubscriptionPatch {
        full_content: body.full_content,
    };
    if patch.is_empty() {
        return Err(ApiError::BadRequest(
            "nothing to change: give full_content".into(),
        ));
    }
    state
        .store
        .update_subscription(id, &patch)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("no subscription #{id}")))
}

pub async fn delete(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    if state.store.delete_subscription(id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!("no subscription #{id}")))
    }
}

/// Every subscriber of the hub: callback, topic, lease, delivery state (never the secret).
pub async fn hub_list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let subs = state.store.hub_subscriptions().await?;
    Ok(Json(json!({ "hub_subscriptions": subs })))
}

/// Removes a hub subscription: its callback gets no more deliveries (it may subscribe again).
pub async fn hub_remove(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    let subs = state.store.hub_subscriptions().await?;
    if !subs.iter().any(|s| s.id == id) {
        return Err(ApiError::NotFound(format!("no hub subscription #{id}")));
    }
    state.store.hub_remove(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Polls one subscription now, due or not (a disabled one too: that is how a person retries
/// a feed that answered 410), and answers with what the poll did.
pub async fn poll_now(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Value>, ApiError> {
    let sub = find(&state, id).await?;
    let report = state.poller.poll(sub).await?;
    let sub = find(&state, id).await?;
    Ok(Json(json!({ "poll": report, "subscription": sub })))
}
