//! The server backends — PostgreSQL and MySQL/MariaDB through sqlx — as one service,
//! [`ServerSessionService`], generic over a [`Dialect`]. This module owns everything the
//! two servers share: the pool (size and timeouts from [`OpenOptions`], idle connections
//! checked before reuse so a restarted server is reconnected to), schema detection and
//! creation under a server-side lock, `get` / `list` / `delete` / state reads with their
//! filters pushed into SQL, the append invariant (via [`prepare_append`]), retry of
//! deadlocked transactions, and error mapping (unique violation → `AlreadyExists`,
//! everything else → `Storage` with the URL's password redacted).
//!
//! Each dialect module (`crate::postgres`, `crate::mysql`) holds its SQL text and type mapping, and
//! its own `create` and `append` transactions, because that is where the servers differ:
//! PostgreSQL merges `app:`/`user:` deltas atomically in SQL (`jsonb ||`) in one
//! statement; MySQL/MariaDB has no null-preserving JSON merge, so it locks the state row
//! (`SELECT … FOR UPDATE`) and merges in Rust inside the transaction.
//!
//! The contract between the two halves is in `dialect.rs` ([`Dialect`], [`Statements`]).
//! Every parameter list is bound in the same order for both dialects, so the shared code
//! binds once whatever the placeholder syntax (`$n` or `?`).

mod dialect;

pub(crate) use dialect::{
    bind_go_event, delta_json, AppendOutcome, AppendRow, Dialect, Fail, GoStatements, NewEvent,
    NewSession, ScopeStates, Statements, StoredEvent,
};
use dialect::{is_unique_violation, list_variant};

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::NaiveDateTime;
use sqlx::pool::PoolOptions;
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, Row, Type};

use super::adk_go::GoEventRow;
use super::common::{
    decide_schema, state_from_json, LoadedSession, OpenOptions, SchemaAction, SchemaFacts,
    StorageLayout, SCHEMA_VERSION, SCHEMA_VERSION_KEY, V1_COLUMNS,
};
use super::url::redact_in;
use crate::error::{Error, Result};
use crate::key::SessionKey;
use crate::model::{Event, EventPolicy, JsonMap};
use crate::page::{check_list_request, ListCursor};
use crate::service::CreateOptions;
use crate::service::{Appended, GetFilter, PageRequest, SessionPage, SessionService};
use crate::session::{
    prepare_append, prepare_append_to_current, prepare_create, stale, Prepared, PreparedAppend,
    PreparedCreate, Session,
};
use crate::state::merge;
use crate::time::Timestamp;
use crate::validate::{check_id, check_key};

/// How often a deadlocked (or serialization-failed) transaction is retried. Each retry
/// runs the whole transaction again, which is safe: the server rolled it back.
const DEADLOCK_RETRIES: usize = 8;

/// An idle connection older than this is pinged before reuse (a server restart leaves
/// dead connections in the pool; a hot connection is not pinged).
const PING_IDLE_AFTER: Duration = Duration::from_millis(500);

/// Sessions in a PostgreSQL or MySQL/MariaDB server. Cheap to share (`Arc`); the pool
/// reconnects by itself after the server comes back.
pub(crate) struct ServerSessionService<D: Dialect> {
    pool: Pool<D::DB>,
    /// The connection URL, password included: only ever used to redact messages.
    url: String,
    redacted: String,
    policy: EventPolicy,
    connect_timeout: Duration,
    /// The table layout the database holds.
    layout: StorageLayout,
    /// `sessions.update_time` keeps whole seconds (see [`AppendRow::whole_seconds`]):
    /// found at open, or when a write read its revision back without the fraction.
    whole_seconds: std::sync::atomic::AtomicBool,
    _dialect: PhantomData<D>,
}

impl<D: Dialect> fmt::Debug for ServerSessionService<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerSessionService")
            .field("backend", &D::BACKEND)
            .field("url", &self.redacted)
            .field("pool_size", &self.pool.options().get_max_connections())
            .field("policy", &self.policy)
            .finish()
    }
}

/// A stored time as µs.
fn micros(t: NaiveDateTime) -> Timestamp {
    Timestamp::from_naive(t)
}

fn opt_state(text: Option<String>, what: &str) -> Result<JsonMap> {
    match text {
        Some(t) => state_from_json(&t, what),
        None => Ok(JsonMap::new()),
    }
}

impl<D: Dialect> ServerSessionService<D>
where
    for<'c> &'c mut <D::DB as Database>::Connection: Executor<'c, Database = D::DB>,
    <D::DB as Database>::Arguments: IntoArguments<D::DB>,
    for<'a> &'a str: Encode<'a, D::DB> + Type<D::DB>,
    String: for<'r> Decode<'r, D::DB> + Type<D::DB>,
    NaiveDateTime: for<'a> Encode<'a, D::DB> + for<'r> Decode<'r, D::DB> + Type<D::DB>,
    i64: for<'a> Encode<'a, D::DB> + for<'r> Decode<'r, D::DB> + Type<D::DB>,
    Vec<u8>: for<'r> Decode<'r, D::DB> + Type<D::DB>,
    bool: for<'a> Encode<'a, D::DB> + for<'r> Decode<'r, D::DB> + Type<D::DB>,
    for<'a> &'a [u8]: Encode<'a, D::DB> + Type<D::DB>,
    for<'a> Option<&'a str>: Encode<'a, D::DB> + Type<D::DB>,
    usize: ColumnIndex<<D::DB as Database>::Row>,
{
    /// Connects to `url` (already normalized by [`crate::DbUrl`]), checks the schema
    /// (creating it in an empty database) and returns the service. An unreachable server
    /// is a `Storage` error after at most `options.connect_timeout`.
    pub async fn open(url: &str, options: &OpenOptions) -> Result<Self> {
        let pool_options = PoolOptions::<D::DB>::new()
            .max_connections(options.pool_size.max(1))
            .min_connections(0)
            .acquire_timeout(options.connect_timeout)
            .idle_timeout(Some(Duration::from_secs(300)))
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= PING_IDLE_AFTER {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            });
        let redacted = super::url::redact(url);
        let pool = match D::connect(url, pool_options).await {
            Ok(pool) => pool,
            Err(sqlx::Error::PoolTimedOut) => {
                // Say why: one direct attempt gives the driver's own reason.
                let e = probe::<D::DB>(url)
                    .await
                    .unwrap_or(sqlx::Error::PoolTimedOut);
                return Err(storage_error::<D>(
                    e,
                    url,
                    &redacted,
                    options.connect_timeout,
                ));
            }
            Err(e) => {
                return Err(storage_error::<D>(
                    e,
                    url,
                    &redacted,
                    options.connect_timeout,
                ))
            }
        };
        Self::with_pool(pool, url.to_owned(), redacted, options).await
    }

    /// The service over an application's own pool: the schema is checked (and created in
    /// an empty database) through it. Errors name the database as "the application's
    /// pool" (there is no URL to show).
    pub async fn from_pool(pool: Pool<D::DB>, options: &OpenOptions) -> Result<Self> {
        Self::with_pool(
            pool,
            String::new(),
            "the application's pool".into(),
            options,
        )
        .await
    }

    async fn with_pool(
        pool: Pool<D::DB>,
        url: String,
        redacted: String,
        options: &OpenOptions,
    ) -> Result<Self> {
        let mut service = ServerSessionService {
            pool,
            url,
            redacted,
            policy: options.policy,
            connect_timeout: options.connect_timeout,
            layout: StorageLayout::default(),
            whole_seconds: std::sync::atomic::AtomicBool::new(false),
            _dialect: PhantomData,
        };
        service.layout = service.init_schema(options.layout).await?;
        if service.revision_digits().await?.is_some_and(|d| d < 6) {
            service.note_whole_seconds();
        }
        Ok(service)
    }

    /// Whether the time columns keep whole seconds.
    fn whole_seconds(&self) -> bool {
        self.whole_seconds
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Switches to whole-second revisions (once, with a warning).
    fn note_whole_seconds(&self) {
        if !self
            .whole_seconds
            .swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            tracing::warn!(db = %self.redacted, "sessions.update_time keeps whole seconds (another writer's schema update changed DATETIME(6) to DATETIME; adk-js's does): revisions are whole seconds from now on, one second apart at least; `adk-sessions schema repair` restores microseconds");
        }
    }

    /// The fractional digits `sessions.update_time` keeps, where the dialect can lose
    /// them (`None`: not such a dialect, or no table).
    async fn revision_digits(&self) -> Result<Option<i64>> {
        let Some(sql) = D::SQL.revision_precision else {
            return Ok(None);
        };
        let row = sqlx::query::<D::DB>(sql)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.storage(e))?;
        match row {
            Some(row) => Ok(Some(row.try_get(0).map_err(|e| self.storage(e))?)),
            None => Ok(None),
        }
    }

    /// The table layout the database holds.
    pub fn layout(&self) -> StorageLayout {
        self.layout
    }

    /// The `Storage` error of a driver error, password redacted.
    fn storage(&self, e: sqlx::Error) -> Error {
        storage_error::<D>(e, &self.url, &self.redacted, self.connect_timeout)
    }

    fn fail(&self, f: Fail) -> Error {
        match f {
            Fail::Db(e) => self.storage(e),
            Fail::Lib(e) => e,
        }
    }

    /// Detects the schema and creates what is missing, under a server-side lock so that
    /// processes opening one fresh database at once do not race their DDL; returns the
    /// layout.
    async fn init_schema(&self, wanted: Option<StorageLayout>) -> Result<StorageLayout> {
        let mut conn = self.pool.acquire().await.map_err(|e| self.storage(e))?;
        let result = async {
            conn.execute(sqlx::query::<D::DB>(D::SQL.schema_lock))
                .await
                .map_err(|e| self.storage(e))?;
            let done = self.init_schema_locked(&mut conn, wanted).await;
            let unlocked = conn
                .execute(sqlx::query::<D::DB>(D::SQL.schema_unlock))
                .await
                .map_err(|e| self.storage(e));
            let layout = done?;
            unlocked.map(|_| layout)
        }
        .await;
        if result.is_err() {
            // Never hand a connection that may still hold the schema lock back to the pool.
            conn.close_on_drop();
        }
        result
    }

    async fn init_schema_locked(
        &self,
        conn: &mut <D::DB as Database>::Connection,
        wanted: Option<StorageLayout>,
    ) -> Result<StorageLayout> {
        let columns = |table: &'static str| sqlx::query::<D::DB>(D::SQL.table_columns).bind(table);
        let mut facts = SchemaFacts::default();
        let meta_cols = conn
            .fetch_all(columns("adk_internal_metadata"))
            .await
            .map_err(|e| self.storage(e))?;
        facts.has_metadata_table = !meta_cols.is_empty();
        if facts.has_metadata_table {
            let row = conn
                .fetch_optional(sqlx::query::<D::DB>(D::SQL.read_metadata).bind(SCHEMA_VERSION_KEY))
                .await
                .map_err(|e| self.storage(e))?;
            facts.version = match row {
                Some(r) => Some(r.try_get::<String, _>(0).map_err(|e| self.storage(e))?),
                None => None,
            };
        }
        let mut state_tables = true;
        for (table, _) in V1_COLUMNS {
            let cols: Vec<String> = conn
                .fetch_all(columns(table))
                .await
                .map_err(|e| self.storage(e))?
                .iter()
                .map(|r| r.try_get::<String, _>(0))
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| self.storage(e))?;
            match table {
                "events" => {
                    facts.has_events_table = !cols.is_empty();
                    facts.events_has_event_data = cols.iter().any(|c| c == "event_data");
                    facts.events_has_actions = cols.iter().any(|c| c == "actions");
                }
                "sessions" => facts.has_sessions_table = !cols.is_empty(),
                _ => state_tables &= !cols.is_empty(),
            }
            if !cols.is_empty() {
                facts.columns.push((table.to_owned(), cols));
            }
        }
        let complete = facts.version.is_some()
            && facts.has_events_table
            && facts.has_sessions_table
            && state_tables;
        let where_ = format!("the {} database {}", D::BACKEND, self.redacted);
        let action = decide_schema(&facts, &where_, wanted)?;
        if action.layout() == StorageLayout::AdkGo {
            let existing: Vec<String> = facts.columns.iter().map(|(t, _)| t.clone()).collect();
            let missing: Vec<_> = D::GO
                .tables
                .iter()
                .filter(|(t, _)| !existing.iter().any(|e| e == t))
                .collect();
            if missing.is_empty() {
                return Ok(StorageLayout::AdkGo);
            }
            let version = self.server_version(conn).await?;
            for (table, ddl) in missing {
                let ddl = D::adapt_ddl(ddl, &version);
                conn.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(ddl)))
                    .await
                    .map_err(|e| self.storage(e))?;
                for (_, index) in D::GO.indexes.iter().filter(|(t, _)| t == table) {
                    conn.execute(sqlx::query::<D::DB>(*index))
                        .await
                        .map_err(|e| self.storage(e))?;
                }
            }
            return Ok(StorageLayout::AdkGo);
        }
        match action {
            // A complete v1 database (ours or adk-python's) is used exactly as it is.
            SchemaAction::Use(_) if complete => {}
            SchemaAction::Create(_) | SchemaAction::Use(_) => {
                let version = self.server_version(conn).await?;
                for ddl in D::ddl(&version) {
                    conn.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(ddl)))
                        .await
                        .map_err(|e| self.storage(e))?;
                }
                // Our list indexes only with a `sessions` table this call created.
                if !facts.has_sessions_table {
                    for ddl in D::SQL.list_indexes {
                        conn.execute(sqlx::query::<D::DB>(*ddl))
                            .await
                            .map_err(|e| self.storage(e))?;
                    }
                }
                if facts.version.is_none() {
                    conn.execute(
                        sqlx::query::<D::DB>(D::SQL.insert_metadata)
                            .bind(SCHEMA_VERSION_KEY)
                            .bind(SCHEMA_VERSION),
                    )
                    .await
                    .map_err(|e| self.storage(e))?;
                }
            }
        }
        Ok(StorageLayout::AdkPython)
    }

    /// `SELECT VERSION()`.
    async fn server_version(&self, conn: &mut <D::DB as Database>::Connection) -> Result<String> {
        conn.fetch_one(sqlx::query::<D::DB>("SELECT VERSION()"))
            .await
            .and_then(|row| row.try_get::<String, _>(0))
            .map_err(|e| self.storage(e))
    }

    /// An event's row in the database's layout.
    fn stored_event(&self, event: &Event, time: Timestamp) -> StoredEvent {
        match self.layout {
            StorageLayout::AdkGo => StoredEvent::Go(Box::new(GoEventRow::from_event(event, time))),
            _ => StoredEvent::Python(event.to_storage_json()),
        }
    }

    /// Runs a prepared append's transaction, retrying deadlocks (the server rolled the
    /// transaction back, so running it again is safe) with a short growing pause.
    async fn store_append(
        &self,
        key: &SessionKey,
        prepared: &PreparedAppend,
    ) -> Result<AppendOutcome> {
        let event_time = prepared.event_time;
        let row = AppendRow {
            app_name: key.app_name(),
            user_id: key.user_id(),
            session_id: key.session_id(),
            expected: prepared.expected_revision.map(Timestamp::to_naive),
            update_time: prepared.update_time.to_naive(),
            event: &prepared.event,
            event_time: event_time.to_naive(),
            stored: self.stored_event(&prepared.event, event_time),
            delta: &prepared.delta,
            now: Timestamp::now().to_naive(),
            whole_seconds: self.whole_seconds(),
        };
        let mut attempt = 0;
        loop {
            match D::append(&self.pool, &row).await {
                Ok(AppendOutcome::Coarse(revision)) => {
                    self.note_whole_seconds();
                    return Ok(AppendOutcome::Done(revision));
                }
                Ok(outcome) => return Ok(outcome),
                Err(e) if is_unique_violation(&e) => {
                    return Err(Error::duplicate_event(key.session_id(), &prepared.event.id))
                }
                Err(Fail::Db(e)) if D::is_retryable(&e) && attempt < DEADLOCK_RETRIES => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(attempt as u64)).await;
                }
                Err(e) => return Err(self.fail(e)),
            }
        }
    }

    async fn load(
        &self,
        app_name: &str,
        user_id: &str,
        session_id: &str,
        filter: GetFilter,
    ) -> Result<Session> {
        check_key(app_name, user_id, session_id)?;
        // Whole-second time columns: select from the start of `after`'s second, then keep
        // the events at or after it by their own (exact) timestamps.
        let exact_after = filter.after;
        let after = match filter.after {
            Some(t) if self.whole_seconds() => Some(t.floor_second()),
            other => other,
        };
        let limit = match filter.num_recent_events {
            Some(0) => None,
            Some(n) => Some(i64::try_from(n).unwrap_or(i64::MAX)),
            None => Some(i64::MAX),
        };
        if let (Some(limit), Some(sql), StorageLayout::AdkGo) =
            (limit, D::GO.load_with_events, self.layout)
        {
            return self
                .load_go_session(sql, [app_name, user_id, session_id], after, limit)
                .await;
        }
        let combined = match (limit, D::SQL.load_with_events, self.layout) {
            (Some(limit), Some(sql), StorageLayout::AdkPython) => Some((limit, sql)),
            _ => None,
        };
        // Either one statement, or the session row first and then its events: a
        // concurrent append in between makes this handle stale (refused later), never
        // newer than its events.
        let query = match combined {
            None => sqlx::query::<D::DB>(D::SQL.load_session)
                .bind(app_name)
                .bind(user_id)
                .bind(session_id),
            Some((limit, sql)) => {
                newest_query::<D::DB>(sql, [app_name, user_id, session_id], after, limit)
            }
        };
        let row = query
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.storage(e))?
            .ok_or_else(|| Error::not_found(app_name, user_id, session_id))?;
        let get = |e| self.storage(e);
        let update_time: NaiveDateTime = row.try_get(0).map_err(get)?;
        let session_state = opt_state(row.try_get(1).map_err(get)?, "sessions.state")?;
        let app_state = opt_state(row.try_get(2).map_err(get)?, "app_states.state")?;
        let user_state = opt_state(row.try_get(3).map_err(get)?, "user_states.state")?;
        let mut events = Vec::new();
        if combined.is_some() {
            let text: String = row.try_get(4).map_err(get)?;
            let parsed: Vec<Event> = serde_json::from_str(&text).map_err(|e| {
                Error::storage(format!(
                    "stored event_data of session {session_id:?} is not a valid event: {e}"
                ))
            })?;
            // As `Event::from_storage_json` reads one: adk-js stores epoch milliseconds.
            events = parsed
                .into_iter()
                .map(|mut e| {
                    e.timestamp = crate::time::epoch_secs(e.timestamp);
                    Arc::new(e)
                })
                .collect();
        } else if let (Some(limit), StorageLayout::AdkGo) = (limit, self.layout) {
            events = self
                .load_go_events([app_name, user_id, session_id], after, limit)
                .await?;
        } else if let Some(limit) = limit {
            events = self
                .python_events([app_name, user_id, session_id], after, limit)
                .await?;
            // Whole-second columns order the events of one second by id: when the limit
            // cut into the oldest second, read that whole second too (the exact order and
            // the cut are made below).
            if self.whole_seconds() && limit != i64::MAX && events.len() as i64 == limit {
                let oldest = events
                    .iter()
                    .map(|e| Timestamp::from_secs_f64(e.timestamp).unwrap_or_default())
                    .min();
                if let Some(oldest) = oldest {
                    let from =
                        after.map_or(oldest.floor_second(), |a| a.max(oldest.floor_second()));
                    events = self
                        .python_events([app_name, user_id, session_id], Some(from), i64::MAX)
                        .await?;
                }
            }
        }
        if self.whole_seconds() {
            // The column orders whole seconds only; the events' own times order within one.
            let exact = |e: &Event| Timestamp::from_secs_f64(e.timestamp).unwrap_or_default();
            if let Some(t) = exact_after {
                events.retain(|e| exact(e) >= t);
            }
            events.sort_by(|a, b| (exact(a), &a.id).cmp(&(exact(b), &b.id)));
            if let Some(limit) = limit.and_then(|l| usize::try_from(l).ok()) {
                if events.len() > limit {
                    events.drain(..events.len() - limit);
                }
            }
        }
        Ok(LoadedSession {
            app_name: app_name.to_owned(),
            user_id: user_id.to_owned(),
            id: session_id.to_owned(),
            app_state,
            user_state,
            session_state,
            events,
            update_time: micros(update_time),
        }
        .into_session())
    }

    /// The rows of the newest `limit` events of a session (at or after `after`), newest
    /// first, by the layout's `[all, at or after]` statement pair.
    async fn newest_rows(
        &self,
        statements: [&'static str; 2],
        key: [&str; 3],
        after: Option<Timestamp>,
        limit: i64,
    ) -> Result<Vec<<D::DB as Database>::Row>> {
        newest_query::<D::DB>(statements, key, after, limit)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.storage(e))
    }

    /// The newest `limit` events of adk-python's layout (at or after `after`), oldest first.
    async fn python_events(
        &self,
        [app_name, user_id, session_id]: [&str; 3],
        after: Option<Timestamp>,
        limit: i64,
    ) -> Result<Vec<Arc<Event>>> {
        let get = |e| self.storage(e);
        let statements = [D::SQL.events_newest, D::SQL.events_newest_after];
        let rows = self
            .newest_rows(statements, [app_name, user_id, session_id], after, limit)
            .await?;
        let mut events = Vec::with_capacity(rows.len());
        for row in rows.iter().rev() {
            let data: Option<String> = row.try_get(0).map_err(get)?;
            let data = data.ok_or_else(|| {
                Error::storage(format!(
                    "an event of session {session_id:?} has no event_data (not a schema v1 row)"
                ))
            })?;
            events.push(Arc::new(Event::from_storage_json(&data)?));
        }
        Ok(events)
    }

    /// The newest `limit` events of adk-go's layout (at or after `after`), oldest first.
    async fn load_go_events(
        &self,
        [app_name, user_id, session_id]: [&str; 3],
        after: Option<Timestamp>,
        limit: i64,
    ) -> Result<Vec<Arc<Event>>> {
        let statements = [D::GO.events_newest, D::GO.events_newest_after];
        let rows = self
            .newest_rows(statements, [app_name, user_id, session_id], after, limit)
            .await?;
        let mut events = Vec::with_capacity(rows.len());
        for row in rows.iter().rev() {
            events.push(Arc::new(
                self.go_row(row, 0, session_id)?.into_event(session_id)?,
            ));
        }
        Ok(events)
    }

    /// The session and its newest `limit` events of adk-go's layout in one statement
    /// (`sql`: `[all, at or after]`, see [`GoStatements::load_with_events`]).
    async fn load_go_session(
        &self,
        sql: [&'static str; 2],
        [app_name, user_id, session_id]: [&str; 3],
        after: Option<Timestamp>,
        limit: i64,
    ) -> Result<Session> {
        let query = newest_query::<D::DB>(sql, [app_name, user_id, session_id], after, limit);
        let rows = query
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.storage(e))?;
        let Some(first) = rows.first() else {
            return Err(Error::not_found(app_name, user_id, session_id));
        };
        let get = |e| self.storage(e);
        let update_time: NaiveDateTime = first.try_get(0).map_err(get)?;
        let mut events = Vec::with_capacity(rows.len());
        for row in rows.iter().rev() {
            // A session without (selected) events is one row with NULL event columns.
            if row.try_get::<Option<String>, _>(4).map_err(get)?.is_none() {
                continue;
            }
            events.push(Arc::new(
                self.go_row(row, 4, session_id)?.into_event(session_id)?,
            ));
        }
        Ok(LoadedSession {
            app_name: app_name.to_owned(),
            user_id: user_id.to_owned(),
            id: session_id.to_owned(),
            session_state: opt_state(first.try_get(1).map_err(get)?, "sessions.state")?,
            app_state: opt_state(first.try_get(2).map_err(get)?, "app_states.state")?,
            user_state: opt_state(first.try_get(3).map_err(get)?, "user_states.state")?,
            events,
            update_time: micros(update_time),
        }
        .into_session())
    }

    /// The adk-go event columns of `row` from column `base` on, in
    /// [`GoStatements::events_newest`]'s order.
    fn go_row(
        &self,
        row: &<D::DB as Database>::Row,
        base: usize,
        session_id: &str,
    ) -> Result<GoEventRow> {
        let get = |e| self.storage(e);
        let id: String = row.try_get(base).map_err(get)?;
        let time: Option<NaiveDateTime> = row.try_get(base + 11).map_err(get)?;
        let time = time.ok_or_else(|| {
            Error::storage(format!(
                "event {id:?} of session {session_id:?} has no timestamp"
            ))
        })?;
        let flag = |i: usize| -> Result<bool> {
            Ok(row
                .try_get::<Option<bool>, _>(base + i)
                .map_err(get)?
                .unwrap_or(false))
        };
        let text = |i: usize| row.try_get::<Option<String>, _>(base + i).map_err(get);
        let actions = row
            .try_get::<Option<Vec<u8>>, _>(base + 3)
            .map_err(get)?
            .unwrap_or_default();
        GoEventRow::from_columns(id, actions, micros(time), text, flag)
    }

    async fn list_page(
        &self,
        app_name: &str,
        user_id: Option<&str>,
        page: &PageRequest,
    ) -> Result<SessionPage> {
        let after = check_list_request(app_name, user_id, page)?;
        let size = page.page_size.unwrap_or(usize::MAX);
        let limit = i64::try_from(size.saturating_add(1)).unwrap_or(i64::MAX);
        let sql = D::SQL.list[list_variant(user_id.is_some(), after.is_some())];
        let mut query = sqlx::query::<D::DB>(sql).bind(app_name);
        if let Some(u) = user_id {
            query = query.bind(u);
        }
        if let Some(c) = &after {
            let t = Timestamp(c.t).to_naive();
            query = query.bind(t).bind(t).bind(c.u.as_str()).bind(c.s.as_str());
        }
        let rows = query
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.storage(e))?;
        let get = |e| self.storage(e);
        let mut sessions = Vec::with_capacity(rows.len().min(size));
        let mut next_page_token = None;
        for (i, row) in rows.iter().enumerate() {
            let uid: String = row.try_get(0).map_err(get)?;
            let sid: String = row.try_get(1).map_err(get)?;
            let update = micros(row.try_get(2).map_err(get)?);
            if i == size {
                let last = sessions
                    .last()
                    .map(|s: &Session| ListCursor::new(s.revision(), s.user_id(), s.id()).encode());
                next_page_token = last;
                break;
            }
            let state = merge(
                &opt_state(row.try_get(4).map_err(get)?, "app_states.state")?,
                &opt_state(row.try_get(5).map_err(get)?, "user_states.state")?,
                &state_from_json(&row.try_get::<String, _>(3).map_err(get)?, "sessions.state")?,
            );
            sessions.push(Session::from_parts(
                app_name,
                uid,
                sid,
                state,
                Vec::new(),
                update,
            ));
        }
        Ok(SessionPage {
            sessions,
            next_page_token,
        })
    }

    async fn read_state(
        &self,
        sql: &'static str,
        app_name: &str,
        user_id: Option<&str>,
    ) -> Result<JsonMap> {
        let mut query = sqlx::query::<D::DB>(sql).bind(app_name);
        if let Some(u) = user_id {
            query = query.bind(u);
        }
        let row = query
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.storage(e))?;
        match row {
            Some(r) => state_from_json(
                &r.try_get::<String, _>(0).map_err(|e| self.storage(e))?,
                "state",
            ),
            None => Ok(JsonMap::new()),
        }
    }
}

/// A statement of the pair `[all, at or after]` over one session's events, bound:
/// `(app, user, id, limit)`, or `(app, user, id, after, limit)` when `after` is given.
fn newest_query<'q, DB: Database>(
    [all, since]: [&'static str; 2],
    [app_name, user_id, session_id]: [&'q str; 3],
    after: Option<Timestamp>,
    limit: i64,
) -> sqlx::query::Query<'q, DB, <DB as Database>::Arguments>
where
    &'q str: Encode<'q, DB> + Type<DB>,
    NaiveDateTime: Encode<'q, DB> + Type<DB>,
    i64: Encode<'q, DB> + Type<DB>,
{
    let query = sqlx::query::<DB>(match after {
        None => all,
        Some(_) => since,
    })
    .bind(app_name)
    .bind(user_id)
    .bind(session_id);
    match after {
        None => query.bind(limit),
        Some(after) => query.bind(after.to_naive()).bind(limit),
    }
}

/// The error of one direct connection attempt (at most a second), if it fails.
async fn probe<DB: Database>(url: &str) -> Option<sqlx::Error> {
    let options: <DB::Connection as sqlx::Connection>::Options = match url.parse() {
        Ok(o) => o,
        Err(e) => return Some(e),
    };
    match tokio::time::timeout(
        Duration::from_secs(1),
        sqlx::ConnectOptions::connect(&options),
    )
    .await
    {
        Ok(Err(e)) => Some(e),
        Ok(Ok(conn)) => {
            let _ = sqlx::Connection::close(conn).await;
            None
        }
        Err(_) => None,
    }
}

fn storage_error<D: Dialect>(
    e: sqlx::Error,
    url: &str,
    redacted: &str,
    timeout: Duration,
) -> Error {
    let message = match &e {
        sqlx::Error::PoolTimedOut => format!(
            "no connection to the {} server at {redacted} within {timeout:?}: it is down, unreachable, or every pooled connection is busy",
            D::BACKEND
        ),
        other @ (sqlx::Error::Io(_) | sqlx::Error::Tls(_))
            if matches!(other, sqlx::Error::Tls(_)) || other.to_string().contains("certificate") =>
        {
            format!(
                "TLS with the {} server at {redacted} failed: {other} (the URL's sslrootcert= / ssl-ca= must name the CA that signed the server's certificate, and the host must be one the certificate names)",
                D::BACKEND
            )
        }
        other @ (sqlx::Error::Io(_) | sqlx::Error::Tls(_)) => format!(
            "cannot reach the {} server at {redacted} (within {timeout:?}): {other}",
            D::BACKEND
        ),
        other => format!("{} at {redacted}: {other}", D::BACKEND),
    };
    let message = if url.is_empty() {
        message
    } else {
        redact_in(&message, url)
    };
    // The driver's error is kept as the source where its text cannot hold the URL (and
    // so a password): the server's own errors, I/O and decoding. Configuration and TLS
    // errors, which may quote the URL, are kept as redacted text only.
    // A value longer than its column (another runtime's schema update narrowed one:
    // adk-js makes `invocation_id` 255 characters) is the caller's to fix.
    if let sqlx::Error::Database(db) = &e {
        let too_long = matches!(db.code().as_deref(), Some("22001") | Some("1406"))
            || db.message().contains("Data too long");
        if too_long {
            return Error::InvalidArgument(format!(
                "a value is longer than its column in this database allows ({}); the database's tables were changed by another writer (see `adk-sessions schema check`)",
                db.message()
            ));
        }
    }
    match e {
        e @ (sqlx::Error::Database(_)
        | sqlx::Error::Io(_)
        | sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::Protocol(_)) => Error::storage_with_source(message, e),
        _ => Error::storage(message),
    }
}

#[async_trait]
impl<D: Dialect> SessionService for ServerSessionService<D>
where
    for<'c> &'c mut <D::DB as Database>::Connection: Executor<'c, Database = D::DB>,
    <D::DB as Database>::Arguments: IntoArguments<D::DB>,
    for<'a> &'a str: Encode<'a, D::DB> + Type<D::DB>,
    String: for<'r> Decode<'r, D::DB> + Type<D::DB>,
    NaiveDateTime: for<'a> Encode<'a, D::DB> + for<'r> Decode<'r, D::DB> + Type<D::DB>,
    i64: for<'a> Encode<'a, D::DB> + for<'r> Decode<'r, D::DB> + Type<D::DB>,
    Vec<u8>: for<'r> Decode<'r, D::DB> + Type<D::DB>,
    bool: for<'a> Encode<'a, D::DB> + for<'r> Decode<'r, D::DB> + Type<D::DB>,
    for<'a> &'a [u8]: Encode<'a, D::DB> + Type<D::DB>,
    for<'a> Option<&'a str>: Encode<'a, D::DB> + Type<D::DB>,
    usize: ColumnIndex<<D::DB as Database>::Row>,
{
    async fn create(
        &self,
        app_name: &str,
        user_id: &str,
        options: CreateOptions,
    ) -> Result<Session> {
        let PreparedCreate {
            session_id,
            delta,
            now,
            events,
            revision,
        } = prepare_create(app_name, user_id, &options, self.policy)?;
        // Whole-second time columns store the revision exactly only as a whole second.
        let (now, revision) = if self.whole_seconds() {
            (now.ceil_second(), revision.ceil_second())
        } else {
            (now, revision)
        };
        let mut rows = Vec::with_capacity(events.len());
        for (at, e) in &events {
            rows.push(NewEvent {
                id: e.id.clone(),
                invocation_id: e.invocation_id.clone(),
                time: at.to_naive(),
                stored: self.stored_event(e, *at),
            });
        }
        let new = NewSession {
            app_name,
            user_id,
            session_id: &session_id,
            delta: &delta,
            now: now.to_naive(),
            events: &rows,
            revision: revision.to_naive(),
        };
        let mut attempt = 0;
        let states = loop {
            match D::create(&self.pool, &new).await {
                Ok(states) => break states,
                Err(e) if is_unique_violation(&e) => {
                    return Err(Error::already_exists(app_name, user_id, &session_id))
                }
                Err(Fail::Db(e)) if D::is_retryable(&e) && attempt < DEADLOCK_RETRIES => {
                    attempt += 1;
                }
                Err(e) => return Err(self.fail(e)),
            }
        };
        let revision = match states.coarse_revision {
            Some(stored) => {
                self.note_whole_seconds();
                Timestamp::from_naive(stored)
            }
            None => revision,
        };
        Ok(Session::from_parts(
            app_name,
            user_id,
            session_id,
            merge(&states.app, &states.user, &delta.session),
            events.into_iter().map(|(_, e)| e).collect(),
            revision,
        ))
    }

    async fn list_apps(&self) -> Result<Vec<String>> {
        let rows = sqlx::query::<D::DB>(D::SQL.list_apps)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.storage(e))?;
        rows.iter()
            .map(|r| r.try_get::<String, _>(0).map_err(|e| self.storage(e)))
            .collect()
    }

    async fn get(&self, key: &SessionKey, filter: GetFilter) -> Result<Session> {
        self.load(key.app_name(), key.user_id(), key.session_id(), filter)
            .await
    }

    async fn list(
        &self,
        app_name: &str,
        user_id: Option<&str>,
        page: &PageRequest,
    ) -> Result<SessionPage> {
        self.list_page(app_name, user_id, page).await
    }

    async fn delete(&self, key: &SessionKey) -> Result<()> {
        key.check()?;
        // The events first, explicitly, as adk-python does: another runtime's schema
        // update (adk-js's) may have dropped the cascade. One transaction.
        let mut tx = self.pool.begin().await.map_err(|e| self.storage(e))?;
        for sql in [D::SQL.delete_events, D::SQL.delete_session] {
            sqlx::query::<D::DB>(sql)
                .bind(key.app_name())
                .bind(key.user_id())
                .bind(key.session_id())
                .execute(&mut *tx)
                .await
                .map_err(|e| self.storage(e))?;
        }
        tx.commit().await.map_err(|e| self.storage(e))?;
        Ok(())
    }

    async fn append_event(&self, session: &Session, event: Event) -> Result<Arc<Event>> {
        let mut prepared = match prepare_append(session, event, self.policy)? {
            Prepared::Partial(event) => return Ok(event),
            Prepared::Append(p) => p,
        };
        match self.store_append(session.key(), &prepared).await? {
            AppendOutcome::Done(revision) | AppendOutcome::Coarse(revision) => {
                // The stored revision (on whole-second columns, later than prepared).
                prepared.update_time = revision;
                session.apply_append(&prepared);
                Ok(prepared.event)
            }
            AppendOutcome::Missing => Err(Error::not_found(
                session.app_name(),
                session.user_id(),
                session.id(),
            )),
            AppendOutcome::Stale(stored) => Err(stale(session, stored)),
        }
    }

    async fn append_to_current(&self, key: &SessionKey, event: Event) -> Result<Appended> {
        let prepared = match prepare_append_to_current(key, event, self.policy)? {
            Prepared::Partial(event) => {
                let revision = self.get(key, GetFilter::recent(0)).await?.revision();
                return Ok(Appended::new(event, revision));
            }
            Prepared::Append(p) => p,
        };
        match self.store_append(key, &prepared).await? {
            AppendOutcome::Done(revision) | AppendOutcome::Coarse(revision) => {
                Ok(Appended::new(prepared.event, revision))
            }
            AppendOutcome::Missing => Err(Error::not_found(
                key.app_name(),
                key.user_id(),
                key.session_id(),
            )),
            AppendOutcome::Stale(_) => Err(Error::storage(
                "an append without a precondition was refused as stale",
            )),
        }
    }

    async fn get_user_state(&self, app_name: &str, user_id: &str) -> Result<JsonMap> {
        check_id("app_name", app_name)?;
        check_id("user_id", user_id)?;
        self.read_state(D::SQL.user_state, app_name, Some(user_id))
            .await
    }

    async fn get_app_state(&self, app_name: &str) -> Result<JsonMap> {
        check_id("app_name", app_name)?;
        self.read_state(D::SQL.app_state, app_name, None).await
    }

    async fn close(&self) -> Result<()> {
        self.pool.close().await;
        Ok(())
    }

    async fn ping(&self) -> Result<()> {
        self.pool
            .execute(sqlx::query::<D::DB>("SELECT 1"))
            .await
            .map_err(|e| self.storage(e))?;
        Ok(())
    }

    fn backend_name(&self) -> &'static str {
        D::BACKEND
    }
}

/// Declares a public backend type over [`ServerSessionService`] of one dialect: its
/// constructors and the `SessionService` calls, delegated, so the sqlx generics stay
/// private.
macro_rules! server_backend {
    ($(#[$doc:meta])* $name:ident, $dialect:ty, $variant:ident, $pool:ty) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name($crate::sql::server::ServerSessionService<$dialect>);

        impl $name {
            /// Connects to `url` (any spelling [`crate::DbUrl`] accepts for this
            /// server), checks the schema (creating it in an empty database) and returns
            /// the service. An unreachable server is [`crate::Error::Storage`] after at
            /// most `options.connect_timeout`.
            /// Options in the URL's query (`?pool_size=16`) override `options`, as with
            /// [`crate::open`].
            pub async fn open(url: &str, options: &$crate::OpenOptions) -> $crate::Result<Self> {
                let (url, options) = $crate::sql::url_options::take(url, options, true)?;
                match $crate::DbUrl::parse(&url)? {
                    $crate::DbUrl::$variant { url } => Self::open_normalized(&url, &options).await,
                    other => Err($crate::Error::invalid(format!(
                        "{} is a {} URL, not one for {}",
                        other,
                        other.backend(),
                        stringify!($name)
                    ))),
                }
            }

            /// The service over the application's own sqlx pool (its connections, size and
            /// timeouts), instead of one this crate opens. The schema is checked, and
            /// created in an empty database, through it.
            pub async fn from_pool(
                pool: $pool,
                options: &$crate::OpenOptions,
            ) -> $crate::Result<Self> {
                $crate::sql::server::ServerSessionService::from_pool(pool, options)
                    .await
                    .map(Self)
            }

            /// The table layout the database holds (adk-python's or adk-go's).
            pub fn layout(&self) -> $crate::StorageLayout {
                self.0.layout()
            }

            pub(crate) async fn open_normalized(
                url: &str,
                options: &$crate::OpenOptions,
            ) -> $crate::Result<Self> {
                $crate::sql::server::ServerSessionService::open(url, options)
                    .await
                    .map(Self)
            }
        }

        #[async_trait::async_trait]
        impl $crate::SessionService for $name {
            async fn create(
                &self,
                app_name: &str,
                user_id: &str,
                options: $crate::CreateOptions,
            ) -> $crate::Result<$crate::Session> {
                self.0.create(app_name, user_id, options).await
            }
            async fn get(
                &self,
                key: &$crate::SessionKey,
                filter: $crate::GetFilter,
            ) -> $crate::Result<$crate::Session> {
                self.0.get(key, filter).await
            }
            async fn list(
                &self,
                app_name: &str,
                user_id: Option<&str>,
                page: &$crate::PageRequest,
            ) -> $crate::Result<$crate::SessionPage> {
                self.0.list(app_name, user_id, page).await
            }
            async fn delete(&self, key: &$crate::SessionKey) -> $crate::Result<()> {
                self.0.delete(key).await
            }
            async fn append_event(
                &self,
                session: &$crate::Session,
                event: $crate::Event,
            ) -> $crate::Result<std::sync::Arc<$crate::Event>> {
                self.0.append_event(session, event).await
            }
            async fn append_to_current(
                &self,
                key: &$crate::SessionKey,
                event: $crate::Event,
            ) -> $crate::Result<$crate::Appended> {
                self.0.append_to_current(key, event).await
            }
            async fn get_user_state(
                &self,
                app_name: &str,
                user_id: &str,
            ) -> $crate::Result<$crate::JsonMap> {
                self.0.get_user_state(app_name, user_id).await
            }
            async fn get_app_state(&self, app_name: &str) -> $crate::Result<$crate::JsonMap> {
                self.0.get_app_state(app_name).await
            }
            async fn close(&self) -> $crate::Result<()> {
                self.0.close().await
            }
            async fn ping(&self) -> $crate::Result<()> {
                self.0.ping().await
            }
            fn backend_name(&self) -> &'static str {
                self.0.backend_name()
            }
            async fn list_apps(&self) -> $crate::Result<Vec<String>> {
                self.0.list_apps().await
            }
            fn storage_layout(&self) -> Option<$crate::StorageLayout> {
                Some(self.0.layout())
            }
        }
    };
}
pub(crate) use server_backend;
