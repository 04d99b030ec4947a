//! `adk-sessions schema check|init`. The library has no separate schema API yet:
//! `open` creates adk-python's schema (version 1) on a fresh database and refuses a
//! database at another version, so `init` is `open` and `check` is `open` + `ping`.

use adk_sessions::EventPolicy;

use super::{open, DbArg};

/// `schema` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum SchemaCommand {
    /// Checks that the database opens at schema version 1 and answers.
    Check(DbArg),
    /// Creates the schema on a fresh database (a no-op on an existing one).
    Init(DbArg),
}

/// Runs a `schema` subcommand.
pub async fn run(cmd: SchemaCommand) -> Result<(), String> {
    match cmd {
        SchemaCommand::Check(db) => {
            let service = open(&db, EventPolicy::default()).await?;
            service
                .ping()
                .await
                .map_err(|e| format!("database does not answer: {e}"))?;
            println!(
                "ok: {} ({}) opens and answers",
                adk_sessions::redact_url(&db.db),
                super::describe(service.as_ref())
            );
            Ok(())
        }
        SchemaCommand::Init(db) => {
            let service = open(&db, EventPolicy::default()).await?;
            // SQLite: merge the WAL, so the new file alone holds the schema.
            service
                .close()
                .await
                .map_err(|e| format!("closing the database: {e}"))?;
            println!(
                "ok: schema ready in {} ({})",
                adk_sessions::redact_url(&db.db),
                super::describe(service.as_ref())
            );
            Ok(())
        }
    }
}
