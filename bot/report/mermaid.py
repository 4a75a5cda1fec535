"""A Mermaid `erDiagram` of the models a change touched and their relations (GitHub renders Mermaid blocks).

The models come from the full schema parser (bot.prisma) when it reads the head schema; when it does not (a syntax
error mid-edit), a small forgiving reader of `model` blocks (names, field types, `?`/`[]`, `@id`, `@unique`,
`@relation(fields: …)`) stands in. Never raises: a schema nobody can read simply gives no diagram.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.change import Change, ChangedFile

MAX_MODELS = 24
MAX_FIELDS = 12

_BLOCK_START = re.compile(r"^\s*(model|view|enum|type)\s+(\w+)\s*\{")
_FIELD = re.compile(r"^\s*(\w+)\s+(\w+)(\[\])?(\?)?(.*)$")


@dataclass
class ModelField:
    name: str
    type: str
    is_list: bool = False
    optional: bool = False
    attrs: str = ""
    line: int = 0

    @property
    def is_id(self) -> bool:
        return "@id" in self.attrs

    @property
    def is_unique(self) -> bool:
        return "@unique" in self.attrs

    @property
    def relation_fields(self) -> list[str]:
        m = re.search(r"@relation\([^)]*?fields\s*:\s*\[([^\]]*)\]", self.attrs)
        return [f.strip() for f in m.group(1).split(",") if f.strip()] if m else []


@dataclass
class Model:
    name: str
    path: str
    start: int
    end: int
    fields: list[ModelField] = field(default_factory=list)
    block_attrs: list[str] = field(default_factory=list)


def read_models(text: str, path: str = "") -> list[Model]:
    models: list[Model] = []
    current: Model | None = None
    kind = ""
    for no, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("//", 1)[0] if "//" in raw and '"' not in raw.split("//", 1)[0] else raw
        if current is None and not kind:
            m = _BLOCK_START.match(line)
            if m:
                kind = m.group(1)
                if kind in ("model", "view"):
                    current = Model(name=m.group(2), path=path, start=no, end=no)
            continue
        if line.strip().startswith("}"):
            if current is not None:
                current.end = no
                models.append(current)
            current, kind = None, ""
            continue
        if current is None:
            continue
        stripped = line.strip()
        if stripped.startswith("@@"):
            current.block_attrs.append(stripped)
            continue
        fm = _FIELD.match(line)
        if fm:
            current.fields.append(ModelField(fm.group(1), fm.group(2), bool(fm.group(3)), bool(fm.group(4)),
                                             fm.group(5).strip(), no))
    return models


def _touched(models: list[Model], changed: ChangedFile | None) -> set[str]:
    if changed is None:
        return set()
    touched_lines = set(changed.added_lines)
    # A deletion touches the model whose block now spans the place it happened.
    for hunk in changed.hunks:
        if any(ln.kind == "-" for ln in hunk.lines):
            touched_lines.update(range(hunk.new_start, hunk.new_start + max(hunk.new_length, 1)))
    return {m.name for m in models if any(m.start <= n <= m.end for n in touched_lines)}


def _attr_type(f: ModelField) -> str:
    return f.type + ("_list" if f.is_list else "")


def _keys(f: ModelField, fk_names: set[str]) -> str:
    keys = []
    if f.is_id:
        keys.append("PK")
    if f.name in fk_names:
        keys.append("FK")
    if f.is_unique:
        keys.append("UK")
    return ", ".join(keys)


def er_diagram(models: list[Model], touched: Iterable[str], changed_lines: dict[str, set[int]] | None = None) -> str:
    """Mermaid source for the touched models, their scalar keys and the relations among them and their neighbours."""
    by_name = {m.name: m for m in models}
    focus = [n for n in sorted(set(touched)) if n in by_name][:MAX_MODELS]
    if not focus:
        return ""
    shown = set(focus)
    edges: list[str] = []
    seen_pairs: set[tuple[str, str, str]] = set()
    for name in focus:
        model = by_name[name]
        for f in model.fields:
            target = by_name.get(f.type)
            if target is None:
                continue
            back = [g for g in target.fields if g.type == model.name]
            if f.relation_fields:
                # `model` holds the foreign key: target is the parent.
                parent_card = "|o" if f.optional else "||"
                child_card = "o|" if back and not back[0].is_list else "o{"
                edge = (target.name, model.name, f.name)
                if edge not in seen_pairs:
                    seen_pairs.add(edge)
                    edges.append(f'    {target.name} {parent_card}--{child_card} {model.name} : "{f.name}"')
            elif f.is_list and (not back or back[0].is_list) and not any(g.relation_fields for g in back):
                a, b = sorted((model.name, target.name))
                edge = (a, b, "m-n")
                if edge not in seen_pairs:
                    seen_pairs.add(edge)
                    edges.append(f'    {a} }}o--o{{ {b} : "{f.name}"')
            elif f.is_list or not f.relation_fields:
                # The parent side of a relation declared on the target: drawn from the target's field.
                owner = next((g for g in back if g.relation_fields), None)
                if owner is not None:
                    parent_card = "|o" if owner.optional else "||"
                    child_card = "o{" if f.is_list else "o|"
                    edge = (model.name, target.name, owner.name)
                    if edge not in seen_pairs:
                        seen_pairs.add(edge)
                        edges.append(f'    {model.name} {parent_card}--{child_card} {target.name} : "{owner.name}"')
            shown.add(target.name)
    lines = ["erDiagram"]
    for name in focus:
        model = by_name[name]
        fk_names = {n for f in model.fields for n in f.relation_fields}
        changed = (changed_lines or {}).get(model.path, set())
        scalars = [f for f in model.fields if f.type not in by_name]
        ranked = sorted(scalars, key=lambda f: (not (f.is_id or f.name in fk_names or f.is_unique),
                                                f.line not in changed, f.line))[:MAX_FIELDS]
        ranked.sort(key=lambda f: f.line)
        lines.append(f"    {name} {{")
        for f in ranked:
            keys = _keys(f, fk_names)
            lines.append(f"        {_attr_type(f)} {f.name}{' ' + keys if keys else ''}")
        if len(scalars) > len(ranked):
            lines.append(f'        more fields "{len(scalars) - len(ranked)} not shown"')
        lines.append("    }")
    lines.extend(edges)
    return "\n".join(lines)


def models_from_parser(texts: dict[str, str]) -> list[Model] | None:
    """The models as the full schema parser (bot.prisma) sees them, or None when it cannot read the schema."""
    try:
        from bot.prisma.load import load_texts

        loaded = load_texts(texts)
    except Exception:
        return None
    if loaded.schema is None:
        return None
    out: list[Model] = []
    for pm in loaded.schema.models.values():
        if getattr(pm, "kind", "model") not in ("model", "view"):
            continue
        pk_columns = set(pm.primary_key.columns) if pm.primary_key is not None else set()
        model = Model(name=pm.name, path=pm.path, start=pm.line, end=pm.end_line)
        for f in pm.fields:
            attrs = []
            if f.is_id or f.name in pk_columns:
                attrs.append("@id")
            if f.is_unique:
                attrs.append("@unique")
            rel = f.relation
            if rel is not None and rel.field is f and rel.fields:
                attrs.append(f"@relation(fields: [{', '.join(rel.fields)}])")
            model.fields.append(ModelField(f.name, f.type, bool(f.list), bool(f.optional), " ".join(attrs), f.line))
        out.append(model)
    return out


def er_diagram_for_change(change: Change, schema_paths: Iterable[str],
                          touched_hint: Iterable[str] = ()) -> str:
    """The diagram for a change: models edited in the changed schema files (plus any `touched_hint` names)."""
    touched: set[str] = set(touched_hint)
    changed_lines: dict[str, set[int]] = {}
    texts: dict[str, str] = {}
    for path in schema_paths:
        text = change.head_text(path)
        if text is not None:
            texts[path] = text
    parsed = models_from_parser(texts)
    models: list[Model] = []
    for path, text in texts.items():
        file_models = [m for m in parsed if m.path == path] if parsed is not None else read_models(text, path)
        models.extend(file_models)
        changed = change.file(path)
        touched |= _touched(file_models, changed)
        if changed is not None:
            changed_lines[path] = set(changed.added_lines)
    # Related models in other files of a multi-file schema are named by relations only when they were read.
    try:
        return er_diagram(models, touched, changed_lines)
    except Exception:  # a diagram is decoration: never fail a review over it
        return ""
