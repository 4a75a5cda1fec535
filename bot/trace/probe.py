"""Catalog queries the trace makes around each statement: our backend's locks, relfilenodes, and objects.

Only user objects count (oid >= 16384, outside pg_catalog/information_schema/pg_toast): the probes themselves lock
catalog tables, and those locks say nothing about the migration.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

FIRST_USER_OID = 16384

# What each table-level lock mode blocks, in the words a reviewer needs (PostgreSQL docs, "Table-Level Locks").
LOCK_BLOCKS: dict[str, str] = {
    "AccessShareLock": "only ACCESS EXCLUSIVE (DROP, most ALTER TABLE); reads and writes go on",
    "RowShareLock": "EXCLUSIVE and ACCESS EXCLUSIVE; reads and writes go on",
    "RowExclusiveLock": "SHARE and stronger (CREATE INDEX, …); reads and writes go on",
    "ShareUpdateExclusiveLock": "schema changes, VACUUM and other SHARE UPDATE EXCLUSIVE work; reads and writes go on",
    "ShareLock": "writes (INSERT, UPDATE, DELETE); reads go on",
    "ShareRowExclusiveLock": "writes (INSERT, UPDATE, DELETE); reads go on",
    "ExclusiveLock": "writes and SELECT … FOR UPDATE; plain reads go on",
    "AccessExclusiveLock": "everything: reads and writes",
}

MODE_NAMES: dict[str, str] = {
    "AccessShareLock": "ACCESS SHARE",
    "RowShareLock": "ROW SHARE",
    "RowExclusiveLock": "ROW EXCLUSIVE",
    "ShareUpdateExclusiveLock": "SHARE UPDATE EXCLUSIVE",
    "ShareLock": "SHARE",
    "ShareRowExclusiveLock": "SHARE ROW EXCLUSIVE",
    "ExclusiveLock": "EXCLUSIVE",
    "AccessExclusiveLock": "ACCESS EXCLUSIVE",
}

# Modes that stop writers (and, for ACCESS EXCLUSIVE, readers) while held.
WRITE_BLOCKING = {"ShareLock", "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock"}

MODE_RANK = {mode: rank for rank, mode in enumerate(MODE_NAMES)}


@dataclass(frozen=True)
class Relation:
    oid: int
    name: str  # schema-qualified unless it is in public: "User", "audit.Event"
    kind: str  # pg_class.relkind: r table, i index, S sequence, v view, m matview, p partitioned table, …
    filenode: int
    table: str | None = None  # for an index: the table it belongs to
    schema: str = "public"
    relname: str = ""


@dataclass(frozen=True)
class Lock:
    relation: str
    oid: int
    kind: str
    mode: str
    granted: bool = True

    @property
    def mode_name(self) -> str:
        return MODE_NAMES.get(self.mode, self.mode)


_RELATIONS = """
SELECT c.oid::bigint, n.nspname, c.relname, c.relkind, c.relfilenode::bigint, tn.nspname, t.relname
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_index x ON x.indexrelid = c.oid
LEFT JOIN pg_class t ON t.oid = x.indrelid
LEFT JOIN pg_namespace tn ON tn.oid = t.relnamespace
WHERE c.oid >= %s AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
  AND n.nspname NOT LIKE 'pg_temp%%' AND n.nspname NOT LIKE 'pg_toast_temp%%'
-- Every list built from this is shown to people: tables before their indexes, then by name, never heap order.
ORDER BY CASE WHEN c.relkind IN ('r', 'p') THEN 0 ELSE 1 END, n.nspname, c.relname
"""

_LOCKS = """
SELECT l.relation::bigint, l.mode, l.granted
FROM pg_locks l
WHERE l.pid = %s AND l.locktype = 'relation' AND l.relation >= %s
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
ORDER BY l.relation, l.mode, l.granted
"""

_OBJECTS = """
SELECT 'constraint', c.conname || ' on ' || quote_ident(r.relname), c.oid::bigint
FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid WHERE c.oid >= %(first)s
UNION ALL
SELECT 'type', t.typname, t.oid::bigint FROM pg_type t
WHERE t.oid >= %(first)s AND t.typtype IN ('e', 'd', 'c') AND (t.typrelid = 0 OR t.typtype <> 'c')
UNION ALL
SELECT 'function', p.proname, p.oid::bigint FROM pg_proc p WHERE p.oid >= %(first)s
UNION ALL
SELECT 'extension', e.extname, e.oid::bigint FROM pg_extension e WHERE e.oid >= %(first)s
ORDER BY 1, 2, 3
"""

_KIND_WORDS = {"r": "table", "p": "table", "i": "index", "I": "index", "S": "sequence", "v": "view",
               "m": "materialized view", "f": "foreign table", "c": "type"}


def qualified(schema: str, name: str) -> str:
    return name if schema == "public" else f"{schema}.{name}"


def kind_word(relkind: str) -> str:
    return _KIND_WORDS.get(relkind, "relation")


def relations(conn: psycopg.Connection[Any]) -> dict[int, Relation]:
    rows = conn.execute(_RELATIONS, (FIRST_USER_OID,)).fetchall()
    return {
        oid: Relation(oid, qualified(schema, name), kind, filenode, qualified(tschema, tname) if tname else None,
                      schema, name)
        for oid, schema, name, kind, filenode, tschema, tname in rows
    }


def locks_of(conn: psycopg.Connection[Any], pid: int, known: dict[int, Relation]) -> list[Lock]:
    """Relation locks held or awaited by backend `pid` in the current database (`conn` may be another session)."""
    out: list[Lock] = []
    for oid, mode, granted in conn.execute(_LOCKS, (pid, FIRST_USER_OID)).fetchall():
        rel = known.get(oid)
        out.append(Lock(rel.name if rel else f"oid {oid}", oid, rel.kind if rel else "?", mode, bool(granted)))
    return out


def objects(conn: psycopg.Connection[Any]) -> dict[tuple[str, int], str]:
    """Non-relation user objects (constraints, types, functions, extensions): (kind, oid) -> name."""
    rows = conn.execute(_OBJECTS, {"first": FIRST_USER_OID}).fetchall()
    return {(kind, oid): name for kind, name, oid in rows}
