//! Bearer-token authentication for `/api/v1`. The presented token is hashed and looked up by
//! its hash, so the comparison never touches a stored secret.

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;

use super::{ApiError, AppState};
use crate::token;

pub async fn require_token(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let presented = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|t| !t.is_empty())
        .ok_or(ApiError::Unauthorized)?;
    if !state.store.token_valid(&token::hash(presented)).await? {
        return Err(ApiError::Unauthorized);
    }
    Ok(next.run(req).await)
}
