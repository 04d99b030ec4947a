//! The SQL backends, on adk-python's `DatabaseSessionService` schema (version 1), and
//! [`open`], which picks a backend from a URL.

pub mod common;
pub mod event_cache;
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub mod server;
#[cfg(feature = "sqlite")]
pub mod sqlite;
mod url;

pub use common::{OpenOptions, SqliteSync};
pub use url::{redact, redact_in, DbUrl};

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::memory::InMemorySessionService;
use crate::service::SessionService;

/// Opens the backend a URL names (see [`DbUrl`]). A backend whose cargo feature is off
/// is `InvalidArgument` naming the feature.
pub async fn open(url: &str, options: &OpenOptions) -> Result<Arc<dyn SessionService>> {
    let parsed = DbUrl::parse(url)?;
    match parsed {
        DbUrl::Memory => Ok(Arc::new(InMemorySessionService::with_policy(
            options.policy,
        ))),
        #[cfg(feature = "sqlite")]
        DbUrl::Sqlite { path } => Ok(Arc::new(
            sqlite::SqliteSessionService::open(path.as_deref(), options).await?,
        )),
        #[cfg(feature = "postgres")]
        DbUrl::Postgres { url } => Ok(Arc::new(
            server::postgres::PostgresSessionService::open(&url, options).await?,
        )),
        #[cfg(feature = "mysql")]
        DbUrl::Mysql { url } => Ok(Arc::new(
            server::mysql::MysqlSessionService::open(&url, options).await?,
        )),
        #[allow(unreachable_patterns)] // every backend feature on
        other => Err(Error::invalid(format!(
            "the {} backend is not built into this binary (cargo feature {:?})",
            other.backend(),
            other.backend()
        ))),
    }
}
