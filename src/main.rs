//! The `syndic` binary: load `.env`, parse the command line, set up logging, run, and turn
//! an error into a message on stderr and a non-zero exit (1, or 3 for "not found"; clap
//! exits 2 on a usage error).

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    // A missing .env is normal (settings may come from the environment alone); a broken one
    // is not.
    let env_file = match dotenvy::dotenv() {
        Ok(path) => Some(path),
        Err(e) if e.not_found() => None,
        Err(e) => {
            eprintln!("error: cannot read .env: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut cli = syndic::cli::Cli::parse();
    cli.env_file = env_file;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("syndic=info,tower_http=info"));
    // Human-readable by default; SYNDIC_LOG_FORMAT=json for log collectors.
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match std::env::var("SYNDIC_LOG_FORMAT").as_deref() {
        Ok("json") => logs.json().init(),
        Ok("text") | Ok("") | Err(_) => logs.with_ansi(std::io::stderr().is_terminal()).init(),
        Ok(other) => {
            eprintln!("error: SYNDIC_LOG_FORMAT {other:?} must be text or json");
            return ExitCode::FAILURE;
        }
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(syndic::cli::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of our output went away (`syndic … | head`): nothing is wrong with the
        // command, and nobody is left to read a message.
        Err(e) if broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(syndic::cli::exit_code(&e))
        }
    }
}

/// Whether the error is a write to a closed pipe.
fn broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
