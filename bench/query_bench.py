"""Time the query analyzer on a generated tree of 400 TypeScript files (~100k lines) that call Prisma Client.

    .venv/bin/python bench/query_bench.py [--files 400] [--runs 3]

Prints parse-only time, full analyzer time (parse + extraction + every query rule, schema joined) and files/s.
The tree mixes NestJS services, Next.js route handlers, tRPC routers, Express handlers and scripts, with loops,
transactions, raw SQL and plain code, so rules fire at a realistic rate.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.checks.query import analyze
from bot.testing import context_for
from bot.ts import file_analysis
from bot.ts.parser import parse

MODELS = ["user", "order", "orderItem", "payment", "product", "post", "session", "account"]

SCHEMA = (Path(__file__).resolve().parents[1] / "tests" / "query" / "query_testkit.py").read_text()
SCHEMA = SCHEMA.split('SCHEMA = """\\\n', 1)[1].split('"""', 1)[0]

SERVICE_METHOD = """\
  async {name}{i}(ids: string[], userId: string, page = 0) {{
    const rows = await this.prisma.{model}.findMany({{ where: {{ userId }}, take: 20, skip: page * 20,
      orderBy: [{{ createdAt: "desc" }}, {{ id: "desc" }}] }});
    for (const id of ids) {{
      const one = await this.prisma.{model}.findUnique({{ where: {{ id }} }});
      if (!one) continue;
      rows.push(one);
    }}
    const total = await this.prisma.{model}.count({{ where: {{ userId }} }});
    const mapped = rows.map((r) => ({{ ...r, label: `${{r.id}}-${{total}}` }}));
    if (mapped.length > 100) {{
      throw new Error("too many rows for " + userId);
    }}
    return {{ rows: mapped, total }};
  }}

"""

ROUTE_HANDLER = """\
export async function {verb}{i}(request: Request) {{
  const {{ searchParams }} = new URL(request.url);
  const q = searchParams.get("q") ?? "";
  const items = await prisma.{model}.findMany({{ where: {{ name: {{ contains: q }} }}, take: 10 }});
  const created = await prisma.order.create({{ data: {{ userId: q, total: 1, reference: q }} }});
  await prisma.payment.create({{ data: {{ orderId: created.id, amount: 1, provider: "stripe" }} }});
  await prisma.$transaction(async (tx) => {{
    await tx.{model}.update({{ where: {{ id: q }}, data: {{}} }});
    await tx.session.deleteMany({{ where: {{ userId: q }} }});
  }});
  const raw = await prisma.$queryRaw<{{ n: number }}[]>`SELECT count(*) AS n FROM "Order" WHERE "userId" = ${{q}}`;
  return Response.json({{ items, raw }});
}}

"""

TRPC_PROC = """\
  proc{i}: protectedProcedure.input(z.object({{ ids: z.array(z.string()) }})).query(async ({{ ctx, input }}) => {{
    const all = await Promise.all(input.ids.map((id) => ctx.db.{model}.findUnique({{ where: {{ id }} }})));
    const list = await ctx.db.{model}.findMany({{ where: {{ id: {{ in: input.ids }} }} }});
    return {{ all, list }};
  }}),
"""

PLAIN = """\
export function helper{i}(values: number[]): number {{
  let sum = 0;
  for (const v of values) {{
    if (v > 10) {{
      sum += v * 2;
    }} else {{
      sum -= v;
    }}
  }}
  return values.reduce((a, b) => a + b, sum);
}}

"""


def make_file(rnd: random.Random, n: int) -> tuple[str, str]:
    kind = n % 4
    model = rnd.choice(MODELS)
    parts: list[str] = []
    if kind == 0:
        path = f"src/modules/m{n}/m{n}.service.ts"
        parts.append('import { Injectable } from "@nestjs/common";\nimport { PrismaService } from '
                     f'"../prisma/prisma.service";\n\n@Injectable()\nexport class Service{n} {{\n'
                     "  constructor(private readonly prisma: PrismaService) {}\n\n")
        for i in range(14):
            parts.append(SERVICE_METHOD.format(name="load", i=i, model=rnd.choice(MODELS)))
        parts.append("}\n")
    elif kind == 1:
        path = f"app/api/r{n}/route.ts"
        parts.append('import { prisma } from "@/lib/prisma";\n\n')
        for i in range(14):
            parts.append(ROUTE_HANDLER.format(verb="GET" if i == 0 else "handle", i=i, model=model))
            parts.append(PLAIN.format(i=i))
    elif kind == 2:
        path = f"src/server/api/routers/r{n}.ts"
        parts.append('import { z } from "zod";\nimport { createTRPCRouter, protectedProcedure } from "../trpc";\n\n'
                     f"export const router{n} = createTRPCRouter({{\n")
        for i in range(28):
            parts.append(TRPC_PROC.format(i=i, model=rnd.choice(MODELS)))
        parts.append("});\n\n")
        for i in range(8):
            parts.append(PLAIN.format(i=i))
    else:
        path = f"src/lib/util{n}.ts"
        parts.append('import { db } from "./db";\n\n')
        for i in range(20):
            parts.append(PLAIN.format(i=i))
        parts.append(f'export const first{n} = () => db.{model}.findFirst({{ where: {{ id: "x" }} }});\n')
    return path, "".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=400)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rnd = random.Random(7)
    tree = dict(make_file(rnd, n) for n in range(args.files))
    lines = sum(t.count("\n") for t in tree.values())
    size = sum(len(t) for t in tree.values())
    print(f"tree: {len(tree)} files, {lines:,} lines, {size / 1e6:.1f} MB")

    best_parse = float("inf")
    for _ in range(args.runs):
        started = time.process_time()
        for path, text in tree.items():
            parse(path, text.encode())
        best_parse = min(best_parse, time.process_time() - started)
    print(f"parse only (tree-sitter, CPU time):  {best_parse:.2f} s  ({len(tree) / best_parse:,.0f} files/s, "
          f"{lines / best_parse:,.0f} lines/s)")

    best = best_cpu = float("inf")
    findings = []
    for _ in range(args.runs):
        ctx = context_for({"prisma/schema.prisma": SCHEMA}, {"prisma/schema.prisma": SCHEMA, **tree})
        assert len(ctx.surfaces.query) == len(tree), (len(ctx.surfaces.query), len(tree))
        started, cpu = time.perf_counter(), time.process_time()
        findings = analyze(ctx)
        best = min(best, time.perf_counter() - started)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    by_rule: dict[str, int] = {}
    for f in findings:
        by_rule[f.rule] = by_rule.get(f.rule, 0) + 1
    print(f"query analyzer (parse + extract + 19 rules, schema joined): {best:.2f} s  "
          f"({len(tree) / best:,.0f} files/s, {lines / best:,.0f} lines/s)  best of {args.runs}; "
          f"CPU time {best_cpu:.2f} s ({len(tree) / best_cpu:,.0f} files/s; wall time suffers on a shared machine)")
    calls = sum(len(file_analysis(ctx, path).calls) for path in tree)
    print(f"Prisma calls extracted: {calls:,} (one per {lines / max(calls, 1):.1f} lines: far denser than real "
          "application code, so this is a worst case)")
    print(f"findings: {len(findings):,}  " + ", ".join(f"{k} {v}" for k, v in sorted(by_rule.items())))
    print(f"target < 5 s for the whole tree: {'met' if best < 5 else 'NOT met'}")


if __name__ == "__main__":
    main()
