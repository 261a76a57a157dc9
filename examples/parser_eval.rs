//! Evaluates the feed parsers syndic could use on a directory of real-world feeds, so that the
//! choice in `src/formats/` rests on numbers rather than on taste (see docs/parser-eval.md).
//!
//! For every file it runs (a) `rss::Channel` or `atom_syndication::Feed`, picked by sniffing the
//! root element, (b) `feed-rs`, and (c) syndic's own `formats::parse_feed`, each on the raw
//! bytes, and reports who parsed what, how many items each got, failures by category and speed.
//!
//! ```text
//! cargo run --release --example parser_eval -- DIR [--runs N] [--list FILE]
//! cargo run --example parser_eval -- --show FILE   # what parse_feed reads from one file
//! cargo run --release --example parser_eval -- DIR --dump OUT.jsonl   # items and titles
//! ```
//!
//! `--dump` writes one JSON line per file (`path`, `items`, `titles`: what `parse_feed` reads,
//! as the poller imports it), for `examples/feedparser_compare.py` to set beside feedparser's
//! reading of the same files.
//!
//! A leading comment line `Header: Content-type: ...` (as feedparser's test files carry) is
//! passed to (c) as the HTTP Content-Type, since that is where such a file's charset lives.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use syndic::formats::InputKind;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Parser {
    RssAtom,
    FeedRs,
    FeedRsPrepared,
    Syndic,
}

const PARSERS: [Parser; 4] = [
    Parser::RssAtom,
    Parser::FeedRs,
    Parser::FeedRsPrepared,
    Parser::Syndic,
];

impl Parser {
    fn label(self) -> &'static str {
        match self {
            Parser::RssAtom => "rss/atom_syndication",
            Parser::FeedRs => "feed-rs",
            Parser::FeedRsPrepared => "feed-rs after syndic's pre-pass",
            Parser::Syndic => "syndic parse_feed",
        }
    }
}

/// One parser's verdict on one file: the number of items, or a failure category and message.
type Verdict = Result<usize, (&'static str, String)>;

struct Doc {
    path: PathBuf,
    body: Vec<u8>,
    content_type: Option<String>,
    url: url::Url,
}

/// Sorts an error message into a coarse category; the parsers' error types differ, their
/// messages say enough.
fn category(msg: &str) -> &'static str {
    let m = msg.to_ascii_lowercase();
    if m.contains("entit") {
        "unknown entity"
    } else if m.contains("encod")
        || m.contains("utf")
        || m.contains("decod")
        || m.contains("ebcdic")
    {
        "encoding"
    } else if m.contains("date") || m.contains("time") {
        "date"
    } else if m.contains("json") || m.contains("version") {
        "json"
    } else if m.contains("mime") || m.contains("content type") || m.contains("missing") {
        "content model"
    } else if m.contains("no root")
        || m.contains("start tag")
        || m.contains("did not begin")
        || m.contains("complete channel")
        || m.contains("end of input")
        || m.contains("not a feed")
        || m.contains("neither")
    {
        "no feed root"
    } else {
        "xml syntax"
    }
}

/// Which library reader a body goes to: by its first element, as a reader would see it
/// (comments and the prolog skipped), or JSON by its first character.
fn sniff(body: &[u8]) -> Option<InputKind> {
    let first = body
        .iter()
        .find(|b| !b.is_ascii_whitespace() && !matches!(b, 0xEF | 0xBB | 0xBF))?;
    if *first == b'{' {
        return Some(InputKind::Json);
    }
    let mut reader = quick_xml::Reader::from_reader(body);
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e)) => {
                return match e.local_name().as_ref() {
                    "rss" | "RDF" => Some(InputKind::Rss),
                    "feed" => Some(InputKind::Atom),
                    _ => None,
                };
            }
            Ok(quick_xml::events::Event::Eof) | Err(_) => return None,
            Ok(_) => buf.clear(),
        }
    }
}

/// A parser that panics on some input is a finding, not the end of the evaluation.
fn run(parser: Parser, doc: &Doc) -> Verdict {
    std::panic::catch_unwind(|| run_one(parser, doc))
        .unwrap_or_else(|_| Err(("panic", "the parser panicked".into())))
}

fn run_one(parser: Parser, doc: &Doc) -> Verdict {
    let fail = |msg: String| Err((category(&msg), msg));
    match parser {
        Parser::RssAtom => match sniff(&doc.body) {
            Some(InputKind::Rss) => match rss::Channel::read_from(&doc.body[..]) {
                Ok(c) => Ok(c.items.len()),
                Err(e) => fail(e.to_string()),
            },
            Some(InputKind::Atom) => match atom_syndication::Feed::read_from(&doc.body[..]) {
                Ok(f) => Ok(f.entries.len()),
                Err(e) => fail(e.to_string()),
            },
            Some(_) => Err(("unsupported format", "JSON Feed".into())),
            None => Err((
                "no feed root",
                "neither rss, RDF nor feed at the root".into(),
            )),
        },
        Parser::FeedRs => match feed_rs::parser::parse(&doc.body[..]) {
            Ok(f) => Ok(f.entries.len()),
            Err(e) => fail(e.to_string()),
        },
        Parser::FeedRsPrepared => {
            let prepared = match sniff(&doc.body) {
                Some(InputKind::Json) => doc.body.clone(),
                _ => match syndic::formats::prepare_xml(
                    &doc.body,
                    doc.content_type.as_deref(),
                    &doc.url,
                ) {
                    Ok(xml) => xml.into_bytes(),
                    Err(e) => return fail(e.to_string()),
                },
            };
            let parser = feed_rs::parser::Builder::new()
                .base_uri(Some(doc.url.as_str()))
                .build();
            match parser.parse(&prepared[..]) {
                Ok(f) => Ok(f.entries.len()),
                Err(e) => fail(e.to_string()),
            }
        }
        Parser::Syndic => {
            match syndic::formats::parse_feed(&doc.body, doc.content_type.as_deref(), &doc.url) {
                Ok(f) => Ok(f.items.len()),
                Err(e) => fail(e.to_string()),
            }
        }
    }
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

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Writes what `parse_feed` reads of every file: the items a reader would show (ingest leaves
/// out an item with no title, content or link) and their titles.
fn dump_items(dir: &Path, docs: &[Doc], out: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let mut w = std::io::BufWriter::new(std::fs::File::create(out)?);
    for doc in docs {
        let rel = doc.path.strip_prefix(dir).unwrap_or(&doc.path);
        let read = std::panic::catch_unwind(|| {
            syndic::formats::parse_feed(&doc.body, doc.content_type.as_deref(), &doc.url)
        });
        let (ok, drafts, titles): (bool, usize, Vec<Option<String>>) = match read {
            Ok(Ok(feed)) => (
                true,
                feed.items.len(),
                feed.items
                    .iter()
                    .filter(|d| {
                        d.title.is_some()
                            || d.content_html.is_some()
                            || d.content_text.is_some()
                            || d.url.is_some()
                    })
                    .map(|d| d.title.clone())
                    .collect(),
            ),
            _ => (false, 0, Vec::new()),
        };
        let line = serde_json::json!({
            "path": rel.to_string_lossy(),
            "ok": ok,
            "drafts": drafts,
            "items": titles.len(),
            "titles": titles,
            "content_type": doc.content_type,
        });
        writeln!(w, "{line}")?;
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut dir = None;
    let mut runs = 5usize;
    let mut list = None;
    let mut dump = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--runs" => runs = args.next().ok_or("--runs needs a number")?.parse()?,
            "--list" => list = Some(PathBuf::from(args.next().ok_or("--list needs a file")?)),
            "--dump" => dump = Some(PathBuf::from(args.next().ok_or("--dump needs a file")?)),
            "--show" => {
                let path = PathBuf::from(args.next().ok_or("--show needs a file")?);
                let body = std::fs::read(&path)?;
                let url = url::Url::parse("https://corpus.example/feed.xml")?;
                let ct = syndic::formats::corpus_content_type(&body);
                match syndic::formats::parse_feed(&body, ct.as_deref(), &url) {
                    Ok(f) => println!("{f:#?}"),
                    Err(e) => println!("error: {e}"),
                }
                return Ok(());
            }
            _ => dir = Some(PathBuf::from(a)),
        }
    }
    let dir = dir.ok_or("usage: parser_eval DIR [--runs N] [--list FILE]")?;
    // Panics are counted per file below; their messages would drown the report.
    std::panic::set_hook(Box::new(|_| {}));
    let mut paths = Vec::new();
    collect(&dir, &mut paths)?;
    paths.sort();
    let mut docs = Vec::with_capacity(paths.len());
    for path in paths {
        let body = std::fs::read(&path)?;
        let rel = path.strip_prefix(&dir).unwrap_or(&path).to_string_lossy();
        let url = url::Url::parse("https://corpus.example/")?.join(&rel)?;
        docs.push(Doc {
            content_type: syndic::formats::corpus_content_type(&body),
            path,
            body,
            url,
        });
    }
    if let Some(out) = dump {
        return dump_items(&dir, &docs, &out);
    }
    let bytes: usize = docs.iter().map(|d| d.body.len()).sum();
    println!(
        "corpus: {} ({} files, {:.2} MB, {} with a Content-Type header)",
        dir.display(),
        docs.len(),
        bytes as f64 / 1e6,
        docs.iter().filter(|d| d.content_type.is_some()).count()
    );

    let mut verdicts: BTreeMap<Parser, Vec<Verdict>> = BTreeMap::new();
    let mut timings: BTreeMap<Parser, Vec<Duration>> = BTreeMap::new();
    for p in PARSERS {
        for _ in 0..runs.max(1) {
            let start = Instant::now();
            let v: Vec<Verdict> = docs.iter().map(|d| run(p, d)).collect();
            timings.entry(p).or_default().push(start.elapsed());
            verdicts.insert(p, v);
        }
    }

    println!(
        "\n| parser | files parsed | files with items | items | failures | median time | MB/s |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for p in PARSERS {
        let v = &verdicts[&p];
        let ok = v.iter().filter(|r| r.is_ok()).count();
        let with_items = v.iter().filter(|r| matches!(r, Ok(n) if *n > 0)).count();
        let items: usize = v.iter().filter_map(|r| r.as_ref().ok()).sum();
        let t = median(timings[&p].clone());
        println!(
            "| {} | {ok} | {with_items} | {items} | {} | {:.1} ms | {:.1} |",
            p.label(),
            v.len() - ok,
            t.as_secs_f64() * 1e3,
            bytes as f64 / 1e6 / t.as_secs_f64()
        );
    }

    println!("\nfailures by category:\n");
    println!("| category | {} |", PARSERS.map(|p| p.label()).join(" | "));
    println!("|---|---:|---:|---:|---:|");
    let mut cats: BTreeMap<&str, [usize; 4]> = BTreeMap::new();
    for (i, p) in PARSERS.iter().enumerate() {
        for r in &verdicts[p] {
            if let Err((c, _)) = r {
                cats.entry(c).or_default()[i] += 1;
            }
        }
    }
    for (c, n) in &cats {
        println!("| {c} | {} | {} | {} | {} |", n[0], n[1], n[2], n[3]);
    }

    // Where the two libraries disagree, and where each gets more items than the other.
    let (a, b, c) = (
        &verdicts[&Parser::RssAtom],
        &verdicts[&Parser::FeedRs],
        &verdicts[&Parser::Syndic],
    );
    let count = |f: &dyn Fn(&Verdict, &Verdict) -> bool, x: &[Verdict], y: &[Verdict]| {
        x.iter().zip(y).filter(|(x, y)| f(x, y)).count()
    };
    let only = |x: &Verdict, y: &Verdict| x.is_ok() && y.is_err();
    let more = |x: &Verdict, y: &Verdict| matches!((x, y), (Ok(m), Ok(n)) if m > n);
    println!("\nagreement:");
    println!(
        "  parsed by rss/atom only: {}, by feed-rs only: {}",
        count(&only, a, b),
        count(&only, b, a)
    );
    println!(
        "  both parsed, more items from rss/atom: {}, from feed-rs: {}",
        count(&more, a, b),
        count(&more, b, a)
    );
    println!(
        "  syndic fails where a library parses: {}",
        c.iter()
            .zip(a.iter().zip(b))
            .filter(|(c, (a, b))| c.is_err() && (a.is_ok() || b.is_ok()))
            .count()
    );
    println!(
        "  syndic gets fewer items than the better library: {}",
        c.iter()
            .zip(a.iter().zip(b))
            .filter(|(c, (a, b))| {
                let best = [a, b].iter().filter_map(|r| r.as_ref().ok()).max();
                matches!((c, best), (Ok(n), Some(m)) if n < m)
            })
            .count()
    );

    if let Some(list) = list {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&list)?);
        writeln!(out, "file\trss_atom\tfeed_rs\tfeed_rs_prepared\tsyndic")?;
        for (i, d) in docs.iter().enumerate() {
            let show = |r: &Verdict| match r {
                Ok(n) => n.to_string(),
                Err((c, m)) => format!("ERR {c}: {}", m.replace(['\t', '\n'], " ")),
            };
            writeln!(
                out,
                "{}\t{}\t{}\t{}\t{}",
                d.path.strip_prefix(&dir).unwrap_or(&d.path).display(),
                show(&a[i]),
                show(&b[i]),
                show(&verdicts[&Parser::FeedRsPrepared][i]),
                show(&c[i])
            )?;
        }
        println!("\nper-file verdicts written to {}", list.display());
    }
    Ok(())
}
