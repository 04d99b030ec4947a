//! The behaviours of docs/contract.md, section *Append*.

use std::sync::Arc;

use serde_json::{json, Value};

use super::support::*;
use crate::model::{Event, EventPolicy};
use crate::time::Timestamp;
use crate::{Error, GetFilter, Session, SessionService};

/// docs/contract.md, *Append to a missing session*: appending to a missing or deleted
/// session is `NotFound`.
pub async fn append_to_missing_session_is_not_found(service: Arc<dyn SessionService>) {
    let app = fresh_app("append-missing");
    let s = service
        .create(&app, "u", CreateOptions::new().session_id("s"))
        .await
        .unwrap();
    service
        .delete(&SessionKey::new(&app, "u", "s"))
        .await
        .unwrap();
    assert_err(
        service
            .append_event(&s, event_with("i", json!({"k": 1})))
            .await,
        is_not_found,
        "append to a deleted session",
    );
    let never = Session::from_parts(&app, "u", "never", Default::default(), vec![], Timestamp(1));
    assert_err(
        service
            .append_event(&never, event_with("i", json!({})))
            .await,
        is_not_found,
        "append to a session never created",
    );
    assert!(service.get_user_state(&app, "u").await.unwrap().is_empty());
}

/// docs/contract.md, *Partial events*: a partial event is not stored, changes no state,
/// and is no error.
pub async fn partial_events_are_not_stored(service: Arc<dyn SessionService>) {
    let app = fresh_app("append-partial");
    let s = service
        .create(&app, "u", CreateOptions::new().session_id("s"))
        .await
        .unwrap();
    let before = s.last_update_time();
    let mut e = event_with("i", json!({"k": 1, "user:u": 2}));
    e.partial = Some(true);
    service.append_event(&s, e).await.expect("partial append");
    assert_eq!(s.events().len(), 0);
    assert!(s.state().get("k").is_none());
    assert_eq!(s.last_update_time(), before);
    let got = service
        .get(&SessionKey::new(&app, "u", "s"), GetFilter::all())
        .await
        .unwrap();
    assert_eq!(got.events().len(), 0);
    assert!(got.state().is_empty());
    assert!(service.get_user_state(&app, "u").await.unwrap().is_empty());
    // The handle is still current: a normal append goes through.
    service
        .append_event(&s, event_with("i", json!({})))
        .await
        .expect("append after partial");
}

/// An event carrying every field the round trip must keep (snake_case spelling).
pub fn rich_event_json(id: &str, timestamp: f64) -> Value {
    json!({
        "id": id,
        "invocation_id": "inv-rich",
        "author": "model_agent",
        "timestamp": timestamp,
        "branch": "root.child",
        "content": {"role": "model", "parts": [
            {"text": "héllo ✓ 你好"},
            {"inline_data": {"mime_type": "application/octet-stream", "data": "__4AgAE="}},
            {"function_call": {"id": "call-1", "name": "lookup", "args": {"camelArg": [1, {"deep": null}], "n": 1.5}}},
            {"function_response": {"id": "call-1", "name": "lookup", "response": {"resultValue": {"ok": true}}}},
            {"thought": true, "text": "thinking", "thought_signature": "c2lnbmF0dXJl"}
        ]},
        "long_running_tool_ids": ["call-1"],
        "error_code": "RESOURCE_EXHAUSTED",
        "error_message": "quota",
        "interrupted": false,
        "turn_complete": true,
        "usage_metadata": {"prompt_token_count": 10, "candidates_token_count": 5, "total_token_count": 15,
            "prompt_tokens_details": [{"modality": "TEXT", "token_count": 10}]},
        "grounding_metadata": {"web_search_queries": ["rust"], "grounding_chunks": [{"web": {"uri": "https://example.com", "title": "ex"}}]},
        "citation_metadata": {"citations": [{"start_index": 0, "end_index": 4, "uri": "https://example.com"}]},
        "custom_metadata": {"camelKey": {"innerKey": 1}, "list": [1, 2]},
        "node_info": {"path": "root/step1"},
        "output": {"someOutput": [1, "two"]},
        "actions": {
            "state_delta": {"counter": 1, "user:pref": "dark", "app:flag": false},
            "artifact_delta": {"report.txt": 2},
            "requested_auth_configs": {},
            "requested_tool_confirmations": {"call-1": {"hint": "sure?", "confirmed": false, "payload": {"camelPayload": 1}}},
            "transfer_to_agent": "helper",
            "escalate": true,
            "skip_summarization": true
        },
        "a_field_from_the_future": {"keepMe": [1, 2, 3]}
    })
}

fn round_trip_ok(stored: &Event, expected: &Value) {
    let mut got = stored.to_snake_value();
    let mut want = expected.clone();
    // State deltas lose their temp: keys only; nothing else may differ.
    for v in [&mut got, &mut want] {
        if let Some(o) = v.as_object_mut() {
            o.remove("timestamp");
        }
    }
    assert_eq!(got, want, "event did not round-trip field for field");
}

/// docs/contract.md, *Round trip*: an event round-trips field for field (content parts,
/// bytes, calls, metadata, node info, output, confirmations, an unknown top-level field).
pub async fn events_round_trip_field_for_field(service: Arc<dyn SessionService>) {
    let app = fresh_app("append-rich");
    let s = service
        .create(&app, "u", CreateOptions::new().session_id("s"))
        .await
        .unwrap();
    let t = base_secs() + 0.123456;
    let json = rich_event_json("rich-1", t);
    let event = Event::from_json(json.clone(), EventPolicy::default()).expect("rich event parses");
    service
        .append_event(&s, event)
        .await
        .expect("append rich event");
    let got = service
        .get(&SessionKey::new(&app, "u", "s"), GetFilter::all())
        .await
        .unwrap();
    let stored = got.events().get(0).expect("one event");
    round_trip_ok(&stored, &json);
    assert_eq!(
        Timestamp::from_secs_f64(stored.timestamp),
        Timestamp::from_secs_f64(t)
    );
    let bytes = stored.content.as_ref().unwrap().parts.as_ref().unwrap()[1]
        .inline_data
        .as_ref()
        .unwrap()
        .data
        .clone()
        .unwrap();
    assert_eq!(bytes.0, vec![0xff, 0xfe, 0x00, 0x80, 0x01]);
}

/// docs/contract.md, *Unknown nested fields*: an unknown field inside `actions` or the
/// content model is refused with `InvalidArgument` naming it, and nothing is stored.
pub async fn unknown_nested_fields_are_refused(service: Arc<dyn SessionService>) {
    let app = fresh_app("append-unknown");
    let s = service
        .create(&app, "u", CreateOptions::new().session_id("s"))
        .await
        .unwrap();
    let mut in_actions = event_with("i", json!({"k": 1}));
    in_actions
        .actions
        .extra
        .insert("notAnAction".into(), json!(1));
    let mut in_part = event_with("i", json!({"k": 1}));
    let mut part = crate::Part::text("x");
    part.extra.insert("mystery_field".into(), json!("?"));
    in_part.content = Some(crate::Content {
        role: Some("user".into()),
        parts: Some(vec![part]),
        extra: Default::default(),
    });
    for (event, field) in [(in_actions, "notAnAction"), (in_part, "mystery_field")] {
        match service.append_event(&s, event).await {
            Err(crate::Error::InvalidArgument(msg)) => {
                assert!(msg.contains(field), "error {msg:?} does not name {field}")
            }
            other => panic!("unknown field {field} was not refused: {other:?}"),
        }
    }
    let got = service
        .get(&SessionKey::new(&app, "u", "s"), GetFilter::all())
        .await
        .unwrap();
    assert_eq!(got.events().len(), 0);
    assert!(got.state().is_empty());
}

/// docs/contract.md, *Unknown nested fields* (lenient option): with
/// `lenient_unknown_fields`, unknown nested fields round-trip too.
pub async fn lenient_unknown_fields_round_trip(service: Arc<dyn SessionService>) {
    let app = fresh_app("append-lenient");
    let s = service
        .create(&app, "u", CreateOptions::new().session_id("s"))
        .await
        .unwrap();
    let mut json = rich_event_json("lenient-1", base_secs());
    json["actions"]["notAnAction"] = json!({"x": 1});
    json["content"]["parts"][0]["mystery_field"] = json!("?");
    let event = Event::from_json(
        json.clone(),
        EventPolicy {
            lenient_unknown_fields: true,
        },
    )
    .unwrap();
    service
        .append_event(&s, event)
        .await
        .expect("lenient append");
    let got = service
        .get(&SessionKey::new(&app, "u", "s"), GetFilter::all())
        .await
        .unwrap();
    round_trip_ok(&got.events().get(0).unwrap(), &json);
}

/// docs/contract.md, *Temp keys live on the handle*: `temp:` keys are absent from the
/// stored event and every later `get`, visible on the live handle, and the caller's event
/// value is not mutated.
pub async fn temp_keys_live_only_on_the_handle(service: Arc<dyn SessionService>) {
    let app = fresh_app("append-temp");
    let s = service
        .create(&app, "u", CreateOptions::new().session_id("s"))
        .await
        .unwrap();
    let event = event_with("i", json!({"temp:scratch": "x", "kept": 1}));
    let caller_copy = event.clone();
    let stored = service.append_event(&s, event.clone()).await.unwrap();
    assert_eq!(event, caller_copy, "the caller's event changed");
    assert!(!stored.actions.state_delta.contains_key("temp:scratch"));
    assert_eq!(s.state().get("temp:scratch").unwrap(), json!("x"));
    assert!(s
        .events()
        .get(0)
        .unwrap()
        .actions
        .state_delta
        .get("temp:scratch")
        .is_none());
    let got = service
        .get(&SessionKey::new(&app, "u", "s"), GetFilter::all())
        .await
        .unwrap();
    assert!(got.state().get("temp:scratch").is_none());
    assert_eq!(got.state().get("kept").unwrap(), json!(1));
    let e = got.events().get(0).unwrap();
    assert_eq!(e.actions.state_delta, map(json!({"kept": 1})));
}

/// docs/contract.md, *Replace per key*: a dict value replaces (no deep merge); null is
/// stored as null; a stored `false` keeps its type; unicode keys and values survive.
pub async fn state_deltas_replace_per_key(service: Arc<dyn SessionService>) {
    let app = fresh_app("append-delta");
    let s = service
        .create(
            &app,
            "u",
            CreateOptions::new()
                .session_id("s")
                .state(json!({"d": {"a": 1, "b": 2}, "f": false})),
        )
        .await
        .unwrap();
    for delta in [
        json!({"d": {"c": 3}}),
        json!({"n": null, "user:un": null}),
        json!({"x": 1}),
        json!({"ключ🔑": "值 ✓", "user:ünï": {"ß": [1, "é"]}}),
    ] {
        service
            .append_event(&s, event_with("i", delta))
            .await
            .unwrap();
    }
    let got = service
        .get(&SessionKey::new(&app, "u", "s"), GetFilter::all())
        .await
        .unwrap();
    let state = got.state();
    assert_eq!(state.get("d").unwrap(), json!({"c": 3}));
    assert_eq!(state.get("n").unwrap(), Value::Null);
    assert_eq!(state.get("user:un").unwrap(), Value::Null);
    assert_eq!(state.get("f").unwrap(), json!(false));
    assert_eq!(state.get("x").unwrap(), json!(1));
    assert_eq!(state.get("ключ🔑").unwrap(), json!("值 ✓"));
    assert_eq!(state.get("user:ünï").unwrap(), json!({"ß": [1, "é"]}));
    assert_eq!(
        s.state().snapshot(),
        state.snapshot(),
        "handle and reload disagree"
    );
}

/// docs/contract.md, *Scope sharing*: `app:` is shared by all users, `user:` by one
/// user's sessions, bare keys by one session.
pub async fn scopes_are_shared_as_promised(service: Arc<dyn SessionService>) {
    let app = fresh_app("append-scope");
    let a1 = service
        .create(&app, "alice", CreateOptions::new().session_id("a1"))
        .await
        .unwrap();
    service
        .create(&app, "alice", CreateOptions::new().session_id("a2"))
        .await
        .unwrap();
    service
        .create(&app, "bob", CreateOptions::new().session_id("b1"))
        .await
        .unwrap();
    service
        .append_event(
            &a1,
            event_with("i", json!({"app:a": 1, "user:u": 2, "s": 3})),
        )
        .await
        .unwrap();
    let get = |user: &'static str, id: &'static str| {
        let (service, app) = (service.clone(), app.clone());
        async move {
            service
                .get(&SessionKey::new(&app, user, id), GetFilter::all())
                .await
                .unwrap()
        }
    };
    assert_eq!(
        get("alice", "a1").await.state().snapshot(),
        map(json!({"s": 3, "app:a": 1, "user:u": 2}))
    );
    assert_eq!(
        get("alice", "a2").await.state().snapshot(),
        map(json!({"app:a": 1, "user:u": 2}))
    );
    assert_eq!(
        get("bob", "b1").await.state().snapshot(),
        map(json!({"app:a": 1}))
    );
    assert_eq!(
        service.get_user_state(&app, "bob").await.unwrap(),
        map(json!({}))
    );
    assert_eq!(
        service.get_user_state(&app, "alice").await.unwrap(),
        map(json!({"u": 2}))
    );
}

/// docs/contract.md, *Update time moves forward*: `last_update_time` equals the last
/// event's timestamp (µs) on the handle and after a reload, and never moves backwards.
pub async fn last_update_time_follows_events_forward(service: Arc<dyn SessionService>) {
    let app = fresh_app("append-time");
    let s = service
        .create(&app, "u", CreateOptions::new().session_id("s"))
        .await
        .unwrap();
    let t1 = base_secs() + 10.654321;
    service.append_event(&s, event_at("i1", t1)).await.unwrap();
    let us = |t: f64| Timestamp::from_secs_f64(t).unwrap();
    assert_eq!(us(s.last_update_time()), us(t1));
    let got = service
        .get(&SessionKey::new(&app, "u", "s"), GetFilter::all())
        .await
        .unwrap();
    assert_eq!(us(got.last_update_time()), us(t1));
    // An older event does not move the update time backwards.
    service
        .append_event(&got, event_at("i2", t1 - 5.0))
        .await
        .unwrap();
    assert!(us(got.last_update_time()) > us(t1));
    let again = service
        .get(&SessionKey::new(&app, "u", "s"), GetFilter::all())
        .await
        .unwrap();
    assert_eq!(again.last_update_time(), got.last_update_time());
    // And it can go on from there.
    service
        .append_event(&again, event_at("i3", t1 + 1.0))
        .await
        .unwrap();
    assert_eq!(us(again.last_update_time()), us(t1 + 1.0));
}

/// docs/contract.md, *Stale handle*: two handles of one session; an append through the
/// first makes the second stale (also with equal or older timestamps); nothing is stored;
/// a reload fixes it.
pub async fn stale_handle_is_refused(service: Arc<dyn SessionService>) {
    let app = fresh_app("append-stale");
    for case in ["later", "equal", "older"] {
        let id = format!("s-{case}");
        service
            .create(&app, "u", CreateOptions::new().session_id(&id))
            .await
            .unwrap();
        let h1 = service
            .get(&SessionKey::new(&app, "u", &id), GetFilter::all())
            .await
            .unwrap();
        let h2 = service
            .get(&SessionKey::new(&app, "u", &id), GetFilter::all())
            .await
            .unwrap();
        let first = service
            .append_event(&h1, event_with("first", json!({"winner": "h1"})))
            .await
            .unwrap_or_else(|e| panic!("{case}: first append failed: {e}"));
        let mut second = event_with("second", json!({"winner": "h2", "user:w": "h2"}));
        second.timestamp = match case {
            "later" => first.timestamp + 1.0,
            "equal" => first.timestamp,
            _ => first.timestamp - 1.0,
        };
        assert_err(service.append_event(&h2, second).await, is_stale, case);
        let stored = service
            .get(&SessionKey::new(&app, "u", &id), GetFilter::all())
            .await
            .unwrap();
        assert_eq!(
            stored.events().len(),
            1,
            "{case}: the stale append stored an event"
        );
        assert_eq!(stored.state().get("winner").unwrap(), json!("h1"));
        assert!(
            stored.state().get("user:w").is_none(),
            "{case}: stale append wrote user state"
        );
        assert_eq!(h2.events().len(), 0, "{case}: the stale handle changed");
        let reloaded = service
            .get(&SessionKey::new(&app, "u", &id), GetFilter::all())
            .await
            .unwrap();
        service
            .append_event(
                &reloaded,
                event_with("third", json!({"winner": "reloaded"})),
            )
            .await
            .unwrap_or_else(|e| panic!("{case}: append after reload failed: {e}"));
    }
}

/// docs/contract.md, *Duplicate event id*: a second event with an id already stored in
/// the session is `InvalidArgument` (the schema's primary key), and changes nothing.
pub async fn duplicate_event_id_is_refused(service: Arc<dyn SessionService>) {
    let app = fresh_app("append-dup-id");
    let s = service
        .create(&app, "u", CreateOptions::new().session_id("s"))
        .await
        .unwrap();
    let mut first = event_with("i1", json!({"k": 1}));
    first.id = "same-id".into();
    service.append_event(&s, first).await.expect("first append");
    let mut second = event_with("i2", json!({"k": 2, "user:x": 1}));
    second.id = "same-id".into();
    match service.append_event(&s, second).await {
        Err(Error::DuplicateEvent { .. }) => {}
        other => panic!("duplicate event id: {other:?}"),
    }
    let got = service
        .get(&SessionKey::new(&app, "u", "s"), GetFilter::all())
        .await
        .unwrap();
    assert_eq!(got.events().len(), 1);
    assert_eq!(got.state().get("k").unwrap(), json!(1));
    assert!(got.state().get("user:x").is_none());
    // The same id in another session is fine.
    let other = service
        .create(&app, "u", CreateOptions::new().session_id("t"))
        .await
        .unwrap();
    let mut third = event_with("i3", json!({}));
    third.id = "same-id".into();
    service
        .append_event(&other, third)
        .await
        .expect("same id, other session");
}
