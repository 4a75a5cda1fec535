"""The Prisma models a change touches, plus the models related to them, as schema text for the prompt.

Touched: model/enum blocks whose lines the change edits, tables a changed migration names, models a changed query
hunk calls (`prisma.order.findMany` → `Order`). Related: models a touched model refers to as a field type, and
models that refer to a touched one. Blocks are cut from the head schema text with a small brace matcher, so this
works on any schema the Prisma parser would accept (and degrades to nothing on one it would not).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.change import split_lines
from bot.context import ReviewContext
from bot.llm.units import Unit

_BLOCK_START = re.compile(r"^\s*(model|enum|view|type)\s+(\w+)\s*\{", re.M)
_MAP = re.compile(r"@@map\(\s*(?:name\s*:\s*)?\"([^\"]+)\"")
_FIELD_TYPE = re.compile(r"^\s*\w+\s+(\w+)(?:\[\])?\??", re.M)
_SQL_TABLE = re.compile(
    r"\b(?:TABLE|INTO|UPDATE|FROM|REFERENCES|ON)\s+(?:ONLY\s+)?(?:IF\s+(?:NOT\s+)?EXISTS\s+)?"
    r"(?:\"?\w+\"?\.)?\"?(\w+)\"?",
    re.I,
)
_QUERY_MODEL = re.compile(r"\b(?:prisma|db|tx|prismaService|prismaClient|client)\s*\.\s*([a-z]\w*)\s*\.")

MAX_SCHEMA_CHARS = 30_000


@dataclass(frozen=True)
class Block:
    kind: str
    name: str
    path: str
    start: int  # 1-based line numbers
    end: int
    text: str
    table: str


def parse_blocks(path: str, text: str) -> list[Block]:
    blocks: list[Block] = []
    for match in _BLOCK_START.finditer(text):
        depth = 0
        end_pos = None
        for i in range(match.end() - 1, len(text)):
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
                if depth == 0:
                    end_pos = i + 1
                    break
        if end_pos is None:
            continue
        body = text[match.start():end_pos].strip("\n")
        start_line = text.count("\n", 0, match.start()) + 1
        mapped = _MAP.search(body)
        blocks.append(
            Block(
                kind=match.group(1),
                name=match.group(2),
                path=path,
                start=start_line,
                end=text.count("\n", 0, end_pos) + 1,
                text=body,
                table=mapped.group(1) if mapped else match.group(2),
            )
        )
    return blocks


def head_blocks(ctx: ReviewContext) -> list[Block]:
    groups: list[list[str]] = [list(g) for g in ctx.surfaces.head_layout.schemas]
    known = {p for g in groups for p in g}
    extra = [f.head_path for f in ctx.surfaces.schema if f.head_path and f.head_path not in known]
    if extra:
        groups.append(extra)
    blocks: list[Block] = []
    for group in groups:
        parsed = _parsed_blocks(ctx, group)
        if parsed is not None:
            blocks.extend(parsed)
            continue
        for path in group:  # the schema does not parse: cut blocks from the text
            text = ctx.head_text(path)
            if text:
                blocks.extend(parse_blocks(path, text))
    return blocks


def _parsed_blocks(ctx: ReviewContext, group: list[str]) -> list[Block] | None:
    """Blocks from the shared Prisma parser (parsed once per review), or None when it cannot give them."""
    try:
        from bot.prisma.load import schema_at

        loaded = schema_at(ctx, "head", group)
    except Exception:  # the parser is another analyzer's concern; the prompt falls back to text
        return None
    if loaded is None or loaded.schema is None:
        return None
    schema = loaded.schema
    blocks: list[Block] = []
    items = [*schema.models.values(), *schema.views.values(), *schema.types.values(), *schema.enums.values()]
    for item in items:
        text = loaded.texts.get(item.path)
        if text is None:
            continue
        lines = split_lines(text)[item.line - 1:item.end_line]
        kind = getattr(item, "kind", "enum")
        blocks.append(Block(kind=kind, name=item.name, path=item.path, start=item.line, end=item.end_line,
                            text="\n".join(lines), table=item.db_name or item.name))
    return blocks


def touched_and_related(ctx: ReviewContext, units: list[Unit], blocks: list[Block]) -> tuple[list[Block], list[Block]]:
    by_name = {b.name: b for b in blocks}
    by_table = {b.table.lower(): b for b in blocks}
    by_lower = {b.name.lower(): b for b in blocks}
    touched: dict[str, Block] = {}
    # The schema lines these units add (not the whole file's): a unit touches the blocks its own lines edit.
    added: dict[str, set[int]] = {}
    for unit in units:
        if unit.kind == "schema":
            added.setdefault(unit.path, set()).update(unit.added_lines or unit.shown_lines)
    for block in blocks:
        lines = added.get(block.path)
        if lines and any(block.start <= ln <= block.end for ln in lines):
            touched[block.name] = block
    for unit in units:
        if unit.kind == "migration":
            for name in _SQL_TABLE.findall(unit.body):
                hit = by_table.get(name.lower()) or by_lower.get(name.lower())
                if hit is not None:
                    touched[hit.name] = hit
        elif unit.kind == "query":
            for name in _QUERY_MODEL.findall(unit.body):
                hit = by_lower.get(name.lower())
                if hit is not None:
                    touched[hit.name] = hit
    related: dict[str, Block] = {}
    for block in touched.values():
        if block.kind != "model":
            continue
        for type_name in _FIELD_TYPE.findall(block.text):
            other = by_name.get(type_name)
            if other is not None and other.name not in touched:
                related[other.name] = other
    for block in blocks:
        if block.name in touched or block.name in related or block.kind != "model":
            continue
        if any(t in touched for t in _FIELD_TYPE.findall(block.text)):
            related[block.name] = block
    return list(touched.values()), list(related.values())


@dataclass
class SchemaContext:
    text: str = ""
    left_out: list[str] = field(default_factory=list)
    tables: set[str] = field(default_factory=set)  # database tables of the touched models


def schema_context(ctx: ReviewContext, units: list[Unit]) -> SchemaContext:
    """The schema text for the prompt, the related models left out for size, and the touched tables."""
    blocks = ctx.memo(("llm", "head-blocks"), lambda: head_blocks(ctx))
    out = SchemaContext()
    for unit in units:
        if unit.kind == "migration":
            out.tables.update(name for name in _SQL_TABLE.findall(unit.body) if not name.isupper())
    if not blocks:
        return out
    touched, related = touched_and_related(ctx, units, blocks)
    out.tables.update(b.table for b in touched if b.kind == "model")
    if not touched:
        return out
    parts: list[str] = []
    size = 0
    for label, group in (("touched by this change", touched), ("related", related)):
        for block in sorted(group, key=lambda b: (b.path, b.start)):
            chunk = f"// {block.path} lines {block.start}-{block.end} ({label})\n{block.text}\n"
            if size + len(chunk) > MAX_SCHEMA_CHARS:
                out.left_out.append(block.name)
                continue
            parts.append(chunk)
            size += len(chunk)
    out.text = "\n".join(parts)
    return out


def unit_schema_digest(ctx: ReviewContext, unit: Unit) -> str:
    """The schema blocks one unit's review depends on (the models it touches and their neighbours), for the result
    cache key: an index added to a model re-reviews the query that filters it."""
    blocks = ctx.memo(("llm", "head-blocks"), lambda: head_blocks(ctx))
    if not blocks:
        return ""
    touched, related = touched_and_related(ctx, [unit], blocks)
    return "\x1e".join(b.text for b in sorted([*touched, *related], key=lambda b: (b.path, b.start)))
