//! Reads: the reader pool and the queries behind `get`, `list` and the state calls.
//!
//! **Threading.** A file database is read through a small pool of read-only
//! connections (at most `OpenOptions::pool_size`), each owned by a reader thread started
//! on demand (see [`super::reader_threads`]; we first used tokio's blocking pool, whose
//! wake-up or new thread per read cost more than the read itself). The async caller
//! waits for the reply without blocking a worker. In WAL mode readers never wait for the
//! writer.
//!
//! An in-memory database (`sqlite::memory:`) has one connection only, so its reads run
//! as jobs on the writer thread (see [`super::writer`]) and see every committed write.
//!
//! Every read runs in one read transaction, so a session, its events and its app and
//! user state come from one snapshot.

use std::sync::Arc;

use rusqlite::types::ValueRef;
use rusqlite::{params, Connection};
use tokio::sync::oneshot;

use super::handoff::InFlight;
use super::reader_threads::ReaderThreads;
use super::schema::Location;
use super::sql::{self, parse_time};
use super::writer::{optional, SessionKey, Writer};
use crate::error::{Error, Result};
use crate::model::{Event, JsonMap};
use crate::page::ListCursor;
use crate::session::Session;
use crate::sql::adk_go::GoEventRow;
use crate::sql::common::{state_from_json, LoadedSession};
use crate::sql::event_cache::{EventCache, RowKey};
use crate::sql::OpenOptions;
use crate::sql::StorageLayout;
use crate::state::merge;
use crate::time::Timestamp;

/// Where reads run.
#[derive(Clone)]
pub enum Readers {
    /// A pool of read-only connections to a file.
    Pool(Arc<Pool>),
    /// The writer's connection (in-memory databases).
    Writer(Writer),
}

/// Read-only connections to a file, each on its own thread.
pub struct Pool {
    threads: ReaderThreads,
    in_flight: InFlight,
}

impl Readers {
    /// A pool of at most `options.pool_size` connections to `loc`.
    pub fn pool(loc: Location, options: OpenOptions) -> Self {
        Readers::Pool(Arc::new(Pool {
            in_flight: InFlight::new(options.sqlite_latency.into()),
            threads: ReaderThreads::new(loc, options),
        }))
    }

    /// Runs `f` with a connection, in one read transaction, off the async workers.
    pub async fn run<T: Send + 'static>(
        &self,
        loc: &Location,
        f: impl FnOnce(&Connection, &Location) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        match self {
            Readers::Writer(writer) => {
                let loc = loc.clone();
                writer.read(move |conn| snapshot(conn, &loc, f)).await
            }
            Readers::Pool(pool) => {
                let ticket = pool.in_flight.enter();
                let (tx, rx) = oneshot::channel();
                pool.threads.submit(Box::new(move |conn| {
                    let result = conn.and_then(|(c, loc)| snapshot(c, loc, f));
                    Box::new(move || {
                        let _ = tx.send(result);
                    })
                }));
                ticket.wait(rx).await.map_err(|_| {
                    Error::storage(format!(
                        "{}: a read job was dropped",
                        pool.threads.location().label
                    ))
                })?
            }
        }
    }
}

/// Runs `f` inside `BEGIN … COMMIT`.
fn snapshot<T>(
    conn: &Connection,
    loc: &Location,
    f: impl FnOnce(&Connection, &Location) -> Result<T>,
) -> Result<T> {
    let exec = |text: &str| conn.prepare_cached(text).and_then(|mut s| s.execute([]));
    exec(sql::BEGIN).map_err(|e| loc.error("starting a read", e))?;
    let result = f(conn, loc);
    let end = exec(sql::COMMIT);
    if end.is_err() && !conn.is_autocommit() {
        let _ = exec(sql::ROLLBACK);
    }
    let value = result?;
    end.map_err(|e| loc.error("ending a read", e))?;
    Ok(value)
}

/// Which events a `get` loads.
#[derive(Debug, Clone, Copy)]
pub struct EventSelect {
    /// Newest N (`None` = all, `Some(0)` = none).
    pub limit: Option<usize>,
    /// Only events at or after this time.
    pub after: Option<Timestamp>,
}

/// Loads a session with the selected events, or `None` when it does not exist.
pub fn load_session(
    conn: &Connection,
    loc: &Location,
    key: &SessionKey,
    select: EventSelect,
    cache: &EventCache,
) -> Result<Option<LoadedSession>> {
    let err = |e| loc.error("reading a session", e);
    let row = optional(conn.prepare_cached(sql::SELECT_SESSION).and_then(|mut s| {
        s.query_row(params![key.app, key.user, key.id], |r| {
            Ok((r.get::<_, String>(0)?, parse_time(r.get_ref(1)?)))
        })
    }))
    .map_err(err)?;
    let Some((state_text, update_time)) = row else {
        return Ok(None);
    };
    let update_time = update_time.ok_or_else(|| {
        Error::storage(format!(
            "{}: sessions.update_time of session {:?} is not a time",
            loc.label, key.id
        ))
    })?;
    let events = match (select.limit, loc.layout) {
        (Some(0), _) => Vec::new(),
        (_, StorageLayout::AdkGo) => load_go_events(conn, loc, key, select, cache)?,
        _ => load_events(conn, loc, key, select, cache)?,
    };
    Ok(Some(LoadedSession {
        app_name: key.app.clone(),
        user_id: key.user.clone(),
        id: key.id.clone(),
        app_state: app_state(conn, loc, &key.app)?,
        user_state: user_state(conn, loc, &key.app, &key.user)?,
        session_state: state_from_json(&state_text, &format!("{}: sessions.state", loc.label))?,
        events,
        update_time,
    }))
}

/// The selected events, oldest first (ties by id): the index gives them newest first,
/// so a `LIMIT` takes the newest N, and the list is reversed.
fn load_events(
    conn: &Connection,
    loc: &Location,
    key: &SessionKey,
    select: EventSelect,
    cache: &EventCache,
) -> Result<Vec<Arc<Event>>> {
    let err = |e| loc.error("reading events", e);
    let mut rows_read = Vec::new();
    let statements = [sql::SELECT_EVENTS, sql::SELECT_EVENTS_AFTER];
    each_event_row(conn, loc, key, select, statements, |row| {
        let text = |i: usize| -> Result<&str> {
            let v = row.get_ref(i).map_err(err)?;
            v.as_str().map_err(|e| err(e.into()))
        };
        let (id, invocation_id) = (text(0)?, text(1)?);
        let time = parse_time(row.get_ref(2).map_err(err)?);
        let data = match row.get_ref(3).map_err(err)? {
            ValueRef::Null => None,
            ValueRef::Text(_) => Some(text(3)?),
            other => {
                return Err(Error::storage(format!(
                    "{}: event {id:?} of session {:?}: event_data is {:?}, not JSON text",
                    loc.label,
                    key.id,
                    other.data_type()
                )))
            }
        };
        let cached = data.and_then(|text| {
            cache.get(&RowKey {
                id,
                invocation_id,
                time,
                text,
            })
        });
        rows_read.push(match cached {
            Some(event) => Row::Decoded(event),
            None => Row::Raw(RawEvent {
                id: id.to_owned(),
                invocation_id: invocation_id.to_owned(),
                time,
                data: data.map(Arc::from),
            }),
        });
        Ok(())
    })?;
    rows_read.reverse();
    decode_all(rows_read, loc, key, cache)
}

/// The selected events of adk-go's layout, oldest first (see [`load_events`]).
fn load_go_events(
    conn: &Connection,
    loc: &Location,
    key: &SessionKey,
    select: EventSelect,
    cache: &EventCache,
) -> Result<Vec<Arc<Event>>> {
    let err = |e| loc.error("reading events", e);
    let mut events = Vec::new();
    let statements = [sql::SELECT_GO_EVENTS, sql::SELECT_GO_EVENTS_AFTER];
    each_event_row(conn, loc, key, select, statements, |row| {
        let go = go_event_row(row, loc, key).map_err(|e| match e {
            GoRowError::Sql(e) => err(e),
            GoRowError::Lib(e) => e,
        })?;
        // Decoding adk-go's columns costs more than a cache lookup by their content.
        let text: Arc<str> = Arc::from(go.fingerprint());
        let row_key = RowKey {
            id: &go.id,
            invocation_id: &go.invocation_id,
            time: Some(go.timestamp),
            text: &text,
        };
        if let Some(event) = cache.get(&row_key) {
            events.push(event);
            return Ok(());
        }
        let (id, invocation_id, time) = (go.id.clone(), go.invocation_id.clone(), go.timestamp);
        let event = Arc::new(go.into_event(&key.id)?);
        let row_key = RowKey {
            id: &id,
            invocation_id: &invocation_id,
            time: Some(time),
            text: &text,
        };
        cache.insert(&row_key, text.clone(), event.clone());
        events.push(event);
        Ok(())
    })?;
    events.reverse();
    Ok(events)
}

/// Runs `on_row` on each selected event row, newest first: `statements` is the pair
/// `[all, at or after]` (bound `(app, user, id, limit)` and then the time), the index
/// gives the newest first, so a `LIMIT` takes the newest N.
fn each_event_row(
    conn: &Connection,
    loc: &Location,
    key: &SessionKey,
    select: EventSelect,
    [all, since]: [&str; 2],
    mut on_row: impl FnMut(&rusqlite::Row<'_>) -> Result<()>,
) -> Result<()> {
    let err = |e| loc.error("reading events", e);
    let limit = select
        .limit
        .map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
    let mut stmt;
    let mut rows = match select.after {
        None => {
            stmt = conn.prepare_cached(all).map_err(err)?;
            stmt.query(params![key.app, key.user, key.id, limit])
        }
        Some(after) => {
            stmt = conn.prepare_cached(since).map_err(err)?;
            stmt.query(params![
                key.app,
                key.user,
                key.id,
                limit,
                loc.time_text(after)
            ])
        }
    }
    .map_err(err)?;
    while let Some(row) = rows.next().map_err(err)? {
        on_row(row)?;
    }
    Ok(())
}

enum GoRowError {
    Sql(rusqlite::Error),
    Lib(Error),
}

impl From<rusqlite::Error> for GoRowError {
    fn from(e: rusqlite::Error) -> Self {
        GoRowError::Sql(e)
    }
}

/// Reads the columns of [`sql::SELECT_GO_EVENTS`]. Text columns may hold blobs and the
/// reverse (SQLite does not enforce column types); booleans are 0/1 or NULL.
fn go_event_row(
    row: &rusqlite::Row<'_>,
    loc: &Location,
    key: &SessionKey,
) -> std::result::Result<GoEventRow, GoRowError> {
    let text = |i: usize| -> std::result::Result<Option<String>, GoRowError> {
        Ok(match row.get_ref(i)? {
            ValueRef::Null => None,
            ValueRef::Text(b) | ValueRef::Blob(b) => Some(String::from_utf8_lossy(b).into_owned()),
            ValueRef::Integer(n) => Some(n.to_string()),
            ValueRef::Real(n) => Some(n.to_string()),
        })
    };
    let flag = |i: usize| -> std::result::Result<bool, GoRowError> {
        Ok(match row.get_ref(i)? {
            ValueRef::Integer(n) => n != 0,
            ValueRef::Real(n) => n != 0.0,
            ValueRef::Text(b) => matches!(b, b"1" | b"true" | b"TRUE"),
            _ => false,
        })
    };
    let id = text(0)?.unwrap_or_default();
    let timestamp = parse_time(row.get_ref(11)?).ok_or_else(|| {
        GoRowError::Lib(Error::storage(format!(
            "{}: event {id:?} of session {:?}: events.timestamp is not a time",
            loc.label, key.id
        )))
    })?;
    let actions = match row.get_ref(3)? {
        ValueRef::Blob(b) | ValueRef::Text(b) => b.to_vec(),
        _ => Vec::new(),
    };
    GoEventRow::from_columns(id, actions, timestamp, text, flag)
}

/// A row read: already decoded (a cache hit) or not yet.
enum Row {
    Decoded(Arc<Event>),
    Raw(RawEvent),
}

/// An event row, not yet decoded.
struct RawEvent {
    id: String,
    invocation_id: String,
    time: Option<Timestamp>,
    data: Option<Arc<str>>,
}

impl RawEvent {
    fn key(&self) -> Option<RowKey<'_>> {
        Some(RowKey {
            id: &self.id,
            invocation_id: &self.invocation_id,
            time: self.time,
            text: self.data.as_deref()?,
        })
    }
}

/// Rows from which decoding is split over threads.
const PARALLEL_DECODE_FROM: usize = 1024;

/// Decodes `event_data` of every row, in order. Decoding JSON is most of the cost of a
/// long session's `get`, so a long list is split over the available cores (scoped
/// threads of this blocking thread; no tokio worker is involved).
fn decode_all(
    raw: Vec<Row>,
    loc: &Location,
    key: &SessionKey,
    cache: &EventCache,
) -> Result<Vec<Arc<Event>>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    let misses = raw.iter().filter(|r| matches!(r, Row::Raw(_))).count();
    if misses < PARALLEL_DECODE_FROM || threads < 2 {
        return raw
            .into_iter()
            .map(|r| decode(r, loc, key, cache))
            .collect();
    }
    let chunk = raw.len().div_ceil(threads);
    let mut parts: Vec<Vec<Row>> = Vec::with_capacity(threads);
    let mut rest = raw;
    while rest.len() > chunk {
        let tail = rest.split_off(chunk);
        parts.push(rest);
        rest = tail;
    }
    parts.push(rest);
    std::thread::scope(|scope| {
        let handles: Vec<_> = parts
            .into_iter()
            .map(|part| {
                scope.spawn(move || {
                    part.into_iter()
                        .map(|r| decode(r, loc, key, cache))
                        .collect::<Result<Vec<_>>>()
                })
            })
            .collect();
        let mut events = Vec::new();
        for h in handles {
            let part = h.join().map_err(|_| {
                Error::storage(format!("{}: a decoding thread panicked", loc.label))
            })??;
            events.extend(part);
        }
        Ok(events)
    })
}

/// One event from its row (see [`event_from_row`]), through the cache.
fn decode(r: Row, loc: &Location, key: &SessionKey, cache: &EventCache) -> Result<Arc<Event>> {
    let raw = match r {
        Row::Decoded(event) => return Ok(event),
        Row::Raw(raw) => raw,
    };
    let event = event_from_row(&raw.id, &raw.invocation_id, raw.time, raw.data.as_deref())
        .map(Arc::new)
        .map_err(|e| {
            Error::storage(format!(
                "{}: event {:?} of session {:?}: {e}",
                loc.label, raw.id, key.id
            ))
        })?;
    if let (Some(row), Some(text)) = (raw.key(), raw.data.clone()) {
        cache.insert(&row, text, event.clone());
    }
    Ok(event)
}

/// One event from the columns of its row. Like adk-python, the columns win over the
/// payload for id and invocation id, and the column gives the time when the payload has
/// none.
pub fn event_from_row(
    id: &str,
    invocation_id: &str,
    time: Option<Timestamp>,
    data: Option<&str>,
) -> Result<Event> {
    let mut event = match data {
        None => Event::default(),
        Some(text) => Event::from_storage_json(text)?,
    };
    if event.id != id {
        id.clone_into(&mut event.id);
    }
    if event.invocation_id != invocation_id {
        invocation_id.clone_into(&mut event.invocation_id);
    }
    if event.timestamp == 0.0 {
        if let Some(t) = time {
            event.timestamp = t.as_secs_f64();
        }
    }
    Ok(event)
}

/// The app's state (empty when there is no row).
pub fn app_state(conn: &Connection, loc: &Location, app: &str) -> Result<JsonMap> {
    let text: Option<String> = optional(
        conn.prepare_cached(sql::SELECT_APP_STATE)
            .and_then(|mut s| s.query_row([app], |r| r.get(0))),
    )
    .map_err(|e| loc.error("reading app state", e))?;
    match text {
        Some(t) => state_from_json(&t, &format!("{}: app_states.state", loc.label)),
        None => Ok(JsonMap::new()),
    }
}

/// The user's state (empty when there is no row).
pub fn user_state(conn: &Connection, loc: &Location, app: &str, user: &str) -> Result<JsonMap> {
    let text: Option<String> = optional(
        conn.prepare_cached(sql::SELECT_USER_STATE)
            .and_then(|mut s| s.query_row([app, user], |r| r.get(0))),
    )
    .map_err(|e| loc.error("reading user state", e))?;
    match text {
        Some(t) => state_from_json(&t, &format!("{}: user_states.state", loc.label)),
        None => Ok(JsonMap::new()),
    }
}

/// Every app with a session, sorted.
pub fn list_apps(conn: &Connection, loc: &Location) -> Result<Vec<String>> {
    let read = || -> rusqlite::Result<Vec<String>> {
        let mut stmt = conn.prepare_cached(sql::SELECT_APPS)?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        rows.collect()
    };
    read().map_err(|e| loc.error("listing apps", e))
}

/// One page of `list`: sessions after `after` in (update time, user, id) order, merged
/// state, no events, and the token of the next page.
pub fn list(
    conn: &Connection,
    loc: &Location,
    app: &str,
    user: Option<&str>,
    page_size: Option<usize>,
    after: Option<&ListCursor>,
) -> Result<(Vec<Session>, Option<String>)> {
    let err = |e| loc.error("listing sessions", e);
    let app_st = app_state(conn, loc, app)?;
    // One row more than the page tells whether there is a next page.
    let limit = page_size.map_or(-1, |n| i64::try_from(n.saturating_add(1)).unwrap_or(-1));
    let sql_text = sql::list_sql(user.is_some(), after.is_some());
    let mut stmt = conn.prepare_cached(&sql_text).map_err(err)?;
    let cursor_time = after.map(|c| loc.time_text(Timestamp(c.t)));
    let mut values: Vec<&dyn rusqlite::ToSql> = vec![&app, &limit];
    if let Some(u) = &user {
        values.push(u);
    }
    if let (Some(c), Some(t)) = (after, &cursor_time) {
        values.extend([t as &dyn rusqlite::ToSql, &c.u, &c.s]);
    }
    let mut rows = stmt
        .query(rusqlite::params_from_iter(values))
        .map_err(err)?;
    let mut out: Vec<(ListCursor, Session)> = Vec::new();
    while let Some(row) = rows.next().map_err(err)? {
        let user_id: String = row.get(0).map_err(err)?;
        let id: String = row.get(1).map_err(err)?;
        let what = |col: &str| format!("{}: {col} of session {id:?}", loc.label);
        let state = state_from_json(
            row.get_ref(2).map_err(err)?.as_str().unwrap_or("{}"),
            &what("sessions.state"),
        )?;
        let update = parse_time(row.get_ref(3).map_err(err)?).ok_or_else(|| {
            Error::storage(format!("{} is not a time", what("sessions.update_time")))
        })?;
        let user_st = match row
            .get_ref(4)
            .map_err(err)?
            .as_str_or_null()
            .map_err(|e| err(e.into()))?
        {
            Some(t) => state_from_json(t, &what("user_states.state"))?,
            None => JsonMap::new(),
        };
        let cursor = ListCursor::new(update, &user_id, &id);
        let session = Session::from_parts(
            app,
            user_id,
            id,
            merge(&app_st, &user_st, &state),
            Vec::new(),
            update,
        );
        out.push((cursor, session));
    }
    let size = page_size.unwrap_or(usize::MAX);
    let next = if out.len() > size {
        out.truncate(size);
        out.last().map(|(c, _)| c.encode())
    } else {
        None
    };
    Ok((out.into_iter().map(|(_, s)| s).collect(), next))
}
