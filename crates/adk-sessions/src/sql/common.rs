//! What every SQL backend shares, whatever its driver: the schema version rule, how state
//! columns are encoded, and how a loaded row becomes a [`Session`]. Dialect SQL lives in
//! each backend's own module.

use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::model::{Event, EventPolicy, JsonMap};
use crate::session::Session;
use crate::state::merge;
use crate::time::Timestamp;

/// The default budget of the SQLite decoded-event cache: 8 MiB of `event_data` text.
pub const DEFAULT_EVENT_CACHE_BYTES: usize = 8 << 20;

/// The schema version of adk-python's `DatabaseSessionService` this project speaks.
pub const SCHEMA_VERSION: &str = "1";

/// The `adk_internal_metadata` key that holds the schema version.
pub const SCHEMA_VERSION_KEY: &str = "schema_version";

/// What a backend found in a database before using it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchemaFacts {
    /// `adk_internal_metadata` exists.
    pub has_metadata_table: bool,
    /// Its `schema_version` value, when present.
    pub version: Option<String>,
    /// An `events` table exists.
    pub has_events_table: bool,
    /// `events` has an `event_data` column (v1).
    pub events_has_event_data: bool,
    /// `events` has an `actions` column (adk-python's v0 layout).
    pub events_has_actions: bool,
    /// A `sessions` table exists.
    pub has_sessions_table: bool,
    /// The columns of each of the four session tables that exist (by table name).
    pub columns: Vec<(String, Vec<String>)>,
}

/// The columns of adk-python's schema v1, table by table (what this crate reads and
/// writes).
pub const V1_COLUMNS: [(&str, &[&str]); 4] = [
    (
        "sessions",
        &[
            "app_name",
            "user_id",
            "id",
            "state",
            "create_time",
            "update_time",
        ],
    ),
    (
        "events",
        &[
            "id",
            "app_name",
            "user_id",
            "session_id",
            "invocation_id",
            "timestamp",
            "event_data",
        ],
    ),
    ("app_states", &["app_name", "state", "update_time"]),
    (
        "user_states",
        &["app_name", "user_id", "state", "update_time"],
    ),
];

/// Which ADK runtime's table layout a SQL database holds. Both use the table names
/// `sessions`, `events`, `app_states` and `user_states`, with other columns in `events`,
/// so one database holds one layout. The layout of an existing database is detected when
/// it is opened; a fresh database gets [`StorageLayout::AdkPython`] unless
/// [`OpenOptions::layout`] (or `schema=adk-go` in the URL) asks for the other.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StorageLayout {
    /// adk-python's `DatabaseSessionService` schema version 1 (`adk_internal_metadata`,
    /// the whole event as JSON in `events.event_data`). Also what adk-js writes.
    #[default]
    AdkPython,
    /// adk-go's `session/database` layout as GORM's AutoMigrate creates it (adk-go v2.2):
    /// one `events` column per event field, no metadata table.
    AdkGo,
}

impl StorageLayout {
    /// The name used in URLs, flags and messages: `adk-python` or `adk-go`.
    pub fn name(self) -> &'static str {
        match self {
            StorageLayout::AdkPython => "adk-python",
            StorageLayout::AdkGo => "adk-go",
        }
    }

    /// Parses [`StorageLayout::name`].
    pub fn parse(text: &str) -> Option<StorageLayout> {
        match text {
            "adk-python" => Some(StorageLayout::AdkPython),
            "adk-go" => Some(StorageLayout::AdkGo),
            _ => None,
        }
    }
}

impl std::fmt::Display for StorageLayout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What to do with a database, decided from its [`SchemaFacts`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaAction {
    /// Nothing there yet: create the tables (and, for adk-python's layout, the version
    /// row) of this layout.
    Create(StorageLayout),
    /// A database of this layout: use it as is (creating any missing table).
    Use(StorageLayout),
}

impl SchemaAction {
    /// The layout decided on.
    pub fn layout(self) -> StorageLayout {
        match self {
            SchemaAction::Create(l) | SchemaAction::Use(l) => l,
        }
    }
}

/// Decides whether a database can be used, and in which layout; anything else is refused
/// with a message that says what it is and what to do. `where_` names the database
/// (redacted); `wanted` is the layout the caller asked for, if any: a fresh database gets
/// it, an existing database of the other layout is refused.
pub fn decide_schema(
    facts: &SchemaFacts,
    where_: &str,
    wanted: Option<StorageLayout>,
) -> Result<SchemaAction> {
    let action = decide_layout(facts, where_, wanted.unwrap_or_default())?;
    match (action, wanted) {
        (SchemaAction::Use(found), Some(wanted)) if found != wanted => {
            Err(Error::storage(format!(
                "{where_} holds {found}'s session tables, but schema={wanted} was asked for; \
                 the layout is chosen only for a fresh database (leave the setting out to use this one)"
            )))
        }
        _ => Ok(action),
    }
}

fn decide_layout(facts: &SchemaFacts, where_: &str, fresh: StorageLayout) -> Result<SchemaAction> {
    match facts.version.as_deref() {
        Some(SCHEMA_VERSION) => return Ok(SchemaAction::Use(StorageLayout::AdkPython)),
        Some(other) => {
            return Err(Error::storage(format!(
                "{where_} has adk session schema version {other:?}; this adk-sessions speaks version {SCHEMA_VERSION}"
            )))
        }
        None => {}
    }
    let events_columns = facts
        .columns
        .iter()
        .find(|(t, _)| t == "events")
        .map(|(_, c)| c.as_slice())
        .unwrap_or_default();
    let has = |c: &str| events_columns.iter().any(|have| have == c);
    if facts.has_events_table && facts.events_has_actions && !has(super::adk_go::V0_ONLY_COLUMN) {
        let missing: Vec<&str> = super::adk_go::EVENTS_COLUMNS
            .iter()
            .filter(|c| !has(c))
            .copied()
            .collect();
        if !missing.is_empty() {
            return Err(Error::storage(format!(
                "{where_} has an events table with an actions column but without all of adk-go v2.2's columns (it lacks {}): \
                 adk-python's schema version 0 (migrate it with `adk migrate session` from google-adk) \
                 or an adk-go older than v2.2 (open it once with adk-go v2.2's database.AutoMigrate); then open it again",
                missing.join(", ")
            )));
        }
        return check_state_tables(facts, where_).map(|()| SchemaAction::Use(StorageLayout::AdkGo));
    }
    if facts.has_events_table && (facts.events_has_actions || !facts.events_has_event_data) {
        return Err(Error::storage(format!(
            "{where_} holds adk-python's schema version 0 (an events table with an actions column); \
             migrate it first with `adk migrate session` from google-adk, then open it again"
        )));
    }
    if !facts.has_events_table && fresh == StorageLayout::AdkGo {
        // No events table yet: the other tables have the same columns in both layouts.
        check_state_tables(facts, where_)?;
        return Ok(if facts.has_sessions_table {
            SchemaAction::Use(StorageLayout::AdkGo)
        } else {
            SchemaAction::Create(StorageLayout::AdkGo)
        });
    }
    check_state_tables(facts, where_)?;
    if facts.has_events_table || facts.has_sessions_table {
        // Tables of v1 shape without the metadata row (an adk-python release that predates
        // the row): use them and record the version.
        return Ok(SchemaAction::Use(StorageLayout::AdkPython));
    }
    Ok(SchemaAction::Create(StorageLayout::AdkPython))
}

/// Without a version row, every session table that exists must have the v1 columns
/// (`events`: of its layout, checked by the caller); anything else is another
/// application's table, and the database is refused before anything is written to it.
fn check_state_tables(facts: &SchemaFacts, where_: &str) -> Result<()> {
    let go_events = facts.events_has_actions;
    for (table, columns) in &facts.columns {
        let Some((_, wanted)) = V1_COLUMNS.iter().find(|(t, _)| t == table) else {
            continue;
        };
        if go_events && table == "events" {
            continue;
        }
        let missing: Vec<&str> = wanted
            .iter()
            .filter(|c| !columns.iter().any(|have| have == *c))
            .copied()
            .collect();
        if !missing.is_empty() {
            return Err(Error::storage(format!(
                "{where_} has a table {table:?} that is not an ADK session table (it lacks {}; it has {}) and no adk_internal_metadata schema version; \
                 use a database of its own for adk-sessions",
                missing.join(", "),
                columns.join(", ")
            )));
        }
    }
    Ok(())
}

/// Encodes a state map for a JSON / TEXT column.
pub fn state_to_json(state: &JsonMap) -> String {
    serde_json::to_string(state).unwrap_or_else(|_| "{}".to_owned())
}

/// Decodes a state column; anything but a JSON object is a `Storage` error naming `what`.
///
/// Python's `json.dumps` writes `NaN`, `Infinity` and `-Infinity` as bare tokens, which
/// JSON does not allow; adk-python stores them that way. Such a column is read with those
/// numbers as `null` (JSON has no way to hold them) and a warning, rather than making the
/// whole session unreadable.
pub fn state_from_json(text: &str, what: &str) -> Result<JsonMap> {
    let parsed = serde_json::from_str::<serde_json::Value>(text).or_else(|e| {
        match crate::model::python_json_to_json(text) {
            Some(fixed) => {
                tracing::warn!("{what} holds NaN or Infinity (written by Python); read as null");
                serde_json::from_str(&fixed)
            }
            None => Err(e),
        }
    });
    match parsed {
        Ok(serde_json::Value::Object(m)) => Ok(m),
        Ok(serde_json::Value::Null) => Ok(JsonMap::new()),
        Ok(_) => Err(Error::storage(format!("{what} is not a JSON object"))),
        Err(e) => Err(Error::storage(format!("{what} is not valid JSON: {e}"))),
    }
}

/// The parts of a loaded session, as read from its rows.
#[derive(Debug, Default)]
pub struct LoadedSession {
    /// App of the session.
    pub app_name: String,
    /// User of the session.
    pub user_id: String,
    /// Id of the session.
    pub id: String,
    /// `app_states.state` (empty when no row).
    pub app_state: JsonMap,
    /// `user_states.state` (empty when no row).
    pub user_state: JsonMap,
    /// `sessions.state`.
    pub session_state: JsonMap,
    /// The selected events, oldest first.
    pub events: Vec<Arc<Event>>,
    /// `sessions.update_time`.
    pub update_time: Timestamp,
}

impl LoadedSession {
    /// The handle: merged state, events, revision.
    pub fn into_session(self) -> Session {
        let state = merge(&self.app_state, &self.user_state, &self.session_state);
        Session::from_parts(
            self.app_name,
            self.user_id,
            self.id,
            state,
            self.events,
            self.update_time,
        )
    }
}

/// SQLite's `synchronous` setting: how much an acknowledged write survives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SqliteSync {
    /// `synchronous=FULL`: an acknowledged append survives power loss (the default).
    #[default]
    Full,
    /// `synchronous=NORMAL`: faster; the last commits may be lost on power loss (not on a
    /// process crash).
    Normal,
}

/// How the SQLite backend waits for its threads' replies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SqliteLatency {
    /// The default, for a server: an operation alone in flight polls its reply for up to
    /// 1 ms on its own task (between yields) before it sleeps, and the reader thread that
    /// finished last polls for the next read for up to 50 µs. Saves a thread wake-up per
    /// operation (tens of µs on a VM) at the cost of that much CPU.
    #[default]
    LowLatency,
    /// Never busy-waits: every reply wakes its task, every idle reader thread sleeps. For
    /// embedding in an agent process that needs its CPU for other work.
    NoBusyWait,
}

/// How to open a backend. `Default` is the documented default of every knob; set what
/// you need with the builder methods, or in the database URL given to [`crate::open`]
/// (`sqlite://sessions.db?sync=normal&pool_size=4`; keys `pool_size`, `connect_timeout`,
/// `busy_timeout`, `sync`, `latency`, `event_cache_mb`, `lenient_events`, `schema`):
///
/// ```
/// use adk_sessions::{OpenOptions, SqliteLatency, SqliteSync};
/// let options = OpenOptions::default()
///     .sqlite_sync(SqliteSync::Normal)
///     .sqlite_latency(SqliteLatency::NoBusyWait)
///     .pool_size(4);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct OpenOptions {
    /// Strictness of incoming events.
    pub policy: EventPolicy,
    /// SQLite durability.
    pub sqlite_sync: SqliteSync,
    /// How long a SQLite connection waits for a lock held by another process.
    pub busy_timeout: Duration,
    /// Read connections of SQLite; connections of a server pool.
    pub pool_size: u32,
    /// How long to wait for a server connection.
    pub connect_timeout: Duration,
    /// Bytes of `event_data` whose decoded events a SQLite backend keeps for later reads
    /// (exact by construction: a hit requires the stored row to match byte for byte); 0
    /// turns the cache off. Default 8 MiB.
    pub event_cache_bytes: usize,
    /// How the SQLite backend waits for replies (busy-waiting or not).
    pub sqlite_latency: SqliteLatency,
    /// The table layout to create in a fresh database, and to insist on in an existing
    /// one; `None` (the default): use the layout found, adk-python's for a fresh database.
    pub layout: Option<StorageLayout>,
}

impl OpenOptions {
    /// Sets [`OpenOptions::policy`].
    pub fn policy(mut self, policy: EventPolicy) -> Self {
        self.policy = policy;
        self
    }
    /// Sets [`OpenOptions::sqlite_sync`].
    pub fn sqlite_sync(mut self, sync: SqliteSync) -> Self {
        self.sqlite_sync = sync;
        self
    }
    /// Sets [`OpenOptions::busy_timeout`].
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }
    /// Sets [`OpenOptions::pool_size`].
    pub fn pool_size(mut self, size: u32) -> Self {
        self.pool_size = size;
        self
    }
    /// Sets [`OpenOptions::connect_timeout`].
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }
    /// Sets [`OpenOptions::event_cache_bytes`].
    pub fn event_cache_bytes(mut self, bytes: usize) -> Self {
        self.event_cache_bytes = bytes;
        self
    }
    /// Sets [`OpenOptions::sqlite_latency`].
    pub fn sqlite_latency(mut self, latency: SqliteLatency) -> Self {
        self.sqlite_latency = latency;
        self
    }
    /// Sets [`OpenOptions::layout`].
    pub fn layout(mut self, layout: StorageLayout) -> Self {
        self.layout = Some(layout);
        self
    }
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            policy: EventPolicy::default(),
            sqlite_sync: SqliteSync::Full,
            busy_timeout: Duration::from_secs(5),
            pool_size: 8,
            connect_timeout: Duration::from_secs(5),
            event_cache_bytes: DEFAULT_EVENT_CACHE_BYTES,
            sqlite_latency: SqliteLatency::LowLatency,
            layout: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events_with(columns: &[&str]) -> SchemaFacts {
        SchemaFacts {
            has_events_table: true,
            events_has_actions: columns.contains(&"actions"),
            events_has_event_data: columns.contains(&"event_data"),
            has_sessions_table: true,
            columns: vec![(
                "events".into(),
                columns.iter().map(|c| (*c).to_owned()).collect(),
            )],
            ..Default::default()
        }
    }

    #[test]
    fn schema_versions_are_decided() {
        let w = "db";
        let python = StorageLayout::AdkPython;
        assert_eq!(
            decide_schema(&SchemaFacts::default(), w, None).unwrap(),
            SchemaAction::Create(python)
        );
        assert_eq!(
            decide_schema(&SchemaFacts::default(), w, Some(StorageLayout::AdkGo)).unwrap(),
            SchemaAction::Create(StorageLayout::AdkGo)
        );
        let v1 = SchemaFacts {
            has_metadata_table: true,
            version: Some("1".into()),
            has_events_table: true,
            events_has_event_data: true,
            has_sessions_table: true,
            ..Default::default()
        };
        assert_eq!(
            decide_schema(&v1, w, None).unwrap(),
            SchemaAction::Use(python)
        );
        let e = decide_schema(&v1, w, Some(StorageLayout::AdkGo))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("adk-python's session tables") && e.contains("schema=adk-go"),
            "{e}"
        );
        let v0 = events_with(&["id", "actions", "author", "input_transcription"]);
        let e = decide_schema(&v0, w, None).unwrap_err().to_string();
        assert!(e.contains("adk migrate session"), "{e}");
        let v2 = SchemaFacts {
            version: Some("2".into()),
            ..v1
        };
        assert!(decide_schema(&v2, w, None)
            .unwrap_err()
            .to_string()
            .contains("\"2\""));
    }

    #[test]
    fn adk_go_tables_are_detected_and_older_ones_refused() {
        let w = "db";
        let go = events_with(&super::super::adk_go::EVENTS_COLUMNS);
        assert_eq!(
            decide_schema(&go, w, None).unwrap(),
            SchemaAction::Use(StorageLayout::AdkGo)
        );
        let e = decide_schema(&go, w, Some(StorageLayout::AdkPython))
            .unwrap_err()
            .to_string();
        assert!(e.contains("adk-go's session tables"), "{e}");
        let old = events_with(&["id", "app_name", "actions", "author", "timestamp"]);
        let e = decide_schema(&old, w, None).unwrap_err().to_string();
        assert!(
            e.contains("routes_json") && e.contains("AutoMigrate"),
            "{e}"
        );
    }
}
