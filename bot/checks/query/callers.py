"""Who calls a helper that puts its parameters into raw SQL, and with what: the callers decide whether
`query/raw-sql-injection` has anything to say about a value of unknown origin.

`callers_pass_constants(ctx, "createJob", [0, 1])` finds the calls of `createJob(...)` / `x.createJob(...)` in the
head tree's TS/JS files and tells whether every one of them passes, at those positions, something no user can
write: a literal, a template without substitutions, an UPPER_CASE constant, or deploy configuration
(`process.env.X`, `env.X`, `config.X`), with `!`, `as` and `??` between such values allowed. No call found, or one
that passes anything else, keeps the finding.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bot.change import decode_text, prefetch
from bot.surfaces import is_query_path
from bot.ts import repo_files
from bot.ts.parser import captures, parse, skip_reason
from bot.ts.values import text_of, unwrap

if TYPE_CHECKING:
    from tree_sitter import Node

    from bot.context import ReviewContext

_CALLS = "(call_expression function: [(identifier) (member_expression)] @fn) @call"
_MAX_FILES = 400  # files that mention the name; a helper called from more places than that is not decided here
_MAX_TREE = 6000  # TS/JS files in the tree
_CONFIG_ROOT = re.compile(r"^(?:process\.env|env|ENV|config|CONFIG|Config|settings|appConfig|serverEnv|clientEnv)"
                          r"(?:\.[\w$]+|\[\s*(?:'[^']*'|\"[^\"]*\")\s*\])+$")
_CONSTANT = re.compile(r"^[A-Z][A-Z0-9_]*(?:\.[A-Z][A-Z0-9_]*)*$")


def callers_pass_constants(ctx: ReviewContext, function: str, params: list[int]) -> bool:
    return ctx.memo(("raw-sql-callers", function, tuple(params)), lambda: _decide(ctx, function, params))


def _decide(ctx: ReviewContext, function: str, params: list[int]) -> bool:
    snapshot = ctx.change.head
    word = re.compile(rf"\b{re.escape(function)}\s*(?:<[^()]*>)?\s*\(")
    paths = sorted(p for p in repo_files(ctx) if is_query_path(p))
    if len(paths) > _MAX_TREE:
        return False  # a tree this size is not read for one finding; the finding stays
    prefetch(snapshot, paths)
    seen = 0
    calls = 0
    for path in paths:
        data = snapshot.read_bytes(path)
        if data is None or function.encode() not in data:
            continue
        text = decode_text(data) or ""
        if not word.search(text) or skip_reason(path, data) is not None:
            continue
        seen += 1
        if seen > _MAX_FILES:
            return False
        source = parse(path, data)
        for node in captures(source.kind, _CALLS, source.root).get("call", []):
            fn = node.child_by_field_name("function")
            if fn is None:
                continue
            name = fn if fn.type == "identifier" else fn.child_by_field_name("property")
            if name is None or text_of(name) != function:
                continue
            args_node = node.child_by_field_name("arguments")
            args = [c for c in args_node.named_children if c.type != "comment"] if args_node is not None else []
            calls += 1
            for index in params:
                if index >= len(args) or args[index].type == "spread_element" or not _fixed(args[index]):
                    return False
    return calls > 0


def _fixed(node: Node) -> bool:
    """A value no request can write: literals, constants and deploy configuration."""
    node = unwrap(node)
    if node.type in ("string", "number", "true", "false", "null", "undefined"):
        return True
    if node.type == "template_string":
        return not any(c.type == "template_substitution" for c in node.named_children)
    if node.type == "binary_expression":
        op = node.child_by_field_name("operator")
        left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
        return (op is not None and text_of(op) in ("??", "||") and left is not None and right is not None
                and _fixed(left) and _fixed(right))
    if node.type in ("identifier", "member_expression", "subscript_expression"):
        text = re.sub(r"\s+", "", text_of(node)).replace("?.", ".")
        return bool(_CONSTANT.match(text) or _CONFIG_ROOT.match(text))
    return False
