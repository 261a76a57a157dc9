//! Upstream feeds: `syndic subscription` add, list, show, remove and poll (the API's
//! `/api/v1/subscriptions`), their older top-level forms (`subscribe`, `subscriptions`,
//! `unsubscribe`), `poll`, and OPML in and out.

use std::path::Path;
use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use clap::{Args, Subcommand};
use serde_json::json;

use super::{CliError, Ctx, find_channel, output, parse_every, read_input, service};
use crate::model::Subscription;
use crate::poll::poller::{PollReport, Poller};
use crate::poll::subscribe;

#[derive(Subcommand, Debug)]
pub enum SubscriptionCommand {
    /// Subscribe a channel to an upstream feed (or to the first feed an HTML page
    /// advertises).
    Add(AddArgs),
    /// List every subscription with its fetch state: last fetch, next fetch, status, errors.
    List,
    /// Show one subscription with its fetch state.
    Show {
        /// The subscription's id (`syndic subscription list` shows them).
        id: i64,
    },
    /// Change a subscription's options.
    Edit(EditArgs),
    /// Remove a subscription (the articles it imported stay).
    Remove {
        /// The subscription's id.
        id: i64,
    },
    /// Poll one subscription now, due or not (a disabled one too), and print what happened.
    Poll {
        /// The subscription's id.
        id: i64,
    },
}

#[derive(Args, Debug)]
pub struct AddArgs {
    /// The feed's URL, or a page that links to its feeds.
    url: String,
    /// The channel the feed's items are imported into.
    #[arg(long)]
    channel: String,
    /// How often to poll: 5m to 24h (the upstream's ttl and cache hints may adjust it).
    #[arg(long, default_value = "30m", value_parser = parse_every)]
    every: Duration,
    /// Fetch each new item's page and publish its main text as the content, the feed's text
    /// becoming the summary (for feeds that publish only a summary; see docs/full-text.md).
    #[arg(long)]
    full_content: bool,
}

#[derive(Args, Debug)]
pub struct EditArgs {
    /// The subscription's id, as `syndic subscription list` shows it.
    id: i64,
    /// Full text for new items: true or false (see `subscription add --full-content`).
    #[arg(long, value_name = "BOOL", action = clap::ArgAction::Set)]
    full_content: Option<bool>,
}

pub async fn run(ctx: &Ctx, command: SubscriptionCommand) -> Result<()> {
    match command {
        SubscriptionCommand::Add(args) => add(ctx, args).await,
        SubscriptionCommand::List => list(ctx).await,
        SubscriptionCommand::Show { id } => {
            let s = find(ctx, id).await?;
            if ctx.json {
                output::json(&s)
            } else {
                table(&[s]).print()
            }
        }
        SubscriptionCommand::Edit(args) => edit(ctx, args).await,
        SubscriptionCommand::Remove { id } => remove(ctx, id).await,
        SubscriptionCommand::Poll { id } => poll_one(ctx, id).await,
    }
}

async fn find(ctx: &Ctx, id: i64) -> Result<Subscription> {
    ctx.store
        .subscription(id)
        .await?
        .ok_or_else(|| CliError::NotFound(format!("no subscription #{id}")).into())
}

pub async fn add(ctx: &Ctx, args: AddArgs) -> Result<()> {
    let channel = find_channel(&ctx.store, &args.channel).await?;
    let poller = Poller::new(ctx.store.clone(), &ctx.config)?;
    let done = subscribe::subscribe(
        &ctx.store,
        &poller,
        &channel,
        &args.url,
        args.every,
        args.full_content,
    )
    .await?;
    let s = &done.subscription;
    if let Some(host) = private_host(&s.url).await
        && ctx.config.allow_private_upstreams
    {
        eprintln!(
            "note: {host} is a private or local address. This command allowed it because \
             SYNDIC_ALLOW_PRIVATE_UPSTREAMS is true in its settings; the server polls it only \
             if its own settings (environment, .env or EnvironmentFile) say so too."
        );
    }
    if ctx.json {
        return output::json(&done);
    }
    let mut text = format!(
        "subscribed #{} {} to {} ({})",
        s.id,
        s.channel,
        s.url,
        s.title.as_deref().unwrap_or("untitled")
    );
    if done.discovered.len() > 1 {
        text.push_str("\nthe page also advertises:");
        for d in &done.discovered[1..] {
            text.push_str(&format!(
                "\n  {} ({})",
                d.url,
                d.title.as_deref().unwrap_or("")
            ));
        }
    }
    text.push_str(&format!(
        "\nit is due now: `syndic serve` imports it, or `syndic poll --subscription {}` now",
        s.id
    ));
    output::text(text)
}

/// `subscription edit`: the API's PATCH.
async fn edit(ctx: &Ctx, args: EditArgs) -> Result<()> {
    let patch = crate::model::SubscriptionPatch {
        full_content: args.full_content,
    };
    if patch.is_empty() {
        return Err(
            CliError::Usage("give --full-content true or --full-content false".into()).into(),
        );
    }
    let s = ctx
        .store
        .update_subscription(args.id, &patch)
        .await?
        .ok_or_else(|| CliError::NotFound(format!("no subscription #{}", args.id)))?;
    if ctx.json {
        return output::json(&s);
    }
    output::text(format!(
        "subscription #{}: full content {}",
        s.id,
        if s.full_content { "on" } else { "off" }
    ))
}

/// The host of `url` when it is, or resolves only to, private or local addresses.
async fn private_host(url: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    let port = url.port_or_known_default()?;
    let host = url.host_str()?.to_owned();
    let ips: Vec<std::net::IpAddr> = match url.host()? {
        url::Host::Ipv4(ip) => vec![ip.into()],
        url::Host::Ipv6(ip) => vec![ip.into()],
        url::Host::Domain(d) => tokio::net::lookup_host((d, port))
            .await
            .ok()?
            .map(|a| a.ip())
            .collect(),
    };
    (!ips.is_empty() && !ips.iter().any(|ip| crate::poll::guard::is_public(*ip))).then_some(host)
}

pub async fn list(ctx: &Ctx) -> Result<()> {
    let subs = ctx.store.subscriptions().await?;
    if ctx.json {
        return output::json(&json!({ "subscriptions": subs }));
    }
    table(&subs).print()
}

fn table(subs: &[Subscription]) -> output::Table {
    let mut t = output::Table::new(&[
        "ID",
        "CHANNEL",
        "URL",
        "LAST FETCH",
        "NEXT FETCH",
        "STATUS",
        "ERRORS",
        "ITEMS",
        "FULL TEXT",
        "LAST ERROR",
    ]);
    for s in subs {
        let status = match (&s.last_status, s.enabled) {
            (_, false) => "disabled".to_owned(),
            (Some(st), true) => st.clone(),
            (None, true) => "new".to_owned(),
        };
        t.row(vec![
            s.id.to_string(),
            s.channel.to_string(),
            s.url.clone(),
            output::when(s.last_fetch_at),
            if s.enabled {
                output::when(Some(s.next_fetch_at))
            } else {
                "-".into()
            },
            status,
            s.error_count.to_string(),
            s.items_imported.to_string(),
            if s.full_content { "on" } else { "off" }.into(),
            s.last_error
                .clone()
                .or_else(|| s.disabled_reason.clone())
                .unwrap_or_default(),
        ]);
    }
    t
}

pub async fn remove(ctx: &Ctx, id: i64) -> Result<()> {
    if !ctx.store.delete_subscription(id).await? {
        return Err(CliError::NotFound(format!("no subscription #{id}")).into());
    }
    if ctx.json {
        output::json(&json!({ "removed": id }))
    } else {
        output::text(format!("unsubscribed #{id}"))
    }
}

/// One line per poll, as `poll --once` and `poll --subscription` print it: what was imported,
/// then what rules and full text did when they did anything, then the error if any.
fn report_line(r: &PollReport) -> String {
    let mut line = format!(
        "#{} {} {}: created {}, updated {}",
        r.subscription, r.url, r.status, r.created, r.updated
    );
    if r.rules_dropped > 0 || r.rules_changed > 0 {
        line += &format!(
            ", rules dropped {}, rules changed {}",
            r.rules_dropped, r.rules_changed
        );
    }
    if let Some(f) = &r.full_text {
        line += &format!(
            ", full text fetched {}, failed {}, pending {}",
            f.fetched,
            f.failed.len(),
            f.pending
        );
    }
    if let Some(e) = &r.error {
        line += &format!(" ({e})");
    }
    line
}

/// A poller whose polls are printed by the command, not logged as well.
fn quiet_poller(ctx: &Ctx) -> Result<std::sync::Arc<Poller>> {
    let poller = Poller::new(ctx.store.clone(), &ctx.config)?;
    poller.log_each_poll(false);
    Ok(poller)
}

/// Polls one subscription now, whatever its schedule; fails (after printing the report)
/// when the poll did.
pub async fn poll_one(ctx: &Ctx, id: i64) -> Result<()> {
    let sub = find(ctx, id).await?;
    let report = quiet_poller(ctx)?.poll(sub).await?;
    let sub = find(ctx, id).await?;
    if ctx.json {
        output::json(&json!({ "poll": report, "subscription": sub }))?;
    } else {
        let next = if sub.enabled {
            output::when(Some(sub.next_fetch_at))
        } else {
            "never (disabled)".into()
        };
        output::text(format!("{}\nnext fetch: {next}", report_line(&report)))?;
    }
    if report.error.is_some() {
        bail!("the poll of subscription #{id} failed (see above)");
    }
    Ok(())
}

pub async fn poll_due(ctx: &Ctx) -> Result<()> {
    let reports = quiet_poller(ctx)?.poll_due().await?;
    let failed = reports.iter().filter(|r| r.error.is_some()).count();
    if ctx.json {
        return output::json(&json!({
            "polls": reports,
            "polled": reports.len(),
            "failed": failed,
        }));
    }
    let mut lines: Vec<String> = reports.iter().map(report_line).collect();
    lines.push(format!("polled {}, failed {failed}", reports.len()));
    output::text(lines.join("\n"))
}

pub async fn poll_forever(ctx: &Ctx) -> Result<()> {
    let poller = Poller::new(ctx.store.clone(), &ctx.config)?;
    let (tx, rx) = tokio::sync::watch::channel(false);
    let signal = service::shutdown_signal()?;
    let task = tokio::spawn(poller.run(rx));
    signal.await;
    let _ = tx.send(true);
    let _ = task.await;
    Ok(())
}

pub async fn import_opml(ctx: &Ctx, file: &Path, channel: &str, every: Duration) -> Result<()> {
    let channel = find_channel(&ctx.store, channel).await?;
    let body = read_input(file)?;
    let own = crate::poll::own::OwnFeeds::new(&ctx.config);
    let r = subscribe::import_opml(&ctx.store, &own, &channel, &body, every)
        .await
        .map_err(|e| anyhow!("{}: {e}", file.display()))?;
    for url in &r.skipped_own {
        eprintln!(
            "skipped {url}: a feed of this syndic instance ({}); subscribing to it would loop \
             (use a tag feed, ?tag=TAG, to publish part of a channel)",
            ctx.config.base_url
        );
    }
    if ctx.json {
        return output::json(&r);
    }
    let mut text = format!(
        "subscribed {} to {} new feeds ({} already subscribed)",
        channel.slug, r.created, r.existing
    );
    if !r.skipped_own.is_empty() {
        text.push_str(&format!(
            "; skipped {} feeds of this instance",
            r.skipped_own.len()
        ));
    }
    output::text(text)
}

pub async fn export_opml(ctx: &Ctx) -> Result<()> {
    use std::io::Write;
    let mut opml = subscribe::export_opml(&ctx.store, &ctx.config.base_url).await?;
    // A text file ends with a newline (the shell's prompt, `cat`, diff tools expect one).
    if !opml.ends_with('\n') {
        opml.push('\n');
    }
    let mut out = std::io::stdout().lock();
    out.write_all(opml.as_bytes())?;
    out.flush()?;
    Ok(())
}
