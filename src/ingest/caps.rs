//! Caps per item: how many tags, authors, contributors and attachments one article may carry,
//! and how long its title, summary, text content, any one tag and any one URL may be. Generous for real articles, they
//! keep one item from filling a feed (200,000 tags once made a channel's RSS 8 MB). From the
//! API or CLI an item over a cap is refused; from an upstream feed the excess is dropped and
//! reported (see `article_from_draft`).

/// Tags per item. News sites tag an article with a handful, rarely more than 30.
pub const MAX_TAGS: usize = 100;
/// Authors per item. A multi-author report can credit dozens; 50 is more than a byline holds.
pub const MAX_AUTHORS: usize = 50;
/// Contributors per item (agencies, photographers, translators).
pub const MAX_CONTRIBUTORS: usize = 50;
/// Attachments per item: an episode has one, a gallery a few dozen.
pub const MAX_ATTACHMENTS: usize = 50;
/// Characters in a title: headlines run to about 100; 2,000 is ten long paragraphs' worth.
pub const MAX_TITLE_CHARS: usize = 2_000;
/// Characters in a summary (the full text goes in `content_html` or `content_text`).
pub const MAX_SUMMARY_CHARS: usize = 20_000;
/// Characters in one tag. WordPress keeps a term's name in 200 characters; a tag is a word or
/// a short phrase, and a longer one is a paragraph pasted in the wrong field.
pub const MAX_TAG_CHARS: usize = 200;
/// Characters in `content_text`, the plain-text body. The longest longreads run to about
/// 200,000 characters (30,000 words) and a whole novel to about 500,000; this keeps one item
/// from filling a feed with megabytes of text (the body limit alone allows ten million).
pub const MAX_CONTENT_TEXT_CHARS: usize = 500_000;
/// Bytes in one URL, as stored: servers and proxies commonly refuse request lines past 8 KiB,
/// so a longer link would not work anyway.
pub const MAX_URL_BYTES: usize = 8 * 1024;

/// An item over one of the caps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OverCap {
    #[error("{count} {what}; at most {limit} are accepted")]
    Count {
        what: &'static str,
        count: usize,
        limit: usize,
    },
    #[error("{count} characters; at most {limit} are accepted")]
    Chars { count: usize, limit: usize },
    #[error("a URL of {count} bytes; at most {limit} are accepted")]
    UrlBytes { count: usize, limit: usize },
}

impl OverCap {
    /// The cap that was passed.
    pub fn limit(&self) -> usize {
        match *self {
            OverCap::Count { limit, .. }
            | OverCap::Chars { limit, .. }
            | OverCap::UrlBytes { limit, .. } => limit,
        }
    }
}

/// A text capped at `limit` characters (Unicode scalar values, as a reader counts them).
pub fn chars(text: &str, limit: usize) -> Result<(), OverCap> {
    // Only a text longer in bytes can be longer in characters.
    if text.len() > limit {
        let count = text.chars().count();
        if count > limit {
            return Err(OverCap::Chars { count, limit });
        }
    }
    Ok(())
}

/// The first `limit` characters of a text, without the whitespace the cut leaves at its end
/// (a text is stored trimmed, and a republished one is read back trimmed: found by fuzzing,
/// a title cut after a space came back one character shorter).
pub fn truncate_chars(text: &mut String, limit: usize) {
    if let Some((i, _)) = text.char_indices().nth(limit) {
        text.truncate(i);
        let kept = text.trim_end().len();
        text.truncate(kept);
    }
}

/// A URL capped at [`MAX_URL_BYTES`].
pub fn url(url: &str) -> Result<(), OverCap> {
    if url.len() > MAX_URL_BYTES {
        return Err(OverCap::UrlBytes {
            count: url.len(),
            limit: MAX_URL_BYTES,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_name_the_count_and_the_limit() {
        let e = OverCap::Count {
            what: "tags",
            count: 101,
            limit: MAX_TAGS,
        };
        assert_eq!(e.to_string(), "101 tags; at most 100 are accepted");
        assert_eq!(e.limit(), 100);
        // Characters, not bytes: 2,000 accented letters pass.
        assert!(chars(&"é".repeat(2000), MAX_TITLE_CHARS).is_ok());
        assert_eq!(
            chars(&"é".repeat(2001), MAX_TITLE_CHARS),
            Err(OverCap::Chars {
                count: 2001,
                limit: 2000
            })
        );
        let mut s = "aé".repeat(10);
        truncate_chars(&mut s, 3);
        assert_eq!(s, "aéa");
        assert!(url(&"a".repeat(MAX_URL_BYTES)).is_ok());
        assert!(url(&"a".repeat(MAX_URL_BYTES + 1)).is_err());
    }

    #[test]
    fn a_cut_text_ends_without_whitespace() {
        let mut s = "ab \u{a0}\u{3000}cd".to_owned();
        truncate_chars(&mut s, 5);
        assert_eq!(s, "ab");
        let mut s = "ab cd".to_owned();
        truncate_chars(&mut s, 10);
        assert_eq!(s, "ab cd", "a text under its cap is left as it is");
    }
}
