"""query/unawaited-query: a Prisma query whose promise is dropped never runs (Prisma Client queries are lazy)."""

from __future__ import annotations

from bot.findings import Finding, Severity, Surface
from bot.registry import define
from bot.ts.model import MODEL_OPS

from .common import QueryInput, call_finding, is_test_path

RULE = define(
    "query/unawaited-query", Severity.ERROR, Surface.QUERY,
    "A Prisma query called as a statement of its own, neither awaited, returned nor chained, never runs",
)

# PrismaPromise: the query is sent on `await` / `.then()` only (also the raw SQL calls); `$transaction(fn)` and
# `$connect` start at once, so they are left out.
_LAZY = MODEL_OPS | {"$queryRaw", "$executeRaw", "$queryRawUnsafe", "$executeRawUnsafe", "$queryRawTyped"}


def check(inp: QueryInput) -> list[Finding]:
    if is_test_path(inp.path):
        return []
    out: list[Finding] = []
    for call in inp.analysis.calls:
        if not call.discarded or call.operation not in _LAZY or call.confidence < 1.0:
            continue
        what = "write" if call.is_write or call.operation.startswith("$execute") else "read"
        message = (f"`{call.target}(...)` is a statement of its own: its promise is neither awaited, returned nor "
                   f"chained, and Prisma Client sends a query only when its promise is awaited (or `.then()` is "
                   f"called), so this {what} never runs"
                   + (" and its change is silently lost" if what == "write" else "")
                   + (", and inside a transaction callback it would also run after the transaction ended"
                      if call.client_kind == "transaction" else "")
                   + f". Write `await {call.target}(...)`; for fire-and-forget, `void {call.target}(...)"
                   f".catch(log)` does run it.")
        out.append(call_finding(RULE, call, message,
                                severity=Severity.ERROR if what == "write" else Severity.WARNING))
    return out
