//! JSON comparison with readable failures, shared by the fixture and interop tests.

use serde_json::Value;

/// Explains the first difference between two JSON values.
pub fn first_difference(path: &str, got: &Value, want: &Value) -> Option<String> {
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => {
            for (k, wv) in w {
                match g.get(k) {
                    None => return Some(format!("{path}.{k}: missing, want {wv}")),
                    Some(gv) => {
                        if let Some(d) = first_difference(&format!("{path}.{k}"), gv, wv) {
                            return Some(d);
                        }
                    }
                }
            }
            g.keys()
                .find(|k| !w.contains_key(*k))
                .map(|k| format!("{path}.{k}: unexpected {}", g[k]))
        }
        (Value::Array(g), Value::Array(w)) if g.len() == w.len() => g
            .iter()
            .zip(w)
            .enumerate()
            .find_map(|(i, (gv, wv))| first_difference(&format!("{path}[{i}]"), gv, wv)),
        (Value::Array(g), Value::Array(w)) => {
            Some(format!("{path}: {} items, want {}", g.len(), w.len()))
        }
        _ if got == want => None,
        _ => Some(format!("{path}: got {got}, want {want}")),
    }
}

/// Asserts two JSON values are equal; on failure names the first difference.
#[track_caller]
pub fn assert_json_eq(got: &Value, want: &Value, what: &str) {
    if got != want {
        panic!(
            "{what}: {}\n got: {got}\nwant: {want}",
            first_difference("$", got, want).unwrap_or_default()
        );
    }
}
