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
//! use adk_sessions::{Content, Event, GetFilter, InMemorySessionService, SessionService};
//! use serde_json::json;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> adk_sessions::Result<()> {
//! let service = InMemorySessionService::new();
//! let session = service
//!     .create("my_app", "alice", None, Some(json!({"user:lang": "en"}).as_object().unwrap().clone()))
//!     .await?;
//!
//! let event = Event::new("inv-1", "user")
//!     .with_content(Content::text("user", "hello"))
//!     .with_state("turns", json!(1))
//!     .with_state("temp:scratch", json!("only for this invocation"));
//! service.append_event(&session, event).await?;
//!
//! // The live handle sees every key; a reload sees what was stored.
//! assert_eq!(session.state().get("temp:scratch").unwrap(), json!("only for this invocation"));
//! let reloaded = service.get("my_app", "alice", session.id(), GetFilter::all()).await?;
//! assert_eq!(reloaded.state().get("turns").unwrap(), json!(1));
//! assert_eq!(reloaded.state().get("user:lang").unwrap(), json!("en"));
//! assert!(reloaded.state().get("temp:scratch").is_err());
//! assert_eq!(reloaded.events().len(), 1);
//! # Ok(())
//! # }
//! ```

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
pub use service::{CreateOptions, GetFilter, PageRequest, SessionPage, SessionService};
pub use session::{EventsView, Session, StateView};
pub use sql::{open, redact_url, redact_url_in, DbUrl, OpenOptions, SqliteSync};
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteSessionService;
pub use state::{APP_PREFIX, TEMP_PREFIX, USER_PREFIX};
pub use time::Timestamp;
