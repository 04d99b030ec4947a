//! `adk-sessions copy` through the real binary: sessions move between adk-python's and
//! adk-go's layouts and between SQLite, PostgreSQL and MariaDB with their ids, merged
//! state, events and update times unchanged; a second run copies nothing; a destination
//! session that differs is a reported conflict, left alone. The server tests use
//! `ADK_SESSIONS_TEST_POSTGRES_URL` / `ADK_SESSIONS_TEST_MYSQL_URL` (each makes its own
//! database) and print `SKIPPED` without them — a failure under `CI`.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use adk_sessions::{
    Content, CreateOptions, Event, EventPolicy, GetFilter, OpenOptions, SessionService,
    StorageLayout,
};
use adk_sessions_cli::ops::export::session_line;
use serde_json::{json, Value};
use sqlx::Connection;

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("adk-sessions-copy-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn sqlite_url(dir: &std::path::Path, name: &str) -> String {
    format!("sqlite://{}", dir.join(name).display())
}

fn copy(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_adk-sessions"))
        .arg("copy")
        .args(args)
        .env_remove("ADK_SESSIONS_DB")
        .env_remove("ADK_SESSIONS_SCHEMA")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn open(url: &str) -> Arc<dyn SessionService> {
    adk_sessions::open(url, &OpenOptions::default())
        .await
        .unwrap_or_else(|e| panic!("open {url}: {e}"))
}

/// Two apps, three users, events with content, tool calls, scoped deltas, a transfer,
/// metadata and a top-level field adk-go has no column for.
async fn populate(service: &dyn SessionService) {
    let base = 1_796_000_000.0;
    for (app, user, id) in [
        ("shop", "alice", "s1"),
        ("shop", "alice", "s2"),
        ("shop", "bob", "s3"),
        ("desk", "carol", "d1"),
    ] {
        let s = service
            .create(
                app,
                user,
                CreateOptions::new()
                    .session_id(id)
                    .state(json!({"topic": id, "app:tier": "gold", "user:lang": user})),
            )
            .await
            .unwrap();
        for i in 0..4 {
            let mut e = Event::from_json(
                json!({
                    "id": format!("{id}-e{i}"), "invocationId": format!("inv-{}", i / 2),
                    "author": if i % 2 == 0 { "user" } else { "agent" },
                    "timestamp": base + f64::from(i) + 0.25,
                    "content": {"role": "model", "parts": [
                        {"text": format!("turn {i} of {id}")},
                        {"functionCall": {"id": "c1", "name": "lookup", "args": {"q": i}}}]},
                    "actions": {"stateDelta": {"turn": i, "app:calls": i, "user:seen": id},
                                "transferToAgent": if i == 3 { "helper" } else { "" }},
                    "customMetadata": {"i": i},
                    "turnComplete": i % 2 == 1,
                    "inputTranscription": {"text": "spoken", "finished": true},
                }),
                EventPolicy::default(),
            )
            .unwrap();
            if i != 3 {
                e.actions.transfer_to_agent = None;
            }
            service.append_event(&s, e).await.unwrap();
        }
    }
}

/// Every session of the store, whole (update time included), sorted by key.
async fn everything(service: &dyn SessionService) -> Vec<Value> {
    let mut out = Vec::new();
    for app in service.list_apps().await.unwrap() {
        let page = service
            .list(&app, None, &adk_sessions::PageRequest::default())
            .await
            .unwrap();
        for s in page.sessions {
            let full = service.get(s.key(), GetFilter::all()).await.unwrap();
            out.push(session_line(&full));
        }
    }
    out.sort_by_key(|v| format!("{}/{}/{}", v["appName"], v["userId"], v["id"]));
    out
}

/// Copies `from` into the fresh `to` (in `layout`), checks everything arrived, that a
/// second run copies nothing, and that a changed destination session is a conflict.
async fn copy_and_check(from: &str, to: &str, layout: &str) {
    let want = everything(open(from).await.as_ref()).await;
    assert_eq!(want.len(), 4);
    let (ok, err) = copy(&["--from", from, "--to", to, "--to-schema", layout]);
    assert!(ok, "copy failed: {err}");
    assert!(
        err.contains("copied 4, unchanged 0, conflicts 0; verified 4 session(s) with 16 event(s)"),
        "{err}"
    );
    let dest = open(to).await;
    assert_eq!(dest.storage_layout().map(|l| l.name()), Some(layout));
    assert_eq!(everything(dest.as_ref()).await, want);

    let (ok, err) = copy(&["--from", from, "--to", to]);
    assert!(ok, "second copy failed: {err}");
    assert!(err.contains("copied 0, unchanged 4, conflicts 0"), "{err}");

    // A destination session that moved on is not overwritten.
    let key = adk_sessions::SessionKey::new("shop", "bob", "s3");
    let s3 = dest.get(&key, GetFilter::all()).await.unwrap();
    dest.append_event(
        &s3,
        Event::new("later", "user").with_content(Content::text("user", "more")),
    )
    .await
    .unwrap();
    let moved = everything(dest.as_ref()).await;
    dest.close().await.unwrap();
    let (ok, err) = copy(&["--from", from, "--to", to]);
    assert!(!ok, "a conflict must fail the copy");
    assert!(
        err.contains("conflict: session shop/bob/s3 exists in the destination with other events"),
        "{err}"
    );
    assert!(err.contains("copied 0, unchanged 3, conflicts 1"), "{err}");
    assert_eq!(everything(open(to).await.as_ref()).await, moved);
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_sessions_move_to_adk_gos_layout_and_back_unchanged() {
    let dir = temp_dir();
    let python = sqlite_url(&dir, "python.db");
    populate(open(&python).await.as_ref()).await;
    let go = sqlite_url(&dir, "go.db");
    copy_and_check(&python, &go, "adk-go").await;

    // And back, from adk-go's layout into a fresh adk-python file: still the same.
    let back = sqlite_url(&dir, "back.db");
    let (ok, err) = copy(&["--from", &python, "--to", &go, "--app", "desk"]);
    assert!(ok && err.contains("unchanged 1"), "{err}");
    let (ok, err) = copy(&["--from", &go, "--to", &back]);
    assert!(ok, "{err}");
    let back_service = open(&back).await;
    assert_eq!(
        back_service.storage_layout(),
        Some(StorageLayout::AdkPython)
    );
    let go_sessions = everything(open(&go).await.as_ref()).await;
    assert_eq!(everything(back_service.as_ref()).await, go_sessions);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn bad_arguments_are_refused_before_anything_is_written() {
    let dir = temp_dir();
    let a = sqlite_url(&dir, "a.db");
    let (ok, err) = copy(&["--from", &a, "--to", &a]);
    assert!(!ok && err.contains("same database"), "{err}");
    let (ok, err) = copy(&[
        "--from",
        &a,
        "--to",
        &sqlite_url(&dir, "b.db"),
        "--to-schema",
        "go",
    ]);
    assert!(!ok && err.contains("not adk-python or adk-go"), "{err}");
    let (ok, err) = copy(&["--from", "memory://", "--to", &sqlite_url(&dir, "c.db")]);
    assert!(ok && err.contains("copied 0"), "{err}");
    assert!(!dir.join("a.db").exists() && !dir.join("b.db").exists());
    std::fs::remove_dir_all(dir).ok();
}

/// Runs one statement on the server's base database.
async fn admin(base: &str, sql: String) {
    let sql = sqlx::AssertSqlSafe(sql);
    if base.starts_with("postgres") {
        let mut conn = sqlx::PgConnection::connect(base).await.unwrap();
        sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
    } else {
        let mut conn = sqlx::MySqlConnection::connect(base).await.unwrap();
        sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
    }
}

/// A fresh database on the server named by `var` and its name, or `None` (skipped
/// loudly).
async fn fresh_database(var: &str) -> Option<(String, String)> {
    let Ok(base) = std::env::var(var) else {
        adk_sessions::testsuite::skip(&format!(
            "set {var} to run the copy tests against a real server"
        ));
        return None;
    };
    let name = format!(
        "adk_copy_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let (head, _) = base.rsplit_once('/').expect("a URL with a database");
    let charset = if base.starts_with("postgres") {
        ""
    } else {
        " CHARACTER SET utf8mb4"
    };
    admin(&base, format!("CREATE DATABASE {name}{charset}")).await;
    Some((format!("{head}/{name}"), name))
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_sessions_move_to_postgres_and_mariadb_in_adk_gos_layout() {
    let dir = temp_dir();
    let python = sqlite_url(&dir, "python.db");
    populate(open(&python).await.as_ref()).await;
    for var in [
        "ADK_SESSIONS_TEST_POSTGRES_URL",
        "ADK_SESSIONS_TEST_MYSQL_URL",
    ] {
        if let Some((url, name)) = fresh_database(var).await {
            copy_and_check(&python, &url, "adk-go").await;
            let base = std::env::var(var).unwrap();
            let force = if base.starts_with("postgres") {
                " WITH (FORCE)"
            } else {
                ""
            };
            admin(&base, format!("DROP DATABASE {name}{force}")).await;
        }
    }
    std::fs::remove_dir_all(dir).ok();
}
