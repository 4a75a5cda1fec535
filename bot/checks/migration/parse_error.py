"""A migration file that PostgreSQL's parser (or sqlglot for other providers) rejects."""

from __future__ import annotations

from bot.change import split_lines
from bot.findings import Finding, Severity, Surface
from bot.registry import define
from bot.sql.model import ParsedMigration

PARSE_ERROR = define(
    "migration/parse-error", Severity.ERROR, Surface.MIGRATION,
    "The migration does not parse: the deploy fails on it and no other rule could check it",
    aliases=("squawk:syntax-error",),
)


def finding(parsed: ParsedMigration) -> Finding:
    assert parsed.error is not None
    parser = ("PostgreSQL's own parser (libpg_query)" if parsed.is_postgres else
              f"the {parsed.provider} parser (sqlglot)")
    lines = split_lines(parsed.text)
    line = min(max(parsed.error.line, 1), max(len(lines), 1))
    return PARSE_ERROR.finding(
        parsed.path, line,
        f"{parser} rejects this {parsed.source} at line {line}: {parsed.error.message}. `prisma migrate deploy` "
        "would fail here (P3018) and leave the migration failed; none of this file was checked by the other "
        "rules. Fix the SQL (run it against a scratch database, or regenerate it with `prisma migrate dev`).",
        key=f"parse error {parsed.error.message}",
        scope=(line, line),
    )
