//! Measures story mode's title matching on tests/fixtures/story/titles.tsv: precision and
//! recall of several measures over a sweep of thresholds (docs/dedupe.md quotes the output).
//! `cargo run --example story_eval`

use syndic::story::{StoryText, normalize_text, same_story};

fn main() {
    let corpus = std::fs::read_to_string("tests/fixtures/story/titles.tsv").expect("corpus");
    let pairs: Vec<(bool, String, String)> = corpus
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let mut f = l.splitn(3, '\t');
            let label = f.next().unwrap() == "same";
            let a = f.next().unwrap().trim();
            let b = f.next().unwrap().trim();
            (label, normalize_text(a), normalize_text(b))
        })
        .collect();
    let same = pairs.iter().filter(|p| p.0).count();
    println!(
        "{} pairs: {} same story, {} different",
        pairs.len(),
        same,
        pairs.len() - same
    );
    type Measure = fn(&str, &str) -> f64;
    let measures: [(&str, Measure); 4] = [
        ("dice bigrams (strsim)", strsim::sorensen_dice),
        ("norm. levenshtein (strsim)", strsim::normalized_levenshtein),
        ("jaro-winkler (strsim)", strsim::jaro_winkler),
        ("word dice (shipped)", syndic::story::similarity),
    ];
    for (name, m) in &measures {
        println!("\n{name}: threshold precision recall (numbers must agree)");
        for t in (60..=98).step_by(2) {
            let t = t as f64 / 100.0;
            let (mut tp, mut fp) = (0, 0);
            for (label, a, b) in &pairs {
                let nums = |s: &str| {
                    s.split(' ')
                        .filter(|w| w.chars().any(|c| c.is_ascii_digit()))
                        .map(str::to_owned)
                        .collect::<Vec<_>>()
                };
                let hit = nums(a) == nums(b) && m(a, b) >= t;
                match (hit, label) {
                    (true, true) => tp += 1,
                    (true, false) => fp += 1,
                    _ => {}
                }
            }
            let precision = if tp + fp == 0 {
                1.0
            } else {
                tp as f64 / (tp + fp) as f64
            };
            println!(
                "  {t:.2}  {precision:.3}  {:.3}  ({fp} false merges)",
                tp as f64 / same as f64
            );
        }
    }
    // What syndic ships: same_story at TITLE_THRESHOLD.
    let (mut tp, mut fp) = (0, 0);
    for (label, a, b) in &pairs {
        let t = |s: &str| StoryText {
            title: s.to_owned(),
            lead: None,
        };
        if same_story(&t(a), &t(b)) {
            if *label {
                tp += 1
            } else {
                fp += 1;
                println!("FALSE MERGE: {a} / {b}")
            }
        } else if *label {
            println!("missed: {a} / {b}");
        }
    }
    println!(
        "\nshipped (threshold {}): precision {:.3}, recall {:.3} ({tp} of {same})",
        syndic::story::TITLE_THRESHOLD,
        if tp + fp == 0 {
            1.0
        } else {
            tp as f64 / (tp + fp) as f64
        },
        tp as f64 / same as f64
    );
}
