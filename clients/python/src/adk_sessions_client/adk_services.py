"""Registers the ``adk-sessions://`` URI schemes with adk-python's service registry.

Importing this module registers ``adk-sessions://``, ``adk-sessions+http://`` and
``adk-sessions+https://`` as session-service schemes, so that
``adk api_server --session_service_uri adk-sessions://127.0.0.1:8000 AGENTS_DIR`` (and
``adk web``, ``adk run``) build a :class:`RemoteSessionService`. adk-python 2.13 loads
custom schemes from ``services.yaml`` or ``services.py`` in the agents directory (it has
no entry points); either of these one-liners there is enough::

    # AGENTS_DIR/services.yaml
    services: [{scheme: adk-sessions, type: session, class: adk_sessions_client.adk_services.RemoteSessionService}]

    # AGENTS_DIR/services.py
    import adk_sessions_client.adk_services

(the YAML line imports this module, which registers all three schemes; the entry
itself registers ``adk-sessions`` once more, to the same class).
"""

from __future__ import annotations

from typing import Any

from google.adk.cli.service_registry import get_service_registry
from google.adk.cli.service_registry import ServiceRegistry

from ._endpoint import ADK_SCHEMES
from ._service import RemoteSessionService

__all__ = [
    "SERVICES_PY",
    "SERVICES_YAML",
    "RemoteSessionService",
    "register",
    "session_service_factory",
]

#: The one line of ``AGENTS_DIR/services.yaml`` that registers every scheme.
SERVICES_YAML = (
    "services: [{scheme: adk-sessions, type: session, class:"
    " adk_sessions_client.adk_services.RemoteSessionService}]\n"
)
#: The one line of ``AGENTS_DIR/services.py`` that does the same.
SERVICES_PY = "import adk_sessions_client.adk_services\n"


def session_service_factory(uri: str, **kwargs: Any) -> RemoteSessionService:
  """adk-python's service factory signature: ``(uri, agents_dir=..., **kwargs)``."""
  return RemoteSessionService(uri=uri, **kwargs)


def register(registry: ServiceRegistry | None = None) -> None:
  """Registers the schemes with ``registry`` (default: adk-python's global one)."""
  registry = registry if registry is not None else get_service_registry()
  for scheme in ADK_SCHEMES:
    registry.register_session_service(scheme, session_service_factory)


register()
