//! The OpenAPI document (`GET /api/v1/openapi.json`) against the real server: every documented
//! operation is routed, every route the server matched is documented, and real answers — the
//! seed article, a subscription to a local upstream, a hub subscriber, and error answers —
//! validate against the schema the document gives for their operation and status (JSON
//! Schema 2020-12, with the `jsonschema` crate). A status the document does not list for an
//! operation fails the test, and so does a field a schema does not name.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use axum::Form;
use axum::extract::State;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};
use crate::upstream::{rss_feed, spawn_upstream};
use crate::websub::{eventually, hub_request, spawn_subscriber};

/// The document, and the answers seen so far by operation.
struct Spec {
    doc: Value,
    /// (method, path template) → statuses seen.
    seen: BTreeMap<(String, String), BTreeSet<u16>>,
}

/// Adds `unevaluatedProperties: false` to every object schema, so that a field a handler
/// answers and the schema does not name is a failure. Schemas that are parts of an `allOf`
/// (a flattened struct) are left open: the schema holding the `allOf` closes the whole.
fn close_objects(v: &mut Value, is_part: bool) {
    match v {
        Value::Object(map) => {
            let is_object =
                map.contains_key("properties") || map.get("type") == Some(&json!("object"));
            if let Some(Value::Array(all)) = map.get_mut("allOf") {
                for s in all {
                    close_objects(s, true);
                }
            }
            for (k, sub) in map.iter_mut() {
                if k != "allOf" {
                    close_objects(sub, false);
                }
            }
            // `Object` (free-form) schemas have no properties: they stay open.
            let closable = map.contains_key("properties") || map.contains_key("allOf");
            if is_object && closable && !is_part {
                map.insert("unevaluatedProperties".into(), json!(false));
            }
        }
        Value::Array(items) => {
            for s in items {
                close_objects(s, false);
            }
        }
        _ => {}
    }
}

impl Spec {
    async fn load(app: &TestApp) -> Spec {
        // No token: the document is public.
        let r = app
            .client
            .get(app.url("/api/v1/openapi.json"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(
            r.headers()[CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        let doc: Value = r.json().await.unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        Spec {
            doc,
            seen: BTreeMap::new(),
        }
    }

    /// Every (method, path template) the document describes.
    fn operations(&self) -> Vec<(Method, String)> {
        let mut ops = Vec::new();
        for (path, item) in self.doc["paths"].as_object().expect("paths") {
            for method in item.as_object().unwrap().keys() {
                if let Ok(m) = Method::from_bytes(method.to_ascii_uppercase().as_bytes())
                    && ["get", "put", "post", "patch", "delete"].contains(&method.as_str())
                {
                    ops.push((m, path.clone()));
                }
            }
        }
        ops
    }

    /// The JSON Schema of `schema` with the document's components as `$defs`, closed.
    fn json_schema(&self, schema: &Value) -> Value {
        let components = self.doc["components"]["schemas"].clone();
        // Names used as parts of an `allOf`.
        let text = serde_json::to_string(&json!({ "$defs": components, "root": schema }))
            .unwrap()
            .replace("#/components/schemas/", "#/$defs/");
        let mut all: Value = serde_json::from_str(&text).unwrap();
        let mut parts = BTreeSet::new();
        collect_parts(&all, &mut parts);
        let mut defs = all["$defs"].take();
        for (name, def) in defs.as_object_mut().unwrap() {
            close_objects(def, parts.contains(name));
        }
        let mut root = all["root"].take();
        close_objects(&mut root, false);
        json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$defs": defs,
            "allOf": [root],
        })
    }

    /// Checks that a JSON request body the server took matches the operation's request body
    /// schema (so that the document does not refuse what the server accepts).
    fn check_request(&self, method: &Method, template: &str, media: &str, body: &Value) {
        let errors = self.request_errors(method, template, media, body);
        assert!(
            errors.is_empty(),
            "{method} {template}: a body the server takes does not match the document:\n{}",
            errors.join("\n")
        );
    }

    /// What the operation's request body schema finds wrong with `body`.
    fn request_errors(
        &self,
        method: &Method,
        template: &str,
        media: &str,
        body: &Value,
    ) -> Vec<String> {
        let op = &self.doc["paths"][template][method.as_str().to_ascii_lowercase()];
        let entry = &op["requestBody"]["content"][media];
        assert!(
            entry.is_object(),
            "{method} {template}: no {media} request body in the document"
        );
        let schema = self.json_schema(&entry["schema"]);
        let validator = jsonschema::draft202012::new(&schema).unwrap();
        validator
            .iter_errors(body)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect()
    }

    /// Checks an answer of `method template` against the document and returns its body: the
    /// status must be documented for the operation, a JSON body must validate against its
    /// schema, another body must be of a documented media type, and a response documented
    /// without content must have none.
    async fn check(&mut self, method: &Method, template: &str, r: Response) -> (StatusCode, Value) {
        let status = r.status();
        let content_type = r
            .headers()
            .get(CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned());
        let bytes = r.bytes().await.unwrap();
        let what = format!("{method} {template} answered {status}");
        let op = &self.doc["paths"][template][method.as_str().to_ascii_lowercase()];
        assert!(op.is_object(), "{what}: no such operation in the document");
        let documented = &op["responses"][status.as_str()];
        assert!(
            documented.is_object(),
            "{what}, a status the document does not list for it: {}",
            String::from_utf8_lossy(&bytes)
        );
        self.seen
            .entry((method.to_string(), template.to_owned()))
            .or_default()
            .insert(status.as_u16());
        let Some(content) = documented["content"].as_object() else {
            assert!(
                bytes.is_empty(),
                "{what}: the document says no body, got {:?}",
                String::from_utf8_lossy(&bytes)
            );
            return (status, Value::Null);
        };
        if bytes.is_empty() && status == StatusCode::OK && template.starts_with("/websub") {
            // A verification denial taken note of: 200 with no body.
            return (status, Value::Null);
        }
        let media = content_type
            .as_deref()
            .unwrap_or_else(|| panic!("{what} without a Content-Type"))
            .split(';')
            .next()
            .unwrap()
            .trim()
            .to_owned();
        let entry = content
            .get(&media)
            .unwrap_or_else(|| panic!("{what} as {media}, not a documented media type"));
        if !media.ends_with("json") {
            return (status, Value::Null);
        }
        let body: Value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("{what}: the body is not JSON ({e})"));
        let schema = self.json_schema(&entry["schema"]);
        let validator = jsonschema::draft202012::new(&schema)
            .unwrap_or_else(|e| panic!("{what}: the schema does not compile: {e}\n{schema:#}"));
        let errors: Vec<String> = validator
            .iter_errors(&body)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{what}: the body does not match the document:\n{}\nbody: {body:#}",
            errors.join("\n")
        );
        (status, body)
    }
}

/// Component names referenced as direct parts of an `allOf`.
fn collect_parts(v: &Value, parts: &mut BTreeSet<String>) {
    match v {
        Value::Object(map) => {
            if let Some(Value::Array(all)) = map.get("allOf") {
                for s in all {
                    if let Some(r) = s["$ref"].as_str() {
                        parts.insert(r.trim_start_matches("#/$defs/").to_owned());
                    }
                }
            }
            map.values().for_each(|s| collect_parts(s, parts));
        }
        Value::Array(items) => items.iter().for_each(|s| collect_parts(s, parts)),
        _ => {}
    }
}

/// The forms a hub got.
type Forms = Arc<Mutex<Vec<HashMap<String, String>>>>;

/// A hub that takes subscription requests and records their forms.
async fn spawn_fake_hub() -> (String, Forms) {
    async fn take(
        State(seen): State<Forms>,
        Form(form): Form<HashMap<String, String>>,
    ) -> StatusCode {
        seen.lock().unwrap().push(form);
        StatusCode::ACCEPTED
    }
    let seen = Arc::new(Mutex::new(Vec::new()));
    let app = axum::Router::new()
        .route("/hub", axum::routing::post(take))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hub"), seen)
}

/// A request to `path` (a path template with its values filled in) with the token.
fn req(app: &TestApp, method: Method, path: &str) -> reqwest::RequestBuilder {
    app.client
        .request(method, app.url(path))
        .header(AUTHORIZATION, format!("Bearer {}", app.token))
}

#[tokio::test]
async fn every_documented_operation_is_routed_and_no_route_is_plain() {
    let app = spawn_app().await;
    let spec = Spec::load(&app).await;
    let ops = spec.operations();
    assert!(ops.len() >= 30, "only {} operations documented", ops.len());
    for (method, template) in &ops {
        // Values that match no data: the handler answers (404, 400…), the router does not.
        let path = template
            .replace("{slug}", "nochannel")
            .replace("{id}", "987654")
            .replace("{token}", "t")
            .replace("{file}", "rss.xml")
            .replace("{article}", "a");
        let r = req(&app, method.clone(), &path).send().await.unwrap();
        let status = r.status();
        let body = r.text().await.unwrap();
        assert_ne!(
            status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {template} is documented but not routed"
        );
        assert!(
            !body.contains("no such route"),
            "{method} {template} is documented but not routed: {status} {body}"
        );
    }
    // The constants the rest of the code builds URLs from are the documented paths.
    let paths = spec.doc["paths"].as_object().unwrap();
    assert!(paths.contains_key(syndic::formats::HUB_PATH));
    assert!(paths.contains_key(syndic::http::STYLESHEET_PATH));
    assert!(paths.contains_key(&format!(
        "{}/{{id}}/{{token}}",
        syndic::websub::CALLBACK_PATH
    )));
    // The router registers routes only with `routes!` (handler and description together): a
    // plain `.route(…)` would serve a path the document does not show.
    let source = std::fs::read_to_string(crate::helpers::manifest_dir().join("src/http/mod.rs"))
        .unwrap()
        .replace("OpenApiRouter::new()", "");
    for plain in [
        ".route(",
        ".route_service(",
        ".nest_service(",
        ".merge(",
        "Router::new()",
    ] {
        assert!(
            !source.contains(plain),
            "src/http/mod.rs adds routes with {plain}: use routes! so that they are documented"
        );
    }
}

#[tokio::test]
async fn real_answers_validate_against_the_document() {
    let app = spawn_app().await;
    let mut spec = Spec::load(&app).await;
    let upstream = spawn_upstream().await;
    upstream.set_feed(
        "news",
        "application/rss+xml",
        rss_feed(
            "Upstream & <news>",
            &[
                ("u1", "First &amp; \"quoted\"", "https://upstream.example/1"),
                ("u2", "Second ]]&gt;", "https://upstream.example/2"),
            ],
        ),
    );
    let (get, post, put, patch, delete) = (
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
    );

    // Service routes, and this document itself.
    for p in ["/healthz", "/readyz", "/metrics", "/api/v1/openapi.json"] {
        let r = app.client.get(app.url(p)).send().await.unwrap();
        let (s, _) = spec.check(&get, p, r).await;
        assert_eq!(s, StatusCode::OK, "{p}");
    }

    // Channels: create (with hostile text), list, show, patch, errors.
    let c = "/api/v1/channels";
    let body = json!({ "slug": "monde", "title": "Le monde & <co> \"' ]]>", "language": "fr",
                       "link": "https://news.example.fr/", "dedupe": "story" });
    spec.check_request(&post, c, "application/json", &body);
    let r = req(&app, post.clone(), c).json(&body).send().await.unwrap();
    assert_eq!(spec.check(&post, c, r).await.0, StatusCode::CREATED);
    let r = req(&app, post.clone(), c)
        .json(&json!({ "slug": "monde", "title": "again" }))
        .send()
        .await
        .unwrap();
    assert_eq!(spec.check(&post, c, r).await.0, StatusCode::CONFLICT);
    let r = req(&app, post.clone(), c)
        .json(&json!({ "slug": "Bad Slug", "title": "x", "surprise": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(spec.check(&post, c, r).await.0, StatusCode::BAD_REQUEST);
    let r = req(&app, post.clone(), c).body("{}").send().await.unwrap();
    assert_eq!(
        spec.check(&post, c, r).await.0,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    let r = req(&app, get.clone(), c).send().await.unwrap();
    let (_, list) = spec.check(&get, c, r).await;
    assert_eq!(list["channels"][0]["slug"], "monde");
    // No token, then a wrong one until the limit.
    let r = app.client.get(app.url(c)).send().await.unwrap();
    assert_eq!(spec.check(&get, c, r).await.0, StatusCode::UNAUTHORIZED);
    let mut limited = false;
    for _ in 0..30 {
        let r = app
            .client
            .get(app.url(c))
            .header(AUTHORIZATION, "Bearer not-a-token")
            .send()
            .await
            .unwrap();
        if spec.check(&get, c, r).await.0 == StatusCode::TOO_MANY_REQUESTS {
            limited = true;
            break;
        }
    }
    assert!(limited, "failed authentications were never limited");
    let one_t = "/api/v1/channels/{slug}";
    let r = req(&app, get.clone(), "/api/v1/channels/monde")
        .send()
        .await
        .unwrap();
    let (_, ch) = spec.check(&get, one_t, r).await;
    assert_eq!(ch["feeds"]["json"], app.url("/feeds/monde/feed.json"));
    let r = req(&app, get.clone(), "/api/v1/channels/nope")
        .send()
        .await
        .unwrap();
    assert_eq!(spec.check(&get, one_t, r).await.0, StatusCode::NOT_FOUND);
    let body = json!({ "description": "d", "retain_days": 3650, "link": null, "dedupe": "url" });
    spec.check_request(&patch, one_t, "application/json", &body);
    let r = req(&app, patch.clone(), "/api/v1/channels/monde")
        .json(&body)
        .send()
        .await
        .unwrap();
    let (s, ch) = spec.check(&patch, one_t, r).await;
    assert_eq!((s, &ch["retain_days"]), (StatusCode::OK, &json!(3650)));
    let r = req(&app, patch.clone(), "/api/v1/channels/monde")
        .json(&json!({ "retain_days": 0 }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        spec.check(&patch, one_t, r).await.0,
        StatusCode::BAD_REQUEST
    );

    // Articles: the seed article, listing, paging, PUT, errors.
    let arts = "/api/v1/channels/{slug}/articles";
    let art = "/api/v1/channels/{slug}/articles/{id}";
    let seed = crate::seed::seed_item();
    spec.check_request(&post, arts, "application/json", &seed);
    spec.check_request(&post, arts, "application/json", &json!([seed]));
    let r = app.post_json("monde", &seed).await;
    let (s, report) = spec.check(&post, arts, r).await;
    assert_eq!((s, &report["created"]), (StatusCode::CREATED, &json!(1)));
    let r = app.post_json("monde", &seed).await;
    assert_eq!(spec.check(&post, arts, r).await.0, StatusCode::OK);
    let r = app
        .post_json(
            "monde",
            &json!([{ "id": "ok", "title": "t" }, { "id": "bad", "authors": [{ "name": 5 }] }]),
        )
        .await;
    let (s, e) = spec.check(&post, arts, r).await;
    assert_eq!(
        (s, &e["index"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!(1))
    );
    let r = app.post_raw("monde", "application/rss+xml", "<rss").await;
    assert_eq!(spec.check(&post, arts, r).await.0, StatusCode::BAD_REQUEST);
    let r = app.post_raw("monde", "text/csv", "a,b").await;
    assert_eq!(
        spec.check(&post, arts, r).await.0,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    let huge = "x".repeat(crate::helpers::MAX_BODY + 1);
    let r = app.post_raw("monde", "application/json", huge).await;
    assert_eq!(
        spec.check(&post, arts, r).await.0,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    let r = app.post_raw("nope", "application/json", "[]").await;
    assert_eq!(spec.check(&post, arts, r).await.0, StatusCode::NOT_FOUND);
    let r = req(&app, get.clone(), "/api/v1/channels/monde/articles?limit=1")
        .send()
        .await
        .unwrap();
    let (_, page) = spec.check(&get, arts, r).await;
    assert!(page["next_cursor"].is_string(), "{page}");
    let next = page["next_cursor"].as_str().unwrap().to_owned();
    let r = req(
        &app,
        get.clone(),
        &format!("/api/v1/channels/monde/articles?limit=1&before={next}"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(spec.check(&get, arts, r).await.0, StatusCode::OK);
    let r = req(&app, get.clone(), "/api/v1/channels/monde/articles?limit=0")
        .send()
        .await
        .unwrap();
    assert_eq!(spec.check(&get, arts, r).await.0, StatusCode::BAD_REQUEST);
    let seed_id = seed["id"].as_str().unwrap();
    let seed_path = format!(
        "/api/v1/channels/monde/articles/{}",
        crate::helpers::encode(seed_id)
    );
    let r = req(&app, get.clone(), &seed_path).send().await.unwrap();
    let (_, a) = spec.check(&get, art, r).await;
    assert_eq!(
        a["_syndic"]["image_credit"],
        "PAUL ELLIS/AFP via Getty Images"
    );
    let body = json!({ "title": "& < > \" ' ]]> \u{1}", "content_html": "<p>x</p><script>1</script>",
                       "tags": ["a&b"], "authors": [{ "name": "N" }] });
    spec.check_request(&put, art, "application/json", &body);
    let r = req(&app, put.clone(), "/api/v1/channels/monde/articles/hostile")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(spec.check(&put, art, r).await.0, StatusCode::CREATED);
    let r = req(&app, put.clone(), "/api/v1/channels/monde/articles/hostile")
        .json(&json!({ "title": "again" }))
        .send()
        .await
        .unwrap();
    assert_eq!(spec.check(&put, art, r).await.0, StatusCode::OK);
    let r = req(&app, put.clone(), "/api/v1/channels/monde/articles/hostile")
        .json(&json!({ "id": "other" }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        spec.check(&put, art, r).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let r = req(&app, put.clone(), "/api/v1/channels/monde/articles/hostile")
        .json(&json!([{ "id": "a" }, { "id": "b" }]))
        .send()
        .await
        .unwrap();
    assert_eq!(spec.check(&put, art, r).await.0, StatusCode::BAD_REQUEST);
    let r = req(
        &app,
        delete.clone(),
        "/api/v1/channels/monde/articles/hostile",
    )
    .send()
    .await
    .unwrap();
    assert_eq!(spec.check(&delete, art, r).await.0, StatusCode::NO_CONTENT);
    let r = req(&app, get.clone(), "/api/v1/channels/monde/articles/hostile")
        .send()
        .await
        .unwrap();
    assert_eq!(spec.check(&get, art, r).await.0, StatusCode::NOT_FOUND);
    let r = req(
        &app,
        delete.clone(),
        "/api/v1/channels/monde/articles/hostile",
    )
    .send()
    .await
    .unwrap();
    assert_eq!(spec.check(&delete, art, r).await.0, StatusCode::NOT_FOUND);

    // Subscriptions to the local upstream: create, list, show, patch, poll, errors.
    app.create_channel("imports", json!({})).await;
    let subs = "/api/v1/subscriptions";
    let sub = "/api/v1/subscriptions/{id}";
    let body = json!({ "url": upstream.url("/f/news"), "channel": "imports", "every": "2h",
                       "full_content": false });
    spec.check_request(&post, subs, "application/json", &body);
    let r = req(&app, post.clone(), subs)
        .json(&body)
        .send()
        .await
        .unwrap();
    let (s, created) = spec.check(&post, subs, r).await;
    assert_eq!(s, StatusCode::CREATED);
    let id = created["subscription"]["id"].as_i64().unwrap();
    let r = req(&app, post.clone(), subs)
        .json(&json!({ "url": upstream.url("/f/news"), "channel": "imports" }))
        .send()
        .await
        .unwrap();
    assert_eq!(spec.check(&post, subs, r).await.0, StatusCode::CONFLICT);
    let r = req(&app, post.clone(), subs)
        .json(&json!({ "url": upstream.url("/f/missing"), "channel": "imports" }))
        .send()
        .await
        .unwrap();
    assert_eq!(spec.check(&post, subs, r).await.0, StatusCode::BAD_GATEWAY);
    let r = req(&app, post.clone(), subs)
        .json(&json!({ "url": app.url("/feeds/monde/rss.xml"), "channel": "imports" }))
        .send()
        .await
        .unwrap();
    assert_eq!(spec.check(&post, subs, r).await.0, StatusCode::BAD_REQUEST);
    let r = req(&app, post.clone(), subs)
        .json(&json!({ "url": upstream.url("/f/news"), "channel": "nope" }))
        .send()
        .await
        .unwrap();
    assert_eq!(spec.check(&post, subs, r).await.0, StatusCode::NOT_FOUND);
    let poll = "/api/v1/subscriptions/{id}/poll";
    let r = req(&app, post.clone(), &format!("{subs}/{id}/poll"))
        .send()
        .await
        .unwrap();
    let (_, polled) = spec.check(&post, poll, r).await;
    assert_eq!(polled["poll"]["created"], 2, "{polled}");
    let r = req(&app, get.clone(), subs).send().await.unwrap();
    let (_, all) = spec.check(&get, subs, r).await;
    assert_eq!(all["subscriptions"][0]["items_imported"], 2);
    let r = req(&app, get.clone(), &format!("{subs}/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(spec.check(&get, sub, r).await.0, StatusCode::OK);
    let r = req(&app, get.clone(), &format!("{subs}/abc"))
        .send()
        .await
        .unwrap();
    assert_eq!(spec.check(&get, sub, r).await.0, StatusCode::BAD_REQUEST);
    spec.check_request(
        &patch,
        sub,
        "application/json",
        &json!({ "full_content": false }),
    );
    let r = req(&app, patch.clone(), &format!("{subs}/{id}"))
        .json(&json!({ "full_content": false }))
        .send()
        .await
        .unwrap();
    assert_eq!(spec.check(&patch, sub, r).await.0, StatusCode::OK);
    let r = req(&app, patch.clone(), &format!("{subs}/{id}"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(spec.check(&patch, sub, r).await.0, StatusCode::BAD_REQUEST);
    let r = req(&app, patch.clone(), &format!("{subs}/99999"))
        .json(&json!({ "full_content": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(spec.check(&patch, sub, r).await.0, StatusCode::NOT_FOUND);
    let r = req(&app, post.clone(), &format!("{subs}/99999/poll"))
        .send()
        .await
        .unwrap();
    assert_eq!(spec.check(&post, poll, r).await.0, StatusCode::NOT_FOUND);

    // Rules: of the subscription and of the channel; preview, reapply, a 422.
    let srules = "/api/v1/subscriptions/{id}/rules";
    let crules = "/api/v1/channels/{slug}/rules";
    let set = json!([
        { "name": "no second", "if": { "title": "Second" }, "then": "drop" },
        { "unless": { "tag": "x", "any": "(?i)nothing" }, "then": { "set_author": "A & <B>" } },
        { "then": { "replace": { "field": "title", "pattern": "^First", "with": "1st" } } },
        { "then": "strip_tracking" },
    ]);
    spec.check_request(&put, srules, "application/json", &set);
    // The rule schema is not a formality: shapes the server refuses are refused by it too.
    for bad in [
        json!([{ "then": "bogus" }]),
        json!([{ "if": { "nope": "x" }, "then": "drop" }]),
        json!([{ "if": {}, "then": "drop" }]),
        json!([{ "then": { "replace": { "field": "link", "pattern": "x" } } }]),
        json!([{ "name": "no then" }]),
    ] {
        assert!(
            !spec
                .request_errors(&put, srules, "application/json", &bad)
                .is_empty(),
            "the document takes {bad}"
        );
        let r = req(&app, put.clone(), &format!("{subs}/{id}/rules"))
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(
            spec.check(&put, srules, r).await.0,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}"
        );
    }
    let r = req(&app, put.clone(), &format!("{subs}/{id}/rules"))
        .json(&set)
        .send()
        .await
        .unwrap();
    let (s, stored) = spec.check(&put, srules, r).await;
    assert_eq!(s, StatusCode::OK, "{stored}");
    let r = req(&app, get.clone(), &format!("{subs}/{id}/rules"))
        .send()
        .await
        .unwrap();
    assert_eq!(spec.check(&get, srules, r).await.1, set);
    let r = req(&app, put.clone(), &format!("{subs}/{id}/rules"))
        .json(&json!([{ "name": "broken", "if": { "title": "[x" }, "then": "drop" }]))
        .send()
        .await
        .unwrap();
    let (s, e) = spec.check(&put, srules, r).await;
    assert_eq!(
        (s, &e["error"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("invalid_rules"))
    );
    let r = req(&app, post.clone(), &format!("{subs}/{id}/rules/preview"))
        .send()
        .await
        .unwrap();
    let (s, preview) = spec
        .check(&post, "/api/v1/subscriptions/{id}/rules/preview", r)
        .await;
    assert_eq!(
        (s, &preview["dropped"]),
        (StatusCode::OK, &json!(1)),
        "{preview}"
    );
    let r = req(&app, post.clone(), &format!("{subs}/{id}/rules/reapply"))
        .send()
        .await
        .unwrap();
    let (s, reapplied) = spec
        .check(&post, "/api/v1/subscriptions/{id}/rules/reapply", r)
        .await;
    assert_eq!(
        (s, &reapplied["dropped"]),
        (StatusCode::OK, &json!(1)),
        "{reapplied}"
    );
    let body = json!([{ "if": { "title": "(?i)pub" }, "then": { "add_tag": "ad" } }]);
    spec.check_request(&put, crules, "application/json", &body);
    let r = req(&app, put.clone(), "/api/v1/channels/monde/rules")
        .json(&body)
        .send()
        .await
        .unwrap();
    let (s, b) = spec.check(&put, crules, r).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let r = req(&app, get.clone(), "/api/v1/channels/monde/rules")
        .send()
        .await
        .unwrap();
    assert_eq!(spec.check(&get, crules, r).await.0, StatusCode::OK);
    let r = req(&app, get.clone(), "/api/v1/channels/nope/rules")
        .send()
        .await
        .unwrap();
    assert_eq!(spec.check(&get, crules, r).await.0, StatusCode::NOT_FOUND);

    // The hub: a subscriber verified through a local callback, listed, removed.
    let callback = spawn_subscriber().await;
    let topic = app.url("/feeds/monde/rss.xml");
    let hub_form = [
        ("hub.mode", "subscribe"),
        ("hub.topic", topic.as_str()),
        ("hub.callback", callback.url.as_str()),
    ];
    let r = hub_request(&app, &hub_form).await;
    assert_eq!(
        spec.check(&post, "/websub", r).await.0,
        StatusCode::ACCEPTED
    );
    let r = hub_request(&app, &[("hub.mode", "subscribe")]).await;
    assert_eq!(
        spec.check(&post, "/websub", r).await.0,
        StatusCode::BAD_REQUEST
    );
    let r = hub_request(
        &app,
        &[
            ("hub.mode", "subscribe"),
            ("hub.topic", "http://elsewhere.example/feed"),
            ("hub.callback", callback.url.as_str()),
        ],
    )
    .await;
    let s = spec.check(&post, "/websub", r).await.0;
    assert!(s.is_client_error(), "{s}");
    let r = app
        .client
        .post(app.url("/websub"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(
        spec.check(&post, "/websub", r).await.0,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    let big = format!("hub.mode=subscribe&hub.topic={}", "t".repeat(65 * 1024));
    let r = app
        .client
        .post(app.url("/websub"))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(big)
        .send()
        .await
        .unwrap();
    let (s, e) = spec.check(&post, "/websub", r).await;
    assert_eq!(
        (s, &e["limit"]),
        (StatusCode::PAYLOAD_TOO_LARGE, &json!(65536))
    );
    let state = callback.state.clone();
    eventually("the hub to verify the subscriber", || {
        !state.verified.lock().unwrap().is_empty()
    })
    .await;
    let hubs = "/api/v1/hub/subscriptions";
    let mut listed = Value::Null;
    for _ in 0..100 {
        let r = req(&app, get.clone(), hubs).send().await.unwrap();
        listed = spec.check(&get, hubs, r).await.1;
        if listed["hub_subscriptions"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let hub_id = listed["hub_subscriptions"][0]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no hub subscription listed: {listed}"));
    let r = req(&app, delete.clone(), &format!("{hubs}/{hub_id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        spec.check(&delete, "/api/v1/hub/subscriptions/{id}", r)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    let r = req(&app, delete.clone(), &format!("{hubs}/{hub_id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        spec.check(&delete, "/api/v1/hub/subscriptions/{id}", r)
            .await
            .0,
        StatusCode::NOT_FOUND
    );

    // WebSub callbacks: verifications syndic did not ask for, pushes to nobody, and an
    // unsigned push where nothing is verified (acknowledged, ignored).
    let cb = "/websub/callback/{id}/{token}";
    let legacy = "/websub/callback/{id}";
    let q = "?hub.mode=subscribe&hub.topic=http%3A%2F%2Fx.example%2F&hub.challenge=c";
    let r = app
        .client
        .get(app.url(&format!("/websub/callback/{id}/wrong{q}")))
        .send()
        .await
        .unwrap();
    assert_eq!(spec.check(&get, cb, r).await.0, StatusCode::NOT_FOUND);
    let r = app
        .client
        .get(app.url(&format!("/websub/callback/{id}/wrong")))
        .send()
        .await
        .unwrap();
    assert_eq!(spec.check(&get, cb, r).await.0, StatusCode::BAD_REQUEST);
    let r = app
        .client
        .get(app.url(&format!("/websub/callback/{id}{q}")))
        .send()
        .await
        .unwrap();
    assert_eq!(spec.check(&get, legacy, r).await.0, StatusCode::NOT_FOUND);
    // An unsubscription syndic does not mind is confirmed: the challenge, as text.
    let unsub = "?hub.mode=unsubscribe&hub.topic=http%3A%2F%2Fx.example%2F&hub.challenge=c%26%3C";
    for (path, template) in [
        (format!("/websub/callback/{id}{unsub}"), legacy),
        (format!("/websub/callback/{id}/wrong{unsub}"), cb),
    ] {
        let r = app.client.get(app.url(&path)).send().await.unwrap();
        assert_eq!(r.headers()[CONTENT_TYPE], "text/plain; charset=utf-8");
        let (s, _) = spec.check(&get, template, r).await;
        assert_eq!(s, StatusCode::OK);
    }
    let r = app
        .client
        .post(app.url(&format!("/websub/callback/{id}/wrong")))
        .body("<rss/>")
        .send()
        .await
        .unwrap();
    assert_eq!(spec.check(&post, cb, r).await.0, StatusCode::GONE);
    let r = app
        .client
        .post(app.url(&format!("/websub/callback/{id}")))
        .body("<rss/>")
        .send()
        .await
        .unwrap();
    assert_eq!(spec.check(&post, legacy, r).await.0, StatusCode::ACCEPTED);
    // A subscription through an upstream's hub (a local one that takes the request): its
    // verification is confirmed with the challenge, and a push is imported.
    let (hub, forms) = spawn_fake_hub().await;
    let topic = upstream.url("/f/hubbed");
    upstream.set_feed(
        "hubbed",
        "application/rss+xml",
        format!(
            r#"<?xml version="1.0"?><rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel><title>H</title><link>https://u.example/</link><description>d</description><atom:link rel="hub" href="{hub}"/><atom:link rel="self" href="{topic}"/><item><guid>h1</guid><title>One</title><link>https://u.example/h/1</link></item></channel></rss>"#
        ),
    );
    let r = req(&app, post.clone(), subs)
        .json(&json!({ "url": topic, "channel": "imports" }))
        .send()
        .await
        .unwrap();
    let (s, created) = spec.check(&post, subs, r).await;
    assert_eq!(s, StatusCode::CREATED);
    let hubbed = created["subscription"]["id"].as_i64().unwrap();
    let r = req(&app, post.clone(), &format!("{subs}/{hubbed}/poll"))
        .send()
        .await
        .unwrap();
    assert_eq!(spec.check(&post, poll, r).await.0, StatusCode::OK);
    let seen = forms.clone();
    eventually("the upstream's hub got the request", || {
        !seen.lock().unwrap().is_empty()
    })
    .await;
    let form = forms.lock().unwrap()[0].clone();
    let mut verify = url::Url::parse(&form["hub.callback"]).unwrap();
    verify
        .query_pairs_mut()
        .append_pair("hub.mode", "subscribe")
        .append_pair("hub.topic", &form["hub.topic"])
        .append_pair("hub.challenge", "chal & <lenge>")
        .append_pair("hub.lease_seconds", "3600");
    let r = app.client.get(verify).send().await.unwrap();
    let (s, _) = spec.check(&get, cb, r).await;
    assert_eq!(s, StatusCode::OK);
    let r = app
        .client
        .post(&form["hub.callback"])
        .header(CONTENT_TYPE, "application/rss+xml")
        .body(rss_feed("H", &[("h2", "Pushed", "https://u.example/h/2")]))
        .send()
        .await
        .unwrap();
    assert_eq!(spec.check(&post, cb, r).await.0, StatusCode::ACCEPTED);
    let r = req(&app, get.clone(), &format!("{subs}/{hubbed}"))
        .send()
        .await
        .unwrap();
    let (_, with_hub) = spec.check(&get, sub, r).await;
    assert_eq!(with_hub["websub_hub"], hub, "{with_hub}");

    // Feeds and pages: every format, a browser's page, 304, errors.
    let feed = "/feeds/{slug}/{file}";
    let mut etag = String::new();
    for file in ["rss.xml", "atom.xml", "feed.json"] {
        let r = app.feed("monde", file).await;
        etag = r.headers()["etag"].to_str().unwrap().to_owned();
        assert_eq!(spec.check(&get, feed, r).await.0, StatusCode::OK);
    }
    let r = app
        .get_with("/feeds/monde/feed.json", &[("if-none-match", &etag)])
        .await;
    assert_eq!(spec.check(&get, feed, r).await.0, StatusCode::NOT_MODIFIED);
    let r = app
        .get_with("/feeds/monde/rss.xml", &[("accept", "text/html")])
        .await;
    assert_eq!(spec.check(&get, feed, r).await.0, StatusCode::OK);
    let r = app.get_with("/feeds/monde/rss.xml?limit=0", &[]).await;
    assert_eq!(spec.check(&get, feed, r).await.0, StatusCode::BAD_REQUEST);
    let r = app.feed("monde", "feed.xml").await;
    assert_eq!(spec.check(&get, feed, r).await.0, StatusCode::NOT_FOUND);
    for (path, template, want) in [
        ("/", "/", StatusCode::OK),
        ("/opml.xml", "/opml.xml", StatusCode::OK),
        ("/feeds/style.xsl", "/feeds/style.xsl", StatusCode::OK),
        ("/channels/monde", "/channels/{slug}", StatusCode::OK),
        (
            "/channels/monde?before=zz",
            "/channels/{slug}",
            StatusCode::BAD_REQUEST,
        ),
        ("/channels/nope", "/channels/{slug}", StatusCode::NOT_FOUND),
        (
            &format!("/channels/monde/{}", crate::helpers::encode(seed_id)),
            "/channels/{slug}/{article}",
            StatusCode::OK,
        ),
        (
            "/channels/monde/nope",
            "/channels/{slug}/{article}",
            StatusCode::NOT_FOUND,
        ),
    ] {
        let r = app.get_with(path, &[]).await;
        assert_eq!(spec.check(&get, template, r).await.0, want, "{path}");
    }

    // Limits every route enforces.
    let long = format!("/healthz?{}", "a".repeat(9 * 1024));
    let r = app.client.get(app.url(&long)).send().await.unwrap();
    assert_eq!(
        spec.check(&get, "/healthz", r).await.0,
        StatusCode::URI_TOO_LONG
    );
    let big = "b".repeat(8 * 1024);
    let mut many = app.client.get(app.url("/healthz"));
    for i in 0..8 {
        many = many.header(format!("x-big-{i}"), big.as_str());
    }
    let r = many.send().await.unwrap();
    assert_eq!(
        spec.check(&get, "/healthz", r).await.0,
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );

    // Removals last.
    let r = req(&app, delete.clone(), &format!("{subs}/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(spec.check(&delete, sub, r).await.0, StatusCode::NO_CONTENT);
    let r = req(&app, delete.clone(), &format!("{subs}/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(spec.check(&delete, sub, r).await.0, StatusCode::NOT_FOUND);
    let r = req(&app, delete.clone(), "/api/v1/channels/imports")
        .send()
        .await
        .unwrap();
    assert_eq!(
        spec.check(&delete, one_t, r).await.0,
        StatusCode::NO_CONTENT
    );
    let r = req(&app, delete.clone(), "/api/v1/channels/imports")
        .send()
        .await
        .unwrap();
    assert_eq!(spec.check(&delete, one_t, r).await.0, StatusCode::NOT_FOUND);

    // Every documented operation was driven, and answered a success once.
    for (method, template) in spec.operations() {
        let seen = spec
            .seen
            .get(&(method.to_string(), template.clone()))
            .unwrap_or_else(|| panic!("{method} {template} was never requested"));
        assert!(
            seen.iter().any(|s| (200..300).contains(s)),
            "{method} {template} never answered a success: {seen:?}"
        );
    }
    // Every route the server matched (the metrics count requests by route template) is a
    // documented path.
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let paths = spec.doc["paths"].as_object().unwrap();
    let mut routes = BTreeSet::new();
    for line in metrics.lines().filter(|l| !l.starts_with('#')) {
        if let Some(rest) = line.split("route=\"").nth(1) {
            routes.insert(rest.split('"').next().unwrap().to_owned());
        }
    }
    assert!(routes.len() > 20, "{routes:?}");
    for route in routes.iter().filter(|r| *r != "unmatched") {
        assert!(
            paths.contains_key(route),
            "{route} is routed but not documented"
        );
    }
}
