"""Prisma call -> the SQL Prisma sends: checked against SQL real Prisma Clients logged, and shape by shape."""

from __future__ import annotations

import json
from pathlib import Path

import pglast
import pytest
from plans_testkit import normalise, only, translate_code

from bot.plans.model import EQ, LIKE, LIMIT, LOW, OFFSET, Untranslated
from bot.plans.translate import expand_list

FIXTURES = json.loads((Path(__file__).parent / "fixtures" / "prisma_logged_sql.json").read_text("utf-8"))["pairs"]


def _fixture(pair_id: str) -> dict:
    return next(p for p in FIXTURES if p["id"] == pair_id)


@pytest.mark.parametrize("pair", FIXTURES, ids=[p["id"] for p in FIXTURES])
def test_translation_matches_the_sql_prisma_logged(pair: dict) -> None:
    assert pair["source"].startswith("https://")
    t = only(translate_code(pair["schema"], pair["code"]))
    main = t.statements[0]
    ours = normalise(main.sql)
    logged = normalise(pair["logged"])
    if pair["compare"] == "full":
        assert ours == logged
        known = [p.value for p in main.params]
        assert known == pair["params"]
    elif pair["compare"] == "fragment":
        assert logged in ours
    elif pair["compare"] == "outer":
        # The statement around the relation sub-select: select list, `(id) IN (SELECT`, the filter, OFFSET.
        head = logged.split(" IN (SELECT ")[0]
        assert ours.startswith(head + " IN (SELECT ")
        assert '"views" > $1' in ours and ours.endswith(") OFFSET $2")
    else:
        select_list = logged.split(" FROM ")[0]
        assert ours.split(" FROM ")[0] == select_list
        tail = logged[logged.index(" ORDER BY "):]
        assert ours.endswith(tail)
        assert [p.value for p in main.params if p.known] == pair["params"][1:]
        assert main.params[0].kind == LIKE and main.params[0].pattern == "%{}%" and not main.params[0].known
        follow_up = t.statements[1]
        assert follow_up.values_from == 0
        sql, params = expand_list(follow_up, 10)
        assert normalise(sql) == normalise(pair["follow_up"])
        assert len(params) == 11


SCHEMA = """
enum OrderStatus {
  PENDING
  PAID
  DELIVERED
}

model User {
  id        String   @id @default(uuid()) @db.Uuid
  email     String   @unique
  name      String?
  createdAt DateTime @default(now())
  orders    Order[]
  profile   Profile?
  tags      Tag[]
}

model Profile {
  id     String @id @default(uuid()) @db.Uuid
  userId String @unique @db.Uuid
  user   User   @relation(fields: [userId], references: [id])
  bio    String
}

model Tag {
  id    Int    @id @default(autoincrement())
  name  String
  users User[]
}

model Order {
  id         String      @id @default(uuid()) @db.Uuid
  customerId String      @db.Uuid
  customer   User        @relation(fields: [customerId], references: [id])
  status     OrderStatus @default(PENDING)
  totalCents Int
  note       String?
  meta       Json?
  createdAt  DateTime    @default(now())
  updatedAt  DateTime    @updatedAt
  items      Item[]

  @@map("orders")
}

model Item {
  id       String @id @default(uuid()) @db.Uuid
  orderId  String @db.Uuid @map("order_id")
  order    Order  @relation(fields: [orderId], references: [id])
  quantity Int

  @@map("order_items")
}
"""


def _sql(code: str) -> str:
    return only(translate_code(SCHEMA, code)).statements[0].sql


def test_find_many_with_filters_order_and_page() -> None:
    t = only(translate_code(SCHEMA, 'await prisma.order.findMany({ where: { customerId: search, totalCents: '
                                    '{ gte: 100 } }, orderBy: { createdAt: "desc" }, take: 20, skip: 40 });'))
    s = t.statements[0]
    assert s.sql == (
        'SELECT "public"."orders"."id", "public"."orders"."customerId", "public"."orders"."status"::text, '
        '"public"."orders"."totalCents", "public"."orders"."note", "public"."orders"."meta", '
        '"public"."orders"."createdAt", "public"."orders"."updatedAt" FROM "public"."orders" '
        'WHERE ("public"."orders"."customerId" = $1 AND "public"."orders"."totalCents" >= $2) '
        'ORDER BY "public"."orders"."createdAt" DESC LIMIT $3 OFFSET $4')
    kinds = [(p.kind, p.known, p.value) for p in s.params]
    assert kinds == [(EQ, False, None), (LOW, True, 100), (LIMIT, True, 20), (OFFSET, True, 40)]
    [access] = s.accesses
    assert access.equality == ["customerId"] and access.range == ["totalCents"] and access.sort == ["createdAt"]
    assert access.limited


def test_enum_comparison_is_cast_like_prisma_does() -> None:
    sql = _sql('await prisma.order.findMany({ where: { status: "PAID" }, select: { id: true } });')
    assert 'WHERE "public"."orders"."status" = CAST($1::text AS "public"."OrderStatus") OFFSET $2' in sql


def test_find_unique_adds_the_empty_filter_and_limit() -> None:
    sql = _sql("await prisma.user.findUnique({ where: { email: search } });")
    assert sql.endswith('WHERE ("public"."User"."email" = $1 AND 1=1) LIMIT $2 OFFSET $3')


def test_text_filters_like_and_ilike() -> None:
    sql = _sql('await prisma.user.findMany({ where: { name: { contains: search } } });')
    assert '"public"."User"."name"::text LIKE $1' in sql
    t = only(translate_code(SCHEMA, 'await prisma.user.findMany({ where: { name: { startsWith: "Al", '
                                    'mode: "insensitive" } } });'))
    assert '"public"."User"."name" ILIKE $1' in t.statements[0].sql
    assert t.statements[0].params[0].value == "Al%"


def test_in_list_and_null_checks() -> None:
    sql = _sql('await prisma.order.findMany({ where: { id: { in: ["a", "b"] }, note: null, '
               'NOT: { totalCents: 0 } } });')
    assert '"public"."orders"."id" IN ($1,$2)' in sql
    assert '"public"."orders"."note" IS NULL' in sql
    assert '(NOT "public"."orders"."totalCents" = $3)' in sql
    computed = only(translate_code(SCHEMA, "await prisma.order.findMany({ where: { id: { in: ids } } });"))
    assert computed.statements[0].sql.count("$") == 11  # ten stand for the list, one for OFFSET


def test_to_one_relation_filter_is_a_left_join() -> None:
    sql = _sql('await prisma.item.findMany({ where: { order: { status: "PAID", customerId: search } } });')
    assert 'LEFT JOIN "public"."orders" AS "j1" ON ("j1"."id") = ("public"."order_items"."order_id")' in sql
    assert ('WHERE (("j1"."status" = CAST($1::text AS "public"."OrderStatus") AND "j1"."customerId" = $2) '
            'AND ("j1"."id" IS NOT NULL))') in sql


def test_to_many_filters_are_sub_selects() -> None:
    some = _sql("await prisma.order.findMany({ where: { items: { some: { quantity: { gt: 5 } } } } });")
    assert ('WHERE ("public"."orders"."id") IN (SELECT "t1"."order_id" FROM "public"."order_items" AS "t1" '
            'WHERE ("t1"."quantity" > $1 AND "t1"."order_id" IS NOT NULL))') in some
    none = _sql("await prisma.user.findMany({ where: { orders: { none: {} } } });")
    assert 'WHERE ("public"."User"."id") NOT IN (SELECT "t1"."customerId" FROM "public"."orders" AS "t1"' in none
    every = _sql("await prisma.user.findMany({ where: { orders: { every: { totalCents: { gt: 0 } } } } });")
    assert 'NOT IN (SELECT' in every and '(NOT "t1"."totalCents" > $1)' in every


def test_mutation_filters_use_sub_selects_not_joins() -> None:
    t = only(translate_code(SCHEMA, 'await prisma.item.updateMany({ where: { order: { status: "PAID" } }, '
                                    'data: { quantity: { increment: 1 } } });'))
    sql = t.statements[0].sql
    assert sql.startswith('UPDATE "public"."order_items" SET "quantity" = ("public"."order_items"."quantity" + $1)')
    assert ('WHERE ("public"."order_items"."order_id") IN (SELECT "t1"."id" FROM "public"."orders" AS "t1" '
            'WHERE ("t1"."status" = CAST($2::text AS "public"."OrderStatus") AND "t1"."id" IS NOT NULL))') in sql
    deleted = _sql('await prisma.order.deleteMany({ where: { createdAt: { lt: search } } });')
    assert deleted == 'DELETE FROM "public"."orders" WHERE "public"."orders"."createdAt" < $1'


def test_update_many_sets_updated_at_as_prisma_does() -> None:
    sql = _sql('await prisma.order.updateMany({ where: { customerId: search }, data: { note: "x" } });')
    assert sql.startswith('UPDATE "public"."orders" SET "note" = $1, "updatedAt" = $2 WHERE')


def test_count_aggregate_and_group_by() -> None:
    count = _sql('await prisma.order.count({ where: { customerId: search } });')
    assert count == ('SELECT COUNT(*) AS "_count._all" FROM (SELECT "public"."orders"."id" FROM "public"."orders" '
                     'WHERE "public"."orders"."customerId" = $1 OFFSET $2) AS "sub"')
    agg = _sql('await prisma.order.aggregate({ _sum: { totalCents: true }, where: { status: "PAID" } });')
    assert agg.startswith('SELECT SUM("totalCents") AS "_sum.totalCents" FROM (SELECT '
                          '"public"."orders"."totalCents" FROM "public"."orders" WHERE')
    grouped = _sql('await prisma.order.groupBy({ by: ["status"], _count: { _all: true }, '
                   'where: { customerId: search } });')
    assert grouped.startswith('SELECT "status"::text, COUNT(*) AS "_count._all" FROM "public"."orders" WHERE')
    assert 'GROUP BY "public"."orders"."status"' in grouped


def test_cursor_with_a_non_unique_order_fetches_everything_after_it() -> None:
    t = only(translate_code(SCHEMA, 'await prisma.order.findMany({ where: { customerId: search }, '
                                    'orderBy: { createdAt: "desc" }, take: 20, skip: 1, cursor: { id: search } });'))
    s = t.statements[0]
    assert '"public"."orders"."createdAt" <= (SELECT "public"."orders"."createdAt" FROM "public"."orders" ' \
           'WHERE ("public"."orders"."id") = ($2))' in s.sql
    assert " LIMIT " not in s.sql and s.in_memory.startswith("the cursor's `orderBy` is not unique")
    unique = only(translate_code(SCHEMA, 'await prisma.order.findMany({ orderBy: { id: "asc" }, take: 20, '
                                         'cursor: { id: search } });'))
    assert " LIMIT $2 OFFSET $3" in unique.statements[0].sql and not unique.statements[0].in_memory


def test_include_is_a_follow_up_query_per_relation() -> None:
    t = only(translate_code(SCHEMA, 'await prisma.order.findMany({ where: { status: "PAID" }, take: 10, '
                                    'include: { customer: true, items: { orderBy: { quantity: "desc" } } } });'))
    _, customer, items = t.statements
    assert customer.sql.endswith('FROM "public"."User" WHERE "public"."User"."id" IN ($1) OFFSET $2')
    assert items.sql.endswith('WHERE "public"."order_items"."order_id" IN ($1) '
                              'ORDER BY "public"."order_items"."quantity" DESC OFFSET $2')
    assert customer.values_from == 0 and items.values_from == 0 and items.list_param
    assert items.accesses[0].equality == ["orderId"]
    sql, params = expand_list(items, 3)
    assert 'IN ($1,$2,$3) ORDER BY "public"."order_items"."quantity" DESC OFFSET $4' in sql and len(params) == 4


def test_select_of_a_relation_adds_the_foreign_key_and_a_follow_up() -> None:
    t = only(translate_code(SCHEMA, "await prisma.item.findMany({ select: { quantity: true, order: "
                                    "{ select: { id: true } } } });"))
    main, order = t.statements
    assert main.sql.startswith('SELECT "public"."order_items"."quantity", "public"."order_items"."order_id" FROM')
    assert order.sql.startswith('SELECT "public"."orders"."id" FROM "public"."orders" WHERE "public"."orders"."id" IN')


def test_relation_joins_preview_feature_loads_relations_with_lateral_joins() -> None:
    schema = 'generator client {\n  provider = "prisma-client-js"\n  previewFeatures = ["relationJoins"]\n}\n' + SCHEMA
    t = only(translate_code(schema, 'await prisma.order.findMany({ take: 5, include: { items: true } });'))
    [statement] = t.statements
    assert 'LEFT JOIN LATERAL (SELECT COALESCE(JSONB_AGG("__prisma_data__"), \'[]\')' in statement.sql
    assert '"t1"."id" = "t2"."order_id"' in statement.sql
    per_query = only(translate_code(schema, 'await prisma.order.findMany({ relationLoadStrategy: "query", '
                                            'include: { items: true } });'))
    assert len(per_query.statements) == 2


def test_conditional_arguments_become_variants() -> None:
    result = translate_code(SCHEMA, 'await prisma.order.findMany({ where: search ? { customerId: search } : '
                                    'undefined, orderBy: { createdAt: "desc" }, take: 50 });')
    assert isinstance(result, list) and len(result) == 2
    with_filter, without = result
    assert "customerId" in with_filter.variant and 'WHERE "public"."orders"."customerId" = $1' in \
        with_filter.statements[0].sql
    assert "undefined" in without.variant and "WHERE 1=1 ORDER BY" in without.statements[0].sql
    spread = translate_code(SCHEMA, 'await prisma.order.findMany({ where: { status: "PAID", ...(search ? '
                                    '{ customerId: search } : {}) } });')
    assert isinstance(spread, list) and len(spread) == 2


@pytest.mark.parametrize(("code", "reason"), [
    ("await prisma.order.findMany(args);", "held in a variable"),
    ("await prisma.order.findMany({ where: filters });", "whose fields are unknown"),
    ("await prisma.order.findMany({ where: { title: 'x' } });", "`title` is not a field of model Order"),
    ("await prisma.user.findMany({ where: { tags: { some: { name: 'a' } } } });", "implicit many-to-many"),
    ("await prisma.order.findMany({ where: { meta: { path: ['a'], equals: 1 } } });", "JSON filters"),
    ("await prisma.order.findMany({ where: { ...filters } });", "cannot be read"),
    ("await prisma.order.findMany({ orderBy: { customer: { name: 'asc' } } });", "ordering by the relation"),
])
def test_what_cannot_be_translated_says_why(code: str, reason: str) -> None:
    result = translate_code(SCHEMA, code)
    assert isinstance(result, Untranslated), result
    assert reason in result.reason


_SHAPES = [
    'await prisma.order.findMany({ where: { OR: [{ status: "PAID" }, { totalCents: { lt: 5 } }] } });',
    'await prisma.order.findFirst({ where: { customer: { email: { endsWith: "@x.io" } } }, '
    'orderBy: [{ createdAt: "desc" }, { id: "asc" }] });',
    "await prisma.user.findMany({ where: { profile: { is: null } } });",
    "await prisma.user.findMany({ where: { profile: { isNot: { bio: 'x' } } } });",
    "await prisma.item.findMany({ where: { order: { isNot: null } } });",
    'await prisma.order.findMany({ cursor: { id: search }, orderBy: [{ createdAt: "desc" }, { totalCents: "asc" }], '
    "take: 5 });",
    "await prisma.order.findMany({ where: { note: { not: { in: ['a'] } } } });",
    'await prisma.order.findMany({ where: { note: { in: ["A"], mode: "insensitive" } } });',
    "await prisma.user.findMany({ include: { orders: { include: { items: true } } } });",
    'await prisma.order.groupBy({ by: ["status", "customerId"], _sum: { totalCents: true }, orderBy: '
    '{ customerId: "asc" }, take: 3 });',
    "await prisma.order.deleteMany({ where: { items: { none: {} } } });",
]


@pytest.mark.parametrize("code", _SHAPES)
def test_every_translation_is_valid_postgresql(code: str) -> None:
    schema = 'generator client {\n  provider = "prisma-client-js"\n  previewFeatures = ["relationJoins"]\n}\n' \
        + SCHEMA if "include" in code else SCHEMA
    for translation in translate_code(schema, code):  # type: ignore[union-attr]
        for statement in translation.statements:
            pglast.parse_sql(expand_list(statement, 3)[0])
