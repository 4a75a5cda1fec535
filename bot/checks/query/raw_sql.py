"""query/raw-sql-injection: SQL text built from values in $queryRawUnsafe / $executeRawUnsafe / Prisma.raw."""

from __future__ import annotations

import re

from bot.findings import Finding, Severity, Suggestion, Surface
from bot.registry import define
from bot.ts.model import UNSAFE_RAW_OPS
from bot.ts.values import JsExpr, JsLiteral, JsValue

from .common import QueryInput, call_finding, function_text

RULE = define(
    "query/raw-sql-injection", Severity.ERROR, Surface.QUERY,
    "Raw SQL built from non-constant text ($queryRawUnsafe with interpolation, Prisma.raw(variable))",
    aliases=("eslint-plugin-prisma:no-unsafe", "prisma/no-unsafe"),
)


_GLOBALS = frozenset({"Number", "String", "Boolean", "JSON", "Math", "Date", "Object", "Array", "parseInt",
                      "parseFloat", "encodeURIComponent", "BigInt"})


def _constant(value: JsValue | None, const_strings: set[str]) -> bool:
    if isinstance(value, JsLiteral):
        return True
    if isinstance(value, JsExpr) and value.kind in ("template_string", "binary_expression") and value.idents:
        # `${TABLE}` where TABLE is a module-level string constant is still constant SQL
        return value.idents <= const_strings
    return False


_REQUEST_ACCESSOR = re.compile(r"header|cookie|param|query|body|request|input|search|form|session|user", re.I)


def _config_sources(inp: QueryInput, call, names: list[str]) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Interpolated names bound in the function to configuration, not input: `const schema = getSchema()` (a call
    with no arguments) or `process.env.X`. Every name must be such a binding, else the map is empty."""
    if not names:
        return {}
    body = function_text(inp.analysis, call)
    out: dict[str, str] = {}
    for name in names:
        m = re.search(rf"\b(?:const|let|var)\s+{re.escape(name)}\s*(?::[^=\n]+)?=\s*"
                      rf"(process\.env\.\w+|[A-Za-z_$][\w$.]*\(\s*\))\s*(?:\?\?\s*(?:'[^']*'|\"[^\"]*\"))?\s*[;\n]",
                      body)
        if m is None or len(re.findall(rf"\b{re.escape(name)}\s*=[^=>]", body)) != 1:
            return {}  # not bound that way, or reassigned later
        if _REQUEST_ACCESSOR.search(m.group(1)):
            return {}  # `headers()`, `getQuery()`, `useSearchParams()`: zero-argument calls that read the request
        out[name] = m.group(1)
    return out


_LITERALS_ONLY = re.compile(r"""("[^"\n]*"|'[^'\n]*'|`[^`$\n]*`|-?\d+(\.\d+)?|true|false|null|[\s,\[\]])*""")


def _constant_array(text: str, name: str) -> bool:
    """`const NAME = [["Exam", "scope", "TEXT"], ...]` (module or function level) holding literals only."""
    m = re.search(rf"\bconst\s+{re.escape(name)}\s*(?::[^=\n]+)?=\s*\[", text)
    if m is None:
        return False
    depth, i = 0, m.end() - 1
    while i < len(text):
        if text[i] == "[":
            depth += 1
        elif text[i] == "]":
            depth -= 1
            if depth == 0:
                break
        i += 1
    body = text[m.end() - 1:i + 1]
    return bool(_LITERALS_ONLY.fullmatch(body))


def _vetted(inp: QueryInput, call, names: list[str]) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Interpolated names that cannot carry outside text: loop variables over a constant list of literals
    (`for (const [table, column] of REQUIRED)`), or values checked against an allow-list pattern before the query
    (`/^[a-zA-Z0-9_]+$/.test(name)`, `ALLOWED.includes(name)`)."""
    body = function_text(inp.analysis, call)
    before = "\n".join(inp.analysis.lines[max(call.function.line - 1, 0):call.line - 1]) \
        if not call.function.is_module else "\n".join(inp.analysis.lines[:call.line - 1])
    whole = "\n".join(inp.analysis.lines)
    out: dict[str, str] = {}
    for name in names:
        n = re.escape(name)
        loop = re.search(rf"for\s*\(\s*(?:const|let|var)\s+([^)]*?\b{n}\b[^)]*?)\s+of\s+([A-Za-z_$][\w$]*)\s*\)", body)
        if loop is not None and (_constant_array(body, loop.group(2)) or _constant_array(whole, loop.group(2))):
            out[name] = f"comes from the constant list `{loop.group(2)}`"
        elif re.search(rf"/\^[^/\n]*\$/[a-z]*\.test\(\s*{n}\s*\)|\b{n}\.match\(\s*/\^[^/\n]*\$/", before) or \
                re.search(rf"!\s*[\w$.]+\.(includes|has)\(\s*{n}\s*\)\s*\)?[^;\n]{{0,40}}(throw|return)|"
                          rf"\b(assert|invariant|guard)\w*\(\s*[\w$.]+\.(includes|has)\(\s*{n}\s*\)", before):
            out[name] = "is checked against an allow-list first"
    return out


def _parameterised(sql: str, values: list[str]) -> str:
    return f"`{sql}`" + (", " + ", ".join(values) if values else "")


def check(inp: QueryInput) -> list[Finding]:
    out: list[Finding] = []
    consts = inp.analysis.const_strings
    for call in inp.analysis.calls:
        if call.operation not in UNSAFE_RAW_OPS or not call.arguments:
            continue
        sql = call.arguments[0]
        safe_op = call.operation.replace("Unsafe", "")
        if _constant(sql, consts):
            params = len(call.arguments) - 1
            message = (f"`{call.target}` with constant SQL{' and ' + str(params) + ' parameter(s)' if params else ''}"
                       f" is safe today, but the Unsafe API makes the next edit that interpolates a value an "
                       f"injection. Prefer the tagged template `{call.client}.{safe_op}`...`` (values become "
                       f"parameters).")
            out.append(call_finding(RULE, call, message, severity=Severity.INFO))
            continue
        how = "an interpolated template string" if isinstance(sql, JsExpr) and sql.kind == "template_string" \
            else "string concatenation" if isinstance(sql, JsExpr) and sql.interpolated \
            else f"`{sql.text[:60]}`" if isinstance(sql, JsExpr) else "a non-constant value"
        values = sorted(sql.idents - consts - _GLOBALS) if isinstance(sql, JsExpr) else []
        shown = ", ".join(f"`{v}`" for v in values[:4])
        message = (f"`{call.target}` runs SQL built from {how}{' with ' + shown if shown else ''}: any quote in "
                   f"those values rewrites the query (SQL injection). Use the tagged template "
                   f"`{call.client}.{safe_op}`SELECT ... WHERE id = ${{id}}`` so values are sent as parameters "
                   f"(`Prisma.sql` / `Prisma.join` for fragments), or keep `{call.operation}` with placeholders: "
                   f"`{call.client}.{call.operation}('... WHERE id = $1', id)`.")
        # Interpolation we can see is an error; SQL that arrives in a variable or from a helper may use placeholders
        # correctly, so it is a warning to check.
        visible = isinstance(sql, JsExpr) and sql.interpolated
        vetted = _vetted(inp, call, values) if visible else {}
        if vetted and len(vetted) == len(values):
            how_safe = "; ".join(f"`{n}` {why}" for n, why in vetted.items())
            message = (f"`{call.target}` interpolates values into the SQL text, but {how_safe}, so no outside text "
                       f"reaches it. Keep the check next to the query; for values (not identifiers) prefer the tagged "
                       f"template `{call.client}.{safe_op}`...``.")
            out.append(call_finding(RULE, call, message, severity=Severity.INFO))
            continue
        config = _config_sources(inp, call, values) if visible else {}
        if config:
            # `SET search_path TO "${schema}"` with the schema from the deployment's settings: identifiers cannot be
            # bound as parameters, and no request value reaches the text, so this is a hardening note, not an error.
            origin = ", ".join(f"`{n}` = `{src}`" for n, src in config.items())
            message = (f"`{call.target}` interpolates {origin} into the SQL text. That is configuration, not request "
                       f"input, so it is not injectable today; keep it that way by checking the value against an "
                       f"allow-list (e.g. `/^[A-Za-z_][A-Za-z0-9_]*$/`) before it reaches SQL, since identifiers "
                       f"cannot be sent as parameters.")
            out.append(call_finding(RULE, call, message, severity=Severity.WARNING))
            continue
        out.append(call_finding(RULE, call, message, severity=None if visible else Severity.WARNING))
    for helper in inp.analysis.raw_helpers:
        scope = None if helper.function.is_module else (helper.function.line, helper.function.end_line)
        key = f"{helper.function.name}:{helper.helper}"
        if helper.helper == "Prisma.raw":
            if _constant(helper.argument, consts) or helper.argument is None:
                continue
            text = helper.argument.text[:60] if isinstance(helper.argument, JsExpr) else "value"
            message = (f"`Prisma.raw({text})` inserts its argument into the SQL unescaped: a value that reaches "
                       f"it from a request is an injection. Pass values as `${{value}}` inside `Prisma.sql`...`` "
                       f"(parameters); for identifiers, map the input to a fixed allow-list first.")
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
                                suggestion=suggestion))
    return out
