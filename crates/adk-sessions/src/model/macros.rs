//! `model_struct!`: declares an ADK model type whose JSON form is an object of its known
//! fields plus every other member kept in `extra`. It writes the serde code by hand
//! instead of `#[serde(flatten)]`, which buffers every object into an intermediate tree
//! first — decoding stored events was the top cost of `get` with it.
//!
//! Each field names its camelCase spelling (adk-python's alias) after the snake_case one;
//! `serialize` writes snake_case (storage), `SerializeCamel` camelCase (the REST API).
//! Field kinds: `always` fields are always written; `opt` fields are `Option`s written
//! only when `Some`. On input, a known member goes to its field (`null` is `None` for an
//! `opt` field) and any other member to `extra`. A known member is also recognized in its
//! camelCase spelling (the free-form values inside it are taken as they come).

/// A map key that borrows from the input when it can.
pub(crate) struct Key<'de>(pub std::borrow::Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

macro_rules! model_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$fmeta:meta])*
                $kind:ident $field:ident $camel:literal : $ty:ty,
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Default)]
        #[non_exhaustive]
        pub struct $name {
            $(
                $(#[$fmeta])*
                pub $field: $ty,
            )*
            /// Every other member, known to ADK or not, kept as it came.
            pub extra: $crate::model::JsonMap,
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap;
                let mut m = s.serialize_map(None)?;
                $( model_struct!(@ser $kind, m, self.$field, stringify!($field)); )*
                for (k, v) in &self.extra {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
        }

        impl $crate::model::camel::SerializeCamel for $name {
            fn serialize_camel<S: serde::Serializer>(
                &self,
                s: S,
                _: $crate::model::camel::At,
            ) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap;
                let mut m = s.serialize_map(None)?;
                $(
                    let at = $crate::model::camel::At {
                        model: stringify!($name),
                        field: stringify!($field),
                    };
                    model_struct!(@camel $kind, m, self.$field, $camel, at);
                )*
                for (k, v) in &self.extra {
                    $crate::model::camel::serialize_extra_camel(&mut m, stringify!($name), k, v)?;
                }
                m.end()
            }
        }

        impl $name {
            /// The snake_case and camelCase names of each declared field.
            pub(crate) const CAMEL_NAMES: &'static [(&'static str, &'static str)] =
                &[$( (stringify!($field), $camel) ),*];

            /// Checks the members of `extra`: none may be named like a declared field
            /// (in either spelling: it would be written twice and read back into the
            /// field), and unless `lenient` none may be one adk-python refuses in this
            /// model. `path` names the object in the error; it is built only when
            /// there is something to check.
            pub(crate) fn check_extra(
                &self,
                path: impl Fn() -> String,
                lenient: bool,
            ) -> Result<(), String> {
                if self.extra.is_empty() {
                    return Ok(());
                }
                let shadowing = self.extra.keys().find(|k| {
                    Self::CAMEL_NAMES
                        .iter()
                        .any(|(snake, camel)| k == snake || k == camel)
                });
                if let Some(key) = shadowing {
                    return Err(format!(
                        "{} has an extra member {key:?}, which is one of its fields: set the field instead",
                        path()
                    ));
                }
                $crate::model::schema::schema().check_fields(
                    stringify!($name),
                    self.extra.iter(),
                    &path(),
                    lenient,
                )
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> serde::de::Visitor<'de> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str(concat!("a JSON object (", stringify!($name), ")"))
                    }
                    fn visit_map<A: serde::de::MapAccess<'de>>(
                        self,
                        mut map: A,
                    ) -> Result<$name, A::Error> {
                        let mut out = $name::default();
                        while let Some(key) = map.next_key::<$crate::model::macros::Key<'de>>()? {
                            match key.0.as_ref() {
                                $( stringify!($field) => out.$field = map.next_value()?, )*
                                // The camelCase spelling (adk-go's columns, the REST API)
                                // of a field whose two spellings differ.
                                other => match other {
                                    $( $camel if $camel != stringify!($field) => {
                                        out.$field = map.next_value()?
                                    } )*
                                    _ => {
                                        let v: serde_json::Value = map.next_value()?;
                                        out.extra.insert(key.0.into_owned(), v);
                                    }
                                },
                            }
                        }
                        Ok(out)
                    }
                }
                d.deserialize_map(V)
            }
        }
    };
    (@ser always, $m:ident, $value:expr, $key:expr) => {
        $m.serialize_entry($key, &$value)?;
    };
    (@ser opt, $m:ident, $value:expr, $key:expr) => {
        if let Some(v) = &$value {
            $m.serialize_entry($key, v)?;
        }
    };
    (@camel always, $m:ident, $value:expr, $key:expr, $at:expr) => {
        $m.serialize_entry($key, &$crate::model::camel::Camel(&$value, $at))?;
    };
    (@camel opt, $m:ident, $value:expr, $key:expr, $at:expr) => {
        if let Some(v) = &$value {
            $m.serialize_entry($key, &$crate::model::camel::Camel(v, $at))?;
        }
    };
}

pub(crate) use model_struct;
