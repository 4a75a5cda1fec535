"""query/n-plus-one: a Prisma call awaited once per item of a loop or an iteration callback."""

from __future__ import annotations

import re

from bot.findings import Finding, Severity, Surface
from bot.registry import define
from bot.ts.model import WRITE_OPS, Frame, FrameKind, PrismaCall
from bot.ts.values import JsExpr, JsObject

from .common import QueryInput, call_finding, idents_of, int_option, is_script_path, is_test_path, render

RULE = define(
    "query/n-plus-one", Severity.WARNING, Surface.QUERY,
    "A Prisma query awaited once per item of a loop or .map/.forEach callback (N items, N round trips)",
    options={"small_constant_list": 5},
    aliases=("forge-js:detect-n-plus-one-queries",),
)

_UNIQUE_READS = frozenset({"findUnique", "findUniqueOrThrow"})


def per_item_frame(call: PrismaCall) -> Frame | None:
    """The loop or iteration callback that repeats the call, if it is inside the same function body."""
    for frame in call.frames:
        if frame.kind in (FrameKind.LOOP, FrameKind.ITERATION):
            return frame
        if frame.kind is FrameKind.TRANSACTION and frame.detail == "batch":
            continue
        return None
    return None


def check(inp: QueryInput) -> list[Finding]:
    small = int_option(inp.options(RULE), "small_constant_list", 5)
    if is_test_path(inp.path):
        return []
    script = is_script_path(inp.path)
    calls = inp.analysis.calls
    out: list[Finding] = []
    for index, call in enumerate(calls):
        if call.accessor is None:
            continue
        frame = per_item_frame(call)
        if frame is None:
            continue
        if frame.constant_items is not None and frame.constant_items <= small:
            continue  # a loop over a few constants is a fixed number of queries, not N+1
        if _no_items(inp, frame, small):
            continue
        if frame.kind is FrameKind.LOOP and not call.awaited:
            continue  # promises collected for Promise.all / $transaction: one batch, not a round trip per item
        if frame.kind is FrameKind.LOOP and frame.detail in ("while", "do", "for") and \
                call.operation == "findMany" and any(call.has_arg(k) for k in ("take", "cursor", "skip")):
            continue  # `while (true) { findMany({ take: 1000, cursor }) }`: reading a big table page by page
        if frame.kind is FrameKind.ITERATION:
            if frame.batch_into == "$transaction":
                continue  # prisma.$transaction(items.map(...)): the batch-transaction idiom
            if not (call.awaited or call.returned):
                continue
        if call.is_write and call.in_transaction:
            continue  # writes looped inside a transaction are deliberate and atomic
        severity = None
        same_tick = False
        if call.operation in _UNIQUE_READS and frame.kind is FrameKind.ITERATION and \
                frame.batch_into == "Promise.all" and _first_in_frame(index, calls, frame):
            severity, same_tick = Severity.INFO, True
        elif script:
            severity = Severity.INFO  # a one-off script or seed: slow, but nobody waits on it per request
        # Values produced by other queries in the same iteration make a "one statement" rewrite wrong.
        per_item_results = {n for other in calls if other is not call and
                            frame.start_byte <= other.start_byte < frame.end_byte for n in other.result_names}
        # ...and so do values computed in the loop body (`const { code } = await fetchCode(p)`)
        per_item_results |= _declared_in_loop(inp, frame, call)
        out.append(call_finding(RULE, call, _message(call, frame, same_tick, per_item_results), severity=severity))
    return out


_CONSUMES = re.compile(r"\.(length|size)\b|\.(shift|pop|splice|next)\s*\(")
_RETRY = re.compile(r"retr|attempt|tries", re.IGNORECASE)
_SLICE = re.compile(r"\.slice\(\s*(?:0\s*,\s*(\d+)|-(\d+))\s*\)$")


def _no_items(inp: QueryInput, frame: Frame, small: int) -> bool:
    """Loops that repeat a query without walking a collection: `while (true)` probing for a free code, retry loops
    (`attempt < MAX_RETRIES`), counters up to a small named constant, and `xs.slice(0, 3)`."""
    if frame.kind is not FrameKind.LOOP:
        return False
    m = _SLICE.search(frame.collection)
    if m is not None:
        return int(m.group(1) or m.group(2)) <= small
    condition = frame.condition.strip()
    if frame.detail in ("while", "do"):
        # draining a queue or an iterator (`while (queue.length)`) is per item; anything else is a retry/poll loop
        return bool(condition) and not _CONSUMES.search(condition)
    if frame.detail != "for":
        return False
    if not condition:
        return True  # for (;;)
    if _CONSUMES.search(condition):
        return False
    if _RETRY.search(condition):
        return True
    bound = re.search(r"<=?\s*([A-Za-z_$][\w$]*)\s*$", condition)
    if bound is None:
        return False
    value = re.search(rf"\bconst\s+{re.escape(bound.group(1))}\s*(?::\s*number\s*)?=\s*(\d+)\b",
                      "\n".join(inp.analysis.lines))
    return value is not None and int(value.group(1)) <= small


def _first_in_frame(index: int, calls: list[PrismaCall], frame: Frame) -> bool:
    """No awaited Prisma call runs before it in the same callback, so every item's call starts in the same tick.

    `calls` are in source order, so only the calls just before this one can sit in the same callback."""
    for other in reversed(calls[:index]):
        if other.start_byte < frame.start_byte:
            return True
        if other.awaited:
            return False
    return True


def _where_rewrite(call: PrismaCall, frame: Frame) -> str | None:
    where = call.args.obj("where") if call.args is not None else None
    if where is None or where.is_open or not frame.collection:
        return None
    loop_vars = set(re.findall(r"[A-Za-z_$][\w$]*", frame.variable)) - {"const", "let", "var", "async"}
    per_item = [(k, v) for k, v in where.entries.items() if isinstance(v, JsExpr) and v.idents & loop_vars]
    if len(per_item) != 1:
        return None
    field, value = per_item[0]
    variable = frame.variable.replace("const ", "").replace("let ", "").strip() or "item"
    if value.text == variable:
        listed = frame.collection
    else:
        listed = f"{frame.collection}.map(({variable}) => {value.text})"
    rest = [f"{k}: {render(v)}" for k, v in where.entries.items() if k != field]
    inner = ", ".join([f"{field}: {{ in: {listed} }}", *rest])
    return f"where: {{ {inner} }}"


def _message(call: PrismaCall, frame: Frame, same_tick: bool, per_item_results: set[str]) -> str:
    where_of = f" of `{frame.collection}`" if frame.collection else ""
    if frame.kind is FrameKind.LOOP:
        how = f"inside a `{frame.detail}` loop{where_of} (line {frame.line})"
    else:
        how = f"inside a `.{frame.detail}` callback{where_of} (line {frame.line})"
    head = f"`{call.target}` runs once per item {how}: N items cost N database round trips."
    if same_tick:
        return (f"`{call.target}` is called once per item {how}. Prisma batches `findUnique` calls made in the "
                "same tick with the same shape into one query, so this is usually fine; a single "
                f"`findMany` with `where: {{ ... {{ in: [...] }} }}` makes the batching explicit.")
    rewrite = _where_rewrite(call, frame)
    client = call.client
    model = call.accessor
    data = call.args.get("data") if call.args is not None else None
    variable = frame.variable.replace("const ", "").replace("let ", "").strip() or "item"
    if call.operation in ("findUnique", "findUniqueOrThrow", "findFirst", "findFirstOrThrow", "findMany"):
        if rewrite:
            fix = f"Load all rows in one query before the loop: `{client}.{model}.findMany({{ {rewrite} }})`, " \
                  "then look rows up in a Map."
        else:
            fix = "Load the rows in one query before the loop (`findMany` with `where: { id: { in: ids } }`), " \
                  "or fetch them with the parent through `include`/`select`."
        return f"{head} {fix}"
    if call.operation == "count":
        fix = "Count all groups in one query: `groupBy({ by: [...], where: { ...: { in: ids } }, _count: true })`."
        return f"{head} {fix}"
    if call.operation == "create" and isinstance(data, JsObject) and frame.collection and \
            not (idents_of(data) & per_item_results):
        fix = (f"Insert all rows in one statement: `{client}.{model}.createMany({{ data: {frame.collection}.map("
               f"({variable}) => ({render(data)})) }})`.")
        return f"{head} {fix}"
    if call.operation in ("update", "delete") and rewrite and \
            (call.operation == "delete" or not (call.args and _data_reads(call, frame, per_item_results))):
        target = "updateMany" if call.operation == "update" else "deleteMany"
        data_part = f", data: {render(data)}" if call.operation == "update" else ""
        fix = f"Do it in one statement: `{client}.{model}.{target}({{ {rewrite}{data_part} }})`."
        return f"{head} {fix}"
    if call.operation in WRITE_OPS:
        fix = ("Batch the writes: `createMany`/`updateMany`/`deleteMany` when every row gets the same change, "
               "otherwise pass the un-awaited calls to one `$transaction([...])` (one round trip, atomic).")
        return f"{head} {fix}"
    return f"{head} Query once for all items (`where: {{ id: {{ in: ids }} }}`) or use `include`."


def _data_reads(call: PrismaCall, frame: Frame, per_item: frozenset[str] | set[str] = frozenset()) -> bool:
    """Whether the per-item `data` depends on the item (then updateMany cannot express it)."""
    data = call.args.get("data") if call.args is not None else None
    loop_vars = set(re.findall(r"[A-Za-z_$][\w$]*", frame.variable)) | set(per_item)
    return bool(idents_of(data) & loop_vars)


_DECLARED = re.compile(r"\b(?:const|let|var)\s+(\{[^}=]*\}|\[[^\]=]*\]|[A-Za-z_$][\w$]*)")


def _declared_in_loop(inp: QueryInput, frame: Frame, call: PrismaCall) -> set[str]:
    """Names declared in the loop body before the call: per-item values a single statement cannot use."""
    body = "\n".join(inp.analysis.lines[frame.line:max(call.line - 1, frame.line)])
    names: set[str] = set()
    for target in _DECLARED.findall(body):
        names |= {n for n in re.findall(r"[A-Za-z_$][\w$]*", target) if n not in ("const", "let", "var")}
    return names
