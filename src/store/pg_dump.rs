//! `syndic backup` on PostgreSQL: the database's own tool, `pg_dump`, writes the copy (its
//! custom format, restored with `pg_restore`). When `pg_dump` is not installed, the error says
//! to install it or run it by hand.

use std::path::Path;
use std::process::Stdio;

use sqlx::postgres::PgConnectOptions;

use super::{Result, StoreError};

/// Dumps the database of `options` to a new file at `path`. `password` is the database URL's
/// (sqlx keeps it but does not give it back).
pub async fn dump(options: &PgConnectOptions, password: Option<&str>, path: &Path) -> Result<()> {
    // The copy holds what the database holds: it is created for its owner only, and pg_dump
    // writes into it.
    match super::sqlite::private_file(path) {
        Ok(_) => {}
        Err(source) => {
            return Err(StoreError::Create {
                path: path.to_owned(),
                source,
            });
        }
    }
    // The connection goes through libpq's environment, so that no password is on a command
    // line that `ps` shows.
    let mut cmd = tokio::process::Command::new("pg_dump");
    cmd.arg("--format=custom")
        .arg("--no-password")
        .arg("--file")
        .arg(path)
        .env("PGUSER", options.get_username())
        .env("PGPORT", options.get_port().to_string())
        .env(
            "PGHOST",
            match options.get_socket() {
                Some(dir) => dir.to_string_lossy().into_owned(),
                None => options.get_host().to_owned(),
            },
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(db) = options.get_database() {
        cmd.env("PGDATABASE", db);
    }
    if let Some(password) = password {
        cmd.env("PGPASSWORD", password);
    }
    let output = match cmd.output().await {
        Ok(o) => o,
        Err(e) => {
            let _ = std::fs::remove_file(path);
            return Err(if e.kind() == std::io::ErrorKind::NotFound {
                StoreError::Tool(
                    "pg_dump is not installed: install PostgreSQL's client programs (Debian: \
                     postgresql-client) or back up with `pg_dump --format=custom` yourself"
                        .into(),
                )
            } else {
                StoreError::Tool(format!("cannot run pg_dump: {e}"))
            });
        }
    };
    if !output.status.success() {
        let _ = std::fs::remove_file(path);
        return Err(StoreError::Tool(format!(
            "pg_dump failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(())
}
