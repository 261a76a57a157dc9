//! The repair pass's short cut: a document that the pass would hand on saying nothing
//! different to the readers is read by the `rss` and `atom_syndication` crates as it came.
//!
//! [`clean`] answers `Some` only when every difference the pass could make is ruled out by
//! looking at the text once: UTF-8 (the caller decoded it; the declaration is cut off so that
//! no crate decodes it again), no DOCTYPE, only XML's own references (no HTML entity, no C1
//! reference the pass reads as windows-1252, no character XML forbids), no `xml:base`,
//! modules declared on the root and under the prefixes the readers look for (off the root,
//! only what the pass keeps as written: a foreign namespace under a prefix of its own or as
//! the default, or the root's own declaration again), every standard prefix that is used
//! declared, tags balanced and nothing after the root, no markup
//! inside the elements whose text the pass rewrites, every URL the pass would resolve already
//! an absolute http(s) URL, Atom dates in RFC 3339, Atom text types `text` or `html`, no
//! Atom 0.3 `mode` or root `version`. Whatever it cannot rule out (RSS 0.90 and 1.0, Atom
//! 0.3, XHTML content, a lone entry...) goes through the pass. One thing the pass does is
//! left to after reading: relative URLs inside HTML content are made absolute on the drafts
//! (`formats::read_clean`), as the pass would.
//!
//! `formats::clean_equivalence` holds the two ways equal over the fixtures (and over any
//! corpus); docs/parser-eval.md has the figures over the whole corpus.

use super::Doc;
use super::namespaces::{EXT_NAMESPACES, NS_ATOM, Ns, ns_of_prefix, ns_of_uri};
use super::xml_name;
use crate::formats::dates::parse_date;

/// A document the readers may take as it is.
pub(in crate::formats) struct Clean<'a> {
    /// The document after its XML declaration.
    pub(in crate::formats) xml: &'a str,
    pub(in crate::formats) doc: Doc,
    pub(in crate::formats) update_period: Option<String>,
    pub(in crate::formats) update_frequency: Option<String>,
}

/// How an element's text is checked: the elements the repair pass captures and rewrites.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Text {
    /// Text or CDATA only: the pass would turn markup inside into text.
    Html,
    /// An absolute http(s) URL (or nothing), as the pass would leave it.
    Url,
    /// An Atom date the crate reads as `parse_date` does.
    Date,
    /// A date the mapping reads with `parse_date`: it must be one, since the pass drops one
    /// that is not and the mapping then takes the next candidate.
    LenientDate,
    Period,
    Frequency,
}

/// `Some` when the repair pass would change nothing the readers see (see the module's doc).
pub(in crate::formats) fn clean(text: &str) -> Option<Clean<'_>> {
    let mut xml = text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
    if xml.starts_with("<?xml") {
        xml = &xml[find(xml, "?>")? + 2..];
    }
    let mut s = Scan {
        xml,
        pos: 0,
        doc: None,
        open: Vec::new(),
        declared: Vec::new(),
        used: Vec::new(),
        items: 0,
        update_period: None,
        update_frequency: None,
    };
    s.run()?;
    // Every standard prefix used is declared (the crates find modules by declaration).
    for p in &s.used {
        if !s.declared.iter().any(|(q, _)| q == p) {
            return None;
        }
    }
    Some(Clean {
        xml,
        doc: s.doc?,
        update_period: s.update_period,
        update_frequency: s.update_frequency,
    })
}

struct Scan<'a> {
    xml: &'a str,
    pos: usize,
    doc: Option<Doc>,
    open: Vec<&'a str>,
    declared: Vec<(&'a str, &'a str)>,
    used: Vec<&'a str>,
    items: usize,
    update_period: Option<String>,
    update_frequency: Option<String>,
}

impl<'a> Scan<'a> {
    fn rest(&self) -> &'a str {
        &self.xml[self.pos..]
    }

    fn run(&mut self) -> Option<()> {
        let bytes = self.xml.as_bytes();
        loop {
            let rest = self.rest();
            let Some(at) = memchr::memchr2(b'<', b'&', rest.as_bytes()) else {
                // Only white space may follow the root, and the root must be closed.
                return (self.doc.is_some() && self.open.is_empty() && rest.trim().is_empty())
                    .then_some(());
            };
            if self.open.is_empty()
                && (!rest[..at].trim().is_empty() || rest[at..].starts_with('&'))
            {
                return None;
            }
            self.pos += at;
            if bytes[self.pos] == b'&' {
                self.pos += reference(self.rest())?;
                continue;
            }
            let rest = self.rest();
            if let Some(r) = rest.strip_prefix("<![CDATA[") {
                if self.open.is_empty() {
                    return None;
                }
                self.pos += 9 + find(r, "]]>")? + 3;
            } else if let Some(r) = rest.strip_prefix("<!--") {
                self.pos += 4 + find(r, "-->")? + 3;
            } else if let Some(r) = rest.strip_prefix("<?") {
                self.pos += 2 + find(r, "?>")? + 2;
            } else if rest.starts_with("<!") {
                // A DOCTYPE: its entities, if any, are the pass's to refuse or ignore.
                return None;
            } else if let Some(r) = rest.strip_prefix("</") {
                let end = find_byte(r, b'>')?;
                let name = r[..end].trim_end();
                if self.open.pop()? != name {
                    return None;
                }
                if matches!(name, "item" | "entry") {
                    self.items -= 1;
                }
                self.pos += 2 + end + 1;
            } else {
                if self.doc.is_some() && self.open.is_empty() {
                    return None;
                }
                self.start()?;
            }
        }
    }

    /// A start tag at `pos`: its name, its attributes, and the text of a captured element.
    fn start(&mut self) -> Option<()> {
        let tag = &self.rest()[1..];
        let name_len = tag.find(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/')?;
        let name = &tag[..name_len];
        if !xml_name(name) {
            return None;
        }
        let root = self.doc.is_none();
        if root {
            self.doc = Some(match name {
                "rss" => Doc::Rss,
                "feed" => Doc::Atom,
                _ => return None,
            });
        }
        let doc = self.doc?;
        if let Some((prefix, _)) = name.split_once(':')
            && standard_prefix(prefix)
            && !self.used.contains(&prefix)
        {
            self.used.push(prefix);
        }
        let mut rest = &tag[name_len..];
        let mut default_ns = None;
        let mut text_type = None;
        let empty = loop {
            rest = rest.trim_start();
            if let Some(r) = rest.strip_prefix('>') {
                rest = r;
                break false;
            }
            if let Some(r) = rest.strip_prefix("/>") {
                rest = r;
                break true;
            }
            let eq = find_byte(rest, b'=')?;
            let key = rest[..eq].trim_end();
            if !xml_name(key) {
                return None;
            }
            let after = rest[eq + 1..].trim_start();
            let quote = after.chars().next().filter(|c| *c == '"' || *c == '\'')?;
            let close = find_byte(&after[1..], quote as u8)?;
            let value = &after[1..1 + close];
            rest = &after[1 + close + 1..];
            if value.contains('<') {
                return None;
            }
            let mut v = value;
            while let Some(at) = find_byte(v, b'&') {
                v = &v[at + reference(&v[at..])?..];
            }
            match key {
                "xmlns" if root => default_ns = Some(value),
                // Off the root, a default namespace nobody knows (WordPress's `<site
                // xmlns="com-wordpress:feed-additions:1">`) is kept as written by the pass,
                // which reads its elements as the feed's own, as the crates do.
                "xmlns" if ns_of_uri(value) == Ns::Foreign && value.contains(':') => {}
                "xmlns" | "xml:base" => return None,
                _ if key.starts_with("xmlns:") => {
                    let prefix = &key[6..];
                    if root {
                        if !declaration_kept(doc, prefix, value) {
                            return None;
                        }
                        self.declared.push((prefix, value));
                    } else if !(
                        // Kept as written by the pass: a foreign namespace under a prefix
                        // of its own; or dropped by it but saying again what the root said.
                        (ns_of_uri(value) == Ns::Foreign && !standard_prefix(prefix))
                            || self.declared.contains(&(prefix, value))
                    ) {
                        return None;
                    }
                }
                "href" | "url" | "src" if !absolute_http(value) => return None,
                // Atom 0.3: `mode="base64"` text, and the root's version.
                "mode" if doc == Doc::Atom => return None,
                "version" if root && doc == Doc::Atom => return None,
                "type" => text_type = Some(value),
                _ => {}
            }
        };
        // The root names its format exactly as the crates want it.
        if root && doc == Doc::Atom && default_ns != Some(NS_ATOM) {
            return None;
        }
        if root && doc == Doc::Rss && default_ns.is_some() {
            return None;
        }
        self.pos = self.xml.len() - rest.len();
        let check = match (doc, name) {
            (Doc::Atom, "title" | "subtitle" | "summary" | "content" | "rights") => {
                if !matches!(text_type, None | Some("text" | "html")) {
                    return None;
                }
                Some(Text::Html)
            }
            (Doc::Atom, "uri" | "icon" | "logo") => Some(Text::Url),
            (Doc::Atom, "updated" | "published") => Some(Text::Date),
            (Doc::Rss, "title" | "description") => Some(Text::Html),
            (Doc::Rss, "link" | "comments" | "docs") => Some(Text::Url),
            (Doc::Rss, "pubDate" | "lastBuildDate") => Some(Text::LenientDate),
            (_, "content:encoded") => Some(Text::Html),
            (_, "sy:updatePeriod") => Some(Text::Period),
            (_, "sy:updateFrequency") => Some(Text::Frequency),
            (
                _,
                "dc:date" | "dcterms:modified" | "dcterms:created" | "dcterms:issued"
                | "atom:updated" | "atom:published",
            ) => Some(Text::LenientDate),
            _ => None,
        };
        if empty {
            // The pass drops an empty date; the crate's default may differ.
            return (!matches!(check, Some(Text::Date | Text::LenientDate))).then_some(());
        }
        match check {
            Some(kind) => self.text(name, kind),
            None => {
                if matches!(name, "item" | "entry") {
                    self.items += 1;
                }
                self.open.push(name);
                Some(())
            }
        }
    }

    /// The content of a captured element, up to and past its end tag.
    fn text(&mut self, name: &str, kind: Text) -> Option<()> {
        let rest = self.rest();
        let mut i = 0;
        let end = loop {
            let at = i + memchr::memchr2(b'<', b'&', &rest.as_bytes()[i..])?;
            let r = &rest[at..];
            if r.starts_with('&') {
                i = at + reference(r)?;
            } else if let Some(c) = r.strip_prefix("<![CDATA[") {
                if kind != Text::Html {
                    return None;
                }
                i = at + 9 + find(c, "]]>")? + 3;
            } else if let Some(after) = r.strip_prefix("</")
                && let Some(after) = after.strip_prefix(name)
                && after.trim_start().starts_with('>')
            {
                break at;
            } else {
                return None;
            }
        };
        let content = &rest[..end];
        match kind {
            Text::Html => {}
            Text::Url => {
                let v = content.trim();
                if !v.is_empty() && !absolute_http(v) {
                    return None;
                }
            }
            Text::LenientDate => {
                if content.contains('&') {
                    return None;
                }
                let d = parse_date(content)?;
                // What the pass writes reads back as the same date.
                let again = parse_date(&d.to_rfc3339())?;
                if again != d || again.offset() != d.offset() {
                    return None;
                }
            }
            Text::Date => {
                if content.contains('&') || content.trim() != content {
                    return None;
                }
                let strict = chrono::DateTime::parse_from_rfc3339(content).ok()?;
                let lenient = parse_date(content)?;
                if strict != lenient || strict.offset() != lenient.offset() {
                    return None;
                }
            }
            Text::Period | Text::Frequency => {
                // Read as the pass keeps them, for the channel only.
                if self.items > 0 || content.contains('&') {
                    return None;
                }
                let v = Some(content.trim().to_owned());
                if kind == Text::Period {
                    self.update_period = v;
                } else {
                    self.update_frequency = v;
                }
            }
        }
        self.pos += end + find_byte(&rest[end..], b'>')? + 1;
        Some(())
    }
}

/// The prefixes the pass writes its modules under.
fn standard_prefix(prefix: &str) -> bool {
    prefix == "atom" || prefix == "xhtml" || ns_of_prefix(prefix) != Ns::Foreign
}

/// True when the pass would keep a root declaration as it is: a module under its own prefix
/// and exact URI (Atom's only in RSS), or a foreign namespace under a prefix of its own.
fn declaration_kept(doc: Doc, prefix: &str, uri: &str) -> bool {
    match ns_of_uri(uri) {
        Ns::Foreign => !standard_prefix(prefix),
        Ns::Ext(p) => {
            p == prefix
                && EXT_NAMESPACES
                    .iter()
                    .any(|(q, u)| *q == prefix && *u == uri)
        }
        Ns::Atom => doc == Doc::Rss && prefix == "atom" && uri == NS_ATOM,
        Ns::Core | Ns::Atom03 | Ns::Xhtml => false,
    }
}

/// An `http://` or `https://` URL without white space: the pass keeps it as written (such a
/// URL names its authority, so resolving it against any base gives itself or nothing).
fn absolute_http(v: &str) -> bool {
    (v.starts_with("http://") || v.starts_with("https://"))
        && !v.bytes().any(|b| b.is_ascii_whitespace())
}

/// The length of an XML reference at the start of `s` that the readers resolve as the pass
/// would; `None` for anything else (HTML entities, a bare `&`, C1 and forbidden characters).
fn reference(s: &str) -> Option<usize> {
    let end = s.as_bytes()[..s.len().min(12)]
        .iter()
        .position(|&b| b == b';')?;
    let name = &s[1..end];
    let ok = match name.strip_prefix('#') {
        None => matches!(name, "amp" | "lt" | "gt" | "quot" | "apos"),
        Some(num) => {
            let code = match num.strip_prefix(['x', 'X']) {
                Some(hex) if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
                    u32::from_str_radix(hex, 16).ok()
                }
                None if !num.is_empty() && num.bytes().all(|b| b.is_ascii_digit()) => {
                    num.parse().ok()
                }
                _ => None,
            };
            code.and_then(char::from_u32)
                .is_some_and(|c| crate::text::xml_char(c) && !('\u{80}'..='\u{9f}').contains(&c))
        }
    };
    ok.then_some(end + 1)
}

/// Where `needle` first is in `hay` (memchr's searcher: the scan runs over every byte of the
/// document, and the standard library's is several times slower on long texts).
fn find(hay: &str, needle: &str) -> Option<usize> {
    memchr::memmem::find(hay.as_bytes(), needle.as_bytes())
}

fn find_byte(hay: &str, byte: u8) -> Option<usize> {
    memchr::memchr(byte, hay.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn what_the_short_cut_takes_and_what_it_leaves_to_the_pass() {
        let rss = |items: &str| {
            format!(
                r#"<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>T &amp; co</title>
<link>https://a.example/</link>{items}</channel></rss>"#
            )
        };
        let ok = rss(
            "<item><title><![CDATA[<b>x</b>]]></title><link>https://a.example/1</link>\
             <dc:creator>Ana</dc:creator><pubDate>Mon, 1 Jan 2024 00:00:00 GMT</pubDate>\
             <enclosure url=\"https://a.example/a.mp3\" type=\"audio/mpeg\"/></item>",
        );
        let c = clean(&ok).expect("a clean document");
        assert!(c.xml.trim_start().starts_with("<rss"));
        for bad in [
            // HTML entity, bare ampersand, C1 reference, forbidden character.
            "<item><title>a&nbsp;b</title></item>",
            "<item><title>a & b</title></item>",
            "<item><title>&#146;</title></item>",
            "<item><title>&#1;</title></item>",
            "<item><title>&éééééé;</title></item>",
            // Markup inside a text the pass keeps as text.
            "<item><description><p>x</p></description></item>",
            // Relative URLs, in text and attributes.
            "<item><link>/1</link></item>",
            "<item><enclosure url=\"a.mp3\"/></item>",
            // xml:base, a module under another prefix, an undeclared module, a late declaration.
            "<item xml:base=\"https://b.example/\"><title>x</title></item>",
            "<item xmlns:m=\"http://search.yahoo.com/mrss/\"><m:content url=\"https://a.example/x\"/></item>",
            "<item><media:content url=\"https://a.example/x\"/></item>",
            // Unbalanced tags.
            "<item><title>x</title>",
            "<item><title>x</title></entry></item>",
            // sy: hints inside an item.
            "<item><sy:updatePeriod>hourly</sy:updatePeriod></item>",
            // Off the root: a module declared there only (the crates read the root's), a
            // prefix bound again to another URI, a standard prefix for a foreign namespace,
            // a known namespace as the default, the default namespace undone.
            "<item xmlns:media=\"http://search.yahoo.com/mrss/\"><media:content url=\"https://a.example/x\"/></item>",
            "<item xmlns:dc=\"http://purl.org/dc/terms/\"><dc:creator>x</dc:creator></item>",
            "<item><x:y xmlns:x=\"http://a.example/ns\" xmlns:atom=\"http://a.example/ns\"/></item>",
            "<item><link xmlns=\"http://www.w3.org/2005/Atom\" href=\"https://a.example/\"/></item>",
            "<item><y xmlns=\"\">x</y></item>",
        ] {
            assert!(clean(&rss(bad)).is_none(), "{bad}");
        }
        // Hostile: unterminated CDATA, comment and tag, `<` in an attribute, quotes and
        // `]]>` in text (fine: the readers take them as the pass would), empty and blank input.
        for bad in [
            "<item><title><![CDATA[x</title></item>",
            "<item><!-- x</item>",
            "<item><title x=\"a<b\">x</title></item>",
            "<item><title x=\"a>x</title></item>",
        ] {
            assert!(clean(&rss(bad)).is_none(), "{bad}");
        }
        assert!(
            clean(&rss(
                "<item><title>\"'&quot;&apos; ]]&gt; ]]></title></item>"
            ))
            .is_some()
        );
        // Off the root, what the pass keeps as written or drops as said already: WordPress's
        // default namespace, a foreign module on its element, the root's module again.
        for fine in [
            "<site xmlns=\"com-wordpress:feed-additions:1\">1</site>",
            "<item><post-id xmlns=\"com-wordpress:feed-additions:1\">2</post-id></item>",
            "<item><x:y xmlns:x=\"http://a.example/ns\" x:z=\"1\">v</x:y></item>",
            "<item><dc:creator xmlns:dc=\"http://purl.org/dc/elements/1.1/\">Ana</dc:creator></item>",
        ] {
            assert!(clean(&rss(fine)).is_some(), "{fine}");
        }
        assert!(clean("").is_none());
        assert!(clean(" \n\t").is_none());
        assert!(clean(&rss(&"<item><title>x</title></item>".repeat(10_000))).is_some());
        // A truncated document, text after the root, a DOCTYPE, another root.
        assert!(clean(&ok[..ok.len() - 6]).is_none());
        assert!(clean(&format!("{ok}<rss/>")).is_none());
        assert!(clean(&ok.replace("?>", "?><!DOCTYPE rss>")).is_none());
        assert!(clean("<rdf:RDF><channel/></rdf:RDF>").is_none());

        let atom = |entry: &str| {
            format!(
                r#"<feed xmlns="http://www.w3.org/2005/Atom"><title type="html">A</title>{entry}</feed>"#
            )
        };
        assert!(
            clean(&atom(
                "<entry><id>x</id><updated>2024-01-01T00:00:00+02:00</updated></entry>"
            ))
            .is_some()
        );
        for bad in [
            "<entry><updated>2024-01-01</updated></entry>",
            "<entry><updated> 2024-01-01T00:00:00Z</updated></entry>",
            "<entry><updated/></entry>",
            "<entry><content type=\"xhtml\"><div xmlns=\"http://www.w3.org/1999/xhtml\">x</div></content></entry>",
            "<entry><title type=\"text/html\">x</title></entry>",
            "<entry><content mode=\"base64\">eA==</content></entry>",
            "<entry><author><uri>/me</uri></author></entry>",
        ] {
            assert!(clean(&atom(bad)).is_none(), "{bad}");
        }
        // Atom 0.3 and a lone entry go through the pass.
        assert!(clean(r#"<feed xmlns="http://purl.org/atom/ns#" version="0.3"></feed>"#).is_none());
        assert!(clean(r#"<entry xmlns="http://www.w3.org/2005/Atom"></entry>"#).is_none());
    }
}
