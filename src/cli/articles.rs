//! A channel's articles: `ingest` and `render`, and `syndic article` list, show, delete and
//! restore (the API's `/api/v1/channels/{slug}/articles`).

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow, bail};
use clap::Subcommand;
use serde_json::json;

use super::{CliError, Ctx, find_channel, output, read_input};
use crate::catalog::{self, Outcome, Tombstones};
use crate::formats::{self, FeedFormat, InputKind};
use crate::ingest::{self, Report};
use crate::model::{Cursor, Page, StoredArticle};
use crate::render::{self, DEFAULT_LIMIT, MAX_LIMIT};
use crate::store::DynStore;

#[derive(Subcommand, Debug)]
pub enum ArticleCommand {
    /// List a channel's articles, newest first, one page at a time.
    List {
        /// The channel's slug.
        slug: String,
        /// How many articles (1 to 500).
        #[arg(long, default_value_t = DEFAULT_LIMIT)]
        limit: u32,
        /// Start after this cursor: the `next_cursor` of the page before.
        #[arg(long, value_name = "CURSOR")]
        before: Option<String>,
    },
    /// Show one article, as the channel's JSON Feed publishes it.
    Show {
        slug: String,
        /// The article's id (guid).
        id: String,
    },
    /// Delete an article: the feeds drop it, and its tombstone keeps later imports and polls
    /// from bringing it back (only `article restore` does).
    Delete { slug: String, id: String },
    /// Create or replace one article from one JSON Feed item, bringing it back if it was
    /// deleted (the API's PUT).
    Restore {
        slug: String,
        /// A file holding one JSON Feed item; `-` reads standard input.
        file: PathBuf,
        /// The article's id, when the item has none (it must match the item's when it has).
        #[arg(long)]
        id: Option<String>,
    },
}

pub async fn run(ctx: &Ctx, command: ArticleCommand) -> Result<()> {
    match command {
        ArticleCommand::List {
            slug,
            limit,
            before,
        } => list(ctx, &slug, limit, before.as_deref()).await,
        ArticleCommand::Show { slug, id } => {
            let channel = find_channel(&ctx.store, &slug).await?;
            let a = ctx
                .store
                .article(&channel, &id)
                .await?
                .ok_or_else(|| not_found(&slug, &id))?;
            show(ctx, &a)
        }
        ArticleCommand::Delete { slug, id } => {
            let channel = find_channel(&ctx.store, &slug).await?;
            if !catalog::delete(&ctx.store, &channel, &id).await? {
                return Err(not_found(&slug, &id).into());
            }
            if ctx.json {
                output::json(&json!({ "deleted": id, "channel": slug }))
            } else {
                output::text(format!("deleted {id} from {slug}"))
            }
        }
        ArticleCommand::Restore { slug, file, id } => restore(ctx, &slug, &file, id).await,
    }
}

fn not_found(slug: &str, id: &str) -> CliError {
    CliError::NotFound(format!("no article {id:?} in channel {slug:?}"))
}

async fn list(ctx: &Ctx, slug: &str, limit: u32, before: Option<&str>) -> Result<()> {
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(CliError::Usage(format!("--limit must be between 1 and {MAX_LIMIT}")).into());
    }
    let before = before
        .map(|c| {
            Cursor::decode(c).ok_or_else(|| {
                CliError::Usage(format!(
                    "--before {c:?} is not a cursor (use the next_cursor a list printed)"
                ))
            })
        })
        .transpose()?;
    let channel = find_channel(&ctx.store, slug).await?;
    let articles = ctx.store.articles(&channel, limit, before).await?;
    let page = crate::views::article_page(&articles, limit);
    if ctx.json {
        return output::json(&page);
    }
    let mut t = output::Table::new(&["PUBLISHED", "ID", "TITLE"]);
    for a in &articles {
        t.row(vec![
            a.published().format("%Y-%m-%d %H:%M").to_string(),
            a.article.id.clone(),
            output::or_dash(a.article.title.as_deref()),
        ]);
    }
    t.print()?;
    if let Some(next) = page["next_cursor"].as_str() {
        // On stderr, so that the table alone goes down a pipe.
        eprintln!("more: syndic article list {slug} --limit {limit} --before {next}");
    }
    Ok(())
}

fn show(ctx: &Ctx, a: &StoredArticle) -> Result<()> {
    let view = crate::views::article(a);
    if ctx.json {
        return output::json(&view);
    }
    let art = &a.article;
    let names = |people: &[crate::model::Person]| {
        people
            .iter()
            .filter_map(|p| p.name.clone().or(p.url.clone()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let content = match (&art.content_html, &art.content_text) {
        (Some(h), _) => format!("{} bytes of HTML", h.len()),
        (None, Some(t)) => format!("{} bytes of text", t.len()),
        (None, None) => "-".into(),
    };
    let mut t = output::Table::new(&["FIELD", "VALUE"]);
    for (k, v) in [
        ("id", art.id.clone()),
        ("url", output::or_dash(art.url.as_deref())),
        ("title", output::or_dash(art.title.as_deref())),
        ("published", a.published().to_rfc3339()),
        ("updated", a.updated().to_rfc3339()),
        ("first seen", a.first_seen_at.to_rfc3339()),
        ("authors", output::or_dash(Some(&names(&art.authors)))),
        ("tags", output::or_dash(Some(&art.tags.join(", ")))),
        ("language", output::or_dash(art.language.as_deref())),
        ("image", output::or_dash(view["image"].as_str())),
        (
            "source",
            output::or_dash(art.source.as_ref().map(|s| s.url.as_str())),
        ),
        ("summary", output::or_dash(art.summary.as_deref())),
        ("content", content),
    ] {
        t.row(vec![k.to_owned(), v]);
    }
    t.print()
}

/// The API's PUT: one JSON Feed item, whose id is the article's; a deleted article comes back.
async fn restore(ctx: &Ctx, slug: &str, file: &Path, id: Option<String>) -> Result<()> {
    let channel = find_channel(&ctx.store, slug).await?;
    let name = file.display();
    let body = read_input(file)?;
    let mut drafts = formats::parse(InputKind::Json, &body).map_err(|e| anyhow!("{name}: {e}"))?;
    if drafts.len() != 1 {
        bail!(
            "{name}: restore takes exactly one JSON Feed item, not {}",
            drafts.len()
        );
    }
    let draft = &mut drafts[0];
    let given = draft
        .id
        .as_deref()
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .map(str::to_owned);
    let id = match (given, id.map(|i| i.trim().to_owned())) {
        (Some(g), Some(i)) if g != i => {
            bail!("{name}: the item's id {g:?} differs from --id {i:?}")
        }
        (Some(g), _) => g,
        (None, Some(i)) if !i.is_empty() => i,
        (None, _) => {
            return Err(CliError::Usage(format!("{name}: the item has no id; give --id")).into());
        }
    };
    draft.id = Some(id.clone());
    let report = ingest::ingest_drafts(&ctx.store, &channel, drafts, Tombstones::Restore)
        .await
        .map_err(|e| anyhow!("{name}: {e}"))?;
    let article = ctx
        .store
        .article(&channel, &id)
        .await?
        .ok_or_else(|| anyhow!("article {id:?} vanished after it was written"))?;
    if ctx.json {
        return output::json(&crate::views::article(&article));
    }
    let what = match report.items.first().map(|i| i.outcome) {
        Some(Outcome::Created) => "created",
        Some(Outcome::Updated) => "updated",
        _ => "unchanged",
    };
    output::text(format!("{what} {id} in {slug}"))
}

pub async fn ingest(ctx: &Ctx, slug: &str, files: &[PathBuf]) -> Result<()> {
    let report = ingest_files(&ctx.store, slug, files).await?;
    if ctx.json {
        return output::json(&report);
    }
    output::text(format!(
        "created {}, updated {}, unchanged {}, skipped {} (deleted before)",
        report.created, report.updated, report.unchanged, report.skipped_deleted
    ))
}

/// Reads, parses and validates every file first; writes them all in one transaction only if
/// every item of every file is valid.
async fn ingest_files(store: &DynStore, slug: &str, files: &[PathBuf]) -> Result<Report> {
    let channel = find_channel(store, slug).await?;
    let mut articles = Vec::new();
    for path in files {
        let name = path.display();
        let body = read_input(path)?;
        let kind = InputKind::sniff(&body)
            .ok_or_else(|| anyhow!("{name}: neither JSON nor an RSS or Atom document"))?;
        let drafts = formats::parse(kind, &body).map_err(|e| anyhow!("{name}: {e}"))?;
        articles.extend(ingest::prepare(drafts, &channel).map_err(|e| anyhow!("{name}: {e}"))?);
    }
    let outcomes = catalog::upsert(store, &channel, &articles, Tombstones::Respect).await?;
    Ok(Report::new(&articles, outcomes))
}

pub async fn render(ctx: &Ctx, slug: &str, format: FeedFormat, limit: u32) -> Result<()> {
    use std::io::Write;
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(CliError::Usage(format!("--limit must be between 1 and {MAX_LIMIT}")).into());
    }
    let channel = find_channel(&ctx.store, slug).await?;
    let page = Page {
        limit,
        before: None,
        tag: None,
    };
    let loaded = render::load_page(&ctx.store, &channel, &page).await?;
    let doc = loaded.doc(&channel, &page, &ctx.config.base_url);
    let body = formats::render(format, &doc);
    let mut out = std::io::stdout().lock();
    out.write_all(&body)?;
    // A text file ends with a newline (shells, `cat`, diff), whatever the format's writer does.
    if !body.ends_with(b"\n") {
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}
