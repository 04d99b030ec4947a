//! The adk-sessions server: a REST API over any [`adk_sessions::SessionService`]
//! (adk-python's session endpoints, drop-in, and what they lack), and the operator CLI.

pub mod bench;
pub mod cli;
