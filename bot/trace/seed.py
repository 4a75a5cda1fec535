"""Fill the tables a migration touches with generated rows, so scans and rewrites take measurable time.

Best effort, on a scratch database only: every column gets a value of its type derived from the row number (so
unique columns stay unique), foreign keys point at rows of the parent (parents are seeded first), and columns with a
default keep it. Nullable columns get values too: a `SET NOT NULL` then scans real rows and succeeds, as it would on
a production table without NULLs, while an `ADD COLUMN … NOT NULL` without a default fails, as it would there.
A table that cannot be seeded is named in a note; the trace goes on.

With a SeedProfile (the query plans' seeding, bot.plans) the rows look like production's instead: row counts per
table, enum and status-like columns skewed (a few values hold most rows, the literals the code compares with among
them), booleans mostly false, timestamps spread over two years in insertion order, nullable columns partly NULL,
foreign keys spread unevenly over their parents, and defaulted columns filled too (a `createdAt` default would give
every row the same instant). Unique columns stay unique; a row that would break a constraint is skipped.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from bot.trace import probe
from bot.trace.statements import PlannedForeignKey

_PARENT_SAMPLE = 10_000

_COLUMNS = """
SELECT a.attname, a.attnotnull, a.atthasdef, a.attidentity, a.attgenerated,
       t.typname, t.typcategory, t.typtype, a.atttypmod, format_type(a.atttypid, a.atttypmod),
       coalesce(pg_get_expr(d.adbin, d.adrelid), ''),
       EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = a.attrelid AND i.indisunique
               AND a.attnum = ANY(i.indkey))
FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""

# Columns whose few values repeat across rows: seeded from a short, skewed vocabulary.
_CATEGORICAL = re.compile(r"(status|state|type|kind|role|currency|category|level|priority|provider|source|channel|"
                          r"locale|language|lang|country|plan|tier|mode|method|visibility|format|gender|stage|phase)s?$",
                          re.I)
# Nullable columns that are NULL on most rows (soft deletes, rare events).
_MOSTLY_NULL = re.compile(r"(deleted|archived|removed|cancell?ed|banned|disabled|revoked|expired|failed)(At|_at|On)?$",
                          re.I)


@dataclass
class SeedProfile:
    """How the query plans seed (bot.plans): rows per table and production-like values (see the module's doc)."""

    rows: dict[str, int] = field(default_factory=dict)  # table (as PostgreSQL names it, or schema.table) -> rows
    # (table, column) -> literal values the code compares the column with: they appear among the seeded values.
    values: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    parent_sample: int = 100_000

    def rows_for(self, rel: probe.Relation, default: int) -> int:
        for key in (rel.name, f"{rel.schema}.{rel.relname}", rel.relname):
            if key in self.rows:
                return self.rows[key]
        return default

    def vocabulary(self, rel: probe.Relation, column: str) -> list[str]:
        for key in (rel.name, f"{rel.schema}.{rel.relname}", rel.relname):
            if (key, column) in self.values:
                return self.values[(key, column)]
        return []

_FKS = """
SELECT c.conrelid::bigint, c.confrelid::bigint,
       ARRAY(SELECT attname FROM pg_attribute WHERE attrelid = c.conrelid AND attnum = ANY(c.conkey)
             ORDER BY array_position(c.conkey, attnum)),
       ARRAY(SELECT attname FROM pg_attribute WHERE attrelid = c.confrelid AND attnum = ANY(c.confkey)
             ORDER BY array_position(c.confkey, attnum))
FROM pg_constraint c WHERE c.contype = 'f' AND c.conrelid >= %s
ORDER BY c.conrelid, c.conname
"""


@dataclass
class _Fk:
    child: int
    parent: int
    columns: list[str]
    parent_columns: list[str]


@dataclass
class _Plan:
    rel: probe.Relation
    fks: list[_Fk] = field(default_factory=list)


def _resolve(names: list[str], known: dict[int, probe.Relation]) -> list[probe.Relation]:
    by_name = {rel.name: rel for rel in known.values()}
    by_name.update({f"{rel.schema}.{rel.relname}": rel for rel in known.values()})
    out: dict[int, probe.Relation] = {}
    for name in names:
        rel = by_name.get(name)
        if rel is not None and rel.kind in ("i", "I") and rel.table:
            rel = by_name.get(rel.table)
        if rel is not None and rel.kind in ("r", "p"):
            out[rel.oid] = rel
    return list(out.values())


def _order(targets: list[probe.Relation], known: dict[int, probe.Relation], fks: list[_Fk]) -> list[_Plan]:
    """The targets and the parents their foreign keys need, parents first (cycles broken where met)."""
    by_child: dict[int, list[_Fk]] = {}
    for fk in fks:
        by_child.setdefault(fk.child, []).append(fk)
    ordered: list[_Plan] = []
    state: dict[int, str] = {}

    def visit(oid: int) -> None:
        if state.get(oid) is not None or oid not in known:
            return
        state[oid] = "visiting"
        for fk in by_child.get(oid, []):
            if fk.parent != oid:
                visit(fk.parent)
        state[oid] = "done"
        ordered.append(_Plan(known[oid], by_child.get(oid, [])))

    for rel in targets:
        visit(rel.oid)
    return ordered


def _value(col: dict[str, Any], label: str) -> sql.Composable | None:
    """An expression of the column's type for row number `g`, or None to leave the column to its default/NULL."""
    typname, category, typtype, typmod, fmt = col["typname"], col["category"], col["typtype"], col["typmod"], col["fmt"]
    cast = sql.SQL(fmt)
    if typtype == "e":
        return sql.SQL("(enum_range(NULL::{t}))[1 + (g % cardinality(enum_range(NULL::{t})))]").format(t=cast)
    if category == "A":
        return sql.SQL("'{{}}'::{t}").format(t=cast)
    if typname == "uuid":
        return sql.SQL("md5(g::text || {l})::uuid").format(l=sql.Literal(label))
    if typname in ("int2",):
        return sql.SQL("(g % 32767)::smallint")
    if typname in ("int4", "int8", "oid"):
        return sql.SQL("g::{t}").format(t=cast)
    if typname == "numeric":
        if typmod > 4:
            precision, scale = ((typmod - 4) >> 16) & 0xFFFF, (typmod - 4) & 0xFFFF
            limit = 10 ** max(precision - scale, 0) - 1 if precision > scale else 0
            return sql.SQL("(g % {m})::{t}").format(m=sql.Literal(max(limit, 1)), t=cast)
        return sql.SQL("g::numeric")
    if typname in ("float4", "float8", "money"):
        return sql.SQL("(g / 10.0)::{t}").format(t=cast)
    if typname == "bool":
        return sql.SQL("(g % 2 = 0)")
    if typname in ("text", "varchar", "bpchar", "name", "citext"):
        if typmod > 4:
            return sql.SQL("left(g::text || 'x', {n})::{t}").format(n=sql.Literal(typmod - 4), t=cast)
        return sql.SQL("({l} || g)::{t}").format(l=sql.Literal(f"{label}-"), t=cast)
    if typname in ("timestamp", "timestamptz", "date", "time", "timetz"):
        return sql.SQL("(now() - g * interval '1 minute')::{t}").format(t=cast)
    if typname == "interval":
        return sql.SQL("g * interval '1 second'")
    if typname in ("json", "jsonb"):
        return sql.SQL("jsonb_build_object('n', g)::{t}").format(t=cast)
    if typname == "bytea":
        return sql.SQL("decode(md5(g::text), 'hex')")
    if typname in ("inet", "cidr"):
        return sql.SQL("('10.0.0.0'::inet + g)::{t}").format(t=cast)
    if typname == "xml":
        return sql.SQL("xmlparse(content '<r/>')")
    return None


def _uniform(label: str) -> sql.Composable:
    """A number in [0, 1) that depends only on the row number and `label`: seeds are the same on every run."""
    return sql.SQL("((hashtext(g::text || {l}) & 2147483647)::float8 / 2147483648.0)").format(l=sql.Literal(label))


def _skewed_pick(count: int, label: str) -> sql.Composable:
    """1-based position of a value among `count`: the first holds half the rows, the next a quarter, and so on."""
    return sql.SQL("(1 + least({m}, floor(-ln(1.0 - {u}) / ln(2))::int))").format(
        m=sql.Literal(max(count - 1, 0)), u=_uniform(label))


def _vocabulary(col: dict[str, Any], known: list[str]) -> list[str]:
    """The literals the code uses first, then fillers, at most six, each within the column's length limit."""
    limit = col["typmod"] - 4 if col["typmod"] > 4 else None
    words: list[str] = []
    for word in [*known, *(f"{col['name']}_{i}" for i in range(1, 7))]:
        if limit is not None and len(word) > limit:
            word = (word[: max(limit - 1, 1)] + str(len(words)))[:limit]
        if word not in words:
            words.append(word)
        if len(words) >= max(6, len(known)):
            break
    return words


def _realistic_value(col: dict[str, Any], label: str, rows: int, known: list[str]) -> sql.Composable | None:
    typname, typtype, fmt = col["typname"], col["typtype"], col["fmt"]
    cast = sql.SQL(fmt)
    u = _uniform(label)
    if typtype == "e":
        return sql.SQL("(enum_range(NULL::{t}))[least(cardinality(enum_range(NULL::{t})), {p})]").format(
            t=cast, p=_skewed_pick(8, label))
    if typname == "bool":
        return sql.SQL("({u} < 0.2)").format(u=u)
    if typname in ("text", "varchar", "bpchar", "citext") and (known or _CATEGORICAL.search(col["name"])):
        words = _vocabulary(col, known)
        array = sql.SQL("ARRAY[{}]").format(sql.SQL(", ").join(sql.Literal(w) for w in words))
        return sql.SQL("({a})[{p}]::{t}").format(a=array, p=_skewed_pick(len(words), label), t=cast)
    if typname in ("timestamp", "timestamptz", "date"):
        # Rows arrive in time order, as in an append-mostly table: two years, oldest first.
        return sql.SQL("(now() - interval '730 days' * (1 - g::float8 / {n}) + {u} * interval '1 hour')::{t}").format(
            n=sql.Literal(max(rows, 1)), u=u, t=cast)
    if typname in ("int2", "int4", "int8"):
        return sql.SQL("floor(power({u}, 2) * 10000)::{t}").format(u=u, t=cast)
    if typname == "numeric":
        return sql.SQL("round(({u} * 1000)::numeric, 2)::{t}").format(u=u, t=cast)
    if typname in ("float4", "float8"):
        return sql.SQL("({u} * 1000)::{t}").format(u=u, t=cast)
    return None


def _insert(conn: psycopg.Connection[Any], plan: _Plan, rows: int, fill_nullable: bool,
            profile: SeedProfile | None = None) -> int:
    rel = plan.rel
    columns = [
        {"name": r[0], "notnull": r[1], "hasdef": r[2], "identity": r[3], "generated": r[4], "typname": r[5],
         "category": r[6], "typtype": r[7], "typmod": r[8], "fmt": r[9], "default": r[10], "unique": r[11]}
        for r in conn.execute(_COLUMNS, (rel.oid,)).fetchall()
    ]
    realistic = profile is not None
    sample = profile.parent_sample if profile is not None else _PARENT_SAMPLE
    fk_of = {c: (i, j) for i, fk in enumerate(plan.fks) for j, c in enumerate(fk.columns)}
    unique_fk = {i for i, fk in enumerate(plan.fks) for c in fk.columns
                 if any(col["name"] == c and col["unique"] for col in columns)}
    ctes: list[sql.Composable] = []
    joins: list[sql.Composable] = []
    usable_fks: set[int] = set()
    for i, fk in enumerate(plan.fks):
        parent = probe_relation(conn, fk.parent)
        if parent is None:
            continue
        count = conn.execute(
            sql.SQL("SELECT count(*) FROM (SELECT 1 FROM {} LIMIT {}) s").format(
                sql.Identifier(parent.schema, parent.relname), sql.Literal(sample))
        ).fetchone()
        if not count or not count[0]:
            continue
        alias = sql.Identifier(f"fk{i}")
        cols = sql.SQL(", ").join(sql.Identifier(c) for c in fk.parent_columns)
        ctes.append(sql.SQL("{a} AS (SELECT {cols}, row_number() OVER () AS rn FROM "
                            "(SELECT {cols} FROM {p} LIMIT {n}) s)").format(
            a=alias, cols=cols, p=sql.Identifier(parent.schema, parent.relname), n=sql.Literal(sample)))
        if realistic and i not in unique_fk:
            # Uneven, like real data: some parents have many children, most have a few.
            pick = sql.SQL("1 + least({c} - 1, floor(power({u}, 1.5) * {c})::bigint)").format(
                c=sql.Literal(count[0]), u=_uniform(f"{rel.relname}.fk{i}"))
            joins.append(sql.SQL(" JOIN {a} ON {a}.rn = {p}").format(a=alias, p=pick))
        else:
            joins.append(sql.SQL(" JOIN {a} ON {a}.rn = 1 + (g % {c})").format(a=alias, c=sql.Literal(count[0])))
        usable_fks.add(i)
    names: list[sql.Composable] = []
    values: list[sql.Composable] = []
    for col in columns:
        if col["generated"] or col["identity"] == "a":
            continue
        if col["name"] in fk_of:
            i, j = fk_of[col["name"]]
            if i in usable_fks:
                names.append(sql.Identifier(col["name"]))
                values.append(sql.SQL("{}.{}").format(sql.Identifier(f"fk{i}"),
                                                      sql.Identifier(plan.fks[i].parent_columns[j])))
            continue  # no parent rows: leave it NULL (or fail below, and say so)
        if realistic:
            if col["identity"] or "nextval(" in col["default"]:
                continue
        elif col["hasdef"] or col["identity"]:
            continue
        if not col["notnull"] and not fill_nullable:
            continue
        label = f"{rel.relname}.{col['name']}"
        expr = None
        if realistic and not col["unique"]:
            assert profile is not None
            expr = _realistic_value(col, label, rows, profile.vocabulary(rel, col["name"]))
        if expr is None:
            expr = _value(col, label)
        if expr is None:
            continue
        if realistic and not col["notnull"] and not col["unique"]:
            share = 0.9 if _MOSTLY_NULL.search(col["name"]) else 0.2
            expr = sql.SQL("CASE WHEN {u} < {s} THEN NULL ELSE {e} END").format(
                u=_uniform(label + "#null"), s=sql.Literal(share), e=expr)
        names.append(sql.Identifier(col["name"]))
        values.append(expr)
    with_clause = sql.SQL("WITH ") + sql.SQL(", ").join(ctes) + sql.SQL(" ") if ctes else sql.SQL("")
    target = sql.Identifier(rel.schema, rel.relname)
    conflict = sql.SQL(" ON CONFLICT DO NOTHING") if realistic else sql.SQL("")
    # Realistic rows are written in row-number order (a hash join with the parents would shuffle them), so the
    # timestamps follow the physical order as in an append-mostly table: the planner's correlation is realistic.
    order = sql.SQL(" ORDER BY g") if realistic else sql.SQL("")
    if names:
        query = sql.SQL("{w}INSERT INTO {t} ({c}) SELECT {v} FROM generate_series(1, {n}) AS g{j}{r}{o}").format(
            w=with_clause, t=target, c=sql.SQL(", ").join(names), v=sql.SQL(", ").join(values),
            n=sql.Literal(rows), j=sql.SQL("").join(joins), r=order, o=conflict)
    else:
        query = sql.SQL("INSERT INTO {t} SELECT FROM generate_series(1, {n}) AS g{o}").format(
            t=target, n=sql.Literal(rows), o=conflict)
    cursor = conn.execute(query)
    return cursor.rowcount if cursor.rowcount is not None and cursor.rowcount >= 0 else rows


def _link_later(conn: psycopg.Connection[Any], plan: _Plan, fk: _Fk, rows: int, label: str) -> None:
    """A nullable foreign key whose parent had no rows when this table was filled (a tree's parent, the back edge
    of a cycle such as users <-> subscriptions): 70 % of the rows get a parent among the first tenth, afterwards."""
    if len(fk.columns) != 1:
        return
    parent = probe_relation(conn, fk.parent)
    if parent is None:
        return
    column, ref = sql.Identifier(fk.columns[0]), sql.Identifier(fk.parent_columns[0])
    table = sql.Identifier(plan.rel.schema, plan.rel.relname)
    roots = max(1, rows // 10) if fk.parent == fk.child else max(1, rows)
    u = sql.SQL("(hashtext(t.ctid::text || {l}) & 2147483647)").format(l=sql.Literal(label))
    statement = sql.SQL(
        "WITH p AS (SELECT {ref} AS v, row_number() OVER (ORDER BY {ref}) AS rn FROM {pt} LIMIT {n}) "
        "UPDATE {t} AS t SET {c} = p.v FROM p WHERE p.rn = 1 + {u} % {roots} AND {u} % 10 < 7"
    ).format(ref=ref, pt=sql.Identifier(parent.schema, parent.relname), n=sql.Literal(_PARENT_SAMPLE), t=table,
             c=column, u=u, roots=sql.Literal(min(roots, _PARENT_SAMPLE)))
    try:
        with conn.transaction():
            conn.execute(statement)
    except psycopg.Error:
        return  # a NOT NULL or CHECK the link breaks: the column keeps what the insert gave it


def probe_relation(conn: psycopg.Connection[Any], oid: int) -> probe.Relation | None:
    return probe.relations(conn).get(oid)


def _fast_session(conn: psycopg.Connection[Any]) -> None:
    """Generated rows satisfy the foreign keys by construction, so the per-row FK triggers can be skipped
    (session_replication_role needs superuser; without it the seed is just slower). Nothing here must survive a
    crash, so commits need not wait for the disk either."""
    conn.execute("SET synchronous_commit = off")
    with contextlib.suppress(psycopg.Error):
        conn.execute("SET session_replication_role = replica")


def _is_empty(conn: psycopg.Connection[Any], oid: int) -> bool:
    rel = probe_relation(conn, oid)
    if rel is None:
        return True
    row = conn.execute(sql.SQL("SELECT 1 FROM {} LIMIT 1").format(sql.Identifier(rel.schema, rel.relname))).fetchone()
    return row is None


def _try_insert(conn: psycopg.Connection[Any], plan: _Plan, count: int, profile: SeedProfile | None
                ) -> tuple[int, str | None]:
    error: str | None = None
    for fill_nullable in (True, False):
        try:
            with conn.transaction():
                return (_insert(conn, plan, count, fill_nullable, profile) if count > 0 else 0), None
        except psycopg.Error as exc:
            error = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return 0, error


def seed_tables(conn: psycopg.Connection[Any], names: list[str], rows: int,
                planned: list[PlannedForeignKey] | None = None,
                profile: SeedProfile | None = None) -> tuple[dict[str, int], list[str]]:
    """Insert `rows` generated rows into each named table (and the FK parents they need). Returns
    {table: rows inserted} and notes about the tables that could not be seeded.

    `planned` foreign keys (added by the migration under test) are honoured like existing ones, so the existing
    rows satisfy them, as production rows normally do. A `profile` sets rows per table and realistic values.
    """
    known = probe.relations(conn)
    targets = _resolve(names, known)
    fks = [_Fk(c, p, list(cols), list(pcols)) for c, p, cols, pcols in
           conn.execute(_FKS, (probe.FIRST_USER_OID,)).fetchall()]
    for fk in planned or []:
        child, parent = _resolve([fk.table], known), _resolve([fk.ref_table], known)
        if child and parent:
            fks.append(_Fk(child[0].oid, parent[0].oid, list(fk.columns), list(fk.ref_columns)))
    seeded: dict[str, int] = {}
    notes: list[str] = []
    _fast_session(conn)
    ordered = _order(targets, known, fks)
    failed: list[tuple[_Plan, str]] = []
    later: list[tuple[_Plan, _Fk, int]] = []  # foreign keys whose parent was still empty
    # A table that fails for want of parent rows (the other side of a cycle was not seeded yet) gets a second try.
    for plans in (ordered, None):
        if plans is None:
            if profile is None or not failed:
                break
            plans = [p for p, _ in failed]
            failed = []
        for plan in plans:
            count = profile.rows_for(plan.rel, rows) if profile is not None else rows
            empty_parents = [fk for fk in plan.fks if _is_empty(conn, fk.parent)]
            inserted, error = _try_insert(conn, plan, count, profile)
            if error is not None:
                failed.append((plan, error))
                continue
            seeded[plan.rel.name] = inserted if profile is not None else rows
            if profile is not None and inserted:
                later.extend((plan, fk, inserted) for fk in empty_parents)
            # Children join their parents' rows next: without statistics the planner guesses a handful of parent
            # rows and picks a nested loop (minutes instead of a fraction of a second at 100k rows).
            with contextlib.suppress(psycopg.Error):
                conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(plan.rel.schema, plan.rel.relname)))
    for plan, error in failed:
        notes.append(f"trace: could not seed {plan.rel.name} ({error}); it stays empty")
    for i, (plan, fk, inserted) in enumerate(later):
        if not _is_empty(conn, fk.parent):
            _link_later(conn, plan, fk, inserted, f"{plan.rel.relname}.late{i}")
    with contextlib.suppress(psycopg.Error):
        conn.execute("RESET session_replication_role")
    if seeded:
        conn.execute(sql.SQL("ANALYZE {}").format(sql.SQL(", ").join(
            sql.Identifier(p.rel.schema, p.rel.relname) for p in _order(targets, known, fks)
            if p.rel.name in seeded)))
    return seeded, notes
