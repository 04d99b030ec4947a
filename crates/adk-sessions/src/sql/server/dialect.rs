//! The contract between the shared service ([`super::ServerSessionService`]) and a
//! server dialect: the SQL text of the shared operations ([`Statements`], parameters in
//! the same bind order for every dialect) and the two write transactions each dialect
//! runs its own way ([`Dialect::create`], [`Dialect::append`]), with their inputs and
//! outcomes.

use std::future::Future;

use chrono::NaiveDateTime;
use sqlx::pool::PoolOptions;
use sqlx::{Database, Pool};

use crate::error::Error;
use crate::model::{Event, JsonMap};
use crate::sql::adk_go::GoEventRow;
use crate::sql::common::state_to_json;
use crate::state::ScopedDelta;
use crate::time::Timestamp;

/// What a dialect's own transactions fail with.
#[derive(Debug)]
pub enum Fail {
    /// The driver failed; the service maps it (unique violations, deadlocks, redaction).
    Db(sqlx::Error),
    /// A library error to return as is.
    Lib(Error),
}

impl From<sqlx::Error> for Fail {
    fn from(e: sqlx::Error) -> Self {
        Fail::Db(e)
    }
}

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Fail::Lib(e)
    }
}

/// The SQL text a dialect provides for the shared operations. Parameters are listed in
/// bind order.
#[derive(Debug)]
pub struct Statements {
    /// Creates the tables and index (each `IF NOT EXISTS`), in order.
    pub ddl: &'static [&'static str],
    /// Our own `list` indexes on `sessions`, run after [`Self::ddl`] only when the
    /// `sessions` table did not exist before (this project created it); empty where
    /// `ddl` declares them inside `CREATE TABLE sessions`. Never run on a database
    /// adk-python created.
    pub list_indexes: &'static [&'static str],
    /// Takes the server-side schema lock for this database (session level).
    pub schema_lock: &'static str,
    /// Releases it.
    pub schema_unlock: &'static str,
    /// `(table)` → one row per column name (text) of that table in the current schema.
    pub table_columns: &'static str,
    /// Where a time column can lose its fraction (MySQL/MariaDB `DATETIME`): `()` → the
    /// fractional digits of `sessions.update_time` (integer), no row without the table.
    pub revision_precision: Option<&'static str>,
    /// `(key)` → the `adk_internal_metadata` value.
    pub read_metadata: &'static str,
    /// `(key, value)`: inserts a metadata row unless the key exists.
    pub insert_metadata: &'static str,
    /// `(app, user, id)` → `update_time, session state, app state?, user state?` (text).
    pub load_session: &'static str,
    /// Optional, where the dialect can: the `load_session` columns plus the selected
    /// events as a JSON array text of `event_data`, oldest first — one round trip and
    /// one snapshot. `[(app, user, id, limit), (app, user, id, after, limit)]`.
    pub load_with_events: Option<[&'static str; 2]>,
    /// `(app, user, id, limit)` → `event_data` text, newest first.
    pub events_newest: &'static str,
    /// `(app, user, id, after, limit)` → `event_data` text with `timestamp >= after`,
    /// newest first.
    pub events_newest_after: &'static str,
    /// Listing, indexed by `list_variant`; each → `user_id, id, update_time, session
    /// state, app state?, user state?`, ordered by `(update_time, user_id, id)`:
    /// `[app; limit]`, `[app, t, t, u, s; limit]`, `[app, user; limit]`,
    /// `[app, user, t, t, u, s; limit]` where `(t, u, s)` is the exclusive keyset start;
    /// `t` comes twice: once for `update_time >= t` (implied by the row comparison, but
    /// MariaDB only turns that plain bound into an index range), once for the row
    /// comparison `(update_time, user_id, id) > (t, u, s)` that decides.
    pub list: [&'static str; 4],
    /// `(app, user, id)`: deletes a session's events.
    pub delete_events: &'static str,
    /// `(app, user, id)`: deletes a session.
    pub delete_session: &'static str,
    /// `(app, user)` → user state text.
    pub user_state: &'static str,
    /// `(app)` → app state text.
    pub app_state: &'static str,
    /// `()` → every app with a session (text), sorted.
    pub list_apps: &'static str,
}

/// The SQL of adk-go's layout (the statements of [`Statements`] on `sessions` and the
/// state tables serve both layouts: their columns are the same).
#[derive(Debug)]
pub struct GoStatements {
    /// `(table, CREATE TABLE)` as GORM's AutoMigrate creates them, parents first; each is
    /// run only when its table is missing.
    pub tables: &'static [(&'static str, &'static str)],
    /// `(table, CREATE INDEX)`: our indexes, run right after that table was created by
    /// this project (never on GORM's tables).
    pub indexes: &'static [(&'static str, &'static str)],
    /// `(app, user, id, limit)` → the event columns (see [`GoEventRow`]'s read order),
    /// newest first.
    pub events_newest: &'static str,
    /// `(app, user, id, after, limit)` → the same with `timestamp >= after`.
    pub events_newest_after: &'static str,
    /// Optional, where the dialect can: the session and its newest events in one
    /// statement and one snapshot — `update_time, session state, app state?, user
    /// state?` then the event columns of [`GoStatements::events_newest`], one row per
    /// event, newest first (one row with NULL event columns when there is none).
    /// `[(app, user, id, limit), (app, user, id, after, limit)]`.
    pub load_with_events: Option<[&'static str; 2]>,
}

/// An event as its layout stores it.
#[derive(Debug)]
pub enum StoredEvent {
    /// adk-python's `event_data` JSON text.
    Python(String),
    /// adk-go's columns.
    Go(Box<GoEventRow>),
}

/// The index into [`Statements::list`].
pub(super) fn list_variant(by_user: bool, after_cursor: bool) -> usize {
    usize::from(by_user) * 2 + usize::from(after_cursor)
}

/// A session to insert, its state already split by scope.
#[derive(Debug)]
pub struct NewSession<'a> {
    /// App of the session.
    pub app_name: &'a str,
    /// User of the session.
    pub user_id: &'a str,
    /// Id of the session.
    pub session_id: &'a str,
    /// The initial state split by scope (prefixes stripped, `temp:` dropped).
    pub delta: &'a ScopedDelta,
    /// Create time of the session.
    pub now: NaiveDateTime,
    /// The initial events, stored in the same transaction.
    pub events: &'a [NewEvent],
    /// The session's first update time (`now`, or the latest initial event's time).
    pub revision: NaiveDateTime,
}

/// One initial event's `events` row.
#[derive(Debug)]
pub struct NewEvent {
    /// `events.id`.
    pub id: String,
    /// `events.invocation_id`.
    pub invocation_id: String,
    /// `events.timestamp`.
    pub time: NaiveDateTime,
    /// The rest of the row.
    pub stored: StoredEvent,
}

/// The app and user state after a create merged the initial `app:`/`user:` keys.
#[derive(Debug, Default)]
pub struct ScopeStates {
    /// App state (un-prefixed).
    pub app: JsonMap,
    /// User state (un-prefixed).
    pub user: JsonMap,
    /// The revision as stored, when it differs from the one given (the column keeps
    /// whole seconds; see [`AppendRow::whole_seconds`]).
    pub coarse_revision: Option<NaiveDateTime>,
}

/// An append to persist: the event row and the state writes.
#[derive(Debug)]
pub struct AppendRow<'a> {
    /// App of the session.
    pub app_name: &'a str,
    /// User of the session.
    pub user_id: &'a str,
    /// Id of the session.
    pub session_id: &'a str,
    /// The stored revision the handle expects; `None`: no precondition (append to
    /// whatever is stored and store [`AppendRow::update_time`] or one µs past the stored
    /// revision, whichever is later).
    pub expected: Option<NaiveDateTime>,
    /// The new revision.
    pub update_time: NaiveDateTime,
    /// The event (as stored).
    pub event: &'a Event,
    /// Its `timestamp` column.
    pub event_time: NaiveDateTime,
    /// Its row, by layout.
    pub stored: StoredEvent,
    /// The delta split by scope.
    pub delta: &'a ScopedDelta,
    /// Update time of app/user state rows.
    pub now: NaiveDateTime,
    /// The time columns keep whole seconds (MySQL `DATETIME` without a fraction, as
    /// adk-js's schema update leaves them): revisions are whole seconds, each at least one
    /// second past the stored one, so every revision is stored exactly and stays unique.
    #[cfg_attr(not(feature = "mysql"), allow(dead_code))]
    pub whole_seconds: bool,
}

/// What an append transaction found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppendOutcome {
    /// Stored and committed; the session's new revision.
    Done(Timestamp),
    /// The session does not exist (nothing stored).
    Missing,
    /// The session is at another revision (nothing stored).
    Stale(Timestamp),
    /// Stored and committed, and the time columns turned out to keep whole seconds (the
    /// revision written was read back without its fraction, so a whole-second revision
    /// was written instead): the session's new revision.
    #[cfg_attr(not(feature = "mysql"), allow(dead_code))]
    Coarse(Timestamp),
}

/// One SQL server dialect: its sqlx driver, its SQL text and its two write transactions.
pub trait Dialect: Send + Sync + Sized + 'static {
    /// The sqlx driver.
    type DB: Database;
    /// `postgres` or `mysql`.
    const BACKEND: &'static str;
    /// The SQL of the shared operations.
    const SQL: Statements;
    /// The SQL of adk-go's layout.
    const GO: GoStatements;

    /// The DDL to create adk-python's schema on a server reporting `server_version`
    /// (`SELECT VERSION()`): [`Statements::ddl`], each adapted by [`Dialect::adapt_ddl`].
    fn ddl(server_version: &str) -> Vec<String> {
        Self::SQL
            .ddl
            .iter()
            .map(|s| Self::adapt_ddl(s, server_version))
            .collect()
    }

    /// One statement of DDL adapted to the server (the MySQL dialect fills in its
    /// collation); as is by default.
    fn adapt_ddl(ddl: &str, server_version: &str) -> String {
        let _ = server_version;
        ddl.to_owned()
    }

    /// Opens a pool on `url` with the shared `pool` options plus what the dialect needs
    /// on each new connection.
    fn connect(
        url: &str,
        pool: PoolOptions<Self::DB>,
    ) -> impl Future<Output = std::result::Result<Pool<Self::DB>, sqlx::Error>> + Send;

    /// Inserts a session and merges the initial `app:`/`user:` keys into their rows
    /// (creating them, as adk-python does, even when empty), in one transaction. A unique
    /// violation is reported as the driver error; the service maps it to `AlreadyExists`.
    fn create(
        pool: &Pool<Self::DB>,
        new: &NewSession<'_>,
    ) -> impl Future<Output = std::result::Result<ScopeStates, Fail>> + Send;

    /// The append transaction: lock the session row, compare its revision, insert the
    /// event, update session state and revision, merge the app/user deltas.
    fn append(
        pool: &Pool<Self::DB>,
        row: &AppendRow<'_>,
    ) -> impl Future<Output = std::result::Result<AppendOutcome, Fail>> + Send;

    /// True for a deadlock or serialization failure (the transaction may be retried).
    fn is_retryable(err: &sqlx::Error) -> bool {
        matches!(err, sqlx::Error::Database(e) if matches!(e.code().as_deref(), Some("40001" | "40P01")))
    }
}

pub(super) fn is_unique_violation(err: &Fail) -> bool {
    matches!(err, Fail::Db(sqlx::Error::Database(e)) if e.is_unique_violation())
}

/// The JSON text of a delta scope, for a dialect's statements.
pub fn delta_json(delta: &JsonMap) -> String {
    state_to_json(delta)
}

/// Binds an adk-go event row after `keys` (app, user, session) in the column order of
/// [`GoStatements::insert_event`].
pub fn bind_go_event<'q, DB: Database>(
    query: sqlx::query::Query<'q, DB, <DB as Database>::Arguments>,
    keys: [&'q str; 3],
    time: NaiveDateTime,
    g: &'q GoEventRow,
) -> sqlx::query::Query<'q, DB, <DB as Database>::Arguments>
where
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<&'q str>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    &'q [u8]: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    bool: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    NaiveDateTime: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let [app, user, session] = keys;
    query
        .bind(g.id.as_str())
        .bind(app)
        .bind(user)
        .bind(session)
        .bind(g.invocation_id.as_str())
        .bind(g.author.as_str())
        .bind(g.actions.as_slice())
        .bind(g.long_running_tool_ids_json.as_deref())
        .bind(g.routes_json.as_deref())
        .bind(g.output_json.as_deref())
        .bind(g.node_info_json.as_deref())
        .bind(g.requested_input_json.as_deref())
        .bind(g.branch.as_deref())
        .bind(g.isolation_scope.as_deref())
        .bind(time)
        .bind(g.content.as_deref())
        .bind(g.grounding_metadata.as_deref())
        .bind(g.custom_metadata.as_deref())
        .bind(g.usage_metadata.as_deref())
        .bind(g.citation_metadata.as_deref())
        .bind(g.partial)
        .bind(g.turn_complete)
        .bind(g.error_code.as_deref())
        .bind(g.error_message.as_deref())
        .bind(g.interrupted)
}
