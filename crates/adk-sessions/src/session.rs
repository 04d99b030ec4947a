//! The session handle every backend returns: id, app, user, a state view, an events view
//! and the last update time. Its mutable parts sit behind one read-write lock, so a handle
//! may be shared between tasks; reads take the read lock, appends the write lock.
//!
//! This module also owns the append invariant every backend shares ([`prepare_append`]
//! and [`Session::apply_append`]): partial events change nothing, `temp:` keys are
//! stripped from what is stored but stay visible on the live handle, the delta replaces
//! per key, the event is appended in order, and the update time moves to the event's.

use std::sync::Arc;

use parking_lot::RwLock;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::key::SessionKey;

#[cfg(test)]
mod nul_tests {
    use super::holds_nul;
    use serde_json::json;

    #[test]
    fn nul_in_strings_and_keys_is_found_and_lookalikes_are_not() {
        assert!(holds_nul(&json!({"k": "a\u{0}b"})));
        assert!(holds_nul(&json!({"a\u{0}": 1})));
        assert!(holds_nul(&json!([1, {"deep": ["x", "\u{0}"]}])));
        assert!(!holds_nul(&json!({"k": "C:\\u0000"})));
        assert!(!holds_nul(&json!({"k": "\u{1}", "n": 1.5, "m": -3})));
    }
}
use crate::model::{Event, EventPolicy, JsonMap};
use crate::service::CreateOptions;
use crate::state::{apply_delta, take_temp, ScopedDelta};
use crate::time::Timestamp;

/// A loaded session. Changing it (other than through
/// [`crate::SessionService::append_event`]) never changes what is stored.
#[derive(Debug)]
pub struct Session {
    key: SessionKey,
    inner: RwLock<Inner>,
}

#[derive(Debug)]
struct Inner {
    state: JsonMap,
    events: Vec<Arc<Event>>,
    last_update: Timestamp,
}

impl Session {
    /// A handle over loaded parts. `state` is the merged view (prefixes included),
    /// `events` oldest first, `last_update` the stored revision. For backends.
    pub fn from_parts(
        app_name: impl Into<String>,
        user_id: impl Into<String>,
        id: impl Into<String>,
        state: JsonMap,
        events: Vec<Arc<Event>>,
        last_update: Timestamp,
    ) -> Self {
        Session {
            key: SessionKey::new(app_name, user_id, id),
            inner: RwLock::new(Inner {
                state,
                events,
                last_update,
            }),
        }
    }

    /// The key: app, user and session id.
    pub fn key(&self) -> &SessionKey {
        &self.key
    }

    /// The session id.
    pub fn id(&self) -> &str {
        self.key.session_id()
    }

    /// The app the session belongs to.
    pub fn app_name(&self) -> &str {
        self.key.app_name()
    }

    /// The user the session belongs to.
    pub fn user_id(&self) -> &str {
        self.key.user_id()
    }

    /// Time of the last update, float epoch seconds (µs precision).
    pub fn last_update_time(&self) -> f64 {
        self.inner.read().last_update.as_secs_f64()
    }

    /// The stored revision this handle was loaded at (or last appended), in µs.
    pub fn revision(&self) -> Timestamp {
        self.inner.read().last_update
    }

    /// The state view (merged app, user, session and live `temp:` keys).
    pub fn state(&self) -> StateView<'_> {
        StateView(self)
    }

    /// The events view, oldest first.
    pub fn events(&self) -> EventsView<'_> {
        EventsView(self)
    }

    /// Records a persisted append on the handle: applies the stored delta and the live
    /// `temp:` values, appends the event and moves the revision. Backends call this after
    /// their transaction committed.
    pub fn apply_append(&self, prepared: &PreparedAppend) {
        let mut inner = self.inner.write();
        apply_delta(&mut inner.state, &prepared.event.actions.state_delta);
        apply_delta(&mut inner.state, &prepared.temp);
        inner.events.push(prepared.event.clone());
        inner.last_update = prepared.update_time;
    }

    fn snapshot_state(&self) -> JsonMap {
        self.inner.read().state.clone()
    }
}

impl Clone for Session {
    /// A new, independent handle with the same contents and revision.
    fn clone(&self) -> Self {
        let inner = self.inner.read();
        Session::from_parts(
            self.key.app_name(),
            self.key.user_id(),
            self.key.session_id(),
            inner.state.clone(),
            inner.events.clone(),
            inner.last_update,
        )
    }
}

/// The state of a session handle.
pub struct StateView<'a>(&'a Session);

impl StateView<'_> {
    /// The value of `key` (with its scope prefix, e.g. `user:lang`), if set.
    pub fn get(&self, key: &str) -> Option<Value> {
        self.0.inner.read().state.get(key).cloned()
    }

    /// Sets `key` on this handle only. To persist a change, append an event whose state
    /// delta carries it.
    pub fn set(&self, key: impl Into<String>, value: Value) {
        self.0.inner.write().state.insert(key.into(), value);
    }

    /// True when `key` is set.
    pub fn contains_key(&self, key: &str) -> bool {
        self.0.inner.read().state.contains_key(key)
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.0.inner.read().state.len()
    }

    /// True when no key is set.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A copy of the whole state, taken under the read lock.
    pub fn snapshot(&self) -> JsonMap {
        self.0.snapshot_state()
    }

    /// Iterates over a snapshot: the lock is released before the first item, so the loop
    /// body may use the handle freely.
    pub fn iter(&self) -> impl Iterator<Item = (String, Value)> {
        self.snapshot().into_iter()
    }
}

/// The events of a session handle, oldest first.
pub struct EventsView<'a>(&'a Session);

impl EventsView<'_> {
    /// Number of events.
    pub fn len(&self) -> usize {
        self.0.inner.read().events.len()
    }

    /// True when there is no event.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The event at `index`, or `None` out of range.
    pub fn get(&self, index: usize) -> Option<Arc<Event>> {
        self.0.inner.read().events.get(index).cloned()
    }

    /// The newest event.
    pub fn last(&self) -> Option<Arc<Event>> {
        self.0.inner.read().events.last().cloned()
    }

    /// A copy of the event list (the events themselves are shared, not copied).
    pub fn to_vec(&self) -> Vec<Arc<Event>> {
        self.0.inner.read().events.clone()
    }

    /// Iterates over a snapshot of the events, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = Arc<Event>> {
        self.to_vec().into_iter()
    }
}

/// An append, checked and split, ready for a backend to persist in one transaction.
#[derive(Debug, Clone)]
pub struct PreparedAppend {
    /// The event as stored: `temp:` keys removed from its state delta.
    pub event: Arc<Event>,
    /// The stored delta split by scope (prefixes stripped).
    pub delta: ScopedDelta,
    /// The `temp:` entries, for the live handle only.
    pub temp: JsonMap,
    /// The revision the handle was loaded at: the append must fail with
    /// [`Error::Stale`] unless the stored session is still at it. `None` (from
    /// [`prepare_append_to_current`]): no precondition, append to whatever is stored.
    pub expected_revision: Option<Timestamp>,
    /// The new stored update time: the event's timestamp, or one µs past the expected
    /// revision when the event is not later (so the revision only moves forward). Without
    /// a precondition the backend stores the later of this and one µs past the stored
    /// revision, inside its transaction (see [`PreparedAppend::revision_after`]).
    pub update_time: Timestamp,
    /// The event's timestamp in µs (as its column stores it).
    pub event_time: Timestamp,
}

/// A create, checked and split, ready for a backend to persist.
#[derive(Debug, Clone)]
pub struct PreparedCreate {
    /// The caller's id, or a fresh UUID v4.
    pub session_id: String,
    /// The initial state split by scope (`temp:` keys dropped, prefixes stripped).
    pub delta: ScopedDelta,
    /// The create time.
    pub now: Timestamp,
    /// The initial events, checked (`temp:` keys removed), each with its timestamp in µs
    /// (as its column stores it), ordered by timestamp then id as every `get` returns them.
    pub events: Vec<(Timestamp, Arc<Event>)>,
    /// The first revision: `now`, or the latest initial event's time when that is later.
    pub revision: Timestamp,
}

/// Checks the arguments of a `create` and prepares it: every backend generates ids,
/// validates keys and scopes the initial state the same way.
pub fn prepare_create(
    app_name: &str,
    user_id: &str,
    options: &CreateOptions,
    policy: EventPolicy,
) -> Result<PreparedCreate> {
    let state = options.state_map()?;
    let session_id = match &options.session_id {
        Some(id) => id.clone(),
        None => uuid::Uuid::new_v4().to_string(),
    };
    crate::validate::check_key(app_name, user_id, &session_id)?;
    if let Some(state) = &state {
        check_no_nul(state, "the initial state")?;
    }
    let now = Timestamp::now();
    let mut revision = now;
    let mut events = Vec::with_capacity(options.events.len());
    let mut ids = std::collections::HashSet::with_capacity(options.events.len());
    for (i, event) in options.events.iter().enumerate() {
        let mut event = event.clone();
        if event.is_partial() {
            // As with an append: a partial event is not stored, and not an error.
            continue;
        }
        event.validate(policy)?;
        take_temp(&mut event.actions.state_delta);
        let at = Timestamp::from_secs_f64(event.timestamp)
            .ok_or_else(|| Error::invalid(format!("initial event {i}: timestamp is not finite")))?;
        if !ids.insert(event.id.clone()) {
            return Err(Error::invalid(format!(
                "initial event {i}: event id {:?} appears twice",
                event.id
            )));
        }
        revision = revision.max(at);
        check_no_nul(&event, &format!("initial event {i}"))?;
        events.push((at, Arc::new(event)));
    }
    events.sort_by(|(a, x), (b, y)| (a, x.id.as_str()).cmp(&(b, y.id.as_str())));
    let (now, revision) = match options.last_update_time {
        None => (now, revision),
        Some(given) => {
            let secs = given.as_secs_f64();
            if !(0.0..crate::time::MAX_EVENT_SECS).contains(&secs) {
                return Err(Error::invalid(format!(
                    "last_update_time {secs} is not between the epoch and 2100-01-01"
                )));
            }
            (now.min(given), given)
        }
    };
    Ok(PreparedCreate {
        session_id,
        delta: ScopedDelta::split(&state.unwrap_or_default()),
        now,
        events,
        revision,
    })
}

/// What [`prepare_append`] decided.
#[derive(Debug)]
pub enum Prepared {
    /// A partial event: return it to the caller; store and apply nothing.
    Partial(Arc<Event>),
    /// An append to persist.
    Append(Box<PreparedAppend>),
}

impl PreparedAppend {
    /// The revision to store when the stored one is `stored`: [`PreparedAppend::update_time`]
    /// with a precondition, or the later of it and one µs past `stored` without one (so the
    /// revision only moves forward).
    pub fn revision_after(&self, stored: Timestamp) -> Timestamp {
        match self.expected_revision {
            Some(_) => self.update_time,
            None => self.update_time.max(stored.succ()),
        }
    }
}

/// Checks `event` and prepares its append to the session `key` names, without a handle
/// and without a precondition (see [`crate::SessionService::append_to_current`]).
pub fn prepare_append_to_current(
    key: &SessionKey,
    event: Event,
    policy: EventPolicy,
) -> Result<Prepared> {
    key.check()?;
    prepare(event, policy, None)
}

/// Checks `event` and prepares its append to `session`.
pub fn prepare_append(session: &Session, event: Event, policy: EventPolicy) -> Result<Prepared> {
    prepare(event, policy, Some(session.revision()))
}

fn prepare(mut event: Event, policy: EventPolicy, expected: Option<Timestamp>) -> Result<Prepared> {
    if event.is_partial() {
        return Ok(Prepared::Partial(Arc::new(event)));
    }
    event.validate(policy)?;
    // `Some(null)` is written as `null` and read back as `None`: store what is read back.
    for v in [
        &mut event.usage_metadata,
        &mut event.grounding_metadata,
        &mut event.citation_metadata,
        &mut event.output,
    ] {
        if matches!(v, Some(Value::Null)) {
            *v = None;
        }
    }
    let temp = take_temp(&mut event.actions.state_delta);
    let delta = ScopedDelta::split(&event.actions.state_delta);
    let event_time = Timestamp::from_secs_f64(event.timestamp)
        .ok_or_else(|| Error::invalid("event.timestamp is not finite"))?;
    let update_time = match expected {
        Some(expected) => event_time.max(expected.succ()),
        None => event_time,
    };
    check_no_nul(&event, "the event")?;
    Ok(Prepared::Append(Box::new(PreparedAppend {
        event: Arc::new(event),
        delta,
        temp,
        expected_revision: expected,
        update_time,
        event_time,
    })))
}

/// Refuses a value any of whose strings or keys holds U+0000: PostgreSQL cannot store NUL
/// in text or JSONB, so no backend stores it (one behaviour everywhere, a clear
/// `InvalidArgument` instead of a storage error).
fn check_no_nul<T: serde::Serialize + ?Sized>(value: &T, what: &str) -> Result<()> {
    if holds_nul(value) {
        return Err(Error::invalid(format!(
            "{what} holds the character U+0000 (NUL), which a session store cannot keep (PostgreSQL refuses it in text)"
        )));
    }
    Ok(())
}

/// True when a string or key of `value` holds U+0000. It walks the value with
/// serde_json's serializer writing nowhere: the formatter only notes the `\u0000` escape
/// and skips number formatting, so the check costs a fraction of a serialization.
fn holds_nul<T: serde::Serialize + ?Sized>(value: &T) -> bool {
    use std::cell::Cell;
    use std::io::{self, Write};

    use serde_json::ser::{CharEscape, Formatter};

    struct Finder<'a>(&'a Cell<bool>);
    impl Formatter for Finder<'_> {
        fn write_char_escape<W: ?Sized + Write>(
            &mut self,
            _: &mut W,
            escape: CharEscape,
        ) -> io::Result<()> {
            if matches!(escape, CharEscape::AsciiControl(0)) {
                self.0.set(true);
            }
            Ok(())
        }
        fn write_f64<W: ?Sized + Write>(&mut self, _: &mut W, _: f64) -> io::Result<()> {
            Ok(())
        }
        fn write_f32<W: ?Sized + Write>(&mut self, _: &mut W, _: f32) -> io::Result<()> {
            Ok(())
        }
    }
    let found = Cell::new(false);
    let mut ser = serde_json::Serializer::with_formatter(io::sink(), Finder(&found));
    let _ = value.serialize(&mut ser);
    found.get()
}

/// The error for a handle whose revision is not the stored one.
pub fn stale(session: &Session, stored: Timestamp) -> Error {
    Error::Stale {
        session_id: session.id().to_owned(),
        handle_revision: session.revision(),
        stored_revision: stored,
    }
}
