"""Runs one request sequence against adk-python's API server (get_fast_api_app, an
empty agents folder, no agent needed) through FastAPI's TestClient and prints every
exchange as JSON lines: {"name", "method", "path", "body"|"raw", "status", "response"}.

The Rust differential test (tests/differential.rs) replays the same requests against
adk-sessions' server and compares the answers. The sequence lives here only.

Usage: python api_probe.py [SESSION_SERVICE_URI]   (default memory://)

Event timestamps are in the future (2096) on purpose: adk-sessions never moves a
session's update time backwards, adk-python sets it to the event's time even when older.
Needs google-adk[db]==2.13.0 and httpx.
"""

import json
import logging
import sys
import tempfile
import warnings

warnings.filterwarnings("ignore")
logging.disable(logging.CRITICAL)

from fastapi.testclient import TestClient  # noqa: E402
from google.adk.cli.fast_api import get_fast_api_app  # noqa: E402

A = "/apps/probe_app/users/u1"
B = "/apps/probe_app/users/u2"

TEXT_EVENT = {
    "id": "e-text-1",
    "invocationId": "inv-1",
    "author": "user",
    "timestamp": 4000000000.25,
    "content": {"role": "user", "parts": [{"text": "hello"}]},
}
TOOL_EVENT = {
    "id": "e-tool-1",
    "invocation_id": "inv-1",
    "author": "agent",
    "timestamp": 4000000001.5,
    "content": {
        "role": "model",
        "parts": [{"function_call": {"id": "c1", "name": "lookup", "args": {"q_key": 1}}}],
    },
    "custom_metadata": {"mine": "yes", "__adk_internal_x": 1},
}
RICH_EVENT = {
    "id": "e-rich-1",
    "invocationId": "inv-2",
    "author": "agent",
    "timestamp": 4000000002.75,
    "branch": "root.child",
    "turnComplete": True,
    "content": {
        "role": "model",
        "parts": [
            {"text": "thinking", "thought": True},
            {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
            {"functionResponse": {"id": "c1", "name": "lookup", "response": {"result_value": [1, 2]}}},
        ],
    },
    "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 4, "totalTokenCount": 7},
    "customMetadata": {"snake_key": {"inner_key": 1}},
}

# (name, method, path, json body or None, raw body text or None)
SEQUENCE = [
    ("create with id and scoped state", "POST", A + "/sessions",
     {"sessionId": "s1", "state": {"k": "v", "app:shared": 1, "user:lang": "en", "temp:t": 3}}, None),
    ("create duplicate", "POST", A + "/sessions", {"sessionId": "s1"}, None),
    ("get", "GET", A + "/sessions/s1", None, None),
    ("get missing", "GET", A + "/sessions/nope", None, None),
    ("get of another user", "GET", B + "/sessions/s1", None, None),
    ("patch state", "PATCH", A + "/sessions/s1",
     {"stateDelta": {"x": 1, "nested": {"a": [1, 2]}, "user:lang": "fr", "temp:gone": 1}}, None),
    ("get after patch", "GET", A + "/sessions/s1", None, None),
    ("patch without stateDelta", "PATCH", A + "/sessions/s1", {}, None),
    ("patch snake_case", "PATCH", A + "/sessions/s1", {"state_delta": {"y": None}}, None),
    ("patch missing session", "PATCH", A + "/sessions/nope", {"stateDelta": {"x": 1}}, None),
    ("patch stateDelta not an object", "PATCH", A + "/sessions/s1", {"stateDelta": [1]}, None),
    ("create with events", "POST", A + "/sessions",
     {"sessionId": "s2", "state": {"n": 0}, "events": [TEXT_EVENT, TOOL_EVENT, RICH_EVENT]}, None),
    ("get with events", "GET", A + "/sessions/s2", None, None),
    ("create with event actions", "POST", A + "/sessions",
     {"sessionId": "s3", "events": [TEXT_EVENT, {**TEXT_EVENT, "id": "e2", "actions": {"stateDelta": {"a": 1}}}]}, None),
    ("create with long-running ids", "POST", A + "/sessions",
     {"sessionId": "s3", "events": [{**TEXT_EVENT, "longRunningToolIds": ["c1"]}]}, None),
    ("create with protocol function call", "POST", A + "/sessions",
     {"sessionId": "s3", "events": [{**TEXT_EVENT, "content": {"role": "model", "parts": [
         {"functionCall": {"id": "c9", "name": "adk_request_confirmation", "args": {}}}]}}]}, None),
    ("create after refused events", "GET", A + "/sessions/s3", None, None),
    ("create snake_case body", "POST", A + "/sessions",
     {"session_id": "s4", "state": {"a": True}}, None),
    ("create without body", "POST", A + "/sessions", None, None),
    ("create with empty object", "POST", A + "/sessions", {}, None),
    ("create state not an object", "POST", A + "/sessions", {"sessionId": "s5", "state": [1]}, None),
    ("create sessionId not a string", "POST", A + "/sessions", {"sessionId": 5}, None),
    ("create event not an object", "POST", A + "/sessions", {"sessionId": "s5", "events": [5]}, None),
    ("create body not an object", "POST", A + "/sessions", [1], None),
    ("create malformed json", "POST", A + "/sessions", None, "{not json"),
    ("create deprecated form", "POST", A + "/sessions/s6", {"d": 1, "user:x": 2}, None),
    ("create deprecated form without body", "POST", A + "/sessions/s7", None, None),
    ("create deprecated duplicate", "POST", A + "/sessions/s6", None, None),
    ("create eval session", "POST", A + "/sessions", {"sessionId": "adk-eval-session-1"}, None),
    ("create legacy eval session", "POST", A + "/sessions", {"sessionId": "___eval___session___2"}, None),
    ("list", "GET", A + "/sessions", None, None),
    ("list other user", "GET", B + "/sessions", None, None),
    ("get eval session", "GET", A + "/sessions/adk-eval-session-1", None, None),
    ("delete", "DELETE", A + "/sessions/s1", None, None),
    ("delete missing", "DELETE", A + "/sessions/s1", None, None),
    ("get deleted", "GET", A + "/sessions/s1", None, None),
    ("user state survives delete", "GET", A + "/sessions/s4", None, None),
]


def main():
    uri = sys.argv[1] if len(sys.argv) > 1 else "memory://"
    with tempfile.TemporaryDirectory() as agents_dir:
        app = get_fast_api_app(agents_dir=agents_dir, web=False, session_service_uri=uri)
        with TestClient(app) as client:
            for name, method, path, body, raw in SEQUENCE:
                if raw is not None:
                    r = client.request(method, path, content=raw,
                                       headers={"content-type": "application/json"})
                elif body is not None:
                    r = client.request(method, path, json=body)
                else:
                    r = client.request(method, path)
                try:
                    resp = r.json()
                except ValueError:
                    resp = {"__text__": r.text}
                out = {"name": name, "method": method, "path": path, "status": r.status_code,
                       "response": resp}
                if raw is not None:
                    out["raw"] = raw
                elif body is not None:
                    out["body"] = body
                print(json.dumps(out))


if __name__ == "__main__":
    main()
