//! Optional bearer-token auth. A tokens file (JSON) lists each token and the apps it may
//! touch, each for reading and writing (the default) or for reading only:
//!
//! ```json
//! {"tokens": [
//!   {"token": "s3cret-for-support", "apps": ["support_bot"]},
//!   {"token": "s3cret-dashboard", "apps": ["support_bot"], "access": "read"},
//!   {"token": "s3cret-ops", "apps": {"support_bot": "write", "*": "read"}},
//!   {"token": "s3cret-admin", "apps": ["*"]}
//! ]}
//! ```
//!
//! `apps` is either a list, all with the entry's `access` (`"write"`, the default, or
//! `"read"`), or a map from app to its access, where `"*"` stands for every app not named.
//! Every route under `/apps/{app_name}/…` then needs `Authorization: Bearer <token>` (the
//! scheme in any case): 401 without a token or with an unknown one, 400 with two
//! `Authorization` headers, 403 when the token does not name the app (`"*"` names every
//! app) or when it may only read the app and asks for anything but GET or HEAD.
//! `/healthz`, `/readyz`, `/metrics` and `/openapi.json` stay open. Tokens are compared in
//! constant time. A file with a token shorter than 8 characters, with whitespace or
//! control characters, or listed twice, with no app, or with `access` beside an `apps`
//! map, is refused when the server starts, naming the entry.

use std::collections::{BTreeMap, HashMap};
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
    entries: Vec<TokenEntry>,
}

/// One token: its access to the apps it names, and to every other app (`"*"`).
#[derive(Debug, Clone)]
struct TokenEntry {
    token: String,
    apps: HashMap<String, AccessMode>,
    others: Option<AccessMode>,
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
    /// A list of apps sharing `access`, or a map from each app to its access.
    apps: serde_json::Value,
    access: Option<AccessMode>,
}

/// What a token may do in an app.
#[derive(Debug, Deserialize, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum AccessMode {
    /// Read and write (the default).
    #[default]
    Write,
    /// GET and HEAD only.
    Read,
}

/// What a token may do for an app.
#[derive(Debug, PartialEq, Eq)]
pub enum Access {
    /// Known token, app allowed.
    Allowed,
    /// Known token, app allowed for reading only.
    ReadOnly,
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
        let mut entries: Vec<TokenEntry> = Vec::new();
        for (i, e) in file.tokens.into_iter().enumerate() {
            if e.token.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(format!(
                    "tokens[{i}].token holds whitespace or a control character; a client could not send it as it is"
                ));
            }
            if e.token.len() < 8 {
                return Err(format!(
                    "tokens[{i}].token is shorter than 8 characters; use a long random token"
                ));
            }
            if let Some(j) = entries.iter().position(|t| t.token == e.token) {
                return Err(format!(
                    "tokens[{i}].token is the same as tokens[{j}].token; give each client its own"
                ));
            }
            let named: Vec<(String, AccessMode)> = if e.apps.is_object() {
                if e.access.is_some() {
                    return Err(format!(
                        "tokens[{i}] has both an apps map and access; give each app its access in the map"
                    ));
                }
                serde_json::from_value::<BTreeMap<String, AccessMode>>(e.apps)
                    .map_err(|err| {
                        format!(
                            "tokens[{i}].apps: each app's access is \"read\" or \"write\" ({err})"
                        )
                    })?
                    .into_iter()
                    .collect()
            } else {
                let access = e.access.unwrap_or_default();
                serde_json::from_value::<Vec<String>>(e.apps)
                    .map_err(|err| {
                        format!("tokens[{i}].apps is a list of app names or a map from app to \"read\"/\"write\" ({err})")
                    })?
                    .into_iter()
                    .map(|a| (a, access))
                    .collect()
            };
            if named.is_empty() {
                return Err(format!(
                    "tokens[{i}].apps is empty; name the apps (or \"*\" for every app)"
                ));
            }
            let mut entry = TokenEntry {
                token: e.token,
                apps: HashMap::new(),
                others: None,
            };
            for (app, access) in named {
                if app.is_empty() {
                    return Err(format!("tokens[{i}].apps names an empty app"));
                }
                if app == "*" {
                    entry.others = Some(access);
                } else {
                    entry.apps.insert(app, access);
                }
            }
            entries.push(entry);
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
        // Every entry is compared, so the time taken does not tell which one matched.
        let mut found = None;
        for entry in &self.entries {
            if constant_time_eq(entry.token.as_bytes(), token.as_bytes()) {
                found = Some(entry);
            }
        }
        let Some(entry) = found else {
            return Access::Unknown;
        };
        match entry.apps.get(app).copied().or(entry.others) {
            Some(AccessMode::Write) => Access::Allowed,
            Some(AccessMode::Read) => Access::ReadOnly,
            None => Access::Forbidden,
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
    let mut headers = req.headers().get_all(header::AUTHORIZATION).iter();
    let first = headers.next();
    if headers.next().is_some() {
        return ApiError::bad_request("more than one Authorization header").into_response();
    }
    // `Bearer <token>`, the scheme in any case (RFC 9110 §11.1).
    let token = first
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim());
    let unauthorized = |msg: &str| {
        let mut e = ApiError::new(StatusCode::UNAUTHORIZED, msg);
        e.bearer_challenge = true;
        e.into_response()
    };
    match token {
        None => unauthorized("Not authenticated: send Authorization: Bearer <token>"),
        Some(t) => match tokens.check(t, &app) {
            Access::Allowed => next.run(req).await,
            Access::ReadOnly
                if matches!(
                    *req.method(),
                    axum::http::Method::GET | axum::http::Method::HEAD
                ) =>
            {
                next.run(req).await
            }
            Access::ReadOnly => ApiError::new(
                StatusCode::FORBIDDEN,
                format!("This token may only read app {app:?}"),
            )
            .into_response(),
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

    #[test]
    fn bad_token_files_are_refused_naming_the_entry() {
        for (text, needle) in [
            (
                r#"{"tokens":[{"token":"aaaa aaaa","apps":["a"]}]}"#,
                "whitespace",
            ),
            (
                r#"{"tokens":[{"token":"aaaaaaaa\n","apps":["a"]}]}"#,
                "whitespace",
            ),
            (
                r#"{"tokens":[{"token":"aaaaaaaa\u0001","apps":["a"]}]}"#,
                "control",
            ),
            (
                r#"{"tokens":[{"token":"aaaaaaaaaa","apps":["a"]},{"token":"aaaaaaaaaa","apps":["b"]}]}"#,
                "tokens[1].token is the same as tokens[0]",
            ),
            (
                r#"{"tokens":[{"token":"aaaaaaaaaa","apps":[]}]}"#,
                "apps is empty",
            ),
            (
                r#"{"tokens":[{"token":"aaaaaaaaaa","apps":["a"],"access":"admin"}]}"#,
                "unknown variant `admin`",
            ),
        ] {
            let err = Tokens::parse(text).unwrap_err();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn an_apps_map_gives_each_app_its_access() {
        let t = Tokens::parse(
            r#"{"tokens":[{"token":"mmmmmmmmmm","apps":{"a":"write","b":"read"}},
                          {"token":"nnnnnnnnnn","apps":{"a":"write","*":"read"}}]}"#,
        )
        .unwrap();
        assert_eq!(t.check("mmmmmmmmmm", "a"), Access::Allowed);
        assert_eq!(t.check("mmmmmmmmmm", "b"), Access::ReadOnly);
        assert_eq!(t.check("mmmmmmmmmm", "c"), Access::Forbidden);
        assert_eq!(t.check("nnnnnnnnnn", "a"), Access::Allowed);
        assert_eq!(t.check("nnnnnnnnnn", "z"), Access::ReadOnly);
        for (text, needle) in [
            (
                r#"{"tokens":[{"token":"mmmmmmmmmm","apps":{"a":"read"},"access":"read"}]}"#,
                "both an apps map and access",
            ),
            (
                r#"{"tokens":[{"token":"mmmmmmmmmm","apps":{}}]}"#,
                "apps is empty",
            ),
            (
                r#"{"tokens":[{"token":"mmmmmmmmmm","apps":{"a":"admin"}}]}"#,
                "tokens[0].apps: each app's access is \"read\" or \"write\"",
            ),
            (
                r#"{"tokens":[{"token":"mmmmmmmmmm","apps":"a"}]}"#,
                "tokens[0].apps is a list of app names or a map",
            ),
        ] {
            let err = Tokens::parse(text).unwrap_err();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn read_only_tokens_read() {
        let t =
            Tokens::parse(r#"{"tokens":[{"token":"rrrrrrrrrr","apps":["a"],"access":"read"}]}"#)
                .unwrap();
        assert_eq!(t.check("rrrrrrrrrr", "a"), Access::ReadOnly);
        assert_eq!(t.check("rrrrrrrrrr", "b"), Access::Forbidden);
    }
}
