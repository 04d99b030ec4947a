//! What the fuzz targets share: the expected result of reading stored events back, and a
//! generator of JSON values built from ADK's field names.

use adk_sessions::Event;
use arbitrary::{Result, Unstructured};
use serde_json::{Map, Value};

/// Epoch numbers at least this large are read as milliseconds when an event is read from
/// storage (`Event::from_storage_json`, for adk-js's millisecond timestamps): the library's
/// `EPOCH_MILLIS_FROM`, 10^11 (the year 5138 in seconds).
pub const EPOCH_MILLIS_FROM: f64 = 1e11;

/// `event` as reading its storage JSON must give it back: equal, except that a timestamp of
/// 10^11 or more is taken as milliseconds (documented in `crate::time::epoch_secs`); an
/// event whose timestamp is that large cannot be stored anyway (`Event::validate` refuses
/// anything from 2100 on).
pub fn expected_after_storage(event: &Event) -> Event {
    let mut expected = event.clone();
    if expected.timestamp.abs() >= EPOCH_MILLIS_FROM {
        expected.timestamp /= 1000.0;
    }
    expected
}

/// Member names of ADK's event model in both spellings, adk-go's older Go field names and
/// the names this crate keeps its own things under: a generated object uses one of them
/// most of the time, so generated values reach the code that tells fields apart.
pub const KEYS: &[&str] = &[
    "id",
    "invocationId",
    "invocation_id",
    "author",
    "timestamp",
    "actions",
    "stateDelta",
    "state_delta",
    "StateDelta",
    "artifactDelta",
    "ArtifactDelta",
    "requestedToolConfirmations",
    "requested_tool_confirmations",
    "requestedAuthConfigs",
    "skipSummarization",
    "SkipSummarization",
    "transferToAgent",
    "TransferToAgent",
    "escalate",
    "Escalate",
    "endOfAgent",
    "compaction",
    "compactedContent",
    "startTimestamp",
    "adkSessionsEventFields",
    "content",
    "parts",
    "role",
    "text",
    "thought",
    "thoughtSignature",
    "thought_signature",
    "inlineData",
    "inline_data",
    "data",
    "mimeType",
    "mime_type",
    "displayName",
    "functionCall",
    "function_call",
    "functionResponse",
    "name",
    "args",
    "response",
    "willContinue",
    "nodeInfo",
    "node_info",
    "path",
    "messageAsOutput",
    "partial",
    "turnComplete",
    "turn_complete",
    "interrupted",
    "branch",
    "errorCode",
    "errorMessage",
    "longRunningToolIds",
    "customMetadata",
    "custom_metadata",
    "usageMetadata",
    "usage_metadata",
    "promptTokenCount",
    "prompt_token_count",
    "groundingMetadata",
    "citationMetadata",
    "citations",
    "output",
    "modelVersion",
    "model_version",
    "isolationScope",
    "isolation_scope",
    "routes",
    "requestedInput",
    "interruptId",
    "toolName",
    "tool_name",
    "hint",
    "app:k",
    "user:k",
    "temp:k",
    "k",
];

/// Strings that mean something somewhere in an event: base64 in both alphabets, empty.
const WORDS: &[&str] = &[
    "", "user", "model", "AAE=", "+/8=", "-_8=", "__4AAT8-", "AA", "x", "null", "true",
];

/// A JSON value of at most `depth` levels: objects mostly keyed by [`KEYS`].
pub fn json(u: &mut Unstructured<'_>, depth: u32) -> Result<Value> {
    let kind = u.int_in_range(0u8..=if depth == 0 { 5 } else { 7 })?;
    Ok(match kind {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary()?),
        2 => Value::from(u.arbitrary::<i64>()?),
        3 => serde_json::Number::from_f64(u.arbitrary()?).map_or(Value::Null, Value::Number),
        4 => Value::String(string(u)?),
        5 => Value::from(u.int_in_range(0u64..=2_000_000_000)?),
        6 => {
            let n = u.int_in_range(0..=4)?;
            Value::Array((0..n).map(|_| json(u, depth - 1)).collect::<Result<_>>()?)
        }
        _ => {
            let n = u.int_in_range(0..=5)?;
            let mut m = Map::new();
            for _ in 0..n {
                let key = if u.ratio(7, 8)? {
                    (*u.choose(KEYS)?).to_owned()
                } else {
                    u.arbitrary()?
                };
                m.insert(key, json(u, depth - 1)?);
            }
            Value::Object(m)
        }
    })
}

/// A string: mostly one of a few meaningful words, else arbitrary text.
pub fn string(u: &mut Unstructured<'_>) -> Result<String> {
    if u.ratio(1, 2)? {
        Ok((*u.choose(WORDS)?).to_owned())
    } else {
        u.arbitrary()
    }
}
