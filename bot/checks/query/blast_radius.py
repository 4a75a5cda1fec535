"""query/delete-blast-radius: what a delete does to the rows that reference it, from the effective referential
actions (Prisma's implicit defaults included: Restrict for required relations, SetNull for optional ones)."""

from __future__ import annotations

from bot.findings import Finding, Severity, Surface
from bot.prisma.model import Model, Relation
from bot.registry import define
from bot.ts.model import PrismaCall

from .common import QueryInput, call_finding, is_script_path, is_test_path
from .schema_view import SchemaView, accessor_of

RULE = define(
    "query/delete-blast-radius", Severity.INFO, Surface.QUERY,
    "What a delete/deleteMany cascades to, or which Restrict relation makes it fail with P2003",
)

_MAX_DEPTH = 6


def _walk(view: SchemaView, model: Model) -> tuple[list[str], list[Relation], list[Relation]]:
    """(cascade paths, blocking relations, set-null relations) reachable from deleting `model` rows."""
    cascades: list[str] = []
    blocking: list[Relation] = []
    set_null: list[Relation] = []
    seen: set[str] = {model.name}
    frontier: list[tuple[Model, str, int]] = [(model, model.name, 0)]
    while frontier:
        current, path, depth = frontier.pop(0)
        for rel in view.relations_into(current):
            action = rel.effective_on_delete
            child = rel.model
            if action == "Cascade":
                child_path = f"{path} → {child.name}"
                cascades.append(child_path)
                if child.name not in seen and depth + 1 < _MAX_DEPTH:
                    seen.add(child.name)
                    frontier.append((child, child_path, depth + 1))
            elif action in ("Restrict", "NoAction"):
                blocking.append(rel)
            elif action in ("SetNull", "SetDefault"):
                set_null.append(rel)
    return cascades, blocking, set_null


def check(inp: QueryInput) -> list[Finding]:
    if inp.schema is None or is_test_path(inp.path) or is_script_path(inp.path):
        return []
    out: list[Finding] = []
    for call in inp.analysis.calls:
        if call.operation not in ("delete", "deleteMany"):
            continue
        model = inp.schema.model(call.accessor)
        if model is None:
            continue
        cascades, blocking, set_null = _walk(inp.schema, model)
        cleared = _children_deleted_before(call, inp.analysis.calls)
        blocking = [r for r in blocking if accessor_of(r.model.name) not in cleared]
        if not (cascades or blocking or set_null):
            continue
        parts: list[str] = []
        if blocking:
            names = ", ".join(f"`{r.model.name}.{'/'.join(r.fields) or r.field.name}` "
                              f"({r.effective_on_delete}{'' if r.on_delete else ', the default'})"
                              for r in blocking[:4])
            parts.append(f"it fails with P2003 (foreign key constraint) while any row still references it through "
                         f"{names}; delete or re-point those rows first in the same transaction, or set "
                         f"`onDelete` on the relation")
        if cascades:
            parts.append("it also deletes " + ", ".join(f"`{c}`" for c in cascades[:6]) +
                         (" and more" if len(cascades) > 6 else "") + " (onDelete: Cascade)")
        if set_null:
            parts.append("it sets " + ", ".join(f"`{r.model.name}.{'/'.join(r.fields)}`" for r in set_null[:4]) +
                         " to NULL")
        message = f"Deleting `{model.name}` rows with `{call.target}`: " + "; ".join(parts) + "."
        severity = Severity.WARNING if blocking else None
        out.append(call_finding(RULE, call, message, severity=severity))
    return out


def _children_deleted_before(call: PrismaCall, calls: list[PrismaCall]) -> set[str]:
    """Models the same function deletes earlier, itself or in a helper defined inside it (blinko's
    `const handleDeleteRelation = async () => {...}` called just before the notes' deleteMany)."""
    fn = call.function
    return {c.accessor or "" for c in calls if c.operation in ("delete", "deleteMany")
            and c.start_byte < call.start_byte
            and (c.function == fn or (not fn.is_module and fn.line <= c.function.line
                                      and c.function.end_line <= fn.end_line))}
