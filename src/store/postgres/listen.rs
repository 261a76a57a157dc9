//! Hearing other instances' channel changes: a `LISTEN` on [`CHANGES_CHANNEL`], which every
//! write transaction that changes a channel notifies (delivered by PostgreSQL at its commit).
//! The listener has a connection of its own, not one of the request pool's; when the server
//! goes away it reconnects (sqlx's `PgListener` re-issues the `LISTEN`), and since
//! notifications sent meanwhile are lost, a reconnection counts as a change.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};

use super::super::CHANGES_CHANNEL;

/// How long to wait before connecting again after the server refused or went away.
const RETRY: Duration = Duration::from_secs(1);

/// Listens until the future is dropped.
pub(super) async fn run(
    options: &PgConnectOptions,
    commits: &AtomicU64,
    changes: &tokio::sync::watch::Sender<u64>,
    heard: &(dyn Fn(u64) + Send + Sync),
) {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(5))
        .connect_lazy_with(options.clone());
    let bump = || {
        commits.fetch_add(1, Ordering::Release);
        super::super::changed(changes);
    };
    let mut first = true;
    loop {
        let session = async {
            let mut listener = PgListener::connect_with(&pool).await?;
            listener.listen(CHANGES_CHANNEL).await?;
            if !first {
                // Changes made while nobody listened were not heard: re-read everything.
                bump();
            }
            first = false;
            tracing::debug!("listening for channel changes");
            loop {
                match listener.try_recv().await? {
                    Some(_) => {
                        let mut n = 1;
                        while listener.next_buffered().is_some() {
                            n += 1;
                        }
                        bump();
                        heard(n);
                    }
                    // The connection was lost and made again: some may have been missed.
                    None => bump(),
                }
            }
            #[allow(unreachable_code)]
            Ok::<(), sqlx::Error>(())
        };
        if let Err(e) = session.await {
            tracing::warn!(error = %e, "cannot listen for channel changes; retrying");
            first = false;
        }
        tokio::time::sleep(RETRY).await;
    }
}
