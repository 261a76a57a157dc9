//! Feed autodiscovery in HTML pages (placeholder; being written).
