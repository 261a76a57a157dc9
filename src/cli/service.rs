//! Running the service and looking after its database: `serve`, `migrate`, `backup`, `prune`.

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde_json::json;

use super::{CliError, Ctx, output};

pub async fn migrate(ctx: &Ctx) -> Result<()> {
    let url = &crate::store::display_url(&ctx.config.database_url);
    if ctx.json {
        output::json(&json!({ "database": url, "up_to_date": true }))
    } else {
        output::text(format!("database {url} is up to date"))
    }
}

pub async fn backup(ctx: &Ctx, file: &Path, allow_empty: bool) -> Result<()> {
    if file.exists() {
        bail!("{} exists already; choose a new file", file.display());
    }
    if !allow_empty && ctx.store.channels().await?.is_empty() {
        return Err(CliError::Usage(format!(
            "the database {} has no channel: is DATABASE_URL the one `syndic serve` uses? \
             (--allow-empty backs it up anyway)",
            crate::store::display_url(&ctx.config.database_url)
        ))
        .into());
    }
    ctx.store
        .backup(file)
        .await
        .with_context(|| format!("cannot write the backup to {}", file.display()))?;
    let url = &crate::store::display_url(&ctx.config.database_url);
    if ctx.json {
        output::json(&json!({ "database": url, "backup": file }))
    } else {
        output::text(format!("backed up {url} to {}", file.display()))
    }
}

pub async fn prune(ctx: &Ctx) -> Result<()> {
    let n = crate::retention::prune_all(&ctx.store).await?;
    if ctx.json {
        output::json(&json!({ "pruned": n }))
    } else {
        output::text(format!("pruned {n} articles"))
    }
}

pub async fn serve(ctx: Ctx) -> Result<()> {
    let Ctx { store, config, .. } = ctx;
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("cannot listen on {}", config.bind))?;
    let shutdown = shutdown_signal()?;
    let server = crate::server::Server::start(store, config, listener).await?;
    let addr = server.addr;
    tracing::info!(%addr, base_url = %server.base_url, "listening on http://{addr}");
    server.run_until(shutdown).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Registers for SIGTERM and SIGINT at once and resolves on the first of them. Registering
/// before the server says it listens matters: a SIGTERM sent right after would otherwise meet
/// the default action and kill the process without the graceful stop.
#[cfg(unix)]
pub fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
        tracing::info!("shutting down");
    })
}

#[cfg(not(unix))]
pub fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    })
}
