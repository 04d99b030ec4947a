"""Reading the server address: a plain http(s) URL or one of the ADK URI schemes."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from urllib.parse import parse_qsl
from urllib.parse import unquote
from urllib.parse import urlsplit
from urllib.parse import urlunsplit

#: URI scheme -> the HTTP scheme it talks.
SCHEMES: dict[str, str] = {
    "adk-sessions": "http",
    "adk-sessions+http": "http",
    "adk-sessions+https": "https",
    "http": "http",
    "https": "https",
}

#: The schemes registered with adk-python's service registry (not plain http/https,
#: which adk-python does not route to session services).
ADK_SCHEMES: tuple[str, ...] = (
    "adk-sessions",
    "adk-sessions+http",
    "adk-sessions+https",
)

_QUERY_KEYS = ("token", "timeout", "retries")


@dataclass(frozen=True)
class Endpoint:
  """Where the server is, without credentials, plus what the URI said."""

  base_url: str
  """``http(s)://host[:port][/prefix]`` without a trailing slash or credentials."""
  token: str | None = None
  options: dict[str, str] = field(default_factory=dict)
  """``timeout`` / ``retries`` given in the URI's query."""


def parse_endpoint(url: str) -> Endpoint:
  """Parses ``adk-sessions://[TOKEN@]host:port[/prefix][?token=&timeout=&retries=]``.

  ``adk-sessions+https://`` talks HTTPS, ``adk-sessions://`` and
  ``adk-sessions+http://`` plain HTTP; ``http://`` and ``https://`` URLs are taken as
  they are. A token may come as the URI's user info (``TOKEN@host``, or
  ``:TOKEN@host``; percent-encode reserved characters) or as ``?token=``.
  """
  if not isinstance(url, str) or not url.strip():
    raise ValueError("the adk-sessions server URL is empty")
  parts = urlsplit(url.strip())
  scheme = parts.scheme.lower()
  if scheme not in SCHEMES:
    raise ValueError(
        f"unsupported scheme {parts.scheme!r} in {_redact(url)!r}: use one of"
        f" {', '.join(s + '://' for s in SCHEMES)}"
    )
  if not parts.hostname:
    raise ValueError(f"no host in the adk-sessions server URL {_redact(url)!r}")
  if parts.fragment:
    raise ValueError(f"a fragment in the adk-sessions server URL {_redact(url)!r}")

  token: str | None = None
  if parts.username or parts.password:
    token = unquote(parts.password if parts.password else parts.username or "")
  options: dict[str, str] = {}
  for key, value in parse_qsl(parts.query, keep_blank_values=True):
    if key not in _QUERY_KEYS:
      raise ValueError(
          f"unknown option {key!r} in the adk-sessions server URL (known:"
          f" {', '.join(_QUERY_KEYS)})"
      )
    if key == "token":
      token = value
    else:
      options[key] = value

  host = parts.hostname
  if ":" in host:  # IPv6 literal
    host = f"[{host}]"
  netloc = host if parts.port is None else f"{host}:{parts.port}"
  path = parts.path.rstrip("/")
  base_url = urlunsplit((SCHEMES[scheme], netloc, path, "", ""))
  return Endpoint(base_url=base_url, token=token or None, options=options)


def _redact(url: str) -> str:
  """The URL without its user info and query (they may hold a token)."""
  try:
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
  except ValueError:
    return "<unparsable URL>"
