"""query/raw-sql-injection: SQL text built from values in $queryRawUnsafe / $executeRawUnsafe / Prisma.raw."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.findings import Finding, Severity, Suggestion, Surface
from bot.registry import define
from bot.ts.model import UNSAFE_RAW_OPS, FunctionInfo
from bot.ts.sql_flow import PARAMETER, REQUEST, UNKNOWN, SqlSource
from bot.ts.values import JsExpr, JsLiteral, JsValue

from .common import QueryInput, call_finding, is_developer_script, is_test_path

RULE = define(
    "query/raw-sql-injection", Severity.ERROR, Surface.QUERY,
    "Raw SQL built from non-constant text ($queryRawUnsafe with interpolation, Prisma.raw(variable))",
    aliases=("eslint-plugin-prisma:no-unsafe", "prisma/no-unsafe"),
)



def _constant(value: JsValue | None, const_strings: set[str]) -> bool:
    if isinstance(value, JsLiteral):
        return True
    if isinstance(value, JsExpr) and value.kind in ("template_string", "binary_expression") and value.idents:
        # `${TABLE}` where TABLE is a module-level string constant is still constant SQL
        return value.idents <= const_strings
    return False


@dataclass(frozen=True)
class _Verdict:
    """What the value flow says about the text of one raw SQL statement."""

    request: tuple[SqlSource, ...]  # request input (or a request handler's parameters)
    unknown: tuple[SqlSource, ...]  # values of unknown origin

    @property
    def safe(self) -> bool:
        return not self.request and not self.unknown

    @property
    def severity(self) -> Severity:
        return Severity.ERROR if self.request else Severity.WARNING


# Functions whose parameters are what the client sent (a route handler's request, a procedure's input).
_HANDLERS = frozenset({"next-route", "next-api", "server-action", "trpc", "nest-controller", "express", "resolver",
                       "loader"})


def _verdict(sources: tuple[SqlSource, ...], function: FunctionInfo) -> _Verdict:
    """Request input: read from the request, or a parameter of the request handler the SQL sits in. A parameter
    of any other function (a service helper) is of unknown origin: its callers decide."""
    handler = function.handler in _HANDLERS

    def from_request(s: SqlSource) -> bool:
        return s.origin == REQUEST or (s.origin == PARAMETER and handler and s.function_line == function.line)

    request = tuple(s for s in sources if from_request(s))
    unknown = tuple(s for s in sources if s.origin in (UNKNOWN, PARAMETER) and not from_request(s))
    return _Verdict(request, unknown)


def _callers_decide(verdict: _Verdict) -> dict[str, object] | None:
    """When the only doubtful values are plain parameters of one named function, the callers decide: the analyzer
    looks them up in the repository (`callers_pass_constants`) and drops the finding if every call passes a
    constant, a literal or deploy configuration (`process.env.X`, `env.X`)."""
    if verdict.request or not verdict.unknown:
        return None
    names = {s.function_name for s in verdict.unknown}
    if len(names) != 1 or not all(s.origin == PARAMETER and s.param_index >= 0 and re.fullmatch(r"[\w$]+", s.expr)
                                  for s in verdict.unknown):
        return None
    (name,) = names
    if not name or name == "the function":
        return None
    return {"callers_decide": {"function": name, "params": sorted({s.param_index for s in verdict.unknown})}}


def _listed(sources: tuple[SqlSource, ...]) -> str:
    seen: dict[str, str] = {}
    for s in sources:
        seen.setdefault(s.expr, s.why)
    shown = [f"`{expr}` ({why})" if why and not why.startswith(f"`{expr}") else f"`{expr}`"
             for expr, why in list(seen.items())[:4]]
    return ", ".join(shown) + (f" and {len(seen) - 4} more" if len(seen) > 4 else "")


def _origin_text(verdict: _Verdict) -> str:
    if verdict.request:
        text = f"request input: {_listed(verdict.request)}"
        if verdict.unknown:
            text += f"; and values of unknown origin: {_listed(verdict.unknown)}"
        return text
    return f"values of unknown origin: {_listed(verdict.unknown)}"


def _built_elsewhere(sql: JsValue, verdict: _Verdict) -> str:
    """`$executeRawUnsafe(sql)` with `const sql = this.dbProvider.dropColumn(...)`: the whole text comes from a
    builder we do not see, nothing is concatenated here. Returns the builder call as written, or ""."""
    if verdict.request or not isinstance(sql, JsExpr) or sql.kind not in ("identifier", "call_expression",
                                                                           "member_expression", "await_expression"):
        return ""
    whole = {s.expr for s in verdict.unknown}
    if len(whole) != 1 or not all(s.why.startswith("the result of ") for s in verdict.unknown):
        return ""
    if whole != {re.sub(r"\s+", " ", sql.text)[:80]}:
        return ""
    return verdict.unknown[0].why.removeprefix("the result of ")


def check(inp: QueryInput) -> list[Finding]:
    out: list[Finding] = []
    consts = inp.analysis.const_strings
    offline = is_test_path(inp.path) or is_developer_script(inp.path)
    for call in inp.analysis.calls:
        if call.operation not in UNSAFE_RAW_OPS or not call.arguments:
            continue
        sql = call.arguments[0]
        safe_op = call.operation.replace("Unsafe", "")
        bound = len(call.arguments) > 1
        if _constant(sql, consts):
            params = len(call.arguments) - 1
            message = (f"`{call.target}` with constant SQL{' and ' + str(params) + ' parameter(s)' if params else ''}"
                       f" is safe today, but the Unsafe API makes the next edit that interpolates a value an "
                       f"injection. Prefer the tagged template `{call.client}.{safe_op}`...`` (values become "
                       f"parameters).")
            out.append(call_finding(RULE, call, message, severity=Severity.INFO))
            continue
        if call.sql_from_caller and bound and not call.function.handler:
            continue  # a helper running its caller's SQL with bind values: the callers build the text
        if call.sql_sources is None:
            continue
        verdict = _verdict(call.sql_sources, call.function)
        if verdict.safe or (not verdict.request and offline):
            # placeholders, constants, numbers, quoted or allow-listed identifiers, compiled builder SQL; or a
            # test or script, whose values come from the developer unless they come from a request
            continue
        built = _built_elsewhere(sql, verdict)
        if built:
            message = (f"`{call.target}` runs SQL built by {built}: no value is put into its text here, so check that "
                       f"the builder sends values as parameters (placeholders, or the tagged template "
                       f"`{call.client}.{safe_op}`...``) and quotes identifiers.")
            out.append(call_finding(RULE, call, message, severity=Severity.INFO))
            continue
        if verdict.request:
            risk = "any quote in it rewrites the query (SQL injection)"
        else:
            risk = "if any of them can carry outside text, a quote in it rewrites the query (SQL injection)"
        message = (f"`{call.target}` puts {_origin_text(verdict)} into the SQL text: {risk}. Use the tagged "
                   f"template `{call.client}.{safe_op}`SELECT ... WHERE id = ${{id}}`` so values are sent as "
                   f"parameters (`Prisma.sql` / `Prisma.join` for fragments), or keep `{call.operation}` with "
                   f"placeholders: `{call.client}.{call.operation}('... WHERE id = $1', id)`; identifiers "
                   f"(tables, columns) go through an allow-list or a quoting function.")
        out.append(call_finding(RULE, call, message, severity=verdict.severity, extra=_callers_decide(verdict)))
    for helper in inp.analysis.raw_helpers:
        scope = None if helper.function.is_module else (helper.function.line, helper.function.end_line)
        key = f"{helper.function.name}:{helper.helper}"
        severity: Severity | None = None
        if helper.helper == "Prisma.raw" or (helper.helper == "Prisma.sql()" and helper.sources is not None):
            if _constant(helper.argument, consts) or helper.argument is None:
                continue
            verdict = _verdict(helper.sources or (), helper.function) if helper.sources is not None else None
            if verdict is not None and (verdict.safe or (not verdict.request and offline)):
                continue
            severity = verdict.severity if verdict is not None else None
            text = helper.argument.text[:60] if isinstance(helper.argument, JsExpr) else "value"
            call_text = f"Prisma.raw({text})" if helper.helper == "Prisma.raw" else "Prisma.sql([...])"
            origin = f" {_origin_text(verdict)}:" if verdict is not None else ""
            message = (f"`{call_text}` inserts its argument into the SQL unescaped, here{origin or ' a value'} "
                       f"a value that reaches it from a request is an injection. Pass values as `${{value}}` inside "
                       f"`Prisma.sql`...`` (parameters); for identifiers, map the input to a fixed allow-list first.")
        elif helper.helper == "Prisma.sql()":
            message = ("`Prisma.sql(...)` is a tagged template, not a function: call it as `Prisma.sql`...`` so "
                       "interpolated values become parameters.")
        else:
            op = helper.helper.rstrip("()")
            message = (f"`{op}(`...`)` is called with parentheses around a template string: the values are "
                       f"interpolated into the SQL text before Prisma sees them (injection, and the call fails "
                       f"type checks). Drop the parentheses: `prisma.{op.lstrip('.')}`SELECT ... ${{value}}``.")
        suggestion = None
        if helper.helper.endswith("()") and helper.helper.startswith("$") and helper.line == helper.end_line:
            text = inp.analysis.line_text(helper.line) or ""
            op = helper.helper[:-2]
            if text.count(f"{op}(`") == 1 and text.count("`)") == 1:
                suggestion = Suggestion(helper.line, helper.line, text.replace(f"{op}(`", f"{op}`").replace("`)", "`"))
        out.append(RULE.finding(inp.path, helper.line, message, end_line=helper.end_line, key=key, scope=scope,
                                suggestion=suggestion, severity=severity))
    return out
