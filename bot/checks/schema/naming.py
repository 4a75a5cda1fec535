"""Naming conventions (opt-in pack `naming`): PascalCase models, camelCase fields, snake_case table/column names.

Compatible with prisma-lint's rule names, so `/// prisma-lint-ignore-model model-name-mapping-snake-case` keeps
working.
"""

from __future__ import annotations

import re

from bot.checks.schema._common import SchemaInput, entity_models, field_finding, model_finding, words
from bot.findings import Finding, Severity, Surface
from bot.registry import define

MODEL_PASCAL = define(
    "prisma/model-name-pascal-case", Severity.INFO, Surface.SCHEMA, "Model name is not PascalCase",
    pack="naming", enabled_by_default=False, aliases=("prisma-lint:model-name-pascal-case",),
)
FIELD_CAMEL = define(
    "prisma/field-name-camel-case", Severity.INFO, Surface.SCHEMA, "Field name is not camelCase",
    pack="naming", enabled_by_default=False, aliases=("prisma-lint:field-name-camel-case",),
)
TABLE_SNAKE = define(
    "prisma/table-name-snake-case", Severity.INFO, Surface.SCHEMA,
    "Model without @@map to a snake_case table name",
    pack="naming", enabled_by_default=False, aliases=("prisma-lint:model-name-mapping-snake-case",),
    options={"plural": False},
)
COLUMN_SNAKE = define(
    "prisma/column-name-snake-case", Severity.INFO, Surface.SCHEMA,
    "Multi-word field without @map to its snake_case column name",
    pack="naming", enabled_by_default=False, aliases=("prisma-lint:field-name-mapping-snake-case",),
)

_PASCAL = re.compile(r"^[A-Z][a-zA-Z0-9]*$")
_CAMEL = re.compile(r"^[a-z][a-zA-Z0-9]*$")


def snake(name: str) -> str:
    return "_".join(words(name))


def _plural(word: str) -> str:
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    return word + "s"


def check(inp: SchemaInput) -> list[Finding]:
    findings: list[Finding] = []
    plural = bool(inp.options(TABLE_SNAKE).get("plural", False))
    for m in entity_models(inp.schema):
        if not _PASCAL.match(m.name):
            findings.append(model_finding(MODEL_PASCAL, m, f"Model `{m.name}` is not PascalCase: rename it to "
                                          f"`{''.join(w.capitalize() for w in words(m.name))}` and keep the table "
                                          f"with `@@map(\"{m.db_name}\")`.", key_suffix=":pascal"))
        expected = snake(m.name)
        if plural:
            parts = expected.split("_")
            expected = "_".join([*parts[:-1], _plural(parts[-1])])
        if m.db_name != expected:
            findings.append(model_finding(TABLE_SNAKE, m, f"Model {m.name} maps to table `{m.db_name}`; the "
                                          f"convention is snake_case: add `@@map(\"{expected}\")` (a table rename "
                                          "in the migration).", key_suffix=":table-name"))
        for f in m.fields:
            if not _CAMEL.match(f.name):
                ws = words(f.name) or [f.name]
                camel = ws[0] + "".join(w.capitalize() for w in ws[1:])
                keep = "" if f.is_relation else f" and keep the column with `@map(\"{f.db_name}\")`"
                findings.append(field_finding(FIELD_CAMEL, f, f"Field `{f.key}` is not camelCase: rename it to "
                                              f"`{camel}`{keep}."))
            if f.is_scalar and f.db_name != snake(f.name) and len(words(f.name)) > 1:
                findings.append(field_finding(COLUMN_SNAKE, f, f"Field `{f.key}` maps to column `{f.db_name}`; the "
                                              f"convention is snake_case: add `@map(\"{snake(f.name)}\")`."))
    return findings
