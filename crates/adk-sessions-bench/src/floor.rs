//! The raw floor of docs/bench.md: the rows of W1 written and read through the bare
//! driver, with no service logic, into a fresh store of its own whose tables and indexes
//! the service itself created (adk-python's schema v1 plus this project's two list
//! indexes), so that both maintain the same indexes per append.
//!
//! - **append**: W1's shape (S sessions, M rounds, each append awaited before the next);
//!   each append is one transaction holding the `INSERT` of a pre-serialized event row
//!   and the `UPDATE` of the session row (state and update time).
//! - **get**: for each session, the `SELECT` of its row and of its events (newest first,
//!   by the index), every column touched as bytes, no JSON decoded (SQLite: in one read
//!   transaction; servers: two plain statements, no transaction round trips).
//!
//! The caller runs the floor before the workloads and again after them and keeps the
//! better run: fsync times drift on a shared machine, and the better floor is the harder
//! one to match.
//!
//! SQLite runs through rusqlite with the service's pragmas (WAL, `synchronous` per
//! `--sync`, foreign keys) on a file beside the service's; PostgreSQL and MySQL run
//! through one sqlx connection.

use std::path::{Path, PathBuf};
use std::time::Instant;

use adk_sessions::{SqliteSync, Timestamp};
use rusqlite::Connection;
use serde_json::json;
use sqlx::{Connection as _, Row};

use super::target::{self, ServerKind};
use super::workloads::{event, initial_state, user_of, APP};
use super::{BenchError, Progress};

/// Floor figures of one run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Floor {
    /// Appends per second.
    pub append_per_s: f64,
    /// Full gets per second.
    pub get_per_s: f64,
}

/// One pre-serialized append.
struct Row1 {
    id: String,
    invocation_id: String,
    time: Timestamp,
    time_text: String,
    event_data: String,
    state: String,
}

/// The rows of W1, pre-serialized: `rows[i][n]` is event i of session n.
fn prepare_rows(sessions: usize, rounds: usize, text: &str) -> Vec<Vec<Row1>> {
    (0..rounds)
        .map(|i| {
            (0..sessions)
                .map(|n| {
                    let mut e = event(i, text);
                    e.actions.state_delta.retain(|k, _| !k.starts_with("temp:"));
                    let state = json!({"k": n, "counter": i, "last": format!("v{i}")});
                    let time = Timestamp::from_secs_f64(e.timestamp).unwrap_or_default();
                    Row1 {
                        id: e.id.clone(),
                        invocation_id: e.invocation_id.clone(),
                        time,
                        time_text: time_text(time),
                        event_data: e.to_storage_json(),
                        state: state.to_string(),
                    }
                })
                .collect()
        })
        .collect()
}

fn initial_session_state(n: usize) -> String {
    let mut s = initial_state(n);
    s.retain(|k, _| !k.contains(':'));
    serde_json::Value::Object(s).to_string()
}

/// `t` as the naive UTC date-time the SQL columns store.
pub(crate) fn naive_utc(t: Timestamp) -> chrono::NaiveDateTime {
    chrono::DateTime::<chrono::Utc>::from_timestamp_micros(t.as_micros())
        .unwrap_or_default()
        .naive_utc()
}

/// `t` as the text adk-python stores in SQLite's `DATETIME` columns.
pub(crate) fn time_text(t: Timestamp) -> String {
    naive_utc(t).format("%Y-%m-%d %H:%M:%S%.6f").to_string()
}

fn sq(doing: &str, e: rusqlite::Error) -> BenchError {
    BenchError::Other(format!("floor (SQLite): {doing}: {e}"))
}

/// Opens a SQLite connection with the service's pragmas.
pub fn sqlite_open(path: Option<&Path>, sync: SqliteSync) -> Result<Connection, BenchError> {
    let conn = match path {
        Some(p) => Connection::open(p),
        None => Connection::open_in_memory(),
    }
    .map_err(|e| sq("opening", e))?;
    let sync = match sync {
        SqliteSync::Full => "FULL",
        SqliteSync::Normal => "NORMAL",
    };
    if path.is_some() {
        let _mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(|e| sq("switching to WAL", e))?;
    }
    conn.execute_batch(&format!(
        "PRAGMA synchronous={sync}; PRAGMA foreign_keys=ON;"
    ))
    .map_err(|e| sq("setting pragmas", e))?;
    conn.busy_timeout(std::time::Duration::from_secs(30))
        .map_err(|e| sq("setting the busy timeout", e))?;
    Ok(conn)
}

/// Creates the service's schema in the fresh store at `url` by opening the service on it
/// once.
async fn service_schema(url: &str) -> Result<(), BenchError> {
    let service = adk_sessions::open(url, &adk_sessions::OpenOptions::default())
        .await
        .map_err(|e| BenchError::Other(format!("floor: creating the service's tables: {e}")))?;
    drop(service);
    Ok(())
}

/// Runs the SQLite floor in a fresh file in `dir`.
pub async fn sqlite(
    dir: PathBuf,
    sync: SqliteSync,
    sessions: usize,
    rounds: usize,
    text: &str,
    progress: &Progress,
) -> Result<Floor, BenchError> {
    let rows = prepare_rows(sessions, rounds, text);
    let path = dir.join(format!("{}.db", target::fresh_name("adk_bench_floor")));
    let bar = progress.clone();
    let p2 = path.clone();
    let result = match service_schema(&target::sqlite_url(&path)).await {
        Ok(()) => tokio::task::spawn_blocking(move || {
            sqlite_blocking(&p2, sync, sessions, rounds, &rows, &bar)
        })
        .await
        .map_err(|e| BenchError::Other(format!("floor thread: {e}"))),
        Err(e) => Err(e),
    };
    target::remove_sqlite(&path);
    result?
}

fn sqlite_blocking(
    path: &Path,
    sync: SqliteSync,
    sessions: usize,
    rounds: usize,
    rows: &[Vec<Row1>],
    progress: &Progress,
) -> Result<Floor, BenchError> {
    let conn = sqlite_open(Some(path), sync)?;
    let now = time_text(Timestamp::now());
    conn.execute_batch("BEGIN").map_err(|e| sq("begin", e))?;
    for n in 0..sessions {
        conn.execute(
            "INSERT INTO sessions (app_name, user_id, id, state, create_time, update_time) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
            (APP, user_of(n), format!("s{n}"), initial_session_state(n), &now),
        )
        .map_err(|e| sq("inserting a session", e))?;
    }
    conn.execute_batch("COMMIT").map_err(|e| sq("commit", e))?;
    let keys: Vec<(String, String)> = (0..sessions)
        .map(|n| (user_of(n), format!("s{n}")))
        .collect();

    progress.phase("floor append", sessions * rounds);
    let t = Instant::now();
    for round in rows {
        for (row, (user, sid)) in round.iter().zip(&keys) {
            let ts = &row.time_text;
            conn.execute_batch("BEGIN IMMEDIATE")
                .map_err(|e| sq("begin", e))?;
            conn.prepare_cached("INSERT INTO events (id, app_name, user_id, session_id, invocation_id, timestamp, event_data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
                .and_then(|mut s| s.execute((&row.id, APP, user, sid, &row.invocation_id, ts, &row.event_data)))
                .map_err(|e| sq("inserting an event", e))?;
            conn.prepare_cached("UPDATE sessions SET state = ?4, update_time = ?5 WHERE app_name = ?1 AND user_id = ?2 AND id = ?3")
                .and_then(|mut s| s.execute((APP, user, sid, &row.state, ts)))
                .map_err(|e| sq("updating the session", e))?;
            conn.execute_batch("COMMIT").map_err(|e| sq("commit", e))?;
        }
        progress.inc(sessions as u64);
    }
    let append_per_s = (sessions * rounds) as f64 / t.elapsed().as_secs_f64().max(1e-9);

    progress.phase("floor get", sessions);
    let t = Instant::now();
    for (user, sid) in &keys {
        conn.execute_batch("BEGIN").map_err(|e| sq("begin", e))?;
        let mut touched = 0usize;
        conn.prepare_cached("SELECT state, update_time FROM sessions WHERE app_name = ?1 AND user_id = ?2 AND id = ?3")
            .and_then(|mut s| {
                s.query_row((APP, user, sid), |r| {
                    touched += r.get_ref(0)?.as_bytes()?.len() + r.get_ref(1)?.as_bytes()?.len();
                    Ok(())
                })
            })
            .map_err(|e| sq("selecting the session", e))?;
        let mut count = 0usize;
        {
            let mut s = conn
                .prepare_cached("SELECT id, invocation_id, timestamp, event_data FROM events WHERE app_name = ?1 AND user_id = ?2 AND session_id = ?3 ORDER BY timestamp DESC, id DESC LIMIT -1")
                .map_err(|e| sq("preparing the events select", e))?;
            let mut q = s
                .query((APP, user, sid))
                .map_err(|e| sq("selecting events", e))?;
            while let Some(r) = q.next().map_err(|e| sq("reading events", e))? {
                for c in 0..4 {
                    touched += r
                        .get_ref(c)
                        .and_then(|v| Ok(v.as_bytes()?.len()))
                        .map_err(|e| sq("reading a column", e))?;
                }
                count += 1;
            }
        }
        conn.execute_batch("COMMIT").map_err(|e| sq("commit", e))?;
        std::hint::black_box(touched);
        if count != rounds {
            return Err(BenchError::Assertion(format!(
                "floor get {sid}: {count} events, expected {rounds}"
            )));
        }
        progress.inc(1);
    }
    let get_per_s = sessions as f64 / t.elapsed().as_secs_f64().max(1e-9);
    Ok(Floor {
        append_per_s,
        get_per_s,
    })
}

/// SQL of one server dialect.
struct Dialect {
    insert_session: &'static str,
    insert_event: &'static str,
    update_session: &'static str,
    select_session: &'static str,
    select_events: &'static str,
}

const POSTGRES: Dialect = Dialect {
    insert_session: "INSERT INTO sessions (app_name, user_id, id, state, create_time, update_time) VALUES ($1, $2, $3, $4::jsonb, $5, $5)",
    insert_event: "INSERT INTO events (id, app_name, user_id, session_id, invocation_id, timestamp, event_data) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)",
    update_session: "UPDATE sessions SET state = $4::jsonb, update_time = $5 WHERE app_name = $1 AND user_id = $2 AND id = $3",
    select_session: "SELECT state, update_time FROM sessions WHERE app_name = $1 AND user_id = $2 AND id = $3",
    select_events: "SELECT id, invocation_id, timestamp, event_data FROM events WHERE app_name = $1 AND user_id = $2 AND session_id = $3 ORDER BY timestamp DESC, id DESC",
};

const MYSQL: Dialect = Dialect {
    insert_session: "INSERT INTO sessions (app_name, user_id, id, state, create_time, update_time) VALUES (?, ?, ?, ?, ?, ?)",
    insert_event: "INSERT INTO events (id, app_name, user_id, session_id, invocation_id, timestamp, event_data) VALUES (?, ?, ?, ?, ?, ?, ?)",
    update_session: "UPDATE sessions SET state = ?, update_time = ? WHERE app_name = ? AND user_id = ? AND id = ?",
    select_session: "SELECT state, update_time FROM sessions WHERE app_name = ? AND user_id = ? AND id = ?",
    select_events: "SELECT id, invocation_id, timestamp, event_data FROM events WHERE app_name = ? AND user_id = ? AND session_id = ? ORDER BY timestamp DESC, id DESC",
};

fn sx(doing: &str, url: &str, e: sqlx::Error) -> BenchError {
    BenchError::Other(adk_sessions::redact_url_in(
        &format!("floor: {doing}: {e}"),
        url,
    ))
}

/// Runs the floor of a server in a fresh database created through `admin_url`.
pub async fn server(
    kind: ServerKind,
    admin_url: &str,
    sessions: usize,
    rounds: usize,
    text: &str,
    progress: &Progress,
) -> Result<Floor, BenchError> {
    let rows = prepare_rows(sessions, rounds, text);
    let name = target::fresh_name("adk_bench_floor");
    target::create_database(kind, admin_url, &name).await?;
    let url = target::with_database(admin_url, &name);
    let result = match kind {
        ServerKind::Postgres => postgres(&url, sessions, rounds, &rows, progress).await,
        ServerKind::Mysql => mysql(&url, sessions, rounds, &rows, progress).await,
    };
    let dropped = target::drop_database(kind, admin_url, &name).await;
    let floor = result?;
    dropped?;
    Ok(floor)
}

macro_rules! server_floor {
    ($name:ident, $conn:ty, $dialect:expr, $mysql:expr) => {
        async fn $name(
            url: &str,
            sessions: usize,
            rounds: usize,
            rows: &[Vec<Row1>],
            progress: &Progress,
        ) -> Result<Floor, BenchError> {
            let d: &Dialect = &$dialect;
            let mut c = <$conn>::connect(url)
                .await
                .map_err(|e| sx("connecting", url, e))?;
            service_schema(url).await?;
            let now = naive_utc(Timestamp::now());
            let keys: Vec<(String, String)> = (0..sessions)
                .map(|n| (user_of(n), format!("s{n}")))
                .collect();
            let mut tx = c.begin().await.map_err(|e| sx("begin", url, e))?;
            for (n, (user, sid)) in keys.iter().enumerate() {
                sqlx::query(d.insert_session)
                    .bind(APP)
                    .bind(user)
                    .bind(sid)
                    .bind(initial_session_state(n))
                    .bind(now)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| sx("inserting a session", url, e))?;
            }
            tx.commit().await.map_err(|e| sx("commit", url, e))?;

            progress.phase("floor append", sessions * rounds);
            let t = Instant::now();
            for round in rows {
                for (row, (user, sid)) in round.iter().zip(&keys) {
                    let ts = naive_utc(row.time);
                    let mut tx = c.begin().await.map_err(|e| sx("begin", url, e))?;
                    sqlx::query(d.insert_event)
                        .bind(&row.id)
                        .bind(APP)
                        .bind(user)
                        .bind(sid)
                        .bind(&row.invocation_id)
                        .bind(ts)
                        .bind(&row.event_data)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| sx("inserting an event", url, e))?;
                    let q = sqlx::query(d.update_session);
                    let q = if $mysql {
                        q.bind(&row.state).bind(ts).bind(APP).bind(user).bind(sid)
                    } else {
                        q.bind(APP).bind(user).bind(sid).bind(&row.state).bind(ts)
                    };
                    q.execute(&mut *tx)
                        .await
                        .map_err(|e| sx("updating the session", url, e))?;
                    tx.commit().await.map_err(|e| sx("commit", url, e))?;
                }
                progress.inc(sessions as u64);
            }
            let append_per_s = (sessions * rounds) as f64 / t.elapsed().as_secs_f64().max(1e-9);

            progress.phase("floor get", sessions);
            let t = Instant::now();
            for (user, sid) in &keys {
                let row = sqlx::query(d.select_session)
                    .bind(APP)
                    .bind(user)
                    .bind(sid)
                    .fetch_one(&mut c)
                    .await
                    .map_err(|e| sx("selecting the session", url, e))?;
                let mut touched = raw_len(&row, 0)?;
                let _: chrono::NaiveDateTime = row.try_get(1).map_err(|e| sx("reading", url, e))?;
                let events = sqlx::query(d.select_events)
                    .bind(APP)
                    .bind(user)
                    .bind(sid)
                    .fetch_all(&mut c)
                    .await
                    .map_err(|e| sx("selecting events", url, e))?;
                for r in &events {
                    let id: &str = r.try_get(0).map_err(|e| sx("reading", url, e))?;
                    let inv: &str = r.try_get(1).map_err(|e| sx("reading", url, e))?;
                    let _: chrono::NaiveDateTime =
                        r.try_get(2).map_err(|e| sx("reading", url, e))?;
                    touched += id.len() + inv.len() + raw_len(r, 3)?;
                }
                std::hint::black_box(touched);
                if events.len() != rounds {
                    return Err(BenchError::Assertion(format!(
                        "floor get {sid}: {} events, expected {rounds}",
                        events.len()
                    )));
                }
                progress.inc(1);
            }
            let get_per_s = sessions as f64 / t.elapsed().as_secs_f64().max(1e-9);
            Ok(Floor {
                append_per_s,
                get_per_s,
            })
        }
    };
}

server_floor!(postgres, sqlx::PgConnection, POSTGRES, false);
server_floor!(mysql, sqlx::MySqlConnection, MYSQL, true);

/// Length of a JSON column's raw bytes, not decoded.
trait RawLen {
    fn raw_len_at(&self, i: usize) -> Result<usize, BenchError>;
}

impl RawLen for sqlx::postgres::PgRow {
    fn raw_len_at(&self, i: usize) -> Result<usize, BenchError> {
        let v = self
            .try_get_raw(i)
            .map_err(|e| BenchError::Other(format!("floor: reading: {e}")))?;
        v.as_bytes()
            .map(<[u8]>::len)
            .map_err(|e| BenchError::Other(format!("floor: reading: {e}")))
    }
}

impl RawLen for sqlx::mysql::MySqlRow {
    fn raw_len_at(&self, i: usize) -> Result<usize, BenchError> {
        let s: &str = self
            .try_get(i)
            .map_err(|e| BenchError::Other(format!("floor: reading: {e}")))?;
        Ok(s.len())
    }
}

fn raw_len<R: RawLen>(row: &R, i: usize) -> Result<usize, BenchError> {
    row.raw_len_at(i)
}

/// The durability of a server as its settings say (`synchronous_commit=on`,
/// `innodb_flush_log_at_trx_commit=1`).
pub async fn server_durability(kind: ServerKind, url: &str) -> Result<String, BenchError> {
    match kind {
        ServerKind::Postgres => {
            let mut c = sqlx::PgConnection::connect(url)
                .await
                .map_err(|e| sx("connecting", url, e))?;
            let r = sqlx::query(
                "SELECT current_setting('synchronous_commit'), current_setting('fsync')",
            )
            .fetch_one(&mut c)
            .await
            .map_err(|e| sx("reading settings", url, e))?;
            let sc: String = r.try_get(0).map_err(|e| sx("reading", url, e))?;
            let fs: String = r.try_get(1).map_err(|e| sx("reading", url, e))?;
            Ok(format!("synchronous_commit={sc},fsync={fs}"))
        }
        ServerKind::Mysql => {
            let mut c = sqlx::MySqlConnection::connect(url)
                .await
                .map_err(|e| sx("connecting", url, e))?;
            let r = sqlx::query("SELECT CAST(@@innodb_flush_log_at_trx_commit AS CHAR), CAST(@@sync_binlog AS CHAR)")
                .fetch_one(&mut c)
                .await
                .map_err(|e| sx("reading settings", url, e))?;
            let f: String = r.try_get(0).map_err(|e| sx("reading", url, e))?;
            let b: String = r.try_get(1).map_err(|e| sx("reading", url, e))?;
            Ok(format!(
                "innodb_flush_log_at_trx_commit={f},sync_binlog={b}"
            ))
        }
    }
}
