"""Which table lock each operation takes in PostgreSQL, and what that lock blocks for the application.

From the PostgreSQL docs' "Table-level Lock Modes" and the ALTER TABLE / CREATE INDEX reference pages.
"""

from __future__ import annotations

from bot.sql.ops import Op

ACCESS_EXCLUSIVE = "ACCESS EXCLUSIVE"
EXCLUSIVE = "EXCLUSIVE"
SHARE_ROW_EXCLUSIVE = "SHARE ROW EXCLUSIVE"
SHARE = "SHARE"
SHARE_UPDATE_EXCLUSIVE = "SHARE UPDATE EXCLUSIVE"
ROW_EXCLUSIVE = "ROW EXCLUSIVE"

RANK = {ROW_EXCLUSIVE: 1, SHARE_UPDATE_EXCLUSIVE: 2, SHARE: 3, SHARE_ROW_EXCLUSIVE: 4, EXCLUSIVE: 5,
        ACCESS_EXCLUSIVE: 6}

BLOCKS = {
    ACCESS_EXCLUSIVE: "every read and write",
    EXCLUSIVE: "every write; only plain SELECTs go on",
    SHARE_ROW_EXCLUSIVE: "inserts, updates, deletes and other schema changes; reads go on",
    SHARE: "inserts, updates and deletes; reads go on",
    SHARE_UPDATE_EXCLUSIVE: "other schema changes, VACUUM and ANALYZE; reads and writes go on",
    ROW_EXCLUSIVE: "schema changes; writers of the same rows wait on row locks",
}

# Strong enough that waiting for it (behind a long query) queues every later query on the table.
STRONG = (ACCESS_EXCLUSIVE, EXCLUSIVE, SHARE_ROW_EXCLUSIVE, SHARE)

_ALTER_SUBTYPES_SUE = {"AT_SetStatistics", "AT_ClusterOn", "AT_DropCluster", "AT_SetOptions", "AT_ResetOptions",
                       "AT_SetRelOptions", "AT_ResetRelOptions"}
_ALTER_SUBTYPES_SRE = {"AT_EnableTrig", "AT_DisableTrig", "AT_EnableAlwaysTrig", "AT_EnableReplicaTrig",
                       "AT_EnableTrigAll", "AT_DisableTrigAll", "AT_EnableTrigUser", "AT_DisableTrigUser"}


def locks_of(op: Op, index_table: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """(table, lock mode) pairs the op takes; tables of indexes are looked up in `index_table`."""
    k = op.kind
    t = op.table
    if k == "create_index":
        return [(t or "?", SHARE_UPDATE_EXCLUSIVE if op.data.get("concurrent") else SHARE)]
    if k == "drop_index":
        table = (index_table or {}).get(op.name or "", f"table of index {op.name}")
        return [(table, SHARE_UPDATE_EXCLUSIVE if op.data.get("concurrent") else ACCESS_EXCLUSIVE)]
    if k == "add_constraint":
        if op.data.get("contype") == "fk":
            return [(t or "?", SHARE_ROW_EXCLUSIVE), (op.data.get("ref_table") or "?", SHARE_ROW_EXCLUSIVE)]
        return [(t or "?", ACCESS_EXCLUSIVE)]
    if k == "validate_constraint":
        return [(t or "?", SHARE_UPDATE_EXCLUSIVE)]
    if k == "create_table":
        refs = {c.get("ref_table") for c in op.data.get("constraints", []) if c.get("contype") == "fk"}
        return [(r, SHARE_ROW_EXCLUSIVE) for r in sorted(x for x in refs if x)]
    if k in ("domain_add_constraint", "domain_validate_constraint"):
        # every table with a column of the domain is scanned under SHARE (PostgreSQL 19 lowers VALIDATE to
        # SHARE UPDATE EXCLUSIVE)
        if k == "domain_add_constraint" and op.data.get("not_valid"):
            return []
        return [(t, SHARE) for t in dict.fromkeys(t for t, _c in op.data.get("users") or ())]
    if k in ("add_column", "drop_column", "alter_type", "set_not_null", "drop_not_null", "set_default",
             "drop_default", "drop_constraint", "enable_rls", "rename_column", "rename_table", "drop_table",
             "truncate", "vacuum_full", "cluster", "create_policy", "rename_constraint", "table_rewrite"):
        return [(t or op.name or "?", ACCESS_EXCLUSIVE)] if (t or op.name) else []
    if k == "alter_other":
        sub = op.data.get("subtype", "")
        if sub in _ALTER_SUBTYPES_SUE:
            return [(t or "?", SHARE_UPDATE_EXCLUSIVE)]
        if sub in _ALTER_SUBTYPES_SRE:
            return [(t or "?", SHARE_ROW_EXCLUSIVE)]
        return [(t or "?", ACCESS_EXCLUSIVE)]
    if k == "detach_partition":
        return [(t or "?", SHARE_UPDATE_EXCLUSIVE if op.data.get("concurrent") else ACCESS_EXCLUSIVE)]
    if k == "attach_partition":
        return [(t or "?", SHARE_UPDATE_EXCLUSIVE)]
    if k == "create_trigger":
        return [(t or "?", SHARE_ROW_EXCLUSIVE)]
    if k == "reindex":
        if op.data.get("object") in ("system", "database"):
            return []  # every table (or every catalog) in turn, not one table of the schema
        if op.data.get("concurrent"):
            return [(op.name or "?", SHARE_UPDATE_EXCLUSIVE)]
        if op.data.get("object") == "index":
            return [((index_table or {}).get(op.name or "", op.name or "?"), SHARE)]
        return [(op.name or "?", SHARE)]
    if k == "refresh_matview":
        return [(op.name or "?", EXCLUSIVE if op.data.get("concurrent") else ACCESS_EXCLUSIVE)]
    if k in ("update", "delete", "insert"):
        return [(t or "?", ROW_EXCLUSIVE)]
    return []


def stronger(a: str | None, b: str | None) -> str | None:
    if a is None:
        return b
    if b is None:
        return a
    return a if RANK[a] >= RANK[b] else b


def describe(lock: str) -> str:
    """`ACCESS EXCLUSIVE lock (blocks every read and write)` for messages."""
    return f"{lock} lock (blocks {BLOCKS[lock]})"


def a_lock(lock: str) -> str:
    """The same with its article: `an ACCESS EXCLUSIVE lock (...)`, `a SHARE lock (...)`."""
    return ("an " if lock[0] in "AEIOU" else "a ") + describe(lock)
