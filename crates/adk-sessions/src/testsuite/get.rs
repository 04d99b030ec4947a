//! The behaviours of docs/contract.md, section *Get* (the scoped state reads are in
//! `input.rs`).

use std::sync::Arc;

use serde_json::json;

use super::support::*;
use crate::{GetFilter, SessionService, Timestamp};

/// docs/contract.md, *Missing session*: a missing session is `NotFound`; app and user
/// must both match.
pub async fn get_missing_is_not_found(service: Arc<dyn SessionService>) {
    let app = fresh_app("get-missing");
    assert_err(
        service
            .get(&SessionKey::new(&app, "u", "nope"), GetFilter::all())
            .await,
        is_not_found,
        "missing session",
    );
    service
        .create(&app, "u", CreateOptions::new().session_id("s"))
        .await
        .unwrap();
    assert_err(
        service
            .get(&SessionKey::new(&app, "other", "s"), GetFilter::all())
            .await,
        is_not_found,
        "same id, other user",
    );
    assert_err(
        service
            .get(&SessionKey::new(fresh_app("x"), "u", "s"), GetFilter::all())
            .await,
        is_not_found,
        "same id, other app",
    );
}

/// docs/contract.md, *Merged, current state*: the returned state is the merged view,
/// current at read time.
pub async fn get_returns_the_current_merged_state(service: Arc<dyn SessionService>) {
    let app = fresh_app("get-merged");
    service
        .create(
            &app,
            "u",
            CreateOptions::new()
                .session_id("a")
                .state(json!({"mine": 1})),
        )
        .await
        .unwrap();
    let b = service
        .create(&app, "u", CreateOptions::new().session_id("b"))
        .await
        .unwrap();
    service
        .append_event(
            &b,
            event_with("i", json!({"user:x": "ux", "app:y": "ay", "own": 2})),
        )
        .await
        .unwrap();
    let a = service
        .get(&SessionKey::new(&app, "u", "a"), GetFilter::all())
        .await
        .unwrap();
    assert_eq!(
        a.state().snapshot(),
        map(json!({"mine": 1, "app:y": "ay", "user:x": "ux"}))
    );
}

async fn five_events(service: &Arc<dyn SessionService>, app: &str) -> Vec<f64> {
    let s = service
        .create(app, "u", CreateOptions::new().session_id("s"))
        .await
        .unwrap();
    let base = base_secs();
    let times: Vec<f64> = (1..=5).map(|i| base + i as f64).collect();
    for (i, t) in times.iter().enumerate() {
        service
            .append_event(&s, event_at(&format!("inv{}", i + 1), *t))
            .await
            .unwrap();
    }
    times
}

fn invs(s: &crate::Session) -> Vec<String> {
    s.events().iter().map(|e| e.invocation_id.clone()).collect()
}

/// docs/contract.md, *Event filters*: no filter → all; newest N oldest first; 0 → none;
/// after inclusive; both → the newest N of those at or after.
pub async fn get_filters_select_events(service: Arc<dyn SessionService>) {
    let app = fresh_app("get-filter");
    let times = five_events(&service, &app).await;
    let get = |f: GetFilter| {
        let (service, app) = (service.clone(), app.clone());
        async move {
            service
                .get(&SessionKey::new(&app, "u", "s"), f)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        invs(&get(GetFilter::all()).await),
        ["inv1", "inv2", "inv3", "inv4", "inv5"]
    );
    assert_eq!(
        invs(&get(GetFilter::recent(3)).await),
        ["inv3", "inv4", "inv5"]
    );
    assert_eq!(invs(&get(GetFilter::recent(0)).await), Vec::<String>::new());
    assert_eq!(invs(&get(GetFilter::recent(99)).await).len(), 5);
    let after = GetFilter {
        num_recent_events: None,
        after: Timestamp::from_secs_f64(times[1]),
    };
    assert_eq!(invs(&get(after).await), ["inv2", "inv3", "inv4", "inv5"]);
    let both = GetFilter {
        num_recent_events: Some(2),
        after: Timestamp::from_secs_f64(times[1]),
    };
    assert_eq!(invs(&get(both).await), ["inv4", "inv5"]);
    let both_wide = GetFilter {
        num_recent_events: Some(10),
        after: Timestamp::from_secs_f64(times[3]),
    };
    assert_eq!(invs(&get(both_wide).await), ["inv4", "inv5"]);
    let later = GetFilter {
        num_recent_events: None,
        after: Timestamp::from_secs_f64(times[4] + 1.0),
    };
    assert!(get(later).await.events().is_empty());
}

/// docs/contract.md, *Event order*: events come back oldest first; equal timestamps
/// ordered by id.
pub async fn get_orders_events_by_timestamp_then_id(service: Arc<dyn SessionService>) {
    let app = fresh_app("get-order");
    let s = service
        .create(&app, "u", CreateOptions::new().session_id("s"))
        .await
        .unwrap();
    let base = base_secs();
    let append = |id: &str, t: f64| {
        let mut e = event_at(id, t);
        e.id = id.to_owned();
        e
    };
    for e in [
        append("e-b", base + 1.0),
        append("e-c", base + 1.0),
        append("e-a", base + 1.0),
        append("e-z", base + 3.0),
        append("e-y", base + 2.0),
    ] {
        service.append_event(&s, e).await.unwrap();
    }
    let got = service
        .get(&SessionKey::new(&app, "u", "s"), GetFilter::all())
        .await
        .unwrap();
    let ids: Vec<String> = got.events().iter().map(|e| e.id.clone()).collect();
    assert_eq!(ids, ["e-a", "e-b", "e-c", "e-y", "e-z"]);
    let recent = service
        .get(&SessionKey::new(&app, "u", "s"), GetFilter::recent(2))
        .await
        .unwrap();
    let ids: Vec<String> = recent.events().iter().map(|e| e.id.clone()).collect();
    assert_eq!(ids, ["e-y", "e-z"]);
}
