//! The ADK event model: typed events that keep every field they are given, their two
//! JSON spellings, and the adk-python schema that decides names and unknown fields.

mod bytes;
pub(crate) mod camel;
mod codec;
mod event;
pub(crate) mod macros;
pub(crate) mod schema;

pub use bytes::Base64Bytes;
pub use camel::CamelEvent;
pub use codec::{python_json_to_json, EventPolicy};
pub use event::{
    Blob, Content, Event, EventActions, FunctionCall, FunctionResponse, JsonMap, NodeInfo, Part,
};
