//! The retention job: prunes every channel to its retention settings (at most N articles,
//! none older than D days) when the server starts and every ten minutes after, on one
//! instance at a time when several share a database.
//!
//! The instance that runs it holds the job's lease (a row of the `jobs` table, through
//! [`Store::take_job`](crate::store::Store::take_job)) for a round and the wait after it, and
//! takes it again for its next round; the others find it held and skip their rounds. When
//! that instance stops or dies, its lease ends and the next instance to try takes over. A
//! lease row rather than `pg_try_advisory_lock`: it works the same on SQLite, needs no
//! connection held for the life of the process (a lock on a connection that a restarted
//! PostgreSQL dropped is silently gone, and its holder would not know), and an operator can
//! see who runs the job.

use std::time::Duration;

use chrono::Utc;

use crate::store::{DynStore, Lease, StoreError};

const EVERY: Duration = Duration::from_secs(10 * 60);
/// The job's lease covers a round and the wait after it, with this to spare.
const SPARE: Duration = Duration::from_secs(60);
/// The job's name in the `jobs` table.
const JOB: &str = "retention";

/// Prunes every channel once; returns how many articles went.
pub async fn prune_all(store: &DynStore) -> Result<u64, StoreError> {
    prune_channels(store, None).await
}

/// Prunes every channel, renewing `owner`'s lease of the job between channels (stopping if
/// it was lost: another instance runs the job now).
async fn prune_channels(store: &DynStore, owner: Option<&str>) -> Result<u64, StoreError> {
    let now = Utc::now();
    let mut total = 0;
    for channel in store.channels().await? {
        if let Some(owner) = owner
            && !take(store, owner).await?
        {
            tracing::warn!("retention lease lost to another instance; it prunes from here");
            break;
        }
        let n = crate::catalog::prune(store, &channel, now).await?;
        if n > 0 {
            tracing::info!(channel = %channel.slug, pruned = n, "retention");
        }
        total += n;
    }
    let titles = store
        .forget_story_titles(now - chrono::Duration::days(crate::story::TITLES_KEPT_DAYS))
        .await?;
    if titles > 0 {
        tracing::info!(titles, "story titles past their use forgotten");
    }
    Ok(total)
}

/// Takes (or renews) the job's lease for a round and the wait after it.
async fn take(store: &DynStore, owner: &str) -> Result<bool, StoreError> {
    let now = Utc::now();
    let until = now + chrono::Duration::from_std(EVERY + SPARE).expect("small duration");
    store.take_job(JOB, now, &Lease { owner, until }).await
}

/// Prunes on start and every ten minutes until `shutdown` says stop, whenever no other
/// instance holds the job.
pub async fn run(store: DynStore, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let owner = crate::store::instance_name();
    loop {
        match take(&store, &owner).await {
            Ok(true) => {
                if let Err(e) = prune_channels(&store, Some(&owner)).await {
                    tracing::error!(error = %e, "retention round failed");
                }
            }
            Ok(false) => tracing::debug!("retention runs on another instance"),
            Err(e) => tracing::error!(error = %e, "retention round failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(EVERY) => {}
            _ = shutdown.changed() => return,
        }
    }
}
