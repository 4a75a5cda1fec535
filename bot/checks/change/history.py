"""Migration history: committed migrations edited, deleted or renamed, and new migrations that sort too early.

Prisma (up to v7) keeps, per database, the name and SHA-256 checksum of every migration it applied. `migrate deploy`
applies each directory whose name is not recorded yet, in name order, and never re-runs a recorded one; `migrate dev`
compares checksums and names and offers to reset the database when they disagree. So a migration already on the
base branch is frozen: editing it changes nothing on databases that ran it (only fresh ones), deleting it leaves
them with objects no fresh database gets, and renaming its directory makes every existing database run it again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.change import ChangedFile, FileStatus
from bot.context import ReviewContext
from bot.findings import Finding, Severity, Side, Surface
from bot.registry import define

from .migration_dirs import (
    MigrationIndex,
    MigrationScript,
    changed_scripts,
    guarded,
    migration_index,
    normalise_newlines,
)

EDITED = define(
    "migration/edited-applied-migration",
    Severity.ERROR,
    Surface.MIGRATION,
    "A migration that is already on the base branch was edited",
)
DELETED = define(
    "migration/deleted-applied-migration",
    Severity.ERROR,
    Surface.MIGRATION,
    "A migration that is already on the base branch was deleted",
)
RENAMED = define(
    "migration/renamed-applied-migration",
    Severity.ERROR,
    Surface.MIGRATION,
    "The directory of a migration that is already on the base branch was renamed",
)
OUT_OF_ORDER = define(
    "migration/out-of-order",
    Severity.INFO,
    Surface.MIGRATION,
    "A new migration directory sorts before the newest migration on the base branch",
)

INCOMPLETE = define(
    "migration/incomplete-migration-directory",
    Severity.ERROR,
    Surface.MIGRATION,
    "A new folder in the migrations folder without a migration.sql, or SQL Prisma never runs",
)
PROVIDER = define(
    "migration/provider-mismatch",
    Severity.ERROR,
    Surface.MIGRATION,
    "migration_lock.toml and the schema's datasource name different databases, or the history was written for another",
)

_TIMESTAMP = re.compile(r"^(\d{14})_(.+)$")
_IDENT = r'(?:"[^"]+"|\w+)(?:\.(?:"[^"]+"|\w+))?'
_TABLE_LIFECYCLE = re.compile(rf"\b(?:CREATE|DROP)\s+TABLE\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?({_IDENT})", re.I)
_RENAME_TABLE = re.compile(rf"\bALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?({_IDENT})\s+RENAME\s+TO\b", re.I)
# ADD/DROP/ALTER/RENAME COLUMN "c" (and RENAME ... TO "d"), ADD/DROP/RENAME CONSTRAINT "k".
_COLUMN_OBJECT = re.compile(
    r'\b(?:(?:ADD|DROP|ALTER|RENAME)\s+(?:COLUMN|CONSTRAINT)\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?("[^"]+"|\w+)'
    r'|\bTO\s+("[^"]+"))', re.I)
_INDEX_COLUMNS = re.compile(rf"\bINDEX\b[^;]*?\bON\s+(?:ONLY\s+)?({_IDENT})[^(;]*\(([^;]*)\)", re.I)
_TYPE_CHANGE = re.compile(rf"\b(?:CREATE|ALTER|DROP)\s+TYPE\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?({_IDENT})", re.I)
_TOUCHED_TABLE = re.compile(
    r'\b(?:TABLE|ON|INTO|UPDATE|DELETE\s+FROM)\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?(?:ONLY\s+)?'
    r'((?:"[^"]+"|\w+)(?:\.(?:"[^"]+"|\w+))?)',
    re.I,
)


def _check(ctx: ReviewContext) -> list[Finding]:
    if not ctx.surfaces.migrations and not ctx.surfaces.schema and not _under_roots(ctx):
        return []  # history and provider findings need a changed migration, lock file or schema
    index = migration_index(ctx)
    if not index.roots:
        return []
    entries = changed_scripts(ctx)
    findings: list[Finding] = []
    renames = _renames(ctx, entries)
    renamed_files = {id(c) for pair in renames for c in pair}
    squashed = _squashed_roots(index)
    retired = _retired_roots(ctx, index, [(c, b) for c, b, _ in entries if c.status is FileStatus.DELETED
                                          and b is not None and id(c) not in renamed_files])

    for changed, base, head in entries:
        if changed.status is FileStatus.MODIFIED and base is not None:
            finding = _edited(ctx, changed, base)
            if finding is not None:
                findings.append(finding)
        elif changed.status is FileStatus.RENAMED and base is not None:
            if head is not None and head.name == base.name:
                # The migrations folder moved, the directory kept its name: Prisma keys applied migrations by
                # name (and checksum), so only an edit of the SQL matters.
                finding = _edited(ctx, changed, base)
                if finding is not None:
                    findings.append(finding)
                continue
            findings.append(_renamed(ctx, changed, base, head))
        elif changed.status is FileStatus.DELETED and base is not None and id(changed) not in renamed_files:
            if base.root in squashed or base.root in retired:
                continue
            findings.append(_deleted(changed, base))
    for deleted, added in renames:
        before, after = _script_of(deleted, index, base=True), _script_of(added, index)
        if before is not None and after is not None and before.name == after.name:
            continue  # same directory name under a moved migrations folder, same SQL: Prisma sees no change
        findings.append(_renamed(ctx, added, before, after))
    for root in squashed:
        findings.append(_squash(ctx, index, root))
    for root in retired:
        findings.append(_retire(ctx, index, root))

    findings.extend(_out_of_order(ctx, index, entries, renamed_files, squashed))
    findings.extend(_provider(ctx, index))
    findings.extend(_incomplete(ctx, index))
    return findings


# -- edited -------------------------------------------------------------------------------------------------------


def _edited(ctx: ReviewContext, changed: ChangedFile, base: MigrationScript) -> Finding | None:
    old = ctx.change.base_text(base.path)
    new = ctx.change.head_text(changed.path)
    if old is not None and new is not None and normalise_newlines(old) == normalise_newlines(new):
        return None  # line endings only: Prisma's checksum comparison accepts both
    what = "comments only" if old is not None and new is not None and _strip_comments(old) == _strip_comments(new) \
        else "its SQL"
    line, side = _first_changed_line(changed)
    message = (
        f"Migration `{base.name}` is already on the base branch and this change edits {what}. Prisma recorded its "
        "checksum on every database that applied it: `migrate deploy` will not run the new text there (only fresh "
        "databases get it, so environments drift apart), and `prisma migrate dev` reports the migration as modified "
        "and offers to reset the development database. Restore the file exactly as it is on the base branch and put "
        "the change in a new migration (`prisma migrate dev --create-only --name <fix>`)."
    )
    if what == "comments only":
        message += " Even a comment edit changes the checksum."
    return EDITED.finding(changed.path, line, message, side=side, key=f"{base.root}/{base.name}",
                          caused_by_change=True, extra={"migration": base.name})


def _strip_comments(sql: str) -> str:
    sql = re.sub(r"/\*.*?\*/", "", sql, flags=re.S)
    sql = re.sub(r"--[^\n]*", "", sql)
    return " ".join(sql.split())


def _first_changed_line(changed: ChangedFile) -> tuple[int, Side]:
    if changed.added_lines:
        return min(changed.added_lines), Side.NEW
    if changed.deleted_lines:
        return min(changed.deleted_lines), Side.OLD
    return 1, Side.NEW


# -- deleted / renamed / squashed ---------------------------------------------------------------------------------


def _deleted(changed: ChangedFile, base: MigrationScript) -> Finding:
    message = (
        f"Migration `{base.name}` is already on the base branch and this change deletes it. Databases that applied it "
        "keep its changes while fresh databases (CI, new environments, `migrate reset`) no longer get them, and "
        "`prisma migrate dev` reports a migration applied to the database but missing from the migrations folder and "
        "offers to reset. Keep the directory; to undo what it did, add a new migration that reverts it."
    )
    return DELETED.finding(changed.path, 1, message, side=Side.OLD, key=f"{base.root}/{base.name}",
                           caused_by_change=True, extra={"migration": base.name})


def _renamed(ctx: ReviewContext, changed: ChangedFile, base: MigrationScript | None,
             head: MigrationScript | None) -> Finding:
    old_name = base.name if base else (changed.old_path or "?")
    new_name = head.name if head else changed.path
    edited = ""
    if changed.status is FileStatus.RENAMED and (changed.added_lines or changed.deleted_lines):
        edited = " (and edits it)"
    message = (
        f"This change renames migration directory `{old_name}` to `{new_name}`{edited}, but `{old_name}` is already "
        f"on the base branch. Prisma identifies a migration by its directory name, so `migrate deploy` sees "
        f"`{new_name}` as new and runs its SQL a second time on every database that already applied `{old_name}` "
        "(it fails on `CREATE TABLE`/`ADD COLUMN`, or silently repeats data changes). Keep the original directory "
        "name; to change the order, add a new migration instead."
    )
    return RENAMED.finding(changed.path, 1, message, key=f"{base.root if base else ''}/{old_name}",
                           caused_by_change=True, extra={"from": old_name, "to": new_name})


def _script_of(changed: ChangedFile, index: MigrationIndex, *, base: bool = False) -> MigrationScript | None:
    from .migration_dirs import split_script_path

    path = changed.base_path if base else changed.head_path
    return split_script_path(path, index.roots) if path else None


def _renames(ctx: ReviewContext, entries: list[tuple[ChangedFile, MigrationScript | None, MigrationScript | None]]
             ) -> list[tuple[ChangedFile, ChangedFile]]:
    """Deleted + added script pairs with the same text: a directory rename the diff did not detect."""
    deleted = [(c, b) for c, b, _ in entries if c.status is FileStatus.DELETED and b is not None]
    added = [(c, h) for c, _, h in entries if c.status is FileStatus.ADDED and h is not None]
    if not deleted or not added:
        return []
    added_by_text: dict[str, list[ChangedFile]] = {}
    for changed, _ in added:
        text = ctx.change.head_text(changed.path)
        if text is not None and text.strip():
            added_by_text.setdefault(normalise_newlines(text).strip(), []).append(changed)
    pairs: list[tuple[ChangedFile, ChangedFile]] = []
    for changed, _ in deleted:
        text = ctx.change.base_text(changed.path)
        if text is None:
            continue
        candidates = added_by_text.get(normalise_newlines(text).strip())
        if candidates:
            pairs.append((changed, candidates.pop(0)))
    return pairs


def _squashed_roots(index: MigrationIndex) -> list[str]:
    """Roots where every base migration is gone and new ones replace them (Prisma's documented squash)."""
    out: list[str] = []
    for root in index.roots:
        base, head = index.base.get(root, set()), index.head.get(root, set())
        if head and not (base & head) and (len(base) >= 2 or (base and any(_BASELINE.search(n) for n in head))):
            out.append(root)
    return out


# Prisma's baselining guide names the migration `0_init`; teams also write `..._baseline` or `..._init`. With such a
# name, even a single replaced migration is a squash, not a deletion plus an out-of-order migration.
_BASELINE = re.compile(r"^0+_|baseline|(?:^|_)init$", re.I)


def _retired_roots(ctx: ReviewContext, index: MigrationIndex,
                   deleted: list[tuple[ChangedFile, MigrationScript]]) -> list[str]:
    """Migrations folders the change deletes whole, migration_lock.toml included (umami dropping MySQL): one
    decision about one history, said once rather than as one error per migration. A moved folder is not one."""
    head_dirs = set(ctx.surfaces.head_layout.migration_dirs)
    gone: dict[str, set[str]] = {}
    for _, script in deleted:
        gone.setdefault(script.root, set()).add(script.name)
    return [root for root, names in sorted(gone.items())
            if len(names) >= 2 and names == index.base.get(root) and not index.head.get(root) and root not in head_dirs]


def _retire(ctx: ReviewContext, index: MigrationIndex, root: str) -> Finding:
    names = sorted(index.base[root])
    first = MigrationScript(root, names[0])
    message = (
        f"This change deletes the whole migrations folder `{root}` ({len(names)} applied migrations and its "
        "migration_lock.toml). Databases deployed from it keep their schema but get no further migrations from this "
        "repository, and `prisma migrate deploy` can no longer build a fresh one. If that database is retired, "
        "nothing else is needed; if another folder takes over, mark its migrations as applied on those databases "
        "(`prisma migrate resolve --applied <name>`) before deploying."
    )
    return DELETED.finding(first.path, 1, message, severity=Severity.WARNING, side=Side.OLD, key=f"{root}:retired",
                           caused_by_change=True, extra={"retired": len(names)})


def _squash(ctx: ReviewContext, index: MigrationIndex, root: str) -> Finding:
    base, head = sorted(index.base[root]), sorted(index.head[root])
    first = MigrationScript(root, head[0])
    replaced = f"all {len(base)} committed migrations" if len(base) > 1 else "the committed migration"
    message = (
        f"This change replaces {replaced} in `{root}` with {len(head)} new one(s) (a "
        "squash). Every existing database has the old names recorded, so `migrate deploy` would run "
        f"`{head[0]}` from scratch and fail. Before deploying, mark the new migration(s) as applied on every "
        f"existing database: `prisma migrate resolve --applied {head[0]}`, and check with `prisma migrate diff` "
        "that the squashed SQL produces exactly the current schema."
    )
    return DELETED.finding(first.path, 1, message, severity=Severity.WARNING, key=f"{root}:squash",
                           caused_by_change=True, extra={"squashed": len(base)})


# -- out of order -------------------------------------------------------------------------------------------------


def _out_of_order(ctx: ReviewContext, index: MigrationIndex,
                  entries: list[tuple[ChangedFile, MigrationScript | None, MigrationScript | None]],
                  renamed_files: set[int], squashed: list[str]) -> list[Finding]:
    findings: list[Finding] = []
    new_names: dict[str, list[str]] = {}
    for changed, _, head in entries:
        if head is not None and changed.status is FileStatus.ADDED:
            new_names.setdefault(head.root, []).append(head.name)
    last_name: dict[str, str] = {}
    for changed, _, head in sorted(entries, key=lambda e: e[2].name if e[2] else ""):
        if head is None or changed.status is not FileStatus.ADDED or id(changed) in renamed_files:
            continue
        if head.root in squashed:
            continue
        newest = index.newest_at_base(head.root)
        if newest is None or head.name >= newest or head.name in index.base.get(head.root, set()):
            continue
        later = sorted(n for n in index.base.get(head.root, set()) if n > head.name)
        overlap = _overlap(ctx, head, [MigrationScript(head.root, n) for n in later[-20:]])
        # Out-of-order migrations of one change keep their relative order after the newest name.
        suggestion = _suggest_name(head.name, last_name.get(head.root) or max([newest, *new_names.get(head.root, [])]))
        last_name[head.root] = suggestion
        message = (
            f"New migration `{head.name}` sorts before `{newest}`, the newest migration on the base branch "
            f"({len(later)} committed migration(s) sort after it). `migrate deploy` runs it after them on databases "
            "that already applied them, but before them on a fresh database"
        )
        if overlap.conflicts:
            message += (f", and the order matters here: both it and a later migration change "
                        f"{', '.join(f'`{t}`' for t in overlap.conflicts[:4])}, so a fresh database can fail or end "
                        "up different.")
        elif overlap.tables:
            message += (f". Both touch {', '.join(f'`{t}`' for t in overlap.tables[:4])} but not the same columns, "
                        "indexes or types, so either order gives the same schema; keep the history in order anyway.")
        else:
            message += (". It shares no table or type with them, so either order gives the same schema; keep the "
                        "history in order anyway.")
        message += f" Rename the directory so it sorts last, e.g. `{suggestion}`."
        findings.append(OUT_OF_ORDER.finding(head.path, 1, message, key=f"{head.root}/{head.name}",
                                             severity=Severity.ERROR if overlap.conflicts else None,
                                             caused_by_change=True,
                                             extra={"newest_at_base": newest, "suggested_name": suggestion}))
    return findings


def _suggest_name(name: str, newest: str) -> str:
    match = _TIMESTAMP.match(name)
    label = match.group(2) if match else name
    newest_match = _TIMESTAMP.match(newest)
    if newest_match:
        digits = newest_match.group(1)
        try:
            stamp = datetime.strptime(digits, "%Y%m%d%H%M%S").replace(tzinfo=UTC) + timedelta(seconds=1)
        except ValueError:
            # a name that only looks like a timestamp (`20241126252000`: hour 25); Prisma sorts names as text, so
            # the next number sorts last all the same
            return f"{str(int(digits) + 1).zfill(len(digits))}_{label}"
        return f"{stamp.strftime('%Y%m%d%H%M%S')}_{label}"
    return f"{newest}_{label}"


def _tables(sql: str) -> set[str]:
    sql = re.sub(r"--[^\n]*", "", sql)
    out: set[str] = set()
    for match in _TOUCHED_TABLE.finditer(sql):
        name = _unquote(match.group(1))
        if name.upper() not in {"SELECT", "TABLE", "ONLY", "COLUMN", "CONFLICT", "DELETE", "UPDATE"}:
            out.add(name)
    return out


def _unquote(name: str) -> str:
    return name.split(".")[-1].strip('"')


@dataclass(frozen=True)
class _Objects:
    """What one migration's SQL changes, as far as the order of two migrations is concerned."""

    tables: frozenset[str]  # every table it touches
    lifecycle: frozenset[str]  # tables it creates, drops or renames: any other use of them depends on the order
    columns: frozenset[str]  # `table.column` (and `table.constraint`) it adds, drops, alters, renames or indexes
    types: frozenset[str]  # types it creates, alters or drops
    names: frozenset[str]  # every quoted identifier (a type used by a column)


def _objects(sql: str) -> _Objects:
    sql = re.sub(r"--[^\n]*", "", sql)
    lifecycle: set[str] = set()
    columns: set[str] = set()
    for statement in sql.split(";"):
        touched = [_unquote(m.group(1)) for m in _TOUCHED_TABLE.finditer(statement)]
        lifecycle.update(_unquote(m.group(1)) for m in _TABLE_LIFECYCLE.finditer(statement))
        lifecycle.update(_unquote(m.group(1)) for m in _RENAME_TABLE.finditer(statement))
        if not touched:
            continue
        table = touched[0]
        named = [m.group(1) or m.group(2) for m in _COLUMN_OBJECT.finditer(statement)]
        index_on = _INDEX_COLUMNS.search(statement)
        if index_on:
            table = _unquote(index_on.group(1))
            named += re.findall(r'"([^"]+)"', index_on.group(2))
        columns.update(f"{table}.{_unquote(n)}" for n in named if n)
    return _Objects(tables=frozenset(_tables(sql)), lifecycle=frozenset(lifecycle), columns=frozenset(columns),
                    types=frozenset(_unquote(m.group(1)) for m in _TYPE_CHANGE.finditer(sql)),
                    names=frozenset(re.findall(r'"([^"]+)"', sql)))


@dataclass(frozen=True)
class _Overlap:
    tables: list[str]  # tables both touch
    conflicts: list[str]  # what both change where the order matters (sorted, as shown)


def _overlap(ctx: ReviewContext, new: MigrationScript, later: list[MigrationScript]) -> _Overlap:
    """Whether the new migration and the later committed ones commute: ADD COLUMN "a" and ADD COLUMN "b" on one
    table give the same schema in either order, a column (or index, constraint, type) both change, or a table one of
    them creates, drops or renames, does not."""
    text = ctx.change.head_text(new.path)
    if not text:
        return _Overlap([], [])
    mine = _objects(text)
    tables: set[str] = set()
    conflicts: set[str] = set()
    for script in later:
        other_text = ctx.change.base_text(script.path)
        if not other_text:
            continue
        other = _objects(other_text)
        shared = mine.tables & other.tables
        tables |= shared
        conflicts |= shared & (mine.lifecycle | other.lifecycle)
        conflicts |= mine.columns & other.columns
        conflicts |= (mine.types & other.names) | (other.types & mine.names)
    return _Overlap(sorted(tables), sorted(conflicts))


# -- incomplete directories / stray SQL -----------------------------------------------------------------------------


def _under_roots(ctx: ReviewContext) -> bool:
    roots = set(ctx.surfaces.head_layout.migration_dirs) | set(ctx.surfaces.base_layout.migration_dirs)
    return any(c.path.startswith(f"{r}/") for c in ctx.change.files for r in roots)


def _incomplete(ctx: ReviewContext, index: MigrationIndex) -> list[Finding]:
    findings: list[Finding] = []
    reported: set[str] = set()
    for changed in ctx.change.files:
        if changed.status not in (FileStatus.ADDED, FileStatus.RENAMED):
            continue
        root = next((r for r in index.roots if changed.path.startswith(f"{r}/")), None)
        if root is None:
            continue
        parts = changed.path[len(root) + 1:].split("/")
        if len(parts) == 1:
            if parts[0].lower().endswith(".sql"):
                findings.append(INCOMPLETE.finding(changed.path, 1, (
                    f"`{parts[0]}` sits directly in `{root}`, where Prisma only looks at folders: `migrate deploy` "
                    "never runs it. Put it in a migration folder of its own as "
                    f"`{root}/<timestamp>_<name>/migration.sql` (`npx prisma migrate dev --create-only` makes one), "
                    "or move it out of the migrations folder."), severity=Severity.WARNING,
                    key=f"{changed.path}:stray", caused_by_change=True))
            continue
        name = parts[0]
        if name in index.head.get(root, set()) or name in reported:
            continue
        if any(n.startswith(f"{root}/{name}/") for n in _base_paths(ctx, root)):
            continue
        reported.add(name)
        findings.append(INCOMPLETE.finding(changed.path, 1, (
            f"`{root}/{name}/` is a new folder without a `migration.sql`. Prisma treats every folder in `{root}` "
            "as a migration, so `migrate deploy` stops with P3015 (\"Could not find the migration file at "
            "migration.sql\") and nothing after it is applied. Name the SQL file `migration.sql`, or keep other "
            "files outside the migrations folder."), key=f"{root}/{name}:incomplete", caused_by_change=True))
    return findings


def _base_paths(ctx: ReviewContext, root: str) -> list[str]:
    def build() -> list[str]:
        try:
            return [p for p in ctx.change.base.list_files() if p.startswith(f"{root}/")]
        except Exception:
            return []

    return ctx.memo(("change", "base-paths", root), build)


# -- provider -----------------------------------------------------------------------------------------------------

_LOCK_PROVIDER = re.compile(r'^\s*provider\s*=\s*"([^"]+)"', re.M)
_DATASOURCE_PROVIDER = re.compile(r'datasource\s+\w+\s*\{[^}]*?\bprovider\s*=\s*"([^"]+)"', re.S)


def _normalise_provider(provider: str) -> str:
    return "postgresql" if provider == "postgres" else provider


def _provider(ctx: ReviewContext, index: MigrationIndex) -> list[Finding]:
    touched = {c.path for c in ctx.change.files} | {c.old_path for c in ctx.change.files if c.old_path}
    findings: list[Finding] = []
    for root in index.roots:
        lock_path = f"{root}/migration_lock.toml"
        head_lock = ctx.change.head_text(lock_path)
        if head_lock is None:
            continue
        lock_match = _LOCK_PROVIDER.search(head_lock)
        if lock_match is None:
            continue
        lock_provider = _normalise_provider(lock_match.group(1))
        lock_line = head_lock[: lock_match.start(1)].count("\n") + 1
        schema_path, schema_provider, schema_line = _schema_provider(ctx, root)
        if schema_provider is not None and schema_provider != lock_provider and (
                lock_path in touched or schema_path in touched):
            on_lock = lock_path in touched
            findings.append(PROVIDER.finding(
                lock_path if on_lock else schema_path, lock_line if on_lock else schema_line, (
                    f"`{lock_path}` records provider `{lock_provider}` but the schema's datasource says "
                    f"`{schema_provider}`: every `prisma migrate` command stops with P3019 (\"The datasource provider "
                    "… does not match the one specified in the migration_lock.toml\"). Make them agree; a real "
                    "database switch needs a new migration history (move the old folder away, run "
                    "`prisma migrate dev --name init`, then `prisma migrate resolve --applied <init>` on existing "
                    "databases)."), key=f"{root}:provider", caused_by_change=True))
            continue
        base_lock = ctx.change.base_text(lock_path)
        base_match = _LOCK_PROVIDER.search(base_lock or "")
        kept = index.base.get(root, set()) & index.head.get(root, set())
        if base_match and _normalise_provider(base_match.group(1)) != lock_provider and kept:
            findings.append(PROVIDER.finding(lock_path, lock_line, (
                f"This change switches `{lock_path}` from `{_normalise_provider(base_match.group(1))}` to "
                f"`{lock_provider}` but keeps {len(kept)} migration(s) written in the old database's SQL dialect: "
                f"`migrate deploy` on a fresh {lock_provider} database runs them and fails. Start a new history for "
                f"{lock_provider} (move the old migrations away, `prisma migrate dev --name init`)."),
                key=f"{root}:provider-switch", caused_by_change=True))
    return findings


def _schema_provider(ctx: ReviewContext, root: str) -> tuple[str, str | None, int]:
    """(path, provider, line) of the datasource of the schema next to the migrations folder."""
    layout = ctx.surfaces.head_layout
    parent = root.rsplit("/", 1)[0] if "/" in root else ""
    candidates = [p for p in layout.schema_files if p.startswith(parent + "/") or not parent] or layout.schema_files
    for path in candidates:
        text = ctx.change.head_text(path) or ""
        match = _DATASOURCE_PROVIDER.search(text)
        if match:
            return path, _normalise_provider(match.group(1)), text[: match.start(1)].count("\n") + 1
    return "", None, 1


check = guarded("history", _check)
