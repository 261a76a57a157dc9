//! Stopping an ingest whose request is gone. Parsing and preparing run on a blocking thread
//! (`spawn_blocking`), which nothing can abort: when the request times out or its client
//! disconnects, hyper drops the request's future, and with it a [`CancelOnDrop`] guard that
//! raises a flag. The blocking work looks at the flag between its stages and before each
//! item, and stops there, so a cancelled ingest costs at most the item in hand (whose work is
//! linear in its size: see `nesting`), and writes nothing: the write comes after the blocking
//! work, in the future that was dropped.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A flag the blocking work reads; raised when the request's future is dropped unfinished.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

/// The work was stopped because nobody waits for its result any more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the ingest was stopped: its request timed out or its client went away")]
pub struct Cancelled;

impl Cancel {
    /// A flag that is never raised (the CLI, tests).
    pub fn never() -> Cancel {
        Cancel::default()
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// `Err(Cancelled)` once the flag is raised.
    pub fn check(&self) -> Result<(), Cancelled> {
        if self.is_cancelled() {
            Err(Cancelled)
        } else {
            Ok(())
        }
    }

    /// A guard that raises the flag when dropped, unless [`CancelOnDrop::disarm`]ed first.
    pub fn on_drop(&self) -> CancelOnDrop {
        CancelOnDrop(Some(self.clone()))
    }
}

/// Raises its [`Cancel`] flag when dropped before [`CancelOnDrop::disarm`]: held by the
/// future that waits for the blocking work.
#[derive(Debug)]
pub struct CancelOnDrop(Option<Cancel>);

impl CancelOnDrop {
    /// The result arrived: dropping the guard now cancels nothing.
    pub fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(c) = self.0.take() {
            c.0.store(true, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_guard_raises_the_flag_and_a_disarmed_one_does_not() {
        let c = Cancel::never();
        c.on_drop().disarm();
        assert_eq!(c.check(), Ok(()));
        drop(c.on_drop());
        assert_eq!(c.check(), Err(Cancelled));
    }
}
