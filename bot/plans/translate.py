"""A Prisma Client call -> the PostgreSQL statements Prisma sends for it (pure: call and schema in, SQL out).

Follows prisma-engines' SQL query builder (sql-query-builder, quaint's PostgreSQL visitor), Prisma 5.4 to 7:

- columns are fully qualified (`"public"."payouts"."status"`), enum columns are selected as `::text` and compared
  with `CAST($n::text AS "public"."Enum")`; a filter with several conditions is `(a AND b)`;
- `findMany`/`findFirst` end with `LIMIT $n OFFSET $m` (`OFFSET $m` alone without take); `findUnique` adds
  `AND 1=1`; `count`/`aggregate` wrap the filtered rows in `(SELECT ...) AS "sub"`;
- `contains`/`startsWith`/`endsWith` are `"col"::text LIKE $n`, with `mode: "insensitive"` `"col" ILIKE $n`;
- a to-one relation filter is a `LEFT JOIN ... AS "j1"` with `("j1"."id" IS NOT NULL)` (inside updateMany and
  deleteMany a sub-select); `some`/`none`/`every` are `(parent) [NOT] IN (SELECT "t1"."fk" FROM child AS "t1" ...)`;
- a cursor compares the order column with `(SELECT col FROM t WHERE (t.id) = ($n))`, and when the order is not
  unique Prisma applies take/skip in memory (no LIMIT: the database returns every row after the cursor);
- `include`/`select` of a relation is a follow-up query `WHERE "fk" IN ($1,...) OFFSET $n`, or, with the
  `relationJoins` preview feature (or `relationLoadStrategy: "join"`), a `LEFT JOIN LATERAL` with JSON aggregation.

Values the code computes become parameters with a note of where a representative value comes from (the column they
are compared with); literals stay as they are written. What cannot be translated faithfully (raw SQL, an argument
held in a variable we cannot read, implicit many-to-many filters, JSON filters) is reported with the reason.
"""

from __future__ import annotations

import re
from functools import cache

from bot.plans.model import (
    EQ,
    LIMIT,
    OFFSET,
    SET,
    Access,
    CallRef,
    Param,
    Statement,
    Translation,
    Untranslated,
)
from bot.plans.sqlparts import (
    DEFAULT_SCHEMA,
    Aliases,
    Filter,
    Params,
    SchemaLookup,
    Untranslatable,
    and_all,
    link_fields,
    literal_of,
    primary_fields,
    qualified,
    quote,
    short,
    table_sql,
    unique_sets,
)
from bot.prisma.model import Field, Model, Relation
from bot.ts.model import PrismaCall
from bot.ts.values import JsArray, JsExpr, JsLiteral, JsObject, JsValue

__all__ = ["DEFAULT_SCHEMA", "OPERATIONS", "SchemaLookup", "Untranslatable", "expand_list", "qualified", "translate"]

# Operations whose SQL this module builds.
READS = frozenset({"findMany", "findFirst", "findFirstOrThrow", "findUnique", "findUniqueOrThrow", "count",
                   "aggregate", "groupBy"})
WRITES = frozenset({"updateMany", "deleteMany"})
OPERATIONS = READS | WRITES

MAX_VARIANTS = 4
MAX_INCLUDE_DEPTH = 3


def call_ref(call: PrismaCall, model: Model) -> CallRef:
    return CallRef(path=call.path, line=call.line, end_line=call.end_line, target=call.target, key=call.key,
                   scope=call.scope, model=model.name, operation=call.operation, confidence=call.confidence)


# -- entry point -----------------------------------------------------------------------------------------------------


def translate(call: PrismaCall, lookup: SchemaLookup) -> list[Translation] | Untranslated | None:
    """The statements Prisma sends for `call`, one Translation per variant of its arguments; an Untranslated with
    the reason; None when the call is not something this module plans (a create, a raw query, an unknown model)."""
    if call.operation not in OPERATIONS or not call.accessor:
        return None
    model = lookup.model(call.accessor)
    if model is None:
        return None
    ref = call_ref(call, model)
    if call.args_opaque:
        return Untranslated(ref, "its arguments are held in a variable or built by a call, so their shape is unknown")
    args = call.args if call.args is not None else JsObject({}, call.line, call.line)
    try:
        variants = _variants(args)
    except Untranslatable as exc:
        return Untranslated(ref, str(exc))
    out: list[Translation] = []
    for label, entries in variants:
        try:
            builder = _Call(lookup, model, call.operation, entries)
            statements = builder.build()
        except Untranslatable as exc:
            return Untranslated(ref, str(exc) + (f" ({label})" if label else ""))
        out.append(Translation(ref, statements, label, builder.notes, entries))
    return out


# -- argument variants (`where: id ? { id } : undefined`, `...(cursor ? { cursor } : {})`) ---------------------------


@cache
def _ternary_parser():  # type: ignore[no-untyped-def]
    from bot.ts.parser import parser

    return parser("typescript")


def branches(expr: JsExpr) -> list[tuple[str, JsValue | None]] | None:
    """The values a conditional expression can take: `c ? a : b` -> [a, b]; `c && a` -> [a, nothing]."""
    from bot.ts.values import to_value, unwrap

    text = expr.text.strip()
    if expr.kind not in ("ternary_expression", "parenthesized_expression", "binary_expression") or len(text) > 2000:
        return None
    tree = _ternary_parser().parse(f"({text});".encode())
    root = tree.root_node
    if root.has_error or not root.named_children:
        return None
    node = root.named_children[0]
    node = unwrap(node.named_children[0]) if node.named_children else node
    if node.type == "ternary_expression":
        yes, no = node.child_by_field_name("consequence"), node.child_by_field_name("alternative")
        if yes is None or no is None:
            return None
        return [(f"`{short(yes.text)}`", to_value(yes)), (f"`{short(no.text)}`", to_value(no))]
    if node.type == "binary_expression":
        op = node.child_by_field_name("operator")
        right = node.child_by_field_name("right")
        if op is None or right is None or (op.text or b"") != b"&&":
            return None
        return [(f"`{short(right.text)}`", to_value(right)), ("the condition false", None)]
    return None


def _is_nothing(value: JsValue | None) -> bool:
    return value is None or (isinstance(value, JsLiteral) and value.value in (None, False, "")) or \
        (isinstance(value, JsObject) and not value.entries and not value.spreads)


def _merge_spreads(obj: JsObject, what: str) -> list[tuple[str, dict[str, JsValue]]]:
    """The object's entries for each combination of its conditional spreads."""
    variants: list[tuple[str, dict[str, JsValue]]] = [("", dict(obj.entries))]
    for spread in obj.spreads:
        options = branches(spread)
        if options is None:
            raise Untranslatable(f"the spread `...{short(spread.text.encode())}` in {what} cannot be read")
        grown: list[tuple[str, dict[str, JsValue]]] = []
        for label, entries in variants:
            for branch_label, value in options:
                if _is_nothing(value):
                    merged = dict(entries)
                elif isinstance(value, JsObject) and not value.spreads:
                    merged = {**entries, **value.entries}
                else:
                    raise Untranslatable(f"the spread `...{short(spread.text.encode())}` in {what} cannot be read")
                grown.append((_join_label(label, f"{what} spread {branch_label}"), merged))
        variants = grown
        if len(variants) > MAX_VARIANTS:
            raise Untranslatable(f"{what} branches into more than {MAX_VARIANTS} shapes")
    return variants


def _join_label(a: str, b: str) -> str:
    return f"{a}; {b}" if a else b


def _variants(args: JsObject) -> list[tuple[str, dict[str, JsValue]]]:
    out: list[tuple[str, dict[str, JsValue]]] = []
    for label, entries in _merge_spreads(args, "the arguments"):
        where = entries.get("where")
        if isinstance(where, JsExpr):
            options = branches(where)
            if options is None:
                out.append((label, entries))  # a variable filter: translated as a parameterised unknown below
                continue
            for branch_label, value in options:
                out.append((_join_label(label, f"where: {branch_label}"), {**entries, "where": value}
                            if value is not None else {k: v for k, v in entries.items() if k != "where"}))
        elif isinstance(where, JsObject) and where.spreads:
            for where_label, where_entries in _merge_spreads(where, "where"):
                value = JsObject(where_entries, where.line, where.end_line)
                out.append((_join_label(label, where_label), {**entries, "where": value}))
        else:
            out.append((label, entries))
    if len(out) > MAX_VARIANTS:
        raise Untranslatable(f"the arguments branch into more than {MAX_VARIANTS} shapes")
    return out


# -- one call -----------------------------------------------------------------------------------------------------


class _Call:
    def __init__(self, lookup: SchemaLookup, model: Model, operation: str, args: dict[str, JsValue]) -> None:
        self.lookup, self.model, self.operation, self.args = lookup, model, operation, args
        self.notes: list[str] = []
        self.statements: list[Statement] = []

    def arg(self, name: str) -> JsValue | None:
        return self.args.get(name)

    def build(self) -> list[Statement]:
        op = self.operation
        if op in WRITES:
            self.statements.append(self.write())
        elif op == "count":
            self.statements.append(self.aggregate(count_only=True))
        elif op == "aggregate":
            self.statements.append(self.aggregate(count_only=False))
        elif op == "groupBy":
            self.statements.append(self.group_by())
        else:
            self.read(self.model, self.args, depth=0, parent=None)
        return self.statements

    # reads

    def read(self, model: Model, args: dict[str, JsValue], depth: int, parent: tuple[int, Relation, Field] | None
             ) -> None:
        params, aliases, accesses = Params(), Aliases(), []
        filt = Filter(self.lookup, params, aliases, accesses, mutation=False)
        strategy = self.relation_strategy(args)
        joins_mode = strategy == "join"
        main_alias = aliases.next("t") if joins_mode and depth == 0 and self.has_relations(model, args) else None
        parts: list[str] = []
        joins: list[str] = []
        list_param = False
        if parent is not None:
            # A follow-up query loads the related rows of the parent's rows: `"fk" IN ($1,...)`, the parent rows'
            # values; the list is sized from the parent's estimated rows when planned.
            _, rel, via = parent
            there = self.follow_up_columns(model, rel, via)
            col = filt.col(model, there, None)
            placeholder = params.add(Param(EQ, qualified(model), there.db_name))
            parts.append(f"{col} IN ({placeholder})")
            list_param = True
            access = filt.access_for(model, None)
            access.add("equality", there.name)
        where = args.get("where")
        cond = filt.where(model, where, main_alias, collect=True)
        parts.append(cond.sql)
        joins.extend(cond.joins)
        unique = self.operation in ("findUnique", "findUniqueOrThrow") and depth == 0
        order_sql, order_fields = self.order_by(model, args.get("orderBy"), main_alias, filt)
        cursor = args.get("cursor") if depth == 0 else None
        in_memory = ""
        if isinstance(args.get("distinct"), (JsArray, JsLiteral, JsExpr)):
            in_memory = "`distinct` is applied in memory by Prisma"
        if cursor is not None:
            if not order_fields:
                pk = primary_fields(model)
                order_sql = [f"{filt.col(model, f, main_alias)} ASC" for f in pk]
                order_fields = [(f, "ASC") for f in pk]
            parts.append(self.cursor(model, cursor, order_fields, main_alias, filt, params))
            ordered = {f.name for f, _ in order_fields}
            if not any(s <= ordered for s in unique_sets(model)):
                in_memory = ("the cursor's `orderBy` is not unique, so Prisma applies `take`/`skip` in memory: the "
                             "database returns every row after the cursor")
        take, skip = args.get("take"), args.get("skip")
        if depth > 0 and take is not None:
            in_memory = in_memory or "a `take` inside `include` is applied in memory by Prisma (query strategy)"
        access = filt.access_for(model, main_alias)
        for f, _ in order_fields:
            access.add("sort", f.name)
        columns, relations = self.selection(model, args, main_alias)
        lateral: list[str] = []
        if joins_mode:
            for rel_field, rel_args in relations:
                lateral.append(self.lateral(model, rel_field, rel_args, main_alias, params, aliases, accesses))
        select_cols = ", ".join(columns + [f'{quote(model.name + "_" + rf.name)}."__prisma_data__" AS {quote(rf.name)}'
                                           for rf, _ in relations if joins_mode])
        base = f"{table_sql(model)} AS {quote(main_alias)}" if main_alias else table_sql(model)
        sql = f"SELECT {select_cols} FROM {base}"
        sql += "".join(" " + j for j in lateral)
        sql += "".join(" " + j for j in joins)
        where_sql = and_all([p for p in parts if p])
        if unique:
            # findUnique: Prisma ANDs the unique filter with an empty one, which renders as `1=1`.
            where_sql = f"({where_sql} AND 1=1)" if where_sql else "1=1"
        sql += f" WHERE {where_sql or '1=1'}"
        if order_sql:
            sql += " ORDER BY " + ", ".join(order_sql)
        limit = self.limit(take, skip, params, model, in_memory, depth)
        sql += limit
        access.limited = " LIMIT " in limit
        label = f"{self.operation} on {model.db_name}" if depth == 0 else \
            f"include {parent[2].name if parent else ''} ({model.db_name}, follow-up query)"
        statement = Statement(label, sql, params.items, qualified(model), [a for a in accesses if _useful(a)],
                              in_memory, values_from=parent[0] if parent else None, list_param=list_param)
        index = len(self.statements)
        self.statements.append(statement)
        if not joins_mode and depth < MAX_INCLUDE_DEPTH:
            for rel_field, rel_args in relations:
                rel = rel_field.relation
                target = self.lookup.model_named(rel_field.type)
                if rel is None or target is None or rel.implicit_many_to_many:
                    self.notes.append(f"the relation `{model.name}.{rel_field.name}` it loads is not planned "
                                      "(implicit many-to-many)")
                    continue
                self.read(target, rel_args, depth + 1, (index, rel, rel_field))

    def follow_up_columns(self, model: Model, rel: Relation, via: Field) -> Field:
        """The column of `model` (the loaded side) that the parent rows' values are matched against."""
        _, there = link_fields(via.model, model, rel)
        if len(there) != 1:
            raise Untranslatable(f"the relation `{via.model.name}.{via.name}` joins on several columns")
        return there[0]

    def relation_strategy(self, args: dict[str, JsValue]) -> str:
        value = args.get("relationLoadStrategy")
        if isinstance(value, JsLiteral) and value.value in ("join", "query"):
            return str(value.value)
        return "join" if self.lookup.relation_joins else "query"

    def has_relations(self, model: Model, args: dict[str, JsValue]) -> bool:
        return bool(self.relations_of(model, args))

    def relations_of(self, model: Model, args: dict[str, JsValue]) -> list[tuple[Field, dict[str, JsValue]]]:
        out: list[tuple[Field, dict[str, JsValue]]] = []
        for key in ("include", "select"):
            obj = args.get(key)
            if not isinstance(obj, JsObject):
                continue
            for name, value in obj.entries.items():
                f = model.field(name)
                if f is None or f.kind != "relation":
                    continue
                if isinstance(value, JsLiteral) and value.value is True:
                    out.append((f, {}))
                elif isinstance(value, JsObject) and not value.spreads:
                    out.append((f, dict(value.entries)))
                elif isinstance(value, JsLiteral):
                    continue
                else:
                    raise Untranslatable(f"the `{key}` of `{model.name}.{name}` cannot be read")
        return out

    def selection(self, model: Model, args: dict[str, JsValue], alias: str | None
                  ) -> tuple[list[str], list[tuple[Field, dict[str, JsValue]]]]:
        select, include, omit = args.get("select"), args.get("include"), args.get("omit")
        scalars = [f for f in model.fields if f.kind in ("scalar", "enum") and not f.is_ignored]
        if isinstance(select, JsObject):
            if select.spreads:
                raise Untranslatable("its `select` spreads fields that are unknown")
            chosen = []
            for name, value in select.entries.items():
                f = model.field(name)
                if name == "_count":
                    self.notes.append("its `_count` selection (relation counts) is not planned")
                    continue
                if f is None:
                    raise Untranslatable(f"`select` names `{name}`, which is not a field of model {model.name}")
                if f.kind in ("scalar", "enum") and not (isinstance(value, JsLiteral) and value.value is False):
                    chosen.append(f)
            scalars = chosen
        elif select is not None and not isinstance(select, JsLiteral):
            self.notes.append("its `select` is computed; planned with every column")
        if isinstance(omit, JsObject):
            dropped = {n for n, v in omit.entries.items() if isinstance(v, JsLiteral) and v.value is True}
            scalars = [f for f in scalars if f.name not in dropped]
        if isinstance(include, JsExpr):
            raise Untranslatable("its `include` is computed, so the relations it loads are unknown")
        relations = self.relations_of(model, args)
        for rel_field, _ in relations:
            rel = rel_field.relation
            target = self.lookup.model_named(rel_field.type)
            if rel is None or target is None or rel.implicit_many_to_many:
                continue
            here, _ = link_fields(model, target, rel)
            for hf in here:
                if hf not in scalars:
                    scalars.append(hf)
        owner = quote(alias) if alias else table_sql(model)
        cols = [f"{owner}.{quote(f.db_name)}" + ("::text" if f.kind == "enum" else "") for f in scalars]
        if not cols:
            cols = [f"{owner}.{quote(f.db_name)}" for f in primary_fields(model)]
        return cols, relations

    def lateral(self, model: Model, rel_field: Field, rel_args: dict[str, JsValue], parent_alias: str | None,
                params: Params, aliases: Aliases, accesses: list[Access]) -> str:
        """relationJoins: one LEFT JOIN LATERAL per loaded relation, JSON built in the database."""
        rel = rel_field.relation
        target = self.lookup.model_named(rel_field.type)
        if rel is None or target is None or rel.implicit_many_to_many:
            raise Untranslatable(f"the relation `{model.name}.{rel_field.name}` cannot be joined (many-to-many)")
        here, there = link_fields(model, target, rel)
        inner_alias = aliases.next("t")
        filt = Filter(self.lookup, params, aliases, accesses, mutation=False)
        parent = quote(parent_alias) if parent_alias else table_sql(model)
        link = " AND ".join(f"{parent}.{quote(hf.db_name)} = {quote(inner_alias)}.{quote(tf.db_name)}"
                            for hf, tf in zip(here, there, strict=True))
        cond = filt.where(target, rel_args.get("where"), inner_alias, collect=True)
        access = filt.access_for(target, inner_alias)
        for tf in there:
            access.add("equality", tf.name)
        order_sql, order_fields = self.order_by(target, rel_args.get("orderBy"), inner_alias, filt)
        for f, _ in order_fields:
            access.add("sort", f.name)
        fields = [f for f in target.fields if f.kind in ("scalar", "enum") and not f.is_ignored]
        json = "JSONB_BUILD_OBJECT(" + ", ".join(f"'{f.name}', {quote(inner_alias)}.{quote(f.db_name)}"
                                                 for f in fields[:50]) + ")"
        name = quote(model.name + "_" + rel_field.name)
        where = and_all([link, cond.sql]) or "1=1"
        joins = "".join(" " + j for j in cond.joins)
        if not rel_field.list:
            limit = params.add(Param(LIMIT, known=True, value=1))
            return (f"LEFT JOIN LATERAL (SELECT {json} AS \"__prisma_data__\" FROM {table_sql(target)} AS "
                    f"{quote(inner_alias)}{joins} WHERE {where} LIMIT {limit}) AS {name} ON true")
        order = (" ORDER BY " + ", ".join(order_sql)) if order_sql else ""
        take = rel_args.get("take")
        limit = ""
        if take is not None:
            known, value = literal_of(take)
            limit = " LIMIT " + params.add(Param(LIMIT, known=known, value=abs(value) if isinstance(value, int)
                                                 else value))
            access.limited = True
        middle, outer = aliases.next("t"), aliases.next("t")
        middle_json = json.replace(quote(inner_alias) + ".", quote(middle) + ".")
        return (f"LEFT JOIN LATERAL (SELECT COALESCE(JSONB_AGG(\"__prisma_data__\"), '[]') AS \"__prisma_data__\" "
                f"FROM (SELECT {middle_json} AS \"__prisma_data__\" FROM "
                f"(SELECT {quote(inner_alias)}.* FROM {table_sql(target)} AS {quote(inner_alias)}{joins} WHERE {where}"
                f"{order}{limit}) AS {quote(middle)}) AS {quote(outer)}) AS {name} ON true")

    def order_by(self, model: Model, order: JsValue | None, alias: str | None, filt: Filter
                 ) -> tuple[list[str], list[tuple[Field, str]]]:
        if order is None:
            return [], []
        items = order.items if isinstance(order, JsArray) else [order]
        sql: list[str] = []
        fields: list[tuple[Field, str]] = []
        for item in items:
            if not isinstance(item, JsObject) or item.spreads:
                raise Untranslatable("its `orderBy` is computed, so the sort columns are unknown")
            for name, direction in item.entries.items():
                f = model.field(name)
                if f is None or name.startswith("_"):
                    raise Untranslatable(f"ordering by `{name}` (relevance, counts, unknown fields) is not "
                                         "translated")
                if f.kind == "relation":
                    raise Untranslatable(f"ordering by the relation `{model.name}.{name}` is not translated")
                nulls = ""
                if isinstance(direction, JsObject):
                    sort = direction.get("sort")
                    null_pos = direction.get("nulls")
                    if isinstance(null_pos, JsLiteral) and null_pos.value in ("first", "last"):
                        nulls = f" NULLS {str(null_pos.value).upper()}"
                    direction = sort
                if isinstance(direction, JsLiteral) and str(direction.value).lower() in ("asc", "desc"):
                    word = str(direction.value).upper()
                else:
                    word = "ASC"  # a computed direction: a btree index serves both directions
                    self.notes.append(f"the sort direction of `{name}` is computed; planned ascending")
                sql.append(f"{filt.col(model, f, alias)} {word}{nulls}")
                fields.append((f, word))
        return sql, fields

    def cursor(self, model: Model, cursor: JsValue, order_fields: list[tuple[Field, str]], alias: str | None,
               filt: Filter, params: Params) -> str:
        if not isinstance(cursor, JsObject) or cursor.spreads or not cursor.entries:
            raise Untranslatable("its `cursor` cannot be read")
        keys = []
        for name, value in cursor.entries.items():
            f = model.field(name)
            if f is None or f.kind not in ("scalar", "enum"):
                raise Untranslatable(f"the cursor field `{name}` is not a scalar field of {model.name}")
            keys.append((f, value))
        row = "(" + ", ".join(filt.col(model, f, None) for f, _ in keys) + ")"
        values = "(" + ", ".join(filt.value(model, f, v, EQ) for f, v in keys) + ")"
        lookup = f"FROM {table_sql(model)} WHERE {row} = {values}"

        def compare(f: Field, direction: str, include_eq: bool) -> str:
            op = (">=" if include_eq else ">") if direction == "ASC" else ("<=" if include_eq else "<")
            col = filt.col(model, f, alias)
            expr = f"{col} {op} (SELECT {filt.col(model, f, None)} {lookup})"
            if f.optional:
                expr = f"({expr} OR {col} IS NULL OR (SELECT {filt.col(model, f, None)} {lookup}) IS NULL)"
            return expr

        if len(order_fields) == 1:
            f, direction = order_fields[0]
            return compare(f, direction, True)
        blocks = []
        n = len(order_fields)
        for i in range(n):
            head, last = order_fields[: n - i - 1], order_fields[n - i - 1]
            conds = [f"{filt.col(model, f, alias)} = (SELECT {filt.col(model, f, None)} {lookup})" for f, _ in head]
            conds.append(compare(last[0], last[1], i == 0))
            blocks.append("(" + " AND ".join(conds) + ")")
        return "(" + " OR ".join(blocks) + ")"

    def limit(self, take: JsValue | None, skip: JsValue | None, params: Params, model: Model, in_memory: str,
              depth: int) -> str:
        unique = self.operation in ("findUnique", "findUniqueOrThrow", "findFirst", "findFirstOrThrow") and \
            depth == 0
        if in_memory:
            return " OFFSET " + params.add(Param(OFFSET, known=True, value=0))
        out = ""
        if unique:
            out += " LIMIT " + params.add(Param(LIMIT, known=True, value=1))
        elif take is not None and depth == 0:
            known, value = literal_of(take)
            if known and not isinstance(value, int):
                raise Untranslatable("its `take` is not a number")
            if not known:
                self.notes.append("its `take` is computed; planned with a page of 50 rows")
            out += " LIMIT " + params.add(Param(LIMIT, known=True, value=abs(value) if known else 50))  # type: ignore[arg-type]
        known, value = literal_of(skip) if skip is not None and depth == 0 else (True, 0)
        if not known:
            self.notes.append("its `skip` is computed; planned from the first row")
            value = 0
        out += " OFFSET " + params.add(Param(OFFSET, known=True, value=value))
        return out

    # count, aggregate, groupBy

    def aggregate(self, count_only: bool) -> Statement:
        params, aliases, accesses = Params(), Aliases(), []
        model = self.model
        filt = Filter(self.lookup, params, aliases, accesses, mutation=False)
        values: list[str] = []
        inner_fields: list[Field] = []
        if count_only:
            select = self.arg("select")
            if isinstance(select, JsObject) and select.entries:
                for name in select.entries:
                    if name == "_all":
                        values.append('COUNT(*) AS "_count._all"')
                        continue
                    f = model.field(name)
                    if f is None:
                        raise Untranslatable(f"count selects `{name}`, not a field of {model.name}")
                    inner_fields.append(f)
                    values.append(f'COUNT({quote(f.db_name)}) AS "_count.{name}"')
            else:
                values.append('COUNT(*) AS "_count._all"')
        else:
            for key, fn in (("_count", "COUNT"), ("_avg", "AVG"), ("_sum", "SUM"), ("_min", "MIN"),
                            ("_max", "MAX")):
                spec = self.arg(key)
                if isinstance(spec, JsLiteral) and spec.value is True and key == "_count":
                    values.append('COUNT(*) AS "_count._all"')
                    continue
                if not isinstance(spec, JsObject):
                    continue
                for name in spec.entries:
                    if name == "_all":
                        values.append('COUNT(*) AS "_count._all"')
                        continue
                    f = model.field(name)
                    if f is None:
                        raise Untranslatable(f"{key} names `{name}`, not a field of {model.name}")
                    if f not in inner_fields:
                        inner_fields.append(f)
                    values.append(f'{fn}({quote(f.db_name)}) AS "{key}.{name}"')
            if not values:
                raise Untranslatable("the aggregate selects nothing it can translate")
        if not inner_fields:
            inner_fields = primary_fields(model)
        cond = filt.where(model, self.arg("where"), None, collect=True)
        order_sql, order_fields = self.order_by(model, self.arg("orderBy"), None, filt)
        access = filt.access_for(model, None)
        for f, _ in order_fields:
            access.add("sort", f.name)
        inner = "SELECT " + ", ".join(filt.col(model, f, None) for f in inner_fields) + f" FROM {table_sql(model)}"
        inner += "".join(" " + j for j in cond.joins) + f" WHERE {cond.sql or '1=1'}"
        if order_sql:
            inner += " ORDER BY " + ", ".join(order_sql)
        inner += self.limit(self.arg("take"), self.arg("skip"), params, model, "", 0)
        access.limited = self.arg("take") is not None
        sql = f"SELECT {', '.join(values)} FROM ({inner}) AS \"sub\""
        return Statement(f"{self.operation} on {model.db_name}", sql, params.items, qualified(model),
                         [a for a in accesses if _useful(a)])

    def group_by(self) -> Statement:
        params, aliases, accesses = Params(), Aliases(), []
        model = self.model
        filt = Filter(self.lookup, params, aliases, accesses, mutation=False)
        by = self.arg("by")
        names = [i.value for i in by.items if isinstance(i, JsLiteral)] if isinstance(by, JsArray) else \
            [by.value] if isinstance(by, JsLiteral) else None
        if not names:
            raise Untranslatable("its `by` list is computed")
        by_fields = []
        for name in names:
            f = model.field(str(name))
            if f is None or f.kind not in ("scalar", "enum"):
                raise Untranslatable(f"groupBy names `{name}`, not a scalar field of {model.name}")
            by_fields.append(f)
        values = [quote(f.db_name) + ("::text" if f.kind == "enum" else "") for f in by_fields]
        for key, fn in (("_count", "COUNT"), ("_avg", "AVG"), ("_sum", "SUM"), ("_min", "MIN"), ("_max", "MAX")):
            spec = self.arg(key)
            if isinstance(spec, JsLiteral) and spec.value is True and key == "_count":
                values.append('COUNT(*) AS "_count._all"')
            elif isinstance(spec, JsObject):
                for name in spec.entries:
                    if name == "_all":
                        values.append('COUNT(*) AS "_count._all"')
                        continue
                    f = model.field(name)
                    if f is None:
                        raise Untranslatable(f"{key} names `{name}`, not a field of {model.name}")
                    values.append(f'{fn}({quote(f.db_name)}) AS "{key}.{name}"')
        if self.arg("having") is not None:
            self.notes.append("its `having` is not planned")
        cond = filt.where(model, self.arg("where"), None, collect=True)
        access = filt.access_for(model, None)
        for f in by_fields:
            access.add("sort", f.name)
        order_sql, _ = self.order_by(model, self.arg("orderBy"), None, filt) \
            if not _orders_by_aggregate(self.arg("orderBy")) else ([], [])
        sql = f"SELECT {', '.join(values)} FROM {table_sql(model)}" + "".join(" " + j for j in cond.joins)
        sql += f" WHERE {cond.sql or '1=1'} GROUP BY " + ", ".join(filt.col(model, f, None) for f in by_fields)
        if order_sql:
            sql += " ORDER BY " + ", ".join(order_sql)
        sql += self.limit(self.arg("take"), self.arg("skip"), params, model, "", 0)
        return Statement(f"groupBy on {model.db_name}", sql, params.items, qualified(model),
                         [a for a in accesses if _useful(a)])

    # writes: only their filter matters to a plan, but the statement is the one Prisma sends

    def write(self) -> Statement:
        params, aliases, accesses = Params(), Aliases(), []
        model = self.model
        filt = Filter(self.lookup, params, aliases, accesses, mutation=True)
        sets: list[str] = []
        if self.operation == "updateMany":
            data = self.arg("data")
            if not isinstance(data, JsObject) or data.spreads:
                raise Untranslatable("its `data` cannot be read")
            for name, value in data.entries.items():
                f = model.field(name)
                if f is None or f.kind not in ("scalar", "enum"):
                    continue  # nested writes and unknown keys: not part of the statement's filter
                col = quote(f.db_name)
                if isinstance(value, JsObject):
                    ops = {"increment": "+", "decrement": "-", "multiply": "*", "divide": "/"}
                    op_name = next(iter(value.entries), "")
                    if op_name in ops:
                        sets.append(f"{col} = ({filt.col(model, f, None)} {ops[op_name]} "
                                    f"{filt.value(model, f, value.entries[op_name], SET)})")
                    elif op_name == "set":
                        sets.append(f"{col} = {filt.value(model, f, value.entries['set'], SET)}")
                    continue
                sets.append(f"{col} = {filt.value(model, f, value, SET)}")
            for f in model.fields:
                if f.is_updated_at and f.name not in data.entries:
                    sets.append(f"{quote(f.db_name)} = {filt.value(model, f, JsExpr('new Date()', 'new', 0), SET)}")
            if not sets:
                raise Untranslatable("its `data` sets no column of the table")
        where = self.arg("where")
        cond = filt.where(model, where, None, collect=True)
        if cond.joins:
            raise Untranslatable("its filter needs joins a mutation cannot express")
        if self.operation == "updateMany":
            sql = f"UPDATE {table_sql(model)} SET {', '.join(sets)} WHERE {cond.sql or '1=1'}"
        else:
            sql = f"DELETE FROM {table_sql(model)} WHERE {cond.sql or '1=1'}"
        return Statement(f"{self.operation} on {model.db_name}", sql, params.items, qualified(model),
                         [a for a in accesses if _useful(a)])


def _orders_by_aggregate(order: JsValue | None) -> bool:
    items = order.items if isinstance(order, JsArray) else [order] if order is not None else []
    return any(isinstance(i, JsObject) and any(k.startswith("_") for k in i.entries) for i in items)


def _useful(access: Access) -> bool:
    return bool(access.equality or access.weak or access.range or access.sort)


_PLACEHOLDER = re.compile(r"\$(\d+)")


def expand_list(statement: Statement, count: int) -> tuple[str, list[Param]]:
    """A follow-up query with its `IN ($1)` list grown to `count` parameters (the parent rows' values), the other
    placeholders renumbered after it."""
    if not statement.list_param or count <= 1:
        return statement.sql, list(statement.params)
    shift = count - 1

    def renumber(match: re.Match[str]) -> str:
        n = int(match.group(1))
        return f"${n + shift}" if n > 1 else match.group(0)

    body = _PLACEHOLDER.sub(renumber, statement.sql)
    body = body.replace("IN ($1)", "IN (" + ",".join(f"${i}" for i in range(1, count + 1)) + ")", 1)
    first = statement.params[0]
    return body, [first] * count + list(statement.params[1:])
