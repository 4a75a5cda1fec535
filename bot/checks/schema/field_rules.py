"""Field-level Prisma pitfalls: scalar lists without `@default([])`, and required `@ignore` fields without a default.

Relation lists (`posts Post[]`) are not columns and cannot have a default: prisma-lint's
require-default-empty-arrays flags them anyway; this rule looks at scalar and enum lists only.
"""

from __future__ import annotations

from bot.checks.schema import _suggest
from bot.checks.schema._common import SchemaInput, entity_models, field_finding
from bot.findings import Finding, Severity, Surface
from bot.registry import define

LIST_DEFAULT = define(
    "prisma/list-without-default",
    Severity.WARNING,
    Surface.SCHEMA,
    "Scalar list field without @default([]): rows can hold NULL instead of an empty list",
    aliases=("prisma-lint:require-default-empty-arrays",),
)
IGNORED_REQUIRED = define(
    "prisma/required-ignored-field",
    Severity.WARNING,
    Surface.SCHEMA,
    "Required @ignore field without a default: Prisma Client cannot insert rows",
    aliases=("prisma-lint:forbid-required-ignored-field",),
)

_LIST_PROVIDERS = ("postgresql", "cockroachdb", "mongodb")


def check(inp: SchemaInput) -> list[Finding]:
    schema = inp.schema
    findings: list[Finding] = []
    for m in entity_models(schema):
        for f in m.fields:
            if f.list and f.kind in ("scalar", "enum") and f.default is None and schema.provider in _LIST_PROVIDERS \
                    and schema.provider != "mongodb":
                findings.append(field_finding(
                    LIST_DEFAULT, f,
                    f"`{f.key}` is a `{f.type}[]` column without a default: Prisma creates it nullable with no "
                    "default, so rows inserted by SQL or a backfill hold NULL, which `{ isEmpty: true }`, `has` and "
                    "`hasEvery` filters do not match and which your code then sees as `[]` or null depending on the "
                    f"path. Add `@default([])`: `{f.name} {f.type}[] @default([])`.",
                ).with_(suggestion=_suggest.list_default(inp, f)))
            if f.is_ignored and f.required and f.default is None and f.is_scalar and not f.is_updated_at:
                findings.append(field_finding(
                    IGNORED_REQUIRED, f,
                    f"`{f.key}` is required and `@ignore`d without a default: Prisma Client leaves ignored fields "
                    "out of every insert, so `create` fails with a NOT NULL violation on "
                    f"`{f.db_name}`. Make it optional (`{f.type}?`), give it a `@default(...)`, or drop the column.",
                    line=f.attr_line("ignore"),
                ))
    return findings
