"""The migration analyzer: per-file SQL safety for the migrations a change adds or edits.

analyze(ctx) parses each changed migration.sql / ops.json once (bot.sql.load.parsed_migration), replays the
migrations folder to know the schema each file runs against (bot.sql.history), runs every rule module over the
file's state model, keeps one finding per problem (see _common.Hit), maps Prisma's warnings header onto the
findings (an unmatched warning becomes migration/prisma-warning), and records the lock table in
ctx.facts["locks"]. History and schema-consistency checks live in bot/checks/change.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

from bot.change import ChangedFile, FileStatus
from bot.checks.migration import (
    assignments,
    columns,
    constraints,
    data,
    design,
    destructive,
    enums,
    indexes,
    locking,
    parse_error,
    prisma_header,
    storage,
    transactions,
)
from bot.checks.migration._common import Env, Hit
from bot.context import ReviewContext, check_deadline
from bot.findings import Finding
from bot.registry import RULES
from bot.sql import locks as L
from bot.sql.history import migration_models
from bot.sql.load import is_migration_sql, migration_name, parsed_migration
from bot.sql.state import MigrationModel

log = logging.getLogger("dbreview.migration")

Check = Callable[[MigrationModel, Env], list[Hit]]
# Order = priority: when two rules hit the same subject of one statement, the earlier module's hit is kept.
CHECKS: list[Check] = [assignments.check, transactions.check, enums.check, destructive.check, columns.check,
                       constraints.check, indexes.check, storage.check, data.check, locking.check, design.check]


def analyze(ctx: ReviewContext) -> list[Finding]:
    findings: list[Finding] = []
    targets = [f for f in ctx.surfaces.migrations if _reviewed(f)]
    if not targets:
        return findings
    env = build_env(ctx)
    try:
        models = migration_models(ctx)
    except Exception as exc:  # a history that cannot be replayed must not cost the per-file checks
        log.exception("migration history replay failed")
        ctx.note(f"migration history could not be replayed ({type(exc).__name__}); files were checked alone")
        models = {}
    env.lock_waits = _review_lock_waits(targets, models, env)
    for changed in targets:
        check_deadline()
        try:
            findings.extend(_analyze_file(ctx, changed.path, models.get(changed.path), env))
        except Exception as exc:  # one file's bug must not lose the other files' findings
            log.exception("migration analysis failed on %s", changed.path)
            ctx.note(f"internal error analysing {changed.path} ({type(exc).__name__}); its findings are missing")
    return findings


def _reviewed(changed: ChangedFile) -> bool:
    if changed.status is FileStatus.DELETED or not is_migration_sql(changed.path):
        return False
    # A moved migrations folder whose directory keeps its name: Prisma keys applied migrations by name, so this is
    # the migration every database already ran, not a new one (an edit of its SQL is edited-applied-migration's).
    return not (changed.status is FileStatus.RENAMED and changed.old_path is not None
                and migration_name(changed.old_path) == migration_name(changed.path))


def _review_lock_waits(targets: list, models: dict[str, MigrationModel], env: Env  # type: ignore[type-arg]
                       ) -> dict[str, list[locking.LockWait]]:
    """The lock_timeout reminder is said once per review: the first migration (in deploy order) that waits for a lock
    on a table with data carries every file's waits; the others carry none."""
    out: dict[str, list[locking.LockWait]] = {}
    merged: list[locking.LockWait] = []
    first: str | None = None
    for changed in sorted(targets, key=lambda c: migration_name(c.path)):
        out[changed.path] = []
        model = models.get(changed.path)
        if model is None or not model.parsed.ok:
            continue
        waits = locking.lock_waits(model, env)
        if waits and first is None:
            first = changed.path
        merged.extend(waits)
    if first is not None:
        out[first] = merged
    return out


def _analyze_file(ctx: ReviewContext, path: str, model: MigrationModel | None, env: Env) -> list[Finding]:
    parsed = parsed_migration(ctx, path)
    if parsed is None:
        return []
    if parsed.oversized:
        ctx.not_analysed(path, parsed.skipped or "over the size limit")
        return []
    if parsed.skipped:
        ctx.note(parsed.skipped)
        return []
    if parsed.error is not None:
        return [parse_error.finding(parsed)]
    if model is None:
        from bot.sql.state import Catalog, walk

        model = walk(parsed, Catalog())
        env = replace(env, lock_waits=None)  # not part of the review's replay: its own reminder
    findings = file_findings(model, env)
    ctx.facts.setdefault("locks", []).extend(lock_facts(model))
    return findings


def file_findings(model: MigrationModel, env: Env | None = None) -> list[Finding]:
    """Every finding for one modelled file (pure: no context needed; benchmarks and tests call it directly)."""
    env = env or Env()
    hits: list[Hit] = []
    for check in CHECKS:
        hits.extend(check(model, env))
    kept = arbitrate(hits)
    covered = {c for h in kept for c in h.covers}
    findings = [to_finding(model, h) for h in kept]
    header_end = min((s.line for s in model.parsed.statements), default=1) - 1
    findings.extend(prisma_header.findings(model.parsed, prisma_header.uncovered(model, covered),
                                           header_end))
    return findings


def arbitrate(hits: list[Hit]) -> list[Hit]:
    """One hit per (statement, subject); a Prisma enum dance or a rename replaces what it consumes."""
    consumed: set[int] = set()
    replaced: set[tuple[int, str]] = set()
    for h in hits:
        if h.consumes:
            consumed |= h.consumes
        replaced |= h.replaces
    kept: dict[tuple[int, str], Hit] = {}
    order: list[tuple[int, str]] = []
    for h in hits:
        slot = (h.stmt.index, h.subject)
        if h.stmt.index in consumed and not h.consumes:
            continue
        if slot in replaced and not h.replaces:
            continue
        if slot in kept:
            first = kept[slot]
            if h.short and h.short not in first.message:
                first.message = f"{first.message} Also: {h.short}."
            first.covers.extend(h.covers)
            continue
        kept[slot] = h
        order.append(slot)
    out: list[Hit] = []
    by_stmt: dict[int, Hit] = {}
    for slot in order:
        h = kept[slot]
        if not h.file_level and h.stmt.index not in by_stmt:
            by_stmt[h.stmt.index] = h
    for slot in order:
        h = kept[slot]
        host = by_stmt.get(h.stmt.index)
        if h.file_level and host is not None:
            host.message = f"{host.message} Also: {h.short}."
            continue
        out.append(h)
    return out


def to_finding(model: MigrationModel, h: Hit) -> Finding:
    last = h.end_stmt or h.stmt
    return h.rule.finding(
        model.path, h.stmt.line, h.message,
        end_line=max(last.end_line, h.stmt.end_line),
        severity=h.severity,
        key=h.key or f"{h.rule.id} {h.subject}",
        scope=(h.stmt.line, max(last.end_line, h.stmt.end_line)),
        suggestion=h.suggestion,
    )


def lock_facts(model: MigrationModel) -> list[dict[str, object]]:
    """The lock table for the PR summary: one row per statement and table that already holds data."""
    rows: list[dict[str, object]] = []
    for st in model.ops:
        for table, mode in st.locks:
            if mode == L.ROW_EXCLUSIVE:
                continue
            rows.append({
                "path": model.path, "line": st.op.stmt.line, "statement": st.op.stmt.short, "lock": mode,
                "blocks": L.BLOCKS[mode], "table": table,
                "held_until": "end of file" if st.in_transaction else "end of statement",
            })
    seen: set[tuple[object, ...]] = set()
    out = []
    for r in rows:
        ident = (r["line"], r["table"], r["lock"])
        if ident not in seen:
            seen.add(ident)
            out.append(r)
    return out


def build_env(ctx: ReviewContext) -> Env:
    env = Env()
    if ctx.surfaces.schema:
        # The schema analyzer runs on this change too, and the twins are its rules: importing its family registers
        # them (a test keeps every twin in that family), without the rest of the registry.
        import bot.checks.schema  # noqa: F401

        rules = RULES
        for mine, twins in design.SCHEMA_TWINS.items():
            if any(t in rules for t in twins):
                env.deferred.add(mine)
    env.type_options = dict(ctx.options(design.NEW_TABLE_TYPES))
    env.prisma_level_defaults = _prisma_level_defaults(ctx)
    env.small_tables, env.large_tables = _table_sizes(ctx)
    try:
        from bot.checks.change.prisma_version import prisma_version, splits_statements

        env.prisma = prisma_version(ctx)
        env.splits_statements = splits_statements(ctx)
    except Exception:  # the version is optional context: messages then cover both behaviours
        log.exception("prisma version detection failed")
    return env


def _table_sizes(ctx: ReviewContext) -> tuple[set[str], set[str]]:
    """(small, large) tables by the base branch's dbreview-stats.json, named the way the SQL names them."""
    from bot.trace.stats import LARGE_BYTES, LARGE_ROWS, SMALL_BYTES, SMALL_ROWS, load_stats

    try:
        stats = load_stats(ctx.change.base)
    except Exception:  # an unreadable stats file only costs the size-aware wording
        log.exception("dbreview-stats.json could not be read")
        return set(), set()
    if stats is None:
        return set(), set()
    small: set[str] = set()
    large: set[str] = set()
    for name, t in stats.tables.items():
        size = t.total_bytes or t.bytes
        if t.rows < SMALL_ROWS and size < SMALL_BYTES:
            small.add(name)
        elif t.rows >= LARGE_ROWS or size >= LARGE_BYTES:
            large.add(name)
    return small, large


def _prisma_level_defaults(ctx: ReviewContext) -> set[tuple[str, str]]:
    """(table, column) of fields whose @default is computed by Prisma Client (uuid(), cuid(), nanoid(), ulid())."""
    try:
        from bot.prisma.load import schema_at

        loaded = schema_at(ctx, "head")
        schema = loaded.schema if loaded is not None else None
    except Exception:  # the schema is optional context here
        return set()
    out: set[tuple[str, str]] = set()
    if schema is None:
        return out
    for model in schema.models.values():
        for f in model.fields:
            text = (getattr(f, "default_text", None) or "").replace(" ", "")
            if text.startswith(("uuid(", "cuid(", "nanoid(", "ulid(")):
                out.add((model.db_name or model.name, f.db_name or f.name))
    return out
