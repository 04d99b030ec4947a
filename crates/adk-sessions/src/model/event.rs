//! The ADK event as typed Rust values. Field names are adk-python's (snake_case); the
//! fields this crate does not model, and fields no ADK version knows, are kept in each
//! type's `extra` map so that what goes in comes out. [`crate::model::codec`] converts
//! to and from the JSON spellings (storage snake_case, REST camelCase).

use serde_json::{Map, Value};

use super::bytes::Base64Bytes;
use super::macros::model_struct;

/// A JSON object: state maps, deltas and other free-form maps.
pub type JsonMap = Map<String, Value>;

model_struct! {
    /// One event of a session: a message, a tool call or response, a state change, ….
    ///
    /// `Default` gives an event with empty ids and timestamp 0; use [`Event::new`] for one
    /// with a fresh id and the current time.
    pub struct Event {
        /// Unique id of the event (adk-python generates a UUID v4).
        always id "id": String,
        /// Id of the invocation (one user turn) that produced the event.
        always invocation_id "invocationId": String,
        /// `user` or the name of the agent that wrote the event.
        always author "author": String,
        /// Creation time, float seconds since the Unix epoch.
        always timestamp "timestamp": f64,
        /// The message content.
        opt content "content": Option<Content>,
        /// Side effects: state delta, artifact delta, transfer, escalation, ….
        always actions "actions": EventActions,
        /// Position of the event in a workflow graph.
        always node_info "nodeInfo": NodeInfo,
        /// A streaming fragment; partial events are never persisted.
        opt partial "partial": Option<bool>,
        /// The model's turn is complete.
        opt turn_complete "turnComplete": Option<bool>,
        /// The generation was interrupted.
        opt interrupted "interrupted": Option<bool>,
        /// Agent branch, e.g. `root.child`.
        opt branch "branch": Option<String>,
        /// Error code of a failed generation.
        opt error_code "errorCode": Option<String>,
        /// Error message of a failed generation.
        opt error_message "errorMessage": Option<String>,
        /// Ids of long-running tool calls started by this event.
        opt long_running_tool_ids "longRunningToolIds": Option<Vec<String>>,
        /// Free-form metadata attached by the application.
        opt custom_metadata "customMetadata": Option<JsonMap>,
        /// Token usage (`GenerateContentResponseUsageMetadata`).
        opt usage_metadata "usageMetadata": Option<Value>,
        /// Grounding metadata of the response.
        opt grounding_metadata "groundingMetadata": Option<Value>,
        /// Citation metadata of the response.
        opt citation_metadata "citationMetadata": Option<Value>,
        /// Output of a workflow node (free-form).
        opt output "output": Option<Value>,
    }
}

impl Event {
    /// An event with a fresh UUID v4 id, the current time and the given invocation and
    /// author.
    pub fn new(invocation_id: impl Into<String>, author: impl Into<String>) -> Self {
        Event {
            id: uuid::Uuid::new_v4().to_string(),
            invocation_id: invocation_id.into(),
            author: author.into(),
            timestamp: crate::time::Timestamp::now().as_secs_f64(),
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

model_struct! {
    /// What an event does besides carrying content.
    pub struct EventActions {
        /// State changes; keys may carry the `app:`, `user:` or `temp:` scope prefix.
        always state_delta "stateDelta": JsonMap,
        /// Artifact name → version.
        always artifact_delta "artifactDelta": JsonMap,
        /// Function call id → requested auth config.
        always requested_auth_configs "requestedAuthConfigs": JsonMap,
        /// Function call id → requested tool confirmation.
        always requested_tool_confirmations "requestedToolConfirmations": JsonMap,
        /// Do not summarize the function response.
        opt skip_summarization "skipSummarization": Option<bool>,
        /// Transfer control to the named agent.
        opt transfer_to_agent "transferToAgent": Option<String>,
        /// Escalate to the parent agent.
        opt escalate "escalate": Option<bool>,
    }
}

model_struct! {
    /// Where an event sits in a workflow graph (`path` is `""` outside workflows).
    pub struct NodeInfo {
        /// Node path.
        always path "path": String,
    }
}

model_struct! {
    /// A message: a role and its parts.
    pub struct Content {
        /// The parts, in order.
        opt parts "parts": Option<Vec<Part>>,
        /// `user` or `model`.
        opt role "role": Option<String>,
    }
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

model_struct! {
    /// One part of a message.
    pub struct Part {
        /// Text.
        opt text "text": Option<String>,
        /// The text is a thought.
        opt thought "thought": Option<bool>,
        /// Opaque thought signature.
        opt thought_signature "thoughtSignature": Option<Base64Bytes>,
        /// Inline bytes.
        opt inline_data "inlineData": Option<Blob>,
        /// A function (tool) call.
        opt function_call "functionCall": Option<FunctionCall>,
        /// A function (tool) response.
        opt function_response "functionResponse": Option<FunctionResponse>,
    }
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

model_struct! {
    /// Inline bytes with their MIME type.
    pub struct Blob {
        /// The bytes (base64 in JSON).
        opt data "data": Option<Base64Bytes>,
        /// MIME type.
        opt mime_type "mimeType": Option<String>,
    }
}

model_struct! {
    /// A function call requested by the model.
    pub struct FunctionCall {
        /// Call id.
        opt id "id": Option<String>,
        /// Function name.
        opt name "name": Option<String>,
        /// Arguments (free-form).
        opt args "args": Option<JsonMap>,
    }
}

model_struct! {
    /// The result of a function call.
    pub struct FunctionResponse {
        /// Call id.
        opt id "id": Option<String>,
        /// Function name.
        opt name "name": Option<String>,
        /// The response (free-form).
        opt response "response": Option<JsonMap>,
    }
}
