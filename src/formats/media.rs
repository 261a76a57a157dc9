//! Media RSS (`media:` namespace) elements, which both XML formats carry: the lead image with
//! its caption and credit, the banner as a thumbnail, and attachments past RSS's one enclosure.
//! The `rss` and `atom_syndication` crates each have their own `Extension` type of the same
//! shape, so the elements are described once here and converted by a macro for writing, and
//! read back through one trait ([`ExtEl`]) over both: one Media RSS reader, for strict and
//! lenient reads alike.

use std::collections::BTreeMap;

use super::fields::{DateKind, Fields};
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

/// A MIME type for an attachment that came without one, from its file name (the ingest
/// pipeline wants one on every attachment).
pub(super) fn guess_mime_or_binary(url: &str) -> String {
    guess_mime(url)
        .unwrap_or("application/octet-stream")
        .to_owned()
}

/// Whether a media object is an image: its `medium`, else its type, else its file name.
pub(super) fn is_image(mime: Option<&str>, medium: Option<&str>, url: &str) -> bool {
    match (medium, mime) {
        (Some(m), _) => m.eq_ignore_ascii_case("image"),
        (None, Some(t)) if !t.trim().is_empty() => t.trim().starts_with("image/"),
        _ => guess_mime_or_binary(url).starts_with("image/"),
    }
}

/// The extension elements of the `rss` and `atom_syndication` crates, which have the same
/// shape in two types: read through one interface.
pub(super) trait ExtEl: Sized {
    fn attr(&self, key: &str) -> Option<&str>;
    fn text(&self) -> Option<&str>;
    fn kids(&self, local: &str) -> &[Self];
}

macro_rules! ext_el {
    ($t:ty) => {
        impl ExtEl for $t {
            fn attr(&self, key: &str) -> Option<&str> {
                self.attrs.get(key).map(String::as_str)
            }
            fn text(&self) -> Option<&str> {
                self.value.as_deref()
            }
            fn kids(&self, local: &str) -> &[Self] {
                self.children
                    .get(local)
                    .or_else(|| self.children.get(&format!("media:{local}")))
                    .map_or(&[], Vec::as_slice)
            }
        }
    };
}
ext_el!(rss::extension::Extension);
ext_el!(atom_syndication::extension::Extension);

pub(super) type ExtMap<E> = BTreeMap<String, BTreeMap<String, Vec<E>>>;

/// The text of the first `prefix:local` extension element.
pub(super) fn ext_text<'a, E: ExtEl>(
    map: &'a ExtMap<E>,
    prefix: &str,
    local: &str,
) -> Option<&'a str> {
    map.get(prefix)?.get(local)?.first()?.text()
}

/// Reads the `media:` elements of one item: `media:content` (in a `media:group` too) is the
/// lead image or an attachment, `media:thumbnail` the banner, `media:description` and
/// `media:credit` the image's caption and credit. A strict read takes an image only where
/// `medium="image"` says so and an attachment only with its `type` (what syndic writes, so
/// that its own feeds read back as they were); a lenient one guesses both from the type and
/// the file name, and keeps absolute URLs only.
pub(super) fn read_media<E: ExtEl>(map: &ExtMap<E>, f: Fields) -> Read {
    let mut m = Read::default();
    let Some(media) = map.get("media") else {
        return m;
    };
    let empty = Vec::new();
    let get = |k: &str| media.get(k).unwrap_or(&empty);
    let first_text = |els: &[E]| {
        els.first()
            .and_then(|e| e.text())
            .and_then(|t| f.text(t, true))
    };
    let groups = get("group");
    let mut contents: Vec<&E> = get("content").iter().collect();
    let mut thumbs: Vec<&E> = get("thumbnail").iter().collect();
    let mut caption = first_text(get("description"));
    let mut credit = first_text(get("credit"));
    for g in groups {
        contents.extend(g.kids("content"));
        thumbs.extend(g.kids("thumbnail"));
        caption = caption.or_else(|| first_text(g.kids("description")));
        credit = credit.or_else(|| first_text(g.kids("credit")));
    }
    for c in &contents {
        thumbs.extend(c.kids("thumbnail"));
    }
    m.thumbnail = thumbs
        .iter()
        .find_map(|t| t.attr("url").and_then(|u| f.url(u)));
    for c in contents {
        let Some(url) = c.attr("url").and_then(|u| f.url(u)) else {
            continue;
        };
        let mime = c.attr("type").map(str::trim).filter(|t| !t.is_empty());
        let image = if f.lenient() {
            is_image(mime, c.attr("medium"), &url)
        } else {
            c.attr("medium") == Some("image")
        };
        if image {
            if m.image.is_none() {
                m.image = Some(Image {
                    url,
                    caption: first_text(c.kids("description")).or_else(|| caption.clone()),
                    credit: first_text(c.kids("credit")).or_else(|| credit.clone()),
                });
            }
            continue;
        }
        let mime_type = match (mime, f.lenient()) {
            (Some(t), _) => t.to_owned(),
            (None, true) => guess_mime_or_binary(&url),
            (None, false) => continue,
        };
        if !m.attachments.iter().any(|a| a.url == url) {
            m.attachments.push(Attachment {
                mime_type,
                title: first_text(c.kids("title")),
                size_in_bytes: f.count(c.attr("fileSize")),
                duration_in_seconds: f.count(c.attr("duration")),
                url,
            });
        }
    }
    m
}

/// A date in an extension element (`atom:updated`, `dcterms:modified` in RSS).
pub(super) fn ext_date<E: ExtEl>(
    map: &ExtMap<E>,
    f: Fields,
    names: &[(&str, &str)],
) -> Option<crate::draft::DateText> {
    let text = names
        .iter()
        .find_map(|(prefix, local)| ext_text(map, prefix, local));
    f.date(text, DateKind::Rfc3339)
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

/// Converts [`El`]s into a crate's extension map: `$ext` is the crate's
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
    };
}

pub(crate) use media_bridge;

#[cfg(test)]
mod tests {
    use crate::formats::fixtures::{read, s};

    #[test]
    fn media_group_thumbnail_and_attachment() {
        let f = read("feedrs-atom-media-group.xml");
        let e = &f.items[0];
        assert_eq!(
            s(&e.banner_image),
            Some("https://i1.ytimg.com/vi/0A1ouV7iD8o/hqdefault.jpg")
        );
        assert_eq!(e.attachments[0].mime_type, "application/x-shockwave-flash");
    }
}
