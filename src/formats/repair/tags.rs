//! Start and end tags: names rewritten for the readers, attributes deduplicated and their
//! URLs resolved, Atom text constructs typed, and what to capture decided; an end tag closes
//! whatever was left open inside it, and one that closes nothing is dropped.

use quick_xml::escape::escape;
use quick_xml::events::BytesStart;

use super::namespaces::{Ns, ns_of_uri};
use super::{Capture, Captured, Doc, Normalizer, Open, push_attr, xml_name};
use crate::formats::entities::decode_refs;
use crate::formats::fields::resolve_url;

impl Normalizer<'_> {
    /// The name an element is written under: the readers match core elements by bare local
    /// name and modules by their usual prefix.
    fn out_name(&self, ns: Ns, local: &str, raw: &str) -> String {
        match ns {
            Ns::Core => local.to_owned(),
            Ns::Atom | Ns::Atom03 if self.doc == Doc::Atom => local.to_owned(),
            Ns::Atom | Ns::Atom03 => format!("atom:{local}"),
            Ns::Ext(p) => format!("{p}:{local}"),
            Ns::Xhtml | Ns::Foreign => raw.to_owned(),
        }
    }

    pub(super) fn start(&mut self, ns: Ns, e: &BytesStart) {
        let raw = e.name().0;
        if let Some(c) = &mut self.capture {
            if raw == c.raw {
                c.depth += 1;
            }
            if matches!(c.kind, Capture::Html { .. }) {
                c.buf.push('<');
                // Markup inside text is HTML, whose references are XML's and more: as written.
                c.buf.push_str(e);
                c.buf.push('>');
            }
            return;
        }
        if !xml_name(raw) {
            return;
        }
        let parent_xhtml = self.stack.last().is_some_and(|o| o.xhtml);
        if parent_xhtml || ns == Ns::Xhtml {
            self.start_xhtml(e);
            return;
        }
        let local = e.local_name().as_ref().to_owned();
        let core = match ns {
            Ns::Core => true,
            Ns::Atom | Ns::Atom03 => self.doc == Doc::Atom,
            // A default namespace nobody knows still holds the feed's own elements.
            Ns::Foreign => !raw.contains(':'),
            _ => false,
        };
        let mut local = local;
        if core && self.atom03 {
            let renamed = match local.as_str() {
                "issued" => "published",
                "modified" => "updated",
                "tagline" => "subtitle",
                "copyright" => "rights",
                "url" => "uri",
                _ => "",
            };
            if !renamed.is_empty() {
                local = renamed.to_owned();
            }
        }
        let out = if core {
            local.clone()
        } else {
            self.out_name(ns, &local, raw)
        };

        let mut attrs: Vec<(String, String)> = Vec::new();
        let mut new_base = None;
        let mut text_type = None;
        let mut has_src = false;
        let mut base64 = false;
        for a in e.html_attributes().with_checks(false).flatten() {
            let key = a.key.as_ref();
            if !xml_name(key) {
                continue;
            }
            let value = decode_refs(&a.value);
            match key {
                "xml:base" => new_base = self.base().join(value.trim()).ok(),
                k if (k == "xmlns" || k.starts_with("xmlns:"))
                    && ns_of_uri(&value) != Ns::Foreign => {}
                "mode" if core && self.doc == Doc::Atom => {
                    base64 = value.trim().eq_ignore_ascii_case("base64");
                }
                "type" if core && self.doc == Doc::Atom => text_type = Some(value.into_owned()),
                // A repeated attribute would make the strict readers refuse the document.
                k if attrs.iter().any(|(seen, _)| seen == k) => {}
                k => {
                    has_src |= k == "src";
                    attrs.push((k.to_owned(), value.into_owned()));
                }
            }
        }
        let base = new_base.as_ref().unwrap_or_else(|| self.base());
        for (k, v) in attrs.iter_mut() {
            if matches!(k.as_str(), "href" | "url" | "src")
                && let Some(abs) = resolve_url(v, base)
            {
                *v = abs;
            }
        }

        // What to do with the element's content.
        let mut capture = None;
        let mut xhtml = false;
        if self.doc == Doc::Atom && core {
            let text_construct = matches!(
                out.as_str(),
                "title" | "subtitle" | "summary" | "content" | "rights"
            );
            if text_construct {
                let t = text_type.as_deref().map(str::trim).unwrap_or("");
                let lower = t.to_ascii_lowercase();
                // A media type that is neither text nor XML says the element holds base64
                // (RFC 4287 4.1.3.3); outside content, readers decode it and show it as HTML.
                let binary = !lower.is_empty()
                    && !matches!(lower.as_str(), "text" | "html" | "xhtml")
                    && !lower.starts_with("text/")
                    && !lower.ends_with("/xml")
                    && !lower.ends_with("+xml");
                let normalized = match lower.as_str() {
                    "" => None,
                    "text" | "text/plain" => Some("text".to_owned()),
                    "html" | "text/html" => Some("html".to_owned()),
                    "xhtml" | "application/xhtml+xml" => Some("xhtml".to_owned()),
                    // Any other media type is only allowed on content; elsewhere it is text,
                    // or HTML when it came base64-encoded.
                    _ if out == "content" => Some(t.to_owned()),
                    _ if binary && !has_src => Some("html".to_owned()),
                    _ => Some("text".to_owned()),
                };
                let base64 = base64 || (binary && out != "content");
                if let Some(ty) = &normalized {
                    attrs.push(("type".into(), ty.clone()));
                }
                match normalized.as_deref() {
                    _ if has_src => {}
                    _ if base64 => capture = Some(Capture::Base64),
                    Some("xhtml") => xhtml = true,
                    ty => {
                        capture = Some(Capture::Html {
                            absolutize: ty == Some("html") && out != "title",
                        })
                    }
                }
            } else if let Some(t) = text_type {
                attrs.push(("type".into(), t));
            }
            capture = capture.or(match out.as_str() {
                "updated" | "published" => Some(Capture::Date),
                "uri" | "icon" | "logo" => Some(Capture::Url),
                _ => None,
            });
        } else if let Some(t) = text_type {
            attrs.push(("type".into(), t));
        }
        if self.doc != Doc::Atom && core {
            capture = match out.as_str() {
                "pubDate" | "lastBuildDate" => Some(Capture::Date),
                "link" | "comments" | "docs" => Some(Capture::Url),
                "title" => Some(Capture::Html { absolutize: false }),
                "description" => Some(Capture::Html { absolutize: true }),
                _ => None,
            };
        }
        capture = capture.or(match out.as_str() {
            "dc:date" | "dcterms:modified" | "dcterms:created" | "dcterms:issued" => {
                Some(Capture::Date)
            }
            "atom:updated" | "atom:published" => Some(Capture::Date),
            "content:encoded" => Some(Capture::Html { absolutize: true }),
            "sy:updatePeriod" if self.item_depth == 0 => Some(Capture::Period),
            "sy:updateFrequency" if self.item_depth == 0 => Some(Capture::Frequency),
            _ => None,
        });

        let mut attr_text = String::new();
        for (k, v) in &attrs {
            push_attr(&mut attr_text, k, v);
        }
        if let Some(kind) = capture {
            self.capture = Some(Captured {
                raw: raw.to_owned(),
                out,
                attrs: attr_text,
                kind,
                depth: 0,
                buf: String::new(),
                base: new_base,
            });
            return;
        }
        let item = core && matches!(out.as_str(), "item" | "entry");
        // An RDF item's identity is its rdf:about, which the `rss` crate does not read: it
        // goes in as a guid (a real guid, written later, still wins).
        let rdf_about = (item && self.doc == Doc::Rdf)
            .then(|| {
                attrs
                    .iter()
                    .find(|(k, _)| k.ends_with(":about") || k == "about")
            })
            .flatten()
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty());
        if item {
            self.item_depth += 1;
        }
        if core && out == "channel" {
            self.saw_channel = true;
        }
        self.out.push('<');
        self.out.push_str(&out);
        self.out.push_str(&attr_text);
        self.out.push('>');
        if let Some(about) = rdf_about {
            self.out.push_str(r#"<guid isPermaLink="false">"#);
            self.out.push_str(&escape(about.as_str()));
            self.out.push_str("</guid>");
        }
        self.push_open(Open {
            raw: raw.to_owned(),
            out,
            base: new_base,
            xhtml,
            item,
        });
    }

    /// An element of XHTML content: written as it came, its links resolved.
    fn start_xhtml(&mut self, e: &BytesStart) {
        let raw = e.name().0;
        let mut new_base = None;
        let mut attrs = Vec::new();
        for a in e.html_attributes().with_checks(false).flatten() {
            let key = a.key.as_ref();
            if !xml_name(key) {
                continue;
            }
            let value = decode_refs(&a.value);
            if key == "xml:base" {
                new_base = self.base().join(value.trim()).ok();
            } else {
                attrs.push((key.to_owned(), value.into_owned()));
            }
        }
        let base = new_base.as_ref().unwrap_or(self.base());
        let mut attr_text = String::new();
        for (k, v) in &attrs {
            let local = k.rsplit(':').next().unwrap_or(k);
            let resolved = matches!(local, "href" | "src" | "poster" | "cite")
                .then(|| resolve_url(v, base))
                .flatten();
            push_attr(&mut attr_text, k, resolved.as_deref().unwrap_or(v));
        }
        self.out.push('<');
        self.out.push_str(raw);
        self.out.push_str(&attr_text);
        self.out.push('>');
        self.push_open(Open {
            raw: raw.to_owned(),
            out: raw.to_owned(),
            base: new_base,
            xhtml: true,
            item: false,
        });
    }

    /// Handles an end tag; true once the root is closed. An end tag that closes nothing open
    /// is dropped; one that closes an outer element closes what was left open inside it.
    pub(super) fn end(&mut self, raw: &str) -> bool {
        if let Some(c) = &mut self.capture {
            if raw == c.raw {
                if c.depth == 0 {
                    self.flush_capture();
                    return false;
                }
                c.depth -= 1;
            }
            if matches!(c.kind, Capture::Html { .. }) {
                c.buf.push_str("</");
                c.buf.push_str(raw);
                c.buf.push('>');
            }
            return false;
        }
        // Counted open elements tell at once that an end tag closes nothing; the walk below
        // then stops at the element it closes, so it costs no more than the elements it
        // closes (walking the whole stack for each end tag that closes nothing made many open
        // elements, then as many such end tags, quadratic).
        if self.open_names.get(raw).is_none_or(|&n| n == 0) {
            return false;
        }
        let Some(i) = self.stack.iter().rposition(|o| o.raw == raw) else {
            return false;
        };
        while self.stack.len() > i {
            self.close_top();
        }
        self.stack.is_empty()
    }

    pub(super) fn close_top(&mut self) {
        let Some(o) = self.pop_open() else { return };
        if o.item {
            self.item_depth -= 1;
        }
        if self.stack.is_empty() && self.doc != Doc::Atom && !self.saw_channel {
            // The `rss` crate wants a channel; a feed without one is simply empty.
            self.out.push_str("<channel></channel>");
        }
        self.out.push_str("</");
        self.out.push_str(&o.out);
        self.out.push('>');
    }
}

#[cfg(test)]
mod tests {
    use url::Url;

    fn repaired(doc: &str) -> String {
        let url = Url::parse("https://up.example/feed.xml").unwrap();
        super::super::normalize(doc, &url).expect("a feed").xml
    }

    /// Wraps item content in a feed.
    fn feed(inside_item: &str) -> String {
        format!(
            "<rss version=\"2.0\"><channel><title>t</title><item><guid>g</guid>\
             {inside_item}<title>after</title></item><item><guid>h</guid></item></channel></rss>"
        )
    }

    #[test]
    fn an_end_tag_that_closes_nothing_is_dropped_however_many_are_open() {
        for open in [0, 1, 50] {
            let opened = "<x>".repeat(open);
            let closed = "</x>".repeat(open);
            let plain = repaired(&feed(&format!("{opened}{closed}")));
            for unmatched in ["</y>", "</y></z></y>", &"</q>".repeat(1000)] {
                assert_eq!(
                    repaired(&feed(&format!("{opened}{unmatched}{closed}"))),
                    plain,
                    "{open} open, then {unmatched:.20}"
                );
            }
        }
    }

    #[test]
    fn an_end_tag_closes_what_was_left_open_inside_it() {
        // `</a>` closes the unclosed `<b>` and `<c>` inside it, then the feed goes on.
        assert_eq!(
            repaired(&feed("<a><b><c>x</a>")),
            repaired(&feed("<a><b><c>x</c></b></a>"))
        );
        // The innermost open element of that name is the one closed.
        assert_eq!(
            repaired(&feed("<a><a><b></a>y</a>")),
            repaired(&feed("<a><a><b></b></a>y</a>"))
        );
        // Closed once, an element is no longer open: a second end tag closes nothing.
        assert_eq!(
            repaired(&feed("<a></a></a><b></b>")),
            repaired(&feed("<a></a><b></b>"))
        );
    }
}
