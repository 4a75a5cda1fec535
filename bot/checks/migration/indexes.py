"""Index builds and drops: CREATE/DROP INDEX without CONCURRENTLY on a table with data, unique indexes on
existing data."""

from __future__ import annotations

from bot.checks.migration._common import Env, Hit, cols, q, qn, single_line_suggestion, table_ref
from bot.findings import Severity, Surface
from bot.registry import define
from bot.sql import locks as L
from bot.sql.state import MigrationModel

INDEX_NOT_CONCURRENT = define(
    "migration/index-not-concurrent", Severity.WARNING, Surface.MIGRATION,
    "CREATE INDEX without CONCURRENTLY on a table that already holds data (SHARE lock: writes wait for the build)",
    aliases=("squawk:require-concurrent-index-creation", "eugene:E6"),
)
DROP_INDEX_NOT_CONCURRENT = define(
    "migration/drop-index-not-concurrent", Severity.WARNING, Surface.MIGRATION,
    "DROP INDEX without CONCURRENTLY on a table with data (ACCESS EXCLUSIVE lock)",
    aliases=("squawk:require-concurrent-index-deletion",),
)
UNIQUE_ON_EXISTING_DATA = define(
    "migration/unique-on-existing-data", Severity.WARNING, Surface.MIGRATION,
    "A unique index or constraint added to a table with data fails on duplicates",
)

DUPLICATES = ("it also fails (23505) if the existing rows hold duplicates of ({c}); check first with "
              "`SELECT {c}, count(*) FROM {t} GROUP BY {c} HAVING count(*) > 1;`")


def check(model: MigrationModel, env: Env) -> list[Hit]:
    hits: list[Hit] = []
    single = not model.multi_statement
    for st in model.ops:
        op = st.op
        if op.kind == "create_index":
            t = q(op.table)
            subject = f"index {op.name}"
            dup = DUPLICATES.format(c=cols(op.data.get("columns")), t=t) if op.data.get("unique") else ""
            if op.data.get("concurrent"):
                # CONCURRENTLY inside the migration's transaction is migration/concurrently-deploy-failure
                # (bot/checks/change/concurrently.py), which knows the project's Prisma version.
                if op.data.get("unique") and st.existing:
                    hits.append(Hit(
                        UNIQUE_ON_EXISTING_DATA, op.stmt, subject,
                        f"CREATE UNIQUE INDEX CONCURRENTLY {qn(op.name)} on {t}, which already holds data: "
                        + dup + ". A failed concurrent build leaves an INVALID index behind: drop it "
                        f"(`DROP INDEX CONCURRENTLY {qn(op.name)};`) before `prisma migrate resolve` and a retry.",
                        "the unique index fails on existing duplicates",
                        key=f"unique index {op.name} on {op.table}",
                        covers=[("unique_added", op.table, None)],
                    ))
                continue
            if not st.existing:
                continue
            held = st.held_before.get(op.table or "")
            worse = (f" This file already holds {held} on {t} from an earlier statement, so reads wait too."
                     if held == L.ACCESS_EXCLUSIVE else "")
            kind = "CREATE UNIQUE INDEX" if op.data.get("unique") else "CREATE INDEX"
            where = (f"edit this one-statement migration to `{kind} CONCURRENTLY`" if single else
                     f"edit it to `{kind} CONCURRENTLY` (this project's Prisma runs each statement of the file on "
                     "its own, so CONCURRENTLY works here)" if not model.implicit_transaction else
                     "move it to a migration of its own (create one with `prisma migrate dev --create-only`) and "
                     f"write `{kind} CONCURRENTLY` there: Prisma runs a multi-statement migration.sql as one "
                     "transaction, where CONCURRENTLY fails")
            message = (f"{kind} {qn(op.name)} on {t} takes {L.a_lock(L.SHARE)} for the whole build, and {t} "
                       f"already holds data.{worse} To build it without blocking writes, {where}."
                       + (f" Note that {dup}." if dup else ""))
            hits.append(Hit(
                INDEX_NOT_CONCURRENT, op.stmt, subject, message, "the index build blocks writes",
                key=f"create index {op.name} on {op.table}",
                suggestion=single_line_suggestion(model, op.stmt, "INDEX", "INDEX CONCURRENTLY")
                if single or not model.implicit_transaction else None,
                covers=[("unique_added", op.table, None)] if op.data.get("unique") else [],
            ))
        elif op.kind == "drop_index":
            subject = f"index {op.name}"
            table = next((t for t, _m in st.locks), None)
            # an index this change created never served production: the create and the drop cancel out
            if op.data.get("concurrent") or not st.locks or st.new_index:
                continue
            if st.in_transaction and table is not None and any(
                    o is not st and o.in_transaction and o.tx == st.tx and (table, L.ACCESS_EXCLUSIVE) in o.locks
                    for o in model.ops):
                # Another statement of the same transaction takes ACCESS EXCLUSIVE on this table anyway (Prisma's
                # DROP INDEX + ALTER TABLE pairs): the drop adds no blocking, and that statement's rules report it.
                continue
            # an index the replayed history does not know (created by hand-written SQL Prisma did not parse, or
            # outside the migrations): name its table without inventing one
            t = table_ref(table)
            name = q(op.name) if op.data.get("qualified") else qn(op.name)
            where = ("edit this one-statement migration to `DROP INDEX CONCURRENTLY`" if single else
                     "move it to a migration of its own with `DROP INDEX CONCURRENTLY` (even recent Prisma "
                     "versions fail on DROP INDEX CONCURRENTLY next to other statements, prisma-engines#5847)")
            hits.append(Hit(
                DROP_INDEX_NOT_CONCURRENT, op.stmt, subject,
                f"DROP INDEX {name} takes {L.a_lock(L.ACCESS_EXCLUSIVE)} on {t}; the drop itself is "
                f"quick, but while it waits for running queries every new query on {t} queues behind it. "
                f"To avoid that, {where}.",
                "the index drop takes ACCESS EXCLUSIVE",
                key=f"drop index {op.name}",
                suggestion=single_line_suggestion(model, op.stmt, "DROP INDEX", "DROP INDEX CONCURRENTLY")
                if single else None,
            ))
    return hits
