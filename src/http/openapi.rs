//! The OpenAPI 3.1 document of the HTTP API, generated from the handlers: each handler
//! carries its `#[utoipa::path]` (path, parameters, bodies, every status it answers), the
//! router registers handler and description in one step (`utoipa_axum::routes!`), and the
//! document is served at `GET /api/v1/openapi.json`. The answers every route can give (the
//! limits the server's layers enforce, a database that does not answer) are listed here once.

use std::sync::Arc;

use axum::Extension;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use super::error::ErrorBody;

/// The document's frame: what the handlers' descriptions are added to.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "syndic",
        description = "syndic's HTTP API: channels and their articles, subscriptions to \
                       upstream feeds and their rules, the WebSub hub and callbacks, the public \
                       feeds and pages, health and metrics. Every error answers the same JSON \
                       body (`ErrorBody`). `/api/v1` needs `Authorization: Bearer TOKEN` \
                       (`syndic token create`), except this document.",
        license(name = "MIT OR Apache-2.0", identifier = "MIT OR Apache-2.0"),
    ),
    components(schemas(ErrorBody)),
    modifiers(&BearerToken),
    tags(
        (name = "channels", description = "Channels: what syndic publishes"),
        (name = "articles", description = "A channel's articles: ingest, list, read, replace, delete"),
        (name = "subscriptions", description = "Upstream feeds polled into channels"),
        (name = "rules", description = "Import rules of subscriptions and channels (docs/rules.md)"),
        (name = "hub", description = "syndic's WebSub hub and who subscribes through it"),
        (name = "websub", description = "Where upstream hubs verify and push to syndic"),
        (name = "feeds", description = "The public feeds and pages"),
        (name = "service", description = "Health, readiness, metrics and this document"),
    )
)]
pub struct ApiDoc;

/// The security scheme the `/api/v1` operations name.
struct BearerToken;

impl utoipa::Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API token (`syndic token create`)"))
                    .build(),
            ),
        );
    }
}

/// Answers any route can give: the server's limits and a database that cannot answer.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // Describes answers; the values are built as `ApiError`s.
pub enum Always {
    /// The request took longer than `SYNDIC_REQUEST_TIMEOUT`; its work was stopped.
    #[response(status = 408)]
    Timeout(ErrorBody),
    /// The request target is longer than 8 KiB.
    #[response(status = 414)]
    UriTooLong(ErrorBody),
    /// The request's headers are larger than 64 KiB.
    #[response(status = 431)]
    HeadersTooLarge(ErrorBody),
    /// An unexpected failure (logged with its cause; the body does not say it).
    #[response(status = 500)]
    Internal(ErrorBody),
    /// The database cannot take this now (down, disk full, read-only, locked): retry later.
    #[response(status = 503)]
    Unavailable(ErrorBody),
}

/// Answers the server's layers give on any route, HTML pages included, before a handler runs.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // Describes answers; the values are built as `ApiError`s.
pub enum Limits {
    /// The request took longer than `SYNDIC_REQUEST_TIMEOUT`; its work was stopped.
    #[response(status = 408)]
    Timeout(ErrorBody),
    /// The request target is longer than 8 KiB.
    #[response(status = 414)]
    UriTooLong(ErrorBody),
    /// The request's headers are larger than 64 KiB.
    #[response(status = 431)]
    HeadersTooLarge(ErrorBody),
}

/// Answers of every `/api/v1` operation that needs the token.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // Describes answers; the values are built as `ApiError`s.
pub enum Authed {
    /// No token, or not a valid one (`WWW-Authenticate: Bearer`).
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// Too many failed authentications from this client or with this token (`Retry-After`).
    #[response(status = 429)]
    TooManyRequests(ErrorBody),
}

/// The document as served, rendered once when the router is built.
#[derive(Clone)]
pub struct Document(pub Arc<str>);

impl Document {
    pub fn new(doc: &utoipa::openapi::OpenApi) -> Document {
        Document(
            doc.to_pretty_json()
                .expect("the OpenAPI document serializes")
                .into(),
        )
    }
}

/// The OpenAPI 3.1 document of this API (no token needed).
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "service",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document", body = Object),
        Always,
    )
)]
pub async fn openapi_json(Extension(doc): Extension<Document>) -> Response {
    ([(CONTENT_TYPE, "application/json")], doc.0.to_string()).into_response()
}
