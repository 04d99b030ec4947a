//! Optional bearer-token auth. A tokens file (JSON) lists each token and the apps it may
//! touch:
//!
//! ```json
//! {"tokens": [
//!   {"token": "s3cret-for-support", "apps": ["support_bot"]},
//!   {"token": "s3cret-admin", "apps": ["*"]}
//! ]}
//! ```
//!
//! Every route under `/apps/{app_name}/…` then needs `Authorization: Bearer <token>`:
//! 401 without a token or with an unknown one, 403 when the token does not name the app
//! (`"*"` names every app). `/healthz`, `/readyz`, `/metrics` and `/openapi.json` stay
//! open. Tokens are compared in constant time.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use axum::extract::{RawPathParams, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::api::ApiError;

/// The tokens a server accepts.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    entries: Vec<(String, Apps)>,
}

#[derive(Debug, Clone)]
enum Apps {
    All,
    Some(HashSet<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    tokens: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    token: String,
    apps: Vec<String>,
}

/// What a token may do for an app.
#[derive(Debug, PartialEq, Eq)]
pub enum Access {
    /// Known token, app allowed.
    Allowed,
    /// Known token, another app.
    Forbidden,
    /// No such token.
    Unknown,
}

impl Tokens {
    /// Parses the JSON text of a tokens file.
    pub fn parse(text: &str) -> Result<Tokens, String> {
        let file: File =
            serde_json::from_str(text).map_err(|e| format!("tokens file is not valid: {e}"))?;
        let mut entries = Vec::new();
        for (i, e) in file.tokens.into_iter().enumerate() {
            if e.token.trim().len() < 8 {
                return Err(format!(
                    "tokens[{i}].token is shorter than 8 characters; use a long random token"
                ));
            }
            let apps = if e.apps.iter().any(|a| a == "*") {
                Apps::All
            } else {
                Apps::Some(e.apps.into_iter().collect())
            };
            entries.push((e.token, apps));
        }
        Ok(Tokens { entries })
    }

    /// Reads a tokens file.
    pub fn load(path: &Path) -> Result<Tokens, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read tokens file {}: {e}", path.display()))?;
        Tokens::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// What `token` may do for `app`.
    pub fn check(&self, token: &str, app: &str) -> Access {
        let mut found = None;
        for (t, apps) in &self.entries {
            if constant_time_eq(t.as_bytes(), token.as_bytes()) {
                found = Some(apps);
            }
        }
        match found {
            None => Access::Unknown,
            Some(Apps::All) => Access::Allowed,
            Some(Apps::Some(set)) if set.contains(app) => Access::Allowed,
            Some(_) => Access::Forbidden,
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Middleware: enforces the tokens on routes with an `{app_name}`.
pub async fn require_token(
    State(tokens): State<Option<Arc<Tokens>>>,
    params: Result<RawPathParams, axum::extract::rejection::RawPathParamsRejection>,
    req: Request,
    next: Next,
) -> Response {
    let Some(tokens) = tokens else {
        return next.run(req).await;
    };
    let app = match &params {
        Ok(p) => p
            .iter()
            .find(|(k, _)| *k == "app_name")
            .map(|(_, v)| v.to_owned()),
        Err(e) => return ApiError::bad_request(format!("path: {}", e.body_text())).into_response(),
    };
    let Some(app) = app else {
        return next.run(req).await;
    };
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    let unauthorized = |msg: &str| {
        let mut e = ApiError::new(StatusCode::UNAUTHORIZED, msg);
        e.bearer_challenge = true;
        e.into_response()
    };
    match token {
        None => unauthorized("Not authenticated: send Authorization: Bearer <token>"),
        Some(t) => match tokens.check(t, &app) {
            Access::Allowed => next.run(req).await,
            Access::Unknown => unauthorized("Invalid token"),
            Access::Forbidden => ApiError::new(
                StatusCode::FORBIDDEN,
                format!("This token may not access app {app:?}"),
            )
            .into_response(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_name_their_apps() {
        let t = Tokens::parse(
            r#"{"tokens":[{"token":"aaaaaaaaaa","apps":["a"]},{"token":"bbbbbbbbbb","apps":["*"]}]}"#,
        )
        .unwrap();
        assert_eq!(t.check("aaaaaaaaaa", "a"), Access::Allowed);
        assert_eq!(t.check("aaaaaaaaaa", "b"), Access::Forbidden);
        assert_eq!(t.check("bbbbbbbbbb", "z"), Access::Allowed);
        assert_eq!(t.check("nope", "a"), Access::Unknown);
    }

    #[test]
    fn short_tokens_are_refused() {
        assert!(Tokens::parse(r#"{"tokens":[{"token":"x","apps":["a"]}]}"#).is_err());
    }
}
