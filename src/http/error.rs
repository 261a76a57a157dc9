//! The one error type of the HTTP layer. Every failure becomes a status and a JSON body
//! `{"error": CODE, "message": TEXT, ...}` naming the problem; unexpected failures are logged
//! with their cause and become a 500 that does not leak it.

use axum::Json;
use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::formats::ParseError;
use crate::ingest::{IngestError, ItemError};
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("missing or invalid API token")]
    Unauthorized,
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the request body is larger than the server accepts (SYNDIC_MAX_BODY)")]
    TooLarge(Option<usize>),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    InvalidItem(ItemError),
    /// A rule set that cannot be accepted (422): the body names the rule, field and position.
    #[error("{0}")]
    InvalidRules(crate::rules::RuleError),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    BadGateway(String),
    #[error("{1}")]
    HeadTooLarge(StatusCode, String),
    #[error("too many failed authentications from this client or with this token; retry in {0} s")]
    TooManyRequests(u64),
    /// A limit of the service was reached (429): the message names it.
    #[error("{0}")]
    Limited(String),
    #[error("{0}")]
    Forbidden(String),
    /// The request ran past `SYNDIC_REQUEST_TIMEOUT` (408); its work was stopped.
    #[error(
        "the request took longer than {} s (SYNDIC_REQUEST_TIMEOUT) and was stopped; a write is all or nothing, so check before retrying",
        .0.as_secs_f64()
    )]
    Timeout(std::time::Duration),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    pub fn internal(e: impl Into<anyhow::Error>) -> ApiError {
        ApiError::Internal(e.into())
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::InvalidItem(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_item"),
            ApiError::InvalidRules(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_rules"),
            ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::BadGateway(_) => (StatusCode::BAD_GATEWAY, "upstream_failed"),
            ApiError::TooManyRequests(_) | ApiError::Limited(_) => {
                (StatusCode::TOO_MANY_REQUESTS, "too_many_requests")
            }
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::HeadTooLarge(status, _) => (*status, "request_too_large"),
            ApiError::Timeout(_) => (StatusCode::REQUEST_TIMEOUT, "request_timeout"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

/// The body of every error answer: a stable code, a message for a person, and where the
/// problem is when the request had several parts (an item of a batch, a rule of a set).
/// Fields in name order, as the answer always had them.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// A stable code for scripts: `unauthorized`, `not_found`, `conflict`,
    /// `payload_too_large`, `unsupported_media_type`, `bad_request`, `invalid_item`,
    /// `invalid_rules`, `method_not_allowed`, `unavailable`, `upstream_failed`,
    /// `too_many_requests`, `forbidden`, `request_too_large`, `request_timeout`, `internal`.
    pub error: &'static str,
    /// The field at fault: of the item (`invalid_item`) or of the rule (`invalid_rules`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The position of the item at fault in the batch (`invalid_item`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    /// The largest body accepted, in bytes (`payload_too_large`, when known).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    /// What is wrong, for a person.
    pub message: String,
    /// Where in the rule's pattern the problem is (`invalid_rules`; `null` when it is not
    /// in a pattern).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<Option<usize>>,
    /// The rule at fault (`invalid_rules`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleAtFault>,
}

/// The rule an `invalid_rules` answer names: its index in the set and its name.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct RuleAtFault {
    pub index: Option<usize>,
    pub name: Option<String>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let mut body = ErrorBody {
            error: code,
            field: None,
            index: None,
            limit: None,
            message: self.to_string(),
            position: None,
            rule: None,
        };
        match &self {
            ApiError::InvalidItem(e) => {
                body.index = Some(e.index);
                body.field = Some(e.field.clone());
            }
            ApiError::InvalidRules(e) => {
                body.rule = Some(RuleAtFault {
                    index: e.index,
                    name: e.name.clone(),
                });
                body.field = Some(e.field.clone());
                body.position = Some(e.position);
            }
            ApiError::TooLarge(Some(limit)) => body.limit = Some(*limit),
            ApiError::Internal(cause) => tracing::error!(error = ?cause, "request failed"),
            _ => {}
        }
        let mut resp = (status, Json(body)).into_response();
        let retry = match &self {
            ApiError::TooManyRequests(secs) => {
                axum::http::HeaderValue::from_str(&secs.to_string()).ok()
            }
            _ => None,
        };
        if let Some(v) = retry {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, v);
        }
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"syndic\""),
            );
        }
        resp
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::SlugTaken(slug) => {
                ApiError::Conflict(format!("a channel with slug {slug:?} already exists"))
            }
            e if e.is_unavailable() => {
                tracing::error!(error = %e, "database unavailable");
                ApiError::Unavailable(
                    "the database cannot take this now (disk full, read-only or locked); feeds are still served; retry later".into(),
                )
            }
            other => ApiError::internal(other),
        }
    }
}

impl From<crate::poll::subscribe::SubscribeError> for ApiError {
    fn from(e: crate::poll::subscribe::SubscribeError) -> ApiError {
        use crate::poll::subscribe::SubscribeError as E;
        match e {
            E::BadUrl(m) => ApiError::BadRequest(m),
            e @ E::OwnFeed { .. } => ApiError::BadRequest(e.to_string()),
            e @ E::Exists { .. } => ApiError::Conflict(e.to_string()),
            e @ E::Upstream { .. } => ApiError::BadGateway(e.to_string()),
            E::Store(s) => s.into(),
        }
    }
}

impl From<ParseError> for ApiError {
    fn from(e: ParseError) -> ApiError {
        match e {
            ParseError::Malformed(m) => ApiError::BadRequest(m),
            ParseError::Item(item) => ApiError::InvalidItem(item),
        }
    }
}

impl From<IngestError> for ApiError {
    fn from(e: IngestError) -> ApiError {
        match e {
            IngestError::Parse(p) => p.into(),
            IngestError::Invalid(item) => ApiError::InvalidItem(item),
            IngestError::Store(s) => s.into(),
            // Raised only once the request's future is gone, so no client reads this.
            e @ IngestError::Cancelled(_) => ApiError::Unavailable(e.to_string()),
        }
    }
}

impl ApiError {
    /// A body that could not be read, given the limit it was read under.
    pub fn body(r: BytesRejection, limit: usize) -> ApiError {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge(Some(limit))
        } else {
            ApiError::BadRequest(r.body_text())
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> ApiError {
        match r.status() {
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType(
                "send the body as Content-Type: application/json".into(),
            ),
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge(None),
            _ => ApiError::BadRequest(r.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> ApiError {
        ApiError::BadRequest(r.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> ApiError {
        ApiError::BadRequest(r.body_text())
    }
}
