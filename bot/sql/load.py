"""Load a migration file once per review: decode, parse with the provider's parser, read the warnings header.

`parsed_migration(ctx, path)` is the shared, memoised entry point (see bot/sql/__init__.py); the pure
`parse_migration_text` underneath takes text and needs no context.
"""

from __future__ import annotations

import posixpath
import re
from typing import TYPE_CHECKING

from bot.change import decode_text
from bot.sql.model import ParsedMigration, SqlError, Statement
from bot.sql.opsjson import OpsJsonError, sql_from_ops_json
from bot.sql.pg import parse_postgres
from bot.sql.prisma_warnings import parse_warnings

if TYPE_CHECKING:
    from bot.context import ReviewContext

# Above this a file is data, not DDL (seed dumps); building its AST would cost seconds for no finding.
MAX_BYTES = 2_000_000
PG_PROVIDERS = ("postgresql", "postgres", "cockroachdb")


def parse_migration_text(text: str, path: str = "migration.sql", provider: str | None = None, *,
                         max_bytes: int = MAX_BYTES) -> ParsedMigration:
    provider = (provider or "postgresql").lower()
    is_ops = posixpath.basename(path) == "ops.json"
    parsed = ParsedMigration(path=path, provider=provider, text=text, source="ops.json" if is_ops else "migration.sql")
    size = len(text.encode("utf-8", "surrogatepass")) if len(text) * 4 > max_bytes else len(text)
    if size > max_bytes:
        parsed.oversized = True
        parsed.skipped = (f"it is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:g} MB limit for SQL analysis "
                          "(`limits.migration_bytes`; a data dump, not a schema change?)")
        return parsed
    if not text.strip():
        parsed.skipped = f"{path} is empty: `prisma migrate deploy` records it as applied and runs nothing"
        return parsed
    if is_ops:
        _parse_ops(parsed)
        return parsed
    parsed.warnings = parse_warnings(text)
    if provider in PG_PROVIDERS:
        parsed.statements, parsed.error = parse_postgres(text)
    else:
        parsed.statements, parsed.error = _parse_other(text, provider)
        parsed.statements = _redefinitions_kept(parsed.statements)
    if parsed.error is None and not parsed.statements:
        parsed.skipped = f"{path} has only comments, no SQL statement"
    return parsed


def _parse_other(text: str, provider: str) -> tuple[list[Statement], SqlError | None]:
    # sqlglot takes ~70 ms to import: only MySQL, SQLite and SQL Server migrations pay for it.
    from bot.sql.other import parse_other

    return parse_other(text, provider)


_DROP_TABLE = re.compile(r'^\s*DROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?[`"]?(\w+)[`"]?\s*$', re.I)
_RENAME_NEW = re.compile(r'^\s*ALTER\s+TABLE\s+[`"]?new_(\w+)[`"]?\s+RENAME\s+TO\s+[`"]?(\w+)[`"]?\s*$', re.I)


def _redefinitions_kept(statements: list[Statement]) -> list[Statement]:
    """SQLite cannot alter most of a table, so Prisma "redefines" it: CREATE "new_T", copy the rows, DROP "T", then
    RENAME "new_T" TO "T". That DROP loses nothing (the table and its rows live on under the same name), so it
    becomes an opaque statement rather than a drop_table every reader of the ops would have to see through."""
    renamed_back = {m.group(2) for s in statements if (m := _RENAME_NEW.match(s.text)) and m.group(1) == m.group(2)}
    if not renamed_back:
        return statements
    out: list[Statement] = []
    for s in statements:
        m = _DROP_TABLE.match(s.text)
        if m and m.group(1) in renamed_back and any(
                r.index > s.index and (n := _RENAME_NEW.match(r.text)) and n.group(2) == m.group(1)
                for r in statements):
            s = Statement(s.index, s.text, s.line, s.end_line, "RedefineTableDrop")
        out.append(s)
    return out


def _parse_ops(parsed: ParsedMigration) -> None:
    try:
        chunks = sql_from_ops_json(parsed.text)
    except OpsJsonError as exc:
        parsed.error = SqlError(str(exc), 1)
        return
    index = 0
    for sql, line in chunks:
        if parsed.provider in PG_PROVIDERS:
            stmts, error = parse_postgres(sql)
        else:
            stmts, error = _parse_other(sql, parsed.provider)
        if error is not None:
            parsed.error = SqlError(error.message, line)
            return
        for s in stmts:
            parsed.statements.append(Statement(index, s.text, line, line, s.kind, s.raw, s.json))
            index += 1
    if not parsed.statements:
        parsed.skipped = f"{parsed.path} holds no SQL statement"


def read_migration(ctx: ReviewContext, path: str, *, old: bool = False) -> str | bytes | None:
    """The file's text, or its raw bytes when it is not UTF-8 (callers report that), or None when absent."""
    snapshot = ctx.change.base if old else ctx.change.head
    data = snapshot.read_bytes(path)
    if data is None:
        return None
    text = decode_text(data)
    return data if text is None else text


def provider_for(ctx: ReviewContext, *, old: bool = False, path: str | None = None) -> str:
    """The SQL dialect of a migration: its own folder's migration_lock.toml, else the project's first one."""
    layout = ctx.surfaces.base_layout if old else ctx.surfaces.head_layout
    provider = layout.provider_of(path) if path is not None else layout.provider
    return (provider or "postgresql").lower()


def parsed_migration(ctx: ReviewContext, path: str, *, old: bool = False) -> ParsedMigration | None:
    """The parsed migration at head (or at base with old=True), parsed once per review; None if the file is absent.

    A non-UTF-8, empty, comment-only or oversized file comes back with `skipped` set (and no statements); a file
    that does not parse comes back with `error` set (message and 1-based line).
    """

    def factory() -> ParsedMigration | None:
        data = read_migration(ctx, path, old=old)
        if data is None:
            return None
        provider = provider_for(ctx, old=old, path=path)
        if isinstance(data, bytes):
            parsed = ParsedMigration(path=path, provider=provider, text="")
            parsed.skipped = f"{path} is not UTF-8 text (or is binary); it was not analysed"
            return parsed
        return parse_migration_text(data, path, provider, max_bytes=ctx.config.limits.migration_bytes)

    return ctx.memo(("sql.parsed_migration", path, old), factory)


def is_migration_sql(path: str) -> bool:
    return posixpath.basename(path) in ("migration.sql", "ops.json")


def migration_name(path: str) -> str:
    """The migration's directory name (`20240104210051_add_model_indices`), which orders the history."""
    return posixpath.basename(posixpath.dirname(path))
