//! The adk-sessions REST API as a library: an axum [`Router`](axum::Router) over any
//! [`adk_sessions::SessionService`] (adk-python's session endpoints, drop-in, and what they
//! lack) to serve on its own or to mount in an existing axum app. It pulls no SQL driver,
//! no CLI parser and no HTTP client: the `adk-sessions` binary (crate
//! `adk-sessions-cli`) and the benchmark (crate `adk-sessions-bench`) are separate.
//!
//! ```no_run
//! # async fn demo() {
//! let service = adk_sessions::open("memory://", &Default::default()).await.unwrap();
//! let app = adk_sessions_server::router(service, adk_sessions_server::ServerConfig::default());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
//! axum::serve(listener, app).await.unwrap();
//! # }
//! ```

pub mod api;
pub mod auth;
pub mod metrics;
pub mod openapi;

pub use api::{router, HostCheck, ServerConfig, DEFAULT_MAX_CREATE_EVENTS};
