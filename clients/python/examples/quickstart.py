"""Start `adk-sessions serve` first (127.0.0.1:8000 by default), then run this."""

import asyncio
import sys

from google.adk.errors import StaleSessionError
from google.adk.events import Event
from google.adk.events import EventActions
from google.genai import types

from adk_sessions_client import RemoteSessionService

URL = sys.argv[1] if len(sys.argv) > 1 else "adk-sessions://127.0.0.1:8000"


def said(author: str, text: str, **delta: object) -> Event:
  role = "user" if author == "user" else "model"
  return Event(
      author=author,
      invocation_id="inv-1",
      content=types.Content(role=role, parts=[types.Part(text=text)]),
      actions=EventActions(state_delta=dict(delta)),
  )


async def main() -> None:
  async with RemoteSessionService(URL) as sessions:
    s = await sessions.create_session(
        app_name="my_app", user_id="alice", state={"topic": "weather", "user:lang": "en"}
    )
    print("created", s.id, s.state)

    await sessions.append_event(s, said("user", "Will it rain in Paris?", city="Paris"))
    await sessions.append_event(
        s, said("forecaster", "No, sunny all day.", **{"temp:draft": "sunny?", "answered": True})
    )
    print("handle state", s.state)  # temp: keys live in the handle only

    again = await sessions.get_session(app_name="my_app", user_id="alice", session_id=s.id)
    assert again is not None
    print("stored", len(again.events), "events, state", again.state)

    try:  # `s` is current; `old` was loaded before the next append
      old = await sessions.get_session(app_name="my_app", user_id="alice", session_id=s.id)
      assert old is not None
      await sessions.append_event(s, said("user", "Thanks!"))
      await sessions.append_event(old, said("user", "Thanks again!"))
    except StaleSessionError as e:
      print("StaleSessionError:", e)

    listed = await sessions.list_sessions(app_name="my_app", user_id="alice")
    print("listed", [(x.id, len(x.events)) for x in listed.sessions])
    print("user state", await sessions.get_user_state(app_name="my_app", user_id="alice"))
    await sessions.delete_session(app_name="my_app", user_id="alice", session_id=s.id)


asyncio.run(main())
