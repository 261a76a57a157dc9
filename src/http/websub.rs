//! WebSub over HTTP, both sides: `POST /websub` is the hub endpoint subscribers send
//! `hub.mode=subscribe|unsubscribe` to; `/websub/callback/{id}/{token}` is where hubs of
//! upstream feeds verify syndic's own subscriptions and push new content (the rules are in
//! [`crate::websub::subscriber`]). `/websub/callback/{id}`, without a token, is what older
//! versions gave hubs: signed pushes are still taken there, verifications never.

use axum::Form;
use axum::body::Body;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::error::ErrorBody;
use super::openapi::Always;
use super::{ApiError, ApiPath, ApiQuery, AppState};
use crate::websub::subscriber::{self, Answer, PushCheck, Verification};
use crate::websub::{HubError, HubRequest};

/// The largest hub request read (a form of a few URLs).
pub const MAX_HUB_BODY: usize = 64 * 1024;

/// The largest push read (a feed document), and less when `SYNDIC_FETCH_MAX_BODY` is lower:
/// a push is read only after its subscription and signature are known.
const MAX_PUSH_BODY: usize = 4 * 1024 * 1024;

/// Answers 202 and verifies the intent in the background (WebSub §5.1), or names what is
/// wrong with the request (400, 404), the limit it passes (429) or that the hub is busy
/// verifying others (503).
#[utoipa::path(
    post,
    path = "/websub",
    tag = "hub",
    request_body(content = HubRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 202, description = "Accepted: the intent is verified with the callback in the background"),
        (status = 400, description = "A field is missing or invalid", body = ErrorBody),
        (status = 404, description = "The topic is not a feed of this instance", body = ErrorBody),
        (status = 413, description = "The body is over 64 KiB", body = ErrorBody),
        (status = 415, description = "The body is not `application/x-www-form-urlencoded`", body = ErrorBody),
        (status = 429, description = "A limit on subscriptions is reached", body = ErrorBody),
        Always,
    )
)]
pub async fn hub(
    State(state): State<AppState>,
    form: Result<Form<HubRequest>, FormRejection>,
) -> Result<StatusCode, ApiError> {
    let Form(req) = form.map_err(|e| match e.status() {
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType(
            "send the request as application/x-www-form-urlencoded".into(),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge(Some(MAX_HUB_BODY)),
        _ => ApiError::BadRequest(e.body_text()),
    })?;
    state.hub.accept(req).await.map_err(|e| match e {
        HubError::Bad(m) => ApiError::BadRequest(m),
        HubError::UnknownTopic(m) => ApiError::NotFound(m),
        HubError::Limit(m) => ApiError::Limited(m),
        HubError::Busy(m) => ApiError::Unavailable(m),
    })?;
    Ok(StatusCode::ACCEPTED)
}

/// `GET /websub/callback/{id}/{token}`: confirms the subscription request syndic has
/// pending (echoing the challenge and recording the bounded lease), confirms an
/// unsubscription it no longer wants, and takes note of a denial of the pending request.
#[utoipa::path(
    get,
    path = "/websub/callback/{id}/{token}",
    tag = "websub",
    params(
        ("id" = i64, Path, description = "The subscription's id"),
        ("token" = String, Path, description = "The token syndic put in the callback URL"),
        Verification,
    ),
    responses(
        (status = 200, description = "Confirmed: the body is the challenge (`text/plain`); or a denial taken note of (empty body)", body = String, content_type = "text/plain"),
        (status = 400, description = "The query lacks `hub.mode` or `hub.topic`, or the id is not a number", body = ErrorBody),
        (status = 404, description = "Not a request syndic made: refused", body = ErrorBody),
        Always,
    )
)]
pub async fn callback_verify(
    State(state): State<AppState>,
    ApiPath((id, token)): ApiPath<(i64, String)>,
    ApiQuery(v): ApiQuery<Verification>,
) -> Result<Response, ApiError> {
    verify(&state, id, Some(&token), v).await
}

/// `GET /websub/callback/{id}`: only unsubscriptions syndic does not mind are confirmed.
#[utoipa::path(
    get,
    path = "/websub/callback/{id}",
    tag = "websub",
    params(("id" = i64, Path, description = "The subscription's id"), Verification),
    responses(
        (status = 200, description = "Confirmed: the body is the challenge (`text/plain`); or a denial taken note of (empty body)", body = String, content_type = "text/plain"),
        (status = 400, description = "The query lacks `hub.mode` or `hub.topic`, or the id is not a number", body = ErrorBody),
        (status = 404, description = "Not a request syndic made: refused", body = ErrorBody),
        Always,
    )
)]
pub async fn legacy_callback_verify(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(v): ApiQuery<Verification>,
) -> Result<Response, ApiError> {
    verify(&state, id, None, v).await
}

async fn verify(
    state: &AppState,
    id: i64,
    token: Option<&str>,
    v: Verification,
) -> Result<Response, ApiError> {
    match subscriber::verify(&state.store, id, token, v).await? {
        Answer::Echo(challenge) => Ok((
            StatusCode::OK,
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; charset=utf-8",
            )],
            challenge,
        )
            .into_response()),
        Answer::Noted => Ok(StatusCode::OK.into_response()),
        Answer::Refuse(m) => Err(ApiError::NotFound(m)),
    }
}

/// `POST /websub/callback/{id}/{token}`: new content from a hub. The subscription and the
/// signature are checked before the body is read; a message whose signature does not match
/// the secret syndic gave is ignored (but acknowledged, as WebSub §8 asks); a subscription
/// that no longer exists, or the wrong token, answers 410 so the hub stops.
#[utoipa::path(
    post,
    path = "/websub/callback/{id}/{token}",
    tag = "websub",
    params(
        ("id" = i64, Path, description = "The subscription's id"),
        ("token" = String, Path, description = "The token syndic put in the callback URL"),
    ),
    request_body(description = "The feed document the hub pushes", content((String = "application/rss+xml"), (String = "application/atom+xml"), (String = "application/feed+json"))),
    responses(
        (status = 202, description = "Taken (or ignored: a signature that does not match is acknowledged all the same, WebSub §8)"),
        (status = 400, description = "The id is not a number", body = ErrorBody),
        (status = 410, description = "No such subscription, or the wrong token: the hub should stop"),
        (status = 413, description = "The body is over 4 MiB (or `SYNDIC_FETCH_MAX_BODY`)", body = ErrorBody),
        Always,
    )
)]
pub async fn callback_push(
    State(state): State<AppState>,
    ApiPath((id, token)): ApiPath<(i64, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, ApiError> {
    push(&state, id, Some(&token), &headers, body).await
}

/// `POST /websub/callback/{id}`: as above, for callbacks given out before tokens; only
/// signed pushes are taken.
#[utoipa::path(
    post,
    path = "/websub/callback/{id}",
    tag = "websub",
    params(("id" = i64, Path, description = "The subscription's id")),
    request_body(description = "The feed document the hub pushes", content((String = "application/rss+xml"), (String = "application/atom+xml"), (String = "application/feed+json"))),
    responses(
        (status = 202, description = "Taken (or ignored: a signature that does not match is acknowledged all the same, WebSub §8)"),
        (status = 400, description = "The id is not a number", body = ErrorBody),
        (status = 410, description = "No such subscription, or the wrong token: the hub should stop"),
        (status = 413, description = "The body is over 4 MiB (or `SYNDIC_FETCH_MAX_BODY`)", body = ErrorBody),
        Always,
    )
)]
pub async fn legacy_callback_push(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, ApiError> {
    push(&state, id, None, &headers, body).await
}

async fn push(
    state: &AppState,
    id: i64,
    token: Option<&str>,
    headers: &HeaderMap,
    body: Body,
) -> Result<StatusCode, ApiError> {
    let sub = state.store.subscription(id).await?;
    let signature = headers.get("x-hub-signature").and_then(|v| v.to_str().ok());
    let check = subscriber::check_push(sub.as_ref(), token, signature);
    let (sub, signature) = match (sub, check) {
        (Some(sub), PushCheck::Signed(sig)) => (sub, Some(sig)),
        (Some(sub), PushCheck::Unsigned) => (sub, None),
        (_, PushCheck::Ignore(why)) => {
            tracing::warn!(subscription = id, why, "websub push ignored");
            return Ok(StatusCode::ACCEPTED);
        }
        _ => return Ok(StatusCode::GONE),
    };
    let cap = MAX_PUSH_BODY.min(state.config.fetch_max_body);
    let body = axum::body::to_bytes(body, cap)
        .await
        .map_err(|_| ApiError::TooLarge(Some(cap)))?;
    if let Some(sig) = signature
        && !sub
            .websub_secret
            .as_deref()
            .is_some_and(|secret| sig.verify(secret, &body))
    {
        tracing::warn!(
            subscription = id,
            "websub push with a wrong signature ignored"
        );
        return Ok(StatusCode::ACCEPTED);
    }
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    state.poller.import_pushed(sub, body, content_type).await?;
    Ok(StatusCode::ACCEPTED)
}
