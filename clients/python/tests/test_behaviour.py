"""The same session-service behaviours run on adk-python's own services and on the client.

Every case runs on adk-python's ``InMemorySessionService`` and
``DatabaseSessionService`` (SQLite) and on ``RemoteSessionService`` against the real
server on each backend (memory, SQLite, PostgreSQL), and asserts one expectation for
all. Where adk-python's two services disagree with each other or with the server, the
case says so explicitly (``KNOWN DIFFERENCE``) and asserts each side's behaviour, so a
change on either side shows up here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
import datetime
import time
from typing import Any
import uuid

from google.adk.errors import StaleSessionError
from google.adk.errors.already_exists_error import AlreadyExistsError
from google.adk.errors.session_not_found_error import SessionNotFoundError
from google.adk.events import Event
from google.adk.events import EventActions
from google.adk.sessions import DatabaseSessionService
from google.adk.sessions import InMemorySessionService
from google.adk.sessions.base_session_service import BaseSessionService
from google.adk.sessions.base_session_service import GetSessionConfig
from google.adk.sessions.session import Session
from google.genai import types
import pytest

from adk_sessions_client import DuplicateEventError
from adk_sessions_client import RemoteSessionService

pytestmark = pytest.mark.anyio

IMPLS = (
    "adk-memory",
    "adk-database",
    "remote-memory",
    "remote-sqlite",
    "remote-postgres",
)


@dataclass
class Impl:
  name: str
  service: BaseSessionService

  @property
  def remote(self) -> bool:
    return self.name.startswith("remote-")

  @property
  def persistent(self) -> bool:
    """Detects stale handles (adk-python's in-memory service does not)."""
    return self.name != "adk-memory"


@pytest.fixture(params=IMPLS)
async def impl(
    request: pytest.FixtureRequest, server_factory: Any, tmp_path: Any
) -> AsyncIterator[Impl]:
  name = request.param
  if name == "adk-memory":
    yield Impl(name, InMemorySessionService())
  elif name == "adk-database":
    database = DatabaseSessionService(
        db_url=f"sqlite+aiosqlite:///{tmp_path / 'adk.db'}"
    )
    try:
      yield Impl(name, database)
    finally:
      await database.close()
  else:
    server = server_factory(name.removeprefix("remote-"), request)
    async with RemoteSessionService(server.base_url) as service:
      yield Impl(name, service)


@pytest.fixture
def app() -> str:
  """An app of its own for each test (the servers are shared)."""
  return f"app_{uuid.uuid4().hex[:10]}"


def ev(
    author: str = "user",
    text: str | None = None,
    delta: dict[str, Any] | None = None,
    timestamp: float | None = None,
    **kwargs: Any,
) -> Event:
  fields: dict[str, Any] = {"author": author, "invocation_id": "inv-1", **kwargs}
  if text is not None:
    role = "user" if author == "user" else "model"
    fields["content"] = types.Content(role=role, parts=[types.Part(text=text)])
  if delta is not None:
    fields["actions"] = EventActions(state_delta=delta)
  if timestamp is not None:
    fields["timestamp"] = timestamp
  return Event(**fields)


def dump(event: Event) -> dict[str, Any]:
  return event.model_dump(mode="json", exclude_none=True)


async def get(impl: Impl, app: str, user: str, sid: str, **config: Any) -> Session:
  got = await impl.service.get_session(
      app_name=app,
      user_id=user,
      session_id=sid,
      config=GetSessionConfig(**config) if config else None,
  )
  assert got is not None, f"{impl.name}: session {sid} not found"
  return got


# ---------------------------------------------------------------------- create


async def test_create_splits_state_scopes_and_drops_temp(impl: Impl, app: str) -> None:
  s = await impl.service.create_session(
      app_name=app,
      user_id="u1",
      session_id="s1",
      state={"k": 1, "app:a": 2, "user:b": 3, "temp:t": 4},
  )
  assert (s.id, s.app_name, s.user_id) == ("s1", app, "u1")
  assert s.state == {"k": 1, "app:a": 2, "user:b": 3}
  assert s.events == []
  assert s.last_update_time > 0

  g = await get(impl, app, "u1", "s1")
  assert g.state == {"k": 1, "app:a": 2, "user:b": 3}
  assert g.events == []

  s2 = await impl.service.create_session(app_name=app, user_id="u1", session_id="s2")
  assert s2.state == {"app:a": 2, "user:b": 3}
  s3 = await impl.service.create_session(app_name=app, user_id="u2", session_id="s3")
  assert s3.state == {"app:a": 2}
  assert await impl.service.get_user_state(app_name=app, user_id="u1") == {"b": 3}
  assert await impl.service.get_user_state(app_name=app, user_id="u2") == {}


async def test_create_generates_distinct_ids(impl: Impl, app: str) -> None:
  a = await impl.service.create_session(app_name=app, user_id="u")
  b = await impl.service.create_session(app_name=app, user_id="u", session_id=None)
  assert a.id and b.id and a.id != b.id
  assert (await get(impl, app, "u", a.id)).id == a.id


async def test_create_with_empty_id(impl: Impl, app: str) -> None:
  s = await impl.service.create_session(app_name=app, user_id="u", session_id="")
  if impl.name == "adk-database":
    # KNOWN DIFFERENCE (inside adk-python): DatabaseSessionService stores the empty
    # string as the id; InMemorySessionService generates one. The client follows
    # InMemorySessionService (the server refuses an empty id).
    assert s.id == ""
  else:
    assert s.id


async def test_create_existing_id_raises_already_exists(impl: Impl, app: str) -> None:
  await impl.service.create_session(app_name=app, user_id="u", session_id="dup")
  with pytest.raises(AlreadyExistsError):
    await impl.service.create_session(app_name=app, user_id="u", session_id="dup")
  # Another user may use the same id.
  other = await impl.service.create_session(app_name=app, user_id="v", session_id="dup")
  assert other.user_id == "v"


async def test_create_state_is_stored_json_safe(impl: Impl, app: str) -> None:
  when = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
  await impl.service.create_session(
      app_name=app, user_id="u", session_id="s", state={"when": when, "n": [1, 2]}
  )
  g = await get(impl, app, "u", "s")
  if impl.name == "adk-memory":
    assert g.state == {"when": when, "n": [1, 2]}  # kept as the object itself
  else:
    assert g.state == {"when": "2026-01-02T03:04:05Z", "n": [1, 2]}


# ---------------------------------------------------------------------- get


async def test_get_missing_returns_none(impl: Impl, app: str) -> None:
  await impl.service.create_session(app_name=app, user_id="u", session_id="s")
  for a, u, s in [(app, "u", "nope"), (app, "nobody", "s"), (app + "x", "u", "s")]:
    assert (
        await impl.service.get_session(app_name=a, user_id=u, session_id=s)
    ) is None


async def test_get_config_filters(impl: Impl, app: str) -> None:
  s = await impl.service.create_session(app_name=app, user_id="u", session_id="s")
  # Real clock readings (sub-microsecond digits), all after the create.
  base = time.time() + 1
  stamps = [base + i * 0.0173 + 1e-7 * i for i in range(5)]
  for i, t in enumerate(stamps):
    await impl.service.append_event(s, ev(text=f"m{i}", timestamp=t))

  async def texts(**config: Any) -> list[str]:
    got = await get(impl, app, "u", "s", **config)
    return [str(e.content.parts[0].text) for e in got.events]  # type: ignore[union-attr,index]

  assert await texts() == ["m0", "m1", "m2", "m3", "m4"]
  assert await texts(num_recent_events=2) == ["m3", "m4"]
  assert await texts(num_recent_events=0) == []
  assert await texts(num_recent_events=10) == ["m0", "m1", "m2", "m3", "m4"]
  assert await texts(after_timestamp=stamps[2]) == ["m2", "m3", "m4"]
  assert await texts(after_timestamp=stamps[2] + 0.001) == ["m3", "m4"]
  assert await texts(after_timestamp=stamps[1], num_recent_events=2) == ["m3", "m4"]
  assert await texts(after_timestamp=stamps[4] + 1) == []
  assert await texts(after_timestamp=0.0) == ["m0", "m1", "m2", "m3", "m4"]
  assert await texts(after_timestamp=-5.0) == ["m0", "m1", "m2", "m3", "m4"]
  assert await texts(after_timestamp=1e11) == []  # past the server's 9e9 bound
  assert await texts(after_timestamp=1e11, num_recent_events=3) == []
  # num_recent_events=0 still returns the state.
  assert (await get(impl, app, "u", "s", num_recent_events=0)).id == "s"
  with pytest.raises(ValueError):
    GetSessionConfig(num_recent_events=-1)


# ---------------------------------------------------------------------- list


async def test_list_sessions_per_user_and_app(impl: Impl, app: str) -> None:
  a = await impl.service.create_session(
      app_name=app, user_id="u1", session_id="a", state={"k": "a", "user:n": 1}
  )
  await impl.service.create_session(app_name=app, user_id="u1", session_id="b")
  await impl.service.create_session(
      app_name=app, user_id="u2", session_id="c", state={"app:v": 9, "user:n": 2}
  )
  await impl.service.append_event(a, ev(text="hello", delta={"k": "a2"}))

  mine = (await impl.service.list_sessions(app_name=app, user_id="u1")).sessions
  assert [s.id for s in mine] == ["b", "a"]  # oldest update first
  assert all(s.events == [] for s in mine)
  assert {s.id: s.state for s in mine} == {
      "a": {"k": "a2", "user:n": 1, "app:v": 9},
      "b": {"user:n": 1, "app:v": 9},
  }
  everyone = (await impl.service.list_sessions(app_name=app)).sessions
  assert [(s.user_id, s.id) for s in everyone] == [("u1", "b"), ("u2", "c"), ("u1", "a")]
  assert {s.id: s.state for s in everyone}["c"] == {"user:n": 2, "app:v": 9}
  assert (await impl.service.list_sessions(app_name=app, user_id="ghost")).sessions == []
  assert (await impl.service.list_sessions(app_name=app + "x")).sessions == []


async def test_list_hides_eval_sessions_only_on_the_server(impl: Impl, app: str) -> None:
  await impl.service.create_session(app_name=app, user_id="u", session_id="real")
  await impl.service.create_session(
      app_name=app, user_id="u", session_id="___eval___session___1"
  )
  ids = {s.id for s in (await impl.service.list_sessions(app_name=app)).sessions}
  if impl.remote:
    # KNOWN DIFFERENCE: the server's list endpoints hide evaluation sessions, as
    # adk-python's API server does; adk-python's services list them.
    assert ids == {"real"}
  else:
    assert ids == {"real", "___eval___session___1"}
  # get still finds it everywhere.
  assert (await get(impl, app, "u", "___eval___session___1")).id


# ---------------------------------------------------------------------- delete


async def test_delete(impl: Impl, app: str) -> None:
  await impl.service.create_session(
      app_name=app, user_id="u", session_id="s", state={"user:keep": 1}
  )
  s2 = await impl.service.create_session(app_name=app, user_id="u", session_id="s2")
  await impl.service.append_event(s2, ev(text="x"))
  await impl.service.delete_session(app_name=app, user_id="u", session_id="s2")
  assert await impl.service.get_session(app_name=app, user_id="u", session_id="s2") is None
  assert [s.id for s in (await impl.service.list_sessions(app_name=app)).sessions] == ["s"]
  # Deleting what is not there is no error.
  await impl.service.delete_session(app_name=app, user_id="u", session_id="s2")
  await impl.service.delete_session(app_name=app + "x", user_id="u", session_id="s")
  # User state outlives the session.
  assert await impl.service.get_user_state(app_name=app, user_id="u") == {"keep": 1}
  # The id can be used again, with no events left over.
  again = await impl.service.create_session(app_name=app, user_id="u", session_id="s2")
  assert (await get(impl, app, "u", again.id)).events == []


# ---------------------------------------------------------------------- append


async def test_append_applies_state_and_keeps_temp_in_handle_only(
    impl: Impl, app: str
) -> None:
  s = await impl.service.create_session(
      app_name=app, user_id="u", session_id="s", state={"k": 0}
  )
  e = ev(
      author="agent",
      text="done",
      delta={"k": 1, "temp:t": "x", "user:u": 2, "app:a": 3},
  )
  returned = await impl.service.append_event(s, e)
  assert returned is e
  assert e.actions.state_delta == {"k": 1, "user:u": 2, "app:a": 3}
  assert s.state == {"k": 1, "temp:t": "x", "user:u": 2, "app:a": 3}
  assert s.events == [e] and s.events[0] is e

  g = await get(impl, app, "u", "s")
  assert g.state == {"k": 1, "user:u": 2, "app:a": 3}
  assert [dump(x) for x in g.events] == [dump(e)]
  other = await impl.service.create_session(app_name=app, user_id="u", session_id="o")
  assert other.state == {"user:u": 2, "app:a": 3}
  assert await impl.service.get_user_state(app_name=app, user_id="u") == {"u": 2}


async def test_partial_event_is_not_stored_and_leaves_handle_alone(
    impl: Impl, app: str
) -> None:
  s = await impl.service.create_session(
      app_name=app, user_id="u", session_id="s", state={"k": 0}
  )
  before = s.last_update_time
  e = ev(author="agent", text="hal", delta={"k": 1, "temp:t": 1}, partial=True)
  assert await impl.service.append_event(s, e) is e
  assert s.events == []
  assert s.state == {"k": 0}  # not even temp: partial events return first
  assert e.actions.state_delta == {"k": 1, "temp:t": 1}  # not trimmed
  assert s.last_update_time == before
  g = await get(impl, app, "u", "s")
  assert g.events == [] and g.state == {"k": 0}


async def test_append_to_missing_session_raises(impl: Impl, app: str) -> None:
  s = await impl.service.create_session(app_name=app, user_id="u", session_id="s")
  await impl.service.delete_session(app_name=app, user_id="u", session_id="s")
  with pytest.raises(SessionNotFoundError, match="Session s not found"):
    await impl.service.append_event(s, ev(text="x"))
  ghost = Session(id="ghost", app_name=app, user_id="u")
  with pytest.raises(SessionNotFoundError):
    await impl.service.append_event(ghost, ev(text="x"))


async def test_stale_handle(impl: Impl, app: str) -> None:
  await impl.service.create_session(app_name=app, user_id="u", session_id="s")
  h1 = await get(impl, app, "u", "s")
  h2 = await get(impl, app, "u", "s")
  await impl.service.append_event(h1, ev(text="first", delta={"k": 1}))

  late = ev(text="second", delta={"k": 2, "temp:t": "x"})
  before = (list(h2.events), h2.last_update_time)
  if not impl.persistent:
    # adk-python's in-memory service has no stale check: the append goes through.
    await impl.service.append_event(h2, late)
    assert len((await get(impl, app, "u", "s")).events) == 2
    return

  with pytest.raises(StaleSessionError):
    await impl.service.append_event(h2, late)
  # The handle as DatabaseSessionService leaves it: temp state applied (before the
  # check), no event, same update time; the event's temp keys trimmed.
  assert (list(h2.events), h2.last_update_time) == before
  assert h2.state == {"temp:t": "x"}
  assert late.actions.state_delta == {"k": 2}
  stored = await get(impl, app, "u", "s")
  assert [x.content.parts[0].text for x in stored.events] == ["first"]  # type: ignore[union-attr,index]
  assert stored.state == {"k": 1}

  # A reloaded handle appends.
  h3 = await get(impl, app, "u", "s")
  await impl.service.append_event(h3, late)
  assert (await get(impl, app, "u", "s")).state == {"k": 2}


async def test_two_handles_racing_one_wins(impl: Impl, app: str) -> None:
  await impl.service.create_session(app_name=app, user_id="u", session_id="s")
  h1 = await get(impl, app, "u", "s")
  h2 = await get(impl, app, "u", "s")
  results = await asyncio.gather(
      impl.service.append_event(h1, ev(text="a")),
      impl.service.append_event(h2, ev(text="b")),
      return_exceptions=True,
  )
  errors = [r for r in results if isinstance(r, BaseException)]
  stored = await get(impl, app, "u", "s")
  if impl.persistent:
    assert len(errors) == 1 and isinstance(errors[0], StaleSessionError), results
    assert len(stored.events) == 1
  else:
    assert errors == [] and len(stored.events) == 2


async def test_one_handle_shared_by_concurrent_tasks(impl: Impl, app: str) -> None:
  s = await impl.service.create_session(app_name=app, user_id="u", session_id="s")
  await asyncio.gather(
      *(impl.service.append_event(s, ev(text=f"m{i}", delta={f"k{i}": i})) for i in range(12))
  )
  assert len(s.events) == 12
  stored = await get(impl, app, "u", "s")
  assert len(stored.events) == 12
  assert stored.state == {f"k{i}": i for i in range(12)}
  # The handle is current: one more append goes through.
  await impl.service.append_event(s, ev(text="last"))


async def test_event_round_trip_is_exact(impl: Impl, app: str) -> None:
  s = await impl.service.create_session(app_name=app, user_id="u", session_id="s")
  call = Event(
      author="weather_agent",
      invocation_id="inv-7",
      branch="root.weather_agent",
      content=types.Content(
          role="model",
          parts=[
              types.Part(text="Let me look."),
              types.Part(
                  function_call=types.FunctionCall(
                      id="fc-1", name="get_weather", args={"city": "Paris", "days": 3}
                  )
              ),
          ],
      ),
      long_running_tool_ids={"fc-1", "fc-0"},
      custom_metadata={"trace": {"a": [1, 2.5, None, True]}},
      usage_metadata=types.GenerateContentResponseUsageMetadata(
          prompt_token_count=12, candidates_token_count=5, total_token_count=17
      ),
      turn_complete=True,
  )
  answer = Event(
      author="weather_agent",
      invocation_id="inv-7",
      content=types.Content(
          role="user",
          parts=[
              types.Part(
                  function_response=types.FunctionResponse(
                      id="fc-1", name="get_weather", response={"forecast": "sunny ☀"}
                  )
              )
          ],
      ),
      actions=EventActions(
          state_delta={"city": "Paris", "nested": {"x": [1, {"y": None}]}},
          skip_summarization=True,
      ),
  )
  for e in (call, answer):
    await impl.service.append_event(s, e)
  got = await get(impl, app, "u", "s")
  assert [dump(e) for e in got.events] == [dump(call), dump(answer)]
  assert [dump(e) for e in s.events] == [dump(call), dump(answer)]


async def test_duplicate_event_id(impl: Impl, app: str) -> None:
  s = await impl.service.create_session(app_name=app, user_id="u", session_id="s")
  first = ev(text="one", id="fixed-id")
  await impl.service.append_event(s, first)
  # The very same event again.
  if impl.name == "adk-memory":
    # KNOWN DIFFERENCE: InMemorySessionService ignores an equal re-delivery.
    await impl.service.append_event(s, first)
    assert len((await get(impl, app, "u", "s")).events) == 1
  elif impl.name == "adk-database":
    # DatabaseSessionService fails on the primary key (a raw SQLAlchemy error).
    s = await get(impl, app, "u", "s")
    with pytest.raises(Exception, match="UNIQUE constraint failed"):
      await impl.service.append_event(s, ev(text="two", id="fixed-id"))
  else:
    # The server refuses it (409); the client raises DuplicateEventError, a
    # ValueError, and nothing is stored.
    s = await get(impl, app, "u", "s")
    with pytest.raises(DuplicateEventError):
      await impl.service.append_event(s, ev(text="two", id="fixed-id"))
    assert len((await get(impl, app, "u", "s")).events) == 1


async def test_event_without_invocation_id(impl: Impl, app: str) -> None:
  s = await impl.service.create_session(app_name=app, user_id="u", session_id="s")
  e = Event(author="user", content=types.Content(role="user", parts=[types.Part(text="x")]))
  assert e.invocation_id == ""
  await impl.service.append_event(s, e)
  stored = (await get(impl, app, "u", "s")).events[0]
  if impl.remote:
    # KNOWN DIFFERENCE: the server fills in an empty invocation id ("e-<uuid>"); the
    # client copies it into the appended event so the handle equals storage.
    assert stored.invocation_id.startswith("e-")
    assert e.invocation_id == stored.invocation_id
  else:
    assert stored.invocation_id == "" and e.invocation_id == ""
  assert dump(s.events[0]) == dump(stored)


async def test_event_older_than_last_update(impl: Impl, app: str) -> None:
  s = await impl.service.create_session(app_name=app, user_id="u", session_id="s")
  created = s.last_update_time
  old = ev(text="restored", timestamp=created - 3600)
  await impl.service.append_event(s, old)
  if impl.remote:
    # KNOWN DIFFERENCE (documented in docs/server.md): the server's update time never
    # moves backwards; it becomes one microsecond past the previous one.
    assert s.last_update_time == pytest.approx(created + 1e-6, abs=5e-7)
  else:
    assert s.last_update_time == pytest.approx(created - 3600, abs=1e-6)
  # Either way the handle stays current.
  await impl.service.append_event(s, ev(text="next"))
  got = await get(impl, app, "u", "s")
  assert [e.content.parts[0].text for e in got.events] == ["restored", "next"]  # type: ignore[union-attr,index]


async def test_ids_with_reserved_characters(impl: Impl, app: str) -> None:
  app2 = app + " /é?"
  for user, sid in [("a/b", "x/y"), ("sp ace", "q?#%"), ("ünï", "..")]:
    s = await impl.service.create_session(
        app_name=app2, user_id=user, session_id=sid, state={"user:n": user}
    )
    assert (s.app_name, s.user_id, s.id) == (app2, user, sid)
    await impl.service.append_event(s, ev(text=sid))
    g = await get(impl, app2, user, sid)
    assert g.events[0].content.parts[0].text == sid  # type: ignore[union-attr,index]
    assert await impl.service.get_user_state(app_name=app2, user_id=user) == {"n": user}
  listed = (await impl.service.list_sessions(app_name=app2)).sessions
  assert sorted(s.id for s in listed) == sorted(["x/y", "q?#%", ".."])
  await impl.service.delete_session(app_name=app2, user_id="a/b", session_id="x/y")
  assert await impl.service.get_session(app_name=app2, user_id="a/b", session_id="x/y") is None


async def test_session_id_with_surrounding_spaces(impl: Impl, app: str) -> None:
  s = await impl.service.create_session(app_name=app, user_id="u", session_id=" s1 ")
  if impl.name == "adk-memory":
    # KNOWN DIFFERENCE (inside adk-python): InMemorySessionService strips ids;
    # DatabaseSessionService and the server keep them as given.
    assert s.id == "s1"
    assert (await get(impl, app, "u", " s1 ")).id == "s1"
  else:
    assert s.id == " s1 "
    assert (await get(impl, app, "u", " s1 ")).id == " s1 "
    assert await impl.service.get_session(app_name=app, user_id="u", session_id="s1") is None
