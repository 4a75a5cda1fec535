"""Column changes on tables with data: SET NOT NULL, required columns without a database default, columns whose
default or kind rewrites the table, and ALTER COLUMN TYPE outside the binary-compatible casts."""

from __future__ import annotations

import re

from bot.checks.migration._common import Env, Hit, q, qn
from bot.findings import Severity, Surface
from bot.registry import define
from bot.sql import locks as L
from bot.sql.state import MigrationModel

SET_NOT_NULL = define(
    "migration/set-not-null", Severity.WARNING, Surface.MIGRATION,
    "SET NOT NULL on a column of a table with data (full scan under ACCESS EXCLUSIVE; fails on NULLs)",
    aliases=("squawk:adding-not-nullable-field", "eugene:E2"),
)
ADD_REQUIRED_COLUMN = define(
    "migration/add-required-column", Severity.ERROR, Surface.MIGRATION,
    "ADD COLUMN ... NOT NULL without a database default on a table with data fails the deploy",
    aliases=("squawk:adding-required-field",),
)
ADD_COLUMN_REWRITE = define(
    "migration/add-column-rewrite", Severity.WARNING, Surface.MIGRATION,
    "Column added with a volatile default, serial, identity or stored generated value: rewrites the table",
    aliases=("squawk:adding-field-with-default", "eugene:E11"),
)
COLUMN_TYPE_CHANGE = define(
    "migration/column-type-change", Severity.WARNING, Surface.MIGRATION,
    "ALTER COLUMN TYPE that is not binary-compatible rewrites the table and its indexes under ACCESS EXCLUSIVE",
    aliases=("squawk:changing-column-type", "eugene:E5"),
)

_MOD = re.compile(r"^([^(]+)(?:\(([^)]*)\))?$")


def check(model: MigrationModel, env: Env) -> list[Hit]:
    hits: list[Hit] = []
    added_here: set[tuple[str, str]] = set()
    not_null_checks = _validated_not_null_checks(model)
    type_changes: dict[tuple[int, str], list] = {}  # type: ignore[type-arg]
    for st in model.ops:
        op = st.op
        t = q(op.table)
        c = q(op.column)
        subject = f"column {op.subject}"
        if op.kind == "add_column":
            added_here.add((op.table or "", op.column or ""))
            if not st.existing:
                continue
            col = op.data["col"]
            if col.not_null and col.default is None and not col.identity and not col.generated_stored:
                prisma_default = (op.table or "", op.column or "") in env.prisma_level_defaults or any(
                    w.kind == "add_required_prisma_default" and w.table == op.table and w.column == op.column
                    for w in model.parsed.warnings)
                why = (" The field's @default(uuid()/cuid()/...) is applied by Prisma Client on insert, not by "
                       "the database, so it does not help here." if prisma_default else "")
                hits.append(Hit(
                    ADD_REQUIRED_COLUMN, op.stmt, subject,
                    f"ADD COLUMN {c} {col.type.upper()} NOT NULL on {t} has no database default, so it fails "
                    f"(23502) on any {t} that has rows, and pods still running the old code cannot insert "
                    f"afterwards.{why} Add it as optional (`{op.column} <Type>?`) and backfill it, then make it "
                    "required in a later migration; or give it a database default (`@default(...)` with a "
                    "literal or `dbgenerated(...)`).",
                    "the required column without a default fails on existing rows",
                    key=f"add column {op.table}.{op.column}",
                    covers=[("add_required", op.table, op.column), ("add_required_prisma_default", op.table,
                                                                      op.column)],
                ))
            elif col.default_volatile or col.identity or col.generated_stored:
                what = ("an identity column" if col.identity else "a stored generated column" if
                        col.generated_stored else f"a {col.type} column" if col.type.endswith("serial") else
                        f"a column with the volatile default {col.default}")
                unknown = (f" {', '.join(f + '()' for f in col.default_unknown_funcs)} is not a built-in PostgreSQL "
                           "knows to be IMMUTABLE or STABLE and no migration of this history defines it so; unless "
                           "the database declares it IMMUTABLE or STABLE, it is volatile (the default for "
                           "CREATE FUNCTION)." if col.default_unknown_funcs and not col.identity
                           and not col.generated_stored and not col.type.endswith("serial") else "")
                if unknown:
                    what = f"a column with the default {col.default}"
                hits.append(Hit(
                    ADD_COLUMN_REWRITE, op.stmt, subject,
                    f"Adding {what} ({c}) to {t} computes a value for every existing row: PostgreSQL rewrites the "
                    f"whole table and its indexes while holding {L.a_lock(L.ACCESS_EXCLUSIVE)}.{unknown} Add the "
                    "column without the default (nullable), set the default for new rows with "
                    f"`ALTER TABLE {t} ALTER COLUMN {c} SET DEFAULT ...;`, backfill existing rows in batches, then "
                    "add NOT NULL.",
                    "the new column's value rewrites the table",
                    key=f"add column {op.table}.{op.column}",
                ))
        elif op.kind == "set_not_null":
            if not st.existing or st.not_null_checked or (op.table or "", op.column or "") in not_null_checks:
                continue
            name = f"{(op.table or '').split('.')[-1]}_{op.column}_not_null"  # constraint names are unqualified
            hits.append(Hit(
                SET_NOT_NULL, op.stmt, subject,
                f"SET NOT NULL on {t}.{c} scans the whole table while holding {L.a_lock(L.ACCESS_EXCLUSIVE)}, "
                "and fails (23502) if any row is NULL. Backfill the NULLs first, then: "
                f"`ALTER TABLE {t} ADD CONSTRAINT {qn(name)} CHECK ({c} IS NOT NULL) NOT VALID;` in one migration, "
                f"`ALTER TABLE {t} VALIDATE CONSTRAINT {qn(name)};` in the next (reads and writes go on), then "
                f"`ALTER TABLE {t} ALTER COLUMN {c} SET NOT NULL;` (PostgreSQL 12+ skips the scan thanks to the "
                f"valid CHECK) and `ALTER TABLE {t} DROP CONSTRAINT {qn(name)};`.",
                "SET NOT NULL scans the table under ACCESS EXCLUSIVE",
                key=f"set not null {op.table}.{op.column}",
                covers=[("made_required", op.table, op.column)],
            ))
        elif op.kind == "alter_type":
            if not st.existing or (op.table or "", op.column or "") in added_here:
                continue
            old = st.column_before.type if st.column_before else None
            new = op.data["new_type"] + ("[]" if op.data.get("is_array") else "")
            if old is not None and st.column_before is not None and st.column_before.is_array:
                old += "[]"
            verdict = cast_verdict(old, new, op.data.get("using"))
            if verdict != "safe":
                type_changes.setdefault((op.stmt.index, op.table or ""), []).append((st, old, new, verdict))
    for changes in type_changes.values():
        hits.append(_type_change_hit(changes))
    return hits


def _type_change_hit(changes: list) -> Hit:  # type: ignore[type-arg]
    st = changes[0][0]
    op = st.op
    t = q(op.table)
    parts = []
    for c_st, old, new, _v in changes:
        c = q(c_st.op.column)
        using = " with a USING expression" if c_st.op.data.get("using") else ""
        parts.append(f"{c} from {old} to {new}{using}" if old else
                     f"{c} to {new}{using} (current type unknown from the history)")
    covers = [(k, op.table, c_st.op.column) for c_st, *_ in changes for k in ("risky_cast", "not_castable")]
    if all(v == "reindex" for *_x, v in changes):
        return Hit(
            COLUMN_TYPE_CHANGE, op.stmt, f"types {op.table}",
            f"Changing {t}: {'; '.join(parts)} is binary-compatible, so PostgreSQL keeps the table's rows, but every "
            "index on the column changes operator class and is rebuilt while the statement holds "
            f"{L.a_lock(L.ACCESS_EXCLUSIVE)}. Quick when the column has no index; on a large indexed column, "
            "expect the table to be blocked for as long as those index builds take.",
            "the type change rebuilds the column's indexes",
            severity=Severity.INFO, key=f"alter type {op.table}", covers=covers,
        )
    if all(v == "utc" for *_x, v in changes):
        return Hit(
            COLUMN_TYPE_CHANGE, op.stmt, f"types {op.table}",
            f"Changing {t}: {'; '.join(parts)} is metadata-only when the session TimeZone is UTC (PostgreSQL 12+); "
            f"under any other TimeZone it rewrites the table under {L.a_lock(L.ACCESS_EXCLUSIVE)}. Add "
            "`SET TIME ZONE 'UTC';` at the top of this migration.",
            "the type change rewrites unless TimeZone is UTC",
            severity=Severity.INFO, key=f"alter type {op.table}", covers=covers,
        )
    return Hit(
        COLUMN_TYPE_CHANGE, op.stmt, f"types {op.table}",
        f"Changing {t}: {'; '.join(parts)}. "
        + ("That is not a binary-compatible change" if all(old for _s, old, _n, _v in changes) else
           "Unless the current type is binary-compatible with the new one (varchar to text, text to citext)")
        + f": PostgreSQL rewrites {t} and "
        f"rebuilds its indexes while holding {L.a_lock(L.ACCESS_EXCLUSIVE)}, and the statement fails if a "
        "value does not convert. No rewrite: varchar(n) to a longer varchar or to text, numeric(p,s) to a larger "
        "precision with the same scale, timestamp(p) to timestamptz(p) under TimeZone UTC without USING. "
        "Otherwise expand and contract: add a new column, write both, backfill in batches, switch reads (`@map` "
        "the field to the new column), then drop the old one.",
        "the type change rewrites the table",
        key=f"alter type {op.table}", covers=covers,
    )


def cast_verdict(old: str | None, new: str, using: str | None) -> str:
    """"safe" (no rewrite), "utc" (safe only under TimeZone UTC), "reindex" (binary-compatible, but the column's
    indexes change operator class and are rebuilt) or "rewrite"."""
    if old is None:
        return "rewrite"
    if old == new and using is None:
        return "safe"
    if using is not None:
        return "rewrite"
    if old.endswith("[]") != new.endswith("[]"):
        return "rewrite"
    o, n = _MOD.match(old.removesuffix("[]")), _MOD.match(new.removesuffix("[]"))
    if not o or not n:
        return "rewrite"
    ob, om = o.group(1), o.group(2)
    nb, nm = n.group(1), n.group(2)
    if ob == "varchar" and nb == "text":
        return "safe"
    if ob == "varchar" and nb == "varchar":
        return "safe" if nm is None or (om is not None and int(nm) >= int(om)) else "rewrite"
    if ob == "text" and nb == "varchar" and nm is None:
        return "safe"
    if ob == "numeric" and nb == "numeric":
        if nm is None:
            return "safe"
        if om is None:
            return "rewrite"
        op_, os_ = _prec(om)
        np_, ns_ = _prec(nm)
        return "safe" if ns_ == os_ and np_ >= op_ else "rewrite"
    if ob in ("timestamp", "timestamptz", "time", "timetz", "interval") and nb == ob:
        return "safe" if nm is None or (om is not None and int(nm) >= int(om)) else "rewrite"
    if ob in ("varbit", "bit varying") and nb == ob:
        return "safe" if nm is None or (om is not None and int(nm) >= int(om)) else "rewrite"
    if ob == "cidr" and nb == "inet":
        return "safe"
    # citext's casts to and from text/varchar are WITHOUT FUNCTION: no rewrite, but text_ops -> citext_ops
    if {ob, nb} <= {"text", "varchar", "citext"} and "citext" in (ob, nb) and nm is None:
        return "reindex"
    if ob == "timestamp" and nb == "timestamptz":
        return "utc" if nm is None or om is None or int(nm) >= int(om) else "rewrite"
    return "rewrite"


def _prec(mods: str) -> tuple[int, int]:
    parts = [int(p) for p in mods.split(",") if p.strip().isdigit()]
    return (parts[0] if parts else 0, parts[1] if len(parts) > 1 else 0)


def _validated_not_null_checks(model: MigrationModel) -> set[tuple[str, str]]:
    """(table, column) pairs whose NOT NULL check this file validates although the replayed history does not know the
    constraint (added by SQL outside the migrations, or a history this review cannot see): a VALIDATE CONSTRAINT
    whose name names the column (`foo_bar_not_null`, `bar_nn`) before SET NOT NULL on that column is taken to be
    the CHECK (bar IS NOT NULL) of the documented recipe. Checks the history knows are tracked by the state model
    (OpState.not_null_checked), across migrations."""
    out: set[tuple[str, str]] = set()
    validated: dict[str, list[str]] = {}
    for st in model.ops:
        op = st.op
        if op.kind == "validate_constraint" and op.name and not st.known_constraint:
            validated.setdefault(op.table or "", []).append(op.name.lower())
        elif op.kind == "set_not_null" and op.column:
            column = op.column.lower()
            if any(column in name and ("null" in name or name.endswith("_nn") or "_nn_" in name)
                   for name in validated.get(op.table or "", [])):
                out.add((op.table or "", op.column))
    return out
