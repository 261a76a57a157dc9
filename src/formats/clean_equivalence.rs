//! The repair pass's short cut ([`super::repair::clean`]) held equal to the pass: every feed
//! under `tests/fixtures/` is read both ways ([`super::parse_feed`], and
//! [`super::parse_feed_repaired`] which always runs the pass) and must give the same feed,
//! draft for draft. `SYNDIC_PARSE_CORPUS=DIR` runs it over every feed file under DIR instead
//! (docs/parser-eval.md: the whole corpus).

use std::path::{Path, PathBuf};

use url::Url;

use super::{decode, parse_feed, parse_feed_repaired, repair};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, out);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("xml" | "rss" | "atom" | "rdf" | "json")
        ) {
            out.push(path);
        }
    }
}

#[test]
fn clean_documents_read_the_same_without_the_repair_pass() {
    let (dir, minimum) = match std::env::var("SYNDIC_PARSE_CORPUS") {
        Ok(dir) => (PathBuf::from(dir), 1),
        // Eight of the fixtures are clean (feeds as their sites write them); the others
        // were kept because they need the pass.
        Err(_) => (
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"),
            8,
        ),
    };
    let mut files = Vec::new();
    collect(&dir, &mut files);
    files.sort();
    let url = Url::parse("https://feeds.example/dir/feed.xml").unwrap();
    let (mut clean, mut feeds, mut differ) = (0, 0, Vec::new());
    for path in &files {
        let body = std::fs::read(path).unwrap();
        let ct = super::corpus_content_type(&body);
        let direct = parse_feed(&body, ct.as_deref(), &url);
        let repaired = parse_feed_repaired(&body, ct.as_deref(), &url);
        let took_short_cut = decode::decode(&body, ct.as_deref())
            .ok()
            .is_some_and(|text| {
                repair::clean(&text).is_some_and(|c| super::read_clean(&c, &url).is_some())
            });
        clean += usize::from(took_short_cut);
        feeds += usize::from(repaired.is_ok());
        let (a, b) = (format!("{direct:?}"), format!("{repaired:?}"));
        if a != b {
            differ.push(format!(
                "{}:\n  without the pass: {a}\n  with it:          {b}",
                path.display()
            ));
        }
    }
    eprintln!(
        "{} files, {feeds} feeds, {clean} read without the pass, {} different",
        files.len(),
        differ.len()
    );
    assert!(differ.is_empty(), "{}", differ.join("\n"));
    assert!(
        clean >= minimum,
        "only {clean} documents took the short cut: it is not being exercised"
    );
}
