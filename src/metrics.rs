//! Prometheus metrics, served as text at `GET /metrics`. One process-wide registry: the HTTP
//! layer, the render cache, the poller and the WebSub worker each record what they do here.

use std::sync::LazyLock;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: String,
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteOnly {
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Outcome {
    pub outcome: String,
}

/// A hub topic: one of this instance's channels in one format (bounded by the channels).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TopicLabels {
    pub channel: String,
    pub format: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FormatLabel {
    pub format: String,
}

/// What an import rule did to an item: `scope` (subscription or channel), `rule` (its name,
/// or `#INDEX`; see [`Metrics::rule_applied`]) and `outcome` (dropped or changed).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RuleLabels {
    pub scope: String,
    pub rule: String,
    pub outcome: String,
}

/// Rule names used as label values at most: names are set by operators, so past this many
/// distinct ones, further rules are labelled by their index (bounded by the rules per set).
pub const MAX_RULE_NAMES: usize = 256;
/// Characters of a rule name kept in its label.
const RULE_LABEL_CHARS: usize = 64;

type Timings<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 100 µs to about 26 s.
    Histogram::new(exponential_buckets(0.0001, 2.0, 18))
}

pub struct Metrics {
    registry: Registry,
    pub requests: Family<RouteLabels, Counter>,
    pub request_seconds: Timings<RouteOnly>,
    pub articles_ingested: Family<Outcome, Counter>,
    pub polls: Family<Outcome, Counter>,
    pub feed_bytes: Family<FormatLabel, Counter>,
    pub not_modified: Family<FormatLabel, Counter>,
    pub render_seconds: Timings<FormatLabel>,
    pub websub_deliveries: Family<Outcome, Counter>,
    /// Ingests whose blocking work (parse, prepare) is running now.
    pub ingests_in_progress: Gauge,
    /// Ingests stopped because their request timed out or their client went away.
    pub ingests_cancelled: Counter,
    /// Bytes the render cache holds (bodies and their compressed forms), and renders it
    /// dropped to stay under `SYNDIC_RENDER_CACHE_BYTES`.
    pub render_cache_bytes: Gauge,
    pub render_cache_evictions: Counter,
    /// Items dropped or changed by import rules, per rule.
    pub rule_items: Family<RuleLabels, Counter>,
    rule_names: std::sync::Mutex<std::collections::HashSet<String>>,
    /// Channel-change notifications heard from the database (PostgreSQL `LISTEN`): writes
    /// made by any instance, this one included.
    pub change_notifications: Counter,
    /// Hub subscriptions per topic, as read from the database at each scrape.
    pub hub_subscriptions: Family<TopicLabels, Gauge>,
    /// Item pages of `full_content` subscriptions: fetched (their text published), failed
    /// (none; the feed's text stays) and left pending for a later poll.
    pub full_text_pages: Family<Outcome, Counter>,
}

pub static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::with_prefix("syndic");
    let m = Metrics {
        requests: Family::default(),
        request_seconds: Family::new_with_constructor(latency_histogram),
        articles_ingested: Family::default(),
        polls: Family::default(),
        feed_bytes: Family::default(),
        not_modified: Family::default(),
        render_seconds: Family::new_with_constructor(latency_histogram),
        websub_deliveries: Family::default(),
        ingests_in_progress: Gauge::default(),
        ingests_cancelled: Counter::default(),
        render_cache_bytes: Gauge::default(),
        render_cache_evictions: Counter::default(),
        rule_items: Family::default(),
        rule_names: Default::default(),
        change_notifications: Counter::default(),
        hub_subscriptions: Family::default(),
        full_text_pages: Family::default(),
        registry: Registry::default(),
    };
    registry.register(
        "http_requests",
        "HTTP requests by route and status",
        m.requests.clone(),
    );
    registry.register(
        "http_request_duration_seconds",
        "HTTP request duration by route",
        m.request_seconds.clone(),
    );
    registry.register(
        "articles_ingested",
        "Articles ingested, by outcome (created, updated, unchanged, skipped_deleted)",
        m.articles_ingested.clone(),
    );
    registry.register("polls", "Upstream polls by outcome", m.polls.clone());
    registry.register(
        "feed_bytes_served",
        "Feed bytes sent (as encoded)",
        m.feed_bytes.clone(),
    );
    registry.register(
        "feed_not_modified",
        "Feed requests answered 304",
        m.not_modified.clone(),
    );
    registry.register(
        "feed_render_seconds",
        "Time to render a feed (cache misses only)",
        m.render_seconds.clone(),
    );
    registry.register(
        "websub_deliveries",
        "WebSub deliveries by outcome",
        m.websub_deliveries.clone(),
    );
    registry.register(
        "ingests_in_progress",
        "Ingests parsing or preparing their items now",
        m.ingests_in_progress.clone(),
    );
    registry.register(
        "ingests_cancelled",
        "Ingests stopped before writing: the request timed out or the client went away",
        m.ingests_cancelled.clone(),
    );
    registry.register(
        "render_cache_bytes",
        "Bytes held by the render cache (bodies and compressed forms)",
        m.render_cache_bytes.clone(),
    );
    registry.register(
        "render_cache_evictions",
        "Renders dropped, least recently used first, to stay under SYNDIC_RENDER_CACHE_BYTES",
        m.render_cache_evictions.clone(),
    );
    registry.register(
        "rule_items",
        "Upstream items dropped or changed by import rules, by scope, rule and outcome",
        m.rule_items.clone(),
    );
    registry.register(
        "channel_change_notifications",
        "Channel changes heard by PostgreSQL notification (from any instance, this one too): \
         each makes the feeds of this instance re-read their channel at once",
        m.change_notifications.clone(),
    );
    registry.register(
        "websub_hub_subscriptions",
        "WebSub hub subscriptions whose lease runs, per topic (channel and format); read \
         from the database at each scrape, so every instance on it shows the same",
        m.hub_subscriptions.clone(),
    );
    registry.register(
        "full_text_pages",
        "Item pages of full-text subscriptions, by outcome: fetched (their text published), \
         failed (the feed's text stays) or pending (left for a later poll)",
        m.full_text_pages.clone(),
    );
    Metrics { registry, ..m }
});

impl Metrics {
    pub fn count(family: &Family<Outcome, Counter>, outcome: &str, n: u64) {
        family
            .get_or_create(&Outcome {
                outcome: outcome.to_owned(),
            })
            .inc_by(n);
    }

    /// The label of a feed format, by its file name (`rss.xml`…).
    pub fn format(file_name: &str) -> FormatLabel {
        FormatLabel {
            format: file_name.to_owned(),
        }
    }

    pub fn observe(family: &Timings<FormatLabel>, label: FormatLabel, d: Duration) {
        family.get_or_create(&label).observe(d.as_secs_f64());
    }

    /// Counts one item an import rule dropped or changed. The rule is labelled by its name
    /// (cut to 64 characters) while fewer than [`MAX_RULE_NAMES`] names have been seen, else
    /// by `#INDEX`; the end of a set whose keep rules all missed is `(no keep rule matched)`.
    pub fn rule_applied(
        &self,
        scope: &str,
        index: Option<usize>,
        name: Option<&str>,
        outcome: &str,
    ) {
        let rule = match (index, name) {
            (None, _) => "(no keep rule matched)".to_owned(),
            (Some(i), None) => format!("#{i}"),
            (Some(i), Some(n)) => {
                let n: String = n.chars().take(RULE_LABEL_CHARS).collect();
                let mut names = self.rule_names.lock().expect("lock");
                if names.contains(&n) || names.len() < MAX_RULE_NAMES {
                    names.insert(n.clone());
                    n
                } else {
                    format!("#{i}")
                }
            }
        };
        self.rule_items
            .get_or_create(&RuleLabels {
                scope: scope.to_owned(),
                rule,
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    /// Sets the hub-subscriptions gauge to these counts (channel slug, format, count): topics
    /// no longer listed disappear, so the series stay bounded by the channels that have
    /// subscribers.
    pub fn set_hub_topics(&self, counts: &[(String, String, i64)]) {
        self.hub_subscriptions.clear();
        for (channel, format, n) in counts {
            self.hub_subscriptions
                .get_or_create(&TopicLabels {
                    channel: channel.clone(),
                    format: format.clone(),
                })
                .set(*n);
        }
    }

    /// The registry in Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}
