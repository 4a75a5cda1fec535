"""Which changed files are Prisma schema, Prisma migrations, or code that calls Prisma Client.

Detection is by configuration and content first, default paths second: monorepos keep schemas in
`packages/db/prisma/…`, name the migrations folder `migration/`, or point at the schema from `package.json#prisma`
or `prisma.config.ts`. A change with no database surface gets no review.
"""

from __future__ import annotations

import fnmatch
import json
import posixpath
import re
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.change import Change, ChangedFile, FileStatus, Snapshot, decode_text, is_binary, prefetch
from bot.config import Config

QUERY_EXTENSIONS = (".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts")
_SKIP_DIRS = {"node_modules", ".git", ".next", ".turbo", ".vercel", "dist", "build", "coverage", ".output"}
# A folder of the path (never its file name) is one of _SKIP_DIRS: one regex search per path instead of splitting
# every path of the tree (a review classifies two or three snapshots of a tree of thousands of files).
_SKIPPED_DIR = re.compile(r"(?:^|/)(?:" + "|".join(re.escape(d) for d in sorted(_SKIP_DIRS)) + r")/")
_PRISMA_CONFIG_NAMES = ("prisma.config.ts", "prisma.config.mts", "prisma.config.js", "prisma.config.cjs")
# The only files whose names the layout reads; every other path of the tree is passed over with one endswith.
_LAYOUT_FILES = (".prisma", "migration_lock.toml", "migration.sql", "package.json", *_PRISMA_CONFIG_NAMES)
# Where Prisma writes its generated client: never analysed.
_GENERATED_CLIENT = re.compile(r"(^|/)(node_modules/\.prisma|node_modules/@prisma|generated/prisma|prisma/generated|"
                               r"\.prisma/client|generated/client)(/|$)")

_PRISMA_OPERATIONS = (
    "findUnique|findUniqueOrThrow|findFirst|findFirstOrThrow|findMany|create|createMany|createManyAndReturn|"
    "update|updateMany|updateManyAndReturn|upsert|delete|deleteMany|count|aggregate|groupBy"
)
# The strong signs: `@prisma/client`, `PrismaClient`, `$queryRaw`, `$executeRaw`, `$transaction(`, `Prisma.sql`
# (`.raw`, `.join`), and `prisma.<model>.<operation>(` on a usual client name. Each is looked for on its own: one
# alternation of them all has no literal prefix for the engine to skip ahead with, and took ~7x as long on real files
# (calls_prisma reads every changed TS/JS file; query/dropped-column-used every query file of the tree).
_STRONG_PRISMA_LITERALS = ("@prisma/client", "PrismaClient", "$queryRaw", "$executeRaw")
_TRANSACTION_CALL = re.compile(r"\$transaction\s*\(")
_PRISMA_SQL_HELPER = re.compile(r"\bPrisma\.(sql|raw|join)\b")
# Matched without its leading `\b` (which would hide the names' common letters from the engine's fast scan); the
# boundary is checked at each match.
_CLIENT_MODEL_CALL = re.compile(
    r"(?:prisma|db|tx|prismaService|prismaClient)\s*\.\s*[a-z]\w*\s*\.\s*(?:" + _PRISMA_OPERATIONS + r")\s*\("
)
_WORD_CHAR = re.compile(r"\w")
_WEAK_PRISMA_SIGN = re.compile(
    r"\.\s*[a-z]\w*\s*\.\s*(?:findUnique|findUniqueOrThrow|findFirst|findFirstOrThrow|findMany|createMany|"
    r"updateMany|deleteMany|upsert|groupBy|aggregate)\s*\("
)
_PRISMA_CONFIG_SCHEMA = re.compile(r"""\bschema\s*:\s*(?:path\.join\([^)]*?)?["'`]([^"'`]+)["'`]""")
_PRISMA_CONFIG_MIGRATIONS = re.compile(r"""\bmigrations\s*:\s*\{[^}]*?\bpath\s*:\s*["'`]([^"'`]+)["'`]""", re.S)


@dataclass
class Layout:
    """Where the project keeps its Prisma files, at one snapshot."""

    # Each schema is a list of .prisma files read together (one file, or a multi-file schema folder).
    schemas: list[list[str]] = field(default_factory=list)
    # Folders that hold `<timestamp>_<name>/migration.sql` directories.
    migration_dirs: list[str] = field(default_factory=list)
    provider: str | None = None  # from migration_lock.toml (the first one found)
    # Each migrations folder's own migration_lock.toml provider: one project may keep a PostgreSQL and a SQLite
    # history side by side (teable), and each folder's SQL is in its own dialect.
    providers: dict[str, str] = field(default_factory=dict)
    # Folders shaped like `migrations/<dir>/migration.sql` that are not Prisma's: no migration_lock.toml and no Prisma
    # schema beside them, in a project whose Prisma folders have one (umami's ClickHouse migrations).
    foreign_migration_dirs: list[str] = field(default_factory=list)
    # Paths named by configuration that could not be placed in the repository, said in the review's notes.
    notes: list[str] = field(default_factory=list)

    @property
    def schema_files(self) -> list[str]:
        return [p for group in self.schemas for p in group]

    def schema_group_of(self, path: str) -> list[str] | None:
        return next((group for group in self.schemas if path in group), None)

    def provider_of(self, path: str) -> str | None:
        """The provider of the migrations folder that holds `path` (the innermost one), else the project's."""
        folders = [d for d in self.providers if path.startswith(f"{d}/") or not d]
        return self.providers[max(folders, key=len)] if folders else self.provider


@dataclass
class Surfaces:
    """The change's files by surface (schema, migrations, query code), with both layouts."""

    schema: list[ChangedFile] = field(default_factory=list)
    migrations: list[ChangedFile] = field(default_factory=list)
    query: list[ChangedFile] = field(default_factory=list)
    head_layout: Layout = field(default_factory=Layout)
    base_layout: Layout = field(default_factory=Layout)
    ignored: list[str] = field(default_factory=list)
    # Files that call Prisma Client but are not analysed (bundles, huge generated files), with the reason.
    skipped: list[tuple[str, str]] = field(default_factory=list)
    # Files in migrations folders that are not Prisma's (another tool's SQL history), said in a note.
    not_prisma: list[str] = field(default_factory=list)
    # Schema and migration files (by path or configuration) that are binary: a finding says they were not read.
    unreadable: list[ChangedFile] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(self.schema or self.migrations or self.query or self.unreadable)

    def kind_of(self, path: str) -> str | None:
        for kind, files in (("schema", self.schema), ("migration", self.migrations), ("query", self.query)):
            if any(f.path == path for f in files):
                return kind
        return None


def matches_any(path: str, globs: list[str]) -> bool:
    return any(_glob_match(path, g) for g in globs)


def _glob_match(path: str, pattern: str) -> bool:
    """gitignore-ish globs: `**` crosses folders, a pattern without `/` matches the file name anywhere."""
    if "/" not in pattern:
        return fnmatch.fnmatchcase(posixpath.basename(path), pattern)
    regex = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            regex += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            regex += ".*"
            i += 2
        elif pattern[i] == "*":
            regex += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            regex += "[^/]"
            i += 1
        else:
            regex += re.escape(pattern[i])
            i += 1
    return re.fullmatch(regex, path) is not None


def _skipped_dir(path: str) -> bool:
    return _SKIPPED_DIR.search(path) is not None


def is_generated_client(path: str) -> bool:
    return bool(_GENERATED_CLIENT.search(path))


def is_query_path(path: str) -> bool:
    return (
        path.endswith(QUERY_EXTENSIONS)
        and not path.endswith((".d.ts", ".d.mts", ".d.cts", ".min.js"))
        and not _skipped_dir(path)
        and not is_generated_client(path)
    )


def calls_prisma(text: str) -> bool:
    """Whether a source file's text uses Prisma Client (import, client type, or a model call with a Prisma verb)."""
    return _strong_prisma_sign(text) or _WEAK_PRISMA_SIGN.search(text) is not None


def _strong_prisma_sign(text: str) -> bool:
    if any(literal in text for literal in _STRONG_PRISMA_LITERALS):
        return True
    if "$transaction" in text and _TRANSACTION_CALL.search(text) is not None:
        return True
    if "Prisma." in text and _PRISMA_SQL_HELPER.search(text) is not None:
        return True
    pos = 0
    while (m := _CLIENT_MODEL_CALL.search(text, pos)) is not None:
        start = m.start()
        # `\b` before the client's name, which starts with a word character: none may precede it.
        if start == 0 or _WORD_CHAR.match(text, start - 1) is None:
            return True
        pos = start + 1
    return False


def is_migration_path(path: str, layout: Layout, config: Config) -> bool:
    if config.paths.migrations and matches_any(path, config.paths.migrations):
        return True
    name = posixpath.basename(path)
    parent = posixpath.dirname(path)
    grandparent = posixpath.dirname(parent)
    if name == "migration_lock.toml":
        return True
    if name == "migration.sql":
        return (
            posixpath.basename(grandparent) in ("migrations", "migration")
            or grandparent in layout.migration_dirs
        )
    if name == "ops.json":  # Prisma 8: migrations/app/<dir>/ops.json
        return "/migrations/" in f"/{path}"
    # Any other SQL in a migrations folder (a stray file, a folder without migration.sql) is the history checks'
    # business: `prisma migrate deploy` stops on it.
    return path.endswith(".sql") and (parent in layout.migration_dirs or grandparent in layout.migration_dirs)


# One layout per snapshot and config: a review classifies the head and base snapshots, and then the base snapshot
# again as the head of the base-side review. Weak references: a long-lived App process does not keep snapshots.
_LAYOUTS: dict[int, tuple[weakref.ref[Snapshot], Config, Layout]] = {}


def detect_layout(snapshot: Snapshot, config: Config) -> Layout:
    """Where the project keeps its Prisma files at this snapshot (the result is shared: do not modify it)."""
    key = id(snapshot)
    hit = _LAYOUTS.get(key)
    if hit is not None and hit[0]() is snapshot and hit[1] is config:
        return hit[2]
    layout = _detect_layout(snapshot, config)
    try:
        ref = weakref.ref(snapshot)
    except TypeError:
        return layout
    # list() copies the items in one step: the App's worker threads may classify other reviews meanwhile.
    for stale, (r, _, _) in list(_LAYOUTS.items()):
        if r() is None:
            _LAYOUTS.pop(stale, None)
    _LAYOUTS[key] = (ref, config, layout)
    return layout


def _detect_layout(snapshot: Snapshot, config: Config) -> Layout:
    all_files = snapshot.list_files()
    named = [p for p in all_files if p.endswith(_LAYOUT_FILES) and not _skipped_dir(p)]
    files_memo: list[list[str]] = []

    def files() -> list[str]:
        # Every path outside the skipped folders, needed only to place a path a config file names.
        if not files_memo:
            files_memo.append([p for p in all_files if not _skipped_dir(p)])
        return files_memo[0]

    layout = Layout()
    prisma_files = [p for p in named if p.endswith(".prisma") and not is_generated_client(p)]
    if config.paths.schema_:
        prisma_files = [p for p in prisma_files if matches_any(p, config.paths.schema_)]
    configured_roots = _configured_schema_roots(snapshot, named, files, layout.notes)
    layout.schemas = _group_schemas(prisma_files, configured_roots)
    locked: set[str] = set()
    shaped: set[str] = set()
    for p in named:
        folder, _, name = p.rpartition("/")
        if name == "migration_lock.toml":
            locked.add(folder)
            provider = _lock_provider(decode_text(snapshot.read_bytes(p)) or "")
            if provider is not None:
                layout.providers[folder] = provider
            if layout.provider is None:
                layout.provider = provider
        elif name == "migration.sql":
            grandparent = posixpath.dirname(folder)
            if posixpath.basename(grandparent) in ("migrations", "migration"):
                shaped.add(grandparent)
    configured = set(_configured_migration_dirs(snapshot, named, files, layout.notes))
    # A second locked folder beside the one Prisma runs (`prisma/migrations_backup` next to `prisma/migrations`,
    # kept when the history was squashed into a baseline) is an archive: `migrate deploy` reads only `migrations`
    # (or the folder prisma.config.ts names).
    archives = {d for d in locked - configured
                if posixpath.basename(d) != "migrations" and posixpath.join(posixpath.dirname(d), "migrations")
                in (locked | shaped) | configured}
    layout.foreign_migration_dirs = sorted(archives | {
        d for d in shaped - locked - configured if locked and not _has_prisma_schema_near(d, prisma_files)})
    layout.migration_dirs = sorted((locked | shaped | configured) - set(layout.foreign_migration_dirs))
    return layout


def _has_prisma_schema_near(migrations_dir: str, prisma_files: list[str]) -> bool:
    """Whether a Prisma schema sits in the migrations folder's parent folder or below it (where `migrate dev` puts
    the folder it writes)."""
    parent = posixpath.dirname(migrations_dir)
    return any(not parent or p.startswith(f"{parent}/") for p in prisma_files)


def _lock_provider(text: str) -> str | None:
    match = re.search(r'^\s*provider\s*=\s*"([^"]+)"', text, re.M)
    return match.group(1) if match else None


def resolve_config_path(config_file: str, value: str, files: list[str] | Callable[[], list[str]]) -> str | None:
    """A path written in a config file, as a path relative to the repository root, or None if it is not in it.

    Relative paths are relative to the config file's folder. An absolute path is usually where a Docker build
    copies the repository (`/app/apps/web/prisma/migrations`): it is placed on the longest tail of it that names a
    file or folder of the repository. A path that climbs out of the repository (`../../x`) is not ours to read.
    `files` may be a function giving them: only an absolute path needs the tree's files (listing them outside the
    skipped folders took 6 ms a review in monorepos whose package.json names its schema).
    """
    value = value.strip().replace("\\", "/")
    if not value:
        return None
    if posixpath.isabs(value):
        listed = files() if callable(files) else files
        parts = [p for p in posixpath.normpath(value).split("/") if p]
        for i in range(len(parts)):
            tail = "/".join(parts[i:])
            if any(f == tail or f.startswith(tail + "/") for f in listed):
                return tail
        return None
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(config_file), value))
    if joined == ".":
        return ""
    if joined == ".." or joined.startswith("../") or posixpath.isabs(joined):
        return None
    return joined


def _place(config_file: str, key: str, value: str, files: Callable[[], list[str]], notes: list[str]) -> str | None:
    resolved = resolve_config_path(config_file, value, files)
    if resolved is None:
        notes.append(f"{config_file}: {key} `{value}` is not inside the repository; ignored")
    return resolved


def _configured_schema_roots(snapshot: Snapshot, named: list[str], files: Callable[[], list[str]],
                             notes: list[str]) -> list[str]:
    """Schema paths named by `package.json#prisma.schema` or `prisma.config.ts`, relative to the repo root."""
    roots: list[str] = []
    # A monorepo has a package.json per package: read them from git in one batch, not one round trip each.
    prefetch(snapshot, [p for p in named if posixpath.basename(p) in ("package.json", *_PRISMA_CONFIG_NAMES)])
    for p in named:
        base = posixpath.basename(p)
        if base == "package.json":
            text = decode_text(snapshot.read_bytes(p)) or "{}"
            # Only a "prisma" key matters: most of a monorepo's package.json files lack one and are not decoded
            # (a key spelled with a JSON escape still is).
            if '"prisma"' not in text and "\\u" not in text:
                continue
            try:
                data = json.loads(text)
            except (json.JSONDecodeError, ValueError):
                continue
            if not isinstance(data, dict):  # `[]` or `"x"` is valid JSON too
                continue
            schema = data.get("prisma", {}).get("schema") if isinstance(data.get("prisma"), dict) else None
            if isinstance(schema, str):
                root = _place(p, "prisma.schema", schema, files, notes)
                if root is not None:
                    roots.append(root)
        elif base in _PRISMA_CONFIG_NAMES:
            text = decode_text(snapshot.read_bytes(p)) or ""
            match = _PRISMA_CONFIG_SCHEMA.search(text)
            if match:
                root = _place(p, "schema", match.group(1), files, notes)
                if root is not None:
                    roots.append(root)
    return roots


def _configured_migration_dirs(snapshot: Snapshot, named: list[str], files: Callable[[], list[str]],
                               notes: list[str]) -> list[str]:
    dirs: list[str] = []
    for p in named:
        if posixpath.basename(p) in _PRISMA_CONFIG_NAMES:
            text = decode_text(snapshot.read_bytes(p)) or ""
            match = _PRISMA_CONFIG_MIGRATIONS.search(text)
            if match:
                folder = _place(p, "migrations.path", match.group(1), files, notes)
                if folder is not None:
                    dirs.append(folder)
    return dirs


def _group_schemas(prisma_files: list[str], configured_roots: list[str]) -> list[list[str]]:
    """A multi-file schema is every .prisma file under its folder; a single-file schema stands alone."""
    groups: dict[str, list[str]] = {}
    for path in sorted(prisma_files):
        root = None
        for configured in configured_roots:
            if path == configured:
                root = path
                break
            if path.startswith(configured.rstrip("/") + "/"):
                root = configured
                break
        if root is None:
            parts = path.split("/")
            # prisma/schema/*.prisma (and nested folders below it) form one schema.
            for i in range(len(parts) - 2, -1, -1):
                if parts[i] == "schema" and i >= 1:
                    root = "/".join(parts[: i + 1])
                    break
        if root is None:
            root = posixpath.dirname(path) if posixpath.basename(path) != "contract.prisma" else path
            # Sibling .prisma files in one folder with one datasource are a multi-file schema too.
        groups.setdefault(root, []).append(path)
    return [files for _, files in sorted(groups.items())]


def classify(change: Change, config: Config) -> Surfaces:
    head_layout = detect_layout(change.head, config)
    # The base layout places renamed files and base-only schema files; a change with neither (most changes without
    # database files) gets it only if it turns out to have a database surface (one `git ls-tree` fewer).
    needs_base = any(f.path.endswith(".prisma") or (f.old_path and f.old_path != f.path) for f in change.files)
    base_layout = detect_layout(change.base, config) if needs_base else Layout()
    surfaces = Surfaces(head_layout=head_layout, base_layout=base_layout)
    schema_files = set(head_layout.schema_files) | set(base_layout.schema_files)
    foreign = foreign_migration_dirs(head_layout, base_layout)
    # The loop below reads the head version of every changed source, schema and config file: one batch from git.
    prefetch(change.head, [f.path for f in change.files if f.status is not FileStatus.DELETED
                           and f.path.endswith((*QUERY_EXTENSIONS, ".prisma", ".sql", ".toml", ".json"))
                           and not (config.paths.ignore and matches_any(f.path, config.paths.ignore))])
    for changed in change.files:
        path = changed.path
        if config.paths.ignore and matches_any(path, config.paths.ignore):
            surfaces.ignored.append(path)
            continue
        is_schema = path.endswith(".prisma") and (path in schema_files or (changed.old_path or "") in schema_files)
        if not is_schema and _in_foreign_migrations(changed, foreign, config):
            surfaces.not_prisma.append(path)
            continue
        runs_at_head = not is_schema and is_migration_path(path, head_layout, config)
        is_migration = runs_at_head or (not is_schema and bool(
            changed.old_path and is_migration_path(changed.old_path, base_layout, config)))
        if is_migration and not runs_at_head and changed.old_path and changed.status is FileStatus.RENAMED:
            # Moved out of the migrations folder (into a backup beside a new baseline, an archive): Prisma no longer
            # runs it, so for the review it is a migration the change deletes, not a new one to check.
            changed = ChangedFile(path=changed.old_path, status=FileStatus.DELETED,
                                  deleted_lines=set(changed.deleted_lines))
        if changed.is_binary or _binary_at_head(change, changed):
            if (is_schema or is_migration) and changed.status is not FileStatus.DELETED:
                surfaces.unreadable.append(changed)
            continue
        if is_schema:
            surfaces.schema.append(changed)
        elif is_migration:
            surfaces.migrations.append(changed)
        elif _is_query_change(change, changed, config, surfaces.skipped):
            surfaces.query.append(changed)
    if not needs_base and surfaces.any:
        surfaces.base_layout = detect_layout(change.base, config)
    return surfaces


def foreign_migration_dirs(head: Layout, base: Layout) -> frozenset[str]:
    """Folders that are not Prisma's at head, or were not at base and still are not (a lock file added by the
    change makes a folder Prisma's)."""
    return frozenset(head.foreign_migration_dirs) | (frozenset(base.foreign_migration_dirs) - set(head.migration_dirs))


def _in_foreign_migrations(changed: ChangedFile, foreign: set[str], config: Config) -> bool:
    paths = [p for p in (changed.path, changed.old_path) if p]
    if not foreign or (config.paths.migrations and any(matches_any(p, config.paths.migrations) for p in paths)):
        return False
    return any(p.startswith(f"{d}/") for p in paths for d in foreign)


def _binary_at_head(change: Change, changed: ChangedFile) -> bool:
    if changed.head_path is None or not changed.path.endswith((".prisma", ".sql", ".toml", ".json")):
        return False
    data = change.head.read_bytes(changed.head_path)
    return data is not None and is_binary(data)


def _is_query_change(change: Change, changed: ChangedFile, config: Config, skipped: list[tuple[str, str]]) -> bool:
    if changed.status is FileStatus.DELETED or not changed.path.endswith(QUERY_EXTENSIONS):
        return False
    if config.paths.query and not matches_any(changed.path, config.paths.query):
        return False
    text = change.head_text(changed.path)
    if text is None:
        return False
    if not (calls_prisma(text) or config.paths.query):
        return False
    if not config.paths.query and not is_query_path(changed.path):
        # .d.ts, vendored folders and the generated client are never analysed; a committed bundle is worth a note.
        if changed.path.endswith(".min.js"):
            skipped.append((changed.path, "a minified bundle"))
        return False
    # Huge, minified and generated files stay in the query surface: the query analyzer skips them with a note.
    return True
