"""Fixtures for the App tests: scratch PostgreSQL databases and Redis queue names, cleaned up afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

PG_ADMIN = os.environ.get("DBREVIEW_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("DBREVIEW_TEST_REDIS", "redis://127.0.0.1:6379/0")


def _pg_admin():  # type: ignore[no-untyped-def]
    import psycopg

    try:
        return psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN}: {exc}")


@pytest.fixture(scope="module")
def pg_module_url() -> Iterator[str]:
    """One scratch database per test module (dropped afterwards); tests empty its tables themselves."""
    yield from _scratch_database()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh scratch database (dropped afterwards), as a postgresql:// URL."""
    yield from _scratch_database()


def _scratch_database() -> Iterator[str]:
    name = f"dbreview_app_{uuid.uuid4().hex[:10]}"
    with _pg_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with _pg_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def redis_queue() -> Iterator[tuple[str, str]]:
    """(redis url, unique queue name); the queue's keys are deleted afterwards."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    name = f"dbreview-test-{uuid.uuid4().hex[:10]}"
    try:
        yield REDIS_URL, name
    finally:
        # huey strips non-alphanumerics from the queue name in its keys ("huey.redis.dbreviewtest…").
        keys = list(client.scan_iter(match=f"huey*{name.replace('-', '')}*"))
        if keys:
            client.delete(*keys)
        client.close()
