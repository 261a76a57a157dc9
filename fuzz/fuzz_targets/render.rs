//! The writers on arbitrary articles: every field an arbitrary string (control characters,
//! `]]>`, lone `&`, astral characters and all), built straight into a draft so that no reader's
//! syntax stands between the fuzzer and the writers. Each article the upstream pipeline keeps
//! must render in all three formats, read back through syndic's strict readers, and come back
//! equal (oracle/mod.rs).
#![no_main]

#[path = "../oracle/mod.rs"]
mod oracle;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use syndic::ingest::{DateText, Draft};
use syndic::model::{Attachment, Image, Person};

#[derive(Arbitrary, Debug)]
struct Item {
    id: Option<String>,
    url: Option<String>,
    external_url: Option<String>,
    title: Option<String>,
    summary: Option<String>,
    content_html: Option<String>,
    content_text: Option<String>,
    image: Option<(String, Option<String>, Option<String>)>,
    banner_image: Option<String>,
    published: Option<(i32, i32)>,
    authors: Vec<(Option<String>, Option<String>)>,
    contributors: Vec<(Option<String>, Option<String>)>,
    tags: Vec<String>,
    language: Option<String>,
    attachments: Vec<(String, String, Option<String>, Option<u64>)>,
}

fn people(v: Vec<(Option<String>, Option<String>)>) -> Vec<Person> {
    v.into_iter()
        .map(|(name, url)| Person {
            name,
            url,
            avatar: None,
        })
        .collect()
}

fuzz_target!(|items: Vec<Item>| {
    oracle::tolerate_known_panics();
    let drafts = items
        .into_iter()
        .map(|i| Draft {
            id: i.id,
            url: i.url,
            external_url: i.external_url,
            title: i.title,
            summary: i.summary,
            content_html: i.content_html,
            content_text: i.content_text,
            image: i.image.map(|(url, caption, credit)| Image {
                url,
                caption,
                credit,
            }),
            banner_image: i.banner_image,
            date_published: i.published.and_then(|(secs, offset)| {
                let zone = chrono::FixedOffset::east_opt((offset % 50_400) / 60 * 60)?;
                let at = chrono::DateTime::from_timestamp(i64::from(secs), 0)?;
                Some(DateText::Parsed(at.with_timezone(&zone)))
            }),
            date_modified: None,
            authors: people(i.authors),
            contributors: people(i.contributors),
            tags: i.tags,
            language: i.language,
            attachments: i
                .attachments
                .into_iter()
                .map(|(url, mime_type, title, size)| Attachment {
                    url,
                    mime_type,
                    title,
                    size_in_bytes: size,
                    duration_in_seconds: None,
                })
                .collect(),
            source: None,
        })
        .collect();
    oracle::upstream(drafts);
});
