//! WebSub over HTTP, both sides: `POST /websub` is the hub endpoint subscribers send
//! `hub.mode=subscribe|unsubscribe` to; `/websub/callback/{id}` is where hubs of upstream
//! feeds verify syndic's own subscriptions and push new content.

use axum::Form;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::{BytesRejection, FormRejection};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::{ApiError, ApiPath, ApiQuery, AppState};
use crate::websub::{HubError, HubRequest};

/// Answers 202 and verifies the intent in the background (WebSub §5.1), or names what is
/// wrong with the request.
pub async fn hub(
    State(state): State<AppState>,
    form: Result<Form<HubRequest>, FormRejection>,
) -> Result<StatusCode, ApiError> {
    let Form(req) = form.map_err(|e| match e.status() {
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType(
            "send the request as application/x-www-form-urlencoded".into(),
        ),
        _ => ApiError::BadRequest(e.body_text()),
    })?;
    state.hub.accept(req).await.map_err(|e| match e {
        HubError::Bad(m) => ApiError::BadRequest(m),
        HubError::UnknownTopic(m) => ApiError::NotFound(m),
    })?;
    Ok(StatusCode::ACCEPTED)
}

/// The query a hub verifies intent with (WebSub §5.3).
#[derive(serde::Deserialize)]
pub struct Verification {
    #[serde(rename = "hub.mode")]
    mode: String,
    #[serde(rename = "hub.topic")]
    topic: String,
    #[serde(rename = "hub.challenge")]
    challenge: Option<String>,
    #[serde(rename = "hub.lease_seconds")]
    lease_seconds: Option<i64>,
}

/// `GET /websub/callback/{id}`: confirms a subscription syndic asked for (echoing the
/// challenge and recording the lease), confirms an unsubscription it no longer wants, and
/// takes note of a denial.
pub async fn callback_verify(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(v): ApiQuery<Verification>,
) -> Result<Response, ApiError> {
    let sub = state.store.subscription(id).await?;
    let ours = sub
        .as_ref()
        .is_some_and(|s| s.websub_topic.as_deref() == Some(v.topic.as_str()));
    let echo = |c: Option<String>| (StatusCode::OK, c.unwrap_or_default()).into_response();
    match v.mode.as_str() {
        "subscribe" if ours => {
            let lease = v
                .lease_seconds
                .unwrap_or(crate::websub::DEFAULT_LEASE_SECS)
                .max(0);
            let until = chrono::Utc::now() + chrono::Duration::seconds(lease);
            state.store.websub_lease(id, Some(until)).await?;
            tracing::info!(subscription = id, lease, "websub lease granted");
            Ok(echo(v.challenge))
        }
        "unsubscribe" if !ours => Ok(echo(v.challenge)),
        "denied" => {
            if sub.is_some() {
                state.store.websub_lease(id, None).await?;
            }
            Ok(StatusCode::OK.into_response())
        }
        _ => Err(ApiError::NotFound(format!(
            "subscription #{id} does not want {} of {:?}",
            v.mode, v.topic
        ))),
    }
}

/// `POST /websub/callback/{id}`: new content from a hub. A message whose signature does not
/// match the secret syndic gave is ignored (but acknowledged, as WebSub §8 asks); a
/// subscription that no longer exists answers 410 so the hub stops.
pub async fn callback_push(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, ApiError> {
    let body = body.map_err(|r| ApiError::body(r, state.config.max_body))?;
    let Some(sub) = state.store.subscription(id).await? else {
        return Ok(StatusCode::GONE);
    };
    let signed = headers
        .get("x-hub-signature")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("sha256="))
        .and_then(|hex_sig| hex::decode(hex_sig).ok());
    let valid = match (&sub.websub_secret, signed) {
        (Some(secret), Some(sig)) => {
            let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
                .expect("any key length");
            mac.update(&body);
            mac.verify_slice(&sig).is_ok()
        }
        _ => false,
    };
    if !valid {
        tracing::warn!(
            subscription = id,
            "websub push with a missing or wrong signature ignored"
        );
        return Ok(StatusCode::ACCEPTED);
    }
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    state
        .poller
        .import_pushed(sub, &body, content_type.as_deref())
        .await?;
    Ok(StatusCode::ACCEPTED)
}
