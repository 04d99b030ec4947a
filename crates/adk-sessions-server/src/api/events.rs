//! `POST /apps/{app_name}/users/{user_id}/sessions/{session_id}/events`: append one event
//! (camelCase or snake_case; id and timestamp filled in when absent), with optimistic
//! concurrency through `?expectedLastUpdateTime=<float seconds>`: when the stored session
//! has moved on since the client saw it, 409 and nothing is stored. Without it the event
//! is appended to whatever is current in one transaction
//! ([`adk_sessions::SessionService::append_to_current`]): other writers never make it fail.

use adk_sessions::Session;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::Json;
use serde_json::{json, Value};

use super::errors::ApiError;
use super::json::{body, epoch_timestamp, Ids, QueryParams, EPOCH_SECONDS_RANGE};
use super::sessions::parse_event_value;
use super::view::PublicEvent;
use super::AppState;

/// The answer to an append, written straight into the response.
pub struct Appended {
    event: std::sync::Arc<adk_sessions::Event>,
    last_update_time: f64,
}

impl serde::Serialize for Appended {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("event", &PublicEvent(&self.event))?;
        m.serialize_entry("lastUpdateTime", &self.last_update_time)?;
        m.end()
    }
}

/// Appends one event; answers `{"event": <stored event>, "lastUpdateTime": <float>}`.
pub async fn append(
    State(st): State<AppState>,
    ids: Ids,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<Json<Appended>, ApiError> {
    let q = QueryParams::from(query)?;
    let mut expected = q.timestamp("expectedLastUpdateTime")?;
    let Some(mut value) = body(bytes)? else {
        return Err(ApiError::invalid(
            "missing",
            vec![json!("body")],
            "Field required",
            Value::Null,
        ));
    };
    // The precondition may also come in the body, next to the event's members; it is
    // never part of the stored event.
    if let Some(obj) = value.as_object_mut() {
        for name in ["expectedLastUpdateTime", "expected_last_update_time"] {
            let Some(v) = obj.remove(name) else { continue };
            let loc = vec![json!("body"), json!(name)];
            let t = v.as_f64().and_then(epoch_timestamp).ok_or_else(|| {
                ApiError::invalid("float_type", loc.clone(), EPOCH_SECONDS_RANGE, v.clone())
            })?;
            if expected.is_some_and(|q| q != t) {
                return Err(ApiError::invalid(
                    "value_error",
                    loc,
                    "expectedLastUpdateTime differs between the query and the body",
                    v,
                ));
            }
            expected = Some(t);
        }
    }
    let event = parse_event_value(&st, value, vec![json!("body")])?;
    let key = ids.key();
    let (stored, last_update_time) = match expected {
        // No precondition: one transaction appends to whatever is current; it never
        // fails because of other writers.
        None => {
            let appended = st.service.append_to_current(&key, event).await?;
            (appended.event, appended.revision.as_secs_f64())
        }
        // A precondition: a handle at the revision the client saw; the backend's append
        // transaction refuses it with `Stale` (409) when the stored session moved on.
        Some(revision) => {
            let handle = Session::from_parts(
                key.app_name(),
                key.user_id(),
                key.session_id(),
                Default::default(),
                Vec::new(),
                revision,
            );
            let stored = st.service.append_event(&handle, event).await?;
            (stored, handle.last_update_time())
        }
    };
    Ok(Json(Appended {
        event: stored,
        last_update_time,
    }))
}
