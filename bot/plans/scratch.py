"""The scratch database the plans are measured on: the head branch's schema, seeded to production-like sizes.

Built with the trace's machinery (bot.trace.tempdb: scratch databases always dropped, a restricted role for the
change's SQL; bot.trace.runner.apply_file: migrations applied as Prisma applies them; bot.trace.seed: generated rows).
The whole migration history of the head branch is applied (the base branch's migrations and the change's new ones),
so an index the change adds is there when the queries are planned. The base branch's migrations are trusted and may
need more than the restricted role (an extension); the change's are not and always run as the role.

HypoPG, when the server has it (Debian: postgresql-15-hypopg), is created in its own schema `dbreview_hypopg`; without
it, suggested indexes are built for real inside a transaction that is rolled back.
"""

from __future__ import annotations

import contextlib
import logging
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from bot.change import Change
from bot.config import Config
from bot.surfaces import classify
from bot.trace.runner import POSTGRES_PROVIDERS, apply_file, hand_over
from bot.trace.seed import SeedProfile, seed_tables
from bot.trace.stats import Stats
from bot.trace.tempdb import Server, TraceError, Watchdog, connect, error_line, scratch_server, url_for

log = logging.getLogger("dbreview.plans")

HYPOPG_SCHEMA = "dbreview_hypopg"
SMALL_TABLE_KEEP = 1_000  # a small table keeps its production size when the big ones are scaled down
PARENT_SHARE = 10  # a table no query reads, seeded only for the foreign keys pointing at it, gets a tenth of the rows


class PlanSetupError(Exception):
    """The scratch database could not be built (a migration fails, no migrations); one line for the notes."""


@dataclass
class Sizing:
    rows: dict[str, int]  # qualified table -> rows to seed
    default: int  # rows for tables the stats do not name (FK parents included)
    production: dict[str, int] = field(default_factory=dict)  # qualified table -> rows in dbreview-stats.json
    notes: list[str] = field(default_factory=list)


def _stats_rows(stats: Stats | None, table: str) -> int | None:
    if stats is None:
        return None
    schema, _, name = table.partition(".")
    entry = stats.lookup(name if schema == "public" else table)
    return entry.rows if entry is not None else None


def sizing(tables: list[str], stats: Stats | None, rows: int, *, default_rows: int, max_rows: int) -> Sizing:
    """How many rows each table gets: `rows` (--rows / plans.rows) for all; else dbreview-stats.json's counts,
    scaled down together when the largest is over `max_rows` (ratios kept, small tables keep their size); else
    `default_rows`. Tables no query reads (the parents foreign keys need) get a tenth, unless the stats size them."""
    parents = max(1, default_rows // PARENT_SHARE)
    if rows > 0:
        return Sizing({t: rows for t in tables}, max(1, rows // PARENT_SHARE),
                      notes=[f"plans: {rows:,} rows seeded in each table read"])
    production: dict[str, int] = {}
    if stats is not None:
        for name in stats.tables:
            qualified = name if "." in name else f"public.{name}"
            production[qualified] = stats.tables[name].rows
    known = {t: production[t] for t in tables if t in production}
    if not known:
        return Sizing({t: default_rows for t in tables}, parents, production,
                      [f"plans: no dbreview-stats.json sizes for the tables read; {default_rows:,} rows seeded in "
                       "each (commit dbreview-stats.json from `dbreview stats` for production-like sizes)"])
    largest = max(production.values()) if production else 0
    factor = min(1.0, max_rows / largest) if largest else 1.0
    scaled = {t: max(round(n * factor), min(n, SMALL_TABLE_KEEP)) for t, n in production.items()}
    notes = []
    if factor < 1.0:
        big = max(production, key=lambda t: production[t])
        notes.append(f"plans: tables scaled to {factor:.2%} of dbreview-stats.json's rows (largest: {big} "
                     f"{production[big]:,} -> {scaled[big]:,}), small tables kept at their size")
    missing = [t for t in tables if t not in production]
    default = max(1, round(default_rows * factor))
    if missing:
        notes.append(f"plans: no size in dbreview-stats.json for {', '.join(missing)}; {default:,} rows seeded")
    rows_by_table = {**{t: default for t in tables}, **scaled}
    return Sizing(rows_by_table, max(1, default // PARENT_SHARE), production, notes)


# -- which migrations ------------------------------------------------------------------------------------------


def migration_files(change: Change, config: Config) -> tuple[str, list[str]]:
    """The head branch's migrations folder and its migration.sql files in the order Prisma applies them."""
    surfaces = classify(change, config)
    layout = surfaces.head_layout
    provider = layout.provider or surfaces.base_layout.provider
    if provider is not None and provider not in POSTGRES_PROVIDERS:
        raise PlanSetupError(f"the migrations are for {provider}; plans need PostgreSQL")
    files = change.head.list_files()
    best: tuple[int, str, list[str]] | None = None
    for folder in layout.migration_dirs:
        prefix = f"{folder}/" if folder else ""
        found = sorted(p for p in files if p.startswith(prefix) and posixpath.basename(p) == "migration.sql"
                       and p.count("/") == prefix.count("/") + 1)
        if found and (best is None or len(found) > best[0]):
            best = (len(found), folder, found)
    if best is None:
        raise PlanSetupError("no Prisma migration history in the head branch to build the schema from")
    return best[1], best[2]


# -- the database ----------------------------------------------------------------------------------------------------


@dataclass
class PlanDatabase:
    server: Server
    name: str
    hypopg: bool
    seeded: dict[str, int]
    notes: list[str]

    @property
    def role_url(self) -> str:
        """Where the plans run: as the restricted role, since the tables and functions come from the change."""
        return self.server.role_url(self.name)

    @property
    def admin_url(self) -> str:
        return url_for(self.server.url, self.name)


def _apply(conn: psycopg.Connection[Any], change: Change, paths: list[str], notes: list[str]) -> None:
    for path in paths:
        text = change.head_text(path)
        if text is None:
            notes.append(f"plans: {path} is not UTF-8 text; skipped")
            continue
        apply_file(conn, text)


def _build_schema(server: Server, change: Change, paths: list[str], statement_timeout_s: int,
                  notes: list[str]) -> str:
    """A database with every head migration applied; the trusted base-branch prefix as the server URL's user when
    the restricted role may not run it."""
    trusted = [p for p in paths if change.base_text(p) is not None and change.base_text(p) == change.head_text(p)]
    for attempt in ("role", "admin"):
        name = server.create()
        try:
            if attempt == "role":
                conn = connect(server.role_url(name))
                try:
                    conn.execute(sql.SQL("SET statement_timeout = {}").format(sql.Literal(f"{statement_timeout_s}s")))
                    _apply(conn, change, paths, notes)
                finally:
                    conn.close()
                return name
            prefix: list[str] = []
            for p in paths:
                if p not in trusted:
                    break
                prefix.append(p)
            admin = connect(url_for(server.url, name))
            try:
                _apply(admin, change, prefix, notes)
                if server.role is not None:
                    hand_over(admin, server.role)
            finally:
                admin.close()
            conn = connect(server.role_url(name))
            try:
                conn.execute(sql.SQL("SET statement_timeout = {}").format(sql.Literal(f"{statement_timeout_s}s")))
                _apply(conn, change, paths[len(prefix):], notes)
            finally:
                conn.close()
            notes.append("plans: the base history needs more than a restricted role may do; it was applied as the "
                         "server URL's user, the change's migrations as the restricted role")
            return name
        except psycopg.errors.InsufficientPrivilege as exc:
            server.drop(name)
            if attempt == "admin" or server.role is None:
                raise PlanSetupError(f"a migration needs privileges the scratch role lacks ({error_line(exc, '')})") \
                    from None
        except psycopg.Error as exc:
            server.drop(name)
            raise PlanSetupError(f"the head branch's migrations do not apply on a fresh database "
                                 f"({error_line(exc, server.url)})") from None
    raise PlanSetupError("the head branch's migrations could not be applied")


def _enable_hypopg(admin: psycopg.Connection[Any], role: str | None) -> bool:
    try:
        with admin.transaction():
            admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(HYPOPG_SCHEMA)))
            admin.execute(sql.SQL("CREATE EXTENSION hypopg SCHEMA {}").format(sql.Identifier(HYPOPG_SCHEMA)))
            if role is not None:
                admin.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(
                    sql.Identifier(HYPOPG_SCHEMA), sql.Identifier(role)))
        return True
    except psycopg.Error as exc:
        log.debug("hypopg not available: %s", exc)
        return False


@contextlib.contextmanager
def plan_database(change: Change, config: Config, database_url: str, *, tables: list[str], sizes: Sizing,
                  values: dict[tuple[str, str], list[str]], use_hypopg: bool = True,
                  statement_timeout_s: int = 300) -> Iterator[PlanDatabase]:
    """A seeded scratch database with the head schema; dropped when the block ends, however it ends."""
    _, paths = migration_files(change, config)
    with scratch_server(database_url) as server:
        if server.is_privileged() and server.create_role() is None:
            raise TraceError("the server URL's user is privileged (superuser or CREATEROLE) but cannot create a "
                             "restricted role, and the change's SQL never runs with those privileges")
        notes: list[str] = []
        with Watchdog(server.url, server.role, statement_timeout_s + 2):
            name = _build_schema(server, change, paths, statement_timeout_s, notes)
        admin = connect(url_for(server.url, name))
        try:
            admin.execute(sql.SQL("SET statement_timeout = {}").format(sql.Literal(f"{statement_timeout_s}s")))
            profile = SeedProfile(rows=dict(sizes.rows), values=values)
            seeded, seed_notes = seed_tables(admin, tables, sizes.default, profile=profile)
            notes.extend(n.replace("trace:", "plans:", 1) for n in seed_notes)
            # Tables the queries read but nobody seeded (empty by design) still need statistics.
            admin.execute("ANALYZE")
            hypopg = use_hypopg and _enable_hypopg(admin, server.role)
        finally:
            admin.close()
        yield PlanDatabase(server, name, hypopg, seeded, notes)
