//! adk-go's storage layout: the `events` row of adk-go's `session/database` service
//! (GORM, adk-go v2.2), one column per event field, and its conversion to and from an
//! [`Event`]. The other three tables (`sessions`, `app_states`, `user_states`) have the
//! same column names as adk-python's schema v1, so only events need their own code; each
//! backend holds the DDL and statements of its dialect.
//!
//! What is written is what adk-go itself writes and reads back:
//! - `actions`: bytes holding the JSON of adk-go's `EventActions` with camelCase keys
//!   (`stateDelta` and `artifactDelta` always present, the rest only when set). Keys adk-go
//!   does not know (adk-python's `requestedAuthConfigs`, …) are kept in the same object:
//!   adk-go ignores them, and we read them back.
//! - `content` and the `*_metadata` columns: the camelCase JSON of the genai types, bytes
//!   as standard base64 (Go's `[]byte` encoding).
//! - `long_running_tool_ids_json`, `routes_json`, `output_json`, `node_info_json`,
//!   `requested_input_json`, `custom_metadata`: JSON, or NULL when empty.
//! - `partial`, `turn_complete`, `interrupted`: always written, false when unset; read back
//!   as unset when false (adk-go cannot tell the two apart).
//! - `branch`, `isolation_scope`, `error_code`, `error_message`: NULL when empty.
//!
//! An event field adk-go has no column for (adk-python's transcriptions, `model_version`,
//! fields of later ADK versions, …), an explicit `false` of the three flags and the empty
//! members of `actions` (`"skipSummarization": false`, `"endOfAgent": false`, an empty
//! map; under `actions`) are kept in the `actions` object under [`EXTRA_KEY`]: adk-go
//! ignores the key, and we read the event back exactly as it was appended.
//!
//! Reading accepts both spellings of `actions` found in real adk-go databases: camelCase
//! keys (v2.2 and later) and the Go field names older versions wrote (`StateDelta`, with
//! `null` for empty members), matched case-insensitively as Go's `encoding/json` does.

use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use base64::Engine;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::model::{Base64Bytes, Event, EventPolicy, JsonMap};
use crate::time::Timestamp;

/// The columns of adk-go's `events` table, in GORM's order (also the insert order).
pub const EVENTS_COLUMNS: [&str; 25] = [
    "id",
    "app_name",
    "user_id",
    "session_id",
    "invocation_id",
    "author",
    "actions",
    "long_running_tool_ids_json",
    "routes_json",
    "output_json",
    "node_info_json",
    "requested_input_json",
    "branch",
    "isolation_scope",
    "timestamp",
    "content",
    "grounding_metadata",
    "custom_metadata",
    "usage_metadata",
    "citation_metadata",
    "partial",
    "turn_complete",
    "error_code",
    "error_message",
    "interrupted",
];

/// A column only adk-python's schema version 0 has (adk-go never had it): tells an
/// adk-python v0 `events` table from an adk-go one.
pub const V0_ONLY_COLUMN: &str = "input_transcription";

/// The member of the stored `actions` object that holds the event fields adk-go has no
/// column for (camelCase, as the REST API spells them).
pub const EXTRA_KEY: &str = "adkSessionsEventFields";

/// One `events` row of adk-go's layout, without the session key columns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GoEventRow {
    /// `id`.
    pub id: String,
    /// `invocation_id`.
    pub invocation_id: String,
    /// `author`.
    pub author: String,
    /// `actions`: the JSON bytes of adk-go's `EventActions`.
    pub actions: Vec<u8>,
    /// `long_running_tool_ids_json`.
    pub long_running_tool_ids_json: Option<String>,
    /// `routes_json`.
    pub routes_json: Option<String>,
    /// `output_json`.
    pub output_json: Option<String>,
    /// `node_info_json`.
    pub node_info_json: Option<String>,
    /// `requested_input_json`.
    pub requested_input_json: Option<String>,
    /// `branch`.
    pub branch: Option<String>,
    /// `isolation_scope`.
    pub isolation_scope: Option<String>,
    /// `timestamp`.
    pub timestamp: Timestamp,
    /// `content`.
    pub content: Option<String>,
    /// `grounding_metadata`.
    pub grounding_metadata: Option<String>,
    /// `custom_metadata`.
    pub custom_metadata: Option<String>,
    /// `usage_metadata`.
    pub usage_metadata: Option<String>,
    /// `citation_metadata`.
    pub citation_metadata: Option<String>,
    /// `partial`.
    pub partial: bool,
    /// `turn_complete`.
    pub turn_complete: bool,
    /// `error_code`.
    pub error_code: Option<String>,
    /// `error_message`.
    pub error_message: Option<String>,
    /// `interrupted`.
    pub interrupted: bool,
}

impl GoEventRow {
    /// The row from the columns a `SELECT` of adk-go's event columns returns, in this order
    /// (the key columns left out): 0 id, 1 invocation_id, 2 author, 3 actions,
    /// 4 long_running_tool_ids_json, 5 routes_json, 6 output_json, 7 node_info_json,
    /// 8 requested_input_json, 9 branch, 10 isolation_scope, 11 timestamp, 12 content,
    /// 13 grounding_metadata, 14 custom_metadata, 15 usage_metadata, 16 citation_metadata,
    /// 17 partial, 18 turn_complete, 19 error_code, 20 error_message, 21 interrupted.
    /// Each driver reads its own values: `text(i)` a text column (NULL: `None`), `flag(i)`
    /// a boolean one (NULL: false); `actions` and `timestamp` are read by the caller.
    pub fn from_columns<E>(
        id: String,
        actions: Vec<u8>,
        timestamp: Timestamp,
        text: impl Fn(usize) -> std::result::Result<Option<String>, E>,
        flag: impl Fn(usize) -> std::result::Result<bool, E>,
    ) -> std::result::Result<GoEventRow, E> {
        Ok(GoEventRow {
            invocation_id: text(1)?.unwrap_or_default(),
            author: text(2)?.unwrap_or_default(),
            actions,
            long_running_tool_ids_json: text(4)?,
            routes_json: text(5)?,
            output_json: text(6)?,
            node_info_json: text(7)?,
            requested_input_json: text(8)?,
            branch: text(9)?,
            isolation_scope: text(10)?,
            timestamp,
            content: text(12)?,
            grounding_metadata: text(13)?,
            custom_metadata: text(14)?,
            usage_metadata: text(15)?,
            citation_metadata: text(16)?,
            partial: flag(17)?,
            turn_complete: flag(18)?,
            error_code: text(19)?,
            error_message: text(20)?,
            interrupted: flag(21)?,
            id,
        })
    }
}

/// adk-go's `EventActions` members, as its JSON names them (v2.2).
const GO_ACTION_KEYS: [&str; 6] = [
    "stateDelta",
    "artifactDelta",
    "requestedToolConfirmations",
    "skipSummarization",
    "transferToAgent",
    "escalate",
];

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        Value::Number(_) => false,
    }
}

fn json_text(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".to_owned())
}

/// Bytes in adk-go's JSON are standard base64 (Go's `[]byte`); adk-python's are URL-safe.
/// Re-encodes the bytes fields of a content tree (`inlineData.data`, `thoughtSignature`, a
/// function response's blobs), as the schema places them, with `engine`: free-form values
/// (a function call's `args`, a response, unknown members) are left as they are.
fn reencode_base64(content: &mut Value, engine: &base64::engine::GeneralPurpose) {
    crate::model::schema::schema().each_bytes_field("Content", content, &mut |v| {
        if let Some(b) = v.as_str().and_then(Base64Bytes::decode) {
            *v = Value::String(engine.encode(b.0));
        }
    });
}

impl GoEventRow {
    /// The row adk-go would write for `event` (already prepared for storage: `temp:` keys
    /// gone), stored at `time`.
    pub fn from_event(event: &Event, time: Timestamp) -> GoEventRow {
        let mut camel = match event.to_camel_value() {
            Value::Object(m) => m,
            _ => JsonMap::new(),
        };
        for key in ["id", "invocationId", "author", "timestamp"] {
            camel.remove(key);
        }
        // What adk-go cannot hold as given: fields without a column, and empty values and
        // `false` flags (adk-go writes NULL / false for unset).
        let mut extra = JsonMap::new();
        // `isolation_scope` is a text column; a value of another type (the model does not
        // type it) is kept as given.
        let isolation_scope = match camel.remove("isolationScope") {
            Some(Value::String(s)) if !s.is_empty() => Some(s),
            None => None,
            Some(other) => {
                extra.insert("isolationScope".to_owned(), other);
                None
            }
        };
        let mut take = |key: &str| match camel.remove(key) {
            None => None,
            Some(v) if is_empty(&v) => {
                extra.insert(key.to_owned(), v);
                None
            }
            Some(v) => Some(v),
        };
        let text = |v: Option<Value>| v.map(|v| json_text(&v));
        let string = |v: Option<Value>| match v {
            Some(Value::String(s)) => Some(s),
            Some(other) => Some(json_text(&other)),
            None => None,
        };
        let flag = |v: Option<Value>| v == Some(Value::Bool(true));

        let mut actions = match take("actions") {
            Some(Value::Object(m)) => m,
            _ => JsonMap::new(),
        };
        // An empty member is not written to `actions` (older adk-go wrote every member, so
        // a `false`, `""` or `null` member reads as unset); unless it is one of the maps
        // every event has, which read back empty, it is kept with the event's other fields.
        // So is a member named like our own key, or like one of adk-go's in another case
        // (`StateDelta`), which reading takes for adk-go's.
        let mut kept_actions = JsonMap::new();
        actions.retain(|k, v| {
            let foreign_case = GO_ACTION_KEYS
                .iter()
                .any(|g| g.eq_ignore_ascii_case(k) && g != k);
            if k != EXTRA_KEY
                && !foreign_case
                && (GO_ACTION_KEYS[..2].contains(&k.as_str()) || !is_empty(v))
            {
                return true;
            }
            if !matches!(
                k.as_str(),
                "requestedAuthConfigs" | "requestedToolConfirmations"
            ) {
                kept_actions.insert(k.clone(), v.clone());
            }
            false
        });
        for key in &GO_ACTION_KEYS[..2] {
            actions
                .entry(*key)
                .or_insert_with(|| Value::Object(JsonMap::new()));
        }
        let mut content = take("content");
        if let Some(c) = content.as_mut() {
            reencode_base64(c, &STANDARD);
        }
        let mut row = GoEventRow {
            id: event.id.clone(),
            invocation_id: event.invocation_id.clone(),
            author: event.author.clone(),
            actions: Vec::new(),
            long_running_tool_ids_json: text(take("longRunningToolIds")),
            routes_json: text(take("routes")),
            output_json: text(take("output")),
            node_info_json: text(take("nodeInfo")),
            requested_input_json: text(take("requestedInput")),
            branch: string(take("branch")),
            isolation_scope,
            timestamp: time,
            content: text(content),
            grounding_metadata: text(take("groundingMetadata")),
            custom_metadata: text(take("customMetadata")),
            usage_metadata: text(take("usageMetadata")),
            citation_metadata: text(take("citationMetadata")),
            partial: flag(take("partial")),
            turn_complete: flag(take("turnComplete")),
            error_code: string(take("errorCode")),
            error_message: string(take("errorMessage")),
            interrupted: flag(take("interrupted")),
        };
        // The node info with an empty path (outside workflows) is what adk-go writes as
        // NULL; it reads back as the same default.
        if row.node_info_json.as_deref() == Some(r#"{"path":""}"#) {
            row.node_info_json = None;
        }
        extra.extend(camel);
        if !kept_actions.is_empty() {
            extra.insert("actions".to_owned(), Value::Object(kept_actions));
        }
        if !extra.is_empty() {
            actions.insert(EXTRA_KEY.to_owned(), Value::Object(extra));
        }
        row.actions = serde_json::to_vec(&actions).unwrap_or_else(|_| b"{}".to_vec());
        row
    }

    /// Every column but id, invocation id and time, joined into one text: two rows with
    /// the same fingerprint (and id, invocation id and time) decode to the same event,
    /// which is what the SQLite backend's decoded-event cache keys on. Each text goes in
    /// after its length in bytes, so no text (whatever it holds) can pass for the end of
    /// one column and the start of the next.
    #[cfg(any(feature = "sqlite", fuzzing))]
    pub fn fingerprint(&self) -> String {
        use std::fmt::Write;
        let mut out = String::with_capacity(96 + self.actions.len());
        let mut push = |tag: char, text: &str| {
            let _ = write!(out, "{tag}{}:", text.len());
            out.push_str(text);
        };
        push('a', &self.author);
        // Actions that are not UTF-8 never decode (JSON is UTF-8): marked apart from any
        // that are, whose text may be the same after the lossy conversion.
        match std::str::from_utf8(&self.actions) {
            Ok(text) => push('u', text),
            Err(_) => push('x', &String::from_utf8_lossy(&self.actions)),
        }
        for column in [
            &self.long_running_tool_ids_json,
            &self.routes_json,
            &self.output_json,
            &self.node_info_json,
            &self.requested_input_json,
            &self.branch,
            &self.isolation_scope,
            &self.content,
            &self.grounding_metadata,
            &self.custom_metadata,
            &self.usage_metadata,
            &self.citation_metadata,
            &self.error_code,
            &self.error_message,
        ] {
            match column {
                Some(text) => push('s', text),
                None => push('n', ""),
            }
        }
        for flag in [self.partial, self.turn_complete, self.interrupted] {
            out.push(if flag { '1' } else { '0' });
        }
        out
    }

    /// The event this row holds. `session` names the session in errors.
    ///
    /// Most rows (text, tool calls, plain state deltas) decode straight into the typed
    /// event; a row with anything that needs the schema's respelling (unmodeled content
    /// members, adk-python-only actions, kept fields, older adk-go's spelling) goes the
    /// general way, through [`Event::from_json`]. Both give the same event.
    pub fn into_event(self, session: &str) -> Result<Event> {
        match self.decode_direct(session)? {
            Some(event) => Ok(event),
            None => self.into_event_generic(session),
        }
    }

    fn column_error(&self, session: &str, column: &str, e: &dyn std::fmt::Display) -> Error {
        Error::storage(format!(
            "event {:?} of session {session:?}: events.{column} is not valid JSON: {e}",
            self.id
        ))
    }

    /// The typed decoding of the common rows; `None`: the row needs the general way.
    pub(crate) fn decode_direct(&self, session: &str) -> Result<Option<Event>> {
        use crate::model::{Content, EventActions, NodeInfo};
        let parse = |column: &str, text: &Option<String>| -> Result<Option<Value>> {
            match text.as_deref().map(str::trim) {
                None | Some("") | Some("null") => Ok(None),
                Some(t) => serde_json::from_str(t)
                    .map(Some)
                    .map_err(|e| self.column_error(session, column, &e)),
            }
        };
        let plain =
            |v: &Value| !matches!(v, Value::Null | Value::Bool(false)) && v.as_str() != Some("");
        let actions: EventActions = if self.actions.is_empty() {
            EventActions::default()
        } else {
            let Ok(Value::Object(stored)) = serde_json::from_slice::<Value>(&self.actions) else {
                return Ok(None);
            };
            let simple = stored.iter().all(|(k, v)| {
                matches!(
                    k.as_str(),
                    "stateDelta"
                        | "artifactDelta"
                        | "skipSummarization"
                        | "transferToAgent"
                        | "escalate"
                ) && plain(v)
            });
            if !simple {
                return Ok(None);
            }
            match serde_json::from_value(Value::Object(stored)) {
                Ok(a) => a,
                Err(_) => return Ok(None),
            }
        };
        let content: Option<Content> = match self.content.as_deref().map(str::trim) {
            None | Some("") | Some("null") => None,
            Some(text) => match serde_json::from_str::<Content>(text) {
                Ok(c) if !content_has_extras(&c) => Some(c),
                // Not the typed model (or not JSON): the general way reads it or says why
                // not (it also takes both spellings of a member in one object).
                Ok(_) | Err(_) => return Ok(None),
            },
        };
        let node_info = match parse("node_info_json", &self.node_info_json)? {
            None => NodeInfo::default(),
            Some(Value::Object(m))
                if m.len() == 1 && m.get("path").is_some_and(Value::is_string) =>
            {
                NodeInfo {
                    path: m["path"].as_str().unwrap_or_default().to_owned(),
                    ..Default::default()
                }
            }
            Some(_) => return Ok(None),
        };
        let long_running_tool_ids = match parse(
            "long_running_tool_ids_json",
            &self.long_running_tool_ids_json,
        )? {
            None => None,
            Some(v) => match serde_json::from_value::<Vec<String>>(v) {
                Ok(ids) => Some(ids),
                Err(_) => return Ok(None),
            },
        };
        let custom_metadata = match parse("custom_metadata", &self.custom_metadata)? {
            None => None,
            Some(Value::Object(m)) => Some(m),
            Some(_) => return Ok(None),
        };
        let s = crate::model::schema::schema();
        let model_value =
            |column: &str, field: &str, text: &Option<String>| -> Result<Option<Value>> {
                Ok(parse(column, text)?.map(|v| s.snake_field("Event", field, v)))
            };
        let text_of = |v: &Option<String>| v.as_ref().filter(|t| !t.is_empty()).cloned();
        let mut event = Event {
            id: self.id.clone(),
            invocation_id: self.invocation_id.clone(),
            author: self.author.clone(),
            timestamp: self.timestamp.as_secs_f64(),
            content,
            actions,
            node_info,
            partial: self.partial.then_some(true),
            turn_complete: self.turn_complete.then_some(true),
            interrupted: self.interrupted.then_some(true),
            branch: text_of(&self.branch),
            error_code: text_of(&self.error_code),
            error_message: text_of(&self.error_message),
            long_running_tool_ids,
            custom_metadata,
            usage_metadata: model_value("usage_metadata", "usage_metadata", &self.usage_metadata)?,
            grounding_metadata: model_value(
                "grounding_metadata",
                "grounding_metadata",
                &self.grounding_metadata,
            )?,
            citation_metadata: model_value(
                "citation_metadata",
                "citation_metadata",
                &self.citation_metadata,
            )?,
            output: parse("output_json", &self.output_json)?,
            ..Default::default()
        };
        if let Some(scope) = text_of(&self.isolation_scope) {
            event.extra.insert("isolation_scope".into(), scope.into());
        }
        for (key, column, text) in [
            ("routes", "routes_json", &self.routes_json),
            (
                "requestedInput",
                "requested_input_json",
                &self.requested_input_json,
            ),
        ] {
            if let Some(v) = parse(column, text)? {
                event.extra.insert(key.into(), v);
            }
        }
        // The metadata columns hold models whose field kinds the general way checks (a
        // number where an object or a list belongs is refused there): such a row goes that
        // way, for its error.
        for (field, value) in [
            ("usage_metadata", &event.usage_metadata),
            ("grounding_metadata", &event.grounding_metadata),
            ("citation_metadata", &event.citation_metadata),
        ] {
            if let Some(v) = value {
                let field = field.to_owned();
                if s.check_fields("Event", std::iter::once((&field, v)), "event", true)
                    .is_err()
                {
                    return Ok(None);
                }
            }
        }
        Ok(Some(event))
    }

    /// The general decoding (see [`GoEventRow::into_event`]).
    pub(crate) fn into_event_generic(self, session: &str) -> Result<Event> {
        let bad = |column: &str, e: &dyn std::fmt::Display| {
            Error::storage(format!(
                "event {:?} of session {session:?}: events.{column} is not valid JSON: {e}",
                self.id
            ))
        };
        let parse = |column: &str, text: &Option<String>| -> Result<Option<Value>> {
            match text.as_deref().map(str::trim) {
                None | Some("") | Some("null") => Ok(None),
                Some(t) => serde_json::from_str(t)
                    .map(Some)
                    .map_err(|e| bad(column, &e)),
            }
        };
        let mut out = JsonMap::new();
        let mut actions = if self.actions.is_empty() {
            JsonMap::new()
        } else {
            match serde_json::from_slice::<Value>(&self.actions) {
                Ok(Value::Object(m)) => go_actions(m),
                Ok(Value::Null) => JsonMap::new(),
                Ok(_) => return Err(bad("actions", &"not a JSON object")),
                Err(e) => return Err(bad("actions", &e)),
            }
        };
        if let Some(Value::Object(mut extra)) = actions.remove(EXTRA_KEY) {
            // The empty members of `actions` (see `from_event`).
            if let Some(Value::Object(kept)) = extra.remove("actions") {
                actions.extend(kept);
            }
            out.extend(extra);
        }
        // The key columns win over kept fields of the same name (which `from_event` never
        // writes: adk-go reads these columns).
        out.insert("id".into(), self.id.clone().into());
        out.insert("invocationId".into(), self.invocation_id.clone().into());
        out.insert("author".into(), self.author.clone().into());
        out.insert("timestamp".into(), self.timestamp.as_secs_f64().into());
        out.insert("actions".into(), Value::Object(actions));
        let columns = [
            (
                "longRunningToolIds",
                "long_running_tool_ids_json",
                &self.long_running_tool_ids_json,
            ),
            ("routes", "routes_json", &self.routes_json),
            ("output", "output_json", &self.output_json),
            ("nodeInfo", "node_info_json", &self.node_info_json),
            (
                "requestedInput",
                "requested_input_json",
                &self.requested_input_json,
            ),
            ("content", "content", &self.content),
            (
                "groundingMetadata",
                "grounding_metadata",
                &self.grounding_metadata,
            ),
            ("customMetadata", "custom_metadata", &self.custom_metadata),
            ("usageMetadata", "usage_metadata", &self.usage_metadata),
            (
                "citationMetadata",
                "citation_metadata",
                &self.citation_metadata,
            ),
        ];
        for (field, column, text) in columns {
            if let Some(mut v) = parse(column, text)? {
                if field == "content" {
                    // Bytes the typed model does not hold (a function response's blobs)
                    // in the alphabet adk-python writes, as the typed ones are.
                    reencode_base64(&mut v, &URL_SAFE);
                }
                out.insert(field.into(), v);
            }
        }
        let strings = [
            ("branch", &self.branch),
            ("isolationScope", &self.isolation_scope),
            ("errorCode", &self.error_code),
            ("errorMessage", &self.error_message),
        ];
        for (field, value) in strings {
            if let Some(s) = value.as_ref().filter(|s| !s.is_empty()) {
                out.insert(field.into(), s.clone().into());
            }
        }
        for (field, set) in [
            ("partial", self.partial),
            ("turnComplete", self.turn_complete),
            ("interrupted", self.interrupted),
        ] {
            if set {
                out.insert(field.into(), true.into());
            }
        }
        Event::from_json(Value::Object(out), EventPolicy::lenient()).map_err(|e| {
            Error::storage(format!(
                "event {:?} of session {session:?} cannot be read: {e}",
                self.id
            ))
        })
    }
}

/// Whether a content read from adk-go's JSON has members the typed model does not hold
/// (kept in `extra`, where the schema would respell them).
fn content_has_extras(c: &crate::model::Content) -> bool {
    !c.extra.is_empty()
        || c.parts.iter().flatten().any(|p| {
            !p.extra.is_empty()
                || p.inline_data.as_ref().is_some_and(|b| !b.extra.is_empty())
                || p.function_call
                    .as_ref()
                    .is_some_and(|f| !f.extra.is_empty())
                || p.function_response
                    .as_ref()
                    .is_some_and(|f| !f.extra.is_empty())
        })
}

/// adk-go's stored actions in our camelCase: Go field names (`StateDelta`) and any other
/// case of a known key become the camelCase key; `null`, `false` and `""` members (older
/// adk-go wrote every member) are dropped.
fn go_actions(stored: JsonMap) -> JsonMap {
    let mut out = JsonMap::new();
    for (key, value) in stored {
        if matches!(value, Value::Null | Value::Bool(false)) || value.as_str() == Some("") {
            continue;
        }
        let key = GO_ACTION_KEYS
            .iter()
            .find(|k| k.eq_ignore_ascii_case(&key))
            .map_or(key, |k| (*k).to_owned());
        out.insert(key, value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Content, Part};
    use serde_json::json;

    fn sample() -> Event {
        let mut e = Event::from_json(
            json!({
                "id": "e1", "invocationId": "inv", "author": "agent", "timestamp": 1796032800.25,
                "branch": "root.child", "turnComplete": true, "longRunningToolIds": ["t1"],
                "customMetadata": {"k": [1, 2]}, "usageMetadata": {"promptTokenCount": 3},
                "errorCode": "E", "errorMessage": "m", "isolationScope": "s",
                "routes": ["a"], "requestedInput": {"interruptId": "i"},
                "nodeInfo": {"path": "wf/n@1", "messageAsOutput": true},
                "actions": {"stateDelta": {"k": 1, "app:a": 2}, "transferToAgent": "b",
                            "escalate": true, "requestedAuthConfigs": {"c": {"x": 1}}},
            }),
            EventPolicy::lenient(),
        )
        .unwrap();
        e.content = Some(Content {
            parts: Some(vec![Part {
                thought_signature: Some(Base64Bytes(vec![0xfb, 0xff])),
                ..Part::text("hi")
            }]),
            ..Content::text("model", "")
        });
        e
    }

    #[test]
    fn an_event_round_trips_through_the_adk_go_columns() {
        let event = sample();
        let row = GoEventRow::from_event(&event, Timestamp::from_micros(1_796_032_800_250_000));
        let actions: Value = serde_json::from_slice(&row.actions).unwrap();
        assert_eq!(
            actions,
            json!({"stateDelta": {"k": 1, "app:a": 2}, "artifactDelta": {}, "transferToAgent": "b",
                   "escalate": true, "requestedAuthConfigs": {"c": {"x": 1}}})
        );
        assert_eq!(row.branch.as_deref(), Some("root.child"));
        assert!(row.turn_complete && !row.partial && !row.interrupted);
        assert_eq!(row.long_running_tool_ids_json.as_deref(), Some("[\"t1\"]"));
        assert_eq!(row.routes_json.as_deref(), Some("[\"a\"]"));
        assert_eq!(
            row.node_info_json.as_deref(),
            Some("{\"messageAsOutput\":true,\"path\":\"wf/n@1\"}")
        );
        // Go's []byte is standard base64: `+/`, not `-_`.
        assert!(
            row.content.as_deref().unwrap().contains("\"+/8=\""),
            "{row:?}"
        );
        let back = row.into_event("s").unwrap();
        assert_eq!(back, event);
    }

    /// The typed decoding of common rows gives what the general way gives.
    #[test]
    fn direct_and_general_decoding_agree() {
        let plain = Event::from_json(
            json!({
                "id": "p", "invocationId": "inv", "author": "model", "timestamp": 1796032800.123456,
                "content": {"role": "model", "parts": [
                    {"text": "hi", "thought": true, "thoughtSignature": "+/8="},
                    {"inlineData": {"mimeType": "image/png", "data": "AAEC"}},
                    {"functionCall": {"id": "c", "name": "f", "args": {"camelArg": {"deep": [1]}}}},
                    {"functionResponse": {"id": "c", "name": "f", "response": {"ok": true}}}]},
                "actions": {"stateDelta": {"k": 1, "app:a": null}, "artifactDelta": {"f": 2},
                            "transferToAgent": "b", "escalate": true, "skipSummarization": true},
                "usageMetadata": {"promptTokenCount": 3, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 3}]},
                "groundingMetadata": {"webSearchQueries": ["q"]},
                "citationMetadata": {"citations": [{"startIndex": 0, "uri": "u"}]},
                "customMetadata": {"camelKey": 1}, "output": [1, "two"],
                "longRunningToolIds": ["c"], "branch": "a.b", "errorCode": "E", "errorMessage": "m",
                "turnComplete": true, "partial": true, "interrupted": true,
                "isolationScope": "s", "routes": ["r"], "requestedInput": {"interruptId": "i"},
                "nodeInfo": {"path": "wf/n"},
            }),
            EventPolicy::lenient(),
        )
        .unwrap();
        for event in [
            plain,
            sample(),
            Event {
                id: "e".into(),
                ..Default::default()
            },
        ] {
            let row = GoEventRow::from_event(&event, Timestamp::from_micros(1_796_032_800_123_456));
            let generic = row.clone().into_event_generic("s").unwrap();
            if let Some(direct) = row.decode_direct("s").unwrap() {
                assert_eq!(direct, generic, "{row:?}");
            }
            assert_eq!(row.into_event("s").unwrap(), generic);
        }
        // The common row takes the direct way.
        let common = Event::from_json(
            json!({"id": "c", "invocationId": "i", "author": "user", "timestamp": 1.5,
                   "content": {"role": "user", "parts": [{"text": "x"}]},
                   "actions": {"stateDelta": {"counter": 1}}}),
            EventPolicy::default(),
        )
        .unwrap();
        let row = GoEventRow::from_event(&common, Timestamp::from_micros(1_500_000));
        assert_eq!(row.decode_direct("s").unwrap(), Some(common));
    }

    /// Found by fuzz/fuzz_targets/adk_go_row.rs: members of `actions` with an empty value
    /// (`false`, `""`, `null`, `{}`, `[]`) and top-level fields set to `null` were left out
    /// of the row, so the event read back was not the one appended.
    #[test]
    fn empty_action_members_and_null_fields_round_trip() {
        let event = Event::from_json(
            json!({"id": "e", "invocationId": "i", "author": "a", "timestamp": 1.5,
                "actions": {"stateDelta": {}, "skipSummarization": false, "escalate": false,
                    "transferToAgent": "", "endOfAgent": false, "agentState": {},
                    "customKey": [], "other": null, "artifactD0elta": {}},
                "finishReason": null, "unknownTopLevel": {}, "routes": null,
                "isolationScope": null}),
            EventPolicy::lenient(),
        )
        .unwrap();
        assert_eq!(event.actions.skip_summarization, Some(false));
        let row = GoEventRow::from_event(&event, Timestamp::from_micros(1_500_000));
        let stored: Value = serde_json::from_slice(&row.actions).unwrap();
        assert_eq!(
            stored["escalate"],
            Value::Null,
            "adk-go's own members stay unset"
        );
        assert_eq!(row.into_event("s").unwrap(), event);
    }

    /// Found by fuzz/fuzz_targets/adk_go_row.rs: every `thoughtSignature` member and every
    /// `data` under an `inlineData` member of the content tree was re-encoded as standard
    /// base64, also inside a function call's arguments or an unknown member, so such free
    /// text came back changed (`my_file` as `my/fil==`). Only the schema's bytes fields are
    /// re-encoded now; a function response's blobs, which the typed model does not hold,
    /// go out in Go's alphabet and come back in adk-python's.
    #[test]
    fn only_bytes_fields_of_the_content_are_reencoded() {
        let event = Event::from_json(
            json!({"id": "e", "invocationId": "i", "author": "a", "timestamp": 1.5,
                "content": {"role": "model", "parts": [
                    {"functionCall": {"name": "f", "args": {
                        "inlineData": {"data": "my_file"}, "thoughtSignature": "ab-_"}}},
                    {"functionResponse": {"name": "f", "response": {"thoughtSignature": "a-_b"},
                        "parts": [{"inlineData": {"data": "__4AAT8-", "mimeType": "x/y"}}]}},
                    {"thoughtSignature": "__4AAT8-", "text": "t"}]}}),
            EventPolicy::lenient(),
        )
        .unwrap();
        let row = GoEventRow::from_event(&event, Timestamp::from_micros(1_500_000));
        let content = row.content.as_deref().unwrap();
        assert!(content.contains(r#""data":"my_file""#), "{content}");
        assert!(
            content.contains(r#""thoughtSignature":"ab-_""#),
            "{content}"
        );
        assert!(content.contains(r#""data":"//4AAT8+""#), "{content}");
        assert!(
            content.contains(r#""thoughtSignature":"//4AAT8+""#),
            "{content}"
        );
        assert_eq!(row.into_event("s").unwrap(), event);
    }

    /// Found by fuzz/fuzz_targets/adk_go_row.rs: an `isolationScope` that is not a string
    /// (the event model keeps it untyped) was written to its text column as JSON text and
    /// read back as that string.
    #[test]
    fn an_isolation_scope_of_another_type_round_trips() {
        for scope in [
            json!([["x"]]),
            json!(3),
            json!({"a": 1}),
            json!(""),
            json!("s"),
        ] {
            let event = Event::from_json(
                json!({"id": "e", "invocationId": "i", "author": "a", "timestamp": 1.5,
                    "isolationScope": scope}),
                EventPolicy::default(),
            )
            .unwrap();
            let row = GoEventRow::from_event(&event, Timestamp::from_micros(1_500_000));
            assert_eq!(
                row.isolation_scope.is_some(),
                scope == json!("s"),
                "{row:?}"
            );
            assert_eq!(row.into_event("s").unwrap(), event, "{scope}");
        }
    }

    /// Found by fuzz/fuzz_targets/adk_go_row.rs: a kept field named like a key column
    /// (`timestamp`, `id`, `invocationId`, `author`), which `from_event` never writes but a
    /// row may hold, took the place of the column on the general way.
    #[test]
    fn the_key_columns_win_over_kept_fields() {
        let row = GoEventRow {
            id: "e".into(),
            invocation_id: "i".into(),
            author: "a".into(),
            timestamp: Timestamp::from_micros(1_500_000),
            actions: br#"{"adkSessionsEventFields": {"timestamp": -5.4e274, "id": "x",
                "invocationId": "y", "author": "z", "modelVersion": "m"}}"#
                .to_vec(),
            ..Default::default()
        };
        let event = row.into_event("s").unwrap();
        assert_eq!(
            (
                event.id.as_str(),
                event.invocation_id.as_str(),
                event.author.as_str()
            ),
            ("e", "i", "a")
        );
        assert_eq!(event.timestamp, 1.5);
        assert_eq!(event.extra["model_version"], json!("m"));
    }

    /// Found by fuzz/fuzz_targets/adk_go_row.rs: an action member named like our own key
    /// (`adkSessionsEventFields`, let through by a lenient policy) was overwritten by the
    /// kept fields; one named like adk-go's in another case (`StateDelta`) was read as
    /// adk-go's (older adk-go wrote Go field names).
    #[test]
    fn action_members_named_like_our_key_or_adk_gos_round_trip() {
        let event = Event::from_json(
            json!({"id": "e", "invocationId": "i", "author": "a", "timestamp": 1.5,
                "actions": {"adkSessionsEventFields": 7, "StateDelta": "user",
                    "ESCALATE": true, "stateDelta": {"k": 1}},
                "modelVersion": "m"}),
            EventPolicy::lenient(),
        )
        .unwrap();
        let row = GoEventRow::from_event(&event, Timestamp::from_micros(1_500_000));
        assert_eq!(row.into_event("s").unwrap(), event);
    }

    #[test]
    fn an_empty_event_writes_nulls_and_false() {
        let event = Event {
            id: "e".into(),
            invocation_id: "i".into(),
            author: "user".into(),
            timestamp: 1.5,
            ..Default::default()
        };
        let row = GoEventRow::from_event(&event, Timestamp::from_micros(1_500_000));
        assert_eq!(
            row.actions,
            br#"{"artifactDelta":{},"stateDelta":{}}"#.to_vec()
        );
        assert_eq!(row.node_info_json, None);
        assert_eq!(row.content, None);
        assert_eq!(row.branch, None);
        assert_eq!(row.into_event("s").unwrap(), event);
    }

    #[test]
    fn older_adk_go_actions_with_go_field_names_are_read() {
        let row = GoEventRow {
            id: "e".into(),
            invocation_id: "i".into(),
            author: "a".into(),
            actions: br#"{"StateDelta":{"k":"v"},"ArtifactDelta":null,"SkipSummarization":false,"TransferToAgent":"x","Escalate":false,"RequestedToolConfirmations":null}"#.to_vec(),
            ..Default::default()
        };
        let event = row.into_event("s").unwrap();
        assert_eq!(event.actions.state_delta["k"], json!("v"));
        assert_eq!(event.actions.transfer_to_agent.as_deref(), Some("x"));
        assert_eq!(event.actions.escalate, None);
    }

    /// Found by fuzz/fuzz_targets/adk_go_row.rs: the typed decoding took any JSON in the
    /// metadata columns, where the general way refuses what does not fit the model (a number
    /// for `grounding_metadata`, a number for `promptTokensDetails`, a list), so the same
    /// row was read or refused depending on the way it took.
    #[test]
    fn metadata_that_does_not_fit_its_model_is_refused_both_ways() {
        for (usage, grounding) in [
            (None, Some("8533873939403912805")),
            (Some(r#"{"promptTokensDetails": 5}"#), None),
            (Some("[1]"), None),
        ] {
            let row = GoEventRow {
                id: "e".into(),
                invocation_id: "i".into(),
                author: "a".into(),
                usage_metadata: usage.map(str::to_owned),
                grounding_metadata: grounding.map(str::to_owned),
                ..Default::default()
            };
            assert!(row.clone().into_event_generic("s").is_err(), "{row:?}");
            assert_eq!(row.decode_direct("s").unwrap(), None, "{row:?}");
            assert!(row.into_event("s").is_err());
        }
    }

    /// Found by fuzz/fuzz_targets/adk_go_row.rs: the typed decoding refused a content it
    /// could not type (here a part with both spellings of `inlineData`, the camelCase one
    /// not a blob), which the general way reads (the last spelling wins there).
    #[test]
    fn a_content_the_typed_model_refuses_goes_the_general_way() {
        let row = GoEventRow {
            id: "e".into(),
            invocation_id: "i".into(),
            author: "a".into(),
            content: Some(r#"{"parts": [{"inlineData": 5, "inline_data": {}}]}"#.into()),
            ..Default::default()
        };
        assert_eq!(row.decode_direct("s").unwrap(), None);
        let (direct, generic) = (row.clone().into_event("s"), row.into_event_generic("s"));
        assert_eq!(direct.unwrap(), generic.unwrap());
    }

    /// Found while writing fuzz/fuzz_targets/adk_go_row.rs (its check of rows with equal
    /// fingerprints; seed fuzz/corpus/adk_go_row/fingerprint_collision.json): columns were
    /// joined with U+0001, which a column may hold itself, so rows that decode to
    /// different events had one fingerprint, and the decoded-event cache of one could be
    /// returned for the other (branch `root\u{1}child` and scope `s`, branch `root` and
    /// scope `child\u{1}s`).
    #[test]
    fn rows_that_decode_differently_have_different_fingerprints() {
        let row = |branch: &str, scope: &str| GoEventRow {
            id: "e".into(),
            invocation_id: "i".into(),
            author: "a".into(),
            branch: Some(branch.into()),
            isolation_scope: Some(scope.into()),
            ..Default::default()
        };
        let (a, b) = (row("root\u{1}child", "s"), row("root", "child\u{1}s"));
        assert_ne!(
            a.clone().into_event("s").unwrap(),
            b.clone().into_event("s").unwrap()
        );
        assert_ne!(a.fingerprint(), b.fingerprint());
        let author = |author: &str, actions: &[u8]| GoEventRow {
            author: author.into(),
            actions: actions.to_vec(),
            ..Default::default()
        };
        assert_ne!(
            author("x\u{1}{}", b"").fingerprint(),
            author("x", b"{}").fingerprint()
        );
        // Not UTF-8 (never decodes) apart from the U+FFFD the lossy text shows for it.
        assert_ne!(
            author("x", b"[\"\xff\"]").fingerprint(),
            author("x", "[\"\u{fffd}\"]".as_bytes()).fingerprint()
        );
    }

    #[test]
    fn a_bad_column_names_itself() {
        let row = GoEventRow {
            id: "e".into(),
            content: Some("{oops".into()),
            ..Default::default()
        };
        let e = row.into_event("s").unwrap_err().to_string();
        assert!(e.contains("events.content"), "{e}");
    }
}
