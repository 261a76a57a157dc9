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

/// Removes every character XML 1.0 forbids (C0 controls but tab and newlines, U+FFFE, U+FFFF),
/// so that no feed rendered from the text can be ill-formed.
pub fn xml_clean(s: &mut String) {
    if !s.chars().all(xml_char) {
        s.retain(xml_char);
    }
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
    // When lol_html fails, the input is kept: relative URLs stay relative, and the sanitizer,
    // which always runs after this, still decides what is safe.
    rewrite_str(html, settings).unwrap_or_else(|| html.to_owned())
}
