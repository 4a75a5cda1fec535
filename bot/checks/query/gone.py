"""What the change removes that code may still use: fields and models the schema drops or renames, and columns and
tables the migrations drop or rename. Light on purpose (no TS parser): a change whose migrations remove nothing
never loads the code scan in bot.checks.query.dropped_columns."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.context import ReviewContext

if TYPE_CHECKING:
    from bot.sql.model import Statement
    from bot.sql.ops import Op

from .schema_view import SchemaView, accessor_of


@dataclass(frozen=True)
class Gone:
    model: str  # base model name
    accessors: tuple[str, ...]  # client properties that reach the model (base, and head when renamed)
    field: str | None  # None: the whole model is gone
    replacement: str | None  # the new name when it looks renamed
    schema_path: str
    schema_line: int | None


def gone_items(ctx: ReviewContext) -> list[Gone]:
    from bot.prisma.load import schema_diff

    diff = schema_diff(ctx)
    if diff is None:
        return []
    out: list[Gone] = []
    for item in diff.items:
        if item.kind in ("field_removed", "field_renamed"):
            base_field = item.base
            if base_field is None or not getattr(base_field, "is_scalar", False):
                continue
            base_model = base_field.model.name
            accessors = {accessor_of(base_model), accessor_of(item.model)}
            replacement = item.head.name if item.kind == "field_renamed" and item.head is not None else None
            out.append(Gone(base_model, tuple(sorted(accessors)), base_field.name, replacement,
                            item.path or item.base_path or "", item.line or item.base_line))
        elif item.kind in ("model_removed", "model_renamed"):
            base_model = item.base.name if item.base is not None else item.model
            replacement = item.head.name if item.kind == "model_renamed" and item.head is not None else None
            out.append(Gone(base_model, (accessor_of(base_model),), None, replacement,
                            item.path or item.base_path or "", item.line or item.base_line))
    return out


def migration_gone_items(ctx: ReviewContext, known: set[tuple[str, str | None]]) -> list[Gone]:
    """Columns and tables the change's migrations drop or rename, mapped to models through the base schema
    (a hand-written migration can drop a column the schema still declares)."""
    from bot.checks.query.schema_view import schema_view
    from bot.sql.load import parsed_migration
    from bot.sql.ops import ops_of

    view = schema_view(ctx, "base") or schema_view(ctx, "head")
    head_view = schema_view(ctx, "head")
    if view is None or not ctx.surfaces.migrations:
        return []
    out: list[Gone] = []
    files: list[tuple[str, list[tuple[Statement, Op]]]] = []
    for changed in ctx.surfaces.migrations:
        if not changed.path.endswith(".sql"):
            continue
        parsed = parsed_migration(ctx, changed.path)
        if parsed is None or not parsed.ok:
            continue
        files.append((changed.path, [(stmt, op) for stmt in parsed.statements for op in ops_of(stmt)]))
    # Names that exist again when the change's migrations have all run. Prisma changes a column's type it cannot
    # cast as `DROP COLUMN "x", ADD COLUMN "x" <type>` (and rebuilds a table the same way); a table rebuilt under a
    # temporary name is renamed onto the dropped one (`DROP TABLE "T"; ALTER TABLE "NewT" RENAME TO "T"`); a column
    # is renamed onto a dropped one, in the same file or a later one of the change (supaglue dropped "id" and
    # renamed "cuid" to "id" in the next migration). Code using such a name keeps working (the data loss is the
    # migration rules' to report).
    every = [op for _path, ops in files for _stmt, op in ops]
    added = {(_bare(op.table), op.column) for op in every if op.kind == "add_column" and op.table}
    added |= {(_bare(op.table), str(op.data["new"])) for op in every
              if op.kind == "rename_column" and op.table and op.data.get("new")}
    created = {_bare(op.table) for op in every if op.kind == "create_table" and op.table}
    created |= {_bare(str(op.data["new"])) for op in every if op.kind == "rename_table" and op.data.get("new")}
    for path, ops in files:
        created_so_far: set[str] = set()
        for stmt, op in ops:
            if op.kind == "create_table" and op.table:
                created_so_far.add(_bare(op.table))
            if op.kind not in ("drop_column", "rename_column", "drop_table", "rename_table") or not op.table:
                continue
            # The name lives on: a column added back or a table created again under it (formbricks renamed its
            # "Team" table to "Organization" and created a new "Team" in the same file), or the op acts on a table
            # this file created, which no model of the base schema describes.
            if (op.kind in ("drop_column", "rename_column") and (_bare(op.table), op.column) in added) or \
                    (op.kind in ("drop_table", "rename_table") and _bare(op.table) in created) or \
                    (op.kind in ("drop_column", "rename_column") and _bare(op.table) in created_so_far):
                continue
            table = op.table.rsplit(".", 1)[-1]
            model = next((m for s in view.schemas if (m := s.model_by_table(table)) is not None), None)
            if model is None:
                continue
            if op.kind in ("drop_table", "rename_table") and _remapped_at_head(head_view, model.name, table):
                continue  # the model lives on over another table (invoicerr: `User` now maps to "user")
            field_name: str | None = None
            if op.kind in ("drop_column", "rename_column"):
                f = next((f for f in model.scalar_fields if f.db_name == op.column), None)
                if f is None:
                    continue
                field_name = f.name
            if (model.name, field_name) in known:
                continue
            if field_name is not None and op.kind == "drop_column" and _relation_at_head(head_view, model.name,
                                                                                       field_name):
                continue  # dyrectorio: `Node.token` became a relation to NodeToken; `data: { token }` is that now
            known.add((model.name, field_name))
            new = op.data.get("new") if op.kind.startswith("rename") else None
            if new and field_name is not None:
                head_field = next((f for f in model.scalar_fields if f.db_name == new), None)
                new = head_field.name if head_field is not None else new
                if new == field_name or _same_field_at_head(head_view, model.name, field_name, str(new)):
                    continue  # `organization_id` -> `organizationId` with the @map dropped: the field keeps its name
            out.append(Gone(model.name, (accessor_of(model.name),), field_name, new, path,
                            stmt.line))
    return out


def _same_field_at_head(view: SchemaView | None, model: str, field_name: str, column: str) -> bool:
    """The head schema's model still has `field_name`, now stored in `column`: a rename of the column only."""
    if view is None:
        return False
    for schema in view.schemas:
        m = schema.model(model)
        if m is not None:
            return any(f.name == field_name and f.db_name == column for f in m.scalar_fields)
    return False


def _remapped_at_head(view: SchemaView | None, model: str, table: str) -> bool:
    """The head schema still has the model, over another table than the one dropped (a schema that still maps it
    to the dropped table is a hand-written drop the schema does not know about: the model is gone)."""
    if view is None:
        return False
    for schema in view.schemas:
        m = schema.model(model)
        if m is not None:
            return (m.db_name or m.name) != table
    return False


def _relation_at_head(view: SchemaView | None, model: str, field_name: str) -> bool:
    """The head schema's model has a relation field of that name: the name lives on, as a relation."""
    if view is None:
        return False
    for schema in view.schemas:
        m = schema.model(model)
        if m is not None:
            f = m.field(field_name)
            return f is not None and f.is_relation
    return False


def _bare(table: str) -> str:
    return table.rsplit(".", 1)[-1]


def everything_gone(ctx: ReviewContext) -> list[Gone]:
    """The schema's removed and renamed fields and models, then the migrations' (each once)."""
    try:
        items = gone_items(ctx)
    except Exception:  # the schema rules report schema problems; this rule just has nothing to compare
        items = []
    with contextlib.suppress(Exception):  # the migration analyzer reports SQL that does not parse
        items += migration_gone_items(ctx, {(g.model, g.field) for g in items})
    return items
