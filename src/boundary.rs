//! The boundary around third-party parsers of untrusted input (lol_html, html5ever through
//! ammonia, quick-xml, the `rss` and `atom_syndication` crates, serde_json). A panic inside one
//! of them, on one page, body, feed or item, is caught here and becomes an error for that one
//! input: the request, the poll round and the process go on. Nothing of syndic's own logic runs
//! inside [`contain`], so a panic caught here is always a parser's bug, never ours.
//!
//! Under cargo fuzz, libfuzzer-sys's panic hook aborts on every panic, caught or not, so the fuzz
//! targets see them all; `fuzz/oracle` lets only the [`KNOWN`] bugs, already reported upstream,
//! unwind to this boundary, since syndic's answer to them is the product's behaviour.

use std::panic::{AssertUnwindSafe, catch_unwind};

/// A parser panicked on this input; the input is refused or skipped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the {parser} failed on this input")]
pub struct ParserPanic {
    /// Which parser: "HTML parser", "XML parser", "JSON parser"…
    pub parser: &'static str,
    /// The panic's message, for the log (never shown to clients).
    pub message: String,
}

/// Panics of third-party parsers reported upstream and not fixed in the version we use, as
/// (parser, part of the message). See docs/upstream-bugs/. The fuzz targets tolerate these.
pub const KNOWN: &[(&str, &str)] = &[
    // lol_html 3.0.3, docs/upstream-bugs/lol_html-start-tag-panic.md
    ("HTML parser", "Tag should be a start tag"),
];

/// Runs `f`, a call into the parser named `parser`, and turns a panic into [`ParserPanic`].
pub fn contain<T>(parser: &'static str, f: impl FnOnce() -> T) -> Result<T, ParserPanic> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_owned());
        tracing::warn!(parser, %message, "a parser panicked on untrusted input; that input is refused");
        ParserPanic { parser, message }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_error_and_a_value_passes() {
        assert_eq!(contain("HTML parser", || 7), Ok(7));
        let e = contain("XML parser", || -> u8 { panic!("boom {}", 1) }).unwrap_err();
        assert_eq!(e.parser, "XML parser");
        assert_eq!(e.message, "boom 1");
        assert_eq!(e.to_string(), "the XML parser failed on this input");
    }
}
