//! `SqliteSessionService`: sessions in a SQLite file (or `sqlite::memory:`) on adk-python's
//! `DatabaseSessionService` schema version 1, so a Python ADK agent and this library can
//! use the same file at the same time.
//!
//! What it promises, beyond the [`SessionService`] contract:
//! - **Shared schema.** A fresh file gets adk-python's exact DDL, the
//!   `schema_version = 1` row and two extra `sessions` indexes for `list`
//!   (`idx_sessions_app_update_user_id`, `idx_sessions_app_user_update_id`); a v1 file made by adk-python is used as is (no DDL); adk-python's
//!   v0 layout and any other version are refused, naming what was found.
//! - **Durability.** `journal_mode=WAL`, `synchronous=FULL` by default (an acknowledged
//!   append survives power loss; [`crate::SqliteSync::Normal`] trades that for speed),
//!   `foreign_keys=ON` (deleting a session cascades to its events), and a busy timeout so
//!   it works while another process holds the file.
//! - **Concurrency.** One writer thread with group commit (module `writer`) serializes every
//!   write of this process; `BEGIN IMMEDIATE` serializes it against other processes. The
//!   stale check is a compare-and-set on `sessions.update_time` (µs), which is also the
//!   revision marker adk-python checks, so stale handles are refused in both directions.
//! - **Nothing blocks a tokio worker.** SQLite runs only on the writer thread and the
//!   blocking pool (module `read`); callers talk to them through channels.
//!
//! ```no_run
//! # async fn demo() -> adk_sessions::Result<()> {
//! use adk_sessions::{CreateOptions, Event, GetFilter, OpenOptions, SessionService, SqliteSync};
//! use adk_sessions::SqliteSessionService;
//!
//! let service = SqliteSessionService::open("sessions.db").await?;
//! // Or tuned: SqliteSessionService::open_with(Some("sessions.db".as_ref()),
//! //     &OpenOptions::default().sqlite_sync(SqliteSync::Normal)).await?
//! let session = service.create("app", "alice", CreateOptions::new()).await?;
//! service.append_event(&session, Event::new("inv-1", "user")).await?;
//! let loaded = service.get(session.key(), GetFilter::all()).await?;
//! assert_eq!(loaded.events().len(), 1);
//! # Ok(()) }
//! ```

mod handoff;
mod read;
mod reader_threads;
pub(crate) mod schema;
pub(crate) mod sql;
mod writer;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;

use self::read::{EventSelect, Readers};
use self::schema::Location;
use self::writer::{
    AppendOp, CreateOp, EventBody, EventRow, Outcome, SessionKey, WriteJob, Writer,
};
use crate::error::{Error, Result};
use crate::model::{Event, EventPolicy, JsonMap};
use crate::page::check_list_request;

use crate::service::{
    Appended, CreateOptions, GetFilter, PageRequest, SessionPage, SessionService,
};
use crate::session::{
    prepare_append, prepare_append_to_current, prepare_create, Prepared, PreparedAppend,
    PreparedCreate, Session,
};
use crate::sql::adk_go::GoEventRow;
use crate::sql::common::state_to_json;
use crate::sql::event_cache::{EventCache, RowKey};
use crate::sql::{OpenOptions, StorageLayout};
use crate::state::merge;
use crate::time::Timestamp;
use crate::validate::{check_id, check_key};

/// Sessions in SQLite. Cheap to share (`Arc`); dropping the last reference stops the
/// writer thread once its queue is empty.
pub struct SqliteSessionService {
    loc: Location,
    writer: Writer,
    readers: Readers,
    policy: EventPolicy,
    cache: Arc<EventCache>,
}

impl std::fmt::Debug for SqliteSessionService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteSessionService")
            .field("db", &self.loc.label)
            .finish_non_exhaustive()
    }
}

impl SqliteSessionService {
    /// Opens (or creates) the database file at `path` with the default options
    /// (`synchronous=FULL`, 8 read connections, strict events).
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(Some(path.as_ref()), &OpenOptions::default()).await
    }

    /// A database in memory, gone when the service is dropped (tests, throwaway runs).
    pub async fn open_in_memory() -> Result<Self> {
        Self::open_with(None, &OpenOptions::default()).await
    }

    /// Opens (or creates) the database at `path`, or an in-memory database when `path` is
    /// `None`, as `options` say. A missing directory, a read-only or non-SQLite file, a database locked
    /// longer than `options.busy_timeout`, or a schema this library does not speak is a
    /// [`Error::Storage`] naming the file and the cause; a file this call created is
    /// removed again when it fails.
    pub async fn open_with(path: Option<&Path>, options: &OpenOptions) -> Result<Self> {
        let mut loc = Location::new(path);
        let writer = Writer::start(loc.clone(), options.clone()).await?;
        loc.layout = writer.layout();
        let readers = match path {
            Some(_) => Readers::pool(loc.clone(), options.clone()),
            None => Readers::Writer(writer.clone()),
        };
        Ok(SqliteSessionService {
            loc,
            writer,
            readers,
            policy: options.policy,
            cache: Arc::new(EventCache::new(options.event_cache_bytes)),
        })
    }

    /// The file, or `None` in memory.
    pub fn path(&self) -> Option<&Path> {
        self.loc.path.as_deref()
    }

    /// The table layout the database holds (adk-python's or adk-go's).
    pub fn layout(&self) -> StorageLayout {
        self.loc.layout
    }

    /// The `events` row of `event` stored at `time`, in the database's layout.
    fn event_row(&self, event: &Event, time: Timestamp) -> EventRow {
        EventRow {
            id: event.id.clone(),
            invocation_id: event.invocation_id.clone(),
            timestamp: self.loc.time_text(time),
            body: match self.loc.layout {
                StorageLayout::AdkGo => {
                    EventBody::Go(Box::new(GoEventRow::from_event(event, time)))
                }
                _ => EventBody::Python(Arc::from(event.to_storage_json())),
            },
        }
    }
}

fn key(app: &str, user: &str, id: &str) -> SessionKey {
    SessionKey {
        app: app.to_owned(),
        user: user.to_owned(),
        id: id.to_owned(),
    }
}

impl SqliteSessionService {
    /// Stores a prepared append through the writer thread (its delta is taken) and
    /// returns the session's new revision; fills the decoded-event cache.
    async fn write_append(
        &self,
        session_key: &crate::SessionKey,
        prepared: &mut PreparedAppend,
    ) -> Result<Timestamp> {
        // Everything but the SQL is done here, off the writer thread.
        let delta = std::mem::take(&mut prepared.delta);
        let event = &prepared.event;
        let event_time = prepared.event_time;
        let op = AppendOp {
            key: key(
                session_key.app_name(),
                session_key.user_id(),
                session_key.session_id(),
            ),
            expected: prepared.expected_revision,
            update_time: prepared.update_time,
            session_delta: delta.session,
            app_delta: delta.app,
            user_delta: delta.user,
            event: self.event_row(event, event_time),
        };
        let text: Arc<str> = match &op.event.body {
            EventBody::Python(text) => text.clone(),
            EventBody::Go(row) => Arc::from(row.fingerprint()),
        };
        let python = matches!(op.event.body, EventBody::Python(_));
        let revision = match self.writer.write(WriteJob::Append(Box::new(op))).await? {
            Outcome::Appended(revision) => revision,
            _ => {
                return Err(Error::storage(format!(
                    "{}: the writer answered an append without its revision",
                    self.loc.label
                )))
            }
        };
        // What a later read of this row decodes to is the stored event itself.
        let row = RowKey {
            id: &event.id,
            invocation_id: &event.invocation_id,
            time: Some(event_time),
            text: &text,
        };
        debug_assert!(
            !python
                || read::event_from_row(row.id, row.invocation_id, row.time, Some(row.text))
                    .ok()
                    .as_ref()
                    == Some(&**event),
            "a stored event must read back as itself"
        );
        self.cache.insert(&row, text.clone(), event.clone());
        Ok(revision)
    }
}

#[async_trait]
impl SessionService for SqliteSessionService {
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
        let mut rows = Vec::with_capacity(events.len());
        for (at, e) in &events {
            rows.push(self.event_row(e, *at));
        }
        let op = CreateOp {
            key: key(app_name, user_id, &session_id),
            state_json: state_to_json(&delta.session),
            app_delta: delta.app,
            user_delta: delta.user,
            now,
            events: rows,
            revision,
        };
        match self.writer.write(WriteJob::Create(Box::new(op))).await? {
            Outcome::Created {
                app_state,
                user_state,
            } => Ok(Session::from_parts(
                app_name,
                user_id,
                session_id,
                merge(&app_state, &user_state, &delta.session),
                events.into_iter().map(|(_, e)| e).collect(),
                revision,
            )),
            _ => Err(Error::storage(format!(
                "{}: the writer answered a create without its state",
                self.loc.label
            ))),
        }
    }

    async fn get(&self, session_key: &crate::SessionKey, filter: GetFilter) -> Result<Session> {
        let (app_name, user_id, session_id) = (
            session_key.app_name(),
            session_key.user_id(),
            session_key.session_id(),
        );
        check_key(app_name, user_id, session_id)?;
        let select = EventSelect {
            limit: filter.num_recent_events,
            after: filter.after,
        };
        let k = key(app_name, user_id, session_id);
        let cache = self.cache.clone();
        let loaded = self
            .readers
            .run(&self.loc, move |conn, loc| {
                read::load_session(conn, loc, &k, select, &cache)
            })
            .await?;
        loaded
            .map(|l| l.into_session())
            .ok_or_else(|| Error::not_found(app_name, user_id, session_id))
    }

    async fn list_apps(&self) -> Result<Vec<String>> {
        self.readers.run(&self.loc, read::list_apps).await
    }

    async fn list(
        &self,
        app_name: &str,
        user_id: Option<&str>,
        page: &PageRequest,
    ) -> Result<SessionPage> {
        let after = check_list_request(app_name, user_id, page)?;
        let app = app_name.to_owned();
        let user = user_id.map(str::to_owned);
        let size = page.page_size;
        let (sessions, next_page_token) = self
            .readers
            .run(&self.loc, move |conn, loc| {
                read::list(conn, loc, &app, user.as_deref(), size, after.as_ref())
            })
            .await?;
        Ok(SessionPage {
            sessions,
            next_page_token,
        })
    }

    async fn delete(&self, session_key: &crate::SessionKey) -> Result<()> {
        let (app_name, user_id, session_id) = (
            session_key.app_name(),
            session_key.user_id(),
            session_key.session_id(),
        );
        check_key(app_name, user_id, session_id)?;
        let job = WriteJob::Delete(key(app_name, user_id, session_id));
        self.writer.write(job).await.map(|_| ())
    }

    async fn append_event(&self, session: &Session, event: Event) -> Result<Arc<Event>> {
        let mut prepared = match prepare_append(session, event, self.policy)? {
            Prepared::Partial(event) => return Ok(event),
            Prepared::Append(p) => p,
        };
        self.write_append(session.key(), &mut prepared).await?;
        session.apply_append(&prepared);
        Ok(prepared.event.clone())
    }

    async fn append_to_current(
        &self,
        session_key: &crate::SessionKey,
        event: Event,
    ) -> Result<Appended> {
        let mut prepared = match prepare_append_to_current(session_key, event, self.policy)? {
            Prepared::Partial(event) => {
                let revision = self
                    .get(session_key, GetFilter::recent(0))
                    .await?
                    .revision();
                return Ok(Appended::new(event, revision));
            }
            Prepared::Append(p) => p,
        };
        let revision = self.write_append(session_key, &mut prepared).await?;
        Ok(Appended::new(prepared.event.clone(), revision))
    }

    async fn close(&self) -> Result<()> {
        if self.loc.path.is_some() {
            self.writer.checkpoint().await?;
        }
        Ok(())
    }

    async fn get_user_state(&self, app_name: &str, user_id: &str) -> Result<JsonMap> {
        check_id("app_name", app_name)?;
        check_id("user_id", user_id)?;
        let (app, user) = (app_name.to_owned(), user_id.to_owned());
        self.readers
            .run(&self.loc, move |conn, loc| {
                read::user_state(conn, loc, &app, &user)
            })
            .await
    }

    async fn get_app_state(&self, app_name: &str) -> Result<JsonMap> {
        check_id("app_name", app_name)?;
        let app = app_name.to_owned();
        self.readers
            .run(&self.loc, move |conn, loc| read::app_state(conn, loc, &app))
            .await
    }

    async fn ping(&self) -> Result<()> {
        self.readers
            .run(&self.loc, |conn, loc| {
                conn.query_row("SELECT 1", [], |_| Ok(()))
                    .map_err(|e| loc.error("ping", e))
            })
            .await
    }

    fn backend_name(&self) -> &'static str {
        "sqlite"
    }

    fn storage_layout(&self) -> Option<StorageLayout> {
        Some(self.loc.layout)
    }
}
