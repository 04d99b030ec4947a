#!/usr/bin/env python3
"""The workloads W1-W3 of docs/bench.md on adk-python's session services, for the peer
figures that `adk-sessions-bench` is compared with.

Runs google-adk 2.13's InMemorySessionService or DatabaseSessionService on exactly the
data and phases of `adk-sessions-bench` (same 200-character text, same state deltas,
same ids, same count assertions; events built before the clock starts) and prints one
JSON object with the same keys (`impl` is "adk-python") on stdout, a table on stderr.

    pip install 'google-adk[db]==2.13.0' aiosqlite asyncpg aiomysql
    python tools/bench_adk_python.py --db memory
    python tools/bench_adk_python.py --db sqlite            # fresh temp file
    python tools/bench_adk_python.py --db postgresql+asyncpg://postgres@127.0.0.1:5432
    python tools/bench_adk_python.py --db mysql+aiomysql://root@127.0.0.1:3306

The fresh-database rule is the Rust bench's: `sqlite` gets a fresh temporary file, a
server URL without a database gets a fresh database `adk_bench_py_<uuid>` (dropped
afterwards), a URL naming a database uses it as is.

Durability is reported as found: DatabaseSessionService opens SQLite through aiosqlite
with SQLite's defaults (journal_mode=delete, synchronous=full: durable, no WAL); the
servers report their commit settings.
"""

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid

from google.adk.events import Event, EventActions
from google.adk.sessions import DatabaseSessionService, InMemorySessionService
from google.adk.sessions.base_session_service import GetSessionConfig
from google.genai import types

APP = "bench"
WORDS = "The quick brown fox jumps over the lazy dog while the agent keeps the session. "
TEXT = (WORDS * 3)[:200]
SESSIONS_PER_TASK = 4


class AssertionFailed(Exception):
    pass


def check(cond, what):
    if not cond:
        raise AssertionFailed(what)


def initial_state(n):
    return {"k": n, "user:name": f"n{n % 10}", "app:v": 1}


def delta_of(i):
    d = {"counter": i, "last": f"v{i}"}
    if i % 10 == 0:
        d["user:seen"] = i
    if i % 25 == 0:
        d["app:hits"] = i
    if i % 7 == 0:
        d["temp:scratch"] = "x"
    return d


def event(i):
    author, role = ("user", "user") if i % 2 == 0 else ("agent", "model")
    return Event(
        id=str(uuid.uuid4()),
        invocation_id=f"inv{i}",
        author=author,
        timestamp=time.time(),
        content=types.Content(role=role, parts=[types.Part(text=TEXT)]),
        actions=EventActions(state_delta=delta_of(i)),
    )


def per_s(count, seconds):
    return count / max(seconds, 1e-9)


async def w1(svc, s, m, out):
    t = time.perf_counter()
    handles = []
    for n in range(s):
        handles.append(
            await svc.create_session(
                app_name=APP, user_id=f"u{n % 10}", session_id=f"s{n}", state=initial_state(n)
            )
        )
    out["w1_create_per_s"] = per_s(s, time.perf_counter() - t)

    events = [[event(i) for _ in range(s)] for i in range(m)]
    t = time.perf_counter()
    for rnd in events:
        for h, e in zip(handles, rnd):
            await svc.append_event(h, e)
    out["w1_append_per_s"] = per_s(s * m, time.perf_counter() - t)

    t = time.perf_counter()
    for n in range(s):
        got = await svc.get_session(app_name=APP, user_id=f"u{n % 10}", session_id=f"s{n}")
        check(len(got.events) == m, f"W1 get s{n}: {len(got.events)} events, expected {m}")
    out["w1_get_per_s"] = per_s(s, time.perf_counter() - t)

    want = min(m, 10)
    t = time.perf_counter()
    for n in range(s):
        got = await svc.get_session(
            app_name=APP,
            user_id=f"u{n % 10}",
            session_id=f"s{n}",
            config=GetSessionConfig(num_recent_events=10),
        )
        check(len(got.events) == want, f"W1 recent s{n}: {len(got.events)} events")
    out["w1_recent_per_s"] = per_s(s, time.perf_counter() - t)

    t = time.perf_counter()
    for u in range(10):
        page = await svc.list_sessions(app_name=APP, user_id=f"u{u}")
        want = len([n for n in range(s) if n % 10 == u])
        check(len(page.sessions) == want, f"W1 list u{u}: {len(page.sessions)}, expected {want}")
    page = await svc.list_sessions(app_name=APP, user_id=None)
    check(len(page.sessions) == s, f"W1 list app: {len(page.sessions)}, expected {s}")
    out["w1_list_per_s"] = per_s(11, time.perf_counter() - t)

    if s and m:
        got = await svc.get_session(
            app_name=APP, user_id="u0", session_id="s0", config=GetSessionConfig(num_recent_events=0)
        )
        check(got.state.get("counter") == m - 1, f"W1 state counter {got.state.get('counter')}")
        check("temp:scratch" not in got.state, "W1 temp:scratch persisted")


async def w2(svc, b, out):
    h = await svc.create_session(app_name=APP, user_id="u0", session_id="big", state=initial_state(0))
    events = [event(i) for i in range(b)]
    t = time.perf_counter()
    for e in events:
        await svc.append_event(h, e)
    out["w2_append_per_s"] = per_s(b, time.perf_counter() - t)
    times = []
    for _ in range(3):
        t = time.perf_counter()
        got = await svc.get_session(app_name=APP, user_id="u0", session_id="big")
        times.append(time.perf_counter() - t)
        check(len(got.events) == b, f"W2 get: {len(got.events)} events, expected {b}")
    out["w2_get_ms"] = sorted(times)[1] * 1e3


async def w3(svc, c, k, out):
    work = []
    for t_ in range(c):
        handles = []
        for j in range(SESSIONS_PER_TASK):
            n = t_ * SESSIONS_PER_TASK + j
            handles.append(
                await svc.create_session(
                    app_name=APP, user_id=f"u{n % 10}", session_id=f"w3-{n}", state=initial_state(n)
                )
            )
        work.append((handles, [event(x // SESSIONS_PER_TASK) for x in range(k)]))

    async def task(handles, events):
        for x, e in enumerate(events):
            await svc.append_event(handles[x % SESSIONS_PER_TASK], e)

    t = time.perf_counter()
    await asyncio.gather(*(task(h, e) for h, e in work))
    out["w3_append_per_s"] = per_s(c * k, time.perf_counter() - t)
    for n in range(c * SESSIONS_PER_TASK):
        j = n % SESSIONS_PER_TASK
        want = k // SESSIONS_PER_TASK + (1 if j < k % SESSIONS_PER_TASK else 0)
        got = await svc.get_session(app_name=APP, user_id=f"u{n % 10}", session_id=f"w3-{n}")
        check(len(got.events) == want, f"W3 w3-{n}: {len(got.events)} events, expected {want}")


async def admin(url, sql):
    from sqlalchemy.ext.asyncio import create_async_engine

    eng = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with eng.connect() as c:
            await c.exec_driver_sql(sql)
    finally:
        await eng.dispose()


async def scalar(svc, sql):
    async with svc.db_engine.connect() as c:
        return (await c.exec_driver_sql(sql)).scalar()


def split_db(url):
    """(url without database, database name) of a server URL."""
    head, _, query = url.partition("?")
    scheme, _, rest = head.partition("://")
    auth, _, db = rest.partition("/")
    return f"{scheme}://{auth}", db, ("?" + query if query else "")


async def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", default="memory", help="memory, sqlite, sqlite+aiosqlite:///FILE, postgresql+asyncpg://…, mysql+aiomysql://…")
    p.add_argument("--sessions", type=int, default=100)
    p.add_argument("--events", type=int, default=50)
    p.add_argument("--big", type=int, default=5000)
    p.add_argument("--tasks", type=int, default=16)
    p.add_argument("--task-events", type=int, default=100)
    a = p.parse_args()

    cleanup = []
    out = {"impl": "adk-python"}
    if a.db == "memory":
        svc = InMemorySessionService()
        out["backend"], out["durability"] = "memory", "none"
    else:
        url = a.db
        if url == "sqlite":
            path = os.path.join(tempfile.gettempdir(), f"adk_bench_py_{uuid.uuid4().hex}.db")
            url = f"sqlite+aiosqlite:///{path}"
            async def rm(path=path):
                for suffix in ("", "-journal", "-wal", "-shm"):
                    if os.path.exists(path + suffix):
                        os.remove(path + suffix)
            cleanup.append(rm)
        elif not url.startswith("sqlite"):
            base, db, query = split_db(url)
            if not db:
                name = f"adk_bench_py_{uuid.uuid4().hex}"
                await admin(url, f"CREATE DATABASE {name}")
                url = f"{base}/{name}{query}"
                drop = "DROP DATABASE IF EXISTS {} WITH (FORCE)" if base.startswith("postgres") else "DROP DATABASE IF EXISTS {}"
                cleanup.append(lambda u=a.db, n=name, d=drop: admin(u, d.format(n)))
        svc = DatabaseSessionService(db_url=url)
        dialect = svc.db_engine.dialect.name
        out["backend"] = {"postgresql": "postgres"}.get(dialect, dialect)
        if dialect == "sqlite":
            await svc.list_sessions(app_name=APP)  # opens the file and creates the tables
            jm = await scalar(svc, "PRAGMA journal_mode")
            sync = {0: "off", 1: "normal", 2: "full", 3: "extra"}.get(await scalar(svc, "PRAGMA synchronous"))
            out["durability"] = f"journal_mode={jm},synchronous={sync}"
        elif dialect == "postgresql":
            sc = await scalar(svc, "SELECT current_setting('synchronous_commit')")
            fs = await scalar(svc, "SELECT current_setting('fsync')")
            out["durability"] = f"synchronous_commit={sc},fsync={fs}"
        else:
            f = await scalar(svc, "SELECT CAST(@@innodb_flush_log_at_trx_commit AS CHAR)")
            b = await scalar(svc, "SELECT CAST(@@sync_binlog AS CHAR)")
            out["durability"] = f"innodb_flush_log_at_trx_commit={f},sync_binlog={b}"

    try:
        await w1(svc, a.sessions, a.events, out)
        await w2(svc, a.big, out)
        try:
            await w3(svc, a.tasks, a.task_events, out)
        except AssertionFailed:
            raise
        except Exception as e:  # noqa: BLE001 - a failing peer is a result, reported as such
            out["w3_append_per_s"] = None
            out["w3_error"] = f"{type(e).__name__}: {str(e).splitlines()[0]}"
            print(f"W3 failed: {out['w3_error']}", file=sys.stderr)
    finally:
        if hasattr(svc, "close"):
            await svc.close()
        for c in cleanup:
            try:
                await c()
            except Exception as e:  # noqa: BLE001 - report, keep going
                print(f"warning: cleanup failed: {e}", file=sys.stderr)
    return out


if __name__ == "__main__":
    try:
        result = asyncio.run(main())
    except AssertionFailed as e:
        print(f"error: assertion failed: {e}", file=sys.stderr)
        sys.exit(1)
    keys = ["impl", "backend", "durability", "w1_create_per_s", "w1_append_per_s", "w1_get_per_s",
            "w1_recent_per_s", "w1_list_per_s", "w2_append_per_s", "w2_get_ms", "w3_append_per_s"]
    if "w3_error" in result:
        keys.append("w3_error")
    ordered = {k: (round(result[k], 3 if k.endswith("_ms") else 1) if isinstance(result[k], float) else result[k]) for k in keys}
    for k, v in ordered.items():
        print(f"  {k:<18} {v}", file=sys.stderr)
    print(json.dumps(ordered))
