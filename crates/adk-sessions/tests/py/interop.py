"""adk-python's side of the adk-sessions interoperability tests (docs/contract.md,
section "Interoperability").

Drives google-adk's real ``DatabaseSessionService`` against a database that the Rust
tests (crates/adk-sessions/tests/interop_python.rs) read and write too. Every command
prints one JSON document on stdout (the last line); diagnostics go to stderr.

  write URL APP             create sessions with rich events (the fixtures of
                            tests/fixtures/events); print what was written
  read URL APP USER SID [RECENT:AFTER ...]
                            print get_session (null when missing); with filters, a
                            list of one get_session per filter, RECENT and AFTER
                            being GetSessionConfig's num_recent_events and
                            after_timestamp ("-" for none)
  delete URL APP USER SID   delete_session
  append URL APP USER SID [TIMESTAMP]
                            load the session, append a rich event with a state delta of
                            every scope, print the stored event and the session after
  stale URL APP USER SID SIGNAL_FILE
                            load the session, print {"loaded": ...} and wait until
                            SIGNAL_FILE exists, then append; print whether adk-python
                            raised its stale-session error
  hammer URL APP USER SID COUNT PREFIX
                            append COUNT events setting app:/user:/session keys
                            PREFIXi (concurrently with this project's writes)
  edge URL APP              create alice/edge-big (integers beyond 64 bits in state)
                            and alice/edge-nan (NaN / Infinity in state)
  check-big URL APP         whether alice/edge-big still holds those integers exactly
  timestamps URL APP        create alice/ts-session with events at full-precision
                            float timestamps; print their repr and stored µs
  createdb SERVER_URL NAME  create database NAME on a PostgreSQL / MySQL server
  dropdb SERVER_URL NAME    drop it (if it exists)

URL is a SQLAlchemy URL: sqlite+aiosqlite:////abs/path.db,
postgresql+asyncpg://user@host:port/db, mysql+aiomysql://user@host:port/db.
SERVER_URL is a plain postgres://... or mysql://... URL (its database is ignored).
"""

from __future__ import annotations

import asyncio
import json
import pathlib
import sys
import time
import urllib.parse
import uuid

FIXTURES = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "events"


def dump_event(event) -> dict:
  return event.model_dump(mode="json", exclude_none=True)


def dump_session(session) -> dict:
  return {
      "app_name": session.app_name,
      "user_id": session.user_id,
      "id": session.id,
      "state": session.state,
      "last_update_time": session.last_update_time,
      "events": [dump_event(e) for e in session.events],
  }


def emit(value) -> None:
  sys.stdout.write(json.dumps(value, ensure_ascii=False) + "\n")
  sys.stdout.flush()


def service(url: str):
  from google.adk.sessions import DatabaseSessionService

  return DatabaseSessionService(db_url=url)


def fixture_events(prefix: str):
  """The fixture events, re-stamped with fresh ids and increasing current times."""
  from google.adk.events import Event

  names = sorted(p.name[: -len(".snake.json")] for p in FIXTURES.glob("*.snake.json"))
  if not names:
    raise SystemExit(f"no fixtures in {FIXTURES}")
  now = time.time()
  events = []
  for i, name in enumerate(names):
    data = json.loads((FIXTURES / f"{name}.snake.json").read_text())
    data["id"] = f"{prefix}-{i:02d}-{name}"
    # Whole microseconds keep the filters of the main scenario deterministic; full
    # float precision is the subject of the `timestamps` command.
    data["timestamp"] = round(now + i * 0.001, 6)
    data.pop("partial", None)
    events.append(Event.model_validate(data))
  return events


def rich_event(invocation: str, marker: str, timestamp: float | None = None):
  """One event with content of several part kinds and a state delta of every scope."""
  from google.adk.events import Event
  from google.adk.events.event_actions import EventActions
  from google.genai import types

  return Event(
      id=f"py-{uuid.uuid4()}",
      invocation_id=invocation,
      author="py_agent",
      timestamp=time.time() if timestamp is None else timestamp,
      content=types.Content(
          role="model",
          parts=[
              types.Part(text=f"written by adk-python ({marker}) ✓"),
              types.Part(
                  inline_data=types.Blob(mime_type="image/png", data=b"\x89PNG\xff\x00\xfe")
              ),
              types.Part(
                  function_call=types.FunctionCall(
                      id="py-call", name="lookUp", args={"queryText": "x", "maxItems": 2}
                  )
              ),
          ],
      ),
      actions=EventActions(
          state_delta={
              f"app:py_{marker}": {"fromPython": True},
              f"user:py_{marker}": [1, None, "two"],
              f"py_{marker}": False,
              f"temp:py_{marker}": "never stored",
          },
          artifact_delta={"py.txt": 1},
      ),
      custom_metadata={"writtenBy": "adk-python", "markerKey": marker},
      usage_metadata=types.GenerateContentResponseUsageMetadata(
          prompt_token_count=3, total_token_count=5
      ),
      turn_complete=True,
  )


async def cmd_write(url: str, app: str) -> None:
  svc = service(url)
  written = []
  try:
    plans = [
        (
            "alice",
            "py-session-1",
            {
                "app:appKey": "shared by the app",
                "user:userKey": {"nestedCamel": 1},
                "sessionKey": [1, 2, 3],
                "temp:dropped": "never stored",
                "ünïcode": "✓",
            },
            fixture_events("s1"),
        ),
        ("alice", "py-session-2", {"user:second": True}, fixture_events("s2")[:3]),
        ("bob", "py-session-3", {"bobKey": None}, []),
    ]
    for user, sid, state, events in plans:
      session = await svc.create_session(
          app_name=app, user_id=user, session_id=sid, state=state
      )
      appended = []
      for event in events:
        stored = await svc.append_event(session, event)
        appended.append(dump_event(stored))
      written.append({"user_id": user, "id": sid, "appended": appended})
    sessions = []
    for w in written:
      got = await svc.get_session(app_name=app, user_id=w["user_id"], session_id=w["id"])
      entry = dump_session(got)
      entry["appended"] = w["appended"]
      sessions.append(entry)
    user_states = {
        user: await svc.get_user_state(app_name=app, user_id=user)
        for user in ("alice", "bob")
    }
    emit({"app_name": app, "sessions": sessions, "user_states": user_states})
  finally:
    await svc.close()


async def cmd_read(url: str, app: str, user: str, sid: str, *filters: str) -> None:
  from google.adk.sessions.base_session_service import GetSessionConfig

  configs = []
  for spec in filters:
    recent, _, after = spec.partition(":")
    configs.append(
        GetSessionConfig(
            num_recent_events=None if recent in ("", "-") else int(recent),
            after_timestamp=None if after in ("", "-") else float(after),
        )
    )
  svc = service(url)
  try:
    results = []
    for config in configs or [None]:
      got = await svc.get_session(
          app_name=app, user_id=user, session_id=sid, config=config
      )
      results.append(None if got is None else dump_session(got))
    emit(results if filters else results[0])
  finally:
    await svc.close()


async def cmd_delete(url: str, app: str, user: str, sid: str) -> None:
  svc = service(url)
  try:
    await svc.delete_session(app_name=app, user_id=user, session_id=sid)
    emit({"deleted": sid})
  finally:
    await svc.close()


async def cmd_append(
    url: str, app: str, user: str, sid: str, timestamp: str | None = None
) -> None:
  svc = service(url)
  try:
    session = await svc.get_session(app_name=app, user_id=user, session_id=sid)
    if session is None:
      raise SystemExit(f"session {app}/{user}/{sid} not found")
    ts = None if timestamp is None else float(timestamp)
    stored = await svc.append_event(
        session, rich_event("py-inv-append", "append", ts)
    )
    emit({
        "event": dump_event(stored),
        "live_state": session.state,
        "last_update_time": session.last_update_time,
    })
  finally:
    await svc.close()


async def cmd_stale(url: str, app: str, user: str, sid: str, signal_file: str) -> None:
  from google.adk.errors._stale_session_error import StaleSessionError

  svc = service(url)
  try:
    session = await svc.get_session(app_name=app, user_id=user, session_id=sid)
    if session is None:
      raise SystemExit(f"session {app}/{user}/{sid} not found")
    emit({"loaded": session.last_update_time, "events": len(session.events)})
    signal = pathlib.Path(signal_file)
    deadline = time.monotonic() + 120
    while not signal.exists():
      if time.monotonic() > deadline:
        raise SystemExit(f"timed out waiting for {signal_file}")
      await asyncio.sleep(0.02)
    try:
      stored = await svc.append_event(session, rich_event("py-inv-stale", "stale"))
    except StaleSessionError as e:
      emit({"stale": True, "error_type": type(e).__name__, "message": str(e)})
    except Exception as e:  # noqa: BLE001 - reported to the Rust test
      emit({"stale": False, "error_type": type(e).__name__, "message": str(e)})
    else:
      emit({"stale": False, "appended": dump_event(stored)})
  finally:
    await svc.close()


async def cmd_hammer(
    url: str, app: str, user: str, sid: str, count: str, prefix: str
) -> None:
  """Append COUNT events to SID, event i setting app:PREFIXi, user:PREFIXi and PREFIXi
  to i, while this project writes the same scopes; print {"ready": true} once loaded.
  An append that fails (SQLite answers a write racing another writer with "database is
  locked") is retried on a reloaded session: what is checked is that no write is lost."""
  from google.adk.events import Event
  from google.adk.events.event_actions import EventActions

  svc = service(url)
  try:
    session = await svc.get_session(app_name=app, user_id=user, session_id=sid)
    emit({"ready": True})
    retries, errors = 0, set()
    for i in range(int(count)):
      while True:
        event = Event(
            id=f"{prefix}-{i}-{retries}",
            invocation_id=f"py-inv-{prefix}",
            author="py_agent",
            timestamp=time.time(),
            actions=EventActions(
                state_delta={f"app:{prefix}{i}": i, f"user:{prefix}{i}": i, f"{prefix}{i}": i}
            ),
        )
        try:
          await svc.append_event(session, event)
          break
        except Exception as e:  # noqa: BLE001 - counted and retried
          retries += 1
          errors.add(type(e).__name__)
          if retries > 1000:
            raise
          session = await svc.get_session(app_name=app, user_id=user, session_id=sid)
    emit({"appended": int(count), "retries": retries, "errors": sorted(errors)})
  finally:
    await svc.close()


# Values adk-python stores in state columns that plain JSON numbers (64-bit integers,
# finite doubles) cannot hold.
BIG_INTS = {"bigInt": 2**64 + 1, "app:appBigInt": 2**70 + 3, "user:userBigInt": -(2**65) - 7}


async def cmd_edge(url: str, app: str) -> None:
  """Create alice/edge-big (integers beyond 64 bits in every scope) and alice/edge-nan
  (NaN and Infinity in session state, which json.dumps writes as bare tokens)."""
  svc = service(url)
  try:
    await svc.create_session(
        app_name=app, user_id="alice", session_id="edge-big", state=dict(BIG_INTS)
    )
    try:
      await svc.create_session(
          app_name=app,
          user_id="alice",
          session_id="edge-nan",
          state={"nanKey": float("nan"), "infKey": float("inf"), "plainKey": 1},
      )
      nan_stored = True
    except Exception as e:  # noqa: BLE001 - PostgreSQL's JSONB refuses NaN
      print(f"edge-nan not stored: {type(e).__name__}: {e}", file=sys.stderr)
      nan_stored = False
    emit({"nan_stored": nan_stored})
  finally:
    await svc.close()


async def cmd_check_big(url: str, app: str) -> None:
  """Report whether alice/edge-big still holds BIG_INTS exactly (as Python ints)."""
  svc = service(url)
  try:
    got = await svc.get_session(app_name=app, user_id="alice", session_id="edge-big")
    report = {}
    for key, want in BIG_INTS.items():
      value = got.state.get(key)
      report[key] = {
          "exact": type(value) is int and value == want,
          "repr": repr(value),
          "want": repr(want),
      }
    emit({"exact": all(r["exact"] for r in report.values()), "keys": report})
  finally:
    await svc.close()


# Full-precision epoch floats (as time.time() returns them) that a fast, inexact JSON
# float parser reads one ULP off, or whose microsecond a rounding of seconds * 1e6
# gets wrong; adk-python stores the float as is in event_data and
# datetime.fromtimestamp(t) in the timestamp column.
TRICKY_TIMESTAMPS = [
    1795655413.0033345,
    1795655413.0038285,
    1795655413.0563164,
    1795655413.0565634,
    1795655495.6294525,
]


async def cmd_timestamps(url: str, app: str) -> None:
  """Create alice/ts-session with one event per TRICKY_TIMESTAMPS value (plus one at
  time.time()); print each id, repr(timestamp) and the µs adk-python stored."""
  import datetime

  from google.adk.events import Event

  svc = service(url)
  try:
    session = await svc.create_session(
        app_name=app, user_id="alice", session_id="ts-session"
    )
    out = []
    for i, ts in enumerate(TRICKY_TIMESTAMPS + [time.time()]):
      event = Event(
          id=f"ts-{i}", invocation_id="py-inv-ts", author="py_agent", timestamp=ts
      )
      await svc.append_event(session, event)
      dt = datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)
      epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
      column = (dt - epoch) // datetime.timedelta(microseconds=1)
      out.append({"id": event.id, "timestamp_repr": repr(ts), "column_micros": column})
    emit({"events": out})
  finally:
    await svc.close()


def server_parts(server_url: str):
  u = urllib.parse.urlsplit(server_url)
  return {
      "scheme": u.scheme.split("+")[0],
      "host": u.hostname or "127.0.0.1",
      "port": u.port,
      "user": urllib.parse.unquote(u.username) if u.username else None,
      "password": urllib.parse.unquote(u.password) if u.password else None,
  }


async def cmd_db(action: str, server_url: str, name: str) -> None:
  if not name.replace("_", "").isalnum():
    raise SystemExit(f"refusing database name {name!r}")
  p = server_parts(server_url)
  if p["scheme"] in ("postgres", "postgresql"):
    import asyncpg

    conn = await asyncpg.connect(
        host=p["host"], port=p["port"] or 5432, user=p["user"] or "postgres",
        password=p["password"], database="postgres",
    )
    try:
      if action == "createdb":
        await conn.execute(f'CREATE DATABASE "{name}"')
      else:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
      await conn.close()
  elif p["scheme"] in ("mysql", "mariadb"):
    import aiomysql

    conn = await aiomysql.connect(
        host=p["host"], port=p["port"] or 3306, user=p["user"] or "root",
        password=p["password"] or "",
    )
    try:
      async with conn.cursor() as cur:
        if action == "createdb":
          await cur.execute(
              f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"
          )
        else:
          await cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
    finally:
      conn.close()
  else:
    raise SystemExit(f"unsupported server URL scheme {p['scheme']!r}")
  emit({action: name})


def main(argv: list[str]) -> None:
  if len(argv) < 2:
    raise SystemExit(__doc__)
  cmd, args = argv[1], argv[2:]
  commands = {
      "write": (cmd_write, 2),
      "read": (cmd_read, None),
      "delete": (cmd_delete, 4),
      "append": (cmd_append, (4, 5)),
      "stale": (cmd_stale, 5),
      "hammer": (cmd_hammer, 6),
      "edge": (cmd_edge, 2),
      "timestamps": (cmd_timestamps, 2),
      "check-big": (cmd_check_big, 2),
  }
  if cmd in commands:
    fn, n = commands[cmd]
    counts = (n,) if isinstance(n, int) else n
    if (n is None and len(args) < 4) or (n is not None and len(args) not in counts):
      raise SystemExit(f"{cmd} takes {n} arguments\n{__doc__}")
    asyncio.run(fn(*args))
  elif cmd in ("createdb", "dropdb") and len(args) == 2:
    asyncio.run(cmd_db(cmd, *args))
  else:
    raise SystemExit(__doc__)


if __name__ == "__main__":
  main(sys.argv)
