//! One article per story: what makes two items of a channel the same story. The canonical
//! form of a link (`url` mode) and the title measure with its threshold (`story` mode) are
//! decided here, above every store; `catalog` applies them when it imports, and a backend
//! only keeps the keys. docs/dedupe.md has the rules, the measure and the corpus figures.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use crate::model::Article;

/// How far apart in time two items may be and still be one story (`story` mode).
pub const WINDOW_MICROS: i64 = 48 * 3600 * 1_000_000;
/// Story titles are kept this long after their story's date (by the retention job), far past
/// the window: an item dated a month back rarely arrives as news.
pub const TITLES_KEPT_DAYS: i64 = 30;

/// Titles (normalized) at least this similar are the same story, when their numbers agree
/// and their first paragraphs, when both have one, are as similar. Measured on
/// tests/fixtures/story/titles.tsv (docs/dedupe.md, `cargo run --example story_eval`): the
/// lowest threshold in steps of 0.02 at which no pair of different stories merges. It lets
/// a title gain or lose a word or two, never change one in a title of up to 12 words.
pub const TITLE_THRESHOLD: f64 = 0.92;

/// The link of an article as every copy of it is recognised: http folded into https, scheme
/// and host lower-cased, `www.`, `m.`, `mobile.` and `amp.` host prefixes, the default port, the
/// fragment, tracking parameters, AMP markers (`/amp` path segments, `.amp` suffixes,
/// `?amp`), and a trailing slash removed; the other query parameters sorted. None for what is
/// not an http(s) URL.
pub fn canonical_link(link: &str) -> Option<String> {
    let mut u = url::Url::parse(link.trim()).ok()?;
    if !matches!(u.scheme(), "http" | "https") {
        return None;
    }
    if u.scheme() == "http" {
        // Only fails for schemes that cannot change into one another; these can.
        let _ = u.set_scheme("https");
        if u.port() == Some(443) {
            let _ = u.set_port(None);
        }
    }
    let host = u.host_str()?.to_ascii_lowercase();
    let mut h = host.as_str();
    while let Some(rest) = ["www.", "m.", "mobile.", "amp."]
        .iter()
        .find_map(|p| h.strip_prefix(p))
        .filter(|rest| rest.contains('.'))
    {
        h = rest;
    }
    if h != host {
        let h = h.to_owned();
        u.set_host(Some(&h)).ok()?;
    }
    u.set_fragment(None);
    crate::tracking::strip(&mut u);
    if u.query().is_some() {
        let mut pairs: Vec<(String, String)> = u
            .query_pairs()
            .filter(|(k, v)| !(k == "amp" && matches!(v.as_ref(), "" | "1" | "true")))
            .filter(|(k, v)| !(k == "outputType" && v == "amp"))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        pairs.sort();
        if pairs.is_empty() {
            u.set_query(None);
        } else {
            u.query_pairs_mut().clear().extend_pairs(pairs);
        }
    }
    let segments: Vec<String> = u
        .path_segments()
        .map(|s| s.filter(|s| !s.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default();
    // An `amp` segment first or last marks the AMP copy of the page.
    let last = segments.len().saturating_sub(1);
    let mut segments: Vec<String> = segments
        .into_iter()
        .enumerate()
        .filter(|(i, s)| !(s == "amp" && (*i == 0 || *i == last)))
        .map(|(_, s)| s)
        .collect();
    if let Some(last) = segments.last_mut() {
        if let Some(stem) = last.strip_suffix(".amp.html") {
            *last = format!("{stem}.html");
        } else if let Some(stem) = last.strip_suffix(".amp") {
            *last = stem.to_owned();
        }
    }
    let path = format!("/{}", segments.join("/"));
    u.set_path(&path);
    let mut s: String = u.into();
    if s.ends_with('/') {
        s.pop();
    }
    Some(s)
}

/// A title or paragraph as the measure compares it: diacritics, case, punctuation and the
/// outlet's name after a final ` - `, ` | `, ` – `, ` — ` or in final parentheses dropped;
/// words separated by one space.
pub fn normalize_text(text: &str) -> String {
    let trimmed = strip_outlet(text.trim());
    let mut out = String::with_capacity(trimmed.len());
    let mut space = true;
    for c in trimmed.nfd().filter(|c| !is_combining_mark(*c)) {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
            space = false;
        } else if matches!(c, '.' | ',') && !space && out.ends_with(|c: char| c.is_ascii_digit()) {
            // Inside a number (4.5, 1,234): kept, so that 4.5 and 45 differ.
            out.push(c);
        } else if !space {
            out.push(' ');
            space = true;
        }
    }
    // A separator kept at the end of a number ("4.5." or "2,") goes.
    while out.ends_with([' ', '.', ',']) {
        out.pop();
    }
    out
}

/// The title without an outlet's name at its end: a last part of at most four words after a
/// dash or bar, or in parentheses, when at least three words stay before it.
fn strip_outlet(title: &str) -> &str {
    let words = |s: &str| s.split_whitespace().count();
    if let Some(open) = title.rfind(" (")
        && title.ends_with(')')
        && words(&title[open..]) <= 4
        && words(&title[..open]) >= 3
    {
        return title[..open].trim_end();
    }
    let cut = [" - ", " | ", " – ", " — "]
        .iter()
        .filter_map(|sep| title.rfind(sep).map(|i| (i, sep.len())))
        .max_by_key(|(i, _)| *i);
    match cut {
        Some((i, len)) if words(&title[i + len..]) <= 4 && words(&title[..i]) >= 3 => {
            title[..i].trim_end()
        }
        _ => title,
    }
}

/// The numbers in a normalized text, in order: two titles that differ in one (a magnitude, a
/// score, a day of a live blog, a version) are two stories.
fn numbers(normalized: &str) -> Vec<&str> {
    normalized
        .split(' ')
        .filter(|w| w.chars().any(|c| c.is_ascii_digit()))
        .collect()
}

/// How alike two normalized texts are, from 0 to 1: the Sørensen–Dice coefficient of their
/// sets of words, 2·|A∩B| / (|A| + |B|). Word order and an added word cost little; a changed
/// word costs twice. strsim's character measures (Dice on bigrams, Levenshtein, Jaro-Winkler)
/// were measured too and kept apart fewer different stories at every recall
/// (docs/dedupe.md): "Storm Ciarán" and "Storm Debi" differ by one word and many letters.
pub fn similarity(a: &str, b: &str) -> f64 {
    fn words(s: &str) -> std::collections::HashSet<&str> {
        s.split(' ').filter(|w| !w.is_empty()).collect()
    }
    let (x, y) = (words(a), words(b));
    if x.is_empty() && y.is_empty() {
        return 1.0;
    }
    2.0 * x.intersection(&y).count() as f64 / (x.len() + y.len()) as f64
}

/// What story mode compares of an article: its normalized title and first paragraph.
#[derive(Debug, Clone, PartialEq)]
pub struct StoryText {
    pub title: String,
    pub lead: Option<String>,
}

impl StoryText {
    /// The story text of an article; none without a title (nothing to compare).
    pub fn of(article: &Article) -> Option<StoryText> {
        let title = normalize_text(article.title.as_deref()?);
        if title.is_empty() {
            return None;
        }
        Some(StoryText {
            title,
            lead: lead(article),
        })
    }
}

/// Two items are one story: their titles are at least [`TITLE_THRESHOLD`] alike with the
/// same numbers, and their first paragraphs, when both have one, are as alike.
pub fn same_story(a: &StoryText, b: &StoryText) -> bool {
    if numbers(&a.title) != numbers(&b.title) || similarity(&a.title, &b.title) < TITLE_THRESHOLD {
        return false;
    }
    match (&a.lead, &b.lead) {
        (Some(x), Some(y)) => numbers(x) == numbers(y) && similarity(x, y) >= TITLE_THRESHOLD,
        _ => true,
    }
}

/// The first paragraph of an article (its HTML's first non-empty block, else the text's or
/// summary's first paragraph), normalized and cut to its first 60 words.
pub fn lead(article: &Article) -> Option<String> {
    let text = match &article.content_html {
        Some(html) => first_html_paragraph(html),
        None => None,
    }
    .or_else(|| {
        article
            .content_text
            .as_deref()
            .or(article.summary.as_deref())
            .and_then(|t| t.split("\n\n").map(str::trim).find(|p| !p.is_empty()))
            .map(crate::text::html_to_text)
    })?;
    let normalized = normalize_text(&text);
    let cut: Vec<&str> = normalized.split(' ').take(60).collect();
    let lead = cut.join(" ");
    (!lead.is_empty()).then_some(lead)
}

/// The text of the first `<p>` of an HTML fragment that holds any, else of the whole.
fn first_html_paragraph(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find("<p") {
        let start = from + i;
        let after = lower[start + 2..].chars().next();
        from = start + 2;
        if !matches!(after, Some('>' | ' ' | '\t' | '\n' | '\r' | '/')) {
            continue;
        }
        let end = lower[start..].find("</p").map_or(html.len(), |e| start + e);
        let text = crate::text::html_to_text(&html[start..end]);
        if !text.trim().is_empty() {
            return Some(text);
        }
    }
    let text = crate::text::html_to_text(html);
    let first = text.split("\n\n").map(str::trim).find(|p| !p.is_empty())?;
    Some(first.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_links_fold_what_does_not_change_the_page() {
        let c = |s| canonical_link(s).unwrap();
        let base = "https://example.com/news/story";
        for variant in [
            "https://example.com/news/story",
            "HTTPS://Example.COM/news/story/",
            "http://example.com:80/news/story",
            "https://example.com:443/news/story#comments",
            "https://www.example.com/news/story?utm_source=x&utm_medium=rss",
            "https://amp.example.com/news/story",
            "https://m.example.com/news/story?fbclid=abc",
            "https://example.com/news/story/amp",
            "https://example.com/amp/news/story",
            "https://example.com/news/story.amp",
            "https://example.com/news/story?amp",
            "https://example.com/news/story?outputType=amp&gclid=1",
        ] {
            assert_eq!(c(variant), base, "{variant}");
        }
        assert_eq!(
            c("https://example.com/a?b=2&a=1&mc_cid=x"),
            "https://example.com/a?a=1&b=2"
        );
        assert_eq!(
            c("https://example.com/a.amp.html"),
            "https://example.com/a.html"
        );
        // What does change the page stays.
        assert_ne!(
            c("https://example.com/a?id=1"),
            c("https://example.com/a?id=2")
        );
        assert_ne!(c("https://example.com/a"), c("https://example.org/a"));
        assert_ne!(c("https://example.com/A"), c("https://example.com/a"));
        assert_eq!(c("https://m.com/x"), "https://m.com/x");
        // Hostile and huge input: no panic, and what is left still compares.
        for hostile in [
            "https://example.com/a?q=<script>&x=\"'&utm_source=]]>",
            "https://example.com/\u{1}a\t\n#<b>",
            "https://[::1]:8080/a/amp",
            "https://amp./x",
        ] {
            let _ = canonical_link(hostile);
        }
        let long = format!("https://example.com/{}", "a/".repeat(50_000));
        assert_eq!(c(&long), c(&format!("{long}?utm_source=x#f")));
        assert_eq!(canonical_link("mailto:a@example.com"), None);
        assert_eq!(canonical_link("not a url"), None);
        assert_eq!(canonical_link(""), None);
    }

    #[test]
    fn titles_normalize_without_the_outlet() {
        assert_eq!(
            normalize_text("Storm Ciarán: Red warning issued for Jersey - BBC News"),
            "storm ciaran red warning issued for jersey"
        );
        assert_eq!(
            normalize_text("Rates rise to 4.5%, the highest since 2008 (Reuters)"),
            "rates rise to 4.5 the highest since 2008"
        );
        assert_eq!(normalize_text("  & < > \" ' ]]> \u{1}"), "");
        assert_eq!(normalize_text("A - B"), "a b");
    }

    #[test]
    fn numbers_and_leads_keep_stories_apart() {
        let t = |title: &str, lead: Option<&str>| StoryText {
            title: normalize_text(title),
            lead: lead.map(normalize_text),
        };
        assert!(same_story(
            &t("Magnitude 6.8 earthquake strikes off coast of Japan", None),
            &t(
                "Magnitude 6.8 Earthquake Strikes Off the Coast of Japan - AP",
                None
            ),
        ));
        assert!(!same_story(
            &t("Live: Russia-Ukraine war, day 100", None),
            &t("Live: Russia-Ukraine war, day 101", None),
        ));
        let lead = "The central bank raised its main rate by a quarter point on Thursday.";
        assert!(same_story(
            &t("Central bank raises interest rates", Some(lead)),
            &t("Central bank raises interest rates", Some(lead)),
        ));
        assert!(!same_story(
            &t("Central bank raises interest rates", Some(lead)),
            &t(
                "Central bank raises interest rates",
                Some("Savers in Brazil will see better returns after a surprise decision.")
            ),
        ));
    }

    #[test]
    fn the_lead_is_the_first_paragraph() {
        let a = Article {
            content_html: Some(
                "<figure><img src=x></figure><p> </p><p>First <b>one</b>.</p><p>Second.</p>".into(),
            ),
            ..Default::default()
        };
        assert_eq!(lead(&a).as_deref(), Some("first one"));
        let a = Article {
            summary: Some("Only a summary.\n\nMore.".into()),
            ..Default::default()
        };
        assert_eq!(lead(&a).as_deref(), Some("only a summary"));
        assert_eq!(lead(&Article::default()), None);
    }
}
