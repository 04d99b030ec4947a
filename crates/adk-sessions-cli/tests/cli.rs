//! The operator CLI: export → import between backends reproduces the sessions (ids,
//! state, events), re-importing changes nothing, conflicts are reported; `sessions`
//! and `schema` subcommands against SQLite files through the real binary.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use adk_sessions::{
    Content, CreateOptions, Event, EventPolicy, GetFilter, OpenOptions, PageRequest, SessionService,
};
use adk_sessions_cli::ops::export::session_line;
use adk_sessions_cli::ops::import::import_lines;
use serde_json::{json, Value};

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("adk-sessions-cli-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn populate(service: &dyn SessionService) {
    let state = json!({"k": 1, "app:a": "x", "user:lang": "en"});
    for (user, id) in [("u1", "s1"), ("u1", "s2"), ("u2", "s3")] {
        let s = service
            .create(
                "app",
                user,
                CreateOptions::new().session_id(id).state(state.clone()),
            )
            .await
            .unwrap();
        for i in 0..3 {
            let e = Event::new(
                format!("inv-{i}"),
                if i % 2 == 0 { "user" } else { "agent" },
            )
            .with_content(Content::text("user", format!("message {i} of {id}")))
            .with_state("turn", json!(i))
            .with_state("temp:scratch", json!(true));
            service.append_event(&s, e).await.unwrap();
        }
    }
    service
        .create("other_app", "u1", CreateOptions::new().session_id("o1"))
        .await
        .unwrap();
}

/// Every session of `app`, as whole export lines (an import keeps `lastUpdateTime`).
async fn snapshot(service: &dyn SessionService, app: &str) -> Vec<Value> {
    let page = service
        .list(app, None, &PageRequest::default())
        .await
        .unwrap();
    let mut out = Vec::new();
    for s in page.sessions {
        let full = service.get(s.key(), GetFilter::all()).await.unwrap();
        out.push(session_line(&full));
    }
    out.sort_by_key(|v| v["id"].as_str().unwrap().to_owned());
    out
}

async fn export_lines(service: &dyn SessionService, app: &str) -> Vec<String> {
    let page = service
        .list(app, None, &PageRequest::default())
        .await
        .unwrap();
    let mut lines = Vec::new();
    for s in page.sessions {
        let full = service.get(s.key(), GetFilter::all()).await.unwrap();
        lines.push(session_line(&full).to_string());
    }
    lines
}

#[tokio::test(flavor = "multi_thread")]
async fn memory_export_imported_into_sqlite_reproduces_the_sessions_and_reimport_changes_nothing() {
    let source = adk_sessions::open("memory://", &OpenOptions::default())
        .await
        .unwrap();
    populate(source.as_ref()).await;
    let dir = temp_dir();
    let url = format!("sqlite://{}", dir.join("target.db").display());
    let target: Arc<dyn SessionService> = adk_sessions::open(&url, &OpenOptions::default())
        .await
        .unwrap();

    let lines = export_lines(source.as_ref(), "app").await;
    assert_eq!(lines.len(), 3);
    let first = import_lines(
        target.as_ref(),
        lines.clone().into_iter().map(Ok),
        EventPolicy::default(),
        || {},
    )
    .await
    .unwrap();
    assert_eq!(
        (first.imported, first.unchanged, first.conflicts.len()),
        (3, 0, 0)
    );
    assert_eq!(
        snapshot(target.as_ref(), "app").await,
        snapshot(source.as_ref(), "app").await
    );

    let second = import_lines(
        target.as_ref(),
        lines.into_iter().map(Ok),
        EventPolicy::default(),
        || {},
    )
    .await
    .unwrap();
    assert_eq!(
        (second.imported, second.unchanged, second.conflicts.len()),
        (0, 3, 0)
    );
    assert_eq!(
        snapshot(target.as_ref(), "app").await,
        snapshot(source.as_ref(), "app").await
    );
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_import_over_a_different_session_is_a_reported_conflict_that_changes_nothing() {
    let source = adk_sessions::open("memory://", &OpenOptions::default())
        .await
        .unwrap();
    populate(source.as_ref()).await;
    let target = adk_sessions::open("memory://", &OpenOptions::default())
        .await
        .unwrap();
    target
        .create("app", "u1", CreateOptions::new().session_id("s1"))
        .await
        .unwrap();
    let before = snapshot(target.as_ref(), "app").await;
    let lines: Vec<String> = export_lines(source.as_ref(), "app")
        .await
        .into_iter()
        .filter(|l| l.contains("\"s1\""))
        .collect();
    let summary = import_lines(
        target.as_ref(),
        lines.into_iter().map(Ok),
        EventPolicy::default(),
        || {},
    )
    .await
    .unwrap();
    assert_eq!(summary.conflicts.len(), 1, "{summary:?}");
    assert!(summary.conflicts[0].contains("app/u1/s1"));
    assert_eq!(snapshot(target.as_ref(), "app").await, before);
}

fn bin(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_adk-sessions"))
        .args(args)
        .env_remove("ADK_SESSIONS_DB")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_binary_exports_imports_inspects_and_deletes_between_sqlite_files() {
    let dir = temp_dir();
    let a = format!("sqlite://{}", dir.join("a.db").display());
    let b = format!("sqlite://{}", dir.join("b.db").display());
    let file = dir.join("export.jsonl");
    {
        let source = adk_sessions::open(&a, &OpenOptions::default())
            .await
            .unwrap();
        populate(source.as_ref()).await;
    }
    let (ok, _, err) = bin(&["schema", "init", "--db", &b]);
    assert!(ok, "{err}");
    let (ok, out, err) = bin(&["schema", "check", "--db", &b]);
    assert!(ok && out.starts_with("ok"), "{out}{err}");

    let (ok, _, err) = bin(&[
        "export",
        "--db",
        &a,
        "--app",
        "app",
        "--out",
        file.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(err.contains("exported 3 session(s)"), "{err}");
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(text.lines().count(), 3);

    let (ok, _, err) = bin(&["import", "--db", &b, file.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(
        err.contains("imported 3, unchanged 0, conflicts 0"),
        "{err}"
    );
    let (ok, _, err) = bin(&["import", "--db", &b, file.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(
        err.contains("imported 0, unchanged 3, conflicts 0"),
        "{err}"
    );

    let source = adk_sessions::open(&a, &OpenOptions::default())
        .await
        .unwrap();
    let target = adk_sessions::open(&b, &OpenOptions::default())
        .await
        .unwrap();
    assert_eq!(
        snapshot(target.as_ref(), "app").await,
        snapshot(source.as_ref(), "app").await
    );
    drop(target);

    let (ok, out, _) = bin(&["sessions", "list", "--db", &b, "app", "--user", "u1"]);
    assert!(ok);
    assert_eq!(out.lines().count(), 2, "{out}");
    let (ok, out, _) = bin(&["sessions", "show", "--db", &b, "app", "u1", "s1"]);
    assert!(ok);
    let shown: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["events"].as_array().unwrap().len(), 3);
    let (ok, _, err) = bin(&["sessions", "delete", "--db", &b, "app", "u1", "s1"]);
    assert!(ok && err.contains("deleted"), "{err}");
    let (ok, _, err) = bin(&["sessions", "show", "--db", &b, "app", "u1", "s1"]);
    assert!(!ok && err.contains("not found"), "{err}");
    std::fs::remove_dir_all(dir).ok();
}

/// After a clean stop (SIGTERM) the SQLite WAL is merged, so a copy
/// of the `.db` file alone holds every acknowledged write; `schema init` leaves a complete
/// file too.
#[cfg(unix)]
#[tokio::test]
async fn a_clean_stop_leaves_a_complete_db_file() {
    let dir = temp_dir();
    let db = dir.join("served.db");
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_adk-sessions"))
        .args([
            "serve",
            "--db",
            &format!("sqlite://{}", db.display()),
            "--addr",
            &format!("127.0.0.1:{port}"),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if client.get(format!("{base}/healthz")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    for i in 0..20 {
        let r = client
            .post(format!("{base}/apps/app/users/u/sessions"))
            .json(&serde_json::json!({"sessionId": format!("s{i}"), "state": {"i": i}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    assert!(
        child.wait().unwrap().success(),
        "serve did not stop cleanly"
    );
    // Only the .db file, as an operator copying it would.
    let copy_dir = temp_dir();
    let copy = copy_dir.join("copy.db");
    std::fs::copy(&db, &copy).unwrap();
    let service = adk_sessions::open(&format!("sqlite://{}", copy.display()), &Default::default())
        .await
        .unwrap();
    let listed = service
        .list("app", Some("u"), &Default::default())
        .await
        .unwrap();
    assert_eq!(
        listed.sessions.len(),
        20,
        "the copied .db file lacks writes"
    );
    let init = copy_dir.join("init.db");
    let (ok, _, err) = bin(&[
        "schema",
        "init",
        "--db",
        &format!("sqlite://{}", init.display()),
    ]);
    assert!(ok, "{err}");
    let wal = std::fs::metadata(init.with_extension("db-wal"))
        .map(|m| m.len())
        .unwrap_or(0);
    assert_eq!(wal, 0, "schema init left its schema in the WAL");
}

/// A connection that sends nothing, or its header a byte at a time,
/// is closed after `--header-timeout`; at most `--max-connections` are served at once, and
/// a healthy client is served again as soon as slots free up.
#[test]
fn silent_slow_and_surplus_connections_are_closed() {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::{Duration, Instant};

    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_adk-sessions"))
        .args([
            "serve",
            "--db",
            "memory://",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--header-timeout",
            "1",
            "--max-connections",
            "3",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let addr = format!("127.0.0.1:{port}");
    let connect = || {
        for _ in 0..100 {
            if let Ok(s) = TcpStream::connect(&addr) {
                return s;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the server does not listen");
    };
    // Closed by the server: a read returns EOF or an error (reset) within `within`.
    let closed_within = |s: &mut TcpStream, within: Duration| {
        s.set_read_timeout(Some(within)).unwrap();
        let mut buf = [0u8; 256];
        match s.read(&mut buf) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => !matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
        }
    };
    let healthz = |s: &mut TcpStream| {
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            .unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 64];
        let n = s.read(&mut buf).unwrap();
        String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200")
    };
    // Wait until it serves.
    let mut first = connect();
    assert!(healthz(&mut first));
    drop(first);
    std::thread::sleep(Duration::from_millis(100));

    // Silent: closed after about a second, not held.
    let start = Instant::now();
    let mut silent = connect();
    assert!(
        closed_within(&mut silent, Duration::from_secs(4)),
        "a silent connection was held"
    );
    assert!(
        start.elapsed() >= Duration::from_millis(800),
        "closed before the timeout"
    );

    // Slow: a header a byte every 200 ms never completes; closed.
    let mut slow = connect();
    let start = Instant::now();
    let mut closed = false;
    for b in b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n"
    {
        if slow.write_all(&[*b]).is_err() {
            closed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
        if start.elapsed() > Duration::from_secs(4) {
            break;
        }
    }
    assert!(
        closed || closed_within(&mut slow, Duration::from_secs(2)),
        "a header trickling in was held for {:?}",
        start.elapsed()
    );

    // Three idle connections fill the slots: a fourth is closed at once.
    let held: Vec<TcpStream> = (0..3).map(|_| connect()).collect();
    std::thread::sleep(Duration::from_millis(200));
    let mut surplus = connect();
    let start = Instant::now();
    assert!(
        closed_within(&mut surplus, Duration::from_millis(800)),
        "a fourth connection was served"
    );
    assert!(start.elapsed() < Duration::from_millis(800));
    // Once the idle ones are closed by their timeout, a client is served again.
    std::thread::sleep(Duration::from_millis(1500));
    drop(held);
    let mut again = connect();
    assert!(healthz(&mut again), "not served after the slots freed up");

    let _ = child.kill();
    let _ = child.wait();
}
