"""Index hygiene: an index made redundant by another (leftmost prefix or duplicate), and models with many indexes.

Every index is written on every insert and on every update of its columns, takes space, and competes for cache. A
btree on (a) adds nothing when a btree on (a, b), a unique constraint on (a, …) or the primary key starts with a.
"""

from __future__ import annotations

from bot.checks.schema._common import SchemaInput, db_label, entity_models, model_finding
from bot.findings import Finding, Severity, Surface
from bot.prisma.diff import describe_index
from bot.prisma.model import Index, Model
from bot.registry import define

REDUNDANT = define(
    "prisma/redundant-index",
    Severity.WARNING,
    Surface.SCHEMA,
    "Index that duplicates, or is a leftmost prefix of, another index or key on the same model",
)
TOO_MANY = define(
    "prisma/too-many-indexes",
    Severity.INFO,
    Surface.SCHEMA,
    "Model with more indexes than the configured maximum",
    options={"max_indexes": 10},
)

# Where each database shows indexes nothing reads.
_USAGE = {
    "postgresql": "e.g. `pg_stat_user_indexes.idx_scan = 0`",
    "cockroachdb": "e.g. `crdb_internal.index_usage_statistics`",
    "mysql": "e.g. `sys.schema_unused_indexes`",
    "sqlserver": "e.g. `sys.dm_db_index_usage_stats`",
}

_KIND_TEXT = {"id": "the primary key", "unique": "the unique constraint", "index": "the index"}


def _directions(idx: Index, n: int) -> tuple[str, ...]:
    return tuple((f.sort or "Asc").lower() for f in idx.fields[:n])


def _prefix_of(small: Index, big: Index) -> bool:
    """`small` can be answered by `big`: same leading columns, options and compatible sort order."""
    n = len(small.fields)
    if n > len(big.fields) or not small.is_btree or not big.is_btree:
        return False
    for a, b in zip(small.fields, big.fields[:n], strict=False):
        if a.name != b.name or a.ops != b.ops or a.length != b.length:
            return False
    if n == 1:
        return True  # a btree is read in either direction
    mine, theirs = _directions(small, n), _directions(big, n)
    flipped = tuple("desc" if d == "asc" else "asc" for d in theirs)
    return mine in (theirs, flipped)


def _same(a: Index, b: Index) -> bool:
    return (a.columns == b.columns and (a.type or "BTree").lower() == (b.type or "BTree").lower()
            and [(f.sort or "Asc", f.ops, f.length) for f in a.fields] ==
            [(f.sort or "Asc", f.ops, f.length) for f in b.fields])


def redundant_indexes(m: Model) -> list[tuple[Index, Index]]:
    """(redundant @@index, the key that makes it redundant)."""
    out: list[tuple[Index, Index]] = []
    keys = m.all_keys
    for i, idx in enumerate(keys):
        if idx.kind != "index":
            continue
        for j, other in enumerate(keys):
            if i == j:
                continue
            if _same(idx, other):
                # Of two identical plain indexes, the later one is the redundant one.
                if other.kind != "index" or j < i:
                    out.append((idx, other))
                    break
                continue
            if idx.is_btree and len(other.fields) > len(idx.fields) and _prefix_of(idx, other):
                out.append((idx, other))
                break
    return out


def check(inp: SchemaInput) -> list[Finding]:
    findings: list[Finding] = []
    limit = int(inp.options(TOO_MANY).get("max_indexes", 10))
    db = db_label(inp.schema)
    usage = _USAGE.get(inp.schema.provider or "postgresql", "the database's index usage statistics")
    for m in entity_models(inp.schema):
        for idx, by in redundant_indexes(m):
            mine = describe_index(idx)
            theirs = describe_index(by).replace("@@index", "@@" + by.kind) if by.source == "block" else (
                f"`@{by.kind}` on {by.columns[0]}")
            if by.source == "block":
                theirs = f"`{theirs}`"
            relation = "duplicates" if _same(idx, by) else "is a leftmost prefix of"
            findings.append(REDUNDANT.finding(
                idx.path, idx.line,
                f"`{mine}` on {m.name} {relation} {_KIND_TEXT[by.kind]} {theirs} (line {by.line}): {db} "
                f"can use that one for every query this index serves, so this index only costs writes and space. "
                f"Remove `{mine}`.",
                key=f"{m.name}:{mine}", scope=m.scope))
        pk = m.primary_key
        for uq in m.uniques:
            if pk is not None and uq.columns == pk.columns and uq.is_btree:
                # `id String @id @unique`: Prisma Migrate creates the primary key and a second unique index
                # (`<Model>_id_key`) over the same column; the constraint adds nothing the key does not enforce.
                field_level = uq.source == "field"
                shown = "@unique" if field_level else describe_index(uq)
                where = f" on `{uq.columns[0]}`" if field_level else ""
                findings.append(REDUNDANT.finding(
                    uq.path, uq.line,
                    f"`{shown}`{where} repeats the primary key of {m.name}: Prisma creates a second unique index "
                    f"over the same {'column' if len(uq.columns) == 1 else 'columns'}, written on every insert, "
                    f"while the primary key already enforces uniqueness and serves every lookup. Remove "
                    f"`{shown}`{where}.",
                    key=f"{m.name}:unique-repeats-pk", scope=m.scope))
        count = len(m.uniques) + len(m.indexes) + len(m.fulltext)
        if count > limit:
            findings.append(model_finding(
                TOO_MANY, m,
                f"Model {m.name} has {count} indexes and unique constraints (limit {limit}): each one is updated on "
                f"every insert and on updates of its columns. Check each against the queries that use it ({usage}), "
                f"drop the unused ones and merge those sharing leading columns.",
                key_suffix=":too-many-indexes"))
    return findings
