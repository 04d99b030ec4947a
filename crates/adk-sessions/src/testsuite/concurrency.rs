//! The behaviours of docs/contract.md, section *Concurrency*: concurrency with real tokio
//! tasks on a multi-threaded runtime. (Across processes, the SQL backends' own tests run
//! the same promises.)

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::json;

use super::support::*;
use crate::{GetFilter, SessionService};

/// Tasks of the scoped-writes test.
pub const SCOPED_TASKS: usize = 16;
/// Appends per task in the scoped-writes test.
pub const SCOPED_APPENDS: usize = 10;

/// docs/contract.md, *Scoped writes are never lost*: K tasks appending to distinct
/// sessions of one app and user, each writing distinct `app:` / `user:` keys → every key
/// is present at the end.
pub async fn concurrent_scoped_writes_are_never_lost(service: Arc<dyn SessionService>) {
    let app = Arc::new(fresh_app("conc-scoped"));
    let barrier = Arc::new(tokio::sync::Barrier::new(SCOPED_TASKS));
    let tasks: Vec<_> = (0..SCOPED_TASKS)
        .map(|k| {
            let (service, app, barrier) = (service.clone(), app.clone(), barrier.clone());
            tokio::spawn(async move {
                let s = service
                    .create(&app, "u", CreateOptions::new().session_id(format!("s{k}")))
                    .await
                    .expect("create");
                barrier.wait().await;
                for i in 0..SCOPED_APPENDS {
                    let delta = json!({
                        format!("app:k{k}_{i}"): i,
                        format!("user:k{k}_{i}"): i,
                        "mine": i,
                    });
                    service
                        .append_event(&s, event_with("i", delta))
                        .await
                        .expect("append");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("task");
    }
    let app_state = service.get_app_state(&app).await.unwrap();
    let user_state = service.get_user_state(&app, "u").await.unwrap();
    for k in 0..SCOPED_TASKS {
        for i in 0..SCOPED_APPENDS {
            let key = format!("k{k}_{i}");
            assert_eq!(app_state.get(&key), Some(&json!(i)), "app key {key} lost");
            assert_eq!(user_state.get(&key), Some(&json!(i)), "user key {key} lost");
        }
        let s = service
            .get(
                &SessionKey::new(app.as_str(), "u", format!("s{k}")),
                GetFilter::all(),
            )
            .await
            .unwrap();
        assert_eq!(s.events().len(), SCOPED_APPENDS);
        assert_eq!(s.state().get("mine").unwrap(), json!(SCOPED_APPENDS - 1));
    }
}

/// docs/contract.md, *One winner per stale race*: K tasks racing on one session through
/// handles loaded at the same revision → exactly one success per round, the rest `Stale`;
/// every round's winner is stored.
pub async fn concurrent_stale_race_has_one_winner_per_round(service: Arc<dyn SessionService>) {
    const TASKS: usize = 8;
    const ROUNDS: usize = 8;
    let app = fresh_app("conc-stale");
    service
        .create(&app, "u", CreateOptions::new().session_id("s"))
        .await
        .unwrap();
    let mut winners = HashSet::new();
    for round in 0..ROUNDS {
        let mut handles = Vec::new();
        for _ in 0..TASKS {
            handles.push(
                service
                    .get(&SessionKey::new(&app, "u", "s"), GetFilter::recent(0))
                    .await
                    .unwrap(),
            );
        }
        let barrier = Arc::new(tokio::sync::Barrier::new(TASKS));
        let tasks: Vec<_> = handles
            .into_iter()
            .enumerate()
            .map(|(k, h)| {
                let (service, barrier) = (service.clone(), barrier.clone());
                tokio::spawn(async move {
                    let event = event_with(&format!("r{round}-t{k}"), json!({"last": k}));
                    barrier.wait().await;
                    service
                        .append_event(&h, event)
                        .await
                        .map(|e| e.invocation_id.clone())
                })
            })
            .collect();
        let mut won = Vec::new();
        for t in tasks {
            match t.await.expect("task") {
                Ok(inv) => won.push(inv),
                Err(e) => assert!(is_stale(&e), "round {round}: loser got {e:?}, not Stale"),
            }
        }
        assert_eq!(won.len(), 1, "round {round}: winners {won:?}");
        winners.insert(won.remove(0));
    }
    let s = service
        .get(&SessionKey::new(&app, "u", "s"), GetFilter::all())
        .await
        .unwrap();
    let stored: HashSet<String> = s.events().iter().map(|e| e.invocation_id.clone()).collect();
    assert_eq!(stored, winners, "stored events are not exactly the winners");
}

/// Tasks of the append-to-current test.
pub const CURRENT_TASKS: usize = 8;
/// Appends per task in the append-to-current test.
pub const CURRENT_APPENDS: usize = 12;

/// docs/contract.md, *Appends without a precondition never fail for contention*: K tasks
/// appending to ONE session with `append_to_current` (no handle, no precondition), each
/// event carrying its own session, `app:` and `user:` keys → every call succeeds, every
/// event and key is stored, and every append moved the revision forward (all the
/// returned revisions differ). A handle loaded before is then stale, and a partial event
/// or a missing session behave as with `append_event`.
pub async fn appends_without_precondition_never_fail_for_contention(
    service: Arc<dyn SessionService>,
) {
    let app = fresh_app("conc-current");
    let key = SessionKey::new(app.as_str(), "u", "s");
    let before = service
        .create(&app, "u", CreateOptions::new().session_id("s"))
        .await
        .unwrap();
    let barrier = Arc::new(tokio::sync::Barrier::new(CURRENT_TASKS));
    let tasks: Vec<_> = (0..CURRENT_TASKS)
        .map(|k| {
            let (service, key, barrier) = (service.clone(), key.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let mut revisions = Vec::new();
                for i in 0..CURRENT_APPENDS {
                    let event = event_with(
                        &format!("t{k}-{i}"),
                        json!({
                            format!("s{k}_{i}"): i,
                            format!("app:a{k}_{i}"): i,
                            format!("user:u{k}_{i}"): i,
                        }),
                    );
                    let appended = service
                        .append_to_current(&key, event)
                        .await
                        .unwrap_or_else(|e| panic!("task {k} append {i}: {e}"));
                    revisions.push(appended.revision);
                }
                revisions
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("task"));
    }
    let distinct: HashSet<_> = all.iter().collect();
    assert_eq!(distinct.len(), all.len(), "two appends stored one revision");
    let after = service.get(&key, GetFilter::all()).await.unwrap();
    assert_eq!(after.events().len(), CURRENT_TASKS * CURRENT_APPENDS);
    assert_eq!(
        Some(&after.revision()),
        all.iter().max(),
        "the last revision is the stored one"
    );
    let state = after.state().snapshot();
    for k in 0..CURRENT_TASKS {
        for i in 0..CURRENT_APPENDS {
            for name in [
                format!("s{k}_{i}"),
                format!("app:a{k}_{i}"),
                format!("user:u{k}_{i}"),
            ] {
                assert_eq!(state.get(&name), Some(&json!(i)), "{name} lost");
            }
        }
    }
    // The handle loaded before every append is stale now.
    assert_err(
        service
            .append_event(&before, event_with("late", json!({})))
            .await,
        is_stale,
        "a handle from before",
    );
    // A partial event stores nothing; a missing session is NotFound.
    let mut partial = event_with("partial", json!({"p": 1}));
    partial.partial = Some(true);
    service.append_to_current(&key, partial).await.unwrap();
    let again = service.get(&key, GetFilter::all()).await.unwrap();
    assert_eq!(again.events().len(), CURRENT_TASKS * CURRENT_APPENDS);
    assert_eq!(again.state().get("p"), None);
    assert_err(
        service
            .append_to_current(
                &SessionKey::new(app.as_str(), "u", "missing"),
                event_with("x", json!({})),
            )
            .await,
        is_not_found,
        "append_to_current on a missing session",
    );
}
