"""query/missing-index and query/unindexed-text-search: the change's filters and sorts, compared with the model's
indexes (leftmost-prefix aware), with the exact `@@index([...])` to add."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.findings import Finding, Severity, Surface
from bot.prisma.model import Model
from bot.registry import define
from bot.ts.model import PrismaCall
from bot.ts.values import JsArray, JsLiteral, JsObject, JsValue

from .common import QueryInput, call_finding
from .schema_view import index_column_lists

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


@dataclass
class Conditions:
    equality: list[str] = field(default_factory=list)  # selective equality / `in`
    weak: list[str] = field(default_factory=list)  # equality on null / booleans: rarely selective alone
    range: list[str] = field(default_factory=list)
    text: list[tuple[str, str]] = field(default_factory=list)  # (field, operator)
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
                branch = Conditions()
                for item in value.items if isinstance(value, JsArray) else [value]:
                    _read_where(model, item, branch)
                out.text.extend(branch.text)
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
            if keys & {"in", "equals"}:
                eq = value.entries.get("equals")
                (out.weak if _weak(eq) or f.type == "Boolean" else out.equality).append(name)
            if keys & _RANGE:
                _add(out.range, name)
            for op in keys & _TEXT:
                out.text.append((name, op))
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


def check_missing_index(inp: QueryInput) -> list[Finding]:
    if inp.schema is None:
        return []
    out: list[Finding] = []
    for call in inp.analysis.calls:
        if call.operation not in _FILTERING_OPS:
            continue
        model = inp.schema.model(call.accessor)
        if model is None or call.args is None:
            continue
        c = conditions(model, call.arg("where"), call.arg("orderBy"))
        if c.unique_lookup:
            continue
        indexes = index_column_lists(model)
        selective = [*c.equality, *c.range]
        if selective:
            if served(selective, indexes):
                continue
        elif c.sort and call.has_arg("take") and not c.weak:
            if served(c.sort[:1], indexes):
                continue
        else:
            continue  # no selective condition: an index would not help (or there is nothing to look up)
        cols = proposed_index(c)
        if not cols:
            continue
        out.append(call_finding(MISSING_INDEX, call, _message(call, model, c, cols),
                                key_suffix="@@index([" + ", ".join(cols) + "])"))
    return out


def _message(call: PrismaCall, model: Model, c: Conditions, cols: list[str]) -> str:
    parts = []
    if c.equality or c.weak:
        parts.append("filters on " + ", ".join(f"`{n}`" for n in [*c.equality, *c.weak]))
    if c.range:
        parts.append("ranges over " + ", ".join(f"`{n}`" for n in c.range))
    if c.sort:
        parts.append("sorts by " + ", ".join(f"`{n}`" for n in c.sort))
    index = "@@index([" + ", ".join(cols) + "])"
    where = f"{model.path}:{model.line}" if model.path else f"model {model.name}"
    return (f"`{call.target}` {' and '.join(parts)}, but no index of `{model.name}` starts with "
            f"{'these columns' if len(cols) > 1 else 'this column'}: PostgreSQL reads the whole table "
            f"{'and sorts it ' if c.sort else ''}on every call. Add `{index}` to model `{model.name}` ({where}); "
            f"equality columns come first, then the range or sort column. Create it with "
            f"`CREATE INDEX CONCURRENTLY` on a large table.")


def _has_trigram(model: Model, name: str) -> bool:
    for idx in model.all_keys:
        if idx.type and idx.type.lower() in ("gin", "gist") and idx.columns and idx.columns[0] == name:
            return True
    return any(name in idx.columns for idx in model.fulltext)


def check_text_search(inp: QueryInput) -> list[Finding]:
    if inp.schema is None:
        return []
    out: list[Finding] = []
    for call in inp.analysis.calls:
        if call.operation not in _FILTERING_OPS or call.args is None:
            continue
        model = inp.schema.model(call.accessor)
        if model is None:
            continue
        c = conditions(model, call.arg("where"), None)
        if not c.text or served(c.equality, index_column_lists(model)):
            continue  # a selective equality filter narrows the rows first; the text match runs on few rows
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
