//! Random sequences of operations — create, append with a current or an outdated handle,
//! append without a precondition, delete, get — run against a backend and against a
//! plain model of the contract, and every outcome compared: errors (`AlreadyExists`,
//! `NotFound`, `Stale`), merged state with its `app:`/`user:` scopes, `temp:` keys never
//! stored, events in order. proptest shrinks a failure to a minimal sequence. Runs on
//! memory, on a SQLite file, and on SQLite in adk-go's layout.

#[path = "support/sqlite_files.rs"]
mod sqlite_files;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use adk_sessions::{
    CreateOptions, Error, Event, GetFilter, InMemorySessionService, OpenOptions, Session,
    SessionKey, SessionService, SqliteSessionService, StorageLayout,
};
use proptest::prelude::*;
use serde_json::{json, Value};

const USERS: [&str; 2] = ["u0", "u1"];
const IDS: [&str; 3] = ["s0", "s1", "s2"];
const KEYS: [&str; 6] = ["k", "app:a", "user:u", "temp:t", "k2", "app:b"];

#[derive(Debug, Clone)]
enum Op {
    Create {
        user: usize,
        id: usize,
        key: usize,
        value: i64,
    },
    /// Append through the newest handle (`stale`: through the one before it).
    Append {
        user: usize,
        id: usize,
        key: usize,
        value: i64,
        stale: bool,
    },
    /// Append without a precondition.
    AppendCurrent {
        user: usize,
        id: usize,
        key: usize,
        value: i64,
    },
    Delete {
        user: usize,
        id: usize,
    },
    Get {
        user: usize,
        id: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let u = 0..USERS.len();
    let i = 0..IDS.len();
    let k = 0..KEYS.len();
    let v = -3i64..4;
    prop_oneof![
        (u.clone(), i.clone(), k.clone(), v.clone()).prop_map(|(user, id, key, value)| {
            Op::Create {
                user,
                id,
                key,
                value,
            }
        }),
        (u.clone(), i.clone(), k.clone(), v.clone(), any::<bool>()).prop_map(
            |(user, id, key, value, stale)| Op::Append {
                user,
                id,
                key,
                value,
                stale
            }
        ),
        (u.clone(), i.clone(), k.clone(), v.clone()).prop_map(|(user, id, key, value)| {
            Op::AppendCurrent {
                user,
                id,
                key,
                value,
            }
        }),
        (u.clone(), i.clone()).prop_map(|(user, id)| Op::Delete { user, id }),
        (u, i).prop_map(|(user, id)| Op::Get { user, id }),
    ]
}

/// A state map, ordered for comparison.
type State = BTreeMap<String, Value>;

/// A session of the model: its own state, its event ids in order, its revision count.
type ModelSession = (State, Vec<String>, u64);

/// The contract, as plainly as it can be written.
#[derive(Default)]
struct Model {
    app: State,
    users: HashMap<String, State>,
    sessions: HashMap<(String, String), ModelSession>,
}

impl Model {
    fn apply(
        &mut self,
        user: &str,
        delta: &[(&str, Value)],
        session: &mut BTreeMap<String, Value>,
    ) {
        for (key, value) in delta {
            if let Some(k) = key.strip_prefix("app:") {
                self.app.insert(k.to_owned(), value.clone());
            } else if let Some(k) = key.strip_prefix("user:") {
                self.users
                    .entry(user.to_owned())
                    .or_default()
                    .insert(k.to_owned(), value.clone());
            } else if !key.starts_with("temp:") {
                session.insert((*key).to_owned(), value.clone());
            }
        }
    }

    fn merged(&self, user: &str, id: &str) -> Option<BTreeMap<String, Value>> {
        let (state, _, _) = self.sessions.get(&(user.to_owned(), id.to_owned()))?;
        let mut out = state.clone();
        for (k, v) in &self.app {
            out.insert(format!("app:{k}"), v.clone());
        }
        for (k, v) in self.users.get(user).into_iter().flatten() {
            out.insert(format!("user:{k}"), v.clone());
        }
        Some(out)
    }
}

fn event(n: usize, key: &str, value: i64) -> Event {
    let mut e = Event::new(format!("inv{n}"), "agent");
    e.id = format!("e{n}");
    e.timestamp = 1_796_000_000.0 + n as f64 * 0.001;
    e.with_state(key, json!(value))
}

async fn run(
    service: Arc<dyn SessionService>,
    app: &str,
    ops: Vec<Op>,
) -> Result<(), TestCaseError> {
    let mut model = Model::default();
    // Handles of each session with the model revision they were taken at, oldest first.
    let mut handles: HashMap<(String, String), Vec<(Session, u64)>> = HashMap::new();
    let fail = |n: usize, e: Error| TestCaseError::fail(format!("op {n}: {e}"));
    for (n, op) in ops.into_iter().enumerate() {
        match op {
            Op::Create {
                user,
                id,
                key,
                value,
            } => {
                let (u, s) = (USERS[user], IDS[id]);
                let got = service
                    .create(
                        app,
                        u,
                        CreateOptions::new()
                            .session_id(s)
                            .state(json!({KEYS[key]: value})),
                    )
                    .await;
                let k = (u.to_owned(), s.to_owned());
                if model.sessions.contains_key(&k) {
                    prop_assert!(
                        matches!(got, Err(Error::AlreadyExists { .. })),
                        "op {n}: {got:?}"
                    );
                } else {
                    let session = got.map_err(|e| fail(n, e))?;
                    let mut state = BTreeMap::new();
                    model.apply(u, &[(KEYS[key], json!(value))], &mut state);
                    model.sessions.insert(k.clone(), (state, Vec::new(), 0));
                    handles.insert(k, vec![(session, 0)]);
                }
            }
            Op::Append {
                user,
                id,
                key,
                value,
                stale,
            } => {
                let (u, s) = (USERS[user], IDS[id]);
                let k = (u.to_owned(), s.to_owned());
                let Some(list) = handles.get(&k) else {
                    continue;
                };
                let (handle, taken_at) = if stale {
                    list[0].clone()
                } else {
                    list[list.len() - 1].clone()
                };
                let got = service
                    .append_event(&handle, event(n, KEYS[key], value))
                    .await;
                match model.sessions.get(&k).map(|(_, _, r)| *r) {
                    None => prop_assert!(
                        matches!(got, Err(Error::NotFound { .. })),
                        "op {n}: {got:?}"
                    ),
                    Some(current) if current != taken_at => {
                        prop_assert!(matches!(got, Err(Error::Stale { .. })), "op {n}: {got:?}")
                    }
                    Some(current) => {
                        got.map_err(|e| fail(n, e))?;
                        let entry = model.sessions.get_mut(&k).expect("present");
                        let mut st = entry.0.clone();
                        entry.1.push(format!("e{n}"));
                        entry.2 = current + 1;
                        model.apply(u, &[(KEYS[key], json!(value))], &mut st);
                        model.sessions.get_mut(&k).expect("present").0 = st;
                        handles.entry(k).or_default().push((handle, current + 1));
                    }
                }
            }
            Op::AppendCurrent {
                user,
                id,
                key,
                value,
            } => {
                let (u, s) = (USERS[user], IDS[id]);
                let k = (u.to_owned(), s.to_owned());
                let got = service
                    .append_to_current(&SessionKey::new(app, u, s), event(n, KEYS[key], value))
                    .await;
                match model.sessions.get(&k).map(|(_, _, r)| *r) {
                    None => prop_assert!(
                        matches!(got, Err(Error::NotFound { .. })),
                        "op {n}: {got:?}"
                    ),
                    Some(current) => {
                        got.map_err(|e| fail(n, e))?;
                        let entry = model.sessions.get_mut(&k).expect("present");
                        let mut st = entry.0.clone();
                        entry.1.push(format!("e{n}"));
                        entry.2 = current + 1;
                        model.apply(u, &[(KEYS[key], json!(value))], &mut st);
                        model.sessions.get_mut(&k).expect("present").0 = st;
                    }
                }
            }
            Op::Delete { user, id } => {
                let (u, s) = (USERS[user], IDS[id]);
                service
                    .delete(&SessionKey::new(app, u, s))
                    .await
                    .map_err(|e| fail(n, e))?;
                model.sessions.remove(&(u.to_owned(), s.to_owned()));
            }
            Op::Get { user, id } => {
                let (u, s) = (USERS[user], IDS[id]);
                let k = (u.to_owned(), s.to_owned());
                let got = service
                    .get(&SessionKey::new(app, u, s), GetFilter::all())
                    .await;
                match model.merged(u, s) {
                    None => prop_assert!(
                        matches!(got, Err(Error::NotFound { .. })),
                        "op {n}: {got:?}"
                    ),
                    Some(want) => {
                        let session = got.map_err(|e| fail(n, e))?;
                        let state: BTreeMap<String, Value> =
                            session.state().snapshot().into_iter().collect();
                        prop_assert_eq!(&state, &want, "op {}: state", n);
                        let ids: Vec<String> =
                            session.events().iter().map(|e| e.id.clone()).collect();
                        prop_assert_eq!(&ids, &model.sessions[&k].1, "op {}: events", n);
                        let current = model.sessions[&k].2;
                        handles.entry(k).or_default().push((session, current));
                    }
                }
            }
        }
    }
    Ok(())
}

fn check(make: impl Fn() -> Arc<dyn SessionService>) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let counter = std::sync::atomic::AtomicUsize::new(0);
    let config = ProptestConfig {
        cases: 48,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(ops in proptest::collection::vec(op(), 1..40))| {
        let service = make();
        let app = format!("prop{}", counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        runtime.block_on(run(service, &app, ops))?;
    });
}

#[test]
fn memory_follows_the_model() {
    check(|| Arc::new(InMemorySessionService::new()));
}

fn sqlite(layout: StorageLayout) -> impl Fn() -> Arc<dyn SessionService> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let path = sqlite_files::temp_db("prop");
    let options = OpenOptions::default().layout(layout);
    let service: Arc<dyn SessionService> = Arc::new(
        runtime
            .block_on(SqliteSessionService::open_with(Some(&path), &options))
            .expect("open"),
    );
    std::mem::forget(runtime);
    move || service.clone()
}

#[test]
fn sqlite_follows_the_model() {
    check(sqlite(StorageLayout::AdkPython));
}

#[test]
fn sqlite_in_adk_gos_layout_follows_the_model() {
    check(sqlite(StorageLayout::AdkGo));
}
