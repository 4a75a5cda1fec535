"""Over-fetching, judged against the schema: wide or large rows without `select`, sensitive fields pulled in by
`include`, and deeply nested includes."""

from __future__ import annotations

import re

from bot.findings import Finding, Severity, Surface
from bot.prisma.model import Model
from bot.registry import define
from bot.ts.model import PrismaCall
from bot.ts.values import JsLiteral, JsObject

from .common import QueryInput, call_finding, function_text, int_option, request_context
from .schema_view import SchemaView, large_fields, sensitive_fields

OVERFETCH = define(
    "query/over-fetching", Severity.INFO, Surface.QUERY,
    "findMany/findFirst without `select` on a model with large (Json, Bytes, @db.Text) or very many columns",
    options={"max_fields": 20},
    aliases=("eslint-plugin-prisma:require-select",),
)
SENSITIVE = define(
    "query/include-sensitive", Severity.WARNING, Surface.QUERY,
    "`include: { rel: true }` (or a findMany without select) returns secret columns such as password hashes",
    aliases=("calcom:no-prisma-include-true",),
)
DEPTH = define(
    "query/include-depth", Severity.INFO, Surface.QUERY,
    "`include`/`select` nested deeper than the configured depth loads a large object graph",
    options={"max_depth": 3},
)

_LIST_READS = frozenset({"findMany", "findFirst", "findFirstOrThrow"})


def _select_of(call: PrismaCall) -> bool | None:
    return call.has_arg("select")


# Receivers that are not rows of the query (`req.body`, `ctx.input`): reading their properties says nothing.
_NOT_ROWS = frozenset({"req", "res", "request", "response", "ctx", "context", "input", "args", "params", "query",
                       "body", "this", "event", "options", "opts", "config", "process", "env", "data"})


def _reads_every_large_column(inp: QueryInput, call: PrismaCall, large: list[str]) -> bool:
    """The function reads each large column of the rows (`history.request`): those columns are needed, so dropping
    them with `select`/`omit` is not the fix, and the other columns cost little next to them."""
    if not call.result_names or call.function.is_module:
        return False
    body = function_text(inp.analysis, call)
    for name in large:
        receivers = re.findall(rf"([A-Za-z_$][\w$]*)\s*\??\.\s*{re.escape(name)}\b", body)
        if not any(r not in _NOT_ROWS for r in receivers):
            return False
    return True


def check_overfetch(inp: QueryInput) -> list[Finding]:
    if inp.schema is None:
        return []
    max_fields = int_option(inp.options(OVERFETCH), "max_fields", 20)
    out: list[Finding] = []
    for call in inp.analysis.calls:
        if call.operation not in _LIST_READS or _select_of(call) is not False or call.has_arg("omit"):
            continue
        model = inp.schema.model(call.accessor)
        if model is None:
            continue
        large = large_fields(model)
        scalars = [f.name for f in model.scalar_fields]
        if large and _reads_every_large_column(inp, call, large):
            continue
        if large:
            detail = f"large column(s) {', '.join(f'`{n}`' for n in large[:4])}"
            # Json and Bytes values are routinely kilobytes to megabytes; @db.Text is usually a paragraph.
            heavy = any(model.field(n) is not None and model.field(n).type in ("Json", "Bytes") for n in large)
            severity = Severity.WARNING if call.operation == "findMany" and heavy else None
        elif len(scalars) > max_fields:
            detail = f"{len(scalars)} columns"
            severity = None
        else:
            continue
        keep = [n for n in scalars if n not in large][:4]
        select = ", ".join(f"{n}: true" for n in keep)
        message = (f"`{call.target}` has no `select`, so it reads every column of `{model.name}`, including "
                   f"{detail}, for each row. Select what the caller uses: `select: {{ {select}, ... }}` "
                   f"(or `omit: {{ {large[0] if large else scalars[-1]}: true }}`).")
        out.append(call_finding(OVERFETCH, call, message, severity=severity))
    return out


def _includes(view: SchemaView, model: Model, include: JsObject, path: str, depth: int):  # type: ignore[no-untyped-def]
    """(relation path, target model, value, depth) for each included relation, recursively."""
    for name, value in include.entries.items():
        f = model.field(name)
        if f is None or not f.is_relation:
            continue
        target = view.model_named(f.type)
        if target is None:
            continue
        rel_path = f"{path}.{name}" if path else name
        yield rel_path, target, value, depth
        if isinstance(value, JsObject):
            for key in ("include", "select"):
                nested = value.obj(key)
                if nested is not None:
                    yield from _includes(view, target, nested, rel_path, depth + 1)


_ROW_USE = re.compile(r"\s*(\?\.|\.)\s*(map|forEach|flatMap|length|some|every|reduce)\b")


def _rows_reshaped_without(inp: QueryInput, call: PrismaCall, secret: list[str]) -> bool:
    """Every later use of the result is `rows.map(...)`-like, nothing is spread, and the secret columns are never
    named: the rows are turned into new objects before they leave the function (`rows.map((r) => this.cast(r))`)."""
    if len(call.result_names) != 1 or call.function.is_module:
        return False
    name = call.result_names[0]
    lines = inp.analysis.lines[call.end_line:call.function.end_line]
    after = "\n".join(lines)
    # the secret read as a property (`row.token`, `{ token: ... }` destructuring): a parameter that happens to be
    # called `token` is not a read
    if "..." in after or any(re.search(rf"\.\s*{re.escape(s)}\b|\b{re.escape(s)}\s*[:,}}]", after) for s in secret):
        return False
    uses = [m.end() for m in re.finditer(rf"(?<![\w$.]){re.escape(name)}\b", after)]
    return bool(uses) and all(_ROW_USE.match(after, end) for end in uses)


def check_sensitive(inp: QueryInput) -> list[Finding]:
    if inp.schema is None:
        return []
    out: list[Finding] = []
    for call in inp.analysis.calls:
        if not call.is_read:
            continue
        model = inp.schema.model(call.accessor)
        if model is None:
            continue
        include = call.args.obj("include") if call.args is not None else None
        if include is not None:
            for rel_path, target, value, _depth in _includes(inp.schema, model, include, "", 1):
                secret = sensitive_fields(target)
                if not secret or not (isinstance(value, JsLiteral) and value.value is True):
                    continue
                safe = [f.name for f in target.scalar_fields if f.name not in secret][:4]
                select = ", ".join(f"{n}: true" for n in safe)
                message = (f"`include: {{ {rel_path.rsplit('.', 1)[-1]}: true }}` in `{call.target}` returns every "
                           f"`{target.name}` column, including {', '.join(f'`{s}`' for s in secret)}; one "
                           f"serialised response leaks it. Select the fields you need: "
                           f"`{rel_path.rsplit('.', 1)[-1]}: {{ select: {{ {select} }} }}`.")
                out.append(call_finding(SENSITIVE, call, message, key_suffix=rel_path))
        secret_own = sensitive_fields(model)
        if call.operation == "findMany" and secret_own and call.has_arg("select") is False and \
                call.has_arg("omit") is False and request_context(call, inp.path, inp.analysis.use_server) and \
                not _rows_reshaped_without(inp, call, secret_own):
            message = (f"`{call.target}` without `select` in request-handling code returns "
                       f"{', '.join(f'`{s}`' for s in secret_own)} for every row. Add `omit: {{ "
                       f"{secret_own[0]}: true }}` or a `select` of the public fields.")
            out.append(call_finding(SENSITIVE, call, message, key_suffix="own"))
    return out


def check_depth(inp: QueryInput) -> list[Finding]:
    max_depth = int_option(inp.options(DEPTH), "max_depth", 3)
    out: list[Finding] = []
    for call in inp.analysis.calls:
        if not call.is_read or call.args is None or "include" not in call.args.entries:
            continue
        depth = call.include_depth
        if depth <= max_depth:
            continue
        message = (f"`{call.target}` nests `include`/`select` {depth} levels deep (limit {max_depth}): every level "
                   f"is another query or a wider JOIN, and list results multiply. Load the deep part separately "
                   f"for the rows that need it, or `select` only the fields used at each level.")
        out.append(call_finding(DEPTH, call, message))
    return out


def check(inp: QueryInput) -> list[Finding]:
    return [*check_overfetch(inp), *check_sensitive(inp), *check_depth(inp)]
