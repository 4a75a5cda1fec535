"""MySQL, SQLite and SQL Server migrations through sqlglot (the providers Prisma supports besides PostgreSQL).

sqlglot has no statement spans, so the token stream is split at semicolons and each chunk parsed on its own;
statements it cannot type come back as `Command` (kind "Command") and only text-level rules apply to them.
"""

from __future__ import annotations

import logging

import sqlglot
from sqlglot.errors import ParseError as GlotParseError
from sqlglot.errors import TokenError
from sqlglot.tokens import TokenType

from bot.sql.model import SqlError, Statement

# sqlglot logs every statement it cannot type; the kind "Command" already says so
logging.getLogger("sqlglot").setLevel(logging.ERROR)

DIALECTS = {"mysql": "mysql", "sqlite": "sqlite", "sqlserver": "tsql", "postgresql": "postgres"}


def parse_other(text: str, provider: str) -> tuple[list[Statement], SqlError | None]:
    dialect = sqlglot.Dialect.get_or_raise(DIALECTS.get(provider, provider))
    try:
        tokens = dialect.tokenize(text)
    except TokenError as exc:
        return [], SqlError(str(exc).splitlines()[0][:200], _token_error_line(text, exc))
    chunks: list[list] = []
    current: list = []
    for tok in tokens:
        if tok.token_type == TokenType.SEMICOLON:
            if current:
                chunks.append(current)
            current = []
        else:
            current.append(tok)
    if current:
        chunks.append(current)
    statements: list[Statement] = []
    for index, chunk in enumerate(chunks):
        start, end = chunk[0].start, chunk[-1].end + 1
        body = text[start:end]
        try:
            parsed = dialect.parser().parse(chunk, text)
            node = parsed[0] if parsed else None
        except GlotParseError as exc:
            err = exc.errors[0] if exc.errors else {}
            return statements, SqlError(str(err.get("description") or exc)[:200], int(err.get("line") or chunk[0].line))
        except RecursionError:
            # sqlglot's parser recurses per nesting level: a deeply nested expression is kept as an untyped
            # statement (text-level rules still apply) instead of costing the file's other statements.
            node = None
        kind = type(node).__name__ if node is not None else "Command"
        statements.append(Statement(index, body, chunk[0].line, chunk[-1].line, kind, node))
    return statements, None


def _token_error_line(text: str, exc: TokenError) -> int:
    start = getattr(exc, "start", None)
    if isinstance(start, int):
        return text.count("\n", 0, start) + 1
    return 1
