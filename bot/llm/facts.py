"""Facts about the project a reviewer weighs a database change against, gathered from what the analyzers know.

- the database provider and the Prisma version (from the lockfile or package.json, as the change checks read it);
- the PostgreSQL version, when the repository says it (`server_version` in dbreview-stats.json, or the `postgres`
  image in a compose file);
- row counts and sizes of the tables the change touches (dbreview-stats.json, read from the base branch);
- the recent migrations that touched the same tables (a column added last week and dropped today is a story);
- code outside the change that still uses what the change drops or renames (the query analyzer's
  dropped-column scan, reused through its findings).

Everything here is pure: it reads the change's snapshots and the rule findings, never the network.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from bot.context import ReviewContext
from bot.findings import Finding

RECENT_MIGRATIONS_SCANNED = 40
RECENT_MIGRATIONS_SHOWN = 6
MAX_DROPPED_USES = 15
DROPPED_USE_RULE = "query/dropped-column-used"
_COMPOSE_FILES = ("docker-compose.yml", "docker-compose.yaml", "compose.yml", "compose.yaml",
                  "docker/docker-compose.yml", "docker-compose.dev.yml")
_PG_IMAGE = re.compile(r"image:\s*[\"']?(?:[\w.-]+/)*(?:postgres|postgresql|postgis)(?:[:@](\d+)(?:\.\d+)?)",
                       re.I)


@dataclass(frozen=True)
class TableFact:
    name: str
    rows: int
    bytes: int


@dataclass(frozen=True)
class RecentMigration:
    name: str
    operations: tuple[str, ...]  # "add_column orders.paidAt", ...


@dataclass
class ProjectFacts:
    provider: str = ""
    prisma: str = ""
    postgres: str = ""
    tables: list[TableFact] = field(default_factory=list)
    recent: list[RecentMigration] = field(default_factory=list)
    stats_source: str = ""

    def key_for(self, names: set[str]) -> str:
        """The facts one hunk's review depends on (the versions, and the sizes and history of its own tables), for
        the result cache key: a hunk touching another table must not invalidate this one."""
        wanted = {n.lower() for n in names}
        parts = [self.provider, self.prisma, self.postgres]
        parts += [f"{t.name}:{t.rows}:{t.bytes}" for t in self.tables if t.name.lower() in wanted]
        for migration in self.recent:
            tables = {op.split(" ", 1)[-1].split(".", 1)[0].lower() for op in migration.operations}
            if tables & wanted:
                parts.append(f"{migration.name}:{','.join(migration.operations)}")
        return "\x1d".join(parts)

    def render(self) -> str:
        lines: list[str] = []
        stack = [part for part in (
            f"database provider `{self.provider}`" if self.provider else "",
            f"Prisma {self.prisma}" if self.prisma else "",
            f"PostgreSQL {self.postgres}" if self.postgres else "") if part]
        if stack:
            lines.append("# Project\n" + "; ".join(stack) + ".")
        if self.tables:
            from bot.trace.stats import human_bytes

            rows = [f"- `{t.name}`: about {t.rows:,} rows, {human_bytes(t.bytes)}" for t in self.tables]
            lines.append(f"# Production size of the tables this change touches ({self.stats_source})\n"
                         + "\n".join(rows))
        if self.recent:
            rows = [f"- {m.name}: {', '.join(m.operations)}" for m in self.recent]
            lines.append("# Recent migrations that touched the same tables (newest last)\n" + "\n".join(rows))
        return "\n\n".join(lines)


def project_facts(ctx: ReviewContext, tables: set[str]) -> ProjectFacts:
    """`tables`: the database tables the change touches (as PostgreSQL names them, any case)."""
    facts = ProjectFacts()
    facts.provider = _provider(ctx)
    facts.prisma = _prisma(ctx)
    facts.postgres = _postgres(ctx)
    from bot.trace.stats import load_stats

    stats = load_stats(ctx.change.base)
    if stats is not None:
        facts.stats_source = stats.source
        for name in sorted(tables, key=str.lower):
            found = stats.lookup(name) or stats.lookup(name.lower())
            if found is not None:
                facts.tables.append(TableFact(name, found.rows, found.total_bytes or found.bytes))
    facts.recent = recent_migrations(ctx, tables)
    return facts


def _provider(ctx: ReviewContext) -> str:
    layout = ctx.surfaces.head_layout
    if layout.provider:
        return layout.provider
    try:
        from bot.prisma.load import schema_at

        for group in layout.schemas:
            loaded = schema_at(ctx, "head", list(group))
            if loaded is not None and loaded.schema is not None and loaded.schema.provider:
                return str(loaded.schema.provider)
    except Exception:  # the schema rules report a schema that does not load
        return ""
    return ""


def _prisma(ctx: ReviewContext) -> str:
    try:
        from bot.checks.change.prisma_version import prisma_version

        found = prisma_version(ctx)
    except Exception:  # an unreadable package.json is the change checks' concern
        return ""
    return f"{found.spec} (`{found.package}`, from `{found.source}`)" if found is not None else ""


def _postgres(ctx: ReviewContext) -> str:
    from bot.trace.stats import STATS_PATHS

    for path in STATS_PATHS:
        data = ctx.change.base.read_bytes(path)
        if data is None:
            continue
        try:
            number = int(json.loads(data.decode("utf-8", "replace")).get("server_version") or 0)
        except (ValueError, TypeError, AttributeError):
            number = 0
        if number >= 100000:
            return f"{number // 10000}.{number % 10000} (server_version in `{path}`)"
    for path in _COMPOSE_FILES:
        text = ctx.change.head_text(path)
        match = _PG_IMAGE.search(text or "")
        if match and match.group(1):
            return f"{match.group(1)} (the `postgres` image in `{path}`)"
    return ""


def recent_migrations(ctx: ReviewContext, tables: set[str]) -> list[RecentMigration]:
    """The last migrations before this change whose statements touch one of `tables`."""
    if not tables or not ctx.surfaces.migrations:
        return []
    from bot.sql.load import is_migration_sql, migration_name, parsed_migration
    from bot.sql.ops import ops_of

    wanted = {t.lower() for t in tables}
    changed = {f.path for f in ctx.surfaces.migrations}
    roots = {p.rsplit("/", 2)[0] for p in changed if p.count("/") >= 2}
    try:
        listing = ctx.change.head.list_files()
    except Exception:  # a snapshot that cannot be listed: no history, the review goes on
        return []
    history = sorted((p for p in listing if is_migration_sql(p) and p.endswith(".sql") and p not in changed
                      and p.rsplit("/", 2)[0] in roots), key=migration_name)
    found: list[RecentMigration] = []
    for path in history[-RECENT_MIGRATIONS_SCANNED:]:
        parsed = parsed_migration(ctx, path)
        if parsed is None or not parsed.ok:
            continue
        operations: list[str] = []
        for stmt in parsed.statements:
            for op in ops_of(stmt):
                table = (op.table or "").rsplit(".", 1)[-1]
                if table.lower() in wanted and op.kind != "other":
                    item = f"{op.kind} {table}" + (f".{op.column}" if op.column else "")
                    if item not in operations:
                        operations.append(item)
        if operations:
            shown = operations[:6] + ([f"and {len(operations) - 6} more"] if len(operations) > 6 else [])
            found.append(RecentMigration(migration_name(path), tuple(shown)))
    return found[-RECENT_MIGRATIONS_SHOWN:]


def dropped_uses(rule_findings: list[Finding], ctx: ReviewContext) -> list[Finding]:
    """Places that still use a field or model the change drops or renames (the query analyzer's scan).

    The pipeline's rule findings carry them when the rule is on; when a team turned it off, the scan still runs here,
    because the model needs the fact even if nobody wants the rule's comment."""
    found = [f for f in rule_findings if f.rule == DROPPED_USE_RULE]
    if found:
        return found[:MAX_DROPPED_USES]
    try:
        from bot.registry import all_rules

        rule = all_rules().get(DROPPED_USE_RULE)
        if rule is None or ctx.config.is_enabled(rule):
            return []  # it ran and found nothing
        from bot.checks.query import dropped_columns

        return dropped_columns.analyze(ctx)[:MAX_DROPPED_USES]
    except Exception:  # the query analyzer reports its own failures
        return []
