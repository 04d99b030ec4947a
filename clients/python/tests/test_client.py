"""What only the client has: URLs and tokens, errors, retries, the connection pool."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
import json
from pathlib import Path
import socket
from typing import Any
from typing import AsyncIterator
from typing import Callable

from aiohttp import web
from google.adk.events.event import Event
from google.adk.sessions.base_session_service import GetSessionConfig
import httpx
import pytest

from adk_sessions_client import AdkSessionsAuthError
from adk_sessions_client import AdkSessionsError
from adk_sessions_client import AdkSessionsHTTPError
from adk_sessions_client import AdkSessionsInvalidRequestError
from adk_sessions_client import AdkSessionsServerError
from adk_sessions_client import AdkSessionsTimeoutError
from adk_sessions_client import AdkSessionsUnreachableError
from adk_sessions_client import parse_endpoint
from adk_sessions_client import RemoteSessionService
from adk_sessions_client._http import _env_proxy
from conftest import free_port
from conftest import Server
from conftest import start_server
from conftest import stop_server

pytestmark = pytest.mark.anyio


# ---------------------------------------------------------------------- URLs


@pytest.mark.parametrize(
    "url, base, token, options",
    [
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000", None, {}),
        ("http://127.0.0.1:8000/", "http://127.0.0.1:8000", None, {}),
        ("adk-sessions://127.0.0.1:8000", "http://127.0.0.1:8000", None, {}),
        ("adk-sessions+http://h:1/pre/fix/", "http://h:1/pre/fix", None, {}),
        ("adk-sessions+https://sessions.example.com", "https://sessions.example.com", None, {}),
        ("ADK-SESSIONS+HTTPS://h", "https://h", None, {}),
        ("adk-sessions://tok-123@h:8000", "http://h:8000", "tok-123", {}),
        ("adk-sessions://:t%2Fk@h:8000", "http://h:8000", "t/k", {}),
        (
            "adk-sessions://h:8000?token=abc&timeout=2.5&retries=0",
            "http://h:8000",
            "abc",
            {"timeout": "2.5", "retries": "0"},
        ),
        ("https://[::1]:8443", "https://[::1]:8443", None, {}),
    ],
)
def test_parse_endpoint(url: str, base: str, token: str | None, options: dict[str, str]) -> None:
  endpoint = parse_endpoint(url)
  assert (endpoint.base_url, endpoint.token, endpoint.options) == (base, token, options)


@pytest.mark.parametrize(
    "url, message",
    [
        ("", "empty"),
        ("ftp://h", "unsupported scheme 'ftp'"),
        ("sqlite:///x.db", "unsupported scheme"),
        ("adk-sessions://", "no host"),
        ("adk-sessions://h?pool=3", "unknown option 'pool'"),
    ],
)
def test_parse_endpoint_refuses(url: str, message: str) -> None:
  with pytest.raises(ValueError, match=message):
    parse_endpoint(url)


def test_refused_url_does_not_echo_a_token() -> None:
  with pytest.raises(ValueError) as info:
    parse_endpoint("ftp://secret-token@h?token=other-secret")
  assert "secret" not in str(info.value)


def test_constructor_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
  monkeypatch.delenv("ADK_SESSIONS_TOKEN", raising=False)
  # The names adk-python's services.yaml loader uses: uri=..., agents_dir=...
  s = RemoteSessionService(uri="adk-sessions://h:1?timeout=3&retries=5", agents_dir="/x")
  assert s.base_url == "http://h:1"
  assert s._timeout.read == 3.0 and s._retries == 5 and s._token is None
  # Arguments win over the URI.
  s = RemoteSessionService("adk-sessions://a@h:1?retries=5", token="b", retries=1)
  assert s._token == "b" and s._retries == 1
  monkeypatch.setenv("ADK_SESSIONS_TOKEN", "from-env")
  assert RemoteSessionService("http://h:1")._token == "from-env"
  assert RemoteSessionService("http://t@h:1")._token == "t"
  with pytest.raises(TypeError, match="db_pool"):
    RemoteSessionService("http://h:1", db_pool=3)
  with pytest.raises(ValueError, match="server's URL"):
    RemoteSessionService()
  with pytest.raises(ValueError, match="not both"):
    RemoteSessionService("http://a:1", uri="http://b:1")
  with pytest.raises(ValueError, match="not a number"):
    RemoteSessionService("adk-sessions://h:1?timeout=soon")
  assert "h:1" in repr(RemoteSessionService("http://h:1"))


# ---------------------------------------------------------------------- errors


async def test_server_down_names_the_url() -> None:
  port = free_port()  # nothing listens there
  async with RemoteSessionService(f"http://127.0.0.1:{port}", retries=1) as s:
    with pytest.raises(AdkSessionsUnreachableError) as info:
      await s.get_session(app_name="a", user_id="u", session_id="s")
    assert f"http://127.0.0.1:{port}" in str(info.value)
    assert "adk-sessions serve" in str(info.value)
    assert isinstance(info.value, ConnectionError)
    assert s.stats.requests == 2  # a read: one retry
    s.stats.reset()
    with pytest.raises(AdkSessionsUnreachableError):
      await s.create_session(app_name="a", user_id="u")
    assert s.stats.requests == 1  # a write: never retried


async def test_timeout() -> None:
  with socket.socket() as listener:  # accepts connections, never answers
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    async with RemoteSessionService(
        f"http://127.0.0.1:{port}", timeout=0.2, retries=0
    ) as s:
      with pytest.raises(AdkSessionsTimeoutError) as info:
        await s.get_session(app_name="a", user_id="u", session_id="s")
      assert isinstance(info.value, TimeoutError)
      assert f"127.0.0.1:{port}" in str(info.value)


Handler = Callable[[httpx.Request], httpx.Response]

# The two ways the service talks HTTP: aiohttp (its own client, here to a local HTTP
# server that runs the handler) and an httpx transport given as transport=.
VIA = ["aiohttp", "httpx-transport"]


@asynccontextmanager
async def _service(
    handler: Handler, via: str, path: str = "", **kwargs: Any
) -> AsyncIterator[RemoteSessionService]:
  """A service whose requests are answered by ``handler`` (an httpx-style function)."""
  if via == "httpx-transport":
    async with RemoteSessionService(
        f"http://h{path}", transport=httpx.MockTransport(handler), **kwargs
    ) as s:
      yield s
    return

  async def endpoint(request: web.Request) -> web.Response:
    asked = httpx.Request(
        request.method,
        f"http://{request.host}{request.raw_path}",  # as sent
        headers=list(request.headers.items()),
        content=await request.read(),
    )
    answer = handler(asked)
    headers = {
        k: v
        for k, v in answer.headers.items()
        if k.lower() not in ("content-length", "transfer-encoding")
    }
    return web.Response(status=answer.status_code, body=answer.content, headers=headers)

  app = web.Application()
  app.router.add_route("*", "/{tail:.*}", endpoint)
  runner = web.AppRunner(app)
  await runner.setup()
  try:
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    async with RemoteSessionService(f"http://127.0.0.1:{port}{path}", **kwargs) as s:
      assert s._transport is None  # through aiohttp
      yield s
  finally:
    await runner.cleanup()


@pytest.mark.parametrize("via", VIA)
async def test_reads_are_retried_writes_are_not(via: str) -> None:
  seen: list[str] = []

  def handler(request: httpx.Request) -> httpx.Response:
    seen.append(request.method)
    if len([m for m in seen if m == request.method]) < 3 or request.method == "POST":
      return httpx.Response(503, json={"detail": "Service unavailable"})
    return httpx.Response(200, json={"k": 1})

  async with _service(handler, via, retries=2) as s:
    assert await s.get_user_state(app_name="a", user_id="u") == {"k": 1}
    assert seen == ["GET", "GET", "GET"]
    with pytest.raises(AdkSessionsServerError) as info:
      await s.create_session(app_name="a", user_id="u")
    assert seen.count("POST") == 1
    assert info.value.status_code == 503


@pytest.mark.parametrize("via", VIA)
async def test_a_404_that_is_not_the_servers_is_an_error(via: str) -> None:
  def handler(request: httpx.Request) -> httpx.Response:
    assert request.url.path.startswith("/wrong/apps/")
    return httpx.Response(404, text="<html>Not Found</html>")

  async with _service(handler, via, "/wrong") as s:
    with pytest.raises(AdkSessionsHTTPError, match="base URL of an adk-sessions"):
      await s.get_session(app_name="a", user_id="u", session_id="s")


@pytest.mark.parametrize("via", VIA)
async def test_list_walks_every_page_and_keeps_the_newest_copy(via: str) -> None:
  def session(sid: str, t: float) -> dict[str, Any]:
    return {"id": sid, "appName": "a", "userId": "u", "state": {}, "events": [], "lastUpdateTime": t}

  pages = {
      None: ([session("s1", 1), session("s2", 2)], "p2"),
      "p2": ([session("s3", 3), session("s1", 4)], "p3"),  # s1 updated meanwhile
      "p3": ([session("s4", 5)], None),
  }
  asked: list[dict[str, str]] = []

  def handler(request: httpx.Request) -> httpx.Response:
    params = dict(request.url.params)
    asked.append(params)
    body, nxt = pages[params.get("pageToken")]
    headers = {"x-next-page-token": nxt} if nxt else {}
    return httpx.Response(200, json=body, headers=headers)

  async with _service(handler, via, list_page_size=2) as s:
    got = (await s.list_sessions(app_name="a")).sessions
  assert [(x.id, x.last_update_time) for x in got] == [("s2", 2), ("s3", 3), ("s1", 4), ("s4", 5)]
  assert [p.get("pageSize") for p in asked] == ["2", "2", "2"]


@pytest.mark.parametrize("via", VIA)
async def test_newer_server_fields_are_tolerated(via: str) -> None:
  def handler(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        200,
        json={"id": "s", "appName": "a", "userId": "u", "state": {}, "events": [],
              "lastUpdateTime": 1.5, "revision": 7},
    )

  async with _service(handler, via) as s:
    got = await s.get_session(app_name="a", user_id="u", session_id="s")
  assert got is not None and got.last_update_time == 1.5


@pytest.mark.parametrize("via", VIA)
async def test_what_goes_on_the_wire(via: str, monkeypatch: pytest.MonkeyPatch) -> None:
  monkeypatch.delenv("ADK_SESSIONS_TOKEN", raising=False)
  seen: list[httpx.Request] = []

  def handler(request: httpx.Request) -> httpx.Response:
    seen.append(request)
    if request.method == "POST" and request.url.path.endswith("/events"):
      return httpx.Response(200, json={"lastUpdateTime": 2.5, "event": {}})
    return httpx.Response(
        200,
        json={"id": "..", "appName": "a b", "userId": "u/1", "state": {}, "events": [],
              "lastUpdateTime": 1.25},
    )

  async with _service(handler, via, "/pre", token="tok", headers={"x-extra": "1"}) as s:
    got = await s.get_session(
        app_name="a b", user_id="u/1", session_id="..",
        config=GetSessionConfig(num_recent_events=3, after_timestamp=1.5),
    )
    assert got is not None
    await s.append_event(got, Event(author="user", invocation_id="i"))
    assert got.last_update_time == 2.5
  get, post = seen
  # Path segments and the query go out as the service encoded them ("." and ".." too).
  assert get.url.raw_path == b"/pre/apps/a%20b/users/u%2F1/sessions/%2E%2E?numRecentEvents=3&afterTimestamp=1.5"
  assert post.url.raw_path == b"/pre/apps/a%20b/users/u%2F1/sessions/%2E%2E/events?expectedLastUpdateTime=1.25"
  for request in seen:
    assert request.headers["authorization"] == "Bearer tok"
    assert request.headers["accept"] == "application/json"
    assert request.headers["user-agent"].startswith("adk-sessions-client-python/")
    assert request.headers["x-extra"] == "1"
  assert post.headers["content-type"] == "application/json"
  assert json.loads(post.content)["invocationId"] == "i"


def test_proxy_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
  # As httpx's trust_env: HTTP(S)_PROXY / ALL_PROXY unless NO_PROXY names the host.
  for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
    monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv(name.upper(), raising=False)
  assert _env_proxy("http://h:8000") is None
  monkeypatch.setenv("HTTP_PROXY", "proxy.local:3128")
  monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
  assert _env_proxy("http://h:8000") == "http://proxy.local:3128"
  assert _env_proxy("http://127.0.0.1:8000") is None
  assert _env_proxy("https://h") is None
  monkeypatch.setenv("ALL_PROXY", "http://all.local:1")
  assert _env_proxy("https://h") == "http://all.local:1"


async def test_refusals_are_value_errors(server: Server) -> None:
  async with RemoteSessionService(server.base_url) as s:
    with pytest.raises(AdkSessionsInvalidRequestError) as info:
      await s.create_session(app_name="a", user_id="u", session_id="x" * 200)
    assert isinstance(info.value, ValueError) and info.value.status_code == 400
    assert "128" in str(info.value)


# ---------------------------------------------------------------------- tokens


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Any:
  tokens = tmp_path_factory.mktemp("auth") / "tokens.json"
  tokens.write_text(
      json.dumps({"tokens": [
          {"token": "token-for-app1", "apps": ["app1"]},
          {"token": "token-for-all!", "apps": ["*"]},
      ]})
  )
  server = start_server("memory://", backend="memory", extra_args=["--auth-tokens", str(tokens)])
  yield server
  stop_server(server)


async def test_tokens(auth_server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
  monkeypatch.delenv("ADK_SESSIONS_TOKEN", raising=False)
  base = auth_server.base_url
  host = base.removeprefix("http://")

  async with RemoteSessionService(base) as s:
    with pytest.raises(AdkSessionsAuthError) as info:
      await s.create_session(app_name="app1", user_id="u")
    assert info.value.status_code == 401 and isinstance(info.value, PermissionError)
    assert "ADK_SESSIONS_TOKEN" in str(info.value)

  for service in (
      RemoteSessionService(base, token="token-for-app1"),
      RemoteSessionService(f"adk-sessions://token-for-app1@{host}"),
      RemoteSessionService(f"adk-sessions://{host}?token=token-for-app1"),
  ):
    async with service as s:
      made = await s.create_session(app_name="app1", user_id="u")
      assert await s.get_session(app_name="app1", user_id="u", session_id=made.id)
      with pytest.raises(AdkSessionsAuthError) as info:
        await s.list_sessions(app_name="app2")
      assert info.value.status_code == 403

  monkeypatch.setenv("ADK_SESSIONS_TOKEN", "token-for-all!")
  async with RemoteSessionService(f"adk-sessions://{host}") as s:
    assert len((await s.list_sessions(app_name="app1")).sessions) == 3
    await s.list_sessions(app_name="app2")


# ---------------------------------------------------------------------- pool


def test_one_service_across_event_loops(server: Server) -> None:
  service = RemoteSessionService(server.base_url)

  async def one(i: int) -> str:
    s = await service.create_session(app_name="loops", user_id="u")
    return s.id

  # Each asyncio.run() is a new loop; the service makes a client for each.
  ids = [asyncio.run(one(i)) for i in range(3)]
  assert len(set(ids)) == 3
  # A new loop's client replaces those of closed loops (closed quietly).
  assert len(service._clients) == 1
  asyncio.run(service.close())
  assert len(service._clients) == 0


async def test_close_then_reuse(server: Server) -> None:
  service = RemoteSessionService(server.base_url)
  s = await service.create_session(app_name="reuse", user_id="u")
  await service.close()
  assert await service.get_session(app_name="reuse", user_id="u", session_id=s.id)
  await service.close()


async def test_one_pooled_client_for_many_concurrent_calls(server: Server) -> None:
  async with RemoteSessionService(server.base_url) as service:
    made = await asyncio.gather(
        *(service.create_session(app_name="pool", user_id=f"u{i}") for i in range(50))
    )
    assert len({m.id for m in made}) == 50
    assert len(service._clients) == 1


async def test_error_hierarchy() -> None:
  assert issubclass(AdkSessionsUnreachableError, AdkSessionsError)
  assert issubclass(AdkSessionsHTTPError, AdkSessionsError)
  assert issubclass(AdkSessionsInvalidRequestError, ValueError)
  assert Path(__file__).exists()
