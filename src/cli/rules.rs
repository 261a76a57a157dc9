//! `syndic rules`: show, set, preview and reapply the import rules of a subscription or a
//! channel (the API's `/api/v1/subscriptions/{id}/rules` and `/api/v1/channels/{slug}/rules`).

use std::path::PathBuf;

use anyhow::{Result, anyhow};
use clap::{Args, Subcommand};
use serde_json::json;

use super::{CliError, Ctx, find_channel, output, read_input};
use crate::ingest::screen::{self, ItemVerdict};
use crate::model::Subscription;
use crate::poll::poller::{Poller, PreviewError};
use crate::rules::{self, RuleSet};
use crate::store::RulesOwner;

#[derive(Subcommand, Debug)]
pub enum RulesCommand {
    /// Print the rule set of a subscription or a channel.
    Show(Owner),
    /// Replace the rule set of a subscription or a channel with a JSON array read from FILE
    /// (`-` reads standard input; `[]` removes them). An invalid set is refused, naming the
    /// rule, the field and what is wrong, and nothing is stored.
    Set {
        #[command(flatten)]
        owner: Owner,
        /// The JSON array of rules (docs/rules.md); `-` reads standard input.
        file: PathBuf,
    },
    /// Fetch a subscription's feed now and print what the rules (those in FILE, else the
    /// stored ones; the channel's after them) do to each item. Writes nothing.
    Preview {
        /// The subscription.
        #[arg(long)]
        subscription: i64,
        /// A rule set to try instead of the stored one (`-` reads standard input).
        file: Option<PathBuf>,
    },
    /// Run the stored rules again on the articles a subscription already imported: drop
    /// (delete) or change them as the rules say, and print what happened.
    Reapply {
        /// The subscription whose articles are judged again (its rules, then its channel's).
        #[arg(long)]
        subscription: i64,
    },
}

/// Whose rules: one of `--subscription ID` or `--channel SLUG`.
#[derive(Args, Debug)]
#[group(required = true, multiple = false)]
pub struct Owner {
    /// A subscription, by id.
    #[arg(long)]
    subscription: Option<i64>,
    /// A channel, by slug (its rules apply after each subscription's).
    #[arg(long)]
    channel: Option<String>,
}

async fn find(ctx: &Ctx, id: i64) -> Result<Subscription> {
    ctx.store
        .subscription(id)
        .await?
        .ok_or_else(|| CliError::NotFound(format!("no subscription #{id}")).into())
}

async fn owner(ctx: &Ctx, o: &Owner) -> Result<RulesOwner> {
    match (&o.subscription, &o.channel) {
        (Some(id), _) => Ok(RulesOwner::Subscription(find(ctx, *id).await?.id)),
        (None, Some(slug)) => Ok(RulesOwner::Channel(
            find_channel(&ctx.store, slug).await?.id,
        )),
        (None, None) => {
            Err(CliError::Usage("give --subscription ID or --channel SLUG".into()).into())
        }
    }
}

fn parse(body: &[u8], from: &std::path::Path) -> Result<Option<RuleSet>> {
    rules::parse(body).map_err(|e| anyhow!("{}: {e}", from.display()))
}

pub async fn run(ctx: &Ctx, command: RulesCommand) -> Result<()> {
    match command {
        RulesCommand::Show(o) => {
            let owner = owner(ctx, &o).await?;
            let json = ctx.store.rules(owner).await?.flatten();
            let set = rules::from_stored(json.as_deref())
                .map_err(|e| anyhow!("the stored rules no longer parse: {e}"))?;
            print_set(ctx, set.as_ref())
        }
        RulesCommand::Set { owner: o, file } => {
            let owner = owner(ctx, &o).await?;
            let set = parse(&read_input(&file)?, &file)?;
            ctx.store
                .set_rules(owner, set.as_ref().map(|s| s.json.as_str()))
                .await?;
            if ctx.json {
                return print_set(ctx, set.as_ref());
            }
            let n = set.as_ref().map_or(0, |s| s.rules.len());
            let reapply = match o.subscription {
                Some(id) => format!("`syndic rules reapply --subscription {id}`"),
                None => "`syndic rules reapply --subscription ID`, for each of the channel's \
                         subscriptions,"
                    .to_owned(),
            };
            output::text(format!(
                "stored {n} rule{}; they apply to items imported from now on ({reapply} runs them on stored articles)",
                if n == 1 { "" } else { "s" }
            ))
        }
        RulesCommand::Preview { subscription, file } => {
            let sub = find(ctx, subscription).await?;
            let mut rules = screen::load_rules(&ctx.store, &sub).await?;
            if let Some(file) = file {
                rules.subscription = parse(&read_input(&file)?, &file)?;
            }
            let poller = Poller::new(ctx.store.clone(), &ctx.config)?;
            let items = poller.preview(&sub, &rules).await.map_err(|e| match e {
                PreviewError::Upstream(m) => anyhow!("cannot preview: {m}"),
                PreviewError::Store(s) => s.into(),
            })?;
            if ctx.json {
                return output::json(&json!({ "subscription": sub.id, "items": items }));
            }
            verdicts(&items).print()
        }
        RulesCommand::Reapply { subscription } => {
            let sub = find(ctx, subscription).await?;
            let channel = find_channel(&ctx.store, sub.channel.as_str()).await?;
            let report = screen::reapply(&ctx.store, &sub, &channel).await?;
            if ctx.json {
                return output::json(&report);
            }
            verdicts(&report.items).print()?;
            output::text(format!(
                "examined {}: kept {}, changed {}, dropped {}",
                report.examined, report.kept, report.changed, report.dropped
            ))
        }
    }
}

fn print_set(ctx: &Ctx, set: Option<&RuleSet>) -> Result<()> {
    let value = set.map_or_else(|| json!([]), RuleSet::value);
    if ctx.json {
        return output::json(&value);
    }
    let Some(set) = set else {
        return output::text("no rules");
    };
    let mut t = output::Table::new(&["#", "NAME", "RULE"]);
    for (rule, json) in set.rules.iter().zip(value.as_array().into_iter().flatten()) {
        let mut body = json.clone();
        if let Some(o) = body.as_object_mut() {
            o.remove("name");
        }
        t.row(vec![
            rule.index.to_string(),
            output::or_dash(rule.name.as_deref()),
            body.to_string(),
        ]);
    }
    t.print()
}

fn verdicts(items: &[ItemVerdict]) -> output::Table {
    let mut t = output::Table::new(&["OUTCOME", "ID", "TITLE", "RULE", "CHANGES"]);
    for i in items {
        let changes: Vec<String> = i
            .changes
            .iter()
            .map(|c| format!("{} {}: {}", c.action, c.field, c.detail))
            .collect();
        t.row(vec![
            if i.remembered {
                format!("{} (remembered)", i.outcome)
            } else {
                i.outcome.to_owned()
            },
            i.id.clone(),
            output::or_dash(i.title.as_deref()),
            i.rule
                .as_ref()
                .map(|r| r.label())
                .unwrap_or_else(|| "-".into()),
            if changes.is_empty() {
                "-".into()
            } else {
                changes.join("; ")
            },
        ]);
    }
    t
}
