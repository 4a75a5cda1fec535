"""Shared by the query rules: the input they receive, path classes, and turning a call into a finding."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.findings import Finding, Severity
from bot.registry import Rule
from bot.ts.values import JsArray, JsExpr, JsLiteral, JsObject, JsValue

from .schema_view import SchemaView

if TYPE_CHECKING:  # annotations only: dropped_columns uses this module on changes without TS/JS files
    from bot.ts.callgraph import HelperCall, ReturningCaller
    from bot.ts.model import FileAnalysis, PrismaCall

_TEST_PATH = re.compile(r"(^|/)(__tests__|__mocks__|tests?|spec|e2e|cypress|playwright|fixtures?)(/|$)|"
                        r"\.(test|spec|e2e|stories)\.[cm]?[jt]sx?$")
_SCRIPT_PATH = re.compile(r"(^|/)(scripts?|seeds?|seeders?|prisma|migrations?|jobs?|workers?|cron|crons|tasks|"
                          r"bin|cli|tools|maintenance|backfills?)(/|$)|(^|/)seed[\w.-]*\.[cm]?[jt]sx?$")
# Scheduled jobs exposed as routes (Vercel / Next.js `app/api/cron/<job>/route.ts`): a scheduler calls them, not
# users, so "per request" costs (unbounded lists, whole-table counts) are batch-job costs. Only the unambiguous
# folder names: `jobs/` or `tasks/` are ordinary API resources in many apps.
_SCHEDULED_PATH = re.compile(r"(^|/)(cron|crons|cron-?jobs?|scheduled)(/|$)", re.IGNORECASE)
# Process entry points (`api/server.ts`, `src/main.ts`): their top-level code runs once at start-up. Route callbacks
# registered there are still recognised by their own handler kind (`app.get("/x", ...)`).
_BOOTSTRAP = re.compile(r"(^|/)(server|main|bootstrap|instrumentation)\.[cm]?[jt]s$")
_REQUEST_PATH = re.compile(
    r"(^|/)(app/.*/route|pages/api/|api/|routes?/|routers?/|controllers?/|resolvers?/|handlers?/|trpc/|"
    r"server/api/|actions?/|services?/|endpoints?/|graphql/|loaders?/)|"
    r"\.(controller|router|routes|resolver|service|handler|action|actions|api|procedure)\.[cm]?[jt]sx?$"
)


@dataclass
class QueryInput:
    """What a file-level rule receives: one analysed file, the head schema (if any) and rule options."""

    analysis: FileAnalysis
    schema: SchemaView | None
    options: Callable[[Rule], dict[str, Any]]
    # Calls inside loops to helpers (this file or an imported module) that run Prisma queries (bot.ts.callgraph).
    helpers: list[HelperCall] = field(default_factory=list)
    # (class, method) -> request handlers returning that service method's result (bot.ts.callgraph)
    returning_callers: Callable[[str, str], list[ReturningCaller]] = lambda _cls, _method: []

    @property
    def path(self) -> str:
        return self.analysis.path


def int_option(options: dict[str, Any], name: str, default: int) -> int:
    """A numeric rule option; a malformed value in the repo config falls back to the default instead of failing."""
    try:
        return int(options.get(name, default))
    except (TypeError, ValueError):
        return default


def is_test_path(path: str) -> bool:
    return bool(_TEST_PATH.search(path))


# Code a developer runs by hand (seeds, data factories, one-off scripts, CLIs); jobs and workers run in production
# on outside data, so they are not in this list.
_DEVELOPER_SCRIPT = re.compile(r"(^|/)(scripts?|seeds?|seeders?|factor(?:y|ies)|fixtures?|bin|cli|tools|maintenance|"
                               r"backfills?|migrations?)(/|$)|(^|/)seed[\w.-]*\.[cm]?[jt]sx?$")


def is_developer_script(path: str) -> bool:
    return bool(_DEVELOPER_SCRIPT.search(path))


def is_script_path(path: str) -> bool:
    return bool(_SCRIPT_PATH.search(path)) and not _REQUEST_PATH.search(path.rsplit("/", 1)[-1])


def request_context(call: PrismaCall, path: str, use_server: bool = False) -> str | None:
    """Why a call runs per request ("Next.js route handler", "tRPC procedure"...), or None (scripts, jobs, tests)."""
    labels = {
        "next-route": "a Next.js route handler", "next-api": "a Next.js API route", "server-action":
        "a server action", "trpc": "a tRPC procedure", "nest-controller": "a NestJS controller",
        "nest-service": "a NestJS service", "express": "an HTTP route handler", "resolver": "a GraphQL resolver",
        "loader": "a route loader/action", "next-page": "a Next.js server component",
    }
    if is_test_path(path) or _SCHEDULED_PATH.search(path) or call.function.handler == "job":
        return None
    if call.function.handler:
        return labels.get(call.function.handler, "a request handler")
    return path_request_context(path, use_server)


def path_request_context(path: str, use_server: bool = False) -> str | None:
    """Request-handling code judged by the file alone (route folders, controllers, "use server" modules)."""
    if is_test_path(path) or is_script_path(path) or _SCHEDULED_PATH.search(path) or _BOOTSTRAP.search(path):
        return None
    if use_server:
        return "a server action module"
    if _REQUEST_PATH.search(path):
        return "request-handling code"
    return None


def call_finding(rule: Rule, call: PrismaCall, message: str, *, severity: Severity | None = None,
                 key_suffix: str = "", caused_by_change: bool = False, extra: dict[str, Any] | None = None) -> Finding:
    if call.confidence < 1.0:
        # A receiver we could not bind to a Prisma Client (or a member the schema does not have) may not be Prisma
        # at all: such a finding never fails CI, and says why it was taken for Prisma.
        if (severity or rule.severity) is Severity.ERROR:
            severity = Severity.WARNING
        if call.guessed:
            message += (f" (`{call.client}` is taken for a Prisma Client by its {call.resolved_by or 'shape'}, not by "
                        f"a binding we could see: confidence {call.confidence:.1f}.)")
    finding = rule.finding(
        call.path, call.line, message, end_line=call.end_line, severity=severity,
        key=call.key + (f":{key_suffix}" if key_suffix else ""), scope=call.scope,
        caused_by_change=caused_by_change, extra=extra,
    )
    if call.confidence < 1.0:
        finding = finding.with_(confidence=call.confidence)
    return finding


def render(value: JsValue | None, depth: int = 0) -> str:
    """Short JS text for a value, for rewritten calls in messages."""
    if value is None:
        return "undefined"
    if isinstance(value, JsLiteral):
        return value.text
    if isinstance(value, JsExpr):
        return value.text if len(value.text) <= 80 else value.text[:77] + "..."
    if isinstance(value, JsArray):
        inner = ", ".join(render(v, depth + 1) for v in value.items[:6])
        return f"[{inner}{', ...' if len(value.items) > 6 else ''}]"
    if depth > 3:
        return "{ ... }"
    parts = [f"{k}: {render(v, depth + 1)}" if not _is_shorthand(k, v) else k for k, v in value.entries.items()]
    parts += [f"...{s.text}" for s in value.spreads if s.kind != "assignment"]
    return "{ " + ", ".join(parts) + " }" if parts else "{}"


def _is_shorthand(key: str, value: JsValue) -> bool:
    return isinstance(value, JsExpr) and value.kind == "identifier" and value.text == key


def idents_of(value: JsValue | None) -> set[str]:
    """Identifiers a (nested) value reads."""
    out: set[str] = set()
    stack: list[JsValue] = [value] if value is not None else []
    while stack:
        v = stack.pop()
        if isinstance(v, JsExpr):
            out |= v.idents
        elif isinstance(v, JsObject):
            stack.extend(v.entries.values())
            for s in v.spreads:
                out |= s.idents
        elif isinstance(v, JsArray):
            stack.extend(v.items)
    return out


def call_idents(call: PrismaCall) -> set[str]:
    out: set[str] = set()
    for arg in call.arguments:
        out |= idents_of(arg)
    if call.args is not None:
        out |= idents_of(call.args)
    return out


def is_empty_object(value: JsValue | None) -> bool:
    return isinstance(value, JsObject) and not value.entries and not value.spreads


def function_text(analysis: FileAnalysis, call: PrismaCall) -> str:
    """The source of the function a call sits in (the whole file for module-level code)."""
    fn = call.function
    if fn.is_module or not analysis.lines:
        return "\n".join(analysis.lines)
    return "\n".join(analysis.lines[max(fn.line - 1, 0):fn.end_line])


def function_header(analysis: FileAnalysis, call: PrismaCall) -> str:
    """The function's signature text up to its body, e.g. `async deleteAllHistories()`."""
    fn = call.function
    if fn.is_module or not analysis.lines:
        return ""
    head = "\n".join(analysis.lines[max(fn.line - 1, 0):min(fn.line + 4, fn.end_line)])
    cut = min((i for i in (head.find("{"), head.find("=>")) if i >= 0), default=len(head))
    return head[:cut]
