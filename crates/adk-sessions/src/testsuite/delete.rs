//! The behaviours of docs/contract.md, section *Delete*.

use std::sync::Arc;

use serde_json::json;

use super::support::*;
use crate::{GetFilter, PageRequest, SessionService};

/// docs/contract.md, *Delete removes the session*: after delete, `get` is `NotFound` and
/// the events are gone (a session created again under the same key starts empty).
/// Backends check orphans in SQL themselves.
pub async fn delete_removes_the_session_and_its_events(service: Arc<dyn SessionService>) {
    let app = fresh_app("delete");
    let s = service
        .create(
            &app,
            "u",
            CreateOptions::new().session_id("s").state(json!({"k": 1})),
        )
        .await
        .unwrap();
    for i in 0..3 {
        service
            .append_event(&s, event_with(&format!("i{i}"), json!({"n": i})))
            .await
            .unwrap();
    }
    service
        .delete(&SessionKey::new(&app, "u", "s"))
        .await
        .expect("delete");
    assert_err(
        service
            .get(&SessionKey::new(&app, "u", "s"), GetFilter::all())
            .await,
        is_not_found,
        "get after delete",
    );
    assert!(service
        .list(&app, Some("u"), &PageRequest::default())
        .await
        .unwrap()
        .sessions
        .is_empty());
    let again = service
        .create(&app, "u", CreateOptions::new().session_id("s"))
        .await
        .unwrap();
    assert_eq!(again.events().len(), 0);
    let reloaded = service
        .get(&SessionKey::new(&app, "u", "s"), GetFilter::all())
        .await
        .unwrap();
    assert_eq!(
        reloaded.events().len(),
        0,
        "events of the deleted session came back"
    );
    assert!(
        reloaded.state().get("k").is_none(),
        "state of the deleted session came back"
    );
}

/// docs/contract.md, *Harmless delete*: deleting a missing session is not an error;
/// deleting as another user touches nothing.
pub async fn delete_missing_or_foreign_is_harmless(service: Arc<dyn SessionService>) {
    let app = fresh_app("delete-missing");
    service
        .delete(&SessionKey::new(&app, "u", "never-was"))
        .await
        .expect("delete missing");
    let s = service
        .create(&app, "owner", CreateOptions::new().session_id("s"))
        .await
        .unwrap();
    service
        .append_event(&s, event_with("i", json!({"k": 1})))
        .await
        .unwrap();
    service
        .delete(&SessionKey::new(&app, "intruder", "s"))
        .await
        .expect("delete as other user");
    let still = service
        .get(&SessionKey::new(&app, "owner", "s"), GetFilter::all())
        .await
        .unwrap();
    assert_eq!(still.events().len(), 1);
    assert_eq!(still.state().get("k").unwrap(), json!(1));
}
