//! `POST /apps/{app_name}/users/{user_id}/sessions/{session_id}/events`: append one event
//! (camelCase or snake_case; id and timestamp filled in when absent), with optimistic
//! concurrency through `?expectedLastUpdateTime=<float seconds>`: when the stored session
//! has moved on since the client saw it, 409 and nothing is stored. Without it the event
//! is appended to whatever is current in one transaction
//! ([`adk_sessions::SessionService::append_to_current`]): other writers never make it fail.

use adk_sessions::GetFilter;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use super::errors::ApiError;
use super::json::{body, Ids, QueryParams};
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
    let expected = q.seconds("expectedLastUpdateTime")?;
    let want = q.timestamp("expectedLastUpdateTime")?;
    let Some(value) = body(bytes)? else {
        return Err(ApiError::invalid(
            "missing",
            vec![json!("body")],
            "Field required",
            Value::Null,
        ));
    };
    let event = parse_event_value(&st, value, vec![json!("body")])?;
    let no_events = GetFilter::recent(0);
    let (stored, last_update_time) = match expected {
        // No precondition: one transaction appends to whatever is current; it never
        // fails because of other writers.
        None => {
            let appended = st.service.append_to_current(&ids.key(), event).await?;
            (appended.event, appended.revision.as_secs_f64())
        }
        Some(expected) => {
            let session = st.service.get(&ids.key(), no_events).await?;
            if Some(session.revision()) != want {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    format!(
                        "Session was updated at {} since expectedLastUpdateTime {}; reload it and retry",
                        session.last_update_time(),
                        expected
                    ),
                ));
            }
            let stored = st.service.append_event(&session, event).await?;
            (stored, session.last_update_time())
        }
    };
    Ok(Json(Appended {
        event: stored,
        last_update_time,
    }))
}
