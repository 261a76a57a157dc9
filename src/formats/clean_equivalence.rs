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
        // Ten of the fixtures are clean (feeds as their sites write them, and the two of
        // tests/fixtures/shortcut); the others were kept because they need the pass.
        Err(_) => (
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"),
            10,
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

/// The shapes the short cut takes since it reads namespace declarations off the root
/// (WordPress's `<site xmlns=…>`, a module declared again where it is used, a foreign module
/// declared on its element): the two fixtures of `tests/fixtures/shortcut/` are read without
/// the pass, and what the pass did for them is done all the same (relative URLs in HTML
/// content made absolute, hostile characters kept as text).
#[test]
fn namespace_declarations_off_the_root_take_the_short_cut() {
    let url = Url::parse("https://blog.example/feed/").unwrap();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/shortcut");
    let read = |name: &str| {
        let body = std::fs::read(dir.join(name)).unwrap();
        let text = decode::decode(&body, None).unwrap();
        let c = repair::clean(&text).unwrap_or_else(|| panic!("{name} is clean"));
        let direct = super::read_clean(&c, &url).expect("the crates read it");
        let repaired = parse_feed_repaired(&body, None, &url).unwrap();
        assert_eq!(format!("{direct:?}"), format!("{repaired:?}"), "{name}");
        direct
    };
    let f = read("rss2-wordpress-namespaces.xml");
    assert_eq!(f.self_url.as_deref(), Some("https://blog.example/feed/"));
    assert_eq!(f.items.len(), 2);
    let item = &f.items[0];
    assert_eq!(
        item.title.as_deref(),
        Some("Tom & Jerry en gras \"cité\" 'simple'")
    );
    let html = item.content_html.as_deref().unwrap();
    assert!(
        html.contains(r#"src="https://blog.example/media/a.png""#),
        "{html}"
    );
    assert!(html.contains(r#"href="https://blog.example/feed/voir?x=1&amp;y=2""#));
    assert!(html.contains("&amp; &lt; &gt; &quot; ' ]]> fin."), "{html}");
    assert_eq!(
        f.items[1].content_html.as_deref(),
        Some(
            "<p>Texte <em>seul</em>, <img src=\"https://cdn.example/b.jpg\"> protocole \
             relatif.</p>"
        )
    );

    let f = read("atom10-foreign-namespaces.xml");
    assert_eq!(f.title.as_deref(), Some("Planet <Example>"));
    let item = &f.items[0];
    assert_eq!(
        item.title.as_deref(),
        Some("A <b>bold</b> claim & \"quotes\" 'too'")
    );
    assert_eq!(item.summary.as_deref(), Some("See about ]]>"));
    assert_eq!(
        item.content_html.as_deref(),
        Some(
            "<p><img src=\"https://blog.example/feed/img/x.png\"> <a \
             href=\"https://blog.example/up?a=1&amp;b=2\">up</a> <a \
             href=\"https://blog.example/feed/#frag\">frag</a></p>"
        )
    );
    assert!(
        f.items[1]
            .content_html
            .as_deref()
            .unwrap()
            .contains(r#"href="https://blog.example/feed/rel/link""#)
    );
}
