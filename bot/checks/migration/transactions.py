"""BEGIN / COMMIT / ROLLBACK written into a Prisma migration.sql.

`prisma migrate deploy` already decides the transaction: before 7.4.0 it sends a multi-statement file as one batch,
which PostgreSQL runs as one implicit transaction; from 7.4.0 it sends each statement on its own. Inside that,
explicit transaction control behaves as PostgreSQL's protocol says ("Multiple Statements in a Simple Query"): a
BEGIN turns the implicit transaction into a regular one (the statements before it join it), a COMMIT ends it early
(the statements after it run in a new one), a ROLLBACK undoes what came before, and a BEGIN with no COMMIT leaves
the transaction open when the file ends, so nothing after it is committed. A file wrapped in BEGIN ... COMMIT
with nothing after the COMMIT is fine under every version and is not reported.
"""

from __future__ import annotations

from bot.checks.migration._common import Env, Hit
from bot.findings import Severity, Surface
from bot.registry import define
from bot.sql.state import MigrationModel, OpState

TRANSACTION_CONTROL = define(
    "migration/transaction-control", Severity.ERROR, Surface.MIGRATION,
    "BEGIN/COMMIT/ROLLBACK in a migration.sql that leaves a transaction open, ends Prisma's early or undoes the work",
    aliases=("squawk:transaction-nesting", "squawk:ban-uncommitted-transaction"),
)


def _runner(model: MigrationModel, env: Env) -> tuple[str, bool | None]:
    """How the project's Prisma sends the file, as a sentence, and whether it splits statements (None: unknown)."""
    splits = env.splits_statements if model.implicit_transaction is not False else True
    described = env.prisma.describe() if env.prisma is not None else None
    if splits is True:
        return (f"This project's Prisma ({described or '7.4.0 or later'}) sends each statement of the file on its "
                "own and commits it."), True
    if splits is False:
        return (f"This project's Prisma ({described or 'before 7.4.0'}) sends the whole file as one batch, which "
                "PostgreSQL runs as one transaction."), False
    return ("Prisma before 7.4.0 sends the whole file as one batch, which PostgreSQL runs as one transaction; from "
            "7.4.0 it sends and commits each statement on its own (this project's version is unknown, so the "
            "first is assumed)."), None


def check(model: MigrationModel, env: Env) -> list[Hit]:
    ops = model.ops
    if not any(st.op.kind == "transaction" for st in ops):
        return []
    runner, splits = _runner(model, env)
    one_batch = splits is not True
    hits: list[Hit] = []
    open_at: OpState | None = None  # the BEGIN of the explicit block in progress
    work_before = False  # statements since the transaction in progress began (implicit or explicit)
    for i, st in enumerate(ops):
        op = st.op
        if op.kind != "transaction":
            work_before = True
            continue
        kind = op.data.get("kind")
        after = any(o.op.kind != "transaction" for o in ops[i + 1:])
        line = op.stmt.line
        if kind == "begin":
            if open_at is not None:
                hits.append(_hit(st, "nested", Severity.INFO,
                                 f"BEGIN at line {line} inside the transaction opened at line {open_at.op.stmt.line}: "
                                 "PostgreSQL does not nest transactions; it ignores this BEGIN with a WARNING (there "
                                 "is already a transaction in progress), and the first COMMIT ends both. Remove it.",
                                 "a nested BEGIN is ignored"))
                continue
            open_at = st
            if not one_batch:
                work_before = False
        elif kind == "commit":
            if open_at is None and not one_batch:
                hits.append(_hit(st, "stray commit", Severity.INFO,
                                 f"COMMIT at line {line} has no BEGIN before it. {runner} So it does nothing "
                                 "(WARNING: there is no transaction in progress). Remove it.",
                                 "the COMMIT does nothing"))
            elif after and one_batch and open_at is not None and _prisma_enum_block(ops, open_at, st):
                pass  # Prisma's own `BEGIN; <enum recreate>; COMMIT;`: enum-value-removal reports the dance
            elif after and one_batch and _adds_enum_value(ops, st):
                hits.append(_hit(st, "early commit", Severity.INFO,
                                 f"COMMIT at line {line} commits the enum value added above it so that the "
                                 "statements after it may use it (PostgreSQL refuses a new value in the transaction "
                                 f"that added it, 55P04). {runner} That works, but it makes the migration "
                                 "non-atomic: if a statement after the COMMIT fails, the part before it stays "
                                 "applied and the migration is marked failed (P3009). Two migrations do the same "
                                 "cleanly: the ADD VALUE in one, the statements that use it in the next; and from "
                                 "Prisma 7.4.0 the COMMIT is not needed.", "the COMMIT splits the migration"))
            elif after and one_batch and open_at is not None:
                # BEGIN ... COMMIT blocks written on purpose (shorter locks per block): said, not warned about
                hits.append(_hit(st, "block commit", Severity.INFO,
                                 f"COMMIT at line {line} ends the block opened at line {open_at.op.stmt.line}, and "
                                 f"statements follow. {runner} So this file commits in several transactions: if a "
                                 "later one fails, the earlier ones stay applied and the migration is marked failed "
                                 "(P3009); the retry runs them again. If the blocks are meant to commit separately, "
                                 "separate migrations say so and retry cleanly.", "the file commits in several "
                                 "transactions"))
            elif after and one_batch:
                hits.append(_hit(st, "early commit", Severity.WARNING,
                                 f"COMMIT at line {line} ends Prisma's transaction in the middle of the file (there "
                                 f"is no BEGIN before it). {runner} So "
                                 f"everything before line {line} is committed, and the statements after it run in "
                                 "a new transaction. If one of those fails, the migration is left half-applied and "
                                 "marked failed (P3009): the retry runs the committed part again and fails on it. "
                                 "Split the file into two migrations at this line (they deploy in order) and remove "
                                 "the COMMIT.", "the COMMIT ends the transaction early"))
            open_at = None
            work_before = False
            if op.data.get("chain"):  # COMMIT AND CHAIN starts the next transaction at once
                open_at = st
        elif kind == "rollback":
            undone = work_before and (open_at is not None or one_batch)
            if undone:
                since = (f"since the BEGIN at line {open_at.op.stmt.line}" if open_at is not None and not one_batch
                         else "since the start of the file")
                hits.append(_hit(st, "rollback", Severity.ERROR,
                                 f"ROLLBACK at line {line} undoes every statement {since}. {runner} The deploy "
                                 "still succeeds and Prisma records the migration as applied, while its changes are "
                                 "gone, and no later migration will redo them. Remove the ROLLBACK (a migration that "
                                 "must not apply belongs in no migration at all).", "the ROLLBACK undoes the "
                                 "migration"))
            else:
                hits.append(_hit(st, "stray rollback", Severity.INFO,
                                 f"ROLLBACK at line {line} has nothing to undo. {runner} So it does nothing: "
                                 "remove it.", "the ROLLBACK does nothing"))
            open_at = None
            work_before = False
    if open_at is not None:
        st = open_at
        hits.append(_hit(st, "uncommitted", Severity.ERROR,
                         f"BEGIN at line {st.op.stmt.line} is never committed: the transaction is still open when the "
                         f"file ends. {runner} Nothing after the BEGIN is committed by the file: PostgreSQL rolls the "
                         "open transaction back when Prisma's connection closes, so the deploy can report success "
                         "while those changes are missing. Add `COMMIT;` at the end, or remove the BEGIN.",
                         "the transaction is never committed"))
    return hits


def _hit(st: OpState, what: str, severity: Severity, message: str, short: str) -> Hit:
    # keyed by the statement's position among the file's transaction statements, not by its line
    return Hit(TRANSACTION_CONTROL, st.op.stmt, f"transaction {what}", message, short, severity=severity,
               key=f"transaction {what} #{st.op.data.get('ordinal', 0)}")


def _prisma_enum_block(ops: list[OpState], begin: OpState, commit: OpState) -> bool:
    """Prisma's `-- AlterEnum` block (CREATE TYPE "E_new" ... DROP TYPE "E_old" between its BEGIN and COMMIT), also
    when the author added statements inside it (an UPDATE of the old values, a DROP VIEW)."""
    inside = [o.op for o in ops if begin.op.stmt.index < o.op.stmt.index < commit.op.stmt.index]
    return any(o.kind == "create_enum" for o in inside) and any(o.kind == "drop_type" for o in inside)


def _adds_enum_value(ops: list[OpState], commit: OpState) -> bool:
    """The transaction this COMMIT ends added an enum value (the usual reason for a COMMIT mid-file)."""
    return any(o.op.kind == "add_enum_value" and o.tx == commit.tx - 1 and o.op.stmt.index < commit.op.stmt.index
               for o in ops)
