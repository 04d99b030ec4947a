//! JSON spellings of an [`Event`]: snake_case as adk-python stores `event_data`, camelCase
//! as adk-python's API server serves it. Input is accepted in either spelling (mixed
//! too), with the timestamp as float epoch seconds or an RFC 3339 string.

use serde_json::Value;

use super::event::Event;
use super::schema::{schema, Spelling};
use crate::error::{Error, Result};
use crate::time::parse_rfc3339_secs;

/// How strictly incoming events are checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventPolicy {
    /// Keep fields adk-python does not know inside `actions` and the content model instead
    /// of refusing them. Off by default: adk-python 2.13 cannot read back a session holding
    /// such an event. Turn it on only for deployments without Python readers.
    pub lenient_unknown_fields: bool,
}

impl EventPolicy {
    /// The default: unknown fields inside `actions` and the content model are refused.
    pub const fn strict() -> Self {
        EventPolicy {
            lenient_unknown_fields: false,
        }
    }

    /// Unknown fields inside `actions` and the content model are kept (for deployments
    /// without Python readers, which could not read such a session back).
    pub const fn lenient() -> Self {
        EventPolicy {
            lenient_unknown_fields: true,
        }
    }
}

impl Event {
    /// Parses an event from JSON in either spelling. Unknown top-level fields are kept;
    /// unknown fields inside `actions` or the content model are refused unless `policy`
    /// is lenient. Missing `id`, `invocation_id` or `timestamp` stay empty / 0.
    pub fn from_json(value: Value, policy: EventPolicy) -> Result<Event> {
        if !value.is_object() {
            return Err(Error::invalid("event must be a JSON object"));
        }
        let mut value = schema().respell("Event", value, Spelling::Snake);
        if let Some(ts) = value.get_mut("timestamp") {
            match ts {
                Value::String(text) => {
                    let secs = parse_rfc3339_secs(text).ok_or_else(|| {
                        Error::invalid(format!(
                            "event.timestamp {text:?} is neither float epoch seconds nor an RFC 3339 date-time"
                        ))
                    })?;
                    *ts = Value::from(secs);
                }
                Value::Number(_) | Value::Null => {}
                _ => {
                    return Err(Error::invalid(
                        "event.timestamp must be float epoch seconds or an RFC 3339 string",
                    ))
                }
            }
        }
        schema()
            .check("Event", &value, "event", policy.lenient_unknown_fields)
            .map_err(Error::InvalidArgument)?;
        serde_json::from_value(value).map_err(|e| Error::invalid(format!("event: {e}")))
    }

    /// Parses an event from JSON text in either spelling (see [`Event::from_json`]).
    pub fn from_json_str(text: &str, policy: EventPolicy) -> Result<Event> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| Error::invalid(format!("event JSON: {e}")))?;
        Event::from_json(value, policy)
    }

    /// Reads `event_data` as stored by adk-python or this crate (snake_case). Nothing is
    /// refused that adk-python itself wrote.
    /// Bare `NaN` / `Infinity` written by Python's `json.dumps` are read as `null`.
    pub fn from_storage_json(text: &str) -> Result<Event> {
        serde_json::from_str(text)
            .or_else(|e| match python_json_to_json(text) {
                Some(fixed) => serde_json::from_str(&fixed),
                None => Err(e),
            })
            .map(|mut event: Event| {
                // adk-js stores event timestamps in epoch milliseconds.
                event.timestamp = crate::time::epoch_secs(event.timestamp);
                event
            })
            .map_err(|e| Error::storage(format!("stored event_data is not a valid event: {e}")))
    }

    /// The snake_case JSON text adk-python stores in `event_data`.
    pub fn to_storage_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }

    /// The snake_case JSON value (storage spelling).
    pub fn to_snake_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The camelCase JSON value adk-python's API server serves (see [`Event::camel`]
    /// to write it without building the tree).
    pub fn to_camel_value(&self) -> Value {
        serde_json::to_value(self.camel()).unwrap_or(Value::Null)
    }

    /// Checks what a stored event must satisfy: ids present and within the schema's
    /// lengths, an author, a finite timestamp before 2100 (so every revision derived from it
    /// is exact in every store and in float seconds), and (unless lenient) no field inside `actions` or the
    /// content model that adk-python would refuse.
    pub fn validate(&self, policy: EventPolicy) -> Result<()> {
        if self.id.is_empty() {
            return Err(Error::invalid("event.id is empty"));
        }
        if self.id.len() > 128 && self.id.chars().count() > 128 {
            return Err(Error::invalid("event.id is longer than 128 characters"));
        }
        if self.invocation_id.is_empty() {
            return Err(Error::invalid("event.invocation_id is empty"));
        }
        if self.invocation_id.len() > 256 && self.invocation_id.chars().count() > 256 {
            return Err(Error::invalid(
                "event.invocation_id is longer than 256 characters",
            ));
        }
        if self.author.is_empty() {
            return Err(Error::invalid(
                "event.author is empty: ADK requires the author of every event",
            ));
        }
        if !self.timestamp.is_finite() || self.timestamp < 0.0 {
            return Err(Error::invalid(format!(
                "event.timestamp {} is not a finite, non-negative number of seconds",
                self.timestamp
            )));
        }
        if self.timestamp >= crate::time::MAX_EVENT_SECS {
            return Err(Error::invalid(format!(
                "event.timestamp {} is not before 2100-01-01 (epoch seconds {}); send float epoch seconds",
                self.timestamp,
                crate::time::MAX_EVENT_SECS
            )));
        }
        self.check_fields(policy.lenient_unknown_fields)
            .map_err(Error::InvalidArgument)
    }

    fn check_fields(&self, lenient: bool) -> std::result::Result<(), String> {
        let s = schema();
        self.check_extra(|| "event".into(), lenient)?;
        self.actions
            .check_extra(|| "event.actions".into(), lenient)?;
        self.node_info
            .check_extra(|| "event.node_info".into(), lenient)?;
        for (k, v) in &self.actions.requested_tool_confirmations {
            s.check(
                "ToolConfirmation",
                v,
                &format!("event.actions.requested_tool_confirmations.{k}"),
                lenient,
            )?;
        }
        for (model, value, path) in [
            (
                "GenerateContentResponseUsageMetadata",
                &self.usage_metadata,
                "event.usage_metadata",
            ),
            (
                "GroundingMetadata",
                &self.grounding_metadata,
                "event.grounding_metadata",
            ),
            (
                "CitationMetadata",
                &self.citation_metadata,
                "event.citation_metadata",
            ),
        ] {
            if let Some(v) = value {
                s.check(model, v, path, lenient)?;
            }
        }
        let Some(content) = &self.content else {
            return Ok(());
        };
        content.check_extra(|| "event.content".into(), lenient)?;
        for (i, part) in content.parts.iter().flatten().enumerate() {
            let at = |field: &str| format!("event.content.parts[{i}]{field}");
            part.check_extra(|| at(""), lenient)?;
            if let Some(b) = &part.inline_data {
                b.check_extra(|| at(".inline_data"), lenient)?;
            }
            if let Some(c) = &part.function_call {
                c.check_extra(|| at(".function_call"), lenient)?;
            }
            if let Some(r) = &part.function_response {
                r.check_extra(|| at(".function_response"), lenient)?;
            }
        }
        Ok(())
    }
}

/// Rewrites the bare `NaN`, `Infinity` and `-Infinity` tokens Python's `json.dumps`
/// writes (outside strings) to `null`; `None` when there is none, so the text was broken
/// for another reason.
pub fn python_json_to_json(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let token = ["-Infinity", "Infinity", "NaN"]
            .into_iter()
            .find(|t| rest.starts_with(t));
        if let Some(t) = token {
            out.push_str("null");
            changed = true;
            rest = &rest[t.len()..];
            continue;
        }
        if c == '"' {
            in_string = true;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn camel_and_snake_input_parse_to_the_same_event() {
        let camel = json!({"id": "e1", "invocationId": "i1", "author": "user",
            "timestamp": "2026-01-01T00:00:00.25Z",
            "actions": {"stateDelta": {"fooBar": 1}}});
        let snake = json!({"id": "e1", "invocation_id": "i1", "author": "user",
            "timestamp": 1767225600.25,
            "actions": {"state_delta": {"fooBar": 1}}});
        let a = Event::from_json(camel, EventPolicy::default()).unwrap();
        let b = Event::from_json(snake, EventPolicy::default()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.actions.state_delta["fooBar"], json!(1));
    }

    #[test]
    fn unknown_action_field_is_refused_by_name() {
        let err = Event::from_json(
            json!({"id": "e", "invocation_id": "i", "actions": {"notAField": 1}}),
            EventPolicy::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("event.actions.notAField"), "{err}");
    }

    #[test]
    fn python_non_finite_tokens_read_as_null_outside_strings() {
        let fixed = python_json_to_json(
            r#"{"a": NaN, "b": [Infinity, -Infinity], "c": "NaN \" Infinity"}"#,
        )
        .unwrap();
        let v: Value = serde_json::from_str(&fixed).unwrap();
        assert_eq!(
            v,
            json!({"a": null, "b": [null, null], "c": "NaN \" Infinity"})
        );
        assert_eq!(python_json_to_json(r#"{"a": "NaN"}"#), None);
    }

    #[test]
    fn camel_output_equals_respelled_snake_output() {
        let event = Event::from_json(
            json!({"id": "e1", "invocationId": "i1", "author": "a", "timestamp": 1.5,
                "content": {"role": "model", "parts": [
                    {"text": "t", "thoughtSignature": "AAE="},
                    {"functionCall": {"id": "c", "name": "f", "args": {"a_b": 1},
                        "willContinue": true}},
                    {"inlineData": {"data": "AAE=", "mimeType": "x/y", "displayName": "d"}}]},
                "actions": {"stateDelta": {"k_k": 1}, "endOfAgent": true,
                    "requestedToolConfirmations": {"c": {"hint": "h", "toolName": "x"}},
                    "compaction": {"startTimestamp": 1.0, "endTimestamp": 2.0,
                        "compactedContent": {"role": "model", "parts": [{"text": "s"}]}}},
                "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 4},
                "customMetadata": {"my_key": {"inner_key": 1}},
                "modelVersion": "m", "unknownThing": {"some_key": 1},
                "longRunningToolIds": ["c"], "turnComplete": true}),
            EventPolicy {
                lenient_unknown_fields: true,
            },
        )
        .unwrap();
        let via_tree = schema().respell("Event", event.to_snake_value(), Spelling::Camel);
        assert_eq!(event.to_camel_value(), via_tree);
        assert_eq!(
            via_tree["actions"]["requestedToolConfirmations"]["c"]["toolName"],
            json!("x")
        );
        assert_eq!(
            via_tree["actions"]["compaction"]["compactedContent"]["role"],
            json!("model")
        );
        assert_eq!(via_tree["usageMetadata"]["promptTokenCount"], json!(3));
        assert_eq!(via_tree["customMetadata"]["my_key"]["inner_key"], json!(1));
        assert_eq!(
            via_tree["content"]["parts"][2]["inlineData"]["displayName"],
            json!("d")
        );
    }

    #[test]
    fn an_extra_member_named_like_a_field_is_refused() {
        let mut event = Event::new("i", "a");
        event.extra.insert("invocationId".into(), json!("other"));
        let err = event.validate(EventPolicy::default()).unwrap_err();
        assert!(err.to_string().contains("\"invocationId\""), "{err}");
        let mut event = Event::new("i", "a").with_content(crate::model::Content::text("user", "t"));
        if let Some(parts) = event.content.as_mut().and_then(|c| c.parts.as_mut()) {
            parts[0].extra.insert("text".into(), json!("shadow"));
        }
        let err = event.validate(EventPolicy::default()).unwrap_err();
        assert!(err.to_string().contains("event.content.parts[0]"), "{err}");
    }

    #[test]
    fn bad_timestamp_is_refused() {
        let err = Event::from_json(json!({"timestamp": "soon"}), EventPolicy::default());
        assert!(matches!(err, Err(Error::InvalidArgument(_))));
    }
}
