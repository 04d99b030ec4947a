//! Sessions and events as the API serves them: adk-python's camelCase JSON, with the
//! ADK-internal `custom_metadata` keys (`__adk_internal_…`) removed as adk-python's
//! `public_session` does — `customMetadata` disappears when nothing else is left.

use adk_sessions::{Event, Session};
use serde_json::{json, Value};

/// Prefix of the `custom_metadata` keys only ADK may write.
pub const INTERNAL_METADATA_PREFIX: &str = "__adk_internal_";
/// The key adk-python sets on events restored into a new session.
pub const RESTORED_EVENT_KEY: &str = "__adk_internal_restored_event";

/// One event, camelCase, internal metadata removed.
pub fn event_json(event: &Event) -> Value {
    let mut v = event.to_camel_value();
    if let Some(obj) = v.as_object_mut() {
        let empty = match obj.get_mut("customMetadata").and_then(Value::as_object_mut) {
            Some(meta) => {
                meta.retain(|k, _| !k.starts_with(INTERNAL_METADATA_PREFIX));
                meta.is_empty()
            }
            None => false,
        };
        if empty {
            obj.remove("customMetadata");
        }
    }
    v
}

/// A session: `id, appName, userId, state, events, lastUpdateTime`.
pub fn session_json(session: &Session) -> Value {
    let events: Vec<Value> = session.events().iter().map(|e| event_json(&e)).collect();
    json!({
        "id": session.id(),
        "appName": session.app_name(),
        "userId": session.user_id(),
        "state": Value::Object(session.state().snapshot()),
        "events": events,
        "lastUpdateTime": session.last_update_time(),
    })
}

/// Marks an event restored from outside the session, as adk-python's `mark_restored`:
/// internal keys the caller sent are dropped and the restored marker is set.
pub fn mark_restored(event: &mut Event) {
    let mut meta = event.custom_metadata.take().unwrap_or_default();
    meta.retain(|k, _| !k.starts_with(INTERNAL_METADATA_PREFIX));
    meta.insert(RESTORED_EVENT_KEY.to_owned(), Value::Bool(true));
    event.custom_metadata = Some(meta);
}
