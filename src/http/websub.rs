//! `POST /websub`: the hub endpoint subscribers send `hub.mode=subscribe|unsubscribe` to.

use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::StatusCode;

use super::{ApiError, AppState};
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
