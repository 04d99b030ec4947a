"""A real adk-python ``Runner`` with a scripted model, storing through the client.

The conversation (two turns, each a tool call and an answer, with session, user, app
and temp state written by the tool and ``output_key``) runs on adk-python's
``InMemorySessionService`` and through ``RemoteSessionService`` on each backend; both
must store the same conversation. On SQLite the stored session is then read back
through the server's REST GET and through adk-python's ``DatabaseSessionService`` on
the same file, and all three readings must be equal.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from google.adk.events import Event
from google.adk.events import EventActions
from google.adk.runners import Runner
from google.adk.sessions import DatabaseSessionService
from google.adk.sessions import InMemorySessionService
from google.adk.sessions.base_session_service import BaseSessionService
from google.adk.sessions.session import Session
from google.genai import types
import httpx
import pytest

from _scripted import weather_agent
from adk_sessions_client import RemoteSessionService
from conftest import Server
from conftest import start_server
from conftest import stop_server

pytestmark = pytest.mark.anyio

APP = "weather_app"
QUESTIONS = ["What is the weather in Paris", "And the weather in Rome"]


async def converse(service: BaseSessionService, user: str, sid: str) -> list[Event]:
  runner = Runner(app_name=APP, agent=weather_agent(), session_service=service)
  await service.create_session(
      app_name=APP, user_id=user, session_id=sid, state={"user:lang": "en"}
  )
  yielded: list[Event] = []
  for question in QUESTIONS:
    message = types.Content(role="user", parts=[types.Part(text=question)])
    async for event in runner.run_async(user_id=user, session_id=sid, new_message=message):
      yielded.append(event)
  await runner.close()
  return yielded


def shape(session: Session) -> list[dict[str, Any]]:
  """The conversation without what differs run to run (ids, times, invocations)."""
  out = []
  for e in session.events:
    d = e.model_dump(mode="json", exclude_none=True)
    for key in ("id", "timestamp", "invocation_id"):
      d.pop(key, None)
    out.append(d)
  return out


async def test_runner_conversation_matches_in_memory(server: Server) -> None:
  reference = InMemorySessionService()
  await converse(reference, "alice", "s1")
  want = await reference.get_session(app_name=APP, user_id="alice", session_id="s1")
  assert want is not None

  user = f"alice-{server.backend}"
  async with RemoteSessionService(server.base_url) as remote:
    yielded = await converse(remote, user, "s1")
    got = await remote.get_session(app_name=APP, user_id=user, session_id="s1")
  assert got is not None

  # user question, function call, function response, answer; twice
  assert [e.author for e in got.events] == ["user", "weather", "weather", "weather"] * 2
  assert shape(got) == shape(want)
  assert got.state == want.state == {
      "user:lang": "en",
      "cities": ["Paris", "Rome"],
      "user:last_city": "Rome",
      "app:lookups": 2,
      "last_answer": "It is rainy in Rome.",
  }
  assert "temp:scratch" not in str(got.model_dump())
  # The events the runner yielded are the stored ones (user messages are not yielded).
  stored = {e.id: e.model_dump(mode="json") for e in got.events}
  for e in yielded:
    assert stored[e.id] == e.model_dump(mode="json")


@pytest.fixture
def sqlite_server(tmp_path: Path) -> Any:
  path = tmp_path / "shared.db"
  server = start_server(f"sqlite://{path}", backend="sqlite")
  yield server, path
  stop_server(server)


async def test_runner_session_reads_back_the_same_everywhere(sqlite_server: Any) -> None:
  server, path = sqlite_server
  async with RemoteSessionService(server.base_url) as remote:
    await converse(remote, "bob", "s1")
    via_client = await remote.get_session(app_name=APP, user_id="bob", session_id="s1")
  assert via_client is not None and len(via_client.events) == 8

  async with httpx.AsyncClient(base_url=server.base_url) as http:
    resp = await http.get(f"/apps/{APP}/users/bob/sessions/s1")
  assert resp.status_code == 200
  via_rest = Session.model_validate(resp.json())

  database = DatabaseSessionService(db_url=f"sqlite+aiosqlite:///{path}")
  try:
    via_database = await database.get_session(app_name=APP, user_id="bob", session_id="s1")
    listed = (await database.list_sessions(app_name=APP, user_id="bob")).sessions
  finally:
    await database.close()
  assert via_database is not None

  def full(session: Session) -> dict[str, Any]:
    return session.model_dump(mode="json", exclude_none=True)

  assert full(via_rest) == full(via_client)
  assert [e.model_dump(mode="json") for e in via_database.events] == [
      e.model_dump(mode="json") for e in via_client.events
  ]
  assert via_database.state == via_client.state
  assert via_database.last_update_time == pytest.approx(via_client.last_update_time, abs=1e-6)
  assert [s.id for s in listed] == ["s1"]


async def test_database_service_and_client_take_turns(sqlite_server: Any) -> None:
  """adk-python's DatabaseSessionService and the client append to one session in
  turn; each sees the other's events, and a stale handle on either side is refused."""
  server, path = sqlite_server
  database = DatabaseSessionService(db_url=f"sqlite+aiosqlite:///{path}")
  async with RemoteSessionService(server.base_url) as remote:
    try:
      await remote.create_session(app_name=APP, user_id="carol", session_id="s")
      ours = await remote.get_session(app_name=APP, user_id="carol", session_id="s")
      theirs = await database.get_session(app_name=APP, user_id="carol", session_id="s")
      assert ours is not None and theirs is not None
      await database.append_event(theirs, Event(author="user", invocation_id="i1", actions=EventActions(state_delta={"n": 1})))

      from google.adk.errors import StaleSessionError

      with pytest.raises(StaleSessionError):
        await remote.append_event(ours, Event(author="agent", invocation_id="i1", actions=EventActions(state_delta={"n": 2})))
      ours = await remote.get_session(app_name=APP, user_id="carol", session_id="s")
      assert ours is not None and ours.state == {"n": 1}
      await remote.append_event(ours, Event(author="agent", invocation_id="i1", actions=EventActions(state_delta={"n": 2})))

      with pytest.raises(StaleSessionError):
        await database.append_event(theirs, Event(author="user", invocation_id="i2"))
      final = await database.get_session(app_name=APP, user_id="carol", session_id="s")
      assert final is not None and final.state == {"n": 2}
      assert [e.author for e in final.events] == ["user", "agent"]
    finally:
      await database.close()
