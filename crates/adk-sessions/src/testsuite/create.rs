//! The behaviours of docs/contract.md, section *Create*.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::json;

use super::support::*;
use crate::{Event, GetFilter, PageRequest, Session, SessionService};

/// docs/contract.md, *Create with an id*: with a caller id, app, user and id echo the
/// request; initial state visible.
pub async fn create_with_id_echoes_the_request(service: Arc<dyn SessionService>) {
    let app = fresh_app("create-id");
    let s = service
        .create(
            &app,
            "alice",
            CreateOptions::new()
                .session_id("s-1")
                .state(json!({"k": "v", "n": 2})),
        )
        .await
        .expect("create");
    assert_eq!(
        (s.app_name(), s.user_id(), s.id()),
        (app.as_str(), "alice", "s-1")
    );
    assert_eq!(s.state().get("k").unwrap(), json!("v"));
    let got = service
        .get(&SessionKey::new(&app, "alice", "s-1"), GetFilter::all())
        .await
        .expect("get");
    assert_eq!(got.state().snapshot(), map(json!({"k": "v", "n": 2})));
    assert_eq!(got.events().len(), 0);
    assert!(got.last_update_time() > 0.0);
}

/// docs/contract.md, *Generated id*: without an id, a non-empty unique id is generated.
pub async fn create_without_id_generates_a_unique_id(service: Arc<dyn SessionService>) {
    let app = fresh_app("create-gen");
    let mut ids = HashSet::new();
    for _ in 0..5 {
        let s = service
            .create(&app, "u", CreateOptions::new())
            .await
            .expect("create");
        assert!(!s.id().is_empty());
        assert!(
            ids.insert(s.id().to_owned()),
            "duplicate generated id {}",
            s.id()
        );
        service
            .get(&SessionKey::new(&app, "u", s.id()), GetFilter::all())
            .await
            .expect("get generated");
    }
}

/// docs/contract.md, *Duplicate key*: a duplicate key is `AlreadyExists`, and the first
/// session is untouched.
pub async fn create_duplicate_is_already_exists(service: Arc<dyn SessionService>) {
    let app = fresh_app("create-dup");
    service
        .create(
            &app,
            "u",
            CreateOptions::new()
                .session_id("dup")
                .state(json!({"first": true})),
        )
        .await
        .expect("first create");
    let again = service
        .create(
            &app,
            "u",
            CreateOptions::new()
                .session_id("dup")
                .state(json!({"second": true})),
        )
        .await;
    assert_err(again, is_exists, "second create of one key");
    let got = service
        .get(&SessionKey::new(&app, "u", "dup"), GetFilter::all())
        .await
        .unwrap();
    assert_eq!(got.state().snapshot(), map(json!({"first": true})));
    // The same id under another user is another session.
    service
        .create(&app, "other", CreateOptions::new().session_id("dup"))
        .await
        .expect("other user");
}

/// docs/contract.md, *Create race*: many concurrent creates of one key: exactly one
/// succeeds, the rest are `AlreadyExists` (never another error).
pub async fn create_race_has_exactly_one_winner(service: Arc<dyn SessionService>) {
    let app = Arc::new(fresh_app("create-race"));
    for round in 0..4 {
        let id = format!("race-{round}");
        let barrier = Arc::new(tokio::sync::Barrier::new(16));
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let (service, app, id, barrier) =
                    (service.clone(), app.clone(), id.clone(), barrier.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    service
                        .create(
                            &app,
                            "u",
                            CreateOptions::new()
                                .session_id(&id)
                                .state(json!({ "by": i })),
                        )
                        .await
                })
            })
            .collect();
        let mut wins = 0;
        for t in tasks {
            match t.await.expect("task") {
                Ok(_) => wins += 1,
                Err(e) => assert!(is_exists(&e), "loser got {e:?}, not AlreadyExists"),
            }
        }
        assert_eq!(wins, 1, "round {round}: exactly one create must win");
    }
}

/// docs/contract.md, *No temp: keys at create*: `temp:` keys of the initial state are not
/// returned and never stored.
pub async fn create_drops_temp_keys(service: Arc<dyn SessionService>) {
    let app = fresh_app("create-temp");
    let s = service
        .create(
            &app,
            "u",
            CreateOptions::new()
                .session_id("s")
                .state(json!({"temp:t": 1, "k": 2})),
        )
        .await
        .unwrap();
    assert!(
        s.state().get("temp:t").is_none(),
        "temp key on the created handle"
    );
    let got = service
        .get(&SessionKey::new(&app, "u", "s"), GetFilter::all())
        .await
        .unwrap();
    assert_eq!(got.state().snapshot(), map(json!({"k": 2})));
    assert!(service.get_app_state(&app).await.unwrap().is_empty());
    assert!(service.get_user_state(&app, "u").await.unwrap().is_empty());
}

/// docs/contract.md, *Scoped keys at create*: `app:` / `user:` keys of the initial state
/// land in their scope.
pub async fn create_puts_scoped_keys_in_their_scope(service: Arc<dyn SessionService>) {
    let app = fresh_app("create-scope");
    let s = service
        .create(
            &app,
            "u",
            CreateOptions::new()
                .session_id("s1")
                .state(json!({"app:a": 1, "user:b": 2, "c": 3})),
        )
        .await
        .unwrap();
    assert_eq!(
        s.state().snapshot(),
        map(json!({"app:a": 1, "user:b": 2, "c": 3}))
    );
    assert_eq!(
        service.get_app_state(&app).await.unwrap(),
        map(json!({"a": 1}))
    );
    assert_eq!(
        service.get_user_state(&app, "u").await.unwrap(),
        map(json!({"b": 2}))
    );
    let same_user = service
        .create(&app, "u", CreateOptions::new().session_id("s2"))
        .await
        .unwrap();
    assert_eq!(
        same_user.state().snapshot(),
        map(json!({"app:a": 1, "user:b": 2}))
    );
    let other_user = service
        .create(&app, "v", CreateOptions::new().session_id("s3"))
        .await
        .unwrap();
    assert_eq!(other_user.state().snapshot(), map(json!({"app:a": 1})));
}

/// docs/contract.md, *Create with events is all or nothing*: a create with initial events
/// stores the session and every event in one transaction (ordered as `get` orders them,
/// `temp:` keys removed, their deltas not applied again, the revision at the latest of
/// now and the last event's time; partial events skipped, as an append skips them); when
/// any event is refused (a repeated id, a field adk-python cannot read) or the key is
/// taken, nothing is stored.
pub async fn create_with_events_is_all_or_nothing(service: Arc<dyn SessionService>) {
    let app = fresh_app("create-events");
    let base = base_secs();
    let mut later = event_at("i-late", base + 30.0);
    later.actions.state_delta = map(json!({"restored": 1, "temp:scratch": 2}));
    let events = vec![
        later,
        event_at("i-early", base + 10.0),
        event_at("i-mid", base + 20.0),
    ];
    let created = service
        .create(
            &app,
            "u",
            CreateOptions::new()
                .session_id("s")
                .state(json!({"k": "v"}))
                .events(events),
        )
        .await
        .expect("create with events");
    let invs = |s: &Session| -> Vec<String> {
        s.events().iter().map(|e| e.invocation_id.clone()).collect()
    };
    assert_eq!(invs(&created), ["i-early", "i-mid", "i-late"]);
    assert!(created.last_update_time() >= base + 30.0);
    let got = service
        .get(&SessionKey::new(app.as_str(), "u", "s"), GetFilter::all())
        .await
        .unwrap();
    assert_eq!(invs(&got), ["i-early", "i-mid", "i-late"]);
    assert_eq!(got.revision(), created.revision());
    assert_eq!(got.state().get("k"), Some(json!("v")));
    assert_eq!(
        got.state().get("restored"),
        None,
        "an initial delta was applied"
    );
    let stored_delta = &got.events().get(2).unwrap().actions.state_delta;
    assert!(
        !stored_delta.contains_key("temp:scratch"),
        "a temp: key was stored"
    );
    assert_eq!(stored_delta.get("restored"), Some(&json!(1)));

    // Refused creates leave nothing behind.
    let mut unknown = event_at("x", base);
    unknown
        .actions
        .extra
        .insert("not_an_adk_field".into(), json!(1));
    let refused: Vec<(&str, Vec<Event>)> = vec![
        ("a repeated id", {
            let first = event_at("a", base);
            let mut second = event_at("b", base + 1.0);
            second.id = first.id.clone();
            vec![first, second]
        }),
        (
            "an unknown nested field",
            vec![event_at("a", base), unknown],
        ),
    ];
    for (i, (what, events)) in refused.into_iter().enumerate() {
        let id = format!("refused-{i}");
        assert_err(
            service
                .create(
                    &app,
                    "u",
                    CreateOptions::new().session_id(&id).events(events),
                )
                .await,
            is_invalid,
            what,
        );
        assert_err(
            service
                .get(&SessionKey::new(app.as_str(), "u", id), GetFilter::all())
                .await,
            is_not_found,
            &format!("session left behind by a create with {what}"),
        );
    }
    // A taken key: AlreadyExists, and the original keeps its events.
    assert_err(
        service
            .create(
                &app,
                "u",
                CreateOptions::new()
                    .session_id("s")
                    .events([event_at("intruder", base + 40.0)]),
            )
            .await,
        is_exists,
        "create with events on a taken key",
    );
    let again = service
        .get(&SessionKey::new(app.as_str(), "u", "s"), GetFilter::all())
        .await
        .unwrap();
    assert_eq!(invs(&again), ["i-early", "i-mid", "i-late"]);
}

/// docs/contract.md, *A restored session keeps its revision*: a create with
/// [`CreateOptions::last_update_time`] (a session copied from another store) starts at
/// exactly that revision, `get` and `list` report it, and a handle at it may append; a
/// time outside the accepted range is refused and creates nothing.
pub async fn create_restores_last_update_time(service: Arc<dyn SessionService>) {
    let app = fresh_app("create-restored");
    let base = base_secs();
    let revision = crate::Timestamp::from_micros(((base + 50.5) * 1e6) as i64);
    let created = service
        .create(
            &app,
            "u",
            CreateOptions::new()
                .session_id("s")
                .events([event_at("i-old", base + 10.0)])
                .last_update_time(revision),
        )
        .await
        .expect("create with a restored revision");
    assert_eq!(created.revision(), revision);
    let key = SessionKey::new(app.as_str(), "u", "s");
    let got = service.get(&key, GetFilter::all()).await.unwrap();
    assert_eq!(got.revision(), revision, "get reports another revision");
    let listed = service
        .list(&app, Some("u"), &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(listed.sessions[0].revision(), revision);
    service
        .append_event(&got, event_at("i-next", base + 60.0))
        .await
        .expect("a handle at the restored revision appends");
    assert_err(
        service
            .create(
                &app,
                "u",
                CreateOptions::new()
                    .session_id("far")
                    .last_update_time(crate::Timestamp::from_micros(5_000_000_000_000_000)),
            )
            .await,
        is_invalid,
        "a revision after 2100",
    );
    assert_err(
        service
            .get(&SessionKey::new(app.as_str(), "u", "far"), GetFilter::all())
            .await,
        is_not_found,
        "a session left behind by a refused restore",
    );
}

/// docs/contract.md, *Apps can be listed*: `list_apps` names every app that has a
/// session, sorted, once each; an app whose sessions were all deleted is gone from it.
pub async fn list_apps_names_every_app_with_a_session(service: Arc<dyn SessionService>) {
    let first = fresh_app("apps-a");
    let second = format!("{first}-b");
    for (app, user) in [(&first, "u1"), (&first, "u2"), (&second, "u1")] {
        service
            .create(app, user, CreateOptions::new().session_id("s"))
            .await
            .unwrap();
    }
    let apps = service.list_apps().await.expect("list_apps");
    let mine: Vec<&String> = apps.iter().filter(|a| a.starts_with(&first)).collect();
    assert_eq!(mine, [&first, &second]);
    service
        .delete(&SessionKey::new(second.as_str(), "u1", "s"))
        .await
        .unwrap();
    let apps = service.list_apps().await.unwrap();
    assert!(!apps.contains(&second), "{second} still listed: {apps:?}");
    assert!(apps.contains(&first));
}
