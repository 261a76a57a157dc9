//! Hostile markup of a chosen size, shared by the API tests (tests/api/nesting.rs) and the
//! bench that checks its cost per byte stays flat (benches/nesting.rs): nested, unclosed,
//! interleaved and misnested elements, each one of the shapes that once made a tree builder
//! quadratic or blew its output up.

/// Makes about the given number of bytes of HTML.
pub type Generator = fn(usize) -> String;

/// Every shape, by name, with its generator.
pub const SHAPES: &[(&str, Generator)] = &[
    ("nested", nested),
    ("unclosed", unclosed),
    ("unmatched-ends", unmatched_ends),
    ("interleaved", interleaved),
    ("misnested-blocks", misnested_blocks),
    ("distinct-formatting", distinct_formatting),
    ("reopened-formatting", reopened_formatting),
    ("tables", tables),
    ("foreign", foreign),
];

fn repeat_to(unit: &str, bytes: usize) -> String {
    unit.repeat(bytes / unit.len().max(1) + 1)
}

/// `<div>` nested as deep as fits, closed.
pub fn nested(bytes: usize) -> String {
    let levels = bytes / 11;
    format!("{}x{}", "<div>".repeat(levels), "</div>".repeat(levels))
}

/// `<div>` opened and never closed.
pub fn unclosed(bytes: usize) -> String {
    repeat_to("<div>", bytes)
}

/// Open elements, then as many end tags that close none of them.
pub fn unmatched_ends(bytes: usize) -> String {
    let n = bytes / 12;
    format!("{}{}", "<div>".repeat(n), "</span>".repeat(n))
}

/// Formatting and inline elements closed in the wrong order, never balanced.
pub fn interleaved(bytes: usize) -> String {
    repeat_to("<b><i>x</b><u>y</i><span>z", bytes)
}

/// A formatting element closed across a block: the tree builder's adoption agency keeps
/// both open, one level deeper each time.
pub fn misnested_blocks(bytes: usize) -> String {
    repeat_to("<b><div></b><span><p></span>", bytes)
}

/// Formatting elements that differ by an attribute, so the tree builder's limit of three
/// alike does not apply.
pub fn distinct_formatting(bytes: usize) -> String {
    let mut s = String::with_capacity(bytes + 32);
    let mut i = 0;
    while s.len() < bytes {
        s.push_str(&format!("<b title=\"t{i}\">"));
        i += 1;
    }
    s
}

/// Sixty-four formatting elements left open in a paragraph, then many small blocks: each
/// block's text would re-open all of them.
pub fn reopened_formatting(bytes: usize) -> String {
    let open: String = (0..64).map(|i| format!("<b title=\"t{i}\">")).collect();
    format!("<p>{open}{}", repeat_to("<div>y</div>", bytes))
}

/// Tables in cells, never closed: the tree builder adds a `tbody` and a `tr` per level.
pub fn tables(bytes: usize) -> String {
    repeat_to("<table><td>", bytes)
}

/// SVG that breaks out to HTML and back.
pub fn foreign(bytes: usize) -> String {
    repeat_to("<svg><g><p><div/><math><mi>", bytes)
}
