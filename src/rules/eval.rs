//! Evaluating rules on one upstream item ([`Draft`]), before ingest validates and sanitizes
//! it: the subscription's set, then the channel's. In each set the rules run in order; a
//! condition sees the item as the rules before it left it. `drop` ends everything; `keep`
//! marks the item kept and evaluation goes on (a later `drop` still drops it); once a set has
//! a `keep` rule, an item that matched none of them is dropped at the end of that set.

use serde::Serialize;

use super::{
    Action, Condition, Field, MAX_GROWTH_BYTES, MAX_MATCH_BYTES, Rule, RuleSet, Rules, Scope,
    TextField,
};
use crate::draft::Draft;
use crate::model::Person;
use crate::text::html_to_text;

/// Which rule decided or changed something. `index` is `None` for the end of a set with
/// `keep` rules that none matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct RuleRef {
    pub scope: Scope,
    pub index: Option<usize>,
    pub name: Option<String>,
}

impl RuleRef {
    fn of(scope: Scope, rule: &Rule) -> RuleRef {
        RuleRef {
            scope,
            index: Some(rule.index),
            name: rule.name.clone(),
        }
    }

    /// For people and logs: `subscription rule 2 "only AI"`, `channel: no keep rule matched`.
    pub fn label(&self) -> String {
        match (self.index, &self.name) {
            (Some(i), Some(n)) => format!("{} rule {i} {n:?}", self.scope.as_str()),
            (Some(i), None) => format!("{} rule {i}", self.scope.as_str()),
            (None, _) => format!("{}: no keep rule matched", self.scope.as_str()),
        }
    }
}

/// One change a rule made to an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Change {
    pub rule: RuleRef,
    pub action: &'static str,
    pub field: &'static str,
    /// What changed, briefly: the new title, the tag added, the parameters removed…
    pub detail: String,
}

/// What the rules did to one item.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// The rule that dropped it, if one did.
    pub dropped: Option<RuleRef>,
    pub changes: Vec<Change>,
}

impl Verdict {
    /// `kept`, `dropped` or `changed`.
    pub fn outcome(&self) -> &'static str {
        if self.dropped.is_some() {
            "dropped"
        } else if self.changes.is_empty() {
            "kept"
        } else {
            "changed"
        }
    }

    /// The rule that decided the outcome: the dropping rule, else the first that changed
    /// the item.
    pub fn rule(&self) -> Option<&RuleRef> {
        self.dropped
            .as_ref()
            .or_else(|| self.changes.first().map(|c| &c.rule))
    }
}

impl Rules {
    /// Runs both sets on `d`, changing it in place.
    pub fn apply(&self, d: &mut Draft) -> Verdict {
        let mut verdict = Verdict::default();
        let mut texts = Texts::default();
        for (scope, set) in [
            (Scope::Subscription, &self.subscription),
            (Scope::Channel, &self.channel),
        ] {
            if let Some(set) = set {
                apply_set(scope, set, d, &mut texts, &mut verdict);
                if verdict.dropped.is_some() {
                    break;
                }
            }
        }
        verdict
    }
}

/// The texts conditions look at, computed once and forgotten when a rule changes them.
#[derive(Default)]
struct Texts {
    summary: Option<String>,
    content: Option<String>,
}

/// The start of a text, at most [`MAX_MATCH_BYTES`], cut on a character boundary.
fn head(s: &str) -> &str {
    if s.len() <= MAX_MATCH_BYTES {
        return s;
    }
    let mut end = MAX_MATCH_BYTES;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl Texts {
    fn summary(&mut self, d: &Draft) -> &str {
        self.summary
            .get_or_insert_with(|| d.summary.as_deref().map(html_to_text).unwrap_or_default())
    }

    fn content(&mut self, d: &Draft) -> &str {
        self.content
            .get_or_insert_with(|| match (&d.content_html, &d.content_text) {
                (Some(h), _) => html_to_text(head(h)),
                (None, Some(t)) => t.clone(),
                (None, None) => String::new(),
            })
    }
}

fn field_matches(field: Field, re: &regex::Regex, d: &Draft, texts: &mut Texts) -> bool {
    let m = |s: &str| re.is_match(head(s));
    match field {
        Field::Title => d.title.as_deref().is_some_and(m),
        Field::Summary => m(texts.summary(d)),
        Field::Content => m(texts.content(d)),
        Field::Author => d.authors.iter().filter_map(|p| p.name.as_deref()).any(m),
        Field::Tag => d.tags.iter().any(|t| m(t)),
        Field::Link => d.url.as_deref().is_some_and(m),
        Field::Any => [
            Field::Title,
            Field::Summary,
            Field::Content,
            Field::Author,
            Field::Tag,
            Field::Link,
        ]
        .into_iter()
        .any(|f| field_matches(f, re, d, texts)),
    }
}

fn holds(c: &Condition, d: &Draft, texts: &mut Texts) -> bool {
    c.0.iter().all(|(f, re)| field_matches(*f, re, d, texts))
}

fn apply_set(scope: Scope, set: &RuleSet, d: &mut Draft, texts: &mut Texts, v: &mut Verdict) {
    let mut kept = false;
    for rule in &set.rules {
        if !holds(&rule.when, d, texts) {
            continue;
        }
        if rule.unless.as_ref().is_some_and(|u| holds(u, d, texts)) {
            continue;
        }
        let change = |field: &'static str, detail: String| Change {
            rule: RuleRef::of(scope, rule),
            action: rule.action.as_str(),
            field,
            detail,
        };
        match &rule.action {
            Action::Drop => {
                v.dropped = Some(RuleRef::of(scope, rule));
                return;
            }
            Action::Keep => kept = true,
            Action::AddTag(tag) => {
                if !d.tags.iter().any(|t| t == tag) {
                    d.tags.push(tag.clone());
                    v.changes.push(change("tags", tag.clone()));
                }
            }
            Action::SetAuthor(name) => {
                let already = d.authors.len() == 1 && d.authors[0].name.as_deref() == Some(name);
                if !already {
                    d.authors = vec![Person {
                        name: Some(name.clone()),
                        ..Default::default()
                    }];
                    v.changes.push(change("authors", name.clone()));
                }
            }
            Action::Replace {
                field,
                pattern,
                with,
            } => {
                if let Some(detail) = replace(*field, pattern, with, d) {
                    match field {
                        TextField::Summary => texts.summary = None,
                        TextField::Content => texts.content = None,
                        TextField::Title => {}
                    }
                    v.changes.push(change(field.as_str(), detail));
                }
            }
            Action::StripTracking => {
                let mut removed = Vec::new();
                let mut fields = Vec::new();
                // An id that is the link (as a poll derives it) loses the parameters too. The
                // item is still recognised later: identity keys are taken before the rules,
                // and an item seen before keeps the id it was stored under.
                if d.id.is_some()
                    && d.id == d.url
                    && let Some((clean, _)) =
                        d.id.as_deref().and_then(super::html::strip_tracking_url)
                {
                    d.id = Some(clean);
                }
                for (name, slot) in [("url", &mut d.url), ("external_url", &mut d.external_url)] {
                    if let Some((clean, names)) =
                        slot.as_deref().and_then(super::html::strip_tracking_url)
                    {
                        *slot = Some(clean);
                        removed.extend(names);
                        fields.push(name);
                    }
                }
                if let Some((clean, names)) = d
                    .content_html
                    .as_deref()
                    .and_then(super::html::strip_tracking_html)
                {
                    d.content_html = Some(clean);
                    removed.extend(names);
                    fields.push("content");
                }
                if !removed.is_empty() {
                    removed.sort_unstable();
                    removed.dedup();
                    let field = if fields.len() == 1 {
                        fields[0]
                    } else {
                        "links"
                    };
                    v.changes
                        .push(change(field, format!("removed {}", removed.join(", "))));
                }
            }
        }
    }
    if set.has_keep() && !kept {
        v.dropped = Some(RuleRef {
            scope,
            index: None,
            name: None,
        });
    }
}

/// A replacement in one field; a description of it when anything changed.
fn replace(field: TextField, re: &regex::Regex, with: &str, d: &mut Draft) -> Option<String> {
    let plain = |slot: &mut Option<String>| -> Option<String> {
        let old = slot.as_deref()?;
        if !re.is_match(old) {
            return None;
        }
        let new = re.replace_all(old, with).into_owned();
        if new == old || new.len() > old.len() + MAX_GROWTH_BYTES {
            return None;
        }
        *slot = Some(new.clone());
        Some(new)
    };
    match field {
        TextField::Title => plain(&mut d.title).map(|t| format!("now {t:?}")),
        TextField::Summary => {
            // A summary may be HTML (RSS descriptions often are): replace in its text nodes.
            let old = d.summary.as_deref()?;
            let (new, n) = if old.contains('<') {
                super::html::replace_text(old, re, with)?
            } else {
                let n = re.find_iter(old).count();
                plain(&mut d.summary)?;
                return Some(format!("{n} replacement{}", if n == 1 { "" } else { "s" }));
            };
            d.summary = Some(new);
            Some(format!("{n} replacement{}", if n == 1 { "" } else { "s" }))
        }
        TextField::Content => {
            let mut n_all = 0;
            if let Some(html) = d.content_html.as_deref()
                && let Some((new, n)) = super::html::replace_text(html, re, with)
            {
                d.content_html = Some(new);
                n_all += n;
            }
            if let Some(text) = d.content_text.as_deref() {
                let n = re.find_iter(text).count();
                if n > 0 && plain(&mut d.content_text).is_some() {
                    n_all += n;
                }
            }
            (n_all > 0).then(|| format!("{n_all} replacement{}", if n_all == 1 { "" } else { "s" }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(sub: &str, channel: &str) -> Rules {
        Rules {
            subscription: super::super::parse(sub.as_bytes()).unwrap(),
            channel: super::super::parse(channel.as_bytes()).unwrap(),
        }
    }

    fn draft(title: &str) -> Draft {
        Draft {
            title: Some(title.into()),
            url: Some("https://x.example/a?utm_source=rss&id=1".into()),
            content_html: Some(
                r#"<p>About <b>AI</b>. <a href="https://y.example/?fbclid=1">y</a></p>"#.into(),
            ),
            authors: vec![Person {
                name: Some("AFP".into()),
                ..Default::default()
            }],
            tags: vec!["Sport".into()],
            ..Default::default()
        }
    }

    const ISSUE: &str = r#"[
  {"name": "no sponsored posts", "if": {"title": "(?i)sponsored|advert"}, "then": "drop"},
  {"name": "only AI", "if": {"any": "(?i)\\b(AI|machine learning)\\b"}, "then": "keep"},
  {"if": {"author": "^AFP$", "tag": "(?i)sport"}, "then": {"add_tag": "wire-sport"}},
  {"then": {"replace": {"field": "title", "pattern": "^\\[[^]]*\\]\\s*", "with": ""}}},
  {"then": "strip_tracking"}
]"#;

    #[test]
    fn the_issue_example_does_what_it_says() {
        let r = rules(ISSUE, "null");
        let mut d = draft("[Wire] Robots win");
        let v = r.apply(&mut d);
        assert_eq!(v.outcome(), "changed", "{v:?}");
        assert_eq!(d.title.as_deref(), Some("Robots win"));
        assert_eq!(d.tags, vec!["Sport", "wire-sport"]);
        assert_eq!(d.url.as_deref(), Some("https://x.example/a?id=1"));
        assert!(
            d.content_html
                .as_deref()
                .unwrap()
                .contains(r#"href="https://y.example/""#)
        );
        assert_eq!(v.changes.len(), 3);
        assert_eq!(v.rule().unwrap().index, Some(2));

        let mut d = draft("Sponsored: buy this");
        let v = r.apply(&mut d);
        assert_eq!(
            v.dropped.as_ref().unwrap().name.as_deref(),
            Some("no sponsored posts")
        );

        // Not about AI: no keep rule matched.
        let mut d = draft("Weather");
        d.content_html = Some("<p>Rain</p>".into());
        let v = r.apply(&mut d);
        assert_eq!(v.dropped.as_ref().unwrap().index, None);
        assert_eq!(
            v.dropped.as_ref().unwrap().label(),
            "subscription: no keep rule matched"
        );
    }

    #[test]
    fn unless_negates_and_conditions_see_text_not_markup() {
        let r = rules(
            r#"[{"if":{"content":"^About AI"},"unless":{"tag":"^Sport$"},"then":"drop"}]"#,
            "null",
        );
        let mut d = draft("t");
        assert_eq!(r.apply(&mut d).outcome(), "kept", "unless held");
        d.tags.clear();
        assert_eq!(
            r.apply(&mut d).outcome(),
            "dropped",
            "the text, without <p> and <b>"
        );
        // Markup is not text: a class name does not match.
        let r = rules(r#"[{"if":{"content":"secret"},"then":"drop"}]"#, "null");
        let mut d = draft("t");
        d.content_html = Some(r#"<p class="secret">x</p><script>secret</script>"#.into());
        assert_eq!(r.apply(&mut d).outcome(), "kept");
    }

    #[test]
    fn the_channel_set_runs_after_and_has_its_own_keep() {
        let r = rules(
            r#"[{"then":{"replace":{"field":"title","pattern":"Robots","with":"Droids"}}}]"#,
            r#"[{"if":{"title":"Droids"},"then":"keep"}]"#,
        );
        let mut d = draft("Robots");
        let v = r.apply(&mut d);
        assert_eq!(
            v.outcome(),
            "changed",
            "the channel sees the subscription's change"
        );
        let r = rules(
            r#"[{"then":"keep"}]"#,
            r#"[{"if":{"title":"nope"},"then":"keep"}]"#,
        );
        let v = r.apply(&mut draft("x"));
        assert_eq!(v.dropped.unwrap().scope, Scope::Channel);
        // A drop ends everything, the channel's rules included.
        let r = rules(r#"[{"then":"drop"}]"#, r#"[{"then":{"add_tag":"x"}}]"#);
        let mut d = draft("x");
        let v = r.apply(&mut d);
        assert!(v.changes.is_empty() && d.tags == vec!["Sport"]);
    }

    #[test]
    fn set_author_and_idempotence() {
        let r = rules(
            r#"[{"then":{"set_author":"Desk"}},{"then":{"add_tag":"Sport"}}]"#,
            "null",
        );
        let mut d = draft("x");
        let v = r.apply(&mut d);
        assert_eq!(d.authors[0].name.as_deref(), Some("Desk"));
        assert_eq!(v.changes.len(), 1, "the tag was there");
        let again = r.apply(&mut d);
        assert_eq!(
            again.outcome(),
            "kept",
            "applying twice changes nothing more"
        );
    }

    #[test]
    fn hostile_items_are_only_text() {
        let r = rules(
            r#"[{"then":{"replace":{"field":"content","pattern":"x","with":"<script>alert(1)</script>]]>"}}}]"#,
            "null",
        );
        let mut d = draft("t");
        d.content_html = Some("<p>x &amp; \u{1} ]]></p>".into());
        r.apply(&mut d);
        let html = d.content_html.unwrap();
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        // A huge item: conditions look at its start only, and finish.
        let r = rules(r#"[{"if":{"content":"(a|b)*c$"},"then":"drop"}]"#, "null");
        let mut d = draft("t");
        d.content_html = Some(format!("<p>{}</p>", "ab".repeat(2_000_000)));
        assert_eq!(r.apply(&mut d).outcome(), "kept");
    }
}
