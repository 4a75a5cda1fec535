"""Transaction rules: dependent writes outside a transaction, awaited batch items, escapes and I/O inside one."""

from __future__ import annotations

import re
from collections import defaultdict

from bot.findings import Finding, Severity, Suggestion, Surface
from bot.registry import define
from bot.ts.extract import is_io_callee
from bot.ts.model import FileAnalysis, FrameKind, PrismaCall
from bot.ts.values import JsObject

from .common import QueryInput, call_finding, call_idents, is_developer_script, is_test_path
from .leaks import code_between, code_lines
from .schema_view import SchemaView

MISSING = define(
    "query/missing-transaction", Severity.WARNING, Surface.QUERY,
    "Writes that must succeed together (a later one uses an earlier one's result) run outside a transaction",
)
AWAITED_BATCH = define(
    "query/transaction-awaited-batch", Severity.ERROR, Surface.QUERY,
    "$transaction([...]) is given already-awaited queries, which ran outside the transaction",
)
ESCAPE = define(
    "query/transaction-escape", Severity.ERROR, Surface.QUERY,
    "The outer Prisma client is used inside an interactive $transaction callback instead of its `tx` client",
)
IO_IN_TX = define(
    "query/transaction-io", Severity.WARNING, Surface.QUERY,
    "Network or queue I/O awaited inside an interactive $transaction holds row locks and risks the 5 s timeout",
)


_CREATES_OR_DELETES = frozenset({"create", "createManyAndReturn", "upsert", "delete"})


# Project wrappers that run a callback in a transaction: `prismaService.$tx(async (prisma) => ...)`,
# `withTransaction(async (tx) => ...)`, `db.transaction(async (trx) => ...)`, `runInTransaction(...)`.
_TX_WRAPPER_CALL = re.compile(r"(?:\$tx|\$transaction|\btransaction|\bwithTransaction|\brunInTransaction|"
                              r"\binTransaction|\bwithTx|\btxClient)\s*\(\s*(?:async\b|\(|function\b|[A-Za-z_$][\w$]*\s*=>)")
# `const prisma = this.prismaService.txClient()`: the ambient (CLS) transaction's client.
_TX_CLIENT = re.compile(r"\b(?:const|let)\s+([A-Za-z_$][\w$]*)\s*=\s*[\w$.]*\btxClient\s*\(\s*\)")


def in_wrapper_transaction(analysis: FileAnalysis, call: PrismaCall) -> bool:
    """The call runs inside a project's transaction wrapper (`$tx(cb)`, `withTransaction(cb)`) or on the client
    `txClient()` returns: it is atomic with the other writes of that callback."""
    for frame in call.frames:
        if frame.kind is not FrameKind.FUNCTION:
            continue
        opening = "\n".join(analysis.lines[max(frame.line - 2, 0):frame.line])
        if _TX_WRAPPER_CALL.search(opening):
            return True
    fn = analysis.lines[max(call.function.line - 1, 0):call.line]
    return any(m.group(1) == call.client.split(".")[0] for m in _TX_CLIENT.finditer("\n".join(fn)))


def _outside_transaction_writes(analysis: FileAnalysis) -> dict[tuple[str, int], list[PrismaCall]]:
    groups: dict[tuple[str, int], list[PrismaCall]] = defaultdict(list)
    for call in analysis.calls:
        # `return prisma.order.createMany(...)` runs as surely as an awaited call
        if call.is_write and (call.awaited or call.returned) and not call.in_transaction and \
                call.client_kind != "transaction" and not in_wrapper_transaction(analysis, call):
            # grouped by the innermost function body, named or not: two `.action(async () => ...)` callbacks of
            # one module are two functions
            body = next((f for f in call.frames if f.kind is FrameKind.FUNCTION), None)
            groups[(call.function.name, body.start_byte if body is not None else -1)].append(call)
    return groups


def _increments(call: PrismaCall) -> bool:
    data = call.args.obj("data") if call.args is not None else None
    if data is None:
        return False
    return any(isinstance(v, JsObject) and ("increment" in v.entries or "decrement" in v.entries)
               for v in data.entries.values())


def _children_of(schema: SchemaView | None, parent: str | None, child: str | None) -> bool:
    """`child` rows hold a foreign key to `parent` rows (by client accessor)."""
    if schema is None:
        return False
    p, c = schema.model(parent), schema.model(child)
    if p is None or c is None or p is c:
        return False
    return any(r.model is c for r in schema.relations_into(p))


def aliases(analysis: FileAnalysis, first: PrismaCall, second: PrismaCall) -> set[str]:
    """The first write's result names, plus variables assigned from them before the second write
    (`let projectId; if (...) { const p = await create(...); projectId = p.id; }`)."""
    names = set(first.result_names)
    between = code_between(analysis, first.line, max(second.line - 1, first.line))
    for _ in range(2):  # an alias of an alias
        for target, source in re.findall(r"(?<![\w$.])([A-Za-z_$][\w$]*)\s*=(?![=>])\s*([A-Za-z_$][\w$]*)", between):
            if source in names:
                names.add(target)
    return names


def _pair_reason(first: PrismaCall, second: PrismaCall, schema: SchemaView | None = None,
                 flowing: set[str] | None = None) -> str | None:
    # A value that flows from a created/deleted row: the later write depends on a row that exists only if the
    # first committed. (After an update, the flowing value is usually an id that existed before.)
    names = flowing if flowing is not None else set(first.result_names)
    used = names & call_idents(second) if first.operation in _CREATES_OR_DELETES else set()
    if used:
        name = sorted(used)[0]
        return f"it uses `{name}` from the earlier `{first.target}`"
    # One row of a set changed, then the rest of the set (`update` the new version to latest, `updateMany` the others
    # to not latest; an `upsert` per item, then `updateMany` marking the set): a failure between leaves the set
    # inconsistent (two "latest" rows, or none).
    # (`update` then `deleteMany` of the same model's other rows is the same half-done change.)
    if first.accessor == second.accessor and {first.operation, second.operation} & {"updateMany", "deleteMany"} \
            and {first.operation, second.operation} & {"update", "create", "upsert"} and \
            (first.operation, second.operation) not in (("deleteMany", "create"), ("updateMany", "create")):
        # (`updateMany` then `create` is an upsert by hand: the create runs only when nothing was updated)
        return f"it updates the other `{second.accessor}` rows of the set the earlier `{first.target}` changed " \
               "(a failure in between leaves the set inconsistent, e.g. two rows marked latest)"
    # Replacing a set (`deleteMany` then `createMany` of the same rows) loses the set when the insert fails. A single
    # `create` after a `deleteMany` is a rotation (old reset tokens out, one fresh token in): losing the stale rows
    # on failure is harmless, so it is not reported.
    replaced = ("createMany", "createManyAndReturn", "create") if _per_item(second) is not None and \
        _per_item(first) is None else ("createMany", "createManyAndReturn")
    if first.operation == "deleteMany" and second.operation in replaced and first.accessor == second.accessor:
        return f"it re-creates `{second.accessor}` rows the earlier `{first.target}` removed (a failure in " \
               "between loses them)"
    # Deleting a parent's children, then the parent: a failed parent delete leaves it half-deleted.
    if first.operation in ("delete", "deleteMany") and second.operation in ("delete", "deleteMany") and \
            _children_of(schema, second.accessor, first.accessor):
        return f"it deletes the `{second.accessor}` whose `{first.accessor}` rows the earlier `{first.target}` " \
               "removed (a failure in between leaves a half-deleted record)"
    if _increments(first) and _increments(second):
        return f"it moves an amount the earlier `{first.target}` changed (both sides of a transfer)"
    return None


def check_missing(inp: QueryInput) -> list[Finding]:
    if is_test_path(inp.path):
        return []
    by_hand = is_developer_script(inp.path)
    out: list[Finding] = []
    for writes in _outside_transaction_writes(inp.analysis).values():
        if len(writes) < 2:
            continue
        reported = False
        for i, second in enumerate(writes[1:], start=1):
            if reported:
                break
            for first in writes[:i]:
                if _per_item(first) != _per_item(second) and not _set_pair(first, second):
                    continue  # a write per item next to a single one: only a set replaced or marked pairs
                flowing = aliases(inp.analysis, first, second) if first.operation in _CREATES_OR_DELETES and \
                    first.result_names else set()
                reason = _pair_reason(first, second, inp.schema, flowing)
                if reason is None or _saga_step(inp.analysis, first, second) or \
                        _exclusive(inp.analysis, first, second) or _get_or_create(inp.analysis, first) or \
                        _diff_sync(inp.analysis, first, second):
                    continue
                message = _missing_message(first, second, reason)
                if by_hand:
                    message += (" (A seed or a script run by hand: a partial run is simply run again, so this is a "
                                "note.)")
                out.append(call_finding(MISSING, second, message, severity=Severity.INFO if by_hand else None,
                                        key_suffix=f"after:{first.accessor}.{first.operation}"))
                reported = True
                break
    return out


_AWAITED_CALLEE = re.compile(r"\bawait\s+([A-Za-z_$][\w$.]*)\s*\(")


def _saga_step(analysis: FileAnalysis, first: PrismaCall, second: PrismaCall) -> bool:
    """Writes around an external call (create a pending payment, charge Stripe, record the charge id), or a second
    write in the `catch` that undoes the first: one transaction cannot span the network call (holding it open is
    query/transaction-io), so the split is the design, not an oversight."""
    between = code_between(analysis, first.end_line + 1, max(second.line - 1, first.end_line))
    for m in re.finditer(r"\bcatch\s*(?:\([^)]*\))?\s*\{", between):
        # a catch that does something (undoes the first write, rethrows into a compensation) makes the split the
        # design; an empty or logging-only catch swallows the failure and leaves the first write behind
        block = _block(between, m.end())
        if re.search(r"\bawait\b|\bthrow\b", block):
            return True
        if m.end() + len(block) >= len(between):
            return True  # the second write is in the catch itself: it undoes the first when a later step fails
    for callee in _AWAITED_CALLEE.findall(between):
        if "prisma" in callee.lower() or callee.startswith(("tx.", "this.prisma", "db.")):
            continue
        if is_io_callee(callee):
            return True
    return False


_DIFFERENCE = re.compile(r"\b(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*(?::[^=\n]+)?=\s*(?:"
                         r"[\w$.]*\bdifference(?:By|With)?\s*\(|"  # lodash / remeda `difference(a, b)`
                         r"[\w$.?]+\s*\.\s*filter\s*\(\s*\(?\s*[\w$]+\s*\)?\s*=>\s*!)")  # a.filter((x) => !b.has(x))


def _diff_sync(analysis: FileAnalysis, first: PrismaCall, second: PrismaCall) -> bool:
    """`deleteMany` of the rows no longer wanted, then a create of the new ones, where the two lists are opposite
    differences of the old and new sets (`difference(old, new)`, `difference(new, old)`): the create never brings
    back what the delete removed, and a retry of the sync converges, so there is no set to lose."""
    if first.operation != "deleteMany" or second.operation not in ("create", "createMany", "createManyAndReturn"):
        return False
    body = "\n".join(analysis.lines[first.function.line - 1:first.function.end_line])
    differences = set(_DIFFERENCE.findall(body))
    if len(differences) < 2:
        return False
    removed = call_idents(first) & differences
    frame = next((f for f in second.frames if f.kind in (FrameKind.LOOP, FrameKind.ITERATION)), None)
    added = (set(re.findall(r"[A-Za-z_$][\w$]*", frame.collection)) if frame is not None else call_idents(second)) \
        & differences
    return bool(removed) and bool(added) and not removed & added


def _set_pair(first: PrismaCall, second: PrismaCall) -> bool:
    """A single statement on a set next to a per-item write on the same set: `deleteMany` then a `create` per item
    (the set replaced item by item), or an `upsert` per item and one `updateMany` over the set."""
    if first.accessor != second.accessor:
        return False
    single, looped = (first, second) if _per_item(first) is None else (second, first)
    if _per_item(single) is not None:
        return False
    return (single is first and single.operation == "deleteMany") or \
        (single.operation == "updateMany" and looped.operation in ("upsert", "update", "create"))


def _block(text: str, start: int) -> str:
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            if depth == 0:
                return text[start:i]
            depth -= 1
    return text[start:]


def _exclusive(analysis: FileAnalysis, first: PrismaCall, second: PrismaCall) -> bool:
    """The two writes sit in different branches of one if/else (`if (!x) create() else update()`): one runs."""
    # from just after the first call's closing parenthesis (its `})` closes nothing of the code around it)
    code = code_lines(analysis)
    last = code[first.end_line - 1] if first.end_line <= len(code) else ""
    tail = last[last.rfind(")") + 1:] if ")" in last else last
    middle = code[first.end_line:max(second.line - 1, first.end_line)]
    before = "\n".join([tail, *middle])
    between = "\n".join([before, code[second.line - 1] if second.line <= len(code) else ""])
    before_second = len(before)
    depth = 0
    for m in re.finditer(r"[{}]|\belse\b|\breturn\b|\bthrow\b", between):
        token = m.group(0)
        if token == "{":
            depth += 1
        elif token == "}":
            depth -= 1
        elif token == "else" and depth < 0:
            return True
        elif token in ("return", "throw") and depth == 0 and m.start() > 0 and m.start() < before_second:
            return True  # the first write's block ends the function: the second runs only when the first did not
    return False


def _get_or_create(analysis: FileAnalysis, first: PrismaCall) -> bool:
    """`if (!event) { event = await prisma.event.create(...) }`: the row is created only when a lookup found none,
    so when a later write fails the row stays valid and the next attempt finds it (an idempotent retry)."""
    if first.operation not in ("create", "upsert") or len(first.result_names) != 1:
        return False
    name = re.escape(first.result_names[0])
    before = "\n".join(analysis.lines[max(first.line - 4, 0):first.line])
    return re.search(rf"\bif\s*\(\s*!\s*{name}\s*\)", before) is not None


def _per_item(call: PrismaCall) -> int | None:
    frame = next((f for f in call.frames if f.kind in (FrameKind.LOOP, FrameKind.ITERATION)), None)
    return frame.start_byte if frame is not None else None


def _missing_message(first: PrismaCall, second: PrismaCall, reason: str) -> str:
    client = first.client
    names = ", ".join(first.result_names) or "result"
    sketch = (f"`await {client}.$transaction(async (tx) => {{ const {names} = await tx.{first.accessor}."
              f"{first.operation}(...); await tx.{second.accessor}.{second.operation}(...); }})`")
    nested = ""
    if first.operation == "create" and second.operation == "create" and set(first.result_names) & \
            call_idents(second):
        nested = (f", or create both in one nested write (`{client}.{first.accessor}.create({{ data: {{ ..., "
                  f"<relation>: {{ create: {{ ... }} }} }} }})`)")
    return (f"`{second.target}` (line {second.line}) runs after `{first.target}` (line {first.line}) outside a "
            f"transaction, and {reason}: if the second write fails, the first stays committed. Wrap both in "
            f"{sketch}{nested}.")


def check_awaited_batch(inp: QueryInput) -> list[Finding]:
    out: list[Finding] = []
    for tx in inp.analysis.transactions:
        if tx.kind != "batch" or not tx.awaited_items:
            continue
        line, text = tx.awaited_items[0]
        shown = text.removeprefix("await").strip()
        more = f" (and {len(tx.awaited_items) - 1} more)" if len(tx.awaited_items) > 1 else ""
        message = (f"`{tx.client}.$transaction([...])` receives `{text[:80]}`{more}: an awaited query already ran "
                   "before the transaction started, so it is not rolled back when another item fails. Pass the "
                   f"un-awaited query instead: `{tx.client}.$transaction([{shown[:80]}, ...])`.")
        suggestion = None
        text = inp.analysis.line_text(line)
        if text is not None and text.count("await ") == 1 and text.strip().startswith("await ") and \
                len(tx.awaited_items) == 1:
            suggestion = Suggestion(line, line, text.replace("await ", "", 1))
        out.append(AWAITED_BATCH.finding(
            inp.path, line, message, end_line=line, key=f"{tx.function.name}:{tx.client}.$transaction",
            scope=None if tx.function.is_module else (tx.function.line, tx.function.end_line),
            suggestion=suggestion))
    return out


def check_escape(inp: QueryInput) -> list[Finding]:
    out: list[Finding] = []
    clientless: set[int] = set()  # transactions already reported for taking no client
    for call in inp.analysis.calls:
        if call.client_kind == "transaction" or call.operation == "$transaction":
            continue
        frame = next((f for f in call.frames if f.kind is FrameKind.TRANSACTION), None)
        if frame is None or frame.detail != "interactive":
            continue
        if not frame.tx_param:
            # `prisma.$transaction(async () => { ... })`: the callback never takes the transaction client, so no
            # query in it is part of the transaction. (A project wrapper's callback may get its client from
            # context, as with CLS-based transactions: only Prisma's own `$transaction` is certain.)
            if call.is_write and call.client_kind == "client" and frame.start_byte not in clientless and \
                    "$transaction" in (inp.analysis.line_text(frame.line) or ""):
                clientless.add(frame.start_byte)
                out.append(call_finding(ESCAPE, call, (
                    f"The `$transaction(async () => ...)` callback (line {frame.line}) takes no transaction "
                    f"client, so `{call.target}` and every other query in it run outside the transaction, each "
                    f"committing on its own: a failure half-way leaves the earlier writes in place. Take the "
                    f"client and use it: `$transaction(async (tx) => {{ ... tx.{call.accessor or 'model'}"
                    f".{call.operation}(...) ... }})`.")))
            continue
        fixed = call.target.replace(call.client, frame.tx_param, 1)
        message = (f"`{call.target}` inside `$transaction(async ({frame.tx_param}) => ...)` (line {frame.line}) "
                   f"uses the outer client: it runs on another connection outside the transaction, is not rolled "
                   f"back, and can deadlock on rows the transaction holds. Use `{fixed}`.")
        finding = call_finding(ESCAPE, call, message)
        text = inp.analysis.line_text(call.line)
        written = f"{call.client}.{call.accessor or call.operation}"
        if text is not None and text.count(written) == 1:
            replacement = text.replace(written, f"{frame.tx_param}.{call.accessor or call.operation}")
            finding = finding.with_(suggestion=Suggestion(call.line, call.line, replacement))
        out.append(finding)
    return out


def check_io(inp: QueryInput) -> list[Finding]:
    out: list[Finding] = []
    for tx in inp.analysis.transactions:
        if tx.kind != "interactive" or not tx.io_calls:
            continue
        for line, callee in tx.io_calls:
            timeout = f"the {tx.timeout_ms} ms timeout" if tx.timeout_ms else "the default 5 s timeout (P2028)"
            message = (f"`await {callee}(...)` inside `{tx.client}.$transaction(async ({tx.tx_param or 'tx'}) => "
                       f"...)` keeps the transaction open (and its row locks held) while waiting on the network, "
                       f"and a slow call hits {timeout}. Do the I/O after the transaction commits (or record it "
                       "in an outbox table inside the transaction and send it afterwards).")
            out.append(IO_IN_TX.finding(
                inp.path, line, message, key=f"{tx.function.name}:$transaction:{callee}",
                scope=None if tx.function.is_module else (tx.function.line, tx.function.end_line)))
    return out


def check(inp: QueryInput) -> list[Finding]:
    return [*check_missing(inp), *check_awaited_batch(inp), *check_escape(inp), *check_io(inp)]
