//! The differential test against adk-python 2.13's API server: tests/py/api_probe.py runs
//! one request sequence through adk-python's app (FastAPI TestClient) and prints each
//! exchange; this test replays the same requests against our server and requires the
//! same status and the same JSON, normalizing only generated ids and generated
//! (current) timestamps.
//!
//! The python comes from `ADK_SESSIONS_PYTHON` (a virtualenv with google-adk[db]==2.13.0
//! and httpx). Without it the test is SKIPPED loudly — and fails when `CI` is set.

mod common;

use std::process::Command;

use adk_sessions_server::ServerConfig;
use serde_json::{Map, Value};

fn is_uuid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok() && s.len() == 36
}

/// Replaces what either server generates: UUIDs (also `p-<uuid>` invocation ids) and
/// timestamps within two days of now. A JSON decode error's `ctx` message (Python's
/// json module vs serde_json) is dropped too.
fn normalize(v: &Value, key: Option<&str>, now: f64) -> Value {
    match v {
        Value::String(s) if is_uuid(s) => Value::String("<uuid>".into()),
        Value::String(s) if s.strip_prefix("p-").is_some_and(is_uuid) => {
            Value::String("p-<uuid>".into())
        }
        Value::Number(n)
            if matches!(key, Some("timestamp" | "lastUpdateTime"))
                && n.as_f64().is_some_and(|t| (t - now).abs() < 172_800.0) =>
        {
            Value::String("<now>".into())
        }
        Value::Array(items) => {
            Value::Array(items.iter().map(|i| normalize(i, None, now)).collect())
        }
        Value::Object(m) => {
            let json_invalid = m.get("type") == Some(&Value::String("json_invalid".into()));
            let mut out = Map::new();
            for (k, val) in m {
                if json_invalid && k == "ctx" {
                    continue;
                }
                out.insert(k.clone(), normalize(val, Some(k), now));
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn responses_equal_adk_python_request_for_request_on_memory() {
    differential("memory://", "memory://").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn responses_equal_adk_python_request_for_request_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("adk-sessions-diff-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let theirs = format!("sqlite+aiosqlite:///{}", dir.join("python.db").display());
    let ours = format!("sqlite://{}", dir.join("ours.db").display());
    differential(&theirs, &ours).await;
    std::fs::remove_dir_all(dir).ok();
}

/// Runs the probe with adk-python on `python_uri` and replays it against our server on
/// `our_url`.
async fn differential(python_uri: &str, our_url: &str) {
    let Ok(python) = std::env::var("ADK_SESSIONS_PYTHON") else {
        adk_sessions::testsuite::skip(
            "differential test against adk-python — set ADK_SESSIONS_PYTHON to a python with google-adk[db]==2.13.0 and httpx",
        );
        return;
    };
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/api_probe.py");
    let out = Command::new(&python)
        .arg(script)
        .arg(python_uri)
        .output()
        .expect("run the adk-python probe");
    assert!(
        out.status.success(),
        "probe failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let exchanges: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("probe prints JSON lines"))
        .collect();
    assert!(exchanges.len() > 20, "probe printed too few exchanges");

    let service = adk_sessions::open(our_url, &Default::default())
        .await
        .unwrap();
    let server = common::spawn_with(service, ServerConfig::default()).await;
    let now = adk_sessions::Timestamp::now().as_secs_f64();
    let mut mismatches = Vec::new();
    for x in &exchanges {
        let name = x["name"].as_str().unwrap();
        let method = x["method"].as_str().unwrap();
        let path = x["path"].as_str().unwrap();
        let ours = if let Some(raw) = x.get("raw").and_then(Value::as_str) {
            server.send_raw(method, path, raw.as_bytes().to_vec()).await
        } else {
            server.send(method, path, x.get("body")).await
        };
        let theirs_status = x["status"].as_u64().unwrap() as u16;
        let theirs = normalize(&x["response"], None, now);
        let mine = normalize(&ours.json, None, now);
        if ours.status != theirs_status || mine != theirs {
            mismatches.push(format!(
                "{name}: {method} {path}\n  adk-python: {theirs_status} {theirs}\n  ours:       {} {mine}",
                ours.status
            ));
        }
    }
    eprintln!(
        "compared {} exchanges with adk-python ({python_uri} vs {our_url}), {} differ",
        exchanges.len(),
        mismatches.len()
    );
    assert!(
        mismatches.is_empty(),
        "{} of {} exchanges differ:\n{}",
        mismatches.len(),
        exchanges.len(),
        mismatches.join("\n")
    );
}
