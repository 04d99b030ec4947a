"""The HTTP layer: one pooled client per event loop, over aiohttp (or an httpx transport).

aiohttp parses responses in C; httpx (pure-Python h11 and httpcore's pool) cost about
6x more CPU per request here, and the client process's CPU is what bounds many
concurrent agent turns. An httpx transport given to ``RemoteSessionService`` (tests,
ASGI apps, custom TLS) is still used through httpx.

Both clients give the service the same small response object and name their
exception types, so the retry and error logic above them is one.
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
from typing import Any
from typing import Mapping
from urllib.parse import urlsplit
from urllib.request import getproxies
from urllib.request import proxy_bypass_environment

import aiohttp
import httpx
from yarl import URL

#: Seconds an idle pooled connection is kept (httpx's default; the server closes idle
#: connections after its --header-timeout, 10 s by default).
KEEPALIVE_SECONDS = 5.0


class HttpResponse:
  """A response read in full: status, headers (case-insensitive) and body."""

  __slots__ = ("status_code", "headers", "content", "reason_phrase")

  def __init__(
      self,
      status_code: int,
      headers: Mapping[str, str],
      content: bytes,
      reason_phrase: str,
  ) -> None:
    self.status_code = status_code
    self.headers = headers
    self.content = content
    self.reason_phrase = reason_phrase

  @property
  def is_success(self) -> bool:
    return 200 <= self.status_code < 300

  @property
  def text(self) -> str:
    return self.content.decode("utf-8", errors="replace")

  def json(self) -> Any:
    return json.loads(self.content)


class AiohttpClient:
  """An ``aiohttp.ClientSession`` on the running loop, with the service's settings.

  Timeouts (an ``httpx.Timeout``, the service's public type) map to aiohttp's: connect
  -> ``sock_connect``, pool + connect -> ``connect`` (aiohttp's includes the wait for a
  pooled connection), read -> ``sock_read`` (between two reads, as httpx's). aiohttp has
  no write timeout; the server reads request bodies at once and bounds each request
  with its own timeout. As httpx does by default, the environment's proxy
  (``HTTP(S)_PROXY``/``ALL_PROXY``, ``NO_PROXY``) and ``SSL_CERT_FILE``/``SSL_CERT_DIR``
  are honoured, read once here; redirects are not followed.
  """

  timeout_errors: tuple[type[BaseException], ...] = (TimeoutError,)
  transport_errors: tuple[type[BaseException], ...] = (
      aiohttp.ClientConnectionError,
      aiohttp.ClientPayloadError,
      OSError,
  )

  def __init__(
      self,
      base_url: str,
      *,
      headers: Mapping[str, str],
      timeout: httpx.Timeout,
      max_connections: int,
  ) -> None:
    self._base = base_url
    pool_and_connect = (
        None
        if timeout.pool is None or timeout.connect is None
        else timeout.pool + timeout.connect
    )
    self.loop = asyncio.get_running_loop()
    self.session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(
            limit=max_connections,
            keepalive_timeout=KEEPALIVE_SECONDS,
            ssl=_ssl_context(base_url),
        ),
        headers=dict(headers),
        timeout=aiohttp.ClientTimeout(
            total=None,
            connect=pool_and_connect,
            sock_connect=timeout.connect,
            sock_read=timeout.read,
        ),
        cookie_jar=aiohttp.DummyCookieJar(),
    )
    self._proxy = _env_proxy(base_url)

  async def request(
      self,
      method: str,
      url: str,
      body: bytes | None,
      headers: Mapping[str, str] | None,
  ) -> HttpResponse:
    # Paths and queries are percent-encoded by the service: taken as they are (yarl
    # would otherwise re-quote them and fold an id of ".." spelled %2E%2E).
    async with self.session.request(
        method,
        URL(self._base + url, encoded=True),
        data=body,
        headers=headers,
        allow_redirects=False,
        proxy=self._proxy,
    ) as resp:
      content = await resp.read()
      return HttpResponse(resp.status, resp.headers, content, resp.reason or "")

  async def aclose(self) -> None:
    await self.session.close()

  def close_from_outside(self) -> None:
    """Closes the session from outside its loop (another loop, or no loop)."""
    if self.session.closed:
      return
    if self.loop.is_closed():
      # The loop took the sockets with it. aiohttp's close has nothing to wait for
      # then and completes at once; it marks the session closed, so that aiohttp does
      # not report it as leaked when it is collected.
      steps = self.session.close().__await__()
      try:
        steps.send(None)
      except StopIteration:
        return
      steps.close()  # (not expected: it wanted to wait)
      return
    _close_on(self.loop, self.aclose)


class HttpxClient:
  """An ``httpx.AsyncClient`` over the transport given to the service."""

  timeout_errors: tuple[type[BaseException], ...] = (httpx.TimeoutException,)
  transport_errors: tuple[type[BaseException], ...] = (httpx.TransportError,)

  def __init__(
      self,
      base_url: str,
      *,
      headers: Mapping[str, str],
      timeout: httpx.Timeout,
      max_connections: int,
      transport: httpx.AsyncBaseTransport,
  ) -> None:
    self.loop = asyncio.get_running_loop()
    self.client = httpx.AsyncClient(
        base_url=base_url,
        headers=dict(headers),
        timeout=timeout,
        limits=httpx.Limits(
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
        ),
        transport=transport,
    )

  async def request(
      self,
      method: str,
      url: str,
      body: bytes | None,
      headers: Mapping[str, str] | None,
  ) -> HttpResponse:
    resp = await self.client.request(method, url, content=body, headers=headers)
    return HttpResponse(
        resp.status_code, resp.headers, resp.content, resp.reason_phrase
    )

  async def aclose(self) -> None:
    await self.client.aclose()

  def close_from_outside(self) -> None:
    """Closes the client from outside its loop (a closed loop took the sockets)."""
    if not self.loop.is_closed():
      _close_on(self.loop, self.aclose)


def _close_on(loop: asyncio.AbstractEventLoop, aclose: Any) -> None:
  """Runs ``aclose()`` on ``loop``, now if it runs (in another thread), else when it runs
  again (the coroutine is made only then: nothing to report if it never does)."""
  try:
    loop.call_soon_threadsafe(lambda: loop.create_task(aclose()))
  except RuntimeError:  # closed meanwhile
    pass


def _env_proxy(base_url: str) -> str | None:
  """The proxy the environment gives for the server (httpx's ``trust_env``)."""
  parts = urlsplit(base_url)
  proxies = getproxies()
  proxy = proxies.get(parts.scheme) or proxies.get("all")
  if not proxy:
    return None
  host = parts.netloc.rpartition("@")[2]
  if proxy_bypass_environment(host, proxies):
    return None
  return proxy if "://" in proxy else f"http://{proxy}"


def _ssl_context(base_url: str) -> ssl.SSLContext | bool:
  """The context httpx verifies with by default: SSL_CERT_FILE, else SSL_CERT_DIR, else
  certifi's roots."""
  if not base_url.startswith("https:"):
    return True  # aiohttp's default; plain HTTP never uses it
  if os.environ.get("SSL_CERT_FILE"):
    return ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
  if os.environ.get("SSL_CERT_DIR"):
    return ssl.create_default_context(capath=os.environ["SSL_CERT_DIR"])
  import certifi  # httpx's dependency

  return ssl.create_default_context(cafile=certifi.where())
