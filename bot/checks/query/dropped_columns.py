"""query/dropped-column-used: the change drops or renames a field (or model) but code anywhere in the repository
still selects, filters, sorts or writes it. Reported on the code, as caused by the change."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from bot.change import decode_text, prefetch
from bot.context import ReviewContext
from bot.findings import Finding, Severity, Surface
from bot.registry import define
from bot.surfaces import calls_prisma, is_query_path
from bot.ts import file_analysis
from bot.ts.values import JsArray, JsLiteral, JsObject, JsValue

from .common import call_finding, is_test_path
from .schema_view import SchemaView, accessor_of

if TYPE_CHECKING:
    from bot.ts.model import PrismaCall

RULE = define(
    "query/dropped-column-used", Severity.ERROR, Surface.QUERY,
    "Code still reads or writes a field (or model) the change drops or renames",
)

_MAX_FILES = 3000  # each file is read through the head snapshot (an API call per file on GitHub)
_FIELD_KEYS = ("where", "select", "omit", "data", "orderBy", "cursor", "create", "update", "having")
_NAME_LIST_KEYS = ("distinct", "by")


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
    for changed in ctx.surfaces.migrations:
        if not changed.path.endswith(".sql"):
            continue
        parsed = parsed_migration(ctx, changed.path)
        if parsed is None or not parsed.ok:
            continue
        ops = [(stmt, op) for stmt in parsed.statements for op in ops_of(stmt)]
        # Prisma changes a column's type it cannot cast as `DROP COLUMN "x", ADD COLUMN "x" <type>` (and rebuilds a
        # table the same way): the name lives on, so code using it keeps working (the data loss is the migration
        # rules' to report).
        added = {(_bare(op.table), op.column) for _, op in ops if op.kind == "add_column" and op.table}
        created = {_bare(op.table) for _, op in ops if op.kind == "create_table" and op.table}
        # A table rebuilt under a temporary name and renamed onto the dropped one (`DROP TABLE "T"; ALTER TABLE
        # "NewT" RENAME TO "T"`) keeps its name too; so does a column renamed onto a dropped one.
        added |= {(_bare(op.table), str(op.data["new"])) for _, op in ops
                  if op.kind == "rename_column" and op.table and op.data.get("new")}
        created |= {_bare(str(op.data["new"])) for _, op in ops if op.kind == "rename_table" and op.data.get("new")}
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
            out.append(Gone(model.name, (accessor_of(model.name),), field_name, new, changed.path,
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


def _keys_used(args: JsObject | None) -> set[str]:
    """Field names a call's arguments name at the model's own level."""
    used: set[str] = set()
    if args is None:
        return used

    def scan(value: JsValue | None, logical: bool = False) -> None:
        if isinstance(value, JsArray):
            for item in value.items:
                scan(item, logical)
        elif isinstance(value, JsObject):
            for key, sub in value.entries.items():
                if key in ("AND", "OR", "NOT") and logical:
                    scan(sub, True)
                else:
                    used.add(key)

    for key in _FIELD_KEYS:
        scan(args.get(key), logical=(key in ("where", "having")))
    for key in _NAME_LIST_KEYS:
        value = args.get(key)
        items = value.items if isinstance(value, JsArray) else [value]
        used.update(str(v.value) for v in items if isinstance(v, JsLiteral) and isinstance(v.value, str))
    return used


def _usage(call: PrismaCall, gone: Gone) -> bool:
    if call.accessor not in gone.accessors:
        return False
    if gone.field is None:
        return call.accessor == gone.accessors[0]
    return gone.field in _keys_used(call.args)


def analyze(ctx: ReviewContext) -> list[Finding]:
    try:
        items = gone_items(ctx)
    except Exception:  # the schema rules report schema problems; this rule just has nothing to compare
        items = []
    with contextlib.suppress(Exception):  # the migration analyzer reports SQL that does not parse
        items += migration_gone_items(ctx, {(g.model, g.field) for g in items})
    if not items:
        return []
    words = {g.field or g.accessors[0] for g in items}
    pattern = re.compile(r"\b(" + "|".join(re.escape(w) for w in sorted(words)) + r")\b")
    try:
        listing = ctx.change.head.list_files()
    except Exception:
        return []
    out: list[Finding] = []
    candidates = [path for path in listing if is_query_path(path) and not is_test_path(path)]
    # Every candidate is read: from git in batches, not one round trip per file.
    prefetch(ctx.change.head, candidates[:_MAX_FILES])
    for scanned, path in enumerate(candidates, start=1):
        if scanned > _MAX_FILES:
            ctx.note(f"query/dropped-column-used: stopped after {_MAX_FILES} files")
            break
        text = decode_text(ctx.change.head.read_bytes(path))
        # A word the pattern matches is in the text as written: the plain substring test skips most files faster
        # than the pattern, whose leading `\b` keeps the engine from scanning ahead.
        if not text or not any(word in text for word in words) or not pattern.search(text) or not calls_prisma(text):
            continue
        analysis = file_analysis(ctx, path)
        for call in analysis.calls:
            for gone in items:
                if _usage(call, gone):
                    if gone.field is None and call.accessor in gone.accessors and call.resolved_by.startswith(
                            "client binding; member not a schema model"):
                        # The member is missing from the head schema because this change removed the model: the
                        # receiver is a bound client, so the call is certainly Prisma's and fails after deploy.
                        call = replace(call, confidence=1.0)
                    out.append(call_finding(RULE, call, _message(call, gone), caused_by_change=True,
                                            key_suffix=f"{gone.model}.{gone.field or ''}"))
    return out


def _message(call: PrismaCall, gone: Gone) -> str:
    where = f" ({gone.schema_path}" + (f":{gone.schema_line}" if gone.schema_line else "") + ")" \
        if gone.schema_path else ""
    if gone.field is None:
        subject = f"model `{gone.model}`"
        fix = f"switch to `{accessor_of(gone.replacement)}`" if gone.replacement else "remove or migrate the call"
    else:
        subject = f"`{gone.model}.{gone.field}`"
        fix = f"use `{gone.replacement}`" if gone.replacement else "remove it from the query"
    verb = "renames" if gone.replacement else "drops"
    return (f"This change {verb} {subject}{where}, but `{call.target}` in `{call.function.name}` still uses it: "
            f"after `prisma generate` this fails to compile, and deployed code fails at run time with an unknown "
            f"argument / missing column error. Update the call ({fix}) in the same change, or ship the schema "
            f"change after the code stops using it (expand, then contract).")
