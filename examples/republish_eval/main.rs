//! Republishes a corpus of real-world feeds through syndic and judges what comes out, so that
//! "republishing repairs, never breaks" rests on numbers (docs/parser-eval.md, "Republishing").
//!
//! Every file goes the way a polled feed goes: `formats::parse_feed`, the poller's ids
//! (`poll::poller::identify`), `ingest::prepare_upstream`, then `formats::render` as RSS and
//! as Atom. Each rendered feed is checked for well-formedness (roxmltree) and by the W3C Feed
//! Validation Service's code (`validate-feed`'s validator, run by `levels.py` beside this
//! file in one Python process, so that every message comes with its level).
//!
//! ```text
//! cargo run --release --example republish_eval -- DIR [--out DIR] [--list FILE]
//! ```
//!
//! `--out` keeps the rendered feeds (default: a temporary directory, removed at the end);
//! `--list` writes every message as `file<TAB>format<TAB>level<TAB>class<TAB>line<TAB>message`.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use chrono::{TimeZone, Utc};
use syndic::formats::{self, FeedDoc, FeedFormat};
use syndic::model::{Channel, Cursor, Page, Slug, Source, StoredArticle};

#[path = "../../tests/support/validator.rs"]
mod validator;

/// What happened to one corpus file.
struct Outcome {
    rel: String,
    items: usize,
    /// The rendered feeds, by format, when the file could be read at all.
    rendered: Vec<(FeedFormat, PathBuf, Result<(), String>)>,
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("xml" | "json" | "rss" | "atom" | "rdf")
        ) {
            out.push(path);
        }
    }
    Ok(())
}

/// The channel every corpus feed is republished into, as a planet would be set up.
fn channel() -> Channel {
    let at = Utc.with_ymd_and_hms(2025, 11, 25, 12, 0, 0).unwrap();
    Channel {
        id: 1,
        slug: Slug::parse("planet").expect("valid slug"),
        title: "Planet".into(),
        description: "Feeds from elsewhere, republished".into(),
        link: Some("https://planet.example/".into()),
        language: None,
        created_at: at,
        updated_at: at,
        version: 1,
        retain_max_articles: None,
        retain_days: None,
        dedupe: Default::default(),
    }
}

/// Reads, prepares and renders one file; `None` when `parse_feed` refuses it (not a feed).
fn republish(path: &Path, rel: &str, out_dir: &Path, channel: &Channel) -> Option<Outcome> {
    let body = std::fs::read(path).ok()?;
    let url = url::Url::parse("https://corpus.example/")
        .ok()?
        .join(rel)
        .ok()?;
    let feed = syndic::formats::parse_feed(
        &body,
        syndic::formats::corpus_content_type(&body).as_deref(),
        &url,
    )
    .ok()?;
    let source = Source {
        title: feed.title.clone(),
        url: url.to_string(),
    };
    let drafts = syndic::poll::poller::identify(url.as_str(), feed.items)
        .into_iter()
        .map(|(_, d)| d)
        .collect();
    let prepared = syndic::ingest::prepare_upstream(drafts, channel, &source);
    // One article per id, as the store keeps them: a later item with the same id updates the
    // article in the place of the first.
    let mut articles: Vec<syndic::model::Article> = Vec::new();
    let mut seen: std::collections::HashMap<String, usize> = Default::default();
    for (_, a) in prepared.articles {
        match seen.get(&a.id) {
            Some(&i) => articles[i] = a,
            None => {
                seen.insert(a.id.clone(), articles.len());
                articles.push(a);
            }
        }
    }
    let stored: Vec<StoredArticle> = articles
        .into_iter()
        .enumerate()
        .map(|(i, article)| StoredArticle {
            article,
            // First seen a microsecond apart, newest first, as one poll stores them.
            first_seen_at: channel.updated_at - chrono::Duration::microseconds(i as i64),
            cursor: Cursor {
                sort_at: 1_000_000 - i as i64,
                row: i as i64 + 1,
            },
        })
        .collect();
    let page = Page {
        limit: syndic::render::DEFAULT_LIMIT,
        before: None,
        tag: None,
    };
    let doc = FeedDoc {
        channel,
        articles: &stored,
        base_url: "https://syndic.example",
        page: &page,
        next: None,
        previous: None,
    };
    let mut rendered = Vec::new();
    for format in [FeedFormat::Rss, FeedFormat::Atom] {
        let xml = formats::render(format, &doc);
        let file = out_dir.join(format!("{}.{}", rel, format.file_name()));
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent).ok()?;
        }
        std::fs::write(&file, &xml).ok()?;
        let well_formed = std::str::from_utf8(&xml)
            .map_err(|e| e.to_string())
            .and_then(|s| {
                roxmltree::Document::parse(s)
                    .map(drop)
                    .map_err(|e| e.to_string())
            });
        rendered.push((format, file, well_formed));
    }
    Some(Outcome {
        rel: rel.to_owned(),
        items: stored.len(),
        rendered,
    })
}

/// One validator message.
struct Message {
    level: String,
    class: String,
    line: String,
    text: String,
}

/// Runs the validator over every file in one Python process: path -> its messages.
fn validate(
    files: &[&Path],
) -> Result<BTreeMap<PathBuf, Vec<Message>>, Box<dyn std::error::Error>> {
    validator::ensure_validator()?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/republish_eval/levels.py");
    let mut child = Command::new(validator::venv_python())
        .arg(&script)
        .arg(validator::tools_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    let list: String = files.iter().map(|f| format!("{}\n", f.display())).collect();
    let writer = std::thread::spawn(move || stdin.write_all(list.as_bytes()));
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut out: BTreeMap<PathBuf, Vec<Message>> = BTreeMap::new();
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line?;
        let f: Vec<&str> = line.splitn(5, '\t').collect();
        let [path, level, class, line_no, text] = f[..] else {
            return Err(format!("unexpected validator line: {line}").into());
        };
        out.entry(PathBuf::from(path)).or_default().push(Message {
            level: level.into(),
            class: class.into(),
            line: line_no.into(),
            text: text.into(),
        });
    }
    writer.join().map_err(|_| "writer panicked")??;
    let status = child.wait()?;
    if !status.success() {
        return Err(format!("the validator process failed: {status}").into());
    }
    Ok(out)
}

fn pct(n: usize, of: usize) -> String {
    if of == 0 {
        return "-".into();
    }
    format!("{:.1}%", 100.0 * n as f64 / of as f64)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (mut dir, mut out, mut list) = (None, None, None);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--out" => out = Some(PathBuf::from(args.next().ok_or("--out needs a directory")?)),
            "--list" => list = Some(PathBuf::from(args.next().ok_or("--list needs a file")?)),
            _ => dir = Some(PathBuf::from(a)),
        }
    }
    let dir = dir.ok_or("usage: republish_eval DIR [--out DIR] [--list FILE]")?;
    let tmp;
    let out_dir = match out {
        Some(o) => o,
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    let mut paths = Vec::new();
    collect(&dir, &mut paths)?;
    paths.sort();
    let channel = channel();
    let mut outcomes = Vec::new();
    let mut unread = 0;
    for path in &paths {
        let rel = path.strip_prefix(&dir).unwrap_or(path).to_string_lossy();
        match republish(path, &rel, &out_dir, &channel) {
            Some(o) => outcomes.push(o),
            None => unread += 1,
        }
    }
    let files: Vec<&Path> = outcomes
        .iter()
        .flat_map(|o| o.rendered.iter().map(|(_, f, _)| f.as_path()))
        .collect();
    let messages = validate(&files)?;

    println!(
        "corpus: {} ({} files; {} read by parse_feed and republished, {} not feeds)\n",
        dir.display(),
        paths.len(),
        outcomes.len(),
        unread
    );
    println!("| feeds | format | rendered | well-formed | no error | no error, no warning |");
    println!("|---|---|---:|---:|---:|---:|");
    let mut by_message: BTreeMap<(String, String, &'static str), usize> = BTreeMap::new();
    for (label, with_items) in [("all", false), ("with items", true)] {
        for format in [FeedFormat::Rss, FeedFormat::Atom] {
            let (mut n, mut wf, mut no_err, mut clean) = (0, 0, 0, 0);
            for o in outcomes.iter().filter(|o| !with_items || o.items > 0) {
                for (f, file, well_formed) in o.rendered.iter().filter(|r| r.0 == format) {
                    n += 1;
                    wf += usize::from(well_formed.is_ok());
                    let msgs = messages.get(file).map(Vec::as_slice).unwrap_or_default();
                    no_err += usize::from(
                        well_formed.is_ok() && !msgs.iter().any(|m| m.level == "error"),
                    );
                    clean += usize::from(well_formed.is_ok() && msgs.is_empty());
                    if !with_items {
                        let mut distinct: Vec<&Message> = msgs.iter().collect();
                        distinct.dedup_by(|a, b| a.level == b.level && a.text == b.text);
                        distinct.sort_by(|a, b| (&a.level, &a.text).cmp(&(&b.level, &b.text)));
                        distinct.dedup_by(|a, b| a.level == b.level && a.text == b.text);
                        for m in distinct {
                            let name = if *f == FeedFormat::Rss { "RSS" } else { "Atom" };
                            *by_message
                                .entry((m.level.clone(), m.text.clone(), name))
                                .or_default() += 1;
                        }
                    }
                }
            }
            let name = if format == FeedFormat::Rss {
                "RSS"
            } else {
                "Atom"
            };
            println!(
                "| {label} | {name} | {n} | {wf} ({}) | {no_err} ({}) | {clean} ({}) |",
                pct(wf, n),
                pct(no_err, n),
                pct(clean, n)
            );
        }
    }
    let not_well_formed: Vec<_> = outcomes
        .iter()
        .flat_map(|o| o.rendered.iter().map(move |r| (o, r)))
        .filter(|(_, r)| r.2.is_err())
        .collect();
    if !not_well_formed.is_empty() {
        println!("\nnot well-formed:");
        for (o, (f, _, e)) in &not_well_formed {
            println!("  {} ({f:?}): {}", o.rel, e.as_ref().err().unwrap());
        }
    }
    println!("\nremaining messages (feeds that draw each):\n");
    println!("| level | format | message | feeds |");
    println!("|---|---|---|---:|");
    let mut rows: Vec<_> = by_message.into_iter().collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    for ((level, text, format), n) in rows {
        println!("| {level} | {format} | {text} | {n} |");
    }
    if let Some(list) = list {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&list)?);
        for o in &outcomes {
            for (f, file, _) in &o.rendered {
                for m in messages.get(file).into_iter().flatten() {
                    writeln!(
                        w,
                        "{}\t{f:?}\t{}\t{}\t{}\t{}",
                        o.rel, m.level, m.class, m.line, m.text
                    )?;
                }
            }
        }
        println!("\nmessages written to {}", list.display());
    }
    Ok(())
}
