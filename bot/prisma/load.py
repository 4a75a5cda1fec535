"""Load the schema of a review's base or head through `ctx.memo`, so each schema is parsed once per review."""

from __future__ import annotations

import gc
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

from bot.change import FileStatus
from bot.prisma.model import Schema, build_schema
from bot.prisma.parser import PrismaParseError, SchemaFile, parse

if TYPE_CHECKING:
    from bot.context import ReviewContext
    from bot.prisma.diff import SchemaDiff

Side = Literal["head", "base"]


@dataclass(frozen=True, slots=True)
class SchemaError:
    """A parse error in one .prisma file, where it is."""

    path: str
    line: int
    column: int
    message: str


@dataclass(slots=True)
class SchemaLoad:
    """One schema (a group of .prisma files) at one side. `schema` is None when any file failed to parse."""

    files: list[str]
    schema: Schema | None
    errors: list[SchemaError] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)  # listed but unreadable (binary, not UTF-8)


def load_texts(texts: dict[str, str], provider_hint: str | None = None,
               parsed_files: dict[object, object] | None = None) -> SchemaLoad:
    """Parse and build a schema from {path: text} (no ReviewContext needed: tests, benchmarks, other tools).

    `parsed_files` (a review's `ctx.parsed`) keeps each file's parse by path and text: the files a change leaves
    alone in a multi-file schema are the same text at base and head, and are parsed once for both (a parsed file is
    never modified; each side builds its own Schema from it)."""
    parsed: list[SchemaFile] = []
    errors: list[SchemaError] = []
    # Parsing allocates ~10 objects per schema line and none of them is garbage yet: the cyclic GC would rescan
    # the growing heap again and again (superlinear on large schemas). Collect once afterwards instead.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for path, text in texts.items():
            key = ("prisma-file", path, text)
            try:
                cached = parsed_files.get(key) if parsed_files is not None else None
                if cached is None:
                    cached = parse(text, path)
                    if parsed_files is not None:
                        parsed_files[key] = cached
                parsed.append(cached)  # type: ignore[arg-type]
            except PrismaParseError as exc:
                errors.append(SchemaError(path, exc.line, exc.column, exc.message))
        schema = None if errors else build_schema(parsed, provider_hint)
    finally:
        if was_enabled:
            gc.enable()
    return SchemaLoad(files=list(texts), schema=schema, errors=errors, texts=dict(texts))


def _default_group(ctx: ReviewContext, side: Side) -> list[str] | None:
    layout = ctx.surfaces.head_layout if side == "head" else ctx.surfaces.base_layout
    if not layout.schemas:
        return None
    if side == "base":
        paired = _base_of_head_group(ctx)
        if paired is not None:
            return paired
    # The schema the change touches first; otherwise the project's first schema. The base side skips schemas the
    # change deletes: the head side cannot pick them, and a deleted schema (umami dropping its MySQL schema while
    # moving the PostgreSQL one) is not the previous version of the schema the change keeps.
    touched = ctx.surfaces.schema
    if side == "base":
        touched = sorted(touched, key=lambda c: c.status is FileStatus.DELETED)
    for changed in touched:
        path = changed.path if side == "head" else (changed.base_path or changed.path)
        group = layout.schema_group_of(path)
        if group is not None:
            return group
    return layout.schemas[0]


def _base_of_head_group(ctx: ReviewContext) -> list[str] | None:
    """The base schema that shares the most files with the head's (renamed files counted by their base path): a
    file the change adds to a multi-file schema has no base group of its own, and the project's first schema may be
    another app's (comp: 199 models of its main schema looked new)."""
    head = _default_group(ctx, "head")
    if not head:
        return None
    files = set(head) | {c.base_path for c in ctx.surfaces.schema if c.path in head and c.base_path}
    best = max(ctx.surfaces.base_layout.schemas, key=lambda g: len(files & set(g)))
    return best if files & set(best) else None


def schema_at(ctx: ReviewContext, side: Side, group: list[str] | None = None) -> SchemaLoad | None:
    """The schema at `side` ("head" or "base"): the given group of files, or the one the change touches.

    None when that side has no schema files (a schema added by the change has no base).
    """
    if group is None:
        group = _default_group(ctx, side)
    if not group:
        return None
    key = ("prisma-schema", side, tuple(group))
    return ctx.memo(key, lambda: _load(ctx, side, group))


def schemas_at(ctx: ReviewContext, side: Side) -> list[SchemaLoad]:
    """Every schema of the project at `side` (monorepos may have several)."""
    layout = ctx.surfaces.head_layout if side == "head" else ctx.surfaces.base_layout
    return [load for group in layout.schemas if (load := schema_at(ctx, side, group)) is not None]


def _load(ctx: ReviewContext, side: Side, group: list[str]) -> SchemaLoad | None:
    read = ctx.head_text if side == "head" else ctx.base_text
    texts: dict[str, str] = {}
    missing: list[str] = []
    for path in group:
        text = read(path)
        if text is None:
            missing.append(path)
        else:
            texts[path] = text
    if not texts:
        return None
    layout = ctx.surfaces.head_layout if side == "head" else ctx.surfaces.base_layout
    key = ("prisma-schema", tuple(texts.items()), layout.provider)
    parsed = ctx.parsed.get(key)
    if parsed is None:
        parsed = ctx.parsed[key] = load_texts(texts, provider_hint=layout.provider, parsed_files=ctx.parsed)
    return replace(parsed, missing=missing)


def schema_diff(ctx: ReviewContext, group: list[str] | None = None) -> SchemaDiff | None:
    """Base → head model-level diff of the schema the change touches; None when head has no parsable schema."""
    from bot.prisma.diff import diff_schemas

    head = schema_at(ctx, "head", group)
    if head is None or head.schema is None:
        return None
    base_group = group
    if base_group is None:
        base_group = _default_group(ctx, "base")
    base = schema_at(ctx, "base", base_group)
    if base is not None and base.schema is None:
        return None  # a base that does not parse gives no trustworthy diff
    key = ("prisma-schema-diff", tuple(head.files), tuple(base.files) if base else ())
    base_schema = base.schema if base is not None else None
    return ctx.memo(key, lambda: diff_schemas(base_schema, head.schema))  # type: ignore[arg-type]
