//! Sessions and events as the API serves them: adk-python's camelCase JSON, with the
//! ADK-internal `custom_metadata` keys (`__adk_internal_…`) removed as adk-python's
//! `public_session` does — `customMetadata` disappears when nothing else is left.
//!
//! The views serialize straight into the response body (no intermediate JSON tree).

use std::sync::Arc;

use adk_sessions::{Event, JsonMap, Session};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::Value;

/// Prefix of the `custom_metadata` keys only ADK may write.
pub const INTERNAL_METADATA_PREFIX: &str = "__adk_internal_";
/// The key adk-python sets on events restored into a new session.
pub const RESTORED_EVENT_KEY: &str = "__adk_internal_restored_event";

/// One event as served: camelCase, internal metadata removed.
pub struct PublicEvent<'a>(pub &'a Event);

impl Serialize for PublicEvent<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let internal = self
            .0
            .custom_metadata
            .as_ref()
            .is_some_and(|meta| meta.keys().any(|k| k.starts_with(INTERNAL_METADATA_PREFIX)));
        if !internal {
            return self.0.camel().serialize(s);
        }
        let mut public = self.0.clone();
        if let Some(meta) = public.custom_metadata.as_mut() {
            meta.retain(|k, _| !k.starts_with(INTERNAL_METADATA_PREFIX));
            if meta.is_empty() {
                public.custom_metadata = None;
            }
        }
        public.camel().serialize(s)
    }
}

/// A session as served: `id, appName, userId, state, events, lastUpdateTime`, read from
/// the handle once (a consistent snapshot).
pub struct SessionBody<'a> {
    session: &'a Session,
    state: JsonMap,
    events: Vec<Arc<Event>>,
    last_update_time: f64,
}

impl Serialize for SessionBody<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(6))?;
        m.serialize_entry("id", self.session.id())?;
        m.serialize_entry("appName", self.session.app_name())?;
        m.serialize_entry("userId", self.session.user_id())?;
        m.serialize_entry("state", &self.state)?;
        m.serialize_entry("events", &Events(&self.events))?;
        m.serialize_entry("lastUpdateTime", &self.last_update_time)?;
        m.end()
    }
}

struct Events<'a>(&'a [Arc<Event>]);

impl Serialize for Events<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|e| PublicEvent(e)))
    }
}

/// The body that serves `session`.
pub fn session_json(session: &Session) -> SessionBody<'_> {
    SessionBody {
        session,
        state: session.state().snapshot(),
        events: session.events().to_vec(),
        last_update_time: session.last_update_time(),
    }
}

/// Marks an event restored from outside the session, as adk-python's `mark_restored`:
/// internal keys the caller sent are dropped and the restored marker is set.
pub fn mark_restored(event: &mut Event) {
    let mut meta = event.custom_metadata.take().unwrap_or_default();
    meta.retain(|k, _| !k.starts_with(INTERNAL_METADATA_PREFIX));
    meta.insert(RESTORED_EVENT_KEY.to_owned(), Value::Bool(true));
    event.custom_metadata = Some(meta);
}
