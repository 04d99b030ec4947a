//! The one error type of the library. Every backend reports the same variants, so a
//! caller can match on what went wrong without knowing where the session lives.

/// What can go wrong in a [`crate::SessionService`] call.
#[derive(Debug, thiserror::Error)]
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
    #[error("stale session {session_id:?}: stored revision {stored_update_time} is not the handle's {handle_update_time}; reload the session and retry")]
    Stale {
        /// Id of the session.
        session_id: String,
        /// The revision (update time, epoch seconds) the handle was loaded at.
        handle_update_time: f64,
        /// The revision now stored.
        stored_update_time: f64,
    },
    /// The caller passed something the contract does not allow; nothing was changed.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The storage layer failed (driver error, I/O, bad file). Passwords are redacted.
    #[error("storage error: {0}")]
    Storage(String),
}

impl Error {
    /// Shorthand for [`Error::InvalidArgument`].
    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::InvalidArgument(msg.into())
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
}

const DUPLICATE_EVENT: &str = "duplicate event id ";

impl Error {
    /// The error for an event whose id is already stored in the session (the schema's
    /// primary key): an [`Error::InvalidArgument`], recognizable with
    /// [`Error::is_duplicate_event`] (the REST layer answers 409 for it).
    pub fn duplicate_event(session_id: &str, event_id: &str) -> Self {
        Error::InvalidArgument(format!(
            "{DUPLICATE_EVENT}{event_id:?}: an event with this id is already stored in session {session_id:?}"
        ))
    }

    /// True for the error of [`Error::duplicate_event`].
    pub fn is_duplicate_event(&self) -> bool {
        matches!(self, Error::InvalidArgument(m) if m.starts_with(DUPLICATE_EVENT))
    }
}

/// Result alias of the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;
