"""Run a change's new migrations on a scratch PostgreSQL database and record what each statement really does.

1. Create a scratch database, apply the base branch's migrations in order, each file the way Prisma sends it (one
   simple-query batch: a multi-statement file is one implicit transaction).
2. Optionally seed the tables the new migrations touch (`rows`), so scans and rewrites cost measurable time.
   Copy the database (CREATE DATABASE … TEMPLATE) for the replay.
3. Step pass: every statement of every new migration in its own transaction. After the statement and before
   COMMIT, read our backend's locks from pg_locks, the relfilenodes (a change means a rewrite) and the objects
   that appeared. A statement that cannot run in a transaction (CONCURRENTLY, VACUUM, …) runs in autocommit while
   an observer session holds ROW EXCLUSIVE on its tables, which makes the statement wait at its first conflicting
   step, so its locks can be read from pg_locks at that moment.
4. Replay, on the copy: each new migration with Prisma's semantics (one transaction per multi-statement file;
   a file with CONCURRENTLY statements runs statement by statement, as Prisma 7.4+ splits it). Locks are read after
   every statement; a lock is held from the statement that first took it until the transaction ends.

The change's own SQL is untrusted (it comes from a pull request): when the server URL's user is a superuser, the
scratch databases belong to a throwaway login role without superuser, CREATEDB or CREATEROLE, and the migrations
run as that role, so they cannot reach other databases or the server's host. Seeding runs as the URL's user.
A base history that needs a superuser (an untrusted extension) is rerun without the role, with a note.
"""

from __future__ import annotations

import posixpath
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from bot.change import Change, FileStatus
from bot.config import Config
from bot.surfaces import classify
from bot.trace import probe
from bot.trace.probe import Lock, Relation
from bot.trace.statements import Statement, planned_foreign_keys, split_statements
from bot.trace.tempdb import Server, TraceError, Watchdog, connect, describe_server, scratch_server, url_for

__all__ = ["LockTaken", "MigrationTrace", "StatementTrace", "TraceError", "TraceResult", "trace_change"]

POSTGRES_PROVIDERS = {"postgresql", "postgres", "cockroachdb"}
NEEDS_AUTOCOMMIT = "25001"  # active_sql_transaction: "… cannot run inside a transaction block"
_GATE_TIMEOUT_S = 5.0


@dataclass
class LockTaken:
    relation: str
    kind: str  # relkind of the locked relation
    mode: str  # pg_locks mode, e.g. "AccessExclusiveLock"
    existing: bool  # the relation existed on the base branch (not created by this change)
    table: str | None = None  # for an index: its table
    held_ms: float | None = None  # from the replay: until the statement's transaction ended
    waited: bool = False  # seen waiting in pg_locks (autocommit statements observed through the gate)

    @property
    def mode_name(self) -> str:
        return probe.MODE_NAMES.get(self.mode, self.mode)

    @property
    def blocks(self) -> str:
        return probe.LOCK_BLOCKS.get(self.mode, "")

    @property
    def target_table(self) -> str:
        return self.table or self.relation


@dataclass
class StatementTrace:
    path: str
    statement: Statement
    locks: list[LockTaken] = field(default_factory=list)
    rewritten: list[str] = field(default_factory=list)  # existing relations whose relfilenode changed: "table User"
    rewritten_new: list[str] = field(default_factory=list)  # same, for relations created by this change
    created: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    duration_ms: float = 0.0
    autocommit: bool = False  # had to run outside a transaction
    skipped: str | None = None  # why the statement was not run on its own (BEGIN/COMMIT in the file)
    error: str | None = None
    sqlstate: str | None = None
    replay_ms: float | None = None
    replay_error: str | None = None
    replay_sqlstate: str | None = None
    after_failure: bool = False  # an earlier statement of the change failed (production would have stopped)
    cascade: bool = False  # its error only follows from that earlier failure

    @property
    def step_artifact(self) -> bool:
        """Failed when run on its own but succeeded in the replay with Prisma's semantics (a temp table created
        ON COMMIT DROP by the previous statement, for example): an effect of the step pass, not a real failure."""
        return self.error is not None and self.replay_ms is not None and self.replay_error is None

    @property
    def real_failure(self) -> bool:
        return (self.error is not None or self.replay_error is not None) and not self.cascade \
            and not self.step_artifact

    @property
    def line(self) -> int:
        return self.statement.line

    @property
    def end_line(self) -> int:
        return self.statement.end_line


@dataclass
class MigrationTrace:
    path: str
    statements: list[StatementTrace] = field(default_factory=list)
    replay_mode: str = ""  # "transaction", "autocommit" or "split"
    replay_ms: float | None = None

    @property
    def name(self) -> str:
        return posixpath.basename(posixpath.dirname(self.path))


@dataclass
class TraceResult:
    server: str = ""
    server_version: int = 0
    migrations_dir: str = ""
    base_migrations: int = 0
    base_seconds: float = 0.0
    rows: int = 0
    seeded: dict[str, int] = field(default_factory=dict)
    migrations: list[MigrationTrace] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    databases: list[str] = field(default_factory=list)  # every scratch database created (all dropped at the end)
    base_error: str | None = None
    restricted_role: str | None = None  # the login the change's SQL ran as; None = the server URL's own user

    def statements(self) -> list[StatementTrace]:
        return [s for m in self.migrations for s in m.statements]

    def merge(self, other: TraceResult) -> None:
        self.migrations.extend(other.migrations)
        self.notes.extend(n for n in other.notes if n not in self.notes)
        self.databases.extend(other.databases)
        self.seeded.update(other.seeded)
        self.base_migrations += other.base_migrations
        self.base_seconds += other.base_seconds
        self.base_error = self.base_error or other.base_error


# -- which migrations ------------------------------------------------------------------------------------------


def _migration_dir_of(path: str) -> str:
    return posixpath.dirname(posixpath.dirname(path))


def plan(change: Change, config: Config) -> tuple[dict[str, list[str]], list[str]]:
    """{migrations dir: new migration.sql paths in order} and notes about what will not be traced."""
    surfaces = classify(change, config)
    notes: list[str] = []
    provider = surfaces.head_layout.provider or surfaces.base_layout.provider
    new: dict[str, list[str]] = {}
    for changed in surfaces.migrations:
        name = posixpath.basename(changed.path)
        if name == "ops.json":
            notes.append(f"trace: {changed.path}: Prisma 8 ops.json migrations are not traced yet")
            continue
        if name != "migration.sql":
            continue
        if changed.status is FileStatus.ADDED:
            new.setdefault(_migration_dir_of(changed.path), []).append(changed.path)
        elif changed.status is FileStatus.MODIFIED:
            notes.append(f"trace: {changed.path} is an edited migration; the trace applies the base branch's version")
    if provider is not None and provider not in POSTGRES_PROVIDERS:
        notes.append(f"trace: the migrations are for {provider}; only PostgreSQL migrations can be traced")
        return {}, notes
    return {d: sorted(paths) for d, paths in sorted(new.items())}, notes


def base_migrations(change: Change, migrations_dir: str) -> list[str]:
    prefix = f"{migrations_dir}/" if migrations_dir else ""
    found = []
    for path in change.base.list_files():
        if path.startswith(prefix) and path.endswith("/migration.sql") and \
                path.count("/") == prefix.count("/") + 1:
            found.append(path)
    return sorted(found)


# -- applying files ----------------------------------------------------------------------------------------------


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def apply_file(conn: psycopg.Connection[Any], text: str) -> None:
    """Run a migration file as Prisma does: one simple-query batch (an implicit transaction when it has several
    statements). Prisma 7.4+ splits files with CONCURRENTLY statements; so do we, when the batch says 25001."""
    if not text.strip():
        return
    try:
        conn.execute(text.encode("utf-8"))
    except psycopg.Error as exc:
        if exc.sqlstate != NEEDS_AUTOCOMMIT:
            raise
        for stmt in split_statements(text):
            if stmt.kind != "TransactionStmt":
                conn.execute(stmt.text.encode("utf-8"))


def _prepare_session(conn: psycopg.Connection[Any], statement_timeout_s: int) -> None:
    conn.execute(sql.SQL("SET statement_timeout = {}").format(sql.Literal(f"{statement_timeout_s}s")))


# -- step pass ---------------------------------------------------------------------------------------------------


def _describe(rel: Relation) -> str:
    return f"{probe.kind_word(rel.kind)} {rel.name}"


def _diff_catalog(trace: StatementTrace, before: dict[int, Relation], after: dict[int, Relation],
                  objs_before: dict[tuple[str, int], str], objs_after: dict[tuple[str, int], str],
                  base_oids: set[int]) -> None:
    for oid, rel in after.items():
        old = before.get(oid)
        if old is None:
            if rel.kind not in ("t", "c"):  # toast tables and composite row types come with their table
                trace.created.append(_describe(rel))
        elif old.filenode and rel.filenode and old.filenode != rel.filenode and rel.kind in ("r", "i", "m", "t"):
            (trace.rewritten if oid in base_oids else trace.rewritten_new).append(_describe(rel))
    for oid, rel in before.items():
        if oid not in after and rel.kind not in ("t", "c"):
            trace.dropped.append(_describe(rel))
    for key, name in objs_after.items():
        if key not in objs_before:
            trace.created.append(f"{key[0]} {name}")


def _locks_taken(locks: list[Lock], known: dict[int, Relation], base_oids: set[int]) -> list[LockTaken]:
    strongest: dict[int, Lock] = {}
    for lock in locks:
        current = strongest.get(lock.oid)
        if current is None or probe.MODE_RANK.get(lock.mode, 0) > probe.MODE_RANK.get(current.mode, 0):
            strongest[lock.oid] = lock
    out = []
    for oid, lock in strongest.items():
        rel = known.get(oid)
        if rel is None:
            continue  # a transient relation that lived only inside the statement (the new heap of a rewrite)
        out.append(LockTaken(rel.name, rel.kind, lock.mode, oid in base_oids, rel.table, waited=not lock.granted))
    return sorted(out, key=lambda lk: (-probe.MODE_RANK.get(lk.mode, 0), lk.relation))


def _gate_tables(stmt: Statement, known: dict[int, Relation]) -> list[Relation]:
    by_name = {rel.name: rel for rel in known.values()}
    by_name.update({f"{rel.schema}.{rel.relname}": rel for rel in known.values()})
    tables: dict[int, Relation] = {}
    for name in stmt.relations:
        rel = by_name.get(name)
        if rel is None:
            continue
        if rel.kind in ("i", "I") and rel.table:
            rel = by_name.get(rel.table, rel)
        if rel.kind in ("r", "p", "m"):
            tables[rel.oid] = rel
    return list(tables.values())


def _run_gated(conn: psycopg.Connection[Any], db_url: str, stmt: Statement,
               known: dict[int, Relation]) -> tuple[list[Lock], float, BaseException | None]:
    """Run an autocommit statement while an observer holds ROW EXCLUSIVE on its tables, and read its locks.

    CONCURRENTLY operations wait for concurrent writers, so they stop at their wait phase holding their own lock
    (SHARE UPDATE EXCLUSIVE); a statement that needs a lock conflicting with ROW EXCLUSIVE stops while requesting
    it. Either way pg_locks shows the mode; the observer then commits and the statement finishes.
    Returns the locks seen, the statement's own time (the gate's wait excluded), and its error.
    """
    tables = _gate_tables(stmt, known)
    pid = conn.info.backend_pid
    observer = connect(db_url)
    seen: dict[tuple[int, str], Lock] = {}
    outcome: dict[str, Any] = {}
    try:
        observer.execute("BEGIN")
        for rel in tables:
            observer.execute(sql.SQL("LOCK TABLE {} IN ROW EXCLUSIVE MODE").format(
                sql.Identifier(rel.schema, rel.relname)))

        def work() -> None:
            outcome["start"] = time.perf_counter()
            try:
                conn.execute(stmt.text.encode("utf-8"))
            except BaseException as exc:  # handed back to the caller's thread
                outcome["error"] = exc
            outcome["end"] = time.perf_counter()

        worker = threading.Thread(target=work, daemon=True)
        worker.start()
        blocked_at: float | None = None
        deadline = time.perf_counter() + _GATE_TIMEOUT_S
        while worker.is_alive() and time.perf_counter() < deadline:
            waiting = _waits_for_observer(observer, pid)
            for lock in probe.locks_of(observer, pid, known):
                key = (lock.oid, lock.mode)
                if key not in seen or (not seen[key].granted and lock.granted):
                    seen[key] = lock
            if waiting:
                blocked_at = time.perf_counter()
                break
            time.sleep(0.002)
        released_at = time.perf_counter()
        observer.execute("COMMIT")
        worker.join()
    finally:
        observer.close()
    elapsed = outcome.get("end", time.perf_counter()) - outcome.get("start", time.perf_counter())
    if blocked_at is not None:
        elapsed -= max(0.0, released_at - blocked_at)
    return list(seen.values()), max(elapsed, 0.0) * 1000, outcome.get("error")


def _waits_for_observer(observer: psycopg.Connection[Any], pid: int) -> bool:
    """The traced backend waits on a non-relation lock (CONCURRENTLY waiting for the observer's transaction)."""
    row = observer.execute(
        "SELECT 1 FROM pg_locks WHERE pid = %s AND NOT granted LIMIT 1", (pid,)
    ).fetchone()
    return row is not None


# Errors that a statement gets because an earlier failed statement did not create what it needs.
CASCADE_STATES = {"42703", "42P01", "42704", "42883", "3F000", "42P10"}


def _record_error(trace: StatementTrace, exc: psycopg.Error, failed_before: bool) -> None:
    trace.error, trace.sqlstate = _first_line(exc), exc.sqlstate
    trace.cascade = failed_before and exc.sqlstate in CASCADE_STATES


def _step_pass(db_url: str, migrations: list[tuple[str, str]], base_oids: set[int],
               statement_timeout_s: int) -> list[MigrationTrace]:
    """Every statement in its own transaction. After a failure the pass goes on (production would stop, but the
    later statements still deserve a measurement); their results are marked `after_failure`, and errors that
    only follow from the failure (a column the failed statement should have added) are marked `cascade`."""
    out: list[MigrationTrace] = []
    conn = connect(db_url)
    failed = False
    try:
        _prepare_session(conn, statement_timeout_s)
        pid = conn.info.backend_pid
        for path, text in migrations:
            mig = MigrationTrace(path)
            out.append(mig)
            for stmt in split_statements(text):
                trace = StatementTrace(path, stmt, after_failure=failed)
                mig.statements.append(trace)
                if stmt.kind == "TransactionStmt":
                    trace.skipped = "transaction control; each statement runs in its own transaction here"
                    continue
                if conn.broken or conn.closed:
                    # The watchdog ended a statement that ran too long: the later ones still get measured.
                    conn.close()
                    conn = connect(db_url)
                    _prepare_session(conn, statement_timeout_s)
                    pid = conn.info.backend_pid
                before = probe.relations(conn)
                objs_before = probe.objects(conn)
                conn.execute("BEGIN")
                started = time.perf_counter()
                try:
                    conn.execute(stmt.text.encode("utf-8"))
                    trace.duration_ms = (time.perf_counter() - started) * 1000
                    after = probe.relations(conn)
                    known = {**before, **after}
                    trace.locks = _locks_taken(probe.locks_of(conn, pid, known), known, base_oids)
                    _diff_catalog(trace, before, after, objs_before, probe.objects(conn), base_oids)
                    conn.execute("COMMIT")
                    continue
                except psycopg.Error as exc:
                    trace.duration_ms = (time.perf_counter() - started) * 1000
                    if conn.broken or conn.closed:
                        _record_error(trace, exc, failed)
                        failed = True
                        continue
                    conn.execute("ROLLBACK")
                    if exc.sqlstate != NEEDS_AUTOCOMMIT:
                        _record_error(trace, exc, failed)
                        failed = True
                        continue
                trace.autocommit = True
                locks, trace.duration_ms, error = _run_gated(conn, db_url, stmt, before)
                if isinstance(error, psycopg.Error):
                    _record_error(trace, error, failed)
                    failed = True
                    continue
                if error is not None:
                    raise error
                after = probe.relations(conn)
                known = {**before, **after}
                trace.locks = _locks_taken(locks, known, base_oids)
                _diff_catalog(trace, before, after, objs_before, probe.objects(conn), base_oids)
    finally:
        conn.close()
    return out


# -- replay with Prisma's semantics -------------------------------------------------------------------------------


def _has_concurrently(stmt: Statement) -> bool:
    return " CONCURRENTLY " in f" {' '.join(stmt.text.upper().split())} "


def replay_mode(statements: list[Statement]) -> str:
    runnable = [s for s in statements if s.kind != "TransactionStmt"]
    if len(runnable) <= 1:
        return "autocommit"
    if any(_has_concurrently(s) for s in runnable):
        return "split"
    return "transaction"


def _replay(db_url: str, traces: list[MigrationTrace], base_oids: set[int], statement_timeout_s: int) -> None:
    conn = connect(db_url)
    try:
        _prepare_session(conn, statement_timeout_s)
        pid = conn.info.backend_pid
        for mig in traces:
            runnable = [t for t in mig.statements if t.statement.kind != "TransactionStmt"]
            mig.replay_mode = replay_mode([t.statement for t in mig.statements])
            if mig.replay_mode == "transaction":
                if not _replay_transaction(conn, pid, mig, runnable):
                    break
            else:
                if not _replay_one_by_one(conn, mig, runnable):
                    break
    finally:
        conn.close()


def _replay_transaction(conn: psycopg.Connection[Any], pid: int, mig: MigrationTrace,
                        runnable: list[StatementTrace]) -> bool:
    """One transaction for the file; a lock is held from the first statement that shows it until COMMIT."""
    first_seen: dict[tuple[str, str], int] = {}
    durations: list[float] = []
    conn.execute("BEGIN")
    for i, trace in enumerate(runnable):
        started = time.perf_counter()
        try:
            conn.execute(trace.statement.text.encode("utf-8"))
        except psycopg.Error as exc:
            trace.replay_ms = (time.perf_counter() - started) * 1000
            trace.replay_error, trace.replay_sqlstate = _first_line(exc), exc.sqlstate
            if not (conn.broken or conn.closed):
                conn.execute("ROLLBACK")
            mig.replay_ms = sum(durations) + trace.replay_ms
            return False
        trace.replay_ms = (time.perf_counter() - started) * 1000
        durations.append(trace.replay_ms)
        known = probe.relations(conn)
        for lock in probe.locks_of(conn, pid, known):
            first_seen.setdefault((lock.relation, lock.mode), i)
    started = time.perf_counter()
    conn.execute("COMMIT")
    commit_ms = (time.perf_counter() - started) * 1000
    mig.replay_ms = sum(durations) + commit_ms
    for i, trace in enumerate(runnable):
        for lock in trace.locks:
            since = first_seen.get((lock.relation, lock.mode), i)
            lock.held_ms = sum(durations[since:]) + commit_ms
    return True


def _replay_one_by_one(conn: psycopg.Connection[Any], mig: MigrationTrace, runnable: list[StatementTrace]) -> bool:
    total = 0.0
    for trace in runnable:
        started = time.perf_counter()
        try:
            conn.execute(trace.statement.text.encode("utf-8"))
        except psycopg.Error as exc:
            trace.replay_ms = (time.perf_counter() - started) * 1000
            trace.replay_error, trace.replay_sqlstate = _first_line(exc), exc.sqlstate
            mig.replay_ms = total + trace.replay_ms
            return False
        trace.replay_ms = (time.perf_counter() - started) * 1000
        total += trace.replay_ms
        for lock in trace.locks:
            lock.held_ms = trace.replay_ms
    mig.replay_ms = total
    return True


# -- the whole trace ---------------------------------------------------------------------------------------------


def _trace_dir(server: Server, change: Change, migrations_dir: str, new_paths: list[str], rows: int,
               statement_timeout_s: int, base_as_admin: bool = False) -> TraceResult:
    from bot.trace.seed import seed_tables

    result = TraceResult(server=describe_server(server.url), server_version=server.server_version(),
                         migrations_dir=migrations_dir, rows=rows)
    base_db = server.create()
    result.databases.append(base_db)
    # Migrations run as the restricted role (when there is one), so the tables are its own; seeding and the
    # catalog probes that need more run as the server URL's user.
    base_url = server.role_url(base_db)
    # A base history that needs more than the role may do (an untrusted extension) is the base branch's own, trusted
    # SQL: it runs as the server URL's user, then the role is given its objects. The change's SQL never runs as that
    # user.
    conn = connect(url_for(server.url, base_db) if base_as_admin else base_url)
    try:
        _prepare_session(conn, statement_timeout_s)
        started = time.perf_counter()
        for path in base_migrations(change, migrations_dir):
            text = change.base_text(path)
            if text is None:
                result.notes.append(f"trace: {path} is not UTF-8 text; skipped while applying the base history")
                continue
            try:
                apply_file(conn, text)
            except psycopg.errors.InsufficientPrivilege as exc:
                if server.role is not None:
                    raise _NeedsPrivileges(f"{path}: {_first_line(exc)}") from None
                result.base_error = f"{path}: {_first_line(exc)}"
                result.notes.append(f"trace: the base branch's migration {path} fails on a fresh database "
                                    f"({_first_line(exc)}); the new migrations were not traced")
                return result
            except psycopg.Error as exc:
                result.base_error = f"{path}: {_first_line(exc)}"
                result.notes.append(f"trace: the base branch's migration {path} fails on a fresh database "
                                    f"({_first_line(exc)}); the new migrations were not traced")
                return result
            result.base_migrations += 1
        result.base_seconds = time.perf_counter() - started
        new_texts: list[tuple[str, str]] = []
        for path in new_paths:
            text = change.head_text(path)
            if text is None:
                result.notes.append(f"trace: {path} is not UTF-8 text; not traced")
                continue
            new_texts.append((path, text))
        if base_as_admin and server.role is not None:
            hand_over(conn, server.role)
        base_oids = set(probe.relations(conn))
    finally:
        conn.close()
    if rows > 0:
        touched = [name for _, text in new_texts for s in split_statements(text) for name in s.relations]
        planned = [fk for _, text in new_texts for fk in planned_foreign_keys(text)]
        admin = connect(url_for(server.url, base_db))
        try:
            _prepare_session(admin, statement_timeout_s)
            result.seeded, seed_notes = seed_tables(admin, touched, rows, planned)
        finally:
            admin.close()
        result.notes.extend(seed_notes)
    # The replay needs the same starting point: copy it before the step pass changes the base database.
    replay_db = server.create(template=base_db)
    result.databases.append(replay_db)
    result.migrations = _step_pass(base_url, new_texts, base_oids, statement_timeout_s)
    server.drop(base_db)
    _replay(server.role_url(replay_db), result.migrations, base_oids, statement_timeout_s)
    return result


_HAND_OVER = """
DO $dbreview$
DECLARE r record;
BEGIN
  FOR r IN SELECT n.nspname FROM pg_namespace n
           WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass
                             AND d.objid = n.oid AND d.deptype = 'e') LOOP
    EXECUTE format('ALTER SCHEMA %I OWNER TO %I', r.nspname, {role});
  END LOOP;
  FOR r IN SELECT c.oid::regclass AS obj, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema' AND c.relkind IN ('r','p','v','m','f','S')
             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                             AND (d.deptype = 'e' OR (c.relkind = 'S' AND d.deptype IN ('a', 'i')))) LOOP
    EXECUTE format('ALTER %s %s OWNER TO %I',
                   CASE r.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                                  WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,
                   r.obj, {role});
  END LOOP;
  FOR r IN SELECT t.oid::regtype AS obj FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
           WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema' AND t.typtype IN ('e', 'd')
             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid
                             AND d.deptype = 'e') LOOP
    EXECUTE format('ALTER TYPE %s OWNER TO %I', r.obj, {role});
  END LOOP;
  FOR r IN SELECT p.oid::regprocedure AS obj FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                             AND d.deptype = 'e') LOOP
    EXECUTE format('ALTER ROUTINE %s OWNER TO %I', r.obj, {role});
  END LOOP;
END
$dbreview$
"""


def hand_over(conn: psycopg.Connection[Any], role: str) -> None:
    """Give `role` every schema, table, sequence, type and routine of the database that no extension owns, so the
    change's SQL (run as `role`) can alter what the base history created as the server URL's user."""
    conn.execute(sql.SQL(_HAND_OVER).format(role=sql.Literal(role)))


class _NeedsPrivileges(Exception):
    """The base history needs more than the restricted role may do (an untrusted extension, …)."""


def trace_change(change: Change, config: Config, database_url: str, rows: int = 0, *,
                 statement_timeout_s: int = 600, isolate: bool = True) -> TraceResult:
    """Trace every new migration of the change on a scratch database of the server at `database_url`.

    Raises TraceError when the server cannot be used (unreachable, no CREATEDB permission). A base history that
    does not apply, or a failing new statement, is part of the result, not an exception.
    """
    plans, notes = plan(change, config)
    result = TraceResult(server=describe_server(database_url), rows=rows, notes=list(notes))
    if not plans:
        if not notes:
            result.notes.append("trace: no new migration in this change")
        return result
    with scratch_server(database_url) as server:
        result.server_version = server.server_version()
        if isolate and server.is_privileged() and server.create_role() is None:
            # A pull request's SQL is untrusted code: it never runs with a superuser's powers.
            raise TraceError("the server URL's user is privileged (superuser or CREATEROLE) but cannot create a "
                             "restricted role, and the change's SQL never runs with those privileges; give the trace "
                             "a superuser, or a plain user with CREATEDB only")
        with Watchdog(server.url, server.role, statement_timeout_s + WATCHDOG_GRACE_S) as watchdog:
            _trace_plans(server, change, plans, rows, statement_timeout_s, result)
        if watchdog.terminated:
            result.notes.append(f"trace: {watchdog.terminated} statement(s) of the change ran past the "
                                f"{statement_timeout_s} s statement timeout (which the SQL may not lift) and were "
                                "ended")
        result.databases = list(server.history)
        result.restricted_role = server.role
    return result


# The watchdog lets PostgreSQL's own statement_timeout act first.
WATCHDOG_GRACE_S = 2


def _trace_plans(server: Server, change: Change, plans: dict[str, list[str]], rows: int, statement_timeout_s: int,
                 result: TraceResult) -> None:
    for migrations_dir, paths in plans.items():
        try:
            part = _trace_dir(server, change, migrations_dir, paths, rows, statement_timeout_s)
        except _NeedsPrivileges as exc:
            for name in list(server.created):
                server.drop(name)
            result.notes.append(f"trace: the base history needs more than a restricted role may do ({exc}); "
                                "it was applied as the server URL's user, the change's SQL still ran as the "
                                "restricted role")
            part = _trace_dir(server, change, migrations_dir, paths, rows, statement_timeout_s,
                              base_as_admin=True)
        result.migrations_dir = result.migrations_dir or part.migrations_dir
        result.merge(part)
        for name in list(server.created):
            server.drop(name)
