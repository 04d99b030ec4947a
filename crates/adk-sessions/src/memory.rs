//! `InMemorySessionService`: sessions in process memory, for tests, demos and agents that
//! need no persistence. It keeps the whole contract of docs/contract.md: one lock guards
//! the store, so an append's revision check, event and state writes happen at once; events
//! are shared (`Arc`) between the store and the handles, so neither an append nor a `get`
//! copies the history.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use async_trait::async_trait;
use parking_lot::RwLock;

use crate::error::{Error, Result};
use crate::key::SessionKey;
use crate::model::{Event, EventPolicy, JsonMap};
use crate::page::{check_list_request, ListCursor};
use crate::service::{
    Appended, CreateOptions, GetFilter, PageRequest, SessionPage, SessionService,
};
use crate::session::{
    prepare_append, prepare_append_to_current, prepare_create, stale, Prepared, PreparedAppend,
    PreparedCreate, Session,
};
use crate::state::{apply_delta, merge};
use crate::time::Timestamp;
use crate::validate::{check_id, check_key};

/// Sessions in memory. Cheap to create; everything is lost when it is dropped.
#[derive(Debug, Default)]
pub struct InMemorySessionService {
    store: RwLock<HashMap<String, AppData>>,
    policy: EventPolicy,
}

#[derive(Debug, Default)]
struct AppData {
    state: JsonMap,
    users: HashMap<String, UserData>,
    /// Every session of the app in list order, so a page costs the same however many
    /// sessions the app holds.
    order: AppOrder,
}

#[derive(Debug, Default)]
struct UserData {
    state: JsonMap,
    sessions: HashMap<String, Record>,
    /// This user's sessions in list order.
    order: UserOrder,
}

/// The ids of a session, shared by the list orders.
#[derive(Debug)]
struct Ids {
    user: Arc<str>,
    session: Arc<str>,
}

type AppOrder = BTreeSet<(Timestamp, Arc<str>, Arc<str>)>;
type UserOrder = BTreeSet<(Timestamp, Arc<str>)>;

/// Moves session `ids` from update time `old` (None: not listed yet) to `new` (None:
/// deleted) in the app's and the user's list orders.
fn reorder(
    app: &mut AppOrder,
    user: &mut UserOrder,
    ids: &Ids,
    old: Option<Timestamp>,
    new: Option<Timestamp>,
) {
    if let Some(t) = old {
        app.remove(&(t, ids.user.clone(), ids.session.clone()));
        user.remove(&(t, ids.session.clone()));
    }
    if let Some(t) = new {
        app.insert((t, ids.user.clone(), ids.session.clone()));
        user.insert((t, ids.session.clone()));
    }
}

#[derive(Debug)]
struct Record {
    ids: Ids,
    state: JsonMap,
    /// Ordered by (timestamp µs, id).
    events: Vec<(Timestamp, Arc<Event>)>,
    /// Hashes of the stored event ids (a hit is confirmed against `events`), so a
    /// duplicate id is refused as the SQL primary key refuses it.
    event_ids: HashSet<u64>,
    update: Timestamp,
}

fn id_hash(id: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    id.hash(&mut h);
    h.finish()
}

impl InMemorySessionService {
    /// An empty store with the default (strict) event policy.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store with the given event policy.
    pub fn with_policy(policy: EventPolicy) -> Self {
        InMemorySessionService {
            store: RwLock::default(),
            policy,
        }
    }
}

/// Why [`InMemorySessionService::store_append`] stored nothing.
enum StoreFail {
    /// The stored revision is not the expected one.
    Stale(Timestamp),
    /// Not found, or a duplicate event id.
    Other(Error),
}

impl InMemorySessionService {
    /// Stores a prepared append under the store's lock (one critical section: the
    /// revision check and every write) and returns the new revision.
    fn store_append(
        &self,
        key: &SessionKey,
        prepared: &PreparedAppend,
    ) -> std::result::Result<Timestamp, StoreFail> {
        let (app_name, user_id, session_id) = (key.app_name(), key.user_id(), key.session_id());
        let mut store = self.store.write();
        let not_found = || StoreFail::Other(Error::not_found(app_name, user_id, session_id));
        let app = store.get_mut(app_name).ok_or_else(not_found)?;
        let user = app.users.get_mut(user_id).ok_or_else(not_found)?;
        let rec = user.sessions.get_mut(session_id).ok_or_else(not_found)?;
        if let Some(expected) = prepared.expected_revision {
            if rec.update != expected {
                return Err(StoreFail::Stale(rec.update));
            }
        }
        let hash = id_hash(&prepared.event.id);
        if rec.event_ids.contains(&hash)
            && rec.events.iter().any(|(_, e)| e.id == prepared.event.id)
        {
            return Err(StoreFail::Other(Error::duplicate_event(
                session_id,
                &prepared.event.id,
            )));
        }
        let revision = prepared.revision_after(rec.update);
        rec.event_ids.insert(hash);
        apply_delta(&mut rec.state, &prepared.delta.session);
        let at = prepared.event_time;
        let event = prepared.event.clone();
        let pos = match rec.events.last() {
            Some((t, last)) if (*t, last.id.as_str()) > (at, event.id.as_str()) => rec
                .events
                .partition_point(|(t, e)| (*t, e.id.as_str()) <= (at, event.id.as_str())),
            _ => rec.events.len(),
        };
        rec.events.insert(pos, (at, event));
        reorder(
            &mut app.order,
            &mut user.order,
            &rec.ids,
            Some(rec.update),
            Some(revision),
        );
        rec.update = revision;
        apply_delta(&mut user.state, &prepared.delta.user);
        apply_delta(&mut app.state, &prepared.delta.app);
        Ok(revision)
    }
}

fn select_events(events: &[(Timestamp, Arc<Event>)], filter: GetFilter) -> Result<Vec<Arc<Event>>> {
    let start = match filter.after {
        Some(after) => events.partition_point(|(t, _)| *t < after),
        None => 0,
    };
    let mut slice = &events[start..];
    if let Some(n) = filter.num_recent_events {
        slice = &slice[slice.len().saturating_sub(n)..];
    }
    Ok(slice.iter().map(|(_, e)| e.clone()).collect())
}

#[async_trait]
impl SessionService for InMemorySessionService {
    async fn create(
        &self,
        app_name: &str,
        user_id: &str,
        options: CreateOptions,
    ) -> Result<Session> {
        let PreparedCreate {
            session_id,
            delta,
            events,
            revision,
            ..
        } = prepare_create(app_name, user_id, &options, self.policy)?;
        let handle_events = events.iter().map(|(_, e)| e.clone()).collect();
        let event_ids = events.iter().map(|(_, e)| id_hash(&e.id)).collect();
        let mut store = self.store.write();
        let app = store.entry(app_name.to_owned()).or_default();
        let user = app.users.entry(user_id.to_owned()).or_default();
        if user.sessions.contains_key(&session_id) {
            return Err(Error::already_exists(app_name, user_id, &session_id));
        }
        apply_delta(&mut user.state, &delta.user);
        let ids = Ids {
            user: Arc::from(user_id),
            session: Arc::from(session_id.as_str()),
        };
        user.sessions.insert(
            session_id.clone(),
            Record {
                ids: Ids {
                    user: ids.user.clone(),
                    session: ids.session.clone(),
                },
                state: delta.session.clone(),
                events,
                event_ids,
                update: revision,
            },
        );
        reorder(&mut app.order, &mut user.order, &ids, None, Some(revision));
        let user_state = user.state.clone();
        apply_delta(&mut app.state, &delta.app);
        let merged = merge(&app.state, &user_state, &delta.session);
        Ok(Session::from_parts(
            app_name,
            user_id,
            session_id,
            merged,
            handle_events,
            revision,
        ))
    }

    async fn get(&self, key: &SessionKey, filter: GetFilter) -> Result<Session> {
        let (app_name, user_id, session_id) = (key.app_name(), key.user_id(), key.session_id());
        check_key(app_name, user_id, session_id)?;
        let store = self.store.read();
        let found = store.get(app_name).and_then(|app| {
            let user = app.users.get(user_id)?;
            Some((app, user, user.sessions.get(session_id)?))
        });
        let Some((app, user, rec)) = found else {
            return Err(Error::not_found(app_name, user_id, session_id));
        };
        let events = select_events(&rec.events, filter)?;
        Ok(Session::from_parts(
            app_name,
            user_id,
            session_id,
            merge(&app.state, &user.state, &rec.state),
            events,
            rec.update,
        ))
    }

    async fn list_apps(&self) -> Result<Vec<String>> {
        let store = self.store.read();
        let mut apps: Vec<String> = store
            .iter()
            .filter(|(_, app)| !app.order.is_empty())
            .map(|(name, _)| name.clone())
            .collect();
        apps.sort();
        Ok(apps)
    }

    async fn list(
        &self,
        app_name: &str,
        user_id: Option<&str>,
        page: &PageRequest,
    ) -> Result<SessionPage> {
        let after = check_list_request(app_name, user_id, page)?;
        let store = self.store.read();
        let Some(app) = store.get(app_name) else {
            return Ok(SessionPage::default());
        };
        let size = page.page_size.unwrap_or(usize::MAX);
        let from = after
            .as_ref()
            .map_or(Timestamp(i64::MIN), |a| Timestamp(a.t));
        let empty: Arc<str> = Arc::from("");
        let is_after = |t: Timestamp, u: &str, sid: &str| {
            after
                .as_ref()
                .is_none_or(|a| (t.0, u, sid) > (a.t, a.u.as_str(), a.s.as_str()))
        };
        // Both orders start at the cursor's time; the few sessions of that same µs up to
        // the cursor are skipped by the full comparison.
        let keys: Vec<(Timestamp, Arc<str>, Arc<str>)> = match user_id {
            Some(uid) => match app.users.get(uid) {
                None => Vec::new(),
                Some(user) => {
                    let uid: Arc<str> = Arc::from(uid);
                    user.order
                        .range((from, empty)..)
                        .filter(|(t, sid)| is_after(*t, &uid, sid))
                        .take(size.saturating_add(1))
                        .map(|(t, sid)| (*t, uid.clone(), sid.clone()))
                        .collect()
                }
            },
            None => app
                .order
                .range((from, empty.clone(), empty)..)
                .filter(|(t, u, sid)| is_after(*t, u, sid))
                .take(size.saturating_add(1))
                .cloned()
                .collect(),
        };
        let next_page_token = (keys.len() > size).then(|| {
            ListCursor::new(keys[size - 1].0, &keys[size - 1].1, &keys[size - 1].2).encode()
        });
        let sessions = keys
            .iter()
            .take(size)
            .filter_map(|(t, u, sid)| {
                let user = app.users.get(&**u)?;
                let rec = user.sessions.get(&**sid)?;
                Some(Session::from_parts(
                    app_name,
                    &**u,
                    &**sid,
                    merge(&app.state, &user.state, &rec.state),
                    Vec::new(),
                    *t,
                ))
            })
            .collect();
        Ok(SessionPage {
            sessions,
            next_page_token,
        })
    }

    async fn delete(&self, key: &SessionKey) -> Result<()> {
        let (app_name, user_id, session_id) = (key.app_name(), key.user_id(), key.session_id());
        check_key(app_name, user_id, session_id)?;
        let mut store = self.store.write();
        let Some(app) = store.get_mut(app_name) else {
            return Ok(());
        };
        let Some(user) = app.users.get_mut(user_id) else {
            return Ok(());
        };
        if let Some(rec) = user.sessions.remove(session_id) {
            reorder(
                &mut app.order,
                &mut user.order,
                &rec.ids,
                Some(rec.update),
                None,
            );
        }
        Ok(())
    }

    async fn append_event(&self, session: &Session, event: Event) -> Result<Arc<Event>> {
        let prepared = match prepare_append(session, event, self.policy)? {
            Prepared::Partial(event) => return Ok(event),
            Prepared::Append(p) => p,
        };
        self.store_append(session.key(), &prepared)
            .map_err(|e| match e {
                StoreFail::Stale(stored) => stale(session, stored),
                StoreFail::Other(e) => e,
            })?;
        session.apply_append(&prepared);
        Ok(prepared.event)
    }

    async fn append_to_current(&self, key: &SessionKey, event: Event) -> Result<Appended> {
        let prepared = match prepare_append_to_current(key, event, self.policy)? {
            Prepared::Partial(event) => {
                let revision = self.get(key, GetFilter::recent(0)).await?.revision();
                return Ok(Appended::new(event, revision));
            }
            Prepared::Append(p) => p,
        };
        match self.store_append(key, &prepared) {
            Ok(revision) => Ok(Appended::new(prepared.event, revision)),
            Err(StoreFail::Other(e)) => Err(e),
            Err(StoreFail::Stale(_)) => {
                unreachable!("an append without a precondition is never stale")
            }
        }
    }

    async fn get_user_state(&self, app_name: &str, user_id: &str) -> Result<JsonMap> {
        check_id("app_name", app_name)?;
        check_id("user_id", user_id)?;
        let store = self.store.read();
        Ok(store
            .get(app_name)
            .and_then(|a| a.users.get(user_id))
            .map(|u| u.state.clone())
            .unwrap_or_default())
    }

    async fn get_app_state(&self, app_name: &str) -> Result<JsonMap> {
        check_id("app_name", app_name)?;
        Ok(self
            .store
            .read()
            .get(app_name)
            .map(|a| a.state.clone())
            .unwrap_or_default())
    }

    fn backend_name(&self) -> &'static str {
        "memory"
    }
}
