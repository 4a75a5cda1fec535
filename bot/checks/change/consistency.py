"""Does the change's migration SQL match its schema change? (PostgreSQL, Prisma migrate projects.)

"base schema + the SQL of the migrations this change adds" is replayed (tables, columns, indexes, enums by database
name) and compared with the head schema, only on the objects either side touches. A mismatch means `migrate deploy`
leaves the database different from what Prisma Client expects (queries fail with P2022 / invalid enum input), or
that the next `prisma migrate dev` will generate a migration that reverts the hand-written SQL.

Rules:
- migration/schema-without-migration: the schema's database shape changed and the change adds no migration.
- migration/migration-without-schema-change: the schema did not change, yet a new migration changes tables, columns,
  indexes or enums so that they no longer match it. Data-only and hand-written migrations that keep the database in
  line with the schema (backfills, functions, triggers, concurrent builds of declared indexes) are not reported.
- migration/schema-drift: the schema changed and a new migration exists, but an object differs between the two.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from bot.change import FileStatus
from bot.context import ReviewContext
from bot.findings import Finding, Severity, Side, Surface
from bot.registry import define

from .dbshape import (
    Column,
    DbShape,
    IndexSig,
    SqlEffects,
    Table,
    Touch,
    managed_schemas,
    project,
    schema_type,
)
from .migration_dirs import MigrationScript, changed_scripts, guarded, migration_index

NO_MIGRATION = define(
    "migration/schema-without-migration",
    Severity.ERROR,
    Surface.MIGRATION,
    "The schema changes the database but the change adds no migration",
)
NO_SCHEMA = define(
    "migration/migration-without-schema-change",
    Severity.WARNING,
    Surface.MIGRATION,
    "A new migration changes tables, columns, indexes or enums that schema.prisma does not declare",
)
DRIFT = define(
    "migration/schema-drift",
    Severity.WARNING,
    Surface.MIGRATION,
    "The new migration's SQL and the schema change disagree on a table, column, index or enum",
)

_PG = ("postgresql", "postgres")


@dataclass
class Mismatch:
    """One object on which the SQL and the schema disagree; `from_sql` says which side did something."""

    severity: Severity
    message: str
    key: str
    from_sql: bool
    touch: Touch | None = None  # SQL anchor
    path: str | None = None  # schema anchor
    line: int | None = None
    side: Side = Side.NEW


def _check(ctx: ReviewContext) -> list[Finding]:
    try:
        from bot.prisma.load import schema_at
        from bot.sql.load import parsed_migration
    except ImportError:
        return []
    if not ctx.surfaces.schema and not any(c.status is FileStatus.ADDED for c in ctx.surfaces.migrations):
        return []  # nothing that could make schema and migrations disagree
    head_load = schema_at(ctx, "head")
    if head_load is None or head_load.schema is None:
        return []
    head_schema = head_load.schema
    if head_schema.provider not in _PG:
        return []
    base_load = schema_at(ctx, "base")
    if base_load is not None and base_load.schema is None:
        return []  # a base schema that does not parse gives no trustworthy comparison
    base_schema = base_load.schema if base_load is not None else None
    root = _migrations_root(ctx, head_load.files)
    if root is None:
        return []  # no migrations folder: the project uses `db push` (or keeps migrations elsewhere)

    base_shape = project(base_schema)
    head_shape = project(head_schema)
    schema_changed = bool(ctx.surfaces.schema) and _shape_key(base_shape) != _shape_key(head_shape)
    new_scripts = sorted(
        (head for changed, _, head in changed_scripts(ctx)
         if head is not None and head.root == root and changed.status is FileStatus.ADDED),
        key=lambda s: s.name,
    )
    if not new_scripts:
        if schema_changed and base_schema is not None:
            return _schema_without_migration(ctx, root, base_shape, head_shape)
        return []

    effects = SqlEffects(base_shape.copy(), managed=managed_schemas(head_schema))
    for script in new_scripts:
        parsed = parsed_migration(ctx, script.path)
        if parsed is None or parsed.skipped:
            continue
        if parsed.error is not None or parsed.provider not in _PG:
            return []  # cannot see what this migration does: compare nothing rather than guess
        effects.apply(script.path, parsed.statements)

    mismatches = _compare(base_shape, effects, head_shape)
    if effects.opaque:
        # A DO block or function may create what we did not see: keep only what the SQL visibly did.
        mismatches = [m for m in mismatches if m.from_sql]
    if not mismatches:
        return []
    if not schema_changed:
        return _without_schema_change(new_scripts, mismatches)
    return [_drift_finding(m) for m in mismatches]


# -- where the migrations live ------------------------------------------------------------------------------------


def _migrations_root(ctx: ReviewContext, schema_files: list[str]) -> str | None:
    index = migration_index(ctx)
    roots = [r for r in index.roots if index.head.get(r)]
    roots = roots or list(ctx.surfaces.head_layout.migration_dirs)
    if not roots:
        return None
    if len(roots) == 1:
        return roots[0]
    schema_dir = posixpath.dirname(schema_files[0]) if schema_files else ""
    for root in roots:
        if posixpath.dirname(root) == schema_dir or root.startswith(schema_dir.rsplit("/schema", 1)[0] + "/"):
            return root
    return None


# -- schema changed, no migration ---------------------------------------------------------------------------------


def _shape_key(shape: DbShape) -> object:
    tables = {
        name: (
            {c: (col.type, col.nullable, col.default) for c, col in t.columns.items()},
            frozenset(t.sigs()),
            t.primary_key,
        )
        for name, t in shape.tables.items()
    }
    return tables, {name: tuple(e.values) for name, e in shape.enums.items()}


def _schema_without_migration(ctx: ReviewContext, root: str, base: DbShape, head: DbShape) -> list[Finding]:
    changes: list[tuple[str, str, int, Side]] = []  # (description, path, line, side)
    for name, table in head.tables.items():
        old = base.tables.get(name)
        model = table.model
        if model is None:
            continue
        if old is None:
            changes.append((f"new table `{name}` (model `{model.name}`)", model.path, model.line, Side.NEW))
            continue
        for col_name, col in table.columns.items():
            before = old.columns.get(col_name)
            f = col.field
            if f is None:
                continue
            if before is None:
                changes.append((f"new column `{name}.{col_name}` (`{f.key}`)", f.path, f.line, Side.NEW))
            elif (before.type, before.nullable, before.default) != (col.type, col.nullable, col.default):
                what = []
                if before.type != col.type:
                    what.append(f"type {before.type} → {col.type}")
                if before.nullable != col.nullable:
                    what.append("NOT NULL" if not col.nullable else "nullable")
                if before.default != col.default:
                    what.append(f"default {before.default or 'none'} → {col.default or 'none'}")
                changes.append((f"`{name}.{col_name}`: {', '.join(what)}", f.path, f.line, Side.NEW))
        for col_name, col in old.columns.items():
            if col_name not in table.columns and col.field is not None:
                changes.append((f"column `{name}.{col_name}` removed", col.field.path, col.field.line, Side.OLD))
        for sig in table.sigs() - old.sigs():
            idx = table.index_sources.get(sig)
            changes.append((f"new {sig.describe()} on `{name}`", idx.path if idx else model.path,
                            idx.line if idx else model.line, Side.NEW))
        for sig in old.sigs() - table.sigs():
            changes.append((f"{sig.describe()} on `{name}` removed", model.path, model.line, Side.NEW))
        if old.primary_key != table.primary_key and old.primary_key and table.primary_key:
            changes.append((f"primary key of `{name}` changed", model.path, model.line, Side.NEW))
    for name, table in base.tables.items():
        if name not in head.tables and table.model is not None:
            changes.append((f"table `{name}` removed", table.model.path, table.model.line, Side.OLD))
    for name, e in head.enums.items():
        old_enum = base.enums.get(name)
        src = e.source
        if old_enum is None:
            changes.append((f"new enum `{name}`", src.path, src.line, Side.NEW))
        elif old_enum.values != e.values:
            added = [v for v in e.values if v not in old_enum.values]
            removed = [v for v in old_enum.values if v not in e.values]
            parts = [f"adds {', '.join(added)}"] if added else []
            parts += [f"removes {', '.join(removed)}"] if removed else []
            changes.append((f"enum `{name}` {' and '.join(parts) or 'reorders its values'}", src.path, src.line,
                            Side.NEW))
    changes = [c for c in changes if not _already_migrated(ctx, root, c[0])]
    if not changes:
        return []
    first = next((c for c in changes if c[3] is Side.NEW), changes[0])
    listed = "; ".join(c[0] for c in changes[:6]) + (f"; and {len(changes) - 6} more" if len(changes) > 6 else "")
    message = (
        f"The schema changes the database ({listed}) but this change adds no migration under `{root}`. "
        "`prisma migrate deploy` will leave the database as it is while Prisma Client is generated from the new "
        "schema, so queries touching these objects fail at runtime (P2022 \"column does not exist\", P2021 "
        "\"table does not exist\"). Run `npx prisma migrate dev --name <change>` and commit the generated "
        "migration with this change."
    )
    return [NO_MIGRATION.finding(first[1], first[2], message, side=first[3], key=f"{root}:schema-without-migration",
                                 caused_by_change=True, extra={"changes": [c[0] for c in changes]})]


_BACKTICKED = re.compile(r"`([^`]+)`")


def _already_migrated(ctx: ReviewContext, root: str, description: str) -> bool:
    """A new column or table whose SQL is already in a committed migration (migration merged before the schema)."""
    if not description.startswith(("new column", "new table")):
        return False
    names = _BACKTICKED.findall(description)
    if not names:
        return False
    target = names[0]
    table, _, column = target.partition(".")
    if column:
        pattern = re.compile(rf'ADD\s+COLUMN\s+(?:IF\s+NOT\s+EXISTS\s+)?"?{re.escape(column)}"?\s', re.I)
    else:
        pattern = re.compile(rf'CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(?:"?\w+"?\.)?"?{re.escape(table)}"?\s*\(',
                             re.I)
    for name in sorted(migration_index(ctx).base.get(root, ()), reverse=True)[:50]:
        text = ctx.base_text(MigrationScript(root, name).path) or ""
        if pattern.search(text) and (not column or f'"{table}"' in text or f" {table} " in text):
            return True
    return False


# -- SQL vs schema --------------------------------------------------------------------------------------------------


def _model_name(table: Table | None, fallback: str) -> str:
    return table.model.name if table is not None and table.model is not None else fallback


def _compare(base: DbShape, effects: SqlEffects, head: DbShape) -> list[Mismatch]:
    sim = effects.shape
    out: list[Mismatch] = []
    remapped = _remapped_tables(base, head, sim)
    for name, table in head.tables.items():
        model = table.model
        if name in remapped:
            old_name = remapped[name]
            out.append(Mismatch(Severity.ERROR, (
                f"Model `{_model_name(table, name)}` now maps to table `{name}` (its `@@map` changed from "
                f"`{old_name}`) but no migration renames the table: its queries fail with P2021 after deploy. Add "
                f"`ALTER TABLE \"{old_name}\" RENAME TO \"{name}\";`, or keep `@@map(\"{old_name}\")`."),
                f"table:{name}", False, path=model.path if model else None, line=model.line if model else None))
            continue
        if name not in sim.tables:
            touch = effects.tables.get(name)
            if touch is not None and touch.action in ("drop", "rename"):
                out.append(Mismatch(Severity.ERROR, (
                    f"This migration drops table `{name}` but model `{_model_name(table, name)}` still maps to it: "
                    f"every query of that model fails with P2021 (table does not exist). Remove the model in the "
                    "same change, or keep the table."), f"table:{name}", True, touch=touch))
            elif name not in base.tables and model is not None:
                out.append(Mismatch(Severity.ERROR, (
                    f"Model `{model.name}` is new but no migration in this change creates table `{name}`: its "
                    "queries fail with P2021 after deploy. Add the `CREATE TABLE` (regenerate with "
                    "`npx prisma migrate dev --create-only`)."), f"table:{name}", False, path=model.path,
                    line=model.line))
            continue
        out.extend(_compare_columns(name, base.tables.get(name), sim.tables[name], table, effects))
        out.extend(_compare_indexes(name, base.tables.get(name), sim.tables[name], table, effects))
    for name in sim.tables:
        if name in head.tables or name.startswith("_") or name in remapped.values():
            continue
        touch = effects.tables.get(name)
        if touch is not None and touch.action in ("create", "rename"):
            out.append(Mismatch(Severity.WARNING, (
                f"This migration creates table `{name}`, but no model maps to it: the next `prisma migrate dev` "
                f"generates a `DROP TABLE \"{name}\"`. Add the model (`@@map(\"{name}\")`; `npx prisma db pull` "
                "writes it for you) in the same change."), f"table:{name}", True, touch=touch))
        elif name in base.tables and base.tables[name].model is not None:
            model = base.tables[name].model
            out.append(Mismatch(Severity.INFO, (
                f"Model `{model.name}` is removed from the schema but no migration drops table `{name}`. That is "
                "fine as the first step of a removal (code first, table later), but the next `prisma migrate dev` "
                "will generate the `DROP TABLE`."), f"table:{name}", False, path=model.path, line=model.line,
                side=Side.OLD))
    out.extend(_compare_enums(base, effects, head))
    return out


def _compare_columns(name: str, base: Table | None, sim: Table, head: Table, effects: SqlEffects) -> list[Mismatch]:
    out: list[Mismatch] = []
    created_here = effects.tables.get(name) is not None and effects.tables[name].action == "create"
    remapped = _remapped_columns(base, sim, head)
    for new_col, old_col in remapped.items():
        f = head.columns[new_col].field
        assert f is not None
        out.append(Mismatch(Severity.ERROR, (
            f"Field `{f.key}` now maps to column `{new_col}` (its `@map` changed from `{old_col}`) but no migration "
            f"renames the column: queries of the model fail with P2022 after deploy. Add `ALTER TABLE \"{name}\" "
            f"RENAME COLUMN \"{old_col}\" TO \"{new_col}\";`, or keep `@map(\"{old_col}\")`."),
            f"column:{name}.{new_col}", False, path=f.path, line=f.line))
    for col_name, col in head.columns.items():
        if col_name in sim.columns or col_name in remapped:
            continue
        f = col.field
        touch = effects.columns.get((name, col_name))
        if touch is not None and touch.action in ("drop", "rename"):
            out.append(Mismatch(Severity.ERROR, (
                f"This migration drops column `{name}.{col_name}` but field `{f.key if f else col_name}` still maps to "
                "it: Prisma Client selects every scalar column by default, so queries of that model fail with P2022 "
                "(column does not exist). Remove the field in the same change (or keep the column)."),
                f"column:{name}.{col_name}", True, touch=touch))
        elif f is not None and (created_here or base is None or col_name not in base.columns):
            out.append(Mismatch(Severity.ERROR, (
                f"Field `{f.key}` (column `{col_name}`) is new in the schema but no migration in this change adds the "
                "column: queries of the model fail with P2022 after deploy. Add "
                f"`ALTER TABLE \"{name}\" ADD COLUMN \"{col_name}\" …` (regenerate with "
                "`npx prisma migrate dev --create-only`)."), f"column:{name}.{col_name}", False, path=f.path,
                line=f.line))
    for col_name, col in head.columns.items():
        touch = effects.columns.get((name, col_name))
        before = base.columns.get(col_name) if base is not None else None
        if touch is None and before is not None and col_name in sim.columns:
            out.extend(_unmigrated_field_change(name, before, col, sim.columns[col_name]))
            continue
        for check in (_nullability, _column_type):
            mismatch = check(name, col, sim.columns.get(col_name), touch)
            if mismatch is not None:
                out.append(mismatch)
    for col_name in sim.columns:
        if col_name in head.columns or col_name in remapped.values():
            continue
        touch = effects.columns.get((name, col_name))
        if touch is not None and touch.action in ("add", "create", "rename"):
            out.append(Mismatch(Severity.WARNING, (
                f"This migration adds column `{name}.{col_name}` but model `{_model_name(head, name)}` has no field "
                f"mapped to it: the next `prisma migrate dev` generates `DROP COLUMN \"{col_name}\"` and its data is "
                f"lost. Add the field (with `@map(\"{col_name}\")` if its name differs)."),
                f"column:{name}.{col_name}", True, touch=touch))
        elif base is not None and col_name in base.columns and base.columns[col_name].field is not None:
            f = base.columns[col_name].field
            required = not f.optional and not f.list and base.columns[col_name].default is None \
                and not f.is_updated_at
            if required:
                out.append(Mismatch(Severity.ERROR, (
                    f"Field `{f.key}` is removed from the schema but column `{name}.{col_name}` stays, and it is NOT "
                    "NULL without a database default: every `create` of the model fails with a not-null violation. "
                    f"Drop the column, or first make it optional (`ALTER TABLE \"{name}\" ALTER COLUMN "
                    f"\"{col_name}\" DROP NOT NULL`) in this migration."), f"column:{name}.{col_name}", False,
                    path=f.path, line=f.line, side=Side.OLD))
            else:
                out.append(Mismatch(Severity.INFO, (
                    f"Field `{f.key}` is removed from the schema but no migration drops column `{name}.{col_name}`: "
                    "fine as the first step of a removal, but the next `prisma migrate dev` generates the "
                    "`DROP COLUMN`."), f"column:{name}.{col_name}", False, path=f.path, line=f.line, side=Side.OLD))
    return out


def _remapped_columns(base: Table | None, sim: Table, head: Table) -> dict[str, str]:
    """new column -> old column, for fields whose `@map` changed while the SQL left the old column in place."""
    if base is None:
        return {}
    old_by_field = {c.field.name: n for n, c in base.columns.items() if c.field is not None}
    out: dict[str, str] = {}
    for new_col, col in head.columns.items():
        if col.field is None or new_col in sim.columns:
            continue
        old_col = old_by_field.get(col.field.name)
        if old_col and old_col != new_col and old_col in sim.columns and old_col not in head.columns:
            out[new_col] = old_col
    return out


def _remapped_tables(base: DbShape, head: DbShape, sim: DbShape) -> dict[str, str]:
    """new table -> old table, for models whose `@@map` changed while the SQL left the old table in place."""
    old_by_model = {t.model.name: n for n, t in base.tables.items() if t.model is not None}
    out: dict[str, str] = {}
    for new_name, table in head.tables.items():
        if table.model is None or new_name in sim.tables:
            continue
        old_name = old_by_model.get(table.model.name)
        if old_name and old_name != new_name and old_name in sim.tables and old_name not in head.tables:
            out[new_name] = old_name
    return out


def _unmigrated_field_change(table: str, before: Column, after: Column, sim: Column) -> list[Mismatch]:
    """A field whose type or optionality changed in the schema while no statement of the migrations touches it.

    The type is compared with the column as the migrations leave it (`sim`), not as it was: renaming an enum type
    (`ALTER TYPE "TeamMemberRole" RENAME TO "TeamAccessRole"`, hoppscotch) retypes its columns without touching them.
    """
    f = after.field
    if f is None or f.kind == "unsupported":
        return []
    out: list[Mismatch] = []
    key = f"{table}.{after.name}"
    if schema_type(before.type) != schema_type(after.type) and schema_type(sim.type) != schema_type(after.type):
        out.append(Mismatch(Severity.WARNING, (
            f"Field `{f.key}` changes type ({schema_type(before.type)} → {schema_type(after.type)}) but no migration "
            f"in this change alters column `{key}`: Prisma Client now expects the new type, and the next "
            f"`prisma migrate dev` generates the `ALTER COLUMN \"{after.name}\" SET DATA TYPE`. Add it to this "
            "change's migration."), f"type:{key}", False, path=f.path, line=f.line))
    if before.nullable and not after.nullable and not f.list:
        out.append(Mismatch(Severity.WARNING, (
            f"Field `{f.key}` becomes required but no migration in this change sets column `{key}` NOT NULL: "
            "Prisma Client fails to read rows where it is NULL (P2032). Backfill and add `ALTER COLUMN "
            f"\"{after.name}\" SET NOT NULL` (with a default for new rows)."), f"nullability:{key}", False,
            path=f.path, line=f.line))
    elif not before.nullable and after.nullable and not f.list:
        out.append(Mismatch(Severity.ERROR, (
            f"Field `{f.key}` becomes optional but no migration in this change drops NOT NULL on column `{key}`: "
            "every write that sets it to null, or a `create` that leaves it out, fails with a not-null violation. "
            f"Add `ALTER TABLE \"{table}\" ALTER COLUMN \"{after.name}\" DROP NOT NULL;`."), f"nullability:{key}",
            False, path=f.path, line=f.line))
    return out


def _column_type(table: str, head: Column, sim: Column | None, touch: Touch | None) -> Mismatch | None:
    """A column the SQL creates (or retypes) with another type than the schema field's, modifiers aside."""
    f = head.field
    if sim is None or touch is None or f is None or not sim.type_from_sql:
        return None
    if not sim.type or f.kind == "unsupported":
        return None
    wanted = schema_type(head.type)
    if not wanted or wanted == schema_type(sim.type):
        return None
    native = f.native.prisma if f.native is not None and f.native.explicit else f.type_text()
    return Mismatch(Severity.WARNING, (
        f"This migration makes column `{table}.{head.name}` `{sim.type}` but field `{f.key}` ({native}) is "
        f"`{wanted}`: the next `prisma migrate dev` generates an `ALTER COLUMN \"{head.name}\" SET DATA TYPE` to "
        "reconcile them (a table rewrite for most type changes). Make the SQL type and the field's type (or its "
        "`@db.*` attribute) agree."), f"type:{table}.{head.name}", True, touch=touch)


def _nullability(table: str, head: Column, sim: Column | None, touch: Touch | None) -> Mismatch | None:
    """A column the SQL defines (or SET/DROP NOT NULL) with a nullability the schema field does not have."""
    f = head.field
    if sim is None or touch is None or not sim.sql_defined or f is None or sim.nullable == head.nullable:
        return None
    if f.list:
        return None  # Prisma treats an array column as a list whether or not it is NOT NULL
    key = f"nullability:{table}.{head.name}"
    if not head.nullable:
        return Mismatch(Severity.WARNING, (
            f"Field `{f.key}` is required in the schema but this migration leaves column `{table}.{head.name}` "
            "nullable: Prisma Client fails to read any row where it is NULL (P2032), and the next "
            f"`prisma migrate dev` generates `ALTER COLUMN \"{head.name}\" SET NOT NULL`. Make the field optional "
            f"(`{f.type}?`) or the column NOT NULL."), key, True, touch=touch)
    if sim.default is None:
        return Mismatch(Severity.ERROR, (
            f"Field `{f.key}` is optional in the schema but this migration makes column `{table}.{head.name}` NOT "
            "NULL without a default: every `create` that leaves the field out fails with a not-null violation. "
            f"Make the field required (`{f.type}`), or drop the NOT NULL."), key, True, touch=touch)
    return Mismatch(Severity.WARNING, (
        f"Field `{f.key}` is optional in the schema but this migration makes column `{table}.{head.name}` NOT NULL: "
        "writing `null` to it fails, and the next `prisma migrate dev` generates `DROP NOT NULL`. Make the two agree."),
        key, True, touch=touch)


def _fields_of(table: Table, sig: IndexSig) -> str:
    model = table.model
    if model is None:
        return ", ".join(sig.columns)
    names = []
    for col in sig.columns:
        f = next((x for x in model.fields if (x.db_name or x.name) == col), None)
        names.append(f.name if f else col)
    return ", ".join(names)


def _compare_indexes(name: str, base: Table | None, sim: Table, head: Table, effects: SqlEffects) -> list[Mismatch]:
    out: list[Mismatch] = []
    created_here = effects.tables.get(name) is not None and effects.tables[name].action == "create"
    base_sigs = base.sigs() if base is not None else set()
    remapped = _remapped_columns(base, sim, head)  # reported once, as the column
    moved = set(remapped) | set(remapped.values())
    for sig in head.sigs() - sim.sigs():
        if moved & set(sig.columns):
            continue
        touch = effects.indexes.get((name, sig))
        idx = head.index_sources.get(sig)
        attr = "@@unique" if sig.unique else "@@index"
        if touch is not None and touch.action == "drop":
            out.append(Mismatch(Severity.WARNING, (
                f"This migration drops the {sig.describe()} of `{name}`, which the schema still declares "
                f"(`{attr}([{_fields_of(head, sig)}])`): the next `prisma migrate dev` recreates it. Remove it from "
                "the schema too, or keep the index."), f"index:{name}:{sig}", True, touch=touch))
        elif idx is not None and (created_here or sig not in base_sigs):
            severity = Severity.ERROR if sig.unique else Severity.WARNING
            consequence = ("uniqueness is not enforced and upserts relying on it misbehave" if sig.unique
                           else "queries that rely on it scan the table")
            out.append(Mismatch(severity, (
                f"The schema adds `{attr}([{_fields_of(head, sig)}])` on `{name}` but no migration in this change "
                f"creates that index: {consequence}, and the next `prisma migrate dev` generates it anyway. Add the "
                "`CREATE INDEX` (CONCURRENTLY, alone in its own migration, for a large table)."),
                f"index:{name}:{sig}", False, path=idx.path, line=idx.line))
    names_by_sig: dict[IndexSig, str] = {}
    for index_name, sig in sim.indexes.items():  # one pass: a lookup per index would be quadratic in the table's
        names_by_sig.setdefault(sig, index_name)  # indexes (a generated migration can add thousands to one table)
    for sig in sim.sigs() - head.sigs():
        if moved & set(sig.columns):
            continue
        touch = effects.indexes.get((name, sig))
        attr = "@@unique" if sig.unique else "@@index"
        if touch is not None and touch.action == "create":
            index_name = names_by_sig.get(sig, "")
            out.append(Mismatch(Severity.WARNING, (
                f"This migration creates the {sig.describe()} `{index_name}` on `{name}`, which the schema does not "
                f"declare: the next `prisma migrate dev` generates `DROP INDEX \"{index_name}\"`. Declare it on model "
                f"`{_model_name(head, name)}`: `{attr}([{_fields_of(head, sig)}], map: \"{index_name}\")`."),
                f"index:{name}:{sig}", True, touch=touch))
    return out


def _compare_enums(base: DbShape, effects: SqlEffects, head: DbShape) -> list[Mismatch]:
    sim = effects.shape
    out: list[Mismatch] = []
    for name, e in head.enums.items():
        src = e.source
        if name not in sim.enums:
            touch = effects.enums.get(name)
            if touch is not None and touch.action == "drop":
                out.append(Mismatch(Severity.ERROR, (
                    f"This migration drops enum type `{name}` but the schema still declares enum `{src.name}`."),
                    f"enum:{name}", True, touch=touch))
            elif name not in base.enums:
                out.append(Mismatch(Severity.ERROR, (
                    f"Enum `{src.name}` is new in the schema but no migration in this change creates type `{name}`: "
                    f"columns of that type cannot be created. Add `CREATE TYPE \"{name}\" AS ENUM (…)`."),
                    f"enum:{name}", False, path=src.path, line=src.line))
            continue
        sim_values = sim.enums[name].values
        base_values = base.enums[name].values if name in base.enums else []
        for value in e.values:
            if value in sim_values:
                continue
            touch = effects.enum_values.get((name, value))
            if value not in base_values or touch is not None:
                line = next((v.line for v in src.values if (v.db_name or v.name) == value), src.line)
                out.append(Mismatch(Severity.ERROR, (
                    f"Enum `{src.name}` has value `{value}` in the schema but no migration in this change adds it: "
                    f"writing it fails with `invalid input value for enum`. Add `ALTER TYPE \"{name}\" ADD VALUE "
                    f"'{value}'`."), f"enum:{name}.{value}", False, path=src.path, line=line))
        for value in sim_values:
            if value in e.values:
                continue
            touch = effects.enum_values.get((name, value))
            if touch is not None and touch.action in ("add", "rename"):
                out.append(Mismatch(Severity.WARNING, (
                    f"This migration adds value `{value}` to enum type `{name}` but enum `{src.name}` in the schema "
                    f"does not have it: Prisma Client fails to read rows holding it. Add `{value}` to the enum."),
                    f"enum:{name}.{value}", True, touch=touch))
    for name in sim.enums:
        touch = effects.enums.get(name)
        if name not in head.enums and touch is not None and touch.action == "create":
            out.append(Mismatch(Severity.WARNING, (
                f"This migration creates enum type `{name}` but the schema declares no enum mapped to it: the next "
                "`prisma migrate dev` drops it."), f"enum:{name}", True, touch=touch))
    return out


# -- findings -----------------------------------------------------------------------------------------------------


def _drift_finding(m: Mismatch) -> Finding:
    if m.touch is not None:
        return DRIFT.finding(m.touch.path, m.touch.line, m.message, end_line=m.touch.end_line, severity=m.severity,
                             key=m.key, scope=(m.touch.line, m.touch.end_line), caused_by_change=True)
    return DRIFT.finding(m.path or "", m.line or 1, m.message, side=m.side, severity=m.severity, key=m.key,
                         caused_by_change=True)


def _without_schema_change(scripts: list[MigrationScript], mismatches: list[Mismatch]) -> list[Finding]:
    by_path: dict[str, list[Mismatch]] = {}
    for m in mismatches:
        if m.touch is not None:
            by_path.setdefault(m.touch.path, []).append(m)
    findings: list[Finding] = []
    for path, items in by_path.items():
        first = min(items, key=lambda m: m.touch.line if m.touch else 0)
        assert first.touch is not None
        severity = max((m.severity for m in items), key=lambda s: s.rank)
        details = " ".join(m.message for m in items[:3])
        more = f" ({len(items) - 3} more.)" if len(items) > 3 else ""
        message = (
            "This migration changes the database but the schema is unchanged in this change, so the two no longer "
            f"match. {details}{more}"
        )
        findings.append(NO_SCHEMA.finding(path, first.touch.line, message, end_line=first.touch.end_line,
                                          severity=severity, key=f"{path}:without-schema-change",
                                          scope=(first.touch.line, first.touch.end_line), caused_by_change=True,
                                          extra={"objects": [m.key for m in items]}))
    return findings


check = guarded("consistency", _check)
