//! Media RSS (`media:` namespace) elements, which both XML formats carry: the lead image with
//! its caption and credit, the banner as a thumbnail, and attachments past RSS's one enclosure.
//! The `rss` and `atom_syndication` crates each have their own `Extension` type of the same
//! shape, so the elements are described once here and converted by a macro.

use crate::model::{Attachment, Image};

/// One extension element, independent of the crate that writes it.
pub struct El {
    pub name: &'static str,
    pub attrs: Vec<(&'static str, String)>,
    pub value: Option<String>,
    pub children: Vec<El>,
}

impl El {
    fn new(name: &'static str) -> El {
        El {
            name,
            attrs: Vec::new(),
            value: None,
            children: Vec::new(),
        }
    }

    fn attr(mut self, k: &'static str, v: impl Into<String>) -> El {
        self.attrs.push((k, v.into()));
        self
    }
}

/// `media:content medium="image"` with `media:description` (caption) and `media:credit`.
pub fn lead_image(image: &Image, mime: Option<&str>) -> El {
    let mut el = El::new("media:content")
        .attr("url", &image.url)
        .attr("medium", "image");
    if let Some(m) = mime {
        el = el.attr("type", m);
    }
    if let Some(c) = &image.caption {
        let mut d = El::new("media:description").attr("type", "plain");
        d.value = Some(c.clone());
        el.children.push(d);
    }
    if let Some(c) = &image.credit {
        let mut d = El::new("media:credit");
        d.value = Some(c.clone());
        el.children.push(d);
    }
    el
}

/// `media:content` for an attachment.
pub fn attachment(a: &Attachment) -> El {
    let mut el = El::new("media:content")
        .attr("url", &a.url)
        .attr("type", &a.mime_type);
    if let Some(n) = a.size_in_bytes {
        el = el.attr("fileSize", n.to_string());
    }
    if let Some(n) = a.duration_in_seconds {
        el = el.attr("duration", n.to_string());
    }
    if let Some(t) = &a.title {
        let mut d = El::new("media:title").attr("type", "plain");
        d.value = Some(t.clone());
        el.children.push(d);
    }
    el
}

pub fn thumbnail(url: &str) -> El {
    El::new("media:thumbnail").attr("url", url)
}

/// A guess of a file's MIME type from the path of its URL (mime_guess's table), if any.
pub fn guess_mime(url: &str) -> Option<&'static str> {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    mime_guess::from_path(path).first_raw()
}

/// The MIME type of an image, guessed from its URL, for links that want one.
pub fn image_mime(url: &str) -> Option<&'static str> {
    guess_mime(url).filter(|m| m.starts_with("image/"))
}

/// What the `media:` elements of one item say, once read back.
#[derive(Default)]
pub struct Read {
    pub image: Option<Image>,
    pub attachments: Vec<Attachment>,
    pub thumbnail: Option<String>,
}

/// An attribute value as XML writes it: `atom_syndication` 0.12 writes extension attributes
/// as raw bytes, without escaping, so its values must be escaped on the way in (the `rss`
/// crate escapes them itself, and takes them as they are).
pub fn escape_attribute(value: String) -> String {
    match quick_xml::escape::escape(value.as_str()) {
        std::borrow::Cow::Borrowed(_) => value,
        std::borrow::Cow::Owned(escaped) => escaped,
    }
}

/// Converts [`El`]s into a crate's extension map, and reads one back: `$ext` is the crate's
/// `Extension` type (`rss::extension::Extension` or `atom_syndication::extension::Extension`);
/// `$attr` turns an attribute value into what that crate must be given ([`escape_attribute`]
/// for a crate that writes attributes raw, `std::convert::identity` otherwise).
macro_rules! media_bridge {
    ($ext:ty, $map:ty, $attr:expr) => {
        fn to_ext(el: $crate::formats::media::El) -> $ext {
            let mut children: std::collections::BTreeMap<String, Vec<$ext>> = Default::default();
            for c in el.children {
                children
                    .entry(c.name.to_owned())
                    .or_default()
                    .push(to_ext(c));
            }
            let mut e = <$ext>::default();
            e.name = el.name.to_owned();
            e.value = el.value;
            e.attrs = el
                .attrs
                .into_iter()
                .map(|(k, v)| (k.to_owned(), $attr(v)))
                .collect();
            e.children = children;
            e
        }

        /// Adds elements to an extension map, under their namespace prefix.
        fn push_ext(map: &mut $map, els: impl IntoIterator<Item = $crate::formats::media::El>) {
            for el in els {
                let (prefix, local) = el.name.split_once(':').expect("prefixed name");
                map.entry(prefix.to_owned())
                    .or_default()
                    .entry(local.to_owned())
                    .or_default()
                    .push(to_ext(el));
            }
        }

        /// Reads the `media:` elements of one item's extension map.
        fn read_media(map: &$map) -> $crate::formats::media::Read {
            use $crate::model::{Attachment, Image};
            let mut out = $crate::formats::media::Read::default();
            let Some(media) = map.get("media") else {
                return out;
            };
            let child = |e: &$ext, name: &str| -> Option<String> {
                e.children
                    .get(name)
                    .or_else(|| e.children.get(&format!("media:{name}")))
                    .and_then(|v| v.first())
                    .and_then(|c| c.value.clone())
            };
            for e in media.get("content").into_iter().flatten() {
                let Some(url) = e.attrs.get("url").cloned() else {
                    continue;
                };
                let mime = e.attrs.get("type").cloned();
                let is_image = e.attrs.get("medium").map(String::as_str) == Some("image");
                if is_image && out.image.is_none() {
                    out.image = Some(Image {
                        url,
                        caption: child(e, "description"),
                        credit: child(e, "credit"),
                    });
                } else if let Some(mime_type) = mime {
                    out.attachments.push(Attachment {
                        url,
                        mime_type,
                        title: child(e, "title"),
                        size_in_bytes: e.attrs.get("fileSize").and_then(|s| s.parse().ok()),
                        duration_in_seconds: e.attrs.get("duration").and_then(|s| s.parse().ok()),
                    });
                }
            }
            out.thumbnail = media
                .get("thumbnail")
                .and_then(|v| v.first())
                .and_then(|e| e.attrs.get("url").cloned());
            out
        }
    };
}

pub(crate) use media_bridge;
