//! Errors as the HTTP API writes them: `{"detail": …}` like FastAPI, with a string detail
//! for refusals and FastAPI's list of `{type, loc, msg, input}` items (status 422) for a
//! body or query that does not validate. Library errors map to statuses here and nowhere
//! else; a storage error never carries a password (the library redacts URLs).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

/// An error response: a status and the `detail` member of its JSON body.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// The `detail` member: a string, or FastAPI's list of validation items.
    pub detail: Value,
    /// Adds `WWW-Authenticate: Bearer` (for 401).
    pub bearer_challenge: bool,
}

impl ApiError {
    /// An error with a text detail.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            detail: Value::String(detail.into()),
            bearer_challenge: false,
        }
    }

    /// 400 with a text detail.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }

    /// 404 `Session not found`, adk-python's text.
    pub fn session_not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "Session not found")
    }

    /// 422 with one FastAPI validation item.
    pub fn invalid(kind: &str, loc: Vec<Value>, msg: impl Into<String>, input: Value) -> Self {
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            detail: json!([{"type": kind, "loc": loc, "msg": msg.into(), "input": input}]),
            bearer_challenge: false,
        }
    }
}

impl From<adk_sessions::Error> for ApiError {
    fn from(e: adk_sessions::Error) -> Self {
        use adk_sessions::Error as E;
        match e {
            // An event id already stored in the session: a conflict, not bad input.
            E::DuplicateEvent { .. } => ApiError::new(StatusCode::CONFLICT, e.to_string()),
            E::NotFound { .. } => ApiError::session_not_found(),
            E::AlreadyExists { session_id, .. } => ApiError::new(
                StatusCode::CONFLICT,
                format!("Session already exists: {session_id}"),
            ),
            E::Stale { .. } => ApiError::new(StatusCode::CONFLICT, e.to_string()),
            E::InvalidArgument(msg) => ApiError::bad_request(msg),
            E::Storage { message, source } => {
                // The message may name a file, a host or SQL: it goes to the log only; the
                // client gets an id to find it there.
                let id = uuid::Uuid::new_v4().simple().to_string();
                let id = &id[..12];
                tracing::error!(request_error_id = id, error = %message, source = ?source, "storage error");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("storage unavailable (error id {id}; the server log has the details)"),
                )
            }
            // A variant added later: a server-side failure, described in the log only.
            other => {
                tracing::error!(error = %other, "unexpected error");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, Json(json!({ "detail": self.detail }))).into_response();
        if self.bearer_challenge {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}
