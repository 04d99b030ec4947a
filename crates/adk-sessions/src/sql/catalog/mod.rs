//! What another writer changed in a database's session tables, and the repairs that are
//! safe to make: `adk-sessions schema check` / `schema repair`.
//!
//! Other runtimes sharing the database run their own schema updates at startup (adk-js's
//! MikroORM "safe" update drops the events→sessions `ON DELETE CASCADE` and indexes it
//! does not know, and on MariaDB turns `DATETIME(6)` into whole seconds). The check reads
//! the catalog — column types, the events foreign key, indexes — and compares it with
//! adk-python's schema version 1 as this project creates it. Each finding says what it
//! costs and, where a repair is safe, the statements that make it:
//!
//! | finding | repair |
//! |---|---|
//! | events→sessions foreign key missing or without `ON DELETE CASCADE` | re-create it with the cascade (SQLite: rebuild `events` in one transaction); refused while events of deleted sessions remain |
//! | `idx_events_app_user_session_ts_id` missing | create it |
//! | our list indexes missing | create them (a note, not a problem: adk-python's own databases lack them) |
//! | MySQL time column without microseconds | `MODIFY … DATETIME(6)` (widening; stored values keep their value) |
//! | PostgreSQL state or `event_data` not `jsonb` | `ALTER … TYPE jsonb` (in a transaction: a value that is not JSON refuses the whole repair) |
//! | PostgreSQL `timestamptz` times | none needed (a note: read and written exactly) |
//!
//! Only adk-python's layout is checked; an adk-go database is reported as such.

#[cfg(any(feature = "postgres", feature = "mysql"))]
mod server;
#[cfg(feature = "sqlite")]
mod sqlite;

use std::fmt;

use super::common::StorageLayout;
use super::url::DbUrl;
use crate::error::{Error, Result};

/// One column as the catalog describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Column {
    pub table: String,
    pub name: String,
    /// The declared type, lowercase (`datetime(6)`, `timestamp without time zone`, …).
    pub ty: String,
}

/// The catalog facts the check needs.
#[derive(Debug, Clone, Default)]
pub(crate) struct Catalog {
    pub columns: Vec<Column>,
    /// Index names, by table: `(table, index)`.
    pub indexes: Vec<(String, String)>,
    /// The events → sessions foreign key: its name and whether it cascades deletes.
    pub events_fk: Option<(String, bool)>,
    /// Events whose session does not exist (they block adding the foreign key).
    pub orphan_events: i64,
}

impl Catalog {
    fn has_table(&self, table: &str) -> bool {
        self.columns.iter().any(|c| c.table == table)
    }

    fn column(&self, table: &str, name: &str) -> Option<&Column> {
        self.columns
            .iter()
            .find(|c| c.table == table && c.name == name)
    }

    fn has_index(&self, name: &str) -> bool {
        self.indexes.iter().any(|(_, n)| n == name)
    }

    /// The layout the tables are in (adk-go's has `events.actions`).
    fn layout(&self) -> StorageLayout {
        if self.column("events", "actions").is_some() && self.column("events", "author").is_some() {
            StorageLayout::AdkGo
        } else {
            StorageLayout::AdkPython
        }
    }
}

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Severity {
    /// Something this project or adk-python relies on is missing or changed.
    Problem,
    /// Different from a fresh database, without harm (or only to speed).
    Note,
}

/// One difference between the database and adk-python's schema as this project creates
/// it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Finding {
    /// Problem or note.
    pub severity: Severity,
    /// What was found and what it costs.
    pub message: String,
    /// The statements `schema repair` runs for it (empty: no automatic repair).
    pub repair: Vec<String>,
}

/// What `check_schema` found (and `repair_schema` did).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SchemaReport {
    /// The backend (`sqlite`, `postgres`, `mysql`).
    pub backend: &'static str,
    /// The layout of the tables found; `None` when there are none.
    pub layout: Option<StorageLayout>,
    /// The differences, problems first.
    pub findings: Vec<Finding>,
    /// Statements a repair ran, in order.
    pub repaired: Vec<String>,
}

impl SchemaReport {
    /// True when no finding is a problem.
    pub fn is_healthy(&self) -> bool {
        !self
            .findings
            .iter()
            .any(|f| f.severity == Severity::Problem)
    }
}

impl fmt::Display for SchemaReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.layout {
            None => return writeln!(f, "{}: no session tables yet", self.backend),
            Some(layout) => writeln!(f, "{}, {layout} layout", self.backend)?,
        }
        if self.findings.is_empty() {
            writeln!(
                f,
                "ok: the session tables are as adk-python's schema version 1 has them"
            )?;
        }
        for finding in &self.findings {
            let tag = match finding.severity {
                Severity::Problem => "problem",
                Severity::Note => "note",
            };
            writeln!(f, "{tag}: {}", finding.message)?;
            for sql in &finding.repair {
                writeln!(f, "  repair: {}", one_line(sql))?;
            }
        }
        for sql in &self.repaired {
            writeln!(f, "ran: {}", one_line(sql))?;
        }
        Ok(())
    }
}

/// A statement on one line (DDL is stored with line breaks).
fn one_line(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Which SQL dialect a catalog came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(
    not(all(feature = "sqlite", feature = "postgres", feature = "mysql")),
    allow(dead_code)
)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
    Mysql,
}

const TIME_COLUMNS: [(&str, &str); 5] = [
    ("sessions", "create_time"),
    ("sessions", "update_time"),
    ("events", "timestamp"),
    ("app_states", "update_time"),
    ("user_states", "update_time"),
];

const JSON_COLUMNS: [(&str, &str); 4] = [
    ("sessions", "state"),
    ("app_states", "state"),
    ("user_states", "state"),
    ("events", "event_data"),
];

/// The events index of adk-python's schema.
pub(crate) const EVENTS_INDEX: &str = "idx_events_app_user_session_ts_id";
/// Our two list indexes.
pub(crate) const LIST_INDEXES: [&str; 2] = [
    "idx_sessions_app_update_user_id",
    "idx_sessions_app_user_update_id",
];

/// The findings for a catalog of adk-python's layout.
pub(crate) fn findings(dialect: Dialect, catalog: &Catalog) -> Vec<Finding> {
    let mut out = Vec::new();
    let problem = |message: String, repair: Vec<String>| Finding {
        severity: Severity::Problem,
        message,
        repair,
    };
    for table in ["sessions", "events", "app_states", "user_states"] {
        if !catalog.has_table(table) {
            out.push(problem(format!("table {table} is missing"), Vec::new()));
        }
    }
    if !catalog.has_table("events") || !catalog.has_table("sessions") {
        return out;
    }
    let fk_repair = |existing: Option<&str>| -> Vec<String> {
        match dialect {
            Dialect::Sqlite => sqlite_fk_repair(),
            Dialect::Postgres => {
                let mut sql = Vec::new();
                if let Some(name) = existing {
                    sql.push(format!("ALTER TABLE events DROP CONSTRAINT \"{name}\""));
                }
                sql.push(FK_ADD_POSTGRES.to_owned());
                sql
            }
            Dialect::Mysql => {
                let drop = existing
                    .map(|name| format!("DROP FOREIGN KEY `{name}`, "))
                    .unwrap_or_default();
                vec![format!("ALTER TABLE events {drop}{FK_ADD_MYSQL}")]
            }
        }
    };
    let orphans = if catalog.orphan_events > 0 {
        format!(
            "; {} event(s) belong to no session (left by a delete without the cascade) and must be deleted before the key can be added",
            catalog.orphan_events
        )
    } else {
        String::new()
    };
    match &catalog.events_fk {
        None => out.push(problem(
            format!("events has no foreign key to sessions: deleting a session leaves its events behind{orphans}"),
            fk_repair(None),
        )),
        Some((name, false)) => out.push(problem(
            format!("the events foreign key {name:?} lost ON DELETE CASCADE: deleting a session leaves its events behind (adk-python relies on the cascade){orphans}"),
            fk_repair(Some(name)),
        )),
        Some(_) => {}
    }
    if !catalog.has_index(EVENTS_INDEX) {
        out.push(problem(
            format!("index {EVENTS_INDEX} on events is missing: reading a session's events scans the whole table"),
            vec![events_index_sql(dialect)],
        ));
    }
    for (table, column) in TIME_COLUMNS {
        let Some(c) = catalog.column(table, column) else {
            continue;
        };
        match dialect {
            Dialect::Mysql if c.ty != "datetime(6)" && c.ty != "timestamp(6)" => out.push(problem(
                format!("{table}.{column} is {} without microseconds: update times are rounded, so a stale handle can pass the revision check", c.ty),
                vec![format!("ALTER TABLE {table} MODIFY `{column}` DATETIME(6) NOT NULL")],
            )),
            Dialect::Postgres if c.ty == "timestamp with time zone" => out.push(Finding {
                severity: Severity::Note,
                message: format!("{table}.{column} is timestamptz (adk-js creates it so); read and written exactly"),
                repair: Vec::new(),
            }),
            Dialect::Postgres if c.ty != "timestamp without time zone" => out.push(problem(
                format!("{table}.{column} is {}, not a timestamp", c.ty),
                Vec::new(),
            )),
            _ => {}
        }
    }
    if dialect == Dialect::Postgres {
        for (table, column) in JSON_COLUMNS {
            if let Some(c) = catalog.column(table, column) {
                if c.ty != "jsonb" {
                    out.push(problem(
                        format!("{table}.{column} is {}, not jsonb: state merges and event reads need jsonb", c.ty),
                        vec![format!("ALTER TABLE {table} ALTER COLUMN {column} TYPE jsonb USING {column}::jsonb")],
                    ));
                }
            }
        }
    }
    if dialect == Dialect::Mysql {
        for (table, column) in JSON_COLUMNS {
            if let Some(c) = catalog.column(table, column) {
                if !matches!(c.ty.as_str(), "longtext" | "json") {
                    out.push(problem(
                        format!("{table}.{column} is {}, smaller than LONGTEXT: large states or events are cut or refused", c.ty),
                        vec![format!("ALTER TABLE {table} MODIFY `{column}` LONGTEXT{}", if column == "event_data" { "" } else { " NOT NULL" })],
                    ));
                }
            }
        }
    }
    let missing_list: Vec<&str> = LIST_INDEXES
        .iter()
        .filter(|i| !catalog.has_index(i))
        .copied()
        .collect();
    if !missing_list.is_empty() {
        out.push(Finding {
            severity: Severity::Note,
            message: format!(
                "list index(es) {} missing (this project creates them on fresh databases; without them each list page sorts the app's sessions)",
                missing_list.join(", ")
            ),
            repair: missing_list
                .iter()
                .map(|name| list_index_sql(dialect, name))
                .collect(),
        });
    }
    out.sort_by_key(|f| f.severity != Severity::Problem);
    out
}

/// The SQLite repair of the events foreign key: `events` rebuilt with adk-python's DDL in
/// one transaction (SQLite cannot alter a foreign key).
fn sqlite_fk_repair() -> Vec<String> {
    #[cfg(feature = "sqlite")]
    {
        sqlite::fk_repair()
    }
    #[cfg(not(feature = "sqlite"))]
    {
        Vec::new()
    }
}

const FK_ADD_POSTGRES: &str = "ALTER TABLE events ADD CONSTRAINT events_app_name_user_id_session_id_fkey FOREIGN KEY (app_name, user_id, session_id) REFERENCES sessions (app_name, user_id, id) ON DELETE CASCADE";
const FK_ADD_MYSQL: &str = "ADD CONSTRAINT fk_events_sessions_cascade FOREIGN KEY (app_name, user_id, session_id) REFERENCES sessions (app_name, user_id, id) ON DELETE CASCADE";

fn events_index_sql(dialect: Dialect) -> String {
    let ts = if dialect == Dialect::Mysql {
        "`timestamp`"
    } else {
        "timestamp"
    };
    format!(
        "CREATE INDEX {EVENTS_INDEX} ON events (app_name, user_id, session_id, {ts} DESC, id DESC)"
    )
}

fn list_index_sql(dialect: Dialect, name: &str) -> String {
    let columns = if name == LIST_INDEXES[0] {
        "app_name, update_time, user_id, id"
    } else {
        "app_name, user_id, update_time, id"
    };
    let _ = dialect;
    format!("CREATE INDEX {name} ON sessions ({columns})")
}

/// The report of a catalog (no layout when there are no session tables).
fn report(backend: &'static str, dialect: Dialect, catalog: &Catalog) -> SchemaReport {
    let any = ["sessions", "events", "app_states", "user_states"]
        .iter()
        .any(|t| catalog.has_table(t));
    let layout = any.then(|| catalog.layout());
    let findings = match layout {
        Some(StorageLayout::AdkPython) => findings(dialect, catalog),
        _ => Vec::new(),
    };
    SchemaReport {
        backend,
        layout,
        findings,
        repaired: Vec::new(),
    }
}

/// Reads the session tables of the database at `url` and reports how they differ from
/// adk-python's schema version 1 as this project creates it (see the module docs).
/// Changes nothing.
pub async fn check_schema(url: &str) -> Result<SchemaReport> {
    inspect(url, false).await
}

/// Like [`check_schema`], then runs the repair of every finding that has one (each in
/// its own transaction where the database allows), and reports what it ran and what is
/// left.
pub async fn repair_schema(url: &str) -> Result<SchemaReport> {
    inspect(url, true).await
}

async fn inspect(url: &str, repair: bool) -> Result<SchemaReport> {
    let (url, _) = super::url_options::take(url, &super::OpenOptions::default(), true)?;
    match DbUrl::parse(&url)? {
        DbUrl::Memory | DbUrl::Sqlite { path: None } => Err(Error::invalid(
            "a schema check needs a database file or server, not an in-memory store",
        )),
        #[cfg(feature = "sqlite")]
        DbUrl::Sqlite { path: Some(path) } => sqlite::inspect(path, repair).await,
        #[cfg(feature = "postgres")]
        DbUrl::Postgres { url } => server::inspect_postgres(&url, repair).await,
        #[cfg(feature = "mysql")]
        DbUrl::Mysql { url } => server::inspect_mysql(&url, repair).await,
        #[allow(unreachable_patterns)]
        other => Err(Error::invalid(format!(
            "the {} backend is not built into this binary",
            other.backend()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn healthy(dialect: Dialect) -> Catalog {
        let ty = |table: &str, column: &str| -> String {
            let time = TIME_COLUMNS.contains(&(table, column));
            let json = JSON_COLUMNS.contains(&(table, column));
            match (dialect, time, json) {
                (Dialect::Postgres, true, _) => "timestamp without time zone".into(),
                (Dialect::Postgres, _, true) => "jsonb".into(),
                (Dialect::Mysql, true, _) => "datetime(6)".into(),
                (Dialect::Mysql, _, true) => "longtext".into(),
                (_, true, _) => "datetime".into(),
                _ => "varchar(128)".into(),
            }
        };
        let mut columns = Vec::new();
        for (table, cols) in super::super::common::V1_COLUMNS {
            for c in cols {
                columns.push(Column {
                    table: table.into(),
                    name: (*c).into(),
                    ty: ty(table, c),
                });
            }
        }
        Catalog {
            columns,
            indexes: [EVENTS_INDEX, LIST_INDEXES[0], LIST_INDEXES[1]]
                .iter()
                .map(|i| ("x".to_owned(), (*i).to_owned()))
                .collect(),
            events_fk: Some(("fk".into(), true)),
            orphan_events: 0,
        }
    }

    #[test]
    fn a_fresh_catalog_has_no_findings() {
        for d in [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql] {
            assert_eq!(findings(d, &healthy(d)), Vec::new(), "{d:?}");
        }
    }

    #[test]
    fn what_adk_js_changes_is_found_with_its_repair() {
        let mut c = healthy(Dialect::Mysql);
        c.events_fk = Some(("events_ibfk_1".into(), false));
        c.indexes.clear();
        c.orphan_events = 2;
        for col in c.columns.iter_mut().filter(|c| c.ty == "datetime(6)") {
            col.ty = "datetime".into();
        }
        let found = findings(Dialect::Mysql, &c);
        let problems: Vec<&Finding> = found
            .iter()
            .filter(|f| f.severity == Severity::Problem)
            .collect();
        assert_eq!(problems.len(), 2 + TIME_COLUMNS.len(), "{found:#?}");
        assert!(problems[0].message.contains("lost ON DELETE CASCADE"));
        assert!(problems[0]
            .message
            .contains("2 event(s) belong to no session"));
        assert_eq!(
            problems[0].repair,
            [format!(
                "ALTER TABLE events DROP FOREIGN KEY `events_ibfk_1`, {FK_ADD_MYSQL}"
            )]
        );
        assert!(found.iter().any(|f| f
            .repair
            .iter()
            .any(|s| s.contains("MODIFY `update_time` DATETIME(6)"))));
        assert_eq!(found.last().map(|f| f.severity), Some(Severity::Note));
        let pg = {
            let mut c = healthy(Dialect::Postgres);
            for col in c
                .columns
                .iter_mut()
                .filter(|c| c.ty.starts_with("timestamp"))
            {
                col.ty = "timestamp with time zone".into();
            }
            c
        };
        let found = findings(Dialect::Postgres, &pg);
        assert!(
            found.iter().all(|f| f.severity == Severity::Note),
            "{found:#?}"
        );
    }
}
