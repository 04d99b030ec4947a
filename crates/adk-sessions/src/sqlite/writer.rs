//! The writer thread: the only owner of the write connection, and the only place this
//! backend writes. Callers send it jobs over a bounded tokio channel and await the reply
//! on a oneshot, so no tokio worker ever waits for SQLite.
//!
//! **Group commit.** The thread takes every job that is waiting (up to [`MAX_BATCH`])
//! and commits them in one `BEGIN IMMEDIATE … COMMIT`, so concurrent callers share one
//! fsync. Each job runs inside its own `SAVEPOINT`: a stale, not-found or duplicate job
//! is rolled back to its savepoint and fails alone while its neighbours commit. A batch
//! of one needs no savepoint. Replies are sent only after `COMMIT` returned, so an
//! acknowledged write is durable (with `synchronous=FULL`).
//!
//! **Why read-modify-write is safe here.** An append reads the session's revision and
//! state, and the app/user state rows, and writes them back, all inside the writer's
//! `BEGIN IMMEDIATE` transaction: SQLite's write lock is held from the first read to the
//! commit, so neither another job of this process (there is one writer) nor another
//! process (adk-python included) can interleave. The revision check is therefore a true
//! compare-and-set on `sessions.update_time`.
//!
//! For `sqlite::memory:` there is no second connection to read from, so reads are jobs
//! too ([`Job::Read`]), run on this thread between write batches.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::{params, Connection, ErrorCode};
use tokio::sync::{mpsc, oneshot};

use super::handoff::InFlight;
use super::schema::{open_writer, Location};
use super::sql::{self, parse_time};
use crate::error::{Error, Result};
use crate::model::JsonMap;
use crate::sql::adk_go::GoEventRow;
use crate::sql::common::{state_from_json, state_to_json};
use crate::sql::{OpenOptions, StorageLayout};
use crate::state::apply_delta;
use crate::time::Timestamp;

/// Most jobs committed in one transaction.
pub const MAX_BATCH: usize = 512;
/// Longest wait for more jobs before a batch starts (see [`run`]).
const MAX_GATHER: Duration = Duration::from_millis(2);
/// Jobs that may wait in the queue before senders wait.
const QUEUE: usize = 4096;

/// The key of a session.
#[derive(Debug, Clone)]
pub struct SessionKey {
    /// App name.
    pub app: String,
    /// User id.
    pub user: String,
    /// Session id.
    pub id: String,
}

/// A session to create.
#[derive(Debug)]
pub struct CreateOp {
    /// Its key.
    pub key: SessionKey,
    /// `sessions.state`, encoded.
    pub state_json: String,
    /// `app:` keys of the initial state, unprefixed.
    pub app_delta: JsonMap,
    /// `user:` keys of the initial state, unprefixed.
    pub user_delta: JsonMap,
    /// Create time.
    pub now: Timestamp,
    /// The initial events, stored with the session.
    pub events: Vec<EventRow>,
    /// The first revision (`now`, or the latest initial event's time).
    pub revision: Timestamp,
}

/// One `events` row to insert.
#[derive(Debug)]
pub struct EventRow {
    /// `events.id`.
    pub id: String,
    /// `events.invocation_id`.
    pub invocation_id: String,
    /// `events.timestamp`, as column text.
    pub timestamp: String,
    /// The rest of the row, by layout.
    pub body: EventBody,
}

/// The columns of an `events` row besides id, invocation id and time.
#[derive(Debug)]
pub enum EventBody {
    /// adk-python's `event_data`.
    Python(Arc<str>),
    /// adk-go's columns (its id, invocation id and time are the row's).
    Go(Box<GoEventRow>),
}

/// An append, with everything the caller could compute off this thread.
#[derive(Debug)]
pub struct AppendOp {
    /// The session.
    pub key: SessionKey,
    /// The revision the handle was loaded at; `None`: no precondition.
    pub expected: Option<Timestamp>,
    /// The new revision.
    pub update_time: Timestamp,
    /// Bare keys of the delta.
    pub session_delta: JsonMap,
    /// `app:` keys of the delta, unprefixed.
    pub app_delta: JsonMap,
    /// `user:` keys of the delta, unprefixed.
    pub user_delta: JsonMap,
    /// The event's row.
    pub event: EventRow,
}

/// A write job.
#[derive(Debug)]
pub enum WriteJob {
    /// Create a session.
    Create(Box<CreateOp>),
    /// Append an event.
    Append(Box<AppendOp>),
    /// Delete a session and its events.
    Delete(SessionKey),
}

/// What a write job produced.
#[derive(Debug)]
pub enum Outcome {
    /// A created session's app and user state (for the merged view).
    Created {
        /// The app's state after the create.
        app_state: JsonMap,
        /// The user's state after the create.
        user_state: JsonMap,
    },
    /// An event appended; the session's new revision.
    Appended(Timestamp),
    /// Done.
    Done,
}

/// A read run on the write connection (in-memory databases only).
pub type ReadJob = Box<dyn FnOnce(&Connection) + Send>;

/// What the thread receives.
pub enum Job {
    /// A write and where to send its outcome.
    Write(WriteJob, oneshot::Sender<Result<Outcome>>),
    /// A read (in-memory databases only).
    Read(ReadJob),
}

/// The handle of the writer thread. Dropping every clone stops the thread once the
/// queue is empty.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Job>,
    label: String,
    in_flight: InFlight,
    layout: StorageLayout,
}

impl Writer {
    /// Starts the thread, which opens the database and prepares the schema; returns once
    /// that is done (or failed).
    pub async fn start(mut loc: Location, options: OpenOptions) -> Result<Writer> {
        let latency = options.sqlite_latency;
        let spin = super::handoff::Tuning::from(latency).writer_spin;
        let (tx, rx) = mpsc::channel(QUEUE);
        let (ready_tx, ready_rx) = oneshot::channel();
        let label = loc.label.clone();
        std::thread::Builder::new()
            .name("adk-sqlite-writer".into())
            .spawn(move || match open_writer(&loc, &options) {
                Ok((conn, layout)) => {
                    loc.layout = layout;
                    let _ = ready_tx.send(Ok(layout));
                    run(&conn, &loc, rx, spin);
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            })
            .map_err(|e| Error::storage(format!("{label}: cannot start the writer thread: {e}")))?;
        let layout = ready_rx
            .await
            .map_err(|_| Error::storage(format!("{label}: the writer thread stopped")))??;
        Ok(Writer {
            tx,
            label,
            in_flight: InFlight::new(latency.into()),
            layout,
        })
    }

    /// The table layout the database holds.
    pub fn layout(&self) -> StorageLayout {
        self.layout
    }

    /// Runs a write job and returns its outcome (see [`super::handoff`] for how the
    /// reply is awaited).
    pub async fn write(&self, job: WriteJob) -> Result<Outcome> {
        let (tx, rx) = oneshot::channel();
        let ticket = self.in_flight.enter();
        self.send(Job::Write(job, tx)).await?;
        ticket.wait(rx).await.map_err(|_| self.stopped())?
    }

    /// Merges the WAL into the database file and truncates it (`PRAGMA
    /// wal_checkpoint(TRUNCATE)`), between write batches: afterwards the `.db` file alone
    /// is a complete copy. Busy readers of other processes may keep part of the WAL; that
    /// is reported, not an error.
    pub async fn checkpoint(&self) -> Result<()> {
        let label = self.label.clone();
        self.read(move |conn| {
            // A read first: a write connection that has not used the WAL since the WAL
            // switch (a server that only read) would otherwise wait its whole busy
            // timeout in a TRUNCATE checkpoint after another process wrote to the file.
            conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0))
                .map_err(|e| Error::storage(format!("{label}: reading before the checkpoint: {e}")))?;
            let (busy, log, done): (i64, i64, i64) = conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .map_err(|e| Error::storage(format!("{label}: checkpointing the WAL: {e}")))?;
            if busy != 0 || done < log {
                tracing::warn!(db = %label, log, done, "WAL only partly merged: another connection is reading");
            }
            Ok(())
        })
        .await
    }

    /// Runs `f` on the write connection (in-memory databases only).
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (tx, rx) = oneshot::channel();
        let job: ReadJob = Box::new(move |conn| {
            let _ = tx.send(f(conn));
        });
        self.send(Job::Read(job)).await?;
        rx.await.map_err(|_| self.stopped())?
    }

    async fn send(&self, job: Job) -> Result<()> {
        self.tx.send(job).await.map_err(|_| self.stopped())
    }

    fn stopped(&self) -> Error {
        Error::storage(format!("{}: the writer thread stopped", self.label))
    }
}

/// The thread's loop: take what is waiting, commit it as one batch, reply, repeat.
///
/// Replies wake every writer of the last batch at once, but the first of them to send
/// its next job would otherwise start a batch of one while the rest arrive during its
/// fsync, halving the batch size. So when the last batch had several writers, the
/// thread waits a little (at most a quarter of the last commit's duration, and never
/// more than [`MAX_GATHER`]) for as many jobs as that batch had.
fn run(conn: &Connection, loc: &Location, mut rx: mpsc::Receiver<Job>, spin: Duration) {
    let mut writes = Vec::new();
    let mut reads = Vec::new();
    let mut last_writes = 0usize;
    let mut last_commit = Duration::ZERO;
    while let Some(first) = next_job(&mut rx, spin) {
        let take = |job: Job, writes: &mut Vec<_>, reads: &mut Vec<ReadJob>| match job {
            Job::Write(w, reply) => writes.push((w, reply)),
            Job::Read(r) => reads.push(r),
        };
        take(first, &mut writes, &mut reads);
        let deadline = Instant::now() + (last_commit / 4).min(MAX_GATHER);
        loop {
            while writes.len() + reads.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(job) => take(job, &mut writes, &mut reads),
                    Err(_) => break,
                }
            }
            let gathered = writes.len() >= last_writes || writes.len() + reads.len() >= MAX_BATCH;
            if writes.is_empty() || last_writes < 2 || gathered || Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(Duration::from_micros(30));
        }
        last_writes = writes.len();
        let started = Instant::now();
        commit_batch(conn, loc, &mut writes);
        if last_writes > 0 {
            last_commit = started.elapsed();
        }
        for read in reads.drain(..) {
            read(conn);
        }
    }
}

/// The next job: polled for a few microseconds first (yielding the CPU in between), so
/// a caller that sends its next write right after its reply does not pay for a sleep and
/// a wake-up of this thread; then waits.
fn next_job(rx: &mut mpsc::Receiver<Job>, spin: Duration) -> Option<Job> {
    let until = Instant::now() + spin;
    while Instant::now() < until {
        match rx.try_recv() {
            Ok(job) => return Some(job),
            Err(mpsc::error::TryRecvError::Disconnected) => return None,
            Err(mpsc::error::TryRecvError::Empty) => std::thread::yield_now(),
        }
    }
    rx.blocking_recv()
}

fn exec(conn: &Connection, text: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(text)?.execute([]).map(|_| ())
}

/// Commits `batch` in one transaction, one savepoint per job, and replies to each.
fn commit_batch(
    conn: &Connection,
    loc: &Location,
    batch: &mut Vec<(WriteJob, oneshot::Sender<Result<Outcome>>)>,
) {
    if batch.is_empty() {
        return;
    }
    if let Err(e) = exec(conn, sql::BEGIN_IMMEDIATE) {
        let msg = message(&loc.error("starting a write transaction", e));
        for (_, reply) in batch.drain(..) {
            let _ = reply.send(Err(Error::storage(msg.clone())));
        }
        return;
    }
    let single = batch.len() == 1;
    let mut results: Vec<Result<Outcome>> = Vec::with_capacity(batch.len());
    let mut broken: Option<String> = None;
    for (job, _) in batch.iter() {
        if broken.is_some() {
            break;
        }
        let result = if single {
            run_job(conn, loc, job)
        } else {
            in_savepoint(conn, loc, job, &mut broken)
        };
        if conn.is_autocommit() && broken.is_none() {
            // SQLite rolled the whole transaction back (I/O error, disk full, …).
            broken = Some(match &result {
                Err(e) => message(e),
                Ok(_) => format!("{}: the transaction was rolled back", loc.label),
            });
        }
        results.push(result);
    }
    let failed_alone = single && results.first().is_some_and(|r| r.is_err());
    if broken.is_none() && !failed_alone {
        if let Err(e) = exec(conn, sql::COMMIT) {
            broken = Some(message(&loc.error("committing", e)));
        }
    }
    if (broken.is_some() || failed_alone) && !conn.is_autocommit() {
        let _ = exec(conn, sql::ROLLBACK);
    }
    let mut results = results.into_iter();
    for (_, reply) in batch.drain(..) {
        let result = match (results.next(), &broken) {
            (Some(Err(e)), _) => Err(e),
            (Some(Ok(outcome)), None) => Ok(outcome),
            // Committed nothing: the transaction failed as a whole.
            (_, Some(msg)) => Err(Error::storage(msg.clone())),
            (None, None) => Err(Error::storage(format!(
                "{}: the write was not run",
                loc.label
            ))),
        };
        let _ = reply.send(result);
    }
}

/// The message of an error, without the `storage error: ` prefix of its display.
fn message(e: &Error) -> String {
    match e {
        Error::Storage { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

fn in_savepoint(
    conn: &Connection,
    loc: &Location,
    job: &WriteJob,
    broken: &mut Option<String>,
) -> Result<Outcome> {
    if let Err(e) = exec(conn, sql::SAVEPOINT) {
        let err = loc.error("opening a savepoint", e);
        *broken = Some(message(&err));
        return Err(err);
    }
    let result = run_job(conn, loc, job);
    let closed = if result.is_err() {
        exec(conn, sql::ROLLBACK_TO).and_then(|_| exec(conn, sql::RELEASE))
    } else {
        exec(conn, sql::RELEASE)
    };
    if let Err(e) = closed {
        *broken = Some(message(&loc.error("closing a savepoint", e)));
    }
    result
}

fn run_job(conn: &Connection, loc: &Location, job: &WriteJob) -> Result<Outcome> {
    match job {
        WriteJob::Create(op) => create(conn, loc, op),
        WriteJob::Append(op) => append(conn, loc, op).map(Outcome::Appended),
        WriteJob::Delete(key) => delete(conn, loc, key).map(|_| Outcome::Done),
    }
}

fn is_constraint(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code() == Some(ErrorCode::ConstraintViolation)
}

fn create(conn: &Connection, loc: &Location, op: &CreateOp) -> Result<Outcome> {
    let k = &op.key;
    let now = loc.time_text(op.now);
    let inserted = conn
        .prepare_cached(sql::INSERT_SESSION)
        .and_then(|mut s| s.execute(params![k.app, k.user, k.id, op.state_json, now]));
    match inserted {
        Ok(_) => {}
        Err(e) if is_constraint(&e) => return Err(Error::already_exists(&k.app, &k.user, &k.id)),
        Err(e) => return Err(loc.error("creating a session", e)),
    }
    // adk-python's append requires both state rows to exist: create them here.
    let app_state = merge_app(conn, loc, &k.app, &op.app_delta, &now, true)?;
    let user_state = merge_user(conn, loc, k, &op.user_delta, &now, true)?;
    // The initial events, in the same transaction: all of them or, on any error, none.
    for e in &op.events {
        insert_event(conn, loc, k, e, "storing an initial event")?;
    }
    if op.revision != op.now {
        conn.prepare_cached(sql::SET_SESSION_TIME)
            .and_then(|mut s| s.execute(params![k.app, k.user, k.id, loc.time_text(op.revision)]))
            .map_err(|e| loc.error("creating a session", e))?;
    }
    Ok(Outcome::Created {
        app_state,
        user_state,
    })
}

/// Inserts an event row of the database's layout; a taken id is `DuplicateEvent`.
fn insert_event(
    conn: &Connection,
    loc: &Location,
    k: &SessionKey,
    e: &EventRow,
    doing: &str,
) -> Result<()> {
    let inserted = match &e.body {
        EventBody::Python(json) => conn.prepare_cached(sql::INSERT_EVENT).and_then(|mut s| {
            s.execute(params![
                e.id,
                k.app,
                k.user,
                k.id,
                e.invocation_id,
                e.timestamp,
                json
            ])
        }),
        EventBody::Go(g) => conn.prepare_cached(sql::INSERT_GO_EVENT).and_then(|mut s| {
            s.execute(params![
                e.id,
                k.app,
                k.user,
                k.id,
                e.invocation_id,
                g.author,
                g.actions,
                g.long_running_tool_ids_json,
                g.routes_json,
                g.output_json,
                g.node_info_json,
                g.requested_input_json,
                g.branch,
                g.isolation_scope,
                e.timestamp,
                g.content,
                g.grounding_metadata,
                g.custom_metadata,
                g.usage_metadata,
                g.citation_metadata,
                g.partial,
                g.turn_complete,
                g.error_code,
                g.error_message,
                g.interrupted
            ])
        }),
    };
    match inserted {
        Ok(_) => Ok(()),
        Err(err) if is_constraint(&err) => Err(Error::duplicate_event(&k.id, &e.id)),
        Err(err) => Err(loc.error(doing, err)),
    }
}

fn stale_error(key: &SessionKey, expected: Timestamp, stored: Timestamp) -> Error {
    Error::Stale {
        session_id: key.id.clone(),
        handle_revision: expected,
        stored_revision: stored,
    }
}

/// Parses a stored revision.
fn revision_of(loc: &Location, value: rusqlite::types::ValueRef<'_>) -> Result<Timestamp> {
    parse_time(value).ok_or_else(|| {
        Error::storage(format!(
            "{}: sessions.update_time {value:?} is not a time",
            loc.label
        ))
    })
}

fn append(conn: &Connection, loc: &Location, op: &AppendOp) -> Result<Timestamp> {
    let k = &op.key;
    let err = |e| loc.error("appending an event", e);
    let check = |stored: Timestamp| -> Result<Timestamp> {
        match op.expected {
            Some(expected) if stored != expected => Err(stale_error(k, expected, stored)),
            Some(_) => Ok(op.update_time),
            // No precondition: move the revision forward from whatever is stored.
            None => Ok(op.update_time.max(stored.succ())),
        }
    };
    let revision;
    if op.session_delta.is_empty() {
        // The common case with a precondition: one compare-and-set of the revision.
        let changed = match op.expected {
            Some(expected) => conn
                .prepare_cached(sql::CAS_SESSION_TIME)
                .and_then(|mut s| {
                    s.execute(params![
                        k.app,
                        k.user,
                        k.id,
                        loc.time_text(op.update_time),
                        loc.time_text(expected)
                    ])
                })
                .map_err(err)?,
            None => 0,
        };
        if changed == 1 {
            revision = op.update_time;
        } else {
            // Missing, stale, stored in another spelling of the same instant, or no
            // precondition: read the stored revision and decide.
            let mut stmt = conn.prepare_cached(sql::SELECT_SESSION_TIME).map_err(err)?;
            let mut rows = stmt.query(params![k.app, k.user, k.id]).map_err(err)?;
            let Some(row) = rows.next().map_err(err)? else {
                return Err(Error::not_found(&k.app, &k.user, &k.id));
            };
            revision = check(revision_of(loc, row.get_ref(0).map_err(err)?)?)?;
            drop(rows);
            conn.prepare_cached(sql::SET_SESSION_TIME)
                .and_then(|mut s| s.execute(params![k.app, k.user, k.id, loc.time_text(revision)]))
                .map_err(err)?;
        }
    } else {
        let mut stmt = conn.prepare_cached(sql::SELECT_SESSION).map_err(err)?;
        let mut rows = stmt.query(params![k.app, k.user, k.id]).map_err(err)?;
        let Some(row) = rows.next().map_err(err)? else {
            return Err(Error::not_found(&k.app, &k.user, &k.id));
        };
        revision = check(revision_of(loc, row.get_ref(1).map_err(err)?)?)?;
        let text = row.get_ref(0).map_err(err)?.as_str().unwrap_or("{}");
        let mut state = state_from_json(text, &format!("{}: sessions.state", loc.label))?;
        drop(rows);
        apply_delta(&mut state, &op.session_delta);
        conn.prepare_cached(sql::UPDATE_SESSION)
            .and_then(|mut s| {
                s.execute(params![
                    k.app,
                    k.user,
                    k.id,
                    state_to_json(&state),
                    loc.time_text(revision)
                ])
            })
            .map_err(err)?;
    }
    insert_event(conn, loc, k, &op.event, "appending an event")?;
    let now = loc.time_text(Timestamp::now());
    if !op.app_delta.is_empty() {
        merge_app(conn, loc, &k.app, &op.app_delta, &now, false)?;
    }
    if !op.user_delta.is_empty() {
        merge_user(conn, loc, k, &op.user_delta, &now, false)?;
    }
    Ok(revision)
}

/// Applies `delta` to the app's state row (creating it when missing) and returns the
/// state. Runs inside the writer's transaction (see the module doc).
fn merge_app(
    conn: &Connection,
    loc: &Location,
    app: &str,
    delta: &JsonMap,
    now: &str,
    ensure_row: bool,
) -> Result<JsonMap> {
    let err = |e| loc.error("updating app state", e);
    let stored: Option<String> = optional(
        conn.prepare_cached(sql::SELECT_APP_STATE)
            .and_then(|mut s| s.query_row([app], |r| r.get(0))),
    )
    .map_err(err)?;
    let missing = stored.is_none();
    let mut state = match stored {
        Some(text) => state_from_json(&text, &format!("{}: app_states.state", loc.label))?,
        None => JsonMap::new(),
    };
    if !delta.is_empty() || (missing && ensure_row) {
        apply_delta(&mut state, delta);
        conn.prepare_cached(sql::UPSERT_APP_STATE)
            .and_then(|mut s| s.execute(params![app, state_to_json(&state), now]))
            .map_err(err)?;
    }
    Ok(state)
}

/// Like [`merge_app`] for the user's state row.
fn merge_user(
    conn: &Connection,
    loc: &Location,
    k: &SessionKey,
    delta: &JsonMap,
    now: &str,
    ensure_row: bool,
) -> Result<JsonMap> {
    let err = |e| loc.error("updating user state", e);
    let stored: Option<String> = optional(
        conn.prepare_cached(sql::SELECT_USER_STATE)
            .and_then(|mut s| s.query_row([&k.app, &k.user], |r| r.get(0))),
    )
    .map_err(err)?;
    let missing = stored.is_none();
    let mut state = match stored {
        Some(text) => state_from_json(&text, &format!("{}: user_states.state", loc.label))?,
        None => JsonMap::new(),
    };
    if !delta.is_empty() || (missing && ensure_row) {
        apply_delta(&mut state, delta);
        conn.prepare_cached(sql::UPSERT_USER_STATE)
            .and_then(|mut s| s.execute(params![k.app, k.user, state_to_json(&state), now]))
            .map_err(err)?;
    }
    Ok(state)
}

fn delete(conn: &Connection, loc: &Location, k: &SessionKey) -> Result<()> {
    let err = |e| loc.error("deleting a session", e);
    for text in [sql::DELETE_EVENTS, sql::DELETE_SESSION] {
        conn.prepare_cached(text)
            .and_then(|mut s| s.execute(params![k.app, k.user, k.id]))
            .map_err(err)?;
    }
    Ok(())
}

/// `Ok(None)` for a query that found no row.
pub fn optional<T>(r: rusqlite::Result<T>) -> rusqlite::Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(rusqlite::Error::QueryReturnedNoRows) => Ok(None),
        Err(e) => Err(e),
    }
}
