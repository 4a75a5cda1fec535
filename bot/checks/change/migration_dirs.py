"""The Prisma migration directories of both sides of a change: `<root>/<name>/migration.sql`, per migrations root.

Prisma (up to v7) lists the sub-folders of the migrations folder, sorts them by name and runs each `migration.sql`
once, recording its name and checksum in `_prisma_migrations`. The history checks reason over these names, so they
are computed here once per review (through `ctx.memo`) from the snapshots' file listings.
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from bot.change import ChangedFile, FileStatus
from bot.context import ReviewContext
from bot.findings import Finding
from bot.surfaces import foreign_migration_dirs

log = logging.getLogger("dbreview.checks.change")

SCRIPT = "migration.sql"


@dataclass(frozen=True)
class MigrationScript:
    root: str  # the migrations folder ("prisma/migrations")
    name: str  # the migration directory's name ("20240101120000_add_orders")

    @property
    def path(self) -> str:
        return f"{self.root}/{self.name}/{SCRIPT}" if self.root else f"{self.name}/{SCRIPT}"


@dataclass
class MigrationIndex:
    """Migration names per root, at base and at head."""

    base: dict[str, set[str]] = field(default_factory=dict)
    head: dict[str, set[str]] = field(default_factory=dict)

    @property
    def roots(self) -> list[str]:
        return sorted(set(self.base) | set(self.head))

    def newest_at_base(self, root: str) -> str | None:
        names = self.base.get(root)
        return max(names) if names else None


def split_script_path(path: str, roots: Iterable[str] = ()) -> MigrationScript | None:
    """The (root, name) of a `<root>/<name>/migration.sql` path, or None for any other file."""
    if posixpath.basename(path) != SCRIPT:
        return None
    directory = posixpath.dirname(path)
    root = posixpath.dirname(directory)
    name = posixpath.basename(directory)
    if not name:
        return None
    known = set(roots)
    if root in known or posixpath.basename(root) in ("migrations", "migration"):
        return MigrationScript(root, name)
    return None


def _index(paths: Iterable[str], roots: list[str], foreign: frozenset[str] = frozenset()) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for path in paths:
        # A tree lists thousands of files and few are migration scripts: the cheap test first.
        if "node_modules/" in path or not path.endswith(SCRIPT):
            continue
        script = split_script_path(path, roots)
        if script is not None and script.root not in foreign:
            out.setdefault(script.root, set()).add(script.name)
    return out


def migration_index(ctx: ReviewContext) -> MigrationIndex:
    def build() -> MigrationIndex:
        roots = sorted(set(ctx.surfaces.base_layout.migration_dirs) | set(ctx.surfaces.head_layout.migration_dirs))
        # Another tool's SQL history shaped like Prisma's (see Layout.foreign_migration_dirs) is no Prisma root.
        foreign = foreign_migration_dirs(ctx.surfaces.head_layout, ctx.surfaces.base_layout)
        base_paths = _safe_listing(ctx, head=False)
        head_paths = _safe_listing(ctx, head=True)
        # Changed files are always known even when a snapshot cannot list its tree (a bare diff).
        for changed in ctx.change.files:
            if changed.base_path:
                base_paths.add(changed.base_path)
            if changed.head_path:
                head_paths.add(changed.head_path)
            else:
                head_paths.discard(changed.path)
        for changed in ctx.change.files:
            if changed.status is FileStatus.RENAMED and changed.old_path:
                head_paths.discard(changed.old_path)
        return MigrationIndex(base=_index(base_paths, roots, foreign), head=_index(head_paths, roots, foreign))

    return ctx.memo(("change", "migration-index"), build)


def _safe_listing(ctx: ReviewContext, *, head: bool) -> set[str]:
    snapshot = ctx.change.head if head else ctx.change.base
    try:
        return set(snapshot.list_files())
    except Exception:  # a snapshot that cannot list (API outage): fall back to the changed files
        ctx.note(f"could not list the files at {'head' if head else 'base'}; migration history checks see only "
                 "the changed files")
        return set()


def changed_scripts(ctx: ReviewContext) -> list[tuple[ChangedFile, MigrationScript | None, MigrationScript | None]]:
    """Changed `migration.sql` files with their (base, head) identities; None on the side where the file is absent."""
    roots = migration_index(ctx).roots
    out: list[tuple[ChangedFile, MigrationScript | None, MigrationScript | None]] = []
    for changed in ctx.surfaces.migrations:
        base = split_script_path(changed.base_path, roots) if changed.base_path else None
        head = split_script_path(changed.head_path, roots) if changed.head_path else None
        if base is None and head is None:
            continue
        out.append((changed, base, head))
    return out


def normalise_newlines(text: str) -> str:
    """Prisma accepts a script whose only difference from the applied one is CRLF vs LF (git autocrlf)."""
    return text.replace("\r\n", "\n")


def guarded(name: str, check: Callable[[ReviewContext], list[Finding]]) -> Callable[[ReviewContext], list[Finding]]:
    """Run a change check so that its own bug costs only its findings, never the other change checks'."""

    def run(ctx: ReviewContext) -> list[Finding]:
        try:
            return check(ctx)
        except Exception as exc:  # one check's bug must not lose the other checks' findings
            log.exception("change check %s failed", name)
            ctx.note(f"internal error in the {name} check ({type(exc).__name__}); its findings are missing")
            return []

    run.__doc__ = check.__doc__
    return run
