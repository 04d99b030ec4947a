//! The SQL backends, on adk-python's `DatabaseSessionService` schema (version 1), and
//! [`open`], which picks a backend from a URL.

#[cfg_attr(
    not(any(feature = "sqlite", feature = "postgres", feature = "mysql")),
    allow(dead_code)
)]
pub(crate) mod adk_go;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
mod catalog;
#[cfg_attr(
    not(any(feature = "sqlite", feature = "postgres", feature = "mysql")),
    allow(dead_code)
)]
pub(crate) mod common;
#[cfg(feature = "sqlite")]
pub(crate) mod event_cache;
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(crate) mod server;
mod url;
pub(crate) mod url_options;

#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
pub use catalog::{check_schema, repair_schema, Finding, SchemaReport, Severity};
pub use common::{OpenOptions, SqliteLatency, SqliteSync, StorageLayout};
pub use url::{redact as redact_url, redact_in as redact_url_in, DbUrl};

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::memory::InMemorySessionService;
use crate::service::SessionService;

/// Opens the backend a URL names (see [`DbUrl`]), with `options` and any option written
/// in the URL's query (`?pool_size=4&sync=normal`; the keys and what they set are listed
/// in the README and `OpenOptions`' docs; a key in the URL wins). A backend whose cargo
/// feature is off is `InvalidArgument` naming the feature.
pub async fn open(url: &str, options: &OpenOptions) -> Result<Arc<dyn SessionService>> {
    let server = matches!(
        DbUrl::parse(url)?,
        DbUrl::Postgres { .. } | DbUrl::Mysql { .. }
    );
    let (url, options) = url_options::take(url, options, server)?;
    let options = &options;
    let parsed = DbUrl::parse(&url)?;
    match parsed {
        DbUrl::Memory if options.layout.is_some() => Err(Error::invalid(
            "schema (the table layout) applies to SQL databases, not to memory://",
        )),
        DbUrl::Memory => Ok(Arc::new(InMemorySessionService::with_policy(
            options.policy,
        ))),
        #[cfg(feature = "sqlite")]
        DbUrl::Sqlite { path } => Ok(Arc::new(
            crate::sqlite::SqliteSessionService::open_with(path.as_deref(), options).await?,
        )),
        #[cfg(feature = "postgres")]
        DbUrl::Postgres { url } => Ok(Arc::new(
            crate::postgres::PostgresSessionService::open_normalized(&url, options).await?,
        )),
        #[cfg(feature = "mysql")]
        DbUrl::Mysql { url } => Ok(Arc::new(
            crate::mysql::MysqlSessionService::open_normalized(&url, options).await?,
        )),
        #[allow(unreachable_patterns)] // every backend feature on
        other => Err(Error::invalid(format!(
            "the {} backend is not built into this binary (cargo feature {:?})",
            other.backend(),
            other.backend()
        ))),
    }
}
