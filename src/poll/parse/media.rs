//! Images and attachments: the `media:` elements (Media RSS) of RSS items and Atom entries,
//! read through one interface over both crates' extension types, and MIME types guessed for
//! attachments that came without one.

use std::collections::BTreeMap;

use super::fields::{abs, plain};
use crate::model::{Attachment, Image};

/// A MIME type for an attachment that came without one, from its file name (the ingest
/// pipeline wants one on every attachment).
pub(super) fn guess_mime(url: &str) -> String {
    crate::formats::media::guess_mime(url)
        .unwrap_or("application/octet-stream")
        .to_owned()
}

pub(super) fn is_image(mime: Option<&str>, medium: Option<&str>, url: &str) -> bool {
    match (medium, mime) {
        (Some(m), _) => m.eq_ignore_ascii_case("image"),
        (None, Some(t)) if !t.trim().is_empty() => t.trim().starts_with("image/"),
        _ => guess_mime(url).starts_with("image/"),
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

pub(super) fn ext_text<'a, E: ExtEl>(
    map: &'a ExtMap<E>,
    prefix: &str,
    local: &str,
) -> Option<&'a str> {
    map.get(prefix)?.get(local)?.first()?.text()
}

/// What the `media:` elements of an item say.
#[derive(Default)]
pub(super) struct Media {
    pub(super) image: Option<Image>,
    pub(super) thumbnail: Option<String>,
    pub(super) attachments: Vec<Attachment>,
}

pub(super) fn read_media<E: ExtEl>(map: &ExtMap<E>) -> Media {
    let mut m = Media::default();
    let Some(media) = map.get("media") else {
        return m;
    };
    let empty = Vec::new();
    let get = |k: &str| media.get(k).unwrap_or(&empty);
    let first_text = |els: &[E]| {
        els.first()
            .and_then(|e| e.text())
            .and_then(|t| plain(t, true))
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
    m.thumbnail = thumbs.iter().find_map(|t| t.attr("url").and_then(abs));
    for c in contents {
        let Some(url) = c.attr("url").and_then(abs) else {
            continue;
        };
        let mime = c.attr("type").map(str::trim).filter(|t| !t.is_empty());
        if is_image(mime, c.attr("medium"), &url) {
            if m.image.is_none() {
                m.image = Some(Image {
                    url,
                    caption: first_text(c.kids("description")).or_else(|| caption.clone()),
                    credit: first_text(c.kids("credit")).or_else(|| credit.clone()),
                });
            }
        } else if !m.attachments.iter().any(|a| a.url == url) {
            m.attachments.push(Attachment {
                mime_type: mime.map_or_else(|| guess_mime(&url), str::to_owned),
                title: first_text(c.kids("title")),
                size_in_bytes: c.attr("fileSize").and_then(|s| s.trim().parse().ok()),
                duration_in_seconds: c
                    .attr("duration")
                    .and_then(|s| s.trim().parse::<f64>().ok())
                    .filter(|d| d.is_finite() && *d >= 0.0)
                    .map(|d| d.round() as u64),
                url,
            });
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use crate::poll::parse::fixtures::{read, s};

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
