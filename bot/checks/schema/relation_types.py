"""prisma/relation-type-mismatch: a foreign key column's type differs from the column it references.

`prisma validate` compares only the Prisma scalar types, so `productId String` → `Product.id String @db.Uuid`
passes validation and then fails at `migrate deploy` (PostgreSQL: "Key columns ... are of incompatible types: text
and uuid"). Types of one btree family (integer/bigint, varchar/text) do join, but the narrower side overflows or
truncates first, and every join casts.
"""

from __future__ import annotations

from bot.checks.schema._common import SchemaInput, field_finding
from bot.findings import Finding, Severity, Surface
from bot.prisma.model import Field
from bot.registry import define

RULE = define(
    "prisma/relation-type-mismatch",
    Severity.ERROR,
    Surface.SCHEMA,
    "Foreign key field whose type or native database type differs from the referenced field's",
)


def _describe(f: Field) -> str:
    native = f" {f.native.prisma}" if f.native is not None and f.native.explicit else ""
    sql = f" ({f.native.sql})" if f.native is not None else ""
    return f"`{f.type}{native}`{sql}"


def _fix(fk: Field, ref: Field) -> str:
    if ref.native is not None and ref.native.explicit:
        return f"declare `{fk.name} {ref.type}{'?' if fk.optional else ''} {ref.native.prisma}`"
    if fk.native is not None and fk.native.explicit:
        return f"remove `{fk.native.prisma}` from `{fk.name}` (or add the same native type to `{ref.key}`)"
    return f"make `{fk.name}` a `{ref.type}` like `{ref.key}`"


def check(inp: SchemaInput) -> list[Finding]:
    schema = inp.schema
    if not schema.is_postgres:
        return []
    findings: list[Finding] = []
    for rel in schema.relations:
        if rel.implicit_many_to_many or len(rel.fields) != len(rel.references):
            continue
        for fk_name, ref_name in zip(rel.fields, rel.references, strict=True):
            fk = rel.model.by_name.get(fk_name)
            ref = rel.target.by_name.get(ref_name)
            if fk is None or ref is None:
                continue
            if fk.type != ref.type:
                if fk.kind == "scalar" and ref.kind == "scalar":
                    findings.append(field_finding(
                        RULE, fk, f"`{fk.key}` is {_describe(fk)} but references `{ref.key}`, which is "
                        f"{_describe(ref)}: Prisma rejects relation fields of different types. {_fix(fk, ref)}.",
                        key=f"{fk.key}->{ref.key}", model_scope=True))
                continue
            if fk.native is None or ref.native is None or fk.native.sql == ref.native.sql:
                continue
            if fk.native.family != ref.native.family:
                message = (f"`{fk.key}` is {_describe(fk)} but references `{ref.key}`, which is {_describe(ref)}. "
                           "`prisma validate` accepts this, but PostgreSQL refuses the foreign key at migrate time "
                           f"(\"Key columns are of incompatible types: {fk.native.sql.split('(')[0]} and "
                           f"{ref.native.sql.split('(')[0]}\"). Fix: {_fix(fk, ref)}.")
                findings.append(field_finding(RULE, fk, message, key=f"{fk.key}->{ref.key}", model_scope=True))
            else:
                message = (f"`{fk.key}` is {_describe(fk)} but references `{ref.key}`, which is {_describe(ref)}. "
                           "PostgreSQL accepts the foreign key, but the two columns can hold different ranges or "
                           f"lengths and every join compares across types. Fix: {_fix(fk, ref)}.")
                findings.append(field_finding(RULE, fk, message, key=f"{fk.key}->{ref.key}", model_scope=True,
                                              severity=Severity.WARNING))
    return findings
