//! The `adk-sessions` command: `serve` (the REST API of [`adk_sessions_server`] on a
//! database URL) and the operator subcommands (`sessions`, `export`, `import`, `schema`),
//! all calling the [`adk_sessions`] library. The binary is a thin `main` over [`cli::main`].

pub mod cli;
pub mod listener;
pub mod ops;
pub mod serve;
pub mod tls;
