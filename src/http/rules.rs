//! `/api/v1/subscriptions/{id}/rules` and `/api/v1/channels/{slug}/rules`: read and replace
//! a rule set (the JSON array; 422 naming the rule, the field and what is wrong), preview
//! what a subscription's rules do to its upstream's items now (writing nothing), and run
//! them again on the articles it already brought.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use serde::Serialize;
use serde_json::{Value, json};

use super::error::ErrorBody;
use super::openapi::{Always, Authed};
use super::{ApiError, ApiPath, AppState};
use crate::ingest::screen::{self, ItemVerdict, ReapplyReport};
use crate::model::Subscription;
use crate::poll::poller::PreviewError;
use crate::rules::{self, RuleSet};
use crate::store::RulesOwner;

/// One import rule, as a rule set (a JSON array) holds it: docs/rules.md says what each part
/// does. `rules::parse` reads the JSON itself (and says what is wrong with it, 422); these types
/// only describe it.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct Rule {
    /// How reports, metrics and errors call the rule (else by its index, from 0).
    #[serde(default)]
    name: String,
    /// Fields and regular expressions that must all match; without it, the rule matches every
    /// item.
    #[serde(rename = "if", default)]
    when: RuleCondition,
    /// The rule is skipped when everything here matches.
    #[serde(default)]
    unless: RuleCondition,
    then: RuleAction,
}

/// Fields of an item and the regular expression (Rust `regex` syntax) each must match; at
/// least one. Text fields are matched on their text, not their markup.
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1)]
#[allow(dead_code)]
pub struct RuleCondition {
    #[serde(default)]
    title: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    content: String,
    /// Any author's name.
    #[serde(default)]
    author: String,
    /// Any tag.
    #[serde(default)]
    tag: String,
    /// The item's link.
    #[serde(default)]
    link: String,
    /// Any of the fields above.
    #[serde(default)]
    any: String,
}

/// What a rule does.
#[derive(utoipa::ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum RuleAction {
    Verb(RuleVerb),
    /// Adds a tag (unless the item has it).
    AddTag {
        add_tag: String,
    },
    /// The item's authors become this one name.
    SetAuthor {
        set_author: String,
    },
    /// Replaces every match of `pattern` in a field's text.
    Replace {
        replace: RuleReplace,
    },
}

/// `drop`: not imported; `keep`: a set with `keep` rules drops what none of them matched;
/// `strip_tracking`: removes tracking parameters from the item's links.
#[derive(utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum RuleVerb {
    Drop,
    Keep,
    StripTracking,
}

#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct RuleReplace {
    field: RuleTextField,
    /// A regular expression.
    pattern: String,
    /// The replacement (`$1`, `${name}` expand; default `""`).
    #[serde(default)]
    with: String,
}

#[derive(utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum RuleTextField {
    Title,
    Summary,
    Content,
}

/// What a subscription's rules would do to its upstream's items now.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Preview {
    subscription: i64,
    kept: usize,
    changed: usize,
    dropped: usize,
    items: Vec<ItemVerdict>,
}

async fn subscription(state: &AppState, id: i64) -> Result<Subscription, ApiError> {
    state
        .store
        .subscription(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no subscription #{id}")))
}

fn as_array(set: Option<&RuleSet>) -> Value {
    set.map_or_else(|| json!([]), RuleSet::value)
}

async fn stored(state: &AppState, owner: RulesOwner) -> Result<Option<RuleSet>, ApiError> {
    let json = state.store.rules(owner).await?.flatten();
    rules::from_stored(json.as_deref())
        .map_err(|e| ApiError::internal(anyhow::anyhow!("stored rules no longer parse: {e}")))
}

/// Parses a body into a rule set, or the 422 that names what is wrong.
fn parse(body: Result<Bytes, BytesRejection>, limit: usize) -> Result<Option<RuleSet>, ApiError> {
    let body = body.map_err(|r| ApiError::body(r, limit))?;
    rules::parse(&body).map_err(ApiError::InvalidRules)
}

async fn put(
    state: &AppState,
    owner: RulesOwner,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let set = parse(body, state.config.max_body)?;
    state
        .store
        .set_rules(owner, set.as_ref().map(|s| s.json.as_str()))
        .await?;
    Ok(Json(as_array(set.as_ref())))
}

/// A subscription's rule set (`[]` when it has none).
#[utoipa::path(
    get,
    path = "/subscriptions/{id}/rules",
    tag = "rules",
    security(("token" = [])),
    params(("id" = i64, Path, description = "The subscription's id")),
    responses(
        (status = 200, description = "The rule set (docs/rules.md)", body = Vec<Rule>),
        (status = 400, description = "The id is not a number", body = ErrorBody),
        (status = 404, description = "No such subscription", body = ErrorBody),
        Authed,
        Always,
    )
)]
pub async fn show_subscription(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Value>, ApiError> {
    let sub = subscription(&state, id).await?;
    let set = stored(&state, RulesOwner::Subscription(sub.id)).await?;
    Ok(Json(as_array(set.as_ref())))
}

/// Replaces a subscription's rule set; it applies to items imported from now on.
#[utoipa::path(
    put,
    path = "/subscriptions/{id}/rules",
    tag = "rules",
    security(("token" = [])),
    params(("id" = i64, Path, description = "The subscription's id")),
    request_body(
        description = "The rule set: a JSON array of rules (docs/rules.md); `[]` removes it",
        content((Vec<Rule> = "application/json"))
    ),
    responses(
        (status = 200, description = "The rule set as stored", body = Vec<Rule>),
        (status = 400, description = "The id is not a number", body = ErrorBody),
        (status = 404, description = "No such subscription", body = ErrorBody),
        (status = 413, description = "The body is over `SYNDIC_MAX_BODY`", body = ErrorBody),
        (status = 422, description = "A rule is invalid: `rule`, `field` and `position` say where", body = ErrorBody),
        Authed,
        Always,
    )
)]
pub async fn put_subscription(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let sub = subscription(&state, id).await?;
    put(&state, RulesOwner::Subscription(sub.id), body).await
}

/// A channel's rule set (`[]` when it has none): it applies after each subscription's.
#[utoipa::path(
    get,
    path = "/channels/{slug}/rules",
    tag = "rules",
    security(("token" = [])),
    params(("slug" = String, Path, description = "The channel's slug")),
    responses(
        (status = 200, description = "The rule set (docs/rules.md)", body = Vec<Rule>),
        (status = 404, description = "No such channel", body = ErrorBody),
        Authed,
        Always,
    )
)]
pub async fn show_channel(
    State(state): State<AppState>,
    ApiPath(slug): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let channel = state.channel(&slug).await?;
    let set = stored(&state, RulesOwner::Channel(channel.id)).await?;
    Ok(Json(as_array(set.as_ref())))
}

/// Replaces a channel's rule set.
#[utoipa::path(
    put,
    path = "/channels/{slug}/rules",
    tag = "rules",
    security(("token" = [])),
    params(("slug" = String, Path, description = "The channel's slug")),
    request_body(
        description = "The rule set: a JSON array of rules (docs/rules.md); `[]` removes it",
        content((Vec<Rule> = "application/json"))
    ),
    responses(
        (status = 200, description = "The rule set as stored", body = Vec<Rule>),
        (status = 404, description = "No such channel", body = ErrorBody),
        (status = 413, description = "The body is over `SYNDIC_MAX_BODY`", body = ErrorBody),
        (status = 422, description = "A rule is invalid: `rule`, `field` and `position` say where", body = ErrorBody),
        Authed,
        Always,
    )
)]
pub async fn put_channel(
    State(state): State<AppState>,
    ApiPath(slug): ApiPath<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let channel = state.channel(&slug).await?;
    put(&state, RulesOwner::Channel(channel.id), body).await
}

/// Fetches the upstream now and answers what the rules (the body's, or the stored ones when
/// the body is empty; the channel's stored rules after them) do to each item. Writes nothing.
#[utoipa::path(
    post,
    path = "/subscriptions/{id}/rules/preview",
    tag = "rules",
    security(("token" = [])),
    params(("id" = i64, Path, description = "The subscription's id")),
    request_body(
        description = "A rule set to try instead of the stored one; empty: the stored one",
        content((Vec<Rule> = "application/json"))
    ),
    responses(
        (status = 200, description = "What the rules do to each item", body = Preview),
        (status = 400, description = "The id is not a number", body = ErrorBody),
        (status = 404, description = "No such subscription", body = ErrorBody),
        (status = 413, description = "The body is over `SYNDIC_MAX_BODY`", body = ErrorBody),
        (status = 422, description = "A rule is invalid: `rule`, `field` and `position` say where", body = ErrorBody),
        (status = 502, description = "The upstream cannot be fetched or parsed", body = ErrorBody),
        Authed,
        Always,
    )
)]
pub async fn preview(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Preview>, ApiError> {
    let sub = subscription(&state, id).await?;
    let limit = state.config.max_body;
    let body = body.map_err(|r| ApiError::body(r, limit))?;
    let mut rules = screen::load_rules(&state.store, &sub).await?;
    if !body.iter().all(u8::is_ascii_whitespace) {
        rules.subscription = rules::parse(&body).map_err(ApiError::InvalidRules)?;
    }
    let items = state
        .poller
        .preview(&sub, &rules)
        .await
        .map_err(|e| match e {
            PreviewError::Upstream(m) => ApiError::BadGateway(format!("cannot preview: {m}")),
            PreviewError::Store(s) => s.into(),
        })?;
    let count = |o: &str| items.iter().filter(|i| i.outcome == o).count();
    Ok(Json(Preview {
        subscription: sub.id,
        kept: count("kept"),
        changed: count("changed"),
        dropped: count("dropped"),
        items,
    }))
}

/// Runs the stored rules again on the channel's articles from this subscription.
#[utoipa::path(
    post,
    path = "/subscriptions/{id}/rules/reapply",
    tag = "rules",
    security(("token" = [])),
    params(("id" = i64, Path, description = "The subscription's id")),
    responses(
        (status = 200, description = "What the rules did to each article", body = ReapplyReport),
        (status = 400, description = "The id is not a number", body = ErrorBody),
        (status = 404, description = "No such subscription, or its channel is gone", body = ErrorBody),
        Authed,
        Always,
    )
)]
pub async fn reapply(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ReapplyReport>, ApiError> {
    let sub = subscription(&state, id).await?;
    let channel = state.channel(sub.channel.as_str()).await?;
    Ok(Json(screen::reapply(&state.store, &sub, &channel).await?))
}
