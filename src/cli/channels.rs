//! `syndic channel`: add, list, show, edit, delete, and set retention (the API's
//! `/api/v1/channels`).

use anyhow::{Result, anyhow};
use clap::Subcommand;
use serde_json::json;

use super::{CliError, Ctx, find_channel, output};
use crate::formats::{self, FORMATS, FeedFormat};
use crate::model::{
    Channel, ChannelPatch, Dedupe, NewChannel, channel_field, channel_language, channel_link,
};

/// `--dedupe`: how items of several subscriptions that are one story become one article.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum DedupeArg {
    /// Every item is an article of its own.
    Off,
    /// Items with the same canonical link are one article (the default).
    Url,
    /// Also near-identical titles within 48 hours (docs/dedupe.md).
    Story,
}

impl From<DedupeArg> for Dedupe {
    fn from(d: DedupeArg) -> Dedupe {
        match d {
            DedupeArg::Off => Dedupe::Off,
            DedupeArg::Url => Dedupe::Url,
            DedupeArg::Story => Dedupe::Story,
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum ChannelCommand {
    /// Create a channel.
    Add {
        /// URL name: lowercase letters, digits and hyphens.
        slug: String,
        /// The channel's title, as readers show it.
        #[arg(long)]
        title: String,
        /// A line saying what the channel is (RSS requires one; empty is allowed).
        #[arg(long, default_value = "")]
        description: String,
        /// The site the channel belongs to (absolute URL).
        #[arg(long)]
        link: Option<String>,
        /// Language code, such as fr or en-GB.
        #[arg(long)]
        language: Option<String>,
        /// One article per story across subscriptions: off, url (default) or story.
        #[arg(long, value_enum)]
        dedupe: Option<DedupeArg>,
    },
    /// List channels with their feed URLs.
    List,
    /// Show one channel: its fields, retention and feed URLs.
    Show { slug: String },
    /// Change a channel's title, description, link, language or dedupe mode (the slug cannot
    /// change).
    Edit {
        /// The channel.
        slug: String,
        /// A new title.
        #[arg(long)]
        title: Option<String>,
        /// A new description.
        #[arg(long)]
        description: Option<String>,
        /// The site the channel belongs to (absolute URL); an empty value clears it.
        #[arg(long)]
        link: Option<String>,
        /// Language code; an empty value clears it.
        #[arg(long)]
        language: Option<String>,
        /// One article per story across subscriptions: off, url or story (applies to items
        /// imported from now on).
        #[arg(long, value_enum)]
        dedupe: Option<DedupeArg>,
    },
    /// Delete a channel with all its articles, tombstones and subscriptions.
    Delete {
        slug: String,
        /// Confirm: without it nothing is deleted.
        #[arg(long)]
        yes: bool,
    },
    /// Set how much of a channel to keep; the server prunes every ten minutes (and `syndic
    /// prune` now). Pruned articles are not re-imported by polls.
    Retention {
        /// The channel.
        slug: String,
        /// Keep at most this many articles.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        max_articles: Option<u32>,
        /// Keep only articles newer than this many days.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        days: Option<u32>,
        /// Keep everything (clears both limits).
        #[arg(long, conflicts_with_all = ["max_articles", "days"])]
        keep_all: bool,
    },
}

pub async fn run(ctx: &Ctx, command: ChannelCommand) -> Result<()> {
    match command {
        ChannelCommand::Add {
            slug,
            title,
            description,
            link,
            language,
            dedupe,
        } => {
            let mut new = NewChannel::validate(&slug, title, description, link, language)
                .map_err(|e| anyhow!(e))?;
            if let Some(d) = dedupe {
                new.dedupe = d.into();
            }
            let c = ctx.store.create_channel(&new).await?;
            if ctx.json {
                return output::json(&view(ctx, &c));
            }
            let mut text = format!("created channel {}", c.slug);
            for f in FeedFormat::all() {
                text.push_str(&format!("\n  {}", feed_url(ctx, &c, f)));
            }
            output::text(text)
        }
        ChannelCommand::List => list(ctx).await,
        ChannelCommand::Show { slug } => {
            let c = find_channel(&ctx.store, &slug).await?;
            show(ctx, &c)
        }
        ChannelCommand::Edit {
            slug,
            title,
            description,
            link,
            language,
            dedupe,
        } => {
            let patch = ChannelPatch {
                title: checked(title.map(|t| channel_field("title", t)).transpose())?,
                description: checked(
                    description
                        .map(|d| channel_field("description", d))
                        .transpose(),
                )?,
                link: checked(link.map(|l| channel_link(Some(l))).transpose())?,
                language: checked(language.map(|l| channel_language(Some(l))).transpose())?,
                dedupe: dedupe.map(Into::into),
                ..Default::default()
            };
            if patch.is_empty() {
                return Err(CliError::Usage(
                    "give --title, --description, --link, --language or --dedupe".into(),
                )
                .into());
            }
            let c = update(ctx, &slug, &patch).await?;
            show(ctx, &c)
        }
        ChannelCommand::Delete { slug, yes } => {
            let c = find_channel(&ctx.store, &slug).await?;
            if !yes {
                let subs = ctx
                    .store
                    .subscriptions()
                    .await?
                    .iter()
                    .filter(|s| s.channel_id == c.id)
                    .count();
                return Err(CliError::Usage(format!(
                    "deleting channel {} removes its feeds, all its articles and {subs} \
                     subscription(s), for good; run again with --yes to do it",
                    c.slug
                ))
                .into());
            }
            ctx.store.delete_channel(&c.slug).await?;
            if ctx.json {
                output::json(&json!({ "deleted": c.slug }))
            } else {
                output::text(format!("deleted channel {}", c.slug))
            }
        }
        ChannelCommand::Retention {
            slug,
            max_articles,
            days,
            keep_all,
        } => {
            let patch = ChannelPatch {
                retain_max_articles: (keep_all || max_articles.is_some()).then_some(max_articles),
                retain_days: (keep_all || days.is_some()).then_some(days),
                ..Default::default()
            };
            if patch.is_empty() {
                return Err(
                    CliError::Usage("give --max-articles, --days or --keep-all".into()).into(),
                );
            }
            find_channel(&ctx.store, &slug).await?;
            let c = update(ctx, &slug, &patch).await?;
            let pruned = crate::catalog::prune(&ctx.store, &c, chrono::Utc::now()).await?;
            let c = find_channel(&ctx.store, &slug).await?;
            if ctx.json {
                let mut v = view(ctx, &c);
                v["pruned"] = json!(pruned);
                return output::json(&v);
            }
            let show = |v: Option<u32>| v.map_or("all".to_owned(), |n| n.to_string());
            output::text(format!(
                "{}: keep {} articles, {} days; pruned {pruned} now",
                c.slug,
                show(c.retain_max_articles),
                show(c.retain_days)
            ))
        }
    }
}

/// A field's check, as the API makes it.
fn checked<T>(r: Result<T, String>) -> Result<T> {
    r.map_err(|e| anyhow!(e))
}

async fn update(ctx: &Ctx, slug: &str, patch: &ChannelPatch) -> Result<Channel> {
    let c = find_channel(&ctx.store, slug).await?;
    ctx.store
        .update_channel(&c.slug, patch)
        .await?
        .ok_or_else(|| CliError::NotFound(format!("no channel {slug:?}")).into())
}

async fn list(ctx: &Ctx) -> Result<()> {
    let channels = ctx.store.channels().await?;
    if ctx.json {
        let items: Vec<_> = channels.iter().map(|c| view(ctx, c)).collect();
        return output::json(&json!({ "channels": items }));
    }
    // One line per channel, tab-separated (scripts written for earlier versions read it).
    let lines: Vec<String> = channels
        .iter()
        .map(|c| {
            format!(
                "{}\t{}\t{}",
                c.slug,
                c.title,
                feed_url(ctx, c, FeedFormat::Rss)
            )
        })
        .collect();
    if lines.is_empty() {
        return Ok(());
    }
    output::text(lines.join("\n"))
}

fn show(ctx: &Ctx, c: &Channel) -> Result<()> {
    if ctx.json {
        return output::json(&view(ctx, c));
    }
    let keep = |v: Option<u32>, unit: &str| v.map_or("all".to_owned(), |n| format!("{n} {unit}"));
    let mut t = output::Table::new(&["FIELD", "VALUE"]);
    for (k, v) in [
        ("slug", c.slug.to_string()),
        ("title", c.title.clone()),
        ("description", output::or_dash(Some(&c.description))),
        ("link", output::or_dash(c.link.as_deref())),
        ("language", output::or_dash(c.language.as_deref())),
        ("created", output::when(Some(c.created_at))),
        ("updated", output::when(Some(c.updated_at))),
        ("keep articles", keep(c.retain_max_articles, "articles")),
        ("keep days", keep(c.retain_days, "days")),
        ("dedupe", c.dedupe.to_string()),
    ] {
        t.row(vec![k.to_owned(), v]);
    }
    for f in &FORMATS {
        t.row(vec![f.key.to_owned(), feed_url(ctx, c, f.format)]);
    }
    t.print()
}

fn view(ctx: &Ctx, c: &Channel) -> serde_json::Value {
    crate::views::channel(c, &ctx.config.base_url)
}

fn feed_url(ctx: &Ctx, c: &Channel, f: FeedFormat) -> String {
    formats::feed_url(&ctx.config.base_url, c.slug.as_str(), f)
}
