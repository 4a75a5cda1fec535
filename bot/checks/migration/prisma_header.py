"""Prisma's `/* Warnings: ... */` header: each warning the SQL rules did not already report becomes a finding."""

from __future__ import annotations

from bot.findings import Finding, Severity, Surface
from bot.registry import define
from bot.sql.model import ParsedMigration, PrismaWarning
from bot.sql.ops import Op
from bot.sql.state import MigrationModel

PRISMA_WARNING = define(
    "migration/prisma-warning", Severity.WARNING, Surface.MIGRATION,
    "A warning Prisma wrote into the migration's header that no other rule reports",
)

_ERROR_KINDS = {"drop_column", "drop_table", "add_required", "add_required_prisma_default", "drop_recreate_column",
                "drop_recreate_required", "enum_values_removed", "not_castable", "scalar_to_list"}
_ADVICE = {
    "drop_column": "Ship code that no longer uses the field first (`@ignore` it for one release).",
    "drop_table": "Ship code that no longer uses the model first (`@@ignore` it for one release).",
    "add_required": "Add the column as optional, backfill it, then make it required in a later migration.",
    "add_required_prisma_default": "Add the column as optional, backfill it, then make it required later.",
    "made_required": "Backfill the NULLs before this migration runs.",
    "unique_added": "Check for duplicates before deploying.",
    "enum_values_removed": "Migrate the rows that hold these values before removing them.",
    "primary_key_change": "Build the new key's unique index CONCURRENTLY first and attach it with USING INDEX.",
    "risky_cast": "Check that every value survives the cast, or expand and contract through a new column.",
    "not_castable": "Check that every value survives the cast, or expand and contract through a new column.",
    "drop_recreate_column": "Convert in place with ALTER COLUMN ... TYPE ... USING, or copy through a new column.",
    "drop_recreate_required": "Convert in place with ALTER COLUMN ... TYPE ... USING, or copy through a new column.",
    "scalar_to_list": "Convert in place with `USING ARRAY[col]`, or copy through a new column.",
}


def uncovered(model: MigrationModel, covered: set[tuple[str, str | None, str | None]]) -> list[PrismaWarning]:
    """Warnings no finding reports, whose risky step is still in the SQL.

    A warning whose step is gone was handled by hand-editing the SQL (the header stays as Prisma wrote it), like
    langfuse's "required column" warnings above an ADD COLUMN made nullable plus a backfill: those stay quiet.
    """
    out: list[PrismaWarning] = []
    copied = _copied_through(model)
    for w in model.parsed.warnings:
        if (w.kind, w.table, w.column) in covered or (w.kind, w.table, None) in covered:
            continue
        if w.kind in _RECREATE_KINDS and (w.table, w.column) in copied:
            continue  # the author already did what the advice says: copied the values through a new column
        steps = [st for st in model.ops if _matches(w, st.op)]
        if w.kind != "other" and not steps:
            continue
        if steps and all(st.new_table or st.new_column for st in steps):
            # The step acts on a table or column this change created (a PR's own temporary column, or a model
            # whose required field was added a migration later): no deployed row can be lost or block it, which is
            # why the SQL rules stayed quiet (spliit, openpanel, wasp-lang on real PRs).
            continue
        out.append(w)
    return out


_RECREATE_KINDS = {"drop_recreate_column", "drop_recreate_required", "not_castable", "risky_cast", "scalar_to_list"}


def _copied_through(model: MigrationModel) -> set[tuple[str | None, str | None]]:
    """(table, column) of both names of each hand-written swap through a temporary column with the values copied
    (bot.checks.migration.destructive: workout-cool's text-to-enum conversion under Prisma's "no cast exists")."""
    from bot.checks.migration.destructive import swapped_columns

    swaps = swapped_columns(model)
    return {(st.op.table, name) for st in model.ops if id(st.op) in swaps
            for name in (st.op.column, st.op.data.get("new"))}


def _matches(w: PrismaWarning, op: Op) -> bool:
    same_col = op.table == w.table and op.column == w.column
    if w.kind in ("drop_column", "drop_recreate_column", "drop_recreate_required", "scalar_to_list"):
        return op.kind == "drop_column" and same_col
    if w.kind == "drop_table":
        return op.kind == "drop_table" and op.table == w.table
    if w.kind in ("add_required", "add_required_prisma_default"):
        return op.kind == "add_column" and same_col and op.data["col"].not_null and op.data["col"].default is None
    if w.kind == "made_required":
        return op.kind == "set_not_null" and same_col
    if w.kind == "unique_added":
        return op.table == w.table and (
            (op.kind == "create_index" and bool(op.data.get("unique")))
            or (op.kind == "add_constraint" and op.data.get("contype") in ("unique", "pk")
                and not op.data.get("using_index")))
    if w.kind == "primary_key_change":
        return (op.kind == "add_constraint" and op.table == w.table and op.data.get("contype") == "pk"
                and not op.data.get("using_index"))
    if w.kind == "enum_values_removed":
        return op.kind in ("create_enum", "drop_type") and (op.name or "").startswith(w.table or "\0")
    if w.kind in ("risky_cast", "not_castable"):
        return op.kind == "alter_type" and same_col
    return False


def findings(parsed: ParsedMigration, warnings: list[PrismaWarning], header_end: int) -> list[Finding]:
    out: list[Finding] = []
    for w in warnings:
        advice = _ADVICE.get(w.kind, "Read it before deploying: Prisma only writes it when the step can fail or "
                                     "lose data.")
        out.append(PRISMA_WARNING.finding(
            parsed.path, w.line,
            f"Prisma warned when it generated this migration: \"{w.text}\" {advice}",
            severity=Severity.ERROR if w.kind in _ERROR_KINDS else Severity.WARNING,
            key=f"prisma warning {w.kind} {w.table}.{w.column}",
            scope=(1, max(header_end, w.line)),
        ))
    return out
