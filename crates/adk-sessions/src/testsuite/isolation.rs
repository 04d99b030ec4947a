//! Keys compare byte for byte: ids that differ only by trailing spaces, case or Unicode
//! normalization are different apps, users and sessions, on every backend.

use std::sync::Arc;

use serde_json::json;

use super::support::*;
use crate::{GetFilter, PageRequest, SessionService};

/// Variants of `base` that a padding, case-folding or normalizing comparison would take
/// as equal to it.
fn look_alikes(base: &str) -> Vec<String> {
    let mut upper = base.to_owned();
    upper.replace_range(..1, &base[..1].to_uppercase());
    vec![
        format!("{base} "),
        format!("{base}  "),
        upper,
        base.to_uppercase(),
        // "ë" precomposed (NFC) in `base` vs "e" + combining diaeresis (NFD) here.
        base.replace('\u{eb}', "e\u{308}"),
    ]
}

/// docs/contract.md, *Keys compare byte for byte*: a session, its state in every scope,
/// its events, list and delete are reached only through the exact bytes of its app, user
/// and session id.
pub async fn keys_compare_byte_for_byte(service: Arc<dyn SessionService>) {
    let app = format!("{}-zo\u{eb}", fresh_app("bytes"));
    let (user, sid) = ("zo\u{eb}", "s-zo\u{eb}");
    let original = service
        .create(
            &app,
            user,
            CreateOptions::new()
                .session_id(sid)
                .state(json!({"app:who": "original", "user:who": "original", "who": "original"})),
        )
        .await
        .expect("create the original");
    service
        .append_event(&original, event_with("i0", json!({"n": 0})))
        .await
        .unwrap();

    // Each look-alike app, user and session id: nothing of the original shows, and what
    // is written through it stays its own.
    let mut keys: Vec<(String, String, String)> = Vec::new();
    for a in look_alikes(&app) {
        keys.push((a, user.to_owned(), sid.to_owned()));
    }
    for u in look_alikes(user) {
        keys.push((app.clone(), u, sid.to_owned()));
    }
    for s in look_alikes(sid) {
        keys.push((app.clone(), user.to_owned(), s));
    }
    for (i, (a, u, s)) in keys.iter().enumerate() {
        let what = format!("look-alike key {:?}", (a, u, s));
        assert_err(
            service
                .get(&SessionKey::new(a, u, s), GetFilter::all())
                .await,
            is_not_found,
            &format!("get of {what}"),
        );
        if a != &app {
            assert!(
                service.get_app_state(a).await.unwrap().is_empty(),
                "app state of {what}"
            );
        }
        if a != &app || u != user {
            assert!(
                service.get_user_state(a, u).await.unwrap().is_empty(),
                "user state of {what}"
            );
            assert!(
                service
                    .list(a, Some(u), &PageRequest::default())
                    .await
                    .unwrap()
                    .sessions
                    .is_empty(),
                "list of {what}"
            );
        }
        // Appending to or deleting the look-alike touches nothing of the original.
        service
            .delete(&SessionKey::new(a, u, s))
            .await
            .expect("delete of a missing key");
        let mine = format!("look-alike {i}");
        // Scoped keys only where the scope is the look-alike's own.
        let mut state = map(json!({ "who": mine }));
        if a != &app {
            state.insert("app:mine".into(), json!(mine));
        }
        if a != &app || u != user {
            state.insert("user:mine".into(), json!(mine));
        }
        let created = service
            .create(a, u, CreateOptions::new().session_id(s).state(state))
            .await
            .unwrap_or_else(|e| panic!("create of {what}: {e}"));
        service
            .append_event(&created, event_with("i1", json!({"n": i})))
            .await
            .unwrap();
        let back = service
            .get(&SessionKey::new(a, u, s), GetFilter::all())
            .await
            .unwrap();
        assert_eq!(back.state().get("who"), Some(json!(mine)), "{what}");
        assert_eq!(back.events().len(), 1, "{what}");
        service.delete(&SessionKey::new(a, u, s)).await.unwrap();
    }

    let after = service
        .get(&SessionKey::new(&app, user, sid), GetFilter::all())
        .await
        .unwrap();
    assert_eq!(after.events().len(), 1, "the original's events changed");
    assert_eq!(after.state().get("who"), Some(json!("original")));
    assert_eq!(after.state().get("n"), Some(json!(0)));
    assert_eq!(
        service.get_app_state(&app).await.unwrap(),
        map(json!({"who": "original"})),
        "the original's app state changed"
    );
    assert_eq!(
        service.get_user_state(&app, user).await.unwrap(),
        map(json!({"who": "original"})),
        "the original's user state changed"
    );
    let listed = service
        .list(&app, None, &PageRequest::default())
        .await
        .unwrap()
        .sessions;
    let ids: Vec<(&str, &str)> = listed.iter().map(|s| (s.user_id(), s.id())).collect();
    assert_eq!(ids, vec![(user, sid)], "list of the original app");
}
