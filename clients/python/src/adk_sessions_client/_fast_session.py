"""Reading a session's JSON into adk-python's ``Session`` about 4x faster, with the same result.

``Session.model_validate`` spends most of its time (about 35 µs of 40 per event here) in
Python hooks that do nothing for data decoded from JSON:

- google-genai's ``BaseModel._check_field_type_mismatches`` (a "before" validator on every
  genai model) only logs a warning when a value is already a pydantic model of another
  class; ``json.loads`` never produces pydantic models, so it never logs and it never
  changes the data;
- adk-python's ``Event._accept_convenience_kwargs`` only moves the keys ``message``,
  ``state``, ``route`` and ``node_path`` when they are not fields of the event; an event
  whose keys are all field names or aliases goes through unchanged;
- genai's ``Part`` has its own ``__init__``, which pydantic calls for every part given as a
  dict (``Part(**data)``); it only drops the arguments it names when they are ``None``
  before validating the rest as usual.

This module builds, once, a validator from adk-python's own schema for ``Session``
(``Session.__pydantic_core_schema__``: every type, coercion, default, alias and other
validator kept) with those three hooks replaced by exact shortcuts: the first removed;
the second skipped for events whose keys are all fields (others still go through it);
``Part.__init__`` skipped for parts without a ``None`` value (others still go through it).
It produces instances of adk-python's own classes, equal to ``Session.model_validate``'s
with the same fields set. A second validator has no hook at all, for the common case
where neither shortcut would call its hook: JSON text without a ``null`` (so no part has
a ``None``) whose events' keys are all fields (checked before each use, in one pass).

It is used only when the shortcuts match the installed versions: the hooks are found by
name and ``Part.__init__``'s signature is the one described above, and a set of rich
sample sessions reads back the same both ways (checked once, when the validator is
built). Otherwise, and for any input it refuses, the client uses
``Session.model_validate`` (and its error).

CPU time for a 50-event session from the server (26 kB, best of 15x20 on an idle
moment of the 2-core VM): ``json.loads`` 150 µs + ``Session.model_validate`` ~1500 µs;
``loads`` 95 µs + the validator without hooks 440 µs (500 µs with the shortcuts).
"""

from __future__ import annotations

from dataclasses import dataclass
import inspect
import json
import logging
import threading
from typing import Any
from typing import Callable

from google.adk.sessions.session import Session
from pydantic import BaseModel
from pydantic_core import from_json
from pydantic_core import SchemaValidator

logger = logging.getLogger("adk_sessions_client")

_TYPE_CHECK_HOOK = ("google.genai._common", "BaseModel._check_field_type_mismatches")
_CONVENIENCE_HOOK = ("google.adk.events.event", "Event._accept_convenience_kwargs")
_PART_CLASS = ("google.genai.types", "Part")
# The keyword arguments of genai's Part.__init__ (its positional-only `value` aside);
# each one given as None is dropped before validation.
_PART_INIT_KEYWORDS = frozenset({
    "video_metadata",
    "thought",
    "inline_data",
    "file_data",
    "thought_signature",
    "function_call",
    "code_execution_result",
    "executable_code",
    "function_response",
    "text",
})
# Keys not in schemas that the rewrite must leave untouched (values, not schemas).
_NOT_SCHEMAS = frozenset({"default", "metadata", "serialization", "expected", "members"})


@dataclass(frozen=True)
class _Readers:
  """The validators built from adk-python's schema."""

  hooked: SchemaValidator
  """The hooks replaced by their exact shortcuts: for any data decoded from JSON."""
  plain: SchemaValidator | None
  """No hook at all: only for data without a null (so no part has a None) whose events'
  keys are all fields (so Event's hook would pass them on unchanged)."""
  event_fields: frozenset[str]


_lock = threading.Lock()
_built = False
_readers: _Readers | None = None


def loads(raw: bytes) -> Any:
  """``json.loads(raw)``: the same values, parsed by pydantic-core's JSON parser (about
  1.5x faster here); ``json.loads`` itself for what that parser refuses (a lone
  surrogate, nesting deeper than 200, a byte-order mark, UTF-16/32...)."""
  try:
    return from_json(raw)
  except ValueError:
    return json.loads(raw)


def validate_session(data: dict[str, Any], *, no_nulls: bool = False) -> Session:
  """``Session.model_validate(data)`` for ``data`` decoded from JSON, faster.

  ``no_nulls``: the JSON text had no ``null`` (lets it use the validator without hooks).
  """
  readers = _readers if _built else _build()
  if readers is not None:
    validator = readers.hooked
    if no_nulls and readers.plain is not None and _plain_events(data, readers):
      validator = readers.plain
    try:
      session = validator.validate_python(data)
    except Exception:  # pylint: disable=broad-except
      pass  # adk-python's own validation decides, and raises its own error
    else:
      if type(session) is Session:  # pylint: disable=unidiomatic-typecheck
        return session
  return Session.model_validate(data)


def _plain_events(data: dict[str, Any], readers: _Readers) -> bool:
  events = data.get("events")
  if events is None:
    return True
  if type(events) is not list:  # pylint: disable=unidiomatic-typecheck
    return False
  fields = readers.event_fields
  for event in events:
    if type(event) is not dict or not fields.issuperset(event):  # pylint: disable=unidiomatic-typecheck
      return False
  return True


def _build() -> _Readers | None:
  global _built, _readers
  with _lock:
    if not _built:
      try:
        _readers = _build_readers()
      except Exception:  # pylint: disable=broad-except
        logger.debug("fast session reading is off", exc_info=True)
        _readers = None
      _built = True
  return _readers


def _build_readers() -> _Readers | None:
  hooked_rewrite = _Rewrite(hooks=True)
  hooked_schema = hooked_rewrite.schema(Session.__pydantic_core_schema__)
  if not hooked_rewrite.replaced or hooked_rewrite.event_fields is None:
    return None
  hooked = _compile(hooked_schema, hooked_rewrite.classes)
  plain_rewrite = _Rewrite(hooks=False)
  plain_schema = plain_rewrite.schema(Session.__pydantic_core_schema__)
  plain: SchemaValidator | None = _compile(plain_schema, plain_rewrite.classes)
  readers = _Readers(hooked, plain, hooked_rewrite.event_fields)
  for sample in _samples():
    expected = Session.model_validate(sample)
    if not _same(expected, hooked.validate_python(sample)):
      logger.debug(
          "fast session reading is off: it reads a sample differently with the"
          " installed google-adk / google-genai"
      )
      return None
    if (
        plain is not None
        and "null" not in json.dumps(sample)
        and _plain_events(sample, readers)
        and not _same(expected, plain.validate_python(sample))
    ):
      logger.debug("fast session reading without hooks is off: a sample differs")
      plain = None
      readers = _Readers(hooked, None, hooked_rewrite.event_fields)
  return readers


def _compile(schema: Any, classes: set[type]) -> SchemaValidator:
  """A validator built from ``schema`` itself.

  pydantic-core reuses a model class's own validator for a nested model schema when the
  class is complete, which would bring the hooks back; like pydantic's ``model_rebuild``,
  the classes are marked incomplete while the validator is built (a few milliseconds,
  once) and restored at once.
  """
  marked = [c for c in classes if c.__dict__.get("__pydantic_complete__") is True]
  try:
    for cls in marked:
      cls.__pydantic_complete__ = False
    return SchemaValidator(schema)
  finally:
    for cls in marked:
      cls.__pydantic_complete__ = True


class _Rewrite:
  """Copies a core schema with the hooks described in the module's docstring replaced
  by their shortcuts (``hooks=True``), or removed (``hooks=False``: only for JSON
  without nulls whose events' keys are all fields)."""

  def __init__(self, *, hooks: bool) -> None:
    self.hooks = hooks
    self.classes: set[type] = set()
    self.replaced = 0
    self.event_fields: frozenset[str] | None = None

  def schema(self, node: Any) -> Any:
    if isinstance(node, list):
      return [self.schema(item) for item in node]
    if isinstance(node, tuple):
      return tuple(self.schema(item) for item in node)
    if not isinstance(node, dict):
      return node
    kind = node.get("type")
    if kind == "function-before":
      hook = node["function"]
      function = hook.get("function") if isinstance(hook, dict) else None
      name = _name(function)
      if name == _TYPE_CHECK_HOOK:
        self.replaced += 1
        return self.schema(node["schema"])
      if name == _CONVENIENCE_HOOK and hook.get("type") == "no-info":
        fields = _field_keys(function)
        if fields is not None:
          self.replaced += 1
          self.event_fields = fields
          if not self.hooks:
            return self.schema(node["schema"])
          return {
              **node,
              "function": {**hook, "function": _skip_for_fields(function, fields)},
              "schema": self.schema(node["schema"]),
          }
    copy = {
        key: value if key in _NOT_SCHEMAS else self.schema(value)
        for key, value in node.items()
    }
    if kind == "model":
      cls = node["cls"]
      self.classes.add(cls)
      if node.get("custom_init") and _is_part(cls):
        self.replaced += 1
        copy["custom_init"] = False
        if not self.hooks:
          return copy
        ref = copy.pop("ref", None)
        wrapped: dict[str, Any] = {
            "type": "function-before",
            "function": {"type": "no-info", "function": _part_hook(cls)},
            "schema": copy,
        }
        if ref is not None:
          wrapped["ref"] = ref
        return wrapped
    return copy


def _name(function: Any) -> tuple[str | None, str | None]:
  return (
      getattr(function, "__module__", None),
      getattr(function, "__qualname__", None),
  )


def _field_keys(hook: Any) -> frozenset[str] | None:
  """The names and aliases of the fields of the model whose hook ``hook`` is."""
  cls = getattr(hook, "__self__", None)
  if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
    return None
  keys: set[str] = set()
  for name, field in cls.model_fields.items():
    keys.add(name)
    for alias in (field.alias, field.validation_alias):
      if isinstance(alias, str):
        keys.add(alias)
  return frozenset(keys)


def _skip_for_fields(
    hook: Callable[[Any], Any], fields: frozenset[str]
) -> Callable[[Any], Any]:
  """``Event._accept_convenience_kwargs``, skipped when every key is a field."""

  def hook_unless_all_fields(data: Any) -> Any:
    if type(data) is dict and fields.issuperset(data):  # pylint: disable=unidiomatic-typecheck
      return data
    return hook(data)

  return hook_unless_all_fields


def _is_part(cls: type) -> bool:
  """genai's Part, with the ``__init__`` signature the shortcut was written for."""
  if (cls.__module__, cls.__qualname__) != _PART_CLASS:
    return False
  try:
    params = list(inspect.signature(cls.__init__).parameters.values())
  except (TypeError, ValueError):
    return False
  kinds = [p.kind for p in params]
  return (
      len(params) == len(_PART_INIT_KEYWORDS) + 3
      and params[1].name == "value"
      and kinds[1] is inspect.Parameter.POSITIONAL_ONLY
      and kinds[-1] is inspect.Parameter.VAR_KEYWORD
      and all(
          p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is None
          for p in params[2:-1]
      )
      and {p.name for p in params[2:-1]} == _PART_INIT_KEYWORDS
  )


def _part_hook(cls: type) -> Callable[[Any], Any]:
  """What pydantic does for a Part given as a dict (``cls(**data)``), without the call
  when ``__init__`` would pass the data on unchanged (no ``None`` among its arguments)."""

  def part(data: Any) -> Any:
    if type(data) is not dict or None not in data.values():  # pylint: disable=unidiomatic-typecheck
      return data
    return cls(**data)  # an instance of cls: the model schema takes it as it is

  return part


def _same(a: Any, b: Any) -> bool:
  """Equal, with the same fields set at every level."""
  return bool(
      a == b
      and a.model_dump() == b.model_dump()
      and a.model_dump(exclude_unset=True) == b.model_dump(exclude_unset=True)
  )


def _samples() -> list[dict[str, Any]]:
  """Sessions as the server returns them, with events of many shapes."""
  session = {
      "id": "s",
      "appName": "app",
      "userId": "u",
      "state": {"k": 1, "user:x": [1, 2], "app:y": {"z": "w"}},
      "lastUpdateTime": 1700000000.25,
  }
  events: list[dict[str, Any]] = [
      {
          "id": "e1",
          "invocationId": "i1",
          "author": "user",
          "timestamp": 1700000000.0,
          "content": {"role": "user", "parts": [{"text": "hello"}]},
          "actions": {"stateDelta": {"a": 1}, "artifactDelta": {"f.txt": 0}},
      },
      {
          "id": "e2",
          "invocationId": "i1",
          "author": "agent",
          "timestamp": 1700000001.5,
          "branch": "agent.sub",
          "content": {
              "role": "model",
              "parts": [
                  {"text": "thinking", "thought": True, "thoughtSignature": "c2lnbmF0dXJl"},
                  {"functionCall": {"id": "c1", "name": "tool", "args": {"q": "x", "n": 2}}},
                  {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
                  {"fileData": {"fileUri": "gs://b/f", "mimeType": "text/plain"}},
                  {"executableCode": {"code": "print(1)", "language": "PYTHON"}},
                  {"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "1"}},
              ],
          },
          "longRunningToolIds": ["c1"],
          "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5},
          "customMetadata": {"trace": {"id": 1}},
          "modelVersion": "m-1",
          "turnComplete": True,
          "nodeInfo": {"path": "root/sub@1"},
      },
      {
          "id": "e3",
          "invocationId": "i1",
          "author": "agent",
          "timestamp": 1700000002,
          "content": {
              "role": "user",
              "parts": [
                  {
                      "functionResponse": {
                          "id": "c1",
                          "name": "tool",
                          "response": {"result": [1, "two", 3.5]},
                      }
                  }
              ],
          },
          "actions": {
              "stateDelta": {"temp:x": "t", "b": {"c": [True]}},
              "transferToAgent": "other",
              "escalate": False,
              "skipSummarization": True,
          },
      },
  ]
  odd: list[dict[str, Any]] = [
      # Shapes that take the hooks' own way: a part with a None value, an event with a
      # key that is not a field (a convenience key, an unknown key).
      {
          "id": "e4",
          "author": "agent",
          "timestamp": 1700000003.0,
          "content": {"parts": [{"text": None, "functionCall": {"name": "f"}}]},
          "state": {"moved": "into actions.state_delta"},
          "somethingNewer": 1,
      },
      {
          "id": "e5",
          "author": "agent",
          "timestamp": 1700000004.0,
          "errorCode": "E",
          "errorMessage": "failed",
          "interrupted": True,
          "partial": False,
      },
  ]
  return [
      {**session, "events": events},
      {**session, "events": events + odd},
      {**session, "state": {"n": None}, "events": events},
      {**session, "events": []},
  ]
