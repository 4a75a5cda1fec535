"""Migration analysis: dbreview vs squawk on Prisma-style SQL (times, finding counts, lock/destructive coverage).

    python bench/migration_bench.py            # generated 2,000-statement file, 500-migration folder, corpus
    python bench/migration_bench.py --sample 30   # also print a random sample of corpus findings to hand-check

squawk-cli is installed from PyPI into the running venv the first time the bench runs (it is not a dependency of
dbreview). Both tools see the same files. dbreview's time covers parsing, the history replay and every rule;
squawk's covers its process (it is a Rust binary: `squawk --reporter json`). squawk runs twice: with its default
config, and with `--assume-in-transaction` (Prisma runs a multi-statement migration.sql as one transaction), which
removes its new-table false positives and `prefer-robust-stmts`; coverage is checked against the latter.
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.checks.migration import file_findings  # noqa: E402
from bot.findings import Finding  # noqa: E402
from bot.sql.load import parse_migration_text  # noqa: E402
from bot.sql.state import Catalog, walk  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"

# squawk rules about locks, rewrites and destructive changes -> dbreview rules that report the same problem.
SQUAWK_TO_OURS: dict[str, set[str]] = {
    "require-concurrent-index-creation": {"migration/index-not-concurrent"},
    "require-concurrent-index-deletion": {"migration/drop-index-not-concurrent"},
    "adding-foreign-key-constraint": {"migration/constraint-not-valid"},
    "constraint-missing-not-valid": {"migration/constraint-not-valid", "migration/validate-same-transaction",
                                     "migration/unique-without-index"},
    "disallowed-unique-constraint": {"migration/unique-without-index"},
    "adding-serial-primary-key-field": {"migration/unique-without-index"},
    "adding-not-nullable-field": {"migration/set-not-null"},
    "adding-required-field": {"migration/add-required-column", "migration/rename-as-drop-add",
                              "migration/drop-column"},
    "adding-field-with-default": {"migration/add-column-rewrite"},
    "changing-column-type": {"migration/column-type-change", "migration/enum-value-removal"},
    "ban-drop-column": {"migration/drop-column", "migration/rename-as-drop-add"},
    "ban-drop-table": {"migration/drop-table"},
    "ban-drop-schema": {"migration/drop-table"},
    "ban-drop-database": {"migration/drop-table"},
    "renaming-column": {"migration/rename"},
    "renaming-table": {"migration/rename"},
    "ban-drop-not-null": {"migration/drop-not-null"},
    "ban-truncate-cascade": {"migration/truncate-cascade"},
    "prefer-repack": {"migration/blocking-maintenance"},
    "require-concurrent-reindex": {"migration/blocking-maintenance"},
    "ban-concurrent-index-creation-in-transaction": {"migration/concurrently-deploy-failure"},
    "ban-drop-type": {"migration/enum-value-removal"},
    "ban-drop-default": {"migration/drop-default", "migration/enum-value-removal"},
    "ban-alter-domain-with-add-constraint": {"migration/constraint-not-valid"},
    "ban-duplicate-column-assignments": {"migration/duplicate-column-assignment"},
    "transaction-nesting": {"migration/transaction-control"},
    "ban-uncommitted-transaction": {"migration/transaction-control"},
}
FILE_LEVEL = {"require-lock-timeout": "lock_timeout"}


def ensure_squawk() -> Path:
    exe = Path(sys.executable).parent / "squawk"
    if not exe.exists():
        print("installing squawk-cli into this venv (benchmark only) ...", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "squawk-cli"], check=True)
    return exe


# ---------------------------------------------------------------- generated Prisma-style input

EXISTING = """-- CreateTable
CREATE TABLE "User" ("id" TEXT NOT NULL, "email" TEXT NOT NULL, "name" TEXT, "bio" VARCHAR(100),
    CONSTRAINT "User_pkey" PRIMARY KEY ("id"));
-- CreateTable
CREATE TABLE "Order" ("id" SERIAL NOT NULL, "userId" TEXT NOT NULL, "status" TEXT NOT NULL DEFAULT 'new',
    "note" TEXT, CONSTRAINT "Order_pkey" PRIMARY KEY ("id"));
"""


def templates(i: int) -> list[str]:
    """Ten statements as `prisma migrate dev` writes them: a new model with its index and relation, and changes to
    existing models (the kinds a migration linter cares about)."""
    return [
        f'-- CreateTable\nCREATE TABLE "Item{i}" (\n    "id" TEXT NOT NULL,\n    "userId" TEXT NOT NULL,\n'
        f'    "price" DOUBLE PRECISION NOT NULL,\n    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,\n\n'
        f'    CONSTRAINT "Item{i}_pkey" PRIMARY KEY ("id")\n);',
        f'-- CreateIndex\nCREATE INDEX "Item{i}_userId_idx" ON "Item{i}"("userId");',
        f'-- AddForeignKey\nALTER TABLE "Item{i}" ADD CONSTRAINT "Item{i}_userId_fkey" FOREIGN KEY ("userId") '
        f'REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;',
        f'-- AlterTable\nALTER TABLE "User" ADD COLUMN     "f{i}" TEXT;',
        f'-- CreateIndex\nCREATE INDEX "User_f{i}_idx" ON "User"("f{i}");',
        f'-- AlterTable\nALTER TABLE "Order" ADD COLUMN     "c{i}" INTEGER NOT NULL;',
        f'-- AddForeignKey\nALTER TABLE "Order" ADD CONSTRAINT "Order_f{i}_fkey" FOREIGN KEY ("userId") '
        f'REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;',
        f'-- AlterTable\nALTER TABLE "User" ALTER COLUMN "f{i}" SET NOT NULL;',
        f'-- AlterTable\nALTER TABLE "User" DROP COLUMN "f{i}";',
        f'-- DropIndex\nDROP INDEX "Item{i}_userId_idx";',
    ]


def write_generated(tmp: Path) -> tuple[Path, Path, Path]:
    """(single 2,000-statement file, 500-migration folder, its init migration); the init creates the existing
    tables and is replayed as history, never linted."""
    single = tmp / "single"
    (single / "20240101000000_init").mkdir(parents=True)
    (single / "20240101000000_init" / "migration.sql").write_text(EXISTING)
    (single / "20240201000000_big").mkdir()
    stmts = [s for i in range(200) for s in templates(i)]
    (single / "20240201000000_big" / "migration.sql").write_text("\n\n".join(stmts) + "\n")
    folder = tmp / "folder"
    (folder / "20240101000000_init").mkdir(parents=True)
    (folder / "20240101000000_init" / "migration.sql").write_text(EXISTING)
    for m in range(500):
        i = m // 2
        part = templates(i)[:5] if m % 2 == 0 else templates(i)[5:]
        d = folder / f"2024{m + 1:06d}000000_m{m}"
        d.mkdir()
        (d / "migration.sql").write_text("\n\n".join(part[:4]) + "\n")
    return single, folder, folder / "20240101000000_init"


# ---------------------------------------------------------------- runners

def run_dbreview(root: Path, skip: set[str]) -> tuple[float, list[Finding], int]:
    """Replay the folder in order; every migration not in `skip` is analysed as if its own PR added it."""
    files = sorted(root.glob("*/migration.sql"))
    start = time.perf_counter()
    catalog = Catalog()
    findings: list[Finding] = []
    statements = 0
    for path in files:
        parsed = parse_migration_text(path.read_text(encoding="utf-8"), str(path))
        model = walk(parsed, catalog)
        if path.parent.name in skip:
            continue
        statements += len(parsed.statements)
        findings.extend(file_findings(model))
    return time.perf_counter() - start, findings, statements


def run_squawk(exe: Path, files: list[Path], *extra: str) -> tuple[float, list[dict]]:  # type: ignore[type-arg]
    start = time.perf_counter()
    proc = subprocess.run([str(exe), "--reporter", "json", *extra, *map(str, files)], capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    out = proc.stdout.strip()
    return elapsed, (json.loads(out) if out.startswith("[") else [])


def coverage(ours: list[Finding], squawk: list[dict], rules: set[str]  # type: ignore[type-arg]
             ) -> tuple[int, list[tuple[str, str, int]]]:
    by_file: dict[str, list[Finding]] = collections.defaultdict(list)
    for f in ours:
        by_file[str(Path(f.path).resolve())].append(f)
    checked = 0
    missed: list[tuple[str, str, int]] = []
    for s in squawk:
        rule = s.get("rule_name", "")
        if rule not in rules:
            continue
        path = str(Path(s["file"]).resolve())
        line = int(s["line"]) + 1  # squawk's json lines are 0-based
        if rule in FILE_LEVEL:
            checked += 1
            if not any(FILE_LEVEL[rule] in f.message for f in by_file[path]):
                missed.append((rule, path, line))
            continue
        if rule not in SQUAWK_TO_OURS:
            continue
        checked += 1
        if not any(f.rule in SQUAWK_TO_OURS[rule] and f.line <= line <= f.last_line for f in by_file[path]):
            missed.append((rule, path, line))
    return checked, missed


def statement_at(path: str, line: int) -> str:
    text = Path(path).read_text(encoding="utf-8")
    parsed = parse_migration_text(text, path)
    stmt = parsed.statement_at(line)
    return stmt.short if stmt else text.splitlines()[line - 1][:80]


def report(name: str, exe: Path, root: Path, skip: set[str], migrations: int) -> list[Finding]:
    ours_t, ours, statements = run_dbreview(root, skip)
    files = [p for p in sorted(root.glob("*/migration.sql")) if p.parent.name not in skip]
    sq_t, sq = run_squawk(exe, files)
    tx_t, sq_tx = run_squawk(exe, files, "--assume-in-transaction")
    # best of 5 each: the machine is shared, and the minimum is the least noisy estimate
    ours_best = min([ours_t] + [run_dbreview(root, skip)[0] for _ in range(4)])
    sq_best = min([sq_t] + [run_squawk(exe, files)[0] for _ in range(4)])
    print(f"\n== {name}: {migrations} migrations, {statements} statements")
    print(f"dbreview: {ours_best:.3f}s  {len(ours)} findings ({len(ours) / max(migrations, 1):.2f}/migration)")
    print(f"squawk  : {sq_best:.3f}s  {len(sq)} findings ({len(sq) / max(migrations, 1):.2f}/migration) default; "
          f"{len(sq_tx)} with --assume-in-transaction ({tx_t:.3f}s)")
    print(f"time ratio dbreview/squawk: {ours_best / sq_best:.2f}x   findings ratio (vs default): "
          f"{len(ours) / max(len(sq), 1):.2f}")
    print("  dbreview by rule:", dict(collections.Counter(f.rule.removeprefix('migration/') for f in ours)
                                      .most_common()))
    print("  squawk by rule  :", dict(collections.Counter(s.get('rule_name') for s in sq).most_common()))
    checked, missed = coverage(ours, sq_tx, set(SQUAWK_TO_OURS))
    print(f"  lock/destructive squawk findings (--assume-in-transaction) also reported by dbreview: "
          f"{checked - len(missed)}/{checked}")
    for rule, path, line in missed[:12]:
        print(f"    not ours: {rule} {Path(path).parent.name}:{line}  {statement_at(path, line)}")
    if len(missed) > 12:
        print(f"    ... {len(missed) - 12} more: {dict(collections.Counter(m[0] for m in missed))}")
    t_checked, t_missed = coverage(ours, sq_tx, set(FILE_LEVEL))
    print(f"  squawk require-lock-timeout findings in files where dbreview also asks for lock_timeout: "
          f"{t_checked - len(t_missed)}/{t_checked} (dbreview asks only when ACCESS EXCLUSIVE is requested on a "
          "table that holds data)")
    return ours


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sample", type=int, default=0, help="print N random corpus findings for a hand check")
    args = ap.parse_args()
    exe = ensure_squawk()
    print(subprocess.run([str(exe), "--version"], capture_output=True, text=True).stdout.strip())
    tmp = Path(tempfile.mkdtemp(prefix="dbreview-mig-bench-"))
    try:
        single, folder, _init = write_generated(tmp)
        report("generated 2,000-statement Prisma-style file", exe, single, {"20240101000000_init"}, 1)
        report("generated 500-migration folder", exe, folder, {"20240101000000_init"}, 500)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    corpus_findings: list[Finding] = []
    for lock in sorted(CORPUS.rglob("migration_lock.toml")):
        root = lock.parent
        n = len(list(root.glob("*/migration.sql")))
        corpus_findings += report(f"corpus {root.relative_to(CORPUS).parts[0]}", exe, root, set(), n)
    if args.sample:
        rng = random.Random(4)
        print(f"\n== {args.sample} random corpus findings to hand-check")
        for f in rng.sample(corpus_findings, min(args.sample, len(corpus_findings))):
            rel = Path(f.path).relative_to(CORPUS)
            print(f"\n[{f.rule}] {rel.parts[0]} {Path(f.path).parent.name}:{f.line}-{f.last_line}\n  "
                  f"{statement_at(f.path, f.line)}\n  -> {f.message[:400]}")


if __name__ == "__main__":
    main()
