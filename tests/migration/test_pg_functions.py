"""bot/sql/pg_functions.py lists functions a column DEFAULT may call without a rewrite; a wrong entry would hide a
rewrite. Checked against the catalog of the PostgreSQL server next to the tests (skipped when there is none)."""

from __future__ import annotations

import os

import pytest

from bot.sql.ops import VOLATILE_FUNCS, default_volatility
from bot.sql.pg_functions import NON_VOLATILE

DATABASE_URL = os.environ.get("DBREVIEW_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


def test_known_volatile_and_non_volatile_do_not_overlap() -> None:
    assert not NON_VOLATILE & VOLATILE_FUNCS
    assert {"now", "lower", "statement_timestamp", "to_char", "jsonb_build_object"} <= NON_VOLATILE


def test_default_volatility_of_expressions() -> None:
    import json

    from pglast.parser import parse_sql_json

    def default_of(expr: str):  # type: ignore[no-untyped-def]
        tree = json.loads(parse_sql_json(f"SELECT {expr}"))["stmts"][0]["stmt"]
        return default_volatility(tree)

    assert default_of("now()") == (False, ())
    assert default_of("gen_random_uuid()") == (True, ())
    assert default_of("my_slug(now())") == (True, ("my_slug",))
    assert default_of("'x'") == (False, ())


def test_every_listed_builtin_is_non_volatile_on_this_server() -> None:
    psycopg = pytest.importorskip("psycopg")
    try:
        conn = psycopg.connect(DATABASE_URL, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    with conn:
        rows = conn.execute(
            "SELECT p.proname, bool_or(p.provolatile = 'v') FROM pg_proc p JOIN pg_namespace n "
            "ON n.oid = p.pronamespace WHERE n.nspname = 'pg_catalog' GROUP BY p.proname").fetchall()
    volatile = {name for name, any_volatile in rows if any_volatile}
    known = {name for name, _v in rows}
    assert sorted(NON_VOLATILE & volatile) == []
    # the built-in part of the list exists on PostgreSQL 15+ (extensions and newer releases aside)
    assert len(NON_VOLATILE & known) > 1500
    assert VOLATILE_FUNCS & known <= volatile
