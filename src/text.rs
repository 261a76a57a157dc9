//! Text as every layer needs it: the characters XML 1.0 allows, and the plain text of an HTML
//! fragment. Below `formats` (whose writers need plain text) and `ingest` (which cleans every
//! field), so neither imports the other for it. lol_html runs behind the parser boundary.

use lol_html::{RewriteStrSettings, element};

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
