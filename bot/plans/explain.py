"""EXPLAIN a translated statement on the scratch database, with and without a candidate index.

PostgreSQL 15 has no `EXPLAIN (GENERIC_PLAN)`, so each statement is `PREPARE`d as Prisma sends it and planned with
`EXPLAIN (FORMAT JSON) EXECUTE` under `plan_cache_mode = force_custom_plan`: the planner sees the parameter values,
as it does for the first executions of a Prisma query. Literal values come from the code; the others are picked from
the seeded rows (a value of typical frequency for `=`/`IN`, the 90th or 10th percentile for ranges so ~10 % of the
rows qualify, a fragment of a typical value for LIKE). Never `EXPLAIN ANALYZE`: nothing is executed.

A candidate index is created as a HypoPG hypothetical index when the extension is there, otherwise built for real in
a transaction that is rolled back. Everything runs as the scratch database's restricted role.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from typing import Any

import psycopg
from psycopg import sql

from bot.plans.model import EQ, HIGH, LIKE, LOW, Candidate, Param, Plan, PlanNode, Statement, Trial
from bot.plans.scratch import HYPOPG_SCHEMA
from bot.plans.translate import expand_list

log = logging.getLogger("dbreview.plans")

MAX_IN_LIST = 1_000  # a follow-up query's IN list is sized from the parent's estimated rows, up to this


def _split(table: str) -> tuple[str, str]:
    schema, _, name = table.partition(".")
    return (schema, name) if name else ("public", schema)


class ValuePicker:
    """Representative parameter values from the seeded data (memoised per column and kind)."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self._cache: dict[tuple[str, str, str], list[str | None]] = {}

    def _typical(self, table: str, column: str) -> list[str | None]:
        """Distinct values ordered from the most frequent down, up to 1,000."""
        key = (table, column, "typical")
        if key not in self._cache:
            schema, name = _split(table)
            query = sql.SQL(
                "SELECT v FROM (SELECT {c}::text AS v, count(*) AS n FROM {t} WHERE {c} IS NOT NULL "
                "GROUP BY {c} ORDER BY count(*) DESC, {c}::text LIMIT 1000) s"
            ).format(c=sql.Identifier(column), t=sql.Identifier(schema, name))
            try:
                self._cache[key] = [r[0] for r in self.conn.execute(query).fetchall()]
            except psycopg.Error as exc:
                log.debug("no values for %s.%s: %s", table, column, exc)
                self._cache[key] = []
        return self._cache[key]

    def _percentile(self, table: str, column: str, fraction: float) -> str | None:
        key = (table, column, f"p{fraction}")
        if key not in self._cache:
            schema, name = _split(table)
            query = sql.SQL("SELECT (percentile_disc({f}) WITHIN GROUP (ORDER BY {c}))::text FROM {t}").format(
                f=sql.Literal(fraction), c=sql.Identifier(column), t=sql.Identifier(schema, name))
            try:
                row = self.conn.execute(query).fetchone()
                self._cache[key] = [row[0] if row else None]
            except psycopg.Error as exc:
                log.debug("no percentile for %s.%s: %s", table, column, exc)
                self._cache[key] = [None]
        return self._cache[key][0]

    def values(self, params: list[Param]) -> list[str | None]:
        """One value per parameter; consecutive EQ parameters on one column (an IN list) get distinct values."""
        out: list[str | None] = []
        runs: dict[tuple[str, str], int] = {}
        for param in params:
            if param.known:
                out.append(_text(param.value, param))
                continue
            if param.kind in (LOW, HIGH):
                value = self._percentile(param.table, param.column, 0.9 if param.kind == LOW else 0.1)
                out.append(value)
                continue
            typical = self._typical(param.table, param.column)
            if not typical:
                out.append(None)
                continue
            n = runs.get((param.table, param.column), 0)
            runs[(param.table, param.column)] = n + 1
            # The value of median frequency: neither the rare tail nor the one value that holds half the rows.
            value = typical[(len(typical) // 2 + n) % len(typical)]
            if param.kind == LIKE and value is not None:
                value = param.pattern.format(_fragment(value, param.pattern))
            elif param.kind == EQ and param.lower and value is not None:
                value = value.lower()
            out.append(value)
        return out


def _fragment(value: str, pattern: str) -> str:
    if len(value) <= 3:
        return value
    if pattern == "{}%":
        return value[:3]
    if pattern == "%{}":
        return value[-3:]
    if pattern == "%{}%":
        middle = len(value) // 2
        return value[middle - 1: middle + 2]
    return value


def _text(value: object, param: Param) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_plan(data: Any) -> Plan:
    """EXPLAIN (FORMAT JSON) output -> Plan (nodes depth-first)."""
    if isinstance(data, str):
        data = json.loads(data)
    root = data[0]["Plan"] if isinstance(data, list) else data["Plan"]
    nodes: list[PlanNode] = []

    def walk(node: dict[str, Any], depth: int) -> None:
        nodes.append(PlanNode(
            node_type=str(node.get("Node Type", "")),
            relation=str(node.get("Relation Name", "")),
            alias=str(node.get("Alias", "")),
            index=str(node.get("Index Name", "")),
            rows=float(node.get("Plan Rows", 0) or 0),
            total_cost=float(node.get("Total Cost", 0) or 0),
            startup_cost=float(node.get("Startup Cost", 0) or 0),
            filter=str(node.get("Filter", "") or node.get("Index Cond", "") or ""),
            sort_key=", ".join(node.get("Sort Key", []) or []),
            depth=depth,
        ))
        for child in node.get("Plans", []) or []:
            walk(child, depth + 1)

    walk(root, 0)
    return Plan(total_cost=float(root.get("Total Cost", 0) or 0), rows=float(root.get("Plan Rows", 0) or 0),
                nodes=nodes)


class Explainer:
    """One session on the scratch database (as the restricted role) that plans statements."""

    def __init__(self, conn: psycopg.Connection[Any], *, hypopg: bool, statement_timeout_s: float = 10) -> None:
        self.conn = conn
        self.hypopg = hypopg
        self.picker = ValuePicker(conn)
        conn.execute("SET plan_cache_mode = force_custom_plan")
        conn.execute(sql.SQL("SET statement_timeout = {}").format(sql.Literal(f"{int(statement_timeout_s * 1000)}ms")))

    def sql_for(self, statement: Statement, parent_rows: float | None) -> tuple[str, list[Param]]:
        if statement.list_param:
            count = int(min(max(parent_rows or 1, 1), MAX_IN_LIST))
            return expand_list(statement, count)
        return statement.sql, list(statement.params)

    def explain(self, text: str, values: list[str | None]) -> Plan:
        name = "dbreview_plan_" + secrets.token_hex(4)
        self.conn.execute(f"PREPARE {name} AS {text}".encode())
        try:
            args = sql.SQL(", ").join(sql.Literal(v) for v in values)
            query = sql.SQL("EXPLAIN (FORMAT JSON) EXECUTE {n}").format(n=sql.Identifier(name))
            if values:
                query = query + sql.SQL("(") + args + sql.SQL(")")
            row = self.conn.execute(query).fetchone()
        finally:
            self.conn.execute(sql.SQL("DEALLOCATE {}").format(sql.Identifier(name)))
        if row is None:
            raise psycopg.DataError("EXPLAIN returned nothing")
        return parse_plan(row[0])

    def existing_indexes(self, table: str) -> list[tuple[str, tuple[str, ...]]]:
        """(index name, leading columns) of the table's valid btree indexes, as the database has them."""
        schema, name = _split(table)
        rows = self.conn.execute(
            "SELECT i.relname, ARRAY(SELECT a.attname FROM unnest(x.indkey) WITH ORDINALITY k(attnum, n) "
            "JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum ORDER BY k.n) "
            "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
            "JOIN pg_namespace n ON n.oid = t.relnamespace JOIN pg_am am ON am.oid = i.relam "
            "WHERE n.nspname = %s AND t.relname = %s AND x.indisvalid AND am.amname = 'btree' AND x.indpred IS NULL",
            (schema, name)).fetchall()
        return [(r[0], tuple(r[1])) for r in rows]

    def try_index(self, candidate: Candidate, text: str, values: list[str | None]) -> Trial:
        schema, name = _split(candidate.table)
        create = sql.SQL("CREATE INDEX ON {t} ({c})").format(
            t=sql.Identifier(schema, name), c=sql.SQL(", ").join(sql.Identifier(c) for c in candidate.columns))
        if self.hypopg:
            return self._try_hypothetical(candidate, create, text, values)
        return self._try_real(candidate, create, text, values)

    def _try_hypothetical(self, candidate: Candidate, create: sql.Composed, text: str,
                          values: list[str | None]) -> Trial:
        fn = sql.Identifier(HYPOPG_SCHEMA, "hypopg_create_index")
        reset = sql.SQL("SELECT {}()").format(sql.Identifier(HYPOPG_SCHEMA, "hypopg_reset"))
        try:
            row = self.conn.execute(sql.SQL("SELECT indexname FROM {}({})").format(
                fn, sql.Literal(create.as_string(self.conn)))).fetchone()
            index_name = str(row[0]) if row else ""
            plan = self.explain(text, values)
            return Trial(candidate, plan, used=bool(index_name) and plan.uses_index(index_name))
        except psycopg.Error as exc:
            return Trial(candidate, None, used=False, error=_first_line(exc))
        finally:
            try:
                self.conn.execute(reset)
            except psycopg.Error as exc:
                log.debug("hypopg_reset failed: %s", exc)

    def _try_real(self, candidate: Candidate, create: sql.Composed, text: str, values: list[str | None]) -> Trial:
        """No HypoPG: build the index for real, plan, and roll the transaction back (DDL is transactional)."""
        index_name = "dbreview_plan_idx_" + secrets.token_hex(4)
        schema, name = _split(candidate.table)
        statement = sql.SQL("CREATE INDEX {i} ON {t} ({c})").format(
            i=sql.Identifier(index_name), t=sql.Identifier(schema, name),
            c=sql.SQL(", ").join(sql.Identifier(c) for c in candidate.columns))
        try:
            with self.conn.transaction(force_rollback=True):
                self.conn.execute(statement)
                plan = self.explain(text, values)
            return Trial(candidate, plan, used=plan.uses_index(index_name))
        except psycopg.Error as exc:
            return Trial(candidate, None, used=False, error=_first_line(exc))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
