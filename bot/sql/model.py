"""Parsed migration files: statements with 1-based line spans, the Prisma warnings header, the parse error."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.change import split_lines


@dataclass(frozen=True)
class Statement:
    """One SQL statement of a migration file, with its lines and the parser's node."""

    index: int  # 0-based position in the file
    text: str  # the statement's SQL, without leading comments and the trailing semicolon
    line: int  # 1-based first line
    end_line: int  # 1-based last line
    kind: str  # parser node class: "AlterTableStmt", "IndexStmt", ... ("Command" for opaque sqlglot statements)
    raw: Any = field(default=None, repr=False, compare=False)  # sqlglot Expression, or a pglast node once built
    # PostgreSQL: libpg_query's JSON parse tree of the statement ({"AlterTableStmt": {...}}), which the rules read;
    # building pglast's Python AST for every statement of a long history costs more than everything else together.
    json: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    @property
    def node(self) -> Any:
        """pglast AST node (PostgreSQL, built on first use from the statement text) or sqlglot Expression."""
        if self.raw is None and self.json is not None:
            from bot.sql.fast_ast import UnknownShape, statement_node

            try:
                node = statement_node(self.json)
            except (UnknownShape, KeyError, TypeError, ValueError, RecursionError):
                import pglast

                raws = pglast.parse_sql(self.text)
                node = raws[0].stmt if raws else None
            object.__setattr__(self, "raw", node)
        return self.raw

    @property
    def scope(self) -> tuple[int, int]:
        return (self.line, self.end_line)

    @property
    def short(self) -> str:
        """One line of the statement for summaries and keys: whitespace collapsed, cut at 80 characters."""
        flat = " ".join(self.text.split())
        return flat if len(flat) <= 80 else flat[:77] + "..."


@dataclass(frozen=True)
class SqlError:
    """Why a migration file did not parse, and on which line."""

    message: str
    line: int  # 1-based line of the failing token


@dataclass(frozen=True)
class PrismaWarning:
    """One bullet of the `/* Warnings: ... */` header that `prisma migrate dev` writes above risky SQL."""

    kind: str  # drop_column, drop_table, add_required, add_required_prisma_default, made_required, unique_added,
    #            enum_values_removed, primary_key_change, risky_cast, not_castable, drop_recreate_column,
    #            drop_recreate_required, scalar_to_list, other
    text: str
    line: int
    table: str | None = None
    column: str | None = None
    values: tuple[str, ...] = ()  # enum values removed, unique columns
    from_type: str | None = None
    to_type: str | None = None


@dataclass
class ParsedMigration:
    """A migration file split into statements (or the reason it could not be)."""

    path: str
    provider: str  # postgresql, mysql, sqlite, sqlserver, cockroachdb, ...
    text: str
    statements: list[Statement] = field(default_factory=list)
    error: SqlError | None = None
    warnings: list[PrismaWarning] = field(default_factory=list)
    # Why the file was not analysed (not UTF-8, too large, empty, ...); None when it was.
    skipped: str | None = None
    oversized: bool = False  # skipped for its size: the author is told with a finding, not only a note
    source: str = "migration.sql"  # or "ops.json" for Prisma 8 migrations

    @property
    def is_postgres(self) -> bool:
        return self.provider in ("postgresql", "postgres", "cockroachdb")

    @property
    def ok(self) -> bool:
        return self.error is None and self.skipped is None

    @property
    def directory(self) -> str:
        return self.path.rsplit("/", 1)[0] if "/" in self.path else ""

    def line_text(self, line: int) -> str:
        """The text of a 1-based line (split once per file)."""
        lines = self.__dict__.get("_lines")
        if lines is None:
            lines = split_lines(self.text)
            self.__dict__["_lines"] = lines
        return lines[line - 1] if 0 < line <= len(lines) else ""

    def statement_at(self, line: int) -> Statement | None:
        return next((s for s in self.statements if s.line <= line <= s.end_line), None)
