//! The retention job: prunes every channel to its retention settings (at most N articles,
//! none older than D days) when the server starts and every ten minutes after.

use std::time::Duration;

use crate::store::{DynStore, StoreError};

const EVERY: Duration = Duration::from_secs(10 * 60);

/// Prunes every channel once; returns how many articles went.
pub async fn prune_all(store: &DynStore) -> Result<u64, StoreError> {
    let now = chrono::Utc::now();
    let mut total = 0;
    for channel in store.channels().await? {
        let n = crate::catalog::prune(store, &channel, now).await?;
        if n > 0 {
            tracing::info!(channel = %channel.slug, pruned = n, "retention");
        }
        total += n;
    }
    Ok(total)
}

/// Prunes on start and every ten minutes until `shutdown` says stop.
pub async fn run(store: DynStore, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    loop {
        if let Err(e) = prune_all(&store).await {
            tracing::error!(error = %e, "retention round failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(EVERY) => {}
            _ = shutdown.changed() => return,
        }
    }
}
