"""A Mermaid `erDiagram` of what the change does to the models (GitHub renders Mermaid blocks).

It shows the models the change adds, changes or removes, each labelled as such, with their keys and the fields the
change adds, changes or removes (marked in the attribute's comment). Their direct neighbours appear as a bare name,
at most a few per model: a hub such as `User`, related to dozens of models, stays one box instead of pulling its
whole neighbourhood in. What is left out is counted in notes under the diagram, so it stays readable at comment width.

Built from the schema parser's model (bot.prisma) and its base → head diff. A head schema that does not parse gives
no diagram: the review already carries `prisma/parse-error` at the failing line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.change import Change
from bot.prisma.model import Field, Model, Relation, Schema

MAX_CHANGED_MODELS = 4
MAX_FIELDS = 10
CROWDED = 3  # above this many changed models, each shows fewer fields so the drawing keeps a readable size
MAX_FIELDS_CROWDED = 6
MAX_NEIGHBOURS_PER_MODEL = 4
MAX_NEIGHBOURS = 6
MAX_ER_MODELS = 24  # er_diagram(): a plain diagram of named models

ADDED, CHANGED, REMOVED = "added", "changed", "removed"
_MARK = {ADDED: "+ added", CHANGED: "~ changed", REMOVED: "- removed"}
_NON_WORD = re.compile(r"[^A-Za-z0-9_]")


@dataclass
class Diagram:
    source: str = ""
    notes: list[str] = field(default_factory=list)  # markdown lines shown under the diagram


@dataclass
class _ModelChange:
    name: str
    status: str  # added | changed | removed
    model: Model  # head model (base model when removed)
    fields: dict[str, str] = field(default_factory=dict)  # field name -> added | changed | removed
    details: dict[str, str] = field(default_factory=dict)  # field name -> "String? → String"
    removed_fields: list[Field] = field(default_factory=list)  # base fields, shown although gone at head


def _word(text: str) -> str:
    word = _NON_WORD.sub("_", text) or "_"
    return word if not word[0].isdigit() else "_" + word


def _comment(text: str) -> str:
    return text.replace('"', "'").replace("\n", " ")[:60]


def _keys(f: Field, model: Model, fk_names: set[str]) -> str:
    keys = []
    if f.is_id or (model.primary_key is not None and f.name in model.primary_key.columns):
        keys.append("PK")
    if f.name in fk_names:
        keys.append("FK")
    if f.is_unique:
        keys.append("UK")
    return ", ".join(keys)


def _fk_names(schema: Schema, model: Model) -> set[str]:
    return {n for rel in schema.relations if rel.model is model for n in rel.fields}


def _is_scalar(f: Field, schema: Schema) -> bool:
    return f.relation is None and f.type not in schema.models and f.type not in schema.views


def _attribute(f: Field, keys: str, mark: str = "") -> str:
    kind = _word("Unsupported" if f.unsupported else f.type) + ("_list" if f.list else "")
    text = f"        {kind} {_word(f.name)}"
    if keys:
        text += f" {keys}"
    if mark:
        text += f' "{_comment(mark)}"'
    return text


def _edge(rel: Relation, label_suffix: str = "") -> tuple[str, str, str]:
    label = _comment(rel.field.name + label_suffix)
    if rel.implicit_many_to_many:
        a, b = sorted((rel.model.name, rel.target.name))
        return a, b, f'    {_word(a)} }}o--o{{ {_word(b)} : "{label}"'
    parent_card = "|o" if rel.optional else "||"
    child_card = "o|" if rel.back_field is not None and not rel.back_field.list else "o{"
    return (rel.target.name, rel.model.name,
            f'    {_word(rel.target.name)} {parent_card}--{child_card} {_word(rel.model.name)} : "{label}"')


def _changes(base: Schema | None, head: Schema) -> list[_ModelChange]:
    from bot.prisma.diff import diff_schemas

    found: dict[str, _ModelChange] = {}
    for item in diff_schemas(base, head).items:
        if item.kind.startswith("enum"):
            continue
        if item.kind == "model_added" and item.head is not None:
            found[item.model] = _ModelChange(item.model, ADDED, item.head)
        elif item.kind == "model_removed" and item.base is not None:
            found[item.model] = _ModelChange(item.model, REMOVED, item.base)
        elif item.model in head.models or item.model in head.views:
            entry = found.setdefault(item.model, _ModelChange(item.model, CHANGED,
                                                              head.models.get(item.model) or head.views[item.model]))
            if item.kind in ("field_added", "field_changed", "field_renamed") and item.name:
                entry.fields[item.name] = ADDED if item.kind == "field_added" else CHANGED
                if item.detail:
                    entry.details[item.name] = item.detail
            elif item.kind == "field_removed" and item.base is not None:
                entry.fields[item.name] = REMOVED
                entry.removed_fields.append(item.base)
    order = {ADDED: 0, REMOVED: 1, CHANGED: 2}
    return sorted(found.values(), key=lambda c: (order[c.status], -len(c.fields), c.name))


def _entity(change: _ModelChange, schema: Schema, max_fields: int = MAX_FIELDS) -> list[str]:
    model = change.model
    fk = _fk_names(schema, model)
    scalars = [f for f in model.fields if _is_scalar(f, schema)]
    if change.status == CHANGED:
        scalars += [f for f in change.removed_fields if _is_scalar(f, schema) or f.relation is None]

    def mark(f: Field) -> str:
        if change.status != CHANGED:
            return ""
        status = change.fields.get(f.name, "")
        if not status:
            return ""
        detail = change.details.get(f.name, "")
        return _MARK[status] + (f": {detail}" if detail and status == CHANGED else "")

    # Changed fields first, then keys, then the rest in schema order; removed fields sort by their base line.
    ranked = sorted(scalars, key=lambda f: (not mark(f), not _keys(f, model, fk), f.line))
    shown = ranked[:max_fields]
    if change.status == CHANGED:  # what changed and the keys; the untouched columns are only counted
        shown = [f for f in shown if mark(f) or _keys(f, model, fk)]
    shown.sort(key=lambda f: (f in change.removed_fields, f.line))
    label = f"{model.name} ({change.status})"
    lines = [f'    {_word(model.name)}["{_comment(label)}"] {{']
    lines += [_attribute(f, _keys(f, model, fk), mark(f)) for f in shown]
    if len(scalars) > len(shown):
        lines.append(f'        other fields "{len(scalars) - len(shown)} unchanged"' if change.status == CHANGED
                     else f'        more fields "{len(scalars) - len(shown)} not shown"')
    lines.append("    }")
    return lines


def change_diagram(base: Schema | None, head: Schema) -> Diagram:
    """The models the change adds, changes or removes, and their direct neighbours up to a cap."""
    changes = _changes(base, head)
    if not changes:
        return Diagram()
    shown = changes[:MAX_CHANGED_MODELS]
    notes: list[str] = []
    if len(changes) > len(shown):
        rest = ", ".join(f"`{c.name}` ({c.status})" for c in changes[len(shown):][:12])
        notes.append(f"{len(changes) - len(shown)} more changed models not drawn: {rest}"
                     + (", …" if len(changes) - len(shown) > 12 else ""))
    focus = {c.name for c in shown}
    removed = {c.name for c in shown if c.status == REMOVED}

    lines = ["erDiagram"]
    max_fields = MAX_FIELDS if len(shown) <= CROWDED else MAX_FIELDS_CROWDED
    for c in shown:
        lines += _entity(c, base if c.status == REMOVED and base is not None else head, max_fields)

    edges: dict[str, None] = {}
    neighbours: dict[str, None] = {}
    for c in shown:
        schema = base if c.status == REMOVED and base is not None else head
        rels = [r for r in schema.relations if c.name in (r.model.name, r.target.name)]
        others: list[tuple[str, Relation]] = []
        for rel in rels:
            other = rel.target.name if rel.model.name == c.name else rel.model.name
            if other in focus:
                suffix = " (removed)" if (c.status == REMOVED or other in removed) else ""
                edges[_edge(rel, suffix)[2]] = None
            else:
                others.append((other, rel))
        distinct = sorted({o for o, _ in others}, key=lambda o: (o not in neighbours, o))
        room = [o for o in distinct if o in neighbours]
        for o in distinct:
            if o in neighbours:
                continue
            if len(room) >= MAX_NEIGHBOURS_PER_MODEL or len(neighbours) >= MAX_NEIGHBOURS:
                break
            room.append(o)
            neighbours[o] = None
        for other, rel in others:
            if other in room:
                edges[_edge(rel, " (removed)" if c.status == REMOVED else "")[2]] = None
        left = [o for o in distinct if o not in room]
        if left:
            names = ", ".join(f"`{o}`" for o in left[:10]) + (", …" if len(left) > 10 else "")
            notes.append(f"`{c.name}` also relates to {len(left)} model{'s' if len(left) != 1 else ''} not drawn: "
                         f"{names}")
    lines.extend(edges)
    return Diagram("\n".join(lines), notes)


def er_diagram(schema: Schema, touched: Iterable[str], changed_lines: dict[str, set[int]] | None = None) -> str:
    """A plain diagram of the named models (keys and changed columns first) and the relations around them."""
    models = {**schema.models, **schema.views}
    focus = [name for name in sorted(set(touched)) if name in models][:MAX_ER_MODELS]
    if not focus:
        return ""
    focus_set = set(focus)
    edges: dict[str, None] = {}
    for rel in schema.relations:
        if rel.model.name in focus_set or rel.target.name in focus_set:
            edges[_edge(rel)[2]] = None
    lines = ["erDiagram"]
    for name in focus:
        model = models[name]
        fk = _fk_names(schema, model)
        changed = (changed_lines or {}).get(model.path, set())
        scalars = [f for f in model.fields if _is_scalar(f, schema)]
        ranked = sorted(scalars, key=lambda f: (not _keys(f, model, fk), f.line not in changed, f.line))
        shown = sorted(ranked[:MAX_FIELDS + 2], key=lambda f: f.line)
        lines.append(f"    {_word(name)} {{")
        lines += [_attribute(f, _keys(f, model, fk)) for f in shown]
        if len(scalars) > len(shown):
            lines.append(f'        more fields "{len(scalars) - len(shown)} not shown"')
        lines.append("    }")
    lines.extend(edges)
    return "\n".join(lines)


def er_diagram_for_change(change: Change, schema_paths: Iterable[str], touched_hint: Iterable[str] = ()) -> Diagram:
    """The change diagram for the schema files at `schema_paths` (base and head)."""
    from bot.prisma.load import load_texts

    paths = list(schema_paths)
    head_texts = {p: text for p in paths if (text := change.head_text(p)) is not None}
    if not head_texts:
        return Diagram()
    head = load_texts(head_texts).schema
    if head is None:
        return Diagram()
    base_texts: dict[str, str] = {}
    for p in paths:
        changed = change.file(p)
        base_path = changed.base_path if changed is not None else p
        if base_path is None:
            continue  # added at head
        text = change.base_text(base_path)
        if text is not None:
            base_texts[base_path] = text
    base = load_texts(base_texts).schema if base_texts else None
    if base_texts and base is None:
        return Diagram()  # the base does not parse: what changed is unknown, and "everything was added" is wrong
    return change_diagram(base, head)
