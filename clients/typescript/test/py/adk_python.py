"""adk-python's side of the TypeScript client's cross-runtime test.

Opens the database an `adk-sessions serve` runs on with adk-python's own
DatabaseSessionService and prints one JSON document on stdout (its last line):

  read URL APP USER SID         the session as adk-python loads it (null when missing)
  append URL APP USER SID TEXT  load it, append a model event saying TEXT with a state
                                delta {"from_python": TEXT, "user:python_seen": true},
                                print the stored event and the session's update time

URL is a SQLAlchemy URL: sqlite+aiosqlite:////abs/path.db or
postgresql+asyncpg://user@host:port/db.
"""

from __future__ import annotations

import asyncio
import json
import sys


def summary(event) -> dict:
  parts = (event.content.parts or []) if event.content else []
  return {
      "id": event.id,
      "invocationId": event.invocation_id,
      "author": event.author,
      "timestamp": event.timestamp,
      "texts": [p.text for p in parts if p.text is not None],
      "functionCalls": [
          {"name": p.function_call.name, "args": p.function_call.args}
          for p in parts
          if p.function_call
      ],
      "functionResponses": [
          {"name": p.function_response.name, "response": p.function_response.response}
          for p in parts
          if p.function_response
      ],
      "stateDelta": event.actions.state_delta,
  }


async def main(argv: list[str]) -> None:
  from google.adk.sessions import DatabaseSessionService

  cmd, url, app, user, sid = argv[:5]
  service = DatabaseSessionService(db_url=url)
  try:
    session = await service.get_session(app_name=app, user_id=user, session_id=sid)
    if cmd == "read":
      out = None
      if session is not None:
        out = {
            "state": session.state,
            "lastUpdateTime": session.last_update_time,
            "events": [summary(e) for e in session.events],
        }
    elif cmd == "append":
      from google.adk.events import Event, EventActions
      from google.genai import types

      text = argv[5]
      event = Event(
          invocation_id="py-invocation",
          author="python_agent",
          content=types.Content(role="model", parts=[types.Part(text=text)]),
          actions=EventActions(
              state_delta={"from_python": text, "user:python_seen": True}
          ),
      )
      stored = await service.append_event(session, event)
      out = {"event": summary(stored), "lastUpdateTime": session.last_update_time}
    else:
      raise SystemExit(f"unknown command {cmd}")
  finally:
    await service.close()
  sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")


if __name__ == "__main__":
  asyncio.run(main(sys.argv[1:]))
