//! Import rules: what a subscription (or a channel, for everything imported into it) does to
//! an upstream's items before they are ingested. A rule set is a JSON array of rules applied
//! in order (`if` / `unless` conditions on title, summary, content, author, tag, link or any;
//! `then` drop, keep, add_tag, set_author, replace, strip_tracking). This module parses and
//! validates a rule set into compiled regexes, with errors that name the rule, the field and
//! what is wrong, and evaluates it on a [`Draft`] (see [`eval`]). It stores nothing and knows
//! no store: ingest loads the stored sets and the poller applies them on every import.
//!
//! What a rule set may cost is bounded, so that neither an operator's rule nor an upstream's
//! item becomes a CPU trap: at most [`MAX_RULES`] rules, patterns of at most
//! [`MAX_PATTERN_BYTES`] compiled under [`REGEX_SIZE_LIMIT`] (the `regex` crate matches in
//! time linear in the text), conditions look at the first [`MAX_MATCH_BYTES`] of a field, and a
//! replacement may grow a field by at most [`MAX_GROWTH_BYTES`].

pub mod eval;
pub mod html;

use regex::{Regex, RegexBuilder};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

pub use eval::{Change, RuleRef, Verdict};

/// Rules in one set.
pub const MAX_RULES: usize = 64;
/// Bytes in one pattern.
pub const MAX_PATTERN_BYTES: usize = 1_000;
/// Bytes a compiled pattern may take (the `regex` crate's `size_limit`; its lazy DFA gets as
/// much again).
pub const REGEX_SIZE_LIMIT: usize = 512 * 1024;
/// Nesting depth of a pattern (groups, repetitions).
pub const REGEX_NEST_LIMIT: u32 = 64;
/// Characters in a rule's name, a tag or an author a rule sets.
pub const MAX_VALUE_CHARS: usize = 200;
/// Characters in a replacement text.
pub const MAX_WITH_CHARS: usize = 1_000;
/// Bytes of a field's text that a condition looks at (the start of the field).
pub const MAX_MATCH_BYTES: usize = 256 * 1024;
/// Bytes by which one replacement may grow a field; past it the field is left as it was.
pub const MAX_GROWTH_BYTES: usize = 64 * 1024;

/// A rule set that could not be accepted: which rule (its index in the array, from 0, and its
/// name when it has one), which field of it (`if.title`, `then.replace.pattern`…), what is
/// wrong, and for a pattern, where (in characters from 0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
pub struct RuleError {
    pub index: Option<usize>,
    pub name: Option<String>,
    pub field: String,
    pub message: String,
    pub position: Option<usize>,
}

impl std::fmt::Display for RuleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.index, &self.name) {
            (Some(i), Some(n)) => write!(f, "rule {i} ({n:?}): ")?,
            (Some(i), None) => write!(f, "rule {i}: ")?,
            _ => {}
        }
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        f.write_str(&self.message)
    }
}

/// Whose rules: a subscription's apply first, then its channel's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Subscription,
    Channel,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Subscription => "subscription",
            Scope::Channel => "channel",
        }
    }
}

/// What a condition looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Title,
    Summary,
    Content,
    Author,
    Tag,
    Link,
    Any,
}

impl Field {
    const ALL: [(&'static str, Field); 7] = [
        ("title", Field::Title),
        ("summary", Field::Summary),
        ("content", Field::Content),
        ("author", Field::Author),
        ("tag", Field::Tag),
        ("link", Field::Link),
        ("any", Field::Any),
    ];
}

/// A field a `replace` rewrites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextField {
    Title,
    Summary,
    Content,
}

impl TextField {
    pub fn as_str(self) -> &'static str {
        match self {
            TextField::Title => "title",
            TextField::Summary => "summary",
            TextField::Content => "content",
        }
    }
}

/// Every field given must match (an empty list matches every item).
#[derive(Debug, Clone, Default)]
pub struct Condition(pub Vec<(Field, Regex)>);

#[derive(Debug, Clone)]
pub enum Action {
    Drop,
    Keep,
    AddTag(String),
    SetAuthor(String),
    Replace {
        field: TextField,
        pattern: Regex,
        with: String,
    },
    StripTracking,
}

impl Action {
    pub fn as_str(&self) -> &'static str {
        match self {
            Action::Drop => "drop",
            Action::Keep => "keep",
            Action::AddTag(_) => "add_tag",
            Action::SetAuthor(_) => "set_author",
            Action::Replace { .. } => "replace",
            Action::StripTracking => "strip_tracking",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub index: usize,
    pub name: Option<String>,
    pub when: Condition,
    pub unless: Option<Condition>,
    pub action: Action,
}

/// A parsed, compiled rule set, with the JSON it was read from (compact, as stored).
#[derive(Debug, Clone)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    pub json: String,
}

impl RuleSet {
    /// True when the set has a `keep` rule: then an item that matches none is dropped.
    pub fn has_keep(&self) -> bool {
        self.rules.iter().any(|r| matches!(r.action, Action::Keep))
    }

    /// The JSON value of the set, as stored.
    pub fn value(&self) -> Value {
        serde_json::from_str(&self.json).expect("a rule set is stored as the JSON it was read from")
    }
}

/// A subscription's rules and its channel's, applied in that order.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    pub subscription: Option<RuleSet>,
    pub channel: Option<RuleSet>,
}

impl Rules {
    pub fn is_empty(&self) -> bool {
        self.subscription.is_none() && self.channel.is_none()
    }

    /// A digest of both sets: an item dropped under these rules stays dropped while it is
    /// the same; changed rules look at it again.
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        for set in [&self.subscription, &self.channel] {
            h.update(set.as_ref().map_or("", |s| s.json.as_str()).as_bytes());
            h.update([0]);
        }
        hex::encode(&h.finalize()[..16])
    }
}

/// Parses a rule set from a request or file body. `[]` and `null` mean no rules (`None`).
pub fn parse(body: &[u8]) -> Result<Option<RuleSet>, RuleError> {
    let top = |message: String| RuleError {
        index: None,
        name: None,
        field: String::new(),
        message,
        position: None,
    };
    let value: Value = crate::boundary::contain("JSON parser", || serde_json::from_slice(body))
        .map_err(|e| top(e.to_string()))?
        .map_err(|e| top(format!("not JSON: {e}")))?;
    from_value(&value)
}

/// [`parse`] of a JSON value already read.
pub fn from_value(value: &Value) -> Result<Option<RuleSet>, RuleError> {
    let items = match value {
        Value::Null => return Ok(None),
        Value::Array(items) => items,
        _ => {
            return Err(RuleError {
                index: None,
                name: None,
                field: String::new(),
                message: "a rule set is a JSON array of rules (or null for none)".into(),
                position: None,
            });
        }
    };
    if items.is_empty() {
        return Ok(None);
    }
    if items.len() > MAX_RULES {
        return Err(RuleError {
            index: None,
            name: None,
            field: String::new(),
            message: format!("{} rules; a set holds at most {MAX_RULES}", items.len()),
            position: None,
        });
    }
    let rules = items
        .iter()
        .enumerate()
        .map(|(i, v)| rule(i, v))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(RuleSet {
        rules,
        json: serde_json::to_string(value).expect("JSON values serialize"),
    }))
}

/// Reads stored JSON: it was validated when it was stored, so a failure here means the
/// database holds something syndic did not write (or a newer regex crate refuses it).
pub fn from_stored(json: Option<&str>) -> Result<Option<RuleSet>, RuleError> {
    match json {
        None => Ok(None),
        Some(j) => parse(j.as_bytes()),
    }
}

fn rule(index: usize, v: &Value) -> Result<Rule, RuleError> {
    let name = v
        .get("name")
        .and_then(Value::as_str)
        .map(|n| n.chars().take(MAX_VALUE_CHARS).collect::<String>());
    let err = |field: &str, message: String| RuleError {
        index: Some(index),
        name: name.clone(),
        field: field.to_owned(),
        message,
        position: None,
    };
    let Value::Object(obj) = v else {
        return Err(err(
            "",
            "a rule is an object with \"then\" (and optionally \"name\", \"if\", \"unless\")"
                .into(),
        ));
    };
    for key in obj.keys() {
        if !matches!(key.as_str(), "name" | "if" | "unless" | "then") {
            return Err(err(
                key,
                "unknown key; a rule has \"name\", \"if\", \"unless\" and \"then\"".into(),
            ));
        }
    }
    if let Some(n) = obj.get("name") {
        let Some(n) = n.as_str() else {
            return Err(err("name", "a name is a string".into()));
        };
        value_text("name", n, MAX_VALUE_CHARS).map_err(|m| err("name", m))?;
    }
    let when = match obj.get("if") {
        Some(c) => condition("if", c, &err)?,
        None => Condition::default(),
    };
    let unless = obj
        .get("unless")
        .map(|c| condition("unless", c, &err))
        .transpose()?;
    let Some(then) = obj.get("then") else {
        return Err(err(
            "then",
            "missing: say what the rule does (\"drop\", \"keep\", \"strip_tracking\", {\"add_tag\": …}, {\"set_author\": …} or {\"replace\": …})".into(),
        ));
    };
    let action = action(then, &err)?;
    Ok(Rule {
        index,
        name: obj
            .get("name")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .filter(|n| !n.is_empty()),
        when,
        unless,
        action,
    })
}

type ErrFn<'a> = dyn Fn(&str, String) -> RuleError + 'a;

fn condition(key: &str, v: &Value, err: &ErrFn<'_>) -> Result<Condition, RuleError> {
    let Value::Object(obj) = v else {
        return Err(err(
            key,
            "an object of fields (title, summary, content, author, tag, link, any) and regexes"
                .into(),
        ));
    };
    if obj.is_empty() {
        return Err(err(
            key,
            "empty: give at least one field, or leave it out (a rule without \"if\" matches every item)".into(),
        ));
    }
    let mut out = Vec::with_capacity(obj.len());
    for (field, pattern) in obj {
        let path = format!("{key}.{field}");
        let Some(f) = Field::ALL.iter().find(|(n, _)| n == field).map(|(_, f)| *f) else {
            return Err(err(
                &path,
                "unknown field; use title, summary, content, author, tag, link or any".into(),
            ));
        };
        let Some(p) = pattern.as_str() else {
            return Err(err(&path, "a pattern is a string (a regex)".into()));
        };
        out.push((f, regex(&path, p, err)?));
    }
    Ok(Condition(out))
}

fn action(v: &Value, err: &ErrFn<'_>) -> Result<Action, RuleError> {
    match v {
        Value::String(s) => match s.as_str() {
            "drop" => Ok(Action::Drop),
            "keep" => Ok(Action::Keep),
            "strip_tracking" => Ok(Action::StripTracking),
            other => Err(err(
                "then",
                format!(
                    "unknown action {other:?}; use \"drop\", \"keep\", \"strip_tracking\", or an object {{\"add_tag\"|\"set_author\"|\"replace\": …}}"
                ),
            )),
        },
        Value::Object(obj) if obj.len() == 1 => {
            let (key, arg) = obj.iter().next().expect("one entry");
            let path = format!("then.{key}");
            match key.as_str() {
                "add_tag" | "set_author" => {
                    let Some(s) = arg.as_str() else {
                        return Err(err(&path, "a string".into()));
                    };
                    let s = value_text(&path, s, MAX_VALUE_CHARS).map_err(|m| err(&path, m))?;
                    if s.is_empty() {
                        return Err(err(&path, "empty".into()));
                    }
                    Ok(if key == "add_tag" {
                        Action::AddTag(s)
                    } else {
                        Action::SetAuthor(s)
                    })
                }
                "replace" => replace(&path, arg, err),
                _ => Err(err(
                    &path,
                    "unknown action; use add_tag, set_author or replace".into(),
                )),
            }
        }
        Value::Object(_) => Err(err(
            "then",
            "an action object has exactly one key (add_tag, set_author or replace)".into(),
        )),
        _ => Err(err("then", "a string or an object".into())),
    }
}

fn replace(path: &str, v: &Value, err: &ErrFn<'_>) -> Result<Action, RuleError> {
    let Value::Object(obj) = v else {
        return Err(err(
            path,
            "an object {\"field\": \"title\"|\"summary\"|\"content\", \"pattern\": REGEX, \"with\": TEXT}"
                .into(),
        ));
    };
    for key in obj.keys() {
        if !matches!(key.as_str(), "field" | "pattern" | "with") {
            return Err(err(
                &format!("{path}.{key}"),
                "unknown key; replace has field, pattern and with".into(),
            ));
        }
    }
    let get = |k: &str| -> Result<Option<&str>, RuleError> {
        match obj.get(k) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(err(&format!("{path}.{k}"), "a string".into())),
        }
    };
    let field = match get("field")? {
        Some("title") => TextField::Title,
        Some("summary") => TextField::Summary,
        Some("content") => TextField::Content,
        Some(other) => {
            return Err(err(
                &format!("{path}.field"),
                format!("{other:?} cannot be replaced in; use title, summary or content"),
            ));
        }
        None => {
            return Err(err(
                &format!("{path}.field"),
                "missing: title, summary or content".into(),
            ));
        }
    };
    let Some(pattern) = get("pattern")? else {
        return Err(err(&format!("{path}.pattern"), "missing".into()));
    };
    let pattern = regex(&format!("{path}.pattern"), pattern, err)?;
    let with = get("with")?.unwrap_or("");
    let with = value_text(&format!("{path}.with"), with, MAX_WITH_CHARS)
        .map_err(|m| err(&format!("{path}.with"), m))?;
    Ok(Action::Replace {
        field,
        pattern,
        with,
    })
}

/// A text a rule writes into items: bounded, without the characters XML forbids.
fn value_text(_path: &str, s: &str, limit: usize) -> Result<String, String> {
    let n = s.chars().count();
    if n > limit {
        return Err(format!("{n} characters; at most {limit}"));
    }
    if let Some(c) = s.chars().find(|c| !crate::text::xml_char(*c)) {
        return Err(format!(
            "holds the control character U+{:04X}, which no feed can carry",
            c as u32
        ));
    }
    Ok(s.to_owned())
}

/// Compiles a pattern under the limits, or says what is wrong and where.
fn regex(path: &str, p: &str, err: &ErrFn<'_>) -> Result<Regex, RuleError> {
    if p.len() > MAX_PATTERN_BYTES {
        return Err(err(
            path,
            format!(
                "a pattern of {} bytes; at most {MAX_PATTERN_BYTES}",
                p.len()
            ),
        ));
    }
    // regex-syntax first: its errors carry the position, which `regex::Error` only prints.
    if let Err(e) = regex_syntax::ParserBuilder::new()
        .nest_limit(REGEX_NEST_LIMIT)
        .build()
        .parse(p)
    {
        let (offset, kind) = match &e {
            regex_syntax::Error::Parse(e) => (e.span().start.offset, e.kind().to_string()),
            regex_syntax::Error::Translate(e) => (e.span().start.offset, e.kind().to_string()),
            other => (0, other.to_string()),
        };
        let position = p.get(..offset).map_or(0, |s| s.chars().count());
        let mut e = err(
            path,
            format!("invalid regex at position {position}: {kind}"),
        );
        e.position = Some(position);
        return Err(e);
    }
    RegexBuilder::new(p)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .nest_limit(REGEX_NEST_LIMIT)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(limit) => err(
                path,
                format!(
                    "the regex compiles to more than {limit} bytes; simplify it (fewer or smaller repetitions)"
                ),
            ),
            other => err(path, format!("invalid regex: {other}")),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(s: &str) -> Result<Option<RuleSet>, RuleError> {
        parse(s.as_bytes())
    }

    #[test]
    fn the_issue_example_parses() {
        let set = parse_str(
            r#"[
  {"name": "no sponsored posts", "if": {"title": "(?i)sponsored|advert"}, "then": "drop"},
  {"name": "only AI", "if": {"any": "(?i)\\b(AI|machine learning)\\b"}, "then": "keep"},
  {"if": {"author": "^AFP$", "tag": "(?i)sport"}, "then": {"add_tag": "wire-sport"}},
  {"then": {"replace": {"field": "title", "pattern": "^\\[[^]]*\\]\\s*", "with": ""}}},
  {"then": "strip_tracking"}
]"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(set.rules.len(), 5);
        assert!(set.has_keep());
        assert_eq!(set.rules[0].name.as_deref(), Some("no sponsored posts"));
        assert!(matches!(set.rules[2].action, Action::AddTag(ref t) if t == "wire-sport"));
        assert_eq!(set.rules[2].when.0.len(), 2);
    }

    #[test]
    fn empty_and_null_mean_no_rules() {
        assert!(parse_str("[]").unwrap().is_none());
        assert!(parse_str("null").unwrap().is_none());
    }

    #[test]
    fn an_invalid_regex_names_rule_field_and_position() {
        let e =
            parse_str(r#"[{"then":"keep"},{"name":"bad","if":{"title":"ab(c"},"then":"drop"}]"#)
                .unwrap_err();
        assert_eq!(e.index, Some(1));
        assert_eq!(e.name.as_deref(), Some("bad"));
        assert_eq!(e.field, "if.title");
        assert_eq!(e.position, Some(2), "{e}");
        assert!(
            e.to_string()
                .starts_with("rule 1 (\"bad\"): if.title: invalid regex at position 2"),
            "{e}"
        );
        // Positions count characters, not bytes.
        let e = parse_str(r#"[{"if":{"title":"éé)"},"then":"drop"}]"#).unwrap_err();
        assert_eq!(e.position, Some(2), "{e}");
    }

    #[test]
    fn shapes_that_are_wrong_are_named() {
        for (json, field) in [
            (r#"{"a":1}"#, ""),
            (r#"[1]"#, ""),
            (r#"[{"if":{"title":"x"}}]"#, "then"),
            (r#"[{"then":"explode"}]"#, "then"),
            (r#"[{"then":{"add_tag":3}}]"#, "then.add_tag"),
            (r#"[{"then":{"add_tag":""}}]"#, "then.add_tag"),
            (r#"[{"then":{"add_tag":"a\u0001"}}]"#, "then.add_tag"),
            (r#"[{"if":{"colour":"x"},"then":"drop"}]"#, "if.colour"),
            (r#"[{"if":{},"then":"drop"}]"#, "if"),
            (r#"[{"if":{"title":1},"then":"drop"}]"#, "if.title"),
            (r#"[{"when":{},"then":"drop"}]"#, "when"),
            (
                r#"[{"then":{"replace":{"field":"link","pattern":"x"}}}]"#,
                "then.replace.field",
            ),
            (
                r#"[{"then":{"replace":{"field":"title"}}}]"#,
                "then.replace.pattern",
            ),
            (
                r#"[{"then":{"replace":{"field":"title","pattern":"(","with":""}}}]"#,
                "then.replace.pattern",
            ),
        ] {
            let e = parse_str(json).unwrap_err();
            assert_eq!(e.field, field, "{json}: {e}");
        }
        assert!(parse_str("{").unwrap_err().message.starts_with("not JSON"));
    }

    #[test]
    fn costs_are_bounded() {
        let many = format!("[{}]", vec![r#"{"then":"keep"}"#; MAX_RULES + 1].join(","));
        assert!(parse_str(&many).unwrap_err().message.contains("at most"));
        let long = format!(
            r#"[{{"if":{{"title":"{}"}},"then":"drop"}}]"#,
            "a".repeat(MAX_PATTERN_BYTES + 1)
        );
        assert!(parse_str(&long).unwrap_err().message.contains("bytes"));
        // Small to write, huge once compiled.
        let e = parse_str(r#"[{"if":{"title":"(\\w{100}){100}"},"then":"drop"}]"#).unwrap_err();
        assert!(e.message.contains("compiles to more than"), "{e}");
        let deep = format!(
            r#"[{{"if":{{"title":"{}a{}"}},"then":"drop"}}]"#,
            "(".repeat(100),
            ")".repeat(100)
        );
        assert!(
            parse_str(&deep)
                .unwrap_err()
                .message
                .contains("invalid regex")
        );
    }

    /// Every rule set in docs/rules.md (the cookbook, the example) is one syndic accepts.
    #[test]
    fn the_documented_rule_sets_parse() {
        let doc = include_str!("../../docs/rules.md");
        let mut n = 0;
        for block in doc.split("```json\n").skip(1) {
            let block = block.split("```").next().unwrap();
            if block.trim_start().starts_with('[') {
                parse_str(block).unwrap_or_else(|e| panic!("{e}: {block}"));
                n += 1;
            }
        }
        assert!(n >= 6, "the example and five recipes: {n}");
    }

    #[test]
    fn the_fingerprint_follows_both_sets() {
        let a = parse_str(r#"[{"then":"keep"}]"#).unwrap();
        let b = parse_str(r#"[{"then":"drop"}]"#).unwrap();
        let r1 = Rules {
            subscription: a.clone(),
            channel: None,
        };
        let r2 = Rules {
            subscription: None,
            channel: a,
        };
        let r3 = Rules {
            subscription: b,
            channel: None,
        };
        assert_ne!(r1.fingerprint(), r2.fingerprint());
        assert_ne!(r1.fingerprint(), r3.fingerprint());
        assert_eq!(r1.fingerprint(), r1.clone().fingerprint());
    }
}
