//! The server-specific behaviours, written once for both servers: schema identical to
//! adk-python's, adk-python's tables used as they are, other schema versions refused,
//! passwords never shown, an unreachable server, first-ever state rows created by many
//! writers at once, and the multi-process promises (scoped writes never lost, one winner
//! per stale race) with child processes that are this test binary run again.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use adk_sessions::{
    CreateOptions, Error, Event, GetFilter, OpenOptions, Session, SessionKey, SessionService,
};
use serde_json::{json, Value};

use super::{test_options, Bind, Server, TestDb};

/// Our own `list` indexes, in a database this project created only (as
/// [`TestDb::indexes`] lists them).
const OUR_INDEXES: [&str; 2] = [
    "sessions.idx_sessions_app_update_user_id (app_name, update_time, user_id, id)",
    "sessions.idx_sessions_app_user_update_id (app_name, user_id, update_time, id)",
];

/// adk-python 2.13's `DatabaseSessionService` DDL as the server reports it (pg_dump /
/// SHOW CREATE TABLE of a database it created), with one session, its states and one
/// event as it wrote them.
fn adk_python_database(server: Server) -> &'static str {
    match server {
        Server::Postgres => {
            r#"
CREATE TABLE adk_internal_metadata (key character varying(128) NOT NULL, value character varying(256) NOT NULL);
CREATE TABLE app_states (app_name character varying(128) NOT NULL, state jsonb NOT NULL, update_time timestamp without time zone NOT NULL);
CREATE TABLE events (id character varying(128) NOT NULL, app_name character varying(128) NOT NULL, user_id character varying(128) NOT NULL, session_id character varying(128) NOT NULL, invocation_id character varying(256) NOT NULL, "timestamp" timestamp without time zone NOT NULL, event_data jsonb);
CREATE TABLE sessions (app_name character varying(128) NOT NULL, user_id character varying(128) NOT NULL, id character varying(128) NOT NULL, state jsonb NOT NULL, create_time timestamp without time zone NOT NULL, update_time timestamp without time zone NOT NULL);
CREATE TABLE user_states (app_name character varying(128) NOT NULL, user_id character varying(128) NOT NULL, state jsonb NOT NULL, update_time timestamp without time zone NOT NULL);
ALTER TABLE ONLY adk_internal_metadata ADD CONSTRAINT adk_internal_metadata_pkey PRIMARY KEY (key);
ALTER TABLE ONLY app_states ADD CONSTRAINT app_states_pkey PRIMARY KEY (app_name);
ALTER TABLE ONLY events ADD CONSTRAINT events_pkey PRIMARY KEY (id, app_name, user_id, session_id);
ALTER TABLE ONLY sessions ADD CONSTRAINT sessions_pkey PRIMARY KEY (app_name, user_id, id);
ALTER TABLE ONLY user_states ADD CONSTRAINT user_states_pkey PRIMARY KEY (app_name, user_id);
CREATE INDEX idx_events_app_user_session_ts_id ON events USING btree (app_name, user_id, session_id, "timestamp" DESC, id DESC);
ALTER TABLE ONLY events ADD CONSTRAINT events_app_name_user_id_session_id_fkey FOREIGN KEY (app_name, user_id, session_id) REFERENCES sessions(app_name, user_id, id) ON DELETE CASCADE;
INSERT INTO adk_internal_metadata VALUES ('schema_version', '1');
INSERT INTO app_states VALUES ('app', '{"a": 1, "z": null}', '2026-11-26 00:43:16.019593');
INSERT INTO user_states VALUES ('app', 'u', '{"b": null}', '2026-11-26 00:43:15.987544');
INSERT INTO sessions VALUES ('app', 'u', 'py-session', '{"c": "x", "k": 1}', '2026-11-26 00:43:15.999343', '2026-11-26 00:43:16.015664');
INSERT INTO events VALUES ('a615d1cc-99a4-489e-a57c-d4069f91bd68', 'app', 'u', 'py-session', 'inv', '2026-11-26 00:43:16.015664', '{"id": "a615d1cc-99a4-489e-a57c-d4069f91bd68", "author": "user", "actions": {"state_delta": {"k": 1, "app:z": null}, "artifact_delta": {}, "requested_auth_configs": {}, "requested_tool_confirmations": {}}, "content": {"role": "user", "parts": [{"text": "hi"}]}, "node_info": {"path": ""}, "timestamp": 1795653796.015664, "invocation_id": "inv"}');
"#
        }
        Server::Mysql => {
            r#"
CREATE TABLE `adk_internal_metadata` (
  `key` varchar(128) NOT NULL,
  `value` varchar(256) NOT NULL,
  PRIMARY KEY (`key`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
CREATE TABLE `app_states` (
  `app_name` varchar(128) NOT NULL,
  `state` longtext NOT NULL,
  `update_time` datetime(6) NOT NULL,
  PRIMARY KEY (`app_name`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
CREATE TABLE `user_states` (
  `app_name` varchar(128) NOT NULL,
  `user_id` varchar(128) NOT NULL,
  `state` longtext NOT NULL,
  `update_time` datetime(6) NOT NULL,
  PRIMARY KEY (`app_name`,`user_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
CREATE TABLE `sessions` (
  `app_name` varchar(128) NOT NULL,
  `user_id` varchar(128) NOT NULL,
  `id` varchar(128) NOT NULL,
  `state` longtext NOT NULL,
  `create_time` datetime(6) NOT NULL,
  `update_time` datetime(6) NOT NULL,
  PRIMARY KEY (`app_name`,`user_id`,`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
CREATE TABLE `events` (
  `id` varchar(128) NOT NULL,
  `app_name` varchar(128) NOT NULL,
  `user_id` varchar(128) NOT NULL,
  `session_id` varchar(128) NOT NULL,
  `invocation_id` varchar(256) NOT NULL,
  `timestamp` datetime(6) NOT NULL,
  `event_data` longtext DEFAULT NULL,
  PRIMARY KEY (`id`,`app_name`,`user_id`,`session_id`),
  KEY `idx_events_app_user_session_ts_id` (`app_name`,`user_id`,`session_id`,`timestamp` DESC,`id` DESC),
  CONSTRAINT `events_ibfk_1` FOREIGN KEY (`app_name`, `user_id`, `session_id`) REFERENCES `sessions` (`app_name`, `user_id`, `id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
INSERT INTO adk_internal_metadata VALUES ('schema_version', '1');
INSERT INTO app_states VALUES ('app', '{"a": 1, "z": null}', '2026-11-26 00:43:22.000000');
INSERT INTO user_states VALUES ('app', 'u', '{"b": null}', '2026-11-26 00:43:22.000000');
INSERT INTO sessions VALUES ('app', 'u', 'py-session', '{"c": "x", "k": 1}', '2026-11-26 00:43:15.999343', '2026-11-26 00:43:16.015664');
INSERT INTO events VALUES ('a615d1cc-99a4-489e-a57c-d4069f91bd68', 'app', 'u', 'py-session', 'inv', '2026-11-26 00:43:16.015664', '{"content": {"parts": [{"text": "hi"}], "role": "user"}, "invocation_id": "inv", "author": "user", "actions": {"state_delta": {"k": 1, "app:z": null}, "artifact_delta": {}, "requested_auth_configs": {}, "requested_tool_confirmations": {}}, "node_info": {"path": ""}, "id": "a615d1cc-99a4-489e-a57c-d4069f91bd68", "timestamp": 1795653796.015664}');
"#
        }
    }
}

/// adk-python's v0 layout: events with pickled `actions` and no `event_data`.
fn v0_database(server: Server) -> &'static str {
    match server {
        Server::Postgres => {
            "CREATE TABLE sessions (app_name VARCHAR(128) NOT NULL, user_id VARCHAR(128) NOT NULL, id VARCHAR(128) NOT NULL, state JSONB NOT NULL, create_time TIMESTAMP NOT NULL, update_time TIMESTAMP NOT NULL, PRIMARY KEY (app_name, user_id, id));
             CREATE TABLE events (id VARCHAR(128) NOT NULL, app_name VARCHAR(128) NOT NULL, user_id VARCHAR(128) NOT NULL, session_id VARCHAR(128) NOT NULL, invocation_id VARCHAR(256) NOT NULL, author VARCHAR(256) NOT NULL, actions BYTEA NOT NULL, timestamp TIMESTAMP NOT NULL, content JSONB, PRIMARY KEY (id, app_name, user_id, session_id));"
        }
        Server::Mysql => {
            "CREATE TABLE sessions (app_name VARCHAR(128) NOT NULL, user_id VARCHAR(128) NOT NULL, id VARCHAR(128) NOT NULL, state LONGTEXT NOT NULL, create_time DATETIME(6) NOT NULL, update_time DATETIME(6) NOT NULL, PRIMARY KEY (app_name, user_id, id));
             CREATE TABLE events (id VARCHAR(128) NOT NULL, app_name VARCHAR(128) NOT NULL, user_id VARCHAR(128) NOT NULL, session_id VARCHAR(128) NOT NULL, invocation_id VARCHAR(256) NOT NULL, author VARCHAR(256) NOT NULL, actions LONGBLOB NOT NULL, timestamp DATETIME(6) NOT NULL, content LONGTEXT, PRIMARY KEY (id, app_name, user_id, session_id));"
        }
    }
}

fn open_err(r: adk_sessions::Result<Arc<dyn SessionService>>) -> Error {
    match r {
        Ok(s) => panic!("expected an error, opened {}", s.backend_name()),
        Err(e) => e,
    }
}

pub async fn fresh_schema_matches_adk_python(server: Server) {
    let Some(ours) = TestDb::create(server).await else {
        return;
    };
    let py = TestDb::create(server).await.unwrap();
    ours.open().await;
    py.exec(adk_python_database(server)).await;
    let (a, b) = (ours.columns().await, py.columns().await);
    assert_eq!(a.len(), 22, "{a:#?}");
    assert_eq!(a, b, "columns of a fresh database differ from adk-python's");
    let version = ours
        .strings(match server {
            Server::Postgres => {
                "SELECT value FROM adk_internal_metadata WHERE key = 'schema_version'"
            }
            Server::Mysql => {
                "SELECT `value` FROM adk_internal_metadata WHERE `key` = 'schema_version'"
            }
        })
        .await;
    assert_eq!(version, vec!["1".to_owned()]);
    let indexes = ours
        .strings(match server {
            Server::Postgres => "SELECT indexdef FROM pg_indexes WHERE indexname = 'idx_events_app_user_session_ts_id'",
            Server::Mysql => "SELECT CAST(GROUP_CONCAT(column_name ORDER BY seq_in_index) AS CHAR) FROM information_schema.statistics WHERE table_schema = DATABASE() AND index_name = 'idx_events_app_user_session_ts_id'",
        })
        .await;
    assert_eq!(indexes.len(), 1, "{indexes:?}");
    assert!(
        indexes[0].contains("timestamp") && indexes[0].contains("session_id"),
        "{indexes:?}"
    );
    // The same indexes as adk-python's database, plus our two list indexes.
    let (ours_idx, py_idx) = (ours.indexes().await, py.indexes().await);
    let mut expected = py_idx.clone();
    expected.extend(OUR_INDEXES.iter().map(|s| s.to_string()));
    expected.sort();
    assert_eq!(ours_idx, expected, "adk-python's indexes: {py_idx:#?}");
    // Opening again uses it as is.
    ours.open().await;
    assert_eq!(ours.columns().await, a);
    assert_eq!(ours.indexes().await, ours_idx);
}

pub async fn adk_python_database_is_used_as_is(server: Server) {
    let Some(py) = TestDb::create(server).await else {
        return;
    };
    py.exec(adk_python_database(server)).await;
    let before = py.columns().await;
    let indexes_before = py.indexes().await;
    let service = py.open().await;
    assert_eq!(
        py.columns().await,
        before,
        "opening changed adk-python's schema"
    );
    assert_eq!(
        py.indexes().await,
        indexes_before,
        "opening added an index to adk-python's database"
    );
    assert!(
        !indexes_before.iter().any(|i| i.contains("idx_sessions_")),
        "{indexes_before:#?}"
    );
    let s = service
        .get(&SessionKey::new("app", "u", "py-session"), GetFilter::all())
        .await
        .expect("the session adk-python wrote");
    let state = s.state().snapshot();
    assert_eq!(state.get("c"), Some(&json!("x")));
    assert_eq!(state.get("k"), Some(&json!(1)));
    assert_eq!(state.get("app:a"), Some(&json!(1)));
    assert_eq!(state.get("app:z"), Some(&Value::Null));
    assert_eq!(state.get("user:b"), Some(&Value::Null));
    assert_eq!(s.events().len(), 1);
    let e = s.events().get(0).unwrap();
    assert_eq!(e.id, "a615d1cc-99a4-489e-a57c-d4069f91bd68");
    assert_eq!(e.author, "user");
    assert_eq!(
        e.content.as_ref().unwrap().parts.as_ref().unwrap()[0]
            .text
            .as_deref(),
        Some("hi")
    );
    assert_eq!(s.last_update_time(), 1795653796.015664);
    // And appends to it, through every scope.
    let event = Event::new("inv-2", "agent")
        .with_state("app:new", json!(null))
        .with_state("user:b", json!(2))
        .with_state("c", json!({"deep": true}));
    service.append_event(&s, event).await.expect("append");
    let again = service
        .get(&SessionKey::new("app", "u", "py-session"), GetFilter::all())
        .await
        .unwrap();
    assert_eq!(again.events().len(), 2);
    let state = again.state().snapshot();
    assert_eq!(state.get("app:new"), Some(&Value::Null));
    assert_eq!(state.get("app:a"), Some(&json!(1)));
    assert_eq!(state.get("user:b"), Some(&json!(2)));
    assert_eq!(state.get("c"), Some(&json!({"deep": true})));
    assert_eq!(state.get("k"), Some(&json!(1)));
}

/// On adk-python's tables, whose key columns take the database's default collation (on
/// MariaDB case-insensitive and space-padding: `app`, `App` and `app ` compare equal),
/// look-alike keys never reach the stored session: reads find nothing, a write through
/// one is either stored as its own or refused cleanly, and the original never changes.
pub async fn look_alike_keys_never_reach_an_adk_python_session(server: Server) {
    let Some(py) = TestDb::create(server).await else {
        return;
    };
    py.exec(adk_python_database(server)).await;
    let service = py.open().await;
    let original = |s: &adk_sessions::Session| (s.state().snapshot(), s.events().len());
    let before = original(
        &service
            .get(&SessionKey::new("app", "u", "py-session"), GetFilter::all())
            .await
            .unwrap(),
    );
    for (app, user, sid) in [
        ("app ", "u", "py-session"),
        ("APP", "u", "py-session"),
        ("app", "u ", "py-session"),
        ("app", "U", "py-session"),
        ("app", "u", "py-session "),
        ("app", "u", "PY-SESSION"),
    ] {
        let what = format!("{:?}", (app, user, sid));
        assert!(
            matches!(
                service
                    .get(&SessionKey::new(app, user, sid), GetFilter::all())
                    .await,
                Err(Error::NotFound { .. })
            ),
            "get {what}"
        );
        if app != "app" {
            assert!(
                service.get_app_state(app).await.unwrap().is_empty(),
                "{what}"
            );
        }
        if (app, user) != ("app", "u") {
            assert!(
                service.get_user_state(app, user).await.unwrap().is_empty(),
                "{what}"
            );
        }
        service
            .delete(&SessionKey::new(app, user, sid))
            .await
            .unwrap();
        // Scoped keys only where the scope is the look-alike's own.
        let mut state = serde_json::Map::new();
        state.insert("probe".into(), json!(what));
        if app != "app" {
            state.insert("app:probe".into(), json!(what));
        }
        if (app, user) != ("app", "u") {
            state.insert("user:probe".into(), json!(what));
        }
        match service
            .create(app, user, CreateOptions::new().session_id(sid).state(state))
            .await
        {
            Ok(s) => {
                service
                    .append_event(&s, Event::new("i", "agent").with_state("n", json!(what)))
                    .await
                    .unwrap();
                service
                    .delete(&SessionKey::new(app, user, sid))
                    .await
                    .unwrap();
            }
            Err(Error::AlreadyExists { .. } | Error::InvalidArgument(_)) => {}
            Err(e) => panic!("create {what}: {e}"),
        }
        if (app, user) != ("app", "u") {
            assert!(
                matches!(
                    service
                        .get(&SessionKey::new(app, user, sid), GetFilter::all())
                        .await,
                    Err(Error::NotFound { .. })
                ),
                "{what} is left behind"
            );
        }
        let now = service
            .get(&SessionKey::new("app", "u", "py-session"), GetFilter::all())
            .await
            .unwrap();
        assert_eq!(
            original(&now),
            before,
            "the original changed through {what}"
        );
    }
}

/// A database holding another application's `sessions` table is refused at open,
/// naming the table, and nothing is added to it (no tables, no version row).
pub async fn foreign_sessions_table_is_refused_and_untouched(server: Server) {
    let Some(db) = TestDb::create(server).await else {
        return;
    };
    db.exec("CREATE TABLE sessions (id INTEGER PRIMARY KEY, name VARCHAR(64), expires INTEGER)")
        .await;
    let before = db.columns().await;
    let Err(err) = adk_sessions::open(&db.url, &super::test_options()).await else {
        panic!("a foreign sessions table must be refused");
    };
    assert!(
        err.to_string()
            .contains("\"sessions\" that is not an ADK session table"),
        "{err}"
    );
    assert_eq!(db.columns().await, before, "the refused database changed");
}

/// PostgreSQL: time columns of type `timestamptz`, as adk-js's `DatabaseSessionService`
/// creates them, are read as the right instants and written back exactly, whatever the
/// time zone of the connection that wrote them (MySQL: nothing to check).
pub async fn timestamptz_columns_are_read_and_written_exactly(server: Server) {
    if server != Server::Postgres {
        return;
    }
    let Some(db) = TestDb::create(server).await else {
        return;
    };
    drop(db.open().await);
    db.exec(
        "ALTER TABLE sessions
            ALTER COLUMN create_time TYPE timestamptz USING create_time AT TIME ZONE 'UTC',
            ALTER COLUMN update_time TYPE timestamptz USING update_time AT TIME ZONE 'UTC';
         ALTER TABLE events ALTER COLUMN timestamp TYPE timestamptz USING timestamp AT TIME ZONE 'UTC';
         ALTER TABLE app_states ALTER COLUMN update_time TYPE timestamptz USING update_time AT TIME ZONE 'UTC';
         ALTER TABLE user_states ALTER COLUMN update_time TYPE timestamptz USING update_time AT TIME ZONE 'UTC';
         SET TIME ZONE 'America/New_York';
         INSERT INTO app_states VALUES ('app', '{}', '2026-11-30 05:00:00-05');
         INSERT INTO user_states VALUES ('app', 'u', '{}', '2026-11-30 05:00:00-05');
         INSERT INTO sessions VALUES ('app', 'u', 'js', '{\"k\": 1}', '2026-11-30 05:00:00-05', '2026-11-30 05:00:00.250000-05');",
    )
    .await;
    let service = db.open().await;
    let key = SessionKey::new("app", "u", "js");
    let s = service.get(&key, GetFilter::all()).await.unwrap();
    // 2026-11-30T10:00:00.25Z
    assert_eq!(s.last_update_time(), 1_796_032_800.25);
    let listed = service
        .list("app", Some("u"), &Default::default())
        .await
        .unwrap();
    assert_eq!(listed.sessions[0].last_update_time(), 1_796_032_800.25);
    let mut event = Event::new("inv", "agent").with_state("k", json!(2));
    event.timestamp = 1_796_032_801.5;
    service
        .append_event(&s, event)
        .await
        .expect("append to an adk-js row");
    assert_eq!(s.last_update_time(), 1_796_032_801.5);
    let stored = db
        .strings("SELECT extract(epoch FROM update_time)::text FROM sessions WHERE id = 'js'")
        .await;
    assert_eq!(stored, ["1796032801.500000"]);
    let again = service.get(&key, GetFilter::all()).await.unwrap();
    assert_eq!(again.revision(), s.revision());
    assert_eq!(again.state().get("k"), Some(json!(2)));
    // A stale handle is still refused, a fresh session still works.
    let stale = Event::new("inv2", "agent");
    assert!(matches!(
        service
            .append_event(&Session::clone(&listed.sessions[0]), stale)
            .await,
        Err(Error::Stale { .. })
    ));
    service
        .create("app", "u", CreateOptions::new().session_id("new"))
        .await
        .unwrap();
}

/// Every `list` statement of the service (with and without a user, first page and after
/// a cursor) reads one of our indexes in the keyset order: no sort of the app's sessions.
/// PostgreSQL: `EXPLAIN` with `enable_seqscan` and `enable_sort` off names the index and
/// has no `Sort` node (with sorts discouraged, a plan that still sorts could not avoid
/// it). MySQL/MariaDB (`EXPLAIN FORMAT=JSON`, statistics as they are): a whole-app list
/// reads our index with no filesort, and a range access after a cursor (so a deep page
/// does not scan from the app's first session); a per-user list may instead sort that
/// user's rows found through the primary key (the optimizer's cost choice), never the
/// app's. The cursor's user differs from the listed user, as a token may.
pub async fn list_queries_use_our_index(server: Server) {
    let Some(db) = TestDb::create(server).await else {
        return;
    };
    drop(db.open().await);
    db.exec(match server {
        Server::Postgres => {
            "INSERT INTO sessions (app_name, user_id, id, state, create_time, update_time)
             SELECT 'app', 'u' || (i % 20), 's' || i, '{}', now(), now() + i * interval '1 ms'
             FROM generate_series(1, 5000) AS i;
             INSERT INTO sessions (app_name, user_id, id, state, create_time, update_time)
             SELECT 'other', 'u' || (i % 20), 's' || i, '{}', now(), now()
             FROM generate_series(1, 500) AS i;
             ANALYZE sessions"
        }
        Server::Mysql => {
            "INSERT INTO sessions (app_name, user_id, id, state, create_time, update_time)
             SELECT 'app', CONCAT('u', n % 20), CONCAT('s', n), '{}', NOW(6),
                 NOW(6) + INTERVAL n * 1000 MICROSECOND
             FROM (SELECT a.d + 10 * b.d + 100 * c.d + 1000 * e.d AS n
                   FROM (SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3
                         UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6
                         UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) a,
                        (SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3
                         UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6
                         UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) b,
                        (SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3
                         UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6
                         UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) c,
                        (SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3
                         UNION ALL SELECT 4) e) x;
             ANALYZE TABLE sessions"
        }
    })
    .await;
    let list = match server {
        Server::Postgres => adk_sessions::testsuite::list_statements::postgres(),
        Server::Mysql => adk_sessions::testsuite::list_statements::mysql(),
    };
    let middle = chrono::Utc::now().naive_utc() + chrono::Duration::seconds(2);
    for (by_user, after) in [(false, false), (false, true), (true, false), (true, true)] {
        let sql = list[usize::from(by_user) * 2 + usize::from(after)];
        let mut binds = vec![Bind::Text("app".into())];
        if by_user {
            binds.push(Bind::Text("u7".into()));
        }
        if after {
            binds.extend([
                Bind::Time(middle),
                Bind::Time(middle),
                Bind::Text("u3".into()),
                Bind::Text("s2000".into()),
            ]);
        }
        binds.push(Bind::Int(101));
        let plan = db.explain(sql, &binds).await;
        let what = format!("by_user={by_user} after={after}:\n{plan}");
        match server {
            Server::Postgres => {
                let index = if by_user {
                    "idx_sessions_app_user_update_id"
                } else {
                    "idx_sessions_app_update_user_id"
                };
                assert!(
                    plan.contains(&format!("Index Scan using {index} on sessions s")),
                    "{what}"
                );
                assert!(!plan.contains("Sort"), "{what}");
            }
            Server::Mysql if !by_user => {
                assert!(
                    plan.contains("\"key\": \"idx_sessions_app_update_user_id\""),
                    "{what}"
                );
                assert!(!plan.contains("filesort"), "{what}");
                if after {
                    assert!(plan.contains("\"access_type\": \"range\""), "{what}");
                }
            }
            Server::Mysql => {
                // With a user the optimizer may prefer the clustered primary key on
                // (app_name, user_id) and sort that one user's sessions (250 here) over
                // reading our secondary index: a cost choice, bounded by the user's
                // sessions, not the app's. Either way it never sorts the whole app.
                assert!(
                    plan.contains("\"idx_sessions_app_user_update_id\""),
                    "{what}"
                );
                assert!(
                    !plan.contains("filesort")
                        || plan.contains("\"used_key_parts\": [\"app_name\", \"user_id\""),
                    "{what}"
                );
            }
        }
    }
}

pub async fn other_schema_versions_are_refused(server: Server) {
    let Some(v0) = TestDb::create(server).await else {
        return;
    };
    v0.exec(v0_database(server)).await;
    let e = open_err(adk_sessions::open(&v0.url, &test_options()).await);
    assert!(matches!(e, Error::Storage { .. }), "{e:?}");
    assert!(e.to_string().contains("version 0"), "{e}");

    let v2 = TestDb::create(server).await.unwrap();
    v2.exec(adk_python_database(server)).await;
    v2.exec("UPDATE adk_internal_metadata SET value = '2'")
        .await;
    let e = open_err(adk_sessions::open(&v2.url, &test_options()).await);
    assert!(e.to_string().contains("\"2\""), "{e}");
}

/// A port where nothing listens: `Storage`, within the connect timeout, no password.
pub async fn unreachable_server_is_a_storage_error(server: Server) {
    let url = match server {
        Server::Postgres => "postgres://bob:hunter2-secret@127.0.0.1:9/x",
        Server::Mysql => "mysql://bob:hunter2-secret@127.0.0.1:9/x",
    };
    let options = OpenOptions::default().connect_timeout(Duration::from_secs(2));
    let started = Instant::now();
    let e = open_err(adk_sessions::open(url, &options).await);
    let took = started.elapsed();
    assert!(matches!(e, Error::Storage { .. }), "{e:?}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    let text = format!("{e} {e:?}");
    assert!(!text.contains("hunter2-secret"), "{text}");
    assert!(text.contains("127.0.0.1"), "{text}");
    eprintln!("unreachable {server:?}: {e} (after {took:?})");
}

/// TLS to the database, when the URL asks for it, verified against the CA the URL names:
/// the server's user `adk_tls` may connect only over TLS (`.ci/services.sh` sets that up,
/// with a CA of its own in `ADK_SESSIONS_TEST_TLS_CA`), so a service that works as it
/// proves its connections are encrypted; the same user without TLS is refused, and a CA
/// that did not sign the server's certificate is refused with an error that says so.
pub async fn tls_connections_are_verified(server: Server) {
    let ca = match std::env::var("ADK_SESSIONS_TEST_TLS_CA") {
        Ok(ca) if !ca.trim().is_empty() => ca,
        _ => {
            adk_sessions::testsuite::skip(
                "set ADK_SESSIONS_TEST_TLS_CA=/etc/adk-sessions-tests/tls/ca.pem (made by .ci/services.sh) to run the database TLS tests",
            );
            return;
        }
    };
    let Some(db) = TestDb::create(server).await else {
        return;
    };
    if server == Server::Postgres {
        // The owner may create tables in the database's public schema.
        db.exec(&format!("ALTER DATABASE {} OWNER TO adk_tls", db.name))
            .await;
    }
    // The test server's host and port, as the user adk_tls, without a password.
    let host = db
        .url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .map(|authority| authority.rsplit('@').next().unwrap_or(authority))
        .expect("a host in the test URL");
    let url = |query: &str| match server {
        Server::Postgres => format!("postgres://adk_tls@{host}/{}?{query}", db.name),
        Server::Mysql => format!("mysql://adk_tls@{host}/{}?{query}", db.name),
    };
    let (verified, plain, untrusted) = match server {
        Server::Postgres => (
            format!("sslmode=verify-full&sslrootcert={ca}"),
            "sslmode=disable".to_owned(),
            "sslmode=verify-full&sslrootcert=/etc/ssl/certs/ca-certificates.crt".to_owned(),
        ),
        Server::Mysql => (
            format!("ssl-mode=VERIFY_IDENTITY&ssl-ca={ca}"),
            "ssl-mode=DISABLED".to_owned(),
            "ssl-mode=VERIFY_IDENTITY&ssl-ca=/etc/ssl/certs/ca-certificates.crt".to_owned(),
        ),
    };

    let service = adk_sessions::open(&url(&verified), &test_options())
        .await
        .unwrap_or_else(|e| panic!("open over verified TLS: {e}"));
    let session = service
        .create(
            "tls_app",
            "u1",
            CreateOptions::new().state(json!({"user:lang": "en"})),
        )
        .await
        .expect("create over TLS");
    service
        .append_event(
            &session,
            Event::new("inv-1", "user").with_state("turns", json!(1)),
        )
        .await
        .expect("append over TLS");
    let read = service
        .get(session.key(), GetFilter::all())
        .await
        .expect("get over TLS");
    assert_eq!(read.events().len(), 1);
    assert_eq!(read.state().get("turns"), Some(json!(1)));
    assert_eq!(read.state().get("user:lang"), Some(json!("en")));
    service.close().await.expect("close");

    let options = test_options().connect_timeout(Duration::from_secs(5));
    let e = open_err(adk_sessions::open(&url(&plain), &options).await);
    assert!(matches!(e, Error::Storage { .. }), "{e:?}");
    eprintln!("{server:?} without TLS: {e}");

    if Path::new("/etc/ssl/certs/ca-certificates.crt").exists() {
        let e = open_err(adk_sessions::open(&url(&untrusted), &options).await);
        assert!(matches!(e, Error::Storage { .. }), "{e:?}");
        let text = e.to_string();
        assert!(
            text.contains("TLS with the") && text.contains("certificate"),
            "the error should say the certificate was refused: {e}"
        );
        eprintln!("{server:?} with a CA that did not sign the server's certificate: {e}");
    }
}

/// A password in the URL shows neither in `Debug` of the service nor in its errors.
pub async fn passwords_never_show(server: Server) {
    let Some(db) = TestDb::create(server).await else {
        return;
    };
    let secret = "pw-Zx81-never-shown";
    let authority = db
        .url
        .split("://")
        .nth(1)
        .unwrap_or("")
        .split('/')
        .next()
        .unwrap_or("");
    if authority.split('@').next().unwrap_or("").contains(':') {
        eprintln!("the test URL already carries a password; nothing to add");
        return;
    }
    let url = db.url.replacen('@', &format!(":{secret}@"), 1);
    use adk_sessions::{MysqlSessionService, PostgresSessionService};
    let opened = match server {
        Server::Postgres => PostgresSessionService::open(&url, &test_options())
            .await
            .map(|s| format!("{s:?}")),
        Server::Mysql => MysqlSessionService::open(&url, &test_options())
            .await
            .map(|s| format!("{s:?}")),
    };
    match opened {
        // PostgreSQL on `trust` ignores the password.
        Ok(debug) => {
            assert!(!debug.contains(secret), "{debug}");
            assert!(debug.contains("***"), "{debug}");
        }
        // MySQL refuses the wrong password.
        Err(e) => {
            let text = format!("{e} {e:?}");
            assert!(!text.contains(secret), "{text}");
            assert!(matches!(e, Error::Storage { .. }), "{e:?}");
        }
    }
}

/// The first state rows of an app and user, created by many writers at once (sessions
/// whose app/user rows are missing, as in a database another tool filled), are merged,
/// not a unique-violation error.
pub async fn first_state_rows_created_concurrently_are_merged(server: Server) {
    let Some(db) = TestDb::create(server).await else {
        return;
    };
    let service = db.open().await;
    let n = 12;
    let mut sessions = Vec::new();
    for i in 0..n {
        sessions.push(Arc::new(
            service
                .create(
                    "first",
                    "u",
                    CreateOptions::new().session_id(format!("s{i}")),
                )
                .await
                .unwrap(),
        ));
    }
    db.exec("DELETE FROM app_states; DELETE FROM user_states;")
        .await;
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let tasks: Vec<_> = sessions
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            let (service, barrier) = (service.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let e = Event::new("inv", "agent")
                    .with_state(format!("app:a{i}"), json!(i))
                    .with_state(format!("user:u{i}"), json!(null));
                service.append_event(&s, e).await.expect("append");
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let app = service.get_app_state("first").await.unwrap();
    let user = service.get_user_state("first", "u").await.unwrap();
    for i in 0..n {
        assert_eq!(app.get(&format!("a{i}")), Some(&json!(i)), "{app:?}");
        assert_eq!(user.get(&format!("u{i}")), Some(&Value::Null), "{user:?}");
    }
}

/// Deleting a session removes its event rows in SQL (the foreign key cascades), and
/// nothing of another session.
pub async fn delete_cascades_in_sql(server: Server) {
    let Some(db) = TestDb::create(server).await else {
        return;
    };
    let service = db.open().await;
    for id in ["gone", "kept"] {
        let s = service
            .create("del", "u", CreateOptions::new().session_id(id))
            .await
            .unwrap();
        for i in 0..3 {
            service
                .append_event(&s, Event::new("inv", "a").with_state("i", json!(i)))
                .await
                .unwrap();
        }
    }
    service
        .delete(&SessionKey::new("del", "u", "gone"))
        .await
        .unwrap();
    let count = |id: &str| {
        let sql = match server {
            Server::Postgres => format!(
                "SELECT count(*)::text FROM events WHERE app_name = 'del' AND session_id = '{id}'"
            ),
            Server::Mysql => format!(
                "SELECT CAST(count(*) AS CHAR) FROM events WHERE app_name = 'del' AND session_id = '{id}'"
            ),
        };
        let db = &db;
        async move { db.strings(&sql).await[0].clone() }
    };
    assert_eq!(count("gone").await, "0");
    assert_eq!(count("kept").await, "3");
}

/// What another runtime's schema update does (adk-js on MariaDB and PostgreSQL: the
/// events foreign key without its cascade, indexes dropped, on MariaDB whole-second
/// DATETIME) is reported by `check_schema` and undone by `repair_schema`, rows kept.
pub async fn schema_drift_is_found_and_repaired(server: Server) {
    let Some(db) = TestDb::create(server).await else {
        return;
    };
    let service = db.open().await;
    let s = service
        .create("drift", "u", CreateOptions::new().session_id("s"))
        .await
        .unwrap();
    service
        .append_event(&s, Event::new("inv", "a").with_state("k", json!(1)))
        .await
        .unwrap();
    service.close().await.unwrap();
    drop(service);
    let report = adk_sessions::check_schema(&db.url).await.unwrap();
    assert!(
        report.is_healthy() && report.findings.is_empty(),
        "{report}"
    );
    let fk = match server {
        Server::Postgres => db
            .strings("SELECT conname::text FROM pg_constraint WHERE contype = 'f' AND conrelid = 'events'::regclass")
            .await,
        Server::Mysql => db
            .strings("SELECT CAST(constraint_name AS CHAR) FROM information_schema.referential_constraints WHERE constraint_schema = DATABASE() AND table_name = 'events'")
            .await,
    };
    let add_plain =
        "FOREIGN KEY (app_name, user_id, session_id) REFERENCES sessions (app_name, user_id, id)";
    match server {
        Server::Postgres => {
            db.exec(&format!(
                "ALTER TABLE events DROP CONSTRAINT \"{}\"; ALTER TABLE events ADD CONSTRAINT plain_fk {add_plain}; \
                 DROP INDEX idx_events_app_user_session_ts_id; DROP INDEX idx_sessions_app_update_user_id; \
                 ALTER TABLE sessions ALTER COLUMN update_time TYPE timestamp with time zone",
                fk[0]
            ))
            .await
        }
        Server::Mysql => {
            db.exec(&format!(
                // (InnoDB keeps the events index: the foreign key needs it.)
                "ALTER TABLE events DROP FOREIGN KEY `{}`; ALTER TABLE events ADD CONSTRAINT plain_fk {add_plain}; \
                 ALTER TABLE sessions DROP INDEX idx_sessions_app_update_user_id; \
                 ALTER TABLE sessions MODIFY update_time DATETIME NOT NULL",
                fk[0]
            ))
            .await
        }
    }
    let report = adk_sessions::check_schema(&db.url).await.unwrap();
    assert!(!report.is_healthy(), "{report}");
    let text = report.to_string();
    assert!(text.contains("lost ON DELETE CASCADE"), "{text}");
    if server == Server::Postgres {
        assert!(
            text.contains("idx_events_app_user_session_ts_id on events is missing"),
            "{text}"
        );
    }
    assert!(
        text.contains("idx_sessions_app_update_user_id missing"),
        "{text}"
    );
    match server {
        Server::Postgres => assert!(
            text.contains("sessions.update_time is timestamptz"),
            "{text}"
        ),
        Server::Mysql => assert!(
            text.contains("sessions.update_time is datetime without microseconds"),
            "{text}"
        ),
    }
    let repaired = adk_sessions::repair_schema(&db.url).await.unwrap();
    assert!(repaired.is_healthy(), "{repaired}");
    assert!(!repaired.repaired.is_empty());
    assert!(
        repaired
            .findings
            .iter()
            .all(|f| f.severity == adk_sessions::Severity::Note),
        "{repaired}"
    );
    let service = db.open().await;
    let key = SessionKey::new("drift", "u", "s");
    let got = service.get(&key, GetFilter::all()).await.unwrap();
    assert_eq!(got.events().len(), 1, "rows lost by the repair");
    service.delete(&key).await.unwrap();
    let left = match server {
        Server::Postgres => db.strings("SELECT count(*)::text FROM events").await,
        Server::Mysql => {
            db.strings("SELECT CAST(count(*) AS CHAR) FROM events")
                .await
        }
    };
    assert_eq!(
        left[0], "0",
        "the repaired cascade did not delete the events"
    );
}

/// What adk-js's schema update and writes leave behind is handled (interop/adk-js found
/// each): a delete without the cascade still removes the events; a value longer than a
/// narrowed column is `InvalidArgument`, not a storage error; millisecond event times in
/// `event_data` read as seconds on every load path; MySQL times without microseconds
/// refuse the database at open, clearly, until `repair_schema`.
pub async fn another_writers_changes_are_handled(server: Server) {
    let Some(db) = TestDb::create(server).await else {
        return;
    };
    let service = db.open().await;
    let s = service
        .create("other", "u", CreateOptions::new().session_id("s"))
        .await
        .unwrap();
    let e = Event::new("inv", "a");
    let ms = (e.timestamp * 1000.0).round();
    service.append_event(&s, e).await.unwrap();
    match server {
        Server::Postgres => {
            db.exec(&format!(
                "UPDATE events SET event_data = jsonb_set(event_data, '{{timestamp}}', '{ms}'::jsonb); \
                 ALTER TABLE events DROP CONSTRAINT events_app_name_user_id_session_id_fkey; \
                 ALTER TABLE events ALTER COLUMN invocation_id TYPE varchar(255)"
            ))
            .await
        }
        Server::Mysql => {
            db.exec(&format!(
                "UPDATE events SET event_data = JSON_SET(event_data, '$.timestamp', {ms}); \
                 ALTER TABLE events DROP FOREIGN KEY events_ibfk_1; \
                 ALTER TABLE events MODIFY invocation_id VARCHAR(255) NOT NULL"
            ))
            .await
        }
    }
    let key = SessionKey::new("other", "u", "s");
    let got = service.get(&key, GetFilter::all()).await.unwrap();
    let t = got.events().get(0).unwrap().timestamp;
    assert!(
        (t - ms / 1000.0).abs() < 1e-3,
        "millisecond time read as {t}"
    );
    let long = Event::new("x".repeat(256), "a");
    let err = service.append_event(&got, long).await.unwrap_err();
    assert!(
        matches!(err, adk_sessions::Error::InvalidArgument(_)),
        "{err:?}"
    );
    service.delete(&key).await.unwrap();
    let left = match server {
        Server::Postgres => db.strings("SELECT count(*)::text FROM events").await,
        Server::Mysql => {
            db.strings("SELECT CAST(count(*) AS CHAR) FROM events")
                .await
        }
    };
    assert_eq!(left[0], "0", "a delete without the cascade left events");
    drop(service);
    if server == Server::Mysql {
        // adk-js's DATETIME: whole seconds. Revisions become whole seconds, each at least
        // one past the last, so handles from replies work and stale ones are refused.
        db.exec(
            "ALTER TABLE sessions MODIFY update_time DATETIME NOT NULL, MODIFY create_time DATETIME NOT NULL; \
             ALTER TABLE events MODIFY `timestamp` DATETIME NOT NULL",
        )
        .await;
        let service = db.open().await;
        let first = service
            .create("other", "u", CreateOptions::new().session_id("w"))
            .await
            .unwrap();
        assert_eq!(
            first.revision().as_micros() % 1_000_000,
            0,
            "{:?}",
            first.revision()
        );
        let old = first.clone();
        let base = cases_now_secs().floor() + 0.9;
        let mut late = Event::new("i", "a");
        late.id = "a-late".into();
        late.timestamp = base;
        let mut early = Event::new("i", "a");
        early.id = "b-early".into();
        early.timestamp = base - 0.8;
        service.append_event(&first, late).await.unwrap();
        service.append_event(&first, early).await.unwrap();
        assert!(first.revision() >= old.revision());
        let stale = service
            .append_event(&old, Event::new("i", "a"))
            .await
            .unwrap_err();
        assert!(
            matches!(stale, adk_sessions::Error::Stale { .. }),
            "{stale:?}"
        );
        let key = SessionKey::new("other", "u", "w");
        let got = service.get(&key, GetFilter::all()).await.unwrap();
        assert_eq!(
            got.revision(),
            first.revision(),
            "the reply's revision is not the stored one"
        );
        let ids: Vec<String> = got.events().iter().map(|e| e.id.clone()).collect();
        assert_eq!(
            ids,
            ["b-early", "a-late"],
            "events of one second out of time order"
        );
        let after = service
            .get(
                &key,
                GetFilter::all().after(adk_sessions::Timestamp::from_micros(
                    ((base - 0.5) * 1e6) as i64,
                )),
            )
            .await
            .unwrap();
        let ids: Vec<String> = after.events().iter().map(|e| e.id.clone()).collect();
        assert_eq!(ids, ["a-late"], "after within one second");
        drop(service);
        let report = adk_sessions::check_schema(&db.url).await.unwrap();
        assert!(
            report.to_string().contains("without microseconds"),
            "{report}"
        );
        let repaired = adk_sessions::repair_schema(&db.url).await.unwrap();
        assert!(repaired.is_healthy(), "{repaired}");
        // The same change under a running service (adk-js started after it): the first
        // write that reads its revision back without the fraction switches it over.
        let service = db.open().await;
        let before = service
            .create("other", "u", CreateOptions::new().session_id("v"))
            .await
            .unwrap();
        db.exec("ALTER TABLE sessions MODIFY update_time DATETIME NOT NULL")
            .await;
        let created = service
            .create("other", "u", CreateOptions::new().session_id("z"))
            .await
            .unwrap();
        assert_eq!(created.revision().as_micros() % 1_000_000, 0);
        let old = created.clone();
        for _ in 0..3 {
            service
                .append_event(&created, Event::new("i", "a"))
                .await
                .expect("a handle from the reply appends");
        }
        let stale = service
            .append_event(&old, Event::new("i", "a"))
            .await
            .unwrap_err();
        assert!(
            matches!(stale, adk_sessions::Error::Stale { .. }),
            "{stale:?}"
        );
        // A handle from before the change cannot be told from a stale one: refused.
        let refused = service.append_event(&before, Event::new("i", "a")).await;
        assert!(
            matches!(refused, Err(adk_sessions::Error::Stale { .. })),
            "{refused:?}"
        );
        let reloaded = service
            .get(&SessionKey::new("other", "u", "v"), GetFilter::all())
            .await
            .unwrap();
        service
            .append_event(&reloaded, Event::new("i", "a"))
            .await
            .expect("a reloaded handle appends");
    }
}

fn cases_now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

// ---- multi-process ----------------------------------------------------------------

/// Env var that makes the `child_process` test of a binary act as a child.
pub const CHILD_ROLE: &str = "ADK_SESSIONS_TEST_CHILD_ROLE";
const CHILD_URL: &str = "ADK_SESSIONS_TEST_CHILD_URL";
const CHILD_DIR: &str = "ADK_SESSIONS_TEST_CHILD_DIR";

/// Processes in the scoped-writes test, sessions per process, appends per session.
const PROCESSES: usize = 4;
const SESSIONS_PER_PROCESS: usize = 3;
const APPENDS: usize = 40;
/// Rounds of the stale race.
const ROUNDS: usize = 8;

fn spawn_children(role: &str, url: &str, dir: &Path, n: usize) {
    let exe = std::env::current_exe().expect("test binary");
    let children: Vec<_> = (0..n)
        .map(|i| {
            Command::new(&exe)
                .args([
                    "child_process",
                    "--exact",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(CHILD_ROLE, format!("{role}:{i}"))
                .env(CHILD_URL, url)
                .env(CHILD_DIR, dir)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn a child process")
        })
        .collect();
    for (i, c) in children.into_iter().enumerate() {
        let out = c.wait_with_output().expect("wait for a child");
        assert!(
            out.status.success(),
            "child {role}:{i} failed: {}\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("adk-{tag}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub async fn processes_never_lose_scoped_writes(server: Server) {
    let Some(db) = TestDb::create(server).await else {
        return;
    };
    let service = db.open().await; // schema first
    let dir = temp_dir("scoped");
    let started = Instant::now();
    let (url, d) = (db.url.clone(), dir.clone());
    tokio::task::spawn_blocking(move || spawn_children("scoped", &url, &d, PROCESSES))
        .await
        .unwrap();
    let took = started.elapsed();
    let app = service.get_app_state("mp").await.unwrap();
    let user = service.get_user_state("mp", "u").await.unwrap();
    for p in 0..PROCESSES {
        for s in 0..SESSIONS_PER_PROCESS {
            let sid = format!("p{p}s{s}");
            for i in 0..APPENDS {
                let key = format!("{sid}_{i}");
                assert_eq!(app.get(&key), Some(&json!(i)), "app key {key} lost");
                assert_eq!(user.get(&key), Some(&json!(i)), "user key {key} lost");
            }
            let session = service
                .get(&SessionKey::new("mp", "u", &sid), GetFilter::all())
                .await
                .unwrap();
            assert_eq!(session.events().len(), APPENDS);
            assert_eq!(session.state().get("mine").unwrap(), json!(APPENDS - 1));
        }
    }
    let total = PROCESSES * SESSIONS_PER_PROCESS * APPENDS;
    eprintln!(
        "{server:?}: {PROCESSES} processes × {SESSIONS_PER_PROCESS} sessions × {APPENDS} appends = {total} appends in {took:?} (process start included)"
    );
    let _ = std::fs::remove_dir_all(dir);
}

pub async fn processes_racing_stale_handles_have_one_winner_per_round(server: Server) {
    let Some(db) = TestDb::create(server).await else {
        return;
    };
    let service = db.open().await;
    service
        .create("race", "u", CreateOptions::new().session_id("s"))
        .await
        .unwrap();
    let dir = temp_dir("race");
    let (url, d) = (db.url.clone(), dir.clone());
    tokio::task::spawn_blocking(move || spawn_children("race", &url, &d, 2))
        .await
        .unwrap();
    for r in 0..ROUNDS {
        let results: Vec<String> = (0..2)
            .map(|c| {
                std::fs::read_to_string(dir.join(format!("result_{r}_{c}")))
                    .unwrap_or_else(|_| "missing".into())
            })
            .collect();
        let wins = results.iter().filter(|x| *x == "ok").count();
        let stale = results.iter().filter(|x| *x == "stale").count();
        assert_eq!((wins, stale), (1, 1), "round {r}: {results:?}");
    }
    let s = service
        .get(&SessionKey::new("race", "u", "s"), GetFilter::all())
        .await
        .unwrap();
    assert_eq!(s.events().len(), ROUNDS);
    let _ = std::fs::remove_dir_all(dir);
}

/// The body of a child process; does nothing unless [`CHILD_ROLE`] is set.
pub fn child_process() {
    let Ok(role) = std::env::var(CHILD_ROLE) else {
        return;
    };
    let url = std::env::var(CHILD_URL).expect("child url");
    let dir = PathBuf::from(std::env::var(CHILD_DIR).expect("child dir"));
    let (role, index) = role.split_once(':').expect("role:index");
    let index: usize = index.parse().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let service = adk_sessions::open(&url, &test_options())
            .await
            .expect("open");
        match role {
            "scoped" => child_scoped(service, index).await,
            "race" => child_race(service, index, &dir).await,
            other => panic!("unknown role {other}"),
        }
    });
}

async fn child_scoped(service: Arc<dyn SessionService>, p: usize) {
    let tasks: Vec<_> = (0..SESSIONS_PER_PROCESS)
        .map(|s| {
            let service = service.clone();
            tokio::spawn(async move {
                let sid = format!("p{p}s{s}");
                let session = service
                    .create("mp", "u", CreateOptions::new().session_id(&sid))
                    .await
                    .unwrap();
                for i in 0..APPENDS {
                    let e = Event::new("inv", "agent")
                        .with_state(format!("app:{sid}_{i}"), json!(i))
                        .with_state(format!("user:{sid}_{i}"), json!(i))
                        .with_state("mine", json!(i));
                    service.append_event(&session, e).await.expect("append");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
}

async fn wait_for(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !path.exists() {
        assert!(Instant::now() < deadline, "timed out waiting for {path:?}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

async fn child_race(service: Arc<dyn SessionService>, c: usize, dir: &Path) {
    for r in 0..ROUNDS {
        // Load at the revision every round starts from: after r winners.
        let session = loop {
            let s = service
                .get(&SessionKey::new("race", "u", "s"), GetFilter::all())
                .await
                .unwrap();
            if s.events().len() == r {
                break s;
            }
            assert!(s.events().len() < r, "round {r} already has more events");
            tokio::time::sleep(Duration::from_millis(2)).await;
        };
        std::fs::write(dir.join(format!("ready_{r}_{c}")), "").unwrap();
        wait_for(&dir.join(format!("ready_{r}_{}", 1 - c))).await;
        // Same timestamp for both: the revision decides, not the clock.
        let mut e = Event::new(format!("round-{r}"), format!("child-{c}"));
        e.timestamp = 1_800_000_000.0 + r as f64;
        let result = match service.append_event(&session, e).await {
            Ok(_) => "ok".to_owned(),
            Err(Error::Stale { .. }) => "stale".to_owned(),
            Err(other) => format!("error: {other}"),
        };
        std::fs::write(dir.join(format!("result_{r}_{c}")), result).unwrap();
    }
}
