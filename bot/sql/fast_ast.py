"""pglast's Python AST built straight from libpg_query's JSON parse tree, which the migration parser already holds.

`pglast.parse_sql` parses the statement again and builds each node through `Node.__setattr__`, which validates and
coerces every attribute: on a 26,000-statement migration that was more than half of the review's time. The JSON
tree has the same content (field names are the C struct's, enums by name, defaults left out), so the nodes are
built here with each class's slot plan computed once and no per-attribute validation. The result equals what
`pglast.parse_sql` gives (tests/migration/test_fast_ast.py compares them on every corpus statement); a tree this
module does not know how to read raises `UnknownShape` and the caller falls back to pglast.
"""

from __future__ import annotations

import keyword
from typing import Any

from pglast import ast, enums

_INT_TYPES = {"int", "int16", "int32", "uint32", "uint64", "int64", "long", "Oid", "Index", "AttrNumber", "bits32",
              "SubTransactionId", "ParseLoc", "Cardinality", "Cost", "double", "AclMode", "RelFileNumber",
              "StrategyNumber"}
_VALUE_KEYS = {"ival": ("Integer", "ival"), "sval": ("String", "sval"), "fval": ("Float", "fval"),
               "boolval": ("Boolean", "boolval"), "bsval": ("BitString", "bsval")}
_set = object.__setattr__


class UnknownShape(Exception):
    """The JSON holds something this builder does not map; use pglast.parse_sql instead."""


def _kind(slot: Any) -> tuple[str, Any]:
    c_type = slot.c_type
    if c_type == "bool":
        return "bool", None
    if c_type == "char*":
        return "str", None
    if c_type == "char":
        return "char", slot.adaptor
    if c_type == "List*":
        return "list", None
    if c_type == "Node*" or c_type == "Expr*":
        return "node", None
    if c_type.endswith("*"):
        name = c_type[:-1]
        if isinstance(getattr(ast, name, None), type):
            return "typed", name
        raise UnknownShape(c_type)
    enum = getattr(enums, c_type, None)
    if enum is not None:
        # a plain dict: Enum.__getitem__ costs microseconds per call, and a migration has a few per statement
        members = {m.name: m for m in enum}
        return "enum", (members, enum(0) if 0 in enum._value2member_map_ else None)
    if c_type in _INT_TYPES:
        return "int", None
    if c_type in ("float", "double"):
        return "float", None
    raise UnknownShape(c_type)


_DEFAULTS: dict[str, Any] = {"bool": False, "int": 0, "char": "\x00", "float": 0.0}
_Slot = tuple[str, str, str, Any, Any]  # attribute, JSON key, kind, kind's data, value when the JSON leaves it out
_PLANS: dict[str, tuple[type, tuple[_Slot, ...]]] = {}


def _plan(name: str) -> tuple[type, tuple[_Slot, ...]]:
    plan = _PLANS.get(name)
    if plan is None:
        cls = getattr(ast, name, None)
        if not isinstance(cls, type) or not issubclass(cls, ast.Node):
            raise UnknownShape(name)
        slots = []
        for attr, info in cls.__slots__.items():
            key = attr[:-1] if attr.endswith("_") and keyword.iskeyword(attr[:-1]) else attr
            kind, extra = _kind(info)
            slots.append((attr, key, kind, extra, _DEFAULTS.get(kind, extra[1] if kind == "enum" else None)))
        plan = (cls, tuple(slots))
        _PLANS[name] = plan
    return plan


def _value(wrapper: dict[str, Any]) -> Any:
    """A `{"Type": {...}}` node; `{}` is a NIL list element (`SELECT DISTINCT`'s distinctClause)."""
    if not wrapper:
        return None
    if len(wrapper) != 1:
        raise UnknownShape("node wrapper")
    for name, body in wrapper.items():
        return _node(name, body)
    return None


def _node(name: str, body: dict[str, Any]) -> Any:
    if name == "A_Const":
        return _a_const(body)
    if name in ("Integer", "String", "Float", "Boolean", "BitString"):
        cls = getattr(ast, name)
        obj = cls.__new__(cls)
        attr = next(iter(cls.__slots__))
        default: Any = 0 if name == "Integer" else (False if name == "Boolean" else None)
        _set(obj, attr, body.get(attr, default))
        return obj
    if name == "List":
        return tuple(_value(i) for i in body.get("items", ()))
    cls, slots = _plan(name)
    obj = cls.__new__(cls)
    for attr, key, kind, extra, default in slots:
        v = body.get(key)
        if v is None:  # most attributes: the JSON leaves defaults out
            _set(obj, attr, default)
            continue
        if kind == "node":
            v = _value(v)
        elif kind == "list":
            v = tuple(_value(i) for i in v)
        elif kind == "bool":
            v = bool(v)
        elif kind == "enum":
            v = extra[0][v]
        elif kind == "typed":
            v = _node(extra, v)
        elif kind == "char":
            v = extra(v)
        elif kind == "float":
            v = float(v)
        _set(obj, attr, v)
    return obj


def _a_const(body: dict[str, Any]) -> Any:
    obj = ast.A_Const.__new__(ast.A_Const)
    _set(obj, "isnull", bool(body.get("isnull")))
    val = None
    for key, (name, attr) in _VALUE_KEYS.items():
        if key in body:
            inner = body[key]
            val = _node(name, inner if isinstance(inner, dict) else {attr: inner})
            break
    _set(obj, "val", val)
    return obj


def statement_node(tree: dict[str, Any]) -> Any:
    """The pglast node of one statement's JSON tree (`{"AlterTableStmt": {...}}`)."""
    return _value(tree)
