//! Rows of adk-go's `events` table (`GoEventRow`, exposed under `cfg(fuzzing)`):
//! - decoding never panics; the typed fast path and the general path agree (the fast path
//!   gives an event only when the general one gives the same, and refuses only rows the
//!   general one refuses too);
//! - a decoded event written back as adk-go would write it (`from_event`) decodes to the
//!   same event;
//! - two rows with the same id, invocation id, time and `fingerprint` (the key of the
//!   SQLite backend's decoded-event cache) decode the same.
//!
//! The input is either a readable row (a JSON object, see `fuzz/README.md`; the seeds in
//! the corpus are such rows) or, when it does not start with `{`, bytes that `arbitrary`
//! turns into a row whose JSON columns are built from ADK's field names.

#![no_main]

use adk_sessions::fuzzing::{go_row_decodings, GoEventRow};
use adk_sessions::{Event, Timestamp};
use adk_sessions_fuzz::{json, string};
use arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let rows = if data.first() == Some(&b'{') {
        readable_rows(data)
    } else {
        arbitrary_rows(&mut Unstructured::new(data)).ok()
    };
    let Some((row, second)) = rows else {
        return;
    };
    let decoded = check_decoding(&row);
    if let Ok(event) = &decoded {
        let written = GoEventRow::from_event(event, row.timestamp);
        let again = check_decoding(&written);
        assert_eq!(
            again.as_ref().ok(),
            Some(event),
            "an event decoded from {row:?} was written as {written:?}, which decodes to {again:?}"
        );
    }
    if let Some(second) = second {
        if second.fingerprint() == row.fingerprint() {
            let other = check_decoding(&second);
            assert_eq!(
                other.as_ref().ok(),
                decoded.as_ref().ok(),
                "rows {row:?} and {second:?} share a fingerprint but decode differently"
            );
        }
    }
});

/// Decodes `row` both ways, checks they agree, and returns what `into_event` returns.
fn check_decoding(row: &GoEventRow) -> adk_sessions::Result<Event> {
    let (direct, generic) = go_row_decodings(row, "s");
    match &direct {
        Ok(Some(event)) => assert_eq!(
            generic.as_ref().ok(),
            Some(event),
            "the typed decoding of {row:?} differs from the general one"
        ),
        Ok(None) => {}
        Err(e) => assert!(
            generic.is_err(),
            "the typed decoding refuses {row:?} ({e}) but the general one reads it"
        ),
    }
    let _ = row.fingerprint();
    let event = row.clone().into_event("s");
    let expected = match direct {
        Ok(Some(event)) => Ok(event),
        Ok(None) => generic,
        Err(e) => Err(e),
    };
    assert_eq!(
        event.as_ref().ok(),
        expected.as_ref().ok(),
        "into_event of {row:?}"
    );
    event
}

/// The text columns of a row, by index (the order of `set_column`).
const TEXT_COLUMNS: usize = 15;

fn set_column(row: &mut GoEventRow, index: usize, value: Option<String>) {
    let slot = match index {
        0 => &mut row.long_running_tool_ids_json,
        1 => &mut row.routes_json,
        2 => &mut row.output_json,
        3 => &mut row.node_info_json,
        4 => &mut row.requested_input_json,
        5 => &mut row.branch,
        6 => &mut row.isolation_scope,
        7 => &mut row.content,
        8 => &mut row.grounding_metadata,
        9 => &mut row.custom_metadata,
        10 => &mut row.usage_metadata,
        11 => &mut row.citation_metadata,
        12 => &mut row.error_code,
        13 => &mut row.error_message,
        _ => {
            row.author = value.unwrap_or_default();
            return;
        }
    };
    *slot = value;
}

const COLUMN_NAMES: [&str; TEXT_COLUMNS] = [
    "long_running_tool_ids_json",
    "routes_json",
    "output_json",
    "node_info_json",
    "requested_input_json",
    "branch",
    "isolation_scope",
    "content",
    "grounding_metadata",
    "custom_metadata",
    "usage_metadata",
    "citation_metadata",
    "error_code",
    "error_message",
    "author",
];

/// A text column from a readable row's member: absent or `null` is NULL, a string is the
/// column's text as it is, any other value its JSON text.
fn column_text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// Applies the members of a readable row (`id`, `invocation_id`, `timestamp_us`, `actions`,
/// the flags and the text columns by name) to `row`.
fn apply_readable(row: &mut GoEventRow, m: &serde_json::Map<String, Value>) {
    for (key, v) in m {
        match key.as_str() {
            "id" => row.id = column_text(Some(v)).unwrap_or_default(),
            "invocation_id" => row.invocation_id = column_text(Some(v)).unwrap_or_default(),
            "timestamp_us" => row.timestamp = Timestamp::from_micros(v.as_i64().unwrap_or(0)),
            "actions" => row.actions = column_text(Some(v)).unwrap_or_default().into_bytes(),
            "partial" => row.partial = v == &Value::Bool(true),
            "turn_complete" => row.turn_complete = v == &Value::Bool(true),
            "interrupted" => row.interrupted = v == &Value::Bool(true),
            name => {
                if let Some(i) = COLUMN_NAMES.iter().position(|c| *c == name) {
                    set_column(row, i, column_text(Some(v)));
                }
            }
        }
    }
}

/// A readable row, and a second one when it has a `second` member (the first row with
/// those members changed; id, invocation id and time stay).
fn readable_rows(data: &[u8]) -> Option<(GoEventRow, Option<GoEventRow>)> {
    let Ok(Value::Object(m)) = serde_json::from_slice::<Value>(data) else {
        return None;
    };
    let mut row = GoEventRow::default();
    apply_readable(&mut row, &m);
    let second = match m.get("second") {
        Some(Value::Object(changes)) => {
            let mut second = row.clone();
            apply_readable(&mut second, changes);
            (second.id, second.invocation_id, second.timestamp) =
                (row.id.clone(), row.invocation_id.clone(), row.timestamp);
            Some(second)
        }
        _ => None,
    };
    Some((row, second))
}

/// A text column: NULL, a word or text, or the JSON text of a generated value.
fn arbitrary_column(u: &mut Unstructured<'_>) -> Result<Option<String>> {
    Ok(match u.int_in_range(0u8..=3)? {
        0 => None,
        1 => Some(string(u)?),
        _ => Some(json(u, 4)?.to_string()),
    })
}

fn arbitrary_rows(u: &mut Unstructured<'_>) -> Result<(GoEventRow, Option<GoEventRow>)> {
    let mut row = GoEventRow {
        id: string(u)?,
        invocation_id: string(u)?,
        author: string(u)?,
        timestamp: Timestamp::from_micros(u.arbitrary()?),
        partial: u.arbitrary()?,
        turn_complete: u.arbitrary()?,
        interrupted: u.arbitrary()?,
        ..Default::default()
    };
    row.actions = match u.int_in_range(0u8..=4)? {
        0 => Vec::new(),
        1 => u.arbitrary()?,
        _ => json(u, 4)?.to_string().into_bytes(),
    };
    for i in 0..TEXT_COLUMNS - 1 {
        if u.ratio(1, 2)? {
            let value = arbitrary_column(u)?;
            set_column(&mut row, i, value);
        }
    }
    let second = if u.arbitrary()? {
        let mut second = row.clone();
        for _ in 0..u.int_in_range(1..=3)? {
            let i = u.int_in_range(0..=TEXT_COLUMNS)?;
            if i == TEXT_COLUMNS {
                second.actions = u.arbitrary()?;
            } else {
                let value = arbitrary_column(u)?;
                set_column(&mut second, i, value);
            }
        }
        Some(second)
    } else {
        None
    };
    Ok((row, second))
}
