//! `/api/v1/subscriptions`: subscribe a channel to an upstream feed, list, show, remove, and
//! poll one now. `/api/v1/hub/subscriptions`: the other way round, who subscribes to syndic's
//! feeds through its hub, for the operator to see and remove.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::error::ErrorBody;
use super::openapi::{Always, Authed};
use super::{ApiError, ApiJson, ApiPath, AppState};
use crate::model::{HubSubscription, Subscription};
use crate::poll::poller::PollReport;
use crate::poll::subscribe::Subscribed;
use crate::poll::{schedule, subscribe};

/// `POST /api/v1/subscriptions`: subscribe a channel to an upstream feed.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSubscription {
    /// The feed's URL, or a page that advertises feeds (the first is taken).
    url: String,
    /// The slug of the channel its items go to.
    channel: String,
    /// "30m", "2h"…; the default is 30 minutes.
    every: Option<String>,
    /// Fetch each new item's page and publish its main text (docs/full-text.md).
    #[serde(default)]
    full_content: bool,
}

/// `PATCH /api/v1/subscriptions/{id}`: the options that may change.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchSubscription {
    /// See `CreateSubscription.full_content`.
    full_content: Option<bool>,
}

/// Every subscription.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SubscriptionList {
    subscriptions: Vec<Subscription>,
}

/// Every subscriber of syndic's hub.
#[derive(Serialize, utoipa::ToSchema)]
pub struct HubSubscriptionList {
    hub_subscriptions: Vec<HubSubscription>,
}

/// What a poll did, and the subscription after it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PollNow {
    poll: PollReport,
    subscription: Subscription,
}

const ID: &str = "The subscription's id";

/// Subscribes a channel to an upstream feed: the URL is fetched now (a page is searched for
/// feed links), and the first poll is due at once.
#[utoipa::path(
    post,
    path = "/subscriptions",
    tag = "subscriptions",
    security(("token" = [])),
    request_body = CreateSubscription,
    responses(
        (status = 201, description = "Subscribed", body = Subscribed),
        (status = 400, description = "A bad URL or interval, a feed of this same instance, or a body that is not JSON", body = ErrorBody),
        (status = 404, description = "No such channel", body = ErrorBody),
        (status = 409, description = "The channel already subscribes to this feed", body = ErrorBody),
        (status = 413, description = "The body is over `SYNDIC_MAX_BODY`", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        (status = 502, description = "The upstream cannot be fetched or is not a feed", body = ErrorBody),
        Authed,
        Always,
    )
)]
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

/// Every subscription, with its fetch state.
#[utoipa::path(
    get,
    path = "/subscriptions",
    tag = "subscriptions",
    security(("token" = [])),
    responses(
        (status = 200, description = "Every subscription", body = SubscriptionList),
        Authed,
        Always,
    )
)]
pub async fn list(State(state): State<AppState>) -> Result<Json<SubscriptionList>, ApiError> {
    let subscriptions = state.store.subscriptions().await?;
    Ok(Json(SubscriptionList { subscriptions }))
}

async fn find(state: &AppState, id: i64) -> Result<Subscription, ApiError> {
    state
        .store
        .subscription(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no subscription #{id}")))
}

/// One subscription, with its fetch state.
#[utoipa::path(
    get,
    path = "/subscriptions/{id}",
    tag = "subscriptions",
    security(("token" = [])),
    params(("id" = i64, Path, description = ID)),
    responses(
        (status = 200, description = "The subscription", body = Subscription),
        (status = 400, description = "The id is not a number", body = ErrorBody),
        (status = 404, description = "No such subscription", body = ErrorBody),
        Authed,
        Always,
    )
)]
pub async fn show(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Subscription>, ApiError> {
    Ok(Json(find(&state, id).await?))
}

/// Changes a subscription's options and answers with the subscription.
#[utoipa::path(
    patch,
    path = "/subscriptions/{id}",
    tag = "subscriptions",
    security(("token" = [])),
    params(("id" = i64, Path, description = ID)),
    request_body = PatchSubscription,
    responses(
        (status = 200, description = "The subscription as it is now", body = Subscription),
        (status = 400, description = "Nothing to change, an unknown field, or a body that is not JSON", body = ErrorBody),
        (status = 404, description = "No such subscription", body = ErrorBody),
        (status = 413, description = "The body is over `SYNDIC_MAX_BODY`", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        Authed,
        Always,
    )
)]
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

/// Removes a subscription (its articles stay).
#[utoipa::path(
    delete,
    path = "/subscriptions/{id}",
    tag = "subscriptions",
    security(("token" = [])),
    params(("id" = i64, Path, description = ID)),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, description = "The id is not a number", body = ErrorBody),
        (status = 404, description = "No such subscription", body = ErrorBody),
        Authed,
        Always,
    )
)]
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
#[utoipa::path(
    get,
    path = "/hub/subscriptions",
    tag = "hub",
    security(("token" = [])),
    responses(
        (status = 200, description = "Every hub subscription", body = HubSubscriptionList),
        Authed,
        Always,
    )
)]
pub async fn hub_list(
    State(state): State<AppState>,
) -> Result<Json<HubSubscriptionList>, ApiError> {
    let hub_subscriptions = state.store.hub_subscriptions().await?;
    Ok(Json(HubSubscriptionList { hub_subscriptions }))
}

/// Removes a hub subscription: its callback gets no more deliveries (it may subscribe again).
#[utoipa::path(
    delete,
    path = "/hub/subscriptions/{id}",
    tag = "hub",
    security(("token" = [])),
    params(("id" = i64, Path, description = "The hub subscription's id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, description = "The id is not a number", body = ErrorBody),
        (status = 404, description = "No such hub subscription", body = ErrorBody),
        Authed,
        Always,
    )
)]
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
#[utoipa::path(
    post,
    path = "/subscriptions/{id}/poll",
    tag = "subscriptions",
    security(("token" = [])),
    params(("id" = i64, Path, description = ID)),
    responses(
        (status = 200, description = "What the poll did (an upstream failure is in `poll.status` and `poll.error`)", body = PollNow),
        (status = 400, description = "The id is not a number", body = ErrorBody),
        (status = 404, description = "No such subscription", body = ErrorBody),
        Authed,
        Always,
    )
)]
pub async fn poll_now(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<PollNow>, ApiError> {
    let sub = find(&state, id).await?;
    let poll = state.poller.poll(sub).await?;
    let subscription = find(&state, id).await?;
    Ok(Json(PollNow { poll, subscription }))
}
