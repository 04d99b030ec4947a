//! The SQLite backend across processes: stale handles are refused across processes,
//! `app:`/`user:` keys written by 4 processes at once are never lost, and a process
//! killed with SIGKILL in the middle of appending loses no acknowledged append and leaves
//! an intact file: the cross-process checks of docs/contract.md, *One winner per stale
//! race*, *Scoped writes are never lost* and *One append, one transaction*.
//!
//! The child processes are this test binary itself: `child_process_entry` does nothing
//! unless `ADK_SQLITE_CHILD` names a role, in which case it plays that role.

#[path = "support/sqlite_files.rs"]
mod sqlite_files;
use sqlite_files::{open, temp_db};

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use adk_sessions::SqliteSessionService;
use adk_sessions::{CreateOptions, Error, Event, GetFilter, SessionKey, SessionService};
use rusqlite::Connection;
use serde_json::json;

/// Starts this test binary as a child playing `role` on `db`.
fn spawn_child(role: &str, db: &Path, extra: &[(&str, String)]) -> Child {
    let exe = std::env::current_exe().expect("the test binary");
    let mut cmd = Command::new(exe);
    cmd.args([
        "--exact",
        "child_process_entry",
        "--nocapture",
        "--test-threads=1",
        "--quiet",
    ])
    .env("ADK_SQLITE_CHILD", role)
    .env("ADK_SQLITE_DB", db)
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd.spawn().expect("spawn a child process")
}

/// Reads lines of a child until one starts with `prefix`.
fn wait_for_line(out: &mut BufReader<ChildStdout>, prefix: &str) -> String {
    let mut line = String::new();
    loop {
        line.clear();
        let n = out.read_line(&mut line).expect("read the child's output");
        assert!(n > 0, "the child ended before printing {prefix:?}");
        if line.starts_with(prefix) {
            return line.trim_end().to_owned();
        }
    }
}

/// Prints one line to the real stdout (not the test harness's capture) and flushes it.
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

#[test]
fn child_process_entry() {
    let Ok(role) = std::env::var("ADK_SQLITE_CHILD") else {
        return; // An ordinary test run: nothing to do.
    };
    let db = PathBuf::from(std::env::var("ADK_SQLITE_DB").expect("ADK_SQLITE_DB"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(async move {
        let service = Arc::new(open(&db).await);
        match role.as_str() {
            "scoped" => child_scoped(&service).await,
            "append_one" => {
                let s = service
                    .get(&SessionKey::new("app", "u", "s"), GetFilter::all())
                    .await
                    .unwrap();
                service
                    .append_event(&s, Event::new("child", "agent"))
                    .await
                    .unwrap();
                say("appended");
            }
            "stale_child" => {
                let s = service
                    .get(&SessionKey::new("app", "u", "s"), GetFilter::all())
                    .await
                    .unwrap();
                say("loaded");
                let mut line = String::new();
                std::io::stdin().read_line(&mut line).unwrap();
                match service.append_event(&s, Event::new("child", "agent")).await {
                    Ok(_) => say("result ok"),
                    Err(Error::Stale { .. }) => say("result stale"),
                    Err(e) => say(&format!("result error {e}")),
                }
            }
            "crash" => child_crash(service).await,
            other => panic!("unknown child role {other}"),
        }
    });
}

/// Writes 25 events with distinct `app:` and `user:` keys to its own session.
async fn child_scoped(service: &SqliteSessionService) {
    let idx = std::env::var("ADK_SQLITE_IDX").unwrap();
    let s = service
        .create(
            "app",
            "u",
            CreateOptions::new().session_id(format!("p{idx}")),
        )
        .await
        .unwrap();
    for j in 0..25 {
        let e = Event::new("inv", "agent")
            .with_state(format!("app:p{idx}_{j}"), json!(j))
            .with_state(format!("user:p{idx}_{j}"), json!(j))
            .with_state("n", json!(j));
        service.append_event(&s, e).await.unwrap();
    }
    say("done");
}

/// Appends forever from 4 tasks (4 sessions), printing each acknowledged event.
async fn child_crash(service: Arc<SqliteSessionService>) {
    let round = std::env::var("ADK_SQLITE_ROUND").unwrap();
    let mut tasks = Vec::new();
    for k in 0..4 {
        let service = service.clone();
        let round = round.clone();
        tasks.push(tokio::spawn(async move {
            let id = format!("c{k}");
            let s = match service
                .create("app", "u", CreateOptions::new().session_id(&id))
                .await
            {
                Ok(s) => s,
                Err(Error::AlreadyExists { .. }) => service
                    .get(&SessionKey::new("app", "u", &id), GetFilter::recent(0))
                    .await
                    .unwrap(),
                Err(e) => panic!("{e}"),
            };
            for n in 0u64.. {
                let mut e = Event::new("inv", "agent").with_state("n", json!(n));
                e.id = format!("r{round}-{n}");
                e = e.with_state(format!("user:{k}-{n}"), json!(n));
                match service.append_event(&s, e).await {
                    Ok(stored) => say(&format!("ack {id} {}", stored.id)),
                    Err(err) => say(&format!("err {err}")),
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handle_is_stale_after_another_process_appended_and_vice_versa() {
    let db = temp_db("xstale");
    let service = open(&db).await;
    service
        .create("app", "u", CreateOptions::new().session_id("s"))
        .await
        .unwrap();

    // Another process appends after we loaded: our handle is stale.
    let ours = service
        .get(&SessionKey::new("app", "u", "s"), GetFilter::all())
        .await
        .unwrap();
    let child = spawn_child("append_one", &db, &[]);
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(out.status.success());
    let r = service
        .append_event(&ours, Event::new("parent", "agent"))
        .await;
    assert!(matches!(r, Err(Error::Stale { .. })), "{r:?}");

    // We append after another process loaded: its handle is stale.
    let db2 = db.clone();
    let (mut child, mut out) = tokio::task::spawn_blocking(move || {
        let mut child = spawn_child("stale_child", &db2, &[]);
        let mut out = BufReader::new(child.stdout.take().unwrap());
        wait_for_line(&mut out, "loaded");
        (child, out)
    })
    .await
    .unwrap();
    let fresh = service
        .get(&SessionKey::new("app", "u", "s"), GetFilter::all())
        .await
        .unwrap();
    service
        .append_event(&fresh, Event::new("parent", "agent"))
        .await
        .unwrap();
    let result = tokio::task::spawn_blocking(move || {
        writeln!(child.stdin.take().unwrap(), "go").unwrap();
        let line = wait_for_line(&mut out, "result");
        child.wait().unwrap();
        line
    })
    .await
    .unwrap();
    assert_eq!(result, "result stale");
    let s = service
        .get(&SessionKey::new("app", "u", "s"), GetFilter::all())
        .await
        .unwrap();
    assert_eq!(
        s.events().len(),
        2,
        "the child's and the parent's second append"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_processes_never_lose_app_or_user_keys() {
    let db = temp_db("xscoped");
    drop(open(&db).await);
    let db2 = db.clone();
    tokio::task::spawn_blocking(move || {
        let children: Vec<Child> = (0..4)
            .map(|i| spawn_child("scoped", &db2, &[("ADK_SQLITE_IDX", i.to_string())]))
            .collect();
        for c in children {
            let out = c.wait_with_output().unwrap();
            assert!(out.status.success());
            assert!(String::from_utf8_lossy(&out.stdout).contains("done"));
        }
    })
    .await
    .unwrap();
    let service = open(&db).await;
    let app = service.get_app_state("app").await.unwrap();
    let user = service.get_user_state("app", "u").await.unwrap();
    for i in 0..4 {
        for j in 0..25 {
            let k = format!("p{i}_{j}");
            assert_eq!(app.get(&k), Some(&json!(j)), "app:{k}");
            assert_eq!(user.get(&k), Some(&json!(j)), "user:{k}");
        }
    }
    assert_eq!(app.len(), 100);
}

/// A number from the clock, good enough to pick kill moments.
fn jitter(max: u64) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64;
    (nanos.wrapping_mul(6_364_136_223_846_793_005) >> 17) % max
}

#[test]
fn sigkill_during_appends_loses_no_acknowledged_append() {
    let db = temp_db("crash");
    let mut acked: Vec<(String, String)> = Vec::new();
    for round in 0..6 {
        let mut child = spawn_child("crash", &db, &[("ADK_SQLITE_ROUND", round.to_string())]);
        let out = child.stdout.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::<String>::new()));
        let sink = lines.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                sink.lock().unwrap().push(line);
            }
        });
        let start = Instant::now();
        while !lines.lock().unwrap().iter().any(|l| l.starts_with("ack ")) {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "the child never appended"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(20 + jitter(300)));
        child.kill().expect("SIGKILL the child");
        child.wait().unwrap();
        reader.join().unwrap();
        let lines = lines.lock().unwrap();
        let before = acked.len();
        for l in lines.iter() {
            if let Some(rest) = l.strip_prefix("ack ") {
                let (s, e) = rest.split_once(' ').expect("ack <session> <event>");
                acked.push((s.to_owned(), e.to_owned()));
            }
        }
        assert!(acked.len() > before, "round {round} acknowledged nothing");
        let errors = lines.iter().filter(|l| l.starts_with("err ")).count();
        eprintln!(
            "round {round}: {} appends acknowledged before SIGKILL, {errors} errors",
            acked.len() - before
        );
        check_file(&db, &acked);
    }
}

/// Every acknowledged append is there, the file is intact, no event lacks its session.
fn check_file(db: &Path, acked: &[(String, String)]) {
    let conn = Connection::open(db).unwrap();
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    let mut stmt = conn
        .prepare("SELECT count(*) FROM events WHERE app_name = 'app' AND user_id = 'u' AND session_id = ?1 AND id = ?2")
        .unwrap();
    for (s, e) in acked {
        let n: i64 = stmt.query_row([s, e], |r| r.get(0)).unwrap();
        assert_eq!(n, 1, "acknowledged event {e} of session {s} is missing");
    }
    let orphans: i64 = conn
        .query_row(
            "SELECT count(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM sessions s WHERE s.app_name = e.app_name AND s.user_id = e.user_id AND s.id = e.session_id)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(orphans, 0);
    // The session revision matches its newest event (nothing half-applied).
    let mismatched: i64 = conn
        .query_row(
            "SELECT count(*) FROM sessions s WHERE EXISTS (SELECT 1 FROM events e WHERE e.session_id = s.id) AND s.update_time < (SELECT max(timestamp) FROM events e WHERE e.session_id = s.id)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(mismatched, 0);
}
