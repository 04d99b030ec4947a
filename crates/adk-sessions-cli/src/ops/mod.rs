//! The operator subcommands: `sessions list|show|delete`, `export`, `import` and
//! `schema check|init`. They call the library directly (no HTTP).

pub mod copy;
pub mod export;
pub mod import;
pub mod schema;
pub mod sessions;

use std::sync::Arc;

use adk_sessions::{EventPolicy, OpenOptions, SessionService, StorageLayout};

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
    /// Table layout for a fresh SQL database: adk-python (the default) or adk-go. An
    /// existing database is used in the layout it holds; naming the other one is an error.
    #[arg(long, env = "ADK_SESSIONS_SCHEMA", value_parser = parse_layout)]
    pub schema: Option<StorageLayout>,
}

/// Parses `--schema`.
pub fn parse_layout(text: &str) -> Result<StorageLayout, String> {
    StorageLayout::parse(text).ok_or_else(|| format!("{text:?} is not adk-python or adk-go"))
}

/// Opens the database, with the password redacted from any error.
pub async fn open(db: &DbArg, policy: EventPolicy) -> Result<Arc<dyn SessionService>, String> {
    let mut options = OpenOptions::default().policy(policy);
    options.layout = db.schema;
    adk_sessions::open(&db.db, &options)
        .await
        .map_err(|e| format!("cannot open {}: {e}", adk_sessions::redact_url(&db.db)))
}

/// How a service names its store in messages: the backend and, for SQL, the layout.
pub fn describe(service: &dyn SessionService) -> String {
    match service.storage_layout() {
        Some(layout) => format!("{}, {layout} layout", service.backend_name()),
        None => service.backend_name().to_owned(),
    }
}
