//! The catalog of a SQLite file, and its repairs.

use std::path::PathBuf;

use rusqlite::{Connection, OpenFlags};

use super::{report, Catalog, Column, Dialect, SchemaReport};
use crate::error::{Error, Result};
use crate::sqlite::sql;

/// The name `events` has while it is rebuilt.
const OLD_EVENTS: &str = "events__adk_sessions_repair";

/// `events` rebuilt with adk-python's DDL (and index) in one transaction, rows kept.
pub(super) fn fk_repair() -> Vec<String> {
    vec![
        "BEGIN IMMEDIATE".to_owned(),
        format!("ALTER TABLE events RENAME TO {OLD_EVENTS}"),
        sql::DDL[4].to_owned(),
        format!(
            "INSERT INTO events (id, app_name, user_id, session_id, invocation_id, timestamp, event_data) \
             SELECT id, app_name, user_id, session_id, invocation_id, timestamp, event_data FROM {OLD_EVENTS}"
        ),
        format!("DROP TABLE {OLD_EVENTS}"),
        sql::DDL[5].to_owned(),
        "COMMIT".to_owned(),
    ]
}

fn read_catalog(conn: &Connection) -> rusqlite::Result<Catalog> {
    let mut catalog = Catalog::default();
    for table in ["sessions", "events", "app_states", "user_states"] {
        let mut stmt = conn.prepare("SELECT name, lower(type) FROM pragma_table_info(?1)")?;
        let rows = stmt.query_map([table], |r| {
            Ok(Column {
                table: table.to_owned(),
                name: r.get(0)?,
                ty: r.get(1)?,
            })
        })?;
        for column in rows {
            catalog.columns.push(column?);
        }
    }
    let mut stmt = conn.prepare("SELECT tbl_name, name FROM sqlite_master WHERE type = 'index'")?;
    for index in stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))? {
        catalog.indexes.push(index?);
    }
    if catalog.has_table("events") {
        let mut stmt = conn.prepare(
            "SELECT upper(on_delete) FROM pragma_foreign_key_list('events') WHERE \"table\" = 'sessions'",
        )?;
        let rules: Vec<String> = stmt
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        if let Some(rule) = rules.first() {
            catalog.events_fk = Some(("events → sessions".to_owned(), rule == "CASCADE"));
        }
        if catalog.has_table("sessions") {
            catalog.orphan_events = conn.query_row(
                "SELECT count(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM sessions s \
                 WHERE s.app_name = e.app_name AND s.user_id = e.user_id AND s.id = e.session_id)",
                [],
                |r| r.get(0),
            )?;
        }
    }
    Ok(catalog)
}

/// Runs one finding's repair; a multi-statement repair is one transaction.
fn run_repair(conn: &Connection, statements: &[String]) -> rusqlite::Result<()> {
    for sql in statements {
        if let Err(e) = conn.execute_batch(sql) {
            if !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
            return Err(e);
        }
    }
    Ok(())
}

pub(super) async fn inspect(path: PathBuf, repair: bool) -> Result<SchemaReport> {
    tokio::task::spawn_blocking(move || inspect_blocking(&path, repair))
        .await
        .map_err(|e| Error::storage(format!("the schema check stopped: {e}")))?
}

fn inspect_blocking(path: &std::path::Path, repair: bool) -> Result<SchemaReport> {
    let label = format!("SQLite database {:?}", path.display().to_string());
    if !path.is_file() {
        return Err(Error::storage(format!("{label}: no such file")));
    }
    let flags = if repair {
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let err = |doing: &str, e: rusqlite::Error| Error::storage(format!("{label}: {doing}: {e}"));
    let conn = Connection::open_with_flags(path, flags).map_err(|e| err("opening", e))?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(|e| err("setting the busy timeout", e))?;
    let catalog = read_catalog(&conn).map_err(|e| err("reading the schema", e))?;
    let first = report("sqlite", Dialect::Sqlite, &catalog);
    if !repair {
        return Ok(first);
    }
    let mut repaired = Vec::new();
    for finding in &first.findings {
        if finding.repair.is_empty() {
            continue;
        }
        let rebuild = finding.repair.len() > 1;
        if rebuild && catalog.orphan_events > 0 {
            continue;
        }
        run_repair(&conn, &finding.repair).map_err(|e| err("repairing", e))?;
        repaired.extend(
            finding
                .repair
                .iter()
                .filter(|s| !matches!(s.as_str(), "BEGIN IMMEDIATE" | "COMMIT"))
                .cloned(),
        );
    }
    let catalog = read_catalog(&conn).map_err(|e| err("reading the schema", e))?;
    let mut after = report("sqlite", Dialect::Sqlite, &catalog);
    after.repaired = repaired;
    Ok(after)
}
