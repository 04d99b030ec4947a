//! Stored `event_data` (`Event::from_storage_json`): what adk-python, adk-js or this crate
//! wrote, possibly with Python's bare `NaN` / `Infinity`. Anything may be refused, nothing
//! may panic; an accepted event is written back by `to_storage_json` and must read back
//! the same. `python_json_to_json` never touches valid JSON.

#![no_main]

use adk_sessions::model::python_json_to_json;
use adk_sessions::{Event, EventPolicy};
use adk_sessions_fuzz::expected_after_storage;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let fixed = python_json_to_json(text);
    if serde_json::from_str::<serde_json::Value>(text).is_ok() {
        assert_eq!(fixed, None, "valid JSON was rewritten");
    }
    let Ok(event) = Event::from_storage_json(text) else {
        return;
    };
    let _ = event.validate(EventPolicy::strict());
    let _ = event.validate(EventPolicy::lenient());
    let again = event.to_storage_json();
    let back = Event::from_storage_json(&again)
        .unwrap_or_else(|e| panic!("re-encoded event {again} is refused: {e}"));
    assert_eq!(
        back,
        expected_after_storage(&event),
        "re-encoded event {again} reads back as another event"
    );
    // The REST API serves stored events in camelCase: writing them must not panic.
    let _ = serde_json::to_string(&event.camel());
});
