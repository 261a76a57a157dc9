//! Where the W3C Feed Validation Service's code and its wrapper live (`validate-feed` in the
//! project notes' `tools/`, next to the clone), and whether they can run on this machine.
//! Shared by the validator tests (`tests/api/validator.rs`) and the republishing evaluation
//! (`examples/republish_eval`), which include this file with `#[path]`.
//!
//! The notes directory is `SYNDIC_SHARED_DIR` when set, else the parent of `SYNDIC_SEEDS_DIR`
//! when that is set (the seeds live in the notes' `seeds/`), else `../shared` beside the clone.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The project notes' directory, which holds `tools/validate-feed` and `seeds/`.
pub fn shared_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SYNDIC_SHARED_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    if let Some(seeds) = std::env::var_os("SYNDIC_SEEDS_DIR").filter(|d| !d.is_empty())
        && let Some(parent) = Path::new(&seeds).parent()
    {
        return parent.to_path_buf();
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared")
}

/// The wrapper: `validate-feed FILE_OR_URL...` prints `TARGET: line L, column C: message` for
/// every error and warning and exits 1 if there is any.
pub fn validate_feed() -> PathBuf {
    shared_dir().join("tools/validate-feed")
}

/// The directory that holds the validator's Python package (`feedvalidator/`).
pub fn tools_dir() -> PathBuf {
    shared_dir().join("tools")
}

/// The Python venv the wrapper makes on first use (its own rule, repeated here).
pub fn venv_python() -> PathBuf {
    let venv = std::env::var_os("SYNDIC_VALIDATOR_VENV")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let cache = std::env::var_os("XDG_CACHE_HOME")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .unwrap_or_else(|| {
                    PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache")
                });
            cache.join("syndic-feedvalidator-venv")
        });
    venv.join("bin/python")
}

/// Why the validator cannot run here.
#[derive(Debug)]
pub struct Unavailable(pub String);

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unavailable {}

/// What to install where the validator cannot run.
pub const INSTALL: &str = "apt-get install python3 python3-venv; the wrapper then fetches \
                           lxml, html5lib and rdflib from PyPI into its venv";

/// Makes sure the wrapper can run: called without arguments it makes its venv if needed,
/// then exits 2 with its usage line. Anything else (no python3, no venv module, no PyPI)
/// is the reason it cannot.
pub fn ensure_validator() -> Result<(), Unavailable> {
    let tool = validate_feed();
    if !tool.is_file() {
        return Err(Unavailable(format!("{} is missing", tool.display())));
    }
    let out = Command::new(&tool)
        .output()
        .map_err(|e| Unavailable(format!("{} cannot run: {e}", tool.display())))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(2) && stderr.contains("usage: validate-feed") {
        Ok(())
    } else {
        Err(Unavailable(format!(
            "{} cannot make its Python venv ({}): {}",
            tool.display(),
            out.status,
            stderr.trim()
        )))
    }
}
