"""dbreview's schema rules side by side with prisma-lint (npm) on the shared corpus and a generated schema.

    .venv/bin/python bench/prisma_lint_compare.py

Installs prisma-lint into bench/.cache (gitignored) on first run; prisma-lint is never a runtime dependency.
For `require-field-index` (forAllRelations) vs `prisma/fk-missing-index`, each finding is reduced to (model, FK
field) and the two sets are compared; every prisma-lint finding dbreview does not make is explained (covered by a
composite `@@id`, by an index that starts with the composite key as a unit, ...). For `require-default-empty-arrays`
vs `prisma/list-without-default`, prisma-lint hits on relation lists (which cannot have a default) are counted.
Also times both tools on the generated 500-model schema.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

CACHE = ROOT / "bench" / ".cache"
WORK = CACHE / "compare"
PRISMA_LINT = CACHE / "node_modules" / ".bin" / "prisma-lint"
VERSION = "0.13.1"
CORPUS = ROOT.parent / "shared" / "corpus"
SCHEMAS = {
    "hoppscotch": CORPUS / "hoppscotch/packages/hoppscotch-backend/prisma/schema.prisma",
    "umami": CORPUS / "umami/prisma/schema.prisma",
    "langfuse": CORPUS / "langfuse/packages/shared/prisma/schema.prisma",
}


def ensure_prisma_lint() -> None:
    if PRISMA_LINT.exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("npm is not installed: cannot run prisma-lint for the comparison")
    CACHE.mkdir(parents=True, exist_ok=True)
    subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix", str(CACHE), f"prisma-lint@{VERSION}"],
                   check=True, capture_output=True, timeout=600)


def run_prisma_lint(schema: Path, rules: dict[str, object]) -> tuple[list[dict], float]:
    config = schema.parent / f"{schema.stem}.prismalintrc.json"
    config.write_text(json.dumps({"rules": rules}), "utf-8")
    out_path = schema.parent / f"{schema.stem}.prisma-lint.json"
    # prisma-lint writes its JSON to stderr and exits before a pipe is drained (output cut at 64 KiB): use a file.
    with out_path.open("w", encoding="utf-8") as out:
        started = time.perf_counter()
        subprocess.run([str(PRISMA_LINT), "-c", str(config), "-o", "json", str(schema)],
                       stdout=subprocess.DEVNULL, stderr=out, timeout=600, check=False)
        elapsed = time.perf_counter() - started
    output = out_path.read_text("utf-8").strip()
    if not output:
        return [], elapsed
    return json.loads(output)["violations"], elapsed


def field_at(schema, line: int):  # type: ignore[no-untyped-def]
    for m in schema.models.values():
        for f in m.fields:
            if f.line == line:
                return f
    return None


def explain_miss(schema, model_name: str, field_name: str) -> str:  # type: ignore[no-untyped-def]
    from bot.checks.schema.fk_index import covering_key

    model = schema.models[model_name]
    rels = [r for r in schema.relations if r.model is model and field_name in r.fields]
    if not rels:
        return "not a relation field"
    rel = rels[0]
    key = covering_key(model, rel.fields)
    if key is None:
        return "dbreview reports it under another key"
    what = {"id": "@@id" if key.source == "block" else "@id", "unique": "@@unique", "index": "@@index"}[key.kind]
    cols = ", ".join(key.columns)
    if len(rel.fields) > 1:
        return f"composite FK ({', '.join(rel.fields)}) covered as a unit by {what}([{cols}])"
    return f"covered by {what}([{cols}]) (prisma-lint ignores @@id)" if key.kind == "id" else \
        f"covered by {what}([{cols}])"


def compare(name: str, path: Path) -> dict[str, object]:
    from bot.checks.schema import SchemaInput, run_checks
    from bot.prisma.load import load_texts

    text = path.read_text("utf-8")
    WORK.mkdir(parents=True, exist_ok=True)
    copy = WORK / f"{name}.prisma"
    copy.write_text(text, "utf-8")
    schema = load_texts({str(copy): text}).schema
    assert schema is not None
    violations, _ = run_prisma_lint(copy, {"require-field-index": ["error", {"forAllRelations": True}],
                                           "require-default-empty-arrays": ["error"]})
    theirs_fk: set[tuple[str, str]] = set()
    theirs_lists: list[tuple[str, str, str]] = []
    for v in violations:
        f = field_at(schema, v["location"]["startLine"])
        if f is None:
            continue
        if v["ruleName"] == "require-field-index":
            theirs_fk.add((f.model.name, f.name))
        elif v["ruleName"] == "require-default-empty-arrays":
            theirs_lists.append((f.model.name, f.name, f.kind))
    found = run_checks(SchemaInput(schema))
    ours_fk: set[tuple[str, str]] = set()
    ours_fk_findings = [f for f in found if f.rule == "prisma/fk-missing-index"]
    for f in ours_fk_findings:
        model, _, cols = f.key.partition(".")
        ours_fk.update((model, c) for c in cols.split("+"))
    ours_lists = [f for f in found if f.rule == "prisma/list-without-default"]
    only_theirs = sorted(theirs_fk - ours_fk)
    only_ours = sorted(ours_fk - theirs_fk)
    print(f"\n== {name} ({len(schema.models)} models, {len(schema.relations)} relations, "
          f"relationMode={schema.relation_mode})")
    print(f"  FK index: prisma-lint {len(theirs_fk)} fields, dbreview {len(ours_fk_findings)} findings "
          f"({len(ours_fk)} fields), both {len(theirs_fk & ours_fk)}")
    for model, field in only_theirs:
        print(f"    prisma-lint only: {model}.{field}: {explain_miss(schema, model, field)}")
    for model, field in only_ours:
        print(f"    dbreview only:    {model}.{field}: no index starts with this foreign key")
    relation_hits = [x for x in theirs_lists if x[2] == "relation"]
    print(f"  list defaults: prisma-lint {len(theirs_lists)} ({len(relation_hits)} on relation lists, which cannot "
          f"have a default), dbreview {len(ours_lists)} (scalar lists only)")
    return {"theirs": len(theirs_fk), "ours": len(ours_fk), "both": len(theirs_fk & ours_fk),
            "only_theirs": only_theirs, "only_ours": only_ours}


def timing() -> None:
    from schema_bench import generate_schema, run_once

    text = generate_schema(500)
    path = WORK / "generated500.prisma"
    path.write_text(text, "utf-8")
    summary = compare("generated-500", path)
    _, one_rule = run_prisma_lint(path, {"require-field-index": ["error", {"forAllRelations": True}]})
    _, two_rules = run_prisma_lint(path, {"require-field-index": ["error", {"forAllRelations": True}],
                                          "require-default-empty-arrays": ["error"]})
    runs = sorted(run_once(text) for _ in range(5))
    ours_cpu = sorted(r[0] + r[1] for r in runs)[2]
    ours_wall = sorted(r[2] for r in runs)[2]
    print("\n== timing on the generated 500-model schema (wall clock, one process each)")
    print(f"  prisma-lint {VERSION}, require-field-index only:          {one_rule:.2f} s")
    print(f"  prisma-lint {VERSION}, + require-default-empty-arrays:    {two_rules:.2f} s")
    print(f"  dbreview, parse + every default-enabled schema rule: {ours_wall:.3f} s wall, {ours_cpu:.3f} s CPU "
          "(median of 5, in-process)")
    del summary


def main() -> None:
    ensure_prisma_lint()
    import bot.checks  # noqa: F401

    totals = {"theirs": 0, "ours": 0, "both": 0}
    for name, path in SCHEMAS.items():
        if not path.exists():
            print(f"{name}: corpus file missing at {path}")
            continue
        result = compare(name, path)
        for k in totals:
            totals[k] += int(result[k])  # type: ignore[call-overload]
    print(f"\ncorpus total FK fields: prisma-lint {totals['theirs']}, dbreview {totals['ours']}, "
          f"both {totals['both']}")
    timing()


if __name__ == "__main__":
    main()
