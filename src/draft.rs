//! What a reader of any format produces, before ingest checks anything: [`Draft`] (the article
//! model with nothing validated), [`DateText`] (a date as given), and [`ItemError`] (which item
//! of a batch is wrong, and where). Below both `formats` (which makes drafts) and `ingest`
//! (which turns them into articles), so neither imports the other's types.

use serde::Serialize;

use crate::model::{Attachment, Image, Person, Source};

/// A date as the input gave it: text to parse strictly (API, CLI), or a date an upstream
/// parser already read leniently.
#[derive(Debug, Clone)]
pub enum DateText {
    Rfc3339(String),
    Rfc822(String),
    Parsed(chrono::DateTime<chrono::FixedOffset>),
}

/// An item as a parser read it: the article model with nothing checked yet.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    pub id: Option<String>,
    pub url: Option<String>,
    pub external_url: Option<String>,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub content_html: Option<String>,
    pub content_text: Option<String>,
    pub image: Option<Image>,
    pub banner_image: Option<String>,
    pub date_published: Option<DateText>,
    pub date_modified: Option<DateText>,
    pub authors: Vec<Person>,
    pub contributors: Vec<Person>,
    pub tags: Vec<String>,
    pub language: Option<String>,
    pub attachments: Vec<Attachment>,
    pub source: Option<Source>,
}

/// Why one item of a batch was refused: its index in the batch and the field at fault.
#[derive(Debug, Clone, Serialize, thiserror::Error)]
#[error("item {index}: {field}: {message}")]
pub struct ItemError {
    pub index: usize,
    pub field: String,
    pub message: String,
}
