"""Constraints added to tables with data: FK/CHECK without NOT VALID, NOT VALID + VALIDATE in one transaction,
UNIQUE/PRIMARY KEY without USING INDEX."""

from __future__ import annotations

from bot.checks.migration._common import Env, Hit, cols, q, qn, single_line_suggestion
from bot.findings import Severity, Surface
from bot.prisma.volume import large_by_name
from bot.registry import define
from bot.sql import locks as L
from bot.sql.state import MigrationModel

CONSTRAINT_NOT_VALID = define(
    "migration/constraint-not-valid", Severity.WARNING, Surface.MIGRATION,
    "FOREIGN KEY or CHECK (also on ADD COLUMN, or on a domain) added to data without NOT VALID (full scan under a "
    "write-blocking lock)",
    aliases=("squawk:adding-foreign-key-constraint", "squawk:constraint-missing-not-valid",
             "squawk:ban-alter-domain-with-add-constraint", "eugene:E1"),
)
VALIDATE_SAME_TX = define(
    "migration/validate-same-transaction", Severity.WARNING, Surface.MIGRATION,
    "NOT VALID and VALIDATE CONSTRAINT in the same migration: the lock is held through the scan anyway",
    aliases=("squawk:constraint-missing-not-valid",),
)
UNIQUE_WITHOUT_INDEX = define(
    "migration/unique-without-index", Severity.WARNING, Surface.MIGRATION,
    "UNIQUE or PRIMARY KEY (also on ADD COLUMN) added to a table with data without USING INDEX (index built under "
    "ACCESS EXCLUSIVE)",
    aliases=("squawk:disallowed-unique-constraint", "squawk:adding-serial-primary-key-field", "eugene:E7"),
)


def check(model: MigrationModel, env: Env) -> list[Hit]:
    hits: list[Hit] = []
    not_valid_at: dict[str, tuple[int, int]] = {}  # name -> (line, transaction)
    dropped: set[str] = set()
    added: set[tuple[str | None, str | None]] = set()
    added_null: set[tuple[str | None, str | None]] = set()  # added here without a default: NULL in every row
    for st in model.ops:
        op = st.op
        d = op.data
        if op.kind in ("drop_constraint", "drop_index") and op.name:
            dropped.add(op.name)
        if op.kind == "add_column":
            added.add((op.table, op.column))
            col = d.get("col")
            if col is not None and col.default is None and not col.identity and not col.generated_stored:
                added_null.add((op.table, op.column))
        if op.kind == "add_constraint":
            contype = d.get("contype")
            t = q(op.table)
            subject = f"constraint {op.name or op.subject}"
            if d.get("not_valid"):
                not_valid_at[op.name or ""] = (op.stmt.line, st.tx)
                continue
            if not st.existing:
                continue
            if d.get("inline"):
                hit = _inline(model, st)
                if hit is not None:
                    hits.append(hit)
                continue
            if contype == "fk":
                ref = q(d.get("ref_table"))
                name = qn(op.name or _default_name(op.table, d.get("columns"), "fkey"))
                # Prisma's usual relation add: the column is new and NULL in every row, so the validation reads the
                # table once and looks nothing up (about a second per GB): advice, unless measured sizes say large.
                fresh = bool(d.get("columns")) and all((op.table, c) in added_null for c in d["columns"])
                big = large_by_name((op.table or "").rsplit(".", 1)[-1])  # a log or message table: still read long
                hits.append(Hit(
                    CONSTRAINT_NOT_VALID, op.stmt, subject,
                    f"Adding FOREIGN KEY {name} on {t} scans every row of {t} to validate it while holding a "
                    f"{L.describe(L.SHARE_ROW_EXCLUSIVE)} on "
                    + (f"both {t} and {ref}" if ref != t else t) + "." + _held_note(st, op.table)
                    + (f" The column is added by this migration and NULL in every row, so the check is one "
                       f"sequential read of {t} with no lookups: brief unless {t} is large." if fresh else "")
                    + " Add it with NOT VALID here "
                    "(only new rows are checked, the lock is brief), then validate in the next migration, which "
                    "takes SHARE UPDATE EXCLUSIVE (reads and writes go on): "
                    f"`ALTER TABLE {t} VALIDATE CONSTRAINT {name};`.",
                    "the foreign key validation scans the table under a write-blocking lock",
                    key=f"add foreign key {op.name} on {op.table}",
                    suggestion=_not_valid_suggestion(model, op.stmt),
                    severity=Severity.INFO if fresh and not big else None,
                ))
            elif contype == "check":
                name = qn(op.name or _default_name(op.table, d.get("columns") or [d.get("not_null_of")], "check"))
                hits.append(Hit(
                    CONSTRAINT_NOT_VALID, op.stmt, subject,
                    f"Adding CHECK {name} on {t} scans every row while holding an "
                    f"{L.describe(L.ACCESS_EXCLUSIVE)}. Add it with NOT VALID here, then "
                    f"`ALTER TABLE {t} VALIDATE CONSTRAINT {name};` in the next migration (SHARE UPDATE EXCLUSIVE: "
                    "reads and writes go on).",
                    "the check validation scans the table under ACCESS EXCLUSIVE",
                    key=f"add check {op.name} on {op.table}",
                    suggestion=_not_valid_suggestion(model, op.stmt),
                ))
            elif contype in ("unique", "pk") and not d.get("using_index"):
                kw = "UNIQUE" if contype == "unique" else "PRIMARY KEY"
                name = op.name or (_default_name(op.table, [], "pkey") if contype == "pk" else
                                   _default_name(op.table, d.get("columns"), "key"))
                extra = (" The columns must already be NOT NULL for PRIMARY KEY USING INDEX." if contype == "pk"
                         else "")
                dup = (f" It also fails (23505) if existing rows hold duplicate ({cols(d.get('columns'))})."
                       if contype == "unique" else "")
                # Prisma's key change drops the old constraint in the same ALTER TABLE: its index still holds the
                # name while the new index is built, and USING INDEX renames the index to the constraint's name
                index = f"{name}_new" if name in dropped else name
                # a key on a column this file adds: the index cannot be built before the column exists
                new_cols = [c for c in d.get("columns") or [] if (op.table, c) in added]
                first = (f"add {cols(new_cols)} in a migration of its own, then build the index in the next one"
                         if new_cols else "build the index first in a migration of its own")
                hits.append(Hit(
                    UNIQUE_WITHOUT_INDEX, op.stmt, subject,
                    f"ADD CONSTRAINT {qn(name)} {kw} on {t} builds its index while holding an "
                    f"{L.describe(L.ACCESS_EXCLUSIVE)}, for as long as the build takes.{dup} Instead, {first}: "
                    f"`CREATE UNIQUE INDEX CONCURRENTLY {qn(index)} ON {t} "
                    f"({cols(d.get('columns'))});`, then attach it here: "
                    f"`ALTER TABLE {t} ADD CONSTRAINT {qn(name)} {kw} USING INDEX {qn(index)};`.{extra}",
                    f"the {kw} index is built under ACCESS EXCLUSIVE",
                    key=f"add {contype} {name} on {op.table}",
                    covers=[("unique_added", op.table, None), ("primary_key_change", op.table, None)],
                ))
        elif op.kind == "domain_add_constraint" and not d.get("not_valid") and d.get("contype") == "check":
            hit = _domain_check(st)
            if hit is not None:
                hits.append(hit)
        elif op.kind == "validate_constraint" and op.name in not_valid_at and st.in_transaction and (
                not_valid_at[op.name or ""][1] == st.tx):
            t = q(op.table)
            hits.append(Hit(
                VALIDATE_SAME_TX, op.stmt, f"constraint {op.name}",
                f"{qn(op.name)} is added NOT VALID at line {not_valid_at[op.name or ''][0]} and validated here in the "
                "same transaction (Prisma runs a multi-statement migration.sql as one), so the lock taken by the "
                f"ADD is still held while VALIDATE scans {t}: NOT VALID gains nothing. Move "
                f"`ALTER TABLE {t} VALIDATE CONSTRAINT {qn(op.name)};` to the next migration.",
                "VALIDATE runs in the same transaction as NOT VALID",
                key=f"validate {op.name} on {op.table}",
            ))
    return hits


def _inline(model: MigrationModel, st) -> Hit | None:  # type: ignore[no-untyped-def]
    """A constraint written on the column of ADD COLUMN: `ADD COLUMN "code" TEXT UNIQUE`, `... PRIMARY KEY`,
    `... REFERENCES "User"("id")`, `... CHECK (...)`. The statement holds ACCESS EXCLUSIVE on the table (ADD COLUMN)
    while PostgreSQL builds the index or validates the constraint over every existing row. Its subject is the
    column's, so a finding the column already has (a rewrite, a NOT NULL without default) carries this one too."""
    op = st.op
    d = op.data
    col = next((o.op.data["col"] for o in model.ops if o.op.kind == "add_column" and o.op.stmt is op.stmt
                and o.op.table == op.table and o.op.column == op.column), None)
    if col is None:
        return None
    t, c = q(op.table), q(op.column)
    subject = f"column {op.table}.{op.column}"
    filled = bool(d.get("column_filled"))
    add_alone = f"`ALTER TABLE {t} ADD COLUMN {c} {col.type.upper()}{'[]' if col.is_array else ''};`"
    contype = d.get("contype")
    if contype in ("unique", "pk"):
        kw = "UNIQUE" if contype == "unique" else "PRIMARY KEY"
        name = op.name or (_default_name(op.table, [], "pkey") if contype == "pk"
                           else _default_name(op.table, [op.column], "key"))
        constant = col.default is not None and not col.default_volatile and col.default != "NULL"
        dup = (f" Every existing row gets the default {col.default}, so the build fails (23505) as soon as {t} "
               "has two rows." if constant else "")
        return Hit(
            UNIQUE_WITHOUT_INDEX, op.stmt, subject,
            f"ADD COLUMN {c} ... {kw} on {t} builds a unique index over every existing row while the statement "
            f"holds {L.a_lock(L.ACCESS_EXCLUSIVE)}, for as long as the build takes.{dup} Add the column alone "
            f"here ({add_alone}), build the index in a migration of its own with "
            f"`CREATE UNIQUE INDEX CONCURRENTLY {qn(name)} ON {t} ({c});`, then attach it: "
            f"`ALTER TABLE {t} ADD CONSTRAINT {qn(name)} {kw} USING INDEX {qn(name)};`."
            + (" A PRIMARY KEY also needs the column NOT NULL (backfilled first)." if contype == "pk" else ""),
            f"its inline {kw} builds the index under ACCESS EXCLUSIVE",
            key=f"add {contype} {name} on {op.table}",
            covers=[("unique_added", op.table, None), ("primary_key_change", op.table, None)],
        )
    if contype == "fk" and not filled:
        return None  # a new column with no default is NULL everywhere: PostgreSQL skips the validation scan
    if contype in ("fk", "check"):
        what = "FOREIGN KEY" if contype == "fk" else "CHECK"
        name = op.name or _default_name(op.table, [op.column], "fkey" if contype == "fk" else "check")
        why = (f"fills every row with {col.default if col.default else 'a value'}, and its REFERENCES "
               f"{q(d.get('ref_table'))} is validated" if contype == "fk" else "comes with a CHECK that is validated")
        fk = (f" REFERENCES {q(d.get('ref_table'))}" if contype == "fk" else " CHECK (...)")
        return Hit(
            CONSTRAINT_NOT_VALID, op.stmt, subject,
            f"ADD COLUMN {c} on {t} {why} by scanning every existing row while the statement holds "
            f"{L.a_lock(L.ACCESS_EXCLUSIVE)}. A column constraint cannot be NOT VALID: add the column alone "
            f"({add_alone}), then `ALTER TABLE {t} ADD CONSTRAINT {qn(name)}"
            + (f" FOREIGN KEY ({c}){fk}" if contype == "fk" else fk) + " NOT VALID;`, and "
            f"`ALTER TABLE {t} VALIDATE CONSTRAINT {qn(name)};` in the next migration (reads and writes go on).",
            f"its inline {what} is validated by a scan under ACCESS EXCLUSIVE",
            key=f"add {contype} {name} on {op.table}",
        )
    return None


def _domain_check(st) -> Hit | None:  # type: ignore[no-untyped-def]
    """ALTER DOMAIN ... ADD CONSTRAINT ... CHECK without NOT VALID checks every column of the domain's type, in every
    table, holding SHARE (writes blocked) on each table while it scans."""
    op = st.op
    users = list(op.data.get("users") or [])
    if op.data.get("known") and not users:
        return None  # the history knows the domain and no column uses it: nothing to scan
    if users and not st.locks:
        return None  # only tables this change created use it: empty
    name = op.data.get("constraint") or f"{op.name}_check"
    where = (", ".join(f"{q(tn)}.{q(cn)}" for tn, cn in users[:5]) + (" and more" if len(users) > 5 else "")
             if users else "every column of that type, in every table")
    return Hit(
        CONSTRAINT_NOT_VALID, op.stmt, f"domain {op.name}",
        f"ALTER DOMAIN {q(op.name)} ADD CONSTRAINT {qn(name)} CHECK without NOT VALID checks every value already "
        f"stored in the domain's columns ({where}), holding {L.a_lock(L.SHARE)} on each table while it scans. "
        f"Add it with NOT VALID (new values are checked at once), then "
        f"`ALTER DOMAIN {q(op.name)} VALIDATE CONSTRAINT {qn(name)};` in a later migration, at a quiet time "
        "(it still holds SHARE on each table until PostgreSQL 19, which lowers it to SHARE UPDATE EXCLUSIVE); or put "
        "the CHECK on the columns themselves, where NOT VALID + VALIDATE lets writes go on.",
        "the domain constraint scans every column of the type under a write-blocking lock",
        key=f"domain check {op.name} {name}",
    )


def _default_name(table: str | None, columns: list[str | None] | None, suffix: str) -> str:
    """The name PostgreSQL gives an unnamed constraint (Prisma 2 wrote `ADD FOREIGN KEY` without one):
    <table>_<columns>_<suffix>, so the VALIDATE CONSTRAINT the message suggests names a real constraint."""
    parts = [(table or "").split(".")[-1], *[c for c in columns or [] if c], suffix]
    return "_".join(parts)[:63]


def _held_note(st, table: str | None) -> str:  # type: ignore[no-untyped-def]
    """The scan happens under the stronger lock an earlier statement of the file took (Prisma's onDelete change
    drops the foreign key first: ACCESS EXCLUSIVE), so reads wait too."""
    if st.held_before.get(table or "") != L.ACCESS_EXCLUSIVE:
        return ""
    return (f" This file already holds ACCESS EXCLUSIVE on {q(table)} from an earlier statement (Prisma runs "
            "the migration as one transaction), so reads wait for the scan too.")


def _not_valid_suggestion(model: MigrationModel, stmt):  # type: ignore[no-untyped-def]
    """`... ON UPDATE CASCADE;` -> `... ON UPDATE CASCADE NOT VALID;` on a one-line statement."""
    if stmt.line != stmt.end_line:
        return None
    body = stmt.text
    return single_line_suggestion(model, stmt, body + ";", body + " NOT VALID;")
