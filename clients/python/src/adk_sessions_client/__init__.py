"""A google-adk session service backed by an ``adk-sessions serve`` server over HTTP.

>>> from adk_sessions_client import RemoteSessionService
>>> service = RemoteSessionService("http://127.0.0.1:8000")   # doctest: +SKIP

Use it wherever adk-python takes a ``BaseSessionService`` (``Runner``,
``get_fast_api_app``...), or register its URI schemes with adk-python's CLI through
``adk_sessions_client.adk_services`` (see that module).
"""

from ._endpoint import ADK_SCHEMES
from ._endpoint import parse_endpoint
from ._errors import AdkSessionsAuthError
from ._errors import AdkSessionsError
from ._errors import AdkSessionsHTTPError
from ._errors import AdkSessionsInvalidRequestError
from ._errors import AdkSessionsServerError
from ._errors import AdkSessionsTimeoutError
from ._errors import AdkSessionsUnreachableError
from ._errors import DuplicateEventError
from ._service import ClientStats
from ._service import RemoteSessionService
from ._service import TOKEN_ENV

__version__ = "0.1.0"

__all__ = [
    "ADK_SCHEMES",
    "AdkSessionsAuthError",
    "AdkSessionsError",
    "AdkSessionsHTTPError",
    "AdkSessionsInvalidRequestError",
    "AdkSessionsServerError",
    "AdkSessionsTimeoutError",
    "AdkSessionsUnreachableError",
    "ClientStats",
    "DuplicateEventError",
    "RemoteSessionService",
    "TOKEN_ENV",
    "parse_endpoint",
]
