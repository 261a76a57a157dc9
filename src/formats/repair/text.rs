//! Text, CDATA and references, and the captured elements whose text is rewritten before it
//! is written out: dates, URLs, HTML, base64, the `sy:` hints.

use quick_xml::escape::escape;

use super::{Capture, Normalizer};
use crate::formats::dates::parse_date;
use crate::formats::entities::resolve_ref;
use crate::formats::fields::resolve_url;
use crate::text::absolutize_html;

impl Normalizer<'_> {
    pub(super) fn text(&mut self, t: &str) {
        match &mut self.capture {
            Some(c) => c.buf.push_str(t),
            // References come as their own events, so any `&` left here is a bare one.
            None => {
                let mut rest = t;
                while let Some(at) = memchr::memchr2(b'&', b'<', rest.as_bytes()) {
                    self.out.push_str(&rest[..at]);
                    self.out.push_str(if rest.as_bytes()[at] == b'&' {
                        "&amp;"
                    } else {
                        "&lt;"
                    });
                    rest = &rest[at + 1..];
                }
                self.out.push_str(rest);
            }
        }
    }

    pub(super) fn cdata(&mut self, t: &str) {
        match &mut self.capture {
            Some(c) => c.buf.push_str(t),
            None => {
                self.out.push_str("<![CDATA[");
                self.out.push_str(t);
                self.out.push_str("]]>");
            }
        }
    }

    pub(super) fn reference(&mut self, name: &str) {
        let resolved = resolve_ref(name);
        match (&mut self.capture, resolved) {
            (Some(c), Some(s)) => c.buf.push_str(&s),
            (Some(c), None) => {
                c.buf.push('&');
                c.buf.push_str(name);
                c.buf.push(';');
            }
            (None, Some(s)) => self.out.push_str(&escape(s.as_ref())),
            (None, None) => {
                self.out.push_str("&amp;");
                self.out.push_str(name);
                self.out.push(';');
            }
        }
    }

    pub(super) fn flush_capture(&mut self) {
        let Some(c) = self.capture.take() else { return };
        let value = match c.kind {
            Capture::Date => match parse_date(&c.buf) {
                Some(d) => d.to_rfc3339(),
                // Dropped rather than passed on: `atom_syndication` rejects the whole feed
                // for one date it cannot read.
                None => return,
            },
            Capture::Url => resolve_url(&c.buf, c.base.as_ref().unwrap_or(self.base()))
                .unwrap_or_else(|| c.buf.trim().to_owned()),
            Capture::Html { absolutize } => {
                if absolutize && c.buf.contains('<') {
                    absolutize_html(&c.buf, c.base.as_ref().unwrap_or(self.base()))
                } else {
                    c.buf
                }
            }
            Capture::Base64 => {
                use base64::Engine;
                let compact: String = c.buf.split_ascii_whitespace().collect();
                match base64::engine::general_purpose::STANDARD.decode(compact) {
                    Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                    Err(_) => c.buf,
                }
            }
            Capture::Period => {
                self.update_period = Some(c.buf.trim().to_owned());
                c.buf
            }
            Capture::Frequency => {
                self.update_frequency = Some(c.buf.trim().to_owned());
                c.buf
            }
        };
        self.out.push('<');
        self.out.push_str(&c.out);
        self.out.push_str(&c.attrs);
        self.out.push('>');
        self.out.push_str(&escape(value.as_str()));
        self.out.push_str("</");
        self.out.push_str(&c.out);
        self.out.push('>');
    }
}
