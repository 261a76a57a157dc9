//! Import rules in the ingest pipeline: every item an upstream brings (poll, WebSub push,
//! subscriptions made from OPML alike) is screened by its subscription's rules, then its
//! channel's, before it is prepared and stored. A dropped item is remembered by its identity
//! keys, so it stays out on later polls (even if the upstream edits it) until the rules
//! change. Also the two runs that write nothing or only what rules say: the preview's
//! verdicts, and `reapply` on the articles a subscription already brought.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::catalog;
use crate::draft::{DateText, Draft};
use crate::model::{Article, Channel, KeyedArticle, Source, Subscription};
use crate::rules::{self, RuleRef, Rules, Verdict};
use crate::store::{DynStore, RulesOwner, StoreError};

/// One upstream item after the rules: its identity keys, the item as the rules left it, and
/// what they did. `remembered` is true when it was dropped on an earlier import under the
/// same rules (and not looked at again).
#[derive(Debug, Clone)]
pub struct Screened {
    pub keys: Vec<String>,
    pub draft: Draft,
    pub verdict: Verdict,
    pub remembered: bool,
}

/// A subscription's rules and its channel's, as stored.
pub async fn load_rules(store: &DynStore, sub: &Subscription) -> Result<Rules, StoreError> {
    let read = |owner, what: String| async move {
        let json = store.rules(owner).await?.flatten();
        rules::from_stored(json.as_deref())
            .map_err(|e| StoreError::Corrupt(format!("the stored rules of {what}: {e}")))
    };
    Ok(Rules {
        subscription: read(
            RulesOwner::Subscription(sub.id),
            format!("subscription #{}", sub.id),
        )
        .await?,
        channel: read(
            RulesOwner::Channel(sub.channel_id),
            format!("channel {}", sub.channel),
        )
        .await?,
    })
}

/// Runs `rules` on identified items (see `poll::poller::identify`); an item remembered as
/// dropped under these very rules stays dropped without being looked at.
pub async fn screen(
    store: &DynStore,
    subscription_id: i64,
    rules: &Rules,
    items: Vec<(Vec<String>, Draft)>,
) -> Result<Vec<Screened>, StoreError> {
    if rules.is_empty() {
        return Ok(items
            .into_iter()
            .map(|(keys, draft)| Screened {
                keys,
                draft,
                verdict: Verdict::default(),
                remembered: false,
            })
            .collect());
    }
    let fingerprint = rules.fingerprint();
    let all: Vec<&str> = items
        .iter()
        .flat_map(|(k, _)| k.iter().map(String::as_str))
        .collect();
    let memory = store.dropped_items(subscription_id, &all).await?;
    Ok(items
        .into_iter()
        .map(|(keys, mut draft)| {
            let remembered = keys
                .iter()
                .filter_map(|k| memory.get(k))
                .find(|m| m.rules_hash == fingerprint);
            match remembered {
                Some(m) => Screened {
                    verdict: Verdict {
                        dropped: Some(remembered_ref(&m.rule)),
                        changes: Vec::new(),
                    },
                    keys,
                    draft,
                    remembered: true,
                },
                None => {
                    let verdict = rules.apply(&mut draft);
                    Screened {
                        keys,
                        draft,
                        verdict,
                        remembered: false,
                    }
                }
            }
        })
        .collect())
}

/// The rule of a remembered drop, read back from what was stored.
fn remembered_ref(stored: &str) -> RuleRef {
    serde_json::from_str(stored).unwrap_or(RuleRef {
        scope: rules::Scope::Subscription,
        index: None,
        name: Some(stored.to_owned()),
    })
}

/// After an import: remembers the items dropped now (by every key of theirs) and counts
/// what the rules did in the metrics.
pub async fn remember(
    store: &DynStore,
    subscription_id: i64,
    rules: &Rules,
    screened: &[Screened],
) -> Result<(), StoreError> {
    let fresh = screened.iter().filter(|s| !s.remembered);
    let mut entries: Vec<(&str, String)> = Vec::new();
    for s in fresh {
        record_metrics(&s.verdict);
        if let Some(r) = &s.verdict.dropped {
            let rule = serde_json::to_string(r).expect("a rule reference serializes");
            entries.extend(s.keys.iter().map(|k| (k.as_str(), rule.clone())));
        }
    }
    if entries.is_empty() {
        return Ok(());
    }
    let pairs: Vec<(&str, &str)> = entries.iter().map(|(k, r)| (*k, r.as_str())).collect();
    store
        .remember_dropped(
            subscription_id,
            &pairs,
            &rules.fingerprint(),
            chrono::Utc::now().timestamp_micros(),
        )
        .await
}

fn record_metrics(v: &Verdict) {
    use crate::metrics::METRICS;
    if let Some(r) = &v.dropped {
        METRICS.rule_applied(r.scope.as_str(), r.index, r.name.as_deref(), "dropped");
    }
    let mut seen: Vec<&RuleRef> = Vec::new();
    for c in &v.changes {
        if !seen.contains(&&c.rule) {
            seen.push(&c.rule);
            METRICS.rule_applied(
                c.rule.scope.as_str(),
                c.rule.index,
                c.rule.name.as_deref(),
                "changed",
            );
        }
    }
}

/// What the rules do (or did) to one item, as the preview and reapply answer it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ItemVerdict {
    pub id: String,
    pub title: Option<String>,
    /// `kept`, `dropped` or `changed`.
    pub outcome: &'static str,
    /// The rule that decided: the one that dropped it, else the first that changed it.
    pub rule: Option<RuleRef>,
    pub changes: Vec<rules::Change>,
    /// True for an item dropped on an earlier import under the same rules.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub remembered: bool,
}

impl ItemVerdict {
    /// `title` is the item's title before the rules, so that a person knows it again.
    pub fn new(id: String, title: Option<String>, s: &Screened) -> ItemVerdict {
        ItemVerdict {
            id,
            title,
            outcome: s.verdict.outcome(),
            rule: s.verdict.rule().cloned(),
            changes: s.verdict.changes.clone(),
            remembered: s.remembered,
        }
    }
}

/// What `reapply` did.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct ReapplyReport {
    pub subscription: i64,
    pub examined: usize,
    pub kept: usize,
    pub changed: usize,
    /// Articles deleted (with a tombstone, so no poll brings them back).
    pub dropped: usize,
    pub items: Vec<ItemVerdict>,
}

/// The draft an article is made of again: what reapply runs the rules on.
fn draft_of(a: &Article) -> Draft {
    let a = a.clone();
    Draft {
        id: Some(a.id),
        url: a.url,
        external_url: a.external_url,
        title: a.title,
        summary: a.summary,
        content_html: a.content_html,
        content_text: a.content_text,
        image: a.image,
        banner_image: a.banner_image,
        date_published: a.date_published.map(DateText::Parsed),
        date_modified: a.date_modified.map(DateText::Parsed),
        authors: a.authors,
        contributors: a.contributors,
        tags: a.tags,
        language: a.language,
        attachments: a.attachments,
        source: a.source,
    }
}

/// Runs the current rules on the channel's stored articles from this subscription: those
/// the rules drop are deleted (and remembered as dropped), those they change are updated
/// (through the same preparation, sanitizer and import as a poll), the others stay as they are.
pub async fn reapply(
    store: &DynStore,
    sub: &Subscription,
    channel: &Channel,
) -> Result<ReapplyReport, StoreError> {
    let rules = load_rules(store, sub).await?;
    let mut by_guid: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (key, guid) in store.subscription_item_keys(sub.id).await? {
        by_guid.entry(guid).or_default().push(key);
    }
    let mut report = ReapplyReport {
        subscription: sub.id,
        ..Default::default()
    };
    let mut screened = Vec::new();
    let mut changed: Vec<KeyedArticle> = Vec::new();
    let mut dropped: Vec<String> = Vec::new();
    let fallback_source = Source {
        title: sub.title.clone(),
        url: sub.url.clone(),
    };
    for (guid, keys) in by_guid {
        let Some(stored) = store.article(channel, &guid).await? else {
            continue;
        };
        let mut draft = draft_of(&stored.article);
        let verdict = rules.apply(&mut draft);
        let s = Screened {
            keys,
            draft,
            verdict,
            remembered: false,
        };
        report.examined += 1;
        report.items.push(ItemVerdict::new(
            guid.clone(),
            stored.article.title.clone(),
            &s,
        ));
        match s.verdict.outcome() {
            "dropped" => {
                report.dropped += 1;
                dropped.push(guid);
            }
            "changed" => {
                let source = stored
                    .article
                    .source
                    .clone()
                    .unwrap_or(fallback_source.clone());
                let mut prepared =
                    super::prepare_upstream(vec![s.draft.clone()], channel, &source).articles;
                match prepared.pop() {
                    Some((_, mut a)) => {
                        a.id = guid;
                        a.source = stored.article.source.clone();
                        report.changed += 1;
                        changed.push(KeyedArticle {
                            keys: s.keys.clone(),
                            article: a,
                        });
                    }
                    None => report.kept += 1,
                }
            }
            _ => report.kept += 1,
        }
        screened.push(s);
    }
    if !changed.is_empty() {
        // Through the import, as a poll writes: the source's record of the item follows, so
        // the next poll of the unchanged upstream finds it unchanged.
        catalog::import(store, sub, channel, changed).await?;
    }
    if !dropped.is_empty() {
        let guids: Vec<&str> = dropped.iter().map(String::as_str).collect();
        catalog::delete_many(store, channel, &guids).await?;
    }
    remember(store, sub.id, &rules, &screened).await?;
    Ok(report)
}

/// Counts of a screening, for poll reports.
pub fn counts(screened: &[Screened]) -> (usize, usize) {
    let dropped = screened
        .iter()
        .filter(|s| s.verdict.dropped.is_some())
        .count();
    let changed = screened
        .iter()
        .filter(|s| s.verdict.outcome() == "changed")
        .count();
    (dropped, changed)
}
