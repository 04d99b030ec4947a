//! The body of a session create, read with a bound on its `events` array.
//!
//! A create may restore a session from events, and each event becomes a full `Event`
//! (ids and times filled in, defaults for every field) and a full object in the answer.
//! Read as a plain JSON tree, a small body of many empty events (`[{}, {}, …]`) would grow
//! the server's memory by hundreds of times its size before anything could refuse it. So
//! the body is parsed with a visitor that stops at the first event past the limit: what
//! the server holds stays proportional to the body and the limit, and a body over it is
//! refused before any event is decoded.

use std::fmt;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

/// The scalar `visit_*` methods of a visitor that builds a `serde_json::Value`.
macro_rules! scalars {
    () => {
        fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Value, E> {
            Ok(Value::Bool(v))
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Value, E> {
            Ok(Value::from(v))
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Value, E> {
            Ok(Value::from(v))
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
            Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Value, E> {
            Ok(Value::String(v.to_owned()))
        }
        fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Value, E> {
            Ok(Value::String(v))
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Value, E> {
            Ok(Value::Null)
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Value, E> {
            Ok(Value::Null)
        }
    };
}

/// The marker of the error raised when the `events` array is over the limit.
const TOO_MANY: &str = "adk-sessions: too many initial events";

/// How a create body was read.
pub enum CreateBody {
    /// The body as JSON (the `events` member holds at most the limit).
    Json(Value),
    /// The `events` array holds more than the limit.
    TooManyEvents,
    /// Not JSON (or not UTF-8): the caller reports it with the usual JSON error.
    Invalid,
}

/// Parses `text`, refusing an `events` array of more than `max_events` items as soon as its item `max_events + 1` starts.
pub fn parse(text: &str, max_events: usize) -> CreateBody {
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed = Top { max_events }
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v));
    match parsed {
        Ok(v) => CreateBody::Json(v),
        Err(e) if e.to_string().starts_with(TOO_MANY) => CreateBody::TooManyEvents,
        Err(_) => CreateBody::Invalid,
    }
}

/// The top level: an object whose `events` member is bounded; anything else as it is.
struct Top {
    max_events: usize,
}

impl<'de> DeserializeSeed<'de> for Top {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(TopVisitor(self.max_events))
    }
}

struct TopVisitor(usize);

impl<'de> Visitor<'de> for TopVisitor {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = if key == "events" {
                map.next_value_seed(Events(self.0))?
            } else {
                map.next_value::<Value>()?
            };
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Value, A::Error> {
        Value::deserialize(SeqAccessDeserializer::new(seq))
    }
    scalars!();
}

/// The `events` member: an array of at most `.0` items, or any other value as it is (the
/// handler then reports its type).
struct Events(usize);

impl<'de> DeserializeSeed<'de> for Events {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(EventsVisitor(self.0))
    }
}

struct EventsVisitor(usize);

impl<'de> Visitor<'de> for EventsVisitor {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of events")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(self.0));
        while let Some(item) = seq.next_element::<Value>()? {
            if items.len() == self.0 {
                return Err(A::Error::custom(TOO_MANY));
            }
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Value, A::Error> {
        Value::deserialize(MapAccessDeserializer::new(map))
    }
    scalars!();
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_up_to_the_limit_are_read_as_json() {
        let CreateBody::Json(v) = parse(r#"{"sessionId": "s", "events": [{}, {"a": 1}]}"#, 2)
        else {
            panic!("refused")
        };
        assert_eq!(v, json!({"sessionId": "s", "events": [{}, {"a": 1}]}));
    }

    #[test]
    fn one_event_over_the_limit_is_refused() {
        assert!(matches!(
            parse(r#"{"events": [{}, {}, {}]}"#, 2),
            CreateBody::TooManyEvents
        ));
    }

    #[test]
    fn other_shapes_are_kept_for_the_handler_to_report() {
        for (text, want) in [
            (r#"{"events": "no"}"#, json!({"events": "no"})),
            (r#"{"events": {"a": [1]}}"#, json!({"events": {"a": [1]}})),
            (r#"[1, 2]"#, json!([1, 2])),
            (r#"3.5"#, json!(3.5)),
            (
                r#"{"state": {"events": [1, 2, 3]}}"#,
                json!({"state": {"events": [1, 2, 3]}}),
            ),
        ] {
            let CreateBody::Json(v) = parse(text, 2) else {
                panic!("{text} refused")
            };
            assert_eq!(v, want, "{text}");
        }
    }

    #[test]
    fn malformed_json_is_invalid() {
        assert!(matches!(parse(r#"{"events": [}"#, 2), CreateBody::Invalid));
        assert!(matches!(parse(r#"{} x"#, 2), CreateBody::Invalid));
    }
}
