"""Unbounded reads: findMany without take in request paths, skip pagination without a stable order, count(*)."""

from __future__ import annotations

import re

from bot.findings import Finding, Severity, Surface
from bot.prisma.model import Model
from bot.registry import define
from bot.ts.model import PrismaCall
from bot.ts.values import JsArray, JsExpr, JsLiteral, JsObject, JsValue

from .common import QueryInput, call_finding, int_option, is_test_path, render, request_context
from .leaks import code_between, leaks_of
from .schema_view import SchemaView, unique_sets

UNBOUNDED = define(
    "query/unbounded-find-many", Severity.WARNING, Surface.QUERY,
    "findMany without `take` in request-handling code returns every matching row",
    options={"suggested_take": 50, "ignore_models": []},
    aliases=("prisma-next:lint-build-call",),
)
PAGINATION = define(
    "query/unstable-pagination", Severity.WARNING, Surface.QUERY,
    "`skip` pagination without an `orderBy` that ends in a unique column returns rows twice or never",
)
COUNT = define(
    "query/count-whole-table", Severity.INFO, Surface.QUERY,
    "count() without `where` in request-handling code scans the whole table on PostgreSQL",
)


def _unique_keys(schema: SchemaView | None, call: PrismaCall,
                 seen_unique: dict[str, list[tuple[str, ...]]] | None = None) -> list[tuple[str, ...]]:
    model = schema.model(call.accessor) if schema is not None else None
    if model is None:
        return [("id",), *((seen_unique or {}).get(call.accessor or "", []))]
    return unique_sets(model)


def unique_keys_used(calls: list[PrismaCall]) -> dict[str, list[tuple[str, ...]]]:
    """Without the schema: the fields a file passes to `findUnique` for a model are unique (Prisma only accepts
    unique fields there), so `findMany({ where: { slug } })` next to `findUnique({ where: { slug } })` is bounded."""
    out: dict[str, list[tuple[str, ...]]] = {}
    for call in calls:
        if call.operation not in ("findUnique", "findUniqueOrThrow") or not call.accessor:
            continue
        where = call.arg("where")
        if not isinstance(where, JsObject) or where.spreads or not where.entries:
            continue
        fields = tuple(sorted(f for f, v in where.entries.items() if not isinstance(v, JsObject)))
        if fields and len(fields) == len(where.entries):
            out.setdefault(call.accessor, []).append(fields)
    return out


def where_is_bounded(where: JsValue | None, keys: list[tuple[str, ...]]) -> bool:
    """A `where` that can only match a bounded set: a unique key by equality, an `in` list, or AND of those."""
    if not isinstance(where, JsObject):
        return False
    equal: set[str] = set()
    for field, value in where.entries.items():
        if isinstance(value, JsObject):
            listed = value.entries.get("in")
            # `id: { in: ids }` / `orderId: { in: orderIds }`: a list the caller built (a page of parents, a
            # batch); `status: { in: ["PAID", "SHIPPED"] }` is a filter on a few literal values and bounds nothing
            if listed is not None and not (isinstance(listed, JsArray) and listed.items and
                                           all(isinstance(i, JsLiteral) for i in listed.items)
                                           and not any(key == (field,) for key in keys)):
                return True
            if "equals" in value.entries:
                equal.add(field)
        elif not (isinstance(value, JsLiteral) and value.value is None):
            equal.add(field)
        if "_" in field and isinstance(value, JsObject) and any(field == "_".join(k) for k in keys):
            return True  # compound unique input: { userId_slug: { userId, slug } }
    if any(all(col in equal for col in key) for key in keys):
        return True
    if any(_relation_in_list(v) for v in where.entries.values()):
        return True
    and_items = where.entries.get("AND")
    if isinstance(and_items, JsArray):
        return any(where_is_bounded(item, keys) for item in and_items.items)
    return False


def _relation_in_list(value: JsValue | None) -> bool:
    """`hashes: { some: { hash: { in: hashes } } }`: rows matched through a caller-built list of related keys."""
    if not isinstance(value, JsObject):
        return False
    for op in ("some", "is", "every"):
        inner = value.entries.get(op)
        if isinstance(inner, JsObject):
            for v in inner.entries.values():
                listed = v.entries.get("in") if isinstance(v, JsObject) else None
                if listed is not None and not (isinstance(listed, JsArray) and
                                               all(isinstance(i, JsLiteral) for i in listed.items)):
                    return True
    return False


def _pins_a_column(where: JsValue | None) -> bool:
    """The `where` fixes some column to one value (a parent, an owner): the rows are one parent's set."""
    if not isinstance(where, JsObject):
        return False
    for name, value in where.entries.items():
        if name in ("OR", "NOT"):
            continue
        if name == "AND":
            items = value.items if isinstance(value, JsArray) else [value]
            if any(_pins_a_column(i) for i in items):
                return True
            continue
        if _pins_value(value):
            return True
    return False


def _pins_value(value: JsValue) -> bool:
    """`field: x` or `field: { equals: x }` with x not null and not a boolean flag."""
    if isinstance(value, JsObject):
        return "equals" in value.entries
    return not (isinstance(value, JsLiteral) and (value.value is None or isinstance(value.value, bool)))


_PARENT_KEY = re.compile(r"^(?:\w+Id|\w+_id)$")


_NOT_A_PARENT = re.compile(r"^(?:status|state|type|kind|role|category|visibility|level|priority|locale|language|"
                           r"lang|currency|country|provider|source|channel|plan|tier|mode|format)$", re.IGNORECASE)


def _pins_a_parent(schema: SchemaView | None, call: PrismaCall, where: JsValue | None) -> bool:
    """The `where` fixes the rows to one owner's or one parent's set: a foreign key (`userId`, `organizationId`), a
    to-one relation (`user: { id }`), a to-many relation through one parent (`links: { some: { collectionId } }`),
    or a plain column compared with a value the code computed (`createdBy: user.id`, `pageId`, `email`: many
    schemas keep such keys without `@relation`). A status, a flag or a literal is no parent: `{ status }` and
    `{ name: "report.pdf" }` still list a share of the whole table."""
    model = schema.model(call.accessor) if schema is not None else None
    return _scoped(schema, model, where, 0)


def _scoped(schema: SchemaView | None, model: Model | None, where: JsValue | None, depth: int) -> bool:
    if not isinstance(where, JsObject) or depth > 3:
        return False
    fks = {name for f in model.relation_fields if f.relation is not None and f.relation.model is model
           for name in f.relation.fields} if model is not None else set()
    for name, value in where.entries.items():
        if name == "AND":
            items = value.items if isinstance(value, JsArray) else [value]
            if any(_scoped(schema, model, i, depth) for i in items):
                return True
            continue
        if name in ("OR", "NOT"):
            continue
        field = model.field(name) if model is not None else None
        if field is not None and field.is_relation:
            target = schema.model_named(field.type) if schema is not None else None
            if not isinstance(value, JsObject):
                continue
            if field.list:
                inner = value.entries.get("some")  # `every` and `none` hold for rows with no children too
                if _scoped(schema, target, inner, depth + 1):
                    return True
                continue
            inner = value.entries.get("is", value)
            if _pins_a_column(inner if isinstance(inner, JsObject) else None) or \
                    _scoped(schema, target, inner, depth + 1):
                return True
            continue
        if name in fks or ((model is None or field is None) and _PARENT_KEY.match(name)):
            if _pins_value(value):
                return True
            continue
        if field is not None and field.kind == "scalar" and field.type not in ("Boolean", "DateTime") and \
                not _NOT_A_PARENT.match(name) and _computed_value(value):
            return True
    return False


def _computed_value(value: JsValue) -> bool:
    """`x`, `user.id`, `input.email`, `{ equals: x }`: a value the code computed, not a literal category. A prefix
    of a computed key (`prefix: { startsWith: key.slice(0, 4) }`) narrows to a lookup as well."""
    if isinstance(value, JsObject):
        value = value.entries.get("equals", value.entries.get("startsWith"))  # type: ignore[assignment]
    return isinstance(value, JsExpr) and not value.interpolated


_TENANT = re.compile(r"^(?:users?|accounts?|members?|memberships?|organi[sz]ations?|orgs?|teams?|workspaces?|"
                     r"tenants?|customers?|compan(?:y|ies)|projects?|spaces?|profiles?|persons?|people|clients?|"
                     r"instances?|bases?|sites?|stores?|shops?)$", re.IGNORECASE)


def _grows_with_users(schema: SchemaView | None, model: Model | None) -> bool:
    """Rows that users create: the model belongs (through its foreign keys, a few hops) to a user, an organisation,
    a team, a workspace or a project. Reference tables (plans, countries, plugins, frameworks) and settings rows
    have no such owner; a listing of them stays small whatever the number of users."""
    if schema is None or model is None:
        return False
    seen: set[str] = set()
    todo = [(model, 0)]
    while todo:
        m, hops = todo.pop()
        if m.name in seen or hops > 3:
            continue
        seen.add(m.name)
        for f in m.relation_fields:
            if f.list or f.relation is None or f.relation.model is not m:
                continue
            target = f.relation.target
            if _TENANT.match(target.name):
                return True
            todo.append((target, hops + 1))
    return False


# (`startsWith` is left out: on a key or a prefix column it is a lookup, `prefix: { startsWith: key.slice(0, 4) }`)
_SEARCH_OPS = ("contains", "search")


def _searches_text(where: JsValue | None, depth: int = 0) -> bool:
    """A text match on a value the caller typed (`title: { contains: q }`): a short query matches most rows, of the
    whole table or of one tenant's."""
    if not isinstance(where, JsObject) or depth > 3:
        return False
    for name, value in where.entries.items():
        if not isinstance(value, JsObject):
            if isinstance(value, JsArray) and name in ("OR", "AND") and \
                    any(_searches_text(i, depth + 1) for i in value.items):
                return True
            continue
        if any(isinstance(value.entries.get(op), JsExpr) for op in _SEARCH_OPS):
            return True
        if _searches_text(value, depth + 1):
            return True
    return False


def _is_join_table(model: Model) -> bool:
    """A membership row: a unique key made of two foreign keys (`@@id([orgId, userId])`)."""
    fks = {name for f in model.relation_fields if f.relation is not None and f.relation.model is model
           for name in f.relation.fields}
    return any(len(key) == 2 and set(key) <= fks for key in unique_sets(model))


def _one_parents_members(schema: SchemaView | None, call: PrismaCall) -> bool:
    """The members of one parent (`spaceMember` where `spaceId`), or the parents one user belongs to (`organisation`
    where `members: { some: { userId } }`): sets bounded by one membership list, needed in full on the page."""
    model = schema.model(call.accessor) if schema is not None else None
    where = call.arg("where")
    if model is None or not isinstance(where, JsObject):
        return False
    if _is_join_table(model) and _pins_a_column(where):
        return True
    for name, value in where.entries.items():
        f = model.field(name)
        if f is None or not f.is_relation or not f.list or not isinstance(value, JsObject):
            continue
        target = schema.model_named(f.type) if schema is not None else None
        inner = value.entries.get("some")
        if target is not None and _is_join_table(target) and _pins_a_column(inner):
            return True
    return False


_ID_NAME = re.compile(r"^(?:id|uuid|.*Id|.*_id)$")
_ACTS = re.compile(r"\b(?:delete|remove|destroy|purge|invalidate|revoke|unlink|cancel)\w*\s*\(|"
                   r"\.\s*(?:delete|deleteMany|remove|unlink)\s*\(", re.IGNORECASE)


def _consumed_whole(inp: QueryInput, call: PrismaCall) -> str:
    """Why the caller needs every row of the set ("" if it does not seem to): only ids selected, used as a set for
    other queries; or each row acted on (its blob deleted, its session invalidated). A `take` would be a bug there."""
    select = call.args.obj("select") if call.args is not None else None
    # (ids handed back to the caller may well become a listing: only ids used here count)
    # (`findMany(...).then((rows) => rows.map(...))` binds them in the callback)
    chained = re.match(r"\s*\.\s*then\s*\(", _after_call(inp, call))
    bound = bool(call.result_names) or chained is not None
    if select is not None and bound and not call.returned and not select.spreads and select.entries and \
            all(_ID_NAME.match(k) for k in select.entries) and len(select.entries) <= 2 and \
            leaks_of(inp.analysis, call, ["id"])[0] is None:
        return "ids"
    if call.function.is_module or not (call.result_names or call.returned):
        return ""
    after = code_between(inp.analysis, call.line, call.function.end_line)
    if not call.result_names:
        return "acts" if re.search(r"\.then\s*\(", after[:600]) and _ACTS.search(after) else ""
    # Both tests below must pass; the one whose pattern is built (and compiled) per name goes last, and each of its
    # alternatives contains the name as written.
    if call.result_names[0] not in after or not _ACTS.search(after):
        return ""
    name = re.escape(call.result_names[0])
    iterated = re.search(rf"\bof\s+{name}\b|(?<![\w$.]){name}\s*(?:\.\s*(?:map|forEach|length)\b|\[)|"
                         rf"\b\w*[mM]ap\w*\s*\(\s*{name}\b", after)
    return "acts" if iterated else ""


def _after_call(inp: QueryInput, call: PrismaCall) -> str:
    """The text right after the call's closing parenthesis (on its last line and the next)."""
    last = inp.analysis.line_text(call.end_line) or ""
    following = inp.analysis.line_text(call.end_line + 1) or ""
    cut = last.rfind(")")
    return (last[cut + 1:] if cut >= 0 else "") + "\n" + following


def check_unbounded(inp: QueryInput) -> list[Finding]:
    out: list[Finding] = []
    options = inp.options(UNBOUNDED)
    take_n = int_option(options, "suggested_take", 50)
    # Small reference tables (countries, currencies, plans) are fine to list whole; the config names them.
    listed = options.get("ignore_models") or []
    ignored = {str(m)[:1].lower() + str(m)[1:] for m in (listed if isinstance(listed, list) else [listed])}
    seen_unique = unique_keys_used(inp.analysis.calls)
    for call in inp.analysis.calls:
        if call.operation != "findMany" or call.has_arg("take") is not False or call.accessor in ignored or \
                call.discarded:
            continue
        context = request_context(call, inp.path, inp.analysis.use_server)
        if context is None:
            continue
        where = call.arg("where")
        if where_is_bounded(where, _unique_keys(inp.schema, call, seen_unique)):
            continue
        if call.arg("distinct") is not None:
            continue
        if _one_parents_members(inp.schema, call):
            continue
        if _consumed_whole(inp, call) and (_pins_a_column(where) or (where is not None and
                                                                      not isinstance(where, JsObject))):
            continue  # one parent's set, needed in full: `take` would be a bug
        order = call.arg("orderBy")
        parts = []
        if where is not None:
            parts.append(f"where: {render(where)}")
        parts.append(f"orderBy: {render(order) if order is not None else _stable_order(inp.schema, call)}")
        parts.append(f"take: {take_n}")
        rewritten = f"{call.client}.{call.accessor}.findMany({{ {', '.join(parts)} }})"
        # One owner's or one parent's rows (`where: { userId }`) are mostly a handful: the pattern is worth a note,
        # not a warning; a listing over the whole table, or one filtered only by a status, grows with every user.
        scoped = _pins_a_parent(inp.schema, call, where)
        summed = _summed_fields(inp, call)
        if summed:
            sums = ", ".join(f"{f}: true" for f in summed)
            agg = (f"{call.client}.{call.accessor}.aggregate({{ where: {render(where)}, _sum: {{ {sums} }}, "
                   f"_count: true }})")
            message = (f"`{call.target}` in {context} (`{call.function.name}`) loads every matching row only to add "
                       f"them up in JavaScript: the transfer grows with the table. Let PostgreSQL sum them: `{agg}`.")
            # summing in SQL pays off at any size; over the whole table it is a real cost
            out.append(call_finding(UNBOUNDED, call, message, severity=Severity.INFO if scoped else Severity.WARNING))
            continue
        whole = call.function.handler == "job" or bool(_consumed_whole(inp, call))
        if whole:
            # code that must see every row (a job, a whole-table pass): read it in batches, not in one go
            stable = _stable_order(inp.schema, call)
            message = (f"`{call.target}` in {context} (`{call.function.name}`) loads every matching row at once, "
                       f"and the set grows with the table (memory, latency). If the code must see every row, read "
                       f"them in batches: loop on `{call.client}.{call.accessor}.findMany({{ "
                       f"{', '.join(parts[:1])}{', ' if parts[:1] and where is not None else ''}orderBy: {stable}, "
                       f"take: 1000, cursor: lastId ? {{ id: lastId }} : undefined, skip: lastId ? 1 : 0 }})` until "
                       f"a batch comes back short; if it serves a page, paginate with `take: {take_n}` and a "
                       f"`cursor`.")
        else:
            message = (f"`{call.target}` in {context} (`{call.function.name}`) has no `take`: it returns every "
                       f"matching row, which grows with the table (memory, latency, response size). Paginate with "
                       f"a cursor: `{rewritten}`, passing `cursor: {{ id: lastId }}, skip: 1` for the next page.")
        # Hand checks of real apps judged nearly every unbounded read noise: most lists are small by nature (one
        # user's tags, one page's nodes, the plans, the admins). A warning is kept for the two shapes that do grow
        # with use: a text search on what the caller typed (a one-letter query returns most of the table, or of a
        # tenant's), and a request listing every tenant's rows of a table users fill.
        searched = not whole and _searches_text(where)
        everyones = not scoped and not whole and _grows_with_users(inp.schema, inp.schema.model(call.accessor)
                                                                    if inp.schema is not None else None)
        if searched:
            message += " The `where` is a text search on input: a short query matches most of the table."
        elif scoped:
            message += (" The `where` keeps one owner's or parent's rows, so this matters only if that set can grow "
                        "to hundreds.")
        elif everyones:
            message += " The `where` keeps no owner: this lists the rows of every user of the app."
        else:
            message += " This matters once the table holds thousands of rows; small reference tables are fine."
        out.append(call_finding(UNBOUNDED, call, message,
                                severity=Severity.WARNING if searched or everyones else Severity.INFO))
    return out


def _stable_order(schema: SchemaView | None, call: PrismaCall) -> str:
    model = schema.model(call.accessor) if schema is not None else None
    if model is not None and model.primary_key is not None and len(model.primary_key.columns) == 1:
        return f'{{ {model.primary_key.columns[0]}: "asc" }}'
    return '{ id: "asc" }'


def _order_fields(order: JsValue | None) -> list[str] | None:
    """Field names in an orderBy value, or None when it cannot be read."""
    if isinstance(order, JsObject):
        if order.is_open:
            return None
        return list(order.entries)
    if isinstance(order, JsArray):
        fields: list[str] = []
        for item in order.items:
            sub = _order_fields(item)
            if sub is None:
                return None
            fields.extend(sub)
        return fields
    return None


def _pinned_fields(where: JsValue | None) -> list[str]:
    if not isinstance(where, JsObject):
        return []
    out = []
    for name, value in where.entries.items():
        if isinstance(value, JsObject):
            if set(value.entries) == {"equals"}:
                out.append(name)
        elif not (isinstance(value, JsLiteral) and value.value is None) and name not in ("AND", "OR", "NOT"):
            out.append(name)
    return out


def _ends_unique(fields: list[str], model: Model | None) -> bool:
    keys = unique_sets(model) if model is not None else [("id",)]
    return any(all(col in fields for col in key) for key in keys)


def check_pagination(inp: QueryInput) -> list[Finding]:
    if is_test_path(inp.path):
        return []  # tests page through fixtures on purpose
    out: list[Finding] = []
    for call in inp.analysis.calls:
        if call.operation not in ("findMany", "findFirst") or call.has_arg("skip") is not True:
            continue
        skip = call.arg("skip")
        if isinstance(skip, JsLiteral) and skip.value in (0, None):
            continue
        has_order = call.has_arg("orderBy")
        if has_order is None:
            continue
        model = inp.schema.model(call.accessor) if inp.schema is not None else None
        stable = _stable_order(inp.schema, call)
        if has_order is False and call.has_arg("cursor") is True:
            # `cursor` + `skip: 1` is cursor pagination (the skip only steps over the cursor row)
            message = (f"`{call.target}` pages with `cursor` but has no `orderBy`: \"the rows after the cursor\" "
                       f"has no defined order in PostgreSQL, so pages can overlap or miss rows. Order by the "
                       f"cursor's unique column: `orderBy: {stable}`.")
            out.append(call_finding(PAGINATION, call, message))
            continue
        if has_order is False:
            message = (f"`{call.target}` pages with `skip` but has no `orderBy`: PostgreSQL returns rows in no "
                       f"particular order, so pages overlap or miss rows. Add `orderBy: {stable}` (or an order "
                       "that ends in a unique column); for deep pages prefer `cursor` pagination.")
            out.append(call_finding(PAGINATION, call, message))
            continue
        fields = _order_fields(call.arg("orderBy"))
        # columns the `where` pins to one value take part in the order too: `where: { projectId }` with
        # `orderBy: [{ createdAt }, { id }]` is unique when the key is (id, projectId)
        pinned = _pinned_fields(call.arg("where"))
        if fields is None or _ends_unique([*fields, *pinned], model):
            continue
        order = call.arg("orderBy")
        order_text = ", ".join(render(i) for i in order.items) if isinstance(order, JsArray) else render(order)
        tie = stable.strip("{} ")
        message = (f"`{call.target}` pages with `skip` ordered by {', '.join(f'`{f}`' for f in fields)} only, "
                   f"which is not unique: rows with equal values can move between pages. Add a unique "
                   f"tiebreaker: `orderBy: [{order_text}, {{ {tie} }}]`.")
        out.append(call_finding(PAGINATION, call, message, severity=Severity.INFO))
    return out


def check_count(inp: QueryInput) -> list[Finding]:
    out: list[Finding] = []
    for call in inp.analysis.calls:
        if call.operation != "count" or call.has_arg("where") is not False:
            continue
        context = request_context(call, inp.path, inp.analysis.use_server)
        if context is None:
            continue
        if _emptiness_test(inp, call):
            message = (f"`{call.target}()` in {context} only tests whether the table is empty, but counting reads "
                       f"every row (PostgreSQL has no stored row count). Ask for one row instead: "
                       f"`await {call.client}.{call.accessor}.findFirst({{ select: {{ id: true }} }})`.")
        else:
            message = (f"`{call.target}()` without `where` in {context} counts every row: PostgreSQL has no stored "
                       f"row count, so this scans the whole table (or index) on every request. Cache the number, "
                       f"show an estimate (`pg_class.reltuples`), or count a filtered subset.")
        out.append(call_finding(COUNT, call, message))
    return out


def _summed_fields(inp: QueryInput, call: PrismaCall) -> list[str]:
    """`rows.reduce((sum, o) => sum + o.total, 0)` (and `rows.length`) are the only uses: the fields summed."""
    if len(call.result_names) != 1 or call.function.is_module:
        return []
    name = re.escape(call.result_names[0])
    after = "\n".join(inp.analysis.lines[call.end_line:call.function.end_line])
    uses = [m.end() for m in re.finditer(rf"(?<![\w$.]){name}\b", after)]
    if not uses or not all(re.match(r"\s*\.\s*(reduce\s*\(|length\b)", after[u:]) for u in uses):
        return []
    fields: list[str] = []
    for m in re.finditer(r"\.reduce\s*\(\s*\(\s*(\w+)\s*,\s*(\w+)\s*\)\s*=>\s*\1\s*\+\s*(?:Number\()?\2\.(\w+)", after):
        if m.group(3) not in fields:
            fields.append(m.group(3))
    return fields


def _emptiness_test(inp: QueryInput, call: PrismaCall) -> bool:
    """`const n = await prisma.x.count(); if (n === 0)`: the count is only compared with zero."""
    if len(call.result_names) != 1:
        return False
    name = re.escape(call.result_names[0])
    after = "\n".join(inp.analysis.lines[call.end_line:call.function.end_line])
    uses = re.findall(rf"(?<![\w$.]){name}\b[^\n]{{0,12}}", after)
    return bool(uses) and all(re.match(rf"{name}\s*(===|!==|==|!=|>|<=)\s*0\b", u) for u in uses)


def check(inp: QueryInput) -> list[Finding]:
    return [*check_unbounded(inp), *check_pagination(inp), *check_count(inp)]
