//! The command line: `serve` and the operator subcommands.

use clap::{Parser, Subcommand};

/// adk-sessions: the session store for ADK agents.
#[derive(Debug, Parser)]
#[command(name = "adk-sessions", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the REST API (adk-python's session endpoints and more).
    Serve(crate::serve::ServeArgs),
    /// Inspect or delete sessions.
    #[command(subcommand)]
    Sessions(crate::ops::sessions::SessionsCommand),
    /// Export sessions with their events as JSON lines.
    Export(crate::ops::export::ExportArgs),
    /// Import sessions from `export`'s JSON lines (idempotent).
    Import(crate::ops::import::ImportArgs),
    /// Copy sessions between stores and layouts (idempotent, verified).
    Copy(crate::ops::copy::CopyArgs),
    /// Check or create the database schema.
    #[command(subcommand)]
    Schema(crate::ops::schema::SchemaCommand),
}

/// Parses the command line and runs it; the exit code says whether it worked.
pub fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => crate::serve::run(args).await,
            Command::Sessions(cmd) => crate::ops::sessions::run(cmd).await,
            Command::Export(args) => crate::ops::export::run(args).await,
            Command::Import(args) => crate::ops::import::run(args).await,
            Command::Schema(cmd) => crate::ops::schema::run(cmd).await,
            Command::Copy(args) => crate::ops::copy::run(args).await,
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
