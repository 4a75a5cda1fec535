"""ALTER TABLE forms that copy the whole table into new files: SET LOGGED / SET UNLOGGED, SET TABLESPACE and
SET ACCESS METHOD. Each holds ACCESS EXCLUSIVE (no reads, no writes) for the whole copy, indexes included.
SET STORAGE and SET COMPRESSION are not here: they only change how future values are stored."""

from __future__ import annotations

from bot.checks.migration._common import Env, Hit, q
from bot.findings import Severity, Surface
from bot.registry import define
from bot.sql import locks as L
from bot.sql.state import MigrationModel

TABLE_REWRITE = define(
    "migration/table-rewrite", Severity.WARNING, Surface.MIGRATION,
    "SET LOGGED/UNLOGGED, SET TABLESPACE or SET ACCESS METHOD copies a table with data under ACCESS EXCLUSIVE",
)

_WHY = {
    "AT_SetLogged": "writes the whole table and its indexes to the WAL (a full copy, and as much WAL as the table "
                    "is large, which replicas must replay)",
    "AT_SetUnLogged": "copies the whole table and its indexes into new unlogged files (and an unlogged table is "
                      "emptied after a crash and not replicated)",
    "AT_SetTableSpace": "copies the table's files into the new tablespace (its indexes stay where they are)",
    "AT_SetAccessMethod": "rewrites every row into the new table access method",
}


def check(model: MigrationModel, env: Env) -> list[Hit]:
    hits: list[Hit] = []
    for st in model.ops:
        op = st.op
        if op.kind != "table_rewrite" or not st.existing or op.data.get("noop"):
            continue
        t = q(op.table)
        form = op.data.get("form", "")
        sub = op.data.get("subtype", "")
        hits.append(Hit(
            TABLE_REWRITE, op.stmt, f"rewrite {op.table}",
            f"ALTER TABLE {t} {form} {_WHY.get(sub, 'rewrites the table')} while holding "
            f"{L.a_lock(L.ACCESS_EXCLUSIVE)}, for as long as the copy takes on a table that already holds data. "
            "This is maintenance, not a schema change: run it outside the deploy in a maintenance window "
            "(with `SET lock_timeout`), or use pg_repack, which moves a table to another tablespace online "
            "(`pg_repack --table ... --tablespace ...`).",
            "the table is copied under ACCESS EXCLUSIVE",
            key=f"table rewrite {sub} {op.table}",
        ))
    return hits
