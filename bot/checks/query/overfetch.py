"""Over-fetching, judged against the schema: wide or large rows without `select`, sensitive fields pulled in by
`include`, and deeply nested includes."""

from __future__ import annotations

import re

from bot.findings import Finding, Severity, Surface
from bot.prisma.model import Model
from bot.registry import define
from bot.ts.model import PrismaCall
from bot.ts.values import JsExpr, JsLiteral, JsObject

from .common import QueryInput, call_finding, function_text, int_option, is_test_path
from .leaks import Leak, code_between, leaks_of
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
        elif len(scalars) > max_fields:
            detail = f"{len(scalars)} columns"
        else:
            continue
        keep = [n for n in scalars if n not in large][:4]
        select = ", ".join(f"{n}: true" for n in keep)
        message = (f"`{call.target}` has no `select`, so it reads every column of `{model.name}`, including "
                   f"{detail}, for each row. Select what the caller uses: `select: {{ {select}, ... }}` "
                   f"(or `omit: {{ {large[0] if large else scalars[-1]}: true }}`).")
        # Advice, always: whether the column is large in practice, and whether the caller needs it after all, is
        # what the code cannot show (of seven posted warnings hand-checked on real PRs, one was worth a comment).
        out.append(call_finding(OVERFETCH, call, message))
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


# Operations whose result is the row(s) (count, aggregate and the *Many writes return numbers).
_ROW_OPS = frozenset({"findMany", "findFirst", "findFirstOrThrow", "findUnique", "findUniqueOrThrow", "create",
                      "update", "upsert", "delete", "createManyAndReturn", "updateManyAndReturn"})
_SINKS = {"response": "the response", "log": "a log line", "client-component": "a component's props"}


def _omitted(call: PrismaCall) -> set[str]:
    omit = call.args.obj("omit") if call.args is not None else None
    if omit is None:
        return set()
    return {k for k, v in omit.entries.items() if isinstance(v, JsLiteral) and v.value is True}


def _secrets(inp: QueryInput, call: PrismaCall, model: Model) -> tuple[list[str], list[tuple[str, Model, list[str]]]]:
    """The model's own secret columns the call returns, and (relation, model, secrets) of `include: { rel: true }`."""
    assert inp.schema is not None
    own: list[str] = []
    if call.has_arg("select") is False and not (call.args is not None and call.args.is_open):
        omitted = _omitted(call) | _matched(call)
        own = [s for s in sensitive_fields(model) if s not in omitted]
    included: list[tuple[str, Model, list[str]]] = []
    include = call.args.obj("include") if call.args is not None else None
    if include is not None:
        for rel_path, target, value, _depth in _includes(inp.schema, model, include, "", 1):
            secret = sensitive_fields(target)
            if secret and isinstance(value, JsLiteral) and value.value is True:
                included.append((rel_path, target, secret))
    return own, included


def _matched(call: PrismaCall) -> set[str]:
    """Secret columns whose value the caller knows already: the `where` requires them to equal a value the code
    holds (`where: { id, sharePassword: input.pw }`, `{ token }`, `{ sharePassword: "" }`), or the write sets them
    to a literal (`data: { sharePassword: "" }`): the row carries back nothing new."""
    out: set[str] = set()
    where = call.args.obj("where") if call.args is not None else None
    for name, value in (where.entries.items() if where is not None else ()):
        if isinstance(value, JsObject):
            value = value.entries.get("equals")  # type: ignore[assignment]
        if isinstance(value, (JsExpr, JsLiteral)):
            out.add(name)  # (a literal too: `where: { sharePassword: "" }` lists rows whose value is known)
    # a write that sets the secret to a literal (`data: { sharePassword: "" }`, cancelling a share) returns that
    data = call.args.obj("data") if call.args is not None else None
    for name, value in (data.entries.items() if data is not None else ()):
        if isinstance(value, JsLiteral):
            out.add(name)
    return out


# The caller's own identity in a `where`: the session's user, the request's user, tRPC's ctx.
_CALLER = re.compile(r"\b(?:ctx|context|session|currentUser|authUser|req\.user|request\.user|me)\b|\buser\.id\b")
_OWNER_KEY = re.compile(r"^(?:user|account|owner|author|creator|createdBy)(?:Id|_id)?$", re.I)
# Models whose secrets are the login itself: never returned, not even to their owner.
_IDENTITY = re.compile(r"user|account|session|auth|identity|credential|member|key|token", re.I)
_HASHED = re.compile(r"hash|salt|digest", re.I)


def _compared_after(inp: QueryInput, call: PrismaCall, secret: str) -> bool:
    """The code after the call checks the row's secret against a value (`if (password !== note.sharePassword)
    throw ...`): the row goes out only to a caller who sent that very value (blinko's public note detail)."""
    last = len(inp.analysis.lines) if call.function.is_module else call.function.end_line
    after = code_between(inp.analysis, call.end_line + 1, last)
    name = re.escape(secret)
    return re.search(rf"\.{name}\b\s*[!=]==?(?!=)|[!=]==?\s*[\w$.?]*\.{name}\b", after) is not None


def _owners_content(call: PrismaCall, model: Model) -> bool:
    """The `where` keeps the caller's own rows of a content model (`note.findMany({ where: { accountId:
    ctx.session.user.id } })`): a secret the owner set on their content (a share password) goes back to that owner,
    who may see it. Login secrets (a User's password hash, an API key) and hashes stay reported."""
    if _IDENTITY.search(model.name):
        return False
    where = call.args.obj("where") if call.args is not None else None
    if where is None:
        return False
    for name, value in where.entries.items():
        if isinstance(value, JsObject) and name in ("user", "account", "owner", "author", "creator"):
            value = value.entries.get("id")  # type: ignore[assignment]
        if _OWNER_KEY.match(name) and isinstance(value, JsExpr) and _CALLER.search(value.text):
            return True
    return False


def _through_controller(inp: QueryInput, call: PrismaCall) -> Leak | None:
    """A NestJS service method returning the row, and a controller next to it returning that method's result."""
    fn = call.function
    if fn.handler != "nest-service" or not fn.class_name or not call.returned:
        return None
    method = fn.name.rsplit(".", 1)[-1]
    callers = inp.returning_callers(fn.class_name, method)
    if not callers:
        return None
    first = callers[0]
    return Leak(call.line, "response", f"{first.text.strip()}...) in {first.path}:{first.line}")


def check_sensitive(inp: QueryInput) -> list[Finding]:
    """A row with a secret column reaches a response, a log or a component's props. Rows a job reads, rows loaded
    to be deleted or checked, and rows mapped to a DTO first never leave the server, so they are not reported."""
    if inp.schema is None or is_test_path(inp.path):
        return []
    out: list[Finding] = []
    for call in inp.analysis.calls:
        if call.operation not in _ROW_OPS:
            continue
        model = inp.schema.model(call.accessor)
        if model is None:
            continue
        own, included = _secrets(inp, call, model)
        if own:
            own = [s for s in own if not _compared_after(inp, call, s)]
        if (own or included) and _owners_content(call, model):
            # The owner's rows, and the rows hanging off them (a note's attachments), are the owner's content.
            own = [s for s in own if _HASHED.search(s)]
            included = [(rel, target, kept) for rel, target, secret in included
                        if (kept := [s for s in secret if _HASHED.search(s) or _IDENTITY.search(target.name)])]
        if not own and not included:
            continue
        names = own + [f"{rel}.{s}" for rel, _t, secret in included for s in secret]
        leak, left = leaks_of(inp.analysis, call, names)
        if leak is None:
            leak = _through_controller(inp, call)
        if leak is None:
            continue
        own_left = [s for s in own if s in left]
        parts = []
        if own_left:
            parts.append(f"every `{model.name}` column, including {', '.join(f'`{s}`' for s in own_left)}")
        for rel, target, secret in included:
            parts.append(f"`include: {{ {rel.rsplit('.', 1)[-1]}: true }}` adds every `{target.name}` column, "
                         f"including {', '.join(f'`{s}`' for s in secret)}")
        if not parts:
            continue
        fixes = []
        if own_left:
            fixes.append(f"`omit: {{ {', '.join(f'{s}: true' for s in own_left)} }}` (or a `select` of the public "
                         "fields)")
        for rel, target, secret in included:
            safe = ", ".join([f"{f.name}: true" for f in target.scalar_fields if f.name not in secret][:4])
            fixes.append(f"`{rel.rsplit('.', 1)[-1]}: {{ select: {{ {safe} }} }}`")
        where = _SINKS[leak.sink]
        message = (f"`{call.target}` returns {'; '.join(parts)}, and the result reaches {where} at line "
                   f"{leak.line} (`{leak.text}`): the secret leaves the server. Return only what the client needs: "
                   f"{' and '.join(fixes)}.")
        severity = Severity.INFO if leak.sink == "client-component" else None
        out.append(call_finding(SENSITIVE, call, message, severity=severity,
                                key_suffix=",".join(sorted(rel for rel, _t, _s in included)) or "own",
                                extra={"sink": {"kind": leak.sink, "line": leak.line}}))
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
