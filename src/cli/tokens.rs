//! `syndic token`: create, list and revoke API tokens (the CLI alone manages them).

use anyhow::Result;
use clap::Subcommand;
use serde_json::json;

use super::{CliError, Ctx, output};
use crate::token;

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Create an API token and print it (only it) on standard output. It is stored hashed:
    /// this is the only time it is shown.
    Create {
        /// A label to recognise the token by.
        #[arg(long, default_value = "")]
        name: String,
    },
    /// List tokens: id, name, created, revoked (never the tokens themselves).
    List,
    /// Revoke a token: requests bearing it are refused from now on.
    Revoke {
        /// The token's id, as `syndic token list` shows it.
        id: i64,
    },
}

pub async fn run(ctx: &Ctx, command: TokenCommand) -> Result<()> {
    match command {
        TokenCommand::Create { name } => {
            let (token, hash) = token::generate();
            let id = ctx.store.create_token(&name, &hash).await?;
            if ctx.json {
                output::json(&json!({ "id": id, "name": name, "token": token }))
            } else {
                output::text(token)
            }
        }
        TokenCommand::List => {
            let tokens = ctx.store.tokens().await?;
            if ctx.json {
                return output::json(&json!({ "tokens": tokens }));
            }
            // One line per token, tab-separated (scripts written for earlier versions read it).
            let lines: Vec<String> = tokens
                .iter()
                .map(|t| {
                    let revoked = t
                        .revoked_at
                        .map(|r| format!("revoked {}", r.format("%Y-%m-%d %H:%M:%S")))
                        .unwrap_or_else(|| "active".into());
                    format!(
                        "{}\t{}\tcreated {}\t{revoked}",
                        t.id,
                        if t.name.is_empty() { "-" } else { &t.name },
                        t.created_at.format("%Y-%m-%d %H:%M:%S")
                    )
                })
                .collect();
            if lines.is_empty() {
                return Ok(());
            }
            output::text(lines.join("\n"))
        }
        TokenCommand::Revoke { id } => {
            if !ctx.store.revoke_token(id).await? {
                return Err(CliError::NotFound(format!("no active token #{id}")).into());
            }
            if ctx.json {
                output::json(&json!({ "revoked": id }))
            } else {
                output::text(format!("revoked token #{id}"))
            }
        }
    }
}
