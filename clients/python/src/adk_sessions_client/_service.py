"""``RemoteSessionService``: adk-python's ``BaseSessionService`` over adk-sessions' REST API."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from dataclasses import dataclass
import json
import logging
import os
import random
import time
from types import TracebackType
from typing import Any
from typing import AsyncIterator
from typing import Mapping
from urllib.parse import quote
from urllib.parse import urlencode
import weakref

from google.adk.errors import StaleSessionError
from google.adk.errors.already_exists_error import AlreadyExistsError
from google.adk.errors.session_not_found_error import SessionNotFoundError
from google.adk.events.event import Event
from google.adk.sessions.base_session_service import BaseSessionService
from google.adk.sessions.base_session_service import GetSessionConfig
from google.adk.sessions.base_session_service import ListSessionsResponse
from google.adk.sessions.session import Session
import httpx
from pydantic_core import to_jsonable_python
from typing_extensions import override

from ._endpoint import parse_endpoint
from ._http import AiohttpClient
from ._http import HttpResponse
from ._http import HttpxClient
from ._errors import AdkSessionsAuthError
from ._errors import AdkSessionsError
from ._errors import AdkSessionsHTTPError
from ._errors import AdkSessionsInvalidRequestError
from ._errors import AdkSessionsServerError
from ._errors import AdkSessionsTimeoutError
from ._errors import AdkSessionsUnreachableError
from ._errors import DuplicateEventError
from ._fast_session import loads
from ._fast_session import validate_session

logger = logging.getLogger("adk_sessions_client")

#: Environment variable read for the bearer token when neither the argument nor the
#: URI gives one.
TOKEN_ENV = "ADK_SESSIONS_TOKEN"

DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 2
NEXT_PAGE_TOKEN_HEADER = "x-next-page-token"

# adk-python's own text (database_session_service._STALE_SESSION_ERROR_MESSAGE).
_STALE_SESSION_ERROR_MESSAGE = (
    "The session has been modified in storage since it was loaded. "
    "Please reload the session before appending more events."
)
_MAX_TIMESTAMP = 9.0e9  # the server's bound on afterTimestamp
_RETRY_STATUSES = frozenset({502, 503, 504})
_JSON_HEADERS = {"content-type": "application/json"}
_SESSION_FIELDS = frozenset(
    {"id", "appName", "userId", "state", "events", "lastUpdateTime"}
)


@dataclass
class ClientStats:
  """Counts of the HTTP round trips made (for measuring the client's own overhead).

  ``http_seconds`` is the time spent inside the HTTP client (aiohttp) sending each
  request and reading its whole response; a call's time minus this is the client's own
  work (serializing, validating with pydantic, bookkeeping).
  """

  requests: int = 0
  http_seconds: float = 0.0

  def reset(self) -> None:
    self.requests = 0
    self.http_seconds = 0.0


class RemoteSessionService(BaseSessionService):
  """A session service whose sessions live in an ``adk-sessions serve`` server.

  One pooled ``aiohttp.ClientSession`` (keep-alive connections) per event loop; close
  it with :meth:`close` or ``async with``. Reads (get, list, user/app state) are retried
  on connection failures, timeouts and 502/503/504; writes never are.

  ``append_event`` sends the handle's ``last_update_time`` as
  ``expectedLastUpdateTime``: when the stored session has moved on since the handle
  was loaded, nothing is stored and adk-python's ``StaleSessionError`` is raised, as
  ``DatabaseSessionService`` does. Appends through handles of the same session are
  serialized in this process (as ``DatabaseSessionService`` does), so two tasks
  sharing one handle both succeed.

  Args:
    base_url: ``http(s)://host:port[/prefix]``, or ``adk-sessions://host:port``
      (HTTP), ``adk-sessions+https://host`` (HTTPS), ``adk-sessions+http://…``. The URI
      may carry a token (``adk-sessions://TOKEN@host:port`` or ``?token=``) and
      ``?timeout=SECONDS&retries=N``.
    uri: the same as ``base_url`` (the name adk-python's ``services.yaml`` loader
      passes it under).
    token: bearer token; else the URI's; else ``$ADK_SESSIONS_TOKEN``.
    timeout: seconds for each of connect/read/write/pool (default 30, the server's
      own request timeout).
    retries: extra attempts for reads (default 2).
    max_connections: size of the connection pool (all kept alive).
    list_page_size: sessions per page while ``list_sessions`` walks all pages.
    headers: extra headers for every request.
    transport: an httpx transport (tests, ASGI apps, custom TLS or proxies): the
      service then talks through ``httpx.AsyncClient`` over it instead of aiohttp.
  """

  def __init__(
      self,
      base_url: str | None = None,
      *,
      uri: str | None = None,
      token: str | None = None,
      timeout: float | httpx.Timeout | None = None,
      retries: int | None = None,
      max_connections: int = 100,
      list_page_size: int = 1000,
      headers: Mapping[str, str] | None = None,
      transport: httpx.AsyncBaseTransport | None = None,
      **kwargs: Any,
  ) -> None:
    # adk-python's service registry passes the agents directory to every factory.
    kwargs.pop("agents_dir", None)
    if kwargs:
      raise TypeError(
          "RemoteSessionService() got unexpected keyword arguments: "
          + ", ".join(sorted(kwargs))
      )
    if base_url is not None and uri is not None and base_url != uri:
      raise ValueError("give the server URL as base_url or as uri, not both")
    address = base_url if base_url is not None else uri
    if address is None:
      raise ValueError(
          "RemoteSessionService needs the adk-sessions server's URL, e.g."
          " 'http://127.0.0.1:8000' or 'adk-sessions://127.0.0.1:8000'"
      )
    endpoint = parse_endpoint(address)
    self.base_url: str = endpoint.base_url
    self._token: str | None = (
        token or endpoint.token or os.environ.get(TOKEN_ENV) or None
    )

    if timeout is None:
      timeout = _float_option(endpoint.options, "timeout", DEFAULT_TIMEOUT)
    if retries is None:
      retries = int(_float_option(endpoint.options, "retries", DEFAULT_RETRIES))
    if retries < 0:
      raise ValueError("retries must be >= 0")
    if list_page_size < 1:
      raise ValueError("list_page_size must be >= 1")
    self._timeout = (
        timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
    )
    self._retries = retries
    if max_connections < 1:
      raise ValueError("max_connections must be >= 1")
    self._max_connections = max_connections
    self._page_size = list_page_size
    self._headers: dict[str, str] = {
        "accept": "application/json",
        "user-agent": "adk-sessions-client-python/0.1",
    }
    if headers:
      self._headers.update(headers)
    if self._token:
      self._headers["authorization"] = f"Bearer {self._token}"
    self._transport = transport
    # One client per event loop: a client (its pooled connections) belongs to the loop
    # it was first used in, and scripts often call asyncio.run() repeatedly.
    self._clients: weakref.WeakKeyDictionary[
        asyncio.AbstractEventLoop, AiohttpClient | HttpxClient
    ] = weakref.WeakKeyDictionary()
    # Clients left on loops that are gone by the time this service is collected or the
    # interpreter exits are closed quietly then (aiohttp would report them as leaked).
    weakref.finalize(self, _close_left_behind, self._clients)
    # Per-session append locks, as DatabaseSessionService keeps: [lock, users].
    self._append_locks: dict[tuple[int, str, str, str], list[Any]] = {}
    self.stats = ClientStats()

  def __repr__(self) -> str:
    return f"RemoteSessionService({self.base_url!r})"

  # ------------------------------------------------------------------ sessions

  @override
  async def create_session(
      self,
      *,
      app_name: str,
      user_id: str,
      state: dict[str, Any] | None = None,
      session_id: str | None = None,
  ) -> Session:
    body: dict[str, Any] = {}
    # An empty id means "generate one", as in InMemorySessionService.
    if session_id:
      body["sessionId"] = session_id
    if state:
      body["state"] = _json_safe_state(state)
    path = _sessions_path(app_name, user_id)
    resp = await self._send("POST", path, body=_dumps(body))
    if resp.status_code == 409:
      raise AlreadyExistsError(f"Session with id {session_id} already exists.")
    self._check(resp, "POST", path)
    return _parse_session(resp.content)

  @override
  async def get_session(
      self,
      *,
      app_name: str,
      user_id: str,
      session_id: str,
      config: GetSessionConfig | None = None,
  ) -> Session | None:
    params: dict[str, str] = {}
    if config is not None:
      if config.num_recent_events is not None:
        params["numRecentEvents"] = str(config.num_recent_events)
      after = config.after_timestamp
      # The server takes times in [0, 9e9] only. Every event is at or after a time
      # <= 0 (no filter), and none after 9e9 (year 2255: no events).
      if after is not None and after > _MAX_TIMESTAMP:
        params["numRecentEvents"] = "0"
      elif after is not None and after > 0:
        params["afterTimestamp"] = repr(float(after))
    path = _session_path(app_name, user_id, session_id)
    resp = await self._send("GET", path, params=params, idempotent=True)
    if resp.status_code == 404 and _is_session_not_found(resp):
      return None
    self._check(resp, "GET", path)
    return _parse_session(resp.content)

  @override
  async def list_sessions(
      self, *, app_name: str, user_id: str | None = None
  ) -> ListSessionsResponse:
    if user_id is None:
      path = f"/apps/{_seg(app_name)}/sessions"
    else:
      path = _sessions_path(app_name, user_id)
    # Keyset pages: a session updated while we walk them shows up again on a later
    # page; keep its last (newest) appearance, in its newer place.
    found: dict[tuple[str, str], Session] = {}
    page_token: str | None = None
    while True:
      params = {"pageSize": str(self._page_size)}
      if page_token:
        params["pageToken"] = page_token
      resp = await self._send("GET", path, params=params, idempotent=True)
      self._check(resp, "GET", path)
      for session in _parse_sessions(resp.content):
        key = (session.user_id, session.id)
        found.pop(key, None)
        found[key] = session
      next_token = resp.headers.get(NEXT_PAGE_TOKEN_HEADER)
      if not next_token:
        break
      if next_token == page_token:
        raise AdkSessionsError(
            f"GET {self.base_url}{path}: the server returned the same page token"
            " twice"
        )
      page_token = next_token
    return ListSessionsResponse(sessions=list(found.values()))

  @override
  async def delete_session(
      self, *, app_name: str, user_id: str, session_id: str
  ) -> None:
    path = _session_path(app_name, user_id, session_id)
    resp = await self._send("DELETE", path)
    self._check(resp, "DELETE", path)

  @override
  async def get_user_state(
      self, *, app_name: str, user_id: str
  ) -> dict[str, Any]:
    path = f"/apps/{_seg(app_name)}/users/{_seg(user_id)}/state"
    resp = await self._send("GET", path, idempotent=True)
    self._check(resp, "GET", path)
    return dict(resp.json())

  async def get_app_state(self, *, app_name: str) -> dict[str, Any]:
    """The app-scoped state (keys without ``app:``); ``{}`` when there is none."""
    path = f"/apps/{_seg(app_name)}/state"
    resp = await self._send("GET", path, idempotent=True)
    self._check(resp, "GET", path)
    return dict(resp.json())

  @override
  async def append_event(self, session: Session, event: Event) -> Event:
    # adk-python's order (DatabaseSessionService.append_event): partial events are
    # not stored; temp: keys go into the handle's state, then out of the event.
    if event.partial:
      return event
    self._apply_temp_state(session, event)
    event = self._trim_temp_delta_state(event)

    body = event.model_dump_json(by_alias=True, exclude_none=True).encode()
    path = _session_path(session.app_name, session.user_id, session.id) + "/events"
    async with self._append_lock(session):
      # Read inside the lock: an append that just finished through this same handle
      # has moved it on.
      params = {"expectedLastUpdateTime": repr(float(session.last_update_time))}
      resp = await self._send("POST", path, params=params, body=body)
      if resp.status_code == 404 and _is_session_not_found(resp):
        raise SessionNotFoundError(f"Session {session.id} not found.")
      if resp.status_code == 409:
        detail = _detail_text(resp)
        if "duplicate event id" in detail:
          raise self._error(resp, "POST", path, DuplicateEventError)
        raise StaleSessionError(
            f"{_STALE_SESSION_ERROR_MESSAGE} (adk-sessions: {detail})"
        )
      self._check(resp, "POST", path)
      answer = json.loads(resp.content)
      session.last_update_time = float(answer["lastUpdateTime"])

    # The server fills in an empty invocation id (and id); keep the handle's event
    # equal to the stored one.
    stored = answer.get("event") or {}
    if not event.invocation_id and stored.get("invocationId"):
      event.invocation_id = stored["invocationId"]
    if not event.id and stored.get("id"):
      event.id = stored["id"]
    return self._commit_event_to_session(session, event)

  # ------------------------------------------------------------------ lifecycle

  async def close(self) -> None:
    """Closes the pooled connections. The service opens new ones if used again."""
    try:
      current = asyncio.get_running_loop()
    except RuntimeError:
      current = None
    clients = list(self._clients.items())
    self._clients.clear()
    for loop, client in clients:
      if loop is current:
        await client.aclose()
      else:  # closed, stopped, or running in another thread
        client.close_from_outside()

  async def __aenter__(self) -> RemoteSessionService:
    return self

  async def __aexit__(
      self,
      exc_type: type[BaseException] | None,
      exc_val: BaseException | None,
      exc_tb: TracebackType | None,
  ) -> None:
    await self.close()

  # ------------------------------------------------------------------ HTTP

  def _client(self) -> AiohttpClient | HttpxClient:
    loop = asyncio.get_running_loop()
    client = self._clients.get(loop)
    if client is None:
      _forget_closed_loops(self._clients)
      if self._transport is not None:
        client = HttpxClient(
            self.base_url,
            headers=self._headers,
            timeout=self._timeout,
            max_connections=self._max_connections,
            transport=self._transport,
        )
      else:
        client = AiohttpClient(
            self.base_url,
            headers=self._headers,
            timeout=self._timeout,
            max_connections=self._max_connections,
        )
      self._clients[loop] = client
    return client

  async def _send(
      self,
      method: str,
      path: str,
      *,
      params: Mapping[str, str] | None = None,
      body: bytes | None = None,
      idempotent: bool = False,
  ) -> HttpResponse:
    client = self._client()
    attempts = 1 + self._retries if idempotent else 1
    headers = _JSON_HEADERS if body is not None else None
    # The query inline, percent-encoded (the clients take the URL as it is).
    url = f"{path}?{urlencode(params)}" if params else path
    stats = self.stats
    for attempt in range(1, attempts + 1):
      started = time.perf_counter()
      try:
        resp = await client.request(method, url, body, headers)
      except client.timeout_errors as e:
        stats.requests += 1
        stats.http_seconds += time.perf_counter() - started
        if attempt < attempts:
          await _backoff(attempt)
          continue
        raise AdkSessionsTimeoutError(
            f"{method} {self.base_url}{path}: no answer from the adk-sessions"
            f" server within the timeout ({type(e).__name__}"
            f"{', after ' + str(attempts) + ' attempts' if attempts > 1 else ''})",
            url=self.base_url,
        ) from e
      except client.transport_errors as e:
        stats.requests += 1
        stats.http_seconds += time.perf_counter() - started
        if attempt < attempts:
          await _backoff(attempt)
          continue
        raise AdkSessionsUnreachableError(
            f"cannot reach the adk-sessions server at {self.base_url} ({method}"
            f" {path}): {type(e).__name__}: {e or 'connection failed'}"
            f"{' (' + str(attempts) + ' attempts)' if attempts > 1 else ''}; is"
            " `adk-sessions serve` running there?",
            url=self.base_url,
        ) from e
      stats.requests += 1
      stats.http_seconds += time.perf_counter() - started
      if resp.status_code in _RETRY_STATUSES and attempt < attempts:
        await _backoff(attempt)
        continue
      return resp
    raise AssertionError("unreachable")  # pragma: no cover

  def _check(self, resp: HttpResponse, method: str, path: str) -> None:
    if resp.is_success:
      return
    status = resp.status_code
    cls: type[AdkSessionsHTTPError]
    if status in (401, 403):
      cls = AdkSessionsAuthError
    elif status in (400, 413, 422):
      cls = AdkSessionsInvalidRequestError
    elif status >= 500:
      cls = AdkSessionsServerError
    else:
      cls = AdkSessionsHTTPError
    raise self._error(resp, method, path, cls)

  def _error(
      self,
      resp: HttpResponse,
      method: str,
      path: str,
      cls: type[AdkSessionsHTTPError],
  ) -> AdkSessionsHTTPError:
    detail: object
    try:
      detail = resp.json().get("detail")
    except (ValueError, AttributeError):
      detail = resp.text[:500]
    message = f"{method} {self.base_url}{path}: {resp.status_code} {_detail_text(resp)}"
    if resp.status_code == 401 and not self._token:
      message += (
          " (no token was sent: pass token=..., put it in the URI or set"
          f" {TOKEN_ENV})"
      )
    elif resp.status_code == 404:
      message += " (is this the base URL of an adk-sessions server?)"
    return cls(
        message,
        status_code=resp.status_code,
        detail=detail,
        method=method,
        url=f"{self.base_url}{path}",
    )

  @asynccontextmanager
  async def _append_lock(self, session: Session) -> AsyncIterator[None]:
    key = (
        id(asyncio.get_running_loop()),
        session.app_name,
        session.user_id,
        session.id,
    )
    entry = self._append_locks.get(key)
    if entry is None:
      entry = [asyncio.Lock(), 0]
      self._append_locks[key] = entry
    entry[1] += 1
    try:
      async with entry[0]:
        yield
    finally:
      entry[1] -= 1
      if entry[1] == 0:
        self._append_locks.pop(key, None)


# ---------------------------------------------------------------------- helpers


def _seg(value: str) -> str:
  """One path segment, percent-encoded (``.``/``..`` too, so no URL layer folds them)."""
  if value in (".", ".."):
    return value.replace(".", "%2E")
  return quote(value, safe="")


def _sessions_path(app_name: str, user_id: str) -> str:
  return f"/apps/{_seg(app_name)}/users/{_seg(user_id)}/sessions"


def _session_path(app_name: str, user_id: str, session_id: str) -> str:
  return f"{_sessions_path(app_name, user_id)}/{_seg(session_id)}"


def _dumps(value: Any) -> bytes:
  return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def _json_safe_state(state: dict[str, Any]) -> dict[str, Any]:
  """As adk-python's ``make_json_safe_state``: rich types serialized faithfully,
  values that cannot be (callables) replaced by their repr, with a warning."""
  try:
    return dict(to_jsonable_python(state))
  except Exception:  # pylint: disable=broad-except
    logger.warning(
        "Failed to serialize session state; some values are not"
        " JSON-serializable (e.g. callables) and will be replaced with a"
        " string representation in the persisted state.",
        exc_info=True,
    )
    return dict(to_jsonable_python(state, serialize_unknown=True))


def _parse_session(raw: bytes) -> Session:
  # JSON decoded to Python, then validated in Python mode, as adk-python's
  # DatabaseSessionService reads its JSON.
  data = loads(raw)
  if not isinstance(data, dict):
    raise AdkSessionsError(f"expected a session object, got {type(data).__name__}")
  return _session_from(data, no_nulls=b"null" not in raw)


def _parse_sessions(raw: bytes) -> list[Session]:
  data = loads(raw)
  if not isinstance(data, list):
    raise AdkSessionsError(f"expected a list of sessions, got {type(data).__name__}")
  no_nulls = b"null" not in raw
  return [_session_from(item, no_nulls=no_nulls) for item in data]


def _session_from(data: dict[str, Any], *, no_nulls: bool = False) -> Session:
  # A newer server may add members adk-python's Session (extra="forbid") lacks.
  if not _SESSION_FIELDS.issuperset(data):
    data = {k: v for k, v in data.items() if k in _SESSION_FIELDS}
  # Session.model_validate's result, without the pydantic hooks that do nothing for
  # JSON (see _fast_session).
  return validate_session(data, no_nulls=no_nulls)


def _detail_text(resp: HttpResponse) -> str:
  try:
    detail = resp.json().get("detail")
  except (ValueError, AttributeError):
    text = resp.text.strip()
    return text[:500] if text else resp.reason_phrase
  if isinstance(detail, list):  # FastAPI's validation items
    return "; ".join(
        f"{'.'.join(str(p) for p in item.get('loc', []))}: {item.get('msg')}"
        if isinstance(item, dict)
        else str(item)
        for item in detail
    )
  return str(detail)


def _is_session_not_found(resp: HttpResponse) -> bool:
  """A 404 from the session routes (JSON ``detail``), not from a wrong base URL."""
  try:
    body = resp.json()
  except ValueError:
    return False
  return isinstance(body, dict) and "detail" in body


def _float_option(options: Mapping[str, str], key: str, default: float) -> float:
  if key not in options:
    return default
  try:
    return float(options[key])
  except ValueError:
    raise ValueError(
        f"option {key}={options[key]!r} in the adk-sessions server URL is not a"
        " number"
    ) from None


async def _backoff(attempt: int) -> None:
  await asyncio.sleep(min(2.0, 0.05 * 2 ** (attempt - 1)) * (0.5 + random.random()))


def _close_left_behind(
    clients: weakref.WeakKeyDictionary[
        asyncio.AbstractEventLoop, AiohttpClient | HttpxClient
    ],
) -> None:
  """At the service's end (collected, or the interpreter exiting): closes its clients
  without awaiting (on a loop still open, the close is scheduled there)."""
  for client in list(clients.values()):
    client.close_from_outside()
  clients.clear()


def _forget_closed_loops(
    clients: weakref.WeakKeyDictionary[
        asyncio.AbstractEventLoop, AiohttpClient | HttpxClient
    ],
) -> None:
  """Drops (closing quietly) the clients whose loop is closed: its sockets are gone."""
  for loop, client in list(clients.items()):
    if loop.is_closed():
      client.close_from_outside()
      clients.pop(loop, None)
