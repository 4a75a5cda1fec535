"""Schema benchmark: parse + semantic model + every schema rule on generated schemas of 100-1000 models.

    .venv/bin/python bench/schema_bench.py            # prints a table; target: 500 models < 0.3 s
    .venv/bin/python bench/schema_bench.py --write 500 /tmp/schema.prisma   # just write a generated schema

The generated schema looks like a real product schema: each model has ~12 fields (ids, strings with native types,
timestamps, Decimal/Float amounts, Json, enums, lists), one or two relations to earlier models (some indexed, some
not, some composite), every tenth model is a composite-`@@id` join table, and the parent side has relation lists.
"""

from __future__ import annotations

import gc
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

HEADER = '''generator client {
  provider = "prisma-client-js"
}

datasource db {
  provider = "postgresql"
  url      = env("DATABASE_URL")
}

enum Status {
  ACTIVE
  ARCHIVED
  DELETED
}
'''


def generate_schema(n: int) -> str:
    """A schema with `n` models; deterministic."""
    parts = [HEADER]
    backrefs: dict[int, list[str]] = {i: [] for i in range(n)}
    bodies: list[list[str]] = []
    for i in range(n):
        lines: list[str] = []
        if i % 10 == 9 and i >= 2:
            a, b = i - 1, i - 2
            lines += [
                f"  m{a}Id String @db.Uuid",
                f"  m{b}Id String @db.Uuid",
                f"  m{a} M{a} @relation(fields: [m{a}Id], references: [id], onDelete: Cascade)",
                f"  m{b} M{b} @relation(fields: [m{b}Id], references: [id], onDelete: Cascade)",
                "  createdAt DateTime @default(now()) @db.Timestamptz(3)",
                "",
                f"  @@id([m{a}Id, m{b}Id])",
            ]
            backrefs[a].append(f"  joins{i} M{i}[]")
            backrefs[b].append(f"  joins{i}b M{i}[]")
            bodies.append(lines)
            continue
        lines += [
            "  id        String   @id @default(uuid()) @db.Uuid",
            "  tenantId  String   @db.Uuid",
            "  name      String   @db.VarChar(200)",
            "  slug      String   @unique",
            "  status    Status   @default(ACTIVE)",
            "  price     Decimal  @db.Decimal(12, 2)" if i % 3 else "  amount    Float",
            "  metadata  Json?",
            "  tags      String[]" if i % 4 == 0 else "  tags      String[] @default([])",
            "  createdAt DateTime @default(now())" if i % 5 == 0 else
            "  createdAt DateTime @default(now()) @db.Timestamptz(3)",
            "  updatedAt DateTime @updatedAt @db.Timestamptz(3)",
        ]
        indexes = ["  @@index([tenantId, createdAt])"]
        if i >= 1:
            parent = i - 1 if (i - 1) % 10 != 9 else i - 2
            lines.append("  parentId  String?  @db.Uuid")
            lines.append(f"  parent    M{parent}? @relation(\"p{i}\", fields: [parentId], references: [id])")
            backrefs[parent].append(f"  children{i} M{i}[] @relation(\"p{i}\")")
            if i % 2 == 0:
                indexes.append("  @@index([parentId])")
        if i >= 3:
            owner = i // 2 if (i // 2) % 10 != 9 else i // 2 - 1
            lines.append("  ownerId   String   @db.Uuid")
            lines.append(f"  owner     M{owner} @relation(\"o{i}\", fields: [ownerId], references: [id])")
            backrefs[owner].append(f"  owned{i} M{i}[] @relation(\"o{i}\")")
            if i % 3 == 0:
                indexes.append("  @@index([ownerId, createdAt])")
        lines.append("")
        lines += indexes
        bodies.append(lines)
    for i, body in enumerate(bodies):
        rel_lists = backrefs[i]
        split = body.index("") if "" in body else len(body)
        block = body[:split] + rel_lists + body[split:]
        parts.append(f"\nmodel M{i} {{\n" + "\n".join(block) + "\n}\n")
    return "".join(parts)


def run_once(text: str) -> tuple[float, float, float, int]:
    """(parse+model CPU s, rules CPU s, total wall s, findings) with the default config (naming pack off)."""
    from bot.checks.schema import SchemaInput, run_checks
    from bot.config import Config
    from bot.prisma.diff import diff_schemas
    from bot.prisma.load import load_texts

    config = Config()
    gc.collect()  # start from a clean heap, as one review does (earlier runs left cyclic model graphs behind)
    w0, t0 = time.perf_counter(), time.process_time()
    load = load_texts({"prisma/schema.prisma": text})
    t1 = time.process_time()
    assert load.schema is not None, load.errors
    findings = run_checks(SchemaInput(load.schema, diff_schemas(None, load.schema), config.rule_options,
                                      config.is_enabled))
    t2, w2 = time.process_time(), time.perf_counter()
    return t1 - t0, t2 - t1, w2 - w0, len(findings)


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--write":
        Path(sys.argv[3]).write_text(generate_schema(int(sys.argv[2])), "utf-8")
        return
    import bot.checks  # noqa: F401  (import cost is not part of the measurement)

    load1, _, _ = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average {load1:.1f} (CPU time is what this process used; "
          "wall time includes waiting for a core)")
    print(f"{'models':>7} {'lines':>7} {'parse+model':>12} {'rules':>8} {'CPU min':>8} {'CPU median':>11} "
          f"{'wall min':>9} {'ms/model':>9} {'findings':>9}")
    results: list[tuple[int, float]] = []
    for n in (100, 250, 500, 1000):
        text = generate_schema(n)
        runs = [run_once(text) for _ in range(9)]
        best = min(runs, key=lambda r: r[0] + r[1])
        total = best[0] + best[1]
        median = statistics.median(r[0] + r[1] for r in runs)
        wall = min(r[2] for r in runs)
        results.append((n, total))
        print(f"{n:>7} {text.count(chr(10)):>7} {best[0]:>11.3f}s {best[1]:>7.3f}s {total:>7.3f}s {median:>10.3f}s "
              f"{wall:>8.3f}s {total / n * 1000:>9.3f} {best[3]:>9}")
    per_model = [t / n for n, t in results]
    print(f"\n9 runs each (min is the least-disturbed run; timeit's convention); CPU per model, 1000 vs 100 models: "
          f"{per_model[-1] / per_model[0]:.2f}x (1.0 = perfectly linear)")
    five_hundred = dict(results)[500]
    print(f"500 models: {five_hundred:.3f} s CPU (target < 0.3 s): {'OK' if five_hundred < 0.3 else 'over target'}")


if __name__ == "__main__":
    main()
