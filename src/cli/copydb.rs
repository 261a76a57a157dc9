//! `syndic copy-db --from URL --to URL`: copies a whole database into an empty one, SQLite
//! or PostgreSQL either way, and prints what it copied and verified (see `crate::copydb`).

use anyhow::{Context, Result};
use serde_json::json;

use super::{CliError, output};
use crate::store::{self, StoreError};

pub async fn run(from: &str, to: &str, pool: u32, json_out: bool) -> Result<()> {
    if from == to {
        return Err(CliError::Usage("--from and --to name the same database".into()).into());
    }
    let source = match store::open_existing(from, pool).await {
        Ok(s) => s,
        Err(StoreError::Missing(path)) => {
            return Err(CliError::NotFound(format!(
                "there is no database at {} (--from)",
                path.display()
            ))
            .into());
        }
        Err(e) => {
            return Err(anyhow::Error::new(e)
                .context(format!("cannot open --from {}", store::display_url(from))));
        }
    };
    // The target is created when missing, as `syndic migrate` would create it.
    let target = store::open_pooled(to, pool)
        .await
        .with_context(|| format!("cannot open --to {}", store::display_url(to)));
    let target = match target {
        Ok(t) => t,
        Err(e) => {
            source.close().await;
            return Err(e);
        }
    };
    let started = std::time::Instant::now();
    let copied = crate::copydb::copy(&source, &target, crate::copydb::BATCH, |_| {}).await;
    source.close().await;
    target.close().await;
    let report = copied.with_context(|| {
        format!(
            "cannot copy {} to {}",
            store::display_url(from),
            store::display_url(to)
        )
    })?;
    let seconds = started.elapsed().as_secs_f64();
    if json_out {
        return output::json(&json!({
            "from": store::display_url(from),
            "to": store::display_url(to),
            "tables": report.tables,
            "not_copied": report.not_copied,
            "seconds": (seconds * 1000.0).round() / 1000.0,
        }));
    }
    let mut table = output::Table::new(&["TABLE", "COPIED", "VERIFIED"]);
    for t in &report.tables {
        table.row(vec![
            t.table.clone(),
            t.copied.to_string(),
            t.verified.to_string(),
        ]);
    }
    table.print()?;
    let rows: u64 = report.tables.iter().map(|t| t.copied).sum();
    output::text(format!(
        "copied and verified {rows} rows of {} tables from {} to {} in {seconds:.1} s",
        report.tables.len(),
        store::display_url(from),
        store::display_url(to)
    ))
}
