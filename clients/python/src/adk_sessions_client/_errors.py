"""Errors raised by the client for what adk-python's own services have no error for.

Where adk-python does have one, the client raises adk-python's: ``AlreadyExistsError``
(create with an id in use), ``SessionNotFoundError`` (append to a missing session) and
``StaleSessionError`` (append through a handle the stored session has moved past).
"""

from __future__ import annotations


class AdkSessionsError(Exception):
  """Base class of the client's own errors."""


class AdkSessionsUnreachableError(AdkSessionsError, ConnectionError):
  """The server could not be reached (refused, reset, DNS, TLS...)."""

  def __init__(self, message: str, *, url: str) -> None:
    super().__init__(message)
    self.url = url


class AdkSessionsTimeoutError(AdkSessionsError, TimeoutError):
  """The server did not answer within the client's timeout."""

  def __init__(self, message: str, *, url: str) -> None:
    super().__init__(message)
    self.url = url


class AdkSessionsHTTPError(AdkSessionsError):
  """The server answered with an error status the client has no better error for."""

  def __init__(
      self,
      message: str,
      *,
      status_code: int,
      detail: object,
      method: str,
      url: str,
  ) -> None:
    super().__init__(message)
    self.status_code = status_code
    self.detail = detail
    self.method = method
    self.url = url


class AdkSessionsAuthError(AdkSessionsHTTPError, PermissionError):
  """401 (no or unknown token) or 403 (the token does not name this app)."""


class AdkSessionsInvalidRequestError(AdkSessionsHTTPError, ValueError):
  """400, 413 or 422: the server refused the arguments (nothing was changed).

  A ``ValueError``, as adk-python's services raise for bad arguments (adk-python's
  API server turns a ``ValueError`` from ``create_session`` into a 400).
  """


class DuplicateEventError(AdkSessionsHTTPError, ValueError):
  """409 on append: an event with this id is already stored in the session."""


class AdkSessionsServerError(AdkSessionsHTTPError):
  """5xx: the server or its database failed (reads were retried first)."""
