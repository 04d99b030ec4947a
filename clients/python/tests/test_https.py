"""The client over HTTPS to the real server (``serve --tls-cert --tls-key``): adk-python's
calls work when the server's certificate is trusted (``SSL_CERT_FILE``), and fail as
unreachable, without sending anything, when it is not."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
import shutil
import subprocess
import time

from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions
import pytest

from adk_sessions_client import AdkSessionsUnreachableError
from adk_sessions_client import RemoteSessionService
from conftest import Server
from conftest import skip_or_fail
from conftest import start_server
from conftest import stop_server

pytestmark = pytest.mark.anyio


def self_signed_pair(directory: Path) -> tuple[Path, Path]:
  """A self-signed certificate (its own CA) for 127.0.0.1, made by the openssl tool."""
  if shutil.which("openssl") is None:
    skip_or_fail("the openssl command is needed to make the HTTPS test's certificate")
  cert, key = directory / "cert.pem", directory / "key.pem"
  subprocess.run(
      [
          "openssl", "req", "-x509", "-newkey", "ec",
          "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
          "-subj", "/CN=adk-sessions client test",
          "-addext", "subjectAltName=IP:127.0.0.1",
          "-keyout", str(key), "-out", str(cert),
      ],
      check=True,
      capture_output=True,
  )
  return cert, key


@pytest.fixture
def https_server(tmp_path: Path) -> Iterator[tuple[Server, Path]]:
  """The server on memory:// serving HTTPS with a fresh self-signed certificate."""
  cert, key = self_signed_pair(tmp_path)
  server = start_server("memory://", backend="memory", tls=(cert, key))
  try:
    yield server, cert
  finally:
    stop_server(server)


async def test_adk_calls_work_over_https_with_a_trusted_certificate(
    https_server: tuple[Server, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
  server, cert = https_server
  assert server.base_url.startswith("https://")
  monkeypatch.setenv("SSL_CERT_FILE", str(cert))
  service = RemoteSessionService(server.base_url.replace("https://", "adk-sessions+https://"))
  try:
    session = await service.create_session(
        app_name="shop", user_id="alice", state={"user:lang": "en"}
    )
    event = Event(
        invocation_id="inv-1",
        author="user",
        timestamp=time.time(),
        actions=EventActions(state_delta={"cart": 2}),
    )
    await service.append_event(session, event)
    read = await service.get_session(
        app_name="shop", user_id="alice", session_id=session.id
    )
    assert read is not None
    assert read.state == {"user:lang": "en", "cart": 2}
    assert [e.id for e in read.events] == [event.id]
  finally:
    await service.close()


async def test_an_untrusted_certificate_is_unreachable_and_nothing_is_sent(
    https_server: tuple[Server, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
  server, cert = https_server
  # certifi's public roots: the test certificate is not among them.
  monkeypatch.delenv("SSL_CERT_FILE", raising=False)
  monkeypatch.delenv("SSL_CERT_DIR", raising=False)
  service = RemoteSessionService(server.base_url, retries=0)
  try:
    with pytest.raises(AdkSessionsUnreachableError) as raised:
      await service.create_session(app_name="shop", user_id="alice")
    assert "certificate" in str(raised.value).lower(), raised.value
  finally:
    await service.close()
  # Nothing reached the server: a client that trusts the certificate sees no session.
  monkeypatch.setenv("SSL_CERT_FILE", str(cert))
  trusting = RemoteSessionService(server.base_url)
  try:
    listed = await trusting.list_sessions(app_name="shop", user_id="alice")
    assert listed.sessions == []
  finally:
    await trusting.close()
