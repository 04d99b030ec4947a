//! A backend of your own: `MapSessionService`, a complete `SessionService` over a
//! `Mutex<HashMap>`, written only with the library's public API — the helpers that keep
//! every backend alike, all in `adk_sessions::backend` (`prepare_create` /
//! `prepare_append` for ids, validation, scopes and the revision check,
//! `Session::from_parts` / `apply_append` for handles, `merge`, `check_list_request` /
//! `ListCursor` for keyset pages) — and the
//! whole conformance suite (`adk_sessions::testsuite::behaviours()`) run against it from
//! `main`, one line per behaviour. It exits non-zero when a behaviour fails. In a test file of your
//! own, `adk_sessions::conformance_tests!(my_backend, async { … })` runs the same list as
//! `#[tokio::test]`s.
//!
//! Run it with `cargo run -p adk-sessions --features testsuite --example custom_backend`.

use std::collections::HashMap;
use std::future::Future;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, MutexGuard};

use adk_sessions::backend::{
    apply_delta, check_id, check_list_request, merge, prepare_append, prepare_create, stale,
    ListCursor, Prepared, PreparedCreate,
};
use adk_sessions::{
    testsuite, CreateOptions, Error, Event, EventPolicy, GetFilter, JsonMap, PageRequest, Result,
    Session, SessionKey, SessionPage, SessionService, Timestamp,
};
use async_trait::async_trait;

/// App name, user id, session id.
type Key = (String, String, String);

/// Sessions, events and scoped state in one map behind one lock: every call is one
/// critical section, so the revision check and the writes of an append happen at once,
/// and of concurrent creates of one key exactly one wins.
#[derive(Default)]
pub struct MapSessionService {
    store: Mutex<Store>,
    policy: EventPolicy,
}

#[derive(Default)]
struct Store {
    /// App-scoped state (keys without `app:`), by app.
    apps: HashMap<String, JsonMap>,
    /// User-scoped state (keys without `user:`), by (app, user).
    users: HashMap<(String, String), JsonMap>,
    sessions: HashMap<Key, Record>,
}

struct Record {
    /// Session-scoped keys only; a handle shows them merged with the app and user state.
    state: JsonMap,
    /// Ordered by (timestamp in µs, id), as the contract returns them.
    events: Vec<(Timestamp, Arc<Event>)>,
    /// The revision: the stored update time.
    update: Timestamp,
}

impl MapSessionService {
    /// An empty store with the default (strict) event policy.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store with the given event policy.
    pub fn with_policy(policy: EventPolicy) -> Self {
        MapSessionService {
            store: Mutex::default(),
            policy,
        }
    }

    fn lock(&self) -> Result<MutexGuard<'_, Store>> {
        self.store
            .lock()
            .map_err(|_| Error::storage("the store's lock is poisoned"))
    }
}

impl Store {
    /// The merged state a handle shows: session keys, `app:` and `user:` keys.
    fn merged(&self, app: &str, user: &str, session: &JsonMap) -> JsonMap {
        let empty = JsonMap::new();
        let app_state = self.apps.get(app).unwrap_or(&empty);
        let user_state = self
            .users
            .get(&(app.to_owned(), user.to_owned()))
            .unwrap_or(&empty);
        merge(app_state, user_state, session)
    }
}

fn key(app: &str, user: &str, session_id: &str) -> Key {
    (app.to_owned(), user.to_owned(), session_id.to_owned())
}

#[async_trait]
impl SessionService for MapSessionService {
    async fn create(
        &self,
        app_name: &str,
        user_id: &str,
        options: CreateOptions,
    ) -> Result<Session> {
        // Checks the ids, generates a missing one, drops `temp:` keys, splits by scope, and
        // checks and orders the initial events.
        let PreparedCreate {
            session_id,
            delta,
            events,
            revision,
            ..
        } = prepare_create(app_name, user_id, &options, self.policy)?;
        let mut guard = self.lock()?;
        let store = &mut *guard;
        let k = key(app_name, user_id, &session_id);
        if store.sessions.contains_key(&k) {
            return Err(Error::already_exists(app_name, user_id, &session_id));
        }
        apply_delta(
            store.apps.entry(app_name.to_owned()).or_default(),
            &delta.app,
        );
        apply_delta(
            store
                .users
                .entry((app_name.to_owned(), user_id.to_owned()))
                .or_default(),
            &delta.user,
        );
        store.sessions.insert(
            k,
            Record {
                state: delta.session.clone(),
                events: events.clone(),
                update: revision,
            },
        );
        let merged = store.merged(app_name, user_id, &delta.session);
        Ok(Session::from_parts(
            app_name,
            user_id,
            session_id,
            merged,
            events.into_iter().map(|(_, e)| e).collect(),
            revision,
        ))
    }

    async fn get(&self, session_key: &SessionKey, filter: GetFilter) -> Result<Session> {
        session_key.check()?;
        let (app_name, user_id, session_id) = (
            session_key.app_name(),
            session_key.user_id(),
            session_key.session_id(),
        );
        let after = filter.after;
        let store = self.lock()?;
        let rec = store
            .sessions
            .get(&key(app_name, user_id, session_id))
            .ok_or_else(|| Error::not_found(app_name, user_id, session_id))?;
        let start = after.map_or(0, |a| rec.events.partition_point(|(t, _)| *t < a));
        let mut events = &rec.events[start..];
        if let Some(n) = filter.num_recent_events {
            events = &events[events.len().saturating_sub(n)..];
        }
        Ok(Session::from_parts(
            app_name,
            user_id,
            session_id,
            store.merged(app_name, user_id, &rec.state),
            events.iter().map(|(_, e)| e.clone()).collect(),
            rec.update,
        ))
    }

    async fn list_apps(&self) -> Result<Vec<String>> {
        let store = self.lock()?;
        let mut apps: Vec<String> = store.sessions.keys().map(|(a, _, _)| a.clone()).collect();
        apps.sort();
        apps.dedup();
        Ok(apps)
    }

    async fn list(
        &self,
        app_name: &str,
        user_id: Option<&str>,
        page: &PageRequest,
    ) -> Result<SessionPage> {
        // Checks ids and page size, decodes the token into the position to go on after.
        let after = check_list_request(app_name, user_id, page)?;
        let size = page.page_size.unwrap_or(usize::MAX);
        let store = self.lock()?;
        // List order: oldest update first, then user, then id; a page starts strictly
        // after the cursor, so sessions added meanwhile never repeat or skip one.
        let mut rows: Vec<(&Key, &Record)> = store
            .sessions
            .iter()
            .filter(|((a, u, _), _)| a == app_name && user_id.is_none_or(|want| want == u))
            .filter(|((_, u, s), r)| {
                after.as_ref().is_none_or(|c| {
                    (r.update.as_micros(), u.as_str(), s.as_str())
                        > (c.t, c.u.as_str(), c.s.as_str())
                })
            })
            .collect();
        rows.sort_by(|(ka, ra), (kb, rb)| {
            (ra.update, &ka.1, &ka.2).cmp(&(rb.update, &kb.1, &kb.2))
        });
        let next_page_token = (rows.len() > size).then(|| {
            let ((_, u, s), r) = rows[size - 1];
            ListCursor::new(r.update, u, s).encode()
        });
        let sessions = rows
            .into_iter()
            .take(size)
            .map(|((a, u, s), r)| {
                Session::from_parts(
                    a.as_str(),
                    u.as_str(),
                    s.as_str(),
                    store.merged(a, u, &r.state),
                    Vec::new(),
                    r.update,
                )
            })
            .collect();
        Ok(SessionPage::new(sessions, next_page_token))
    }

    async fn delete(&self, session_key: &SessionKey) -> Result<()> {
        session_key.check()?;
        self.lock()?.sessions.remove(&key(
            session_key.app_name(),
            session_key.user_id(),
            session_key.session_id(),
        ));
        Ok(())
    }

    async fn append_event(&self, session: &Session, event: Event) -> Result<Arc<Event>> {
        // Validates the event, strips `temp:` keys, splits the delta by scope, and fixes
        // the revision the handle expects and the update time the append stores.
        let prepared = match prepare_append(session, event, self.policy)? {
            Prepared::Partial(event) => return Ok(event),
            Prepared::Append(prepared) => prepared,
        };
        let (app, user, id) = (session.app_name(), session.user_id(), session.id());
        {
            let mut guard = self.lock()?;
            let store = &mut *guard;
            let rec = store
                .sessions
                .get_mut(&key(app, user, id))
                .ok_or_else(|| Error::not_found(app, user, id))?;
            if prepared.expected_revision != Some(rec.update) {
                return Err(stale(session, rec.update));
            }
            let event = &prepared.event;
            if rec.events.iter().any(|(_, e)| e.id == event.id) {
                return Err(Error::duplicate_event(id, &event.id));
            }
            let at = prepared.event_time;
            let pos = rec
                .events
                .partition_point(|(t, e)| (*t, e.id.as_str()) <= (at, event.id.as_str()));
            rec.events.insert(pos, (at, event.clone()));
            apply_delta(&mut rec.state, &prepared.delta.session);
            rec.update = prepared.revision_after(rec.update);
            apply_delta(
                store
                    .users
                    .entry((app.to_owned(), user.to_owned()))
                    .or_default(),
                &prepared.delta.user,
            );
            apply_delta(
                store.apps.entry(app.to_owned()).or_default(),
                &prepared.delta.app,
            );
        }
        // Stored: now the handle gets the delta, the live `temp:` keys, the event and
        // the new revision.
        session.apply_append(&prepared);
        Ok(prepared.event.clone())
    }

    async fn get_user_state(&self, app_name: &str, user_id: &str) -> Result<JsonMap> {
        check_id("app_name", app_name)?;
        check_id("user_id", user_id)?;
        let store = self.lock()?;
        Ok(store
            .users
            .get(&(app_name.to_owned(), user_id.to_owned()))
            .cloned()
            .unwrap_or_default())
    }

    async fn get_app_state(&self, app_name: &str) -> Result<JsonMap> {
        check_id("app_name", app_name)?;
        Ok(self.lock()?.apps.get(app_name).cloned().unwrap_or_default())
    }

    fn backend_name(&self) -> &'static str {
        "hashmap"
    }
}

/// Runs one behaviour in its own task, so a failed assertion (a panic) is reported and
/// the suite goes on.
async fn run(name: &str, behaviour: impl Future<Output = ()> + Send + 'static) -> bool {
    match tokio::spawn(behaviour).await {
        Ok(()) => {
            println!("ok    {name}");
            true
        }
        Err(e) => {
            println!("FAIL  {name}: {e}");
            false
        }
    }
}

// The behaviours of the suite use tokio tasks on a multi-threaded runtime.
#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() -> ExitCode {
    let service: Arc<dyn SessionService> = Arc::new(MapSessionService::new());
    let lenient: Arc<dyn SessionService> = Arc::new(MapSessionService::with_policy(EventPolicy {
        lenient_unknown_fields: true,
    }));
    let mut passed = 0;
    let mut failed = Vec::new();
    // Every behaviour `adk_sessions::conformance_tests!` runs, against one shared service
    // (each behaviour uses an app of its own), then the lenient one on a lenient service.
    println!("conformance suite against {}:", service.backend_name());
    let lenient_run: testsuite::Behaviour = testsuite::Behaviour {
        name: "lenient_unknown_fields_round_trip",
        run: |service| Box::pin(testsuite::lenient_unknown_fields_round_trip(service)),
    };
    let runs = testsuite::behaviours()
        .into_iter()
        .map(|b| (b, service.clone()))
        .chain([(lenient_run, lenient)]);
    for (behaviour, service) in runs {
        if run(behaviour.name, (behaviour.run)(service)).await {
            passed += 1;
        } else {
            failed.push(behaviour.name);
        }
    }

    if failed.is_empty() {
        println!("custom_backend: all {passed} behaviours passed");
        ExitCode::SUCCESS
    } else {
        println!(
            "custom_backend: {passed} passed, {} failed: {failed:?}",
            failed.len()
        );
        ExitCode::FAILURE
    }
}
