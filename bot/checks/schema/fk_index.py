"""prisma/fk-missing-index: a relation's foreign key columns are not the leading columns of any index.

PostgreSQL never indexes the referencing side of a foreign key. Without an index, `where: { userId }`, `include`
from the parent side, and every delete of a parent row or change of its key (the FK check, Cascade, SetNull) scan
the child table.
A composite foreign key is covered only as a unit: its columns, in any order, must be the first columns of one index.
"""

from __future__ import annotations

import re

from bot.checks.schema._common import SchemaInput, db_label, entity_models, field_finding, index_text
from bot.findings import Finding, Severity, Surface
from bot.prisma.model import Index, Model, Relation
from bot.registry import define

RULE = define(
    "prisma/fk-missing-index",
    Severity.WARNING,
    Surface.SCHEMA,
    "Relation scalar fields that are not the leading columns of any index",
    aliases=("prisma-lint:require-field-index",),
)


# Columns that scope a row to a tenant. In a composite foreign key such as (datasetId, projectId) they select
# thousands of rows, while the other column selects a handful: an index on the other column alone serves the lookup.
_TENANT = re.compile(r"^(project|tenant|org|organization|organisation|workspace|team|account|company|site|"
                     r"environment|env)(_?id)?$", re.IGNORECASE)


def _usable(key: Index, n: int) -> bool:
    return key.is_btree or (key.type is not None and key.type.lower() == "hash" and len(key.columns) == n == 1)


def covering_key(model: Model, columns: list[str], selective: set[str] | frozenset[str] = frozenset()) -> Index | None:
    """The first key whose leading columns are exactly `columns` (in any order), or None.

    For a composite key, a key that starts with a subset of `columns` containing a non-tenant column also counts.
    A column in `selective` (it references the target's own id) counts as non-tenant whatever its name: in
    (accountId, userId) → Account(id, userId), `accountId` picks one account even though "account" can name a tenant.
    """
    want = set(columns)
    n = len(columns)
    for key in model.all_keys:
        cols = key.columns
        if len(cols) >= n and set(cols[:n]) == want and _usable(key, n):
            return key
    if n > 1:
        for key in model.all_keys:
            for k in range(1, n):
                lead = set(key.columns[:k])
                if len(key.columns) >= k and lead < want and any(c in selective or not _TENANT.match(c) for c in lead) \
                        and _usable(key, k):
                    return key
    return None


def selective_columns(rel: Relation) -> set[str]:
    """FK columns that reference the target's id or a single-column unique key: each value picks one parent row."""
    out: set[str] = set()
    target = rel.target
    single = {k.columns[0] for k in target.all_keys if k.kind in ("id", "unique") and len(k.columns) == 1}
    for col, ref in zip(rel.fields, rel.references, strict=False):
        if ref == "id" or ref in single:
            out.add(col)
    return out


def _message(rel: Relation, emulated: bool, db: str) -> str:
    cols = rel.fields
    fix = index_text(cols)
    names = ", ".join(f"`{c}`" for c in cols)
    parent = rel.target.name
    child = rel.model.name
    what = "foreign key" if len(cols) == 1 else "composite foreign key"
    near = ""
    partial = [k for k in rel.model.all_keys if set(cols) & set(k.columns)]
    if partial:
        shown = index_text(list(partial[0].columns)).replace("@@index", {"id": "@@id", "unique": "@@unique",
                                                                           "index": "@@index",
                                                                           "fulltext": "@@fulltext"}[partial[0].kind])
        lead = []
        for c in partial[0].columns:
            if c not in cols:
                break
            lead.append(c)
        if lead:
            near = (f" (`{shown}` starts with only {', '.join(f'`{c}`' for c in lead)} of them, which selects "
                    "too many rows to serve this lookup)")
        else:
            near = f" (`{shown}` contains it but does not start with it, so it cannot be used for this lookup)"
    if emulated:
        why = (f'With relationMode = "prisma" there is no foreign key in the database: Prisma emulates the relation '
               f"with queries on {names}, and nothing indexes {'it' if len(cols) == 1 else 'them'}{near}. Every "
               f"{parent} delete/update and every relation query on {child} scans the whole {child} table.")
    else:
        # The check runs on every delete of a parent row, and on an update only when its key changes.
        why = (f"{db} does not index the referencing side of a {what}{near}. Every {parent} delete (and any change "
               f"of its key) scans the whole {child} table to check {names}, and `where`/`include` through "
               f"`{rel.field.name}` is a sequential scan.")
    return f"{what.capitalize()} {names} of {child}.{rel.field.name} → {parent} has no index. {why} " \
           f"Add `{fix}` to model {child}."


def check(inp: SchemaInput) -> list[Finding]:
    schema = inp.schema
    if schema.provider == "mongodb":
        return []
    emulated = schema.emulated_relations
    # MySQL/InnoDB creates an index for every foreign key it enforces itself.
    if not emulated and schema.provider == "mysql":
        return []
    findings: list[Finding] = []
    models = set(id(m) for m in entity_models(schema))
    for rel in schema.relations:
        if rel.implicit_many_to_many or not rel.fields or id(rel.model) not in models:
            continue
        if len(rel.fk_fields) != len(rel.fields):
            continue  # a field name that does not exist: Prisma itself reports it
        if covering_key(rel.model, rel.fields, selective_columns(rel)) is not None:
            continue
        # On the (first) foreign key field, where prisma-lint reports it too: a `/// prisma-lint-ignore-field
        # require-field-index` written above that field keeps working.
        findings.append(field_finding(
            RULE, rel.fk_fields[0], _message(rel, emulated, db_label(schema)),
            severity=Severity.ERROR if emulated else None, key=f"{rel.model.name}.{'+'.join(rel.fields)}",
            model_scope=True,
            extra={"fix": index_text(rel.fields), "fields": rel.fields, "target": rel.target.name,
                   "model": rel.model.name, "relation": rel.field.name},
        ))
    return findings
