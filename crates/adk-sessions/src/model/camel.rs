//! The camelCase spelling written straight from the typed event, without building a
//! snake_case JSON tree and respelling it: field names come from `model_struct!`
//! declarations (a test checks them against adk-python's schema); only free-form values
//! the schema types as models (`usage_metadata`, `requested_tool_confirmations`, members
//! kept in `extra`, …) go through [`super::schema::Schema::respell_field`], and those are
//! rare.

use serde::{Serialize, Serializer};
use serde_json::Value;

use super::bytes::Base64Bytes;
use super::event::{Event, JsonMap};
use super::schema::schema;

/// Which field of which model a value sits in (schema names), so a free-form value can be
/// respelled by the kind the schema gives that field.
#[derive(Debug, Clone, Copy)]
pub(crate) struct At {
    pub model: &'static str,
    pub field: &'static str,
}

/// A value that can be written in adk-python's API spelling.
pub(crate) trait SerializeCamel {
    /// Writes `self`, the value of field `at`, with camelCase field names.
    fn serialize_camel<S: Serializer>(&self, s: S, at: At) -> Result<S::Ok, S::Error>;
}

/// `value` (the value of field `at`) as a serde value written in camelCase.
pub(crate) struct Camel<'a, T: ?Sized>(pub &'a T, pub At);

impl<T: SerializeCamel + ?Sized> Serialize for Camel<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize_camel(s, self.1)
    }
}

macro_rules! plain_camel {
    ($($t:ty),*) => {$(
        impl SerializeCamel for $t {
            fn serialize_camel<S: Serializer>(&self, s: S, _: At) -> Result<S::Ok, S::Error> {
                self.serialize(s)
            }
        }
    )*};
}
plain_camel!(String, bool, f64, Base64Bytes);

impl<T: SerializeCamel> SerializeCamel for Option<T> {
    fn serialize_camel<S: Serializer>(&self, s: S, at: At) -> Result<S::Ok, S::Error> {
        match self {
            Some(v) => s.serialize_some(&Camel(v, at)),
            None => s.serialize_none(),
        }
    }
}

impl<T: SerializeCamel> SerializeCamel for Vec<T> {
    fn serialize_camel<S: Serializer>(&self, s: S, at: At) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter().map(|v| Camel(v, at)))
    }
}

impl SerializeCamel for JsonMap {
    fn serialize_camel<S: Serializer>(&self, s: S, at: At) -> Result<S::Ok, S::Error> {
        if self.is_empty() || !schema().field_holds_models(at.model, at.field) {
            return self.serialize(s);
        }
        schema()
            .respell_field(at.model, at.field, Value::Object(self.clone()))
            .serialize(s)
    }
}

impl SerializeCamel for Value {
    fn serialize_camel<S: Serializer>(&self, s: S, at: At) -> Result<S::Ok, S::Error> {
        if self.is_null() || !schema().field_holds_models(at.model, at.field) {
            return self.serialize(s);
        }
        schema()
            .respell_field(at.model, at.field, self.clone())
            .serialize(s)
    }
}

/// Writes one `extra` member of a `model` instance: a field the schema knows gets its
/// camelCase name and respelled value, any other member is written as it came.
pub(crate) fn serialize_extra_camel<M: serde::ser::SerializeMap>(
    m: &mut M,
    model: &'static str,
    key: &str,
    value: &Value,
) -> Result<(), M::Error> {
    match schema().camel_member(model, key, value) {
        Some((alias, respelled)) => m.serialize_entry(alias, &respelled),
        None => m.serialize_entry(key, value),
    }
}

/// An [`Event`] that serializes in adk-python's API spelling (camelCase), as its REST
/// endpoints serve it. Made by [`Event::camel`].
#[derive(Debug, Clone, Copy)]
pub struct CamelEvent<'a>(&'a Event);

impl Serialize for CamelEvent<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize_camel(
            s,
            At {
                model: "Event",
                field: "",
            },
        )
    }
}

impl Event {
    /// This event as a serde value written in camelCase, straight to any serializer
    /// (`serde_json::to_writer`, a response body) with no intermediate JSON tree. The
    /// output equals [`Event::to_camel_value`].
    pub fn camel(&self) -> CamelEvent<'_> {
        CamelEvent(self)
    }
}
