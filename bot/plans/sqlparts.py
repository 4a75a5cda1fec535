"""The SQL pieces of a translation: table and column names as Prisma quotes them, and Prisma's `where` as SQL.

`Filter` follows prisma-engines' filter visitor (sql-query-builder) and quaint's PostgreSQL rendering: a filter
with several conditions is `(a AND b)`; enums compare as `CAST($n::text AS "public"."Enum")`; `contains` is
`"col"::text LIKE $n` (`"col" ILIKE $n` under `mode: "insensitive"`); a to-one relation filter is a
`LEFT JOIN ... AS "j1"` with `("j1"."id" IS NOT NULL)` (inside updateMany/deleteMany a sub-select); `some`/`none`/
`every` are `(parent) [NOT] IN (SELECT "t1"."fk" FROM child AS "t1" ...)`. Along the way it records, per table, what
an index would serve (Access): equality, weak equality, range and sort columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.plans.model import EQ, HIGH, LIKE, LOW, Access, Param
from bot.prisma.model import Field, Model, Relation, Schema
from bot.ts.values import JsArray, JsExpr, JsLiteral, JsObject, JsValue

DEFAULT_SCHEMA = "public"
_RANGE_OPS = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">="}
_LIKE_PATTERNS = {"contains": "%{}%", "startsWith": "{}%", "endsWith": "%{}"}
_SCALAR_OPS = frozenset({"equals", "not", "in", "notIn", "lt", "lte", "gt", "gte", "contains", "startsWith",
                         "endsWith", "mode"})


class Untranslatable(Exception):
    """This call (or this part of it) has no faithful SQL translation; the message says why, for the note."""


class SchemaLookup:
    """The head schema as the translator needs it: models by client accessor, enums by name, preview features."""

    def __init__(self, schemas: list[Schema]) -> None:
        self.schemas = schemas
        self.by_accessor: dict[str, Model] = {}
        self.enums: dict[str, tuple[str, str]] = {}  # enum name -> (db schema, db name)
        self.relation_joins = False
        for schema in schemas:
            for model in schema.all_models():
                self.by_accessor.setdefault(model.name[:1].lower() + model.name[1:], model)
            for enum in schema.enums.values():
                self.enums.setdefault(enum.name, (enum.db_schema or DEFAULT_SCHEMA, enum.db_name))
            if "relationJoins" in schema.preview_features():
                self.relation_joins = True

    def model(self, accessor: str | None) -> Model | None:
        return self.by_accessor.get(accessor or "")

    def model_named(self, name: str) -> Model | None:
        for schema in self.schemas:
            found = schema.model(name)
            if found is not None:
                return found
        return None


def qualified(model: Model) -> str:
    """`public.payouts`: how plans, stats and seeds name the table."""
    return f"{model.db_schema or DEFAULT_SCHEMA}.{model.db_name}"


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def table_sql(model: Model) -> str:
    return f"{quote(model.db_schema or DEFAULT_SCHEMA)}.{quote(model.db_name)}"


def short(raw: bytes | None) -> str:
    text = " ".join((raw or b"").decode("utf-8", "replace").split())
    return text if len(text) <= 60 else text[:57] + "..."


# -- the filter ----------------------------------------------------------------------------------------------------


@dataclass
class Cond:
    """A rendered condition and the joins it needs at the statement's top level."""

    sql: str
    joins: list[str] = field(default_factory=list)


def and_all(parts: list[str]) -> str | None:
    parts = [p for p in parts if p]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"


class Params:
    def __init__(self) -> None:
        self.items: list[Param] = []

    def add(self, param: Param) -> str:
        self.items.append(param)
        return f"${len(self.items)}"


class Aliases:
    def __init__(self) -> None:
        self.n = 0

    def next(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}{self.n}"


def literal_of(value: JsValue | None) -> tuple[bool, object]:
    if isinstance(value, JsLiteral):
        return True, value.value
    return False, None


def _scalar_value_ok(value: JsValue | None) -> bool:
    return isinstance(value, (JsLiteral, JsExpr))


class Filter:
    """Renders a `where` for one model (quaint's FilterVisitor): conditions, joins, and what an index would serve."""

    def __init__(self, lookup: SchemaLookup, params: Params, aliases: Aliases, accesses: list[Access],
                 *, mutation: bool) -> None:
        self.lookup, self.params, self.aliases, self.accesses = lookup, params, aliases, accesses
        self.mutation = mutation

    # columns

    def col(self, model: Model, f: Field, alias: str | None) -> str:
        owner = quote(alias) if alias else table_sql(model)
        return f"{owner}.{quote(f.db_name)}"

    def access_for(self, model: Model, alias: str | None) -> Access:
        """One Access per (model, alias) so the main table and each sub-select are advised separately."""
        for access in self.accesses:
            if access.table == qualified(model) and access.alias == (alias or ""):
                return access
        access = Access(model.name, qualified(model), alias=alias or "")
        self.accesses.append(access)
        return access

    def value(self, model: Model, f: Field, value: JsValue | None, kind: str, *, pattern: str = "{}",
              lower: bool = False) -> str:
        if not _scalar_value_ok(value):
            raise Untranslatable(f"the value compared with `{model.name}.{f.name}` is an object or array")
        known, literal = literal_of(value)
        if known and pattern != "{}":
            literal = pattern.format(literal)
        placeholder = self.params.add(Param(kind, qualified(model), f.db_name, known, literal, pattern, lower))
        if f.kind == "enum":
            schema, name = self.lookup.enums.get(f.type, (DEFAULT_SCHEMA, f.type))
            return f"CAST({placeholder}::text AS {quote(schema)}.{quote(name)})"
        return f"LOWER({placeholder})" if lower else placeholder

    # the where object

    def where(self, model: Model, where: JsValue | None, alias: str | None, collect: bool) -> Cond:
        if where is None or (isinstance(where, JsLiteral) and where.value is None):
            return Cond("")
        if isinstance(where, JsExpr):
            raise Untranslatable(f"its `where` is the expression `{short(where.text.encode())}`, whose fields are "
                                 "unknown")
        if not isinstance(where, JsObject):
            raise Untranslatable("its `where` is not an object")
        if where.spreads:
            raise Untranslatable(f"the `where` spreads `...{short(where.spreads[0].text.encode())}`, whose fields "
                                 "are unknown")
        parts: list[str] = []
        joins: list[str] = []
        for name, value in where.entries.items():
            for cond in self.entry(model, name, value, alias, collect):
                parts.append(cond.sql)
                joins.extend(cond.joins)
        return Cond(and_all(parts) or "", joins)

    def entry(self, model: Model, name: str, value: JsValue, alias: str | None, collect: bool) -> list[Cond]:
        if name in ("AND", "OR", "NOT"):
            return [self.logical(model, name, value, alias, collect)]
        f = model.field(name)
        if f is None:
            if isinstance(value, JsObject) and value.entries and all(model.field(k) for k in value.entries):
                # A compound unique input: `userId_slug: { userId, slug }` is an equality on each field.
                return [c for k, v in value.entries.items() for c in self.entry(model, k, v, alias, collect)]
            raise Untranslatable(f"`{name}` is not a field of model {model.name}")
        if f.kind == "relation":
            return [self.relation(model, f, value, alias, collect)]
        if f.kind not in ("scalar", "enum") or f.list:
            raise Untranslatable(f"filters on `{model.name}.{name}` ({f.type_text()}) are not translated")
        if f.type == "Json":
            raise Untranslatable(f"JSON filters on `{model.name}.{name}` are not translated")
        return self.scalar(model, f, value, alias, collect)

    def logical(self, model: Model, op: str, value: JsValue, alias: str | None, collect: bool) -> Cond:
        items = value.items if isinstance(value, JsArray) else [value]
        if isinstance(value, JsArray) and value.has_spread:
            raise Untranslatable(f"the `{op}` list spreads values whose filters are unknown")
        conds = [self.where(model, item, alias, collect and op == "AND") for item in items]
        joins = [j for c in conds for j in c.joins]
        parts = [c.sql or "1=1" for c in conds]
        if op == "AND":
            return Cond(and_all([c.sql for c in conds]) or "", joins)
        if op == "OR":
            if not parts:
                return Cond("1=0", joins)
            return Cond(parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")", joins)
        negated = [f"(NOT {p})" for p in parts]
        return Cond(and_all(negated) or "", joins)

    def scalar(self, model: Model, f: Field, value: JsValue, alias: str | None, collect: bool) -> list[Cond]:
        col = self.col(model, f, alias)
        access = self.access_for(model, alias) if collect else None
        weak_type = f.type == "Boolean" or f.kind == "enum"
        if not isinstance(value, JsObject):
            if isinstance(value, JsLiteral) and value.value is None:
                if access:
                    access.add("weak", f.name)
                return [Cond(f"{col} IS NULL")]
            if access:
                access.add("weak" if weak_type or (isinstance(value, JsLiteral) and isinstance(value.value, bool))
                           else "equality", f.name)
            return [Cond(f"{col} = {self.value(model, f, value, EQ)}")]
        if value.spreads:
            raise Untranslatable(f"the filter on `{model.name}.{f.name}` spreads values whose operators are unknown")
        unknown = set(value.entries) - _SCALAR_OPS
        if unknown:
            raise Untranslatable(f"the `{sorted(unknown)[0]}` filter on `{model.name}.{f.name}` is not translated")
        insensitive = isinstance(value.get("mode"), JsLiteral) and value.get("mode").value == "insensitive"  # type: ignore[union-attr]
        out: list[Cond] = []
        for op, operand in value.entries.items():
            if op == "mode":
                continue
            out.append(self.operator(model, f, col, op, operand, insensitive, access, weak_type, alias))
        return out

    def operator(self, model: Model, f: Field, col: str, op: str, operand: JsValue, insensitive: bool,
                 access: Access | None, weak_type: bool, alias: str | None) -> Cond:
        if op == "equals":
            if isinstance(operand, JsLiteral) and operand.value is None:
                if access:
                    access.add("weak", f.name)
                return Cond(f"{col} IS NULL")
            if access:
                weak = (weak_type and f.type == "Boolean") or (isinstance(operand, JsLiteral) and \
                    isinstance(operand.value, bool))
                access.add("weak" if weak else "equality", f.name)
            if insensitive:
                return Cond(f"{col} ILIKE {self.value(model, f, operand, LIKE)}")
            return Cond(f"{col} = {self.value(model, f, operand, EQ)}")
        if op == "not":
            if isinstance(operand, JsLiteral) and operand.value is None:
                return Cond(f"{col} IS NOT NULL")
            if isinstance(operand, JsObject):
                inner = JsObject({**operand.entries, **({"mode": JsLiteral("insensitive", "", 0)}
                                                        if insensitive else {})}, operand.line, operand.end_line)
                conds = self.scalar(model, f, inner, alias, False)
                return Cond("(NOT " + (and_all([c.sql for c in conds]) or "1=1") + ")")
            if insensitive:
                return Cond(f"{col} NOT ILIKE {self.value(model, f, operand, LIKE)}")
            return Cond(f"{col} <> {self.value(model, f, operand, EQ)}")
        if op in ("in", "notIn"):
            placeholders = self.list_values(model, f, operand, insensitive)
            if access and op == "in":
                access.add("weak" if f.type == "Boolean" else "equality", f.name)
            left = f"LOWER({col})" if insensitive else col
            if not placeholders:
                return Cond("1=0" if op == "in" else "1=1")
            word = "IN" if op == "in" else "NOT IN"
            return Cond(f"{left} {word} ({','.join(placeholders)})")
        if op in _RANGE_OPS:
            if access:
                access.add("range", f.name)
            kind = LOW if op in ("gt", "gte") else HIGH
            left = f"LOWER({col})" if insensitive else col
            return Cond(f"{left} {_RANGE_OPS[op]} {self.value(model, f, operand, kind, lower=insensitive)}")
        pattern = _LIKE_PATTERNS[op]
        if insensitive:
            return Cond(f"{col} ILIKE {self.value(model, f, operand, LIKE, pattern=pattern)}")
        return Cond(f"{col}::text LIKE {self.value(model, f, operand, LIKE, pattern=pattern)}")

    def list_values(self, model: Model, f: Field, operand: JsValue, lower: bool) -> list[str]:
        if isinstance(operand, JsArray) and not operand.has_spread:
            return [self.value(model, f, item, EQ, lower=lower) for item in operand.items]
        if isinstance(operand, (JsExpr, JsArray)):
            # A list the code computes: Prisma sends one parameter per element; ten stand for a typical list.
            return [self.value(model, f, JsExpr("", "identifier", 0), EQ, lower=lower) for _ in range(10)]
        raise Untranslatable(f"the `in` list of `{model.name}.{f.name}` is not a list")

    # relations

    def relation(self, model: Model, f: Field, value: JsValue, alias: str | None, collect: bool) -> Cond:
        rel = f.relation
        target = self.lookup.model_named(f.type)
        if rel is None or target is None:
            raise Untranslatable(f"the relation `{model.name}.{f.name}` cannot be resolved in the schema")
        if rel.implicit_many_to_many:
            raise Untranslatable(f"filters through the implicit many-to-many relation `{model.name}.{f.name}` are "
                                 "not translated yet")
        if len(rel.fields) != len(rel.references) or not rel.fields:
            raise Untranslatable(f"the relation `{model.name}.{f.name}` has no usable foreign key")
        here, there = link_fields(model, target, rel)
        if f.list:
            return self.to_many(model, f, target, here, there, value, alias, collect)
        return self.to_one(model, f, target, here, there, value, alias, collect)

    def to_many(self, model: Model, f: Field, target: Model, here: list[Field], there: list[Field],
                value: JsValue, alias: str | None, collect: bool) -> Cond:
        if not isinstance(value, JsObject) or value.spreads or not value.entries:
            raise Untranslatable(f"the filter on the list relation `{model.name}.{f.name}` cannot be read")
        conds: list[str] = []
        for op, nested in value.entries.items():
            if op not in ("some", "every", "none"):
                raise Untranslatable(f"`{op}` on the list relation `{model.name}.{f.name}` is not translated")
            sub_alias = self.aliases.next("t")
            inner = Filter(self.lookup, self.params, self.aliases, self.accesses, mutation=False)
            cond = inner.where(target, nested, sub_alias, collect=op == "some")
            if op == "some":
                access = inner.access_for(target, sub_alias)
                for tf in there:
                    access.add("equality", tf.name)
            nested_sql = cond.sql
            if op == "every":
                nested_sql = f"(NOT {nested_sql})" if nested_sql else "1=0"
            not_null = [f"{quote(sub_alias)}.{quote(tf.db_name)} IS NOT NULL" for tf in there]
            where_sql = and_all([nested_sql or "1=1", *not_null])
            cols = ", ".join(f"{quote(sub_alias)}.{quote(tf.db_name)}" for tf in there)
            joins = "".join(" " + j for j in cond.joins)
            select = f"SELECT {cols} FROM {table_sql(target)} AS {quote(sub_alias)}{joins} WHERE {where_sql}"
            left = "(" + ", ".join(self.col(model, hf, alias) for hf in here) + ")"
            word = "IN" if op == "some" else "NOT IN"
            conds.append(f"{left} {word} ({select})")
        return Cond(and_all(conds) or "")

    def to_one(self, model: Model, f: Field, target: Model, here: list[Field], there: list[Field],
               value: JsValue, alias: str | None, collect: bool) -> Cond:
        holds_fk = f.relation is not None and f.relation.model is model and f.relation.field is f
        negate = False
        if isinstance(value, JsLiteral) and value.value is None:
            nested: JsValue | None = None
            null_check = True
        elif isinstance(value, JsObject) and not value.spreads and set(value.entries) <= {"is", "isNot"} \
                and value.entries:
            if len(value.entries) > 1:
                raise Untranslatable(f"both `is` and `isNot` on `{model.name}.{f.name}` are not translated")
            op, nested = next(iter(value.entries.items()))
            negate = op == "isNot"
            null_check = isinstance(nested, JsLiteral) and nested.value is None
            if null_check and negate:
                return self.not_null_relation(model, f, target, here, there, alias, holds_fk)
        elif isinstance(value, JsObject) and not value.spreads:
            nested, null_check = value, False
        else:
            raise Untranslatable(f"the filter on the relation `{model.name}.{f.name}` cannot be read")
        if null_check:
            if holds_fk:
                return Cond("(" + " AND ".join(f"{self.col(model, hf, alias)} IS NULL" for hf in here) + ")")
            join_alias = self.aliases.next("j")
            join = self.join(model, target, here, there, alias, join_alias)
            checks = " AND ".join(f"{quote(join_alias)}.{quote(tf.db_name)} IS NULL" for tf in there)
            return Cond(f"({checks})", [join])
        if self.mutation:
            return self.to_one_subselect(model, target, here, there, nested, alias, negate)
        join_alias = self.aliases.next("j")
        join = self.join(model, target, here, there, alias, join_alias)
        inner = Filter(self.lookup, self.params, self.aliases, self.accesses, mutation=False)
        cond = inner.where(target, nested, join_alias, collect=collect and not negate)
        if collect and not negate and not holds_fk:
            access = inner.access_for(target, join_alias)
            for tf in there:
                access.add("equality", tf.name)
        if collect and not negate and holds_fk and cond.sql:
            # Prisma can look the parent rows up first and join back through the foreign key.
            access = self.access_for(model, alias)
            for hf in here:
                access.add("equality", hf.name)
        ids = [pf for pf in primary_fields(target)]
        not_null = "(" + " AND ".join(f"{quote(join_alias)}.{quote(pf.db_name)} IS NOT NULL" for pf in ids) + ")"
        if negate:
            nulls = "(" + " AND ".join(f"{quote(join_alias)}.{quote(pf.db_name)} IS NULL" for pf in ids) + ")"
            return Cond(f"((NOT {cond.sql or '1=1'}) OR {nulls})", [join, *cond.joins])
        return Cond(and_all([cond.sql, not_null]) or "", [join, *cond.joins])

    def not_null_relation(self, model: Model, f: Field, target: Model, here: list[Field], there: list[Field],
                          alias: str | None, holds_fk: bool) -> Cond:
        if holds_fk:
            return Cond("(" + " AND ".join(f"{self.col(model, hf, alias)} IS NOT NULL" for hf in here) + ")")
        join_alias = self.aliases.next("j")
        join = self.join(model, target, here, there, alias, join_alias)
        checks = " AND ".join(f"{quote(join_alias)}.{quote(tf.db_name)} IS NOT NULL" for tf in there)
        return Cond(f"({checks})", [join])

    def join(self, model: Model, target: Model, here: list[Field], there: list[Field], alias: str | None,
             join_alias: str) -> str:
        left = ", ".join(f"{quote(join_alias)}.{quote(tf.db_name)}" for tf in there)
        right = ", ".join(self.col(model, hf, alias) for hf in here)
        return f"LEFT JOIN {table_sql(target)} AS {quote(join_alias)} ON ({left}) = ({right})"

    def to_one_subselect(self, model: Model, target: Model, here: list[Field], there: list[Field],
                         nested: JsValue | None, alias: str | None, negate: bool) -> Cond:
        sub_alias = self.aliases.next("t")
        inner = Filter(self.lookup, self.params, self.aliases, self.accesses, mutation=False)
        cond = inner.where(target, nested, sub_alias, collect=not negate)
        not_null = [f"{quote(sub_alias)}.{quote(tf.db_name)} IS NOT NULL" for tf in there]
        cols = ", ".join(f"{quote(sub_alias)}.{quote(tf.db_name)}" for tf in there)
        joins = "".join(" " + j for j in cond.joins)
        select = f"SELECT {cols} FROM {table_sql(target)} AS {quote(sub_alias)}{joins} WHERE " \
                 f"{and_all([cond.sql or '1=1', *not_null])}"
        left = "(" + ", ".join(self.col(model, hf, alias) for hf in here) + ")"
        return Cond(f"{left} {'NOT IN' if negate else 'IN'} ({select})")


def link_fields(model: Model, target: Model, rel: Relation) -> tuple[list[Field], list[Field]]:
    """The columns that join `model` to `target` through `rel`: (this side's, the other side's)."""
    fk = [f for n in rel.fields if (f := rel.model.field(n)) is not None]
    refs = [f for n in rel.references if (f := rel.target.field(n)) is not None]
    if len(fk) != len(rel.fields) or len(refs) != len(rel.references):
        raise Untranslatable(f"the relation between {model.name} and {target.name} names unknown fields")
    if rel.model is model and rel.target is not model:
        return fk, refs
    if rel.target is model and rel.model is not model:
        return refs, fk
    # A self-relation: the side that holds the foreign key is the one whose relation field is rel.field.
    return fk, refs


def primary_fields(model: Model) -> list[Field]:
    pk = model.primary_key
    if pk is not None:
        found = [f for n in pk.columns if (f := model.field(n)) is not None]
        if found:
            return found
    for unique in model.uniques:
        found = [f for n in unique.columns if (f := model.field(n)) is not None]
        if found and all(f.required for f in found):
            return found
    raise Untranslatable(f"model {model.name} has no primary key or required unique key")


def unique_sets(model: Model) -> list[set[str]]:
    sets = [set(model.primary_key.columns)] if model.primary_key is not None else []
    sets.extend(set(u.columns) for u in model.uniques)
    return [s for s in sets if s]
