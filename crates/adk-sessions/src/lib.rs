//! # adk-sessions
//!
//! The session layer of an agent development kit in the style of Google's ADK: where an
//! agent runtime keeps each conversation (a [`Session`]), its ordered [`Event`]s and its
//! state, scoped to the app (`app:`), the user (`user:`), the session, or the current
//! invocation (`temp:`).
//!
//! Every backend implements [`SessionService`] and keeps one contract (docs/contract.md
//! in the repository), including its concurrency promises: a stale handle is refused,
//! concurrent `app:` / `user:` writes are never lost, and concurrent creates of one key
//! have one winner.
//!
//! ```
//! use adk_sessions::{Content, CreateOptions, Event, GetFilter, InMemorySessionService, SessionService};
//! use serde_json::json;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> adk_sessions::Result<()> {
//! let service = InMemorySessionService::new();
//! let session = service
//!     .create("my_app", "alice", CreateOptions::new().state(json!({"user:lang": "en"})))
//!     .await?;
//!
//! let event = Event::new("inv-1", "user")
//!     .with_content(Content::text("user", "hello"))
//!     .with_state("turns", json!(1))
//!     .with_state("temp:scratch", json!("only for this invocation"));
//! service.append_event(&session, event).await?;
//!
//! // The live handle sees every key; a reload sees what was stored.
//! assert_eq!(session.state().get("temp:scratch"), Some(json!("only for this invocation")));
//! let reloaded = service.get(session.key(), GetFilter::all()).await?;
//! assert_eq!(reloaded.state().get("turns"), Some(json!(1)));
//! assert_eq!(reloaded.state().get("user:lang"), Some(json!("en")));
//! assert_eq!(reloaded.state().get("temp:scratch"), None);
//! assert_eq!(reloaded.events().len(), 1);
//! # Ok(())
//! # }
//! ```
//!
//! ## Backends
//!
//! | module | service | cargo feature | open |
//! |---|---|---|---|
//! | [`memory`] | [`InMemorySessionService`] | always | `InMemorySessionService::new()`, `open("memory://")` |
//! | `sqlite` | `SqliteSessionService` | `sqlite` (default) | `open("sqlite://sessions.db")` |
//! | `postgres` | `PostgresSessionService` | `postgres` | `open("postgres://user@host/db")` |
//! | `mysql` | `MysqlSessionService` | `mysql` | `open("mysql://user@host/db")` |
//!
//! [`open`] picks the backend from a URL and returns an `Arc<dyn SessionService>`; each
//! service type also has its own `open`. The SQL backends share adk-python's database
//! schema, so a Python ADK agent can use the same database at the same time.
//!
//! ## Writing a backend
//!
//! [`backend`] holds what every backend here is built from (the append invariant, id
//! checks, list cursors), and the conformance suite (feature `testsuite`,
//! `adk_sessions::conformance_tests!`) checks a new backend against the whole contract in one line.

#![warn(missing_docs)]

mod error;
mod key;
mod page;
mod service;
mod session;
mod sql;
mod state;
mod time;
mod validate;

pub mod backend;
pub mod memory;
pub mod model;
#[cfg(feature = "mysql")]
pub mod mysql;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "sqlite")]
pub mod sqlite;

#[cfg(feature = "testsuite")]
pub mod testsuite;

/// What the fuzz targets in `fuzz/` call beyond the public API: built only with
/// `--cfg fuzzing` (fuzz/run.sh, cargo fuzz), never part of the crate's API.
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing;

/// The README's Rust examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
mod readme_doctests {}

pub use error::{Error, Result, StorageSource};
pub use key::SessionKey;
pub use memory::InMemorySessionService;
pub use model::{
    Base64Bytes, Blob, Content, Event, EventActions, EventPolicy, FunctionCall, FunctionResponse,
    JsonMap, NodeInfo, Part,
};
#[cfg(feature = "mysql")]
pub use mysql::MysqlSessionService;
#[cfg(feature = "postgres")]
pub use postgres::PostgresSessionService;
pub use service::{Appended, CreateOptions, GetFilter, PageRequest, SessionPage, SessionService};
pub use session::{EventsView, Session, StateView};
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
pub use sql::{check_schema, repair_schema, Finding, SchemaReport, Severity};
pub use sql::{
    open, redact_url, redact_url_in, DbUrl, OpenOptions, SqliteLatency, SqliteSync, StorageLayout,
};
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteSessionService;
pub use state::{APP_PREFIX, TEMP_PREFIX, USER_PREFIX};
pub use time::Timestamp;
