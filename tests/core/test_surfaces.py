"""Surface detection on realistic layouts: monorepos, multi-file schemas, configured paths."""

from __future__ import annotations

from bot.config import parse_config
from bot.pipeline import review
from bot.surfaces import calls_prisma, classify
from bot.testing import change_from_trees

SCHEMA = 'datasource db {\n  provider = "postgresql"\n  url = env("DATABASE_URL")\n}\nmodel User {\n  id Int @id\n}\n'


def _kinds(base: dict[str, str], head: dict[str, str], config_text: str = "") -> dict[str, list[str]]:
    change = change_from_trees(base, head)
    surfaces = classify(change, parse_config(config_text))
    return {
        "schema": [f.path for f in surfaces.schema],
        "migration": [f.path for f in surfaces.migrations],
        "query": [f.path for f in surfaces.query],
    }


def test_default_prisma_layout() -> None:
    head = {
        "prisma/schema.prisma": SCHEMA + "model Post {\n  id Int @id\n}\n",
        "prisma/migrations/20240101000000_init/migration.sql": "CREATE TABLE x ();\n",
        "prisma/migrations/migration_lock.toml": 'provider = "postgresql"\n',
        "src/posts.ts": "import { prisma } from './db'\nexport const all = () => prisma.post.findMany()\n",
        "src/util.ts": "export const add = (a: number, b: number) => a + b\n",
        "README.md": "docs\n",
    }
    kinds = _kinds({"prisma/schema.prisma": SCHEMA}, head)
    assert kinds["schema"] == ["prisma/schema.prisma"]
    assert sorted(kinds["migration"]) == [
        "prisma/migrations/20240101000000_init/migration.sql",
        "prisma/migrations/migration_lock.toml",
    ]
    assert kinds["query"] == ["src/posts.ts"]


def test_monorepo_with_singular_migration_folder_and_multi_file_schema() -> None:
    head = {
        "packages/database/prisma/schema/main.prisma": SCHEMA,
        "packages/database/prisma/schema/billing/invoice.prisma": "model Invoice {\n  id Int @id\n}\n",
        "packages/database/migration/20240101_init/migration.sql": "SELECT 1;\n",
        "apps/web/app/api/invoices/route.ts": (
            "export async function GET() { return db.invoice.findMany({ take: 5 }) }\n"
        ),
        "apps/web/node_modules/.prisma/client/index.js": "prisma.user.findMany()\n",
        "apps/web/generated/prisma/index.d.ts": "export declare class PrismaClient {}\n",
    }
    change = change_from_trees({}, head)
    surfaces = classify(change, parse_config(""))
    assert surfaces.head_layout.schemas == [[
        "packages/database/prisma/schema/billing/invoice.prisma",
        "packages/database/prisma/schema/main.prisma",
    ]]
    assert [f.path for f in surfaces.migrations] == ["packages/database/migration/20240101_init/migration.sql"]
    assert [f.path for f in surfaces.query] == ["apps/web/app/api/invoices/route.ts"]


def test_package_json_prisma_schema_path() -> None:
    head = {
        "package.json": '{"name": "x", "prisma": {"schema": "db/main.prisma"}}',
        "db/main.prisma": SCHEMA,
    }
    change = change_from_trees({}, head)
    surfaces = classify(change, parse_config(""))
    assert surfaces.head_layout.schemas == [["db/main.prisma"]]
    assert [f.path for f in surfaces.schema] == ["db/main.prisma"]


def test_prisma_config_ts_paths() -> None:
    head = {
        "prisma.config.ts": (
            'import { defineConfig } from "prisma/config";\n'
            'export default defineConfig({ schema: "database/schema", migrations: { path: "database/sql" } });\n'
        ),
        "database/schema/a.prisma": SCHEMA,
        "database/schema/b.prisma": "model B {\n  id Int @id\n}\n",
    }
    change = change_from_trees({}, head)
    surfaces = classify(change, parse_config(""))
    assert surfaces.head_layout.schemas == [["database/schema/a.prisma", "database/schema/b.prisma"]]
    assert "database/sql" in surfaces.head_layout.migration_dirs


def test_prisma8_contract_and_ops_json() -> None:
    head = {"prisma/contract.prisma": SCHEMA, "migrations/app/20250101_init/ops.json": "[]\n"}
    kinds = _kinds({}, head)
    assert kinds["schema"] == ["prisma/contract.prisma"]
    assert kinds["migration"] == ["migrations/app/20250101_init/ops.json"]


def test_configured_globs_and_ignore() -> None:
    config = 'paths:\n  query: ["services/**/*.ts"]\n  ignore: ["**/legacy/**"]\n'
    head = {
        "services/orders/repo.ts": "export const f = (c: any) => c.orders.all()\n",
        "services/legacy/old.ts": "prisma.user.findMany()\n",
        "web/page.ts": "prisma.user.findMany()\n",
    }
    change = change_from_trees({}, head)
    surfaces = classify(change, parse_config(config))
    assert [f.path for f in surfaces.query] == ["services/orders/repo.ts"]
    assert surfaces.ignored == ["services/legacy/old.ts"]


def test_no_database_surface() -> None:
    kinds = _kinds({"README.md": "a\n"}, {"README.md": "b\n", "src/math.ts": "export const x = [1].map(n => n)\n"})
    assert kinds == {"schema": [], "migration": [], "query": []}


def test_calls_prisma_signals() -> None:
    assert calls_prisma("import { PrismaClient } from '@prisma/client'")
    assert calls_prisma("await this.prisma.order.findMany({})")
    assert calls_prisma("await ctx.db.order.groupBy({ by: ['status'] })")
    assert calls_prisma("await tx.$transaction([])")
    assert not calls_prisma("const users = await fetch('/api/users'); users.map(u => u.name)")
    assert not calls_prisma("cache.delete(key); map.update(x)")


def test_bundles_and_huge_files_are_noted() -> None:
    huge = "import { prisma } from './db'\n" + "\n".join(
        f"export const f{i} = () => prisma.user.findMany({{ where: {{ id: {i} }} }})" for i in range(40_000))
    calls = ";".join(f"p.user.findMany({{where:{{id:{i}}}}})" for i in range(4000))
    minified = "var p=require('@prisma/client');" + calls
    head = {"big.ts": huge, "dist2/app.min.js": "prisma.user.findMany()\n", "web/chunk.js": minified,
            "src/ok.ts": "await prisma.user.findMany({ take: 1 })\n"}
    change = change_from_trees({}, head)
    surfaces = classify(change, parse_config(""))
    # The query analyzer notes huge and minified files itself; a *.min.js is never a query file.
    assert sorted(f.path for f in surfaces.query) == ["big.ts", "src/ok.ts", "web/chunk.js"]
    assert [path for path, _ in surfaces.skipped] == ["dist2/app.min.js"]
    result = review(change, parse_config(""))
    notes = result.notes
    assert any(n.startswith("skipped dist2/app.min.js") for n in notes)
    # A file too large to analyse is the author's to hear about: a finding, not a note.
    assert [f.path for f in result.findings if f.rule == "change/file-not-analysed"] == ["big.ts"]


def test_stray_sql_in_a_migrations_folder_is_migration_surface() -> None:
    base = {"prisma/migrations/migration_lock.toml": 'provider = "postgresql"\n',
            "prisma/migrations/20240101000000_init/migration.sql": "SELECT 1;\n"}
    head = {**base, "prisma/migrations/20240601000000_x/up.sql": "SELECT 2;\n",
            "prisma/migrations/fix.sql": "SELECT 3;\n", "scripts/seed.sql": "SELECT 4;\n"}
    kinds = _kinds(base, head)
    assert sorted(kinds["migration"]) == ["prisma/migrations/20240601000000_x/up.sql", "prisma/migrations/fix.sql"]


# -- real-PR replay (bench/real_prs.py) ------------------------------------------------------------------------------

PG_LOCK = 'provider = "postgresql"\n'


def test_each_migrations_folder_is_parsed_in_its_own_lock_files_dialect() -> None:
    # teable keeps a PostgreSQL and a SQLite history side by side; SQLite's PRAGMA is no PostgreSQL parse error.
    base = {
        "db/prisma/postgres/schema.prisma": SCHEMA,
        "db/prisma/postgres/migrations/migration_lock.toml": PG_LOCK,
        "db/prisma/sqlite/schema.prisma": SCHEMA.replace("postgresql", "sqlite"),
        "db/prisma/sqlite/migrations/migration_lock.toml": 'provider = "sqlite"\n',
    }
    head = {**base, "db/prisma/sqlite/migrations/20240101000000_x/migration.sql": (
        'PRAGMA foreign_keys=OFF;\nCREATE TABLE "new_User" ("id" INTEGER NOT NULL PRIMARY KEY);\n'
        'PRAGMA foreign_keys=ON;\n')}
    result = review(change_from_trees(base, head), parse_config(""))
    assert not [f for f in result.findings if f.rule == "migration/parse-error"]
    layout = classify(change_from_trees(base, head), parse_config("")).head_layout
    assert layout.provider_of("db/prisma/sqlite/migrations/20240101000000_x/migration.sql") == "sqlite"
    assert layout.provider_of("db/prisma/postgres/migrations/20240101000000_x/migration.sql") == "postgresql"


def test_another_tools_sql_history_is_not_a_prisma_migrations_folder() -> None:
    # umami's ClickHouse migrations: `migrations/<dir>/migration.sql`, but no lock file and no Prisma schema near.
    base = {
        "db/postgresql/schema.prisma": SCHEMA,
        "db/postgresql/migrations/migration_lock.toml": PG_LOCK,
        "db/postgresql/migrations/01_init/migration.sql": 'CREATE TABLE "User" ("id" INTEGER NOT NULL);\n',
        "db/clickhouse/schema.sql": "CREATE TABLE event (id UUID) ENGINE = MergeTree ORDER BY id;\n",
        "db/clickhouse/migrations/01_init/migration.sql": "CREATE TABLE event (id UUID) ENGINE = MergeTree;\n",
        "db/clickhouse/migrations/02_views/migration.sql": "CREATE TABLE v (id UUID) ENGINE = Memory;\n",
    }
    head = {k: v for k, v in base.items() if "/clickhouse/migrations/" not in k}
    head["db/clickhouse/migrations/03_x/migration.sql"] = "ALTER TABLE event ADD COLUMN x Nullable(String) (;\n"
    kinds = _kinds(base, head)
    assert kinds["migration"] == []
    result = review(change_from_trees(base, head), parse_config(""))
    assert result.findings == []
    assert any("not reviewed as Prisma migrations" in n and "03_x" in n for n in result.notes)
    # The same folder shape with its lock file, or beside a Prisma schema, is Prisma's.
    locked = {**head, "db/clickhouse/migrations/migration_lock.toml": PG_LOCK}
    assert {"db/clickhouse/migrations/03_x/migration.sql", "db/clickhouse/migrations/migration_lock.toml"} <= set(
        _kinds(base, locked)["migration"])
    near = {**head, "db/clickhouse/schema.prisma": SCHEMA}
    assert "db/clickhouse/migrations/03_x/migration.sql" in _kinds(base, near)["migration"]


def test_sqlite_table_redefinition_is_no_drop() -> None:
    # Prisma rebuilds a SQLite table (CREATE "new_T", copy, DROP "T", RENAME "new_T" TO "T"): no table or row is lost,
    # so neither the migration rules nor the code using the model see a drop (teable, 371 false errors once SQLite
    # folders were parsed as SQLite).
    sqlite = SCHEMA.replace("postgresql", "sqlite")
    base = {"prisma/schema.prisma": sqlite, "prisma/migrations/migration_lock.toml": 'provider = "sqlite"\n',
            "prisma/migrations/20240101000000_init/migration.sql": 'CREATE TABLE "User" ("id" INTEGER NOT NULL);\n',
            "src/users.ts": "import { prisma } from './db'\n"
                            "export const all = () => prisma.user.findMany({ take: 5 })\n"}
    redefine = ('-- RedefineTables\nPRAGMA foreign_keys=OFF;\n'
                'CREATE TABLE "new_User" ("id" INTEGER NOT NULL PRIMARY KEY, "name" TEXT);\n'
                'INSERT INTO "new_User" ("id") SELECT "id" FROM "User";\nDROP TABLE "User";\n'
                'ALTER TABLE "new_User" RENAME TO "User";\nPRAGMA foreign_keys=ON;\n')
    head = {**base, "prisma/migrations/20240201000000_name/migration.sql": redefine,
            "prisma/schema.prisma": sqlite.replace("  id Int @id\n", "  id Int @id\n  name String?\n"),
            "src/users.ts": base["src/users.ts"].replace("take: 5", "take: 10")}
    result = review(change_from_trees(base, head), parse_config(""))
    found = {f.rule for f in result.findings + result.preexisting}
    assert not found & {"migration/drop-table", "query/dropped-column-used", "migration/parse-error"}
    # A table dropped for good is still a drop.
    gone = {**base, "prisma/migrations/20240201000000_name/migration.sql": 'DROP TABLE "User";\n'}
    assert "migration/drop-table" in {f.rule for f in review(change_from_trees(base, gone), parse_config("")).findings}
