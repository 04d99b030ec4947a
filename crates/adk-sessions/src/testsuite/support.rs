//! Small helpers shared by the conformance functions.

use serde_json::{json, Value};

use crate::model::{Event, JsonMap};
use crate::time::Timestamp;
use crate::{Error, Result};

pub(crate) use crate::{CreateOptions, SessionKey};

/// A fresh app name, so that tests sharing one service never see each other.
pub(crate) fn fresh_app(tag: &str) -> String {
    format!("conf-{tag}-{}", uuid::Uuid::new_v4().simple())
}

/// A JSON object literal as a state map.
pub(crate) fn map(v: Value) -> JsonMap {
    match v {
        Value::Object(m) => m,
        other => panic!("test bug: {other} is not an object"),
    }
}

/// An event with the given invocation id, author `agent`, and the given state delta.
pub(crate) fn event_with(inv: &str, delta: Value) -> Event {
    let mut e = Event::new(inv, "agent");
    e.actions.state_delta = map(delta);
    e
}

/// An event at an exact time (float seconds).
pub(crate) fn event_at(inv: &str, secs: f64) -> Event {
    let mut e = Event::new(inv, "agent");
    e.timestamp = secs;
    e
}

/// A base time in whole seconds, a little in the past, so test timestamps are distinct
/// and later than any creation time is not assumed.
pub(crate) fn base_secs() -> f64 {
    (Timestamp::now().0 / 1_000_000) as f64 + 1.0
}

/// Asserts that `r` failed with the variant `pred` accepts.
pub(crate) fn assert_err<T: std::fmt::Debug>(r: Result<T>, pred: fn(&Error) -> bool, what: &str) {
    match r {
        Err(e) if pred(&e) => {}
        other => panic!("{what}: expected a specific error, got {other:?}"),
    }
}

pub(crate) fn is_not_found(e: &Error) -> bool {
    matches!(e, Error::NotFound { .. })
}
pub(crate) fn is_exists(e: &Error) -> bool {
    matches!(e, Error::AlreadyExists { .. })
}
pub(crate) fn is_stale(e: &Error) -> bool {
    matches!(e, Error::Stale { .. })
}
pub(crate) fn is_invalid(e: &Error) -> bool {
    matches!(e, Error::InvalidArgument(_))
}

/// The JSON `true`, for readability in asserts.
pub(crate) fn t() -> Value {
    json!(true)
}
