"""Data loss and changes that break the code still running during a deploy: DROP TABLE/SCHEMA/COLUMN, a rename
done as DROP + ADD, RENAME COLUMN/TABLE, DROP NOT NULL, DROP DEFAULT, TRUNCATE ... CASCADE."""

from __future__ import annotations

import re

from bot.checks.migration._common import Env, Hit, prisma_tx_note, q
from bot.findings import Severity, Surface
from bot.registry import define
from bot.sql import locks as L
from bot.sql.ops import ColumnInfo, Op
from bot.sql.state import MigrationModel, OpState

DROP_TABLE = define(
    "migration/drop-table", Severity.ERROR, Surface.MIGRATION,
    "DROP TABLE, DROP SCHEMA or DROP DATABASE on data that exists: the data is gone and running code still queries it",
    aliases=("squawk:ban-drop-table", "squawk:ban-drop-schema", "squawk:ban-drop-database"),
)
DROP_COLUMN = define(
    "migration/drop-column", Severity.ERROR, Surface.MIGRATION,
    "DROP COLUMN on a table with data: the values are gone and pods on the old Prisma Client fail until replaced",
    aliases=("squawk:ban-drop-column",),
)
RENAME_AS_DROP_ADD = define(
    "migration/rename-as-drop-add", Severity.ERROR, Surface.MIGRATION,
    "A column dropped and a same-typed column added on one table: a rename that deletes the data",
)
RENAME = define(
    "migration/rename", Severity.WARNING, Surface.MIGRATION,
    "RENAME COLUMN, TABLE or enum TYPE: code still running the old name fails during the deploy",
    aliases=("squawk:renaming-column", "squawk:renaming-table"),
)
DROP_NOT_NULL = define(
    "migration/drop-not-null", Severity.INFO, Surface.MIGRATION,
    "DROP NOT NULL: pods on the old Prisma Client fail reading NULLs the new code writes",
    aliases=("squawk:ban-drop-not-null",),
)
DROP_DEFAULT = define(
    "migration/drop-default", Severity.WARNING, Surface.MIGRATION,
    "DROP DEFAULT on a NOT NULL column: inserts from code that relies on the default fail",
    aliases=("squawk:ban-drop-default",),
)
TRUNCATE_CASCADE = define(
    "migration/truncate-cascade", Severity.ERROR, Surface.MIGRATION,
    "TRUNCATE ... CASCADE empties every table that references this one",
    aliases=("squawk:ban-truncate-cascade",),
)

IGNORE_FIRST = ("Deploy the code change first: mark the field `@ignore` (Prisma Client stops selecting it, no "
                "migration needed), release that, then ship the migration that drops it.")


_NON_ALNUM = re.compile(r"[^a-z0-9]")


def _norm(name: str) -> str:
    return _NON_ALNUM.sub("", name.lower())


def _base_type(t: str | None) -> str:
    return (t or "").split("(")[0]


def check(model: MigrationModel, env: Env) -> list[Hit]:
    hits: list[Hit] = []
    swapped = swapped_columns(model)
    renames = _renames(model, set(swapped.values()))
    dropped_ops = {id(d.op) for d, _a in renames}
    for drop, add in renames:
        hits.append(_rename_hit(drop, add))
    readded = {(st.op.table, st.op.column) for st in model.ops if st.op.kind == "add_column"}
    replaced = _replaced_by_rename(model)
    pg = model.parsed.is_postgres
    # SQLite "redefine table": CREATE "new_T"; INSERT ... SELECT; DROP "T"; ALTER "new_T" RENAME TO "T"
    renamed_to = {st.op.data.get("new"): st.op.stmt.line for st in model.ops if st.op.kind == "rename_table"}
    # Prisma's enum recreate renames the old type aside and the new one into its place: enum-value-removal's business.
    types_renamed_into = {st.op.data.get("new") for st in model.ops if st.op.kind == "rename_type"}
    at_start: dict[tuple[str | None, str | None], ColumnInfo | None] = {}
    for st in model.ops:
        if st.op.column and (st.op.table, st.op.column) not in at_start:
            at_start[(st.op.table, st.op.column)] = st.column_before
    for st in model.ops:
        op = st.op
        t = q(op.table)
        if op.kind == "drop_table" and renamed_to.get(op.table, 0) > op.stmt.line:
            continue
        if op.kind == "drop_table" and st.existing and _implicit_relation_table(op.table):
            # Prisma's implicit many-to-many table ("_AToB"): no model to @@ignore, the relation field is the code
            hits.append(Hit(
                DROP_TABLE, op.stmt, f"table {op.table}",
                f"DROP TABLE {t} deletes Prisma's join table of an implicit many-to-many relation and every link "
                "in it" + (f", under {L.a_lock(L.ACCESS_EXCLUSIVE)}" if pg else "") + "; pods still running the "
                "old code fail on every query that includes, connects or filters by that relation until they are "
                "replaced. Release the code without the relation field first, then drop the table; if the links "
                "move to an explicit model, copy them (`INSERT ... SELECT \"A\", \"B\" FROM " + t + "`) before "
                "the drop.",
                "the relation table and its links are deleted",
                key=f"drop table {op.table}",
                covers=[("drop_table", op.table, None)],
            ))
        elif op.kind == "drop_table" and st.existing:
            hits.append(Hit(
                DROP_TABLE, op.stmt, f"table {op.table}",
                f"DROP TABLE {t} deletes the table and every row in it"
                + (f", under {L.a_lock(L.ACCESS_EXCLUSIVE)}; " if pg else "; ") +
                f"pods still running the old code fail on every query of the model until they are replaced. "
                f"{IGNORE_FIRST.replace('mark the field `@ignore`', 'mark the model `@@ignore`')} If the data may "
                f"be needed, rename the table aside (`ALTER TABLE {t} RENAME TO {q('_old_' + (op.table or ''))};`) "
                "and drop it a release later.",
                "the table and its data are deleted",
                key=f"drop table {op.table}",
                covers=[("drop_table", op.table, None)],
            ))
        elif op.kind == "drop_type" and op.data.get("cascade") and op.data.get("users"):
            users = [q(u) for u in op.data["users"]]
            hits.append(Hit(
                DROP_COLUMN, op.stmt, f"type {op.name}",
                f"DROP TYPE {q(op.name)} CASCADE also drops every column that still uses the type, with all its "
                f"values: {', '.join(users[:5])}{' and more' if len(users) > 5 else ''}. Convert or drop those "
                "columns explicitly first, then drop the type without CASCADE, so the drop fails instead of deleting "
                "data if something still uses it.",
                "CASCADE drops the columns that still use the type",
                key=f"drop type cascade {op.name}",
            ))
        elif op.kind == "drop_schema":
            hits.append(Hit(
                DROP_TABLE, op.stmt, f"schema {op.name}",
                f"DROP SCHEMA {q(op.name)} deletes every object in it"
                + (" (CASCADE)" if op.data.get("cascade") else "") + ". Make sure nothing in production still "
                "lives there, or move what does first.",
                "the schema and its objects are deleted",
                key=f"drop schema {op.name}",
            ))
        elif op.kind == "drop_database":
            hits.append(_drop_database_hit(model, st))
        elif op.kind == "drop_column" and st.existing and not st.new_column and id(op) not in dropped_ops and (
                (op.table, op.column) not in swapped.values()) and (op.table, op.column) not in replaced:
            c = q(op.column)
            recreated = (op.table, op.column) in readded
            if recreated:
                message = (f"{t}.{c} is dropped and added again, which deletes every value in it (Prisma does "
                           "this when a type has no cast). Convert in place instead, "
                           f"`ALTER TABLE {t} ALTER COLUMN {c} TYPE <new type> USING ({c}::<new type>);`, or expand "
                           "and contract through a new column so the data can be copied over.")
                short = "the column is dropped and recreated, deleting its data"
            else:
                message = (f"DROP COLUMN {c} deletes every value of {t}.{c}" + (" (ACCESS EXCLUSIVE, briefly)" if pg
                                                                               else "") + ". Prisma "
                           "Client selects every scalar field by default, so pods still on the old client fail "
                           f"with 'column does not exist' (P2022) on every query of the model until they are "
                           f"replaced. {IGNORE_FIRST}")
                short = "the column and its data are deleted"
            hits.append(Hit(
                DROP_COLUMN, op.stmt, f"column {op.subject}", message, short,
                key=f"drop column {op.table}.{op.column}",
                covers=[("drop_column", op.table, op.column), ("drop_recreate_column", op.table, op.column),
                        ("drop_recreate_required", op.table, op.column), ("scalar_to_list", op.table, op.column),
                        ("add_required", op.table, op.column)],
            ))
        elif op.kind in ("rename_column", "rename_table") and st.existing and not st.new_column and (
                id(op) not in swapped) and not (op.kind == "rename_column" and (op.table, op.column) in readded):
            # (a column renamed aside and added again under its name, as maybe-archive's category rework does: old
            # pods still find the name, so the P2022 this warns about cannot happen; the data is the drop's story)
            hits.append(_rename_object_hit(st))
        elif op.kind == "rename_type" and op.name in model.enums_before and op.name not in types_renamed_into:
            hits.append(_rename_type_hit(st))
        elif op.kind == "drop_not_null" and st.existing and not st.new_column:
            c = q(op.column)
            hits.append(Hit(
                DROP_NOT_NULL, op.stmt, f"column {op.subject}",
                f"{t}.{c} becomes optional. Pods still on the old Prisma Client type it as required and fail "
                f"(P2032) when they read a row where the new code stored NULL. Harmless if the new code does not "
                "write NULL until the old pods are gone; otherwise release the code that handles NULL first.",
                "old clients fail reading NULLs",
                key=f"drop not null {op.table}.{op.column}",
            ))
        elif op.kind == "drop_default" and st.existing and not st.new_column:
            # the default old pods rely on is the one before this file: a default set earlier in the same file
            # (Prisma writes SET DEFAULT ... , DROP DEFAULT when an autoincrement id becomes a client-side uuid)
            # was never seen by them
            before = at_start.get((op.table, op.column), st.column_before)
            if before is None or not before.not_null or before.default is None:
                continue
            c = q(op.column)
            hits.append(Hit(
                DROP_DEFAULT, op.stmt, f"column {op.subject}",
                f"{t}.{c} is NOT NULL and loses its default ({before.default}). Prisma Client leaves a field with "
                "@default out of INSERTs, so pods on the old client fail (23502 null value) on every create until "
                "they are replaced. Release code that always sets the field first, or keep the default.",
                "inserts relying on the default fail",
                key=f"drop default {op.table}.{op.column}",
            ))
        elif op.kind == "truncate" and op.data.get("cascade"):
            hits.append(Hit(
                TRUNCATE_CASCADE, op.stmt, f"table {op.table}",
                f"TRUNCATE {t} CASCADE also empties every table with a foreign key to {t} (and theirs, "
                f"recursively), under {L.a_lock(L.ACCESS_EXCLUSIVE)} on each. List the tables to empty "
                "explicitly, without CASCADE.",
                "TRUNCATE CASCADE empties referencing tables",
                key=f"truncate cascade {op.table}",
            ))
    return hits


def _drop_database_hit(model: MigrationModel, st: OpState) -> Hit:
    op = st.op
    name = q(op.name)
    in_tx = (f"Here it also fails the deploy: {prisma_tx_note(st)}, and DROP DATABASE cannot run inside a "
             "transaction block (ERROR 25001), so the migration is left failed (P3018). ") if st.in_transaction else ""
    return Hit(
        DROP_TABLE, op.stmt, f"database {op.name}",
        f"DROP DATABASE {name} deletes a whole database, every table and row in it, and cuts off every client "
        f"connected to it. {in_tx}A migration of this project's schema has no business dropping a database "
        "(Prisma cannot drop the one it is connected to either: ERROR 55006): remove the statement and drop "
        "databases by hand, after a backup, if they really must go.",
        "the whole database is deleted",
        key=f"drop database {op.name}",
    )


def _renames(model: MigrationModel, swapped: set[tuple[str | None, str | None]]) -> list[tuple[OpState, OpState]]:
    """DROP COLUMN a + ADD COLUMN b on one table with the same type: one candidate per dropped column, or the
    candidate whose name matches once case and underscores are ignored."""
    out: list[tuple[OpState, OpState]] = []
    drops = [st for st in model.ops if st.op.kind == "drop_column" and st.existing and not st.new_column
             and st.column_before and (st.op.table, st.op.column) not in swapped]
    if not drops:
        return out
    # (table, base type, is array) -> added columns, so each drop only looks at same-typed candidates
    adds: dict[tuple[str, str, bool], list[tuple[OpState, str]]] = {}
    by_name: dict[tuple[str, str, bool, str], list[OpState]] = {}
    # a column dropped and added again under its own name is a recreate (drop-column says so), never the new name
    # of another dropped column
    recreated = {(st.op.table, st.op.column) for st in drops}
    for st in model.ops:
        if st.op.kind == "add_column" and (st.op.table, st.op.column) not in recreated:
            col = st.op.data["col"]
            slot = (st.op.table or "", _base_type(col.type), col.is_array)
            norm = _norm(st.op.column or "")
            adds.setdefault(slot, []).append((st, norm))
            by_name.setdefault((*slot, norm), []).append(st)
    drops_per_table: dict[str, int] = {}
    for d in drops:
        drops_per_table[d.op.table or ""] = drops_per_table.get(d.op.table or "", 0) + 1
    # foreign keys the file drops and adds, per (table, column): a "rename" whose column now points at another
    # table is a new relation (Share.userId -> User replaced by Share.recipientId -> Recipient), not a rename
    fk_before: dict[tuple[str | None, str | None], str | None] = {}
    fk_after: dict[tuple[str | None, str | None], str | None] = {}
    for st in model.ops:
        d_ = st.op.data
        was = d_.get("was") if st.op.kind == "drop_constraint" else None
        if was and was.get("contype") == "fk" and len(was.get("columns") or []) == 1:
            fk_before[(st.op.table, was["columns"][0])] = was.get("ref_table")
        if st.op.kind == "add_constraint" and d_.get("contype") == "fk" and len(d_.get("columns") or []) == 1:
            fk_after[(st.op.table, d_["columns"][0])] = d_.get("ref_table")
    used: set[int] = set()
    for d in drops:
        old = d.column_before
        assert old is not None
        slot = (d.op.table or "", _base_type(old.type), old.is_array)
        before = fk_before.get((d.op.table, d.op.column))
        candidates = [(a, n) for a, n in adds.get(slot, [])
                      if not (before and (a.op.table, a.op.column) in fk_after
                              and fk_after[(a.op.table, a.op.column)] != before)]
        if not candidates:
            continue
        pick = None
        if drops_per_table[d.op.table or ""] == 1:
            same = [a for a, _n in candidates if id(a.op) not in used and a.op.column != d.op.column]
            pick = same[0] if len(same) == 1 else None
        if pick is None:
            named = [a for a in by_name.get((*slot, _norm(d.op.column or "")), [])
                     if id(a.op) not in used and a.op.column != d.op.column and any(a is c for c, _n in candidates)]
            pick = named[0] if len(named) == 1 else None
        if pick is not None and getattr(old, "generated_stored", False) and pick.op.data["col"].generated_stored:
            # A stored generated column holds no data of its own: replacing it with another generated column is a
            # redefinition (PostgreSQL computes the values again). Replaced by a plain column, its values are lost.
            continue
        if pick is not None:
            used.add(id(pick.op))
            out.append((d, pick))
    return out


def _rename_hit(drop: OpState, add: OpState) -> Hit:
    t = q(drop.op.table)
    old, new = drop.op.column or "", add.op.column or ""
    col = add.op.data["col"]
    first, last = sorted((drop.op.stmt, add.op.stmt), key=lambda s: s.line)
    return Hit(
        RENAME_AS_DROP_ADD, first, f"column {drop.op.subject}",
        f"{t}.{q(old)} is dropped and {q(new)} ({col.type}) is added: if this is a rename, every value of "
        f"{q(old)} is deleted (Prisma turns a renamed field into DROP + ADD). Keep the column and rename only the "
        f"Prisma field: `{new} ... @map(\"{old}\")` (no migration at all), or edit this migration to "
        f"`ALTER TABLE {t} RENAME COLUMN {q(old)} TO {q(new)};`." + _required_note(add),
        "the rename done as drop + add deletes the data",
        end_stmt=last if last is not first else None,
        key=f"rename as drop add {drop.op.table}.{old}->{new}",
        covers=[("drop_column", drop.op.table, old), ("add_required", add.op.table, new),
                ("add_required_prisma_default", add.op.table, new)],
        replaces={(add.op.stmt.index, f"column {add.op.subject}")},
    )


def _required_note(add: OpState) -> str:
    """The ADD's own problem, which this finding replaces: a NOT NULL column without a database default."""
    col = add.op.data["col"]
    if not col.not_null or col.default is not None or col.identity or col.generated_stored:
        return ""
    return (f" If it is not a rename, note that {q(add.op.column)} is NOT NULL without a database default: the "
            f"deploy fails (23502) while {q(add.op.table)} has rows.")


def _implicit_relation_table(table: str | None) -> bool:
    """Prisma names the join table of an implicit many-to-many relation "_<ModelA>To<ModelB>" (or "_<name>")."""
    bare = (table or "").split(".")[-1]
    return bare.startswith("_") and not bare.startswith("_prisma")


def swapped_columns(model: MigrationModel) -> dict[int, tuple[str | None, str | None]]:
    """Hand-written in-place type change: RENAME COLUMN "type" TO "type_old", ADD COLUMN "type" <new type>,
    UPDATE ... SET "type" = "type_old"::<new type>, DROP COLUMN "type_old". The old name exists again when the file
    ends and old pods never knew "type_old", so neither the rename nor the drop is what they describe; the UPDATE
    and SET NOT NULL get their own findings. {id(rename op): (table, temporary column)}; a swap without the copy
    (no UPDATE of the table between the ADD and the DROP) deletes the data and stays reported."""
    out: dict[int, tuple[str | None, str | None]] = {}
    ops = [st.op for st in model.ops]
    for i, op in enumerate(ops):
        if op.kind != "rename_column":
            continue
        tmp = (op.table, op.data.get("new"))
        later = ops[i + 1:]
        add = next((j for j, o in enumerate(later) if o.kind == "add_column" and (o.table, o.column) ==
                    (op.table, op.column)), None)
        drop = next((j for j, o in enumerate(later) if o.kind == "drop_column" and (o.table, o.column) == tmp), None)
        if add is None or drop is None or drop < add:
            continue
        if any(o.kind == "update" and o.table == op.table for o in later[add + 1:drop]):
            out[id(op)] = tmp
    # the other order: ADD COLUMN "role_temp"; UPDATE ... SET "role_temp" = "role"::text; DROP COLUMN "role";
    # RENAME COLUMN "role_temp" TO "role" (langfuse's enum rename): the dropped name exists again, values copied
    for i, op in enumerate(ops):
        if op.kind != "rename_column" or not op.data.get("new"):
            continue
        tmp, final = op.column, op.data["new"]
        before = ops[:i]
        add = next((j for j, o in enumerate(before) if o.kind == "add_column" and (o.table, o.column) ==
                    (op.table, tmp)), None)
        drop = next((j for j, o in enumerate(before) if o.kind == "drop_column" and (o.table, o.column) ==
                     (op.table, final)), None)
        if add is None or drop is None or drop < add:
            continue
        if any(o.kind == "update" and o.table == op.table for o in before[add + 1:drop]):
            out[id(op)] = (op.table, final)
    return out


def _replaced_by_rename(model: MigrationModel) -> set[tuple[str | None, str | None]]:
    """DROP COLUMN "id"; RENAME COLUMN "uuidId" TO "id", where "uuidId" was added (and filled) by an earlier
    migration: the dropped name exists again with the prepared values, so old pods get no P2022 on it. The rename
    keeps its own finding (old pods still select "uuidId"). {(table, column)} of such drops."""
    out: set[tuple[str | None, str | None]] = set()
    ops = [st.op for st in model.ops]
    added_here = {(o.table, o.column) for o in ops if o.kind == "add_column"}
    for i, op in enumerate(ops):
        if op.kind != "rename_column" or not op.data.get("new") or (op.table, op.column) in added_here:
            continue
        final = (op.table, op.data["new"])
        if any(o.kind == "drop_column" and (o.table, o.column) == final for o in ops[:i]):
            out.add(final)
    return out


def _rename_type_hit(st: OpState) -> Hit:
    op: Op = st.op
    old, new = op.name or "", op.data.get("new") or ""
    return Hit(
        RENAME, op.stmt, f"enum {old}",
        f"ALTER TYPE {q(old)} RENAME TO {q(new)}: Prisma Client casts enum values to the type by its name "
        f"(`CAST($1::text AS {q(old)})`), so pods still running the old client fail on every query that filters or "
        f"writes this enum until they are replaced. To rename only in code, keep the type and map the enum: "
        f"`enum {new} {{ ... @@map(\"{old}\") }}`.",
        "old code still uses the old type name",
        key=f"rename type {old}",
    )


def _rename_object_hit(st: OpState) -> Hit:
    op: Op = st.op
    t = q(op.table)
    if op.kind == "rename_column":
        old, new = op.column or "", op.data["new"]
        return Hit(
            RENAME, op.stmt, f"column {op.subject}",
            f"RENAME COLUMN {q(old)} TO {q(new)} on {t} (ACCESS EXCLUSIVE, brief): pods still running the old "
            f"Prisma Client query {q(old)} and fail (P2022) until they are replaced. To rename only in code, keep "
            f"the column and map the field: `{new} ... @map(\"{old}\")`. For a real rename, expand and contract: add "
            f"{q(new)}, write both, backfill, switch reads, then drop {q(old)}.",
            "old code still uses the old column name",
            key=f"rename column {op.table}.{old}",
        )
    new = op.data["new"]
    return Hit(
        RENAME, op.stmt, f"table {op.table}",
        f"RENAME TABLE {t} TO {q(new)} (ACCESS EXCLUSIVE, brief): pods still running the old Prisma Client query "
        f"{t} and fail (P2021) until they are replaced. To rename only the model, keep the table and map it: "
        f"`@@map(\"{op.table}\")`. For a real rename, create a view with the old name during the rollout.",
        "old code still uses the old table name",
        key=f"rename table {op.table}",
    )
