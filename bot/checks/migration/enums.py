"""Enums: Prisma's drop-and-recreate dance for removed values (one finding for the whole dance), and a value added
with ALTER TYPE ... ADD VALUE used later in the same transaction (55P04)."""

from __future__ import annotations

from bot.checks.migration._common import Env, Hit, q
from bot.findings import Severity, Surface
from bot.registry import define
from bot.sql import locks as L
from bot.sql.ops import string_literals
from bot.sql.state import MigrationModel

ENUM_VALUE_REMOVAL = define(
    "migration/enum-value-removal", Severity.WARNING, Surface.MIGRATION,
    "Enum values removed by recreating the type: rewrites every table using it and fails if a row holds the value",
)
ENUM_VALUE_SAME_TX = define(
    "migration/enum-value-same-transaction", Severity.ERROR, Surface.MIGRATION,
    "A value added with ALTER TYPE ... ADD VALUE is used later in the same transaction (ERROR 55P04)",
)


def check(model: MigrationModel, env: Env) -> list[Hit]:
    return _removals(model) + _same_tx(model)


def _removals(model: MigrationModel) -> list[Hit]:
    """Prisma's dance: CREATE TYPE "E_new"; ALTER COLUMN ... TYPE "E_new" USING; RENAME "E" TO "E_old"; RENAME
    "E_new" TO "E"; DROP TYPE "E_old". Hand-written variant: RENAME "E" TO "E_old"; CREATE TYPE "E"; ALTER
    COLUMN ... TYPE "E"; DROP TYPE "E_old"."""
    hits: list[Hit] = []
    ops = [st.op for st in model.ops]
    renamed_old = {o.name: i for i, o in enumerate(ops)
                   if o.kind == "rename_type" and o.data.get("new") == f"{o.name}_old"}
    for i, op in enumerate(ops):
        if op.kind != "create_enum":
            continue
        if (op.name or "").endswith("_new"):
            enum, start = (op.name or "")[: -len("_new")], i
        elif op.name in renamed_old and renamed_old[op.name] < i:
            enum, start = op.name or "", renamed_old[op.name]
        else:
            continue
        dance = [ops[start], op] if start != i else [op]
        tables: list[str] = []
        for later in ops[i + 1:]:
            if later.kind == "alter_type" and later.data.get("new_type") == op.name:
                dance.append(later)
                tables.append(f"{q(later.table)}.{q(later.column)}")
            elif (later.kind in ("drop_default", "set_default") and any(
                    o.kind == "alter_type" and o.table == later.table and o.column == later.column
                    for o in ops[i + 1:])) or (later.kind == "rename_type" and later.name in (enum, op.name)):
                dance.append(later)
            elif later.kind == "drop_type" and later.name in (f"{enum}_old", enum):
                dance.append(later)
                break
            elif later.kind == "transaction":
                dance.append(later)
        if not any(o.kind == "drop_type" for o in dance):
            continue
        before = model.enums_before.get(enum)
        kept = set(op.data.get("values", []))
        removed = [v for v in before or [] if v not in kept]
        if not removed:
            removed = [v for w in model.parsed.warnings if w.kind == "enum_values_removed" and w.table == enum
                       for v in w.values]
        if not removed and before is not None:
            hits.append(_recreate_hit(op, enum, tables, dance))
            continue
        # the enum's old values are unknown when the history never created it in SQL this parser reads
        shown = ", ".join(f"'{v}'" for v in removed) or "the values the new type leaves out"
        listed = ", ".join(f"'{v}'" for v in removed) or "'<removed value>'"
        where = ", ".join(tables) or "no column"
        stmts = sorted({o.stmt.index: o.stmt for o in dance}.values(), key=lambda s: s.line)
        example = tables[0] if tables else "<table>.<column>"
        hits.append(Hit(
            ENUM_VALUE_REMOVAL, stmts[0], f"enum {enum}",
            f"Removing {shown} from enum {q(enum)}: Prisma recreates the type ({q(op.name)}), converts every column "
            f"that uses it ({where}) with ALTER COLUMN TYPE ... USING, which rewrites each table under an "
            f"{L.describe(L.ACCESS_EXCLUSIVE)}, then renames and drops the old type. The migration fails (22P02) "
            f"if any row still holds {shown}, and pods on the old client that write it fail afterwards. First ship "
            f"code that no longer writes {shown}, migrate the rows (`UPDATE ... SET {example.split('.')[-1]} = "
            f"'<replacement>' WHERE ... IN ({listed});`), then remove the value; on a large table consider keeping "
            "the value and rejecting it in code instead.",
            "the enum is recreated, rewriting its tables",
            end_stmt=stmts[-1] if len(stmts) > 1 else None,
            key=f"enum value removal {enum}",
            covers=[("enum_values_removed", enum, None)],
            consumes={s.index for s in stmts},
        ))
    return hits


def _recreate_hit(op, enum: str, tables: list[str], dance: list) -> Hit:  # type: ignore[no-untyped-def,type-arg]
    """The dance without a removed value (values reordered or renamed): still a rewrite of every user table."""
    stmts = sorted({o.stmt.index: o.stmt for o in dance}.values(), key=lambda s: s.line)
    where = ", ".join(tables) or "no column"
    return Hit(
        ENUM_VALUE_REMOVAL, stmts[0], f"enum {enum}",
        f"Enum {q(enum)} is recreated without removing a value (values added, reordered or renamed): every "
        f"column that uses it ({where}) is converted with ALTER COLUMN TYPE ... USING, which rewrites each table "
        f"under {L.a_lock(L.ACCESS_EXCLUSIVE)}. Metadata-only alternatives: `ALTER TYPE {q(enum)} ADD VALUE 'new' "
        f"BEFORE 'existing';` (use the value from the next migration on) and `ALTER TYPE {q(enum)} RENAME VALUE "
        "'old' TO 'new';`.",
        "the enum is recreated, rewriting its tables",
        end_stmt=stmts[-1] if len(stmts) > 1 else None,
        key=f"enum recreate {enum}",
        covers=[("enum_values_removed", enum, None)],
        consumes={s.index for s in stmts},
    )


def _same_tx(model: MigrationModel) -> list[Hit]:
    hits: list[Hit] = []
    added: dict[str, tuple[str, int]] = {}  # value -> (enum, line)
    for st in model.ops:
        op = st.op
        if op.kind == "transaction" and op.data.get("kind") in ("commit", "rollback"):
            added.clear()  # committed (or gone): a later statement runs in a new transaction
            continue
        if op.kind == "add_enum_value" and st.in_transaction and op.data.get("value"):
            added[op.data["value"]] = (op.name or "", op.stmt.line)
            continue
        if not added or op.kind in ("create_enum", "add_enum_value", "rename_enum_value") or not st.in_transaction:
            continue
        used = string_literals(op.stmt.json) & set(added)
        for value in sorted(used):
            enum, line = added[value]
            hits.append(Hit(
                ENUM_VALUE_SAME_TX, op.stmt, f"enum value {enum}.{value}",
                f"'{value}' is added to enum {q(enum)} at line {line} and used here in the same transaction "
                "(Prisma runs a multi-statement migration.sql as one). PostgreSQL refuses a new enum value before "
                "the transaction that added it commits: ERROR 55P04 unsafe use of new value, and the deploy fails. "
                f"Keep `ALTER TYPE {q(enum)} ADD VALUE '{value}';` in this migration and move the statements that "
                "use it to a new migration after it.",
                "the new enum value is used before it commits",
                key=f"enum value used {enum}.{value}",
            ))
            added.pop(value)
    return hits
