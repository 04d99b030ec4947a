//! The field layout of adk-python 2.13's `Event` and every model reachable from it,
//! generated from the real package by `tools/dump_adk_schema.py` into
//! `adk_schema.json`. It drives the two things that must match adk-python exactly:
//! the camelCase ↔ snake_case field names (never touching keys of free-form maps), and
//! which objects refuse fields they do not know (`extra='forbid'` in pydantic).

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::bytes::Base64Bytes;

/// How a field's value is shaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A string, number, bool or enum.
    Scalar,
    /// Base64 text.
    Bytes,
    /// Free-form JSON: its keys are never renamed or checked.
    Any,
    /// A nested model.
    Model(String),
    /// A list of a nested model.
    List(String),
    /// A map from free-form keys to a nested model.
    Map(String),
}

impl Kind {
    fn parse(text: &str) -> Kind {
        if let Some(m) = text.strip_prefix("list:model:") {
            Kind::List(m.to_owned())
        } else if let Some(m) = text.strip_prefix("map:model:") {
            Kind::Map(m.to_owned())
        } else if let Some(m) = text.strip_prefix("model:") {
            Kind::Model(m.to_owned())
        } else {
            match text {
                "any" => Kind::Any,
                "bytes" => Kind::Bytes,
                _ => Kind::Scalar,
            }
        }
    }
}

#[derive(Debug)]
pub(crate) struct Field {
    pub alias: String,
    pub kind: Kind,
}

#[derive(Debug)]
pub(crate) struct Model {
    /// Unknown fields make adk-python's validation fail.
    pub forbid: bool,
    /// snake_case name → field.
    pub fields: HashMap<String, Field>,
    /// camelCase alias → snake_case name.
    pub by_alias: HashMap<String, String>,
}

#[derive(Deserialize)]
struct RawSchema {
    models: HashMap<String, RawModel>,
}

#[derive(Deserialize)]
struct RawModel {
    extra: String,
    fields: HashMap<String, RawField>,
}

#[derive(Deserialize)]
struct RawField {
    alias: String,
    kind: String,
}

/// The parsed schema.
pub(crate) struct Schema {
    models: HashMap<String, Model>,
}

static SCHEMA: OnceLock<Schema> = OnceLock::new();

/// The adk-python 2.13 schema, parsed once.
pub(crate) fn schema() -> &'static Schema {
    SCHEMA.get_or_init(|| {
        let raw: RawSchema = serde_json::from_str(include_str!("adk_schema.json"))
            .expect("adk_schema.json is generated and valid");
        let models = raw
            .models
            .into_iter()
            .map(|(name, m)| {
                let fields: HashMap<String, Field> = m
                    .fields
                    .into_iter()
                    .map(|(n, f)| {
                        (
                            n,
                            Field {
                                alias: f.alias,
                                kind: Kind::parse(&f.kind),
                            },
                        )
                    })
                    .collect();
                let by_alias = fields
                    .iter()
                    .map(|(n, f)| (f.alias.clone(), n.clone()))
                    .collect();
                (
                    name,
                    Model {
                        forbid: m.extra == "forbid",
                        fields,
                        by_alias,
                    },
                )
            })
            .collect();
        Schema { models }
    })
}

/// Which spelling to write field names in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Spelling {
    Snake,
    Camel,
}

impl Schema {
    /// Rewrites the field names of `value` (an instance of `model`) into `spelling`,
    /// accepting either spelling on input. Unknown fields keep their name; free-form maps
    /// are copied untouched.
    pub(crate) fn respell(&self, model: &str, value: Value, spelling: Spelling) -> Value {
        let Some(m) = self.models.get(model) else {
            return value;
        };
        let Value::Object(obj) = value else {
            return value;
        };
        let mut out = Map::with_capacity(obj.len());
        for (key, v) in obj {
            let snake = if m.fields.contains_key(&key) {
                Some(key.clone())
            } else {
                m.by_alias.get(&key).cloned()
            };
            match snake.and_then(|s| m.fields.get(&s).map(|f| (s, f))) {
                Some((snake, field)) => {
                    let name = match spelling {
                        Spelling::Snake => snake,
                        Spelling::Camel => field.alias.clone(),
                    };
                    out.insert(name, self.respell_kind(&field.kind, v, spelling));
                }
                None => {
                    out.insert(key, v);
                }
            }
        }
        Value::Object(out)
    }

    fn respell_kind(&self, kind: &Kind, v: Value, spelling: Spelling) -> Value {
        match (kind, v) {
            (Kind::Model(m), v) => self.respell(m, v, spelling),
            (Kind::List(m), Value::Array(items)) => Value::Array(
                items
                    .into_iter()
                    .map(|i| self.respell(m, i, spelling))
                    .collect(),
            ),
            (Kind::Map(m), Value::Object(entries)) => Value::Object(
                entries
                    .into_iter()
                    .map(|(k, i)| (k, self.respell(m, i, spelling)))
                    .collect(),
            ),
            (_, v) => v,
        }
    }

    /// True when values of `field` of `model` contain model objects whose field names
    /// change with the spelling (a nested model, a list or map of them).
    pub(crate) fn field_holds_models(&self, model: &str, field: &str) -> bool {
        self.models
            .get(model)
            .and_then(|m| m.fields.get(field))
            .is_some_and(|f| matches!(f.kind, Kind::Model(_) | Kind::List(_) | Kind::Map(_)))
    }

    /// `value`, the value of `field` of `model`, with the names of the models inside it
    /// respelled to camelCase.
    pub(crate) fn respell_field(&self, model: &str, field: &str, value: Value) -> Value {
        match self.models.get(model).and_then(|m| m.fields.get(field)) {
            Some(f) => self.respell_kind(&f.kind, value, Spelling::Camel),
            None => value,
        }
    }

    /// `value`, the value of `field` of `model`, with the names of the models inside it
    /// respelled to snake_case (the storage spelling).
    pub(crate) fn snake_field(&self, model: &str, field: &str, value: Value) -> Value {
        match self.models.get(model).and_then(|m| m.fields.get(field)) {
            Some(f) => self.respell_kind(&f.kind, value, Spelling::Snake),
            None => value,
        }
    }

    /// The camelCase name and respelled value of member `key` (either spelling) of a
    /// `model` instance; `None` when the schema does not know the member.
    pub(crate) fn camel_member(
        &self,
        model: &str,
        key: &str,
        value: &Value,
    ) -> Option<(&str, Value)> {
        let m = self.models.get(model)?;
        let field = match m.fields.get(key) {
            Some(f) => f,
            None => m.fields.get(m.by_alias.get(key)?)?,
        };
        Some((
            field.alias.as_str(),
            self.respell_kind(&field.kind, value.clone(), Spelling::Camel),
        ))
    }

    /// Calls `f` on every base64 (`bytes`) field of `value`, an instance of `model` in
    /// either spelling, following the nested models; free-form values (a function call's
    /// `args`, unknown members) are never entered.
    pub(crate) fn each_bytes_field(
        &self,
        model: &str,
        value: &mut Value,
        f: &mut dyn FnMut(&mut Value),
    ) {
        let (Some(m), Value::Object(obj)) = (self.models.get(model), value) else {
            return;
        };
        for (key, v) in obj.iter_mut() {
            let field = match m.fields.get(key) {
                Some(field) => field,
                None => match m.by_alias.get(key).and_then(|snake| m.fields.get(snake)) {
                    Some(field) => field,
                    None => continue,
                },
            };
            match (&field.kind, v) {
                (Kind::Bytes, v) => f(v),
                (Kind::Model(n), v) => self.each_bytes_field(n, v, f),
                (Kind::List(n), Value::Array(items)) => {
                    for item in items {
                        self.each_bytes_field(n, item, f);
                    }
                }
                (Kind::Map(n), Value::Object(entries)) => {
                    for item in entries.values_mut() {
                        self.each_bytes_field(n, item, f);
                    }
                }
                _ => {}
            }
        }
    }

    /// Checks a snake_case instance of `model`: in a model that forbids unknown fields, an
    /// unknown field is an error (unless `lenient`); bytes fields must be base64.
    /// `path` names the value in the error message.
    pub(crate) fn check(
        &self,
        model: &str,
        value: &Value,
        path: &str,
        lenient: bool,
    ) -> Result<(), String> {
        match value {
            Value::Object(obj) => self.check_fields(model, obj.iter(), path, lenient),
            Value::Null => Ok(()),
            _ => Err(format!("{path} must be a JSON object")),
        }
    }

    /// Like [`Schema::check`] for the given fields of an instance of `model`.
    pub(crate) fn check_fields<'a>(
        &self,
        model: &str,
        fields: impl Iterator<Item = (&'a String, &'a Value)>,
        path: &str,
        lenient: bool,
    ) -> Result<(), String> {
        let mut fields = fields.peekable();
        if fields.peek().is_none() {
            return Ok(());
        }
        let Some(m) = self.models.get(model) else {
            return Ok(());
        };
        for (key, v) in fields {
            match m.fields.get(key) {
                Some(field) => {
                    self.check_kind(&field.kind, v, &format!("{path}.{key}"), lenient)?
                }
                None if m.forbid && !lenient => {
                    return Err(format!(
                        "unknown field {path}.{key}: adk-python 2.13 forbids unknown fields in {model} \
                         and could not read the session back (enable the lenient option to keep it)"
                    ))
                }
                None => {}
            }
        }
        Ok(())
    }

    fn check_kind(&self, kind: &Kind, v: &Value, path: &str, lenient: bool) -> Result<(), String> {
        match (kind, v) {
            (_, Value::Null) => Ok(()),
            (Kind::Model(m), v) => self.check(m, v, path, lenient),
            (Kind::List(m), Value::Array(items)) => items
                .iter()
                .enumerate()
                .try_for_each(|(i, item)| self.check(m, item, &format!("{path}[{i}]"), lenient)),
            (Kind::List(_), _) => Err(format!("{path} must be a JSON array")),
            (Kind::Map(m), Value::Object(entries)) => entries
                .iter()
                .try_for_each(|(k, item)| self.check(m, item, &format!("{path}.{k}"), lenient)),
            (Kind::Map(_), _) => Err(format!("{path} must be a JSON object")),
            (Kind::Bytes, Value::String(s)) => Base64Bytes::decode(s)
                .map(|_| ())
                .ok_or_else(|| format!("{path} is not valid base64")),
            (Kind::Bytes, _) => Err(format!("{path} must be a base64 string")),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn respelling_renames_model_fields_but_not_free_form_keys() {
        let camel = json!({
            "invocationId": "i",
            "actions": {"stateDelta": {"someKey": 1, "user:fooBar": 2}},
            "content": {"parts": [{"functionCall": {"args": {"argName": 1}}}]},
            "customMetadata": {"myKey": true},
            "unknownTopLevel": {"innerCamel": 1}
        });
        let snake = schema().respell("Event", camel.clone(), Spelling::Snake);
        assert_eq!(
            snake,
            json!({
                "invocation_id": "i",
                "actions": {"state_delta": {"someKey": 1, "user:fooBar": 2}},
                "content": {"parts": [{"function_call": {"args": {"argName": 1}}}]},
                "custom_metadata": {"myKey": true},
                "unknownTopLevel": {"innerCamel": 1}
            })
        );
        assert_eq!(schema().respell("Event", snake, Spelling::Camel), camel);
    }

    #[test]
    fn declared_camel_names_are_adk_python_aliases() {
        use crate::model::*;
        let declared = [
            ("Event", Event::CAMEL_NAMES),
            ("EventActions", EventActions::CAMEL_NAMES),
            ("NodeInfo", NodeInfo::CAMEL_NAMES),
            ("Content", Content::CAMEL_NAMES),
            ("Part", Part::CAMEL_NAMES),
            ("Blob", Blob::CAMEL_NAMES),
            ("FunctionCall", FunctionCall::CAMEL_NAMES),
            ("FunctionResponse", FunctionResponse::CAMEL_NAMES),
        ];
        for (model, names) in declared {
            let m = &schema().models[model];
            for (snake, camel) in names {
                let field = m
                    .fields
                    .get(*snake)
                    .unwrap_or_else(|| panic!("{model}.{snake} is not in adk_schema.json"));
                assert_eq!(field.alias, *camel, "{model}.{snake}");
            }
        }
    }

    #[test]
    fn unknown_fields_are_refused_only_where_adk_python_forbids_them() {
        let s = schema();
        assert!(s
            .check("Event", &json!({"brand_new": 1}), "event", false)
            .is_ok());
        let err = s
            .check("Event", &json!({"actions": {"bogus": 1}}), "event", false)
            .unwrap_err();
        assert!(err.contains("event.actions.bogus"), "{err}");
        assert!(s
            .check("Event", &json!({"actions": {"bogus": 1}}), "event", true)
            .is_ok());
        assert!(s
            .check(
                "Part",
                &json!({"inline_data": {"data": "@@"}}),
                "part",
                false
            )
            .is_err());
    }
}
