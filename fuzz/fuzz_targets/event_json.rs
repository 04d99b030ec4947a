//! Events as clients send them (`Event::from_json_str`, camelCase or snake_case, mixed),
//! under both policies. Every accepted event must survive the two ways out:
//! - storage: `to_storage_json` is read back by `from_storage_json` (as the SQL backends
//!   do) and, as plain snake_case input, by `from_json_str`, each giving the same event;
//! - the REST API: the camelCase serialization (`Event::camel`) parses back to the same
//!   event.
//!
//! A strict parse that succeeds must give what a lenient parse gives (strictness refuses
//! events, it never changes them).

#![no_main]

use adk_sessions::{Event, EventPolicy};
use adk_sessions_fuzz::expected_after_storage;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let strict = Event::from_json_str(text, EventPolicy::strict());
    let lenient = Event::from_json_str(text, EventPolicy::lenient());
    if let Ok(event) = &strict {
        assert_eq!(
            lenient.as_ref().ok(),
            Some(event),
            "a strict parse succeeded but the lenient one differs"
        );
    }
    for (policy, parsed) in [
        (EventPolicy::strict(), strict),
        (EventPolicy::lenient(), lenient),
    ] {
        if let Ok(event) = parsed {
            check(&event, policy);
        }
    }
});

fn check(event: &Event, policy: EventPolicy) {
    // Must not panic, whatever it says.
    let _ = event.validate(policy);

    let storage = event.to_storage_json();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&storage).ok(),
        Some(event.to_snake_value()),
        "to_storage_json and to_snake_value disagree"
    );
    let stored = Event::from_storage_json(&storage)
        .unwrap_or_else(|e| panic!("storage JSON {storage} of an accepted event is refused: {e}"));
    assert_eq!(
        stored,
        expected_after_storage(event),
        "storage JSON {storage} reads back as another event"
    );
    let snake = Event::from_json_str(&storage, policy)
        .unwrap_or_else(|e| panic!("snake_case output {storage} is refused as input: {e}"));
    assert_eq!(
        &snake, event,
        "snake_case output {storage} parses to another event"
    );

    let camel = serde_json::to_string(&event.camel()).expect("an event serializes");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&camel).ok(),
        Some(event.to_camel_value()),
        "Event::camel and to_camel_value disagree"
    );
    let back = Event::from_json_str(&camel, policy)
        .unwrap_or_else(|e| panic!("camelCase output {camel} is refused as input: {e}"));
    assert_eq!(
        &back, event,
        "camelCase output {camel} parses to another event"
    );
}
