//! `InMemorySessionService`: sessions in process memory, for tests, demos and agents that
//! need no persistence. It keeps the whole contract of DESIGN.md §2: one lock guards the
//! store, so an append's revision check, event and state writes happen at once; events
//! are shared (`Arc`) between the store and the handles, so neither an append nor a `get`
//! copies the history.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use async_trait::async_trait;
use parking_lot::RwLock;

use crate::error::{Error, Result};
use crate::model::{Event, EventPolicy, JsonMap};
use crate::page::{check_list_request, ListCursor};
use crate::service::{GetFilter, PageRequest, SessionPage, SessionService};
use crate::session::{prepare_append, prepare_create, stale, Prepared, PreparedCreate, Session};
use crate::state::{apply_delta, merge};
use crate::time::Micros;
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
}

#[derive(Debug, Default)]
struct UserData {
    state: JsonMap,
    sessions: HashMap<String, Record>,
}

#[derive(Debug)]
struct Record {
    state: JsonMap,
    /// Ordered by (timestamp µs, id).
    events: Vec<(Micros, Arc<Event>)>,
    /// Hashes of the stored event ids (a hit is confirmed against `events`), so a
    /// duplicate id is refused as the SQL primary key refuses it.
    event_ids: HashSet<u64>,
    update: Micros,
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

fn select_events(events: &[(Micros, Arc<Event>)], filter: GetFilter) -> Result<Vec<Arc<Event>>> {
    let start = match filter.after_micros()? {
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
        session_id: Option<&str>,
        state: Option<JsonMap>,
    ) -> Result<Session> {
        let PreparedCreate {
            session_id,
            delta,
            now,
        } = prepare_create(app_name, user_id, session_id, state)?;
        let mut store = self.store.write();
        let app = store.entry(app_name.to_owned()).or_default();
        let user = app.users.entry(user_id.to_owned()).or_default();
        if user.sessions.contains_key(&session_id) {
            return Err(Error::already_exists(app_name, user_id, &session_id));
        }
        apply_delta(&mut user.state, &delta.user);
        user.sessions.insert(
            session_id.clone(),
            Record {
                state: delta.session.clone(),
                events: Vec::new(),
                event_ids: HashSet::new(),
                update: now,
            },
        );
        let user_state = user.state.clone();
        apply_delta(&mut app.state, &delta.app);
        let merged = merge(&app.state, &user_state, &delta.session);
        Ok(Session::from_parts(
            app_name,
            user_id,
            session_id,
            merged,
            Vec::new(),
            now,
        ))
    }

    async fn get(
        &self,
        app_name: &str,
        user_id: &str,
        session_id: &str,
        filter: GetFilter,
    ) -> Result<Session> {
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
        let mut keys: Vec<(ListCursor, &UserData, &Record)> = Vec::new();
        for (uid, user) in &app.users {
            if user_id.is_some_and(|u| u != uid) {
                continue;
            }
            for (sid, rec) in &user.sessions {
                let cursor = ListCursor::new(rec.update, uid, sid);
                if after.as_ref().is_none_or(|a| cursor > *a) {
                    keys.push((cursor, user, rec));
                }
            }
        }
        keys.sort_by(|a, b| a.0.cmp(&b.0));
        let size = page.page_size.unwrap_or(usize::MAX);
        let next_page_token = (keys.len() > size).then(|| keys[size - 1].0.encode());
        let sessions = keys
            .into_iter()
            .take(size)
            .map(|(c, user, rec)| {
                Session::from_parts(
                    app_name,
                    c.u,
                    c.s,
                    merge(&app.state, &user.state, &rec.state),
                    Vec::new(),
                    rec.update,
                )
            })
            .collect();
        Ok(SessionPage {
            sessions,
            next_page_token,
        })
    }

    async fn delete(&self, app_name: &str, user_id: &str, session_id: &str) -> Result<()> {
        check_key(app_name, user_id, session_id)?;
        let mut store = self.store.write();
        if let Some(user) = store
            .get_mut(app_name)
            .and_then(|a| a.users.get_mut(user_id))
        {
            user.sessions.remove(session_id);
        }
        Ok(())
    }

    async fn append_event(&self, session: &Session, event: Event) -> Result<Arc<Event>> {
        let prepared = match prepare_append(session, event, self.policy)? {
            Prepared::Partial(event) => return Ok(event),
            Prepared::Append(p) => p,
        };
        {
            let mut store = self.store.write();
            let not_found =
                || Error::not_found(session.app_name(), session.user_id(), session.id());
            let app = store.get_mut(session.app_name()).ok_or_else(not_found)?;
            let user = app.users.get_mut(session.user_id()).ok_or_else(not_found)?;
            let rec = user.sessions.get_mut(session.id()).ok_or_else(not_found)?;
            if rec.update != prepared.expected_revision {
                return Err(stale(session, rec.update));
            }
            let hash = id_hash(&prepared.event.id);
            if rec.event_ids.contains(&hash)
                && rec.events.iter().any(|(_, e)| e.id == prepared.event.id)
            {
                return Err(Error::duplicate_event(session.id(), &prepared.event.id));
            }
            rec.event_ids.insert(hash);
            apply_delta(&mut rec.state, &prepared.delta.session);
            let key = Micros::from_secs_f64(prepared.event.timestamp).unwrap_or_default();
            let event = prepared.event.clone();
            let pos = match rec.events.last() {
                Some((t, last)) if (*t, last.id.as_str()) > (key, event.id.as_str()) => rec
                    .events
                    .partition_point(|(t, e)| (*t, e.id.as_str()) <= (key, event.id.as_str())),
                _ => rec.events.len(),
            };
            rec.events.insert(pos, (key, event));
            rec.update = prepared.update_time;
            apply_delta(&mut user.state, &prepared.delta.user);
            apply_delta(&mut app.state, &prepared.delta.app);
        }
        session.apply_append(&prepared);
        Ok(prepared.event)
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
