"""JavaScript expressions as plain data: the arguments of a Prisma call, read without running anything.

Object and array literals become JsObject / JsArray, literals become JsLiteral, anything else (identifiers, calls,
member access, templates with substitutions) stays a JsExpr that keeps its text and the identifiers it reads, so the
rules can follow values (`order.id` flows from `const order = await prisma.order.create(...)`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Union

if TYPE_CHECKING:  # tree-sitter loads on the first parse (bot.ts.parser)
    from tree_sitter import Node


_MAX_DEPTH = 12
_SIMPLE_CHAIN = re.compile(r"[A-Za-z_$][\w$]*(?:\??\.[A-Za-z_$][\w$]*)+")
_WRAPPERS = {"parenthesized_expression", "as_expression", "satisfies_expression", "non_null_expression",
             "type_assertion"}


@dataclass(frozen=True)
class JsLiteral:
    value: str | int | float | bool | None
    text: str
    line: int


@dataclass(frozen=True)
class JsExpr:
    """An expression kept as source text: `kind` is its tree-sitter node type."""

    text: str
    kind: str
    line: int
    idents: frozenset[str] = frozenset()
    # template_string with `${}` substitutions, binary `+` of strings: what raw-SQL rules look for
    interpolated: bool = False


@dataclass
class JsArray:
    items: list[JsValue]
    line: int
    has_spread: bool = False


@dataclass
class JsObject:
    entries: dict[str, JsValue]
    line: int
    end_line: int
    spreads: list[JsExpr] = field(default_factory=list)
    # Set when the object came from a variable (`const where = {...}`) rather than the call itself.
    resolved_from: str | None = None

    @property
    def is_open(self) -> bool:
        """True when spreads may add keys we cannot see: a missing key is then unknown, not absent."""
        return bool(self.spreads)

    def get(self, key: str) -> JsValue | None:
        return self.entries.get(key)

    def obj(self, key: str) -> JsObject | None:
        value = self.entries.get(key)
        return value if isinstance(value, JsObject) else None

    def __contains__(self, key: str) -> bool:
        return key in self.entries


JsValue = Union[JsObject, JsArray, JsLiteral, JsExpr]  # noqa: UP007  (runtime alias used in isinstance-free code)


def unwrap(node: Node) -> Node:
    """Strip parentheses, `as`, `satisfies` and `!`: they do not change what a value is."""
    while node.type in _WRAPPERS:
        inner = node.named_children[0] if node.named_children else None
        if inner is None:
            break
        node = inner
    return node


def callee_of(call: Node) -> Node | None:
    """What a call invokes, seen through the `await` tree-sitter-typescript puts inside a typed call
    (`await a.b<T>(x)` is a call whose function is `await a.b`) and through parentheses, `!`, `as`, `satisfies`."""
    fn = call.child_by_field_name("function")
    if fn is not None and fn.type == "await_expression":
        fn = fn.named_children[0] if fn.named_children else None
    return unwrap(fn) if fn is not None else None


def text_of(node: Node) -> str:
    return (node.text or b"").decode("utf-8", "replace")


def identifiers_in(node: Node) -> frozenset[str]:
    """Root identifiers an expression reads (`order.id` -> order); property names are not identifiers here."""
    found: set[str] = set()
    stack = [node]
    budget = 400
    while stack and budget:
        budget -= 1
        n = stack.pop()
        t = n.type
        if t in ("identifier", "shorthand_property_identifier"):
            found.add(text_of(n))
            continue
        if t == "member_expression":
            obj = n.child_by_field_name("object")
            if obj is not None:
                stack.append(obj)
            continue
        if t == "pair":
            value = n.child_by_field_name("value")
            if value is not None:
                stack.append(value)
            continue
        stack.extend(n.named_children)
    return frozenset(found)


def _key_of(pair_key: Node) -> str:
    t = pair_key.type
    if t in ("string", "template_string"):
        return text_of(pair_key)[1:-1]
    if t == "computed_property_name":
        return text_of(pair_key)
    return text_of(pair_key)


def to_value(node: Node, depth: int = 0) -> JsValue:
    node = unwrap(node)
    line = node.start_point.row + 1
    t = node.type
    if depth > _MAX_DEPTH:
        return JsExpr(text_of(node)[:200], t, line)
    if t == "object":
        entries: dict[str, JsValue] = {}
        spreads: list[JsExpr] = []
        for child in node.named_children:
            ct = child.type
            if ct == "pair":
                key = child.child_by_field_name("key")
                value = child.child_by_field_name("value")
                if key is not None and value is not None:
                    entries[_key_of(key)] = to_value(value, depth + 1)
            elif ct == "shorthand_property_identifier":
                name = text_of(child)
                entries[name] = JsExpr(name, "identifier", child.start_point.row + 1, frozenset({name}))
            elif ct == "spread_element":
                inner = child.named_children[0] if child.named_children else child
                spreads.append(JsExpr(text_of(inner)[:200], inner.type, inner.start_point.row + 1,
                                      identifiers_in(inner)))
            elif ct == "method_definition":
                name_node = child.child_by_field_name("name")
                if name_node is not None:
                    entries[text_of(name_node)] = JsExpr("<method>", "method_definition", child.start_point.row + 1)
        return JsObject(entries, line, node.end_point.row + 1, spreads)
    if t == "array":
        items: list[JsValue] = []
        has_spread = False
        for child in node.named_children:
            if child.type == "spread_element":
                has_spread = True
                continue
            items.append(to_value(child, depth + 1))
        return JsArray(items, line, has_spread)
    if t == "string":
        text = text_of(node)
        return JsLiteral(text[1:-1], text, line)
    if t == "template_string":
        subst = any(c.type == "template_substitution" for c in node.named_children)
        if not subst:
            return JsLiteral(text_of(node)[1:-1], text_of(node), line)
        return JsExpr(text_of(node)[:2000], t, line, identifiers_in(node), interpolated=True)
    if t == "number":
        raw = text_of(node)
        try:
            num: int | float = int(raw.replace("_", ""), 0) if raw.isdigit() or raw.startswith("0x") else float(raw)
        except ValueError:
            num = 0
        return JsLiteral(num, raw, line)
    if t in ("true", "false"):
        return JsLiteral(t == "true", t, line)
    if t in ("null", "undefined"):
        return JsLiteral(None, t, line)
    if t == "unary_expression" and text_of(node).startswith("-"):
        inner = to_value(node.named_children[0], depth + 1) if node.named_children else None
        if isinstance(inner, JsLiteral) and isinstance(inner.value, (int, float)):
            return JsLiteral(-inner.value, text_of(node), line)
    text = text_of(node)
    if t == "identifier":
        return JsExpr(text, t, line, frozenset((text,)))
    if t == "member_expression" and _SIMPLE_CHAIN.fullmatch(text):
        return JsExpr(text, t, line, frozenset((text.split(".", 1)[0],)))
    interpolated = t == "binary_expression" and _is_string_concat(node)
    return JsExpr(text[:2000], t, line, identifiers_in(node), interpolated=interpolated)


def _is_string_concat(node: Node) -> bool:
    """`"SELECT ... " + x`: a `+` where at least one side is a string or a template (or another such `+`)."""
    op = node.child_by_field_name("operator")
    if op is None or text_of(op) != "+":
        return False
    for side in ("left", "right"):
        child = node.child_by_field_name(side)
        if child is None:
            continue
        child = unwrap(child)
        if child.type in ("string", "template_string"):
            return True
        if child.type == "binary_expression" and _is_string_concat(child):
            return True
    return False


def is_constant(value: JsValue | None) -> bool:
    return isinstance(value, JsLiteral)


def walk_objects(obj: JsObject):  # type: ignore[no-untyped-def]
    """Every nested object (depth-first), including `obj` itself."""
    stack: list[JsValue] = [obj]
    while stack:
        v = stack.pop()
        if isinstance(v, JsObject):
            yield v
            stack.extend(v.entries.values())
        elif isinstance(v, JsArray):
            stack.extend(v.items)
