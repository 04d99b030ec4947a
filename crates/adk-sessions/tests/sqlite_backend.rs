//! SQLite-specific behaviour the shared conformance suite cannot see: the exact schema,
//! adk-python files (v1 used as is, v0 and other versions refused), bad files, the
//! cascade in SQL, concurrent creates across two services on one file, and group commit
//! keeping a stale operation from failing its batch. Multi-process and crash tests are in
//! `sqlite_processes.rs`.

#[path = "support/sqlite_files.rs"]
mod sqlite_files;
use sqlite_files::{open, open_with, temp_db};

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use adk_sessions::SqliteSessionService;
use adk_sessions::{
    CreateOptions, Error, Event, GetFilter, OpenOptions, SessionKey, SessionService,
};
use rusqlite::Connection;
use serde_json::{json, Value};

fn storage_message(r: adk_sessions::Result<SqliteSessionService>) -> String {
    match r {
        Err(Error::Storage { message: msg, .. }) => msg,
        other => panic!("expected a Storage error, got {other:?}"),
    }
}

fn map(v: Value) -> serde_json::Map<String, Value> {
    v.as_object().cloned().expect("an object")
}

/// The DDL of adk-python's schema version 1 on SQLite (what adk-python 2.13 creates).
const EXPECTED_DDL: [(&str, &str); 6] = [
    ("adk_internal_metadata", r#"CREATE TABLE adk_internal_metadata ("key" VARCHAR(128) NOT NULL, value VARCHAR(256) NOT NULL, PRIMARY KEY ("key"))"#),
    ("sessions", "CREATE TABLE sessions (app_name VARCHAR(128) NOT NULL, user_id VARCHAR(128) NOT NULL, id VARCHAR(128) NOT NULL, state TEXT NOT NULL, create_time DATETIME NOT NULL, update_time DATETIME NOT NULL, PRIMARY KEY (app_name, user_id, id))"),
    ("app_states", "CREATE TABLE app_states (app_name VARCHAR(128) NOT NULL, state TEXT NOT NULL, update_time DATETIME NOT NULL, PRIMARY KEY (app_name))"),
    ("user_states", "CREATE TABLE user_states (app_name VARCHAR(128) NOT NULL, user_id VARCHAR(128) NOT NULL, state TEXT NOT NULL, update_time DATETIME NOT NULL, PRIMARY KEY (app_name, user_id))"),
    ("events", "CREATE TABLE events (id VARCHAR(128) NOT NULL, app_name VARCHAR(128) NOT NULL, user_id VARCHAR(128) NOT NULL, session_id VARCHAR(128) NOT NULL, invocation_id VARCHAR(256) NOT NULL, timestamp DATETIME NOT NULL, event_data TEXT, PRIMARY KEY (id, app_name, user_id, session_id), FOREIGN KEY(app_name, user_id, session_id) REFERENCES sessions (app_name, user_id, id) ON DELETE CASCADE)"),
    ("idx_events_app_user_session_ts_id", "CREATE INDEX idx_events_app_user_session_ts_id ON events (app_name, user_id, session_id, timestamp DESC, id DESC)"),
];

/// Our own list indexes: in a fresh file only, created right after `sessions`.
const OUR_INDEXES: [(&str, &str); 2] = [
    ("idx_sessions_app_update_user_id", "CREATE INDEX idx_sessions_app_update_user_id ON sessions (app_name, update_time, user_id, id)"),
    ("idx_sessions_app_user_update_id", "CREATE INDEX idx_sessions_app_user_update_id ON sessions (app_name, user_id, update_time, id)"),
];

/// SQLAlchemy's layout (newlines, tabs) folded to one line, as written above.
fn one_line(sql: &str) -> String {
    let folded = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    folded.replace("( ", "(").replace(" )", ")")
}

#[tokio::test]
async fn fresh_file_gets_exactly_the_adk_python_v1_schema_plus_our_list_indexes() {
    let path = temp_db("schema");
    drop(open(&path).await);
    let conn = Connection::open(&path).unwrap();
    let mut stmt = conn
        .prepare("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid")
        .unwrap();
    let found: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let found: Vec<(String, String)> = found.into_iter().map(|(n, s)| (n, one_line(&s))).collect();
    // adk-python's tables and index exactly, in adk-python's order, with our two
    // indexes right after the `sessions` table they belong to, and nothing else.
    let mut expected: Vec<(String, String)> = Vec::new();
    for (n, s) in EXPECTED_DDL {
        expected.push((n.to_string(), s.to_string()));
        if n == "sessions" {
            expected.extend(
                OUR_INDEXES
                    .iter()
                    .map(|(n, s)| (n.to_string(), s.to_string())),
            );
        }
    }
    assert_eq!(found, expected);
    let version: String = conn
        .query_row(
            "SELECT value FROM adk_internal_metadata WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(version, "1");
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn times_and_state_are_stored_like_adk_python() {
    let path = temp_db("format");
    let service = open(&path).await;
    let s = service
        .create(
            "app",
            "u",
            CreateOptions::new()
                .session_id("s")
                .state(json!({"app:a": 1, "user:b": 2, "c": 3})),
        )
        .await
        .unwrap();
    let mut e = Event::new("inv", "agent");
    e.timestamp = 4_102_444_799.123_456; // 2099-12-31, later than the create
    service.append_event(&s, e.clone()).await.unwrap();
    let conn = Connection::open(&path).unwrap();
    let (state, update): (String, String) = conn
        .query_row("SELECT state, update_time FROM sessions", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&state).unwrap(),
        json!({"c": 3})
    );
    assert_eq!(update, "2099-12-31 23:59:59.123456");
    let app: String = conn
        .query_row("SELECT state FROM app_states", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&app).unwrap(),
        json!({"a": 1})
    );
    let (ts, data): (String, String) = conn
        .query_row("SELECT timestamp, event_data FROM events", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(ts, "2099-12-31 23:59:59.123456");
    let data: Value = serde_json::from_str(&data).unwrap();
    assert_eq!(data["invocation_id"], json!("inv"));
    assert_eq!(data["timestamp"], json!(4_102_444_799.123_456));
}

/// What adk-python 2.13 leaves in a file after `create_session` and one `append_event`
/// (rows copied from a real run; app/user `update_time` without a fraction, as SQLite's
/// `CURRENT_TIMESTAMP` writes it).
fn write_adk_python_v1_file(path: &Path) {
    let conn = Connection::open(path).unwrap();
    let ddl = [
        "CREATE TABLE adk_internal_metadata (\n\t\"key\" VARCHAR(128) NOT NULL, \n\tvalue VARCHAR(256) NOT NULL, \n\tPRIMARY KEY (\"key\")\n)",
        "CREATE TABLE sessions (\n\tapp_name VARCHAR(128) NOT NULL, \n\tuser_id VARCHAR(128) NOT NULL, \n\tid VARCHAR(128) NOT NULL, \n\tstate TEXT NOT NULL, \n\tcreate_time DATETIME NOT NULL, \n\tupdate_time DATETIME NOT NULL, \n\tPRIMARY KEY (app_name, user_id, id)\n)",
        "CREATE TABLE app_states (\n\tapp_name VARCHAR(128) NOT NULL, \n\tstate TEXT NOT NULL, \n\tupdate_time DATETIME NOT NULL, \n\tPRIMARY KEY (app_name)\n)",
        "CREATE TABLE user_states (\n\tapp_name VARCHAR(128) NOT NULL, \n\tuser_id VARCHAR(128) NOT NULL, \n\tstate TEXT NOT NULL, \n\tupdate_time DATETIME NOT NULL, \n\tPRIMARY KEY (app_name, user_id)\n)",
        "CREATE TABLE events (\n\tid VARCHAR(128) NOT NULL, \n\tapp_name VARCHAR(128) NOT NULL, \n\tuser_id VARCHAR(128) NOT NULL, \n\tsession_id VARCHAR(128) NOT NULL, \n\tinvocation_id VARCHAR(256) NOT NULL, \n\ttimestamp DATETIME NOT NULL, \n\tevent_data TEXT, \n\tPRIMARY KEY (id, app_name, user_id, session_id), \n\tFOREIGN KEY(app_name, user_id, session_id) REFERENCES sessions (app_name, user_id, id) ON DELETE CASCADE\n)",
        "CREATE INDEX idx_events_app_user_session_ts_id ON events (app_name, user_id, session_id, timestamp DESC, id DESC)",
    ];
    for d in ddl {
        conn.execute_batch(d).unwrap();
    }
    conn.execute_batch(r#"
        INSERT INTO adk_internal_metadata VALUES ('schema_version', '1');
        INSERT INTO sessions VALUES ('app', 'u', 's1', '{"c": 3, "k": "v"}', '2026-11-26 00:44:05.078494', '2026-11-26 00:44:05.087631');
        INSERT INTO app_states VALUES ('app', '{"a": 1, "x": 5}', '2026-11-26 00:44:05');
        INSERT INTO user_states VALUES ('app', 'u', '{"b": 2}', '2026-11-26 00:44:05');
        INSERT INTO events VALUES ('b39a562f-8923-4b8d-bbb6-a8c537b89997', 'app', 'u', 's1', 'inv', '2026-11-26 00:44:05.087631', '{"invocation_id": "inv", "author": "user", "actions": {"state_delta": {"app:x": 5, "k": "v"}, "artifact_delta": {}, "requested_auth_configs": {}, "requested_tool_confirmations": {}}, "node_info": {"path": ""}, "id": "b39a562f-8923-4b8d-bbb6-a8c537b89997", "timestamp": 1795653845.087631}');
    "#).unwrap();
}

#[tokio::test]
async fn an_adk_python_v1_file_is_used_as_is() {
    let path = temp_db("pyv1");
    write_adk_python_v1_file(&path);
    let service = open(&path).await;
    let s = service
        .get(&SessionKey::new("app", "u", "s1"), GetFilter::all())
        .await
        .unwrap();
    assert_eq!(
        s.state().snapshot(),
        map(json!({"c": 3, "k": "v", "app:a": 1, "app:x": 5, "user:b": 2}))
    );
    assert_eq!(s.last_update_time(), 1_795_653_845.087_631);
    assert_eq!(s.events().len(), 1);
    let e = s.events().get(0).unwrap();
    assert_eq!(e.id, "b39a562f-8923-4b8d-bbb6-a8c537b89997");
    assert_eq!(e.author, "user");
    assert_eq!(e.actions.state_delta, map(json!({"app:x": 5, "k": "v"})));
    assert_eq!(e.timestamp, 1_795_653_845.087_631);
    // Appending to it works, and the fraction-less app state time does not matter.
    service
        .append_event(
            &s,
            Event::new("inv2", "agent").with_state("app:y", json!(6)),
        )
        .await
        .unwrap();
    assert_eq!(
        service.get_app_state("app").await.unwrap(),
        map(json!({"a": 1, "x": 5, "y": 6}))
    );
    let listed = service
        .list("app", None, &Default::default())
        .await
        .unwrap();
    assert_eq!(listed.sessions.len(), 1);
    let conn = Connection::open(&path).unwrap();
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        tables,
        6 + 5,
        "tables, the index, and the primary-key autoindexes; nothing added"
    );
    let ours: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name LIKE 'idx_sessions_%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        ours, 0,
        "our list indexes are never added to adk-python's file"
    );
}

/// Every `list` variant (with and without a user, first page and after a cursor) is a
/// range search of one of our indexes in the keyset order: no sort of the app's sessions.
#[tokio::test]
async fn list_queries_seek_our_index_without_sorting() {
    let path = temp_db("plan");
    drop(open(&path).await);
    let conn = Connection::open(&path).unwrap();
    for (by_user, after) in [(false, false), (false, true), (true, false), (true, true)] {
        let sql = adk_sessions::testsuite::list_statements::sqlite(by_user, after);
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        // Parameters left unbound (NULL): the plan does not depend on them.
        let mut rows = stmt.raw_query();
        let mut plan = Vec::new();
        while let Some(row) = rows.next().unwrap() {
            plan.push(row.get::<_, String>(3).unwrap());
        }
        let plan = plan.join("\n");
        let index = if by_user {
            "idx_sessions_app_user_update_id"
        } else {
            "idx_sessions_app_update_user_id"
        };
        assert!(
            plan.contains(&format!("SEARCH s USING INDEX {index} (")),
            "by_user={by_user} after={after}:\n{plan}"
        );
        assert!(
            !plan.contains("TEMP B-TREE"),
            "by_user={by_user} after={after}:\n{plan}"
        );
        if after {
            assert!(
                plan.contains("update_time"),
                "the cursor bounds the index range: {plan}"
            );
        }
    }
}

#[tokio::test]
async fn adk_python_v0_layout_is_refused_naming_the_migration() {
    let path = temp_db("v0");
    Connection::open(&path)
        .unwrap()
        .execute_batch(
            "CREATE TABLE sessions (app_name VARCHAR(128), user_id VARCHAR(128), id VARCHAR(128), state TEXT, create_time DATETIME, update_time DATETIME, PRIMARY KEY (app_name, user_id, id));
             CREATE TABLE events (id VARCHAR(128), app_name VARCHAR(128), user_id VARCHAR(128), session_id VARCHAR(128), invocation_id VARCHAR(256), author VARCHAR(256), actions BLOB, timestamp DATETIME, content TEXT, PRIMARY KEY (id, app_name, user_id, session_id));",
        )
        .unwrap();
    let msg = storage_message(
        SqliteSessionService::open_with(Some(&path), &OpenOptions::default()).await,
    );
    assert!(msg.contains("adk migrate session"), "{msg}");
    assert!(msg.contains(&path.display().to_string()), "{msg}");
}

#[tokio::test]
async fn another_schema_version_is_refused() {
    let path = temp_db("v2");
    drop(open(&path).await);
    Connection::open(&path)
        .unwrap()
        .execute("UPDATE adk_internal_metadata SET value = '2'", [])
        .unwrap();
    let msg = storage_message(
        SqliteSessionService::open_with(Some(&path), &OpenOptions::default()).await,
    );
    assert!(msg.contains("\"2\"") && msg.contains("version"), "{msg}");
    assert!(msg.contains(&path.display().to_string()), "{msg}");
}

#[tokio::test]
async fn a_path_in_a_missing_directory_is_refused_and_nothing_is_created() {
    let dir = temp_db("nodir").parent().unwrap().join("missing");
    let path = dir.join("sessions.db");
    let msg = storage_message(
        SqliteSessionService::open_with(Some(&path), &OpenOptions::default()).await,
    );
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains("does not exist"), "{msg}");
    assert!(!dir.exists() && !path.exists());
}

#[tokio::test]
async fn a_file_that_is_not_sqlite_is_refused_and_left_alone() {
    let path = temp_db("garbage");
    let garbage = b"this is a text file, certainly not a SQLite database\n".repeat(100);
    std::fs::write(&path, &garbage).unwrap();
    let msg = storage_message(
        SqliteSessionService::open_with(Some(&path), &OpenOptions::default()).await,
    );
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains("not a SQLite database"), "{msg}");
    assert_eq!(std::fs::read(&path).unwrap(), garbage);
}

#[tokio::test]
async fn a_read_only_file_is_refused() {
    let path = temp_db("readonly");
    drop(open(&path).await);
    let mut perms = std::fs::metadata(&path).unwrap().permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(&path, perms).unwrap();
    if std::fs::OpenOptions::new().write(true).open(&path).is_ok() {
        // Root ignores file modes: the file is not read-only for this process.
        eprintln!("skipped: this process can write to a read-only file (root)");
        return;
    }
    let msg = storage_message(
        SqliteSessionService::open_with(Some(&path), &OpenOptions::default()).await,
    );
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains("read-only"), "{msg}");
}

#[tokio::test]
async fn a_database_locked_longer_than_the_busy_timeout_is_a_clear_error() {
    let path = temp_db("locked");
    let service = open(&path).await;
    let s = service
        .create("app", "u", CreateOptions::new().session_id("s"))
        .await
        .unwrap();
    let holder = Connection::open(&path).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let options = OpenOptions::default().busy_timeout(Duration::from_millis(200));
    let msg = storage_message(SqliteSessionService::open_with(Some(&path), &options).await);
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains("locked"), "{msg}");
    // The open service's append waits its own busy timeout (5 s), then fails the same way.
    let append = tokio::time::timeout(
        Duration::from_secs(20),
        service.append_event(&s, Event::new("inv", "agent")),
    )
    .await
    .expect("the append gives up after the busy timeout");
    match append {
        Err(Error::Storage { message: msg, .. }) => {
            assert!(
                msg.contains(&path.display().to_string()) && msg.contains("locked"),
                "{msg}"
            )
        }
        other => panic!("expected a Storage error, got {other:?}"),
    }
    holder.execute_batch("ROLLBACK").unwrap();
    // Nothing was half-written: the handle still appends.
    service
        .append_event(&s, Event::new("inv", "agent"))
        .await
        .unwrap();
}

#[tokio::test]
async fn delete_leaves_no_orphan_events() {
    let path = temp_db("orphans");
    let service = open(&path).await;
    for id in ["a", "b"] {
        let s = service
            .create("app", "u", CreateOptions::new().session_id(id))
            .await
            .unwrap();
        for i in 0..3 {
            service
                .append_event(&s, Event::new(format!("inv{i}"), "agent"))
                .await
                .unwrap();
        }
    }
    service
        .delete(&SessionKey::new("app", "u", "a"))
        .await
        .unwrap();
    let conn = Connection::open(&path).unwrap();
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(
        count("SELECT count(*) FROM events WHERE session_id = 'a'"),
        0
    );
    assert_eq!(
        count("SELECT count(*) FROM events WHERE session_id = 'b'"),
        3
    );
    assert_eq!(
        count("SELECT count(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM sessions s WHERE s.app_name = e.app_name AND s.user_id = e.user_id AND s.id = e.session_id)"),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_through_two_services_on_one_file_have_one_winner() {
    let path = temp_db("race");
    let services = [Arc::new(open(&path).await), Arc::new(open(&path).await)];
    for round in 0..5 {
        let id = format!("s{round}");
        let mut tasks = Vec::new();
        for i in 0..16 {
            let service = services[i % 2].clone();
            let id = id.clone();
            tasks.push(tokio::spawn(async move {
                service
                    .create("app", "u", CreateOptions::new().session_id(&id))
                    .await
            }));
        }
        let mut wins = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => wins += 1,
                Err(Error::AlreadyExists { .. }) => {}
                Err(e) => panic!("a losing create must be AlreadyExists, got {e:?}"),
            }
        }
        assert_eq!(wins, 1, "round {round}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stale_append_in_a_batch_fails_alone() {
    let path = temp_db("batch");
    let service = Arc::new(open(&path).await);
    let mut fresh = Vec::new();
    for i in 0..8 {
        fresh.push(
            service
                .create(
                    "app",
                    "u",
                    CreateOptions::new().session_id(format!("ok{i}")),
                )
                .await
                .unwrap(),
        );
    }
    let contested = service
        .create("app", "u", CreateOptions::new().session_id("contested"))
        .await
        .unwrap();
    let first = Arc::new(contested.clone());
    let second = Arc::new(contested);
    let missing = Arc::new(
        service
            .create("app", "u", CreateOptions::new().session_id("gone"))
            .await
            .unwrap(),
    );
    service
        .delete(&SessionKey::new("app", "u", "gone"))
        .await
        .unwrap();

    // Hold the write lock so that everything queues behind one blocked commit and then
    // goes into the next batch together.
    let holder = Connection::open(&path).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let mut tasks = Vec::new();
    let spawn_append = |s: Arc<adk_sessions::Session>, delta: Value| {
        let service = service.clone();
        let mut e = Event::new("inv", "agent");
        e.actions.state_delta = map(delta);
        tokio::spawn(async move { service.append_event(&s, e).await.map(|_| ()) })
    };
    for (i, s) in fresh.into_iter().enumerate() {
        tasks.push(("ok", spawn_append(Arc::new(s), json!({"n": i, "app:k": i}))));
    }
    tasks.push(("first", spawn_append(first, json!({"who": "first"}))));
    tasks.push(("missing", spawn_append(missing, json!({}))));
    tasks.push(("second", spawn_append(second, json!({"who": "second"}))));
    tokio::time::sleep(Duration::from_millis(100)).await;
    holder.execute_batch("COMMIT").unwrap();

    // The two contested appends may reach the writer in either order: one wins.
    let mut winners = Vec::new();
    for (what, t) in tasks {
        let r = t.await.unwrap();
        match what {
            "ok" => r.unwrap_or_else(|e| panic!("{what} failed: {e:?}")),
            "missing" => assert!(matches!(r, Err(Error::NotFound { .. })), "{r:?}"),
            _ => match r {
                Ok(()) => winners.push(what),
                Err(Error::Stale { .. }) => {}
                Err(e) => panic!("{what}: expected Ok or Stale, got {e:?}"),
            },
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    for i in 0..8 {
        let s = service
            .get(
                &SessionKey::new("app", "u", format!("ok{i}")),
                GetFilter::all(),
            )
            .await
            .unwrap();
        assert_eq!(s.events().len(), 1);
        assert_eq!(s.state().get("n").unwrap(), json!(i));
    }
    let c = service
        .get(&SessionKey::new("app", "u", "contested"), GetFilter::all())
        .await
        .unwrap();
    assert_eq!(c.events().len(), 1);
    assert_eq!(c.state().get("who").unwrap(), json!(winners[0]));
}

#[tokio::test]
async fn our_and_sqlalchemy_url_spellings_open_the_same_file() {
    let path = temp_db("urls");
    let abs = path.display().to_string();
    assert!(abs.starts_with('/'), "temp paths are absolute: {abs}");
    let ours = adk_sessions::open(&format!("sqlite://{abs}"), &OpenOptions::default())
        .await
        .unwrap();
    assert_eq!(ours.backend_name(), "sqlite");
    ours.ping().await.unwrap();
    ours.create("app", "u", CreateOptions::new().session_id("s"))
        .await
        .unwrap();
    let python_style = adk_sessions::open(
        &format!("sqlite+aiosqlite:///{abs}"),
        &OpenOptions::default(),
    )
    .await
    .unwrap();
    python_style
        .get(&SessionKey::new("app", "u", "s"), GetFilter::all())
        .await
        .unwrap();
    let memory = adk_sessions::open("sqlite::memory:", &OpenOptions::default())
        .await
        .unwrap();
    assert_eq!(memory.backend_name(), "sqlite");
    memory.ping().await.unwrap();
}

/// The decoded-event cache returns exactly what decoding the row returns: a row that
/// another writer rewrote is decoded again, and a service with the cache off reads the
/// same session.
#[tokio::test]
async fn cached_reads_equal_uncached_reads_and_follow_rewritten_rows() {
    let path = temp_db("cache");
    let cached = open(&path).await;
    let s = cached
        .create("app", "u", CreateOptions::new().session_id("s"))
        .await
        .unwrap();
    for i in 0..3 {
        let e = Event::new(format!("inv{i}"), "agent")
            .with_content(adk_sessions::Content::text("model", format!("text {i}")))
            .with_state("k", json!(i));
        cached.append_event(&s, e).await.unwrap();
    }
    let uncached = open_with(&path, &OpenOptions::default().event_cache_bytes(0)).await;
    let events = |s: &adk_sessions::Session| -> Vec<Event> {
        s.events().iter().map(|e| (*e).clone()).collect()
    };
    let first = cached
        .get(&SessionKey::new("app", "u", "s"), GetFilter::all())
        .await
        .unwrap();
    let again = cached
        .get(&SessionKey::new("app", "u", "s"), GetFilter::all())
        .await
        .unwrap();
    let plain = uncached
        .get(&SessionKey::new("app", "u", "s"), GetFilter::all())
        .await
        .unwrap();
    assert_eq!(events(&first), events(&plain));
    assert_eq!(events(&again), events(&plain));
    assert_eq!(
        events(&plain)[1]
            .content
            .as_ref()
            .unwrap()
            .parts
            .as_ref()
            .unwrap()[0]
            .text
            .as_deref(),
        Some("text 1")
    );

    // Another writer rewrites the payload of event 1 in place.
    let raw = Connection::open(&path).unwrap();
    let id = events(&plain)[1].id.clone();
    let changed = raw
        .execute(
            "UPDATE events SET event_data = replace(event_data, 'text 1', 'rewritten') WHERE id = ?1",
            [&id],
        )
        .unwrap();
    assert_eq!(changed, 1);
    let after = cached
        .get(&SessionKey::new("app", "u", "s"), GetFilter::all())
        .await
        .unwrap();
    let text = |s: &adk_sessions::Session| {
        events(s)[1]
            .content
            .as_ref()
            .unwrap()
            .parts
            .as_ref()
            .unwrap()[0]
            .text
            .clone()
    };
    assert_eq!(text(&after).as_deref(), Some("rewritten"));
    let plain_after = uncached
        .get(&SessionKey::new("app", "u", "s"), GetFilter::all())
        .await
        .unwrap();
    assert_eq!(events(&after), events(&plain_after));
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

/// A reader thread that cannot open its connection answers its read with the error
/// instead of leaving it waiting, and the next read starts a thread that tries again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_cannot_open_answers_with_the_error_and_the_next_read_tries_again() {
    let path = temp_db("reader-open");
    let service = open(&path).await;
    service
        .create("app", "u", CreateOptions::new().session_id("s"))
        .await
        .unwrap();
    // The writer keeps its open file; a new read connection finds no file at the path.
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.clone().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
    for attempt in 0..2 {
        let got = tokio::time::timeout(
            Duration::from_secs(10),
            service.get(&SessionKey::new("app", "u", "s"), GetFilter::all()),
        )
        .await
        .expect("a read must not hang when its connection cannot be opened");
        match got {
            Err(adk_sessions::Error::Storage { message: msg, .. }) => {
                assert!(msg.contains("read connection"), "attempt {attempt}: {msg}")
            }
            other => panic!("attempt {attempt}: expected a storage error, got {other:?}"),
        }
    }
    // A valid (empty) database appears at the path: the next read opens it.
    let other = open(&path).await;
    drop(other);
    let got = service
        .get(&SessionKey::new("app", "u", "s"), GetFilter::all())
        .await;
    assert!(
        matches!(got, Err(adk_sessions::Error::NotFound { .. })),
        "the read after the file came back: {got:?}"
    );
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

/// Many tasks appending, reading (whole, recent, listed) and one task reading everyone's
/// sessions, through two reader threads and a cache small enough to evict all the time:
/// everything finishes, every read sees its own writes, and in the end a reader without
/// the cache sees exactly what the cached one sees.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mixed_load_through_few_readers_and_a_tiny_cache_loses_nothing() {
    const TASKS: usize = 12;
    const ROUNDS: usize = 40;
    let path = temp_db("mixed");
    let service = Arc::new(
        open_with(
            &path,
            &OpenOptions::default().pool_size(2).event_cache_bytes(4096),
        )
        .await,
    );
    let work = async {
        let writers = (0..TASKS).map(|t| {
            let service = service.clone();
            tokio::spawn(async move {
                let sid = format!("s{t}");
                let mut h = service
                    .create("app", "u", CreateOptions::new().session_id(&sid))
                    .await
                    .unwrap();
                for j in 0..ROUNDS {
                    let e = Event::new(format!("i{j}"), "a")
                        .with_state("k", json!(j))
                        .with_state(format!("user:t{t}"), json!(j));
                    service.append_event(&h, e).await.unwrap();
                    if j % 3 == 0 {
                        h = service
                            .get(&SessionKey::new("app", "u", &sid), GetFilter::all())
                            .await
                            .unwrap();
                        assert_eq!(h.events().len(), j + 1, "{sid} after {j}");
                        assert_eq!(h.state().get("k").unwrap(), json!(j));
                    }
                    if j % 5 == 0 {
                        let recent = service
                            .get(&SessionKey::new("app", "u", &sid), GetFilter::recent(2))
                            .await
                            .unwrap();
                        assert_eq!(recent.events().len(), (j + 1).min(2));
                        let page = service
                            .list("app", Some("u"), &Default::default())
                            .await
                            .unwrap();
                        assert!(page.sessions.iter().any(|s| s.id() == sid));
                    }
                }
            })
        });
        let writers: Vec<_> = writers.collect();
        let reader = {
            let service = service.clone();
            tokio::spawn(async move {
                for k in 0..200 {
                    match service
                        .get(
                            &SessionKey::new("app", "u", format!("s{}", k % TASKS)),
                            GetFilter::all(),
                        )
                        .await
                    {
                        Ok(_) | Err(Error::NotFound { .. }) => {}
                        Err(e) => panic!("read {k}: {e}"),
                    }
                }
            })
        };
        for w in writers {
            w.await.unwrap();
        }
        reader.await.unwrap();
    };
    tokio::time::timeout(Duration::from_secs(120), work)
        .await
        .expect("the mixed load must finish");
    let plain = open_with(&path, &OpenOptions::default().event_cache_bytes(0)).await;
    for t in 0..TASKS {
        let sid = format!("s{t}");
        let cached = service
            .get(&SessionKey::new("app", "u", &sid), GetFilter::all())
            .await
            .unwrap();
        let fresh = plain
            .get(&SessionKey::new("app", "u", &sid), GetFilter::all())
            .await
            .unwrap();
        assert_eq!(cached.events().len(), ROUNDS);
        assert_eq!(cached.events().to_vec(), fresh.events().to_vec(), "{sid}");
        assert_eq!(
            fresh.state().get(&format!("user:t{t}")).unwrap(),
            json!(ROUNDS - 1)
        );
    }
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

/// Rows as adk-js's `DatabaseSessionService` writes them on SQLite — integer epoch
/// milliseconds in every time column and a millisecond `timestamp` inside `event_data` —
/// are read as the right instants, the revision we return is accepted back, and our next
/// append writes a proper time (before: `lastUpdateTime` 1796064049278 "seconds", a 422
/// on it, then `update_time = '58885-01-03 …'` and a 503 on the next get). adk-go's
/// zoned text (`…-05:00`) is read as its instant too.
#[tokio::test]
async fn other_runtimes_time_spellings_are_read_and_never_corrupted() {
    let path = temp_db("js-times");
    drop(open(&path).await);
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(
        r#"INSERT INTO app_states VALUES ('app', '{}', 1796032800000);
           INSERT INTO user_states VALUES ('app', 'u', '{}', 1796032800000);
           INSERT INTO sessions VALUES ('app', 'u', 'js', '{"k": 1}', 1796032800000, 1796032800250);
           INSERT INTO events VALUES ('e1', 'app', 'u', 'js', 'inv-1', 1796032800250,
             '{"id": "e1", "invocation_id": "inv-1", "author": "user", "timestamp": 1796032800250, "actions": {"state_delta": {"k": 1}}}');
           INSERT INTO sessions VALUES ('app', 'u', 'go', '{}', '2026-11-30 05:00:00.1-05:00', '2026-11-30 05:00:00.5-05:00');"#,
    )
    .unwrap();
    let service = open(&path).await;
    let js = service
        .get(&SessionKey::new("app", "u", "js"), GetFilter::all())
        .await
        .expect("an adk-js session");
    assert_eq!(js.last_update_time(), 1_796_032_800.25);
    assert_eq!(js.events().get(0).unwrap().timestamp, 1_796_032_800.25);
    let go = service
        .get(&SessionKey::new("app", "u", "go"), GetFilter::all())
        .await
        .expect("an adk-go session");
    assert_eq!(go.last_update_time(), 1_796_032_800.5);
    // The revision we return is the stored one: an append through this handle succeeds
    // and writes our own time text.
    let mut event = Event::new("inv-2", "agent").with_state("k", json!(2));
    event.timestamp = 1_796_032_801.0;
    service
        .append_event(&js, event)
        .await
        .expect("append to an adk-js row");
    let stored: String = conn
        .query_row(
            "SELECT update_time FROM sessions WHERE id = 'js'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stored, "2026-11-30 10:00:01.000000");
    let again = service
        .get(&SessionKey::new("app", "u", "js"), GetFilter::all())
        .await
        .unwrap();
    assert_eq!(again.revision(), js.revision());
    assert_eq!(again.events().len(), 2);
    assert_eq!(again.state().get("k"), Some(json!(2)));
    // A handle that fell behind an adk-js write is still refused.
    conn.execute(
        "UPDATE sessions SET update_time = 1796032802000 WHERE id = 'js'",
        [],
    )
    .unwrap();
    assert!(matches!(
        service
            .append_event(&again, Event::new("inv-3", "agent"))
            .await,
        Err(Error::Stale { .. })
    ));
}

/// A file holding another application's `sessions` table,
/// or adk-python's v0 layout, is refused at open naming what was found — and left byte
/// for byte as it was (no WAL switch, no tables, no version row, no `-wal` file).
#[tokio::test]
async fn refused_files_are_left_byte_for_byte() {
    for (tag, ddl, needle) in [
        (
            "foreign",
            "CREATE TABLE sessions (id INTEGER PRIMARY KEY, name TEXT, expires INTEGER);
             INSERT INTO sessions VALUES (1, 'cookie', 0);",
            "\"sessions\" that is not an ADK session table",
        ),
        (
            "v0",
            "CREATE TABLE sessions (app_name VARCHAR(128), user_id VARCHAR(128), id VARCHAR(128), state TEXT, create_time DATETIME, update_time DATETIME);
             CREATE TABLE events (id VARCHAR(128), app_name VARCHAR(128), user_id VARCHAR(128), session_id VARCHAR(128), invocation_id VARCHAR(256), author VARCHAR(256), actions BLOB, timestamp DATETIME);",
            "adk migrate session",
        ),
    ] {
        let path = temp_db(tag);
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(ddl).unwrap();
        }
        let before = std::fs::read(&path).unwrap();
        let message = storage_message(
            SqliteSessionService::open_with(Some(&path), &OpenOptions::default()).await,
        );
        assert!(message.contains(needle), "{tag}: {message}");
        assert_eq!(std::fs::read(&path).unwrap(), before, "{tag}: the file changed");
        let wal = path.with_extension("db-wal");
        assert!(!wal.exists(), "{tag}: a WAL file was left");
    }
}

/// Closing (the WAL checkpoint a clean stop runs) merges and empties the WAL also after
/// another process wrote to the file while this service only read (it once waited the
/// whole busy timeout there and left the WAL behind).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_after_an_outside_write_empties_the_wal() {
    let path = temp_db("close-outside");
    let service = open(&path).await;
    service.ping().await.unwrap();
    service
        .list("app", None, &adk_sessions::PageRequest::default())
        .await
        .unwrap();
    let outside = Connection::open(&path).unwrap();
    outside
        .execute(
            "INSERT INTO app_states (app_name, state, update_time) VALUES ('x', '{}', '2026-01-01 00:00:00')",
            [],
        )
        .unwrap();
    drop(outside);
    service.close().await.unwrap();
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let wal_len = std::fs::metadata(&wal).map_or(0, |m| m.len());
    assert_eq!(wal_len, 0, "the checkpoint left the WAL behind");
    let check = Connection::open(&path).unwrap();
    let n: i64 = check
        .query_row("SELECT count(*) FROM app_states", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
}

/// A file whose events lost their `ON DELETE CASCADE` and indexes (what adk-js's schema
/// update does) is reported by `check_schema`; `repair_schema` rebuilds `events` with
/// adk-python's DDL, rows kept — but not while events of deleted sessions remain.
#[tokio::test]
async fn schema_drift_is_found_and_repaired() {
    let path = temp_db("drift");
    let url = format!("sqlite://{}", path.display());
    let service = open(&path).await;
    for id in ["s", "gone"] {
        let s = service
            .create("drift", "u", CreateOptions::new().session_id(id))
            .await
            .unwrap();
        service
            .append_event(&s, Event::new("inv", "a").with_state("k", json!(1)))
            .await
            .unwrap();
    }
    service.close().await.unwrap();
    drop(service);
    assert!(adk_sessions::check_schema(&url)
        .await
        .unwrap()
        .findings
        .is_empty());
    let conn = Connection::open(&path).unwrap();
    let events_ddl = |conn: &Connection| -> String {
        conn.query_row(
            "SELECT sql FROM sqlite_master WHERE name = 'events'",
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    let original_ddl = events_ddl(&conn);
    conn.execute_batch(
        "PRAGMA foreign_keys=OFF; BEGIN;
         ALTER TABLE events RENAME TO events_old;
         CREATE TABLE events (id VARCHAR(128) NOT NULL, app_name VARCHAR(128) NOT NULL,
           user_id VARCHAR(128) NOT NULL, session_id VARCHAR(128) NOT NULL,
           invocation_id VARCHAR(256) NOT NULL, timestamp DATETIME NOT NULL, event_data TEXT,
           PRIMARY KEY (id, app_name, user_id, session_id),
           FOREIGN KEY (app_name, user_id, session_id) REFERENCES sessions (app_name, user_id, id));
         INSERT INTO events SELECT * FROM events_old; DROP TABLE events_old;
         DROP INDEX idx_sessions_app_update_user_id;
         DELETE FROM sessions WHERE id = 'gone';
         COMMIT;",
    )
    .unwrap();
    drop(conn);
    let report = adk_sessions::check_schema(&url).await.unwrap();
    let text = report.to_string();
    assert!(!report.is_healthy(), "{text}");
    assert!(text.contains("lost ON DELETE CASCADE"), "{text}");
    assert!(text.contains("1 event(s) belong to no session"), "{text}");
    assert!(
        text.contains("idx_events_app_user_session_ts_id on events is missing"),
        "{text}"
    );
    assert!(
        text.contains("idx_sessions_app_update_user_id missing"),
        "{text}"
    );
    // With an orphan left, the key is not re-created; the indexes are.
    let partial = adk_sessions::repair_schema(&url).await.unwrap();
    assert!(!partial.is_healthy(), "{partial}");
    assert!(partial.to_string().contains("lost ON DELETE CASCADE"));
    Connection::open(&path)
        .unwrap()
        .execute("DELETE FROM events WHERE session_id = 'gone'", [])
        .unwrap();
    let repaired = adk_sessions::repair_schema(&url).await.unwrap();
    assert!(
        repaired.is_healthy() && repaired.findings.is_empty(),
        "{repaired}"
    );
    // The DDL is adk-python's again, and the rows are kept.
    let conn = Connection::open(&path).unwrap();
    assert_eq!(events_ddl(&conn), original_ddl);
    let n: i64 = conn
        .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
    conn.execute_batch("PRAGMA foreign_keys=ON; DELETE FROM sessions WHERE id = 's';")
        .unwrap();
    let n: i64 = conn
        .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0, "the repaired cascade did not delete the events");
}
