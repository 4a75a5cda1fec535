# ruff: noqa: E501  (Prisma writes long SQL lines; fixtures keep them verbatim)
"""Every other tool's rule name a rule declares (`aliases`, which keep `-- squawk-ignore <name>` comments working and
are listed on the rule pages) is backed by that tool's canonical example: the statement from the tool's own docs,
run as a Prisma migration on tables the history created (so they hold data), makes the rule fire. A declared alias
without an example here fails the first test: declare only what fires."""

from __future__ import annotations

import pytest
from mig_fixtures import INIT, of, run

from bot.registry import all_rules

# (tool:name, our rule, the example adapted to the fixture's tables, the rule's options it needs)
EXAMPLES: list[tuple[str, str, str, str | None]] = [
    # squawk (docs/docs/<rule>.md at sbdchd/squawk@5125ddf; table names mapped onto "Order"/"User")
    ("squawk:adding-field-with-default", "migration/add-column-rewrite",
     'ALTER TABLE "Order" ADD COLUMN "foo" integer GENERATED ALWAYS AS ("id" + 1) STORED;', None),
    ("squawk:adding-foreign-key-constraint", "migration/constraint-not-valid",
     'ALTER TABLE "Order" ADD CONSTRAINT "fk_user" FOREIGN KEY ("userId") REFERENCES "User" ("id");', None),
    ("squawk:adding-not-nullable-field", "migration/set-not-null",
     'ALTER TABLE "Order" ALTER COLUMN "userId" SET NOT NULL;', None),
    ("squawk:adding-required-field", "migration/add-required-column",
     'ALTER TABLE "Order" ADD COLUMN "foo" boolean NOT NULL;', None),
    ("squawk:adding-serial-primary-key-field", "migration/unique-without-index",
     'ALTER TABLE "Order" DROP CONSTRAINT "Order_pkey";\nALTER TABLE "Order" ADD PRIMARY KEY ("id");', None),
    ("squawk:ban-alter-domain-with-add-constraint", "migration/constraint-not-valid",
     "ALTER DOMAIN domain_name ADD CONSTRAINT constraint_name CHECK (value > 0);", None),
    ("squawk:ban-char-field", "migration/new-table-types",
     'CREATE TABLE "app_user" ("id" serial NOT NULL PRIMARY KEY, "name" char(100) NOT NULL);', None),
    ("squawk:ban-drop-column", "migration/drop-column", 'ALTER TABLE "Order" DROP COLUMN "status";', None),
    ("squawk:ban-drop-database", "migration/drop-table", "DROP DATABASE all_the_data;", None),
    ("squawk:ban-drop-default", "migration/drop-default",
     'ALTER TABLE "Order" ALTER COLUMN "status" DROP DEFAULT;', None),
    ("squawk:ban-drop-not-null", "migration/drop-not-null",
     'ALTER TABLE "Order" ALTER COLUMN "userId" DROP NOT NULL;', None),
    ("squawk:ban-drop-schema", "migration/drop-table", "DROP SCHEMA legacy CASCADE;", None),
    ("squawk:ban-drop-table", "migration/drop-table", 'DROP TABLE "Order";', None),
    ("squawk:ban-duplicate-column-assignments", "migration/duplicate-column-assignment",
     'UPDATE "Order" SET "total" = 1, "total" = 2;', None),
    ("squawk:ban-truncate-cascade", "migration/truncate-cascade", 'TRUNCATE "Order" CASCADE;', None),
    ("squawk:ban-uncommitted-transaction", "migration/transaction-control",
     'BEGIN;\nCREATE TABLE "users" ("id" bigint);', None),
    ("squawk:changing-column-type", "migration/column-type-change",
     'ALTER TABLE "Order" ALTER COLUMN "total" TYPE bigint;', None),
    ("squawk:constraint-missing-not-valid", "migration/constraint-not-valid",
     'ALTER TABLE "Order" ADD CONSTRAINT "positive_total" CHECK ("total" >= 0);', None),
    ("squawk:constraint-missing-not-valid", "migration/validate-same-transaction",
     'ALTER TABLE "Order" ADD CONSTRAINT "positive_total" CHECK ("total" >= 0) NOT VALID;\n'
     'ALTER TABLE "Order" VALIDATE CONSTRAINT "positive_total";', None),
    ("squawk:disallowed-unique-constraint", "migration/unique-without-index",
     'ALTER TABLE "Order" ADD CONSTRAINT "dist_id_uniq" UNIQUE ("userId");', None),
    ("squawk:prefer-bigint-over-int", "migration/new-table-types", 'CREATE TABLE "posts" ("id" serial primary key);', None),
    ("squawk:prefer-bigint-over-smallint", "migration/new-table-types",
     'CREATE TABLE "posts" ("id" smallserial primary key);', None),
    ("squawk:prefer-repack", "migration/blocking-maintenance", 'VACUUM FULL "Order";', None),
    ("squawk:prefer-text-field", "migration/new-table-types",
     'CREATE TABLE "app_user" ("id" serial NOT NULL PRIMARY KEY, "email" varchar(100) NOT NULL);', None),
    # Prisma writes DateTime as TIMESTAMP(3): reported with the option on (off by default, see the rule's page)
    ("squawk:prefer-timestamp-tz", "migration/new-table-types",
     'CREATE TABLE "app"."users" ("created_ts" timestamp, "modified_ts" timestamp without time zone);',
     "rules:\n  migration/new-table-types: {timestamp: true}\n"),
    ("squawk:renaming-column", "migration/rename", 'ALTER TABLE "Order" RENAME COLUMN "status" TO "state";', None),
    ("squawk:renaming-table", "migration/rename", 'ALTER TABLE "Order" RENAME TO "Purchase";', None),
    ("squawk:require-concurrent-index-creation", "migration/index-not-concurrent",
     'CREATE INDEX "Order_status_idx" ON "Order" ("status");', None),
    ("squawk:require-concurrent-index-deletion", "migration/drop-index-not-concurrent",
     'DROP INDEX "Order_userId_idx";', None),
    ("squawk:require-concurrent-partition-detach", "migration/blocking-maintenance",
     'ALTER TABLE "Order" DETACH PARTITION "Order_2023";', None),
    ("squawk:require-concurrent-reindex", "migration/blocking-maintenance", 'REINDEX TABLE "Order";', None),
    ("squawk:require-lock-timeout", "migration/missing-lock-timeout",
     'ALTER TABLE "Order" ADD COLUMN "c" boolean;', None),
    ("squawk:require-timeout-settings", "migration/missing-lock-timeout",
     'ALTER TABLE "Order" ADD COLUMN "c" boolean;', None),
    ("squawk:syntax-error", "migration/parse-error", 'ALTER TABLE "Order" ADD COLUMN;', None),
    ("squawk:transaction-nesting", "migration/transaction-control", "BEGIN;\nBEGIN;\nSELECT 1;\nCOMMIT;", None),
    # eugene (kaaveland/eugene docs/src/hints/*)
    ("eugene:E1", "migration/constraint-not-valid",
     'ALTER TABLE "Order" ADD CONSTRAINT "positive_total" CHECK ("total" > 0);', None),
    ("eugene:E2", "migration/set-not-null", 'ALTER TABLE "Order" ALTER COLUMN "userId" SET NOT NULL;', None),
    ("eugene:E4", "migration/long-held-lock",
     'ALTER TABLE "User" ADD COLUMN "bio" TEXT;\nCREATE INDEX "Order_status_idx" ON "Order" ("status");', None),
    ("eugene:E5", "migration/column-type-change", 'ALTER TABLE "Order" ALTER COLUMN "total" TYPE bigint;', None),
    ("eugene:E6", "migration/index-not-concurrent", 'CREATE INDEX "Order_status_idx" ON "Order" ("status");', None),
    ("eugene:E7", "migration/unique-without-index",
     'ALTER TABLE "Order" ADD CONSTRAINT "order_user_key" UNIQUE ("userId");', None),
    ("eugene:E9", "migration/missing-lock-timeout", 'ALTER TABLE "Order" ADD COLUMN "c" boolean;', None),
    ("eugene:E11", "migration/add-column-rewrite", 'ALTER TABLE "Order" ADD COLUMN "seq" bigserial;', None),
    ("eugene:E15", "migration/fk-without-index",
     'CREATE TABLE "Refund" ("id" TEXT PRIMARY KEY, "orderId" INTEGER NOT NULL REFERENCES "Order"("id"));', None),
]

PARTITIONED = INIT + '\nCREATE TABLE "Order_2023" (LIKE "Order");\n'


def _declared() -> set[tuple[str, str]]:
    return {(alias, rid) for rid, rule in all_rules().items() if rid.startswith("migration/")
            for alias in rule.aliases}


def test_every_declared_migration_alias_has_a_canonical_example() -> None:
    covered = {(alias, rule) for alias, rule, _sql, _opt in EXAMPLES}
    missing = sorted(_declared() - covered)
    assert missing == [], f"aliases declared without a canonical example here: {missing}"
    stale = sorted(covered - _declared())
    assert stale == [], f"examples for aliases no rule declares: {stale}"


@pytest.mark.parametrize(("alias", "rule", "sql", "config"), EXAMPLES, ids=[f"{a}->{r}" for a, r, _s, _c in EXAMPLES])
def test_alias_example_fires_the_rule(alias: str, rule: str, sql: str, config: str | None) -> None:
    found = run(sql + "\n", init=PARTITIONED, config=config)
    assert of(found, rule), f"{alias}: {rule} does not fire on its canonical example; got {[f.rule for f in found]}"


def test_squawk_ignore_with_an_alias_suppresses_the_rule_it_names() -> None:
    from bot.suppress import parse_directives

    (d,) = parse_directives("m.sql", "-- squawk-ignore ban-drop-database\nDROP DATABASE x;\n")
    assert d.rules == {"migration/drop-table"}
