"""Dump the field layout of adk-python's Event model (and every pydantic model
reachable from it) as JSON, for adk-sessions' case conversion and unknown-field checks.

Run: python tools/dump_adk_schema.py > crates/adk-sessions/src/model/adk_schema.json
(with google-adk[db]==2.13.0 installed).
"""
import enum
import json
import sys
import types as pytypes
import typing

import pydantic
from google.adk.events import Event

models = {}


def kind_of(tp):
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, pytypes.UnionType):
        kinds = [kind_of(a) for a in args if a is not type(None)]
        kinds = [k for k in kinds if k != "scalar"] or ["scalar"]
        # Prefer a structured kind when a union mixes it with scalars.
        return kinds[0]
    if origin is typing.Annotated:
        return kind_of(args[0])
    if origin in (list, set, frozenset, tuple, typing.List, typing.Set):
        inner = kind_of(args[0]) if args else "any"
        if inner.startswith("model:"):
            return "list:" + inner
        return "any" if inner == "any" else "scalar"
    if origin in (dict, typing.Dict):
        inner = kind_of(args[1]) if len(args) == 2 else "any"
        if inner.startswith("model:"):
            return "map:" + inner
        return "any"
    if tp is typing.Any or tp is dict or tp is object:
        return "any"
    if isinstance(tp, type) and issubclass(tp, pydantic.BaseModel):
        visit(tp)
        return "model:" + tp.__name__
    if tp is bytes:
        return "bytes"
    return "scalar"


def visit(model):
    name = model.__name__
    if name in models:
        return
    entry = {"extra": model.model_config.get("extra", "ignore"), "fields": {}}
    models[name] = entry
    for fname, field in model.model_fields.items():
        entry["fields"][fname] = {
            "alias": field.alias or fname,
            "kind": kind_of(field.annotation),
        }


visit(Event)
json.dump({"root": "Event", "models": models}, sys.stdout, indent=1, sort_keys=True)
print()
