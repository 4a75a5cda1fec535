"""Per-file models for the migrations a change touches, built by replaying each migrations folder in order.

Replaying the history (every earlier migration.sql at head) gives each changed migration the schema it runs
against: whether a table already holds data, a column's type before ALTER COLUMN TYPE, existing indexes, enums.
Tables created by migrations this change adds count as new (they are empty when the later ones run).
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING

from bot.change import FileStatus, prefetch
from bot.sql.load import is_migration_sql, migration_name, parsed_migration
from bot.sql.state import Catalog, MigrationModel, apply_file, walk

if TYPE_CHECKING:
    from bot.context import ReviewContext


def _history_root(path: str) -> str:
    """The folder that holds the migration directories: `prisma/migrations` for `prisma/migrations/<dir>/x.sql`."""
    return posixpath.dirname(posixpath.dirname(path))


def migration_models(ctx: ReviewContext) -> dict[str, MigrationModel]:
    """path -> MigrationModel for every changed (not deleted) migration file, computed once per review."""
    return ctx.memo("sql.migration_models", lambda: _build(ctx))


def _build(ctx: ReviewContext) -> dict[str, MigrationModel]:
    changed = {f.path: f for f in ctx.surfaces.migrations
               if f.status is not FileStatus.DELETED and is_migration_sql(f.path)}
    roots: dict[str, list[str]] = {}
    for path in changed:
        roots.setdefault(_history_root(path), [])
    listing = ctx.change.head.list_files()
    for p in listing:
        if is_migration_sql(p) and _history_root(p) in roots:
            roots[_history_root(p)].append(p)
    # The replay reads every migration of these folders: fetched from git in one batch, not one round trip each.
    prefetch(ctx.change.head, [p for files in roots.values() for p in files])
    models: dict[str, MigrationModel] = {}
    # Prisma before 7.4.0 runs a multi-statement file as one transaction; later releases split it. When the
    # version is unknown, assume the transaction: the warnings it produces are the ones that cost an outage.
    from bot.checks.change.prisma_version import splits_statements

    implicit_transaction = splits_statements(ctx) is not True
    for _root, files in roots.items():
        catalog = Catalog()
        fresh: set[str] = set()
        fresh_columns: set[tuple[str, str]] = set()
        fresh_indexes: set[str] = set()
        for path in sorted(set(files) | {p for p in changed if _history_root(p) == _root}, key=migration_name):
            parsed = parsed_migration(ctx, path)
            if parsed is None:
                continue
            if path in changed:
                model = walk(parsed, catalog, frozenset(fresh), implicit_transaction=implicit_transaction,
                             fresh_columns=frozenset(fresh_columns), fresh_indexes=frozenset(fresh_indexes))
                models[path] = model
                if changed[path].status is FileStatus.ADDED:
                    # what a migration this change adds creates is new to the ones after it: empty, unknown to
                    # the code running before the deploy
                    fresh |= model.created_tables
                    fresh_columns |= model.created_columns
                    fresh_indexes |= model.created_indexes
            else:
                apply_file(parsed, catalog)
    return models
