//! The two rewrites that rules make inside HTML, through lol_html (behind the parser
//! boundary) so that markup is never broken: a regex replacement on text nodes only (never
//! tags, attributes, scripts or styles), and the removal of tracking parameters from links.
//! The result still goes through ingest's sanitizer like any upstream HTML.

use std::cell::RefCell;

use lol_html::html_content::{ContentType, TextType};
use lol_html::{RewriteStrSettings, doc_text, element};
use regex::Regex;

use super::MAX_GROWTH_BYTES;

/// The one list of tracking parameters, shared with canonical links (`crate::tracking`).
fn is_tracking(name: &str) -> bool {
    crate::tracking::is_tracking_param(name)
}

/// A URL (absolute or relative) without its tracking parameters, with the names removed;
/// `None` when it has none. The rest of the URL is kept byte for byte.
pub fn strip_tracking_url(u: &str) -> Option<(String, Vec<String>)> {
    let (head, fragment) = match u.find('#') {
        Some(i) => u.split_at(i),
        None => (u, ""),
    };
    let (path, query) = head.split_once('?')?;
    let mut removed = Vec::new();
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            let name = url::form_urlencoded::parse(pair.as_bytes())
                .next()
                .map(|(k, _)| k.into_owned())
                .unwrap_or_default();
            if is_tracking(&name) {
                removed.push(name);
                false
            } else {
                true
            }
        })
        .collect();
    if removed.is_empty() {
        return None;
    }
    let kept: Vec<&str> = kept.into_iter().filter(|p| !p.is_empty()).collect();
    let mut out = path.to_owned();
    if !kept.is_empty() {
        out.push('?');
        out.push_str(&kept.join("&"));
    }
    out.push_str(fragment);
    Some((out, removed))
}

/// Strips tracking parameters from the links of an HTML fragment (`a`, `area`); `None` when
/// nothing was removed (or the HTML parser gave up on it), else the HTML and the names
/// removed.
pub fn strip_tracking_html(html: &str) -> Option<(String, Vec<String>)> {
    if !html.contains('?') {
        return None;
    }
    let removed = RefCell::new(Vec::new());
    let settings = RewriteStrSettings::new().append_element_content_handler(element!(
        "a[href], area[href]",
        |el| {
            // lol_html gives the attribute as written: entities undecoded. Decode, strip,
            // and write `&` back as `&amp;` (set_attribute escapes only `"`).
            let raw = el.get_attribute("href").unwrap_or_default();
            let decoded = html_escape::decode_html_entities(&raw).into_owned();
            if let Some((clean, names)) = strip_tracking_url(&decoded) {
                el.set_attribute("href", &clean.replace('&', "&amp;"))?;
                removed.borrow_mut().extend(names);
            }
            Ok(())
        }
    ));
    let out = crate::text::rewrite_str(html, settings)?;
    let removed = removed.into_inner();
    (!removed.is_empty()).then_some((out, removed))
}

/// Applies `pattern` → `with` to the text of an HTML fragment, text node by text node (the
/// text as a reader sees it: entities decoded, then escaped again). Tags, attributes,
/// comments, scripts and styles are left alone. Returns the HTML and how many replacements
/// were made; `None` when nothing matched, the HTML parser gave up, or the text would grow
/// by more than [`MAX_GROWTH_BYTES`].
pub fn replace_text(html: &str, pattern: &Regex, with: &str) -> Option<(String, usize)> {
    let count = RefCell::new(0usize);
    let growth = RefCell::new(0isize);
    let pending = RefCell::new(String::new());
    let settings = RewriteStrSettings::new().append_document_content_handler(doc_text!(|t| {
        if t.text_type() != TextType::Data {
            return Ok(());
        }
        // A text node can come in several chunks: gather it whole, so that a pattern sees
        // all of it, and write it out at its last chunk.
        pending.borrow_mut().push_str(t.as_str());
        if !t.last_in_text_node() {
            t.remove();
            return Ok(());
        }
        let raw = std::mem::take(&mut *pending.borrow_mut());
        if raw.is_empty() {
            return Ok(());
        }
        let text = html_escape::decode_html_entities(&raw);
        let n = pattern.find_iter(&text).count();
        if n == 0 {
            t.replace(&raw, ContentType::Html);
            return Ok(());
        }
        let replaced = pattern.replace_all(&text, with);
        *count.borrow_mut() += n;
        *growth.borrow_mut() += replaced.len() as isize - text.len() as isize;
        t.replace(&replaced, ContentType::Text);
        Ok(())
    }));
    let out = crate::text::rewrite_str(html, settings)?;
    let n = count.into_inner();
    if n == 0 || growth.into_inner() > MAX_GROWTH_BYTES as isize {
        return None;
    }
    Some((out, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracking_parameters_go_and_the_rest_stays() {
        let s = |u: &str| strip_tracking_url(u).map(|(u, _)| u);
        assert_eq!(
            s("https://x.example/a?utm_source=rss&id=3&fbclid=Z#top"),
            Some("https://x.example/a?id=3#top".into())
        );
        assert_eq!(
            s("https://x.example/a?UTM_Medium=x&gclid=1"),
            Some("https://x.example/a".into())
        );
        assert_eq!(
            s("/rel?mc_cid=1&mc_eid=2&igshid=3&q=a%20b"),
            Some("/rel?q=a%20b".into())
        );
        assert_eq!(s("https://x.example/a?id=3"), None);
        assert_eq!(s("https://x.example/a#utm_source=x"), None);
        // Percent-encoded names are recognised.
        assert_eq!(s("/a?utm%5Fsource=1&b=2"), Some("/a?b=2".into()));
    }

    #[test]
    fn links_in_content_are_stripped_with_entities_kept_right() {
        let (html, names) = strip_tracking_html(
            r#"<p><a href="https://x.example/a?utm_source=rss&amp;id=3">a</a> <a href="/b?c=1&amp;d=2">b</a></p>"#,
        )
        .unwrap();
        assert_eq!(
            html,
            r#"<p><a href="https://x.example/a?id=3">a</a> <a href="/b?c=1&amp;d=2">b</a></p>"#
        );
        assert_eq!(names, vec!["utm_source"]);
        assert!(strip_tracking_html("<p><a href=\"/x?id=1\">x</a></p>").is_none());
    }

    #[test]
    fn replacing_touches_text_and_never_markup() {
        let re = Regex::new("(?i)sponsored").unwrap();
        let html = r#"<p class="sponsored">A <b>Sponsored</b> post &amp; <a href="/sponsored">sponsored</a></p><script>var sponsored=1</script><!-- sponsored -->"#;
        let (out, n) = replace_text(html, &re, "paid").unwrap();
        assert_eq!(n, 2);
        assert_eq!(
            out,
            r#"<p class="sponsored">A <b>paid</b> post &amp; <a href="/sponsored">paid</a></p><script>var sponsored=1</script><!-- sponsored -->"#
        );
        // A replacement that looks like markup is text, escaped.
        let (out, _) = replace_text("<p>x</p>", &Regex::new("x").unwrap(), "<b>&\"").unwrap();
        assert_eq!(out, "<p>&lt;b&gt;&amp;\"</p>");
        // Entities are matched as the reader sees them.
        let (out, _) =
            replace_text("<p>AT&amp;T</p>", &Regex::new("AT&T").unwrap(), "ATT").unwrap();
        assert_eq!(out, "<p>ATT</p>");
        assert!(replace_text("<p>x</p>", &Regex::new("y").unwrap(), "z").is_none());
    }

    #[test]
    fn a_replacement_may_not_blow_up_the_text() {
        let html = format!("<p>{}</p>", "a".repeat(10_000));
        let re = Regex::new("a").unwrap();
        assert!(replace_text(&html, &re, &"b".repeat(100)).is_none());
        assert!(replace_text(&html, &re, "bb").is_some());
    }
}
