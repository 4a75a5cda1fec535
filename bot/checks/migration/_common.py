"""What every migration rule shares: the Hit a rule returns, name quoting, and statement helpers.

Rules return Hits (not Findings) so the analyzer can keep one finding per problem: a hit names the statement
and the subject it is about; when two rules hit the same subject of the same statement, the higher-priority one
is kept and the other's summary is appended to it ("Also: ...").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.findings import Severity, Suggestion
from bot.registry import Rule
from bot.sql.model import Statement
from bot.sql.ops import Op
from bot.sql.state import MigrationModel, OpState

if TYPE_CHECKING:
    from bot.checks.change.prisma_version import PrismaVersion
    from bot.checks.migration.locking import LockWait


@dataclass
class Hit:
    rule: Rule
    stmt: Statement
    subject: str  # what the hit is about inside the statement ("User.email", "index User_email_key")
    message: str
    short: str  # one sentence, used when this hit is merged into another on the same subject
    severity: Severity | None = None
    end_stmt: Statement | None = None  # for hits that span statements (enum recreate, drop + add)
    key: str = ""
    suggestion: Suggestion | None = None
    # Prisma warning kinds + (table, column) this hit already reports, so the header adds no second finding.
    covers: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    # Statement indexes whose findings this hit replaces entirely (Prisma's enum recreate dance).
    consumes: set[int] = field(default_factory=set)
    # (statement index, subject) pairs this hit replaces (the DROP and ADD of a rename done as drop + add).
    replaces: set[tuple[int, str]] = field(default_factory=set)
    # A problem of the file rather than of the statement (no lock_timeout, a lock held through later work): when
    # the statement already has a finding, this one is folded into it instead of becoming a second finding.
    file_level: bool = False


def q(name: str | None) -> str:
    """A name the way Prisma writes it in SQL: `"User"`, `"auth"."User"`."""
    if not name:
        return '"?"'
    if "." not in name:
        return f'"{name}"'
    return ".".join(f'"{part}"' for part in name.split("."))


def qn(name: str | None) -> str:
    """An index or constraint name: one identifier, dots included (Prisma 2 named indexes "User.email_unique")."""
    return f'"{name}"' if name else '"?"'


def table_ref(table: str | None) -> str:
    """A locked table for a message: bot.sql.locks names the table of an index the history does not know
    "table of index <name>"; say that in words instead of quoting it as a table name."""
    if table and table.startswith("table of index "):
        return f"the table of index {q(table.removeprefix('table of index '))}"
    return q(table)


def cols(columns: list[str | None] | None) -> str:
    return ", ".join(q(c) if c else "(expression)" for c in columns or [])


def prisma_tx_note(state: OpState) -> str:
    """Why the statement runs inside a transaction: the file's own BEGIN, or Prisma's one transaction per file."""
    if not state.in_transaction:
        return ""
    if state.explicit_transaction:
        return "it runs inside the BEGIN ... COMMIT block this file opens"
    return "Prisma runs a multi-statement migration.sql as one transaction"


def first_line_text(model: MigrationModel, line: int) -> str:
    return model.parsed.line_text(line)


def single_line_suggestion(model: MigrationModel, stmt: Statement, old: str, new: str) -> Suggestion | None:
    """Replace `old` with `new` on a one-line statement (the common Prisma shape), when that is unambiguous."""
    if stmt.line != stmt.end_line:
        return None
    text = first_line_text(model, stmt.line)
    if text.count(old) != 1:
        return None
    return Suggestion(stmt.line, stmt.line, text.replace(old, new))


def op_key(op: Op, verb: str) -> str:
    return f"{verb} {op.subject}"


@dataclass
class Env:
    """What a rule may know beyond the file: rules deferred to the schema analyzer, Prisma-level defaults."""

    deferred: set[str] = field(default_factory=set)
    # (table, column) pairs whose Prisma field has a client-side default such as @default(uuid()) / cuid().
    prisma_level_defaults: set[tuple[str, str]] = field(default_factory=set)
    type_options: dict[str, object] = field(default_factory=dict)  # migration/new-table-types options
    # Tables dbreview-stats.json (base branch) calls small (under 10,000 rows and 64 MB) or large (1M rows or 1 GB).
    small_tables: set[str] = field(default_factory=set)
    large_tables: set[str] = field(default_factory=set)
    # The review's lock_timeout reminder, per file path (said once per review): set by the analyzer for a whole
    # change; None when a file is checked on its own (one reminder per file).
    lock_waits: dict[str, list[LockWait]] | None = None
    # The project's Prisma CLI (bot.checks.change.prisma_version): how migrate deploy sends the file.
    prisma: PrismaVersion | None = None
    splits_statements: bool | None = None
