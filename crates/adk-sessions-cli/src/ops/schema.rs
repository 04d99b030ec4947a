//! `adk-sessions schema check|init|repair`. `init` opens the database, which creates the
//! tables of the chosen layout on a fresh one. `check` opens it (refusing what the
//! library refuses), pings it, and reports what another writer changed in adk-python's
//! tables (`adk_sessions::check_schema`: a lost cascade, lost indexes, changed column
//! types), exiting non-zero on a problem. `repair` runs the safe repairs
//! (`adk_sessions::repair_schema`) and reports what is left.

use adk_sessions::EventPolicy;

use super::{open, DbArg};

/// `schema` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum SchemaCommand {
    /// Checks that the database opens at schema version 1 and answers.
    Check(DbArg),
    /// Creates the schema on a fresh database (a no-op on an existing one).
    Init(DbArg),
    /// Restores what adk-python's schema needs where that is safe (the events cascade,
    /// the events index, time precision on MySQL, jsonb on PostgreSQL, our list indexes).
    Repair(DbArg),
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
            service
                .close()
                .await
                .map_err(|e| format!("closing the database: {e}"))?;
            drift(&db.db, false).await
        }
        SchemaCommand::Repair(db) => drift(&db.db, true).await,
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

/// Prints the drift report of `db` (after repairing, when `repair`); a problem left is an
/// error.
async fn drift(db: &str, repair: bool) -> Result<(), String> {
    let shown = adk_sessions::redact_url(db);
    let report = if repair {
        adk_sessions::repair_schema(db).await
    } else {
        adk_sessions::check_schema(db).await
    };
    let report = match report {
        Ok(r) => r,
        // In-memory stores have no catalog to compare.
        Err(adk_sessions::Error::InvalidArgument(why)) if !repair => {
            println!("note: {why}");
            return Ok(());
        }
        Err(e) => return Err(format!("checking the schema of {shown}: {e}")),
    };
    print!("{report}");
    if report.is_healthy() {
        Ok(())
    } else if repair {
        Err("problems remain (see above)".into())
    } else {
        Err(
            "the schema has problems; `adk-sessions schema repair` fixes those with a repair line"
                .into(),
        )
    }
}
