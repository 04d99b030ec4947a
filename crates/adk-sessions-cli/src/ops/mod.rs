//! The operator subcommands: `sessions list|show|delete`, `export`, `import` and
//! `schema check|init`. They call the library directly (no HTTP).

pub mod export;
pub mod import;
pub mod schema;
pub mod sessions;

use std::sync::Arc;

use adk_sessions::{EventPolicy, OpenOptions, SessionService};

/// The database flag every operator command takes.
#[derive(Debug, Clone, clap::Args)]
pub struct DbArg {
    /// Database URL (as for `serve`).
    #[arg(
        long,
        env = "ADK_SESSIONS_DB",
        default_value = "sqlite://adk-sessions.db"
    )]
    pub db: String,
}

/// Opens the database, with the password redacted from any error.
pub async fn open(db: &str, policy: EventPolicy) -> Result<Arc<dyn SessionService>, String> {
    let options = OpenOptions::default().policy(policy);
    adk_sessions::open(db, &options)
        .await
        .map_err(|e| format!("cannot open {}: {e}", adk_sessions::redact_url(db)))
}
