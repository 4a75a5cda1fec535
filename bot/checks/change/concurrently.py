"""CONCURRENTLY statements that `prisma migrate deploy` will run inside a transaction, for the project's Prisma version.

PostgreSQL refuses `CREATE/DROP INDEX CONCURRENTLY`, `REINDEX … CONCURRENTLY`, `DETACH PARTITION … CONCURRENTLY`
and `VACUUM` inside a transaction block (SQLSTATE 25001). Whether a migration puts them in one depends on Prisma:
- any version: between an explicit `BEGIN` and `COMMIT` in the file;
- before 7.4.0: in any file with more than one statement (the file is one simple-query batch = one implicit
  transaction; a single-statement file runs in autocommit);
- 7.4.0 and later: the engine splits the file and runs statements one by one, but falls back to the single batch
  when its SQL parser (sqlparser-rs) cannot parse the file, which is the case for `DROP INDEX CONCURRENTLY`
  (prisma-engines #5847, open as of 2026-07), so a file mixing it with any other statement still fails.
The deploy then stops with P3018 and the migration is recorded as failed: later deploys refuse to run until someone
runs `prisma migrate resolve` by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

from pglast import ast, enums

from bot.change import FileStatus
from bot.context import ReviewContext
from bot.findings import Finding, Severity, Surface
from bot.registry import define

from .migration_dirs import SCRIPT, guarded
from .prisma_version import PrismaVersion, parse_range, prisma_version

RULE = define(
    "migration/concurrently-deploy-failure",
    Severity.ERROR,
    Surface.MIGRATION,
    "A CONCURRENTLY statement that `prisma migrate deploy` will run inside a transaction (fails with 25001)",
    options={"split_since": "7.4.0"},
)

_PG = ("postgresql", "postgres")


@dataclass(frozen=True)
class _NoTx:
    line: int
    end_line: int
    what: str  # "CREATE INDEX CONCURRENTLY", ...
    kind: str  # create_index, drop_index, other
    explicit_tx: bool


def _no_transaction_kind(node: object) -> tuple[str, str] | None:
    if isinstance(node, ast.IndexStmt) and node.concurrent:
        return "create_index", "CREATE INDEX CONCURRENTLY"
    if isinstance(node, ast.DropStmt) and node.concurrent and node.removeType == enums.ObjectType.OBJECT_INDEX:
        return "drop_index", "DROP INDEX CONCURRENTLY"
    if isinstance(node, ast.ReindexStmt) and any(
        isinstance(p, ast.DefElem) and p.defname == "concurrently" for p in (node.params or ())
    ):
        return "other", "REINDEX … CONCURRENTLY"
    if isinstance(node, ast.AlterTableStmt):
        for cmd in node.cmds or ():
            if (isinstance(cmd, ast.AlterTableCmd) and cmd.subtype == enums.AlterTableType.AT_DetachPartition
                    and isinstance(cmd.def_, ast.PartitionCmd) and cmd.def_.concurrent):
                return "other", "DETACH PARTITION … CONCURRENTLY"
    if isinstance(node, ast.VacuumStmt) and getattr(node, "is_vacuumcmd", False):
        return "other", "VACUUM"
    return None


# Statement kinds that can run outside a transaction block or control one; only these need a pglast node (building
# one costs about a millisecond, which a 26,000-statement migration cannot afford for every statement).
_CANDIDATE_KINDS = frozenset({"IndexStmt", "DropStmt", "ReindexStmt", "AlterTableStmt", "VacuumStmt",
                              "TransactionStmt"})


def _scan(statements: list) -> list[_NoTx]:  # type: ignore[type-arg]
    found: list[_NoTx] = []
    in_tx = False
    for stmt in statements:
        if stmt.kind not in _CANDIDATE_KINDS or (
                stmt.kind in ("IndexStmt", "DropStmt", "ReindexStmt", "AlterTableStmt")
                and "concurrently" not in stmt.text.lower()):
            continue
        node = stmt.node
        if isinstance(node, ast.TransactionStmt):
            kind = node.kind
            if kind in (enums.TransactionStmtKind.TRANS_STMT_BEGIN, enums.TransactionStmtKind.TRANS_STMT_START):
                in_tx = True
            elif kind in (enums.TransactionStmtKind.TRANS_STMT_COMMIT, enums.TransactionStmtKind.TRANS_STMT_ROLLBACK,
                          enums.TransactionStmtKind.TRANS_STMT_PREPARE):
                in_tx = False
            continue
        classified = _no_transaction_kind(node)
        if classified:
            found.append(_NoTx(stmt.line, stmt.end_line, classified[1], classified[0], in_tx))
    return found


def _check(ctx: ReviewContext) -> list[Finding]:
    try:
        from bot.sql.load import parsed_migration
    except ImportError:  # the SQL layer is missing: nothing to analyse
        return []
    findings: list[Finding] = []
    if any(c.path.endswith("/" + SCRIPT) and c.status is not FileStatus.DELETED for c in ctx.surfaces.migrations):
        _record_runner(ctx)
    for changed in ctx.surfaces.migrations:
        if changed.status is FileStatus.DELETED or not changed.path.endswith("/" + SCRIPT):
            continue
        parsed = parsed_migration(ctx, changed.path)
        if parsed is None or parsed.error is not None or parsed.skipped or parsed.provider not in _PG:
            continue
        no_tx = _scan(parsed.statements)
        if not no_tx:
            continue
        finding = _judge(ctx, changed.path, len(parsed.statements), no_tx)
        if finding is not None:
            findings.append(finding)
    return findings


def _record_runner(ctx: ReviewContext) -> None:
    """Facts for the summary and the LLM: how `migrate deploy` will run this project's migration files."""
    version = prisma_version(ctx)
    since = _split_since(ctx)
    split = None if version is None else version.at_least(since)
    since_text = ".".join(map(str, since))
    ctx.facts["migration_transactions"] = {
        True: f"each statement commits on its own (Prisma >= {since_text})",
        False: f"each multi-statement migration.sql runs as one transaction (Prisma < {since_text})",
        None: f"unknown: one transaction per file before Prisma {since_text}, statement by statement from it",
    }[split]


def _split_since(ctx: ReviewContext) -> tuple[int, int, int]:
    raw = str(ctx.options(RULE).get("split_since", "7.4.0"))
    low, _, _ = parse_range(raw)
    return low or (7, 4, 0)


def _judge(ctx: ReviewContext, path: str, count: int, no_tx: list[_NoTx]) -> Finding | None:
    migration = path.rsplit("/", 2)[-2]
    key = f"{migration}:concurrently"
    fix = ("Move each such statement into a migration directory of its own, as the only statement of its "
           "`migration.sql` (a single statement runs outside any transaction on every Prisma version).")
    failure = ("PostgreSQL refuses it inside a transaction block (`ERROR: … cannot run inside a transaction block`, "
               "SQLSTATE 25001), so `migrate deploy` stops with P3018 and records the migration as failed; later "
               "deploys refuse to run until someone runs `prisma migrate resolve`.")
    explicit = [s for s in no_tx if s.explicit_tx]
    if explicit:
        first = explicit[0]
        return RULE.finding(path, first.line, f"`{first.what}` sits between `BEGIN` and `COMMIT` in this migration. "
                            f"{failure} Move it after the `COMMIT` or into its own migration.",
                            end_line=first.end_line, key=key, scope=(first.line, first.end_line))
    if count <= 1:
        return None
    drops = [s for s in no_tx if s.kind == "drop_index"]
    version = prisma_version(ctx)
    since = _split_since(ctx)
    since_text = ".".join(map(str, since))
    split = None if version is None else version.at_least(since)
    where = _version_text(version)
    if drops:
        first = drops[0]
        return RULE.finding(path, first.line, (
            f"`DROP INDEX CONCURRENTLY` in a migration with {count} statements. Prisma before {since_text} sends a "
            f"multi-statement file as one transaction, and later versions fall back to that when their SQL splitter "
            f"cannot parse `DROP INDEX CONCURRENTLY` (prisma-engines #5847), so this fails on every Prisma release "
            f"to date{where}. {failure} {fix}"), end_line=first.end_line, key=key,
            scope=(first.line, first.end_line))
    first = no_tx[0]
    if split is False:
        return RULE.finding(path, first.line, (
            f"`{first.what}` in a migration with {count} statements{where}: Prisma before {since_text} sends the "
            f"whole file as one batch, which PostgreSQL runs as one transaction. {failure} {fix}"),
            end_line=first.end_line, key=key, scope=(first.line, first.end_line))
    if split is True:
        others = [s for s in no_tx if s.kind != "create_index"]
        if not others:
            return None  # Prisma >= 7.4 runs each statement on its own; CREATE INDEX CONCURRENTLY parses fine there
        other = others[0]
        return RULE.finding(path, other.line, (
            f"`{other.what}` in a migration with {count} statements{where}. Prisma {since_text}+ runs statements one "
            "by one only when its SQL splitter parses the whole file, and falls back to one transaction otherwise "
            f"(as it does for `DROP INDEX CONCURRENTLY`); then {failure[0].lower()}{failure[1:]} {fix}"),
            severity=Severity.WARNING, end_line=other.end_line, key=key, scope=(other.line, other.end_line))
    return RULE.finding(path, first.line, (
        f"`{first.what}` in a migration with {count} statements. It fails on Prisma before {since_text}, which runs a "
        f"multi-statement file as one transaction, and works from {since_text} on; "
        + (f"the project allows {version.describe()}, which includes versions before {since_text}. "
           if version is not None else "no Prisma version was found in `package.json` or a lockfile. ")
        + f"{failure} {fix}"),
        severity=Severity.WARNING, end_line=first.end_line, key=key, scope=(first.line, first.end_line))


def _version_text(version: PrismaVersion | None) -> str:
    return f" (the project uses {version.describe()})" if version is not None else ""


check = guarded("concurrently", _check)
