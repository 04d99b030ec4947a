//! [`SessionKey`]: the three ids that name a session.

use std::fmt;

use crate::error::Result;
use crate::validate::check_key;

/// The key of a session: app name, user id and session id. Ids compare byte for byte on
/// every backend (no case folding, no padding, no Unicode normalization).
///
/// ```
/// use adk_sessions::SessionKey;
/// let key = SessionKey::new("weather_app", "alice", "s1");
/// assert_eq!(key.user_id(), "alice");
/// assert_eq!(key.to_string(), "weather_app/alice/s1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionKey {
    app_name: String,
    user_id: String,
    session_id: String,
}

impl SessionKey {
    /// A key from its three ids. Nothing is checked here; every service call refuses an
    /// empty id or one over 128 characters with [`crate::Error::InvalidArgument`]
    /// (see [`SessionKey::check`]).
    pub fn new(
        app_name: impl Into<String>,
        user_id: impl Into<String>,
        session_id: impl Into<String>,
    ) -> Self {
        SessionKey {
            app_name: app_name.into(),
            user_id: user_id.into(),
            session_id: session_id.into(),
        }
    }

    /// The app name.
    pub fn app_name(&self) -> &str {
        &self.app_name
    }

    /// The user id.
    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    /// The session id.
    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// Checks each id: not empty, at most 128 characters (the schema's column size).
    pub fn check(&self) -> Result<()> {
        check_key(&self.app_name, &self.user_id, &self.session_id)
    }
}

impl fmt::Display for SessionKey {
    /// `app/user/session`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.app_name, self.user_id, self.session_id)
    }
}
