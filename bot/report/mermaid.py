"""A Mermaid `erDiagram` of the models a change touched and their relations (GitHub renders Mermaid blocks).

Drawn from the schema parser's model (bot.prisma), relations already resolved on both sides. A head schema that does
not parse gives no diagram: the review already carries `prisma/parse-error` at the failing line.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.change import Change
from bot.prisma.model import Field, Model, Schema

MAX_MODELS = 24
MAX_FIELDS = 12


def _keys(field: Field, model: Model, fk_names: set[str]) -> str:
    keys = []
    if field.is_id or (model.primary_key is not None and field.name in model.primary_key.columns):
        keys.append("PK")
    if field.name in fk_names:
        keys.append("FK")
    if field.is_unique:
        keys.append("UK")
    return ", ".join(keys)


def er_diagram(schema: Schema, touched: Iterable[str], changed_lines: dict[str, set[int]] | None = None) -> str:
    """Mermaid source for the touched models, their key and changed columns, and the relations around them."""
    models = {**schema.models, **schema.views}
    focus = [name for name in sorted(set(touched)) if name in models][:MAX_MODELS]
    if not focus:
        return ""
    focus_set = set(focus)
    edges: list[str] = []
    for rel in schema.relations:
        if rel.model.name not in focus_set and rel.target.name not in focus_set:
            continue
        if rel.implicit_many_to_many:
            a, b = sorted((rel.model.name, rel.target.name))
            edges.append(f'    {a} }}o--o{{ {b} : "{rel.field.name}"')
            continue
        # rel.model holds the foreign key: rel.target is the parent.
        parent_card = "|o" if rel.optional else "||"
        child_card = "o|" if rel.back_field is not None and not rel.back_field.list else "o{"
        edges.append(f'    {rel.target.name} {parent_card}--{child_card} {rel.model.name} : "{rel.field.name}"')

    lines = ["erDiagram"]
    for name in focus:
        model = models[name]
        fk_names = {n for rel in schema.relations if rel.model is model for n in rel.fields}
        changed = (changed_lines or {}).get(model.path, set())
        scalars = [f for f in model.fields if f.relation is None and f.type not in models]
        # Keys and changed columns first, then the rest, in schema order.
        ranked = sorted(scalars, key=lambda f: (not _keys(f, model, fk_names), f.line not in changed, f.line))
        shown = sorted(ranked[:MAX_FIELDS], key=lambda f: f.line)
        lines.append(f"    {name} {{")
        for f in shown:
            keys = _keys(f, model, fk_names)
            lines.append(f"        {f.type}{'_list' if f.list else ''} {f.name}{' ' + keys if keys else ''}")
        if len(scalars) > len(shown):
            lines.append(f'        more fields "{len(scalars) - len(shown)} not shown"')
        lines.append("    }")
    lines.extend(dict.fromkeys(edges))  # a self-relation can be met twice
    return "\n".join(lines)


def er_diagram_for_change(change: Change, schema_paths: Iterable[str], touched_hint: Iterable[str] = ()) -> str:
    """The diagram for a change: models edited in the changed schema files (plus any `touched_hint` names)."""
    from bot.prisma.load import load_texts

    texts = {path: text for path in schema_paths if (text := change.head_text(path)) is not None}
    if not texts:
        return ""
    schema = load_texts(texts).schema
    if schema is None:
        return ""
    touched: set[str] = set(touched_hint)
    changed_lines: dict[str, set[int]] = {}
    for path in texts:
        changed = change.file(path)
        if changed is None:
            continue
        changed_lines[path] = set(changed.added_lines)
        edited = changed.added_lines | changed.deletion_positions()
        touched |= {m.name for m in schema.all_models() if m.path == path and m.kind in ("model", "view")
                    and any(m.line <= n <= m.end_line for n in edited)}
    return er_diagram(schema, touched, changed_lines)
