"""query/n-plus-one: a Prisma call awaited once per item of a loop or an iteration callback."""

from __future__ import annotations

import re

from bot.findings import Finding, Severity, Surface
from bot.registry import define
from bot.ts.extract import awaits_io
from bot.ts.model import WRITE_OPS, Frame, FrameKind, PrismaCall, repeating_frame
from bot.ts.scopes import ITERATING_FUNCTIONS
from bot.ts.values import JsExpr, JsObject

from .common import QueryInput, call_finding, idents_of, int_option, is_script_path, is_test_path, render
from .leaks import code_between
from .transactions import in_wrapper_transaction

RULE = define(
    "query/n-plus-one", Severity.WARNING, Surface.QUERY,
    "A Prisma query awaited once per item of a loop or .map/.forEach callback (N items, N round trips)",
    options={"small_constant_list": 5},
    aliases=("forge-js:detect-n-plus-one-queries",),
)

_UNIQUE_READS = frozenset({"findUnique", "findUniqueOrThrow"})


def per_item_frame(call: PrismaCall) -> Frame | None:
    """The loop or iteration callback that repeats the call, if it is inside the same function body."""
    return repeating_frame(call.frames)


_SEED_PATH = re.compile(r"(^|/)(seeds?|seeders?)(/|$)|(^|/)seed[\w.-]*\.[cm]?[jt]sx?$")
# Iterating over batches (`for (const ids of chunk(all, 900))`, `for (const batch of batches)`): one query per
# batch is the fix for N+1, not an instance of it.
# (`chunk.map(...)` walks the items of one chunk: that is still per item.)
_BATCHES = re.compile(r"(?:^|[\s.(])(?:chunks|chunked|batches|batched|pages)$|(?:Chunks|Batches|Pages)$|"
                      r"(?:^|\.)(?:chunk|chunkArray|splitEvery|batch)\s*\(", re.IGNORECASE)
_BATCH_VARIABLE = re.compile(r"^(?:const|let|var)?\s*(?:chunk|batch|page|slice|group)\w*$", re.IGNORECASE)
# A counter that steps by a batch (`for (let i = 0; i < rows.length; i += 1000)`, `i += BATCH_SIZE`): each turn
# handles a slice of the rows, so one query per turn is the batched form.
_BATCH_STEP = re.compile(r"\bfor\s*\([^;]*;[^;]*;\s*[\w$]+\s*\+=\s*(?:(\d+)|([A-Za-z_$][\w$.]*))\s*\)")
_BATCH_SIZE_NAME = re.compile(r"size|batch|chunk|page|limit|step|per", re.IGNORECASE)
_MANY_WRITES = frozenset({"createMany", "createManyAndReturn", "updateMany", "updateManyAndReturn", "deleteMany"})
# Start-up hooks run once per process.
_STARTUP = re.compile(r"(?:^|\.)(?:onModuleInit|onApplicationBootstrap|initialize\w*|init|bootstrap|setup)$")


def _skip_frame(inp: QueryInput, frame: Frame, small: int) -> bool:
    """Loops that are not N+1 whatever they call: constants, retries and probes, batches, start-up code."""
    if frame.constant_items is not None and frame.constant_items <= small:
        return True  # a loop over a few constants is a fixed number of queries, not N+1
    if _no_items(inp, frame, small):
        return True
    variable = frame.variable.strip()
    return bool(_BATCHES.search(frame.collection.strip()) or _BATCH_VARIABLE.match(variable)) or \
        _steps_by_batch(inp, frame, small)


def _steps_by_batch(inp: QueryInput, frame: Frame, small: int) -> bool:
    if frame.kind is not FrameKind.LOOP or frame.detail != "for":
        return False
    header = " ".join(inp.analysis.lines[frame.line - 1:frame.line + 1])
    m = _BATCH_STEP.search(header)
    if m is None:
        return False
    return int(m.group(1)) > small if m.group(1) else bool(_BATCH_SIZE_NAME.search(m.group(2)))


def _per_group_batch(call: PrismaCall) -> bool:
    """`updateMany({ where: { id: { in: ids } } })` or `createMany({ data: rows })` per turn: one statement per
    group of rows (a category, a chunk), which is the batched form of the per-row write."""
    if call.operation not in _MANY_WRITES:
        return False
    if call.operation.startswith("create"):
        return isinstance(call.arg("data"), JsExpr)
    return _has_in_list(call.arg("where"))


def _has_in_list(value: object, depth: int = 0) -> bool:
    if not isinstance(value, JsObject) or depth > 4:
        return False
    return any(key == "in" or _has_in_list(v, depth + 1) for key, v in value.entries.items())


def _io_per_item(inp: QueryInput, frame: Frame) -> bool:
    """The loop body awaits a network call per item (an email, a webhook): that call, not the query, sets the
    loop's cost, and the query records its per-item outcome."""
    # a helper that runs queries (`ContactService.email`) is database work, whatever its name says
    return awaits_io(code_between(inp.analysis, frame.line, frame.end_line), {h.callee for h in inp.helpers})


def _memoised(inp: QueryInput, line: int) -> bool:
    """`let t = cache.get(id); if (!t) { t = await prisma.template.findUnique(...) ... cache.set(id, t) }`: one
    query per distinct key, however many items share it."""
    before = code_between(inp.analysis, line - 4, line)
    for name in re.findall(r"([A-Za-z_$][\w$]*)\s*=\s*[\w$.]+\.get\s*\(", before):
        if re.search(rf"\bif\s*\(\s*!\s*{re.escape(name)}\s*\)", before):
            return True
    return bool(re.search(r"\bif\s*\(\s*!\s*[\w$.]+\.has\s*\(", before))


def _mapped_into_batch(inp: QueryInput, frame: Frame) -> bool:
    """`const ops = xs.map((x) => prisma.x.update(...)); await prisma.$transaction(ops)`: the batch idiom through
    a variable."""
    head = "\n".join(inp.analysis.lines[max(frame.line - 2, 0):frame.line])
    m = re.search(r"\b(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*(?::[^=]+)?=\s*[\w$.?]+\s*\.\s*(?:map|flatMap)\s*\(",
                  head)
    if m is None:
        return False
    after = "\n".join(inp.analysis.lines[frame.end_line - 1:frame.end_line + 15])
    return re.search(rf"\$transaction\s*\(\s*(?:\[\s*\.\.\.)?{re.escape(m.group(1))}\b", after) is not None


def _handed_back(inp: QueryInput, frame: Frame) -> bool:
    """`return xs.map((x) => prisma.x.upsert(...))` or `[...xs.map(...), ...]`: the un-awaited queries go back to the
    caller as an array of lazy Prisma promises, which it batches (`$transaction([...])`); nothing runs here."""
    head = "\n".join(inp.analysis.lines[max(frame.line - 2, 0):frame.line])
    return re.search(r"(?:\breturn\s+\[?\s*(?:\.\.\.)?|\.\.\.)\s*[\w$.?]+\s*\.\s*(?:map|flatMap)\s*\(", head) \
        is not None


def check(inp: QueryInput) -> list[Finding]:
    small = int_option(inp.options(RULE), "small_constant_list", 5)
    if is_test_path(inp.path) or _SEED_PATH.search(inp.path):
        return []  # tests and seeds: fixed data, nobody waits on it
    script = is_script_path(inp.path)
    calls = inp.analysis.calls
    out: list[Finding] = []
    by_loop: dict[tuple[int, int], int] = {}  # the loop's byte span -> its finding in `out`
    grouped_lines: set[int] = set()
    for index, call in enumerate(calls):
        if call.accessor is None or call.discarded:
            continue  # (a dropped promise never runs: query/unawaited-query)
        frame = per_item_frame(call)
        if frame is None or _skip_frame(inp, frame, small) or _STARTUP.search(call.function.name):
            continue
        if frame.kind is FrameKind.LOOP and not call.awaited:
            continue  # promises collected for Promise.all / $transaction: one batch, not a round trip per item
        if frame.kind is FrameKind.LOOP and call.leaves_loop and \
                sum(f.kind in (FrameKind.LOOP, FrameKind.ITERATION) for f in call.frames) == 1:
            continue  # `if (failed) { await log(...); return; }`: once per loop, not once per item
        if frame.kind is FrameKind.LOOP and frame.detail in ("while", "do", "for") and \
                call.operation == "findMany" and any(call.has_arg(k) for k in ("take", "cursor", "skip")):
            continue  # `while (true) { findMany({ take: 1000, cursor }) }`: reading a big table page by page
        if frame.kind is FrameKind.ITERATION:
            if frame.batch_into == "$transaction" or _mapped_into_batch(inp, frame) or \
                    (not call.awaited and _handed_back(inp, frame)):
                continue  # prisma.$transaction(items.map(...)): the batch-transaction idiom
            if not (call.awaited or call.returned):
                continue
        if _io_per_item(inp, frame) or _memoised(inp, call.line) or _per_group_batch(call):
            continue
        severity = None
        same_tick = False
        in_tx = call.is_write and (call.in_transaction or in_wrapper_transaction(inp.analysis, call))
        if call.operation in _UNIQUE_READS and frame.kind is FrameKind.ITERATION and \
                frame.batch_into == "Promise.all" and _first_in_frame(index, calls, frame):
            severity, same_tick = Severity.INFO, True
        elif script or in_tx:
            # a one-off script: slow, but nobody waits on it per request; a write loop inside a transaction is
            # atomic and deliberate, yet still one round trip per item while the transaction holds its locks
            severity = Severity.INFO
        elif call.operation in ("create", "upsert") and _nested_creates(call):
            # `create({ data: { ..., config: { create: {...} } } })`: createMany cannot carry nested creates, so the
            # batch the rule would ask for does not exist in one call (split-pro's bank import, dyrectorio's copy)
            severity = Severity.INFO
        # Values produced by other queries in the same iteration make a "one statement" rewrite wrong.
        per_item_results = {n for other in calls if other is not call and
                            frame.start_byte <= other.start_byte < frame.end_byte for n in other.result_names}
        # ...and so do values computed in the loop body (`const { code } = await fetchCode(p)`)
        per_item_results |= _declared_in_loop(inp, frame, call)
        message = _message(call, frame, same_tick, per_item_results)
        if severity is Severity.INFO and call.operation in ("create", "upsert") and _nested_creates(call):
            message += (" Its `data` creates related rows as well, which `createMany` cannot do: if the list can grow "
                        "to hundreds, insert the parents with `createManyAndReturn` and their children with one "
                        "`createMany`; for a handful this is fine.")
        if in_tx and not same_tick:
            message += (" Inside the transaction the loop is still one round trip per item, holding the "
                        "transaction's locks the whole time.")
        finding = call_finding(RULE, call, message, severity=severity)
        # One loop is one problem: its other per-item queries are listed on the first one's finding.
        loop = (frame.start_byte, frame.end_byte)
        if loop in by_loop:
            at = by_loop[loop]
            first = out[at]
            fix = message.split("round trips. ", 1)[1] if "round trips. " in message else ""
            sites = [*first.extra.get("call_sites", []),
                     {"line": call.line, "end_line": call.end_line, "call": call.target, "fix": fix}]
            shown = " ".join(f"`{s['call']}` (line {s['line']})" + (f": {s['fix']}" if s["fix"] else ".")
                             for s in sites[:3]) + (f" And {len(sites) - 3} more." if len(sites) > 3 else "")
            base = first.message.split(_ALSO, 1)[0]
            out[at] = first.with_(message=f"{base}{_ALSO}{shown}", extra={**first.extra, "call_sites": sites},
                                  severity=max(first.severity, finding.severity, key=lambda v: v.rank))
            grouped_lines.add(call.line)
            continue
        by_loop[loop] = len(out)
        out.append(finding)
    out.extend(_helper_findings(inp, small, script, {f.line for f in out} | grouped_lines))
    return out


_ALSO = " The same loop also queries per item: "


def _helper_findings(inp: QueryInput, small: int, script: bool, reported: set[int]) -> list[Finding]:
    """A loop calling a helper (this file or an imported module) that runs a query on every call."""
    out: list[Finding] = []
    prisma_lines = {c.line for c in inp.analysis.calls if c.accessor is not None}
    for helper in inp.helpers:
        if helper.line in reported or helper.line in prisma_lines:
            continue  # the call is itself read as a Prisma call: that finding (or its absence) stands
        frame = repeating_frame(helper.frames)
        if frame is None or _skip_frame(inp, frame, small) or _STARTUP.search(helper.function.name):
            continue
        if frame.kind is FrameKind.LOOP and not helper.awaited:
            continue
        if frame.kind is FrameKind.ITERATION and (frame.batch_into == "$transaction" or
                                                  not (helper.awaited or helper.returned)):
            continue
        if _io_per_item(inp, frame) or _memoised(inp, helper.line) or helper.target.awaits_io:
            continue  # (a helper that calls out per item, as dyrectorio's createRun triggers an Azure run)
        target = helper.target
        runs = ", ".join(f"`{q}`" for q in target.queries[:3])
        where_of = f" of `{frame.collection}`" if frame.collection else ""
        how = f"inside a `{frame.detail}` loop{where_of}" if frame.kind is FrameKind.LOOP else \
            f"inside a `{_callback_name(frame)}` callback{where_of}"
        message = (f"`{helper.callee}(...)` runs {runs} ({target.path}:{target.line}) on every call, and it is "
                   f"called once per item {how} (line {frame.line}): N items cost N database round trips. Give "
                   f"`{target.name}` a batch form that takes all the items (`where: {{ ...: {{ in: [...] }} }}`, "
                   f"`createMany`) and call it once before the loop, then look results up in a Map.")
        key = f"{helper.function.name}:{helper.callee}:helper"
        scope = None if helper.function.is_module else (helper.function.line, helper.function.end_line)
        finding = RULE.finding(inp.path, helper.line, message, end_line=helper.end_line,
                               severity=Severity.INFO if script else None, key=key, scope=scope,
                               extra={"helper": {"path": target.path, "name": target.name, "line": target.line,
                                                 "queries": list(target.queries)}})
        out.append(finding)
        reported.add(helper.line)
    return out


def _callback_name(frame: Frame) -> str:
    """`.map` for an array method, `pMap(...)` / `Effect.forEach(...)` for a function given the items."""
    return f"{frame.detail}(...)" if frame.detail in ITERATING_FUNCTIONS else f".{frame.detail}"


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
        how = f"inside a `{_callback_name(frame)}` callback{where_of} (line {frame.line})"
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


_NESTED_CREATES = frozenset({"create", "createMany", "connectOrCreate", "upsert"})


def _nested_creates(call: PrismaCall) -> bool:
    """The write's `data` (or an upsert's `create`) creates related rows through a relation field."""
    if call.args is None:
        return False
    for part in ("data", "create"):
        data = call.args.get(part)
        if isinstance(data, JsObject) and any(isinstance(v, JsObject) and _NESTED_CREATES & set(v.entries)
                                              for v in data.entries.values()):
            return True
    return False


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
