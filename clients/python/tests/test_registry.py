"""The URI schemes through adk-python's own service registry and CLI.

adk-python 2.13 registers custom session-service schemes from ``services.yaml`` or
``services.py`` in the agents directory (``google.adk.cli.service_registry``; it has no
entry points). These tests use those files as a user writes them, in fresh
interpreters (the registry is process-global), and run ``adk api_server
--session_service_uri adk-sessions://…`` for real.
"""

from __future__ import annotations

import json
from pathlib import Path
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest

from adk_sessions_client.adk_services import SERVICES_PY
from adk_sessions_client.adk_services import SERVICES_YAML
from conftest import free_port
from conftest import python_env
from conftest import Server

PROBE = r"""
import json, sys, asyncio
from google.adk.cli.service_registry import load_services_module, get_service_registry
from google.adk.cli.utils.service_factory import create_session_service_from_options

agents_dir, server_url = sys.argv[1], sys.argv[2]
load_services_module(agents_dir)
out = {}
for uri in [
    server_url.replace("http://", "adk-sessions://"),
    server_url.replace("http://", "adk-sessions+http://"),
    "adk-sessions+https://sessions.example.com:9443/prefix?timeout=7",
]:
    svc = create_session_service_from_options(base_dir=agents_dir, session_service_uri=uri)
    out[uri] = [type(svc).__module__ + "." + type(svc).__name__, svc.base_url]

async def use():
    svc = create_session_service_from_options(
        base_dir=agents_dir,
        session_service_uri=server_url.replace("http://", "adk-sessions://"),
    )
    s = await svc.create_session(app_name="registry_app", user_id="u", state={"via": "registry"})
    await svc.close()
    return s.id
out["created"] = asyncio.run(use())
print(json.dumps(out))
"""


@pytest.fixture
def server(request: pytest.FixtureRequest, server_factory: Any) -> Server:
  """One backend is enough here: the wiring does not depend on it."""
  return server_factory("sqlite", request)


@pytest.mark.parametrize("kind", ["services.yaml", "services.py"])
def test_one_line_registers_every_scheme(
    kind: str, tmp_path: Path, server: Server
) -> None:
  (tmp_path / kind).write_text(SERVICES_YAML if kind == "services.yaml" else SERVICES_PY)
  assert len((tmp_path / kind).read_text().splitlines()) == 1
  proc = subprocess.run(
      [sys.executable, "-c", PROBE, str(tmp_path), server.base_url],
      capture_output=True,
      text=True,
      env=python_env(),
      timeout=120,
  )
  assert proc.returncode == 0, proc.stderr
  out = json.loads(proc.stdout.strip().splitlines()[-1])
  cls = "adk_sessions_client._service.RemoteSessionService"
  assert out[server.base_url.replace("http://", "adk-sessions://")] == [cls, server.base_url]
  assert out[server.base_url.replace("http://", "adk-sessions+http://")] == [cls, server.base_url]
  assert out["adk-sessions+https://sessions.example.com:9443/prefix?timeout=7"] == [
      cls,
      "https://sessions.example.com:9443/prefix",
  ]
  got = httpx.get(f"{server.base_url}/apps/registry_app/users/u/sessions/{out['created']}")
  assert got.status_code == 200 and got.json()["state"] == {"via": "registry"}


def test_without_the_line_adk_python_does_not_know_the_scheme(tmp_path: Path) -> None:
  probe = (
      "import sys\n"
      "from google.adk.cli.service_registry import get_service_registry\n"
      "print(get_service_registry().create_session_service('adk-sessions://h:1'))\n"
  )
  proc = subprocess.run(
      [sys.executable, "-c", probe], capture_output=True, text=True, env=python_env(), timeout=120
  )
  assert proc.returncode == 0, proc.stderr
  assert proc.stdout.strip() == "None"


AGENT_INIT = "from . import agent\n"
AGENT_PY = "from _scripted import weather_agent\n\nroot_agent = weather_agent()\n"


@pytest.fixture
def api_server(tmp_path: Path, server: Server) -> Any:
  """``adk api_server --session_service_uri adk-sessions://…`` on an agents dir with
  the one-line services.yaml and the scripted weather agent."""
  agents = tmp_path / "agents"
  (agents / "weather").mkdir(parents=True)
  (agents / "services.yaml").write_text(SERVICES_YAML)
  (agents / "weather" / "__init__.py").write_text(AGENT_INIT)
  (agents / "weather" / "agent.py").write_text(AGENT_PY)
  port = free_port()
  uri = server.base_url.replace("http://", "adk-sessions://")
  log_path = tmp_path / "api_server.log"
  with open(log_path, "wb") as log:
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "google.adk.cli", "api_server",
            "--port", str(port),
            "--session_service_uri", uri,
            str(agents),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=python_env(),
        cwd=tmp_path,
    )
  base = f"http://127.0.0.1:{port}"
  deadline = time.monotonic() + 90
  try:
    while True:
      if proc.poll() is not None or time.monotonic() > deadline:
        pytest.fail(f"adk api_server did not start:\n{log_path.read_text()[-4000:]}")
      try:
        if httpx.get(f"{base}/list-apps", timeout=1).status_code == 200:
          break
      except httpx.HTTPError:
        pass
      time.sleep(0.2)
    yield base, log_path
  finally:
    proc.terminate()
    try:
      proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
      proc.kill()
      proc.wait()


def test_adk_api_server_stores_through_the_client(api_server: Any, server: Server) -> None:
  base, log_path = api_server
  adk = httpx.Client(base_url=base, timeout=60)
  ours = httpx.Client(base_url=server.base_url, timeout=10)

  made = adk.post("/apps/weather/users/u1/sessions", json={"sessionId": "s1", "state": {"user:lang": "en"}})
  assert made.status_code == 200, made.text
  # The session is in adk-sessions, not in adk-python's process.
  assert ours.get("/apps/weather/users/u1/sessions/s1").json()["state"] == {"user:lang": "en"}
  dup = adk.post("/apps/weather/users/u1/sessions", json={"sessionId": "s1"})
  assert dup.status_code == 409, dup.text  # AlreadyExistsError from the client

  run = adk.post(
      "/run",
      json={
          "appName": "weather",
          "userId": "u1",
          "sessionId": "s1",
          "newMessage": {"role": "user", "parts": [{"text": "What is the weather in Oslo"}]},
      },
  )
  assert run.status_code == 200, f"{run.text}\n{log_path.read_text()[-3000:]}"
  stored = ours.get("/apps/weather/users/u1/sessions/s1").json()
  assert [e["author"] for e in stored["events"]] == ["user", "weather", "weather", "weather"]
  assert stored["state"]["last_answer"] == "It is snowy in Oslo."
  assert stored["state"]["user:last_city"] == "Oslo"
  assert "temp:scratch" not in json.dumps(stored)

  # adk-python's own session endpoints read it back through the client.
  via_adk = adk.get("/apps/weather/users/u1/sessions/s1").json()
  assert [e["id"] for e in via_adk["events"]] == [e["id"] for e in stored["events"]]
  assert via_adk["state"] == stored["state"]
  listed = adk.get("/apps/weather/users/u1/sessions").json()
  assert [s["id"] for s in listed] == ["s1"]
  assert adk.delete("/apps/weather/users/u1/sessions/s1").status_code in (200, 204)
  assert ours.get("/apps/weather/users/u1/sessions/s1").status_code == 404
