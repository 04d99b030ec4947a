//! The ADK event as typed Rust values. Field names are adk-python's (snake_case); the
//! fields this crate does not model, and fields no ADK version knows, are kept in each
//! type's `extra` map so that what goes in comes out. [`crate::model::codec`] converts
//! to and from the JSON spellings (storage snake_case, REST camelCase).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::bytes::Base64Bytes;

/// A JSON object: state maps, deltas and other free-form maps.
pub type JsonMap = Map<String, Value>;

/// One event of a session: a message, a tool call or response, a state change, ….
///
/// `Default` gives an event with empty ids and timestamp 0; use [`Event::new`] for one
/// with a fresh id and the current time.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct Event {
    /// Unique id of the event (adk-python generates a UUID v4).
    #[serde(default)]
    pub id: String,
    /// Id of the invocation (one user turn) that produced the event.
    #[serde(default)]
    pub invocation_id: String,
    /// `user` or the name of the agent that wrote the event.
    #[serde(default)]
    pub author: String,
    /// Creation time, float seconds since the Unix epoch.
    #[serde(default)]
    pub timestamp: f64,
    /// The message content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Content>,
    /// Side effects: state delta, artifact delta, transfer, escalation, ….
    #[serde(default)]
    pub actions: EventActions,
    /// Position of the event in a workflow graph.
    #[serde(default)]
    pub node_info: NodeInfo,
    /// A streaming fragment; partial events are never persisted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partial: Option<bool>,
    /// The model's turn is complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_complete: Option<bool>,
    /// The generation was interrupted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<bool>,
    /// Agent branch, e.g. `root.child`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Error code of a failed generation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// Error message of a failed generation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// Ids of long-running tool calls started by this event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub long_running_tool_ids: Option<Vec<String>>,
    /// Free-form metadata attached by the application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_metadata: Option<JsonMap>,
    /// Token usage (`GenerateContentResponseUsageMetadata`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_metadata: Option<Value>,
    /// Grounding metadata of the response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grounding_metadata: Option<Value>,
    /// Citation metadata of the response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citation_metadata: Option<Value>,
    /// Output of a workflow node (free-form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    /// Every other field, known to ADK or not, kept as it came.
    #[serde(flatten)]
    pub extra: JsonMap,
}

impl Event {
    /// An event with a fresh UUID v4 id, the current time and the given invocation and
    /// author.
    pub fn new(invocation_id: impl Into<String>, author: impl Into<String>) -> Self {
        Event {
            id: uuid::Uuid::new_v4().to_string(),
            invocation_id: invocation_id.into(),
            author: author.into(),
            timestamp: crate::time::Micros::now().as_secs_f64(),
            ..Default::default()
        }
    }

    /// Sets the content (builder style).
    pub fn with_content(mut self, content: Content) -> Self {
        self.content = Some(content);
        self
    }

    /// Sets one key of the state delta (builder style).
    pub fn with_state(mut self, key: impl Into<String>, value: Value) -> Self {
        self.actions.state_delta.insert(key.into(), value);
        self
    }

    /// True when the event is a streaming fragment that is not persisted.
    pub fn is_partial(&self) -> bool {
        self.partial == Some(true)
    }
}

/// What an event does besides carrying content.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct EventActions {
    /// State changes; keys may carry the `app:`, `user:` or `temp:` scope prefix.
    #[serde(default)]
    pub state_delta: JsonMap,
    /// Artifact name → version.
    #[serde(default)]
    pub artifact_delta: JsonMap,
    /// Function call id → requested auth config.
    #[serde(default)]
    pub requested_auth_configs: JsonMap,
    /// Function call id → requested tool confirmation.
    #[serde(default)]
    pub requested_tool_confirmations: JsonMap,
    /// Do not summarize the function response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_summarization: Option<bool>,
    /// Transfer control to the named agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_to_agent: Option<String>,
    /// Escalate to the parent agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalate: Option<bool>,
    /// The other action fields adk-python defines (`compaction`, `agent_state`, …), and —
    /// only with the lenient option — fields it does not know.
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// Where an event sits in a workflow graph (`path` is `""` outside workflows).
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct NodeInfo {
    /// Node path.
    #[serde(default)]
    pub path: String,
    /// Other node fields.
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// A message: a role and its parts.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct Content {
    /// The parts, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parts: Option<Vec<Part>>,
    /// `user` or `model`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Other content fields.
    #[serde(flatten)]
    pub extra: JsonMap,
}

impl Content {
    /// A content of one text part.
    pub fn text(role: impl Into<String>, text: impl Into<String>) -> Self {
        Content {
            role: Some(role.into()),
            parts: Some(vec![Part::text(text)]),
            extra: JsonMap::new(),
        }
    }
}

/// One part of a message.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct Part {
    /// Text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The text is a thought.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thought: Option<bool>,
    /// Opaque thought signature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thought_signature: Option<Base64Bytes>,
    /// Inline bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inline_data: Option<Blob>,
    /// A function (tool) call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_call: Option<FunctionCall>,
    /// A function (tool) response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_response: Option<FunctionResponse>,
    /// Other part fields (`file_data`, `executable_code`, `code_execution_result`, …).
    #[serde(flatten)]
    pub extra: JsonMap,
}

impl Part {
    /// A text part.
    pub fn text(text: impl Into<String>) -> Self {
        Part {
            text: Some(text.into()),
            ..Default::default()
        }
    }
}

/// Inline bytes with their MIME type.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct Blob {
    /// The bytes (base64 in JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Base64Bytes>,
    /// MIME type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// Other blob fields (`display_name`).
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// A function call requested by the model.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct FunctionCall {
    /// Call id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Function name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Arguments (free-form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<JsonMap>,
    /// Other call fields.
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// The result of a function call.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct FunctionResponse {
    /// Call id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Function name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The response (free-form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<JsonMap>,
    /// Other response fields.
    #[serde(flatten)]
    pub extra: JsonMap,
}
