//! Reading request bodies, paths and queries the way FastAPI reports them: a body that is
//! not UTF-8 or not JSON, a member of the wrong type, a missing member or a bad query
//! value is a 422 whose items name the location (`["body", "state"]`,
//! `["query", "pageSize"]`); an id over 128 characters is a 400 naming the id. Nothing is
//! changed before all of this passed.

use std::collections::HashMap;

use adk_sessions::{SessionKey, Timestamp};
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{FromRequestParts, Query, RawPathParams};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde_json::{json, Map, Value};

use super::errors::ApiError;

/// The `{app_name}`, `{user_id}` and `{session_id}` of a path, checked.
#[derive(Debug, Clone)]
pub struct Ids {
    /// App name.
    pub app: String,
    /// User id, when the route has one.
    pub user: Option<String>,
    /// Session id, when the route has one.
    pub session: Option<String>,
}

impl Ids {
    /// The user id (routes with `{user_id}` only).
    pub fn user(&self) -> &str {
        self.user.as_deref().unwrap_or_default()
    }
    /// The session id (routes with `{session_id}` only).
    pub fn session(&self) -> &str {
        self.session.as_deref().unwrap_or_default()
    }
    /// The key of the session (routes with `{user_id}` and `{session_id}` only).
    pub fn key(&self) -> SessionKey {
        SessionKey::new(self.app.as_str(), self.user(), self.session())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Ids {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let raw = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::bad_request(format!("path: {}", e.body_text())))?;
        let mut map = HashMap::new();
        for (k, v) in raw.iter() {
            map.insert(k.to_owned(), v.to_owned());
        }
        let mut take = |name: &str| -> Result<Option<String>, ApiError> {
            match map.remove(name) {
                None => Ok(None),
                Some(v) => {
                    adk_sessions::backend::check_id(name, &v)?;
                    Ok(Some(v))
                }
            }
        };
        Ok(Ids {
            app: take("app_name")?.unwrap_or_default(),
            user: take("user_id")?,
            session: take("session_id")?,
        })
    }
}

/// Parses a request body: `None` when empty, the JSON value otherwise.
pub fn body(bytes: Result<Bytes, BytesRejection>) -> Result<Option<Value>, ApiError> {
    let bytes = bytes.map_err(|e| ApiError::new(e.status(), e.body_text()))?;
    if bytes.is_empty() {
        return Ok(None);
    }
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        ApiError::invalid(
            "json_invalid",
            vec![json!("body"), json!(e.valid_up_to())],
            "JSON decode error",
            json!({}),
        )
        .with_ctx(format!(
            "the body is not valid UTF-8 (at byte {})",
            e.valid_up_to()
        ))
    })?;
    serde_json::from_str(text).map(Some).map_err(|e| {
        let pos = char_offset(text, e.line(), e.column());
        ApiError::invalid(
            "json_invalid",
            vec![json!("body"), json!(pos)],
            "JSON decode error",
            json!({}),
        )
        .with_ctx(e.to_string())
    })
}

fn char_offset(text: &str, line: usize, column: usize) -> usize {
    let before: usize = text
        .split('\n')
        .take(line.saturating_sub(1))
        .map(|l| l.chars().count() + 1)
        .sum();
    before + column.saturating_sub(1)
}

impl ApiError {
    fn with_ctx(mut self, error: String) -> Self {
        if let Some(item) = self.detail.get_mut(0).and_then(Value::as_object_mut) {
            item.insert("ctx".into(), json!({ "error": error }));
        }
        self
    }
}

/// The body as an object (FastAPI's `model_attributes_type` otherwise).
pub fn object(body: Value) -> Result<Map<String, Value>, ApiError> {
    match body {
        Value::Object(m) => Ok(m),
        other => Err(ApiError::invalid(
            "model_attributes_type",
            vec![json!("body")],
            "Input should be a valid dictionary or object to extract fields from",
            other,
        )),
    }
}

/// A member by its camelCase name or its snake_case name (the camel one wins, as in
/// pydantic with aliases); a JSON null counts as absent.
pub fn member<'a>(obj: &'a Map<String, Value>, camel: &str, snake: &str) -> Option<&'a Value> {
    obj.get(camel)
        .or_else(|| obj.get(snake))
        .filter(|v| !v.is_null())
}

/// A member that must be a string.
pub fn string_member(
    obj: &Map<String, Value>,
    camel: &str,
    snake: &str,
) -> Result<Option<String>, ApiError> {
    match member(obj, camel, snake) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(ApiError::invalid(
            "string_type",
            vec![json!("body"), json!(camel)],
            "Input should be a valid string",
            other.clone(),
        )),
    }
}

/// A value that must be an object (a state map, a delta); `loc` locates it.
pub fn dict(value: &Value, loc: Vec<Value>) -> Result<Map<String, Value>, ApiError> {
    match value {
        Value::Object(m) => Ok(m.clone()),
        other => Err(ApiError::invalid(
            "dict_type",
            loc,
            "Input should be a valid dictionary",
            other.clone(),
        )),
    }
}

/// The query parameters of a request (unknown ones are ignored, as FastAPI does).
pub struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    /// Reads the query; a query that is not valid percent-encoded UTF-8 is a 400.
    pub fn from(q: Result<Query<Vec<(String, String)>>, QueryRejection>) -> Result<Self, ApiError> {
        q.map(|Query(v)| QueryParams(v)).map_err(|e| {
            ApiError::new(StatusCode::BAD_REQUEST, format!("query: {}", e.body_text()))
        })
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// An integer parameter of at least `min`.
    pub fn int(&self, name: &str, min: u64) -> Result<Option<u64>, ApiError> {
        let Some(text) = self.get(name) else {
            return Ok(None);
        };
        let n: i128 = text.trim().parse().map_err(|_| {
            ApiError::invalid(
                "int_parsing",
                vec![json!("query"), json!(name)],
                "Input should be a valid integer, unable to parse string as an integer",
                json!(text),
            )
        })?;
        if n < min as i128 || n > u32::MAX as i128 {
            return Err(ApiError::invalid(
                "greater_than_equal",
                vec![json!("query"), json!(name)],
                format!("Input should be an integer between {min} and {}", u32::MAX),
                json!(text),
            ));
        }
        Ok(Some(n as u64))
    }

    /// A finite float parameter (epoch seconds), at least 0.
    pub fn seconds(&self, name: &str) -> Result<Option<f64>, ApiError> {
        let Some(text) = self.get(name) else {
            return Ok(None);
        };
        match text.trim().parse::<f64>() {
            Ok(v) if in_seconds_range(v) => Ok(Some(v)),
            _ => Err(Self::bad_seconds(name, text)),
        }
    }

    /// A time parameter read as [`QueryParams::seconds`] reads it, as the library's
    /// [`Timestamp`] (rounded to the microsecond); a value the library cannot represent
    /// gets the same 422 as one that is not a number.
    pub fn timestamp(&self, name: &str) -> Result<Option<Timestamp>, ApiError> {
        let Some(secs) = self.seconds(name)? else {
            return Ok(None);
        };
        match epoch_timestamp(secs) {
            Some(t) => Ok(Some(t)),
            None => Err(Self::bad_seconds(name, self.get(name).unwrap_or_default())),
        }
    }

    fn bad_seconds(name: &str, text: &str) -> ApiError {
        ApiError::invalid(
            "float_parsing",
            vec![json!("query"), json!(name)],
            EPOCH_SECONDS_RANGE,
            json!(text),
        )
    }

    /// A string parameter.
    pub fn string(&self, name: &str) -> Option<String> {
        self.get(name).map(str::to_owned)
    }
}

/// What a time in epoch seconds the API accepts must be (query parameters and the body's
/// `expectedLastUpdateTime` alike).
pub const EPOCH_SECONDS_RANGE: &str =
    "Input should be a finite number of epoch seconds between 0 and 9e9";

fn in_seconds_range(secs: f64) -> bool {
    secs.is_finite() && (0.0..=9.0e9).contains(&secs)
}

/// `secs` as a [`Timestamp`] when it is within [`EPOCH_SECONDS_RANGE`] and the library
/// can represent it.
pub fn epoch_timestamp(secs: f64) -> Option<Timestamp> {
    in_seconds_range(secs)
        .then(|| Timestamp::from_secs_f64(secs))
        .flatten()
}
