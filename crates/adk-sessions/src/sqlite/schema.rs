//! Opening a SQLite database for this backend: the file checks that make a bad path a
//! clear error before anything is created, the connection pragmas (WAL, `synchronous`,
//! foreign keys, busy timeout), and the schema step: detect what the file holds, refuse
//! adk-python's v0 layout or any other version, create the v1 DDL in a fresh file. The
//! schema step runs in one `BEGIN IMMEDIATE` transaction, so two processes opening the
//! same fresh file do not both create it. A file this module created is removed again
//! when opening fails, so nothing is left half-created.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, ErrorCode, OpenFlags};

use super::sql;
use crate::error::{Error, Result};
use crate::sql::common::{
    decide_schema, SchemaFacts, SqliteSync, SCHEMA_VERSION, SCHEMA_VERSION_KEY, V1_COLUMNS,
};
use crate::sql::{OpenOptions, StorageLayout};
use crate::time::Timestamp;

/// Where the database lives, for connections and error messages.
#[derive(Debug, Clone)]
pub struct Location {
    /// The file; `None` for an in-memory database.
    pub path: Option<PathBuf>,
    /// How errors name it: `SQLite database "<path>"` or `SQLite database :memory:`.
    pub label: String,
    /// The table layout the database holds (known once the writer opened it).
    pub layout: StorageLayout,
}

impl Location {
    /// The location of `path` (`None` = in memory).
    pub fn new(path: Option<&Path>) -> Self {
        let label = match path {
            Some(p) => format!("SQLite database {:?}", p.display().to_string()),
            None => "SQLite database :memory:".to_owned(),
        };
        Location {
            path: path.map(Path::to_path_buf),
            label,
            layout: StorageLayout::default(),
        }
    }

    /// The text this database's layout stores for a time.
    pub fn time_text(&self, t: Timestamp) -> String {
        sql::layout_time_text(self.layout, t)
    }

    /// A `Storage` error naming this database, what was being done and the cause.
    pub fn error(&self, doing: &str, e: rusqlite::Error) -> Error {
        Error::storage(format!("{}: {doing}: {}", self.label, cause(&e)))
    }
}

/// The driver error in words, with a hint for the causes a user can act on.
fn cause(e: &rusqlite::Error) -> String {
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy) | Some(ErrorCode::DatabaseLocked) => {
            format!("{e} (another connection held the write lock for longer than the busy timeout)")
        }
        Some(ErrorCode::NotADatabase) => format!("{e} (the file is not a SQLite database)"),
        Some(ErrorCode::ReadOnly) => format!("{e} (the file or its directory is read-only)"),
        Some(ErrorCode::CannotOpen) => format!("{e} (cannot open the file)"),
        _ => e.to_string(),
    }
}

/// Opens the write connection and makes the schema ready; returns it with the layout
/// the database holds. The caller runs this on the writer thread.
pub fn open_writer(loc: &Location, options: &OpenOptions) -> Result<(Connection, StorageLayout)> {
    let Some(path) = &loc.path else {
        let conn = Connection::open_in_memory().map_err(|e| loc.error("opening", e))?;
        conn.busy_timeout(options.busy_timeout)
            .map_err(|e| loc.error("setting the busy timeout", e))?;
        let layout = prepare_schema(&conn, loc, options.layout)?;
        configure(&conn, loc, options, false)?;
        return Ok((conn, layout));
    };
    check_path(path, loc)?;
    // Creating the file ourselves (atomically) tells whether this call made it: only
    // then may a failure remove it again.
    let created = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(_) => true,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
        Err(e) => {
            return Err(Error::storage(format!(
                "{}: cannot create the file: {e}",
                loc.label
            )))
        }
    };
    let result = open_file(path, loc, options);
    if result.is_err() && created {
        remove_if_empty(path);
    }
    result
}

fn open_file(
    path: &Path,
    loc: &Location,
    options: &OpenOptions,
) -> Result<(Connection, StorageLayout)> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| loc.error("opening", e))?;
    if conn.is_readonly("main").unwrap_or(false) {
        return Err(Error::storage(format!(
            "{}: the file is read-only; this backend needs to write to it",
            loc.label
        )));
    }
    // The schema is checked (and, in an empty file, created) first: a database this
    // backend refuses is left exactly as it was — no WAL switch, no pragma written.
    conn.busy_timeout(options.busy_timeout)
        .map_err(|e| loc.error("setting the busy timeout", e))?;
    let layout = prepare_schema(&conn, loc, options.layout)?;
    configure(&conn, loc, options, true)?;
    Ok((conn, layout))
}

/// A path whose directory is missing or which is a directory is refused up front, so no
/// file is created.
fn check_path(path: &Path, loc: &Location) -> Result<()> {
    if path.is_dir() {
        return Err(Error::storage(format!(
            "{}: the path is a directory, not a database file",
            loc.label
        )));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(Error::storage(format!(
            "{}: the directory {:?} does not exist; create it first",
            loc.label,
            dir.display().to_string()
        )));
    }
    Ok(())
}

/// Removes a file this call created, unless another process has meanwhile put a schema
/// in it (two processes may race to create one file; the loser must not delete it).
fn remove_if_empty(path: &Path) {
    let has_schema = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .and_then(|c| {
            c.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
                r.get::<_, i64>(0)
            })
        })
        .is_ok_and(|n| n > 0);
    if has_schema {
        return;
    }
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}

/// Pages each connection caches (negative: KiB), enough for a long session's events.
const CACHE_SIZE_KIB: i64 = 8192;

/// Sets the pragmas of a write connection.
fn configure(conn: &Connection, loc: &Location, options: &OpenOptions, wal: bool) -> Result<()> {
    conn.busy_timeout(options.busy_timeout)
        .map_err(|e| loc.error("setting the busy timeout", e))?;
    conn.set_prepared_statement_cache_capacity(64);
    if wal {
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(|e| loc.error("switching to WAL", e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(db = %loc.label, mode, "SQLite did not switch to WAL; readers may wait for writers");
        }
    }
    let sync = match options.sqlite_sync {
        SqliteSync::Full => "FULL",
        SqliteSync::Normal => {
            tracing::info!(db = %loc.label, "synchronous=NORMAL: the last commits may be lost on power loss");
            "NORMAL"
        }
    };
    conn.execute_batch(&format!(
        "PRAGMA synchronous={sync}; PRAGMA foreign_keys=ON; PRAGMA cache_size=-{CACHE_SIZE_KIB};"
    ))
    .map_err(|e| loc.error("setting pragmas", e))
}

/// Opens one read-only connection of the reader pool.
pub fn open_reader(loc: &Location, options: &OpenOptions) -> Result<Connection> {
    let Some(path) = &loc.path else {
        return Err(Error::storage(format!(
            "{}: an in-memory database has no reader connections",
            loc.label
        )));
    };
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)
        .map_err(|e| loc.error("opening a read connection", e))?;
    conn.busy_timeout(options.busy_timeout)
        .map_err(|e| loc.error("setting the busy timeout", e))?;
    conn.set_prepared_statement_cache_capacity(32);
    conn.execute_batch(&format!("PRAGMA cache_size=-{CACHE_SIZE_KIB};"))
        .map_err(|e| loc.error("setting pragmas", e))?;
    Ok(conn)
}

/// Detects the schema and creates or refuses it, in one write transaction; returns the
/// layout.
fn prepare_schema(
    conn: &Connection,
    loc: &Location,
    wanted: Option<StorageLayout>,
) -> Result<StorageLayout> {
    conn.execute_batch(sql::BEGIN_IMMEDIATE)
        .map_err(|e| loc.error("locking the database to check its schema", e))?;
    let result = detect_and_create(conn, loc, wanted);
    let end = if result.is_ok() {
        sql::COMMIT
    } else {
        sql::ROLLBACK
    };
    let ended = conn
        .execute_batch(end)
        .map_err(|e| loc.error("committing the schema", e));
    let layout = result?;
    ended.map(|()| layout)
}

fn detect_and_create(
    conn: &Connection,
    loc: &Location,
    wanted: Option<StorageLayout>,
) -> Result<StorageLayout> {
    let facts = detect(conn, loc)?;
    let action = decide_schema(&facts, &loc.label, wanted)?;
    let existing = existing_objects(conn, loc)?;
    if action.layout() == StorageLayout::AdkGo {
        create_go_tables(conn, loc, &existing)?;
        return Ok(StorageLayout::AdkGo);
    }
    // A fresh file gets every table; a v1 file (ours or adk-python's) keeps its tables
    // and gets any that are missing. Our list indexes come with a `sessions` table this
    // call creates (same transaction), so a file adk-python made gets no DDL at all.
    for (ddl, name) in sql::DDL.iter().zip(sql::DDL_NAMES) {
        if !existing.iter().any(|n| n == name) {
            conn.execute_batch(ddl)
                .map_err(|e| loc.error(&format!("creating {name}"), e))?;
            if name == "sessions" {
                for (index, ddl) in sql::LIST_INDEXES {
                    conn.execute_batch(ddl)
                        .map_err(|e| loc.error(&format!("creating {index}"), e))?;
                }
            }
        }
    }
    if facts.version.is_none() {
        conn.execute(sql::INSERT_VERSION, [SCHEMA_VERSION_KEY, SCHEMA_VERSION])
            .map_err(|e| loc.error("recording the schema version", e))?;
    }
    Ok(StorageLayout::AdkPython)
}

/// Creates the adk-go tables that are missing (GORM's DDL), with our indexes on the
/// tables this call creates; a file GORM made gets no DDL.
fn create_go_tables(conn: &Connection, loc: &Location, existing: &[String]) -> Result<()> {
    let run = |name: &str, ddl: &str| {
        conn.execute_batch(ddl)
            .map_err(|e| loc.error(&format!("creating {name}"), e))
    };
    for (name, ddl) in sql::GO_DDL {
        if existing.iter().any(|n| n == name) {
            continue;
        }
        run(name, ddl)?;
        match name {
            "sessions" => {
                for (index, ddl) in sql::LIST_INDEXES {
                    run(index, ddl)?;
                }
            }
            "events" => run(sql::GO_EVENTS_INDEX.0, sql::GO_EVENTS_INDEX.1)?,
            _ => {}
        }
    }
    Ok(())
}

fn existing_objects(conn: &Connection, loc: &Location) -> Result<Vec<String>> {
    let read = || -> rusqlite::Result<Vec<String>> {
        let mut stmt = conn.prepare(sql::SELECT_MASTER)?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(1))?;
        rows.collect()
    };
    read().map_err(|e| loc.error("reading the schema", e))
}

/// What the database holds (see [`SchemaFacts`]).
pub fn detect(conn: &Connection, loc: &Location) -> Result<SchemaFacts> {
    let names = existing_objects(conn, loc)?;
    let has = |n: &str| names.iter().any(|x| x == n);
    let mut facts = SchemaFacts {
        has_metadata_table: has("adk_internal_metadata"),
        has_events_table: has("events"),
        has_sessions_table: has("sessions"),
        ..Default::default()
    };
    if facts.has_metadata_table {
        facts.version = conn
            .query_row(sql::SELECT_VERSION, [SCHEMA_VERSION_KEY], |r| {
                r.get::<_, String>(0)
            })
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })
            .map_err(|e| loc.error("reading the schema version", e))?;
    }
    for (table, _) in V1_COLUMNS {
        if !has(table) {
            continue;
        }
        let read = || -> rusqlite::Result<Vec<String>> {
            let mut stmt = conn.prepare(sql::TABLE_COLUMNS)?;
            let rows = stmt.query_map([table], |r| r.get::<_, String>(0))?;
            rows.collect()
        };
        let cols = read().map_err(|e| loc.error(&format!("reading the {table} columns"), e))?;
        if table == "events" {
            facts.events_has_event_data = cols.iter().any(|c| c == "event_data");
            facts.events_has_actions = cols.iter().any(|c| c == "actions");
        }
        facts.columns.push((table.to_owned(), cols));
    }
    Ok(facts)
}
