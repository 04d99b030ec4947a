//! adk-python's session endpoints, drop-in: create (and its deprecated form), get, list,
//! delete and the PATCH state update — plus the `numRecentEvents`/`afterTimestamp`
//! filters on get and `pageSize`/`pageToken` pagination on list.

use adk_sessions::{CreateOptions, Event, GetFilter, PageRequest, Timestamp};
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::create_body::{self, CreateBody};
use super::errors::ApiError;
use super::json::{body, dict, member, object, string_member, Ids, QueryParams};
use super::view::{mark_restored, session_json};
use super::AppState;

/// The response header carrying the next page token of a paginated list.
pub const NEXT_PAGE_TOKEN_HEADER: &str = "x-next-page-token";

/// The page size when a `pageToken` comes without `pageSize`.
const DEFAULT_PAGE_SIZE: usize = 100;

/// Session ids adk-python's list hides (sessions made by evaluations).
const EVAL_SESSION_PREFIXES: [&str; 2] = ["adk-eval-session-", "___eval___session___"];

/// Function names of ADK's own human-in-the-loop protocol.
const ADK_PROTOCOL_FUNCTIONS: [&str; 3] = [
    "adk_request_credential",
    "adk_request_confirmation",
    "adk_request_input",
];

type Query2 = Result<Query<Vec<(String, String)>>, QueryRejection>;

/// `POST /apps/{app_name}/users/{user_id}/sessions`, body `{sessionId?, state?, events?}`.
pub async fn create(
    State(st): State<AppState>,
    ids: Ids,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let bounded = match &bytes {
        Ok(b) if !b.is_empty() => std::str::from_utf8(b)
            .ok()
            .map(|text| create_body::parse(text, st.max_create_events)),
        _ => None,
    };
    let body = match bounded {
        Some(CreateBody::Json(v)) => v,
        Some(CreateBody::TooManyEvents) => {
            return Err(ApiError::invalid(
                "too_long",
                vec![json!("body"), json!("events")],
                format!(
                    "List should have at most {} items: a new session may restore at most \
                     that many events (the server's --max-create-events); append the rest",
                    st.max_create_events
                ),
                json!(null),
            ))
        }
        // Empty, not UTF-8 or not JSON: reported (or created empty) as before.
        Some(CreateBody::Invalid) | None => match body(bytes)? {
            Some(v) => v,
            None => return created(&st, &ids, None, None, Vec::new()).await,
        },
    };
    let obj = object(body)?;
    let session_id = string_member(&obj, "sessionId", "session_id")?;
    if let Some(id) = &session_id {
        adk_sessions::backend::check_id("session_id", id)?;
    }
    let state = member(&obj, "state", "state")
        .map(|v| dict(v, vec![json!("body"), json!("state")]))
        .transpose()?;
    let events = match member(&obj, "events", "events") {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| parse_event(&st, v.clone(), i))
            .collect::<Result<Vec<_>, _>>()?,
        Some(other) => {
            return Err(ApiError::invalid(
                "list_type",
                vec![json!("body"), json!("events")],
                "Input should be a valid list",
                other.clone(),
            ))
        }
    };
    let mut seen = std::collections::HashSet::with_capacity(events.len());
    for (i, e) in events.iter().enumerate() {
        check_initial_event(i, e)?;
        if !seen.insert(e.id.as_str()) {
            return Err(ApiError::invalid(
                "value_error",
                vec![json!("body"), json!("events"), json!(i)],
                format!("event id {:?} appears twice among the initial events", e.id),
                json!(e.id),
            ));
        }
    }
    created(&st, &ids, session_id, state, events).await
}

fn parse_event(st: &AppState, value: Value, index: usize) -> Result<Event, ApiError> {
    let loc = vec![json!("body"), json!("events"), json!(index)];
    parse_event_value(st, value, loc)
}

/// Parses one event in either spelling, filling in a missing id and timestamp.
pub(crate) fn parse_event_value(
    st: &AppState,
    value: Value,
    loc: Vec<Value>,
) -> Result<Event, ApiError> {
    if !value.is_object() {
        return Err(ApiError::invalid(
            "model_attributes_type",
            loc,
            "Input should be a valid dictionary or object to extract fields from",
            value,
        ));
    }
    let mut value = value;
    drop_nulls(&mut value);
    let has_id = value.get("id").is_some();
    let has_ts = value.get("timestamp").is_some();
    let mut event = Event::from_json(value, st.policy).map_err(|e| {
        let msg = match e {
            adk_sessions::Error::InvalidArgument(m) => m,
            other => other.to_string(),
        };
        ApiError::invalid("value_error", loc.clone(), msg, json!(null))
    })?;
    if !has_id || event.id.is_empty() {
        event.id = uuid::Uuid::new_v4().to_string();
    }
    if !has_ts {
        event.timestamp = Timestamp::now().as_secs_f64();
    }
    if event.invocation_id.is_empty() {
        event.invocation_id = format!("e-{}", uuid::Uuid::new_v4());
    }
    event.validate(st.policy).map_err(|e| {
        let msg = match e {
            adk_sessions::Error::InvalidArgument(m) => m,
            other => other.to_string(),
        };
        ApiError::invalid("value_error", loc, msg, json!(null))
    })?;
    Ok(event)
}

/// A null member of the event or of its `actions` means "absent", as with pydantic's
/// optional fields (nulls inside free-form maps such as `stateDelta` are kept).
fn drop_nulls(value: &mut Value) {
    if let Some(obj) = value.as_object_mut() {
        obj.retain(|_, v| !v.is_null());
        if let Some(actions) = obj.get_mut("actions").and_then(Value::as_object_mut) {
            actions.retain(|_, v| !v.is_null());
        }
    }
}

/// adk-python's rules for events a client restores into a new session.
fn check_initial_event(index: usize, event: &Event) -> Result<(), ApiError> {
    let refuse = |what: &str| {
        ApiError::bad_request(format!(
            "Session initialization event {index} cannot include {what}."
        ))
    };
    if event
        .long_running_tool_ids
        .as_ref()
        .is_some_and(|ids| !ids.is_empty())
    {
        return Err(refuse("long-running tool IDs"));
    }
    if event.actions != Default::default() {
        return Err(refuse("event actions"));
    }
    let parts = event.content.iter().flat_map(|c| c.parts.iter().flatten());
    let protocol = parts.into_iter().any(|p| {
        let call = p.function_call.as_ref().and_then(|c| c.name.as_deref());
        let resp = p.function_response.as_ref().and_then(|r| r.name.as_deref());
        [call, resp]
            .into_iter()
            .flatten()
            .any(|n| ADK_PROTOCOL_FUNCTIONS.contains(&n))
    });
    if protocol {
        return Err(refuse("ADK protocol function calls"));
    }
    Ok(())
}

async fn created(
    st: &AppState,
    ids: &Ids,
    session_id: Option<String>,
    state: Option<adk_sessions::JsonMap>,
    events: Vec<Event>,
) -> Result<Response, ApiError> {
    let mut options = CreateOptions::new();
    if let Some(id) = session_id {
        options = options.session_id(id);
    }
    if let Some(state) = state {
        options = options.state(state);
    }
    // The session and its restored events in one transaction: a refused event (or a
    // timeout) leaves nothing half-created.
    let events = events.into_iter().map(|mut event| {
        mark_restored(&mut event);
        event
    });
    let session = st
        .service
        .create(&ids.app, ids.user(), options.events(events))
        .await?;
    Ok(Json(session_json(&session)).into_response())
}

/// `POST /apps/{app_name}/users/{user_id}/sessions/{session_id}` (deprecated form; the
/// body is the initial state).
pub async fn create_with_id(
    State(st): State<AppState>,
    ids: Ids,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let state = body(bytes)?
        .filter(|v| !v.is_null())
        .map(|v| dict(&v, vec![json!("body")]))
        .transpose()?;
    created(&st, &ids, ids.session.clone(), state, Vec::new()).await
}

/// `GET /apps/{app_name}/users/{user_id}/sessions/{session_id}`
/// `[?numRecentEvents=N][&afterTimestamp=T]`.
pub async fn get(
    State(st): State<AppState>,
    ids: Ids,
    query: Query2,
) -> Result<Response, ApiError> {
    let q = QueryParams::from(query)?;
    let mut filter = match q.int("numRecentEvents", 0)? {
        Some(n) => GetFilter::recent(n as usize),
        None => GetFilter::all(),
    };
    if let Some(after) = q.timestamp("afterTimestamp")? {
        filter = filter.after(after);
    }
    let session = st.service.get(&ids.key(), filter).await?;
    Ok(Json(session_json(&session)).into_response())
}

/// `GET /apps/{app_name}/users/{user_id}/sessions[?pageSize=N][&pageToken=T]`: an array,
/// oldest update first, eval sessions hidden; the next token in `x-next-page-token`.
pub async fn list(
    State(st): State<AppState>,
    ids: Ids,
    query: Query2,
) -> Result<Response, ApiError> {
    let q = QueryParams::from(query)?;
    let mut page = PageRequest::default();
    page.page_size = q.int("pageSize", 1)?.map(|n| n as usize);
    page.page_token = q.string("pageToken").filter(|t| !t.is_empty());
    if page.page_token.is_some() && page.page_size.is_none() {
        page.page_size = Some(DEFAULT_PAGE_SIZE);
    }
    // `/apps/{app}/sessions` has no user: every user of the app (adk-python's
    // `list_sessions(user_id=None)`).
    let result = st
        .service
        .list(&ids.app, ids.user.as_deref(), &page)
        .await?;
    let sessions: Vec<_> = result
        .sessions
        .iter()
        .filter(|s| !EVAL_SESSION_PREFIXES.iter().any(|p| s.id().starts_with(p)))
        .map(session_json)
        .collect();
    let mut resp = Json(sessions).into_response();
    if let Some(token) = result.next_page_token {
        if let Ok(v) = HeaderValue::from_str(&token) {
            resp.headers_mut()
                .insert(HeaderName::from_static(NEXT_PAGE_TOKEN_HEADER), v);
        }
    }
    Ok(resp)
}

/// `DELETE /apps/{app_name}/users/{user_id}/sessions/{session_id}` → 200 `null`, also
/// when the session does not exist.
pub async fn delete(State(st): State<AppState>, ids: Ids) -> Result<Response, ApiError> {
    st.service.delete(&ids.key()).await?;
    Ok(Json(Value::Null).into_response())
}

/// `PATCH /apps/{app_name}/users/{user_id}/sessions/{session_id}`, body `{stateDelta}`:
/// appends a state-change event (invocation `p-<uuid>`, author `user`) and returns the
/// session.
pub async fn patch(
    State(st): State<AppState>,
    ids: Ids,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let Some(body) = body(bytes)? else {
        return Err(ApiError::invalid(
            "missing",
            vec![json!("body")],
            "Field required",
            Value::Null,
        ));
    };
    let obj = object(body)?;
    let Some(delta) = member(&obj, "stateDelta", "state_delta") else {
        return Err(ApiError::invalid(
            "missing",
            vec![json!("body"), json!("stateDelta")],
            "Field required",
            Value::Object(obj.clone()),
        ));
    };
    let delta = dict(delta, vec![json!("body"), json!("stateDelta")])?;
    let temp: Vec<(String, Value)> = delta
        .iter()
        .filter(|(k, _)| k.starts_with(adk_sessions::TEMP_PREFIX))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut event = Event::new(format!("p-{}", uuid::Uuid::new_v4()), "user");
    event.actions.state_delta = delta;
    // One transaction on whatever is current (never a conflict with other writers), then
    // the session as it is now, with the `temp:` keys a live handle shows for the rest of
    // the invocation (as adk-python answers).
    let key = ids.key();
    st.service.append_to_current(&key, event).await?;
    let session = st.service.get(&key, GetFilter::all()).await?;
    for (k, v) in temp {
        session.state().set(k, v);
    }
    Ok(Json(session_json(&session)).into_response())
}
