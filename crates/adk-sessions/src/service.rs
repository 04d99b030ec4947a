//! The `SessionService` contract every backend keeps, and the small value types of its
//! calls. The trait is object safe: `Arc<dyn SessionService>` is how servers and tools
//! hold a backend.

use std::sync::Arc;

use async_trait::async_trait;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::key::SessionKey;
use crate::model::{Event, JsonMap};
use crate::session::Session;
use crate::time::Timestamp;

/// What a new session starts with: its id (a UUID v4 when unset) and its initial state.
///
/// ```
/// use adk_sessions::CreateOptions;
/// use serde_json::json;
/// let options = CreateOptions::new()
///     .session_id("s1")
///     .state(json!({"user:lang": "en", "topic": "rust"}));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct CreateOptions {
    /// The session id; `None` generates a UUID v4.
    pub session_id: Option<String>,
    /// The initial state: a JSON object (anything else is refused with
    /// [`Error::InvalidArgument`]). `temp:` keys are dropped; `app:`/`user:` keys go to
    /// their scope.
    pub state: Option<Value>,
    /// Events the session starts with (history being restored), stored in the same
    /// transaction as the session: all of them or, when any is refused, nothing. They are
    /// stored as they are (`temp:` keys removed from their deltas); their state deltas are
    /// not applied again (the initial state is [`CreateOptions::state`]). Partial events
    /// are skipped, as an append skips them; two events with one id are refused.
    pub events: Vec<Event>,
    /// The session's revision (`last_update_time`) when it is restored from another store;
    /// `None`: the create time, or the newest initial event's time when that is later.
    /// Must lie in the accepted time range (as event timestamps).
    pub last_update_time: Option<Timestamp>,
}

impl CreateOptions {
    /// No id (a UUID v4 is generated) and an empty state.
    pub fn new() -> Self {
        CreateOptions::default()
    }

    /// Sets the session id.
    pub fn session_id(mut self, id: impl Into<String>) -> Self {
        self.session_id = Some(id.into());
        self
    }

    /// Sets the initial state (a JSON object, e.g. `json!({"k": 1})` or a `JsonMap`).
    pub fn state(mut self, state: impl Into<Value>) -> Self {
        self.state = Some(state.into());
        self
    }

    /// Sets the events the session starts with (see [`CreateOptions::events`]).
    pub fn events(mut self, events: impl IntoIterator<Item = Event>) -> Self {
        self.events = events.into_iter().collect();
        self
    }

    /// Sets the revision a restored session starts at (see
    /// [`CreateOptions::last_update_time`]).
    pub fn last_update_time(mut self, revision: Timestamp) -> Self {
        self.last_update_time = Some(revision);
        self
    }

    /// The state as a map: `None` when unset or `null`, `InvalidArgument` when it is not
    /// an object.
    pub(crate) fn state_map(&self) -> Result<Option<JsonMap>> {
        match &self.state {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m.clone())),
            Some(other) => Err(Error::invalid(format!(
                "the initial state must be a JSON object, not {}",
                crate::state::json_type_name(other)
            ))),
        }
    }
}

/// What [`SessionService::append_to_current`] stored.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Appended {
    /// The event as stored (`temp:` keys removed), or the partial event unchanged.
    pub event: Arc<Event>,
    /// The session's revision after the append (its `last_update_time`).
    pub revision: Timestamp,
}

impl Appended {
    /// A result (for backends).
    pub fn new(event: Arc<Event>, revision: Timestamp) -> Self {
        Appended { event, revision }
    }
}

/// Which events `get` returns. The default returns all of them.
///
/// ```
/// use adk_sessions::{GetFilter, Timestamp};
/// let newest_ten = GetFilter::recent(10);
/// let since = GetFilter::all().after(Timestamp::from_micros(1_700_000_000_000_000));
/// let both = GetFilter::recent(3).after(Timestamp::now());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GetFilter {
    /// Only the newest N events (0 = none).
    pub num_recent_events: Option<usize>,
    /// Only events with `timestamp >= after` (inclusive).
    pub after: Option<Timestamp>,
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

    /// Only events at or after `t` (with [`GetFilter::recent`]: the newest N of those).
    pub fn after(mut self, t: Timestamp) -> Self {
        self.after = Some(t);
        self
    }
}

/// One page of a `list` call.
///
/// ```
/// use adk_sessions::PageRequest;
/// let first = PageRequest::with_size(50);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PageRequest {
    /// Sessions per page; `None` returns every session in one page.
    pub page_size: Option<usize>,
    /// The `next_page_token` of the previous page.
    pub page_token: Option<String>,
}

impl PageRequest {
    /// Every session in one page.
    pub fn all() -> Self {
        PageRequest::default()
    }

    /// Pages of `size` sessions, starting at the first.
    pub fn with_size(size: usize) -> Self {
        PageRequest {
            page_size: Some(size),
            page_token: None,
        }
    }

    /// Continues after the page whose `next_page_token` this is.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.page_token = Some(token.into());
        self
    }
}

/// Sessions of one page, and the token of the next page (`None` on the last one).
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct SessionPage {
    /// Sessions with their merged state and no events, oldest update first.
    pub sessions: Vec<Session>,
    /// Pass back in [`PageRequest::page_token`] to continue.
    pub next_page_token: Option<String>,
}

impl SessionPage {
    /// A page (for backends).
    pub fn new(sessions: Vec<Session>, next_page_token: Option<String>) -> Self {
        SessionPage {
            sessions,
            next_page_token,
        }
    }
}

/// Where sessions live. Every backend keeps the same contract (docs/contract.md in the
/// repository), checked by the conformance suite in `adk_sessions::testsuite` (feature
/// `testsuite`).
#[async_trait]
pub trait SessionService: Send + Sync {
    /// Creates a session of `user_id` in `app_name` as `options` say. A UUID v4 id is
    /// generated when no id is given; `temp:` keys of the state are dropped, `app:`/
    /// `user:` keys go to their scope. [`Error::AlreadyExists`] when the key is taken.
    async fn create(
        &self,
        app_name: &str,
        user_id: &str,
        options: CreateOptions,
    ) -> Result<Session>;

    /// Loads a session with the events `filter` selects, oldest first (ties by id).
    /// [`Error::NotFound`] when it does not exist for this app and user.
    async fn get(&self, key: &SessionKey, filter: GetFilter) -> Result<Session>;

    /// Lists the sessions of an app (of one user, or of all users when `user_id` is
    /// `None`): merged state, no events, oldest update first, paginated.
    async fn list(
        &self,
        app_name: &str,
        user_id: Option<&str>,
        page: &PageRequest,
    ) -> Result<SessionPage>;

    /// Deletes a session and its events. Deleting a missing session is not an error.
    async fn delete(&self, key: &SessionKey) -> Result<()>;

    /// Appends `event` to the session of `session` and applies it to the handle, in one
    /// transaction: event row, session state, app/user state, update time. Returns the
    /// event as stored (`temp:` keys removed). A partial event is returned unchanged and
    /// nothing happens. [`Error::NotFound`] when the session is gone, [`Error::Stale`]
    /// when it changed since `session` was loaded.
    async fn append_event(&self, session: &Session, event: Event) -> Result<Arc<Event>>;

    /// Appends `event` to the session `key` names, whatever its current revision ("append
    /// to whatever is current"): the append a client without a handle makes. It never
    /// fails because of other writers, however many: backends run it as one transaction
    /// that reads the stored revision and moves it forward (to the event's timestamp, or
    /// one µs past the stored revision when that is later). Returns the event as stored
    /// and the session's new revision. A partial event is returned unchanged and nothing
    /// happens; [`Error::NotFound`] when the session does not exist.
    ///
    /// The default implementation loads the session and appends through
    /// [`SessionService::append_event`], reloading after each [`Error::Stale`] until it
    /// wins; every backend of this crate overrides it with the one-transaction form.
    async fn append_to_current(&self, key: &SessionKey, event: Event) -> Result<Appended> {
        loop {
            let session = self.get(key, GetFilter::recent(0)).await?;
            match self.append_event(&session, event.clone()).await {
                Ok(event) => {
                    return Ok(Appended {
                        event,
                        revision: session.revision(),
                    })
                }
                Err(Error::Stale { .. }) => {
                    tokio::task::yield_now().await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The user-scoped state (keys without prefix); empty when nothing is stored.
    async fn get_user_state(&self, app_name: &str, user_id: &str) -> Result<JsonMap>;

    /// The app-scoped state (keys without prefix); empty when nothing is stored.
    async fn get_app_state(&self, app_name: &str) -> Result<JsonMap>;

    /// Before a process stops: makes what is stored complete on its own and releases what
    /// the backend holds. SQLite merges its write-ahead log into the database file (so a
    /// copy of the `.db` file alone is complete); PostgreSQL and MySQL close their
    /// connection pools. Calls after it may fail. The default does nothing.
    async fn close(&self) -> Result<()> {
        Ok(())
    }

    /// Checks that the storage answers (for readiness probes).
    async fn ping(&self) -> Result<()> {
        Ok(())
    }

    /// A short name of the backend (`memory`, `sqlite`, `postgres`, `mysql`).
    fn backend_name(&self) -> &'static str;

    /// Every app that has at least one session, sorted (for tools that walk a whole
    /// store, such as a copy to another store). The default, for a backend that cannot
    /// enumerate its apps, is [`Error::InvalidArgument`] saying so.
    async fn list_apps(&self) -> Result<Vec<String>> {
        Err(Error::invalid(format!(
            "the {} backend cannot list its apps; name them",
            self.backend_name()
        )))
    }

    /// The table layout of a SQL backend's database (adk-python's or adk-go's); `None`
    /// for a store without tables (the default).
    fn storage_layout(&self) -> Option<crate::StorageLayout> {
        None
    }
}
