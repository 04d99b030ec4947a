#!/usr/bin/env python3
"""RemoteSessionService (through `adk-sessions serve` on SQLite) against adk-python's
DatabaseSessionService on SQLite, on the same workloads, in one run.

    cargo build --release -p adk-sessions-cli
    pip install ./clients/python   # the installed package is used, else the source tree
    python clients/python/bench/bench_client.py --bin target/release/adk-sessions

Workloads (data as in tools/bench_adk_python.py: 200-character texts, state deltas with
session, user:, app: and temp: keys, events built before the clock starts):

  W1  S sessions (--sessions 100) created one after another; M rounds (--events 50)
      appending event i to every session in turn, each append awaited; then a get of
      every session with all M events, a get with num_recent_events=10, and a list of
      each of the 10 users plus the whole app. Sequential.
  W3  C tasks (--tasks 16), each owning 4 sessions, each appending K events
      (--task-events 100) round robin, all at once.
  W5  U users (--users 32) at once, each running T agent turns (--turns 10) on a
      session of its own: get the session (all events, as a Runner does), append the
      user's message, append the model's answer with a state delta.

Both sides get a fresh SQLite file: the server's default (WAL, synchronous=FULL) and
DatabaseSessionService's (aiosqlite, rollback journal, synchronous=FULL), both durable;
DatabaseSessionService gets a 120 s busy timeout instead of sqlite3's 5 s (with 32 writers
at once on a loaded machine it otherwise fails with "database is locked").
The server runs as its own process on the same machine.

For the client it also prints its own overhead per call: the time outside the HTTP
round trip (serializing the event, validating the answer with pydantic, bookkeeping),
measured in the sequential W1 phases as wall time minus the time inside the HTTP client
(aiohttp; httpx before); and the process CPU time per call for every phase (both sides).

Each phase starts after a gc.collect() (off the clock), so it pays for the garbage
collections its own allocations cause rather than for those of the phase before (W1 get
used to pay for a full collection due after W1's 5000 appends). The read-only W1 phases
(get, get recent, list) run --passes times (default 3) and the median pass is shown, on
both sides: on a shared machine one pass of 100 calls is easily hit by another job.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
from pathlib import Path
import socket
import subprocess
import sys
import tempfile
import time
from typing import Any
from typing import Awaitable
from typing import Callable
import uuid

from google.adk.events import Event
from google.adk.events import EventActions
from google.adk.sessions import DatabaseSessionService
from google.adk.sessions.base_session_service import BaseSessionService
from google.adk.sessions.base_session_service import GetSessionConfig
from google.genai import types
import httpx

try:
  from adk_sessions_client import RemoteSessionService
except ImportError:  # run from the source tree without installing
  sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
  from adk_sessions_client import RemoteSessionService

APP = "bench"
WORDS = "The quick brown fox jumps over the lazy dog while the agent keeps the session. "
TEXT = (WORDS * 3)[:200]
SESSIONS_PER_TASK = 4
BUSY_TIMEOUT_S = 120.0  # sqlite3 busy timeout for DatabaseSessionService


def initial_state(n: int) -> dict[str, Any]:
  return {"k": n, "user:name": f"n{n % 10}", "app:v": 1}


def delta_of(i: int) -> dict[str, Any]:
  d: dict[str, Any] = {"counter": i, "last": f"v{i}"}
  if i % 10 == 0:
    d["user:seen"] = i
  if i % 25 == 0:
    d["app:hits"] = i
  if i % 7 == 0:
    d["temp:scratch"] = "x"
  return d


def event(i: int, author: str | None = None, delta: dict[str, Any] | None = None) -> Event:
  if author is None:
    author = "user" if i % 2 == 0 else "agent"
  role = "user" if author == "user" else "model"
  return Event(
      id=str(uuid.uuid4()),
      invocation_id=f"inv{i}",
      author=author,
      timestamp=time.time(),
      content=types.Content(role=role, parts=[types.Part(text=TEXT)]),
      actions=EventActions(state_delta=delta_of(i) if delta is None else delta),
  )


def check(cond: bool, what: str) -> None:
  if not cond:
    raise AssertionError(what)


class Meter:
  """Times one phase: wall clock, process CPU, and the client's time inside its HTTP
  client (aiohttp; httpx before)."""

  def __init__(self, svc: BaseSessionService) -> None:
    self.svc = svc
    self.phases: dict[str, dict[str, float]] = {}

  async def run(
      self,
      name: str,
      calls: int,
      body: Callable[[], Awaitable[None]],
      sequential: bool = True,
      passes: int = 1,
  ) -> None:
    """Runs ``body`` ``passes`` times (read-only phases) and keeps the median pass."""
    runs = []
    for _ in range(passes):
      runs.append(await self._pass(calls, body, sequential))
    runs.sort(key=lambda phase: phase["wall_s"])
    phase = runs[len(runs) // 2]
    if passes > 1:
      phase["passes_per_s"] = [r["per_s"] for r in runs]
    self.phases[name] = phase

  async def _pass(
      self, calls: int, body: Callable[[], Awaitable[None]], sequential: bool
  ) -> dict[str, Any]:
    # Off the clock: the garbage of earlier phases is collected now, so that a phase
    # pays for the collections its own allocations cause, not for the previous ones'.
    gc.collect()
    stats = getattr(self.svc, "stats", None)
    if stats is not None:
      stats.reset()
    wall, cpu = time.perf_counter(), time.process_time()
    await body()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    phase: dict[str, Any] = {
        "calls": calls, "wall_s": wall, "per_s": calls / wall, "cpu_us": cpu / calls * 1e6
    }
    if stats is not None:
      phase["requests"] = stats.requests
      # With tasks running at once, time inside the HTTP client overlaps and includes
      # waiting for the loop: the difference means nothing there.
      if sequential:
        phase["overhead_us"] = (wall - stats.http_seconds) / calls * 1e6
        phase["http_us"] = stats.http_seconds / max(stats.requests, 1) * 1e6
    return phase


async def w1(m: Meter, s: int, n_events: int, passes: int) -> None:
  svc = m.svc
  handles: list[Any] = []

  async def create() -> None:
    for n in range(s):
      handles.append(
          await svc.create_session(
              app_name=APP, user_id=f"u{n % 10}", session_id=f"s{n}", state=initial_state(n)
          )
      )

  await m.run("W1 create", s, create)
  rounds = [[event(i) for _ in range(s)] for i in range(n_events)]

  async def append() -> None:
    for rnd in rounds:
      for h, e in zip(handles, rnd):
        await svc.append_event(h, e)

  await m.run("W1 append", s * n_events, append)

  async def get_all() -> None:
    for n in range(s):
      got = await svc.get_session(app_name=APP, user_id=f"u{n % 10}", session_id=f"s{n}")
      check(got is not None and len(got.events) == n_events, f"W1 get s{n}")

  await m.run(f"W1 get ({n_events} events)", s, get_all, passes=passes)

  async def recent() -> None:
    for n in range(s):
      got = await svc.get_session(
          app_name=APP,
          user_id=f"u{n % 10}",
          session_id=f"s{n}",
          config=GetSessionConfig(num_recent_events=10),
      )
      check(got is not None and len(got.events) == min(10, n_events), f"W1 recent s{n}")

  await m.run("W1 get recent 10", s, recent, passes=passes)

  async def lists() -> None:
    for u in range(10):
      page = await svc.list_sessions(app_name=APP, user_id=f"u{u}")
      check(len(page.sessions) == len(range(u, s, 10)), f"W1 list u{u}")
    page = await svc.list_sessions(app_name=APP)
    check(len(page.sessions) == s, "W1 list app")

  await m.run("W1 list", 11, lists, passes=passes)
  got = await svc.get_session(
      app_name=APP, user_id="u0", session_id="s0", config=GetSessionConfig(num_recent_events=0)
  )
  check(got is not None and got.state.get("counter") == n_events - 1, "W1 state")
  check(got is not None and "temp:scratch" not in got.state, "W1 temp persisted")


async def w3(m: Meter, c: int, k: int) -> None:
  svc = m.svc
  work = []
  for t in range(c):
    handles = []
    for j in range(SESSIONS_PER_TASK):
      n = t * SESSIONS_PER_TASK + j
      handles.append(
          await svc.create_session(
              app_name=APP, user_id=f"u{n % 10}", session_id=f"w3-{n}", state=initial_state(n)
          )
      )
    work.append((handles, [event(x // SESSIONS_PER_TASK) for x in range(k)]))

  async def task(handles: list[Any], events: list[Event]) -> None:
    for x, e in enumerate(events):
      await svc.append_event(handles[x % SESSIONS_PER_TASK], e)

  async def body() -> None:
    await asyncio.gather(*(task(h, e) for h, e in work))

  await m.run(f"W3 append ({c} tasks)", c * k, body, sequential=False)
  for n in range(c * SESSIONS_PER_TASK):
    j = n % SESSIONS_PER_TASK
    want = k // SESSIONS_PER_TASK + (1 if j < k % SESSIONS_PER_TASK else 0)
    got = await svc.get_session(app_name=APP, user_id=f"u{n % 10}", session_id=f"w3-{n}")
    check(got is not None and len(got.events) == want, f"W3 w3-{n}")


async def w5(m: Meter, users: int, turns: int) -> None:
  svc = m.svc
  for u in range(users):
    await svc.create_session(
        app_name=APP, user_id=f"w5-user{u}", session_id="chat", state={"user:plan": "free"}
    )
  scripts = [
      [
          (
              event(2 * t, author="user", delta={}),
              event(
                  2 * t + 1,
                  author="agent",
                  delta={"turn": t, "last_answer": TEXT[:40], "user:turns": t, "temp:draft": "x"},
              ),
          )
          for t in range(turns)
      ]
      for _ in range(users)
  ]

  async def user(u: int) -> None:
    for question, answer in scripts[u]:
      session = await svc.get_session(app_name=APP, user_id=f"w5-user{u}", session_id="chat")
      assert session is not None
      await svc.append_event(session, question)
      await svc.append_event(session, answer)

  async def body() -> None:
    await asyncio.gather(*(user(u) for u in range(users)))

  await m.run(f"W5 turns ({users} users)", users * turns, body, sequential=False)
  m.phases[f"W5 calls ({users} users)"] = {
      **m.phases[f"W5 turns ({users} users)"],
      "calls": users * turns * 3,
      "per_s": users * turns * 3 / m.phases[f"W5 turns ({users} users)"]["wall_s"],
  }
  m.phases[f"W5 calls ({users} users)"]["cpu_us"] /= 3
  for u in range(users):
    got = await svc.get_session(app_name=APP, user_id=f"w5-user{u}", session_id="chat")
    check(got is not None and len(got.events) == 2 * turns, f"W5 user{u}: events")
    check(got is not None and got.state.get("turn") == turns - 1, f"W5 user{u}: state")
    check(got is not None and "temp:draft" not in got.state, f"W5 user{u}: temp")


async def warm_up(svc: BaseSessionService) -> None:
  """One call of each kind off the clock (connections, pydantic, SQLAlchemy caches)."""
  s = await svc.create_session(app_name="warm-up", user_id="u", state=initial_state(0))
  await svc.append_event(s, event(0))
  await svc.get_session(app_name="warm-up", user_id="u", session_id=s.id)
  await svc.list_sessions(app_name="warm-up")


async def run_all(svc: BaseSessionService, args: argparse.Namespace) -> dict[str, dict[str, float]]:
  await warm_up(svc)
  m = Meter(svc)
  await w1(m, args.sessions, args.events, args.passes)
  await w3(m, args.tasks, args.task_events)
  await w5(m, args.users, args.turns)
  return m.phases


def free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return int(s.getsockname()[1])


async def bench_client(args: argparse.Namespace, workdir: Path) -> dict[str, dict[str, float]]:
  port = free_port()
  db = workdir / "server.db"
  log = open(workdir / "server.log", "wb")
  server = subprocess.Popen(
      [args.bin, "serve", "--db", f"sqlite://{db}", "--addr", f"127.0.0.1:{port}"],
      stdout=log,
      stderr=subprocess.STDOUT,
      env={**os.environ, "RUST_LOG": "warn"},
  )
  try:
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
      try:
        if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
          break
      except httpx.HTTPError:
        pass
      time.sleep(0.05)
    else:
      raise SystemExit(f"the server did not start: {(workdir / 'server.log').read_text()}")
    async with RemoteSessionService(base) as svc:
      return await run_all(svc, args)
  finally:
    server.terminate()
    server.wait(timeout=10)
    log.close()


async def bench_database(args: argparse.Namespace, workdir: Path) -> dict[str, dict[str, float]]:
  # sqlite3's busy timeout (5 s by default) is raised so that W5's 32 writers at once do
  # not fail with "database is locked" on a loaded machine: they wait for the lock as
  # they would within 5 s, and the run completes.
  svc = DatabaseSessionService(
      db_url=f"sqlite+aiosqlite:///{workdir / 'adk.db'}",
      connect_args={"timeout": BUSY_TIMEOUT_S},
  )
  try:
    await svc.prepare_tables()
    return await run_all(svc, args)
  finally:
    await svc.close()


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument(
      "--bin",
      default=os.environ.get("ADK_SESSIONS_BIN", "target/release/adk-sessions"),
      help="the adk-sessions binary (default $ADK_SESSIONS_BIN or target/release/adk-sessions)",
  )
  parser.add_argument("--sessions", type=int, default=100)
  parser.add_argument("--events", type=int, default=50)
  parser.add_argument("--tasks", type=int, default=16)
  parser.add_argument("--task-events", type=int, default=100)
  parser.add_argument("--users", type=int, default=32)
  parser.add_argument("--turns", type=int, default=10)
  parser.add_argument(
      "--passes",
      type=int,
      default=3,
      help="passes of each read-only W1 phase (get, recent, list); the median is shown",
  )
  parser.add_argument("--json", action="store_true", help="also print one JSON object")
  args = parser.parse_args()
  if not Path(args.bin).is_file():
    raise SystemExit(f"no server binary at {args.bin}: cargo build --release -p adk-sessions-cli")

  with tempfile.TemporaryDirectory(prefix="adk-sessions-bench-") as tmp:
    workdir = Path(tmp)
    client = asyncio.run(bench_client(args, workdir))
    database = asyncio.run(bench_database(args, workdir))

  print(
      f"{'phase':<24} {'client/s':>10} {'adk-db/s':>10} {'client÷db':>10}"
      f" {'overhead µs':>12} {'client CPU µs':>14} {'adk-db CPU µs':>14}"
  )
  for name, c in client.items():
    d = database[name]
    overhead = f"{c['overhead_us']:.0f}" if "overhead_us" in c else "-"
    print(
        f"{name:<24} {c['per_s']:>10.0f} {d['per_s']:>10.0f} {c['per_s'] / d['per_s']:>9.1f}×"
        f" {overhead:>12} {c['cpu_us']:>14.0f} {d['cpu_us']:>14.0f}"
    )
  print(
      "overhead µs: the client's time per call outside the HTTP round trip (sequential W1"
      " phases; wall minus time inside the HTTP client). CPU µs: this process's CPU time"
      " per call (the server's own CPU is not in it). Read-only W1 phases: median of"
      f" {args.passes} passes."
  )
  if args.json:
    print(json.dumps({"client": client, "adk_database": database}))


if __name__ == "__main__":
  main()
