//! The adk-sessions server: a REST API over any [`adk_sessions::SessionService`]
//! (adk-python's session endpoints, drop-in, and what they lack), and the operator CLI.
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
pub mod bench;
pub mod cli;
pub mod metrics;
pub mod openapi;
pub mod ops;
pub mod serve;

pub use api::{router, ServerConfig, DEFAULT_MAX_CREATE_EVENTS};
