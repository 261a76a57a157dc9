//! The seed article of ../shared/seeds/ (a long French news piece with a lead image, caption,
//! photo credit and contributor) read into its parts and built into a JSON Feed item. Shared
//! by the tests (`tests/api/seed.rs`) and the benchmarks (`examples/bench_tool.rs`), which
//! include this file with `#[path]`. `SYNDIC_SEEDS_DIR` overrides where the seed is read.

#![allow(dead_code)]

use std::path::Path;

use serde_json::{Value, json};

pub const SEED_URL: &str = "https://news.example.fr/international/royaume-uni-etats-unis-accord-technologique-42-milliards";
pub const SEED_IMAGE: &str = "https://news.example.fr/images/2025/09/16/trump-stansted.jpg";
pub const SEED_DATE: &str = "2025-09-16T18:42:00+02:00";
pub const SEED_AUTHOR: &str = "Epoch Times France";

/// The parts of the seed article, taken from the text file as a person would read it.
pub struct Seed {
    pub title: String,
    pub caption: String,
    pub credit: String,
    pub lead: String,
    pub paragraphs: Vec<String>,
    pub contributor: String,
}

pub fn seed() -> Seed {
    let dir = std::env::var("SYNDIC_SEEDS_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/seeds"));
    let path = dir.join("tech-prosperity-deal.fr.txt");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("the seed article {} is needed: {e}", path.display()));
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    let after = |marker: &str| -> usize {
        lines
            .iter()
            .position(|l| l.starts_with(marker))
            .unwrap_or_else(|| panic!("seed has no {marker:?}"))
    };
    let next_text = |from: usize| {
        lines[from..]
            .iter()
            .find(|l| !l.is_empty())
            .unwrap()
            .to_string()
    };
    let title = next_text(after("Logo") + 1);
    let caption = next_text(after("top-article-image") + 1);
    let credit = lines[after("Photo:")]
        .trim_start_matches("Photo:")
        .trim()
        .to_owned();
    let body: Vec<String> = lines[after("Durée de lecture") + 1..]
        .iter()
        .filter(|l| !l.is_empty())
        .map(|l| l.to_string())
        .collect();
    let last = body.last().unwrap();
    let contributor = last.split(" a contribué").next().unwrap().to_owned();
    Seed {
        title,
        caption,
        credit,
        lead: body[0].clone(),
        paragraphs: body,
        contributor,
    }
}

pub fn seed_content_html(s: &Seed) -> String {
    let mut html = format!(
        "<figure><img src=\"{SEED_IMAGE}\" alt=\"{}\"><figcaption>{} <small>{}</small></figcaption></figure>",
        html_escape::encode_double_quoted_attribute(&s.caption),
        html_escape::encode_text(&s.caption),
        html_escape::encode_text(&s.credit)
    );
    for p in &s.paragraphs {
        html.push_str(&format!("\n<p>{}</p>", html_escape::encode_text(p)));
    }
    html
}

pub fn seed_tags() -> Vec<&'static str> {
    vec![
        "Royaume-Uni",
        "États-Unis",
        "Intelligence artificielle",
        "Économie",
    ]
}

/// The seed as a JSON Feed 1.1 item with every part it has.
pub fn seed_item() -> Value {
    let s = seed();
    json!({
        "id": SEED_URL,
        "url": SEED_URL,
        "title": s.title,
        "summary": s.lead,
        "content_html": seed_content_html(&s),
        "image": SEED_IMAGE,
        "date_published": SEED_DATE,
        "authors": [{ "name": SEED_AUTHOR, "url": "https://news.example.fr/auteurs/redaction" }],
        "tags": seed_tags(),
        "language": "fr",
        "_syndic": {
            "image_caption": s.caption,
            "image_credit": s.credit,
            "contributors": [{ "name": s.contributor }],
        },
    })
}

/// Article `n` of a series made from the seed: its own id, URL, title and date (a minute
/// apart, newest first), everything else as in the seed. For benchmarks.
pub fn seed_series_item(base: &Value, n: usize) -> Value {
    let mut item = base.clone();
    let url = format!("{SEED_URL}-{n}");
    item["id"] = json!(url);
    item["url"] = json!(url);
    item["title"] = json!(format!(
        "{} ({n})",
        base["title"].as_str().unwrap_or_default()
    ));
    let date = chrono::DateTime::parse_from_rfc3339(SEED_DATE).expect("seed date")
        - chrono::Duration::minutes(n as i64);
    item["date_published"] = json!(date.to_rfc3339());
    item
}
