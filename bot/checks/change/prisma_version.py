"""Which Prisma CLI version runs the project's migrations: lockfile first, `package.json` range second.

The version decides how `migrate deploy` sends a `migration.sql` to PostgreSQL:
- before 7.4.0 the whole file goes as one simple-query batch, which PostgreSQL runs as ONE implicit transaction
  (a single-statement file runs in autocommit);
- from 7.4.0 (prisma-engines #5767, merged 2026-02-09, shipped in 7.4.0 on 2026-02-11) the engine splits the file
  into statements and sends each on its own, so each statement commits separately (no transaction around the file),
  unless the splitter fails to parse the file, in which case it falls back to the single batch (prisma-engines #5847:
  `DROP INDEX CONCURRENTLY` is such a case).

`prisma_version(ctx)` answers once per review (memoized). `splits_statements(ctx)` gives True/False/None (unknown)
for "this project's Prisma runs each statement separately", for the migration state model.
"""

from __future__ import annotations

import json
import posixpath
import re
from dataclasses import dataclass

from bot.context import ReviewContext

Version = tuple[int, int, int]

SPLIT_SINCE: Version = (7, 4, 0)
_LOCKFILES = ("package-lock.json", "npm-shrinkwrap.json", "pnpm-lock.yaml", "yarn.lock", "bun.lock")
_PACKAGES = ("prisma", "@prisma/client")
_SEMVER = re.compile(r"(\d+)(?:\.(\d+|x|\*))?(?:\.(\d+|x|\*))?")


@dataclass(frozen=True)
class PrismaVersion:
    """The versions the project can run: [low, high) ; low == exact version when read from a lockfile."""

    spec: str  # as written: "5.22.0", "^6.2.1", "7.4.2 (pnpm-lock.yaml)"
    source: str  # the file it was read from
    low: Version | None
    high: Version | None  # exclusive upper bound; None = unbounded
    exact: bool = False
    package: str = "prisma"

    def at_least(self, threshold: Version) -> bool | None:
        """True if every allowed version is >= threshold, False if every one is below, None if the range straddles."""
        if self.low is None:
            return None
        if self.low >= threshold:
            return True
        if self.high is not None and self.high <= threshold:
            return False
        return None

    def describe(self) -> str:
        return f"`{self.package}` {self.spec} (from `{self.source}`)"


def parse_range(spec: str) -> tuple[Version | None, Version | None, bool]:
    """(low, exclusive high, exact) of an npm version range; unknown forms give (None, None, False)."""
    spec = spec.strip()
    if spec.startswith("npm:"):
        spec = spec.rsplit("@", 1)[-1]
    if not spec or spec in ("*", "latest", "x") or spec.startswith(("file:", "link:", "workspace:", "git", "http")):
        return None, None, False
    if "||" in spec:
        return None, None, False
    spec = spec.split(" - ")[0]
    op_match = re.match(r"^(\^|~|>=|>|<=|<|=)?\s*v?", spec)
    op = op_match.group(1) if op_match else None
    rest = spec[op_match.end():] if op_match else spec
    match = _SEMVER.match(rest)
    if not match:
        return None, None, False
    parts = [match.group(1), match.group(2), match.group(3)]
    wild = [p is None or p in ("x", "*") for p in parts]
    major = int(parts[0])
    minor = 0 if wild[1] else int(parts[1])  # type: ignore[arg-type]
    patch = 0 if wild[2] else int(parts[2])  # type: ignore[arg-type]
    low: Version = (major, minor, patch)
    upper_bound = re.search(r"<\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?", spec[1:] if op == "<" else spec)
    if op in (None, "=") and not any(wild):
        if "-" in rest.split(" ")[0]:  # a prerelease "7.4.0-dev.3" runs the code of the release it precedes
            return low, (major, minor, patch + 1), True
        return low, (major, minor, patch + 1), True
    if op in (None, "=") and wild[1]:
        return low, (major + 1, 0, 0), False
    if op in (None, "=") and wild[2]:
        return low, (major, minor + 1, 0), False
    if op == "^":
        if major > 0:
            return low, (major + 1, 0, 0), False
        return low, (0, minor + 1, 0), False
    if op == "~":
        return low, (major, minor + 1, 0), False
    if op in (">=", ">"):
        high = None
        if upper_bound and upper_bound.start() > 0:
            high = (int(upper_bound.group(1)), int(upper_bound.group(2) or 0), int(upper_bound.group(3) or 0))
        return low, high, False
    if op in ("<", "<="):
        return None, None, False
    return None, None, False


def _from_lockfile(name: str, text: str) -> str | None:
    """The exact installed version of `prisma` (or `@prisma/client`) recorded in a lockfile."""
    for package in _PACKAGES:
        version = _lock_version(name, text, package)
        if version:
            return version
    return None


def _lock_version(name: str, text: str, package: str) -> str | None:
    esc = re.escape(package)
    if name in ("package-lock.json", "npm-shrinkwrap.json"):
        try:
            data = json.loads(text)
        except ValueError:
            return None
        packages = data.get("packages") if isinstance(data, dict) else None
        if isinstance(packages, dict):
            entry = packages.get(f"node_modules/{package}")
            if isinstance(entry, dict) and isinstance(entry.get("version"), str):
                return entry["version"]
        deps = data.get("dependencies") if isinstance(data, dict) else None
        if isinstance(deps, dict) and isinstance(deps.get(package), dict):
            version = deps[package].get("version")
            return version if isinstance(version, str) else None
        return None
    if name == "pnpm-lock.yaml":
        # importers:  .:  devDependencies:  prisma:  specifier: ^5  version: 5.22.0(...)
        match = re.search(rf"^\s+'?{esc}'?:\s*\n\s+specifier:[^\n]*\n\s+version:\s*'?(\d+\.\d+\.\d+[^\s'(]*)",
                          text, re.M)
        if match:
            return match.group(1)
        match = re.search(rf"^\s+'?/?{esc}[@/](\d+\.\d+\.\d+[^\s:'(]*)", text, re.M)
        return match.group(1) if match else None
    if name == "yarn.lock":
        match = re.search(rf'^"?{esc}@[^\n]*:\s*\n(?:\s+[^\n]*\n)*?\s+version:?\s+"?(\d+\.\d+\.\d+[^"\s]*)', text, re.M)
        return match.group(1) if match else None
    if name == "bun.lock":
        match = re.search(rf'"{esc}":\s*\["{esc}@(\d+\.\d+\.\d+[^"]*)"', text)
        return match.group(1) if match else None
    return None


def _declared(text: str) -> tuple[str, str] | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    for package in _PACKAGES:
        for section in ("devDependencies", "dependencies", "optionalDependencies", "peerDependencies"):
            deps = data.get(section)
            if isinstance(deps, dict) and isinstance(deps.get(package), str):
                return package, deps[package]
    return None


def _candidate_dirs(ctx: ReviewContext) -> list[str]:
    """Folders from the migrations/schema location up to the repository root, nearest first."""
    starts = list(ctx.surfaces.head_layout.migration_dirs) + [
        posixpath.dirname(p) for p in ctx.surfaces.head_layout.schema_files
    ]
    seen: list[str] = []
    for start in starts:
        # Layout paths are repository-relative; strip a stray leading "/" so the walk ends at the root, and stop
        # at dirname's fixed point whatever comes in.
        folder = posixpath.normpath(start.lstrip("/")) if start else ""
        while True:
            if folder == ".":
                folder = ""
            if folder not in seen:
                seen.append(folder)
            parent = posixpath.dirname(folder)
            if folder == "" or parent == folder:
                break
            folder = parent
    if "" not in seen:
        seen.append("")
    return seen


def _join(folder: str, name: str) -> str:
    return posixpath.join(folder, name) if folder else name


def detect(ctx: ReviewContext) -> PrismaVersion | None:
    dirs = _candidate_dirs(ctx)
    declared: tuple[str, str, str] | None = None  # package, spec, path
    for folder in dirs:
        path = _join(folder, "package.json")
        text = ctx.head_text(path)
        if text:
            found = _declared(text)
            if found:
                declared = (found[0], found[1], path)
                break
    start = dirs.index(posixpath.dirname(declared[2])) if declared else 0
    for folder in dirs[start:]:
        for name in _LOCKFILES:
            path = _join(folder, name)
            text = ctx.head_text(path)
            if not text:
                continue
            version = _from_lockfile(name, text)
            if version:
                low, high, _ = parse_range(version)
                if low is not None:
                    package = "prisma" if _lock_version(name, text, "prisma") else "@prisma/client"
                    return PrismaVersion(version, path, low, high, exact=True, package=package)
    if declared:
        package, spec, path = declared
        low, high, exact = parse_range(spec)
        return PrismaVersion(spec, path, low, high, exact=exact, package=package)
    return None


def prisma_version(ctx: ReviewContext) -> PrismaVersion | None:
    def build() -> PrismaVersion | None:
        found = detect(ctx)
        if found is not None:
            ctx.facts["prisma_version"] = {"spec": found.spec, "source": found.source, "exact": found.exact}
        return found

    return ctx.memo(("change", "prisma-version"), build)


def splits_statements(ctx: ReviewContext) -> bool | None:
    """True when `migrate deploy` runs each statement of a file separately (>= 7.4.0), False when it runs the file as
    one implicit transaction (< 7.4.0), None when the version is unknown or the allowed range straddles 7.4.0."""
    found = prisma_version(ctx)
    return None if found is None else found.at_least(SPLIT_SINCE)
