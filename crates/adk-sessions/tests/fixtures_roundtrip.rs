//! Every event fixture written by the real google-adk 2.13 (`tools/make_fixtures.py`)
//! round-trips through the typed [`Event`] to an equal JSON value in both spellings:
//! snake_case as adk-python stores `event_data`, camelCase as its API server serves it.
//! Plus the input rules of events: unknown fields (docs/contract.md, *Unknown nested
//! fields* and *Round trip*), both base64 alphabets, float and RFC 3339 timestamps.

#[path = "support/json_diff.rs"]
mod json_diff;
use json_diff::assert_json_eq;

use std::fs;
use std::path::{Path, PathBuf};

use adk_sessions::{Error, Event, EventPolicy};
use serde_json::{json, Value};

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/events")
}

/// `(name, snake text, camel text)` of every fixture, sorted by name.
fn fixtures() -> Vec<(String, String, String)> {
    let dir = fixtures_dir();
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".snake.json").map(str::to_owned)
        })
        .collect();
    names.sort();
    assert!(
        names.len() >= 20,
        "expected the fixtures of tools/make_fixtures.py in {}, found {}",
        dir.display(),
        names.len()
    );
    names
        .into_iter()
        .map(|name| {
            let read = |suffix: &str| {
                let path = dir.join(format!("{name}.{suffix}.json"));
                fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
            };
            let snake = read("snake");
            let camel = read("camel");
            (name, snake, camel)
        })
        .collect()
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("fixture is JSON")
}

#[test]
fn every_fixture_round_trips_in_both_spellings() {
    for (name, snake_text, camel_text) in fixtures() {
        let snake = parse(&snake_text);
        let camel = parse(&camel_text);
        for (spelling, input) in [("snake", &snake), ("camel", &camel)] {
            let event = Event::from_json(input.clone(), EventPolicy::default())
                .unwrap_or_else(|e| panic!("{name}.{spelling}: refused: {e}"));
            assert_json_eq(
                &event.to_snake_value(),
                &snake,
                &format!("{name}.{spelling} -> snake"),
            );
            assert_json_eq(
                &event.to_camel_value(),
                &camel,
                &format!("{name}.{spelling} -> camel"),
            );
            let stored = Event::from_storage_json(&snake_text)
                .unwrap_or_else(|e| panic!("{name}: from_storage_json: {e}"));
            assert_eq!(stored, event, "{name}.{spelling}: storage parse differs");
            // The storage text this crate writes is the snake spelling too.
            assert_json_eq(
                &parse(&event.to_storage_json()),
                &snake,
                &format!("{name}.{spelling} -> storage json"),
            );
        }
    }
}

/// The fixtures hold every field docs/contract.md, *Round trip*, lists.
#[test]
fn fixtures_cover_what_conformance_line_17_lists() {
    let all: String = fixtures().into_iter().map(|(_, snake, _)| snake).collect();
    for needle in [
        "\"text\"",
        "\"inline_data\"",
        "\"function_call\"",
        "\"function_response\"",
        "\"long_running_tool_ids\"",
        "\"error_code\"",
        "\"error_message\"",
        "\"interrupted\"",
        "\"turn_complete\"",
        "\"usage_metadata\"",
        "\"prompt_tokens_details\"",
        "\"grounding_metadata\"",
        "\"citation_metadata\"",
        "\"custom_metadata\"",
        "\"branch\"",
        "\"wf@1/fetch@2\"",
        "\"output\"",
        "\"requested_tool_confirmations\": {\n      \"call-9\"",
        "\"app:",
        "\"user:",
        "\"temp:",
        "\"transfer_to_agent\"",
        "\"escalate\"",
        "\"skip_summarization\"",
        "\"thought_signature\"",
        "\"file_data\"",
        "\"executable_code\"",
        "\"code_execution_result\"",
    ] {
        assert!(all.contains(needle), "no fixture contains {needle}");
    }
}

fn base_event() -> Value {
    json!({
        "id": "evt-x",
        "invocation_id": "inv-x",
        "author": "model_agent",
        "timestamp": 1767225600.5,
        "content": {
            "role": "model",
            "parts": [{"function_call": {"id": "c1", "name": "f", "args": {"argOne": 1}}}]
        },
        "actions": {"state_delta": {"k": 1}},
    })
}

/// Inserts `field: 1` into the object at `path` (a list of keys / indexes) of `v`.
fn with_unknown(mut v: Value, path: &[&str], field: &str) -> Value {
    let mut at = &mut v;
    for step in path {
        at = match step.parse::<usize>() {
            Ok(i) => &mut at[i],
            Err(_) => &mut at[*step],
        };
    }
    at.as_object_mut()
        .expect("path names an object")
        .insert(field.to_owned(), json!({"innerKey": [1, "two"]}));
    v
}

#[test]
fn unknown_fields_inside_the_forbidding_models_are_refused_by_name_unless_lenient() {
    let cases: [(&[&str], &str, &str); 4] = [
        (&["actions"], "notAnAction", "event.actions.notAnAction"),
        (&["content"], "not_content", "event.content.not_content"),
        (
            &["content", "parts", "0"],
            "notAPart",
            "event.content.parts[0].notAPart",
        ),
        (
            &["content", "parts", "0", "function_call"],
            "not_a_call_field",
            "event.content.parts[0].function_call.not_a_call_field",
        ),
    ];
    for (path, field, named) in cases {
        let snake = with_unknown(base_event(), path, field);
        let err = Event::from_json(snake.clone(), EventPolicy::default())
            .expect_err(&format!("{named} must be refused"));
        match &err {
            Error::InvalidArgument(msg) => assert!(msg.contains(named), "{named}: {msg}"),
            other => panic!("{named}: expected InvalidArgument, got {other:?}"),
        }

        let lenient = EventPolicy {
            lenient_unknown_fields: true,
        };
        let event = Event::from_json(snake.clone(), lenient)
            .unwrap_or_else(|e| panic!("{named}: lenient parse failed: {e}"));
        event
            .validate(lenient)
            .unwrap_or_else(|e| panic!("{named}: lenient validate failed: {e}"));
        assert!(
            event.validate(EventPolicy::default()).is_err(),
            "{named}: strict validate must refuse the parsed event"
        );
        let expected_snake = with_unknown(
            Event::from_json(base_event(), EventPolicy::default())
                .unwrap()
                .to_snake_value(),
            path,
            field,
        );
        assert_json_eq(&event.to_snake_value(), &expected_snake, named);
        let reparsed = Event::from_storage_json(&event.to_storage_json()).unwrap();
        assert_eq!(reparsed, event, "{named}: storage round trip");
        // The camel spelling keeps the unknown field's name and its value untouched, and
        // parses back to the same event.
        let camel = event.to_camel_value();
        assert!(
            camel.to_string().contains(&format!("\"{field}\"")),
            "{named}: {camel}"
        );
        assert_eq!(Event::from_json(camel, lenient).unwrap(), event, "{named}");
    }
}

#[test]
fn unknown_top_level_field_round_trips_in_both_spellings() {
    let mut snake = Event::from_json(base_event(), EventPolicy::default())
        .unwrap()
        .to_snake_value();
    snake["futureField"] = json!({"someKey": [1, {"nested_key": null}], "other": "x"});
    snake["future_snake_field"] = json!(7);
    let event = Event::from_json(snake.clone(), EventPolicy::default()).unwrap();
    event.validate(EventPolicy::default()).unwrap();
    assert_json_eq(&event.to_snake_value(), &snake, "top level -> snake");
    let camel = event.to_camel_value();
    assert_eq!(camel["futureField"], snake["futureField"]);
    assert_eq!(camel["future_snake_field"], json!(7));
    assert_eq!(camel["invocationId"], json!("inv-x"));
    let back = Event::from_json(camel.clone(), EventPolicy::default()).unwrap();
    assert_eq!(back, event);
    assert_json_eq(&back.to_camel_value(), &camel, "top level -> camel");
    assert_eq!(
        Event::from_storage_json(&event.to_storage_json()).unwrap(),
        event
    );
}

#[test]
fn standard_base64_is_accepted_and_written_url_safe() {
    // bytes ff fe 00 80 01 3f 3e fb ef: standard "//4AgAE/Pvvv", URL-safe "__4AgAE_Pvvv".
    for (input, spelling) in [("//4AgAE/Pvvv", "snake"), ("//4AgAE/Pvvv", "camel")] {
        let part = if spelling == "snake" {
            json!({"inline_data": {"mime_type": "application/octet-stream", "data": input},
                   "thought_signature": "+/+/"})
        } else {
            json!({"inlineData": {"mimeType": "application/octet-stream", "data": input},
                   "thoughtSignature": "+/+/"})
        };
        let mut v = base_event();
        v["content"]["parts"] = json!([part]);
        let event = Event::from_json(v, EventPolicy::default()).unwrap();
        let parts = event.content.as_ref().unwrap().parts.as_ref().unwrap();
        let data = parts[0]
            .inline_data
            .as_ref()
            .unwrap()
            .data
            .as_ref()
            .unwrap();
        assert_eq!(
            data.0,
            vec![0xff, 0xfe, 0x00, 0x80, 0x01, 0x3f, 0x3e, 0xfb, 0xef]
        );
        let snake = event.to_snake_value();
        let part = &snake["content"]["parts"][0];
        assert_eq!(part["inline_data"]["data"], json!("__4AgAE_Pvvv"));
        assert_eq!(part["thought_signature"], json!("-_-_"));
        let camel = event.to_camel_value();
        assert_eq!(
            camel["content"]["parts"][0]["inlineData"]["data"],
            json!("__4AgAE_Pvvv")
        );
    }
    // The same bytes as the fixture written by adk-python.
    let fixture =
        parse(&fs::read_to_string(fixtures_dir().join("inline_bytes.snake.json")).unwrap());
    assert_eq!(
        fixture["content"]["parts"][1]["inline_data"]["data"],
        json!("__4AgAE_Pvvv")
    );
    // Garbage is refused by name.
    let mut v = base_event();
    v["content"]["parts"] = json!([{"inline_data": {"data": "not base64!"}}]);
    let err = Event::from_json(v, EventPolicy::default()).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
    assert!(err.to_string().contains("inline_data.data"), "{err}");
}

#[test]
fn rfc3339_timestamps_are_accepted() {
    for (text, secs) in [
        ("2026-01-01T00:00:00.5Z", 1767225600.5),
        ("2026-01-01T01:00:00.123456+01:00", 1767225600.123456),
        ("2026-01-01T00:00:00Z", 1767225600.0),
    ] {
        let camel = Event::from_json(base_event(), EventPolicy::default())
            .unwrap()
            .to_camel_value();
        for mut v in [base_event(), camel] {
            v["timestamp"] = json!(text);
            let event = Event::from_json(v, EventPolicy::default())
                .unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(event.timestamp, secs, "{text}");
            assert_eq!(event.to_snake_value()["timestamp"], json!(secs), "{text}");
        }
    }
    let mut v = base_event();
    v["timestamp"] = json!("yesterday at noon");
    assert!(matches!(
        Event::from_json(v, EventPolicy::default()),
        Err(Error::InvalidArgument(_))
    ));
}
