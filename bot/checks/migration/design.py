"""Design of new tables, once per table: column types (timestamp without time zone, float for money, json,
varchar(n)/char(n), int/serial keys), foreign keys with no index, and tenant tables without row level security
when the project uses it elsewhere."""

from __future__ import annotations

import re

from bot.checks.migration._common import Env, Hit, cols, q, qn
from bot.findings import Severity, Surface
from bot.registry import define
from bot.sql.ops import ColumnInfo
from bot.sql.state import MigrationModel

NEW_TABLE_TYPES = define(
    "migration/new-table-types", Severity.INFO, Surface.MIGRATION,
    "Column types in a new table that are hard to change later (one finding per table)",
    # not squawk:prefer-identity: Prisma has no identity columns (autoincrement() is always SERIAL), so that advice
    # cannot be followed in a Prisma schema
    aliases=("squawk:prefer-timestamp-tz", "squawk:prefer-text-field", "squawk:ban-char-field",
             "squawk:prefer-bigint-over-int", "squawk:prefer-bigint-over-smallint"),
    # timestamp: also report a table whose only problem is Prisma's default TIMESTAMP(3) (off: a Prisma project
    # writes UTC through the client, and the schema analyzer reports it on the model)
    options={"timestamp": False, "varchar": True, "int_keys": True},
)
FK_WITHOUT_INDEX = define(
    "migration/fk-without-index", Severity.WARNING, Surface.MIGRATION,
    "Foreign key whose columns lead no index: deletes on the parent and joins scan the child table",
    aliases=("eugene:E15",),
)
RLS_MISSING = define(
    "migration/rls-missing", Severity.WARNING, Surface.MIGRATION,
    "New tenant table without row level security in a project that uses RLS on its other tables",
)

MONEY = re.compile(r"(price|amount|cost|total|balance|fee|salary|money|revenue|tax|discount|payment|charge|credit|"
                   r"debit|subtotal|payout|refund|wage|budget)", re.I)
TENANT = re.compile(r"^(tenant|organization|organisation|org|workspace|account|team|company)_?id$", re.I)
# The schema analyzer reports the same problems on schema.prisma when the schema is part of the change.
SCHEMA_TWINS = {"migration/fk-without-index": ("prisma/fk-missing-index",),
                "migration/new-table-types": ("prisma/float-money", "prisma/timestamp-without-timezone")}


def check(model: MigrationModel, env: Env) -> list[Hit]:
    hits: list[Hit] = []
    for st in model.ops:
        op = st.op
        if op.kind != "create_table" or op.data.get("as_select") or op.data.get("partition_of"):
            continue
        if NEW_TABLE_TYPES.id not in env.deferred:
            hit = _types(st.op, env)
            if hit:
                hits.append(hit)
        if model.uses_rls_before and op.table not in model.rls_after:
            tenant = [c.name for c in op.data["columns"] if TENANT.match(c.name)]
            if tenant:
                t = q(op.table)
                hits.append(Hit(
                    RLS_MISSING, op.stmt, f"rls {op.table}",
                    f"{t} has the tenant column {q(tenant[0])} but no row level security, while the project enables "
                    "RLS on its other tables: queries on it are not tenant-isolated. Add "
                    f"`ALTER TABLE {t} ENABLE ROW LEVEL SECURITY;` and a policy like the other tables' in this "
                    "migration.",
                    "the tenant table has no row level security",
                    key=f"rls {op.table}",
                ))
    if FK_WITHOUT_INDEX.id not in env.deferred:
        hits.extend(_fk_indexes(model))
    return hits


def _types(op, env: Env) -> Hit | None:  # type: ignore[no-untyped-def]
    columns: list[ColumnInfo] = op.data["columns"]
    pk_cols = {c for con in op.data.get("constraints", []) if con.get("contype") == "pk" for c in con["columns"]}
    problems: list[str] = []
    severity = Severity.INFO
    money = [c.name for c in columns if c.type in ("float8", "float4") and MONEY.search(c.name)]
    if money:
        severity = Severity.WARNING
        problems.append(f"{cols(money)} {_v(money, 'holds', 'hold')} money as a binary float (Float), which "
                        "cannot represent 0.10 exactly: "
                        "use `Decimal @db.Decimal(12, 2)` (NUMERIC) or integer cents")
    js = [c.name for c in columns if c.type == "json"]
    if js:
        severity = Severity.WARNING
        problems.append(f"{cols(js)} {_v(js, 'uses', 'use')} json, which cannot be compared, indexed with GIN "
                        "or used in SELECT DISTINCT: use jsonb (drop `@db.Json`)")
    vc = [f"{c.name} {c.type}" for c in columns if c.type.startswith(("varchar(", "char("))]
    if vc and env_option(env, "varchar"):
        problems.append(f"{', '.join(vc)} {_v(vc, 'has', 'have')} a length limit; raising it later is cheap "
                        "for varchar but not for char, and text with a CHECK is easier to change")
    # only a key the table numbers itself (a one-column autoincrement key): a 32-bit key column that is part of
    # a composite key or takes its values from another table (SelectedCalendar("userId", ...)) follows that table
    keys = [c for c in columns if (c.name in pk_cols or c.primary_key) and len(pk_cols | {c.name}) == 1
            and (c.type in ("serial", "smallserial") or (c.type in ("int4", "int2") and (
                c.identity or (c.default or "").startswith("nextval"))))]
    if keys and env_option(env, "int_keys"):
        problems.append(f"the key {cols([k.name for k in keys])} is a 32-bit integer, which runs out at 2.1 billion "
                        "rows: `BigInt @default(autoincrement())` costs 4 bytes more")
    ts = [c.name for c in columns if c.type.startswith("timestamp(") or c.type == "timestamp"]
    if ts and (problems or env_option(env, "timestamp")):
        problems.append(f"{cols(ts)} {_v(ts, 'is', 'are')} TIMESTAMP without time zone (Prisma's DateTime "
                        "default): fine while only Prisma writes UTC, wrong as soon as SQL uses now() in a "
                        "non-UTC session; `@db.Timestamptz(3)` avoids it")
    if not problems:
        return None
    return Hit(
        NEW_TABLE_TYPES, op.stmt, f"types {op.table}",
        f"New table {q(op.table)}: " + "; ".join(problems) + ".",
        "column types",
        severity=severity,
        key=f"types {op.table}",
    )


def _v(items: list, one: str, many: str) -> str:  # type: ignore[type-arg]
    return one if len(items) == 1 else many


def env_option(env: Env, name: str) -> bool:
    return bool(env.type_options.get(name, NEW_TABLE_TYPES.options.get(name, True)))


def _fk_indexes(model: MigrationModel) -> list[Hit]:
    hits: list[Hit] = []
    for st in model.ops:
        op = st.op
        fks: list[dict] = []
        if op.kind == "add_constraint" and op.data.get("contype") == "fk":
            fks = [op.data]
        elif op.kind == "create_table":
            fks = [c for c in op.data.get("constraints", []) if c.get("contype") == "fk"]
        for fk in fks:
            table = op.table or ""
            fk_cols = list(fk.get("columns") or [])
            if not fk_cols:
                continue
            indexes = model.indexes_after.get(table, [])
            if any(list(ix[: len(fk_cols)]) == fk_cols for ix in indexes):
                continue
            name = f"{table.split('.')[-1]}_{'_'.join(fk_cols)}_idx"  # an index is named without its schema
            hits.append(Hit(
                FK_WITHOUT_INDEX, op.stmt, f"constraint {fk.get('name') or op.name or table}",
                f"The foreign key {q(table)}({cols(fk_cols)}) -> {q(fk.get('ref_table'))} has no index starting "
                f"with {cols(fk_cols)} (Prisma never creates one): every delete or key update on "
                f"{q(fk.get('ref_table'))} scans {q(table)}, and so does every `include` of this relation. Add "
                f"`@@index([{', '.join(c for c in fk_cols)}])` to the model (SQL: `CREATE INDEX {qn(name)} ON "
                f"{q(table)}({cols(fk_cols)});`).",
                "the foreign key has no index",
                key=f"fk index {table}({','.join(fk_cols)})",
            ))
    return hits
