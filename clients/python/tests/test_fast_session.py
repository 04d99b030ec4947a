"""The client's fast session reading gives what ``Session.model_validate`` gives.

``_fast_session.validate_session`` validates a session's JSON with adk-python's own schema
minus hooks that do nothing for JSON (see its docstring). Here rich events, dumped as the
server returns them (and in other spellings), must read back equal, with the same fields
set at every level, and bad data must be refused as adk-python refuses it.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from google.adk.auth.auth_tool import AuthConfig
from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions
from google.adk.events.event_actions import EventCompaction
from google.adk.sessions.session import Session
from google.adk.tools.tool_confirmation import ToolConfirmation
from google.genai import types
import httpx
import pydantic
import pytest

from adk_sessions_client import _fast_session
from adk_sessions_client import _service
from adk_sessions_client import RemoteSessionService
from adk_sessions_client._fast_session import validate_session
from conftest import Server

pytestmark = pytest.mark.anyio


def rich_events() -> list[Event]:
  """Events of every shape the tests use, and more."""
  text = types.Content(role="user", parts=[types.Part(text="What is the weather in Paris?")])
  model = types.Content(
      role="model",
      parts=[
          types.Part(text="Let me think.", thought=True, thought_signature=b"\x00sig\xff"),
          types.Part(
              function_call=types.FunctionCall(
                  id="call-1", name="get_weather", args={"city": "Paris", "days": 2, "x": [True]}
              )
          ),
          types.Part(inline_data=types.Blob(mime_type="image/png", data=b"\x89PNG\r\n")),
          types.Part(file_data=types.FileData(file_uri="gs://b/f.txt", mime_type="text/plain")),
          types.Part(
              executable_code=types.ExecutableCode(code="print(1)", language=types.Language.PYTHON)
          ),
          types.Part(
              code_execution_result=types.CodeExecutionResult(
                  outcome=types.Outcome.OUTCOME_OK, output="1\n"
              )
          ),
      ],
  )
  tool = types.Content(
      role="user",
      parts=[
          types.Part(
              function_response=types.FunctionResponse(
                  id="call-1",
                  name="get_weather",
                  response={"result": {"temp": 21.5, "sky": ["sunny", "dry"], "ok": True}},
              )
          )
      ],
  )
  return [
      Event(
          id="e-text",
          invocation_id="inv-1",
          author="user",
          timestamp=1_700_000_000.125,
          content=text,
          actions=EventActions(state_delta={"city": "Paris", "user:lang": "en", "n": 1}),
      ),
      Event(
          id="e-call",
          invocation_id="inv-1",
          author="weather_agent",
          timestamp=1_700_000_001.0,
          branch="root.weather_agent",
          content=model,
          long_running_tool_ids={"call-1", "call-2"},
          usage_metadata=types.GenerateContentResponseUsageMetadata(
              prompt_token_count=12, candidates_token_count=7, total_token_count=19
          ),
          grounding_metadata=types.GroundingMetadata(
              web_search_queries=["paris weather"],
              grounding_chunks=[
                  types.GroundingChunk(web=types.GroundingChunkWeb(uri="https://x", title="X"))
              ],
          ),
          citation_metadata=types.CitationMetadata(
              citations=[types.Citation(start_index=0, end_index=4, uri="https://c")]
          ),
          custom_metadata={"trace": {"id": 7, "tags": ["a", "b"]}},
          model_version="gemini-x",
          finish_reason=types.FinishReason.STOP,
          avg_logprobs=-0.25,
          turn_complete=True,
          input_transcription=types.Transcription(text="bonjour", finished=True),
      ),
      Event(
          id="e-tool",
          invocation_id="inv-1",
          author="weather_agent",
          timestamp=1_700_000_002.5,
          content=tool,
          actions=EventActions(
              state_delta={"temp": 21.5, "nested": {"a": [1, {"b": False}]}},
              artifact_delta={"report.txt": 3},
              skip_summarization=True,
              transfer_to_agent="other_agent",
              transfer_reason="done",
              escalate=False,
              requested_tool_confirmations={
                  "call-2": ToolConfirmation(hint="Sure?", confirmed=False, payload={"k": 1})
              },
              requested_auth_configs={
                  "call-3": AuthConfig.model_validate(
                      {"authScheme": {"type": "apiKey", "in": "header", "name": "X-Key"}}
                  )
              },
              end_of_agent=True,
              agent_state={"step": 3},
              rewind_before_invocation_id="inv-0",
          ),
      ),
      Event(
          id="e-compaction",
          invocation_id="inv-2",
          author="user",
          timestamp=1_700_000_003.0,
          actions=EventActions(
              compaction=EventCompaction(
                  start_timestamp=1_700_000_000.0,
                  end_timestamp=1_700_000_002.5,
                  compacted_content=types.Content(
                      role="model", parts=[types.Part(text="summary")]
                  ),
              )
          ),
      ),
      Event(
          id="e-error",
          invocation_id="inv-2",
          author="weather_agent",
          timestamp=1_700_000_004.0,
          error_code="RESOURCE_EXHAUSTED",
          error_message="quota",
          interrupted=True,
          partial=False,
      ),
      Event(id="e-empty", invocation_id="", author="", timestamp=1_700_000_005.0),
  ]


def session_json(events: list[dict[str, Any]]) -> dict[str, Any]:
  return {
      "id": "s1",
      "appName": "app",
      "userId": "u",
      "state": {"city": "Paris", "user:lang": "en", "app:v": [1, 2]},
      "events": events,
      "lastUpdateTime": 1_700_000_005.5,
  }


def spellings() -> list[tuple[str, dict[str, Any]]]:
  """Sessions as the server returns them (camelCase, no nulls) and in other spellings."""
  events = rich_events()
  server = [e.model_dump(mode="json", by_alias=True, exclude_none=True) for e in events]
  with_nulls = [e.model_dump(mode="json", by_alias=True) for e in events]
  snake = [e.model_dump(mode="json", exclude_none=True) for e in events]
  odd = copy.deepcopy(server)
  # A part with an explicit null (genai's Part.__init__ drops it), a convenience key
  # (Event's hook moves it), a key adk-python does not know (ignored), numbers as
  # strings and ints (coerced in lax mode).
  odd[0]["content"]["parts"].append({"text": None, "functionCall": {"name": "f", "args": {}}})
  odd[1].pop("actions")
  odd[1]["state"] = {"moved": True}
  odd[2]["message"] = "hi"
  odd[2].pop("content")
  odd[3]["somethingNewer"] = {"x": 1}
  odd[4]["timestamp"] = "1700000004.5"
  odd[5]["timestamp"] = 1_700_000_005
  odd[5]["actions"]["stateDelta"] = {"gone": None, "list": [None]}
  return [
      ("server", session_json(server)),
      ("explicit nulls", session_json(with_nulls)),
      ("snake_case", session_json(snake)),
      ("odd", session_json(odd)),
      ("no events", session_json([])),
  ]


def assert_same(fast: Session, full: Session) -> None:
  assert type(fast) is Session
  assert fast == full
  assert fast.model_dump() == full.model_dump()
  # The same fields set, at every level (what exclude_unset dumps).
  assert fast.model_dump(exclude_unset=True) == full.model_dump(exclude_unset=True)
  for a, b in zip(fast.events, full.events):
    assert type(a) is type(b) is Event
    assert type(a.actions) is type(b.actions)
    if b.content is not None:
      assert [type(p) for p in a.content.parts] == [type(p) for p in b.content.parts]
      assert [p.model_fields_set for p in a.content.parts] == [
          p.model_fields_set for p in b.content.parts
      ]


def readers() -> Any:
  built = _fast_session._build()
  assert built is not None
  return built


def plain_applies(data: Any) -> bool:
  """What validate_session checks before it uses the validator without hooks."""
  return "null" not in json.dumps(data) and _fast_session._plain_events(data, readers())


def test_fast_reading_is_on() -> None:
  # With the pinned google-adk both validators are built (else reading is only slower),
  # and the server's spelling of these events takes the one without hooks.
  assert readers().plain is not None
  server = dict(spellings())["server"]
  assert plain_applies(server)


@pytest.mark.parametrize("name, data", spellings(), ids=[n for n, _ in spellings()])
def test_fast_reading_equals_model_validate(name: str, data: dict[str, Any]) -> None:
  data = json.loads(json.dumps(data))  # as decoded from the wire
  full = Session.model_validate(copy.deepcopy(data))
  # Each validator itself (validate_session would fall back to model_validate).
  assert_same(readers().hooked.validate_python(data), full)
  if plain_applies(data):
    assert_same(readers().plain.validate_python(data), full)
  raw = json.dumps(data).encode()
  assert_same(validate_session(data, no_nulls=b"null" not in raw), full)
  assert_same(_service._parse_session(raw), full)
  # The data itself is left as it was given.
  assert data == json.loads(json.dumps(data))


def test_fast_reading_round_trips_the_original_events() -> None:
  events = rich_events()
  data = session_json([e.model_dump(mode="json", by_alias=True, exclude_none=True) for e in events])
  got = validate_session(json.loads(json.dumps(data)))
  assert got.events == Session.model_validate(data).events
  # Bytes come back as adk-python's own DatabaseSessionService reads them back.
  assert got.events[1].content.parts[0].thought_signature == (
      Session.model_validate(data).events[1].content.parts[0].thought_signature
  )


@pytest.mark.parametrize(
    "event",
    [
        {"timestamp": "not a time"},
        {"content": {"parts": [{"text": 5}]}},
        {"content": {"parts": [{"notAField": 1}]}},
        {"content": {"parts": ["just text"]}},
        {"content": {"role": ["user"]}},
        {"actions": {"stateDelta": []}},
        {"actions": {"artifactDelta": {"f": "one"}}},
        {"longRunningToolIds": 3},
        {"state": {"a": 1}, "actions": {"stateDelta": {}}},  # moved beside stateDelta
        {"content": {"parts": [{"functionCall": {"args": "x"}}]}},
        "not an event",
    ],
)
def test_bad_data_is_refused_as_model_validate_refuses_it(event: Any) -> None:
  data = session_json([event])
  with pytest.raises(pydantic.ValidationError) as full:
    Session.model_validate(copy.deepcopy(data))
  with pytest.raises(pydantic.ValidationError) as fast:
    readers().hooked.validate_python(copy.deepcopy(data))
  assert fast.value.errors() == full.value.errors()
  if plain_applies(data):
    with pytest.raises(pydantic.ValidationError) as fast:
      readers().plain.validate_python(copy.deepcopy(data))
    assert fast.value.errors() == full.value.errors()
  for no_nulls in (False, True):
    with pytest.raises(pydantic.ValidationError) as fast:
      validate_session(copy.deepcopy(data), no_nulls=no_nulls)
    assert str(fast.value) == str(full.value)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a": 1.0000000000000002, "b": [1e308, 5e-324, -0.0, 12345678901234567890123]}',
        b'{"a": 1, "a": 2, "s": "\\u00e9\\ud83d\\ude00 \\u0000"}',
        b'[NaN, Infinity, -Infinity, null, true]',
        b'{"lone": "\\ud800x"}',  # pydantic-core refuses it
        b"[" * 300 + b"]" * 300,  # deeper than pydantic-core's limit
        b"\xef\xbb\xbf{}",  # a byte-order mark
        '{"utf16": "é"}'.encode("utf-16"),
    ],
)
def test_loads_is_json_loads(raw: bytes) -> None:
  got, want = _fast_session.loads(raw), json.loads(raw)
  assert repr(got) == repr(want)


def test_a_part_init_of_another_shape_is_not_short_cut() -> None:
  class Part(pydantic.BaseModel):
    text: str | None = None

    def __init__(self, value: Any = None, /, *, text: str | None = None) -> None:
      super().__init__(text=text)

  Part.__module__, Part.__qualname__ = "google.genai.types", "Part"
  assert not _fast_session._is_part(Part)
  assert _fast_session._is_part(types.Part)


async def test_sessions_read_through_the_server(server: Server) -> None:
  """What the client reads equals adk-python's validation of the server's own JSON."""
  async with RemoteSessionService(server.base_url) as service:
    session = await service.create_session(
        app_name="fast", user_id="u", state={"k": 1, "user:lang": "en"}
    )
    for event in rich_events():
      if not event.author:  # the server requires one, as ADK does
        event.author = "agent"
      event.id = f"{event.id}-{session.id}"
      await service.append_event(session, event)
    got = await service.get_session(app_name="fast", user_id="u", session_id=session.id)
    assert got is not None and len(got.events) == len(rich_events())
  async with httpx.AsyncClient(base_url=server.base_url) as http:
    raw = (await http.get(f"/apps/fast/users/u/sessions/{session.id}")).json()
  assert_same(got, Session.model_validate(raw))
  assert got.events == session.events
