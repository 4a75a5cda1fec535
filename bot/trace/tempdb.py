"""Scratch databases: created with a unique name on the given server, always dropped, also on SIGINT/SIGTERM.

The server URL names a maintenance database (`postgres`, `test`, …) that is only used for CREATE DATABASE and
DROP DATABASE; everything else runs in databases this module created, whose names start with `dbreview_trace_`.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from bot.redact import register, scrub

PREFIX = "dbreview_trace_"
log = logging.getLogger("dbreview.trace")


class TraceError(Exception):
    """The trace cannot run (server unreachable, no permission to create a database, …); one line for the user."""


class _Interrupted(BaseException):
    """Raised from a signal handler so that every `finally` runs and the scratch databases are dropped."""


def url_for(database_url: str, dbname: str) -> str:
    """The same server and credentials, another database."""
    params = conninfo_to_dict(database_url)
    params["dbname"] = dbname
    return make_conninfo(**params)


def describe_server(database_url: str) -> str:
    """host:port without credentials, for messages (never raises: a malformed URL is not echoed back)."""
    try:
        params = conninfo_to_dict(database_url)
    except psycopg.Error:
        return "(malformed database URL)"
    return f"{params.get('host') or 'localhost'}:{params.get('port') or 5432}"


def error_line(exc: BaseException, url: str) -> str:
    """The first line of a psycopg error, safe to show: libpq quotes a malformed connection string back, with its
    password, so such errors are described instead of echoed, and the URL and its password are masked anyway."""
    if isinstance(exc, psycopg.ProgrammingError) and "connection" in str(exc):
        return "malformed database URL (expected postgresql://user:password@host:port/dbname)"
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    return scrub(first, extra=[url])


def connect(url: str, *, autocommit: bool = True, **kwargs: Any) -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(url, autocommit=autocommit, connect_timeout=10, **kwargs)
    except psycopg.Error as exc:
        raise TraceError(f"cannot connect to PostgreSQL at {describe_server(url)}: {error_line(exc, url)}") from None


class Server:
    """The maintenance connection, and the scratch databases it created (dropped by `drop_all`)."""

    def __init__(self, database_url: str) -> None:
        self.url = database_url
        self.created: list[str] = []
        self.history: list[str] = []  # every database ever created here, dropped or not
        self.role: str | None = None  # the restricted login the change's own SQL runs as (see create_role)
        self._role_password = ""
        self._conn = connect(database_url)

    def create_role(self) -> str | None:
        """A throwaway login without superuser, CREATEDB or CREATEROLE, to run the change's SQL as.

        The migrations of a pull request are untrusted code: as the URL's own (often superuser) user they could
        drop other databases on the server or run programs on it (COPY … TO PROGRAM). As the owner of the scratch
        databases only, they can do what a migration needs there and nothing elsewhere. Returns None (and the
        caller runs unrestricted, with a note) when the URL's user may not create roles.
        """
        name = PREFIX + "role_" + secrets.token_hex(6)
        password = secrets.token_urlsafe(24)
        register(password)  # it sits in connection strings that error messages may quote
        try:
            self._conn.execute(sql.SQL(
                "CREATE ROLE {} LOGIN PASSWORD {} NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION"
            ).format(sql.Identifier(name), sql.Literal(password)))
        except psycopg.Error as exc:
            log.debug("cannot create a restricted role: %s", exc)
            return None
        self.role, self._role_password = name, password
        if not self.is_superuser():
            # A CREATEROLE user must be a member of the role to create databases owned by it (PostgreSQL < 16).
            with contextlib.suppress(psycopg.Error):
                self._conn.execute(sql.SQL("GRANT {} TO CURRENT_USER").format(sql.Identifier(name)))
        log.debug("created scratch role %s", name)
        return name

    def role_url(self, dbname: str) -> str:
        """A connection string for `dbname` as the restricted role (the server URL's own user without one)."""
        if self.role is None:
            return url_for(self.url, dbname)
        params = conninfo_to_dict(self.url)
        params.update(dbname=dbname, user=self.role, password=self._role_password)
        return make_conninfo(**params)

    def drop_role(self) -> None:
        if self.role is None:
            return
        with contextlib.suppress(psycopg.Error):
            self._conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(self.role)))
            log.debug("dropped scratch role %s", self.role)
            self.role = None

    def is_superuser(self) -> bool:
        row = self._conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
        return bool(row and row[0])

    def is_privileged(self) -> bool:
        """Superuser, or CREATEROLE: before PostgreSQL 16 a CREATEROLE user can grant itself
        pg_execute_server_program, so running untrusted SQL as it is as good as running it as a superuser."""
        row = self._conn.execute(
            "SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user").fetchone()
        return bool(row and row[0])

    def server_version(self) -> int:
        return int(self._conn.info.server_version)

    def create(self, template: str | None = None) -> str:
        name = PREFIX + secrets.token_hex(6)
        owner = sql.SQL(" OWNER {}").format(sql.Identifier(self.role)) if self.role else sql.SQL("")
        query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)) + owner
        if template is not None:
            if template not in self.created:
                raise TraceError(f"refusing to copy {template}: dbreview did not create it")
            query = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)) + owner
        try:
            try:
                self._conn.execute(query)
            except psycopg.errors.ObjectInUse:
                if template is not None:
                    raise
                # Someone is connected to template1 (CREATE DATABASE copies it): template0 never has sessions.
                self._conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name))
                                   + owner)
        except psycopg.Error as exc:
            raise TraceError(f"cannot create a scratch database on {describe_server(self.url)}: "
                             f"{error_line(exc, self.url)}") from None
        self.created.append(name)
        self.history.append(name)
        log.debug("created scratch database %s", name)
        return name

    def drop(self, name: str) -> None:
        if name not in self.created or not name.startswith(PREFIX):
            return  # only ever drop what this run created
        # FORCE (PostgreSQL 13+) ends sessions left behind by an interrupted statement.
        force = sql.SQL(" WITH (FORCE)") if self.server_version() >= 130000 else sql.SQL("")
        self._conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)) + force)
        self.created.remove(name)
        log.debug("dropped scratch database %s", name)

    def exists(self, name: str) -> bool:
        row = self._conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        return row is not None

    def drop_all(self) -> None:
        for name in list(reversed(self.created)):
            with contextlib.suppress(psycopg.Error):
                self.drop(name)
        self.drop_role()

    def close(self) -> None:
        with contextlib.suppress(psycopg.Error):
            self._conn.close()


class Watchdog:
    """Ends the change's statements that run longer than `limit_s`, from outside their session.

    `SET statement_timeout` protects nothing against untrusted SQL, which can `SET statement_timeout = 0` itself and
    then `SELECT pg_sleep(1e9)`: without this the trace (and the App worker running it) would never finish. Watches
    the restricted role's sessions, or, without a role, the URL user's other sessions.
    """

    def __init__(self, url: str, role: str | None, limit_s: float, interval_s: float = 1.0) -> None:
        self.url, self.role, self.limit_s, self.interval_s = url, role, limit_s, interval_s
        self.terminated = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dbreview-trace-watchdog", daemon=True)

    def __enter__(self) -> Watchdog:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        query = sql.SQL(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE usename = {who} AND pid <> pg_backend_pid() AND state = 'active' "
            "AND datname LIKE 'dbreview\\_trace\\_%' AND now() - query_start > make_interval(secs => {limit})"
        ).format(who=sql.Literal(self.role) if self.role else sql.SQL("current_user"),
                 limit=sql.Literal(float(self.limit_s)))
        try:
            conn = connect(self.url)
        except TraceError as exc:
            log.debug("trace watchdog not started: %s", exc)
            return
        try:
            while not self._stop.wait(self.interval_s):
                row = conn.execute(query).fetchone()
                if row and row[0]:
                    self.terminated += int(row[0])
                    log.debug("trace watchdog ended %s statement(s) over %.0f s", row[0], self.limit_s)
        except psycopg.Error as exc:
            log.debug("trace watchdog stopped: %s", exc)
        finally:
            with contextlib.suppress(psycopg.Error):
                conn.close()


class _SignalGuard:
    """Turns the first SIGINT/SIGTERM into an exception (so `finally` blocks run); later ones wait for cleanup."""

    def __init__(self) -> None:
        self.received: int | None = None
        self.cleaning = False
        self._previous: dict[int, Any] = {}

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        if self.received is None:
            self.received = signum
        if not self.cleaning:
            self.cleaning = True
            raise _Interrupted(signum)

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers can only be set from the main thread; the caller's own handling applies
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous[signum] = signal.signal(signum, self._handler)

    def restore(self) -> None:
        for signum, old in self._previous.items():
            signal.signal(signum, old)
        self._previous.clear()


@contextlib.contextmanager
def scratch_server(database_url: str) -> Iterator[Server]:
    """A Server whose scratch databases are all dropped when the block ends, however it ends.

    A signal received inside the block drops the databases, then is re-delivered to the previous handler
    (so Ctrl-C still stops the program the way it would have without us).
    """
    server = Server(database_url)
    guard = _SignalGuard()
    guard.install()
    try:
        yield server
    except _Interrupted:
        pass
    finally:
        guard.cleaning = True
        try:
            server.drop_all()
            server.close()
        finally:
            guard.restore()
    if guard.received is not None:
        signal.raise_signal(guard.received)
        raise TraceError("interrupted; the scratch databases were dropped")
