"""query/missing-index and query/unindexed-text-search: the change's filters and sorts, compared with the model's
indexes (leftmost-prefix aware), with the exact `@@index([...])` to add."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.findings import Finding, Severity, Surface
from bot.prisma.model import Model
from bot.registry import define
from bot.ts.model import PrismaCall
from bot.ts.values import JsArray, JsExpr, JsLiteral, JsObject, JsValue

from .common import QueryInput, call_finding, function_text, is_script_path, is_test_path
from .schema_view import IndexShape, index_shapes

MISSING_INDEX = define(
    "query/missing-index", Severity.WARNING, Surface.QUERY,
    "A query filters or sorts on columns no index starts with; the exact composite @@index to add",
)
TEXT_SEARCH = define(
    "query/unindexed-text-search", Severity.WARNING, Surface.QUERY,
    "`contains`/`startsWith`/`endsWith` on a text column without a trigram (GIN) index scans the table",
)

_FILTERING_OPS = frozenset({"findMany", "findFirst", "findFirstOrThrow", "count", "groupBy", "updateMany",
                            "deleteMany", "aggregate", "updateManyAndReturn"})
_RANGE = frozenset({"lt", "lte", "gt", "gte"})
_TEXT = frozenset({"contains", "startsWith", "endsWith", "search"})
# Scalar-list and JSON filters PostgreSQL runs as array/jsonb containment (`@>`, `&&`): only a GIN index serves them.
_CONTAINMENT = frozenset({"has", "hasSome", "hasEvery", "array_contains"})
# A Next.js `"use cache"` function: its result is cached (`cacheLife`), so the query runs once per cache period.
_USE_CACHE = re.compile(r"""^\s*["']use cache(?::[\w-]+)?["'];?\s*$""", re.M)


@dataclass
class Conditions:
    equality: list[str] = field(default_factory=list)  # selective equality / `in`
    weak: list[str] = field(default_factory=list)  # equality on null / booleans: rarely selective alone
    range: list[str] = field(default_factory=list)
    text: list[tuple[str, str]] = field(default_factory=list)  # (field, operator)
    contained: list[str] = field(default_factory=list)  # list/JSON fields filtered with has/hasSome/array_contains
    # One Conditions per `OR` branch: PostgreSQL can only avoid the scan when every branch has an index.
    branches: list[Conditions] = field(default_factory=list)
    sort: list[str] = field(default_factory=list)
    unique_lookup: bool = False  # a compound unique input such as { userId_slug: {...} }


def _add(lst: list[str], name: str) -> None:
    if name not in lst:
        lst.append(name)


def conditions(model: Model, where: JsValue | None, order: JsValue | None) -> Conditions:
    out = Conditions()
    _read_where(model, where, out)
    _read_order(model, order, out)
    return out


def _read_where(model: Model, where: JsValue | None, out: Conditions) -> None:
    if not isinstance(where, JsObject):
        return
    for name, value in where.entries.items():
        if name == "AND":
            items = value.items if isinstance(value, JsArray) else [value]
            for item in items:
                _read_where(model, item, out)
            continue
        if name in ("OR", "NOT"):
            # An OR needs an index per branch, so no composite is advised; its text searches still scan.
            if name == "OR":
                for item in value.items if isinstance(value, JsArray) else [value]:
                    branch = Conditions()
                    _read_where(model, item, branch)
                    out.text.extend(branch.text)
                    out.branches.append(branch)
            continue
        f = model.field(name)
        if f is None:
            if "_" in name and isinstance(value, JsObject):
                out.unique_lookup = True
            continue
        if f.is_relation:
            _read_relation_filter(model, f, value, out)
            continue
        if not f.is_scalar and f.kind != "enum":
            continue
        if isinstance(value, JsObject):
            keys = set(value.entries)
            mode = value.entries.get("mode")
            if isinstance(mode, JsLiteral) and mode.value == "insensitive":
                # Prisma compares `lower(x)` / ILIKE: a btree on the plain column serves none of it
                for op in keys & _TEXT:
                    out.text.append((name, op))
                continue
            if keys & {"in", "equals"}:
                eq = value.entries.get("equals")
                (out.weak if _weak(eq) or f.type == "Boolean" else out.equality).append(name)
            if keys & _RANGE:
                _add(out.range, name)
            for op in keys & _TEXT:
                out.text.append((name, op))
            if keys & _CONTAINMENT and (f.list or f.type == "Json"):
                _add(out.contained, name)
        elif _weak(value) or f.type == "Boolean" or f.kind == "enum":
            _add(out.weak, name)
        else:
            _add(out.equality, name)


def _read_relation_filter(model: Model, f, value: JsValue | None, out: Conditions) -> None:  # type: ignore[no-untyped-def]
    """`dataset: { projectId, name }` on the side that holds the foreign key: Prisma runs it as
    `"datasetId" IN (SELECT id FROM "Dataset" WHERE ...)`, an equality lookup on the FK columns."""
    rel = f.relation
    if rel is None or rel.model is not model or f.list or not isinstance(value, JsObject):
        return
    if set(value.entries) & {"some", "every", "none", "isNot"}:
        return
    inner = value.entries.get("is", value)
    if not isinstance(inner, JsObject) or not any(
            not isinstance(v, JsObject) and not _weak(v) for v in inner.entries.values()):
        return  # `user: { deletedAt: null }` narrows nothing
    for fk in rel.fields:
        _add(out.equality, fk)


def _weak(value: JsValue | None) -> bool:
    return isinstance(value, JsLiteral) and (value.value is None or isinstance(value.value, bool))


def _read_order(model: Model, order: JsValue | None, out: Conditions) -> None:
    items = order.items if isinstance(order, JsArray) else [order] if order is not None else []
    for item in items:
        if isinstance(item, JsObject):
            for name in item.entries:
                f = model.field(name)
                if f is not None and f.is_scalar:
                    _add(out.sort, name)


def served(columns: list[str], indexes: list[tuple[str, ...]]) -> bool:
    """Some index's leading column is one of `columns`: PostgreSQL can use it instead of scanning the table."""
    return any(idx and idx[0] in columns for idx in indexes)


def proposed_index(c: Conditions) -> list[str]:
    cols: list[str] = []
    for name in [*c.equality, *c.weak]:
        _add(cols, name)
    for name in c.range[:1]:
        _add(cols, name)
    if not c.range:
        for name in c.sort:
            _add(cols, name)
    return cols


@dataclass(frozen=True)
class Advice:
    """One index to add, for one call: the columns, the access method and how serious the gap is."""

    columns: tuple[str, ...]
    method: str = "btree"
    severity: Severity | None = None  # None: the rule's (warning)
    kind: str = "missing"  # "missing" | "gin" | "or-branch" | "composite"


def _served(c: Conditions, shapes: list[IndexShape]) -> bool:
    """Some index serves one of the selective conditions, so PostgreSQL need not read the whole table."""
    return any(s.serves_equality(col) for s in shapes for col in c.equality) or \
        any(s.serves_range(col) for s in shapes for col in c.range) or \
        any(s.serves_containment(col) for s in shapes for col in c.contained)


def _selective(c: Conditions) -> bool:
    return bool(c.equality or c.range or c.contained)


def _cached(inp: QueryInput, call: PrismaCall) -> bool:
    """The call sits in a Next.js `"use cache"` function: it runs once per cache period, not per request."""
    return not call.function.is_module and bool(_USE_CACHE.search(function_text(inp.analysis, call)))


def advise(call: PrismaCall, model: Model) -> tuple[Conditions, Advice] | None:
    """The index this call lacks, if any (pure: the call's arguments against the model's indexes)."""
    c = conditions(model, call.arg("where"), call.arg("orderBy"))
    if c.unique_lookup:
        return None
    shapes = index_shapes(model)
    if c.equality or c.range:
        if not _served(c, shapes):
            cols = proposed_index(c)
            return (c, Advice(tuple(cols))) if cols else None
        composite = _composite(call, c, shapes)
        return (c, composite) if composite is not None else None
    if c.contained:
        if _served(c, shapes):
            return None
        return c, Advice((c.contained[0],), method="gin", kind="gin")
    if c.branches and not c.weak:
        for branch in c.branches:
            if branch.unique_lookup or not _selective(branch) or _served(branch, shapes):
                continue
            cols = proposed_index(branch) if (branch.equality or branch.range) else branch.contained[:1]
            method = "btree" if (branch.equality or branch.range) else "gin"
            return (branch, Advice(tuple(cols), method=method, kind="or-branch")) if cols else None
        return None
    if c.sort and call.has_arg("take") and not c.weak and not _opaque_where(call):
        if any(s.method == "btree" and s.columns[:1] == (c.sort[0],) for s in shapes):
            return None
        cols = proposed_index(c)
        return (c, Advice(tuple(cols))) if cols else None
    return None


def _opaque_where(call: PrismaCall) -> bool:
    """A `where` this analysis cannot read (`isAuthor ? { authorId, ... } : { authorId, ...visible }`): its filter may
    well be what an index serves (RecipeSage's `(authorId, createdAt DESC)`), so a sort alone proves nothing. A
    conditional filter with an empty branch (`categoryId ? { categoryId } : undefined`) does list the whole table
    sorted, on that branch."""
    if call.has_arg("where") is False:
        return False
    where = call.arg("where")
    if isinstance(where, JsObject):
        return False
    return not (isinstance(where, JsExpr) and _EMPTY_BRANCH.search(where.text))


_EMPTY_BRANCH = re.compile(r"[?:]\s*(?:undefined|null|\{\s*\})\s*(?::|$)")


def _composite(call: PrismaCall, c: Conditions, shapes: list[IndexShape]) -> Advice | None:
    """A listing that pins several equality columns, each with only its own single-column index, and sorts by
    another: PostgreSQL uses one index (or ANDs two bitmaps), reads every match and sorts before the LIMIT."""
    if call.operation != "findMany" or len(c.equality) < 2 or c.range:
        return None
    sort = [s for s in c.sort if s not in c.equality]
    if not sort:
        return None
    btrees = [s.columns for s in shapes if s.method == "btree"]
    if any(set(cols[:len(c.equality)]) == set(c.equality) for cols in btrees):
        return None  # a composite over the equality columns already exists
    if not all(any(cols[:1] == (col,) for cols in btrees) for col in c.equality):
        return None  # a column with no index at all is the plain missing-index case, reported elsewhere
    return Advice((*c.equality, sort[0]), severity=Severity.INFO, kind="composite")


def check_missing_index(inp: QueryInput) -> list[Finding]:
    if inp.schema is None:
        return []
    # One finding per index to add: the first call that needs it, the others listed as its call sites.
    grouped: dict[tuple[str, tuple[str, ...], str], tuple[Finding, list[PrismaCall]]] = {}
    if is_test_path(inp.path):
        return []  # a test's lookup runs against a test database; index advice there helps nobody
    offline = is_script_path(inp.path)
    for call in inp.analysis.calls:
        if call.operation not in _FILTERING_OPS or call.args is None or call.discarded:
            continue  # (a dropped promise never runs: query/unawaited-query)
        model = inp.schema.model(call.accessor)
        if model is None or model.kind != "model" or _cached(inp, call):
            continue  # (a `view` cannot take an index: its cost is in the query that defines it)
        where = call.arg("where")
        if isinstance(where, JsObject) and any(sp.kind in ("call_expression", "await_expression")
                                               for sp in where.spreads):
            # `{ ...scopeOf(id), expires }`: a helper builds part of the filter, and may hold the indexed key we
            # cannot see (a spread constant or `...(favorite ? { favorite } : {})` adds flags, not the lookup key)
            continue
        advice = advise(call, model)
        if advice is None:
            continue
        c, idx = advice
        key = (model.name, idx.columns, idx.method)
        severity = idx.severity or MISSING_INDEX.severity
        if offline or call.function.handler == "job":
            # A job or script scans once per run, not once per request: advice, not a production risk.
            severity = Severity.INFO
        if key in grouped:
            first, sites = grouped[key]
            if severity.rank > first.severity.rank:  # a request path needs the same index: that decides
                grouped[key] = (first.with_(severity=severity), sites)
            sites.append(call)
            continue
        finding = call_finding(MISSING_INDEX, call, _message(call, model, c, idx), severity=severity,
                               key_suffix=_index_text(idx),
                               extra={"index": {"model": model.name, "columns": list(idx.columns),
                                                "method": idx.method, "schema_path": model.path,
                                                "equality": _equality_lead(idx.columns, c)}})
        grouped[key] = (finding, [])
    out: list[Finding] = []
    for finding, others in grouped.values():
        sites = [{"path": o.path, "line": o.line, "end_line": o.end_line, "call": o.target} for o in others]
        out.append(_with_sites(finding, sites))
    return out


_SERVES = " The same index serves "


def _with_sites(finding: Finding, sites: list[dict[str, Any]]) -> Finding:
    if not sites:
        return finding
    every = [*finding.extra.get("call_sites", []), *sites]
    shown = ", ".join(f"{s['path']}:{s['line']}" if s.get("path", finding.path) != finding.path
                      else f"line {s['line']}" for s in every[:5]) + (" ..." if len(every) > 5 else "")
    base = finding.message.split(_SERVES, 1)[0]
    return finding.with_(message=f"{base}{_SERVES}{shown}.", extra={**finding.extra, "call_sites": every})


def merge_across_files(findings: list[Finding]) -> list[Finding]:
    """One finding per index to add across the change: the first file's finding lists the other files' calls."""
    first: dict[tuple[str, tuple[str, ...], str], int] = {}
    extra_sites: dict[int, list[dict[str, Any]]] = {}
    keep: list[Finding | None] = []
    for f in findings:
        index = f.extra.get("index") if f.rule == MISSING_INDEX.id else None
        if not isinstance(index, dict):
            keep.append(f)
            continue
        key = (str(index.get("model")), tuple(index.get("columns") or ()), str(index.get("method")))
        if key not in first:
            first[key] = len(keep)
            keep.append(f)
            continue
        kept = keep[first[key]]
        if kept is not None and f.severity.rank > kept.severity.rank:  # a request path elsewhere decides
            keep[first[key]] = kept.with_(severity=f.severity)
        sites = [{"path": f.path, "line": f.line, "end_line": f.last_line}, *f.extra.get("call_sites", [])]
        extra_sites.setdefault(first[key], []).extend(sites)
    for at, sites in extra_sites.items():
        kept = keep[at]
        if kept is not None:
            keep[at] = _with_sites(kept, sites)
    return [f for f in keep if f is not None]


FK_MISSING_INDEX = "prisma/fk-missing-index"


def _equality_lead(columns: tuple[str, ...], c: Conditions) -> int:
    """How many leading columns of an advised index are matched by equality (their order is free)."""
    equal = {*c.equality, *c.weak}
    n = 0
    while n < len(columns) and columns[n] in equal:
        n += 1
    return n


@dataclass
class _Need:
    """One advised btree index, as merge_index_advice reshapes it."""

    at: int  # the finding's position
    owner: tuple[str, str, str]  # schema path, model, pre-existing
    columns: tuple[str, ...]
    equality: int  # leading columns matched by equality, in any order

    def serves(self, other: tuple[str, ...], other_equality: int) -> tuple[str, ...] | None:
        """This index reshaped (equality columns reordered) so that it serves `other` too, or None."""
        if self.columns[:len(other)] == other:
            return self.columns
        lead = set(self.columns[:self.equality])
        if other_equality == len(other) and set(other) <= lead:
            return (*other, *(c for c in self.columns[:self.equality] if c not in other),
                    *self.columns[self.equality:])
        return None


def merge_index_advice(findings: list[Finding]) -> list[Finding]:
    """One index per need of a model, leftmost-prefix aware (pure; apply to findings of one kind, new or old).

    An advised `@@index([a])` is served by an advised `@@index([a, b])` of the same model, and `@@index([a])` by
    `@@index([b, a])` when both of its columns are matched by equality (their order is then free: the index becomes
    `@@index([a, b])`): one finding, listing both calls. A foreign key without an index (`prisma/fk-missing-index`) is
    served the same way by an advised index: the schema finding is folded into the query finding, which says that its
    index covers the foreign key too. Two findings asking for two indexes where one would do would make the author
    add both.
    """
    needs: list[_Need] = []
    for i, f in enumerate(findings):
        index = f.extra.get("index") if f.rule == MISSING_INDEX.id else None
        if isinstance(index, dict) and index.get("method") == "btree" and index.get("columns"):
            owner = (str(index.get("schema_path") or ""), str(index.get("model")), str(f.preexisting))
            needs.append(_Need(i, owner, tuple(index["columns"]), int(index.get("equality") or 0)))
    if not needs:
        return findings
    out: dict[int, Finding] = dict(enumerate(findings))
    dropped: set[int] = set()
    longest_first = sorted(needs, key=lambda n: -len(n.columns))
    for pos, need in enumerate(longest_first):
        if need.at in dropped:
            continue
        for other in longest_first[pos + 1:]:
            if other.at in dropped or other.owner != need.owner or len(other.columns) >= len(need.columns):
                continue
            reshaped = need.serves(other.columns, other.equality)
            if reshaped is None:
                continue
            served = out[other.at]
            sites = [{"path": served.path, "line": served.line, "end_line": served.last_line},
                     *served.extra.get("call_sites", [])]
            out[need.at] = _with_sites(_reshaped(_at_least(out[need.at], served.severity), need, reshaped), sites)
            dropped.add(other.at)
    for k, fk in enumerate(findings):
        fields = fk.extra.get("fields") if fk.rule == FK_MISSING_INDEX else None
        if not isinstance(fields, list) or not fields:
            continue
        owner = (fk.path, str(fk.extra.get("model")), str(fk.preexisting))
        for need in longest_first:
            if need.at in dropped or need.owner != owner:
                continue
            # the foreign key check looks up all of its columns at once: any order of them serves it
            reshaped = need.serves(tuple(fields), len(fields)) or (
                need.columns if set(need.columns[:len(fields)]) == set(fields) else None)
            if reshaped is not None:
                out[need.at] = _covering_fk(_reshaped(out[need.at], need, reshaped), fk, reshaped)
                dropped.add(k)
                break
    return [f for i, f in out.items() if i not in dropped]


def _reshaped(finding: Finding, need: _Need, columns: tuple[str, ...]) -> Finding:
    """The finding advising `columns` instead of `need.columns` (equality columns reordered to serve another need)."""
    if columns == need.columns:
        return finding
    old, new = f"@@index([{', '.join(need.columns)}])", f"@@index([{', '.join(columns)}])"
    index = {**finding.extra["index"], "columns": list(columns)}
    need.columns = columns
    return finding.with_(message=finding.message.replace(old, new), extra={**finding.extra, "index": index})


def _at_least(finding: Finding, severity: Severity) -> Finding:
    return finding.with_(severity=severity) if severity.rank > finding.severity.rank else finding


def _covering_fk(finding: Finding, fk: Finding, cols: tuple[str, ...]) -> Finding:
    fields = [str(c) for c in fk.extra.get("fields", [])]
    names = ", ".join(f"`{c}`" for c in fields)
    model, relation, target = fk.extra.get("model"), fk.extra.get("relation"), fk.extra.get("target")
    also = (f" `@@index([{', '.join(cols)}])` also indexes the foreign key {names} of {model}.{relation} → {target} "
            f"({fk.path}:{fk.line}), so deleting or updating a {target} row stops scanning {model} too: one index "
            f"for both.")
    covers = [*finding.extra.get("covers", []),
              {"rule": fk.rule, "path": fk.path, "line": fk.line, "key": fk.key}]
    return _at_least(finding, fk.severity).with_(message=finding.message.rstrip() + also,
                                                  extra={**finding.extra, "covers": covers})


def _index_text(idx: Advice) -> str:
    cols = ", ".join(idx.columns)
    return f"@@index([{cols}], type: Gin)" if idx.method == "gin" else f"@@index([{cols}])"


def _message(call: PrismaCall, model: Model, c: Conditions, idx: Advice) -> str:
    index = _index_text(idx)
    where = f"{model.path}:{model.line}" if model.path else f"model {model.name}"
    add = f"Add `{index}` to model `{model.name}` ({where})"
    if idx.kind == "composite":
        eq = ", ".join(f"`{n}`" for n in c.equality)
        return (f"`{call.target}` filters on {eq} and sorts by `{idx.columns[-1]}`: each column has only its own "
                f"index, so PostgreSQL picks one (or ANDs two bitmaps), reads every matching row and sorts them "
                f"before returning a page. {add}: it returns the page already in order and reads only its rows. "
                f"Create it with `CREATE INDEX CONCURRENTLY` on a large table.")
    if idx.kind == "gin":
        ops = ", ".join(f"`{n}`" for n in c.contained)
        return (f"`{call.target}` filters {ops} with `has`/`hasSome`/`hasEvery`/`array_contains` (array or jsonb "
                f"containment), which only a GIN index serves: PostgreSQL reads the whole table on every call. "
                f"{add}; create it with `CREATE INDEX CONCURRENTLY` on a large table.")
    parts = []
    if c.equality or c.weak:
        parts.append("filters on " + ", ".join(f"`{n}`" for n in [*c.equality, *c.weak]))
    if c.range:
        parts.append("ranges over " + ", ".join(f"`{n}`" for n in c.range))
    if c.sort:
        parts.append("sorts by " + ", ".join(f"`{n}`" for n in c.sort))
    what = " and ".join(parts)
    several = "these columns" if len(idx.columns) > 1 else "this column"
    if idx.kind == "or-branch":
        return (f"`{call.target}` has an `OR` branch that {what}, but no index of `{model.name}` starts with "
                f"{several}: an OR can use indexes only when every branch has one, so PostgreSQL reads the whole "
                f"table on every call. {add}; PostgreSQL then combines the branches' indexes (BitmapOr). Create it "
                f"with `CREATE INDEX CONCURRENTLY` on a large table.")
    return (f"`{call.target}` {what}, but no index of `{model.name}` starts with {several}: PostgreSQL reads the "
            f"whole table {'and sorts it ' if c.sort else ''}on every call. {add}; equality columns come first, "
            f"then the range or sort column. Create it with `CREATE INDEX CONCURRENTLY` on a large table.")


def _has_trigram(model: Model, name: str) -> bool:
    for idx in model.all_keys:
        if idx.type and idx.type.lower() in ("gin", "gist") and idx.columns and idx.columns[0] == name:
            return True
    return any(name in idx.columns for idx in model.fulltext)


def check_text_search(inp: QueryInput) -> list[Finding]:
    if inp.schema is None or is_test_path(inp.path):
        return []
    out: list[Finding] = []
    for call in inp.analysis.calls:
        if call.operation not in _FILTERING_OPS or call.args is None:
            continue
        model = inp.schema.model(call.accessor)
        if model is None:
            continue
        c = conditions(model, call.arg("where"), None)
        if not c.text or c.equality:
            # A selective equality filter narrows the rows first and the text match runs on few of them; when no
            # index serves that filter, query/missing-index advises the one that does (one comment, the right fix).
            continue
        searched: dict[str, str] = {}
        for name, op in c.text:
            f = model.field(name)
            if name not in searched and f is not None and f.type == "String" and not _has_trigram(model, name):
                searched[name] = op
        if not searched:
            continue
        uses = ", ".join(f"`{op}` on `{model.name}.{name}` (SQL `LIKE {_LIKE[op]}`)" for name, op in searched.items())
        indexes = " and ".join(f'`@@index([{name}(ops: raw("gin_trgm_ops"))], type: Gin)`' for name in searched)
        message = (f"`{call.target}` uses {uses}, which a btree index cannot serve: every call scans the table. "
                   f"Add a trigram index: {indexes} (needs `CREATE EXTENSION pg_trgm` and `previewFeatures = "
                   f"[\"postgresqlExtensions\"]` or a hand-written migration), or move search to a full-text column.")
        out.append(call_finding(TEXT_SEARCH, call, message, key_suffix=",".join(searched)))
    return out


_LIKE = {"contains": "'%…%'", "startsWith": "'…%'", "endsWith": "'%…'", "search": "full-text"}


def check(inp: QueryInput) -> list[Finding]:
    return [*check_missing_index(inp), *check_text_search(inp)]
