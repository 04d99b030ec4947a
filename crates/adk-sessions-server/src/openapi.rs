//! `/openapi.json`: an OpenAPI 3.0 document assembled from the route table
//! ([`crate::api::routes`]) — every path and method comes from the same rows the router
//! is built from; this module holds each operation's parameters, bodies and responses
//! and the shared schemas.

use serde_json::{json, Map, Value};

use crate::api::Route;

/// One OpenAPI operation object.
#[derive(Debug, Clone)]
pub struct Op(pub Value);

/// The document for `routes`.
pub fn document(routes: &[Route]) -> Value {
    let mut paths = Map::new();
    for r in routes {
        let item = paths
            .entry(r.path.to_owned())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("path item object");
        item.insert(r.method.as_str().to_ascii_lowercase(), r.op.0.clone());
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "adk-sessions",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Sessions, events and scoped state for ADK agents: adk-python's session endpoints, drop-in, plus event append with optimistic concurrency, filters, pagination and scoped state."
        },
        "paths": paths,
        "components": {
            "schemas": schemas(),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}
        }
    })
}

/// Marks every property of an object schema nullable (null reads as absent, as in
/// pydantic's optional fields); `$ref`s are wrapped in `allOf`.
fn nullable_members(mut schema: Value) -> Value {
    if let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        for (_, p) in props.iter_mut() {
            if p.get("$ref").is_some() {
                *p = json!({"allOf": [p.clone()], "nullable": true});
            } else {
                p["nullable"] = json!(true);
            }
        }
    }
    schema
}

fn schemas() -> Value {
    let id = json!({"type": "string", "minLength": 1, "maxLength": 128});
    let obj = json!({"type": "object", "additionalProperties": true});
    json!({
        "State": {"type": "object", "additionalProperties": true,
                  "description": "A state map; keys may carry the app:, user: or temp: prefix."},
        "FunctionCall": nullable_members(json!({"type": "object", "additionalProperties": false, "properties": {
            "id": {"type": "string"}, "name": {"type": "string"}, "args": obj}})),
        "FunctionResponse": nullable_members(json!({"type": "object", "additionalProperties": false, "properties": {
            "id": {"type": "string"}, "name": {"type": "string"}, "response": obj}})),
        "Part": nullable_members(json!({"type": "object", "additionalProperties": false, "properties": {
            "text": {"type": "string"},
            "thought": {"type": "boolean"},
            "functionCall": {"$ref": "#/components/schemas/FunctionCall"},
            "functionResponse": {"$ref": "#/components/schemas/FunctionResponse"}}})),
        "Content": nullable_members(json!({"type": "object", "additionalProperties": false, "properties": {
            "role": {"type": "string"},
            "parts": {"type": "array", "items": {"$ref": "#/components/schemas/Part"}}}})),
        "EventActions": {"type": "object", "additionalProperties": true, "properties": {
            "stateDelta": {"$ref": "#/components/schemas/State"},
            "artifactDelta": obj,
            "requestedAuthConfigs": obj,
            "requestedToolConfirmations": obj}},
        "EventActionsInput": {"type": "object", "additionalProperties": false,
            "description": "The actions a client may send (adk-python knows more; they are accepted too).",
            "properties": {
                "stateDelta": {"$ref": "#/components/schemas/State"},
                "artifactDelta": {"type": "object", "additionalProperties": {"type": "integer"}},
                "skipSummarization": {"type": "boolean", "nullable": true},
                "transferToAgent": {"type": "string", "nullable": true},
                "escalate": {"type": "boolean", "nullable": true}}},
        "NodeInfo": {"type": "object", "properties": {"path": {"type": "string"}}},
        "Event": event_schema(Form::Output),
        "EventInput": event_schema(Form::Input),
        "InitialEvent": event_schema(Form::Restore),
        "Session": {"type": "object",
            "required": ["id", "appName", "userId", "state", "events", "lastUpdateTime"],
            "properties": {
                "id": id, "appName": id, "userId": id,
                "state": {"$ref": "#/components/schemas/State"},
                "events": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}},
                "lastUpdateTime": {"type": "number"}}},
        "CreateSessionRequest": {"type": "object", "properties": {
            "sessionId": {"type": "string", "minLength": 1, "maxLength": 128, "nullable": true},
            "state": {"allOf": [{"$ref": "#/components/schemas/State"}], "nullable": true},
            "events": {"type": "array", "nullable": true,
                       "items": {"$ref": "#/components/schemas/InitialEvent"}}}},
        "UpdateSessionRequest": {"type": "object", "required": ["stateDelta"], "properties": {
            "stateDelta": {"$ref": "#/components/schemas/State"}}},
        "AppendEventResponse": {"type": "object", "required": ["event", "lastUpdateTime"],
            "properties": {"event": {"$ref": "#/components/schemas/Event"},
                           "lastUpdateTime": {"type": "number"}}},
        "Error": {"type": "object", "required": ["detail"], "properties": {
            "detail": {"oneOf": [
                {"type": "string"},
                {"type": "array", "items": {"type": "object", "properties": {
                    "type": {"type": "string"},
                    "loc": {"type": "array", "items": {"oneOf": [{"type": "string"}, {"type": "integer"}]}},
                    "msg": {"type": "string"}}}}]}}},
        "Status": {"type": "object", "required": ["status"], "properties": {
            "status": {"type": "string"}, "backend": {"type": "string"}}}
    })
}

#[derive(PartialEq)]
enum Form {
    /// As served.
    Output,
    /// As appended through `POST …/events`.
    Input,
    /// As restored by session creation: adk-python refuses actions and long-running
    /// tool ids there.
    Restore,
}

/// The event schema in one of its forms. Optional members may be null (read as absent).
fn event_schema(form: Form) -> Value {
    let mut props = json!({
        "id": {"type": "string", "minLength": 1, "maxLength": 128},
        "invocationId": {"type": "string", "minLength": 1, "maxLength": 256},
        "author": {"type": "string", "minLength": 1},
        "timestamp": {"type": "number", "minimum": 0, "maximum": 4_102_444_800u64,
                      "exclusiveMaximum": true,
                      "description": "Float epoch seconds before 2100-01-01 (an RFC 3339 string is accepted too)."},
        "content": {"$ref": "#/components/schemas/Content"},
        "nodeInfo": {"$ref": "#/components/schemas/NodeInfo"},
        "partial": {"type": "boolean"},
        "turnComplete": {"type": "boolean"},
        "interrupted": {"type": "boolean"},
        "branch": {"type": "string"},
        "errorCode": {"type": "string"},
        "errorMessage": {"type": "string"},
        "customMetadata": {"type": "object", "additionalProperties": true}
    });
    match form {
        Form::Output => {
            props["actions"] = json!({"$ref": "#/components/schemas/EventActions"});
            props["longRunningToolIds"] = json!({"type": "array", "items": {"type": "string"}});
        }
        Form::Input => {
            props["actions"] = json!({"$ref": "#/components/schemas/EventActionsInput"});
            props["longRunningToolIds"] = json!({"type": "array", "items": {"type": "string"}});
        }
        Form::Restore => {}
    }
    if form != Form::Output {
        // Empty ids are filled in like missing ones.
        props["id"] = json!({"type": "string", "maxLength": 128});
        props["invocationId"] = json!({"type": "string", "maxLength": 256});
        for (_, p) in props.as_object_mut().expect("object").iter_mut() {
            if p.get("$ref").is_some() {
                *p = json!({"allOf": [p.clone()], "nullable": true});
            } else {
                p["nullable"] = json!(true);
            }
        }
        // ADK requires the author of every event.
        props["author"] = json!({"type": "string", "minLength": 1});
    }
    let mut schema = json!({"type": "object", "additionalProperties": true, "properties": props,
           "description": "An ADK event, camelCase (snake_case is accepted too). Fields the server does not model are kept at the top level; id, invocationId and timestamp are filled in when absent."});
    if form != Form::Output {
        schema["required"] = json!(["author"]);
    }
    schema
}

/// Helpers building the operations of the route table.
pub mod ops {
    use super::*;

    fn path_params(names: &[&str]) -> Vec<Value> {
        names
            .iter()
            .map(|n| {
                json!({"name": n, "in": "path", "required": true,
                       "schema": {"type": "string", "minLength": 1, "maxLength": 128}})
            })
            .collect()
    }

    fn err(desc: &str) -> Value {
        json!({"description": desc, "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Error"}}}})
    }

    fn ok(schema: Value) -> Value {
        json!({"description": "OK", "content": {"application/json": {"schema": schema}}})
    }

    fn schema_ref(name: &str) -> Value {
        json!({"$ref": format!("#/components/schemas/{name}")})
    }

    /// An operation under `/apps/{app_name}/…`: bearer auth (when configured) and the
    /// errors every such route can answer.
    fn app_op(
        id: &str,
        summary: &str,
        params: Vec<Value>,
        body: Option<(Value, bool)>,
        ok_response: Value,
        extra: &[(u16, &str)],
    ) -> Op {
        let mut responses = Map::new();
        responses.insert("200".into(), ok_response);
        responses.insert(
            "400".into(),
            err("Invalid argument (e.g. an id over 128 characters)"),
        );
        responses.insert("401".into(), err("Missing or unknown bearer token"));
        responses.insert(
            "403".into(),
            err("The token may not access this app (or only read it), or the Host/Origin is not loopback on a loopback server without auth"),
        );
        responses.insert("422".into(), err("Validation error (FastAPI's format)"));
        responses.insert(
            "503".into(),
            err("Storage unavailable or request timed out"),
        );
        for (code, desc) in extra {
            responses.insert(code.to_string(), err(desc));
        }
        let mut op = json!({
            "operationId": id, "summary": summary, "parameters": params,
            "responses": responses, "security": [{}, {"bearer": []}]
        });
        if let Some((schema, required)) = body {
            op["requestBody"] = json!({"required": required, "content": {
                "application/json": {"schema": schema}}});
            op["responses"]["413"] = err("Request body too large");
            op["responses"]["415"] = err("The body is not sent as Content-Type: application/json");
        }
        Op(op)
    }

    const AUS: &[&str] = &["app_name", "user_id", "session_id"];
    const AU: &[&str] = &["app_name", "user_id"];

    fn query(name: &str, schema: Value, desc: &str) -> Value {
        json!({"name": name, "in": "query", "required": false, "schema": schema, "description": desc})
    }

    /// `POST …/sessions`.
    pub fn create_session() -> Op {
        app_op(
            "create_session",
            "Create a session (optionally with id, initial state and restored events)",
            path_params(AU),
            Some((schema_ref("CreateSessionRequest"), false)),
            ok(schema_ref("Session")),
            &[(409, "Session already exists")],
        )
    }

    /// `POST …/sessions/{session_id}` (deprecated).
    pub fn create_session_with_id() -> Op {
        let mut op = app_op(
            "create_session_with_id",
            "Create a session with this id; the body is the initial state (deprecated form)",
            path_params(AUS),
            Some((
                json!({"type": "object", "additionalProperties": true, "nullable": true}),
                false,
            )),
            ok(schema_ref("Session")),
            &[(409, "Session already exists")],
        );
        op.0["deprecated"] = json!(true);
        op
    }

    /// `GET …/sessions`.
    pub fn list_sessions() -> Op {
        list_op(AU, "list_sessions", "List a user's sessions")
    }

    /// `GET /apps/{app_name}/sessions`: every user's sessions of the app.
    pub fn list_app_sessions() -> Op {
        list_op(
            &["app_name"],
            "list_app_sessions",
            "List the sessions of every user of an app",
        )
    }

    fn list_op(path: &[&str], id: &str, summary: &str) -> Op {
        let mut params = path_params(path);
        params.push(query(
            "pageSize",
            json!({"type": "integer", "minimum": 1, "maximum": 4294967295u64}),
            "Sessions per page; without it, every session.",
        ));
        params.push(query(
            "pageToken",
            json!({"type": "string"}),
            "The x-next-page-token of the previous page (with the same pageSize); empty = first page. A token this server did not issue is a 400.",
        ));
        let ok = json!({"description": "Sessions without events, oldest update first",
            "headers": {"x-next-page-token": {"description": "Token of the next page, absent on the last page",
                                              "schema": {"type": "string"}}},
            "content": {"application/json": {"schema": {"type": "array", "items": schema_ref("Session")}}}});
        app_op(id, summary, params, None, ok, &[])
    }

    /// `GET …/sessions/{session_id}`.
    pub fn get_session() -> Op {
        let mut params = path_params(AUS);
        params.push(query(
            "numRecentEvents",
            json!({"type": "integer", "minimum": 0, "maximum": 4294967295u64}),
            "Only the newest N events.",
        ));
        params.push(query(
            "afterTimestamp",
            json!({"type": "number", "minimum": 0, "maximum": 9.0e9}),
            "Only events with timestamp >= this (epoch seconds).",
        ));
        app_op(
            "get_session",
            "Get a session with its events",
            params,
            None,
            ok(schema_ref("Session")),
            &[(404, "Session not found")],
        )
    }

    /// `DELETE …/sessions/{session_id}`.
    pub fn delete_session() -> Op {
        app_op(
            "delete_session",
            "Delete a session (200 null, also when it does not exist)",
            path_params(AUS),
            None,
            ok(json!({"nullable": true, "type": "object", "enum": [null]})),
            &[],
        )
    }

    /// `PATCH …/sessions/{session_id}`.
    pub fn update_session() -> Op {
        app_op(
            "update_session",
            "Apply a state delta (appends a state-change event) and return the session",
            path_params(AUS),
            Some((schema_ref("UpdateSessionRequest"), true)),
            ok(schema_ref("Session")),
            &[(404, "Session not found"), (409, "Concurrent update")],
        )
    }

    /// `POST …/sessions/{session_id}/events`.
    pub fn append_event() -> Op {
        let mut params = path_params(AUS);
        params.push(query(
            "expectedLastUpdateTime",
            json!({"type": "number", "minimum": 0, "maximum": 9.0e9}),
            "The lastUpdateTime the client saw; 409 and nothing stored when the session moved on.",
        ));
        app_op(
            "append_event",
            "Append one event",
            params,
            Some((schema_ref("EventInput"), true)),
            ok(schema_ref("AppendEventResponse")),
            &[(404, "Session not found"), (409, "The session moved on")],
        )
    }

    /// `GET /apps/{app_name}/users/{user_id}/state`.
    pub fn user_state() -> Op {
        app_op(
            "get_user_state",
            "The user-scoped state (keys without the user: prefix)",
            path_params(AU),
            None,
            ok(schema_ref("State")),
            &[],
        )
    }

    /// `GET /apps/{app_name}/state`.
    pub fn app_state() -> Op {
        app_op(
            "get_app_state",
            "The app-scoped state (keys without the app: prefix)",
            path_params(&["app_name"]),
            None,
            ok(schema_ref("State")),
            &[],
        )
    }

    fn plain(id: &str, summary: &str, ok: Value, extra: &[(u16, &str)]) -> Op {
        let mut responses = Map::new();
        responses.insert("200".into(), ok);
        for (code, desc) in extra {
            responses.insert(code.to_string(), err(desc));
        }
        Op(json!({"operationId": id, "summary": summary, "responses": responses}))
    }

    /// `GET /healthz`.
    pub fn healthz() -> Op {
        plain(
            "healthz",
            "The process is alive",
            ok(schema_ref("Status")),
            &[],
        )
    }

    /// `GET /readyz`.
    pub fn readyz() -> Op {
        plain(
            "readyz",
            "The database answers",
            ok(schema_ref("Status")),
            &[(503, "The database does not answer")],
        )
    }

    /// `GET /metrics`.
    pub fn metrics() -> Op {
        plain(
            "metrics",
            "Prometheus metrics",
            json!({"description": "Prometheus text exposition",
                   "content": {"text/plain": {"schema": {"type": "string"}}}}),
            &[],
        )
    }

    /// `GET /openapi.json`.
    pub fn openapi() -> Op {
        plain(
            "openapi",
            "This document",
            ok(json!({"type": "object"})),
            &[],
        )
    }
}
