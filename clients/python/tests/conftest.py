"""Fixtures: the real ``adk-sessions serve`` on a free port for each backend.

``ADK_SESSIONS_BIN`` names the server binary (``target/debug/adk-sessions``);
``ADK_SESSIONS_TEST_POSTGRES_URL`` a PostgreSQL server (a fresh database is made for
the test session and dropped after). Without one of them the tests that need it are
skipped with a loud ``SKIPPED`` line; under ``CI`` (set, and not empty, ``false`` or
``0``) they fail instead, because there every backend is expected.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from collections.abc import Iterator
from dataclasses import dataclass
import os
from pathlib import Path
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from typing import Any
import uuid

import httpx
import pytest

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
# Test the working tree's package (an installed copy may be older).
sys.path.insert(0, str(SRC))
sys.path.insert(0, str(HERE))

from adk_sessions_client import RemoteSessionService  # noqa: E402

BIN_ENV = "ADK_SESSIONS_BIN"
POSTGRES_ENV = "ADK_SESSIONS_TEST_POSTGRES_URL"
BACKENDS = ("memory", "sqlite", "postgres")

_skipped: list[str] = []


def in_ci() -> bool:
  value = os.environ.get("CI")
  return value is not None and value not in ("", "false", "0")


def skip_or_fail(why: str) -> None:
  """Skips loudly here; fails under CI, where a skipped backend is a failure."""
  if in_ci():
    pytest.fail(f"SKIPPED under CI, which is a failure: {why}", pytrace=False)
  if why not in _skipped:
    _skipped.append(why)
    if sys.__stderr__ is not None:  # past pytest's capture
      sys.__stderr__.write(f"\n******** SKIPPED: {why} ********\n")
  pytest.skip(f"SKIPPED: {why}")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
  for why in _skipped:
    terminalreporter.write_line(f"******** SKIPPED: {why} ********", red=True)


@pytest.fixture
def anyio_backend() -> str:
  return "asyncio"


def free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return int(s.getsockname()[1])


@dataclass
class Server:
  """A running ``adk-sessions serve``."""

  backend: str
  db_url: str
  base_url: str
  process: subprocess.Popen[bytes]
  log_path: Path

  def log(self) -> str:
    return self.log_path.read_text(errors="replace")[-4000:]


def server_binary() -> str:
  path = os.environ.get(BIN_ENV, "").strip()
  if not path:
    skip_or_fail(
        f"set {BIN_ENV}=target/debug/adk-sessions (after `cargo build -p"
        " adk-sessions-cli`) to run the client against the real server"
    )
  if not Path(path).is_file():
    pytest.fail(f"{BIN_ENV}={path} is not a file", pytrace=False)
  return str(Path(path).resolve())


def start_server(
    db_url: str,
    *,
    backend: str,
    extra_args: list[str] | None = None,
    tls: tuple[Path, Path] | None = None,
) -> Server:
  """Starts ``serve`` on a free port; with ``tls`` (certificate, key: a self-signed
  certificate, which is its own CA) it serves HTTPS and is probed trusting it."""
  binary = server_binary()
  scheme: str = "http"
  verify: ssl.SSLContext | bool = True
  if tls is not None:
    scheme = "https"
    verify = ssl.create_default_context(cafile=str(tls[0]))
    extra_args = [*(extra_args or []), "--tls-cert", str(tls[0]), "--tls-key", str(tls[1])]
  log_dir = Path(tempfile.mkdtemp(prefix="adk-sessions-client-test-"))
  for _ in range(5):
    port = free_port()
    log_path = log_dir / f"server-{port}.log"
    with open(log_path, "wb") as log:
      process = subprocess.Popen(
          [
              binary,
              "serve",
              "--db",
              db_url,
              "--addr",
              f"127.0.0.1:{port}",
              *(extra_args or []),
          ],
          stdout=log,
          stderr=subprocess.STDOUT,
          env={**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")},
      )
    base_url = f"{scheme}://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
      try:
        ready = httpx.get(f"{base_url}/readyz", timeout=1, verify=verify)
        if ready.status_code == 200:
          return Server(backend, db_url, base_url, process, log_path)
      except httpx.HTTPError:
        pass
      time.sleep(0.05)
    process.kill()
    process.wait()
    text = log_path.read_text(errors="replace")
    if "in use" not in text.lower():
      pytest.fail(
          f"adk-sessions serve --db {db_url} did not become ready:\n{text[-4000:]}",
          pytrace=False,
      )
  pytest.fail("no free port for adk-sessions serve after 5 tries", pytrace=False)


def stop_server(server: Server) -> None:
  server.process.terminate()
  try:
    server.process.wait(timeout=10)
  except subprocess.TimeoutExpired:
    server.process.kill()
    server.process.wait()


# --------------------------------------------------------------------- PostgreSQL


def with_database(url: str, db: str) -> str:
  """``url`` with its database path replaced by ``db``; the query is kept."""
  start = url.find("://") + 3 if "://" in url else 0
  head, sep, query = url.partition("?")
  slash = head.find("/", start)
  authority = head if slash < 0 else head[:slash]
  return f"{authority}/{db}{sep}{query}"


async def _pg_admin(base: str, sql: list[str]) -> None:
  import asyncpg  # type: ignore[import-untyped]  # in the CI virtualenv

  conn = await asyncpg.connect(with_database(base, "postgres"))
  try:
    for statement in sql:
      await conn.execute(statement)
  finally:
    await conn.close()


def _run(coro: Any) -> None:
  """Runs ``coro`` to completion on a loop of its own (callers may be inside one)."""
  import asyncio
  from concurrent.futures import ThreadPoolExecutor

  with ThreadPoolExecutor(1) as pool:
    pool.submit(asyncio.run, coro).result()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
  """The URL of a fresh PostgreSQL database, dropped at the end of the session."""
  base = os.environ.get(POSTGRES_ENV, "").strip()
  if not base:
    skip_or_fail(
        f"set {POSTGRES_ENV}=postgres://postgres@127.0.0.1:5432/test to run the"
        " client against the server on PostgreSQL"
    )
  name = f"adk_py_{int(time.time())}_{uuid.uuid4().hex[:10]}"
  _run(_pg_admin(base, [f"CREATE DATABASE {name}"]))
  try:
    yield with_database(base, name)
  finally:
    _run(_pg_admin(base, [f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"]))


# --------------------------------------------------------------------- servers


@pytest.fixture(scope="session")
def server_factory(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[object]:
  """Starts (once per session) the server for a backend name."""
  servers: dict[str, Server] = {}

  def get(backend: str, request: pytest.FixtureRequest) -> Server:
    if backend in servers:
      return servers[backend]
    if backend == "memory":
      db_url = "memory://"
    elif backend == "sqlite":
      db_url = f"sqlite://{tmp_path_factory.mktemp('sqlite') / 'sessions.db'}"
    elif backend == "postgres":
      db_url = request.getfixturevalue("postgres_database")
    else:
      raise ValueError(backend)
    servers[backend] = start_server(db_url, backend=backend)
    return servers[backend]

  yield get
  for server in servers.values():
    stop_server(server)


@pytest.fixture(params=BACKENDS)
def server(request: pytest.FixtureRequest, server_factory: object) -> Server:
  """The server, once for each backend."""
  return server_factory(request.param, request)  # type: ignore[operator]


@pytest.fixture
async def remote(server: Server) -> AsyncIterator[RemoteSessionService]:
  async with RemoteSessionService(server.base_url) as service:
    yield service


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Path:
  return tmp_path / "shared.db"


def python_env(**extra: str) -> dict[str, str]:
  """The environment for a Python subprocess that imports this package and tests/."""
  path = os.pathsep.join(
      [str(SRC), str(HERE), os.environ.get("PYTHONPATH", "")]
  ).rstrip(os.pathsep)
  return {**os.environ, "PYTHONPATH": path, **extra}


__all__ = [
    "BACKENDS",
    "Server",
    "free_port",
    "in_ci",
    "python_env",
    "skip_or_fail",
    "start_server",
    "stop_server",
]
