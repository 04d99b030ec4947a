//! The `SessionService` contract every backend keeps, and the small value types of its
//! calls. The trait is object safe: `Arc<dyn SessionService>` is how servers and tools
//! hold a backend.

use std::sync::Arc;

use async_trait::async_trait;

use crate::error::{Error, Result};
use crate::model::{Event, JsonMap};
use crate::session::Session;
use crate::time::Micros;

/// Which events `get` returns. The default returns all of them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GetFilter {
    /// Only the newest N events (0 = none).
    pub num_recent_events: Option<usize>,
    /// Only events with `timestamp >= after` (float epoch seconds, inclusive).
    pub after: Option<f64>,
}

impl GetFilter {
    /// Every event.
    pub fn all() -> Self {
        GetFilter::default()
    }

    /// The newest `n` events.
    pub fn recent(n: usize) -> Self {
        GetFilter {
            num_recent_events: Some(n),
            after: None,
        }
    }

    /// `after` as microseconds; refuses a non-finite time.
    pub fn after_micros(&self) -> Result<Option<Micros>> {
        match self.after {
            None => Ok(None),
            Some(t) => Micros::from_secs_f64(t)
                .map(Some)
                .ok_or_else(|| Error::invalid(format!("filter.after {t} is not a finite time"))),
        }
    }
}

/// One page of a `list` call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageRequest {
    /// Sessions per page; `None` returns every session in one page.
    pub page_size: Option<usize>,
    /// The `next_page_token` of the previous page.
    pub page_token: Option<String>,
}

/// Sessions of one page, and the token of the next page (`None` on the last one).
#[derive(Debug, Default)]
pub struct SessionPage {
    /// Sessions with their merged state and no events, oldest update first.
    pub sessions: Vec<Session>,
    /// Pass back in [`PageRequest::page_token`] to continue.
    pub next_page_token: Option<String>,
}

/// Where sessions live. Every backend keeps the same contract (docs/contract.md in the
/// repository), checked by the conformance suite in [`crate::testsuite`] (feature
/// `testsuite`).
#[async_trait]
pub trait SessionService: Send + Sync {
    /// Creates a session. A UUID v4 id is generated when `session_id` is `None`;
    /// `temp:` keys of `state` are dropped, `app:`/`user:` keys go to their scope.
    /// [`Error::AlreadyExists`] when the key is taken.
    async fn create(
        &self,
        app_name: &str,
        user_id: &str,
        session_id: Option<&str>,
        state: Option<JsonMap>,
    ) -> Result<Session>;

    /// Loads a session with the events `filter` selects, oldest first (ties by id).
    /// [`Error::NotFound`] when it does not exist for this app and user.
    async fn get(
        &self,
        app_name: &str,
        user_id: &str,
        session_id: &str,
        filter: GetFilter,
    ) -> Result<Session>;

    /// Lists the sessions of an app (of one user, or of all users when `user_id` is
    /// `None`): merged state, no events, oldest update first, paginated.
    async fn list(
        &self,
        app_name: &str,
        user_id: Option<&str>,
        page: &PageRequest,
    ) -> Result<SessionPage>;

    /// Deletes a session and its events. Deleting a missing session is not an error.
    async fn delete(&self, app_name: &str, user_id: &str, session_id: &str) -> Result<()>;

    /// Appends `event` to the session of `session` and applies it to the handle, in one
    /// transaction: event row, session state, app/user state, update time. Returns the
    /// event as stored (`temp:` keys removed). A partial event is returned unchanged and
    /// nothing happens. [`Error::NotFound`] when the session is gone, [`Error::Stale`]
    /// when it changed since `session` was loaded.
    async fn append_event(&self, session: &Session, event: Event) -> Result<Arc<Event>>;

    /// The user-scoped state (keys without prefix); empty when nothing is stored.
    async fn get_user_state(&self, app_name: &str, user_id: &str) -> Result<JsonMap>;

    /// The app-scoped state (keys without prefix); empty when nothing is stored.
    async fn get_app_state(&self, app_name: &str) -> Result<JsonMap>;

    /// Checks that the storage answers (for readiness probes).
    async fn ping(&self) -> Result<()> {
        Ok(())
    }

    /// A short name of the backend (`memory`, `sqlite`, `postgres`, `mysql`).
    fn backend_name(&self) -> &'static str;
}
