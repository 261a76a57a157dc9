//! Bounded nesting: HTML is read once by html5ever's tokenizer (linear, no tree) before any
//! tree builder sees it, and HTML that would make a tree builder work more than linearly is
//! flattened first.
//!
//! html5ever's tree builder (inside ammonia) walks its stack of open elements for every scope
//! check, so N nested elements cost N² steps (100,000 nested `<div>` took 24 s); and it
//! re-opens the formatting elements (`b`, `i`, `a`, …) that a block closed implicitly, once per
//! text that follows, so 64 open formatting elements before 1,000 `<div>y</div>` came out as
//! 38 times the input. A shadow of its stack, kept here with the same rules for what a start
//! or end tag opens and closes, tells how deep the tree will get and how many elements it will
//! re-open. Within [`MAX_DEPTH`] and [`reopen_budget`] the HTML passes untouched (byte for
//! byte). Past either, it is written again from the tokens: every element the shadow closes is
//! closed by an explicit end tag (so nothing is left for the tree builder to re-open), end tags
//! that close nothing are dropped, and start tags that would open an element deeper than
//! [`MAX_DEPTH`] are dropped with their end tags; text, attributes and void elements stay.
//! The shadow only errs towards counting more open elements than the tree builder will have.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};

/// The deepest nesting of elements kept. Browsers stop at about this order (Blink attaches
/// elements past depth 512 to the 512th; Gecko's limit is 200 for layout), and no article
/// needs more than a few dozen. 256 rather than 512 because the tree builder may hold a few
/// elements per level that the source never wrote (`tbody`, `tr` in tables), and its cost per
/// tag grows with the depth.
pub const MAX_DEPTH: usize = 256;

/// How many formatting elements the tree builder may re-open in all before the HTML is
/// flattened: one per 4 bytes of input (so the tree holds at most about twice the input's
/// elements), and never fewer than 4,096. Sloppy but honest HTML (`<p><i>x<p>y`, where each
/// paragraph re-opens the `i`s left open, at most three alike) stays below it.
pub fn reopen_budget(len: usize) -> usize {
    (len / 4).max(4096)
}

/// What [`bound_nesting`] did with a fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bounded<'a> {
    /// The HTML to hand on: the input itself, or its flattened form.
    pub html: Cow<'a, str>,
    /// Why it was flattened, when it was.
    pub flattened: Option<Flattened>,
}

/// Why a fragment was flattened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Flattened {
    #[error("elements nested deeper than {MAX_DEPTH} lost their tags (their text is kept)")]
    TooDeep,
    #[error(
        "formatting elements left open across blocks would be re-opened more than {0} times; \
         the markup was rebalanced"
    )]
    TooManyReopened(usize),
}

/// Returns the HTML as it is when a tree builder can read it in linear time and without
/// blowing it up, else flattened (see the module documentation). Linear in the input.
pub fn bound_nesting(html: &str) -> Bounded<'_> {
    if !html.contains('<') {
        return Bounded {
            html: Cow::Borrowed(html),
            flattened: None,
        };
    }
    let budget = reopen_budget(html.len());
    let scan = run(html, Shadow::new(None, budget));
    let Some(why) = scan.over else {
        return Bounded {
            html: Cow::Borrowed(html),
            flattened: None,
        };
    };
    let written = run(
        html,
        Shadow::new(Some(String::with_capacity(html.len())), budget),
    );
    Bounded {
        html: Cow::Owned(written.out.unwrap_or_default()),
        flattened: Some(why),
    }
}

/// How deep the elements of a fragment nest, as a tree builder would open them (counting the
/// formatting elements it would re-open), as far as [`MAX_DEPTH`] + 1: past that, the
/// measure stops. Linear in the input.
pub fn depth(html: &str) -> usize {
    let shadow = run(html, Shadow::new(None, usize::MAX));
    match shadow.over {
        Some(Flattened::TooDeep) => MAX_DEPTH + 1,
        _ => shadow.deepest,
    }
}

fn run(html: &str, shadow: Shadow) -> Shadow {
    let tokenizer = Tokenizer::new(Sink(RefCell::new(shadow)), TokenizerOpts::default());
    let queue = BufferQueue::default();
    queue.push_back(StrTendril::from_slice(html));
    // The sink never asks for a script to run, so one feed reads everything.
    let _ = tokenizer.feed(&queue);
    tokenizer.end();
    tokenizer.sink.0.into_inner()
}

/// The elements whose start tag is the whole element.
fn void(name: &str) -> bool {
    matches!(
        name,
        "area"
            | "base"
            | "basefont"
            | "bgsound"
            | "br"
            | "col"
            | "embed"
            | "hr"
            | "img"
            | "image"
            | "input"
            | "keygen"
            | "link"
            | "meta"
            | "param"
            | "source"
            | "track"
            | "wbr"
            | "frame"
    )
}

/// The formatting elements, which the tree builder re-opens after a block closed them.
fn formatting(name: &str) -> bool {
    matches!(
        name,
        "a" | "b"
            | "big"
            | "code"
            | "em"
            | "font"
            | "i"
            | "nobr"
            | "s"
            | "small"
            | "strike"
            | "strong"
            | "tt"
            | "u"
    )
}

/// The HTML standard's "special" elements (and the MathML and SVG ones), which stop an end
/// tag from closing what lies beneath them.
fn special(name: &str) -> bool {
    scope_boundary(name)
        || matches!(
            name,
            "address"
                | "area"
                | "article"
                | "aside"
                | "base"
                | "basefont"
                | "bgsound"
                | "blockquote"
                | "body"
                | "br"
                | "button"
                | "center"
                | "col"
                | "colgroup"
                | "dd"
                | "details"
                | "dir"
                | "div"
                | "dl"
                | "dt"
                | "embed"
                | "fieldset"
                | "figcaption"
                | "figure"
                | "footer"
                | "form"
                | "frame"
                | "frameset"
                | "h1"
                | "h2"
                | "h3"
                | "h4"
                | "h5"
                | "h6"
                | "head"
                | "header"
                | "hgroup"
                | "hr"
                | "iframe"
                | "img"
                | "input"
                | "keygen"
                | "li"
                | "link"
                | "listing"
                | "main"
                | "menu"
                | "meta"
                | "nav"
                | "noembed"
                | "noframes"
                | "noscript"
                | "ol"
                | "p"
                | "param"
                | "plaintext"
                | "pre"
                | "script"
                | "search"
                | "section"
                | "select"
                | "source"
                | "style"
                | "summary"
                | "tbody"
                | "textarea"
                | "tfoot"
                | "thead"
                | "tr"
                | "track"
                | "ul"
                | "wbr"
                | "xmp"
        )
}

/// The elements that bound the default scope ("has an element in scope").
fn scope_boundary(name: &str) -> bool {
    matches!(
        name,
        "applet"
            | "caption"
            | "html"
            | "table"
            | "td"
            | "th"
            | "marquee"
            | "object"
            | "template"
            | "mi"
            | "mo"
            | "mn"
            | "ms"
            | "mtext"
            | "annotation-xml"
            | "foreignObject"
            | "foreignobject"
            | "desc"
            | "title"
    )
}

/// Start tags that close an open `p` first.
fn closes_p(name: &str) -> bool {
    matches!(
        name,
        "address"
            | "article"
            | "aside"
            | "blockquote"
            | "center"
            | "details"
            | "dialog"
            | "dir"
            | "div"
            | "dl"
            | "fieldset"
            | "figcaption"
            | "figure"
            | "footer"
            | "header"
            | "hgroup"
            | "main"
            | "menu"
            | "nav"
            | "ol"
            | "p"
            | "search"
            | "section"
            | "summary"
            | "ul"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "pre"
            | "listing"
            | "form"
            | "li"
            | "dd"
            | "dt"
            | "plaintext"
            | "table"
            | "hr"
            | "xmp"
    )
}

fn heading(name: &str) -> bool {
    matches!(name, "h1" | "h2" | "h3" | "h4" | "h5" | "h6")
}

/// Start tags that leave SVG or MathML content for HTML.
fn breaks_out_of_foreign(tag: &Tag) -> bool {
    let name = &*tag.name;
    matches!(
        name,
        "b" | "big"
            | "blockquote"
            | "body"
            | "br"
            | "center"
            | "code"
            | "dd"
            | "div"
            | "dl"
            | "dt"
            | "em"
            | "embed"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "head"
            | "hr"
            | "i"
            | "img"
            | "li"
            | "listing"
            | "menu"
            | "meta"
            | "nobr"
            | "ol"
            | "p"
            | "pre"
            | "ruby"
            | "s"
            | "small"
            | "span"
            | "strong"
            | "strike"
            | "sub"
            | "sup"
            | "table"
            | "tt"
            | "u"
            | "ul"
            | "var"
    ) || (name == "font"
        && tag
            .attrs
            .iter()
            .any(|a| matches!(&*a.name.local, "color" | "face" | "size")))
}

/// The text the tokenizer must switch to after this start tag, as the tree builder tells it.
fn raw_kind(name: &str) -> Option<TokenSinkResult<()>> {
    Some(match name {
        "title" | "textarea" => TokenSinkResult::RawData(RawKind::Rcdata),
        "style" | "xmp" | "iframe" | "noembed" | "noframes" | "noscript" => {
            TokenSinkResult::RawData(RawKind::Rawtext)
        }
        "script" => TokenSinkResult::RawData(RawKind::ScriptData),
        "plaintext" => TokenSinkResult::Plaintext,
        _ => return None,
    })
}

#[derive(Debug, Clone, PartialEq)]
struct Elem {
    name: html5ever::LocalName,
    /// In the SVG or MathML namespace.
    foreign: bool,
    /// A formatting element's attributes: the tree builder re-opens at most three
    /// formatting elements that are alike (its "Noah's Ark" clause).
    attrs: Vec<html5ever::Attribute>,
}

impl Elem {
    /// Its children are HTML again (an SVG or MathML integration point).
    fn integration(&self) -> bool {
        self.foreign
            && matches!(
                &*self.name,
                "foreignObject"
                    | "foreignobject"
                    | "desc"
                    | "title"
                    | "mi"
                    | "mo"
                    | "mn"
                    | "ms"
                    | "mtext"
                    | "annotation-xml"
            )
    }
}

/// The shadow of the tree builder's stack of open elements, and, when flattening, the HTML
/// written again.
struct Shadow {
    stack: Vec<Elem>,
    /// Formatting elements closed by something else than their end tag: the tree builder
    /// re-opens them before the next text. Always empty when flattening, which closes them.
    detached: Vec<Elem>,
    reopened: usize,
    budget: usize,
    over: Option<Flattened>,
    /// The flattened HTML; `None` while only measuring.
    out: Option<String>,
    /// Start tags dropped for depth, innermost last, so that their end tags go too.
    dropped: Vec<html5ever::LocalName>,
    /// How many of each name `dropped` holds: an end tag of none of them costs no search.
    dropped_names: HashMap<html5ever::LocalName, usize>,
    /// The last start tag switched the tokenizer to raw text, and was written.
    raw_written: bool,
    /// The deepest the stack (with what waits to be re-opened) has been.
    deepest: usize,
}

impl Shadow {
    fn new(out: Option<String>, budget: usize) -> Shadow {
        Shadow {
            stack: Vec::new(),
            detached: Vec::new(),
            reopened: 0,
            budget,
            over: None,
            out,
            dropped: Vec::new(),
            dropped_names: HashMap::new(),
            raw_written: false,
            deepest: 0,
        }
    }

    fn flattening(&self) -> bool {
        self.out.is_some()
    }

    fn foreign_context(&self) -> bool {
        self.stack
            .last()
            .is_some_and(|e| e.foreign && !e.integration())
    }

    fn write(&mut self, s: &str) {
        if let Some(out) = &mut self.out {
            out.push_str(s);
        }
    }

    fn write_start(&mut self, tag: &Tag, self_closing: bool) {
        let Some(out) = &mut self.out else { return };
        out.push('<');
        out.push_str(&tag.name);
        for a in &tag.attrs {
            out.push(' ');
            out.push_str(&a.name.local);
            out.push_str("=\"");
            html_escape::encode_double_quoted_attribute_to_string(&a.value, out);
            out.push('"');
        }
        out.push_str(if self_closing { "/>" } else { ">" });
    }

    fn write_end(&mut self, name: &str) {
        if let Some(out) = &mut self.out {
            out.push_str("</");
            out.push_str(name);
            out.push('>');
        }
    }

    /// Opens an element, unless that would nest deeper than [`MAX_DEPTH`]: then, measuring,
    /// the fragment is over; flattening, the start tag is dropped. True when opened.
    fn push(&mut self, elem: Elem) -> bool {
        if self.stack.len() + self.detached.len() >= MAX_DEPTH || !self.dropped.is_empty() {
            if self.flattening() {
                *self.dropped_names.entry(elem.name.clone()).or_default() += 1;
                self.dropped.push(elem.name);
            } else {
                self.over.get_or_insert(Flattened::TooDeep);
            }
            return false;
        }
        self.stack.push(elem);
        self.deepest = self.deepest.max(self.stack.len() + self.detached.len());
        true
    }

    /// Closes the element at `i` and everything above it. Formatting elements above it are
    /// re-opened by the tree builder later; flattening closes them for good instead, with an
    /// explicit end tag for each element closed.
    fn pop_to(&mut self, i: usize) {
        self.dropped.clear();
        self.dropped_names.clear();
        let mut reopen = Vec::new();
        while self.stack.len() > i {
            let e = self.stack.pop().expect("non-empty");
            if self.flattening() {
                self.write_end(&e.name);
            } else if self.stack.len() > i && formatting(&e.name) && !e.foreign {
                reopen.push(e);
            }
        }
        for e in reopen.into_iter().rev() {
            if self.detached.iter().filter(|d| **d == e).count() < 3 {
                self.detached.push(e);
            }
        }
    }

    /// What the tree builder does before most text and inline start tags: re-opens the
    /// formatting elements a block closed.
    fn reopen(&mut self) {
        if self.detached.is_empty() {
            return;
        }
        self.reopened += self.detached.len();
        if self.reopened > self.budget {
            self.over
                .get_or_insert(Flattened::TooManyReopened(self.budget));
        }
        let detached = std::mem::take(&mut self.detached);
        for e in detached {
            self.push(e);
        }
    }

    /// The topmost element matching `target` within the default scope (plus `extra`
    /// boundaries).
    fn in_scope(&self, target: impl Fn(&str) -> bool, extra: &[&str]) -> Option<usize> {
        for (i, e) in self.stack.iter().enumerate().rev() {
            if !e.foreign && target(&e.name) {
                return Some(i);
            }
            if scope_boundary(&e.name) || extra.contains(&&*e.name) {
                return None;
            }
        }
        None
    }

    fn in_table_scope(&self, target: impl Fn(&str) -> bool) -> Option<usize> {
        for (i, e) in self.stack.iter().enumerate().rev() {
            if !e.foreign && target(&e.name) {
                return Some(i);
            }
            if matches!(&*e.name, "html" | "table" | "template") {
                return None;
            }
        }
        None
    }

    fn close_p(&mut self) {
        if let Some(i) = self.in_scope(|n| n == "p", &["button"]) {
            self.pop_to(i);
        }
    }

    /// `li`, `dd`, `dt`: an open one of `names` is closed, unless a special element other
    /// than address, div or p lies above it.
    fn close_list_item(&mut self, names: &[&str]) {
        for (i, e) in self.stack.iter().enumerate().rev() {
            if names.contains(&&*e.name) {
                self.pop_to(i);
                return;
            }
            if special(&e.name) && !matches!(&*e.name, "address" | "div" | "p") {
                return;
            }
        }
    }

    fn start_tag(&mut self, tag: Tag) -> TokenSinkResult<()> {
        self.raw_written = false;
        let mut name = tag.name.clone();
        if self.foreign_context() {
            if breaks_out_of_foreign(&tag) {
                while self.foreign_context() {
                    let i = self.stack.len() - 1;
                    self.pop_to(i);
                }
            } else {
                if tag.self_closing {
                    self.write_start(&tag, true);
                } else if self.push(Elem {
                    name,
                    foreign: true,
                    attrs: Vec::new(),
                }) {
                    self.write_start(&tag, false);
                }
                return TokenSinkResult::Continue;
            }
        }
        let n: &str = &name;
        match n {
            "html" | "body" | "head" | "frameset" => return TokenSinkResult::Continue,
            "image" => name = html5ever::local_name!("img"),
            _ => {}
        }
        let n: &str = &name;
        if closes_p(n) {
            self.close_p();
        }
        match n {
            "li" => self.close_list_item(&["li"]),
            "dd" | "dt" => self.close_list_item(&["dd", "dt"]),
            _ if heading(n) && self.stack.last().is_some_and(|e| heading(&e.name)) => {
                let i = self.stack.len() - 1;
                self.pop_to(i);
            }
            "a" | "nobr" | "button" => {
                if let Some(i) = self.detached.iter().rposition(|e| e.name == name) {
                    self.detached.remove(i);
                }
                if let Some(i) = self.in_scope(|x| x == n, &[]) {
                    self.pop_to(i);
                }
            }
            "td" | "th" => {
                if let Some(i) = self.in_table_scope(|x| matches!(x, "td" | "th")) {
                    self.pop_to(i);
                }
            }
            "tr" => {
                if let Some(i) = self.in_table_scope(|x| x == "tr") {
                    self.pop_to(i);
                }
            }
            "tbody" | "thead" | "tfoot" => {
                if let Some(i) = self.in_table_scope(|x| matches!(x, "tbody" | "thead" | "tfoot")) {
                    self.pop_to(i);
                }
            }
            "table" => {
                // In table mode (not in a cell) a table closes the open one; in a cell, or
                // anywhere else, it nests.
                let mut open = None;
                for (i, e) in self.stack.iter().enumerate().rev() {
                    match &*e.name {
                        "table" if !e.foreign => open = Some(i),
                        "tbody" | "thead" | "tfoot" | "tr" if !e.foreign => continue,
                        _ => {}
                    }
                    break;
                }
                if let Some(i) = open {
                    self.pop_to(i);
                }
            }
            "option" | "optgroup" if self.stack.last().is_some_and(|e| e.name == *"option") => {
                let i = self.stack.len() - 1;
                self.pop_to(i);
            }
            _ => {}
        }
        if !closes_p(n) && !matches!(n, "td" | "th" | "tr" | "tbody" | "thead" | "tfoot") {
            self.reopen();
        }
        let raw = raw_kind(n);
        let n: &str = &name;
        if void(n) || (matches!(n, "svg" | "math") && tag.self_closing) {
            let mut tag = tag;
            tag.name = name;
            self.write_start(&tag, false);
        } else {
            let foreign = matches!(n, "svg" | "math");
            let attrs = if formatting(n) {
                tag.attrs.clone()
            } else {
                Vec::new()
            };
            let opened = self.push(Elem {
                name: name.clone(),
                foreign,
                attrs,
            });
            if opened {
                let mut tag = tag;
                tag.name = name;
                self.write_start(&tag, false);
                self.raw_written = raw.is_some();
            }
        }
        raw.unwrap_or(TokenSinkResult::Continue)
    }

    fn end_tag(&mut self, tag: Tag) {
        self.raw_written = false;
        let name = tag.name;
        // An end tag of a start tag dropped for depth goes too.
        if self.dropped_names.get(&name).is_some_and(|n| *n > 0) {
            // Amortized: what the search passes over is removed.
            while let Some(d) = self.dropped.pop() {
                if let Some(n) = self.dropped_names.get_mut(&d) {
                    *n -= 1;
                }
                if d == name {
                    break;
                }
            }
            return;
        }
        if self.stack.last().is_some_and(|e| e.foreign) {
            // In SVG or MathML, an end tag closes the nearest foreign element of its name,
            // looking no further than the first HTML element.
            for i in (0..self.stack.len()).rev() {
                let e = &self.stack[i];
                if !e.foreign {
                    break;
                }
                if e.name.eq_ignore_ascii_case(&name) {
                    self.pop_to(i);
                    return;
                }
            }
        }
        let n: &str = &name;
        let target = match n {
            "html" | "body" | "template" | "form" => None,
            "br" => {
                self.reopen();
                self.write("<br>");
                return;
            }
            "p" => self.in_scope(|x| x == "p", &["button"]),
            "li" => self.in_scope(|x| x == "li", &["ol", "ul"]),
            _ if heading(n) => self.in_scope(heading, &[]),
            "table" | "tbody" | "thead" | "tfoot" | "tr" | "td" | "th" | "caption" | "colgroup" => {
                self.in_table_scope(|x| x == n)
            }
            _ if formatting(n) => {
                if let Some(i) = self.detached.iter().rposition(|e| e.name == name) {
                    self.detached.remove(i);
                    return;
                }
                // The adoption agency: without a special element above it, the formatting
                // element closes what is above it; with one, the tree is rearranged but
                // holds as many open elements as before.
                match self.in_scope(|x| x == n, &[]) {
                    Some(i) if !self.stack[i + 1..].iter().any(|e| special(&e.name)) => Some(i),
                    _ => None,
                }
            }
            _ if special(n) => self.in_scope(|x| x == n, &[]),
            _ => {
                let mut found = None;
                for (i, e) in self.stack.iter().enumerate().rev() {
                    if e.name == name {
                        found = Some(i);
                        break;
                    }
                    if special(&e.name) {
                        break;
                    }
                }
                found
            }
        };
        if let Some(i) = target {
            self.pop_to(i);
        }
    }

    fn text(&mut self, t: &str) {
        if t.is_empty() {
            return;
        }
        self.reopen();
        if !self.flattening() {
            return;
        }
        if self.raw_written {
            // Inside a raw text element that was written: as it came.
            self.write(t);
        } else if let Some(out) = &mut self.out {
            html_escape::encode_text_to_string(t, out);
        }
    }
}

struct Sink(RefCell<Shadow>);

impl TokenSink for Sink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        let mut s = self.0.borrow_mut();
        if s.over.is_some() && !s.flattening() {
            // Measured enough: the fragment is flattened. Tokenizing on is linear still.
            return match token {
                Token::TagToken(t) if t.kind == TagKind::StartTag => {
                    raw_kind(&t.name).unwrap_or(TokenSinkResult::Continue)
                }
                _ => TokenSinkResult::Continue,
            };
        }
        match token {
            Token::TagToken(t) if t.kind == TagKind::StartTag => s.start_tag(t),
            Token::TagToken(t) => {
                s.end_tag(t);
                TokenSinkResult::Continue
            }
            Token::CharacterTokens(t) => {
                s.text(&t);
                TokenSinkResult::Continue
            }
            // Comments and doctypes go (the sanitizer removes them anyway); NUL cannot occur
            // (XML forbids it, and it is removed before).
            _ => TokenSinkResult::Continue,
        }
    }

    fn adjusted_current_node_present_but_not_in_html_namespace(&self) -> bool {
        self.0.borrow().stack.last().is_some_and(|e| e.foreign)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_html_passes_untouched() {
        for html in [
            "<p>a<br>b</p><ul><li>one<li>two</ul><a href=\"https://e.org/?a=1&amp;b=2\">l</a>",
            "<p>« Plein » <b>gras <i>et</b> penché</i></p><table><tr><td>1<td>2<tr><td>3</table>",
            "<dl><dt>a<dd>b<dt>c<dd>d</dl><p>x<p>y<p>z",
            "<svg><path d=\"M0\"/><circle/></svg><math><mi>x</mi></math>",
            "plain text & more",
        ] {
            let b = bound_nesting(html);
            assert_eq!(b.flattened, None, "{html}");
            assert!(matches!(b.html, Cow::Borrowed(_)));
        }
        // Sloppy paragraphs by the thousand stay shallow.
        let many = "<p>para <b>bold</b> <i>it".repeat(5000);
        assert_eq!(bound_nesting(&many).flattened, None);
    }
}
