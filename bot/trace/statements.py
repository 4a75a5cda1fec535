"""Split a migration file into statements with 1-based line ranges, and name the relations each one touches.

The trace runs statements one at a time, so it needs each statement's exact text and where it sits in the file.
pglast (libpg_query) gives character offsets; a file that does not parse is run as one statement so the server,
not our parser, reports what is wrong with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pglast
from pglast import ast
from pglast.visitors import Visitor

from bot.sql.pg import parse_postgres


@dataclass(frozen=True)
class Statement:
    index: int  # 0-based position in the file
    text: str
    line: int  # 1-based first line of the statement
    end_line: int
    kind: str  # the parse node name ("IndexStmt", "AlterTableStmt", …) or "Unparsed"
    relations: tuple[str, ...] = field(default_factory=tuple)  # names as written, schema-qualified when they were

    @property
    def summary(self) -> str:
        """The statement on one line, shortened for tables and messages."""
        flat = " ".join(self.text.split())
        return flat if len(flat) <= 90 else flat[:87] + "…"


class _Relations(Visitor):  # type: ignore[misc]
    def __init__(self) -> None:
        self.names: list[str] = []

    def visit_RangeVar(self, ancestors: object, node: ast.RangeVar) -> None:
        self.names.append(f"{node.schemaname}.{node.relname}" if node.schemaname else node.relname)


def _relations(stmt: ast.Node) -> tuple[str, ...]:
    visitor = _Relations()
    visitor(stmt)
    names = list(visitor.names)
    if isinstance(stmt, ast.DropStmt) and stmt.objects:
        for obj in stmt.objects:
            parts = obj if isinstance(obj, tuple) else (obj,)
            strings = [p.sval for p in parts if isinstance(p, ast.String)]
            if strings:
                names.append(".".join(strings))
    seen: dict[str, None] = {}
    for name in names:
        seen.setdefault(name, None)
    return tuple(seen)


def _line_at(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def split_statements(text: str) -> list[Statement]:
    """Statements of a SQL file in order; the whole file as one "Unparsed" statement when it does not parse."""
    # The same split the static analysis uses (bot.sql.pg), so measured and static findings share line numbers.
    parsed, error = parse_postgres(text)
    if error is not None:
        stripped = text.strip()
        if not stripped:
            return []
        start = text.index(stripped[0])
        return [Statement(0, stripped, _line_at(text, start), _line_at(text, start + len(stripped) - 1), "Unparsed")]
    return [
        Statement(index=i, text=stmt.text, line=stmt.line, end_line=stmt.end_line, kind=stmt.kind,
                  relations=_relations(stmt.node) if stmt.node is not None else ())
        for i, stmt in enumerate(s for s in parsed if s.text.strip())
    ]


@dataclass(frozen=True)
class PlannedForeignKey:
    """A foreign key a migration adds with ALTER TABLE: the seed makes existing rows satisfy it."""

    table: str
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]


def _name(rv: ast.RangeVar) -> str:
    return f"{rv.schemaname}.{rv.relname}" if rv.schemaname else rv.relname


def planned_foreign_keys(text: str) -> list[PlannedForeignKey]:
    try:
        raw = pglast.parse_sql(text)
    except pglast.parser.ParseError:
        return []
    out: list[PlannedForeignKey] = []
    for raw_stmt in raw:
        stmt = raw_stmt.stmt
        if not isinstance(stmt, ast.AlterTableStmt) or stmt.relation is None:
            continue
        for cmd in stmt.cmds or ():
            con = getattr(cmd, "def_", None)
            if not isinstance(con, ast.Constraint) or con.contype != pglast.enums.ConstrType.CONSTR_FOREIGN:
                continue
            if con.pktable is None or not con.fk_attrs or not con.pk_attrs:
                continue
            out.append(PlannedForeignKey(
                _name(stmt.relation),
                tuple(a.sval for a in con.fk_attrs),
                _name(con.pktable),
                tuple(a.sval for a in con.pk_attrs),
            ))
    return out
