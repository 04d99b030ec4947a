//! Interoperability with adk-python's `DatabaseSessionService` on one shared database
//! (docs/contract.md, section *Interoperability*): the real google-adk 2.13, driven by
//! `tests/py/interop.py`, and this project, through [`adk_sessions::open`], write and
//! read the same database.
//!
//! Every scenario runs against SQLite (a temporary file) and, when
//! `ADK_SESSIONS_TEST_POSTGRES_URL` / `ADK_SESSIONS_TEST_MYSQL_URL` are set (and the
//! `postgres` / `mysql` features are on), against a fresh database created on that server
//! for the test and dropped after it.
//!
//! The Python interpreter is `ADK_SESSIONS_PYTHON` (a virtualenv with
//! `google-adk[db]==2.13.0`, aiosqlite, asyncpg, aiomysql). Without it, or without a
//! server URL, a test prints a loud `SKIPPED:` line and passes — except when `CI` is set,
//! where a skip is a failure.

#[path = "support/json_diff.rs"]
mod json_diff;
use json_diff::assert_json_eq;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use adk_sessions::{
    CreateOptions, Error, Event, EventPolicy, GetFilter, OpenOptions, PageRequest, Session,
    SessionKey, SessionService, Timestamp,
};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------
// Environment: the Python peer, the databases, skipping.

/// Reports a test that cannot run here: a loud line locally, a failure in CI.
fn skip(why: &str) {
    adk_sessions::testsuite::skip(why);
}

fn python() -> Option<PathBuf> {
    std::env::var_os("ADK_SESSIONS_PYTHON")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/interop.py")
}

fn py_command(python: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(python);
    cmd.arg(script())
        .args(args)
        .env("PYTHONUTF8", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    cmd
}

/// Runs `interop.py ARGS` to completion and returns the JSON of its last stdout line.
fn py(python: &Path, args: &[&str]) -> Value {
    let out = py_command(python, args)
        .output()
        .unwrap_or_else(|e| panic!("running {} {args:?}: {e}", python.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "interop.py {args:?} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    let last = stdout.lines().rev().find(|l| !l.trim().is_empty());
    let last = last.unwrap_or_else(|| panic!("interop.py {args:?} printed nothing\n{stderr}"));
    serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("interop.py {args:?} printed non-JSON {last:?}: {e}"))
}

/// Which database a scenario runs on.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Sqlite,
    Postgres,
    Mysql,
}

/// One fresh database, reachable by this project (`rust_url`) and by SQLAlchemy
/// (`py_url`); removed on drop.
struct Db {
    python: PathBuf,
    rust_url: String,
    py_url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Files(PathBuf),
    Database { server_url: String, name: String },
}

impl Drop for Db {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Files(path) => {
                for suffix in ["", "-wal", "-shm", "-journal"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    let _ = std::fs::remove_file(PathBuf::from(p));
                }
            }
            Cleanup::Database { server_url, name } => {
                match py_command(&self.python, &["dropdb", server_url, name]).output() {
                    Ok(out) if out.status.success() => {}
                    Ok(out) => eprintln!(
                        "could not drop test database {name}: {}",
                        String::from_utf8_lossy(&out.stderr)
                    ),
                    Err(e) => eprintln!("could not drop test database {name}: {e}"),
                }
            }
        }
    }
}

fn unique_name() -> String {
    format!("adk_interop_{}", uuid::Uuid::new_v4().simple())
}

/// `server_url` with its database replaced by `name` (query string dropped when
/// `keep_query` is false).
fn with_database(server_url: &str, name: &str, keep_query: bool) -> String {
    let (base, query) = match server_url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (server_url, None),
    };
    let authority_start = base.find("://").map(|i| i + 3).unwrap_or(0);
    let path_start = base[authority_start..]
        .find('/')
        .map(|i| authority_start + i)
        .unwrap_or(base.len());
    let mut url = format!("{}/{name}", &base[..path_start]);
    if let (true, Some(q)) = (keep_query, query) {
        url.push('?');
        url.push_str(q);
    }
    url
}

/// A fresh database of `kind`, or `None` (after a loud skip) when this machine cannot
/// provide one.
fn fresh_db(kind: Kind) -> Option<Db> {
    let Some(python) = python() else {
        skip(&format!(
            "interop {kind:?}: ADK_SESSIONS_PYTHON is not set (a python with google-adk[db]==2.13.0, \
             aiosqlite, asyncpg and aiomysql, e.g. from .ci/requirements.txt)"
        ));
        return None;
    };
    match kind {
        Kind::Sqlite => {
            if !cfg!(feature = "sqlite") {
                skip("interop Sqlite: built without the sqlite feature");
                return None;
            }
            let path = std::env::temp_dir().join(format!("{}.db", unique_name()));
            let path_text = path.to_str().expect("temp path is UTF-8").to_owned();
            assert!(path.is_absolute(), "{path_text}");
            Some(Db {
                python,
                rust_url: format!("sqlite://{path_text}"),
                py_url: format!("sqlite+aiosqlite:///{path_text}"),
                cleanup: Cleanup::Files(path),
            })
        }
        Kind::Postgres | Kind::Mysql => {
            let (var, feature, py_scheme) = match kind {
                Kind::Postgres => (
                    "ADK_SESSIONS_TEST_POSTGRES_URL",
                    cfg!(feature = "postgres"),
                    "postgresql+asyncpg",
                ),
                _ => (
                    "ADK_SESSIONS_TEST_MYSQL_URL",
                    cfg!(feature = "mysql"),
                    "mysql+aiomysql",
                ),
            };
            let Some(server_url) = std::env::var(var).ok().filter(|u| !u.is_empty()) else {
                skip(&format!("interop {kind:?}: {var} is not set"));
                return None;
            };
            if !feature {
                skip(&format!(
                    "interop {kind:?}: {var} is set but the crate was built without the {} feature \
                     (run with --features postgres,mysql)",
                    if matches!(kind, Kind::Postgres) { "postgres" } else { "mysql" }
                ));
                return None;
            }
            let name = unique_name();
            py(&python, &["createdb", &server_url, &name]);
            let rust_url = with_database(&server_url, &name, true);
            let rest = with_database(&server_url, &name, false);
            let rest = rest.split_once("://").map(|(_, r)| r).unwrap_or(&rest);
            Some(Db {
                python,
                rust_url,
                py_url: format!("{py_scheme}://{rest}"),
                cleanup: Cleanup::Database { server_url, name },
            })
        }
    }
}

async fn open(db: &Db) -> Arc<dyn SessionService> {
    adk_sessions::open(&db.rust_url, &OpenOptions::default())
        .await
        .unwrap_or_else(|e| panic!("open {}: {e}", adk_sessions::redact_url(&db.rust_url)))
}

// ---------------------------------------------------------------------------------------
// Comparison helpers.

fn app_name() -> String {
    format!(
        "interop_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

fn state_value(session: &Session) -> Value {
    Value::Object(session.state().snapshot())
}

fn events_value(session: &Session) -> Vec<Value> {
    session
        .events()
        .iter()
        .map(|e| e.to_snake_value())
        .collect()
}

fn micros(v: &Value) -> Timestamp {
    Timestamp::from_secs_f64(v.as_f64().unwrap_or_else(|| panic!("{v} is not a number")))
        .expect("finite")
}

/// The fixture events (snake spelling), with fresh ids and increasing current times.
fn fixture_events(prefix: &str) -> Vec<Event> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/events");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("fixtures dir")
        .filter_map(|e| {
            let n = e.ok()?.file_name().into_string().ok()?;
            n.strip_suffix(".snake.json").map(str::to_owned)
        })
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no fixtures in {}", dir.display());
    let start = Timestamp::now().as_micros();
    names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let text = std::fs::read_to_string(dir.join(format!("{name}.snake.json"))).unwrap();
            let mut v: Value = serde_json::from_str(&text).unwrap();
            v["id"] = json!(format!("{prefix}-{i:02}-{name}"));
            v["timestamp"] = json!(Timestamp::from_micros(start + i as i64 * 1000).as_secs_f64());
            Event::from_json(v, EventPolicy::default())
                .unwrap_or_else(|e| panic!("fixture {name}: {e}"))
        })
        .collect()
}

/// `prefix:`-keys of a merged state with the prefix stripped.
fn scope_of(state: &Value, prefix: &str) -> Value {
    Value::Object(
        state
            .as_object()
            .unwrap()
            .iter()
            .filter_map(|(k, v)| k.strip_prefix(prefix).map(|k| (k.to_owned(), v.clone())))
            .collect(),
    )
}

// ---------------------------------------------------------------------------------------
// (a) adk-python writes, this project reads (docs/contract.md, *adk-python writes, this
// project reads*).

async fn python_writes_rust_reads(kind: Kind) {
    let Some(db) = fresh_db(kind) else { return };
    let app = app_name();
    let written = py(&db.python, &["write", &db.py_url, &app]);
    let svc = open(&db).await;

    let sessions = written["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 3);
    for s in sessions {
        let (user, id) = (s["user_id"].as_str().unwrap(), s["id"].as_str().unwrap());
        let what = format!("{kind:?} {user}/{id}");
        let got = svc
            .get(&SessionKey::new(&app, user, id), GetFilter::all())
            .await
            .unwrap_or_else(|e| panic!("{what}: get: {e}"));
        assert_eq!(got.app_name(), app);
        assert_eq!(got.user_id(), user);
        assert_eq!(got.id(), id);
        assert_json_eq(&state_value(&got), &s["state"], &format!("{what}: state"));
        let want_events = s["events"].as_array().unwrap();
        let got_events = events_value(&got);
        assert_json_eq(
            &Value::Array(got_events.clone()),
            &s["events"],
            &format!("{what}: events vs Python's get_session"),
        );
        assert_json_eq(
            &Value::Array(got_events.clone()),
            &s["appended"],
            &format!("{what}: events vs what Python appended"),
        );
        assert_eq!(
            got.revision(),
            micros(&s["last_update_time"]),
            "{what}: last_update_time"
        );
        // The filters select the same events Python stored.
        if want_events.len() >= 3 {
            let recent = svc
                .get(&SessionKey::new(&app, user, id), GetFilter::recent(3))
                .await
                .unwrap();
            assert_json_eq(
                &Value::Array(events_value(&recent)),
                &Value::Array(want_events[want_events.len() - 3..].to_vec()),
                &format!("{what}: newest 3"),
            );
            let after = want_events[1]["timestamp"].as_f64().unwrap();
            let filter = GetFilter::all().after(Timestamp::from_secs_f64(after).unwrap());
            let since = svc
                .get(&SessionKey::new(&app, user, id), filter)
                .await
                .unwrap();
            assert_json_eq(
                &Value::Array(events_value(&since)),
                &Value::Array(want_events[1..].to_vec()),
                &format!("{what}: after the second event's timestamp"),
            );
        }
        // Python stripped temp: keys before storing; so did the read.
        assert!(
            !got.state()
                .snapshot()
                .keys()
                .any(|k| k.starts_with("temp:")),
            "{what}: a temp: key came back"
        );
    }

    // Scoped state and listing.
    let s1_state = &sessions[0]["state"];
    assert_json_eq(
        &Value::Object(svc.get_app_state(&app).await.unwrap()),
        &scope_of(s1_state, "app:"),
        "app state",
    );
    for user in ["alice", "bob"] {
        assert_json_eq(
            &Value::Object(svc.get_user_state(&app, user).await.unwrap()),
            &written["user_states"][user],
            &format!("user state of {user}"),
        );
    }
    let page = svc
        .list(&app, Some("alice"), &PageRequest::default())
        .await
        .unwrap();
    let listed: Vec<&str> = page.sessions.iter().map(|s| s.id()).collect();
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(listed.contains(&"py-session-1") && listed.contains(&"py-session-2"));
    for listed in &page.sessions {
        assert!(listed.events().is_empty());
        let want = sessions
            .iter()
            .find(|s| s["id"] == json!(listed.id()))
            .unwrap();
        assert_json_eq(&state_value(listed), &want["state"], "listed state");
    }
    let all = svc.list(&app, None, &PageRequest::default()).await.unwrap();
    assert_eq!(all.sessions.len(), 3);

    // This project deletes a Python session: Python no longer finds it.
    svc.delete(&SessionKey::new(&app, "alice", "py-session-2"))
        .await
        .unwrap();
    let gone = py(
        &db.python,
        &["read", &db.py_url, &app, "alice", "py-session-2"],
    );
    assert_eq!(
        gone,
        Value::Null,
        "{kind:?}: Python still reads a deleted session"
    );
    assert!(matches!(
        svc.get(
            &SessionKey::new(&app, "alice", "py-session-2"),
            GetFilter::all()
        )
        .await,
        Err(Error::NotFound { .. })
    ));
}

// ---------------------------------------------------------------------------------------
// (b) this project writes, adk-python reads and appends, this project reads that back
// (docs/contract.md, *This project writes, adk-python reads and appends*).

async fn rust_writes_python_reads(kind: Kind) {
    let Some(db) = fresh_db(kind) else { return };
    let app = app_name();
    let svc = open(&db).await;

    let initial = json!({
        "app:rsAppKey": {"fromRust": true, "nestedCamel": [1, 2]},
        "user:rsUserKey": "ünïcode ✓",
        "sessionKey": null,
        "falseKey": false,
        "temp:dropped": "never stored",
    });
    let session = svc
        .create(
            &app,
            "alice",
            CreateOptions::new()
                .session_id("rs-session-1")
                .state(initial),
        )
        .await
        .unwrap();
    let sibling = svc
        .create(
            &app,
            "alice",
            CreateOptions::new().session_id("rs-session-2"),
        )
        .await
        .unwrap();
    svc.create(
        &app,
        "bob",
        CreateOptions::new()
            .session_id("rs-session-3")
            .state(json!({"bobKey": 1})),
    )
    .await
    .unwrap();
    let mut stored = Vec::new();
    for event in fixture_events("rs") {
        let e = svc
            .append_event(&session, event)
            .await
            .unwrap_or_else(|e| panic!("{kind:?}: append: {e}"));
        stored.push(e.to_snake_value());
    }
    let reloaded = svc
        .get(
            &SessionKey::new(&app, "alice", "rs-session-1"),
            GetFilter::all(),
        )
        .await
        .unwrap();
    assert_eq!(events_value(&reloaded), stored);

    // Python reads exactly what this project stored.
    let got = py(
        &db.python,
        &["read", &db.py_url, &app, "alice", "rs-session-1"],
    );
    assert_json_eq(
        &got["state"],
        &state_value(&reloaded),
        &format!("{kind:?}: Python's state of the Rust session"),
    );
    assert_json_eq(
        &got["events"],
        &Value::Array(stored.clone()),
        &format!("{kind:?}: Python's events of the Rust session"),
    );
    assert_eq!(
        micros(&got["last_update_time"]),
        reloaded.revision(),
        "{kind:?}: last_update_time seen by Python"
    );
    let got3 = py(
        &db.python,
        &["read", &db.py_url, &app, "bob", "rs-session-3"],
    );
    assert_json_eq(
        &got3["state"],
        &{
            // bob sees his own key and every app: key (the fixtures write some too).
            let mut want = reloaded.state().snapshot();
            want.retain(|k, _| k.starts_with("app:"));
            assert!(want.contains_key("app:rsAppKey"));
            want.insert("bobKey".into(), json!(1));
            Value::Object(want)
        },
        &format!("{kind:?}: bob's session"),
    );
    assert_eq!(got3["events"], json!([]));

    // Python appends to the Rust session; this project reads it back.
    let appended = py(
        &db.python,
        &["append", &db.py_url, &app, "alice", "rs-session-1"],
    );
    let after = svc
        .get(
            &SessionKey::new(&app, "alice", "rs-session-1"),
            GetFilter::all(),
        )
        .await
        .unwrap();
    assert_eq!(after.events().len(), stored.len() + 1);
    let last = after.events().last().unwrap().to_snake_value();
    assert_json_eq(
        &last,
        &appended["event"],
        &format!("{kind:?}: the Python event read by Rust"),
    );
    assert_eq!(
        after.revision(),
        micros(&appended["last_update_time"]),
        "{kind:?}: revision after the Python append"
    );
    let state = after.state().snapshot();
    assert_eq!(state["app:py_append"], json!({"fromPython": true}));
    assert_eq!(state["user:py_append"], json!([1, null, "two"]));
    assert_eq!(state["py_append"], json!(false));
    assert!(!state.contains_key("temp:py_append"));
    assert_eq!(state["falseKey"], json!(false));
    assert_eq!(state["sessionKey"], Value::Null);
    // Python's live state and a Rust reload agree on every persisted key.
    let mut live = appended["live_state"].as_object().unwrap().clone();
    live.retain(|k, _| !k.starts_with("temp:"));
    assert_json_eq(
        &Value::Object(state.clone()),
        &Value::Object(live),
        "Rust reload vs Python live state",
    );
    // The Python write is visible in scope to the other sessions.
    let sib = svc
        .get(
            &SessionKey::new(&app, "alice", sibling.id()),
            GetFilter::all(),
        )
        .await
        .unwrap();
    assert_eq!(
        sib.state().get("user:py_append").unwrap(),
        json!([1, null, "two"])
    );
    let bob = svc
        .get(
            &SessionKey::new(&app, "bob", "rs-session-3"),
            GetFilter::all(),
        )
        .await
        .unwrap();
    assert_eq!(
        bob.state().get("app:py_append").unwrap(),
        json!({"fromPython": true})
    );
    assert!(bob.state().get("user:py_append").is_none());

    // And this project appends again after Python; Python sees both.
    let more = Event::new("rs-inv-2", "rs_agent").with_state("afterPython", json!(true));
    let more = svc.append_event(&after, more).await.unwrap();
    let got = py(
        &db.python,
        &["read", &db.py_url, &app, "alice", "rs-session-1"],
    );
    let events = got["events"].as_array().unwrap();
    assert_eq!(events.len(), stored.len() + 2);
    assert_json_eq(&events[stored.len()], &appended["event"], "Python event");
    assert_json_eq(
        &events[stored.len() + 1],
        &more.to_snake_value(),
        "Rust event after Python",
    );
    assert_eq!(got["state"]["afterPython"], json!(true));

    // Python deletes a Rust session: this project no longer finds it.
    py(
        &db.python,
        &["delete", &db.py_url, &app, "alice", "rs-session-2"],
    );
    assert!(matches!(
        svc.get(
            &SessionKey::new(&app, "alice", "rs-session-2"),
            GetFilter::all()
        )
        .await,
        Err(Error::NotFound { .. })
    ));

    ties_and_filters(&db, svc.as_ref(), &app, kind).await;
}

/// Events with equal timestamps (a whole second, no fraction) written by this project
/// come back in the same order, through the same filters, in both runtimes.
async fn ties_and_filters(db: &Db, svc: &dyn SessionService, app: &str, kind: Kind) {
    let session = svc
        .create(app, "alice", CreateOptions::new().session_id("rs-ties"))
        .await
        .unwrap();
    let whole = (Timestamp::now().as_micros() / 1_000_000 + 1) * 1_000_000;
    let t = Timestamp::from_micros(whole).as_secs_f64();
    let late = Timestamp::from_micros(whole + 500_000).as_secs_f64();
    for (id, ts) in [
        ("tie-c", t),
        ("tie-a", t),
        ("tie-b", t),
        ("tie-z-late", late),
    ] {
        let mut event = Event::new("rs-inv-ties", "rs_agent");
        event.id = id.to_owned();
        event.timestamp = ts;
        svc.append_event(&session, event).await.unwrap();
    }
    let ids = |events: &Value| -> Vec<String> {
        events
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let after_t = Timestamp::from_micros(whole + 1).as_secs_f64();
    let cases: [(Option<usize>, Option<f64>, Vec<&str>); 5] = [
        (None, None, vec!["tie-a", "tie-b", "tie-c", "tie-z-late"]),
        (Some(2), None, vec!["tie-c", "tie-z-late"]),
        (None, Some(t), vec!["tie-a", "tie-b", "tie-c", "tie-z-late"]),
        (None, Some(after_t), vec!["tie-z-late"]),
        (Some(0), None, vec![]),
    ];
    // One Python run reads the session once per filter.
    let specs: Vec<String> = cases
        .iter()
        .map(|(recent, after, _)| {
            format!(
                "{}:{}",
                recent.map_or("-".to_owned(), |n| n.to_string()),
                after.map_or("-".to_owned(), |a| format!("{a:.6}"))
            )
        })
        .collect();
    let mut args = vec!["read", db.py_url.as_str(), app, "alice", "rs-ties"];
    args.extend(specs.iter().map(String::as_str));
    let python_reads = py(&db.python, &args);
    for ((recent, after, want), got) in cases.iter().zip(python_reads.as_array().unwrap()) {
        let what = format!("{kind:?}: ties, recent {recent:?}, after {after:?}");
        let mut filter = match *recent {
            Some(n) => GetFilter::recent(n),
            None => GetFilter::all(),
        };
        if let Some(a) = *after {
            filter = filter.after(Timestamp::from_secs_f64(a).unwrap());
        }
        let rust = svc
            .get(&SessionKey::new(app, "alice", "rs-ties"), filter)
            .await
            .unwrap();
        let rust_ids: Vec<String> = rust.events().iter().map(|e| e.id.clone()).collect();
        assert_eq!(rust_ids, *want, "{what}: this project");
        assert_eq!(ids(&got["events"]), *want, "{what}: adk-python");
        assert_json_eq(&got["events"], &Value::Array(events_value(&rust)), &what);
    }
}

// ---------------------------------------------------------------------------------------
// (c) stale handles are refused across the two runtimes, in both directions.

async fn stale_across_runtimes(kind: Kind) {
    let Some(db) = fresh_db(kind) else { return };
    let app = app_name();
    let svc = open(&db).await;
    let session = svc
        .create(
            &app,
            "alice",
            CreateOptions::new()
                .session_id("shared")
                .state(json!({"n": 0})),
        )
        .await
        .unwrap();
    svc.append_event(
        &session,
        Event::new("rs-inv-0", "rs_agent").with_state("n", json!(1)),
    )
    .await
    .unwrap();
    let mut expected_events = 1;

    // Rust handle loaded; Python appends; the Rust append is refused as stale. Also when
    // Python's event is older than the handle's revision (adk-python then moves the
    // stored update time backwards).
    for older in [false, true] {
        let what = format!("{kind:?}, Python event older than the revision: {older}");
        let handle = svc
            .get(&SessionKey::new(&app, "alice", "shared"), GetFilter::all())
            .await
            .unwrap();
        let mut args = vec!["append", db.py_url.as_str(), &app, "alice", "shared"];
        let old_ts = format!("{:.6}", handle.last_update_time() - 60.0);
        if older {
            args.push(&old_ts);
        }
        let appended = py(&db.python, &args);
        expected_events += 1;
        let attempt = Event::new("rs-inv-stale", "rs_agent").with_state("rsStale", json!(true));
        match svc.append_event(&handle, attempt).await {
            Err(Error::Stale { .. }) => {}
            other => panic!(
                "{what}: a Rust handle loaded before a Python append must be Stale, got {other:?}"
            ),
        }
        let now = svc
            .get(&SessionKey::new(&app, "alice", "shared"), GetFilter::all())
            .await
            .unwrap();
        assert_eq!(
            now.events().len(),
            expected_events,
            "{what}: the stale append stored nothing"
        );
        assert!(
            now.events()
                .iter()
                .any(|e| e.to_snake_value() == appended["event"]),
            "{what}: Python's event is there"
        );
        assert!(now.state().get("rsStale").is_none(), "{what}");
        // After a reload the Rust append goes through.
        svc.append_event(
            &now,
            Event::new("rs-inv-1", "rs_agent").with_state("n", json!(2)),
        )
        .await
        .unwrap_or_else(|e| panic!("{what}: append after reload: {e}"));
        expected_events += 1;
    }

    // Python session loaded; Rust appends; the Python append raises its stale error.
    // Also when the Rust event is older than the revision Python loaded: this project
    // still moves the stored update time forward, which is what adk-python checks.
    for (round, older) in [(3, false), (4, true)] {
        let what = format!("{kind:?}, Rust event older than the revision: {older}");
        let verdict = python_stale_while(&db, &app, expected_events, || async {
            let fresh = svc
                .get(&SessionKey::new(&app, "alice", "shared"), GetFilter::all())
                .await
                .unwrap();
            let mut event =
                Event::new(format!("rs-inv-{round}"), "rs_agent").with_state("n", json!(round));
            if older {
                event.timestamp = fresh.last_update_time() - 60.0;
            }
            svc.append_event(&fresh, event)
                .await
                .unwrap_or_else(|e| panic!("{what}: Rust append: {e}"));
        })
        .await;
        expected_events += 1;
        assert_eq!(
            verdict["stale"],
            json!(true),
            "{what}: a Python session loaded before a Rust append must raise its stale error; got {verdict}"
        );
        assert_eq!(verdict["error_type"], json!("StaleSessionError"));
        let end = svc
            .get(&SessionKey::new(&app, "alice", "shared"), GetFilter::all())
            .await
            .unwrap();
        assert_eq!(
            end.events().len(),
            expected_events,
            "{what}: the stale Python append stored nothing"
        );
        assert!(end
            .events()
            .iter()
            .all(|e| e.invocation_id != "py-inv-stale"));
        assert_eq!(end.state().get("n").unwrap(), json!(round));
        assert!(end.state().get("py_stale").is_none());
    }

    // And Python, reloading, appends fine after the Rust writes.
    let ok = py(&db.python, &["append", &db.py_url, &app, "alice", "shared"]);
    let last = svc
        .get(&SessionKey::new(&app, "alice", "shared"), GetFilter::all())
        .await
        .unwrap();
    assert_eq!(last.events().len(), expected_events + 1);
    assert_json_eq(
        &last.events().last().unwrap().to_snake_value(),
        &ok["event"],
        "Python append after reload",
    );
}

/// Runs `interop.py stale` on alice/shared: once Python has loaded the session (with
/// `events` events), runs `write`, then lets Python append; returns Python's verdict.
async fn python_stale_while<F, Fut>(db: &Db, app: &str, events: usize, write: F) -> Value
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let signal = std::env::temp_dir().join(format!("{}.signal", unique_name()));
    let signal_text = signal.to_str().unwrap().to_owned();
    let mut child = py_command(
        &db.python,
        &["stale", &db.py_url, app, "alice", "shared", &signal_text],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("spawn interop.py stale");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let loaded: Value = match lines.next() {
        Some(Ok(l)) => serde_json::from_str(&l).unwrap_or(Value::Null),
        _ => Value::Null,
    };
    if loaded.get("loaded").is_none() {
        let out = child.wait_with_output().unwrap();
        panic!(
            "interop.py stale did not load the session: {loaded}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(loaded["events"], json!(events));
    write().await;
    std::fs::write(&signal, b"go").unwrap();
    let verdict: Value = lines
        .map_while(Result::ok)
        .filter(|l| !l.trim().is_empty())
        .last()
        .and_then(|l| serde_json::from_str(&l).ok())
        .unwrap_or(Value::Null);
    let out = child.wait_with_output().unwrap();
    let _ = std::fs::remove_file(&signal);
    assert!(
        out.status.success(),
        "interop.py stale failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    verdict
}

/// adk-python and this project append at the same time to two sessions of one user,
/// each event writing its own `app:`, `user:` and session key: no write is lost.
async fn concurrent_scoped_writes(kind: Kind) {
    const N: usize = 40;
    let Some(db) = fresh_db(kind) else { return };
    let app = app_name();
    let svc = open(&db).await;
    svc.create(&app, "alice", CreateOptions::new().session_id("py-hammer"))
        .await
        .unwrap();
    let ours = svc
        .create(&app, "alice", CreateOptions::new().session_id("rs-hammer"))
        .await
        .unwrap();
    let mut child = py_command(
        &db.python,
        &[
            "hammer",
            &db.py_url,
            &app,
            "alice",
            "py-hammer",
            &N.to_string(),
            "py",
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("spawn interop.py hammer");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = lines.next().and_then(Result::ok).unwrap_or_default();
    assert!(ready.contains("ready"), "interop.py hammer: {ready:?}");
    for i in 0..N {
        let event = Event::new("rs-inv-hammer", "rs_agent")
            .with_state(format!("app:rs{i}"), json!(i))
            .with_state(format!("user:rs{i}"), json!(i))
            .with_state(format!("rs{i}"), json!(i));
        svc.append_event(&ours, event)
            .await
            .unwrap_or_else(|e| panic!("{kind:?}: Rust append {i}: {e}"));
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let summary: Value = lines
        .map_while(Result::ok)
        .filter(|l| !l.trim().is_empty())
        .last()
        .and_then(|l| serde_json::from_str(&l).ok())
        .unwrap_or(Value::Null);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "interop.py hammer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{kind:?}: adk-python's side of the race: {summary}");
    let app_state = svc.get_app_state(&app).await.unwrap();
    let user_state = svc.get_user_state(&app, "alice").await.unwrap();
    let mut lost = Vec::new();
    for i in 0..N {
        for who in ["py", "rs"] {
            let key = format!("{who}{i}");
            if app_state.get(&key) != Some(&json!(i)) {
                lost.push(format!("app:{key}"));
            }
            if user_state.get(&key) != Some(&json!(i)) {
                lost.push(format!("user:{key}"));
            }
        }
    }
    assert!(
        lost.is_empty(),
        "{kind:?}: writes lost when adk-python and this project append together: {lost:?}"
    );
    // Python sees every key too, and each session its own keys.
    let got = py(
        &db.python,
        &["read", &db.py_url, &app, "alice", "py-hammer"],
    );
    let state = got["state"].as_object().unwrap();
    for i in 0..N {
        for key in [
            format!("app:rs{i}"),
            format!("user:rs{i}"),
            format!("py{i}"),
        ] {
            assert_eq!(
                state.get(&key),
                Some(&json!(i)),
                "{kind:?}: Python misses {key}"
            );
        }
        assert!(!state.contains_key(&format!("rs{i}")));
    }
}

/// What adk-python does with fields it does not know, which is why this project keeps
/// them at the top level but refuses them inside `actions` / the content model unless
/// told to be lenient (docs/contract.md, *Unknown fields across runtimes*).
async fn unknown_fields_across_runtimes(kind: Kind) {
    let Some(db) = fresh_db(kind) else { return };
    let app = app_name();
    let svc = open(&db).await;

    // An unknown top-level field: adk-python reads the session (and ignores the field);
    // this project keeps it.
    let session = svc
        .create(&app, "alice", CreateOptions::new().session_id("top-level"))
        .await
        .unwrap();
    let mut v = Event::new("rs-inv-top", "rs_agent").to_snake_value();
    v["futureField"] = json!({"keptBy": "adk-sessions"});
    let event = Event::from_json(v, EventPolicy::default()).unwrap();
    let stored = svc.append_event(&session, event).await.unwrap();
    let got = py(
        &db.python,
        &["read", &db.py_url, &app, "alice", "top-level"],
    );
    let mut want = stored.to_snake_value();
    want.as_object_mut().unwrap().remove("futureField");
    assert_json_eq(
        &got["events"][0],
        &want,
        &format!("{kind:?}: Python's view of an event with an unknown top-level field"),
    );
    let back = svc
        .get(
            &SessionKey::new(&app, "alice", "top-level"),
            GetFilter::all(),
        )
        .await
        .unwrap();
    assert_eq!(
        back.events().get(0).unwrap().extra["futureField"],
        json!({"keptBy": "adk-sessions"})
    );

    // An unknown field inside `actions`, stored with the lenient option: adk-python
    // 2.13 can no longer read the session at all.
    let lenient = adk_sessions::open(
        &db.rust_url,
        &OpenOptions::default().policy(EventPolicy {
            lenient_unknown_fields: true,
        }),
    )
    .await
    .unwrap();
    let session = lenient
        .create(&app, "alice", CreateOptions::new().session_id("lenient"))
        .await
        .unwrap();
    let mut v = Event::new("rs-inv-lenient", "rs_agent").to_snake_value();
    v["actions"]["futureAction"] = json!(true);
    let strict_refusal = Event::from_json(v.clone(), EventPolicy::default());
    assert!(matches!(strict_refusal, Err(Error::InvalidArgument(_))));
    let event = Event::from_json(
        v,
        EventPolicy {
            lenient_unknown_fields: true,
        },
    )
    .unwrap();
    lenient.append_event(&session, event).await.unwrap();
    let out = py_command(&db.python, &["read", &db.py_url, &app, "alice", "lenient"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("futureAction"),
        "{kind:?}: adk-python 2.13 was expected to refuse a session holding an event with an \
         unknown field in actions (the reason for the strict default); status {}, stderr:\n{stderr}",
        out.status
    );
}

// ---------------------------------------------------------------------------------------
// (d) numbers adk-python stores that 64-bit JSON numbers cannot hold.

/// Integers beyond 64 bits that adk-python wrote into session, user and app state keep
/// their exact value for Python after this project appends deltas to the same rows.
async fn python_big_ints_survive_rust_appends(kind: Kind) {
    let Some(db) = fresh_db(kind) else { return };
    let app = app_name();
    py(&db.python, &["edge", &db.py_url, &app]);
    let svc = open(&db).await;
    let session = svc
        .get(
            &SessionKey::new(&app, "alice", "edge-big"),
            GetFilter::all(),
        )
        .await
        .unwrap_or_else(|e| panic!("{kind:?}: get edge-big: {e}"));
    let event = Event::new("rs-inv-big", "rs_agent")
        .with_state("rsKey", json!(1))
        .with_state("app:rsKey", json!(1))
        .with_state("user:rsKey", json!(1));
    svc.append_event(&session, event).await.unwrap();
    let report = py(&db.python, &["check-big", &db.py_url, &app]);
    assert_eq!(
        report["exact"],
        json!(true),
        "{kind:?}: integers adk-python stored in state changed after an append by this \
         project (Python now reads: {})",
        report["keys"]
    );
}

/// A session whose state adk-python wrote with NaN / Infinity (bare tokens, which
/// `json.dumps` emits and SQLite / MySQL TEXT columns keep) is still readable here.
async fn python_nan_state_is_readable(kind: Kind) {
    let Some(db) = fresh_db(kind) else { return };
    let app = app_name();
    let made = py(&db.python, &["edge", &db.py_url, &app]);
    if made["nan_stored"] != json!(true) {
        // PostgreSQL's JSONB refuses NaN: adk-python cannot store it there either.
        eprintln!("{kind:?}: adk-python could not store NaN state here; nothing to read");
        return;
    }
    let svc = open(&db).await;
    let session = svc
        .get(
            &SessionKey::new(&app, "alice", "edge-nan"),
            GetFilter::all(),
        )
        .await
        .unwrap_or_else(|e| {
            panic!("{kind:?}: a session adk-python wrote with NaN state is unreadable: {e}")
        });
    assert_eq!(session.state().get("plainKey").unwrap(), json!(1));
    let listed = svc
        .list(&app, Some("alice"), &PageRequest::default())
        .await
        .unwrap_or_else(|e| panic!("{kind:?}: list with a NaN-state session: {e}"));
    assert_eq!(listed.sessions.len(), 2);
}

/// adk-python stamps events with `time.time()` at full float precision. This project must
/// read those timestamps bit for bit from `event_data`, and agree with adk-python on the
/// microsecond they fall in (the `timestamp` column and the inclusive `after` filter).
async fn python_full_precision_timestamps(kind: Kind) {
    let Some(db) = fresh_db(kind) else { return };
    let app = app_name();
    let written = py(&db.python, &["timestamps", &db.py_url, &app]);
    let svc = open(&db).await;
    let all = svc
        .get(
            &SessionKey::new(&app, "alice", "ts-session"),
            GetFilter::all(),
        )
        .await
        .unwrap();
    let mut problems = Vec::new();
    for w in written["events"].as_array().unwrap() {
        let id = w["id"].as_str().unwrap();
        let text = w["timestamp_repr"].as_str().unwrap();
        let exact: f64 = text.parse().unwrap();
        let column = w["column_micros"].as_i64().unwrap();
        let got = all.events().iter().find(|e| e.id == id).unwrap().timestamp;
        if got.to_bits() != exact.to_bits() {
            problems.push(format!(
                "event {id}: event_data timestamp {text} read as {got:?} (JSON float parsing is not exact)"
            ));
        }
        let ours = Timestamp::from_secs_f64(exact).unwrap().as_micros();
        if ours != column {
            problems.push(format!(
                "event {id}: timestamp {text} is µs {ours} here, {column} for adk-python (datetime.fromtimestamp)"
            ));
        }
        let filter = GetFilter::all().after(Timestamp::from_secs_f64(exact).unwrap());
        let since = svc
            .get(&SessionKey::new(&app, "alice", "ts-session"), filter)
            .await
            .unwrap();
        if !since.events().iter().any(|e| e.id == id) {
            problems.push(format!(
                "event {id}: get(after = its own timestamp {text}) leaves it out; adk-python includes it"
            ));
        }
    }
    assert!(problems.is_empty(), "{kind:?}:\n{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------------------
// The matrix.

macro_rules! interop_tests {
    ($($(#[$attr:meta])* $name:ident => $scenario:ident($kind:expr);)*) => {$(
        $(#[$attr])*
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            $scenario($kind).await;
        }
    )*};
}

interop_tests! {
    sqlite_python_writes_rust_reads => python_writes_rust_reads(Kind::Sqlite);
    sqlite_rust_writes_python_reads => rust_writes_python_reads(Kind::Sqlite);
    sqlite_stale_across_runtimes => stale_across_runtimes(Kind::Sqlite);
    postgres_python_writes_rust_reads => python_writes_rust_reads(Kind::Postgres);
    postgres_rust_writes_python_reads => rust_writes_python_reads(Kind::Postgres);
    postgres_stale_across_runtimes => stale_across_runtimes(Kind::Postgres);
    mysql_python_writes_rust_reads => python_writes_rust_reads(Kind::Mysql);
    mysql_rust_writes_python_reads => rust_writes_python_reads(Kind::Mysql);
    mysql_stale_across_runtimes => stale_across_runtimes(Kind::Mysql);
    sqlite_unknown_fields_across_runtimes => unknown_fields_across_runtimes(Kind::Sqlite);
    postgres_unknown_fields_across_runtimes => unknown_fields_across_runtimes(Kind::Postgres);
    mysql_unknown_fields_across_runtimes => unknown_fields_across_runtimes(Kind::Mysql);
    #[ignore = "adk-python 2.13 on SQLite itself loses concurrent app:/user: writes (its read-modify-write of the state JSON is not atomic there); reproduced between two Python processes"]
    sqlite_concurrent_scoped_writes => concurrent_scoped_writes(Kind::Sqlite);
    postgres_concurrent_scoped_writes => concurrent_scoped_writes(Kind::Postgres);
    mysql_concurrent_scoped_writes => concurrent_scoped_writes(Kind::Mysql);
    sqlite_python_full_precision_timestamps => python_full_precision_timestamps(Kind::Sqlite);
    postgres_python_full_precision_timestamps => python_full_precision_timestamps(Kind::Postgres);
    mysql_python_full_precision_timestamps => python_full_precision_timestamps(Kind::Mysql);
    #[ignore = "known incompatibility: the SQLite backend rewrites state JSON through f64 numbers"]
    sqlite_python_big_ints_survive_rust_appends => python_big_ints_survive_rust_appends(Kind::Sqlite);
    postgres_python_big_ints_survive_rust_appends => python_big_ints_survive_rust_appends(Kind::Postgres);
    #[ignore = "known incompatibility: the MySQL backend rewrites state JSON through f64 numbers"]
    mysql_python_big_ints_survive_rust_appends => python_big_ints_survive_rust_appends(Kind::Mysql);
    sqlite_python_nan_state_is_readable => python_nan_state_is_readable(Kind::Sqlite);
    postgres_python_nan_state_is_readable => python_nan_state_is_readable(Kind::Postgres);
    mysql_python_nan_state_is_readable => python_nan_state_is_readable(Kind::Mysql);
}

#[test]
fn database_urls_are_rewritten_for_a_fresh_database() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/test", "x", true),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(
        with_database("mysql://root:pw@h:3306/test?ssl-mode=disabled", "y", true),
        "mysql://root:pw@h:3306/y?ssl-mode=disabled"
    );
    assert_eq!(
        with_database("mysql://root:pw@h:3306/test?ssl-mode=disabled", "y", false),
        "mysql://root:pw@h:3306/y"
    );
    assert_eq!(with_database("postgres://h", "z", true), "postgres://h/z");
}
