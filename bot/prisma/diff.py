"""The model-level difference between two versions of a schema (base → head).

Migration and query analyzers use it to ask "which fields became required?", "which column was dropped?", "which
index is new?". Matching is by name; a removed and an added item that look like the same thing (a model with the
same fields, a field of the same type in the same model, or the same `@map`/`@@map` name) are reported as
renamed-looking instead, because Prisma Migrate turns a rename into a drop and an add.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from bot.prisma.model import Enum, Field, Index, Model, Schema
from bot.prisma.parser import render

KINDS = (
    "model_added", "model_removed", "model_renamed", "model_changed",
    "field_added", "field_removed", "field_renamed", "field_changed",
    "enum_added", "enum_removed", "enum_value_added", "enum_value_removed",
    "index_added", "index_removed",
)


@dataclass(frozen=True, slots=True)
class DiffItem:
    """One difference between the base and head schemas (a model, field, enum value or index added, removed or
    changed)."""

    kind: str  # one of KINDS
    model: str  # model or enum name (the head name when there is one)
    name: str = ""  # field name, enum value, or index description ("@@index([a, b])"); "" for models and enums
    base: Any = None  # the base-side object (Model, Field, Enum, EnumValue, Index) or None
    head: Any = None  # the head-side object or None
    line: int | None = None  # head line (None when the item exists only at base)
    base_line: int | None = None
    path: str | None = None  # head file
    base_path: str | None = None
    changes: tuple[str, ...] = ()  # what changed, for *_changed/renamed: "type", "optional", "native", "map", ...
    detail: str = ""  # human-readable: "String? → String", "users → app_users"


@dataclass(slots=True)
class SchemaDiff:
    """Every base -> head difference of one schema, by kind."""

    items: list[DiffItem] = field(default_factory=list)

    def of(self, *kinds: str) -> list[DiffItem]:
        return [i for i in self.items if i.kind in kinds]

    @property
    def models_added(self) -> list[DiffItem]:
        return self.of("model_added")

    @property
    def models_removed(self) -> list[DiffItem]:
        return self.of("model_removed")

    @property
    def fields_added(self) -> list[DiffItem]:
        return self.of("field_added")

    @property
    def fields_removed(self) -> list[DiffItem]:
        return self.of("field_removed")

    @property
    def fields_changed(self) -> list[DiffItem]:
        return self.of("field_changed")

    @property
    def indexes_added(self) -> list[DiffItem]:
        return self.of("index_added")

    def touched_models(self) -> set[str]:
        return {i.model for i in self.items if not i.kind.startswith("enum")}

    def field_change(self, model: str, field_name: str) -> DiffItem | None:
        return next((i for i in self.items if i.kind.startswith("field") and i.model == model and i.name == field_name),
                    None)

    def __bool__(self) -> bool:
        return bool(self.items)


def describe_index(idx: Index) -> str:
    attr = {"id": "@@id", "unique": "@@unique", "index": "@@index", "fulltext": "@@fulltext"}[idx.kind]
    cols = ", ".join(f.name + (f"(sort: {f.sort})" if f.sort else "") for f in idx.fields)
    extra = f", type: {idx.type}" if idx.type else ""
    return f"{attr}([{cols}]{extra})"


def _index_signature(idx: Index) -> tuple[Any, ...]:
    return (idx.kind, tuple((f.name, f.sort or "Asc", f.ops, f.length) for f in idx.fields), (idx.type or "BTree"))


def _attr_text(f: Field, name: str) -> str | None:
    a = f.attr(name)
    if a is None:
        return None
    return ", ".join((f"{x.name}: " if x.name else "") + render(x.value) for x in a.args)


def field_changes(base: Field, head: Field) -> tuple[str, ...]:
    changes: list[str] = []
    if base.type != head.type or base.unsupported != head.unsupported:
        changes.append("type")
    if base.optional != head.optional:
        changes.append("optional")
    if base.list != head.list:
        changes.append("list")
    base_native = base.native.sql if base.native else None
    head_native = head.native.sql if head.native else None
    if base_native != head_native and "type" not in changes:
        changes.append("native")
    if base.default_text != head.default_text:
        changes.append("default")
    if base.db_name != head.db_name:
        changes.append("map")
    for attr in ("id", "unique", "updatedAt", "ignore", "relation"):
        if _attr_text(base, attr) != _attr_text(head, attr):
            changes.append(attr)
    return tuple(changes)


def _field_detail(base: Field, head: Field, changes: tuple[str, ...]) -> str:
    parts: list[str] = []
    if {"type", "optional", "list"} & set(changes):
        parts.append(f"{base.type_text()} → {head.type_text()}")
    if "native" in changes:
        parts.append(f"{base.native.sql if base.native else '?'} → {head.native.sql if head.native else '?'}")
    if "default" in changes:
        parts.append(f"@default({base.default_text or ''}) → @default({head.default_text or ''})".replace(
            "@default()", "no default"))
    if "map" in changes:
        parts.append(f"column {base.db_name} → {head.db_name}")
    return "; ".join(parts)


def _shape(f: Field) -> tuple[Any, ...]:
    return (f.type, f.optional, f.list, f.native.sql if f.native else None)


def diff_schemas(base: Schema | None, head: Schema) -> SchemaDiff:
    """Everything that changed from `base` to `head`; a None base means every model and enum is new."""
    out = SchemaDiff()
    base_models = dict(base.models) if base is not None else {}
    head_models = dict(head.models)
    removed = [m for n, m in base_models.items() if n not in head_models]
    added = [m for n, m in head_models.items() if n not in base_models]
    renamed = _pair_models(removed, added)
    for b, h in renamed:
        removed.remove(b)
        added.remove(h)
    for m in added:
        out.items.append(DiffItem("model_added", m.name, head=m, line=m.line, path=m.path))
    for m in removed:
        out.items.append(DiffItem("model_removed", m.name, base=m, base_line=m.line, base_path=m.path))
    pairs = [(base_models[n], m) for n, m in head_models.items() if n in base_models]
    for b, h in renamed:
        detail = f"model {b.name} → {h.name}" + ("" if b.db_name == h.db_name else f", table {b.db_name} → {h.db_name}")
        out.items.append(DiffItem("model_renamed", h.name, base=b, head=h, line=h.line, base_line=b.line,
                                  path=h.path, base_path=b.path, changes=("name",) if b.db_name == h.db_name else
                                  ("name", "map"), detail=detail))
    for b, h in [*pairs, *renamed]:
        _diff_model(out, b, h)
    _diff_enums(out, base.enums if base is not None else {}, head.enums)
    return out


def _pair_models(removed: list[Model], added: list[Model]) -> list[tuple[Model, Model]]:
    pairs: list[tuple[Model, Model]] = []
    free = list(added)
    for b in removed:
        match = next((h for h in free if h.db_name == b.db_name), None)
        if match is None:
            names = {f.name for f in b.scalar_fields}
            candidates = [h for h in free if names and {f.name for f in h.scalar_fields} == names]
            match = candidates[0] if len(candidates) == 1 else None
        if match is not None:
            pairs.append((b, match))
            free.remove(match)
    return pairs


def _diff_model(out: SchemaDiff, b: Model, h: Model) -> None:
    model_changes: list[str] = []
    if b.db_name != h.db_name and b.name == h.name:
        model_changes.append("map")
    if (b.primary_key.columns if b.primary_key else None) != (h.primary_key.columns if h.primary_key else None):
        model_changes.append("primary_key")
    if b.ignored != h.ignored:
        model_changes.append("ignore")
    if model_changes:
        detail = f"table {b.db_name} → {h.db_name}" if "map" in model_changes else ""
        out.items.append(DiffItem("model_changed", h.name, base=b, head=h, line=h.line, base_line=b.line, path=h.path,
                                  base_path=b.path, changes=tuple(model_changes), detail=detail))
    removed = [f for f in b.fields if f.name not in h.by_name]
    added = [f for f in h.fields if f.name not in b.by_name]
    renamed: list[tuple[Field, Field]] = []
    # Same @map column, or the only removed and only added field of one shape: a rename in Prisma's eyes is a
    # drop + add, so it is worth calling out.
    for bf in list(removed):
        same_column = [hf for hf in added if hf.db_name == bf.db_name and bf.db_name != bf.name]
        same_shape_added = [hf for hf in added if _shape(hf) == _shape(bf) and hf.kind == bf.kind]
        same_shape_removed = [x for x in removed if _shape(x) == _shape(bf) and x.kind == bf.kind]
        match = None
        if same_column:
            match = same_column[0]
        elif len(same_shape_added) == 1 and len(same_shape_removed) == 1:
            match = same_shape_added[0]
        if match is not None:
            renamed.append((bf, match))
            removed.remove(bf)
            added.remove(match)
    for f in added:
        out.items.append(DiffItem("field_added", h.name, f.name, head=f, line=f.line, path=f.path))
    for f in removed:
        out.items.append(DiffItem("field_removed", h.name, f.name, base=f, base_line=f.line, base_path=f.path))
    for bf, hf in renamed:
        changes = ("name", *field_changes(bf, hf))
        out.items.append(DiffItem("field_renamed", h.name, hf.name, base=bf, head=hf, line=hf.line,
                                  base_line=bf.line, path=hf.path, base_path=bf.path, changes=changes,
                                  detail=f"{bf.name} → {hf.name}" + (
                                      " (same column)" if bf.db_name == hf.db_name else "")))
    for hf in h.fields:
        bf = b.by_name.get(hf.name)
        if bf is None:
            continue
        changes = field_changes(bf, hf)
        if changes:
            out.items.append(DiffItem("field_changed", h.name, hf.name, base=bf, head=hf, line=hf.line,
                                      base_line=bf.line, path=hf.path, base_path=bf.path, changes=changes,
                                      detail=_field_detail(bf, hf, changes)))
    _diff_indexes(out, b, h)


def _diff_indexes(out: SchemaDiff, b: Model, h: Model) -> None:
    base_idx: dict[tuple[Any, ...], list[Index]] = defaultdict(list)
    for idx in [*b.uniques, *b.indexes, *b.fulltext]:
        base_idx[_index_signature(idx)].append(idx)
    head_idx: dict[tuple[Any, ...], list[Index]] = defaultdict(list)
    for idx in [*h.uniques, *h.indexes, *h.fulltext]:
        head_idx[_index_signature(idx)].append(idx)
    for sig, idxs in head_idx.items():
        for idx in idxs[len(base_idx.get(sig, [])):]:
            out.items.append(DiffItem("index_added", h.name, describe_index(idx), head=idx, line=idx.line,
                                      path=idx.path))
    for sig, idxs in base_idx.items():
        for idx in idxs[len(head_idx.get(sig, [])):]:
            out.items.append(DiffItem("index_removed", h.name, describe_index(idx), base=idx, base_line=idx.line,
                                      base_path=idx.path))


def _diff_enums(out: SchemaDiff, base: dict[str, Enum], head: dict[str, Enum]) -> None:
    for name, e in head.items():
        if name not in base:
            out.items.append(DiffItem("enum_added", name, head=e, line=e.line, path=e.path))
            continue
        old = base[name]
        old_values = {v.name for v in old.values}
        new_values = {v.name for v in e.values}
        for v in e.values:
            if v.name not in old_values:
                out.items.append(DiffItem("enum_value_added", name, v.name, head=v, line=v.line, path=e.path))
        for v in old.values:
            if v.name not in new_values:
                out.items.append(DiffItem("enum_value_removed", name, v.name, base=v, base_line=v.line,
                                          base_path=old.path))
    for name, e in base.items():
        if name not in head:
            out.items.append(DiffItem("enum_removed", name, base=e, base_line=e.line, base_path=e.path))
