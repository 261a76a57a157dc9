//! Text as every layer needs it: the characters XML 1.0 allows, the plain text of an HTML
//! fragment, and the relative URLs of an HTML fragment made absolute. Below `formats` (whose writers need plain text) and `ingest` (which cleans every
//! field), so neither imports the other for it. lol_html runs behind the parser boundary.

use lol_html::{RewriteStrSettings, element};
use url::Url;

use crate::boundary::contain;

/// lol_html's `rewrite_str` behind the parser boundary: `None` when it fails (its memory
/// limits, a handler's error) or panics on this input.
pub(crate) fn rewrite_str<'h, 's>(
    html: &str,
    settings: RewriteStrSettings<'h, 's>,
) -> Option<String> {
    contain("HTML parser", || lol_html::rewrite_str(html, settings))
        .ok()?
        .ok()
}

/// True for the characters XML 1.0 allows (its production `Char`). Lone surrogates cannot
/// occur in a Rust string; the JSON reader drops escaped ones before they get here.
pub(crate) fn xml_char(c: char) -> bool {
    matches!(c,
        '\t' | '\n' | '\r'
        | '\u{20}'..='\u{D7FF}'
        | '\u{E000}'..='\u{FFFD}'
        | '\u{10000}'..='\u{10FFFF}')
}

/// Makes text what every XML reader of a feed will read back: the characters XML 1.0 forbids
/// (C0 controls but tab and newlines, U+FFFE, U+FFFF) removed, so that no feed rendered from
/// the text can be ill-formed, and line endings written as XML reads them (CRLF and a lone CR
/// become LF; XML 1.0 §2.11). A carriage return kept in a title or in content would come back
/// as a newline from RSS and Atom (raw in CDATA and in text) but as itself from JSON Feed:
/// one article, two readings. HTML readers too read every CR as LF (HTML's input stream
/// preprocessing), so nothing a reader shows changes.
pub fn xml_clean(s: &mut String) {
    if is_xml_clean(s) {
        return;
    }
    s.retain(xml_char);
    if s.contains('\r') {
        *s = s.replace("\r\n", "\n").replace('\r', "\n");
    }
}

/// True when [`xml_clean`] would leave `s` as it is: `s.chars().all(xml_char)` and no carriage
/// return, read byte by byte (the check runs over every field and body ingested, and decoding
/// characters made it a visible part of an ingest's profile). In valid UTF-8 the characters
/// [`xml_char`] refuses are the C0 controls but tab, newline and carriage return (single
/// bytes below 0x20) and U+FFFE and U+FFFF (`EF BF BE`, `EF BF BF`); the bytes of every other
/// character are 0x20 or above and never form those two sequences.
pub(crate) fn is_xml_clean(s: &str) -> bool {
    // A byte that may start a character to clean: a control, or the lead byte of U+F000 to
    // U+FFFF. Most text has none of the first kind but tab and newline and none of the
    // second, so the bytes are looked at 32 at a time (the compiler vectorizes the fold),
    // and one by one only in a block that has a suspect.
    let suspect = |c: u8| (c < 0x20 && !matches!(c, b'\t' | b'\n')) || c == 0xEF;
    let b = s.as_bytes();
    for (k, block) in b.chunks(32).enumerate() {
        if !block.iter().fold(false, |any, &c| any | suspect(c)) {
            continue;
        }
        for i in k * 32..k * 32 + block.len() {
            let c = b[i];
            if c < 0x20 && suspect(c) {
                return false;
            }
            if c == 0xEF && b.get(i + 1) == Some(&0xBF) && matches!(b.get(i + 2), Some(0xBE | 0xBF))
            {
                return false;
            }
        }
    }
    true
}

/// The text of an HTML fragment: tags dropped, entities decoded, script and style left out.
pub fn html_to_text(html: &str) -> String {
    if !html.contains('<') {
        // No markup: what lol_html would hand back is the input itself, so only the
        // entities are left to decode (most titles and summaries take this way).
        if !html.contains('&') {
            return html.to_owned();
        }
        return html_escape::decode_html_entities(html).trim().to_owned();
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
    // Should lol_html fail, the input stands as the text: callers escape it as text.
    let stripped = rewrite_str(html, settings).unwrap_or_else(|| html.to_owned());
    html_escape::decode_html_entities(&stripped)
        .trim()
        .to_owned()
}

/// True when `s` is an absolute URL (it has a scheme).
pub fn is_absolute(s: &str) -> bool {
    Url::parse(s).is_ok()
}

/// True when no attribute [`absolutize_html`] rewrites can hold a relative URL: every `=`
/// that follows one of their names (in any case, in a tag or not) is followed by an `http:`
/// or `https:` URL, and there is no `srcset`. Conservative: anything else (`src = "/x"`, a
/// `srcset`, `href=` in text, another scheme) answers false and the fragment goes through
/// lol_html. Most fragments hold only absolute links, and then rewriting them is a copy.
fn no_relative_url(html: &str) -> bool {
    let bytes = html.as_bytes();
    for (eq, _) in html.match_indices('=') {
        let before = bytes[..eq].trim_ascii_end();
        let name_len = before
            .iter()
            .rev()
            .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':'))
            .count();
        let name = &before[before.len() - name_len..];
        if name.eq_ignore_ascii_case(b"srcset") {
            return false;
        }
        if !URL_ATTRS
            .iter()
            .any(|(_, attr)| name.eq_ignore_ascii_case(attr.as_bytes()))
        {
            continue;
        }
        let value = bytes[eq + 1..].trim_ascii_start();
        let value = value
            .strip_prefix(b"\"")
            .or_else(|| value.strip_prefix(b"'"))
            .unwrap_or(value);
        let starts = |p: &[u8]| value.len() >= p.len() && value[..p.len()].eq_ignore_ascii_case(p);
        if !starts(b"http://") && !starts(b"https://") {
            return false;
        }
    }
    // `srcset` without `=` rewrites nothing; with one it was refused above.
    true
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
    if no_relative_url(html) {
        // lol_html would change nothing: every URL attribute is already absolute.
        return html.to_owned();
    }
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
    // When lol_html fails, the input is kept: relative URLs stay relative, and the sanitizer,
    // which always runs after this, still decides what is safe.
    rewrite_str(html, settings).unwrap_or_else(|| html.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The byte scan says what the character check says (a carriage return being cleaned
    /// too), for every character alone and between others (UTF-8 is self-synchronizing, so a
    /// refused sequence can only be one whole character), and for strings of mixed characters.
    #[test]
    fn the_byte_scan_agrees_with_the_character_check() {
        let kept = |c: char| xml_char(c) && c != '\r';
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            let alone = c.to_string();
            assert_eq!(is_xml_clean(&alone), kept(c), "{c:?}");
            let between = format!("é{c}\u{FFFD}");
            assert_eq!(is_xml_clean(&between), kept(c), "{c:?}");
        }
        use proptest::prelude::*;
        proptest!(|(s in "\\PC*|[\u{0}-\u{20}\u{FFF0}-\u{FFFF}\u{EFBF}a-z]{0,40}")| {
            prop_assert_eq!(is_xml_clean(&s), s.chars().all(kept));
            let mut cleaned = s.clone();
            xml_clean(&mut cleaned);
            prop_assert!(is_xml_clean(&cleaned), "{:?} -> {:?}", s, cleaned);
            prop_assert_eq!(cleaned == s, is_xml_clean(&s));
        });
    }

    /// Line endings come out as an XML reader reads them: CRLF as one LF, a lone CR as LF.
    #[test]
    fn line_endings_are_written_as_xml_reads_them() {
        for (before, after) in [
            ("a\r\nb", "a\nb"),
            ("a\rb", "a\nb"),
            ("a\r\r\nb\n\rc\r", "a\n\nb\n\nc\n"),
            ("a\r\u{1}\nb", "a\nb"),
            ("a\nb\tc", "a\nb\tc"),
        ] {
            let mut s = before.to_owned();
            xml_clean(&mut s);
            assert_eq!(s, after, "{before:?}");
        }
    }

    #[test]
    fn fragments_with_only_absolute_urls_skip_the_rewriter() {
        for yes in [
            "",
            "plain text = words",
            r#"<p><a href="https://a.example/x?a=1&amp;b=2">a</a> <img SRC='http://b.example/i.png'></p>"#,
            r#"<a HREF = "HTTPS://c.example/">c</a> data about things"#,
        ] {
            assert!(no_relative_url(yes), "{yes}");
        }
        for no in [
            r#"<a href="/x">x</a>"#,
            r#"<img src=i.png>"#,
            r#"<img srcset="https://a.example/1.png 1x">"#,
            r#"<a href=" https://a.example/">padded</a>"#,
            r#"<a href="mailto:a@b.example">mail</a>"#,
            r#"<object data="movie.swf"></object>"#,
            "write src=relative in text",
        ] {
            assert!(!no_relative_url(no), "{no}");
        }
    }

    /// The short cuts give what lol_html gives.
    #[test]
    fn short_cuts_agree_with_the_rewriter() {
        let base = Url::parse("https://base.example/dir/page").unwrap();
        for html in [
            r#"<p><a href="https://a.example/x?a=1&amp;b=2">a</a> <img SRC='http://b.example/i.png'></p>"#,
            r#"<a HREF = "HTTPS://c.example/">c</a> x=1 & y"#,
            "<p>no links &amp; entities</p>",
        ] {
            assert!(no_relative_url(html));
            let settings = RewriteStrSettings::new();
            assert_eq!(rewrite_str(html, settings).unwrap(), html);
            assert_eq!(absolutize_html(html, &base), html);
        }
        assert_eq!(
            absolutize_html(r#"<a href="x">x</a>"#, &base),
            r#"<a href="https://base.example/dir/x">x</a>"#
        );
        for text in [
            "  a &amp; b &eacute;t&eacute; ",
            "AT&T",
            "&lt;p&gt; &#x26; &bogus;",
        ] {
            let settings = RewriteStrSettings::new();
            let via_rewriter =
                html_escape::decode_html_entities(&rewrite_str(text, settings).unwrap())
                    .trim()
                    .to_owned();
            assert_eq!(html_to_text(text), via_rewriter, "{text}");
        }
    }
}
