//! OPML 2.0 (placeholder; being written).
