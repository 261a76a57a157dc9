//! The normalizations every article goes through, whatever format it came in: characters that
//! XML 1.0 forbids are dropped, relative URLs are resolved, dates are parsed strictly.

use chrono::{DateTime, FixedOffset, NaiveDateTime};
use lol_html::{RewriteStrSettings, element, rewrite_str};
use url::Url;

/// True for the characters XML 1.0 allows (its production `Char`). Lone surrogates cannot
/// occur in a Rust string; the JSON reader drops escaped ones before they get here.
fn xml_char(c: char) -> bool {
    matches!(c,
        '\t' | '\n' | '\r'
        | '\u{20}'..='\u{D7FF}'
        | '\u{E000}'..='\u{FFFD}'
        | '\u{10000}'..='\u{10FFFF}')
}

/// Removes every character XML 1.0 forbids (C0 controls but tab and newlines, U+FFFE, U+FFFF),
/// so that no feed rendered from the text can be ill-formed.
pub fn xml_clean(s: &mut String) {
    if !s.chars().all(xml_char) {
        s.retain(xml_char);
    }
}

/// Parses an RFC 3339 date; a date without a zone is an error, never a guess.
pub fn rfc3339(s: &str) -> Result<DateTime<FixedOffset>, String> {
    let s = s.trim();
    DateTime::parse_from_rfc3339(s).map_err(|e| {
        if NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").is_ok() {
            format!("{s:?} has no time zone; add Z or an offset such as +02:00")
        } else {
            format!("{s:?} is not an RFC 3339 date ({e})")
        }
    })
}

/// Parses an RFC 822 / RFC 2822 date, as RSS writes them.
pub fn rfc822(s: &str) -> Result<DateTime<FixedOffset>, String> {
    DateTime::parse_from_rfc2822(s.trim())
        .map_err(|e| format!("{s:?} is not an RFC 822 date with a zone ({e})"))
}

/// True when `s` is an absolute URL (it has a scheme). Kept as written then, so that what
/// went in comes out byte for byte.
pub fn is_absolute(s: &str) -> bool {
    Url::parse(s).is_ok()
}

/// Resolves `s` against `base` unless it is absolute already; an error when it is relative
/// and there is nothing to resolve it against.
pub fn resolve(s: &str, base: Option<&Url>) -> Result<String, String> {
    let s = s.trim();
    if is_absolute(s) {
        return Ok(s.to_owned());
    }
    match base {
        Some(base) => base
            .join(s)
            .map(String::from)
            .map_err(|e| format!("{s:?} cannot be resolved against {base}: {e}")),
        None => Err(format!(
            "{s:?} is a relative URL and there is no article URL to resolve it against"
        )),
    }
}

/// The HTML attributes that hold one URL.
const URL_ATTRS: &[(&str, &str)] = &[
    ("[href]", "href"),
    ("[src]", "src"),
    ("[poster]", "poster"),
    ("[cite]", "cite"),
    ("object[data]", "data"),
    ("form[action]", "action"),
];

/// Rewrites every relative URL inside an HTML fragment (links, images, srcset candidates,
/// media) to an absolute one; everything else is left byte for byte as it was.
pub fn absolutize_html(html: &str, base: &Url) -> String {
    // Attribute values come raw (entities undecoded) and are written back raw too.
    let fix = |raw: &str| -> Option<String> {
        let decoded = html_escape::decode_html_entities(raw);
        let trimmed = decoded.trim();
        if trimmed.is_empty() || is_absolute(trimmed) {
            return None;
        }
        let joined = base.join(trimmed).ok()?;
        Some(joined.as_str().replace('&', "&amp;"))
    };
    let mut handlers = Vec::new();
    for &(selector, attr) in URL_ATTRS {
        handlers.push(element!(selector, move |el| {
            if let Some(new) = el.get_attribute(attr).and_then(|v| fix(&v)) {
                el.set_attribute(attr, &new)?;
            }
            Ok(())
        }));
    }
    handlers.push(element!("[srcset]", move |el| {
        if let Some(v) = el.get_attribute("srcset") {
            let mut changed = false;
            let parts: Vec<String> = v
                .split(',')
                .map(|cand| {
                    let cand = cand.trim();
                    let (url, descriptor) =
                        cand.split_once(char::is_whitespace).unwrap_or((cand, ""));
                    match fix(url) {
                        Some(abs) => {
                            changed = true;
                            format!("{abs} {}", descriptor.trim()).trim_end().to_owned()
                        }
                        None => cand.to_owned(),
                    }
                })
                .collect();
            if changed {
                el.set_attribute("srcset", &parts.join(", "))?;
            }
        }
        Ok(())
    }));
    let settings = handlers
        .into_iter()
        .fold(RewriteStrSettings::new(), |s, h| {
            s.append_element_content_handler(h)
        });
    // lol_html only fails on memory limits or handler errors; keep the input then.
    rewrite_str(html, settings).unwrap_or_else(|_| html.to_owned())
}

/// The sanitizer for HTML from upstream feeds: ammonia's defaults (no script, style, event
/// handler, form or `javascript:` URL) plus the media elements articles carry.
fn sanitizer() -> &'static ammonia::Builder<'static> {
    static BUILDER: std::sync::OnceLock<ammonia::Builder<'static>> = std::sync::OnceLock::new();
    BUILDER.get_or_init(|| {
        let mut b = ammonia::Builder::default();
        b.add_tags(["picture", "source", "video", "audio", "track"])
            .add_tag_attributes("img", ["srcset", "sizes", "loading"])
            .add_tag_attributes("source", ["src", "srcset", "type", "media", "sizes"])
            .add_tag_attributes("video", ["src", "poster", "controls", "width", "height"])
            .add_tag_attributes("audio", ["src", "controls"])
            .add_tag_attributes("track", ["src", "kind", "srclang", "label"])
            // ammonia checks URL schemes in href and src but not in srcset: keep only the
            // candidates that are http(s) or relative.
            .attribute_filter(|_element, attribute, value| {
                if attribute != "srcset" {
                    return Some(value.into());
                }
                let kept: Vec<&str> = value
                    .split(',')
                    .map(str::trim)
                    .filter(|c| {
                        let url = c.split_whitespace().next().unwrap_or("");
                        match url.split_once(':') {
                            Some((scheme, _)) if !scheme.contains('/') => {
                                scheme.eq_ignore_ascii_case("http")
                                    || scheme.eq_ignore_ascii_case("https")
                            }
                            _ => !url.is_empty(),
                        }
                    })
                    .collect();
                (!kept.is_empty()).then(|| kept.join(", ").into())
            });
        b
    })
}

/// Makes upstream HTML safe to republish: whatever a reader would run is removed; images,
/// links, tables and figures stay.
pub fn sanitize_html(html: &str) -> String {
    sanitizer().clean(html).to_string()
}

/// Makes a publisher's HTML safe to republish without touching what was already safe: when
/// the sanitizer would remove nothing (same elements, attributes, text and comments, in the
/// same order), the publisher's own bytes are kept, so an article comes out of every feed
/// exactly as it went in; otherwise the sanitized HTML replaces it.
pub fn sanitize_publisher_html(html: &str) -> Option<String> {
    if !html.contains(['<', '&']) {
        return None;
    }
    let clean = sanitize_html(html);
    if clean == html {
        return None;
    }
    match (markup_stream(html), markup_stream(&clean)) {
        (Some(before), Some(after)) if before == after => None,
        _ => Some(clean),
    }
}

#[derive(Debug, PartialEq)]
enum Markup {
    Start(String, Vec<(String, String)>),
    Text(String),
    Comment(String),
}

/// What an HTML fragment says, without how it is spelled: start tags with their attributes
/// (sorted, values decoded, rel left out), text with entities decoded, comments. End tags are left out,
/// since the sanitizer's serializer closes elements the source left open.
fn markup_stream(html: &str) -> Option<Vec<Markup>> {
    let out = std::cell::RefCell::new(Vec::new());
    let text = std::cell::RefCell::new(String::new());
    let flush = || {
        let mut t = text.borrow_mut();
        if !t.is_empty() {
            let decoded = html_escape::decode_html_entities(t.as_str()).into_owned();
            out.borrow_mut().push(Markup::Text(decoded));
            t.clear();
        }
    };
    let settings = RewriteStrSettings::new()
        .append_element_content_handler(element!("*", |el| {
            flush();
            let mut attrs: Vec<(String, String)> = el
                .attributes()
                .iter()
                // The sanitizer adds rel="noopener noreferrer" to links; rel runs nothing.
                .filter(|a| a.name() != "rel")
                .map(|a| {
                    let v = html_escape::decode_html_entities(&a.value()).into_owned();
                    (a.name(), v)
                })
                .collect();
            attrs.sort();
            out.borrow_mut().push(Markup::Start(el.tag_name(), attrs));
            Ok(())
        }))
        .append_document_content_handler(lol_html::doc_text!(|t| {
            text.borrow_mut().push_str(t.as_str());
            Ok(())
        }))
        .append_document_content_handler(lol_html::doc_comments!(|c| {
            flush();
            out.borrow_mut().push(Markup::Comment(c.text()));
            Ok(())
        }));
    rewrite_str(html, settings).ok()?;
    flush();
    Some(out.into_inner())
}

/// The text of an HTML fragment: tags dropped, entities decoded, script and style left out.
pub fn html_to_text(html: &str) -> String {
    if !html.contains(['<', '&']) {
        return html.to_owned();
    }
    let settings = RewriteStrSettings::new()
        .append_document_content_handler(lol_html::doc_comments!(|c| {
            c.remove();
            Ok(())
        }))
        .append_element_content_handler(element!("script, style, template", |el| {
            el.remove();
            Ok(())
        }))
        .append_element_content_handler(element!("*", |el| {
            el.remove_and_keep_content();
            Ok(())
        }));
    let stripped = rewrite_str(html, settings).unwrap_or_else(|_| html.to_owned());
    html_escape::decode_html_entities(&stripped)
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_forbidden_characters_only() {
        let mut s = "a\u{1}b\u{8}c\td\ne\u{FFFE}f\u{FFFF}g « é ’ 😀".to_owned();
        xml_clean(&mut s);
        assert_eq!(s, "abc\td\nefg « é ’ 😀");
    }

    #[test]
    fn dates_need_a_zone() {
        assert!(rfc3339("2025-09-16T18:30:00+02:00").is_ok());
        let err = rfc3339("2025-09-16T18:30:00").unwrap_err();
        assert!(err.contains("no time zone"), "{err}");
        assert!(
            rfc3339("yesterday")
                .unwrap_err()
                .contains("not an RFC 3339")
        );
        assert_eq!(
            rfc822("Tue, 16 Sep 2025 18:30:00 +0200").unwrap(),
            rfc3339("2025-09-16T18:30:00+02:00").unwrap()
        );
    }

    #[test]
    fn relative_urls_in_html_become_absolute() {
        let base = Url::parse("https://example.org/news/a.html").unwrap();
        let html = r#"<p>Voir <a href="/b?x=1&amp;y=2">b</a> « ici »</p><img src="img/c.jpg" srcset="img/c2.jpg 2x, https://cdn.example/c3.jpg 3x"><a href="https://other.example/">o</a>"#;
        let out = absolutize_html(html, &base);
        assert_eq!(
            out,
            r#"<p>Voir <a href="https://example.org/b?x=1&amp;y=2">b</a> « ici »</p><img src="https://example.org/news/img/c.jpg" srcset="https://example.org/news/img/c2.jpg 2x, https://cdn.example/c3.jpg 3x"><a href="https://other.example/">o</a>"#
        );
    }

    #[test]
    fn resolve_keeps_absolute_urls_verbatim() {
        assert_eq!(
            resolve("HTTPS://Example.org/a b", None).unwrap(),
            "HTTPS://Example.org/a b"
        );
        assert!(resolve("/x", None).is_err());
        let base = Url::parse("https://example.org/a/b").unwrap();
        assert_eq!(
            resolve("c", Some(&base)).unwrap(),
            "https://example.org/a/c"
        );
    }

    #[test]
    fn sanitizer_removes_what_would_run() {
        let dirty = r#"<p onclick="x()">Hi<script>alert(1)</script> <a href="javascript:alert(1)">j</a> <img src="https://e.org/i.jpg" onerror="x()"></p><form action="/f"><input></form><style>p{}</style><figure><figcaption>c</figcaption></figure><table><tr><td>1</td></tr></table>"#;
        let clean = sanitize_html(dirty);
        for bad in [
            "script",
            "onclick",
            "onerror",
            "javascript:",
            "<form",
            "<style",
            "<input",
        ] {
            assert!(!clean.contains(bad), "{bad} in {clean}");
        }
        for good in [
            "<img src=\"https://e.org/i.jpg\"",
            "<figure>",
            "<figcaption>",
            "<table>",
            "<td>1</td>",
        ] {
            assert!(clean.contains(good), "{good} missing from {clean}");
        }
    }

    #[test]
    fn publisher_html_is_kept_byte_for_byte_when_safe() {
        for safe in [
            "<p>« Plein » d\u{2019}espace\u{a0}: 23.000 &amp; plus</p>",
            "<figure><img src=\"https://e.org/i.jpg\" alt=\"a &quot;b&quot;\"><figcaption>c <small>d</small></figcaption></figure>\n<p>x",
            "<p>a<br>b</p><ul><li>one<li>two</ul><a href=\"https://e.org/?a=1&amp;b=2\">l</a>",
            "plain text",
        ] {
            assert_eq!(sanitize_publisher_html(safe), None, "{safe}");
        }
        for (dirty, gone) in [
            ("<p onclick=\"x()\">a</p>", "onclick"),
            ("<p>a</p><script>alert(1)</script>", "script"),
            ("<a href=\"javascript:alert(1)\">a</a>", "javascript"),
            ("<svg><script>alert(1)</script></svg>", "script"),
            ("<p>a<!-- hidden --></p>", "hidden"),
            (
                "<img src=x srcset=\"javascript:alert(1) 2x\">",
                "javascript",
            ),
        ] {
            let clean = sanitize_publisher_html(dirty).expect(dirty);
            assert!(!clean.contains(gone), "{gone} in {clean}");
        }
    }

    #[test]
    fn text_of_html() {
        assert_eq!(
            html_to_text("<p>a &amp; b</p><script>x()</script>"),
            "a & b"
        );
        assert_eq!(html_to_text("plain"), "plain");
        assert_eq!(html_to_text("a<!-- <img src=x onerror=y> -->b"), "ab");
    }
}
