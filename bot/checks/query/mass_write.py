"""query/mass-write (deleteMany/updateMany without where) and query/client-per-request (new PrismaClient per call)."""

from __future__ import annotations

import re

from bot.findings import Finding, Severity, Surface
from bot.registry import define
from bot.ts.values import JsObject

from .common import QueryInput, call_finding, function_header, is_script_path, is_test_path, path_request_context

MASS_WRITE = define(
    "query/mass-write", Severity.ERROR, Surface.QUERY,
    "deleteMany()/updateMany() without a `where` (or with an empty one) changes every row of the table",
    aliases=("drizzle:enforce-delete-with-where", "drizzle:enforce-update-with-where"),
)
CLIENT_PER_REQUEST = define(
    "query/client-per-request", Severity.ERROR, Surface.QUERY,
    "`new PrismaClient()` inside a request handler or loop opens a new connection pool each time",
)


# `deleteAllHistories()`, `clear_all_sessions()`, `purgeEverything()`: the name says every row is meant.
_ALL_ROWS_NAME = re.compile(r"^_*(delete|remove|clear|purge|wipe|reset|truncate|destroy|empty|drop)_?(all|every)",
                            re.IGNORECASE)


def _meant_for_every_row(inp: QueryInput, call) -> bool:  # type: ignore[no-untyped-def]
    """A parameterless function whose name says it empties the table: nothing could have narrowed the write.

    With a parameter (`deleteAllForUser(userId)`) a missing `where` is the classic forgotten filter, so it stays.
    """
    short = call.function.name.rsplit(".", 1)[-1]
    if not _ALL_ROWS_NAME.match(short):
        return False
    no_params = rf"(\b{re.escape(short)}|\basync|=|\bfunction)\s*(<[^>]*>)?\s*\(\s*\)"
    return bool(re.search(no_params, function_header(inp.analysis, call)))


def _global_table(inp: QueryInput, call) -> bool:  # type: ignore[no-untyped-def]
    """The model belongs to no parent row (no to-one relation: an instance license, a settings or cache table):
    there is no owner filter to forget, so emptying it is what the code means."""
    model = inp.schema.model(call.accessor) if inp.schema is not None else None
    return model is not None and not any(f.is_relation and not f.list for f in model.fields)


def _filtered_elsewhere(inp: QueryInput, call) -> bool:  # type: ignore[no-untyped-def]
    """An earlier branch of the same function runs the same write on the same model with a `where` and returns
    (`if (orphaned) { deleteMany({ where: { userId: null } }); return ... }` then `deleteMany({})`): the author
    chose between a filtered and a whole-table write."""
    for other in inp.analysis.calls:
        if other is call or other.function != call.function or other.accessor != call.accessor or \
                other.operation != call.operation or other.client != call.client or other.line >= call.line or \
                other.args is None or "where" not in other.args.entries or _where_missing(other):
            continue
        between = "\n".join(inp.analysis.lines[other.end_line:call.line - 1])
        if re.search(r"\breturn\b", between):
            return True
    return False


def _where_missing(call) -> bool:  # type: ignore[no-untyped-def]
    if call.args_opaque:
        return False
    if call.args is None:
        return not any(True for _ in call.arguments)  # deleteMany() with no argument at all
    where = call.args.get("where")
    if where is None:
        return not call.args.is_open
    return isinstance(where, JsObject) and not where.entries and not where.spreads


def check_mass_write(inp: QueryInput) -> list[Finding]:
    if is_test_path(inp.path) or is_script_path(inp.path):
        return []  # test teardown and seed scripts empty tables on purpose
    out: list[Finding] = []
    for call in inp.analysis.calls:
        if call.operation not in ("deleteMany", "updateMany", "updateManyAndReturn") or not _where_missing(call):
            continue
        if _meant_for_every_row(inp, call) or _global_table(inp, call) or _filtered_elsewhere(inp, call):
            continue
        model = call.accessor
        verb = "deletes" if call.operation == "deleteMany" else "updates"
        data = ""
        if call.operation != "deleteMany" and call.args is not None and "data" in call.args.entries:
            data = ", data: { ... }"
        message = (f"`{call.target}` has no `where`, so it {verb} every `{model}` row. Add the filter you mean: "
                   f"`{call.client}.{model}.{call.operation}({{ where: {{ <field>: <value> }}{data} }})`; if every "
                   f"row is really intended, say so with `where: {{}}` replaced by an explicit condition and a "
                   f"comment.")
        out.append(call_finding(MASS_WRITE, call, message))
    return out


def _module_level_factory(inp: QueryInput, fn) -> bool:  # type: ignore[no-untyped-def]
    """The function is only called from top-level statements of this file (so once, at import)."""
    short = fn.name.rsplit(".", 1)[-1]
    if not short or fn.is_module:
        return False
    pattern = re.compile(rf"(?<![\w$.]){re.escape(short)}\s*\(")
    calls = [i for i, line in enumerate(inp.analysis.lines, start=1)
             if not fn.line <= i <= fn.end_line and pattern.search(line)]
    return bool(calls) and all(not inp.analysis.lines[i - 1][:1].isspace() for i in calls)


def check_client_per_request(inp: QueryInput) -> list[Finding]:
    if is_test_path(inp.path):
        return []
    out: list[Finding] = []
    for new in inp.analysis.new_clients:
        if not new.in_function or new.cached:
            continue
        handler = bool(new.function.handler)
        if not (handler or new.in_loop) and path_request_context(inp.path, inp.analysis.use_server) is None:
            continue  # a script's main() owns one client for the whole process
        if not (handler or new.in_loop) and _module_level_factory(inp, new.function):
            continue  # `const make = (o) => new PrismaClient(o); export const prisma = make({})`: built once
        where = "a loop" if new.in_loop else f"`{new.function.name}`"
        message = (f"`new PrismaClient()` inside {where} creates a new client, and a new connection pool, on "
                   f"every call: under load PostgreSQL runs out of connections (`too many clients`). Create one "
                   f"client per process in a module (`export const prisma = globalThis.prisma ?? new "
                   f"PrismaClient()`) and import it.")
        scope = None if new.function.is_module else (new.function.line, new.function.end_line)
        out.append(CLIENT_PER_REQUEST.finding(inp.path, new.line, message, end_line=new.end_line,
                                              key=f"{new.function.name}:new PrismaClient", scope=scope,
                                              severity=None if (handler or new.in_loop) else Severity.WARNING))
    return out


def check(inp: QueryInput) -> list[Finding]:
    return [*check_mass_write(inp), *check_client_per_request(inp)]
