//! `syndic hub`: who subscribes to this instance's feeds through its WebSub hub, and removing
//! a subscriber (the API's `/api/v1/hub/subscriptions`).

use anyhow::Result;
use clap::Subcommand;
use serde_json::json;

use super::{CliError, Ctx, output};

#[derive(Subcommand, Debug)]
pub enum HubCommand {
    /// List the hub's subscribers: id, topic, callback, lease end, delivery state.
    List,
    /// Remove a subscriber: its callback gets no more deliveries (it may subscribe again).
    Remove {
        /// The subscription's id, as `syndic hub list` shows it.
        id: i64,
    },
}

pub async fn run(ctx: &Ctx, command: HubCommand) -> Result<()> {
    match command {
        HubCommand::List => {
            let subs = ctx.store.hub_subscriptions().await?;
            if ctx.json {
                return output::json(&json!({ "hub_subscriptions": subs }));
            }
            let mut t = output::Table::new(&[
                "ID",
                "TOPIC",
                "CALLBACK",
                "EXPIRES",
                "DELIVERED",
                "ATTEMPTS",
                "LAST ERROR",
            ]);
            for s in &subs {
                t.row(vec![
                    s.id.to_string(),
                    s.topic.clone(),
                    s.callback.clone(),
                    output::when(Some(s.expires_at)),
                    s.delivered_version.to_string(),
                    s.attempts.to_string(),
                    s.last_error.clone().unwrap_or_else(|| "-".into()),
                ]);
            }
            t.print()
        }
        HubCommand::Remove { id } => {
            let subs = ctx.store.hub_subscriptions().await?;
            if !subs.iter().any(|s| s.id == id) {
                return Err(CliError::NotFound(format!("no hub subscription #{id}")).into());
            }
            ctx.store.hub_remove(id).await?;
            if ctx.json {
                output::json(&json!({ "removed": id }))
            } else {
                output::text(format!("removed hub subscription #{id}"))
            }
        }
    }
}
