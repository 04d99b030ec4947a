//! State scopes. A key `app:k` is shared by every session of the app, `user:k` by every
//! session of one user, a bare key belongs to one session, and `temp:k` to the current
//! invocation only. Storage keeps app, user and session state apart with the prefixes
//! stripped; a session handle shows the merged view with the prefixes put back.

use serde_json::Value;

use crate::model::JsonMap;

/// Prefix of app-scoped keys.
pub const APP_PREFIX: &str = "app:";
/// Prefix of user-scoped keys.
pub const USER_PREFIX: &str = "user:";
/// Prefix of invocation-scoped keys, never persisted.
pub const TEMP_PREFIX: &str = "temp:";

/// Where a state key lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Shared by every user and session of the app.
    App,
    /// Shared by every session of one user of the app.
    User,
    /// One session.
    Session,
    /// The current invocation only; never stored.
    Temp,
}

/// The scope of `key` and the key without its prefix.
pub fn scope_of(key: &str) -> (Scope, &str) {
    if let Some(k) = key.strip_prefix(APP_PREFIX) {
        (Scope::App, k)
    } else if let Some(k) = key.strip_prefix(USER_PREFIX) {
        (Scope::User, k)
    } else if let Some(k) = key.strip_prefix(TEMP_PREFIX) {
        (Scope::Temp, k)
    } else {
        (Scope::Session, key)
    }
}

/// A state delta split by scope, prefixes stripped, `temp:` keys dropped.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScopedDelta {
    /// `app:` keys, without the prefix.
    pub app: JsonMap,
    /// `user:` keys, without the prefix.
    pub user: JsonMap,
    /// Bare keys.
    pub session: JsonMap,
}

impl ScopedDelta {
    /// Splits a delta (or an initial state) by scope.
    pub fn split(delta: &JsonMap) -> Self {
        let mut out = ScopedDelta::default();
        for (key, value) in delta {
            match scope_of(key) {
                (Scope::App, k) => {
                    out.app.insert(k.to_owned(), value.clone());
                }
                (Scope::User, k) => {
                    out.user.insert(k.to_owned(), value.clone());
                }
                (Scope::Session, k) => {
                    out.session.insert(k.to_owned(), value.clone());
                }
                (Scope::Temp, _) => {}
            }
        }
        out
    }

    /// True when no scope has a key.
    pub fn is_empty(&self) -> bool {
        self.app.is_empty() && self.user.is_empty() && self.session.is_empty()
    }
}

/// Applies `delta` onto `state`: each key is replaced (a dict value replaces, it is not
/// deep-merged; a JSON null is stored as null).
pub fn apply_delta(state: &mut JsonMap, delta: &JsonMap) {
    for (k, v) in delta {
        match state.get_mut(k) {
            Some(slot) => *slot = v.clone(),
            None => {
                state.insert(k.clone(), v.clone());
            }
        }
    }
}

/// The merged view of a session: session keys as they are, app and user keys with their
/// prefixes put back.
pub fn merge(app: &JsonMap, user: &JsonMap, session: &JsonMap) -> JsonMap {
    let mut out = JsonMap::with_capacity(app.len() + user.len() + session.len());
    for (k, v) in session {
        out.insert(k.clone(), v.clone());
    }
    for (k, v) in app {
        out.insert(format!("{APP_PREFIX}{k}"), v.clone());
    }
    for (k, v) in user {
        out.insert(format!("{USER_PREFIX}{k}"), v.clone());
    }
    out
}

/// Removes the `temp:` keys of `delta` and returns them.
pub fn take_temp(delta: &mut JsonMap) -> JsonMap {
    if !delta.keys().any(|k| k.starts_with(TEMP_PREFIX)) {
        return JsonMap::new();
    }
    let mut temp = JsonMap::new();
    let keys: Vec<String> = delta
        .keys()
        .filter(|k| k.starts_with(TEMP_PREFIX))
        .cloned()
        .collect();
    for k in keys {
        if let Some(v) = delta.remove(&k) {
            temp.insert(k, v);
        }
    }
    temp
}

/// The JSON type of a value, for error messages.
pub fn json_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> JsonMap {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn split_strips_prefixes_and_drops_temp() {
        let d = ScopedDelta::split(&map(json!({"app:a": 1, "user:u": 2, "s": 3, "temp:t": 4})));
        assert_eq!(d.app, map(json!({"a": 1})));
        assert_eq!(d.user, map(json!({"u": 2})));
        assert_eq!(d.session, map(json!({"s": 3})));
    }

    #[test]
    fn merge_puts_prefixes_back() {
        let m = merge(
            &map(json!({"a": 1})),
            &map(json!({"u": 2})),
            &map(json!({"s": 3})),
        );
        assert_eq!(m, map(json!({"s": 3, "app:a": 1, "user:u": 2})));
    }

    #[test]
    fn take_temp_removes_only_temp_keys() {
        let mut d = map(json!({"a": 1, "temp:t": 2}));
        assert_eq!(take_temp(&mut d), map(json!({"temp:t": 2})));
        assert_eq!(d, map(json!({"a": 1})));
    }

    #[test]
    fn non_object_state_is_refused() {}
}
