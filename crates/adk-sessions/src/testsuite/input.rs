//! The behaviours of docs/contract.md, section *Bad input*: bad input gets a clear error
//! and changes nothing; and *Scoped state reads* of its section *Get*.

use std::sync::Arc;

use serde_json::json;

use super::support::*;
use crate::model::{Event, EventPolicy};
use crate::{GetFilter, PageRequest, SessionService};

/// docs/contract.md, *Bad ids*: empty or over-long (> 128 characters) app, user or
/// session ids are `InvalidArgument` naming the argument, in every call; nothing is
/// stored.
pub async fn bad_ids_are_refused_and_change_nothing(service: Arc<dyn SessionService>) {
    let app = fresh_app("bad-ids");
    let long = "x".repeat(129);
    let ok128 = "é".repeat(128);
    let nul_app = format!("{app}\0x");
    let cases: [(&str, &str, &str, &str); 9] = [
        ("", "u", "s", "app_name"),
        (&nul_app, "u", "s", "app_name"),
        (&app, "u\0", "s", "user_id"),
        (&app, "u", "s\0", "session_id"),
        (&app, "", "s", "user_id"),
        (&app, "u", "", "session_id"),
        (&long, "u", "s", "app_name"),
        (&app, &long, "s", "user_id"),
        (&app, "u", &long, "session_id"),
    ];
    for (a, u, s, named) in cases {
        let check = |r: crate::Result<()>, call: &str| match r {
            Err(crate::Error::InvalidArgument(m)) => {
                assert!(
                    m.contains(named),
                    "{call}: error {m:?} does not name {named}"
                )
            }
            other => panic!("{call} with bad {named}: {other:?}"),
        };
        check(
            service
                .create(a, u, CreateOptions::new().session_id(s))
                .await
                .map(|_| ()),
            "create",
        );
        check(
            service
                .get(&SessionKey::new(a, u, s), GetFilter::all())
                .await
                .map(|_| ()),
            "get",
        );
        check(service.delete(&SessionKey::new(a, u, s)).await, "delete");
    }
    for (a, u) in [
        ("", "u"),
        (long.as_str(), "u"),
        (app.as_str(), ""),
        (app.as_str(), long.as_str()),
    ] {
        assert_err(
            service.list(a, Some(u), &PageRequest::default()).await,
            is_invalid,
            "list with a bad id",
        );
        assert_err(
            service.get_user_state(a, u).await,
            is_invalid,
            "user state with a bad id",
        );
    }
    assert!(service
        .list(&app, None, &PageRequest::default())
        .await
        .unwrap()
        .sessions
        .is_empty());
    // The longest allowed ids work.
    let s = service
        .create(&app, &ok128, CreateOptions::new().session_id(&ok128))
        .await
        .expect("128 characters");
    service
        .get(&SessionKey::new(&app, &ok128, s.id()), GetFilter::all())
        .await
        .unwrap();
}

/// docs/contract.md, *Bad events and state*: non-object state, non-finite numbers, events
/// without an id or invocation id are `InvalidArgument`; nothing is stored.
pub async fn bad_events_are_refused_and_change_nothing(service: Arc<dyn SessionService>) {
    let app = fresh_app("bad-events");
    let s = service
        .create(&app, "u", CreateOptions::new().session_id("s"))
        .await
        .unwrap();
    let strict = EventPolicy::default();
    for (bad, what) in [
        (
            json!({"id": "e", "invocation_id": "i", "actions": {"state_delta": [1, 2]}}),
            "array state delta",
        ),
        (
            json!({"id": "e", "invocation_id": "i", "actions": {"state_delta": "x"}}),
            "string state delta",
        ),
        (json!([1, 2]), "an array as event"),
        (
            json!({"id": "e", "invocation_id": "i", "timestamp": "not a time"}),
            "a bad timestamp",
        ),
    ] {
        assert_err(Event::from_json(bad, strict), is_invalid, what);
    }
    assert_err(
        Event::from_json_str(
            r#"{"id": "e", "invocation_id": "i", "actions": {"state_delta": {"x": NaN}}}"#,
            strict,
        ),
        is_invalid,
        "NaN in a state delta",
    );
    for bad_state in [
        json!([1]),
        json!("text"),
        json!(3),
        json!({"k": "nul \u{0} inside"}),
        json!({"app:k\u{0}": 1}),
    ] {
        assert_err(
            service
                .create(
                    &app,
                    "u",
                    CreateOptions::new().session_id("s").state(bad_state),
                )
                .await,
            is_invalid,
            "non-object state, or U+0000 in it",
        );
    }
    let mut no_id = event_with("i", json!({"k": 1}));
    no_id.id.clear();
    let mut no_inv = event_with("", json!({"k": 1}));
    no_inv.invocation_id.clear();
    let mut nan_time = event_with("i", json!({"k": 1}));
    nan_time.timestamp = f64::NAN;
    let mut inf_time = event_with("i", json!({"k": 1}));
    inf_time.timestamp = f64::INFINITY;
    let mut long_id = event_with("i", json!({"k": 1}));
    long_id.id = "e".repeat(129);
    let mut nul_text = event_with("i", json!({"k": 1}));
    nul_text.content = Some(crate::Content::text("user", "a\u{0}b"));
    let nul_delta = event_with("i", json!({"k": "a\u{0}b"}));
    let mut no_author = event_with("i", json!({"k": 1}));
    no_author.author.clear();
    let mut far_future = event_with("i", json!({"k": 1}));
    far_future.timestamp = 9.0e9;
    for (event, what) in [
        (no_author, "event without author"),
        (nul_text, "U+0000 in the event's text"),
        (nul_delta, "U+0000 in a state delta"),
        (far_future, "timestamp after 2100"),
        (no_id, "event without id"),
        (no_inv, "event without invocation id"),
        (nan_time, "NaN timestamp"),
        (inf_time, "infinite timestamp"),
        (long_id, "over-long event id"),
    ] {
        assert_err(service.append_event(&s, event).await, is_invalid, what);
    }
    let got = service
        .get(&SessionKey::new(&app, "u", "s"), GetFilter::all())
        .await
        .unwrap();
    assert_eq!(got.events().len(), 0);
    assert!(got.state().is_empty());
    assert_eq!(s.events().len(), 0);
    // The handle is still usable.
    service
        .append_event(&s, event_with("i", json!({"k": 1})))
        .await
        .expect("good append");
}

/// docs/contract.md, *Scoped state reads*: user and app state reads are empty maps when
/// nothing is stored.
pub async fn scoped_state_reads_are_empty_when_nothing_is_stored(service: Arc<dyn SessionService>) {
    let app = fresh_app("state-empty");
    assert!(service.get_app_state(&app).await.unwrap().is_empty());
    assert!(service
        .get_user_state(&app, "nobody")
        .await
        .unwrap()
        .is_empty());
    let s = service
        .create(&app, "u", CreateOptions::new().session_id("s"))
        .await
        .unwrap();
    service
        .append_event(&s, event_with("i", json!({"app:x": 1, "user:y": t()})))
        .await
        .unwrap();
    assert_eq!(
        service.get_app_state(&app).await.unwrap(),
        map(json!({"x": 1}))
    );
    assert_eq!(
        service.get_user_state(&app, "u").await.unwrap(),
        map(json!({"y": true}))
    );
    assert!(service.get_user_state(&app, "v").await.unwrap().is_empty());
}
