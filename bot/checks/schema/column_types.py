"""Native column types PostgreSQL experts avoid: `varchar(n)`, `char(n)` and `json`."""

from __future__ import annotations

from bot.checks.schema import _suggest
from bot.checks.schema._common import SchemaInput, entity_models, field_finding
from bot.findings import Finding, Severity, Surface
from bot.registry import define

VARCHAR = define(
    "prisma/varchar-length",
    Severity.INFO,
    Surface.SCHEMA,
    "String with @db.VarChar(n) on PostgreSQL, where text is as fast and has no arbitrary limit",
)
CHAR = define(
    "prisma/char-type",
    Severity.INFO,
    Surface.SCHEMA,
    "String with @db.Char(n): blank-padded fixed-length strings",
)
JSON = define(
    "prisma/json-not-jsonb",
    Severity.INFO,
    Surface.SCHEMA,
    "Json with @db.Json instead of PostgreSQL's jsonb",
)


def check(inp: SchemaInput) -> list[Finding]:
    schema = inp.schema
    if not schema.is_postgres:
        return []
    findings: list[Finding] = []
    opt = "?"
    for m in entity_models(schema):
        for f in m.fields:
            n = f.native
            if f.kind != "scalar" or n is None or not n.explicit:
                continue
            opt = "?" if f.optional else ""
            if n.name == "VarChar" and n.args:
                findings.append(field_finding(
                    VARCHAR, f,
                    f"`{f.key}` is `@db.VarChar({n.args[0]})`: in PostgreSQL `varchar(n)` is stored and compared "
                    "exactly like `text`, the limit only turns a long value into a runtime error (P2000), and raising "
                    "it later is a migration. If the limit is a business rule, validate it in the application (or "
                    f"with a CHECK constraint); otherwise use `{f.name} String{opt}` (text).",
                    line=f.attr_line("db.VarChar")))
            elif n.name == "Char":
                findings.append(field_finding(
                    CHAR, f,
                    f"`{f.key}` is `@db.Char({', '.join(n.args) or '1'})`: `char(n)` pads shorter values with "
                    "spaces, which come back in reads and break equality with the unpadded value in some "
                    "comparisons, and it is no faster than `text`. Use "
                    f"`{f.name} String{opt}` (text), or `@db.VarChar({', '.join(n.args) or '1'})` if the length "
                    "must be enforced.",
                    line=f.attr_line("db.Char")))
            elif n.name == "Json":
                findings.append(field_finding(
                    JSON, f,
                    f"`{f.key}` is `@db.Json`: PostgreSQL's `json` keeps the raw text, re-parses it on every access, "
                    "has no equality operator (so no DISTINCT, GROUP BY or unique index) and no GIN index for "
                    f"`path`/`array_contains` filters. Remove `@db.Json` so Prisma uses `jsonb`: `{f.name} Json{opt}`.",
                    line=f.attr_line("db.Json")).with_(suggestion=_suggest.drop_json(inp, f)))
    return findings
