"""Calls a loop makes to functions that issue Prisma queries: in the same file, or in a module of the repository the
file imports (a function, a class's static method, or a NestJS service injected through the constructor).

Public API (memoised per review through `ctx.memo`):

    from bot.ts.callgraph import helper_calls

    for h in helper_calls(ctx, "src/controllers/campaigns.ts"):
        h.callee            # "ContactService.email", "this.symbolProfileService.deleteById", "loadUser"
        h.frames            # the loops / iteration callbacks around the call, innermost first (as PrismaCall.frames)
        h.awaited, h.returned, h.function
        h.target.path, h.target.name, h.target.queries   # where the helper is and what it runs

Resolution is static and one level deep: the helper itself must contain the Prisma call (its callbacks included),
so the claim "this runs a query per call" is read from the helper's code, not guessed from its name.
"""

from __future__ import annotations

import json
import posixpath
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.change import decode_text
from bot.ts import repo_files
from bot.ts.clients import resolve_module
from bot.ts.extract import _SMALL_CONST, _count_items, _how_used, awaits_io
from bot.ts.imports import bindings
from bot.ts.model import Frame, FunctionInfo, repeating_frame
from bot.ts.parser import captures, parse, skip_reason
from bot.ts.scopes import ScopeResolver
from bot.ts.values import text_of, unwrap

if TYPE_CHECKING:
    from bot.context import ReviewContext

_CALLS = "(call_expression function: [(identifier) (member_expression)] @fn) @call"
_IMPORT = re.compile(r"""import\s+(?:type\s+)?([\w$*{}\s,]+?)\s+from\s+['"]([^'"]+)['"]""")
# `constructor(private readonly contactService: ContactService)` and `private contacts: ContactService;`
_FIELD_TYPE = re.compile(r"\b(?:private|public|protected|readonly)\s+(?:readonly\s+)?([A-Za-z_$][\w$]*)\s*[?!]?\s*:"
                         r"\s*([A-Z][\w$]*)\b")
_DEFAULT_EXPORT = re.compile(r"export\s+default\s+(?:async\s+)?(?:function\s*\*?\s*|class\s+)?([A-Za-z_$][\w$]*)")


@dataclass(frozen=True)
class QueryingHelper:
    """A function that issues Prisma queries when called."""

    path: str
    name: str  # its FunctionInfo name: "ContactService.email", "loadUser"
    line: int  # where its first query is
    queries: tuple[str, ...]  # "prisma.contact.findFirst", in source order, deduplicated
    # it awaits a network call (`await this.azureService.trigger(...)`) besides its queries: that call sets its cost
    awaits_io: bool = False


@dataclass(frozen=True)
class HelperCall:
    line: int
    end_line: int
    callee: str
    frames: tuple[Frame, ...]
    function: FunctionInfo
    awaited: bool
    returned: bool
    target: QueryingHelper


@dataclass(frozen=True)
class _Import:
    spec: str
    name: str  # the exported name, "default", or "*" for a namespace import


def parse_imports(text: str) -> dict[str, _Import]:
    """Local name -> where it comes from, for ES imports (`import A, { b as c } from "x"`, `import * as ns`)."""
    return {local: _Import(spec, original)
            for clause, spec in _IMPORT.findall(text) for local, original in bindings(clause)}


def _strip_json_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r'(?m)(^|[^:"\\])//.*$', r"\1", text)
    return re.sub(r",(\s*[}\]])", r"\1", text)


def _tsconfig_paths(ctx: ReviewContext, side: str) -> list[tuple[str, str]]:
    """(alias prefix, target prefix) from the root tsconfig(.base).json `paths` (`@app/api/*` -> `apps/api/src/*`).
    Package-level tsconfig files of a monorepo are not read."""

    def build() -> list[tuple[str, str]]:
        snapshot = ctx.change.head if side == "head" else ctx.change.base
        out: list[tuple[str, str]] = []
        for name in ("tsconfig.base.json", "tsconfig.json"):
            raw = decode_text(snapshot.read_bytes(name) or b"") or ""
            if not raw:
                continue
            try:
                options = json.loads(_strip_json_comments(raw)).get("compilerOptions", {})
            except (ValueError, AttributeError):
                continue
            base = str(options.get("baseUrl") or ".")
            for alias, targets in (options.get("paths") or {}).items():
                if isinstance(targets, list) and targets and isinstance(targets[0], str):
                    target = posixpath.normpath(posixpath.join(base, targets[0]))
                    out.append((alias.removesuffix("*"), target.removesuffix("*")))
        return out

    return ctx.memo(("callgraph-tsconfig", side), build)


def _resolve(ctx: ReviewContext, side: str, importer: str, spec: str) -> str | None:
    files = repo_files(ctx, side)
    found = resolve_module(importer, spec, files.__contains__)
    if found is not None:
        return found
    for alias, target in _tsconfig_paths(ctx, side):
        if alias and spec.startswith(alias):
            candidate = "./" + posixpath.normpath(target + spec[len(alias):])
            found = resolve_module("x.ts", candidate, files.__contains__)
            if found is not None:
                return found
    return None


def _queries_by_function(ctx: ReviewContext, side: str, path: str) -> dict[str, QueryingHelper]:
    """The functions of a file that run model queries, by FunctionInfo name ("ContactService.email", "loadOrder")."""

    def build() -> dict[str, QueryingHelper]:
        from bot.ts import file_analysis  # bot.ts imports this package's siblings; import late

        analysis = file_analysis(ctx, path, side)
        out: dict[str, QueryingHelper] = {}
        grouped: dict[str, list[tuple[int, str]]] = {}
        spans: dict[str, tuple[int, int]] = {}
        for call in analysis.calls:
            # model queries only, as query/n-plus-one counts them (raw SQL and $transaction are not per-row reads)
            if call.accessor is None or call.function.is_module:
                continue
            grouped.setdefault(call.function.name, []).append((call.line, call.target))
            spans[call.function.name] = (call.function.line, call.function.end_line)
        for name, found in grouped.items():
            queries = tuple(dict.fromkeys(t for _, t in found))
            first, last = spans[name]
            body = "\n".join(analysis.lines[first - 1:last])
            out[name] = QueryingHelper(path, name, found[0][0], queries, awaits_io(body))
        return out

    return ctx.memo(("callgraph-queries", side, path), build)


def _default_name(ctx: ReviewContext, side: str, path: str) -> str | None:
    snapshot = ctx.change.head if side == "head" else ctx.change.base
    text = decode_text(snapshot.read_bytes(path) or b"") or ""
    m = _DEFAULT_EXPORT.search(text)
    return m.group(1) if m is not None else None


def _target(ctx: ReviewContext, side: str, path: str, imports: dict[str, _Import], fields: dict[str, str],
            callee: str, function: FunctionInfo) -> QueryingHelper | None:
    parts = callee.split(".")
    if parts[0] == "this":
        if len(parts) == 2 and function.class_name:
            return _queries_by_function(ctx, side, path).get(f"{function.class_name}.{parts[1]}")
        if len(parts) == 3 and parts[1] in fields:
            return _in_module(ctx, side, path, imports.get(fields[parts[1]]), parts[2], fields[parts[1]])
        return None
    if len(parts) == 1:
        local = _queries_by_function(ctx, side, path).get(parts[0])
        if local is not None:
            return local
        return _in_module(ctx, side, path, imports.get(parts[0]), None, parts[0])
    if len(parts) == 2:
        imported = imports.get(parts[0])
        if imported is None:
            return None
        if imported.name == "*":
            return _in_module(ctx, side, path, _Import(imported.spec, parts[1]), None, parts[1])
        return _in_module(ctx, side, path, imported, parts[1], parts[0])
    return None


def _in_module(ctx: ReviewContext, side: str, importer: str, imported: _Import | None, member: str | None,
               local: str) -> QueryingHelper | None:
    if imported is None:
        return None
    target = _resolve(ctx, side, importer, imported.spec)
    if target is None:
        return None
    name = imported.name
    if name == "default":
        name = _default_name(ctx, side, target) or local
    functions = _queries_by_function(ctx, side, target)
    return functions.get(f"{name}.{member}" if member else name)


def helper_calls(ctx: ReviewContext, path: str, side: str = "head") -> list[HelperCall]:
    """Calls inside a loop or iteration callback of `path` to a helper that runs Prisma queries."""

    def build() -> list[HelperCall]:
        snapshot = ctx.change.head if side == "head" else ctx.change.base
        data = snapshot.read_bytes(path)
        if data is None or skip_reason(path, data, ctx.config.limits.query_bytes) is not None:
            return []
        text = data.decode("utf-8", "replace")
        if not re.search(r"\bfor\b|\bwhile\b|\.(map|forEach|flatMap)\s*\(", text):
            return []
        try:
            return _helper_calls(ctx, side, path, data, text)
        except RecursionError:
            return []

    return ctx.memo(("callgraph-helpers", side, path), build)


def _callee_candidates(ctx: ReviewContext, side: str, path: str, text: str) -> tuple[dict[str, _Import],
                                                                                     dict[str, str], set[str]]:
    """Imports, typed class fields, and the callee texts' first segments that could resolve to a helper."""
    imports = parse_imports(text)
    fields = dict(_FIELD_TYPE.findall(text))
    local = {name.rsplit(".", 1)[-1] for name in _queries_by_function(ctx, side, path)}
    return imports, fields, set(imports) | local | {f"this.{f}" for f in fields} | {f"this.{m}" for m in local}


def _helper_calls(ctx: ReviewContext, side: str, path: str, data: bytes, text: str) -> list[HelperCall]:
    imports, fields, candidates = _callee_candidates(ctx, side, path, text)
    if not candidates:
        return []
    source = parse(path, data)
    if source.mostly_broken:
        return []
    consts = {name: _count_items(items) for name, items in _SMALL_CONST.findall(text)}
    scopes = ScopeResolver(path, source.root, False, {k: v for k, v in consts.items() if v is not None})
    out: list[HelperCall] = []
    caps = captures(source.kind, _CALLS, source.root)
    for node in sorted(caps.get("call", []), key=lambda n: n.start_byte):
        fn = node.child_by_field_name("function")
        if fn is None:
            continue
        callee = re.sub(r"\s+", "", text_of(unwrap(fn)))
        parts = callee.split(".")
        head = ".".join(parts[:2]) if parts[0] == "this" else parts[0]
        if head not in candidates or len(parts) > (3 if parts[0] == "this" else 2):
            continue  # cheap test first: frames and resolution only for names that can lead to a helper
        frames = scopes.frames(node)
        if repeating_frame(frames) is None:
            continue
        function = scopes.owner(frames, node)
        target = _target(ctx, side, path, imports, fields, callee, function)
        if target is None or (target.path == path and target.name == function.name):
            continue  # recursion is not a loop calling a helper
        awaited, returned, _names = _how_used(node)
        out.append(HelperCall(node.start_point.row + 1, node.end_point.row + 1, callee, frames, function,
                              awaited, returned, target))
    return out


@dataclass(frozen=True)
class ReturningCaller:
    """A request handler that returns what a service method returns (so the method's rows reach the response)."""

    path: str
    line: int
    text: str  # `return this.userService.deleteUser(`


def returning_callers(ctx: ReviewContext, path: str, class_name: str, method: str,
                      side: str = "head") -> list[ReturningCaller]:
    """NestJS controllers next to the service (its folder and the folder above) whose methods return
    `this.<service>.<method>(...)`, directly or through a variable returned as it is."""

    def build() -> list[ReturningCaller]:
        snapshot = ctx.change.head if side == "head" else ctx.change.base
        folder = posixpath.dirname(path)
        near = {folder, posixpath.dirname(folder)}
        files = sorted(f for f in repo_files(ctx, side)
                       if posixpath.dirname(f) in near and f.endswith(".controller.ts"))
        out: list[ReturningCaller] = []
        for candidate in files[:20]:
            text = decode_text(snapshot.read_bytes(candidate) or b"") or ""
            if "@Controller" not in text:
                continue
            for field_name, type_name in _FIELD_TYPE.findall(text):
                if type_name != class_name:
                    continue
                call = rf"this\.{re.escape(field_name)}\.{re.escape(method)}\s*\("
                for m in re.finditer(rf"\breturn\s+(?:await\s+)?{call}", text):
                    out.append(ReturningCaller(candidate, text.count("\n", 0, m.start()) + 1, m.group(0)))
                for m in re.finditer(rf"\b(?:const|let)\s+([A-Za-z_$][\w$]*)\s*(?::[^=]+)?=\s*await\s+{call}", text):
                    if re.search(rf"\breturn\s+{re.escape(m.group(1))}\s*;?\s*$", text[m.end():m.end() + 1500],
                                 re.M):
                        out.append(ReturningCaller(candidate, text.count("\n", 0, m.start()) + 1,
                                                   m.group(0)[:80]))
        return out

    return ctx.memo(("callgraph-returning", side, path, class_name, method), build)
