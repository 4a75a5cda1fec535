"""Speed by construction (issue #19): each file is parsed once per review, a change without database files loads no
heavy stack, and the config's runtime dataclasses keep the file format's defaults."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from gitutil import commit, make_repo

import bot.prisma.load
import bot.sql.load
import bot.ts.extract
from bot.config import Config, parse_config
from bot.pipeline import review
from bot.testing import change_from_trees

ROOT = Path(__file__).resolve().parents[2]

SCHEMA = """datasource db {
  provider = "postgresql"
  url      = env("DATABASE_URL")
}

model User {
  id     String  @id
  email  String  @unique
  orders Order[]
}

model Order {
  id     String @id
  userId String
  user   User   @relation(fields: [userId], references: [id])
}
"""
INIT = ('CREATE TABLE "User" ("id" TEXT NOT NULL, "email" TEXT NOT NULL, CONSTRAINT "User_pkey" PRIMARY KEY ("id"));\n'
        'CREATE TABLE "Order" ("id" TEXT NOT NULL, "userId" TEXT NOT NULL, '
        'CONSTRAINT "Order_pkey" PRIMARY KEY ("id"));\n')
QUERY = """import { prisma } from "./db";

export async function totals(ids: string[]) {
  for (const id of ids) {
    await prisma.order.findMany({ where: { userId: id } });
  }
}
"""
# An old problem the change leaves as it is: the base side of the file must be analysed to show it is old.
OLD_N1 = """
export async function emails(ids: string[]) {
  for (const id of ids) {
    await prisma.user.findUnique({ where: { id } });
  }
}
"""
LOCK = 'provider = "postgresql"\n'


def _trees(query: str = QUERY + OLD_N1) -> tuple[dict[str, str], dict[str, str]]:
    base = {
        "prisma/schema.prisma": SCHEMA,
        "prisma/migrations/migration_lock.toml": LOCK,
        "prisma/migrations/20240101000000_init/migration.sql": INIT,
        "src/orders.ts": query,
    }
    head = {
        **base,
        "prisma/schema.prisma": SCHEMA.replace("  userId String\n", "  userId String\n  total  Float\n"),
        "prisma/migrations/20240201000000_total/migration.sql": 'ALTER TABLE "Order" ADD COLUMN "total" DOUBLE '
                                                                'PRECISION NOT NULL;\n',
        "src/orders.ts": query.replace("findMany({ where: { userId: id } })",
                                       "findMany({ where: { userId: id }, take: 10 })"),
    }
    return base, head


def test_each_file_is_parsed_once_per_review(monkeypatch: pytest.MonkeyPatch) -> None:
    """Schema, migration and TS/JS parses are counted by the exact text parsed: the base and head versions of a
    modified file are two texts, each parsed once, however many rules (and the base-side pass) read them."""
    parsed: Counter[tuple[str, str]] = Counter()

    def counting(kind: str, real, text_of):  # type: ignore[no-untyped-def]
        def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
            parsed[(kind, text_of(*args, **kwargs))] += 1
            return real(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(bot.prisma.load, "parse", counting("prisma", bot.prisma.load.parse, lambda text, *a, **k: text))
    monkeypatch.setattr(bot.sql.load, "parse_postgres",
                        counting("sql", bot.sql.load.parse_postgres, lambda text, *a, **k: text))
    monkeypatch.setattr(bot.ts.extract, "parse",
                        counting("ts", bot.ts.extract.parse, lambda path, data, *a, **k: data.decode()))
    base, head = _trees()
    result = review(change_from_trees(base, head), Config())

    assert result.findings, "the review ran its rules (otherwise parsing once proves nothing)"
    kinds = Counter(kind for kind, _ in parsed)
    # Both versions of the schema and the query file, and both migrations (the history replay reads the old one).
    assert kinds == {"prisma": 2, "sql": 2, "ts": 2}, parsed
    twice = {key[0]: n for key, n in parsed.items() if n > 1}
    assert not twice, f"parsed more than once in one review: {twice}"
    assert not [f for f in result.findings if f.key.startswith("emails:")], "the old N+1 is not the change's"

    # When every head finding of the file is on code its base version does not have, no base finding can match:
    # the base version is not parsed at all. (A missing index is about the index a call needs, so the base file
    # must not query the same model either: here the base version had no query.)
    parsed.clear()
    base, head = _trees(QUERY)
    base["src/orders.ts"] = 'import { prisma } from "./db";\n\nexport const unused = 1;\n'
    result = review(change_from_trees(base, head), Config())
    assert [f.rule for f in result.findings if f.path == "src/orders.ts"]
    assert Counter(kind for kind, _ in parsed)["ts"] == 1, parsed


_HEAVY = ("bot.app", "bot.github", "bot.llm", "bot.plans", "bot.trace.", "bot.checks", "bot.sql", "bot.prisma",
          "bot.ts", "bot.registry", "pydantic", "yaml", "pglast", "sqlglot", "tree_sitter", "anthropic", "httpx",
          "fastapi", "uvicorn", "starlette", "sqlalchemy", "alembic", "psycopg", "redis", "huey", "github", "jwt")


def _run_check(argv: list[str], preamble: str = "") -> dict[str, object]:
    """`dbreview check` in a fresh interpreter: its exit code and the modules it imported."""
    script = ("import json, sys\nfrom bot.cli import main\n" + preamble
              + f"code = main({argv!r})\n"
              "print(json.dumps({'code': code, 'modules': sorted(sys.modules)}))\n")
    env = {**os.environ, "ANTHROPIC_API_KEY": "", "NO_COLOR": "1"}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120,
                          cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _modules_after_check(repo: Path, *extra: str) -> list[str]:
    out = _run_check(["check", "--repo", str(repo), "--base", "HEAD~1", "--head", "HEAD", *extra])
    assert out["code"] == 0
    return out["modules"]  # type: ignore[return-value]


def test_check_without_database_files_loads_no_heavy_stack(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {"README.md": "# app\n", "src/index.ts": "export const x = 1;\n"})
    commit(repo, {"src/index.ts": "export const x = 2;\n", "README.md": "# app\nmore\n"})
    loaded = _modules_after_check(repo, "--no-llm")
    # `bot.trace` itself (its entry points, no import) is read to see whether a trace is configured; no module of
    # the trace stack loads.
    heavy = [m for m in loaded if m.startswith(_HEAVY)]
    assert not heavy, f"`check --no-llm` on a change without database files imported {heavy}"


def test_check_on_schema_and_migrations_loads_no_ts_parser_llm_or_server(tmp_path: Path) -> None:
    """A database change loads the SQL and Prisma analysis, and still not tree-sitter (no TS/JS file), sqlglot
    (a PostgreSQL migration), pydantic (no config file), nor the App, GitHub, LLM or measured-plans stacks."""
    base, head = _trees()
    repo = make_repo(tmp_path, {p: t for p, t in base.items() if not p.endswith(".ts")})
    commit(repo, {p: t for p, t in head.items() if not p.endswith(".ts")})
    # Without --no-llm and without an API key: the review says the LLM review is off without loading it.
    loaded = _modules_after_check(repo, "--fail-on", "never")
    assert "bot.checks.schema" in loaded and "pglast" in loaded  # the review did run
    # Nor the TS extractor and call graph (~25 ms): the query analyzer runs for dropped columns, and nothing is dropped.
    unwanted = ("tree_sitter", "sqlglot", "pydantic", "yaml", "bot.app", "bot.github", "bot.llm", "bot.plans.model",
                "bot.plans.analyzer", "bot.trace.runner", "anthropic", "fastapi", "sqlalchemy", "psycopg", "github",
                "bot.ts.extract", "bot.ts.model", "bot.ts.callgraph", "bot.checks.query.n_plus_one")
    assert not [m for m in loaded if m.startswith(unwanted) and m != "bot.llm_note"]


def test_config_dataclasses_keep_the_file_formats_defaults() -> None:
    """The runtime config is plain dataclasses; the pydantic models define the file format. Same defaults."""
    from bot.config_models import Config as FileFormat
    from bot.config_models import to_config

    assert to_config(FileFormat()) == Config()
    assert parse_config("") == Config(source=".dbreview.yml")


def test_config_file_values_reach_the_dataclasses() -> None:
    config = parse_config("fail_on: warning\nenable: [naming]\nrules:\n  prisma/float-money: off\n"
                          "  prisma/too-many-indexes: {severity: info, max_indexes: 8}\n"
                          "paths:\n  schema: [db/*.prisma]\nllm:\n  max_findings: 3\nlimits:\n  review_seconds: 30\n"
                          "path_instructions:\n  - path: src/**\n    instructions: be brief\n")
    assert config.fail_on == "warning" and config.enable == ["naming"]
    assert config.rules["prisma/float-money"] == "off"
    assert config.paths.schema_ == ["db/*.prisma"]
    assert config.llm.max_findings == 3 and config.limits.review_seconds == 30
    assert config.path_instructions[0].instructions == "be brief"
    from bot.registry import all_rules

    too_many = all_rules()["prisma/too-many-indexes"]
    assert config.rule_options(too_many)["max_indexes"] == 8
    assert config.severity_for(too_many, too_many.severity).value == "info"
    assert Config.model_validate({"feedback": {"keep_inline": ["prisma/float-money"]}}).feedback.keep_inline == [
        "prisma/float-money"]


def test_prefetch_reads_many_files_in_one_git_exchange(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A history replay reads every migration: GitSnapshot.prefetch fetches them in batches (names written together,
    answers read together), and the reads after it come from the cache, byte for byte what one-by-one reads give."""
    import bot.gitrepo
    from bot.change import prefetch
    from bot.gitrepo import GitSnapshot

    files = {f"prisma/migrations/2024010{i}_m/migration.sql": f"CREATE TABLE t{i} (id int);\n" for i in range(8)}
    files["bin.dat"] = b"\x00\x01 binary \xff"
    repo = make_repo(tmp_path, files)
    wanted = [*files, "absent.sql", "prisma"]  # a missing file and a folder read as None, as read_bytes gives them
    expected = {p: GitSnapshot(repo, "HEAD").read_bytes(p) for p in wanted}
    assert expected["absent.sql"] is None and expected["prisma"] is None

    monkeypatch.setattr(bot.gitrepo, "_PREFETCH_BYTES", 150)  # a few names per batch: batches follow each other
    snapshot = GitSnapshot(repo, "HEAD")
    flushes = Counter[str]()
    real_proc = snapshot._cat_file_proc

    def counting_proc():  # type: ignore[no-untyped-def]
        flushes["batch"] += 1
        return real_proc()

    monkeypatch.setattr(snapshot, "_cat_file_proc", counting_proc)
    prefetch(snapshot, wanted)
    assert 1 < flushes["batch"] < len(wanted), flushes  # several names per exchange, more than one batch

    def no_more_git(spec: str) -> bytes | None:
        raise AssertionError(f"read {spec} again after prefetch")

    monkeypatch.setattr(snapshot, "_cat_file", no_more_git)
    assert {p: snapshot.read_bytes(p) for p in wanted} == expected


def test_typed_name_patterns_find_what_they_found_without_the_word_boundary() -> None:
    """The `\\b` in front of the typed-name patterns is for speed only: on code full of near misses (names inside
    words, `?:` and `!:`, types with `.` and `<`, a ternary's `a ? b : C`) both spellings find the same pairs."""
    import re

    from bot.ts import clients

    text = "\n".join([
        "class A { constructor(private readonly store: DatabaseService, db!: DbService, x?: Foo.Bar) {} }",
        "const tx: Prisma.TransactionClient = a; let p2:PrismaClient; fooBar_baz : typeof prismaClient",
        "const v = cond ? one: Two : three; itemsé: PrismaService; a:b:C; x: Map<string, Db>; $s: Repo",
        "  id : ExtendedPrismaClient<typeof x>;\tnotes:\n  Notes; ab12: Q1",
    ])
    for pattern in (clients._TYPED_NAME, clients._CLASS_TYPED_NAME):
        unbounded = re.compile(pattern.pattern.removeprefix(r"\b"), pattern.flags)
        assert pattern.findall(text) == unbounded.findall(text) != []


def test_unchanged_files_of_a_multi_file_schema_are_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """prisma/schema/*.prisma: the files a change leaves alone are the same text at base and head, and the two sides'
    schemas share their parse (rallly and comp re-parsed a dozen such files per review)."""
    parsed: Counter[tuple[str, str]] = Counter()
    real = bot.prisma.load.parse

    def counting(text, path, *a, **k):  # type: ignore[no-untyped-def]
        parsed[(path, text)] += 1
        return real(text, path, *a, **k)

    monkeypatch.setattr(bot.prisma.load, "parse", counting)
    datasource, models = SCHEMA.split("model User", 1)
    user, order = ("model User" + models).split("model Order", 1)
    base = {"prisma/schema/schema.prisma": datasource, "prisma/schema/user.prisma": user,
            "prisma/schema/order.prisma": "model Order" + order,
            "prisma/migrations/migration_lock.toml": LOCK,
            "prisma/migrations/20240101000000_init/migration.sql": INIT}
    head = {**base, "prisma/schema/order.prisma": base["prisma/schema/order.prisma"].replace(
        "  userId String\n", "  userId String\n  total  Float\n")}
    result = review(change_from_trees(base, head), Config())

    assert any(f.path == "prisma/schema/order.prisma" for f in result.findings), "the schema rules ran"
    assert parsed == {**{(p, t): 1 for p, t in base.items() if p.endswith(".prisma")},
                      ("prisma/schema/order.prisma", head["prisma/schema/order.prisma"]): 1}, parsed


def test_strong_prisma_signs_split_up_answer_as_the_one_alternation_did() -> None:
    """calls_prisma looks for each strong sign on its own (for speed) and checks the `\\b` before a client's name by
    hand: on near misses (a name inside a word, a non-ASCII letter before it, a match at the very start, a sign
    only later in the text) the answer is the old single pattern's."""
    import re

    from bot import surfaces

    old = re.compile(
        r"@prisma/client|PrismaClient|\$transaction\s*\(|\$queryRaw|\$executeRaw|\bPrisma\.(sql|raw|join)\b|"
        r"\b(?:prisma|db|tx|prismaService|prismaClient)\s*\.\s*[a-z]\w*\s*\.\s*(?:"
        + surfaces._PRISMA_OPERATIONS + r")\s*\(")
    samples = [
        "db.user.findMany(", "xdb.user.findMany(", "édb.user.findMany(", "_tx.order.update(", "a.db.user.count (",
        "mydb.user.create( ; db.user.create(", "prismaService . user . upsert(", "prismaX.user.upsert(",
        "await $transaction (", "$transactions", "Prisma.sql`x`", "XPrisma.sql`", "Prisma.sqlx", "use $queryRawUnsafe",
        "import { PrismaClient }", "'@prisma/client'", "db.User.findMany(", "db.user.findMany", "", "tx.\n a\n.delete(",
    ]
    for text in samples:
        assert surfaces._strong_prisma_sign(text) == (old.search(text) is not None), text


_QUERY_RULE_MODULES = ("bot.checks.query.n_plus_one", "bot.checks.query.transactions", "bot.checks.query.unbounded",
                       "bot.checks.query.overfetch", "bot.checks.query.raw_sql", "bot.checks.query.mass_write",
                       "bot.checks.query.index_advisor", "bot.checks.query.blast_radius",
                       "bot.checks.query.unawaited")


def _check_json(repo: Path, preload_all_rules: bool) -> tuple[dict[str, object], list[str]]:
    argv = ["check", "--repo", str(repo), "--base", "HEAD~1", "--head", "HEAD", "--no-llm", "--format", "json",
            "--output", str(repo.parent / f"out-{preload_all_rules}.json")]
    out = _run_check(argv, "from bot.registry import all_rules\nall_rules()\n" if preload_all_rules else "")
    report = json.loads((repo.parent / f"out-{preload_all_rules}.json").read_text())
    report["summary"].pop("elapsed_s", None)
    return report, out["modules"]


@pytest.mark.parametrize("with_schema", [True, False])
def test_a_migration_change_loads_no_query_rule_and_finds_the_same(tmp_path: Path, with_schema: bool) -> None:
    """A review imports only the rule families its change needs (bot.pipeline.analyzers): a change without TS/JS
    files never imports the query rule modules (nor the schema rules without a schema change), and finds exactly
    what it finds with every rule module loaded beforehand."""
    base, head = _trees()
    # A column the change drops, still used by the (unchanged) query file: query/dropped-column-used must be found
    # without the query files in the change.
    head["prisma/migrations/20240301000000_drop/migration.sql"] = ('ALTER TABLE "User" DROP COLUMN "email";\n'
                                                                  'CREATE INDEX "x" ON "Order" ("userId");\n')
    head["src/orders.ts"] = base["src/orders.ts"] = QUERY + OLD_N1.replace("findUnique({ where: { id } })",
                                                                          "findMany({ where: { email: id } })")
    if not with_schema:
        head["prisma/schema.prisma"] = base["prisma/schema.prisma"]
    repo = make_repo(tmp_path, base)
    commit(repo, head)
    lazy, loaded = _check_json(repo, preload_all_rules=False)
    eager, eager_loaded = _check_json(repo, preload_all_rules=True)
    assert set(_QUERY_RULE_MODULES) <= set(eager_loaded)
    assert not [m for m in loaded if m in _QUERY_RULE_MODULES]
    assert ("bot.checks.schema" in loaded) is with_schema
    rules = {f["rule"] for f in lazy["findings"]}
    assert {"migration/index-not-concurrent", "query/dropped-column-used"} <= rules, rules
    assert not with_schema or any(r.startswith("prisma/") for r in rules), rules
    assert lazy == eager


def test_the_complete_registry_has_every_rule_a_check_module_defines() -> None:
    """all_rules() imports the families explicitly (bot.checks.load_all): a rule module it missed would be
    unknown to config validation and `dbreview rules`. Importing every module under bot/checks adds no rule."""
    import importlib
    import pkgutil

    import bot.checks
    from bot.registry import RULES, all_rules

    before = set(all_rules())
    for info in pkgutil.walk_packages(bot.checks.__path__, "bot.checks."):
        importlib.import_module(info.name)
    assert set(RULES) == before


def test_schema_twins_of_migration_rules_are_schema_rules() -> None:
    """build_env imports only the schema family to see a twin rule (bot/checks/migration/__init__.py)."""
    script = ("import bot.checks.schema\nfrom bot.checks.migration.design import SCHEMA_TWINS\n"
              "from bot.registry import RULES\n"
              "assert all(t in RULES for twins in SCHEMA_TWINS.values() for t in twins)\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr


def test_git_diff_hunks_are_parsed_when_read_and_equal_the_whole_parse(tmp_path: Path) -> None:
    """git_change defers each file's hunks (bot/change.py parse_diff): the same files, statuses and hunks as the
    whole parse, and a review of the database files never parses the lockfile's."""
    from bot.change import parse_diff
    from bot.gitrepo import _DIFF_ARGS, _git, git_change

    base, head = _trees()
    base.update({"package-lock.json": "".join(f'  "dep{i}": "1.0.{i}",\n' for i in range(300)),
                 "old.txt": "gone\n", "moved/a.txt": "same\nlines\n", "empty.txt": "", "crlf.txt": "a\r\nb\r\n",
                 "logo.png": b"\x89PNG\r\n\x1a\n\x00\x00binary"})
    head.update({"package-lock.json": base["package-lock.json"].replace('"1.0.7"', '"1.0.8"') + '  "x": "2"\n',
                 "old.txt": None, "moved/a.txt": None, "moved/b.txt": "same\nlines\n", "empty.txt": "now text",
                 "crlf.txt": "a\r\nc\r\n", "logo.png": b"\x89PNG\r\n\x1a\n\x00\x01binary"})
    repo = make_repo(tmp_path, base)
    commit(repo, head)
    raw = _git(repo, *_DIFF_ARGS, "HEAD~1", "HEAD").decode()
    eager, deferred = parse_diff(raw), parse_diff(raw, defer_hunks=True)
    assert type(deferred[0]).__name__ == "_DeferredHunksFile"
    assert not any("hunks" in vars(f) for f in deferred)
    assert [(f.path, f.status, f.old_path, f.is_binary) for f in deferred] == \
        [(f.path, f.status, f.old_path, f.is_binary) for f in eager]
    assert deferred == eager and eager == deferred  # reads every deferred file's hunks
    assert {f.status.value for f in eager} == {"added", "deleted", "modified", "renamed"}

    change = git_change(repo, "HEAD~1", "HEAD")
    result = review(change, Config())
    assert result.findings
    lock = change.file("package-lock.json")
    assert lock is not None and "hunks" not in vars(lock)
    assert lock.added_lines == next(f for f in eager if f.path == "package-lock.json").added_lines
