//! Compares readability-style crates on a corpus of article pages with their expected main
//! text (Mozilla Readability's test pages: `DIR/*/source.html` and `expected.html`). For each
//! crate and page: the extracted HTML's text against the expected text as a bag-of-words F1,
//! whether it failed (an error or nothing extracted) or panicked, and how long it took. Prints
//! one table of medians and means. Not part of syndic's build; see docs/full-text.md.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The page URL Mozilla's tests give every page; a page's `url.txt` says otherwise.
const PAGE_URL: &str = "http://fakehost/test/page.html";

type Extract = fn(&str, &str) -> Result<String, String>;

fn dom_smoothie(html: &str, page_url: &str) -> Result<String, String> {
    let mut r =
        dom_smoothie::Readability::new(html, Some(page_url), None).map_err(|e| e.to_string())?;
    r.parse()
        .map(|a| a.content.to_string())
        .map_err(|e| e.to_string())
}

fn legible(html: &str, page_url: &str) -> Result<String, String> {
    legible::parse(html, Some(page_url), None)
        .map(|a| a.content)
        .map_err(|e| e.to_string())
}

fn libreadability(html: &str, page_url: &str) -> Result<String, String> {
    libreadability::extract(html, Some(page_url))
        .map(|a| a.content)
        .map_err(|e| e.to_string())
}

fn llm_readability(html: &str, page_url: &str) -> Result<String, String> {
    let url = url::Url::parse(page_url).map_err(|e| e.to_string())?;
    llm_readability::extractor::extract(&mut html.as_bytes(), &url)
        .map(|p| p.content)
        .map_err(|e| e.to_string())
}

fn readability(html: &str, page_url: &str) -> Result<String, String> {
    let url = url::Url::parse(page_url).map_err(|e| e.to_string())?;
    readability_kumabook::extractor::extract(&mut html.as_bytes(), &url)
        .map(|p| p.content)
        .map_err(|e| e.to_string())
}

fn readability_rs(html: &str, page_url: &str) -> Result<String, String> {
    let url = url::Url::parse(page_url).map_err(|e| e.to_string())?;
    readability_rs::extract(&mut html.as_bytes(), &url, Default::default())
        .map(|p| p.content)
        .map_err(|e| e.to_string())
}

fn readable_readability(html: &str, page_url: &str) -> Result<String, String> {
    let url = url::Url::parse(page_url).map_err(|e| e.to_string())?;
    let (node, _) = readable_readability::Readability::new()
        .base_url(url)
        .parse(html);
    Ok(node.to_string())
}

/// The words of an HTML fragment or page's text (script, style and template text left out),
/// lower-cased, with how often each comes.
fn words(html: &str) -> HashMap<String, usize> {
    let doc = dom_query::Document::from(html);
    doc.select("script, style, noscript, template").remove();
    text_words(&doc.select("html").text())
}

fn text_words(text: &str) -> HashMap<String, usize> {
    let mut bag = HashMap::new();
    for w in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        *bag.entry(w.to_lowercase()).or_insert(0) += 1;
    }
    bag
}

/// Bag-of-words F1 of `got` against `want`.
fn f1(got: &HashMap<String, usize>, want: &HashMap<String, usize>) -> f64 {
    let (g, w): (usize, usize) = (got.values().sum(), want.values().sum());
    if g == 0 || w == 0 {
        return if g == w { 1.0 } else { 0.0 };
    }
    let common: usize = got
        .iter()
        .map(|(k, n)| (*n).min(*want.get(k).unwrap_or(&0)))
        .sum();
    if common == 0 {
        return 0.0;
    }
    let (p, r) = (common as f64 / g as f64, common as f64 / w as f64);
    2.0 * p * r / (p + r)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    if v.is_empty() {
        return f64::NAN;
    }
    let m = v.len() / 2;
    if v.len() % 2 == 0 {
        (v[m - 1] + v[m]) / 2.0
    } else {
        v[m]
    }
}

/// A page: its name, URL, source and the expected text's words.
type Page = (String, String, String, HashMap<String, usize>);

/// The pages of a corpus directory: `NAME/source.html` with `NAME/expected.html` (Mozilla's
/// layout) or `NAME/expected.txt` (plain text), and `NAME/url.txt` when the page has a URL.
fn pages(dir: &Path) -> Vec<Page> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("corpus directory")
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("source.html").exists())
        .collect();
    dirs.sort();
    dirs.into_iter()
        .map(|d| {
            let source = String::from_utf8_lossy(&std::fs::read(d.join("source.html")).unwrap())
                .into_owned();
            let expected = match std::fs::read_to_string(d.join("expected.html")) {
                Ok(html) => words(&html),
                Err(_) => text_words(
                    &std::fs::read_to_string(d.join("expected.txt"))
                        .expect("expected.html or expected.txt"),
                ),
            };
            let url = std::fs::read_to_string(d.join("url.txt"))
                .map_or_else(|_| PAGE_URL.to_owned(), |u| u.trim().to_owned());
            let name = d.file_name().unwrap().to_string_lossy().into_owned();
            (name, url, source, expected)
        })
        .collect()
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .expect("usage: fulltext-eval CORPUS_DIR [--pages]");
    let per_page = std::env::args().any(|a| a == "--pages");
    let corpus = pages(Path::new(&dir));
    // Quiet the panics we catch: they are counted, not printed.
    std::panic::set_hook(Box::new(|_| {}));
    let crates: [(&str, Extract); 7] = [
        ("dom_smoothie 0.19.0", dom_smoothie),
        ("legible 0.5.1", legible),
        ("libreadability 0.3.0", libreadability),
        ("llm_readability 0.0.17", llm_readability),
        ("readability 0.3.0", readability),
        ("readability-rs 0.5.0", readability_rs),
        ("readable-readability 0.4.0", readable_readability),
    ];
    println!("{} pages", corpus.len());
    // How many pages dom_smoothie's `is_probably_readable` (Readability.js's
    // isProbablyReaderable) takes for articles: syndic keeps the feed's text for the others.
    let readable = corpus
        .iter()
        .filter(|(name, url, source, _)| {
            let yes = dom_smoothie::Readability::new(source.as_str(), Some(url.as_str()), None)
                .is_ok_and(|r| r.is_probably_readable());
            if !yes && per_page {
                let chars = dom_smoothie(source, url)
                    .map(|h| {
                        let doc = dom_query::Document::from(h.as_str());
                        doc.select("html")
                            .text()
                            .split_whitespace()
                            .map(|w| w.chars().count() + 1)
                            .sum::<usize>()
                    })
                    .unwrap_or(0);
                eprintln!("not readable\t{name}\t{chars} chars extracted");
            }
            yes
        })
        .count();
    println!(
        "dom_smoothie is_probably_readable: {readable} of {}",
        corpus.len()
    );
    println!(
        "| crate | median F1 | mean F1 | pages F1 >= 0.9 | failed | panicked | median ms/page | total s |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (name, extract) in crates {
        let (mut scores, mut times) = (Vec::new(), Vec::new());
        let (mut failed, mut panicked) = (0, 0);
        let mut total = Duration::ZERO;
        for (page, url, source, want) in &corpus {
            let start = Instant::now();
            let got = catch_unwind(AssertUnwindSafe(|| extract(source, url)));
            let took = start.elapsed();
            total += took;
            times.push(took.as_secs_f64() * 1000.0);
            let score = match got {
                Ok(Ok(html)) => {
                    let bag = words(&html);
                    if bag.is_empty() {
                        failed += 1;
                    }
                    f1(&bag, want)
                }
                Ok(Err(_)) => {
                    failed += 1;
                    0.0
                }
                Err(_) => {
                    panicked += 1;
                    0.0
                }
            };
            if per_page {
                eprintln!(
                    "{name}\t{page}\t{score:.3}\t{:.1}ms",
                    took.as_secs_f64() * 1000.0
                );
            }
            scores.push(score);
        }
        let mean = scores.iter().sum::<f64>() / scores.len() as f64;
        let good = scores.iter().filter(|s| **s >= 0.9).count();
        println!(
            "| {name} | {:.3} | {mean:.3} | {good} | {failed} | {panicked} | {:.1} | {:.2} |",
            median(&mut scores),
            median(&mut times),
            total.as_secs_f64()
        );
    }
}
