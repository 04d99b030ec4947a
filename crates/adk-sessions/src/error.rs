//! The one error type of the library. Every backend reports the same variants, so a
//! caller can match on what went wrong without knowing where the session lives.

use crate::time::Timestamp;

/// The source of a [`Error::Storage`]: the driver's own error, for logs and
/// `std::error::Error::source` chains. It never carries a password: errors whose text could
/// hold the connection URL are kept as text only.
pub type StorageSource = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What can go wrong in a [`crate::SessionService`] call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The session does not exist (or belongs to another app or user).
    #[error("session not found: app {app_name:?}, user {user_id:?}, session {session_id:?}")]
    NotFound {
        /// App of the missing session.
        app_name: String,
        /// User of the missing session.
        user_id: String,
        /// Id of the missing session.
        session_id: String,
    },
    /// A session with this key already exists.
    #[error("session already exists: app {app_name:?}, user {user_id:?}, session {session_id:?}")]
    AlreadyExists {
        /// App of the existing session.
        app_name: String,
        /// User of the existing session.
        user_id: String,
        /// Id of the existing session.
        session_id: String,
    },
    /// The stored session changed since this handle was loaded; reload it and retry.
    #[error("stale session {session_id:?}: stored revision {stored_revision} is not the handle's {handle_revision}; reload the session and retry")]
    Stale {
        /// Id of the session.
        session_id: String,
        /// The revision (last update time) the handle was loaded at.
        handle_revision: Timestamp,
        /// The revision now stored.
        stored_revision: Timestamp,
    },
    /// An event with this id is already stored in the session; nothing was changed.
    #[error("duplicate event id {event_id:?}: an event with this id is already stored in session {session_id:?}")]
    DuplicateEvent {
        /// Id of the session.
        session_id: String,
        /// The event id already stored.
        event_id: String,
    },
    /// The caller passed something the contract does not allow; nothing was changed.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The storage layer failed (driver error, I/O, bad file). Passwords are redacted
    /// from the message, and the source is only kept where it cannot hold one.
    #[error("storage error: {message}")]
    Storage {
        /// What failed, for people (no password, but possibly a path or host).
        message: String,
        /// The driver's error, when it is safe to keep.
        #[source]
        source: Option<StorageSource>,
    },
}

impl Error {
    /// Shorthand for [`Error::InvalidArgument`].
    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::InvalidArgument(msg.into())
    }

    /// A [`Error::Storage`] without a source.
    pub fn storage(msg: impl Into<String>) -> Self {
        Error::Storage {
            message: msg.into(),
            source: None,
        }
    }

    /// A [`Error::Storage`] keeping `source` (which must not hold a password).
    pub fn storage_with_source(
        msg: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Error::Storage {
            message: msg.into(),
            source: Some(Box::new(source)),
        }
    }

    /// Shorthand for [`Error::NotFound`].
    pub fn not_found(app_name: &str, user_id: &str, session_id: &str) -> Self {
        Error::NotFound {
            app_name: app_name.to_owned(),
            user_id: user_id.to_owned(),
            session_id: session_id.to_owned(),
        }
    }

    /// Shorthand for [`Error::AlreadyExists`].
    pub fn already_exists(app_name: &str, user_id: &str, session_id: &str) -> Self {
        Error::AlreadyExists {
            app_name: app_name.to_owned(),
            user_id: user_id.to_owned(),
            session_id: session_id.to_owned(),
        }
    }

    /// Shorthand for [`Error::DuplicateEvent`].
    pub fn duplicate_event(session_id: &str, event_id: &str) -> Self {
        Error::DuplicateEvent {
            session_id: session_id.to_owned(),
            event_id: event_id.to_owned(),
        }
    }
}

/// Result alias of the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;
