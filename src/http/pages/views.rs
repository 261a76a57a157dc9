//! What the page templates see: channels and articles flattened into plain fields, with
//! their dates, links and sizes already written out for a reader.

use chrono::{DateTime, FixedOffset};
use serde::Serialize;

use crate::formats::{FORMATS, FormatInfo, feed_url};
use crate::model::{Article, Attachment, Channel, Person, StoredArticle};

/// A channel as the templates see it.
#[derive(Serialize)]
pub struct ChannelView {
    slug: String,
    title: String,
    description: String,
    link: Option<String>,
    language: Option<String>,
    pub href: String,
    /// The channel's feeds, one per output format (`formats::FORMATS`), in its order.
    feeds: Vec<FeedLink>,
}

/// One of a channel's feeds, as the templates link it.
#[derive(Serialize)]
pub struct FeedLink {
    url: String,
    #[serde(flatten)]
    format: &'static FormatInfo,
}

impl ChannelView {
    pub fn new(base_url: &str, c: &Channel) -> ChannelView {
        ChannelView {
            slug: c.slug.to_string(),
            title: c.title.clone(),
            description: c.description.clone(),
            link: c.link.clone(),
            language: c.language.clone(),
            href: format!("/channels/{}", c.slug),
            feeds: FORMATS
                .iter()
                .map(|f| FeedLink {
                    url: feed_url(base_url, c.slug.as_str(), f.format),
                    format: f,
                })
                .collect(),
        }
    }
}

/// A date as a person reads it, and as `<time datetime>` holds it.
#[derive(Serialize)]
pub struct DateView {
    iso: String,
    text: String,
}

impl DateView {
    fn new(d: DateTime<FixedOffset>, with_time: bool) -> DateView {
        let text = if with_time {
            d.format("%Y-%m-%d %H:%M (UTC%:z)").to_string()
        } else {
            d.format("%Y-%m-%d").to_string()
        };
        DateView {
            iso: d.to_rfc3339(),
            text,
        }
    }
}

/// An article in a list.
#[derive(Serialize)]
pub struct ArticleItem {
    title: String,
    href: String,
    /// The article's own URL (stored with an allowed scheme only), for the feed page.
    url: Option<String>,
    date: DateView,
    authors: Vec<String>,
    summary: Option<String>,
    language: Option<String>,
}

impl ArticleItem {
    pub fn new(c: &Channel, s: &StoredArticle) -> ArticleItem {
        let a = &s.article;
        ArticleItem {
            title: title(a),
            href: article_href(c, &a.id),
            url: a.url.clone(),
            date: DateView::new(s.published(), false),
            authors: a.authors.iter().filter_map(|p| p.name.clone()).collect(),
            summary: a.summary.clone(),
            language: own_language(c, a),
        }
    }
}

/// An article on its own page.
#[derive(Serialize)]
pub struct ArticleView {
    title: String,
    url: Option<String>,
    date: DateView,
    modified: Option<DateView>,
    authors: Vec<PersonView>,
    contributors: Vec<PersonView>,
    image: Option<ImageView>,
    content_html: Option<String>,
    /// The plain-text content, by paragraph, when there is no HTML.
    paragraphs: Vec<String>,
    tags: Vec<String>,
    attachments: Vec<AttachmentView>,
    source: Option<crate::model::Source>,
    language: Option<String>,
}

#[derive(Serialize)]
pub struct PersonView {
    name: Option<String>,
    url: Option<String>,
}

#[derive(Serialize)]
pub struct ImageView {
    url: String,
    alt: String,
    caption: Option<String>,
    credit: Option<String>,
}

#[derive(Serialize)]
pub struct AttachmentView {
    url: String,
    mime_type: String,
    title: String,
    details: String,
}

impl ArticleView {
    pub fn new(c: &Channel, s: &StoredArticle) -> ArticleView {
        let a = &s.article;
        let people = |ps: &[Person]| {
            ps.iter()
                .filter(|p| p.name.is_some() || p.url.is_some())
                .map(|p| PersonView {
                    name: p.name.clone(),
                    url: p.url.clone(),
                })
                .collect()
        };
        let text = a.content_text.as_deref().or(a.summary.as_deref());
        ArticleView {
            title: title(a),
            url: a.url.clone().or_else(|| a.external_url.clone()),
            date: DateView::new(s.published(), true),
            modified: a.date_modified.map(|d| DateView::new(d, true)),
            authors: people(&a.authors),
            contributors: people(&a.contributors),
            image: lead_image(a),
            content_html: a.content_html.clone(),
            paragraphs: match (&a.content_html, text) {
                (None, Some(t)) => t
                    .split("\n\n")
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned)
                    .collect(),
                _ => Vec::new(),
            },
            tags: a.tags.clone(),
            attachments: a.attachments.iter().map(AttachmentView::new).collect(),
            source: a.source.clone(),
            // The page itself is in English: the article's parts say their own language.
            language: a.language.clone().or_else(|| c.language.clone()),
        }
    }
}

/// The lead image, unless the content already shows it (as content often does, with its own
/// figure): once is enough.
fn lead_image(a: &Article) -> Option<ImageView> {
    let image = a.image.as_ref()?;
    if let Some(html) = &a.content_html
        && (html.contains(&image.url) || html.contains(&image.url.replace('&', "&amp;")))
    {
        return None;
    }
    Some(ImageView {
        url: image.url.clone(),
        alt: image
            .caption
            .clone()
            .unwrap_or_else(|| format!("Illustration: {}", title(a))),
        caption: image.caption.clone(),
        credit: image.credit.clone(),
    })
}

impl AttachmentView {
    fn new(x: &Attachment) -> AttachmentView {
        let mut details = vec![x.mime_type.clone()];
        if let Some(size) = x.size_in_bytes {
            details.push(human_size(size));
        }
        if let Some(secs) = x.duration_in_seconds {
            details.push(human_duration(secs));
        }
        let title = x.title.clone().unwrap_or_else(|| {
            // The file's name says more than the whole address.
            x.url
                .rsplit('/')
                .find(|s| !s.is_empty())
                .unwrap_or(&x.url)
                .to_owned()
        });
        AttachmentView {
            url: x.url.clone(),
            mime_type: x.mime_type.clone(),
            title,
            details: details.join(", "),
        }
    }
}

fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1000 {
        return format!("{bytes} bytes");
    }
    let mut n = bytes as f64 / 1000.0;
    let mut unit = 0;
    while n >= 1000.0 && unit < UNITS.len() - 1 {
        n /= 1000.0;
        unit += 1;
    }
    format!("{n:.1} {}", UNITS[unit])
}

fn human_duration(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

fn title(a: &Article) -> String {
    a.title
        .clone()
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| "Untitled article".to_owned())
}

/// The article's language where it differs from its channel's (which the page already says).
fn own_language(c: &Channel, a: &Article) -> Option<String> {
    a.language
        .clone()
        .filter(|l| Some(l) != c.language.as_ref())
}

/// An article's page: its id, percent-encoded as one path segment.
fn article_href(c: &Channel, id: &str) -> String {
    let mut out = format!("/channels/{}/", c.slug);
    for b in id.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::model::Slug;

    #[test]
    fn ids_become_one_path_segment() {
        let c = Slug::parse("monde").unwrap();
        let href = format!("/channels/{c}/https%3A%2F%2Fa.example%2Fx%20y");
        let channel = Channel {
            id: 1,
            slug: c,
            title: String::new(),
            description: String::new(),
            link: None,
            language: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            version: 0,
            retain_max_articles: None,
            retain_days: None,
            dedupe: Default::default(),
        };
        assert_eq!(article_href(&channel, "https://a.example/x y"), href);
    }

    #[test]
    fn sizes_and_durations_read_well() {
        assert_eq!(human_size(512), "512 bytes");
        assert_eq!(human_size(23_400_000), "23.4 MB");
        assert_eq!(human_duration(3_725), "1:02:05");
        assert_eq!(human_duration(95), "1:35");
    }
}
